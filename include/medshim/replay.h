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
  MEDSHIM_OUTCOME_SETTLED = 1,  /**< settled: ids and amounts filled in */
  MEDSHIM_OUTCOME_REJECTED = 2, /**< permanent refusal: code and message */
  MEDSHIM_OUTCOME_RETRY = 3,    /**< transient: NOT settled (partial steps undone), try later */
  MEDSHIM_OUTCOME_UNKNOWN = 4,  /**< lost answer: may or may not be settled */
  MEDSHIM_OUTCOME_NOT_FOUND = 5 /**< probe only: the platform has no settlement
                                     for the visit and nothing of the attempt
                                     is left to undo: safe to send again */
} medshim_outcome;

/** Length of a platform msgid: institution code (12) + yyyyMMddHHmmss (14)
 *  + a 4-digit sequence. */
#define MEDSHIM_MSGID_LEN 30
/** Length of an institution code (fixmedins_code). */
#define MEDSHIM_INSTITUTION_LEN 12
/** Longest platform id (mdtrt_id, setl_id) the journal keeps. */
#define MEDSHIM_PLATFORM_ID_MAX MEDSHIM_SETTLEMENT_ID_MAX
/** Longest transaction code (infno, e.g. "2207"). */
#define MEDSHIM_INFNO_MAX 4

/**
 * Result of an adapter call. Money in fen. Checked by the library before
 * anything is recorded (docs/replay.md, "What an answer must satisfy"):
 * SETTLED needs a non-empty settlement_id, amounts >= 0 that add up
 * (fund + acct + patient + hospital_share == total, total > 0) and a
 * patient share no larger than what the patient paid plus the account
 * share; strings must be NUL-terminated inside their arrays (an overlong id
 * is refused, never cut). An answer that fails a check is treated as
 * MEDSHIM_OUTCOME_UNKNOWN: the claim stays in doubt, is probed later, and
 * the reason is kept in its status for the operator.
 */
typedef struct medshim_settlement {
  unsigned int version;  /**< MEDSHIM_SETTLEMENT_VERSION */
  medshim_outcome outcome; /**< what the attempt came to */
  char settlement_id[MEDSHIM_PLATFORM_ID_MAX + 1]; /**< setl_id */
  char mdtrt_id[MEDSHIM_PLATFORM_ID_MAX + 1];      /**< the visit on the platform */
  char msgid[MEDSHIM_MSGID_LEN + 1]; /**< msgid of the settling request (2207, 2304, 2102) */
  int64_t setl_time;        /**< platform settlement time (Unix s); 0: unknown */
  int64_t total_fen;        /**< medfee_sumamt */
  int64_t fund_paid_fen;    /**< fund_pay_sumamt */
  int64_t acct_paid_fen;    /**< acct_pay: personal account */
  int64_t patient_paid_fen; /**< psn_cash_pay: what the patient owed in cash */
  int64_t hospital_share_fen; /**< hosp_part_amt, 0 in most regions */
  char code[MEDSHIM_REJECT_CODE_MAX + 1];       /**< a refusal's platform code */
  char message[MEDSHIM_REJECT_MESSAGE_MAX + 1]; /**< a refusal's text, no personal data */
} medshim_settlement;

/** Version of ::medshim_settlement this header describes (its `version` field). */
#define MEDSHIM_SETTLEMENT_VERSION 2

/** State of one platform request in a claim's step log. */
typedef enum medshim_step_state {
  MEDSHIM_STEP_SENT = 1,    /**< recorded before the request left; no answer yet */
  MEDSHIM_STEP_OK = 2,      /**< the platform answered success (infcode 0) */
  MEDSHIM_STEP_FAILED = 3,  /**< the platform answered a refusal */
  MEDSHIM_STEP_UNKNOWN = 4  /**< no usable answer (timeout, lost connection) */
} medshim_step_state;

/** "sent", "ok", "failed", "unknown"; NULL for an unknown value. */
MEDSHIM_API const char *medshim_step_state_name(medshim_step_state state);

/** Most steps the journal keeps per claim (all attempts, undo included). */
#define MEDSHIM_STEPS_MAX 48

/**
 * One platform request an adapter made, as the journal keeps it: recorded
 * SENT (with its msgid) before the request leaves, then updated with what
 * came back. Probes and undo use these records.
 */
