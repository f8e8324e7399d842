/* medshim defer: journal claims read as JSON lines, acknowledging each once
 * it is durable.
 *
 * Workers (one per CPU, at most WORKERS_MAX) each repeat: take the next run
 * of complete lines from stdin, reading only when none is buffered; parse
 * it; register its visit_ids, in input order; write it with
 * medshim_journal_defer_batch_nosync(). Runs are written in parallel, but
 * a line whose visit_id an earlier run still unwritten holds waits for
 * that run, so the first line of a repeated visit_id is the one stored.
 * The main thread acknowledges: once the runs next in input order are
 * written and a sync is what everyone waits for (see acknowledge()), it
 * makes them durable with one medshim_journal_sync() and prints their
 * acks and errors. Nothing is acknowledged before its sync returned;
 * nobody but the acknowledger waits for the disk; and a worker reads only
 * when no complete line is buffered, so nothing already read waits for
 * more input before it is acknowledged. A regular file on
 * stdin is mapped rather than read. */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "cli.h"
#include "cli_input.h"
#include "cli_opt.h"
#include "cli_sys.h"
#include "cli_util.h"
#include "hash_internal.h"
#include "json_arena.h"
#include "os.h"

#define RUN_LINES 64           /* lines per run at most */
#define RUN_BYTES (1u << 20)   /* bytes per run, unless one line is longer */
#define LINE_MAX_BYTES (2u << 20)
#define WORKERS_MAX 4
#define RUNS_PER_WORKER 8 /* written runs wait for their sync meanwhile */
/* visit_id table: twice the lines of every run in flight, a power of 2 */
#define IDS_SLOTS (2u * WORKERS_MAX * RUNS_PER_WORKER * RUN_LINES)
#define ARENA_BYTES (256u * 1024) /* jansson's blocks for one line */
#define ERRMSG_MAX (MEDSHIM_ERROR_WHERE_MAX + MEDSHIM_ERROR_TEXT_MAX + 64)

/* One line of a run: its text (in the mapped input, or at an offset into
 * the run's copy), or an error found while reading it (an overlong line). */
typedef struct entry {
  const char *mapped; /* NULL: the text is the run's copy at off */
  size_t off, len;
  long line;
  int overlong;
} entry;

/* The lines one worker handles at a time, copied out of the input buffer
 * so that the next worker may read on. */
typedef struct run {
  char *text; /* personal data: wiped before reuse and when freed */
  size_t cap, used;
  size_t bytes; /* of all its lines, copied or not */
  entry e[RUN_LINES];
  size_t n;
  medshim_claim *claim[RUN_LINES];
  char *error[RUN_LINES]; /* malloc'ed message, no personal data */
  const medshim_claim *batch[RUN_LINES];
  int results[RUN_LINES];
  int state; /* RUN_FREE, RUN_BUSY, RUN_WRITTEN or RUN_DONE, under mu */
  int rc;    /* of the journal call */
  unsigned long pos; /* position in the input, among runs */
  /* earlier runs, unwritten when this one registered, holding one of its
   * visit_ids: written first */
  struct run *after[RUN_LINES];
  unsigned long after_pos[RUN_LINES];
  size_t nafter;
} run;

/* A run is filled by its worker (BUSY), waits for its sync (WRITTEN), is
 * acknowledged (DONE) and is cleared by its worker when it takes it again:
 * claims are freed by the thread that made them. */
enum { RUN_FREE, RUN_BUSY, RUN_WRITTEN, RUN_DONE };

typedef struct shared {
  medshim_journal *j;
  /* input, under in_mu */
  pthread_mutex_t in_mu;
  char *buf; /* read buffer, or the input file mapped read-only */
  size_t cap, len, start;
  int mapped;
  long line; /* lines taken so far */
  int eof, skipping;
  unsigned long taken; /* runs taken so far: a run's position */
  /* turns, under mu */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  run *runs;  /* nruns of them: RUNS_PER_WORKER for each worker */
  size_t nruns;
  run **ring; /* a registered run at ring[position % nruns] */
  unsigned long registered; /* runs [0, registered) have registered */
  unsigned long acked;      /* runs [0, acked) are acknowledged */
  /* visit_ids of the registered runs not yet written, and which run holds
   * each (open addressing; at most half full) */
  struct idslot {
    uint64_t hash;
    const char *id; /* NULL: free */
    run *owner;
  } *ids;
  size_t ids_mask;
  int opened;  /* the journal is open (s->j) */
  int in_hand; /* runs with lines taken and not yet written */
  int starved; /* workers waiting for one of their runs back */
  int done;    /* workers that have finished */
  int workers; /* started */
  int refused; /* lines, counted by the acknowledger */
  atomic_int fatal; /* journal or input failure: stop everything */
  cli_input *in; /* stdin; woken once fatal, for a reader waiting on it */
} shared;

