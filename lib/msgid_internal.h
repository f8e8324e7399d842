/* Platform msgids: institution code (12) + yyyyMMddHHmmss (+08:00) + a
 * 4-digit sequence, unique across the threads and processes sharing a
 * journal directory and across crashes. */
#ifndef MEDSHIM_MSGID_INTERNAL_H
#define MEDSHIM_MSGID_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "medshim/replay.h"

/* Sequences reserved per trip to the file. */
#define MEDSHIM__MSGID_BLOCK 64
/* The platform's sequence has 4 digits. */
#define MEDSHIM__MSGID_PER_SECOND 10000

typedef struct medshim__msgids {
  pthread_mutex_t mu;
  char *path;             /* DIR/msgid.seq */
  char *dir;
  char institution[MEDSHIM_INSTITUTION_LEN + 1];
  int64_t second;         /* the reserved block's second */
  uint32_t next, end;     /* sequences [next, end) of that second are ours */
  int failed;             /* a reservation failed: no more msgids */
} medshim__msgids;

/* MEDSHIM_OK, or MEDSHIM_EINVAL when the code is not 12 printable ASCII
 * characters without spaces, or MEDSHIM_ENOMEM. Nothing touches the disk. */
int medshim__msgids_init(medshim__msgids *m, const char *dir,
                         const char *institution);
void medshim__msgids_free(medshim__msgids *m);

/* Next msgid for the wall-clock second `now`. A reservation is made
 * durable (written and fdatasync'ed under an exclusive lock) before any of
 * its sequences is handed out; a failed one is final for the allocator.
 * MEDSHIM_OK, MEDSHIM_EIO, MEDSHIM_ECORRUPT (the file is damaged). */
int medshim__msgids_next(medshim__msgids *m, char out[MEDSHIM_MSGID_LEN + 1],
                         int64_t now);

#endif
