/* Journal benchmark: durable defers per second against a raw
 * write+fdatasync loop and against SQLite (WAL, synchronous=FULL), bulk
 * `medshim defer` against one SQLite transaction, the per-claim cost of the
 * SM suite against the default one, and the open time and peak memory of a
 * large journal. Prints figures; asserts nothing.
 *
 * Bulk is also compared with SQLCipher (raw key) through bench_sqlcipher,
 * found beside this program unless --sqlcipher names it.
 *
 * usage: bench_journal [--ops N] [--claims N] [--cli PATH] [--dir DIR]
 *                      [--sqlcipher PATH] [--suites-only]
 * --suites-only: only the default and SM suites' cost, side by side. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_claims.h"
#include "bench_result.h"
#include "medshim/medshim.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static char base[4096];

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return v[n / 2];
}
static unsigned char keybytes[32];

static int key_cb(unsigned char k[MEDSHIM_KEY_BYTES], void *payload) {
  (void)payload;
  memcpy(k, keybytes, MEDSHIM_KEY_BYTES);
  return 0;
}

static unsigned journal_suite; /* of the journals open_journal creates */

static medshim_journal *open_journal(const char *name) {
  medshim_journal_options o = MEDSHIM_JOURNAL_OPTIONS_INIT;
  medshim_journal *j = NULL;
  char dir[4200];
  medshim_error err;
  snprintf(dir, sizeof dir, "%s/%s", base, name);
  o.key_fn = key_cb;
  o.flags = MEDSHIM_JOURNAL_CREATE;
  o.suite = journal_suite;
  if (medshim_journal_open(&j, dir, &o, &err) != MEDSHIM_OK) {
    fprintf(stderr, "open %s: %s\n", dir, err.text);
    exit(1);
  }
  return j;
}

/* Bytes a claim takes on disk: the mean record size of the bench's claims
 * (what the raw loop writes, so both write as much). */
static size_t rec_size = 576;

static void measure_record_size(void) {
  medshim_journal_options o = MEDSHIM_JOURNAL_OPTIONS_INIT;
  medshim_journal *j = NULL;
  medshim_claim *cs[200];
  int res[200];
  char dir[4200], path[4300];
  struct stat st;
  snprintf(dir, sizeof dir, "%s/size", base);
  o.key_fn = key_cb;
  o.flags = MEDSHIM_JOURNAL_CREATE;
  for (int i = 0; i < 200; i++)
    cs[i] = bench_claim("S", i);
  if (medshim_journal_open(&j, dir, &o, NULL) != MEDSHIM_OK ||
      medshim_journal_defer_batch(j, (const medshim_claim *const *)cs, 200,
                                  res) != MEDSHIM_OK ||
      medshim_journal_close(j) != MEDSHIM_OK)
    exit(1);
  for (int i = 0; i < 200; i++)
    medshim_claim_free(cs[i]);
  snprintf(path, sizeof path, "%s/seg-0000000000000001.msj", dir);
  if (stat(path, &st) != 0)
    exit(1);
  rec_size = (size_t)(st.st_size - 4096) / 200; /* after the anchor area */
}

/* (a) raw write + fdatasync of a record-sized buffer, appending */
static double bench_raw(int ops) {
  char path[4200];
  unsigned char rec[8192];
  int fd;
  double t;
  snprintf(path, sizeof path, "%s/raw", base);
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
  memset(rec, 0xab, sizeof rec);
  if (rec_size > sizeof rec)
    exit(1);
  t = now();
  for (int i = 0; i < ops; i++) {
    if (write(fd, rec, rec_size) != (ssize_t)rec_size || fdatasync(fd) != 0)
      exit(1);
  }
  t = now() - t;
  close(fd);
  return ops / t;
}

typedef struct job {
  medshim_journal *j;
  sqlite3 *db;
  int t, ops;
  const char *path;
  medshim_claim **claims;
} job;

