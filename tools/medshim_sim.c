/* medshim-sim: the platform simulator as an exec adapter of `medshim replay`
 * (the JSON-lines protocol of docs/replay.md), and its ledger's statistics.
 *
 *   medshim-sim --ledger FILE [options]      serve requests from stdin
 *   medshim-sim --stats --ledger FILE        print the ledger's ground truth
 *
 * One program for both exec modes: it serves requests until stdin closes
 * (`--exec-persistent`, several in flight, a thread each) and, with
 * --once, exits after its first result (`--exec`, one request per
 * process). stdout carries whole lines only, written under one lock. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "medshim/medshim.h"
#include "medshim/sim.h"
#include "cli_sys.h"
#include "sim_internal.h"
#include "timeutil_internal.h"

static const char usage[] =
    "usage: medshim-sim --ledger FILE [--latency-ms N] [--retry-permille N]\n"
    "         [--reject-permille N] [--lost-permille N] [--lag-ms N]\n"
    "         [--seed N] [--institution CODE] [--once]\n"
    "       medshim-sim --stats --ledger FILE\n"
    "Serves `medshim replay --exec/--exec-persistent` requests (JSON lines on\n"
    "stdin/stdout) against a simulated national platform whose ledger FILE\n"
    "may be shared by many processes. --once: exit after the first result.\n"
    "--stats prints the ledger's settlements, double settlements, open\n"
    "partial sequences, reversals and msgid repeats as JSON.\n"
    "The ledger may also be given as MEDSHIM_SIM_LEDGER.\n\n"
    "Exit status: 0 stdin closed after serving (or --stats printed, or\n"
    "--help); 1 the ledger or a request failed; 64 bad command line.\n";

/* ---- options ---- */

static int once; /* --once: exit after the first result */

typedef struct cli {
  medshim_sim_options o;
  int stats;
} cli;

/* A whole decimal number no larger than max; anything else is an error
 * naming the option. */
static int parse_u32(uint32_t *out, const char *opt, const char *v,
                     unsigned long max) {
  char *end = NULL;
  unsigned long n;
  errno = 0;
  n = v[0] >= '0' && v[0] <= '9' ? strtoul(v, &end, 10) : 0;
  if (end == NULL || *end != '\0' || errno != 0 || n > max) {
    fprintf(stderr, "medshim-sim: %s: not a number from 0 to %lu\n", opt, max);
    return -1;
  }
  *out = (uint32_t)n;
  return 0;
}

typedef struct numopt {
  const char *name;
  size_t offset;
  unsigned long max;
} numopt;

#define NUMOPT(n, f, m) {n, offsetof(medshim_sim_options, f), m}
static const numopt numopts[] = {
    NUMOPT("--latency-ms", latency_ms, 600000),
    NUMOPT("--retry-permille", retry_permille, 1000),
    NUMOPT("--reject-permille", reject_permille, 1000),
    NUMOPT("--lost-permille", lost_permille, 1000),
    NUMOPT("--lag-ms", lag_ms, 86400000),
    NUMOPT("--seed", seed, 4294967295ul),
};

static int set_option(cli *c, const char *a, const char *v) {
  for (size_t i = 0; i < sizeof numopts / sizeof numopts[0]; i++)
    if (strcmp(a, numopts[i].name) == 0)
      return parse_u32((uint32_t *)((char *)&c->o + numopts[i].offset), a, v,
                       numopts[i].max);
  if (strcmp(a, "--ledger") == 0) {
    c->o.ledger_path = v;
    return 0;
  }
  if (strcmp(a, "--institution") == 0 && strlen(v) == MEDSHIM_INSTITUTION_LEN) {
    c->o.institution = v;
    return 0;
  }
  fprintf(stderr, "medshim-sim: %s: %s\n", a,
          strcmp(a, "--institution") == 0 ? "needs 12 characters"
                                          : "unknown option");
  return -1;
}

