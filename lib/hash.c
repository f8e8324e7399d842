/* FNV-1a, 64 bits: see hash_internal.h. */
#include "hash_internal.h"

uint64_t medshim__fnv1a64(const void *data, size_t len) {
  const unsigned char *p = data;
  uint64_t h = UINT64_C(14695981039346656037);
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= UINT64_C(1099511628211);
  }
  return h;
}
