/* Verification of a record chain (journal_verify.c), shared with the
 * replay lane's. */
#ifndef MEDSHIM_JOURNAL_VERIFY_INTERNAL_H
#define MEDSHIM_JOURNAL_VERIFY_INTERNAL_H

#include "journal_scan_internal.h"
#include "medshim/journal.h"

/* Check one chain in dir: its checkpoint, then scan (keys, crypto,
 * scratch, fn set by the caller; dir and checkpoint filled in here). Fills
 * report (segments, records, damage or torn tail) with texts that begin
 * with the lane's name. scan->segs is left to the caller to free. */
int medshim__verify_chain(const char *dir, medshim__jscan *scan,
                          medshim_verify_report *report, const char *lane);

/* The suite of the journal in dir (MEDSHIM_JOURNAL_SUITE_*), from its
 * keyring unwrapped with the key in opts, so the answer is authentic; the
 * journal is not scanned. The keyring's codes (MEDSHIM_ENOTFOUND,
 * MEDSHIM_EKEY, MEDSHIM_EFORMAT, ...). */
int medshim__journal_suite_of(const char *dir,
                              const medshim_journal_options *opts,
                              unsigned *suite, medshim_error *err);

#endif