/* 0 go on, 1 done (help), -1 usage error. */
static int parse_args(cli *c, int argc, char **argv) {
  /* --help anywhere wins, even where an option's value was expected */
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(usage, stdout);
      return 1;
    }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(usage, stdout);
      return 1;
    }
    if (strcmp(a, "--stats") == 0 || strcmp(a, "--once") == 0) {
      *(strcmp(a, "--stats") == 0 ? &c->stats : &once) = 1;
      continue;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "medshim-sim: %s needs a value\n", a);
      return -1;
    }
    if (set_option(c, a, argv[++i]) != 0)
      return -1;
  }
  if (c->o.ledger_path == NULL)
    c->o.ledger_path = getenv("MEDSHIM_SIM_LEDGER");
  if (c->o.ledger_path == NULL) {
    fprintf(stderr, "medshim-sim: --ledger FILE is required: every adapter "
                    "process must see the same platform\n");
    return -1;
  }
  return 0;
}

/* ---- the protocol's plumbing ---- */

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

/* One whole line to stdout (takes @p o). */
static int send_line(json_t *o) {
  char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
  int rc = -1;
  json_decref(o);
  if (text == NULL)
    return -1;
  (void)pthread_mutex_lock(&out_mu);
  if (fputs(text, stdout) >= 0 && fputc('\n', stdout) != EOF &&
      fflush(stdout) == 0)
    rc = 0;
  (void)pthread_mutex_unlock(&out_mu);
  free(text);
  return rc;
}

/* A request in flight: its thread waits here for medshim's answers. */
typedef struct req {
  json_int_t id;
  json_t *msg;             /* the request (owns the claim's strings) */
  medshim_sim *sim;
  medshim_step steps[MEDSHIM_STEPS_MAX];
  size_t nsteps;
  json_t *answer;          /* medshim's reply to our last line */
  int closed;              /* stdin closed: no answer will come */
  pthread_cond_t cv;
  pthread_t thread;
  struct req *next;
} req;

static pthread_mutex_t reqs_mu = PTHREAD_MUTEX_INITIALIZER;
static req *reqs;

/* Send a line for @p r and wait for medshim's reply to it. */
static json_t *ask(req *r, json_t *line) {
  json_t *a;
  if (send_line(line) != 0)
    return NULL;
  (void)pthread_mutex_lock(&reqs_mu);
  while (r->answer == NULL && !r->closed)
    (void)pthread_cond_wait(&r->cv, &reqs_mu);
  a = r->answer;
  r->answer = NULL;
  (void)pthread_mutex_unlock(&reqs_mu);
  return a;
}

static const char *type_of(const json_t *o) {
  const char *t = json_string_value(json_object_get(o, "type"));
  return t ? t : "";
}

/* ---- the recorder over the protocol ---- */

static size_t rec_count(void *c) { return ((req *)c)->nsteps; }

static const medshim_step *rec_step(void *c, size_t i) {
  req *r = c;
  return i < r->nsteps ? &r->steps[i] : NULL;
}

static int rec_begin(void *c, char msgid[MEDSHIM_MSGID_LEN + 1],
                     const char *infno) {
  req *r = c;
  json_t *a = ask(r, json_pack("{s:s, s:I, s:s}", "type", "step_begin", "id",
                               r->id, "infno", infno));
  const char *m = json_string_value(json_object_get(a, "msgid"));
  int rc = MEDSHIM_EIO;
  if (a != NULL && strcmp(type_of(a), "msgid") == 0 && m != NULL &&
      strlen(m) == MEDSHIM_MSGID_LEN && r->nsteps < MEDSHIM_STEPS_MAX) {
    medshim_step *st = &r->steps[r->nsteps++];
    memset(st, 0, sizeof *st);
    st->version = MEDSHIM_STEP_VERSION;
    snprintf(st->infno, sizeof st->infno, "%s", infno);
    memcpy(st->msgid, m, MEDSHIM_MSGID_LEN + 1);
    memcpy(msgid, m, MEDSHIM_MSGID_LEN + 1);
    st->state = MEDSHIM_STEP_SENT;
    rc = MEDSHIM_OK;
  }
  json_decref(a);
  return rc;
}

