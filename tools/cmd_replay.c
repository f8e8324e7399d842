/* medshim replay: re-settle deferred claims through the HIS's adapter
 * program (the JSON-lines exec protocol of docs/replay.md);
 * medshim void / retry / expire: a person's decisions on many claims at
 * once, changed only with --yes; medshim window: assign or change the
 * claims' re-settlement windows from schedules, recorded only with --apply. */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "cli_num.h"
#include "cli_opt.h"
#include "cli_sys.h"
#include "cli_util.h"
#include "exec_adapter.h"
#include "timeutil_internal.h"

/* Exit code of a command that would change stored claims but was not told
 * --yes (or --apply): it listed them and changed nothing. */
#define CLI_EXIT_UNCONFIRMED 3

static void usage(FILE *f) {
  fprintf(f,
      "usage: medshim replay --journal DIR --key KEYFILE --institution CODE\n"
      "                      (--exec CMD | --exec-persistent CMD | --dry-run)\n"
      "                      [--at TIME] [--confirm-time] [--concurrency N]\n"
      "                      [--rate R] [--timeout S] [--visibility-delay S]\n"
      "                      [--expire-grace-days N] [--expire-now]\n\n"
      "Settles every deferred claim whose re-settlement window (journaled\n"
      "with the claim, or assigned with `medshim window`) is open at TIME\n"
      "(default: now) exactly once, through the HIS's adapter program CMD\n"
      "(run by /bin/sh -c), which speaks the JSON-lines exec protocol of\n"
      "docs/replay.md on its stdin and stdout: --exec starts it once per\n"
      "settle or probe, --exec-persistent once for the run with up to\n"
      "--concurrency requests in flight.\n\n"
      "  --institution CODE   the 12-character fixmedins_code that prefixes\n"
      "                       every msgid (or MEDSHIM_INSTITUTION)\n"
      "  --timeout S          per request (default 60); the adapter is killed\n"
      "                       with its process group at the timeout\n"
      "  --visibility-delay S an in-doubt claim is probed only this long after\n"
      "                       its attempt began (default: timeout + 60;\n"
      "                       0: at once, for simulators only)\n"
      "  --expire-grace-days N  days past a deadline before a claim expires\n"
      "                       (default 7); --expire-now: no grace\n"
      "  --confirm-time       run although TIME fits no unfinished claim\n"
      "  --rate R             settle calls per second (default unlimited)\n"
      "  --dry-run            print what would be done; change nothing\n\n"
      "Prints one JSON line per claim with its first action\n"
      "({\"visit_id\",\"action\":send|probe|expire|manual|wait,\"why\"}), the\n"
      "same in a dry run and a real one, then the summary line (JSON; its\n"
      "times are exact instants, +08:00; opens_at: when the first window\n"
      "opens, when none is open yet).\n\n"
      "Exit status: 0 the run completed (claims may still be in doubt or\n"
      "waiting: see the summary); 1 refused (TIME fits no claim: see\n"
      "--confirm-time) or failed (journal, adapter); 64 bad command line.\n");
}

/* ---- replay --------------------------------------------------------------- */

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

static int bar(const medshim_replay_summary *s, size_t handled, void *payload) {
  size_t total = *(size_t *)payload, width = 40, fill;
  if (total == 0)
    return 0;
  fill = handled * width / total;
  if (fill > width)
    fill = width;
  fprintf(stderr, "\r[%.*s%*s] %zu/%zu settled %zu rejected %zu in doubt %zu",
          (int)fill, "########################################",
          (int)(width - fill), "", handled, total, s->settled, s->rejected,
          s->in_doubt);
  return 0;
}

static int count_claims(const medshim_claim *c, const medshim_claim_status *st,
                        void *payload) {
  (void)c;
  (void)st;
  (*(size_t *)payload)++;
  return 0;
}

/* The first action of each claim, as a JSON line. Claims that were already
 * final before the run say nothing (their why is their state's name). */
static int on_action(const char *visit_id, medshim_replay_action a,
                     const char *why, void *payload) {
  medshim_claim_state st;
  const char *name = medshim_replay_action_name(a);
  json_t *o;
  char *text;
  (void)payload;
  if (a == MEDSHIM_ACTION_FINAL && why != NULL &&
      medshim_state_parse(&st, why) == MEDSHIM_OK)
    return 0;
  o = json_pack("{s:s, s:s, s:s}", "visit_id", visit_id, "action",
                name ? name : "?", "why", why ? why : "");
  text = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  if (text == NULL)
    return 0;
  pthread_mutex_lock(&out_mu);
  printf("%s\n", text);
  pthread_mutex_unlock(&out_mu);
  free(text);
  return 0;
}

