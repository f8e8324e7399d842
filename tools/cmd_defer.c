/* medshim defer: journal claims read as JSON lines, acknowledging each once
 * it is durable.
 *
 * Two threads form a pipeline: a reader splits stdin into lines and parses
 * them (JSON parsing is the larger half of the CPU work), while the main
 * thread journals what has been parsed. Whenever the main thread finds
 * nothing more parsed, it journals what it holds (one fsync for all of it)
 * and prints the acks: nothing ever waits for more input before what was
 * read is acknowledged. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

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

/* Reader side: hand one item to the main thread (blocks while full). */
static int push(pipeline *p, item it) {
  pthread_mutex_lock(&p->mu);
  while (p->count == QUEUE_MAX && !p->stop)
    pthread_cond_wait(&p->cv, &p->mu);
  if (p->stop) {
    pthread_mutex_unlock(&p->mu);
    medshim_claim_free(it.claim);
    free(it.error);
    return -1;
  }
  p->q[(p->head + p->count) % QUEUE_MAX] = it;
  p->count++;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  return 0;
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
static int handle_line(pipeline *p, const char *text, size_t len, long line) {
  item it = {NULL, line, NULL};
  medshim_error err;
  if (only_space(text, len))
    return 0;
  memset(&err, 0, sizeof err);
  if (medshim_claim_parse_json(&it.claim, text, len, &err) != MEDSHIM_OK)
    it.error = format_error(line, &err);
  return push(p, it);
}

static void *reader_main(void *arg) {
  pipeline *p = arg;
  size_t cap = 1u << 20, len = 0, start = 0;
  char *buf = malloc(cap);
  long line = 0;
  int eof = 0, skipping = 0;

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
            if (push(p, it) != 0)
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
      n = read(STDIN_FILENO, buf + len, cap - len);
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
      else if (handle_line(p, text, ll, line) != 0)
        break;
      start += nl ? ll + 1 : ll;
    }
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

static void ack(const char *visit_id, const char *status) {
  json_t *o = json_pack("{s:s, s:s}", "visit_id", visit_id, "status", status);
  char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
  if (s != NULL)
    printf("%s\n", s);
  free(s);
  json_decref(o);
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
  static const struct option opts[] = {{"journal", required_argument, 0, 'j'},
                                       {"key", required_argument, 0, 'k'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *dir = NULL, *key = NULL;
  medshim_journal *j;
  pipeline *p = NULL;
  batch *b = NULL;
  pthread_t reader;
  int c, refused = 0, fatal = 0, started = 0;

  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (c == 'j')
      dir = optarg;
    else if (c == 'k')
      key = optarg;
    else if (c == 'h') {
      usage(stdout);
      return CLI_EXIT_OK;
    } else {
      usage(stderr);
      return CLI_EXIT_USAGE;
    }
  }
  if (dir == NULL || key == NULL || optind != argc) {
    usage(stderr);
    return CLI_EXIT_USAGE;
  }
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
    while (p->count == 0 && !p->eof && b->n == 0)
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
