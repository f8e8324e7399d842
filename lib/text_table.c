/* Every text the library shows people, in English and Chinese (UTF-8), in
 * one table so a translator reads them together. The wording follows the
 * notices: the insurance share is refunded after re-settlement at the same
 * hospital (费用补录和结算) or reimbursed by hand at the agency (零星报销),
 * and the patient keeps the invoice, the fee list and the receipt. */
#include <stddef.h>

#include "text_internal.h"

#define LANGS 2
#define REASONS 12 /* MEDSHIM_REASON_LIST's values 0..11 */

typedef struct headline {
  const char *cashier[LANGS];
  const char *receipt[LANGS];
} headline;

#define STOP_EN "Real-time settlement is stopped for the medical-insurance " \
                "system cutover."
#define STOP_ZH "医保系统切换，实时结算暂停。"
#define PAID_EN "Medical-insurance settlement was stopped for the system " \
                "cutover: you paid the full amount yourself."
#define PAID_ZH "因医保系统切换，实时结算暂停，本次费用由您全额垫付。"
#define DOWN_EN "The medical-insurance platform could not settle this " \
                "visit: you paid the full amount yourself."
#define DOWN_ZH "因医保平台暂时无法结算，本次费用由您全额垫付。"

static const headline headlines[REASONS] = {
    [MEDSHIM_REASON_NO_WINDOW] =
        {{"Settle online as usual.", "按医保正常联网结算。"},
         {"Settled with medical insurance as usual.",
          "本次就诊已按医保正常结算。"}},
    [MEDSHIM_REASON_INPATIENT_ADVICE] =
        {{"Settle online as usual. A medical-insurance system cutover is "
          "coming.",
          "按医保正常联网结算。医保系统即将切换。"},
         {"Settled with medical insurance as usual. The medical-insurance "
          "system will be switched soon.",
          "本次就诊已按医保正常结算。医保系统即将切换。"}},
    [MEDSHIM_REASON_PLANNED_STOP] =
        {{STOP_EN " Collect the full amount and defer the claim.",
          STOP_ZH "请全额收费，并将本次费用登记为待补结算。"},
         {PAID_EN, PAID_ZH}},
    [MEDSHIM_REASON_AGENCY_ROUTE] =
        {{STOP_EN " Collect the full amount and defer the claim: the patient "
                  "claims the insurance share at the agency.",
          STOP_ZH "请全额收费，并将本次费用登记为待补结算，由患者到医保经办机构报销。"},
         {PAID_EN, PAID_ZH}},
    [MEDSHIM_REASON_NO_RESETTLEMENT] =
        {{STOP_EN " Collect the full amount.", STOP_ZH "请全额收费。"},
         {PAID_EN, PAID_ZH}},
    [MEDSHIM_REASON_DEGRADED] =
        {{"Settlement is resuming gradually after the medical-insurance "
          "system cutover. Settle online; if the platform fails or times "
          "out, collect the full amount and defer the claim.",
          "医保系统切换后结算逐步恢复。请先联网结算；如平台失败或超时，请全额收费"
          "并登记为待补结算。"},
         {"Medical-insurance settlement is resuming gradually after the "
          "system cutover. If it failed for this visit and you paid the full "
          "amount:",
          "医保系统切换后结算逐步恢复。如本次未能医保结算、由您全额垫付："}},
    [MEDSHIM_REASON_BREAKER_OPEN] =
        {{"Online settlement keeps failing for this region. Collect the full "
          "amount and defer the claim.",
          "该地区医保联网结算连续失败。请全额收费，并将本次费用登记为待补结算。"},
         {DOWN_EN, DOWN_ZH}},
    [MEDSHIM_REASON_PROBE] =
        {{"Online settlement failed for this region recently. Try one online "
          "settlement as a probe and report its outcome; if it fails, collect "
          "the full amount and defer the claim.",
          "该地区医保联网结算近期失败。请尝试联网结算一次并上报结果；如失败，请全额"
          "收费并登记为待补结算。"},
         {"The medical-insurance platform was unstable. If settlement failed "
          "for this visit and you paid the full amount:",
          "医保平台暂不稳定。如本次未能医保结算、由您全额垫付："}},
    [MEDSHIM_REASON_PROBE_PENDING] =
        {{"Another visit is testing whether the platform is back. Collect the "
          "full amount and defer the claim.",
          "其他就诊正在测试医保平台是否恢复。请全额收费，并将本次费用登记为待补结算。"},
         {DOWN_EN, DOWN_ZH}},
    [MEDSHIM_REASON_SERVICE_SUSPENDED] =
        {{"This service is suspended for the medical-insurance system cutover.",
          "医保系统切换期间，该业务暂停办理。"},
         {"This service is suspended for the medical-insurance system cutover.",
          "医保系统切换期间，该业务暂停办理。"}},
    [MEDSHIM_REASON_INVALID_INPUT] =
        {{"The visit could not be checked against the cutover schedules "
          "(its service or region was refused). Collect the full amount and "
          "defer the claim; IT assigns its re-settlement window.",
          "无法按医保切换安排判断本次就诊（险种或地区代码有误）。请全额收费，并将本次"
          "费用登记为待补结算，由信息科确定补结算时间。"},
         {"Medical-insurance settlement was not possible for this visit: you "
          "paid the full amount yourself. The hospital will tell you when the "
          "insurance share is re-settled.",
          "本次就诊暂未能医保结算，费用由您全额垫付。医保应支付部分的补结算时间由本院另行通知。"}},
};

