/**
 * @file flat.h
 * @brief The flat interface: JSON text in, JSON text out, integer handles.
 *
 * For hosts that cannot map C structs: VB6, Delphi, PowerBuilder, C#
 * P/Invoke, Java JNA, Python ctypes. Every function takes and returns only
 * int, int32_t, size_t, NUL-terminated UTF-8 text and caller-allocated
 * buffers. It is a thin layer over the C API (schedule.h, journal.h,
 * replay.h): the same checks, the same error codes.
 *
 * Conventions:
 * - Every function returns MEDSHIM_OK (0) or a negative ::medshim_code.
 *   After a failure, medshim_flat_last_error() gives this thread's error as
 *   JSON: {"code":-1,"name":"MEDSHIM_EINVAL","where":"total_fen","line":1,
 *   "message":"line 1: total_fen: must be >= 0"}. "where" names a field or
 *   JSON path, "line" (when input had lines) the input line; neither ever
 *   holds personal data (names, ID numbers, card numbers).
 * - Output goes to (out, cap): the JSON text and its NUL. When cap is too
 *   small (or out is NULL) the function returns MEDSHIM_ERANGE and sets
 *   *needed (when not NULL) to the size needed, NUL included. The output
 *   of the last call on this thread is kept: medshim_flat_last_result()
 *   copies it, so a side-effecting call (defer, replay) need not be
 *   repeated to get its answer. On MEDSHIM_ERANGE the operation itself
 *   has been carried out.
 * - Handles are positive int32_t numbers, never pointers; 0 and unknown or
 *   closed handles give MEDSHIM_EINVAL ("bad handle"). A handle of one kind
 *   (schedules) passed where another (journal) is expected is a bad handle.
 *   Do not close a handle while another thread is using it.
 * - Times in input are ISO 8601 text ("2022-02-11T09:30:00+08:00"; without
 *   an offset, China Standard Time) or Unix seconds as a JSON integer;
 *   times in output are ISO text in +08:00 with the Unix seconds beside
 *   them ("from" and "from_unix"). Money is integer fen.
 * - Text is UTF-8, or GBK (Windows code page 936, what an ANSI host such
 *   as VB6 or Delphi 7 passes) for a handle opened with
 *   "encoding":"gbk" in its options (medshim_flat_schedules_load(),
 *   medshim_flat_journal_open(), and medshim_flat_verify()'s options).
 *   Then every text of a call on that handle is GBK: paths, JSON in, JSON
 *   out, the last error and result of the call, and the adapter's request
 *   and answer in medshim_flat_replay(). Options themselves may be in
 *   either. A character that GBK lacks (some rare name characters, emoji)
 *   is written as a JSON \\uXXXX escape, never lost or replaced; input
 *   that is not GBK fails with MEDSHIM_EPARSE naming the byte offset.
 *   medshim_flat_version() and medshim_flat_key_generate() take and give
 *   UTF-8 (ASCII in practice).
 * - On 32-bit Windows every function uses __stdcall (MEDSHIM_FLATCALL),
 *   the convention VB6 Declare and Delphi stdcall expect; elsewhere the
 *   platform's C convention. The adapter callback uses it too.
 *
 * Thread safety: every function may be called from any thread; the last
 * error and last result are per thread. A schedule handle may be used by
 * several threads for medshim_flat_decide() once loading is done; a
 * journal handle by any number of threads (see journal.h).
 */
#ifndef MEDSHIM_FLAT_H
#define MEDSHIM_FLAT_H

#include <stddef.h>
#include <stdint.h>

#include "medshim/errors.h"
#include "medshim/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Calling convention of the flat interface: __stdcall on 32-bit Windows. */
#if defined(_WIN32) && !defined(_WIN64)
#define MEDSHIM_FLATCALL __stdcall
#else
#define MEDSHIM_FLATCALL
#endif

/** Version of the flat interface; bumped only when a function is added. */
#define MEDSHIM_FLAT_VERSION 2

/**
 * {"library":"0.9.0","flat":1}.
 * @return MEDSHIM_OK or MEDSHIM_ERANGE.
 */
MEDSHIM_API int MEDSHIM_FLATCALL medshim_flat_version(char *out, size_t cap,
                                                      size_t *needed);

/**
 * This thread's last error as JSON (see above); {"code":0,...} when the
 * last call succeeded.
 * @return MEDSHIM_OK or MEDSHIM_ERANGE (the error is kept).
 */
