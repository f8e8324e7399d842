/* Reconciliation of the journal's settled claims against the platform's
 * settlement detail (reconcile.h). The platform's rows are read whole into
 * memory and sorted by setl_id; the journal is walked once. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "medshim/claim.h"
#include "medshim/money.h"
#include "medshim/reconcile.h"

#include "csv_read_internal.h"
#include "errors_internal.h"
#include "gbk_internal.h"
#include "io_internal.h"
#include "memory_internal.h"
#include "os.h"
#include "timeutil_internal.h"
#include "utf8_internal.h"
#include "versioned_internal.h"

/* Our columns, in this order everywhere. */
enum { COL_SETL_ID, COL_MDTRT_ID, COL_PSN_NO, COL_MEDFEE, COL_FUND, COL_ACCT,
       COL_CASH, COL_SETL_TIME, NCOLS };

static const char *const col_names[NCOLS] = {
    "setl_id", "mdtrt_id", "psn_no", "medfee_sumamt", "fund_pay_sumamt",
    "acct_pay", "psn_cash_pay", "setl_time"};
static const int col_required[NCOLS] = {1, 0, 0, 1, 1, 1, 1, 1};

/* A platform row; its strings are owned. */
typedef struct prow {
  char *setl_id, *mdtrt_id, *psn_no;
  int64_t fen[MEDSHIM_RECONCILE_AMOUNTS];
  int64_t setl_time;
  size_t line;
  size_t first_line; /* a duplicate: the first row's line; 0 otherwise */
  int used;          /* matched by a claim of the journal */
} prow;

/* An entry; the journal side's strings are owned, the platform's are the
 * row's. */
typedef struct ent {
  medshim_reconcile_entry e;
  char *own_setl_id, *own_mdtrt_id, *own_visit_id;
} ent;

typedef struct mlist {
  medshim_reconcile_month *m;
  size_t n, cap;
} mlist;

struct medshim_reconcile {
  prow *rows;
  size_t nrows, caprows;
  prow **sorted; /* first rows of each setl_id, by setl_id */
  size_t nsorted;
  ent *e;
  size_t n, cap;
  mlist months[2];
  int oom;
};

int medshim_reconcile_options_init(medshim_reconcile_options *opts,
                                   unsigned int version) {
  return MEDSHIM__VERSIONED_INIT(opts, version,
                                 MEDSHIM_RECONCILE_OPTIONS_VERSION);
}

const char *medshim_reconcile_kind_name(medshim_reconcile_kind kind) {
  switch (kind) {
  case MEDSHIM_RECONCILE_MATCHED: return "matched";
  case MEDSHIM_RECONCILE_DIFFERENT: return "different";
  case MEDSHIM_RECONCILE_PLATFORM_ONLY: return "platform_only";
  case MEDSHIM_RECONCILE_JOURNAL_ONLY: return "journal_only";
  case MEDSHIM_RECONCILE_DUPLICATE: return "duplicate";
  }
  return NULL;
}

const char *medshim_reconcile_amount_name(int amount) {
  return amount >= 0 && amount < MEDSHIM_RECONCILE_AMOUNTS
             ? col_names[COL_MEDFEE + amount]
             : NULL;
}

static void wipe_free(char *s) {
  if (s != NULL) {
    medshim__wipe(s, strlen(s));
    free(s);
  }
}

void medshim_reconcile_free(medshim_reconcile *r) {
  if (r == NULL)
    return;
  for (size_t i = 0; i < r->nrows; i++) {
    wipe_free(r->rows[i].setl_id);
    wipe_free(r->rows[i].mdtrt_id);
    wipe_free(r->rows[i].psn_no);
  }
  for (size_t i = 0; i < r->n; i++) {
    wipe_free(r->e[i].own_setl_id);
    wipe_free(r->e[i].own_mdtrt_id);
    wipe_free(r->e[i].own_visit_id);
  }
  free(r->rows);
  free(r->sorted);
  free(r->e);
  free(r->months[0].m);
  free(r->months[1].m);
  free(r);
}

/* ---- reading the platform's file ---- */