static void usage(FILE *f) {
  fprintf(f,
          "usage: medshim defer --journal DIR --key KEYFILE [--create]\n"
          "                     [--suite default|sm]\n"
          "                     [--receipts FILE] [--schedule FILE... [--pubkey PEM]]\n"
          "                     < claims.jsonl\n\n"
          "Reads one claim per line (JSON, see docs/claim-format.md) and\n"
          "journals it durably. The journal must exist unless --create is\n"
          "given (a mistyped --journal must not start a second one). For each\n"
          "claim, once it is on disk, prints {\"visit_id\":...,\"status\":\n"
          "\"stored\"|\"duplicate\"}, in input order. A bad line is reported\n"
          "on stderr with its line number and field; the other lines are\n"
          "still stored.\n"
          "With --schedule, a line without a \"window\" member gets the\n"
          "re-settlement window those schedules give its visit, journaled\n"
          "with it (what the cashier was told); replay uses only journaled\n"
          "windows. Lines without either are unplanned until `medshim window`.\n"
          "--receipts FILE appends `VISIT_ID RECEIPT` for each acknowledged\n"
          "claim (and adds \"receipt\" to its line): the HIS keeps them, and\n"
          "`medshim verify --receipts FILE` detects a directory rolled back.\n"
          "--suite sm creates the journal with the national suite (SM4-CTR,\n"
          "HMAC-SM3, SM3 chain; docs/national-crypto.md) and refuses to\n"
          "write to an existing journal of another suite; default (the\n"
          "default) creates AES-256-GCM journals and accepts either.\n"
          "\nExit status: 0 all stored; 1 journal error (no journal at DIR\n"
          "without --create, wrong key, I/O); 2 some lines refused, the rest\n"
          "stored; 64 bad command line.\n");
}

/* Stop everything: workers waiting for a turn and a worker waiting for
 * input (in poll) see it at once. */
