/**
 * @file report.h
 * @brief The journal's report: counts and amounts by visit day, service
 *        and state, refunds due, and totals by visit month and by
 *        settlement month (what `medshim report` prints).
 *
 * Thread safety: a report may be read from several threads at once and
 * freed by one; the journal handle is used as medshim_journal_foreach()
 * uses it.
 *
 * Money in fen. Days and months are China Standard Time (+08:00). A
 * report holds no personal data.
 *
 * Also the manual-reimbursement export (`medshim export --manual`): the
 * claims the patients take to the agency, with the materials to bring,
 * passed one at a time to a callback, personal fields masked unless asked.
 */
#ifndef MEDSHIM_REPORT_H
#define MEDSHIM_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "medshim/claim.h"
#include "medshim/errors.h"
#include "medshim/export.h"
#include "medshim/journal.h"
#include "medshim/text.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque report. */
typedef struct medshim_report medshim_report;

/**
 * A row's state of its own: pending or retry_wait claims held behind the
 * same patient's earlier claim that is in doubt or waiting (replay handles
 * a patient's claims in journal order and stops at such a claim), apart
 * from the pending ones that only wait for their window.
 */
#define MEDSHIM_REPORT_BLOCKED 100

/** "blocked" for MEDSHIM_REPORT_BLOCKED, else medshim_state_name(). */
MEDSHIM_API const char *medshim_report_state_name(int state);

/** One row: the claims of a visit day, service, state and deadline. */
typedef struct medshim_report_row {
  unsigned int version;     /**< MEDSHIM_REPORT_ROW_VERSION */
  char day[11];             /**< the visit's day, "2022-02-11" (+08:00) */
  medshim_service service;  /**< the visit's service */
  int state;                /**< a ::medshim_claim_state or MEDSHIM_REPORT_BLOCKED */
  int64_t until;            /**< the claims' deadline (exclusive instant: an
                                 assigned window's, else the journaled one);
                                 0: none */
  size_t count;             /**< claims in the row */
  int64_t total_fen;        /**< their total, fen */
  int64_t self_paid_fen;    /**< what the patients paid, fen */
  int64_t refund_fen;       /**< of the settled claims among them */
} medshim_report_row;

/** Version of ::medshim_report_row. */
#define MEDSHIM_REPORT_ROW_VERSION 1

/**
 * Totals of a month: by visit (every claim) or by the platform's
 * settlement time (settled claims: reconciliation 3201/3202 and clearing
 * 3203 count a replay in the month it was settled, not the visit's).
 */
typedef struct medshim_report_month {
  unsigned int version;     /**< MEDSHIM_REPORT_MONTH_VERSION */
  char month[8];            /**< "2022-03"; "unknown": settled without setl_time */
  size_t count;             /**< claims in the month */
  size_t settled;           /**< of which settled */
  int64_t total_fen;        /**< their total, fen */
  int64_t self_paid_fen;    /**< what the patients paid at the till, fen */
  int64_t settled_total_fen; /**< the platform's total of the settled ones
                                  (by settlement month only) */
  int64_t fund_paid_fen;    /**< paid by the funds (by settlement month only) */
  int64_t acct_paid_fen;    /**< paid from personal accounts (by settlement
                                 month only) */
  int64_t patient_paid_fen; /**< the patients' share (by settlement month only) */
  int64_t refund_fen;       /**< of the settled claims */
} medshim_report_month;

/** Version of ::medshim_report_month. */
#define MEDSHIM_REPORT_MONTH_VERSION 1

/** The whole journal's totals. */
typedef struct medshim_report_totals {
  unsigned int version;     /**< MEDSHIM_REPORT_TOTALS_VERSION */
  size_t claims;            /**< claims in the journal */
  int64_t refunds_due_fen;  /**< sum of the positive refunds of settled claims */
  size_t refunds_due_count; /**< settled claims with a refund due */
  size_t negative_refunds;  /**< settled claims where the patient owes more
                                 than was paid: a person must see to them */
} medshim_report_totals;

/** Version of ::medshim_report_totals. */
#define MEDSHIM_REPORT_TOTALS_VERSION 1

/**
 * Read every claim of @p journal and compute the report.
 * @param[out] out free with medshim_report_free(); NULL on failure
 * @return MEDSHIM_OK; MEDSHIM_EINVAL; MEDSHIM_ENOMEM; the errors of
 *         medshim_journal_foreach() (medshim_journal_errmsg() has the detail).
 */
MEDSHIM_API int medshim_report_run(medshim_report **out,
                                   medshim_journal *journal);

