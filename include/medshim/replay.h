/**
 * @file replay.h
 * @brief Re-settling deferred claims exactly once after go-live.
 *
 * Thread safety: medshim_replay_run() may run in one thread per journal
 * handle at a time; it calls the adapter from up to `concurrency` worker
 * threads at once, so the adapter's callbacks must be thread-safe (they may
 * block). medshim_replay_void() and medshim_replay_retry() may be called from
 * any thread, but not while a run is in progress on the same journal.
 *
 * The protocol (docs/replay.md): a claim's attempt is recorded durably as
 * `in_doubt` BEFORE the adapter is called; an in_doubt claim is settled again
 * only after the adapter's query says the platform has no settlement for its
 * replay key. Transient failures wait with exponential backoff and jitter up
 * to a cap, then become `rejected`; permanent rejections park the claim for a
 * person. Only claims whose replay window is open and whose route is the
 * hospital are sent; agency-route claims become `manual`, claims whose
 * window closed become `expired` (both go to the manual-reimbursement export).
 */
#ifndef MEDSHIM_REPLAY_H
#define MEDSHIM_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "medshim/claim.h"
#include "medshim/errors.h"
#include "medshim/export.h"
#include "medshim/journal.h"
#include "medshim/schedule.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What an adapter call found out. */
typedef enum medshim_outcome {
  MEDSHIM_OUTCOME_SETTLED = 1,  /**< settled: amounts filled in */
  MEDSHIM_OUTCOME_REJECTED = 2, /**< permanent refusal: code and message */
  MEDSHIM_OUTCOME_RETRY = 3,    /**< transient: NOT settled, try later */
  MEDSHIM_OUTCOME_UNKNOWN = 4,  /**< lost answer: may or may not be settled */
  MEDSHIM_OUTCOME_NOT_FOUND = 5 /**< query only: no settlement for the key */
} medshim_outcome;

/** Result of an adapter call. Money in fen. */
typedef struct medshim_settlement {
  unsigned int version;  /**< MEDSHIM_SETTLEMENT_VERSION */
  medshim_outcome outcome;
  char settlement_id[MEDSHIM_SETTLEMENT_ID_MAX + 1]; /**< setl_id */
  int64_t fund_paid_fen;    /**< fund_pay_sumamt */
  int64_t acct_paid_fen;    /**< acct_pay: personal account */
  int64_t patient_paid_fen; /**< psn_cash_pay: what the patient owed in cash */
  char code[MEDSHIM_REJECT_CODE_MAX + 1];
  char message[MEDSHIM_REJECT_MESSAGE_MAX + 1];
} medshim_settlement;

#define MEDSHIM_SETTLEMENT_VERSION 1

/**
 * An adapter call: fill @p out (its version is set and the rest zeroed by
 * the caller). @p replay_key is stable for the claim across attempts and
 * runs: send it to the platform so a lost answer can be looked up.
 * @return 0; a non-zero return is treated as MEDSHIM_OUTCOME_UNKNOWN.
 */
typedef int (*medshim_adapter_fn)(medshim_settlement *out,
                                  const medshim_claim *claim,
                                  const char *replay_key, uint32_t attempt,
                                  void *payload);

/** The HIS's platform adapter. */
typedef struct medshim_adapter {
  unsigned int version;     /**< MEDSHIM_ADAPTER_VERSION */
  medshim_adapter_fn settle; /**< 2201..2207 (or 2101/2102, 2401..2304) */
  medshim_adapter_fn query;  /**< 5203: is there a settlement for the key? */
  void *payload;
} medshim_adapter;

#define MEDSHIM_ADAPTER_VERSION 1

/**
 * Replay window of a claim, when no schedule set is given.
 * @return 0, non-zero to skip the claim this run.
 */
typedef int (*medshim_window_fn)(medshim_replay_window *out,
                                 const medshim_claim *claim, void *payload);

