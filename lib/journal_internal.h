/* Private structure of a journal handle and the pieces shared by the files
 * that implement it: record sealing (journal_record.c), segment scanning
 * (journal_scan.c), checkpoints (journal_checkpoint.c), open/defer
 * (journal.c), the replay lane (journal_lane.c) and verification
 * (journal_verify.c). */
#ifndef MEDSHIM_JOURNAL_INTERNAL_H
#define MEDSHIM_JOURNAL_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "journal_anchor_internal.h"
#include "journal_crypto_internal.h"
#include "journal_format_internal.h"
#include "journal_index_internal.h"
#include "medshim/journal.h"
#include "medshim/replay.h"

/* Keys of one journal, derived from its data key. Kept in memory from
 * medshim__secmem_alloc (locked, out of core dumps): the handle is. */
typedef struct medshim__jkeys {
  unsigned char kek[32]; /* the key-encryption key, only while opening */
  unsigned char dk[32];
  unsigned char id[JF_ID_BYTES];
  unsigned char hdr[32];  /* MAC of segment headers */
  unsigned char ckpt[32]; /* MAC of the checkpoint */
  unsigned char replay[32]; /* keyed hash behind replay keys */
  unsigned char receipt[32]; /* MAC of receipts (journal_receipt.c) */
} medshim__jkeys;

int medshim__jkeys_derive(medshim__jkeys *k);
/* Keys of the replay lane: its own data key, HKDF(main DK, journal_id,
 * "medshim v1 replay lane"), and everything derived from that, so that no
 * segment, record or checkpoint authenticates in the other lane. */
int medshim__jkeys_lane(medshim__jkeys *lane, const medshim__jkeys *main_keys);
/* Record key of a segment. */
int medshim__segment_key(unsigned char out[32], const medshim__jkeys *k,
                         uint64_t segno, const unsigned char salt[JF_SALT_BYTES]);

typedef struct medshim__jseg {
  uint64_t segno;
  uint64_t first_seq;
  uint64_t end; /* bytes of valid records (what readers may read) */
  uint64_t data_start; /* offset of the first record (by header version) */
  unsigned char key[32];
  int rfd; /* read descriptor, opened on first use (handle's copy only) */
} medshim__jseg;

/* Growable scratch buffers for sealing and opening records. */
typedef struct medshim__jscratch {
  unsigned char *plain;
  size_t plain_cap;
  unsigned char *body;
  size_t body_cap;
} medshim__jscratch;
void medshim__jscratch_free(medshim__jscratch *s);

/* A decrypted record. Pointers into the scratch buffers. */
typedef struct medshim__jrec {
  uint8_t type;
  uint64_t seq;
  uint32_t len; /* bytes on disk */
  const char *id;
  size_t id_len;
  unsigned char digest[JF_DIGEST_BYTES];
  const unsigned char *body; /* decompressed; NULL unless asked for */
  size_t body_len;
  unsigned char tag[JF_TAG_BYTES];
  unsigned char header[JF_RECORD_HEADER_BYTES];
} medshim__jrec;

/* What a record holds: its type (JF_REC_*), the claim's visit_id and
 * content digest, and its body; zbody (zlen bytes), when not NULL, is body
 * compressed by medshim__jprep_compress, stored instead of body when it is
 * smaller. */
typedef struct medshim__jrec_in {
  uint8_t type;
  const char *id;
  size_t id_len;
  const unsigned char *digest; /* JF_DIGEST_BYTES */
  const unsigned char *body;
  size_t body_len;
  const unsigned char *zbody;
  size_t zlen;
} medshim__jrec_in;

/* Seal in as record seq after the running hash prev_chain under key, and
 * append it to *out (grown as needed) at *out_len; tag_out gets its tag. */
int medshim__jrec_seal(medshim__jcrypto *c, medshim__jscratch *s,
                       const unsigned char key[32], uint64_t seq,
                       const unsigned char prev_chain[JF_HASH_BYTES],
                       const medshim__jrec_in *in, unsigned char **out,
                       size_t *out_cap, size_t *out_len,
                       unsigned char tag_out[JF_TAG_BYTES]);

/* Why a record failed to open. */
enum medshim__jrec_fail {
  JREC_OK = 0,
  JREC_SHORT,    /* not enough bytes for the header or the stated length */
  JREC_HEADER,   /* impossible header (length, type, version) */
  JREC_AUTH,     /* fails authentication */
  JREC_PLAIN,    /* authenticates but the plaintext is malformed */
  JREC_NOMEM
};
/* Parse the header at rec (avail bytes available), authenticate and decrypt.
 * want_body: decompress the body too. */
enum medshim__jrec_fail medshim__jrec_open(medshim__jcrypto *c,
                                           medshim__jscratch *s,
                                           const unsigned char key[32],
                                           const unsigned char *rec,
                                           size_t avail, int want_body,
                                           medshim__jrec *out);

/* Segment file path for a number, malloc'ed (NULL: out of memory). */
char *medshim__segment_path_new(const char *dir, uint64_t segno);
/* Segment file name (no directory) for a number. */
void medshim__segment_name(char *out, size_t size, uint64_t segno);
/* Sorted segment numbers found in dir (caller frees). -1 on I/O error. */
int medshim__segment_list(const char *dir, uint64_t **out, size_t *count);

