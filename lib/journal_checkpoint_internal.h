/* The checkpoint file of a record chain (journal_checkpoint.c). */
#ifndef MEDSHIM_JOURNAL_CHECKPOINT_INTERNAL_H
#define MEDSHIM_JOURNAL_CHECKPOINT_INTERNAL_H

#include <stdint.h>

#include "journal_format_internal.h"
#include "journal_keys_internal.h"
#include "medshim/errors.h"

/* Checkpoint: the last durable sequence and chain, MAC'ed. */
typedef struct medshim__jcheckpoint {
  uint64_t segno;
  uint64_t seq;
  unsigned char chain[JF_HASH_BYTES];
  uint8_t flags; /* JF_CKPT_* */
} medshim__jcheckpoint;
/* The main checkpoint's flag: the replay lane exists, so a missing lane is
 * damage (its statuses would silently fall back to older ones). */
#define JF_CKPT_LANE 0x1u
int medshim__checkpoint_write(const char *dir, const medshim__jkeys *k,
                              const medshim__jcheckpoint *ck,
                              medshim_error *err);
/* MEDSHIM_OK, MEDSHIM_ENOTFOUND (no file), MEDSHIM_ECORRUPT (bad MAC...). */
int medshim__checkpoint_read(const char *dir, const medshim__jkeys *k,
                             medshim__jcheckpoint *ck);

#endif
