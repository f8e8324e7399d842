/* The replay engine: exactly-once re-settlement of deferred claims through
 * the HIS's adapter. Every platform request the adapter makes is recorded
 * in the claim's step log before it leaves; an in-doubt claim is probed
 * with those steps, and only after the visibility delay; answers are
 * checked before they are believed. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "claim_internal.h"
#include "errors_internal.h"
#include "hash_internal.h"
#include "os.h"
#include "journal_internal.h"
#include "medshim/replay.h"
#include "msgid_internal.h"
#include "replay_internal.h"
#include "versioned_internal.h"
#include "timeutil_internal.h"

void (*medshim__replay_hook)(int step, const char *visit_id);

#define DEFAULT_VISIBILITY_DELAY 660
#define DEFAULT_GRACE_DAYS 7
#define DAY 86400
/* `at` more than this past a claim's last date is implausible for it. */
#define PLAUSIBLE_AFTER (366 * DAY)

int medshim_replay_options_init(medshim_replay_options *opts,
                                unsigned int version) {
  return MEDSHIM__VERSIONED_INIT(opts, version, MEDSHIM_REPLAY_OPTIONS_VERSION);
}

static const char *const action_names[] = {NULL,   "send", "probe", "expire",
                                           "manual", "wait", "final"};

const char *medshim_replay_action_name(medshim_replay_action a) {
  if ((int)a < 1 || (int)a > 6)
    return NULL;
  return action_names[a];
}

/* One claim to work on this run. */
typedef struct item {
  char visit_id[MEDSHIM_VISIT_ID_MAX + 1];
  uint64_t group; /* patient: psn_no, else id_no, else the visit itself */
  size_t order;   /* journal order */
  medshim_claim_window window; /* effective: assigned, else journaled */
  int has_window;
  int64_t visit_time;
  int lost;       /* an answer was lost this run: probe again at the end */
  int acted;      /* its first action has been reported */
  medshim_replay_action action; /* that action */
  medshim_claim *claim; /* kept from the walk (NULL: read it when handled) */
} item;

typedef struct run {
  medshim_journal *j;
  const medshim_adapter *adapter;
  medshim_replay_options o;
  int64_t wall;   /* wall clock at the start (visibility delay) */
  item *items;
  size_t nitems, cap;
  size_t *groups; /* start index of each group in items (sorted) */
  size_t ngroups;
  size_t next_group;
  pthread_mutex_t mu;
  medshim_replay_summary sum; /* counts of what this run did and found */
  size_t handled;
  int fatal; /* a journal error or a stop request */
  double next_slot; /* rate limit */
  uint64_t rng;
  int collect_rc;
  medshim__msgids msgids;
} run;

struct medshim_adapter_ctx {
  run *r;
  item *it;
  const medshim_claim *claim;
  char key[MEDSHIM_REPLAY_KEY_LEN + 1];
  medshim_claim_status st;
  medshim_step steps[MEDSHIM_STEPS_MAX];
  size_t nsteps;
  int pruned; /* the last call's query steps were dropped: record the log */
};

static double mono(void) { return (double)medshim__os_mono_ns() / 1e9; }

static int64_t wall_now(void) { return medshim__os_wall_s(); }

static void hook(int step, const char *id) {
  if (medshim__replay_hook != NULL)
    medshim__replay_hook(step, id);
}

static void set_fatal(run *r, int rc) {
  pthread_mutex_lock(&r->mu);
  if (r->fatal == 0)
    r->fatal = rc;
  pthread_mutex_unlock(&r->mu);
}

static void count(run *r, size_t *field) {
  pthread_mutex_lock(&r->mu);
  (*field)++;
  pthread_mutex_unlock(&r->mu);
}

/* Report a claim's first action of this run (once). */
static void act(run *r, item *it, medshim_replay_action a, const char *why) {
  if (it->acted)
    return;
  it->acted = 1;
  it->action = a;
  if (r->o.action != NULL) {
    pthread_mutex_lock(&r->mu); /* callbacks see one call at a time */
    (void)r->o.action(it->visit_id, a, why, r->o.action_payload);
    pthread_mutex_unlock(&r->mu);
  }
}

/* ---- collecting the work list ------------------------------------------ */

/* The window replay uses: one assigned later by a person, else the one the
 * cashier was told at defer; none means an unplanned outage. */
