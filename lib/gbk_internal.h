/* GBK (Windows code page 936) for ANSI Windows hosts, which pass and
 * expect text in it: whole texts converted character by character, so that
 * a character GBK lacks is known exactly. The per-character conversion is
 * the system's (gbk_iconv.c: glibc iconv; gbk_win.c: the Win32 code page
 * functions); the rest is gbk.c. */
#ifndef MEDSHIM_GBK_INTERNAL_H
#define MEDSHIM_GBK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* A converter; not shared between threads. NULL when out of memory or the
 * system has no GBK. */
typedef struct medshim__gbk medshim__gbk;
medshim__gbk *medshim__gbk_new(void);
void medshim__gbk_free(medshim__gbk *g);
/* The GBK character at p[0..n) (1 or 2 bytes) as a code point: bytes used,
 * 0 when they are not a GBK character. */
size_t medshim__gbk_decode_char(medshim__gbk *g, const unsigned char *p,
                                size_t n, uint32_t *cp);
/* cp in GBK: 1 or 2 bytes written to out, 0 when GBK has no such
 * character (no best-fit substitutes). */
size_t medshim__gbk_encode_char(medshim__gbk *g, uint32_t cp,
                                unsigned char out[2]);

/* A GBK text as UTF-8: *out malloc'ed, NUL-terminated. MEDSHIM_OK;
 * MEDSHIM_EPARSE with *bad the byte offset of the first byte that is not
 * GBK; MEDSHIM_ENOMEM. */
int medshim__gbk_to_utf8(char **out, const char *in, size_t len, size_t *bad);
/* A UTF-8 JSON text as GBK: *out malloc'ed, NUL-terminated. A character
 * GBK lacks (a rare name character, an emoji) becomes a \uXXXX escape, so
 * nothing is lost: in JSON such characters occur only inside strings.
 * MEDSHIM_OK; MEDSHIM_EPARSE (in is not UTF-8); MEDSHIM_ENOMEM. */
int medshim__utf8_json_to_gbk(char **out, const char *in, size_t len);

#endif
