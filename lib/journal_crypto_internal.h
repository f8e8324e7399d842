/* Cryptography and compression of journal records, through OpenSSL EVP and
 * zlib. A medshim__jcrypto holds reusable contexts; it is not thread-safe and
 * is used under the journal handle's lock (one per reader/writer path). */
#ifndef MEDSHIM_JOURNAL_CRYPTO_INTERNAL_H
#define MEDSHIM_JOURNAL_CRYPTO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "journal_format_internal.h"
#include "journal_suite_internal.h"

/* A context for one suite (NULL: out of memory or the suite's algorithms
 * are not available). */
medshim__jcrypto *medshim__jcrypto_new(const medshim__jsuite *suite);
void medshim__jcrypto_free(medshim__jcrypto *c);
const medshim__jsuite *medshim__jcrypto_suite(const medshim__jcrypto *c);

/* The suite's authenticated encryption under a record key of
 * suite->reckey_len bytes. Return 0, or -1 (seal: library failure; open:
 * the data or its AAD does not authenticate). */
int medshim__jcrypto_seal(medshim__jcrypto *c, const unsigned char *key,
                          const unsigned char nonce[JF_NONCE_BYTES],
                          const unsigned char *aad, size_t aad_len,
                          const unsigned char *pt, size_t len,
                          unsigned char *ct, unsigned char tag[JF_TAG_BYTES]);
int medshim__jcrypto_open(medshim__jcrypto *c, const unsigned char *key,
                          const unsigned char nonce[JF_NONCE_BYTES],
                          const unsigned char *aad, size_t aad_len,
                          const unsigned char *ct, size_t len,
                          const unsigned char tag[JF_TAG_BYTES],
                          unsigned char *pt);

/* The same, when only the first `want` bytes of the plaintext are needed
 * (a scan reading a record's visit_id and digest): the whole ciphertext is
 * still authenticated, but a CTR suite decrypts only that much; the rest
 * of pt is undefined. */
int medshim__jcrypto_open_head(medshim__jcrypto *c, const unsigned char *key,
                               const unsigned char nonce[JF_NONCE_BYTES],
                               const unsigned char *aad, size_t aad_len,
                               const unsigned char *ct, size_t len,
                               const unsigned char tag[JF_TAG_BYTES],
                               unsigned char *pt, size_t want);

/* The suites' implementations (journal_suite.c's table points at them). */
int medshim__aead_seal(medshim__jcrypto *c, const unsigned char *key,
                       const unsigned char *nonce, const unsigned char *aad,
                       size_t aad_len, const unsigned char *pt, size_t len,
                       unsigned char *ct, unsigned char *tag);
int medshim__aead_open(medshim__jcrypto *c, const unsigned char *key,
                       const unsigned char *nonce, const unsigned char *aad,
                       size_t aad_len, const unsigned char *ct, size_t len,
                       const unsigned char *tag, unsigned char *pt,
                       size_t want);
int medshim__etm_seal(medshim__jcrypto *c, const unsigned char *key,
                      const unsigned char *nonce, const unsigned char *aad,
                      size_t aad_len, const unsigned char *pt, size_t len,
                      unsigned char *ct, unsigned char *tag);
int medshim__etm_open(medshim__jcrypto *c, const unsigned char *key,
                      const unsigned char *nonce, const unsigned char *aad,
                      size_t aad_len, const unsigned char *ct, size_t len,
                      const unsigned char *tag, unsigned char *pt,
                      size_t want);

/* What a defer prepares outside the journal's lock: a claim's content
 * digest (a prefix of the suite's digest that tells a duplicate from a conflict) and
 * its compressed form (zlib with a preset dictionary of the words claims
 * repeat). A medshim__jprep holds a reusable deflate stream and digest
 * context, and is not thread-safe; the journal keeps a pool of them.
 * compress returns the compressed size, or 0 when the output does not fit
 * in cap (the caller stores the body raw). decompress returns 0 when
 * exactly raw_len bytes came out, else -1. */
typedef struct medshim__jprep medshim__jprep;
medshim__jprep *medshim__jprep_new(const medshim__jsuite *suite);
void medshim__jprep_free(medshim__jprep *z);
int medshim__jprep_digest16(medshim__jprep *z, unsigned char out[JF_DIGEST_BYTES],
                            const unsigned char *data, size_t len);
size_t medshim__jprep_compress(medshim__jprep *z, const unsigned char *in,
                               size_t len, unsigned char *out, size_t cap);
int medshim__jcrypto_decompress(medshim__jcrypto *c, const unsigned char *in,
                                size_t len, unsigned char *out, size_t raw_len);

/* HKDF with the suite's digest (ikm = key, salt, info = label || ctx) ->
 * out_len bytes. */
int medshim__hkdf(const medshim__jsuite *suite, unsigned char *out,
                  size_t out_len, const unsigned char key[32],
                  const unsigned char *salt, size_t salt_len, const char *label,
                  const unsigned char *ctx, size_t ctx_len);
/* HMAC with the suite's digest (32 bytes out for both suites). */
int medshim__hmac(const medshim__jsuite *suite,
                  unsigned char out[JF_HASH_BYTES], const unsigned char key[32],
                  const unsigned char *data, size_t len);
/* chain' = H(chain || header || tag), H the suite's digest, reusing c's
 * digest context. */
int medshim__chain_next(medshim__jcrypto *c, unsigned char chain[JF_HASH_BYTES],
                        const unsigned char *header, size_t header_len,
                        const unsigned char tag[JF_TAG_BYTES]);
int medshim__random(unsigned char *buf, size_t len);
/* Constant-time equality: 1 when equal. */
int medshim__ct_equal(const void *a, const void *b, size_t len);

#endif
