/* The replay engine: exactly-once re-settlement of deferred claims through
 * the HIS's adapter, with durable in_doubt records, queries for lost
 * answers, backoff, a rate limit, per-patient ordering and a worker pool. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errors_internal.h"
#include "journal_internal.h"
#include "medshim/replay.h"
#include "replay_internal.h"

void (*medshim__replay_hook)(int step, const char *visit_id);

int medshim_replay_options_init(medshim_replay_options *opts,
                                unsigned int version) {
  if (opts == NULL || version != MEDSHIM_REPLAY_OPTIONS_VERSION)
    return MEDSHIM_EINVAL;
  memset(opts, 0, sizeof *opts);
  opts->version = version;
  return MEDSHIM_OK;
}

/* One claim to work on this run. */
typedef struct item {
  char visit_id[MEDSHIM_VISIT_ID_MAX + 1];
  uint64_t group; /* patient: psn_no, else id_no, else the visit itself */
  size_t order;   /* journal order */
  medshim_replay_window window;
  int lost;       /* pass 1 got a lost answer: query it in pass 2 */
} item;

typedef struct run {
  medshim_journal *j;
  const medshim_adapter *adapter;
  medshim_replay_options o;
  item *items;
  size_t nitems, cap;
  size_t *groups; /* start index of each group in items (sorted) */
  size_t ngroups;
  size_t next_group;
  pthread_mutex_t mu;
  medshim_replay_summary sum; /* counts of what this run did and found */
  size_t handled;
  int fatal; /* a journal error or a stop request */
  int stopped;
  /* rate limit */
  double next_slot;
  uint64_t rng;
  /* collection */
  int collect_rc;
} run;

static double mono(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ull;
  }
  return h;
}

static void hook(int step, const char *id) {
  if (medshim__replay_hook != NULL)
    medshim__replay_hook(step, id);
}

/* ---- collecting the work list ------------------------------------------ */

static int window_of(run *r, const medshim_claim *c, medshim_replay_window *w) {
  memset(w, 0, sizeof *w);
  if (r->o.schedules != NULL)
    return medshim_schedule_replay_window(
        w, r->o.schedules, (int)medshim_claim_service(c),
        medshim_claim_insured_admdvs(c), medshim_claim_treated_admdvs(c),
        medshim_claim_visit_time(c));
  if (r->o.window != NULL && r->o.window(w, c, r->o.window_payload) != 0)
    w->route = MEDSHIM_ROUTE_NONE;
  return MEDSHIM_OK;
}

static void count_state(medshim_replay_summary *s, const medshim_claim_status *st) {
  switch (st->state) {
  case MEDSHIM_STATE_SETTLED:
    s->settled++;
    if (st->refund_fen > 0)
      s->refunds_due_fen += st->refund_fen;
    else if (st->refund_fen < 0)
      s->negative_refunds++;
    break;
  case MEDSHIM_STATE_REJECTED:
    s->rejected++;
    break;
  case MEDSHIM_STATE_VOIDED:
    s->voided++;
    break;
  case MEDSHIM_STATE_EXPIRED:
    s->expired++;
    break;
  case MEDSHIM_STATE_MANUAL:
    s->manual++;
    break;
  case MEDSHIM_STATE_RETRY_WAIT:
    s->retry_wait++;
    break;
  case MEDSHIM_STATE_IN_DOUBT:
    s->in_doubt++;
    break;
  case MEDSHIM_STATE_PENDING:
    s->pending++;
    break;
  }
}

static int collect(const medshim_claim *c, const medshim_claim_status *st,
                   void *payload) {
  run *r = payload;
  item *it;
  const char *who;
  r->sum.claims++;
  switch (st->state) {
  case MEDSHIM_STATE_SETTLED:
  case MEDSHIM_STATE_REJECTED:
  case MEDSHIM_STATE_VOIDED:
  case MEDSHIM_STATE_EXPIRED:
  case MEDSHIM_STATE_MANUAL:
    count_state(&r->sum, st); /* final until a person acts */
    return 0;
  default:
    break;
  }
  if (r->nitems == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 1024;
    item *n = realloc(r->items, cap * sizeof *n);
    if (n == NULL) {
      r->collect_rc = MEDSHIM_ENOMEM;
      return 1;
    }
    r->items = n;
    r->cap = cap;
  }
  it = &r->items[r->nitems];
  memset(it, 0, sizeof *it);
  memcpy(it->visit_id, medshim_claim_visit_id(c),
         strlen(medshim_claim_visit_id(c)) + 1);
  who = medshim_claim_patient_psn_no(c);
  if (who == NULL)
    who = medshim_claim_patient_id_no(c);
  it->group = who != NULL ? hash_str(who) : hash_str(it->visit_id) ^ 1;
  it->order = r->nitems;
  if (window_of(r, c, &it->window) != MEDSHIM_OK)
    it->window.route = MEDSHIM_ROUTE_NONE;
  r->nitems++;
  return 0;
}

