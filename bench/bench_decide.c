/* Decision benchmark: ns per medshim_schedule_decide with the five notices
 * and with 350 synthetic prefecture schedules, against a linear scan over
 * every phase in the same run; counts allocations during the loop.
 * Prints figures; asserts nothing. usage: bench_decide [--n N] */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_result.h"
#include "medshim/medshim.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The visits: regions, services and instants, drawn before timing. */
typedef struct visit {
  char insured[7], treated[7];
  int service;
  int64_t at;
} visit;

/* Linear-scan baseline: every phase of every schedule, prefix compare. */
typedef struct flat {
  char prefix[7];
  size_t plen;
  unsigned services;
  int64_t from, until;
  int effect;
} flat;

static flat *flats;
static size_t nflats, capflats;

static void flat_add(const char *region, unsigned services, int64_t from,
                     int64_t until, int effect) {
  flat *f;
  size_t n = 6;
  if (nflats == capflats) {
    capflats = capflats ? capflats * 2 : 1024;
    flats = realloc(flats, capflats * sizeof *flats);
  }
  f = &flats[nflats++];
  memcpy(f->prefix, region, 7);
  while (n > 2 && region[n - 1] == '0' && region[n - 2] == '0')
    n -= 2;
  f->plen = n;
  f->services = services;
  f->from = from;
  f->until = until;
  f->effect = effect;
}

static int linear(const visit *v) {
  int best = 0;
  for (size_t i = 0; i < nflats; i++) {
    const flat *f = &flats[i];
    if (!(f->services & (1u << v->service)) || v->at < f->from ||
        v->at >= f->until)
      continue;
    if ((strncmp(f->prefix, v->insured, f->plen) == 0 ||
         strncmp(f->prefix, v->treated, f->plen) == 0) &&
        f->effect > best)
      best = f->effect;
  }
  return best;
}

/* 350 prefectures: 31 provinces x up to 12 cities, each with a stop and a
 * gradual return at its own dates. */
static void iso(char out[32], int64_t t) {
  time_t local = (time_t)(t + 8 * 3600);
  struct tm tm;
  gmtime_r(&local, &tm);
  strftime(out, 32, "%Y-%m-%dT%H:%M", &tm);
}

static void synth(medshim_schedule_set *set, int *codes, int *ncodes) {
  static const int provinces[] = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33,
                                  34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50,
                                  51, 52, 53, 54, 61, 62, 63, 64, 65};
  const unsigned svc = (1u << 1) | (1u << 3) | (1u << 4);
  int n = 0;
  for (int p = 0; p < 31 && n < 350; p++) {
    for (int c = 1; c <= 12 && n < 350; c++) {
      char json[1024], region[8], a[32], b[32], e[32];
      int64_t from = 1609430400 + (int64_t)n * 86400; /* 2021-01-01 + n days */
      medshim_error err;
      int code = provinces[p] * 100 + c;
      /* "PPCC00": a prefecture and all its districts */
      for (int k = 3; k >= 0; k--, code /= 10)
        region[k] = (char)('0' + code % 10);
      memcpy(region + 4, "00", 3);
      iso(a, from);
      iso(b, from + 5 * 86400);
      iso(e, from + 12 * 86400);
      snprintf(json, sizeof json,
               "{\"schedule\":\"synth-%s\",\"version\":1,\"issued\":"
               "\"2020-12-01\",\"source\":\"synthetic\",\"regions\":[\"%s\"],"
               "\"phases\":[{\"services\":[\"outpatient\",\"inpatient\","
               "\"pharmacy\"],\"from\":\"%s\",\"until\":\"%s\",\"effect\":"
               "\"stopped\"},{\"services\":[\"outpatient\",\"inpatient\","
               "\"pharmacy\"],\"from\":\"%s\",\"until\":\"%s\",\"effect\":"
               "\"degraded\"}]}",
               region, region, a, b, b, e);
      if (medshim_schedule_set_load_json(set, region, json, strlen(json), NULL,
                                         &err) != MEDSHIM_OK) {
        fprintf(stderr, "synth: %s: %s\n", err.where, err.text);
        exit(1);
      }
      flat_add(region, svc, from, from + 5 * 86400, 2);
      flat_add(region, svc, from + 5 * 86400, from + 12 * 86400, 1);
      codes[n++] = provinces[p] * 100 + c;
    }
  }
  *ncodes = n;
}

/* "PPCCDD" for prefecture code PPCC and district d (1..20) */
static void region_of(char out[7], int prefecture, unsigned d) {
  int code = (prefecture % 10000) * 100 + (int)(d % 100);
  for (int k = 5; k >= 0; k--, code /= 10)
    out[k] = (char)('0' + code % 10);
  out[6] = '\0';
}

