/* The flat interface (flat.h): each function, buffers too small, bad
 * handles, a bad claim's error (field and line, no personal data), and a
 * replay through a JSON callback. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medshim/medshim.h"
#include "testutil.h"

static char buf[65536];
static size_t need;
static char *dir, *keyfile, *jdir, *schedule;

static json_t *parsed(void) {
  json_t *j = json_loads(buf, 0, NULL);
  ck_assert_ptr_nonnull(j);
  return j;
}

static json_t *last_error(void) {
  char e[1024];
  ck_assert_int_eq(medshim_flat_last_error(e, sizeof e, NULL), MEDSHIM_OK);
  json_t *j = json_loads(e, 0, NULL);
  ck_assert_ptr_nonnull(j);
  return j;
}

static const char *err_str(json_t *e, const char *k) {
  return json_string_value(json_object_get(e, k));
}

static void setup(void) {
  const char *src = getenv("MEDSHIM_SOURCE_DIR");
  ck_assert_ptr_nonnull(src);
  dir = tu_tempdir();
  keyfile = tu_path(dir, "k.key");
  jdir = tu_path(dir, "journal");
  tu_write_key(keyfile, 7);
  schedule = tu_path(src, "examples/schedules/hangzhou-2022.json");
}

static void teardown(void) {
  tu_rmtree(dir);
  free(dir);
  free(keyfile);
  free(jdir);
  free(schedule);
}

/* Built with jansson: a Windows path's backslashes must be escaped. */
/* Creating options naming a suite (malloc'ed; JSON-escaped paths). */
static char *suite_opts(const char *suite) {
  json_t *v = json_pack("{s:s,s:b,s:s}", "key_file", keyfile, "create", 1,
                        "suite", suite);
  char *text = json_dumps(v, JSON_COMPACT);
  ck_assert_ptr_nonnull(text);
  json_decref(v);
  return text;
}

static char *jopts(const char *mode) {
  static char o[4096];
  json_t *v = json_pack("{s:s,s:b,s:s}", "key_file", keyfile, "create", 1,
                        "mode", mode);
  char *text = json_dumps(v, JSON_COMPACT);
  ck_assert_ptr_nonnull(text);
  snprintf(o, sizeof o, "%s", text);
  free(text);
  json_decref(v);
  return o;
}

START_TEST(test_flat_version_and_buffers) {
  size_t n = 0;
  ck_assert_int_eq(medshim_flat_version(buf, sizeof buf, &n), MEDSHIM_OK);
  ck_assert_uint_eq(n, strlen(buf) + 1);
  json_t *v = parsed();
  ck_assert_str_eq(json_string_value(json_object_get(v, "library")), medshim_version());
  ck_assert_int_eq(json_integer_value(json_object_get(v, "flat")), MEDSHIM_FLAT_VERSION);
  json_decref(v);
  /* too small: ERANGE, the size needed, nothing written past cap */
  char small[4] = "xyz";
  size_t n2 = 0;
  ck_assert_int_eq(medshim_flat_version(small, sizeof small, &n2), MEDSHIM_ERANGE);
  ck_assert_uint_eq(n2, n);
  ck_assert_str_eq(small, "");
  json_t *e = last_error();
  ck_assert_int_eq(json_integer_value(json_object_get(e, "code")), MEDSHIM_ERANGE);
  ck_assert_str_eq(err_str(e, "name"), "MEDSHIM_ERANGE");
  json_decref(e);
  /* NULL out asks for the size */
  ck_assert_int_eq(medshim_flat_version(NULL, 0, &n2), MEDSHIM_ERANGE);
  ck_assert_uint_eq(n2, n);
  /* the last result is kept */
  char again[256];
  ck_assert_int_eq(medshim_flat_last_result(small, sizeof small, &n2), MEDSHIM_ERANGE);
  ck_assert_int_eq(medshim_flat_last_result(again, sizeof again, &n2), MEDSHIM_OK);
  ck_assert_str_eq(again, buf);
  /* the error of a too small error buffer */
  ck_assert_int_eq(medshim_flat_last_error(small, sizeof small, &n2), MEDSHIM_ERANGE);
  ck_assert_uint_gt(n2, sizeof small);
}
END_TEST

