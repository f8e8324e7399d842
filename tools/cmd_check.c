/* TEMPORARY placeholder until the command is written; never shipped as done. */
#include <stdio.h>

#include "cli.h"

int cli_cmd_check(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "medshim check: not built yet\n");
  return CLI_EXIT_FAIL;
}
