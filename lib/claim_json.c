/* Claims as JSON lines: parsing with jansson (the HIS's `detail` kept
 * byte-exact) and rendering with personal fields masked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "claim_internal.h"
#include "errors_internal.h"
#include "mask_internal.h"
#include "memory_internal.h"
#include "timeutil_internal.h"


/* ---- finding the raw text of "detail" ----------------------------------
 * jansson validates the line and gives the values; it does not give byte
 * offsets, so this scanner walks the (already valid) top-level object only
 * to find where the "detail" member's value starts and ends. */

static size_t skip_ws(const char *s, size_t i, size_t n) {
  while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
    i++;
  return i;
}

/* i at an opening quote: returns the index after the closing quote. */
static size_t skip_string(const char *s, size_t i, size_t n) {
  for (i++; i < n; i++) {
    if (s[i] == '\\')
      i++;
    else if (s[i] == '"')
      return i + 1;
  }
  return n;
}

/* i at the start of a value: returns the index after it. */
static size_t skip_value(const char *s, size_t i, size_t n) {
  int depth = 0;
  if (i < n && s[i] == '"')
    return skip_string(s, i, n);
  for (; i < n; i++) {
    char c = s[i];
    if (c == '"') {
      i = skip_string(s, i, n) - 1;
    } else if (c == '{' || c == '[') {
      depth++;
    } else if (c == '}' || c == ']') {
      if (depth == 0)
        return i;
      if (--depth == 0)
        return i + 1;
    } else if (depth == 0 && (c == ',' || c == ' ' || c == '\t' ||
                              c == '\n' || c == '\r')) {
      return i;
    }
  }
  return n;
}

/* Span of the value of top-level key "detail"; 0 if absent. */
static int find_detail(const char *s, size_t n, size_t *start, size_t *end) {
  size_t i = skip_ws(s, 0, n);
  if (i >= n || s[i] != '{')
    return 0;
  i++;
  for (;;) {
    size_t k0, k1, v0, v1;
    i = skip_ws(s, i, n);
    if (i >= n || s[i] != '"')
      return 0;
    k0 = i;
    k1 = skip_string(s, i, n);
    i = skip_ws(s, k1, n);
    if (i >= n || s[i] != ':')
      return 0;
    v0 = skip_ws(s, i + 1, n);
    v1 = skip_value(s, v0, n);
    /* the key exactly "detail" (escaped spellings are not used by HIS) */
    if (k1 - k0 == 8 && memcmp(s + k0, "\"detail\"", 8) == 0) {
      *start = v0;
      *end = v1;
      return 1;
    }
    i = skip_ws(s, v1, n);
    if (i >= n || s[i] != ',')
      return 0;
    i++;
  }
}

/* ---- error texts without personal data -------------------------------
 * jansson's syntax-error text quotes the input where it failed (`invalid
 * token near '"王小明'`, `invalid Unicode '\uD800\u738B'`), and that input
 * may be a name or an ID number. Its own words are kept; whatever it
 * quotes, except a single syntax character such as '}', is masked. */

#define MASKED "[input not shown]"

static void mask_parser_text(char *out, size_t size, const char *text) {
  const char *near = strstr(text, " near '");
  size_t len = near != NULL ? (size_t)(near - text) : strlen(text), o = 0;
  for (size_t i = 0; i < len && o + 1 < size; i++) {
    const char *close;
    if (text[i] != '\'' ||
        (close = memchr(text + i + 1, '\'', len - i - 1)) == NULL) {
      out[o++] = text[i];
      continue;
    }
    if (close == text + i + 2 && strchr("[]{}:,", text[i + 1]) != NULL) {
      /* '}' and the like: the parser's words, not the input */
      if (o + 3 >= size)
        break;
      memcpy(out + o, text + i, 3);
      o += 3;
    } else {
      if (o + sizeof MASKED >= size)
        break;
      memcpy(out + o, MASKED, sizeof MASKED - 1);
      o += sizeof MASKED - 1;
    }
    i = (size_t)(close - text);
  }
  out[o] = '\0';
  if (near != NULL && o + sizeof " near " MASKED <= size) {
    memcpy(out + o, " near " MASKED, sizeof " near " MASKED);
  }
}

