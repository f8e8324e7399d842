/* medshim report: counts and amounts by day, service and state, refunds
 * due; medshim export --manual: the claims for manual reimbursement. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cli_util.h"
#include "timeutil_internal.h"

typedef struct row {
  char day[11];
  int service;
  int state;
  size_t count;
  int64_t total_fen, self_paid_fen, refund_fen;
} row;

typedef struct report {
  row *rows;
  size_t n, cap;
  size_t claims;
  int64_t refunds_due_fen;
  size_t refunds_due_count, negative_refunds;
} report;

static int add_claim(const medshim_claim *c, const medshim_claim_status *st,
                     void *payload) {
  report *r = payload;
  char t[MEDSHIM_TIME_TEXT];
  row *w = NULL;
  medshim__time_format(t, medshim_claim_visit_time(c));
  t[10] = '\0'; /* the visit's day in China Standard Time */
  for (size_t i = 0; i < r->n; i++)
    if (strcmp(r->rows[i].day, t) == 0 &&
        r->rows[i].service == (int)medshim_claim_service(c) &&
        r->rows[i].state == (int)st->state)
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
    w->state = (int)st->state;
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
  return x->state - y->state;
}

static void money(char *out, size_t size, int64_t fen) {
  int64_t a = fen < 0 ? -fen : fen;
  snprintf(out, size, "%s%lld.%02lld", fen < 0 ? "-" : "", (long long)(a / 100),
           (long long)(a % 100));
}

