/* The compiled decision index: for every region prefix named by a schedule,
 * and every service, one timeline merging all schedules that cover it
 * (ancestors included), so a decision is two hash lookups and two binary
 * searches, with no allocation. */
#include <stdlib.h>
#include <string.h>

#include "schedule_internal.h"

static size_t slot_of(uint32_t key, size_t nslots) {
  return (size_t)((key * 2654435761u) & (uint32_t)(nslots - 1));
}

static void free_nodes(sched_node *nodes, size_t n, uint32_t *slots) {
  for (size_t i = 0; nodes != NULL && i < n; i++) {
    for (int s = 0; s < SCHED_SLOTS; s++)
      free(nodes[i].tl[s].pieces);
    free(nodes[i].scheds);
  }
  free(nodes);
  free(slots);
}

void medshim__sched_index_free(medshim_schedule_set *set) {
  sched_index *ix = atomic_load_explicit(&set->index, memory_order_acquire);
  while (ix != NULL) {
    sched_index *older = ix->retired;
    free_nodes(ix->nodes, ix->nnodes, ix->slots);
    free(ix);
    ix = older;
  }
  atomic_store_explicit(&set->index, NULL, memory_order_release);
}

static const sched_node *find_node(const sched_index *ix, uint32_t key) {
  if (ix == NULL || ix->nslots == 0)
    return NULL;
  for (size_t i = slot_of(key, ix->nslots); ix->slots[i] != 0;
       i = (i + 1) & (ix->nslots - 1)) {
    const sched_node *n = &ix->nodes[ix->slots[i] - 1];
    if (n->key == key)
      return n;
  }
  return NULL;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* Does phase ph apply at node key? */
static int phase_here(const sched_phase *ph, uint32_t key) {
  if (ph->nregions == 0)
    return 1;
  for (size_t i = 0; i < ph->nregions; i++)
    if (medshim__sched_covers(ph->regions[i], key))
      return 1;
  return 0;
}

#define APPLIES(ph) (((ph)->services & SCHED_BIT(service)) && phase_here((ph), key))

/* Merge the phases of `scheds` for one service into pieces. */
static int build_timeline(sched_timeline *tl, const sched **scheds, size_t n,
                          int service, uint32_t key) {
  int64_t *b = NULL;
  size_t nb = 0, cap = 0, np = 0;
  sched_piece *pieces;
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < scheds[i]->nphases; k++)
      if (APPLIES(&scheds[i]->phases[k]))
        cap += 2;
  tl->pieces = NULL;
  tl->n = 0;
  if (cap == 0)
    return 0;
  b = malloc(cap * sizeof *b);
  pieces = calloc(cap, sizeof *pieces);
  if (b == NULL || pieces == NULL) {
    free(b);
    free(pieces);
    return -1;
  }
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < scheds[i]->nphases; k++)
      if (APPLIES(&scheds[i]->phases[k])) {
        b[nb++] = scheds[i]->phases[k].from;
        b[nb++] = scheds[i]->phases[k].until;
      }
  qsort(b, nb, sizeof *b, cmp_i64);
  for (size_t i = 0; i < nb; i++) {
    sched_piece *p;
    if (i > 0 && b[i] == b[i - 1])
      continue;
    p = &pieces[np++];
    p->from = b[i];
    p->effect = MEDSHIM_ONLINE;
    /* The most restrictive phase covering [b[i], next) dominates; among
     * equals, the first loaded (schedules are in load order). */
    for (size_t s = 0; s < n; s++)
      for (size_t k = 0; k < scheds[s]->nphases; k++) {
        const sched_phase *ph = &scheds[s]->phases[k];
        if (APPLIES(ph) && ph->from <= b[i] &&
            b[i] < ph->until && ph->effect > p->effect) {
          p->effect = ph->effect;
          p->phase = ph;
          p->owner = scheds[s];
        }
      }
  }
  /* effect_until: the next piece whose effect differs. */
  for (size_t i = np; i-- > 0;) {
    if (i + 1 == np)
      pieces[i].effect_until = INT64_MAX;
    else if (pieces[i + 1].effect != pieces[i].effect)
      pieces[i].effect_until = pieces[i + 1].from;
    else
      pieces[i].effect_until = pieces[i + 1].effect_until;
  }
  free(b);
  tl->pieces = pieces;
  tl->n = np;
  return 0;
}

static void add_key(uint32_t *keys, size_t *n, uint32_t k) {
  for (size_t j = 0; j < *n; j++)
    if (keys[j] == k)
      return;
  keys[(*n)++] = k;
}

/* Builds the whole index aside and swaps it in only when complete: on
 * failure the set keeps deciding with its previous index. */
