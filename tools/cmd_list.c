/* medshim list: every claim with its state, one JSON line each. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "cli.h"
#include "cli_opt.h"
#include "cli_util.h"

typedef struct list_ctx {
  medshim_journal *j;
  int filter;
  medshim_claim_state state;
  unsigned flags;
  int failed;
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

static int print_claim(const medshim_claim *claim,
                       const medshim_claim_status *st, void *payload) {
  list_ctx *l = payload;
  char key[MEDSHIM_REPLAY_KEY_LEN + 1];
  char *line;
  if (l->filter && st->state != l->state)
    return 0;
  if (medshim_journal_replay_key(key, l->j, medshim_claim_visit_id(claim)) !=
      MEDSHIM_OK)
    key[0] = '\0';
  line = cli_claim_json(claim, st, key, l->flags);
  if (line == NULL) {
    l->failed = 1;
    return 1;
  }
  printf("%s\n", line);
  cli_free_line(line);
  return 0;
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
  rc = medshim_journal_foreach(l.j, print_claim, &l);
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
