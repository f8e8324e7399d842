/* csv_gbk.h with iconv. */
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>

#include "csv_gbk.h"

struct csv_gbk {
  iconv_t cd;
};

csv_gbk *csv_gbk_open(void) {
  csv_gbk *g = malloc(sizeof *g);
  if (g == NULL)
    return NULL;
  if ((g->cd = iconv_open("GBK", "UTF-8")) == (iconv_t)-1) {
    free(g);
    return NULL;
  }
  return g;
}

int csv_gbk_convert(csv_gbk *g, const char *s, size_t n,
                    void (*put)(void *payload, const char *s, size_t n),
                    void *payload) {
  char out[256];
  char *in = (char *)s; /* iconv's prototype takes char **; it only reads */
  size_t left = n;
  iconv(g->cd, NULL, NULL, NULL, NULL);
  while (left > 0) {
    char *o = out;
    size_t room = sizeof out;
    size_t r = iconv(g->cd, &in, &left, &o, &room);
    put(payload, out, (size_t)(o - out));
    if (r == (size_t)-1 && errno != E2BIG)
      return -1; /* EILSEQ: a character GBK lacks; EINVAL: a cut one */
  }
  return 0;
}

void csv_gbk_close(csv_gbk *g) {
  if (g == NULL)
    return;
  iconv_close(g->cd);
  free(g);
}
