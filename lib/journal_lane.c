/* The replay lane: status records in a chain of their own, in dir/replay,
 * with their own writer lock. So a replay, void or retry writes statuses
 * while another process holds the claims, and a process that holds the
 * claims replays while its cashiers defer. The lane is a journal handle of
 * its own on the subdirectory, with keys derived from the journal's: the
 * record, segment, checkpoint and group commit machinery is the journal's.
 * Here: opening the lane, feeding the index from it, taking its writer
 * lock, and checking it. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "claim_status_internal.h"
#include "errors_internal.h"
#include "io_internal.h"
#include "journal_internal.h"
#include "memory_internal.h"
#include "secmem_internal.h"

#define AT "segment %" PRIu64 ", record %" PRIu64 " at offset %" PRIu64 ": "

typedef struct lane_ctx {
  medshim__jscan scan;
  const medshim__jindex *claims; /* the main lane's claims */
  medshim__jindex *update;       /* entries to take statuses (NULL: check) */
  /* Statuses of visit_ids not in claims; an orphan's claim_seg, claim_off
   * and seq say where its first status record is. */
  medshim__jindex orphans;
} lane_ctx;

static int lane_damage(lane_ctx *c, uint32_t seg_index, uint64_t off,
                       const medshim__jrec *rec, const char *what) {
  medshim_verify_report *r = &c->scan.report;
  r->damage = MEDSHIM_DAMAGE_BAD_RECORD;
  r->segment = c->scan.segs[seg_index].segno;
  r->seq = rec->seq;
  r->offset = off;
  medshim__fmt(r->text, sizeof r->text, AT "%s", r->segment, rec->seq, off,
               what);
  if (c->scan.salvage) { /* noted; the record left out */
    c->scan.skipped++;
    return MEDSHIM_OK;
  }
  return MEDSHIM__FAIL(MEDSHIM_ECORRUPT);
}

/* Each authentic record of the lane, in order: the latest status of a
 * claim wins over older ones and over any in the main lane. */
static int lane_record(void *payload, uint32_t seg_index, uint64_t off,
                       const medshim__jrec *rec) {
  lane_ctx *c = payload;
  medshim_claim_status st;
  medshim__jentry *e;
  if (rec->type != JF_REC_STATUS)
    return lane_damage(c, seg_index, off, rec,
                       "a claim record in the replay lane");
  if (rec->body == NULL ||
      medshim__status_decode(&st, NULL, 0, NULL, rec->body, rec->body_len) !=
          MEDSHIM_OK)
    return lane_damage(c, seg_index, off, rec,
                       "authentic status record that does not decode");
  e = medshim__jindex_find(c->claims, rec->id, rec->id_len);
  if (e == NULL) {
    if (medshim__jindex_find(&c->orphans, rec->id, rec->id_len) == NULL) {
      medshim__jentry *o = medshim__jindex_add(&c->orphans, rec->id,
                                               rec->id_len);
      if (o == NULL)
        return MEDSHIM__FAIL(MEDSHIM_ENOMEM);
      o->claim_seg = seg_index;
      o->claim_off = off;
      o->seq = rec->seq;
      o->state = 0; /* not (yet) found in the live main lane */
    }
    return MEDSHIM_OK;
  }
  if (c->update != NULL) {
    e->status_lane = 1;
    e->status_seg = seg_index;
    e->status_off = off;
    e->state = (uint8_t)st.state;
  }
  return MEDSHIM_OK;
}

typedef struct recheck_ctx {
  medshim__jindex *orphans;
  size_t found;
} recheck_ctx;

static int recheck_record(void *payload, uint32_t seg_index, uint64_t off,
                          const medshim__jrec *rec) {
  recheck_ctx *r = payload;
  medshim__jentry *e;
  (void)seg_index;
  (void)off;
  if (rec->type != JF_REC_CLAIM)
    return MEDSHIM_OK;
  e = medshim__jindex_find(r->orphans, rec->id, rec->id_len);
  if (e != NULL && e->state == 0) {
    e->state = 1;
    if (++r->found == r->orphans->count)
      return 1; /* all found: stop early */
  }
  return MEDSHIM_OK;
}

/* A status in the lane for a claim the handle does not know: a claim
 * deferred after the handle read the main lane, which the live main lane
 * then has; anything else means claims were removed from the journal. */
