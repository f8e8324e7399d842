/* The platform simulator's handle: options, the fault model around each
 * transaction (latency, busy, msgid checks, lost answers), ground-truth
 * statistics and per-visit lookup. The transactions are in sim_txn.c, the
 * state in sim_state.c, the shared ledger file in sim_ledger.c. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "os.h"
#include "sim_internal.h"

static int options_valid(const medshim_sim_options *o) {
  return o->fund_permille + o->acct_permille <= 1000 &&
         o->retry_permille <= 1000 && o->reject_permille <= 1000 &&
         o->lost_permille <= 1000 &&
         (o->institution == NULL ||
          strlen(o->institution) == MEDSHIM_INSTITUTION_LEN);
}

/* Version 1 callers know the fields up to acct_permille only. */
static int copy_options(medshim_sim_options *dst, const medshim_sim_options *o) {
  memset(dst, 0, sizeof *dst);
  if (o == NULL)
    return 0;
  if (o->version == 1)
    memcpy(dst, o, offsetof(medshim_sim_options, lag_ms));
  else if (o->version == MEDSHIM_SIM_OPTIONS_VERSION)
    *dst = *o;
  else
    return -1;
  return 0;
}

static int open_ledger(medshim_sim *s) {
  if (msim_ledger_begin(s) != 0)
    return MEDSHIM_EIO;
  msim_ledger_end(s);
  return MEDSHIM_OK;
}

int medshim_sim_open(medshim_sim **out, const medshim_sim_options *o) {
  medshim_sim *s;
  if (out == NULL)
    return medshim_last_error_set(MEDSHIM_EINVAL, "out", "must not be NULL");
  *out = NULL;
  s = calloc(1, sizeof *s);
  if (s == NULL)
    return medshim_last_error_set(MEDSHIM_ENOMEM, "", "out of memory");
  if (copy_options(&s->o, o) != 0) {
    free(s);
    return medshim_last_error_set(MEDSHIM_EINVAL, "version",
                                  "unknown medshim_sim_options version");
  }
  if (!options_valid(&s->o)) {
    free(s);
    return medshim_last_error_set(MEDSHIM_EINVAL, "opts",
                                  "a per mille over 1000, fund and account "
                                  "shares over 1000 together, or an "
                                  "institution code that is not 12 "
                                  "characters");
  }
  s->o.version = MEDSHIM_SIM_OPTIONS_VERSION;
  s->o.fund_permille = s->o.fund_permille ? s->o.fund_permille : 700;
  s->o.acct_permille = s->o.acct_permille ? s->o.acct_permille : 100;
  s->rng = s->o.seed ? s->o.seed : (uint64_t)time(NULL) ^ ((uint64_t)medshim__os_pid() << 20);
  s->rng = s->rng * 0x9E3779B97F4A7C15ull | 1;
  s->fd = -1;
  if (pthread_mutex_init(&s->mu, NULL) != 0 ||
      pthread_mutex_init(&s->rmu, NULL) != 0) {
    free(s);
    return medshim_last_error_set(MEDSHIM_ENOMEM, "", "out of memory");
  }
  s->path = s->o.ledger_path ? strdup(s->o.ledger_path) : NULL;
  s->inst = s->o.institution ? strdup(s->o.institution) : NULL;
  s->o.ledger_path = s->path;
  s->o.institution = s->inst;
  if ((s->o.ledger_path && !s->path) || (s->o.institution && !s->inst)) {
    medshim_sim_close(s);
    return medshim_last_error_set(MEDSHIM_ENOMEM, "", "out of memory");
  }
  if (s->path != NULL && open_ledger(s) != MEDSHIM_OK) {
    medshim_sim_close(s);
    return medshim_last_error_set(MEDSHIM_EIO, "ledger_path",
                                  "the ledger cannot be opened, locked or "
                                  "read, or is damaged");
  }
  *out = s;
  return MEDSHIM_OK;
}

