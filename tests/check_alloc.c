/* Allocation failures: every malloc, calloc and realloc the library makes
 * (linked with --wrap) fails in turn; each call must then fail cleanly with
 * MEDSHIM_ENOMEM (or another error code), never crash, never leak (ASan),
 * and leave the journal usable afterwards. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medshim/medshim.h"
#include "testutil.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);

static long countdown = -1; /* -1: never fail */
static long calls;

static int fail_now(void) {
  calls++;
  if (countdown < 0)
    return 0;
  if (countdown-- == 0) {
    errno = ENOMEM;
    return 1;
  }
  return 0;
}

void *__wrap_malloc(size_t n) { return fail_now() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t m) {
  return fail_now() ? NULL : __real_calloc(n, m);
}
void *__wrap_realloc(void *p, size_t n) {
  return fail_now() ? NULL : __real_realloc(p, n);
}

static const char *LINE =
    "{\"visit_id\":\"A-1\",\"service\":\"outpatient\",\"insured_admdvs\":"
    "\"330102\",\"treated_admdvs\":\"330106\",\"visit_time\":\"2022-02-11\","
    "\"total_fen\":100,\"self_paid_fen\":100,\"invoice_no\":\"I1\",\"patient\":"
    "{\"name\":\"王五\",\"id_no\":\"330102199001011234\"},\"detail\":{\"x\":[1,2]}}";

START_TEST(test_alloc_claim_parse_and_render) {
  int failures_seen = 0;
  for (long k = 0;; k++) {
    medshim_claim *c = NULL;
    char *json = NULL;
    int rc;
    countdown = k;
    rc = medshim_claim_parse_json(&c, LINE, strlen(LINE), NULL);
    if (rc == MEDSHIM_OK)
      rc = medshim_claim_to_json(&json, c, 0);
    countdown = -1;
    ck_assert(rc == MEDSHIM_OK || rc == MEDSHIM_ENOMEM);
    medshim_free(json);
    medshim_claim_free(c);
    if (rc == MEDSHIM_OK)
      break; /* k passed the number of allocations made */
    failures_seen++;
  }
  ck_assert_int_gt(failures_seen, 2);
}
END_TEST

START_TEST(test_alloc_journal_open_defer_close) {
  char *dir = tu_tempdir(), *j = tu_path(dir, "j"), *key = tu_path(dir, "key");
  medshim_journal_options o = tu_opts(key, MEDSHIM_JOURNAL_CREATE);
  char *tmpl = tu_path(dir, "template"), cmd[8192];
  int failures_seen = 0;
  tu_write_key(key, 9);
  {
    /* Every round starts from the same journal (one claim, one segment):
     * a journal growing by a segment a round would make open allocate
     * more each round than the countdown advances. */
    medshim_journal *jr = NULL;
    medshim_claim *c = tu_claim("T", 0);
    ck_assert_int_eq(medshim_journal_open(&jr, tmpl, &o, NULL), MEDSHIM_OK);
    ck_assert_int_eq(medshim_journal_defer(jr, c, NULL), MEDSHIM_OK);
    ck_assert_int_eq(medshim_journal_close(jr), MEDSHIM_OK);
    medshim_claim_free(c);
  }
  for (long k = 0; k < 5000; k++) {
    medshim_journal *jr = NULL;
    medshim_claim *c = tu_claim("K", (int)k);
    int rc;
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -a '%s' '%s'", j, tmpl, j);
    ck_assert_int_eq(system(cmd), 0);
    countdown = k;
    rc = medshim_journal_open(&jr, j, &o, NULL);
    if (rc == MEDSHIM_OK)
      rc = medshim_journal_defer(jr, c, NULL);
    countdown = -1;
    /* an allocation failure poisons nothing on disk: EIO-free codes only */
    ck_assert_msg(rc == MEDSHIM_OK || rc == MEDSHIM_ENOMEM ||
                      rc == MEDSHIM_EPOISONED || rc == MEDSHIM_EIO ||
                      rc == MEDSHIM_ECRYPTO,
                  "k=%ld rc=%d", k, rc);
    medshim_journal_close(jr);
    medshim_claim_free(c);
    if (rc == MEDSHIM_OK && k > 50)
      break;
    if (rc != MEDSHIM_OK)
      failures_seen++;
  }
  ck_assert_int_gt(failures_seen, 5);
  /* whatever failed, the journal opens and verifies */
  {
    medshim_journal *jr = NULL;
    medshim_verify_report rep;
    medshim_journal_options v = tu_opts(key, 0);
    ck_assert_int_eq(medshim_journal_open(&jr, j, &o, NULL), MEDSHIM_OK);
    medshim_journal_close(jr);
    memset(&rep, 0, sizeof rep);
    rep.version = MEDSHIM_VERIFY_REPORT_VERSION;
    ck_assert_int_eq(medshim_journal_verify(j, &v, &rep), MEDSHIM_OK);
  }
  tu_rmtree(dir);
  free(dir);
  free(j);
  free(key);
  free(tmpl);
}
END_TEST

