/* The host side of the exec protocol (docs/replay.md). A request is a
 * conversation: medshim sends the settle or probe line; the adapter asks
 * for each platform step (step_begin, answered with the msgid once the step
 * is durable), reports what came back (step_end, answered once recorded)
 * and ends with one result line. Anything else - a line that is not
 * protocol JSON, a field of the wrong type, an overlong id, a closed stdout,
 * a non-zero exit, a timeout - makes the outcome UNKNOWN with a message
 * saying what was wrong: the claim stays in doubt and is probed later.
 * Nothing is cut and nothing is guessed.
 *
 * Messages name the visit_id and the field, never a personal field, and
 * never echo what the adapter wrote. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_util.h"
#include "errors_internal.h"
#include "exec_adapter.h"
#include "exec_proc.h"
#include "timeutil_internal.h"

#define LINE_MAX_BYTES (1024 * 1024)

/* The clock of condition-variable deadlines: the monotonic one, but
 * winpthreads measures them on the wall clock. A wait is at most a second
 * and the deadline itself is checked on exec_now(), so a wall-clock step
 * on Windows lengthens one wait at most. */
#ifdef _WIN32
#define COND_CLOCK CLOCK_REALTIME
#else
#define COND_CLOCK CLOCK_MONOTONIC
#endif

struct persist;

struct exec_adapter {
  exec_adapter_config cfg;
  char *command;
  char *prefix;
  atomic_uint_fast64_t next_id;
  atomic_size_t errors;
  atomic_size_t restarts;
  struct persist *p; /* persistent mode */
};

/* ---- lines ---------------------------------------------------------- */

typedef struct linebuf {
  char *buf;
  size_t len, cap;
} linebuf;

/* Append bytes; -1 when a line would exceed LINE_MAX_BYTES. */
static int lb_add(linebuf *b, const char *data, size_t n) {
  if (b->len + n > LINE_MAX_BYTES + 1)
    return -1;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    char *nb;
    while (cap < b->len + n + 1)
      cap *= 2;
    nb = realloc(b->buf, cap);
    if (nb == NULL)
      return -1;
    b->buf = nb;
    b->cap = cap;
  }
  memcpy(b->buf + b->len, data, n);
  b->len += n;
  return 0;
}

/* The next complete line (without its newline) in line and len; consume with
 * lb_drop(). 0 when none. */
static int lb_line(linebuf *b, const char **line, size_t *len) {
  char *nl = b->len ? memchr(b->buf, '\n', b->len) : NULL;
  if (nl == NULL)
    return 0;
  *line = b->buf;
  *len = (size_t)(nl - b->buf);
  if (*len > 0 && b->buf[*len - 1] == '\r')
    (*len)--;
  return 1;
}

static void lb_drop_line(linebuf *b) {
  char *nl = memchr(b->buf, '\n', b->len);
  size_t n = (size_t)(nl - b->buf) + 1;
  memset(b->buf, 0, n); /* it may hold personal data echoed by the adapter */
  memmove(b->buf, b->buf + n, b->len - n);
  b->len -= n;
}

static void lb_free(linebuf *b) {
  if (b->buf != NULL) {
    memset(b->buf, 0, b->cap);
    free(b->buf);
  }
  b->buf = NULL;
  b->len = b->cap = 0;
}

static void wipe_free(char *s) {
  if (s != NULL) {
    memset(s, 0, strlen(s));
    free(s);
  }
}

/* ---- result and step fields ------------------------------------------ */

MEDSHIM__PRINTF(3, 4)
static int why_set(char *why, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, size, fmt, ap);
  va_end(ap);
  return -1;
}

/* A string field into dst (max bytes); absent: "" unless required. */
static int str_field(char *dst, size_t max, const json_t *o, const char *name,
                     int required, char *why, size_t ws) {
  const json_t *v = json_object_get(o, name);
  size_t n;
  dst[0] = '\0';
  if (v == NULL || json_is_null(v))
    return required ? why_set(why, ws, "no \"%s\"", name) : 0;
  if (!json_is_string(v))
    return why_set(why, ws, "\"%s\" is not a string", name);
  n = json_string_length(v);
  if (n > max)
    return why_set(why, ws, "\"%s\" is %zu bytes (at most %zu; never cut)",
                   name, n, max);
  if (memchr(json_string_value(v), '\0', n) != NULL)
    return why_set(why, ws, "\"%s\" contains a NUL character", name);
  memcpy(dst, json_string_value(v), n);
  dst[n] = '\0';
  return 0;
}

/* An id of a settled result: like str_field, but an overlong id is handed
 * to the library unterminated (its whole array, no NUL), which refuses it
 * as a BAD_ANSWER with the reason kept in the claim's status and counted in
 * bad_answers: refused, not cut. */
static int id_field(char *dst, size_t max, const json_t *o, const char *name,
                    int required, char *why, size_t ws) {
  const json_t *v = json_object_get(o, name);
  if (json_is_string(v) && json_string_length(v) > max &&
      memchr(json_string_value(v), '\0', json_string_length(v)) == NULL) {
    memcpy(dst, json_string_value(v), max + 1);
    return 0;
  }
  return str_field(dst, max, o, name, required, why, ws);
}