/* The column map: names[k] is the header name of our column k. *copy
 * holds the texts (free it). */
static int parse_map(const char *names[NCOLS], char **copy, const char *map,
                     medshim_error *err) {
  char *s, *item;
  for (int k = 0; k < NCOLS; k++)
    names[k] = col_names[k];
  *copy = NULL;
  if (map == NULL || *map == '\0')
    return MEDSHIM_OK;
  if ((s = *copy = strdup(map)) == NULL)
    return medshim__error_set(err, MEDSHIM_ENOMEM, "column_map", "out of memory");
  for (item = s; item != NULL;) {
    char *next = strchr(item, ','), *eq;
    int k;
    if (next != NULL)
      *next++ = '\0';
    eq = strchr(item, '=');
    if (eq == NULL || eq == item || eq[1] == '\0')
      return medshim__error_set(err, MEDSHIM_EINVAL, "column_map",
                                "each item must be platform_name=our_name");
    *eq = '\0';
    for (k = 0; k < NCOLS && strcmp(eq + 1, col_names[k]) != 0; k++)
      ;
    if (k == NCOLS)
      return medshim__error_set(
          err, MEDSHIM_EINVAL, "column_map",
          "'%s' is not one of setl_id, mdtrt_id, psn_no, medfee_sumamt, "
          "fund_pay_sumamt, acct_pay, psn_cash_pay, setl_time", eq + 1);
    if (names[k] != col_names[k])
      return medshim__error_set(err, MEDSHIM_EINVAL, "column_map",
                                "%s is mapped twice", col_names[k]);
    names[k] = item;
    item = next;
  }
  return MEDSHIM_OK;
}

/* The line of byte offset off in data. */
static size_t line_of(const char *data, size_t off) {
  size_t line = 1;
  for (size_t i = 0; i < off; i++)
    if (data[i] == '\n')
      line++;
  return line;
}

static int add_row(medshim_reconcile *r, prow **out) {
  if (r->nrows == r->caprows) {
    size_t cap = r->caprows ? r->caprows * 2 : 64;
    prow *n = realloc(r->rows, cap * sizeof *n);
    if (n == NULL)
      return -1;
    r->rows = n;
    r->caprows = cap;
  }
  *out = &r->rows[r->nrows++];
  memset(*out, 0, sizeof **out);
  return 0;
}

static char *dup_field(const char *s) {
  return strdup(s != NULL ? s : "");
}

