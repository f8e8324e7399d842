/* The platform's state, rebuilt by applying ledger events in file order.
 * Every process applies the same lines in the same order, so they all see
 * the same registrations, settlements and msgids; ids are written into the
 * events by the process that created them, never recomputed here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

#define GROW(arr, n, cap)                                                   \
  ((n) < (cap) ? 0 : grow_array((void **)&(arr), &(cap), sizeof *(arr)))

static int grow_array(void **arr, size_t *cap, size_t size) {
  size_t ncap = *cap ? *cap * 2 : 64;
  void *p = realloc(*arr, ncap * size);
  if (p == NULL)
    return -1;
  memset((char *)p + *cap * size, 0, (ncap - *cap) * size);
  *arr = p;
  *cap = ncap;
  return 0;
}

static const char *str(const json_t *ev, const char *k) {
  const char *v = json_string_value(json_object_get(ev, k));
  return v ? v : "";
}

static int64_t num(const json_t *ev, const char *k) {
  return (int64_t)json_integer_value(json_object_get(ev, k));
}

char *msim_visit_key(const char *psn, const char *ipt) {
  size_t a = strlen(psn), b = strlen(ipt);
  char *k = malloc(a + b + 2);
  if (k == NULL)
    return NULL;
  memcpy(k, psn, a);
  k[a] = '\x1f';
  memcpy(k + a + 1, ipt, b + 1);
  return k;
}

static int visit_of(const msim_state *st, const json_t *ev, size_t *vi) {
  return msim_map_get(&st->by_mdtrt, str(ev, "mdtrt"), vi) ? 0 : -1;
}

static int apply_reg(msim_state *st, const json_t *ev, int64_t t, size_t *ref) {
  msim_visit *v;
  char *key;
  size_t prev;
  int rc = 0;
  if (GROW(st->v, st->nv, st->capv) != 0)
    return -1;
  v = &st->v[st->nv];
  memset(v, 0, sizeof *v);
  snprintf(v->mdtrt_id, sizeof v->mdtrt_id, "%s", str(ev, "mdtrt"));
  snprintf(v->med_type, sizeof v->med_type, "%s", str(ev, "mt"));
  snprintf(v->insutype, sizeof v->insutype, "%s", str(ev, "it"));
  v->psn = strdup(str(ev, "psn"));
  v->ipt = strdup(str(ev, "ipt"));
  key = v->psn && v->ipt ? msim_visit_key(v->psn, v->ipt) : NULL;
  if (key == NULL) {
    free(v->psn);
    free(v->ipt);
    return -1;
  }
  v->begn = num(ev, "bg");
  v->t_reg = t;
  if (msim_map_get(&st->by_psn, v->psn, &prev))
    v->prev_psn = prev + 1;
  if (msim_map_get(&st->by_key, key, &prev))
    v->prev_key = prev + 1;
  if (msim_map_put(&st->by_psn, v->psn, st->nv) != 0 ||
      msim_map_put(&st->by_key, key, st->nv) != 0 ||
      msim_map_put(&st->by_mdtrt, v->mdtrt_id, st->nv) != 0)
    rc = -1;
  free(key);
  *ref = st->nv++;
  return rc;
}

static int apply_fee(msim_state *st, const json_t *ev, size_t *ref,
                     size_t *ref2) {
  const json_t *sn = json_object_get(ev, "sn");
  msim_visit *v;
  msim_batch *b;
  size_t vi;
  if (visit_of(st, ev, &vi) != 0 || !json_is_array(sn))
    return -1;
  v = &st->v[vi];
  if (GROW(v->b, v->nb, v->capb) != 0)
    return -1;
  b = &v->b[v->nb];
  memset(b, 0, sizeof *b);
  b->sum = num(ev, "sum");
  b->sn = calloc(json_array_size(sn) + 1, sizeof *b->sn);
  if (b->sn == NULL)
    return -1;
  *ref = vi;
  *ref2 = v->nb++; /* counted at once: freed with the state on failure */
  for (size_t i = 0; i < json_array_size(sn); i++) {
    b->sn[i] = strdup(json_string_value(json_array_get(sn, i)) ?
                          json_string_value(json_array_get(sn, i)) : "");
    if (b->sn[i] == NULL)
      return -1;
    b->n++;
  }
  return 0;
}

static void delete_details(msim_visit *v, int64_t t) {
  for (size_t i = 0; i < v->nb; i++)
    if (v->b[i].t_del == 0)
      v->b[i].t_del = t;
}

static int apply_setl(msim_state *st, const json_t *ev, int64_t t,
                      size_t *ref) {
  msim_setl *s;
  size_t vi, prev;
  const char *medins = str(ev, "medins");
  if (visit_of(st, ev, &vi) != 0 || GROW(st->s, st->ns, st->caps) != 0)
    return -1;
  s = &st->s[st->ns];
  memset(s, 0, sizeof *s);
  snprintf(s->setl_id, sizeof s->setl_id, "%s", str(ev, "setl"));
  s->visit = vi;
  s->total = num(ev, "total");
  s->fund = num(ev, "fund");
  s->acct = num(ev, "acct");
  s->cash = num(ev, "cash");
  s->hosp = num(ev, "hosp");
  s->stime = num(ev, "st");
  s->t_setl = t;
  s->prev = st->v[vi].last_setl;
  st->v[vi].last_setl = st->ns + 1;
  if (*medins) {
    s->medins = strdup(medins);
    if (s->medins == NULL)
      return -1;
    if (msim_map_get(&st->by_medins, medins, &prev))
      s->prev_medins = prev + 1;
    if (msim_map_put(&st->by_medins, medins, st->ns) != 0)
      return -1;
  }
  if (msim_map_put(&st->by_setl, s->setl_id, st->ns) != 0)
    return -1;
  *ref = st->ns++;
  return 0;
}

