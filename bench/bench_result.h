/* Machine-readable figures: besides its text for people, each bench prints
 * one line per figure, "RESULT <key> <value> <unit>", which
 * bench/readme_table.py turns into the README's performance table. */
#ifndef MEDSHIM_BENCH_RESULT_H
#define MEDSHIM_BENCH_RESULT_H

void bench_result(const char *key, double value, const char *unit);

#endif
