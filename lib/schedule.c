/* Schedule sets: loading (with amendments and signatures), names, and the
 * decision itself. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors_internal.h"
#include "schedule_internal.h"
#include "timeutil_internal.h"

static const char *const agency_names[] = {"enrollment", "collection", "filing",
                                           "manual_reimbursement",
                                           "online_services"};

const char *medshim_sched_service_name(int service) {
  if (service >= 1 && service <= 6)
    return medshim_service_name((medshim_service)service);
  if (service >= MEDSHIM_SCHED_ENROLLMENT &&
      service <= MEDSHIM_SCHED_ONLINE_SERVICES)
    return agency_names[service - MEDSHIM_SCHED_ENROLLMENT];
  return NULL;
}

int medshim_sched_service_parse(int *out, const char *name) {
  medshim_service s;
  if (out == NULL || name == NULL)
    return MEDSHIM_EINVAL;
  if (medshim_service_parse(&s, name) == MEDSHIM_OK) {
    *out = (int)s;
    return MEDSHIM_OK;
  }
  for (int i = 0; i < 5; i++)
    if (strcmp(name, agency_names[i]) == 0) {
      *out = MEDSHIM_SCHED_ENROLLMENT + i;
      return MEDSHIM_OK;
    }
  return MEDSHIM_EINVAL;
}

const char *medshim_verdict_name(medshim_verdict v) {
  switch (v) {
  case MEDSHIM_ONLINE:
    return "online";
  case MEDSHIM_TRY_ONLINE:
    return "try_online";
  case MEDSHIM_DEFER:
    return "defer";
  }
  return "unknown";
}

const char *medshim_route_name(medshim_route r) {
  switch (r) {
  case MEDSHIM_ROUTE_NONE:
    return "none";
  case MEDSHIM_ROUTE_HOSPITAL:
    return "hospital";
  case MEDSHIM_ROUTE_AGENCY:
    return "agency";
  }
  return "unknown";
}

const char *medshim_advice_kind_name(medshim_advice_kind k) {
  switch (k) {
  case MEDSHIM_ADVICE_SETTLE_BEFORE:
    return "settle_before";
  case MEDSHIM_ADVICE_ADMIT_SELF_PAY:
    return "admit_self_pay";
  }
  return "unknown";
}

int medshim_schedule_options_init(medshim_schedule_options *opts,
                                  unsigned int version) {
  if (opts == NULL || version != MEDSHIM_SCHEDULE_OPTIONS_VERSION)
    return MEDSHIM_EINVAL;
  memset(opts, 0, sizeof *opts);
  opts->version = version;
  return MEDSHIM_OK;
}

int medshim_schedule_set_new(medshim_schedule_set **out,
                             const medshim_schedule_options *opts,
                             medshim_error *err) {
  medshim_schedule_set *set;
  if (out == NULL)
    return medshim__error_set(err, MEDSHIM_EINVAL, "", "out is NULL");
  *out = NULL;
  if (opts != NULL && opts->version != MEDSHIM_SCHEDULE_OPTIONS_VERSION)
    return medshim__error_set(err, MEDSHIM_EINVAL, "opts",
                              "unknown options version");
  set = calloc(1, sizeof *set);
  if (set == NULL)
    return medshim__error_set(err, MEDSHIM_ENOMEM, "", "out of memory");
  if (opts != NULL)
    set->opts = *opts;
  set->opts.version = MEDSHIM_SCHEDULE_OPTIONS_VERSION;
  if (set->opts.breaker_threshold == 0)
    set->opts.breaker_threshold = 5;
  if (set->opts.breaker_open_seconds == 0)
    set->opts.breaker_open_seconds = 300;
  if (opts != NULL && opts->public_key_pem != NULL) {
    set->public_key_pem = strdup(opts->public_key_pem);
    if (set->public_key_pem == NULL) {
      free(set);
      return medshim__error_set(err, MEDSHIM_ENOMEM, "", "out of memory");
    }
    /* A key that does not parse is a configuration error: say so now. */
    if (medshim_schedule_verify("", 0, "AAAA", set->public_key_pem) ==
        MEDSHIM_EKEY) {
      free(set->public_key_pem);
      free(set);
      return medshim__error_set(err, MEDSHIM_EKEY, "public_key_pem",
                                "not an Ed25519 public key in PEM form");
    }
  }
  set->opts.public_key_pem = set->public_key_pem;
  pthread_mutex_init(&set->breaker_mu, NULL);
  atomic_init(&set->breakers_tripped, 0);
  *out = set;
  return MEDSHIM_OK;
}

