/* Schedule signing keys made through the API: an Ed25519 or SM2 pair as
 * PEM text, what medshim_schedule_sign() and a set's public_key_pem take
 * (and what `openssl genpkey -algorithm ed25519|sm2` makes). */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "errors_internal.h"
#include "memory_internal.h"
#include "medshim/schedule.h"

/* The BIO's text as a malloc'd NUL-terminated string (wiped from the BIO's
 * memory by BIO_free: it is a BIO_s_secmem for the private key). */
static char *bio_text(BIO *b) {
  char *data = NULL, *out;
  long n = BIO_get_mem_data(b, &data);
  if (n <= 0 || data == NULL || (out = malloc((size_t)n + 1)) == NULL)
    return NULL;
  memcpy(out, data, (size_t)n);
  out[n] = '\0';
  return out;
}

int medshim_schedule_keygen(char **private_key_pem, char **public_key_pem,
                            unsigned int alg) {
  EVP_PKEY *key = NULL;
  BIO *priv = NULL, *pub = NULL;
  int rc = MEDSHIM_ECRYPTO;
  if (private_key_pem == NULL || public_key_pem == NULL ||
      (alg != MEDSHIM_SCHEDULE_KEY_ED25519 && alg != MEDSHIM_SCHEDULE_KEY_SM2))
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  *private_key_pem = *public_key_pem = NULL;
  key = EVP_PKEY_Q_keygen(NULL, NULL,
                          alg == MEDSHIM_SCHEDULE_KEY_SM2 ? "SM2" : "ED25519");
  priv = BIO_new(BIO_s_secmem());
  pub = BIO_new(BIO_s_mem());
  if (key != NULL && priv != NULL && pub != NULL &&
      PEM_write_bio_PrivateKey(priv, key, NULL, NULL, 0, NULL, NULL) == 1 &&
      PEM_write_bio_PUBKEY(pub, key) == 1) {
    *private_key_pem = bio_text(priv);
    *public_key_pem = bio_text(pub);
    rc = MEDSHIM_OK;
    if (*private_key_pem == NULL || *public_key_pem == NULL) {
      if (*private_key_pem != NULL)
        medshim__wipe(*private_key_pem, strlen(*private_key_pem));
      free(*private_key_pem);
      free(*public_key_pem);
      *private_key_pem = *public_key_pem = NULL;
      rc = MEDSHIM_ENOMEM;
    }
  }
  EVP_PKEY_free(key);
  BIO_free(priv);
  BIO_free(pub);
  if (rc == MEDSHIM_ECRYPTO)
    return medshim__last_set(rc, "medshim_schedule_keygen",
                             "OpenSSL could not make the key pair");
  return rc == MEDSHIM_OK ? rc : MEDSHIM__FAIL(rc);
}
