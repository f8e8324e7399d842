/* Binary encoding of a claim's status (the body of a status record). */
#ifndef MEDSHIM_CLAIM_STATUS_INTERNAL_H
#define MEDSHIM_CLAIM_STATUS_INTERNAL_H

#include <stddef.h>

#include "medshim/journal.h"

/* Upper bound of an encoding's size. */
#define MEDSHIM__STATUS_MAX_BYTES 512

/* Encode into buf (at least MEDSHIM__STATUS_MAX_BYTES); returns the length,
 * or 0 when the status is invalid (unknown state, overlong strings). */
size_t medshim__status_encode(unsigned char *buf, const medshim_claim_status *st);
/* Decode; MEDSHIM_OK or MEDSHIM_ECORRUPT. */
int medshim__status_decode(medshim_claim_status *st, const unsigned char *buf,
                           size_t len);

#endif