MEDSHIM_API int MEDSHIM_FLATCALL medshim_flat_last_error(char *out, size_t cap,
                                                         size_t *needed);

/**
 * The output of this thread's last call that produced one ("" if none).
 * @return MEDSHIM_OK or MEDSHIM_ERANGE.
 */
MEDSHIM_API int MEDSHIM_FLATCALL medshim_flat_last_result(char *out, size_t cap,
                                                          size_t *needed);

/**
 * Create a schedule set and load one notice file (with FILE.sig when it
 * exists).
 * @param[in] path the schedule file
 * @param[in] options_json NULL or {"public_key_file":PATH,
 *            "require_signed":true, "breaker_threshold":5,
 *            "breaker_open_seconds":300, "encoding":"utf-8"|"gbk"}
 * @param[out] handle the set's handle
 * @return as medshim_schedule_set_load_file(); MEDSHIM_EINVAL, MEDSHIM_EIO.
 */
MEDSHIM_API int MEDSHIM_FLATCALL medshim_flat_schedules_load(
    const char *path, const char *options_json, int32_t *handle);

/**
 * Load one more notice file into a set (an amendment supersedes).
 * Output: {"schedules":N,"notices":["..."]}.
 */
MEDSHIM_API int MEDSHIM_FLATCALL medshim_flat_schedules_add(int32_t handle,
                                                           const char *path,
                                                           char *out, size_t cap,
                                                           size_t *needed);

/** Free a set. @return MEDSHIM_OK or MEDSHIM_EINVAL (bad handle). */
MEDSHIM_API int MEDSHIM_FLATCALL medshim_flat_schedules_free(int32_t handle);

/**
 * Decide for one visit.
 * In: {"service":"outpatient","insured_admdvs":"330102",
 *      "treated_admdvs":"330106" (optional),"at":"2022-02-11T09:30",
 *      "lang":"en"|"zh" (optional, the texts' language; default "en")}.
 * Out: {"decision":"defer","reason":…,"reason_code":"planned_stop" (see
 *      medshim_reason_name()),"until":…,"window":{"schedule":…,
 *      "version":…,"from":…,"until":…} (when a phase decided),
 *      "advice":[{"kind":"settle_before","at":…,"text":…}],
 *      "replay":{"route":"hospital","from":…,"until":…} (for defer),
 *      "claim_window":{…} (put it in the claim as "window" to journal what
 *      the cashier was told), "cashier_text":"…" (what to tell the cashier),
 *      "receipt_text":"…" (for the patient's receipt; medshim_decision_text())}.
 * @return MEDSHIM_OK; MEDSHIM_EPARSE; MEDSHIM_EINVAL (field named);
 *         MEDSHIM_ERANGE.
 */
MEDSHIM_API int MEDSHIM_FLATCALL medshim_flat_decide(int32_t handle,
                                                    const char *visit_json,
                                                    char *out, size_t cap,
                                                    size_t *needed);

/**
 * Report an online settlement attempt's outcome for a region (the circuit
 * breaker of medshim_schedule_report_outcome()): after repeated failures
 * decisions for the region become defer until a probe succeeds.
 * @param[in] outcome_json {"region":"330106","ok":true|false,"at":…}
 * @return MEDSHIM_OK; MEDSHIM_EINVAL (field named); MEDSHIM_ENOMEM.
 */
MEDSHIM_API int MEDSHIM_FLATCALL medshim_flat_report_outcome(int32_t handle,
                                                            const char *outcome_json);

/**
 * Open (or create) a journal.
 * @param[in] options_json {"key_file":PATH (required),"create":true,
 *            "mode":"write"|"replay"|"readonly"|"salvage" (default write),
 *            "encoding":"utf-8"|"gbk" (default utf-8: see the top),
 *            "suite":"default"|"sm" (as medshim_journal_options.suite)}
 * @return as medshim_journal_open().
 */
MEDSHIM_API int MEDSHIM_FLATCALL medshim_flat_journal_open(
    const char *dir, const char *options_json, int32_t *handle);

/**
 * Create a key file of 32 random bytes, mode 0600 (medshim_key_generate()).
 * @return MEDSHIM_OK; MEDSHIM_EEXIST (never overwrites a key); MEDSHIM_EIO.
 */
MEDSHIM_API int MEDSHIM_FLATCALL medshim_flat_key_generate(const char *path);