static void set_fatal(shared *s) {
  pthread_mutex_lock(&s->mu);
  if (!atomic_exchange(&s->fatal, 1) && s->in != NULL)
    cli_input_wake(s->in);
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

/* Wait until stdin has input (or its end) or fatal is set. 0: read now. */
static int wait_input(shared *s) {
  if (cli_input_wait(s->in) != 0 || atomic_load(&s->fatal))
    return -1;
  return 0;
}

/* Copy one line into the run. -1 when out of memory. */
static int run_add(run *r, const char *text, size_t len, long line) {
  if (r->used + len > r->cap) {
    size_t cap = r->cap ? r->cap : 64 * 1024;
    char *n;
    while (cap < r->used + len)
      cap *= 2;
    if ((n = malloc(cap)) == NULL)
      return -1;
    if (r->text != NULL) { /* not realloc: the old block must be wiped */
      memcpy(n, r->text, r->used);
      memset(r->text, 0, r->cap);
      free(r->text);
    }
    r->text = n;
    r->cap = cap;
  }
  memcpy(r->text + r->used, text, len);
  r->e[r->n].mapped = NULL;
  r->e[r->n].off = r->used;
  r->e[r->n].len = len;
  r->e[r->n].line = line;
  r->e[r->n].overlong = 0;
  r->n++;
  r->used += len;
  r->bytes += len;
  return 0;
}

/* A line of the mapped input: no copy, the mapping outlives every run. */
static void run_add_mapped(run *r, const char *text, size_t len, long line) {
  entry *e = &r->e[r->n++];
  e->mapped = text;
  e->off = 0;
  e->len = len;
  e->line = line;
  e->overlong = len >= LINE_MAX_BYTES;
  r->bytes += len;
}

static const char *line_text(const run *r, size_t i) {
  return r->e[i].mapped ? r->e[i].mapped : r->text + r->e[i].off;
}

/* Take the next run of lines; called with in_mu held. Reads stdin only
 * when no complete line is buffered. Returns the number of lines taken, 0
 * at the end of input or on a fatal error. */
static size_t take_run(shared *s, run *r) {
  r->n = 0;
  r->used = 0;
  r->bytes = 0;
  while (!atomic_load(&s->fatal)) {
    char *text = s->buf + s->start;
    char *nl = memchr(text, '\n', s->len - s->start);
    long long got;
    if (nl != NULL || (s->eof && s->start < s->len)) {
      size_t ll = nl ? (size_t)(nl - text) : s->len - s->start;
      s->line++;
      if (s->skipping) {
        s->skipping = 0; /* the rest of an overlong line */
      } else if (s->mapped) {
        run_add_mapped(r, text, ll, s->line);
      } else if (run_add(r, text, ll, s->line) != 0) {
        fprintf(stderr, "medshim defer: out of memory\n");
        set_fatal(s);
        return 0;
      }
      s->start += nl ? ll + 1 : ll;
      if (r->n == RUN_LINES || r->bytes >= RUN_BYTES)
        break;
      continue;
    }
    if (r->n > 0 || s->eof)
      break; /* hand over what is there; never wait for more */
    if (s->start > 0) { /* compact; consumed lines may hold personal data */
      memmove(s->buf, s->buf + s->start, s->len - s->start);
      memset(s->buf + s->len - s->start, 0, s->start);
      s->len -= s->start;
      s->start = 0;
    }
    if (s->len == s->cap) {
      if (s->cap >= LINE_MAX_BYTES) { /* overlong line: report, drop it */
        if (!s->skipping) {
          r->e[0].line = s->line + 1;
          r->e[0].overlong = 1;
          r->n = 1;
        }
        s->skipping = 1;
        memset(s->buf, 0, s->len);
        s->len = 0;
        if (r->n > 0)
          break;
      } else {
        char *nb = malloc(s->cap * 2);
        if (nb == NULL) {
          fprintf(stderr, "medshim defer: out of memory\n");
          set_fatal(s);
          return 0;
        }
        memcpy(nb, s->buf, s->len);
        memset(s->buf, 0, s->cap);
        free(s->buf);
        s->buf = nb;
        s->cap *= 2;
      }
    }
    if (wait_input(s) != 0)
      break;
    got = cli_input_read(s->in, s->buf + s->len, s->cap - s->len);
    if (got < 0) {
      fprintf(stderr, "medshim defer: reading stdin: %s\n", strerror(errno));
      set_fatal(s);
      return 0;
    }
    if (got == 0)
      s->eof = 1;
    s->len += (size_t)got;
  }
  return atomic_load(&s->fatal) ? 0 : r->n;
}

static int only_space(const char *t, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (t[i] != ' ' && t[i] != '\t' && t[i] != '\r')
      return 0;
  return 1;
}

static char *format_error(long line, const medshim_error *err) {
  char *msg = malloc(ERRMSG_MAX);
  if (msg != NULL)
    snprintf(msg, ERRMSG_MAX, "line %ld: %s%s%s; not stored", line,
             err->where, err->where[0] ? ": " : "", err->text);
  return msg;
}

/* Schedules whose windows are journaled with lines that carry none; set
 * before the workers start, read-only after. */
static const medshim_schedule_set *defer_schedules;

/* The window the schedules give this visit, as the cashier would have
 * been told at the visit. */
static int attach_window(medshim_claim *c) {
  medshim_claim_window w;
  medshim_replay_window rw;
  medshim_decision d;
  if (defer_schedules == NULL || medshim_claim_window_get(&w, c) == MEDSHIM_OK)
    return MEDSHIM_OK;
  if (medshim_schedule_replay_window(&rw, defer_schedules,
                                     (int)medshim_claim_service(c),
                                     medshim_claim_insured_admdvs(c),
                                     medshim_claim_treated_admdvs(c),
                                     medshim_claim_visit_time(c)) != MEDSHIM_OK)
    return MEDSHIM_EINVAL;
  memset(&w, 0, sizeof w);
  w.version = MEDSHIM_CLAIM_WINDOW_VERSION;
  w.route = (int)rw.route;
  w.from = rw.from;
  w.until = rw.until;
  if (medshim_schedule_decide(&d, defer_schedules, (int)medshim_claim_service(c),
                              medshim_claim_insured_admdvs(c),
                              medshim_claim_treated_admdvs(c),
                              medshim_claim_visit_time(c)) == MEDSHIM_OK &&
      d.has_window && d.window.schedule_id != NULL) {
    snprintf(w.schedule_id, sizeof w.schedule_id, "%s", d.window.schedule_id);
    w.schedule_version = d.window.version;
  }
  return medshim_claim_set_window(c, &w);
}

/* Parse every line of the run; the bad ones get their message. */
static void parse_run(run *r) {
  for (size_t i = 0; i < r->n; i++) {
    const entry *e = &r->e[i];
    medshim_error err;
    r->claim[i] = NULL;
    r->error[i] = NULL;
    if (e->overlong) {
      if ((r->error[i] = malloc(96)) != NULL)
        snprintf(r->error[i], 96, "line %ld: longer than %u bytes; not stored",
                 e->line, LINE_MAX_BYTES);
      continue;
    }
    if (only_space(line_text(r, i), e->len))
      continue;
    memset(&err, 0, sizeof err);
    if (medshim_claim_parse_json(&r->claim[i], line_text(r, i), e->len,
                                 &err) != MEDSHIM_OK) {
      r->error[i] = format_error(e->line, &err);
    } else if (attach_window(r->claim[i]) != MEDSHIM_OK) {
      medshim_claim_free(r->claim[i]);
      r->claim[i] = NULL;
      if ((r->error[i] = malloc(96)) != NULL)
        snprintf(r->error[i], 96, "line %ld: no window could be computed; "
                 "not stored", e->line);
    }
    cli_json_arena_reset(); /* the parsed tree is gone; wipe it */
  }
}

/* {"visit_id":...,"status":...}: visit ids are printable ASCII (at most
 * 64 characters), so only quotes and backslashes need escaping. One fwrite
 * a line: stdio locks the stream on every call. */
/* --receipts FILE: "VISIT_ID RECEIPT" lines for the HIS to keep. */
static FILE *receipts_out;
static const char *receipts_path;

static void ack(const char *visit_id, const char *status,
                const char *receipt) {
  char line[2 * MEDSHIM_VISIT_ID_MAX + MEDSHIM_RECEIPT_LEN_MAX + 96];
  size_t n = 0;
  memcpy(line, "{\"visit_id\":\"", 13);
  n = 13;
  for (const char *c = visit_id; *c && n < 2 * MEDSHIM_VISIT_ID_MAX + 13; c++) {
    if (*c == '"' || *c == '\\')
      line[n++] = '\\';
    line[n++] = *c;
  }
  n += (size_t)snprintf(line + n, sizeof line - n, "\",\"status\":\"%s\"",
                        status);
  if (receipt != NULL)
    n += (size_t)snprintf(line + n, sizeof line - n, ",\"receipt\":\"%s\"",
                          receipt);
  n += (size_t)snprintf(line + n, sizeof line - n, "}\n");
  fwrite(line, 1, n, stdout);
}

/* Print the run's outcome, line by line, once it is durable. */
static void report_run(shared *s, run *r) {
  size_t k = 0;
  for (size_t i = 0; i < r->n; i++) {
    if (r->claim[i] == NULL) {
      if (r->error[i] != NULL || r->e[i].overlong) {
        fprintf(stderr, "medshim defer: %s\n",
                r->error[i] ? r->error[i] : "out of memory");
        s->refused++;
      } else if (!only_space(line_text(r, i), r->e[i].len)) {
        /* parsing failed and so did formatting its message */
        fprintf(stderr, "medshim defer: line %ld: not stored\n", r->e[i].line);
        s->refused++;
      }
      continue;
    }
    {
      const char *id = medshim_claim_visit_id(r->claim[i]);
      int res = r->results[k++];
      char receipt[MEDSHIM_RECEIPT_LEN_MAX + 1];
      const char *rp = NULL;
      if (receipts_out != NULL &&
          (res == MEDSHIM_DEFER_STORED || res == MEDSHIM_DEFER_DUPLICATE)) {
        if (medshim_journal_receipt(receipt, s->j, id) == MEDSHIM_OK) {
          rp = receipt;
          fprintf(receipts_out, "%s %s\n", id, receipt);
        } else {
          fprintf(stderr, "medshim defer: line %ld: stored, but no receipt: "
                  "%s\n", r->e[i].line, medshim_journal_errmsg(s->j));
        }
      }
      if (res == MEDSHIM_DEFER_STORED) {
        ack(id, "stored", rp);
      } else if (res == MEDSHIM_DEFER_DUPLICATE) {
        ack(id, "duplicate", rp);
      } else {
        fprintf(stderr, "medshim defer: line %ld: visit_id: %s is already "
                "journaled with different content (conflict); not stored\n",
                r->e[i].line, id);
        s->refused++;
      }
    }
  }
}

static void clear_run(run *r) {
  for (size_t i = 0; i < r->n; i++) {
    medshim_claim_free(r->claim[i]);
    free(r->error[i]);
    r->claim[i] = NULL;
    r->error[i] = NULL;
  }
  if (r->text != NULL)
    memset(r->text, 0, r->used);
  r->n = 0;
  r->used = 0;
  r->bytes = 0;
}

typedef struct worker {
  shared *s;
  size_t first; /* the worker's runs: runs[first .. first + RUNS_PER_WORKER) */
} worker;

/* One of the worker's runs, free or acknowledged and now cleared; NULL once
 * a fatal error stopped everything. */
static run *get_run(const worker *w) {
  shared *s = w->s;
  run *r = NULL;
  pthread_mutex_lock(&s->mu);
  while (r == NULL && !atomic_load(&s->fatal)) {
    for (size_t i = w->first; i < w->first + RUNS_PER_WORKER && r == NULL; i++)
      if (s->runs[i].state == RUN_FREE || s->runs[i].state == RUN_DONE)
        r = &s->runs[i];
    if (r == NULL) { /* the acknowledger syncs for it */
      s->starved++;
      pthread_cond_broadcast(&s->cv);
      pthread_cond_wait(&s->cv, &s->mu);
      s->starved--;
    }
  }
  if (r != NULL)
    r->state = RUN_BUSY;
  pthread_mutex_unlock(&s->mu);
  if (r != NULL)
    clear_run(r);
  return r;
}

/* The slot of id in the table, or the free slot where it would go. */
static size_t ids_find(const shared *s, uint64_t h, const char *id) {
  size_t i = (size_t)h & s->ids_mask;
  while (s->ids[i].id != NULL &&
         (s->ids[i].hash != h || strcmp(s->ids[i].id, id) != 0))
    i = (i + 1) & s->ids_mask;
  return i;
}

/* Empty slot i, moving up the entries after it that probed past it. */
static void ids_remove(shared *s, size_t i) {
  size_t j = i;
  for (;;) {
    size_t home;
    j = (j + 1) & s->ids_mask;
    if (s->ids[j].id == NULL)
      break;
    home = (size_t)s->ids[j].hash & s->ids_mask;
    /* the entry at j stays unless its home lies cyclically outside (i, j] */
    if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
      s->ids[i] = s->ids[j];
      i = j;
    }
  }
  s->ids[i].id = NULL;
  s->ids[i].owner = NULL;
}

