/* Cutting texts without splitting a UTF-8 character: error texts, paths and
 * stored messages are cut to fixed sizes, and a cut in the middle of a
 * character makes the whole text invalid (jansson then refuses it). */
#ifndef MEDSHIM_UTF8_INTERNAL_H
#define MEDSHIM_UTF8_INTERNAL_H

#include <stddef.h>

/* s[0..len) is what is left of a text cut at len bytes: the length of its
 * longest prefix that does not end inside a multi-byte character. */
size_t medshim__utf8_cut(const char *s, size_t len);
/* Length of the longest prefix of s[0..len) that is valid UTF-8 (no
 * overlong forms, surrogates or values past U+10FFFF). */
size_t medshim__utf8_valid_prefix(const char *s, size_t len);

#endif