static int never_called(medshim_settlement *out, medshim_adapter_ctx *ctx,
                        void *payload) {
  (void)ctx;
  (void)payload;
  out->outcome = MEDSHIM_OUTCOME_UNKNOWN;
  return -1;
}

static void print_summary(const medshim_replay_summary *s, int64_t at,
                          int dry_run, size_t adapter_errors) {
  char t[MEDSHIM_TIME_TEXT], opens[MEDSHIM_TIME_TEXT];
  json_t *o;
  char *text;
  medshim__time_format(t, at);
  o = json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
                " s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                "at", t, "dry_run", dry_run, "claims", (json_int_t)s->claims,
                "attempts", (json_int_t)s->attempts, "queries",
                (json_int_t)s->queries, "settled", (json_int_t)s->settled,
                "rejected", (json_int_t)s->rejected, "retry_wait",
                (json_int_t)s->retry_wait, "in_doubt", (json_int_t)s->in_doubt,
                "pending", (json_int_t)s->pending, "blocked",
                (json_int_t)s->blocked, "unplanned", (json_int_t)s->unplanned,
                "overdue", (json_int_t)s->overdue, "expired",
                (json_int_t)s->expired, "manual", (json_int_t)s->manual,
                "voided", (json_int_t)s->voided, "refunds_due_fen",
                (json_int_t)s->refunds_due_fen, "negative_refunds",
                (json_int_t)s->negative_refunds, "bad_answers",
                (json_int_t)s->bad_answers, "adapter_errors",
                (json_int_t)adapter_errors);
  if (o != NULL) {
    if (s->opens_at != 0) {
      medshim__time_format(opens, s->opens_at);
      json_object_set_new(o, "opens_at", json_string(opens));
    } else {
      json_object_set_new(o, "opens_at", json_null());
    }
  }
  text = o ? json_dumps(o, JSON_COMPACT) : NULL;
  printf("%s\n", text ? text : "{}");
  free(text);
  json_decref(o);
}

static int institution_ok(const char *s) {
  if (s == NULL || strlen(s) != MEDSHIM_INSTITUTION_LEN)
    return 0;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'Z') ||
          (*s >= 'a' && *s <= 'z')))
      return 0;
  return 1;
}

