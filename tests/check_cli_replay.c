/* medshim replay, window, void, retry, expire and report, run as an
 * operator runs them, with fake exec adapters (tests/fake_adapter.py) that
 * misbehave on purpose. */
#define _GNU_SOURCE
#include <check.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "errors_internal.h"
#include "testutil.h"

static char *dir;
static char cli[4096], fake[4096], sched[4096];

static void setup(void) {
  dir = tu_tempdir();
  snprintf(cli, sizeof cli, "%s", getenv("MEDSHIM_CLI"));
  snprintf(fake, sizeof fake, "python3 %s/tests/fake_adapter.py",
           getenv("MEDSHIM_SOURCE_DIR"));
  snprintf(sched, sizeof sched, "%s/examples/schedules/hangzhou-2022.json",
           getenv("MEDSHIM_SOURCE_DIR"));
}

static void teardown(void) {
  tu_rmtree(dir);
  free(dir);
}

static char *slurp(const char *name) {
  char *p = tu_path(dir, name), *s;
  size_t len = 0;
  s = (char *)tu_read_file(p, &len);
  free(p);
  if (s == NULL)
    return strdup("");
  s = realloc(s, len + 1);
  s[len] = '\0';
  return s;
}

/* Run a shell command in dir; stdout in *out, stderr in the file "err". */
MEDSHIM__PRINTF(2, 3)
static int sh(char **out, const char *fmt, ...) {
  static const char create[] = "defer --create", suite[] = " --suite sm";
  char line[8192], cmd[16384], *at;
  va_list ap;
  int status;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  /* with MEDSHIM_TEST_SUITE=sm the journals are created with the SM suite */
  if (tu_suite() == MEDSHIM_JOURNAL_SUITE_SM &&
      (at = strstr(line, create)) != NULL) {
    at += sizeof create - 1;
    ck_assert_uint_lt(strlen(line) + sizeof suite, sizeof line);
    memmove(at + sizeof suite - 1, at, strlen(at) + 1);
    memcpy(at, suite, sizeof suite - 1);
  }
  snprintf(cmd, sizeof cmd, "cd '%s' && ( %s ) > out 2> err", dir, line);
  status = system(cmd);
  *out = slurp("out");
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The last line of the output: the summary. */
static json_t *summary_of(const char *s) {
  const char *last = s, *p;
  json_error_t e;
  json_t *o;
  size_t n = strlen(s);
  while (n > 0 && s[n - 1] == '\n')
    n--;
  for (p = s; p < s + n; p++)
    if (*p == '\n')
      last = p + 1;
  o = json_loadb(last, (size_t)(s + n - last), 0, &e);
  ck_assert_msg(o != NULL, "not JSON: %s", last);
  return o;
}

static long num(json_t *o, const char *k) {
  ck_assert_msg(json_is_integer(json_object_get(o, k)), "no %s", k);
  return (long)json_integer_value(json_object_get(o, k));
}

/* Claims MZ0..MZ(n-1), each its own patient; in-patients every `inpat`th. */
static void write_claims(const char *file, int n, int inpat) {
  char *path = tu_path(dir, file);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  for (int i = 0; i < n; i++)
    fprintf(f, "{\"visit_id\":\"MZ%d\",\"service\":\"%s\",\"insured_admdvs\":"
               "\"330102\",\"treated_admdvs\":\"330106\",\"visit_time\":"
               "\"2022-02-11T10:00\",\"total_fen\":%d,\"self_paid_fen\":%d,"
               "\"patient\":{\"name\":\"病人%d\",\"psn_no\":\"PSN%d\"},"
               "\"detail\":{\"items\":[{\"feedetl_sn\":\"1\",\"det_item_fee_"
               "sumamt\":\"%d.00\"}]}}\n",
            i, inpat > 0 && i % inpat == inpat - 1 ? "inpatient" : "outpatient",
            10000 + i, 10000 + i, i, i, 100 + i);
  fclose(f);
  free(path);
}

/* A journal "j" with n claims whose windows are assigned from the schedule. */
static void journal(int n, int inpat) {
  char *out;
  write_claims("claims.jsonl", n, inpat);
  ck_assert_int_eq(sh(&out, "%s keygen k && %s defer --create --journal j --key k < "
                      "claims.jsonl", cli, cli), 0);
  free(out);
  ck_assert_int_eq(sh(&out, "%s window --journal j --key k --schedule %s "
                      "--apply", cli, sched), 0);
  free(out);
}

#define REPLAY "%s replay --journal j --key k --institution H33010200001 "

static int count_lines(const char *s, const char *needle) {
  int n = 0;
  for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
    n++;
  return n;
}

START_TEST(test_replay_settles_and_reports) {
  char *out, *err;
  json_t *o, *m;
  journal(12, 12);
  /* before the window: nothing sent, and it says when the window opens */
  ck_assert_int_eq(sh(&out, REPLAY "--at 2022-02-20T10:00 --exec '%s settle'",
                      cli, fake), 0);
  o = summary_of(out);
  ck_assert_int_eq(num(o, "attempts"), 0);
  ck_assert_int_eq(num(o, "pending"), 12);
  ck_assert_str_eq(json_string_value(json_object_get(o, "opens_at")),
                   "2022-03-15T00:00:00+08:00");
  json_decref(o);
  err = slurp("err");
  ck_assert_msg(strstr(err, "medshim replay: no window is open yet; the first "
                            "opens at 2022-03-15T00:00:00+08:00") != NULL, "%s", err);
  free(err);
  free(out);
  /* in the window */
  ck_assert_int_eq(sh(&out, REPLAY "--at 2022-03-16T10:00 --concurrency 3 "
                      "--exec '%s settle'", cli, fake), 0);
  o = summary_of(out);
  ck_assert_int_eq(num(o, "settled"), 11);
  ck_assert_int_eq(num(o, "manual"), 1);
  ck_assert_int_eq(num(o, "in_doubt"), 0);
  ck_assert_int_eq(num(o, "bad_answers"), 0);
  ck_assert_int_eq(count_lines(out, "\"action\":\"send\""), 11);
  ck_assert_int_eq(count_lines(out, "\"action\":\"manual\""), 1);
  json_decref(o);
  free(out);
  ck_assert_int_eq(sh(&out, "%s list --journal j --key k --state settled", cli), 0);
  ck_assert_ptr_nonnull(strstr(out, "\"settlement_id\":\"SETL-MZ0\""));
  ck_assert_ptr_null(strstr(out, "病人0")); /* masked */
  free(out);
  /* the report: months by visit and by the platform's settlement time */
  ck_assert_int_eq(sh(&out, "%s report --journal j --key k", cli), 0);
  {
    json_error_t e;
    o = json_loads(out, 0, &e);
    ck_assert_msg(o != NULL, "%s", out);
  }
  ck_assert_int_eq(num(o, "claims"), 12);
  m = json_array_get(json_object_get(o, "by_visit_month"), 0);
  ck_assert_str_eq(json_string_value(json_object_get(m, "month")), "2022-02");
  ck_assert_int_eq(num(m, "count"), 12);
  m = json_array_get(json_object_get(o, "by_settlement_month"), 0);
  ck_assert_str_eq(json_string_value(json_object_get(m, "month")), "2022-03");
  ck_assert_int_eq(num(m, "settled"), 11);
  /* JSON keeps the exact instant, and says it is exclusive */
  m = json_array_get(json_object_get(o, "rows"), 0);
  ck_assert_str_eq(json_string_value(json_object_get(m, "deadline_until_exclusive")),
                   "2023-01-01T00:00:00+08:00");
  json_decref(o);
  free(out);
  /* CSV is for people: the notice's last day, inclusive */
  ck_assert_int_eq(sh(&out, "%s report --journal j --key k --csv", cli), 0);
  ck_assert_msg(strstr(out, ",refund_fen,deadline_last_day\n") != NULL, "%s", out);
  ck_assert_msg(strstr(out, "2022-02-11,outpatient,settled,11,") != NULL, "%s",
                out);
  ck_assert_msg(strstr(out, ",2022-12-31\n") != NULL, "%s", out);
  ck_assert_msg(strstr(out, ",2023-12-31\n") != NULL, "%s", out);
  ck_assert_ptr_null(strstr(out, "2023-01-01"));
  ck_assert_ptr_null(strstr(out, "2024-01-01"));
  free(out);
  ck_assert_int_eq(sh(&out, "%s export --manual --journal j --key k --csv "
                      "--reveal", cli), 0);
  ck_assert_ptr_nonnull(strstr(out, "MZ11,manual,inpatient"));
  ck_assert_msg(strstr(out, ",deadline_last_day\n") != NULL, "%s", out);
  ck_assert_msg(strstr(out, "\",2023-12-31\n") != NULL, "%s", out);
  free(out);
  ck_assert_int_eq(sh(&out, "%s export --manual --journal j --key k", cli), 0);
  ck_assert_ptr_nonnull(strstr(out, "\"deadline_until_exclusive\": "
                                    "\"2024-01-01T00:00:00+08:00\""));
  free(out);
}
END_TEST

/* Each bad answer leaves the claims in doubt with a clear reason, in the
 * claim's status (BAD_ANSWER) or on stderr, and settles nothing. */
START_TEST(test_bad_answers_stay_in_doubt) {
  static const struct {
    const char *mode, *reason;
    int bad_answer; /* 1: the library's checks; 0: the exec adapter's */
  } cases[] = {
      {"negative", "a negative amount", 1},
      {"badsum", "does not equal the total", 1},
      {"emptyid", "settlement_id is empty", 1},
      {"longid", "settlement_id longer than 64 bytes", 1},
      {"realamount", "\"total_fen\" is not an integer of fen", 0},
      {"badtime", "\"setl_time\" is not \"yyyy-MM-dd HH:mm:ss\"", 0},
      {"garbage", "a line that is not a JSON object", 0},
      {"noresult", "stdout closed without a result line", 0},
      {"exit3", "exited with status 3 after its result", 0},
  };
  char *out, *err;
  journal(3, 0);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_t *o;
    ck_assert_int_eq(sh(&out, "rm -rf c && cp -r j c && %s replay --journal c "
                        "--key k --institution H33010200001 --at "
                        "2022-03-16T10:00 --exec '%s %s'", cli, fake,
                        cases[i].mode), 0);
    o = summary_of(out);
    ck_assert_msg(num(o, "in_doubt") == 3 && num(o, "settled") == 0,
                  "%s: %s", cases[i].mode, out);
    ck_assert_int_eq(num(o, "bad_answers"), cases[i].bad_answer ? 3 : 0);
    ck_assert_int_eq(num(o, "adapter_errors"), cases[i].bad_answer ? 0 : 3);
    json_decref(o);
    free(out);
    err = slurp("err");
    ck_assert_int_eq(sh(&out, "%s list --journal c --key k --state in_doubt",
                        cli), 0);
    if (cases[i].bad_answer) {
      ck_assert_msg(strstr(out, "\"code\":\"BAD_ANSWER\"") != NULL &&
                        strstr(out, cases[i].reason) != NULL,
                    "%s: %s", cases[i].mode, out);
    } else {
      ck_assert_msg(strstr(err, cases[i].reason) != NULL, "%s: %s",
                    cases[i].mode, err);
      ck_assert_ptr_nonnull(strstr(err, "medshim replay: adapter: MZ0: "));
    }
    ck_assert_ptr_null(strstr(err, "病人")); /* no personal data */
    free(err);
    free(out);
  }
}
END_TEST