static void *defer_worker(void *arg) {
  job *w = arg;
  for (int i = 0; i < w->ops; i++)
    if (medshim_journal_defer(w->j, w->claims[i], NULL) != MEDSHIM_OK)
      exit(1);
  return NULL;
}

/* (b)(c) medshim_journal_defer from n threads sharing one handle. The
 * claims are built before the clock starts, as a HIS has its visit in
 * memory already; building them from JSON is measured by the bulk case. */
static double bench_defer(int threads, int ops_total, const char *name) {
  medshim_journal *j = open_journal(name);
  pthread_t th[64];
  job w[64];
  double t;
  int per = ops_total / threads;
  for (int i = 0; i < threads; i++) {
    char prefix[32];
    snprintf(prefix, sizeof prefix, "T%d-", i);
    w[i].j = j;
    w[i].t = i;
    w[i].ops = per;
    w[i].claims = malloc(sizeof *w[i].claims * (size_t)per);
    for (int k = 0; k < per; k++)
      w[i].claims[k] = bench_claim(prefix, k);
  }
  t = now();
  for (int i = 0; i < threads; i++)
    pthread_create(&th[i], NULL, defer_worker, &w[i]);
  for (int i = 0; i < threads; i++)
    pthread_join(th[i], NULL);
  t = now() - t;
  medshim_journal_close(j);
  for (int i = 0; i < threads; i++) {
    for (int k = 0; k < per; k++)
      medshim_claim_free(w[i].claims[k]);
    free(w[i].claims);
  }
  return (per * threads) / t;
}

/* One round of a suite's per-claim costs, in microseconds: cpu = a defer
 * without its sync (defer_batch_nosync of 100 claims built before the
 * clock: sealing, chaining, compressing, writing), open = reopening the
 * journal read-only (authenticating and decrypting every record), durable
 * = a single-thread durable defer (fsync included). */
typedef struct suite_cost {
  double cpu, open, durable;
} suite_cost;

static suite_cost bench_suite_round(unsigned suite, int n, int durable_ops,
                                    int round) {
  enum { B = 100 };
  medshim_journal_options o = MEDSHIM_JOURNAL_OPTIONS_INIT;
  medshim_journal *j;
  medshim_claim **cs = malloc(sizeof *cs * (size_t)n);
  int res[B];
  char name[64], dir[4200];
  suite_cost c;
  double t;
  journal_suite = suite;
  snprintf(name, sizeof name, "suite%u-cpu%d", suite, round);
  for (int i = 0; i < n; i++)
    cs[i] = bench_claim("C", i);
  j = open_journal(name);
  t = now();
  for (int i = 0; i + B <= n; i += B)
    if (medshim_journal_defer_batch_nosync(j, (const medshim_claim *const *)cs + i,
                                           B, res) != MEDSHIM_OK)
      exit(1);
  c.cpu = (now() - t) / (n / B * B) * 1e6;
  medshim_journal_close(j);
  for (int i = 0; i < n; i++)
    medshim_claim_free(cs[i]);
  free(cs);
  snprintf(dir, sizeof dir, "%s/%s", base, name);
  o.key_fn = key_cb;
  o.flags = MEDSHIM_JOURNAL_READONLY;
  t = now();
  if (medshim_journal_open(&j, dir, &o, NULL) != MEDSHIM_OK ||
      medshim_journal_count(j) != (size_t)(n / B * B))
    exit(1);
  c.open = (now() - t) / (n / B * B) * 1e6;
  medshim_journal_close(j);
  snprintf(name, sizeof name, "suite%u-durable%d", suite, round);
  c.durable = 1e6 / bench_defer(1, durable_ops, name);
  journal_suite = MEDSHIM_JOURNAL_SUITE_DEFAULT;
  return c;
}

