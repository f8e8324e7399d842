/* The journal handle (journal_handle.c): its structure, shared by the
 * files that open, write and read it, its allocation and release, and the
 * text it keeps of its last failure. */
#ifndef MEDSHIM_JOURNAL_HANDLE_INTERNAL_H
#define MEDSHIM_JOURNAL_HANDLE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "errors_internal.h"
#include "journal_anchor_internal.h"
#include "journal_crypto_internal.h"
#include "journal_format_internal.h"
#include "journal_index_internal.h"
#include "journal_keys_internal.h"
#include "journal_record_internal.h"
#include "journal_segment_internal.h"
#include "medshim/journal.h"

struct medshim_journal {
  char *dir;
  int readonly;           /* no records of this chain may be written */
  int salvage;            /* opened with MEDSHIM_JOURNAL_SALVAGE (read-only) */
  medshim_verify_report salvaged; /* what a salvage open passed */
  int status_writable;    /* statuses may be written (to the replay lane) */
  int lane_marked;        /* the main checkpoint says the replay lane exists */
  /* The replay lane: the chain of status records in dir/replay, a handle of
   * its own (its own lock, segments, sequence and running hash), opened for
   * reading with the journal; the first status write takes its writer lock
   * (medshim__lane_acquire). NULL in a lane itself. Lock order: the
   * journal's mu before the lane's mu. */
  medshim_journal *lane;
  medshim_journal *parent; /* in a lane: the journal whose index it feeds */
  medshim__jkeys keys;
  int lock_fd;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  medshim__jseg *segs;
  size_t nsegs;
  size_t segs_cap;
  medshim__jindex ix;
  atomic_size_t nclaims;  /* ix.count, published for medshim_journal_count */
  /* writer */
  int fd;                 /* current segment, -1 until the first write */
  uint64_t alloc_end;     /* the current segment's allocated size */
  medshim__janchor anchor; /* the current segment's last anchor written */
  int64_t anchor_ns;      /* when (monotonic ns) */
  uint64_t seg_max;
  uint64_t next_seq;      /* sequence of the next record */
  unsigned char chain[JF_HASH_BYTES];
  uint64_t written_seq;   /* records [1, written_seq] are in the file */
  uint64_t written_end;   /* ... ending at this offset of the last segment */
  unsigned char written_chain[JF_HASH_BYTES]; /* running hash after them */
  uint64_t synced_seq;    /* records [1, synced_seq] are durable */
  int syncing;            /* a thread leads an fdatasync (journal_write.c) */
  int poisoned;
  int errmsg_is_cause;    /* errmsg says why the handle was poisoned */
  medshim__jcrypto *wcrypto;
  medshim__jscratch wscratch;
  /* digest and deflate contexts, taken by defer calls outside mu */
  pthread_mutex_t prep_mu;
  medshim__jprep *prep_pool[8];
  size_t nprep_pool;
  unsigned char *wbuf;
  size_t wbuf_cap;
  /* readers (get) under the lock */
  medshim__jcrypto *rcrypto;
  medshim__jscratch rscratch;
  char errmsg[512];
};

/* A handle with nothing loaded (dir copied): fd -1, locks, crypto. NULL
 * when out of memory. */
medshim_journal *medshim__journal_new(const char *dir);
/* With j->keys loaded: the handle's crypto contexts, for the keys' suite.
 * -1: out of memory or the suite's algorithms are missing. */
int medshim__journal_crypto_init(medshim_journal *j);
/* Free a handle without a checkpoint (and close its lane). */
void medshim__journal_free(medshim_journal *j);

/* Record the failure text (printf-style) on the handle and return code;
 * the caller holds the handle's lock. Once the handle is poisoned, the
 * text of the failure that poisoned it stays: a later MEDSHIM_EPOISONED
 * keeps reporting the first cause (a full disk, and which file), not a
 * generic "handle unusable". */
MEDSHIM__PRINTF(3, 4)
int medshim__jfail(medshim_journal *j, int code, const char *fmt, ...);
/* Record why a call on j failed (other modules' refusals), under the
 * handle's lock and without replacing the cause of a poisoned handle. */
int medshim__journal_fail(medshim_journal *j, int code, const char *text);

#endif