static json_t *step_line(const req *r, const medshim_step *st) {
  char when[20] = "";
  json_t *o = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I}",
                        "type", "step_end", "id", r->id, "msgid", st->msgid,
                        "state", medshim_step_state_name(st->state),
                        "mdtrt_id", st->mdtrt_id, "setl_id", st->setl_id,
                        "code", st->code, "total_fen", (json_int_t)st->total_fen,
                        "fund_paid_fen", (json_int_t)st->fund_paid_fen,
                        "acct_paid_fen", (json_int_t)st->acct_paid_fen,
                        "patient_paid_fen", (json_int_t)st->patient_paid_fen);
  if (o != NULL && st->setl_time != 0) {
    msim_time_format(when, st->setl_time);
    json_object_set_new(o, "setl_time", json_string(when));
  }
  return o;
}

static int rec_end(void *c, const medshim_step *st) {
  req *r = c;
  json_t *a = ask(r, step_line(r, st));
  int rc = a != NULL && strcmp(type_of(a), "recorded") == 0 ? MEDSHIM_OK
                                                            : MEDSHIM_EIO;
  json_decref(a);
  for (size_t i = 0; rc == MEDSHIM_OK && i < r->nsteps; i++)
    if (strcmp(r->steps[i].msgid, st->msgid) == 0)
      r->steps[i] = *st;
  return rc;
}

/* ---- a request's claim and steps ---- */

static const char *jstr(const json_t *o, const char *k) {
  return json_string_value(json_object_get(o, k));
}

static int64_t jtime(const json_t *v) {
  int64_t t = 0;
  if (json_is_integer(v))
    return (int64_t)json_integer_value(v);
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    if (msim_time_parse(&t, s) != 0 && medshim__time_parse(&t, s, strlen(s)) != 0)
      t = 0;
  }
  return t;
}

static int read_claim(msim_claim *c, const json_t *msg) {
  const json_t *cl = json_object_get(msg, "claim");
  const json_t *p = json_object_get(cl, "patient");
  medshim_service svc = MEDSHIM_SERVICE_NONE;
  const char *name = jstr(cl, "service");
  memset(c, 0, sizeof *c);
  c->visit_id = jstr(cl, "visit_id");
  c->psn_no = jstr(p, "psn_no");
  c->id_no = jstr(p, "id_no");
  c->cert_type = jstr(p, "cert_type");
  c->replay_key = jstr(msg, "replay_key");
  c->visit_time = jtime(json_object_get(cl, "visit_time"));
  c->total_fen = (int64_t)json_integer_value(json_object_get(cl, "total_fen"));
  if (name != NULL && medshim_service_parse(&svc, name) != MEDSHIM_OK)
    return -1;
  c->service = (int)svc;
  return c->visit_id && c->visit_time && (c->psn_no || c->id_no) ? 0 : -1;
}

static int read_step(medshim_step *st, const json_t *o) {
  medshim_step_state states[] = {MEDSHIM_STEP_SENT, MEDSHIM_STEP_OK,
                                 MEDSHIM_STEP_FAILED, MEDSHIM_STEP_UNKNOWN};
  const char *state = jstr(o, "state");
  memset(st, 0, sizeof *st);
  st->version = MEDSHIM_STEP_VERSION;
  st->attempt = (uint32_t)json_integer_value(json_object_get(o, "attempt"));
  for (size_t i = 0; state && i < 4; i++)
    if (strcmp(state, medshim_step_state_name(states[i])) == 0)
      st->state = states[i];
#define COPY(f) snprintf(st->f, sizeof st->f, "%s", jstr(o, #f) ? jstr(o, #f) : "")
  COPY(infno);
  COPY(msgid);
  COPY(mdtrt_id);
  COPY(setl_id);
  COPY(code);
#undef COPY
  st->sent_at = (int64_t)json_integer_value(json_object_get(o, "sent_at"));
  st->setl_time = jtime(json_object_get(o, "setl_time"));
  return st->state != 0 && strlen(st->msgid) == MEDSHIM_MSGID_LEN ? 0 : -1;
}

static int read_steps(req *r) {
  const json_t *a = json_object_get(r->msg, "steps");
  if (a != NULL && !json_is_array(a))
    return -1;
  if (json_array_size(a) > MEDSHIM_STEPS_MAX)
    return -1;
  for (size_t i = 0; i < json_array_size(a); i++)
    if (read_step(&r->steps[r->nsteps++], json_array_get(a, i)) != 0)
      return -1;
  return 0;
}