static const char *const routes[TEXT_ROUTES][LANGS] = {
    [TEXT_ROUTE_HOSPITAL_WINDOW] =
        {"The insurance share is refunded after re-settlement at this "
         "hospital, from {from} until {until}.",
         "医保应支付部分在本院重新结算后退还：办理时间自{from}起，至{until}止。"},
    [TEXT_ROUTE_HOSPITAL_FROM] =
        {"The insurance share is refunded after re-settlement at this "
         "hospital, from {from}; no deadline has been announced.",
         "医保应支付部分自{from}起在本院重新结算后退还；截止日期另行通知。"},
    [TEXT_ROUTE_HOSPITAL_UNPLANNED] =
        {"The insurance share is refunded after re-settlement at this "
         "hospital as soon as the platform answers again.",
         "医保平台恢复后，本院重新结算并退还医保应支付部分。"},
    [TEXT_ROUTE_HOSPITAL_IF_FAILED] =
        {"the visit is re-settled at this hospital once the platform answers, "
         "and the insurance share refunded.",
         "平台恢复后在本院重新结算，退还医保应支付部分。"},
    [TEXT_ROUTE_AGENCY_WINDOW] =
        {"The insurance share is claimed by manual reimbursement at the "
         "medical-insurance agency, from {from} until {until}.",
         "医保应支付部分到医保经办机构申请零星（手工）报销：办理时间自{from}起，"
         "至{until}止。"},
    [TEXT_ROUTE_AGENCY_FROM] =
        {"The insurance share is claimed by manual reimbursement at the "
         "medical-insurance agency, from {from}; no deadline has been "
         "announced.",
         "医保应支付部分自{from}起到医保经办机构申请零星（手工）报销；截止日期另行"
         "通知。"},
    [TEXT_ROUTE_NONE] =
        {"The notice promises no re-settlement of this visit: the amount paid "
         "is final.",
         "按通知，本次费用不再补结算，个人支付即为最终金额。"},
};

static const char *const pieces[TEXT_PIECES][LANGS] = {
    [TEXT_KEEP_CASHIER] = {"Tell the patient to keep and bring: ",
                           "请提醒患者保管并携带："},
    [TEXT_KEEP_RECEIPT] = {"Keep and bring: ", "请保管并携带："},
    [TEXT_KEEP_PROOF] = {"Keep as proof of payment: ", "请保管好付费凭证："},
    [TEXT_END] = {".", "。"},
    [TEXT_SETTLE_BEFORE] =
        {"Before the stop, settle by {day}: in-patients who can leave are "
         "discharge-settled in the old system.",
         "切换前结算截止：{day}；可出院的住院患者请在此前办理出院结算。"},
    [TEXT_ADMIT_SELF_PAY] =
        {"Patients admitted now who will stay past the stop may be admitted "
         "as self-pay until {day}, and are converted to insured admission "
         "after go-live.",
         "预计跨越停机期的新入院患者可按自费入院，截至{day}；系统上线后转为医保住院。"},
    [TEXT_RESUMES] = {"It is expected to resume from {from}.",
                      "预计自{from}起恢复办理。"},
    [TEXT_SERVICE_RESUMING] =
        {"This service is resuming gradually after the medical-insurance "
         "system cutover and may not be available yet.",
         "医保系统切换后，该业务逐步恢复办理，暂时可能无法办理。"},
    [TEXT_SEPARATOR] = {" ", ""},
    [TEXT_LAST_DAY] = {"{day} (last day)", "{day}（含当日）"},
    [TEXT_BEFORE_TIME] = {"{day} before {time}", "{day} {time}前"},
};

/* What the notices ask for: Hangzhou 2022 for the hospital (invoice incl.
 * e-invoice, card or e-voucher or ID, bank card) and for the agency
 * (invoices, fee list, discharge summary, card, bank card). */
static const char *const materials[4][LANGS] = {
    /* hospital */
    {"invoice (incl. e-invoice); fee list; the receipt; insurance card, "
     "e-voucher or ID card; bank card",
     "发票（含电子发票）；费用清单；收据；社保卡、医保电子凭证或身份证；银行卡"},
    /* agency, out-patient and pharmacy */
    {"invoices (incl. e-invoices); fee list; the receipt; insurance card, "
     "e-voucher or ID card; bank card",
     "发票（含电子发票）；费用清单；收据；社保卡、医保电子凭证或身份证；银行卡"},
    /* agency, in-patient */
    {"invoices; fee list; discharge summary; the receipt; insurance card; "
     "bank card",
     "发票；费用清单；出院小结；收据；社保卡；银行卡"},
    /* nothing re-settled: proof of payment only */
    {"invoice; fee list", "发票；费用清单"},
};

static int lang_ok(medshim_lang lang) {
  return lang == MEDSHIM_LANG_EN || lang == MEDSHIM_LANG_ZH;
}

const char *medshim__text_headline(medshim_reason_code code,
                                   medshim_text_kind kind, medshim_lang lang) {
  if ((int)code < 0 || (int)code >= REASONS || !lang_ok(lang))
    return NULL;
  if (kind == MEDSHIM_TEXT_CASHIER)
    return headlines[code].cashier[lang];
  if (kind == MEDSHIM_TEXT_RECEIPT)
    return headlines[code].receipt[lang];
  return NULL;
}

const char *medshim__text_route(text_route route, medshim_lang lang) {
  if ((int)route < 0 || route >= TEXT_ROUTES || !lang_ok(lang))
    return NULL;
  return routes[route][lang];
}

const char *medshim__text_piece(text_piece piece, medshim_lang lang) {
  if ((int)piece < 0 || piece >= TEXT_PIECES || !lang_ok(lang))
    return NULL;
  return pieces[piece][lang];
}

const char *medshim__text_materials(int agency, int inpatient, int none,
                                    medshim_lang lang) {
  if (!lang_ok(lang))
    return NULL;
  if (none)
    return materials[3][lang];
  if (!agency)
    return materials[0][lang];
  return materials[inpatient ? 2 : 1][lang];
}