/* An amount: a JSON integer of fen (not 12.5, not "1250"). */
static int fen_field(int64_t *dst, const json_t *o, const char *name,
                     int required, char *why, size_t ws) {
  const json_t *v = json_object_get(o, name);
  *dst = 0;
  if (v == NULL)
    return required ? why_set(why, ws, "no \"%s\"", name) : 0;
  if (!json_is_integer(v))
    return why_set(why, ws, "\"%s\" is not an integer of fen", name);
  *dst = (int64_t)json_integer_value(v);
  return 0;
}

/* setl_time: "yyyy-MM-dd HH:mm:ss" as the platform writes it (+08:00), or
 * Unix seconds as an integer. */
static int time_field(int64_t *dst, const json_t *o, const char *name,
                      char *why, size_t ws) {
  const json_t *v = json_object_get(o, name);
  static const char shape[] = "dddd-dd-dd dd:dd:dd";
  const char *s;
  *dst = 0;
  if (v == NULL || json_is_null(v))
    return 0;
  if (json_is_integer(v)) {
    if (json_integer_value(v) < 0)
      return why_set(why, ws, "\"%s\" is negative", name);
    *dst = (int64_t)json_integer_value(v);
    return 0;
  }
  if (!json_is_string(v))
    return why_set(why, ws, "\"%s\" is neither a time text nor an integer", name);
  s = json_string_value(v);
  if (json_string_length(v) != sizeof shape - 1)
    goto bad;
  for (size_t i = 0; i < sizeof shape - 1; i++)
    if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
      goto bad;
  if (medshim__time_parse(dst, s, sizeof shape - 1) != 0)
    goto bad;
  return 0;
bad:
  *dst = 0;
  return why_set(why, ws, "\"%s\" is not \"yyyy-MM-dd HH:mm:ss\"", name);
}

static void settlement_clear(medshim_settlement *out) {
  unsigned v = out->version;
  memset(out, 0, sizeof *out);
  out->version = v;
}

int exec_parse_result(medshim_settlement *out, const json_t *o, int is_probe,
                      char *why, size_t ws) {
  const char *status = json_string_value(json_object_get(o, "status"));
  int rc = 0;
  settlement_clear(out);
  if (status == NULL) {
    rc = why_set(why, ws, "the result has no \"status\"");
  } else if (strcmp(status, "settled") == 0) {
    out->outcome = MEDSHIM_OUTCOME_SETTLED;
    if (id_field(out->settlement_id, MEDSHIM_PLATFORM_ID_MAX, o,
                 "settlement_id", 1, why, ws) != 0 ||
        id_field(out->mdtrt_id, MEDSHIM_PLATFORM_ID_MAX, o, "mdtrt_id", 0, why,
                 ws) != 0 ||
        id_field(out->msgid, MEDSHIM_MSGID_LEN, o, "msgid", 0, why, ws) != 0 ||
        time_field(&out->setl_time, o, "setl_time", why, ws) != 0 ||
        fen_field(&out->total_fen, o, "total_fen", 1, why, ws) != 0 ||
        fen_field(&out->fund_paid_fen, o, "fund_paid_fen", 1, why, ws) != 0 ||
        fen_field(&out->acct_paid_fen, o, "acct_paid_fen", 0, why, ws) != 0 ||
        fen_field(&out->patient_paid_fen, o, "patient_paid_fen", 1, why, ws) !=
            0 ||
        fen_field(&out->hospital_share_fen, o, "hospital_share_fen", 0, why,
                  ws) != 0)
      rc = -1;
  } else if (strcmp(status, "rejected") == 0) {
    if (is_probe) {
      rc = why_set(why, ws, "a probe cannot answer \"rejected\"");
    } else {
      const json_t *m = json_object_get(o, "message");
      out->outcome = MEDSHIM_OUTCOME_REJECTED;
      if (str_field(out->code, MEDSHIM_REJECT_CODE_MAX, o, "code", 0, why, ws) !=
          0)
        rc = -1;
      else if (m != NULL && !json_is_string(m) && !json_is_null(m))
        rc = why_set(why, ws, "\"message\" is not a string");
    }
  } else if (strcmp(status, "retry") == 0) {
    if (is_probe)
      rc = why_set(why, ws, "a probe cannot answer \"retry\"");
    else
      out->outcome = MEDSHIM_OUTCOME_RETRY;
  } else if (strcmp(status, "not_found") == 0) {
    if (!is_probe)
      rc = why_set(why, ws, "a settle cannot answer \"not_found\"");
    else
      out->outcome = MEDSHIM_OUTCOME_NOT_FOUND;
  } else if (strcmp(status, "unknown") == 0) {
    out->outcome = MEDSHIM_OUTCOME_UNKNOWN;
  } else {
    rc = why_set(why, ws, "unknown status in the result");
  }
  if (rc == 0) {
    /* free text: kept whole when it fits, else cut at a UTF-8 boundary */
    const char *m = json_string_value(json_object_get(o, "message"));
    if (m != NULL) {
      size_t n = strlen(m);
      if (n > MEDSHIM_REJECT_MESSAGE_MAX) {
        n = MEDSHIM_REJECT_MESSAGE_MAX;
        while (n > 0 && ((unsigned char)m[n] & 0xC0) == 0x80)
          n--;
      }
      memcpy(out->message, m, n);
      out->message[n] = '\0';
    }
  } else {
    settlement_clear(out);
    out->outcome = MEDSHIM_OUTCOME_UNKNOWN;
  }
  return rc;
}

/* ---- one request's conversation --------------------------------------- */

