/* The journal handle: open (index by streaming), defer with group commit,
 * status changes, lookups and walks, close with a checkpoint. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "claim_internal.h"
#include "claim_status_internal.h"
#include "errors_internal.h"
#include "io_internal.h"
#include "journal_internal.h"
#include "keyfile_internal.h"
#include "keyring_internal.h"
#include "memory_internal.h"
#include "safedir_internal.h"
#include "secmem_internal.h"
#include "timeutil_internal.h"

#define DEFAULT_SEGMENT_MAX (64ull << 20)

int medshim_journal_options_init(medshim_journal_options *opts,
                                 unsigned int version) {
  if (opts == NULL || version != MEDSHIM_JOURNAL_OPTIONS_VERSION)
    return MEDSHIM_EINVAL;
  memset(opts, 0, sizeof *opts);
  opts->version = version;
  return MEDSHIM_OK;
}

const char *medshim_journal_errmsg(const medshim_journal *j) {
  return j == NULL ? "" : j->errmsg;
}

/* Record the failure text on the handle and return code. Once the handle
 * is poisoned, the text of the failure that poisoned it stays: a later
 * MEDSHIM_EPOISONED keeps reporting the first cause (a full disk, and which
 * file), not a generic "handle unusable". */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int fail(medshim_journal *j, int code, const char *fmt, ...) {
  va_list ap;
  if (j->poisoned && code == MEDSHIM_EPOISONED && j->errmsg_is_cause)
    return code;
  va_start(ap, fmt);
  medshim__vfmt(j->errmsg, sizeof j->errmsg, fmt, ap);
  va_end(ap);
  j->errmsg_is_cause = 0;
  return code;
}

int medshim__journal_fail(medshim_journal *j, int code, const char *text) {
  pthread_mutex_lock(&j->mu);
  (void)fail(j, code, "%s", text);
  pthread_mutex_unlock(&j->mu);
  return code;
}

/* Once a write or sync failed, nothing more is written or acknowledged.
 * text: what failed and why; only the first one is kept. */