START_TEST(test_options_are_strict) {
  static const struct {
    const char *args, *msg;
  } cases[] = {
      {"--rate twenty",
       "medshim replay: --rate: 'twenty' is not a number (0 to 1e+06)"},
      {"--rate 5x", "--rate: '5x' is not a number (0 to 1e+06)"},
      {"--rate -3", "--rate: '-3' is not a number (0 to 1e+06)"},
      {"--concurrency 0", "--concurrency: 0 is out of range (1 to 64)"},
      {"--concurrency 65", "--concurrency: 65 is out of range (1 to 64)"},
      {"--concurrency eight",
       "--concurrency: 'eight' is not a whole number (1 to 64)"},
      {"--concurrency abc", "--concurrency: 'abc' is not a whole number"},
      {"--timeout -1", "--timeout: '-1' is not a whole number (1 to 86400)"},
      {"--timeout 5x", "--timeout: '5x' is not a whole number (1 to 86400)"},
      /* getopt's own messages, in the command's words */
      {"--bogus", "medshim replay: unrecognized option '--bogus'"},
      {"--concurrency", "medshim replay: option '--concurrency' needs a value"},
      {"--timeout 60 --visibility-delay 30", "must be longer than --timeout"},
      {"--expire-grace-days 0", "use --expire-now"},
      {"--at 2022-13-01", "--at: '2022-13-01' is not an ISO 8601 time"},
      {"--schedule x.json", "use `medshim window"},
      {"--exec a --exec-persistent b", "one of --exec and --exec-persistent"},
  };
  char *out, *err;
  journal(1, 0);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ck_assert_int_eq(sh(&out, REPLAY "--exec true %s", cli, cases[i].args), 64);
    err = slurp("err");
    ck_assert_msg(strstr(err, cases[i].msg) != NULL, "%s: %s", cases[i].args,
                  err);
    ck_assert_msg(strncmp(err, "medshim replay: ", 16) == 0, "%s", err);
    free(err);
    free(out);
  }
  /* a missing option is named, not just the whole usage */
  ck_assert_int_eq(sh(&out, REPLAY "", cli), 64);
  err = slurp("err");
  ck_assert_msg(strstr(err, "medshim replay: --exec or --exec-persistent is "
                            "required") != NULL, "%s", err);
  ck_assert_ptr_null(strstr(err, "usage:"));
  free(err);
  free(out);
  ck_assert_int_eq(sh(&out, "%s replay --key k --exec true", cli), 64);
  err = slurp("err");
  ck_assert_msg(strstr(err, "medshim replay: --journal DIR is required") !=
                NULL, "%s", err);
  free(err);
  free(out);
  /* the institution code is required and checked */
  ck_assert_int_eq(sh(&out, "unset MEDSHIM_INSTITUTION; %s replay --journal j "
                      "--key k --exec true", cli), 64);
  err = slurp("err");
  ck_assert_ptr_nonnull(strstr(err, "medshim replay: --institution CODE is "
                                    "required"));
  free(err);
  free(out);
  ck_assert_int_eq(sh(&out, "%s replay --journal j --key k --exec true "
                      "--institution H3301", cli), 64);
  free(out);
  ck_assert_int_eq(sh(&out, "MEDSHIM_INSTITUTION=H33010200001 %s replay "
                      "--journal j --key k --dry-run --at 2022-03-16", cli), 0);
  free(out);
}
END_TEST

