/* medshim reconcile: the journal's settled claims against the platform's
 * settlement detail (3202), through medshim_reconcile_file(); this file
 * only formats what the API returns. */
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

/* Exit statuses of reconcile (documented in --help and medshim.1). */
#define RECONCILE_MATCHED 0
#define RECONCILE_DIFFERENCES 1
#define RECONCILE_BAD_INPUT 2

#define NCOLUMNS 17

static const char *const columns[2][NCOLUMNS] = {
    {"kind", "setl_id", "mdtrt_id", "visit_id", "psn_no", "line", "differs",
     "journal_medfee_sumamt", "platform_medfee_sumamt",
     "journal_fund_pay_sumamt", "platform_fund_pay_sumamt", "journal_acct_pay",
     "platform_acct_pay", "journal_psn_cash_pay", "platform_psn_cash_pay",
     "journal_setl_time", "platform_setl_time"},
    {"核对结果", "结算ID", "就诊ID", "就诊流水号", "人员编号", "平台文件行号",
     "不符金额", "本地医疗费总额", "平台医疗费总额", "本地基金支付总额",
     "平台基金支付总额", "本地个人账户支出", "平台个人账户支出",
     "本地个人现金支出", "平台个人现金支出", "本地结算时间", "平台结算时间"}};

static void yuan(char out[MEDSHIM_YUAN_TEXT], int64_t fen) {
  if (medshim_fen_to_yuan(out, MEDSHIM_YUAN_TEXT, fen) != MEDSHIM_OK)
    out[0] = '\0';
}

static void when(char out[MEDSHIM_TIME_TEXT], int64_t t) {
  if (t == 0)
    out[0] = '\0';
  else
    medshim__time_format(out, t);
}

/* psn_no for output: masked unless revealed (a masked text never grows);
 * malloc'ed, free with unpsn(); NULL when out of memory. */
static char *psn(const char *psn_no, int reveal) {
  size_t n = strlen(psn_no) + 1;
  char *out = malloc(n);
  if (out == NULL)
    return NULL;
  if (reveal)
    memcpy(out, psn_no, n);
  else if (medshim_mask_id(out, n, psn_no) != MEDSHIM_OK)
    out[0] = '\0';
  return out;
}

static void unpsn(char *p) {
  if (p != NULL) {
    memset(p, 0, strlen(p));
    free(p);
  }
}

/* The names of the amounts that differ, joined by sep. */
static void differs_text(char *out, size_t size, unsigned differs,
                         const char *sep) {
  size_t n = 0;
  out[0] = '\0';
  for (int a = 0; a < MEDSHIM_RECONCILE_AMOUNTS; a++)
    if (differs & (1u << a))
      n += (size_t)snprintf(out + n, n < size ? size - n : 0, "%s%s",
                            n ? sep : "", medshim_reconcile_amount_name(a));
}

static json_t *side_json(const int64_t fen[MEDSHIM_RECONCILE_AMOUNTS],
                         int64_t setl_time) {
  json_t *o = json_object();
  char y[MEDSHIM_YUAN_TEXT], t[MEDSHIM_TIME_TEXT];
  for (int a = 0; a < MEDSHIM_RECONCILE_AMOUNTS; a++) {
    yuan(y, fen[a]);
    json_object_set_new(o, medshim_reconcile_amount_name(a), json_string(y));
  }
  when(t, setl_time);
  json_object_set_new(o, "setl_time", setl_time ? json_string(t) : json_null());
  return o;
}

static json_t *amounts_json(const int64_t fen[MEDSHIM_RECONCILE_AMOUNTS]) {
  json_t *o = json_object();
  char y[MEDSHIM_YUAN_TEXT];
  for (int a = 0; a < MEDSHIM_RECONCILE_AMOUNTS; a++) {
    yuan(y, fen[a]);
    json_object_set_new(o, medshim_reconcile_amount_name(a), json_string(y));
  }
  return o;
}