void medshim_sim_close(medshim_sim *s) {
  if (s == NULL)
    return;
  pthread_mutex_destroy(&s->mu);
  pthread_mutex_destroy(&s->rmu);
  msim_state_free(&s->st);
  free(s->path);
  free(s->inst);
  free(s);
}

void medshim_sim_free(void *p) { free(p); }

/* ---- faults ---- */

static uint32_t roll(medshim_sim *s) {
  uint32_t r;
  (void)pthread_mutex_lock(&s->rmu);
  s->rng ^= s->rng << 13;
  s->rng ^= s->rng >> 7;
  s->rng ^= s->rng << 17;
  r = (uint32_t)(s->rng % 1000);
  (void)pthread_mutex_unlock(&s->rmu);
  return r;
}

/* The forced fault for this call, if one is scheduled. */
static int take_fault(medshim_sim *s, const char *infno) {
  int f = 0;
  (void)pthread_mutex_lock(&s->rmu);
  for (size_t i = 0; i < s->ninj; i++) {
    msim_inject *j = &s->inj[i];
    if (j->infno[0] && strcmp(j->infno, infno) != 0)
      continue;
    f = (int)j->fault;
    if (--j->count == 0) {
      memmove(j, j + 1, (s->ninj - i - 1) * sizeof *j);
      s->ninj--;
    }
    break;
  }
  (void)pthread_mutex_unlock(&s->rmu);
  return f;
}

int medshim_sim_inject(medshim_sim *s, const char *infno,
                       medshim_sim_fault fault, unsigned int count) {
  int rc = MEDSHIM_OK;
  if (s == NULL || count == 0 || fault < MEDSHIM_SIM_FAULT_BUSY ||
      fault > MEDSHIM_SIM_FAULT_REJECT || (infno && strlen(infno) > 4))
    return MEDSHIM_EINVAL;
  (void)pthread_mutex_lock(&s->rmu);
  if (s->ninj == sizeof s->inj / sizeof s->inj[0]) {
    rc = MEDSHIM_ERANGE;
  } else {
    msim_inject *j = &s->inj[s->ninj++];
    snprintf(j->infno, sizeof j->infno, "%s", infno ? infno : "");
    j->fault = fault;
    j->count = count;
  }
  (void)pthread_mutex_unlock(&s->rmu);
  return rc;
}

int medshim_sim_msgid(medshim_sim *s, char out[MEDSHIM_MSGID_LEN + 1]) {
  char c[15];
  int64_t now;
  unsigned int seq;
  if (s == NULL || out == NULL)
    return MEDSHIM_EINVAL;
  now = msim_now_ms() / 1000;
  (void)pthread_mutex_lock(&s->rmu);
  if (now != s->seq_sec) {
    s->seq_sec = now;
    s->seq = 0;
  }
  seq = s->seq++ % 10000;
  (void)pthread_mutex_unlock(&s->rmu);
  msim_time_compact(c, now);
  snprintf(out, MEDSHIM_MSGID_LEN + 1, "%.12s%.14s%04u",
           s->inst ? s->inst : "H00000000000", c, seq);
  return MEDSHIM_OK;
}

static void enter(medshim_sim *s) {
  size_t now = atomic_fetch_add(&s->in_flight, 1) + 1;
  size_t max = atomic_load(&s->max_in_flight);
  while (now > max &&
         !atomic_compare_exchange_weak(&s->max_in_flight, &max, now))
    ;
  if (s->o.latency_ms > 0)
    medshim__os_sleep_ns((int64_t)s->o.latency_ms * 1000000);
}

static void leave(medshim_sim *s) { atomic_fetch_sub(&s->in_flight, 1); }

/* ---- one call ---- */

static char *answer(const char *code, const char *msg, json_t *output) {
  json_t *r = json_pack("{s:i, s:s, s:s, s:o}", "infcode", code ? -1 : 0,
                        "err_msg", msg ? msg : "", "err_code", code ? code : "",
                        "output", output ? output : json_object());
  char *text = r ? json_dumps(r, JSON_COMPACT) : NULL;
  json_decref(r);
  return text;
}

