/* Walking a journal from its first segment to its last record: authenticate
 * every record, check sequence numbers, the running hash and segment links,
 * compare with the checkpoint, and tell a torn tail (a crash) from damage. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "errors_internal.h"
#include "io_internal.h"
#include "journal_anchor_internal.h"
#include "journal_crypto_internal.h"
#include "journal_scan_internal.h"
#include "memory_internal.h"
#include "secmem_internal.h"

/* A sliding read buffer over one segment file. */
typedef struct reader {
  int fd;
  uint64_t size;
  unsigned char *buf;
  size_t cap;
  uint64_t base;
  size_t len;
} reader;

/* Bytes at off, at least min(need, size - off) of them; *avail says how many
 * bytes from off are in the buffer. NULL on I/O or allocation failure. */
static const unsigned char *reader_at(reader *r, uint64_t off, size_t need,
                                      size_t *avail) {
  long long n;
  size_t want;
  if (off >= r->base && off + need <= r->base + r->len) {
    *avail = (size_t)(r->base + r->len - off);
    return r->buf + (off - r->base);
  }
  want = need > (4u << 20) ? need : (4u << 20);
  if (want > r->cap) {
    unsigned char *b = realloc(r->buf, want);
    if (b == NULL)
      return NULL;
    r->buf = b;
    r->cap = want;
  }
  n = medshim__io_pread_full(r->fd, r->buf, r->cap, (int64_t)off);
  if (n < 0)
    return NULL;
  r->base = off;
  r->len = (size_t)n;
  *avail = r->len;
  return r->buf;
}

/* Damage found. A salvage scan notes the first one, counts them and goes
 * on (SALVAGED); any other scan stops with MEDSHIM_ECORRUPT. */
#define SALVAGED 1
static int damage(medshim__jscan *s, medshim_damage kind, uint64_t segno,
                  uint64_t seq, uint64_t off, const char *fmt, const char *why) {
  if (s->salvage) {
    s->skipped++;
    if (s->report.damage != MEDSHIM_DAMAGE_NONE)
      return SALVAGED;
  }
  s->report.damage = kind;
  s->report.segment = segno;
  s->report.seq = seq;
  s->report.offset = off;
  medshim__fmt(s->report.text, sizeof s->report.text, fmt, segno, seq, off,
               why);
  return s->salvage ? SALVAGED : MEDSHIM_ECORRUPT;
}

#define AT "segment %" PRIu64 ", record %" PRIu64 " at offset %" PRIu64 ": %s"

/* The offset of the next authentic record after off in this segment whose
 * sequence lies in [lo, hi], or 0 when there is none. Every record is at
 * least JF_RECORD_OVERHEAD + 256 bytes (plaintext is padded to 256). */
static uint64_t next_authentic(medshim__jscan *s, reader *r,
                               const unsigned char *key, uint64_t off,
                               uint64_t lo, uint64_t hi) {
  for (uint64_t p = off + 1; p + JF_RECORD_OVERHEAD + 256 <= r->size; p++) {
    size_t avail;
    const unsigned char *h = reader_at(r, p, JF_RECORD_HEADER_BYTES, &avail);
    uint32_t len;
    uint64_t seq;
    medshim__jrec rec;
    if (h == NULL || avail < JF_RECORD_HEADER_BYTES)
      return 0;
    len = jf_get32(h);
    seq = jf_get64(h + 8);
    if ((h[4] != JF_REC_CLAIM && h[4] != JF_REC_STATUS) || h[5] != JF_VERSION ||
        h[6] != 0 || h[7] != 0 || len < JF_RECORD_OVERHEAD + 256 ||
        len > JF_RECORD_MAX || p + len > r->size || seq < lo || seq > hi)
      continue;
    h = reader_at(r, p, len, &avail);
    if (h == NULL)
      return 0;
    if (medshim__jrec_open(s->crypto, s->scratch, key, h, avail, 0, &rec) ==
        JREC_OK)
      return p;
  }
  return 0;
}

/* After a failure at off in the last (version 1) segment: does an
 * authentic record with a later sequence follow? If so the failure is
 * damage in the middle of the data, not the torn end of a crashed write. */
static int authentic_record_follows(medshim__jscan *s, reader *r,
                                    const unsigned char *key, uint64_t off) {
  return next_authentic(s, r, key, off, s->next_seq,
                        s->next_seq + (1u << 24)) != 0;
}

