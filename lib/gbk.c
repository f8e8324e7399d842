/* GBK texts to UTF-8 and back, one character at a time through the
 * system's converter (gbk_internal.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors_internal.h"
#include "gbk_internal.h"
#include "utf8_internal.h"

/* A growing output buffer. */
typedef struct buf {
  char *p;
  size_t len, cap;
} buf;

static int put(buf *b, const void *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    char *p;
    while (cap < b->len + n + 1)
      cap *= 2;
    if ((p = realloc(b->p, cap)) == NULL)
      return -1;
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
  return 0;
}

static int finish(char **out, buf *b, medshim__gbk *g, int rc) {
  medshim__gbk_free(g);
  if (rc == MEDSHIM_OK && b->p == NULL && put(b, "", 0) != 0)
    rc = MEDSHIM_ENOMEM;
  if (rc != MEDSHIM_OK) {
    free(b->p);
    b->p = NULL;
  }
  *out = b->p;
  return rc;
}

int medshim__gbk_to_utf8(char **out, const char *in, size_t len, size_t *bad) {
  const unsigned char *p = (const unsigned char *)in;
  medshim__gbk *g = medshim__gbk_new();
  buf b = {NULL, 0, 0};
  size_t i = 0;
  *out = NULL;
  if (g == NULL)
    return MEDSHIM_ENOMEM;
  while (i < len) {
    size_t start = i;
    /* ASCII runs as they are: GBK is ASCII below 0x80 */
    while (i < len && p[i] < 0x80)
      i++;
    if (i > start && put(&b, p + start, i - start) != 0)
      return finish(out, &b, g, MEDSHIM_ENOMEM);
    if (i < len) {
      uint32_t cp;
      char u[4];
      size_t n = medshim__gbk_decode_char(g, p + i, len - i, &cp), k;
      if (n == 0 || (k = medshim__utf8_put(cp, u)) == 0) {
        if (bad != NULL)
          *bad = i;
        return finish(out, &b, g, MEDSHIM_EPARSE);
      }
      if (put(&b, u, k) != 0)
        return finish(out, &b, g, MEDSHIM_ENOMEM);
      i += n;
    }
  }
  return finish(out, &b, g, MEDSHIM_OK);
}

int medshim__utf8_json_to_gbk(char **out, const char *in, size_t len) {
  medshim__gbk *g = medshim__gbk_new();
  buf b = {NULL, 0, 0};
  size_t i = 0;
  *out = NULL;
  if (g == NULL)
    return MEDSHIM_ENOMEM;
  while (i < len) {
    size_t start = i;
    while (i < len && (unsigned char)in[i] < 0x80)
      i++;
    if (i > start && put(&b, in + start, i - start) != 0)
      return finish(out, &b, g, MEDSHIM_ENOMEM);
    if (i < len) {
      uint32_t cp;
      unsigned char o[2];
      size_t n = medshim__utf8_next(in + i, len - i, &cp), k;
      if (n == 0)
        return finish(out, &b, g, MEDSHIM_EPARSE);
      if ((k = medshim__gbk_encode_char(g, cp, o)) > 0) {
        if (put(&b, o, k) != 0)
          return finish(out, &b, g, MEDSHIM_ENOMEM);
      } else {
        char esc[16];
        int m;
        if (cp >= 0x10000) /* a surrogate pair, as JSON writes one */
          m = snprintf(esc, sizeof esc, "\\u%04x\\u%04x",
                       (unsigned)(0xd800 + ((cp - 0x10000) >> 10)),
                       (unsigned)(0xdc00 + ((cp - 0x10000) & 0x3ff)));
        else
          m = snprintf(esc, sizeof esc, "\\u%04x", (unsigned)cp);
        if (put(&b, esc, (size_t)m) != 0)
          return finish(out, &b, g, MEDSHIM_ENOMEM);
      }
      i += n;
    }
  }
  return finish(out, &b, g, MEDSHIM_OK);
}
