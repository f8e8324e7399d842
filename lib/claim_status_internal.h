/* Binary encoding of a claim's status (the body of a status record). */
#ifndef MEDSHIM_CLAIM_STATUS_INTERNAL_H
#define MEDSHIM_CLAIM_STATUS_INTERNAL_H

#include <stddef.h>

#include "medshim/journal.h"
#include "medshim/replay.h"

/* Bytes of one encoded step, at most. */
#define MEDSHIM__STEP_MAX_BYTES 400
/* Upper bound of an encoding's size: the status and a full step log. */
#define MEDSHIM__STATUS_MAX_BYTES (1024 + MEDSHIM_STEPS_MAX * MEDSHIM__STEP_MAX_BYTES)

/* Encode into buf (at least MEDSHIM__STATUS_MAX_BYTES) with the claim's
 * step log; returns the length, or 0 when the status or a step is invalid
 * (unknown state, overlong strings, more than MEDSHIM_STEPS_MAX steps). */
size_t medshim__status_encode(unsigned char *buf, const medshim_claim_status *st,
                              const medshim_step *steps, size_t nsteps);
/* Decode the status and, when steps is not NULL, up to cap steps (*nsteps
 * gets the number stored). Version 1 bodies have no step log.
 * MEDSHIM_OK or MEDSHIM_ECORRUPT. */
int medshim__status_decode(medshim_claim_status *st, medshim_step *steps,
                           size_t cap, size_t *nsteps,
                           const unsigned char *buf, size_t len);

#endif
