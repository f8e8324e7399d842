/* Shared declarations of the medshim command-line tool. */
#ifndef MEDSHIM_CLI_H
#define MEDSHIM_CLI_H

#include <stdio.h>

/* Exit codes used by every command. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1    /* the operation failed (I/O, key, damage) */
#define CLI_EXIT_PARTIAL 2 /* some input was refused; the rest was processed */
#define CLI_EXIT_USAGE 64  /* bad command line */

/* Each command: argc/argv start at the command name. */
int cli_cmd_keygen(int argc, char **argv);
int cli_cmd_defer(int argc, char **argv);
int cli_cmd_list(int argc, char **argv);
int cli_cmd_verify(int argc, char **argv);
int cli_cmd_receipt(int argc, char **argv);
int cli_cmd_rekey(int argc, char **argv);
int cli_cmd_check(int argc, char **argv);
int cli_cmd_schedule(int argc, char **argv);
int cli_cmd_replay(int argc, char **argv);
int cli_cmd_void(int argc, char **argv);
int cli_cmd_retry(int argc, char **argv);
int cli_cmd_expire(int argc, char **argv);
int cli_cmd_window(int argc, char **argv);
int cli_cmd_report(int argc, char **argv);
int cli_cmd_export(int argc, char **argv);
int cli_cmd_reconcile(int argc, char **argv);

#endif