static json_t *months_json(const medshim_reconcile *r, int by) {
  json_t *a = json_array();
  size_t n = medshim_reconcile_month_count(r, by);
  for (size_t i = 0; i < n; i++) {
    medshim_reconcile_month m;
    json_t *o;
    m.version = MEDSHIM_RECONCILE_MONTH_VERSION;
    if (medshim_reconcile_month_get(&m, r, by, i) != MEDSHIM_OK)
      continue;
    o = json_object();
    json_object_set_new(o, "month", json_string(m.month));
    json_object_set_new(o, "entries", json_integer((json_int_t)m.count[0]));
    for (int k = MEDSHIM_RECONCILE_MATCHED; k <= MEDSHIM_RECONCILE_DUPLICATE; k++)
      json_object_set_new(o, medshim_reconcile_kind_name((medshim_reconcile_kind)k),
                          json_integer((json_int_t)m.count[k]));
    json_object_set_new(o, "journal", amounts_json(m.journal_fen));
    json_object_set_new(o, "platform", amounts_json(m.platform_fen));
    json_array_append_new(a, o);
  }
  return a;
}

static int print_json(const medshim_reconcile *r, int reveal) {
  json_t *o = json_object(), *items = json_array();
  size_t n = medshim_reconcile_count(r);
  char *s;
  int rc = 0;
  json_object_set_new(o, "entries", json_integer((json_int_t)n));
  for (int k = MEDSHIM_RECONCILE_MATCHED; k <= MEDSHIM_RECONCILE_DUPLICATE; k++)
    json_object_set_new(o, medshim_reconcile_kind_name((medshim_reconcile_kind)k),
                        json_integer((json_int_t)medshim_reconcile_count_kind(r, k)));
  for (size_t i = 0; i < n; i++) {
    medshim_reconcile_entry e;
    json_t *it, *d = json_array();
    char *p;
    e.version = MEDSHIM_RECONCILE_ENTRY_VERSION;
    if (medshim_reconcile_entry_get(&e, r, i) != MEDSHIM_OK) {
      json_decref(d);
      continue;
    }
    if ((p = psn(e.psn_no, reveal)) == NULL) {
      json_decref(d);
      rc = -1;
      continue;
    }
    for (int a = 0; a < MEDSHIM_RECONCILE_AMOUNTS; a++)
      if (e.differs & (1u << a))
        json_array_append_new(d, json_string(medshim_reconcile_amount_name(a)));
    it = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o}",
                   "kind", medshim_reconcile_kind_name(e.kind), "setl_id",
                   e.setl_id, "mdtrt_id", e.mdtrt_id, "visit_id", e.visit_id,
                   "psn_no", p, "line",
                   e.line ? json_integer((json_int_t)e.line) : json_null(),
                   "first_line",
                   e.first_line ? json_integer((json_int_t)e.first_line)
                                : json_null(),
                   "differs", d, "journal",
                   e.in_journal ? side_json(e.journal_fen, e.journal_setl_time)
                                : json_null(),
                   "platform",
                   e.on_platform
                       ? side_json(e.platform_fen, e.platform_setl_time)
                       : json_null());
    unpsn(p);
    if (it == NULL) /* a text that is not UTF-8 cannot come from the API */
      rc = -1;
    else
      json_array_append_new(items, it);
  }
  json_object_set_new(o, "items", items);
  json_object_set_new(o, "by_clearing_month",
                      months_json(r, MEDSHIM_RECONCILE_BY_CLEARING));
  json_object_set_new(o, "by_visit_month",
                      months_json(r, MEDSHIM_RECONCILE_BY_VISIT));
  s = json_dumps(o, JSON_INDENT(1));
  if (s == NULL || printf("%s\n", s) < 0)
    rc = -1;
  if (s != NULL) {
    memset(s, 0, strlen(s)); /* psn_no, when revealed */
    free(s);
  }
  json_decref(o);
  return rc;
}

