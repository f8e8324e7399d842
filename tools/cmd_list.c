/* medshim list: every claim with its state, one JSON line each. Two
 * threads: this one walks the journal (read, decrypt, decode), a second
 * formats and writes the lines, in journal order; each costs about as
 * much as the other, so on two cores the walk is not held up. */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_opt.h"
#include "cli_util.h"
#include "journal_read_internal.h"

enum { BATCH = 256, QUEUED = 4 };

/* Claims walked, waiting to be written. */
typedef struct batch {
  medshim_claim *claims[BATCH];
  medshim_claim_status status[BATCH];
  size_t n;
} batch;

typedef struct list_ctx {
  medshim_journal *j;
  int filter;
  medshim_claim_state state;
  unsigned flags;
  /* walker -> writer */
  pthread_mutex_t mu;
  pthread_cond_t changed;
  batch *queue[QUEUED];
  size_t head, count;
  int done;   /* the walk is over */
  atomic_int failed; /* the writer could not format (out of memory): stop */
  batch *filling;
} list_ctx;

static void usage(FILE *f) {
  fprintf(f, "usage: medshim list --journal DIR --key KEYFILE [--state S] "
             "[--reveal] [--salvage]\n\n"
             "One JSON line per claim: its fields, \"state\", \"attempts\",\n"
             "\"replay_key\" and, once settled, settlement_id, fund_paid_fen,\n"
             "acct_paid_fen, patient_paid_fen, refund_fen; once rejected,\n"
             "code and message. Personal fields (name, ID and insurance\n"
             "numbers) are masked unless --reveal is given.\n"
             "States: pending in_doubt settled rejected retry_wait expired "
             "manual voided\n"
             "--salvage: read a damaged journal anyway: every record that\n"
             "authenticates is listed, and stderr says what was passed over\n"
             "(exit 2 then). Nothing is written.\n\n"
             "Exit status: 0 listed; 1 the journal could not be read (missing,\n"
             "wrong key, damage); 2 --salvage passed over damage; 64 bad\n"
             "command line.\n");
}

static void batch_free(batch *b) {
  if (b == NULL)
    return;
  for (size_t i = 0; i < b->n; i++)
    medshim_claim_free(b->claims[i]); /* wipes personal data */
  free(b);
}

/* Hand the batch being filled to the writer (waiting while the queue is
 * full). Returns non-zero when the writer has failed. */
static int hand_over(list_ctx *l) {
  int failed;
  pthread_mutex_lock(&l->mu);
  while (l->count == QUEUED && !l->failed)
    pthread_cond_wait(&l->changed, &l->mu);
  failed = l->failed;
  if (!failed && l->filling != NULL) {
    l->queue[(l->head + l->count) % QUEUED] = l->filling;
    l->count++;
    l->filling = NULL;
    pthread_cond_broadcast(&l->changed);
  }
  pthread_mutex_unlock(&l->mu);
  return failed;
}

static int take_claim(medshim_claim **claim, const medshim_claim_status *st,
                      void *payload) {
  list_ctx *l = payload;
  batch *b;
  if (l->filter && st->state != l->state)
    return 0;
  if (l->filling == NULL && (l->filling = calloc(1, sizeof *l->filling)) == NULL) {
    pthread_mutex_lock(&l->mu);
    l->failed = 1;
    pthread_mutex_unlock(&l->mu);
    return 1;
  }
  b = l->filling;
  b->claims[b->n] = *claim; /* ours now */
  b->status[b->n++] = *st;
  *claim = NULL;
  return b->n == BATCH ? hand_over(l) : 0;
}

static void *writer(void *arg) {
  list_ctx *l = arg;
  for (;;) {
    batch *b;
    pthread_mutex_lock(&l->mu);
    while (l->count == 0 && !l->done)
      pthread_cond_wait(&l->changed, &l->mu);
    if (l->count == 0) { /* done, and nothing left */
      pthread_mutex_unlock(&l->mu);
      return NULL;
    }
    b = l->queue[l->head];
    l->head = (l->head + 1) % QUEUED;
    l->count--;
    pthread_cond_broadcast(&l->changed);
    pthread_mutex_unlock(&l->mu);
    for (size_t i = 0; i < b->n && !l->failed; i++) {
      char key[MEDSHIM_REPLAY_KEY_LEN + 1];
      char *line;
      if (medshim_journal_replay_key(key, l->j,
                                     medshim_claim_visit_id(b->claims[i])) !=
          MEDSHIM_OK)
        key[0] = '\0';
      line = cli_claim_json(b->claims[i], &b->status[i], key, l->flags);
      if (line == NULL) {
        pthread_mutex_lock(&l->mu);
        l->failed = 1;
        pthread_cond_broadcast(&l->changed);
        pthread_mutex_unlock(&l->mu);
        break;
      }
      fputs(line, stdout);
      putchar('\n');
      cli_free_line(line);
    }
    batch_free(b);
  }
}

