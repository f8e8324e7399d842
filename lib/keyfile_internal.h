/* Key-encryption keys: from a key file or from the caller's callback. */
#ifndef MEDSHIM_KEYFILE_INTERNAL_H
#define MEDSHIM_KEYFILE_INTERNAL_H

#include "medshim/journal.h"

/* Fill kek from opts->key_file or opts->key_fn. MEDSHIM_OK or MEDSHIM_EKEY
 * (with err naming the problem). On failure kek is wiped. */
int medshim__kek_obtain(unsigned char kek[MEDSHIM_KEY_BYTES],
                        const medshim_journal_options *opts,
                        medshim_error *err);

#endif
