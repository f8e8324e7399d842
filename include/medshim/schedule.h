/**
 * @file schedule.h
 * @brief Cutover schedules and the online / try_online / defer decision.
 *
 * Thread safety: medshim_schedule_decide() and
 * medshim_schedule_replay_window() may be called from any number of threads
 * at once, and **reloading is safe while they do**:
 * medshim_schedule_set_load_file() / _load_json() (an amended notice, a
 * new one) may run in another thread at the same time. Loads are
 * serialised among themselves; each publishes a new index at once, so a
 * decision is made wholly on the schedules before a load or wholly on
 * those after it, never on a mix. What a load replaces (an older version,
 * the previous index) is kept until the set is freed, so every string a
 * decision points to stays valid until medshim_schedule_set_free() (which
 * no other thread may be using the set during). The circuit breaker
 * (medshim_schedule_report_outcome()) is internally locked and may be fed
 * from any thread while others decide.
 *
 * medshim_schedule_decide() does no I/O, takes no lock and allocates
 * nothing: its result lives in the caller's ::medshim_decision, and its
 * texts point into the set (valid until the set is freed, reloads
 * notwithstanding). Each reload keeps the memory of what it replaced
 * until then: a set reloaded many times a day is best replaced by a new
 * one now and then, once no thread uses the old.
 *
 * The file format is documented in docs/schedule-format.md.
 */
#ifndef MEDSHIM_SCHEDULE_H
#define MEDSHIM_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "medshim/claim.h"
#include "medshim/errors.h"
#include "medshim/export.h"
#include "medshim/memory.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Services a schedule can name: the settlement services of ::medshim_service
 * (same numbers) and agency services.
 */
typedef enum medshim_sched_service {
  MEDSHIM_SCHED_ENROLLMENT = 16,          /**< 参保登记 */
  MEDSHIM_SCHED_COLLECTION = 17,          /**< contribution collection */
  MEDSHIM_SCHED_FILING = 18,              /**< off-site / special filing 备案 */
  MEDSHIM_SCHED_MANUAL_REIMBURSEMENT = 19, /**< 零星报销 at the agency */
  MEDSHIM_SCHED_ONLINE_SERVICES = 20      /**< online agency services */
} medshim_sched_service;

/** Name of any schedule service ("outpatient", ..., "enrollment"); NULL if unknown. */
MEDSHIM_API const char *medshim_sched_service_name(int service);
/** Parse a schedule service name. @return MEDSHIM_OK or MEDSHIM_EINVAL. */
MEDSHIM_API int medshim_sched_service_parse(int *out, const char *name);

/** The decision. Ordered: a larger value is more restrictive. */
typedef enum medshim_verdict {
  MEDSHIM_ONLINE = 0,     /**< settle online as usual */
  MEDSHIM_TRY_ONLINE = 1, /**< attempt online; on failure defer */
  MEDSHIM_DEFER = 2       /**< collect in full, journal the claim */
} medshim_verdict;

/** "online", "try_online", "defer". */
MEDSHIM_API const char *medshim_verdict_name(medshim_verdict v);

/** Where a deferred claim is re-settled. */
typedef enum medshim_route {
  MEDSHIM_ROUTE_NONE = 0,     /**< no re-settlement rule applies */
  MEDSHIM_ROUTE_HOSPITAL = 1, /**< replayed through the platform by the HIS */
  MEDSHIM_ROUTE_AGENCY = 2    /**< manual reimbursement at the agency */
} medshim_route;

/** "none", "hospital", "agency". */
MEDSHIM_API const char *medshim_route_name(medshim_route route);

/** A re-settlement window. until == 0: no deadline given. */
typedef struct medshim_replay_window {
  medshim_route route; /**< hospital replay, agency, or none */
  int64_t from;  /**< Unix seconds */
  int64_t until; /**< exclusive; 0 when open-ended */
} medshim_replay_window;