int cli_cmd_report(int argc, char **argv) {
  static const struct option opts[] = {{"journal", required_argument, 0, 'j'},
                                       {"key", required_argument, 0, 'k'},
                                       {"csv", no_argument, 0, 'c'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *dir = NULL, *key = NULL;
  int csv = 0, c, rc;
  report r;
  medshim_journal *j;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (c == 'j')
      dir = optarg;
    else if (c == 'k')
      key = optarg;
    else if (c == 'c')
      csv = 1;
    else {
      (c == 'h' ? stdout : stderr) == stdout
          ? printf("usage: medshim report --journal DIR --key KEYFILE [--csv]\n\n"
                   "Counts and amounts (fen) by visit day, service and state,\n"
                   "and the refunds due to patients, as JSON (or CSV rows).\n")
          : fprintf(stderr, "usage: medshim report --journal DIR --key KEYFILE [--csv]\n");
      return c == 'h' ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
  }
  if (dir == NULL || key == NULL || optind != argc) {
    fprintf(stderr, "usage: medshim report --journal DIR --key KEYFILE [--csv]\n");
    return CLI_EXIT_USAGE;
  }
  j = cli_open_journal("report", dir, key, MEDSHIM_JOURNAL_READONLY);
  if (j == NULL)
    return CLI_EXIT_FAIL;
  memset(&r, 0, sizeof r);
  rc = medshim_journal_foreach(j, add_claim, &r);
  if (rc != MEDSHIM_OK) {
    cli_error("report", dir, rc, medshim_journal_errmsg(j));
    medshim_journal_close(j);
    free(r.rows);
    return CLI_EXIT_FAIL;
  }
  if (r.n > 0)
    qsort(r.rows, r.n, sizeof *r.rows, cmp_rows);
  if (csv) {
    printf("day,service,state,count,total_fen,self_paid_fen,refund_fen\n");
    for (size_t i = 0; i < r.n; i++)
      printf("%s,%s,%s,%zu,%lld,%lld,%lld\n", r.rows[i].day,
             medshim_service_name((medshim_service)r.rows[i].service),
             medshim_state_name((medshim_claim_state)r.rows[i].state),
             r.rows[i].count, (long long)r.rows[i].total_fen,
             (long long)r.rows[i].self_paid_fen, (long long)r.rows[i].refund_fen);
  } else {
    json_t *o = json_object(), *rows = json_array(), *states = json_object();
    char yuan[32], *s;
    for (size_t i = 0; i < r.n; i++) {
      const char *st = medshim_state_name((medshim_claim_state)r.rows[i].state);
      json_t *cnt = json_object_get(states, st);
      json_object_set_new(states, st,
                          json_integer((cnt ? json_integer_value(cnt) : 0) +
                                       (json_int_t)r.rows[i].count));
      json_array_append_new(
          rows, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "day",
                          r.rows[i].day, "service",
                          medshim_service_name((medshim_service)r.rows[i].service),
                          "state", st, "count", (json_int_t)r.rows[i].count,
                          "total_fen", (json_int_t)r.rows[i].total_fen,
                          "self_paid_fen", (json_int_t)r.rows[i].self_paid_fen,
                          "refund_fen", (json_int_t)r.rows[i].refund_fen));
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
    s = json_dumps(o, JSON_INDENT(1));
    printf("%s\n", s ? s : "{}");
    free(s);
    json_decref(o);
  }
  free(r.rows);
  medshim_journal_close(j);
  return CLI_EXIT_OK;
}

/* What the agency asks for, per the Hangzhou notice. */
static const char *materials(medshim_service s) {
  return s == MEDSHIM_SERVICE_INPATIENT
             ? "invoices; fee list; discharge summary; insurance card; bank card"
             : "invoice (incl. e-invoice); insurance card, e-voucher or ID card; "
               "bank card";
}

typedef struct export_ctx {
  int csv;
  unsigned flags;
  json_t *arr;
  size_t n;
} export_ctx;

static void csv_field(const char *s) {
  putchar('"');
  for (; s && *s; s++) {
    if (*s == '"')
      putchar('"');
    putchar(*s);
  }
  putchar('"');
}

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
                      json_string(materials(medshim_claim_service(c))));
  if (x->csv) {
    char t[MEDSHIM_TIME_TEXT];
    json_t *p = json_object_get(o, "patient");
    medshim__time_format(t, medshim_claim_visit_time(c));
    printf("%s,%s,%s,%s,%s,", medshim_claim_visit_id(c),
           medshim_state_name(st->state), medshim_service_name(medshim_claim_service(c)),
           t, medshim_claim_insured_admdvs(c));
    printf("%s,", medshim_claim_treated_admdvs(c));
    csv_field(medshim_claim_invoice_no(c));
    printf(",%lld,%lld,", (long long)medshim_claim_total_fen(c),
           (long long)medshim_claim_self_paid_fen(c));
    csv_field(json_string_value(json_object_get(p, "name")));
    putchar(',');
    csv_field(json_string_value(json_object_get(p, "id_no")));
    putchar(',');
    csv_field(materials(medshim_claim_service(c)));
    putchar('\n');
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
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *dir = NULL, *key = NULL;
  export_ctx x;
  int manual = 0, c, rc;
  medshim_journal *j;
  memset(&x, 0, sizeof x);
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'j': dir = optarg; break;
    case 'k': key = optarg; break;
    case 'm': manual = 1; break;
    case 'c': x.csv = 1; break;
    case 'r': x.flags |= MEDSHIM_CLAIM_JSON_REVEAL; break;
    default:
      printf("usage: medshim export --manual --journal DIR --key KEYFILE "
             "[--csv] [--reveal]\n\nThe claims that go to manual "
             "reimbursement at the agency (route agency, or\nwindow expired), "
             "with the materials the patient must bring. Personal\nfields are "
             "masked unless --reveal (the agency's copy).\n");
      return c == 'h' ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
  }
  if (!manual || dir == NULL || key == NULL || optind != argc) {
    fprintf(stderr, "usage: medshim export --manual --journal DIR --key KEYFILE "
                    "[--csv] [--reveal]\n");
    return CLI_EXIT_USAGE;
  }
  j = cli_open_journal("export", dir, key, MEDSHIM_JOURNAL_READONLY);
  if (j == NULL)
    return CLI_EXIT_FAIL;
  if (x.csv)
    printf("visit_id,state,service,visit_time,insured_admdvs,treated_admdvs,"
           "invoice_no,total_fen,self_paid_fen,patient_name,patient_id_no,"
           "materials\n");
  else
    x.arr = json_array();
  rc = medshim_journal_foreach(j, export_claim, &x);
  if (rc != MEDSHIM_OK) {
    cli_error("export", dir, rc, medshim_journal_errmsg(j));
    json_decref(x.arr);
    medshim_journal_close(j);
    return CLI_EXIT_FAIL;
  }
  if (!x.csv) {
    char *s = json_dumps(x.arr, JSON_INDENT(1));
    printf("%s\n", s ? s : "[]");
    if (s != NULL) {
      memset(s, 0, strlen(s));
      free(s);
    }
    json_decref(x.arr);
  }
  medshim_journal_close(j);
  return CLI_EXIT_OK;
}
