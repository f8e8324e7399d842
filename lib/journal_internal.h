/* Everything about the journal handle, for code outside the files that
 * make it up: the replay lane (journal_lane.c), replay, the CLI's helpers,
 * tests and fuzzers. The journal's own files include only the parts they
 * use:
 *   journal_keys_internal.h        keys (journal_keys.c)
 *   journal_record_internal.h      sealing and opening records
 *   journal_segment_internal.h     segment files and headers
 *   journal_checkpoint_internal.h  the checkpoint
 *   journal_scan_internal.h        the scan of a chain
 *   journal_handle_internal.h      the handle's structure and failure text
 *   journal_open_internal.h        open, load, close (journal_open.c)
 *   journal_write_internal.h       group commit, status writes
 *   journal_read_internal.h        reads through the handle
 *   journal_lane_internal.h        the replay lane
 *   journal_verify_internal.h      verification of a chain */
#ifndef MEDSHIM_JOURNAL_INTERNAL_H
#define MEDSHIM_JOURNAL_INTERNAL_H

#include "journal_checkpoint_internal.h"
#include "journal_handle_internal.h"
#include "journal_keys_internal.h"
#include "journal_lane_internal.h"
#include "journal_open_internal.h"
#include "journal_read_internal.h"
#include "journal_record_internal.h"
#include "journal_scan_internal.h"
#include "journal_segment_internal.h"
#include "journal_verify_internal.h"
#include "journal_write_internal.h"

#endif