/* Read the rows of utf8[0..len) into r. */
static int read_rows(medshim_reconcile *r, const char *utf8, size_t len,
                     const char *name, const char *const names[NCOLS],
                     medshim_error *err) {
  medshim__csv c;
  size_t line, column, idx[NCOLS], nheader;
  const char *why;
  int rc;
  medshim__csv_init(&c, utf8, len);
  rc = medshim__csv_next(&c, &line, &column, &why);
  if (rc == MEDSHIM__CSV_NOMEM) {
    medshim__csv_free(&c);
    return medshim__error_set(err, MEDSHIM_ENOMEM, name, "out of memory");
  }
  if (rc == MEDSHIM__CSV_END) {
    medshim__csv_free(&c);
    return medshim__error_set(err, MEDSHIM_EPARSE, name,
                              "empty: no header row");
  }
  if (rc == MEDSHIM__CSV_BAD) {
    medshim__csv_free(&c);
    return medshim__error_set(err, MEDSHIM_EPARSE, name,
                              "line %zu, column %zu: %s", line, column, why);
  }
  /* the header: where each of our columns is (its cells are not echoed:
   * a file without a header would have personal data there) */
  nheader = c.nfields;
  for (int k = 0; k < NCOLS; k++) {
    idx[k] = (size_t)-1;
    for (size_t i = 0; i < nheader; i++) {
      if (strcmp(medshim__csv_field(&c, i), names[k]) != 0)
        continue;
      if (idx[k] != (size_t)-1) {
        medshim__csv_free(&c);
        return medshim__error_set(err, MEDSHIM_EPARSE, name,
                                  "line %zu: columns %zu and %zu are both "
                                  "'%s'", line, idx[k] + 1, i + 1, names[k]);
      }
      idx[k] = i;
    }
    if (idx[k] == (size_t)-1 && col_required[k]) {
      medshim__csv_free(&c);
      if (names[k] != col_names[k])
        return medshim__error_set(err, MEDSHIM_EPARSE, name,
                                  "line %zu: the header has no column '%s' "
                                  "(mapped to %s)", line, names[k],
                                  col_names[k]);
      return medshim__error_set(err, MEDSHIM_EPARSE, name,
                                "line %zu: the header has no column '%s' "
                                "(another layout: map its name)", line,
                                names[k]);
    }
  }
  while ((rc = medshim__csv_next(&c, &line, &column, &why)) ==
         MEDSHIM__CSV_RECORD) {
    prow *p;
    const char *f[NCOLS];
    if (c.nfields != nheader) {
      medshim__csv_free(&c);
      return medshim__error_set(err, MEDSHIM_EPARSE, name,
                                "line %zu: %zu fields, the header has %zu",
                                line, c.nfields, nheader);
    }
    for (int k = 0; k < NCOLS; k++)
      f[k] = idx[k] == (size_t)-1 ? "" : medshim__csv_field(&c, idx[k]);
    if (f[COL_SETL_ID][0] == '\0') {
      medshim__csv_free(&c);
      return medshim__error_set(err, MEDSHIM_EPARSE, name,
                                "line %zu, column %zu (setl_id): empty", line,
                                idx[COL_SETL_ID] + 1);
    }
    if (add_row(r, &p) != 0) {
      medshim__csv_free(&c);
      return medshim__error_set(err, MEDSHIM_ENOMEM, name, "out of memory");
    }
    p->line = line;
    p->setl_id = dup_field(f[COL_SETL_ID]);
    p->mdtrt_id = dup_field(f[COL_MDTRT_ID]);
    p->psn_no = dup_field(f[COL_PSN_NO]);
    if (p->setl_id == NULL || p->mdtrt_id == NULL || p->psn_no == NULL) {
      medshim__csv_free(&c);
      return medshim__error_set(err, MEDSHIM_ENOMEM, name, "out of memory");
    }
    for (int a = 0; a < MEDSHIM_RECONCILE_AMOUNTS; a++) {
      medshim_error ye;
      int k = COL_MEDFEE + a, yrc;
      memset(&ye, 0, sizeof ye);
      yrc = medshim_yuan_to_fen(&p->fen[a], f[k], &ye);
      if (yrc != MEDSHIM_OK) {
        int empty = f[k][0] == '\0'; /* f points into c: read it first */
        medshim__csv_free(&c);
        return medshim__error_set(err, MEDSHIM_EPARSE, name,
                                  "line %zu, column %zu (%s): not an amount "
                                  "in yuan: %s", line, idx[k] + 1,
                                  col_names[k], empty ? "empty" : ye.text);
      }
    }
    if (medshim__time_parse(&p->setl_time, f[COL_SETL_TIME],
                            strlen(f[COL_SETL_TIME])) != 0) {
      medshim__csv_free(&c);
      return medshim__error_set(err, MEDSHIM_EPARSE, name,
                                "line %zu, column %zu (setl_time): not a time "
                                "such as 2022-03-01 10:00:00", line,
                                idx[COL_SETL_TIME] + 1);
    }
  }
  medshim__csv_free(&c);
  if (rc == MEDSHIM__CSV_NOMEM)
    return medshim__error_set(err, MEDSHIM_ENOMEM, name, "out of memory");
  if (rc == MEDSHIM__CSV_BAD)
    return medshim__error_set(err, MEDSHIM_EPARSE, name,
                              "line %zu, column %zu: %s", line, column, why);
  return MEDSHIM_OK;
}

/* ---- matching ---- */

static int cmp_rowp(const void *a, const void *b) {
  const prow *x = *(const prow *const *)a, *y = *(const prow *const *)b;
  int d = strcmp(x->setl_id, y->setl_id);
  if (d != 0)
    return d;
  return (x->line > y->line) - (x->line < y->line);
}