static int print_csv(const medshim_reconcile *r, int reveal, int bom, int zh) {
  csv_out out;
  size_t n = medshim_reconcile_count(r);
  int failed = csv_begin(&out, stdout, "reconcile", bom, CSV_UTF8,
                         columns[zh], NCOLUMNS) != 0;
  for (size_t i = 0; i < n && !failed; i++) {
    medshim_reconcile_entry e;
    char *p, d[128], y[MEDSHIM_YUAN_TEXT], t[MEDSHIM_TIME_TEXT];
    e.version = MEDSHIM_RECONCILE_ENTRY_VERSION;
    if (medshim_reconcile_entry_get(&e, r, i) != MEDSHIM_OK)
      continue;
    if ((p = psn(e.psn_no, reveal)) == NULL) {
      failed = 1;
      break;
    }
    differs_text(d, sizeof d, e.differs, ";");
    csv_plain(&out, medshim_reconcile_kind_name(e.kind));
    csv_field(&out, e.setl_id);
    csv_field(&out, e.mdtrt_id);
    csv_field(&out, e.visit_id);
    csv_field(&out, p);
    unpsn(p);
    if (e.line)
      csv_int(&out, (long long)e.line);
    else
      csv_plain(&out, "");
    csv_plain(&out, d);
    for (int a = 0; a < MEDSHIM_RECONCILE_AMOUNTS; a++) {
      yuan(y, e.journal_fen[a]);
      csv_plain(&out, e.in_journal ? y : "");
      yuan(y, e.platform_fen[a]);
      csv_plain(&out, e.on_platform ? y : "");
    }
    when(t, e.in_journal ? e.journal_setl_time : 0);
    csv_plain(&out, t);
    when(t, e.on_platform ? e.platform_setl_time : 0);
    csv_plain(&out, t);
    csv_end_row(&out);
  }
  return csv_end(&out) != 0 || failed ? -1 : 0;
}

static void usage(void) {
  printf(
      "usage: medshim reconcile --journal DIR --key KEYFILE --platform FILE.csv\n"
      "                         [--map PLATFORM_COL=OUR_COL,...]\n"
      "                         [--platform-encoding utf-8|gbk]\n"
      "                         [--format json|csv [--bom]] [--lang en|zh]\n"
      "                         [--reveal]\n\n"
      "Checks the journal's settled claims against the platform's settlement\n"
      "detail (the 3202 download): CSV with a header row and the columns\n"
      "setl_id, mdtrt_id, psn_no, medfee_sumamt, fund_pay_sumamt, acct_pay,\n"
      "psn_cash_pay, setl_time (amounts in yuan, \"12.34\"; mdtrt_id and\n"
      "psn_no may be absent; other columns are ignored), UTF-8 with or\n"
      "without a BOM, or GBK with --platform-encoding gbk. --map names the\n"
      "columns of another layout, e.g. --map 结算ID=setl_id,医疗费总额=medfee_sumamt\n"
      "(docs/reconcile.md). Claims are matched by setl_id; each is listed as\n"
      "matched, different (which amounts, both values), platform_only,\n"
      "journal_only or duplicate (a setl_id seen before: never merged).\n"
      "JSON (the default) also has the totals by clearing month (setl_time,\n"
      "+08:00: replays clear in the go-live month) and by visit month.\n"
      "psn_no is masked unless --reveal. --bom starts the CSV with a UTF-8\n"
      "byte order mark (Excel); --lang zh gives Chinese column names.\n\n"
      "Exit status: 0 every claim matched; 1 differences found; 2 bad input\n"
      "(the platform file or --map, named with line and column; the journal\n"
      "could not be read; the output could not be written); 64 bad command\n"
      "line.\n");
}

