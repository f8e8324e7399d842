/* Helpers shared by the journal commands of the medshim tool. */
#ifndef MEDSHIM_CLI_UTIL_H
#define MEDSHIM_CLI_UTIL_H

#include <stdio.h>

#include "medshim/medshim.h"

/* Print "medshim CMD: what: code text (detail)" to stderr. */
void cli_error(const char *cmd, const char *what, int code, const char *detail);
/* The same with a medshim_error. */
void cli_error_err(const char *cmd, const char *what, int code,
                   const medshim_error *err);
/* Open the journal at dir with key file; flags as for the options. Prints
 * the error and returns NULL on failure. */
medshim_journal *cli_open_journal(const char *cmd, const char *dir,
                                  const char *key, unsigned flags);
/* The same asking for a suite (MEDSHIM_JOURNAL_SUITE_*): the suite of a
 * journal it creates, and the one an existing journal must have. */
medshim_journal *cli_open_journal_suite(const char *cmd, const char *dir,
                                        const char *key, unsigned flags,
                                        unsigned suite);
/* --suite NAME ("sm", "default") to *suite; -1 (printed) if unknown. */
int cli_parse_suite(const char *cmd, const char *name, unsigned *suite);
/* Close a journal (NULL ok). A writer's close makes the last records
 * durable and writes the checkpoint: when that fails, the error is printed
 * (unless quiet: already reported) and returned, and the command must exit
 * non-zero. */
int cli_close_journal(const char *cmd, const char *dir, medshim_journal *j,
                      int quiet);
/* After a command read a journal opened with MEDSHIM_JOURNAL_SALVAGE: say
 * on stderr what damage was passed over (nothing when none). 1 when some
 * was, 0 when none. */
int cli_salvage_note(const char *cmd, const char *dir, medshim_journal *j);
/* Parse the options every journal command takes: --journal DIR --key
 * KEYFILE [--help]. Returns -1 to go on, or the exit code to return now
 * (after printing usage). */
int cli_journal_args(int argc, char **argv, const char **dir, const char **key,
                     void (*usage)(FILE *));

/* 1 when argv[i] is --help or -h. */
int cli_wants_help(int argc, char **argv);

/* Load schedule files into a new set (with an optional Ed25519 public key
 * file); prints errors and amendment notices. NULL on failure. */
medshim_schedule_set *cli_load_schedules(const char *cmd, char **files,
                                         size_t nfiles, const char *pubkey,
                                         int require_signed);

/* One claim as a JSON line: its fields (masked unless flags reveal) plus
 * state, attempts, replay_key and the settlement or rejection. malloc'ed;
 * free with cli_free_line(), which wipes it. NULL when out of memory. */
char *cli_claim_json(const medshim_claim *claim, const medshim_claim_status *st,
                     const char *replay_key, unsigned flags);
void cli_free_line(char *line);

#endif