static int recheck_orphans(const char *dir, const medshim__jkeys *main_keys,
                           lane_ctx *c, medshim_verify_report *report) {
  medshim__jscan scan;
  medshim__jscratch scratch;
  recheck_ctx r;
  int rc;
  memset(&scan, 0, sizeof scan);
  memset(&scratch, 0, sizeof scratch);
  r.orphans = &c->orphans;
  r.found = 0;
  scan.dir = dir;
  scan.keys = main_keys;
  scan.crypto = medshim__jcrypto_new(main_keys->suite);
  scan.scratch = &scratch;
  scan.fn = recheck_record;
  scan.payload = &r;
  if (scan.crypto == NULL)
    return MEDSHIM__FAIL(MEDSHIM_ENOMEM);
  rc = medshim__jscan_run(&scan);
  if (rc != MEDSHIM_OK) {
    *report = scan.report;
    medshim__fmt(report->text, sizeof report->text, "main lane: %s",
                 scan.report.text);
  } else if (r.found < c->orphans.count) {
    const medshim__jentry *o = NULL;
    for (size_t i = 0; i < c->orphans.count && o == NULL; i++)
      if (c->orphans.entries[i].state == 0)
        o = &c->orphans.entries[i];
    rc = MEDSHIM_ECORRUPT;
    report->damage = MEDSHIM_DAMAGE_BAD_RECORD;
    report->segment = (uint64_t)o->claim_seg + 1; /* numbered from 1 */
    report->seq = o->seq;
    report->offset = o->claim_off;
    medshim__fmt(report->text, sizeof report->text,
                 "replay lane: " AT "status of a claim the main lane does "
                 "not have: claims were removed from the journal (%zu "
                 "visit_id(s) affected)",
                 report->segment, report->seq, report->offset,
                 c->orphans.count - r.found);
  }
  medshim__jcrypto_free(scan.crypto);
  medshim__jscratch_free(&scratch);
  if (scan.segs != NULL) {
    medshim__secmem_array_free(scan.segs);
  }
  return rc;
}

/* Load the lane as it is now (as its writer unless it is read-only) and
 * take the statuses it has into j's index. */
static int load_lane(medshim_journal *j, medshim_error *err) {
  lane_ctx c;
  int rc;
  memset(&c, 0, sizeof c);
  medshim__jindex_init(&c.orphans);
  c.claims = &j->ix;
  c.update = &j->ix;
  c.scan.want_status_body = 1;
  c.scan.fn = lane_record;
  c.scan.payload = &c;
  rc = medshim__journal_load(j->lane, &c.scan, err);
  if (j->lane->salvage) {
    /* statuses of claims the main lane lost are left out, not damage */
    j->lane->salvaged = c.scan.report;
    j->lane->salvaged.segments = c.scan.skipped;
  } else if (rc == MEDSHIM_OK && c.orphans.count > 0) {
    medshim_verify_report rep;
    memset(&rep, 0, sizeof rep);
    rc = recheck_orphans(j->dir, &j->keys, &c, &rep);
    if (rc != MEDSHIM_OK)
      medshim__error_set(err, rc, "replay lane", "%s",
                         rep.text[0] ? rep.text : medshim_strerror(rc));
  }
  medshim__jindex_free(&c.orphans);
  return rc;
}

/* 1 when lane_dir holds a checkpoint file, 0 when not, MEDSHIM_ENOMEM. */
static int lane_checkpoint_exists(const char *lane_dir) {
  char *path = medshim__os_path_join(lane_dir, JF_CHECKPOINT_NAME);
  medshim__os_finfo st;
  int yes;
  if (path == NULL)
    return MEDSHIM__FAIL(MEDSHIM_ENOMEM);
  yes = medshim__os_lstat(path, &st) == 0 && st.is_reg;
  free(path);
  return yes;
}