START_TEST(test_implausible_time_is_refused) {
  char *out, *err;
  journal(2, 0);
  ck_assert_int_eq(sh(&out, REPLAY "--at 2031-01-01 --exec '%s settle'", cli,
                      fake), 1);
  err = slurp("err");
  ck_assert_msg(strstr(err, "medshim replay: refused:") != NULL &&
                    strstr(err, "--confirm-time") != NULL &&
                    strstr(err, "Nothing was changed") != NULL, "%s", err);
  free(err);
  free(out);
  ck_assert_int_eq(sh(&out, "%s list --journal j --key k --state pending", cli), 0);
  ck_assert_int_eq(count_lines(out, "\"state\":\"pending\""), 2);
  free(out);
  ck_assert_int_eq(sh(&out, REPLAY "--at 2031-01-01 --confirm-time --exec "
                      "'%s settle'", cli, fake), 0);
  free(out);
}
END_TEST

/* Claims deferred during an unplanned outage have no window: replay leaves
 * them; `medshim window` lists the change and records it only with --apply. */
START_TEST(test_window_command) {
  char *out, *err;
  json_t *o;
  write_claims("claims.jsonl", 3, 0);
  ck_assert_int_eq(sh(&out, "%s keygen k && %s defer --create --journal j --key k < "
                      "claims.jsonl", cli, cli), 0);
  free(out);
  ck_assert_int_eq(sh(&out, REPLAY "--at 2022-03-16 --exec '%s settle'", cli,
                      fake), 0);
  o = summary_of(out);
  ck_assert_int_eq(num(o, "unplanned"), 3);
  ck_assert_int_eq(num(o, "attempts"), 0);
  json_decref(o);
  ck_assert_ptr_nonnull(strstr(out, "medshim window"));
  free(out);
  ck_assert_int_eq(sh(&out, "%s window --journal j --key k --schedule %s", cli,
                      sched), 3);
  ck_assert_int_eq(count_lines(out, "\"before\":null,\"after\":{\"route\":"
                                    "\"hospital\",\"from\":\"2022-03-15T00:00"
                                    ":00+08:00\""), 3);
  err = slurp("err");
  ck_assert_ptr_nonnull(strstr(err, "nothing was recorded"));
  free(err);
  free(out);
  /* still unplanned: the listing changed nothing */
  ck_assert_int_eq(sh(&out, REPLAY "--at 2022-03-16 --dry-run", cli), 0);
  o = summary_of(out);
  ck_assert_int_eq(num(o, "unplanned"), 3);
  json_decref(o);
  free(out);
  ck_assert_int_eq(sh(&out, "%s window --journal j --key k --schedule %s "
                      "--apply", cli, sched), 0);
  free(out);
  ck_assert_int_eq(sh(&out, "%s window --journal j --key k --schedule %s", cli,
                      sched), 0);
  ck_assert_str_eq(out, "");
  free(out);
  ck_assert_int_eq(sh(&out, REPLAY "--at 2022-03-16 --exec '%s settle'", cli,
                      fake), 0);
  o = summary_of(out);
  ck_assert_int_eq(num(o, "settled"), 3);
  json_decref(o);
  free(out);
}
END_TEST