START_TEST(test_flat_decide_hangzhou) {
  int32_t h = 0;
  ck_assert_int_eq(medshim_flat_schedules_load(schedule, NULL, &h), MEDSHIM_OK);
  ck_assert_int_gt(h, 0);
  const char *visit = "{\"service\":\"outpatient\",\"insured_admdvs\":\"330102\","
                      "\"treated_admdvs\":\"330106\",\"at\":\"2022-02-11T09:30\"}";
  ck_assert_int_eq(medshim_flat_decide(h, visit, buf, sizeof buf, &need), MEDSHIM_OK);
  json_t *d = parsed();
  ck_assert_str_eq(json_string_value(json_object_get(d, "decision")), "defer");
  ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(d, "cashier_text")),
                               "Collect the full amount"));
  ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(d, "cashier_text")),
                               "from 2022-03-15 until 2022-12-31"));
  ck_assert_str_eq(json_string_value(json_object_get(d, "reason_code")), "planned_stop");
  ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(d, "receipt_text")),
                               "you paid the full amount"));
  json_t *r = json_object_get(d, "replay");
  ck_assert_str_eq(json_string_value(json_object_get(r, "route")), "hospital");
  ck_assert_str_eq(json_string_value(json_object_get(r, "from")), "2022-03-15T00:00:00+08:00");
  json_t *cw = json_object_get(d, "claim_window");
  ck_assert_str_eq(json_string_value(json_object_get(cw, "route")), "hospital");
  ck_assert_ptr_nonnull(json_object_get(d, "window"));
  json_decref(d);
  /* Unix seconds work too; before the stop: online */
  ck_assert_int_eq(medshim_flat_decide(h, "{\"service\":\"outpatient\",\"insured_admdvs\":"
                                          "\"330102\",\"at\":1644335940}",
                                       buf, sizeof buf, &need), MEDSHIM_OK);
  d = parsed();
  ck_assert_str_eq(json_string_value(json_object_get(d, "decision")), "online");
  json_decref(d);
  ck_assert_int_eq(medshim_flat_decide(h, "{\"service\":\"pharmacy\",\"insured_admdvs\":"
                                          "\"330185\",\"at\":\"2022-02-16T10:00\"}",
                                       buf, sizeof buf, &need), MEDSHIM_OK);
  d = parsed();
  ck_assert_str_eq(json_string_value(json_object_get(d, "decision")), "try_online");
  ck_assert_str_eq(json_string_value(json_object_get(d, "reason_code")), "degraded");
  json_decref(d);
  /* the texts in Chinese on request; an unknown language is named */
  ck_assert_int_eq(medshim_flat_decide(h, "{\"service\":\"inpatient\",\"insured_admdvs\":"
                                          "\"330102\",\"at\":\"2022-02-11\",\"lang\":\"zh\"}",
                                       buf, sizeof buf, &need), MEDSHIM_OK);
  d = parsed();
  ck_assert_str_eq(json_string_value(json_object_get(d, "reason_code")), "agency_route");
  ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(d, "cashier_text")),
                               "至2023-12-31（含当日）止"));
  ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(d, "receipt_text")),
                               "医保经办机构"));
  json_decref(d);
  ck_assert_int_eq(medshim_flat_decide(h, "{\"service\":\"inpatient\",\"insured_admdvs\":"
                                          "\"330102\",\"at\":\"2022-02-11\",\"lang\":\"de\"}",
                                       buf, sizeof buf, &need), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_flat_last_error(buf, sizeof buf, &need), MEDSHIM_OK);
  ck_assert_ptr_nonnull(strstr(buf, "\"lang\""));
  /* too small */
  char small[16];
  ck_assert_int_eq(medshim_flat_decide(h, visit, small, sizeof small, &need), MEDSHIM_ERANGE);
  ck_assert_uint_gt(need, sizeof small);
  /* bad input names the field */
  ck_assert_int_eq(medshim_flat_decide(h, "{\"service\":\"dentist\",\"insured_admdvs\":"
                                          "\"330102\",\"at\":\"2022-02-11\"}",
                                       buf, sizeof buf, &need), MEDSHIM_EINVAL);
  json_t *e = last_error();
  ck_assert_str_eq(err_str(e, "where"), "service");
  json_decref(e);
  ck_assert_int_eq(medshim_flat_decide(h, "{\"service\":\"outpatient\",\"insured_admdvs\":"
                                          "\"330102\",\"at\":\"yesterday\"}",
                                       buf, sizeof buf, &need), MEDSHIM_EINVAL);
  e = last_error();
  ck_assert_str_eq(err_str(e, "where"), "at");
  json_decref(e);
  ck_assert_int_eq(medshim_flat_decide(h, "{\"service\":\"outpatient\",\"insured_admdvs\":"
                                          "\"330102\",\"treated_admdvs\":\"33010\",\"at\":1}",
                                       buf, sizeof buf, &need), MEDSHIM_EINVAL);
  e = last_error();
  ck_assert_str_eq(err_str(e, "where"), "treated_admdvs");
  json_decref(e);
  ck_assert_int_eq(medshim_flat_decide(h, "{\"service\":", buf, sizeof buf, &need),
                   MEDSHIM_EPARSE);
  /* the breaker: repeated failures of a region make it defer */
  const char *ok_visit = "{\"service\":\"outpatient\",\"insured_admdvs\":\"330102\","
                         "\"at\":\"2022-03-01T10:00\"}";
  ck_assert_int_eq(medshim_flat_decide(h, ok_visit, buf, sizeof buf, &need), MEDSHIM_OK);
  d = parsed();
  ck_assert_str_eq(json_string_value(json_object_get(d, "decision")), "online");
  json_decref(d);
  for (int i = 0; i < 5; i++)
    ck_assert_int_eq(medshim_flat_report_outcome(h, "{\"region\":\"330102\",\"ok\":false,"
                                                    "\"at\":\"2022-03-01T09:59\"}"),
                     MEDSHIM_OK);
  ck_assert_int_eq(medshim_flat_decide(h, ok_visit, buf, sizeof buf, &need), MEDSHIM_OK);
  d = parsed();
  ck_assert_str_eq(json_string_value(json_object_get(d, "decision")), "defer");
  json_decref(d);
  ck_assert_int_eq(medshim_flat_report_outcome(h, "{\"region\":\"3301\",\"ok\":true,\"at\":1}"),
                   MEDSHIM_EINVAL);
  e = last_error();
  ck_assert_str_eq(err_str(e, "where"), "region");
  json_decref(e);
  ck_assert_int_eq(medshim_flat_report_outcome(h, "{\"region\":\"330102\",\"ok\":1,\"at\":1}"),
                   MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_flat_report_outcome(0, "{}"), MEDSHIM_EINVAL);
  /* add: an amendment or another file */
  ck_assert_int_eq(medshim_flat_schedules_add(h, schedule, buf, sizeof buf, &need), MEDSHIM_OK);
  d = parsed();
  ck_assert_int_ge(json_integer_value(json_object_get(d, "schedules")), 1);
  json_decref(d);
  ck_assert_int_eq(medshim_flat_schedules_add(h, "/nonexistent.json", buf, sizeof buf, &need),
                   MEDSHIM_EIO);
  ck_assert_int_eq(medshim_flat_schedules_free(h), MEDSHIM_OK);
}
END_TEST

