/* UTF-8 to GBK for `--encoding gbk`, one file per system: glibc iconv on
 * Unix (csv_gbk_iconv.c), code page 936 on Windows (csv_gbk_win.c). */
#ifndef MEDSHIM_CSV_GBK_H
#define MEDSHIM_CSV_GBK_H

#include <stddef.h>

typedef struct csv_gbk csv_gbk;

/* NULL when the system has no GBK converter. */
csv_gbk *csv_gbk_open(void);

/* Convert @p n bytes of UTF-8, handing the GBK bytes to put() (in pieces).
 * 0; -1 at a character GBK lacks or a cut one (what came before it may
 * have been put). */
int csv_gbk_convert(csv_gbk *g, const char *s, size_t n,
                    void (*put)(void *payload, const char *s, size_t n),
                    void *payload);

void csv_gbk_close(csv_gbk *g);

#endif
