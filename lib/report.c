/* The journal's report (report.h): one walk over the claims. */
#include <stdlib.h>
#include <string.h>

#include "medshim/report.h"

#include "mask_internal.h"
#include "memory_internal.h"
#include "timeutil_internal.h"
#include "versioned_internal.h"

typedef struct mlist {
  medshim_report_month *m;
  size_t n, cap;
} mlist;

struct medshim_report {
  medshim_report_row *rows;
  size_t n, cap;
  medshim_report_totals totals;
  mlist months[2];
  /* patients with an unfinished (in_doubt, retry_wait) claim so far:
   * personal keys, in memory only during the walk, wiped after it */
  char **held;
  size_t nheld, capheld;
  int oom;
};

const char *medshim_report_state_name(int state) {
  return state == MEDSHIM_REPORT_BLOCKED
             ? "blocked"
             : medshim_state_name((medshim_claim_state)state);
}

static medshim_report_month *month_of(mlist *ms, const char *ym) {
  for (size_t i = 0; i < ms->n; i++)
    if (strcmp(ms->m[i].month, ym) == 0)
      return &ms->m[i];
  if (ms->n == ms->cap) {
    size_t cap = ms->cap ? ms->cap * 2 : 16;
    medshim_report_month *n = realloc(ms->m, cap * sizeof *n);
    if (n == NULL)
      return NULL;
    ms->m = n;
    ms->cap = cap;
  }
  memset(&ms->m[ms->n], 0, sizeof ms->m[ms->n]);
  ms->m[ms->n].version = MEDSHIM_REPORT_MONTH_VERSION;
  memcpy(ms->m[ms->n].month, ym, strlen(ym) + 1);
  return &ms->m[ms->n++];
}

static const char *patient_key(const medshim_claim *c) {
  const char *k = medshim_claim_patient_psn_no(c);
  if (k == NULL || *k == '\0')
    k = medshim_claim_patient_id_no(c);
  return k != NULL && *k != '\0' ? k : NULL;
}

static int is_held(const medshim_report *r, const char *k) {
  for (size_t i = 0; k != NULL && i < r->nheld; i++)
    if (strcmp(r->held[i], k) == 0)
      return 1;
  return 0;
}

static void hold(medshim_report *r, const char *k) {
  char *d;
  if (k == NULL || is_held(r, k))
    return;
  if (r->nheld == r->capheld) {
    size_t cap = r->capheld ? r->capheld * 2 : 64;
    char **n = realloc(r->held, cap * sizeof *n);
    if (n == NULL) {
      r->oom = 1;
      return;
    }
    r->held = n;
    r->capheld = cap;
  }
  d = strdup(k);
  if (d == NULL) {
    r->oom = 1;
    return;
  }
  r->held[r->nheld++] = d;
}

static void unhold(medshim_report *r) {
  for (size_t i = 0; i < r->nheld; i++) {
    medshim__wipe(r->held[i], strlen(r->held[i]));
    free(r->held[i]);
  }
  free(r->held);
  r->held = NULL;
  r->nheld = r->capheld = 0;
}

/* The deadline replay uses for a claim: a window assigned after defer
 * replaces the journaled one. Exclusive; 0 when none or open-ended. */
static int64_t deadline_of(const medshim_claim *c,
                           const medshim_claim_status *st) {
  medshim_claim_window w;
  if (st->window_assigned)
    return st->window.until;
  if (medshim_claim_window_get(&w, c) == MEDSHIM_OK)
    return w.until;
  return 0;
}

