/* medshim defer: journal claims read as JSON lines, acknowledging each once
 * it is durable.
 *
 * Two threads form a pipeline: a reader splits stdin into lines and parses
 * them (JSON parsing is the larger half of the CPU work), while the main
 * thread journals what has been parsed. Whenever the reader is about to
 * read more input (which may block) or the input ends, the main thread
 * journals what it holds (one fsync for all of it) and prints the acks:
 * nothing ever waits for more input before what was read is acknowledged. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_util.h"

#define BATCH_MAX 1024
#define QUEUE_MAX 4096
#define LINE_MAX_BYTES (2u << 20)

/* A parsed line: a claim, or the reason it was refused. */
typedef struct item {
  medshim_claim *claim;
  long line;
  char *error; /* malloc'ed message, no personal data */
} item;

typedef struct pipeline {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  item q[QUEUE_MAX];
  size_t head, count;
  int eof;        /* the reader is done (input ended or failed) */
  int read_error; /* reading stdin failed */
  int stop;       /* the main thread gave up (fatal journal error) */
  int reading;    /* the reader is in read(): it may wait for input */
} pipeline;

static void usage(FILE *f) {
  fprintf(f,
          "usage: medshim defer --journal DIR --key KEYFILE < claims.jsonl\n\n"
          "Reads one claim per line (JSON, see docs/claim-format.md) and\n"
          "journals it durably, creating the journal if needed. For each\n"
          "claim, once it is on disk, prints {\"visit_id\":...,\"status\":\n"
          "\"stored\"|\"duplicate\"}. A bad line is reported on stderr with\n"
          "its line number and field; the other lines are still stored.\n"
          "Exit status: 0 all stored, 2 some lines refused, 1 journal error.\n");
}

#define CHUNK 64

/* Items parsed by the reader, handed over CHUNK at a time: waking the main
 * thread for every line cost more than parsing it. */
typedef struct chunk {
  item items[CHUNK];
  size_t n;
} chunk;

/* Reader side: hand the chunk to the main thread (blocks while full). */
static int hand_over(pipeline *p, chunk *c) {
  size_t i = 0;
  pthread_mutex_lock(&p->mu);
  while (i < c->n) {
    while (p->count == QUEUE_MAX && !p->stop)
      pthread_cond_wait(&p->cv, &p->mu);
    if (p->stop)
      break;
    for (; i < c->n && p->count < QUEUE_MAX; i++) {
      p->q[(p->head + p->count) % QUEUE_MAX] = c->items[i];
      p->count++;
    }
    pthread_cond_broadcast(&p->cv);
  }
  pthread_mutex_unlock(&p->mu);
  if (i < c->n) { /* stopped: drop the rest */
    for (; i < c->n; i++) {
      medshim_claim_free(c->items[i].claim);
      free(c->items[i].error);
    }
    c->n = 0;
    return -1;
  }
  c->n = 0;
  return 0;
}

static int push(pipeline *p, chunk *c, item it) {
  c->items[c->n++] = it;
  return c->n == CHUNK ? hand_over(p, c) : 0;
}

static char *format_error(long line, const medshim_error *err) {
  char *msg = malloc(MEDSHIM_ERROR_WHERE_MAX + MEDSHIM_ERROR_TEXT_MAX + 64);
  if (msg != NULL)
    snprintf(msg, MEDSHIM_ERROR_WHERE_MAX + MEDSHIM_ERROR_TEXT_MAX + 64,
             "line %ld: %s%s%s; not stored", line, err->where,
             err->where[0] ? ": " : "", err->text);
  return msg;
}

static int only_space(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
      return 0;
  return 1;
}

/* One line of input: parse it and pass it on. */
static int handle_line(pipeline *p, chunk *c, const char *text, size_t len,
                       long line) {
  item it = {NULL, line, NULL};
  medshim_error err;
  if (only_space(text, len))
    return 0;
  memset(&err, 0, sizeof err);
  if (medshim_claim_parse_json(&it.claim, text, len, &err) != MEDSHIM_OK)
    it.error = format_error(line, &err);
  return push(p, c, it);
}

