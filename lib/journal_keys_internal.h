/* Keys of a journal (journal_keys.c): the data key, unwrapped from the
 * keyring with the key-encryption key, and the keys derived from it. */
#ifndef MEDSHIM_JOURNAL_KEYS_INTERNAL_H
#define MEDSHIM_JOURNAL_KEYS_INTERNAL_H

#include <stdint.h>

#include "journal_format_internal.h"
#include "journal_suite_internal.h"
#include "medshim/errors.h"

/* Keys of one journal, derived from its data key. Kept in memory from
 * medshim__secmem_alloc (locked, out of core dumps): the handle is. */
typedef struct medshim__jkeys {
  const medshim__jsuite *suite; /* the keyring's; all below derive with it */
  unsigned char kek[32]; /* the key-encryption key, only while opening */
  unsigned char dk[32];
  unsigned char id[JF_ID_BYTES];
  unsigned char hdr[32];  /* MAC of segment headers */
  unsigned char ckpt[32]; /* MAC of the checkpoint */
  unsigned char replay[32]; /* keyed hash behind replay keys */
  unsigned char receipt[32]; /* MAC of receipts (journal_receipt.c) */
} medshim__jkeys;

/* With k->kek obtained: unwrap the data key from dir's keyring (create:
 * make a new keyring of suite want when there is none and no segment
 * either), wipe the KEK, and derive the other keys. want (a
 * MEDSHIM_JOURNAL_SUITE_*) other than DEFAULT also refuses an existing
 * journal of another suite (MEDSHIM_EINVAL). MEDSHIM_OK; the keyring's codes
 * (MEDSHIM_ENOTFOUND, MEDSHIM_EKEY, ...), MEDSHIM_ECORRUPT (segments
 * without a keyring), MEDSHIM_ECRYPTO; err says why. The KEK is wiped on
 * every path. */
int medshim__jkeys_load(medshim__jkeys *k, const char *dir, int create,
                        unsigned int want, medshim_error *err);
int medshim__jkeys_derive(medshim__jkeys *k);
/* Keys of the replay lane: its own data key, HKDF(main DK, journal_id,
 * "medshim v1 replay lane", HKDF of the suite), and everything derived from that, so that no
 * segment, record or checkpoint authenticates in the other lane. */
int medshim__jkeys_lane(medshim__jkeys *lane, const medshim__jkeys *main_keys);
/* Record key of a segment: k->suite->reckey_len bytes. */
int medshim__segment_key(unsigned char out[JF_RECKEY_MAX], const medshim__jkeys *k,
                         uint64_t segno, const unsigned char salt[JF_SALT_BYTES]);

#endif
