/* The journal's cryptography through OpenSSL EVP, for every suite of the
 * table in journal_suite.c: an AEAD (AES-256-GCM) or a cipher in CTR mode
 * with HMAC (SM4-CTR + HMAC-SM3, encrypt-then-MAC); HKDF, HMAC and the
 * chain hash with the suite's digest; zlib compression with a preset
 * dictionary. Contexts are created once per suite and reused: fetching
 * algorithms or setting up a deflate stream per record costs more than
 * sealing a small record. */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <zlib.h>

#include "journal_crypto_internal.h"

struct medshim__jcrypto {
  const medshim__jsuite *suite;
  EVP_CIPHER *cipher;
  EVP_CIPHER_CTX *ctx;
  /* The AEAD key ctx is set up with, and for which direction (1 seal,
   * 2 open; 0 none): records of one segment share a key, and expanding it
   * again for each (and clearing the context before) cost most of an
   * open. */
  unsigned char key[32];
  int keyed;
  EVP_MD *digest;
  EVP_MD_CTX *md;
  EVP_MAC_CTX *mac; /* encrypt-then-MAC suites: HMAC with the digest */
  z_stream inf;
  int inf_ready;
};

struct medshim__jprep {
  z_stream def;
  EVP_MD *digest; /* fetched once: an implicit fetch per claim costs more */
  EVP_MD_CTX *md;
};

/* Words that claims and HIS fee details repeat; zlib matches against them
 * from the first byte, which is what makes small records compress at all.
 * Changing it changes the format: it is part of format version 1. */
static const char dictionary[] =
    "\"feedetl_sn\":\"\"med_list_codg\":\"\"medins_list_codg\":\""
    "\"det_item_fee_sumamt\":\"cnt\":\"pric\":\"fee_ocur_time\":\""
    "\"bilg_dept_codg\":\"\"bilg_dr_codg\":\"\"rxno\":\"\"med_type\":\""
    "\"insutype\":\"\"diag_code\":\"\"dise_codg\":\"\"items\":[{"
    "outpatientinpatientpharmacychronic_outpatientwork_injurymaternity"
    "2022-02-1T:00:00+08:00";

static EVP_MAC_CTX *hmac_ctx_new(const char *digest) {
  EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  EVP_MAC_CTX *ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
  OSSL_PARAM params[2];
  EVP_MAC_free(mac); /* the context holds its own reference */
  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                               (char *)(uintptr_t)digest, 0);
  params[1] = OSSL_PARAM_construct_end();
  if (ctx != NULL && EVP_MAC_CTX_set_params(ctx, params) != 1) {
    EVP_MAC_CTX_free(ctx);
    ctx = NULL;
  }
  return ctx;
}

medshim__jcrypto *medshim__jcrypto_new(const medshim__jsuite *suite) {
  medshim__jcrypto *c;
  if (suite == NULL || (c = calloc(1, sizeof *c)) == NULL)
    return NULL;
  c->suite = suite;
  c->cipher = EVP_CIPHER_fetch(NULL, suite->cipher, NULL);
  c->ctx = EVP_CIPHER_CTX_new();
  c->digest = EVP_MD_fetch(NULL, suite->digest, NULL);
  c->md = EVP_MD_CTX_new();
  if (c->cipher == NULL || c->ctx == NULL || c->digest == NULL || c->md == NULL)
    goto fail;
  if (suite->reckey_len > suite->cipher_key_len &&
      (c->mac = hmac_ctx_new(suite->digest)) == NULL)
    goto fail;
  if (inflateInit2(&c->inf, -15) != Z_OK)
    goto fail;
  c->inf_ready = 1;
  return c;
fail:
  medshim__jcrypto_free(c);
  return NULL;
}

void medshim__jcrypto_free(medshim__jcrypto *c) {
  if (c == NULL)
    return;
  EVP_CIPHER_free(c->cipher);
  EVP_CIPHER_CTX_free(c->ctx); /* clears the expanded key */
  OPENSSL_cleanse(c->key, sizeof c->key);
  EVP_MD_free(c->digest);
  EVP_MD_CTX_free(c->md);
  EVP_MAC_CTX_free(c->mac); /* clears the HMAC key state */
  if (c->inf_ready)
    inflateEnd(&c->inf);
  free(c);
}

