/**
 * @file sim.h
 * @brief medshim-sim: a platform simulator for integration test harnesses.
 *
 * Thread safety: a ::medshim_sim may be used by any number of threads; calls
 * are serialised where they touch the ledger. Several processes may share
 * one ledger file (it is locked with flock for each operation), which is how
 * the `medshim-sim` exec adapter and crash tests use it.
 *
 * The simulator keeps a ledger of settlements keyed by replay key. It can be
 * told to be slow (latency), to fail transiently (retry), to reject some
 * claims permanently (chosen by a hash of the replay key, so the same claim
 * is always rejected), and to lose answers (the settlement is recorded but
 * the caller hears nothing). Its double-settlement detector counts every
 * attempt to settle a key that is already settled; the simulator never
 * settles a key twice. Link with -lmedshim-sim.
 */
#ifndef MEDSHIM_SIM_H
#define MEDSHIM_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "medshim/export.h"
#include "medshim/replay.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Simulator settings. Probabilities in per mille (0..1000). */
typedef struct medshim_sim_options {
  unsigned int version;     /**< MEDSHIM_SIM_OPTIONS_VERSION */
  const char *ledger_path;  /**< file shared across processes, or NULL: memory */
  uint32_t latency_ms;      /**< each call takes this long */
  uint32_t retry_permille;  /**< transient failures (not settled) */
  uint32_t reject_permille; /**< permanent rejections, stable per key */
  uint32_t lost_permille;   /**< settled, but the answer is lost */
  uint32_t seed;            /**< of the random failures */
  uint32_t fund_permille;   /**< share of total paid by the funds; 0: 700 */
  uint32_t acct_permille;   /**< share paid from the personal account; 0: 100 */
} medshim_sim_options;

#define MEDSHIM_SIM_OPTIONS_VERSION 1
#define MEDSHIM_SIM_OPTIONS_INIT {MEDSHIM_SIM_OPTIONS_VERSION, NULL, 0u, 0u, 0u, 0u, 0u, 0u, 0u}

typedef struct medshim_sim medshim_sim;

/** Open a simulator (loading its ledger file if any). */
MEDSHIM_API int medshim_sim_open(medshim_sim **out,
                                 const medshim_sim_options *opts);
/** Close; NULL is a no-op. */
MEDSHIM_API void medshim_sim_close(medshim_sim *sim);

/**
 * Settle a claim (2207). Fills @p out as an adapter would.
 * @param[in] total_fen medfee_sumamt of the claim
 */
MEDSHIM_API int medshim_sim_settle(medshim_sim *sim, medshim_settlement *out,
                                   const char *replay_key, int64_t total_fen);
/** Query a settlement by replay key (5203): SETTLED or NOT_FOUND. */
MEDSHIM_API int medshim_sim_query(medshim_sim *sim, medshim_settlement *out,
                                  const char *replay_key);

/** An adapter bound to the simulator (payload = sim). */
MEDSHIM_API void medshim_sim_adapter(medshim_adapter *out, medshim_sim *sim);

/** Settlements in the ledger. */
MEDSHIM_API size_t medshim_sim_settlements(medshim_sim *sim);
/** Attempts to settle a key that was already settled (should be 0). */
MEDSHIM_API size_t medshim_sim_double_attempts(medshim_sim *sim);
/** Settle calls received by this process's simulator. */
MEDSHIM_API size_t medshim_sim_settle_calls(const medshim_sim *sim);
/** Largest number of calls in progress at once (this process). */
MEDSHIM_API size_t medshim_sim_max_concurrency(const medshim_sim *sim);
/** 1 when the key is settled in the ledger. */
MEDSHIM_API int medshim_sim_is_settled(medshim_sim *sim, const char *replay_key);

#ifdef __cplusplus
}
#endif
#endif /* MEDSHIM_SIM_H */
