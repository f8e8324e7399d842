/**
 * @file memory.h
 * @brief Freeing what the library hands out, shared by every module.
 *
 * Thread safety: medshim_free() may be called from any thread, on memory
 * no other thread uses.
 *
 * Strings and buffers a function returns through an out parameter (for
 * example medshim_claim_to_json(), medshim_schedule_sign()) are freed
 * with medshim_free(); handles have a free function of their own.
 */
#ifndef MEDSHIM_MEMORY_H
#define MEDSHIM_MEMORY_H

#include "medshim/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Free memory the library returned (strings from *_to_json etc.); NULL ok. */
MEDSHIM_API void medshim_free(void *ptr);

#ifdef __cplusplus
}
#endif

#endif
