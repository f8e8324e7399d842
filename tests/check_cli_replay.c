/* medshim replay with the medshim-sim exec adapter, then void, retry,
 * report and export, run as an operator runs them. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <jansson.h>

#include "testutil.h"

static char *dir;
static char cli[4096], sim[4096];

static void setup(void) {
  char *slash;
  dir = tu_tempdir();
  snprintf(cli, sizeof cli, "%s", getenv("MEDSHIM_CLI"));
  snprintf(sim, sizeof sim, "%s", cli);
  slash = strrchr(sim, '/');
  snprintf(slash + 1, sizeof sim - (size_t)(slash + 1 - sim), "medshim-sim");
}

static void teardown(void) {
  tu_rmtree(dir);
  free(dir);
}

static int sh(char **out, const char *fmt, ...) {
  char line[8192], cmd[16384];
  char *op = tu_path(dir, "out");
  va_list ap;
  size_t len;
  int status;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  snprintf(cmd, sizeof cmd, "cd '%s' && %s > '%s'", dir, line, op);
  status = system(cmd);
  *out = (char *)tu_read_file(op, &len);
  *out = realloc(*out, len + 1);
  (*out)[len] = '\0';
  free(op);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static json_t *json_of(const char *s) {
  json_error_t e;
  json_t *o = json_loads(s, 0, &e);
  ck_assert_msg(o != NULL, "not JSON: %s", s);
  return o;
}

#define SCHED "%s/examples/schedules/hangzhou-2022.json"

static void journal_with_claims(void) {
  char *out;
  FILE *f;
  char path[4096];
  snprintf(path, sizeof path, "%s/claims.jsonl", dir);
  f = fopen(path, "w");
  for (int i = 0; i < 12; i++)
    fprintf(f, "{\"visit_id\":\"MZ%d\",\"service\":\"%s\",\"insured_admdvs\":"
               "\"330102\",\"treated_admdvs\":\"330106\",\"visit_time\":"
               "\"2022-02-11T10:00\",\"total_fen\":%d,\"self_paid_fen\":%d,"
               "\"patient\":{\"name\":\"病人%d\",\"psn_no\":\"PSN%d\"}}\n",
            i, i == 11 ? "inpatient" : "outpatient", 10000 + i, 10000 + i, i, i);
  fclose(f);
  ck_assert_int_eq(sh(&out, "%s keygen k && %s defer --journal j --key k < "
                      "claims.jsonl", cli, cli), 0);
  free(out);
}

START_TEST(test_cli_replay_with_exec_adapter) {
  char *out;
  json_t *o;
  journal_with_claims();
  /* before the window: nothing sent */
  ck_assert_int_eq(sh(&out, "%s replay --journal j --key k --schedule " SCHED
                      " --at 2022-02-20T10:00 --exec '%s --ledger ledger'",
                      cli, getenv("MEDSHIM_SOURCE_DIR"), sim), 0);
  o = json_of(out);
  ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 0);
  ck_assert_int_eq(json_integer_value(json_object_get(o, "pending")), 12);
  json_decref(o);
  free(out);
  /* in the window, with lost answers and transient failures */
  ck_assert_int_eq(sh(&out, "%s replay --journal j --key k --schedule " SCHED
                      " --at 2022-03-16T10:00 --concurrency 3 --exec '%s "
                      "--ledger ledger --lost-permille 400 --retry-permille "
                      "200'", cli, getenv("MEDSHIM_SOURCE_DIR"), sim), 0);
  free(out);
  /* later, again, until nothing is left */
  ck_assert_int_eq(sh(&out, "%s replay --journal j --key k --schedule " SCHED
                      " --at 2022-03-20T10:00 --exec '%s --ledger ledger'",
                      cli, getenv("MEDSHIM_SOURCE_DIR"), sim), 0);
  o = json_of(out);
  ck_assert_int_eq(json_integer_value(json_object_get(o, "settled")), 11);
  ck_assert_int_eq(json_integer_value(json_object_get(o, "manual")), 1);
  ck_assert_int_eq(json_integer_value(json_object_get(o, "in_doubt")), 0);
  json_decref(o);
  free(out);
  ck_assert_int_eq(sh(&out, "%s --stats --ledger ledger", sim), 0);
  ck_assert_str_eq(out, "{\"settlements\":11,\"double_attempts\":0}\n");
  free(out);
  /* list shows the settlement */
  ck_assert_int_eq(sh(&out, "%s list --journal j --key k --state settled", cli), 0);
  ck_assert_ptr_nonnull(strstr(out, "\"settlement_id\":\"SIM"));
  ck_assert_ptr_nonnull(strstr(out, "\"refund_fen\":"));
  free(out);
  /* report */
  ck_assert_int_eq(sh(&out, "%s report --journal j --key k", cli), 0);
  o = json_of(out);
  ck_assert_int_eq(json_integer_value(json_object_get(o, "claims")), 12);
  ck_assert_int_eq(json_integer_value(json_object_get(
                       json_object_get(o, "by_state"), "settled")), 11);
  ck_assert_int_gt(json_integer_value(json_object_get(o, "refunds_due_fen")), 0);
  json_decref(o);
  free(out);
  ck_assert_int_eq(sh(&out, "%s report --journal j --key k --csv", cli), 0);
  ck_assert_ptr_nonnull(strstr(out, "day,service,state,count,total_fen"));
  ck_assert_ptr_nonnull(strstr(out, "2022-02-11,inpatient,manual,1,10011"));
  free(out);
  /* the in-patient goes to the agency: the export lists it, masked */
  ck_assert_int_eq(sh(&out, "%s export --manual --journal j --key k", cli), 0);
  o = json_of(out);
  ck_assert_uint_eq(json_array_size(o), 1);
  ck_assert_str_eq(json_string_value(json_object_get(json_array_get(o, 0),
                                                     "visit_id")), "MZ11");
  ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(
                                   json_array_get(o, 0), "materials")),
                               "discharge summary"));
  ck_assert_ptr_null(strstr(out, "病人11"));
  json_decref(o);
  free(out);
  ck_assert_int_eq(sh(&out, "%s export --manual --journal j --key k --csv "
                      "--reveal", cli), 0);
  ck_assert_ptr_nonnull(strstr(out, "MZ11,manual,inpatient"));
  ck_assert_ptr_nonnull(strstr(out, "病人11"));
  free(out);
}
END_TEST