static void *reader_main(void *arg) {
  pipeline *p = arg;
  size_t cap = 1u << 20, len = 0, start = 0;
  char *buf = malloc(cap);
  long line = 0;
  int eof = 0, skipping = 0;
  chunk *c = calloc(1, sizeof *c);

  if (c == NULL) {
    free(buf);
    buf = NULL;
  }
  while (buf != NULL) {
    char *nl = memchr(buf + start, '\n', len - start);
    if (nl == NULL && !eof) {
      ssize_t n;
      if (start > 0) { /* compact; consumed lines may hold personal data */
        memmove(buf, buf + start, len - start);
        memset(buf + len - start, 0, start);
        len -= start;
        start = 0;
      }
      if (len == cap) {
        if (cap >= LINE_MAX_BYTES) { /* overlong line: drop it */
          if (!skipping) {
            item it = {NULL, line + 1, malloc(96)};
            if (it.error != NULL)
              snprintf(it.error, 96, "line %ld: longer than %u bytes; not "
                       "stored", line + 1, LINE_MAX_BYTES);
            if (push(p, c, it) != 0)
              break;
          }
          skipping = 1;
          memset(buf, 0, len);
          len = 0;
        } else {
          char *nb = realloc(buf, cap * 2);
          if (nb == NULL)
            break;
          buf = nb;
          cap *= 2;
        }
      }
      /* About to read, which may wait for input: hand over what is parsed
       * and tell the main thread to acknowledge it rather than wait. */
      if (c->n > 0 && hand_over(p, c) != 0)
        break;
      pthread_mutex_lock(&p->mu);
      p->reading = 1;
      pthread_cond_broadcast(&p->cv);
      pthread_mutex_unlock(&p->mu);
      n = read(STDIN_FILENO, buf + len, cap - len);
      pthread_mutex_lock(&p->mu);
      p->reading = 0;
      pthread_mutex_unlock(&p->mu);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0) {
        fprintf(stderr, "medshim defer: reading stdin: %s\n", strerror(errno));
        pthread_mutex_lock(&p->mu);
        p->read_error = 1;
        pthread_mutex_unlock(&p->mu);
        break;
      }
      if (n == 0)
        eof = 1;
      len += (size_t)n;
      continue;
    }
    if (nl == NULL && start == len)
      break; /* end of input, all consumed */
    {
      char *text = buf + start;
      size_t ll = nl ? (size_t)(nl - text) : len - start;
      line++;
      if (skipping)
        skipping = 0; /* the rest of the overlong line */
      else if (handle_line(p, c, text, ll, line) != 0)
        break;
      start += nl ? ll + 1 : ll;
    }
  }
  if (c != NULL) {
    if (c->n > 0)
      (void)hand_over(p, c);
    free(c);
  }
  if (buf != NULL) {
    memset(buf, 0, cap);
    free(buf);
  } else {
    fprintf(stderr, "medshim defer: out of memory\n");
    p->read_error = 1;
  }
  pthread_mutex_lock(&p->mu);
  p->eof = 1;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

/* {"visit_id":...,"status":...}: visit ids are printable ASCII, so only
 * quotes and backslashes need escaping. */
static void ack(const char *visit_id, const char *status) {
  fputs("{\"visit_id\":\"", stdout);
  for (const char *c = visit_id; *c; c++) {
    if (*c == '"' || *c == '\\')
      putchar('\\');
    putchar(*c);
  }
  printf("\",\"status\":\"%s\"}\n", status);
}

typedef struct batch {
  const medshim_claim *claims[BATCH_MAX];
  item items[BATCH_MAX];
  int results[BATCH_MAX];
  size_t n;
} batch;

/* Journal the batch, then report every item of it in input order.
 * 0, or -1 on a fatal journal error (nothing of the batch acknowledged). */