typedef struct conv {
  exec_adapter *ex;
  medshim_adapter_ctx *ctx;
  medshim_settlement *out;
  const char *visit_id;
  uint64_t id;
  int is_probe;
  int done;
  int tainted; /* a step_end could not be recorded */
  char taint[200];
  struct {
    char msgid[MEDSHIM_MSGID_LEN + 1];
    char infno[MEDSHIM_INFNO_MAX + 1];
  } begun[MEDSHIM_STEPS_MAX];
  size_t nbegun;
} conv;

/* End the request as UNKNOWN with a message (to stderr and the status). */
MEDSHIM__PRINTF(2, 3)
static void conv_fail(conv *cv, const char *fmt, ...) {
  char text[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  settlement_clear(cv->out);
  cv->out->outcome = MEDSHIM_OUTCOME_UNKNOWN;
  {
    static const char pre[] = "exec adapter: ";
    size_t room = sizeof cv->out->message - sizeof pre, n = strlen(text);
    memcpy(cv->out->message, pre, sizeof pre - 1);
    if (n > room)
      n = room; /* our own ASCII text: no character is split */
    memcpy(cv->out->message + sizeof pre - 1, text, n);
    cv->out->message[sizeof pre - 1 + n] = '\0';
  }
  fprintf(stderr, "%s: adapter: %s: %s: the outcome is unknown; the claim "
                  "stays in doubt and is probed later\n",
          cv->ex->prefix, cv->visit_id, text);
  atomic_fetch_add(&cv->ex->errors, 1);
  cv->done = 1;
}

static json_t *step_json(const medshim_step *s) {
  json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:I}", "attempt",
                        (json_int_t)s->attempt, "infno", s->infno, "msgid",
                        s->msgid, "state",
                        medshim_step_state_name(s->state)
                            ? medshim_step_state_name(s->state)
                            : "unknown",
                        "sent_at", (json_int_t)s->sent_at);
  if (o == NULL)
    return NULL;
  if (s->mdtrt_id[0] != '\0')
    json_object_set_new(o, "mdtrt_id", json_string(s->mdtrt_id));
  if (s->setl_id[0] != '\0') {
    json_object_set_new(o, "setl_id", json_string(s->setl_id));
    json_object_set_new(o, "setl_time", json_integer((json_int_t)s->setl_time));
    json_object_set_new(o, "total_fen", json_integer((json_int_t)s->total_fen));
    json_object_set_new(o, "fund_paid_fen",
                        json_integer((json_int_t)s->fund_paid_fen));
    json_object_set_new(o, "acct_paid_fen",
                        json_integer((json_int_t)s->acct_paid_fen));
    json_object_set_new(o, "patient_paid_fen",
                        json_integer((json_int_t)s->patient_paid_fen));
  }
  if (s->code[0] != '\0')
    json_object_set_new(o, "code", json_string(s->code));
  return o;
}

/* The request line, newline-terminated; malloc'ed, NULL when out of memory.
 * The claim is the `medshim list` line with personal fields revealed: the
 * adapter needs the identity to call the platform. */
static char *request_line(const conv *cv) {
  const medshim_claim *c = medshim_adapter_claim(cv->ctx);
  medshim_claim_status st;
  json_t *steps = json_array();
  char *claim = NULL, *stext = NULL, *line = NULL, head[256];
  size_t n = medshim_adapter_step_count(cv->ctx), a, b, d;
  if (steps == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    const medshim_step *s = medshim_adapter_step(cv->ctx, i);
    if (s != NULL && json_array_append_new(steps, step_json(s)) != 0)
      goto done;
  }
  stext = json_dumps(steps, JSON_COMPACT);
  medshim_claim_status_init(&st, MEDSHIM_CLAIM_STATUS_VERSION);
  st.state = MEDSHIM_STATE_IN_DOUBT; /* recorded before every call */
  st.attempts = medshim_adapter_attempt(cv->ctx);
  claim = cli_claim_json(c, &st, medshim_adapter_replay_key(cv->ctx),
                         MEDSHIM_CLAIM_JSON_REVEAL);
  if (stext == NULL || claim == NULL)
    goto done;
  /* a detail given through the C API may be pretty-printed: outside
   * strings a newline is only whitespace, and inside one it is escaped */
  for (char *p = claim; *p; p++)
    if (*p == '\n' || *p == '\r')
      *p = ' ';
  snprintf(head, sizeof head,
           "{\"type\":\"%s\",\"id\":%llu,\"attempt\":%lu,\"attempt_started\":"
           "%lld,\"replay_key\":\"%s\",\"claim\":",
           cv->is_probe ? "probe" : "settle", (unsigned long long)cv->id,
           (unsigned long)medshim_adapter_attempt(cv->ctx),
           (long long)medshim_adapter_attempt_started(cv->ctx),
           medshim_adapter_replay_key(cv->ctx));
  a = strlen(head);
  b = strlen(claim);
  d = strlen(stext);
  line = malloc(a + b + d + 16);
  if (line != NULL) {
    memcpy(line, head, a);
    memcpy(line + a, claim, b);
    memcpy(line + a + b, ",\"steps\":", 9);
    memcpy(line + a + b + 9, stext, d);
    memcpy(line + a + b + 9 + d, "}\n", 3);
  }
done:
  cli_free_line(claim);
  free(stext);
  json_decref(steps);
  return line;
}