typedef struct medshim_step {
  unsigned int version;       /**< MEDSHIM_STEP_VERSION */
  uint32_t attempt;           /**< the settle attempt (or probe) it belongs to */
  char infno[MEDSHIM_INFNO_MAX + 1];  /**< transaction code, "2201" */
  char msgid[MEDSHIM_MSGID_LEN + 1];  /**< msgid the request carried */
  medshim_step_state state;   /**< what came back so far */
  int64_t sent_at;            /**< wall clock when recorded (Unix s) */
  char mdtrt_id[MEDSHIM_PLATFORM_ID_MAX + 1]; /**< returned by 2201/2401 */
  char setl_id[MEDSHIM_PLATFORM_ID_MAX + 1];  /**< returned by 2207/2304/2102 */
  int64_t setl_time;          /**< returned with setl_id (Unix s) */
  int64_t total_fen;          /**< medfee_sumamt returned with setl_id */
  int64_t fund_paid_fen;      /**< fund_pay_sumamt */
  int64_t acct_paid_fen;      /**< acct_pay: personal account */
  int64_t patient_paid_fen;   /**< psn_cash_pay */
  char code[MEDSHIM_REJECT_CODE_MAX + 1]; /**< the platform's error code, if any */
} medshim_step;

/** Version of ::medshim_step this header describes (its `version` field). */
#define MEDSHIM_STEP_VERSION 1

/**
 * What an adapter call sees: the claim, its replay key and attempt, the
 * steps recorded so far, and the functions that record new ones. Valid
 * only during the call; the adapter may use it from the calling thread only.
 */
typedef struct medshim_adapter_ctx medshim_adapter_ctx;

/** The claim being settled or probed (personal data revealed: the adapter
 *  needs it to call the platform). */
MEDSHIM_API const medshim_claim *medshim_adapter_claim(
    const medshim_adapter_ctx *ctx);
/** Stable replay key of the claim (medins_setl_id, the institution's own
 *  settlement id that 5261/5262 echo back). */
MEDSHIM_API const char *medshim_adapter_replay_key(
    const medshim_adapter_ctx *ctx);
/** Settle attempt number (1 for the first); for a probe, the attempt probed. */
MEDSHIM_API uint32_t medshim_adapter_attempt(const medshim_adapter_ctx *ctx);
/** Wall-clock start of the attempt (settle) or of the probed attempt. */
MEDSHIM_API int64_t medshim_adapter_attempt_started(
    const medshim_adapter_ctx *ctx);
/** Number of steps recorded for the claim, over all attempts. */
MEDSHIM_API size_t medshim_adapter_step_count(const medshim_adapter_ctx *ctx);
/** Step @p i (0-based, oldest first); NULL out of range. Valid until the
 *  next step_begin/step_end on @p ctx. */
MEDSHIM_API const medshim_step *medshim_adapter_step(
    const medshim_adapter_ctx *ctx, size_t i);

/**
 * Before sending a platform request: allocate its msgid and record the step
 * as SENT, durably (together with the claim's in_doubt record, on the
 * first step of an attempt). Send the request only after MEDSHIM_OK, and
 * never send anything to the platform without a step begun first.
 * @param[out] msgid MEDSHIM_MSGID_LEN + 1 bytes
 * @param[in] infno the transaction code ("2201", "2207", "5201", ...)
 * @return MEDSHIM_OK; MEDSHIM_EINVAL (bad infno); MEDSHIM_ERANGE (the
 *         claim already has MEDSHIM_STEPS_MAX steps); journal errors
 *         (MEDSHIM_EIO, MEDSHIM_EPOISONED): then do NOT send.
 */
MEDSHIM_API int medshim_adapter_step_begin(medshim_adapter_ctx *ctx,
                                           char msgid[MEDSHIM_MSGID_LEN + 1],
                                           const char *infno);

/**
 * After a request's answer (or its loss): record what came back, durably,
 * before the next request leaves. @p step->msgid names the step begun
 * earlier; its state must be OK, FAILED or UNKNOWN. Ids are refused when
 * overlong (MEDSHIM_ERANGE), never cut.
 * @return MEDSHIM_OK; MEDSHIM_ENOTFOUND (no step with that msgid);
 *         MEDSHIM_EINVAL; MEDSHIM_ERANGE; journal errors.
 */
MEDSHIM_API int medshim_adapter_step_end(medshim_adapter_ctx *ctx,
                                         const medshim_step *step);

/**
 * Settle a claim: drive the platform sequence (1101, 2201, 2204, 2206, 2207
 * for an out-patient), each request between step_begin and step_end. On a
 * failure after partial steps, undo them in reverse (2208, 2205, 2202) and
 * answer REJECTED or RETRY; when the undo itself fails, answer UNKNOWN.
 * Fill @p out (its version is set and the rest zeroed by the caller).
 * @return 0; a non-zero return is treated as MEDSHIM_OUTCOME_UNKNOWN.
 */
