/* What the Windows platform layer (os_win.c) offers Windows-only code
 * beside os.h: the tools' and the tests' process code. */
#ifndef MEDSHIM_OS_WIN_INTERNAL_H
#define MEDSHIM_OS_WIN_INTERNAL_H

#include <wchar.h>

/* UTF-8 to a malloc'ed UTF-16 string (free()); NULL with errno (EINVAL:
 * not UTF-8; ENOMEM). */
wchar_t *medshim__os_widen(const char *s);

#endif