static char *reply_error(uint64_t id, const char *message) {
  json_t *o = json_pack("{s:s, s:I, s:s}", "type", "error", "id",
                        (json_int_t)id, "message", message);
  char *s = o ? json_dumps(o, JSON_COMPACT) : NULL, *line = NULL;
  json_decref(o);
  if (s != NULL && (line = malloc(strlen(s) + 2)) != NULL)
    sprintf(line, "%s\n", s);
  free(s);
  return line;
}

MEDSHIM__PRINTF(1, 2)
static char *reply_text(const char *fmt, ...) {
  char buf[256], *line;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  line = strdup(buf);
  return line;
}

static int infno_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > MEDSHIM_INFNO_MAX)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9')
      return 0;
  return 1;
}

static char *on_step_begin(conv *cv, const json_t *o) {
  char infno[MEDSHIM_INFNO_MAX + 1], msgid[MEDSHIM_MSGID_LEN + 1], why[160];
  int rc;
  if (str_field(infno, MEDSHIM_INFNO_MAX, o, "infno", 1, why, sizeof why) != 0 ||
      !infno_ok(infno)) {
    if (why[0] == '\0' || infno_ok(infno))
      snprintf(why, sizeof why, "\"infno\" is not a transaction code");
    fprintf(stderr, "%s: adapter: %s: step_begin refused: %s\n", cv->ex->prefix,
            cv->visit_id, why);
    return reply_error(cv->id, why);
  }
  rc = medshim_adapter_step_begin(cv->ctx, msgid, infno);
  if (rc != MEDSHIM_OK) {
    snprintf(why, sizeof why, "the step was not recorded: %s; do not send it",
             medshim_strerror(rc));
    fprintf(stderr, "%s: adapter: %s: step_begin %s: %s\n", cv->ex->prefix,
            cv->visit_id, infno, why);
    return reply_error(cv->id, why);
  }
  if (cv->nbegun < MEDSHIM_STEPS_MAX) {
    memcpy(cv->begun[cv->nbegun].msgid, msgid, sizeof msgid);
    memcpy(cv->begun[cv->nbegun].infno, infno, sizeof infno);
    cv->nbegun++;
  }
  return reply_text("{\"type\":\"msgid\",\"id\":%llu,\"msgid\":\"%s\"}\n",
                    (unsigned long long)cv->id, msgid);
}

static char *on_step_end(conv *cv, const json_t *o) {
  medshim_step s;
  char state[16], why[160];
  int rc = 0;
  why[0] = '\0';
  memset(&s, 0, sizeof s);
  s.version = MEDSHIM_STEP_VERSION;
  s.attempt = medshim_adapter_attempt(cv->ctx);
  if (str_field(s.msgid, MEDSHIM_MSGID_LEN, o, "msgid", 1, why, sizeof why) != 0 ||
      str_field(state, sizeof state - 1, o, "state", 1, why, sizeof why) != 0 ||
      str_field(s.mdtrt_id, MEDSHIM_PLATFORM_ID_MAX, o, "mdtrt_id", 0, why,
                sizeof why) != 0 ||
      str_field(s.setl_id, MEDSHIM_PLATFORM_ID_MAX, o, "setl_id", 0, why,
                sizeof why) != 0 ||
      time_field(&s.setl_time, o, "setl_time", why, sizeof why) != 0 ||
      fen_field(&s.total_fen, o, "total_fen", 0, why, sizeof why) != 0 ||
      fen_field(&s.fund_paid_fen, o, "fund_paid_fen", 0, why, sizeof why) != 0 ||
      fen_field(&s.acct_paid_fen, o, "acct_paid_fen", 0, why, sizeof why) != 0 ||
      fen_field(&s.patient_paid_fen, o, "patient_paid_fen", 0, why,
                sizeof why) != 0 ||
      str_field(s.code, MEDSHIM_REJECT_CODE_MAX, o, "code", 0, why,
                sizeof why) != 0)
    rc = -1;
  if (rc == 0) {
    if (strcmp(state, "ok") == 0)
      s.state = MEDSHIM_STEP_OK;
    else if (strcmp(state, "failed") == 0)
      s.state = MEDSHIM_STEP_FAILED;
    else if (strcmp(state, "unknown") == 0)
      s.state = MEDSHIM_STEP_UNKNOWN;
    else
      rc = why_set(why, sizeof why, "\"state\" is not ok, failed or unknown");
  }
  for (size_t i = 0; rc == 0 && i < cv->nbegun; i++)
    if (strcmp(cv->begun[i].msgid, s.msgid) == 0)
      memcpy(s.infno, cv->begun[i].infno, sizeof s.infno);
  if (rc == 0) {
    int lrc = medshim_adapter_step_end(cv->ctx, &s);
    if (lrc != MEDSHIM_OK)
      rc = why_set(why, sizeof why, "the step's answer was not recorded: %s",
                   medshim_strerror(lrc));
  }
  if (rc != 0) {
    /* what the platform answered is not in the journal: whatever the
     * result says, the outcome is unknown (a probe finds it) */
    cv->tainted = 1;
    snprintf(cv->taint, sizeof cv->taint, "step_end refused: %s", why);
    fprintf(stderr, "%s: adapter: %s: step_end refused: %s\n", cv->ex->prefix,
            cv->visit_id, why);
    return reply_error(cv->id, why);
  }
  return reply_text("{\"type\":\"recorded\",\"id\":%llu}\n",
                    (unsigned long long)cv->id);
}

