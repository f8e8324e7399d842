/* Replay: exactly once under crashes, lost answers and a lagging platform;
 * the step log and msgids; checked answers; windows as the cashier was
 * told; implausible times, expiry grace, dry run equal to the real run;
 * backoff, rate limit, concurrency, void, retry and expire, refunds,
 * per-patient ordering. The platform here is a small test double whose
 * ledger is a directory (one file per settled visit, created O_EXCL), so
 * it is shared by forked processes and a second settlement of a visit is
 * caught by the file system itself. Files, clocks and the pid go through
 * lib/os.h; the two cases that fork are Unix-only (docs/windows.md). */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h> /* CreateHardLinkW, for tp_settle */
#else
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "claim_internal.h"
#include "medshim/medshim.h"
#include "msgid_internal.h"
#include "os.h"
#include "replay_internal.h"
#include "testutil.h"
#include "timeutil_internal.h"

#define INSTITUTION "H33010200001"

static char *dir, *jdir, *key, *ledger;

static int64_t T(const char *s) {
  int64_t t;
  ck_assert_int_eq(medshim__time_parse(&t, s, strlen(s)), 0);
  return t;
}

static double mono(void) { return (double)medshim__os_mono_ns() / 1e9; }

static double wall_ms(void) { return (double)medshim__os_wall_ms(); }

static void sleep_ms(unsigned ms) { medshim__os_sleep_ns((int64_t)ms * 1000000); }

/* A hard link: to appears whole or not at all, and never over an existing
 * file (EEXIST). */
static void copy_tree(const char *from, const char *to);

typedef struct copy_walk {
  const char *from, *to;
} copy_walk;

static int copy_entry(const char *name, void *payload) {
  copy_walk *w = payload;
  char *a = tu_path(w->from, name), *b = tu_path(w->to, name);
  copy_tree(a, b);
  free(a);
  free(b);
  return 0;
}

/* cp -a for a journal: directories 0700, files 0600, bytes as they are. */
static void copy_tree(const char *from, const char *to) {
  medshim__os_finfo st;
  ck_assert_int_eq(medshim__os_lstat(from, &st), 0);
  if (st.is_dir) {
    copy_walk w = {from, to};
    ck_assert_int_eq(medshim__os_mkdir(to), 0);
    ck_assert_int_eq(medshim__os_list_dir(from, copy_entry, &w), 0);
  } else {
    size_t n = 0;
    unsigned char *b = tu_read_file(from, &n);
    int fd = medshim__os_open(to, MEDSHIM__OS_WRITE | MEDSHIM__OS_CREATE |
                                      MEDSHIM__OS_EXCL);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(medshim__os_write(fd, b, n), (long long)n);
    ck_assert_int_eq(medshim__os_close(fd), 0);
    free(b);
  }
}

static int link_new(const char *from, const char *to) {
#ifdef _WIN32
  wchar_t wf[4096], wt[4096];
  ck_assert_int_gt(MultiByteToWideChar(CP_UTF8, 0, from, -1, wf, 4096), 0);
  ck_assert_int_gt(MultiByteToWideChar(CP_UTF8, 0, to, -1, wt, 4096), 0);
  if (CreateHardLinkW(wt, wf, NULL))
    return 0;
  errno = GetLastError() == ERROR_ALREADY_EXISTS ? EEXIST : EIO;
  return -1;
#else
  return link(from, to);
#endif
}

