/* Reading one schedule file (JSON, via jansson) into a validated sched.
 * Every refusal names the JSON path and the reason. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "errors_internal.h"
#include "schedule_internal.h"
#include "timeutil_internal.h"

void medshim__sched_free(sched *s) {
  if (s == NULL)
    return;
  free(s->source);
  free(s->regions);
  for (size_t i = 0; i < s->nphases; i++) {
    free(s->phases[i].note);
    free(s->phases[i].reason);
    free(s->phases[i].regions);
  }
  free(s->phases);
  for (size_t i = 0; i < s->nadvice; i++)
    free(s->advice[i].text);
  free(s->advice);
  free(s->resettle);
  free(s);
}

typedef struct ctx {
  medshim_error *err;
  char path[MEDSHIM_ERROR_WHERE_MAX];
} ctx;

MEDSHIM__PRINTF(3, 4)
static int bad(ctx *c, const char *what, const char *fmt, ...) {
  char text[MEDSHIM_ERROR_TEXT_MAX];
  va_list ap;
  va_start(ap, fmt);
  medshim__vfmt(text, sizeof text, fmt, ap);
  va_end(ap);
  return medshim__error_set(c->err, MEDSHIM_EINVAL, what, "%s", text);
}

static int get_time(ctx *c, json_t *obj, const char *key, const char *path,
                    int required, int64_t *out) {
  json_t *v = json_object_get(obj, key);
  char where[MEDSHIM_ERROR_WHERE_MAX];
  medshim__fmt(where, sizeof where, "%s%s%s", path, path[0] ? "." : "", key);
  *out = 0;
  if (v == NULL || json_is_null(v)) {
    if (required)
      return bad(c, where, "is required");
    return MEDSHIM_OK;
  }
  if (!json_is_string(v) ||
      medshim__time_parse(out, json_string_value(v), json_string_length(v)) != 0)
    return bad(c, where, "not a time: use ISO 8601 such as 2022-02-10T00:00 "
                         "(+08:00 unless given; 24:00 allowed)");
  return MEDSHIM_OK;
}

static int get_services(ctx *c, json_t *obj, const char *path,
                        sched_mask *out) {
  json_t *arr = json_object_get(obj, "services"), *v;
  char where[MEDSHIM_ERROR_WHERE_MAX];
  size_t i;
  *out = 0;
  medshim__fmt(where, sizeof where, "%s.services", path);
  if (arr == NULL)
    return bad(c, where, "is required");
  if (!json_is_array(arr) || json_array_size(arr) == 0)
    return bad(c, where, "must be a non-empty array of service names");
  json_array_foreach(arr, i, v) {
    int s;
    medshim__fmt(where, sizeof where, "%s.services[%zu]", path, i);
    if (!json_is_string(v) ||
        medshim_sched_service_parse(&s, json_string_value(v)) != MEDSHIM_OK)
      return bad(c, where, "unknown service (outpatient, chronic_outpatient, "
                           "inpatient, pharmacy, work_injury, maternity, "
                           "enrollment, collection, filing, "
                           "manual_reimbursement, online_services)");
    *out |= SCHED_BIT(s);
  }
  return MEDSHIM_OK;
}

static int get_text(ctx *c, json_t *obj, const char *key, const char *path,
                    int required, char **out) {
  json_t *v = json_object_get(obj, key);
  char where[MEDSHIM_ERROR_WHERE_MAX];
  *out = NULL;
  medshim__fmt(where, sizeof where, "%s%s%s", path, path[0] ? "." : "", key);
  if (v == NULL || json_is_null(v))
    return required ? bad(c, where, "is required") : MEDSHIM_OK;
  if (!json_is_string(v))
    return bad(c, where, "must be a string");
  *out = strdup(json_string_value(v));
  return *out == NULL ? medshim__error_set(c->err, MEDSHIM_ENOMEM, where,
                                           "out of memory")
                      : MEDSHIM_OK;
}

static int check_keys(ctx *c, json_t *obj, const char *path,
                      const char *const *allowed) {
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v) {
    size_t k;
    for (k = 0; allowed[k] != NULL; k++)
      if (strcmp(key, allowed[k]) == 0)
        break;
    if (allowed[k] == NULL)
      return bad(c, path[0] ? path : "(top)", "unknown member \"%.40s\"", key);
  }
  return MEDSHIM_OK;
}

/* Optional "regions" of a phase: a subset where it applies (a province
 * switching city by city). */
