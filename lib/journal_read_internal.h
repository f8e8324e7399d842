/* Reading records through a handle (journal_read.c): what the replay
 * lane and replay need of it. */
#ifndef MEDSHIM_JOURNAL_READ_INTERNAL_H
#define MEDSHIM_JOURNAL_READ_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "journal_handle_internal.h"
#include "journal_record_internal.h"
#include "medshim/replay.h"

/* Read and open the record at (seg_index, off) of j; j's lock held. */
int medshim__journal_read(medshim_journal *j, uint32_t seg_index, uint64_t off,
                          medshim__jrec *rec, unsigned char **buf, size_t *cap);

/* A claim's status with its step log (up to cap steps; *nsteps the number
 * stored). status->seq is the sequence of the latest record about it. */
int medshim__journal_get_steps(medshim_claim_status *status,
                               medshim_step *steps, size_t cap,
                               size_t *nsteps, medshim_journal *j,
                               const char *visit_id);

/* A visit that may keep the claim: setting *claim to NULL takes it over
 * (the caller then frees it with medshim_claim_free). Non-zero stops. */
typedef int (*medshim__journal_take_fn)(medshim_claim **claim,
                                        const medshim_claim_status *status,
                                        void *payload);

/* medshim_journal_foreach(), with claims the visit may keep, so that a
 * caller that works on them later does not read and decrypt them again. */
int medshim__journal_foreach_take(medshim_journal *j,
                                  medshim__journal_take_fn fn, void *payload);

#endif
