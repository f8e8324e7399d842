/* The simulator's adapter logic, shared by the in-process adapter
 * (sim_bind.c, through the engine's medshim_adapter_ctx) and the medshim-sim
 * exec program (through JSON lines). Every platform request is recorded
 * before it leaves and its answer before the next one leaves, so a probe can
 * always find what an attempt left behind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

/* The answer to one recorded request. */
typedef struct reply {
  int lost;         /* no usable answer: the request may have been done */
  int ok;           /* infcode 0 */
  const char *code; /* err_code of a refusal */
  const char *msg;  /* err_msg of a refusal */
  json_t *resp;     /* the whole answer (owned), or NULL */
  json_t *out;      /* resp.output */
  char msgid[MEDSHIM_MSGID_LEN + 1];
} reply;

static void reply_free(reply *r) {
  json_decref(r->resp);
  memset(r, 0, sizeof *r);
}

static const char *out_str(const json_t *o, const char *obj, const char *k) {
  const json_t *inner = obj ? json_object_get(o, obj) : o;
  const char *v = json_string_value(json_object_get(inner, k));
  return v ? v : "";
}

static void copy_id(char *dst, size_t cap, const char *src) {
  if (strlen(src) < cap) /* ids are refused when overlong, never cut */
    memcpy(dst, src, strlen(src) + 1);
}

/* What came back, as the journal keeps it. */
static void fill_step(medshim_step *st, const msim_actx *a, const char *infno,
                      const reply *r, const char *mdtrt) {
  const json_t *si = json_object_get(r->out, "setlinfo");
  memset(st, 0, sizeof *st);
  st->version = MEDSHIM_STEP_VERSION;
  st->attempt = a->attempt;
  copy_id(st->infno, sizeof st->infno, infno);
  copy_id(st->msgid, sizeof st->msgid, r->msgid);
  st->state = r->lost ? MEDSHIM_STEP_UNKNOWN
                      : r->ok ? MEDSHIM_STEP_OK : MEDSHIM_STEP_FAILED;
  if (r->ok && strcmp(infno, "2201") == 0)
    mdtrt = out_str(r->out, "data", "mdtrt_id");
  copy_id(st->mdtrt_id, sizeof st->mdtrt_id, mdtrt ? mdtrt : "");
  if (r->ok && si != NULL && strcmp(infno, "2207") == 0) {
    copy_id(st->setl_id, sizeof st->setl_id, out_str(si, NULL, "setl_id"));
    if (msim_time_parse(&st->setl_time, out_str(si, NULL, "setl_time")) != 0)
      st->setl_time = 0;
    (void)msim_yuan_parse(&st->total_fen, json_object_get(si, "medfee_sumamt"));
    (void)msim_yuan_parse(&st->fund_paid_fen, json_object_get(si, "fund_pay_sumamt"));
    (void)msim_yuan_parse(&st->acct_paid_fen, json_object_get(si, "acct_pay"));
    (void)msim_yuan_parse(&st->patient_paid_fen, json_object_get(si, "psn_cash_pay"));
  }
  if (!r->ok && r->code)
    copy_id(st->code, sizeof st->code, r->code);
}

static void parse_reply(reply *r, char *text) {
  json_error_t e;
  r->resp = text ? json_loads(text, 0, &e) : NULL;
  if (r->resp == NULL || !json_is_integer(json_object_get(r->resp, "infcode"))) {
    r->lost = 1; /* an answer we cannot read is no answer */
    return;
  }
  r->ok = json_integer_value(json_object_get(r->resp, "infcode")) == 0;
  r->out = json_object_get(r->resp, "output");
  r->code = out_str(r->resp, NULL, "err_code");
  r->msg = out_str(r->resp, NULL, "err_msg");
}

/* One recorded request: begin (never send without it), call, end.
 * Takes @p input. -1: the step could not be recorded; stop sending. */