static void setup(void) {
  dir = tu_tempdir();
  jdir = tu_path(dir, "journal");
  key = tu_path(dir, "key");
  ledger = tu_path(dir, "ledger");
  ck_assert_int_eq(medshim__os_mkdir(ledger), 0);
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

static medshim_journal *jopen_at(const char *path) {
  medshim_journal_options o = tu_opts(key, MEDSHIM_JOURNAL_CREATE);
  medshim_journal *j = NULL;
  ck_assert_int_eq(medshim_journal_open(&j, path, &o, NULL), MEDSHIM_OK);
  return j;
}

static medshim_journal *jopen(void) { return jopen_at(jdir); }

/* Hangzhou's rules: out-patients at the hospital from 03-15 to the end of
 * 2022, in-patients at the agency until the end of 2023. */
static medshim_claim_window hangzhou(medshim_service svc) {
  medshim_claim_window w;
  memset(&w, 0, sizeof w);
  w.version = MEDSHIM_CLAIM_WINDOW_VERSION;
  w.route = svc == MEDSHIM_SERVICE_INPATIENT ? MEDSHIM_CLAIM_ROUTE_AGENCY
                                             : MEDSHIM_CLAIM_ROUTE_HOSPITAL;
  w.from = T("2022-03-15");
  w.until = svc == MEDSHIM_SERVICE_INPATIENT ? T("2024-01-01") : T("2023-01-01");
  snprintf(w.schedule_id, sizeof w.schedule_id, "hangzhou-2022");
  w.schedule_version = 1;
  return w;
}

static void add_w(medshim_journal *j, const char *id, const char *psn,
                  medshim_service svc, const char *when, int64_t total,
                  int64_t self_paid, const medshim_claim_window *w) {
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
  f.patient_name = "王小明";
  ck_assert_int_eq(medshim_claim_create(&c, &f, NULL), MEDSHIM_OK);
  if (w != NULL)
    ck_assert_int_eq(medshim_claim_set_window(c, w), MEDSHIM_OK);
  ck_assert_int_eq(medshim_journal_defer(j, c, NULL), MEDSHIM_OK);
  medshim_claim_free(c);
}

static void add(medshim_journal *j, const char *id, const char *psn,
                medshim_service svc, const char *when, int64_t total,
                int64_t self_paid) {
  medshim_claim_window w = hangzhou(svc);
  add_w(j, id, psn, svc, when, total, self_paid, &w);
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

/* ---- the test platform ---------------------------------------------------- */

typedef struct platform {
  const char *ledger;   /* directory: VISIT.setl per settled visit */
  uint32_t lost_permille, retry_permille, latency_ms, lag_ms;
  const char *reject_id; /* this visit is refused for good */
  int bad;              /* a bad answer to give (see bad_answer) */
  uint64_t rng;
  pthread_mutex_t mu;
  atomic_int settles, probes, in_flight, max_in_flight;
  atomic_int doubles;   /* a second settlement of a visit was attempted */
} platform;

static void tp_init(platform *p, uint32_t lost, uint32_t retry) {
  memset(p, 0, sizeof *p);
  p->ledger = ledger;
  p->lost_permille = lost;
  p->retry_permille = retry;
  p->rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)medshim__os_pid();
  pthread_mutex_init(&p->mu, NULL);
}

static uint32_t roll(platform *p) {
  uint32_t r;
  pthread_mutex_lock(&p->mu);
  p->rng ^= p->rng << 13;
  p->rng ^= p->rng >> 7;
  p->rng ^= p->rng << 17;
  r = (uint32_t)(p->rng % 1000);
  pthread_mutex_unlock(&p->mu);
  return r;
}

static void split(int64_t total, int64_t *fund, int64_t *acct, int64_t *cash) {
  *fund = total * 7 / 10;
  *acct = total / 10;
  *cash = total - *fund - *acct;
}

/* Settle the visit on the ledger: 1 done, 0 it was already settled. The
 * file appears whole (written aside, then linked), as the platform's own
 * record would: a process killed by another worker's crash hook must not
 * leave a half-made settlement behind. */
static int tp_settle(platform *p, const char *visit, char setl_id[32]) {
  char path[4096], tmp[4200], text[64];
  static atomic_int uniq;
  int fd, rc;
  snprintf(path, sizeof path, "%s/%s.setl", p->ledger, visit);
  snprintf(tmp, sizeof tmp, "%s.%d.%d.tmp", path, (int)medshim__os_pid(),
           atomic_fetch_add(&uniq, 1));
  fd = medshim__os_open(tmp, MEDSHIM__OS_WRITE | MEDSHIM__OS_CREATE |
                                 MEDSHIM__OS_EXCL);
  ck_assert_int_ge(fd, 0);
  snprintf(setl_id, 32, "S%08x", (unsigned)(roll(p) * 7919u + 1));
  snprintf(text, sizeof text, "%.0f %s\n", wall_ms(), setl_id);
  ck_assert_int_eq(medshim__os_write(fd, text, strlen(text)),
                   (long long)strlen(text));
  ck_assert_int_eq(medshim__os_fsync(fd), 0);
  medshim__os_close(fd);
  rc = link_new(tmp, path);
  ck_assert(rc == 0 || errno == EEXIST);
  medshim__os_unlink(tmp);
  if (rc != 0) {
    atomic_fetch_add(&p->doubles, 1);
    return 0;
  }
  return 1;
}

/* What a probe can see of the visit: 1 settled (visible), 0 not (or not
 * yet: the lag). */
static int tp_visible(platform *p, const char *visit, char setl_id[32]) {
  char path[4096], text[64];
  double at;
  FILE *f;
  int ok;
  snprintf(path, sizeof path, "%s/%s.setl", p->ledger, visit);
  f = fopen(path, "r");
  if (f == NULL)
    return 0;
  ok = fgets(text, sizeof text, f) != NULL && sscanf(text, "%lf %31s", &at, setl_id) == 2;
  fclose(f);
  return ok && wall_ms() >= at + p->lag_ms;
}

static int tp_settled(const char *visit) {
  char path[4096];
  medshim__os_finfo st;
  snprintf(path, sizeof path, "%s/%s.setl", ledger, visit);
  return medshim__os_stat(path, &st) == 0;
}

static void enter(platform *p) {
  int now = atomic_fetch_add(&p->in_flight, 1) + 1, max = atomic_load(&p->max_in_flight);
  while (now > max && !atomic_compare_exchange_weak(&p->max_in_flight, &max, now))
    ;
  if (p->latency_ms)
    sleep_ms(p->latency_ms);
}

static void leave(platform *p) { atomic_fetch_sub(&p->in_flight, 1); }

static void end_step(medshim_adapter_ctx *x, const char *msgid,
                     medshim_step_state state, const char *mdtrt,
                     const char *setl) {
  medshim_step s;
  memset(&s, 0, sizeof s);
  s.version = MEDSHIM_STEP_VERSION;
  snprintf(s.msgid, sizeof s.msgid, "%s", msgid);
  s.state = state;
  snprintf(s.mdtrt_id, sizeof s.mdtrt_id, "%s", mdtrt ? mdtrt : "");
  snprintf(s.setl_id, sizeof s.setl_id, "%s", setl ? setl : "");
  ck_assert_int_eq(medshim_adapter_step_end(x, &s), MEDSHIM_OK);
}

static void fill_settled(medshim_settlement *out, const medshim_claim *c,
                         const char *setl_id, const char *msgid) {
  out->outcome = MEDSHIM_OUTCOME_SETTLED;
  snprintf(out->settlement_id, sizeof out->settlement_id, "%s", setl_id);
  snprintf(out->mdtrt_id, sizeof out->mdtrt_id, "M-%s", medshim_claim_visit_id(c));
  snprintf(out->msgid, sizeof out->msgid, "%s", msgid);
  out->total_fen = medshim_claim_total_fen(c);
  split(out->total_fen, &out->fund_paid_fen, &out->acct_paid_fen,
        &out->patient_paid_fen);
}

/* 2201 then 2207, each between step_begin and step_end. */
static int tp_adapter_settle(medshim_settlement *out, medshim_adapter_ctx *x,
                             void *payload) {
  platform *p = payload;
  const medshim_claim *c = medshim_adapter_claim(x);
  const char *visit = medshim_claim_visit_id(c);
  char m1[MEDSHIM_MSGID_LEN + 1], m2[MEDSHIM_MSGID_LEN + 1], setl[32] = "", mdtrt[80];
  atomic_fetch_add(&p->settles, 1);
  if (medshim_adapter_step_begin(x, m1, "2201") != MEDSHIM_OK)
    return -1;
  snprintf(mdtrt, sizeof mdtrt, "M-%s", visit);
  end_step(x, m1, MEDSHIM_STEP_OK, mdtrt, NULL);
  if (p->reject_id != NULL && strcmp(visit, p->reject_id) == 0) {
    out->outcome = MEDSHIM_OUTCOME_REJECTED;
    snprintf(out->code, sizeof out->code, "1406");
    snprintf(out->message, sizeof out->message, "person not found");
    return 0;
  }
  if (roll(p) < p->retry_permille) {
    out->outcome = MEDSHIM_OUTCOME_RETRY;
    return 0;
  }
  if (medshim_adapter_step_begin(x, m2, "2207") != MEDSHIM_OK)
    return -1;
  enter(p);
  tp_settle(p, visit, setl);
  leave(p);
  if (roll(p) < p->lost_permille) {
    end_step(x, m2, MEDSHIM_STEP_UNKNOWN, mdtrt, NULL);
    out->outcome = MEDSHIM_OUTCOME_UNKNOWN;
    return 0;
  }
  end_step(x, m2, MEDSHIM_STEP_OK, mdtrt, setl);
  fill_settled(out, c, setl, m2);
  return 0;
}

/* The probe sees what the platform shows (not what is still in the lag). */
static int tp_adapter_probe(medshim_settlement *out, medshim_adapter_ctx *x,
                            void *payload) {
  platform *p = payload;
  const medshim_claim *c = medshim_adapter_claim(x);
  char setl[32];
  const char *msgid = "";
  atomic_fetch_add(&p->probes, 1);
  for (size_t i = medshim_adapter_step_count(x); i-- > 0;)
    if (strcmp(medshim_adapter_step(x, i)->infno, "2207") == 0) {
      msgid = medshim_adapter_step(x, i)->msgid;
      break;
    }
  if (tp_visible(p, medshim_claim_visit_id(c), setl))
    fill_settled(out, c, setl, msgid);
  else
    out->outcome = MEDSHIM_OUTCOME_NOT_FOUND;
  return 0;
}

static medshim_adapter tp_adapter(platform *p) {
  medshim_adapter a = {MEDSHIM_ADAPTER_VERSION, tp_adapter_settle,
                       tp_adapter_probe, p};
  return a;
}

static medshim_replay_options opts_at(const char *at) {
  medshim_replay_options o = MEDSHIM_REPLAY_OPTIONS_INIT;
  o.at = T(at);
  o.seed = 7;
  o.institution_code = INSTITUTION;
  o.flags = MEDSHIM_REPLAY_NO_VISIBILITY_DELAY;
  return o;
}

static medshim_claim_status status_of(medshim_journal *j, const char *id) {
  medshim_claim_status st;
  ck_assert_int_eq(medshim_journal_get(NULL, &st, j, id), MEDSHIM_OK);
  return st;
}

/* ---- settling ------------------------------------------------------------- */

START_TEST(test_replay_settles_each_once_with_refunds_and_steps) {
  medshim_journal *j = jopen();
  platform p;
  medshim_adapter a;
  medshim_replay_options o = opts_at("2022-03-16T09:00");
  medshim_replay_summary s;
  medshim_step steps[8];
  size_t n;
  tp_init(&p, 0, 0);
  a = tp_adapter(&p);
  add_n(j, 30);
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_uint_eq(s.claims, 30);
  ck_assert_uint_eq(s.settled, 30);
  ck_assert_uint_eq(s.attempts, 30);
  ck_assert_int_eq(atomic_load(&p.doubles), 0);
  {
    medshim_claim_status st = status_of(j, "MZ0007");
    int64_t total = 10007, fund, acct, cash;
    split(total, &fund, &acct, &cash);
    ck_assert_int_eq(st.state, MEDSHIM_STATE_SETTLED);
    ck_assert_int_eq(st.attempts, 1);
    ck_assert_int_eq(st.fund_paid_fen, fund);
    ck_assert_int_eq(st.acct_paid_fen, acct);
    ck_assert_int_eq(st.total_fen, total);
    /* paid the total in cash; owed only the cash part */
    ck_assert_int_eq(st.refund_fen, total - cash);
    ck_assert_str_ne(st.settlement_id, "");
    ck_assert_str_eq(st.mdtrt_id, "M-MZ0007");
    ck_assert_uint_eq(strlen(st.msgid), MEDSHIM_MSGID_LEN);
  }
  /* the step log: 2201 then 2207, both answered, msgids well formed */
  ck_assert_int_eq(medshim_replay_steps(steps, 8, &n, j, "MZ0003"), MEDSHIM_OK);
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(steps[0].infno, "2201");
  ck_assert_str_eq(steps[1].infno, "2207");
  ck_assert_int_eq(steps[1].state, MEDSHIM_STEP_OK);
  ck_assert_str_eq(steps[0].mdtrt_id, "M-MZ0003");
  ck_assert_str_ne(steps[1].setl_id, "");
  ck_assert_uint_eq(strlen(steps[0].msgid), MEDSHIM_MSGID_LEN);
  ck_assert_int_eq(strncmp(steps[0].msgid, INSTITUTION, 12), 0);
  ck_assert_str_ne(steps[0].msgid, steps[1].msgid);
  ck_assert_int_gt(s.refunds_due_fen, 0);
  /* a second run sends nothing */
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_uint_eq(s.attempts, 0);
  ck_assert_uint_eq(s.settled, 30);
  ck_assert_int_eq(atomic_load(&p.settles), 30);
  /* without an institution code nothing runs */
  o.institution_code = "H3301";
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_EINVAL);
  medshim_journal_close(j);
}
END_TEST

