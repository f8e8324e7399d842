/* Connecting to the queue database and bringing its schema up to date
 * (queue.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "errors_internal.h"
#include "medshim/queue.h"
#include "queue_internal.h"
#include "versioned_internal.h"

struct medshim_queue {
  PGconn *pg;
  int schema;
};

/* One key for every process migrating this database: they take turns. */
#define MIGRATE_LOCK "SELECT pg_advisory_xact_lock(7428610125270385)"

int medshim_queue_options_init(medshim_queue_options *opts,
                               unsigned int version) {
  return MEDSHIM__VERSIONED_INIT(opts, version, MEDSHIM_QUEUE_OPTIONS_VERSION);
}

/* libpq's message without its trailing newline. */
static int pg_fail(medshim_error *err, int code, const char *what, PGconn *pg) {
  char text[MEDSHIM_ERROR_TEXT_MAX];
  size_t n;
  snprintf(text, sizeof text, "%s: %s", what,
           pg != NULL ? PQerrorMessage(pg) : "out of memory");
  n = strlen(text);
  while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
    text[--n] = '\0';
  return medshim__error_set(err, code, "queue", "%s", text);
}

/* Run sql; MEDSHIM_OK or MEDSHIM_EIO with the error set. */
static int exec_ok(PGconn *pg, const char *sql, medshim_error *err,
                   const char *what) {
  PGresult *r = PQexec(pg, sql);
  ExecStatusType s = PQresultStatus(r);
  int ok = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
  PQclear(r);
  return ok ? MEDSHIM_OK : pg_fail(err, MEDSHIM_EIO, what, pg);
}

/* The schema version recorded in the database, 0 when it has none. */
static int read_version(PGconn *pg, int *version, medshim_error *err) {
  PGresult *r = PQexec(pg, "SELECT to_regclass('medshim_schema') IS NOT NULL");
  int have;
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    PQclear(r);
    return pg_fail(err, MEDSHIM_EIO, "reading the schema version", pg);
  }
  have = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
  PQclear(r);
  *version = 0;
  if (!have)
    return MEDSHIM_OK;
  r = PQexec(pg, "SELECT max(version) FROM medshim_schema");
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    PQclear(r);
    return pg_fail(err, MEDSHIM_EIO, "reading the schema version", pg);
  }
  if (!PQgetisnull(r, 0, 0))
    *version = atoi(PQgetvalue(r, 0, 0));
  PQclear(r);
  return MEDSHIM_OK;
}

/* Apply every migration past the recorded version, each in a transaction
 * of its own under the advisory lock. */
static int migrate(PGconn *pg, int *version, medshim_error *err) {
  const char *const *m;
  size_t n = medshim__queue_migrations(&m);
  int rc;
  for (;;) {
    char record[96];
    if ((rc = exec_ok(pg, "BEGIN", err, "migrating")) != MEDSHIM_OK)
      return rc;
    if ((rc = exec_ok(pg, MIGRATE_LOCK, err, "migrating")) != MEDSHIM_OK ||
        (rc = exec_ok(pg, "CREATE TABLE IF NOT EXISTS medshim_schema ("
                          "version integer PRIMARY KEY, "
                          "applied_at timestamptz NOT NULL DEFAULT now())",
                      err, "migrating")) != MEDSHIM_OK ||
        (rc = read_version(pg, version, err)) != MEDSHIM_OK)
      break;
    if (*version < 0 || (size_t)*version >= n) { /* up to date, or newer */
      rc = exec_ok(pg, "COMMIT", err, "migrating");
      return rc;
    }
    snprintf(record, sizeof record,
             "INSERT INTO medshim_schema (version) VALUES (%d)", *version + 1);
    if ((rc = exec_ok(pg, m[*version], err, "migrating")) != MEDSHIM_OK ||
        (rc = exec_ok(pg, record, err, "migrating")) != MEDSHIM_OK ||
        (rc = exec_ok(pg, "COMMIT", err, "migrating")) != MEDSHIM_OK)
      break;
  }
  PQclear(PQexec(pg, "ROLLBACK"));
  return rc;
}

int medshim_queue_open(medshim_queue **out, const char *conninfo,
                       const medshim_queue_options *opts, medshim_error *err) {
  medshim_queue_options o = MEDSHIM_QUEUE_OPTIONS_INIT;
  medshim_queue *q;
  int rc;
  if (out != NULL)
    *out = NULL;
  if (out == NULL || conninfo == NULL)
    return medshim__error_set(err, MEDSHIM_EINVAL, out ? "conninfo" : "out",
                              "must not be NULL");
  if (opts != NULL) {
    if (opts->version != MEDSHIM_QUEUE_OPTIONS_VERSION)
      return medshim__error_set(err, MEDSHIM_EINVAL, "version",
                                "unknown medshim_queue_options version");
    o = *opts;
  }
  if ((q = calloc(1, sizeof *q)) == NULL)
    return medshim__error_set(err, MEDSHIM_ENOMEM, "", "out of memory");
  q->pg = PQconnectdb(conninfo);
  if (q->pg == NULL || PQstatus(q->pg) != CONNECTION_OK) {
    rc = pg_fail(err, MEDSHIM_EIO, "cannot connect to the queue database",
                 q->pg);
    medshim_queue_close(q);
    return rc;
  }
  /* statuses are written before platform calls: a commit must be durable */
  if ((rc = exec_ok(q->pg, "SET synchronous_commit = on", err,
                    "setting up the session")) != MEDSHIM_OK)
    goto fail;
  rc = (o.flags & MEDSHIM_QUEUE_MIGRATE) ? migrate(q->pg, &q->schema, err)
                                         : read_version(q->pg, &q->schema, err);
  if (rc != MEDSHIM_OK)
    goto fail;
  if (q->schema > MEDSHIM_QUEUE_SCHEMA_VERSION) {
    rc = medshim__error_set(err, MEDSHIM_EFORMAT, "queue",
                            "the database's schema is version %d, written by "
                            "a newer medshim; this one knows up to %d",
                            q->schema, MEDSHIM_QUEUE_SCHEMA_VERSION);
    goto fail;
  }
  if (q->schema < MEDSHIM_QUEUE_SCHEMA_VERSION) {
    rc = medshim__error_set(err, MEDSHIM_ESTATE, "queue",
                            q->schema == 0
                                ? "the database has no medshim schema yet: "
                                  "create it (medshim queue init)"
                                : "the database's schema is version %d, "
                                  "older than %d: migrate it "
                                  "(medshim queue init)",
                            q->schema, MEDSHIM_QUEUE_SCHEMA_VERSION);
    goto fail;
  }
  *out = q;
  return MEDSHIM_OK;
fail:
  medshim_queue_close(q);
  return rc;
}

int medshim_queue_schema_version(const medshim_queue *q) {
  return q != NULL ? q->schema : 0;
}

void medshim_queue_close(medshim_queue *q) {
  if (q == NULL)
    return;
  if (q->pg != NULL)
    PQfinish(q->pg);
  free(q);
}
