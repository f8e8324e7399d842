/* Receipts: the external anchor of a journal. A receipt names the journal
 * (a 4-hex tag), the claim record's sequence, and a MAC over the journal
 * id, that sequence, the record's authentication tag (which binds its
 * content and its place in the chain) and the visit_id:
 *
 *   R1-<tag>-<seq>-<16 hex of HMAC(receipt key, ...)>
 *
 * A journal directory put back from an older copy lacks the claims
 * acknowledged since, or holds other records at their sequences: the HIS's
 * receipts no longer match. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors_internal.h"
#include "journal_crypto_internal.h"
#include "journal_handle_internal.h"
#include "journal_read_internal.h"
#include "memory_internal.h"

#define RECEIPT_MAC_BYTES 8

static void hex(char *out, const unsigned char *p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * n] = '\0';
}

/* The journal's tag: 2 bytes of a MAC over a constant. */
static int journal_tag(char out[5], const medshim__jkeys *k) {
  unsigned char mac[JF_HASH_BYTES];
  static const unsigned char what[] = "medshim v1 receipt journal tag";
  if (medshim__hmac(k->suite, mac, k->receipt, what, sizeof what - 1) != 0)
    return -1;
  hex(out, mac, 2);
  return 0;
}

static int receipt_mac(char out[2 * RECEIPT_MAC_BYTES + 1],
                       const medshim__jkeys *k, uint64_t seq,
                       const unsigned char tag[JF_TAG_BYTES], const char *id,
                       size_t id_len) {
  unsigned char msg[JF_ID_BYTES + 8 + JF_TAG_BYTES + 1 + 255];
  unsigned char mac[JF_HASH_BYTES];
  size_t n = 0;
  if (id_len > 255)
    return -1;
  memcpy(msg, k->id, JF_ID_BYTES);
  n += JF_ID_BYTES;
  jf_put64(msg + n, seq);
  n += 8;
  memcpy(msg + n, tag, JF_TAG_BYTES);
  n += JF_TAG_BYTES;
  msg[n++] = (unsigned char)id_len;
  memcpy(msg + n, id, id_len);
  n += id_len;
  if (medshim__hmac(k->suite, mac, k->receipt, msg, n) != 0)
    return -1;
  hex(out, mac, RECEIPT_MAC_BYTES);
  return 0;
}

/* The claim record of visit_id: its sequence and tag. j->mu held. */
static int claim_record(medshim_journal *j, const char *visit_id,
                        uint64_t *seq, unsigned char tag[JF_TAG_BYTES],
                        char *why, size_t why_size) {
  medshim__jentry *e = medshim__jindex_find(&j->ix, visit_id, strlen(visit_id));
  medshim__jrec rec;
  unsigned char *buf = NULL;
  size_t cap = 0;
  int rc;
  if (e == NULL) {
    medshim__fmt(why, why_size, "no claim with visit_id %.64s", visit_id);
    return MEDSHIM__FAIL(MEDSHIM_ENOTFOUND);
  }
  rc = medshim__journal_read(j, e->claim_seg, e->claim_off, &rec, &buf, &cap);
  if (rc == MEDSHIM_OK) {
    *seq = rec.seq;
    memcpy(tag, rec.tag, JF_TAG_BYTES);
  } else {
    medshim__fmt(why, why_size, "%s", j->errmsg);
  }
  if (buf != NULL) {
    medshim__wipe(buf, cap);
    free(buf);
  }
  return rc;
}