int medshim__lane_open(medshim_journal *j, medshim_error *err) {
  const char *path;
  int rc;
  medshim__os_finfo st;
  medshim_journal *lane;
  char *lane_dir = medshim__os_path_join(j->dir, JF_LANE_DIR_NAME);
  lane = lane_dir != NULL ? medshim__journal_new(lane_dir) : NULL;
  free(lane_dir);
  if (lane == NULL)
    return medshim__error_set(err, MEDSHIM_ENOMEM, "", "out of memory");
  j->lane = lane; /* freed with j */
  lane->parent = j;
  lane->readonly = 1; /* until the first status write takes its lock */
  lane->salvage = j->salvage;
  lane->seg_max = j->seg_max;
  lane->next_seq = 1;
  if (medshim__jkeys_lane(&lane->keys, &j->keys) != 0 ||
      medshim__journal_crypto_init(lane) != 0)
    return medshim__error_set(err, MEDSHIM_ECRYPTO, "", "key derivation "
                              "failed");
  path = lane->dir;
  if (medshim__os_lstat(path, &st) != 0) {
    if (errno == ENOENT && (!j->lane_marked || j->salvage))
      return MEDSHIM_OK; /* no status in the lane yet */
    if (errno == ENOENT)
      return medshim__error_set(err, MEDSHIM_ECORRUPT, "replay lane",
                                "%s is missing (removed?): the checkpoint says "
                                "it exists; its statuses are lost; run verify",
                                path);
    return medshim__error_set(err, MEDSHIM_EIO, "replay lane", "cannot "
                              "stat %s: %s", path, strerror(errno));
  }
  if (!st.is_dir)
    return medshim__error_set(err, MEDSHIM_ECORRUPT, "replay lane",
                              "%s is not a directory", path);
  if (j->lane_marked && !j->salvage &&
      (rc = lane_checkpoint_exists(path)) <= 0)
    return rc < 0 ? medshim__error_set(err, rc, "replay lane", "out of memory")
                  : medshim__error_set(err, MEDSHIM_ECORRUPT, "replay lane",
                              "%s/%s is missing (removed?): the main "
                              "checkpoint says the lane exists; run verify",
                              path, JF_CHECKPOINT_NAME);
  return load_lane(j, err);
}

/* dir/replay exists and is a directory, and its entry is durable (also
 * when another process created it and crashed before syncing). */
static int ensure_lane_dir(medshim_journal *j, medshim_error *err) {
  medshim__os_finfo st;
  if (medshim__io_mkdir(j->lane->dir) != 0 && errno != EEXIST)
    return medshim__error_set(err, MEDSHIM_EIO, "replay lane",
                              "cannot create %s: %s", j->lane->dir,
                              strerror(errno));
  if (medshim__os_lstat(j->lane->dir, &st) != 0 || !st.is_dir)
    return medshim__error_set(err, MEDSHIM_ECORRUPT, "replay lane",
                              "%s is not a directory", j->lane->dir);
  if (medshim__io_fsync_dir(j->dir) != 0)
    return medshim__error_set(err, MEDSHIM_EIO, "replay lane",
                              "cannot sync directory %s: %s", j->dir,
                              strerror(errno));
  return MEDSHIM_OK;
}

/* A handle without the claim lock writes statuses for claims that another
 * process wrote: make what it read of the main lane durable first, so that
 * a crash cannot keep a status and lose its claim. Earlier segments were
 * synced by their writer before it rolled. */
static int sync_main_snapshot(medshim_journal *j, medshim_error *err) {
  char *path;
  int fd, saved, rc;
  if (j->nsegs == 0)
    return MEDSHIM_OK;
  if ((path = medshim__segment_path_new(j->dir, j->segs[j->nsegs - 1].segno)) ==
      NULL)
    return medshim__error_set(err, MEDSHIM_ENOMEM, "journal", "out of memory");
  fd = medshim__os_open(path, MEDSHIM__OS_READ);
  if (fd >= 0 && medshim__io_fdatasync(fd) == 0) {
    medshim__os_close(fd);
    free(path);
    return MEDSHIM_OK;
  }
  saved = errno;
  if (fd >= 0)
    medshim__os_close(fd);
  rc = medshim__error_set(err, MEDSHIM_EIO, "journal", "cannot sync %s: %s",
                          path, strerror(saved));
  free(path);
  return rc;
}