/** Kinds of advice. */
typedef enum medshim_advice_kind {
  MEDSHIM_ADVICE_SETTLE_BEFORE = 1, /**< discharge-settle in-patients before `at` */
  MEDSHIM_ADVICE_ADMIT_SELF_PAY = 2 /**< admit as self-pay (until `at`) */
} medshim_advice_kind;

/** "settle_before", "admit_self_pay". */
MEDSHIM_API const char *medshim_advice_kind_name(medshim_advice_kind kind);

/**
 * X-macro list of decision reason codes: X(NAME, value, "name").
 * Append only, never renumber: hosts store and compare them.
 */
#define MEDSHIM_REASON_LIST(X)                                                 \
  X(NONE, 0, "none")                       /* not given: a version 1 decision */ \
  X(NO_WINDOW, 1, "no_window")             /* online: no cutover window, no breaker */ \
  X(INPATIENT_ADVICE, 2, "inpatient_advice") /* online, with in-patient advice before a stop */ \
  X(PLANNED_STOP, 3, "planned_stop")       /* defer: a stop; re-settled at the hospital */ \
  X(AGENCY_ROUTE, 4, "agency_route")       /* defer: a stop; manual reimbursement at the agency */ \
  X(NO_RESETTLEMENT, 5, "no_resettlement") /* defer: a stop; the notice promises no re-settlement */ \
  X(DEGRADED, 6, "degraded")               /* try_online: a degraded phase */ \
  X(BREAKER_OPEN, 7, "breaker_open")       /* defer: unplanned, online kept failing */ \
  X(PROBE, 8, "probe")                     /* try_online: this visit probes a half-open breaker */ \
  X(PROBE_PENDING, 9, "probe_pending")     /* defer: another visit is probing */ \
  X(SERVICE_SUSPENDED, 10, "service_suspended") /* defer: an agency service (enrollment, ...) is stopped */ \
  X(INVALID_INPUT, 11, "invalid_input")    /* defer: the call was refused (a region typo): nothing decided */

/** Why a decision is what it is: the key texts are built from. */
typedef enum medshim_reason_code {
#define MEDSHIM__REASON_ENUM(name, value, text) MEDSHIM_REASON_##name = (value),
  MEDSHIM_REASON_LIST(MEDSHIM__REASON_ENUM)
#undef MEDSHIM__REASON_ENUM
} medshim_reason_code;

/**
 * Name of a reason code ("planned_stop", ...), as the flat interface and
 * `medshim check` print it.
 * @return static text; NULL for a value that is not a code.
 */
MEDSHIM_API const char *medshim_reason_name(int code);

/** One piece of advice for the cashier. */
typedef struct medshim_advice {
  medshim_advice_kind kind; /**< what the advice is about */
  int64_t at;        /**< the deadline / the end of the self-pay period */
  const char *text;  /**< the notice's wording; owned by the set */
} medshim_advice;

/** Most pieces of advice in a ::medshim_decision. */
#define MEDSHIM_ADVICE_MAX 4
/** Longest schedule id, in bytes. */
#define MEDSHIM_SCHEDULE_ID_MAX 64

/**
 * Result of medshim_schedule_decide(). Set `version` to
 * MEDSHIM_DECISION_VERSION before the call (MEDSHIM_DECISION_INIT): the
 * library writes the fields of that version only, so a host built against
 * version 1 (which set 1, or zeroed the struct) keeps working.
 */
typedef struct medshim_decision {
  unsigned int version;     /**< MEDSHIM_DECISION_VERSION; 0 is read as 1 */
  medshim_verdict decision; /**< online, try_online or defer */
  const char *reason;       /**< human text; owned by the set or static */
  int64_t until;            /**< when this decision next changes; 0: never */
  int has_window;           /**< 1 when a schedule's phase decided */
  struct {
    const char *schedule_id; /**< owned by the set */
    uint32_t version;
    int64_t from;
    int64_t until;
  } window;                 /**< the schedule phase that decided (has_window) */
  size_t advice_count;      /**< entries of advice used */
  medshim_advice advice[MEDSHIM_ADVICE_MAX]; /**< what to tell the cashier */
  int has_replay;           /**< 1 when replay is set: for defer, the
                                 window the claim gets; for try_online, the
                                 window a failed attempt gets (defer it with
                                 this window, medshim_decision_window()) */
  medshim_replay_window replay; /**< that window (has_replay) */
  /* version 2 */
  medshim_reason_code code; /**< why: what texts are built from */
} medshim_decision;

