/* Sealing and opening one journal record: frame the body (compressed when
 * that pays), pad, encrypt-and-authenticate with the header as associated
 * data. */
#include <stdlib.h>
#include <string.h>

#include "errors_internal.h"
#include "journal_record_internal.h"
#include "memory_internal.h"
#include "medshim/errors.h"

void medshim__jscratch_free(medshim__jscratch *s) {
  if (s == NULL)
    return;
  /* Plaintext of claims holds personal data. */
  medshim__wipe(s->plain, s->plain_cap);
  medshim__wipe(s->body, s->body_cap);
  free(s->plain);
  free(s->body);
  memset(s, 0, sizeof *s);
}

static int reserve(unsigned char **buf, size_t *cap, size_t need) {
  unsigned char *n;
  size_t c;
  if (need <= *cap)
    return 0;
  c = *cap ? *cap : 4096;
  while (c < need)
    c *= 2;
  n = malloc(c);
  if (n == NULL)
    return -1;
  /* Not realloc: the old block may hold personal data and must be wiped. */
  if (*buf != NULL) {
    memcpy(n, *buf, *cap);
    medshim__wipe(*buf, *cap);
    free(*buf);
  }
  *buf = n;
  *cap = c;
  return 0;
}

/* Plaintext sizes are rounded up so that a record's length says little about
 * its content: 256-byte steps up to 8 KiB, then 4 KiB steps. */
static size_t padded(size_t n) {
  size_t step = n <= 8192 ? 256 : 4096;
  return (n + step - 1) / step * step;
}

static void nonce_for(unsigned char nonce[JF_NONCE_BYTES], uint64_t seq) {
  /* Unique per segment key: a segment key is never reused across writers
   * (each writer session starts a new segment with a fresh random salt) and
   * sequence numbers never repeat within a segment. */
  memset(nonce, 0, JF_NONCE_BYTES);
  jf_put64(nonce + 4, seq);
}

int medshim__jrec_seal(medshim__jcrypto *c, medshim__jscratch *s,
                       const unsigned char *key, uint64_t seq,
                       const unsigned char prev_chain[JF_HASH_BYTES],
                       const medshim__jrec_in *in, unsigned char **out,
                       size_t *out_cap, size_t *out_len,
                       unsigned char tag_out[JF_TAG_BYTES]) {
  const char *id = in->id;
  const size_t id_len = in->id_len, body_len = in->body_len, zlen = in->zlen;
  const unsigned char *body = in->body, *zbody = in->zbody;
  size_t inner, plain_len, rec_len;
  unsigned char nonce[JF_NONCE_BYTES];
  unsigned char *rec, *p;
  int comp = JF_COMP_NONE;

  if (id_len == 0 || id_len > 255 || body_len > JF_RECORD_MAX)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  /* The caller compresses claims (outside the journal's lock); keep the
   * compressed form only when it saves something after framing. */
  if (zbody != NULL && zlen > 0 && zlen + 16 < body_len)
    comp = JF_COMP_ZLIB;
  inner = 1 + id_len + JF_DIGEST_BYTES + 1 + 4 +
          (comp == JF_COMP_ZLIB ? zlen : body_len);
  plain_len = padded(4 + inner);
  rec_len = JF_RECORD_OVERHEAD + plain_len;
  if (rec_len > JF_RECORD_MAX)
    return MEDSHIM__FAIL(MEDSHIM_ERANGE);
  if (reserve(&s->plain, &s->plain_cap, plain_len) != 0 ||
      reserve(out, out_cap, *out_len + rec_len) != 0)
    return MEDSHIM__FAIL(MEDSHIM_ENOMEM);

  p = s->plain;
  jf_put32(p, (uint32_t)inner);
  p += 4;
  *p++ = (unsigned char)id_len;
  memcpy(p, id, id_len);
  p += id_len;
  memcpy(p, in->digest, JF_DIGEST_BYTES);
  p += JF_DIGEST_BYTES;
  *p++ = (unsigned char)comp;
  jf_put32(p, (uint32_t)body_len);
  p += 4;
  if (comp == JF_COMP_ZLIB) {
    memcpy(p, zbody, zlen);
    p += zlen;
  } else if (body_len > 0) {
    memcpy(p, body, body_len);
    p += body_len;
  }
  memset(p, 0, plain_len - (size_t)(p - s->plain));

  rec = *out + *out_len;
  jf_put32(rec, (uint32_t)rec_len);
  rec[4] = in->type;
  rec[5] = JF_VERSION;
  jf_put16(rec + 6, 0);
  jf_put64(rec + 8, seq);
  memcpy(rec + 16, prev_chain, JF_HASH_BYTES);
  nonce_for(nonce, seq);
  if (medshim__jcrypto_seal(c, key, nonce, rec, JF_RECORD_HEADER_BYTES,
                            s->plain, plain_len, rec + JF_RECORD_HEADER_BYTES,
                            rec + JF_RECORD_HEADER_BYTES + plain_len) != 0)
    return MEDSHIM__FAIL(MEDSHIM_ECRYPTO);
  memcpy(tag_out, rec + JF_RECORD_HEADER_BYTES + plain_len, JF_TAG_BYTES);
  *out_len += rec_len;
  return MEDSHIM_OK;
}