int medshim__lane_acquire(medshim_journal *j) {
  medshim_journal *lane = j->lane;
  medshim_error err;
  int rc;
  memset(&err, 0, sizeof err);
  if ((rc = ensure_lane_dir(j, &err)) != MEDSHIM_OK)
    goto fail;
  rc = medshim__journal_lock(lane, &err);
  if (rc == MEDSHIM_EBUSY) {
    medshim__fmt(j->errmsg, sizeof j->errmsg,
                 "replay state busy: another process or handle is writing "
                 "claim statuses (a replay, void, retry or expire is "
                 "running); try again once it has finished");
    return rc;
  }
  if (rc != MEDSHIM_OK)
    goto fail;
  if (j->readonly && (rc = sync_main_snapshot(j, &err)) != MEDSHIM_OK)
    goto fail;
  /* As the lane's writer: the lane as it is now (another process may have
   * written to it since this handle opened), its torn tail trimmed. A
   * failed load installs nothing: the entries it updated name segments by
   * number, the same files the installed table has, or beyond it (which
   * reads refuse). */
  lane->readonly = 0;
  if ((rc = load_lane(j, &err)) != MEDSHIM_OK) {
    lane->readonly = 1;
    medshim__os_close(lane->lock_fd);
    lane->lock_fd = -1;
    goto fail;
  }
  return MEDSHIM_OK;
fail:
  medshim__fmt(j->errmsg, sizeof j->errmsg, "replay lane: %s%s%s",
               err.where[0] ? err.where : "", err.where[0] ? ": " : "",
               err.text[0] ? err.text : medshim_strerror(rc));
  if (lane->lock_fd >= 0 && lane->readonly) {
    medshim__os_close(lane->lock_fd);
    lane->lock_fd = -1;
  }
  return rc;
}

int medshim__lane_status(medshim_journal *j, const medshim__jentry *e,
                         medshim_claim_status *st, medshim_step *steps,
                         size_t cap_steps, size_t *nsteps, unsigned char **buf,
                         size_t *cap) {
  medshim_journal *lane = j->lane;
  medshim__jrec rec;
  int rc;
  pthread_mutex_lock(&lane->mu);
  if (e->status_seg >= lane->nsegs) {
    rc = MEDSHIM_ECORRUPT;
    medshim__fmt(j->errmsg, sizeof j->errmsg, "replay lane: status record "
                 "in a segment this handle could not load");
  } else if ((rc = medshim__journal_read(lane, e->status_seg, e->status_off,
                                         &rec, buf, cap)) != MEDSHIM_OK) {
    medshim__fmt(j->errmsg, sizeof j->errmsg, "replay lane: %s",
                 lane->errmsg);
  } else if (rec.type != JF_REC_STATUS || rec.id_len != e->id_len ||
             memcmp(rec.id, medshim__jindex_id(&j->ix, e), e->id_len) != 0 ||
             medshim__status_decode(st, steps, cap_steps, nsteps, rec.body,
                                    rec.body_len) != MEDSHIM_OK) {
    rc = MEDSHIM_ECORRUPT;
    medshim__fmt(j->errmsg, sizeof j->errmsg,
                 "replay lane: status record malformed");
  }
  pthread_mutex_unlock(&lane->mu);
  return rc;
}

