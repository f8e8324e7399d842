/* Texts for people: for every reason code, the Chinese (and English)
 * cashier and receipt texts name the right route, the right first day and
 * the right last day, and the materials to keep. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medshim/medshim.h"
#include "timeutil_internal.h"
#include "testutil.h"

static int64_t T(const char *s) {
  int64_t t;
  ck_assert_msg(medshim__time_parse(&t, s, strlen(s)) == 0, "bad time %s", s);
  return t;
}

static medshim_schedule_set *set;

static void setup(void) {
  static const char *files[] = {"wuhan-2021", "hangzhou-2022", "ningxia-2021",
                                "beijing-2022", "shanxi-2021"};
  medshim_schedule_options o = MEDSHIM_SCHEDULE_OPTIONS_INIT;
  medshim_error err;
  o.breaker_threshold = 2;
  o.breaker_open_seconds = 60;
  ck_assert_int_eq(medshim_schedule_set_new(&set, &o, &err), MEDSHIM_OK);
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    char p[4096];
    snprintf(p, sizeof p, "%s/examples/schedules/%s.json",
             getenv("MEDSHIM_SOURCE_DIR"), files[i]);
    ck_assert_int_eq(medshim_schedule_set_load_file(set, p, &err), MEDSHIM_OK);
  }
}

static void teardown(void) { medshim_schedule_set_free(set); }

static medshim_decision decide(int service, const char *ins, const char *trt,
                               const char *at, medshim_reason_code want) {
  medshim_decision d = MEDSHIM_DECISION_INIT;
  ck_assert_int_eq(medshim_schedule_decide(&d, set, service, ins, trt, T(at)),
                   MEDSHIM_OK);
  ck_assert_msg(d.code == want, "%s at %s: code %s, want %s", ins, at,
                medshim_reason_name((int)d.code), medshim_reason_name((int)want));
  return d;
}

static char *text(const medshim_decision *d, int service,
                  medshim_text_kind kind, medshim_lang lang) {
  char *t = NULL;
  ck_assert_int_eq(medshim_decision_text(&t, d, service, kind, lang), MEDSHIM_OK);
  ck_assert_ptr_nonnull(t);
  return t;
}

/* Every needle in the text, none of the absent ones. */
#define HAS(t, s) ck_assert_msg(strstr((t), (s)) != NULL, "'%s' not in: %s", (s), (t))
#define HASNT(t, s) ck_assert_msg(strstr((t), (s)) == NULL, "'%s' in: %s", (s), (t))

START_TEST(test_text_planned_stop_hospital) {
  medshim_decision d = decide(MEDSHIM_SERVICE_OUTPATIENT, "330102", "330106",
                              "2022-02-11T09:30", MEDSHIM_REASON_PLANNED_STOP);
  char *c = text(&d, MEDSHIM_SERVICE_OUTPATIENT, MEDSHIM_TEXT_CASHIER, MEDSHIM_LANG_ZH);
  char *r = text(&d, MEDSHIM_SERVICE_OUTPATIENT, MEDSHIM_TEXT_RECEIPT, MEDSHIM_LANG_ZH);
  char *e = text(&d, MEDSHIM_SERVICE_OUTPATIENT, MEDSHIM_TEXT_RECEIPT, MEDSHIM_LANG_EN);
  HAS(c, "全额收费");
  HAS(c, "待补结算");
  /* the route, the first day and the last day of the notice (until
   * 2023-01-01 exclusive) */
  for (int i = 0; i < 2; i++) {
    const char *t = i ? r : c;
    HAS(t, "本院重新结算");
    HAS(t, "自2022-03-15起");
    HAS(t, "至2022-12-31（含当日）止");
    HASNT(t, "2023-01-01");
    HASNT(t, "经办机构");
    HAS(t, "发票（含电子发票）");
    HAS(t, "费用清单");
    HAS(t, "收据；");
  }
  HAS(r, "全额垫付");
  HAS(e, "re-settlement at this hospital, from 2022-03-15 until 2022-12-31 (last day)");
  HAS(e, "fee list");
  medshim_free(c);
  medshim_free(r);
  medshim_free(e);
  c = text(&d, MEDSHIM_SERVICE_OUTPATIENT, MEDSHIM_TEXT_CASHIER, MEDSHIM_LANG_EN);
  HAS(c, "Collect the full amount");
  medshim_free(c);
}
END_TEST

