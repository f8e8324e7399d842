/* Replay: exactly once under crashes and lost answers, windows and routes,
 * backoff and its cap, rate limit, concurrency, expiry, void and retry,
 * refunds, per-patient ordering. */
#define _GNU_SOURCE
#include <check.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "medshim/medshim.h"
#include "medshim/sim.h"
#include "replay_internal.h"
#include "testutil.h"
#include "timeutil_internal.h"

static char *dir, *jdir, *key, *ledger;

static int64_t T(const char *s) {
  int64_t t;
  ck_assert_int_eq(medshim__time_parse(&t, s, strlen(s)), 0);
  return t;
}

static void setup(void) {
  dir = tu_tempdir();
  jdir = tu_path(dir, "journal");
  key = tu_path(dir, "key");
  ledger = tu_path(dir, "ledger");
  tu_write_key(key, 3);
  medshim__replay_hook = NULL;
}

static void teardown(void) {
  tu_rmtree(dir);
  free(dir);
  free(jdir);
  free(key);
  free(ledger);
}

static medshim_journal *jopen(void) {
  medshim_journal_options o = tu_opts(key, MEDSHIM_JOURNAL_CREATE);
  medshim_journal *j = NULL;
  ck_assert_int_eq(medshim_journal_open(&j, jdir, &o, NULL), MEDSHIM_OK);
  return j;
}

static void add(medshim_journal *j, const char *id, const char *psn,
                medshim_service svc, const char *when, int64_t total,
                int64_t self_paid) {
  medshim_claim_fields f = MEDSHIM_CLAIM_FIELDS_INIT;
  medshim_claim *c = NULL;
  f.visit_id = id;
  f.service = svc;
  f.insured_admdvs = "330102";
  f.treated_admdvs = "330106";
  f.visit_time = T(when);
  f.total_fen = total;
  f.self_paid_fen = self_paid;
  f.patient_psn_no = psn;
  ck_assert_int_eq(medshim_claim_create(&c, &f, NULL), MEDSHIM_OK);
  ck_assert_int_eq(medshim_journal_defer(j, c, NULL), MEDSHIM_OK);
  medshim_claim_free(c);
}

/* n out-patient claims during the Hangzhou stop, one patient each. */
static void add_n(medshim_journal *j, int n) {
  for (int i = 0; i < n; i++) {
    char id[32], psn[32];
    snprintf(id, sizeof id, "MZ%04d", i);
    snprintf(psn, sizeof psn, "P%04d", i);
    add(j, id, psn, MEDSHIM_SERVICE_OUTPATIENT, "2022-02-11T10:00", 10000 + i,
        10000 + i);
  }
}

/* Hangzhou's rules, mirrored: out-patients at the hospital from 03-15 to
 * the end of 2022, in-patients at the agency. */
static int hangzhou_window(medshim_replay_window *w, const medshim_claim *c,
                           void *payload) {
  (void)payload;
  if (medshim_claim_service(c) == MEDSHIM_SERVICE_INPATIENT) {
    w->route = MEDSHIM_ROUTE_AGENCY;
    w->from = T("2022-03-15");
    w->until = T("2024-01-01");
  } else {
    w->route = MEDSHIM_ROUTE_HOSPITAL;
    w->from = T("2022-03-15");
    w->until = T("2023-01-01");
  }
  return 0;
}

static medshim_replay_options opts_at(const char *at) {
  medshim_replay_options o = MEDSHIM_REPLAY_OPTIONS_INIT;
  o.at = T(at);
  o.window = hangzhou_window;
  o.seed = 7;
  return o;
}

static medshim_sim *sim_open(const char *path, uint32_t retry, uint32_t reject,
                             uint32_t lost, uint32_t latency) {
  medshim_sim_options so = MEDSHIM_SIM_OPTIONS_INIT;
  medshim_sim *s = NULL;
  so.ledger_path = path;
  so.retry_permille = retry;
  so.reject_permille = reject;
  so.lost_permille = lost;
  so.latency_ms = latency;
  so.seed = 11;
  ck_assert_int_eq(medshim_sim_open(&s, &so), MEDSHIM_OK);
  return s;
}

static medshim_claim_status status_of(medshim_journal *j, const char *id) {
  medshim_claim_status st;
  ck_assert_int_eq(medshim_journal_get(NULL, &st, j, id), MEDSHIM_OK);
  return st;
}

