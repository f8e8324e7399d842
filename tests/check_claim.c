/* Claims: JSON parsing and its errors, masking, byte-exact detail, the
 * canonical encoding and its robustness against damaged bytes. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "claim_internal.h"
#include "medshim/medshim.h"
#include "testutil.h"

static const char *GOOD =
    "{\"visit_id\":\"MZ-1\",\"service\":\"outpatient\",\"insured_admdvs\":"
    "\"330102\",\"treated_admdvs\":\"330106\",\"visit_time\":"
    "\"2022-02-11T09:30:00+08:00\",\"total_fen\":23850,\"self_paid_fen\":"
    "23850,\"invoice_no\":\"E-88812\",\"patient\":{\"name\":\"张三丰\","
    "\"id_no\":\"330102198001011234\",\"psn_no\":\"33000011112222\","
    "\"cert_type\":\"02\"},\"detail\": {\"b\" :[1, 2.50,\"\\u4e2d\\\"}\"],"
    "\"a\":  {}} }";

static medshim_claim *parse_ok(const char *text) {
  medshim_claim *c = NULL;
  medshim_error err;
  memset(&err, 0, sizeof err);
  ck_assert_msg(medshim_claim_parse_json(&c, text, strlen(text), &err) ==
                    MEDSHIM_OK,
                "%s: %s", err.where, err.text);
  return c;
}

/* GOOD with one member replaced: key -> raw JSON value (or removed). */
static char *with(const char *key, const char *raw) {
  char *out = malloc(4096);
  char pat[64];
  const char *p, *end;
  snprintf(pat, sizeof pat, "\"%s\":", key);
  p = strstr(GOOD, pat);
  ck_assert_ptr_nonnull(p);
  end = p + strlen(pat);
  if (*end == '{') { /* object value: skip to its closing brace */
    int depth = 0;
    for (;; end++) {
      if (*end == '{')
        depth++;
      if (*end == '}' && --depth == 0) {
        end++;
        break;
      }
    }
  } else {
    while (*end != ',' && *end != '}')
      end++;
  }
  if (raw == NULL) {
    if (*end == ',')
      end++;
    snprintf(out, 4096, "%.*s%s", (int)(p - GOOD), GOOD, end);
  } else {
    snprintf(out, 4096, "%.*s%s%s%s", (int)(p - GOOD), GOOD, pat, raw, end);
  }
  return out;
}

static void expect_error(const char *text, int code, const char *where,
                         const char *fragment) {
  medshim_claim *c = (medshim_claim *)1;
  medshim_error err;
  memset(&err, 0, sizeof err);
  ck_assert_int_eq(medshim_claim_parse_json(&c, text, strlen(text), &err), code);
  ck_assert_ptr_null(c);
  ck_assert_str_eq(err.where, where);
  ck_assert_msg(strstr(err.text, fragment) != NULL, "text '%s' lacks '%s'",
                err.text, fragment);
  /* never the personal values */
  ck_assert_ptr_null(strstr(err.text, "张三丰"));
  ck_assert_ptr_null(strstr(err.text, "330102198001011234"));
  ck_assert_ptr_null(strstr(err.text, "33000011112222"));
}

START_TEST(test_claim_parse_fields) {
  medshim_claim *c = parse_ok(GOOD);
  ck_assert_str_eq(medshim_claim_visit_id(c), "MZ-1");
  ck_assert_int_eq(medshim_claim_service(c), MEDSHIM_SERVICE_OUTPATIENT);
  ck_assert_str_eq(medshim_claim_insured_admdvs(c), "330102");
  ck_assert_str_eq(medshim_claim_treated_admdvs(c), "330106");
  ck_assert_int_eq(medshim_claim_visit_time(c), 1644543000); /* 01:30Z */
  ck_assert_int_eq(medshim_claim_total_fen(c), 23850);
  ck_assert_int_eq(medshim_claim_self_paid_fen(c), 23850);
  ck_assert_str_eq(medshim_claim_invoice_no(c), "E-88812");
  ck_assert_str_eq(medshim_claim_patient_name(c), "张三丰");
  ck_assert_str_eq(medshim_claim_patient_id_no(c), "330102198001011234");
  ck_assert_str_eq(medshim_claim_patient_psn_no(c), "33000011112222");
  ck_assert_str_eq(medshim_claim_patient_cert_type(c), "02");
  medshim_claim_free(c);
}
END_TEST

