/* The canonical binary encoding of a claim (format byte 1): fixed-order
 * fields, integers little-endian, strings as u32 length + bytes with a
 * presence flag for optional ones. One claim has exactly one encoding. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "claim_internal.h"
#include "errors_internal.h"
#include "journal_format_internal.h"
#include "memory_internal.h"

/* Version 1: no window. Version 2: version 1 followed by the journaled
 * window. A claim without a window keeps its version 1 bytes, so claims
 * journaled before windows existed still compare equal. */
#define CODEC_VERSION 1
#define CODEC_VERSION_WINDOW 2

typedef struct wbuf {
  unsigned char *p;
  size_t len, cap;
} wbuf;

static void put_bytes(wbuf *w, const void *data, size_t n) {
  if (w->p != NULL)
    memcpy(w->p + w->len, data, n);
  w->len += n;
}

static void put_u8(wbuf *w, unsigned v) {
  unsigned char b = (unsigned char)v;
  put_bytes(w, &b, 1);
}

static void put_u64(wbuf *w, uint64_t v) {
  unsigned char b[8];
  jf_put64(b, v);
  put_bytes(w, b, 8);
}

static void put_str(wbuf *w, const char *s, size_t n) {
  unsigned char b[4];
  put_u8(w, s != NULL);
  if (s == NULL)
    return;
  jf_put32(b, (uint32_t)n);
  put_bytes(w, b, 4);
  put_bytes(w, s, n);
}

static void put_u32(wbuf *w, uint32_t v) {
  unsigned char b[4];
  jf_put32(b, v);
  put_bytes(w, b, 4);
}

static void encode(wbuf *w, const medshim_claim *c) {
  put_u8(w, c->has_window ? CODEC_VERSION_WINDOW : CODEC_VERSION);
  put_str(w, c->visit_id, strlen(c->visit_id));
  put_u8(w, (unsigned)c->service);
  put_bytes(w, c->insured_admdvs, 6);
  put_bytes(w, c->treated_admdvs, 6);
  put_u64(w, (uint64_t)c->visit_time);
  put_u64(w, (uint64_t)c->total_fen);
  put_u64(w, (uint64_t)c->self_paid_fen);
  put_str(w, c->invoice_no, c->invoice_no ? strlen(c->invoice_no) : 0);
  put_str(w, c->patient_name, c->patient_name ? strlen(c->patient_name) : 0);
  put_str(w, c->patient_id_no, c->patient_id_no ? strlen(c->patient_id_no) : 0);
  put_str(w, c->patient_psn_no,
          c->patient_psn_no ? strlen(c->patient_psn_no) : 0);
  put_str(w, c->patient_cert_type,
          c->patient_cert_type ? strlen(c->patient_cert_type) : 0);
  put_str(w, c->detail, c->detail_len);
  if (c->has_window) {
    put_u8(w, (unsigned)c->window.route);
    put_u64(w, (uint64_t)c->window.from);
    put_u64(w, (uint64_t)c->window.until);
    put_str(w, c->window.schedule_id, strlen(c->window.schedule_id));
    put_u32(w, c->window.schedule_version);
  }
}