/** Counts of a run. */
typedef struct medshim_replay_summary {
  unsigned int version;  /**< MEDSHIM_REPLAY_SUMMARY_VERSION */
  size_t claims;         /**< claims in the journal */
  size_t attempts;       /**< settle calls made this run */
  size_t queries;        /**< query calls made this run */
  size_t settled;        /**< settled now (this run or before) */
  size_t rejected;       /**< waiting for a person */
  size_t retry_wait;     /**< waiting for a later attempt */
  size_t in_doubt;       /**< outcome still unknown */
  size_t pending;        /**< window not open yet (or no window) */
  size_t expired;        /**< window closed before settlement */
  size_t manual;         /**< agency route */
  size_t voided;         /**< cancelled by the HIS */
  int64_t refunds_due_fen;  /**< sum of positive refunds of settled claims */
  size_t negative_refunds;  /**< settled claims flagged: patient owes more */
} medshim_replay_summary;

#define MEDSHIM_REPLAY_SUMMARY_VERSION 1

/** Called after each claim is handled; non-zero stops the run. */
typedef int (*medshim_progress_fn)(const medshim_replay_summary *so_far,
                                   size_t handled, void *payload);

/** Options of medshim_replay_run(). */
typedef struct medshim_replay_options {
  unsigned int version;        /**< MEDSHIM_REPLAY_OPTIONS_VERSION */
  int64_t at;                  /**< the instant of the run (Unix s); 0: now */
  unsigned int concurrency;    /**< parallel adapter calls; 0: 1 */
  double rate;                 /**< settle calls per second; 0: unlimited */
  uint32_t max_attempts;       /**< settle attempts before rejected; 0: 8 */
  uint32_t backoff_base_seconds; /**< first retry delay; 0: 60 */
  uint32_t backoff_cap_seconds;  /**< longest delay; 0: 3600 */
  uint32_t seed;               /**< jitter seed (tests); 0: from the clock */
  int dry_run;                 /**< report what would be sent; change nothing */
  const medshim_schedule_set *schedules; /**< replay windows from schedules */
  medshim_window_fn window;    /**< ...or from this callback */
  void *window_payload;
  medshim_progress_fn progress;
  void *progress_payload;
} medshim_replay_options;

#define MEDSHIM_REPLAY_OPTIONS_VERSION 1
#define MEDSHIM_REPLAY_OPTIONS_INIT {MEDSHIM_REPLAY_OPTIONS_VERSION, 0, 0u, 0.0, 0u, 0u, 0u, 0u, 0, NULL, NULL, NULL, NULL, NULL}

/** @return MEDSHIM_OK or MEDSHIM_EINVAL. */
MEDSHIM_API int medshim_replay_options_init(medshim_replay_options *opts,
                                            unsigned int version);

/**
 * Replay every claim whose window is open at `at`, exactly once.
 * In-doubt claims are queried first; lost answers are queried again in a
 * second pass of the same run.
 * @param[out] out counts by state after the run (may be NULL)
 * @return MEDSHIM_OK; MEDSHIM_EUSER (stopped by the progress callback);
 *         journal errors (MEDSHIM_EIO, MEDSHIM_EPOISONED: the run stops at
 *         once, nothing is sent without its in_doubt record); MEDSHIM_EINVAL.
 */
MEDSHIM_API int medshim_replay_run(medshim_replay_summary *out,
                                   medshim_journal *journal,
                                   const medshim_adapter *adapter,
                                   const medshim_replay_options *opts);

/**
 * The HIS cancelled the visit or refunded it by hand: mark it voided.
 * Refused (MEDSHIM_ESTATE) for settled claims (reverse them on the
 * platform first) and in_doubt ones (resolve them first).
 */
MEDSHIM_API int medshim_replay_void(medshim_journal *journal,
                                    const char *visit_id, int64_t at);

/**
 * A person fixed a rejected (or expired) claim's data: send it again
 * (pending, attempts reset). MEDSHIM_ESTATE for other states.
 */
MEDSHIM_API int medshim_replay_retry(medshim_journal *journal,
                                     const char *visit_id, int64_t at);

#ifdef __cplusplus
}
#endif
#endif /* MEDSHIM_REPLAY_H */