/** Version of ::medshim_decision this header describes (its `version` field). */
#define MEDSHIM_DECISION_VERSION 2
/** Initialiser of a ::medshim_decision: this header's version, every other field its default. */
#define MEDSHIM_DECISION_INIT {MEDSHIM_DECISION_VERSION, MEDSHIM_ONLINE, NULL, 0, 0, {NULL, 0u, 0, 0}, 0u, {{(medshim_advice_kind)0, 0, NULL}}, 0, {MEDSHIM_ROUTE_NONE, 0, 0}, MEDSHIM_REASON_NONE}

/** Size of a buffer for medshim_format_day() and medshim_format_last_day(). */
#define MEDSHIM_DAY_TEXT 24

/**
 * The day an instant that starts a period falls on, as people read it, in
 * China Standard Time: "2022-03-15" for 2022-03-15T00:00+08:00, with the
 * time when it is not midnight ("2022-03-15 10:00").
 * @param[out] out at least MEDSHIM_DAY_TEXT bytes
 * @return MEDSHIM_OK or MEDSHIM_EINVAL (NULL out, a year past 9999).
 */
MEDSHIM_API int medshim_format_day(char *out, int64_t from);

/**
 * The last day, inclusive, of a period that ends at an exclusive instant
 * (every `until` of the library: the replay window's deadline, a phase's
 * end), as people read it, in China Standard Time: 2024-01-01T00:00+08:00
 * is "2023-12-31" — what the notice says and what a cashier must tell the
 * patient. An end that is not at midnight is shown as the day it falls on
 * with the time it ends before ("2023-12-31 before 12:00").
 * @param[out] out at least MEDSHIM_DAY_TEXT bytes
 * @return MEDSHIM_OK or MEDSHIM_EINVAL (NULL out, a year past 9999).
 */
MEDSHIM_API int medshim_format_last_day(char *out, int64_t until);

/** Options of a schedule set. */
typedef struct medshim_schedule_options {
  unsigned int version;          /**< MEDSHIM_SCHEDULE_OPTIONS_VERSION */
  const char *public_key_pem;    /**< Ed25519 public key (PEM text) for signatures, or NULL */
  int require_signed;            /**< refuse files without a valid signature */
  uint32_t breaker_threshold;    /**< consecutive failures that open a region's breaker; 0: 5 */
  uint32_t breaker_open_seconds; /**< how long it stays open before a probe; 0: 300 */
} medshim_schedule_options;

/** Version of ::medshim_schedule_options this header describes (its `version` field). */
#define MEDSHIM_SCHEDULE_OPTIONS_VERSION 1
/** Initialiser of a ::medshim_schedule_options: this header's version, every other field its default. */
#define MEDSHIM_SCHEDULE_OPTIONS_INIT {MEDSHIM_SCHEDULE_OPTIONS_VERSION, NULL, 0, 0u, 0u}

/** @return MEDSHIM_OK or MEDSHIM_EINVAL. */
MEDSHIM_API int medshim_schedule_options_init(medshim_schedule_options *opts,
                                              unsigned int version);

/** Opaque set of loaded schedules. */
typedef struct medshim_schedule_set medshim_schedule_set;

/**
 * Create an empty set.
 * @param[out] out the set (free with medshim_schedule_set_free()), NULL on failure
 * @param[in] opts options, or NULL for defaults
 * @return MEDSHIM_OK, MEDSHIM_EINVAL (bad options or public key), MEDSHIM_ENOMEM.
 */
MEDSHIM_API int medshim_schedule_set_new(medshim_schedule_set **out,
                                         const medshim_schedule_options *opts,
                                         medshim_error *err);

/** Free a set; NULL is a no-op. */
MEDSHIM_API void medshim_schedule_set_free(medshim_schedule_set *set);

