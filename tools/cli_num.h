/* Strict numbers and times for command-line options: the whole text, in
 * range; anything else is an error that names the option. Never a silent
 * default: `--rate twenty` must not mean "unlimited". */
#ifndef MEDSHIM_CLI_NUM_H
#define MEDSHIM_CLI_NUM_H

#include <stdint.h>

/* An unsigned integer in [min, max]. 0, or -1 after printing
 * "medshim CMD: --OPT: ..." to stderr. */
int cli_parse_ulong(const char *cmd, const char *opt, const char *text,
                    unsigned long min, unsigned long max, unsigned long *out);
/* A finite decimal number in [min, max]. */
int cli_parse_double(const char *cmd, const char *opt, const char *text,
                     double min, double max, double *out);
/* An ISO 8601 time (China Standard Time unless an offset is given). */
int cli_parse_time(const char *cmd, const char *opt, const char *text,
                   int64_t *out);

#endif
