/* The decision for one visit and the replay window of a deferred claim.
 * Both read the compiled index only (plus the breaker table under its own
 * lock): no I/O, no allocation, safe for any number of threads at once. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "errors_internal.h"
#include "schedule_internal.h"

static const char REASON_ONLINE[] = "no cutover window applies";

/* State of one region's timeline at t. */
typedef struct look {
  medshim_verdict effect;
  const sched_piece *piece;
  int64_t next_change;
} look;

static look look_at(const sched_node *node, int service, int64_t t) {
  look l = {MEDSHIM_ONLINE, NULL, INT64_MAX};
  int64_t first;
  if (node == NULL)
    return l;
  l.piece = medshim__sched_piece_at(&node->tl[service], t, &first);
  if (l.piece == NULL) {
    l.next_change = first;
  } else {
    l.effect = l.piece->effect;
    l.next_change = l.piece->effect_until;
  }
  return l;
}

/* Both regions of a visit, and which one decides. */
typedef struct visit_state {
  const sched_node *ni, *nt;
  look li, lt, win;
} visit_state;

static void resolve(visit_state *v, const medshim_schedule_set *set,
                    int service, const char *insured, const char *treated,
                    int64_t at) {
  v->ni = medshim__sched_lookup(set, insured);
  v->nt = medshim__sched_lookup(set, treated);
  v->li = look_at(v->ni, service, at);
  v->lt = look_at(v->nt, service, at);
  /* the most restrictive region decides; on a tie, the insured region */
  v->win = v->li.effect >= v->lt.effect ? v->li : v->lt;
}

static medshim_verdict combined(const visit_state *v, int service, int64_t t) {
  look x = look_at(v->ni, service, t), y = look_at(v->nt, service, t);
  return x.effect > y.effect ? x.effect : y.effect;
}

/* The next instant the combined verdict differs: walk the two regions'
 * change points until it does (a handful of steps: pieces are merged). */
static int64_t next_change(const visit_state *v, int service) {
  int64_t until = v->li.next_change < v->lt.next_change ? v->li.next_change
                                                        : v->lt.next_change;
  while (until != INT64_MAX && combined(v, service, until) == v->win.effect) {
    look a = look_at(v->ni, service, until), b = look_at(v->nt, service, until);
    int64_t next = a.next_change < b.next_change ? a.next_change : b.next_change;
    if (next <= until)
      break;
    until = next;
  }
  return until;
}

static int valid_args(const medshim_schedule_set *set, int service,
                      const char *insured, const char *treated) {
  return set != NULL && medshim_sched_service_name(service) != NULL &&
         medshim__sched_region_key(insured, 1) != 0 &&
         (treated == NULL || medshim__sched_region_key(treated, 1) != 0);
}

static void add_advice(medshim_decision *out, const sched_node *node,
                       int service, int64_t t) {
  if (node == NULL)
    return;
  for (size_t i = 0; i < node->nscheds; i++) {
    const sched *s = node->scheds[i];
    for (size_t k = 0; k < s->nadvice && out->advice_count < MEDSHIM_ADVICE_MAX;
         k++) {
      const sched_advice *a = &s->advice[k];
      int dup = 0;
      if (!(a->services & SCHED_BIT(service)) || t < a->from || t >= a->at)
        continue;
      for (size_t d = 0; d < out->advice_count; d++)
        dup |= out->advice[d].text == a->text && out->advice[d].at == a->at;
      if (dup)
        continue;
      out->advice[out->advice_count].kind = a->kind;
      out->advice[out->advice_count].at = a->at;
      out->advice[out->advice_count].text = a->text;
      out->advice_count++;
    }
  }
}

/* The resettlement rule of schedule s for a visit at t: the first whose
 * services and visit period match. */
static const sched_resettle *rule_for(const sched *s, int service, int64_t t) {
  for (size_t i = 0; i < s->nresettle; i++) {
    const sched_resettle *r = &s->resettle[i];
    if (!(r->services & SCHED_BIT(service)))
      continue;
    if (r->visits_from != 0 && t < r->visits_from)
      continue;
    if (r->visits_until != 0 && t >= r->visits_until)
      continue;
    return r;
  }
  return NULL;
}