START_TEST(test_flat_bad_handles) {
  int32_t s = 0, j = 0;
  ck_assert_int_eq(medshim_flat_decide(0, "{}", buf, sizeof buf, &need), MEDSHIM_EINVAL);
  json_t *e = last_error();
  ck_assert_str_eq(err_str(e, "where"), "handle");
  json_decref(e);
  ck_assert_int_eq(medshim_flat_decide(-5, "{}", buf, sizeof buf, &need), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_flat_decide(123456, "{}", buf, sizeof buf, &need), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_flat_schedules_load(schedule, NULL, &s), MEDSHIM_OK);
  ck_assert_int_eq(medshim_flat_journal_open(jdir, jopts("write"), &j), MEDSHIM_OK);
  ck_assert_int_ne(s, j);
  /* a handle of the other kind */
  ck_assert_int_eq(medshim_flat_decide(j, "{}", buf, sizeof buf, &need), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_flat_list(s, buf, sizeof buf, &need), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_flat_journal_close(s), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_flat_schedules_free(j), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_flat_report(0, buf, sizeof buf, &need), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_flat_defer(0, "{}", buf, sizeof buf, &need), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_flat_replay(0, "{}", NULL, NULL, buf, sizeof buf, &need),
                   MEDSHIM_EINVAL);
  /* closed handles stay bad */
  ck_assert_int_eq(medshim_flat_journal_close(j), MEDSHIM_OK);
  ck_assert_int_eq(medshim_flat_journal_close(j), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_flat_schedules_free(s), MEDSHIM_OK);
  ck_assert_int_eq(medshim_flat_schedules_free(s), MEDSHIM_EINVAL);
  /* a new handle never reuses a closed one's number */
  int32_t s2 = 0;
  ck_assert_int_eq(medshim_flat_schedules_load(schedule, NULL, &s2), MEDSHIM_OK);
  ck_assert_int_ne(s2, s);
  ck_assert_int_eq(medshim_flat_schedules_free(s2), MEDSHIM_OK);
  /* keys: created once, never overwritten */
  char *k2 = tu_path(dir, "new.key");
  ck_assert_int_eq(medshim_flat_key_generate(k2), MEDSHIM_OK);
  ck_assert_int_eq(medshim_flat_key_generate(k2), MEDSHIM_EEXIST);
  ck_assert_int_eq(medshim_flat_key_generate(NULL), MEDSHIM_EINVAL);
  free(k2);
  /* bad open options */
  ck_assert_int_eq(medshim_flat_journal_open(jdir, "{}", &j), MEDSHIM_EINVAL);
  e = last_error();
  ck_assert_str_eq(err_str(e, "where"), "key_file");
  json_decref(e);
  ck_assert_int_eq(medshim_flat_journal_open(jdir, "[1]", &j), MEDSHIM_EINVAL);
  {
    char *o = suite_opts("aes");
    ck_assert_int_eq(medshim_flat_journal_open(jdir, o, &j), MEDSHIM_EINVAL);
    free(o);
    e = last_error();
    ck_assert_str_eq(err_str(e, "where"), "suite");
    json_decref(e);
  }
  ck_assert_int_eq(medshim_flat_journal_open(jdir, "{", &j), MEDSHIM_EPARSE);
  ck_assert_int_eq(j, 0);
  ck_assert_int_eq(medshim_flat_schedules_load("/nonexistent.json", NULL, &s), MEDSHIM_EIO);
}
END_TEST

#define CLAIM(id, extra)                                                       \
  "{\"visit_id\":\"" id "\",\"service\":\"outpatient\",\"insured_admdvs\":"    \
  "\"330102\",\"treated_admdvs\":\"330106\",\"visit_time\":"                   \
  "\"2022-02-11T09:30\",\"total_fen\":23850,\"self_paid_fen\":23850,"          \
  "\"patient\":{\"name\":\"张三\",\"id_no\":\"330102199001011234\","          \
  "\"psn_no\":\"33000000000000000012\"}" extra "}"

/* "suite":"sm" creates an SM journal; later opens need not name it. */
START_TEST(test_flat_sm_suite) {
  int32_t j = 0;
  char *o = suite_opts("sm"), *kr = tu_path(jdir, "keyring");
  unsigned char *k;
  size_t len;
  ck_assert_int_eq(medshim_flat_journal_open(jdir, o, &j), MEDSHIM_OK);
  free(o);
  ck_assert_int_eq(medshim_flat_defer(j, CLAIM("SM-1", ""), buf, sizeof buf, &need),
                   MEDSHIM_OK);
  ck_assert_int_eq(medshim_flat_journal_close(j), MEDSHIM_OK);
  k = tu_read_file(kr, &len);
  ck_assert_ptr_nonnull(k);
  ck_assert_uint_eq(k[8], 2); /* keyring version 2: SM */
  free(k);
  free(kr);
  ck_assert_int_eq(medshim_flat_journal_open(jdir, jopts("readonly"), &j), MEDSHIM_OK);
  ck_assert_int_eq(medshim_flat_list(j, buf, sizeof buf, &need), MEDSHIM_OK);
  ck_assert_ptr_nonnull(strstr(buf, "SM-1"));
  ck_assert_int_eq(medshim_flat_journal_close(j), MEDSHIM_OK);
}
END_TEST

