/* Error printing and journal opening shared by the medshim commands. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cli_opt.h"
#include "cli_util.h"
#include "journal_internal.h"
#include "timeutil_internal.h"
#include "utf8_internal.h"

void cli_error(const char *cmd, const char *what, int code, const char *detail) {
  fprintf(stderr, "medshim %s: %s: %s", cmd, what, medshim_strerror(code));
  if (detail != NULL && *detail != '\0')
    fprintf(stderr, " (%s)", detail);
  fputc('\n', stderr);
}

void cli_error_err(const char *cmd, const char *what, int code,
                   const medshim_error *err) {
  char detail[MEDSHIM_ERROR_WHERE_MAX + MEDSHIM_ERROR_TEXT_MAX + 4];
  if (err->where[0] != '\0')
    snprintf(detail, sizeof detail, "%s: %s", err->where, err->text);
  else
    snprintf(detail, sizeof detail, "%s", err->text);
  cli_error(cmd, what, code, detail);
}

medshim_journal *cli_open_journal(const char *cmd, const char *dir,
                                  const char *key, unsigned flags) {
  return cli_open_journal_suite(cmd, dir, key, flags,
                                MEDSHIM_JOURNAL_SUITE_DEFAULT);
}

int cli_parse_suite(const char *cmd, const char *name, unsigned *suite) {
  for (unsigned s = 0; medshim_journal_suite_name(s) != NULL; s++)
    if (strcmp(name, medshim_journal_suite_name(s)) == 0) {
      *suite = s;
      return 0;
    }
  fprintf(stderr, "medshim %s: --suite %s: expected sm or default\n", cmd,
          name);
  return -1;
}

medshim_journal *cli_open_journal_suite(const char *cmd, const char *dir,
                                        const char *key, unsigned flags,
                                        unsigned suite) {
  medshim_journal_options o = MEDSHIM_JOURNAL_OPTIONS_INIT;
  medshim_journal *j = NULL;
  medshim_error err;
  int rc;
  memset(&err, 0, sizeof err);
  o.key_file = key;
  o.flags = flags;
  o.suite = suite;
  rc = medshim_journal_open(&j, dir, &o, &err);
  if (rc != MEDSHIM_OK) {
    cli_error_err(cmd, dir, rc, &err);
    return NULL;
  }
  return j;
}

int cli_close_journal(const char *cmd, const char *dir, medshim_journal *j,
                      int quiet) {
  medshim_error err;
  int rc;
  memset(&err, 0, sizeof err);
  rc = medshim__journal_close_err(j, &err);
  if (rc != MEDSHIM_OK && !quiet) {
    cli_error_err(cmd, dir, rc, &err);
    fprintf(stderr, "medshim %s: closing the journal failed; what was "
            "acknowledged is on disk, but run medshim verify\n", cmd);
  }
  return rc;
}

int cli_wants_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
      return 1;
  return 0;
}

/* Load --schedule files into a new set; prints errors and notices. */
medshim_schedule_set *cli_load_schedules(const char *cmd, char **files,
                                         size_t nfiles, const char *pubkey,
                                         int require_signed) {
  medshim_schedule_options o = MEDSHIM_SCHEDULE_OPTIONS_INIT;
  medshim_schedule_set *set = NULL;
  medshim_error err;
  char *pem = NULL;
  memset(&err, 0, sizeof err);
  if (pubkey != NULL) {
    FILE *f = fopen(pubkey, "rb");
    long n;
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0 || (pem = calloc(1, (size_t)n + 1)) == NULL ||
        fread(pem, 1, (size_t)n, f) != (size_t)n) {
      fprintf(stderr, "medshim %s: cannot read public key %s\n", cmd, pubkey);
      if (f)
        fclose(f);
      free(pem);
      return NULL;
    }
    fclose(f);
  }
  o.public_key_pem = pem;
  o.require_signed = require_signed;
  if (medshim_schedule_set_new(&set, &o, &err) != MEDSHIM_OK) {
    cli_error_err(cmd, "schedules", err.code, &err);
    free(pem);
    return NULL;
  }
  free(pem);
  for (size_t i = 0; i < nfiles; i++) {
    int rc = medshim_schedule_set_load_file(set, files[i], &err);
    if (rc != MEDSHIM_OK) {
      fprintf(stderr, "medshim %s: %s: %s\n", cmd, err.where, err.text);
      medshim_schedule_set_free(set);
      return NULL;
    }
  }
  for (size_t i = 0; i < medshim_schedule_set_notice_count(set); i++)
    fprintf(stderr, "medshim %s: note: %s\n", cmd,
            medshim_schedule_set_notice(set, i));
  return set;
}


/* A stored text as a JSON string. Texts cut at their size limit by older
 * versions may end in half a character, which jansson refuses: show the
 * whole characters before it rather than dropping the text. */
