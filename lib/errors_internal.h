/* Internal helpers to fill a caller's medshim_error. */
#ifndef MEDSHIM_ERRORS_INTERNAL_H
#define MEDSHIM_ERRORS_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>

#include "medshim/errors.h"

/* printf-like functions, checked by the compiler: mingw-w64 prints with
 * its own C99 printf (__USE_MINGW_ANSI_STDIO), whose archetype there is
 * gnu_printf, not the msvcrt one that "printf" names. */
#if defined(__MINGW32__)
#define MEDSHIM__PRINTF(fmt, args) __attribute__((format(gnu_printf, fmt, args)))
#elif defined(__GNUC__)
#define MEDSHIM__PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define MEDSHIM__PRINTF(fmt, args)
#endif

/* Fill err (which may be NULL) and return code, so callers can write
 * `return medshim__error_set(err, MEDSHIM_EINVAL, "total_fen", "...")`.
 * Every failure is also recorded as the calling thread's last error
 * (medshim_last_error()): this, medshim__fail() and medshim__last_set()
 * are the places errors are recorded. */
MEDSHIM__PRINTF(4, 5)
int medshim__error_set(medshim_error *err, int code, const char *where,
                       const char *fmt, ...);

/* Record code as the thread's last error, where = the failing function,
 * the text its medshim_strerror(); returns code:
 * `return MEDSHIM__FAIL(MEDSHIM_EINVAL);`. */
int medshim__fail(int code, const char *where);
#define MEDSHIM__FAIL(code) medshim__fail((code), __func__)

/* Record code, where and an already formatted text (a handle's message)
 * as the thread's last error; returns code. */
int medshim__last_set(int code, const char *where, const char *text);

/* Format into a fixed buffer, truncating safely: a cut lands on a UTF-8
 * character boundary (paths and messages may be Chinese). */
MEDSHIM__PRINTF(3, 4)
void medshim__fmt(char *buf, size_t size, const char *fmt, ...);
MEDSHIM__PRINTF(3, 0)
void medshim__vfmt(char *buf, size_t size, const char *fmt, va_list ap);

#endif