/* The window is the one journaled with the claim: a wrong schedule changes
 * nothing unless applied, and claims deferred without one wait. */
START_TEST(test_replay_window_is_what_the_cashier_was_told) {
  medshim_journal *j = jopen();
  platform p;
  medshim_adapter a;
  medshim_replay_options o = opts_at("2022-02-20T10:00");
  medshim_replay_summary s;
  medshim_schedule_set *set = NULL, *wrong = NULL;
  medshim_decision d = MEDSHIM_DECISION_INIT;
  medshim_claim_window w;
  char path[4096];
  size_t changed = 99;
  tp_init(&p, 0, 0);
  a = tp_adapter(&p);
  snprintf(path, sizeof path, "%s/examples/schedules/hangzhou-2022.json",
           getenv("MEDSHIM_SOURCE_DIR"));
  ck_assert_int_eq(medshim_schedule_set_new(&set, NULL, NULL), MEDSHIM_OK);
  ck_assert_int_eq(medshim_schedule_set_load_file(set, path, NULL), MEDSHIM_OK);
  /* what the cashier was told, journaled with the claim */
  ck_assert_int_eq(medshim_schedule_decide(&d, set, MEDSHIM_SERVICE_OUTPATIENT,
                                           "330102", "330106",
                                           T("2022-02-11T10:00")),
                   MEDSHIM_OK);
  ck_assert_int_eq(medshim_decision_window(&w, &d), MEDSHIM_OK);
  ck_assert_int_eq(w.route, MEDSHIM_CLAIM_ROUTE_HOSPITAL);
  ck_assert_int_eq(w.from, T("2022-03-15"));
  ck_assert_str_eq(w.schedule_id, "hangzhou-2022");
  add_w(j, "MZ1", "P1", MEDSHIM_SERVICE_OUTPATIENT, "2022-02-11T10:00", 100, 100, &w);
  add_w(j, "U1", "P2", MEDSHIM_SERVICE_OUTPATIENT, "2022-02-11T10:00", 100, 100,
        NULL); /* an unplanned outage: no schedule at defer */
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_uint_eq(s.attempts, 0);
  ck_assert_uint_eq(s.pending, 2);
  ck_assert_uint_eq(s.unplanned, 1);
  ck_assert_int_eq(s.opens_at, T("2022-03-15"));
  /* another notice (Beijing, for instance) listed, not applied */
  snprintf(path, sizeof path, "%s/examples/schedules/wuhan-2021.json",
           getenv("MEDSHIM_SOURCE_DIR"));
  ck_assert_int_eq(medshim_schedule_set_new(&wrong, NULL, NULL), MEDSHIM_OK);
  ck_assert_int_eq(medshim_schedule_set_load_file(wrong, path, NULL), MEDSHIM_OK);
  ck_assert_int_eq(medshim_replay_assign_windows(&changed, j, wrong, 0, NULL, NULL),
                   MEDSHIM_OK);
  ck_assert_int_eq(status_of(j, "MZ1").window_assigned, 0);
  o.at = T("2022-03-15T00:00");
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_uint_eq(s.settled, 1);
  ck_assert_uint_eq(s.unplanned, 1);
  ck_assert_int_eq(tp_settled("U1"), 0);
  /* the operator assigns windows to the unplanned claim from the notice */
  ck_assert_int_eq(medshim_replay_assign_windows(&changed, j, set, 0, NULL, NULL),
                   MEDSHIM_OK);
  ck_assert_uint_eq(changed, 1);
  ck_assert_int_eq(status_of(j, "U1").window_assigned, 0);
  ck_assert_int_eq(medshim_replay_assign_windows(&changed, j, set, 1, NULL, NULL),
                   MEDSHIM_OK);
  ck_assert_int_eq(status_of(j, "U1").window_assigned, 1);
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_uint_eq(s.settled, 2);
  medshim_schedule_set_free(set);
  medshim_schedule_set_free(wrong);
  medshim_journal_close(j);
}
END_TEST