START_TEST(test_flat_bad_claim) {
  int32_t j = 0;
  ck_assert_int_eq(medshim_flat_journal_open(jdir, jopts("write"), &j), MEDSHIM_OK);
  const char *lines =
      CLAIM("MZ-1", "") "\n"
      "{\"visit_id\":\"MZ-2\",\"service\":\"outpatient\",\"insured_admdvs\":\"330102\","
      "\"treated_admdvs\":\"330106\",\"visit_time\":\"2022-02-11T09:30\","
      "\"total_fen\":-5,\"self_paid_fen\":0,\"patient\":{\"name\":\"张三\","
      "\"id_no\":\"330102199001011234\"}}\n";
  ck_assert_int_eq(medshim_flat_defer(j, lines, buf, sizeof buf, &need), MEDSHIM_EINVAL);
  char e[1024];
  ck_assert_int_eq(medshim_flat_last_error(e, sizeof e, NULL), MEDSHIM_OK);
  ck_assert_ptr_null(strstr(e, "张三"));
  ck_assert_ptr_null(strstr(e, "330102199001011234"));
  json_t *je = json_loads(e, 0, NULL);
  ck_assert_str_eq(err_str(je, "where"), "total_fen");
  ck_assert_int_eq(json_integer_value(json_object_get(je, "line")), 2);
  ck_assert_ptr_nonnull(strstr(err_str(je, "message"), "line 2: total_fen"));
  json_decref(je);
  /* a bad id number: the field, not the value */
  const char *bad_id = "{\"visit_id\":\"MZ-3\",\"service\":\"outpatient\",\"insured_admdvs\":"
                       "\"330102\",\"treated_admdvs\":\"330106\",\"visit_time\":"
                       "\"2022-02-11T09:30\",\"total_fen\":5,\"self_paid_fen\":5,"
                       "\"patient\":{\"id_no\":\"3301021990\\u0001XYZ\"}}";
  int rc = medshim_flat_defer(j, bad_id, buf, sizeof buf, &need);
  if (rc != MEDSHIM_OK) {
    ck_assert_int_eq(medshim_flat_last_error(e, sizeof e, NULL), MEDSHIM_OK);
    ck_assert_ptr_null(strstr(e, "3301021990"));
    ck_assert_ptr_nonnull(strstr(e, "line 1"));
  }
  /* not JSON at all */
  ck_assert_int_eq(medshim_flat_defer(j, "\n\n{\"visit_id\":", buf, sizeof buf, &need),
                   MEDSHIM_EPARSE);
  je = last_error();
  ck_assert_int_eq(json_integer_value(json_object_get(je, "line")), 3);
  json_decref(je);
  ck_assert_int_eq(medshim_flat_defer(j, "\n \n", buf, sizeof buf, &need), MEDSHIM_EINVAL);
  /* nothing of the failed batch stored */
  ck_assert_int_eq(medshim_flat_list(j, buf, sizeof buf, &need), MEDSHIM_OK);
  json_t *l = parsed();
  ck_assert_int_eq(json_integer_value(json_object_get(l, "count")), rc == MEDSHIM_OK ? 1 : 0);
  json_decref(l);
  ck_assert_int_eq(medshim_flat_journal_close(j), MEDSHIM_OK);
}
END_TEST

static int settle_calls, probe_calls;

/* A platform that settles everything: 70 % funds, 10 % account. */
static int MEDSHIM_FLATCALL settle_all(const char *request, char *answer, size_t cap, void *payload) {
  json_t *r = json_loads(request, 0, NULL), *c;
  (void)payload;
  ck_assert_ptr_nonnull(r);
  const char *kind = json_string_value(json_object_get(r, "kind"));
  if (strcmp(kind, "probe") == 0) {
    probe_calls++;
    snprintf(answer, cap, "{\"outcome\":\"not_found\"}");
    json_decref(r);
    return 0;
  }
  settle_calls++;
  ck_assert_str_eq(json_string_value(json_object_get(r, "msgid")) ? "ok" : "", "ok");
  ck_assert_int_eq((int)strlen(json_string_value(json_object_get(r, "replay_key"))), 30);
  c = json_object_get(r, "claim");
  /* the adapter sees personal data: it needs it for the platform */
  ck_assert_str_eq(json_string_value(json_object_get(json_object_get(c, "patient"), "id_no")),
                   "330102199001011234");
  json_int_t total = json_integer_value(json_object_get(c, "total_fen"));
  json_int_t fund = total * 7 / 10, acct = total / 10;
  snprintf(answer, cap,
           "{\"outcome\":\"settled\",\"settlement_id\":\"S-%s\",\"mdtrt_id\":\"M-1\","
           "\"total_fen\":%lld,\"fund_paid_fen\":%lld,\"acct_paid_fen\":%lld,"
           "\"patient_paid_fen\":%lld,\"setl_time\":1647741600}",
           json_string_value(json_object_get(c, "visit_id")), (long long)total,
           (long long)fund, (long long)acct, (long long)(total - fund - acct));
  json_decref(r);
  return 0;
}

static int MEDSHIM_FLATCALL garbage(const char *request, char *answer, size_t cap, void *payload) {
  (void)request;
  (void)payload;
  snprintf(answer, cap, "not json");
  return 0;
}

