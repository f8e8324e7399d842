/* medshim report: counts and amounts by day, service and state, refunds
 * due; medshim export --manual: the claims for manual reimbursement. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cli_opt.h"
#include "cli_util.h"
#include "csv_out.h"
#include "timeutil_internal.h"

/* A state of its own in the report: pending or retry_wait claims held
 * behind the same patient's earlier claim that is in doubt or waiting
 * (replay handles a patient's claims in journal order and stops at such a
 * claim), apart from the pending ones that only wait for their window. */
#define STATE_BLOCKED 100

typedef struct row {
  char day[11];
  int service;
  int state;
  int64_t until; /* the claims' deadline (exclusive instant); 0: none */
  size_t count;
  int64_t total_fen, self_paid_fen, refund_fen;
} row;

/* Totals of a month: by visit (all claims) or by the platform's settlement
 * time (settled claims: reconciliation 3201/3202 and clearing 3203 count a
 * replay in the month it was settled, not the visit's). */
typedef struct month {
  char ym[8]; /* "2022-03"; "unknown" for a settlement without setl_time */
  size_t count, settled;
  int64_t total_fen, self_paid_fen, settled_total_fen, fund_paid_fen,
      acct_paid_fen, patient_paid_fen, refund_fen;
} month;

typedef struct months {
  month *m;
  size_t n, cap;
} months;

typedef struct report {
  row *rows;
  size_t n, cap;
  size_t claims;
  int64_t refunds_due_fen;
  size_t refunds_due_count, negative_refunds;
  months by_visit, by_setl;
  /* patients with an unfinished (in_doubt, retry_wait) claim so far:
   * personal keys, in memory only, wiped at the end */
  char **held;
  size_t nheld, capheld;
  int oom;
} report;

static month *month_of(months *ms, const char *ym) {
  for (size_t i = 0; i < ms->n; i++)
    if (strcmp(ms->m[i].ym, ym) == 0)
      return &ms->m[i];
  if (ms->n == ms->cap) {
    size_t cap = ms->cap ? ms->cap * 2 : 16;
    month *n = realloc(ms->m, cap * sizeof *n);
    if (n == NULL)
      return NULL;
    ms->m = n;
    ms->cap = cap;
  }
  memset(&ms->m[ms->n], 0, sizeof ms->m[ms->n]);
  snprintf(ms->m[ms->n].ym, sizeof ms->m[ms->n].ym, "%s", ym);
  return &ms->m[ms->n++];
}

static const char *patient_key(const medshim_claim *c) {
  const char *k = medshim_claim_patient_psn_no(c);
  if (k == NULL || *k == '\0')
    k = medshim_claim_patient_id_no(c);
  return k != NULL && *k != '\0' ? k : NULL;
}

static int is_held(const report *r, const char *k) {
  for (size_t i = 0; k != NULL && i < r->nheld; i++)
    if (strcmp(r->held[i], k) == 0)
      return 1;
  return 0;
}