static int request(msim_actx *a, const char *infno, json_t *input,
                   const char *mdtrt, reply *r) {
  medshim_step st;
  char *text = NULL, *answer = NULL;
  int lost = 0;
  memset(r, 0, sizeof *r);
  if (input == NULL || a->rec.begin(a->rec.c, r->msgid, infno) != MEDSHIM_OK) {
    json_decref(input);
    return -1;
  }
  text = json_dumps(input, JSON_COMPACT);
  json_decref(input);
  if (text == NULL ||
      medshim_sim_call(a->sim, infno, r->msgid, text, &answer, &lost) !=
          MEDSHIM_OK ||
      lost)
    r->lost = 1;
  else
    parse_reply(r, answer);
  free(text);
  medshim_sim_free(answer);
  fill_step(&st, a, infno, r, mdtrt);
  if (a->rec.end(a->rec.c, &st) != MEDSHIM_OK) {
    reply_free(r);
    return -1;
  }
  return 0;
}

/* A busy refusal did nothing, so the same request may go again at once
 * (as a new step with a new msgid). A few tries before giving up keep the
 * claim's bounded step log from filling with whole new attempts. */
#define BUSY_TRIES 3

static int busy(const reply *r) {
  return !r->lost && !r->ok && r->code &&
         strcmp(r->code, MEDSHIM_SIM_ERR_BUSY) == 0;
}

static int request_tries(msim_actx *a, const char *infno, json_t *input,
                         const char *mdtrt, reply *r) {
  for (int i = 1;; i++) {
    if (request(a, infno, json_incref(input), mdtrt, r) != 0) {
      json_decref(input);
      return -1;
    }
    if (!busy(r) || i == BUSY_TRIES)
      break;
    reply_free(r);
  }
  json_decref(input);
  return 0;
}

/* ---- request bodies ---- */

static const char *med_type(int service) {
  switch (service) {
  case MEDSHIM_SERVICE_CHRONIC_OUTPATIENT: return "14";
  case MEDSHIM_SERVICE_INPATIENT: return "21";
  case MEDSHIM_SERVICE_PHARMACY: return "41";
  case MEDSHIM_SERVICE_MATERNITY: return "51";
  default: return "11";
  }
}

static const char *insutype(int service) {
  return service == MEDSHIM_SERVICE_WORK_INJURY ? "410"
         : service == MEDSHIM_SERVICE_MATERNITY ? "510" : "310";
}

typedef struct seq { /* what this settle attempt has on the platform */
  char psn[65];
  char mdtrt[MEDSHIM_PLATFORM_ID_MAX + 1];
  int registered, details;
} seq;

static json_t *body_1101(const msim_claim *c) {
  json_t *d = json_pack("{s:s}", "mdtrt_cert_type",
                        c->cert_type ? c->cert_type : "02");
  if (d != NULL && c->psn_no)
    json_object_set_new(d, "psn_no", json_string(c->psn_no));
  if (d != NULL && c->id_no)
    json_object_set_new(d, "mdtrt_cert_no", json_string(c->id_no));
  return d ? json_pack("{s:o}", "data", d) : NULL;
}

static json_t *body_2201(const msim_claim *c, const seq *q) {
  char begn[20];
  msim_time_format(begn, c->visit_time);
  return json_pack("{s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s}}", "data", "psn_no",
                   q->psn, "insutype", insutype(c->service), "begntime", begn,
                   "mdtrt_cert_type", c->cert_type ? c->cert_type : "02",
                   "ipt_otp_no", c->visit_id, "med_type", med_type(c->service),
                   "dept_code", "SIM");
}

/* The claim's total as one fee line: the HIS's own detail format is not
 * known here, and the platform checks only that the sum matches. */
static json_t *body_2204(const msim_claim *c, const seq *q) {
  char amt[32], when[20];
  msim_yuan_format(amt, c->total_fen);
  msim_time_format(when, c->visit_time);
  return json_pack("{s:[{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}]}",
                   "feedetail", "feedetl_sn", "1", "mdtrt_id", q->mdtrt,
                   "psn_no", q->psn, "det_item_fee_sumamt", amt, "cnt", "1",
                   "pric", amt, "fee_ocur_time", when, "med_list_codg",
                   "SIM-TOTAL");
}

static json_t *body_setl(const msim_claim *c, const seq *q, int final) {
  char amt[32];
  json_t *b;
  msim_yuan_format(amt, c->total_fen);
  b = json_pack("{s:s, s:s, s:s, s:s, s:s}", "psn_no", q->psn, "mdtrt_id",
                q->mdtrt, "medfee_sumamt", amt, "insutype",
                insutype(c->service), "acct_used_flag", "1");
  if (b != NULL && final && c->replay_key) /* echoed back by 5261/5262 */
    json_object_set_new(b, "medins_setl_id", json_string(c->replay_key));
  return b ? json_pack("{s:o}", "data", b) : NULL;
}