/* void, retry and expire: many claims; nothing changes without --yes. */
START_TEST(test_bulk_person_commands) {
  char *out, *err;
  json_t *o;
  journal(6, 0);
  ck_assert_int_eq(sh(&out, REPLAY "--at 2022-03-16T10:00 --exec '%s reject'",
                      cli, fake), 0);
  free(out);
  /* without --yes: the list, exit 3, nothing changed */
  ck_assert_int_eq(sh(&out, "%s retry --journal j --key k --state rejected "
                      "--code 1406", cli), 3);
  ck_assert_int_eq(count_lines(out, "\"to\":\"pending\""), 6);
  err = slurp("err");
  ck_assert_ptr_nonnull(strstr(err, "medshim retry: 6 claims would change"));
  ck_assert_ptr_nonnull(strstr(err, "--yes"));
  free(err);
  free(out);
  ck_assert_int_eq(sh(&out, "%s list --journal j --key k --state rejected", cli), 0);
  ck_assert_int_eq(count_lines(out, "\"state\":\"rejected\""), 6);
  free(out);
  /* a wrong code selects nothing */
  ck_assert_int_eq(sh(&out, "%s retry --journal j --key k --code 9999 --yes",
                      cli), 0);
  ck_assert_str_eq(out, "");
  free(out);
  /* ids from arguments and a file */
  ck_assert_int_eq(sh(&out, "printf 'MZ1\\n\\nMZ2\\n' > ids && %s void "
                      "--journal j --key k --file ids MZ0 NOPE --yes", cli), 2);
  ck_assert_int_eq(count_lines(out, "\"result\":\"changed\""), 3);
  ck_assert_ptr_nonnull(strstr(out, "{\"visit_id\":\"NOPE\",\"skip\":\"no such "
                                    "claim\",\"result\":\"unchanged\"}"));
  free(out);
  ck_assert_int_eq(sh(&out, "%s retry --journal j --key k --state rejected "
                      "--yes", cli), 0);
  ck_assert_int_eq(count_lines(out, "\"result\":\"changed\""), 3);
  free(out);
  /* expire: listed, then done; voided claims are not touched */
  ck_assert_int_eq(sh(&out, "%s expire --journal j --key k MZ3 MZ0", cli), 3);
  ck_assert_ptr_nonnull(strstr(out, "\"visit_id\":\"MZ3\",\"state\":\"pending\","
                                    "\"to\":\"expired\""));
  ck_assert_ptr_nonnull(strstr(out, "\"visit_id\":\"MZ0\",\"state\":\"voided\""));
  ck_assert_int_eq(count_lines(out, "\"skip\""), 1);
  free(out);
  ck_assert_int_eq(sh(&out, "%s expire --journal j --key k MZ3 --yes", cli), 0);
  free(out);
  /* past its deadline it cannot be retried: the exact instant, and the
   * last day as the notice says it */
  ck_assert_int_eq(sh(&out, "%s retry --journal j --key k MZ3 --at "
                      "2023-01-05", cli), 3);
  ck_assert_msg(strstr(out, "\"until\":\"2023-01-01T00:00:00+08:00\"") != NULL,
                "%s", out);
  ck_assert_msg(strstr(out, "\"last_day\":\"2022-12-31\"") != NULL, "%s", out);
  free(out);
  ck_assert_int_eq(sh(&out, "%s retry --journal j --key k MZ3 --yes --at "
                      "2022-03-17", cli), 0);
  free(out);
  ck_assert_int_eq(sh(&out, "%s void --journal j --key k", cli), 64);
  free(out);
  ck_assert_int_eq(sh(&out, REPLAY "--at 2022-03-17T10:00 --exec '%s settle'",
                      cli, fake), 0);
  o = summary_of(out);
  ck_assert_int_eq(num(o, "settled"), 3);
  ck_assert_int_eq(num(o, "voided"), 3);
  json_decref(o);
  free(out);
}
END_TEST

