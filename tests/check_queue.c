/* The PostgreSQL queue's foundation (queue.h) against a real server: the
 * throwaway cluster tests/pg_cluster.sh starts for this run (its conninfo
 * in the file MEDSHIM_PG_CONNINFO_FILE names). Each test makes its own
 * database. */
#include <check.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "medshim/medshim.h"
#include "medshim/queue.h"
#include "testutil.h"

static char server[1024]; /* conninfo of the cluster's postgres database */
static char db[1200];     /* conninfo of this test's database */

static PGconn *connect_or_die(const char *conninfo) {
  PGconn *pg = PQconnectdb(conninfo);
  ck_assert_msg(PQstatus(pg) == CONNECTION_OK, "connect: %s",
                PQerrorMessage(pg));
  return pg;
}

static void sql(const char *conninfo, const char *q) {
  PGconn *pg = connect_or_die(conninfo);
  PGresult *r = PQexec(pg, q);
  ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK ||
                    PQresultStatus(r) == PGRES_TUPLES_OK,
                "%s: %s", q, PQerrorMessage(pg));
  PQclear(r);
  PQfinish(pg);
}

static long scalar(const char *q) {
  PGconn *pg = connect_or_die(db);
  PGresult *r = PQexec(pg, q);
  long v;
  ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", q,
                PQerrorMessage(pg));
  v = atol(PQgetvalue(r, 0, 0));
  PQclear(r);
  PQfinish(pg);
  return v;
}

static void setup(void) {
  static int n;
  const char *file = getenv("MEDSHIM_PG_CONNINFO_FILE");
  char name[64], q[128];
  FILE *f;
  ck_assert_msg(file != NULL, "MEDSHIM_PG_CONNINFO_FILE not set");
  f = fopen(file, "r");
  ck_assert_msg(f != NULL, "no %s: was the cluster started?", file);
  ck_assert_ptr_nonnull(fgets(server, sizeof server, f));
  fclose(f);
  server[strcspn(server, "\n")] = '\0';
  snprintf(name, sizeof name, "q_%ld_%d", (long)getpid(), n++);
  snprintf(q, sizeof q, "CREATE DATABASE %s", name);
  sql(server, q);
  snprintf(db, sizeof db, "%s dbname=%s", server, name);
}

START_TEST(test_queue_needs_its_schema) {
  medshim_queue *q = (medshim_queue *)1;
  medshim_error err;
  memset(&err, 0, sizeof err);
  ck_assert_int_eq(medshim_queue_open(&q, db, NULL, &err), MEDSHIM_ESTATE);
  ck_assert_ptr_null(q);
  ck_assert_ptr_nonnull(strstr(err.text, "no medshim schema yet"));
  /* nothing was created by looking */
  ck_assert_int_eq(scalar("SELECT count(*) FROM pg_tables WHERE tablename "
                          "LIKE 'medshim%'"), 0);
}
END_TEST

START_TEST(test_queue_migrates_once) {
  medshim_queue_options o = MEDSHIM_QUEUE_OPTIONS_INIT;
  medshim_queue *q = NULL;
  medshim_error err;
  memset(&err, 0, sizeof err);
  o.flags = MEDSHIM_QUEUE_MIGRATE;
  ck_assert_int_eq(medshim_queue_open(&q, db, &o, &err), MEDSHIM_OK);
  ck_assert_int_eq(medshim_queue_schema_version(q), MEDSHIM_QUEUE_SCHEMA_VERSION);
  medshim_queue_close(q);
  ck_assert_int_eq(scalar("SELECT count(*) FROM medshim_claims"), 0);
  ck_assert_int_eq(scalar("SELECT count(*) FROM medshim_schema"),
                   MEDSHIM_QUEUE_SCHEMA_VERSION);
  /* again, and without asking to migrate: the same schema, nothing added */
  ck_assert_int_eq(medshim_queue_open(&q, db, &o, &err), MEDSHIM_OK);
  medshim_queue_close(q);
  ck_assert_int_eq(medshim_queue_open(&q, db, NULL, &err), MEDSHIM_OK);
  ck_assert_int_eq(medshim_queue_schema_version(q), MEDSHIM_QUEUE_SCHEMA_VERSION);
  medshim_queue_close(q);
  ck_assert_int_eq(scalar("SELECT count(*) FROM medshim_schema"),
                   MEDSHIM_QUEUE_SCHEMA_VERSION);
  /* the unique key by visit that makes forwarding idempotent */
  ck_assert_int_eq(scalar("SELECT count(*) FROM pg_indexes WHERE tablename = "
                          "'medshim_claims' AND indexdef LIKE '%UNIQUE%visit_id%'"),
                   1);
}
END_TEST