START_TEST(test_replay_agency_claims_never_sent) {
  medshim_journal *j = jopen();
  platform p;
  medshim_adapter a;
  medshim_replay_options o = opts_at("2022-03-15T00:00");
  medshim_replay_summary s;
  tp_init(&p, 0, 0);
  a = tp_adapter(&p);
  add_n(j, 3);
  add(j, "ZY0001", "Q1", MEDSHIM_SERVICE_INPATIENT, "2022-02-12T08:00", 500000,
      500000);
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_uint_eq(s.settled, 3);
  ck_assert_uint_eq(s.manual, 1);
  ck_assert_int_eq(atomic_load(&p.settles), 3);
  ck_assert_int_eq(status_of(j, "ZY0001").state, MEDSHIM_STATE_MANUAL);
  medshim_journal_close(j);
}
END_TEST

START_TEST(test_replay_lost_answers_resolved_by_probe) {
  medshim_journal *j = jopen();
  platform p;
  medshim_adapter a;
  medshim_replay_options o = opts_at("2022-03-16T09:00");
  medshim_replay_summary s;
  tp_init(&p, 500, 0);
  a = tp_adapter(&p);
  add_n(j, 40);
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_uint_eq(s.settled, 40);
  ck_assert_uint_gt(s.queries, 5);   /* about half the answers lost */
  ck_assert_uint_eq(s.attempts, 40); /* none re-sent blindly */
  ck_assert_int_eq(atomic_load(&p.doubles), 0);
  medshim_journal_close(j);
}
END_TEST

/* The replay cursor: a run reads and decodes each claim once, lost
 * answers (probed again at the end) and concurrency included. */
START_TEST(test_replay_reads_each_claim_once) {
  medshim_journal *j = jopen();
  platform p;
  medshim_adapter a;
  medshim_replay_options o = opts_at("2022-03-16T09:00");
  medshim_replay_summary s;
  unsigned long before;
  tp_init(&p, 400, 0);
  a = tp_adapter(&p);
  add_n(j, 40);
  o.concurrency = 4;
  before = medshim__claim_decodes();
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_uint_eq(s.settled, 40);
  ck_assert_uint_gt(s.queries, 0);
  ck_assert_uint_eq(medshim__claim_decodes() - before, 40);
  /* a run with nothing left to do reads each once too */
  before = medshim__claim_decodes();
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_uint_eq(s.settled, 40);
  ck_assert_uint_eq(medshim__claim_decodes() - before, 40);
  medshim_journal_close(j);
}
END_TEST

/* A platform whose probes lag its settlements: without the visibility
 * delay the engine is fooled and settles again (the control), with it the
 * claim waits, and is found once the delay has passed. */
START_TEST(test_replay_visibility_delay_covers_platform_lag) {
  medshim_journal *j = jopen();
  platform p;
  medshim_adapter a;
  medshim_replay_options o = opts_at("2022-03-16T09:00");
  medshim_replay_summary s;
  tp_init(&p, 1000, 0); /* every 2207 answer lost */
  p.lag_ms = 1500;
  a = tp_adapter(&p);
  add_n(j, 4);
  o.flags = 0;
  o.visibility_delay_seconds = 3;
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_uint_eq(s.in_doubt, 4);
  ck_assert_uint_eq(s.queries, 0); /* too early to probe */
  p.lost_permille = 0;
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_uint_eq(s.attempts, 0);
  ck_assert_uint_eq(s.queries, 0);
  ck_assert_uint_eq(s.in_doubt, 4);
  sleep_ms(3100);
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_uint_eq(s.queries, 4);
  ck_assert_uint_eq(s.attempts, 0);
  ck_assert_uint_eq(s.settled, 4);
  ck_assert_int_eq(atomic_load(&p.doubles), 0);
  medshim_journal_close(j);
  /* the control: no delay against the same lag settles twice */
  tu_rmtree(jdir);
  tu_rmtree(ledger);
  ck_assert_int_eq(medshim__os_mkdir(ledger), 0);
  j = jopen();
  add_n(j, 4);
  p.lost_permille = 1000;
  o.flags = MEDSHIM_REPLAY_NO_VISIBILITY_DELAY;
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_int_gt(atomic_load(&p.doubles), 0);
  medshim_journal_close(j);
}
END_TEST

/* An adapter that answers what the test tells it to. */
typedef struct liar {
  int mode;
  int calls;
} liar;

static int liar_settle(medshim_settlement *out, medshim_adapter_ctx *x,
                       void *payload) {
  liar *l = payload;
  const medshim_claim *c = medshim_adapter_claim(x);
  l->calls++;
  fill_settled(out, c, "S1", "");
  switch (l->mode) {
  case 0:
    out->patient_paid_fen = -100000000; /* a 1,000,100-yuan "refund" */
    break;
  case 1:
    out->fund_paid_fen += 1; /* does not add up */
    break;
  case 2:
    out->patient_paid_fen = INT64_MIN;
    break;
  case 3:
    out->settlement_id[0] = '\0';
    break;
  case 4:
    memset(out->settlement_id, 'X', sizeof out->settlement_id); /* 65 bytes */
    break;
  case 5:
    out->total_fen *= 2; /* more than the claim */
    out->fund_paid_fen = out->total_fen - out->acct_paid_fen - out->patient_paid_fen;
    break;
  case 6:
    out->outcome = MEDSHIM_OUTCOME_NOT_FOUND; /* not a settle's answer */
    break;
  case 8:
    out->outcome = MEDSHIM_OUTCOME_UNKNOWN;
    snprintf(out->message, sizeof out->message, "2207 timed out after 60 s");
    break;
  default:
    break; /* honest */
  }
  return 0;
}

static int liar_probe(medshim_settlement *out, medshim_adapter_ctx *x,
                      void *payload) {
  liar *l = payload;
  l->calls++;
  if (l->mode == 7) {
    fill_settled(out, medshim_adapter_claim(x), "S1", "");
    return 0;
  }
  out->outcome = MEDSHIM_OUTCOME_UNKNOWN;
  return 0;
}

START_TEST(test_replay_bad_answers_stay_in_doubt) {
  for (int mode = 0; mode <= 6; mode++) {
    medshim_journal *j;
    liar l = {mode, 0};
    medshim_adapter a = {MEDSHIM_ADAPTER_VERSION, liar_settle, liar_probe, &l};
    medshim_replay_options o = opts_at("2022-03-16T09:00");
    medshim_replay_summary s;
    medshim_claim_status st;
    tu_rmtree(jdir);
    j = jopen();
    add(j, "B", "PB", MEDSHIM_SERVICE_OUTPATIENT, "2022-02-11T10:00", 10000, 10000);
    ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
    st = status_of(j, "B");
    ck_assert_msg(st.state == MEDSHIM_STATE_IN_DOUBT, "mode %d: state %d", mode,
                  st.state);
    ck_assert_str_eq(st.code, "BAD_ANSWER");
    ck_assert_str_ne(st.message, "");
    ck_assert_uint_ge(s.bad_answers, 1);
    ck_assert_uint_eq(s.settled, 0);
    ck_assert_int_eq(s.refunds_due_fen, 0);
    /* an honest probe then resolves it */
    l.mode = 7;
    ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
    st = status_of(j, "B");
    ck_assert_int_eq(st.state, MEDSHIM_STATE_SETTLED);
    ck_assert_str_eq(st.code, "");
    ck_assert_int_eq(st.refund_fen, 10000 - 2000);
    medshim_journal_close(j);
  }
}
END_TEST

