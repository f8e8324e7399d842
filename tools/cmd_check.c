/* medshim check: the decision for one visit, as one JSON object. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cli_num.h"
#include "cli_opt.h"
#include "cli_util.h"
#include "timeutil_internal.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: medshim check --schedule FILE [--schedule FILE ...] --at TIME\n"
          "                     --service S --insured ADMDVS [--treated ADMDVS]\n"
          "                     [--pubkey PEM [--require-signed]] [--lang zh|en]\n\n"
          "Prints {\"decision\":\"online\"|\"try_online\"|\"defer\", \"reason\",\n"
          "\"reason_code\", \"until\", \"window\", \"advice\", \"replay\"} for the\n"
          "visit; with --lang also \"cashier_text\" (the cashier screen) and\n"
          "\"receipt_text\" (the patient's receipt: what to keep, where and\n"
          "from when the money comes back, the last day) in Chinese or\n"
          "English. TIME is\n"
          "ISO 8601 (+08:00 unless given; 24:00 allowed). A visit is affected\n"
          "when either region is in a window; the most restrictive effect wins.\n"
          "Times printed are exact instants (+08:00); every \"until\" is\n"
          "exclusive: the first instant after the period.\n"
          "S: outpatient chronic_outpatient inpatient pharmacy work_injury\n"
          "maternity (any case), or 门诊 住院 药店. --pubkey PEM checks each\n"
          "schedule's Ed25519 signature (FILE.sig); --require-signed refuses\n"
          "unsigned files.\n\n"
          "Exit status: 0 decided; 1 a schedule could not be loaded; 64 bad\n"
          "command line (the option and what is wrong are named).\n");
}

static json_t *time_json(int64_t t) {
  char buf[MEDSHIM_TIME_TEXT];
  if (t == 0)
    return json_null();
  medshim__time_format(buf, t);
  return json_string(buf);
}

int cli_cmd_check(int argc, char **argv) {
  static const struct option opts[] = {
      {"schedule", required_argument, 0, 's'},
      {"at", required_argument, 0, 'a'},
      {"service", required_argument, 0, 'v'},
      {"insured", required_argument, 0, 'i'},
      {"treated", required_argument, 0, 't'},
      {"pubkey", required_argument, 0, 'p'},
      {"require-signed", no_argument, 0, 'r'},
      {"lang", required_argument, 0, 'l'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  char *files[64];
  size_t nfiles = 0;
  const char *at = NULL, *service = NULL, *insured = NULL, *treated = NULL,
             *pubkey = NULL;
  static const char *const langs[] = {"en", "zh"};
  int c, svc, require_signed = 0, rc, lang = -1;
  int64_t t;
  medshim_schedule_set *set;
  medshim_decision d = MEDSHIM_DECISION_INIT;
  json_t *o, *advice;
  char *s;

  optind = 1;
  while ((c = cli_getopt("check", argc, argv, opts)) != -1) {
    switch (c) {
    case 's':
      if (nfiles == 64) {
        fprintf(stderr, "medshim check: at most 64 --schedule files\n");
        return CLI_EXIT_USAGE;
      }
      files[nfiles++] = optarg;
      break;
    case 'a':
      at = optarg;
      break;
    case 'v':
      service = optarg;
      break;
    case 'i':
      insured = optarg;
      break;
    case 't':
      treated = optarg;
      break;
    case 'p':
      pubkey = optarg;
      break;
    case 'r':
      require_signed = 1;
      break;
    case 'l':
      if ((lang = cli_choice("check", "lang", "language", optarg, langs, 2)) < 0)
        return CLI_EXIT_USAGE;
      break;
    case 'h':
      usage(stdout);
      return CLI_EXIT_OK;
    default:
      return CLI_EXIT_USAGE;
    }
  }
  if (nfiles == 0)
    return cli_missing("check", "--schedule FILE");
  if (at == NULL)
    return cli_missing("check", "--at TIME");
  if (service == NULL)
    return cli_missing("check", "--service S");
  if (insured == NULL)
    return cli_missing("check", "--insured ADMDVS");
  if (optind != argc)
    return cli_extra("check", argv[optind]);
  if (cli_parse_time("check", "at", at, &t) != 0)
    return CLI_EXIT_USAGE;
  if (cli_parse_service("check", "service", service, 1, &svc) != 0)
    return CLI_EXIT_USAGE;
  set = cli_load_schedules("check", files, nfiles, pubkey, require_signed);
  if (set == NULL)
    return CLI_EXIT_FAIL;
  rc = medshim_schedule_decide(&d, set, svc, insured, treated, t);
  if (rc != MEDSHIM_OK) {
    fprintf(stderr, "medshim check: --insured/--treated must be 6-digit "
                    "administrative division codes\n");
    medshim_schedule_set_free(set);
    return CLI_EXIT_USAGE;
  }
  o = json_object();
  json_object_set_new(o, "decision", json_string(medshim_verdict_name(d.decision)));
  json_object_set_new(o, "reason", json_string(d.reason));
  json_object_set_new(o, "reason_code", json_string(medshim_reason_name((int)d.code)));
  json_object_set_new(o, "until", time_json(d.until));
  if (d.has_window)
    json_object_set_new(o, "window",
                        json_pack("{s:s, s:I, s:o, s:o}", "schedule",
                                  d.window.schedule_id, "version",
                                  (json_int_t)d.window.version, "from",
                                  time_json(d.window.from), "until",
                                  time_json(d.window.until)));
  else
    json_object_set_new(o, "window", json_null());
  advice = json_array();
  for (size_t i = 0; i < d.advice_count; i++)
    json_array_append_new(
        advice, json_pack("{s:s, s:o, s:s}", "kind",
                          medshim_advice_kind_name(d.advice[i].kind), "at",
                          time_json(d.advice[i].at), "text",
                          d.advice[i].text ? d.advice[i].text : ""));
  json_object_set_new(o, "advice", advice);
  if (d.has_replay)
    json_object_set_new(o, "replay",
                        json_pack("{s:o, s:o, s:s}", "from",
                                  time_json(d.replay.from), "until",
                                  time_json(d.replay.until), "route",
                                  medshim_route_name(d.replay.route)));
  else
    json_object_set_new(o, "replay", json_null());
  if (lang >= 0) {
    char *cashier = NULL, *receipt = NULL;
    if (medshim_decision_text(&cashier, &d, svc, MEDSHIM_TEXT_CASHIER,
                              (medshim_lang)lang) != MEDSHIM_OK ||
        medshim_decision_text(&receipt, &d, svc, MEDSHIM_TEXT_RECEIPT,
                              (medshim_lang)lang) != MEDSHIM_OK) {
      fprintf(stderr, "medshim check: out of memory\n");
      medshim_free(cashier);
      json_decref(o);
      medshim_schedule_set_free(set);
      return CLI_EXIT_FAIL;
    }
    json_object_set_new(o, "cashier_text", json_string(cashier));
    json_object_set_new(o, "receipt_text", json_string(receipt));
    medshim_free(cashier);
    medshim_free(receipt);
  }
  s = json_dumps(o, JSON_COMPACT);
  printf("%s\n", s ? s : "{}");
  free(s);
  json_decref(o);
  medshim_schedule_set_free(set);
  return CLI_EXIT_OK;
}