int cli_cmd_replay(int argc, char **argv) {
  enum { O_EXEC = 256, O_PERSIST, O_VIS, O_GRACE, O_NOW, O_CONFIRM, O_INST,
         O_SCHED };
  static const struct option opts[] = {
      {"journal", required_argument, 0, 'j'},
      {"key", required_argument, 0, 'k'},
      {"institution", required_argument, 0, O_INST},
      {"exec", required_argument, 0, O_EXEC},
      {"exec-persistent", required_argument, 0, O_PERSIST},
      {"at", required_argument, 0, 'a'},
      {"concurrency", required_argument, 0, 'c'},
      {"rate", required_argument, 0, 'r'},
      {"timeout", required_argument, 0, 't'},
      {"visibility-delay", required_argument, 0, O_VIS},
      {"expire-grace-days", required_argument, 0, O_GRACE},
      {"expire-now", no_argument, 0, O_NOW},
      {"confirm-time", no_argument, 0, O_CONFIRM},
      {"dry-run", no_argument, 0, 'd'},
      {"schedule", required_argument, 0, O_SCHED},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  const char *dir = NULL, *key = NULL, *at = NULL, *vis = NULL;
  const char *institution = getenv("MEDSHIM_INSTITUTION");
  exec_adapter_config cfg = {NULL, 0, 60, 1, "medshim replay"};
  exec_adapter *ex = NULL;
  medshim_replay_options o = MEDSHIM_REPLAY_OPTIONS_INIT;
  medshim_replay_summary sum;
  medshim_adapter adapter = {MEDSHIM_ADAPTER_VERSION, never_called,
                             never_called, NULL};
  medshim_journal *j;
  size_t total = 0, adapter_errors = 0;
  unsigned long v;
  int c, rc, bad = 0, nexec = 0;
  optind = 1;
  while ((c = cli_getopt("replay", argc, argv, opts)) != -1) {
    switch (c) {
    case 'j': dir = optarg; break;
    case 'k': key = optarg; break;
    case O_INST: institution = optarg; break;
    case O_EXEC: cfg.command = optarg; cfg.persistent = 0; nexec++; break;
    case O_PERSIST: cfg.command = optarg; cfg.persistent = 1; nexec++; break;
    case 'a': at = optarg; break;
    case 'c':
      if (cli_parse_ulong("replay", "concurrency", optarg, 1, 64, &v) != 0)
        bad = 1;
      else
        o.concurrency = (unsigned)v;
      break;
    case 'r':
      if (cli_parse_double("replay", "rate", optarg, 0, 1e6, &o.rate) != 0)
        bad = 1;
      break;
    case 't':
      if (cli_parse_ulong("replay", "timeout", optarg, 1, 86400, &v) != 0)
        bad = 1;
      else
        cfg.timeout_seconds = (int)v;
      break;
    case O_VIS: vis = optarg; break;
    case O_GRACE:
      if (cli_parse_ulong("replay", "expire-grace-days", optarg, 1, 3650, &v)
          != 0) {
        if (strcmp(optarg, "0") == 0)
          fprintf(stderr, "medshim replay: --expire-grace-days: for no grace "
                          "use --expire-now\n");
        bad = 1;
      } else {
        o.expire_grace_days = (uint32_t)v;
      }
      break;
    case O_NOW: o.flags |= MEDSHIM_REPLAY_EXPIRE_NOW; break;
    case O_CONFIRM: o.flags |= MEDSHIM_REPLAY_CONFIRM_TIME; break;
    case 'd': o.dry_run = 1; break;
    case O_SCHED:
      fprintf(stderr, "medshim replay: --schedule is no longer taken: each "
                      "claim's window is journaled with it. To assign or "
                      "change windows from schedules use `medshim window "
                      "--journal DIR --key KEYFILE --schedule FILE... "
                      "[--apply]`\n");
      return CLI_EXIT_USAGE;
    case 'h': usage(stdout); return CLI_EXIT_OK;
    default: return CLI_EXIT_USAGE;
    }
  }
  if (bad)
    return CLI_EXIT_USAGE;
  if (dir == NULL)
    return cli_missing("replay", "--journal DIR");
  if (key == NULL)
    return cli_missing("replay", "--key KEYFILE");
  if (optind != argc)
    return cli_extra("replay", argv[optind]);
  if (nexec > 1) {
    fprintf(stderr, "medshim replay: give one of --exec and --exec-persistent\n");
    return CLI_EXIT_USAGE;
  }
  if (nexec == 0 && !o.dry_run) {
    fprintf(stderr, "medshim replay: --exec or --exec-persistent is required "
                    "(or --dry-run) (medshim replay --help)\n");
    return CLI_EXIT_USAGE;
  }
  if (institution == NULL) {
    fprintf(stderr, "medshim replay: --institution CODE is required: the "
                    "12-character fixmedins_code every msgid starts with (or "
                    "set MEDSHIM_INSTITUTION)\n");
    return CLI_EXIT_USAGE;
  }
  if (!institution_ok(institution)) {
    fprintf(stderr, "medshim replay: --institution: '%s' is not a "
                    "12-character fixmedins_code (letters and digits)\n",
            institution);
    return CLI_EXIT_USAGE;
  }
  o.institution_code = institution;
  if (vis == NULL) {
    o.visibility_delay_seconds = (uint32_t)cfg.timeout_seconds + 60;
  } else if (cli_parse_ulong("replay", "visibility-delay", vis, 0, 30 * 86400,
                             &v) != 0) {
    return CLI_EXIT_USAGE;
  } else if (v == 0) {
    o.flags |= MEDSHIM_REPLAY_NO_VISIBILITY_DELAY;
  } else if (v <= (unsigned long)cfg.timeout_seconds) {
    fprintf(stderr, "medshim replay: --visibility-delay %lu must be longer "
                    "than --timeout %d: an attempt may still be running until "
                    "its timeout\n", v, cfg.timeout_seconds);
    return CLI_EXIT_USAGE;
  } else {
    o.visibility_delay_seconds = (uint32_t)v;
  }
  if (at != NULL && cli_parse_time("replay", "at", at, &o.at) != 0)
    return CLI_EXIT_USAGE;
  if (o.at == 0)
    o.at = (int64_t)time(NULL);
  cfg.concurrency = o.concurrency ? o.concurrency : 1;

  j = cli_open_journal("replay", dir, key, MEDSHIM_JOURNAL_REPLAY);
  if (j == NULL)
    return CLI_EXIT_FAIL;
  if (!o.dry_run) {
    if (exec_adapter_new(&ex, &cfg) != 0) {
      fprintf(stderr, "medshim replay: cannot set up the adapter (out of "
                      "memory or threads)\n");
      medshim_journal_close(j);
      return CLI_EXIT_FAIL;
    }
    exec_adapter_bind(&adapter, ex);
  }
  o.action = on_action;
  if (cli_sys_stderr_is_tty()) {
    (void)medshim_journal_foreach(j, count_claims, &total);
    o.progress = bar;
    o.progress_payload = &total;
  }
  rc = medshim_replay_run(&sum, j, &adapter, &o);
  if (o.progress != NULL)
    fputc('\n', stderr);
  if (ex != NULL) {
    adapter_errors = exec_adapter_errors(ex);
    exec_adapter_free(ex); /* the persistent adapter ends here */
  }
  if (rc == MEDSHIM_ESTATE) {
    fprintf(stderr, "medshim replay: refused: %s. Nothing was changed. If "
                    "the time is right (a late replay, a drill), run again "
                    "with --confirm-time.\n", medshim_journal_errmsg(j));
  } else if (rc != MEDSHIM_OK) {
    cli_error("replay", dir, rc, medshim_journal_errmsg(j));
  } else if (sum.opens_at != 0 && sum.attempts == 0 && sum.queries == 0) {
    char t[MEDSHIM_TIME_TEXT];
    medshim__time_format(t, sum.opens_at);
    fprintf(stderr, "medshim replay: no window is open yet; the first opens "
                    "at %s\n", t);
  }
  if (rc == MEDSHIM_OK || rc == MEDSHIM_EUSER)
    print_summary(&sum, o.at, o.dry_run, adapter_errors);
  /* Outcomes recorded without a sync of their own become durable here. */
  if (cli_close_journal("replay", dir, j, rc != MEDSHIM_OK) != MEDSHIM_OK &&
      rc == MEDSHIM_OK)
    rc = MEDSHIM_EIO;
  return rc == MEDSHIM_OK ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

/* ---- void, retry, expire: many claims, changed only with --yes ----------- */

enum person_op { OP_VOID, OP_RETRY, OP_EXPIRE };

static const char *const op_names[] = {"void", "retry", "expire"};
static const char *const op_targets[] = {"voided", "pending", "expired"};

typedef struct target {
  char *visit_id;
  medshim_claim_state state;
  char code[MEDSHIM_REJECT_CODE_MAX + 1];
  int found;
  const char *skip; /* why it will not change; NULL: it will */
  int64_t until;    /* retry of an expired claim: its deadline */
} target;

typedef struct selection {
  target *t;
  size_t n, cap;
  int by_state;
  medshim_claim_state state;
  const char *code;
  enum person_op op;
  int64_t at;
  int failed;
} selection;

static target *sel_add(selection *s, const char *visit_id) {
  target *t;
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->t[i].visit_id, visit_id) == 0)
      return NULL; /* named twice: once is enough */
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    target *nt = realloc(s->t, cap * sizeof *nt);
    if (nt == NULL) {
      s->failed = 1;
      return NULL;
    }
    s->t = nt;
    s->cap = cap;
  }
  t = &s->t[s->n];
  memset(t, 0, sizeof *t);
  t->visit_id = strdup(visit_id);
  if (t->visit_id == NULL) {
    s->failed = 1;
    return NULL;
  }
  s->n++;
  return t;
}

