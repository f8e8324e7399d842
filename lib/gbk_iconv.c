/* GBK characters through glibc's iconv (gbk_internal.h). */
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>

#include "gbk_internal.h"

struct medshim__gbk {
  iconv_t from; /* GBK -> UTF-32LE */
  iconv_t to;   /* UTF-32LE -> GBK */
};

medshim__gbk *medshim__gbk_new(void) {
  medshim__gbk *g = malloc(sizeof *g);
  if (g == NULL)
    return NULL;
  g->from = iconv_open("UTF-32LE", "GBK");
  g->to = iconv_open("GBK", "UTF-32LE");
  if (g->from == (iconv_t)-1 || g->to == (iconv_t)-1) {
    medshim__gbk_free(g);
    return NULL;
  }
  return g;
}

void medshim__gbk_free(medshim__gbk *g) {
  if (g == NULL)
    return;
  if (g->from != (iconv_t)-1)
    iconv_close(g->from);
  if (g->to != (iconv_t)-1)
    iconv_close(g->to);
  free(g);
}

size_t medshim__gbk_decode_char(medshim__gbk *g, const unsigned char *p,
                                size_t n, uint32_t *cp) {
  unsigned char u[4];
  /* a lead byte (0x81..0xfe) takes a second byte; others stand alone */
  size_t want = p[0] >= 0x81 && p[0] <= 0xfe ? 2 : 1;
  char *in = (char *)(uintptr_t)p, *o = (char *)u;
  size_t left = want, room = sizeof u;
  if (n < want)
    return 0;
  iconv(g->from, NULL, NULL, NULL, NULL);
  if (iconv(g->from, &in, &left, &o, &room) == (size_t)-1 || left != 0 ||
      room != 0)
    return 0;
  *cp = (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 |
        (uint32_t)u[3] << 24;
  return want;
}

size_t medshim__gbk_encode_char(medshim__gbk *g, uint32_t cp,
                                unsigned char out[2]) {
  unsigned char u[4] = {(unsigned char)cp, (unsigned char)(cp >> 8),
                        (unsigned char)(cp >> 16), (unsigned char)(cp >> 24)};
  char *in = (char *)u, *o = (char *)out;
  size_t left = sizeof u, room = 2;
  iconv(g->to, NULL, NULL, NULL, NULL);
  if (iconv(g->to, &in, &left, &o, &room) == (size_t)-1 || left != 0)
    return 0;
  return 2 - room;
}