static int cmp_key(const void *key, const void *b) {
  return strcmp((const char *)key, (*(const prow *const *)b)->setl_id);
}

static ent *add_ent(medshim_reconcile *r, medshim_reconcile_kind kind) {
  ent *e;
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 64;
    ent *n = realloc(r->e, cap * sizeof *n);
    if (n == NULL) {
      r->oom = 1;
      return NULL;
    }
    r->e = n;
    r->cap = cap;
  }
  e = &r->e[r->n++];
  memset(e, 0, sizeof *e);
  e->e.version = MEDSHIM_RECONCILE_ENTRY_VERSION;
  e->e.kind = kind;
  e->e.setl_id = e->e.mdtrt_id = e->e.visit_id = e->e.psn_no = "";
  return e;
}

static void platform_side(ent *e, const prow *p) {
  e->e.on_platform = 1;
  e->e.setl_id = p->setl_id;
  if (p->mdtrt_id[0] != '\0')
    e->e.mdtrt_id = p->mdtrt_id;
  e->e.psn_no = p->psn_no;
  e->e.line = p->line;
  e->e.first_line = p->first_line;
  memcpy(e->e.platform_fen, p->fen, sizeof p->fen);
  e->e.platform_setl_time = p->setl_time;
}

static int journal_claim(const medshim_claim *c, const medshim_claim_status *st,
                         void *payload) {
  medshim_reconcile *r = payload;
  prow **found = NULL, *p = NULL;
  ent *e;
  medshim_reconcile_kind kind = MEDSHIM_RECONCILE_JOURNAL_ONLY;
  if (st->state != MEDSHIM_STATE_SETTLED)
    return 0;
  if (st->settlement_id[0] != '\0' && r->nsorted > 0)
    found = bsearch(st->settlement_id, r->sorted, r->nsorted, sizeof *r->sorted,
                    cmp_key);
  if (found != NULL) {
    p = *found;
    kind = p->used ? MEDSHIM_RECONCILE_DUPLICATE : MEDSHIM_RECONCILE_MATCHED;
  }
  if ((e = add_ent(r, kind)) == NULL)
    return 1;
  e->e.in_journal = 1;
  e->e.journal_fen[MEDSHIM_RECONCILE_MEDFEE] = st->total_fen;
  e->e.journal_fen[MEDSHIM_RECONCILE_FUND] = st->fund_paid_fen;
  e->e.journal_fen[MEDSHIM_RECONCILE_ACCT] = st->acct_paid_fen;
  e->e.journal_fen[MEDSHIM_RECONCILE_CASH] = st->patient_paid_fen;
  e->e.journal_setl_time = st->setl_time;
  e->e.visit_time = medshim_claim_visit_time(c);
  e->own_setl_id = strdup(st->settlement_id);
  e->own_mdtrt_id = strdup(st->mdtrt_id);
  e->own_visit_id = strdup(medshim_claim_visit_id(c));
  if (e->own_setl_id == NULL || e->own_mdtrt_id == NULL ||
      e->own_visit_id == NULL) {
    r->oom = 1;
    return 1;
  }
  e->e.setl_id = e->own_setl_id;
  e->e.mdtrt_id = e->own_mdtrt_id;
  e->e.visit_id = e->own_visit_id;
  if (kind == MEDSHIM_RECONCILE_MATCHED) {
    p->used = 1;
    platform_side(e, p);
    if (e->e.mdtrt_id[0] == '\0')
      e->e.mdtrt_id = e->own_mdtrt_id;
    for (int a = 0; a < MEDSHIM_RECONCILE_AMOUNTS; a++)
      if (e->e.journal_fen[a] != e->e.platform_fen[a])
        e->e.differs |= 1u << a;
    if (e->e.differs != 0)
      e->e.kind = MEDSHIM_RECONCILE_DIFFERENT;
  } else if (kind == MEDSHIM_RECONCILE_DUPLICATE) {
    e->e.first_line = p->line; /* a second claim of the journal: no row */
  }
  return 0;
}

