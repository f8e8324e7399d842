/* Fen to yuan text and back, exactly, in integers only: a double cannot
 * hold 0.1 yuan, and an amount the platform sends must come back to the
 * same fen. */
#include <stdio.h>
#include <string.h>

#include "errors_internal.h"
#include "medshim/money.h"

int medshim_fen_to_yuan(char *out, size_t size, int64_t fen) {
  /* the magnitude in unsigned arithmetic: -INT64_MIN does not fit int64_t */
  uint64_t mag = fen < 0 ? (uint64_t)(-(fen + 1)) + 1u : (uint64_t)fen;
  int n;
  if (out == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  if (size == 0)
    return MEDSHIM__FAIL(MEDSHIM_ERANGE);
  n = snprintf(out, size, "%s%llu.%02u", fen < 0 ? "-" : "",
               (unsigned long long)(mag / 100u), (unsigned)(mag % 100u));
  if (n < 0 || (size_t)n >= size) {
    out[0] = '\0';
    return MEDSHIM__FAIL(MEDSHIM_ERANGE);
  }
  return MEDSHIM_OK;
}

static int refuse(medshim_error *err, int code, const char *why) {
  if (err != NULL) {
    memset(err, 0, sizeof *err);
    err->code = code;
    snprintf(err->where, sizeof err->where, "yuan");
    snprintf(err->text, sizeof err->text, "%s", why);
  }
  return code;
}

static int digit(char c) { return c >= '0' && c <= '9'; }

int medshim_yuan_to_fen(int64_t *out, const char *text, medshim_error *err) {
  const char *p = text;
  int neg = 0, decimals = 0;
  uint64_t mag = 0, limit;
  if (out == NULL || text == NULL)
    return refuse(err, MEDSHIM_EINVAL, "must not be NULL");
  if (*p == '-') {
    neg = 1;
    p++;
  }
  if (!digit(*p))
    return refuse(err, MEDSHIM_EINVAL,
                  *text == '\0' ? "empty: an amount in yuan such as 12.34 is expected"
                                : "must start with a digit or '-' and a digit "
                                  "(no spaces, no '+', no exponent)");
  /* the largest magnitude in fen: INT64_MAX, or one more when negative */
  limit = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
  for (; digit(*p); p++) {
    uint64_t d = (uint64_t)(*p - '0');
    if (mag > (limit - d) / 10u)
      return refuse(err, MEDSHIM_ERANGE, "too large for an amount in fen");
    mag = mag * 10u + d;
  }
  if (*p == '.') {
    p++;
    for (; digit(*p); p++) {
      uint64_t d = (uint64_t)(*p - '0');
      if (++decimals > 2)
        return refuse(err, MEDSHIM_EINVAL,
                      "more than two decimals: fen are the smallest unit");
      if (mag > (limit - d) / 10u)
        return refuse(err, MEDSHIM_ERANGE, "too large for an amount in fen");
      mag = mag * 10u + d;
    }
    if (decimals == 0)
      return refuse(err, MEDSHIM_EINVAL, "a '.' must be followed by one or two digits");
  }
  if (*p != '\0')
    return refuse(err, MEDSHIM_EINVAL,
                  "unexpected character after the amount (no spaces, no "
                  "exponent, no currency sign)");
  /* scale to fen: "12" and "12.3" are 1200 and 1230 */
  for (; decimals < 2; decimals++) {
    if (mag > limit / 10u)
      return refuse(err, MEDSHIM_ERANGE, "too large for an amount in fen");
    mag *= 10u;
  }
  if (neg)
    *out = mag == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)mag;
  else
    *out = (int64_t)mag;
  return MEDSHIM_OK;
}
