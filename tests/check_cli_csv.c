/* medshim report and export as CSV for a finance office: the UTF-8 BOM
 * Excel needs, Chinese column names and materials, GBK for ANSI hosts
 * (a Chinese name round trip), and a row GBK cannot hold named. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <iconv.h>
#endif

#include "errors_internal.h"
#include "testproc.h"
#include "testutil.h"

static char *dir;

#define CLAIM(id, service, name)                                               \
  "{\"visit_id\":\"" id "\",\"service\":\"" service "\",\"insured_admdvs\":"  \
  "\"330102\",\"treated_admdvs\":\"330106\",\"visit_time\":"                   \
  "\"2022-02-11T09:30:00+08:00\",\"total_fen\":23850,\"self_paid_fen\":23850," \
  "\"patient\":{\"name\":\"" name "\",\"id_no\":\"330102198001014321\"}}\n"

/* Run the CLI with arguments split at spaces (none has one), "j" and "k"
 * being the fixture's journal and key; stdout's bytes and length, stderr
 * as text. No shell: the same on every system. */
MEDSHIM__PRINTF(4, 5)
static int sh(char **out, size_t *len, char **err, const char *fmt, ...) {
  char line[4096], *save = NULL;
  char *op = tu_path(dir, "out"), *ep = tu_path(dir, "err");
  char *j = tu_path(dir, "j"), *k = tu_path(dir, "k");
  const char *argv[64];
  size_t n;
  int a = 0, status;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  argv[a++] = getenv("MEDSHIM_CLI");
  for (char *w = strtok_r(line, " ", &save); w != NULL && a < 63;
       w = strtok_r(NULL, " ", &save))
    argv[a++] = strcmp(w, "j") == 0 ? j : strcmp(w, "k") == 0 ? k : w;
  argv[a] = NULL;
  status = tu_run_argv(argv, NULL, op, ep);
  *out = (char *)tu_read_file(op, len);
  *out = realloc(*out, *len + 1);
  (*out)[*len] = '\0';
  if (err != NULL) {
    *err = (char *)tu_read_file(ep, &n);
    *err = realloc(*err, n + 1);
    (*err)[n] = '\0';
  }
  free(op);
  free(ep);
  free(j);
  free(k);
  return status;
}

/* A journal with three claims for the agency (expired): two names GBK
 * has, one with a character it lacks (U+20000, in GB18030 only). */
static void setup(void) {
  char *claims;
  FILE *f;
  char *out;
  size_t len;
  dir = tu_tempdir();
  claims = tu_path(dir, "claims.jsonl");
  f = fopen(claims, "w");
  ck_assert_ptr_nonnull(f);
  fputs(CLAIM("MZ1", "outpatient", "王小明") CLAIM("ZY2", "inpatient", "李四")
            CLAIM("MZ3", "outpatient", "王\xf0\xa0\x80\x80"), f);
  fclose(f);
  ck_assert_int_eq(sh(&out, &len, NULL, "keygen k"), 0);
  free(out);
  {
    char *j = tu_path(dir, "j"), *k = tu_path(dir, "k");
    const char *argv[] = {getenv("MEDSHIM_CLI"), "defer", "--journal", j,
                          "--key", k, "--create", NULL};
    ck_assert_int_eq(tu_run_argv(argv, claims, NULL, NULL), 0);
    free(j);
    free(k);
  }
  ck_assert_int_eq(sh(&out, &len, NULL, "expire --journal j --key k MZ1 ZY2 "
                      "MZ3 --yes"), 0);
  free(out);
  free(claims);
}

static void teardown(void) {
  tu_rmtree(dir);
  free(dir);
}

static int contains(const char *hay, size_t n, const char *needle, size_t m) {
  for (size_t i = 0; i + m <= n; i++)
    if (memcmp(hay + i, needle, m) == 0)
      return 1;
  return 0;
}

/* UTF-8 text to GBK, or back: glibc's iconv; on Windows code page 936
 * (through UTF-16). */