int medshim__claim_encode(unsigned char **out, size_t *out_len,
                          const medshim_claim *claim) {
  wbuf w = {NULL, 0, 0};
  if (out == NULL || out_len == NULL || claim == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  *out = NULL;
  encode(&w, claim); /* first pass measures */
  w.p = malloc(w.len ? w.len : 1);
  if (w.p == NULL)
    return MEDSHIM__FAIL(MEDSHIM_ENOMEM);
  w.cap = w.len;
  w.len = 0;
  encode(&w, claim);
  *out = w.p;
  *out_len = w.len;
  return MEDSHIM_OK;
}

typedef struct rbuf {
  const unsigned char *p;
  size_t len, off;
} rbuf;

static int get_bytes(rbuf *r, void *out, size_t n) {
  if (n > r->len - r->off)
    return -1;
  memcpy(out, r->p + r->off, n);
  r->off += n;
  return 0;
}

static int get_u8(rbuf *r, unsigned *v) {
  unsigned char b;
  if (get_bytes(r, &b, 1))
    return -1;
  *v = b;
  return 0;
}

static int get_u64(rbuf *r, int64_t *v) {
  unsigned char b[8];
  if (get_bytes(r, b, 8))
    return -1;
  *v = (int64_t)jf_get64(b);
  return 0;
}

/* Optional string: *out NULL when absent. max bounds the length. */
static int get_str(rbuf *r, char **out, size_t *n_out, size_t max) {
  unsigned present;
  unsigned char b[4];
  uint32_t n;
  *out = NULL;
  if (get_u8(r, &present) || present > 1)
    return -1;
  if (!present)
    return 0;
  if (get_bytes(r, b, 4))
    return -1;
  n = jf_get32(b);
  if (n > max || n > r->len - r->off)
    return -1;
  *out = malloc((size_t)n + 1);
  if (*out == NULL)
    return -2;
  memcpy(*out, r->p + r->off, n);
  (*out)[n] = '\0';
  r->off += n;
  if (n_out != NULL)
    *n_out = n;
  return 0;
}


static atomic_ulong decodes;

unsigned long medshim__claim_decodes(void) {
  return atomic_load_explicit(&decodes, memory_order_relaxed);
}

int medshim__claim_decode(medshim_claim **out, const unsigned char *buf,
                          size_t len) {
  rbuf r = {buf, len, 0};
  atomic_fetch_add_explicit(&decodes, 1, memory_order_relaxed);
  medshim_claim_fields f = MEDSHIM_CLAIM_FIELDS_INIT;
  char *visit_id = NULL, *inv = NULL, *name = NULL, *idno = NULL, *psn = NULL,
       *cert = NULL, *detail = NULL, *sched = NULL;
  char ins[7] = {0}, trt[7] = {0};
  medshim_claim_window win;
  size_t detail_len = 0;
  unsigned ver, svc;
  int rc = MEDSHIM_ECORRUPT, g;

  if (out == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  *out = NULL;
  if (buf == NULL || get_u8(&r, &ver) ||
      (ver != CODEC_VERSION && ver != CODEC_VERSION_WINDOW))
    goto cleanup;
  if ((g = get_str(&r, &visit_id, NULL, MEDSHIM_VISIT_ID_MAX)) != 0 ||
      visit_id == NULL)
    goto fail_g;
  if (get_u8(&r, &svc) || get_bytes(&r, ins, 6) || get_bytes(&r, trt, 6) ||
      get_u64(&r, &f.visit_time) || get_u64(&r, &f.total_fen) ||
      get_u64(&r, &f.self_paid_fen))
    goto cleanup;
  if ((g = get_str(&r, &inv, NULL, 64)) != 0 ||
      (g = get_str(&r, &name, NULL, 128)) != 0 ||
      (g = get_str(&r, &idno, NULL, 64)) != 0 ||
      (g = get_str(&r, &psn, NULL, 64)) != 0 ||
      (g = get_str(&r, &cert, NULL, 8)) != 0 ||
      (g = get_str(&r, &detail, &detail_len, MEDSHIM_DETAIL_MAX)) != 0)
    goto fail_g;
  if (ver == CODEC_VERSION_WINDOW) {
    unsigned route;
    unsigned char b[4];
    memset(&win, 0, sizeof win);
    win.version = MEDSHIM_CLAIM_WINDOW_VERSION;
    if (get_u8(&r, &route) || get_u64(&r, &win.from) ||
        get_u64(&r, &win.until) ||
        (g = get_str(&r, &sched, NULL, MEDSHIM_SCHEDULE_ID_MAX)) != 0 ||
        sched == NULL || get_bytes(&r, b, 4))
      goto fail_g;
    win.route = (int)route;
    win.schedule_version = jf_get32(b);
    memcpy(win.schedule_id, sched, strlen(sched) + 1);
  }
  if (r.off != r.len)
    goto cleanup;
  /* Lengths given explicitly, so an embedded NUL cannot shorten a field
   * unnoticed: validation then refuses it. */
  if (strlen(visit_id) != strnlen(visit_id, MEDSHIM_VISIT_ID_MAX + 1))
    goto cleanup;
  f.visit_id = visit_id;
  f.service = (medshim_service)svc;
  f.insured_admdvs = ins;
  f.treated_admdvs = trt;
  f.invoice_no = inv;
  f.patient_name = name;
  f.patient_id_no = idno;
  f.patient_psn_no = psn;
  f.patient_cert_type = cert;
  f.detail = detail;
  f.detail_len = detail_len;
  rc = medshim_claim_create(out, &f, NULL);
  if (rc == MEDSHIM_OK && ver == CODEC_VERSION_WINDOW &&
      medshim_claim_set_window(*out, &win) != MEDSHIM_OK) {
    medshim_claim_free(*out);
    *out = NULL;
    rc = MEDSHIM_ECORRUPT;
  }
  if (rc == MEDSHIM_EINVAL)
    rc = MEDSHIM_ECORRUPT;
  goto cleanup;
fail_g:
  rc = g == -2 ? MEDSHIM_ENOMEM : MEDSHIM_ECORRUPT;
cleanup:
  free(visit_id);
  free(inv);
  free(sched);
  if (name != NULL) {
    medshim__wipe(name, strlen(name));
    free(name);
  }
  if (idno != NULL) {
    medshim__wipe(idno, strlen(idno));
    free(idno);
  }
  if (psn != NULL) {
    medshim__wipe(psn, strlen(psn));
    free(psn);
  }
  free(cert);
  if (detail != NULL) {
    medshim__wipe(detail, detail_len);
    free(detail);
  }
  return rc;
}