/* One line of the adapter for this request. Returns the reply to write
 * (malloc'ed), or NULL (no reply; cv->done tells whether it ended). */
static char *conv_json(conv *cv, const json_t *o) {
  const char *type = json_string_value(json_object_get(o, "type"));
  const json_t *id = json_object_get(o, "id");
  char why[200];
  why[0] = '\0';
  if (type == NULL) {
    conv_fail(cv, "a line without \"type\"");
    return NULL;
  }
  if (!json_is_integer(id) || (uint64_t)json_integer_value(id) != cv->id) {
    conv_fail(cv, "a %s line without this request's \"id\" (%llu)",
              strcmp(type, "step_begin") == 0 || strcmp(type, "step_end") == 0 ||
                      strcmp(type, "result") == 0
                  ? type
                  : "protocol",
              (unsigned long long)cv->id);
    return NULL;
  }
  if (strcmp(type, "step_begin") == 0)
    return on_step_begin(cv, o);
  if (strcmp(type, "step_end") == 0)
    return on_step_end(cv, o);
  if (strcmp(type, "result") == 0) {
    if (exec_parse_result(cv->out, o, cv->is_probe, why, sizeof why) != 0) {
      conv_fail(cv, "bad result: %s", why);
      return NULL;
    }
    if (cv->tainted) {
      conv_fail(cv, "%s", cv->taint);
      return NULL;
    }
    cv->done = 1;
    return NULL;
  }
  conv_fail(cv, "a line of unknown type");
  return NULL;
}

/* The same for raw text. */
static char *conv_line(conv *cv, const char *line, size_t len) {
  json_error_t e;
  json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &e);
  char *reply;
  if (!json_is_object(o)) {
    json_decref(o);
    /* not e.text: jansson quotes the text near the error */
    conv_fail(cv, "a line that is not a JSON object (at byte %d)",
              e.position);
    return NULL;
  }
  reply = conv_json(cv, o);
  json_decref(o);
  return reply;
}

/* ---- per-call mode ------------------------------------------------------ */

/* Write what is pending to the adapter's stdin without blocking; -1 on a
 * broken pipe. */
static int flush_some(exec_proc *p, linebuf *w) {
  while (w->len > 0) {
    long long n = exec_proc_write(p, w->buf, w->len);
    if (n > 0) {
      memset(w->buf, 0, (size_t)n);
      memmove(w->buf, w->buf + n, w->len - (size_t)n);
      w->len -= (size_t)n;
    } else if (n == 0) {
      return 0;
    } else {
      return -1;
    }
  }
  return 0;
}

static void run_once(conv *cv, const char *request) {
  exec_adapter *ex = cv->ex;
  double deadline = exec_now() + ex->cfg.timeout_seconds;
  linebuf rd = {NULL, 0, 0}, wr = {NULL, 0, 0};
  exec_proc *pr = exec_proc_start(ex->command);
  int eof = 0, status = 0, broken = 0;
  if (pr == NULL) {
    conv_fail(cv, "cannot start the adapter: %s", strerror(errno));
    return;
  }
  if (lb_add(&wr, request, strlen(request)) != 0) {
    conv_fail(cv, "out of memory");
    goto end;
  }
  while (!cv->done) {
    const char *line;
    size_t len;
    int ready, want_write;
    double left;
    while (!cv->done && lb_line(&rd, &line, &len)) {
      char *reply = conv_line(cv, line, len);
      lb_drop_line(&rd);
      if (reply != NULL) {
        if (!broken && lb_add(&wr, reply, strlen(reply)) != 0)
          conv_fail(cv, "out of memory");
        wipe_free(reply);
      } else if (!cv->done) {
        conv_fail(cv, "out of memory for a reply");
      }
    }
    if (cv->done)
      break;
    if (eof) {
      conv_fail(cv, "stdout closed without a result line");
      break;
    }
    left = deadline - exec_now();
    if (left <= 0) {
      conv_fail(cv, "no result within --timeout %d s; the adapter's process "
                    "group was killed", ex->cfg.timeout_seconds);
      break;
    }
    want_write = wr.len > 0 && !broken;
    ready = exec_proc_poll(pr, want_write, NULL, (int)(left * 1000) + 1);
    if (ready < 0) {
      conv_fail(cv, "poll: %s", strerror(errno));
      break;
    }
    if (want_write && (ready & EXEC_WRITABLE) && flush_some(pr, &wr) != 0)
      broken = 1; /* it stopped reading; its stdout still tells */
    if (ready & EXEC_READABLE) {
      char buf[65536];
      long long n = exec_proc_read(pr, buf, sizeof buf);
      if (n <= 0) {
        eof = 1;
        continue;
      }
      if (lb_add(&rd, buf, (size_t)n) != 0) {
        conv_fail(cv, "a line longer than %d bytes", LINE_MAX_BYTES);
        break;
      }
    }
  }
  /* after the result: its stdin ends; it has the rest of the timeout to
   * exit. Whatever it left in the background is killed with its group,
   * and nobody waits for a grandchild that holds stdout open. */
  if (cv->done && cv->out->outcome != MEDSHIM_OUTCOME_UNKNOWN) {
    (void)flush_some(pr, &wr);
    exec_proc_close_in(pr);
    if (!exec_proc_wait(pr, deadline, &status))
      conv_fail(cv, "the adapter did not exit within --timeout %d s after "
                    "its result", ex->cfg.timeout_seconds);
    else if (status != 0)
      conv_fail(cv, "the adapter exited with status %d after its result",
                status);
  }
end:
  (void)exec_proc_finish(pr);
  lb_free(&rd);
  lb_free(&wr);
}

