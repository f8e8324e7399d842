/* The flat interface (flat.h): replay through a callback taking JSON text.
 * Each settle call is one recorded step ("2207") around the callback, so
 * an attempt is durably in doubt before the host sends anything. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "errors_internal.h"
#include "flat_internal.h"
#include "gbk_internal.h"
#include "memory_internal.h"
#include "medshim/replay.h"
#include "timeutil_internal.h"

typedef struct flat_adapter {
  medshim_flat_adapter_fn fn;
  void *payload;
  int host_steps; /* "steps":"host": the host records its own steps */
  int gbk;        /* the journal handle's texts are GBK */
} flat_adapter;

/* The adapter call in progress on this thread: what medshim_flat_step_begin
 * and _end act on. The token names it in the request ("ctx"), so a stale
 * or foreign number is refused. */
static _Thread_local medshim_adapter_ctx *cur_ctx;
static _Thread_local int32_t cur_token;
static _Thread_local int cur_ctx_gbk; /* its journal handle's encoding */
static pthread_mutex_t token_lock = PTHREAD_MUTEX_INITIALIZER;
static int32_t next_token = 1;

static int32_t enter(medshim_adapter_ctx *ctx) {
  pthread_mutex_lock(&token_lock);
  if (next_token <= 0)
    next_token = 1;
  cur_token = next_token++;
  pthread_mutex_unlock(&token_lock);
  cur_ctx = ctx;
  return cur_token;
}

static void leave(void) {
  cur_ctx = NULL;
  cur_token = 0;
  cur_ctx_gbk = 0;
}

/* Copy a JSON string member into a fixed array; refuse (not cut) overlong. */
static int take_str(char *dst, size_t size, json_t *a, const char *name) {
  const char *s = json_string_value(json_object_get(a, name));
  if (s == NULL)
    return 0;
  if (strlen(s) >= size)
    return -1;
  memcpy(dst, s, strlen(s) + 1);
  return 0;
}

