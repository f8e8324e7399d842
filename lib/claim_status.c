/* Claim states: names, and the status record's binary encoding. */
#include <string.h>

#include "claim_internal.h"
#include "claim_status_internal.h"
#include "errors_internal.h"
#include "journal_format_internal.h"
#include "versioned_internal.h"

static const char *const state_names[] = {
    NULL,      "pending", "in_doubt", "settled", "rejected",
    "retry_wait", "expired", "manual", "voided"};

const char *medshim_state_name(medshim_claim_state state) {
  if ((int)state < 1 || (int)state > 8)
    return NULL;
  return state_names[state];
}

static const char *const step_state_names[] = {NULL, "sent", "ok", "failed",
                                              "unknown"};

const char *medshim_step_state_name(medshim_step_state state) {
  if ((int)state < 1 || (int)state > 4)
    return NULL;
  return step_state_names[state];
}

int medshim_state_parse(medshim_claim_state *out, const char *name) {
  if (out == NULL || name == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  for (int i = 1; i <= 8; i++) {
    if (strcmp(name, state_names[i]) == 0) {
      *out = (medshim_claim_state)i;
      return MEDSHIM_OK;
    }
  }
  return MEDSHIM__FAIL(MEDSHIM_EINVAL);
}

int medshim_claim_status_init(medshim_claim_status *status,
                              unsigned int version) {
  int rc = MEDSHIM__VERSIONED_INIT(status, version,
                                   MEDSHIM_CLAIM_STATUS_VERSION);
  if (rc == MEDSHIM_OK)
    status->state = MEDSHIM_STATE_PENDING;
  return rc;
}

/* Layout. Version 1: ver u8, state u8, attempts u32, changed_at i64,
 * not_before i64, fund i64, acct i64, patient i64, refund i64, then three
 * strings each as len u16 + bytes: settlement_id, code, message.
 * Version 2 appends: attempt_started_at i64, mdtrt_id, msgid (strings),
 * setl_time, total, hospital_share (i64), window_assigned u8 [route u8,
 * from i64, until i64, schedule_id string, schedule_version u32], then the
 * step count u8 and each step: attempt u32, infno, msgid (strings), state
 * u8, sent_at i64, mdtrt_id, setl_id (strings), setl_time, total, fund,
 * acct, patient (i64), code (string). */
#define STATUS_FIXED 54

typedef struct wr {
  unsigned char *p;
  size_t off;
  int bad;
} wr;

static void w8(wr *w, unsigned v) { w->p[w->off++] = (unsigned char)v; }
static void w32(wr *w, uint32_t v) {
  jf_put32(w->p + w->off, v);
  w->off += 4;
}
static void w64(wr *w, int64_t v) {
  jf_put64(w->p + w->off, (uint64_t)v);
  w->off += 8;
}
static void wstr(wr *w, const char *s, size_t max) {
  size_t n = strnlen(s, max + 1);
  if (n > max) {
    w->bad = 1;
    return;
  }
  jf_put16(w->p + w->off, (uint16_t)n);
  memcpy(w->p + w->off + 2, s, n);
  w->off += n + 2;
}

static void put_step(wr *w, const medshim_step *s) {
  if (medshim_step_state_name(s->state) == NULL) {
    w->bad = 1;
    return;
  }
  w32(w, s->attempt);
  wstr(w, s->infno, MEDSHIM_INFNO_MAX);
  wstr(w, s->msgid, MEDSHIM_MSGID_LEN);
  w8(w, (unsigned)s->state);
  w64(w, s->sent_at);
  wstr(w, s->mdtrt_id, MEDSHIM_PLATFORM_ID_MAX);
  wstr(w, s->setl_id, MEDSHIM_PLATFORM_ID_MAX);
  w64(w, s->setl_time);
  w64(w, s->total_fen);
  w64(w, s->fund_paid_fen);
  w64(w, s->acct_paid_fen);
  w64(w, s->patient_paid_fen);
  wstr(w, s->code, MEDSHIM_REJECT_CODE_MAX);
}

size_t medshim__status_encode(unsigned char *buf, const medshim_claim_status *st,
                              const medshim_step *steps, size_t nsteps) {
  wr w = {buf, 0, 0};
  const char *why;
  if (medshim_state_name(st->state) == NULL || nsteps > MEDSHIM_STEPS_MAX ||
      (st->window_assigned &&
       medshim__claim_window_check(&st->window, &why) != MEDSHIM_OK))
    return 0;
  w8(&w, 2);
  w8(&w, (unsigned)st->state);
  w32(&w, st->attempts);
  w64(&w, st->changed_at);
  w64(&w, st->not_before);
  w64(&w, st->fund_paid_fen);
  w64(&w, st->acct_paid_fen);
  w64(&w, st->patient_paid_fen);
  w64(&w, st->refund_fen);
  wstr(&w, st->settlement_id, MEDSHIM_SETTLEMENT_ID_MAX);
  wstr(&w, st->code, MEDSHIM_REJECT_CODE_MAX);
  wstr(&w, st->message, MEDSHIM_REJECT_MESSAGE_MAX);
  w64(&w, st->attempt_started_at);
  wstr(&w, st->mdtrt_id, MEDSHIM_SETTLEMENT_ID_MAX);
  wstr(&w, st->msgid, MEDSHIM_MSGID_LEN);
  w64(&w, st->setl_time);
  w64(&w, st->total_fen);
  w64(&w, st->hospital_share_fen);
  w8(&w, st->window_assigned ? 1 : 0);
  if (st->window_assigned) {
    w8(&w, (unsigned)st->window.route);
    w64(&w, st->window.from);
    w64(&w, st->window.until);
    wstr(&w, st->window.schedule_id, MEDSHIM_SCHEDULE_ID_MAX);
    w32(&w, st->window.schedule_version);
  }
  w8(&w, (unsigned)nsteps);
  for (size_t i = 0; i < nsteps && !w.bad; i++)
    put_step(&w, &steps[i]);
  return w.bad ? 0 : w.off;
}

typedef struct rd {
  const unsigned char *p;
  size_t len, off;
  int bad;
} rd;

static unsigned r8(rd *r) {
  if (r->off + 1 > r->len) {
    r->bad = 1;
    return 0;
  }
  return r->p[r->off++];
}
static uint32_t r32(rd *r) {
  uint32_t v;
  if (r->off + 4 > r->len) {
    r->bad = 1;
    return 0;
  }
  v = jf_get32(r->p + r->off);
  r->off += 4;
  return v;
}
static int64_t r64(rd *r) {
  uint64_t v;
  if (r->off + 8 > r->len) {
    r->bad = 1;
    return 0;
  }
  v = jf_get64(r->p + r->off);
  r->off += 8;
  return (int64_t)v;
}
static void rstr(rd *r, char *out, size_t max) {
  size_t n;
  out[0] = '\0';
  if (r->bad || r->off + 2 > r->len) {
    r->bad = 1;
    return;
  }
  n = jf_get16(r->p + r->off);
  if (n > max || r->off + 2 + n > r->len ||
      memchr(r->p + r->off + 2, 0, n) != NULL) {
    r->bad = 1;
    return;
  }
  memcpy(out, r->p + r->off + 2, n);
  out[n] = '\0';
  r->off += 2 + n;
}

static void get_step(rd *r, medshim_step *s) {
  memset(s, 0, sizeof *s);
  s->version = MEDSHIM_STEP_VERSION;
  s->attempt = r32(r);
  rstr(r, s->infno, MEDSHIM_INFNO_MAX);
  rstr(r, s->msgid, MEDSHIM_MSGID_LEN);
  s->state = (medshim_step_state)r8(r);
  s->sent_at = r64(r);
  rstr(r, s->mdtrt_id, MEDSHIM_PLATFORM_ID_MAX);
  rstr(r, s->setl_id, MEDSHIM_PLATFORM_ID_MAX);
  s->setl_time = r64(r);
  s->total_fen = r64(r);
  s->fund_paid_fen = r64(r);
  s->acct_paid_fen = r64(r);
  s->patient_paid_fen = r64(r);
  rstr(r, s->code, MEDSHIM_REJECT_CODE_MAX);
  if (medshim_step_state_name(s->state) == NULL)
    r->bad = 1;
}

int medshim__status_decode(medshim_claim_status *st, medshim_step *steps,
                           size_t cap, size_t *nsteps,
                           const unsigned char *buf, size_t len) {
  rd r = {buf, len, 0, 0};
  unsigned ver;
  size_t n = 0;
  medshim_claim_status_init(st, MEDSHIM_CLAIM_STATUS_VERSION);
  if (nsteps != NULL)
    *nsteps = 0;
  ver = r8(&r);
  if (ver != 1 && ver != 2)
    return MEDSHIM__FAIL(MEDSHIM_ECORRUPT);
  st->state = (medshim_claim_state)r8(&r);
  if (medshim_state_name(st->state) == NULL)
    return MEDSHIM__FAIL(MEDSHIM_ECORRUPT);
  st->attempts = r32(&r);
  st->changed_at = r64(&r);
  st->not_before = r64(&r);
  st->fund_paid_fen = r64(&r);
  st->acct_paid_fen = r64(&r);
  st->patient_paid_fen = r64(&r);
  st->refund_fen = r64(&r);
  rstr(&r, st->settlement_id, MEDSHIM_SETTLEMENT_ID_MAX);
  rstr(&r, st->code, MEDSHIM_REJECT_CODE_MAX);
  rstr(&r, st->message, MEDSHIM_REJECT_MESSAGE_MAX);
  if (ver == 2) {
    st->attempt_started_at = r64(&r);
    rstr(&r, st->mdtrt_id, MEDSHIM_SETTLEMENT_ID_MAX);
    rstr(&r, st->msgid, MEDSHIM_MSGID_LEN);
    st->setl_time = r64(&r);
    st->total_fen = r64(&r);
    st->hospital_share_fen = r64(&r);
    st->window_assigned = r8(&r) != 0;
    if (st->window_assigned) {
      const char *why;
      st->window.version = MEDSHIM_CLAIM_WINDOW_VERSION;
      st->window.route = (int)r8(&r);
      st->window.from = r64(&r);
      st->window.until = r64(&r);
      rstr(&r, st->window.schedule_id, MEDSHIM_SCHEDULE_ID_MAX);
      st->window.schedule_version = r32(&r);
      if (!r.bad && medshim__claim_window_check(&st->window, &why) != 0)
        return MEDSHIM__FAIL(MEDSHIM_ECORRUPT);
    }
    n = r8(&r);
    if (n > MEDSHIM_STEPS_MAX)
      return MEDSHIM__FAIL(MEDSHIM_ECORRUPT);
    for (size_t i = 0; i < n && !r.bad; i++) {
      medshim_step tmp, *s = steps != NULL && i < cap ? &steps[i] : &tmp;
      get_step(&r, s);
    }
  }
  if (r.bad || r.off != len)
    return MEDSHIM__FAIL(MEDSHIM_ECORRUPT);
  if (nsteps != NULL)
    *nsteps = n;
  return MEDSHIM_OK;
}