/* A member name is echoed only when it looks like a field name (letters
 * and '_'): a name made of anything else may be misplaced personal data. */
static int field_like(const char *key) {
  size_t n = strlen(key);
  if (n == 0 || n > 40)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!((key[i] >= 'a' && key[i] <= 'z') || (key[i] >= 'A' && key[i] <= 'Z') ||
          key[i] == '_'))
      return 0;
  return 1;
}

static int unknown_field(medshim_error *err, const char *where,
                         const char *key) {
  if (field_like(key))
    return medshim__error_set(err, MEDSHIM_EINVAL, where,
                              "unknown field \"%s\"", key);
  return medshim__error_set(err, MEDSHIM_EINVAL, where,
                            "unknown field (its name is not shown: it is not "
                            "made of letters and '_')");
}

/* ---- parsing --------------------------------------------------------- */

static const char *const known_keys[] = {
    "visit_id",   "service",       "insured_admdvs", "treated_admdvs",
    "visit_time", "total_fen",     "self_paid_fen",  "invoice_no",
    "patient",    "window",        "detail"};

static int get_string(const json_t *obj, const char *key, const char *where,
                      int required, const char **out, medshim_error *err) {
  json_t *v = json_object_get(obj, key);
  *out = NULL;
  if (v == NULL || json_is_null(v)) {
    if (required)
      return medshim__error_set(err, MEDSHIM_EINVAL, where, "is required");
    return MEDSHIM_OK;
  }
  if (!json_is_string(v))
    return medshim__error_set(err, MEDSHIM_EINVAL, where, "must be a string");
  if (strlen(json_string_value(v)) != json_string_length(v))
    return medshim__error_set(err, MEDSHIM_EINVAL, where,
                              "must not contain NUL characters");
  *out = json_string_value(v);
  return MEDSHIM_OK;
}

static int get_fen(const json_t *obj, const char *key, int64_t *out,
                   medshim_error *err) {
  json_t *v = json_object_get(obj, key);
  if (v == NULL || json_is_null(v))
    return medshim__error_set(err, MEDSHIM_EINVAL, key, "is required");
  if (!json_is_integer(v))
    return medshim__error_set(err, MEDSHIM_EINVAL, key,
                              "must be an integer number of fen");
  *out = (int64_t)json_integer_value(v);
  return MEDSHIM_OK;
}