static int64_t take_int(json_t *a, const char *name) {
  json_t *v = json_object_get(a, name);
  return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/* setl_time: Unix seconds or "yyyy-MM-dd HH:mm:ss" (+08:00 unless given). */
static int take_time(int64_t *out, json_t *v) {
  *out = 0;
  if (v == NULL || json_is_null(v))
    return 0;
  if (json_is_integer(v)) {
    *out = (int64_t)json_integer_value(v);
    return 0;
  }
  if (json_is_string(v))
    return medshim__time_parse(out, json_string_value(v), json_string_length(v));
  return -1;
}

static const char *const OUTCOMES[] = {NULL, "settled", "rejected", "retry",
                                       "unknown", "not_found"};

/* Call the host and read its answer into @p out; UNKNOWN on any doubt. */
static void call_host(medshim_settlement *out, const flat_adapter *fa,
                      json_t *req) {
  char *text = json_dumps(req, JSON_COMPACT);
  char *answer = calloc(1, MEDSHIM_FLAT_ANSWER_MAX);
  json_t *a = NULL;
  const char *oc;
  out->outcome = MEDSHIM_OUTCOME_UNKNOWN;
  if (text == NULL || answer == NULL)
    goto done;
  if (fa->gbk) { /* the request as the host reads text */
    char *g = NULL;
    int rc = medshim__utf8_json_to_gbk(&g, text, strlen(text));
    medshim__wipe(text, strlen(text)); /* the claim, personal data */
    free(text);
    if ((text = g) == NULL || rc != MEDSHIM_OK)
      goto done;
  }
  cur_ctx_gbk = fa->gbk;
  if (fa->fn(text, answer, MEDSHIM_FLAT_ANSWER_MAX, fa->payload) != 0)
    goto done;
  answer[MEDSHIM_FLAT_ANSWER_MAX - 1] = '\0';
  if (fa->gbk) {
    char *u = NULL;
    if (medshim__gbk_to_utf8(&u, answer, strlen(answer), NULL) == MEDSHIM_OK)
      a = json_loads(u, 0, NULL);
    free(u);
  } else {
    a = json_loads(answer, 0, NULL);
  }
  if (a == NULL || !json_is_object(a))
    goto done;
  oc = json_string_value(json_object_get(a, "outcome"));
  if (oc == NULL) /* an exec adapter's result line */
    oc = json_string_value(json_object_get(a, "status"));
  for (int i = 1; oc != NULL && i <= MEDSHIM_OUTCOME_NOT_FOUND; i++)
    if (strcmp(oc, OUTCOMES[i]) == 0)
      out->outcome = (medshim_outcome)i;
  if (take_str(out->settlement_id, sizeof out->settlement_id, a, "settlement_id") ||
      take_str(out->mdtrt_id, sizeof out->mdtrt_id, a, "mdtrt_id") ||
      take_str(out->code, sizeof out->code, a, "code") ||
      take_str(out->message, sizeof out->message, a, "message")) {
    out->outcome = MEDSHIM_OUTCOME_UNKNOWN;
    goto done;
  }
  if (take_time(&out->setl_time, json_object_get(a, "setl_time")) != 0) {
    out->outcome = MEDSHIM_OUTCOME_UNKNOWN;
    goto done;
  }
  out->total_fen = take_int(a, "total_fen");
  out->fund_paid_fen = take_int(a, "fund_paid_fen");
  out->acct_paid_fen = take_int(a, "acct_paid_fen");
  out->patient_paid_fen = take_int(a, "patient_paid_fen");
  out->hospital_share_fen = take_int(a, "hospital_share_fen");
done:
  json_decref(a);
  free(answer);
  if (text != NULL) {
    medshim__wipe(text, strlen(text));
    free(text);
  }
}

/* The steps recorded so far, as the exec protocol gives them (replay.md). */
static json_t *steps_json(medshim_adapter_ctx *ctx) {
  json_t *a = json_array();
  for (size_t i = 0; a != NULL && i < medshim_adapter_step_count(ctx); i++) {
    const medshim_step *s = medshim_adapter_step(ctx, i);
    const char *state = s ? medshim_step_state_name(s->state) : NULL;
    json_t *o;
    if (s == NULL)
      continue;
    o = json_pack("{s:I, s:s, s:s, s:s, s:I}", "attempt", (json_int_t)s->attempt,
                  "infno", s->infno, "msgid", s->msgid, "state",
                  state ? state : "unknown", "sent_at", (json_int_t)s->sent_at);
    if (o == NULL)
      continue;
    if (s->mdtrt_id[0] != '\0')
      json_object_set_new(o, "mdtrt_id", json_string(s->mdtrt_id));
    if (s->setl_id[0] != '\0') {
      json_object_set_new(o, "setl_id", json_string(s->setl_id));
      json_object_set_new(o, "setl_time", json_integer((json_int_t)s->setl_time));
      json_object_set_new(o, "total_fen", json_integer((json_int_t)s->total_fen));
      json_object_set_new(o, "fund_paid_fen", json_integer((json_int_t)s->fund_paid_fen));
      json_object_set_new(o, "acct_paid_fen", json_integer((json_int_t)s->acct_paid_fen));
      json_object_set_new(o, "patient_paid_fen", json_integer((json_int_t)s->patient_paid_fen));
    }
    if (s->code[0] != '\0')
      json_object_set_new(o, "code", json_string(s->code));
    json_array_append_new(a, o);
  }
  return a;
}

static json_t *request(medshim_adapter_ctx *ctx, const char *kind) {
  char *claim = NULL;
  json_t *c = NULL, *req;
  if (medshim_claim_to_json(&claim, medshim_adapter_claim(ctx),
                            MEDSHIM_CLAIM_JSON_REVEAL) == MEDSHIM_OK)
    c = json_loads(claim, 0, NULL);
  if (claim != NULL) {
    /* personal data: wipe the text copy */
    memset(claim, 0, strlen(claim));
    medshim_free(claim);
  }
  if (c == NULL)
    return NULL;
  req = json_pack("{s:s, s:s, s:s, s:I, s:I, s:o, s:o}", "kind", kind, "type",
                  kind, "replay_key", medshim_adapter_replay_key(ctx), "attempt",
                  (json_int_t)medshim_adapter_attempt(ctx), "attempt_started",
                  (json_int_t)medshim_adapter_attempt_started(ctx), "claim", c,
                  "steps", steps_json(ctx));
  return req;
}

/* The host records its own steps (medshim_flat_step_begin/_end). */
static void host_call(medshim_settlement *out, medshim_adapter_ctx *ctx,
                      const flat_adapter *fa, const char *kind) {
  json_t *req = request(ctx, kind);
  out->outcome = MEDSHIM_OUTCOME_UNKNOWN;
  if (req == NULL)
    return;
  json_object_set_new(req, "ctx", json_integer(enter(ctx)));
  call_host(out, fa, req);
  leave();
  json_decref(req);
}

static int flat_settle(medshim_settlement *out, medshim_adapter_ctx *ctx,
                       void *payload) {
  char msgid[MEDSHIM_MSGID_LEN + 1];
  medshim_step st;
  json_t *req;
  if (((flat_adapter *)payload)->host_steps) {
    host_call(out, ctx, payload, "settle");
    return 0;
  }
  if (medshim_adapter_step_begin(ctx, msgid, "2207") != MEDSHIM_OK)
    return -1; /* nothing recorded: nothing may be sent */
  out->outcome = MEDSHIM_OUTCOME_UNKNOWN;
  if ((req = request(ctx, "settle")) != NULL) {
    json_object_set_new(req, "msgid", json_string(msgid));
    call_host(out, payload, req);
    json_decref(req);
  }
  memset(&st, 0, sizeof st);
  st.version = MEDSHIM_STEP_VERSION;
  memcpy(st.msgid, msgid, sizeof st.msgid);
  memcpy(st.infno, "2207", 5);
  switch (out->outcome) {
  case MEDSHIM_OUTCOME_SETTLED:
    st.state = MEDSHIM_STEP_OK;
    memcpy(st.mdtrt_id, out->mdtrt_id, sizeof st.mdtrt_id);
    memcpy(st.setl_id, out->settlement_id, sizeof st.setl_id);
    st.setl_time = out->setl_time;
    if (out->total_fen >= 0 && out->fund_paid_fen >= 0 && out->acct_paid_fen >= 0 &&
        out->patient_paid_fen >= 0) {
      st.total_fen = out->total_fen;
      st.fund_paid_fen = out->fund_paid_fen;
      st.acct_paid_fen = out->acct_paid_fen;
      st.patient_paid_fen = out->patient_paid_fen;
    }
    memcpy(out->msgid, msgid, sizeof out->msgid);
    break;
  case MEDSHIM_OUTCOME_REJECTED:
  case MEDSHIM_OUTCOME_RETRY:
    st.state = MEDSHIM_STEP_FAILED;
    memcpy(st.code, out->code, sizeof st.code);
    break;
  default:
    st.state = MEDSHIM_STEP_UNKNOWN;
    break;
  }
  if (medshim_adapter_step_end(ctx, &st) != MEDSHIM_OK)
    out->outcome = MEDSHIM_OUTCOME_UNKNOWN;
  return 0;
}

static int flat_probe(medshim_settlement *out, medshim_adapter_ctx *ctx,
                      void *payload) {
  host_call(out, ctx, payload, "probe");
  return 0;
}

static int opt_uint(uint32_t *out, json_t *o, const char *name) {
  json_t *v = json_object_get(o, name);
  if (v == NULL)
    return MEDSHIM_OK;
  if (!json_is_integer(v) || json_integer_value(v) < 0 ||
      json_integer_value(v) > (json_int_t)UINT32_MAX)
    return medshim__flat_fail(MEDSHIM_EINVAL, name, 0, "must be a non-negative integer");
  *out = (uint32_t)json_integer_value(v);
  return MEDSHIM_OK;
}

int MEDSHIM_FLATCALL medshim_flat_replay(int32_t handle, const char *options_json,
                                         medshim_flat_adapter_fn fn, void *payload,
                                         char *out, size_t cap, size_t *needed) {
  medshim_journal *j;
  medshim_replay_options ro;
  medshim_replay_summary s;
  medshim_adapter ad;
  flat_adapter fa;
  uint32_t conc = 0;
  json_t *o, *v, *doc;
  int rc;
  medshim__flat_ok();
  if ((j = medshim__flat_get(FLAT_JOURNAL, handle)) == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  if (fn == NULL)
    return medshim__flat_fail(MEDSHIM_EINVAL, "adapter", 0, "must not be NULL");
  if ((o = medshim__flat_options(options_json, "options")) == NULL)
    return medshim__flat_code();
  medshim_replay_options_init(&ro, MEDSHIM_REPLAY_OPTIONS_VERSION);
  ro.institution_code = json_string_value(json_object_get(o, "institution_code"));
  rc = MEDSHIM_OK;
  if (ro.institution_code == NULL ||
      strlen(ro.institution_code) != MEDSHIM_INSTITUTION_LEN)
    rc = medshim__flat_fail(MEDSHIM_EINVAL, "institution_code", 0,
                            "required: the 12-character fixmedins_code");
  else if ((v = json_object_get(o, "at")) != NULL)
    rc = medshim__flat_time(&ro.at, v, "at");
  if (rc == MEDSHIM_OK)
    (void)((rc = opt_uint(&ro.max_attempts, o, "max_attempts")) ||
       (rc = opt_uint(&conc, o, "concurrency")) ||
       (rc = opt_uint(&ro.seed, o, "seed")) ||
       (rc = opt_uint(&ro.visibility_delay_seconds, o, "visibility_delay_seconds")) ||
       (rc = opt_uint(&ro.backoff_base_seconds, o, "backoff_base_seconds")) ||
       (rc = opt_uint(&ro.backoff_cap_seconds, o, "backoff_cap_seconds")) ||
           (rc = opt_uint(&ro.expire_grace_days, o, "expire_grace_days")));
  if (rc != MEDSHIM_OK) {
    json_decref(o);
    return rc;
  }
  ro.concurrency = conc;
  ro.dry_run = json_is_true(json_object_get(o, "dry_run"));
  if (json_is_true(json_object_get(o, "confirm_time")))
    ro.flags |= MEDSHIM_REPLAY_CONFIRM_TIME;
  if (json_is_true(json_object_get(o, "expire_now")))
    ro.flags |= MEDSHIM_REPLAY_EXPIRE_NOW;
  if (json_is_true(json_object_get(o, "no_visibility_delay")))
    ro.flags |= MEDSHIM_REPLAY_NO_VISIBILITY_DELAY;
  fa.fn = fn;
  fa.payload = payload;
  fa.gbk = medshim__flat_gbk();
  v = json_object_get(o, "steps");
  fa.host_steps = json_is_string(v) && strcmp(json_string_value(v), "host") == 0;
  if (v != NULL && !fa.host_steps &&
      !(json_is_string(v) && strcmp(json_string_value(v), "library") == 0)) {
    json_decref(o);
    return medshim__flat_fail(MEDSHIM_EINVAL, "steps", 0, "must be library or host");
  }
  ad.version = MEDSHIM_ADAPTER_VERSION;
  ad.settle = flat_settle;
  ad.probe = flat_probe;
  ad.payload = &fa;
  memset(&s, 0, sizeof s);
  s.version = MEDSHIM_REPLAY_SUMMARY_VERSION;
  rc = medshim_replay_run(&s, j, &ad, &ro);
  json_decref(o); /* institution_code pointed into it */
  if (rc != MEDSHIM_OK) {
    const char *m = medshim_journal_errmsg(j);
    return medshim__flat_fail(rc, NULL, 0, "%s", m && m[0] ? m : medshim_strerror(rc));
  }
  doc = json_object();
#define N(f) json_object_set_new(doc, #f, json_integer((json_int_t)s.f))
  N(claims); N(attempts); N(queries); N(settled); N(rejected); N(retry_wait);
  N(in_doubt); N(pending); N(expired); N(manual); N(voided); N(refunds_due_fen);
  N(negative_refunds); N(blocked); N(unplanned); N(overdue); N(bad_answers);
#undef N
  if (s.opens_at != 0)
    medshim__flat_set_time(doc, "opens_at", s.opens_at);
  return medshim__flat_output(doc, MEDSHIM_OK, out, cap, needed);
}

int MEDSHIM_FLATCALL medshim_flat_step_begin(int32_t ctx, const char *infno,
                                             char *msgid, size_t cap) {
  char m[MEDSHIM_MSGID_LEN + 1];
  int rc;
  medshim__flat_ok();
  medshim__flat_set_gbk(cur_ctx_gbk);
  if (ctx <= 0 || ctx != cur_token || cur_ctx == NULL)
    return medshim__flat_fail(MEDSHIM_EINVAL, "ctx", 0,
                              "not the adapter call in progress on this thread");
  if (msgid == NULL || cap < sizeof m)
    return medshim__flat_fail(MEDSHIM_ERANGE, "msgid", 0, "needs %zu bytes", sizeof m);
  if (infno == NULL)
    return medshim__flat_fail(MEDSHIM_EINVAL, "infno", 0, "must not be NULL");
  if ((rc = medshim_adapter_step_begin(cur_ctx, m, infno)) != MEDSHIM_OK)
    return medshim__flat_fail(rc, "infno", 0, "step not recorded: do not send (%s)",
                              medshim_strerror(rc));
  memcpy(msgid, m, sizeof m);
  return MEDSHIM_OK;
}

int MEDSHIM_FLATCALL medshim_flat_step_end(int32_t ctx, const char *step_json) {
  static const char *const states[] = {NULL, "sent", "ok", "failed", "unknown"};
  medshim_step st;
  const char *state;
  json_t *o;
  int rc = MEDSHIM_OK;
  medshim__flat_ok();
  medshim__flat_set_gbk(cur_ctx_gbk);
  if (ctx <= 0 || ctx != cur_token || cur_ctx == NULL)
    return medshim__flat_fail(MEDSHIM_EINVAL, "ctx", 0,
                              "not the adapter call in progress on this thread");
  if ((o = medshim__flat_options(step_json, "step")) == NULL)
    return medshim__flat_code();
  memset(&st, 0, sizeof st);
  st.version = MEDSHIM_STEP_VERSION;
  state = json_string_value(json_object_get(o, "state"));
  for (int i = 2; state != NULL && i <= 4; i++)
    if (strcmp(state, states[i]) == 0)
      st.state = (medshim_step_state)i;
  if (st.state == 0)
    rc = medshim__flat_fail(MEDSHIM_EINVAL, "state", 0, "must be ok, failed or unknown");
  else if (take_str(st.msgid, sizeof st.msgid, o, "msgid") ||
           take_str(st.infno, sizeof st.infno, o, "infno") ||
           take_str(st.mdtrt_id, sizeof st.mdtrt_id, o, "mdtrt_id") ||
           take_str(st.setl_id, sizeof st.setl_id, o, "setl_id") ||
           take_str(st.code, sizeof st.code, o, "code"))
    rc = medshim__flat_fail(MEDSHIM_ERANGE, "step", 0, "an id is longer than its limit");
  else if (take_time(&st.setl_time, json_object_get(o, "setl_time")) != 0)
    rc = medshim__flat_fail(MEDSHIM_EINVAL, "setl_time", 0,
                            "must be yyyy-MM-dd HH:mm:ss or Unix seconds");
  if (rc == MEDSHIM_OK) {
    st.total_fen = take_int(o, "total_fen");
    st.fund_paid_fen = take_int(o, "fund_paid_fen");
    st.acct_paid_fen = take_int(o, "acct_paid_fen");
    st.patient_paid_fen = take_int(o, "patient_paid_fen");
    if ((rc = medshim_adapter_step_end(cur_ctx, &st)) != MEDSHIM_OK)
      rc = medshim__flat_fail(rc, rc == MEDSHIM_ENOTFOUND ? "msgid" : "step", 0,
                              "step not recorded (%s)", medshim_strerror(rc));
  }
  json_decref(o);
  return rc;
}
