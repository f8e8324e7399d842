/* Every error code has a name and a text; unknown codes are handled. */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "medshim/medshim.h"
#include "testutil.h"

/* The last error after a failing call: that call's code, and a where and
 * text that say why. */
#define EXPECT_LAST(rc_expr, want_code, where_has, text_has)                   \
  do {                                                                         \
    int rc_;                                                                   \
    medshim_last_error_clear();                                                \
    rc_ = (rc_expr);                                                           \
    ck_assert_int_eq(rc_, (want_code));                                        \
    ck_assert_int_eq(medshim_last_error()->code, rc_);                         \
    ck_assert_msg(strstr(medshim_last_error()->where, (where_has)) != NULL,    \
                  "where: %s", medshim_last_error()->where);                   \
    ck_assert_msg(strstr(medshim_last_error()->text, (text_has)) != NULL,      \
                  "text: %s", medshim_last_error()->text);                     \
  } while (0)

START_TEST(test_errors_last_error_says_why) {
  medshim_schedule_set *set = NULL;
  medshim_decision d = MEDSHIM_DECISION_INIT;
  medshim_claim *claim = NULL;
  medshim_journal *j = NULL;
  medshim_journal_options jo = MEDSHIM_JOURNAL_OPTIONS_INIT;
  medshim_replay_summary sum;
  char *dir = tu_tempdir(), *missing = tu_path(dir, "no-journal-here");
  char *key = tu_path(dir, "key");
  const char *visit = "{\"visit_id\":\"V1\",\"service\":\"outpatient\","
                      "\"insured_admdvs\":\"3301O2\",\"treated_admdvs\":\"330106\","
                      "\"visit_time\":\"2022-02-11T09:30\",\"total_fen\":1,"
                      "\"self_paid_fen\":1}";
  /* before any failure, and after a clear: OK and empty */
  medshim_last_error_clear();
  ck_assert_ptr_nonnull(medshim_last_error());
  ck_assert_int_eq(medshim_last_error()->code, MEDSHIM_OK);
  ck_assert_str_eq(medshim_last_error()->text, "");
  ck_assert_int_eq(medshim_schedule_set_new(&set, NULL, NULL), MEDSHIM_OK);
  /* decide: a region typo */
  EXPECT_LAST(medshim_schedule_decide(&d, set, MEDSHIM_SERVICE_OUTPATIENT, "3301O2",
                                      NULL, 0),
              MEDSHIM_EINVAL, "medshim_schedule_decide", "region");
  /* a successful call leaves it */
  ck_assert_int_eq(medshim_schedule_decide(&d, set, MEDSHIM_SERVICE_OUTPATIENT,
                                           "330102", NULL, 0), MEDSHIM_OK);
  ck_assert_int_eq(medshim_last_error()->code, MEDSHIM_EINVAL);
  /* a parser without a caller-supplied medshim_error: the field, no value */
  EXPECT_LAST(medshim_claim_parse_json(&claim, visit, strlen(visit), NULL),
              MEDSHIM_EINVAL, "insured_admdvs", "6 digits");
  ck_assert_ptr_null(strstr(medshim_last_error()->text, "3301O2"));
  /* a journal that is not there */
  tu_write_key(key, 1);
  jo.key_file = key;
  medshim_last_error_clear();
  ck_assert_int_ne(medshim_journal_open(&j, missing, &jo, NULL), MEDSHIM_OK);
  ck_assert_int_ne(medshim_last_error()->code, MEDSHIM_OK);
  ck_assert_str_ne(medshim_last_error()->text, "");
  /* calls with no detail of their own: the code and its text */
  EXPECT_LAST(medshim_replay_run(&sum, NULL, NULL, NULL), MEDSHIM_EINVAL, "",
              medshim_strerror(MEDSHIM_EINVAL));
  EXPECT_LAST(medshim_replay_void(NULL, "V1", 0), MEDSHIM_EINVAL, "",
              medshim_strerror(MEDSHIM_EINVAL));
  EXPECT_LAST(medshim_replay_retry(NULL, "V1", 0), MEDSHIM_EINVAL, "",
              medshim_strerror(MEDSHIM_EINVAL));
  /* schedule signatures */
  EXPECT_LAST(medshim_schedule_verify("{}", 2, "x", "not a key"), MEDSHIM_EKEY,
              "public_key_pem", "PEM");
  {
    char *sig = NULL;
    EXPECT_LAST(medshim_schedule_sign(&sig, "{}", 2, "not a key"), MEDSHIM_EKEY,
                "private_key_pem", "PEM");
    ck_assert_ptr_null(sig);
  }
  medshim_schedule_set_free(set);
  tu_rmtree(dir);
  free(dir);
  free(missing);
  free(key);
}
END_TEST

