/* medshim rekey: replace the key-encryption key of a journal. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_opt.h"
#include "cli_util.h"

static void usage(FILE *f) {
  fprintf(f, "usage: medshim rekey --journal DIR --key OLDKEY --new-key NEWKEY\n\n"
             "Re-wraps the journal's data key under NEWKEY (make it with\n"
             "medshim keygen); records are not rewritten. Needs the journal\n"
             "not to be open for writing. Afterwards only NEWKEY opens it.\n\n"
             "Exit status: 0 rekeyed; 1 failed (wrong key, journal open for\n"
             "writing, I/O); 64 bad command line.\n");
}

int cli_cmd_rekey(int argc, char **argv) {
  static const struct option opts[] = {{"journal", required_argument, 0, 'j'},
                                       {"key", required_argument, 0, 'k'},
                                       {"new-key", required_argument, 0, 'n'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  medshim_journal_options cur = MEDSHIM_JOURNAL_OPTIONS_INIT;
  medshim_journal_options next = MEDSHIM_JOURNAL_OPTIONS_INIT;
  const char *dir = NULL;
  medshim_error err;
  int c, rc;
  optind = 1;
  while ((c = cli_getopt("rekey", argc, argv, opts)) != -1) {
    if (c == 'j')
      dir = optarg;
    else if (c == 'k')
      cur.key_file = optarg;
    else if (c == 'n')
      next.key_file = optarg;
    else if (c == 'h') {
      usage(stdout);
      return CLI_EXIT_OK;
    } else {
      return CLI_EXIT_USAGE;
    }
  }
  if (dir == NULL)
    return cli_missing("rekey", "--journal DIR");
  if (cur.key_file == NULL)
    return cli_missing("rekey", "--key OLDKEY");
  if (next.key_file == NULL)
    return cli_missing("rekey", "--new-key NEWKEY");
  if (optind != argc)
    return cli_extra("rekey", argv[optind]);
  memset(&err, 0, sizeof err);
  rc = medshim_journal_rekey(dir, &cur, &next, &err);
  if (rc != MEDSHIM_OK) {
    cli_error_err("rekey", dir, rc, &err);
    return CLI_EXIT_FAIL;
  }
  return CLI_EXIT_OK;
}