int medshim_claim_parse_json(medshim_claim **out, const char *text, size_t len,
                             medshim_error *err) {
  medshim_claim_fields f = MEDSHIM_CLAIM_FIELDS_INIT;
  json_error_t jerr;
  json_t *root = NULL, *patient;
  const char *key, *svc = NULL, *vt = NULL;
  json_t *value;
  size_t d0 = 0, d1 = 0;
  int rc;

  if (out != NULL)
    *out = NULL;
  if (out == NULL || text == NULL)
    return medshim__error_set(err, MEDSHIM_EINVAL, "", "bad arguments");
  root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL) {
    char masked[sizeof jerr.text];
    int line = jerr.line, column = jerr.column;
    mask_parser_text(masked, sizeof masked, jerr.text);
    medshim__wipe(&jerr, sizeof jerr); /* it quotes the input */
    return medshim__error_set(err, MEDSHIM_EPARSE, "",
                              "not valid JSON at line %d, column %d: %s",
                              line, column, masked);
  }
  if (!json_is_object(root)) {
    rc = medshim__error_set(err, MEDSHIM_EPARSE, "",
                            "a claim must be a JSON object");
    goto cleanup;
  }
  json_object_foreach(root, key, value) {
    size_t k;
    for (k = 0; k < sizeof known_keys / sizeof known_keys[0]; k++)
      if (strcmp(key, known_keys[k]) == 0)
        break;
    if (k == sizeof known_keys / sizeof known_keys[0]) {
      rc = unknown_field(err, "", key);
      goto cleanup;
    }
  }
  if ((rc = get_string(root, "visit_id", "visit_id", 1, &f.visit_id, err)) ||
      (rc = get_string(root, "service", "service", 1, &svc, err)))
    goto cleanup;
  if (medshim_service_parse(&f.service, svc) != MEDSHIM_OK) {
    rc = medshim__error_set(err, MEDSHIM_EINVAL, "service",
                            "unknown service (outpatient, chronic_outpatient, "
                            "inpatient, pharmacy, work_injury, maternity)");
    goto cleanup;
  }
  if ((rc = get_string(root, "insured_admdvs", "insured_admdvs", 1,
                       &f.insured_admdvs, err)) ||
      (rc = get_string(root, "treated_admdvs", "treated_admdvs", 1,
                       &f.treated_admdvs, err)) ||
      (rc = get_string(root, "visit_time", "visit_time", 1, &vt, err)))
    goto cleanup;
  if (medshim__time_parse(&f.visit_time, vt, strlen(vt)) != 0) {
    rc = medshim__error_set(err, MEDSHIM_EINVAL, "visit_time",
                            "must be an ISO 8601 time such as "
                            "2022-02-11T09:30:00+08:00");
    goto cleanup;
  }
  if ((rc = get_fen(root, "total_fen", &f.total_fen, err)) ||
      (rc = get_fen(root, "self_paid_fen", &f.self_paid_fen, err)) ||
      (rc = get_string(root, "invoice_no", "invoice_no", 0, &f.invoice_no,
                       err)))
    goto cleanup;
  patient = json_object_get(root, "patient");
  if (patient != NULL && !json_is_null(patient)) {
    if (!json_is_object(patient)) {
      rc = medshim__error_set(err, MEDSHIM_EINVAL, "patient",
                              "must be an object");
      goto cleanup;
    }
    json_object_foreach(patient, key, value) {
      if (strcmp(key, "name") && strcmp(key, "id_no") &&
          strcmp(key, "psn_no") && strcmp(key, "cert_type")) {
        rc = unknown_field(err, "patient", key);
        goto cleanup;
      }
    }
    if ((rc = get_string(patient, "name", "patient.name", 0, &f.patient_name,
                         err)) ||
        (rc = get_string(patient, "id_no", "patient.id_no", 0,
                         &f.patient_id_no, err)) ||
        (rc = get_string(patient, "psn_no", "patient.psn_no", 0,
                         &f.patient_psn_no, err)) ||
        (rc = get_string(patient, "cert_type", "patient.cert_type", 0,
                         &f.patient_cert_type, err)))
      goto cleanup;
  }
  if (json_object_get(root, "detail") != NULL) {
    if (!find_detail(text, len, &d0, &d1) || d1 <= d0) {
      rc = medshim__error_set(err, MEDSHIM_EINVAL, "detail",
                              "could not be located in the line");
      goto cleanup;
    }
    f.detail = text + d0;
    f.detail_len = d1 - d0;
  }
  rc = medshim_claim_create(out, &f, err);
  if (rc == MEDSHIM_OK &&
      (rc = medshim__claim_window_from_json(
           *out, json_object_get(root, "window"), err)) != MEDSHIM_OK) {
    medshim_claim_free(*out);
    *out = NULL;
  }
cleanup:
  json_decref(root); /* jansson does not wipe; the line's owner does */
  return rc;
}

/* ---- rendering -------------------------------------------------------- */

/* Masked by the rule hosts get from mask.h: names keep their first
 * character, numbers `head` leading and `tail` trailing characters. */
