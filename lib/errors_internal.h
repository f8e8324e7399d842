/* Internal helpers to fill a caller's medshim_error. */
#ifndef MEDSHIM_ERRORS_INTERNAL_H
#define MEDSHIM_ERRORS_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>

#include "medshim/errors.h"

/* Fill err (which may be NULL) and return code, so callers can write
 * `return medshim__error_set(err, MEDSHIM_EINVAL, "total_fen", "...")`. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
int medshim__error_set(medshim_error *err, int code, const char *where,
                       const char *fmt, ...);

/* Format into a fixed buffer, truncating safely: a cut lands on a UTF-8
 * character boundary (paths and messages may be Chinese). */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void medshim__fmt(char *buf, size_t size, const char *fmt, ...);
#if defined(__GNUC__)
__attribute__((format(printf, 3, 0)))
#endif
void medshim__vfmt(char *buf, size_t size, const char *fmt, va_list ap);

#endif
