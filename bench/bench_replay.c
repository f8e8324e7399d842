/* Replay benchmark: the same settlement conversation (one recorded platform
 * step, 10 ms of platform latency, a settled answer) through three adapters
 * side by side - in-process C, the exec protocol per call (--exec), and
 * the exec protocol persistent (--exec-persistent) - at concurrency 1 and
 * 8, on realistic claims (~1 KB of JSON, Chinese names, 1-7 fee items).
 * Durable journal writes are included. Prints per-claim time, overhead
 * over the ideal (latency / concurrency), % of ideal, of the adapter alone
 * and of the durable floor (see durable_floor); asserts nothing.
 * usage: bench_replay [--claims N] [--latency-ms N] [--adapter PATH]
 *                     [--only in-process|per-call|persistent]
 * --only runs one adapter kind (for a profiler); the others print 0. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_claims.h"
#include "bench_result.h"
#include "exec_adapter.h"
#include "medshim/medshim.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static unsigned char keybytes[32];
static int key_cb(unsigned char k[MEDSHIM_KEY_BYTES], void *p) {
  (void)p;
  memcpy(k, keybytes, MEDSHIM_KEY_BYTES);
  return 0;
}

/* A claim as a HIS would defer it (bench_claims.c), with the window the
 * cashier was told. */
static medshim_claim *realistic(int i) {
  medshim_claim_window w = {MEDSHIM_CLAIM_WINDOW_VERSION,
                            MEDSHIM_CLAIM_ROUTE_HOSPITAL, 1647273600, 0, "", 0};
  medshim_claim *c = bench_claim("MZ20220211", i);
  if (medshim_claim_set_window(c, &w) != MEDSHIM_OK)
    exit(1);
  return c;
}

static medshim_journal *build(const char *dir, int n, size_t *json_bytes) {
  medshim_journal_options o = MEDSHIM_JOURNAL_OPTIONS_INIT;
  medshim_journal *j = NULL;
  medshim_claim **cs = calloc((size_t)n, sizeof *cs);
  int *res = calloc((size_t)n, sizeof *res);
  o.key_fn = key_cb;
  o.flags = MEDSHIM_JOURNAL_CREATE;
  if (cs == NULL || res == NULL ||
      medshim_journal_open(&j, dir, &o, NULL) != MEDSHIM_OK)
    exit(1);
  *json_bytes = 0;
  for (int i = 0; i < n; i++) {
    char *text = NULL;
    cs[i] = realistic(i);
    if (medshim_claim_to_json(&text, cs[i], MEDSHIM_CLAIM_JSON_REVEAL) ==
        MEDSHIM_OK)
      *json_bytes += strlen(text);
    medshim_free(text);
  }
  if (medshim_journal_defer_batch(j, (const medshim_claim *const *)cs,
                                  (size_t)n, res) != MEDSHIM_OK)
    exit(1);
  for (int i = 0; i < n; i++)
    medshim_claim_free(cs[i]);
  free(cs);
  free(res);
  return j;
}

/* The in-process adapter: the conversation the exec adapter drives, with
 * the same step and latency. */
static uint32_t latency_ms = 10;

static int inproc_settle(medshim_settlement *out, medshim_adapter_ctx *ctx,
                         void *payload) {
  char msgid[MEDSHIM_MSGID_LEN + 1];
  medshim_step s;
  struct timespec ts = {0, (long)latency_ms * 1000000L};
  int64_t total = medshim_claim_total_fen(medshim_adapter_claim(ctx));
  (void)payload;
  if (medshim_adapter_step_begin(ctx, msgid, "2207") != MEDSHIM_OK)
    return -1;
  nanosleep(&ts, NULL);
  memset(&s, 0, sizeof s);
  s.version = MEDSHIM_STEP_VERSION;
  memcpy(s.msgid, msgid, sizeof msgid);
  s.state = MEDSHIM_STEP_OK;
  snprintf(s.setl_id, sizeof s.setl_id, "B%s", msgid);
  if (medshim_adapter_step_end(ctx, &s) != MEDSHIM_OK)
    return -1;
  out->outcome = MEDSHIM_OUTCOME_SETTLED;
  snprintf(out->settlement_id, sizeof out->settlement_id, "B%s", msgid);
  memcpy(out->msgid, msgid, sizeof msgid);
  out->setl_time = 1647396000;
  out->total_fen = total;
  out->fund_paid_fen = total * 7 / 10;
  out->acct_paid_fen = total / 10;
  out->patient_paid_fen = total - out->fund_paid_fen - out->acct_paid_fen;
  return 0;
}