/** Close a journal (writes its checkpoint). @return as medshim_journal_close(). */
MEDSHIM_API int MEDSHIM_FLATCALL medshim_flat_journal_close(int32_t handle);

/**
 * Journal self-paid claims durably: @p claims_jsonl holds one claim JSON
 * object per line (claim-format.md; "window" from medshim_flat_decide()'s
 * "claim_window"). Every line is checked before anything is written: a bad
 * line fails the call with MEDSHIM_EINVAL / MEDSHIM_EPARSE, its line number
 * and field in the error, and nothing stored. All lines share one
 * fdatasync.
 * Out: {"results":[{"line":1,"visit_id":…,"result":"stored"|"duplicate"|
 *      "conflict","receipt":"R1-…"}],"stored":N,"duplicates":N,
 *      "conflicts":N}. Show a deferral as done only after MEDSHIM_OK (or
 *      MEDSHIM_ERANGE, which also means written).
 */
MEDSHIM_API int MEDSHIM_FLATCALL medshim_flat_defer(int32_t journal,
                                                   const char *claims_jsonl,
                                                   char *out, size_t cap,
                                                   size_t *needed);

/**
 * Every claim with its status, without personal data.
 * Out: {"claims":[{"visit_id":…,"service":…,"visit_time":…,"total_fen":…,
 *      "self_paid_fen":…,"state":"pending",…,"settlement_id":…,
 *      "refund_fen":…}],"count":N}.
 */
MEDSHIM_API int MEDSHIM_FLATCALL medshim_flat_list(int32_t journal, char *out,
                                                  size_t cap, size_t *needed);

/**
 * Refunds and counts: {"claims":N,"by_state":{"settled":N,…},
 * "refunds_due_fen":…,"refunds_due_count":N,"negative_refunds":N,
 * "refunds":[{"visit_id":…,"settlement_id":…,"self_paid_fen":…,
 * "patient_paid_fen":…,"refund_fen":…}]} (settled claims only; a negative
 * refund means the patient owes more and is flagged, not summed).
 */
MEDSHIM_API int MEDSHIM_FLATCALL medshim_flat_report(int32_t journal, char *out,
                                                    size_t cap, size_t *needed);

/**
 * The claims for manual reimbursement at the agency (route agency, or
 * past their re-settlement deadline: states manual and expired), what
 * `medshim export --manual` gives.
 * @param[in] options_json NULL or {"reveal":true (names and ID numbers in
 *            full, as the agency needs them; default masked),
 *            "lang":"en"|"zh" (the materials text)}
 * Out: {"count":N,"claims":[{… the claim JSON (claim-format.md) …,
 *      "state":"manual"|"expired","materials":…,"deadline_last_day":
 *      "2022-12-31" (inclusive, +08:00),"deadline_until_exclusive":…}]}.
 * @return MEDSHIM_OK; MEDSHIM_EINVAL (bad handle, bad lang); MEDSHIM_ERANGE;
 *         journal errors.
 */
MEDSHIM_API int MEDSHIM_FLATCALL medshim_flat_export(int32_t journal,
                                                    const char *options_json,
                                                    char *out, size_t cap,
                                                    size_t *needed);

/**
 * Verify a journal directory without opening it for writing.
 * @param[in] options_json {"key_file":PATH,"encoding":"utf-8"|"gbk"}
 * Out: {"intact":true|false,"damage":"none",…,"segments":…,"records":…,
 *      "claims":…,"text":…}. Damage gives MEDSHIM_ECORRUPT with the output
 *      written.
 */
MEDSHIM_API int MEDSHIM_FLATCALL medshim_flat_verify(const char *dir,
                                                    const char *options_json,
                                                    char *out, size_t cap,
                                                    size_t *needed);