/* Whether the operation would change the claim, and if not why. */
static void judge(const selection *s, target *t, const medshim_claim *c,
                  const medshim_claim_status *st) {
  medshim_claim_window w;
  int has_w = 0;
  t->found = 1;
  t->state = st->state;
  memcpy(t->code, st->code, sizeof t->code);
  if (s->by_state && st->state != s->state) {
    t->skip = "its state is not the one given with --state";
    return;
  }
  if (s->code != NULL && strcmp(st->code, s->code) != 0) {
    t->skip = "its code is not the one given with --code";
    return;
  }
  switch (s->op) {
  case OP_VOID:
    if (st->state == MEDSHIM_STATE_SETTLED)
      t->skip = "settled: reverse it on the platform first";
    else if (st->state == MEDSHIM_STATE_IN_DOUBT)
      t->skip = "in doubt: resolve it with a replay first";
    else if (st->state == MEDSHIM_STATE_VOIDED)
      t->skip = "already voided";
    break;
  case OP_RETRY:
    if (st->state != MEDSHIM_STATE_REJECTED &&
        st->state != MEDSHIM_STATE_EXPIRED) {
      t->skip = "only rejected or expired claims can be retried";
    } else if (st->state == MEDSHIM_STATE_EXPIRED) {
      if (st->window_assigned) {
        w = st->window;
        has_w = 1;
      } else {
        has_w = medshim_claim_window_get(&w, c) == MEDSHIM_OK;
      }
      if (has_w && w.until != 0 && s->at >= w.until) {
        t->until = w.until;
        t->skip = "its deadline has passed: once the agency extends it, "
                  "record the new window with `medshim window --apply`";
      }
    }
    break;
  case OP_EXPIRE:
    if (st->state != MEDSHIM_STATE_PENDING &&
        st->state != MEDSHIM_STATE_RETRY_WAIT &&
        st->state != MEDSHIM_STATE_REJECTED)
      t->skip = "only pending, retry_wait or rejected claims can be expired";
    break;
  }
}