/* ---- persistent mode ---------------------------------------------------- */

typedef struct preq {
  uint64_t id;
  unsigned gen;
  json_t **q;
  size_t qhead, qlen, qcap;
  int dead;
  char dead_why[200];
  pthread_cond_t cv;
  struct preq *next;
} preq;

typedef struct persist {
  pthread_mutex_t mu;
  pthread_cond_t state;   /* process started / failed / demanded */
  pthread_mutex_t wmu;    /* one writer on the adapter's stdin */
  exec_proc *pr;          /* while running */
  int running;
  unsigned gen;           /* of the running (or last) process */
  unsigned spawn_failures;
  int want;               /* a request needs a process */
  int stopping;
  int kill_requested;
  char kill_why[200];
  exec_wake *wake;        /* to interrupt the reader's poll */
  preq *inflight;
  pthread_t reader;
  int reader_started;
} persist;

static void p_wake(persist *p) { exec_wake_signal(p->wake); }

/* Under p->mu: end every request of generation gen. */
static void p_fail_all(persist *p, unsigned gen, const char *why) {
  for (preq *r = p->inflight; r != NULL; r = r->next)
    if (r->gen == gen && !r->dead) {
      r->dead = 1;
      snprintf(r->dead_why, sizeof r->dead_why, "%s", why);
      pthread_cond_signal(&r->cv);
    }
}

/* Under p->mu: ask the reader to kill the process. */
static void p_kill(persist *p, unsigned gen, const char *why) {
  if (!p->running || p->gen != gen || p->kill_requested)
    return;
  p->kill_requested = 1;
  snprintf(p->kill_why, sizeof p->kill_why, "%s", why);
  p_wake(p);
}

static preq *p_find(persist *p, uint64_t id) {
  for (preq *r = p->inflight; r != NULL; r = r->next)
    if (r->id == id && r->gen == p->gen)
      return r;
  return NULL;
}

/* Under p->mu: hand a parsed line to its request. 0, or -1 when the line
 * cannot be attributed (then the adapter is broken). */
static int p_dispatch(persist *p, json_t *o, const char *prefix) {
  const json_t *id = json_object_get(o, "id");
  preq *r;
  if (!json_is_object(o) || !json_is_integer(id))
    return -1;
  r = p_find(p, (uint64_t)json_integer_value(id));
  if (r == NULL) {
    /* a request that already ended (or never was): nothing waits for it */
    fprintf(stderr, "%s: adapter: a line for id %lld, which is not in "
                    "flight, was ignored\n", prefix,
            (long long)json_integer_value(id));
    json_decref(o);
    return 0;
  }
  if (r->qlen == r->qcap) {
    size_t cap = r->qcap ? r->qcap * 2 : 4;
    json_t **nq = malloc(cap * sizeof *nq);
    if (nq == NULL)
      return -1;
    for (size_t i = 0; i < r->qlen; i++)
      nq[i] = r->q[(r->qhead + i) % r->qcap];
    free(r->q);
    r->q = nq;
    r->qhead = 0;
    r->qcap = cap;
  }
  r->q[(r->qhead + r->qlen) % r->qcap] = o;
  r->qlen++;
  pthread_cond_signal(&r->cv);
  return 0;
}

