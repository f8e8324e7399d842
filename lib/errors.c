/* Error code texts and the helpers that fill a medshim_error. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "errors_internal.h"
#include "utf8_internal.h"

const char *medshim_strerror(int code) {
  /* A switch on the enum with no default: the compiler flags a code that
   * has no text. The value is checked separately below. */
  switch ((medshim_code)code) {
#define MEDSHIM__TEXT(name, value, text)                                       \
  case MEDSHIM_##name:                                                         \
    return text;
    MEDSHIM_ERROR_LIST(MEDSHIM__TEXT)
#undef MEDSHIM__TEXT
  }
  return "unknown error";
}

const char *medshim_code_name(int code) {
  switch ((medshim_code)code) {
#define MEDSHIM__NAME(name, value, text)                                       \
  case MEDSHIM_##name:                                                         \
    return "MEDSHIM_" #name;
    MEDSHIM_ERROR_LIST(MEDSHIM__NAME)
#undef MEDSHIM__NAME
  }
  return "MEDSHIM_UNKNOWN";
}

void medshim__vfmt(char *buf, size_t size, const char *fmt, va_list ap) {
  int n;
  if (buf == NULL || size == 0)
    return;
  n = vsnprintf(buf, size, fmt, ap);
  if (n < 0)
    buf[0] = '\0';
  else if ((size_t)n >= size) /* cut: never in the middle of a character */
    buf[medshim__utf8_cut(buf, size - 1)] = '\0';
}

void medshim__fmt(char *buf, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  medshim__vfmt(buf, size, fmt, ap);
  va_end(ap);
}

/* The calling thread's last error: each thread has its own, so threads
 * sharing a handle never read each other's. Replaced by failures only. */
static _Thread_local medshim_error last_error;

const medshim_error *medshim_last_error(void) { return &last_error; }

void medshim_last_error_clear(void) { memset(&last_error, 0, sizeof last_error); }

int medshim__last_set(int code, const char *where, const char *text) {
  last_error.code = code;
  medshim__fmt(last_error.where, sizeof last_error.where, "%s", where ? where : "");
  medshim__fmt(last_error.text, sizeof last_error.text, "%s",
               text && *text ? text : medshim_strerror(code));
  return code;
}

int medshim_last_error_set(int code, const char *where, const char *text) {
  return medshim__last_set(code, where, text);
}

int medshim__fail(int code, const char *where) {
  return medshim__last_set(code, where, NULL);
}

int medshim__error_set(medshim_error *err, int code, const char *where,
                       const char *fmt, ...) {
  va_list ap;
  medshim_error e;
  e.code = code;
  medshim__fmt(e.where, sizeof e.where, "%s", where ? where : "");
  va_start(ap, fmt);
  medshim__vfmt(e.text, sizeof e.text, fmt, ap);
  va_end(ap);
  (void)medshim__last_set(code, e.where, e.text);
  if (err != NULL)
    *err = e;
  return code;
}
