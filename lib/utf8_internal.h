/* Cutting texts without splitting a UTF-8 character: error texts, paths and
 * stored messages are cut to fixed sizes, and a cut in the middle of a
 * character makes the whole text invalid (jansson then refuses it). */
#ifndef MEDSHIM_UTF8_INTERNAL_H
#define MEDSHIM_UTF8_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* s[0..len) is what is left of a text cut at len bytes: the length of its
 * longest prefix that does not end inside a multi-byte character. */
size_t medshim__utf8_cut(const char *s, size_t len);
/* Length of the longest prefix of s[0..len) that is valid UTF-8 (no
 * overlong forms, surrogates or values past U+10FFFF). */
size_t medshim__utf8_valid_prefix(const char *s, size_t len);

/* The character at s[0..len): its length in bytes with *cp set, or 0 when
 * the bytes there are not one valid UTF-8 character. */
size_t medshim__utf8_next(const char *s, size_t len, uint32_t *cp);
/* cp as UTF-8 in out: 1 to 4 bytes, or 0 for a surrogate or past U+10FFFF. */
size_t medshim__utf8_put(uint32_t cp, char out[4]);

#endif
