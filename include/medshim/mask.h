/**
 * @file mask.h
 * @brief Masking personal data for a host's own logs, by the rules the
 *        library uses in its own masked output (medshim_claim_to_json()).
 *
 * Thread safety: every function here may be called from any thread at
 * once; they read only their arguments.
 *
 * A masked text never grows: a buffer of strlen(input) + 1 bytes always
 * suffices. Characters are UTF-8 characters, not bytes: "张三丰" is three.
 */
#ifndef MEDSHIM_MASK_H
#define MEDSHIM_MASK_H

#include <stddef.h>

#include "medshim/errors.h"
#include "medshim/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Mask a name: the first character kept, one '*' for each further one
 * ("张三丰" -> "张**", "Li Lei" -> "L*****"); a name of one character
 * becomes "*".
 * @param[out] out NUL-terminated; on failure out[0] is NUL (size > 0)
 * @param[in] size bytes at @p out; strlen(name) + 1 always suffices
 * @return MEDSHIM_OK; MEDSHIM_EINVAL (NULL, not valid UTF-8);
 *         MEDSHIM_ERANGE (@p size too small).
 */
MEDSHIM_API int medshim_mask_name(char *out, size_t size, const char *name);

/**
 * Mask an ID number (居民身份证号 or another certificate number): the
 * first 3 and the last 2 characters kept, every other one '*'
 * ("330102198001011234" -> "330*************34"); 5 characters or fewer
 * are masked whole. Three digits name a prefecture, not a person; the last
 * two let a person check it is their number.
 * @param[out] out NUL-terminated; on failure out[0] is NUL (size > 0)
 * @param[in] size bytes at @p out; strlen(id_no) + 1 always suffices
 * @return MEDSHIM_OK; MEDSHIM_EINVAL (NULL, not valid UTF-8);
 *         MEDSHIM_ERANGE (@p size too small).
 */
MEDSHIM_API int medshim_mask_id(char *out, size_t size, const char *id_no);

#ifdef __cplusplus
}
#endif
#endif /* MEDSHIM_MASK_H */
