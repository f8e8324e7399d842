/* Reconciliation against the platform's 3202 detail: matched, platform
 * only, journal only, different amounts, duplicates, a Chinese layout
 * through the column map, BOM and GBK, months by clearing and by visit,
 * strict CSV and yuan errors with line and column and never a personal
 * value; and `medshim reconcile`'s exit statuses. */
#include <check.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "testutil.h"
#include "timeutil_internal.h"

#define PSN "33000012345678"  /* tu_claim()'s psn_no */
#define NAME "张三丰"          /* tu_claim()'s patient */
#define ID_NO "110101199003077777"

static char *dir, *jdir, *key;
static medshim_journal *j;
static int64_t march5; /* 2022-03-05 10:00 +08:00 */

/* The journal's side: V1..V4 settled as S1..S4 (visits in February 2022,
 * settled in March), V5 pending. */
static int64_t total(int i) { return 12000 + (int64_t)i * 13; }
static int64_t fund(int i) { (void)i; return 8000; }
static int64_t acct(int i) { (void)i; return 1000; }
static int64_t cash(int i) { return total(i) - 9000; }

static void setup(void) {
  medshim_journal_options o;
  ck_assert_int_eq(medshim__time_parse(&march5, "2022-03-05 10:00:00", 19), 0);
  dir = tu_tempdir();
  jdir = tu_path(dir, "j");
  key = tu_path(dir, "k");
  tu_write_key(key, 7);
  o = tu_opts(key, MEDSHIM_JOURNAL_CREATE);
  ck_assert_int_eq(medshim_journal_open(&j, jdir, &o, NULL), MEDSHIM_OK);
  for (int i = 1; i <= 5; i++) {
    medshim_claim *c = tu_claim("V", i);
    ck_assert_int_eq(medshim_journal_defer(j, c, NULL), MEDSHIM_OK);
    medshim_claim_free(c);
  }
  ck_assert_int_eq(medshim_journal_close(j), MEDSHIM_OK);
  o = tu_opts(key, MEDSHIM_JOURNAL_REPLAY);
  ck_assert_int_eq(medshim_journal_open(&j, jdir, &o, NULL), MEDSHIM_OK);
  for (int i = 1; i <= 4; i++) {
    medshim_claim_status st;
    char id[8];
    ck_assert_int_eq(medshim_claim_status_init(&st, MEDSHIM_CLAIM_STATUS_VERSION),
                     MEDSHIM_OK);
    st.state = MEDSHIM_STATE_SETTLED;
    st.changed_at = march5;
    snprintf(st.settlement_id, sizeof st.settlement_id, "S%d", i);
    snprintf(st.mdtrt_id, sizeof st.mdtrt_id, "M%d", i);
    st.setl_time = march5 + i;
    st.total_fen = total(i);
    st.fund_paid_fen = fund(i);
    st.acct_paid_fen = acct(i);
    st.patient_paid_fen = cash(i);
    st.refund_fen = total(i) - cash(i);
    snprintf(id, sizeof id, "V%d", i);
    ck_assert_int_eq(medshim_journal_set_status(j, id, &st), MEDSHIM_OK);
  }
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

#define HEADER                                                                 \
  "setl_id,mdtrt_id,psn_no,medfee_sumamt,fund_pay_sumamt,acct_pay,"           \
  "psn_cash_pay,setl_time\n"

/* The platform's row for claim i, exactly as the journal has it, with the
 * fund share changed by fund_delta fen. */
static void row(char *buf, size_t size, int i, const char *setl_id,
                int64_t fund_delta) {
  char t[24], f[24], a[24], c[24];
  ck_assert_int_eq(medshim_fen_to_yuan(t, sizeof t, total(i)), MEDSHIM_OK);
  ck_assert_int_eq(medshim_fen_to_yuan(f, sizeof f, fund(i) + fund_delta),
                   MEDSHIM_OK);
  ck_assert_int_eq(medshim_fen_to_yuan(a, sizeof a, acct(i)), MEDSHIM_OK);
  ck_assert_int_eq(medshim_fen_to_yuan(c, sizeof c, cash(i)), MEDSHIM_OK);
  snprintf(buf + strlen(buf), size - strlen(buf),
           "%s,M%d," PSN ",%s,%s,%s,%s,2022-03-05 10:00:0%d\n", setl_id, i, t,
           f, a, c, i);
}

/* The four settled claims as the platform has them. */
static char *platform_all(void) {
  char *b = calloc(1, 4096);
  strcpy(b, HEADER);
  for (int i = 1; i <= 4; i++) {
    char id[8];
    snprintf(id, sizeof id, "S%d", i);
    row(b, 4096, i, id, 0);
  }
  return b;
}

static medshim_reconcile *run(const char *csv, const char *map, unsigned flags) {
  medshim_reconcile *r = NULL;
  medshim_reconcile_options o = MEDSHIM_RECONCILE_OPTIONS_INIT;
  medshim_error err;
  memset(&err, 0, sizeof err);
  o.column_map = map;
  o.flags = flags;
  ck_assert_msg(medshim_reconcile_buffer(&r, j, csv, strlen(csv), "p.csv", &o,
                                         &err) == MEDSHIM_OK,
                "%s: %s", err.where, err.text);
  ck_assert_ptr_nonnull(r);
  return r;
}

static medshim_reconcile_entry entry(const medshim_reconcile *r, size_t i) {
  medshim_reconcile_entry e;
  e.version = MEDSHIM_RECONCILE_ENTRY_VERSION;
  ck_assert_int_eq(medshim_reconcile_entry_get(&e, r, i), MEDSHIM_OK);
  return e;
}

/* The one entry with this setl_id and kind. */
static medshim_reconcile_entry find(const medshim_reconcile *r,
                                    const char *setl_id, int kind) {
  size_t n = medshim_reconcile_count(r), hits = 0;
  medshim_reconcile_entry found;
  memset(&found, 0, sizeof found);
  for (size_t i = 0; i < n; i++) {
    medshim_reconcile_entry e = entry(r, i);
    if (strcmp(e.setl_id, setl_id) == 0 && (int)e.kind == kind) {
      found = e;
      hits++;
    }
  }
  ck_assert_msg(hits == 1, "%s kind %d: %zu entries", setl_id, kind, hits);
  return found;
}

static void assert_all_matched(const medshim_reconcile *r) {
  ck_assert_uint_eq(medshim_reconcile_count(r), 4);
  ck_assert_uint_eq(medshim_reconcile_count_kind(r, MEDSHIM_RECONCILE_MATCHED), 4);
  ck_assert_uint_eq(medshim_reconcile_count_kind(r, 0), 0);
}

START_TEST(test_all_matched) {
  char *csv = platform_all();
  medshim_reconcile *r = run(csv, NULL, 0);
  medshim_reconcile_entry e;
  assert_all_matched(r);
  e = find(r, "S2", MEDSHIM_RECONCILE_MATCHED);
  ck_assert_str_eq(e.visit_id, "V2");
  ck_assert_str_eq(e.mdtrt_id, "M2");
  ck_assert_str_eq(e.psn_no, PSN);
  ck_assert_uint_eq(e.line, 3);
  ck_assert(e.in_journal && e.on_platform);
  ck_assert_int_eq(e.journal_fen[MEDSHIM_RECONCILE_MEDFEE], total(2));
  ck_assert_int_eq(e.platform_fen[MEDSHIM_RECONCILE_CASH], cash(2));
  ck_assert_int_eq(e.platform_setl_time, march5 + 2);
  ck_assert_uint_eq(e.differs, 0);
  medshim_reconcile_free(r);
  free(csv);
  medshim_reconcile_free(NULL);
  ck_assert_uint_eq(medshim_reconcile_count(NULL), 0);
}
END_TEST

START_TEST(test_platform_only_and_journal_only) {
  char *csv = calloc(1, 4096);
  medshim_reconcile *r;
  medshim_reconcile_entry e;
  strcpy(csv, HEADER);
  row(csv, 4096, 1, "S1", 0);
  row(csv, 4096, 3, "S3", 0);
  row(csv, 4096, 4, "S4", 0);
  row(csv, 4096, 5, "S9", 0); /* V5 is pending in the journal */
  r = run(csv, NULL, 0);
  ck_assert_uint_eq(medshim_reconcile_count(r), 5);
  ck_assert_uint_eq(medshim_reconcile_count_kind(r, 0), 2);
  e = find(r, "S9", MEDSHIM_RECONCILE_PLATFORM_ONLY);
  ck_assert_uint_eq(e.line, 5);
  ck_assert(!e.in_journal && e.on_platform);
  ck_assert_str_eq(e.visit_id, "");
  ck_assert_int_eq(e.platform_fen[MEDSHIM_RECONCILE_MEDFEE], total(5));
  e = find(r, "S2", MEDSHIM_RECONCILE_JOURNAL_ONLY);
  ck_assert_str_eq(e.visit_id, "V2");
  ck_assert_str_eq(e.mdtrt_id, "M2");
  ck_assert_str_eq(e.psn_no, "");
  ck_assert_uint_eq(e.line, 0);
  ck_assert(e.in_journal && !e.on_platform);
  ck_assert_int_eq(e.journal_fen[MEDSHIM_RECONCILE_FUND], fund(2));
  medshim_reconcile_free(r);
  free(csv);
}
END_TEST

START_TEST(test_different_amount) {
  char *csv = calloc(1, 4096);
  medshim_reconcile *r;
  medshim_reconcile_entry e;
  strcpy(csv, HEADER);
  row(csv, 4096, 1, "S1", 0);
  row(csv, 4096, 2, "S2", 0);
  row(csv, 4096, 3, "S3", -1); /* one fen less from the fund */
  row(csv, 4096, 4, "S4", 0);
  r = run(csv, NULL, 0);
  ck_assert_uint_eq(medshim_reconcile_count(r), 4);
  ck_assert_uint_eq(medshim_reconcile_count_kind(r, 0), 1);
  e = find(r, "S3", MEDSHIM_RECONCILE_DIFFERENT);
  ck_assert_uint_eq(e.differs, 1u << MEDSHIM_RECONCILE_FUND);
  ck_assert_int_eq(e.journal_fen[MEDSHIM_RECONCILE_FUND], 8000);
  ck_assert_int_eq(e.platform_fen[MEDSHIM_RECONCILE_FUND], 7999);
  ck_assert_str_eq(medshim_reconcile_amount_name(MEDSHIM_RECONCILE_FUND),
                   "fund_pay_sumamt");
  ck_assert_str_eq(medshim_reconcile_kind_name(e.kind), "different");
  medshim_reconcile_free(r);
  free(csv);
}
END_TEST

START_TEST(test_duplicate_setl_id) {
  char *csv = platform_all();
  medshim_reconcile *r;
  medshim_reconcile_entry e;
  row(csv, 4096, 1, "S1", 0); /* line 6: S1 again, same amounts */
  r = run(csv, NULL, 0);
  ck_assert_uint_eq(medshim_reconcile_count(r), 5);
  e = find(r, "S1", MEDSHIM_RECONCILE_MATCHED);
  ck_assert_uint_eq(e.line, 2);
  e = find(r, "S1", MEDSHIM_RECONCILE_DUPLICATE);
  ck_assert_uint_eq(e.line, 6);
  ck_assert_uint_eq(e.first_line, 2);
  ck_assert(!e.in_journal && e.on_platform);
  ck_assert_uint_eq(medshim_reconcile_count_kind(r, 0), 1);
  medshim_reconcile_free(r);
  free(csv);
}
END_TEST

START_TEST(test_months_clearing_and_visit) {
  char *csv = platform_all();
  medshim_reconcile *r;
  medshim_reconcile_month m;
  row(csv, 4096, 5, "S9", 0); /* platform only: no visit known */
  r = run(csv, NULL, 0);
  /* clearing: everything settled in March 2022 */
  ck_assert_uint_eq(medshim_reconcile_month_count(r, MEDSHIM_RECONCILE_BY_CLEARING), 1);
  m.version = MEDSHIM_RECONCILE_MONTH_VERSION;
  ck_assert_int_eq(medshim_reconcile_month_get(&m, r, MEDSHIM_RECONCILE_BY_CLEARING, 0),
                   MEDSHIM_OK);
  ck_assert_str_eq(m.month, "2022-03");
  ck_assert_uint_eq(m.count[0], 5);
  ck_assert_uint_eq(m.count[MEDSHIM_RECONCILE_MATCHED], 4);
  ck_assert_uint_eq(m.count[MEDSHIM_RECONCILE_PLATFORM_ONLY], 1);
  ck_assert_int_eq(m.journal_fen[MEDSHIM_RECONCILE_MEDFEE],
                   total(1) + total(2) + total(3) + total(4));
  ck_assert_int_eq(m.platform_fen[MEDSHIM_RECONCILE_MEDFEE],
                   total(1) + total(2) + total(3) + total(4) + total(5));
  /* visit: the claims were visits of February; the platform row unknown */
  ck_assert_uint_eq(medshim_reconcile_month_count(r, MEDSHIM_RECONCILE_BY_VISIT), 2);
  ck_assert_int_eq(medshim_reconcile_month_get(&m, r, MEDSHIM_RECONCILE_BY_VISIT, 0),
                   MEDSHIM_OK);
  ck_assert_str_eq(m.month, "2022-02");
  ck_assert_uint_eq(m.count[0], 4);
  ck_assert_int_eq(m.platform_fen[MEDSHIM_RECONCILE_FUND], 4 * 8000);
  ck_assert_int_eq(medshim_reconcile_month_get(&m, r, MEDSHIM_RECONCILE_BY_VISIT, 1),
                   MEDSHIM_OK);
  ck_assert_str_eq(m.month, "unknown");
  ck_assert_uint_eq(m.count[MEDSHIM_RECONCILE_PLATFORM_ONLY], 1);
  ck_assert_int_eq(medshim_reconcile_month_get(&m, r, MEDSHIM_RECONCILE_BY_VISIT, 2),
                   MEDSHIM_ERANGE);
  m.version = 99;
  ck_assert_int_eq(medshim_reconcile_month_get(&m, r, MEDSHIM_RECONCILE_BY_VISIT, 0),
                   MEDSHIM_EINVAL);
  medshim_reconcile_free(r);
  free(csv);
}
END_TEST

/* Chinese headers in another order, an extra column, quoted fields. */
#define ZH_HEADER                                                              \
  "序号,结算ID,人员编号,就诊ID,医疗费总额,基金支付总额,个人账户支出,"       \
  "个人现金支出,结算时间\n"
#define ZH_MAP                                                                 \
  "结算ID=setl_id,就诊ID=mdtrt_id,人员编号=psn_no,医疗费总额=medfee_sumamt," \
  "基金支付总额=fund_pay_sumamt,个人账户支出=acct_pay,"                       \
  "个人现金支出=psn_cash_pay,结算时间=setl_time"

static char *platform_zh(void) {
  char *b = calloc(1, 4096);
  strcpy(b, ZH_HEADER);
  for (int i = 1; i <= 4; i++) {
    char t[24], c[24];
    medshim_fen_to_yuan(t, sizeof t, total(i));
    medshim_fen_to_yuan(c, sizeof c, cash(i));
    snprintf(b + strlen(b), 4096 - strlen(b),
             "%d,\"S%d\"," PSN ",M%d,%s,80.00,10,%s,\"2022-03-05 10:00:0%d\"\r\n",
             i, i, i, t, c, i);
  }
  return b;
}

START_TEST(test_column_map_chinese_headers) {
  char *csv = platform_zh();
  medshim_reconcile *r = run(csv, ZH_MAP, 0), *r2 = NULL;
  medshim_reconcile_options o = MEDSHIM_RECONCILE_OPTIONS_INIT;
  medshim_error err;
  assert_all_matched(r);
  ck_assert_str_eq(find(r, "S4", MEDSHIM_RECONCILE_MATCHED).psn_no, PSN);
  medshim_reconcile_free(r);
  /* without the map the columns are not found, and said so */
  memset(&err, 0, sizeof err);
  ck_assert_int_eq(medshim_reconcile_buffer(&r2, j, csv, strlen(csv), "p.csv",
                                            NULL, &err), MEDSHIM_EPARSE);
  ck_assert_ptr_null(r2);
  ck_assert_msg(strstr(err.text, "line 1") && strstr(err.text, "'setl_id'"),
                "%s", err.text);
  /* a map naming a column of ours that does not exist */
  o.column_map = "结算ID=settlement";
  ck_assert_int_eq(medshim_reconcile_buffer(&r2, j, csv, strlen(csv), "p.csv",
                                            &o, &err), MEDSHIM_EINVAL);
  ck_assert_str_eq(err.where, "column_map");
  ck_assert_ptr_nonnull(strstr(err.text, "'settlement'"));
  o.column_map = "结算ID";
  ck_assert_int_eq(medshim_reconcile_buffer(&r2, j, csv, strlen(csv), "p.csv",
                                            &o, &err), MEDSHIM_EINVAL);
  o.column_map = "结算ID=setl_id,序号=setl_id";
  ck_assert_int_eq(medshim_reconcile_buffer(&r2, j, csv, strlen(csv), "p.csv",
                                            &o, &err), MEDSHIM_EINVAL);
  /* a mapped name that is not in the header is named */
  o.column_map = "结算号=setl_id";
  ck_assert_int_eq(medshim_reconcile_buffer(&r2, j, csv, strlen(csv), "p.csv",
                                            &o, &err), MEDSHIM_EPARSE);
  ck_assert_msg(strstr(err.text, "'结算号' (mapped to setl_id)") != NULL, "%s",
                err.text);
  free(csv);
}
END_TEST

START_TEST(test_bom_and_gbk) {
  char *csv = platform_all(), *bom = malloc(strlen(csv) + 4), *zh, *gbk, *in, *o;
  size_t left, room;
  iconv_t cd;
  medshim_reconcile *r;
  medshim_reconcile_options opts = MEDSHIM_RECONCILE_OPTIONS_INIT;
  medshim_error err;
  memcpy(bom, "\xef\xbb\xbf", 3);
  strcpy(bom + 3, csv);
  r = run(bom, NULL, 0);
  assert_all_matched(r);
  medshim_reconcile_free(r);
  /* the Chinese layout in GBK */
  zh = platform_zh();
  cd = iconv_open("GBK", "UTF-8");
  ck_assert(cd != (iconv_t)-1);
  left = strlen(zh);
  room = left * 2 + 1;
  gbk = calloc(1, room + 1);
  in = zh;
  o = gbk;
  ck_assert_uint_ne(iconv(cd, &in, &left, &o, &room), (size_t)-1);
  iconv_close(cd);
  r = run(gbk, ZH_MAP, MEDSHIM_RECONCILE_GBK);
  assert_all_matched(r);
  medshim_reconcile_free(r);
  /* GBK read as UTF-8: refused, with the line */
  memset(&err, 0, sizeof err);
  opts.column_map = ZH_MAP;
  ck_assert_int_eq(medshim_reconcile_buffer(&r, j, gbk, strlen(gbk), "p.csv",
                                            &opts, &err), MEDSHIM_EPARSE);
  ck_assert_msg(strstr(err.text, "line 1: not UTF-8") != NULL, "%s", err.text);
  /* a NUL byte in GBK: refused, not cut off there */
  {
    char nul[] = "setl_id\n\0S1\n";
    ck_assert_int_eq(medshim_reconcile_buffer(&r, j, nul, sizeof nul - 1, "p.csv",
                                              &opts, &err), MEDSHIM_EPARSE);
    opts.flags = MEDSHIM_RECONCILE_GBK;
    ck_assert_int_eq(medshim_reconcile_buffer(&r, j, nul, sizeof nul - 1, "p.csv",
                                              &opts, &err), MEDSHIM_EPARSE);
    ck_assert_msg(strstr(err.text, "line 2: a NUL byte") != NULL, "%s", err.text);
  }
  free(gbk);
  free(zh);
  free(bom);
  free(csv);
}
END_TEST

/* The error for csv, which must name file, line and column. */
static void bad(const char *csv, const char *want, const char *map) {
  medshim_reconcile *r = (medshim_reconcile *)&r;
  medshim_reconcile_options o = MEDSHIM_RECONCILE_OPTIONS_INIT;
  medshim_error err;
  memset(&err, 0, sizeof err);
  o.column_map = map;
  ck_assert_int_eq(medshim_reconcile_buffer(&r, j, csv, strlen(csv), "p.csv",
                                            &o, &err), MEDSHIM_EPARSE);
  ck_assert_ptr_null(r);
  ck_assert_str_eq(err.where, "p.csv");
  ck_assert_msg(strstr(err.text, want) != NULL, "want '%s' in '%s'", want,
                err.text);
  /* never a personal value */
  ck_assert_msg(strstr(err.text, PSN) == NULL && strstr(err.text, NAME) == NULL &&
                    strstr(err.text, ID_NO) == NULL && strstr(err.text, "330000") == NULL,
                "%s", err.text);
}

#define ROW1 "S1,M1," PSN ",120.13,80.00,10.00,30.13,2022-03-05 10:00:01\n"

START_TEST(test_yuan_errors_line_and_column) {
  bad(HEADER ROW1 "S2,M2," PSN ",120.265,80.00,10.00,30.26,2022-03-05\n",
      "line 3, column 4 (medfee_sumamt): not an amount in yuan", NULL);
  bad(HEADER ROW1 "S2,M2," PSN ",120.26,80,10.00,1e3,2022-03-05\n",
      "line 3, column 7 (psn_cash_pay)", NULL);
  bad(HEADER ROW1 "S2,M2," PSN ",120.26,,10.00,30.26,2022-03-05\n",
      "line 3, column 5 (fund_pay_sumamt): not an amount in yuan: empty", NULL);
  bad(HEADER "S2,M2," PSN ",120.26,80, 10.00,30.26,2022-03-05\n",
      "line 2, column 6 (acct_pay)", NULL);
  /* a personal value in an amount's column is not repeated */
  bad(HEADER "S2,M2," PSN "," NAME ",80,10.00," PSN ",2022-03-05\n",
      "line 2, column 4 (medfee_sumamt)", NULL);
  bad(HEADER "S2,M2," PSN ",1,1,1,1,03/05/2022\n",
      "line 2, column 8 (setl_time): not a time", NULL);
  bad(HEADER ",M2," PSN ",1,1,1,1,2022-03-05\n", "line 2, column 1 (setl_id): empty",
      NULL);
  /* the mapped layout's columns are named by their place and our name */
  bad(ZH_HEADER "1,S1," PSN ",M1,120.1.3,80.00,10,30.13,2022-03-05\n",
      "line 2, column 5 (medfee_sumamt)", ZH_MAP);
}
END_TEST

START_TEST(test_strict_csv) {
  medshim_reconcile *r;
  char *csv;
  bad(HEADER ROW1 "S2,M2,\"" PSN ",1,1,1,1,2022-03-05\n",
      "line 3, column 3: a quoted field is not closed", NULL);
  bad(HEADER ROW1 "S2,M2,\"" PSN "\"x,1,1,1,1,2022-03-05\n",
      "line 3, column 3: text after a closing quote", NULL);
  bad(HEADER ROW1 "S2,M2,33\"" PSN ",1,1,1,1,2022-03-05\n",
      "line 3, column 3: a quote inside a field", NULL);
  bad(HEADER ROW1 "S2,M2," PSN ",1,1,1,1\n", "line 3: 7 fields, the header has 8",
      NULL);
  bad(HEADER ROW1 "\n" ROW1, "line 3, column 1: an empty line", NULL);
  bad(HEADER "S1,M1,\r" PSN ",1,1,1,1,2022-03-05\n",
      "line 2, column 3: a carriage return without a line feed", NULL);
  bad("", "empty: no header row", NULL);
  bad("setl_id,setl_id,medfee_sumamt\n", "line 1: columns 1 and 2 are both 'setl_id'",
      NULL);
  /* a file without its header: the first row's values are not echoed */
  bad(ROW1, "line 1: the header has no column 'setl_id'", NULL);
  /* quoted commas, doubled quotes and line breaks: the next line is 4 */
  csv = calloc(1, 4096);
  strcpy(csv, "note," HEADER);
  {
    char *rows = platform_all();
    const char *p = rows + strlen(HEADER);
    for (int i = 1; i <= 4; i++) {
      const char *nl = strchr(p, '\n');
      strcat(csv, i == 1 ? "\"a,\"\"b\"\"\nc\"," : "x,");
      strncat(csv, p, (size_t)(nl - p) + 1);
      p = nl + 1;
    }
    free(rows);
  }
  r = run(csv, NULL, 0);
  assert_all_matched(r);
  ck_assert_uint_eq(find(r, "S2", MEDSHIM_RECONCILE_MATCHED).line, 4);
  medshim_reconcile_free(r);
  free(csv);
}
END_TEST

START_TEST(test_api_arguments) {
  medshim_reconcile *r = NULL;
  medshim_reconcile_options o;
  medshim_reconcile_entry e;
  medshim_error err;
  char *missing = tu_path(dir, "missing.csv");
  memset(&err, 0, sizeof err);
  ck_assert_int_eq(medshim_reconcile_options_init(&o, MEDSHIM_RECONCILE_OPTIONS_VERSION),
                   MEDSHIM_OK);
  ck_assert_int_eq(medshim_reconcile_options_init(&o, 99), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_reconcile_options_init(NULL, 1), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_reconcile_buffer(NULL, j, "", 0, NULL, NULL, &err),
                   MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_reconcile_buffer(&r, NULL, "", 0, NULL, NULL, &err),
                   MEDSHIM_EINVAL);
  o.version = 2;
  ck_assert_int_eq(medshim_reconcile_buffer(&r, j, "", 0, NULL, &o, &err),
                   MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_reconcile_file(&r, j, missing, NULL, &err), MEDSHIM_EIO);
  ck_assert_ptr_null(r);
  /* a header only: nothing on the platform, every settled claim journal only */
  r = run(HEADER, NULL, 0);
  ck_assert_uint_eq(medshim_reconcile_count(r), 4);
  ck_assert_uint_eq(medshim_reconcile_count_kind(r, MEDSHIM_RECONCILE_JOURNAL_ONLY), 4);
  e.version = MEDSHIM_RECONCILE_ENTRY_VERSION;
  ck_assert_int_eq(medshim_reconcile_entry_get(&e, r, 4), MEDSHIM_ERANGE);
  e.version = 0;
  ck_assert_int_eq(medshim_reconcile_entry_get(&e, r, 0), MEDSHIM_EINVAL);
  ck_assert_ptr_null(medshim_reconcile_kind_name((medshim_reconcile_kind)9));
  ck_assert_ptr_null(medshim_reconcile_amount_name(4));
  medshim_reconcile_free(r);
  free(missing);
}
END_TEST

/* ---- the CLI ---- */

static int sh(char **out, char **err, const char *fmt, ...) {
  char cmd[8192], line[4096];
  char *op = tu_path(dir, "out"), *ep = tu_path(dir, "err");
  size_t n;
  va_list ap;
  int status;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  snprintf(cmd, sizeof cmd, "cd '%s' && %s >'%s' 2>'%s'", dir, line, op, ep);
  status = system(cmd);
  *out = (char *)tu_read_file(op, &n);
  *out = realloc(*out, n + 1);
  (*out)[n] = '\0';
  *err = (char *)tu_read_file(ep, &n);
  *err = realloc(*err, n + 1);
  (*err)[n] = '\0';
  free(op);
  free(ep);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void write_text(const char *name, const char *text) {
  char *p = tu_path(dir, name);
  tu_write_file(p, (const unsigned char *)text, strlen(text));
  free(p);
}

#define CLI getenv("MEDSHIM_CLI")

START_TEST(test_cli_exit_statuses) {
  char *csv = platform_all(), *out, *err, masked[32];
  write_text("all.csv", csv);
  row(csv, 4096, 1, "S1", 0);
  write_text("dup.csv", csv);
  write_text("bad.csv", HEADER ROW1 "S2,M2," PSN ",1.234,1,1,1,2022-03-05\n");
  ck_assert_int_eq(medshim_mask_id(masked, sizeof masked, PSN), MEDSHIM_OK);

  /* 0: all matched; psn_no masked */
  ck_assert_int_eq(sh(&out, &err, "%s reconcile --journal j --key k --platform "
                      "all.csv", CLI), 0);
  ck_assert_msg(strstr(out, "\"matched\": 4") != NULL, "%s", out);
  ck_assert_ptr_nonnull(strstr(out, masked));
  ck_assert_ptr_null(strstr(out, PSN));
  ck_assert_msg(strstr(out, "\"month\": \"2022-03\"") != NULL, "%s", out);
  ck_assert_ptr_nonnull(strstr(out, "\"medfee_sumamt\": \"120.13\""));
  free(out);
  free(err);
  /* --reveal shows it */
  ck_assert_int_eq(sh(&out, &err, "%s reconcile --journal j --key k --platform "
                      "all.csv --reveal --format csv", CLI), 0);
  ck_assert_ptr_nonnull(strstr(out, PSN));
  ck_assert_msg(strncmp(out, "kind,setl_id,mdtrt_id,visit_id,psn_no,line,", 43) == 0,
                "%s", out);
  free(out);
  free(err);

  /* 1: differences (a duplicate); CSV with a BOM and Chinese columns */
  ck_assert_int_eq(sh(&out, &err, "%s reconcile --journal j --key k --platform "
                      "dup.csv --format csv --bom --lang zh", CLI), 1);
  ck_assert_int_eq(memcmp(out, "\xef\xbb\xbf核对结果,结算ID,", 3 + 22), 0);
  ck_assert_msg(strstr(out, "\nduplicate,\"S1\",") != NULL, "%s", out);
  ck_assert_ptr_null(strstr(out, PSN));
  free(out);
  free(err);

  /* 2: bad input, named with file, line and column, no value */
  ck_assert_int_eq(sh(&out, &err, "%s reconcile --journal j --key k --platform "
                      "bad.csv", CLI), 2);
  ck_assert_msg(strstr(err, "medshim reconcile: bad.csv: line 3, column 4 "
                            "(medfee_sumamt)") == err, "%s", err);
  ck_assert_ptr_null(strstr(err, PSN));
  ck_assert_str_eq(out, "");
  free(out);
  free(err);
  ck_assert_int_eq(sh(&out, &err, "%s reconcile --journal j --key k --platform "
                      "nothere.csv", CLI), 2);
  ck_assert_ptr_nonnull(strstr(err, "medshim reconcile: nothere.csv: cannot open"));
  free(out);
  free(err);
  ck_assert_int_eq(sh(&out, &err, "%s reconcile --journal j --key k --platform "
                      "all.csv --map x=y", CLI), 2);
  ck_assert_msg(strstr(err, "medshim reconcile: --map: 'y' is not one of") == err,
                "%s", err);
  free(out);
  free(err);

  /* 64: the command line */
  ck_assert_int_eq(sh(&out, &err, "%s reconcile --journal j --key k", CLI), 64);
  ck_assert_ptr_nonnull(strstr(err, "medshim reconcile: --platform FILE.csv is required"));
  free(out);
  free(err);
  ck_assert_int_eq(sh(&out, &err, "%s reconcile --journal j --key k --platform "
                      "all.csv --bom", CLI), 64);
  ck_assert_ptr_nonnull(strstr(err, "--bom needs --format csv"));
  free(out);
  free(err);
  ck_assert_int_eq(sh(&out, &err, "%s reconcile --journal j --key k --platform "
                      "all.csv --format xml", CLI), 64);
  ck_assert_ptr_nonnull(strstr(err, "medshim reconcile: --format"));
  free(out);
  free(err);
  ck_assert_int_eq(sh(&out, &err, "%s reconcile --help", CLI), 0);
  ck_assert_ptr_nonnull(strstr(out, "Exit status: 0 every claim matched; 1 differences"));
  free(out);
  free(err);
  free(csv);
}
END_TEST

int main(void) {
  Suite *s = suite_create("reconcile");
  TCase *tc = tcase_create("reconcile");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_all_matched);
  tcase_add_test(tc, test_platform_only_and_journal_only);
  tcase_add_test(tc, test_different_amount);
  tcase_add_test(tc, test_duplicate_setl_id);
  tcase_add_test(tc, test_months_clearing_and_visit);
  tcase_add_test(tc, test_column_map_chinese_headers);
  tcase_add_test(tc, test_bom_and_gbk);
  tcase_add_test(tc, test_yuan_errors_line_and_column);
  tcase_add_test(tc, test_strict_csv);
  tcase_add_test(tc, test_api_arguments);
  if (getenv("MEDSHIM_CLI") != NULL)
    tcase_add_test(tc, test_cli_exit_statuses);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