/* An adapter's own reason for an unknown outcome reaches the operator. */
START_TEST(test_replay_unknown_keeps_the_adapters_reason) {
  medshim_journal *j = jopen();
  liar l = {8, 0};
  medshim_adapter a = {MEDSHIM_ADAPTER_VERSION, liar_settle, liar_probe, &l};
  medshim_replay_options o = opts_at("2022-03-16T09:00");
  medshim_replay_summary s;
  medshim_claim_status st;
  add(j, "U", "PU", MEDSHIM_SERVICE_OUTPATIENT, "2022-02-11T10:00", 10000, 10000);
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  st = status_of(j, "U");
  ck_assert_int_eq(st.state, MEDSHIM_STATE_IN_DOUBT);
  ck_assert_str_eq(st.code, "UNKNOWN");
  ck_assert_str_eq(st.message, "2207 timed out after 60 s");
  ck_assert_uint_eq(s.bad_answers, 0);
  medshim_journal_close(j);
}
END_TEST

/* A claim probed again and again (each probe a 5201 query, the answer
 * still unknown) keeps a bounded step log and is resolved in the end. */
typedef struct prober {
  int probes;
} prober;

static int prober_settle(medshim_settlement *out, medshim_adapter_ctx *x,
                         void *payload) {
  char m[MEDSHIM_MSGID_LEN + 1];
  (void)payload;
  ck_assert_int_eq(medshim_adapter_step_begin(x, m, "2207"), MEDSHIM_OK);
  out->outcome = MEDSHIM_OUTCOME_UNKNOWN; /* lost */
  return 0;
}

static int prober_probe(medshim_settlement *out, medshim_adapter_ctx *x,
                        void *payload) {
  prober *p = payload;
  char m[MEDSHIM_MSGID_LEN + 1];
  ck_assert_int_eq(medshim_adapter_step_begin(x, m, "5201"), MEDSHIM_OK);
  end_step(x, m, MEDSHIM_STEP_OK, NULL, NULL);
  if (++p->probes < 60) {
    out->outcome = MEDSHIM_OUTCOME_UNKNOWN;
    return 0;
  }
  fill_settled(out, medshim_adapter_claim(x), "S60", "");
  return 0;
}

START_TEST(test_replay_probes_never_fill_the_step_log) {
  medshim_journal *j = jopen();
  prober p = {0};
  medshim_adapter a = {MEDSHIM_ADAPTER_VERSION, prober_settle, prober_probe, &p};
  medshim_replay_options o = opts_at("2022-03-16T09:00");
  medshim_replay_summary s;
  medshim_step steps[MEDSHIM_STEPS_MAX];
  size_t n;
  add(j, "Q", "PQ", MEDSHIM_SERVICE_OUTPATIENT, "2022-02-11T10:00", 100, 100);
  for (int run = 0; run < 70; run++)
    ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_int_eq(p.probes, 60); /* one a run, until the 60th finds it */
  ck_assert_int_eq(status_of(j, "Q").state, MEDSHIM_STATE_SETTLED);
  ck_assert_int_eq(medshim_replay_steps(steps, MEDSHIM_STEPS_MAX, &n, j, "Q"),
                   MEDSHIM_OK);
  ck_assert_uint_eq(n, 1); /* the 2207; the answered queries are dropped */
  ck_assert_str_eq(steps[0].infno, "2207");
  medshim_journal_close(j);
}
END_TEST

/* ---- nothing irreversible by accident ------------------------------------ */

START_TEST(test_replay_implausible_time_refused) {
  medshim_journal *j = jopen();
  platform p;
  medshim_adapter a;
  medshim_replay_options o = opts_at("2024-03-16T09:00"); /* a year off */
  medshim_replay_summary s;
  tp_init(&p, 0, 0);
  a = tp_adapter(&p);
  add_n(j, 6);
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_ESTATE);
  ck_assert_ptr_nonnull(strstr(medshim_journal_errmsg(j), "2024-03-16"));
  ck_assert_int_eq(status_of(j, "MZ0000").state, MEDSHIM_STATE_PENDING);
  o.at = T("2021-01-01T00:00"); /* before every visit */
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_ESTATE);
  o.dry_run = 1;
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_ESTATE);
  /* confirmed: it runs (and these claims expire, the deadline long gone) */
  o.dry_run = 0;
  o.at = T("2024-03-16T09:00");
  o.flags |= MEDSHIM_REPLAY_CONFIRM_TIME;
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_uint_eq(s.expired, 6);
  ck_assert_int_eq(atomic_load(&p.settles), 0);
  medshim_journal_close(j);
}
END_TEST

START_TEST(test_replay_expiry_waits_for_grace_and_can_be_undone) {
  medshim_journal *j = jopen();
  platform p;
  medshim_adapter a;
  medshim_replay_options o = opts_at("2023-01-02T09:00"); /* deadline + 1 day */
  medshim_replay_summary s;
  tp_init(&p, 0, 0);
  a = tp_adapter(&p);
  add(j, "A", "PA", MEDSHIM_SERVICE_PHARMACY, "2022-02-11T10:00", 100, 100);
  add(j, "B", "PB", MEDSHIM_SERVICE_PHARMACY, "2022-02-11T10:00", 100, 100);
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_uint_eq(s.expired, 0);
  ck_assert_uint_eq(s.overdue, 2);
  ck_assert_uint_eq(s.pending, 2);
  ck_assert_int_eq(atomic_load(&p.settles), 0); /* the window is closed */
  o.flags |= MEDSHIM_REPLAY_EXPIRE_NOW;
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_uint_eq(s.expired, 2);
  o.flags &= ~MEDSHIM_REPLAY_EXPIRE_NOW;
  o.at = T("2023-01-09T00:00"); /* past the 7-day grace: a plain run expires */
  ck_assert_int_eq(medshim_replay_retry(j, "A", T("2022-06-01")), MEDSHIM_OK);
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_int_eq(status_of(j, "A").state, MEDSHIM_STATE_EXPIRED);
  /* an expiry is undone while the deadline has not passed, not after */
  ck_assert_int_eq(medshim_replay_retry(j, "B", T("2023-01-09")), MEDSHIM_ESTATE);
  ck_assert_int_eq(medshim_replay_retry(j, "B", T("2022-12-30")), MEDSHIM_OK);
  ck_assert_int_eq(status_of(j, "B").state, MEDSHIM_STATE_PENDING);
  /* expire by hand */
  ck_assert_int_eq(medshim_replay_expire(j, "B", T("2022-12-30")), MEDSHIM_OK);
  ck_assert_int_eq(status_of(j, "B").state, MEDSHIM_STATE_EXPIRED);
  ck_assert_int_eq(medshim_replay_expire(j, "B", T("2022-12-30")), MEDSHIM_ESTATE);
  medshim_journal_close(j);
}
END_TEST