const medshim__jsuite *medshim__jcrypto_suite(const medshim__jcrypto *c) {
  return c->suite;
}

int medshim__jcrypto_seal(medshim__jcrypto *c, const unsigned char *key,
                          const unsigned char nonce[JF_NONCE_BYTES],
                          const unsigned char *aad, size_t aad_len,
                          const unsigned char *pt, size_t len,
                          unsigned char *ct, unsigned char tag[JF_TAG_BYTES]) {
  if (len > INT32_MAX || aad_len > INT32_MAX)
    return -1;
  return c->suite->seal(c, key, nonce, aad, aad_len, pt, len, ct, tag);
}

int medshim__jcrypto_open(medshim__jcrypto *c, const unsigned char *key,
                          const unsigned char nonce[JF_NONCE_BYTES],
                          const unsigned char *aad, size_t aad_len,
                          const unsigned char *ct, size_t len,
                          const unsigned char tag[JF_TAG_BYTES],
                          unsigned char *pt) {
  if (len > INT32_MAX || aad_len > INT32_MAX)
    return -1;
  return c->suite->open(c, key, nonce, aad, aad_len, ct, len, tag, pt, len);
}

int medshim__jcrypto_open_head(medshim__jcrypto *c, const unsigned char *key,
                               const unsigned char nonce[JF_NONCE_BYTES],
                               const unsigned char *aad, size_t aad_len,
                               const unsigned char *ct, size_t len,
                               const unsigned char tag[JF_TAG_BYTES],
                               unsigned char *pt, size_t want) {
  if (len > INT32_MAX || aad_len > INT32_MAX)
    return -1;
  return c->suite->open(c, key, nonce, aad, aad_len, ct, len, tag, pt,
                        want < len ? want : len);
}

/* ---- AEAD (AES-256-GCM) ------------------------------------------------ */

/* Set ctx up with the AEAD key for a direction, unless it already is: then
 * only the nonce changes. A failure leaves it set up for nothing. */
static int rekey(medshim__jcrypto *c, const unsigned char *key, int dir) {
  int ok;
  if (c->keyed == dir && CRYPTO_memcmp(c->key, key, sizeof c->key) == 0)
    return 0;
  c->keyed = 0;
  ok = dir == 1 ? EVP_EncryptInit_ex2(c->ctx, c->cipher, key, NULL, NULL)
                : EVP_DecryptInit_ex2(c->ctx, c->cipher, key, NULL, NULL);
  if (ok != 1)
    return -1;
  memcpy(c->key, key, sizeof c->key);
  c->keyed = dir;
  return 0;
}

int medshim__aead_seal(medshim__jcrypto *c, const unsigned char *key,
                       const unsigned char *nonce, const unsigned char *aad,
                       size_t aad_len, const unsigned char *pt, size_t len,
                       unsigned char *ct, unsigned char *tag) {
  int outl = 0;
  if (rekey(c, key, 1) != 0 ||
      EVP_EncryptInit_ex2(c->ctx, NULL, NULL, nonce, NULL) != 1)
    return -1;
  if (aad_len > 0 &&
      EVP_EncryptUpdate(c->ctx, NULL, &outl, aad, (int)aad_len) != 1)
    return -1;
  if (len > 0 && EVP_EncryptUpdate(c->ctx, ct, &outl, pt, (int)len) != 1)
    return -1;
  if (EVP_EncryptFinal_ex(c->ctx, ct + outl, &outl) != 1)
    return -1;
  if (EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_AEAD_GET_TAG, JF_TAG_BYTES, tag) !=
      1)
    return -1;
  return 0;
}

