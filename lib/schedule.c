/* Schedule sets: names, options, loading (with amendments and signatures).
 * The decision is in schedule_decide.c, the index in schedule_index.c, the
 * breaker in schedule_breaker.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors_internal.h"
#include "schedule_internal.h"
#include "timeutil_internal.h"
#include "versioned_internal.h"

int medshim_schedule_options_init(medshim_schedule_options *opts,
                                  unsigned int version) {
  return MEDSHIM__VERSIONED_INIT(opts, version,
                                 MEDSHIM_SCHEDULE_OPTIONS_VERSION);
}

int medshim_schedule_set_new(medshim_schedule_set **out,
                             const medshim_schedule_options *opts,
                             medshim_error *err) {
  medshim_schedule_set *set = NULL;
  int rc = MEDSHIM_OK;
  if (out == NULL)
    return medshim__error_set(err, MEDSHIM_EINVAL, "", "out is NULL");
  *out = NULL;
  if (opts != NULL && opts->version != MEDSHIM_SCHEDULE_OPTIONS_VERSION)
    return medshim__error_set(err, MEDSHIM_EINVAL, "opts",
                              "unknown options version");
  /* Requiring signatures without a key to check them against is a
   * configuration error, not a silent "accept everything". */
  if (opts != NULL && opts->require_signed && opts->public_key_pem == NULL)
    return medshim__error_set(err, MEDSHIM_EINVAL, "require_signed",
                              "signatures required but no public key given");
  set = calloc(1, sizeof *set);
  if (set == NULL) {
    rc = medshim__error_set(err, MEDSHIM_ENOMEM, "", "out of memory");
    goto cleanup;
  }
  if (opts != NULL)
    set->opts = *opts;
  set->opts.version = MEDSHIM_SCHEDULE_OPTIONS_VERSION;
  if (set->opts.breaker_threshold == 0)
    set->opts.breaker_threshold = 5;
  if (set->opts.breaker_open_seconds == 0)
    set->opts.breaker_open_seconds = 300;
  if (opts != NULL && opts->public_key_pem != NULL) {
    set->public_key_pem = strdup(opts->public_key_pem);
    if (set->public_key_pem == NULL) {
      rc = medshim__error_set(err, MEDSHIM_ENOMEM, "", "out of memory");
      goto cleanup;
    }
    /* Parsed once; a key that does not parse is a configuration error:
     * said now, not at the first signed file. */
    if ((set->public_key = medshim__sched_pubkey_parse(set->public_key_pem)) ==
        NULL) {
      rc = medshim__error_set(err, MEDSHIM_EKEY, "public_key_pem",
                              "not an Ed25519 public key in PEM form");
      goto cleanup;
    }
  }
  set->opts.public_key_pem = set->public_key_pem;
  if ((set->breakers = calloc(1, sizeof *set->breakers)) == NULL) {
    rc = medshim__error_set(err, MEDSHIM_ENOMEM, "", "out of memory");
    goto cleanup;
  }
  pthread_mutex_init(&set->breakers->mu, NULL);
  atomic_init(&set->breakers->tripped, 0);
  pthread_mutex_init(&set->load_mu, NULL);
  atomic_init(&set->index, NULL);
  *out = set;
  set = NULL;
cleanup:
  if (set != NULL) {
    medshim__sched_pubkey_free(set->public_key);
    free(set->public_key_pem);
    free(set);
  }
  return rc;
}

void medshim_schedule_set_free(medshim_schedule_set *set) {
  if (set == NULL)
    return;
  medshim__sched_index_free(set);
  for (size_t i = 0; i < set->nscheds; i++)
    medshim__sched_free(set->scheds[i]);
  free(set->scheds);
  for (size_t i = 0; i < set->nretired; i++)
    medshim__sched_free(set->retired[i]);
  free(set->retired);
  pthread_mutex_destroy(&set->load_mu);
  for (size_t i = 0; i < set->nnotices; i++)
    free(set->notices[i]);
  free(set->notices);
  medshim__sched_pubkey_free(set->public_key);
  free(set->public_key_pem);
  if (set->breakers != NULL) {
    pthread_mutex_destroy(&set->breakers->mu);
    free(set->breakers);
  }
  free(set);
}

