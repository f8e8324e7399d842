/* medshim_journal_verify and medshim_journal_rekey: whole-journal checks and
 * key rotation, both working from the directory rather than a handle. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "claim_internal.h"
#include "errors_internal.h"
#include "journal_index_internal.h"
#include "journal_keys_internal.h"
#include "journal_lane_internal.h"
#include "journal_open_internal.h"
#include "journal_verify_internal.h"
#include "keyfile_internal.h"
#include "keyring_internal.h"
#include "memory_internal.h"
#include "os.h"
#include "secmem_internal.h"

static const char *const damage_names[] = {
    "none",          "bad_record",     "sequence",  "chain",
    "missing_segment", "bad_segment",  "truncated", "bad_checkpoint",
    "torn_tail"};

const char *medshim_damage_name(medshim_damage damage) {
  if ((int)damage < 0 || (int)damage > 8)
    return "unknown";
  return damage_names[damage];
}

typedef struct verify_ctx {
  medshim__jscan *scan;
  uint64_t claims;
  medshim__jindex ids; /* visit_ids of the claims, for the replay lane */
} verify_ctx;

static int verify_damage(verify_ctx *v, uint32_t seg_index, uint64_t off,
                         const medshim__jrec *rec, const char *what) {
  medshim_verify_report *r = &v->scan->report;
  r->damage = MEDSHIM_DAMAGE_BAD_RECORD;
  r->segment = v->scan->segs[seg_index].segno;
  r->seq = rec->seq;
  r->offset = off;
  medshim__fmt(r->text, sizeof r->text,
               "segment %" PRIu64 ", record %" PRIu64 " at offset %" PRIu64
               ": %s", r->segment, rec->seq, off, what);
  return MEDSHIM__FAIL(MEDSHIM_ECORRUPT);
}

/* Decode every claim as well: authentic but undecodable content would be a
 * writer bug, and verify is where it should surface. */
static int verify_record(void *payload, uint32_t seg_index, uint64_t off,
                         const medshim__jrec *rec) {
  verify_ctx *v = payload;
  medshim_claim *claim = NULL;
  if (rec->type != JF_REC_CLAIM)
    return MEDSHIM_OK;
  if (medshim__claim_decode(&claim, rec->body, rec->body_len) != MEDSHIM_OK)
    return verify_damage(v, seg_index, off, rec,
                         "authentic claim record that does not decode");
  medshim_claim_free(claim);
  if (medshim__jindex_find(&v->ids, rec->id, rec->id_len) != NULL)
    return verify_damage(v, seg_index, off, rec,
                         "a second claim record for the same visit_id");
  if (medshim__jindex_add(&v->ids, rec->id, rec->id_len) == NULL)
    return MEDSHIM__FAIL(MEDSHIM_ENOMEM);
  v->claims++;
  return MEDSHIM_OK;
}