static void hold(report *r, const char *k) {
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

/* For people (CSV): the last day, inclusive, +08:00; "" when none. */
static void last_day(char out[MEDSHIM_DAY_TEXT], int64_t until) {
  if (until == 0 || medshim_format_last_day(out, until) != MEDSHIM_OK)
    out[0] = '\0';
}

/* For machines (JSON): the exact exclusive instant, or null. */
static json_t *until_json(int64_t until) {
  char t[MEDSHIM_TIME_TEXT];
  if (until == 0)
    return json_null();
  medshim__time_format(t, until);
  return json_string(t);
}

static const char *state_label(int state) {
  return state == STATE_BLOCKED ? "blocked"
                                : medshim_state_name((medshim_claim_state)state);
}

static int add_claim(const medshim_claim *c, const medshim_claim_status *st,
                     void *payload) {
  report *r = payload;
  char t[MEDSHIM_TIME_TEXT], ym[8];
  const char *pk = patient_key(c);
  row *w = NULL;
  month *m;
  int state = (int)st->state;
  int64_t until = deadline_of(c, st);
  if ((st->state == MEDSHIM_STATE_PENDING ||
       st->state == MEDSHIM_STATE_RETRY_WAIT) && is_held(r, pk))
    state = STATE_BLOCKED;
  if (st->state == MEDSHIM_STATE_IN_DOUBT ||
      st->state == MEDSHIM_STATE_RETRY_WAIT)
    hold(r, pk);
  if (r->oom)
    return 1;
  medshim__time_format(t, medshim_claim_visit_time(c));
  memcpy(ym, t, 7);
  ym[7] = '\0';
  m = month_of(&r->by_visit, ym);
  if (m == NULL)
    return 1;
  m->count++;
  m->total_fen += medshim_claim_total_fen(c);
  m->self_paid_fen += medshim_claim_self_paid_fen(c);
  if (st->state == MEDSHIM_STATE_SETTLED) {
    month *sm;
    m->settled++;
    m->refund_fen += st->refund_fen;
    if (st->setl_time != 0) {
      char st_t[MEDSHIM_TIME_TEXT];
      medshim__time_format(st_t, st->setl_time);
      memcpy(ym, st_t, 7);
      ym[7] = '\0';
    } else {
      snprintf(ym, sizeof ym, "unknown");
    }
    sm = month_of(&r->by_setl, ym);
    if (sm == NULL)
      return 1;
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
        r->rows[i].service == (int)medshim_claim_service(c) &&
        r->rows[i].state == state && r->rows[i].until == until)
      w = &r->rows[i];
  if (w == NULL) {
    if (r->n == r->cap) {
      size_t cap = r->cap ? r->cap * 2 : 64;
      row *n = realloc(r->rows, cap * sizeof *n);
      if (n == NULL)
        return 1;
      r->rows = n;
      r->cap = cap;
    }
    w = &r->rows[r->n++];
    memset(w, 0, sizeof *w);
    memcpy(w->day, t, 11);
    w->service = (int)medshim_claim_service(c);
    w->state = state;
    w->until = until;
  }
  w->count++;
  w->total_fen += medshim_claim_total_fen(c);
  w->self_paid_fen += medshim_claim_self_paid_fen(c);
  r->claims++;
  if (st->state == MEDSHIM_STATE_SETTLED) {
    w->refund_fen += st->refund_fen;
    if (st->refund_fen > 0) {
      r->refunds_due_fen += st->refund_fen;
      r->refunds_due_count++;
    } else if (st->refund_fen < 0) {
      r->negative_refunds++;
    }
  }
  return 0;
}

static int cmp_rows(const void *a, const void *b) {
  const row *x = a, *y = b;
  int d = strcmp(x->day, y->day);
  if (d != 0)
    return d;
  if (x->service != y->service)
    return x->service - y->service;
  if (x->state != y->state)
    return x->state - y->state;
  return (x->until > y->until) - (x->until < y->until);
}

static int cmp_months(const void *a, const void *b) {
  return strcmp(((const month *)a)->ym, ((const month *)b)->ym);
}

static json_t *months_json(months *ms, int settlement) {
  json_t *a = json_array();
  if (ms->n > 0)
    qsort(ms->m, ms->n, sizeof *ms->m, cmp_months);
  for (size_t i = 0; a != NULL && i < ms->n; i++) {
    const month *m = &ms->m[i];
    json_t *o = settlement
        ? json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "month", m->ym,
                    "settled", (json_int_t)m->settled, "self_paid_fen",
                    (json_int_t)m->self_paid_fen, "settled_total_fen",
                    (json_int_t)m->settled_total_fen, "fund_paid_fen",
                    (json_int_t)m->fund_paid_fen, "acct_paid_fen",
                    (json_int_t)m->acct_paid_fen, "patient_paid_fen",
                    (json_int_t)m->patient_paid_fen, "refund_fen",
                    (json_int_t)m->refund_fen)
        : json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "month", m->ym, "count",
                    (json_int_t)m->count, "total_fen", (json_int_t)m->total_fen,
                    "self_paid_fen", (json_int_t)m->self_paid_fen, "settled",
                    (json_int_t)m->settled, "refund_fen",
                    (json_int_t)m->refund_fen);
    json_array_append_new(a, o);
  }
  return a;
}

