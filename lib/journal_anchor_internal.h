/* Segment anchors (journal_anchor.c): where a segment's durable records
 * end, written in place after each group commit, so that cutting records
 * from a segment's end is noticed by the journal itself. */
#ifndef MEDSHIM_JOURNAL_ANCHOR_INTERNAL_H
#define MEDSHIM_JOURNAL_ANCHOR_INTERNAL_H

#include <stdint.h>

#include "journal_format_internal.h"

struct medshim__jkeys;

typedef struct medshim__janchor {
  uint64_t counter; /* slot = counter & 1; the newest valid slot wins */
  uint64_t segno;
  uint64_t seq; /* last durable record of the segment (first_seq - 1: none) */
  uint64_t end; /* byte offset just after it */
  unsigned char chain[JF_HASH_BYTES]; /* running hash after it */
} medshim__janchor;

/* Offset of the slot a given counter is written to. */
uint64_t medshim__anchor_slot_offset(uint64_t counter);
/* Seal an anchor into out. 0, or -1 when the MAC cannot be computed. */
int medshim__anchor_build(unsigned char out[JF_ANCHOR_BYTES],
                          const struct medshim__jkeys *k,
                          const medshim__janchor *a);
/* The newest authentic slot of segment segno in area (the first
 * JF_SEGMENT_DATA_V2 bytes of the file, len of them present). 0 and *a
 * filled, or -1 when no slot authenticates. */
int medshim__anchor_pick(const unsigned char *area, size_t len,
                         const struct medshim__jkeys *k, uint64_t segno,
                         medshim__janchor *a);
/* Write a (sealed) to its slot through fd, without a sync: it becomes
 * durable with the segment's next fdatasync. 0, or -1 with errno. */
int medshim__anchor_write(int fd, const struct medshim__jkeys *k,
                          const medshim__janchor *a);

#endif