static int inproc_probe(medshim_settlement *out, medshim_adapter_ctx *ctx,
                        void *payload) {
  (void)ctx;
  (void)payload;
  out->outcome = MEDSHIM_OUTCOME_NOT_FOUND;
  return 0;
}

/* The adapter alone, without the library: `concurrency` threads each
 * sleeping the platform latency for their share of n claims, as the
 * adapters above do. nanosleep oversleeps on a busy virtual machine, so
 * this, not latency / concurrency, is what a perfect engine could reach. */
typedef struct sleeper {
  int count;
} sleeper;

static void *sleep_loop(void *arg) {
  sleeper *s = arg;
  struct timespec ts = {0, (long)latency_ms * 1000000L};
  for (int i = 0; i < s->count; i++)
    nanosleep(&ts, NULL);
  return NULL;
}

static double adapter_alone(int n, unsigned concurrency) {
  pthread_t th[64];
  sleeper sl[64];
  double t = now();
  for (unsigned i = 0; i < concurrency; i++) {
    sl[i].count = n / (int)concurrency + ((int)i < n % (int)concurrency);
    pthread_create(&th[i], NULL, sleep_loop, &sl[i]);
  }
  for (unsigned i = 0; i < concurrency; i++)
    pthread_join(th[i], NULL);
  return (now() - t) / n;
}

/* The durable floor: the adapter alone plus what any engine that makes a
 * step durable before the request leaves must pay - one write and one
 * fdatasync of a record-sized block per claim into space written ahead,
 * threads sharing one file as the journal's writers do - and nothing
 * else. On a virtual disk an
 * fdatasync after a 10 ms pause costs several times one issued back to
 * back, so this, not the sleeps alone, bounds what a real run can reach. */
typedef struct floor_arg {
  int count, fd;
  off_t base;
} floor_arg;

static void *floor_loop(void *arg) {
  floor_arg *f = arg;
  struct timespec ts = {0, (long)latency_ms * 1000000L};
  unsigned char rec[640];
  memset(rec, 0x5a, sizeof rec);
  for (int i = 0; i < f->count; i++) {
    if (pwrite(f->fd, rec, sizeof rec, f->base + (off_t)i * (off_t)sizeof rec) !=
            (ssize_t)sizeof rec ||
        fdatasync(f->fd) != 0)
      exit(1);
    nanosleep(&ts, NULL);
  }
  return NULL;
}

static double durable_floor(const char *base, int n, unsigned concurrency) {
  pthread_t th[64];
  floor_arg fa[64];
  char path[4200];
  double t;
  int fd;
  snprintf(path, sizeof path, "%s/floor", base);
  fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    exit(1);
  /* Written zeros ahead, synced: the cheapest fdatasync an append-only
   * log can have (no file size, no extent to convert), so the floor
   * flatters no engine. */
  {
    static const unsigned char zeros[64 * 1024];
    off_t total = (off_t)concurrency * (off_t)n * 640, at = 0;
    while (at < total) {
      size_t len = total - at < (off_t)sizeof zeros ? (size_t)(total - at)
                                                    : sizeof zeros;
      if (pwrite(fd, zeros, len, at) != (ssize_t)len)
        exit(1);
      at += (off_t)len;
    }
    if (fsync(fd) != 0)
      exit(1);
  }
  t = now();
  for (unsigned i = 0; i < concurrency; i++) {
    fa[i].count = n / (int)concurrency + ((int)i < n % (int)concurrency);
    fa[i].fd = fd;
    fa[i].base = (off_t)i * (off_t)n * 640;
    pthread_create(&th[i], NULL, floor_loop, &fa[i]);
  }
  for (unsigned i = 0; i < concurrency; i++)
    pthread_join(th[i], NULL);
  t = (now() - t) / n;
  close(fd);
  unlink(path);
  return t;
}