static void *p_reader(void *arg) {
  exec_adapter *ex = arg;
  persist *p = ex->p;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    linebuf rd = {NULL, 0, 0};
    char why[200];
    double stop_deadline = 0;
    int status, stdin_closed = 0;
    unsigned gen;
    while (!p->stopping && !p->want)
      pthread_cond_wait(&p->state, &p->mu);
    if (p->stopping)
      break;
    /* Started from this thread, which lives as long as the adapter: the
     * kernel's parent-death signal follows the thread that forked. */
    if ((p->pr = exec_proc_start(ex->command)) == NULL) {
      fprintf(stderr, "%s: adapter: cannot start %s\n", ex->prefix,
              strerror(errno));
      p->spawn_failures++;
      p->want = 0;
      pthread_cond_broadcast(&p->state);
      continue;
    }
    p->gen++;
    gen = p->gen;
    p->running = 1;
    p->want = 0;
    p->kill_requested = 0;
    pthread_cond_broadcast(&p->state);
    snprintf(why, sizeof why, "stdout closed");
    for (;;) {
      int timeout_ms = -1, ready;
      char buf[65536];
      long long n;
      const char *line;
      size_t len;
      if (p->kill_requested) {
        snprintf(why, sizeof why, "%s", p->kill_why);
        break;
      }
      if (p->stopping && !stdin_closed) {
        /* end of input: it may finish and exit by itself, for a while */
        pthread_mutex_unlock(&p->mu);
        pthread_mutex_lock(&p->wmu);
        exec_proc_close_in(p->pr);
        pthread_mutex_unlock(&p->wmu);
        pthread_mutex_lock(&p->mu);
        stdin_closed = 1;
        stop_deadline = exec_now() + (ex->cfg.timeout_seconds < 5
                                          ? ex->cfg.timeout_seconds
                                          : 5);
      }
      if (stdin_closed) {
        double left = stop_deadline - exec_now();
        if (left <= 0) {
          snprintf(why, sizeof why, "medshim is done");
          break;
        }
        timeout_ms = (int)(left * 1000) + 1;
      }
      pthread_mutex_unlock(&p->mu);
      n = 0;
      ready = exec_proc_poll(p->pr, 0, p->wake, timeout_ms);
      if (ready < 0) {
        pthread_mutex_lock(&p->mu);
        snprintf(why, sizeof why, "poll failed");
        break;
      }
      if (ready & EXEC_READABLE) {
        n = exec_proc_read(p->pr, buf, sizeof buf);
        if (n <= 0) {
          pthread_mutex_lock(&p->mu);
          snprintf(why, sizeof why, "the adapter closed its stdout");
          break;
        }
      }
      pthread_mutex_lock(&p->mu);
      if (n > 0 && lb_add(&rd, buf, (size_t)n) != 0) {
        snprintf(why, sizeof why, "a line longer than %d bytes",
                 LINE_MAX_BYTES);
        break;
      }
      while (lb_line(&rd, &line, &len)) {
        json_error_t e;
        json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &e);
        lb_drop_line(&rd);
        if (p_dispatch(p, o, ex->prefix) != 0) {
          json_decref(o);
          p->kill_requested = 1;
          snprintf(p->kill_why, sizeof p->kill_why,
                   "the adapter wrote a line that is not protocol JSON with "
                   "the id of a request in flight");
          break;
        }
      }
    }
    /* the process is gone or to be killed: every request in flight is
     * unknown; later requests get a new process */
    p->running = 0;
    p_fail_all(p, gen, why);
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_lock(&p->wmu);
    status = exec_proc_finish(p->pr);
    p->pr = NULL;
    pthread_mutex_unlock(&p->wmu);
    lb_free(&rd);
    pthread_mutex_lock(&p->mu);
    if (!p->stopping) {
      atomic_fetch_add(&ex->restarts, 1);
      fprintf(stderr, "%s: adapter: the persistent adapter ended (%s; exit "
                      "status %d); requests in flight are unknown; it is "
                      "started again for the next request\n",
              ex->prefix, why, status);
    }
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

static void run_persistent(conv *cv, const char *request) {
  exec_adapter *ex = cv->ex;
  persist *p = ex->p;
  double deadline = exec_now() + ex->cfg.timeout_seconds;
  struct timespec ts;
  preq r;
  exec_proc *pr;
  int wrc;
  pthread_condattr_t ca;
  int crc;
  memset(&r, 0, sizeof r);
  r.id = cv->id;
  if (pthread_condattr_init(&ca) != 0) {
    conv_fail(cv, "cannot create a condition variable");
    return;
  }
  /* deadlines are on the monotonic clock */
  crc = (COND_CLOCK != CLOCK_REALTIME &&
         pthread_condattr_setclock(&ca, COND_CLOCK) != 0) ||
        pthread_cond_init(&r.cv, &ca) != 0;
  pthread_condattr_destroy(&ca);
  if (crc) {
    conv_fail(cv, "cannot create a condition variable");
    return;
  }
  pthread_mutex_lock(&p->mu);
  if (!p->running) {
    /* a process started since we asked counts, even if it died again
     * before this thread woke up: never wait for a start already done */
    unsigned failures = p->spawn_failures, gen = p->gen;
    p->want = 1;
    pthread_cond_broadcast(&p->state);
    while (!p->running && p->gen == gen && p->spawn_failures == failures &&
           !p->stopping)
      pthread_cond_wait(&p->state, &p->mu);
    if (!p->running) {
      int started = p->gen != gen;
      pthread_mutex_unlock(&p->mu);
      pthread_cond_destroy(&r.cv);
      conv_fail(cv, started ? "the persistent adapter exited as soon as it "
                              "was started"
                            : "the persistent adapter could not be started");
      return;
    }
  }
  r.gen = p->gen;
  r.next = p->inflight;
  p->inflight = &r;
  pthread_mutex_unlock(&p->mu);

  for (const char *out = request; out != NULL && !cv->done;) {
    pthread_mutex_lock(&p->wmu);
    pthread_mutex_lock(&p->mu);
    pr = (p->running && p->gen == r.gen) ? p->pr : NULL;
    pthread_mutex_unlock(&p->mu);
    wrc = pr == NULL ? -1
                     : exec_proc_write_all(pr, out, strlen(out), deadline);
    pthread_mutex_unlock(&p->wmu);
    if (out != request)
      wipe_free((char *)out);
    out = NULL;
    if (wrc != 0) {
      pthread_mutex_lock(&p->mu);
      p_kill(p, r.gen, wrc == -2 ? "the adapter did not read its stdin "
                                   "within --timeout"
                                 : "the adapter's stdin is closed");
      pthread_mutex_unlock(&p->mu);
      if (wrc == -2)
        conv_fail(cv, "the adapter did not read its stdin within --timeout "
                      "%d s; it was killed", ex->cfg.timeout_seconds);
      else
        conv_fail(cv, "the persistent adapter is gone");
      break;
    }
    /* wait for the adapter's next line for this request */
    pthread_mutex_lock(&p->mu);
    for (;;) {
      double left = deadline - exec_now();
      if (r.qlen > 0) {
        json_t *o = r.q[r.qhead];
        r.qhead = (r.qhead + 1) % r.qcap;
        r.qlen--;
        pthread_mutex_unlock(&p->mu);
        out = conv_json(cv, o);
        json_decref(o);
        if (out == NULL && !cv->done)
          conv_fail(cv, "out of memory for a reply");
        break;
      }
      if (r.dead) {
        char why[200];
        snprintf(why, sizeof why, "%s", r.dead_why);
        pthread_mutex_unlock(&p->mu);
        conv_fail(cv, "no result: %s", why);
        break;
      }
      if (left <= 0) {
        p_kill(p, r.gen, "a request got no result within --timeout");
        pthread_mutex_unlock(&p->mu);
        conv_fail(cv, "no result within --timeout %d s; the persistent "
                      "adapter was killed (its other requests are unknown "
                      "too) and is started again for later ones",
                  ex->cfg.timeout_seconds);
        break;
      }
      clock_gettime(COND_CLOCK, &ts);
      {
        double t = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 +
                   (left < 1.0 ? left : 1.0);
        ts.tv_sec = (time_t)t;
        ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
      }
      pthread_cond_timedwait(&r.cv, &p->mu, &ts);
    }
    if (cv->done && out != NULL) {
      wipe_free((char *)out);
      out = NULL;
    }
  }
  pthread_mutex_lock(&p->mu);
  for (preq **pp = &p->inflight; *pp != NULL; pp = &(*pp)->next)
    if (*pp == &r) {
      *pp = r.next;
      break;
    }
  while (r.qlen > 0) {
    json_decref(r.q[r.qhead]);
    r.qhead = (r.qhead + 1) % r.qcap;
    r.qlen--;
  }
  pthread_mutex_unlock(&p->mu);
  free(r.q);
  pthread_cond_destroy(&r.cv);
}

