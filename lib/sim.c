/* The platform simulator: a ledger keyed by replay key, shared across
 * processes through a locked append-only file, with configurable latency,
 * transient failures, stable rejections, lost answers and a detector for
 * double settlement. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "medshim/sim.h"

typedef struct entry {
  char key[MEDSHIM_REPLAY_KEY_LEN + 1];
  char setl_id[32];
  int64_t fund, acct, cash;
} entry;

struct medshim_sim {
  medshim_sim_options o;
  char *path;
  pthread_mutex_t mu;
  entry *ledger;
  size_t n, cap;
  size_t doubles;
  uint64_t rng;
  atomic_size_t calls, in_flight, max_in_flight;
};

static uint64_t key_hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ull;
  }
  return h;
}

static entry *find(medshim_sim *s, const char *key) {
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->ledger[i].key, key) == 0)
      return &s->ledger[i];
  return NULL;
}

static int add(medshim_sim *s, const entry *e) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 256;
    entry *n = realloc(s->ledger, cap * sizeof *n);
    if (n == NULL)
      return -1;
    s->ledger = n;
    s->cap = cap;
  }
  s->ledger[s->n++] = *e;
  return 0;
}

/* Reload the ledger from the file (other processes may have written). */
static int load(medshim_sim *s, int fd) {
  FILE *f;
  char line[256];
  int dup = dup2(fd, fd) >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
  if (dup < 0)
    return -1;
  lseek(dup, 0, SEEK_SET);
  f = fdopen(dup, "r");
  if (f == NULL) {
    close(dup);
    return -1;
  }
  s->n = 0;
  s->doubles = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    entry e;
    long long fund, acct, cash;
    memset(&e, 0, sizeof e);
    if (line[0] == 'S' && sscanf(line, "S %30s %31s %lld %lld %lld", e.key,
                                 e.setl_id, &fund, &acct, &cash) == 5) {
      e.fund = fund;
      e.acct = acct;
      e.cash = cash;
      if (add(s, &e) != 0)
        break;
    } else if (line[0] == 'D') {
      s->doubles++;
    }
  }
  fclose(f);
  return 0;
}

/* Run op with the ledger current and locked; append `line` when given. */
static int with_ledger(medshim_sim *s, int (*op)(medshim_sim *, void *),
                       void *arg) {
  int fd = -1, rc;
  pthread_mutex_lock(&s->mu);
  if (s->path != NULL) {
    fd = open(s->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX) != 0 || load(s, fd) != 0) {
      if (fd >= 0)
        close(fd);
      pthread_mutex_unlock(&s->mu);
      return -1;
    }
  }
  rc = op(s, arg);
  if (fd >= 0) {
    const char *line = rc > 0 ? (const char *)arg : NULL;
    (void)line;
    close(fd); /* releases the lock */
  }
  pthread_mutex_unlock(&s->mu);
  return rc < 0 ? -1 : 0;
}

static int append_line(medshim_sim *s, const char *line) {
  int fd;
  size_t len = strlen(line);
  if (s->path == NULL)
    return 0;
  /* Opened again: the lock is held on another descriptor of this file by
   * this process (flock locks belong to the open file description, so the
   * append below is within our own locked section). */
  fd = open(s->path, O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0)
    return -1;
  if (write(fd, line, len) != (ssize_t)len || fsync(fd) != 0) {
    close(fd);
    return -1;
  }
  close(fd);
  return 0;
}

int medshim_sim_open(medshim_sim **out, const medshim_sim_options *o) {
  medshim_sim *s;
  if (out == NULL)
    return MEDSHIM_EINVAL;
  *out = NULL;
  if (o != NULL && o->version != MEDSHIM_SIM_OPTIONS_VERSION)
    return MEDSHIM_EINVAL;
  s = calloc(1, sizeof *s);
  if (s == NULL)
    return MEDSHIM_ENOMEM;
  if (o != NULL)
    s->o = *o;
  s->o.version = MEDSHIM_SIM_OPTIONS_VERSION;
  if (s->o.fund_permille == 0)
    s->o.fund_permille = 700;
  if (s->o.acct_permille == 0)
    s->o.acct_permille = 100;
  if (s->o.fund_permille + s->o.acct_permille > 1000) {
    free(s);
    return MEDSHIM_EINVAL;
  }
  s->rng = s->o.seed ? s->o.seed : (uint64_t)time(NULL) ^ (uint64_t)getpid();
  s->rng |= 1;
  pthread_mutex_init(&s->mu, NULL);
  if (o != NULL && o->ledger_path != NULL) {
    s->path = strdup(o->ledger_path);
    if (s->path == NULL) {
      medshim_sim_close(s);
      return MEDSHIM_ENOMEM;
    }
  }
  s->o.ledger_path = s->path;
  *out = s;
  return MEDSHIM_OK;
}

