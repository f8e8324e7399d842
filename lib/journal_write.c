/* Writing records: segments created and rolled, records sealed and staged,
 * group commit, defers and status changes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "claim_internal.h"
#include "claim_status_internal.h"
#include "errors_internal.h"
#include "io_internal.h"
#include "journal_checkpoint_internal.h"
#include "journal_handle_internal.h"
#include "journal_lane_internal.h"
#include "journal_write_internal.h"
#include "memory_internal.h"
#include "safedir_internal.h"
#include "secmem_internal.h"
#include "timeutil_internal.h"

/* Once a write or sync failed, nothing more is written or acknowledged.
 * text: what failed and why; only the first one is kept. */
static int poison_as(medshim_journal *j, const char *text) {
  if (!(j->poisoned && j->errmsg_is_cause)) {
    medshim__fmt(j->errmsg, sizeof j->errmsg, "%s", text);
    j->errmsg_is_cause = 1;
  }
  j->poisoned = 1;
  pthread_cond_broadcast(&j->cv);
  return MEDSHIM__FAIL(MEDSHIM_EIO);
}

static int poison_text(medshim_journal *j, const char *cause) {
  char text[sizeof j->errmsg];
  medshim__fmt(text, sizeof text, "%s; the journal handle is now unusable: "
               "close it and open the journal again", cause);
  return poison_as(j, text);
}

/* what failed (a write, a sync...) on the current segment, or on the one
 * being created when there is none open. */
static int poison(medshim_journal *j, const char *what, int err) {
  char cause[sizeof j->errmsg];
  char *path = medshim__segment_path_new(j->dir, j->fd >= 0 ? j->nsegs
                                                            : j->nsegs + 1);
  medshim__fmt(cause, sizeof cause, "%s failed on %s: %s", what,
               path != NULL ? path : j->dir, medshim__io_strerror(err));
  free(path);
  return poison_text(j, cause);
}

/* How often a writer under load anchors its segment: the documented
 * window of records acknowledged but not yet anchored when a writer stops
 * (see journal_anchor.c and the README). */
#define ANCHOR_INTERVAL_NS (50 * 1000 * 1000)

/* Space allocated ahead of the records in a segment: a group commit then
 * overwrites allocated blocks, and its fdatasync flushes no file size
 * (on this machine's disk 0.14 ms instead of 0.21 ms a commit). */
#define SEGMENT_PREALLOC (1u << 20)

/* Where the allocation of the current segment should end for records up
 * to need bytes: a megabyte ahead, within the segment's size (a record
 * larger than what is left gets what it needs). */
static uint64_t segment_alloc(const medshim_journal *j, uint64_t need,
                              uint64_t have) {
  uint64_t want = need + SEGMENT_PREALLOC;
  if (want > j->seg_max)
    want = j->seg_max > need ? j->seg_max : need;
  return want > have ? want : have;
}

/* Leave the current segment: make it durable and give back the space
 * allocated beyond its records, so only a crashed writer's last segment
 * ever ends in unused (zero) space. No sync in flight. */
int medshim__journal_finish_segment(medshim_journal *j) {
  uint64_t end = j->segs[j->nsegs - 1].end;
  int dirty = j->synced_seq < j->written_seq;
  if (j->alloc_end > end) {
    if (medshim__io_truncate(j->fd, (int64_t)end) != 0)
      return poison(j, "giving back a segment's unused space", errno);
    j->alloc_end = end;
    dirty = 1;
  }
  if (dirty && medshim__io_fdatasync(j->fd) != 0)
    return poison(j, "fdatasync", errno);
  if (j->synced_seq < j->written_seq) {
    j->synced_seq = j->written_seq;
    pthread_cond_broadcast(&j->cv);
  }
  return MEDSHIM_OK;
}

/* Write the n bytes staged in wbuf at the end of the current segment's
 * records, allocating more space first when they do not fit: records up
 * to next_seq - 1 are then in the file. The one place staged records are
 * written. */