typedef int (*medshim_settle_fn)(medshim_settlement *out,
                                 medshim_adapter_ctx *ctx, void *payload);

/**
 * Probe an in-doubt claim, using its recorded steps: find the settlement
 * (5201 by person and visit time, then 5203 with the mdtrt_id found), or
 * reverse the lost request (2601 with its msgid and infno), or undo the
 * partial sequence. Answer SETTLED (with ids and amounts), NOT_FOUND (no
 * settlement and nothing left to undo) or UNKNOWN (cannot tell yet).
 * @return 0; a non-zero return is treated as MEDSHIM_OUTCOME_UNKNOWN.
 */
typedef int (*medshim_probe_fn)(medshim_settlement *out,
                                medshim_adapter_ctx *ctx, void *payload);

/** The HIS's platform adapter. */
typedef struct medshim_adapter {
  unsigned int version;     /**< MEDSHIM_ADAPTER_VERSION */
  medshim_settle_fn settle; /**< drive a settlement sequence */
  medshim_probe_fn probe;   /**< resolve an in-doubt claim */
  void *payload;            /**< passed to settle and probe */
} medshim_adapter;

/** Version of ::medshim_adapter this header describes (its `version` field). */
#define MEDSHIM_ADAPTER_VERSION 2

/** Counts of a run. */
typedef struct medshim_replay_summary {
  unsigned int version;  /**< MEDSHIM_REPLAY_SUMMARY_VERSION */
  size_t claims;         /**< claims in the journal */
  size_t attempts;       /**< settle calls made this run (dry run: would make) */
  size_t queries;        /**< probe calls made this run (dry run: would make) */
  size_t settled;        /**< settled now (this run or before) */
  size_t rejected;       /**< waiting for a person */
  size_t retry_wait;     /**< waiting for a later attempt */
  size_t in_doubt;       /**< outcome still unknown */
  size_t pending;        /**< window not open yet, or no window (unplanned) */
  size_t expired;        /**< window closed before settlement */
  size_t manual;         /**< agency route */
  size_t voided;         /**< cancelled by the HIS */
  int64_t refunds_due_fen;  /**< sum of positive refunds of settled claims */
  size_t negative_refunds;  /**< settled claims flagged: patient owes more */
  size_t blocked;        /**< of pending/retry_wait: held behind the same
                              patient's earlier, unfinished claim */
  size_t unplanned;      /**< of pending: no window (deferred without a
                              schedule); assign one with
                              medshim_replay_assign_windows() */
  size_t overdue;        /**< of pending: deadline passed, within the grace
                              before expiry */
  size_t bad_answers;    /**< answers refused by the checks this run */
  int64_t opens_at;      /**< earliest window start still ahead of `at`; 0 none */
} medshim_replay_summary;

/** Version of ::medshim_replay_summary this header describes (its `version` field). */
#define MEDSHIM_REPLAY_SUMMARY_VERSION 2

/** What a run does (or, dry, would do) first with a claim. */
typedef enum medshim_replay_action {
  MEDSHIM_ACTION_SEND = 1,    /**< a settle attempt */
  MEDSHIM_ACTION_PROBE = 2,   /**< probe an in-doubt claim */
  MEDSHIM_ACTION_EXPIRE = 3,  /**< deadline passed (and grace, or asked) */
  MEDSHIM_ACTION_MANUAL = 4,  /**< agency route: to the manual export */
  MEDSHIM_ACTION_WAIT = 5,    /**< nothing now: window not open, backoff,
                                   visibility delay, blocked, overdue */
  MEDSHIM_ACTION_FINAL = 6    /**< settled, rejected, expired, manual, voided */
} medshim_replay_action;

/** "send", "probe", "expire", "manual", "wait", "final". */
MEDSHIM_API const char *medshim_replay_action_name(medshim_replay_action a);

/** Called with the first action of each claim, in a dry run too. */
typedef int (*medshim_action_fn)(const char *visit_id,
                                 medshim_replay_action action,
                                 const char *why, void *payload);

/** Called after each claim is handled; non-zero stops the run. */
typedef int (*medshim_progress_fn)(const medshim_replay_summary *so_far,
                                   size_t handled, void *payload);

/** Run even when `at` is implausible for every pending claim. */
#define MEDSHIM_REPLAY_CONFIRM_TIME 0x1u
/** Expire claims whose deadline has passed now, without the grace. */
#define MEDSHIM_REPLAY_EXPIRE_NOW 0x2u
/** The platform shows every settlement at once (simulators, simulated
 *  time): probe in-doubt claims without the visibility delay. */