/* Walk the journal with a writer thread; MEDSHIM_OK or the walk's error
 * (MEDSHIM_EUSER with l->failed when formatting failed). */
static int walk_and_write(list_ctx *l) {
  pthread_t th;
  int rc;
  pthread_mutex_init(&l->mu, NULL);
  pthread_cond_init(&l->changed, NULL);
  if (pthread_create(&th, NULL, writer, l) != 0) {
    l->failed = 1;
    rc = MEDSHIM_EUSER;
  } else {
    rc = medshim__journal_foreach_take(l->j, take_claim, l);
    if (l->filling != NULL && l->filling->n > 0 && rc == MEDSHIM_OK)
      (void)hand_over(l);
    pthread_mutex_lock(&l->mu);
    l->done = 1;
    pthread_cond_broadcast(&l->changed);
    pthread_mutex_unlock(&l->mu);
    pthread_join(th, NULL);
    if (rc == MEDSHIM_OK && l->failed)
      rc = MEDSHIM_EUSER;
  }
  batch_free(l->filling);
  for (size_t i = 0; i < l->count; i++) /* left by a failed writer */
    batch_free(l->queue[(l->head + i) % QUEUED]);
  pthread_cond_destroy(&l->changed);
  pthread_mutex_destroy(&l->mu);
  return rc;
}

int cli_cmd_list(int argc, char **argv) {
  static const struct option opts[] = {{"journal", required_argument, 0, 'j'},
                                       {"key", required_argument, 0, 'k'},
                                       {"state", required_argument, 0, 's'},
                                       {"reveal", no_argument, 0, 'r'},
                                       {"salvage", no_argument, 0, 'S'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *dir = NULL, *key = NULL;
  list_ctx l;
  unsigned open_flags = MEDSHIM_JOURNAL_READONLY;
  int c, rc, salvaged;
  memset(&l, 0, sizeof l);
  optind = 1;
  while ((c = cli_getopt("list", argc, argv, opts)) != -1) {
    switch (c) {
    case 'j':
      dir = optarg;
      break;
    case 'k':
      key = optarg;
      break;
    case 's':
      {
        int st;
        if (cli_parse_state("list", "state", optarg, &st) != 0)
          return CLI_EXIT_USAGE;
        l.state = (medshim_claim_state)st;
      }
      l.filter = 1;
      break;
    case 'r':
      l.flags |= MEDSHIM_CLAIM_JSON_REVEAL;
      break;
    case 'S':
      open_flags = MEDSHIM_JOURNAL_SALVAGE;
      break;
    case 'h':
      usage(stdout);
      return CLI_EXIT_OK;
    default:
      return CLI_EXIT_USAGE;
    }
  }
  if (dir == NULL)
    return cli_missing("list", "--journal DIR");
  if (key == NULL)
    return cli_missing("list", "--key KEYFILE");
  if (optind != argc)
    return cli_extra("list", argv[optind]);
  l.j = cli_open_journal("list", dir, key, open_flags);
  if (l.j == NULL)
    return CLI_EXIT_FAIL;
  rc = walk_and_write(&l);
  if (rc != MEDSHIM_OK && !(rc == MEDSHIM_EUSER && !l.failed)) {
    cli_error("list", dir, l.failed ? MEDSHIM_ENOMEM : rc,
              medshim_journal_errmsg(l.j));
    medshim_journal_close(l.j);
    return CLI_EXIT_FAIL;
  }
  salvaged = cli_salvage_note("list", dir, l.j);
  medshim_journal_close(l.j);
  if (fflush(stdout) != 0)
    return CLI_EXIT_FAIL;
  return salvaged ? CLI_EXIT_PARTIAL : CLI_EXIT_OK;
}
