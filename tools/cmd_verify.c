/* medshim verify: check a journal for damage or tampering, and against the
 * receipts its HIS kept. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cli_opt.h"
#include "cli_util.h"
#include "journal_verify_internal.h"

static void usage(FILE *f) {
  fprintf(f, "usage: medshim verify --journal DIR --key KEYFILE [--receipts FILE]\n\n"
             "Authenticates every record, its sequence and running hash, the\n"
             "segment links and anchors and the checkpoint. Prints a JSON\n"
             "summary (with \"suite\": default or sm, the journal's crypto\n"
             "suite); exit 0 when intact (a torn tail left by a crash is\n"
             "reported but is not damage), 1 with the damaged segment, record\n"
             "and offset.\n\n"
             "--receipts FILE: also check the receipts the HIS kept, one per\n"
             "line as `VISIT_ID RECEIPT` (tab or spaces; `#` comments and\n"
             "blank lines skipped), as `medshim defer --receipts` writes them.\n"
             "A receipt the journal no longer matches means the directory was\n"
             "rolled back to an older copy, cut or replaced: exit 1, with each\n"
             "such line named.\n\n"
             "Exit status: 0 intact; 1 damage, a receipt that does not match,\n"
             "or the journal could not be read; 64 bad command line.\n");
}

typedef struct receipt_tally {
  size_t lines, ok, bad, malformed;
  json_t *problems;
} receipt_tally;

/* Check each line of path against j. -1 when the file cannot be read. */
static int check_receipts(medshim_journal *j, const char *path,
                          receipt_tally *t) {
  FILE *f = fopen(path, "r");
  char line[1024];
  size_t no = 0;
  if (f == NULL) {
    fprintf(stderr, "medshim verify: %s: cannot read the receipts: %s\n", path,
            strerror(errno));
    return -1;
  }
  while (fgets(line, sizeof line, f) != NULL) {
    char *p = line, *id, *rc_text, *rest;
    int rc;
    no++;
    if (strchr(line, '\n') == NULL && !feof(f)) {
      int ch;
      while ((ch = fgetc(f)) != EOF && ch != '\n')
        ;
      t->malformed++;
      json_array_append_new(t->problems,
                            json_pack("{s:I, s:s}", "line", (json_int_t)no,
                                      "problem", "line too long"));
      continue;
    }
    while (*p == ' ' || *p == '\t')
      p++;
    if (*p == '#' || *p == '\n' || *p == '\r' || *p == '\0')
      continue;
    t->lines++;
    id = strtok_r(p, " \t\r\n", &rest);
    rc_text = strtok_r(NULL, " \t\r\n", &rest);
    if (id == NULL || rc_text == NULL || strtok_r(NULL, " \t\r\n", &rest)) {
      t->malformed++;
      json_array_append_new(
          t->problems, json_pack("{s:I, s:s}", "line", (json_int_t)no, "problem",
                                 "expected VISIT_ID RECEIPT"));
      continue;
    }
    rc = medshim_journal_check_receipt(j, id, rc_text);
    if (rc == MEDSHIM_OK) {
      t->ok++;
      continue;
    }
    if (rc == MEDSHIM_EINVAL)
      t->malformed++;
    else
      t->bad++;
    json_array_append_new(t->problems,
                          json_pack("{s:I, s:s, s:s}", "line", (json_int_t)no,
                                    "visit_id", id, "problem",
                                    medshim_journal_errmsg(j)));
  }
  fclose(f);
  return 0;
}

