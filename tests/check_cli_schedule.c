/* medshim check and medshim schedule, run as an operator runs them. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <sys/stat.h>
#endif

#include <jansson.h>

#include "errors_internal.h"
#include "os.h"
#include "testproc.h"
#include "testutil.h"

static char *dir;

static void setup(void) { dir = tu_tempdir(); }
static void teardown(void) {
  tu_rmtree(dir);
  free(dir);
}

/* Run a command line split at spaces (no argument has one), without a
 * shell, the same on every system; a relative examples/ path is the
 * source tree's. stdout captured (stderr to a file). */
MEDSHIM__PRINTF(3, 4)
static int sh(char **out, char **err, const char *fmt, ...) {
  char line[8192], *save = NULL, *own[64];
  va_list ap;
  char *op = tu_path(dir, "out"), *ep = tu_path(dir, "err");
  const char *argv[64];
  size_t len;
  int a = 0, nown = 0, status;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  for (char *w = strtok_r(line, " ", &save); w != NULL && a < 63;
       w = strtok_r(NULL, " ", &save)) {
    if (strncmp(w, "examples/", 9) == 0)
      w = own[nown++] = tu_path(getenv("MEDSHIM_SOURCE_DIR"), w);
    argv[a++] = w;
  }
  argv[a] = NULL;
  status = tu_run_argv(argv, NULL, op, ep);
  *out = (char *)tu_read_file(op, &len);
  *out = realloc(*out, len + 1);
  (*out)[len] = '\0';
  if (err != NULL) {
    *err = (char *)tu_read_file(ep, &len);
    *err = realloc(*err, len + 1);
    (*err)[len] = '\0';
  }
  while (nown > 0)
    free(own[--nown]);
  free(op);
  free(ep);
  return status;
}

/* The .json files of examples/schedules, as a shell glob would expand. */
static int add_json(const char *name, void *payload) {
  char *list = payload;
  size_t n = strlen(name);
  if (n > 5 && strcmp(name + n - 5, ".json") == 0) {
    strcat(list, " examples/schedules/");
    strcat(list, name);
  }
  return 0;
}

/* from's bytes into to, with the first @p old replaced by @p new. */
static void copy_replacing(const char *from, const char *to, const char *old,
                           const char *new) {
  size_t n = 0;
  char *text = (char *)tu_read_file(from, &n), *at;
  ck_assert_ptr_nonnull(text);
  text = realloc(text, n + 1);
  text[n] = '\0';
  if (old != NULL) {
    at = strstr(text, old);
    ck_assert_ptr_nonnull(at);
    ck_assert_uint_eq(strlen(old), strlen(new));
    memcpy(at, new, strlen(new));
  }
  tu_write_file(to, (const unsigned char *)text, n);
  free(text);
}

START_TEST(test_cli_check_output_shape) {
  char *out;
  json_t *o, *w, *r, *adv;
  json_error_t e;
  ck_assert_int_eq(sh(&out, NULL, "%s check --schedule "
                      "examples/schedules/hangzhou-2022.json --at "
                      "2022-02-11T09:30 --service inpatient --insured 330102 "
                      "--treated 330106", getenv("MEDSHIM_CLI")), 0);
  o = json_loads(out, 0, &e);
  ck_assert_msg(o != NULL, "not JSON: %s", out);
  ck_assert_str_eq(json_string_value(json_object_get(o, "decision")), "defer");
  ck_assert_ptr_nonnull(json_string_value(json_object_get(o, "reason")));
  ck_assert_str_eq(json_string_value(json_object_get(o, "until")),
                   "2022-02-15T00:00:00+08:00");
  w = json_object_get(o, "window");
  ck_assert_str_eq(json_string_value(json_object_get(w, "schedule")),
                   "hangzhou-2022");
  ck_assert_str_eq(json_string_value(json_object_get(w, "from")),
                   "2022-02-10T00:00:00+08:00");
  r = json_object_get(o, "replay");
  ck_assert_str_eq(json_string_value(json_object_get(r, "route")), "agency");
  ck_assert_str_eq(json_string_value(json_object_get(r, "until")),
                   "2024-01-01T00:00:00+08:00");
  adv = json_object_get(o, "advice");
  ck_assert(json_is_array(adv));
  json_decref(o);
  free(out);
  /* before the stop: advice, no replay */
  ck_assert_int_eq(sh(&out, NULL, "%s check --schedule "
                      "examples/schedules/hangzhou-2022.json --at "
                      "2022-02-09T09:30 --service inpatient --insured 330102",
                      getenv("MEDSHIM_CLI")), 0);
  o = json_loads(out, 0, &e);
  ck_assert_str_eq(json_string_value(json_object_get(o, "decision")), "online");
  adv = json_object_get(o, "advice");
  ck_assert_uint_eq(json_array_size(adv), 2);
  ck_assert_str_eq(json_string_value(json_object_get(json_array_get(adv, 0), "kind")),
                   "settle_before");
  ck_assert_str_eq(json_string_value(json_object_get(json_array_get(adv, 0), "at")),
                   "2022-02-10T00:00:00+08:00");
  ck_assert_str_eq(json_string_value(json_object_get(json_array_get(adv, 1), "kind")),
                   "admit_self_pay");
  ck_assert(json_is_null(json_object_get(o, "replay")));
  json_decref(o);
  free(out);
}
END_TEST

