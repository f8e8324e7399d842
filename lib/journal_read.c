/* Reading through a journal handle: a record by its place, a claim and
 * its status by visit_id, a walk over every claim, the count. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "claim_internal.h"
#include "claim_status_internal.h"
#include "errors_internal.h"
#include "io_internal.h"
#include "journal_handle_internal.h"
#include "journal_lane_internal.h"
#include "journal_read_internal.h"
#include "journal_scan_internal.h"
#include "memory_internal.h"
#include "secmem_internal.h"

size_t medshim_journal_count(const medshim_journal *j) {
  /* read without the lock (it is const here): the writers publish it */
  return j == NULL ? 0 : atomic_load(&j->nclaims);
}
/* Read and open the record at (seg_index, off). Caller holds the lock. */
static int read_record(medshim_journal *j, uint32_t seg_index, uint64_t off,
                       medshim__jrec *rec, unsigned char **buf, size_t *cap) {
  medshim__jseg *seg = &j->segs[seg_index];
  unsigned char hdr[JF_RECORD_HEADER_BYTES];
  uint32_t len;
  if (seg->rfd < 0) {
    char *path = medshim__segment_path_new(j->dir, seg->segno);
    int saved;
    if (path == NULL)
      return medshim__jfail(j, MEDSHIM_ENOMEM, "out of memory");
    seg->rfd = medshim__os_open(path, MEDSHIM__OS_READ);
    saved = errno;
    if (seg->rfd < 0) {
      medshim__jfail(j, MEDSHIM_EIO, "cannot open %s: %s", path,
                     strerror(saved));
      free(path);
      return MEDSHIM__FAIL(MEDSHIM_EIO);
    }
    free(path);
  }
  if (medshim__io_pread_full(seg->rfd, hdr, sizeof hdr, (int64_t)off) !=
      (long long)sizeof hdr)
    return medshim__jfail(j, MEDSHIM_ECORRUPT,
                          "segment %" PRIu64 " offset %" PRIu64
                          ": record header unreadable",
                          seg->segno, off);
  len = jf_get32(hdr);
  if (len > JF_RECORD_MAX || len < JF_RECORD_OVERHEAD)
    return medshim__jfail(j, MEDSHIM_ECORRUPT,
                          "segment %" PRIu64 " offset %" PRIu64
                          ": record length invalid",
                          seg->segno, off);
  if (*cap < len) {
    unsigned char *n = realloc(*buf, len);
    if (n == NULL)
      return medshim__jfail(j, MEDSHIM_ENOMEM, "out of memory");
    *buf = n;
    *cap = len;
  }
  if (medshim__io_pread_full(seg->rfd, *buf, len, (int64_t)off) != (long long)len)
    return medshim__jfail(j, MEDSHIM_ECORRUPT,
                          "segment %" PRIu64 " offset %" PRIu64
                          ": record cut short",
                          seg->segno, off);
  if (medshim__jrec_open(j->rcrypto, &j->rscratch, seg->key, *buf, len, 1,
                         rec) != JREC_OK)
    return medshim__jfail(j, MEDSHIM_ECORRUPT,
                          "segment %" PRIu64 " offset %" PRIu64
                          ": record fails authentication (altered since open)",
                          seg->segno, off);
  return MEDSHIM_OK;
}

int medshim__journal_read(medshim_journal *j, uint32_t seg_index, uint64_t off,
                          medshim__jrec *rec, unsigned char **buf, size_t *cap) {
  return read_record(j, seg_index, off, rec, buf, cap);
}

/* Current status of an entry, and its steps when steps is not NULL.
 * Caller holds the lock. */