static int add_claim(const medshim_claim *c, const medshim_claim_status *st,
                     void *payload) {
  medshim_report *r = payload;
  char t[MEDSHIM_TIME_TEXT], ym[8];
  const char *pk = patient_key(c);
  medshim_report_row *w = NULL;
  medshim_report_month *m;
  int state = (int)st->state;
  int64_t until = deadline_of(c, st);
  if ((st->state == MEDSHIM_STATE_PENDING ||
       st->state == MEDSHIM_STATE_RETRY_WAIT) && is_held(r, pk))
    state = MEDSHIM_REPORT_BLOCKED;
  if (st->state == MEDSHIM_STATE_IN_DOUBT ||
      st->state == MEDSHIM_STATE_RETRY_WAIT)
    hold(r, pk);
  if (r->oom)
    return 1;
  medshim__time_format(t, medshim_claim_visit_time(c));
  memcpy(ym, t, 7);
  ym[7] = '\0';
  if ((m = month_of(&r->months[MEDSHIM_REPORT_BY_VISIT], ym)) == NULL)
    goto oom;
  m->count++;
  m->total_fen += medshim_claim_total_fen(c);
  m->self_paid_fen += medshim_claim_self_paid_fen(c);
  if (st->state == MEDSHIM_STATE_SETTLED) {
    medshim_report_month *sm;
    m->settled++;
    m->refund_fen += st->refund_fen;
    if (st->setl_time != 0) {
      char st_t[MEDSHIM_TIME_TEXT];
      medshim__time_format(st_t, st->setl_time);
      memcpy(ym, st_t, 7);
      ym[7] = '\0';
    } else {
      memcpy(ym, "unknown", 8);
    }
    if ((sm = month_of(&r->months[MEDSHIM_REPORT_BY_SETTLEMENT], ym)) == NULL)
      goto oom;
    sm->count++;
    sm->settled++;
    sm->total_fen += medshim_claim_total_fen(c);
    sm->self_paid_fen += medshim_claim_self_paid_fen(c);
    sm->settled_total_fen += st->total_fen;
    sm->fund_paid_fen += st->fund_paid_fen;
    sm->acct_paid_fen += st->acct_paid_fen;
    sm->patient_paid_fen += st->patient_paid_fen;
    sm->refund_fen += st->refund_fen;
  }
  t[10] = '\0'; /* the visit's day in China Standard Time */
  for (size_t i = 0; i < r->n; i++)
    if (strcmp(r->rows[i].day, t) == 0 &&
        r->rows[i].service == medshim_claim_service(c) &&
        r->rows[i].state == state && r->rows[i].until == until)
      w = &r->rows[i];
  if (w == NULL) {
    if (r->n == r->cap) {
      size_t cap = r->cap ? r->cap * 2 : 64;
      medshim_report_row *n = realloc(r->rows, cap * sizeof *n);
      if (n == NULL)
        goto oom;
      r->rows = n;
      r->cap = cap;
    }
    w = &r->rows[r->n++];
    memset(w, 0, sizeof *w);
    w->version = MEDSHIM_REPORT_ROW_VERSION;
    memcpy(w->day, t, 11);
    w->service = medshim_claim_service(c);
    w->state = state;
    w->until = until;
  }
  w->count++;
  w->total_fen += medshim_claim_total_fen(c);
  w->self_paid_fen += medshim_claim_self_paid_fen(c);
  r->totals.claims++;
  if (st->state == MEDSHIM_STATE_SETTLED) {
    w->refund_fen += st->refund_fen;
    if (st->refund_fen > 0) {
      r->totals.refunds_due_fen += st->refund_fen;
      r->totals.refunds_due_count++;
    } else if (st->refund_fen < 0) {
      r->totals.negative_refunds++;
    }
  }
  return 0;
oom:
  r->oom = 1;
  return 1;
}

static int cmp_rows(const void *a, const void *b) {
  const medshim_report_row *x = a, *y = b;
  int d = strcmp(x->day, y->day);
  if (d != 0)
    return d;
  if (x->service != y->service)
    return (int)x->service - (int)y->service;
  if (x->state != y->state)
    return x->state - y->state;
  return (x->until > y->until) - (x->until < y->until);
}

static int cmp_months(const void *a, const void *b) {
  return strcmp(((const medshim_report_month *)a)->month,
                ((const medshim_report_month *)b)->month);
}

void medshim_report_free(medshim_report *r) {
  if (r == NULL)
    return;
  unhold(r);
  free(r->rows);
  free(r->months[0].m);
  free(r->months[1].m);
  free(r);
}

int medshim_report_run(medshim_report **out, medshim_journal *journal) {
  medshim_report *r;
  int rc;
  if (out == NULL)
    return MEDSHIM_EINVAL;
  *out = NULL;
  if (journal == NULL)
    return MEDSHIM_EINVAL;
  if ((r = calloc(1, sizeof *r)) == NULL)
    return MEDSHIM_ENOMEM;
  r->totals.version = MEDSHIM_REPORT_TOTALS_VERSION;
  rc = medshim_journal_foreach(journal, add_claim, r);
  unhold(r);
  if (r->oom)
    rc = MEDSHIM_ENOMEM;
  if (rc != MEDSHIM_OK) {
    medshim_report_free(r);
    return rc;
  }
  if (r->n > 0)
    qsort(r->rows, r->n, sizeof *r->rows, cmp_rows);
  for (int by = 0; by < 2; by++)
    if (r->months[by].n > 0)
      qsort(r->months[by].m, r->months[by].n, sizeof *r->months[by].m,
            cmp_months);
  *out = r;
  return MEDSHIM_OK;
}

int medshim_report_totals_get(medshim_report_totals *out,
                              const medshim_report *r) {
  if (out == NULL || r == NULL || out->version != MEDSHIM_REPORT_TOTALS_VERSION)
    return MEDSHIM_EINVAL;
  *out = r->totals;
  return MEDSHIM_OK;
}