/* Each thread reads its own last error, whatever the others do. */
static void *fail_in_loop(void *arg) {
  int which = *(int *)arg;
  medshim_claim *claim = NULL;
  const char *bad_total = "{\"visit_id\":\"V1\",\"service\":\"outpatient\","
                          "\"insured_admdvs\":\"330102\",\"treated_admdvs\":\"330106\","
                          "\"visit_time\":\"2022-02-11T09:30\",\"total_fen\":-1,"
                          "\"self_paid_fen\":1}";
  for (int i = 0; i < 300; i++) {
    int rc;
    if (which == 0)
      rc = medshim_claim_parse_json(&claim, bad_total, strlen(bad_total), NULL);
    else
      rc = medshim_schedule_verify("{}", 2, "x", "not a key");
    if (rc == MEDSHIM_OK)
      return (void *)1;
    if (strcmp(medshim_last_error()->where,
               which == 0 ? "total_fen" : "public_key_pem") != 0)
      return (void *)1;
  }
  return NULL;
}

START_TEST(test_errors_last_error_per_thread) {
  pthread_t t[4];
  int which[4] = {0, 1, 0, 1};
  void *bad;
  for (int i = 0; i < 4; i++)
    ck_assert_int_eq(pthread_create(&t[i], NULL, fail_in_loop, &which[i]), 0);
  for (int i = 0; i < 4; i++) {
    ck_assert_int_eq(pthread_join(t[i], &bad), 0);
    ck_assert_ptr_null(bad);
  }
}
END_TEST

START_TEST(test_errors_every_code_has_text) {
  static const int codes[] = {
#define X(name, value, text) MEDSHIM_##name,
      MEDSHIM_ERROR_LIST(X)
#undef X
  };
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    const char *t = medshim_strerror(codes[i]);
    ck_assert_ptr_nonnull(t);
    ck_assert_str_ne(t, "unknown error");
    ck_assert_str_ne(medshim_code_name(codes[i]), "MEDSHIM_UNKNOWN");
    ck_assert_int_le(codes[i], 0);
  }
}
END_TEST

START_TEST(test_errors_unknown_code) {
  ck_assert_str_eq(medshim_strerror(12345), "unknown error");
  ck_assert_str_eq(medshim_code_name(-9999), "MEDSHIM_UNKNOWN");
  ck_assert_str_eq(medshim_code_name(MEDSHIM_EBUSY), "MEDSHIM_EBUSY");
}
END_TEST

START_TEST(test_errors_version) {
  ck_assert_str_eq(medshim_version(), MEDSHIM_VERSION_STRING);
  ck_assert_int_eq(medshim_version_number(), MEDSHIM_VERSION_NUMBER);
}
END_TEST

int main(void) {
  Suite *s = suite_create("errors");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_errors_every_code_has_text);
  tcase_add_test(tc, test_errors_unknown_code);
  tcase_add_test(tc, test_errors_version);
  tcase_add_test(tc, test_errors_last_error_says_why);
  tcase_add_test(tc, test_errors_last_error_per_thread);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