int cli_cmd_reconcile(int argc, char **argv) {
  static const struct option opts[] = {
      {"journal", required_argument, 0, 'j'},
      {"key", required_argument, 0, 'k'},
      {"platform", required_argument, 0, 'p'},
      {"map", required_argument, 0, 'm'},
      {"platform-encoding", required_argument, 0, 'E'},
      {"format", required_argument, 0, 'f'},
      {"bom", no_argument, 0, 'B'},
      {"lang", required_argument, 0, 'L'},
      {"reveal", no_argument, 0, 'r'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  static const char *const formats[] = {"json", "csv"};
  static const char *const langs[] = {"en", "zh"};
  static const char *const encodings[] = {"utf-8", "gbk"};
  const char *dir = NULL, *key = NULL, *platform = NULL;
  medshim_reconcile_options o = MEDSHIM_RECONCILE_OPTIONS_INIT;
  medshim_reconcile *r = NULL;
  medshim_journal *j;
  medshim_error err;
  int c, rc, csv = 0, bom = 0, zh = 0, reveal = 0, i;
  optind = 1;
  while ((c = cli_getopt("reconcile", argc, argv, opts)) != -1) {
    switch (c) {
    case 'j': dir = optarg; break;
    case 'k': key = optarg; break;
    case 'p': platform = optarg; break;
    case 'm': o.column_map = optarg; break;
    case 'B': bom = 1; break;
    case 'r': reveal = 1; break;
    case 'f':
      if ((i = cli_choice("reconcile", "format", "format", optarg, formats, 2)) < 0)
        return CLI_EXIT_USAGE;
      csv = i == 1;
      break;
    case 'L':
      if ((i = cli_choice("reconcile", "lang", "language", optarg, langs, 2)) < 0)
        return CLI_EXIT_USAGE;
      zh = i == 1;
      break;
    case 'E':
      if ((i = cli_choice("reconcile", "platform-encoding", "encoding", optarg,
                          encodings, 2)) < 0)
        return CLI_EXIT_USAGE;
      o.flags = i == 1 ? MEDSHIM_RECONCILE_GBK : 0u;
      break;
    case 'h':
      usage();
      return CLI_EXIT_OK;
    default:
      return CLI_EXIT_USAGE;
    }
  }
  if (dir == NULL)
    return cli_missing("reconcile", "--journal DIR");
  if (key == NULL)
    return cli_missing("reconcile", "--key KEYFILE");
  if (platform == NULL)
    return cli_missing("reconcile", "--platform FILE.csv");
  if (optind != argc)
    return cli_extra("reconcile", argv[optind]);
  if (bom && !csv) {
    fprintf(stderr, "medshim reconcile: --bom needs --format csv (JSON is "
                    "always UTF-8)\n");
    return CLI_EXIT_USAGE;
  }
  j = cli_open_journal("reconcile", dir, key, MEDSHIM_JOURNAL_READONLY);
  if (j == NULL)
    return RECONCILE_BAD_INPUT;
  memset(&err, 0, sizeof err);
  rc = medshim_reconcile_file(&r, j, platform, &o, &err);
  medshim_journal_close(j);
  if (rc != MEDSHIM_OK) {
    /* the file (err.where is its name, cut to fit), the journal or the
     * map; err.text says the line and column */
    fprintf(stderr, "medshim reconcile: %s: %s\n",
            strcmp(err.where, "journal") == 0      ? dir
            : strcmp(err.where, "column_map") == 0 ? "--map"
                                                   : platform,
            err.text[0] != '\0' ? err.text : medshim_strerror(rc));
    return RECONCILE_BAD_INPUT;
  }
  rc = csv ? print_csv(r, reveal, bom, zh) : print_json(r, reveal);
  if (rc != 0) {
    fprintf(stderr, "medshim reconcile: the output could not be written\n");
    medshim_reconcile_free(r);
    return RECONCILE_BAD_INPUT;
  }
  rc = medshim_reconcile_count_kind(r, 0) > 0 ? RECONCILE_DIFFERENCES
                                               : RECONCILE_MATCHED;
  medshim_reconcile_free(r);
  return rc;
}
