/* The CLI end to end without a shell, the same on Linux and on Windows
 * (where the other CLI suites' shell command lines and Python adapters
 * cannot run): `medshim replay` with medshim-sim as its exec adapter, one
 * process per call and persistent; a killed replay's adapters die with it
 * (the issue-9 rule; on Windows through the job object); and a `medshim
 * defer` killed mid-import (SIGKILL, TerminateProcess) keeps every claim it
 * acknowledged. Programs are started by testproc.h. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "testproc.h"
#include "testutil.h"

#define INSTITUTION "H33010600001"
#define AT "2022-03-16T10:00"

static char *dir, *cli, *sim, *jdir, *key, *ledger;

static void setup(void) {
  const char *c = getenv("MEDSHIM_CLI"), *s = getenv("MEDSHIM_SIM_TOOL");
  ck_assert_msg(c != NULL && s != NULL, "MEDSHIM_CLI or MEDSHIM_SIM_TOOL not set");
  cli = tu_native_path(c);
  sim = tu_native_path(s);
  dir = tu_tempdir();
  /* a journal under a Chinese name: UTF-8 arguments on every system */
  jdir = tu_path(dir, "日志-journal");
  key = tu_path(dir, "key");
  ledger = tu_path(dir, "ledger");
}

static void teardown(void) {
  tu_rmtree(dir);
  free(dir);
  free(cli);
  free(sim);
  free(jdir);
  free(key);
  free(ledger);
}

/* One claim line, MZnnnnnn, with its window journaled (no schedule step). */
static int claim_line(char *buf, size_t cap, int i) {
  return snprintf(
      buf, cap,
      "{\"visit_id\":\"MZ%06d\",\"service\":\"outpatient\","
      "\"insured_admdvs\":\"330102\",\"treated_admdvs\":\"330106\","
      "\"visit_time\":\"2022-02-11T09:30:00+08:00\",\"total_fen\":%d,"
      "\"self_paid_fen\":%d,\"invoice_no\":\"E3301-%06d\","
      "\"patient\":{\"name\":\"病人%d\",\"psn_no\":\"330000%08d\"},"
      "\"window\":{\"route\":\"hospital\",\"from\":\"2022-03-15T00:00:00+08:00\","
      "\"until\":\"2023-01-01T00:00:00+08:00\",\"schedule\":\"hangzhou-2022\","
      "\"version\":1},\"detail\":{\"items\":[{\"feedetl_sn\":\"1\","
      "\"det_item_fee_sumamt\":\"%d.00\"}]}}\n",
      i, 10000 + i, 10000 + i, i, i, i, 100 + i);
}

static void keygen(void) {
  const char *argv[] = {cli, "keygen", key, NULL};
  ck_assert_int_eq(tu_run_argv(argv, NULL, NULL, NULL), 0);
}

/* n claims deferred into a new journal from a file. */
static void journal(int n) {
  char *claims = tu_path(dir, "claims.jsonl"), line[2048];
  const char *argv[] = {cli, "defer", "--create", "--journal", jdir, "--key",
                        key, NULL};
  FILE *f = fopen(claims, "wb");
  ck_assert_ptr_nonnull(f);
  for (int i = 0; i < n; i++) {
    claim_line(line, sizeof line, i);
    fputs(line, f);
  }
  fclose(f);
  keygen();
  ck_assert_int_eq(tu_run_argv(argv, claims, NULL, NULL), 0);
  free(claims);
}

/* The adapter command: medshim-sim on the test's ledger, quoted so that
 * /bin/sh -c and cmd.exe /s /c both run it as is. */
static void adapter(char *buf, size_t cap, int persistent, int latency_ms) {
  snprintf(buf, cap, "\"%s\" --ledger \"%s\" --institution " INSTITUTION
                     " --latency-ms %d%s",
           sim, ledger, latency_ms, persistent ? "" : " --once");
}

static char *slurp(const char *name) {
  char *p = tu_path(dir, name);
  size_t len;
  char *text = (char *)tu_read_file(p, &len);
  ck_assert_ptr_nonnull(text);
  text = realloc(text, len + 1);
  text[len] = '\0';
  free(p);
  return text;
}