static json_t *body_visit(const seq *q) {
  return json_pack("{s:{s:s, s:s}}", "data", "mdtrt_id", q->mdtrt, "psn_no",
                   q->psn);
}

/* ---- outcomes ---- */

static int unknown(medshim_settlement *out, const char *why) {
  out->outcome = MEDSHIM_OUTCOME_UNKNOWN;
  snprintf(out->message, sizeof out->message, "%s", why);
  return 0;
}

/* A refusal: busy is worth another try later, anything else needs a person. */
static int refused(medshim_settlement *out, const char *infno, const reply *r) {
  if (strcmp(r->code, MEDSHIM_SIM_ERR_BUSY) == 0) {
    out->outcome = MEDSHIM_OUTCOME_RETRY;
    snprintf(out->message, sizeof out->message, "%s: platform busy", infno);
    return 0;
  }
  out->outcome = MEDSHIM_OUTCOME_REJECTED;
  snprintf(out->code, sizeof out->code, "%s:%.26s", infno, r->code);
  snprintf(out->message, sizeof out->message, "%s: %s", infno, r->msg);
  return 0;
}

static int amount(const json_t *si, const char *k, int64_t *out) {
  return msim_yuan_parse(out, json_object_get(si, k));
}

/* SETTLED from a setlinfo (2207's answer or 5203's). */
static int settled(medshim_settlement *out, const json_t *si,
                   const char *msgid) {
  const char *id = out_str(si, NULL, "setl_id");
  const char *md = out_str(si, NULL, "mdtrt_id");
  if (amount(si, "medfee_sumamt", &out->total_fen) ||
      amount(si, "fund_pay_sumamt", &out->fund_paid_fen) ||
      amount(si, "acct_pay", &out->acct_paid_fen) ||
      amount(si, "psn_cash_pay", &out->patient_paid_fen) ||
      amount(si, "hosp_part_amt", &out->hospital_share_fen) ||
      msim_time_parse(&out->setl_time, out_str(si, NULL, "setl_time")) ||
      strlen(id) > MEDSHIM_PLATFORM_ID_MAX || strlen(md) > MEDSHIM_PLATFORM_ID_MAX)
    return unknown(out, "settlement answer unreadable");
  copy_id(out->settlement_id, sizeof out->settlement_id, id);
  copy_id(out->mdtrt_id, sizeof out->mdtrt_id, md);
  copy_id(out->msgid, sizeof out->msgid, msgid);
  out->outcome = MEDSHIM_OUTCOME_SETTLED;
  return 0;
}

/* Undo this attempt's partial sequence in reverse: 2205, then 2202. */
static int undo(msim_actx *a, seq *q) {
  reply r;
  int ok;
  if (q->details) {
    if (request_tries(a, "2205", body_visit(q), q->mdtrt, &r) != 0)
      return -1;
    ok = r.ok || (r.code && strcmp(r.code, MEDSHIM_SIM_ERR_ALREADY_CANCELLED) == 0);
    reply_free(&r);
    if (!ok)
      return -1;
  }
  if (!q->registered)
    return 0;
  if (request_tries(a, "2202", body_visit(q), q->mdtrt, &r) != 0)
    return -1;
  ok = r.ok || (r.code && strcmp(r.code, MEDSHIM_SIM_ERR_ALREADY_CANCELLED) == 0);
  reply_free(&r);
  return ok ? 0 : -1;
}

/* After a refusal (or a lost read): undo, then RETRY or REJECTED. */
static int give_up(medshim_settlement *out, msim_actx *a, seq *q,
                   const char *infno, const reply *r) {
  if (undo(a, q) != 0)
    return unknown(out, "undo of a partial sequence failed");
  if (r->lost) {
    out->outcome = MEDSHIM_OUTCOME_RETRY;
    snprintf(out->message, sizeof out->message, "%s answer lost", infno);
    return 0;
  }
  return refused(out, infno, r);
}

/* 1101: the person number (given, or found by certificate). 1 done,
 * 0 answered (out filled), -1 not recorded. */