START_TEST(test_replay_settles_each_once_with_refunds) {
  medshim_journal *j = jopen();
  medshim_sim *sim = sim_open(NULL, 0, 0, 0, 0);
  medshim_adapter a;
  medshim_replay_options o = opts_at("2022-03-16T09:00");
  medshim_replay_summary s;
  add_n(j, 30);
  medshim_sim_adapter(&a, sim);
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_uint_eq(s.claims, 30);
  ck_assert_uint_eq(s.settled, 30);
  ck_assert_uint_eq(s.attempts, 30);
  ck_assert_uint_eq(medshim_sim_settlements(sim), 30);
  ck_assert_uint_eq(medshim_sim_double_attempts(sim), 0);
  {
    medshim_claim_status st = status_of(j, "MZ0007");
    int64_t total = 10007;
    ck_assert_int_eq(st.state, MEDSHIM_STATE_SETTLED);
    ck_assert_int_eq(st.attempts, 1);
    ck_assert_int_eq(st.fund_paid_fen, total * 700 / 1000);
    ck_assert_int_eq(st.acct_paid_fen, total * 100 / 1000);
    ck_assert_int_eq(st.patient_paid_fen, total - st.fund_paid_fen - st.acct_paid_fen);
    /* paid the total in cash; owed only the cash part */
    ck_assert_int_eq(st.refund_fen, total - st.patient_paid_fen);
    ck_assert_str_ne(st.settlement_id, "");
  }
  ck_assert_int_gt(s.refunds_due_fen, 0);
  /* a second run sends nothing */
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_uint_eq(s.attempts, 0);
  ck_assert_uint_eq(s.settled, 30);
  ck_assert_uint_eq(medshim_sim_settle_calls(sim), 30);
  medshim_sim_close(sim);
  medshim_journal_close(j);
}
END_TEST

START_TEST(test_replay_waits_for_window_and_keeps_agency_claims) {
  medshim_journal *j = jopen();
  medshim_sim *sim = sim_open(NULL, 0, 0, 0, 0);
  medshim_adapter a;
  medshim_replay_options o = opts_at("2022-02-20T10:00");
  medshim_replay_summary s;
  medshim_schedule_set *set = NULL;
  char path[4096];
  add_n(j, 5);
  add(j, "ZY0001", "Q1", MEDSHIM_SERVICE_INPATIENT, "2022-02-12T08:00", 500000,
      500000);
  medshim_sim_adapter(&a, sim);
  /* with the real Hangzhou schedule: platform is back on 02-15, but
   * re-settlement opens only on 03-15 */
  snprintf(path, sizeof path, "%s/examples/schedules/hangzhou-2022.json",
           getenv("MEDSHIM_SOURCE_DIR"));
  ck_assert_int_eq(medshim_schedule_set_new(&set, NULL, NULL), MEDSHIM_OK);
  ck_assert_int_eq(medshim_schedule_set_load_file(set, path, NULL), MEDSHIM_OK);
  o.window = NULL;
  o.schedules = set;
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_uint_eq(s.attempts, 0);
  ck_assert_uint_eq(s.pending, 6);
  ck_assert_uint_eq(medshim_sim_settle_calls(sim), 0);
  o.at = T("2022-03-15T00:00");
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_uint_eq(s.settled, 5);
  ck_assert_uint_eq(s.manual, 1);
  ck_assert_uint_eq(medshim_sim_settle_calls(sim), 5); /* never the in-patient */
  ck_assert_int_eq(status_of(j, "ZY0001").state, MEDSHIM_STATE_MANUAL);
  medshim_schedule_set_free(set);
  medshim_sim_close(sim);
  medshim_journal_close(j);
}
END_TEST

START_TEST(test_replay_lost_answers_resolved_by_query) {
  medshim_journal *j = jopen();
  medshim_sim *sim = sim_open(NULL, 0, 0, 500, 0);
  medshim_adapter a;
  medshim_replay_options o = opts_at("2022-03-16T09:00");
  medshim_replay_summary s;
  add_n(j, 40);
  medshim_sim_adapter(&a, sim);
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_uint_eq(s.settled, 40);
  ck_assert_uint_gt(s.queries, 5);          /* about half the answers lost */
  ck_assert_uint_eq(s.attempts, 40);        /* none re-sent blindly */
  ck_assert_uint_eq(medshim_sim_settlements(sim), 40);
  ck_assert_uint_eq(medshim_sim_double_attempts(sim), 0);
  medshim_sim_close(sim);
  medshim_journal_close(j);
}
END_TEST

