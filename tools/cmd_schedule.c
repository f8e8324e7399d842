/* medshim schedule lint|timeline|sign|verify|keygen. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "cli.h"
#include "cli_opt.h"
#include "cli_util.h"
#include "io_internal.h"
#include "os.h"
#include "timeutil_internal.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: medshim schedule lint FILE...\n"
          "       medshim schedule timeline FILE\n"
          "       medshim schedule sign --key PRIVATE.pem FILE   (writes FILE.sig)\n"
          "       medshim schedule verify --pubkey PUBLIC.pem FILE\n"
          "       medshim schedule keygen [--alg ed25519|sm2] PRIVATE.pem PUBLIC.pem\n\n"
          "lint checks each file and names the JSON path and reason of each\n"
          "problem. timeline prints the schedule's transitions for briefing\n"
          "cashiers. Signatures are over the file's exact bytes, in FILE.sig\n"
          "(base64), Ed25519 or SM2 with SM3 (keygen --alg sm2): the key says\n"
          "which. A set told to require signatures refuses others.\n"
          "timeline shows days as people read them (+08:00; \"through\" is the\n"
          "last day, inclusive); the files' own times are exclusive instants.\n\n"
          "Exit status: 0 ok; 1 a file is invalid, unreadable or its signature\n"
          "does not verify; 64 bad command line.\n");
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  long n;
  if (f == NULL)
    return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
      fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL) {
    if (fread(buf, 1, (size_t)n, f) == (size_t)n) {
      buf[n] = '\0';
      *len = (size_t)n;
    } else {
      free(buf);
      buf = NULL;
    }
  }
  fclose(f);
  return buf;
}

static int lint(int argc, char **argv) {
  int bad = 0;
  if (argc < 2)
    return cli_missing("schedule lint", "FILE");
  for (int i = 1; i < argc; i++) {
    medshim_schedule_set *set = NULL;
    medshim_error err;
    memset(&err, 0, sizeof err);
    medshim_schedule_set_new(&set, NULL, &err);
    if (set == NULL)
      return CLI_EXIT_FAIL;
    if (medshim_schedule_set_load_file(set, argv[i], &err) != MEDSHIM_OK) {
      fprintf(stderr, "medshim schedule lint: %s: %s\n", err.where, err.text);
      bad++;
    } else {
      printf("%s: ok\n", argv[i]);
    }
    medshim_schedule_set_free(set);
  }
  return bad ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

/* Times as people read them, in +08:00: the day a period starts (with its
 * time unless midnight), and the last day of one that ends at an exclusive
 * instant (2024-01-01T00:00 ends on 2023-12-31). */
static const char *day(char buf[MEDSHIM_DAY_TEXT], json_t *v, int last) {
  int64_t x;
  if (!json_is_string(v) ||
      medshim__time_parse(&x, json_string_value(v), json_string_length(v)) != 0)
    return "-";
  if ((last ? medshim_format_last_day(buf, x) : medshim_format_day(buf, x)) !=
      MEDSHIM_OK)
    return "-";
  return buf;
}

static void services(char *out, size_t size, json_t *arr) {
  size_t i, n = 0;
  json_t *v;
  out[0] = '\0';
  json_array_foreach(arr, i, v) {
    int w = snprintf(out + n, size - n, "%s%s", i ? "," : "",
                     json_string_value(v) ? json_string_value(v) : "?");
    if (w < 0 || (size_t)w >= size - n)
      break;
    n += (size_t)w;
  }
}