/* At concurrency 8 every adapter holds only its own stdin, stdout and
 * stderr (no other call's pipe keeps its input or output open), and the
 * calls run side by side. */
START_TEST(test_concurrent_calls_share_no_descriptors) {
  char *out;
  double t;
  journal(16, 0);
  t = now();
  ck_assert_int_eq(sh(&out, REPLAY "--at 2022-03-16T10:00 --concurrency 8 "
                      "--exec '%s settle --sleep 1 --fds fds'",
                      cli, fake), 0);
  t = now() - t;
  ck_assert_int_eq(count_lines(out, "\"settled\":16"), 1);
  free(out);
  ck_assert_msg(t < 8.0, "16 calls of 1 s at concurrency 8 took %.1f s", t);
  ck_assert_int_eq(sh(&out, "sort -u fds"), 0);
  ck_assert_str_eq(out, "0 1 2\n");
  free(out);
}
END_TEST

static int pid_alive(long pid) {
  char path[64], buf[512];
  FILE *f;
  int alive = 0;
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  f = fopen(path, "r");
  if (f == NULL)
    return 0;
  if (fgets(buf, sizeof buf, f) != NULL) {
    const char *p = strrchr(buf, ')');
    alive = p != NULL && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
  }
  fclose(f);
  return alive;
}

