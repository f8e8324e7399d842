/* medshim receipt: issue claims' receipts again (`VISIT_ID RECEIPT` lines),
 * for a HIS that lost the ones `medshim defer --receipts` wrote. A receipt
 * issued now only anchors the journal as it is now: keep the first one. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_opt.h"
#include "cli_util.h"

static void usage(FILE *f) {
  fprintf(f, "usage: medshim receipt --journal DIR --key KEYFILE (--all | VISIT_ID...)\n\n"
             "Prints `VISIT_ID RECEIPT` for each claim named (or every claim\n"
             "with --all), the lines `medshim verify --receipts` checks. Exit\n"
             "2 when a visit_id is not journaled (the others are printed).\n\n"
             "Exit status: 0 all printed; 1 the journal could not be read;\n"
             "2 some visit_id not journaled; 64 bad command line.\n");
}

typedef struct walk {
  medshim_journal *j;
  int failed;
} walk;

static int print_one(medshim_journal *j, const char *id) {
  char r[MEDSHIM_RECEIPT_LEN_MAX + 1];
  int rc = medshim_journal_receipt(r, j, id);
  if (rc != MEDSHIM_OK) {
    fprintf(stderr, "medshim receipt: %s\n", medshim_journal_errmsg(j));
    return rc;
  }
  printf("%s %s\n", id, r);
  return MEDSHIM_OK;
}

static int visit(const medshim_claim *c, const medshim_claim_status *st,
                 void *payload) {
  walk *w = payload;
  (void)st;
  if (print_one(w->j, medshim_claim_visit_id(c)) != MEDSHIM_OK)
    w->failed++;
  return 0;
}

int cli_cmd_receipt(int argc, char **argv) {
  static const struct option opts[] = {{"journal", required_argument, 0, 'j'},
                                       {"key", required_argument, 0, 'k'},
                                       {"all", no_argument, 0, 'a'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *dir = NULL, *key = NULL;
  int c, all = 0, missing = 0, rc = MEDSHIM_OK;
  walk w = {NULL, 0};
  optind = 1;
  while ((c = cli_getopt("receipt", argc, argv, opts)) != -1) {
    if (c == 'j') {
      dir = optarg;
    } else if (c == 'k') {
      key = optarg;
    } else if (c == 'a') {
      all = 1;
    } else if (c == 'h') {
      usage(stdout);
      return CLI_EXIT_OK;
    } else {
      return CLI_EXIT_USAGE;
    }
  }
  if (dir == NULL)
    return cli_missing("receipt", "--journal DIR");
  if (key == NULL)
    return cli_missing("receipt", "--key KEYFILE");
  if (!all && optind == argc)
    return cli_missing("receipt", "--all or a VISIT_ID");
  if (all && optind < argc) {
    fprintf(stderr, "medshim receipt: give --all or VISIT_IDs, not both\n");
    return CLI_EXIT_USAGE;
  }
  if ((w.j = cli_open_journal("receipt", dir, key, MEDSHIM_JOURNAL_READONLY)) ==
      NULL)
    return CLI_EXIT_FAIL;
  if (all) {
    rc = medshim_journal_foreach(w.j, visit, &w);
    if (rc != MEDSHIM_OK)
      cli_error("receipt", dir, rc, medshim_journal_errmsg(w.j));
  } else {
    for (int i = optind; i < argc; i++) {
      int r = print_one(w.j, argv[i]);
      if (r == MEDSHIM_ENOTFOUND)
        missing++;
      else if (r != MEDSHIM_OK)
        w.failed++;
    }
  }
  cli_close_journal("receipt", dir, w.j, 0);
  if (rc != MEDSHIM_OK || w.failed > 0)
    return CLI_EXIT_FAIL;
  return missing > 0 ? CLI_EXIT_PARTIAL : CLI_EXIT_OK;
}