int medshim_journal_receipt(char out[MEDSHIM_RECEIPT_LEN_MAX + 1],
                            medshim_journal *j, const char *visit_id) {
  char why[256], jt[5], mac[2 * RECEIPT_MAC_BYTES + 1];
  unsigned char tag[JF_TAG_BYTES];
  uint64_t seq = 0;
  int rc;
  if (out == NULL || j == NULL || visit_id == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  out[0] = '\0';
  if (j->parent != NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL); /* a lane holds no claims */
  pthread_mutex_lock(&j->mu);
  rc = claim_record(j, visit_id, &seq, tag, why, sizeof why);
  if (rc == MEDSHIM_OK &&
      (journal_tag(jt, &j->keys) != 0 ||
       receipt_mac(mac, &j->keys, seq, tag, visit_id, strlen(visit_id)) != 0))
    rc = MEDSHIM_ECRYPTO;
  pthread_mutex_unlock(&j->mu);
  if (rc != MEDSHIM_OK)
    return medshim__journal_fail(j, rc, rc == MEDSHIM_ECRYPTO
                                            ? "cannot compute the receipt"
                                            : why);
  medshim__fmt(out, MEDSHIM_RECEIPT_LEN_MAX + 1, "R1-%s-%" PRIu64 "-%s", jt,
               seq, mac);
  return MEDSHIM_OK;
}

/* "R1-tttt-<seq>-<16 hex>": 0 and the parts, or -1. */
static int parse(const char *r, char jt[5], uint64_t *seq,
                 char mac[2 * RECEIPT_MAC_BYTES + 1]) {
  const char *p;
  uint64_t v = 0;
  size_t i;
  if (strlen(r) > MEDSHIM_RECEIPT_LEN_MAX || strncmp(r, "R1-", 3) != 0)
    return -1;
  p = r + 3;
  for (i = 0; i < 4; i++) {
    if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
      return -1;
    jt[i] = p[i];
  }
  jt[4] = '\0';
  if (p[4] != '-')
    return -1;
  p += 5;
  for (i = 0; p[i] >= '0' && p[i] <= '9'; i++) {
    if (i >= 19)
      return -1;
    v = v * 10 + (uint64_t)(p[i] - '0');
  }
  if (i == 0 || v == 0 || p[i] != '-')
    return -1;
  p += i + 1;
  for (i = 0; i < 2 * RECEIPT_MAC_BYTES; i++) {
    if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
      return -1;
    mac[i] = p[i];
  }
  mac[i] = '\0';
  if (p[i] != '\0')
    return -1;
  *seq = v;
  return 0;
}

int medshim_journal_check_receipt(medshim_journal *j, const char *visit_id,
                                  const char *receipt) {
  char why[400], jt[5], want_jt[5], mac[2 * RECEIPT_MAC_BYTES + 1];
  char have[2 * RECEIPT_MAC_BYTES + 1];
  unsigned char tag[JF_TAG_BYTES];
  uint64_t seq = 0, rseq = 0, last;
  int rc;
  if (j == NULL || visit_id == NULL || receipt == NULL || j->parent != NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  if (parse(receipt, jt, &rseq, mac) != 0)
    return medshim__journal_fail(j, MEDSHIM_EINVAL,
                                 "not a receipt (expected R1-tttt-SEQ-MAC)");
  pthread_mutex_lock(&j->mu);
  last = j->next_seq - 1;
  if (journal_tag(want_jt, &j->keys) != 0) {
    pthread_mutex_unlock(&j->mu);
    return medshim__journal_fail(j, MEDSHIM_ECRYPTO,
                                 "cannot compute the receipt");
  }
  if (strcmp(jt, want_jt) != 0) {
    pthread_mutex_unlock(&j->mu);
    return medshim__journal_fail(j, MEDSHIM_EKEY,
                                 "the receipt was issued by another journal");
  }
  rc = claim_record(j, visit_id, &seq, tag, why, sizeof why);
  if (rc == MEDSHIM_OK &&
      receipt_mac(have, &j->keys, rseq, tag, visit_id, strlen(visit_id)) != 0)
    rc = MEDSHIM_ECRYPTO;
  pthread_mutex_unlock(&j->mu);
  if (rc == MEDSHIM_ENOTFOUND) {
    medshim__fmt(why, sizeof why,
                 "claim %.64s (record %" PRIu64 " by its receipt) is not in "
                 "the journal, whose records end at %" PRIu64 ": %s",
                 visit_id, rseq, last,
                 rseq > last ? "the directory was rolled back to an older "
                               "copy, or its end was cut"
                             : "records were removed, or the directory "
                               "replaced");
    return medshim__journal_fail(j, MEDSHIM_ECORRUPT, why);
  }
  if (rc != MEDSHIM_OK)
    return medshim__journal_fail(j, rc, rc == MEDSHIM_ECRYPTO
                                            ? "cannot compute the receipt"
                                            : why);
  if (seq != rseq || !medshim__ct_equal(have, mac, sizeof mac - 1)) {
    medshim__fmt(why, sizeof why,
                 "claim %.64s: the journal's record (%" PRIu64 ") is not the "
                 "one the receipt was issued for (%" PRIu64 "): the directory "
                 "was replaced or rolled back and the claim deferred again",
                 visit_id, seq, rseq);
    return medshim__journal_fail(j, MEDSHIM_ECORRUPT, why);
  }
  return MEDSHIM_OK;
}