static int cmp_ent(const void *a, const void *b) {
  const ent *x = a, *y = b;
  int d = strcmp(x->e.setl_id, y->e.setl_id);
  if (d != 0)
    return d;
  if (x->e.line != y->e.line)
    return (x->e.line > y->e.line) - (x->e.line < y->e.line);
  return strcmp(x->e.visit_id, y->e.visit_id);
}

/* ---- months ---- */

static medshim_reconcile_month *month_of(mlist *ms, int64_t t, int known) {
  char ym[8];
  if (known) {
    char text[MEDSHIM_TIME_TEXT];
    medshim__time_format(text, t);
    memcpy(ym, text, 7);
    ym[7] = '\0';
  } else {
    memcpy(ym, "unknown", 8);
  }
  for (size_t i = 0; i < ms->n; i++)
    if (strcmp(ms->m[i].month, ym) == 0)
      return &ms->m[i];
  if (ms->n == ms->cap) {
    size_t cap = ms->cap ? ms->cap * 2 : 16;
    medshim_reconcile_month *n = realloc(ms->m, cap * sizeof *n);
    if (n == NULL)
      return NULL;
    ms->m = n;
    ms->cap = cap;
  }
  memset(&ms->m[ms->n], 0, sizeof ms->m[ms->n]);
  ms->m[ms->n].version = MEDSHIM_RECONCILE_MONTH_VERSION;
  memcpy(ms->m[ms->n].month, ym, 8);
  return &ms->m[ms->n++];
}

static void month_add(medshim_reconcile_month *m, const medshim_reconcile_entry *e) {
  m->count[0]++;
  m->count[e->kind]++;
  for (int a = 0; a < MEDSHIM_RECONCILE_AMOUNTS; a++) {
    m->journal_fen[a] += e->journal_fen[a];
    m->platform_fen[a] += e->platform_fen[a];
  }
}

static int cmp_month(const void *a, const void *b) {
  /* "unknown" sorts after every "YYYY-MM" */
  return strcmp(((const medshim_reconcile_month *)a)->month,
                ((const medshim_reconcile_month *)b)->month);
}

static int build_months(medshim_reconcile *r) {
  for (size_t i = 0; i < r->n; i++) {
    const medshim_reconcile_entry *e = &r->e[i].e;
    medshim_reconcile_month *m;
    int64_t t = e->on_platform ? e->platform_setl_time : e->journal_setl_time;
    m = month_of(&r->months[MEDSHIM_RECONCILE_BY_CLEARING], t,
                 e->on_platform || e->journal_setl_time != 0);
    if (m == NULL)
      return -1;
    month_add(m, e);
    m = month_of(&r->months[MEDSHIM_RECONCILE_BY_VISIT], e->visit_time,
                 e->in_journal);
    if (m == NULL)
      return -1;
    month_add(m, e);
  }
  for (int by = 0; by < 2; by++)
    if (r->months[by].n > 0)
      qsort(r->months[by].m, r->months[by].n, sizeof *r->months[by].m,
            cmp_month);
  return 0;
}

/* ---- the whole ---- */