enum medshim__jrec_fail medshim__jrec_open(medshim__jcrypto *c,
                                           medshim__jscratch *s,
                                           const unsigned char *key,
                                           const unsigned char *rec,
                                           size_t avail, int want_body,
                                           medshim__jrec *out) {
  unsigned char nonce[JF_NONCE_BYTES];
  uint32_t len, inner, raw_len;
  size_t plain_len, id_len, payload;
  const unsigned char *p;
  int comp;

  if (avail < JF_RECORD_HEADER_BYTES)
    return JREC_SHORT;
  len = jf_get32(rec);
  if (len < JF_RECORD_OVERHEAD + 256 || len > JF_RECORD_MAX ||
      (rec[4] != JF_REC_CLAIM && rec[4] != JF_REC_STATUS) ||
      rec[5] != JF_VERSION || jf_get16(rec + 6) != 0)
    return JREC_HEADER;
  if (len > avail)
    return JREC_SHORT;
  plain_len = len - JF_RECORD_OVERHEAD;
  if (reserve(&s->plain, &s->plain_cap, plain_len) != 0)
    return JREC_NOMEM;
  out->type = rec[4];
  out->seq = jf_get64(rec + 8);
  out->len = len;
  memcpy(out->header, rec, JF_RECORD_HEADER_BYTES);
  memcpy(out->tag, rec + len - JF_TAG_BYTES, JF_TAG_BYTES);
  nonce_for(nonce, out->seq);
  /* Without the body only the inner header is read: the longest one
   * (a visit_id of 255 bytes) is all a CTR suite needs to decrypt. */
  if (medshim__jcrypto_open_head(c, key, nonce, rec, JF_RECORD_HEADER_BYTES,
                                 rec + JF_RECORD_HEADER_BYTES, plain_len,
                                 rec + len - JF_TAG_BYTES, s->plain,
                                 want_body ? plain_len
                                           : 4 + 1 + 255 + JF_DIGEST_BYTES +
                                                 1 + 4) != 0)
    return JREC_AUTH;

  /* Authenticated: from here on a malformed field is a bug or a forged key,
   * never a torn write. */
  p = s->plain;
  inner = jf_get32(p);
  if (inner + 4u > plain_len || inner < 1 + JF_DIGEST_BYTES + 1 + 4)
    return JREC_PLAIN;
  id_len = p[4];
  if (id_len == 0 || 1 + id_len + JF_DIGEST_BYTES + 1 + 4 > inner)
    return JREC_PLAIN;
  out->id = (const char *)p + 5;
  out->id_len = id_len;
  p += 5 + id_len;
  memcpy(out->digest, p, JF_DIGEST_BYTES);
  p += JF_DIGEST_BYTES;
  comp = *p++;
  raw_len = jf_get32(p);
  p += 4;
  payload = inner - (1 + id_len + JF_DIGEST_BYTES + 1 + 4);
  out->body = NULL;
  out->body_len = raw_len;
  if (comp == JF_COMP_NONE) {
    if (payload != raw_len)
      return JREC_PLAIN;
    if (want_body)
      out->body = p; /* else not decrypted, as a compressed one is not */
  } else if (comp == JF_COMP_ZLIB) {
    if (raw_len > JF_RECORD_MAX * 8u)
      return JREC_PLAIN;
    if (want_body) {
      if (reserve(&s->body, &s->body_cap, raw_len ? raw_len : 1) != 0)
        return JREC_NOMEM;
      if (medshim__jcrypto_decompress(c, p, payload, s->body, raw_len) != 0)
        return JREC_PLAIN;
      out->body = s->body;
    }
  } else {
    return JREC_PLAIN;
  }
  return JREC_OK;
}
