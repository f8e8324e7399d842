/* Command-line options that say what is wrong: getopt's own messages
 * replaced by ones prefixed "medshim COMMAND:", a missing option named, an
 * unknown enumerated value answered with the valid ones and the nearest. */
#ifndef MEDSHIM_CLI_OPT_H
#define MEDSHIM_CLI_OPT_H

#include <getopt.h>

/* getopt_long(argc, argv, "h", opts) with opterr = 0: an unknown option or
 * one without its value is reported as "medshim CMD: ..." and '?' is
 * returned. Reset optind to 1 before the first call. */
int cli_getopt(const char *cmd, int argc, char **argv,
               const struct option *opts);

/* "medshim CMD: WHAT is required (medshim CMD --help)". Returns
 * CLI_EXIT_USAGE. */
int cli_missing(const char *cmd, const char *what);

/* "medshim CMD: unexpected argument 'ARG' (medshim CMD --help)". Returns
 * CLI_EXIT_USAGE. */
int cli_extra(const char *cmd, const char *arg);

/* The index of text in names[0..n) (case differences accepted), or -1
 * after printing "medshim CMD: --OPT: unknown WHAT 'text'; did you mean
 * 'x'? (valid: a b c)". */
int cli_choice(const char *cmd, const char *opt, const char *what,
               const char *text, const char *const *names, int n);

/* --service for a visit: a settlement service's name, in any case, or
 * 门诊 (outpatient), 住院 (inpatient), 药店 (pharmacy). With agency
 * services too when sched is set (schedule service numbers). 0, or -1
 * after printing the valid names and the nearest. */
int cli_parse_service(const char *cmd, const char *opt, const char *text,
                      int sched, int *out);

/* --state: a claim state's name, in any case. 0 or -1 (printed). */
int cli_parse_state(const char *cmd, const char *opt, const char *text,
                    int *out);

/* Levenshtein distance between two ASCII-lowercased strings (bytes). */
size_t cli_edit_distance(const char *a, const char *b);

#endif