/* Build a segment header (version JF_SEGMENT_V2: anchored). */
int medshim__segment_header_build(unsigned char out[JF_SEGMENT_HEADER_BYTES],
                                  const medshim__jkeys *k, uint64_t segno,
                                  uint64_t first_seq,
                                  const unsigned char salt[JF_SALT_BYTES],
                                  const unsigned char prev_chain[JF_HASH_BYTES]);
/* Check a segment header: 0 ok, -1 not ours / bad MAC. Fills the fields. */
int medshim__segment_header_check(const unsigned char in[JF_SEGMENT_HEADER_BYTES],
                                  const medshim__jkeys *k, uint64_t *segno,
                                  uint64_t *first_seq,
                                  unsigned char salt[JF_SALT_BYTES],
                                  unsigned char prev_chain[JF_HASH_BYTES],
                                  unsigned *version);

/* Checkpoint: the last durable sequence and chain, MAC'ed. */
typedef struct medshim__jcheckpoint {
  uint64_t segno;
  uint64_t seq;
  unsigned char chain[JF_HASH_BYTES];
  uint8_t flags; /* JF_CKPT_* */
} medshim__jcheckpoint;
/* The main checkpoint's flag: the replay lane exists, so a missing lane is
 * damage (its statuses would silently fall back to older ones). */
#define JF_CKPT_LANE 0x1u
int medshim__checkpoint_write(const char *dir, const medshim__jkeys *k,
                              const medshim__jcheckpoint *ck,
                              medshim_error *err);
/* MEDSHIM_OK, MEDSHIM_ENOTFOUND (no file), MEDSHIM_ECORRUPT (bad MAC...). */
int medshim__checkpoint_read(const char *dir, const medshim__jkeys *k,
                             medshim__jcheckpoint *ck);

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
  int syncing;            /* a thread leads an fdatasync (see commit) */
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

/* ---- shared between journal.c and journal_lane.c ---- */

/* A handle with nothing loaded (dir copied): fd -1, locks, crypto. NULL
 * when out of memory. */
medshim_journal *medshim__journal_new(const char *dir);
/* Free a handle without a checkpoint (and close its lane). */
void medshim__journal_free(medshim_journal *j);
/* Take the writer lock of j->dir (flock on LOCK). MEDSHIM_EBUSY if held. */
int medshim__journal_lock(medshim_journal *j, medshim_error *err);
/* Load the record chain of j->dir into j: read the checkpoint (a writer
 * creates it for an empty chain), run scan (dir, keys, crypto, scratch
 * and checkpoint are filled in here; the caller sets fn, payload and the
 * want_* flags), trim a torn tail (writers), install segments, next
 * sequence and running hash. Damage: MEDSHIM_ECORRUPT with scan->report. */
int medshim__journal_load(medshim_journal *j, medshim__jscan *scan,
                          medshim_error *err);
/* Read and open the record at (seg_index, off) of j; j's lock held. */
int medshim__journal_read(medshim_journal *j, uint32_t seg_index, uint64_t off,
                          medshim__jrec *rec, unsigned char **buf, size_t *cap);

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
/* Check one chain in dir: its checkpoint, then scan (keys, crypto,
 * scratch, fn set by the caller; dir and checkpoint filled in here). Fills
 * report (segments, records, damage or torn tail) with texts that begin
 * with the lane's name. scan->segs is left to the caller to free. */
int medshim__verify_chain(const char *dir, medshim__jscan *scan,
                          medshim_verify_report *report, const char *lane);
/* Verify the replay lane of the journal in dir (absent: nothing to check).
 * claims: the visit_ids of the main lane, to find statuses of deleted
 * claims. Adds to report (segments, records) and, on damage, fills it in
 * with a text that names the lane. */
int medshim__lane_verify(const char *dir, const medshim__jkeys *main_keys,
                         const medshim__jindex *claims, int required,
                         medshim_verify_report *report);

/* medshim_journal_set_status(), optionally without waiting for the sync:
 * the record is written and becomes durable with the next sync. Used by
 * replay for outcomes, whose loss in a crash only means one more query. */
int medshim__journal_set_status(medshim_journal *j, const char *visit_id,
                                const medshim_claim_status *status,
                                const medshim_step *steps, size_t nsteps,
                                int sync);

/* Record why a call on j failed (other modules' refusals), under the
 * handle's lock and without replacing the cause of a poisoned handle. */
int medshim__journal_fail(medshim_journal *j, int code, const char *text);

/* A claim's status with its step log (up to cap steps; *nsteps the number
 * stored). status->seq is the sequence of the latest record about it. */
int medshim__journal_get_steps(medshim_claim_status *status,
                               medshim_step *steps, size_t cap,
                               size_t *nsteps, medshim_journal *j,
                               const char *visit_id);

/* medshim_journal_close() that also says why it failed (err may be NULL):
 * the handle, and so its errmsg, is gone when it returns. */
int medshim__journal_close_err(medshim_journal *j, medshim_error *err);

#endif