int medshim__aead_open(medshim__jcrypto *c, const unsigned char *key,
                       const unsigned char *nonce, const unsigned char *aad,
                       size_t aad_len, const unsigned char *ct, size_t len,
                       const unsigned char *tag, unsigned char *pt,
                       size_t want) {
  int outl = 0;
  (void)want; /* GCM checks its tag after decrypting everything */
  unsigned char tagbuf[JF_TAG_BYTES];
  memcpy(tagbuf, tag, sizeof tagbuf);
  if (rekey(c, key, 2) != 0 ||
      EVP_DecryptInit_ex2(c->ctx, NULL, NULL, nonce, NULL) != 1)
    return -1;
  if (aad_len > 0 &&
      EVP_DecryptUpdate(c->ctx, NULL, &outl, aad, (int)aad_len) != 1)
    return -1;
  if (len > 0 && EVP_DecryptUpdate(c->ctx, pt, &outl, ct, (int)len) != 1)
    return -1;
  if (EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_AEAD_SET_TAG, JF_TAG_BYTES,
                          tagbuf) != 1)
    return -1;
  /* Final verifies the tag in constant time; on failure the plaintext
   * written so far must not be used (callers discard it). */
  if (EVP_DecryptFinal_ex(c->ctx, pt + outl, &outl) != 1) {
    if (len > 0)
      OPENSSL_cleanse(pt, len);
    return -1;
  }
  return 0;
}

/* ---- encrypt-then-MAC (SM4-CTR + HMAC-SM3) ----------------------------- */

/* The counter block: the 12-byte nonce, then a 32-bit block counter from
 * 0. Nonces differ in their first 12 bytes and a record is at most
 * JF_RECORD_MAX bytes, far below 2^32 blocks, so no two records of a key
 * share a counter block. */
static void ctr_iv(unsigned char iv[16], const unsigned char *nonce) {
  memcpy(iv, nonce, JF_NONCE_BYTES);
  memset(iv + JF_NONCE_BYTES, 0, 16 - JF_NONCE_BYTES);
}

/* tag = HMAC(mac_key, aad_len u64 LE || aad || nonce || ct), first
 * JF_TAG_BYTES bytes. The AAD's length first: no two (aad, ct) splits of
 * the same bytes give the same input. */
static int etm_tag(medshim__jcrypto *c, const unsigned char *mac_key,
                   size_t mac_key_len, const unsigned char *nonce,
                   const unsigned char *aad, size_t aad_len,
                   const unsigned char *ct, size_t len,
                   unsigned char tag[JF_TAG_BYTES]) {
  unsigned char full[EVP_MAX_MD_SIZE], alen[8];
  size_t outl = 0;
  int rc = -1;
  jf_put64(alen, (uint64_t)aad_len);
  if (EVP_MAC_init(c->mac, mac_key, mac_key_len, NULL) == 1 &&
      EVP_MAC_update(c->mac, alen, sizeof alen) == 1 &&
      (aad_len == 0 || EVP_MAC_update(c->mac, aad, aad_len) == 1) &&
      EVP_MAC_update(c->mac, nonce, JF_NONCE_BYTES) == 1 &&
      (len == 0 || EVP_MAC_update(c->mac, ct, len) == 1) &&
      EVP_MAC_final(c->mac, full, &outl, sizeof full) == 1 &&
      outl >= JF_TAG_BYTES) {
    memcpy(tag, full, JF_TAG_BYTES);
    rc = 0;
  }
  OPENSSL_cleanse(full, sizeof full);
  return rc;
}

static int ctr_crypt(medshim__jcrypto *c, const unsigned char *key,
                     const unsigned char *nonce, const unsigned char *in,
                     size_t len, unsigned char *out) {
  unsigned char iv[16];
  int outl = 0, fin = 0;
  ctr_iv(iv, nonce);
  c->keyed = 0; /* the context no longer holds an AEAD key */
  if (EVP_EncryptInit_ex2(c->ctx, c->cipher, key, iv, NULL) != 1)
    return -1;
  if (len > 0 && EVP_EncryptUpdate(c->ctx, out, &outl, in, (int)len) != 1)
    return -1;
  if (EVP_EncryptFinal_ex(c->ctx, out + outl, &fin) != 1 ||
      (size_t)outl + (size_t)fin != len)
    return -1;
  return 0;
}