START_TEST(test_claim_detail_byte_exact) {
  medshim_claim *c = parse_ok(GOOD), *d = NULL;
  const char *want = "{\"b\" :[1, 2.50,\"\\u4e2d\\\"}\"],\"a\":  {}}";
  size_t len;
  const char *detail = medshim_claim_detail(c, &len);
  char *json = NULL;
  unsigned char *enc = NULL;
  size_t enc_len;
  ck_assert_uint_eq(len, strlen(want));
  ck_assert(memcmp(detail, want, len) == 0);
  /* through to_json and back */
  ck_assert_int_eq(medshim_claim_to_json(&json, c, MEDSHIM_CLAIM_JSON_REVEAL),
                   MEDSHIM_OK);
  ck_assert_ptr_nonnull(strstr(json, want));
  d = parse_ok(json);
  detail = medshim_claim_detail(d, &len);
  ck_assert(len == strlen(want) && memcmp(detail, want, len) == 0);
  medshim_claim_free(d);
  /* through the binary encoding */
  ck_assert_int_eq(medshim__claim_encode(&enc, &enc_len, c), MEDSHIM_OK);
  ck_assert_int_eq(medshim__claim_decode(&d, enc, enc_len), MEDSHIM_OK);
  detail = medshim_claim_detail(d, &len);
  ck_assert(len == strlen(want) && memcmp(detail, want, len) == 0);
  medshim_claim_free(d);
  free(enc);
  medshim_free(json);
  medshim_claim_free(c);
}
END_TEST

START_TEST(test_claim_json_round_trip_revealed) {
  medshim_claim *c = parse_ok(GOOD), *d;
  char *a = NULL, *b = NULL;
  ck_assert_int_eq(medshim_claim_to_json(&a, c, MEDSHIM_CLAIM_JSON_REVEAL), 0);
  d = parse_ok(a);
  ck_assert_int_eq(medshim_claim_to_json(&b, d, MEDSHIM_CLAIM_JSON_REVEAL), 0);
  ck_assert_str_eq(a, b);
  /* fixed key order */
  ck_assert_ptr_nonnull(strstr(a, "{\"visit_id\":\"MZ-1\",\"service\":"
                                  "\"outpatient\",\"insured_admdvs\""));
  ck_assert_ptr_nonnull(strstr(a, "\"visit_time\":\"2022-02-11T09:30:00+08:00\""));
  medshim_free(a);
  medshim_free(b);
  medshim_claim_free(c);
  medshim_claim_free(d);
}
END_TEST

START_TEST(test_claim_masking) {
  medshim_claim *c = parse_ok(GOOD);
  char *m = NULL;
  ck_assert_int_eq(medshim_claim_to_json(&m, c, 0), MEDSHIM_OK);
  ck_assert_ptr_null(strstr(m, "张三丰"));
  ck_assert_ptr_null(strstr(m, "330102198001011234"));
  ck_assert_ptr_null(strstr(m, "33000011112222"));
  ck_assert_ptr_nonnull(strstr(m, "\"name\":\"张**\""));
  ck_assert_ptr_nonnull(strstr(m, "\"id_no\":\"330*************34\""));
  ck_assert_ptr_nonnull(strstr(m, "\"psn_no\":\"**********2222\""));
  ck_assert_ptr_nonnull(strstr(m, "\"cert_type\":\"02\""));
  medshim_free(m);
  medshim_claim_free(c);
}
END_TEST