static void report_free(report *r) {
  free(r->rows);
  free(r->by_visit.m);
  free(r->by_setl.m);
  for (size_t i = 0; i < r->nheld; i++) {
    memset(r->held[i], 0, strlen(r->held[i]));
    free(r->held[i]);
  }
  free(r->held);
}

static void money(char *out, size_t size, int64_t fen) {
  if (medshim_fen_to_yuan(out, size, fen) != MEDSHIM_OK && size > 0)
    out[0] = '\0';
}

/* The CSV options of report and export: --bom, --lang, --encoding. */
typedef struct csv_opts {
  int csv, bom, encoding;
  medshim_lang lang;
  int lang_set, encoding_set;
} csv_opts;

#define CSV_OPTIONS                                                            \
  {"bom", no_argument, 0, 'B'}, {"lang", required_argument, 0, 'L'},           \
      {"encoding", required_argument, 0, 'E'}

/* 1 when c was one of them, 0 when not, -1 on a bad value (printed). */
static int csv_option(const char *cmd, int c, csv_opts *o) {
  static const char *const langs[] = {"en", "zh"};
  static const char *const encodings[] = {"utf-8", "gbk"};
  int i;
  switch (c) {
  case 'B':
    o->bom = 1;
    return 1;
  case 'L':
    if ((i = cli_choice(cmd, "lang", "language", optarg, langs, 2)) < 0)
      return -1;
    o->lang = i == 1 ? MEDSHIM_LANG_ZH : MEDSHIM_LANG_EN;
    o->lang_set = 1;
    return 1;
  case 'E':
    if ((i = cli_choice(cmd, "encoding", "encoding", optarg, encodings, 2)) < 0)
      return -1;
    o->encoding = i == 1 ? CSV_GBK : CSV_UTF8;
    o->encoding_set = 1;
    return 1;
  default:
    return 0;
  }
}

/* The combinations that make no sense: 0 or CLI_EXIT_USAGE (printed). */
static int csv_options_check(const char *cmd, const csv_opts *o) {
  if ((o->bom || o->encoding_set) && !o->csv) {
    fprintf(stderr, "medshim %s: --%s needs --csv (JSON is always UTF-8)\n",
            cmd, o->bom ? "bom" : "encoding");
    return CLI_EXIT_USAGE;
  }
  if (o->bom && o->encoding == CSV_GBK) {
    fprintf(stderr, "medshim %s: --bom marks UTF-8; GBK output has none\n", cmd);
    return CLI_EXIT_USAGE;
  }
  return 0;
}

#define CSV_HELP                                                               \
  "--bom starts the CSV with a UTF-8 byte order mark (Excel on Chinese\n"     \
  "Windows then reads it as UTF-8); --encoding gbk writes it in GBK for\n"    \
  "ANSI hosts (a row with a character GBK lacks is not written, its row\n"    \
  "and column are named, exit 1); --lang zh gives Chinese column names\n"     \
  "(and Chinese materials in export).\n"

static const char *const report_columns[2][8] = {
    {"day", "service", "state", "count", "total_fen", "self_paid_fen",
     "refund_fen", "deadline_last_day"},
    {"就诊日期", "医疗类别", "状态", "笔数", "医疗费总额(分)", "个人已付(分)",
     "应退金额(分)", "截止日期(含当日)"}};