START_TEST(test_cli_check_lang) {
  char *out, *err;
  json_t *o;
  json_error_t e;
  const char *c, *r;
  ck_assert_int_eq(sh(&out, NULL, "%s check --schedule "
                      "examples/schedules/hangzhou-2022.json --at "
                      "2022-02-11T09:30 --service outpatient --insured 330102 "
                      "--lang zh", getenv("MEDSHIM_CLI")), 0);
  o = json_loads(out, 0, &e);
  ck_assert_msg(o != NULL, "not JSON: %s", out);
  ck_assert_str_eq(json_string_value(json_object_get(o, "reason_code")),
                   "planned_stop");
  c = json_string_value(json_object_get(o, "cashier_text"));
  r = json_string_value(json_object_get(o, "receipt_text"));
  ck_assert_ptr_nonnull(c);
  ck_assert_ptr_nonnull(r);
  ck_assert_ptr_nonnull(strstr(c, "全额收费"));
  ck_assert_ptr_nonnull(strstr(r, "至2022-12-31（含当日）止"));
  ck_assert_ptr_nonnull(strstr(r, "本院重新结算"));
  json_decref(o);
  free(out);
  /* without --lang: the code, no texts */
  ck_assert_int_eq(sh(&out, NULL, "%s check --schedule "
                      "examples/schedules/hangzhou-2022.json --at "
                      "2022-02-11T09:30 --service inpatient --insured 330102",
                      getenv("MEDSHIM_CLI")), 0);
  o = json_loads(out, 0, &e);
  ck_assert_str_eq(json_string_value(json_object_get(o, "reason_code")),
                   "agency_route");
  ck_assert_ptr_null(json_object_get(o, "cashier_text"));
  json_decref(o);
  free(out);
  ck_assert_int_eq(sh(&out, &err, "%s check --schedule "
                      "examples/schedules/hangzhou-2022.json --at "
                      "2022-02-11T09:30 --service inpatient --insured 330102 "
                      "--lang fr", getenv("MEDSHIM_CLI")), 64);
  ck_assert_msg(strstr(err, "--lang: unknown language 'fr'") != NULL, "%s", err);
  ck_assert_msg(strstr(err, "valid: en zh") != NULL, "%s", err);
  free(out);
  free(err);
}
END_TEST

START_TEST(test_cli_check_bad_input) {
  char *out, *err;
  ck_assert_int_eq(sh(&out, &err, "%s check --schedule "
                      "examples/schedules/hangzhou-2022.json --at yesterday "
                      "--service outpatient --insured 330102",
                      getenv("MEDSHIM_CLI")), 64);
  ck_assert_ptr_nonnull(strstr(err, "--at"));
  free(out);
  free(err);
  ck_assert_int_eq(sh(&out, &err, "%s check --schedule nosuch.json --at "
                      "2022-02-11 --service outpatient --insured 330102",
                      getenv("MEDSHIM_CLI")), 1);
  ck_assert_ptr_nonnull(strstr(err, "nosuch.json"));
  free(out);
  free(err);
}
END_TEST

/* An unknown service is answered with the valid ones and the nearest; case
 * differences and the Chinese names are accepted; missing options named. */
