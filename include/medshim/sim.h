/**
 * @file sim.h
 * @brief medshim-sim: a simulator of the national platform, for test
 *        harnesses, and adapters that drive it through the v2 adapter API.
 *
 * Thread safety: a ::medshim_sim may be used by any number of threads; calls
 * are serialised where they touch the ledger (latency is spent outside the
 * lock, so slow calls overlap). Several processes may share one ledger file:
 * each operation takes an flock on it, reads only what other processes
 * appended since, and appends (fsync'ed) what it did. Do not use a handle
 * across fork(): open one in the child.
 *
 * The simulator speaks the platform's transactions (medshim_sim_call()):
 * 1101 person query, 2201 register, 2204 fee details, 2205 delete details,
 * 2202 cancel registration, 2206 pre-settle, 2207 settle, 2208 cancel
 * settlement, 5201 visit query, 5203 settlement query and 2601 reversal.
 * It has no idempotency key and no lookup by the institution's own id, as
 * the real platform. Faults: latency, transient "busy" refusals (nothing
 * done), stable refusals per person (a hash of psn_no), lost answers (done,
 * but the caller hears nothing) and a visibility lag: what a transaction
 * did is seen by 5201, 5203 and 2601 only once the lag has passed.
 *
 * Ground truth (medshim_sim_stats_get()): a visit (psn_no + ipt_otp_no)
 * with more than one active settlement is a double settlement; a
 * registration that is neither settled nor cancelled/reversed is an open
 * partial sequence. Both must be 0 after a correct replay. Link with
 * -lmedshim-sim.
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
  unsigned int version;     /**< MEDSHIM_SIM_OPTIONS_VERSION (1 is accepted) */
  const char *ledger_path;  /**< file shared across processes, or NULL: memory */
  uint32_t latency_ms;      /**< each call takes this long */
  uint32_t retry_permille;  /**< transient "busy" refusals (nothing done) */
  uint32_t reject_permille; /**< persons 1101/2201 refuse, stable per psn_no */
  uint32_t lost_permille;   /**< answers of writes (2201, 2202, 2204, 2205,
                                 2207, 2208, 2601) lost after the call was
                                 carried out */
  uint32_t seed;            /**< of the random faults; 0: from clock and pid */
  uint32_t fund_permille;   /**< share of total paid by the funds; 0: 700 */
  uint32_t acct_permille;   /**< share paid from the personal account; 0: 100 */
  /* version 2 */
  uint32_t lag_ms;          /**< visibility lag of 5201/5203/2601 (wall clock) */
  const char *institution;  /**< 12-char fixmedins_code every msgid must start
                                 with; NULL: any 12 letters/digits */
} medshim_sim_options;

/** Version of ::medshim_sim_options this header describes (its `version` field). */
#define MEDSHIM_SIM_OPTIONS_VERSION 2
/** Initialiser of a ::medshim_sim_options: this header's version, every other field its default. */
#define MEDSHIM_SIM_OPTIONS_INIT {MEDSHIM_SIM_OPTIONS_VERSION, NULL, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, NULL}

/** A simulated platform (opaque): medshim_sim_open(), medshim_sim_close(). */
typedef struct medshim_sim medshim_sim;

/**
 * Open a simulator (loading its ledger file if any).
 * @return MEDSHIM_OK; MEDSHIM_EINVAL (bad options: unknown version, shares
 *         over 1000, permille over 1000, bad institution code);
 *         MEDSHIM_EIO (ledger unreadable); MEDSHIM_ENOMEM. Why, as for
 *         every libmedshim call: medshim_last_error().
 */
MEDSHIM_API int medshim_sim_open(medshim_sim **out,
                                 const medshim_sim_options *opts);
/** Close; NULL is a no-op. */
MEDSHIM_API void medshim_sim_close(medshim_sim *sim);

/** @name err_code values of a refusal (a simulator extension: the real
 * platform has only err_msg text). */
