/* Wiping key material: OPENSSL_cleanse cannot be optimised away. */
#ifndef MEDSHIM_MEMORY_INTERNAL_H
#define MEDSHIM_MEMORY_INTERNAL_H

#include <stddef.h>

void medshim__wipe(void *ptr, size_t len);

#endif
