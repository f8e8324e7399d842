/* The replay lane (journal_lane.c): the chain of status records in
 * dir/replay, a handle of its own under the journal's. */
#ifndef MEDSHIM_JOURNAL_LANE_INTERNAL_H
#define MEDSHIM_JOURNAL_LANE_INTERNAL_H

#include <stddef.h>

#include "journal_handle_internal.h"
#include "journal_index_internal.h"
#include "journal_keys_internal.h"
#include "medshim/replay.h"

/* Open j's replay lane for reading (missing directory: empty lane) and
 * take each claim's status from it where it has one. */
int medshim__lane_open(medshim_journal *j, medshim_error *err);
/* Make j's lane writable: create dir/replay if needed, take its lock (EBUSY:
 * another status writer), scan it again as its writer (trimming a torn
 * tail) and refresh the index. Both j->mu and j->lane->mu held. On failure
 * j->errmsg says why. */
int medshim__lane_acquire(medshim_journal *j);
/* Claim writers: make sure the replay lane exists (its directory and its
 * checkpoint, created under the lane's lock when nobody holds it), so that
 * the main checkpoint can record it. 1 when it exists, 0 when another
 * process is creating it right now, a negative code on failure. */
int medshim__lane_ensure(medshim_journal *j, medshim_error *err);
/* Current status of e from the lane; j->mu held (takes the lane's). */
int medshim__lane_status(medshim_journal *j, const medshim__jentry *e,
                         medshim_claim_status *st, medshim_step *steps,
                         size_t cap_steps, size_t *nsteps, unsigned char **buf,
                         size_t *cap);
/* Verify the replay lane of the journal in dir (absent: nothing to check).
 * claims: the visit_ids of the main lane, to find statuses of deleted
 * claims. Adds to report (segments, records) and, on damage, fills it in
 * with a text that names the lane. */
int medshim__lane_verify(const char *dir, const medshim__jkeys *main_keys,
                         const medshim__jindex *claims, int required,
                         medshim_verify_report *report);

#endif