static int parse_regions(ctx *c, json_t *obj, const char *path,
                         uint32_t **out, size_t *n) {
  json_t *arr = json_object_get(obj, "regions"), *v;
  size_t i;
  *out = NULL;
  *n = 0;
  if (arr == NULL)
    return MEDSHIM_OK;
  if (!json_is_array(arr) || json_array_size(arr) == 0) {
    char where[96];
    medshim__fmt(where, sizeof where, "%s.regions", path);
    return bad(c, where, "must be a non-empty array of 6-digit codes");
  }
  *out = calloc(json_array_size(arr), sizeof **out);
  if (*out == NULL)
    return MEDSHIM__FAIL(MEDSHIM_ENOMEM);
  json_array_foreach(arr, i, v) {
    char where[96];
    uint32_t key = json_is_string(v)
                       ? medshim__sched_region_key(json_string_value(v), 0)
                       : 0;
    if (key == 0) {
      medshim__fmt(where, sizeof where, "%s.regions[%zu]", path, i);
      return bad(c, where, "must be a 6-digit administrative division code");
    }
    (*out)[(*n)++] = key;
  }
  return MEDSHIM_OK;
}

/* Can two phases apply to one place? (no regions: the whole schedule) */
static int phases_share_region(const sched_phase *x, const sched_phase *y) {
  if (x->nregions == 0 || y->nregions == 0)
    return 1;
  for (size_t i = 0; i < x->nregions; i++)
    for (size_t k = 0; k < y->nregions; k++)
      if (medshim__sched_covers(x->regions[i], y->regions[k]) ||
          medshim__sched_covers(y->regions[k], x->regions[i]))
        return 1;
  return 0;
}

static int parse_phases(ctx *c, json_t *root, sched *s) {
  static const char *const keys[] = {"services", "from", "until", "effect",
                                     "note", "regions", NULL};
  json_t *arr = json_object_get(root, "phases"), *p;
  size_t i;
  int rc;
  if (arr == NULL)
    return bad(c, "phases", "is required");
  if (!json_is_array(arr) || json_array_size(arr) == 0)
    return bad(c, "phases", "must be a non-empty array");
  s->phases = calloc(json_array_size(arr), sizeof *s->phases);
  if (s->phases == NULL)
    return MEDSHIM__FAIL(MEDSHIM_ENOMEM);
  json_array_foreach(arr, i, p) {
    sched_phase *ph = &s->phases[i];
    char path[64];
    const char *eff;
    json_t *e;
    medshim__fmt(path, sizeof path, "phases[%zu]", i);
    s->nphases = i + 1;
    if (!json_is_object(p))
      return bad(c, path, "must be an object");
    if ((rc = check_keys(c, p, path, keys)) || (rc = get_services(c, p, path,
                                                                  &ph->services)) ||
        (rc = get_time(c, p, "from", path, 1, &ph->from)) ||
        (rc = get_time(c, p, "until", path, 1, &ph->until)) ||
        (rc = get_text(c, p, "note", path, 0, &ph->note)))
      return rc;
    if ((rc = parse_regions(c, p, path, &ph->regions, &ph->nregions)) != 0)
      return rc;
    /* A phase narrows its schedule; it cannot reach outside it, or the
     * schedule's regions would misstate what it covers. */
    for (size_t r = 0; r < ph->nregions; r++) {
      size_t k;
      for (k = 0; k < s->nregions; k++)
        if (medshim__sched_covers(s->regions[k], ph->regions[r]))
          break;
      if (k == s->nregions) {
        char where[96];
        medshim__fmt(where, sizeof where, "%s.regions[%zu]", path, r);
        return bad(c, where, "not inside the schedule's regions");
      }
    }
    if (ph->until <= ph->from) {
      char where[80];
      medshim__fmt(where, sizeof where, "%s.until", path);
      return bad(c, where, "must be after from");
    }
    e = json_object_get(p, "effect");
    eff = json_is_string(e) ? json_string_value(e) : NULL;
    if (eff != NULL && strcmp(eff, "stopped") == 0)
      ph->effect = MEDSHIM_DEFER;
    else if (eff != NULL && strcmp(eff, "degraded") == 0)
      ph->effect = MEDSHIM_TRY_ONLINE;
    else {
      char where[80];
      medshim__fmt(where, sizeof where, "%s.effect", path);
      return bad(c, where, e == NULL ? "is required"
                                     : "must be \"stopped\" or \"degraded\"");
    }
  }
  /* Overlapping phases for one service that say different things are a
   * contradiction in the notice's transcription: refuse them. */
  for (size_t a = 0; a < s->nphases; a++) {
    for (size_t b = a + 1; b < s->nphases; b++) {
      const sched_phase *x = &s->phases[a], *y = &s->phases[b];
      if ((x->services & y->services) != 0 && phases_share_region(x, y) &&
          x->from < y->until &&
          y->from < x->until && x->effect != y->effect) {
        char where[64];
        medshim__fmt(where, sizeof where, "phases[%zu]", b);
        return bad(c, where, "overlaps phases[%zu] for the same service with "
                             "a different effect", a);
      }
    }
  }
  return MEDSHIM_OK;
}