/* In input order: note which earlier unwritten runs hold one of the run's
 * visit_ids, and hold the others for it. Called with mu held. */
static void register_run(shared *s, run *r) {
  r->nafter = 0;
  for (size_t i = 0; i < r->n; i++) {
    const char *id;
    uint64_t h;
    size_t slot;
    if (r->claim[i] == NULL)
      continue;
    id = medshim_claim_visit_id(r->claim[i]);
    h = medshim__fnv1a64(id, strlen(id));
    slot = ids_find(s, h, id);
    if (s->ids[slot].id == NULL) {
      s->ids[slot].hash = h;
      s->ids[slot].id = id; /* the claim outlives the entry */
      s->ids[slot].owner = r;
    } else if (s->ids[slot].owner != r) {
      size_t k = 0;
      while (k < r->nafter && r->after[k] != s->ids[slot].owner)
        k++;
      if (k == r->nafter) {
        r->after[k] = s->ids[slot].owner;
        r->after_pos[k] = s->ids[slot].owner->pos;
        r->nafter++;
      }
    }
  }
  s->ring[r->pos % s->nruns] = r;
  s->registered = r->pos + 1;
}

/* Whether every run r has to follow is written. Called with mu held. */
static int may_write(const run *r) {
  for (size_t k = 0; k < r->nafter; k++)
    if (r->after[k]->pos == r->after_pos[k] &&
        r->after[k]->state == RUN_BUSY)
      return 0;
  return 1;
}

