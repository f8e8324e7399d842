/* The flat interface (flat.h): replay through a callback taking JSON text.
 * Each settle call is one recorded step ("2207") around the callback, so
 * an attempt is durably in doubt before the host sends anything. */
#include <stdlib.h>
#include <string.h>

#include "flat_internal.h"
#include "medshim/replay.h"

typedef struct flat_adapter {
  medshim_flat_adapter_fn fn;
  void *payload;
} flat_adapter;

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
  if (fa->fn(text, answer, MEDSHIM_FLAT_ANSWER_MAX, fa->payload) != 0)
    goto done;
  answer[MEDSHIM_FLAT_ANSWER_MAX - 1] = '\0';
  if ((a = json_loads(answer, 0, NULL)) == NULL || !json_is_object(a))
    goto done;
  oc = json_string_value(json_object_get(a, "outcome"));
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
  out->setl_time = take_int(a, "setl_time");
  out->total_fen = take_int(a, "total_fen");
  out->fund_paid_fen = take_int(a, "fund_paid_fen");
  out->acct_paid_fen = take_int(a, "acct_paid_fen");
  out->patient_paid_fen = take_int(a, "patient_paid_fen");
  out->hospital_share_fen = take_int(a, "hospital_share_fen");
done:
  json_decref(a);
  free(answer);
  free(text);
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
  req = json_pack("{s:s, s:s, s:I, s:o}", "kind", kind, "replay_key",
                  medshim_adapter_replay_key(ctx), "attempt",
                  (json_int_t)medshim_adapter_attempt(ctx), "claim", c);
  return req;
}

static int flat_settle(medshim_settlement *out, medshim_adapter_ctx *ctx,
                       void *payload) {
  char msgid[MEDSHIM_MSGID_LEN + 1];
  medshim_step st;
  json_t *req;
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
  json_t *req = request(ctx, "probe"), *steps = json_array();
  out->outcome = MEDSHIM_OUTCOME_UNKNOWN;
  if (req == NULL || steps == NULL) {
    json_decref(req);
    json_decref(steps);
    return 0;
  }
  for (size_t i = 0; i < medshim_adapter_step_count(ctx); i++) {
    const medshim_step *s = medshim_adapter_step(ctx, i);
    const char *state = s ? medshim_step_state_name(s->state) : NULL;
    if (s != NULL)
      json_array_append_new(steps, json_pack("{s:s, s:s, s:s, s:I}", "infno", s->infno,
                                             "msgid", s->msgid, "state",
                                             state ? state : "", "attempt",
                                             (json_int_t)s->attempt));
  }
  json_object_set_new(req, "steps", steps);
  call_host(out, payload, req);
  json_decref(req);
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
    return MEDSHIM_EINVAL;
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
