/* Exactly once under random kills: `medshim replay --concurrency 8` against
 * medshim-sim (lost answers, a visibility lag), killed with SIGKILL at
 * random instants again and again while new claims keep arriving, then run
 * to the end. Checks with the simulator's own ledger: no visit settled
 * twice, no partial sequence left open, every claim settled.
 *
 * usage: soak_replay --medshim PATH --sim PATH [--kills N] [--claims-per-run N]
 *                    [--mode persistent|per-call] [--lag-ms MS]
 *                    [--lost-permille N] [--latency-ms MS] [--seed N]
 *                    [--orphan]
 * --orphan runs the plain orphan case instead: one claim, an adapter that
 * takes 2 s, a kill at 0.7 s, an immediate rerun, then the end.
 * Exit status 0 when every check holds; prints the figures as JSON. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define INSTITUTION "H33010600001"
#define AT "2022-03-16T09:00:00+08:00"

static const char *medshim, *sim;
static char work[4096], jdir[4200], keyf[4200], ledger[4200], adapter[8192];
static int persistent = 1, lag_ms = 5000, lost = 200, latency = 20;
static unsigned timeout_s = 3;
/* xorshift64: 64-bit state on every platform, so a seed is one run. */
static uint64_t rng = 88172645463325252ull;

static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static double mono(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

static void die(const char *what) {
  fprintf(stderr, "soak_replay: %s\n", what);
  exit(1);
}

/* Start argv with stdin from `in` (or /dev/null) and stdout to `out` (or
 * /dev/null); returns the pid. */
static pid_t spawn(char *const argv[], const char *in, const char *out) {
  pid_t pid = fork();
  if (pid < 0)
    die("fork");
  if (pid == 0) {
    int i = open(in ? in : "/dev/null", O_RDONLY);
    int o = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = open("/dev/null", O_WRONLY);
    if (i < 0 || o < 0 || e < 0)
      _exit(126);
    dup2(i, 0);
    dup2(o, 1);
    dup2(e, 2);
    execv(argv[0], argv);
    _exit(127);
  }
  return pid;
}

static int wait_rc(pid_t pid) {
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      die("waitpid");
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int run(char *const argv[], const char *in, const char *out) {
  return wait_rc(spawn(argv, in, out));
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  char *buf;
  long n;
  if (f == NULL)
    return NULL;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = malloc((size_t)n + 1);
  if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n)
    die("read");
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static const char *const surnames[] = {"王", "李", "张", "刘", "陈", "杨", "赵", "黄"};
static const char *const given[] = {"小明", "秀英", "建国", "丽娟", "志强", "海燕"};

/* Realistic claims (about 1 KB: a Chinese name, 1 to 7 fee items), each
 * with the Hangzhou out-patient window, deferred through the CLI. */
static void defer_claims(int first, int n) {
  char path[4300], *argv[8];
  FILE *f;
  snprintf(path, sizeof path, "%s/claims.jsonl", work);
  f = fopen(path, "w");
  if (f == NULL)
    die("claims file");
  for (int i = first; i < first + n; i++) {
    int items = 1 + (int)(next() % 7);
    long total = 0, fee[7];
    for (int k = 0; k < items; k++)
      total += fee[k] = 500 + (long)(next() % 9000);
    fprintf(f,
            "{\"visit_id\":\"MZ%06d\",\"service\":\"outpatient\","
            "\"insured_admdvs\":\"330102\",\"treated_admdvs\":\"330106\","
            "\"visit_time\":\"2022-02-11T09:30:00+08:00\",\"total_fen\":%ld,"
            "\"self_paid_fen\":%ld,\"invoice_no\":\"E3301-%06d\","
            "\"patient\":{\"name\":\"%s%s\",\"id_no\":\"3301021980%08d\","
            "\"psn_no\":\"330000%08d\",\"cert_type\":\"02\"},"
            "\"window\":{\"route\":\"hospital\",\"from\":\"2022-03-15T00:00:00+08:00\","
            "\"until\":\"2023-01-01T00:00:00+08:00\",\"schedule\":\"hangzhou-2022\","
            "\"version\":1},\"detail\":{\"items\":[",
            i, total, total, i, surnames[i % 8], given[i % 6], i, i);
    for (int k = 0; k < items; k++)
      fprintf(f,
              "%s{\"feedetl_sn\":\"%d\",\"med_list_codg\":\"XA01BCX%03d\","
              "\"medins_list_codg\":\"H%05d\",\"det_item_fee_sumamt\":\"%ld.%02ld\","
              "\"cnt\":\"1.0000\",\"pric\":\"%ld.%02ld0000\",\"bilg_dept_codg\":"
              "\"A03\",\"bilg_dr_codg\":\"D%04d\"}",
              k ? "," : "", k + 1, k, k * 17 + i % 97, fee[k] / 100, fee[k] % 100,
              fee[k] / 100, fee[k] % 100, i % 4000);
    fprintf(f, "]}}\n");
  }
  fclose(f);
  argv[0] = (char *)medshim;
  argv[1] = "defer";
  argv[2] = "--create"; /* the first run makes the journal */
  argv[3] = "--journal";
  argv[4] = jdir;
  argv[5] = "--key";
  argv[6] = keyf;
  argv[7] = NULL;
  if (run(argv, path, NULL) != 0)
    die("medshim defer failed");
}

/* medshim replay, started; the caller kills it or waits. */
static pid_t start_replay(const char *out) {
  static char delay[32], tmo[32];
  char *argv[24];
  int a = 0;
  snprintf(delay, sizeof delay, "%u", timeout_s + (unsigned)(lag_ms / 1000) + 2);
  snprintf(tmo, sizeof tmo, "%u", timeout_s);
  argv[a++] = (char *)medshim;
  argv[a++] = "replay";
  argv[a++] = "--journal";
  argv[a++] = jdir;
  argv[a++] = "--key";
  argv[a++] = keyf;
  argv[a++] = "--institution";
  argv[a++] = INSTITUTION;
  argv[a++] = persistent ? "--exec-persistent" : "--exec";
  argv[a++] = adapter;
  argv[a++] = "--at";
  argv[a++] = AT;
  argv[a++] = "--concurrency";
  argv[a++] = "8";
  argv[a++] = "--timeout";
  argv[a++] = tmo;
  argv[a++] = "--visibility-delay";
  argv[a++] = delay;
  argv[a] = NULL;
  return spawn(argv, NULL, out);
}

/* The summary (the last line of replay's output). */
static json_t *summary(const char *path) {
  char *text = slurp(path), *last;
  json_t *o;
  if (text == NULL)
    return NULL;
  while (strlen(text) > 0 && text[strlen(text) - 1] == '\n')
    text[strlen(text) - 1] = '\0';
  last = strrchr(text, '\n');
  o = json_loads(last ? last + 1 : text, 0, NULL);
  free(text);
  return o;
}

static long field(json_t *o, const char *k) {
  return (long)json_integer_value(json_object_get(o, k));
}

/* Replay until nothing is left in doubt or pending. */
static json_t *finish(int *runs) {
  char out[4300];
  snprintf(out, sizeof out, "%s/final.json", work);
  for (*runs = 0; *runs < 40; (*runs)++) {
    json_t *s;
    if (wait_rc(start_replay(out)) != 0)
      die("final replay failed");
    s = summary(out);
    if (s == NULL)
      die("no summary");
    if (field(s, "in_doubt") == 0 && field(s, "pending") == 0 &&
        field(s, "retry_wait") == 0)
      return s;
    json_decref(s);
    sleep_ms(1000L * (timeout_s + (unsigned)(lag_ms / 1000) + 3));
  }
  die("claims still unfinished after 40 final runs");
  return NULL;
}

static json_t *sim_stats(void) {
  char out[4300], *argv[6], *text;
  json_t *o;
  snprintf(out, sizeof out, "%s/stats.json", work);
  argv[0] = (char *)sim;
  argv[1] = "--stats";
  argv[2] = "--ledger";
  argv[3] = ledger;
  argv[4] = NULL;
  if (run(argv, NULL, out) != 0)
    die("medshim-sim --stats failed");
  text = slurp(out);
  o = json_loads(text, 0, NULL);
  free(text);
  if (o == NULL)
    die("medshim-sim --stats: not JSON");
  return o;
}

int main(int argc, char **argv) {
  int kills = 100, per_run = 20, orphan = 0, claims = 0, killed = 0, ended = 0,
      final_runs = 0, ok;
  char *kargv[4], *sim_text;
  double t0;
  json_t *fin, *st;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--orphan") == 0) {
      orphan = 1;
      continue;
    }
    if (v == NULL)
      die("an option needs a value");
    i++;
    if (strcmp(a, "--medshim") == 0)
      medshim = v;
    else if (strcmp(a, "--sim") == 0)
      sim = v;
    else if (strcmp(a, "--kills") == 0)
      kills = atoi(v);
    else if (strcmp(a, "--claims-per-run") == 0)
      per_run = atoi(v);
    else if (strcmp(a, "--mode") == 0)
      persistent = strcmp(v, "per-call") != 0;
    else if (strcmp(a, "--lag-ms") == 0)
      lag_ms = atoi(v);
    else if (strcmp(a, "--lost-permille") == 0)
      lost = atoi(v);
    else if (strcmp(a, "--latency-ms") == 0)
      latency = atoi(v);
    else if (strcmp(a, "--seed") == 0)
      rng = (uint64_t)strtoull(v, NULL, 10) | 1;
    else
      die("unknown option");
  }
  if (medshim == NULL || sim == NULL)
    die("--medshim and --sim are required");
  snprintf(work, sizeof work, "%s/soak-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (mkdtemp(work) == NULL)
    die("mkdtemp");
  snprintf(jdir, sizeof jdir, "%s/journal", work);
  snprintf(keyf, sizeof keyf, "%s/key", work);
  snprintf(ledger, sizeof ledger, "%s/ledger", work);
  if (orphan) { /* the plain case: a 2 s adapter killed at 0.7 s */
    latency = 400; /* 1101, 2201, 2204, 2206, 2207: 2 s in all */
    timeout_s = 10;
    lost = 0;
    lag_ms = 0;
    persistent = 0;
    kills = 1;
    per_run = 1;
  }
  snprintf(adapter, sizeof adapter,
           "exec '%s' --ledger '%s' --latency-ms %d --lost-permille %d "
           "--lag-ms %d --institution " INSTITUTION,
           sim, ledger, latency, lost, lag_ms);
  kargv[0] = (char *)medshim;
  kargv[1] = "keygen";
  kargv[2] = keyf;
  kargv[3] = NULL;
  if (run(kargv, NULL, NULL) != 0)
    die("keygen");
  t0 = mono();
  while (killed < kills) {
    pid_t pid;
    long wait;
    defer_claims(claims, per_run);
    claims += per_run;
    pid = start_replay(NULL);
    /* Orphan case: the kill lands while the adapter's 2 s call runs. */
    wait = orphan ? 700 : 30 + (long)(next() % 900);
    sleep_ms(wait);
    if (waitpid(pid, NULL, WNOHANG) == pid) {
      ended++; /* finished before the kill */
      continue;
    }
    kill(pid, SIGKILL);
    wait_rc(pid);
    killed++;
    if (orphan) { /* at once again: the claim must not be sent twice */
      char out[4300];
      json_t *s;
      snprintf(out, sizeof out, "%s/rerun.json", work);
      if (wait_rc(start_replay(out)) != 0)
        die("rerun failed");
      s = summary(out);
      if (s == NULL || field(s, "attempts") != 0)
        die("the rerun sent the orphan's claim again");
      json_decref(s);
    }
  }
  fin = finish(&final_runs);
  st = sim_stats();
  /* The simulator's ground truth: no visit with two active settlements, no
   * registration left without a settlement or its undo, no msgid twice,
   * and as many active settlements as the journal has settled claims. */
  ok = json_is_integer(json_object_get(st, "double_settlements")) &&
       json_integer_value(json_object_get(st, "double_settlements")) == 0 &&
       json_integer_value(json_object_get(st, "open_partial_sequences")) == 0 &&
       json_integer_value(json_object_get(st, "msgid_repeats")) == 0 &&
       field(fin, "settled") == claims &&
       json_integer_value(json_object_get(st, "active_settlements")) == claims;
  sim_text = json_dumps(st, JSON_COMPACT);
  printf("{\"mode\":\"%s\",\"kills\":%d,\"runs_ended_before_kill\":%d,"
         "\"claims\":%d,\"final_runs\":%d,\"seconds\":%.1f,"
         "\"settled\":%ld,\"rejected\":%ld,\"in_doubt\":%ld,\"sim\":%s,"
         "\"ok\":%s}\n",
         orphan ? "orphan" : persistent ? "persistent" : "per-call", killed,
         ended, claims, final_runs, mono() - t0, field(fin, "settled"),
         field(fin, "rejected"), field(fin, "in_doubt"),
         sim_text ? sim_text : "null", ok ? "true" : "false");
  free(sim_text);
  json_decref(fin);
  json_decref(st);
  if (ok) {
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", work);
    if (system(cmd) != 0)
      fprintf(stderr, "soak_replay: could not remove %s\n", work);
  } else {
    fprintf(stderr, "soak_replay: checks failed; work kept in %s\n", work);
  }
  return ok ? 0 : 1;
}
