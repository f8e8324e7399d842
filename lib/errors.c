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

int medshim__error_set(medshim_error *err, int code, const char *where,
                       const char *fmt, ...) {
  va_list ap;
  if (err == NULL)
    return code;
  err->code = code;
  medshim__fmt(err->where, sizeof err->where, "%s", where ? where : "");
  va_start(ap, fmt);
  medshim__vfmt(err->text, sizeof err->text, fmt, ap);
  va_end(ap);
  return code;
}
