/* medshim keygen KEYFILE: a new key-encryption key. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_opt.h"
#include "cli_util.h"

int cli_cmd_keygen(int argc, char **argv) {
  medshim_error err;
  int rc;
  if (cli_wants_help(argc, argv)) {
    printf("usage: medshim keygen KEYFILE\n\n"
           "Create KEYFILE with 32 random bytes, mode 0600. Refuses to\n"
           "overwrite an existing file. Keep it where the HIS's secrets live\n"
           "and back it up: without it the journal cannot be read.\n\n"
           "Exit status: 0 created; 1 not created (exists, I/O); 64 bad\n"
           "command line.\n");
    return CLI_EXIT_OK;
  }
  if (argc < 2)
    return cli_missing("keygen", "KEYFILE");
  if (argv[1][0] == '-') {
    fprintf(stderr, "medshim keygen: unrecognized option '%s' (medshim keygen "
                    "--help)\n", argv[1]);
    return CLI_EXIT_USAGE;
  }
  if (argc > 2)
    return cli_extra("keygen", argv[2]);
  memset(&err, 0, sizeof err);
  rc = medshim_key_generate(argv[1], &err);
  if (rc != MEDSHIM_OK) {
    cli_error_err("keygen", argv[1], rc, &err);
    return CLI_EXIT_FAIL;
  }
  return CLI_EXIT_OK;
}
