/**
 * @file claim.h
 * @brief A self-paid visit waiting for re-settlement (a "claim").
 *
 * Thread safety: a ::medshim_claim is immutable once created; any number of
 * threads may read the same claim. Creating and freeing are not synchronised
 * with readers: free a claim only when no thread uses it.
 *
 * A claim holds the typed fields below plus the HIS's own JSON `detail`
 * (fee items, diagnosis, ...), kept byte-exact. JSON lines are the
 * interchange format; see docs/claim-format.md.
 *
 * Personal fields (patient name, id_no, psn_no) are masked in every rendering
 * unless the caller asks for MEDSHIM_CLAIM_JSON_REVEAL, and never appear in
 * error texts.
 */
#ifndef MEDSHIM_CLAIM_H
#define MEDSHIM_CLAIM_H

#include <stddef.h>
#include <stdint.h>

#include "medshim/errors.h"
#include "medshim/export.h"
#include "medshim/memory.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Settlement services (the services a cutover can stop at a hospital). */
typedef enum medshim_service {
  MEDSHIM_SERVICE_NONE = 0,
  MEDSHIM_SERVICE_OUTPATIENT = 1,
  MEDSHIM_SERVICE_CHRONIC_OUTPATIENT = 2,
  MEDSHIM_SERVICE_INPATIENT = 3,
  MEDSHIM_SERVICE_PHARMACY = 4,
  MEDSHIM_SERVICE_WORK_INJURY = 5,
  MEDSHIM_SERVICE_MATERNITY = 6
} medshim_service;

/** Number of ::medshim_service values including NONE. */
#define MEDSHIM_SERVICE_COUNT 7

/**
 * Name of a service as used in JSON ("outpatient", "chronic_outpatient",
 * "inpatient", "pharmacy", "work_injury", "maternity").
 * @return static text; NULL for an unknown value or NONE.
 */
MEDSHIM_API const char *medshim_service_name(medshim_service service);

/**
 * Parse a service name.
 * @param[out] out the service; NONE on failure
 * @param[in] name NUL-terminated name
 * @return MEDSHIM_OK or MEDSHIM_EINVAL for an unknown name.
 */
MEDSHIM_API int medshim_service_parse(medshim_service *out, const char *name);

/** Maximum length of visit_id. */
#define MEDSHIM_VISIT_ID_MAX 64
/** Maximum size of the detail JSON, in bytes. */
#define MEDSHIM_DETAIL_MAX (1024 * 1024)

/** Opaque, immutable claim. */
typedef struct medshim_claim medshim_claim;

/**
 * Fields to build a claim from C. Strings are NUL-terminated UTF-8 and are
 * copied; NULL means absent. Money is integer fen; times are Unix seconds.
 */
typedef struct medshim_claim_fields {
  unsigned int version;       /**< MEDSHIM_CLAIM_FIELDS_VERSION */
  const char *visit_id;       /**< required, 1..64 printable ASCII, idempotency key */
  medshim_service service;    /**< required */
  const char *insured_admdvs; /**< required, 6 digits (参保地) */
  const char *treated_admdvs; /**< required, 6 digits (就医地) */
  int64_t visit_time;         /**< required, Unix seconds (UTC instant) */
  int64_t total_fen;          /**< required, >= 0 */
  int64_t self_paid_fen;      /**< required, 0 <= self_paid <= total */
  const char *invoice_no;     /**< optional, up to 64 printable chars */
  const char *patient_name;   /**< personal; optional, up to 128 bytes */
  const char *patient_id_no;  /**< personal; optional, up to 64 bytes */
  const char *patient_psn_no; /**< personal; optional, up to 64 bytes */
  const char *patient_cert_type; /**< optional, e.g. "01","02","03" */
  const char *detail;         /**< optional JSON text, kept byte-exact, <= 1 MiB */
  size_t detail_len;          /**< bytes of detail (0 with detail != NULL: strlen) */
} medshim_claim_fields;

/** Version of ::medshim_claim_fields this header describes (its `version` field). */
#define MEDSHIM_CLAIM_FIELDS_VERSION 1
/** Initialiser of a ::medshim_claim_fields: this header's version, every other field its default. */
#define MEDSHIM_CLAIM_FIELDS_INIT {MEDSHIM_CLAIM_FIELDS_VERSION, NULL, MEDSHIM_SERVICE_NONE, NULL, NULL, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0}

/**
 * Initialise a fields struct to its defaults.
 * @return MEDSHIM_OK, or MEDSHIM_EINVAL for NULL or an unknown version.
 */
MEDSHIM_API int medshim_claim_fields_init(medshim_claim_fields *fields,
                                          unsigned int version);

/**
 * Validate fields and build a claim.
 * @param[out] out the new claim, owned by the caller (medshim_claim_free());
 *             NULL on failure
 * @param[in] fields the fields
 * @param[out] err optional; on failure names the field and the reason
 * @return MEDSHIM_OK, MEDSHIM_EINVAL (a field is invalid), MEDSHIM_ENOMEM.
 */
MEDSHIM_API int medshim_claim_create(medshim_claim **out,
                                     const medshim_claim_fields *fields,
                                     medshim_error *err);