size_t medshim_report_row_count(const medshim_report *r) {
  return r != NULL ? r->n : 0;
}

int medshim_report_row_get(medshim_report_row *out, const medshim_report *r,
                           size_t i) {
  if (out == NULL || r == NULL || out->version != MEDSHIM_REPORT_ROW_VERSION)
    return MEDSHIM_EINVAL;
  if (i >= r->n)
    return MEDSHIM_ERANGE;
  *out = r->rows[i];
  return MEDSHIM_OK;
}

size_t medshim_report_month_count(const medshim_report *r, int by) {
  return r != NULL && (by == 0 || by == 1) ? r->months[by].n : 0;
}

int medshim_report_month_get(medshim_report_month *out, const medshim_report *r,
                             int by, size_t i) {
  if (out == NULL || r == NULL || (by != 0 && by != 1) ||
      out->version != MEDSHIM_REPORT_MONTH_VERSION)
    return MEDSHIM_EINVAL;
  if (i >= r->months[by].n)
    return MEDSHIM_ERANGE;
  *out = r->months[by].m[i];
  return MEDSHIM_OK;
}

/* ---- the manual-reimbursement export ---- */

int medshim_manual_options_init(medshim_manual_options *opts,
                                unsigned int version) {
  return MEDSHIM__VERSIONED_INIT(opts, version, MEDSHIM_MANUAL_OPTIONS_VERSION);
}

typedef struct manual_ctx {
  const medshim_manual_options *opts;
  medshim_manual_fn fn;
  void *payload;
  int oom, stopped;
} manual_ctx;

/* s masked by the rule of mask.h (malloc'ed; all '*' when it is not
 * UTF-8), or a copy when revealed; "" for NULL. */
static char *personal(const char *s, size_t head, size_t tail, int reveal) {
  size_t n;
  char *out;
  if (s == NULL)
    s = "";
  n = strlen(s) + 1;
  if ((out = malloc(n)) == NULL)
    return NULL;
  if (reveal) {
    memcpy(out, s, n);
  } else if (medshim__mask_keep(out, n, s, head, tail) != MEDSHIM_OK) {
    memset(out, '*', n - 1);
    out[n - 1] = '\0';
  }
  return out;
}

static void personal_free(char *s) {
  if (s != NULL) {
    medshim__wipe(s, strlen(s));
    free(s);
  }
}

static int manual_claim(const medshim_claim *c, const medshim_claim_status *st,
                        void *payload) {
  manual_ctx *x = payload;
  medshim_manual_row row;
  char *name, *id_no;
  const char *m;
  int reveal = (x->opts->flags & MEDSHIM_MANUAL_REVEAL) != 0, rc;
  if (st->state != MEDSHIM_STATE_MANUAL && st->state != MEDSHIM_STATE_EXPIRED)
    return 0;
  name = personal(medshim_claim_patient_name(c), 1, 0, reveal);
  id_no = personal(medshim_claim_patient_id_no(c), 3, 2, reveal);
  if (name == NULL || id_no == NULL) {
    personal_free(name);
    personal_free(id_no);
    x->oom = 1;
    return 1;
  }
  m = medshim_materials_text((int)medshim_claim_service(c), MEDSHIM_ROUTE_AGENCY,
                             x->opts->lang);
  memset(&row, 0, sizeof row);
  row.version = MEDSHIM_MANUAL_ROW_VERSION;
  row.claim = c;
  row.status = st;
  row.patient_name = name;
  row.patient_id_no = id_no;
  row.materials = m != NULL ? m : "";
  row.until = deadline_of(c, st);
  rc = x->fn(&row, x->payload);
  personal_free(name);
  personal_free(id_no);
  if (rc != 0)
    x->stopped = 1;
  return rc;
}

int medshim_manual_export(medshim_journal *journal,
                          const medshim_manual_options *opts,
                          medshim_manual_fn fn, void *payload) {
  static const medshim_manual_options defaults = MEDSHIM_MANUAL_OPTIONS_INIT;
  manual_ctx x;
  int rc;
  if (journal == NULL || fn == NULL)
    return MEDSHIM_EINVAL;
  if (opts == NULL)
    opts = &defaults;
  if (opts->version != MEDSHIM_MANUAL_OPTIONS_VERSION ||
      (opts->flags & ~MEDSHIM_MANUAL_REVEAL) != 0 ||
      (opts->lang != MEDSHIM_LANG_EN && opts->lang != MEDSHIM_LANG_ZH))
    return MEDSHIM_EINVAL;
  memset(&x, 0, sizeof x);
  x.opts = opts;
  x.fn = fn;
  x.payload = payload;
  rc = medshim_journal_foreach(journal, manual_claim, &x);
  if (x.oom)
    return MEDSHIM_ENOMEM;
  return rc;
}