START_TEST(test_replay_backoff_grows_is_capped_then_rejects) {
  medshim_journal *j = jopen();
  medshim_sim *sim = sim_open(NULL, 1000, 0, 0, 0); /* always transient */
  medshim_adapter a;
  medshim_replay_options o = opts_at("2022-03-16T09:00");
  medshim_replay_summary s;
  int64_t at = o.at;
  const int64_t lo[] = {30, 60, 120, 150}, hi[] = {60, 120, 240, 300};
  add_n(j, 1);
  medshim_sim_adapter(&a, sim);
  o.backoff_base_seconds = 60;
  o.backoff_cap_seconds = 300;
  o.max_attempts = 5;
  for (int k = 0; k < 4; k++) {
    medshim_claim_status st;
    o.at = at;
    ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
    st = status_of(j, "MZ0000");
    ck_assert_int_eq(st.state, MEDSHIM_STATE_RETRY_WAIT);
    ck_assert_int_eq(st.attempts, k + 1);
    ck_assert_msg(st.not_before - at >= lo[k] && st.not_before - at <= hi[k],
                  "attempt %d: delay %lld", k + 1, (long long)(st.not_before - at));
    /* not due yet: nothing sent */
    o.at = st.not_before - 1;
    ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
    ck_assert_uint_eq(s.attempts, 0);
    at = st.not_before;
  }
  o.at = at;
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  {
    medshim_claim_status st = status_of(j, "MZ0000");
    ck_assert_int_eq(st.state, MEDSHIM_STATE_REJECTED);
    ck_assert_str_eq(st.code, "MAX_ATTEMPTS");
  }
  ck_assert_uint_eq(medshim_sim_settle_calls(sim), 5);
  medshim_sim_close(sim);
  medshim_journal_close(j);
}
END_TEST