/* A refusal of the envelope (bad or repeated msgid): counted, nothing done. */
static int envelope_refusal(medshim_sim *s, const char *kind, int64_t now) {
  json_t *ev = json_pack("{s:s, s:I}", "k", kind, "t", (json_int_t)now);
  int rc = ev ? msim_ledger_append(s, ev, 0) : -1;
  json_decref(ev);
  return rc;
}

/* Record what the transaction did (or that it was processed). */
static int record(msim_tx *tx, int lost) {
  json_t *ev = tx->ev ? json_incref(tx->ev) : json_pack("{s:s}", "k", "call");
  int rc = -1;
  if (ev != NULL &&
      json_object_set_new(ev, "t", json_integer((json_int_t)tx->now)) == 0 &&
      json_object_set_new(ev, "m", json_string(tx->msgid)) == 0 &&
      json_object_set_new(ev, "i", json_string(tx->infno)) == 0 &&
      (!lost || json_object_set_new(ev, "l", json_true()) == 0))
    rc = msim_ledger_append(tx->s, ev, tx->ev != NULL);
  json_decref(ev);
  return rc;
}

/* Random losses hit the transactions whose loss matters: those that change
 * something (a lost query is injected with medshim_sim_inject()). */
static int is_write(const char *infno) {
  static const char *const w[] = {"2201", "2202", "2204", "2205",
                                  "2207", "2208", "2601"};
  for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
    if (strcmp(w[i], infno) == 0)
      return 1;
  return 0;
}

typedef struct call_args {
  const char *infno, *msgid;
  json_t *root; /* NULL: input is not a JSON object */
  int fault;
} call_args;

static int locked_call(medshim_sim *s, const call_args *a, char **out,
                       int *lost) {
  msim_tx tx;
  int rc = 0;
  memset(&tx, 0, sizeof tx);
  tx.s = s;
  tx.infno = a->infno;
  tx.msgid = a->msgid;
  tx.now = msim_now_ms();
  if (!msim_msgid_valid(a->msgid, s->inst)) {
    rc = envelope_refusal(s, "invalid", tx.now);
    *out = answer(MEDSHIM_SIM_ERR_MSGID_INVALID, "msgid malformed", NULL);
    return rc;
  }
  if (msim_map_get(&s->st.by_msgid, a->msgid, NULL)) {
    rc = envelope_refusal(s, "repeat", tx.now);
    *out = answer(MEDSHIM_SIM_ERR_MSGID_REPEAT, "msgid already used", NULL);
    return rc;
  }
  tx.root = a->root;
  if (a->root == NULL) {
    tx.err_code = MEDSHIM_SIM_ERR_INPUT;
    snprintf(tx.err_msg, sizeof tx.err_msg, "input is not a JSON object");
  } else if (a->fault == MEDSHIM_SIM_FAULT_REJECT) {
    tx.err_code = MEDSHIM_SIM_ERR_REJECTED;
    snprintf(tx.err_msg, sizeof tx.err_msg, "refused (injected)");
  } else if (msim_tx_run(&tx) != 0) {
    return -1;
  }
  *lost = a->fault == MEDSHIM_SIM_FAULT_LOST ||
          (a->fault == 0 && is_write(a->infno) &&
           roll(s) < s->o.lost_permille);
  rc = record(&tx, *lost);
  json_decref(tx.ev);
  if (rc == 0 && !*lost)
    *out = answer(tx.err_code, tx.err_msg, tx.out);
  else
    json_decref(tx.out);
  return rc;
}

static int busy_answer(medshim_sim *s, char **out) {
  atomic_fetch_add(&s->busy, 1);
  *out = answer(MEDSHIM_SIM_ERR_BUSY, "platform busy, try again", NULL);
  return *out ? MEDSHIM_OK : MEDSHIM_ENOMEM;
}

