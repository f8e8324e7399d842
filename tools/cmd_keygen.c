/* medshim keygen KEYFILE: a new key-encryption key. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"

int cli_cmd_keygen(int argc, char **argv) {
  medshim_error err;
  int rc;
  if (cli_wants_help(argc, argv)) {
    printf("usage: medshim keygen KEYFILE\n\n"
           "Create KEYFILE with 32 random bytes, mode 0600. Refuses to\n"
           "overwrite an existing file. Keep it where the HIS's secrets live\n"
           "and back it up: without it the journal cannot be read.\n");
    return CLI_EXIT_OK;
  }
  if (argc != 2 || argv[1][0] == '-') {
    fprintf(stderr, "usage: medshim keygen KEYFILE\n");
    return CLI_EXIT_USAGE;
  }
  memset(&err, 0, sizeof err);
  rc = medshim_key_generate(argv[1], &err);
  if (rc != MEDSHIM_OK) {
    cli_error_err("keygen", argv[1], rc, &err);
    return CLI_EXIT_FAIL;
  }
  return CLI_EXIT_OK;
}
