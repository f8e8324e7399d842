/* Cryptographic suites of a journal (journal_suite.c): one table row per
 * suite names the algorithms every journal file uses, so that no other file
 * names AES, GCM, SHA-256, SM3 or SM4. A journal's suite is chosen at
 * creation and recorded in its keyring (format version and algorithm
 * field); everything derived from the keyring then follows it. */
#ifndef MEDSHIM_JOURNAL_SUITE_INTERNAL_H
#define MEDSHIM_JOURNAL_SUITE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "journal_format_internal.h"

typedef struct medshim__jcrypto medshim__jcrypto;

/* Seal/open of one record or wrapped key: a JF_NONCE_BYTES nonce unique
 * per key, aad authenticated, a JF_TAG_BYTES tag. key has reckey_len
 * bytes. open authenticates all len bytes and decrypts at least the first
 * min(want, len) into pt (an AEAD decrypts them all); it returns -1 (and
 * wipes pt) when the data does not authenticate. */
typedef int (*medshim__jsuite_seal_fn)(medshim__jcrypto *c,
                                       const unsigned char *key,
                                       const unsigned char *nonce,
                                       const unsigned char *aad,
                                       size_t aad_len, const unsigned char *pt,
                                       size_t len, unsigned char *ct,
                                       unsigned char *tag);
typedef int (*medshim__jsuite_open_fn)(medshim__jcrypto *c,
                                       const unsigned char *key,
                                       const unsigned char *nonce,
                                       const unsigned char *aad,
                                       size_t aad_len, const unsigned char *ct,
                                       size_t len, const unsigned char *tag,
                                       unsigned char *pt, size_t want);

typedef struct medshim__jsuite {
  unsigned int id;          /* MEDSHIM_JOURNAL_SUITE_* */
  const char *name;         /* "default", "sm" */
  uint16_t keyring_version; /* keyring header version of this suite */
  uint32_t keyring_alg;     /* keyring algorithm field */
  const char *cipher;       /* EVP cipher name */
  const char *digest;       /* EVP digest: chain, HMAC, HKDF, content digest */
  /* Record key bytes: the cipher key, then the MAC key if the cipher
   * does not authenticate (at most JF_RECKEY_MAX). */
  size_t reckey_len;
  size_t cipher_key_len;
  /* 1: the KEK is the wrap key itself (format 1, kept as it was); 0: the
   * wrap key is derived from the KEK with this suite's HKDF. */
  int kek_wraps;
  medshim__jsuite_seal_fn seal;
  medshim__jsuite_open_fn open;
} medshim__jsuite;

/* The suite of a MEDSHIM_JOURNAL_SUITE_* id (0: the default), or NULL. */
const medshim__jsuite *medshim__jsuite_get(unsigned int id);
/* The suite a keyring's version and algorithm fields name, or NULL. */
const medshim__jsuite *medshim__jsuite_of_keyring(uint16_t version,
                                                  uint32_t alg);

#endif
