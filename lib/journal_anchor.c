/* Segment anchors. After each group commit the writer records, in place in
 * the segment's own anchor area, the last record that commit made durable
 * (its sequence, where it ends, the running hash after it). The slot is
 * written after the fdatasync returned and is not synced itself: it says
 * only what was already durable, so a power cut can leave it behind the
 * records but never ahead of them; it becomes durable with the next
 * fdatasync of the segment. Two slots alternate, so a torn slot write
 * leaves the previous anchor readable. A scan that finds fewer records
 * than the anchor names, or a bad record at or below it, reports damage;
 * a bad record beyond it is a torn tail (see journal_scan.c). */
#include <errno.h>
#include <string.h>

#include "io_internal.h"
#include "journal_anchor_internal.h"
#include "journal_crypto_internal.h"
#include "journal_keys_internal.h"
#include "memory_internal.h"

uint64_t medshim__anchor_slot_offset(uint64_t counter) {
  return JF_ANCHOR_SLOT0 + (counter & 1u) * JF_ANCHOR_SLOT_STRIDE;
}

int medshim__anchor_build(unsigned char out[JF_ANCHOR_BYTES],
                          const medshim__jkeys *k, const medshim__janchor *a) {
  memset(out, 0, JF_ANCHOR_BYTES);
  memcpy(out, JF_ANCHOR_MAGIC, 8);
  jf_put64(out + 8, a->counter);
  jf_put64(out + 16, a->segno);
  jf_put64(out + 24, a->seq);
  jf_put64(out + 32, a->end);
  memcpy(out + 40, k->id, JF_ID_BYTES);
  memcpy(out + 56, a->chain, JF_HASH_BYTES);
  return medshim__hmac(k->suite, out + JF_ANCHOR_MAC_OFFSET, k->hdr, out,
                       JF_ANCHOR_MAC_OFFSET);
}

/* One slot: 0 when authentic and of this segment. */
static int slot_parse(const unsigned char *in, const medshim__jkeys *k,
                      uint64_t segno, medshim__janchor *a) {
  unsigned char mac[JF_HASH_BYTES];
  if (memcmp(in, JF_ANCHOR_MAGIC, 8) != 0 ||
      medshim__hmac(k->suite, mac, k->hdr, in, JF_ANCHOR_MAC_OFFSET) != 0 ||
      !medshim__ct_equal(mac, in + JF_ANCHOR_MAC_OFFSET, JF_HASH_BYTES) ||
      !medshim__ct_equal(in + 40, k->id, JF_ID_BYTES) ||
      jf_get64(in + 16) != segno)
    return -1;
  a->counter = jf_get64(in + 8);
  a->segno = segno;
  a->seq = jf_get64(in + 24);
  a->end = jf_get64(in + 32);
  memcpy(a->chain, in + 56, JF_HASH_BYTES);
  return 0;
}

int medshim__anchor_pick(const unsigned char *area, size_t len,
                         const medshim__jkeys *k, uint64_t segno,
                         medshim__janchor *a) {
  medshim__janchor s[2];
  int ok[2];
  for (int i = 0; i < 2; i++) {
    size_t off = JF_ANCHOR_SLOT0 + (size_t)i * JF_ANCHOR_SLOT_STRIDE;
    ok[i] = off + JF_ANCHOR_BYTES <= len &&
            slot_parse(area + off, k, segno, &s[i]) == 0 &&
            (s[i].counter & 1u) == (uint64_t)i; /* not copied across */
  }
  if (!ok[0] && !ok[1])
    return -1;
  if (ok[0] && ok[1])
    *a = s[1].counter > s[0].counter ? s[1] : s[0];
  else
    *a = ok[0] ? s[0] : s[1];
  return 0;
}

int medshim__anchor_write(int fd, const medshim__jkeys *k,
                          const medshim__janchor *a) {
  unsigned char slot[JF_ANCHOR_BYTES];
  int rc;
  if (medshim__anchor_build(slot, k, a) != 0) {
    errno = EIO;
    return -1;
  }
  rc = medshim__io_pwrite_all(fd, slot, sizeof slot,
                              (int64_t)medshim__anchor_slot_offset(a->counter));
  medshim__wipe(slot, sizeof slot);
  return rc;
}