START_TEST(test_cli_check_says_what_is_wrong) {
  static const char *const ok[] = {"Outpatient", "OUTPATIENT", "门诊", "住院",
                                   "药店", "pharmacy"};
  const char *cli = getenv("MEDSHIM_CLI");
  char *out, *err;
  ck_assert_int_eq(sh(&out, &err, "%s check --schedule "
                      "examples/schedules/hangzhou-2022.json --at 2022-02-11 "
                      "--service outpatinet --insured 330102", cli), 64);
  ck_assert_msg(strstr(err, "medshim check: --service: unknown service "
                            "'outpatinet'; did you mean 'outpatient'?") != NULL,
                "%s", err);
  ck_assert_ptr_nonnull(strstr(err, "valid: outpatient chronic_outpatient"));
  ck_assert_ptr_nonnull(strstr(err, "门诊"));
  free(out);
  free(err);
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    ck_assert_int_eq(sh(&out, &err, "%s check --schedule "
                        "examples/schedules/hangzhou-2022.json --at 2022-02-11 "
                        "--service %s --insured 330102", cli, ok[i]), 0);
    ck_assert_msg(strstr(out, "\"decision\":\"defer\"") != NULL, "%s: %s",
                  ok[i], out);
    free(out);
    free(err);
  }
  ck_assert_int_eq(sh(&out, &err, "%s check --schedule "
                      "examples/schedules/hangzhou-2022.json --at 2022-02-11 "
                      "--service outpatient", cli), 64);
  ck_assert_msg(strstr(err, "medshim check: --insured ADMDVS is required") !=
                NULL, "%s", err);
  ck_assert_ptr_null(strstr(err, "usage:"));
  free(out);
  free(err);
  ck_assert_int_eq(sh(&out, &err, "%s check --frobnicate", cli), 64);
  ck_assert_ptr_nonnull(strstr(err, "medshim check: unrecognized option "
                                    "'--frobnicate'"));
  free(out);
  free(err);
}
END_TEST

