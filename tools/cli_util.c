/* Error printing and journal opening shared by the medshim commands. */
#include <string.h>

#include "cli_util.h"

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
  medshim_journal_options o = MEDSHIM_JOURNAL_OPTIONS_INIT;
  medshim_journal *j = NULL;
  medshim_error err;
  int rc;
  memset(&err, 0, sizeof err);
  o.key_file = key;
  o.flags = flags;
  rc = medshim_journal_open(&j, dir, &o, &err);
  if (rc != MEDSHIM_OK) {
    cli_error_err(cmd, dir, rc, &err);
    return NULL;
  }
  return j;
}

int cli_wants_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
      return 1;
  return 0;
}