static void bench_suites(int n, int durable_ops) {
  enum { ROUNDS = 5 };
  double v[2][3][ROUNDS];
  const char *names[2] = {"default (AES-256-GCM, SHA-256)",
                          "sm (SM4-CTR+HMAC-SM3, SM3)"};
  unsigned ids[2] = {MEDSHIM_JOURNAL_SUITE_DEFAULT, MEDSHIM_JOURNAL_SUITE_SM};
  for (int r = 0; r < ROUNDS; r++)
    for (int s = 0; s < 2; s++) {
      /* alternate which suite goes first: the disk drifts */
      int k = (r & 1) ? 1 - s : s;
      suite_cost c = bench_suite_round(ids[k], n, durable_ops, r);
      v[k][0][r] = c.cpu;
      v[k][1][r] = c.open;
      v[k][2][r] = c.durable;
    }
  printf("per claim by suite, medians of %d alternating rounds (%d claims "
         "per round; durable: %d defers of 1 thread):\n", ROUNDS, n,
         durable_ops);
  printf("  %-32s %12s %12s %12s\n", "suite", "defer CPU", "open/claim",
         "durable");
  for (int s = 0; s < 2; s++)
    printf("  %-32s %9.2f us %9.2f us %9.1f us\n", names[s],
           median(v[s][0], ROUNDS), median(v[s][1], ROUNDS),
           median(v[s][2], ROUNDS));
  printf("  sm/default: defer CPU %.2fx, open %.2fx, durable %.2fx\n",
         median(v[1][0], ROUNDS) / median(v[0][0], ROUNDS),
         median(v[1][1], ROUNDS) / median(v[0][1], ROUNDS),
         median(v[1][2], ROUNDS) / median(v[0][2], ROUNDS));
}

static sqlite3 *sqlite_open(const char *path) {
  sqlite3 *db;
  if (sqlite3_open(path, &db) != SQLITE_OK)
    exit(1);
  sqlite3_busy_timeout(db, 60000);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL,
               NULL, NULL);
  sqlite3_exec(db,
               "CREATE TABLE IF NOT EXISTS claims (visit_id TEXT PRIMARY KEY, "
               "body TEXT NOT NULL)",
               NULL, NULL, NULL);
  return db;
}

static void sqlite_insert(sqlite3 *db, sqlite3_stmt *st, const char *prefix,
                          long i) {
  char id[64], body[6144];
  (void)db;
  snprintf(id, sizeof id, "%s%ld", prefix, i);
  bench_claim_json(body, sizeof body, prefix, i);
  sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, body, -1, SQLITE_TRANSIENT);
  if (sqlite3_step(st) != SQLITE_DONE) {
    fprintf(stderr, "sqlite: %s\n", sqlite3_errmsg(db));
    exit(1);
  }
  sqlite3_reset(st);
}

static void *sqlite_worker(void *arg) {
  job *w = arg;
  sqlite3 *db = sqlite_open(w->path);
  sqlite3_stmt *st;
  char prefix[32];
  snprintf(prefix, sizeof prefix, "T%d-", w->t);
  sqlite3_prepare_v2(db, "INSERT INTO claims VALUES (?, ?)", -1, &st, NULL);
  for (int i = 0; i < w->ops; i++)
    sqlite_insert(db, st, prefix, i); /* autocommit: one transaction each */
  sqlite3_finalize(st);
  sqlite3_close(db);
  return NULL;
}

/* (d) SQLite, one transaction per claim, n connections */
static double bench_sqlite(int threads, int ops_total, const char *name) {
  char path[4200];
  pthread_t th[64];
  job w[64];
  double t;
  snprintf(path, sizeof path, "%s/%s.db", base, name);
  sqlite3_close(sqlite_open(path));
  t = now();
  for (int i = 0; i < threads; i++) {
    w[i].t = i;
    w[i].ops = ops_total / threads;
    w[i].path = path;
    pthread_create(&th[i], NULL, sqlite_worker, &w[i]);
  }
  for (int i = 0; i < threads; i++)
    pthread_join(th[i], NULL);
  t = now() - t;
  return (ops_total / threads * threads) / t;
}