START_TEST(test_cli_schedule_lint_sign_verify) {
  char *out, *err;
  const char *cli = getenv("MEDSHIM_CLI");
  char bad[4096];
  snprintf(bad, sizeof bad, "%s/bad.json", dir);
  static const char bad_json[] =
                "{\"schedule\":\"x\",\"version\":1,\"issued\":\"2022-01-01\","
                "\"source\":\"s\",\"regions\":[\"330100\"],\"phases\":[{"
                "\"services\":[\"outpatient\"],\"from\":\"2022-02-15\","
                "\"until\":\"2022-02-10\",\"effect\":\"stopped\"}]}";
  tu_write_file(bad, (const unsigned char *)bad_json, strlen(bad_json));
  {
    char list[4096] = "", *sdir = tu_path(getenv("MEDSHIM_SOURCE_DIR"),
                                          "examples/schedules");
    ck_assert_int_eq(medshim__os_list_dir(sdir, add_json, list), 0);
    ck_assert_ptr_nonnull(strstr(list, "hangzhou-2022.json"));
    ck_assert_int_eq(sh(&out, &err, "%s schedule lint%s", cli, list), 0);
    free(sdir);
  }
  ck_assert_ptr_nonnull(strstr(out, "hangzhou-2022.json: ok"));
  free(out);
  free(err);
  ck_assert_int_eq(sh(&out, &err, "%s schedule lint %s", cli, bad), 1);
  ck_assert_ptr_nonnull(strstr(err, "phases[0].until: must be after from"));
  free(out);
  free(err);
  ck_assert_int_eq(sh(&out, &err, "%s schedule timeline "
                      "examples/schedules/hangzhou-2022.json", cli), 0);
  /* days as people read them: the last day, inclusive, +08:00 */
  ck_assert_ptr_nonnull(strstr(out, "last day, inclusive"));
  ck_assert_msg(strstr(out, "agency   2022-03-15 through 2023-12-31") != NULL,
                "%s", out);
  ck_assert_ptr_nonnull(strstr(out, "hospital 2022-03-15 through 2022-12-31"));
  ck_assert_ptr_null(strstr(out, "2024-01-01")); /* the exclusive instants */
  ck_assert_ptr_null(strstr(out, "2023-01-01"));
  ck_assert_ptr_nonnull(strstr(out, "settle by 2022-02-09"));
  /* the two hospital rules differ by their visits: not two identical lines */
  ck_assert_msg(strstr(out, "for visits 2022-02-10 through 2022-02-14") != NULL,
                "%s", out);
  ck_assert_ptr_nonnull(strstr(out, "for visits 2022-02-15 through 2022-02-21"));
  {
    const char *p = out, *nl;
    char prev[512] = "";
    for (; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
      size_t n = (size_t)(nl - p);
      if (n > 0 && n < sizeof prev) {
        ck_assert_msg(strncmp(prev, p, n) != 0 || prev[n] != '\0',
                      "repeated line: %.*s", (int)n, p);
        memcpy(prev, p, n);
        prev[n] = '\0';
      }
    }
  }
  free(out);
  free(err);
  ck_assert_int_eq(sh(&out, &err, "%s schedule timelime x.json", cli), 64);
  ck_assert_msg(strstr(err, "medshim schedule: unknown subcommand 'timelime'; "
                            "did you mean 'timeline'?") != NULL, "%s", err);
  free(out);
  free(err);
  ck_assert_int_eq(sh(&out, &err, "%s schedule timeline", cli), 64);
  ck_assert_ptr_nonnull(strstr(err, "medshim schedule timeline: FILE is required"));
  free(out);
  free(err);
  ck_assert_int_eq(sh(&out, &err, "%s schedule verify x.json", cli), 64);
  ck_assert_ptr_nonnull(strstr(err, "medshim schedule verify: --pubkey "
                                    "PUBLIC.pem is required"));
  free(out);
  free(err);
  ck_assert_int_eq(sh(&out, &err, "%s schedule lint %s", cli, bad), 1);
  ck_assert_ptr_nonnull(strstr(err, "medshim schedule lint: "));
  free(out);
  free(err);
  {
    char *from = tu_path(getenv("MEDSHIM_SOURCE_DIR"),
                         "examples/schedules/beijing-2022.json");
    char *to = tu_path(dir, "b.json");
    copy_replacing(from, to, NULL, NULL);
    free(from);
    free(to);
  }
  ck_assert_int_eq(sh(&out, &err, "%s schedule keygen %s/k.pem %s/k.pub", cli,
                      dir, dir), 0);
  free(out);
  free(err);
  ck_assert_int_eq(sh(&out, &err, "%s schedule sign --key %s/k.pem %s/b.json",
                      cli, dir, dir), 0);
  free(out);
  free(err);
  ck_assert_int_eq(sh(&out, &err, "%s schedule verify --pubkey %s/k.pub "
                      "%s/b.json", cli, dir, dir), 0);
  ck_assert_ptr_nonnull(strstr(out, "signature valid"));
  free(out);
  free(err);
#ifndef _WIN32
  {
    /* both keys are the owner's only, whatever the umask */
    struct stat st;
    char *k2 = tu_path(dir, "k2.pem"), *p2 = tu_path(dir, "k2.pub");
    mode_t old = umask(022);
    ck_assert_int_eq(sh(&out, &err, "%s schedule keygen %s %s", cli, k2, p2), 0);
    umask(old);
    ck_assert_int_eq(stat(k2, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(stat(p2, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    free(out);
    free(err);
    free(k2);
    free(p2);
  }
#endif
  /* signed file accepted with --require-signed; tampered one refused */
  ck_assert_int_eq(sh(&out, &err, "%s check --schedule %s/b.json --pubkey "
                      "%s/k.pub --require-signed --at 2022-08-13 --service "
                      "outpatient --insured 110105", cli, dir, dir), 0);
  ck_assert_ptr_nonnull(strstr(out, "try_online"));
  free(out);
  free(err);
  {
    char *b = tu_path(dir, "b.json");
    copy_replacing(b, b, "2022-08-15T06:00", "2022-08-25T06:00");
    free(b);
  }
  ck_assert_int_eq(sh(&out, &err, "%s check --schedule %s/b.json --pubkey "
                      "%s/k.pub --at 2022-08-13 --service outpatient --insured "
                      "110105", cli, dir, dir), 1);
  ck_assert_ptr_nonnull(strstr(err, "signature does not verify"));
  free(out);
  free(err);
  ck_assert_int_eq(sh(&out, &err, "%s check --schedule "
                      "examples/schedules/beijing-2022.json --pubkey %s/k.pub "
                      "--require-signed --at 2022-08-13 --service outpatient "
                      "--insured 110105", cli, dir), 1);
  ck_assert_ptr_nonnull(strstr(err, "unsigned"));
  free(out);
  free(err);
  /* SM2: keygen --alg sm2, then sign, verify and check as with Ed25519;
   * the Ed25519 key does not verify it */
  {
    size_t n;
    char *src = tu_path(getenv("MEDSHIM_SOURCE_DIR"), "examples/schedules/beijing-2022.json");
    char *copy = tu_path(dir, "s.json"), *pub = tu_path(dir, "s.pub");
    unsigned char *data = tu_read_file(src, &n);
    ck_assert_ptr_nonnull(data);
    tu_write_file(copy, data, n);
    free(data);
    ck_assert_int_eq(sh(&out, &err, "%s schedule keygen --alg sm2 %s/s.pem %s",
                        cli, dir, pub), 0);
    free(out);
    free(err);
    data = tu_read_file(pub, &n);
    ck_assert_ptr_nonnull(data);
    data = realloc(data, n + 1);
    ck_assert_ptr_nonnull(data);
    data[n] = '\0';
    ck_assert_ptr_nonnull(strstr((char *)data, "PUBLIC KEY"));
    free(data);
    ck_assert_int_eq(sh(&out, &err, "%s schedule sign --key %s/s.pem %s", cli,
                        dir, copy), 0);
    free(out);
    free(err);
    ck_assert_int_eq(sh(&out, &err, "%s schedule verify --pubkey %s %s", cli,
                        pub, copy), 0);
    ck_assert_ptr_nonnull(strstr(out, "signature valid"));
    free(out);
    free(err);
    free(src);
    free(copy);
    free(pub);
  }
  ck_assert_int_eq(sh(&out, &err, "%s check --schedule %s/s.json --pubkey "
                      "%s/s.pub --require-signed --at 2022-08-13 --service "
                      "outpatient --insured 110105", cli, dir, dir), 0);
  free(out);
  free(err);
  ck_assert_int_eq(sh(&out, &err, "%s schedule verify --pubkey %s/k.pub "
                      "%s/s.json", cli, dir, dir), 1);
  free(out);
  free(err);
  ck_assert_int_eq(sh(&out, &err, "%s schedule keygen --alg rsa %s/x.pem "
                      "%s/x.pub", cli, dir, dir), 64);
  free(out);
  free(err);
}
END_TEST

/* A schedule after 2038-01-19 (where a 32-bit time_t ends) with a version
 * above INT_MAX: decided, its instants and version printed exactly. */
START_TEST(test_cli_check_after_2038) {
  static const char late_json[] =
      "{\"schedule\":\"late-2040\",\"version\":4000000000,\"issued\":"
      "\"2039-12-01T08:00+08:00\",\"source\":\"s\",\"regions\":[\"330100\"],"
      "\"phases\":[{\"services\":[\"outpatient\"],\"from\":\"2040-02-10T00:00\","
      "\"until\":\"2040-02-15T00:00\",\"effect\":\"stopped\"}],"
      "\"resettlement\":[{\"services\":[\"outpatient\"],\"route\":\"hospital\","
      "\"from\":\"2040-03-15T00:00\",\"until\":\"2040-12-31T24:00\"}]}";
  const char *cli = getenv("MEDSHIM_CLI");
  char path[4096], *out, *err;
  json_t *o, *w, *r;
  json_error_t e;
  snprintf(path, sizeof path, "%s/late.json", dir);
  tu_write_file(path, (const unsigned char *)late_json, strlen(late_json));
  ck_assert_int_eq(sh(&out, &err, "%s schedule lint %s", cli, path), 0);
  free(out);
  free(err);
  ck_assert_int_eq(sh(&out, &err, "%s check --schedule %s --at 2040-02-11T09:30 "
                      "--service outpatient --insured 330102", cli, path), 0);
  o = json_loads(out, 0, &e);
  ck_assert_msg(o != NULL, "not JSON: %s (%s)", out, err);
  ck_assert_str_eq(json_string_value(json_object_get(o, "decision")), "defer");
  ck_assert_str_eq(json_string_value(json_object_get(o, "until")),
                   "2040-02-15T00:00:00+08:00");
  w = json_object_get(o, "window");
  ck_assert_str_eq(json_string_value(json_object_get(w, "schedule")), "late-2040");
  ck_assert_int_eq(json_integer_value(json_object_get(w, "version")), 4000000000LL);
  ck_assert_str_eq(json_string_value(json_object_get(w, "from")),
                   "2040-02-10T00:00:00+08:00");
  r = json_object_get(o, "replay");
  ck_assert_str_eq(json_string_value(json_object_get(r, "from")),
                   "2040-03-15T00:00:00+08:00");
  ck_assert_str_eq(json_string_value(json_object_get(r, "until")),
                   "2041-01-01T00:00:00+08:00");
  json_decref(o);
  free(out);
  free(err);
  ck_assert_int_eq(sh(&out, &err, "%s schedule timeline %s", cli, path), 0);
  ck_assert_msg(strncmp(out, "late-2040 v4000000000\n", 22) == 0, "%s", out);
  ck_assert_msg(strstr(out, "hospital 2040-03-15 through 2040-12-31") != NULL,
                "%s", out);
  free(out);
  free(err);
}
END_TEST

int main(void) {
  Suite *s = suite_create("cli_schedule");
  TCase *tc = tcase_create("cli");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_cli_check_output_shape);
  tcase_add_test(tc, test_cli_check_bad_input);
  tcase_add_test(tc, test_cli_check_lang);
  tcase_add_test(tc, test_cli_check_says_what_is_wrong);
  tcase_add_test(tc, test_cli_schedule_lint_sign_verify);
  tcase_add_test(tc, test_cli_check_after_2038);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
