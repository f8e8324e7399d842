/* Memory for key material: page-aligned, locked in RAM (not swapped) when
 * RLIMIT_MEMLOCK allows, left out of core dumps (MADV_DONTDUMP), wiped
 * before it is given back. */
#ifndef MEDSHIM_SECMEM_INTERNAL_H
#define MEDSHIM_SECMEM_INTERNAL_H

#include <stddef.h>

/* size bytes, zeroed, on pages of their own; NULL when out of memory. If
 * mlock fails (RLIMIT_MEMLOCK) the pages are still kept out of dumps. */
void *medshim__secmem_alloc(size_t size);
/* Wipe, unlock and unmap what medshim__secmem_alloc(size) returned. NULL
 * is a no-op. */
void medshim__secmem_free(void *p, size_t size);

/* An array of count elements of size bytes in such memory (zeroed), that
 * remembers its own size: for tables holding keys (segment keys). NULL
 * when out of memory or on overflow. */
void *medshim__secmem_array(size_t count, size_t size);
/* Wipe and give back what medshim__secmem_array() returned. NULL: no-op. */
void medshim__secmem_array_free(void *p);

#endif
