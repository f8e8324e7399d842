/* A fast non-cryptographic hash for in-memory tables and grouping:
 * FNV-1a, 64 bits (offset basis 14695981039346656037, prime
 * 1099511628211). Inputs come from the HIS, not from an adversary who
 * could choose collisions, and every lookup compares the key itself.
 * Never for anything on disk or for authentication. */
#ifndef MEDSHIM_HASH_INTERNAL_H
#define MEDSHIM_HASH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

uint64_t medshim__fnv1a64(const void *data, size_t len);

#endif