int cli_cmd_report(int argc, char **argv) {
  static const struct option opts[] = {{"journal", required_argument, 0, 'j'},
                                       {"key", required_argument, 0, 'k'},
                                       {"csv", no_argument, 0, 'c'},
                                       CSV_OPTIONS,
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *dir = NULL, *key = NULL;
  int c, rc, opt;
  csv_opts co;
  report r;
  medshim_journal *j;
  memset(&co, 0, sizeof co);
  optind = 1;
  while ((c = cli_getopt("report", argc, argv, opts)) != -1) {
    if ((opt = csv_option("report", c, &co)) < 0)
      return CLI_EXIT_USAGE;
    if (opt > 0)
      continue;
    if (c == 'j')
      dir = optarg;
    else if (c == 'k')
      key = optarg;
    else if (c == 'c')
      co.csv = 1;
    else if (c != 'h') {
      return CLI_EXIT_USAGE;
    } else {
      printf("usage: medshim report --journal DIR --key KEYFILE [--csv\n"
             "                      [--bom | --encoding gbk] [--lang zh|en]]\n\n"
                   "Counts and amounts (fen) by visit day, service and state,\n"
                   "and the refunds due to patients, as JSON (or CSV rows).\n"
                   "State \"blocked\": pending or retry_wait behind the same\n"
                   "patient's earlier claim in doubt or waiting. JSON also has\n"
                   "by_visit_month and by_settlement_month (the platform's\n"
                   "setl_time, +08:00: replays clear in the go-live month).\n"
                   "Each row also has the claims' deadline: in CSV\n"
                   "deadline_last_day, the last day, inclusive (+08:00); in\n"
                   "JSON deadline_until_exclusive, the exact instant it ends.\n"
                   CSV_HELP "\n"
                   "Exit status: 0 reported; 1 the journal could not be read\n"
                   "or a row not written; 64 bad command line.\n");
      return CLI_EXIT_OK;
    }
  }
  if (dir == NULL)
    return cli_missing("report", "--journal DIR");
  if (key == NULL)
    return cli_missing("report", "--key KEYFILE");
  if (optind != argc)
    return cli_extra("report", argv[optind]);
  if ((rc = csv_options_check("report", &co)) != 0)
    return rc;
  j = cli_open_journal("report", dir, key, MEDSHIM_JOURNAL_READONLY);
  if (j == NULL)
    return CLI_EXIT_FAIL;
  memset(&r, 0, sizeof r);
  rc = medshim_journal_foreach(j, add_claim, &r);
  if (rc != MEDSHIM_OK) {
    cli_error("report", dir, rc, medshim_journal_errmsg(j));
    medshim_journal_close(j);
    report_free(&r);
    return CLI_EXIT_FAIL;
  }
  if (r.n > 0)
    qsort(r.rows, r.n, sizeof *r.rows, cmp_rows);
  if (co.csv) {
    csv_out out;
    int failed = csv_begin(&out, stdout, "report", co.bom, co.encoding,
                           report_columns[co.lang], 8) != 0;
    for (size_t i = 0; i < r.n && !failed; i++) {
      char d[MEDSHIM_DAY_TEXT];
      last_day(d, r.rows[i].until);
      csv_plain(&out, r.rows[i].day);
      csv_plain(&out, medshim_service_name((medshim_service)r.rows[i].service));
      csv_plain(&out, state_label(r.rows[i].state));
      csv_int(&out, (long long)r.rows[i].count);
      csv_int(&out, (long long)r.rows[i].total_fen);
      csv_int(&out, (long long)r.rows[i].self_paid_fen);
      csv_int(&out, (long long)r.rows[i].refund_fen);
      csv_plain(&out, d);
      csv_end_row(&out);
    }
    if (csv_end(&out) != 0 || failed) {
      report_free(&r);
      medshim_journal_close(j);
      return CLI_EXIT_FAIL;
    }
  } else {
    json_t *o = json_object(), *rows = json_array(), *states = json_object();
    char yuan[32], *s;
    for (size_t i = 0; i < r.n; i++) {
      const char *st = state_label(r.rows[i].state);
      json_t *cnt = json_object_get(states, st);
      json_object_set_new(states, st,
                          json_integer((cnt ? json_integer_value(cnt) : 0) +
                                       (json_int_t)r.rows[i].count));
      json_array_append_new(
          rows, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:o}", "day",
                          r.rows[i].day, "service",
                          medshim_service_name((medshim_service)r.rows[i].service),
                          "state", st, "count", (json_int_t)r.rows[i].count,
                          "total_fen", (json_int_t)r.rows[i].total_fen,
                          "self_paid_fen", (json_int_t)r.rows[i].self_paid_fen,
                          "refund_fen", (json_int_t)r.rows[i].refund_fen,
                          "deadline_until_exclusive",
                          until_json(r.rows[i].until)));
    }
    money(yuan, sizeof yuan, r.refunds_due_fen);
    json_object_set_new(o, "claims", json_integer((json_int_t)r.claims));
    json_object_set_new(o, "by_state", states);
    json_object_set_new(o, "refunds_due_fen", json_integer(r.refunds_due_fen));
    json_object_set_new(o, "refunds_due_yuan", json_string(yuan));
    json_object_set_new(o, "refunds_due_count",
                        json_integer((json_int_t)r.refunds_due_count));
    json_object_set_new(o, "negative_refunds_for_a_person",
                        json_integer((json_int_t)r.negative_refunds));
    json_object_set_new(o, "rows", rows);
    json_object_set_new(o, "by_visit_month", months_json(&r.by_visit, 0));
    json_object_set_new(o, "by_settlement_month", months_json(&r.by_setl, 1));
    s = json_dumps(o, JSON_INDENT(1));
    printf("%s\n", s ? s : "{}");
    free(s);
    json_decref(o);
  }
  report_free(&r);
  medshim_journal_close(j);
  return CLI_EXIT_OK;
}

