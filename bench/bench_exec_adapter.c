/* A minimal exec-protocol adapter for bench_replay: each settle records one
 * platform step (2207), waits the platform latency, records its answer and
 * settles; probes answer not_found. Single-threaded: requests in flight are
 * state machines driven by stdin and a timer, so the persistent mode serves
 * any concurrency.
 * usage: bench_exec_adapter [--persistent] [--latency-ms N] */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

typedef struct req {
  long long id;
  long long total;
  int state; /* 1 wait msgid, 2 timer, 3 wait recorded */
  double due;
  char msgid[64];
  int used;
} req;

static req reqs[256];
static int persistent;
static double latency = 0.010;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > 0 && write(1, buf, (size_t)n) != n)
    exit(2);
}

static req *find(long long id) {
  for (int i = 0; i < 256; i++)
    if (reqs[i].used && reqs[i].id == id)
      return &reqs[i];
  return NULL;
}

static int finished;

static void line(const char *s, size_t n) {
  json_error_t e;
  json_t *o = json_loadb(s, n, 0, &e);
  const char *type = json_string_value(json_object_get(o, "type"));
  long long id = (long long)json_integer_value(json_object_get(o, "id"));
  req *r;
  if (type == NULL)
    exit(3);
  if (strcmp(type, "settle") == 0) {
    for (r = reqs; r < reqs + 256 && r->used; r++) {
    }
    if (r == reqs + 256)
      exit(4);
    memset(r, 0, sizeof *r);
    r->used = 1;
    r->id = id;
    r->total = (long long)json_integer_value(
        json_object_get(json_object_get(o, "claim"), "total_fen"));
    r->state = 1;
    out("{\"type\":\"step_begin\",\"id\":%lld,\"infno\":\"2207\"}\n", id);
  } else if (strcmp(type, "probe") == 0) {
    out("{\"type\":\"result\",\"id\":%lld,\"status\":\"not_found\"}\n", id);
    finished = 1;
  } else if ((r = find(id)) != NULL && strcmp(type, "msgid") == 0) {
    snprintf(r->msgid, sizeof r->msgid, "%s",
             json_string_value(json_object_get(o, "msgid")));
    r->state = 2;
    r->due = now() + latency;
  } else if (r != NULL && strcmp(type, "recorded") == 0) {
    long long fund = r->total * 7 / 10, acct = r->total / 10;
    out("{\"type\":\"result\",\"id\":%lld,\"status\":\"settled\","
        "\"settlement_id\":\"B%s\",\"mdtrt_id\":\"M%lld\",\"msgid\":\"%s\","
        "\"setl_time\":\"2022-03-16 10:00:00\",\"total_fen\":%lld,"
        "\"fund_paid_fen\":%lld,\"acct_paid_fen\":%lld,\"patient_paid_fen\":"
        "%lld,\"hospital_share_fen\":0}\n",
        id, r->msgid, id, r->msgid, r->total, fund, acct,
        r->total - fund - acct);
    r->used = 0;
    finished = 1;
  } else {
    exit(5);
  }
  json_decref(o);
}

int main(int argc, char **argv) {
  static char buf[1 << 20];
  size_t len = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--persistent") == 0)
      persistent = 1;
    else if (strcmp(argv[i], "--latency-ms") == 0 && i + 1 < argc)
      latency = atof(argv[++i]) / 1000.0;
  }
  for (;;) {
    struct pollfd pf = {0, POLLIN, 0};
    double t = now(), next = -1;
    struct timespec ts, *tsp = NULL;
    char *nl;
    for (int i = 0; i < 256; i++)
      if (reqs[i].used && reqs[i].state == 2) {
        if (reqs[i].due <= t) {
          reqs[i].state = 3;
          out("{\"type\":\"step_end\",\"id\":%lld,\"msgid\":\"%s\",\"state\":"
              "\"ok\",\"setl_id\":\"B%s\"}\n",
              reqs[i].id, reqs[i].msgid, reqs[i].msgid);
        } else if (next < 0 || reqs[i].due < next) {
          next = reqs[i].due;
        }
      }
    if (finished && !persistent)
      return 0;
    if (next >= 0) {
      double d = next - t;
      ts.tv_sec = (time_t)d;
      ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
      tsp = &ts;
    }
    if (ppoll(&pf, 1, tsp, NULL) < 0 && errno != EINTR)
      return 1;
    if (pf.revents) {
      ssize_t n = read(0, buf + len, sizeof buf - len);
      if (n <= 0)
        return 0;
      len += (size_t)n;
      while ((nl = memchr(buf, '\n', len)) != NULL) {
        size_t k = (size_t)(nl - buf);
        line(buf, k);
        memmove(buf, nl + 1, len - k - 1);
        len -= k + 1;
      }
    }
  }
}
