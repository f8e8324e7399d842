/* In-memory index of a journal: visit_id -> where its claim and its latest
 * status record are, its content digest and state. Claims themselves stay on
 * disk; an entry is 64 bytes plus the visit_id. */
#ifndef MEDSHIM_JOURNAL_INDEX_INTERNAL_H
#define MEDSHIM_JOURNAL_INDEX_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "journal_format_internal.h"

typedef struct medshim__jentry {
  uint64_t hash;
  uint64_t claim_off;  /* byte offset of the claim record */
  uint64_t status_off; /* latest status record; 0 when none (still pending) */
  uint64_t seq;        /* sequence of the latest main-lane record about it */
  uint64_t claim_seq;  /* sequence of the claim record */
  uint32_t claim_seg;  /* index into the journal's segment table */
  uint32_t status_seg; /* in the main lane's or the replay lane's table */
  uint32_t id_off;     /* into the id arena */
  uint8_t id_len;
  uint8_t state;       /* medshim_claim_state */
  uint8_t status_lane; /* the status record is in the replay lane */
  uint8_t reserved;
  unsigned char digest[JF_DIGEST_BYTES];
} medshim__jentry;

typedef struct medshim__jindex {
  medshim__jentry *entries; /* dense, in journal order */
  size_t count, cap;
  uint32_t *slots;          /* open addressing: entry index + 1; 0 empty */
  size_t nslots;            /* power of two */
  char *ids;
  size_t ids_len, ids_cap;
} medshim__jindex;

void medshim__jindex_init(medshim__jindex *ix);
void medshim__jindex_free(medshim__jindex *ix);
/* Entry for visit_id, or NULL. */
medshim__jentry *medshim__jindex_find(const medshim__jindex *ix, const char *id,
                                      size_t id_len);
/* Add a new entry (id must not be present). NULL on allocation failure.
 * The returned pointer is valid until the next add. */
medshim__jentry *medshim__jindex_add(medshim__jindex *ix, const char *id,
                                     size_t id_len);
/* visit_id of an entry (not NUL-terminated; use e->id_len). */
const char *medshim__jindex_id(const medshim__jindex *ix,
                               const medshim__jentry *e);

#endif
