/* UTF-8: boundaries for texts cut to a fixed size, and characters one by
 * one. */
#include <string.h>

#include "utf8_internal.h"

/* Bytes in the sequence a lead byte starts; 0 for a byte that cannot start
 * one (a continuation byte or 0xf8..0xff). */
static size_t seq_len(unsigned char c) {
  if (c < 0x80)
    return 1;
  if ((c & 0xe0) == 0xc0)
    return 2;
  if ((c & 0xf0) == 0xe0)
    return 3;
  if ((c & 0xf8) == 0xf0)
    return 4;
  return 0;
}

size_t medshim__utf8_cut(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  size_t k = len, need;
  /* back over at most three continuation bytes to the last lead byte */
  while (k > 0 && len - k < 3 && (p[k - 1] & 0xc0) == 0x80)
    k--;
  if (k == 0)
    return len;
  need = seq_len(p[k - 1]);
  if (need > 1 && len - (k - 1) < need)
    return k - 1; /* the last character lost its tail: drop its head too */
  return len;
}

size_t medshim__utf8_next(const char *s, size_t len, uint32_t *cp) {
  const unsigned char *p = (const unsigned char *)s;
  size_t n;
  uint32_t c;
  if (len == 0 || (n = seq_len(p[0])) == 0 || n > len)
    return 0;
  if (n == 1) {
    *cp = p[0];
    return 1;
  }
  c = p[0] & (0x7fu >> n);
  for (size_t k = 1; k < n; k++) {
    if ((p[k] & 0xc0) != 0x80)
      return 0;
    c = (c << 6) | (p[k] & 0x3fu);
  }
  if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) ||
      (n == 4 && c < 0x10000) || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
    return 0;
  *cp = c;
  return n;
}

size_t medshim__utf8_put(uint32_t cp, char out[4]) {
  unsigned char *o = (unsigned char *)out;
  if (cp < 0x80) {
    o[0] = (unsigned char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (unsigned char)(0xc0 | (cp >> 6));
    o[1] = (unsigned char)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    if (cp >= 0xd800 && cp <= 0xdfff)
      return 0;
    o[0] = (unsigned char)(0xe0 | (cp >> 12));
    o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    o[2] = (unsigned char)(0x80 | (cp & 0x3f));
    return 3;
  }
  if (cp > 0x10ffff)
    return 0;
  o[0] = (unsigned char)(0xf0 | (cp >> 18));
  o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
  o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
  o[3] = (unsigned char)(0x80 | (cp & 0x3f));
  return 4;
}

size_t medshim__utf8_valid_prefix(const char *s, size_t len) {
  size_t i = 0;
  uint32_t cp;
  while (i < len) {
    size_t n = medshim__utf8_next(s + i, len - i, &cp);
    if (n == 0)
      return i;
    i += n;
  }
  return len;
}