START_TEST(test_text_agency_route) {
  medshim_decision d = decide(MEDSHIM_SERVICE_INPATIENT, "330102", NULL,
                              "2022-02-12T10:00", MEDSHIM_REASON_AGENCY_ROUTE);
  char *c = text(&d, MEDSHIM_SERVICE_INPATIENT, MEDSHIM_TEXT_CASHIER, MEDSHIM_LANG_ZH);
  char *r = text(&d, MEDSHIM_SERVICE_INPATIENT, MEDSHIM_TEXT_RECEIPT, MEDSHIM_LANG_ZH);
  for (int i = 0; i < 2; i++) {
    const char *t = i ? r : c;
    HAS(t, "医保经办机构");
    HAS(t, "零星（手工）报销");
    HAS(t, "自2022-03-15起");
    HAS(t, "至2023-12-31（含当日）止");
    HAS(t, "出院小结");
    HASNT(t, "本院重新结算");
  }
  /* admitting as self-pay is told the desk, not printed for the patient */
  HAS(c, "自费入院，截至2022-02-14（含当日）");
  HASNT(r, "自费入院");
  medshim_free(c);
  medshim_free(r);
}
END_TEST

START_TEST(test_text_no_resettlement_and_open_ended) {
  /* Wuhan: out-patients paid in cash for good */
  medshim_decision d = decide(MEDSHIM_SERVICE_OUTPATIENT, "420102", NULL,
                              "2021-12-25T10:00", MEDSHIM_REASON_NO_RESETTLEMENT);
  char *c = text(&d, MEDSHIM_SERVICE_OUTPATIENT, MEDSHIM_TEXT_CASHIER, MEDSHIM_LANG_ZH);
  char *r = text(&d, MEDSHIM_SERVICE_OUTPATIENT, MEDSHIM_TEXT_RECEIPT, MEDSHIM_LANG_ZH);
  HAS(c, "不再补结算");
  HAS(r, "不再补结算");
  HASNT(c, "本院重新结算");
  HASNT(c, "经办机构");
  HAS(r, "请保管好付费凭证：发票；费用清单。");
  HASNT(r, "携带");
  HASNT(r, "收据"); /* nothing to bring anywhere */
  medshim_free(c);
  medshim_free(r);
  /* Wuhan: in-patients re-entered at the same hospital from go-live, no
   * deadline given; the start is not at midnight */
  d = decide(MEDSHIM_SERVICE_INPATIENT, "420102", NULL, "2021-12-25T10:00",
             MEDSHIM_REASON_PLANNED_STOP);
  r = text(&d, MEDSHIM_SERVICE_INPATIENT, MEDSHIM_TEXT_RECEIPT, MEDSHIM_LANG_ZH);
  HAS(r, "自2021-12-31 23:00起在本院重新结算");
  HAS(r, "截止日期另行通知");
  medshim_free(r);
  r = text(&d, MEDSHIM_SERVICE_INPATIENT, MEDSHIM_TEXT_RECEIPT, MEDSHIM_LANG_EN);
  HAS(r, "from 2021-12-31 23:00; no deadline has been announced");
  medshim_free(r);
}
END_TEST

START_TEST(test_text_degraded_and_breaker) {
  medshim_decision d = decide(MEDSHIM_SERVICE_PHARMACY, "330185", NULL,
                              "2022-02-16T10:00", MEDSHIM_REASON_DEGRADED);
  int64_t t0 = T("2023-03-01T09:00");
  char *c = text(&d, MEDSHIM_SERVICE_PHARMACY, MEDSHIM_TEXT_CASHIER, MEDSHIM_LANG_ZH);
  char *r = text(&d, MEDSHIM_SERVICE_PHARMACY, MEDSHIM_TEXT_RECEIPT, MEDSHIM_LANG_ZH);
  HAS(c, "请先联网结算");
  HAS(r, "如本次未能医保结算");
  HAS(r, "本院重新结算");
  HAS(r, "费用清单");
  medshim_free(c);
  medshim_free(r);
  medshim_schedule_report_outcome(set, "330106", 0, t0);
  medshim_schedule_report_outcome(set, "330106", 0, t0 + 1);
  d = decide(MEDSHIM_SERVICE_OUTPATIENT, "330102", "330106",
             "2023-03-01T09:00:02", MEDSHIM_REASON_BREAKER_OPEN);
  c = text(&d, MEDSHIM_SERVICE_OUTPATIENT, MEDSHIM_TEXT_CASHIER, MEDSHIM_LANG_ZH);
  r = text(&d, MEDSHIM_SERVICE_OUTPATIENT, MEDSHIM_TEXT_RECEIPT, MEDSHIM_LANG_ZH);
  HAS(c, "连续失败");
  HAS(c, "全额收费");
  HAS(r, "医保平台恢复后，本院重新结算");
  HAS(r, "收据；");
  HASNT(r, "含当日"); /* no deadline: none is made up */
  medshim_free(c);
  medshim_free(r);
  d = decide(MEDSHIM_SERVICE_OUTPATIENT, "330102", "330106",
             "2023-03-01T09:01:01", MEDSHIM_REASON_PROBE);
  c = text(&d, MEDSHIM_SERVICE_OUTPATIENT, MEDSHIM_TEXT_CASHIER, MEDSHIM_LANG_ZH);
  HAS(c, "尝试联网结算一次");
  HAS(c, "上报结果");
  medshim_free(c);
  d = decide(MEDSHIM_SERVICE_OUTPATIENT, "330102", "330106",
             "2023-03-01T09:01:02", MEDSHIM_REASON_PROBE_PENDING);
  c = text(&d, MEDSHIM_SERVICE_OUTPATIENT, MEDSHIM_TEXT_CASHIER, MEDSHIM_LANG_ZH);
  r = text(&d, MEDSHIM_SERVICE_OUTPATIENT, MEDSHIM_TEXT_RECEIPT, MEDSHIM_LANG_ZH);
  HAS(c, "正在测试医保平台是否恢复");
  HAS(r, "医保平台恢复后，本院重新结算");
  medshim_free(c);
  medshim_free(r);
}
END_TEST