static int effective_window(medshim_claim_window *w, const medshim_claim *c,
                            const medshim_claim_status *st) {
  if (st->window_assigned) {
    *w = st->window;
    return 1;
  }
  return medshim_claim_window_get(w, c) == MEDSHIM_OK;
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

static int is_final(medshim_claim_state s) {
  return s == MEDSHIM_STATE_SETTLED || s == MEDSHIM_STATE_REJECTED ||
         s == MEDSHIM_STATE_VOIDED || s == MEDSHIM_STATE_EXPIRED ||
         s == MEDSHIM_STATE_MANUAL;
}

typedef struct collector {
  run *r;
  size_t unfinished, plausible;
  size_t kept_bytes; /* decoded claims kept for the workers */
} collector;

/* The walk keeps the decoded claims it collects, up to this many bytes,
 * so that each is read and decrypted once per run; past it, a claim is
 * read again when its turn comes. */
#define REPLAY_KEEP_BYTES ((size_t)64 << 20)

/* Is `at` a time this claim could be replayed at? Not before its visit,
 * and not more than a year past the last date it names. */
static int plausible_for(int64_t at, const item *it) {
  int64_t last = it->visit_time;
  if (it->has_window && it->window.from > last)
    last = it->window.from;
  if (it->has_window && it->window.until > last)
    last = it->window.until;
  return at >= it->visit_time - DAY && at <= last + PLAUSIBLE_AFTER;
}

static int collect(medshim_claim **claim, const medshim_claim_status *st,
                   void *payload) {
  collector *col = payload;
  run *r = col->r;
  const medshim_claim *c = *claim;
  item *it;
  const char *who;
  size_t bytes;
  r->sum.claims++;
  if (is_final(st->state)) {
    count_state(&r->sum, st); /* final until a person acts */
    if (r->o.action != NULL)
      (void)r->o.action(medshim_claim_visit_id(c), MEDSHIM_ACTION_FINAL,
                        medshim_state_name(st->state), r->o.action_payload);
    return 0;
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
  it->group = who != NULL ? medshim__fnv1a64(who, strlen(who))
                        : medshim__fnv1a64(it->visit_id, strlen(it->visit_id)) ^ 1;
  it->order = r->nitems;
  it->visit_time = medshim_claim_visit_time(c);
  it->has_window = effective_window(&it->window, c, st);
  col->unfinished++;
  if (plausible_for(r->o.at, it))
    col->plausible++;
  bytes = medshim__claim_footprint(c);
  if (col->kept_bytes + bytes <= REPLAY_KEEP_BYTES) {
    it->claim = *claim; /* ours now */
    *claim = NULL;
    col->kept_bytes += bytes;
  }
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

/* Record the claim's status and step log. Records that a platform request
 * depends on (in_doubt, a step about to be sent) are synced; outcomes ride
 * on the next sync: losing one in a crash only means one more probe. */
static int record(medshim_adapter_ctx *x, int sync) {
  run *r = x->r;
  int rc;
  if (r->o.dry_run)
    return MEDSHIM_OK;
  rc = medshim__journal_set_status(r->j, x->it->visit_id, &x->st, x->steps,
                                   x->nsteps, sync);
  if (rc != MEDSHIM_OK)
    set_fatal(r, rc);
  return rc;
}

static void set_state(medshim_claim_status *st, medshim_claim_state s,
                      int64_t at) {
  st->state = s;
  st->changed_at = at;
}

static void set_text(medshim_claim_status *st, const char *code,
                     const char *message) {
  medshim__fmt(st->code, sizeof st->code, "%s", code);
  medshim__fmt(st->message, sizeof st->message, "%s", message);
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
  while ((t = mono()) < slot)
    medshim__os_sleep_ns((int64_t)((slot - t) * 1e9));
}

/* ---- the adapter's view ------------------------------------------------- */

const medshim_claim *medshim_adapter_claim(const medshim_adapter_ctx *x) {
  return x ? x->claim : NULL;
}
const char *medshim_adapter_replay_key(const medshim_adapter_ctx *x) {
  return x ? x->key : NULL;
}
uint32_t medshim_adapter_attempt(const medshim_adapter_ctx *x) {
  return x ? x->st.attempts : 0;
}
int64_t medshim_adapter_attempt_started(const medshim_adapter_ctx *x) {
  return x ? x->st.attempt_started_at : 0;
}
size_t medshim_adapter_step_count(const medshim_adapter_ctx *x) {
  return x ? x->nsteps : 0;
}
const medshim_step *medshim_adapter_step(const medshim_adapter_ctx *x,
                                         size_t i) {
  return x != NULL && i < x->nsteps ? &x->steps[i] : NULL;
}

static int terminated(const char *s, size_t size) {
  return memchr(s, '\0', size) != NULL;
}

static int valid_infno(const char *infno) {
  size_t n = infno ? strnlen(infno, MEDSHIM_INFNO_MAX + 1) : 0;
  if (n == 0 || n > MEDSHIM_INFNO_MAX)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (infno[i] < '0' || infno[i] > '9')
      return 0;
  return 1;
}

/* Transactions that only read (person, visit and settlement queries,
 * sign-in): once a call is over their records resolve nothing, so they
 * are dropped from the log, which then holds only what may have changed
 * the platform and stays within MEDSHIM_STEPS_MAX however often a claim
 * is probed. */
static int is_query(const char *infno) {
  return infno[0] == '5' || strcmp(infno, "1101") == 0 ||
         strcmp(infno, "9001") == 0;
}

static size_t prune_queries(medshim_adapter_ctx *x) {
  size_t kept = 0, n = x->nsteps;
  for (size_t i = 0; i < n; i++)
    if (!is_query(x->steps[i].infno))
      x->steps[kept++] = x->steps[i];
  x->nsteps = kept;
  return n - kept;
}

int medshim_adapter_step_begin(medshim_adapter_ctx *x,
                               char msgid[MEDSHIM_MSGID_LEN + 1],
                               const char *infno) {
  medshim_step *s;
  int rc;
  if (x == NULL || msgid == NULL || !valid_infno(infno))
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  msgid[0] = '\0';
  if (x->nsteps == MEDSHIM_STEPS_MAX)
    return MEDSHIM__FAIL(MEDSHIM_ERANGE);
  if (x->r->fatal != 0)
    return x->r->fatal; /* the journal failed: nothing may be sent */
  s = &x->steps[x->nsteps];
  memset(s, 0, sizeof *s);
  s->version = MEDSHIM_STEP_VERSION;
  s->attempt = x->st.attempts;
  memcpy(s->infno, infno, strlen(infno) + 1);
  s->state = MEDSHIM_STEP_SENT;
  s->sent_at = wall_now();
  if ((rc = medshim__msgids_next(&x->r->msgids, s->msgid, s->sent_at)) !=
      MEDSHIM_OK) {
    set_fatal(x->r, rc);
    return rc;
  }
  x->nsteps++;
  /* Durable before the request leaves: a probe must know it may exist. */
  if ((rc = record(x, 1)) != MEDSHIM_OK) {
    x->nsteps--;
    return rc;
  }
  memcpy(msgid, s->msgid, MEDSHIM_MSGID_LEN + 1);
  return MEDSHIM_OK;
}

int medshim_adapter_step_end(medshim_adapter_ctx *x, const medshim_step *in) {
  medshim_step *s = NULL;
  if (x == NULL || in == NULL || in->version != MEDSHIM_STEP_VERSION ||
      (in->state != MEDSHIM_STEP_OK && in->state != MEDSHIM_STEP_FAILED &&
       in->state != MEDSHIM_STEP_UNKNOWN) ||
      !terminated(in->msgid, sizeof in->msgid))
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  if (!terminated(in->mdtrt_id, sizeof in->mdtrt_id) ||
      !terminated(in->setl_id, sizeof in->setl_id) ||
      !terminated(in->code, sizeof in->code))
    return MEDSHIM__FAIL(MEDSHIM_ERANGE);
  if (in->total_fen < 0 || in->fund_paid_fen < 0 || in->acct_paid_fen < 0 ||
      in->patient_paid_fen < 0)
    return MEDSHIM__FAIL(MEDSHIM_ERANGE);
  for (size_t i = x->nsteps; i-- > 0;)
    if (strcmp(x->steps[i].msgid, in->msgid) == 0) {
      s = &x->steps[i];
      break;
    }
  if (s == NULL)
    return MEDSHIM__FAIL(MEDSHIM_ENOTFOUND);
  s->state = in->state;
  memcpy(s->mdtrt_id, in->mdtrt_id, sizeof s->mdtrt_id);
  memcpy(s->setl_id, in->setl_id, sizeof s->setl_id);
  memcpy(s->code, in->code, sizeof s->code);
  s->setl_time = in->setl_time;
  s->total_fen = in->total_fen;
  s->fund_paid_fen = in->fund_paid_fen;
  s->acct_paid_fen = in->acct_paid_fen;
  s->patient_paid_fen = in->patient_paid_fen;
  /* Written now; durable with the next step_begin, before the next request
   * leaves, or with the run's final sync. */
  return record(x, 0);
}

/* ---- checking answers --------------------------------------------------- */

#define FEN_MAX 10000000000000LL /* 10^13, the claim limit */

/* NULL when the answer may be believed, else why not. */
static const char *check_answer(const medshim_settlement *s,
                                const medshim_claim *c, int is_probe) {
  if (s->outcome < MEDSHIM_OUTCOME_SETTLED ||
      s->outcome > MEDSHIM_OUTCOME_NOT_FOUND)
    return "unknown outcome value";
  if (!terminated(s->code, sizeof s->code) ||
      !terminated(s->message, sizeof s->message))
    return "code or message longer than its limit";
  if (s->outcome == MEDSHIM_OUTCOME_NOT_FOUND && !is_probe)
    return "not_found is a probe's answer, not a settlement's";
  if (s->outcome != MEDSHIM_OUTCOME_SETTLED)
    return NULL;
  if (!terminated(s->settlement_id, sizeof s->settlement_id))
    return "settlement_id longer than 64 bytes";
  if (s->settlement_id[0] == '\0')
    return "settlement_id is empty";
  if (!terminated(s->mdtrt_id, sizeof s->mdtrt_id))
    return "mdtrt_id longer than 64 bytes";
  if (!terminated(s->msgid, sizeof s->msgid))
    return "msgid longer than 30 characters";
  if (s->total_fen < 0 || s->fund_paid_fen < 0 || s->acct_paid_fen < 0 ||
      s->patient_paid_fen < 0 || s->hospital_share_fen < 0)
    return "a negative amount";
  if (s->total_fen > FEN_MAX || s->fund_paid_fen > FEN_MAX ||
      s->acct_paid_fen > FEN_MAX || s->patient_paid_fen > FEN_MAX ||
      s->hospital_share_fen > FEN_MAX)
    return "an amount beyond 10^13 fen";
  if (s->total_fen == 0)
    return "total_fen is missing or zero";
  if (s->fund_paid_fen + s->acct_paid_fen + s->patient_paid_fen +
          s->hospital_share_fen != s->total_fen)
    return "fund + account + cash + hospital share does not equal the total";
  if (s->total_fen > medshim_claim_total_fen(c))
    return "the settled total is larger than the claim's total";
  return NULL;
}

/* Call the adapter; an answer that fails the checks becomes UNKNOWN, with
 * the reason kept for the operator. */
static const char *call(medshim_adapter_ctx *x, int is_probe,
                        medshim_settlement *out) {
  const medshim_adapter *a = x->r->adapter;
  const char *bad;
  int rc;
  memset(out, 0, sizeof *out);
  out->version = MEDSHIM_SETTLEMENT_VERSION;
  rc = is_probe ? a->probe(out, x, a->payload) : a->settle(out, x, a->payload);
  x->pruned = prune_queries(x) > 0;
  if (rc != 0) {
    out->outcome = MEDSHIM_OUTCOME_UNKNOWN;
    return NULL;
  }
  bad = check_answer(out, x->claim, is_probe);
  if (bad != NULL) {
    out->outcome = MEDSHIM_OUTCOME_UNKNOWN;
    count(x->r, &x->r->sum.bad_answers);
  }
  return bad;
}

static void settled_status(medshim_claim_status *st, const medshim_claim *c,
                           const medshim_settlement *s, int64_t at) {
  set_state(st, MEDSHIM_STATE_SETTLED, at);
  memcpy(st->settlement_id, s->settlement_id, sizeof st->settlement_id);
  memcpy(st->mdtrt_id, s->mdtrt_id, sizeof st->mdtrt_id);
  memcpy(st->msgid, s->msgid, sizeof st->msgid);
  st->setl_time = s->setl_time;
  st->total_fen = s->total_fen;
  st->fund_paid_fen = s->fund_paid_fen;
  st->acct_paid_fen = s->acct_paid_fen;
  st->patient_paid_fen = s->patient_paid_fen;
  st->hospital_share_fen = s->hospital_share_fen;
  /* The patient paid self_paid in cash; they owed patient_paid in cash.
   * The personal-account part was not cash, so it is refunded too. Both
   * are bounded by 10^13, so the difference cannot overflow. */
  st->refund_fen = medshim_claim_self_paid_fen(c) - s->patient_paid_fen;
  st->code[0] = st->message[0] = '\0';
  if (st->refund_fen < 0)
    set_text(st, "NEGATIVE_REFUND", "the patient owes more than was paid: a "
             "person must look at this visit");
}

/* ---- one claim ------------------------------------------------------------ */

/* Results of handle(). */
enum { H_DONE = 0, H_BLOCKS = 1, H_FATAL = -1 };

static void wait_text(char *buf, size_t size, const char *what, int64_t t) {
  char when[MEDSHIM_TIME_TEXT];
  medshim__time_format(when, t);
  medshim__fmt(buf, size, "%s %s", what, when);
}

/* Probe an in-doubt claim. Returns 1 when it is known unsettled (go on to
 * send), 0 when it was settled or stays in doubt, H_FATAL. */
static int probe(medshim_adapter_ctx *x, int64_t at) {
  run *r = x->r;
  medshim_settlement s;
  const char *bad;
  count(r, &r->sum.queries);
  bad = call(x, 1, &s);
  if (s.outcome == MEDSHIM_OUTCOME_SETTLED) {
    settled_status(&x->st, x->claim, &s, at);
    return record(x, 0) == MEDSHIM_OK ? 0 : H_FATAL;
  }
  if (s.outcome == MEDSHIM_OUTCOME_NOT_FOUND)
    return 1;
  if (bad != NULL) /* keep the reason where the operator looks */
    set_text(&x->st, "BAD_ANSWER", bad);
  else if (s.message[0] != '\0')
    set_text(&x->st, "UNKNOWN", s.message);
  else if (!x->pruned)
    return 0;
  return record(x, 0) == MEDSHIM_OK ? 0 : H_FATAL;
}

/* Handle one claim: probe, decide where it goes, send. Returns H_BLOCKS
 * when later claims of the same patient must wait, H_DONE, H_FATAL. */
static int handle(medshim_adapter_ctx *x, item *it, int final_pass) {
  run *r = x->r;
  medshim_claim *c = NULL;
  medshim_settlement s;
  const int64_t at = r->o.at;
  char why[128];
  const char *bad;
  int rc, result = H_DONE;

  x->it = it;
  x->nsteps = 0;
  rc = medshim__journal_get_steps(&x->st, x->steps, MEDSHIM_STEPS_MAX,
                                  &x->nsteps, r->j, it->visit_id);
  if (rc == MEDSHIM_OK && it->claim != NULL)
    c = it->claim;
  else if (rc == MEDSHIM_OK)
    rc = medshim_journal_get(&c, NULL, r->j, it->visit_id);
  if (rc == MEDSHIM_OK && medshim_journal_replay_key(x->key, r->j,
                                                     it->visit_id) != MEDSHIM_OK)
    rc = MEDSHIM_ECRYPTO;
  if (rc != MEDSHIM_OK) {
    set_fatal(r, rc);
    return H_FATAL;
  }
  if (x->nsteps > MEDSHIM_STEPS_MAX)
    x->nsteps = MEDSHIM_STEPS_MAX;
  x->claim = c;
  if (final_pass && x->st.state != MEDSHIM_STATE_IN_DOUBT)
    goto done;
  if (x->st.state == MEDSHIM_STATE_IN_DOUBT) {
    /* Never resend before the platform could show the earlier attempt:
     * an orphaned adapter may still be running it, or the platform may
     * lag. The wall clock decides, not `at`. */
    int64_t due = x->st.attempt_started_at + (int64_t)r->o.visibility_delay_seconds;
    if (wall_now() < due) {
      wait_text(why, sizeof why, "in doubt: probe not before", due);
      act(r, it, MEDSHIM_ACTION_WAIT, why);
      result = H_BLOCKS;
      goto done;
    }
    act(r, it, MEDSHIM_ACTION_PROBE, "in doubt since an earlier attempt");
    if (r->o.dry_run)
      goto done;
    if ((rc = probe(x, at)) != 1) {
      result = rc == H_FATAL ? H_FATAL
               : x->st.state == MEDSHIM_STATE_IN_DOUBT ? H_BLOCKS : H_DONE;
      goto done;
    }
    /* Known unsettled: back to pending, then on as any pending claim. */
    set_state(&x->st, MEDSHIM_STATE_PENDING, at);
    x->st.code[0] = x->st.message[0] = '\0';
    if (record(x, 0) != MEDSHIM_OK) {
      result = H_FATAL;
      goto done;
    }
  }
  if (x->st.state == MEDSHIM_STATE_RETRY_WAIT && x->st.not_before > at) {
    wait_text(why, sizeof why, "transient failure: next attempt not before",
              x->st.not_before);
    act(r, it, MEDSHIM_ACTION_WAIT, why);
    result = H_BLOCKS;
    goto done;
  }
  /* Where may it go now? */
  if (!it->has_window) {
    act(r, it, MEDSHIM_ACTION_WAIT, "unplanned: no window journaled; assign "
        "one with medshim window");
    count(r, &r->sum.unplanned);
    goto done;
  }
  if (it->window.route == MEDSHIM_CLAIM_ROUTE_NONE) {
    act(r, it, MEDSHIM_ACTION_WAIT, "no re-settlement was promised");
    goto done;
  }
  if (at < it->window.from) {
    wait_text(why, sizeof why, "window opens", it->window.from);
    act(r, it, MEDSHIM_ACTION_WAIT, why);
    pthread_mutex_lock(&r->mu);
    if (r->sum.opens_at == 0 || it->window.from < r->sum.opens_at)
      r->sum.opens_at = it->window.from;
    pthread_mutex_unlock(&r->mu);
    goto done;
  }
  if (it->window.until != 0 && at >= it->window.until) {
    int64_t expire_at =
        it->window.until + (int64_t)r->o.expire_grace_days * DAY;
    if (at < expire_at && !(r->o.flags & MEDSHIM_REPLAY_EXPIRE_NOW)) {
      wait_text(why, sizeof why, "deadline passed: expires at", expire_at);
      act(r, it, MEDSHIM_ACTION_WAIT, why);
      count(r, &r->sum.overdue);
      goto done;
    }
    act(r, it, MEDSHIM_ACTION_EXPIRE, "the re-settlement deadline passed");
    set_state(&x->st, MEDSHIM_STATE_EXPIRED, at);
    result = record(x, 0) == MEDSHIM_OK ? H_DONE : H_FATAL;
    goto done;
  }
  if (it->window.route == MEDSHIM_CLAIM_ROUTE_AGENCY) {
    act(r, it, MEDSHIM_ACTION_MANUAL, "route agency: manual reimbursement");
    set_state(&x->st, MEDSHIM_STATE_MANUAL, at);
    result = record(x, 0) == MEDSHIM_OK ? H_DONE : H_FATAL;
    goto done;
  }
  act(r, it, MEDSHIM_ACTION_SEND, "window open");
  count(r, &r->sum.attempts);
  if (r->o.dry_run)
    goto done;
  rate_wait(r);
  hook(REPLAY_STEP_BEFORE_IN_DOUBT, it->visit_id);
  /* A new attempt starts only once the earlier ones are resolved (a probe
   * found nothing left, or the adapter undid them): their steps go. */
  x->nsteps = 0;
  x->st.attempts++;
  x->st.attempt_started_at = wall_now();
  x->st.code[0] = x->st.message[0] = '\0';
  set_state(&x->st, MEDSHIM_STATE_IN_DOUBT, at);
  /* Written now, durable with the adapter's first step_begin: nothing may
   * reach the platform before that returns, so a crash before it loses
   * only an attempt that sent nothing. One fdatasync per request, not two. */
  if (record(x, 0) != MEDSHIM_OK) {
    result = H_FATAL;
    goto done;
  }
  hook(REPLAY_STEP_AFTER_IN_DOUBT, it->visit_id);
  bad = call(x, 0, &s);
  hook(REPLAY_STEP_AFTER_ADAPTER, it->visit_id);
  if (r->fatal != 0) { /* a step could not be recorded */
    result = H_FATAL;
    goto done;
  }
  switch (s.outcome) {
  case MEDSHIM_OUTCOME_SETTLED:
    settled_status(&x->st, c, &s, at);
    break;
  case MEDSHIM_OUTCOME_REJECTED:
    set_state(&x->st, MEDSHIM_STATE_REJECTED, at);
    set_text(&x->st, s.code, s.message);
    break;
  case MEDSHIM_OUTCOME_RETRY:
    if (x->st.attempts >= r->o.max_attempts) {
      set_state(&x->st, MEDSHIM_STATE_REJECTED, at);
      medshim__fmt(why, sizeof why, "still failing after %u attempts; check "
                   "the platform and retry by hand", (unsigned)x->st.attempts);
      set_text(&x->st, "MAX_ATTEMPTS", why);
    } else {
      set_state(&x->st, MEDSHIM_STATE_RETRY_WAIT, at);
      x->st.not_before = at + backoff(r, x->st.attempts);
      result = H_BLOCKS;
    }
    break;
  default: /* UNKNOWN (or refused by the checks): stays in doubt */
    it->lost = 1;
    result = H_BLOCKS;
    if (bad != NULL)
      set_text(&x->st, "BAD_ANSWER", bad);
    else if (terminated(s.message, sizeof s.message) && s.message[0] != '\0')
      set_text(&x->st, "UNKNOWN", s.message); /* the adapter's own reason */
    else if (!x->pruned)
      goto done; /* the in_doubt record is already durable */
    break;
  }
  if (record(x, 0) != MEDSHIM_OK) {
    result = H_FATAL;
    goto done;
  }
  hook(REPLAY_STEP_AFTER_RECORD, it->visit_id);
done:
  /* A claim read for this call goes now; a kept one stays while the final
   * pass may still need it (a lost answer, or a claim that blocks). */
  if (c != it->claim || (result == H_DONE && !it->lost)) {
    medshim_claim_free(c);
    if (c == it->claim)
      it->claim = NULL;
  }
  x->claim = NULL;
  return result;
}

static void progress(run *r) {
  pthread_mutex_lock(&r->mu);
  r->handled++;
  if (r->o.progress != NULL &&
      r->o.progress(&r->sum, r->handled, r->o.progress_payload) != 0 &&
      r->fatal == 0)
    r->fatal = MEDSHIM_EUSER;
  pthread_mutex_unlock(&r->mu);
}

/* A worker: take the next patient's claims and handle them in order. */
static void *worker(void *arg) {
  run *r = arg;
  medshim_adapter_ctx *x = calloc(1, sizeof *x);
  if (x == NULL) {
    set_fatal(r, MEDSHIM_ENOMEM);
    return NULL;
  }
  x->r = r;
  for (;;) {
    size_t g, end;
    int stop;
    pthread_mutex_lock(&r->mu);
    stop = r->fatal != 0;
    g = r->next_group++;
    pthread_mutex_unlock(&r->mu);
    if (stop || g >= r->ngroups)
      break;
    end = g + 1 < r->ngroups ? r->groups[g + 1] : r->nitems;
    for (size_t i = r->groups[g]; i < end; i++) {
      int b = handle(x, &r->items[i], 0);
      progress(r);
      if (b != H_DONE)
        break; /* ordering per patient: the rest waits for this one */
    }
  }
  free(x);
  return NULL;
}

static int run_checks(run *r, const medshim_journal *j,
                      const medshim_adapter *adapter,
                      const medshim_replay_options *opts) {
  (void)j;
  if (opts == NULL || opts->version != MEDSHIM_REPLAY_OPTIONS_VERSION ||
      adapter == NULL || adapter->version != MEDSHIM_ADAPTER_VERSION ||
      adapter->settle == NULL || adapter->probe == NULL || opts->rate < 0)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  r->o = *opts;
  if (r->o.at == 0)
    r->o.at = wall_now();
  if (r->o.concurrency == 0)
    r->o.concurrency = 1;
  if (r->o.concurrency > 64)
    r->o.concurrency = 64;
  if (r->o.max_attempts == 0)
    r->o.max_attempts = 8;
  if (r->o.backoff_base_seconds == 0)
    r->o.backoff_base_seconds = 60;
  if (r->o.backoff_cap_seconds == 0)
    r->o.backoff_cap_seconds = 3600;
  if (r->o.visibility_delay_seconds == 0)
    r->o.visibility_delay_seconds = DEFAULT_VISIBILITY_DELAY;
  if (r->o.flags & MEDSHIM_REPLAY_NO_VISIBILITY_DELAY)
    r->o.visibility_delay_seconds = 0;
  if (r->o.expire_grace_days == 0)
    r->o.expire_grace_days = DEFAULT_GRACE_DAYS;
  return MEDSHIM_OK;
}


int medshim_replay_run(medshim_replay_summary *out, medshim_journal *j,
                       const medshim_adapter *adapter,
                       const medshim_replay_options *opts) {
  run r;
  collector col;
  pthread_t th[64];
  unsigned nth;
  int rc = MEDSHIM_OK;

  memset(&r, 0, sizeof r);
  r.sum.version = MEDSHIM_REPLAY_SUMMARY_VERSION;
  if (out != NULL)
    *out = r.sum;
  if (j == NULL || run_checks(&r, j, adapter, opts) != MEDSHIM_OK)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  if (medshim__msgids_init(&r.msgids, j->dir, r.o.institution_code) !=
      MEDSHIM_OK)
    return medshim__journal_fail(j, MEDSHIM_EINVAL, "institution_code must "
                                 "be the 12-character fixmedins_code");
  r.j = j;
  r.adapter = adapter;
  r.wall = wall_now();
  r.rng = r.o.seed ? r.o.seed : (uint64_t)medshim__os_wall_s() | 1;
  pthread_mutex_init(&r.mu, NULL);
  col.r = &r;
  col.unfinished = col.plausible = 0;

  col.kept_bytes = 0;
  rc = medshim__journal_foreach_take(j, collect, &col);
  if (rc == MEDSHIM_EUSER)
    rc = r.collect_rc;
  if (rc != MEDSHIM_OK)
    goto cleanup;
  if (col.unfinished > 0 && col.plausible == 0 &&
      !(r.o.flags & MEDSHIM_REPLAY_CONFIRM_TIME)) {
    /* A typo in --at or a wrong clock would expire or send everything. */
    char when[MEDSHIM_TIME_TEXT], why[256];
    medshim__time_format(when, r.o.at);
    medshim__fmt(why, sizeof why, "the run's time %s is before every "
                 "unfinished claim's visit or more than a year past every "
                 "deadline: check the date and the clock, or confirm it", when);
    rc = medshim__journal_fail(j, MEDSHIM_ESTATE, why);
    goto cleanup;
  }
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
  /* Answers lost in this run: probe those whose visibility delay allows. */
  if (r.fatal == 0 && !r.o.dry_run) {
    medshim_adapter_ctx *x = calloc(1, sizeof *x);
    if (x == NULL)
      r.fatal = MEDSHIM_ENOMEM;
    for (size_t i = 0; x != NULL && i < r.nitems && r.fatal == 0; i++)
      if (r.items[i].lost) {
        x->r = &r;
        (void)handle(x, &r.items[i], 1);
      }
    free(x);
  }
  /* Claims a patient's earlier claim held back this run. */
  for (size_t i = 0; i < r.nitems; i++)
    if (!r.items[i].acted) {
      act(&r, &r.items[i], MEDSHIM_ACTION_WAIT,
          "blocked behind the same patient's earlier claim");
      r.sum.blocked++;
    }
  rc = r.fatal;
  if (rc == MEDSHIM_OK && !r.o.dry_run)
    rc = medshim_journal_sync(j); /* outcomes durable before we report */
  {
    /* Count where every worked claim ended up. In a dry run, where it
     * would: the actions taken say so. */
    medshim_replay_summary final = r.sum;
    final.pending = final.in_doubt = final.retry_wait = 0;
    for (size_t i = 0; i < r.nitems; i++) {
      medshim_claim_status st;
      if (medshim_journal_get(NULL, &st, j, r.items[i].visit_id) != MEDSHIM_OK)
        continue;
      if (r.o.dry_run && r.items[i].action == MEDSHIM_ACTION_EXPIRE)
        st.state = MEDSHIM_STATE_EXPIRED;
      else if (r.o.dry_run && r.items[i].action == MEDSHIM_ACTION_MANUAL)
        st.state = MEDSHIM_STATE_MANUAL;
      count_state(&final, &st);
    }
    r.sum = final;
  }
cleanup:
  if (out != NULL)
    *out = r.sum;
  for (size_t i = 0; i < r.nitems; i++)
    medshim_claim_free(r.items[i].claim);
  free(r.items);
  free(r.groups);
  medshim__msgids_free(&r.msgids);
  pthread_mutex_destroy(&r.mu);
  return rc;
}

/* ---- person-driven transitions ------------------------------------------ */

enum transition_kind { TO_VOID, TO_RETRY, TO_EXPIRE };

/* Read the status and its step log, change the state, keep the steps. */
static int transition(medshim_journal *j, const char *visit_id, int64_t at,
                      enum transition_kind kind) {
  medshim_claim_status st;
  medshim_claim_window w;
  medshim_claim *c = NULL;
  medshim_step *steps = malloc(MEDSHIM_STEPS_MAX * sizeof *steps);
  size_t n = 0;
  int rc;
  if (steps == NULL)
    return MEDSHIM__FAIL(MEDSHIM_ENOMEM);
  rc = medshim__journal_get_steps(&st, steps, MEDSHIM_STEPS_MAX, &n, j,
                                  visit_id);
  if (rc != MEDSHIM_OK)
    goto cleanup;
  if (n > MEDSHIM_STEPS_MAX)
    n = MEDSHIM_STEPS_MAX;
  rc = MEDSHIM_ESTATE;
  switch (kind) {
  case TO_VOID:
    if (st.state == MEDSHIM_STATE_SETTLED || st.state == MEDSHIM_STATE_IN_DOUBT ||
        st.state == MEDSHIM_STATE_VOIDED)
      goto cleanup;
    set_state(&st, MEDSHIM_STATE_VOIDED, at);
    break;
  case TO_RETRY:
    if (st.state != MEDSHIM_STATE_REJECTED && st.state != MEDSHIM_STATE_EXPIRED)
      goto cleanup;
    if (st.state == MEDSHIM_STATE_EXPIRED) {
      /* An expiry is taken back only while the deadline still allows. */
      if ((rc = medshim_journal_get(&c, NULL, j, visit_id)) != MEDSHIM_OK)
        goto cleanup;
      rc = MEDSHIM_ESTATE;
      if (effective_window(&w, c, &st) && w.until != 0 && at >= w.until)
        goto cleanup;
    }
    set_state(&st, MEDSHIM_STATE_PENDING, at);
    st.attempts = 0;
    st.not_before = 0;
    st.code[0] = st.message[0] = '\0';
    break;
  case TO_EXPIRE:
    if (st.state != MEDSHIM_STATE_PENDING &&
        st.state != MEDSHIM_STATE_RETRY_WAIT &&
        st.state != MEDSHIM_STATE_REJECTED)
      goto cleanup;
    set_state(&st, MEDSHIM_STATE_EXPIRED, at);
    break;
  }
  rc = medshim__journal_set_status(j, visit_id, &st, steps, n, 1);
cleanup:
  medshim_claim_free(c);
  free(steps);
  return rc;
}

int medshim_replay_void(medshim_journal *j, const char *visit_id, int64_t at) {
  if (j == NULL || visit_id == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  return transition(j, visit_id, at, TO_VOID);
}

int medshim_replay_retry(medshim_journal *j, const char *visit_id, int64_t at) {
  if (j == NULL || visit_id == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  return transition(j, visit_id, at, TO_RETRY);
}

int medshim_replay_expire(medshim_journal *j, const char *visit_id,
                          int64_t at) {
  if (j == NULL || visit_id == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  return transition(j, visit_id, at, TO_EXPIRE);
}

int medshim_replay_steps(medshim_step *out, size_t cap, size_t *count_out,
                         medshim_journal *j, const char *visit_id) {
  medshim_claim_status st;
  size_t n = 0;
  int rc;
  if (count_out != NULL)
    *count_out = 0;
  if (j == NULL || visit_id == NULL || (out == NULL && cap > 0))
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  rc = medshim__journal_get_steps(&st, out, cap, &n, j, visit_id);
  if (rc == MEDSHIM_OK && count_out != NULL)
    *count_out = n;
  return rc;
}

/* ---- windows for claims: an amended notice, or an unplanned outage ------- */

typedef struct assign_ctx {
  const medshim_schedule_set *set;
  medshim_window_change_fn fn;
  void *payload;
  char (*ids)[MEDSHIM_VISIT_ID_MAX + 1];
  medshim_claim_window *windows;
  size_t n, cap;
  int rc;
} assign_ctx;

static int same_window(const medshim_claim_window *a,
                       const medshim_claim_window *b) {
  return a->route == b->route && a->from == b->from && a->until == b->until;
}

static int assign_visit(const medshim_claim *c, const medshim_claim_status *st,
                        void *payload) {
  assign_ctx *a = payload;
  medshim_replay_window rw;
  medshim_claim_window before, after;
  int had;
  if (is_final(st->state) || st->state == MEDSHIM_STATE_IN_DOUBT)
    return 0; /* settled or possibly sent: a window no longer matters */
  had = effective_window(&before, c, st);
  if (!had) {
    memset(&before, 0, sizeof before);
    before.version = MEDSHIM_CLAIM_WINDOW_VERSION;
  }
  if (medshim_schedule_replay_window(&rw, a->set, (int)medshim_claim_service(c),
                                     medshim_claim_insured_admdvs(c),
                                     medshim_claim_treated_admdvs(c),
                                     medshim_claim_visit_time(c)) != MEDSHIM_OK)
    return 0;
  memset(&after, 0, sizeof after);
  after.version = MEDSHIM_CLAIM_WINDOW_VERSION;
  after.route = (int)rw.route;
  after.from = rw.from;
  after.until = rw.until;
  if (had && same_window(&before, &after))
    return 0;
  if (!had && after.route == MEDSHIM_CLAIM_ROUTE_NONE)
    return 0;
  if (a->fn != NULL &&
      a->fn(medshim_claim_visit_id(c), had ? &before : NULL, &after,
            a->payload) != 0) {
    a->rc = MEDSHIM_EUSER;
    return 1;
  }
  if (a->n == a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 256;
    void *ids = realloc(a->ids, cap * sizeof *a->ids);
    void *ws = ids ? realloc(a->windows, cap * sizeof *a->windows) : NULL;
    if (ids != NULL)
      a->ids = ids;
    if (ws == NULL) {
      a->rc = MEDSHIM_ENOMEM;
      return 1;
    }
    a->windows = ws;
    a->cap = cap;
  }
  memcpy(a->ids[a->n], medshim_claim_visit_id(c),
         strlen(medshim_claim_visit_id(c)) + 1);
  a->windows[a->n++] = after;
  return 0;
}

int medshim_replay_assign_windows(size_t *changed, medshim_journal *j,
                                  const medshim_schedule_set *set, int apply,
                                  medshim_window_change_fn fn, void *payload) {
  assign_ctx a;
  medshim_step *steps = NULL;
  int rc;
  if (changed != NULL)
    *changed = 0;
  if (j == NULL || set == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  memset(&a, 0, sizeof a);
  a.set = set;
  a.fn = fn;
  a.payload = payload;
  rc = medshim_journal_foreach(j, assign_visit, &a);
  if (rc == MEDSHIM_EUSER)
    rc = a.rc;
  if (rc == MEDSHIM_OK && apply && a.n > 0) {
    steps = malloc(MEDSHIM_STEPS_MAX * sizeof *steps);
    if (steps == NULL)
      rc = MEDSHIM_ENOMEM;
  }
  /* Only when asked: an operator's wrong file must not change claims. */
  for (size_t i = 0; rc == MEDSHIM_OK && apply && i < a.n; i++) {
    medshim_claim_status st;
    size_t n = 0;
    rc = medshim__journal_get_steps(&st, steps, MEDSHIM_STEPS_MAX, &n, j,
                                    a.ids[i]);
    if (rc != MEDSHIM_OK)
      break;
    st.window_assigned = 1;
    st.window = a.windows[i];
    rc = medshim__journal_set_status(j, a.ids[i], &st, steps,
                                     n > MEDSHIM_STEPS_MAX ? MEDSHIM_STEPS_MAX : n,
                                     i + 1 == a.n);
  }
  if (rc == MEDSHIM_OK && changed != NULL)
    *changed = a.n;
  free(steps);
  free(a.ids);
  free(a.windows);
  return rc;
}
