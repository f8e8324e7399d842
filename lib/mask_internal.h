/* The one masking rule behind medshim_mask_name(), medshim_mask_id() and
 * the claim's masked JSON. */
#ifndef MEDSHIM_MASK_INTERNAL_H
#define MEDSHIM_MASK_INTERNAL_H

#include <stddef.h>

/* Keep the first `head` and the last `tail` UTF-8 characters of in, one
 * '*' for each other; all '*' when in has no more than head + tail
 * characters. MEDSHIM_OK, MEDSHIM_EINVAL (NULL, invalid UTF-8) or
 * MEDSHIM_ERANGE (size < strlen(in) + 1 is enough only when it fits). */
int medshim__mask_keep(char *out, size_t size, const char *in, size_t head,
                       size_t tail);

#endif