static visit *make_visits(size_t n, const int *codes, int ncodes, int64_t lo,
                          int64_t hi) {
  visit *v = malloc(n * sizeof *v);
  unsigned seed = 42;
  static const int services[] = {1, 3, 4};
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    region_of(v[i].insured, codes[(seed >> 8) % (unsigned)ncodes],
              (seed >> 4) % 20 + 1);
    seed = seed * 1103515245u + 12345u;
    region_of(v[i].treated, codes[(seed >> 8) % (unsigned)ncodes],
              (seed >> 4) % 20 + 1);
    seed = seed * 1103515245u + 12345u;
    v[i].service = services[(seed >> 8) % 3];
    seed = seed * 1103515245u + 12345u;
    v[i].at = lo + (int64_t)(((uint64_t)seed * 2654435761u) % (uint64_t)(hi - lo));
  }
  return v;
}

static void run(const char *label, medshim_schedule_set *set, visit *v,
                size_t n, int with_linear) {
  medshim_decision d = MEDSHIM_DECISION_INIT;
  struct mallinfo2 before, after;
  double t, ns, lin_ns = 0;
  volatile int sink = 0;
  size_t mismatches = 0;
  /* warm up */
  for (size_t i = 0; i < n && i < 10000; i++)
    medshim_schedule_decide(&d, set, v[i].service, v[i].insured, v[i].treated,
                            v[i].at);
  before = mallinfo2();
  t = now();
  for (size_t i = 0; i < n; i++) {
    medshim_schedule_decide(&d, set, v[i].service, v[i].insured, v[i].treated,
                            v[i].at);
    sink += d.decision;
  }
  ns = (now() - t) / (double)n * 1e9;
  after = mallinfo2();
  if (with_linear) {
    t = now();
    for (size_t i = 0; i < n; i++)
      sink += linear(&v[i]);
    lin_ns = (now() - t) / (double)n * 1e9;
    for (size_t i = 0; i < n; i += 97) {
      medshim_schedule_decide(&d, set, v[i].service, v[i].insured, v[i].treated,
                              v[i].at);
      mismatches += (int)d.decision != linear(&v[i]);
    }
  }
  printf("%-28s %8.1f ns/decision (%5.1f M/s)", label, ns, 1e3 / ns);
  if (with_linear)
    printf("   linear scan %8.1f ns (%.0fx slower), mismatches %zu", lin_ns,
           lin_ns / ns, mismatches);
  printf("\n    heap in use before/after the loop: %zu / %zu bytes, arena "
         "%zu / %zu\n",
         before.uordblks, after.uordblks, before.arena, after.arena);
  bench_result(with_linear ? "decide_350_ns" : "decide_5_ns", ns, "ns");
  bench_result(with_linear ? "decide_350_heap_growth" : "decide_5_heap_growth",
               (double)after.uordblks - (double)before.uordblks, "bytes");
  if (with_linear)
    bench_result("decide_350_linear_ns", lin_ns, "ns");
  (void)sink;
}

int main(int argc, char **argv) {
  static const char *files[] = {"wuhan-2021", "hangzhou-2022", "ningxia-2021",
                                "beijing-2022", "shanxi-2021"};
  const char *src = getenv("MEDSHIM_SOURCE_DIR");
  size_t n = 2000000;
  medshim_schedule_set *five = NULL, *big = NULL;
  medshim_error err;
  int codes[400], ncodes = 0;
  static const int five_codes[] = {4201, 3301, 6401, 1101, 1401, 1409, 3302};
  visit *v;
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--n") == 0 && i + 1 < argc)
      n = (size_t)atol(argv[++i]);
  if (src == NULL)
    src = ".";
  medshim_schedule_set_new(&five, NULL, &err);
  for (int i = 0; i < 5; i++) {
    char p[4096];
    snprintf(p, sizeof p, "%s/examples/schedules/%s.json", src, files[i]);
    if (medshim_schedule_set_load_file(five, p, &err) != MEDSHIM_OK) {
      fprintf(stderr, "%s: %s (set MEDSHIM_SOURCE_DIR)\n", err.where, err.text);
      return 1;
    }
  }
  v = make_visits(n, five_codes, 7, 1625097600, 1661990400);
  printf("bench_decide: %zu decisions per case\n", n);
  run("5 notices:", five, v, n, 0);
  free(v);
  medshim_schedule_set_new(&big, NULL, &err);
  synth(big, codes, &ncodes);
  printf("loaded %d synthetic prefecture schedules\n", ncodes);
  v = make_visits(n, codes, ncodes, 1609430400, 1609430400 + 400 * 86400);
  run("350 prefecture schedules:", big, v, n, 1);
  printf("target: < 200 ns per decision with 350 schedules, no allocation\n");
  free(v);
  free(flats);
  medshim_schedule_set_free(five);
  medshim_schedule_set_free(big);
  return 0;
}