static double mono(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

START_TEST(test_replay_rate_limit) {
  medshim_journal *j = jopen();
  medshim_sim *sim = sim_open(NULL, 0, 0, 0, 0);
  medshim_adapter a;
  medshim_replay_options o = opts_at("2022-03-16T09:00");
  medshim_replay_summary s;
  double t;
  add_n(j, 21);
  medshim_sim_adapter(&a, sim);
  o.rate = 50; /* 21 calls need at least 20 intervals of 20 ms */
  o.concurrency = 4;
  t = mono();
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  t = mono() - t;
  ck_assert_uint_eq(s.settled, 21);
  ck_assert_msg(t >= 20.0 / 50.0 - 0.005, "21 settlements at 50/s took %.3f s", t);
  medshim_sim_close(sim);
  medshim_journal_close(j);
}
END_TEST

START_TEST(test_replay_concurrency_bound) {
  medshim_journal *j = jopen();
  medshim_sim *sim = sim_open(NULL, 0, 0, 0, 40), *one;
  medshim_adapter a;
  medshim_replay_options o = opts_at("2022-03-16T09:00");
  medshim_replay_summary s;
  add_n(j, 24);
  medshim_sim_adapter(&a, sim);
  o.concurrency = 4;
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_uint_eq(s.settled, 24);
  ck_assert_uint_le(medshim_sim_max_concurrency(sim), 4);
  ck_assert_uint_ge(medshim_sim_max_concurrency(sim), 2);
  medshim_sim_close(sim);
  medshim_journal_close(j);
  /* concurrency 1 never overlaps */
  tu_rmtree(jdir);
  j = jopen();
  add_n(j, 6);
  one = sim_open(NULL, 0, 0, 0, 20);
  medshim_sim_adapter(&a, one);
  o.concurrency = 1;
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_uint_eq(medshim_sim_max_concurrency(one), 1);
  medshim_sim_close(one);
  medshim_journal_close(j);
}
END_TEST

START_TEST(test_replay_expires_at_deadline) {
  medshim_journal *j = jopen();
  medshim_sim *sim = sim_open(NULL, 0, 0, 0, 0);
  medshim_adapter a;
  medshim_replay_options o = opts_at("2022-12-31T23:59");
  medshim_replay_summary s;
  add(j, "A", "PA", MEDSHIM_SERVICE_OUTPATIENT, "2022-02-11T10:00", 100, 100);
  medshim_sim_adapter(&a, sim);
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_int_eq(status_of(j, "A").state, MEDSHIM_STATE_SETTLED);
  add(j, "B", "PB", MEDSHIM_SERVICE_PHARMACY, "2022-02-11T10:00", 100, 100);
  o.at = T("2022-12-31T24:00");
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_int_eq(status_of(j, "B").state, MEDSHIM_STATE_EXPIRED);
  ck_assert_uint_eq(s.expired, 1);
  ck_assert_uint_eq(medshim_sim_settle_calls(sim), 1);
  medshim_sim_close(sim);
  medshim_journal_close(j);
}
END_TEST

START_TEST(test_replay_void_and_retry) {
  medshim_journal *j = jopen();
  medshim_sim *bad = sim_open(NULL, 0, 1000, 0, 0), *good;
  medshim_adapter a;
  medshim_replay_options o = opts_at("2022-03-16T09:00");
  medshim_replay_summary s;
  medshim_claim_status st;
  add_n(j, 3);
  medshim_sim_adapter(&a, bad);
  ck_assert_int_eq(medshim_replay_void(j, "MZ0002", o.at), MEDSHIM_OK);
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_uint_eq(s.rejected, 2);
  ck_assert_uint_eq(s.voided, 1);
  st = status_of(j, "MZ0000");
  ck_assert_str_eq(st.code, "1406");
  /* rejected claims wait for a person: a run does not resend them */
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_uint_eq(s.attempts, 0);
  ck_assert_int_eq(medshim_replay_retry(j, "MZ0000", o.at), MEDSHIM_OK);
  ck_assert_int_eq(medshim_replay_retry(j, "MZ0002", o.at), MEDSHIM_ESTATE);
  good = sim_open(NULL, 0, 0, 0, 0);
  medshim_sim_adapter(&a, good);
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_int_eq(status_of(j, "MZ0000").state, MEDSHIM_STATE_SETTLED);
  ck_assert_int_eq(status_of(j, "MZ0001").state, MEDSHIM_STATE_REJECTED);
  ck_assert_int_eq(status_of(j, "MZ0002").state, MEDSHIM_STATE_VOIDED);
  /* settled claims cannot be voided here: reverse them on the platform */
  ck_assert_int_eq(medshim_replay_void(j, "MZ0000", o.at), MEDSHIM_ESTATE);
  ck_assert_int_eq(medshim_replay_void(j, "nope", o.at), MEDSHIM_ENOTFOUND);
  medshim_sim_close(bad);
  medshim_sim_close(good);
  medshim_journal_close(j);
}
END_TEST

START_TEST(test_replay_negative_refund_is_flagged) {
  medshim_journal *j = jopen();
  medshim_sim *sim = sim_open(NULL, 0, 0, 0, 0);
  medshim_adapter a;
  medshim_replay_options o = opts_at("2022-03-16T09:00");
  medshim_replay_summary s;
  medshim_claim_status st;
  /* paid 10 yuan of 100 at the till; owes 20 in cash after settlement */
  add(j, "N", "PN", MEDSHIM_SERVICE_OUTPATIENT, "2022-02-11T10:00", 10000, 1000);
  add(j, "P", "PP", MEDSHIM_SERVICE_OUTPATIENT, "2022-02-11T10:00", 10000, 10000);
  medshim_sim_adapter(&a, sim);
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  st = status_of(j, "N");
  ck_assert_int_eq(st.state, MEDSHIM_STATE_SETTLED);
  ck_assert_int_eq(st.refund_fen, -1000);
  ck_assert_str_eq(st.code, "NEGATIVE_REFUND");
  ck_assert_uint_eq(s.negative_refunds, 1);
  ck_assert_int_eq(s.refunds_due_fen, 10000 - 2000); /* only P's */
  medshim_sim_close(sim);
  medshim_journal_close(j);
}
END_TEST

/* A test adapter: fixed outcomes for some visits, order of calls kept. */
typedef struct scripted {
  medshim_sim *sim;
  char order[64][16];
  int n;
} scripted;

static int scripted_settle(medshim_settlement *out, const medshim_claim *c,
                           const char *k, uint32_t attempt, void *payload) {
  scripted *sc = payload;
  const char *id = medshim_claim_visit_id(c);
  (void)attempt;
  snprintf(sc->order[sc->n++], 16, "%s", id);
  if (strcmp(id, "A1") == 0) {
    out->outcome = MEDSHIM_OUTCOME_REJECTED;
    snprintf(out->code, sizeof out->code, "POISON");
    return 0;
  }
  if (strcmp(id, "C1") == 0) {
    out->outcome = MEDSHIM_OUTCOME_RETRY;
    return 0;
  }
  return medshim_sim_settle(sc->sim, out, k, medshim_claim_total_fen(c));
}

static int scripted_query(medshim_settlement *out, const medshim_claim *c,
                          const char *k, uint32_t attempt, void *payload) {
  (void)c;
  (void)attempt;
  return medshim_sim_query(((scripted *)payload)->sim, out, k);
}

START_TEST(test_replay_patient_order_and_poison) {
  medshim_journal *j = jopen();
  scripted sc;
  medshim_adapter a = {MEDSHIM_ADAPTER_VERSION, scripted_settle, scripted_query, &sc};
  medshim_replay_options o = opts_at("2022-03-16T09:00");
  medshim_replay_summary s;
  int a2 = -1, a1 = -1;
  memset(&sc, 0, sizeof sc);
  sc.sim = sim_open(NULL, 0, 0, 0, 0);
  add(j, "A1", "PA", MEDSHIM_SERVICE_OUTPATIENT, "2022-02-11T10:00", 100, 100);
  add(j, "B1", "PB", MEDSHIM_SERVICE_OUTPATIENT, "2022-02-11T10:00", 100, 100);
  add(j, "C1", "PC", MEDSHIM_SERVICE_OUTPATIENT, "2022-02-11T10:00", 100, 100);
  add(j, "A2", "PA", MEDSHIM_SERVICE_OUTPATIENT, "2022-02-11T11:00", 100, 100);
  add(j, "C2", "PC", MEDSHIM_SERVICE_OUTPATIENT, "2022-02-11T11:00", 100, 100);
  add(j, "B2", "PB", MEDSHIM_SERVICE_OUTPATIENT, "2022-02-11T11:00", 100, 100);
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  /* the poison claim is parked; the others go through */
  ck_assert_int_eq(status_of(j, "A1").state, MEDSHIM_STATE_REJECTED);
  ck_assert_int_eq(status_of(j, "A2").state, MEDSHIM_STATE_SETTLED);
  ck_assert_int_eq(status_of(j, "B1").state, MEDSHIM_STATE_SETTLED);
  ck_assert_int_eq(status_of(j, "B2").state, MEDSHIM_STATE_SETTLED);
  /* C1 must be retried later; C2 waits behind it (patient order) */
  ck_assert_int_eq(status_of(j, "C1").state, MEDSHIM_STATE_RETRY_WAIT);
  ck_assert_int_eq(status_of(j, "C2").state, MEDSHIM_STATE_PENDING);
  for (int i = 0; i < sc.n; i++) {
    if (strcmp(sc.order[i], "A1") == 0)
      a1 = i;
    if (strcmp(sc.order[i], "A2") == 0)
      a2 = i;
  }
  ck_assert_int_lt(a1, a2);
  for (int i = 0; i < sc.n; i++)
    ck_assert_str_ne(sc.order[i], "C2");
  medshim_sim_close(sc.sim);
  medshim_journal_close(j);
}
END_TEST

/* ---- crashes ------------------------------------------------------------- */

static int crash_step, crash_after;
static atomic_int crash_seen; /* workers run the hook concurrently */

static void crash_hook(int step, const char *visit_id) {
  (void)visit_id;
  if (step == crash_step && ++crash_seen == crash_after)
    raise(SIGKILL);
}

START_TEST(test_replay_exactly_once_across_crashes) {
  const int N = 24;
  int rounds = 0, killed = 0;
  medshim_journal *j = jopen();
  add_n(j, N);
  medshim_journal_close(j);
  /* Kill the replaying process at every step of the protocol, at several
   * claims, with lost answers and concurrency in the mix. */
  for (int step = REPLAY_STEP_BEFORE_IN_DOUBT; step <= REPLAY_STEP_AFTER_RECORD;
       step++) {
    for (int after = 1; after <= 5; after += 2) {
      pid_t pid = fork();
      int status;
      ck_assert_int_ge(pid, 0);
      if (pid == 0) {
        medshim_sim *sim = sim_open(ledger, 0, 0, 300, 0);
        medshim_adapter a;
        medshim_replay_options o = opts_at("2022-03-16T09:00");
        medshim_journal *cj = jopen();
        crash_step = step;
        crash_after = after;
        crash_seen = 0;
        medshim__replay_hook = crash_hook;
        medshim_sim_adapter(&a, sim);
        o.concurrency = (unsigned)(1 + after % 3);
        (void)medshim_replay_run(NULL, cj, &a, &o);
        _exit(0); /* everything settled before the crash point */
      }
      ck_assert_int_eq(waitpid(pid, &status, 0), pid);
      killed += WIFSIGNALED(status);
      rounds++;
    }
  }
  ck_assert_int_ge(killed, 8);
  /* the final replay, in this process, with honest answers */
  {
    medshim_sim *sim = sim_open(ledger, 0, 0, 0, 0);
    medshim_adapter a;
    medshim_replay_options o = opts_at("2022-03-16T10:00");
    medshim_replay_summary s;
    j = jopen();
    medshim_sim_adapter(&a, sim);
    ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
    ck_assert_uint_eq(s.settled, (size_t)N);
    ck_assert_uint_eq(medshim_sim_settlements(sim), (size_t)N);
    ck_assert_uint_eq(medshim_sim_double_attempts(sim), 0);
    for (int i = 0; i < N; i++) {
      char id[16], k[MEDSHIM_REPLAY_KEY_LEN + 1];
      medshim_claim_status st;
      medshim_settlement q;
      snprintf(id, sizeof id, "MZ%04d", i);
      st = status_of(j, id);
      ck_assert_int_eq(st.state, MEDSHIM_STATE_SETTLED);
      ck_assert_int_eq(medshim_journal_replay_key(k, j, id), MEDSHIM_OK);
      ck_assert_int_eq(medshim_sim_query(sim, &q, k), MEDSHIM_OK);
      ck_assert_str_eq(q.settlement_id, st.settlement_id);
    }
    medshim_sim_close(sim);
    medshim_journal_close(j);
  }
  ck_assert_int_eq(rounds, 12);
}
END_TEST

START_TEST(test_replay_dry_run_changes_nothing) {
  medshim_journal *j = jopen();
  medshim_sim *sim = sim_open(NULL, 0, 0, 0, 0);
  medshim_adapter a;
  medshim_replay_options o = opts_at("2022-03-16T09:00");
  medshim_replay_summary s;
  add_n(j, 4);
  medshim_sim_adapter(&a, sim);
  o.dry_run = 1;
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_uint_eq(s.attempts, 4); /* would send */
  ck_assert_uint_eq(medshim_sim_settle_calls(sim), 0);
  ck_assert_int_eq(status_of(j, "MZ0000").state, MEDSHIM_STATE_PENDING);
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, NULL), MEDSHIM_EINVAL);
  medshim_sim_close(sim);
  medshim_journal_close(j);
}
END_TEST

int main(void) {
  Suite *s = suite_create("replay");
  TCase *tc = tcase_create("replay");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_replay_settles_each_once_with_refunds);
  tcase_add_test(tc, test_replay_waits_for_window_and_keeps_agency_claims);
  tcase_add_test(tc, test_replay_lost_answers_resolved_by_query);
  tcase_add_test(tc, test_replay_backoff_grows_is_capped_then_rejects);
  tcase_add_test(tc, test_replay_rate_limit);
  tcase_add_test(tc, test_replay_concurrency_bound);
  tcase_add_test(tc, test_replay_expires_at_deadline);
  tcase_add_test(tc, test_replay_void_and_retry);
  tcase_add_test(tc, test_replay_negative_refund_is_flagged);
  tcase_add_test(tc, test_replay_patient_order_and_poison);
  tcase_add_test(tc, test_replay_exactly_once_across_crashes);
  tcase_add_test(tc, test_replay_dry_run_changes_nothing);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