int medshim_sim_call(medshim_sim *s, const char *infno, const char *msgid,
                     const char *input, char **out, int *lost) {
  call_args a;
  json_error_t e;
  int rc;
  if (out != NULL)
    *out = NULL;
  if (lost != NULL)
    *lost = 0;
  if (s == NULL || infno == NULL || msgid == NULL || out == NULL || lost == NULL)
    return MEDSHIM_EINVAL;
  if (strcmp(infno, "2207") == 0)
    atomic_fetch_add(&s->settle_calls, 1);
  enter(s);
  a.infno = infno;
  a.msgid = msgid;
  a.fault = take_fault(s, infno);
  if (a.fault == MEDSHIM_SIM_FAULT_BUSY ||
      (a.fault == 0 && roll(s) < s->o.retry_permille)) {
    leave(s);
    return busy_answer(s, out);
  }
  a.root = input ? json_loads(input, 0, &e) : json_object();
  if (a.root != NULL && !json_is_object(a.root)) {
    json_decref(a.root);
    a.root = NULL;
  }
  if (msim_ledger_begin(s) != 0) {
    rc = MEDSHIM_EIO;
  } else {
    rc = locked_call(s, &a, out, lost) == 0 ? MEDSHIM_OK : MEDSHIM_EIO;
    msim_ledger_end(s);
  }
  json_decref(a.root);
  leave(s);
  if (rc == MEDSHIM_OK && *out == NULL && !*lost)
    rc = MEDSHIM_ENOMEM;
  if (rc != MEDSHIM_OK) {
    free(*out);
    *out = NULL;
  }
  return rc;
}

/* ---- ground truth ---- */

static size_t visit_active_setls(const msim_state *st, const msim_visit *v) {
  size_t n = 0;
  for (size_t i = v->last_setl; i != 0; i = st->s[i - 1].prev)
    n += st->s[i - 1].undo == MSIM_ACTIVE;
  return n;
}

/* Visits (psn_no + ipt_otp_no) with more than one active settlement. */
static size_t doubles(const msim_state *st) {
  size_t n = 0;
  for (size_t k = 0; k < st->by_key.cap; k++) {
    size_t active = 0;
    if (st->by_key.keys[k] == NULL)
      continue;
    for (size_t i = st->by_key.vals[k] + 1; i != 0; i = st->v[i - 1].prev_key)
      active += visit_active_setls(st, &st->v[i - 1]);
    n += active > 1;
  }
  return n;
}

static void fill_stats(const medshim_sim *s, medshim_sim_stats *o) {
  const msim_state *st = &s->st;
  memset(o, 0, sizeof *o);
  o->version = MEDSHIM_SIM_STATS_VERSION;
  o->calls = st->calls;
  o->registrations = st->nv;
  for (size_t i = 0; i < st->nv; i++)
    if (st->v[i].t_unreg == 0) {
      o->open_registrations++;
      o->open_partial += visit_active_setls(st, &st->v[i]) == 0;
    }
  for (size_t i = 0; i < st->ns; i++)
    o->settlements += st->s[i].undo == MSIM_ACTIVE;
  o->cancelled_settlements = st->cancels;
  o->reversals = st->reversals;
  o->double_settlements = doubles(st);
  o->msgid_repeats = st->repeats;
  o->msgid_invalid = st->invalid;
  o->lost_answers = st->lost;
  o->damaged_lines = st->damaged;
  o->busy = atomic_load(&((medshim_sim *)s)->busy);
  o->settle_calls = atomic_load(&((medshim_sim *)s)->settle_calls);
  o->max_in_flight = atomic_load(&((medshim_sim *)s)->max_in_flight);
}

int medshim_sim_stats_get(medshim_sim *s, medshim_sim_stats *out) {
  if (s == NULL || out == NULL)
    return MEDSHIM_EINVAL;
  if (msim_ledger_begin(s) != 0)
    return MEDSHIM_EIO;
  fill_stats(s, out);
  msim_ledger_end(s);
  return MEDSHIM_OK;
}

#define STAT(name) #name, (json_int_t)st.name