/* What the agency asks for (medshim_materials_text: the Hangzhou notice). */
static const char *materials(medshim_service s, medshim_lang lang) {
  const char *m = medshim_materials_text((int)s, MEDSHIM_ROUTE_AGENCY, lang);
  return m != NULL ? m : "";
}

static const char *const export_columns[2][13] = {
    {"visit_id", "state", "service", "visit_time", "insured_admdvs",
     "treated_admdvs", "invoice_no", "total_fen", "self_paid_fen",
     "patient_name", "patient_id_no", "materials", "deadline_last_day"},
    {"就诊流水号", "状态", "医疗类别", "就诊时间", "参保地", "就医地", "发票号",
     "医疗费总额(分)", "个人已付(分)", "姓名", "证件号码", "所需材料",
     "截止日期(含当日)"}};

typedef struct export_ctx {
  csv_opts co;
  csv_out out;
  unsigned flags;
  json_t *arr;
  size_t n;
} export_ctx;

static int export_claim(const medshim_claim *c, const medshim_claim_status *st,
                        void *payload) {
  export_ctx *x = payload;
  char *line;
  json_t *o;
  json_error_t e;
  if (st->state != MEDSHIM_STATE_MANUAL && st->state != MEDSHIM_STATE_EXPIRED)
    return 0;
  x->n++;
  line = cli_claim_json(c, st, NULL, x->flags);
  if (line == NULL)
    return 1;
  o = json_loads(line, 0, &e);
  cli_free_line(line);
  if (o == NULL)
    return 1;
  json_object_del(o, "replay_key");
  json_object_set_new(o, "materials",
                      json_string(materials(medshim_claim_service(c), x->co.lang)));
  json_object_set_new(o, "deadline_until_exclusive",
                      until_json(deadline_of(c, st)));
  if (x->co.csv) {
    char t[MEDSHIM_TIME_TEXT], d[MEDSHIM_DAY_TEXT];
    json_t *p = json_object_get(o, "patient");
    medshim__time_format(t, medshim_claim_visit_time(c));
    last_day(d, deadline_of(c, st));
    csv_plain(&x->out, medshim_claim_visit_id(c));
    csv_plain(&x->out, medshim_state_name(st->state));
    csv_plain(&x->out, medshim_service_name(medshim_claim_service(c)));
    csv_plain(&x->out, t);
    csv_plain(&x->out, medshim_claim_insured_admdvs(c));
    csv_plain(&x->out, medshim_claim_treated_admdvs(c));
    csv_field(&x->out, medshim_claim_invoice_no(c));
    csv_int(&x->out, (long long)medshim_claim_total_fen(c));
    csv_int(&x->out, (long long)medshim_claim_self_paid_fen(c));
    csv_field(&x->out, json_string_value(json_object_get(p, "name")));
    csv_field(&x->out, json_string_value(json_object_get(p, "id_no")));
    csv_field(&x->out, materials(medshim_claim_service(c), x->co.lang));
    csv_plain(&x->out, d);
    csv_end_row(&x->out);
    json_decref(o);
  } else {
    json_array_append_new(x->arr, o);
  }
  return 0;
}