static int select_visit(const medshim_claim *c, const medshim_claim_status *st,
                        void *payload) {
  selection *s = payload;
  target *t;
  if (s->by_state && st->state != s->state)
    return 0;
  if (s->code != NULL && strcmp(st->code, s->code) != 0)
    return 0;
  t = sel_add(s, medshim_claim_visit_id(c));
  if (t == NULL)
    return s->failed;
  judge(s, t, c, st);
  return 0;
}

static int read_id_file(selection *s, const char *cmd, const char *path) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
  char line[1024];
  size_t lineno = 0;
  if (f == NULL) {
    fprintf(stderr, "medshim %s: --file: cannot open %s\n", cmd, path);
    return -1;
  }
  while (fgets(line, sizeof line, f) != NULL) {
    size_t n = strlen(line);
    char *p = line;
    lineno++;
    if (n == sizeof line - 1 && line[n - 1] != '\n') {
      fprintf(stderr, "medshim %s: --file %s: line %zu is too long for a "
                      "visit_id\n", cmd, path, lineno);
      if (f != stdin)
        fclose(f);
      return -1;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' ||
                     line[n - 1] == ' ' || line[n - 1] == '\t'))
      line[--n] = '\0';
    while (*p == ' ' || *p == '\t')
      p++;
    if (*p == '\0' || *p == '#')
      continue;
    (void)sel_add(s, p);
    if (s->failed)
      break;
  }
  if (f != stdin)
    fclose(f);
  return s->failed ? -1 : 0;
}

static void print_target(const target *t, const char *to, const char *result) {
  json_t *o = json_pack("{s:s}", "visit_id", t->visit_id);
  char *text;
  if (o == NULL)
    return;
  if (!t->found) {
    json_object_set_new(o, "skip", json_string("no such claim"));
  } else {
    json_object_set_new(o, "state", json_string(medshim_state_name(t->state)));
    if (t->code[0] != '\0')
      json_object_set_new(o, "code", json_string(t->code));
    if (t->skip != NULL)
      json_object_set_new(o, "skip", json_string(t->skip));
    else
      json_object_set_new(o, "to", json_string(to));
    if (t->until != 0) {
      /* until: the exact exclusive instant; last_day: the day people read */
      char u[MEDSHIM_TIME_TEXT], d[MEDSHIM_DAY_TEXT];
      medshim__time_format(u, t->until);
      json_object_set_new(o, "until", json_string(u));
      if (medshim_format_last_day(d, t->until) == MEDSHIM_OK)
        json_object_set_new(o, "last_day", json_string(d));
    }
  }
  if (result != NULL)
    json_object_set_new(o, "result", json_string(result));
  text = json_dumps(o, JSON_COMPACT);
  if (text != NULL)
    printf("%s\n", text);
  free(text);
  json_decref(o);
}