#ifdef _WIN32
static char *convert(const char *to, const char *from, const char *in, size_t n,
                     size_t *outlen) {
  UINT cf = strcmp(from, "GBK") == 0 ? 936 : CP_UTF8;
  UINT ct = strcmp(to, "GBK") == 0 ? 936 : CP_UTF8;
  int nw = MultiByteToWideChar(cf, MB_ERR_INVALID_CHARS, in, (int)n, NULL, 0);
  wchar_t *w = malloc(((size_t)nw + 1) * sizeof *w);
  int no;
  char *out;
  ck_assert(n == 0 || nw > 0);
  ck_assert_ptr_nonnull(w);
  MultiByteToWideChar(cf, MB_ERR_INVALID_CHARS, in, (int)n, w, nw);
  no = WideCharToMultiByte(ct, 0, w, nw, NULL, 0, NULL, NULL);
  out = malloc((size_t)no + 1);
  ck_assert_ptr_nonnull(out);
  WideCharToMultiByte(ct, 0, w, nw, out, no, NULL, NULL);
  free(w);
  *outlen = (size_t)no;
  out[no] = '\0';
  return out;
}
#else
static char *convert(const char *to, const char *from, const char *in, size_t n,
                     size_t *outlen) {
  iconv_t cd = iconv_open(to, from);
  size_t cap = n * 2 + 16, left = n, room = cap;
  char *out = malloc(cap), *o = out, *i = (char *)in;
  ck_assert(cd != (iconv_t)-1);
  ck_assert_uint_ne(iconv(cd, &i, &left, &o, &room), (size_t)-1);
  iconv_close(cd);
  *outlen = (size_t)(o - out);
  out[*outlen] = '\0';
  return out;
}
#endif

START_TEST(test_cli_csv_bom) {
  char *out;
  size_t len;
  ck_assert_int_eq(sh(&out, &len, NULL, "export --manual --journal j --key k "
                      "--csv --bom"), 0);
  ck_assert_uint_gt(len, 3);
  ck_assert_int_eq(memcmp(out, "\xef\xbb\xbfvisit_id,state,", 18), 0);
  ck_assert_ptr_null(strstr(out + 3, "\xef\xbb\xbf")); /* once, at the start */
  free(out);
  ck_assert_int_eq(sh(&out, &len, NULL, "report --journal j --key k --csv "
                      "--bom"), 0);
  ck_assert_int_eq(memcmp(out, "\xef\xbb\xbf" "day,service,", 15), 0);
  free(out);
  /* without --bom, none */
  ck_assert_int_eq(sh(&out, &len, NULL, "report --journal j --key k --csv"), 0);
  ck_assert_int_eq(memcmp(out, "day,service,", 12), 0);
  free(out);
}
END_TEST

START_TEST(test_cli_csv_chinese_columns_and_materials) {
  char *out;
  size_t len;
  ck_assert_int_eq(sh(&out, &len, NULL, "export --manual --journal j --key k "
                      "--csv --lang zh"), 0);
  ck_assert_msg(strncmp(out, "就诊流水号,状态,医疗类别,就诊时间,", strlen("就诊流水号,状态,医疗类别,就诊时间,")) == 0,
                "%s", out);
  ck_assert_msg(strstr(out, ",姓名,证件号码,所需材料,截止日期(含当日)\n") != NULL, "%s", out);
  /* the in-patient's materials name the discharge summary, in Chinese */
  ck_assert_msg(strstr(out, "ZY2,expired,inpatient") != NULL, "%s", out);
  ck_assert_msg(strstr(out, "\"发票；费用清单；出院小结；收据；社保卡；银行卡\"") != NULL,
                "%s", out);
  ck_assert_msg(strstr(out, "\"发票（含电子发票）；费用清单；") != NULL, "%s", out);
  ck_assert_ptr_null(strstr(out, "王小明")); /* masked without --reveal */
  ck_assert_ptr_null(strstr(out, "invoice"));
  free(out);
  /* English stays the default */
  ck_assert_int_eq(sh(&out, &len, NULL, "export --manual --journal j --key k "
                      "--csv"), 0);
  ck_assert_ptr_nonnull(strstr(out, "discharge summary"));
  ck_assert_ptr_null(strstr(out, "出院小结"));
  free(out);
  /* JSON materials follow --lang too */
  ck_assert_int_eq(sh(&out, &len, NULL, "export --manual --journal j --key k "
                      "--lang zh"), 0);
  ck_assert_ptr_nonnull(strstr(out, "出院小结"));
  free(out);
  ck_assert_int_eq(sh(&out, &len, NULL, "report --journal j --key k --csv "
                      "--lang zh"), 0);
  ck_assert_msg(strncmp(out, "就诊日期,医疗类别,状态,笔数,", strlen("就诊日期,医疗类别,状态,笔数,")) == 0,
                "%s", out);
  free(out);
}
END_TEST