/* An adapter recording its own steps: 2201 then 2207, as the C API's do. */
static int host_steps_calls;
static int MEDSHIM_FLATCALL host_steps(const char *request, char *answer, size_t cap, void *payload) {
  json_t *r = json_loads(request, 0, NULL);
  char m1[MEDSHIM_MSGID_LEN + 1], m2[MEDSHIM_MSGID_LEN + 1], small[8], end[512];
  int32_t ctx = (int32_t)json_integer_value(json_object_get(r, "ctx"));
  (void)payload;
  host_steps_calls++;
  ck_assert_int_gt(ctx, 0);
  ck_assert_str_eq(json_string_value(json_object_get(r, "type")), "settle");
  ck_assert_int_eq(medshim_flat_step_begin(ctx + 1, "2201", m1, sizeof m1), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_flat_step_begin(ctx, "2201", small, sizeof small), MEDSHIM_ERANGE);
  ck_assert_int_eq(medshim_flat_step_begin(ctx, "2201", m1, sizeof m1), MEDSHIM_OK);
  ck_assert_uint_eq(strlen(m1), MEDSHIM_MSGID_LEN);
  ck_assert_int_eq(strncmp(m1, "H33010600001", 12), 0);
  snprintf(end, sizeof end, "{\"msgid\":\"%s\",\"state\":\"ok\",\"mdtrt_id\":\"M1\"}", m1);
  ck_assert_int_eq(medshim_flat_step_end(ctx, end), MEDSHIM_OK);
  ck_assert_int_eq(medshim_flat_step_end(ctx, "{\"msgid\":\"H33010600001202203201000009999\","
                                              "\"state\":\"ok\"}"), MEDSHIM_ENOTFOUND);
  ck_assert_int_eq(medshim_flat_step_end(ctx, "{\"state\":\"maybe\"}"), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_flat_step_begin(ctx, "2207", m2, sizeof m2), MEDSHIM_OK);
  ck_assert_str_ne(m1, m2);
  snprintf(end, sizeof end,
           "{\"type\":\"step_end\",\"id\":7,\"msgid\":\"%s\",\"state\":\"ok\","
           "\"mdtrt_id\":\"M1\",\"setl_id\":\"S1\",\"setl_time\":\"2022-03-20 10:00:01\","
           "\"total_fen\":23850,\"fund_paid_fen\":16695,\"acct_paid_fen\":2385,"
           "\"patient_paid_fen\":4770,\"code\":\"\"}", m2);
  ck_assert_int_eq(medshim_flat_step_end(ctx, end), MEDSHIM_OK);
  /* an exec adapter's result line, passed through */
  snprintf(answer, cap,
           "{\"type\":\"result\",\"id\":7,\"status\":\"settled\",\"settlement_id\":\"S1\","
           "\"mdtrt_id\":\"M1\",\"msgid\":\"%s\",\"setl_time\":\"2022-03-20 10:00:01\","
           "\"total_fen\":23850,\"fund_paid_fen\":16695,\"acct_paid_fen\":2385,"
           "\"patient_paid_fen\":4770,\"hospital_share_fen\":0}", m2);
  json_decref(r);
  return 0;
}

START_TEST(test_flat_replay_host_steps) {
  int32_t j = 0;
  char m[MEDSHIM_MSGID_LEN + 1];
  ck_assert_int_eq(medshim_flat_journal_open(jdir, jopts("write"), &j), MEDSHIM_OK);
  ck_assert_int_eq(medshim_flat_defer(j, CLAIM("MZ-9", ",\"window\":{\"route\":\"hospital\","
                                                       "\"from\":\"2022-03-15T00:00\"}"),
                                      buf, sizeof buf, &need), MEDSHIM_OK);
  /* outside an adapter call there is no step to record */
  ck_assert_int_eq(medshim_flat_step_begin(1, "2201", m, sizeof m), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_flat_step_end(1, "{}"), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_flat_replay(j, "{\"institution_code\":\"H33010600001\",\"steps\":\"x\"}",
                                       host_steps, NULL, buf, sizeof buf, &need), MEDSHIM_EINVAL);
  host_steps_calls = 0;
  ck_assert_int_eq(medshim_flat_replay(j, "{\"institution_code\":\"H33010600001\",\"steps\":\"host\","
                                          "\"at\":\"2022-03-20T10:00\"}",
                                       host_steps, NULL, buf, sizeof buf, &need), MEDSHIM_OK);
  json_t *r = parsed();
  ck_assert_int_eq(json_integer_value(json_object_get(r, "settled")), 1);
  ck_assert_int_eq(json_integer_value(json_object_get(r, "bad_answers")), 0);
  json_decref(r);
  ck_assert_int_eq(host_steps_calls, 1);
  ck_assert_int_eq(medshim_flat_report(j, buf, sizeof buf, &need), MEDSHIM_OK);
  r = parsed();
  ck_assert_int_eq(json_integer_value(json_object_get(r, "refunds_due_fen")), 19080);
  json_decref(r);
  ck_assert_int_eq(medshim_flat_journal_close(j), MEDSHIM_OK);
}
END_TEST

/* GBK: 张三 and 医保 in code page 936, as an ANSI Windows host passes them. */
#define GBK_ZHANGSAN "\xd5\xc5\xc8\xfd"
#define GBK_YIBAO "\xd2\xbd\xb1\xa3"
#define GBK_CLAIM(id, name)                                                    \
  "{\"visit_id\":\"" id "\",\"service\":\"outpatient\",\"insured_admdvs\":"    \
  "\"330102\",\"treated_admdvs\":\"330106\",\"visit_time\":"                   \
  "\"2022-02-11T09:30\",\"total_fen\":23850,\"self_paid_fen\":23850,"          \
  "\"patient\":{\"name\":\"" name "\",\"id_no\":\"330102199001011234\"},"      \
  "\"window\":{\"route\":\"hospital\",\"from\":\"2022-03-15T00:00+08:00\"}}"

static int gbk_settles, gbk_escaped;

/* The adapter of a GBK host: the request comes in GBK, a name GBK lacks as
 * a JSON escape; the answer goes back in GBK. */