/* (e) bulk: N claims through `medshim defer` (a new process, a new journal),
 * vs SQLite in one transaction */
static void bulk_input(int n) {
  char input[4200], keyfile[4200], line[6144];
  FILE *f;
  int fd;
  snprintf(input, sizeof input, "%s/bulk.jsonl", base);
  snprintf(keyfile, sizeof keyfile, "%s/bulk.key", base);
  f = fopen(input, "w");
  for (int i = 0; i < n; i++) {
    bench_claim_json(line, sizeof line, "B", i);
    fprintf(f, "%s\n", line);
  }
  fclose(f);
  fd = open(keyfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (write(fd, keybytes, 32) != 32)
    exit(1);
  close(fd);
}

/* Timed from fork to exit, without a shell in between. from_pipe: the
 * input comes through a pipe the bench writes (as from an HIS's export
 * process), not as a file on stdin (which `medshim defer` maps). */
static double bench_bulk_cli(const char *cli, int round, int from_pipe) {
  char input[4200], keyfile[4200], dir[4200];
  double t;
  pid_t pid;
  int status, fds[2] = {-1, -1};
  snprintf(input, sizeof input, "%s/bulk.jsonl", base);
  snprintf(keyfile, sizeof keyfile, "%s/bulk.key", base);
  snprintf(dir, sizeof dir, "%s/bulk-journal-%s%d", base,
           from_pipe ? "p" : "f", round);
  if (from_pipe && pipe(fds) != 0)
    exit(1);
  t = now();
  pid = fork();
  if (pid == 0) {
    int in = from_pipe ? fds[0] : open(input, O_RDONLY);
    int out = open("/dev/null", O_WRONLY);
    if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0)
      _exit(127);
    if (from_pipe)
      close(fds[1]);
    execl(cli, cli, "defer", "--create", "--journal", dir, "--key", keyfile, (char *)NULL);
    _exit(127);
  }
  if (from_pipe) {
    char buf[65536];
    size_t n;
    FILE *f = fopen(input, "rb");
    close(fds[0]);
    while (f != NULL && (n = fread(buf, 1, sizeof buf, f)) > 0)
      if (write(fds[1], buf, n) != (ssize_t)n)
        exit(1);
    if (f != NULL)
      fclose(f);
    close(fds[1]);
  }
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    fprintf(stderr, "bulk defer failed\n");
    exit(1);
  }
  return now() - t;
}

/* The same import done with SQLite as a HIS would: read the JSON lines file,
 * validate each line (jansson), insert all in one transaction. */
static double bench_bulk_sqlite_import(int round) {
  char path[4200], input[4200], line[4096];
  sqlite3 *db;
  sqlite3_stmt *st;
  FILE *f;
  double t;
  snprintf(path, sizeof path, "%s/bulk-import-%d.db", base, round);
  snprintf(input, sizeof input, "%s/bulk.jsonl", base);
  t = now();
  db = sqlite_open(path);
  sqlite3_prepare_v2(db, "INSERT INTO claims VALUES (?, ?)", -1, &st, NULL);
  sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
  f = fopen(input, "r");
  while (fgets(line, sizeof line, f) != NULL) {
    json_error_t e;
    json_t *o = json_loads(line, 0, &e);
    const char *id = json_string_value(json_object_get(o, "visit_id"));
    if (id == NULL)
      exit(1);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, line, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE)
      exit(1);
    sqlite3_reset(st);
    json_decref(o);
  }
  fclose(f);
  sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return now() - t;
}

/* The same import by bench_sqlcipher (a new process, a raw key), timed
 * from fork to exit like the CLI. 0 when that program is not there. */