int medshim__lane_verify(const char *dir, const medshim__jkeys *main_keys,
                         const medshim__jindex *claims, int required,
                         medshim_verify_report *report) {
  char *path = NULL;
  medshim__os_finfo st;
  medshim__jkeys keys;
  medshim__jscratch scratch;
  lane_ctx c;
  int rc;

  memset(&c, 0, sizeof c);
  memset(&scratch, 0, sizeof scratch);
  medshim__jindex_init(&c.orphans);
  memset(&keys, 0, sizeof keys);
  if ((path = medshim__os_path_join(dir, JF_LANE_DIR_NAME)) == NULL) {
    rc = MEDSHIM_ENOMEM;
    goto cleanup;
  }
  if (medshim__os_lstat(path, &st) != 0) {
    if (errno == ENOENT && !required) {
      rc = MEDSHIM_OK; /* statuses only in the main lane, if any */
      goto cleanup;
    }
    if (errno == ENOENT) {
      report->damage = MEDSHIM_DAMAGE_MISSING_SEGMENT;
      medshim__fmt(report->text, sizeof report->text,
                   "replay lane: %s is missing (removed?) though the main "
                   "checkpoint says it exists: its statuses are lost", path);
      rc = MEDSHIM_ECORRUPT;
      goto cleanup;
    }
    medshim__fmt(report->text, sizeof report->text,
                 "replay lane: cannot stat %s: %s", path, strerror(errno));
    rc = MEDSHIM_EIO;
    goto cleanup;
  }
  if (!st.is_dir) {
    report->damage = MEDSHIM_DAMAGE_BAD_SEGMENT;
    medshim__fmt(report->text, sizeof report->text,
                 "replay lane: %s is not a directory", path);
    rc = MEDSHIM_ECORRUPT;
    goto cleanup;
  }
  if (required && (rc = lane_checkpoint_exists(path)) < 0)
    goto cleanup;
  if (required && rc == 0) {
    report->damage = MEDSHIM_DAMAGE_BAD_CHECKPOINT;
    medshim__fmt(report->text, sizeof report->text,
                 "replay lane: its checkpoint is missing (removed?) though the "
                 "main checkpoint says the lane exists");
    rc = MEDSHIM_ECORRUPT;
    goto cleanup;
  }
  c.claims = claims;
  if (medshim__jkeys_lane(&keys, main_keys) != 0) {
    rc = MEDSHIM_ECRYPTO;
    goto cleanup;
  }
  c.scan.keys = &keys;
  c.scan.scratch = &scratch;
  c.scan.want_status_body = 1;
  c.scan.fn = lane_record;
  c.scan.payload = &c;
  c.scan.crypto = medshim__jcrypto_new(keys.suite);
  if (c.scan.crypto == NULL) {
    rc = MEDSHIM_ENOMEM;
    goto cleanup;
  }
  rc = medshim__verify_chain(path, &c.scan, report, "replay lane");
  if (rc == MEDSHIM_OK && c.orphans.count > 0) {
    medshim_verify_report rep = *report;
    rc = recheck_orphans(dir, main_keys, &c, &rep);
    if (rc != MEDSHIM_OK) {
      uint64_t segments = report->segments, records = report->records;
      *report = rep;
      report->segments = segments;
      report->records = records;
    }
  }
cleanup:
  medshim__jcrypto_free(c.scan.crypto);
  medshim__jscratch_free(&scratch);
  if (c.scan.segs != NULL) {
    medshim__secmem_array_free(c.scan.segs);
  }
  medshim__jindex_free(&c.orphans);
  medshim__wipe(&keys, sizeof keys);
  free(path);
  return rc;
}

int medshim__lane_ensure(medshim_journal *j, medshim_error *err) {
  medshim_journal *lane = j->lane;
  medshim__jcheckpoint ck;
  char *path;
  int fd, rc;
  if ((rc = ensure_lane_dir(j, err)) != MEDSHIM_OK)
    return rc;
  if ((rc = lane_checkpoint_exists(lane->dir)) != 0)
    return rc < 0 ? medshim__error_set(err, rc, "replay lane", "out of memory")
                  : 1;
  /* Only the lane's writer may write its checkpoint: take its lock for the
   * moment it takes; if another process holds it, that process writes the
   * checkpoint itself when it loads the lane. */
  if ((path = medshim__os_path_join(lane->dir, JF_LOCK_NAME)) == NULL)
    return medshim__error_set(err, MEDSHIM_ENOMEM, "replay lane",
                              "out of memory");
  fd = medshim__io_open(path, MEDSHIM__OS_RDWR | MEDSHIM__OS_CREATE);
  if (fd < 0) {
    rc = medshim__error_set(err, MEDSHIM_EIO, "replay lane",
                            "cannot open %s: %s", path, strerror(errno));
    free(path);
    return rc;
  }
  free(path);
  if (medshim__os_lock(fd, 0) != 0) {
    medshim__os_close(fd);
    return 0;
  }
  if ((rc = lane_checkpoint_exists(lane->dir)) == 0) {
    memset(&ck, 0, sizeof ck);
    rc = medshim__checkpoint_write(lane->dir, &lane->keys, &ck, err) ==
                 MEDSHIM_OK
             ? 1
             : MEDSHIM_EIO;
  } else if (rc < 0) {
    medshim__error_set(err, rc, "replay lane", "out of memory");
  }
  medshim__os_close(fd); /* releases the lock */
  return rc;
}