static int MEDSHIM_FLATCALL gbk_adapter(const char *request, char *answer,
                                        size_t cap, void *payload) {
  (void)payload;
  ck_assert_ptr_null(strstr(request, "张三")); /* no UTF-8 */
  if (strstr(request, "\"kind\":\"probe\"") != NULL) {
    snprintf(answer, cap, "{\"outcome\":\"not_found\"}");
    return 0;
  }
  if (strstr(request, "GBK-2") != NULL) {
    /* U+20000 (UTF-8 F0 A0 80 80) is not in GBK */
    ck_assert_ptr_nonnull(strstr(request, "\\ud840\\udc00"));
    gbk_escaped++;
  } else {
    ck_assert_ptr_nonnull(strstr(request, GBK_ZHANGSAN));
  }
  gbk_settles++;
  snprintf(answer, cap,
           "{\"outcome\":\"settled\",\"settlement_id\":\"S-%d\",\"mdtrt_id\":"
           "\"M-1\",\"total_fen\":23850,\"fund_paid_fen\":16695,"
           "\"acct_paid_fen\":2385,\"patient_paid_fen\":4770,\"setl_time\":"
           "1647741600,\"message\":\"" GBK_YIBAO "\"}", gbk_settles);
  return 0;
}

/* The agency's export: claims routed there, with materials and last day;
 * names masked unless revealed. */
START_TEST(test_flat_export_for_the_agency) {
  int32_t j = 0;
  const char *agency =
      "{\"visit_id\":\"ZY-1\",\"service\":\"inpatient\",\"insured_admdvs\":"
      "\"330102\",\"treated_admdvs\":\"330106\",\"visit_time\":"
      "\"2022-02-11T09:30\",\"total_fen\":500000,\"self_paid_fen\":500000,"
      "\"patient\":{\"name\":\"张三丰\",\"id_no\":\"330102199001011234\"},"
      "\"window\":{\"route\":\"agency\",\"from\":\"2022-03-15T00:00+08:00\","
      "\"until\":\"2023-01-01T00:00+08:00\"}}\n" CLAIM("MZ-1", "");
  ck_assert_int_eq(medshim_flat_journal_open(jdir, jopts("write"), &j), MEDSHIM_OK);
  ck_assert_int_eq(medshim_flat_defer(j, agency, buf, sizeof buf, &need), MEDSHIM_OK);
  /* nothing is manual before the replay routes it */
  ck_assert_int_eq(medshim_flat_export(j, NULL, buf, sizeof buf, &need), MEDSHIM_OK);
  json_t *r = parsed();
  ck_assert_int_eq(json_integer_value(json_object_get(r, "count")), 0);
  json_decref(r);
  ck_assert_int_eq(medshim_flat_replay(j, "{\"institution_code\":\"H33010600001\","
                                          "\"at\":\"2022-03-20T10:00\"}",
                                       settle_all, NULL, buf, sizeof buf, &need),
                   MEDSHIM_OK);
  ck_assert_int_eq(medshim_flat_export(j, NULL, buf, sizeof buf, &need), MEDSHIM_OK);
  ck_assert_ptr_null(strstr(buf, "张三丰"));
  ck_assert_ptr_null(strstr(buf, "330102199001011234"));
  r = parsed();
  ck_assert_int_eq(json_integer_value(json_object_get(r, "count")), 1);
  json_t *c = json_array_get(json_object_get(r, "claims"), 0);
  ck_assert_str_eq(json_string_value(json_object_get(c, "visit_id")), "ZY-1");
  ck_assert_str_eq(json_string_value(json_object_get(c, "state")), "manual");
  ck_assert_str_eq(json_string_value(json_object_get(c, "deadline_last_day")), "2022-12-31");
  ck_assert_int_gt((int)strlen(json_string_value(json_object_get(c, "materials"))), 0);
  json_decref(r);
  /* revealed, in Chinese: what the agency is handed */
  ck_assert_int_eq(medshim_flat_export(j, "{\"reveal\":true,\"lang\":\"zh\"}", buf,
                                       sizeof buf, &need), MEDSHIM_OK);
  ck_assert_ptr_nonnull(strstr(buf, "张三丰"));
  ck_assert_ptr_nonnull(strstr(buf, "330102199001011234"));
  ck_assert_int_eq(medshim_flat_export(j, "{\"lang\":\"fr\"}", buf, sizeof buf, &need),
                   MEDSHIM_EINVAL);
  r = last_error();
  ck_assert_str_eq(err_str(r, "where"), "lang");
  json_decref(r);
  ck_assert_int_eq(medshim_flat_export(0, NULL, buf, sizeof buf, &need), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_flat_journal_close(j), MEDSHIM_OK);
}
END_TEST