/* The schedule's phases, advice and re-settlement windows in time order. */
static int timeline(int argc, char **argv) {
  medshim_schedule_set *set;
  json_t *root, *arr, *v;
  json_error_t jerr;
  size_t i;
  char a[MEDSHIM_DAY_TEXT], b[MEDSHIM_DAY_TEXT], svc[512];
  if (argc < 2)
    return cli_missing("schedule timeline", "FILE");
  if (argc > 2)
    return cli_extra("schedule timeline", argv[2]);
  /* Lint first: a timeline of an invalid file would mislead. */
  set = cli_load_schedules("schedule timeline", argv + 1, 1, NULL, 0);
  if (set == NULL)
    return CLI_EXIT_FAIL;
  medshim_schedule_set_free(set);
  root = json_load_file(argv[1], 0, &jerr);
  if (root == NULL)
    return CLI_EXIT_FAIL;
  printf("%s v%lld\n%s\n", json_string_value(json_object_get(root, "schedule")),
         (long long)json_integer_value(json_object_get(root, "version")),
         json_string_value(json_object_get(root, "source")));
  if (json_is_true(json_object_get(root, "illustrative")))
    printf("ILLUSTRATIVE DATES: see the file's notes before relying on them\n");
  printf("Days are +08:00; \"through\" is the last day, inclusive.\n");
  printf("\n%-16s  %-23s  %-6s  %s\n", "from", "through", "effect",
         "services / note");
  arr = json_object_get(root, "phases");
  json_array_foreach(arr, i, v) {
    const char *eff = json_string_value(json_object_get(v, "effect"));
    services(svc, sizeof svc, json_object_get(v, "services"));
    printf("%-16s  %-23s  %-6s  %s\n", day(a, json_object_get(v, "from"), 0),
           day(b, json_object_get(v, "until"), 1),
           eff && strcmp(eff, "stopped") == 0 ? "DEFER" : "TRY", svc);
    if (json_object_get(v, "note"))
      printf("%-16s  %-23s  %-6s    %s\n", "", "", "",
             json_string_value(json_object_get(v, "note")));
  }
  arr = json_object_get(root, "advice");
  if (json_array_size(arr) > 0)
    printf("\nadvice:\n");
  json_array_foreach(arr, i, v) {
    const char *kind = json_string_value(json_object_get(v, "kind"));
    int before = kind && strcmp(kind, "settle_before") == 0;
    printf("  %s %s: %s\n", before ? "settle by" : "admit self-pay through",
           day(a, json_object_get(v, before ? "at" : "until"), 1),
           json_string_value(json_object_get(v, "text"))
               ? json_string_value(json_object_get(v, "text"))
               : "");
  }
  arr = json_object_get(root, "resettlement");
  if (json_array_size(arr) > 0)
    printf("\nre-settlement:\n");
  json_array_foreach(arr, i, v) {
    json_t *vf = json_object_get(v, "visits_from"),
           *vu = json_object_get(v, "visits_until");
    services(svc, sizeof svc, json_object_get(v, "services"));
    printf("  %-8s %s through %s  %s\n",
           json_string_value(json_object_get(v, "route")),
           day(a, json_object_get(v, "from"), 0),
           json_object_get(v, "until") ? day(b, json_object_get(v, "until"), 1)
                                       : "(no deadline)",
           svc);
    /* the visits a rule covers: without them two rules for the same
     * services read as the same line */
    if (vf != NULL || vu != NULL) {
      printf("  %-8s for visits %s", "", vf ? day(a, vf, 0) : "(any)");
      printf(" through %s\n", vu ? day(b, vu, 1) : "(any)");
    } else {
      printf("  %-8s for visits of any day\n", "");
    }
    if (json_object_get(v, "note"))
      printf("  %-8s %s\n", "", json_string_value(json_object_get(v, "note")));
  }
  json_decref(root);
  return CLI_EXIT_OK;
}

static int sign_or_verify(int argc, char **argv, int sign) {
  const char *keyfile = NULL, *file = NULL;
  const char *cmd = sign ? "schedule sign" : "schedule verify";
  char *key, *data, sigpath[4096];
  size_t keylen, len;
  int rc;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--key") == 0 || strcmp(argv[i], "--pubkey") == 0) {
      if (i + 1 >= argc) {
        fprintf(stderr, "medshim %s: option '%s' needs a value (medshim "
                        "schedule --help)\n", cmd, argv[i]);
        return CLI_EXIT_USAGE;
      }
      keyfile = argv[++i];
    } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
      fprintf(stderr, "medshim %s: unrecognized option '%s' (medshim schedule "
                      "--help)\n", cmd, argv[i]);
      return CLI_EXIT_USAGE;
    } else if (file == NULL) {
      file = argv[i];
    } else {
      return cli_extra(cmd, argv[i]);
    }
  }
  if (keyfile == NULL)
    return cli_missing(cmd, sign ? "--key PRIVATE.pem" : "--pubkey PUBLIC.pem");
  if (file == NULL)
    return cli_missing(cmd, "FILE");
  key = slurp(keyfile, &keylen);
  data = slurp(file, &len);
  if (key == NULL || data == NULL) {
    fprintf(stderr, "medshim %s: cannot read %s\n", cmd,
            key == NULL ? keyfile : file);
    free(key);
    free(data);
    return CLI_EXIT_FAIL;
  }
  snprintf(sigpath, sizeof sigpath, "%s.sig", file);
  if (sign) {
    char *sig = NULL;
    FILE *f;
    rc = medshim_schedule_sign(&sig, data, len, key);
    if (rc == MEDSHIM_OK && (f = fopen(sigpath, "wb")) != NULL) {
      fprintf(f, "%s\n", sig);
      rc = fclose(f) == 0 ? MEDSHIM_OK : MEDSHIM_EIO;
    } else if (rc == MEDSHIM_OK) {
      rc = MEDSHIM_EIO;
    }
    if (rc == MEDSHIM_OK)
      printf("%s: signed -> %s\n", file, sigpath);
    medshim_free(sig);
  } else {
    size_t siglen = 0;
    char *sig = slurp(sigpath, &siglen);
    if (sig == NULL) {
      fprintf(stderr, "medshim schedule verify: %s: no signature (%s)\n", file,
              sigpath);
      rc = MEDSHIM_ESIGNATURE;
    } else {
      while (siglen > 0 && (sig[siglen - 1] == '\n' || sig[siglen - 1] == '\r'))
        sig[--siglen] = '\0';
      rc = medshim_schedule_verify(data, len, sig, key);
      free(sig);
    }
    if (rc == MEDSHIM_OK)
      printf("%s: signature valid\n", file);
  }
  if (rc != MEDSHIM_OK)
    fprintf(stderr, "medshim schedule %s: %s: %s\n", sign ? "sign" : "verify",
            file, medshim_strerror(rc));
  free(key);
  free(data);
  return rc == MEDSHIM_OK ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