START_TEST(test_alloc_schedule_load) {
  char path[4096];
  int failures_seen = 0;
  snprintf(path, sizeof path, "%s/examples/schedules/hangzhou-2022.json",
           getenv("MEDSHIM_SOURCE_DIR"));
  for (long k = 0;; k++) {
    medshim_schedule_set *set = NULL;
    int rc;
    countdown = k;
    rc = medshim_schedule_set_new(&set, NULL, NULL);
    if (rc == MEDSHIM_OK)
      rc = medshim_schedule_set_load_file(set, path, NULL);
    countdown = -1;
    ck_assert_msg(rc == MEDSHIM_OK || rc == MEDSHIM_ENOMEM || rc == MEDSHIM_EIO,
                  "k=%ld rc=%d", k, rc);
    medshim_schedule_set_free(set);
    if (rc == MEDSHIM_OK)
      break;
    failures_seen++;
  }
  ck_assert_int_gt(failures_seen, 5);
}
END_TEST

/* The texts: an allocation that fails is ENOMEM, never a text that lacks
 * its deadline. */
START_TEST(test_alloc_decision_text) {
  char path[4096];
  medshim_schedule_set *set = NULL;
  medshim_decision d = MEDSHIM_DECISION_INIT;
  int failures_seen = 0;
  snprintf(path, sizeof path, "%s/examples/schedules/hangzhou-2022.json",
           getenv("MEDSHIM_SOURCE_DIR"));
  ck_assert_int_eq(medshim_schedule_set_new(&set, NULL, NULL), MEDSHIM_OK);
  ck_assert_int_eq(medshim_schedule_set_load_file(set, path, NULL), MEDSHIM_OK);
  ck_assert_int_eq(medshim_schedule_decide(&d, set, MEDSHIM_SERVICE_INPATIENT,
                                           "330102", NULL, 1644545400),
                   MEDSHIM_OK);
  for (long k = 0;; k++) {
    char *t = NULL;
    int rc;
    countdown = k;
    rc = medshim_decision_text(&t, &d, MEDSHIM_SERVICE_INPATIENT,
                               MEDSHIM_TEXT_CASHIER, MEDSHIM_LANG_ZH);
    countdown = -1;
    ck_assert_msg(rc == MEDSHIM_OK || rc == MEDSHIM_ENOMEM, "k=%ld rc=%d", k, rc);
    if (rc == MEDSHIM_OK) {
      ck_assert_ptr_nonnull(strstr(t, "2023-12-31"));
      ck_assert_ptr_nonnull(strstr(t, "2022-02-14"));
    } else {
      ck_assert_ptr_null(t);
    }
    medshim_free(t);
    if (rc == MEDSHIM_OK)
      break;
    failures_seen++;
  }
  ck_assert_int_gt(failures_seen, 2);
  medshim_schedule_set_free(set);
}
END_TEST

int main(void) {
  Suite *s = suite_create("alloc");
  TCase *tc = tcase_create("alloc");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_alloc_claim_parse_and_render);
  tcase_add_test(tc, test_alloc_journal_open_defer_close);
  tcase_add_test(tc, test_alloc_schedule_load);
  tcase_add_test(tc, test_alloc_decision_text);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