START_TEST(test_cli_void_retry_and_unknown_answers) {
  char *out;
  journal_with_claims();
  ck_assert_int_eq(sh(&out, "%s void --journal j --key k MZ0", cli), 0);
  free(out);
  ck_assert_int_eq(sh(&out, "%s void --journal j --key k MZ0 2>/dev/null", cli), 1);
  free(out);
  /* an adapter that always rejects */
  ck_assert_int_eq(sh(&out, "%s replay --journal j --key k --schedule " SCHED
                      " --at 2022-03-16T10:00 --exec 'echo "
                      "{\\\"status\\\":\\\"rejected\\\",\\\"code\\\":\\\"1406\\\","
                      "\\\"message\\\":\\\"no such person\\\"}'",
                      cli, getenv("MEDSHIM_SOURCE_DIR")), 0);
  free(out);
  ck_assert_int_eq(sh(&out, "%s list --journal j --key k --state rejected", cli), 0);
  ck_assert_ptr_nonnull(strstr(out, "\"code\":\"1406\""));
  free(out);
  ck_assert_int_eq(sh(&out, "%s retry --journal j --key k MZ1", cli), 0);
  free(out);
  ck_assert_int_eq(sh(&out, "%s retry --journal j --key k MZ0 2>/dev/null", cli), 1);
  free(out);
  /* an adapter that answers garbage, or fails: the claim stays in doubt
   * and nothing else is sent for it */
  ck_assert_int_eq(sh(&out, "%s replay --journal j --key k --schedule " SCHED
                      " --at 2022-03-16T11:00 --exec 'echo hello'", cli,
                      getenv("MEDSHIM_SOURCE_DIR")), 0);
  ck_assert_ptr_nonnull(strstr(out, "\"in_doubt\":1"));
  free(out);
  ck_assert_int_eq(sh(&out, "%s replay --journal j --key k --schedule " SCHED
                      " --at 2022-03-16T12:00 --timeout 1 --exec 'sleep 5'",
                      cli, getenv("MEDSHIM_SOURCE_DIR")), 0);
  ck_assert_ptr_nonnull(strstr(out, "\"attempts\":0"));
  ck_assert_ptr_nonnull(strstr(out, "\"in_doubt\":1"));
  free(out);
  /* the platform says it never saw it: settled now, once */
  ck_assert_int_eq(sh(&out, "%s replay --journal j --key k --schedule " SCHED
                      " --at 2022-03-16T13:00 --exec '%s --ledger ledger'",
                      cli, getenv("MEDSHIM_SOURCE_DIR"), sim), 0);
  ck_assert_ptr_nonnull(strstr(out, "\"in_doubt\":0"));
  ck_assert_ptr_nonnull(strstr(out, "\"settled\":1"));
  free(out);
}
END_TEST

int main(void) {
  Suite *s = suite_create("cli_replay");
  TCase *tc = tcase_create("cli");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_cli_replay_with_exec_adapter);
  tcase_add_test(tc, test_cli_void_retry_and_unknown_answers);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