/* A new file holding text, never over an existing file nor through a
 * link, owner-only (mode 0600; on Windows an owner-only ACL), synced.
 * 0, or -1 with errno. */
static int write_new(const char *path, const char *text) {
  int fd = medshim__os_open(path, MEDSHIM__OS_WRITE | MEDSHIM__OS_CREATE |
                                      MEDSHIM__OS_EXCL);
  int rc = -1;
  if (fd < 0)
    return -1;
  if (medshim__io_write_all(fd, text, strlen(text)) == 0 &&
      medshim__os_fsync(fd) == 0)
    rc = 0;
  if (medshim__os_close(fd) != 0)
    rc = -1;
  return rc;
}

/* A key pair for signing schedules (medshim_schedule_keygen()): Ed25519
 * (what `openssl genpkey -algorithm ed25519` makes) or, with --alg sm2,
 * SM2 (`openssl genpkey -algorithm sm2`). */
static int keygen(int argc, char **argv) {
  char *priv_pem = NULL, *pub_pem = NULL;
  unsigned int alg = MEDSHIM_SCHEDULE_KEY_ED25519;
  int ok = 0;
  if (argc >= 3 && strcmp(argv[1], "--alg") == 0) {
    if (strcmp(argv[2], "sm2") == 0) {
      alg = MEDSHIM_SCHEDULE_KEY_SM2;
    } else if (strcmp(argv[2], "ed25519") != 0) {
      fprintf(stderr, "medshim schedule keygen: --alg %s: expected ed25519 "
                      "or sm2\n", argv[2]);
      return CLI_EXIT_USAGE;
    }
    argc -= 2;
    argv += 2;
  }
  if (argc < 3)
    return cli_missing("schedule keygen", "PRIVATE.pem PUBLIC.pem");
  if (argc > 3)
    return cli_extra("schedule keygen", argv[3]);
  /* Both owner-only: copy the public key to where it verifies. */
  if (medshim_schedule_keygen(&priv_pem, &pub_pem, alg) == MEDSHIM_OK &&
      write_new(argv[1], priv_pem) == 0 && write_new(argv[2], pub_pem) == 0)
    ok = 1;
  if (priv_pem != NULL)
    OPENSSL_cleanse(priv_pem, strlen(priv_pem));
  medshim_free(priv_pem);
  medshim_free(pub_pem);
  if (!ok) {
    fprintf(stderr, "medshim schedule keygen: cannot create %s and %s (they "
                    "must not exist)\n", argv[1], argv[2]);
    return CLI_EXIT_FAIL;
  }
  return CLI_EXIT_OK;
}

int cli_cmd_schedule(int argc, char **argv) {
  if (argc < 2)
    return cli_missing("schedule", "a subcommand (lint timeline sign verify "
                                   "keygen)");
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    usage(stdout);
    return CLI_EXIT_OK;
  }
  if (cli_wants_help(argc, argv)) {
    usage(stdout);
    return CLI_EXIT_OK;
  }
  if (strcmp(argv[1], "lint") == 0)
    return lint(argc - 1, argv + 1);
  if (strcmp(argv[1], "timeline") == 0)
    return timeline(argc - 1, argv + 1);
  if (strcmp(argv[1], "sign") == 0)
    return sign_or_verify(argc - 1, argv + 1, 1);
  if (strcmp(argv[1], "verify") == 0)
    return sign_or_verify(argc - 1, argv + 1, 0);
  if (strcmp(argv[1], "keygen") == 0)
    return keygen(argc - 1, argv + 1);
  {
    static const char *const subs[] = {"lint", "timeline", "sign", "verify",
                                       "keygen"};
    const char *best = NULL;
    size_t bestd = (size_t)-1;
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
      size_t d = cli_edit_distance(argv[1], subs[i]);
      if (d < bestd) {
        bestd = d;
        best = subs[i];
      }
    }
    fprintf(stderr, "medshim schedule: unknown subcommand '%s'", argv[1]);
    if (best != NULL && bestd <= 2 && bestd < strlen(best))
      fprintf(stderr, "; did you mean '%s'?", best);
    fprintf(stderr, " (lint timeline sign verify keygen)\n");
  }
  return CLI_EXIT_USAGE;
}