static int flush_staged(medshim_journal *j, size_t n) {
  medshim__jseg *seg = &j->segs[j->nsegs - 1];
  if (seg->end + n > j->alloc_end) {
    uint64_t to = segment_alloc(j, seg->end + n, j->alloc_end);
    if (medshim__io_allocate(j->fd, (int64_t)j->alloc_end,
                             (int64_t)(to - j->alloc_end)) != 0)
      return poison(j, "allocating space for records", errno);
    j->alloc_end = to;
  }
  if (medshim__io_pwrite_all(j->fd, j->wbuf, n, (int64_t)seg->end) != 0)
    return poison(j, "write", errno);
  seg->end += n;
  j->written_seq = j->next_seq - 1;
  j->written_end = seg->end;
  memcpy(j->written_chain, j->chain, JF_HASH_BYTES);
  return MEDSHIM_OK;
}

/* Start a new segment for this writer: a fresh salt means a fresh record
 * key, so nonces never repeat even after a crash reused sequence numbers. */
static int new_segment(medshim_journal *j) {
  /* header, both anchor slots (nothing durable in it yet), zeros up to the
   * first record: one write, one sync */
  unsigned char area[JF_SEGMENT_DATA_V2], salt[JF_SALT_BYTES];
  char name[64];
  uint64_t segno = j->nsegs + 1;
  medshim__jseg *seg;
  medshim__janchor an;
  medshim__jcheckpoint ck;
  int fd, dfd;

  if (j->fd >= 0) {
    /* Roll (no sync in flight, see ensure_segment): make the old segment
     * durable, without its unused space, before leaving it. */
    int rc = medshim__journal_finish_segment(j);
    if (rc != MEDSHIM_OK)
      return rc;
    medshim__os_close(j->fd);
    j->fd = -1;
  }
  if (j->nsegs == j->segs_cap || j->segs == NULL) {
    size_t cap = j->segs_cap ? j->segs_cap * 2 : 4;
    medshim__jseg *n = medshim__secmem_array(cap, sizeof *n);
    if (n == NULL)
      return medshim__jfail(j, MEDSHIM_ENOMEM, "out of memory");
    if (j->segs != NULL) {
      memcpy(n, j->segs, j->nsegs * sizeof *n);
      medshim__secmem_array_free(j->segs);
    }
    j->segs = n;
    j->segs_cap = cap;
  }
  seg = &j->segs[j->nsegs];
  memset(seg, 0, sizeof *seg);
  seg->rfd = -1;
  seg->segno = segno;
  seg->first_seq = j->next_seq;
  seg->data_start = JF_SEGMENT_DATA_V2;
  memset(area, 0, sizeof area);
  memset(&an, 0, sizeof an);
  an.segno = segno;
  an.seq = j->next_seq - 1;
  an.end = JF_SEGMENT_DATA_V2;
  memcpy(an.chain, j->chain, JF_HASH_BYTES);
  if (medshim__random(salt, sizeof salt) != 0 ||
      medshim__segment_key(seg->key, &j->keys, segno, salt) != 0 ||
      medshim__segment_header_build(area, &j->keys, segno, j->next_seq, salt,
                                    j->chain) != 0 ||
      medshim__anchor_build(area + medshim__anchor_slot_offset(0), &j->keys,
                            &an) != 0)
    return medshim__jfail(j, MEDSHIM_ECRYPTO,
                          "cannot set up a new segment's keys");
  an.counter = 1;
  if (medshim__anchor_build(area + medshim__anchor_slot_offset(1), &j->keys,
                            &an) != 0)
    return medshim__jfail(j, MEDSHIM_ECRYPTO,
                          "cannot set up a new segment's keys");
  medshim__segment_name(name, sizeof name, segno);
  {
    medshim_error e;
    memset(&e, 0, sizeof e);
    if (medshim__dir_open(j->dir, MEDSHIM__DIR_JOURNAL, &dfd, &e) != MEDSHIM_OK)
      return poison_text(j, e.text);
  }
  /* Records are written at their offsets (not appended) into space
   * allocated ahead, so a group commit's fdatasync has no file size to
   * flush (see SEGMENT_PREALLOC). */
  fd = medshim__io_create_at(dfd, name, MEDSHIM__OS_RDWR);
  if (fd < 0) {
    int saved = errno;
    medshim__os_close(dfd);
    return poison(j, "creating a segment", saved);
  }
  j->alloc_end = segment_alloc(j, JF_SEGMENT_DATA_V2, 0);
  if (medshim__io_write_all(fd, area, sizeof area) != 0 ||
      medshim__io_allocate(fd, JF_SEGMENT_DATA_V2,
                           (int64_t)(j->alloc_end - JF_SEGMENT_DATA_V2)) != 0) {
    int saved = errno;
    medshim__os_close(fd);
    medshim__os_close(dfd);
    return poison(j, "writing a segment header", saved);
  }
  if (medshim__io_fdatasync(fd) != 0 || medshim__io_fsync(dfd) != 0) {
    int saved = errno;
    medshim__os_close(fd);
    medshim__os_close(dfd);
    return poison(j, "syncing a new segment", saved);
  }
  medshim__os_close(dfd);
  seg->end = JF_SEGMENT_DATA_V2;
  j->fd = fd;
  j->anchor = an;
  j->anchor_ns = 0; /* the segment's first commit is anchored at once */
  j->written_end = seg->end;
  j->nsegs++;
  /* The checkpoint follows every new segment and names it, so that a
   * segment removed from the end (even the only one) is noticed. */
  ck.segno = segno;
  ck.seq = j->next_seq - 1;
  memcpy(ck.chain, j->chain, JF_HASH_BYTES);
  ck.flags = j->lane_marked ? JF_CKPT_LANE : 0;
  {
    medshim_error e;
    if (medshim__checkpoint_write(j->dir, &j->keys, &ck, &e) != MEDSHIM_OK) {
      char cause[sizeof j->errmsg];
      medshim__fmt(cause, sizeof cause, "writing the checkpoint failed: %s",
                   e.text);
      return poison_text(j, cause);
    }
  }
  return MEDSHIM_OK;
}

