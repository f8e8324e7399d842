/* Open-addressing hash table over a dense entry array. Sized for millions of
 * claims: 4 bytes a slot at load <= 1/2, 64 bytes an entry, ids in one arena. */
#include <stdlib.h>
#include <string.h>

#include "hash_internal.h"
#include "journal_index_internal.h"

void medshim__jindex_init(medshim__jindex *ix) { memset(ix, 0, sizeof *ix); }

void medshim__jindex_free(medshim__jindex *ix) {
  if (ix == NULL)
    return;
  free(ix->entries);
  free(ix->slots);
  free(ix->ids);
  memset(ix, 0, sizeof *ix);
}

const char *medshim__jindex_id(const medshim__jindex *ix,
                               const medshim__jentry *e) {
  return ix->ids + e->id_off;
}

medshim__jentry *medshim__jindex_find(const medshim__jindex *ix, const char *id,
                                      size_t id_len) {
  uint64_t h;
  size_t mask, i;
  if (ix->nslots == 0)
    return NULL;
  h = medshim__fnv1a64(id, id_len);
  mask = ix->nslots - 1;
  for (i = (size_t)h & mask; ix->slots[i] != 0; i = (i + 1) & mask) {
    medshim__jentry *e = &ix->entries[ix->slots[i] - 1];
    if (e->hash == h && e->id_len == id_len &&
        memcmp(ix->ids + e->id_off, id, id_len) == 0)
      return e;
  }
  return NULL;
}

static int grow_slots(medshim__jindex *ix) {
  size_t n = ix->nslots ? ix->nslots * 2 : 1024;
  uint32_t *slots = calloc(n, sizeof *slots);
  if (slots == NULL)
    return -1;
  for (size_t k = 0; k < ix->count; k++) {
    size_t i = (size_t)ix->entries[k].hash & (n - 1);
    while (slots[i] != 0)
      i = (i + 1) & (n - 1);
    slots[i] = (uint32_t)(k + 1);
  }
  free(ix->slots);
  ix->slots = slots;
  ix->nslots = n;
  return 0;
}

medshim__jentry *medshim__jindex_add(medshim__jindex *ix, const char *id,
                                     size_t id_len) {
  medshim__jentry *e;
  size_t i;
  if (ix->count >= UINT32_MAX - 1 || id_len > UINT8_MAX)
    return NULL;
  if ((ix->count + 1) * 2 > ix->nslots && grow_slots(ix) != 0)
    return NULL;
  if (ix->count == ix->cap) {
    size_t cap = ix->cap ? ix->cap * 2 : 1024;
    medshim__jentry *n = realloc(ix->entries, cap * sizeof *n);
    if (n == NULL)
      return NULL;
    ix->entries = n;
    ix->cap = cap;
  }
  if (ix->ids_len + id_len > ix->ids_cap) {
    size_t cap = ix->ids_cap ? ix->ids_cap * 2 : 16384;
    char *n;
    while (cap < ix->ids_len + id_len)
      cap *= 2;
    if (cap > UINT32_MAX)
      return NULL;
    n = realloc(ix->ids, cap);
    if (n == NULL)
      return NULL;
    ix->ids = n;
    ix->ids_cap = cap;
  }
  e = &ix->entries[ix->count];
  memset(e, 0, sizeof *e);
  e->hash = medshim__fnv1a64(id, id_len);
  e->id_off = (uint32_t)ix->ids_len;
  e->id_len = (uint8_t)id_len;
  memcpy(ix->ids + ix->ids_len, id, id_len);
  ix->ids_len += id_len;
  for (i = (size_t)e->hash & (ix->nslots - 1); ix->slots[i] != 0;
       i = (i + 1) & (ix->nslots - 1))
    ;
  ix->slots[i] = (uint32_t)(ix->count + 1);
  ix->count++;
  return e;
}