/* Replay window of a visit inside a schedule's window (win.piece->phase
 * set): the deciding schedule's rule, else the hospital once the
 * restriction ends (a notice that names no route re-settles where the
 * visit was). */
static medshim_replay_window scheduled_replay(const look *win, int service,
                                              int64_t at) {
  medshim_replay_window w;
  const sched_resettle *r = rule_for(win->piece->owner, service, at);
  memset(&w, 0, sizeof w);
  if (r != NULL) {
    w.route = r->route;
    w.from = r->route == MEDSHIM_ROUTE_NONE ? 0 : r->from;
    w.until = r->route == MEDSHIM_ROUTE_NONE ? 0 : r->until;
  } else {
    w.route = MEDSHIM_ROUTE_HOSPITAL;
    w.from = win->piece->effect_until == INT64_MAX ? win->piece->phase->until
                                                   : win->piece->effect_until;
  }
  return w;
}

/* A claim deferred outside every window was deferred by an unplanned
 * outage (an open breaker, a failed attempt): the hospital re-settles it as
 * soon as the platform answers (Beijing 2022: "pay first, settle with
 * insurance after the system is back"). Agency services have no claims. */
static medshim_replay_window unplanned_replay(int service, int64_t at) {
  medshim_replay_window w;
  memset(&w, 0, sizeof w);
  if (service >= 1 && service <= 6) {
    w.route = MEDSHIM_ROUTE_HOSPITAL;
    w.from = at;
  }
  return w;
}

/* The code of a decision a schedule's phase made (the breaker did not). */
static medshim_reason_code scheduled_code(const medshim_decision *d,
                                          int service) {
  if (d->decision == MEDSHIM_TRY_ONLINE)
    return MEDSHIM_REASON_DEGRADED;
  if (d->decision == MEDSHIM_ONLINE)
    return d->advice_count > 0 ? MEDSHIM_REASON_INPATIENT_ADVICE
                               : MEDSHIM_REASON_NO_WINDOW;
  if (service > 6)
    return MEDSHIM_REASON_SERVICE_SUSPENDED;
  switch (d->replay.route) {
  case MEDSHIM_ROUTE_AGENCY:
    return MEDSHIM_REASON_AGENCY_ROUTE;
  case MEDSHIM_ROUTE_NONE:
    return MEDSHIM_REASON_NO_RESETTLEMENT;
  case MEDSHIM_ROUTE_HOSPITAL:
    break;
  }
  return MEDSHIM_REASON_PLANNED_STOP;
}

/* The fields a version 1 caller has: everything before `code`. */
#define DECISION_V1_SIZE offsetof(medshim_decision, code)

/* A refused call still answers safely: defer, nothing decided, no window
 * (the caller's fields of its version only). No personal data: the reason
 * names the argument, never its value. */
static int refuse_decision(medshim_decision *caller, unsigned int version,
                           const char *reason) {
  medshim_decision d;
  memset(&d, 0, sizeof d);
  d.version = version;
  d.decision = MEDSHIM_DEFER;
  d.reason = reason;
  d.code = MEDSHIM_REASON_INVALID_INPUT;
  memcpy(caller, &d, version == 1 ? DECISION_V1_SIZE : sizeof d);
  return medshim__last_set(MEDSHIM_EINVAL, "medshim_schedule_decide", reason);
}