START_TEST(test_text_advice_online_and_suspended) {
  /* Hangzhou: settle in-patients before 2022-02-10 00:00, the last day is
   * the 9th */
  medshim_decision d = decide(MEDSHIM_SERVICE_INPATIENT, "330102", NULL,
                              "2022-02-07T10:00", MEDSHIM_REASON_INPATIENT_ADVICE);
  char *c = text(&d, MEDSHIM_SERVICE_INPATIENT, MEDSHIM_TEXT_CASHIER, MEDSHIM_LANG_ZH);
  char *r = text(&d, MEDSHIM_SERVICE_INPATIENT, MEDSHIM_TEXT_RECEIPT, MEDSHIM_LANG_ZH);
  HAS(c, "正常联网结算");
  HAS(c, "切换前结算截止：2022-02-09（含当日）");
  HAS(r, "切换前结算截止：2022-02-09（含当日）");
  HASNT(c, "全额");
  medshim_free(c);
  medshim_free(r);
  /* Wuhan: a deadline inside a day, 2021-12-22 17:00 */
  d = decide(MEDSHIM_SERVICE_INPATIENT, "420102", NULL, "2021-12-20T10:00",
             MEDSHIM_REASON_INPATIENT_ADVICE);
  c = text(&d, MEDSHIM_SERVICE_INPATIENT, MEDSHIM_TEXT_CASHIER, MEDSHIM_LANG_ZH);
  HAS(c, "切换前结算截止：2021-12-22 17:00前");
  medshim_free(c);
  c = text(&d, MEDSHIM_SERVICE_INPATIENT, MEDSHIM_TEXT_CASHIER, MEDSHIM_LANG_EN);
  HAS(c, "settle by 2021-12-22 before 17:00");
  medshim_free(c);
  d = decide(MEDSHIM_SERVICE_OUTPATIENT, "330102", NULL, "2022-03-01T10:00",
             MEDSHIM_REASON_NO_WINDOW);
  c = text(&d, MEDSHIM_SERVICE_OUTPATIENT, MEDSHIM_TEXT_CASHIER, MEDSHIM_LANG_ZH);
  ck_assert_str_eq(c, "按医保正常联网结算。");
  medshim_free(c);
  /* Wuhan: enrollment suspended; resumes (degraded) at 2021-12-31 23:00 */
  d = decide(MEDSHIM_SCHED_ENROLLMENT, "420102", NULL, "2021-12-20T10:00",
             MEDSHIM_REASON_SERVICE_SUSPENDED);
  c = text(&d, MEDSHIM_SCHED_ENROLLMENT, MEDSHIM_TEXT_CASHIER, MEDSHIM_LANG_ZH);
  HAS(c, "暂停办理");
  HAS(c, "预计自2021-12-31 23:00起恢复办理");
  medshim_free(c);
  /* ... then resumes gradually: no money to give back for enrollment */
  d = decide(MEDSHIM_SCHED_ENROLLMENT, "420102", NULL, "2022-01-02T10:00",
             MEDSHIM_REASON_DEGRADED);
  c = text(&d, MEDSHIM_SCHED_ENROLLMENT, MEDSHIM_TEXT_RECEIPT, MEDSHIM_LANG_ZH);
  HAS(c, "该业务逐步恢复办理");
  HASNT(c, "重新结算");
  HASNT(c, "：");
  HASNT(c, "携带");
  medshim_free(c);
}
END_TEST

