/* The scan of a record chain (journal_scan.c): every segment, link and
 * record in order, with the checkpoint's coverage, handing each authentic
 * record to a callback. Open, verify and the walks are built on it. */
#ifndef MEDSHIM_JOURNAL_SCAN_INTERNAL_H
#define MEDSHIM_JOURNAL_SCAN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "journal_checkpoint_internal.h"
#include "journal_crypto_internal.h"
#include "journal_keys_internal.h"
#include "journal_record_internal.h"
#include "journal_segment_internal.h"
#include "medshim/journal.h"

/* Callback of the scan for each authenticated record, in order. Return 0 to
 * go on, a positive value to stop the walk successfully, or a negative
 * medshim code to stop with it. */
typedef int (*medshim__jscan_fn)(void *payload, uint32_t seg_index,
                                 uint64_t offset, const medshim__jrec *rec);

typedef struct medshim__jscan {
  /* inputs */
  const char *dir;
  const medshim__jkeys *keys;
  medshim__jcrypto *crypto;
  medshim__jscratch *scratch;
  int want_claim_body;
  int want_status_body;
  int salvage; /* damage is noted (first in report, counted in skipped) and
                * passed: every record that authenticates is reached */
  int have_checkpoint;
  medshim__jcheckpoint checkpoint;
  medshim__jscan_fn fn;
  void *payload;
  /* outputs */
  medshim__jseg *segs; /* one per segment, caller frees (wipe keys) */
  size_t nsegs;
  uint64_t next_seq;
  unsigned char chain[JF_HASH_BYTES];
  uint64_t records;
  int torn;               /* a torn tail follows the last good record */
  uint64_t torn_offset;   /* in the last segment */
  int torn_segment_empty; /* last segment has no valid header: remove it */
  uint64_t torn_bytes;    /* bytes from torn_offset to the end of the file */
  uint64_t torn_anchor;   /* last record the segment's anchor names (v2) */
  int torn_unused;        /* the "torn" tail is only unused allocated space */
  uint64_t skipped;       /* salvage: damaged places passed */
  medshim_verify_report report; /* damage found (report.damage) */
} medshim__jscan;

/* Walk the whole journal: segments, links, records, checkpoint coverage.
 * MEDSHIM_OK (maybe with scan->torn), MEDSHIM_ECORRUPT with scan->report,
 * or the callback's code, MEDSHIM_EIO, MEDSHIM_ENOMEM. */
int medshim__jscan_run(medshim__jscan *scan);

#endif
