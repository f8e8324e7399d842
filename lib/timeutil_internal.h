/* Instants: parsing ISO 8601 text and formatting in China Standard Time;
 * a monotonic clock for measuring durations. */
#ifndef MEDSHIM_TIMEUTIL_INTERNAL_H
#define MEDSHIM_TIMEUTIL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* China Standard Time, the offset schedules are written in. */
#define MEDSHIM_CST_OFFSET (8 * 3600)

/* Parse "YYYY-MM-DD", "YYYY-MM-DDTHH:MM", "YYYY-MM-DDTHH:MM:SS" (a space may
 * replace the T), optionally followed by "Z", "+HH:MM", "-HH:MM" or "+HHMM".
 * Without an offset the text is China Standard Time (+08:00). "24:00" (and
 * "24:00:00") means 00:00 of the next day. Returns 0 and sets *out to Unix
 * seconds, or -1 when the text is not such a time or names an impossible
 * date. */
int medshim__time_parse(int64_t *out, const char *text, size_t len);

/* Size of a buffer for medshim__time_format(). */
#define MEDSHIM_TIME_TEXT 32

/* Format as "2022-02-10T00:00:00+08:00". */
void medshim__time_format(char out[MEDSHIM_TIME_TEXT], int64_t t);

/* Nanoseconds on the monotonic clock, for durations only. */
int64_t medshim__mono_ns(void);

#endif