static char sqlcipher_tool[4200];
static double bench_bulk_sqlcipher(int round) {
  char path[4200], input[4200], hex[65], head[16];
  double t;
  pid_t pid;
  int status;
  FILE *f;
  if (sqlcipher_tool[0] == '\0' || access(sqlcipher_tool, X_OK) != 0)
    return 0;
  for (int i = 0; i < 32; i++)
    snprintf(hex + 2 * i, 3, "%02x", keybytes[i]);
  snprintf(path, sizeof path, "%s/bulk-cipher-%d.db", base, round);
  snprintf(input, sizeof input, "%s/bulk.jsonl", base);
  t = now();
  pid = fork();
  if (pid == 0) {
    execl(sqlcipher_tool, sqlcipher_tool, path, input, hex, (char *)NULL);
    _exit(127);
  }
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    fprintf(stderr, "bench_sqlcipher failed\n");
    exit(1);
  }
  t = now() - t;
  /* an SQLCipher file has no plaintext SQLite header: check it is one */
  f = fopen(path, "rb");
  if (f == NULL || fread(head, 1, sizeof head, f) != sizeof head ||
      memcmp(head, "SQLite format 3", 15) == 0) {
    fprintf(stderr, "bench_sqlcipher: %s is not encrypted\n", path);
    exit(1);
  }
  fclose(f);
  return t;
}

static double bench_bulk_sqlite(int n, int round) {
  char path[4200];
  sqlite3 *db;
  sqlite3_stmt *st;
  double t;
  snprintf(path, sizeof path, "%s/bulk-%d.db", base, round);
  t = now();
  db = sqlite_open(path);
  sqlite3_prepare_v2(db, "INSERT INTO claims VALUES (?, ?)", -1, &st, NULL);
  sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
  for (int i = 0; i < n; i++)
    sqlite_insert(db, st, "B", i);
  sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return now() - t;
}

static int count_visit(const medshim_claim *c, const medshim_claim_status *st,
                       void *payload) {
  (void)c;
  (void)st;
  ++*(long *)payload;
  return 0;
}

/* (f) build a journal of n claims, then open it in a child and report the
 * open time, the child's peak RSS and a walk over every claim. */