/* ---- the adapter ---------------------------------------------------------- */

static int call(medshim_settlement *out, medshim_adapter_ctx *ctx,
                void *payload, int is_probe) {
  exec_adapter *ex = payload;
  conv *cv = calloc(1, sizeof *cv);
  char *request;
  if (cv == NULL)
    return -1;
  cv->ex = ex;
  cv->ctx = ctx;
  cv->out = out;
  cv->is_probe = is_probe;
  cv->visit_id = medshim_claim_visit_id(medshim_adapter_claim(ctx));
  cv->id = atomic_fetch_add(&ex->next_id, 1);
  request = request_line(cv);
  if (request == NULL) {
    conv_fail(cv, "out of memory building the request");
  } else if (ex->p != NULL) {
    run_persistent(cv, request);
  } else {
    run_once(cv, request);
  }
  wipe_free(request);
  free(cv);
  return 0;
}

static int settle(medshim_settlement *out, medshim_adapter_ctx *ctx,
                  void *payload) {
  return call(out, ctx, payload, 0);
}

static int probe(medshim_settlement *out, medshim_adapter_ctx *ctx,
                 void *payload) {
  return call(out, ctx, payload, 1);
}

int exec_adapter_new(exec_adapter **out, const exec_adapter_config *cfg) {
  exec_adapter *ex = calloc(1, sizeof *ex);
  *out = NULL;
  if (ex == NULL)
    return -1;
  ex->cfg = *cfg;
  ex->command = strdup(cfg->command);
  ex->prefix = strdup(cfg->prefix ? cfg->prefix : "medshim");
  atomic_init(&ex->next_id, 1);
  atomic_init(&ex->errors, 0);
  atomic_init(&ex->restarts, 0);
  if (ex->command == NULL || ex->prefix == NULL)
    goto fail;
  exec_proc_setup();
  if (cfg->persistent) {
    persist *p = calloc(1, sizeof *p);
    if (p == NULL)
      goto fail;
    ex->p = p;
    if (pthread_mutex_init(&p->mu, NULL) != 0 ||
        pthread_mutex_init(&p->wmu, NULL) != 0 ||
        pthread_cond_init(&p->state, NULL) != 0 ||
        (p->wake = exec_wake_new()) == NULL)
      goto fail;
    p->want = 1; /* start it now, not with the first claim */
    if (pthread_create(&p->reader, NULL, p_reader, ex) != 0)
      goto fail;
    p->reader_started = 1;
  }
  *out = ex;
  return 0;
fail:
  exec_adapter_free(ex);
  return -1;
}

void exec_adapter_bind(medshim_adapter *out, exec_adapter *ex) {
  out->version = MEDSHIM_ADAPTER_VERSION;
  out->settle = settle;
  out->probe = probe;
  out->payload = ex;
}

size_t exec_adapter_errors(const exec_adapter *ex) {
  return atomic_load(&((exec_adapter *)ex)->errors);
}

size_t exec_adapter_restarts(const exec_adapter *ex) {
  return atomic_load(&((exec_adapter *)ex)->restarts);
}

void exec_adapter_free(exec_adapter *ex) {
  if (ex == NULL)
    return;
  if (ex->p != NULL) {
    persist *p = ex->p;
    if (p->reader_started) {
      pthread_mutex_lock(&p->mu);
      p->stopping = 1;
      pthread_cond_broadcast(&p->state);
      p_wake(p);
      pthread_mutex_unlock(&p->mu);
      pthread_join(p->reader, NULL);
    }
    exec_wake_free(p->wake);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->wmu);
    pthread_cond_destroy(&p->state);
    free(p);
  }
  free(ex->command);
  free(ex->prefix);
  free(ex);
}