/* The last line of a file, as JSON. */
static json_t *last_json(const char *name) {
  char *text = slurp(name), *last;
  size_t n = strlen(text);
  json_t *o;
  while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
    text[--n] = '\0';
  last = strrchr(text, '\n');
  o = json_loads(last ? last + 1 : text, 0, NULL);
  ck_assert_msg(o != NULL, "not JSON: %s", last ? last + 1 : text);
  free(text);
  return o;
}

static long num(json_t *o, const char *k) {
  ck_assert_msg(json_is_integer(json_object_get(o, k)), "no %s", k);
  return (long)json_integer_value(json_object_get(o, k));
}

static int replay(int persistent, const char *command, const char *concurrency) {
  char *out = tu_path(dir, "replay.out"), *err = tu_path(dir, "replay.err");
  const char *argv[] = {cli, "replay", "--journal", jdir, "--key", key,
                        "--institution", INSTITUTION, "--at", AT,
                        "--concurrency", concurrency, "--timeout", "60",
                        persistent ? "--exec-persistent" : "--exec", command,
                        NULL};
  int rc = tu_run_argv(argv, NULL, out, err);
  if (rc != 0) { /* what replay said, for the failure that follows */
    char *text = slurp("replay.err");
    fprintf(stderr, "medshim replay exited with %d:\n%s", rc, text);
    free(text);
  }
  free(out);
  free(err);
  return rc;
}

/* Every claim settled once, by the simulator's own account too. */
static void check_settled(int n) {
  json_t *o = last_json("replay.out"), *st;
  char *out = tu_path(dir, "stats.out");
  const char *argv[] = {sim, "--stats", "--ledger", ledger, NULL};
  ck_assert_int_eq(num(o, "settled"), n);
  ck_assert_int_eq(num(o, "in_doubt"), 0);
  json_decref(o);
  ck_assert_int_eq(tu_run_argv(argv, NULL, out, NULL), 0);
  st = last_json("stats.out");
  ck_assert_int_eq(num(st, "active_settlements"), n);
  ck_assert_int_eq(num(st, "double_settlements"), 0);
  json_decref(st);
  free(out);
}

START_TEST(test_exec_per_call) {
  char command[8192];
  journal(6);
  adapter(command, sizeof command, 0, 0);
  ck_assert_int_eq(replay(0, command, "3"), 0);
  check_settled(6);
}
END_TEST

START_TEST(test_exec_persistent) {
  char command[8192];
  journal(8);
  adapter(command, sizeof command, 1, 50);
  ck_assert_int_eq(replay(1, command, "4"), 0);
  check_settled(8);
}
END_TEST

/* One process per call that serves until the end of its stdin (no
 * --once): each exits only if it alone holds its stdin's write end, so with
 * four started side by side, one that inherited another's pipe would keep
 * that one waiting past its result, and its claim would stay in doubt.
 * What an adapter inherits is its own pipes and nothing else. */
START_TEST(test_exec_per_call_adapters_inherit_only_their_pipes) {
  char command[8192];
  journal(12);
  adapter(command, sizeof command, 1 /* no --once */, 200);
  ck_assert_int_eq(replay(0, command, "4"), 0);
  check_settled(12);
}
END_TEST

/* An adapter that cannot be started is no settlement: every claim stays in
 * doubt or pending, nothing is guessed. */
START_TEST(test_exec_missing_adapter) {
  char command[8192];
  json_t *o;
  journal(2);
  snprintf(command, sizeof command, "\"%s\" --ledger \"%s\" --once",
           ledger /* not a program */, ledger);
  (void)replay(0, command, "1");
  o = last_json("replay.out");
  ck_assert_int_eq(num(o, "settled"), 0);
  json_decref(o);
}
END_TEST

/* A replay killed while its adapters are in a call leaves none of them
 * (nor what they started) running. */