static int all_zero(const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != 0)
      return 0;
  return 1;
}

/* 1 when the file holds only zeros from off to its end, 0 when not, -1
 * on a read error. */
static int zeros_to_end(reader *r, uint64_t off) {
  while (off < r->size) {
    size_t avail, n;
    const unsigned char *p = reader_at(r, off, 1, &avail);
    if (p == NULL)
      return -1;
    n = avail < r->size - off ? avail : (size_t)(r->size - off);
    if (n == 0)
      return -1;
    if (!all_zero(p, n))
      return 0;
    off += n;
  }
  return 1;
}

/* Compare the running state with the checkpoint once the scan passes it. */
static int check_checkpoint_chain(medshim__jscan *s, uint64_t segno,
                                  uint64_t off) {
  if (s->have_checkpoint && !s->salvage && s->next_seq - 1 == s->checkpoint.seq &&
      !medshim__ct_equal(s->chain, s->checkpoint.chain, JF_HASH_BYTES))
    return damage(s, MEDSHIM_DAMAGE_CHAIN, segno, s->checkpoint.seq, off, AT,
                  "running hash differs from the checkpoint's");
  return MEDSHIM_OK;
}

static int scan_segment(medshim__jscan *s, uint64_t segno, int last) {
  char *path = medshim__segment_path_new(s->dir, segno);
  unsigned char hdr[JF_SEGMENT_HEADER_BYTES], salt[JF_SALT_BYTES];
  unsigned char prev[JF_HASH_BYTES];
  uint64_t hsegno, first_seq, off;
  unsigned version = 0;
  int anchored; /* the segment's anchor is checked (not when salvaging) */
  medshim__janchor an;
  reader r = {-1, 0, NULL, 0, 0, 0};
  medshim__os_finfo st;
  medshim__jseg *seg;
  size_t avail;
  int rc = MEDSHIM_OK;

  if (path == NULL)
    return MEDSHIM__FAIL(MEDSHIM_ENOMEM);
  r.fd = medshim__os_open(path, MEDSHIM__OS_READ);
  if (r.fd < 0 || medshim__os_fstat(r.fd, &st) != 0) {
    rc = MEDSHIM_EIO;
    medshim__fmt(s->report.text, sizeof s->report.text, "cannot read %s: %s",
                 path, strerror(errno));
    goto cleanup;
  }
  r.size = (uint64_t)st.size;
  if (segno != s->nsegs + 1) {
    rc = damage(s, MEDSHIM_DAMAGE_MISSING_SEGMENT, s->nsegs + 1, s->next_seq, 0,
                AT, "segment file missing (the next one found is later)");
    if (rc != SALVAGED)
      goto cleanup;
    rc = MEDSHIM_OK;
  }
  if (medshim__io_pread_full(r.fd, hdr, sizeof hdr, 0) != (long long)sizeof hdr) {
    if (last) { /* crashed while creating the segment */
      s->torn = 1;
      s->torn_segment_empty = 1;
      goto cleanup;
    }
    rc = damage(s, MEDSHIM_DAMAGE_BAD_SEGMENT, segno, s->next_seq, 0, AT,
                "segment header truncated");
    if (rc == SALVAGED)
      rc = MEDSHIM_OK; /* nothing to read in it */
    goto cleanup;
  }
  if (medshim__segment_header_check(hdr, s->keys, &hsegno, &first_seq, salt,
                                    prev, &version) != 0) {
    if (last && all_zero(hdr, sizeof hdr)) {
      s->torn = 1;
      s->torn_segment_empty = 1;
      goto cleanup;
    }
    rc = damage(s, MEDSHIM_DAMAGE_BAD_SEGMENT, segno, s->next_seq, 0, AT,
                "segment header fails authentication (altered, or from "
                "another journal)");
    if (rc != SALVAGED)
      goto cleanup;
    /* Salvage: take its fields as they are; only records that
     * authenticate under the key they give are read. */
    rc = MEDSHIM_OK;
    hsegno = segno;
    first_seq = jf_get64(hdr + 40);
    memcpy(salt, hdr + 48, JF_SALT_BYTES);
    memcpy(prev, hdr + 64, JF_HASH_BYTES);
    version = jf_get16(hdr + 8) == JF_SEGMENT_V1 ? JF_SEGMENT_V1 : JF_SEGMENT_V2;
  }
  if (hsegno != segno) {
    rc = damage(s, MEDSHIM_DAMAGE_MISSING_SEGMENT, segno, s->next_seq, 0, AT,
                "segment file renamed: its header names another number");
    if (rc != SALVAGED)
      goto cleanup;
    rc = MEDSHIM_OK; /* its records' key follows the header's number */
  }
  if (first_seq != s->next_seq) {
    rc = damage(s, MEDSHIM_DAMAGE_SEQUENCE, segno, s->next_seq, 0, AT,
                first_seq > s->next_seq
                    ? "records missing before this segment"
                    : "segment repeats records of an earlier one");
    if (rc != SALVAGED)
      goto cleanup;
    rc = MEDSHIM_OK;
    if (first_seq > s->next_seq)
      s->next_seq = first_seq;
  }
  if (!medshim__ct_equal(prev, s->chain, JF_HASH_BYTES)) {
    rc = damage(s, MEDSHIM_DAMAGE_CHAIN, segno, s->next_seq, 0, AT,
                "segment does not link to the previous one");
    if (rc != SALVAGED)
      goto cleanup;
    rc = MEDSHIM_OK;
    memcpy(s->chain, prev, JF_HASH_BYTES);
  }
  memset(&an, 0, sizeof an);
  anchored = version == JF_SEGMENT_V2 && !s->salvage;
  if (anchored) {
    const unsigned char *area = reader_at(&r, 0, JF_SEGMENT_DATA_V2, &avail);
    if (area == NULL) {
      rc = MEDSHIM_EIO;
      goto cleanup;
    }
    if (avail < JF_SEGMENT_DATA_V2 ||
        medshim__anchor_pick(area, avail, s->keys, segno, &an) != 0) {
      /* The header and both anchor slots are written and synced together
       * before the segment is used or named in the checkpoint: missing
       * ones in the last segment, beyond the checkpoint, are a crash
       * while creating it. */
      if (last && (!s->have_checkpoint || s->checkpoint.segno < segno) &&
          (avail < JF_SEGMENT_DATA_V2 ||
           zeros_to_end(&r, JF_SEGMENT_DATA_V2) == 1)) {
        s->torn = 1;
        s->torn_segment_empty = 1;
        goto cleanup;
      }
      rc = damage(s, MEDSHIM_DAMAGE_BAD_SEGMENT, segno, s->next_seq, 0, AT,
                  avail < JF_SEGMENT_DATA_V2
                      ? "segment cut inside its anchor area"
                      : "segment anchor fails authentication (altered)");
      goto cleanup;
    }
    if (!all_zero(area + JF_SEGMENT_HEADER_BYTES,
                  JF_ANCHOR_SLOT0 - JF_SEGMENT_HEADER_BYTES) ||
        !all_zero(area + JF_ANCHOR_SLOT0 + JF_ANCHOR_BYTES,
                  JF_ANCHOR_SLOT_STRIDE - JF_ANCHOR_BYTES) ||
        !all_zero(area + JF_ANCHOR_SLOT0 + JF_ANCHOR_SLOT_STRIDE +
                      JF_ANCHOR_BYTES,
                  JF_SEGMENT_DATA_V2 - JF_ANCHOR_SLOT0 -
                      JF_ANCHOR_SLOT_STRIDE - JF_ANCHOR_BYTES)) {
      rc = damage(s, MEDSHIM_DAMAGE_BAD_SEGMENT, segno, s->next_seq, 0, AT,
                  "bytes altered in the segment's reserved area (always "
                  "zeros)");
      goto cleanup;
    }
    if (an.seq + 1 < first_seq || an.end < JF_SEGMENT_DATA_V2 ||
        (an.seq + 1 == first_seq &&
         (an.end != JF_SEGMENT_DATA_V2 ||
          !medshim__ct_equal(an.chain, prev, JF_HASH_BYTES)))) {
      rc = damage(s, MEDSHIM_DAMAGE_BAD_SEGMENT, segno, s->next_seq, 0, AT,
                  "segment anchor does not fit the segment");
      goto cleanup;
    }
  }
  seg = &s->segs[s->nsegs];
  memset(seg, 0, sizeof *seg);
  seg->segno = segno;
  seg->first_seq = first_seq;
  seg->data_start =
      version == JF_SEGMENT_V2 ? JF_SEGMENT_DATA_V2 : JF_SEGMENT_HEADER_BYTES;
  if (medshim__segment_key(seg->key, s->keys, hsegno, salt) != 0) {
    rc = MEDSHIM_ECRYPTO;
    goto cleanup;
  }
  s->nsegs++;

  off = seg->data_start;
  while (off < r.size) {
    const unsigned char *p = reader_at(&r, off, JF_RECORD_HEADER_BYTES, &avail);
    medshim__jrec rec;
    enum medshim__jrec_fail f;
    if (p == NULL) {
      rc = MEDSHIM_EIO;
      goto cleanup;
    }
    if (avail >= JF_RECORD_HEADER_BYTES) {
      uint32_t len = jf_get32(p);
      if (len <= JF_RECORD_MAX && len > avail) {
        p = reader_at(&r, off, len, &avail);
        if (p == NULL) {
          rc = MEDSHIM_EIO;
          goto cleanup;
        }
      }
    }
    f = medshim__jrec_open(s->crypto, s->scratch, seg->key, p, avail,
                           0, &rec);
    if (f == JREC_NOMEM) {
      rc = MEDSHIM_ENOMEM;
      goto cleanup;
    }
    if (f != JREC_OK) {
      /* A torn tail: what a crash can leave of writes never synced. In an
       * anchored segment, anything after the last record its anchor says
       * was durable, whatever order the unsynced sectors reached the disk
       * in. In an old segment, only when no authentic later record
       * follows. At or below the anchor or the checkpoint: damage. */
      if (last && f != JREC_PLAIN &&
          (!s->have_checkpoint || s->next_seq > s->checkpoint.seq) &&
          !s->salvage &&
          (anchored ? s->next_seq > an.seq
                    : !authentic_record_follows(s, &r, seg->key, off))) {
        int unused;
        s->torn = 1;
        s->torn_offset = off;
        s->torn_bytes = r.size - off;
        s->torn_anchor = anchored ? an.seq : 0;
        /* nothing but zeros to the end: space the writer allocated ahead
         * and has not used (yet), not a torn record */
        if ((unused = zeros_to_end(&r, off)) < 0) {
          rc = MEDSHIM_EIO;
          goto cleanup;
        }
        s->torn_unused = anchored && unused;
        break;
      }
      rc = damage(s, MEDSHIM_DAMAGE_BAD_RECORD, segno, s->next_seq, off, AT,
                  f == JREC_SHORT    ? "record cut short"
                  : f == JREC_HEADER ? "record header is not valid"
                  : f == JREC_AUTH   ? "record fails authentication (altered "
                                       "bytes or a record spliced in)"
                                     : "record content is malformed");
      if (rc != SALVAGED)
        goto cleanup;
      /* Salvage: on at the next record that authenticates, if any */
      rc = MEDSHIM_OK;
      if ((off = next_authentic(s, &r, seg->key, off, 0, UINT64_MAX)) == 0) {
        off = r.size;
        break;
      }
      continue;
    }
    if (rec.seq != s->next_seq) {
      rc = damage(s, MEDSHIM_DAMAGE_SEQUENCE, segno, s->next_seq, off, AT,
                  rec.seq > s->next_seq
                      ? "authentic record out of place: records before it "
                        "were deleted or reordered"
                      : "authentic record out of place: a record was "
                        "duplicated or reordered");
      if (rc != SALVAGED)
        goto cleanup;
      rc = MEDSHIM_OK;
      if (rec.seq < s->next_seq) { /* seen already: skip the copy */
        off += rec.len;
        continue;
      }
      s->next_seq = rec.seq;
    }
    if (!medshim__ct_equal(rec.header + 16, s->chain, JF_HASH_BYTES)) {
      rc = damage(s, MEDSHIM_DAMAGE_CHAIN, segno, s->next_seq, off, AT,
                  "running hash does not link to the previous record");
      if (rc != SALVAGED)
        goto cleanup;
      rc = MEDSHIM_OK;
      memcpy(s->chain, rec.header + 16, JF_HASH_BYTES);
    }
    if (medshim__chain_next(s->crypto, s->chain, rec.header, JF_RECORD_HEADER_BYTES,
                            rec.tag) != 0) {
      rc = MEDSHIM_ECRYPTO;
      goto cleanup;
    }
    if (anchored && rec.seq == an.seq &&
        (off + rec.len != an.end ||
         !medshim__ct_equal(s->chain, an.chain, JF_HASH_BYTES))) {
      rc = damage(s, MEDSHIM_DAMAGE_CHAIN, segno, rec.seq, off, AT,
                  "records differ from what the segment's anchor recorded "
                  "as durable");
      goto cleanup;
    }
    s->next_seq++;
    s->records++;
    if ((rc = check_checkpoint_chain(s, segno, off)) != MEDSHIM_OK)
      goto cleanup;
    if (s->fn != NULL) {
      if ((s->want_claim_body && rec.type == JF_REC_CLAIM) ||
          (s->want_status_body && rec.type == JF_REC_STATUS)) {
        /* Open again with the body: only the needed records pay for it. */
        if (medshim__jrec_open(s->crypto, s->scratch, seg->key, p, avail, 1,
                               &rec) != JREC_OK) {
          rc = damage(s, MEDSHIM_DAMAGE_BAD_RECORD, segno, rec.seq, off, AT,
                      "record body does not decompress");
          if (rc != SALVAGED)
            goto cleanup;
          rc = MEDSHIM_OK;
          off += rec.len;
          continue;
        }
      }
      rc = s->fn(s->payload, (uint32_t)(s->nsegs - 1), off, &rec);
      if (rc != MEDSHIM_OK)
        goto cleanup;
    }
    off += rec.len;
  }
  seg->end = s->torn ? s->torn_offset : off;
  if (anchored && s->next_seq <= an.seq) {
    char why[200];
    medshim__fmt(why, sizeof why,
                 "the segment ends before record %" PRIu64 ", which its "
                 "anchor recorded as durable: records were cut from its end",
                 an.seq);
    rc = damage(s, MEDSHIM_DAMAGE_TRUNCATED, segno, s->next_seq, off, AT, why);
  }
cleanup:
  if (r.fd >= 0)
    medshim__os_close(r.fd);
  free(r.buf);
  free(path);
  return rc;
}

