/* GBK characters through Windows code page 936 (gbk_internal.h). */
#include <stdlib.h>
#include <windows.h>

#include "gbk_internal.h"

#define CP_GBK 936

struct medshim__gbk {
  int unused; /* the code page functions keep no state */
};

medshim__gbk *medshim__gbk_new(void) {
  CPINFO info;
  if (!GetCPInfo(CP_GBK, &info))
    return NULL; /* code page 936 not installed */
  return calloc(1, sizeof(medshim__gbk));
}

void medshim__gbk_free(medshim__gbk *g) { free(g); }

size_t medshim__gbk_decode_char(medshim__gbk *g, const unsigned char *p,
                                size_t n, uint32_t *cp) {
  WCHAR w[2];
  size_t want = IsDBCSLeadByteEx(CP_GBK, p[0]) ? 2 : 1;
  (void)g;
  if (n < want ||
      MultiByteToWideChar(CP_GBK, MB_ERR_INVALID_CHARS, (LPCCH)p, (int)want, w,
                          2) != 1)
    return 0;
  *cp = w[0];
  return want;
}

size_t medshim__gbk_encode_char(medshim__gbk *g, uint32_t cp,
                                unsigned char out[2]) {
  WCHAR w = (WCHAR)cp;
  BOOL defaulted = FALSE;
  int n;
  (void)g;
  if (cp >= 0x10000 || (cp >= 0xd800 && cp <= 0xdfff))
    return 0; /* GBK has nothing beyond the BMP */
  n = WideCharToMultiByte(CP_GBK, WC_NO_BEST_FIT_CHARS, &w, 1, (LPSTR)out, 2,
                          NULL, &defaulted);
  return n <= 0 || defaulted ? 0 : (size_t)n;
}