START_TEST(test_text_bad_input_and_materials) {
  medshim_decision d = decide(MEDSHIM_SERVICE_OUTPATIENT, "330102", NULL,
                              "2022-02-11T09:30", MEDSHIM_REASON_PLANNED_STOP);
  char *t = (char *)"untouched";
  medshim_lang lang;
  ck_assert_int_eq(medshim_decision_text(NULL, &d, 1, MEDSHIM_TEXT_CASHIER,
                                         MEDSHIM_LANG_ZH), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_decision_text(&t, NULL, 1, MEDSHIM_TEXT_CASHIER,
                                         MEDSHIM_LANG_ZH), MEDSHIM_EINVAL);
  ck_assert_ptr_null(t);
  ck_assert_int_eq(medshim_decision_text(&t, &d, 99, MEDSHIM_TEXT_CASHIER,
                                         MEDSHIM_LANG_ZH), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_decision_text(&t, &d, 1, (medshim_text_kind)9,
                                         MEDSHIM_LANG_ZH), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_decision_text(&t, &d, 1, MEDSHIM_TEXT_CASHIER,
                                         (medshim_lang)7), MEDSHIM_EINVAL);
  /* a version 1 decision has no code to build a text from */
  d.version = 1;
  ck_assert_int_eq(medshim_decision_text(&t, &d, 1, MEDSHIM_TEXT_CASHIER,
                                         MEDSHIM_LANG_ZH), MEDSHIM_EINVAL);
  d.version = MEDSHIM_DECISION_VERSION;
  d.code = (medshim_reason_code)77;
  ck_assert_int_eq(medshim_decision_text(&t, &d, 1, MEDSHIM_TEXT_CASHIER,
                                         MEDSHIM_LANG_ZH), MEDSHIM_EINVAL);
  d.code = MEDSHIM_REASON_NONE;
  ck_assert_int_eq(medshim_decision_text(&t, &d, 1, MEDSHIM_TEXT_CASHIER,
                                         MEDSHIM_LANG_ZH), MEDSHIM_EINVAL);
  ck_assert_ptr_null(t);
  /* languages */
  ck_assert_int_eq(medshim_lang_parse(&lang, "zh"), MEDSHIM_OK);
  ck_assert_int_eq(lang, MEDSHIM_LANG_ZH);
  ck_assert_int_eq(medshim_lang_parse(&lang, "en"), MEDSHIM_OK);
  ck_assert_int_eq(lang, MEDSHIM_LANG_EN);
  ck_assert_int_eq(medshim_lang_parse(&lang, "fr"), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_lang_parse(NULL, "zh"), MEDSHIM_EINVAL);
  ck_assert_str_eq(medshim_lang_name(MEDSHIM_LANG_ZH), "zh");
  ck_assert_ptr_null(medshim_lang_name(2));
  /* materials */
  ck_assert_ptr_nonnull(strstr(medshim_materials_text(MEDSHIM_SERVICE_INPATIENT,
                                                      MEDSHIM_ROUTE_AGENCY,
                                                      MEDSHIM_LANG_ZH),
                               "出院小结"));
  ck_assert_ptr_null(strstr(medshim_materials_text(MEDSHIM_SERVICE_OUTPATIENT,
                                                   MEDSHIM_ROUTE_AGENCY,
                                                   MEDSHIM_LANG_ZH),
                            "出院小结"));
  ck_assert_ptr_nonnull(strstr(medshim_materials_text(MEDSHIM_SERVICE_PHARMACY,
                                                      MEDSHIM_ROUTE_HOSPITAL,
                                                      MEDSHIM_LANG_EN),
                               "e-invoice"));
  ck_assert_ptr_null(medshim_materials_text(0, MEDSHIM_ROUTE_AGENCY, MEDSHIM_LANG_ZH));
  ck_assert_ptr_null(medshim_materials_text(1, (medshim_route)5, MEDSHIM_LANG_ZH));
  ck_assert_ptr_null(medshim_materials_text(1, MEDSHIM_ROUTE_AGENCY, (medshim_lang)3));
}
END_TEST

int main(void) {
  Suite *s = suite_create("text");
  TCase *tc = tcase_create("text");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_text_planned_stop_hospital);
  tcase_add_test(tc, test_text_agency_route);
  tcase_add_test(tc, test_text_no_resettlement_and_open_ended);
  tcase_add_test(tc, test_text_degraded_and_breaker);
  tcase_add_test(tc, test_text_advice_online_and_suspended);
  tcase_add_test(tc, test_text_bad_input_and_materials);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