static int alive_in_pidfile(const char *name) {
  char *s = slurp(name), *p = s;
  int n = 0;
  while (*p) {
    long pid = strtol(p, &p, 10);
    if (pid > 0 && pid_alive(pid))
      n++;
    while (*p == '\n')
      p++;
  }
  free(s);
  return n;
}

static int lines_in(const char *name) {
  char *s = slurp(name);
  int n = count_lines(s, "\n");
  free(s);
  return n;
}

/* A background grandchild that keeps stdout open must not hold the call
 * past its result line; it is killed with the adapter's group. */
START_TEST(test_background_child_does_not_hold_the_call) {
  char *out;
  double t;
  journal(2, 0);
  t = now();
  ck_assert_int_eq(sh(&out, REPLAY "--at 2022-03-16T10:00 --timeout 30 "
                      "--exec '%s background --pidfile pids'", cli, fake), 0);
  t = now() - t;
  ck_assert_int_eq(count_lines(out, "\"settled\":2"), 1);
  free(out);
  ck_assert_msg(t < 10.0, "took %.1f s", t);
  ck_assert_int_eq(lines_in("pids"), 4); /* 2 adapters, 2 grandchildren */
  usleep(200000);
  ck_assert_int_eq(alive_in_pidfile("pids"), 0);
}
END_TEST

/* A hung adapter is killed with its group at the timeout. */
START_TEST(test_hung_adapter_is_killed_at_the_timeout) {
  char *out, *err;
  double t;
  json_t *o;
  journal(1, 0);
  t = now();
  ck_assert_int_eq(sh(&out, REPLAY "--at 2022-03-16T10:00 --timeout 2 --exec "
                      "'%s hang --spawn-bg --pidfile pids'", cli, fake), 0);
  t = now() - t;
  o = summary_of(out);
  ck_assert_int_eq(num(o, "in_doubt"), 1);
  json_decref(o);
  free(out);
  ck_assert_msg(t >= 2.0 && t < 6.0, "took %.1f s", t);
  err = slurp("err");
  ck_assert_ptr_nonnull(strstr(err, "no result within --timeout 2 s"));
  free(err);
  ck_assert_int_eq(lines_in("pids"), 2);
  usleep(200000);
  ck_assert_int_eq(alive_in_pidfile("pids"), 0);
}
END_TEST

/* kill -9 of medshim replay leaves no adapter running: per call and
 * persistent, adapters and their background children. */
START_TEST(test_killed_replay_leaves_no_adapter) {
  for (int persistent = 0; persistent < 2; persistent++) {
    char *out, cmd[16384];
    pid_t pid;
    journal(4, 0);
    snprintf(cmd, sizeof cmd,
             "exec " REPLAY "--at 2022-03-16T10:00 --timeout 300 --concurrency 4 %s "
                    "'%s hang --spawn-bg --pidfile pids%s' > /dev/null 2>&1",
             cli, persistent ? "--exec-persistent" : "--exec", fake,
             persistent ? " --persistent" : "");
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
      if (chdir(dir) != 0)
        _exit(127);
      execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
      _exit(127);
    }
    /* wait until the adapters and their children are all up */
    for (int i = 0; i < 200 && lines_in("pids") < (persistent ? 5 : 8); i++)
      usleep(50000);
    ck_assert_int_eq(lines_in("pids"), persistent ? 5 : 8);
    ck_assert_int_eq(alive_in_pidfile("pids"), persistent ? 5 : 8);
    /* the shell exec'ed medshim (a single command), so pid is medshim */
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
    for (int i = 0; i < 40 && alive_in_pidfile("pids") > 0; i++)
      usleep(50000);
    ck_assert_int_eq(alive_in_pidfile("pids"), 0);
    ck_assert_int_eq(sh(&out, "rm -rf j k pids claims.jsonl"), 0);
    free(out);
  }
}
END_TEST