static void bench_open(long n, const char *cli) {
  medshim_journal *j = open_journal("big");
  const int B = 2000;
  medshim_claim **cs = malloc(sizeof *cs * (size_t)B);
  int *res = malloc(sizeof *res * (size_t)B);
  int fds[2];
  double t = now(), result[3];
  pid_t pid;
  for (long i = 0; i < n; i += B) {
    int k = (int)((n - i) < B ? (n - i) : B);
    for (int x = 0; x < k; x++)
      cs[x] = bench_claim("M", i + x);
    if (medshim_journal_defer_batch(j, (const medshim_claim *const *)cs,
                                    (size_t)k, res) != MEDSHIM_OK)
      exit(1);
    for (int x = 0; x < k; x++)
      medshim_claim_free(cs[x]);
  }
  medshim_journal_close(j);
  printf("  built %ld claims in %.1f s (defer_batch of %d)\n", n, now() - t, B);
  if (pipe(fds) != 0)
    exit(1);
  pid = fork();
  if (pid == 0) {
    medshim_journal_options o = MEDSHIM_JOURNAL_OPTIONS_INIT;
    struct rusage ru;
    char dir[4200];
    double r[3];
    long visited = 0;
    snprintf(dir, sizeof dir, "%s/big", base);
    o.key_fn = key_cb;
    o.flags = MEDSHIM_JOURNAL_READONLY;
    r[0] = now();
    if (medshim_journal_open(&j, dir, &o, NULL) != MEDSHIM_OK)
      _exit(1);
    r[0] = now() - r[0];
    if ((long)medshim_journal_count(j) != n)
      _exit(2);
    getrusage(RUSAGE_SELF, &ru);
    r[1] = (double)ru.ru_maxrss / 1024.0;
    /* every claim with its status, as `medshim list` walks them */
    r[2] = now();
    if (medshim_journal_foreach(j, count_visit, &visited) != MEDSHIM_OK ||
        visited != n)
      _exit(4);
    r[2] = now() - r[2];
    if (write(fds[1], r, sizeof r) != (ssize_t)sizeof r)
      _exit(3);
    _exit(0);
  }
  close(fds[1]);
  if (read(fds[0], result, sizeof result) != (ssize_t)sizeof result) {
    fprintf(stderr, "open child failed\n");
    exit(1);
  }
  waitpid(pid, NULL, 0);
  {
    char path[4200];
    struct stat st;
    long bytes = 0;
    for (int s = 1; s < 10000; s++) {
      snprintf(path, sizeof path, "%s/big/seg-%016d.msj", base, s);
      if (stat(path, &st) != 0)
        break;
      bytes += st.st_size;
    }
    printf("  journal size %.1f MiB (%.0f bytes/claim on disk)\n",
           bytes / 1048576.0, (double)bytes / (double)n);
  }
  printf("open %ld claims: %.3f s, peak RSS %.0f MiB (target < 1 s)\n", n,
         result[0], result[1]);
  printf("walk %ld claims with their status (foreach, as list does): %.3f s "
         "(target: list < 10 s)\n", n, result[2]);
  bench_result("open_claims", (double)n, "claims");
  bench_result("open_s", result[0], "s");
  bench_result("open_rss_mib", result[1], "MiB");
  bench_result("walk_s", result[2], "s");
  if (cli != NULL) { /* `medshim list`, every line written, to /dev/null */
    char dir[4200], keyfile[4200];
    int status, fd;
    pid_t p;
    double t0;
    snprintf(dir, sizeof dir, "%s/big", base);
    snprintf(keyfile, sizeof keyfile, "%s/big.key", base);
    fd = open(keyfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, keybytes, 32) != 32)
      exit(1);
    close(fd);
    t0 = now();
    p = fork();
    if (p == 0) {
      int out = open("/dev/null", O_WRONLY);
      if (out < 0 || dup2(out, 1) < 0)
        _exit(127);
      execl(cli, cli, "list", "--journal", dir, "--key", keyfile, (char *)NULL);
      _exit(127);
    }
    if (p < 0 || waitpid(p, &status, 0) != p || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
      fprintf(stderr, "medshim list failed\n");
      exit(1);
    }
    t0 = now() - t0;
    printf("medshim list of %ld claims to /dev/null: %.2f s (target < 10 s)\n",
           n, t0);
    bench_result("list_cli_s", t0, "s");
  }
}