int medshim__jscan_run(medshim__jscan *s) {
  uint64_t *list = NULL;
  size_t n = 0;
  int rc = MEDSHIM_OK;

  s->next_seq = 1;
  memset(s->chain, 0, sizeof s->chain);
  s->records = 0;
  s->torn = 0;
  s->torn_segment_empty = 0;
  s->torn_bytes = 0;
  s->torn_anchor = 0;
  s->torn_unused = 0;
  s->skipped = 0;
  s->nsegs = 0;
  s->segs = NULL;
  memset(&s->report, 0, sizeof s->report);
  s->report.version = MEDSHIM_VERIFY_REPORT_VERSION;

  if (medshim__segment_list(s->dir, &list, &n) != 0) {
    medshim__fmt(s->report.text, sizeof s->report.text,
                 "cannot list %s: %s", s->dir, strerror(errno));
    return errno == ENOMEM ? MEDSHIM_ENOMEM : MEDSHIM_EIO;
  }
  /* in locked memory kept out of core dumps: it holds segment keys */
  s->segs = medshim__secmem_array(n, sizeof *s->segs);
  if (s->segs == NULL) {
    free(list);
    return MEDSHIM__FAIL(MEDSHIM_ENOMEM);
  }
  if (s->have_checkpoint && s->checkpoint.seq == 0 &&
      !medshim__ct_equal(s->checkpoint.chain, s->chain, JF_HASH_BYTES)) {
    free(list);
    return damage(s, MEDSHIM_DAMAGE_BAD_CHECKPOINT, 0, 0, 0, AT,
                  "checkpoint of an empty journal has a chain");
  }
  for (size_t i = 0; i < n; i++) {
    rc = scan_segment(s, list[i], i + 1 == n);
    if (rc != MEDSHIM_OK || s->torn)
      break;
  }
  free(list);
  s->report.segments = s->nsegs;
  s->report.records = s->records;
  if (rc > 0)
    return MEDSHIM_OK; /* the callback ended the walk early */
  if (rc != MEDSHIM_OK)
    return rc;
  if (s->salvage)
    return MEDSHIM_OK; /* whatever is missing: what authenticated was read */
  if (s->have_checkpoint && s->next_seq - 1 < s->checkpoint.seq)
    return damage(s, MEDSHIM_DAMAGE_TRUNCATED, s->nsegs, s->next_seq,
                  0, AT, "journal ends before the checkpoint's last record: "
                         "records or segments were removed from the end");
  if (s->have_checkpoint && s->nsegs < s->checkpoint.segno)
    return damage(s, MEDSHIM_DAMAGE_TRUNCATED, s->nsegs, s->next_seq, 0, AT,
                  "fewer segments than the checkpoint names");
  return MEDSHIM_OK;
}