int medshim__etm_seal(medshim__jcrypto *c, const unsigned char *key,
                      const unsigned char *nonce, const unsigned char *aad,
                      size_t aad_len, const unsigned char *pt, size_t len,
                      unsigned char *ct, unsigned char *tag) {
  const medshim__jsuite *s = c->suite;
  if (ctr_crypt(c, key, nonce, pt, len, ct) != 0)
    return -1;
  return etm_tag(c, key + s->cipher_key_len, s->reckey_len - s->cipher_key_len,
                 nonce, aad, aad_len, ct, len, tag);
}

int medshim__etm_open(medshim__jcrypto *c, const unsigned char *key,
                      const unsigned char *nonce, const unsigned char *aad,
                      size_t aad_len, const unsigned char *ct, size_t len,
                      const unsigned char *tag, unsigned char *pt,
                      size_t want) {
  const medshim__jsuite *s = c->suite;
  unsigned char expect[JF_TAG_BYTES];
  /* Authenticate all first, in constant time; then decrypt what is
   * asked for, from the start (CTR needs no more). */
  if (etm_tag(c, key + s->cipher_key_len, s->reckey_len - s->cipher_key_len,
              nonce, aad, aad_len, ct, len, expect) != 0 ||
      !medshim__ct_equal(expect, tag, JF_TAG_BYTES))
    return -1;
  if (ctr_crypt(c, key, nonce, ct, want, pt) != 0) {
    if (len > 0)
      OPENSSL_cleanse(pt, len);
    return -1;
  }
  return 0;
}

medshim__jprep *medshim__jprep_new(const medshim__jsuite *suite) {
  medshim__jprep *z;
  if (suite == NULL || (z = calloc(1, sizeof *z)) == NULL)
    return NULL;
  z->digest = EVP_MD_fetch(NULL, suite->digest, NULL);
  z->md = EVP_MD_CTX_new();
  /* Level 1 and memLevel 4: on ~800-byte claims they cost 10.7 us against
   * 12.2 us for level 6 and memLevel 8 (a smaller hash table to clear on
   * every reset), and the 256-byte padding leaves the journal the same
   * size. Neither is part of the format. */
  if (z->digest == NULL || z->md == NULL ||
      deflateInit2(&z->def, 1, Z_DEFLATED, -15, 4, Z_DEFAULT_STRATEGY) !=
          Z_OK) {
    EVP_MD_free(z->digest);
    EVP_MD_CTX_free(z->md);
    free(z);
    return NULL;
  }
  return z;
}

void medshim__jprep_free(medshim__jprep *z) {
  if (z == NULL)
    return;
  deflateEnd(&z->def);
  EVP_MD_free(z->digest);
  EVP_MD_CTX_free(z->md);
  free(z);
}

int medshim__jprep_digest16(medshim__jprep *z, unsigned char out[JF_DIGEST_BYTES],
                            const unsigned char *data, size_t len) {
  unsigned char full[JF_HASH_BYTES];
  unsigned int outl = 0;
  if (EVP_DigestInit_ex(z->md, z->digest, NULL) != 1 ||
      EVP_DigestUpdate(z->md, data, len) != 1 ||
      EVP_DigestFinal_ex(z->md, full, &outl) != 1 || outl != JF_HASH_BYTES)
    return -1;
  memcpy(out, full, JF_DIGEST_BYTES);
  return 0;
}

size_t medshim__jprep_compress(medshim__jprep *zip, const unsigned char *in,
                               size_t len, unsigned char *out, size_t cap) {
  z_stream *z = &zip->def;
  if (len > UINT32_MAX || cap > UINT32_MAX)
    return 0;
  if (deflateReset(z) != Z_OK ||
      deflateSetDictionary(z, (const Bytef *)dictionary,
                           (uInt)(sizeof dictionary - 1)) != Z_OK)
    return 0;
  z->next_in = (Bytef *)(uintptr_t)in; /* zlib's API is not const-correct */
  z->avail_in = (uInt)len;
  z->next_out = out;
  z->avail_out = (uInt)cap;
  if (deflate(z, Z_FINISH) != Z_STREAM_END)
    return 0; /* did not fit in cap: storing raw is smaller anyway */
  return (size_t)z->total_out;
}

