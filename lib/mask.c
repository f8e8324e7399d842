/* Masking names and ID numbers by characters, not bytes: a Chinese
 * character is three bytes, and a cut through one makes the whole text
 * invalid UTF-8. */
#include <string.h>

#include "errors_internal.h"
#include "mask_internal.h"
#include "medshim/mask.h"
#include "utf8_internal.h"

/* Length of the UTF-8 character starting with byte c (input validated). */
static size_t char_len(unsigned char c) {
  return c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : 4;
}

int medshim__mask_keep(char *out, size_t size, const char *in, size_t head,
                       size_t tail) {
  size_t n, chars = 0, i, k, o = 0;
  if (out != NULL && size > 0)
    out[0] = '\0';
  if (out == NULL || in == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  n = strlen(in);
  if (medshim__utf8_valid_prefix(in, n) != n)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  for (i = 0; i < n; i += char_len((unsigned char)in[i]))
    chars++;
  for (i = 0, k = 0; i < n; k++) {
    size_t len = char_len((unsigned char)in[i]);
    int keep = chars > head + tail && (k < head || k >= chars - tail);
    size_t w = keep ? len : 1;
    if (o + w + 1 > size) {
      if (size > 0)
        out[0] = '\0';
      return MEDSHIM__FAIL(MEDSHIM_ERANGE);
    }
    if (keep)
      memcpy(out + o, in + i, len);
    else
      out[o] = '*';
    o += w;
    i += len;
  }
  if (size == 0)
    return MEDSHIM__FAIL(MEDSHIM_ERANGE);
  out[o] = '\0';
  return MEDSHIM_OK;
}

int medshim_mask_name(char *out, size_t size, const char *name) {
  /* the first character of two or more; a one-character name whole */
  return medshim__mask_keep(out, size, name, 1, 0);
}

int medshim_mask_id(char *out, size_t size, const char *id_no) {
  return medshim__mask_keep(out, size, id_no, 3, 2);
}