static int entry_status_steps(medshim_journal *j, const medshim__jentry *e,
                              medshim_claim_status *st, medshim_step *steps,
                              size_t cap_steps, size_t *nsteps,
                              unsigned char **buf, size_t *cap) {
  medshim__jrec rec;
  int rc;
  if (nsteps != NULL)
    *nsteps = 0;
  if (e->status_off == 0) {
    medshim_claim_status_init(st, MEDSHIM_CLAIM_STATUS_VERSION);
  } else if (e->status_lane) {
    return medshim__lane_status(j, e, st, steps, cap_steps, nsteps, buf, cap);
  } else { /* a journal from before the replay lane */
    if ((rc = read_record(j, e->status_seg, e->status_off, &rec, buf, cap)) !=
        MEDSHIM_OK)
      return rc;
    if (rec.type != JF_REC_STATUS ||
        medshim__status_decode(st, steps, cap_steps, nsteps, rec.body,
                               rec.body_len) != MEDSHIM_OK)
      return medshim__jfail(j, MEDSHIM_ECORRUPT, "status record malformed");
  }
  return MEDSHIM_OK;
}

static int entry_status(medshim_journal *j, const medshim__jentry *e,
                        medshim_claim_status *st, unsigned char **buf,
                        size_t *cap) {
  return entry_status_steps(j, e, st, NULL, 0, NULL, buf, cap);
}