/**
 * Load a schedule from JSON text. A newer version of a schedule id already
 * loaded supersedes it (and the older is dropped with a notice); an older
 * one is ignored with a notice. Signatures are checked against
 * @p signature (base64 Ed25519 over @p json exactly) when given.
 * @param[in] name label used in messages (e.g. the file name)
 * @param[in] signature base64 text, or NULL
 * @param[out] err on failure: where = JSON path ("phases[2].until"), text = reason
 * @return MEDSHIM_OK; MEDSHIM_EPARSE (not JSON); MEDSHIM_EINVAL (invalid
 *         schedule); MEDSHIM_ESIGNATURE (missing when required, or invalid);
 *         MEDSHIM_ENOMEM.
 */
MEDSHIM_API int medshim_schedule_set_load_json(medshim_schedule_set *set,
                                               const char *name,
                                               const char *json, size_t len,
                                               const char *signature,
                                               medshim_error *err);

/**
 * Load FILE, with its detached signature FILE.sig when that exists.
 * @return as medshim_schedule_set_load_json(), plus MEDSHIM_EIO.
 */
MEDSHIM_API int medshim_schedule_set_load_file(medshim_schedule_set *set,
                                               const char *path,
                                               medshim_error *err);

/** Number of notices (amendments applied, versions ignored) so far. */
MEDSHIM_API size_t medshim_schedule_set_notice_count(const medshim_schedule_set *set);
/** Notice i (0-based); NULL when out of range. Owned by the set. */
MEDSHIM_API const char *medshim_schedule_set_notice(const medshim_schedule_set *set,
                                                    size_t i);
/** Number of schedules in effect. */
MEDSHIM_API size_t medshim_schedule_set_count(const medshim_schedule_set *set);

/**
 * Decide for one visit. Either region inside a window for the service
 * affects the visit; the most restrictive effect wins (defer > try_online >
 * online); an open circuit breaker for either region means defer.
 * No I/O, no lock, no allocation. Other threads may load schedules
 * meanwhile (see the file's thread safety).
 * @param[in,out] out the decision; out->version says which fields the
 *        caller has (version 1: all but `code`); on return it is the version
 *        written
 * @param[in] service a ::medshim_service or ::medshim_sched_service value
 * @param[in] insured insured region (6 digits)
 * @param[in] treated treatment region (6 digits), or NULL for the same
 * @param[in] at the instant (Unix seconds)
 * @return MEDSHIM_OK, MEDSHIM_EINVAL (bad region or service, no set).
 *         On MEDSHIM_EINVAL (with @p out not NULL) the decision is still a
 *         safe one, never garbage: MEDSHIM_DEFER (collect in full and
 *         journal the claim), code MEDSHIM_REASON_INVALID_INPUT (version 2),
 *         a reason naming what was refused, no window and no replay window
 *         (the claim stays unplanned until `medshim window` assigns one).
 */
MEDSHIM_API int medshim_schedule_decide(medshim_decision *out,
                                        const medshim_schedule_set *set,
                                        int service, const char *insured,
                                        const char *treated, int64_t at);

/**
 * The re-settlement window for a claim deferred at @p visit_time: the rule
 * of a schedule covering either region whose services include @p service
 * and whose visit period contains the visit. route NONE when none applies.
 * @return MEDSHIM_OK, MEDSHIM_EINVAL.
 */
MEDSHIM_API int medshim_schedule_replay_window(medshim_replay_window *out,
                                               const medshim_schedule_set *set,
                                               int service, const char *insured,
                                               const char *treated,
                                               int64_t visit_time);

/**
 * The window to journal with a deferred claim: what @p decision told the
 * cashier (route, from, until, and the schedule that decided). Attach it
 * with medshim_claim_set_window() before medshim_journal_defer(), so replay
 * uses exactly that window. A decision without a replay window gives route
 * MEDSHIM_CLAIM_ROUTE_NONE.
 * @return MEDSHIM_OK, MEDSHIM_EINVAL.
 */
