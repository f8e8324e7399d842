/* medshim: the command-line face of libmedshim. Dispatches to commands. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_opt.h"
#include "cli_sys.h"
#include "medshim/medshim.h"

struct command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
};

static const struct command commands[] = {
    {"keygen", cli_cmd_keygen, "create a new key file (32 random bytes, 0600)"},
    {"defer", cli_cmd_defer, "journal self-paid claims read as JSON lines"},
    {"list", cli_cmd_list, "list journaled claims with their state"},
    {"verify", cli_cmd_verify, "check a journal for damage or tampering"},
    {"receipt", cli_cmd_receipt, "print claims' receipts (VISIT_ID RECEIPT lines)"},
    {"rekey", cli_cmd_rekey, "replace a journal's key-encryption key"},
    {"check", cli_cmd_check, "decide online / try_online / defer for a visit"},
    {"schedule", cli_cmd_schedule, "lint, sign, verify or show schedules"},
    {"replay", cli_cmd_replay, "re-settle deferred claims through the adapter"},
    {"void", cli_cmd_void, "mark claims cancelled or refunded by hand"},
    {"retry", cli_cmd_retry, "send rejected claims back after fixing them"},
    {"expire", cli_cmd_expire, "send claims to manual reimbursement now"},
    {"window", cli_cmd_window, "assign or change claims' windows (--apply)"},
    {"report", cli_cmd_report, "counts, amounts and refunds due (JSON/CSV)"},
    {"export", cli_cmd_export, "claims for manual reimbursement (--manual)"},
    {"reconcile", cli_cmd_reconcile, "settled claims against the platform's 3202 detail"},
};

static void usage(FILE *f) {
  fprintf(f, "usage: medshim COMMAND [OPTIONS]   (medshim COMMAND --help)\n\n"
             "commands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(f, "\nlibmedshim %s\n", medshim_version());
}

int main(int argc, char **argv) {
  /* Claims (names, ID numbers) and keys pass through this process: no
   * core dump may hold them. */
  cli_sys_no_core_dumps();
  cli_sys_binary_stdio();
  cli_sys_utf8_args(&argc, &argv);
  /* hidden, for the test suite: what that achieved */
  if (argc == 2 && strcmp(argv[1], "__self-check-dumps") == 0)
    return cli_sys_self_check_dumps();
  if (argc < 2) {
    usage(stderr);
    return CLI_EXIT_USAGE;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    usage(stdout);
    return CLI_EXIT_OK;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("medshim %s\n", medshim_version());
    return CLI_EXIT_OK;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
    if (strcmp(argv[1], commands[i].name) == 0)
      return commands[i].run(argc - 1, argv + 1);
  }
  {
    const char *best = NULL;
    size_t bestd = (size_t)-1;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
      size_t d = cli_edit_distance(argv[1], commands[i].name);
      if (d < bestd) {
        bestd = d;
        best = commands[i].name;
      }
    }
    fprintf(stderr, "medshim: unknown command '%s'", argv[1]);
    if (best != NULL && bestd <= 2 && bestd < strlen(best))
      fprintf(stderr, "; did you mean '%s'?", best);
    fputc('\n', stderr);
  }
  usage(stderr);
  return CLI_EXIT_USAGE;
}
