/* libFuzzer target for the journal's record reader.
 * Mode 0: the input is a record as found on disk (header, ciphertext, tag);
 *         it must be refused or opened without crashing.
 * Mode 1: the input is a record's plaintext, sealed here with a fixed key,
 *         so that the parser behind authentication (lengths, ids,
 *         compression) is reached too: a forged plaintext is what a bug in
 *         a writer, or a stolen key, would produce.
 * The mode is bit 0 of the first byte; bit 1 picks the suite (default or
 * SM: AES-256-GCM or SM4-CTR + HMAC-SM3); in mode 0, bit 2 opens without
 * the body (the scan's head-only decryption). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "claim_internal.h"
#include "claim_status_internal.h"
#include "journal_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static medshim__jcrypto *cs[2];
  static const unsigned char key[JF_RECKEY_MAX] = {7, 7, 7};
  const unsigned sm = (data[0] >> 1) & 1;
  medshim__jcrypto *c;
  medshim__jscratch s;
  medshim__jrec rec;
  unsigned char *buf = NULL;

  if (size < 1 || size > JF_RECORD_MAX)
    return 0;
  if (cs[sm] == NULL &&
      (cs[sm] = medshim__jcrypto_new(medshim__jsuite_get(
           sm ? MEDSHIM_JOURNAL_SUITE_SM : MEDSHIM_JOURNAL_SUITE_DEFAULT))) ==
          NULL)
    abort();
  c = cs[sm];
  memset(&s, 0, sizeof s);
  if (data[0] % 2 == 0) {
    (void)medshim__jrec_open(c, &s, key, data + 1, size - 1,
                             (data[0] & 4) == 0, &rec);
  } else {
    /* Seal the plaintext exactly as given (no padding), then open it. */
    size_t plain = size - 1, len = JF_RECORD_OVERHEAD + plain;
    unsigned char nonce[JF_NONCE_BYTES] = {0};
    buf = malloc(len);
    if (buf == NULL)
      return 0;
    memset(buf, 0, JF_RECORD_HEADER_BYTES);
    jf_put32(buf, (uint32_t)len);
    buf[4] = (data[1 % size] & 1) ? JF_REC_CLAIM : JF_REC_STATUS;
    buf[5] = JF_VERSION;
    jf_put64(buf + 8, 1);
    jf_put64(nonce + 4, 1);
    if (medshim__jcrypto_seal(c, key, nonce, buf, JF_RECORD_HEADER_BYTES,
                              data + 1, plain, buf + JF_RECORD_HEADER_BYTES,
                              buf + JF_RECORD_HEADER_BYTES + plain) != 0)
      abort();
    if (medshim__jrec_open(c, &s, key, buf, len, 1, &rec) == JREC_OK &&
        rec.body != NULL) {
      /* Whatever authenticates goes on to the body decoders. */
      medshim_claim *claim = NULL;
      medshim_claim_status st;
      medshim_step steps[MEDSHIM_STEPS_MAX];
      size_t nsteps;
      if (medshim__claim_decode(&claim, rec.body, rec.body_len) == MEDSHIM_OK)
        medshim_claim_free(claim);
      /* the step log too: a status body of version 2 */
      (void)medshim__status_decode(&st, steps, MEDSHIM_STEPS_MAX, &nsteps,
                                   rec.body, rec.body_len);
    }
  }
  free(buf);
  medshim__jscratch_free(&s);
  return 0;
}