/* Make sure the current segment can take incoming bytes, rolling to a new
 * one if not. A roll waits for an fdatasync in flight on the old segment;
 * the wait releases the lock, so the state is checked again after it. */
static int ensure_segment(medshim_journal *j, size_t incoming) {
  for (;;) {
    if (j->poisoned)
      return medshim__jfail(
          j, MEDSHIM_EPOISONED,
          "an earlier write or sync failed; nothing more is accepted");
    if (j->fd >= 0 && (j->segs[j->nsegs - 1].end + incoming <= j->seg_max ||
                       j->segs[j->nsegs - 1].end ==
                           j->segs[j->nsegs - 1].data_start))
      return MEDSHIM_OK; /* fits, or an empty segment takes any record */
    if (j->fd >= 0 && j->syncing) {
      pthread_cond_wait(&j->cv, &j->mu);
      continue;
    }
    return new_segment(j);
  }
}

/* Append one record (already checked) to the write buffer, sealing it. */
static int stage_record(medshim_journal *j, size_t *staged,
                        const medshim__jrec_in *in, uint32_t *seg_index,
                        uint64_t *off) {
  const size_t body_len = in->body_len;
  unsigned char tag[JF_TAG_BYTES];
  size_t before = *staged;
  medshim__jseg *seg;
  int rc;

  /* Roll first if this record would overflow the segment; flush what is
   * staged for the old segment before that. */
  if (j->fd >= 0 && *staged > 0 &&
      j->segs[j->nsegs - 1].end + *staged + body_len + 4096 > j->seg_max) {
    if ((rc = flush_staged(j, *staged)) != MEDSHIM_OK)
      return rc;
    *staged = before = 0;
  }
  if ((rc = ensure_segment(j, *staged + body_len + 4096)) != MEDSHIM_OK)
    return rc;
  seg = &j->segs[j->nsegs - 1];
  rc = medshim__jrec_seal(j->wcrypto, &j->wscratch, seg->key, j->next_seq,
                          j->chain, in, &j->wbuf, &j->wbuf_cap, staged, tag);
  if (rc != MEDSHIM_OK)
    return medshim__jfail(j, rc, "cannot seal a record: %s",
                          medshim_strerror(rc));
  if (medshim__chain_next(j->wcrypto, j->chain, j->wbuf + before,
                          JF_RECORD_HEADER_BYTES, tag) != 0)
    return medshim__jfail(j, MEDSHIM_ECRYPTO, "cannot extend the running hash");
  *seg_index = (uint32_t)(j->nsegs - 1);
  *off = seg->end + before;
  j->next_seq++;
  return MEDSHIM_OK;
}