/* Register the parsed run at its position in the input, then write it
 * once the runs it has to follow are (and the journal is open). -1 once a
 * fatal error stopped everything. */
static int write_run(shared *s, run *r) {
  size_t k = 0;
  for (size_t i = 0; i < r->n; i++)
    if (r->claim[i] != NULL)
      r->batch[k++] = r->claim[i];
  pthread_mutex_lock(&s->mu);
  while (!atomic_load(&s->fatal) && s->registered != r->pos)
    pthread_cond_wait(&s->cv, &s->mu);
  if (!atomic_load(&s->fatal)) {
    register_run(s, r);
    pthread_cond_broadcast(&s->cv);
  }
  while (!atomic_load(&s->fatal) && (!s->opened || !may_write(r)))
    pthread_cond_wait(&s->cv, &s->mu);
  pthread_mutex_unlock(&s->mu);
  if (atomic_load(&s->fatal))
    return -1;
  r->rc = k > 0 ? medshim_journal_defer_batch_nosync(s->j, r->batch, k,
                                                     r->results)
                : MEDSHIM_OK;
  pthread_mutex_lock(&s->mu);
  for (size_t i = 0; i < r->n; i++) {
    const char *id;
    size_t slot;
    if (r->claim[i] == NULL)
      continue;
    id = medshim_claim_visit_id(r->claim[i]);
    slot = ids_find(s, medshim__fnv1a64(id, strlen(id)), id);
    if (s->ids[slot].owner == r)
      ids_remove(s, slot);
  }
  r->state = RUN_WRITTEN;
  s->in_hand--;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  return 0;
}

