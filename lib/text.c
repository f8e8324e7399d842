/* Composing the cashier's and the patient's texts from a decision: the
 * reason's headline, where and from when the money comes back, what to
 * keep, and the advice; the wording itself is in text_table.c. */
#include <stdlib.h>
#include <string.h>

#include "errors_internal.h"
#include "medshim/claim.h"
#include "text_internal.h"

const char *medshim_lang_name(int lang) {
  switch (lang) {
  case MEDSHIM_LANG_EN:
    return "en";
  case MEDSHIM_LANG_ZH:
    return "zh";
  default:
    return NULL;
  }
}

int medshim_lang_parse(medshim_lang *out, const char *name) {
  if (out == NULL || name == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  if (strcmp(name, "en") == 0)
    *out = MEDSHIM_LANG_EN;
  else if (strcmp(name, "zh") == 0)
    *out = MEDSHIM_LANG_ZH;
  else
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  return MEDSHIM_OK;
}

const char *medshim_materials_text(int service, medshim_route route,
                                   medshim_lang lang) {
  if (service < MEDSHIM_SERVICE_OUTPATIENT || service > MEDSHIM_SERVICE_MATERNITY)
    return NULL;
  switch (route) {
  case MEDSHIM_ROUTE_NONE:
  case MEDSHIM_ROUTE_HOSPITAL:
  case MEDSHIM_ROUTE_AGENCY:
    return medshim__text_materials(route == MEDSHIM_ROUTE_AGENCY,
                                   service == MEDSHIM_SERVICE_INPATIENT,
                                   route == MEDSHIM_ROUTE_NONE, lang);
  }
  return NULL;
}

/* A growing text; `oom` once an allocation failed. */
typedef struct sbuf {
  char *p;
  size_t len, cap;
  int oom;
} sbuf;

static void put(sbuf *b, const char *s, size_t n) {
  if (b->oom)
    return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = (b->len + n + 1) * 2;
    char *p = realloc(b->p, cap);
    if (p == NULL) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

/* The blanks a template may name; NULL: not used there. */
typedef struct blanks {
  const char *from, *until, *day, *time;
} blanks;

static void expand(sbuf *b, const char *tpl, const blanks *k) {
  static const char *const names[] = {"{from}", "{until}", "{day}", "{time}"};
  while (*tpl != '\0') {
    const char *open = strchr(tpl, '{');
    int hit = -1;
    if (open == NULL) {
      put(b, tpl, strlen(tpl));
      return;
    }
    put(b, tpl, (size_t)(open - tpl));
    for (int i = 0; i < 4 && hit < 0; i++)
      if (strncmp(open, names[i], strlen(names[i])) == 0)
        hit = i;
    if (hit < 0) {
      put(b, "{", 1);
      tpl = open + 1;
      continue;
    }
    {
      const char *v = hit == 0 ? k->from : hit == 1 ? k->until
                                     : hit == 2 ? k->day : k->time;
      if (v != NULL)
        put(b, v, strlen(v));
    }
    tpl = open + strlen(names[hit]);
  }
}

/* A deadline (exclusive instant) as people read it in this language:
 * "2022-12-31 (last day)", "2021-12-22 17:00前". Sets into->oom when it
 * could not be made: a text without its deadline must not pass as whole. */
static void deadline_text(char *out, size_t size, int64_t until,
                          medshim_lang lang, sbuf *into) {
  char day[MEDSHIM_DAY_TEXT];
  sbuf b = {NULL, 0, 0, 0};
  blanks k = {NULL, NULL, day, NULL};
  out[0] = '\0';
  if (medshim_format_last_day(day, until) != MEDSHIM_OK)
    return; /* a year past 9999: no day to show */
  if (strlen(day) > 10) {
    /* "YYYY-MM-DD before HH:MM" */
    k.time = day + strlen(day) - 5;
    day[10] = '\0';
    expand(&b, medshim__text_piece(TEXT_BEFORE_TIME, lang), &k);
  } else {
    expand(&b, medshim__text_piece(TEXT_LAST_DAY, lang), &k);
  }
  if (!b.oom && b.p != NULL && b.len < size)
    memcpy(out, b.p, b.len + 1);
  else
    into->oom = 1;
  free(b.p);
}

static void sentence(sbuf *b, const char *tpl, const blanks *k,
                     medshim_lang lang) {
  if (tpl == NULL)
    return;
  if (b->len > 0)
    put(b, medshim__text_piece(TEXT_SEPARATOR, lang),
        strlen(medshim__text_piece(TEXT_SEPARATOR, lang)));
  expand(b, tpl, k);
}

/* Where and from when the money comes back (TEXT_ROUTES: the code says
 * nothing about it), whether the materials follow, and which list. */
static text_route route_of(const medshim_decision *d, medshim_text_kind kind,
                           int *materials, medshim_route *mroute) {
  *materials = 1;
  *mroute = MEDSHIM_ROUTE_HOSPITAL;
  switch (d->code) {
  case MEDSHIM_REASON_PLANNED_STOP:
  case MEDSHIM_REASON_AGENCY_ROUTE:
    if (!d->has_replay)
      break;
    if (d->replay.route == MEDSHIM_ROUTE_AGENCY) {
      *mroute = MEDSHIM_ROUTE_AGENCY;
      return d->replay.until != 0 ? TEXT_ROUTE_AGENCY_WINDOW
                                  : TEXT_ROUTE_AGENCY_FROM;
    }
    return d->replay.until != 0 ? TEXT_ROUTE_HOSPITAL_WINDOW
                                : TEXT_ROUTE_HOSPITAL_FROM;
  case MEDSHIM_REASON_NO_RESETTLEMENT:
    *mroute = MEDSHIM_ROUTE_NONE;
    return TEXT_ROUTE_NONE;
  case MEDSHIM_REASON_BREAKER_OPEN:
  case MEDSHIM_REASON_PROBE_PENDING:
    return TEXT_ROUTE_HOSPITAL_UNPLANNED;
  case MEDSHIM_REASON_DEGRADED:
  case MEDSHIM_REASON_PROBE:
    /* the cashier's headline says it all; the patient's receipt matters
     * only when the attempt failed */
    if (kind == MEDSHIM_TEXT_RECEIPT)
      return TEXT_ROUTE_HOSPITAL_IF_FAILED;
    break;
  case MEDSHIM_REASON_NONE:
  case MEDSHIM_REASON_NO_WINDOW:
  case MEDSHIM_REASON_INPATIENT_ADVICE:
  case MEDSHIM_REASON_SERVICE_SUSPENDED:
  case MEDSHIM_REASON_INVALID_INPUT:
    break;
  }
  *materials = 0;
  return TEXT_ROUTES;
}

int medshim_decision_text(char **out, const medshim_decision *d, int service,
                          medshim_text_kind kind, medshim_lang lang) {
  sbuf b = {NULL, 0, 0, 0};
  char from[MEDSHIM_DAY_TEXT], until[64], day[64];
  blanks k = {from, until, NULL, NULL};
  const char *headline;
  text_route route;
  medshim_route mroute;
  int materials;
  if (out != NULL)
    *out = NULL;
  if (out == NULL || d == NULL || d->version < 2 ||
      d->version > MEDSHIM_DECISION_VERSION ||
      medshim_sched_service_name(service) == NULL ||
      medshim_lang_name((int)lang) == NULL ||
      (headline = medshim__text_headline(d->code, kind, lang)) == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  from[0] = until[0] = '\0';
  if (service > MEDSHIM_SERVICE_MATERNITY && d->code == MEDSHIM_REASON_DEGRADED)
    headline = medshim__text_piece(TEXT_SERVICE_RESUMING, lang);
  sentence(&b, headline, &k, lang);

  route = route_of(d, kind, &materials, &mroute);
  if (service > MEDSHIM_SERVICE_MATERNITY) {
    /* an agency service (enrollment, filing...) has no money to give back */
    route = TEXT_ROUTES;
    materials = 0;
  }
  if (route == TEXT_ROUTE_HOSPITAL_WINDOW || route == TEXT_ROUTE_HOSPITAL_FROM ||
      route == TEXT_ROUTE_AGENCY_WINDOW || route == TEXT_ROUTE_AGENCY_FROM) {
    if (medshim_format_day(from, d->replay.from) != MEDSHIM_OK)
      from[0] = '\0';
    if (d->replay.until != 0)
      deadline_text(until, sizeof until, d->replay.until, lang, &b);
  }
  if (route == TEXT_ROUTE_HOSPITAL_IF_FAILED) {
    /* continues the receipt's headline, which ends with a colon */
    const char *sp = lang == MEDSHIM_LANG_EN ? " " : "";
    put(&b, sp, strlen(sp));
    expand(&b, medshim__text_route(route, lang), &k);
  } else if (route != TEXT_ROUTES) {
    sentence(&b, medshim__text_route(route, lang), &k, lang);
  } else if (d->code == MEDSHIM_REASON_SERVICE_SUSPENDED && d->until != 0 &&
             medshim_format_day(from, d->until) == MEDSHIM_OK) {
    sentence(&b, medshim__text_piece(TEXT_RESUMES, lang), &k, lang);
  }

  if (materials) {
    const char *m = medshim_materials_text(service, mroute, lang);
    text_piece keep = mroute == MEDSHIM_ROUTE_NONE ? TEXT_KEEP_PROOF
                      : kind == MEDSHIM_TEXT_CASHIER  ? TEXT_KEEP_CASHIER
                                                      : TEXT_KEEP_RECEIPT;
    sentence(&b, medshim__text_piece(keep, lang), &k, lang);
    put(&b, m, strlen(m));
    put(&b, medshim__text_piece(TEXT_END, lang),
        strlen(medshim__text_piece(TEXT_END, lang)));
  }

  for (size_t i = 0; i < d->advice_count && i < MEDSHIM_ADVICE_MAX; i++) {
    blanks a = {NULL, NULL, day, NULL};
    text_piece p = d->advice[i].kind == MEDSHIM_ADVICE_ADMIT_SELF_PAY
                       ? TEXT_ADMIT_SELF_PAY
                       : TEXT_SETTLE_BEFORE;
    /* admitting as self-pay is the admission desk's business, not the
     * patient's receipt's */
    if (p == TEXT_ADMIT_SELF_PAY && kind == MEDSHIM_TEXT_RECEIPT)
      continue;
    deadline_text(day, sizeof day, d->advice[i].at, lang, &b);
    sentence(&b, medshim__text_piece(p, lang), &a, lang);
  }

  if (b.oom || b.p == NULL) {
    free(b.p);
    return MEDSHIM__FAIL(MEDSHIM_ENOMEM);
  }
  *out = b.p;
  return MEDSHIM_OK;
}