enum kind { INPROC, PERCALL, PERSIST };
static const char *const kind_names[] = {"in-process", "exec per call",
                                         "exec persistent"};

static double replay(const char *base, const char *adapter_path, enum kind k,
                     int n, unsigned concurrency, size_t *json_bytes) {
  char dir[4200], cmd[4400];
  medshim_replay_options o = MEDSHIM_REPLAY_OPTIONS_INIT;
  medshim_replay_summary s;
  medshim_adapter a = {MEDSHIM_ADAPTER_VERSION, inproc_settle, inproc_probe,
                       NULL};
  exec_adapter *ex = NULL;
  medshim_journal *j;
  double t;
  static int round;
  snprintf(dir, sizeof dir, "%s/j%d", base, round++);
  j = build(dir, n, json_bytes);
  if (k != INPROC) {
    exec_adapter_config cfg = {cmd, k == PERSIST, 60, concurrency,
                               "bench_replay"};
    snprintf(cmd, sizeof cmd, "exec '%s'%s --latency-ms %u", adapter_path,
             k == PERSIST ? " --persistent" : "", (unsigned)latency_ms);
    if (exec_adapter_new(&ex, &cfg) != 0)
      exit(1);
    exec_adapter_bind(&a, ex);
    usleep(100000); /* the persistent process is up before the clock runs */
  }
  o.at = 1647396000;
  o.concurrency = concurrency;
  o.institution_code = "H33010200001";
  t = now();
  if (medshim_replay_run(&s, j, &a, &o) != MEDSHIM_OK ||
      s.settled != (size_t)n) {
    fprintf(stderr, "replay failed (%s): %zu of %d settled\n", kind_names[k],
            s.settled, n);
    exit(1);
  }
  t = now() - t;
  exec_adapter_free(ex);
  medshim_journal_close(j);
  return t;
}