int medshim__verify_chain(const char *dir, medshim__jscan *scan,
                          medshim_verify_report *report, const char *lane) {
  uint64_t *segnos = NULL;
  size_t nseg = 0;
  int rc, ckrc;

  scan->dir = dir;
  scan->have_checkpoint = 0;
  ckrc = medshim__checkpoint_read(dir, scan->keys, &scan->checkpoint);
  if (ckrc == MEDSHIM_OK) {
    scan->have_checkpoint = 1;
  } else if (ckrc == MEDSHIM_ENOTFOUND) {
    rc = medshim__segment_list(dir, &segnos, &nseg);
    free(segnos);
    if (rc == 0 && nseg > 0) {
      report->damage = MEDSHIM_DAMAGE_BAD_CHECKPOINT;
      medshim__fmt(report->text, sizeof report->text,
                   "%s: checkpoint file missing (removed?) while %zu "
                   "segment(s) exist: tail truncation cannot be ruled out",
                   lane, nseg);
      return MEDSHIM__FAIL(MEDSHIM_ECORRUPT);
    }
  } else {
    report->damage = MEDSHIM_DAMAGE_BAD_CHECKPOINT;
    medshim__fmt(report->text, sizeof report->text,
                 "%s: checkpoint file damaged or altered", lane);
    return ckrc == MEDSHIM_EIO ? MEDSHIM_EIO : MEDSHIM_ECORRUPT;
  }
  rc = medshim__jscan_run(scan);
  *report = scan->report;
  report->version = MEDSHIM_VERIFY_REPORT_VERSION;
  report->segments = scan->nsegs;
  report->records = scan->records;
  if (rc != MEDSHIM_OK && scan->report.text[0] != '\0')
    medshim__fmt(report->text, sizeof report->text, "%s: %s", lane,
                 scan->report.text);
  if (rc == MEDSHIM_OK && scan->torn && scan->torn_unused) {
    /* space allocated ahead of a live (or crashed) writer's records:
     * nothing was written there */
  } else if (rc == MEDSHIM_OK && scan->torn) {
    report->damage = MEDSHIM_DAMAGE_TORN_TAIL;
    report->segment = scan->torn_segment_empty
                          ? scan->nsegs + 1
                          : scan->segs[scan->nsegs - 1].segno;
    report->seq = scan->next_seq;
    report->offset = scan->torn_offset;
    if (scan->torn_segment_empty)
      medshim__fmt(report->text, sizeof report->text,
                   "%s: segment %" PRIu64 " was being created when the "
                   "writer stopped (no complete header): what a crash "
                   "leaves; the next writer removes it",
                   lane, report->segment);
    else if (scan->torn_anchor > 0)
      medshim__fmt(report->text, sizeof report->text,
                   "%s: torn tail: %" PRIu64 " bytes from offset %" PRIu64
                   " of segment %" PRIu64 " (record %" PRIu64 " onwards) do "
                   "not form whole records; they lie beyond record %" PRIu64
                   ", the last one the segment's anchor records as durable, "
                   "so they were never acknowledged: what a power cut or a "
                   "crash leaves; the next writer trims them",
                   lane, scan->torn_bytes, report->offset, report->segment,
                   report->seq, scan->torn_anchor);
    else
      medshim__fmt(report->text, sizeof report->text,
                   "%s: incomplete record at the end of segment %" PRIu64
                   " (offset %" PRIu64 "), after the last checkpoint: what a "
                   "crash leaves; the next writer trims it",
                   lane, report->segment, report->offset);
  }
  return rc;
}

int medshim_journal_verify(const char *dir, const medshim_journal_options *opts,
                           medshim_verify_report *report) {
  medshim__jkeys *keys = NULL; /* locked, out of core dumps */
  medshim__jscratch scratch;
  medshim__jscan scan;
  medshim_verify_report lane;
  verify_ctx v;
  medshim_error err;
  medshim_journal_options o;
  int rc;

  if (dir == NULL || report == NULL ||
      report->version != MEDSHIM_VERIFY_REPORT_VERSION ||
      medshim__journal_options_read(&o, opts) != 0)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  opts = &o;
  memset(report, 0, sizeof *report);
  report->version = MEDSHIM_VERIFY_REPORT_VERSION;
  memset(&scratch, 0, sizeof scratch);
  memset(&scan, 0, sizeof scan);
  memset(&err, 0, sizeof err);
  memset(&lane, 0, sizeof lane);
  lane.version = MEDSHIM_VERIFY_REPORT_VERSION;
  v.scan = &scan;
  v.claims = 0;
  medshim__jindex_init(&v.ids);

  if ((keys = medshim__secmem_alloc(sizeof *keys)) == NULL) {
    rc = MEDSHIM_ENOMEM;
    goto cleanup;
  }
  if ((rc = medshim__kek_obtain(keys->kek, opts, &err)) != MEDSHIM_OK)
    goto cleanup;
  if ((rc = medshim__jkeys_load(keys, dir, 0, o.suite, &err)) != MEDSHIM_OK)
    goto cleanup;
  scan.keys = keys;
  scan.crypto = medshim__jcrypto_new(keys->suite);
  scan.scratch = &scratch;
  scan.want_claim_body = 1;
  scan.fn = verify_record;
  scan.payload = &v;
  if (scan.crypto == NULL) {
    rc = MEDSHIM_ENOMEM;
    goto cleanup;
  }
  rc = medshim__verify_chain(dir, &scan, report, "main lane");
  report->claims = v.claims;
  if (rc != MEDSHIM_OK)
    goto cleanup;
  /* The replay lane: its own chain, and each status of a known claim. */
  rc = medshim__lane_verify(dir, keys, &v.ids,
                            scan.have_checkpoint &&
                                (scan.checkpoint.flags & JF_CKPT_LANE) != 0,
                            &lane);
  report->segments += lane.segments;
  report->records += lane.records;
  if (rc != MEDSHIM_OK ||
      (lane.damage != MEDSHIM_DAMAGE_NONE &&
       report->damage == MEDSHIM_DAMAGE_NONE)) {
    report->damage = lane.damage;
    report->segment = lane.segment;
    report->seq = lane.seq;
    report->offset = lane.offset;
    memcpy(report->text, lane.text, sizeof report->text);
  }
cleanup:
  if (rc != MEDSHIM_OK && report->text[0] == '\0')
    medshim__fmt(report->text, sizeof report->text, "%s%s%s",
                 err.where[0] ? err.where : "", err.where[0] ? ": " : "",
                 err.text[0] ? err.text : medshim_strerror(rc));
  medshim__jcrypto_free(scan.crypto);
  medshim__jscratch_free(&scratch);
  if (scan.segs != NULL) {
    medshim__secmem_array_free(scan.segs);
  }
  medshim__jindex_free(&v.ids);
  medshim__secmem_free(keys, sizeof *keys);
  return rc;
}

