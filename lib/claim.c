/* Claims: validation, construction, accessors, service names. */
#include <stdlib.h>
#include <string.h>

#include "claim_internal.h"
#include "errors_internal.h"
#include "memory_internal.h"
#include "versioned_internal.h"

static const char *const service_names[MEDSHIM_SERVICE_COUNT] = {
    NULL,       "outpatient",  "chronic_outpatient", "inpatient",
    "pharmacy", "work_injury", "maternity"};

const char *medshim_service_name(medshim_service service) {
  if ((int)service <= 0 || (int)service >= MEDSHIM_SERVICE_COUNT)
    return NULL;
  return service_names[service];
}

int medshim_service_parse(medshim_service *out, const char *name) {
  if (out != NULL)
    *out = MEDSHIM_SERVICE_NONE;
  if (out == NULL || name == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  for (int i = 1; i < MEDSHIM_SERVICE_COUNT; i++) {
    if (strcmp(name, service_names[i]) == 0) {
      *out = (medshim_service)i;
      return MEDSHIM_OK;
    }
  }
  return MEDSHIM__FAIL(MEDSHIM_EINVAL);
}

int medshim_claim_fields_init(medshim_claim_fields *fields,
                              unsigned int version) {
  return MEDSHIM__VERSIONED_INIT(fields, version,
                                 MEDSHIM_CLAIM_FIELDS_VERSION);
}

/* Printable ASCII without spaces: ids travel in files, URLs and CSV. */
static int printable_id(const char *s, size_t max) {
  size_t n = 0;
  for (; s[n] != '\0'; n++) {
    if (n >= max || (unsigned char)s[n] < 0x21 || (unsigned char)s[n] > 0x7e)
      return 0;
  }
  return n > 0;
}

static int six_digits(const char *s) {
  for (int i = 0; i < 6; i++)
    if (s[i] < '0' || s[i] > '9')
      return 0;
  return s[6] == '\0';
}

/* Valid UTF-8 without control characters, at most max bytes. */
static int clean_utf8(const char *s, size_t max) {
  const unsigned char *p = (const unsigned char *)s;
  size_t n = strlen(s);
  if (n > max)
    return 0;
  for (size_t i = 0; i < n;) {
    unsigned c = p[i];
    size_t extra;
    unsigned cp;
    if (c < 0x20 || c == 0x7f)
      return 0;
    if (c < 0x80) {
      i++;
      continue;
    }
    if ((c & 0xe0) == 0xc0) {
      extra = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return 0;
    }
    for (size_t k = 1; k <= extra; k++) {
      if (i + k >= n || (p[i + k] & 0xc0) != 0x80)
        return 0;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    /* overlong forms, surrogates and values past U+10FFFF */
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
        (extra == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return 0;
    i += extra + 1;
  }
  return 1;
}

#define MONEY_MAX INT64_C(10000000000000) /* 10^13 fen = 10^11 yuan */

static int claim_validate(const medshim_claim_fields *f, medshim_error *err) {
  if (f->visit_id == NULL)
    return medshim__error_set(err, MEDSHIM_EINVAL, "visit_id", "is required");
  if (!printable_id(f->visit_id, MEDSHIM_VISIT_ID_MAX))
    return medshim__error_set(err, MEDSHIM_EINVAL, "visit_id",
                              "must be 1 to 64 printable ASCII characters "
                              "without spaces");
  if (medshim_service_name(f->service) == NULL)
    return medshim__error_set(err, MEDSHIM_EINVAL, "service",
                              f->service == MEDSHIM_SERVICE_NONE
                                  ? "is required"
                                  : "unknown service");
  if (f->insured_admdvs == NULL)
    return medshim__error_set(err, MEDSHIM_EINVAL, "insured_admdvs",
                              "is required");
  if (!six_digits(f->insured_admdvs))
    return medshim__error_set(err, MEDSHIM_EINVAL, "insured_admdvs",
                              "must be 6 digits (administrative division code)");
  if (f->treated_admdvs == NULL)
    return medshim__error_set(err, MEDSHIM_EINVAL, "treated_admdvs",
                              "is required");
  if (!six_digits(f->treated_admdvs))
    return medshim__error_set(err, MEDSHIM_EINVAL, "treated_admdvs",
                              "must be 6 digits (administrative division code)");
  if (f->visit_time <= 0)
    return medshim__error_set(err, MEDSHIM_EINVAL, "visit_time",
                              "is required (an instant after 1970)");
  if (f->total_fen < 0 || f->total_fen > MONEY_MAX)
    return medshim__error_set(err, MEDSHIM_EINVAL, "total_fen",
                              "must be between 0 and 10^13 fen");
  if (f->self_paid_fen < 0 || f->self_paid_fen > f->total_fen)
    return medshim__error_set(err, MEDSHIM_EINVAL, "self_paid_fen",
                              "must be between 0 and total_fen");
  if (f->invoice_no != NULL && !printable_id(f->invoice_no, 64))
    return medshim__error_set(err, MEDSHIM_EINVAL, "invoice_no",
                              "must be 1 to 64 printable ASCII characters");
  /* Never echo personal values: name the field only. */
  if (f->patient_name != NULL && !clean_utf8(f->patient_name, 128))
    return medshim__error_set(err, MEDSHIM_EINVAL, "patient.name",
                              "must be valid UTF-8 without control "
                              "characters, at most 128 bytes");
  if (f->patient_id_no != NULL && !printable_id(f->patient_id_no, 64))
    return medshim__error_set(err, MEDSHIM_EINVAL, "patient.id_no",
                              "must be 1 to 64 printable ASCII characters");
  if (f->patient_psn_no != NULL && !printable_id(f->patient_psn_no, 64))
    return medshim__error_set(err, MEDSHIM_EINVAL, "patient.psn_no",
                              "must be 1 to 64 printable ASCII characters");
  if (f->patient_cert_type != NULL && !printable_id(f->patient_cert_type, 8))
    return medshim__error_set(err, MEDSHIM_EINVAL, "patient.cert_type",
                              "must be 1 to 8 printable ASCII characters");
  if (f->detail != NULL) {
    size_t n = f->detail_len ? f->detail_len : strlen(f->detail);
    if (n == 0)
      return medshim__error_set(err, MEDSHIM_EINVAL, "detail",
                                "must be a JSON value, not empty");
    if (n > MEDSHIM_DETAIL_MAX)
      return medshim__error_set(err, MEDSHIM_EINVAL, "detail",
                                "larger than 1 MiB");
    if (memchr(f->detail, '\0', n) != NULL)
      return medshim__error_set(err, MEDSHIM_EINVAL, "detail",
                                "contains a NUL byte");
  }
  return MEDSHIM_OK;
}

static int dup_opt(char **out, const char *s) {
  *out = NULL;
  if (s == NULL)
    return 0;
  *out = strdup(s);
  return *out == NULL ? -1 : 0;
}

static void wipe_str(char *s) {
  if (s != NULL) {
    medshim__wipe(s, strlen(s));
    free(s);
  }
}

static size_t str_bytes(const char *s) { return s != NULL ? strlen(s) + 1 : 0; }

size_t medshim__claim_footprint(const medshim_claim *c) {
  if (c == NULL)
    return 0;
  return sizeof *c + str_bytes(c->invoice_no) + str_bytes(c->patient_name) +
         str_bytes(c->patient_id_no) + str_bytes(c->patient_psn_no) +
         str_bytes(c->patient_cert_type) + (c->detail ? c->detail_len + 1 : 0);
}

void medshim_claim_free(medshim_claim *c) {
  if (c == NULL)
    return;
  free(c->invoice_no);
  wipe_str(c->patient_name);
  wipe_str(c->patient_id_no);
  wipe_str(c->patient_psn_no);
  free(c->patient_cert_type);
  if (c->detail != NULL) {
    medshim__wipe(c->detail, c->detail_len);
    free(c->detail);
  }
  free(c);
}

int medshim_claim_create(medshim_claim **out, const medshim_claim_fields *f,
                         medshim_error *err) {
  medshim_claim *c = NULL;
  int rc;
  if (out != NULL)
    *out = NULL;
  if (out == NULL || f == NULL)
    return medshim__error_set(err, MEDSHIM_EINVAL, "", "bad arguments");
  if (f->version != MEDSHIM_CLAIM_FIELDS_VERSION)
    return medshim__error_set(err, MEDSHIM_EINVAL, "version",
                              "unknown fields version");
  if ((rc = claim_validate(f, err)) != MEDSHIM_OK)
    return rc;
  c = calloc(1, sizeof *c);
  if (c == NULL)
    goto nomem;
  memcpy(c->visit_id, f->visit_id, strlen(f->visit_id) + 1);
  c->service = f->service;
  memcpy(c->insured_admdvs, f->insured_admdvs, 7);
  memcpy(c->treated_admdvs, f->treated_admdvs, 7);
  c->visit_time = f->visit_time;
  c->total_fen = f->total_fen;
  c->self_paid_fen = f->self_paid_fen;
  if (dup_opt(&c->invoice_no, f->invoice_no) ||
      dup_opt(&c->patient_name, f->patient_name) ||
      dup_opt(&c->patient_id_no, f->patient_id_no) ||
      dup_opt(&c->patient_psn_no, f->patient_psn_no) ||
      dup_opt(&c->patient_cert_type, f->patient_cert_type))
    goto nomem;
  if (f->detail != NULL) {
    c->detail_len = f->detail_len ? f->detail_len : strlen(f->detail);
    c->detail = malloc(c->detail_len + 1);
    if (c->detail == NULL)
      goto nomem;
    memcpy(c->detail, f->detail, c->detail_len);
    c->detail[c->detail_len] = '\0';
  }
  *out = c;
  return MEDSHIM_OK;
nomem:
  medshim_claim_free(c);
  return medshim__error_set(err, MEDSHIM_ENOMEM, "", "out of memory");
}

const char *medshim_claim_visit_id(const medshim_claim *c) {
  return c ? c->visit_id : NULL;
}
medshim_service medshim_claim_service(const medshim_claim *c) {
  return c ? c->service : MEDSHIM_SERVICE_NONE;
}
const char *medshim_claim_insured_admdvs(const medshim_claim *c) {
  return c ? c->insured_admdvs : NULL;
}
const char *medshim_claim_treated_admdvs(const medshim_claim *c) {
  return c ? c->treated_admdvs : NULL;
}
int64_t medshim_claim_visit_time(const medshim_claim *c) {
  return c ? c->visit_time : 0;
}
int64_t medshim_claim_total_fen(const medshim_claim *c) {
  return c ? c->total_fen : 0;
}
int64_t medshim_claim_self_paid_fen(const medshim_claim *c) {
  return c ? c->self_paid_fen : 0;
}
const char *medshim_claim_invoice_no(const medshim_claim *c) {
  return c ? c->invoice_no : NULL;
}
const char *medshim_claim_patient_name(const medshim_claim *c) {
  return c ? c->patient_name : NULL;
}
const char *medshim_claim_patient_id_no(const medshim_claim *c) {
  return c ? c->patient_id_no : NULL;
}
const char *medshim_claim_patient_psn_no(const medshim_claim *c) {
  return c ? c->patient_psn_no : NULL;
}
const char *medshim_claim_patient_cert_type(const medshim_claim *c) {
  return c ? c->patient_cert_type : NULL;
}
const char *medshim_claim_detail(const medshim_claim *c, size_t *len) {
  if (len != NULL)
    *len = c && c->detail ? c->detail_len : 0;
  return c ? c->detail : NULL;
}
