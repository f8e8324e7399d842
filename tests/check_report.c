/* The report API (what `medshim report` prints): rows by day, service and
 * state with "blocked", refunds due and negative refunds, months by visit
 * and by settlement. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "timeutil_internal.h"

static char *dir, *jdir, *key;
static medshim_journal *j;
static int64_t march5;

static void status(const char *visit_id, medshim_claim_state state,
                   int64_t refund_fen, int64_t setl_time) {
  medshim_claim_status st;
  ck_assert_int_eq(medshim_claim_status_init(&st, MEDSHIM_CLAIM_STATUS_VERSION),
                   MEDSHIM_OK);
  st.state = state;
  st.changed_at = march5;
  if (state == MEDSHIM_STATE_SETTLED) {
    snprintf(st.settlement_id, sizeof st.settlement_id, "S-%s", visit_id);
    st.setl_time = setl_time;
    st.total_fen = 12000;
    st.fund_paid_fen = 8000;
    st.patient_paid_fen = 4000;
    st.refund_fen = refund_fen;
  }
  ck_assert_int_eq(medshim_journal_set_status(j, visit_id, &st), MEDSHIM_OK);
}

/* V1 settled in March (refund due), V2 in doubt, V3 pending behind it
 * (the same patient: blocked), V4 settled without setl_time and with a
 * negative refund. Every visit is in February 2022. */
static void setup(void) {
  medshim_journal_options o;
  ck_assert_int_eq(medshim__time_parse(&march5, "2022-03-05 10:00:00", 19), 0);
  dir = tu_tempdir();
  jdir = tu_path(dir, "j");
  key = tu_path(dir, "k");
  tu_write_key(key, 3);
  o = tu_opts(key, MEDSHIM_JOURNAL_CREATE);
  ck_assert_int_eq(medshim_journal_open(&j, jdir, &o, NULL), MEDSHIM_OK);
  for (int i = 1; i <= 4; i++) {
    medshim_claim *c = tu_claim("V", i);
    ck_assert_int_eq(medshim_journal_defer(j, c, NULL), MEDSHIM_OK);
    medshim_claim_free(c);
  }
  ck_assert_int_eq(medshim_journal_close(j), MEDSHIM_OK);
  o = tu_opts(key, MEDSHIM_JOURNAL_REPLAY);
  ck_assert_int_eq(medshim_journal_open(&j, jdir, &o, NULL), MEDSHIM_OK);
  status("V1", MEDSHIM_STATE_SETTLED, 8000, march5);
  status("V2", MEDSHIM_STATE_IN_DOUBT, 0, 0);
  status("V4", MEDSHIM_STATE_SETTLED, -13, 0);
  ck_assert_int_eq(medshim_journal_close(j), MEDSHIM_OK);
  o = tu_opts(key, MEDSHIM_JOURNAL_READONLY);
  ck_assert_int_eq(medshim_journal_open(&j, jdir, &o, NULL), MEDSHIM_OK);
}

static void teardown(void) {
  medshim_journal_close(j);
  tu_rmtree(dir);
  free(dir);
  free(jdir);
  free(key);
}

START_TEST(test_report_totals_rows_months) {
  medshim_report *r = NULL;
  medshim_report_totals t;
  medshim_report_row row;
  medshim_report_month m;
  size_t blocked = 0, claims = 0;
  ck_assert_int_eq(medshim_report_run(&r, j), MEDSHIM_OK);
  t.version = MEDSHIM_REPORT_TOTALS_VERSION;
  ck_assert_int_eq(medshim_report_totals_get(&t, r), MEDSHIM_OK);
  ck_assert_uint_eq(t.claims, 4);
  ck_assert_int_eq(t.refunds_due_fen, 8000);
  ck_assert_uint_eq(t.refunds_due_count, 1);
  ck_assert_uint_eq(t.negative_refunds, 1);
  ck_assert_uint_gt(medshim_report_row_count(r), 0);
  for (size_t i = 0; i < medshim_report_row_count(r); i++) {
    row.version = MEDSHIM_REPORT_ROW_VERSION;
    ck_assert_int_eq(medshim_report_row_get(&row, r, i), MEDSHIM_OK);
    ck_assert_str_eq(row.day, "2022-02-10");
    claims += row.count;
    if (row.state == MEDSHIM_REPORT_BLOCKED) {
      blocked += row.count;
      ck_assert_str_eq(medshim_report_state_name(row.state), "blocked");
    }
  }
  ck_assert_uint_eq(claims, 4);
  ck_assert_uint_eq(blocked, 1); /* V3 behind V2 */
  row.version = MEDSHIM_REPORT_ROW_VERSION;
  ck_assert_int_eq(medshim_report_row_get(&row, r, 99), MEDSHIM_ERANGE);
  /* by visit: February holds all four */
  ck_assert_uint_eq(medshim_report_month_count(r, MEDSHIM_REPORT_BY_VISIT), 1);
  m.version = MEDSHIM_REPORT_MONTH_VERSION;
  ck_assert_int_eq(medshim_report_month_get(&m, r, MEDSHIM_REPORT_BY_VISIT, 0),
                   MEDSHIM_OK);
  ck_assert_str_eq(m.month, "2022-02");
  ck_assert_uint_eq(m.count, 4);
  ck_assert_uint_eq(m.settled, 2);
  /* by settlement: March, then the one without setl_time */
  ck_assert_uint_eq(medshim_report_month_count(r, MEDSHIM_REPORT_BY_SETTLEMENT), 2);
  ck_assert_int_eq(medshim_report_month_get(&m, r, MEDSHIM_REPORT_BY_SETTLEMENT, 0),
                   MEDSHIM_OK);
  ck_assert_str_eq(m.month, "2022-03");
  ck_assert_int_eq(m.fund_paid_fen, 8000);
  ck_assert_int_eq(m.refund_fen, 8000);
  ck_assert_int_eq(medshim_report_month_get(&m, r, MEDSHIM_REPORT_BY_SETTLEMENT, 1),
                   MEDSHIM_OK);
  ck_assert_str_eq(m.month, "unknown");
  ck_assert_int_eq(m.refund_fen, -13);
  m.version = 0;
  ck_assert_int_eq(medshim_report_month_get(&m, r, MEDSHIM_REPORT_BY_VISIT, 0),
                   MEDSHIM_EINVAL);
  medshim_report_free(r);
}
END_TEST

