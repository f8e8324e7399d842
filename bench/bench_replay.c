/* Replay benchmark: the engine's overhead per claim with a zero-latency
 * in-process simulator (durable journal writes included), and throughput
 * with a 10 ms adapter at concurrency 1 and 8 against the ideal 100/s and
 * 800/s. Prints figures; asserts nothing.
 * usage: bench_replay [--claims N] [--slow-claims N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "medshim/medshim.h"
#include "medshim/sim.h"

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

/* Every claim re-settled at the hospital from the start of time. */
static const medshim_claim_window open_window = {
    MEDSHIM_CLAIM_WINDOW_VERSION, MEDSHIM_CLAIM_ROUTE_HOSPITAL, 1, 0, "bench", 1};

static medshim_journal *build(const char *dir, int n) {
  medshim_journal_options o = MEDSHIM_JOURNAL_OPTIONS_INIT;
  medshim_journal *j = NULL;
  medshim_claim **cs = calloc((size_t)n, sizeof *cs);
  int *res = calloc((size_t)n, sizeof *res);
  o.key_fn = key_cb;
  o.flags = MEDSHIM_JOURNAL_CREATE;
  if (medshim_journal_open(&j, dir, &o, NULL) != MEDSHIM_OK)
    exit(1);
  for (int i = 0; i < n; i++) {
    medshim_claim_fields f = MEDSHIM_CLAIM_FIELDS_INIT;
    char id[32], psn[32];
    snprintf(id, sizeof id, "V%d", i);
    snprintf(psn, sizeof psn, "P%d", i);
    f.visit_id = id;
    f.service = MEDSHIM_SERVICE_OUTPATIENT;
    f.insured_admdvs = "330102";
    f.treated_admdvs = "330106";
    f.visit_time = 1644544800;
    f.total_fen = 10000 + i;
    f.self_paid_fen = 10000 + i;
    f.patient_psn_no = psn;
    if (medshim_claim_create(&cs[i], &f, NULL) != MEDSHIM_OK ||
        medshim_claim_set_window(cs[i], &open_window) != MEDSHIM_OK)
      exit(1);
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

static double replay(const char *base, const char *name, int n,
                     uint32_t latency_ms, unsigned concurrency) {
  char dir[4200];
  medshim_sim_options so = MEDSHIM_SIM_OPTIONS_INIT;
  medshim_replay_options o = MEDSHIM_REPLAY_OPTIONS_INIT;
  medshim_replay_summary s;
  medshim_adapter a;
  medshim_sim *sim = NULL;
  medshim_journal *j;
  double t;
  snprintf(dir, sizeof dir, "%s/%s", base, name);
  j = build(dir, n);
  so.latency_ms = latency_ms;
  medshim_sim_open(&sim, &so);
  medshim_sim_adapter(&a, sim);
  o.at = 1647392400;
  o.institution_code = "H33010600001";
  o.flags = MEDSHIM_REPLAY_NO_VISIBILITY_DELAY;
  o.concurrency = concurrency;
  t = now();
  if (medshim_replay_run(&s, j, &a, &o) != MEDSHIM_OK || s.settled != (size_t)n) {
    fprintf(stderr, "replay failed\n");
    exit(1);
  }
  t = now() - t;
  medshim_sim_close(sim);
  medshim_journal_close(j);
  return t;
}

int main(int argc, char **argv) {
  int n = 2000, slow = 400;
  char base[4096], cmd[4200];
  double t0, t1, t8;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--claims") == 0 && i + 1 < argc)
      n = atoi(argv[++i]);
    else if (strcmp(argv[i], "--slow-claims") == 0 && i + 1 < argc)
      slow = atoi(argv[++i]);
  }
  snprintf(base, sizeof base, "%s/medshim-bench-replay-XXXXXX",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (mkdtemp(base) == NULL)
    return 1;
  for (int i = 0; i < 32; i++)
    keybytes[i] = (unsigned char)(i + 1);
  t0 = replay(base, "fast", n, 0, 1);
  printf("zero-latency adapter, concurrency 1: %d claims in %.2f s: %.0f us "
         "per claim (in_doubt synced before the call, outcome synced with the next)\n", n, t0, t0 / n * 1e6);
  t0 = replay(base, "fast8", n, 0, 8);
  printf("zero-latency adapter, concurrency 8: %.0f us per claim (group "
         "commit)\n", t0 / n * 1e6);
  t1 = replay(base, "slow1", slow / 4, 10, 1);
  printf("10 ms adapter, concurrency 1: %.1f claims/s (ideal 100; %.1f%% of "
         "ideal, target >= 90%%)\n", (slow / 4) / t1, (slow / 4) / t1);
  t8 = replay(base, "slow8", slow, 10, 8);
  printf("10 ms adapter, concurrency 8: %.1f claims/s (ideal 800; %.1f%% of "
         "ideal, target >= 90%%)\n", slow / t8, slow / t8 / 8);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
  return system(cmd) == 0 ? 0 : 1;
}
