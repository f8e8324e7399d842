/* Strict option parsing shared by the replay commands. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_num.h"
#include "timeutil_internal.h"

int cli_parse_ulong(const char *cmd, const char *opt, const char *text,
                    unsigned long min, unsigned long max, unsigned long *out) {
  char *end = NULL;
  unsigned long v;
  if (text == NULL || !isdigit((unsigned char)text[0])) {
    fprintf(stderr, "medshim %s: --%s: '%s' is not a whole number (%lu to "
                    "%lu)\n", cmd, opt, text ? text : "", min, max);
    return -1;
  }
  errno = 0;
  v = strtoul(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0') {
    fprintf(stderr, "medshim %s: --%s: '%s' is not a whole number (%lu to "
                    "%lu)\n", cmd, opt, text, min, max);
    return -1;
  }
  if (v < min || v > max) {
    fprintf(stderr, "medshim %s: --%s: %s is out of range (%lu to %lu)\n", cmd,
            opt, text, min, max);
    return -1;
  }
  *out = v;
  return 0;
}

int cli_parse_double(const char *cmd, const char *opt, const char *text,
                     double min, double max, double *out) {
  char *end = NULL;
  double v;
  if (text == NULL ||
      !(isdigit((unsigned char)text[0]) || text[0] == '.')) {
    fprintf(stderr, "medshim %s: --%s: '%s' is not a number (%g to %g)\n", cmd,
            opt, text ? text : "", min, max);
    return -1;
  }
  errno = 0;
  v = strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || !isfinite(v)) {
    fprintf(stderr, "medshim %s: --%s: '%s' is not a number (%g to %g)\n", cmd,
            opt, text, min, max);
    return -1;
  }
  if (v < min || v > max) {
    fprintf(stderr, "medshim %s: --%s: %s is out of range (%g to %g)\n", cmd,
            opt, text, min, max);
    return -1;
  }
  *out = v;
  return 0;
}

int cli_parse_time(const char *cmd, const char *opt, const char *text,
                   int64_t *out) {
  if (text == NULL || medshim__time_parse(out, text, strlen(text)) != 0) {
    fprintf(stderr, "medshim %s: --%s: '%s' is not an ISO 8601 time "
                    "(e.g. 2022-03-16T10:00, +08:00 unless an offset is "
                    "given)\n", cmd, opt, text ? text : "");
    return -1;
  }
  return 0;
}