START_TEST(test_cli_csv_gbk) {
  char *out, *err, *gbk_name, *back;
  size_t len, glen, blen;
  ck_assert_int_eq(sh(&out, &len, &err, "export --manual --journal j --key k "
                      "--csv --encoding gbk --reveal --lang zh"), 1);
  /* the name as GBK bytes, and not as UTF-8 */
  gbk_name = convert("GBK", "UTF-8", "\"王小明\"", strlen("\"王小明\""), &glen);
  ck_assert_uint_eq(glen, 8); /* two bytes a character */
  ck_assert(contains(out, len, gbk_name, glen));
  ck_assert_ptr_null(strstr(out, "王小明"));
  /* back to UTF-8: the same name, the Chinese header, the other rows */
  back = convert("UTF-8", "GBK", out, len, &blen);
  ck_assert_msg(strstr(back, ",\"王小明\",\"330102198001014321\",") != NULL, "%s", back);
  ck_assert_ptr_nonnull(strstr(back, "\"李四\""));
  ck_assert_msg(strncmp(back, "就诊流水号,", strlen("就诊流水号,")) == 0, "%s", back);
  /* the row with a character GBK lacks: not written, named by row and
   * column, never by its value */
  ck_assert_ptr_null(strstr(back, "MZ3"));
  ck_assert_msg(strstr(err, "medshim export: row 4, column 姓名: a character GBK "
                       "cannot encode") != NULL, "%s", err);
  ck_assert_ptr_null(strstr(err, "王"));
  free(out);
  free(err);
  free(gbk_name);
  free(back);
  /* the report is all GBK can hold: exit 0 */
  ck_assert_int_eq(sh(&out, &len, NULL, "report --journal j --key k --csv "
                      "--encoding gbk --lang zh"), 0);
  back = convert("UTF-8", "GBK", out, len, &blen);
  ck_assert_msg(strncmp(back, "就诊日期,", strlen("就诊日期,")) == 0, "%s", back);
  free(out);
  free(back);
}
END_TEST

START_TEST(test_cli_csv_bad_options) {
  char *out, *err;
  size_t len;
  ck_assert_int_eq(sh(&out, &len, &err, "report --journal j --key k --bom"), 64);
  ck_assert_msg(strstr(err, "--bom needs --csv") != NULL, "%s", err);
  free(out);
  free(err);
  ck_assert_int_eq(sh(&out, &len, &err, "export --manual --journal j --key k "
                      "--csv --bom --encoding gbk"), 64);
  ck_assert_msg(strstr(err, "GBK output has none") != NULL, "%s", err);
  free(out);
  free(err);
  ck_assert_int_eq(sh(&out, &len, &err, "export --manual --journal j --key k "
                      "--csv --encoding gbx"), 64);
  ck_assert_msg(strstr(err, "unknown encoding 'gbx'; did you mean 'gbk'?") != NULL,
                "%s", err);
  free(out);
  free(err);
  ck_assert_int_eq(sh(&out, &len, &err, "report --journal j --key k --csv "
                      "--lang de"), 64);
  ck_assert_msg(strstr(err, "unknown language 'de'") != NULL, "%s", err);
  free(out);
  free(err);
}
END_TEST

int main(void) {
  Suite *s = suite_create("cli_csv");
  TCase *tc = tcase_create("csv");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_cli_csv_bom);
  tcase_add_test(tc, test_cli_csv_chinese_columns_and_materials);
  tcase_add_test(tc, test_cli_csv_gbk);
  tcase_add_test(tc, test_cli_csv_bad_options);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
