/* Signatures over schedule files (OpenSSL EVP), base64 encoded, so that a
 * forged file can neither push a hospital into self-pay nor hide a
 * cutover. Two algorithms, told apart by the key: Ed25519 (the signature
 * its 64 raw bytes) and SM2 with SM3 (GB/T 32918, the signature DER
 * SEQUENCE {r, s} as GB/T 35276 encodes it, distinguishing ID the
 * standard's default "1234567812345678", set explicitly). */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "errors_internal.h"
#include "schedule_internal.h"

/* GB/T 35276-2017's default distinguishing identifier. */
static const char sm2_id[] = "1234567812345678";
/* An SM2 signature: SEQUENCE of two INTEGERs of at most 33 bytes. */
#define SM2_SIG_MAX 72
#define SIG_MAX 72

static int is_sm2(const EVP_PKEY *key) { return EVP_PKEY_is_a(key, "SM2"); }

static EVP_PKEY *read_key(const char *pem, int private_key) {
  BIO *bio = BIO_new_mem_buf(pem, -1);
  EVP_PKEY *key = NULL;
  if (bio == NULL)
    return NULL;
  key = private_key ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)
                    : PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
  BIO_free(bio);
  /* Ed25519, or an EC key on the SM2 curve (never another curve) */
  if (key != NULL && !EVP_PKEY_is_a(key, "ED25519") && !is_sm2(key)) {
    EVP_PKEY_free(key);
    key = NULL;
  }
  return key;
}

/* A digest-sign or -verify context for key: Ed25519 is "pure" (no digest,
 * the whole message in one call); SM2 hashes Z(ID, key) || message with
 * SM3, so its ID goes on a key context of ours before the init. *pctx is
 * that context (NULL for Ed25519), freed by the caller after md. */
static EVP_MD_CTX *sig_ctx(EVP_PKEY *key, int sign, EVP_PKEY_CTX **pctx) {
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  int ok;
  *pctx = NULL;
  if (md == NULL)
    return NULL;
  if (is_sm2(key)) {
    *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    if (*pctx == NULL ||
        EVP_PKEY_CTX_set1_id(*pctx, sm2_id, (int)(sizeof sm2_id - 1)) != 1) {
      EVP_MD_CTX_free(md);
      return NULL;
    }
    EVP_MD_CTX_set_pkey_ctx(md, *pctx);
    ok = sign ? EVP_DigestSignInit_ex(md, NULL, "SM3", NULL, NULL, key, NULL)
              : EVP_DigestVerifyInit_ex(md, NULL, "SM3", NULL, NULL, key,
                                        NULL);
  } else {
    ok = sign ? EVP_DigestSignInit(md, NULL, NULL, NULL, key)
              : EVP_DigestVerifyInit(md, NULL, NULL, NULL, key);
  }
  if (ok != 1) {
    EVP_MD_CTX_free(md);
    return NULL;
  }
  return md;
}

int medshim_schedule_sign(char **out, const char *data, size_t len,
                          const char *private_key_pem) {
  EVP_PKEY *key;
  EVP_PKEY_CTX *pctx = NULL;
  EVP_MD_CTX *md = NULL;
  unsigned char sig[SIG_MAX];
  size_t siglen = sizeof sig;
  int rc = MEDSHIM_ECRYPTO;
  if (out == NULL || data == NULL || private_key_pem == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  *out = NULL;
  key = read_key(private_key_pem, 1);
  if (key == NULL)
    return medshim__last_set(MEDSHIM_EKEY, "private_key_pem",
                             "not a PEM Ed25519 or SM2 private key");
  md = sig_ctx(key, 1, &pctx);
  if (md != NULL &&
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
  EVP_PKEY_CTX_free(pctx);
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
  EVP_PKEY_CTX *pctx = NULL;
  EVP_MD_CTX *md = NULL;
  unsigned char sig[SIG_MAX + 3];
  size_t b64len, siglen;
  int n, rc = MEDSHIM_ESIGNATURE;
  if (data == NULL || signature_b64 == NULL || key == NULL)
    return MEDSHIM_EINVAL;
  b64len = strlen(signature_b64);
  /* Ed25519: exactly 64 bytes, 88 characters of base64. SM2: a DER
   * signature of at most 72 bytes, 96 characters; OpenSSL refuses one
   * that is not canonical DER. */
  if (is_sm2(key) ? b64len > 4 * ((SM2_SIG_MAX + 2) / 3) || b64len % 4 != 0
                  : b64len != 88)
    goto cleanup;
  n = EVP_DecodeBlock(sig, (const unsigned char *)signature_b64, (int)b64len);
  if (n < 0)
    goto cleanup;
  /* DecodeBlock counts the padding bytes */
  siglen = (size_t)n;
  for (size_t i = b64len; i > 0 && signature_b64[i - 1] == '=' && siglen > 0;
       i--)
    siglen--;
  if (is_sm2(key) ? siglen == 0 || siglen > SM2_SIG_MAX : siglen != 64)
    goto cleanup;
  md = sig_ctx(key, 0, &pctx);
  if (md != NULL &&
      EVP_DigestVerify(md, sig, siglen, (const unsigned char *)data, len) == 1)
    rc = MEDSHIM_OK;
cleanup:
  EVP_MD_CTX_free(md);
  EVP_PKEY_CTX_free(pctx);
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