int medshim__jcrypto_decompress(medshim__jcrypto *c, const unsigned char *in,
                                size_t len, unsigned char *out,
                                size_t raw_len) {
  z_stream *z = &c->inf;
  int rc;
  if (len > UINT32_MAX || raw_len > UINT32_MAX)
    return -1;
  if (inflateReset(z) != Z_OK ||
      inflateSetDictionary(z, (const Bytef *)dictionary,
                           (uInt)(sizeof dictionary - 1)) != Z_OK)
    return -1;
  z->next_in = (Bytef *)(uintptr_t)in;
  z->avail_in = (uInt)len;
  z->next_out = out;
  z->avail_out = (uInt)raw_len;
  rc = inflate(z, Z_FINISH);
  if (rc != Z_STREAM_END || z->total_out != raw_len || z->avail_in != 0)
    return -1;
  return 0;
}

int medshim__hkdf(const medshim__jsuite *suite, unsigned char *out,
                  size_t out_len, const unsigned char key[32],
                  const unsigned char *salt, size_t salt_len, const char *label,
                  const unsigned char *ctx, size_t ctx_len) {
  EVP_KDF *kdf = NULL;
  EVP_KDF_CTX *kctx = NULL;
  unsigned char info[128];
  size_t label_len = strlen(label);
  OSSL_PARAM params[5], *p = params;
  int rc = -1;

  if (label_len + ctx_len > sizeof info)
    return -1;
  memcpy(info, label, label_len);
  if (ctx_len > 0)
    memcpy(info + label_len, ctx, ctx_len);
  kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
  if (kdf == NULL)
    goto cleanup;
  kctx = EVP_KDF_CTX_new(kdf);
  if (kctx == NULL)
    goto cleanup;
  *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                          (char *)(uintptr_t)suite->digest, 0);
  *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, 32);
  if (salt_len > 0)
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt,
                                             salt_len);
  *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info,
                                           label_len + ctx_len);
  *p = OSSL_PARAM_construct_end();
  if (EVP_KDF_derive(kctx, out, out_len, params) != 1)
    goto cleanup;
  rc = 0;
cleanup:
  EVP_KDF_CTX_free(kctx);
  EVP_KDF_free(kdf);
  return rc;
}

int medshim__hmac(const medshim__jsuite *suite,
                  unsigned char out[JF_HASH_BYTES], const unsigned char key[32],
                  const unsigned char *data, size_t len) {
  size_t outl = 0;
  if (EVP_Q_mac(NULL, "HMAC", NULL, suite->digest, NULL, key, 32, data, len,
                out, JF_HASH_BYTES, &outl) == NULL ||
      outl != JF_HASH_BYTES)
    return -1;
  return 0;
}

int medshim__chain_next(medshim__jcrypto *c, unsigned char chain[JF_HASH_BYTES],
                        const unsigned char *header, size_t header_len,
                        const unsigned char tag[JF_TAG_BYTES]) {
  EVP_MD_CTX *md = c->md;
  unsigned int outl = 0;
  int rc = -1;
  if (EVP_DigestInit_ex(md, c->digest, NULL) == 1 &&
      EVP_DigestUpdate(md, chain, JF_HASH_BYTES) == 1 &&
      EVP_DigestUpdate(md, header, header_len) == 1 &&
      EVP_DigestUpdate(md, tag, JF_TAG_BYTES) == 1 &&
      EVP_DigestFinal_ex(md, chain, &outl) == 1 && outl == JF_HASH_BYTES)
    rc = 0;
  return rc;
}

int medshim__random(unsigned char *buf, size_t len) {
  if (len > INT32_MAX)
    return -1;
  return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

int medshim__ct_equal(const void *a, const void *b, size_t len) {
  return CRYPTO_memcmp(a, b, len) == 0;
}