static int cmp_items(const void *a, const void *b) {
  const item *x = a, *y = b;
  if (x->group != y->group)
    return x->group < y->group ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

/* ---- recording ---------------------------------------------------------- */

/* Record a state. Only in_doubt must be durable before going on (it is
 * what prevents a second settlement); an outcome lost in a crash leaves the
 * claim in_doubt, and the next run queries it. */
static int record(run *r, const char *id, const medshim_claim_status *st) {
  int rc;
  if (r->o.dry_run)
    return MEDSHIM_OK;
  rc = medshim__journal_set_status(r->j, id, st,
                                   st->state == MEDSHIM_STATE_IN_DOUBT);
  if (rc != MEDSHIM_OK) {
    pthread_mutex_lock(&r->mu);
    if (r->fatal == 0)
      r->fatal = rc;
    pthread_mutex_unlock(&r->mu);
  }
  return rc;
}

static void set_state(medshim_claim_status *st, medshim_claim_state s,
                      int64_t at) {
  st->state = s;
  st->changed_at = at;
}

/* Exponential backoff with jitter in [d/2, d], d = min(cap, base * 2^(n-1)). */
static int64_t backoff(run *r, uint32_t attempts) {
  uint64_t d = r->o.backoff_base_seconds, x;
  for (uint32_t i = 1; i < attempts && d < r->o.backoff_cap_seconds; i++)
    d *= 2;
  if (d > r->o.backoff_cap_seconds)
    d = r->o.backoff_cap_seconds;
  pthread_mutex_lock(&r->mu);
  r->rng ^= r->rng << 13;
  r->rng ^= r->rng >> 7;
  r->rng ^= r->rng << 17;
  x = r->rng;
  pthread_mutex_unlock(&r->mu);
  return (int64_t)(d / 2 + (d - d / 2 + 1 > 1 ? x % (d - d / 2 + 1) : 0));
}

/* Wait for the next settle slot (token spacing of 1/rate seconds). */
static void rate_wait(run *r) {
  double slot, t;
  if (r->o.rate <= 0)
    return;
  pthread_mutex_lock(&r->mu);
  t = mono();
  slot = r->next_slot > t ? r->next_slot : t;
  r->next_slot = slot + 1.0 / r->o.rate;
  pthread_mutex_unlock(&r->mu);
  while ((t = mono()) < slot) {
    struct timespec ts;
    double d = slot - t;
    ts.tv_sec = (time_t)d;
    ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
  }
}

static void call(const medshim_adapter *a, medshim_adapter_fn fn,
                 medshim_settlement *out, const medshim_claim *c,
                 const char *key, uint32_t attempt) {
  memset(out, 0, sizeof *out);
  out->version = MEDSHIM_SETTLEMENT_VERSION;
  if (fn == NULL || fn(out, c, key, attempt, a->payload) != 0 ||
      out->outcome < MEDSHIM_OUTCOME_SETTLED ||
      out->outcome > MEDSHIM_OUTCOME_NOT_FOUND)
    out->outcome = MEDSHIM_OUTCOME_UNKNOWN;
  out->settlement_id[MEDSHIM_SETTLEMENT_ID_MAX] = '\0';
  out->code[MEDSHIM_REJECT_CODE_MAX] = '\0';
  out->message[MEDSHIM_REJECT_MESSAGE_MAX] = '\0';
}

static void settled_status(medshim_claim_status *st, const medshim_claim *c,
                           const medshim_settlement *s, int64_t at) {
  set_state(st, MEDSHIM_STATE_SETTLED, at);
  memcpy(st->settlement_id, s->settlement_id, sizeof st->settlement_id);
  st->fund_paid_fen = s->fund_paid_fen;
  st->acct_paid_fen = s->acct_paid_fen;
  st->patient_paid_fen = s->patient_paid_fen;
  /* The patient paid self_paid in cash; they owed patient_paid in cash.
   * The personal-account part was not cash, so it is refunded too. */
  st->refund_fen = medshim_claim_self_paid_fen(c) - s->patient_paid_fen;
  st->code[0] = st->message[0] = '\0';
  if (st->refund_fen < 0) {
    memcpy(st->code, "NEGATIVE_REFUND", sizeof "NEGATIVE_REFUND");
    memcpy(st->message, "the patient owes more than was paid: a person must "
           "look at this visit", sizeof "the patient owes more than was paid: "
           "a person must look at this visit");
  }
}

/* Handle one claim. Returns 1 when later claims of the same patient must
 * wait (in_doubt or retry_wait), 0 otherwise, -1 on a fatal error. */
static int handle(run *r, item *it, int second_pass) {
  medshim_claim *c = NULL;
  medshim_claim_status st;
  medshim_settlement s;
  char key[MEDSHIM_REPLAY_KEY_LEN + 1];
  const int64_t at = r->o.at;
  int rc, blocked = 0, query_first;

  rc = medshim_journal_get(&c, &st, r->j, it->visit_id);
  if (rc != MEDSHIM_OK)
    goto fatal;
  if (medshim_journal_replay_key(key, r->j, it->visit_id) != MEDSHIM_OK) {
    rc = MEDSHIM_ECRYPTO;
    goto fatal;
  }
  query_first = st.state == MEDSHIM_STATE_IN_DOUBT;
  if (second_pass && !query_first)
    goto done;
  if (!query_first && st.state == MEDSHIM_STATE_RETRY_WAIT && st.not_before > at) {
    blocked = 1;
    goto done;
  }
  if (query_first) {
    /* Never settle again before the platform says it has no settlement. */
    if (r->o.dry_run)
      goto done;
    pthread_mutex_lock(&r->mu);
    r->sum.queries++;
    pthread_mutex_unlock(&r->mu);
    call(r->adapter, r->adapter->query, &s, c, key, st.attempts);
    if (s.outcome == MEDSHIM_OUTCOME_SETTLED) {
      settled_status(&st, c, &s, at);
      if (record(r, it->visit_id, &st) != MEDSHIM_OK)
        goto fatal_rc;
      goto done;
    }
    if (s.outcome != MEDSHIM_OUTCOME_NOT_FOUND) {
      blocked = 1; /* still unknown: ask again next time */
      goto done;
    }
  }
  /* Not settled on the platform: where may it go now? */
  if (it->window.route == MEDSHIM_ROUTE_NONE || at < it->window.from) {
    if (query_first) { /* known unsettled: back to pending */
      set_state(&st, MEDSHIM_STATE_PENDING, at);
      if (record(r, it->visit_id, &st) != MEDSHIM_OK)
        goto fatal_rc;
    }
    goto done;
  }
  if (it->window.until != 0 && at >= it->window.until) {
    set_state(&st, MEDSHIM_STATE_EXPIRED, at);
    if (record(r, it->visit_id, &st) != MEDSHIM_OK)
      goto fatal_rc;
    goto done;
  }
  if (it->window.route == MEDSHIM_ROUTE_AGENCY) {
    set_state(&st, MEDSHIM_STATE_MANUAL, at);
    if (record(r, it->visit_id, &st) != MEDSHIM_OK)
      goto fatal_rc;
    goto done;
  }
  if (r->o.dry_run) {
    pthread_mutex_lock(&r->mu);
    r->sum.attempts++; /* would be sent */
    pthread_mutex_unlock(&r->mu);
    goto done;
  }
  rate_wait(r);
  hook(REPLAY_STEP_BEFORE_IN_DOUBT, it->visit_id);
  st.attempts++;
  set_state(&st, MEDSHIM_STATE_IN_DOUBT, at);
  if (record(r, it->visit_id, &st) != MEDSHIM_OK)
    goto fatal_rc;
  hook(REPLAY_STEP_AFTER_IN_DOUBT, it->visit_id);
  pthread_mutex_lock(&r->mu);
  r->sum.attempts++;
  pthread_mutex_unlock(&r->mu);
  call(r->adapter, r->adapter->settle, &s, c, key, st.attempts);
  hook(REPLAY_STEP_AFTER_ADAPTER, it->visit_id);
  switch (s.outcome) {
  case MEDSHIM_OUTCOME_SETTLED:
    settled_status(&st, c, &s, at);
    break;
  case MEDSHIM_OUTCOME_REJECTED:
    set_state(&st, MEDSHIM_STATE_REJECTED, at);
    memcpy(st.code, s.code, sizeof st.code);
    memcpy(st.message, s.message, sizeof st.message);
    break;
  case MEDSHIM_OUTCOME_RETRY:
  case MEDSHIM_OUTCOME_NOT_FOUND: /* settle cannot say "not found": treat as transient */
    if (st.attempts >= r->o.max_attempts) {
      set_state(&st, MEDSHIM_STATE_REJECTED, at);
      memcpy(st.code, "MAX_ATTEMPTS", sizeof "MAX_ATTEMPTS");
      medshim__fmt(st.message, sizeof st.message,
                   "still failing after %u attempts; check the platform and "
                   "retry by hand", (unsigned)st.attempts);
    } else {
      set_state(&st, MEDSHIM_STATE_RETRY_WAIT, at);
      st.not_before = at + backoff(r, st.attempts);
      blocked = 1;
    }
    break;
  case MEDSHIM_OUTCOME_UNKNOWN:
    /* Lost answer: stays in_doubt (already durable); query in pass 2. */
    it->lost = 1;
    blocked = 1;
    goto done;
  }
  if (record(r, it->visit_id, &st) != MEDSHIM_OK)
    goto fatal_rc;
  hook(REPLAY_STEP_AFTER_RECORD, it->visit_id);
done:
  medshim_claim_free(c);
  return blocked;
fatal_rc:
  rc = r->fatal;
fatal:
  pthread_mutex_lock(&r->mu);
  if (r->fatal == 0)
    r->fatal = rc;
  pthread_mutex_unlock(&r->mu);
  medshim_claim_free(c);
  return -1;
}

static void progress(run *r) {
  pthread_mutex_lock(&r->mu);
  r->handled++;
  if (r->o.progress != NULL &&
      r->o.progress(&r->sum, r->handled, r->o.progress_payload) != 0) {
    r->stopped = 1;
    if (r->fatal == 0)
      r->fatal = MEDSHIM_EUSER;
  }
  pthread_mutex_unlock(&r->mu);
}

/* A worker: take the next patient's claims and handle them in order. */
static void *worker(void *arg) {
  run *r = arg;
  for (;;) {
    size_t g, end;
    int stop;
    pthread_mutex_lock(&r->mu);
    stop = r->fatal != 0;
    g = r->next_group++;
    pthread_mutex_unlock(&r->mu);
    if (stop || g >= r->ngroups)
      return NULL;
    end = g + 1 < r->ngroups ? r->groups[g + 1] : r->nitems;
    for (size_t i = r->groups[g]; i < end; i++) {
      int b = handle(r, &r->items[i], 0);
      progress(r);
      if (b != 0)
        break; /* ordering per patient: the rest waits for this one */
    }
  }
}

int medshim_replay_run(medshim_replay_summary *out, medshim_journal *j,
                       const medshim_adapter *adapter,
                       const medshim_replay_options *opts) {
  run r;
  pthread_t th[64];
  unsigned nth;
  int rc = MEDSHIM_OK;

  if (j == NULL || adapter == NULL || opts == NULL ||
      opts->version != MEDSHIM_REPLAY_OPTIONS_VERSION ||
      adapter->version != MEDSHIM_ADAPTER_VERSION || adapter->settle == NULL ||
      adapter->query == NULL || (opts->schedules == NULL && opts->window == NULL))
    return MEDSHIM_EINVAL;
  memset(&r, 0, sizeof r);
  r.j = j;
  r.adapter = adapter;
  r.o = *opts;
  if (r.o.at == 0)
    r.o.at = (int64_t)time(NULL);
  if (r.o.concurrency == 0)
    r.o.concurrency = 1;
  if (r.o.concurrency > 64)
    r.o.concurrency = 64;
  if (r.o.max_attempts == 0)
    r.o.max_attempts = 8;
  if (r.o.backoff_base_seconds == 0)
    r.o.backoff_base_seconds = 60;
  if (r.o.backoff_cap_seconds == 0)
    r.o.backoff_cap_seconds = 3600;
  r.rng = r.o.seed ? r.o.seed : (uint64_t)time(NULL) | 1;
  r.sum.version = MEDSHIM_REPLAY_SUMMARY_VERSION;
  pthread_mutex_init(&r.mu, NULL);

  rc = medshim_journal_foreach(j, collect, &r);
  if (rc == MEDSHIM_EUSER)
    rc = r.collect_rc;
  if (rc != MEDSHIM_OK)
    goto cleanup;
  /* Group by patient, keeping journal order within a patient. */
  if (r.nitems > 0)
    qsort(r.items, r.nitems, sizeof *r.items, cmp_items);
  r.groups = malloc((r.nitems ? r.nitems : 1) * sizeof *r.groups);
  if (r.groups == NULL) {
    rc = MEDSHIM_ENOMEM;
    goto cleanup;
  }
  for (size_t i = 0; i < r.nitems; i++)
    if (i == 0 || r.items[i].group != r.items[i - 1].group)
      r.groups[r.ngroups++] = i;

  nth = r.o.concurrency;
  for (unsigned t = 0; t < nth; t++)
    if (pthread_create(&th[t], NULL, worker, &r) != 0) {
      nth = t;
      break;
    }
  if (nth == 0)
    worker(&r);
  for (unsigned t = 0; t < nth; t++)
    pthread_join(th[t], NULL);
  /* Second pass: ask the platform about answers lost in this run. */
  for (size_t i = 0; i < r.nitems && r.fatal == 0; i++)
    if (r.items[i].lost)
      (void)handle(&r, &r.items[i], 1);
  rc = r.fatal;
  if (rc == MEDSHIM_OK && !r.o.dry_run)
    rc = medshim_journal_sync(j); /* outcomes durable before we report */
  /* Count where every worked claim ended up. */
  {
    medshim_replay_summary final = r.sum;
    final.pending = final.in_doubt = final.retry_wait = 0;
    for (size_t i = 0; i < r.nitems; i++) {
      medshim_claim_status st;
      if (medshim_journal_get(NULL, &st, j, r.items[i].visit_id) == MEDSHIM_OK)
        count_state(&final, &st);
    }
    r.sum = final;
  }
cleanup:
  if (out != NULL)
    *out = r.sum;
  free(r.items);
  free(r.groups);
  pthread_mutex_destroy(&r.mu);
  return rc;
}

/* ---- person-driven transitions ------------------------------------------ */

static int transition(medshim_journal *j, const char *visit_id, int64_t at,
                      int to_void) {
  medshim_claim_status st;
  int rc = medshim_journal_get(NULL, &st, j, visit_id);
  if (rc != MEDSHIM_OK)
    return rc;
  if (to_void) {
    if (st.state == MEDSHIM_STATE_SETTLED || st.state == MEDSHIM_STATE_IN_DOUBT ||
        st.state == MEDSHIM_STATE_VOIDED)
      return MEDSHIM_ESTATE;
    set_state(&st, MEDSHIM_STATE_VOIDED, at);
  } else {
    if (st.state != MEDSHIM_STATE_REJECTED && st.state != MEDSHIM_STATE_EXPIRED)
      return MEDSHIM_ESTATE;
    set_state(&st, MEDSHIM_STATE_PENDING, at);
    st.attempts = 0;
    st.not_before = 0;
    st.code[0] = st.message[0] = '\0';
  }
  return medshim_journal_set_status(j, visit_id, &st);
}

int medshim_replay_void(medshim_journal *j, const char *visit_id, int64_t at) {
  if (j == NULL || visit_id == NULL)
    return MEDSHIM_EINVAL;
  return transition(j, visit_id, at, 1);
}

int medshim_replay_retry(medshim_journal *j, const char *visit_id, int64_t at) {
  if (j == NULL || visit_id == NULL)
    return MEDSHIM_EINVAL;
  return transition(j, visit_id, at, 0);
}
