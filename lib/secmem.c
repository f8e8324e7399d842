/* Locked, undumpable pages for keys (see the header). */
#include <stdint.h>
#include <string.h>

#include "memory_internal.h"
#include "os.h"
#include "secmem_internal.h"

static size_t span(size_t size) {
  size_t p = medshim__os_page_size();
  if (size == 0)
    size = 1;
  if (size > SIZE_MAX - p)
    return 0;
  return (size + p - 1) / p * p;
}

void *medshim__secmem_alloc(size_t size) {
  size_t len = span(size);
  return len == 0 ? NULL : medshim__os_pages_alloc(len);
}

void medshim__secmem_free(void *p, size_t size) {
  size_t len = span(size);
  if (p == NULL || len == 0)
    return;
  medshim__wipe(p, len);
  medshim__os_pages_free(p, len);
}

/* The array's total size is kept in the 16 bytes before it (16: the
 * alignment of anything the tables hold). */
#define ARRAY_HEADER 16

void *medshim__secmem_array(size_t count, size_t size) {
  unsigned char *p;
  size_t total;
  if (count == 0)
    count = 1;
  if (size != 0 && count > ((size_t)-1 - ARRAY_HEADER) / size)
    return NULL;
  total = ARRAY_HEADER + count * size;
  p = medshim__secmem_alloc(total);
  if (p == NULL)
    return NULL;
  memcpy(p, &total, sizeof total);
  return p + ARRAY_HEADER;
}

void medshim__secmem_array_free(void *a) {
  unsigned char *p;
  size_t total;
  if (a == NULL)
    return;
  p = (unsigned char *)a - ARRAY_HEADER;
  memcpy(&total, p, sizeof total);
  medshim__secmem_free(p, total);
}