int medshim_schedule_decide(medshim_decision *caller,
                            const medshim_schedule_set *set, int service,
                            const char *insured, const char *treated,
                            int64_t at) {
  medshim_decision d, *out = &d;
  visit_state v;
  int64_t until;
  int by_breaker = 0;
  medshim_reason_code breaker_code = MEDSHIM_REASON_NONE;
  unsigned int version;
  if (caller == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  /* 0 was "zero it" in version 1; a newer caller gets what we have. */
  version = caller->version <= 1 ? 1u : MEDSHIM_DECISION_VERSION;
  if (set == NULL)
    return refuse_decision(caller, version, "not decided: no schedule set");
  if (medshim_sched_service_name(service) == NULL)
    return refuse_decision(caller, version, "not decided: unknown service");
  if (!valid_args(set, service, insured, treated))
    return refuse_decision(caller, version,
                           "not decided: the insured or treatment region is "
                           "not a 6-digit administrative division code");
  if (treated == NULL)
    treated = insured;
  memset(out, 0, sizeof *out);
  out->version = version;
  resolve(&v, set, service, insured, treated, at);
  out->decision = v.win.effect;
  until = next_change(&v, service);
  out->until = until == INT64_MAX ? 0 : until;
  if (v.win.piece != NULL && v.win.piece->phase != NULL) {
    out->reason = v.win.piece->phase->reason;
    out->has_window = 1;
    out->window.schedule_id = v.win.piece->owner->id;
    out->window.version = v.win.piece->owner->version;
    out->window.from = v.win.piece->phase->from;
    out->window.until = v.win.piece->phase->until;
  } else {
    out->reason = REASON_ONLINE;
  }
  /* Unplanned outages, for settlement services only. Asked only when the
   * schedules do not already defer, so a half-open probe is never handed
   * to a visit that would not use it. */
  if (service <= 6 && out->decision != MEDSHIM_DEFER) {
    const char *reason;
    int64_t b_until;
    medshim_reason_code b_code;
    medshim_verdict b = medshim__sched_breaker_gate(set, insured, treated, at,
                                                    &b_until, &reason, &b_code);
    if (b == MEDSHIM_DEFER) {
      out->decision = MEDSHIM_DEFER;
      out->reason = reason;
      out->until = b_until;
      by_breaker = 1;
      breaker_code = b_code;
    } else if (b == MEDSHIM_TRY_ONLINE && out->decision == MEDSHIM_ONLINE) {
      out->decision = MEDSHIM_TRY_ONLINE;
      out->reason = reason;
      out->until = 0; /* depends on the probe's outcome */
      breaker_code = b_code;
    }
  }
  add_advice(out, v.ni, service, at);
  if (v.nt != v.ni)
    add_advice(out, v.nt, service, at);
  /* defer: the window the claim gets. try_online: the window a failed
   * attempt gets (it is then deferred as now): the phase's rule, or for a
   * breaker's probe an unplanned outage's. */
  if (out->decision == MEDSHIM_DEFER || out->decision == MEDSHIM_TRY_ONLINE) {
    int unplanned = by_breaker || (out->decision == MEDSHIM_TRY_ONLINE &&
                                   breaker_code != MEDSHIM_REASON_NONE);
    out->replay = unplanned ? unplanned_replay(service, at)
                            : scheduled_replay(&v.win, service, at);
    out->has_replay = out->replay.route != MEDSHIM_ROUTE_NONE;
  }
  out->code = breaker_code != MEDSHIM_REASON_NONE ? breaker_code
                                                  : scheduled_code(out, service);
  /* Only the fields the caller's version has: a version 1 struct is
   * shorter. */
  memcpy(caller, out, version == 1 ? DECISION_V1_SIZE : sizeof *out);
  return MEDSHIM_OK;
}

int medshim_schedule_replay_window(medshim_replay_window *out,
                                   const medshim_schedule_set *set, int service,
                                   const char *insured, const char *treated,
                                   int64_t visit_time) {
  visit_state v;
  if (out == NULL || !valid_args(set, service, insured, treated))
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  resolve(&v, set, service, insured, treated ? treated : insured, visit_time);
  /* The same schedule and rule that the decision at visit_time used. */
  if (v.win.piece != NULL && v.win.piece->phase != NULL)
    *out = scheduled_replay(&v.win, service, visit_time);
  else
    *out = unplanned_replay(service, visit_time);
  return MEDSHIM_OK;
}

int medshim_decision_window(medshim_claim_window *out,
                            const medshim_decision *d) {
  /* every version has the window */
  if (out == NULL || d == NULL || d->version < 1 ||
      d->version > MEDSHIM_DECISION_VERSION)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  memset(out, 0, sizeof *out);
  out->version = MEDSHIM_CLAIM_WINDOW_VERSION;
  if (!d->has_replay)
    return MEDSHIM_OK;
  out->route = (int)d->replay.route;
  out->from = d->replay.from;
  out->until = d->replay.until;
  if (d->has_window && d->window.schedule_id != NULL) {
    snprintf(out->schedule_id, sizeof out->schedule_id, "%s",
             d->window.schedule_id);
    out->schedule_version = d->window.version;
  }
  return MEDSHIM_OK;
}
