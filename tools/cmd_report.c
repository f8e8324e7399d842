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

static json_t *months_json(const medshim_report *r, int settlement) {
  json_t *a = json_array();
  int by = settlement ? MEDSHIM_REPORT_BY_SETTLEMENT : MEDSHIM_REPORT_BY_VISIT;
  size_t n = medshim_report_month_count(r, by);
  for (size_t i = 0; a != NULL && i < n; i++) {
    medshim_report_month m;
    json_t *o;
    m.version = MEDSHIM_REPORT_MONTH_VERSION;
    if (medshim_report_month_get(&m, r, by, i) != MEDSHIM_OK)
      continue;
    o = settlement
        ? json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "month", m.month,
                    "settled", (json_int_t)m.settled, "self_paid_fen",
                    (json_int_t)m.self_paid_fen, "settled_total_fen",
                    (json_int_t)m.settled_total_fen, "fund_paid_fen",
                    (json_int_t)m.fund_paid_fen, "acct_paid_fen",
                    (json_int_t)m.acct_paid_fen, "patient_paid_fen",
                    (json_int_t)m.patient_paid_fen, "refund_fen",
                    (json_int_t)m.refund_fen)
        : json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "month", m.month, "count",
                    (json_int_t)m.count, "total_fen", (json_int_t)m.total_fen,
                    "self_paid_fen", (json_int_t)m.self_paid_fen, "settled",
                    (json_int_t)m.settled, "refund_fen",
                    (json_int_t)m.refund_fen);
    json_array_append_new(a, o);
  }
  return a;
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
  medshim_report *rep = NULL;
  medshim_report_totals tot;
  medshim_report_row *rows;
  size_t n;
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
  rc = medshim_report_run(&rep, j);
  if (rc != MEDSHIM_OK) {
    cli_error("report", dir, rc, medshim_journal_errmsg(j));
    medshim_journal_close(j);
    return CLI_EXIT_FAIL;
  }
  n = medshim_report_row_count(rep);
  rows = calloc(n > 0 ? n : 1, sizeof *rows);
  tot.version = MEDSHIM_REPORT_TOTALS_VERSION;
  if (rows == NULL || medshim_report_totals_get(&tot, rep) != MEDSHIM_OK) {
    cli_error("report", dir, MEDSHIM_ENOMEM, "");
    free(rows);
    medshim_report_free(rep);
    medshim_journal_close(j);
    return CLI_EXIT_FAIL;
  }
  for (size_t i = 0; i < n; i++) {
    rows[i].version = MEDSHIM_REPORT_ROW_VERSION;
    medshim_report_row_get(&rows[i], rep, i);
  }
  if (co.csv) {
    csv_out out;
    int failed = csv_begin(&out, stdout, "report", co.bom, co.encoding,
                           report_columns[co.lang], 8) != 0;
    for (size_t i = 0; i < n && !failed; i++) {
      char d[MEDSHIM_DAY_TEXT];
      last_day(d, rows[i].until);
      csv_plain(&out, rows[i].day);
      csv_plain(&out, medshim_service_name((medshim_service)rows[i].service));
      csv_plain(&out, medshim_report_state_name(rows[i].state));
      csv_int(&out, (long long)rows[i].count);
      csv_int(&out, (long long)rows[i].total_fen);
      csv_int(&out, (long long)rows[i].self_paid_fen);
      csv_int(&out, (long long)rows[i].refund_fen);
      csv_plain(&out, d);
      csv_end_row(&out);
    }
    if (csv_end(&out) != 0 || failed) {
      free(rows);
      medshim_report_free(rep);
      medshim_journal_close(j);
      return CLI_EXIT_FAIL;
    }
  } else {
    json_t *o = json_object(), *jrows = json_array(), *states = json_object();
    char yuan[32], *s;
    for (size_t i = 0; i < n; i++) {
      const char *st = medshim_report_state_name(rows[i].state);
      json_t *cnt = json_object_get(states, st);
      json_object_set_new(states, st,
                          json_integer((cnt ? json_integer_value(cnt) : 0) +
                                       (json_int_t)rows[i].count));
      json_array_append_new(
          jrows, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:o}", "day",
                          rows[i].day, "service",
                          medshim_service_name((medshim_service)rows[i].service),
                          "state", st, "count", (json_int_t)rows[i].count,
                          "total_fen", (json_int_t)rows[i].total_fen,
                          "self_paid_fen", (json_int_t)rows[i].self_paid_fen,
                          "refund_fen", (json_int_t)rows[i].refund_fen,
                          "deadline_until_exclusive",
                          until_json(rows[i].until)));
    }
    money(yuan, sizeof yuan, tot.refunds_due_fen);
    json_object_set_new(o, "claims", json_integer((json_int_t)tot.claims));
    json_object_set_new(o, "by_state", states);
    json_object_set_new(o, "refunds_due_fen", json_integer(tot.refunds_due_fen));
    json_object_set_new(o, "refunds_due_yuan", json_string(yuan));
    json_object_set_new(o, "refunds_due_count",
                        json_integer((json_int_t)tot.refunds_due_count));
    json_object_set_new(o, "negative_refunds_for_a_person",
                        json_integer((json_int_t)tot.negative_refunds));
    json_object_set_new(o, "rows", jrows);
    json_object_set_new(o, "by_visit_month", months_json(rep, 0));
    json_object_set_new(o, "by_settlement_month", months_json(rep, 1));
    s = json_dumps(o, JSON_INDENT(1));
    printf("%s\n", s ? s : "{}");
    free(s);
    json_decref(o);
  }
  free(rows);
  medshim_report_free(rep);
  medshim_journal_close(j);
  return CLI_EXIT_OK;
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

