/* Option errors prefixed with the command, and enumerated values with the
 * valid ones and the nearest. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_opt.h"
#include "medshim/medshim.h"

int cli_getopt(const char *cmd, int argc, char **argv,
               const struct option *opts) {
  int c, before = optind;
  opterr = 0;
  c = getopt_long(argc, argv, ":h", opts, NULL);
  if (c == '?' || c == ':') {
    /* the offending word: the one getopt just stepped over (or is on, for
     * an unknown letter inside a cluster) */
    const char *word = optind > before && optind - 1 < argc ? argv[optind - 1]
                       : before < argc                    ? argv[before]
                                                          : "";
    char letter[3] = {'-', (char)optopt, '\0'};
    if (c == '?' && optopt != 0 && strncmp(word, "--", 2) != 0)
      word = letter;
    if (c == ':')
      fprintf(stderr, "medshim %s: option '%s' needs a value (medshim %s "
                      "--help)\n", cmd, word, cmd);
    else
      fprintf(stderr, "medshim %s: unrecognized option '%s' (medshim %s "
                      "--help)\n", cmd, word, cmd);
    return '?';
  }
  return c;
}

int cli_missing(const char *cmd, const char *what) {
  fprintf(stderr, "medshim %s: %s is required (medshim %s --help)\n", cmd,
          what, cmd);
  return CLI_EXIT_USAGE;
}

int cli_extra(const char *cmd, const char *arg) {
  fprintf(stderr, "medshim %s: unexpected argument '%s' (medshim %s --help)\n",
          cmd, arg, cmd);
  return CLI_EXIT_USAGE;
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

size_t cli_edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b), *row, d;
  if (la > 256 || lb > 256)
    return (size_t)-1;
  row = malloc((lb + 1) * sizeof *row);
  if (row == NULL)
    return (size_t)-1;
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j], best;
      best = diag + (lower((unsigned char)a[i - 1]) ==
                             lower((unsigned char)b[j - 1])
                         ? 0
                         : 1);
      if (up + 1 < best)
        best = up + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      diag = up;
      row[j] = best;
    }
  }
  d = row[lb];
  free(row);
  return d;
}

static int same_ignoring_case(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if (lower((unsigned char)*a) != lower((unsigned char)*b))
      return 0;
  return *a == *b;
}

static void valid_list(const char *const *names, int n) {
  for (int i = 0; i < n; i++)
    if (names[i] != NULL)
      fprintf(stderr, "%s%s", i ? " " : "", names[i]);
}

int cli_choice(const char *cmd, const char *opt, const char *what,
               const char *text, const char *const *names, int n) {
  int best = -1;
  size_t bestd = (size_t)-1, len = strlen(text);
  for (int i = 0; i < n; i++)
    if (names[i] != NULL && same_ignoring_case(text, names[i]))
      return i;
  for (int i = 0; i < n; i++) {
    size_t d;
    if (names[i] == NULL)
      continue;
    d = cli_edit_distance(text, names[i]);
    if (d < bestd) {
      bestd = d;
      best = i;
    }
  }
  fprintf(stderr, "medshim %s: --%s: unknown %s '%s'", cmd, opt, what, text);
  /* a suggestion only when it is near: at most a third of the word */
  if (best >= 0 && bestd <= (len + 2) / 3 + 1 && bestd < strlen(names[best]))
    fprintf(stderr, "; did you mean '%s'?", names[best]);
  fprintf(stderr, " (valid: ");
  valid_list(names, n);
  fprintf(stderr, ")\n");
  return -1;
}

/* The settlement services by number (schedule services 1..6), then the
 * agency services (16..20). */
#define SERVICE_NAMES_MAX 16

int cli_parse_service(const char *cmd, const char *opt, const char *text,
                      int sched, int *out) {
  static const struct {
    const char *zh;
    int service;
  } zh[] = {{"门诊", MEDSHIM_SERVICE_OUTPATIENT},
            {"住院", MEDSHIM_SERVICE_INPATIENT},
            {"药店", MEDSHIM_SERVICE_PHARMACY}};
  const char *names[SERVICE_NAMES_MAX];
  int values[SERVICE_NAMES_MAX], n = 0, i;
  for (i = 0; i < 3; i++)
    if (strcmp(text, zh[i].zh) == 0) {
      *out = zh[i].service;
      return 0;
    }
  for (int s = 1; s < MEDSHIM_SERVICE_COUNT; s++) {
    names[n] = medshim_service_name((medshim_service)s);
    values[n++] = s;
  }
  for (int s = MEDSHIM_SCHED_ENROLLMENT;
       sched && s <= MEDSHIM_SCHED_ONLINE_SERVICES && n < SERVICE_NAMES_MAX;
       s++) {
    names[n] = medshim_sched_service_name(s);
    values[n++] = s;
  }
  i = cli_choice(cmd, opt, "service", text, names, n);
  if (i < 0) {
    fprintf(stderr, "medshim %s: --%s: also accepted: 门诊 (outpatient), "
                    "住院 (inpatient), 药店 (pharmacy)\n", cmd, opt);
    return -1;
  }
  *out = values[i];
  return 0;
}

int cli_parse_state(const char *cmd, const char *opt, const char *text,
                    int *out) {
  const char *names[MEDSHIM_STATE_VOIDED];
  int i;
  for (i = 0; i < MEDSHIM_STATE_VOIDED; i++)
    names[i] = medshim_state_name((medshim_claim_state)(i + 1));
  i = cli_choice(cmd, opt, "state", text, names, MEDSHIM_STATE_VOIDED);
  if (i < 0)
    return -1;
  *out = i + 1;
  return 0;
}