static int flush(medshim_journal *j, batch *b, int *refused) {
  size_t k = 0;
  int rc = MEDSHIM_OK;
  for (size_t i = 0; i < b->n; i++)
    if (b->items[i].claim != NULL)
      b->claims[k++] = b->items[i].claim;
  if (k > 0)
    rc = medshim_journal_defer_batch(j, b->claims, k, b->results);
  if (rc != MEDSHIM_OK) {
    cli_error("defer", "journal", rc, medshim_journal_errmsg(j));
    fprintf(stderr, "medshim defer: the claims from line %ld on were NOT "
            "acknowledged\n", b->items[0].line);
    return -1;
  }
  k = 0;
  for (size_t i = 0; i < b->n; i++) {
    item *it = &b->items[i];
    if (it->claim == NULL) {
      fprintf(stderr, "medshim defer: %s\n", it->error ? it->error : "?");
      (*refused)++;
    } else {
      const char *id = medshim_claim_visit_id(it->claim);
      int r = b->results[k++];
      if (r == MEDSHIM_DEFER_STORED) {
        ack(id, "stored");
      } else if (r == MEDSHIM_DEFER_DUPLICATE) {
        ack(id, "duplicate");
      } else {
        fprintf(stderr, "medshim defer: line %ld: visit_id: %s is already "
                "journaled with different content (conflict); not stored\n",
                it->line, id);
        (*refused)++;
      }
      medshim_claim_free(it->claim);
    }
    free(it->error);
  }
  fflush(stdout);
  b->n = 0;
  return 0;
}

int cli_cmd_defer(int argc, char **argv) {
  const char *dir = NULL, *key = NULL;
  medshim_journal *j;
  pipeline *p = NULL;
  batch *b = NULL;
  pthread_t reader;
  int c, refused = 0, fatal = 0, started = 0;

  if ((c = cli_journal_args(argc, argv, &dir, &key, usage)) >= 0)
    return c;
  j = cli_open_journal("defer", dir, key, MEDSHIM_JOURNAL_CREATE);
  if (j == NULL)
    return CLI_EXIT_FAIL;
  p = calloc(1, sizeof *p);
  b = calloc(1, sizeof *b);
  if (p == NULL || b == NULL) {
    fprintf(stderr, "medshim defer: out of memory\n");
    fatal = 1;
    goto done;
  }
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  if (pthread_create(&reader, NULL, reader_main, p) != 0) {
    fprintf(stderr, "medshim defer: cannot start the reader thread\n");
    fatal = 1;
    goto done;
  }
  started = 1;
  for (;;) {
    pthread_mutex_lock(&p->mu);
    /* Wait while the reader is busy parsing; acknowledge as soon as it
     * may have to wait for input (or the input ended). */
    while (p->count == 0 && !p->eof && !(p->reading && b->n > 0))
      pthread_cond_wait(&p->cv, &p->mu);
    if (p->count == 0) {
      int finished = p->eof;
      pthread_mutex_unlock(&p->mu);
      /* Nothing more parsed yet: acknowledge what is held now. */
      if (flush(j, b, &refused) != 0) {
        fatal = 1;
        break;
      }
      if (finished)
        break;
      continue;
    }
    while (p->count > 0 && b->n < BATCH_MAX) {
      b->items[b->n++] = p->q[p->head];
      p->head = (p->head + 1) % QUEUE_MAX;
      p->count--;
    }
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (b->n == BATCH_MAX && flush(j, b, &refused) != 0) {
      fatal = 1;
      break;
    }
  }
done:
  if (started) {
    int reader_done;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    reader_done = p->eof;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (fatal && !reader_done) {
      /* The reader may be blocked reading stdin; the process is about to
       * exit with an error, so leave it (and the pipeline) be. */
      pthread_detach(reader);
      p = NULL;
    } else {
      pthread_join(reader, NULL);
      while (p->count > 0) {
        item *it = &p->q[p->head];
        medshim_claim_free(it->claim);
        free(it->error);
        p->head = (p->head + 1) % QUEUE_MAX;
        p->count--;
      }
      if (p->read_error)
        fatal = 1;
    }
  }
  if (b != NULL) {
    for (size_t i = 0; i < b->n; i++) {
      medshim_claim_free(b->items[i].claim);
      free(b->items[i].error);
    }
    free(b);
  }
  if (p != NULL) {
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
  }
  medshim_journal_close(j);
  if (fatal)
    return CLI_EXIT_FAIL;
  if (refused > 0) {
    fprintf(stderr, "medshim defer: %d line(s) refused\n", refused);
    return CLI_EXIT_PARTIAL;
  }
  return CLI_EXIT_OK;
}