int cli_cmd_export(int argc, char **argv) {
  static const struct option opts[] = {{"journal", required_argument, 0, 'j'},
                                       {"key", required_argument, 0, 'k'},
                                       {"manual", no_argument, 0, 'm'},
                                       {"csv", no_argument, 0, 'c'},
                                       {"reveal", no_argument, 0, 'r'},
                                       {"salvage", no_argument, 0, 'S'},
                                       CSV_OPTIONS,
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *dir = NULL, *key = NULL;
  export_ctx x;
  unsigned open_flags = MEDSHIM_JOURNAL_READONLY;
  int manual = 0, c, rc, salvaged, opt, refused;
  medshim_journal *j;
  memset(&x, 0, sizeof x);
  optind = 1;
  while ((c = cli_getopt("export", argc, argv, opts)) != -1) {
    if ((opt = csv_option("export", c, &x.co)) < 0)
      return CLI_EXIT_USAGE;
    if (opt > 0)
      continue;
    switch (c) {
    case 'j': dir = optarg; break;
    case 'k': key = optarg; break;
    case 'm': manual = 1; break;
    case 'c': x.co.csv = 1; break;
    case 'r': x.flags |= MEDSHIM_CLAIM_JSON_REVEAL; break;
    case 'S': open_flags = MEDSHIM_JOURNAL_SALVAGE; break;
    case 'h':
      printf("usage: medshim export --manual --journal DIR --key KEYFILE "
             "[--csv\n                      [--bom | --encoding gbk]] "
             "[--lang zh|en] [--reveal] [--salvage]\n\nThe claims that go to manual "
             "reimbursement at the agency (route agency, or\nwindow expired), "
             "with the materials the patient must bring. Personal\nfields are "
             "masked unless --reveal (the agency's copy). --salvage reads\n"
             "a damaged journal anyway (every record that authenticates;\n"
             "stderr says what was passed over; exit 2). The agency's\n"
             "deadline: in CSV deadline_last_day, the last day, inclusive\n"
             "(+08:00); in JSON deadline_until_exclusive, the exact instant.\n"
             CSV_HELP "\n"
             "Exit status: 0 exported; 1 the journal could not be read or a\n"
             "row not written; 2 --salvage passed over damage; 64 bad command\n"
             "line.\n");
      return CLI_EXIT_OK;
    default:
      return CLI_EXIT_USAGE;
    }
  }
  if (!manual)
    return cli_missing("export", "--manual");
  if (dir == NULL)
    return cli_missing("export", "--journal DIR");
  if (key == NULL)
    return cli_missing("export", "--key KEYFILE");
  if (optind != argc)
    return cli_extra("export", argv[optind]);
  if ((rc = csv_options_check("export", &x.co)) != 0)
    return rc;
  j = cli_open_journal("export", dir, key, open_flags);
  if (j == NULL)
    return CLI_EXIT_FAIL;
  if (x.co.csv) {
    if (csv_begin(&x.out, stdout, "export", x.co.bom, x.co.encoding,
                  export_columns[x.co.lang], 13) != 0) {
      csv_end(&x.out);
      medshim_journal_close(j);
      return CLI_EXIT_FAIL;
    }
  } else {
    x.arr = json_array();
  }
  rc = medshim_journal_foreach(j, export_claim, &x);
  refused = x.co.csv ? csv_end(&x.out) != 0 : 0;
  if (rc != MEDSHIM_OK) {
    cli_error("export", dir, rc, medshim_journal_errmsg(j));
    json_decref(x.arr);
    medshim_journal_close(j);
    return CLI_EXIT_FAIL;
  }
  if (!x.co.csv) {
    char *s = json_dumps(x.arr, JSON_INDENT(1));
    printf("%s\n", s ? s : "[]");
    if (s != NULL) {
      memset(s, 0, strlen(s));
      free(s);
    }
    json_decref(x.arr);
  }
  salvaged = cli_salvage_note("export", dir, j);
  medshim_journal_close(j);
  if (refused)
    return CLI_EXIT_FAIL;
  return salvaged ? CLI_EXIT_PARTIAL : CLI_EXIT_OK;
}