void medshim_schedule_set_free(medshim_schedule_set *set) {
  if (set == NULL)
    return;
  medshim__sched_index_free(set);
  for (size_t i = 0; i < set->nscheds; i++)
    medshim__sched_free(set->scheds[i]);
  free(set->scheds);
  for (size_t i = 0; i < set->nnotices; i++)
    free(set->notices[i]);
  free(set->notices);
  free(set->public_key_pem);
  pthread_mutex_destroy(&set->breaker_mu);
  free(set);
}

static void notice(medshim_schedule_set *set, const char *text) {
  char **n = realloc(set->notices, (set->nnotices + 1) * sizeof *n);
  if (n == NULL)
    return;
  set->notices = n;
  if ((n[set->nnotices] = strdup(text)) != NULL)
    set->nnotices++;
}

size_t medshim_schedule_set_notice_count(const medshim_schedule_set *set) {
  return set ? set->nnotices : 0;
}

const char *medshim_schedule_set_notice(const medshim_schedule_set *set,
                                        size_t i) {
  return set && i < set->nnotices ? set->notices[i] : NULL;
}

size_t medshim_schedule_set_count(const medshim_schedule_set *set) {
  return set ? set->nscheds : 0;
}

int medshim_schedule_set_load_json(medshim_schedule_set *set, const char *name,
                                   const char *json, size_t len,
                                   const char *signature, medshim_error *err) {
  sched *s = NULL;
  char text[512];
  int rc;
  if (set == NULL || json == NULL)
    return medshim__error_set(err, MEDSHIM_EINVAL, "", "bad arguments");
  if (name == NULL)
    name = "(schedule)";
  if (signature != NULL) {
    if (set->public_key_pem == NULL)
      return medshim__error_set(err, MEDSHIM_ESIGNATURE, name,
                                "signed, but no public key is configured to "
                                "check it");
    rc = medshim_schedule_verify(json, len, signature, set->public_key_pem);
    if (rc != MEDSHIM_OK)
      return medshim__error_set(err, MEDSHIM_ESIGNATURE, name,
                                "signature does not verify: the file was "
                                "altered or signed with another key");
  } else if (set->opts.require_signed) {
    return medshim__error_set(err, MEDSHIM_ESIGNATURE, name,
                              "unsigned schedule refused (signatures are "
                              "required)");
  }
  if ((rc = medshim__sched_parse(&s, json, len, err)) != MEDSHIM_OK)
    return rc;
  for (size_t i = 0; i < set->nscheds; i++) {
    sched *old = set->scheds[i];
    if (strcmp(old->id, s->id) != 0)
      continue;
    if (s->version <= old->version) {
      snprintf(text, sizeof text, "%s: schedule %s v%u ignored: v%u is already "
               "loaded", name, s->id, (unsigned)s->version,
               (unsigned)old->version);
      notice(set, text);
      medshim__sched_free(s);
      return MEDSHIM_OK;
    }
    snprintf(text, sizeof text, "%s: schedule %s v%u supersedes v%u", name,
             s->id, (unsigned)s->version, (unsigned)old->version);
    notice(set, text);
    set->scheds[i] = s;
    medshim__sched_free(old);
    s = NULL;
    break;
  }
  if (s != NULL) {
    sched **n = realloc(set->scheds, (set->nscheds + 1) * sizeof *n);
    if (n == NULL) {
      medshim__sched_free(s);
      return medshim__error_set(err, MEDSHIM_ENOMEM, "", "out of memory");
    }
    set->scheds = n;
    set->scheds[set->nscheds++] = s;
  }
  rc = medshim__sched_compile(set);
  if (rc != MEDSHIM_OK)
    return medshim__error_set(err, rc, "", "out of memory");
  return MEDSHIM_OK;
}

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  long n;
  if (f == NULL)
    return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
      n < (64L << 20) && fseek(f, 0, SEEK_SET) == 0) {
    buf = malloc((size_t)n + 1);
    if (buf != NULL && fread(buf, 1, (size_t)n, f) == (size_t)n) {
      buf[n] = '\0';
      *len = (size_t)n;
    } else {
      free(buf);
      buf = NULL;
    }
  }
  fclose(f);
  return buf;
}