/**
 * The adapter of medshim_flat_replay(), called from the replay's worker
 * threads (one at a time unless "concurrency" > 1).
 * @param[in] request_json the exec protocol's request (docs/replay.md):
 *            {"type":"settle"|"probe","kind":(the same),"replay_key":…,
 *            "attempt":N,"attempt_started":…,"steps":[{"attempt":…,
 *            "infno":…,"msgid":…,"state":"sent"|"ok"|"failed"|"unknown",
 *            "sent_at":…,"mdtrt_id":…,"setl_id":…,…}],
 *            "claim":{… the claim JSON, personal data revealed: the
 *            adapter needs it to call the platform}}, plus
 *            "msgid" (settle, "steps":"library": the msgid of the settling
 *            request, recorded durably before this call) or
 *            "ctx" ("steps":"host", and every probe: the number to pass to
 *            medshim_flat_step_begin() / _end() during this call)
 * @param[out] answer {"outcome":"settled"|"rejected"|"retry"|"unknown"|
 *            "not_found" ("status" is read too: an exec adapter's result
 *            line may be passed through),"settlement_id":…,"mdtrt_id":…,
 *            "setl_time":… (Unix seconds or "yyyy-MM-dd HH:mm:ss"),
 *            "total_fen":…,"fund_paid_fen":…,"acct_paid_fen":…,
 *            "patient_paid_fen":…,"hospital_share_fen":…,"code":…,
 *            "message":…}, NUL-terminated, at most @p cap bytes
 * @return 0; anything else (or an answer that does not parse) counts as
 *         "unknown": the claim stays in doubt and is probed later.
 */
typedef int(MEDSHIM_FLATCALL *medshim_flat_adapter_fn)(const char *request_json,
                                                      char *answer, size_t cap,
                                                      void *payload);

/** Size of the answer buffer the adapter gets. */
#define MEDSHIM_FLAT_ANSWER_MAX 4096

/**
 * Replay the journal's claims whose window is open, through @p adapter.
 * Steps ("steps" option):
 * - "library" (default): the library records one step ("2207", its msgid
 *   in the request) before each settle call and its outcome after, so a
 *   lost answer is probed, never resent blindly. For adapters that make
 *   one platform request per settlement.
 * - "host": the adapter records each platform request itself, as the C
 *   API's adapters do (replay.h): medshim_flat_step_begin() before sending
 *   (send only after MEDSHIM_OK), medshim_flat_step_end() with what came
 *   back. For the full sequence 1101 ... 2207 with undo, or to bridge an
 *   exec-protocol adapter program (e.g. medshim-sim).
 * @param[in] options_json {"institution_code":"H33010600001" (required),
 *            "steps":"library"|"host","at":… (default now),"max_attempts":…,
 *            "concurrency":…,"dry_run":false,"confirm_time":false,
 *            "expire_now":false,"no_visibility_delay":false,
 *            "visibility_delay_seconds":…,"seed":…,"backoff_base_seconds":…,
 *            "backoff_cap_seconds":…,"expire_grace_days":…}
 * Out: the run's summary {"claims":…,"settled":…,…,"refunds_due_fen":…}.
 * @return as medshim_replay_run().
 */
MEDSHIM_API int MEDSHIM_FLATCALL medshim_flat_replay(
    int32_t journal, const char *options_json, medshim_flat_adapter_fn adapter,
    void *payload, char *out, size_t cap, size_t *needed);

/**
 * During an adapter call with a "ctx": record a platform request before it
 * is sent (medshim_adapter_step_begin()). Call from the adapter's thread.
 * @param[in] ctx the request's "ctx"
 * @param[in] infno the transaction code ("2201")
 * @param[out] msgid the msgid to send, MEDSHIM_MSGID_LEN + 1 = 31 bytes
 * @return MEDSHIM_OK (then send); MEDSHIM_EINVAL (not the call in progress,
 *         bad infno); MEDSHIM_ERANGE (buffer, or the step log is full);
 *         journal errors: then do NOT send, answer "unknown".
 */
MEDSHIM_API int MEDSHIM_FLATCALL medshim_flat_step_begin(int32_t ctx,
                                                        const char *infno,
                                                        char *msgid, size_t cap);

/**
 * During an adapter call with a "ctx": record what came back for a step
 * begun earlier: {"msgid":…,"state":"ok"|"failed"|"unknown","mdtrt_id":…,
 * "setl_id":…,"setl_time":…,"total_fen":…,"fund_paid_fen":…,
 * "acct_paid_fen":…,"patient_paid_fen":…,"code":…} (the exec protocol's
 * step_end line is accepted as it is).
 * @return MEDSHIM_OK; MEDSHIM_EINVAL; MEDSHIM_ENOTFOUND (no such msgid);
 *         MEDSHIM_ERANGE (an overlong id: refused, never cut); journal errors.
 */
MEDSHIM_API int MEDSHIM_FLATCALL medshim_flat_step_end(int32_t ctx,
                                                      const char *step_json);

#ifdef __cplusplus
}
#endif
#endif /* MEDSHIM_FLAT_H */