MEDSHIM_API int medshim_decision_window(medshim_claim_window *out,
                                        const medshim_decision *decision);

/** Circuit breaker states. */
typedef enum medshim_breaker_state {
  MEDSHIM_BREAKER_CLOSED = 0,   /**< attempts go online */
  MEDSHIM_BREAKER_OPEN = 1,     /**< too many failures: defer */
  MEDSHIM_BREAKER_HALF_OPEN = 2 /**< one probe allowed */
} medshim_breaker_state;

/**
 * Report the outcome of an online settlement attempt for a region (the
 * region whose platform answered or failed: usually the treatment region).
 * After `breaker_threshold` consecutive failures the region's breaker opens
 * and decisions for it become defer; after `breaker_open_seconds` it goes
 * half-open: the next decision is try_online (a probe); a success closes
 * it, a failure opens it again.
 * @param[in] ok 1 success, 0 failure (timeout, platform unavailable)
 * @return MEDSHIM_OK, MEDSHIM_EINVAL, MEDSHIM_ENOMEM (breaker table full).
 */
MEDSHIM_API int medshim_schedule_report_outcome(medshim_schedule_set *set,
                                                const char *region, int ok,
                                                int64_t at);

/** Current breaker state of a region at instant @p at. */
MEDSHIM_API medshim_breaker_state medshim_schedule_breaker_state(
    const medshim_schedule_set *set, const char *region, int64_t at);

/**
 * Sign a schedule: base64 signature of @p len bytes, the algorithm the
 * key's: Ed25519 (64 bytes), or SM2 with SM3 and the default
 * distinguishing ID "1234567812345678" (DER r, s; GB/T 32918, 35276).
 * @param[out] out NUL-terminated base64, caller frees with medshim_free()
 * @param[in] private_key_pem PEM text of an Ed25519 or SM2 private key
 * @return MEDSHIM_OK, MEDSHIM_EKEY, MEDSHIM_ECRYPTO, MEDSHIM_ENOMEM.
 */
MEDSHIM_API int medshim_schedule_sign(char **out, const char *data, size_t len,
                                      const char *private_key_pem);

/**
 * Make a schedule signing key pair, as PEM text: the private key for
 * medshim_schedule_sign(), the public one for medshim_schedule_verify()
 * and ::medshim_schedule_options::public_key_pem (what `medshim schedule
 * keygen` writes to files).
 * @param[out] private_key_pem PKCS#8 PEM; keep it secret, free with
 *             medshim_free() (after wiping it, if it was copied nowhere)
 * @param[out] public_key_pem SubjectPublicKeyInfo PEM; free with
 *             medshim_free()
 * @param[in] alg MEDSHIM_SCHEDULE_KEY_ED25519 or MEDSHIM_SCHEDULE_KEY_SM2
 * @return MEDSHIM_OK; MEDSHIM_EINVAL (NULL argument, unknown alg);
 *         MEDSHIM_ECRYPTO; MEDSHIM_ENOMEM. On failure both are NULL.
 */
MEDSHIM_API int medshim_schedule_keygen(char **private_key_pem,
                                        char **public_key_pem,
                                        unsigned int alg);

/** medshim_schedule_keygen(): an Ed25519 key pair. */
#define MEDSHIM_SCHEDULE_KEY_ED25519 0u
/** medshim_schedule_keygen(): an SM2 key pair (signatures with SM3 and
 *  the default distinguishing ID, GB/T 35276). */
#define MEDSHIM_SCHEDULE_KEY_SM2 1u

/**
 * Verify a base64 signature over data with a PEM public key (Ed25519 or
 * SM2: the key says which; an EC key on another curve is MEDSHIM_EKEY).
 * @return MEDSHIM_OK, MEDSHIM_ESIGNATURE (does not verify), MEDSHIM_EKEY.
 */
MEDSHIM_API int medshim_schedule_verify(const char *data, size_t len,
                                        const char *signature_b64,
                                        const char *public_key_pem);

#ifdef __cplusplus
}
#endif
#endif /* MEDSHIM_SCHEDULE_H */