/**@{*/
#define MEDSHIM_SIM_ERR_BUSY "busy"                /**< transient; nothing done */
#define MEDSHIM_SIM_ERR_MSGID_INVALID "msgid_invalid" /**< not institution + time + 4 digits */
#define MEDSHIM_SIM_ERR_MSGID_REPEAT "msgid_repeat"   /**< seen before; nothing done */
#define MEDSHIM_SIM_ERR_PERSON "person_not_found"  /**< stable per person */
#define MEDSHIM_SIM_ERR_INPUT "bad_input"          /**< malformed or missing field */
#define MEDSHIM_SIM_ERR_NOT_FOUND "not_found"      /**< visit, settlement or original */
#define MEDSHIM_SIM_ERR_STATE "state"              /**< not allowed in this state */
#define MEDSHIM_SIM_ERR_AMOUNT "amount_mismatch"   /**< medfee_sumamt != details */
#define MEDSHIM_SIM_ERR_ALREADY_CANCELLED "already_cancelled" /**< what it undoes was cancelled or deleted */
#define MEDSHIM_SIM_ERR_ALREADY_REVERSED "already_reversed"   /**< reversed by 2601 already */
#define MEDSHIM_SIM_ERR_NOT_REVERSIBLE "not_reversible"       /**< 2601 of a request that changed nothing */
#define MEDSHIM_SIM_ERR_INFNO "unknown_infno"                 /**< a transaction it does not serve */
#define MEDSHIM_SIM_ERR_REJECTED "rejected"        /**< injected permanent refusal */
/**@}*/

/**
 * One platform transaction.
 *
 * @p input_json is the request's `input` object, e.g. for 2201
 * `{"data":{"psn_no":…,"begntime":"2022-02-11 09:30:00","ipt_otp_no":…,
 * "med_type":"11","insutype":"310"}}` (the fields may also stand at the top
 * level). Amounts are decimal yuan strings ("238.50"), times
 * `yyyy-MM-dd HH:mm:ss` in +08:00. On an answer, @p output_json receives the
 * response envelope `{"infcode":0|-1,"err_msg":…,"err_code":…,"output":{…}}`
 * (output shaped as the platform's: 1101 baseinfo/insuinfo, 2201 data,
 * 2204 result, 2206/2207/2208/5203 setlinfo, 5201 mdtrtinfo, 2601 data).
 * err_msg never contains personal data.
 *
 * @param[in] infno transaction code ("2207")
 * @param[in] msgid 30 chars: institution (12) + yyyyMMddHHmmss + 4 digits;
 *            refused (msgid_invalid) otherwise, and refused and counted
 *            (msgid_repeat) when the platform has seen it before
 * @param[out] output_json the answer, free with medshim_sim_free(); NULL
 *             when the answer is lost
 * @param[out] lost 1 when the answer is lost (the platform may have carried
 *             the request out: a write is recorded before it is lost), else 0
 * @return MEDSHIM_OK (answered or lost); MEDSHIM_EINVAL (NULL argument);
 *         MEDSHIM_EIO (ledger failure: treat as a lost answer);
 *         MEDSHIM_ENOMEM.
 */
MEDSHIM_API int medshim_sim_call(medshim_sim *sim, const char *infno,
                                 const char *msgid, const char *input_json,
                                 char **output_json, int *lost);

/** Free text the simulator returned; NULL is a no-op. */
MEDSHIM_API void medshim_sim_free(void *ptr);

/**
 * A fresh msgid for tests and harnesses without a journal: the configured
 * institution (or "H00000000000") + now (+08:00) + a per-handle sequence.
 * Unique within the handle only (10,000 per second).
 */
MEDSHIM_API int medshim_sim_msgid(medshim_sim *sim,
                                  char out[MEDSHIM_MSGID_LEN + 1]);

/** A fault forced on chosen calls (tests). */
typedef enum medshim_sim_fault {
  MEDSHIM_SIM_FAULT_BUSY = 1,   /**< refuse "busy", do nothing */
  MEDSHIM_SIM_FAULT_LOST = 2,   /**< carry the call out, lose the answer */
  MEDSHIM_SIM_FAULT_REJECT = 3  /**< refuse for good ("rejected"), do nothing */
} medshim_sim_fault;

/**
 * Force @p fault on the next @p count calls of @p infno (NULL: any) made
 * through this handle, after the calls already scheduled. Random faults do
 * not apply to a call with a forced fault.
 * @return MEDSHIM_OK; MEDSHIM_EINVAL; MEDSHIM_ERANGE (16 pending at most).
 */
MEDSHIM_API int medshim_sim_inject(medshim_sim *sim, const char *infno,
                                   medshim_sim_fault fault, unsigned int count);

/** Ground truth over the whole ledger (all processes), plus this handle's
 *  counters where said. */