static int parse_advice(ctx *c, json_t *root, sched *s) {
  static const char *const keys[] = {"kind", "services", "at", "from", "until",
                                     "text", NULL};
  json_t *arr = json_object_get(root, "advice"), *a;
  size_t i;
  int rc;
  if (arr == NULL)
    return MEDSHIM_OK;
  if (!json_is_array(arr))
    return bad(c, "advice", "must be an array");
  s->advice = calloc(json_array_size(arr) + 1, sizeof *s->advice);
  if (s->advice == NULL)
    return MEDSHIM__FAIL(MEDSHIM_ENOMEM);
  json_array_foreach(arr, i, a) {
    sched_advice *ad = &s->advice[i];
    char path[64], where[80];
    json_t *k;
    const char *kind;
    medshim__fmt(path, sizeof path, "advice[%zu]", i);
    s->nadvice = i + 1;
    if (!json_is_object(a))
      return bad(c, path, "must be an object");
    if ((rc = check_keys(c, a, path, keys)) ||
        (rc = get_services(c, a, path, &ad->services)) ||
        (rc = get_text(c, a, "text", path, 0, &ad->text)))
      return rc;
    k = json_object_get(a, "kind");
    kind = json_is_string(k) ? json_string_value(k) : "";
    medshim__fmt(where, sizeof where, "%s.kind", path);
    if (strcmp(kind, "settle_before") == 0) {
      ad->kind = MEDSHIM_ADVICE_SETTLE_BEFORE;
      if ((rc = get_time(c, a, "at", path, 1, &ad->at)) ||
          (rc = get_time(c, a, "from", path, 0, &ad->from)))
        return rc;
      if (ad->from == 0)
        ad->from = s->issued;
      /* advice shown from `from` (or issue) until `at`: never, otherwise */
      if (ad->at <= ad->from) {
        medshim__fmt(where, sizeof where, "%s.at", path);
        return bad(c, where, json_object_get(a, "from") != NULL
                                 ? "must be after from"
                                 : "must be after the schedule's issued time");
      }
    } else if (strcmp(kind, "admit_self_pay") == 0) {
      ad->kind = MEDSHIM_ADVICE_ADMIT_SELF_PAY;
      if ((rc = get_time(c, a, "from", path, 1, &ad->from)) ||
          (rc = get_time(c, a, "until", path, 1, &ad->at)))
        return rc;
      if (ad->at <= ad->from) {
        medshim__fmt(where, sizeof where, "%s.until", path);
        return bad(c, where, "must be after from");
      }
    } else {
      return bad(c, where, k == NULL ? "is required"
                                     : "must be \"settle_before\" or "
                                       "\"admit_self_pay\"");
    }
  }
  return MEDSHIM_OK;
}

