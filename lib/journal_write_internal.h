/* Writing records (journal_write.c): what closing a handle and the replay
 * path need of it. */
#ifndef MEDSHIM_JOURNAL_WRITE_INTERNAL_H
#define MEDSHIM_JOURNAL_WRITE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "journal_handle_internal.h"
#include "medshim/replay.h"

/* Write the n bytes staged in j->wbuf, then wait until every record up to
 * target is durable (target 0: only write), sharing fdatasyncs with other
 * threads (group commit). j->mu held (released while syncing). */
int medshim__journal_commit(medshim_journal *j, size_t staged,
                            uint64_t target);
/* Leave the current segment: make it durable and give back the space
 * allocated beyond its records. j->mu held, no sync in flight. */
int medshim__journal_finish_segment(medshim_journal *j);

/* medshim_journal_set_status(), optionally without waiting for the sync:
 * the record is written and becomes durable with the next sync. Used by
 * replay for outcomes, whose loss in a crash only means one more query. */
int medshim__journal_set_status(medshim_journal *j, const char *visit_id,
                                const medshim_claim_status *status,
                                const medshim_step *steps, size_t nsteps,
                                int sync);

#endif