START_TEST(test_persistent_adapter) {
  char *out, *err;
  json_t *o;
  journal(10, 0);
  /* one process for the run, requests in flight at once */
  ck_assert_int_eq(sh(&out, REPLAY "--at 2022-03-16T10:00 --concurrency 4 "
                      "--exec-persistent '%s settle --persistent --sleep 0.3 "
                      "--pidfile pids'", cli, fake), 0);
  o = summary_of(out);
  ck_assert_int_eq(num(o, "settled"), 10);
  json_decref(o);
  free(out);
  ck_assert_int_eq(lines_in("pids"), 1);
  ck_assert_int_eq(alive_in_pidfile("pids"), 0); /* ended with the run */
  /* an adapter that dies as soon as it starts: every claim unknown, and
   * no worker waits for a start that already happened */
  ck_assert_int_eq(sh(&out, "rm -rf c && cp -r j c && timeout 60 %s replay "
                      "--journal c --key k --institution H33010200001 --at "
                      "2022-03-16T10:00 --concurrency 8 --timeout 5 "
                      "--exec-persistent true", cli), 0);
  free(out);
  /* a crash: what was in flight is unknown; it is restarted for the rest */
  ck_assert_int_eq(sh(&out, "rm -rf j k pids"), 0);
  free(out);
  journal(6, 0);
  ck_assert_int_eq(sh(&out, REPLAY "--at 2022-03-16T10:00 --concurrency 1 "
                      "--exec-persistent '%s crash --persistent --pidfile "
                      "pids'", cli, fake), 0);
  o = summary_of(out);
  ck_assert_int_gt(num(o, "in_doubt"), 0);
  ck_assert_int_gt(num(o, "settled"), 0);
  ck_assert_int_eq(num(o, "in_doubt") + num(o, "settled"), 6);
  json_decref(o);
  free(out);
  ck_assert_int_gt(lines_in("pids"), 1);
  err = slurp("err");
  ck_assert_ptr_nonnull(strstr(err, "it is started again for the next request"));
  free(err);
  /* the in-doubt ones are probed (no visibility delay: a fake platform),
   * found unsettled, and settled once */
  ck_assert_int_eq(sh(&out, REPLAY "--at 2022-03-16T11:00 --visibility-delay 0 "
                      "--exec-persistent '%s notfound --persistent'", cli,
                      fake), 0);
  o = summary_of(out);
  ck_assert_int_eq(num(o, "settled"), 6);
  ck_assert_int_gt(num(o, "queries"), 0);
  json_decref(o);
  free(out);
}
END_TEST

/* The dry run prints exactly the action lines the real run prints, on 20
 * random journals (each run on its own copy). */