void medshim_sim_close(medshim_sim *s) {
  if (s == NULL)
    return;
  pthread_mutex_destroy(&s->mu);
  free(s->ledger);
  free(s->path);
  free(s);
}

static uint32_t roll(medshim_sim *s) {
  s->rng ^= s->rng << 13;
  s->rng ^= s->rng >> 7;
  s->rng ^= s->rng << 17;
  return (uint32_t)(s->rng % 1000);
}

static void enter(medshim_sim *s) {
  size_t now = atomic_fetch_add(&s->in_flight, 1) + 1, max;
  max = atomic_load(&s->max_in_flight);
  while (now > max && !atomic_compare_exchange_weak(&s->max_in_flight, &max, now))
    ;
  if (s->o.latency_ms > 0) {
    struct timespec ts = {(time_t)(s->o.latency_ms / 1000),
                          (long)(s->o.latency_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
  }
}

static void leave(medshim_sim *s) { atomic_fetch_sub(&s->in_flight, 1); }

typedef struct settle_arg {
  medshim_settlement *out;
  const char *key;
  int64_t total;
} settle_arg;

static int do_settle(medshim_sim *s, void *arg) {
  settle_arg *a = arg;
  medshim_settlement *out = a->out;
  entry e, *old = find(s, a->key);
  char line[256];
  uint32_t r = roll(s);
  if (old != NULL) {
    /* The detector: a key settled before is never settled again. */
    s->doubles++;
    snprintf(line, sizeof line, "D %s\n", a->key);
    if (append_line(s, line) != 0)
      return -1;
    out->outcome = MEDSHIM_OUTCOME_REJECTED;
    snprintf(out->code, sizeof out->code, "DUPLICATE");
    snprintf(out->message, sizeof out->message,
             "already settled as %s: double settlement refused", old->setl_id);
    return 0;
  }
  if (key_hash(a->key) % 1000 < s->o.reject_permille) {
    out->outcome = MEDSHIM_OUTCOME_REJECTED;
    snprintf(out->code, sizeof out->code, "1406");
    snprintf(out->message, sizeof out->message,
             "person not found or enrolled twice (simulated)");
    return 0;
  }
  if (r < s->o.retry_permille) {
    out->outcome = MEDSHIM_OUTCOME_RETRY;
    return 0;
  }
  memset(&e, 0, sizeof e);
  snprintf(e.key, sizeof e.key, "%s", a->key);
  snprintf(e.setl_id, sizeof e.setl_id, "SIM%016llx",
           (unsigned long long)key_hash(a->key));
  e.fund = a->total * s->o.fund_permille / 1000;
  e.acct = a->total * s->o.acct_permille / 1000;
  e.cash = a->total - e.fund - e.acct;
  snprintf(line, sizeof line, "S %s %s %lld %lld %lld\n", e.key, e.setl_id,
           (long long)e.fund, (long long)e.acct, (long long)e.cash);
  if (append_line(s, line) != 0 || add(s, &e) != 0)
    return -1;
  if (roll(s) < s->o.lost_permille) {
    out->outcome = MEDSHIM_OUTCOME_UNKNOWN; /* settled, answer lost */
    return 0;
  }
  out->outcome = MEDSHIM_OUTCOME_SETTLED;
  snprintf(out->settlement_id, sizeof out->settlement_id, "%s", e.setl_id);
  out->fund_paid_fen = e.fund;
  out->acct_paid_fen = e.acct;
  out->patient_paid_fen = e.cash;
  return 0;
}

int medshim_sim_settle(medshim_sim *s, medshim_settlement *out,
                       const char *replay_key, int64_t total_fen) {
  settle_arg a;
  int rc;
  if (s == NULL || out == NULL || replay_key == NULL ||
      strlen(replay_key) > MEDSHIM_REPLAY_KEY_LEN || total_fen < 0)
    return MEDSHIM_EINVAL;
  memset(out, 0, sizeof *out);
  out->version = MEDSHIM_SETTLEMENT_VERSION;
  atomic_fetch_add(&s->calls, 1);
  enter(s);
  a.out = out;
  a.key = replay_key;
  a.total = total_fen;
  rc = with_ledger(s, do_settle, &a);
  leave(s);
  if (rc != 0)
    out->outcome = MEDSHIM_OUTCOME_UNKNOWN;
  return rc == 0 ? MEDSHIM_OK : MEDSHIM_EIO;
}

typedef struct query_arg {
  medshim_settlement *out;
  const char *key;
} query_arg;

static int do_query(medshim_sim *s, void *arg) {
  query_arg *a = arg;
  entry *e = find(s, a->key);
  if (e == NULL) {
    a->out->outcome = MEDSHIM_OUTCOME_NOT_FOUND;
    return 0;
  }
  a->out->outcome = MEDSHIM_OUTCOME_SETTLED;
  snprintf(a->out->settlement_id, sizeof a->out->settlement_id, "%s", e->setl_id);
  a->out->fund_paid_fen = e->fund;
  a->out->acct_paid_fen = e->acct;
  a->out->patient_paid_fen = e->cash;
  return 0;
}

int medshim_sim_query(medshim_sim *s, medshim_settlement *out,
                      const char *replay_key) {
  query_arg a;
  int rc;
  if (s == NULL || out == NULL || replay_key == NULL)
    return MEDSHIM_EINVAL;
  memset(out, 0, sizeof *out);
  out->version = MEDSHIM_SETTLEMENT_VERSION;
  enter(s);
  a.out = out;
  a.key = replay_key;
  rc = with_ledger(s, do_query, &a);
  leave(s);
  if (rc != 0)
    out->outcome = MEDSHIM_OUTCOME_UNKNOWN;
  return rc == 0 ? MEDSHIM_OK : MEDSHIM_EIO;
}

/* Interim v2 adapter (replaced by the real-protocol simulator): one 2207
 * step per attempt, probed by replay key. */
static void fill_total(medshim_settlement *out) {
  if (out->outcome == MEDSHIM_OUTCOME_SETTLED)
    out->total_fen = out->fund_paid_fen + out->acct_paid_fen +
                     out->patient_paid_fen;
}

static int adapter_settle(medshim_settlement *out, medshim_adapter_ctx *ctx,
                          void *payload) {
  medshim_step st;
  char msgid[MEDSHIM_MSGID_LEN + 1];
  int rc;
  if (medshim_adapter_step_begin(ctx, msgid, "2207") != MEDSHIM_OK)
    return -1;
  rc = medshim_sim_settle(payload, out, medshim_adapter_replay_key(ctx),
                          medshim_claim_total_fen(medshim_adapter_claim(ctx)));
  fill_total(out);
  memset(&st, 0, sizeof st);
  st.version = MEDSHIM_STEP_VERSION;
  memcpy(st.msgid, msgid, sizeof msgid);
  st.state = out->outcome == MEDSHIM_OUTCOME_UNKNOWN ? MEDSHIM_STEP_UNKNOWN
             : out->outcome == MEDSHIM_OUTCOME_SETTLED ? MEDSHIM_STEP_OK
                                                      : MEDSHIM_STEP_FAILED;
  snprintf(st.setl_id, sizeof st.setl_id, "%s", out->settlement_id);
  memcpy(out->msgid, msgid, sizeof msgid);
  if (medshim_adapter_step_end(ctx, &st) != MEDSHIM_OK)
    return -1;
  return rc;
}

static int adapter_query(medshim_settlement *out, medshim_adapter_ctx *ctx,
                         void *payload) {
  int rc = medshim_sim_query(payload, out, medshim_adapter_replay_key(ctx));
  fill_total(out);
  return rc;
}

void medshim_sim_adapter(medshim_adapter *out, medshim_sim *sim) {
  if (out == NULL)
    return;
  out->version = MEDSHIM_ADAPTER_VERSION;
  out->settle = adapter_settle;
  out->probe = adapter_query;
  out->payload = sim;
}

static int noop(medshim_sim *s, void *arg) {
  (void)s;
  (void)arg;
  return 0;
}

size_t medshim_sim_settlements(medshim_sim *s) {
  size_t n;
  if (s == NULL || with_ledger(s, noop, NULL) != 0)
    return 0;
  pthread_mutex_lock(&s->mu);
  n = s->n;
  pthread_mutex_unlock(&s->mu);
  return n;
}

size_t medshim_sim_double_attempts(medshim_sim *s) {
  size_t n;
  if (s == NULL || with_ledger(s, noop, NULL) != 0)
    return 0;
  pthread_mutex_lock(&s->mu);
  n = s->doubles;
  pthread_mutex_unlock(&s->mu);
  return n;
}

size_t medshim_sim_settle_calls(const medshim_sim *s) {
  return s ? atomic_load(&((medshim_sim *)s)->calls) : 0;
}

size_t medshim_sim_max_concurrency(const medshim_sim *s) {
  return s ? atomic_load(&((medshim_sim *)s)->max_in_flight) : 0;
}

int medshim_sim_is_settled(medshim_sim *s, const char *key) {
  int r;
  if (s == NULL || key == NULL || with_ledger(s, noop, NULL) != 0)
    return 0;
  pthread_mutex_lock(&s->mu);
  r = find(s, key) != NULL;
  pthread_mutex_unlock(&s->mu);
  return r;
}
