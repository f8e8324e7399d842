/* Opening a handle (journal_open.c): what the replay lane's handle shares
 * with the journal's own. */
#ifndef MEDSHIM_JOURNAL_OPEN_INTERNAL_H
#define MEDSHIM_JOURNAL_OPEN_INTERNAL_H

#include "journal_handle_internal.h"
#include "journal_scan_internal.h"
#include "medshim/errors.h"

/* Normalise caller options of any known version (1: no `suite`) into
 * *dst of the current version; -1 for NULL or an unknown version. */
int medshim__journal_options_read(medshim_journal_options *dst,
                                  const medshim_journal_options *src);
/* Take the writer lock of j->dir (flock on LOCK). MEDSHIM_EBUSY if held. */
int medshim__journal_lock(medshim_journal *j, medshim_error *err);
/* Load the record chain of j->dir into j: read the checkpoint (a writer
 * creates it for an empty chain), run scan (dir, keys, crypto, scratch
 * and checkpoint are filled in here; the caller sets fn, payload and the
 * want_* flags), trim a torn tail (writers), install segments, next
 * sequence and running hash. Damage: MEDSHIM_ECORRUPT with scan->report. */
int medshim__journal_load(medshim_journal *j, medshim__jscan *scan,
                          medshim_error *err);
/* medshim_journal_close() that also says why it failed (err may be NULL):
 * the handle, and so its errmsg, is gone when it returns. */
int medshim__journal_close_err(medshim_journal *j, medshim_error *err);

#endif