/* Terminals and workers start together: they take turns migrating. */
START_TEST(test_queue_concurrent_migrations) {
  enum { N = 6 };
  pid_t pid[N];
  for (int i = 0; i < N; i++) {
    pid[i] = fork();
    ck_assert_int_ge(pid[i], 0);
    if (pid[i] == 0) {
      medshim_queue_options o = MEDSHIM_QUEUE_OPTIONS_INIT;
      medshim_queue *q = NULL;
      o.flags = MEDSHIM_QUEUE_MIGRATE;
      int rc = medshim_queue_open(&q, db, &o, NULL);
      medshim_queue_close(q);
      _exit(rc == MEDSHIM_OK ? 0 : 1);
    }
  }
  for (int i = 0; i < N; i++) {
    int status;
    ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  ck_assert_int_eq(scalar("SELECT count(*) FROM medshim_schema"),
                   MEDSHIM_QUEUE_SCHEMA_VERSION);
}
END_TEST

/* A database a newer medshim migrated is refused and left untouched. */
START_TEST(test_queue_refuses_a_newer_schema) {
  medshim_queue_options o = MEDSHIM_QUEUE_OPTIONS_INIT;
  medshim_queue *q = NULL;
  medshim_error err;
  o.flags = MEDSHIM_QUEUE_MIGRATE;
  ck_assert_int_eq(medshim_queue_open(&q, db, &o, NULL), MEDSHIM_OK);
  medshim_queue_close(q);
  sql(db, "INSERT INTO medshim_schema (version) VALUES (99)");
  memset(&err, 0, sizeof err);
  ck_assert_int_eq(medshim_queue_open(&q, db, &o, &err), MEDSHIM_EFORMAT);
  ck_assert_ptr_null(q);
  ck_assert_ptr_nonnull(strstr(err.text, "newer medshim"));
  ck_assert_int_eq(scalar("SELECT count(*) FROM medshim_schema"),
                   MEDSHIM_QUEUE_SCHEMA_VERSION + 1);
}
END_TEST

START_TEST(test_queue_connection_errors) {
  medshim_queue *q = NULL;
  medshim_error err;
  memset(&err, 0, sizeof err);
  ck_assert_int_eq(medshim_queue_open(&q, "host=/nonexistent-dir dbname=x "
                                          "password=Secret-PW-123",
                                      NULL, &err),
                   MEDSHIM_EIO);
  ck_assert_ptr_null(q);
  ck_assert_ptr_nonnull(strstr(err.text, "cannot connect"));
  ck_assert_ptr_null(strstr(err.text, "Secret-PW-123"));
  ck_assert_int_eq(medshim_queue_open(&q, NULL, NULL, &err), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_queue_open(NULL, db, NULL, &err), MEDSHIM_EINVAL);
  medshim_queue_close(NULL);
}
END_TEST

int main(void) {
  Suite *s = suite_create("queue");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_queue_needs_its_schema);
  tcase_add_test(tc, test_queue_migrates_once);
  tcase_add_test(tc, test_queue_concurrent_migrations);
  tcase_add_test(tc, test_queue_refuses_a_newer_schema);
  tcase_add_test(tc, test_queue_connection_errors);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