START_TEST(test_claim_errors_name_field) {
  char *t;
  expect_error("not json", MEDSHIM_EPARSE, "", "not valid JSON");
  expect_error("[1,2]", MEDSHIM_EPARSE, "", "object");
#define CASE(key, raw, where, frag)                                            \
  t = with(key, raw);                                                          \
  expect_error(t, MEDSHIM_EINVAL, where, frag);                                \
  free(t);
  CASE("visit_id", NULL, "visit_id", "required");
  CASE("visit_id", "\"has space\"", "visit_id", "printable");
  CASE("visit_id", "\"\"", "visit_id", "printable");
  CASE("visit_id", "12", "visit_id", "string");
  CASE("service", "\"dentist\"", "service", "unknown service");
  CASE("service", NULL, "service", "required");
  CASE("insured_admdvs", "\"33010\"", "insured_admdvs", "6 digits");
  CASE("treated_admdvs", "\"33010a\"", "treated_admdvs", "6 digits");
  CASE("visit_time", "\"2022-02-30T09:00\"", "visit_time", "ISO 8601");
  CASE("visit_time", "1644543000", "visit_time", "string");
  CASE("total_fen", "238.5", "total_fen", "integer number of fen");
  CASE("total_fen", "\"23850\"", "total_fen", "integer number of fen");
  CASE("total_fen", "-1", "total_fen", "between");
  CASE("self_paid_fen", "23851", "self_paid_fen", "total_fen");
  CASE("self_paid_fen", NULL, "self_paid_fen", "required");
  CASE("patient", "{\"name\":\"张\\u0001\"}", "patient.name", "control");
  CASE("patient", "{\"id_no\":\"33 01\"}", "patient.id_no", "printable");
  CASE("patient", "{\"nick\":\"x\"}", "patient", "unknown field");
  CASE("patient", "\"张三丰\"", "patient", "object");
#undef CASE
  expect_error("{\"visit_id\":\"A\",\"colour\":1}", MEDSHIM_EINVAL, "",
               "unknown field \"colour\"");
}
END_TEST

START_TEST(test_claim_limits) {
  char id[80], *text;
  medshim_claim *c = NULL;
  medshim_claim_fields f = MEDSHIM_CLAIM_FIELDS_INIT;
  medshim_error err;
  char *detail = malloc(MEDSHIM_DETAIL_MAX + 2);
  memset(id, 'A', 64);
  id[64] = '\0';
  f.visit_id = id;
  f.service = MEDSHIM_SERVICE_PHARMACY;
  f.insured_admdvs = "640000";
  f.treated_admdvs = "640100";
  f.visit_time = 1637400000;
  f.total_fen = 100;
  f.self_paid_fen = 100;
  ck_assert_int_eq(medshim_claim_create(&c, &f, &err), MEDSHIM_OK);
  medshim_claim_free(c);
  id[64] = 'A';
  id[65] = '\0';
  ck_assert_int_eq(medshim_claim_create(&c, &f, &err), MEDSHIM_EINVAL);
  ck_assert_str_eq(err.where, "visit_id");
  id[64] = '\0';
  /* detail of exactly 1 MiB: a JSON string padded with spaces */
  memset(detail, ' ', MEDSHIM_DETAIL_MAX + 1);
  detail[0] = '"';
  detail[MEDSHIM_DETAIL_MAX - 1] = '"';
  f.detail = detail;
  f.detail_len = MEDSHIM_DETAIL_MAX;
  ck_assert_int_eq(medshim_claim_create(&c, &f, &err), MEDSHIM_OK);
  medshim_claim_free(c);
  f.detail_len = MEDSHIM_DETAIL_MAX + 1;
  ck_assert_int_eq(medshim_claim_create(&c, &f, &err), MEDSHIM_EINVAL);
  ck_assert_str_eq(err.where, "detail");
  free(detail);
  /* total cap */
  f.detail = NULL;
  f.detail_len = 0;
  f.total_fen = INT64_C(10000000000001);
  ck_assert_int_eq(medshim_claim_create(&c, &f, &err), MEDSHIM_EINVAL);
  ck_assert_str_eq(err.where, "total_fen");
  (void)text;
}
END_TEST