/* First actions of a run, one line per claim. */
typedef struct plan {
  char lines[64][96];
  int n;
} plan;

static int record_action(const char *visit_id, medshim_replay_action a,
                         const char *why, void *payload) {
  plan *p = payload;
  (void)why;
  if (p->n < 64)
    snprintf(p->lines[p->n++], 96, "%s %s", visit_id, medshim_replay_action_name(a));
  return 0;
}

static int cmp_line(const void *a, const void *b) { return strcmp(a, b); }

/* The dry run announces exactly what the real run then does, on copies of
 * 20 random journals. */
START_TEST(test_replay_dry_run_equals_real_run) {
  srand(1234);
  for (int round = 0; round < 20; round++) {
    char *copy = tu_path(dir, "copy");
    medshim_journal *j;
    platform p;
    medshim_adapter a;
    medshim_replay_options o = opts_at("2022-03-16T09:00");
    medshim_replay_summary dry, real;
    plan pd, pr;
    int n = 3 + rand() % 10;
    tu_rmtree(jdir);
    tu_rmtree(copy);
    j = jopen();
    for (int i = 0; i < n; i++) {
      char id[16], psn[16];
      medshim_claim_window w = hangzhou(MEDSHIM_SERVICE_OUTPATIENT);
      int kind = rand() % 6;
      snprintf(id, sizeof id, "R%d-%d", round, i);
      snprintf(psn, sizeof psn, "P%d", rand() % 4); /* patients share claims */
      if (kind == 1)
        w.from = T("2022-04-01"); /* not open yet */
      if (kind == 2) { /* closed */
        w.from = T("2022-02-20");
        w.until = T("2022-03-01");
      }
      if (kind == 3)
        w.route = MEDSHIM_CLAIM_ROUTE_AGENCY;
      add_w(j, id, psn, MEDSHIM_SERVICE_OUTPATIENT, "2022-02-11T10:00", 500,
            500, kind == 4 ? NULL : &w);
      if (kind == 5)
        ck_assert_int_eq(medshim_replay_void(j, id, o.at), MEDSHIM_OK);
    }
    medshim_journal_close(j);
    copy_tree(jdir, copy);
    if (round % 2)
      o.at = T("2023-02-01T00:00"); /* some past the grace */
    tp_init(&p, 0, 0);
    a = tp_adapter(&p);
    memset(&pd, 0, sizeof pd);
    memset(&pr, 0, sizeof pr);
    o.action = record_action;
    o.action_payload = &pd;
    o.dry_run = 1;
    j = jopen_at(copy);
    ck_assert_int_eq(medshim_replay_run(&dry, j, &a, &o), MEDSHIM_OK);
    medshim_journal_close(j);
    ck_assert_int_eq(atomic_load(&p.settles), 0);
    o.dry_run = 0;
    o.action_payload = &pr;
    j = jopen();
    ck_assert_int_eq(medshim_replay_run(&real, j, &a, &o), MEDSHIM_OK);
    medshim_journal_close(j);
    ck_assert_int_eq(pd.n, n);
    ck_assert_int_eq(pr.n, n);
    qsort(pd.lines, (size_t)pd.n, sizeof pd.lines[0], cmp_line);
    qsort(pr.lines, (size_t)pr.n, sizeof pr.lines[0], cmp_line);
    for (int i = 0; i < n; i++)
      ck_assert_str_eq(pd.lines[i], pr.lines[i]);
    ck_assert_uint_eq(dry.attempts, real.attempts);
    ck_assert_uint_eq(dry.expired, real.expired);
    ck_assert_uint_eq(dry.manual, real.manual);
    ck_assert_uint_eq(dry.blocked, real.blocked);
    ck_assert_uint_eq(dry.unplanned, real.unplanned);
    tu_rmtree(copy);
    free(copy);
  }
}
END_TEST

/* ---- retries, limits, people --------------------------------------------- */

START_TEST(test_replay_backoff_grows_is_capped_then_rejects) {
  medshim_journal *j = jopen();
  platform p;
  medshim_adapter a;
  medshim_replay_options o = opts_at("2022-03-16T09:00");
  medshim_replay_summary s;
  int64_t at = o.at;
  const int64_t lo[] = {30, 60, 120, 150}, hi[] = {60, 120, 240, 300};
  tp_init(&p, 0, 1000); /* always transient */
  a = tp_adapter(&p);
  add_n(j, 1);
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
    o.at = st.not_before - 1; /* not due yet: nothing sent */
    ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
    ck_assert_uint_eq(s.attempts, 0);
    at = st.not_before;
  }
  o.at = at;
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_str_eq(status_of(j, "MZ0000").code, "MAX_ATTEMPTS");
  ck_assert_int_eq(status_of(j, "MZ0000").state, MEDSHIM_STATE_REJECTED);
  ck_assert_int_eq(atomic_load(&p.settles), 5);
  medshim_journal_close(j);
}
END_TEST

START_TEST(test_replay_rate_limit) {
  medshim_journal *j = jopen();
  platform p;
  medshim_adapter a;
  medshim_replay_options o = opts_at("2022-03-16T09:00");
  medshim_replay_summary s;
  double t;
  tp_init(&p, 0, 0);
  a = tp_adapter(&p);
  add_n(j, 21);
  o.rate = 50; /* 21 calls need at least 20 intervals of 20 ms */
  o.concurrency = 4;
  t = mono();
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  t = mono() - t;
  ck_assert_uint_eq(s.settled, 21);
  ck_assert_msg(t >= 20.0 / 50.0 - 0.005, "21 settlements at 50/s took %.3f s", t);
  medshim_journal_close(j);
}
END_TEST

START_TEST(test_replay_concurrency_bound) {
  medshim_journal *j = jopen();
  platform p;
  medshim_adapter a;
  medshim_replay_options o = opts_at("2022-03-16T09:00");
  medshim_replay_summary s;
  tp_init(&p, 0, 0);
  p.latency_ms = 40;
  a = tp_adapter(&p);
  add_n(j, 24);
  o.concurrency = 4;
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_uint_eq(s.settled, 24);
  ck_assert_int_le(atomic_load(&p.max_in_flight), 4);
  ck_assert_int_ge(atomic_load(&p.max_in_flight), 2);
  medshim_journal_close(j);
}
END_TEST