int medshim_sim_stats_json(medshim_sim *s, char **out) {
  medshim_sim_stats st;
  json_t *o;
  int rc;
  if (out == NULL)
    return MEDSHIM_EINVAL;
  *out = NULL;
  if ((rc = medshim_sim_stats_get(s, &st)) != MEDSHIM_OK)
    return rc;
  /* JSON names spell out what the C fields abbreviate. */
  o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                STAT(calls), STAT(registrations), STAT(open_registrations),
                "active_settlements", (json_int_t)st.settlements,
                STAT(cancelled_settlements), STAT(reversals),
                STAT(double_settlements), "open_partial_sequences",
                (json_int_t)st.open_partial,
                STAT(msgid_repeats), STAT(msgid_invalid), STAT(lost_answers),
                STAT(damaged_lines));
  *out = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  return *out ? MEDSHIM_OK : MEDSHIM_ENOMEM;
}

static void fill_visit(const msim_state *st, size_t head, medshim_sim_visit *o) {
  for (size_t i = head + 1; i != 0; i = st->v[i - 1].prev_key) {
    const msim_visit *v = &st->v[i - 1];
    o->registrations++;
    o->open_registrations += v->t_unreg == 0;
    for (size_t j = v->last_setl; j != 0; j = st->s[j - 1].prev) {
      const msim_setl *x = &st->s[j - 1];
      if (x->undo != MSIM_ACTIVE) {
        o->undone_settlements++;
        continue;
      }
      if (o->settlements++ == 0) { /* newest first: keep the latest */
        snprintf(o->mdtrt_id, sizeof o->mdtrt_id, "%s", v->mdtrt_id);
        snprintf(o->setl_id, sizeof o->setl_id, "%s", x->setl_id);
        o->setl_time = x->stime;
        o->total_fen = x->total;
        o->fund_paid_fen = x->fund;
        o->acct_paid_fen = x->acct;
        o->patient_paid_fen = x->cash;
        o->hospital_share_fen = x->hosp;
      }
    }
  }
}

int medshim_sim_visit_get(medshim_sim *s, medshim_sim_visit *out,
                          const char *psn_no, const char *ipt_otp_no) {
  char *key;
  size_t head;
  int rc = MEDSHIM_ENOTFOUND;
  if (s == NULL || out == NULL || psn_no == NULL || ipt_otp_no == NULL)
    return MEDSHIM_EINVAL;
  memset(out, 0, sizeof *out);
  out->version = MEDSHIM_SIM_VISIT_VERSION;
  if ((key = msim_visit_key(psn_no, ipt_otp_no)) == NULL)
    return MEDSHIM_ENOMEM;
  if (msim_ledger_begin(s) != 0) {
    free(key);
    return MEDSHIM_EIO;
  }
  if (msim_map_get(&s->st.by_key, key, &head)) {
    fill_visit(&s->st, head, out);
    rc = MEDSHIM_OK;
  }
  msim_ledger_end(s);
  free(key);
  return rc;
}

/* ---- shorthands ---- */

size_t medshim_sim_settlements(medshim_sim *s) {
  medshim_sim_stats st;
  return medshim_sim_stats_get(s, &st) == MEDSHIM_OK ? st.settlements : 0;
}

size_t medshim_sim_double_attempts(medshim_sim *s) {
  medshim_sim_stats st;
  /* An unreadable ledger must not look like "no double settlement". */
  return medshim_sim_stats_get(s, &st) == MEDSHIM_OK ? st.double_settlements
                                                     : (size_t)-1;
}

size_t medshim_sim_settle_calls(const medshim_sim *s) {
  return s ? atomic_load(&((medshim_sim *)s)->settle_calls) : 0;
}

size_t medshim_sim_max_concurrency(const medshim_sim *s) {
  return s ? atomic_load(&((medshim_sim *)s)->max_in_flight) : 0;
}

int medshim_sim_is_settled(medshim_sim *s, const char *key) {
  size_t i;
  int r = 0;
  if (s == NULL || key == NULL || msim_ledger_begin(s) != 0)
    return 0;
  if (msim_map_get(&s->st.by_medins, key, &i))
    for (i++; i != 0 && !r; i = s->st.s[i - 1].prev_medins)
      r = s->st.s[i - 1].undo == MSIM_ACTIVE;
  msim_ledger_end(s);
  return r;
}
