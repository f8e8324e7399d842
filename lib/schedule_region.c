/* Regions as the notices write them: 6-digit admdvs codes, a prefix key
 * per province, prefecture or county, and which key covers which. A leaf
 * of the schedule module (parse and index both use it). */
#include <stdint.h>

#include "schedule_internal.h"

uint32_t medshim__sched_region_key(const char *a, int as_visit) {
  uint32_t v = 0;
  unsigned pairs = 3;
  if (a == NULL)
    return 0;
  for (int i = 0; i < 6; i++) {
    if (a[i] < '0' || a[i] > '9')
      return 0;
    v = v * 10 + (uint32_t)(a[i] - '0');
  }
  if (a[6] != '\0')
    return 0;
  if (as_visit)
    return sched_key(v, 3);
  /* 330100 covers 3301xx, 640000 covers 64xxxx */
  while (pairs > 1 && v % 100 == 0) {
    v /= 100;
    pairs--;
  }
  if (v == 0)
    return 0;
  return sched_key(v, pairs);
}

/* Is prefix key a an ancestor of (or equal to) key b? */
int medshim__sched_covers(uint32_t a, uint32_t b) {
  unsigned pa = a & 7, pb = b & 7;
  uint32_t va = a >> 3, vb = b >> 3;
  if (pa > pb)
    return 0;
  for (unsigned p = pb; p > pa; p--)
    vb /= 100;
  return va == vb;
}