static int apply_unsetl(msim_state *st, const json_t *ev, int64_t t) {
  size_t si;
  if (!msim_map_get(&st->by_setl, str(ev, "setl"), &si) ||
      st->s[si].undo != MSIM_ACTIVE)
    return -1;
  st->s[si].undo = MSIM_CANCELLED;
  st->s[si].t_undo = t;
  st->cancels++;
  return 0;
}

/* 2601: undo what the original request did. */
static int apply_rev(msim_state *st, const json_t *ev, int64_t t) {
  size_t mi;
  msim_msg *o;
  if (!msim_map_get(&st->by_msgid, str(ev, "om"), &mi))
    return -1;
  o = &st->m[mi];
  if (o->did == MSIM_DID_REG) {
    st->v[o->ref].t_unreg = t;
    delete_details(&st->v[o->ref], t);
  } else if (o->did == MSIM_DID_FEE) {
    st->v[o->ref].b[o->ref2].t_del = t;
  } else if (o->did == MSIM_DID_SETL) {
    st->s[o->ref].undo = MSIM_REVERSED;
    st->s[o->ref].t_undo = t;
  } else {
    return -1;
  }
  o->t_rev = t;
  st->reversals++;
  return 0;
}

/* State changes; *did and refs say what the request did, for 2601. */
static int apply_kind(msim_state *st, const char *k, const json_t *ev,
                      int64_t t, int *did, size_t *ref, size_t *ref2) {
  size_t vi;
  if (strcmp(k, "call") == 0)
    return 0;
  if (strcmp(k, "reg") == 0) {
    *did = MSIM_DID_REG;
    return apply_reg(st, ev, t, ref);
  }
  if (strcmp(k, "fee") == 0) {
    *did = MSIM_DID_FEE;
    return apply_fee(st, ev, ref, ref2);
  }
  if (strcmp(k, "setl") == 0) {
    *did = MSIM_DID_SETL;
    return apply_setl(st, ev, t, ref);
  }
  *did = MSIM_DID_OTHER;
  if (strcmp(k, "unsetl") == 0)
    return apply_unsetl(st, ev, t);
  if (strcmp(k, "rev") == 0)
    return apply_rev(st, ev, t);
  if (visit_of(st, ev, &vi) != 0)
    return -1;
  if (strcmp(k, "feedel") == 0) {
    delete_details(&st->v[vi], t);
    return 0;
  }
  if (strcmp(k, "unreg") == 0) {
    st->v[vi].t_unreg = t;
    return 0;
  }
  return -1;
}

static int add_msg(msim_state *st, const json_t *ev, int64_t t, int did,
                   size_t ref, size_t ref2) {
  msim_msg *m;
  if (GROW(st->m, st->nm, st->capm) != 0)
    return -1;
  m = &st->m[st->nm];
  memset(m, 0, sizeof *m);
  snprintf(m->infno, sizeof m->infno, "%s", str(ev, "i"));
  m->t = t;
  m->did = did;
  m->ref = ref;
  m->ref2 = ref2;
  if (msim_map_put(&st->by_msgid, str(ev, "m"), st->nm) != 0)
    return -1;
  st->nm++;
  return 0;
}

int msim_apply(msim_state *st, const json_t *ev) {
  const char *k = str(ev, "k");
  int64_t t = num(ev, "t");
  int did = MSIM_DID_NOTHING;
  size_t ref = 0, ref2 = 0;
  st->events++;
  if (json_is_true(json_object_get(ev, "l")))
    st->lost++;
  if (strcmp(k, "repeat") == 0) {
    st->repeats++;
    return 0;
  }
  if (strcmp(k, "invalid") == 0) {
    st->invalid++;
    return 0;
  }
  if (apply_kind(st, k, ev, t, &did, &ref, &ref2) != 0)
    return -1;
  st->calls++;
  return add_msg(st, ev, t, did, ref, ref2);
}

void msim_state_free(msim_state *st) {
  for (size_t i = 0; i < st->nv; i++) {
    for (size_t j = 0; j < st->v[i].nb; j++) {
      for (size_t k = 0; k < st->v[i].b[j].n; k++)
        free(st->v[i].b[j].sn[k]);
      free(st->v[i].b[j].sn);
    }
    free(st->v[i].b);
    free(st->v[i].psn);
    free(st->v[i].ipt);
  }
  for (size_t i = 0; i < st->ns; i++)
    free(st->s[i].medins);
  free(st->v);
  free(st->s);
  free(st->m);
  msim_map_free(&st->by_mdtrt);
  msim_map_free(&st->by_setl);
  msim_map_free(&st->by_psn);
  msim_map_free(&st->by_key);
  msim_map_free(&st->by_medins);
  msim_map_free(&st->by_msgid);
  memset(st, 0, sizeof *st);
}
