/**
 * @file money.h
 * @brief Exact conversion between integer fen and the decimal yuan strings
 *        the platform and the finance office use.
 *
 * Thread safety: every function here may be called from any thread at
 * once; they read only their arguments.
 *
 * The library counts money in fen (1 yuan = 100 fen) in int64_t, never in
 * floating point; these two functions are the edge where text in yuan
 * ("12.34") comes in and goes out.
 */
#ifndef MEDSHIM_MONEY_H
#define MEDSHIM_MONEY_H

#include <stddef.h>
#include <stdint.h>

#include "medshim/errors.h"
#include "medshim/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Size of a buffer that holds any amount: "-92233720368547758.08". */
#define MEDSHIM_YUAN_TEXT 24

/**
 * Format fen as yuan with exactly two decimals: 1234 -> "12.34",
 * -5 -> "-0.05", 0 -> "0.00", INT64_MIN -> "-92233720368547758.08".
 * @param[out] out the text, NUL-terminated; MEDSHIM_YUAN_TEXT bytes always
 *        suffice
 * @param[in] size bytes at @p out
 * @return MEDSHIM_OK; MEDSHIM_EINVAL (NULL out); MEDSHIM_ERANGE (@p size
 *         too small: nothing usable written, out[0] is NUL when size > 0).
 */
MEDSHIM_API int medshim_fen_to_yuan(char *out, size_t size, int64_t fen);

/**
 * Parse a yuan amount exactly: an optional '-', one or more digits, and
 * optionally '.' with one or two digits ("12.34", "12.3", "12", "-0.05").
 * Anything else is refused, never rounded or guessed: "1.234" (a third
 * decimal), "1e3", " 12", "12 ", "+12", ".5", "12.", "", and amounts
 * beyond int64_t fen.
 * @param[out] out the amount in fen; untouched on failure
 * @param[in] text NUL-terminated
 * @param[out] err on failure: where "yuan", text what is wrong (the amount
 *        itself is not repeated); may be NULL
 * @return MEDSHIM_OK; MEDSHIM_EINVAL (NULL, malformed); MEDSHIM_ERANGE
 *         (overflow).
 */
MEDSHIM_API int medshim_yuan_to_fen(int64_t *out, const char *text,
                                    medshim_error *err);

#ifdef __cplusplus
}
#endif
#endif /* MEDSHIM_MONEY_H */
