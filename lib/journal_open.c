/* Opening a journal handle: the directory, the writer lock, the keys, the
 * scan that builds the index (trimming a torn tail), the replay lane; and
 * closing it with a checkpoint. */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "claim_status_internal.h"
#include "errors_internal.h"
#include "io_internal.h"
#include "journal_checkpoint_internal.h"
#include "journal_handle_internal.h"
#include "journal_lane_internal.h"
#include "journal_open_internal.h"
#include "journal_write_internal.h"
#include "keyfile_internal.h"
#include "keyring_internal.h"
#include "memory_internal.h"
#include "safedir_internal.h"
#include "secmem_internal.h"
#include "versioned_internal.h"

int medshim_journal_options_init(medshim_journal_options *opts,
                                 unsigned int version) {
  /* A caller built against version 1 has the smaller struct: zero only
   * what it has. */
  if (opts != NULL && version == 1) {
    memset(opts, 0, offsetof(medshim_journal_options, key_fn2));
    opts->version = 1;
    return MEDSHIM_OK;
  }
  return MEDSHIM__VERSIONED_INIT(opts, version,
                                 MEDSHIM_JOURNAL_OPTIONS_VERSION);
}

int medshim__journal_options_read(medshim_journal_options *dst,
                                  const medshim_journal_options *src) {
  memset(dst, 0, sizeof *dst);
  if (src == NULL)
    return -1;
  if (src->version == 1) /* the fields up to segment_max_bytes */
    memcpy(dst, src, offsetof(medshim_journal_options, key_fn2));
  else if (src->version == MEDSHIM_JOURNAL_OPTIONS_VERSION)
    *dst = *src;
  else
    return -1;
  dst->version = MEDSHIM_JOURNAL_OPTIONS_VERSION;
  return 0;
}

unsigned int medshim_journal_suite(const medshim_journal *j) {
  return j != NULL && j->keys.suite != NULL ? j->keys.suite->id
                                            : MEDSHIM_JOURNAL_SUITE_DEFAULT;
}

const char *medshim_journal_suite_name(unsigned int suite) {
  const medshim__jsuite *s = medshim__jsuite_get(suite);
  return s != NULL ? s->name : NULL;
}

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
      return MEDSHIM__FAIL(MEDSHIM_ENOMEM);
    e->claim_seg = seg_index;
    e->claim_off = off;
    e->seq = e->claim_seq = rec->seq;
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
int medshim__journal_lock(medshim_journal *j, medshim_error *err) {
  return take_lock(j, err);
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
  medshim_journal_options o;
  open_ctx oc;
  int rc, create;

  memset(&oc, 0, sizeof oc);
  if (out != NULL)
    *out = NULL;
  if (out == NULL || dir == NULL || *dir == '\0')
    return medshim__error_set(err, MEDSHIM_EINVAL, "dir", "is required");
  if (medshim__journal_options_read(&o, opts) != 0)
    return medshim__error_set(err, MEDSHIM_EINVAL, "opts",
                              "options missing or of an unknown version");
  opts = &o;
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
  if ((rc = medshim__jkeys_load(&j->keys, j->dir, create, o.suite, err)) !=
      MEDSHIM_OK)
    goto fail;
  if (medshim__journal_crypto_init(j) != 0) {
    rc = medshim__error_set(err, MEDSHIM_ENOMEM, "",
                            "cannot set up the %s suite's algorithms",
                            j->keys.suite->name);
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
  *out = j;
  return MEDSHIM_OK;
fail:
  medshim__wipe(j->keys.kek, sizeof j->keys.kek);
  medshim__journal_free(j);
  return rc;
}

int medshim_journal_salvage_report(const medshim_journal *j,
                                   medshim_verify_report *out) {
  if (j == NULL || out == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
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
    rc = medshim__journal_commit(j, 0, j->written_seq);
    while (j->syncing)
      pthread_cond_wait(&j->cv, &j->mu);
    if (rc == MEDSHIM_OK)
      rc = medshim__journal_finish_segment(j); /* unused space given back */
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
  medshim__journal_free(j);
  return rc;
}

int medshim_journal_close(medshim_journal *j) {
  return medshim__journal_close_err(j, NULL);
}