static int export_claim(const medshim_manual_row *row, void *payload) {
  export_ctx *x = payload;
  const medshim_claim *c = row->claim;
  const medshim_claim_status *st = row->status;
  char *line;
  json_t *o;
  json_error_t e;
  x->n++;
  if (x->co.csv) {
    char t[MEDSHIM_TIME_TEXT], d[MEDSHIM_DAY_TEXT];
    medshim__time_format(t, medshim_claim_visit_time(c));
    last_day(d, row->until);
    csv_plain(&x->out, medshim_claim_visit_id(c));
    csv_plain(&x->out, medshim_state_name(st->state));
    csv_plain(&x->out, medshim_service_name(medshim_claim_service(c)));
    csv_plain(&x->out, t);
    csv_plain(&x->out, medshim_claim_insured_admdvs(c));
    csv_plain(&x->out, medshim_claim_treated_admdvs(c));
    csv_field(&x->out, medshim_claim_invoice_no(c));
    csv_int(&x->out, (long long)medshim_claim_total_fen(c));
    csv_int(&x->out, (long long)medshim_claim_self_paid_fen(c));
    csv_field(&x->out, row->patient_name);
    csv_field(&x->out, row->patient_id_no);
    csv_field(&x->out, row->materials);
    csv_plain(&x->out, d);
    csv_end_row(&x->out);
    return 0;
  }
  line = cli_claim_json(c, st, NULL, x->flags);
  if (line == NULL)
    return 1;
  o = json_loads(line, 0, &e);
  cli_free_line(line);
  if (o == NULL)
    return 1;
  json_object_del(o, "replay_key");
  json_object_set_new(o, "materials", json_string(row->materials));
  json_object_set_new(o, "deadline_until_exclusive", until_json(row->until));
  json_array_append_new(x->arr, o);
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
  medshim_manual_options mo = MEDSHIM_MANUAL_OPTIONS_INIT;
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
    case 'r':
      x.flags |= MEDSHIM_CLAIM_JSON_REVEAL;
      mo.flags |= MEDSHIM_MANUAL_REVEAL;
      break;
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
  mo.lang = x.co.lang;
  rc = medshim_manual_export(j, &mo, export_claim, &x);
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