START_TEST(test_dry_run_matches_real_run) {
  static const char *const ats[] = {"2022-02-20T10:00", "2022-03-16T10:00",
                                    "2023-01-03T10:00", "2023-02-01T10:00",
                                    "2024-02-01T10:00"};
  static const char *const services[] = {"outpatient", "pharmacy", "inpatient",
                                         "chronic_outpatient"};
  unsigned seed = 20220316;
  for (int round = 0; round < 20; round++) {
    char *out, *dry, *real, path[4200];
    int n = 3 + (int)(rand_r(&seed) % 20);
    const char *at = ats[rand_r(&seed) % 5];
    unsigned conc = 1 + rand_r(&seed) % 4;
    FILE *f;
    snprintf(path, sizeof path, "%s/claims.jsonl", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < n; i++)
      fprintf(f, "{\"visit_id\":\"R%d-%d\",\"service\":\"%s\","
                 "\"insured_admdvs\":\"330102\",\"treated_admdvs\":\"330106\","
                 "\"visit_time\":\"2022-02-%02uT10:00\",\"total_fen\":%u,"
                 "\"self_paid_fen\":%u,\"patient\":{\"name\":\"张%d\","
                 "\"psn_no\":\"P%u\"}}\n",
              round, i, services[rand_r(&seed) % 4], 8 + rand_r(&seed) % 18,
              1000 + (unsigned)i, 1000 + (unsigned)i, i, rand_r(&seed) % 6);
    fclose(f);
    ck_assert_int_eq(sh(&out, "rm -rf j k a b && %s keygen k && %s defer --create "
                        "--journal j --key k < claims.jsonl && %s window "
                        "--journal j --key k --schedule %s --apply", cli, cli,
                        cli, sched), 0);
    free(out);
    if (rand_r(&seed) % 2) { /* some claims already decided by a person */
      ck_assert_int_ge(sh(&out, "%s void --journal j --key k R%d-0 --yes",
                          cli, round), 0);
      free(out);
    }
    ck_assert_int_eq(sh(&out, "cp -r j a && cp -r j b"), 0);
    free(out);
    ck_assert_int_eq(sh(&out, "%s replay --journal a --key k --institution "
                        "H33010200001 --at %s --confirm-time --concurrency %u "
                        "--dry-run | grep '\"action\"' | sort", cli, at, conc),
                     0);
    dry = out;
    ck_assert_int_eq(sh(&out, "%s replay --journal b --key k --institution "
                        "H33010200001 --at %s --confirm-time --concurrency %u "
                        "--exec '%s settle' | grep '\"action\"' | sort", cli,
                        at, conc, fake), 0);
    real = out;
    ck_assert_msg(strcmp(dry, real) == 0, "round %d at %s:\ndry:\n%s\nreal:\n%s",
                  round, at, dry, real);
    /* every claim but a voided one has its line */
    ck_assert_int_ge(count_lines(dry, "\n"), n - 1);
    free(dry);
    free(real);
  }
}
END_TEST

/* A cashier process holds the journal and keeps deferring while the
 * operator's replay runs: neither gets "journal busy". */
START_TEST(test_replay_while_a_cashier_defers) {
  char *out, *acks, *r1;
  json_t *o;
  journal(6, 0);
  write_claims("more.jsonl", 10, 0);
  ck_assert_int_eq(sh(&out, "sed -i 's/\"MZ/\"NEW/' more.jsonl"), 0);
  free(out);
  ck_assert_int_eq(
      sh(&out, "(sleep 2; cat more.jsonl) | %s defer --create --journal j --key k "
               "--schedule %s > acks 2> deferr & sleep 0.7; "
               REPLAY "--at 2022-03-16T10:00 --exec '%s settle' > r1; rc=$?; "
               "wait $!; d=$?; [ $rc -eq 0 ] && [ $d -eq 0 ]",
         cli, sched, cli, fake),
      0);
  free(out);
  r1 = slurp("r1");
  o = summary_of(r1);
  ck_assert_int_eq(num(o, "settled"), 6); /* the claims there at its start */
  json_decref(o);
  free(r1);
  acks = slurp("acks");
  ck_assert_int_eq(count_lines(acks, "\"stored\""), 10);
  free(acks);
  /* the next run takes the cashier's new claims */
  ck_assert_int_eq(sh(&out, REPLAY "--at 2022-03-16T11:00 --exec '%s settle'",
                      cli, fake), 0);
  o = summary_of(out);
  ck_assert_int_eq(num(o, "settled"), 16);
  json_decref(o);
  free(out);
}
END_TEST

int main(void) {
  Suite *s = suite_create("cli_replay");
  TCase *tc = tcase_create("cli");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_replay_settles_and_reports);
  tcase_add_test(tc, test_bad_answers_stay_in_doubt);
  tcase_add_test(tc, test_options_are_strict);
  tcase_add_test(tc, test_implausible_time_is_refused);
  tcase_add_test(tc, test_window_command);
  tcase_add_test(tc, test_bulk_person_commands);
  tcase_add_test(tc, test_concurrent_calls_share_no_descriptors);
  tcase_add_test(tc, test_background_child_does_not_hold_the_call);
  tcase_add_test(tc, test_hung_adapter_is_killed_at_the_timeout);
  tcase_add_test(tc, test_killed_replay_leaves_no_adapter);
  tcase_add_test(tc, test_persistent_adapter);
  tcase_add_test(tc, test_dry_run_matches_real_run);
  tcase_add_test(tc, test_replay_while_a_cashier_defers);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
