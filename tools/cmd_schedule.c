/* medshim schedule lint|timeline|sign|verify|keygen. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "cli.h"
#include "cli_util.h"
#include "timeutil_internal.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: medshim schedule lint FILE...\n"
          "       medshim schedule timeline FILE\n"
          "       medshim schedule sign --key PRIVATE.pem FILE   (writes FILE.sig)\n"
          "       medshim schedule verify --pubkey PUBLIC.pem FILE\n"
          "       medshim schedule keygen PRIVATE.pem PUBLIC.pem\n\n"
          "lint checks each file and names the JSON path and reason of each\n"
          "problem. timeline prints the schedule's transitions for briefing\n"
          "cashiers. Signatures are Ed25519 over the file's exact bytes, in\n"
          "FILE.sig (base64); a set told to require signatures refuses others.\n");
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
  if (argc < 2) {
    usage(stderr);
    return CLI_EXIT_USAGE;
  }
  for (int i = 1; i < argc; i++) {
    medshim_schedule_set *set = NULL;
    medshim_error err;
    memset(&err, 0, sizeof err);
    medshim_schedule_set_new(&set, NULL, &err);
    if (set == NULL)
      return CLI_EXIT_FAIL;
    if (medshim_schedule_set_load_file(set, argv[i], &err) != MEDSHIM_OK) {
      fprintf(stderr, "%s: %s\n", err.where, err.text);
      bad++;
    } else {
      printf("%s: ok\n", argv[i]);
    }
    medshim_schedule_set_free(set);
  }
  return bad ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

static const char *t(char buf[MEDSHIM_TIME_TEXT], json_t *v) {
  int64_t x;
  if (!json_is_string(v) ||
      medshim__time_parse(&x, json_string_value(v), json_string_length(v)) != 0)
    return "-";
  medshim__time_format(buf, x);
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
  char a[MEDSHIM_TIME_TEXT], b[MEDSHIM_TIME_TEXT], svc[512];
  if (argc != 2) {
    usage(stderr);
    return CLI_EXIT_USAGE;
  }
  /* Lint first: a timeline of an invalid file would mislead. */
  set = cli_load_schedules("schedule timeline", argv + 1, 1, NULL, 0);
  if (set == NULL)
    return CLI_EXIT_FAIL;
  medshim_schedule_set_free(set);
  root = json_load_file(argv[1], 0, &jerr);
  if (root == NULL)
    return CLI_EXIT_FAIL;
  printf("%s v%d\n%s\n", json_string_value(json_object_get(root, "schedule")),
         (int)json_integer_value(json_object_get(root, "version")),
         json_string_value(json_object_get(root, "source")));
  if (json_is_true(json_object_get(root, "illustrative")))
    printf("ILLUSTRATIVE DATES: see the file's notes before relying on them\n");
  printf("\n%-25s  %-25s  %-9s  %s\n", "from", "until", "effect", "services / note");
  arr = json_object_get(root, "phases");
  json_array_foreach(arr, i, v) {
    const char *eff = json_string_value(json_object_get(v, "effect"));
    services(svc, sizeof svc, json_object_get(v, "services"));
    printf("%-25s  %-25s  %-9s  %s\n", t(a, json_object_get(v, "from")),
           t(b, json_object_get(v, "until")),
           eff && strcmp(eff, "stopped") == 0 ? "DEFER" : "TRY", svc);
    if (json_object_get(v, "note"))
      printf("%-25s  %-25s  %-9s    %s\n", "", "", "",
             json_string_value(json_object_get(v, "note")));
  }
  arr = json_object_get(root, "advice");
  if (json_array_size(arr) > 0)
    printf("\nadvice:\n");
  json_array_foreach(arr, i, v) {
    const char *kind = json_string_value(json_object_get(v, "kind"));
    int before = kind && strcmp(kind, "settle_before") == 0;
    printf("  %s %s: %s\n", before ? "settle before" : "admit self-pay until",
           t(a, json_object_get(v, before ? "at" : "until")),
           json_string_value(json_object_get(v, "text"))
               ? json_string_value(json_object_get(v, "text"))
               : "");
  }
  arr = json_object_get(root, "resettlement");
  if (json_array_size(arr) > 0)
    printf("\nre-settlement:\n");
  json_array_foreach(arr, i, v) {
    services(svc, sizeof svc, json_object_get(v, "services"));
    printf("  %-8s %s .. %s  %s\n",
           json_string_value(json_object_get(v, "route")),
           t(a, json_object_get(v, "from")),
           json_object_get(v, "until") ? t(b, json_object_get(v, "until"))
                                       : "(no deadline)",
           svc);
  }
  json_decref(root);
  return CLI_EXIT_OK;
}

static int sign_or_verify(int argc, char **argv, int sign) {
  const char *keyfile = NULL, *file = NULL;
  char *key, *data, sigpath[4096];
  size_t keylen, len;
  int rc;
  for (int i = 1; i < argc; i++) {
    if ((strcmp(argv[i], "--key") == 0 || strcmp(argv[i], "--pubkey") == 0) &&
        i + 1 < argc)
      keyfile = argv[++i];
    else if (file == NULL && argv[i][0] != '-')
      file = argv[i];
    else {
      usage(stderr);
      return CLI_EXIT_USAGE;
    }
  }
  if (keyfile == NULL || file == NULL) {
    usage(stderr);
    return CLI_EXIT_USAGE;
  }
  key = slurp(keyfile, &keylen);
  data = slurp(file, &len);
  if (key == NULL || data == NULL) {
    fprintf(stderr, "medshim schedule: cannot read %s\n",
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

/* An Ed25519 key pair for signing schedules (what `openssl genpkey
 * -algorithm ed25519` makes). */
static int keygen(int argc, char **argv) {
  EVP_PKEY *key = NULL;
  FILE *priv = NULL, *pub = NULL;
  int ok = 0;
  if (argc != 3) {
    usage(stderr);
    return CLI_EXIT_USAGE;
  }
  key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
  priv = fopen(argv[1], "wx");
  pub = fopen(argv[2], "wx");
  if (key != NULL && priv != NULL && pub != NULL &&
      PEM_write_PrivateKey(priv, key, NULL, NULL, 0, NULL, NULL) == 1 &&
      PEM_write_PUBKEY(pub, key) == 1)
    ok = 1;
  if (priv != NULL && fclose(priv) != 0)
    ok = 0;
  if (pub != NULL && fclose(pub) != 0)
    ok = 0;
  EVP_PKEY_free(key);
  if (!ok) {
    fprintf(stderr, "medshim schedule keygen: cannot create %s and %s (they "
                    "must not exist)\n", argv[1], argv[2]);
    return CLI_EXIT_FAIL;
  }
  return CLI_EXIT_OK;
}

int cli_cmd_schedule(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
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
  fprintf(stderr, "medshim schedule: unknown subcommand '%s'\n", argv[1]);
  usage(stderr);
  return CLI_EXIT_USAGE;
}