static void person_usage(FILE *f, enum person_op op) {
  static const char *const what[] = {
      ("Marks claims voided: the HIS cancelled the visit or refunded it by\n"
      "hand. Refused for settled claims (reverse them on the platform first)\n"
      "and in-doubt ones (a replay resolves them first)."),
      ("Sends rejected claims, or expired ones whose deadline still allows,\n"
      "back to pending after a person fixed their data; the next replay\n"
      "settles them."),
      ("Expires pending, retry_wait or rejected claims now, whatever their\n"
      "deadline: they go to the manual-reimbursement export.")};
  fprintf(f,
          "usage: medshim %s --journal DIR --key KEYFILE [--at TIME]\n"
          "                [--state STATE] [--code CODE] [--file FILE]\n"
          "                [--yes] [VISIT_ID...]\n\n%s\n\n"
          "Claims are named by VISIT_ID arguments and --file (one visit_id a\n"
          "line, '-' for stdin), or chosen by --state and --code (which also\n"
          "narrow named ones). Without --yes the claims that would change are\n"
          "listed (JSON lines) and nothing is changed: exit 3. With --yes they\n"
          "are changed: exit 0, or 2 when some could not be.\n\n"
          "Exit status: 0 changed; 1 the journal could not be opened or\n"
          "written; 2 some claims could not be changed; 3 listed without\n"
          "--yes, nothing changed; 64 bad command line.\n",
          op_names[op], what[op]);
}

