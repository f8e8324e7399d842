/* medshim verify: check a journal for damage or tampering. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cli_util.h"

static void usage(FILE *f) {
  fprintf(f, "usage: medshim verify --journal DIR --key KEYFILE\n\n"
             "Authenticates every record, its sequence and running hash, the\n"
             "segment links and the checkpoint. Prints a JSON summary; exit 0\n"
             "when intact (a torn tail left by a crash is reported but is not\n"
             "damage), 1 with the damaged segment, record and offset.\n");
}

int cli_cmd_verify(int argc, char **argv) {
  medshim_journal_options o = MEDSHIM_JOURNAL_OPTIONS_INIT;
  medshim_verify_report rep;
  const char *dir = NULL, *key = NULL;
  json_t *out;
  char *s;
  int c, rc;
  if ((c = cli_journal_args(argc, argv, &dir, &key, usage)) >= 0)
    return c;
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
  if (out != NULL && rep.damage != MEDSHIM_DAMAGE_NONE) {
    json_object_set_new(out, "segment", json_integer((json_int_t)rep.segment));
    json_object_set_new(out, "record", json_integer((json_int_t)rep.seq));
    json_object_set_new(out, "offset", json_integer((json_int_t)rep.offset));
    json_object_set_new(out, "detail", json_string(rep.text));
  }
  s = out ? json_dumps(out, JSON_COMPACT) : NULL;
  if (s != NULL)
    printf("%s\n", s);
  free(s);
  json_decref(out);
  if (rc != MEDSHIM_OK) {
    fprintf(stderr, "medshim verify: %s: DAMAGED (%s): %s\n", dir,
            medshim_damage_name(rep.damage), rep.text);
    return CLI_EXIT_FAIL;
  }
  if (rep.damage == MEDSHIM_DAMAGE_TORN_TAIL)
    fprintf(stderr, "medshim verify: note: %s\n", rep.text);
  return CLI_EXIT_OK;
}