typedef struct medshim_sim_stats {
  unsigned int version;        /**< MEDSHIM_SIM_STATS_VERSION */
  size_t calls;                /**< requests the platform processed */
  size_t registrations;        /**< 2201 carried out */
  size_t open_registrations;   /**< of them, not cancelled nor reversed */
  size_t settlements;          /**< active settlements */
  size_t cancelled_settlements;/**< settlements cancelled by 2208 */
  size_t reversals;            /**< requests undone by 2601 */
  size_t double_settlements;   /**< visits with more than one active settlement */
  size_t open_partial;         /**< registrations neither settled nor undone */
  size_t msgid_repeats;        /**< requests refused for a repeated msgid */
  size_t msgid_invalid;        /**< requests refused for a malformed msgid */
  size_t lost_answers;         /**< answers lost */
  size_t damaged_lines;        /**< ledger lines that could not be read */
  size_t busy;                 /**< this handle: transient refusals */
  size_t settle_calls;         /**< this handle: 2207 requests received */
  size_t max_in_flight;        /**< this handle: most calls in progress at once */
} medshim_sim_stats;

/** Version of ::medshim_sim_stats this header describes (its `version` field). */
#define MEDSHIM_SIM_STATS_VERSION 1

/** @return MEDSHIM_OK; MEDSHIM_EINVAL; MEDSHIM_EIO; MEDSHIM_ENOMEM. */
MEDSHIM_API int medshim_sim_stats_get(medshim_sim *sim, medshim_sim_stats *out);

/** The stats as one line of JSON (what `medshim-sim --stats` prints). Free
 *  with medshim_sim_free(). */
MEDSHIM_API int medshim_sim_stats_json(medshim_sim *sim, char **out);

/** What the platform holds for one visit of the institution. */
typedef struct medshim_sim_visit {
  unsigned int version;       /**< MEDSHIM_SIM_VISIT_VERSION */
  size_t registrations;       /**< 2201 for the visit */
  size_t open_registrations;  /**< not cancelled nor reversed */
  size_t settlements;         /**< active settlements (more than 1: double) */
  size_t undone_settlements;  /**< cancelled (2208) or reversed (2601) */
  char mdtrt_id[MEDSHIM_PLATFORM_ID_MAX + 1]; /**< of the latest active settlement */
  char setl_id[MEDSHIM_PLATFORM_ID_MAX + 1];  /**< of the latest active settlement */
  int64_t setl_time;          /**< Unix s */
  int64_t total_fen;          /**< medfee_sumamt of that settlement */
  int64_t fund_paid_fen;      /**< fund_pay_sumamt */
  int64_t acct_paid_fen;      /**< acct_pay */
  int64_t patient_paid_fen;   /**< psn_cash_pay */
  int64_t hospital_share_fen; /**< hosp_part_amt */
} medshim_sim_visit;

/** Version of ::medshim_sim_visit this header describes (its `version` field). */
#define MEDSHIM_SIM_VISIT_VERSION 1

/**
 * Look a visit up by person and the institution's visit number (ipt_otp_no,
 * the claim's visit_id), without lag.
 * @return MEDSHIM_OK; MEDSHIM_ENOTFOUND (never registered); MEDSHIM_EINVAL;
 *         MEDSHIM_EIO.
 */
MEDSHIM_API int medshim_sim_visit_get(medshim_sim *sim, medshim_sim_visit *out,
                                      const char *psn_no,
                                      const char *ipt_otp_no);

/**
 * The adapter bound to the simulator (payload = sim), on the v2 API:
 * settle drives 1101, 2201, 2204, 2206, 2207 (each between
 * medshim_adapter_step_begin() and medshim_adapter_step_end()), undoing a
 * refusal after partial steps (2205, 2202); probe confirms a recorded
 * settlement with 5203, reverses uncertain requests with 2601, finds
 * registrations with 5201 and undoes them. The claim needs a psn_no or an
 * id_no (1101 then gives the psn_no). ipt_otp_no is the visit_id and
 * medins_setl_id the replay key.
 */
MEDSHIM_API void medshim_sim_adapter(medshim_adapter *out, medshim_sim *sim);

/** @name Shorthands kept from the first simulator (whole ledger). */
/**@{*/
/** Active settlements (stats.settlements). */
MEDSHIM_API size_t medshim_sim_settlements(medshim_sim *sim);
/** Visits settled more than once (stats.double_settlements): must be 0. */
MEDSHIM_API size_t medshim_sim_double_attempts(medshim_sim *sim);
/** 2207 requests received by this handle. */
MEDSHIM_API size_t medshim_sim_settle_calls(const medshim_sim *sim);
/** Largest number of calls in progress at once (this handle). */
MEDSHIM_API size_t medshim_sim_max_concurrency(const medshim_sim *sim);
/** 1 when a settlement with this medins_setl_id (replay key) is active. */
MEDSHIM_API int medshim_sim_is_settled(medshim_sim *sim, const char *replay_key);
/**@}*/

#ifdef __cplusplus
}
#endif
#endif /* MEDSHIM_SIM_H */