/* Write what is staged, then wait until every record up to target is
 * durable (target 0: only write). Group commit by leader and followers:
 * the first thread to find no fdatasync in flight leads one for every
 * record written so far, its own and those other threads wrote while it
 * waited for the lock; the others wait for it, and return if it covered
 * their records, or else one of them leads the next. So a sync covers
 * whoever wrote during the one before, and nobody waits for a writer that
 * may come, or for a time. Called with mu held (released during the
 * fdatasync). */
int medshim__journal_commit(medshim_journal *j, size_t staged,
                            uint64_t target) {
  if (staged > 0) {
    int rc = flush_staged(j, staged);
    if (rc != MEDSHIM_OK)
      return rc;
  }
  while (j->synced_seq < target && !j->poisoned) {
    if (!j->syncing) {
      uint64_t upto = j->written_seq;
      int fd = j->fd, rc, saved;
      int64_t t1;
      medshim__janchor an = j->anchor;
      j->syncing = 1;
      an.counter++;
      an.seq = upto;
      an.end = j->written_end;
      memcpy(an.chain, j->written_chain, JF_HASH_BYTES);
      pthread_mutex_unlock(&j->mu);
      rc = medshim__io_fdatasync(fd);
      saved = errno;
      pthread_mutex_lock(&j->mu);
      t1 = medshim__mono_ns();
      if (rc != 0) {
        j->syncing = 0;
        return poison(j, "fdatasync", saved);
      }
      if (upto > j->synced_seq)
        j->synced_seq = upto;
      /* Anchor what this sync made durable (no sync of its own: see
       * journal_anchor.c), at most once per ANCHOR_INTERVAL_NS: the slot
       * dirties a second block that the next fdatasync must write too,
       * a quarter more per commit on this disk when every commit pays it
       * (and every replay claim at concurrency 1 is a commit 10 ms
       * apart).
       * Still syncing, so no roll moved the segment. */
      if (an.seq > j->anchor.seq && t1 - j->anchor_ns >= ANCHOR_INTERVAL_NS) {
        if (medshim__anchor_write(j->fd, &j->keys, &an) != 0) {
          saved = errno;
          j->syncing = 0;
          return poison(j, "writing the segment anchor", saved);
        }
        j->anchor = an;
        j->anchor_ns = t1;
      }
      j->syncing = 0;
      pthread_cond_broadcast(&j->cv);
    } else {
      pthread_cond_wait(&j->cv, &j->mu);
    }
  }
  if (j->synced_seq < target)
    return medshim__jfail(
        j, MEDSHIM_EPOISONED,
        "an earlier write or sync failed; nothing more is accepted");
  return MEDSHIM_OK;
}

/* A digest and deflate context from the handle's pool (NULL when out of
 * memory). */
static medshim__jprep *prep_take(medshim_journal *j) {
  medshim__jprep *z = NULL;
  pthread_mutex_lock(&j->prep_mu);
  if (j->nprep_pool > 0)
    z = j->prep_pool[--j->nprep_pool];
  pthread_mutex_unlock(&j->prep_mu);
  return z != NULL ? z : medshim__jprep_new(j->keys.suite);
}

static void prep_give(medshim_journal *j, medshim__jprep *z) {
  if (z == NULL)
    return;
  pthread_mutex_lock(&j->prep_mu);
  if (j->nprep_pool < sizeof j->prep_pool / sizeof j->prep_pool[0]) {
    j->prep_pool[j->nprep_pool++] = z;
    z = NULL;
  }
  pthread_mutex_unlock(&j->prep_mu);
  medshim__jprep_free(z);
}

static void wipe_all(unsigned char **bufs, const size_t *lens, size_t count) {
  if (bufs == NULL)
    return;
  for (size_t i = 0; i < count; i++) {
    if (bufs[i] != NULL) {
      medshim__wipe(bufs[i], lens[i]);
      free(bufs[i]);
    }
  }
  free(bufs);
}

