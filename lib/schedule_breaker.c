/* The per-region circuit breaker for unplanned outages: closed -> open after
 * a run of failures -> half-open after a pause (exactly one probe is let
 * through) -> closed on the probe's success, open again on its failure.
 * Time is always a parameter, never read here, so tests drive it. */
#include <string.h>

#include "errors_internal.h"
#include "schedule_internal.h"

static const char REASON_OPEN[] =
    "circuit breaker open: online settlement kept failing for this region";
static const char REASON_PROBE[] =
    "circuit breaker half-open: try one online settlement as a probe";
static const char REASON_PROBING[] =
    "circuit breaker half-open: another visit is probing the platform";

/* Open addressing over a fixed table: no allocation, ever, so the decision
 * path may consult it. Called with breaker_mu held. */
static breaker *find(breaker_table *t, const char *region, int create) {
  size_t h = 0;
  for (int i = 0; i < 6; i++)
    h = h * 31 + (unsigned char)region[i];
  for (size_t k = 0; k < BREAKER_SLOTS; k++) {
    breaker *b = &t->slots[(h + k) % BREAKER_SLOTS];
    if (memcmp(b->region, region, 7) == 0)
      return b;
    if (b->region[0] == '\0') {
      if (!create)
        return NULL;
      memcpy(b->region, region, 7);
      return b;
    }
  }
  return NULL;
}

static int64_t reopens_at(const medshim_schedule_set *set, const breaker *b) {
  return b->opened_at + (int64_t)set->opts.breaker_open_seconds;
}

/* State with the pause taken into account. Called with breaker_mu held. */
static medshim_breaker_state state_at(const medshim_schedule_set *set,
                                      const breaker *b, int64_t at) {
  if (b == NULL || b->state == MEDSHIM_BREAKER_CLOSED)
    return MEDSHIM_BREAKER_CLOSED;
  return at >= reopens_at(set, b) ? MEDSHIM_BREAKER_HALF_OPEN
                                  : MEDSHIM_BREAKER_OPEN;
}

medshim_breaker_state medshim_schedule_breaker_state(
    const medshim_schedule_set *cset, const char *region, int64_t at) {
  const medshim_schedule_set *set = cset;
  medshim_breaker_state st;
  if (set == NULL || medshim__sched_region_key(region, 1) == 0)
    return MEDSHIM_BREAKER_CLOSED;
  pthread_mutex_lock(&set->breakers->mu);
  st = state_at(set, find(set->breakers, region, 0), at);
  pthread_mutex_unlock(&set->breakers->mu);
  return st;
}

int medshim_schedule_report_outcome(medshim_schedule_set *set,
                                    const char *region, int ok, int64_t at) {
  breaker *b;
  int rc = MEDSHIM_OK;
  if (set == NULL || medshim__sched_region_key(region, 1) == 0)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  pthread_mutex_lock(&set->breakers->mu);
  /* A success for a region never seen needs no slot. */
  b = find(set->breakers, region, !ok);
  if (b == NULL) {
    rc = ok ? MEDSHIM_OK : MEDSHIM_ENOMEM;
    goto done;
  }
  if (ok) {
    if (b->state != MEDSHIM_BREAKER_CLOSED)
      atomic_fetch_sub(&set->breakers->tripped, 1);
    b->state = MEDSHIM_BREAKER_CLOSED;
    b->failures = 0;
    b->probing = 0;
    goto done;
  }
  switch (state_at(set, b, at)) {
  case MEDSHIM_BREAKER_CLOSED:
    if (++b->failures >= set->opts.breaker_threshold) {
      b->state = MEDSHIM_BREAKER_OPEN;
      b->opened_at = at;
      b->probing = 0;
      atomic_fetch_add(&set->breakers->tripped, 1);
    }
    break;
  case MEDSHIM_BREAKER_HALF_OPEN:
    /* the probe failed: a full pause again */
    b->opened_at = at;
    b->probing = 0;
    break;
  case MEDSHIM_BREAKER_OPEN:
    /* attempts started before the breaker opened: nothing new learnt */
    break;
  }
done:
  pthread_mutex_unlock(&set->breakers->mu);
  return rc;
}

/* One region's say. Called with breaker_mu held. 2: open (or a probe is
 * already out), 1: half-open and the probe is free, 0: closed. */
static int gate_one(const medshim_schedule_set *set, const breaker *b,
                    int64_t at, int64_t *until, const char **reason,
                    medshim_reason_code *code) {
  int64_t lost;
  switch (state_at(set, b, at)) {
  case MEDSHIM_BREAKER_CLOSED:
    return 0;
  case MEDSHIM_BREAKER_OPEN:
    *until = reopens_at(set, b);
    *reason = REASON_OPEN;
    *code = MEDSHIM_REASON_BREAKER_OPEN;
    return 2;
  case MEDSHIM_BREAKER_HALF_OPEN:
    /* A probe whose outcome never came back (the HIS crashed mid-call) is
     * presumed lost after another pause, so the region cannot stay stuck. */
    lost = b->probe_at + (int64_t)set->opts.breaker_open_seconds;
    if (b->probing && at < lost) {
      *until = lost;
      *reason = REASON_PROBING;
      *code = MEDSHIM_REASON_PROBE_PENDING;
      return 2;
    }
    return 1;
  }
  return 0;
}

medshim_verdict medshim__sched_breaker_gate(const medshim_schedule_set *cset,
                                            const char *insured,
                                            const char *treated, int64_t at,
                                            int64_t *until,
                                            const char **reason,
                                            medshim_reason_code *code) {
  const medshim_schedule_set *set = cset;
  breaker *bi, *bt;
  int gi, gt;
  medshim_verdict v = MEDSHIM_ONLINE;
  *until = 0;
  *reason = NULL;
  *code = MEDSHIM_REASON_NONE;
  /* Fast path: no region has ever tripped, so no lock is taken. */
  if (atomic_load(&set->breakers->tripped) == 0)
    return MEDSHIM_ONLINE;
  pthread_mutex_lock(&set->breakers->mu);
  bi = find(set->breakers, insured, 0);
  bt = strcmp(insured, treated) == 0 ? NULL : find(set->breakers, treated, 0);
  gi = gate_one(set, bi, at, until, reason, code);
  gt = gate_one(set, bt, at, until, reason, code);
  if (gi == 2 || gt == 2) {
    v = MEDSHIM_DEFER;
  } else if (gi == 1 || gt == 1) {
    /* This visit is the probe: the others defer until its outcome. */
    if (gi == 1) {
      bi->probing = 1;
      bi->probe_at = at;
    }
    if (gt == 1) {
      bt->probing = 1;
      bt->probe_at = at;
    }
    *until = 0;
    *reason = REASON_PROBE;
    *code = MEDSHIM_REASON_PROBE;
    v = MEDSHIM_TRY_ONLINE;
  }
  pthread_mutex_unlock(&set->breakers->mu);
  return v;
}