static int reconcile(medshim_reconcile *r, medshim_journal *journal,
                     const char *data, size_t len, const char *name,
                     const medshim_reconcile_options *opts,
                     medshim_error *err) {
  const char *names[NCOLS];
  char *map = NULL, *converted = NULL;
  const char *utf8 = data;
  size_t ulen = len, valid;
  int rc;
  if ((rc = parse_map(names, &map, opts->column_map, err)) != MEDSHIM_OK) {
    free(map);
    return rc;
  }
  if (opts->flags & MEDSHIM_RECONCILE_GBK) {
    size_t bad = 0;
    const char *nul = memchr(data, '\0', len);
    if (nul != NULL) { /* the converted text is NUL-terminated */
      free(map);
      return medshim__error_set(err, MEDSHIM_EPARSE, name,
                                "line %zu: a NUL byte (byte %zu of the file)",
                                line_of(data, (size_t)(nul - data)),
                                (size_t)(nul - data) + 1);
    }
    rc = medshim__gbk_to_utf8(&converted, data, len, &bad);
    if (rc == MEDSHIM_EPARSE) {
      free(map);
      return medshim__error_set(err, MEDSHIM_EPARSE, name,
                                "line %zu: not GBK (byte %zu of the file)",
                                line_of(data, bad), bad + 1);
    }
    if (rc != MEDSHIM_OK) {
      free(map);
      return medshim__error_set(err, rc, name, "cannot convert from GBK");
    }
    utf8 = converted;
    ulen = strlen(converted);
  } else {
    if (ulen >= 3 && memcmp(utf8, "\xef\xbb\xbf", 3) == 0) {
      utf8 += 3;
      ulen -= 3;
    }
    valid = medshim__utf8_valid_prefix(utf8, ulen);
    if (valid != ulen) {
      free(map);
      return medshim__error_set(err, MEDSHIM_EPARSE, name,
                                "line %zu: not UTF-8 (byte %zu of the file; "
                                "a GBK file needs the GBK option)",
                                line_of(utf8, valid),
                                valid + 1 + (size_t)(utf8 - data));
    }
  }
  rc = read_rows(r, utf8, ulen, name, names, err);
  if (converted != NULL) {
    medshim__wipe(converted, strlen(converted));
    free(converted);
  }
  free(map);
  if (rc != MEDSHIM_OK)
    return rc;
  /* first rows by setl_id; the further ones are duplicates */
  if (r->nrows > 0) {
    size_t k = 0;
    r->sorted = malloc(r->nrows * sizeof *r->sorted);
    if (r->sorted == NULL)
      return medshim__error_set(err, MEDSHIM_ENOMEM, name, "out of memory");
    for (size_t i = 0; i < r->nrows; i++)
      r->sorted[i] = &r->rows[i];
    qsort(r->sorted, r->nrows, sizeof *r->sorted, cmp_rowp);
    for (size_t i = 0; i < r->nrows; i++) {
      if (k > 0 && strcmp(r->sorted[k - 1]->setl_id, r->sorted[i]->setl_id) == 0)
        r->sorted[i]->first_line = r->sorted[k - 1]->line;
      else
        r->sorted[k++] = r->sorted[i];
    }
    r->nsorted = k;
  }
  rc = medshim_journal_foreach(journal, journal_claim, r);
  if (r->oom)
    return medshim__error_set(err, MEDSHIM_ENOMEM, "journal", "out of memory");
  if (rc != MEDSHIM_OK)
    return medshim__error_set(err, rc, "journal", "%s",
                              medshim_journal_errmsg(journal));
  for (size_t i = 0; i < r->nrows; i++) {
    prow *p = &r->rows[i];
    ent *e;
    if (p->used)
      continue;
    e = add_ent(r, p->first_line != 0 ? MEDSHIM_RECONCILE_DUPLICATE
                                      : MEDSHIM_RECONCILE_PLATFORM_ONLY);
    if (e == NULL)
      return medshim__error_set(err, MEDSHIM_ENOMEM, name, "out of memory");
    platform_side(e, p);
  }
  if (r->n > 0)
    qsort(r->e, r->n, sizeof *r->e, cmp_ent);
  if (build_months(r) != 0)
    return medshim__error_set(err, MEDSHIM_ENOMEM, name, "out of memory");
  return MEDSHIM_OK;
}

int medshim_reconcile_buffer(medshim_reconcile **out, medshim_journal *journal,
                             const char *data, size_t len, const char *name,
                             const medshim_reconcile_options *opts,
                             medshim_error *err) {
  static const medshim_reconcile_options defaults =
      MEDSHIM_RECONCILE_OPTIONS_INIT;
  medshim_reconcile *r;
  int rc;
  if (out != NULL)
    *out = NULL;
  if (name == NULL)
    name = "platform";
  if (out == NULL || journal == NULL || (data == NULL && len > 0))
    return medshim__error_set(err, MEDSHIM_EINVAL, name, "NULL argument");
  if (opts == NULL)
    opts = &defaults;
  if (opts->version != MEDSHIM_RECONCILE_OPTIONS_VERSION ||
      (opts->flags & ~MEDSHIM_RECONCILE_GBK) != 0)
    return medshim__error_set(err, MEDSHIM_EINVAL, "options",
                              "unknown version or flags");
  if ((r = calloc(1, sizeof *r)) == NULL)
    return medshim__error_set(err, MEDSHIM_ENOMEM, name, "out of memory");
  rc = reconcile(r, journal, data != NULL ? data : "", len, name, opts, err);
  if (rc != MEDSHIM_OK) {
    medshim_reconcile_free(r);
    return rc;
  }
  *out = r;
  return MEDSHIM_OK;
}

