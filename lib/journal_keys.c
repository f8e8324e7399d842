/* Keys of a journal: the data key unwrapped from the keyring (shared by
 * open and verify), the keys derived from it, and the replay keys that
 * name a visit to the platform. */
#include <stdlib.h>
#include <string.h>

#include "errors_internal.h"
#include "journal_crypto_internal.h"
#include "journal_handle_internal.h"
#include "journal_keys_internal.h"
#include "journal_segment_internal.h"
#include "keyring_internal.h"
#include "memory_internal.h"
#include "medshim/journal.h"

int medshim__jkeys_load(medshim__jkeys *k, const char *dir, int create,
                        unsigned int want, medshim_error *err) {
  uint64_t *segnos = NULL;
  size_t nseg = 0;
  const medshim__jsuite *want_suite = medshim__jsuite_get(want);
  int rc;
  if (want_suite == NULL) {
    medshim__wipe(k->kek, sizeof k->kek);
    return medshim__error_set(err, MEDSHIM_EINVAL, "opts",
                              "unknown cryptographic suite %u", want);
  }
  rc = medshim__keyring_open(dir, k->kek, k->dk, k->id, &k->suite, err);
  if (rc == MEDSHIM_ENOTFOUND && create) {
    if (medshim__segment_list(dir, &segnos, &nseg) == 0 && nseg > 0)
      rc = medshim__error_set(err, MEDSHIM_ECORRUPT, JF_KEYRING_NAME,
                              "keyring missing but segments exist in %s", dir);
    else if ((rc = medshim__keyring_create(dir, want_suite, k->kek, k->dk,
                                           k->id, err)) == MEDSHIM_OK)
      k->suite = want_suite;
    free(segnos);
  }
  medshim__wipe(k->kek, sizeof k->kek);
  if (rc == MEDSHIM_OK && want != MEDSHIM_JOURNAL_SUITE_DEFAULT &&
      k->suite != want_suite)
    rc = medshim__error_set(err, MEDSHIM_EINVAL, "opts",
                            "the journal in %s uses the %s suite, not %s",
                            dir, k->suite->name, want_suite->name);
  if (rc == MEDSHIM_OK && medshim__jkeys_derive(k) != 0)
    rc = medshim__error_set(err, MEDSHIM_ECRYPTO, "", "key derivation failed");
  return rc;
}

int medshim__jkeys_derive(medshim__jkeys *k) {
  const medshim__jsuite *s = k->suite;
  if (medshim__hkdf(s, k->hdr, 32, k->dk, k->id, JF_ID_BYTES,
                    "medshim v1 segment header", NULL, 0) != 0 ||
      medshim__hkdf(s, k->ckpt, 32, k->dk, k->id, JF_ID_BYTES,
                    "medshim v1 checkpoint", NULL, 0) != 0 ||
      medshim__hkdf(s, k->replay, 32, k->dk, k->id, JF_ID_BYTES,
                    "medshim v1 replay key", NULL, 0) != 0 ||
      medshim__hkdf(s, k->receipt, 32, k->dk, k->id, JF_ID_BYTES,
                    "medshim v1 receipt", NULL, 0) != 0)
    return -1;
  return 0;
}

int medshim__jkeys_lane(medshim__jkeys *lane, const medshim__jkeys *k) {
  memset(lane, 0, sizeof *lane);
  memcpy(lane->id, k->id, JF_ID_BYTES);
  lane->suite = k->suite;
  if (medshim__hkdf(k->suite, lane->dk, 32, k->dk, k->id, JF_ID_BYTES,
                    "medshim v1 replay lane", NULL, 0) != 0)
    return -1;
  return medshim__jkeys_derive(lane);
}

int medshim__segment_key(unsigned char out[JF_RECKEY_MAX],
                         const medshim__jkeys *k,
                         uint64_t segno,
                         const unsigned char salt[JF_SALT_BYTES]) {
  unsigned char ctx[JF_ID_BYTES + 8];
  memcpy(ctx, k->id, JF_ID_BYTES);
  jf_put64(ctx + JF_ID_BYTES, segno);
  return medshim__hkdf(k->suite, out, k->suite->reckey_len, k->dk, salt,
                       JF_SALT_BYTES,
                       "medshim v1 segment records", ctx, sizeof ctx);
}

int medshim_journal_replay_key(char out[MEDSHIM_REPLAY_KEY_LEN + 1],
                               const medshim_journal *j, const char *visit_id) {
  static const char hex[] = "0123456789abcdef";
  unsigned char mac[JF_HASH_BYTES];
  if (out == NULL || j == NULL || visit_id == NULL)
    return MEDSHIM_EINVAL;
  /* The keys are fixed after open: no lock needed to read them. */
  if (medshim__hmac(j->keys.suite, mac, j->keys.replay, (const unsigned char *)visit_id,
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