static void notice(medshim_schedule_set *set, const char *text) {
  char **n = realloc(set->notices, (set->nnotices + 1) * sizeof *n);
  if (n == NULL)
    return;
  set->notices = n;
  if ((n[set->nnotices] = strdup(text)) != NULL)
    set->nnotices++;
}

/* The accessors take the load lock: a load may be growing the arrays. The
 * texts themselves are never freed before the set. */
static pthread_mutex_t *load_mu(const medshim_schedule_set *set) {
  return &((medshim_schedule_set *)set)->load_mu;
}

size_t medshim_schedule_set_notice_count(const medshim_schedule_set *set) {
  size_t n;
  if (set == NULL)
    return 0;
  pthread_mutex_lock(load_mu(set));
  n = set->nnotices;
  pthread_mutex_unlock(load_mu(set));
  return n;
}

const char *medshim_schedule_set_notice(const medshim_schedule_set *set,
                                        size_t i) {
  const char *text = NULL;
  if (set == NULL)
    return NULL;
  pthread_mutex_lock(load_mu(set));
  if (i < set->nnotices)
    text = set->notices[i];
  pthread_mutex_unlock(load_mu(set));
  return text;
}

size_t medshim_schedule_set_count(const medshim_schedule_set *set) {
  size_t n;
  if (set == NULL)
    return 0;
  pthread_mutex_lock(load_mu(set));
  n = set->nscheds;
  pthread_mutex_unlock(load_mu(set));
  return n;
}

/* A schedule replaced by a newer version: kept until the set is freed, as
 * an index still read by a deciding thread, and the decisions it gave,
 * point into it. Without memory to keep it, it is leaked, never freed. */
static void retire(medshim_schedule_set *set, sched *old) {
  sched **n = realloc(set->retired, (set->nretired + 1) * sizeof *n);
  if (n == NULL)
    return;
  set->retired = n;
  set->retired[set->nretired++] = old;
}

static int load_locked(medshim_schedule_set *set, const char *name,
                       const char *json, size_t len, const char *signature,
                       medshim_error *err);

/* Loads are serialised; decisions in other threads go on meanwhile, each
 * on the index before or after this load (schedule_internal.h). */
int medshim_schedule_set_load_json(medshim_schedule_set *set, const char *name,
                                   const char *json, size_t len,
                                   const char *signature, medshim_error *err) {
  int rc;
  if (set == NULL || json == NULL)
    return medshim__error_set(err, MEDSHIM_EINVAL, "", "bad arguments");
  if (name == NULL)
    name = "(schedule)";
  pthread_mutex_lock(&set->load_mu);
  rc = load_locked(set, name, json, len, signature, err);
  pthread_mutex_unlock(&set->load_mu);
  return rc;
}