/**
 * Parse one claim from a JSON object (one line of `medshim defer` input):
 * {"visit_id":…, "service":…, "insured_admdvs":…, "treated_admdvs":…,
 *  "visit_time":"2022-02-11T09:30:00+08:00", "total_fen":…,
 *  "self_paid_fen":…, "invoice_no":…, "patient":{"name":…, "id_no":…,
 *  "psn_no":…, "cert_type":…}, "detail":{…}}
 * `detail` is kept byte-exact as it appears in the input.
 * @param[out] out the new claim (caller frees) or NULL on failure
 * @param[in] json the text, need not be NUL-terminated
 * @param[in] len its length in bytes
 * @param[out] err optional; on failure names the field ("patient.id_no",
 *             "total_fen", or "" for syntax) and the reason
 * @return MEDSHIM_OK, MEDSHIM_EPARSE (not JSON / not an object),
 *         MEDSHIM_EINVAL (a field missing or invalid), MEDSHIM_ENOMEM.
 */
MEDSHIM_API int medshim_claim_parse_json(medshim_claim **out, const char *json,
                                         size_t len, medshim_error *err);

/** Render personal fields in clear text (default: masked). */
#define MEDSHIM_CLAIM_JSON_REVEAL 0x1u

/**
 * Render a claim as one line of compact JSON (no trailing newline), in the
 * shape medshim_claim_parse_json() reads. Personal fields are masked unless
 * MEDSHIM_CLAIM_JSON_REVEAL is given.
 * @param[out] out NUL-terminated text, caller frees with medshim_free()
 * @return MEDSHIM_OK, MEDSHIM_EINVAL, MEDSHIM_ENOMEM.
 */
MEDSHIM_API int medshim_claim_to_json(char **out, const medshim_claim *claim,
                                      unsigned int flags);

/** Free a claim; NULL is a no-op. */
MEDSHIM_API void medshim_claim_free(medshim_claim *claim);

/** @name Accessors. Returned strings live as long as the claim; absent
 * optional strings are returned as NULL. */
/**@{*/
MEDSHIM_API const char *medshim_claim_visit_id(const medshim_claim *claim);
MEDSHIM_API medshim_service medshim_claim_service(const medshim_claim *claim);
MEDSHIM_API const char *medshim_claim_insured_admdvs(const medshim_claim *claim);
MEDSHIM_API const char *medshim_claim_treated_admdvs(const medshim_claim *claim);
MEDSHIM_API int64_t medshim_claim_visit_time(const medshim_claim *claim);
MEDSHIM_API int64_t medshim_claim_total_fen(const medshim_claim *claim);
MEDSHIM_API int64_t medshim_claim_self_paid_fen(const medshim_claim *claim);
MEDSHIM_API const char *medshim_claim_invoice_no(const medshim_claim *claim);
MEDSHIM_API const char *medshim_claim_patient_name(const medshim_claim *claim);
MEDSHIM_API const char *medshim_claim_patient_id_no(const medshim_claim *claim);
MEDSHIM_API const char *medshim_claim_patient_psn_no(const medshim_claim *claim);
MEDSHIM_API const char *medshim_claim_patient_cert_type(const medshim_claim *claim);
/** Detail JSON bytes (not NUL-terminated when len is used); NULL if absent. */
MEDSHIM_API const char *medshim_claim_detail(const medshim_claim *claim,
                                             size_t *len);
/**@}*/

/** @name Where a claim is to be re-settled (the values of medshim_route). */
/**@{*/
#define MEDSHIM_CLAIM_ROUTE_NONE 0     /**< no re-settlement rule applies */
#define MEDSHIM_CLAIM_ROUTE_HOSPITAL 1 /**< replayed through the platform by the HIS */
#define MEDSHIM_CLAIM_ROUTE_AGENCY 2   /**< manual reimbursement at the agency */
/**@}*/

/** Longest schedule id kept with a claim's window. */
#define MEDSHIM_SCHEDULE_ID_MAX 64

/**
 * The re-settlement window the cashier was told at defer: journaled with
 * the claim, and what replay uses (an amended notice changes it only
 * through medshim_replay_assign_windows()).
 */
typedef struct medshim_claim_window {
  unsigned int version;  /**< MEDSHIM_CLAIM_WINDOW_VERSION */
  int route;             /**< MEDSHIM_CLAIM_ROUTE_* (medshim_route) */
  int64_t from;          /**< Unix seconds */
  int64_t until;         /**< exclusive deadline; 0: open-ended */
  char schedule_id[MEDSHIM_SCHEDULE_ID_MAX + 1]; /**< the notice that decided */
  uint32_t schedule_version; /**< its version */
} medshim_claim_window;

/** Version of ::medshim_claim_window this header describes (its `version` field). */
#define MEDSHIM_CLAIM_WINDOW_VERSION 1

/**
 * Attach the window the cashier was told (before medshim_journal_defer()).
 * @return MEDSHIM_OK; MEDSHIM_EINVAL (bad route, until <= from, overlong or
 *         non-printable schedule id, unknown version).
 */
MEDSHIM_API int medshim_claim_set_window(medshim_claim *claim,
                                         const medshim_claim_window *window);

/**
 * The window journaled with the claim.
 * @return MEDSHIM_OK; MEDSHIM_ENOTFOUND when the claim was deferred without
 *         one (an unplanned outage); MEDSHIM_EINVAL.
 */
MEDSHIM_API int medshim_claim_window_get(medshim_claim_window *out,
                                         const medshim_claim *claim);

#ifdef __cplusplus
}
#endif
#endif /* MEDSHIM_CLAIM_H */