static int defer_batch(medshim_journal *j, const medshim_claim *const *claims,
                       size_t count, int *results, int wait) {
  unsigned char **enc = NULL, **zenc = NULL;
  size_t *enc_len = NULL, *zenc_len = NULL, staged = 0;
  unsigned char (*dig)[JF_DIGEST_BYTES] = NULL;
  medshim__jprep *prep = NULL;
  uint64_t target = 0;
  int rc = MEDSHIM_OK, locked = 0;

  if (j == NULL || (count > 0 && (claims == NULL || results == NULL)))
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  if (count == 0)
    return MEDSHIM_OK;
  if (j->readonly)
    return medshim__jfail(j, MEDSHIM_EREADONLY, "journal opened read-only");
  enc = calloc(count, sizeof *enc);
  enc_len = calloc(count, sizeof *enc_len);
  zenc = calloc(count, sizeof *zenc);
  zenc_len = calloc(count, sizeof *zenc_len);
  dig = calloc(count, sizeof *dig);
  if (enc == NULL || enc_len == NULL || zenc == NULL || zenc_len == NULL ||
      dig == NULL) {
    rc = MEDSHIM_ENOMEM;
    goto cleanup;
  }
  /* Encoding, hashing and compressing need no lock: keep them out of the
   * critical path, so that concurrent callers do them in parallel. */
  for (size_t i = 0; i < count; i++) {
    if (claims[i] == NULL) {
      rc = MEDSHIM_EINVAL;
      goto cleanup;
    }
    rc = medshim__claim_encode(&enc[i], &enc_len[i], claims[i]);
    if (rc != MEDSHIM_OK)
      goto cleanup;
    if (prep == NULL && (prep = prep_take(j)) == NULL) {
      rc = MEDSHIM_ENOMEM;
      goto cleanup;
    }
    if (medshim__jprep_digest16(prep, dig[i], enc[i], enc_len[i]) != 0) {
      rc = MEDSHIM_ECRYPTO;
      goto cleanup;
    }
    if (enc_len[i] <= 64)
      continue; /* too small to gain */
    if ((zenc[i] = malloc(enc_len[i])) == NULL) {
      rc = MEDSHIM_ENOMEM;
      goto cleanup;
    }
    zenc_len[i] = medshim__jprep_compress(prep, enc[i], enc_len[i], zenc[i],
                                         enc_len[i]);
  }
  prep_give(j, prep);
  prep = NULL;
  pthread_mutex_lock(&j->mu);
  locked = 1;
  if (j->poisoned) {
    rc = medshim__jfail(
        j, MEDSHIM_EPOISONED,
        "an earlier write or sync failed; nothing more is accepted");
    goto cleanup;
  }
  for (size_t i = 0; i < count; i++) {
    const char *id = claims[i]->visit_id;
    size_t id_len = strlen(id);
    medshim__jentry *e = medshim__jindex_find(&j->ix, id, id_len);
    uint32_t seg_index;
    uint64_t off;
    if (e != NULL) {
      if (medshim__ct_equal(e->digest, dig[i], JF_DIGEST_BYTES)) {
        results[i] = MEDSHIM_DEFER_DUPLICATE;
        /* A duplicate is acknowledged only once the original is durable. */
        if (e->seq > target)
          target = e->seq;
      } else {
        results[i] = MEDSHIM_ECONFLICT;
      }
      continue;
    }
    {
      const medshim__jrec_in in = {JF_REC_CLAIM, id,      id_len,   dig[i],
                                   enc[i],       enc_len[i], zenc[i], zenc_len[i]};
      rc = stage_record(j, &staged, &in, &seg_index, &off);
    }
    if (rc != MEDSHIM_OK)
      goto cleanup;
    e = medshim__jindex_add(&j->ix, id, id_len);
    if (e == NULL) {
      rc = poison(j, "indexing", ENOMEM);
      goto cleanup;
    }
    e->claim_seg = seg_index;
    e->claim_off = off;
    e->seq = e->claim_seq = j->next_seq - 1;
    e->state = MEDSHIM_STATE_PENDING;
    memcpy(e->digest, dig[i], JF_DIGEST_BYTES);
    results[i] = MEDSHIM_DEFER_STORED;
    target = e->seq;
    atomic_store(&j->nclaims, j->ix.count);
  }
  rc = medshim__journal_commit(j, staged, wait ? target : 0);
  if (rc != MEDSHIM_OK && !j->poisoned)
    rc = poison(j, "commit", EIO);
cleanup:
  if (locked) {
    if (rc != MEDSHIM_OK && staged > 0 && !j->poisoned)
      (void)poison(j, "staging", EIO); /* staged records were never written */
    pthread_mutex_unlock(&j->mu);
  }
  prep_give(j, prep);
  /* both hold personal data */
  wipe_all(enc, enc_len, enc_len != NULL ? count : 0);
  wipe_all(zenc, enc_len, enc_len != NULL ? count : 0); /* capacity */
  free(enc_len);
  free(zenc_len);
  free(dig);
  return rc;
}

