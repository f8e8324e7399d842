/* Claim states: names, and the status record's binary encoding. */
#include <string.h>

#include "claim_status_internal.h"
#include "journal_format_internal.h"

static const char *const state_names[] = {
    NULL,      "pending", "in_doubt", "settled", "rejected",
    "retry_wait", "expired", "manual", "voided"};

const char *medshim_state_name(medshim_claim_state state) {
  if ((int)state < 1 || (int)state > 8)
    return NULL;
  return state_names[state];
}

int medshim_state_parse(medshim_claim_state *out, const char *name) {
  if (out == NULL || name == NULL)
    return MEDSHIM_EINVAL;
  for (int i = 1; i <= 8; i++) {
    if (strcmp(name, state_names[i]) == 0) {
      *out = (medshim_claim_state)i;
      return MEDSHIM_OK;
    }
  }
  return MEDSHIM_EINVAL;
}

int medshim_claim_status_init(medshim_claim_status *status,
                              unsigned int version) {
  if (status == NULL || version != MEDSHIM_CLAIM_STATUS_VERSION)
    return MEDSHIM_EINVAL;
  memset(status, 0, sizeof *status);
  status->version = version;
  status->state = MEDSHIM_STATE_PENDING;
  return MEDSHIM_OK;
}

/* Layout (format version 1): ver u8, state u8, attempts u32, changed_at i64,
 * not_before i64, fund i64, acct i64, patient i64, refund i64, then three
 * strings each as len u16 + bytes: settlement_id, code, message. */
#define STATUS_FIXED 54

static size_t put_str(unsigned char *p, const char *s, size_t max) {
  size_t n = strnlen(s, max + 1);
  if (n > max)
    return (size_t)-1;
  jf_put16(p, (uint16_t)n);
  memcpy(p + 2, s, n);
  return n + 2;
}

size_t medshim__status_encode(unsigned char *buf,
                              const medshim_claim_status *st) {
  size_t off = STATUS_FIXED, n;
  if (medshim_state_name(st->state) == NULL)
    return 0;
  buf[0] = 1;
  buf[1] = (unsigned char)st->state;
  jf_put32(buf + 2, st->attempts);
  jf_put64(buf + 6, (uint64_t)st->changed_at);
  jf_put64(buf + 14, (uint64_t)st->not_before);
  jf_put64(buf + 22, (uint64_t)st->fund_paid_fen);
  jf_put64(buf + 30, (uint64_t)st->acct_paid_fen);
  jf_put64(buf + 38, (uint64_t)st->patient_paid_fen);
  jf_put64(buf + 46, (uint64_t)st->refund_fen);
  if ((n = put_str(buf + off, st->settlement_id, MEDSHIM_SETTLEMENT_ID_MAX)) ==
      (size_t)-1)
    return 0;
  off += n;
  if ((n = put_str(buf + off, st->code, MEDSHIM_REJECT_CODE_MAX)) == (size_t)-1)
    return 0;
  off += n;
  if ((n = put_str(buf + off, st->message, MEDSHIM_REJECT_MESSAGE_MAX)) ==
      (size_t)-1)
    return 0;
  return off + n;
}

static int get_str(char *out, size_t max, const unsigned char *buf, size_t len,
                   size_t *off) {
  size_t n;
  if (*off + 2 > len)
    return -1;
  n = jf_get16(buf + *off);
  if (n > max || *off + 2 + n > len || memchr(buf + *off + 2, 0, n) != NULL)
    return -1;
  memcpy(out, buf + *off + 2, n);
  out[n] = '\0';
  *off += 2 + n;
  return 0;
}

int medshim__status_decode(medshim_claim_status *st, const unsigned char *buf,
                           size_t len) {
  size_t off = STATUS_FIXED;
  medshim_claim_status_init(st, MEDSHIM_CLAIM_STATUS_VERSION);
  if (len < STATUS_FIXED || buf[0] != 1 ||
      medshim_state_name((medshim_claim_state)buf[1]) == NULL)
    return MEDSHIM_ECORRUPT;
  st->state = (medshim_claim_state)buf[1];
  st->attempts = jf_get32(buf + 2);
  st->changed_at = (int64_t)jf_get64(buf + 6);
  st->not_before = (int64_t)jf_get64(buf + 14);
  st->fund_paid_fen = (int64_t)jf_get64(buf + 22);
  st->acct_paid_fen = (int64_t)jf_get64(buf + 30);
  st->patient_paid_fen = (int64_t)jf_get64(buf + 38);
  st->refund_fen = (int64_t)jf_get64(buf + 46);
  if (get_str(st->settlement_id, MEDSHIM_SETTLEMENT_ID_MAX, buf, len, &off) ||
      get_str(st->code, MEDSHIM_REJECT_CODE_MAX, buf, len, &off) ||
      get_str(st->message, MEDSHIM_REJECT_MESSAGE_MAX, buf, len, &off) ||
      off != len)
    return MEDSHIM_ECORRUPT;
  return MEDSHIM_OK;
}