int main(int argc, char **argv) {
  int ops = 2000;
  long claims = 1000000;
  const char *cli = getenv("MEDSHIM_CLI");
  const char *where = NULL;
  char cmd[4200];
  double raw, one, eight, sq1, sq8, bulk_cli, bulk_sql;
  int suites_only = 0;
  {
    const char *slash = strrchr(argv[0], '/');
    int dirlen = slash != NULL ? (int)(slash - argv[0]) : 1;
    snprintf(sqlcipher_tool, sizeof sqlcipher_tool, "%.*s/bench_sqlcipher",
             dirlen, slash != NULL ? argv[0] : ".");
  }
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--ops") == 0 && i + 1 < argc)
      ops = atoi(argv[++i]);
    else if (strcmp(argv[i], "--claims") == 0 && i + 1 < argc)
      claims = atol(argv[++i]);
    else if (strcmp(argv[i], "--cli") == 0 && i + 1 < argc)
      cli = argv[++i];
    else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
      where = argv[++i];
    else if (strcmp(argv[i], "--suites-only") == 0)
      suites_only = 1;
    else if (strcmp(argv[i], "--sqlcipher") == 0 && i + 1 < argc)
      snprintf(sqlcipher_tool, sizeof sqlcipher_tool, "%s", argv[++i]);
    else {
      fprintf(stderr, "usage: bench_journal [--ops N] [--claims N] [--cli "
                      "PATH] [--dir DIR] [--sqlcipher PATH] [--suites-only]\n");
      return 64;
    }
  }
  snprintf(base, sizeof base, "%s/medshim-bench-XXXXXX",
           where ? where : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp"));
  if (mkdtemp(base) == NULL)
    return 1;
  for (int i = 0; i < 32; i++)
    keybytes[i] = (unsigned char)(i * 13 + 5);
  measure_record_size();
  {
    char line[6144];
    size_t json = 0;
    for (long i = 0; i < 7; i++) /* 1 to 7 fee items */
      json += bench_claim_json(line, sizeof line, "T0-", i);
    printf("bench_journal: %d durable operations per case, in %s; claims of "
           "%zu bytes of JSON on average (1 to 7 fee items, Chinese names), "
           "%zu bytes a record on disk (the raw loop writes as much)\n",
           ops, base, json / 7, rec_size);
  }

  bench_suites(5000, ops / 5 > 0 ? ops / 5 : 1);
  if (suites_only)
    goto done;
  /* fsync latency on shared disks drifts over seconds: measure the pairs
   * in alternating rounds and compare medians. */
  {
    enum { ROUNDS = 5 };
    double r_raw[ROUNDS], r_one[ROUNDS], r_sq1[ROUNDS], r_eight[ROUNDS],
        r_sq8[ROUNDS];
    char name[64];
    for (int r = 0; r < ROUNDS; r++) {
      r_raw[r] = bench_raw(ops / ROUNDS);
      snprintf(name, sizeof name, "one%d", r);
      r_one[r] = bench_defer(1, ops / ROUNDS, name);
      snprintf(name, sizeof name, "sq1-%d", r);
      r_sq1[r] = bench_sqlite(1, ops / ROUNDS, name);
      snprintf(name, sizeof name, "eight%d", r);
      r_eight[r] = bench_defer(8, ops * 4 / ROUNDS, name);
      snprintf(name, sizeof name, "sq8-%d", r);
      r_sq8[r] = bench_sqlite(8, ops * 4 / ROUNDS, name);
    }
    raw = median(r_raw, ROUNDS);
    one = median(r_one, ROUNDS);
    sq1 = median(r_sq1, ROUNDS);
    eight = median(r_eight, ROUNDS);
    sq8 = median(r_sq8, ROUNDS);
  }
  printf("medians of 5 alternating rounds:\n");
  printf("raw write+fdatasync loop:       %8.0f ops/s\n", raw);
  printf("medshim defer, 1 thread:        %8.0f claims/s  (raw/medshim = %.2fx, "
         "target <= 1.3x)\n", one, raw / one);
  printf("SQLite WAL FULL, 1 connection:  %8.0f claims/s\n", sq1);
  printf("medshim defer, 8 threads:       %8.0f claims/s\n", eight);
  printf("SQLite WAL FULL, 8 connections: %8.0f claims/s  (medshim/SQLite = "
         "%.1fx, target >= 4x)\n", sq8, eight / sq8);
  bench_result("record_bytes", (double)rec_size, "bytes");
  bench_result("raw_ops_s", raw, "ops/s");
  bench_result("defer1_claims_s", one, "claims/s");
  bench_result("defer1_vs_raw", raw / one, "x");
  bench_result("sqlite1_claims_s", sq1, "claims/s");
  bench_result("defer8_claims_s", eight, "claims/s");
  bench_result("sqlite8_claims_s", sq8, "claims/s");
  bench_result("defer8_vs_sqlite8", eight / sq8, "x");
  if (cli != NULL) {
    /* The machine's speed drifts between rounds: each medshim round is
     * compared with the SQLite round run right after it, and the ratio
     * reported is the median of those pairs. */
    enum { ROUNDS = 9 };
    double r_cli[ROUNDS], r_pipe[ROUNDS], r_sql[ROUNDS], r_imp[ROUNDS],
        r_cip[ROUNDS], ratio[ROUNDS], ratio_imp[ROUNDS], ratio_cip[ROUNDS];
    bulk_input(3000);
    for (int r = 0; r < ROUNDS; r++) {
      r_cli[r] = bench_bulk_cli(cli, r, 0);
      r_pipe[r] = bench_bulk_cli(cli, r, 1);
      r_sql[r] = bench_bulk_sqlite(3000, r);
      r_imp[r] = bench_bulk_sqlite_import(r);
      r_cip[r] = bench_bulk_sqlcipher(r);
      ratio[r] = r_cli[r] / r_sql[r];
      ratio_imp[r] = r_cli[r] / r_imp[r];
      ratio_cip[r] = r_cip[r] > 0 ? r_cli[r] / r_cip[r] : 0;
    }
    bulk_cli = median(r_cli, ROUNDS);
    bulk_sql = median(r_sql, ROUNDS);
    qsort(ratio, ROUNDS, sizeof *ratio, cmp_double);
    printf("bulk 3000, %d alternating rounds: medshim defer CLI %.3f s, SQLite "
           "one transaction %.3f s (medians); ratio per round: median %.2fx, "
           "range %.2fx-%.2fx (target <= 2x)\n", ROUNDS, bulk_cli, bulk_sql,
           ratio[ROUNDS / 2], ratio[0], ratio[ROUNDS - 1]);
    bench_result("bulk_medshim_s", bulk_cli, "s");
    bench_result("bulk_sqlite_s", bulk_sql, "s");
    bench_result("bulk_vs_sqlite_median", ratio[ROUNDS / 2], "x");
    bench_result("bulk_vs_sqlite_min", ratio[0], "x");
    bench_result("bulk_vs_sqlite_max", ratio[ROUNDS - 1], "x");
    printf("bulk 3000 through a pipe: medshim defer CLI %.3f s (median)\n",
           median(r_pipe, ROUNDS));
    bench_result("bulk_pipe_s", median(r_pipe, ROUNDS), "s");
    bulk_sql = median(r_imp, ROUNDS);
    qsort(ratio_imp, ROUNDS, sizeof *ratio_imp, cmp_double);
    printf("bulk 3000, like for like: SQLite reading the same file and "
           "parsing each line with jansson, one transaction %.3f s (median "
           "ratio per round %.2fx)\n", bulk_sql, ratio_imp[ROUNDS / 2]);
    bench_result("bulk_sqlite_import_s", bulk_sql, "s");
    bench_result("bulk_vs_sqlite_import", ratio_imp[ROUNDS / 2], "x");
    if (r_cip[0] > 0) {
      qsort(ratio_cip, ROUNDS, sizeof *ratio_cip, cmp_double);
      printf("bulk 3000 vs SQLCipher (raw key, a new process reading the "
             "same file, jansson per line, one transaction): %.3f s (median); "
             "medshim/SQLCipher per round: median %.2fx, range %.2fx-%.2fx "
             "(target < 1x)\n", median(r_cip, ROUNDS),
             ratio_cip[ROUNDS / 2], ratio_cip[0], ratio_cip[ROUNDS - 1]);
      bench_result("bulk_sqlcipher_s", median(r_cip, ROUNDS), "s");
      bench_result("bulk_vs_sqlcipher_median", ratio_cip[ROUNDS / 2], "x");
      bench_result("bulk_vs_sqlcipher_min", ratio_cip[0], "x");
      bench_result("bulk_vs_sqlcipher_max", ratio_cip[ROUNDS - 1], "x");
    } else {
      printf("bulk vs SQLCipher: skipped (bench_sqlcipher not built: "
             "install libsqlcipher-dev)\n");
    }
  } else {
    printf("bulk: skipped (set MEDSHIM_CLI or --cli)\n");
  }
  if (claims > 0)
    bench_open(claims, cli);
done:
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
  if (system(cmd) != 0)
    return 1;
  return 0;
}