int main(int argc, char **argv) {
  int n = 400;
  char base[4096], cmd[4200], adapter_path[4096];
  size_t json_bytes = 0;
  double per[3][2], alone[2], dfloor[2];
  const unsigned conc[2] = {1, 8};
  char *slash;
  int only = -1;
  snprintf(adapter_path, sizeof adapter_path, "%s", argv[0]);
  slash = strrchr(adapter_path, '/');
  snprintf(slash ? slash + 1 : adapter_path,
           sizeof adapter_path - (size_t)(slash ? slash + 1 - adapter_path : 0),
           "bench_exec_adapter");
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--claims") == 0 && i + 1 < argc)
      n = atoi(argv[++i]);
    else if (strcmp(argv[i], "--latency-ms") == 0 && i + 1 < argc)
      latency_ms = (uint32_t)atoi(argv[++i]);
    else if (strcmp(argv[i], "--adapter") == 0 && i + 1 < argc)
      snprintf(adapter_path, sizeof adapter_path, "%s", argv[++i]);
    else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
      const char *k = argv[++i];
      only = strcmp(k, "in-process") == 0 ? INPROC
             : strcmp(k, "per-call") == 0 ? PERCALL
             : strcmp(k, "persistent") == 0 ? PERSIST : -2;
      if (only == -2) {
        fprintf(stderr, "bench_replay: --only: in-process, per-call or "
                        "persistent\n");
        return 2;
      }
    }
  }
  snprintf(base, sizeof base, "%s/medshim-bench-replay-XXXXXX",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (mkdtemp(base) == NULL)
    return 1;
  for (int i = 0; i < 32; i++)
    keybytes[i] = (unsigned char)(i + 1);
  for (int c = 0; c < 2; c++) {
    int claims = conc[c] == 1 ? n / 4 : n;
    alone[c] = adapter_alone(claims, conc[c]);
    dfloor[c] = durable_floor(base, claims, conc[c]);
    for (int k = 0; k < 3; k++)
      per[k][c] = only >= 0 && k != only
                      ? 0
                      : replay(base, adapter_path, (enum kind)k, claims,
                               conc[c], &json_bytes) / claims;
  }
  printf("%d claims (%.0f bytes of JSON each, 1-7 fee items), %u ms platform "
         "latency, one recorded step per settlement\n", n,
         (double)json_bytes / n, (unsigned)latency_ms);
  printf("journal in %s; the adapter alone (its sleeps, no library): "
         "%.3f ms/claim at concurrency 1, %.3f at 8\n",
         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", alone[0] * 1e3,
         alone[1] * 1e3);
  printf("durable floor (the sleeps plus one write+fdatasync per claim, no "
         "library): %.3f ms/claim at concurrency 1, %.3f at 8\n",
         dfloor[0] * 1e3, dfloor[1] * 1e3);
  printf("%-16s %5s %10s %12s %10s %15s %14s %18s\n", "adapter", "conc",
         "ms/claim", "overhead ms", "% ideal", "% adapter alone", "% floor",
         "overhead vs in-proc");
  for (int c = 0; c < 2; c++)
    for (int k = 0; k < 3; k++) {
      double ideal = latency_ms / 1000.0 / conc[c];
      double ov = per[k][c] - ideal, ov0 = per[INPROC][c] - ideal;
      static const char *const keys[] = {"inproc", "percall", "persistent"};
      char key[64];
      if (per[k][c] > 0) {
        snprintf(key, sizeof key, "replay_%s_c%u_ms", keys[k], conc[c]);
        bench_result(key, per[k][c] * 1e3, "ms");
        snprintf(key, sizeof key, "replay_%s_c%u_pct_ideal", keys[k], conc[c]);
        bench_result(key, ideal / per[k][c] * 100, "%");
        snprintf(key, sizeof key, "replay_%s_c%u_pct_alone", keys[k], conc[c]);
        bench_result(key, alone[c] / per[k][c] * 100, "%");
        snprintf(key, sizeof key, "replay_%s_c%u_pct_floor", keys[k], conc[c]);
        bench_result(key, dfloor[c] / per[k][c] * 100, "%");
      }
      printf("%-16s %5u %10.3f %12.3f %9.1f%% %14.1f%% %13.1f%% %17.2fx\n",
             kind_names[k], conc[c], per[k][c] * 1e3, ov * 1e3,
             per[k][c] > 0 ? ideal / per[k][c] * 100 : 0,
             per[k][c] > 0 ? alone[c] / per[k][c] * 100 : 0,
             per[k][c] > 0 ? dfloor[c] / per[k][c] * 100 : 0,
             ov0 > 0 ? ov / ov0 : 0);
    }
  for (int c = 0; c < 2; c++) {
    char key[64];
    snprintf(key, sizeof key, "replay_alone_c%u_ms", conc[c]);
    bench_result(key, alone[c] * 1e3, "ms");
    snprintf(key, sizeof key, "replay_floor_c%u_ms", conc[c]);
    bench_result(key, dfloor[c] * 1e3, "ms");
    if (per[INPROC][c] > 0 && per[PERSIST][c] > 0) {
      snprintf(key, sizeof key, "replay_persistent_vs_inproc_c%u", conc[c]);
      bench_result(key, per[PERSIST][c] / per[INPROC][c], "x");
    }
  }
  bench_result("replay_claims", n, "claims");
  bench_result("replay_latency_ms", latency_ms, "ms");
  printf("persistent per claim: %.2fx in-process at concurrency 1, %.2fx at 8 "
         "(target <= 3x)\n",
         per[INPROC][0] > 0 ? per[PERSIST][0] / per[INPROC][0] : 0,
         per[INPROC][1] > 0 ? per[PERSIST][1] / per[INPROC][1] : 0);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
  return system(cmd) == 0 ? 0 : 1;
}