/** Free a report (NULL is fine). */
MEDSHIM_API void medshim_report_free(medshim_report *report);

/** Set out->version first. @return MEDSHIM_OK or MEDSHIM_EINVAL. */
MEDSHIM_API int medshim_report_totals_get(medshim_report_totals *out,
                                          const medshim_report *report);

/** Number of rows, sorted by day, service, state, deadline. 0 for NULL. */
MEDSHIM_API size_t medshim_report_row_count(const medshim_report *report);

/** Row @p i; set out->version first. @return MEDSHIM_OK, MEDSHIM_EINVAL,
 *  MEDSHIM_ERANGE. */
MEDSHIM_API int medshim_report_row_get(medshim_report_row *out,
                                       const medshim_report *report, size_t i);

/** Months by the visit's time (every claim). */
#define MEDSHIM_REPORT_BY_VISIT 0
/** Months by the platform's settlement time (settled claims). */
#define MEDSHIM_REPORT_BY_SETTLEMENT 1

/** Number of months of @p by, in ascending order ("unknown" last). */
MEDSHIM_API size_t medshim_report_month_count(const medshim_report *report,
                                              int by);

/** Month @p i of @p by; set out->version first. @return MEDSHIM_OK,
 *  MEDSHIM_EINVAL, MEDSHIM_ERANGE. */
MEDSHIM_API int medshim_report_month_get(medshim_report_month *out,
                                         const medshim_report *report, int by,
                                         size_t i);


/** medshim_manual_options::flags: names and ID numbers as they are (the
 *  agency's copy); without it they are masked as medshim_mask_name() and
 *  medshim_mask_id() do. */
#define MEDSHIM_MANUAL_REVEAL 0x1u

/** Options of medshim_manual_export(). */
typedef struct medshim_manual_options {
  unsigned int version;   /**< MEDSHIM_MANUAL_OPTIONS_VERSION */
  unsigned int flags;     /**< MEDSHIM_MANUAL_REVEAL */
  medshim_lang lang;      /**< language of the materials */
} medshim_manual_options;

/** Version of ::medshim_manual_options. */
#define MEDSHIM_MANUAL_OPTIONS_VERSION 1
/** Initialiser for ::medshim_manual_options (masked, English). */
#define MEDSHIM_MANUAL_OPTIONS_INIT {MEDSHIM_MANUAL_OPTIONS_VERSION, 0u, MEDSHIM_LANG_EN}

/** @return MEDSHIM_OK or MEDSHIM_EINVAL. */
MEDSHIM_API int medshim_manual_options_init(medshim_manual_options *opts,
                                            unsigned int version);

/**
 * One claim for manual reimbursement (state manual: route agency; or
 * expired: its window closed). Every pointer is valid only during the
 * callback; patient_name and patient_id_no are PERSONAL (masked unless
 * MEDSHIM_MANUAL_REVEAL), "" when the claim has none.
 */
typedef struct medshim_manual_row {
  unsigned int version;                /**< MEDSHIM_MANUAL_ROW_VERSION */
  const medshim_claim *claim;          /**< the claim */
  const medshim_claim_status *status;  /**< its status (manual or expired) */
  const char *patient_name;            /**< PERSONAL: masked unless revealed */
  const char *patient_id_no;           /**< PERSONAL: masked unless revealed */
  const char *materials;               /**< what the agency asks for; "" if none */
  int64_t until;                       /**< the agency's deadline (exclusive
                                            instant); 0: none */
} medshim_manual_row;

/** Version of ::medshim_manual_row. */
#define MEDSHIM_MANUAL_ROW_VERSION 1

/** Called once per claim for manual reimbursement, in journal order.
 *  @return 0 to go on, non-zero to stop (MEDSHIM_EUSER). */
typedef int (*medshim_manual_fn)(const medshim_manual_row *row, void *payload);

/**
 * Pass every claim for manual reimbursement to @p fn. The masked texts are
 * wiped after each call.
 * @param[in] opts NULL: defaults (masked, English)
 * @return MEDSHIM_OK; MEDSHIM_EUSER (the callback stopped); MEDSHIM_EINVAL;
 *         MEDSHIM_ENOMEM; the errors of medshim_journal_foreach().
 */
MEDSHIM_API int medshim_manual_export(medshim_journal *journal,
                                      const medshim_manual_options *opts,
                                      medshim_manual_fn fn, void *payload);

#ifdef __cplusplus
}
#endif
#endif /* MEDSHIM_REPORT_H */
