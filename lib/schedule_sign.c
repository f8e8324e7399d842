/* Ed25519 signatures over schedule files (OpenSSL EVP), base64 encoded, so
 * that a forged file can neither push a hospital into self-pay nor hide a
 * cutover. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "errors_internal.h"
#include "schedule_internal.h"

static EVP_PKEY *read_key(const char *pem, int private_key) {
  BIO *bio = BIO_new_mem_buf(pem, -1);
  EVP_PKEY *key = NULL;
  if (bio == NULL)
    return NULL;
  key = private_key ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)
                    : PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
  BIO_free(bio);
  if (key != NULL && EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(key);
    key = NULL;
  }
  return key;
}

int medshim_schedule_sign(char **out, const char *data, size_t len,
                          const char *private_key_pem) {
  EVP_PKEY *key;
  EVP_MD_CTX *md = NULL;
  unsigned char sig[64];
  size_t siglen = sizeof sig;
  int rc = MEDSHIM_ECRYPTO;
  if (out == NULL || data == NULL || private_key_pem == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  *out = NULL;
  key = read_key(private_key_pem, 1);
  if (key == NULL)
    return medshim__last_set(MEDSHIM_EKEY, "private_key_pem",
                             "not a PEM Ed25519 private key");
  md = EVP_MD_CTX_new();
  /* Ed25519 is "pure": no digest, the whole message in one call. */
  if (md != NULL && EVP_DigestSignInit(md, NULL, NULL, NULL, key) == 1 &&
      EVP_DigestSign(md, sig, &siglen, (const unsigned char *)data, len) == 1) {
    *out = malloc(4 * ((siglen + 2) / 3) + 1);
    if (*out == NULL)
      rc = MEDSHIM_ENOMEM;
    else {
      EVP_EncodeBlock((unsigned char *)*out, sig, (int)siglen);
      rc = MEDSHIM_OK;
    }
  }
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(key);
  return rc == MEDSHIM_OK ? rc : MEDSHIM__FAIL(rc);
}

void *medshim__sched_pubkey_parse(const char *public_key_pem) {
  return read_key(public_key_pem, 0);
}

void medshim__sched_pubkey_free(void *key) { EVP_PKEY_free(key); }

int medshim__sched_verify_with(const char *data, size_t len,
                               const char *signature_b64, void *pkey) {
  EVP_PKEY *key = pkey;
  EVP_MD_CTX *md = NULL;
  unsigned char sig[96];
  size_t b64len;
  int n, rc = MEDSHIM_ESIGNATURE;
  if (data == NULL || signature_b64 == NULL || key == NULL)
    return MEDSHIM_EINVAL;
  b64len = strlen(signature_b64);
  /* 64 bytes of signature are 88 characters of base64 */
  if (b64len != 88)
    goto cleanup;
  n = EVP_DecodeBlock(sig, (const unsigned char *)signature_b64, (int)b64len);
  if (n != 66) /* DecodeBlock counts the two padding bytes */
    goto cleanup;
  md = EVP_MD_CTX_new();
  if (md != NULL && EVP_DigestVerifyInit(md, NULL, NULL, NULL, key) == 1 &&
      EVP_DigestVerify(md, sig, 64, (const unsigned char *)data, len) == 1)
    rc = MEDSHIM_OK;
cleanup:
  EVP_MD_CTX_free(md);
  return rc;
}

int medshim_schedule_verify(const char *data, size_t len,
                            const char *signature_b64,
                            const char *public_key_pem) {
  EVP_PKEY *key;
  int rc;
  if (data == NULL || signature_b64 == NULL || public_key_pem == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  if ((key = read_key(public_key_pem, 0)) == NULL)
    return medshim__last_set(MEDSHIM_EKEY, "public_key_pem",
                             "not a PEM Ed25519 public key");
  rc = medshim__sched_verify_with(data, len, signature_b64, key);
  EVP_PKEY_free(key);
  if (rc == MEDSHIM_ESIGNATURE)
    return medshim__last_set(rc, "signature",
                             "the signature does not verify with this public key");
  return rc == MEDSHIM_OK ? rc : MEDSHIM__FAIL(rc);
}