int medshim_journal_defer_batch(medshim_journal *j,
                                const medshim_claim *const *claims,
                                size_t count, int *results) {
  return defer_batch(j, claims, count, results, 1);
}

int medshim_journal_defer_batch_nosync(medshim_journal *j,
                                       const medshim_claim *const *claims,
                                       size_t count, int *results) {
  return defer_batch(j, claims, count, results, 0);
}

int medshim_journal_defer(medshim_journal *j, const medshim_claim *claim,
                          medshim_defer_result *out) {
  int result = 0, rc;
  if (j == NULL || claim == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  rc = medshim_journal_defer_batch(j, &claim, 1, &result);
  if (rc != MEDSHIM_OK)
    return rc;
  if (result < 0)
    return medshim__jfail(j, result,
                          "visit_id %s is already stored with different "
                          "content; nothing was written",
                          claim->visit_id);
  if (out != NULL)
    *out = (medshim_defer_result)result;
  return MEDSHIM_OK;
}

int medshim_journal_set_status(medshim_journal *j, const char *visit_id,
                               const medshim_claim_status *status) {
  return medshim__journal_set_status(j, visit_id, status, NULL, 0, 1);
}

/* A failure in the lane poisons the journal handle as well: after any
 * failed write or sync the handle accepts nothing more (journal.h). */
static int lane_failed(medshim_journal *j, int rc, const char *lane_msg) {
  pthread_mutex_lock(&j->mu);
  if (rc == MEDSHIM_EIO || rc == MEDSHIM_EPOISONED) {
    /* the lane's first cause becomes the handle's (see medshim__jfail()) */
    char text[sizeof j->errmsg];
    medshim__fmt(text, sizeof text, "replay lane: %s", lane_msg);
    (void)poison_as(j, text);
  } else {
    (void)medshim__jfail(j, rc, "replay lane: %s", lane_msg);
  }
  pthread_mutex_unlock(&j->mu);
  return rc;
}

/* Make the lane's records up to target durable (0: all written). */
static int lane_sync(medshim_journal *j, uint64_t target) {
  medshim_journal *lane = j->lane;
  char msg[sizeof lane->errmsg];
  int rc = MEDSHIM_OK;
  pthread_mutex_lock(&lane->mu);
  if (!lane->readonly && lane->fd >= 0)
    rc = medshim__journal_commit(lane, 0, target ? target : lane->written_seq);
  if (rc != MEDSHIM_OK)
    memcpy(msg, lane->errmsg, sizeof msg);
  pthread_mutex_unlock(&lane->mu);
  return rc == MEDSHIM_OK ? rc : lane_failed(j, rc, msg);
}

/* Status records go to the replay lane, whose writer lock the first one
 * takes; claims stay in the main lane under the claim writer's lock. */
int medshim__journal_set_status(medshim_journal *j, const char *visit_id,
                                const medshim_claim_status *status,
                                const medshim_step *steps, size_t nsteps,
                                int sync) {
  unsigned char *body = NULL, zero[JF_DIGEST_BYTES] = {0};
  char msg[sizeof j->errmsg];
  medshim_journal *lane;
  medshim__jentry *e;
  size_t body_len, staged = 0, id_len;
  uint32_t seg_index;
  uint64_t off, seq = 0;
  int rc;

  if (j == NULL || visit_id == NULL || status == NULL ||
      status->version != MEDSHIM_CLAIM_STATUS_VERSION)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  if (!j->status_writable || j->lane == NULL)
    return medshim__jfail(j, MEDSHIM_EREADONLY, "journal opened read-only");
  lane = j->lane;
  body = malloc(MEDSHIM__STATUS_MAX_BYTES);
  if (body == NULL)
    return medshim__jfail(j, MEDSHIM_ENOMEM, "out of memory");
  body_len = medshim__status_encode(body, status, steps, nsteps);
  if (body_len == 0) {
    free(body);
    return medshim__jfail(j, MEDSHIM_EINVAL,
                          "status has an unknown state, an overlong "
                          "text or too many steps");
  }
  id_len = strlen(visit_id);
  pthread_mutex_lock(&j->mu);
  if (j->poisoned) {
    rc = medshim__jfail(
        j, MEDSHIM_EPOISONED,
        "an earlier write or sync failed; nothing more is accepted");
    goto unlock_journal;
  }
  e = medshim__jindex_find(&j->ix, visit_id, id_len);
  if (e == NULL) {
    rc = medshim__jfail(j, MEDSHIM_ENOTFOUND, "no claim with visit_id %.64s",
                        visit_id);
    goto unlock_journal;
  }
  /* Never a durable status for a claim that is not: a crash would leave a
   * status without its claim. This handle's own unsynced claims are synced
   * first (a REPLAY handle syncs what it read when it takes the lane). */
  if (!j->readonly && e->seq > j->synced_seq) {
    if ((rc = medshim__journal_commit(j, 0, e->seq)) != MEDSHIM_OK)
      goto unlock_journal;
    /* the lock was released meanwhile: the index may have moved */
    e = medshim__jindex_find(&j->ix, visit_id, id_len);
  }
  pthread_mutex_lock(&lane->mu);
  if (lane->readonly && (rc = medshim__lane_acquire(j)) != MEDSHIM_OK) {
    pthread_mutex_unlock(&lane->mu);
    goto unlock_journal; /* j->errmsg says why */
  }
  {
    const medshim__jrec_in in = {JF_REC_STATUS, visit_id, id_len, zero,
                                 body,          body_len, NULL,   0};
    rc = stage_record(lane, &staged, &in, &seg_index, &off);
  }
  if (rc == MEDSHIM_OK) {
    rc = medshim__journal_commit(lane, staged, 0); /* written, not yet synced */
    staged = 0;
  }
  if (rc == MEDSHIM_OK) {
    /* Entry pointers stay valid: nothing was added to the index. */
    e->status_lane = 1;
    e->status_seg = seg_index;
    e->status_off = off;
    e->state = (uint8_t)status->state;
    seq = lane->next_seq - 1;
  }
  pthread_mutex_unlock(&j->mu);
  /* Without sync the record is made durable by the next sync of the lane
   * (or at close); with it, concurrent status writers share one. */
  if (rc == MEDSHIM_OK && sync)
    rc = medshim__journal_commit(lane, 0, seq);
  if (rc != MEDSHIM_OK && staged > 0 && !lane->poisoned)
    (void)poison(lane, "staging", EIO);
  if (rc != MEDSHIM_OK)
    memcpy(msg, lane->errmsg, sizeof msg);
  pthread_mutex_unlock(&lane->mu);
  free(body);
  return rc == MEDSHIM_OK ? rc : lane_failed(j, rc, msg);
unlock_journal:
  pthread_mutex_unlock(&j->mu);
  free(body);
  return rc;
}

int medshim_journal_sync(medshim_journal *j) {
  int rc;
  if (j == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  pthread_mutex_lock(&j->mu);
  rc = j->readonly || j->fd < 0 ? MEDSHIM_OK
                                : medshim__journal_commit(j, 0, j->written_seq);
  pthread_mutex_unlock(&j->mu);
  if (rc == MEDSHIM_OK && j->lane != NULL)
    rc = lane_sync(j, 0);
  return rc;
}