static json_t *text_value(const char *s) {
  return json_stringn(s, medshim__utf8_valid_prefix(s, strlen(s)));
}

char *cli_claim_json(const medshim_claim *claim, const medshim_claim_status *st,
                     const char *replay_key, unsigned flags) {
  char *cj = NULL, *sj = NULL, *out = NULL;
  json_t *o = json_pack("{s:s, s:I, s:s}", "state", medshim_state_name(st->state),
                        "attempts", (json_int_t)st->attempts, "replay_key",
                        replay_key ? replay_key : "");
  if (o != NULL && st->state == MEDSHIM_STATE_SETTLED) {
    json_object_set_new(o, "settlement_id", text_value(st->settlement_id));
    json_object_set_new(o, "fund_paid_fen", json_integer(st->fund_paid_fen));
    json_object_set_new(o, "acct_paid_fen", json_integer(st->acct_paid_fen));
    json_object_set_new(o, "patient_paid_fen", json_integer(st->patient_paid_fen));
    json_object_set_new(o, "refund_fen", json_integer(st->refund_fen));
    json_object_set_new(o, "total_settled_fen", json_integer(st->total_fen));
    if (st->hospital_share_fen != 0)
      json_object_set_new(o, "hospital_share_fen",
                          json_integer(st->hospital_share_fen));
    if (st->mdtrt_id[0] != '\0')
      json_object_set_new(o, "mdtrt_id", json_string(st->mdtrt_id));
    if (st->msgid[0] != '\0')
      json_object_set_new(o, "msgid", json_string(st->msgid));
    if (st->setl_time != 0) {
      char t[MEDSHIM_TIME_TEXT];
      medshim__time_format(t, st->setl_time);
      json_object_set_new(o, "setl_time", json_string(t));
    }
  }
  if (o != NULL && st->window_assigned) {
    /* a window assigned after defer replaces the journaled one */
    char f[MEDSHIM_TIME_TEXT], u[MEDSHIM_TIME_TEXT];
    static const char *const routes[] = {"none", "hospital", "agency"};
    medshim__time_format(f, st->window.from);
    medshim__time_format(u, st->window.until);
    json_object_set_new(o, "assigned_window",
                        st->window.until != 0
                            ? json_pack("{s:s, s:s, s:s}", "route",
                                        routes[st->window.route], "from", f,
                                        "until", u)
                            : json_pack("{s:s, s:s}", "route",
                                        routes[st->window.route], "from", f));
  }
  if (o != NULL && st->code[0] != '\0') {
    json_object_set_new(o, "code", text_value(st->code));
    json_object_set_new(o, "message", text_value(st->message));
  }
  if (o != NULL && st->state == MEDSHIM_STATE_RETRY_WAIT)
    json_object_set_new(o, "not_before", json_integer(st->not_before));
  sj = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  if (sj != NULL && medshim_claim_to_json(&cj, claim, flags) == MEDSHIM_OK) {
    size_t a = strlen(cj), b = strlen(sj);
    out = malloc(a + b + 1);
    if (out != NULL) {
      /* the claim's JSON (detail byte-exact) with the status spliced in
       * before its closing brace: {...claim... , ...status...} */
      memcpy(out, cj, a - 1);
      out[a - 1] = ',';
      memcpy(out + a, sj + 1, b);
    }
  }
  if (cj != NULL) {
    memset(cj, 0, strlen(cj)); /* may hold revealed personal data */
    medshim_free(cj);
  }
  free(sj);
  return out;
}

void cli_free_line(char *line) {
  if (line != NULL) {
    memset(line, 0, strlen(line));
    free(line);
  }
}

int cli_journal_args(int argc, char **argv, const char **dir, const char **key,
                     void (*usage)(FILE *)) {
  static const struct option opts[] = {{"journal", required_argument, 0, 'j'},
                                       {"key", required_argument, 0, 'k'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  int c;
  *dir = *key = NULL;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (c == 'j') {
      *dir = optarg;
    } else if (c == 'k') {
      *key = optarg;
    } else if (c == 'h') {
      usage(stdout);
      return CLI_EXIT_OK;
    } else {
      usage(stderr);
      return CLI_EXIT_USAGE;
    }
  }
  if (*dir == NULL || *key == NULL || optind != argc) {
    usage(stderr);
    return CLI_EXIT_USAGE;
  }
  return -1;
}

int cli_salvage_note(const char *cmd, const char *dir, medshim_journal *j) {
  medshim_verify_report rep;
  if (medshim_journal_salvage_report(j, &rep) == MEDSHIM_OK)
    return 0;
  fprintf(stderr,
          "medshim %s: %s: SALVAGED: %llu damaged place(s) passed over; what "
          "is printed is every record that authenticates. First: %s (%s)\n",
          cmd, dir, (unsigned long long)rep.segments, rep.text,
          medshim_damage_name(rep.damage));
  return 1;
}