int medshim__journal_get_steps(medshim_claim_status *status,
                               medshim_step *steps, size_t cap,
                               size_t *nsteps, medshim_journal *j,
                               const char *visit_id) {
  medshim__jentry *e;
  unsigned char *buf = NULL;
  size_t bcap = 0;
  int rc;
  if (j == NULL || visit_id == NULL || status == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  pthread_mutex_lock(&j->mu);
  e = medshim__jindex_find(&j->ix, visit_id, strlen(visit_id));
  rc = e == NULL
           ? medshim__jfail(j, MEDSHIM_ENOTFOUND, "no claim with that visit_id")
           : entry_status_steps(j, e, status, steps, cap, nsteps, &buf, &bcap);
  pthread_mutex_unlock(&j->mu);
  if (buf != NULL) {
    medshim__wipe(buf, bcap);
    free(buf);
  }
  return rc;
}

int medshim_journal_get(medshim_claim **claim, medshim_claim_status *status,
                        medshim_journal *j, const char *visit_id) {
  medshim__jentry *e;
  medshim__jrec rec;
  unsigned char *buf = NULL;
  size_t cap = 0;
  uint64_t claim_seq;
  int rc = MEDSHIM_OK;

  if (claim != NULL)
    *claim = NULL;
  if (j == NULL || visit_id == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  pthread_mutex_lock(&j->mu);
  if (j->poisoned) {
    rc = medshim__jfail(j, MEDSHIM_EPOISONED,
                        "handle unusable after a failed write");
    goto cleanup;
  }
  e = medshim__jindex_find(&j->ix, visit_id, strlen(visit_id));
  if (e == NULL) {
    rc = medshim__jfail(j, MEDSHIM_ENOTFOUND, "no claim with visit_id %.64s",
                        visit_id);
    goto cleanup;
  }
  claim_seq = e->claim_seq;
  /* The status alone does not need the claim record read and opened. */
  if (claim != NULL) {
    if ((rc = read_record(j, e->claim_seg, e->claim_off, &rec, &buf, &cap)) !=
        MEDSHIM_OK)
      goto cleanup;
    if (medshim__claim_decode(claim, rec.body, rec.body_len) != MEDSHIM_OK) {
      rc = medshim__jfail(j, MEDSHIM_ECORRUPT,
                          "claim record %" PRIu64 " malformed", rec.seq);
      goto cleanup;
    }
  }
  if (status != NULL) {
    if ((rc = entry_status(j, e, status, &buf, &cap)) != MEDSHIM_OK)
      goto cleanup;
    status->seq = claim_seq;
  }
cleanup:
  pthread_mutex_unlock(&j->mu);
  if (buf != NULL) {
    medshim__wipe(buf, cap);
    free(buf);
  }
  if (rc != MEDSHIM_OK && claim != NULL && *claim != NULL) {
    medshim_claim_free(*claim);
    *claim = NULL;
  }
  return rc;
}

typedef struct walk_ctx {
  medshim_journal *j;
  medshim__jscan *scan;
  medshim_journal_visit_fn fn;
  medshim__journal_take_fn take_fn;
  void *payload;
  uint64_t last_seq;
  unsigned char *buf;
  size_t cap;
  int user_stopped;
} walk_ctx;

static int walk_record(void *payload, uint32_t seg_index, uint64_t off,
                       const medshim__jrec *rec) {
  walk_ctx *w = payload;
  medshim_claim *claim = NULL;
  medshim_claim_status st;
  medshim__jentry *e;
  int rc;
  if (rec->seq > w->last_seq)
    return 1; /* past the snapshot: stop, successfully */
  if (rec->type != JF_REC_CLAIM)
    return MEDSHIM_OK;
  if (medshim__claim_decode(&claim, rec->body, rec->body_len) != MEDSHIM_OK)
    return w->j->salvage ? MEDSHIM_OK : MEDSHIM_ECORRUPT;
  pthread_mutex_lock(&w->j->mu);
  e = medshim__jindex_find(&w->j->ix, rec->id, rec->id_len);
  if (w->j->salvage &&
      (e == NULL || e->claim_seg != seg_index || e->claim_off != off)) {
    /* salvage: a copy the index left out */
    pthread_mutex_unlock(&w->j->mu);
    medshim_claim_free(claim);
    return MEDSHIM_OK;
  }
  rc = e == NULL ? MEDSHIM_ECORRUPT
                 : entry_status(w->j, e, &st, &w->buf, &w->cap);
  pthread_mutex_unlock(&w->j->mu);
  if (rc == MEDSHIM_OK) {
    st.seq = rec->seq;
    if (w->take_fn != NULL ? w->take_fn(&claim, &st, w->payload) != 0
                           : w->fn(claim, &st, w->payload) != 0) {
      w->user_stopped = 1;
      rc = MEDSHIM_EUSER;
    }
  }
  medshim_claim_free(claim);
  return rc;
}

static int walk(medshim_journal *j, medshim_journal_visit_fn fn,
                medshim__journal_take_fn take_fn, void *payload) {
  walk_ctx w;
  medshim__jscan scan;
  medshim__jscratch scratch;
  int rc;

  if (j == NULL || (fn == NULL && take_fn == NULL))
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  memset(&w, 0, sizeof w);
  memset(&scan, 0, sizeof scan);
  memset(&scratch, 0, sizeof scratch);
  pthread_mutex_lock(&j->mu);
  w.last_seq = j->synced_seq;
  rc = j->poisoned ? MEDSHIM_EPOISONED : MEDSHIM_OK;
  pthread_mutex_unlock(&j->mu);
  if (rc != MEDSHIM_OK)
    return medshim__jfail(j, rc, "handle unusable after a failed write");
  w.j = j;
  w.fn = fn;
  w.take_fn = take_fn;
  w.payload = payload;
  w.scan = &scan;
  /* Walk with a crypto context of our own: the handle's are used by other
   * threads under the lock while the callback runs without it. */
  scan.dir = j->dir;
  scan.keys = &j->keys;
  scan.crypto = medshim__jcrypto_new(j->keys.suite);
  scan.scratch = &scratch;
  scan.want_claim_body = 1;
  scan.salvage = j->salvage;
  scan.fn = walk_record;
  scan.payload = &w;
  if (scan.crypto == NULL)
    return medshim__jfail(j, MEDSHIM_ENOMEM, "out of memory");
  rc = medshim__jscan_run(&scan);
  if (rc == MEDSHIM_ECORRUPT)
    medshim__jfail(j, rc, "%s",
                   scan.report.text[0] ? scan.report.text
                                       : "claim record malformed");
  medshim__jcrypto_free(scan.crypto);
  medshim__jscratch_free(&scratch);
  if (scan.segs != NULL) {
    medshim__secmem_array_free(scan.segs);
  }
  if (w.buf != NULL) {
    medshim__wipe(w.buf, w.cap);
    free(w.buf);
  }
  return rc;
}

int medshim_journal_foreach(medshim_journal *j, medshim_journal_visit_fn fn,
                            void *payload) {
  return walk(j, fn, NULL, payload);
}

int medshim__journal_foreach_take(medshim_journal *j,
                                  medshim__journal_take_fn fn, void *payload) {
  return walk(j, NULL, fn, payload);
}
