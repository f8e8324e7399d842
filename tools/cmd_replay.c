/* medshim replay: re-settle deferred claims through the HIS's adapter
 * command; medshim void / retry: a person's decisions on one claim. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "cli_util.h"
#include "exec_adapter.h"
#include "timeutil_internal.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: medshim replay --journal DIR --key KEYFILE --schedule FILE...\n"
          "                      --exec CMD [--at TIME] [--concurrency N]\n"
          "                      [--rate R] [--timeout S] [--dry-run]\n\n"
          "Settles every deferred claim whose re-settlement window is open at\n"
          "TIME (default: now) exactly once through CMD, run by /bin/sh once\n"
          "per operation with MEDSHIM_OP=settle or query and the claim's JSON\n"
          "line (with replay_key) on stdin. CMD prints one JSON object:\n"
          "  {\"status\":\"settled\",\"settlement_id\":...,\"fund_paid_fen\":...,\n"
          "   \"patient_paid_fen\":...[,\"acct_paid_fen\":...]}\n"
          "  {\"status\":\"rejected\",\"code\":...,\"message\":...}\n"
          "  {\"status\":\"retry\"}      {\"status\":\"not_found\"} (query)\n"
          "A non-zero exit, a timeout (default 60 s) or other output means the\n"
          "outcome is unknown: the claim stays in doubt and is queried before\n"
          "anything is sent again. Prints a JSON summary.\n");
}

static int bar(const medshim_replay_summary *s, size_t handled, void *payload) {
  size_t total = *(size_t *)payload, width = 40, fill;
  if (total == 0)
    return 0;
  fill = handled * width / total;
  if (fill > width)
    fill = width;
  fprintf(stderr, "\r[%.*s%*s] %zu/%zu settled %zu rejected %zu in doubt %zu",
          (int)fill, "########################################",
          (int)(width - fill), "", handled, total, s->settled, s->rejected,
          s->in_doubt);
  return 0;
}

static int count_open(const medshim_claim *c, const medshim_claim_status *st,
                      void *payload) {
  (void)c;
  if (st->state == MEDSHIM_STATE_PENDING || st->state == MEDSHIM_STATE_IN_DOUBT ||
      st->state == MEDSHIM_STATE_RETRY_WAIT)
    (*(size_t *)payload)++;
  return 0;
}

static void print_summary(const medshim_replay_summary *s, int64_t at) {
  char t[MEDSHIM_TIME_TEXT];
  json_t *o;
  char *text;
  medshim__time_format(t, at);
  o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
                " s:I, s:I}",
                "at", t, "claims", (json_int_t)s->claims, "attempts",
                (json_int_t)s->attempts, "queries", (json_int_t)s->queries,
                "settled", (json_int_t)s->settled, "rejected",
                (json_int_t)s->rejected, "retry_wait", (json_int_t)s->retry_wait,
                "in_doubt", (json_int_t)s->in_doubt, "pending",
                (json_int_t)s->pending, "expired", (json_int_t)s->expired,
                "manual", (json_int_t)s->manual, "voided", (json_int_t)s->voided,
                "refunds_due_fen", (json_int_t)s->refunds_due_fen,
                "negative_refunds", (json_int_t)s->negative_refunds);
  text = o ? json_dumps(o, JSON_COMPACT) : NULL;
  printf("%s\n", text ? text : "{}");
  free(text);
  json_decref(o);
}

int cli_cmd_replay(int argc, char **argv) {
  static const struct option opts[] = {
      {"journal", required_argument, 0, 'j'}, {"key", required_argument, 0, 'k'},
      {"schedule", required_argument, 0, 's'}, {"exec", required_argument, 0, 'e'},
      {"at", required_argument, 0, 'a'}, {"concurrency", required_argument, 0, 'c'},
      {"rate", required_argument, 0, 'r'}, {"timeout", required_argument, 0, 't'},
      {"dry-run", no_argument, 0, 'd'}, {"pubkey", required_argument, 0, 'p'},
      {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  const char *dir = NULL, *key = NULL, *at = NULL, *pubkey = NULL;
  char *files[64];
  size_t nfiles = 0, open_claims = 0;
  exec_adapter ex = {NULL, 60, NULL};
  medshim_replay_options o = MEDSHIM_REPLAY_OPTIONS_INIT;
  medshim_replay_summary sum;
  medshim_schedule_set *set;
  medshim_adapter adapter;
  medshim_journal *j;
  int c, rc;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'j': dir = optarg; break;
    case 'k': key = optarg; break;
    case 's':
      if (nfiles < 64)
        files[nfiles++] = optarg;
      break;
    case 'e': ex.command = optarg; break;
    case 'a': at = optarg; break;
    case 'c': o.concurrency = (unsigned)atoi(optarg); break;
    case 'r': o.rate = atof(optarg); break;
    case 't': ex.timeout_seconds = atoi(optarg); break;
    case 'd': o.dry_run = 1; break;
    case 'p': pubkey = optarg; break;
    case 'h': usage(stdout); return CLI_EXIT_OK;
    default: usage(stderr); return CLI_EXIT_USAGE;
    }
  }
  if (dir == NULL || key == NULL || nfiles == 0 || ex.command == NULL ||
      optind != argc || ex.timeout_seconds <= 0 || o.rate < 0 ||
      o.concurrency > 64) {
    usage(stderr);
    return CLI_EXIT_USAGE;
  }
  if (at != NULL && medshim__time_parse(&o.at, at, strlen(at)) != 0) {
    fprintf(stderr, "medshim replay: --at: not an ISO 8601 time: %s\n", at);
    return CLI_EXIT_USAGE;
  }
  if (o.at == 0)
    o.at = (int64_t)time(NULL);
  set = cli_load_schedules("replay", files, nfiles, pubkey, pubkey != NULL);
  if (set == NULL)
    return CLI_EXIT_FAIL;
  j = cli_open_journal("replay", dir, key, 0);
  if (j == NULL) {
    medshim_schedule_set_free(set);
    return CLI_EXIT_FAIL;
  }
  ex.journal = j;
  exec_adapter_init(&adapter, &ex);
  o.institution_code = getenv("MEDSHIM_INSTITUTION") ? getenv("MEDSHIM_INSTITUTION")
                                                     : "H00000000000";
  if (isatty(STDERR_FILENO)) {
    (void)medshim_journal_foreach(j, count_open, &open_claims);
    o.progress = bar;
    o.progress_payload = &open_claims;
  }
  rc = medshim_replay_run(&sum, j, &adapter, &o);
  if (o.progress != NULL)
    fputc('\n', stderr);
  if (rc != MEDSHIM_OK)
    cli_error("replay", dir, rc, medshim_journal_errmsg(j));
  print_summary(&sum, o.at);
  medshim_journal_close(j);
  medshim_schedule_set_free(set);
  return rc == MEDSHIM_OK ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

static int person(int argc, char **argv, int to_void) {
  static const struct option opts[] = {{"journal", required_argument, 0, 'j'},
                                       {"key", required_argument, 0, 'k'},
                                       {"at", required_argument, 0, 'a'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *dir = NULL, *key = NULL, *at = NULL, *cmd = to_void ? "void" : "retry";
  int64_t t = (int64_t)time(NULL);
  medshim_journal *j;
  int c, rc;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (c == 'j')
      dir = optarg;
    else if (c == 'k')
      key = optarg;
    else if (c == 'a')
      at = optarg;
    else {
      printf("usage: medshim %s --journal DIR --key KEYFILE [--at TIME] "
             "VISIT_ID\n\n%s\n", cmd,
             to_void ? "Marks the claim voided: the HIS cancelled the visit or "
                       "refunded it by hand.\nRefused for settled claims "
                       "(reverse them on the platform) and in-doubt ones."
                     : "Sends a rejected or expired claim back to pending "
                       "after a person fixed\nits data; the next replay "
                       "settles it.");
      return c == 'h' ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
  }
  if (dir == NULL || key == NULL || optind + 1 != argc) {
    fprintf(stderr, "usage: medshim %s --journal DIR --key KEYFILE VISIT_ID\n",
            cmd);
    return CLI_EXIT_USAGE;
  }
  if (at != NULL && medshim__time_parse(&t, at, strlen(at)) != 0) {
    fprintf(stderr, "medshim %s: --at: not an ISO 8601 time\n", cmd);
    return CLI_EXIT_USAGE;
  }
  j = cli_open_journal(cmd, dir, key, 0);
  if (j == NULL)
    return CLI_EXIT_FAIL;
  rc = to_void ? medshim_replay_void(j, argv[optind], t)
               : medshim_replay_retry(j, argv[optind], t);
  if (rc != MEDSHIM_OK)
    cli_error(cmd, argv[optind], rc,
              rc == MEDSHIM_ESTATE
                  ? (to_void ? "only pending, retry_wait, rejected, expired "
                               "or manual claims can be voided"
                             : "only rejected or expired claims can be retried")
                  : medshim_journal_errmsg(j));
  medshim_journal_close(j);
  return rc == MEDSHIM_OK ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

int cli_cmd_void(int argc, char **argv) { return person(argc, argv, 1); }
int cli_cmd_retry(int argc, char **argv) { return person(argc, argv, 0); }
