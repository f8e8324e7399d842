/* Key-encryption keys: from a key file or from the caller's callback. */
#ifndef MEDSHIM_KEYFILE_INTERNAL_H
#define MEDSHIM_KEYFILE_INTERNAL_H

#include "medshim/journal.h"

/* Fill kek from opts->key_file or opts->key_fn. MEDSHIM_OK or MEDSHIM_EKEY
 * (with err naming the problem). On failure kek is wiped. */
int medshim__kek_obtain(unsigned char kek[MEDSHIM_KEY_BYTES],
                        const medshim_journal_options *opts,
                        medshim_error *err);

/* Decode a key's hex or base64 text (blanks around it ignored): 0, or -1
 * when it is not one. */
int medshim__key_from_text(unsigned char key[MEDSHIM_KEY_BYTES],
                           const char *text, size_t len);

/* opts->version is one journal options may have (1 or 2). */
int medshim__journal_opts_version_ok(const medshim_journal_options *opts);

#endif