int medshim__journal_suite_of(const char *dir,
                              const medshim_journal_options *opts,
                              unsigned *suite, medshim_error *err) {
  medshim__jkeys *k; /* locked, out of core dumps; wiped when freed */
  medshim_journal_options o;
  int rc;
  if (dir == NULL || suite == NULL ||
      medshim__journal_options_read(&o, opts) != 0)
    return medshim__error_set(err, MEDSHIM_EINVAL, "", "bad arguments");
  if ((k = medshim__secmem_alloc(sizeof *k)) == NULL)
    return medshim__error_set(err, MEDSHIM_ENOMEM, "", "out of memory");
  if ((rc = medshim__kek_obtain(k->kek, &o, err)) == MEDSHIM_OK &&
      (rc = medshim__keyring_open(dir, k->kek, k->dk, k->id, &k->suite,
                                  err)) == MEDSHIM_OK)
    *suite = k->suite->id;
  medshim__secmem_free(k, sizeof *k);
  return rc;
}

int medshim_journal_rekey(const char *dir,
                          const medshim_journal_options *current,
                          const medshim_journal_options *next,
                          medshim_error *err) {
  /* locked, out of core dumps: kek the old KEK, dk the data key */
  medshim__jkeys *k = NULL;
  unsigned char *new_kek = NULL;
  char *path = NULL;
  int lock_fd = -1, rc;
  medshim_journal_options cur, nxt;

  if (dir == NULL || medshim__journal_options_read(&cur, current) != 0 ||
      medshim__journal_options_read(&nxt, next) != 0)
    return medshim__error_set(err, MEDSHIM_EINVAL, "", "bad arguments");
  /* the journal keeps its suite: a rekey replaces only the KEK */
  current = &cur;
  next = &nxt;
  if ((k = medshim__secmem_alloc(sizeof *k + MEDSHIM_KEY_BYTES)) == NULL)
    return medshim__error_set(err, MEDSHIM_ENOMEM, "", "out of memory");
  new_kek = (unsigned char *)(k + 1);
  if ((path = medshim__os_path_join(dir, JF_LOCK_NAME)) == NULL) {
    rc = medshim__error_set(err, MEDSHIM_ENOMEM, "", "out of memory");
    goto cleanup;
  }
  lock_fd = medshim__os_open(path, MEDSHIM__OS_RDWR | MEDSHIM__OS_NONBLOCK);
  if (lock_fd < 0) {
    rc = medshim__error_set(err, MEDSHIM_ENOTFOUND, dir,
                            "no journal here (no lock file)");
    goto cleanup;
  }
  if (medshim__os_lock(lock_fd, 0) != 0) {
    rc = medshim__error_set(err, MEDSHIM_EBUSY, dir,
                            "journal busy: a writer has it open");
    goto cleanup;
  }
  if ((rc = medshim__kek_obtain(k->kek, current, err)) != MEDSHIM_OK)
    goto cleanup;
  if ((rc = medshim__keyring_open(dir, k->kek, k->dk, k->id, &k->suite,
                                   err)) !=
      MEDSHIM_OK)
    goto cleanup;
  if ((rc = medshim__kek_obtain(new_kek, next, err)) != MEDSHIM_OK)
    goto cleanup;
  rc = medshim__keyring_write(dir, k->suite, new_kek, k->dk, k->id, err);
cleanup:
  medshim__secmem_free(k, sizeof *k + MEDSHIM_KEY_BYTES); /* wipes */
  if (lock_fd >= 0)
    medshim__os_close(lock_fd);
  free(path);
  return rc;
}
