/* Records (journal_record.c): sealing a record into its on-disk form and
 * opening one, with the scratch buffers both use. */
#ifndef MEDSHIM_JOURNAL_RECORD_INTERNAL_H
#define MEDSHIM_JOURNAL_RECORD_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "journal_crypto_internal.h"
#include "journal_format_internal.h"

/* Growable scratch buffers for sealing and opening records. */
typedef struct medshim__jscratch {
  unsigned char *plain;
  size_t plain_cap;
  unsigned char *body;
  size_t body_cap;
} medshim__jscratch;
void medshim__jscratch_free(medshim__jscratch *s);

/* A decrypted record. Pointers into the scratch buffers. */
typedef struct medshim__jrec {
  uint8_t type;
  uint64_t seq;
  uint32_t len; /* bytes on disk */
  const char *id;
  size_t id_len;
  unsigned char digest[JF_DIGEST_BYTES];
  const unsigned char *body; /* decompressed; NULL unless asked for */
  size_t body_len;
  unsigned char tag[JF_TAG_BYTES];
  unsigned char header[JF_RECORD_HEADER_BYTES];
} medshim__jrec;

/* What a record holds: its type (JF_REC_*), the claim's visit_id and
 * content digest, and its body; zbody (zlen bytes), when not NULL, is body
 * compressed by medshim__jprep_compress, stored instead of body when it is
 * smaller. */
typedef struct medshim__jrec_in {
  uint8_t type;
  const char *id;
  size_t id_len;
  const unsigned char *digest; /* JF_DIGEST_BYTES */
  const unsigned char *body;
  size_t body_len;
  const unsigned char *zbody;
  size_t zlen;
} medshim__jrec_in;

/* Seal in as record seq after the running hash prev_chain under key, and
 * append it to *out (grown as needed) at *out_len; tag_out gets its tag. */
int medshim__jrec_seal(medshim__jcrypto *c, medshim__jscratch *s,
                       const unsigned char *key, uint64_t seq,
                       const unsigned char prev_chain[JF_HASH_BYTES],
                       const medshim__jrec_in *in, unsigned char **out,
                       size_t *out_cap, size_t *out_len,
                       unsigned char tag_out[JF_TAG_BYTES]);

/* Why a record failed to open. */
enum medshim__jrec_fail {
  JREC_OK = 0,
  JREC_SHORT,    /* not enough bytes for the header or the stated length */
  JREC_HEADER,   /* impossible header (length, type, version) */
  JREC_AUTH,     /* fails authentication */
  JREC_PLAIN,    /* authenticates but the plaintext is malformed */
  JREC_NOMEM
};
/* Parse the header at rec (avail bytes available), authenticate and decrypt.
 * want_body: decrypt and decompress the body too; without it out->body is
 * NULL (the record is still authenticated whole). */
enum medshim__jrec_fail medshim__jrec_open(medshim__jcrypto *c,
                                           medshim__jscratch *s,
                                           const unsigned char *key,
                                           const unsigned char *rec,
                                           size_t avail, int want_body,
                                           medshim__jrec *out);

#endif