int medshim_schedule_set_load_file(medshim_schedule_set *set, const char *path,
                                   medshim_error *err) {
  char sigpath[4096], *json, *sig;
  size_t len, siglen;
  int rc;
  if (set == NULL || path == NULL)
    return medshim__error_set(err, MEDSHIM_EINVAL, "", "bad arguments");
  json = read_all(path, &len);
  if (json == NULL)
    return medshim__error_set(err, MEDSHIM_EIO, path, "cannot read: %s",
                              strerror(errno));
  snprintf(sigpath, sizeof sigpath, "%s.sig", path);
  sig = read_all(sigpath, &siglen);
  if (sig != NULL)
    while (siglen > 0 && (sig[siglen - 1] == '\n' || sig[siglen - 1] == '\r' ||
                          sig[siglen - 1] == ' '))
      sig[--siglen] = '\0';
  rc = medshim_schedule_set_load_json(set, path, json, len, sig, err);
  if (rc != MEDSHIM_OK && err != NULL && err->where[0] != '\0' &&
      strcmp(err->where, path) != 0) {
    /* prefix the JSON path with the file */
    char where[2 * MEDSHIM_ERROR_WHERE_MAX + 8];
    snprintf(where, sizeof where, "%s: %s", path, err->where);
    if (snprintf(err->where, sizeof err->where, "%s", where) >=
        (int)sizeof err->where)
      err->where[sizeof err->where - 1] = '\0'; /* long paths are cut */
  } else if (rc != MEDSHIM_OK && err != NULL && err->where[0] == '\0') {
    snprintf(err->where, sizeof err->where, "%s", path);
  }
  free(json);
  free(sig);
  return rc;
}

/* ---- deciding ----------------------------------------------------------- */

static const char REASON_ONLINE[] = "no cutover window applies";
static const char REASON_BREAKER[] =
    "circuit breaker open: online settlement kept failing for this region";
static const char REASON_PROBE[] =
    "circuit breaker half-open: try one online settlement as a probe";

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

