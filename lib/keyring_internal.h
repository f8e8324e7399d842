/* The keyring file: the journal's data key wrapped by the key-encryption key. */
#ifndef MEDSHIM_KEYRING_INTERNAL_H
#define MEDSHIM_KEYRING_INTERNAL_H

#include "journal_format_internal.h"
#include "journal_suite_internal.h"
#include "medshim/errors.h"

/* Create DIR/keyring of a suite with a fresh data key and journal id
 * (atomic: temp file, fsync, rename, fsync dir). */
int medshim__keyring_create(const char *dir, const medshim__jsuite *suite,
                            const unsigned char kek[32],
                            unsigned char dk[32],
                            unsigned char journal_id[JF_ID_BYTES],
                            medshim_error *err);
/* Read and unwrap; *suite is the journal's suite, which the keyring's
 * version and algorithm fields name. MEDSHIM_ENOTFOUND (no keyring),
 * MEDSHIM_EKEY (wrong key), MEDSHIM_ECORRUPT, MEDSHIM_EFORMAT (a version
 * or suite this library does not know), MEDSHIM_EIO. */
int medshim__keyring_open(const char *dir, const unsigned char kek[32],
                          unsigned char dk[32],
                          unsigned char journal_id[JF_ID_BYTES],
                          const medshim__jsuite **suite, medshim_error *err);
/* Re-wrap an unwrapped data key under a new KEK (the journal's suite kept),
 * replacing the file atomically. */
int medshim__keyring_write(const char *dir, const medshim__jsuite *suite,
                           const unsigned char kek[32],
                           const unsigned char dk[32],
                           const unsigned char journal_id[JF_ID_BYTES],
                           medshim_error *err);
/* Replace DIR/name with data atomically and durably. */
int medshim__file_replace(const char *dir, const char *name,
                          const unsigned char *data, size_t len,
                          medshim_error *err);

#endif