START_TEST(test_flat_gbk_handles) {
  int32_t s = 0, j = 0;
  char gdir[4096], opts[4096];
  json_t *r;
  /* schedules: decide's Chinese texts come out in GBK */
  ck_assert_int_eq(medshim_flat_schedules_load(schedule, "{\"encoding\":\"gbk\"}", &s),
                   MEDSHIM_OK);
  ck_assert_int_eq(medshim_flat_decide(s, "{\"service\":\"outpatient\",\"insured_admdvs\":"
                                          "\"330102\",\"treated_admdvs\":\"330106\","
                                          "\"at\":\"2022-02-11T09:30\",\"lang\":\"zh\"}",
                                       buf, sizeof buf, &need), MEDSHIM_OK);
  ck_assert_ptr_nonnull(strstr(buf, GBK_YIBAO));
  ck_assert_ptr_null(strstr(buf, "医保"));
  ck_assert_int_eq(medshim_flat_schedules_free(s), MEDSHIM_OK);
  /* an unknown encoding is named */
  ck_assert_int_eq(medshim_flat_schedules_load(schedule, "{\"encoding\":\"big5\"}", &s),
                   MEDSHIM_EINVAL);
  r = last_error();
  ck_assert_str_eq(err_str(r, "where"), "encoding");
  json_decref(r);

  /* a journal under a GBK directory name: stored under its UTF-8 name */
  snprintf(gdir, sizeof gdir, "%s/" GBK_YIBAO, dir);
  snprintf(opts, sizeof opts, "{\"encoding\":\"gbk\",%s", jopts("write") + 1);
  ck_assert_int_eq(medshim_flat_journal_open(gdir, opts, &j), MEDSHIM_OK);
  ck_assert_int_eq(medshim_flat_defer(j, GBK_CLAIM("GBK-1", GBK_ZHANGSAN), buf,
                                      sizeof buf, &need), MEDSHIM_OK);
  r = parsed();
  ck_assert_int_eq(json_integer_value(json_object_get(r, "stored")), 1);
  json_decref(r);
  /* bytes that are not GBK: refused, the offset named, nothing stored */
  ck_assert_int_eq(medshim_flat_defer(j, GBK_CLAIM("GBK-9", "\xff\xfe"), buf,
                                      sizeof buf, &need), MEDSHIM_EPARSE);
  r = last_error();
  ck_assert_ptr_nonnull(strstr(err_str(r, "message"), "not GBK text at byte"));
  json_decref(r);
  ck_assert_int_eq(medshim_flat_journal_close(j), MEDSHIM_OK);

  /* the same journal through a UTF-8 handle: the name reads as 张三, and a
   * name GBK cannot hold is stored */
  {
    char udir[4096];
    snprintf(udir, sizeof udir, "%s/医保", dir);
    ck_assert_int_eq(medshim_flat_journal_open(udir, jopts("write"), &j), MEDSHIM_OK);
    ck_assert_int_eq(medshim_flat_defer(j, GBK_CLAIM("GBK-2", "\xf0\xa0\x80\x80三"),
                                        buf, sizeof buf, &need), MEDSHIM_OK);
    ck_assert_int_eq(medshim_flat_journal_close(j), MEDSHIM_OK);
  }

  /* replay through the GBK handle: requests and answers in GBK */
  ck_assert_int_eq(medshim_flat_journal_open(gdir, opts, &j), MEDSHIM_OK);
  gbk_settles = gbk_escaped = 0;
  ck_assert_int_eq(medshim_flat_replay(j, "{\"institution_code\":\"H33010600001\","
                                          "\"at\":\"2022-03-20T10:00\","
                                          "\"no_visibility_delay\":true}",
                                       gbk_adapter, NULL, buf, sizeof buf, &need),
                   MEDSHIM_OK);
  r = parsed();
  ck_assert_int_eq(json_integer_value(json_object_get(r, "settled")), 2);
  json_decref(r);
  ck_assert_int_eq(gbk_settles, 2);
  ck_assert_int_eq(gbk_escaped, 1);
  ck_assert_int_eq(medshim_flat_journal_close(j), MEDSHIM_OK);
}
END_TEST