static int poison_as(medshim_journal *j, const char *text) {
  if (!(j->poisoned && j->errmsg_is_cause)) {
    medshim__fmt(j->errmsg, sizeof j->errmsg, "%s", text);
    j->errmsg_is_cause = 1;
  }
  j->poisoned = 1;
  pthread_cond_broadcast(&j->cv);
  return MEDSHIM_EIO;
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

static int commit(medshim_journal *j, size_t staged, uint64_t target);
static int lane_sync(medshim_journal *j, uint64_t target);
static int finish_segment(medshim_journal *j);

/* ---- index building while scanning ----------------------------------- */

typedef struct open_ctx {
  medshim__jscan scan;
  medshim__jindex *ix;
} open_ctx;

static int index_damage(open_ctx *o, uint32_t seg_index, uint64_t off,
                        const medshim__jrec *rec, medshim_damage kind,
                        const char *what) {
  medshim_verify_report *r = &o->scan.report;
  if (o->scan.salvage) { /* noted, and the record left out */
    o->scan.skipped++;
    if (r->damage != MEDSHIM_DAMAGE_NONE)
      return MEDSHIM_OK;
  }
  r->damage = kind;
  r->segment = o->scan.segs[seg_index].segno;
  r->seq = rec->seq;
  r->offset = off;
  medshim__fmt(r->text, sizeof r->text,
               "segment %" PRIu64 ", record %" PRIu64 " at offset %" PRIu64
               ": %s", r->segment, rec->seq, off, what);
  return o->scan.salvage ? MEDSHIM_OK : MEDSHIM_ECORRUPT;
}

/* Called for each authentic record while opening: builds the index. */
static int index_record(void *payload, uint32_t seg_index, uint64_t off,
                        const medshim__jrec *rec) {
  open_ctx *o = payload;
  medshim__jentry *e = medshim__jindex_find(o->ix, rec->id, rec->id_len);
  medshim_claim_status st;
  if (rec->type == JF_REC_CLAIM) {
    if (e != NULL)
      return index_damage(o, seg_index, off, rec, MEDSHIM_DAMAGE_SEQUENCE,
                          "a second claim record for the same visit_id");
    e = medshim__jindex_add(o->ix, rec->id, rec->id_len);
    if (e == NULL)
      return MEDSHIM_ENOMEM;
    e->claim_seg = seg_index;
    e->claim_off = off;
    e->seq = rec->seq;
    e->state = MEDSHIM_STATE_PENDING;
    memcpy(e->digest, rec->digest, JF_DIGEST_BYTES);
    return MEDSHIM_OK;
  }
  if (e == NULL || rec->body == NULL ||
      medshim__status_decode(&st, NULL, 0, NULL, rec->body, rec->body_len) !=
          MEDSHIM_OK)
    return index_damage(o, seg_index, off, rec, MEDSHIM_DAMAGE_BAD_RECORD,
                        "status change for an unknown claim, or malformed");
  e->status_seg = seg_index;
  e->status_off = off;
  e->seq = rec->seq;
  e->state = (uint8_t)st.state;
  return MEDSHIM_OK;
}

/* ---- open / close ---------------------------------------------------- */

/* The journal directory exists (created when asked) and no other local
 * user can plant or replace files in it (see safedir.c). */
static int ensure_dir(medshim_journal *j, int create, medshim_error *err) {
  medshim__os_finfo st;
  int dfd, rc;
  if (medshim__os_stat(j->dir, &st) == 0) {
    if (!st.is_dir)
      return medshim__error_set(err, MEDSHIM_EINVAL, j->dir,
                                "is not a directory");
  } else if (errno != ENOENT || !create) {
    return medshim__error_set(err, MEDSHIM_ENOTFOUND, j->dir,
                              "no journal here: %s", strerror(errno));
  } else {
    char *parent;
    if (medshim__io_mkdir(j->dir) != 0)
      return medshim__error_set(err, MEDSHIM_EIO, j->dir,
                                "cannot create the journal directory: %s",
                                medshim__io_strerror(errno));
    if ((parent = medshim__os_dirname(j->dir)) == NULL)
      return medshim__error_set(err, MEDSHIM_ENOMEM, j->dir, "out of memory");
    if (medshim__io_fsync_dir(parent) != 0) {
      rc = medshim__error_set(err, MEDSHIM_EIO, parent,
                              "cannot sync directory: %s",
                              medshim__io_strerror(errno));
      free(parent);
      return rc;
    }
    free(parent);
  }
  if ((rc = medshim__dir_open(j->dir, MEDSHIM__DIR_JOURNAL, &dfd, err)) !=
      MEDSHIM_OK)
    return rc;
  medshim__os_close(dfd);
  return MEDSHIM_OK;
}

/* LOCK: created new (O_EXCL) or opened as it is, never through a link. */
static int take_lock(medshim_journal *j, medshim_error *err) {
  medshim__os_finfo st;
  int dfd, rc;
  if ((rc = medshim__dir_open(j->dir, MEDSHIM__DIR_JOURNAL, &dfd, err)) !=
      MEDSHIM_OK)
    return rc;
  j->lock_fd = medshim__io_create_at(dfd, JF_LOCK_NAME, MEDSHIM__OS_RDWR);
  if (j->lock_fd < 0 && errno == EEXIST)
    j->lock_fd = medshim__io_open_at(dfd, JF_LOCK_NAME, MEDSHIM__OS_RDWR | MEDSHIM__OS_NONBLOCK);
  if (j->lock_fd < 0 || medshim__os_fstat(j->lock_fd, &st) != 0 || !st.is_reg) {
    int saved = j->lock_fd < 0 ? errno : 0;
    if (j->lock_fd >= 0)
      medshim__os_close(j->lock_fd);
    j->lock_fd = -1;
    medshim__os_close(dfd);
    return medshim__error_set(err, MEDSHIM_EIO, JF_LOCK_NAME,
                              "cannot open %s/%s: %s", j->dir, JF_LOCK_NAME,
                              saved == ELOOP ? "it is a symbolic link"
                              : saved != 0   ? strerror(saved)
                                             : "not a regular file");
  }
  medshim__os_close(dfd);
  /* A lock per open file (flock, not fcntl, on POSIX): a second handle in
   * the same process must be refused as well. */
  if (medshim__os_lock(j->lock_fd, 0) != 0) {
    int busy = errno == EWOULDBLOCK;
    medshim__os_close(j->lock_fd);
    j->lock_fd = -1;
    if (busy)
      return medshim__error_set(err, MEDSHIM_EBUSY, j->dir,
                                "journal busy: another process or handle is "
                                "writing to it");
    return medshim__error_set(err, MEDSHIM_EIO, JF_LOCK_NAME,
                              "cannot lock %s/%s: %s", j->dir, JF_LOCK_NAME,
                              strerror(errno));
  }
  return MEDSHIM_OK;
}

/* Remove what a crash left half-written at the end of the last segment. */
static int trim_torn_tail(medshim_journal *j, const medshim__jscan *s,
                          uint64_t last_segno, medshim_error *err) {
  char name[64];
  int dfd, fd, rc;
  medshim__segment_name(name, sizeof name, last_segno);
  if ((rc = medshim__dir_open(j->dir, MEDSHIM__DIR_JOURNAL, &dfd, err)) !=
      MEDSHIM_OK)
    return rc;
  if (s->torn_segment_empty) {
    if (medshim__io_unlink_at(dfd, name) != 0 || medshim__io_fsync(dfd) != 0)
      rc = medshim__error_set(err, MEDSHIM_EIO, name,
                              "cannot remove a half-created segment %s/%s: %s",
                              j->dir, name, medshim__io_strerror(errno));
    medshim__os_close(dfd);
    return rc;
  }
  fd = medshim__io_open_at(dfd, name, MEDSHIM__OS_WRITE);
  if (fd < 0 || medshim__io_truncate(fd, (int64_t)s->torn_offset) != 0 ||
      medshim__io_fsync(fd) != 0) {
    int saved = errno;
    rc = medshim__error_set(err, MEDSHIM_EIO, name,
                            "cannot trim the torn tail of %s/%s: %s", j->dir,
                            name, medshim__io_strerror(saved));
  }
  if (fd >= 0)
    medshim__os_close(fd);
  medshim__os_close(dfd);
  return rc;
}

static void journal_free(medshim_journal *j) {
  if (j == NULL)
    return;
  /* The lane first: it syncs what was written without a sync of its own
   * and writes its checkpoint. */
  if (j->lane != NULL)
    medshim_journal_close(j->lane);
  if (j->fd >= 0)
    medshim__os_close(j->fd);
  for (size_t i = 0; i < j->nsegs; i++)
    if (j->segs[i].rfd >= 0)
      medshim__os_close(j->segs[i].rfd);
  if (j->segs != NULL) {
    medshim__secmem_array_free(j->segs);
  }
  if (j->lock_fd >= 0)
    medshim__os_close(j->lock_fd); /* releases the flock */
  medshim__jindex_free(&j->ix);
  medshim__jcrypto_free(j->wcrypto);
  medshim__jcrypto_free(j->rcrypto);
  for (size_t i = 0; i < j->nprep_pool; i++)
    medshim__jprep_free(j->prep_pool[i]);
  pthread_mutex_destroy(&j->prep_mu);
  medshim__jscratch_free(&j->wscratch);
  medshim__jscratch_free(&j->rscratch);
  if (j->wbuf != NULL) {
    medshim__wipe(j->wbuf, j->wbuf_cap);
    free(j->wbuf);
  }
  medshim__wipe(&j->keys, sizeof j->keys);
  pthread_mutex_destroy(&j->mu);
  pthread_cond_destroy(&j->cv);
  free(j->dir);
  medshim__secmem_free(j, sizeof *j);
}

void medshim__journal_free(medshim_journal *j) { journal_free(j); }

int medshim__journal_lock(medshim_journal *j, medshim_error *err) {
  return take_lock(j, err);
}

medshim_journal *medshim__journal_new(const char *dir) {
  /* in locked pages kept out of core dumps: the keys live in it */
  medshim_journal *j = medshim__secmem_alloc(sizeof *j);
  if (j == NULL)
    return NULL;
  j->fd = -1;
  j->lock_fd = -1;
  pthread_mutex_init(&j->mu, NULL);
  pthread_cond_init(&j->cv, NULL);
  pthread_mutex_init(&j->prep_mu, NULL);
  medshim__jindex_init(&j->ix);
  j->seg_max = DEFAULT_SEGMENT_MAX;
  j->dir = strdup(dir);
  j->wcrypto = medshim__jcrypto_new();
  j->rcrypto = medshim__jcrypto_new();
  if (j->dir == NULL || j->wcrypto == NULL || j->rcrypto == NULL) {
    journal_free(j);
    return NULL;
  }
  return j;
}

static void free_segs(medshim__jseg *segs, size_t n, size_t cap) {
  if (segs == NULL)
    return;
  for (size_t i = 0; i < n; i++)
    if (segs[i].rfd >= 0)
      medshim__os_close(segs[i].rfd);
  (void)cap;
  medshim__secmem_array_free(segs);
}

int medshim__journal_load(medshim_journal *j, medshim__jscan *scan,
                          medshim_error *err) {
  const char *lane = j->parent != NULL ? "replay lane: " : "";
  const char *where = j->parent != NULL ? "replay lane" : "journal";
  uint64_t *segnos = NULL;
  size_t nseg = 0;
  int rc = MEDSHIM_OK, ckrc;

  scan->dir = j->dir;
  scan->keys = &j->keys;
  scan->crypto = j->rcrypto;
  scan->scratch = &j->rscratch;
  scan->have_checkpoint = 0;
  scan->salvage = j->salvage;
  ckrc = j->salvage ? MEDSHIM_EIO /* not used */
                    : medshim__checkpoint_read(j->dir, &j->keys,
                                               &scan->checkpoint);
  if (j->salvage) {
    /* what the checkpoint would prove is not needed to read */
  } else if (ckrc == MEDSHIM_OK) {
    scan->have_checkpoint = 1;
    if (j->parent == NULL)
      j->lane_marked = (scan->checkpoint.flags & JF_CKPT_LANE) != 0;
  } else if (ckrc == MEDSHIM_ENOTFOUND) {
    if (medshim__segment_list(j->dir, &segnos, &nseg) == 0 && nseg > 0) {
      rc = medshim__error_set(err, MEDSHIM_ECORRUPT, JF_CHECKPOINT_NAME,
                              "%scheckpoint missing: it was removed; run "
                              "verify", lane);
      goto done;
    }
    if (!j->readonly) {
      medshim__jcheckpoint ck;
      memset(&ck, 0, sizeof ck);
      if ((rc = medshim__checkpoint_write(j->dir, &j->keys, &ck, err)) !=
          MEDSHIM_OK)
        goto done;
    }
  } else {
    rc = medshim__error_set(err, ckrc, JF_CHECKPOINT_NAME, "%s%s", lane,
                            ckrc == MEDSHIM_ECORRUPT
                                ? "checkpoint damaged or altered; run verify"
                                : "cannot read the checkpoint");
    goto done;
  }
  rc = medshim__jscan_run(scan);
  if (rc != MEDSHIM_OK) {
    medshim__error_set(err, rc, where, "%s%s", lane,
                       scan->report.text[0] ? scan->report.text
                                            : medshim_strerror(rc));
    goto done;
  }
  if (scan->torn && !j->readonly) {
    uint64_t last = scan->torn_segment_empty ? scan->nsegs + 1
                                             : scan->segs[scan->nsegs - 1].segno;
    if ((rc = trim_torn_tail(j, scan, last, err)) != MEDSHIM_OK)
      goto done;
  }
  free_segs(j->segs, j->nsegs, j->segs_cap);
  j->segs = scan->segs;
  j->nsegs = scan->nsegs;
  j->segs_cap = scan->nsegs ? scan->nsegs : 1;
  scan->segs = NULL;
  for (size_t i = 0; i < j->nsegs; i++)
    j->segs[i].rfd = -1;
  j->next_seq = scan->next_seq;
  memcpy(j->chain, scan->chain, JF_HASH_BYTES);
  j->written_seq = j->synced_seq = j->next_seq - 1;
  memcpy(j->written_chain, j->chain, JF_HASH_BYTES);
done:
  if (scan->segs != NULL) {
    medshim__secmem_array_free(scan->segs);
    scan->segs = NULL;
  }
  free(segnos);
  return rc;
}

/* A claim writer records in the main checkpoint that the replay lane
 * exists (creating it first), so that removing it is noticed: its statuses
 * would otherwise fall back to older ones and settled claims be resent. */
static int mark_lane(medshim_journal *j, medshim_error *err) {
  medshim__jcheckpoint ck;
  int rc = medshim__lane_ensure(j, err);
  if (rc <= 0)
    return rc; /* 0: another process is creating it; the next open marks */
  memset(&ck, 0, sizeof ck);
  ck.segno = j->nsegs;
  ck.seq = j->next_seq - 1;
  memcpy(ck.chain, j->chain, JF_HASH_BYTES);
  ck.flags = JF_CKPT_LANE;
  if ((rc = medshim__checkpoint_write(j->dir, &j->keys, &ck, err)) != MEDSHIM_OK)
    return rc;
  j->lane_marked = 1;
  return MEDSHIM_OK;
}

int medshim_journal_open(medshim_journal **out, const char *dir,
                         const medshim_journal_options *opts,
                         medshim_error *err) {
  medshim_journal *j = NULL;
  open_ctx oc;
  uint64_t *segnos = NULL;
  size_t nseg = 0;
  int rc, create;

  memset(&oc, 0, sizeof oc);
  if (out != NULL)
    *out = NULL;
  if (out == NULL || dir == NULL || *dir == '\0')
    return medshim__error_set(err, MEDSHIM_EINVAL, "dir", "is required");
  if (opts == NULL || opts->version != MEDSHIM_JOURNAL_OPTIONS_VERSION)
    return medshim__error_set(err, MEDSHIM_EINVAL, "opts",
                              "options missing or of an unknown version");
  if ((opts->flags & MEDSHIM_JOURNAL_READONLY) != 0 &&
      (opts->flags & MEDSHIM_JOURNAL_REPLAY) != 0)
    return medshim__error_set(err, MEDSHIM_EINVAL, "opts",
                              "READONLY and REPLAY exclude each other");
  if ((opts->flags & MEDSHIM_JOURNAL_SALVAGE) != 0 &&
      (opts->flags & (MEDSHIM_JOURNAL_REPLAY | MEDSHIM_JOURNAL_CREATE)) != 0)
    return medshim__error_set(err, MEDSHIM_EINVAL, "opts",
                              "SALVAGE is read-only: no CREATE or REPLAY");
  j = medshim__journal_new(dir);
  if (j == NULL)
    return medshim__error_set(err, MEDSHIM_ENOMEM, "", "out of memory");
  /* REPLAY: the claims are read-only (no claim lock), statuses writable. */
  j->salvage = (opts->flags & MEDSHIM_JOURNAL_SALVAGE) != 0;
  j->readonly = (opts->flags & (MEDSHIM_JOURNAL_READONLY | MEDSHIM_JOURNAL_REPLAY |
                                MEDSHIM_JOURNAL_SALVAGE)) != 0;
  j->status_writable = (opts->flags & (MEDSHIM_JOURNAL_READONLY |
                                       MEDSHIM_JOURNAL_SALVAGE)) == 0;
  create = !j->readonly && (opts->flags & MEDSHIM_JOURNAL_CREATE) != 0;
  if (opts->segment_max_bytes)
    j->seg_max = opts->segment_max_bytes;
  if ((rc = ensure_dir(j, create, err)) != MEDSHIM_OK)
    goto fail;
  if ((rc = medshim__kek_obtain(j->keys.kek, opts, err)) != MEDSHIM_OK)
    goto fail;
  if (!j->readonly && (rc = take_lock(j, err)) != MEDSHIM_OK)
    goto fail;
  rc = medshim__keyring_open(j->dir, j->keys.kek, j->keys.dk, j->keys.id, err);
  if (rc == MEDSHIM_ENOTFOUND && create) {
    if (medshim__segment_list(j->dir, &segnos, &nseg) == 0 && nseg > 0) {
      rc = medshim__error_set(err, MEDSHIM_ECORRUPT, JF_KEYRING_NAME,
                              "keyring missing but segments exist in %s",
                              j->dir);
      goto fail;
    }
    rc = medshim__keyring_create(j->dir, j->keys.kek, j->keys.dk, j->keys.id,
                                 err);
  }
  medshim__wipe(j->keys.kek, sizeof j->keys.kek);
  if (rc != MEDSHIM_OK)
    goto fail;
  if (medshim__jkeys_derive(&j->keys) != 0) {
    rc = medshim__error_set(err, MEDSHIM_ECRYPTO, "", "key derivation failed");
    goto fail;
  }

  oc.scan.want_status_body = 1; /* statuses of journals from before the lane */
  oc.scan.fn = index_record;
  oc.scan.payload = &oc;
  oc.ix = &j->ix;
  if ((rc = medshim__journal_load(j, &oc.scan, err)) != MEDSHIM_OK)
    goto fail;
  atomic_store(&j->nclaims, j->ix.count);
  if (j->salvage) {
    j->salvaged = oc.scan.report;
    j->salvaged.version = MEDSHIM_VERIFY_REPORT_VERSION;
    j->salvaged.segments = oc.scan.skipped; /* damaged places passed */
  }
  if ((rc = medshim__lane_open(j, err)) != MEDSHIM_OK) {
    if (!j->salvage)
      goto fail;
    /* Salvage: the claims without the statuses the lane would add */
    if (j->salvaged.damage == MEDSHIM_DAMAGE_NONE) {
      j->salvaged.damage = MEDSHIM_DAMAGE_BAD_RECORD;
      medshim__fmt(j->salvaged.text, sizeof j->salvaged.text,
                   "replay lane unreadable (%s): claims show the status the "
                   "main lane gives them", err ? err->text : "damaged");
    }
    j->salvaged.segments++;
    medshim_journal_close(j->lane);
    j->lane = NULL;
    rc = MEDSHIM_OK;
  }
  if (!j->readonly && j->parent == NULL && !j->lane_marked &&
      (rc = mark_lane(j, err)) != MEDSHIM_OK)
    goto fail;
  free(segnos);
  *out = j;
  return MEDSHIM_OK;
fail:
  medshim__wipe(j->keys.kek, sizeof j->keys.kek);
  free(segnos);
  journal_free(j);
  return rc;
}

int medshim_journal_salvage_report(const medshim_journal *j,
                                   medshim_verify_report *out) {
  if (j == NULL || out == NULL)
    return MEDSHIM_EINVAL;
  memset(out, 0, sizeof *out);
  out->version = MEDSHIM_VERIFY_REPORT_VERSION;
  if (!j->salvage)
    return MEDSHIM_OK;
  *out = j->salvaged;
  if (j->lane != NULL && j->lane->salvaged.damage != MEDSHIM_DAMAGE_NONE) {
    if (out->damage == MEDSHIM_DAMAGE_NONE) {
      *out = j->lane->salvaged;
      medshim__fmt(out->text, sizeof out->text, "replay lane: %s",
                   j->lane->salvaged.text);
    }
    out->segments = j->salvaged.segments + j->lane->salvaged.segments;
  }
  return out->damage == MEDSHIM_DAMAGE_NONE ? MEDSHIM_OK : MEDSHIM_ECORRUPT;
}

int medshim_journal_sync(medshim_journal *j) {
  int rc;
  if (j == NULL)
    return MEDSHIM_EINVAL;
  pthread_mutex_lock(&j->mu);
  rc = j->readonly || j->fd < 0 ? MEDSHIM_OK : commit(j, 0, j->written_seq);
  pthread_mutex_unlock(&j->mu);
  if (rc == MEDSHIM_OK && j->lane != NULL)
    rc = lane_sync(j, 0);
  return rc;
}

int medshim__journal_close_err(medshim_journal *j, medshim_error *err) {
  int rc = MEDSHIM_OK, lane_rc = MEDSHIM_OK;
  if (j == NULL)
    return MEDSHIM_OK;
  if (!j->readonly && j->poisoned) {
    /* reported when it happened; said again: no checkpoint was written */
    rc = medshim__error_set(err, MEDSHIM_EPOISONED, "journal", "%s",
                            j->errmsg);
  } else if (!j->readonly && j->fd >= 0) {
    medshim__jcheckpoint ck;
    medshim_error e;
    pthread_mutex_lock(&j->mu);
    /* records written without a sync of their own become durable here */
    rc = commit(j, 0, j->written_seq);
    while (j->syncing)
      pthread_cond_wait(&j->cv, &j->mu);
    if (rc == MEDSHIM_OK)
      rc = finish_segment(j); /* its unused space given back */
    if (rc != MEDSHIM_OK) {
      rc = medshim__error_set(err, rc, "journal", "%s", j->errmsg);
    } else if (j->synced_seq == j->written_seq) {
      /* Everything acknowledged is already synced; the checkpoint only has
       * to cover what was synced. */
      ck.segno = j->nsegs;
      ck.seq = j->synced_seq;
      memcpy(ck.chain, j->chain, JF_HASH_BYTES);
      ck.flags = j->lane_marked ? JF_CKPT_LANE : 0;
      memset(&e, 0, sizeof e);
      if (medshim__checkpoint_write(j->dir, &j->keys, &ck, &e) != MEDSHIM_OK)
        rc = medshim__error_set(err, MEDSHIM_EIO, e.where,
                                "the checkpoint was not updated at close: %s "
                                "(every acknowledged claim is on disk)",
                                e.text);
    }
    pthread_mutex_unlock(&j->mu);
  }
  if (j->lane != NULL) {
    /* What journal_free would do, but said: the lane syncs what was
     * written without a sync of its own and writes its checkpoint. */
    medshim_error le;
    memset(&le, 0, sizeof le);
    lane_rc = medshim__journal_close_err(j->lane, &le);
    j->lane = NULL;
    if (lane_rc != MEDSHIM_OK && rc == MEDSHIM_OK)
      rc = medshim__error_set(err, lane_rc, "replay lane", "replay lane: %s",
                              le.text);
  }
  journal_free(j);
  return rc;
}

int medshim_journal_close(medshim_journal *j) {
  return medshim__journal_close_err(j, NULL);
}

size_t medshim_journal_count(const medshim_journal *j) {
  /* read without the lock (it is const here): the writers publish it */
  return j == NULL ? 0 : atomic_load(&j->nclaims);
}

/* ---- writing ----------------------------------------------------------- */

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
static int finish_segment(medshim_journal *j) {
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

/* Write n staged bytes at the end of the current segment's records,
 * allocating more space first when they do not fit. */
static int append_staged(medshim_journal *j, size_t n) {
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
    int rc = finish_segment(j);
    if (rc != MEDSHIM_OK)
      return rc;
    medshim__os_close(j->fd);
    j->fd = -1;
  }
  if (j->nsegs == j->segs_cap || j->segs == NULL) {
    size_t cap = j->segs_cap ? j->segs_cap * 2 : 4;
    medshim__jseg *n = medshim__secmem_array(cap, sizeof *n);
    if (n == NULL)
      return fail(j, MEDSHIM_ENOMEM, "out of memory");
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
    return fail(j, MEDSHIM_ECRYPTO, "cannot set up a new segment's keys");
  an.counter = 1;
  if (medshim__anchor_build(area + medshim__anchor_slot_offset(1), &j->keys,
                            &an) != 0)
    return fail(j, MEDSHIM_ECRYPTO, "cannot set up a new segment's keys");
  medshim__segment_name(name, sizeof name, segno);
  {
    medshim_error e;
    memset(&e, 0, sizeof e);
    if (medshim__dir_open(j->dir, MEDSHIM__DIR_JOURNAL, &dfd, &e) != MEDSHIM_OK)
      return poison_text(j, e.text);
  }
  /* Records are written at their offsets (not appended) into space
   * allocated ahead, so a group commit's fdatasync has no file size to
   * flush (see grow_segment). */
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

/* Records up to next_seq - 1 are now in the file. */
static void mark_written(medshim_journal *j) {
  j->written_seq = j->next_seq - 1;
  j->written_end = j->segs[j->nsegs - 1].end;
  memcpy(j->written_chain, j->chain, JF_HASH_BYTES);
}

/* Make sure the current segment can take incoming bytes, rolling to a new
 * one if not. A roll waits for an fdatasync in flight on the old segment;
 * the wait releases the lock, so the state is checked again after it. */
static int ensure_segment(medshim_journal *j, size_t incoming) {
  for (;;) {
    if (j->poisoned)
      return fail(j, MEDSHIM_EPOISONED,
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
    if ((rc = append_staged(j, *staged)) != MEDSHIM_OK)
      return rc;
    mark_written(j);
    *staged = before = 0;
  }
  if ((rc = ensure_segment(j, *staged + body_len + 4096)) != MEDSHIM_OK)
    return rc;
  seg = &j->segs[j->nsegs - 1];
  rc = medshim__jrec_seal(j->wcrypto, &j->wscratch, seg->key, j->next_seq,
                          j->chain, in, &j->wbuf, &j->wbuf_cap, staged, tag);
  if (rc != MEDSHIM_OK)
    return fail(j, rc, "cannot seal a record: %s", medshim_strerror(rc));
  if (medshim__chain_next(j->wcrypto, j->chain, j->wbuf + before, JF_RECORD_HEADER_BYTES,
                          tag) != 0)
    return fail(j, MEDSHIM_ECRYPTO, "cannot extend the running hash");
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
static int commit(medshim_journal *j, size_t staged, uint64_t target) {
  if (staged > 0) {
    int rc = append_staged(j, staged);
    if (rc != MEDSHIM_OK)
      return rc;
    mark_written(j);
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
    return fail(j, MEDSHIM_EPOISONED,
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
  return z != NULL ? z : medshim__jprep_new();
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
    return MEDSHIM_EINVAL;
  if (count == 0)
    return MEDSHIM_OK;
  if (j->readonly)
    return fail(j, MEDSHIM_EREADONLY, "journal opened read-only");
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
    rc = fail(j, MEDSHIM_EPOISONED,
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
    e->seq = j->next_seq - 1;
    e->state = MEDSHIM_STATE_PENDING;
    memcpy(e->digest, dig[i], JF_DIGEST_BYTES);
    results[i] = MEDSHIM_DEFER_STORED;
    target = e->seq;
    atomic_store(&j->nclaims, j->ix.count);
  }
  rc = commit(j, staged, wait ? target : 0);
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
    return MEDSHIM_EINVAL;
  rc = medshim_journal_defer_batch(j, &claim, 1, &result);
  if (rc != MEDSHIM_OK)
    return rc;
  if (result < 0)
    return fail(j, result, "visit_id %s is already stored with different "
                "content; nothing was written", claim->visit_id);
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
    /* the lane's first cause becomes the handle's (see fail()) */
    char text[sizeof j->errmsg];
    medshim__fmt(text, sizeof text, "replay lane: %s", lane_msg);
    (void)poison_as(j, text);
  } else {
    (void)fail(j, rc, "replay lane: %s", lane_msg);
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
    rc = commit(lane, 0, target ? target : lane->written_seq);
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
    return MEDSHIM_EINVAL;
  if (!j->status_writable || j->lane == NULL)
    return fail(j, MEDSHIM_EREADONLY, "journal opened read-only");
  lane = j->lane;
  body = malloc(MEDSHIM__STATUS_MAX_BYTES);
  if (body == NULL)
    return fail(j, MEDSHIM_ENOMEM, "out of memory");
  body_len = medshim__status_encode(body, status, steps, nsteps);
  if (body_len == 0) {
    free(body);
    return fail(j, MEDSHIM_EINVAL, "status has an unknown state, an overlong "
                "text or too many steps");
  }
  id_len = strlen(visit_id);
  pthread_mutex_lock(&j->mu);
  if (j->poisoned) {
    rc = fail(j, MEDSHIM_EPOISONED,
              "an earlier write or sync failed; nothing more is accepted");
    goto unlock_journal;
  }
  e = medshim__jindex_find(&j->ix, visit_id, id_len);
  if (e == NULL) {
    rc = fail(j, MEDSHIM_ENOTFOUND, "no claim with visit_id %.64s", visit_id);
    goto unlock_journal;
  }
  /* Never a durable status for a claim that is not: a crash would leave a
   * status without its claim. This handle's own unsynced claims are synced
   * first (a REPLAY handle syncs what it read when it takes the lane). */
  if (!j->readonly && e->seq > j->synced_seq) {
    if ((rc = commit(j, 0, e->seq)) != MEDSHIM_OK)
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
    rc = commit(lane, staged, 0); /* written, not yet synced */
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
    rc = commit(lane, 0, seq);
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

/* ---- reading ----------------------------------------------------------- */

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
      return fail(j, MEDSHIM_ENOMEM, "out of memory");
    seg->rfd = medshim__os_open(path, MEDSHIM__OS_READ);
    saved = errno;
    if (seg->rfd < 0) {
      fail(j, MEDSHIM_EIO, "cannot open %s: %s", path, strerror(saved));
      free(path);
      return MEDSHIM_EIO;
    }
    free(path);
  }
  if (medshim__io_pread_full(seg->rfd, hdr, sizeof hdr, (int64_t)off) !=
      (long long)sizeof hdr)
    return fail(j, MEDSHIM_ECORRUPT, "segment %" PRIu64 " offset %" PRIu64
                ": record header unreadable", seg->segno, off);
  len = jf_get32(hdr);
  if (len > JF_RECORD_MAX || len < JF_RECORD_OVERHEAD)
    return fail(j, MEDSHIM_ECORRUPT, "segment %" PRIu64 " offset %" PRIu64
                ": record length invalid", seg->segno, off);
  if (*cap < len) {
    unsigned char *n = realloc(*buf, len);
    if (n == NULL)
      return fail(j, MEDSHIM_ENOMEM, "out of memory");
    *buf = n;
    *cap = len;
  }
  if (medshim__io_pread_full(seg->rfd, *buf, len, (int64_t)off) != (long long)len)
    return fail(j, MEDSHIM_ECORRUPT, "segment %" PRIu64 " offset %" PRIu64
                ": record cut short", seg->segno, off);
  if (medshim__jrec_open(j->rcrypto, &j->rscratch, seg->key, *buf, len, 1,
                         rec) != JREC_OK)
    return fail(j, MEDSHIM_ECORRUPT, "segment %" PRIu64 " offset %" PRIu64
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
      return fail(j, MEDSHIM_ECORRUPT, "status record malformed");
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
    return MEDSHIM_EINVAL;
  pthread_mutex_lock(&j->mu);
  e = medshim__jindex_find(&j->ix, visit_id, strlen(visit_id));
  rc = e == NULL ? fail(j, MEDSHIM_ENOTFOUND, "no claim with that visit_id")
                 : entry_status_steps(j, e, status, steps, cap, nsteps, &buf,
                                      &bcap);
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
    return MEDSHIM_EINVAL;
  pthread_mutex_lock(&j->mu);
  if (j->poisoned) {
    rc = fail(j, MEDSHIM_EPOISONED, "handle unusable after a failed write");
    goto cleanup;
  }
  e = medshim__jindex_find(&j->ix, visit_id, strlen(visit_id));
  if (e == NULL) {
    rc = fail(j, MEDSHIM_ENOTFOUND, "no claim with visit_id %.64s", visit_id);
    goto cleanup;
  }
  if ((rc = read_record(j, e->claim_seg, e->claim_off, &rec, &buf, &cap)) !=
      MEDSHIM_OK)
    goto cleanup;
  claim_seq = rec.seq;
  if (claim != NULL &&
      medshim__claim_decode(claim, rec.body, rec.body_len) != MEDSHIM_OK) {
    rc = fail(j, MEDSHIM_ECORRUPT, "claim record %" PRIu64 " malformed",
              rec.seq);
    goto cleanup;
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
    if (w->fn(claim, &st, w->payload) != 0) {
      w->user_stopped = 1;
      rc = MEDSHIM_EUSER;
    }
  }
  medshim_claim_free(claim);
  return rc;
}

int medshim_journal_foreach(medshim_journal *j, medshim_journal_visit_fn fn,
                            void *payload) {
  walk_ctx w;
  medshim__jscan scan;
  medshim__jscratch scratch;
  int rc;

  if (j == NULL || fn == NULL)
    return MEDSHIM_EINVAL;
  memset(&w, 0, sizeof w);
  memset(&scan, 0, sizeof scan);
  memset(&scratch, 0, sizeof scratch);
  pthread_mutex_lock(&j->mu);
  w.last_seq = j->synced_seq;
  rc = j->poisoned ? MEDSHIM_EPOISONED : MEDSHIM_OK;
  pthread_mutex_unlock(&j->mu);
  if (rc != MEDSHIM_OK)
    return fail(j, rc, "handle unusable after a failed write");
  w.j = j;
  w.fn = fn;
  w.payload = payload;
  w.scan = &scan;
  /* Walk with a crypto context of our own: the handle's are used by other
   * threads under the lock while the callback runs without it. */
  scan.dir = j->dir;
  scan.keys = &j->keys;
  scan.crypto = medshim__jcrypto_new();
  scan.scratch = &scratch;
  scan.want_claim_body = 1;
  scan.salvage = j->salvage;
  scan.fn = walk_record;
  scan.payload = &w;
  if (scan.crypto == NULL)
    return fail(j, MEDSHIM_ENOMEM, "out of memory");
  rc = medshim__jscan_run(&scan);
  if (rc == MEDSHIM_ECORRUPT)
    fail(j, rc, "%s", scan.report.text[0] ? scan.report.text
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

int medshim_journal_replay_key(char out[MEDSHIM_REPLAY_KEY_LEN + 1],
                               const medshim_journal *j, const char *visit_id) {
  static const char hex[] = "0123456789abcdef";
  unsigned char mac[JF_HASH_BYTES];
  if (out == NULL || j == NULL || visit_id == NULL)
    return MEDSHIM_EINVAL;
  /* The keys are fixed after open: no lock needed to read them. */
  if (medshim__hmac(mac, j->keys.replay, (const unsigned char *)visit_id,
                    strlen(visit_id)) != 0)
    return MEDSHIM_ECRYPTO;
  out[0] = 'M';
  out[1] = 'S';
  for (int i = 0; i < (MEDSHIM_REPLAY_KEY_LEN - 2) / 2; i++) {
    out[2 + 2 * i] = hex[mac[i] >> 4];
    out[3 + 2 * i] = hex[mac[i] & 15];
  }
  out[MEDSHIM_REPLAY_KEY_LEN] = '\0';
  return MEDSHIM_OK;
}
