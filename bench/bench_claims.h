/* Realistic claims for the benchmarks: about 1 KB of JSON as a HIS sends
 * it, Chinese names, diagnoses and drug names, 1 to 7 fee items with
 * national codes. One generator for every bench, so their figures are
 * about the same claims. */
#ifndef MEDSHIM_BENCH_CLAIMS_H
#define MEDSHIM_BENCH_CLAIMS_H

#include <stddef.h>

#include "medshim/medshim.h"

/* Claim number i as a JSON line (no newline) in buf; visit_id is prefix
 * followed by i. Returns its length. Exits when buf is too small. */
size_t bench_claim_json(char *buf, size_t size, const char *prefix, long i);
/* The same claim parsed (caller frees); exits on failure. */
medshim_claim *bench_claim(const char *prefix, long i);

#endif