static void *worker_main(void *arg) {
  const worker *w = arg;
  shared *s = w->s;
  run *r;
  unsigned char *arena = malloc(ARENA_BYTES);
  if (arena != NULL)
    cli_json_arena_begin(arena, ARENA_BYTES);
  while ((r = get_run(w)) != NULL) {
    size_t n;
    pthread_mutex_lock(&s->in_mu);
    if ((n = take_run(s, r)) > 0)
      r->pos = s->taken++;
    pthread_mutex_unlock(&s->in_mu);
    if (n == 0)
      break;
    pthread_mutex_lock(&s->mu);
    s->in_hand++;
    pthread_mutex_unlock(&s->mu);
    parse_run(r);
    if (write_run(s, r) != 0)
      break; /* the run is freed with the others */
  }
  if (arena != NULL) {
    cli_json_arena_end();
    free(arena);
  }
  pthread_mutex_lock(&s->mu);
  s->done++;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

/* The main thread's part: make the runs next in input order durable with
 * one sync and report them, in order, until the workers are done and
 * every run is reported, or something failed. A sync starts once those
 * runs are written and it is what everyone waits for: a worker needs one
 * of its runs back, or no lines are in hand that would be written before
 * it. So a slow pipe gets each line acknowledged at once, and an import
 * that keeps the workers busy one sync for many runs (syncing as soon as
 * each run was written took 20-35% longer on the test machine's ext4). */
static int written(const shared *s, unsigned long pos) {
  return pos < s->registered && s->ring[pos % s->nruns]->state == RUN_WRITTEN;
}

static void acknowledge(shared *s) {
  pthread_mutex_lock(&s->mu);
  for (;;) {
    unsigned long first = s->acked, last;
    int rc = MEDSHIM_OK, claims = 0;
    while (!atomic_load(&s->fatal) &&
           !(written(s, first) && (s->starved > 0 || s->in_hand == 0)) &&
           !(s->done == s->workers && s->registered == first))
      pthread_cond_wait(&s->cv, &s->mu);
    if (atomic_load(&s->fatal) || !written(s, first))
      break; /* failed, or every worker done and every run reported */
    /* the written runs from here on, up to the first whose write failed */
    for (last = first; written(s, last); last++) {
      const run *r = s->ring[last % s->nruns];
      if (r->rc != MEDSHIM_OK)
        break;
      for (size_t i = 0; i < r->n; i++)
        claims |= r->claim[i] != NULL;
    }
    if (last == first)
      rc = s->ring[first % s->nruns]->rc;
    pthread_mutex_unlock(&s->mu);
    if (rc == MEDSHIM_OK && claims)
      rc = medshim_journal_sync(s->j);
    pthread_mutex_lock(&s->mu);
    if (rc != MEDSHIM_OK) {
      cli_error("defer", "journal", rc, medshim_journal_errmsg(s->j));
      fprintf(stderr, "medshim defer: the claims from line %ld on were NOT "
              "acknowledged\n", s->ring[first % s->nruns]->e[0].line);
      pthread_mutex_unlock(&s->mu);
      set_fatal(s);
      return;
    }
    for (unsigned long t = first; t < last; t++) {
      run *r = s->ring[t % s->nruns];
      report_run(s, r);
      r->state = RUN_DONE;
    }
    fflush(stdout);
    s->acked = last;
    pthread_cond_broadcast(&s->cv);
  }
  pthread_mutex_unlock(&s->mu);
}

static void free_runs(shared *s) {
  for (size_t i = 0; i < s->nruns; i++) {
    run *r = &s->runs[i];
    clear_run(r);
    if (r->text != NULL) {
      memset(r->text, 0, r->cap);
      free(r->text);
    }
  }
  free(s->runs);
  free(s->ring);
  free(s->ids);
}

/* Standard input that is a regular file (an import: `< claims.jsonl`) is
 * mapped instead of read: no copies of its lines, no read buffer to wipe.
 * The lines are then taken from the current offset to the end. When it
 * cannot be mapped, it is read. */
static int map_input(shared *s) {
  char *buf;
  size_t len, start;
  if (!cli_input_map(s->in, &buf, &len, &start))
    return 0;
  s->buf = buf;
  s->cap = s->len = len;
  s->start = start;
  s->eof = 1;
  s->mapped = 1;
  return 1;
}

static int worker_count(void) {
  int n = cli_sys_cpus();
  return n > WORKERS_MAX ? WORKERS_MAX : n;
}

static medshim_schedule_set *loaded_schedules;
static int create_journal; /* --create */
static unsigned journal_suite; /* --suite */

/* A journal is there: the directory holds anything at all (a journal's
 * files, or something the library will refuse with its own error). An
 * empty or missing directory is a new journal, made only with --create.
 * One that cannot be read is left to the library to report. */
static int any_entry(const char *name, void *payload) {
  (void)name;
  (void)payload;
  return 1; /* one is enough */
}

static int journal_exists(const char *dir) {
  int rc = medshim__os_list_dir(dir, any_entry, NULL);
  if (rc < 0)
    return errno != ENOENT;
  return rc != 0;
}

/* --journal, --key, and the schedules whose windows are journaled. */
static int defer_args(int argc, char **argv, const char **dir,
                      const char **key) {
  static const struct option opts[] = {{"journal", required_argument, 0, 'j'},
                                       {"key", required_argument, 0, 'k'},
                                       {"schedule", required_argument, 0, 's'},
                                       {"pubkey", required_argument, 0, 'p'},
                                       {"receipts", required_argument, 0, 'r'},
                                       {"create", no_argument, 0, 'c'},
                                       {"suite", required_argument, 0, 'S'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  char *files[64];
  const char *pubkey = NULL;
  size_t nfiles = 0;
  int c;
  *dir = *key = NULL;
  optind = 1;
  while ((c = cli_getopt("defer", argc, argv, opts)) != -1) {
    switch (c) {
    case 'j': *dir = optarg; break;
    case 'k': *key = optarg; break;
    case 'p': pubkey = optarg; break;
    case 'r': receipts_path = optarg; break;
    case 'c': create_journal = 1; break;
    case 'S':
      if (cli_parse_suite("defer", optarg, &journal_suite) != 0)
        return CLI_EXIT_USAGE;
      break;
    case 's':
      if (nfiles == 64) {
        fprintf(stderr, "medshim defer: at most 64 --schedule files\n");
        return CLI_EXIT_USAGE;
      }
      files[nfiles++] = optarg;
      break;
    case 'h': usage(stdout); return CLI_EXIT_OK;
    default: return CLI_EXIT_USAGE;
    }
  }
  if (*dir == NULL)
    return cli_missing("defer", "--journal DIR");
  if (*key == NULL)
    return cli_missing("defer", "--key KEYFILE");
  if (optind != argc)
    return cli_extra("defer", argv[optind]);
  if (!create_journal && !journal_exists(*dir)) {
    fprintf(stderr, "medshim defer: %s: no journal there; pass --create to "
                    "start a new journal in it\n", *dir);
    return CLI_EXIT_FAIL;
  }
  if (pubkey != NULL && nfiles == 0) {
    fprintf(stderr, "medshim defer: --pubkey needs --schedule\n");
    return CLI_EXIT_USAGE;
  }
  if (receipts_path != NULL) {
    /* appended to, never followed through a planted link */
    int fd = medshim__os_open(receipts_path, MEDSHIM__OS_WRITE |
                                                 MEDSHIM__OS_CREATE |
                                                 MEDSHIM__OS_APPEND);
    receipts_out = fd >= 0 ? fdopen(fd, "a") : NULL;
    if (receipts_out == NULL) {
      fprintf(stderr, "medshim defer: --receipts %s: %s\n", receipts_path,
              strerror(errno));
      if (fd >= 0)
        medshim__os_close(fd);
      return CLI_EXIT_FAIL;
    }
  }
  if (nfiles > 0) {
    loaded_schedules = cli_load_schedules("defer", files, nfiles, pubkey,
                                          pubkey != NULL);
    if (loaded_schedules == NULL)
      return CLI_EXIT_FAIL;
    defer_schedules = loaded_schedules;
  }
  return -1;
}

int cli_cmd_defer(int argc, char **argv) {
  const char *dir = NULL, *key = NULL;
  pthread_t th[WORKERS_MAX];
  worker ws[WORKERS_MAX];
  shared *s;
  medshim_journal *j;
  int c, workers = worker_count(), fatal;

  if ((c = defer_args(argc, argv, &dir, &key)) >= 0)
    return c;
  s = calloc(1, sizeof *s);
  if (s == NULL || (s->buf = malloc(1u << 20)) == NULL ||
      (s->runs = calloc((size_t)workers * RUNS_PER_WORKER, sizeof *s->runs)) ==
          NULL ||
      (s->ring = calloc((size_t)workers * RUNS_PER_WORKER, sizeof *s->ring)) ==
          NULL ||
      (s->ids = calloc(IDS_SLOTS, sizeof *s->ids)) == NULL) {
    fprintf(stderr, "medshim defer: out of memory\n");
    if (s != NULL) {
      free(s->buf);
      free(s->runs);
      free(s->ring);
    }
    free(s);
    return CLI_EXIT_FAIL;
  }
  s->ids_mask = IDS_SLOTS - 1;
  s->nruns = (size_t)workers * RUNS_PER_WORKER;
  s->cap = 1u << 20;
  if ((s->in = cli_input_new()) == NULL) {
    fprintf(stderr, "medshim defer: standard input: %s\n", strerror(errno));
    atomic_store(&s->fatal, 1);
  } else {
    char *readbuf = s->buf;
    if (map_input(s))
      free(readbuf);
  }
  cli_json_arena_install();
  pthread_mutex_init(&s->in_mu, NULL);
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  pthread_mutex_lock(&s->mu);
  for (; !atomic_load(&s->fatal) && s->workers < workers; s->workers++) {
    ws[s->workers].s = s;
    ws[s->workers].first = (size_t)s->workers * RUNS_PER_WORKER;
    if (pthread_create(&th[s->workers], NULL, worker_main,
                       &ws[s->workers]) != 0)
      break;
  }
  pthread_mutex_unlock(&s->mu);
  if (s->workers == 0 && !atomic_load(&s->fatal)) {
    fprintf(stderr, "medshim defer: cannot start a worker thread\n");
    set_fatal(s);
  }
  /* Opening (keys, scanning, creating) overlaps with the first parsing. */
  j = atomic_load(&s->fatal)
          ? NULL
          : cli_open_journal_suite("defer", dir, key,
                                   create_journal ? MEDSHIM_JOURNAL_CREATE : 0u,
                                   journal_suite);
  pthread_mutex_lock(&s->mu);
  s->j = j;
  s->opened = j != NULL;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  if (j == NULL)
    set_fatal(s);
  acknowledge(s);
  /* a worker waiting for input is woken by set_fatal: none is left behind */
  for (int i = 0; i < s->workers; i++)
    pthread_join(th[i], NULL);
  fatal = atomic_load(&s->fatal);
  c = s->refused;
  /* a fatal error was reported */
  if (cli_close_journal("defer", dir, j, fatal) != MEDSHIM_OK)
    fatal = 1;
  if (receipts_out != NULL) {
    if (fflush(receipts_out) != 0 || medshim__os_fsync(fileno(receipts_out)) != 0) {
      fprintf(stderr, "medshim defer: --receipts %s: %s (the claims are "
              "stored; `medshim receipt` can issue them again)\n",
              receipts_path, strerror(errno));
      fatal = 1;
    }
    fclose(receipts_out);
    receipts_out = NULL;
  }
  free_runs(s);
  if (!s->mapped) {
    memset(s->buf, 0, s->cap);
    free(s->buf);
  }
  cli_input_free(s->in); /* and the mapping */
  pthread_mutex_destroy(&s->in_mu);
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->cv);
  free(s);
  defer_schedules = NULL;
  medshim_schedule_set_free(loaded_schedules);
  loaded_schedules = NULL;
  if (fatal)
    return CLI_EXIT_FAIL;
  if (c > 0) {
    fprintf(stderr, "medshim defer: %d line(s) refused\n", c);
    return CLI_EXIT_PARTIAL;
  }
  return CLI_EXIT_OK;
}