START_TEST(test_flat_cashier_flow_and_replay) {
  int32_t s = 0, j = 0;
  ck_assert_int_eq(medshim_flat_schedules_load(schedule, NULL, &s), MEDSHIM_OK);
  ck_assert_int_eq(medshim_flat_decide(s, "{\"service\":\"outpatient\",\"insured_admdvs\":"
                                          "\"330102\",\"treated_admdvs\":\"330106\","
                                          "\"at\":\"2022-02-11T09:30\"}",
                                       buf, sizeof buf, &need), MEDSHIM_OK);
  json_t *d = parsed();
  char *cw = json_dumps(json_object_get(d, "claim_window"), JSON_COMPACT);
  json_decref(d);
  char lines[4096];
  snprintf(lines, sizeof lines,
           CLAIM("MZ-1", ",\"window\":%s") "\n" CLAIM("MZ-2", ",\"window\":%s") "\n", cw, cw);
  ck_assert_int_eq(medshim_flat_journal_open(jdir, jopts("write"), &j), MEDSHIM_OK);
  /* too small: the claims are stored all the same, the answer is kept */
  char small[8];
  ck_assert_int_eq(medshim_flat_defer(j, lines, small, sizeof small, &need), MEDSHIM_ERANGE);
  ck_assert_int_eq(medshim_flat_last_result(buf, sizeof buf, &need), MEDSHIM_OK);
  json_t *r = parsed();
  ck_assert_int_eq(json_integer_value(json_object_get(r, "stored")), 2);
  json_t *r0 = json_array_get(json_object_get(r, "results"), 0);
  ck_assert_str_eq(json_string_value(json_object_get(r0, "result")), "stored");
  ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(r0, "receipt")), "R1-"));
  json_decref(r);
  /* again: duplicates; changed content: conflict */
  ck_assert_int_eq(medshim_flat_defer(j, lines, buf, sizeof buf, &need), MEDSHIM_OK);
  r = parsed();
  ck_assert_int_eq(json_integer_value(json_object_get(r, "duplicates")), 2);
  json_decref(r);
  const char *changed = "{\"visit_id\":\"MZ-1\",\"service\":\"outpatient\",\"insured_admdvs\":"
                        "\"330102\",\"treated_admdvs\":\"330106\",\"visit_time\":"
                        "\"2022-02-11T09:30\",\"total_fen\":100,\"self_paid_fen\":100}";
  ck_assert_int_eq(medshim_flat_defer(j, changed, buf, sizeof buf, &need), MEDSHIM_OK);
  r = parsed();
  ck_assert_int_eq(json_integer_value(json_object_get(r, "conflicts")), 1);
  json_decref(r);
  free(cw);

  /* list: statuses, no personal data */
  ck_assert_int_eq(medshim_flat_list(j, buf, sizeof buf, &need), MEDSHIM_OK);
  ck_assert_ptr_null(strstr(buf, "张三"));
  ck_assert_ptr_null(strstr(buf, "330102199001011234"));
  r = parsed();
  ck_assert_int_eq(json_integer_value(json_object_get(r, "count")), 2);
  ck_assert_str_eq(json_string_value(json_object_get(
                       json_array_get(json_object_get(r, "claims"), 0), "state")),
                   "pending");
  json_decref(r);

  /* replay options are checked */
  ck_assert_int_eq(medshim_flat_replay(j, "{}", settle_all, NULL, buf, sizeof buf, &need),
                   MEDSHIM_EINVAL);
  json_t *e = last_error();
  ck_assert_str_eq(err_str(e, "where"), "institution_code");
  json_decref(e);
  ck_assert_int_eq(medshim_flat_replay(j, "{\"institution_code\":\"H33010600001\"}", NULL,
                                       NULL, buf, sizeof buf, &need), MEDSHIM_EINVAL);
  /* an answer that does not parse leaves the claims in doubt */
  const char *ro = "{\"institution_code\":\"H33010600001\",\"at\":\"2022-03-20T10:00\","
                   "\"no_visibility_delay\":true,\"seed\":1}";
  ck_assert_int_eq(medshim_flat_replay(j, ro, garbage, NULL, buf, sizeof buf, &need), MEDSHIM_OK);
  r = parsed();
  ck_assert_int_eq(json_integer_value(json_object_get(r, "settled")), 0);
  json_decref(r);
  /* then a platform that settles: the in-doubt ones are probed first */
  settle_calls = probe_calls = 0;
  ck_assert_int_eq(medshim_flat_replay(j, ro, settle_all, NULL, buf, sizeof buf, &need),
                   MEDSHIM_OK);
  r = parsed();
  ck_assert_int_eq(json_integer_value(json_object_get(r, "settled")), 2);
  ck_assert_int_eq(json_integer_value(json_object_get(r, "refunds_due_fen")),
                   2 * (23850 - (23850 - 16695 - 2385)));
  json_decref(r);
  ck_assert_int_eq(settle_calls, 2);
  ck_assert_int_ge(probe_calls, 1); /* MZ-2 waited behind MZ-1 (same patient) */

  /* report */
  ck_assert_int_eq(medshim_flat_report(j, buf, sizeof buf, &need), MEDSHIM_OK);
  ck_assert_ptr_null(strstr(buf, "张三"));
  r = parsed();
  ck_assert_int_eq(json_integer_value(json_object_get(r, "claims")), 2);
  ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r, "by_state"), "settled")), 2);
  ck_assert_int_eq(json_integer_value(json_object_get(r, "refunds_due_count")), 2);
  ck_assert_int_eq(json_integer_value(json_object_get(r, "refunds_due_fen")), 2 * 19080);
  json_t *f = json_array_get(json_object_get(r, "refunds"), 0);
  ck_assert_int_eq(json_integer_value(json_object_get(f, "refund_fen")), 19080);
  ck_assert_str_eq(json_string_value(json_object_get(f, "settlement_id")), "S-MZ-1");
  json_decref(r);
  ck_assert_int_eq(medshim_flat_report(j, small, sizeof small, &need), MEDSHIM_ERANGE);
  ck_assert_int_eq(medshim_flat_list(j, small, sizeof small, &need), MEDSHIM_ERANGE);
  ck_assert_int_eq(medshim_flat_journal_close(j), MEDSHIM_OK);

  /* verify */
  json_t *vj = json_pack("{s:s}", "key_file", keyfile);
  char *vo = json_dumps(vj, JSON_COMPACT);
  json_decref(vj);
  ck_assert_int_eq(medshim_flat_verify(jdir, vo, buf, sizeof buf, &need), MEDSHIM_OK);
  r = parsed();
  ck_assert(json_is_true(json_object_get(r, "intact")));
  ck_assert_int_eq(json_integer_value(json_object_get(r, "claims")), 2);
  json_decref(r);
  ck_assert_int_eq(medshim_flat_verify(jdir, "{}", buf, sizeof buf, &need), MEDSHIM_EINVAL);
  ck_assert_int_ne(medshim_flat_verify("/nonexistent", vo, buf, sizeof buf, &need), MEDSHIM_OK);
  free(vo);

  /* a read-only handle lists but does not defer */
  ck_assert_int_eq(medshim_flat_journal_open(jdir, jopts("readonly"), &j), MEDSHIM_OK);
  ck_assert_int_eq(medshim_flat_defer(j, changed, buf, sizeof buf, &need), MEDSHIM_EREADONLY);
  ck_assert_int_eq(medshim_flat_list(j, buf, sizeof buf, &need), MEDSHIM_OK);
  ck_assert_int_eq(medshim_flat_journal_close(j), MEDSHIM_OK);
  ck_assert_int_eq(medshim_flat_journal_open(jdir, jopts("sideways"), &j), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_flat_schedules_free(s), MEDSHIM_OK);
}
END_TEST

int main(void) {
  Suite *s = suite_create("flat");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_flat_version_and_buffers);
  tcase_add_test(tc, test_flat_decide_hangzhou);
  tcase_add_test(tc, test_flat_bad_handles);
  tcase_add_test(tc, test_flat_bad_claim);
  tcase_add_test(tc, test_flat_cashier_flow_and_replay);
  tcase_add_test(tc, test_flat_replay_host_steps);
  tcase_add_test(tc, test_flat_gbk_handles);
  tcase_add_test(tc, test_flat_export_for_the_agency);
  tcase_add_test(tc, test_flat_sm_suite);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
