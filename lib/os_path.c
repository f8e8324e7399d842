/* Path helpers of the platform layer (os.h), one copy for every system:
 * Windows accepts '\' beside '/' and keeps a drive's root ("C:\"). */
#include <stdlib.h>
#include <string.h>

#include "os.h"

#ifdef _WIN32
#define IS_SEP(c) ((c) == '/' || (c) == '\\')
#else
#define IS_SEP(c) ((c) == '/')
#endif

char *medshim__os_path_join(const char *dir, const char *name) {
  size_t a = strlen(dir), b = strlen(name);
  char *p = malloc(a + b + 2);
  if (p == NULL)
    return NULL;
  memcpy(p, dir, a);
  p[a] = '/';
  memcpy(p + a + 1, name, b + 1);
  return p;
}

static const char *last_sep(const char *path) {
  const char *sep = NULL;
  for (const char *p = path; *p; p++)
    if (IS_SEP(*p))
      sep = p;
  return sep;
}

char *medshim__os_dirname(const char *path) {
  const char *sep = last_sep(path);
  size_t n;
  char *p;
  if (sep == NULL) {
    p = malloc(2);
    if (p != NULL)
      memcpy(p, ".", 2);
    return p;
  }
  n = sep == path ? 1 : (size_t)(sep - path);
#ifdef _WIN32
  if (n == 2 && path[1] == ':')
    n = 3; /* C:\ */
#endif
  p = malloc(n + 1);
  if (p == NULL)
    return NULL;
  memcpy(p, path, n);
  p[n] = '\0';
  return p;
}

const char *medshim__os_basename(const char *path) {
  const char *sep = last_sep(path);
  return sep != NULL ? sep + 1 : path;
}