static char *masked(const char *s, size_t head, size_t tail) {
  size_t n = strlen(s) + 1;
  char *out = malloc(n);
  if (out == NULL)
    return NULL;
  if (medshim__mask_keep(out, n, s, head, tail) != MEDSHIM_OK) {
    /* not UTF-8 (the parser refuses that): mask it whole */
    memset(out, '*', n - 1);
    out[n - 1] = '\0';
  }
  return out;
}

static int set_masked(json_t *obj, const char *key, const char *value,
                      size_t head, size_t tail, int reveal) {
  char *m;
  int rc;
  if (value == NULL)
    return 0;
  if (reveal)
    return json_object_set_new(obj, key, json_string(value));
  m = masked(value, head, tail);
  if (m == NULL)
    return -1;
  rc = json_object_set_new(obj, key, json_string(m));
  free(m);
  return rc;
}

int medshim_claim_to_json(char **out, const medshim_claim *c,
                          unsigned int flags) {
  json_t *o = NULL, *p = NULL;
  char vt[MEDSHIM_TIME_TEXT];
  char *head = NULL, *res = NULL;
  int reveal = (flags & MEDSHIM_CLAIM_JSON_REVEAL) != 0, rc = MEDSHIM_ENOMEM;
  size_t hl;

  if (out != NULL)
    *out = NULL;
  if (out == NULL || c == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  medshim__time_format(vt, c->visit_time);
  o = json_object();
  if (o == NULL ||
      json_object_set_new(o, "visit_id", json_string(c->visit_id)) ||
      json_object_set_new(o, "service",
                          json_string(medshim_service_name(c->service))) ||
      json_object_set_new(o, "insured_admdvs", json_string(c->insured_admdvs)) ||
      json_object_set_new(o, "treated_admdvs", json_string(c->treated_admdvs)) ||
      json_object_set_new(o, "visit_time", json_string(vt)) ||
      json_object_set_new(o, "total_fen", json_integer(c->total_fen)) ||
      json_object_set_new(o, "self_paid_fen", json_integer(c->self_paid_fen)))
    goto cleanup;
  if (c->invoice_no != NULL &&
      json_object_set_new(o, "invoice_no", json_string(c->invoice_no)))
    goto cleanup;
  if (c->patient_name || c->patient_id_no || c->patient_psn_no ||
      c->patient_cert_type) {
    p = json_object();
    if (p == NULL ||
        set_masked(p, "name", c->patient_name, 1, 0, reveal) ||
        set_masked(p, "id_no", c->patient_id_no, 3, 2, reveal) ||
        set_masked(p, "psn_no", c->patient_psn_no, 0, 4, reveal) ||
        (c->patient_cert_type != NULL &&
         json_object_set_new(p, "cert_type", json_string(c->patient_cert_type))))
      goto cleanup;
    if (json_object_set(o, "patient", p))
      goto cleanup;
  }
  if (medshim__claim_window_to_json(o, c) != 0)
    goto cleanup;
  /* Insertion order is kept (jansson >= 2.8); detail is spliced in raw. */
  head = json_dumps(o, JSON_COMPACT);
  if (head == NULL)
    goto cleanup;
  hl = strlen(head);
  if (c->detail == NULL) {
    res = head;
    head = NULL;
  } else {
    res = malloc(hl + c->detail_len + 12);
    if (res == NULL)
      goto cleanup;
    memcpy(res, head, hl - 1); /* without the closing brace */
    memcpy(res + hl - 1, ",\"detail\":", 10);
    memcpy(res + hl + 9, c->detail, c->detail_len);
    res[hl + 9 + c->detail_len] = '}';
    res[hl + 10 + c->detail_len] = '\0';
  }
  *out = res;
  res = NULL;
  rc = MEDSHIM_OK;
cleanup:
  if (head != NULL) {
    medshim__wipe(head, strlen(head));
    free(head);
  }
  free(res);
  json_decref(p);
  json_decref(o); /* note: jansson frees the unmasked copies without wiping */
  return rc;
}
