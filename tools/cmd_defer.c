/* medshim defer: journal claims read as JSON lines, acknowledging each once
 * it is durable. Lines already read are journaled together (one fsync);
 * nothing waits for more input before acknowledging what it has. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "cli_util.h"

#define BATCH_MAX 256
#define LINE_MAX_BYTES (2u << 20)

typedef struct batch {
  medshim_claim *claims[BATCH_MAX];
  long lines[BATCH_MAX];
  int results[BATCH_MAX];
  size_t n;
} batch;

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

static void ack(const char *visit_id, const char *status) {
  json_t *o = json_pack("{s:s, s:s}", "visit_id", visit_id, "status", status);
  char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
  if (s != NULL)
    printf("%s\n", s);
  free(s);
  json_decref(o);
}

/* Journal what the batch holds; 0, or -1 on a fatal journal error. */
static int flush(medshim_journal *j, batch *b, int *refused) {
  int rc;
  if (b->n == 0)
    return 0;
  rc = medshim_journal_defer_batch(j, (const medshim_claim *const *)b->claims,
                                   b->n, b->results);
  if (rc != MEDSHIM_OK) {
    cli_error("defer", "journal", rc, medshim_journal_errmsg(j));
    fprintf(stderr, "medshim defer: the %zu claim(s) from line %ld on were "
            "NOT acknowledged\n", b->n, b->lines[0]);
    return -1;
  }
  for (size_t i = 0; i < b->n; i++) {
    const char *id = medshim_claim_visit_id(b->claims[i]);
    if (b->results[i] == MEDSHIM_DEFER_STORED) {
      ack(id, "stored");
    } else if (b->results[i] == MEDSHIM_DEFER_DUPLICATE) {
      ack(id, "duplicate");
    } else {
      fprintf(stderr, "medshim defer: line %ld: visit_id: %s is already "
              "journaled with different content (conflict); not stored\n",
              b->lines[i], id);
      (*refused)++;
    }
    medshim_claim_free(b->claims[i]);
  }
  fflush(stdout);
  b->n = 0;
  return 0;
}

static int only_space(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
      return 0;
  return 1;
}

int cli_cmd_defer(int argc, char **argv) {
  static const struct option opts[] = {{"journal", required_argument, 0, 'j'},
                                       {"key", required_argument, 0, 'k'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *dir = NULL, *key = NULL;
  medshim_journal *j;
  batch *b = NULL;
  char *buf = NULL;
  size_t len = 0, cap = 1 << 16;
  long line = 0;
  int c, refused = 0, fatal = 0, eof = 0, skipping = 0;

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
  b = calloc(1, sizeof *b);
  buf = malloc(cap);
  if (b == NULL || buf == NULL) {
    fprintf(stderr, "medshim defer: out of memory\n");
    fatal = 1;
    goto done;
  }
  while (!fatal) {
    char *nl = memchr(buf, '\n', len);
    if (nl == NULL && !eof) {
      ssize_t n;
      /* About to wait for input: acknowledge what was read first. */
      if (flush(j, b, &refused) != 0) {
        fatal = 1;
        break;
      }
      if (len == cap) {
        if (cap >= LINE_MAX_BYTES) { /* overlong line: drop it */
          if (!skipping)
            fprintf(stderr, "medshim defer: line %ld: longer than %u bytes; "
                    "not stored\n", line + 1, LINE_MAX_BYTES);
          skipping = 1;
          refused++;
          len = 0;
        } else {
          char *nb = realloc(buf, cap * 2);
          if (nb == NULL) {
            fatal = 1;
            break;
          }
          buf = nb;
          cap *= 2;
        }
      }
      n = read(STDIN_FILENO, buf + len, cap - len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0) {
        fprintf(stderr, "medshim defer: reading stdin: %s\n", strerror(errno));
        fatal = 1;
        break;
      }
      if (n == 0)
        eof = 1;
      len += (size_t)n;
      continue;
    }
    if (nl == NULL && len == 0)
      break; /* eof and nothing left */
    {
      size_t ll = nl ? (size_t)(nl - buf) : len;
      line++;
      if (skipping) {
        skipping = 0; /* the rest of the overlong line */
      } else if (!only_space(buf, ll)) {
        medshim_claim *claim = NULL;
        medshim_error err;
        int rc;
        memset(&err, 0, sizeof err);
        rc = medshim_claim_parse_json(&claim, buf, ll, &err);
        if (rc != MEDSHIM_OK) {
          fprintf(stderr, "medshim defer: line %ld: %s%s%s; not stored\n", line,
                  err.where, err.where[0] ? ": " : "", err.text);
          refused++;
        } else {
          b->claims[b->n] = claim;
          b->lines[b->n] = line;
          b->n++;
          if (b->n == BATCH_MAX && flush(j, b, &refused) != 0)
            fatal = 1;
        }
      }
      /* The consumed line may hold personal data: clear before reuse. */
      ll = nl ? ll + 1 : ll;
      memset(buf, 0, ll);
      memmove(buf, buf + ll, len - ll);
      len -= ll;
    }
  }
  if (!fatal && flush(j, b, &refused) != 0)
    fatal = 1;
done:
  if (b != NULL) {
    for (size_t i = 0; i < b->n; i++)
      medshim_claim_free(b->claims[i]);
    free(b);
  }
  if (buf != NULL) {
    memset(buf, 0, cap);
    free(buf);
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
