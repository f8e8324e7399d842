/* See bench_result.h. */
#include <stdio.h>

#include "bench_result.h"

void bench_result(const char *key, double value, const char *unit) {
  printf("RESULT %s %.6g %s\n", key, value, unit);
  fflush(stdout);
}