static int parse_resettle(ctx *c, json_t *root, sched *s) {
  static const char *const keys[] = {"services", "route", "from", "until",
                                     "visits_from", "visits_until", "note",
                                     NULL};
  json_t *arr = json_object_get(root, "resettlement"), *r;
  size_t i;
  int rc;
  if (arr == NULL)
    return MEDSHIM_OK;
  if (!json_is_array(arr))
    return bad(c, "resettlement", "must be an array");
  s->resettle = calloc(json_array_size(arr) + 1, sizeof *s->resettle);
  if (s->resettle == NULL)
    return MEDSHIM__FAIL(MEDSHIM_ENOMEM);
  json_array_foreach(arr, i, r) {
    sched_resettle *rs = &s->resettle[i];
    char path[64], where[80];
    json_t *route;
    const char *rt;
    medshim__fmt(path, sizeof path, "resettlement[%zu]", i);
    s->nresettle = i + 1;
    if (!json_is_object(r))
      return bad(c, path, "must be an object");
    if ((rc = check_keys(c, r, path, keys)) ||
        (rc = get_services(c, r, path, &rs->services)))
      return rc;
    route = json_object_get(r, "route");
    rt = json_is_string(route) ? json_string_value(route) : "";
    if (strcmp(rt, "hospital") == 0)
      rs->route = MEDSHIM_ROUTE_HOSPITAL;
    else if (strcmp(rt, "agency") == 0)
      rs->route = MEDSHIM_ROUTE_AGENCY;
    else if (strcmp(rt, "none") == 0)
      rs->route = MEDSHIM_ROUTE_NONE; /* paid for good (Wuhan: cash) */
    else {
      medshim__fmt(where, sizeof where, "%s.route", path);
      return bad(c, where, route == NULL ? "is required"
                                         : "must be \"hospital\", \"agency\" "
                                           "or \"none\"");
    }
    /* "none" opens no window, so it has no dates of its own */
    if ((rc = get_time(c, r, "from", path, rs->route != MEDSHIM_ROUTE_NONE,
                       &rs->from)) ||
        (rc = get_time(c, r, "until", path, 0, &rs->until)) ||
        (rc = get_time(c, r, "visits_from", path, 0, &rs->visits_from)) ||
        (rc = get_time(c, r, "visits_until", path, 0, &rs->visits_until)))
      return rc;
    if (rs->until != 0 && rs->until <= rs->from) {
      medshim__fmt(where, sizeof where, "%s.until", path);
      return bad(c, where, "must be after from");
    }
    if (rs->visits_until != 0 && rs->visits_until <= rs->visits_from) {
      medshim__fmt(where, sizeof where, "%s.visits_until", path);
      return bad(c, where, "must be after visits_from");
    }
  }
  return MEDSHIM_OK;
}

/* The reason text of a phase, composed once so deciding never formats. */
static int compose_reasons(sched *s) {
  for (size_t i = 0; i < s->nphases; i++) {
    sched_phase *p = &s->phases[i];
    char from[MEDSHIM_TIME_TEXT], until[MEDSHIM_TIME_TEXT];
    size_t n = 256 + (p->note ? strlen(p->note) : 0);
    medshim__time_format(from, p->from);
    medshim__time_format(until, p->until);
    p->reason = malloc(n);
    if (p->reason == NULL)
      return MEDSHIM__FAIL(MEDSHIM_ENOMEM);
    snprintf(p->reason, n, "%s (%s v%u) %s to %s%s%s",
             p->effect == MEDSHIM_DEFER ? "settlement stopped by cutover"
                                        : "settlement degraded after cutover",
             s->id, (unsigned)s->version, from, until, p->note ? ": " : "",
             p->note ? p->note : "");
  }
  return MEDSHIM_OK;
}