START_TEST(test_killed_replay_leaves_no_adapter) {
  for (int persistent = 0; persistent < 2; persistent++) {
    char command[8192], *out = tu_path(dir, "replay.out");
    unsigned long kids[64];
    size_t n = 0, alive;
    tu_proc *p;
    const char *argv[] = {cli, "replay", "--journal", jdir, "--key", key,
                          "--institution", INSTITUTION, "--at", AT,
                          "--concurrency", "2", "--timeout", "300",
                          persistent ? "--exec-persistent" : "--exec", command,
                          NULL};
    if (persistent) { /* a journal, key and ledger of its own */
      tu_rmtree(jdir);
      tu_rmtree(key);
      tu_rmtree(ledger);
    }
    journal(4);
    /* every call takes ten minutes */
    adapter(command, sizeof command, persistent, 600000);
    p = tu_start(argv, NULL, out, NULL);
    /* until the adapters are up: the shells and the simulators */
    for (int i = 0; i < 200; i++) {
      tu_sleep_ms(50);
      n = tu_descendants(tu_proc_pid(p), kids, 64);
      if (n >= (persistent ? 2u : 4u))
        break;
    }
    tu_sleep_ms(500); /* and in their calls */
    n = tu_descendants(tu_proc_pid(p), kids, 64);
    ck_assert_uint_ge(n, persistent ? 2u : 4u);
    tu_kill(p);
    for (int i = 0; i < 100; i++) {
      alive = 0;
      for (size_t k = 0; k < n; k++)
        alive += (size_t)tu_pid_alive(kids[k]);
      if (alive == 0)
        break;
      tu_sleep_ms(50);
    }
    ck_assert_msg(alive == 0, "%lu of %lu adapter processes outlived the "
                  "killed replay (%s)", (unsigned long)alive, (unsigned long)n,
                  persistent ? "persistent" : "per call");
    free(out);
  }
}
END_TEST

/* defer killed while it imports: every claim it acknowledged is in the
 * journal, and the journal opens. */
START_TEST(test_defer_killed_mid_import) {
  enum { ACKED = 120, BATCH = 10 };
  const char *argv[] = {cli, "defer", "--create", "--journal", jdir, "--key",
                        key, NULL};
  const char *list[] = {cli, "list", "--journal", jdir, "--key", key, NULL};
  char line[4096], *listing;
  int sent = 0, acked = 0;
  char *listed = tu_path(dir, "list.out");
  tu_proc *p;
  keygen();
  p = tu_start(argv, NULL, NULL, NULL);
  while (acked < ACKED) {
    for (int i = 0; i < BATCH; i++, sent++) {
      int n = claim_line(line, sizeof line, sent);
      ck_assert_int_eq(tu_proc_write(p, line, (size_t)n), 0);
    }
    /* acknowledged once durable, without waiting for more input */
    while (acked < sent) {
      char want[64];
      ck_assert_int_ge(tu_proc_read_line(p, line, sizeof line), 0);
      snprintf(want, sizeof want, "\"visit_id\":\"MZ%06d\"", acked);
      ck_assert_msg(strstr(line, want) != NULL && strstr(line, "stored"),
                    "ack %d: %s", acked, line);
      acked++;
    }
  }
  /* more in flight, some perhaps half written: then the crash */
  for (int i = 0; i < 4 * BATCH; i++, sent++) {
    int n = claim_line(line, sizeof line, sent);
    ck_assert_int_eq(tu_proc_write(p, line, (size_t)n), 0);
  }
  tu_kill(p);
  ck_assert_int_eq(tu_run_argv(list, NULL, listed, NULL), 0);
  listing = slurp("list.out");
  for (int i = 0; i < acked; i++) {
    char want[64];
    snprintf(want, sizeof want, "\"visit_id\":\"MZ%06d\"", i);
    ck_assert_msg(strstr(listing, want) != NULL,
                  "acknowledged claim %d is missing after the crash", i);
  }
  free(listing);
  free(listed);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("cli_exec");
  TCase *tc = tcase_create("cli_exec");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, test_exec_per_call);
  tcase_add_test(tc, test_exec_persistent);
  tcase_add_test(tc, test_exec_per_call_adapters_inherit_only_their_pipes);
  tcase_add_test(tc, test_exec_missing_adapter);
  tcase_add_test(tc, test_killed_replay_leaves_no_adapter);
  tcase_add_test(tc, test_defer_killed_mid_import);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return tu_run(suite()); }
