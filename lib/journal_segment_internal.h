/* Segment files (journal_segment.c): a handle's table entry for one,
 * names, listing and the authenticated header. */
#ifndef MEDSHIM_JOURNAL_SEGMENT_INTERNAL_H
#define MEDSHIM_JOURNAL_SEGMENT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "journal_format_internal.h"
#include "journal_keys_internal.h"

typedef struct medshim__jseg {
  uint64_t segno;
  uint64_t first_seq;
  uint64_t end; /* bytes of valid records (what readers may read) */
  uint64_t data_start; /* offset of the first record (by header version) */
  unsigned char key[JF_RECKEY_MAX]; /* the suite's record key */
  int rfd; /* read descriptor, opened on first use (handle's copy only) */
} medshim__jseg;

/* Segment file path for a number, malloc'ed (NULL: out of memory). */
char *medshim__segment_path_new(const char *dir, uint64_t segno);
/* Segment file name (no directory) for a number. */
void medshim__segment_name(char *out, size_t size, uint64_t segno);
/* Sorted segment numbers found in dir (caller frees). -1 on I/O error. */
int medshim__segment_list(const char *dir, uint64_t **out, size_t *count);

/* Build a segment header (version JF_SEGMENT_V2: anchored). */
int medshim__segment_header_build(unsigned char out[JF_SEGMENT_HEADER_BYTES],
                                  const medshim__jkeys *k, uint64_t segno,
                                  uint64_t first_seq,
                                  const unsigned char salt[JF_SALT_BYTES],
                                  const unsigned char prev_chain[JF_HASH_BYTES]);
/* Check a segment header: 0 ok, -1 not ours / bad MAC. Fills the fields. */
int medshim__segment_header_check(const unsigned char in[JF_SEGMENT_HEADER_BYTES],
                                  const medshim__jkeys *k, uint64_t *segno,
                                  uint64_t *first_seq,
                                  unsigned char salt[JF_SALT_BYTES],
                                  unsigned char prev_chain[JF_HASH_BYTES],
                                  unsigned *version);

#endif