int medshim__sched_parse(sched **out, const char *json, size_t len,
                         medshim_error *err) {
  static const char *const keys[] = {"schedule", "version", "issued", "source",
                                     "regions", "phases", "advice",
                                     "resettlement", "illustrative", "notes",
                                     NULL};
  ctx c;
  json_error_t jerr;
  json_t *root, *v, *regions;
  sched *s = NULL;
  size_t i;
  int rc;

  *out = NULL;
  c.err = err;
  root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL)
    return medshim__error_set(err, MEDSHIM_EPARSE, "",
                              "not valid JSON at line %d, column %d: %s",
                              jerr.line, jerr.column, jerr.text);
  if (!json_is_object(root)) {
    rc = medshim__error_set(err, MEDSHIM_EPARSE, "", "must be a JSON object");
    goto cleanup;
  }
  s = calloc(1, sizeof *s);
  if (s == NULL) {
    rc = MEDSHIM_ENOMEM;
    goto cleanup;
  }
  if ((rc = check_keys(&c, root, "", keys)) != MEDSHIM_OK)
    goto cleanup;
  v = json_object_get(root, "schedule");
  if (!json_is_string(v) || json_string_length(v) == 0 ||
      json_string_length(v) > MEDSHIM_SCHEDULE_ID_MAX) {
    rc = bad(&c, "schedule", v == NULL ? "is required (the schedule id)"
                                       : "must be a string of 1 to 64 chars");
    goto cleanup;
  }
  memcpy(s->id, json_string_value(v), json_string_length(v) + 1);
  v = json_object_get(root, "version");
  if (!json_is_integer(v) || json_integer_value(v) < 1 ||
      json_integer_value(v) > UINT32_MAX) {
    rc = bad(&c, "version", v == NULL ? "is required"
                                      : "must be a positive integer");
    goto cleanup;
  }
  s->version = (uint32_t)json_integer_value(v);
  v = json_object_get(root, "illustrative");
  if (v != NULL && !json_is_boolean(v)) {
    rc = bad(&c, "illustrative", "must be true or false");
    goto cleanup;
  }
  v = json_object_get(root, "notes");
  if (v != NULL && !json_is_string(v)) {
    rc = bad(&c, "notes", "must be a string");
    goto cleanup;
  }
  if ((rc = get_time(&c, root, "issued", "", 1, &s->issued)) ||
      (rc = get_text(&c, root, "source", "", 1, &s->source)))
    goto cleanup;
  regions = json_object_get(root, "regions");
  if (!json_is_array(regions) || json_array_size(regions) == 0) {
    rc = bad(&c, "regions", regions == NULL
                                ? "is required"
                                : "must be a non-empty array of 6-digit codes");
    goto cleanup;
  }
  s->regions = calloc(json_array_size(regions), sizeof *s->regions);
  if (s->regions == NULL) {
    rc = MEDSHIM_ENOMEM;
    goto cleanup;
  }
  json_array_foreach(regions, i, v) {
    char where[32];
    uint32_t key = json_is_string(v)
                       ? medshim__sched_region_key(json_string_value(v), 0)
                       : 0;
    medshim__fmt(where, sizeof where, "regions[%zu]", i);
    if (key == 0) {
      rc = bad(&c, where, "must be a 6-digit administrative division code "
                          "(e.g. 330100)");
      goto cleanup;
    }
    s->regions[s->nregions++] = key;
  }
  if ((rc = parse_phases(&c, root, s)) || (rc = parse_advice(&c, root, s)) ||
      (rc = parse_resettle(&c, root, s)) || (rc = compose_reasons(s)))
    goto cleanup;
  *out = s;
  s = NULL;
cleanup:
  if (rc == MEDSHIM_ENOMEM)
    medshim__error_set(err, rc, "", "out of memory");
  medshim__sched_free(s);
  json_decref(root);
  return rc;
}