static medshim_verdict combined(const sched_node *a, const sched_node *b,
                                int service, int64_t t) {
  look x = look_at(a, service, t), y = look_at(b, service, t);
  return x.effect > y.effect ? x.effect : y.effect;
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

/* The resettlement rule of schedule s for a visit at t. */
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

int medshim_schedule_decide(medshim_decision *out,
                            const medshim_schedule_set *set, int service,
                            const char *insured, const char *treated,
                            int64_t at) {
  const sched_node *ni, *nt;
  look li, lt, win;
  int64_t until;
  if (out == NULL || set == NULL || medshim_sched_service_name(service) == NULL ||
      medshim__sched_region_key(insured, 1) == 0 ||
      (treated != NULL && medshim__sched_region_key(treated, 1) == 0))
    return MEDSHIM_EINVAL;
  if (treated == NULL)
    treated = insured;
  memset(out, 0, sizeof *out);
  out->version = MEDSHIM_DECISION_VERSION;
  ni = medshim__sched_lookup(set, insured);
  nt = medshim__sched_lookup(set, treated);
  li = look_at(ni, service, at);
  lt = look_at(nt, service, at);
  win = li.effect >= lt.effect ? li : lt;
  out->decision = win.effect;
  /* The decision changes when the combined effect changes: step through
   * the two regions' change points until it does. */
  until = li.next_change < lt.next_change ? li.next_change : lt.next_change;
  while (until != INT64_MAX && combined(ni, nt, service, until) == win.effect) {
    look a = look_at(ni, service, until), b = look_at(nt, service, until);
    int64_t next = a.next_change < b.next_change ? a.next_change : b.next_change;
    if (next <= until)
      break;
    until = next;
  }
  out->until = until == INT64_MAX ? 0 : until;
  if (win.piece != NULL && win.piece->phase != NULL) {
    out->reason = win.piece->phase->reason;
    out->has_window = 1;
    out->window.schedule_id = win.piece->owner->id;
    out->window.version = win.piece->owner->version;
    out->window.from = win.piece->phase->from;
    out->window.until = win.piece->phase->until;
  } else {
    out->reason = REASON_ONLINE;
  }
  /* Unplanned outages, only for settlement services. */
  if (service <= 6 && atomic_load(&((medshim_schedule_set *)set)->breakers_tripped) > 0) {
    medshim_breaker_state bi = medshim_schedule_breaker_state(set, insured, at);
    medshim_breaker_state bt = medshim_schedule_breaker_state(set, treated, at);
    if (bi == MEDSHIM_BREAKER_OPEN || bt == MEDSHIM_BREAKER_OPEN) {
      out->decision = MEDSHIM_DEFER;
      out->reason = REASON_BREAKER;
      out->until = 0;
    } else if ((bi == MEDSHIM_BREAKER_HALF_OPEN ||
                bt == MEDSHIM_BREAKER_HALF_OPEN) &&
               out->decision < MEDSHIM_TRY_ONLINE) {
      out->decision = MEDSHIM_TRY_ONLINE;
      out->reason = REASON_PROBE;
      out->until = 0;
    }
  }
  add_advice(out, ni, service, at);
  if (nt != ni)
    add_advice(out, nt, service, at);
  if (out->decision == MEDSHIM_DEFER) {
    const sched_resettle *r =
        out->has_window ? rule_for(win.piece->owner, service, at) : NULL;
    if (r != NULL) {
      out->has_replay = 1;
      out->replay.route = r->route;
      out->replay.from = r->from;
      out->replay.until = r->until;
    } else if (out->has_window) {
      /* No rule given: re-settle at the hospital once the stop ends. */
      out->has_replay = 1;
      out->replay.route = MEDSHIM_ROUTE_HOSPITAL;
      out->replay.from = win.piece->effect_until == INT64_MAX
                             ? win.piece->phase->until
                             : win.piece->effect_until;
      out->replay.until = 0;
    }
  }
  return MEDSHIM_OK;
}

int medshim_schedule_replay_window(medshim_replay_window *out,
                                   const medshim_schedule_set *set, int service,
                                   const char *insured, const char *treated,
                                   int64_t visit_time) {
  const sched_node *nodes[2];
  if (out == NULL || set == NULL || medshim_sched_service_name(service) == NULL ||
      medshim__sched_region_key(insured, 1) == 0 ||
      (treated != NULL && medshim__sched_region_key(treated, 1) == 0))
    return MEDSHIM_EINVAL;
  memset(out, 0, sizeof *out);
  nodes[0] = medshim__sched_lookup(set, insured);
  nodes[1] = medshim__sched_lookup(set, treated ? treated : insured);
  for (int n = 0; n < 2; n++) {
    if (nodes[n] == NULL)
      continue;
    for (size_t i = 0; i < nodes[n]->nscheds; i++) {
      const sched_resettle *r = rule_for(nodes[n]->scheds[i], service, visit_time);
      if (r != NULL) {
        out->route = r->route;
        out->from = r->from;
        out->until = r->until;
        return MEDSHIM_OK;
      }
    }
  }
  return MEDSHIM_OK;
}

/* ---- circuit breaker ---------------------------------------------------- */

static breaker *breaker_find(medshim_schedule_set *set, const char *region,
                             int create) {
  size_t h = 0;
  for (int i = 0; i < 6; i++)
    h = h * 31 + (unsigned char)region[i];
  for (size_t k = 0; k < BREAKER_SLOTS; k++) {
    breaker *b = &set->breakers[(h + k) % BREAKER_SLOTS];
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

medshim_breaker_state medshim_schedule_breaker_state(
    const medshim_schedule_set *cset, const char *region, int64_t at) {
  medshim_schedule_set *set = (medshim_schedule_set *)cset;
  medshim_breaker_state st = MEDSHIM_BREAKER_CLOSED;
  breaker *b;
  if (set == NULL || medshim__sched_region_key(region, 1) == 0)
    return MEDSHIM_BREAKER_CLOSED;
  pthread_mutex_lock(&set->breaker_mu);
  b = breaker_find(set, region, 0);
  if (b != NULL) {
    st = b->state;
    if (st == MEDSHIM_BREAKER_OPEN &&
        at >= b->opened_at + (int64_t)set->opts.breaker_open_seconds)
      st = MEDSHIM_BREAKER_HALF_OPEN;
  }
  pthread_mutex_unlock(&set->breaker_mu);
  return st;
}

int medshim_schedule_report_outcome(medshim_schedule_set *set,
                                    const char *region, int ok, int64_t at) {
  breaker *b;
  int rc = MEDSHIM_OK;
  if (set == NULL || medshim__sched_region_key(region, 1) == 0)
    return MEDSHIM_EINVAL;
  pthread_mutex_lock(&set->breaker_mu);
  b = breaker_find(set, region, !ok);
  if (b == NULL) {
    rc = ok ? MEDSHIM_OK : MEDSHIM_ENOMEM;
    goto done;
  }
  if (ok) {
    if (b->state != MEDSHIM_BREAKER_CLOSED)
      atomic_fetch_sub(&set->breakers_tripped, 1);
    b->state = MEDSHIM_BREAKER_CLOSED;
    b->failures = 0;
    goto done;
  }
  b->failures++;
  if (b->state == MEDSHIM_BREAKER_OPEN &&
      at >= b->opened_at + (int64_t)set->opts.breaker_open_seconds) {
    b->opened_at = at; /* the half-open probe failed: open again */
  } else if (b->state == MEDSHIM_BREAKER_CLOSED &&
             b->failures >= set->opts.breaker_threshold) {
    b->state = MEDSHIM_BREAKER_OPEN;
    b->opened_at = at;
    atomic_fetch_add(&set->breakers_tripped, 1);
  }
done:
  pthread_mutex_unlock(&set->breaker_mu);
  return rc;
}
