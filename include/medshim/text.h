/**
 * @file text.h
 * @brief Texts for people: the cashier screen and the patient's receipt,
 *        in Chinese and English, built from a decision's reason code.
 *
 * Thread safety: every function here may be called from any thread at
 * once; they read only their arguments and static tables.
 *
 * Texts are UTF-8. Deadlines are shown as the last day, inclusive, in
 * China Standard Time (medshim_format_last_day()), the start of a window
 * as its first day (medshim_format_day()). Texts never contain personal
 * data: they are built from the decision alone.
 */
#ifndef MEDSHIM_TEXT_H
#define MEDSHIM_TEXT_H

#include "medshim/errors.h"
#include "medshim/export.h"
#include "medshim/schedule.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Languages of the texts. */
typedef enum medshim_lang {
  MEDSHIM_LANG_EN = 0, /**< English */
  MEDSHIM_LANG_ZH = 1  /**< Simplified Chinese */
} medshim_lang;

/** "en", "zh"; NULL for a value that is not a language. */
MEDSHIM_API const char *medshim_lang_name(int lang);
/** Parse "en" or "zh". @return MEDSHIM_OK or MEDSHIM_EINVAL. */
MEDSHIM_API int medshim_lang_parse(medshim_lang *out, const char *name);

/** Who reads the text. */
typedef enum medshim_text_kind {
  MEDSHIM_TEXT_CASHIER = 1, /**< what the cashier does now */
  MEDSHIM_TEXT_RECEIPT = 2  /**< printed for the patient: what to keep, where
                                 and from when the money comes back */
} medshim_text_kind;

/**
 * The text for a decision: what to do (cashier) or what happens next
 * (receipt), where and from when the refund or the reimbursement comes,
 * its deadline as a day, the materials to keep and bring, and the
 * in-patient advice of the decision.
 * @param[out] out NUL-terminated UTF-8, caller frees with medshim_free();
 *        NULL on failure
 * @param[in] decision a decision of version 2 or later (it has `code`)
 * @param[in] service the ::medshim_service or ::medshim_sched_service the
 *        decision was made for (the materials depend on it)
 * @return MEDSHIM_OK; MEDSHIM_EINVAL (NULL, a version 1 decision, an
 *         unknown code, kind, language or service); MEDSHIM_ENOMEM.
 */
MEDSHIM_API int medshim_decision_text(char **out,
                                      const medshim_decision *decision,
                                      int service, medshim_text_kind kind,
                                      medshim_lang lang);

/**
 * What the patient keeps and brings to get the insurance share back:
 * "invoice (incl. e-invoice), fee list, receipt; ..." for the hospital,
 * the invoices, fee list (and discharge summary for in-patients), card and
 * bank card for the agency. The export CSV's materials column.
 * @param[in] service a ::medshim_service
 * @param[in] route where the claim is re-settled
 * @return static UTF-8 text; NULL for an unknown service, route or language.
 */
MEDSHIM_API const char *medshim_materials_text(int service, medshim_route route,
                                               medshim_lang lang);

#ifdef __cplusplus
}
#endif
#endif /* MEDSHIM_TEXT_H */