START_TEST(test_replay_void_and_retry) {
  medshim_journal *j = jopen();
  platform p;
  medshim_adapter a;
  medshim_replay_options o = opts_at("2022-03-16T09:00");
  medshim_replay_summary s;
  tp_init(&p, 0, 0);
  p.reject_id = "MZ0000";
  a = tp_adapter(&p);
  add_n(j, 3);
  ck_assert_int_eq(medshim_replay_void(j, "MZ0002", o.at), MEDSHIM_OK);
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_uint_eq(s.rejected, 1);
  ck_assert_uint_eq(s.voided, 1);
  ck_assert_str_eq(status_of(j, "MZ0000").code, "1406");
  /* rejected claims wait for a person: a run does not resend them */
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_uint_eq(s.attempts, 0);
  ck_assert_int_eq(medshim_replay_retry(j, "MZ0002", o.at), MEDSHIM_ESTATE);
  ck_assert_int_eq(medshim_replay_retry(j, "MZ0000", o.at), MEDSHIM_OK);
  p.reject_id = NULL;
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_int_eq(status_of(j, "MZ0000").state, MEDSHIM_STATE_SETTLED);
  ck_assert_int_eq(status_of(j, "MZ0002").state, MEDSHIM_STATE_VOIDED);
  {
    /* the refused attempt was resolved (undone) before the retry: only the
     * settling attempt's steps remain */
    medshim_step steps[8];
    size_t n;
    ck_assert_int_eq(medshim_replay_steps(steps, 8, &n, j, "MZ0000"), MEDSHIM_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(steps[0].infno, "2201");
    ck_assert_str_eq(steps[1].infno, "2207");
    ck_assert_uint_eq(steps[1].attempt, 1); /* attempts were reset by retry */
  }
  /* settled claims cannot be voided here: reverse them on the platform */
  ck_assert_int_eq(medshim_replay_void(j, "MZ0000", o.at), MEDSHIM_ESTATE);
  ck_assert_int_eq(medshim_replay_void(j, "nope", o.at), MEDSHIM_ENOTFOUND);
  medshim_journal_close(j);
}
END_TEST

START_TEST(test_replay_negative_refund_is_flagged) {
  medshim_journal *j = jopen();
  platform p;
  medshim_adapter a;
  medshim_replay_options o = opts_at("2022-03-16T09:00");
  medshim_replay_summary s;
  medshim_claim_status st;
  tp_init(&p, 0, 0);
  a = tp_adapter(&p);
  /* paid 10 yuan of 100 at the till; owes 20 in cash after settlement */
  add(j, "N", "PN", MEDSHIM_SERVICE_OUTPATIENT, "2022-02-11T10:00", 10000, 1000);
  add(j, "P", "PP", MEDSHIM_SERVICE_OUTPATIENT, "2022-02-11T10:00", 10000, 10000);
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  st = status_of(j, "N");
  ck_assert_int_eq(st.state, MEDSHIM_STATE_SETTLED);
  ck_assert_int_eq(st.refund_fen, -1000);
  ck_assert_str_eq(st.code, "NEGATIVE_REFUND");
  ck_assert_uint_eq(s.negative_refunds, 1);
  ck_assert_int_eq(s.refunds_due_fen, 10000 - 2000); /* only P's */
  medshim_journal_close(j);
}
END_TEST

/* A test adapter: fixed outcomes for some visits, order of calls kept. */
typedef struct scripted {
  platform p;
  char order[64][16];
  int n;
  pthread_mutex_t mu;
} scripted;

static int scripted_settle(medshim_settlement *out, medshim_adapter_ctx *x,
                           void *payload) {
  scripted *sc = payload;
  const char *id = medshim_claim_visit_id(medshim_adapter_claim(x));
  pthread_mutex_lock(&sc->mu);
  snprintf(sc->order[sc->n++], 16, "%s", id);
  pthread_mutex_unlock(&sc->mu);
  if (strcmp(id, "A1") == 0) {
    out->outcome = MEDSHIM_OUTCOME_REJECTED;
    snprintf(out->code, sizeof out->code, "POISON");
    return 0;
  }
  if (strcmp(id, "C1") == 0) {
    out->outcome = MEDSHIM_OUTCOME_RETRY;
    return 0;
  }
  return tp_adapter_settle(out, x, &sc->p);
}

static int scripted_probe(medshim_settlement *out, medshim_adapter_ctx *x,
                          void *payload) {
  return tp_adapter_probe(out, x, &((scripted *)payload)->p);
}

START_TEST(test_replay_patient_order_poison_and_blocked) {
  medshim_journal *j = jopen();
  scripted sc;
  medshim_adapter a = {MEDSHIM_ADAPTER_VERSION, scripted_settle, scripted_probe, &sc};
  medshim_replay_options o = opts_at("2022-03-16T09:00");
  medshim_replay_summary s;
  int a2 = -1, a1 = -1;
  memset(&sc, 0, sizeof sc);
  pthread_mutex_init(&sc.mu, NULL);
  tp_init(&sc.p, 0, 0);
  add(j, "A1", "PA", MEDSHIM_SERVICE_OUTPATIENT, "2022-02-11T10:00", 100, 100);
  add(j, "B1", "PB", MEDSHIM_SERVICE_OUTPATIENT, "2022-02-11T10:00", 100, 100);
  add(j, "C1", "PC", MEDSHIM_SERVICE_OUTPATIENT, "2022-02-11T10:00", 100, 100);
  add(j, "A2", "PA", MEDSHIM_SERVICE_OUTPATIENT, "2022-02-11T11:00", 100, 100);
  add(j, "C2", "PC", MEDSHIM_SERVICE_OUTPATIENT, "2022-02-11T11:00", 100, 100);
  add(j, "B2", "PB", MEDSHIM_SERVICE_OUTPATIENT, "2022-02-11T11:00", 100, 100);
  o.concurrency = 2;
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  /* the poison claim is parked; the others go through */
  ck_assert_int_eq(status_of(j, "A1").state, MEDSHIM_STATE_REJECTED);
  ck_assert_int_eq(status_of(j, "A2").state, MEDSHIM_STATE_SETTLED);
  ck_assert_int_eq(status_of(j, "B1").state, MEDSHIM_STATE_SETTLED);
  ck_assert_int_eq(status_of(j, "B2").state, MEDSHIM_STATE_SETTLED);
  /* C1 must be retried later; C2 waits behind it (patient order) */
  ck_assert_int_eq(status_of(j, "C1").state, MEDSHIM_STATE_RETRY_WAIT);
  ck_assert_int_eq(status_of(j, "C2").state, MEDSHIM_STATE_PENDING);
  ck_assert_uint_eq(s.blocked, 1);
  ck_assert_uint_eq(s.pending, 1);
  for (int i = 0; i < sc.n; i++) {
    if (strcmp(sc.order[i], "A1") == 0)
      a1 = i;
    if (strcmp(sc.order[i], "A2") == 0)
      a2 = i;
    ck_assert_str_ne(sc.order[i], "C2");
  }
  ck_assert_int_lt(a1, a2);
  medshim_journal_close(j);
}
END_TEST

/* ---- msgids --------------------------------------------------------------- */

#ifndef _WIN32 /* fork */
#define MSGID_THREADS 4
#define MSGID_EACH 300

typedef struct msgid_job {
  medshim__msgids *m;
  char (*out)[MEDSHIM_MSGID_LEN + 1];
} msgid_job;

static void *msgid_thread(void *arg) {
  msgid_job *job = arg;
  for (int i = 0; i < MSGID_EACH; i++)
    if (medshim__msgids_next(job->m, job->out[i], (int64_t)time(NULL)) != 0)
      job->out[i][0] = '\0';
  return NULL;
}

static int cmp_msgid(const void *a, const void *b) { return strcmp(a, b); }

/* Unique across threads, across processes sharing the directory, and
 * across a "crash" (a new allocator in the same second). */
START_TEST(test_replay_msgids_unique_across_threads_processes_restarts) {
  const int procs = 3, per_proc = MSGID_THREADS * MSGID_EACH;
  char *out = tu_path(dir, "msgids");
  char (*all)[MEDSHIM_MSGID_LEN + 1];
  size_t total = (size_t)(procs + 1) * (size_t)per_proc, n = 0;
  FILE *f;
  ck_assert_int_eq(medshim__os_mkdir(jdir), 0);
  for (int p = 0; p < procs + 1; p++) {
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
      medshim__msgids m;
      pthread_t th[MSGID_THREADS];
      msgid_job jobs[MSGID_THREADS];
      char path[4096];
      FILE *o;
      if (p == procs) /* the restart: start right after the others */
        sleep_ms(50);
      if (medshim__msgids_init(&m, jdir, INSTITUTION) != 0)
        _exit(2);
      for (int t = 0; t < MSGID_THREADS; t++) {
        jobs[t].m = &m;
        jobs[t].out = calloc(MSGID_EACH, sizeof *jobs[t].out);
        pthread_create(&th[t], NULL, msgid_thread, &jobs[t]);
      }
      snprintf(path, sizeof path, "%s.%d", out, p);
      o = fopen(path, "w");
      for (int t = 0; t < MSGID_THREADS; t++) {
        pthread_join(th[t], NULL);
        for (int i = 0; i < MSGID_EACH; i++)
          fprintf(o, "%s\n", jobs[t].out[i]);
      }
      fclose(o);
      _exit(0); /* no clean-up: as after a crash */
    }
  }
  for (int p = 0; p < procs + 1; p++) {
    int status;
    ck_assert_int_gt(wait(&status), 0);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  all = calloc(total, sizeof *all);
  for (int p = 0; p < procs + 1; p++) {
    char path[4096], line[64];
    snprintf(path, sizeof path, "%s.%d", out, p);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof line, f) != NULL) {
      line[strcspn(line, "\n")] = '\0';
      ck_assert_uint_eq(strlen(line), MEDSHIM_MSGID_LEN);
      ck_assert_int_eq(strncmp(line, INSTITUTION, 12), 0);
      memcpy(all[n++], line, MEDSHIM_MSGID_LEN + 1);
    }
    fclose(f);
  }
  ck_assert_uint_eq(n, total);
  qsort(all, n, sizeof *all, cmp_msgid);
  for (size_t i = 1; i < n; i++)
    ck_assert_msg(strcmp(all[i - 1], all[i]) != 0, "msgid repeated: %s", all[i]);
  free(all);
  free(out);
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
        platform p;
        medshim_adapter a;
        medshim_replay_options o = opts_at("2022-03-16T09:00");
        medshim_journal *cj = jopen();
        tp_init(&p, 300, 0);
        a = tp_adapter(&p);
        crash_step = step;
        crash_after = after;
        crash_seen = 0;
        medshim__replay_hook = crash_hook;
        o.concurrency = (unsigned)(1 + after % 3);
        (void)medshim_replay_run(NULL, cj, &a, &o);
        _exit(atomic_load(&p.doubles) ? 3 : 0);
      }
      ck_assert_int_eq(waitpid(pid, &status, 0), pid);
      ck_assert(!WIFEXITED(status) || WEXITSTATUS(status) == 0);
      killed += WIFSIGNALED(status);
      rounds++;
    }
  }
  ck_assert_int_ge(killed, 8);
  /* the final replay, in this process, with honest answers */
  {
    platform p;
    medshim_adapter a;
    medshim_replay_options o = opts_at("2022-03-16T10:00");
    medshim_replay_summary s;
    tp_init(&p, 0, 0);
    a = tp_adapter(&p);
    j = jopen();
    ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
    ck_assert_uint_eq(s.settled, (size_t)N);
    ck_assert_int_eq(atomic_load(&p.doubles), 0);
    for (int i = 0; i < N; i++) {
      char id[16];
      snprintf(id, sizeof id, "MZ%04d", i);
      ck_assert_int_eq(status_of(j, id).state, MEDSHIM_STATE_SETTLED);
      ck_assert(tp_settled(id));
    }
    medshim_journal_close(j);
  }
  ck_assert_int_eq(rounds, 12);
}
END_TEST
#endif /* fork */