static int load_locked(medshim_schedule_set *set, const char *name,
                       const char *json, size_t len, const char *signature,
                       medshim_error *err) {
  sched *s = NULL, *old = NULL;
  char text[512];
  size_t slot = 0;
  int rc;
  /* The signature is checked before the content is even parsed: a forged
   * file gets no further than this. */
  if (signature != NULL && set->public_key_pem != NULL) {
    rc = medshim__sched_verify_with(json, len, signature, set->public_key);
    if (rc != MEDSHIM_OK)
      return medshim__error_set(err, MEDSHIM_ESIGNATURE, name,
                                "signature does not verify: the file was "
                                "altered or signed with another key");
  } else if (signature == NULL && set->opts.require_signed) {
    return medshim__error_set(err, MEDSHIM_ESIGNATURE, name,
                              "unsigned schedule refused (signatures are "
                              "required)");
  }
  if ((rc = medshim__sched_parse(&s, json, len, err)) != MEDSHIM_OK)
    return rc;
  for (slot = 0; slot < set->nscheds; slot++)
    if (strcmp(set->scheds[slot]->id, s->id) == 0)
      break;
  if (slot < set->nscheds && s->version <= set->scheds[slot]->version) {
    medshim__fmt(text, sizeof text, "%s: schedule %s v%u ignored: v%u is already "
             "loaded", name, s->id, (unsigned)s->version,
             (unsigned)set->scheds[slot]->version);
    notice(set, text);
    medshim__sched_free(s);
    return MEDSHIM_OK;
  }
  if (slot < set->nscheds) {
    old = set->scheds[slot];
    set->scheds[slot] = s;
  } else {
    sched **n = realloc(set->scheds, (set->nscheds + 1) * sizeof *n);
    if (n == NULL) {
      medshim__sched_free(s);
      return medshim__error_set(err, MEDSHIM_ENOMEM, "", "out of memory");
    }
    set->scheds = n;
    set->scheds[set->nscheds++] = s;
  }
  /* The old index stays in place when this fails, so put the old
   * schedules back too: a failed load leaves the set as it was. */
  rc = medshim__sched_compile(set);
  if (rc != MEDSHIM_OK) {
    if (old != NULL)
      set->scheds[slot] = old;
    else
      set->nscheds--;
    medshim__sched_free(s);
    return medshim__error_set(err, rc, "", "out of memory");
  }
  if (old != NULL) {
    medshim__fmt(text, sizeof text, "%s: schedule %s v%u supersedes v%u", name,
             s->id, (unsigned)s->version, (unsigned)old->version);
    notice(set, text);
    retire(set, old);
  }
  if (signature != NULL && set->public_key_pem == NULL) {
    /* Nothing to check it against, and unsigned files are accepted
     * anyway: loaded as unsigned, and said so. */
    medshim__fmt(text, sizeof text, "%s: signature not checked: no public key "
             "configured", name);
    notice(set, text);
  }
  return MEDSHIM_OK;
}

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  long n;
  if (f == NULL)
    return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
      n < (64L << 20) && fseek(f, 0, SEEK_SET) == 0) {
    buf = malloc((size_t)n + 1);
    if (buf != NULL && fread(buf, 1, (size_t)n, f) == (size_t)n) {
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

int medshim_schedule_set_load_file(medshim_schedule_set *set, const char *path,
                                   medshim_error *err) {
  char *sigpath, *json, *sig;
  size_t len, siglen, plen;
  int rc;
  if (set == NULL || path == NULL)
    return medshim__error_set(err, MEDSHIM_EINVAL, "", "bad arguments");
  json = read_all(path, &len);
  if (json == NULL)
    return medshim__error_set(err, MEDSHIM_EIO, path, "cannot read: %s",
                              strerror(errno));
  plen = strlen(path);
  if ((sigpath = malloc(plen + sizeof ".sig")) == NULL) {
    free(json);
    return medshim__error_set(err, MEDSHIM_ENOMEM, path, "out of memory");
  }
  memcpy(sigpath, path, plen);
  memcpy(sigpath + plen, ".sig", sizeof ".sig");
  sig = read_all(sigpath, &siglen);
  free(sigpath);
  if (sig != NULL)
    while (siglen > 0 && (sig[siglen - 1] == '\n' || sig[siglen - 1] == '\r' ||
                          sig[siglen - 1] == ' '))
      sig[--siglen] = '\0';
  rc = medshim_schedule_set_load_json(set, path, json, len, sig, err);
  if (rc != MEDSHIM_OK && err != NULL && err->where[0] != '\0' &&
      strcmp(err->where, path) != 0) {
    /* prefix the JSON path with the file */
    char where[2 * MEDSHIM_ERROR_WHERE_MAX + 8];
    medshim__fmt(where, sizeof where, "%s: %s", path, err->where);
    /* long paths are cut, on a character boundary */
    medshim__fmt(err->where, sizeof err->where, "%s", where);
  } else if (rc != MEDSHIM_OK && err != NULL && err->where[0] == '\0') {
    medshim__fmt(err->where, sizeof err->where, "%s", path);
  }
  free(json);
  free(sig);
  return rc;
}