/* ---- serving a request ---- */

static const char *status_name(medshim_outcome o) {
  switch (o) {
  case MEDSHIM_OUTCOME_SETTLED: return "settled";
  case MEDSHIM_OUTCOME_REJECTED: return "rejected";
  case MEDSHIM_OUTCOME_RETRY: return "retry";
  case MEDSHIM_OUTCOME_NOT_FOUND: return "not_found";
  default: return "unknown";
  }
}

static json_t *result_line(const req *r, const medshim_settlement *s) {
  json_t *o = json_pack("{s:s, s:I, s:s}", "type", "result", "id", r->id,
                        "status", status_name(s->outcome));
  char when[20];
  if (o == NULL)
    return NULL;
  if (s->outcome == MEDSHIM_OUTCOME_SETTLED) {
    json_t *f;
    msim_time_format(when, s->setl_time);
    f = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I}",
                  "settlement_id", s->settlement_id, "mdtrt_id", s->mdtrt_id,
                  "msgid", s->msgid, "setl_time", when, "total_fen",
                  (json_int_t)s->total_fen, "fund_paid_fen",
                  (json_int_t)s->fund_paid_fen, "acct_paid_fen",
                  (json_int_t)s->acct_paid_fen, "patient_paid_fen",
                  (json_int_t)s->patient_paid_fen, "hospital_share_fen",
                  (json_int_t)s->hospital_share_fen);
    if (f == NULL || json_object_update(o, f) != 0) {
      json_decref(f);
      json_decref(o);
      return NULL;
    }
    json_decref(f);
  } else if (s->outcome == MEDSHIM_OUTCOME_REJECTED) {
    json_object_set_new(o, "code", json_string(s->code));
  }
  if (s->message[0])
    json_object_set_new(o, "message", json_string(s->message));
  return o;
}

static void *serve(void *arg) {
  req *r = arg;
  medshim_settlement s;
  msim_actx a;
  memset(&s, 0, sizeof s);
  s.version = MEDSHIM_SETTLEMENT_VERSION;
  s.outcome = MEDSHIM_OUTCOME_UNKNOWN;
  memset(&a, 0, sizeof a);
  a.sim = r->sim;
  a.attempt = (uint32_t)json_integer_value(json_object_get(r->msg, "attempt"));
  a.rec = (msim_recorder){rec_count, rec_step, rec_begin, rec_end, r};
  if (read_claim(&a.claim, r->msg) != 0 || read_steps(r) != 0)
    snprintf(s.message, sizeof s.message, "request without a usable claim or steps");
  else if (strcmp(type_of(r->msg), "settle") == 0)
    (void)msim_adapter_settle(&s, &a);
  else
    (void)msim_adapter_probe(&s, &a);
  if (send_line(result_line(r, &s)) != 0)
    fprintf(stderr, "medshim-sim: cannot write a result\n");
  /* Per-call mode: the answer is out and every ledger write was fsync'ed,
   * so end the process now rather than wait for stdin to close (the main
   * thread is blocked reading it). */
  if (once)
    exit(0);
  return NULL;
}

static int start(medshim_sim *sim, json_t *msg) {
  req *r = calloc(1, sizeof *r);
  if (r == NULL)
    return -1;
  r->id = json_integer_value(json_object_get(msg, "id"));
  r->msg = json_incref(msg);
  r->sim = sim;
  (void)pthread_cond_init(&r->cv, NULL);
  (void)pthread_mutex_lock(&reqs_mu);
  r->next = reqs;
  reqs = r;
  (void)pthread_mutex_unlock(&reqs_mu);
  if (pthread_create(&r->thread, NULL, serve, r) != 0) {
    r->thread = pthread_self(); /* marks "never started" for the join */
    return -1;
  }
  return 0;
}