int cli_cmd_verify(int argc, char **argv) {
  static const struct option opts[] = {{"journal", required_argument, 0, 'j'},
                                       {"key", required_argument, 0, 'k'},
                                       {"receipts", required_argument, 0, 'r'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  medshim_journal_options o = MEDSHIM_JOURNAL_OPTIONS_INIT;
  medshim_verify_report rep;
  const char *dir = NULL, *key = NULL, *receipts = NULL;
  receipt_tally t = {0, 0, 0, 0, NULL};
  json_t *out;
  char *s;
  int c, rc, exit_code = CLI_EXIT_OK;
  optind = 1;
  while ((c = cli_getopt("verify", argc, argv, opts)) != -1) {
    if (c == 'j') {
      dir = optarg;
    } else if (c == 'k') {
      key = optarg;
    } else if (c == 'r') {
      receipts = optarg;
    } else if (c == 'h') {
      usage(stdout);
      return CLI_EXIT_OK;
    } else {
      return CLI_EXIT_USAGE;
    }
  }
  if (dir == NULL)
    return cli_missing("verify", "--journal DIR");
  if (key == NULL)
    return cli_missing("verify", "--key KEYFILE");
  if (optind != argc)
    return cli_extra("verify", argv[optind]);
  o.key_file = key;
  memset(&rep, 0, sizeof rep);
  rep.version = MEDSHIM_VERIFY_REPORT_VERSION;
  rc = medshim_journal_verify(dir, &o, &rep);
  if (rc != MEDSHIM_OK && rc != MEDSHIM_ECORRUPT) {
    cli_error("verify", dir, rc, rep.text);
    return CLI_EXIT_FAIL;
  }
  out = json_pack("{s:b, s:s, s:I, s:I, s:I}", "intact", rc == MEDSHIM_OK,
                  "damage", medshim_damage_name(rep.damage), "segments",
                  (json_int_t)rep.segments, "records", (json_int_t)rep.records,
                  "claims", (json_int_t)rep.claims);
  {
    /* which suite the keyring names (authentic: unwrapped with the key) */
    unsigned suite = 0;
    if (out != NULL &&
        medshim__journal_suite_of(dir, &o, &suite, NULL) == MEDSHIM_OK)
      json_object_set_new(out, "suite",
                          json_string(medshim_journal_suite_name(suite)));
  }
  if (out != NULL && rep.damage != MEDSHIM_DAMAGE_NONE) {
    json_object_set_new(out, "segment", json_integer((json_int_t)rep.segment));
    json_object_set_new(out, "record", json_integer((json_int_t)rep.seq));
    json_object_set_new(out, "offset", json_integer((json_int_t)rep.offset));
    json_object_set_new(out, "detail", json_string(rep.text));
  }
  if (rc != MEDSHIM_OK) {
    fprintf(stderr, "medshim verify: %s: DAMAGED (%s): %s\n", dir,
            medshim_damage_name(rep.damage), rep.text);
    exit_code = CLI_EXIT_FAIL;
  } else if (rep.damage == MEDSHIM_DAMAGE_TORN_TAIL) {
    fprintf(stderr, "medshim verify: note: %s\n", rep.text);
  }
  if (receipts != NULL && rc == MEDSHIM_OK) {
    medshim_journal *j = NULL;
    medshim_error err;
    memset(&err, 0, sizeof err);
    o.flags = MEDSHIM_JOURNAL_READONLY;
    t.problems = json_array();
    if (medshim_journal_open(&j, dir, &o, &err) != MEDSHIM_OK) {
      cli_error("verify", dir, MEDSHIM_EIO, err.text);
      exit_code = CLI_EXIT_FAIL;
    } else if (check_receipts(j, receipts, &t) != 0) {
      exit_code = CLI_EXIT_FAIL;
    } else {
      json_object_set_new(
          out, "receipts",
          json_pack("{s:I, s:I, s:I, s:I, s:o}", "checked",
                    (json_int_t)t.lines, "matching", (json_int_t)t.ok,
                    "not_matching", (json_int_t)t.bad, "malformed",
                    (json_int_t)t.malformed, "problems",
                    json_incref(t.problems)));
      if (t.bad > 0 || t.malformed > 0) {
        fprintf(stderr,
                "medshim verify: %s: %zu of %zu receipts do not match the "
                "journal%s (%zu malformed); see \"problems\"\n",
                dir, t.bad, t.lines,
                t.bad > 0 ? ": the directory was rolled back, cut or replaced"
                          : "",
                t.malformed);
        exit_code = CLI_EXIT_FAIL;
      }
    }
    medshim_journal_close(j);
    json_decref(t.problems);
  }
  s = out ? json_dumps(out, JSON_COMPACT) : NULL;
  if (s != NULL)
    printf("%s\n", s);
  free(s);
  json_decref(out);
  return exit_code;
}
