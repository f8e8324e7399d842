/* The bulk import as a HIS would do it with SQLCipher, the encrypted
 * SQLite a vendor would otherwise reach for: open (create) DB with a raw
 * 256-bit key, WAL and synchronous=FULL like bench_journal's SQLite, read
 * the JSON lines file, validate each line with jansson, insert them all in
 * one transaction. A separate program because SQLCipher and SQLite export
 * the same symbols; bench_journal times it from fork to exit, as it times
 * `medshim defer`. Exit status 0 on success; prints nothing else.
 * usage: bench_sqlcipher DB INPUT KEYHEX (64 hex digits) */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static int fail(sqlite3 *db, const char *what) {
  fprintf(stderr, "bench_sqlcipher: %s: %s\n", what,
          db != NULL ? sqlite3_errmsg(db) : "failed");
  return 1;
}

int main(int argc, char **argv) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  char pragma[128], line[8192];
  FILE *f;
  if (argc != 4 || strlen(argv[3]) != 64) {
    fprintf(stderr, "usage: bench_sqlcipher DB INPUT KEYHEX\n");
    return 64;
  }
  if (sqlite3_open(argv[1], &db) != SQLITE_OK)
    return fail(db, "open");
  /* a raw key: no key derivation, like the journal's key file */
  snprintf(pragma, sizeof pragma, "PRAGMA key = \"x'%s'\";", argv[3]);
  if (sqlite3_exec(db, pragma, NULL, NULL, NULL) != SQLITE_OK ||
      sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
                   NULL, NULL, NULL) != SQLITE_OK ||
      sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS claims (visit_id TEXT "
                       "PRIMARY KEY, body TEXT NOT NULL)",
                   NULL, NULL, NULL) != SQLITE_OK)
    return fail(db, "set up");
  if (sqlite3_prepare_v2(db, "INSERT INTO claims VALUES (?, ?)", -1, &st,
                         NULL) != SQLITE_OK ||
      sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
    return fail(db, "prepare");
  if ((f = fopen(argv[2], "r")) == NULL)
    return fail(NULL, argv[2]);
  while (fgets(line, sizeof line, f) != NULL) {
    json_error_t e;
    json_t *o = json_loads(line, 0, &e);
    const char *id = json_string_value(json_object_get(o, "visit_id"));
    if (id == NULL)
      return fail(NULL, "a line without visit_id");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, line, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE)
      return fail(db, "insert");
    sqlite3_reset(st);
    json_decref(o);
  }
  fclose(f);
  if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    return fail(db, "commit");
  sqlite3_finalize(st);
  sqlite3_close(db);
  return 0;
}