/* msgid / recorded / error: wake the request waiting for it. */
static void deliver(json_t *msg) {
  json_int_t id = json_integer_value(json_object_get(msg, "id"));
  (void)pthread_mutex_lock(&reqs_mu);
  for (req *r = reqs; r != NULL; r = r->next)
    if (r->id == id && r->answer == NULL) {
      r->answer = json_incref(msg);
      (void)pthread_cond_signal(&r->cv);
      break;
    }
  (void)pthread_mutex_unlock(&reqs_mu);
}

static void handle(medshim_sim *sim, const char *line) {
  json_error_t e;
  json_t *msg = json_loads(line, 0, &e);
  const char *t = type_of(msg);
  if (strcmp(t, "settle") == 0 || strcmp(t, "probe") == 0) {
    if (start(sim, msg) != 0)
      fprintf(stderr, "medshim-sim: cannot start a request\n");
  } else if (strcmp(t, "msgid") == 0 || strcmp(t, "recorded") == 0 ||
             strcmp(t, "error") == 0) {
    deliver(msg);
  } else {
    fprintf(stderr, "medshim-sim: ignored a line that is not a request\n");
  }
  json_decref(msg);
}

/* stdin closed: no answers will come; requests waiting answer unknown. */
static void finish(void) {
  (void)pthread_mutex_lock(&reqs_mu);
  for (req *r = reqs; r != NULL; r = r->next) {
    r->closed = 1;
    (void)pthread_cond_signal(&r->cv);
  }
  (void)pthread_mutex_unlock(&reqs_mu);
  while (reqs != NULL) {
    req *r = reqs;
    reqs = r->next;
    if (!pthread_equal(r->thread, pthread_self()))
      (void)pthread_join(r->thread, NULL);
    json_decref(r->answer);
    json_decref(r->msg);
    (void)pthread_cond_destroy(&r->cv);
    free(r);
  }
}

/* One line of @p f, '\n' included, into *line (grown as needed): its
 * length, or -1 at the end of input or when out of memory. getline(3) in
 * ISO C, which Windows lacks. */
static long long read_line(char **line, size_t *cap, FILE *f) {
  size_t n = 0;
  int c;
  while ((c = getc(f)) != EOF) {
    if (n + 2 > *cap) {
      size_t ncap = *cap ? *cap * 2 : 256;
      char *p = realloc(*line, ncap);
      if (p == NULL)
        return -1;
      *line = p;
      *cap = ncap;
    }
    (*line)[n++] = (char)c;
    if (c == '\n')
      break;
  }
  if (n == 0)
    return -1;
  (*line)[n] = '\0';
  return (long long)n;
}

static int serve_stdin(medshim_sim *sim) {
  char *line = NULL;
  size_t cap = 0;
  long long n;
  while ((n = read_line(&line, &cap, stdin)) >= 0) {
    if (n > 0 && line[n - 1] == '\n')
      line[n - 1] = '\0';
    if (line[0] != '\0')
      handle(sim, line);
  }
  free(line);
  finish();
  return 0;
}

static int print_stats(medshim_sim *sim) {
  char *text = NULL;
  if (medshim_sim_stats_json(sim, &text) != MEDSHIM_OK) {
    fprintf(stderr, "medshim-sim: cannot read the ledger\n");
    return 1;
  }
  printf("%s\n", text);
  medshim_sim_free(text);
  return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  cli c;
  medshim_sim *sim = NULL;
  int rc;
  cli_sys_binary_stdio(); /* JSON lines, byte for byte */
  cli_sys_utf8_args(&argc, &argv);
  memset(&c, 0, sizeof c);
  c.o.version = MEDSHIM_SIM_OPTIONS_VERSION;
  if ((rc = parse_args(&c, argc, argv)) != 0)
    return rc > 0 ? 0 : 64;
  if (c.o.seed == 0) /* a fresh roll in every process */
    c.o.seed = (uint32_t)cli_sys_pid() * 2654435761u;
  if ((rc = medshim_sim_open(&sim, &c.o)) != MEDSHIM_OK) {
    fprintf(stderr, "medshim-sim: cannot open the simulator: %s\n",
            medshim_strerror(rc));
    return rc == MEDSHIM_EINVAL ? 64 : 1;
  }
  rc = c.stats ? print_stats(sim) : serve_stdin(sim);
  medshim_sim_close(sim);
  return rc;
}