#define MEDSHIM_REPLAY_NO_VISIBILITY_DELAY 0x4u

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
  int dry_run;                 /**< report what would be done; change nothing */
  unsigned int flags;          /**< MEDSHIM_REPLAY_CONFIRM_TIME, _EXPIRE_NOW,
                                    _NO_VISIBILITY_DELAY */
  const char *institution_code; /**< fixmedins_code, 12 characters: the
                                     prefix of every msgid (required) */
  uint32_t visibility_delay_seconds; /**< an in-doubt claim is probed only
                                     this long (wall clock) after its attempt
                                     began; 0: 660 (a 600 s adapter timeout
                                     plus a minute of platform lag) */
  uint32_t expire_grace_days;  /**< expire this many days after a deadline;
                                    0: 7 */
  medshim_progress_fn progress; /**< called after each claim (may be NULL) */
  void *progress_payload;      /**< passed to progress */
  medshim_action_fn action;    /**< first action of each claim (may be NULL) */
  void *action_payload;        /**< passed to action */
} medshim_replay_options;

/** Version of ::medshim_replay_options this header describes (its `version` field). */
#define MEDSHIM_REPLAY_OPTIONS_VERSION 2
/** Initialiser of a ::medshim_replay_options: this header's version, every other field its default. */
#define MEDSHIM_REPLAY_OPTIONS_INIT {MEDSHIM_REPLAY_OPTIONS_VERSION, 0, 0u, 0.0, 0u, 0u, 0u, 0u, 0, 0u, NULL, 0u, 0u, NULL, NULL, NULL, NULL}

/** @return MEDSHIM_OK or MEDSHIM_EINVAL. */
MEDSHIM_API int medshim_replay_options_init(medshim_replay_options *opts,
                                            unsigned int version);

/**
 * Replay every claim whose window is open at `at`, exactly once. Windows
 * are the ones journaled with each claim at defer (what the cashier was
 * told) or assigned later with medshim_replay_assign_windows(); a claim
 * with neither is `unplanned` and waits. In-doubt claims are probed (never
 * resent blindly) once the visibility delay since their attempt has passed;
 * lost answers of this run are probed again at the end of the run when the
 * delay allows. A run whose `at` is implausible for every claim it would
 * touch (before every visit, or past every deadline by more than a year)
 * refuses with MEDSHIM_ESTATE unless MEDSHIM_REPLAY_CONFIRM_TIME is set.
 * @param[out] out counts by state after the run (may be NULL)
 * @return MEDSHIM_OK; MEDSHIM_EUSER (stopped by the progress callback);
 *         MEDSHIM_ESTATE (implausible time, see above; nothing changed);
 *         MEDSHIM_EINVAL (no institution_code, bad options);
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
 * A person fixed a rejected claim's data, or an expiry is undone: send it
 * again (pending, attempts reset). An expired claim is taken back only
 * while its deadline has not passed at @p at. MEDSHIM_ESTATE otherwise.
 */
MEDSHIM_API int medshim_replay_retry(medshim_journal *journal,
                                     const char *visit_id, int64_t at);

/**
 * Expire a pending, retry_wait or rejected claim now (it goes to the manual
 * export), whatever its deadline. MEDSHIM_ESTATE for other states.
 */
MEDSHIM_API int medshim_replay_expire(medshim_journal *journal,
                                      const char *visit_id, int64_t at);

/** Called for each claim whose window would change. */
typedef int (*medshim_window_change_fn)(const char *visit_id,
                                        const medshim_claim_window *before,
                                        const medshim_claim_window *after,
                                        void *payload);

/**
 * Compare every unfinished claim's window with the one @p schedules give
 * for it (an amended notice, or windows for claims deferred without a
 * schedule) and call @p fn for each difference. Only with @p apply are the
 * new windows recorded; without it nothing changes.
 * @param[out] changed number of claims whose window differs (may be NULL)
 * @return MEDSHIM_OK; MEDSHIM_EUSER; journal errors.
 */
MEDSHIM_API int medshim_replay_assign_windows(size_t *changed,
                                              medshim_journal *journal,
                                              const medshim_schedule_set *schedules,
                                              int apply,
                                              medshim_window_change_fn fn,
                                              void *payload);

/**
 * The step log of a claim, oldest first.
 * @param[out] out up to @p cap steps
 * @param[out] count steps the claim has (may exceed @p cap)
 * @return MEDSHIM_OK, MEDSHIM_ENOTFOUND, journal errors.
 */
MEDSHIM_API int medshim_replay_steps(medshim_step *out, size_t cap,
                                     size_t *count, medshim_journal *journal,
                                     const char *visit_id);

#ifdef __cplusplus
}
#endif
#endif /* MEDSHIM_REPLAY_H */