int medshim__sched_compile(medshim_schedule_set *set) {
  uint32_t *keys = NULL, *slots = NULL;
  sched_node *nodes = NULL;
  size_t nkeys = 0, cap = 0, nnodes = 0, nslots = 16;
  sched_index *ix;
  int rc = MEDSHIM_ENOMEM;
  for (size_t i = 0; i < set->nscheds; i++) {
    cap += set->scheds[i]->nregions;
    for (size_t p = 0; p < set->scheds[i]->nphases; p++)
      cap += set->scheds[i]->phases[p].nregions;
  }
  if (cap == 0) {
    /* nothing to index: an empty one, published like any other */
    if ((ix = calloc(1, sizeof *ix)) == NULL)
      return MEDSHIM_ENOMEM;
    ix->retired = atomic_load_explicit(&set->index, memory_order_relaxed);
    atomic_store_explicit(&set->index, ix, memory_order_release);
    return MEDSHIM_OK;
  }
  keys = malloc(cap * sizeof *keys);
  if (keys == NULL)
    goto cleanup;
  for (size_t i = 0; i < set->nscheds; i++) {
    const sched *sc = set->scheds[i];
    for (size_t r = 0; r < sc->nregions; r++)
      add_key(keys, &nkeys, sc->regions[r]);
    /* a phase's own regions (inside the schedule's) get nodes too */
    for (size_t p = 0; p < sc->nphases; p++)
      for (size_t r = 0; r < sc->phases[p].nregions; r++)
        add_key(keys, &nkeys, sc->phases[p].regions[r]);
  }
  while (nslots < nkeys * 2)
    nslots *= 2;
  nodes = calloc(nkeys, sizeof *nodes);
  slots = calloc(nslots, sizeof *slots);
  if (nodes == NULL || slots == NULL)
    goto cleanup;
  for (size_t k = 0; k < nkeys; k++) {
    sched_node *node = &nodes[k];
    size_t slot;
    node->key = keys[k];
    nnodes = k + 1;
    node->scheds = calloc(set->nscheds, sizeof *node->scheds);
    if (node->scheds == NULL)
      goto cleanup;
    for (size_t i = 0; i < set->nscheds; i++)
      for (size_t r = 0; r < set->scheds[i]->nregions; r++)
        if (medshim__sched_covers(set->scheds[i]->regions[r], keys[k])) {
          node->scheds[node->nscheds++] = set->scheds[i];
          break;
        }
    for (int s = 1; s < SCHED_SLOTS; s++)
      if (medshim_sched_service_name(s) != NULL &&
          build_timeline(&node->tl[s], node->scheds, node->nscheds, s,
                         node->key) != 0)
        goto cleanup;
    for (slot = slot_of(node->key, nslots); slots[slot] != 0;
         slot = (slot + 1) & (nslots - 1))
      ;
    slots[slot] = (uint32_t)(k + 1);
  }
  /* Publish: a decide that loads the pointer from now on reads the new
   * index; one still reading the old keeps it (retired, not freed). */
  ix = malloc(sizeof *ix);
  if (ix == NULL)
    goto cleanup;
  ix->nodes = nodes;
  ix->nnodes = nnodes;
  ix->slots = slots;
  ix->nslots = nslots;
  ix->retired = atomic_load_explicit(&set->index, memory_order_relaxed);
  atomic_store_explicit(&set->index, ix, memory_order_release);
  nodes = NULL;
  nnodes = 0;
  slots = NULL;
  rc = MEDSHIM_OK;
cleanup:
  free_nodes(nodes, nnodes, slots);
  free(keys);
  return rc;
}

const sched_node *medshim__sched_lookup(const medshim_schedule_set *set,
                                        const char *admdvs) {
  uint32_t key = medshim__sched_region_key(admdvs, 1);
  uint32_t v;
  const sched_node *n;
  const sched_index *ix =
      atomic_load_explicit(&((medshim_schedule_set *)set)->index,
                           memory_order_acquire);
  if (key == 0)
    return NULL;
  v = key >> 3;
  /* longest prefix first: 330106, 3301, 33 */
  if ((n = find_node(ix, sched_key(v, 3))) != NULL)
    return n;
  if ((n = find_node(ix, sched_key(v / 100, 2))) != NULL)
    return n;
  return find_node(ix, sched_key(v / 10000, 1));
}

const sched_piece *medshim__sched_piece_at(const sched_timeline *tl, int64_t t,
                                           int64_t *first_boundary) {
  size_t lo = 0, hi;
  *first_boundary = INT64_MAX;
  if (tl == NULL || tl->n == 0)
    return NULL;
  if (t < tl->pieces[0].from) {
    *first_boundary = tl->pieces[0].from;
    return NULL;
  }
  hi = tl->n; /* find the last piece with from <= t */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (tl->pieces[mid].from <= t)
      lo = mid;
    else
      hi = mid;
  }
  return &tl->pieces[lo];
}