START_TEST(test_claim_encoding_deterministic_and_robust) {
  medshim_claim *c = parse_ok(GOOD), *d = NULL, *e = NULL;
  unsigned char *a = NULL, *b = NULL;
  size_t al, bl, ok = 0, bad = 0;
  ck_assert_int_eq(medshim__claim_encode(&a, &al, c), MEDSHIM_OK);
  ck_assert_int_eq(medshim__claim_decode(&d, a, al), MEDSHIM_OK);
  ck_assert_int_eq(medshim__claim_encode(&b, &bl, d), MEDSHIM_OK);
  ck_assert_uint_eq(al, bl);
  ck_assert(memcmp(a, b, al) == 0);
  /* every truncation is refused */
  for (size_t n = 0; n < al; n++) {
    ck_assert_int_eq(medshim__claim_decode(&e, a, n), MEDSHIM_ECORRUPT);
    ck_assert_ptr_null(e);
  }
  /* every single-byte change decodes to a valid claim or is refused */
  for (size_t i = 0; i < al; i++) {
    for (int bit = 0; bit < 8; bit++) {
      a[i] ^= (unsigned char)(1u << bit);
      int rc = medshim__claim_decode(&e, a, al);
      ck_assert(rc == MEDSHIM_OK || rc == MEDSHIM_ECORRUPT);
      if (rc == MEDSHIM_OK) {
        ok++;
        medshim_claim_free(e);
        e = NULL;
      } else {
        bad++;
      }
      a[i] ^= (unsigned char)(1u << bit);
    }
  }
  ck_assert_uint_gt(bad, 0);
  ck_assert_uint_gt(ok, 0); /* e.g. a changed digit of an amount */
  free(a);
  free(b);
  medshim_claim_free(c);
  medshim_claim_free(d);
}
END_TEST

START_TEST(test_claim_null_handling) {
  medshim_claim *c = NULL;
  medshim_claim_fields f;
  medshim_service s;
  char *out = NULL;
  medshim_claim_free(NULL);
  medshim_free(NULL);
  ck_assert_int_eq(medshim_claim_parse_json(NULL, "{}", 2, NULL), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_claim_parse_json(&c, NULL, 2, NULL), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_claim_create(&c, NULL, NULL), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_claim_to_json(&out, NULL, 0), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_claim_fields_init(&f, 1), MEDSHIM_OK);
  ck_assert_int_eq(medshim_claim_fields_init(&f, 9), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_claim_create(&c, &f, NULL), MEDSHIM_EINVAL);
  ck_assert_ptr_null(medshim_claim_visit_id(NULL));
  ck_assert_int_eq(medshim_service_parse(&s, "inpatient"), MEDSHIM_OK);
  ck_assert_int_eq(s, MEDSHIM_SERVICE_INPATIENT);
  ck_assert_int_eq(medshim_service_parse(&s, "INPATIENT"), MEDSHIM_EINVAL);
  ck_assert_str_eq(medshim_service_name(MEDSHIM_SERVICE_WORK_INJURY),
                   "work_injury");
  ck_assert_ptr_null(medshim_service_name(MEDSHIM_SERVICE_NONE));
}
END_TEST

int main(void) {
  Suite *s = suite_create("claim");
  TCase *tc = tcase_create("claim");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_claim_parse_fields);
  tcase_add_test(tc, test_claim_detail_byte_exact);
  tcase_add_test(tc, test_claim_json_round_trip_revealed);
  tcase_add_test(tc, test_claim_masking);
  tcase_add_test(tc, test_claim_errors_name_field);
  tcase_add_test(tc, test_claim_limits);
  tcase_add_test(tc, test_claim_encoding_deterministic_and_robust);
  tcase_add_test(tc, test_claim_null_handling);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
