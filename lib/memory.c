/* Freeing what the library hands out, and wiping secrets. */
#include <stdlib.h>

#include <openssl/crypto.h>

#include "memory_internal.h"
#include "medshim/memory.h"

void medshim_free(void *ptr) { free(ptr); }

void medshim__wipe(void *ptr, size_t len) {
  if (ptr != NULL && len > 0)
    OPENSSL_cleanse(ptr, len);
}
