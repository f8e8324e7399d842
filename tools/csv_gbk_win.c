/* csv_gbk.h on Windows: UTF-8 to UTF-16 to code page 936 (Windows' GBK),
 * refusing what has no exact GBK form rather than writing a best fit or
 * a '?'. */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "csv_gbk.h"

#define CP_GBK 936

struct csv_gbk {
  int unused;
};

csv_gbk *csv_gbk_open(void) {
  if (!IsValidCodePage(CP_GBK))
    return NULL;
  return calloc(1, sizeof(csv_gbk));
}

int csv_gbk_convert(csv_gbk *g, const char *s, size_t n,
                    void (*put)(void *payload, const char *s, size_t n),
                    void *payload) {
  wchar_t *w;
  char *out;
  int nw, no, rc = -1;
  BOOL lossy = FALSE;
  (void)g;
  if (n == 0)
    return 0;
  if (n > INT_MAX / 4)
    return -1;
  nw = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, (int)n, NULL, 0);
  if (nw <= 0 || (w = malloc((size_t)nw * sizeof *w)) == NULL)
    return -1;
  MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, (int)n, w, nw);
  no = WideCharToMultiByte(CP_GBK, WC_NO_BEST_FIT_CHARS, w, nw, NULL, 0, NULL,
                           &lossy);
  if (no > 0 && !lossy && (out = malloc((size_t)no)) != NULL) {
    WideCharToMultiByte(CP_GBK, WC_NO_BEST_FIT_CHARS, w, nw, out, no, NULL,
                        &lossy);
    if (!lossy) {
      put(payload, out, (size_t)no);
      rc = 0;
    }
    memset(out, 0, (size_t)no);
    free(out);
  }
  memset(w, 0, (size_t)nw * sizeof *w);
  free(w);
  return rc;
}

void csv_gbk_close(csv_gbk *g) { free(g); }
