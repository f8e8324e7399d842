/* The table of journal suites (journal_suite_internal.h). The seal and open
 * functions are in journal_crypto.c, which holds the EVP contexts. */
#include <stddef.h>

#include "journal_crypto_internal.h"
#include "journal_suite_internal.h"
#include "medshim/journal.h"

static const medshim__jsuite suites[] = {
    /* Format 1: AES-256-GCM records, SHA-256 chain, HMAC-SHA256 and
     * HKDF-SHA256; the keyring wraps the data key under the KEK with
     * AES-256-GCM. */
    {MEDSHIM_JOURNAL_SUITE_DEFAULT, "default", JF_VERSION, JF_WRAP_AES256GCM,
     "AES-256-GCM", "SHA256", 32, 32, 1, medshim__aead_seal,
     medshim__aead_open},
    /* The national suite (GB/T 32907 SM4, GB/T 32905 SM3): SM4-CTR then
     * HMAC-SM3 over the AAD, the nonce and the ciphertext (encrypt-then-
     * MAC, the tag its first 16 bytes), a 16-byte SM4 key and a 32-byte
     * MAC key per record key; SM3 chain, HMAC-SM3 and HKDF-SM3. */
    {MEDSHIM_JOURNAL_SUITE_SM, "sm", JF_KEYRING_V_SM, JF_WRAP_SM4CTR_HMACSM3,
     "SM4-CTR", "SM3", 48, 16, 0, medshim__etm_seal, medshim__etm_open},
};

const medshim__jsuite *medshim__jsuite_get(unsigned int id) {
  for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
    if (suites[i].id == id)
      return &suites[i];
  return NULL;
}

const medshim__jsuite *medshim__jsuite_of_keyring(uint16_t version,
                                                  uint32_t alg) {
  for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
    if (suites[i].keyring_version == version && suites[i].keyring_alg == alg)
      return &suites[i];
  return NULL;
}