START_TEST(test_report_arguments) {
  medshim_report *r = (medshim_report *)&r;
  medshim_report_totals t;
  ck_assert_int_eq(medshim_report_run(NULL, j), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_report_run(&r, NULL), MEDSHIM_EINVAL);
  ck_assert_ptr_null(r);
  t.version = MEDSHIM_REPORT_TOTALS_VERSION;
  ck_assert_int_eq(medshim_report_totals_get(&t, NULL), MEDSHIM_EINVAL);
  ck_assert_uint_eq(medshim_report_row_count(NULL), 0);
  ck_assert_uint_eq(medshim_report_month_count(NULL, 0), 0);
  ck_assert_str_eq(medshim_report_state_name(MEDSHIM_STATE_SETTLED), "settled");
  medshim_report_free(NULL);
}
END_TEST

typedef struct seen {
  int n;
  char name[64], id_no[64], materials[512], visit_id[16];
  int64_t until;
} seen;

static int see(const medshim_manual_row *row, void *payload) {
  seen *x = payload;
  x->n++;
  snprintf(x->name, sizeof x->name, "%s", row->patient_name);
  snprintf(x->id_no, sizeof x->id_no, "%s", row->patient_id_no);
  snprintf(x->materials, sizeof x->materials, "%s", row->materials);
  snprintf(x->visit_id, sizeof x->visit_id, "%s",
           medshim_claim_visit_id(row->claim));
  x->until = row->until;
  return 0;
}

static int stop(const medshim_manual_row *row, void *payload) {
  (void)row;
  (void)payload;
  return 1;
}

/* V3 expired: the one claim of the export, masked unless revealed. */
START_TEST(test_manual_export) {
  medshim_manual_options o = MEDSHIM_MANUAL_OPTIONS_INIT;
  medshim_journal_options jo = tu_opts(key, MEDSHIM_JOURNAL_REPLAY);
  medshim_journal *w;
  seen x;
  char want[64];
  memset(&x, 0, sizeof x);
  ck_assert_int_eq(medshim_manual_export(j, NULL, see, &x), MEDSHIM_OK);
  ck_assert_int_eq(x.n, 0); /* nothing expired or manual yet */
  medshim_journal_close(j);
  ck_assert_int_eq(medshim_journal_open(&w, jdir, &jo, NULL), MEDSHIM_OK);
  ck_assert_int_eq(medshim_replay_expire(w, "V3", march5), MEDSHIM_OK);
  ck_assert_int_eq(medshim_journal_close(w), MEDSHIM_OK);
  jo = tu_opts(key, MEDSHIM_JOURNAL_READONLY);
  ck_assert_int_eq(medshim_journal_open(&j, jdir, &jo, NULL), MEDSHIM_OK);
  ck_assert_int_eq(medshim_manual_export(j, NULL, see, &x), MEDSHIM_OK);
  ck_assert_int_eq(x.n, 1);
  ck_assert_str_eq(x.visit_id, "V3");
  ck_assert_int_eq(medshim_mask_name(want, sizeof want, "张三丰"), MEDSHIM_OK);
  ck_assert_str_eq(x.name, want);
  ck_assert_int_eq(medshim_mask_id(want, sizeof want, "110101199003077777"),
                   MEDSHIM_OK);
  ck_assert_str_eq(x.id_no, want);
  ck_assert_str_ne(x.materials, "");
  o.flags = MEDSHIM_MANUAL_REVEAL;
  o.lang = MEDSHIM_LANG_ZH;
  ck_assert_int_eq(medshim_manual_export(j, &o, see, &x), MEDSHIM_OK);
  ck_assert_str_eq(x.name, "张三丰");
  ck_assert_str_eq(x.id_no, "110101199003077777");
  ck_assert_ptr_nonnull(strstr(x.materials, "发票"));
  ck_assert_int_eq(medshim_manual_export(j, &o, stop, &x), MEDSHIM_EUSER);
  ck_assert_int_eq(medshim_manual_export(j, &o, NULL, &x), MEDSHIM_EINVAL);
  o.version = 0;
  ck_assert_int_eq(medshim_manual_export(j, &o, see, &x), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_manual_options_init(&o, MEDSHIM_MANUAL_OPTIONS_VERSION),
                   MEDSHIM_OK);
}
END_TEST

int main(void) {
  Suite *s = suite_create("report");
  TCase *tc = tcase_create("report");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_report_totals_rows_months);
  tcase_add_test(tc, test_report_arguments);
  tcase_add_test(tc, test_manual_export);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
