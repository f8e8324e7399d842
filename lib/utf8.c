/* UTF-8 boundaries for texts cut to a fixed size. */
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

size_t medshim__utf8_valid_prefix(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < len) {
    size_t n = seq_len(p[i]);
    unsigned cp;
    if (n == 0 || i + n > len)
      return i;
    if (n == 1) {
      i++;
      continue;
    }
    cp = p[i] & (0x7fu >> n);
    for (size_t k = 1; k < n; k++) {
      if ((p[i + k] & 0xc0) != 0x80)
        return i;
      cp = (cp << 6) | (p[i + k] & 0x3fu);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
        (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return i;
    i += n;
  }
  return len;
}