static int person(medshim_settlement *out, msim_actx *a, seq *q) {
  reply r;
  const char *psn;
  if (request_tries(a, "1101", body_1101(&a->claim), NULL, &r) != 0)
    return -1;
  if (r.lost || !r.ok) {
    give_up(out, a, q, "1101", &r);
    reply_free(&r);
    return 0;
  }
  psn = out_str(r.out, "baseinfo", "psn_no");
  if (*psn == '\0' || strlen(psn) >= sizeof q->psn) {
    reply_free(&r);
    unknown(out, "1101 answer without psn_no");
    return 0;
  }
  copy_id(q->psn, sizeof q->psn, psn);
  reply_free(&r);
  return 1;
}

/* One write of the sequence. 1 done, 0 answered (out filled), -1. */
static int write_step(medshim_settlement *out, msim_actx *a, seq *q,
                      const char *infno, json_t *body, reply *r) {
  if (request_tries(a, infno, body, q->mdtrt[0] ? q->mdtrt : NULL, r) != 0)
    return -1;
  if (r->lost && strcmp(infno, "2206") != 0) { /* a write may have happened */
    char why[64];
    snprintf(why, sizeof why, "%s answer lost", infno);
    unknown(out, why);
    reply_free(r);
    return 0;
  }
  if (r->lost || !r->ok) {
    give_up(out, a, q, infno, r);
    reply_free(r);
    return 0;
  }
  return 1;
}

int msim_adapter_settle(medshim_settlement *out, msim_actx *a) {
  const msim_claim *c = &a->claim;
  seq q;
  reply r;
  int rc;
  memset(&q, 0, sizeof q);
  unknown(out, "step not recorded: nothing sent");
  if ((rc = person(out, a, &q)) != 1)
    return 0;
  if ((rc = write_step(out, a, &q, "2201", body_2201(c, &q), &r)) != 1)
    return 0;
  copy_id(q.mdtrt, sizeof q.mdtrt, out_str(r.out, "data", "mdtrt_id"));
  q.registered = 1;
  reply_free(&r);
  if (q.mdtrt[0] == '\0')
    return unknown(out, "2201 answer without mdtrt_id");
  if ((rc = write_step(out, a, &q, "2204", body_2204(c, &q), &r)) != 1)
    return 0;
  q.details = 1;
  reply_free(&r);
  if ((rc = write_step(out, a, &q, "2206", body_setl(c, &q, 0), &r)) != 1)
    return 0;
  reply_free(&r);
  if ((rc = write_step(out, a, &q, "2207", body_setl(c, &q, 1), &r)) != 1)
    return 0;
  memset(out->message, 0, sizeof out->message);
  settled(out, json_object_get(r.out, "setlinfo"), r.msgid);
  reply_free(&r);
  return 0;
}

/* ---- probe ---- */

typedef struct probe {
  medshim_step *steps; /* snapshot: the ctx's pointers move as we record */
  size_t n;
  seq q;
  const medshim_step *found; /* the 2207 whose settlement is active */
  json_t *found_info;        /* its 5203 setlinfo */
} probe;

static int snapshot(probe *p, msim_actx *a) {
  p->n = a->rec.count(a->rec.c);
  p->steps = calloc(p->n + 1, sizeof *p->steps);
  if (p->steps == NULL)
    return -1;
  for (size_t i = 0; i < p->n; i++) {
    const medshim_step *s = a->rec.step(a->rec.c, i);
    if (s == NULL)
      return -1;
    p->steps[i] = *s;
  }
  return 0;
}

/* 5203 for each recorded settlement, newest first. 0 done, -1 unknown. */
static int confirm(probe *p, msim_actx *a) {
  for (size_t i = p->n; i-- > 0;) {
    const medshim_step *s = &p->steps[i];
    json_t *si;
    reply r;
    if (strcmp(s->infno, "2207") || s->state != MEDSHIM_STEP_OK || !s->setl_id[0])
      continue;
    if (request_tries(a, "5203", json_pack("{s:{s:s, s:s, s:s}}", "data", "setl_id",
                                     s->setl_id, "psn_no", p->q.psn,
                                     "mdtrt_id", s->mdtrt_id),
                s->mdtrt_id, &r) != 0)
      return -1;
    /* A settlement we were told of and cannot see: the lag, not "none". */
    if (r.lost || !r.ok) {
      reply_free(&r);
      return -1;
    }
    si = json_object_get(r.out, "setlinfo");
    if (strcmp(out_str(si, NULL, "vali_flag"), "1") == 0) {
      p->found = s;
      p->found_info = json_incref(si);
      reply_free(&r);
      return 0;
    }
    reply_free(&r);
  }
  return 0;
}

