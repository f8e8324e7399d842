/* Locked, undumpable pages for keys (see the header). */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "memory_internal.h"
#include "secmem_internal.h"

static size_t span(size_t size) {
  long page = sysconf(_SC_PAGESIZE);
  size_t p = page > 0 ? (size_t)page : 4096;
  if (size == 0)
    size = 1;
  if (size > SIZE_MAX - p)
    return 0;
  return (size + p - 1) / p * p;
}

void *medshim__secmem_alloc(size_t size) {
  size_t len = span(size);
  void *p;
  if (len == 0)
    return NULL;
  p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
           0);
  if (p == MAP_FAILED)
    return NULL;
#ifdef MADV_DONTDUMP
  if (madvise(p, len, MADV_DONTDUMP) != 0) {
    /* A kernel before 3.4: the pages may be dumped. Nothing else to do;
     * the CLI is undumpable anyway, and the guide tells hosts. */
  }
#endif
  if (mlock(p, len) != 0) {
    /* RLIMIT_MEMLOCK reached (64 KiB by default on older systems): the
     * keys may be swapped out, but stay out of core dumps. */
  }
  return p; /* fresh anonymous pages are zero */
}

void medshim__secmem_free(void *p, size_t size) {
  size_t len = span(size);
  if (p == NULL || len == 0)
    return;
  medshim__wipe(p, len);
  if (munlock(p, len) != 0) {
    /* was never locked (see above) */
  }
  if (munmap(p, len) != 0) {
    /* only with a wrong size: the pages are wiped, nothing leaks */
  }
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
