/* ISO 8601 instants in and out; the C library does the calendar (timegm).
 * And the monotonic clock. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "errors_internal.h"
#include "medshim/medshim.h"
#include "os.h"
#include "timeutil_internal.h"

/* Read exactly n digits at p. */
static int digits(const char *p, size_t n, int *out) {
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isdigit((unsigned char)p[i]))
      return -1;
    v = v * 10 + (p[i] - '0');
  }
  *out = v;
  return 0;
}

int medshim__time_parse(int64_t *out, const char *text, size_t len) {
  int y, mo, d, h = 0, mi = 0, s = 0, oh = 0, om = 0;
  long offset = MEDSHIM_CST_OFFSET;
  size_t i;
  struct tm tm;
  int64_t t; /* not time_t: 32 bits on 32-bit Windows */

  if (out == NULL || text == NULL || len < 10)
    return -1;
  if (digits(text, 4, &y) || text[4] != '-' || digits(text + 5, 2, &mo) ||
      text[7] != '-' || digits(text + 8, 2, &d))
    return -1;
  i = 10;
  if (i < len && (text[i] == 'T' || text[i] == ' ')) {
    if (len < i + 6 || digits(text + i + 1, 2, &h) || text[i + 3] != ':' ||
        digits(text + i + 4, 2, &mi))
      return -1;
    i += 6;
    if (i < len && text[i] == ':') {
      if (len < i + 3 || digits(text + i + 1, 2, &s))
        return -1;
      i += 3;
    }
  }
  if (i < len) {
    if (text[i] == 'Z' && i + 1 == len) {
      offset = 0;
      i++;
    } else if (text[i] == '+' || text[i] == '-') {
      int sign = text[i] == '-' ? -1 : 1;
      if (len == i + 6 && !digits(text + i + 1, 2, &oh) && text[i + 3] == ':' &&
          !digits(text + i + 4, 2, &om)) {
        i += 6;
      } else if (len == i + 5 && !digits(text + i + 1, 2, &oh) &&
                 !digits(text + i + 3, 2, &om)) {
        i += 5;
      } else {
        return -1;
      }
      if (oh > 14 || om > 59)
        return -1;
      offset = sign * (oh * 3600L + om * 60L);
    } else {
      return -1;
    }
  }
  if (i != len)
    return -1;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || mi > 59 || s > 59)
    return -1;
  if (h > 24 || (h == 24 && (mi != 0 || s != 0)))
    return -1;

  memset(&tm, 0, sizeof tm);
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h; /* timegm normalises 24:00 to the next day's 00:00 */
  tm.tm_min = mi;
  tm.tm_sec = s;
  t = medshim__os_timegm(&tm);
  /* Reject dates timegm had to normalise (Feb 30 and the like). */
  if (tm.tm_mday != d && h != 24)
    return -1;
  if (h == 24) {
    struct tm check;
    if (medshim__os_utc(t - 86400, &check) == NULL || check.tm_mday != d)
      return -1;
  }
  *out = t - offset;
  return 0;
}

void medshim__time_format(char out[MEDSHIM_TIME_TEXT], int64_t t) {
  struct tm tm;
  if (medshim__os_utc(t + MEDSHIM_CST_OFFSET, &tm) == NULL ||
      tm.tm_year < -1900 ||
      tm.tm_year > 9999 - 1900) {
    snprintf(out, MEDSHIM_TIME_TEXT, "invalid");
    return;
  }
  snprintf(out, MEDSHIM_TIME_TEXT, "%04u-%02u-%02uT%02u:%02u:%02u+08:00",
           (unsigned)(tm.tm_year + 1900) % 10000u,
           (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u,
           (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u,
           (unsigned)tm.tm_sec % 100u);
}

/* The +08:00 calendar fields of t; -1 outside years 0..9999. */
static int cst_fields(struct tm *tm, int64_t t) {
  if (medshim__os_utc(t + MEDSHIM_CST_OFFSET, tm) == NULL ||
      tm->tm_year < -1900 ||
      tm->tm_year > 9999 - 1900)
    return -1;
  return 0;
}

static void day_text(char *out, const struct tm *tm) {
  snprintf(out, MEDSHIM_DAY_TEXT, "%04u-%02u-%02u",
           (unsigned)(tm->tm_year + 1900) % 10000u,
           (unsigned)(tm->tm_mon + 1) % 100u, (unsigned)tm->tm_mday % 100u);
}

int medshim_format_day(char *out, int64_t from) {
  struct tm tm;
  if (out == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  if (cst_fields(&tm, from) != 0) {
    snprintf(out, MEDSHIM_DAY_TEXT, "invalid");
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  }
  day_text(out, &tm);
  if (tm.tm_hour != 0 || tm.tm_min != 0 || tm.tm_sec != 0)
    snprintf(out + 10, MEDSHIM_DAY_TEXT - 10, " %02u:%02u",
             (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u);
  return MEDSHIM_OK;
}

int medshim_format_last_day(char *out, int64_t until) {
  struct tm tm;
  if (out == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  if (cst_fields(&tm, until) != 0) {
    snprintf(out, MEDSHIM_DAY_TEXT, "invalid");
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  }
  if (tm.tm_hour == 0 && tm.tm_min == 0 && tm.tm_sec == 0) {
    /* midnight ends the day before: its last second is that day's */
    if (cst_fields(&tm, until - 1) != 0) {
      snprintf(out, MEDSHIM_DAY_TEXT, "invalid");
      return MEDSHIM__FAIL(MEDSHIM_EINVAL);
    }
    day_text(out, &tm);
    return MEDSHIM_OK;
  }
  day_text(out, &tm);
  snprintf(out + 10, MEDSHIM_DAY_TEXT - 10, " before %02u:%02u",
           (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u);
  return MEDSHIM_OK;
}

int64_t medshim__mono_ns(void) { return medshim__os_mono_ns(); }