static int undone_ok(const reply *r) {
  return r->ok || strcmp(r->code, MEDSHIM_SIM_ERR_NOT_FOUND) == 0 ||
         strcmp(r->code, MEDSHIM_SIM_ERR_ALREADY_REVERSED) == 0 ||
         strcmp(r->code, MEDSHIM_SIM_ERR_ALREADY_CANCELLED) == 0;
}

/* The registration step i went to: its own mdtrt_id, or for a request sent
 * but never answered (its step carries none), that of its attempt's 2201. */
static const char *step_mdtrt(const probe *p, size_t i) {
  if (p->steps[i].mdtrt_id[0] != '\0')
    return p->steps[i].mdtrt_id;
  for (size_t j = 0; j < p->n; j++)
    if (strcmp(p->steps[j].infno, "2201") == 0 &&
        p->steps[j].attempt == p->steps[i].attempt &&
        p->steps[j].mdtrt_id[0] != '\0')
      return p->steps[j].mdtrt_id;
  return "";
}

/* Did an earlier probe settle the fate of the 2207 at step i? A 2601 after
 * it for the same registration that was answered "reversed", "already
 * reversed/cancelled" or "never done". (A step does not name the request a
 * 2601 reversed; one 2207 per registration makes the mdtrt_id do.) */
static int reversal_recorded(const probe *p, size_t i) {
  static const char *const done[] = {MEDSHIM_SIM_ERR_NOT_FOUND,
                                     MEDSHIM_SIM_ERR_ALREADY_REVERSED,
                                     MEDSHIM_SIM_ERR_ALREADY_CANCELLED};
  for (size_t j = i + 1; j < p->n; j++) {
    const medshim_step *r = &p->steps[j];
    if (strcmp(r->infno, "2601") || strcmp(step_mdtrt(p, j), step_mdtrt(p, i)))
      continue;
    if (r->state == MEDSHIM_STEP_OK)
      return 1;
    for (size_t k = 0; r->state == MEDSHIM_STEP_FAILED && k < 3; k++)
      if (strcmp(r->code, done[k]) == 0)
        return 1;
  }
  return 0;
}

/* 2601 for every 2207 whose answer never came: reversed, or never done. */
static int reverse_lost(probe *p, msim_actx *a) {
  for (size_t i = p->n; i-- > 0;) {
    const medshim_step *s = &p->steps[i];
    reply r;
    int ok;
    const char *md = step_mdtrt(p, i);
    if (strcmp(s->infno, "2207") || !md[0] ||
        (s->state != MEDSHIM_STEP_SENT && s->state != MEDSHIM_STEP_UNKNOWN) ||
        reversal_recorded(p, i))
      continue;
    if (request_tries(a, "2601", json_pack("{s:{s:s, s:s, s:s}}", "data", "psn_no",
                                     p->q.psn, "omsgid", s->msgid, "oinfno",
                                     s->infno),
                md, &r) != 0)
      return -1;
    ok = !r.lost && undone_ok(&r);
    reply_free(&r);
    if (!ok)
      return -1;
  }
  return 0;
}

static int recorded_registration_seen(const probe *p, const json_t *rows) {
  for (size_t i = 0; i < p->n; i++) {
    const medshim_step *s = &p->steps[i];
    int seen = 0;
    if (strcmp(s->infno, "2201") || s->state != MEDSHIM_STEP_OK)
      continue;
    for (size_t j = 0; j < json_array_size(rows); j++)
      seen |= strcmp(out_str(json_array_get(rows, j), NULL, "mdtrt_id"),
                     s->mdtrt_id) == 0;
    if (!seen)
      return 0;
  }
  return 1;
}

