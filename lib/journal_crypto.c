/* AES-256-GCM, HKDF, HMAC and SHA-256 through OpenSSL; zlib compression with
 * a preset dictionary. Contexts are created once and reused: fetching
 * algorithms or setting up a deflate stream per record costs more than
 * sealing a small record. */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <zlib.h>

#include "journal_crypto_internal.h"

struct medshim__jcrypto {
  EVP_CIPHER *gcm;
  EVP_CIPHER_CTX *ctx;
  /* The key ctx is set up with, and for which direction (1 seal, 2 open;
   * 0 none): records of one segment share a key, and expanding it again
   * for each (and clearing the context before) cost most of an open. */
  unsigned char key[32];
  int keyed;
  EVP_MD *sha256;
  EVP_MD_CTX *md;
  z_stream inf;
  int inf_ready;
};

struct medshim__jprep {
  z_stream def;
  EVP_MD *sha256; /* fetched once: an implicit fetch per claim costs more */
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

medshim__jcrypto *medshim__jcrypto_new(void) {
  medshim__jcrypto *c = calloc(1, sizeof *c);
  if (c == NULL)
    return NULL;
  c->gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
  c->ctx = EVP_CIPHER_CTX_new();
  c->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
  c->md = EVP_MD_CTX_new();
  if (c->gcm == NULL || c->ctx == NULL || c->sha256 == NULL || c->md == NULL)
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
  EVP_CIPHER_free(c->gcm);
  EVP_CIPHER_CTX_free(c->ctx); /* clears the expanded key */
  OPENSSL_cleanse(c->key, sizeof c->key);
  EVP_MD_free(c->sha256);
  EVP_MD_CTX_free(c->md);
  if (c->inf_ready)
    inflateEnd(&c->inf);
  free(c);
}

/* Set ctx up with key for a direction, unless it already is: then only the
 * nonce changes. A failure leaves it set up for nothing. */
static int rekey(medshim__jcrypto *c, const unsigned char key[32], int dir) {
  int ok;
  if (c->keyed == dir && CRYPTO_memcmp(c->key, key, sizeof c->key) == 0)
    return 0;
  c->keyed = 0;
  ok = dir == 1 ? EVP_EncryptInit_ex2(c->ctx, c->gcm, key, NULL, NULL)
                : EVP_DecryptInit_ex2(c->ctx, c->gcm, key, NULL, NULL);
  if (ok != 1)
    return -1;
  memcpy(c->key, key, sizeof c->key);
  c->keyed = dir;
  return 0;
}

int medshim__jcrypto_seal(medshim__jcrypto *c, const unsigned char key[32],
                          const unsigned char nonce[JF_NONCE_BYTES],
                          const unsigned char *aad, size_t aad_len,
                          const unsigned char *pt, size_t len,
                          unsigned char *ct, unsigned char tag[JF_TAG_BYTES]) {
  int outl = 0;
  if (len > INT32_MAX || aad_len > INT32_MAX)
    return -1;
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
  if (EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_GCM_GET_TAG, JF_TAG_BYTES, tag) != 1)
    return -1;
  return 0;
}

int medshim__jcrypto_open(medshim__jcrypto *c, const unsigned char key[32],
                          const unsigned char nonce[JF_NONCE_BYTES],
                          const unsigned char *aad, size_t aad_len,
                          const unsigned char *ct, size_t len,
                          const unsigned char tag[JF_TAG_BYTES],
                          unsigned char *pt) {
  int outl = 0;
  unsigned char tagbuf[JF_TAG_BYTES];
  if (len > INT32_MAX || aad_len > INT32_MAX)
    return -1;
  memcpy(tagbuf, tag, sizeof tagbuf);
  if (rekey(c, key, 2) != 0 ||
      EVP_DecryptInit_ex2(c->ctx, NULL, NULL, nonce, NULL) != 1)
    return -1;
  if (aad_len > 0 &&
      EVP_DecryptUpdate(c->ctx, NULL, &outl, aad, (int)aad_len) != 1)
    return -1;
  if (len > 0 && EVP_DecryptUpdate(c->ctx, pt, &outl, ct, (int)len) != 1)
    return -1;
  if (EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_GCM_SET_TAG, JF_TAG_BYTES, tagbuf) !=
      1)
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

medshim__jprep *medshim__jprep_new(void) {
  medshim__jprep *z = calloc(1, sizeof *z);
  if (z == NULL)
    return NULL;
  z->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
  z->md = EVP_MD_CTX_new();
  /* Level 1 and memLevel 4: on ~800-byte claims they cost 10.7 us against
   * 12.2 us for level 6 and memLevel 8 (a smaller hash table to clear on
   * every reset), and the 256-byte padding leaves the journal the same
   * size. Neither is part of the format. */
  if (z->sha256 == NULL || z->md == NULL ||
      deflateInit2(&z->def, 1, Z_DEFLATED, -15, 4, Z_DEFAULT_STRATEGY) !=
          Z_OK) {
    EVP_MD_free(z->sha256);
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
  EVP_MD_free(z->sha256);
  EVP_MD_CTX_free(z->md);
  free(z);
}

int medshim__jprep_digest16(medshim__jprep *z, unsigned char out[JF_DIGEST_BYTES],
                            const unsigned char *data, size_t len) {
  unsigned char full[JF_HASH_BYTES];
  unsigned int outl = 0;
  if (EVP_DigestInit_ex(z->md, z->sha256, NULL) != 1 ||
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

int medshim__hkdf(unsigned char out[32], const unsigned char key[32],
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
  *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0);
  *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, 32);
  if (salt_len > 0)
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt,
                                             salt_len);
  *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info,
                                           label_len + ctx_len);
  *p = OSSL_PARAM_construct_end();
  if (EVP_KDF_derive(kctx, out, 32, params) != 1)
    goto cleanup;
  rc = 0;
cleanup:
  EVP_KDF_CTX_free(kctx);
  EVP_KDF_free(kdf);
  return rc;
}

int medshim__hmac(unsigned char out[JF_HASH_BYTES], const unsigned char key[32],
                  const unsigned char *data, size_t len) {
  unsigned int outl = 0;
  if (HMAC(EVP_sha256(), key, 32, data, len, out, &outl) == NULL ||
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
  if (EVP_DigestInit_ex(md, c->sha256, NULL) == 1 &&
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
