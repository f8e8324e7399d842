/* Running the HIS's adapter command once per operation. Anything but one
 * well-formed answer (a non-zero exit, a timeout, other output) means the
 * outcome is unknown: the claim stays in doubt and is queried later. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli_util.h"
#include "exec_adapter.h"

#define ANSWER_MAX 65536

static void copy(char *dst, size_t size, json_t *v) {
  const char *s = json_string_value(v);
  snprintf(dst, size, "%s", s ? s : "");
}

void exec_adapter_parse(medshim_settlement *out, const char *text,
                        int is_query) {
  json_error_t e;
  json_t *o = json_loads(text, 0, &e);
  const char *status = json_string_value(json_object_get(o, "status"));
  out->outcome = MEDSHIM_OUTCOME_UNKNOWN;
  if (!json_is_object(o) || status == NULL)
    goto done;
  if (strcmp(status, "settled") == 0) {
    json_t *f = json_object_get(o, "fund_paid_fen"),
           *p = json_object_get(o, "patient_paid_fen"),
           *a = json_object_get(o, "acct_paid_fen"),
           *id = json_object_get(o, "settlement_id");
    /* amounts must be integers of fen: anything else is not an answer */
    if (!json_is_integer(f) || !json_is_integer(p) || !json_is_string(id) ||
        (a != NULL && !json_is_integer(a)))
      goto done;
    out->outcome = MEDSHIM_OUTCOME_SETTLED;
    copy(out->settlement_id, sizeof out->settlement_id, id);
    out->fund_paid_fen = json_integer_value(f);
    out->patient_paid_fen = json_integer_value(p);
    out->acct_paid_fen = a ? json_integer_value(a) : 0;
  } else if (strcmp(status, "rejected") == 0 && !is_query) {
    out->outcome = MEDSHIM_OUTCOME_REJECTED;
    copy(out->code, sizeof out->code, json_object_get(o, "code"));
    copy(out->message, sizeof out->message, json_object_get(o, "message"));
  } else if (strcmp(status, "retry") == 0) {
    out->outcome = MEDSHIM_OUTCOME_RETRY;
  } else if (strcmp(status, "not_found") == 0 && is_query) {
    out->outcome = MEDSHIM_OUTCOME_NOT_FOUND;
  }
done:
  json_decref(o);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Run the command; returns its stdout (malloc'ed) or NULL when it failed. */
static char *run_command(exec_adapter *ex, const char *op, const char *input) {
  int in[2] = {-1, -1}, out[2] = {-1, -1}, status = 0;
  char *buf = NULL;
  size_t len = 0, inlen = strlen(input), sent = 0;
  double deadline = now() + ex->timeout_seconds;
  int ok = 0;
  pid_t pid;
  if (pipe(in) != 0 || pipe(out) != 0)
    goto fail;
  buf = malloc(ANSWER_MAX + 1);
  if (buf == NULL)
    goto fail;
  pid = fork();
  if (pid < 0)
    goto fail;
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    close(in[0]);
    close(in[1]);
    close(out[0]);
    close(out[1]);
    setenv("MEDSHIM_OP", op, 1);
    execl("/bin/sh", "sh", "-c", ex->command, (char *)NULL);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  in[0] = out[1] = -1;
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  for (;;) {
    struct pollfd p[2];
    int np = 0, wait_ms;
    double left = deadline - now();
    if (left <= 0) { /* timeout: the outcome is unknown */
      kill(pid, SIGKILL);
      break;
    }
    p[np].fd = out[0];
    p[np++].events = POLLIN;
    if (in[1] >= 0) {
      p[np].fd = in[1];
      p[np++].events = POLLOUT;
    }
    wait_ms = (int)(left * 1000) + 1;
    if (poll(p, (nfds_t)np, wait_ms) < 0) {
      if (errno == EINTR)
        continue;
      kill(pid, SIGKILL);
      break;
    }
    if (np == 2 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t n = write(in[1], input + sent, inlen - sent);
      if (n > 0)
        sent += (size_t)n;
      if (n < 0 || sent == inlen) {
        close(in[1]);
        in[1] = -1;
      }
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(out[0], buf + len, ANSWER_MAX - len);
      if (n <= 0) {
        ok = 1; /* end of output */
        break;
      }
      len += (size_t)n;
      if (len == ANSWER_MAX) {
        kill(pid, SIGKILL);
        break;
      }
    }
  }
  waitpid(pid, &status, 0);
  if (!ok || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    goto fail;
  buf[len] = '\0';
  close(out[0]);
  if (in[1] >= 0)
    close(in[1]);
  return buf;
fail:
  free(buf);
  for (int i = 0; i < 2; i++) {
    if (in[i] >= 0)
      close(in[i]);
    if (out[i] >= 0)
      close(out[i]);
  }
  return NULL;
}

static int op(medshim_settlement *out, const medshim_claim *c, const char *key,
              void *payload, int is_query) {
  exec_adapter *ex = payload;
  medshim_claim_status st;
  char *line, *answer;
  if (medshim_journal_get(NULL, &st, ex->journal, medshim_claim_visit_id(c)) !=
      MEDSHIM_OK)
    medshim_claim_status_init(&st, MEDSHIM_CLAIM_STATUS_VERSION);
  /* The adapter needs the identity to call the platform: revealed, but only
   * through a pipe to the HIS's own program. */
  line = cli_claim_json(c, &st, key, MEDSHIM_CLAIM_JSON_REVEAL);
  if (line == NULL)
    return -1;
  answer = run_command(ex, is_query ? "query" : "settle", line);
  cli_free_line(line);
  if (answer == NULL) {
    out->outcome = MEDSHIM_OUTCOME_UNKNOWN;
    return 0;
  }
  exec_adapter_parse(out, answer, is_query);
  free(answer);
  return 0;
}

/* Interim bridge to adapter API v2 (the JSON-lines protocol replaces it). */
static int settle(medshim_settlement *out, medshim_adapter_ctx *ctx,
                  void *payload) {
  int rc = op(out, medshim_adapter_claim(ctx), medshim_adapter_replay_key(ctx),
              payload, 0);
  if (out->outcome == MEDSHIM_OUTCOME_SETTLED && out->total_fen == 0)
    out->total_fen = out->fund_paid_fen + out->acct_paid_fen +
                     out->patient_paid_fen;
  return rc;
}

static int query(medshim_settlement *out, medshim_adapter_ctx *ctx,
                 void *payload) {
  int rc = op(out, medshim_adapter_claim(ctx), medshim_adapter_replay_key(ctx),
              payload, 1);
  if (out->outcome == MEDSHIM_OUTCOME_SETTLED && out->total_fen == 0)
    out->total_fen = out->fund_paid_fen + out->acct_paid_fen +
                     out->patient_paid_fen;
  return rc;
}

void exec_adapter_init(medshim_adapter *out, exec_adapter *ex) {
  out->version = MEDSHIM_ADAPTER_VERSION;
  out->settle = settle;
  out->probe = query;
  out->payload = ex;
}