/* Could fee details have reached this registration? Only through a 2204
 * that names it and was not refused (the sequence stops after a lost 2201,
 * so a registration found only by 5201 has none). Saves a step: the step
 * log of a claim is bounded. */
static int details_possible(const probe *p, const char *mdtrt) {
  uint32_t attempt = 0;
  int registered = 0;
  for (size_t i = 0; i < p->n; i++)
    if (strcmp(p->steps[i].infno, "2201") == 0 &&
        strcmp(p->steps[i].mdtrt_id, mdtrt) == 0) {
      attempt = p->steps[i].attempt;
      registered = 1;
    }
  for (size_t i = 0; i < p->n; i++) {
    const medshim_step *s = &p->steps[i];
    if (strcmp(s->infno, "2204") != 0 || s->state == MEDSHIM_STEP_FAILED)
      continue;
    /* A 2204 sent but never answered carries no mdtrt_id of its own: it
     * went to the registration of its attempt. */
    if (strcmp(s->mdtrt_id, mdtrt) == 0 ||
        (s->mdtrt_id[0] == '\0' && (!registered || s->attempt == attempt)))
      return 1;
  }
  return 0;
}

/* Cancel one open registration that holds no settlement of ours. */
static int cancel_visit(probe *p, msim_actx *a, const char *mdtrt) {
  seq q = p->q;
  copy_id(q.mdtrt, sizeof q.mdtrt, mdtrt);
  q.registered = 1;
  q.details = details_possible(p, mdtrt);
  return undo(a, &q);
}

/* 5201 for the visit's day, then undo every open registration of it. */
static int clean_visits(probe *p, msim_actx *a) {
  char b[20], e[20];
  int64_t day = a->claim.visit_time + 8 * 3600;
  int64_t start = day - (day % 86400 + 86400) % 86400 - 8 * 3600;
  const json_t *rows;
  reply r;
  msim_time_format(b, start);
  msim_time_format(e, start + 86399);
  if (request_tries(a, "5201", json_pack("{s:{s:s, s:s, s:s, s:s}}", "data",
                                   "psn_no", p->q.psn, "begntime", b,
                                   "endtime", e, "med_type",
                                   med_type(a->claim.service)),
              NULL, &r) != 0)
    return -1;
  rows = json_object_get(r.out, "mdtrtinfo");
  if (r.lost || !r.ok || !recorded_registration_seen(p, rows)) {
    reply_free(&r);
    return -1;
  }
  for (size_t j = 0; j < json_array_size(rows); j++) {
    const json_t *row = json_array_get(rows, j);
    const char *md = out_str(row, NULL, "mdtrt_id");
    if (strcmp(out_str(row, NULL, "ipt_otp_no"), a->claim.visit_id) != 0 ||
        strcmp(out_str(row, NULL, "vali_flag"), "1") != 0 ||
        (p->found && strcmp(md, p->found->mdtrt_id) == 0))
      continue;
    if (cancel_visit(p, a, md) != 0) {
      reply_free(&r);
      return -1;
    }
  }
  reply_free(&r);
  return 0;
}

static int probe_run(medshim_settlement *out, msim_actx *a, probe *p) {
  if (snapshot(p, a) != 0)
    return unknown(out, "steps unreadable");
  if (a->claim.psn_no != NULL && strlen(a->claim.psn_no) < sizeof p->q.psn) {
    copy_id(p->q.psn, sizeof p->q.psn, a->claim.psn_no);
  } else if (person(out, a, &p->q) != 1) {
    return unknown(out, "1101 failed during the probe");
  }
  if (confirm(p, a) != 0)
    return unknown(out, "5203 could not confirm a recorded settlement");
  if (p->found == NULL && reverse_lost(p, a) != 0)
    return unknown(out, "2601 could not reverse a lost 2207");
  if (clean_visits(p, a) != 0)
    return unknown(out, "5201 or the undo of a registration failed");
  if (p->found != NULL)
    return settled(out, p->found_info, p->found->msgid);
  out->outcome = MEDSHIM_OUTCOME_NOT_FOUND;
  return 0;
}

int msim_adapter_probe(medshim_settlement *out, msim_actx *a) {
  probe p;
  int rc;
  memset(&p, 0, sizeof p);
  rc = probe_run(out, a, &p);
  json_decref(p.found_info);
  free(p.steps);
  return rc;
}