START_TEST(test_replay_dry_run_changes_nothing) {
  medshim_journal *j = jopen();
  platform p;
  medshim_adapter a;
  medshim_replay_options o = opts_at("2022-03-16T09:00");
  medshim_replay_summary s;
  tp_init(&p, 0, 0);
  a = tp_adapter(&p);
  add_n(j, 4);
  o.dry_run = 1;
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, &o), MEDSHIM_OK);
  ck_assert_uint_eq(s.attempts, 4); /* would send */
  ck_assert_int_eq(atomic_load(&p.settles), 0);
  ck_assert_int_eq(status_of(j, "MZ0000").state, MEDSHIM_STATE_PENDING);
  ck_assert_int_eq(medshim_replay_run(&s, j, &a, NULL), MEDSHIM_EINVAL);
  medshim_journal_close(j);
}
END_TEST

int main(void) {
  Suite *s = suite_create("replay");
  TCase *tc = tcase_create("replay");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_replay_settles_each_once_with_refunds_and_steps);
  tcase_add_test(tc, test_replay_window_is_what_the_cashier_was_told);
  tcase_add_test(tc, test_replay_agency_claims_never_sent);
  tcase_add_test(tc, test_replay_lost_answers_resolved_by_probe);
  tcase_add_test(tc, test_replay_reads_each_claim_once);
  tcase_add_test(tc, test_replay_visibility_delay_covers_platform_lag);
  tcase_add_test(tc, test_replay_bad_answers_stay_in_doubt);
  tcase_add_test(tc, test_replay_unknown_keeps_the_adapters_reason);
  tcase_add_test(tc, test_replay_probes_never_fill_the_step_log);
  tcase_add_test(tc, test_replay_implausible_time_refused);
  tcase_add_test(tc, test_replay_expiry_waits_for_grace_and_can_be_undone);
  tcase_add_test(tc, test_replay_dry_run_equals_real_run);
  tcase_add_test(tc, test_replay_backoff_grows_is_capped_then_rejects);
  tcase_add_test(tc, test_replay_rate_limit);
  tcase_add_test(tc, test_replay_concurrency_bound);
  tcase_add_test(tc, test_replay_void_and_retry);
  tcase_add_test(tc, test_replay_negative_refund_is_flagged);
  tcase_add_test(tc, test_replay_patient_order_poison_and_blocked);
#ifndef _WIN32 /* they fork */
  tcase_add_test(tc, test_replay_msgids_unique_across_threads_processes_restarts);
  tcase_add_test(tc, test_replay_exactly_once_across_crashes);
#endif
  tcase_add_test(tc, test_replay_dry_run_changes_nothing);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