int medshim_reconcile_file(medshim_reconcile **out, medshim_journal *journal,
                           const char *path,
                           const medshim_reconcile_options *opts,
                           medshim_error *err) {
  char *buf = NULL;
  size_t len = 0, cap = 0;
  int fd, rc;
  if (out != NULL)
    *out = NULL;
  if (path == NULL)
    return medshim__error_set(err, MEDSHIM_EINVAL, "path", "NULL");
  if ((fd = medshim__os_open(path, MEDSHIM__OS_READ | MEDSHIM__OS_FOLLOW)) < 0)
    return medshim__error_set(err, MEDSHIM_EIO, path, "cannot open: %s",
                              medshim__io_strerror(errno));
  for (;;) {
    long long got;
    if (len == cap) {
      size_t ncap = cap ? cap * 2 : 65536;
      char *n = ncap > cap ? malloc(ncap) : NULL;
      if (n == NULL) {
        medshim__os_close(fd);
        if (buf != NULL)
          medshim__wipe(buf, len);
        free(buf);
        return medshim__error_set(err, MEDSHIM_ENOMEM, path, "out of memory");
      }
      if (buf != NULL) {
        memcpy(n, buf, len);
        medshim__wipe(buf, len);
        free(buf);
      }
      buf = n;
      cap = ncap;
    }
    got = medshim__os_pread(fd, buf + len, cap - len, (int64_t)len);
    if (got < 0) {
      int e = errno;
      if (e == EINTR)
        continue;
      medshim__os_close(fd);
      medshim__wipe(buf, len);
      free(buf);
      return medshim__error_set(err, MEDSHIM_EIO, path, "cannot read: %s",
                                medshim__io_strerror(e));
    }
    if (got == 0)
      break;
    len += (size_t)got;
  }
  medshim__os_close(fd);
  rc = medshim_reconcile_buffer(out, journal, buf, len, path, opts, err);
  medshim__wipe(buf, len);
  free(buf);
  return rc;
}

size_t medshim_reconcile_count(const medshim_reconcile *r) {
  return r != NULL ? r->n : 0;
}

size_t medshim_reconcile_count_kind(const medshim_reconcile *r, int kind) {
  size_t n = 0;
  for (size_t i = 0; r != NULL && i < r->n; i++)
    if (kind == 0 ? r->e[i].e.kind != MEDSHIM_RECONCILE_MATCHED
                  : (int)r->e[i].e.kind == kind)
      n++;
  return n;
}

int medshim_reconcile_entry_get(medshim_reconcile_entry *out,
                                const medshim_reconcile *r, size_t i) {
  if (out == NULL || r == NULL ||
      out->version != MEDSHIM_RECONCILE_ENTRY_VERSION)
    return MEDSHIM_EINVAL;
  if (i >= r->n)
    return MEDSHIM_ERANGE;
  *out = r->e[i].e;
  return MEDSHIM_OK;
}

size_t medshim_reconcile_month_count(const medshim_reconcile *r, int by) {
  return r != NULL && (by == 0 || by == 1) ? r->months[by].n : 0;
}

int medshim_reconcile_month_get(medshim_reconcile_month *out,
                                const medshim_reconcile *r, int by, size_t i) {
  if (out == NULL || r == NULL || (by != 0 && by != 1) ||
      out->version != MEDSHIM_RECONCILE_MONTH_VERSION)
    return MEDSHIM_EINVAL;
  if (i >= r->months[by].n)
    return MEDSHIM_ERANGE;
  *out = r->months[by].m[i];
  return MEDSHIM_OK;
}