static int person(int argc, char **argv, enum person_op op) {
  static const struct option opts[] = {{"journal", required_argument, 0, 'j'},
                                       {"key", required_argument, 0, 'k'},
                                       {"at", required_argument, 0, 'a'},
                                       {"state", required_argument, 0, 's'},
                                       {"code", required_argument, 0, 'C'},
                                       {"file", required_argument, 0, 'f'},
                                       {"yes", no_argument, 0, 'y'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *dir = NULL, *key = NULL, *at = NULL, *cmd = op_names[op];
  const char *files[16];
  size_t nfiles = 0, changes = 0, skipped = 0, done = 0, failed = 0;
  selection s;
  medshim_journal *j;
  int c, yes = 0, rc = MEDSHIM_OK, fatal = 0;
  memset(&s, 0, sizeof s);
  s.op = op;
  s.at = (int64_t)time(NULL);
  optind = 1;
  while ((c = cli_getopt(cmd, argc, argv, opts)) != -1) {
    switch (c) {
    case 'j': dir = optarg; break;
    case 'k': key = optarg; break;
    case 'a': at = optarg; break;
    case 's':
      {
        int st;
        if (cli_parse_state(cmd, "state", optarg, &st) != 0)
          return CLI_EXIT_USAGE;
        s.state = (medshim_claim_state)st;
      }
      s.by_state = 1;
      break;
    case 'C': s.code = optarg; break;
    case 'f':
      if (nfiles == sizeof files / sizeof files[0]) {
        fprintf(stderr, "medshim %s: --file: at most 16 files\n", cmd);
        return CLI_EXIT_USAGE;
      }
      files[nfiles++] = optarg;
      break;
    case 'y': yes = 1; break;
    case 'h': person_usage(stdout, op); return CLI_EXIT_OK;
    default: return CLI_EXIT_USAGE;
    }
  }
  if (dir == NULL)
    return cli_missing(cmd, "--journal DIR");
  if (key == NULL)
    return cli_missing(cmd, "--key KEYFILE");
  if (optind == argc && nfiles == 0 && !s.by_state && s.code == NULL) {
    fprintf(stderr, "medshim %s: name the claims (VISIT_ID..., --file) or "
                    "choose them (--state, --code)\n", cmd);
    return CLI_EXIT_USAGE;
  }
  if (at != NULL && cli_parse_time(cmd, "at", at, &s.at) != 0)
    return CLI_EXIT_USAGE;
  /* Only a confirmed change takes the writer lock. */
  j = cli_open_journal(cmd, dir, key,
                       yes ? MEDSHIM_JOURNAL_REPLAY : MEDSHIM_JOURNAL_READONLY);
  if (j == NULL)
    return CLI_EXIT_FAIL;
  for (int i = optind; i < argc; i++)
    (void)sel_add(&s, argv[i]);
  for (size_t i = 0; i < nfiles && !s.failed; i++)
    if (read_id_file(&s, cmd, files[i]) != 0)
      fatal = 1;
  if (s.failed || fatal) {
    if (s.failed)
      fprintf(stderr, "medshim %s: out of memory\n", cmd);
    rc = MEDSHIM_ENOMEM;
    goto done;
  }
  if (s.n > 0) {
    for (size_t i = 0; i < s.n; i++) {
      medshim_claim *claim = NULL;
      medshim_claim_status st;
      int grc = medshim_journal_get(&claim, &st, j, s.t[i].visit_id);
      if (grc == MEDSHIM_OK)
        judge(&s, &s.t[i], claim, &st);
      else if (grc != MEDSHIM_ENOTFOUND) {
        cli_error(cmd, s.t[i].visit_id, grc, medshim_journal_errmsg(j));
        medshim_claim_free(claim);
        rc = grc;
        goto done;
      }
      medshim_claim_free(claim);
    }
  } else {
    rc = medshim_journal_foreach(j, select_visit, &s);
    if (rc != MEDSHIM_OK) {
      cli_error(cmd, dir, rc, s.failed ? "out of memory"
                                       : medshim_journal_errmsg(j));
      goto done;
    }
  }
  for (size_t i = 0; i < s.n; i++) {
    if (s.t[i].found && s.t[i].skip == NULL)
      changes++;
    else
      skipped++;
  }
  if (!yes) {
    for (size_t i = 0; i < s.n; i++)
      print_target(&s.t[i], op_targets[op], NULL);
    fprintf(stderr, "medshim %s: %zu claim%s would change, %zu would not; "
                    "nothing was changed: run again with --yes to change "
                    "them\n", cmd, changes, changes == 1 ? "" : "s", skipped);
    goto done;
  }
  for (size_t i = 0; i < s.n; i++) {
    target *t = &s.t[i];
    int orc;
    if (!t->found || t->skip != NULL) {
      print_target(t, op_targets[op], "unchanged");
      continue;
    }
    orc = op == OP_VOID    ? medshim_replay_void(j, t->visit_id, s.at)
          : op == OP_RETRY ? medshim_replay_retry(j, t->visit_id, s.at)
                           : medshim_replay_expire(j, t->visit_id, s.at);
    if (orc == MEDSHIM_OK) {
      print_target(t, op_targets[op], "changed");
      done++;
    } else if (orc == MEDSHIM_ESTATE || orc == MEDSHIM_ENOTFOUND) {
      /* changed since it was listed (another process) */
      t->skip = "refused: its state changed meanwhile";
      print_target(t, op_targets[op], "unchanged");
      failed++;
    } else {
      cli_error(cmd, t->visit_id, orc, medshim_journal_errmsg(j));
      rc = orc;
      break;
    }
  }
  fprintf(stderr, "medshim %s: %zu changed, %zu not\n", cmd, done,
          s.n - done);
done:
  if (cli_close_journal(cmd, dir, j, rc != MEDSHIM_OK) != MEDSHIM_OK &&
      rc == MEDSHIM_OK)
    rc = MEDSHIM_EIO;
  for (size_t i = 0; i < s.n; i++)
    free(s.t[i].visit_id);
  free(s.t);
  if (rc != MEDSHIM_OK)
    return CLI_EXIT_FAIL;
  if (!yes)
    return CLI_EXIT_UNCONFIRMED;
  return skipped + failed > 0 ? CLI_EXIT_PARTIAL : CLI_EXIT_OK;
}

int cli_cmd_void(int argc, char **argv) { return person(argc, argv, OP_VOID); }
int cli_cmd_retry(int argc, char **argv) { return person(argc, argv, OP_RETRY); }
int cli_cmd_expire(int argc, char **argv) {
  return person(argc, argv, OP_EXPIRE);
}

/* ---- window: assign or change windows from schedules ------------------------ */

static json_t *window_json(const medshim_claim_window *w) {
  char t[MEDSHIM_TIME_TEXT];
  json_t *o;
  if (w == NULL)
    return json_null();
  o = json_object();
  if (o == NULL)
    return NULL;
  json_object_set_new(o, "route",
                      json_string(medshim_route_name((medshim_route)w->route)
                                      ? medshim_route_name((medshim_route)w->route)
                                      : "?"));
  medshim__time_format(t, w->from);
  json_object_set_new(o, "from", json_string(t));
  if (w->until != 0) {
    medshim__time_format(t, w->until);
    json_object_set_new(o, "until", json_string(t));
  } else {
    json_object_set_new(o, "until", json_null());
  }
  if (w->schedule_id[0] != '\0') {
    json_object_set_new(o, "schedule", json_string(w->schedule_id));
    json_object_set_new(o, "schedule_version",
                        json_integer((json_int_t)w->schedule_version));
  }
  return o;
}

static int on_window(const char *visit_id, const medshim_claim_window *before,
                     const medshim_claim_window *after, void *payload) {
  json_t *o = json_pack("{s:s, s:o, s:o}", "visit_id", visit_id, "before",
                        window_json(before), "after", window_json(after));
  char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
  (void)payload;
  if (text != NULL)
    printf("%s\n", text);
  free(text);
  json_decref(o);
  return 0;
}

static void window_usage(FILE *f) {
  fprintf(f,
          "usage: medshim window --journal DIR --key KEYFILE --schedule FILE...\n"
          "                      [--pubkey PEM] [--apply]\n\n"
          "Compares every unfinished claim's re-settlement window with the one\n"
          "the schedules give for it (an amended notice, or claims deferred\n"
          "during an unplanned outage without a window) and prints one JSON\n"
          "line per claim that would change ({\"visit_id\",\"before\",\"after\"}).\n"
          "Only with --apply are the new windows recorded; without it nothing\n"
          "changes and the exit status is 3 when some would. --pubkey PEM:\n"
          "only schedules with a valid Ed25519 signature (FILE.sig) by this\n"
          "key are used.\n\n"
          "Exit status: 0 nothing to change, or changed with --apply; 1 a\n"
          "schedule or the journal could not be read or written; 3 some\n"
          "would change (no --apply); 64 bad command line.\n");
}

int cli_cmd_window(int argc, char **argv) {
  static const struct option opts[] = {{"journal", required_argument, 0, 'j'},
                                       {"key", required_argument, 0, 'k'},
                                       {"schedule", required_argument, 0, 's'},
                                       {"pubkey", required_argument, 0, 'p'},
                                       {"apply", no_argument, 0, 'A'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *dir = NULL, *key = NULL, *pubkey = NULL;
  char *files[64];
  size_t nfiles = 0, changed = 0;
  medshim_schedule_set *set;
  medshim_journal *j;
  int c, rc, apply = 0;
  optind = 1;
  while ((c = cli_getopt("window", argc, argv, opts)) != -1) {
    switch (c) {
    case 'j': dir = optarg; break;
    case 'k': key = optarg; break;
    case 's':
      if (nfiles == 64) {
        fprintf(stderr, "medshim window: --schedule: at most 64 files\n");
        return CLI_EXIT_USAGE;
      }
      files[nfiles++] = optarg;
      break;
    case 'p': pubkey = optarg; break;
    case 'A': apply = 1; break;
    case 'h': window_usage(stdout); return CLI_EXIT_OK;
    default: return CLI_EXIT_USAGE;
    }
  }
  if (dir == NULL)
    return cli_missing("window", "--journal DIR");
  if (key == NULL)
    return cli_missing("window", "--key KEYFILE");
  if (nfiles == 0)
    return cli_missing("window", "--schedule FILE");
  if (optind != argc)
    return cli_extra("window", argv[optind]);
  set = cli_load_schedules("window", files, nfiles, pubkey, pubkey != NULL);
  if (set == NULL)
    return CLI_EXIT_FAIL;
  j = cli_open_journal("window", dir, key,
                       apply ? MEDSHIM_JOURNAL_REPLAY : MEDSHIM_JOURNAL_READONLY);
  if (j == NULL) {
    medshim_schedule_set_free(set);
    return CLI_EXIT_FAIL;
  }
  rc = medshim_replay_assign_windows(&changed, j, set, apply, on_window, NULL);
  if (rc != MEDSHIM_OK)
    cli_error("window", dir, rc, medshim_journal_errmsg(j));
  else if (apply)
    fprintf(stderr, "medshim window: %zu claim%s windows recorded\n", changed,
            changed == 1 ? "'s" : "s'");
  else if (changed > 0)
    fprintf(stderr, "medshim window: %zu claim%s windows would change; "
                    "nothing was recorded: run again with --apply\n", changed,
            changed == 1 ? "'s" : "s'");
  if (cli_close_journal("window", dir, j, rc != MEDSHIM_OK) != MEDSHIM_OK &&
      rc == MEDSHIM_OK)
    rc = MEDSHIM_EIO;
  medshim_schedule_set_free(set);
  if (rc != MEDSHIM_OK)
    return CLI_EXIT_FAIL;
  return !apply && changed > 0 ? CLI_EXIT_UNCONFIRMED : CLI_EXIT_OK;
}
