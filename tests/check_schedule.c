/* Schedules and the decision: the five shipped notices at their
 * transitions, the either-region rule, amendments, signatures, invalid
 * files, the circuit breaker, and random visits against a slow reference. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "medshim/medshim.h"
#include "timeutil_internal.h"
#include "testutil.h"

static const char *FILES[] = {"wuhan-2021", "hangzhou-2022", "ningxia-2021",
                              "beijing-2022", "shanxi-2021"};
#define NFILES 5

static char *example(const char *name) {
  const char *src = getenv("MEDSHIM_SOURCE_DIR");
  char *p = malloc(4096);
  ck_assert_ptr_nonnull(src);
  snprintf(p, 4096, "%s/examples/schedules/%s.json", src, name);
  return p;
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf;
  long n;
  ck_assert_ptr_nonnull(f);
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = malloc((size_t)n + 1);
  ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = '\0';
  fclose(f);
  *len = (size_t)n;
  return buf;
}

static int64_t T(const char *s) {
  int64_t t;
  ck_assert_msg(medshim__time_parse(&t, s, strlen(s)) == 0, "bad time %s", s);
  return t;
}

static medshim_schedule_set *load_all(void) {
  medshim_schedule_set *set = NULL;
  medshim_error err;
  ck_assert_int_eq(medshim_schedule_set_new(&set, NULL, &err), MEDSHIM_OK);
  for (int i = 0; i < NFILES; i++) {
    char *p = example(FILES[i]);
    ck_assert_msg(medshim_schedule_set_load_file(set, p, &err) == MEDSHIM_OK,
                  "%s: %s", err.where, err.text);
    free(p);
  }
  return set;
}

static int svc(const char *name) {
  int s;
  ck_assert_int_eq(medshim_sched_service_parse(&s, name), MEDSHIM_OK);
  return s;
}

static medshim_decision decide(const medshim_schedule_set *set, const char *service,
                               const char *ins, const char *trt, const char *at) {
  medshim_decision d = MEDSHIM_DECISION_INIT;
  ck_assert_int_eq(medshim_schedule_decide(&d, set, svc(service), ins, trt, T(at)),
                   MEDSHIM_OK);
  return d;
}

#define EXPECT(set, service, ins, trt, at, verdict)                            \
  do {                                                                         \
    medshim_decision d_ = decide(set, service, ins, trt, at);                  \
    ck_assert_msg(d_.decision == (verdict), "%s %s %s at %s: got %s", service, \
                  ins, trt ? trt : "-", at, medshim_verdict_name(d_.decision)); \
  } while (0)

START_TEST(test_schedule_hangzhou_transitions) {
  medshim_schedule_set *set = load_all();
  medshim_decision d = MEDSHIM_DECISION_INIT;
  EXPECT(set, "outpatient", "330102", NULL, "2022-02-09T23:59", MEDSHIM_ONLINE);
  EXPECT(set, "outpatient", "330102", NULL, "2022-02-10T00:00", MEDSHIM_DEFER);
  EXPECT(set, "outpatient", "330102", NULL, "2022-02-10T00:01", MEDSHIM_DEFER);
  EXPECT(set, "pharmacy", "330185", NULL, "2022-02-14T23:59", MEDSHIM_DEFER);
  EXPECT(set, "pharmacy", "330185", NULL, "2022-02-15T00:00", MEDSHIM_TRY_ONLINE);
  EXPECT(set, "pharmacy", "330185", NULL, "2022-02-21T23:59", MEDSHIM_TRY_ONLINE);
  EXPECT(set, "pharmacy", "330185", NULL, "2022-02-22T00:00", MEDSHIM_ONLINE);
  EXPECT(set, "enrollment", "330102", NULL, "2022-02-05T23:59", MEDSHIM_ONLINE);
  EXPECT(set, "enrollment", "330102", NULL, "2022-02-06T00:00", MEDSHIM_DEFER);
  EXPECT(set, "online_services", "330102", NULL, "2022-02-01T00:00", MEDSHIM_DEFER);
  /* until, window and replay of an out-patient in the stop */
  d = decide(set, "outpatient", "330102", NULL, "2022-02-11T09:30");
  ck_assert_int_eq(d.until, T("2022-02-15T00:00"));
  ck_assert(d.has_window);
  ck_assert_str_eq(d.window.schedule_id, "hangzhou-2022");
  ck_assert_int_eq(d.window.from, T("2022-02-10T00:00"));
  ck_assert(d.has_replay);
  ck_assert_int_eq(d.replay.route, MEDSHIM_ROUTE_HOSPITAL);
  ck_assert_int_eq(d.replay.from, T("2022-03-15T00:00"));
  ck_assert_int_eq(d.replay.until, T("2022-12-31T24:00"));
  /* in-patients go to the agency */
  d = decide(set, "inpatient", "330102", NULL, "2022-02-11T09:30");
  ck_assert_int_eq(d.replay.route, MEDSHIM_ROUTE_AGENCY);
  ck_assert_int_eq(d.replay.until, T("2023-12-31T24:00"));
  /* advice before the stop: settle before 02-10, self-pay admission */
  d = decide(set, "inpatient", "330102", NULL, "2022-02-09T23:59");
  ck_assert_uint_eq(d.advice_count, 2);
  ck_assert_int_eq(d.advice[0].kind, MEDSHIM_ADVICE_SETTLE_BEFORE);
  ck_assert_int_eq(d.advice[0].at, T("2022-02-10T00:00"));
  ck_assert_int_eq(d.advice[1].kind, MEDSHIM_ADVICE_ADMIT_SELF_PAY);
  d = decide(set, "inpatient", "330102", NULL, "2022-02-10T00:00");
  ck_assert_uint_eq(d.advice_count, 1); /* the settle deadline has passed */
  d = decide(set, "outpatient", "330102", NULL, "2022-02-09T12:00");
  ck_assert_uint_eq(d.advice_count, 0); /* in-patient advice only */
  medshim_schedule_set_free(set);
}
END_TEST

START_TEST(test_schedule_wuhan_ningxia_beijing_shanxi) {
  medshim_schedule_set *set = load_all();
  medshim_decision d = MEDSHIM_DECISION_INIT;
  /* Wuhan: staged by service */
  EXPECT(set, "enrollment", "420102", NULL, "2021-12-14T17:29", MEDSHIM_ONLINE);
  EXPECT(set, "enrollment", "420102", NULL, "2021-12-14T17:30", MEDSHIM_DEFER);
  EXPECT(set, "collection", "420102", NULL, "2021-12-14T23:59", MEDSHIM_ONLINE);
  EXPECT(set, "collection", "420102", NULL, "2021-12-14T24:00", MEDSHIM_DEFER);
  EXPECT(set, "inpatient", "420102", NULL, "2021-12-22T17:59", MEDSHIM_ONLINE);
  EXPECT(set, "inpatient", "420102", NULL, "2021-12-22T18:00", MEDSHIM_DEFER);
  EXPECT(set, "work_injury", "420102", NULL, "2021-12-31T22:59", MEDSHIM_DEFER);
  EXPECT(set, "work_injury", "420102", NULL, "2021-12-31T23:00", MEDSHIM_TRY_ONLINE);
  EXPECT(set, "outpatient", "420102", NULL, "2021-12-31T23:00", MEDSHIM_ONLINE);
  d = decide(set, "inpatient", "420102", NULL, "2021-12-22T16:59");
  ck_assert_uint_eq(d.advice_count, 1);
  ck_assert_int_eq(d.advice[0].at, T("2021-12-22T17:00"));
  d = decide(set, "inpatient", "420102", NULL, "2021-12-22T17:00");
  ck_assert_uint_eq(d.advice_count, 0);
  /* work-injury in-patients have the same 17:00 deadline */
  d = decide(set, "work_injury", "420102", NULL, "2021-12-22T16:59");
  ck_assert_uint_eq(d.advice_count, 1);
  ck_assert_int_eq(d.advice[0].kind, MEDSHIM_ADVICE_SETTLE_BEFORE);
  /* chronic patients: prescriptions before the stop itself */
  d = decide(set, "chronic_outpatient", "420102", NULL, "2021-12-22T17:59");
  ck_assert_uint_eq(d.advice_count, 1);
  ck_assert_int_eq(d.advice[0].at, T("2021-12-22T18:00"));
  /* re-settlement service by service, as the notice says */
  d = decide(set, "chronic_outpatient", "420102", NULL, "2021-12-25T10:00");
  ck_assert(d.has_replay);
  ck_assert_int_eq(d.replay.route, MEDSHIM_ROUTE_HOSPITAL);
  ck_assert_int_eq(d.replay.from, T("2021-12-31T23:00"));
  ck_assert_int_eq(d.replay.until, 0); /* no deadline in the notice */
  d = decide(set, "outpatient", "420102", NULL, "2021-12-25T10:00");
  ck_assert_int_eq(d.decision, MEDSHIM_DEFER);
  ck_assert(!d.has_replay); /* paid in cash for good */
  d = decide(set, "pharmacy", "420102", NULL, "2021-12-25T10:00");
  ck_assert(!d.has_replay);
  d = decide(set, "maternity", "420102", NULL, "2021-12-25T10:00");
  ck_assert_int_eq(d.replay.route, MEDSHIM_ROUTE_AGENCY);
  d = decide(set, "enrollment", "420102", NULL, "2021-12-31T23:00");
  ck_assert_int_eq(d.decision, MEDSHIM_TRY_ONLINE); /* "gradually" */
  /* Ningxia: the whole region, gradual return */
  EXPECT(set, "pharmacy", "640104", NULL, "2021-11-20T23:59", MEDSHIM_ONLINE);
  EXPECT(set, "pharmacy", "640104", NULL, "2021-11-21T00:00", MEDSHIM_DEFER);
  EXPECT(set, "pharmacy", "640522", NULL, "2021-11-30T06:59", MEDSHIM_DEFER);
  EXPECT(set, "pharmacy", "640522", NULL, "2021-11-30T07:00", MEDSHIM_TRY_ONLINE);
  EXPECT(set, "pharmacy", "640522", NULL, "2021-12-05T00:00", MEDSHIM_ONLINE);
  d = decide(set, "inpatient", "640104", NULL, "2021-11-20T17:59");
  ck_assert_uint_eq(d.advice_count, 1);
  ck_assert_int_eq(d.advice[0].at, T("2021-11-20T18:00"));
  /* Beijing: settlement nominally up but may fail */
  EXPECT(set, "outpatient", "110105", NULL, "2022-08-12T18:59", MEDSHIM_ONLINE);
  EXPECT(set, "outpatient", "110105", NULL, "2022-08-12T19:00", MEDSHIM_TRY_ONLINE);
  EXPECT(set, "manual_reimbursement", "110105", NULL, "2022-08-12T19:00", MEDSHIM_DEFER);
  EXPECT(set, "outpatient", "110105", NULL, "2022-08-15T06:00", MEDSHIM_ONLINE);
  /* Shanxi: city by city (illustrative batches) */
  EXPECT(set, "inpatient", "140105", NULL, "2021-07-20T00:00", MEDSHIM_DEFER);
  EXPECT(set, "inpatient", "140905", NULL, "2021-07-20T00:00", MEDSHIM_ONLINE);
  EXPECT(set, "inpatient", "140905", NULL, "2021-11-12T00:00", MEDSHIM_DEFER);
  EXPECT(set, "inpatient", "140105", NULL, "2021-07-27T00:00", MEDSHIM_TRY_ONLINE);
  medshim_schedule_set_free(set);
}
END_TEST

START_TEST(test_schedule_either_region) {
  medshim_schedule_set *set = load_all();
  /* insured in Hangzhou, treated in Beijing, and the reverse (Shanxi rule) */
  EXPECT(set, "outpatient", "330102", "110105", "2022-02-11T10:00", MEDSHIM_DEFER);
  EXPECT(set, "outpatient", "110105", "330106", "2022-02-11T10:00", MEDSHIM_DEFER);
  EXPECT(set, "outpatient", "110105", "110105", "2022-02-11T10:00", MEDSHIM_ONLINE);
  /* Shanxi batch 1 insured, treated in a batch 3 city before its switch */
  EXPECT(set, "outpatient", "140105", "140905", "2021-07-21T10:00", MEDSHIM_DEFER);
  EXPECT(set, "outpatient", "140905", "140105", "2021-07-21T10:00", MEDSHIM_DEFER);
  /* most restrictive wins: Beijing degraded + Hangzhou... none overlap; use
   * Shanxi degraded (batch 1 after switch) with a batch 2 stop */
  EXPECT(set, "outpatient", "140105", "140405", "2021-07-28T10:00", MEDSHIM_TRY_ONLINE);
  EXPECT(set, "outpatient", "140405", "140105", "2021-09-16T10:00", MEDSHIM_DEFER);
  /* until reflects when the combined decision changes */
  {
    medshim_decision d = decide(set, "outpatient", "330102", "110105",
                                "2022-02-11T10:00");
    ck_assert_int_eq(d.until, T("2022-02-15T00:00"));
  }
  medshim_schedule_set_free(set);
}
END_TEST

static const char *NX_V2 =
    "{\"schedule\":\"ningxia-2021\",\"version\":2,\"issued\":\"2021-11-28T12:00\","
    "\"source\":\"amendment: the switch is slower\",\"regions\":[\"640000\"],"
    "\"phases\":[{\"services\":[\"pharmacy\",\"outpatient\"],\"from\":"
    "\"2021-11-21T00:00\",\"until\":\"2021-12-02T07:00\",\"effect\":\"stopped\"}]}";

START_TEST(test_schedule_amendments) {
  medshim_schedule_set *set = NULL;
  medshim_error err;
  char *p = example("ningxia-2021");
  ck_assert_int_eq(medshim_schedule_set_new(&set, NULL, &err), MEDSHIM_OK);
  ck_assert_int_eq(medshim_schedule_set_load_file(set, p, &err), MEDSHIM_OK);
  EXPECT(set, "pharmacy", "640104", NULL, "2021-12-01T10:00", MEDSHIM_TRY_ONLINE);
  ck_assert_int_eq(medshim_schedule_set_load_json(set, "v2", NX_V2,
                                                  strlen(NX_V2), NULL, &err),
                   MEDSHIM_OK);
  ck_assert_uint_eq(medshim_schedule_set_count(set), 1);
  ck_assert_uint_eq(medshim_schedule_set_notice_count(set), 1);
  ck_assert_ptr_nonnull(strstr(medshim_schedule_set_notice(set, 0),
                               "v2 supersedes v1"));
  EXPECT(set, "pharmacy", "640104", NULL, "2021-12-01T10:00", MEDSHIM_DEFER);
  EXPECT(set, "pharmacy", "640104", NULL, "2021-12-02T07:00", MEDSHIM_ONLINE);
  /* the older version loaded afterwards is ignored, and said so */
  ck_assert_int_eq(medshim_schedule_set_load_file(set, p, &err), MEDSHIM_OK);
  ck_assert_uint_eq(medshim_schedule_set_notice_count(set), 2);
  ck_assert_ptr_nonnull(strstr(medshim_schedule_set_notice(set, 1), "ignored"));
  EXPECT(set, "pharmacy", "640104", NULL, "2021-12-01T10:00", MEDSHIM_DEFER);
  medshim_schedule_set_free(set);
  free(p);
}
END_TEST

static char *copy_mem(const char *data, long n) {
  char *out = malloc((size_t)n + 1);
  ck_assert_ptr_nonnull(out);
  memcpy(out, data, (size_t)n);
  out[n] = '\0';
  return out;
}

static void make_keys_alg(const char *alg, char **priv, char **pub) {
  EVP_PKEY *k = strcmp(alg, "EC") == 0
                    ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
                    : EVP_PKEY_Q_keygen(NULL, NULL, alg);
  BIO *a = BIO_new(BIO_s_mem()), *b = BIO_new(BIO_s_mem());
  char *data;
  long n;
  ck_assert_ptr_nonnull(k);
  PEM_write_bio_PrivateKey(a, k, NULL, NULL, 0, NULL, NULL);
  PEM_write_bio_PUBKEY(b, k);
  n = BIO_get_mem_data(a, &data);
  *priv = copy_mem(data, n);
  n = BIO_get_mem_data(b, &data);
  *pub = copy_mem(data, n);
  BIO_free(a);
  BIO_free(b);
  EVP_PKEY_free(k);
}

static void make_keys(char **priv, char **pub) {
  make_keys_alg("ED25519", priv, pub);
}

/* Verify an SM2 signature with OpenSSL directly, the ID given here: what
 * another implementation of GB/T 32918 with that ID would check. */
static int sm2_verify_with_id(const char *json, size_t len, const char *b64,
                              const char *pub_pem, const char *id) {
  BIO *bio = BIO_new_mem_buf(pub_pem, -1);
  EVP_PKEY *k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
  EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  unsigned char sig[80];
  int n = EVP_DecodeBlock(sig, (const unsigned char *)b64, (int)strlen(b64));
  int ok;
  size_t siglen;
  ck_assert_int_gt(n, 0);
  siglen = (size_t)n - (b64[strlen(b64) - 1] == '=') -
           (b64[strlen(b64) - 2] == '=');
  ck_assert_int_eq(EVP_PKEY_CTX_set1_id(pc, id, (int)strlen(id)), 1);
  EVP_MD_CTX_set_pkey_ctx(md, pc);
  ck_assert_int_eq(EVP_DigestVerifyInit_ex(md, NULL, "SM3", NULL, NULL, k, NULL),
                   1);
  ok = EVP_DigestVerify(md, sig, siglen, (const unsigned char *)json, len);
  EVP_MD_CTX_free(md);
  EVP_PKEY_CTX_free(pc);
  EVP_PKEY_free(k);
  BIO_free(bio);
  return ok;
}

START_TEST(test_schedule_sm2_signatures) {
  char *priv, *pub, *priv2, *pub2, *epriv, *epub, *ecpriv, *ecpub;
  char *sig = NULL, *esig = NULL, *json, *p = example("hangzhou-2022");
  size_t len;
  medshim_schedule_options o = MEDSHIM_SCHEDULE_OPTIONS_INIT;
  medshim_schedule_set *set = NULL;
  medshim_error err;
  make_keys_alg("SM2", &priv, &pub);
  make_keys_alg("SM2", &priv2, &pub2);
  make_keys_alg("ED25519", &epriv, &epub);
  make_keys_alg("EC", &ecpriv, &ecpub);
  json = slurp(p, &len);
  ck_assert_int_eq(medshim_schedule_sign(&sig, json, len, priv), MEDSHIM_OK);
  ck_assert_uint_le(strlen(sig), 96);
  ck_assert_int_eq(medshim_schedule_verify(json, len, sig, pub), MEDSHIM_OK);
  /* the standard's default ID, set explicitly: another ID does not verify */
  ck_assert_int_eq(sm2_verify_with_id(json, len, sig, pub, "1234567812345678"),
                   1);
  ck_assert_int_ne(sm2_verify_with_id(json, len, sig, pub, "1234567812345679"),
                   1);
  ck_assert_int_eq(medshim_schedule_verify(json, len, sig, pub2),
                   MEDSHIM_ESIGNATURE);
  /* a tampered signature: each of a few characters changed */
  for (size_t i = 4; i < strlen(sig) - 4; i += 9) {
    char *t = strdup(sig);
    t[i] = t[i] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(medshim_schedule_verify(json, len, t, pub),
                     MEDSHIM_ESIGNATURE);
    free(t);
  }
  ck_assert_int_eq(medshim_schedule_verify(json, len, "", pub),
                   MEDSHIM_ESIGNATURE);
  /* tampered data */
  json[10] ^= 1;
  ck_assert_int_eq(medshim_schedule_verify(json, len, sig, pub),
                   MEDSHIM_ESIGNATURE);
  json[10] ^= 1;
  /* the algorithm is the key's: an Ed25519 signature under an SM2 key and
   * the reverse do not verify */
  ck_assert_int_eq(medshim_schedule_sign(&esig, json, len, epriv), MEDSHIM_OK);
  ck_assert_int_eq(medshim_schedule_verify(json, len, esig, pub),
                   MEDSHIM_ESIGNATURE);
  ck_assert_int_eq(medshim_schedule_verify(json, len, sig, epub),
                   MEDSHIM_ESIGNATURE);
  ck_assert_int_eq(medshim_schedule_verify(json, len, esig, epub), MEDSHIM_OK);
  /* EC keys on other curves are not SM2 */
  medshim_free(esig);
  ck_assert_int_eq(medshim_schedule_sign(&esig, json, len, ecpriv),
                   MEDSHIM_EKEY);
  ck_assert_int_eq(medshim_schedule_verify(json, len, sig, ecpub), MEDSHIM_EKEY);
  /* a set that requires signatures, with an SM2 key */
  o.public_key_pem = pub;
  o.require_signed = 1;
  ck_assert_int_eq(medshim_schedule_set_new(&set, &o, &err), MEDSHIM_OK);
  ck_assert_int_eq(medshim_schedule_set_load_json(set, "f", json, len, NULL, &err),
                   MEDSHIM_ESIGNATURE);
  ck_assert_int_eq(medshim_schedule_set_load_json(set, "f", json, len, sig, &err),
                   MEDSHIM_OK);
  EXPECT(set, "outpatient", "330102", NULL, "2022-02-11T10:00", MEDSHIM_DEFER);
  medshim_schedule_set_free(set);
  medshim_free(sig);
  free(json);
  free(p);
  free(priv);
  free(pub);
  free(priv2);
  free(pub2);
  free(epriv);
  free(epub);
  free(ecpriv);
  free(ecpub);
}
END_TEST

START_TEST(test_schedule_signatures) {
  char *priv, *pub, *priv2, *pub2, *sig = NULL, *json, *p = example("hangzhou-2022");
  size_t len;
  medshim_schedule_options o = MEDSHIM_SCHEDULE_OPTIONS_INIT;
  medshim_schedule_set *set = NULL;
  medshim_error err;
  make_keys(&priv, &pub);
  make_keys(&priv2, &pub2);
  json = slurp(p, &len);
  ck_assert_int_eq(medshim_schedule_sign(&sig, json, len, priv), MEDSHIM_OK);
  ck_assert_int_eq(medshim_schedule_verify(json, len, sig, pub), MEDSHIM_OK);
  ck_assert_int_eq(medshim_schedule_verify(json, len, sig, pub2),
                   MEDSHIM_ESIGNATURE);
  o.public_key_pem = pub;
  o.require_signed = 1;
  ck_assert_int_eq(medshim_schedule_set_new(&set, &o, &err), MEDSHIM_OK);
  /* unsigned, when signatures are required */
  ck_assert_int_eq(medshim_schedule_set_load_json(set, "f", json, len, NULL, &err),
                   MEDSHIM_ESIGNATURE);
  ck_assert_ptr_nonnull(strstr(err.text, "unsigned"));
  /* tampered: one date moved */
  {
    char *t = strdup(json), *at = strstr(t, "2022-02-10T00:00");
    ck_assert_ptr_nonnull(at);
    at[9] = '2';
    ck_assert_int_eq(medshim_schedule_set_load_json(set, "f", t, len, sig, &err),
                     MEDSHIM_ESIGNATURE);
    free(t);
  }
  /* signed with another key */
  {
    char *other = NULL;
    ck_assert_int_eq(medshim_schedule_sign(&other, json, len, priv2), MEDSHIM_OK);
    ck_assert_int_eq(medshim_schedule_set_load_json(set, "f", json, len, other,
                                                    &err),
                     MEDSHIM_ESIGNATURE);
    medshim_free(other);
  }
  ck_assert_uint_eq(medshim_schedule_set_count(set), 0);
  ck_assert_int_eq(medshim_schedule_set_load_json(set, "f", json, len, sig, &err),
                   MEDSHIM_OK);
  EXPECT(set, "outpatient", "330102", NULL, "2022-02-11T10:00", MEDSHIM_DEFER);
  medshim_schedule_set_free(set);
  /* a bad public key is refused up front */
  o.public_key_pem = "not a key";
  ck_assert_int_eq(medshim_schedule_set_new(&set, &o, &err), MEDSHIM_EKEY);
  medshim_free(sig);
  ck_assert_int_eq(medshim_schedule_sign(&sig, json, len, "junk"), MEDSHIM_EKEY);
  ck_assert_ptr_null(sig);
  free(json);
  free(p);
  free(priv);
  free(pub);
  free(priv2);
  free(pub2);
}
END_TEST

static void expect_invalid(const char *json, int code, const char *where,
                           const char *fragment) {
  medshim_schedule_set *set = NULL;
  medshim_error err;
  memset(&err, 0, sizeof err);
  ck_assert_int_eq(medshim_schedule_set_new(&set, NULL, &err), MEDSHIM_OK);
  ck_assert_int_eq(medshim_schedule_set_load_json(set, "x", json, strlen(json),
                                                  NULL, &err),
                   code);
  ck_assert_msg(strcmp(err.where, where) == 0, "where '%s' != '%s' (%s)",
                err.where, where, err.text);
  ck_assert_msg(strstr(err.text, fragment) != NULL, "'%s' lacks '%s'", err.text,
                fragment);
  ck_assert_uint_eq(medshim_schedule_set_count(set), 0);
  medshim_schedule_set_free(set);
}

#define HEAD "{\"schedule\":\"x\",\"version\":1,\"issued\":\"2022-01-01\",\"source\":\"s\","
#define PH(body) HEAD "\"regions\":[\"330100\"],\"phases\":[" body "]}"
#define OKPH "{\"services\":[\"outpatient\"],\"from\":\"2022-02-10\",\"until\":\"2022-02-15\",\"effect\":\"stopped\"}"

START_TEST(test_schedule_invalid_files) {
  expect_invalid("{", MEDSHIM_EPARSE, "", "not valid JSON");
  expect_invalid("[]", MEDSHIM_EPARSE, "", "object");
  expect_invalid("{\"version\":1}", MEDSHIM_EINVAL, "schedule", "required");
  expect_invalid(HEAD "\"regions\":[\"330100\"]}", MEDSHIM_EINVAL, "phases",
                 "required");
  expect_invalid("{\"schedule\":\"x\",\"version\":0}", MEDSHIM_EINVAL, "version",
                 "positive");
  expect_invalid(HEAD "\"regions\":[\"33010\"],\"phases\":[" OKPH "]}",
                 MEDSHIM_EINVAL, "regions[0]", "6-digit");
  expect_invalid(HEAD "\"regions\":[\"000000\"],\"phases\":[" OKPH "]}",
                 MEDSHIM_EINVAL, "regions[0]", "6-digit");
  expect_invalid(PH("{\"services\":[\"outpatient\"],\"from\":\"2022-02-15\","
                    "\"until\":\"2022-02-10\",\"effect\":\"stopped\"}"),
                 MEDSHIM_EINVAL, "phases[0].until", "after from");
  expect_invalid(PH("{\"services\":[\"outpatient\"],\"from\":\"2022-02-15\","
                    "\"until\":\"2022-02-15\",\"effect\":\"stopped\"}"),
                 MEDSHIM_EINVAL, "phases[0].until", "after from");
  expect_invalid(PH(OKPH ",{\"services\":[\"dentistry\"],\"from\":\"2022-02-10\","
                         "\"until\":\"2022-02-15\",\"effect\":\"stopped\"}"),
                 MEDSHIM_EINVAL, "phases[1].services[0]", "unknown service");
  expect_invalid(PH("{\"services\":[\"outpatient\"],\"from\":\"2022-02-30\","
                    "\"until\":\"2022-03-15\",\"effect\":\"stopped\"}"),
                 MEDSHIM_EINVAL, "phases[0].from", "not a time");
  expect_invalid(PH("{\"services\":[\"outpatient\"],\"until\":\"2022-03-15\","
                    "\"effect\":\"stopped\"}"),
                 MEDSHIM_EINVAL, "phases[0].from", "required");
  expect_invalid(PH("{\"services\":[\"outpatient\"],\"from\":\"2022-02-10\","
                    "\"until\":\"2022-03-15\",\"effect\":\"closed\"}"),
                 MEDSHIM_EINVAL, "phases[0].effect", "stopped");
  expect_invalid(PH(OKPH ",{\"services\":[\"outpatient\",\"pharmacy\"],\"from\":"
                         "\"2022-02-14\",\"until\":\"2022-02-20\",\"effect\":"
                         "\"degraded\"}"),
                 MEDSHIM_EINVAL, "phases[1]", "overlaps phases[0]");
  expect_invalid(PH("{\"services\":\"outpatient\",\"from\":\"2022-02-10\","
                    "\"until\":\"2022-03-15\",\"effect\":\"stopped\"}"),
                 MEDSHIM_EINVAL, "phases[0].services", "array");
  expect_invalid(PH("{\"services\":[\"outpatient\"],\"from\":\"2022-02-10\","
                    "\"until\":\"2022-03-15\",\"effect\":\"stopped\",\"colour\":1}"),
                 MEDSHIM_EINVAL, "phases[0]", "unknown member");
  expect_invalid(HEAD "\"regions\":[\"330100\"],\"phases\":[" OKPH "],"
                      "\"resettlement\":[{\"services\":[\"outpatient\"],"
                      "\"route\":\"post\",\"from\":\"2022-03-15\"}]}",
                 MEDSHIM_EINVAL, "resettlement[0].route", "hospital");
  expect_invalid(HEAD "\"regions\":[\"330100\"],\"phases\":[" OKPH "],"
                      "\"advice\":[{\"kind\":\"settle_before\",\"services\":"
                      "[\"inpatient\"]}]}",
                 MEDSHIM_EINVAL, "advice[0].at", "required");
  /* a deadline before the notice was issued is never shown */
  expect_invalid(HEAD "\"regions\":[\"330100\"],\"phases\":[" OKPH "],"
                      "\"advice\":[{\"kind\":\"settle_before\",\"services\":"
                      "[\"inpatient\"],\"at\":\"2021-12-31\"}]}",
                 MEDSHIM_EINVAL, "advice[0].at", "after the schedule's issued");
  expect_invalid(HEAD "\"regions\":[\"330100\"],\"phases\":[" OKPH "],"
                      "\"advice\":[{\"kind\":\"admit_self_pay\",\"services\":"
                      "[\"inpatient\"],\"from\":\"2022-02-15\",\"until\":"
                      "\"2022-02-01\"}]}",
                 MEDSHIM_EINVAL, "advice[0].until", "after from");
  expect_invalid(HEAD "\"regions\":[\"330100\"],\"phases\":[" OKPH "],"
                      "\"advice\":[{\"kind\":\"call_ahead\",\"services\":"
                      "[\"inpatient\"]}]}",
                 MEDSHIM_EINVAL, "advice[0].kind", "settle_before");
  /* re-settlement windows */
  expect_invalid(HEAD "\"regions\":[\"330100\"],\"phases\":[" OKPH "],"
                      "\"resettlement\":[{\"services\":[\"outpatient\"],"
                      "\"route\":\"hospital\",\"from\":\"2022-03-15\","
                      "\"until\":\"2022-03-01\"}]}",
                 MEDSHIM_EINVAL, "resettlement[0].until", "after from");
  expect_invalid(HEAD "\"regions\":[\"330100\"],\"phases\":[" OKPH "],"
                      "\"resettlement\":[{\"services\":[\"outpatient\"],"
                      "\"route\":\"hospital\"}]}",
                 MEDSHIM_EINVAL, "resettlement[0].from", "required");
  expect_invalid(HEAD "\"regions\":[\"330100\"],\"phases\":[" OKPH "],"
                      "\"resettlement\":[{\"services\":[\"outpatient\"],"
                      "\"route\":\"hospital\",\"from\":\"2022-03-15\","
                      "\"visits_from\":\"2022-02-15\",\"visits_until\":"
                      "\"2022-02-10\"}]}",
                 MEDSHIM_EINVAL, "resettlement[0].visits_until", "after visits_from");
  /* wrong types and missing members */
  expect_invalid("{\"schedule\":7,\"version\":1}", MEDSHIM_EINVAL, "schedule",
                 "string");
  expect_invalid("{\"schedule\":\"x\",\"version\":\"2\"}", MEDSHIM_EINVAL,
                 "version", "positive integer");
  expect_invalid("{\"schedule\":\"x\",\"version\":1,\"source\":\"s\"}",
                 MEDSHIM_EINVAL, "issued", "required");
  expect_invalid("{\"schedule\":\"x\",\"version\":1,\"issued\":20220101,"
                 "\"source\":\"s\"}",
                 MEDSHIM_EINVAL, "issued", "not a time");
  expect_invalid("{\"schedule\":\"x\",\"version\":1,\"issued\":\"2022-01-01\","
                 "\"source\":[]}",
                 MEDSHIM_EINVAL, "source", "string");
  expect_invalid(HEAD "\"phases\":[" OKPH "]}", MEDSHIM_EINVAL, "regions",
                 "required");
  expect_invalid(HEAD "\"regions\":\"330100\",\"phases\":[" OKPH "]}",
                 MEDSHIM_EINVAL, "regions", "non-empty array");
  expect_invalid(HEAD "\"regions\":[330100],\"phases\":[" OKPH "]}",
                 MEDSHIM_EINVAL, "regions[0]", "6-digit");
  expect_invalid(HEAD "\"regions\":[\"330100\"],\"phases\":[]}",
                 MEDSHIM_EINVAL, "phases", "non-empty");
  expect_invalid(HEAD "\"regions\":[\"330100\"],\"phases\":[7]}",
                 MEDSHIM_EINVAL, "phases[0]", "object");
  expect_invalid(PH("{\"services\":[\"outpatient\"],\"from\":\"2022-02-10\","
                    "\"until\":\"2022-03-15\",\"effect\":\"stopped\","
                    "\"note\":5}"),
                 MEDSHIM_EINVAL, "phases[0].note", "string");
  expect_invalid(PH("{\"services\":[\"outpatient\"],\"from\":\"2022-02-10\","
                    "\"until\":\"2022-03-15\"}"),
                 MEDSHIM_EINVAL, "phases[0].effect", "required");
  expect_invalid(PH("{\"services\":[],\"from\":\"2022-02-10\","
                    "\"until\":\"2022-03-15\",\"effect\":\"stopped\"}"),
                 MEDSHIM_EINVAL, "phases[0].services", "non-empty");
  expect_invalid(PH("{\"services\":[\"outpatient\"],\"from\":\"2022-02-10T25:00\","
                    "\"until\":\"2022-03-15\",\"effect\":\"stopped\"}"),
                 MEDSHIM_EINVAL, "phases[0].from", "not a time");
  expect_invalid(HEAD "\"regions\":[\"330100\"],\"phases\":[" OKPH "],"
                      "\"illustrative\":\"yes\"}",
                 MEDSHIM_EINVAL, "illustrative", "true or false");
  expect_invalid(HEAD "\"regions\":[\"330100\"],\"phases\":[" OKPH "],"
                      "\"notes\":[\"a\"]}",
                 MEDSHIM_EINVAL, "notes", "string");
  expect_invalid(HEAD "\"regions\":[\"330100\"],\"phases\":[" OKPH "],\"x\":1}",
                 MEDSHIM_EINVAL, "(top)", "unknown member");
  expect_invalid("{\"schedule\":\"x\",\"schedule\":\"y\"}", MEDSHIM_EPARSE, "",
                 "duplicate");
  /* a phase's regions must lie inside the schedule's */
  expect_invalid(PH("{\"services\":[\"outpatient\"],\"from\":\"2022-02-10\","
                    "\"until\":\"2022-03-15\",\"effect\":\"stopped\","
                    "\"regions\":[\"420100\"]}"),
                 MEDSHIM_EINVAL, "phases[0].regions[0]", "not inside");
  expect_invalid(PH("{\"services\":[\"outpatient\"],\"from\":\"2022-02-10\","
                    "\"until\":\"2022-03-15\",\"effect\":\"stopped\","
                    "\"regions\":[\"3301\"]}"),
                 MEDSHIM_EINVAL, "phases[0].regions[0]", "6-digit");
  /* overlapping contradictory phases in different cities are fine, in
   * the same city they are not */
  {
    static const char two_cities[] =
        HEAD "\"regions\":[\"140000\"],\"phases\":["
        "{\"services\":[\"outpatient\"],\"from\":\"2021-07-20\",\"until\":"
        "\"2021-07-27\",\"effect\":\"stopped\",\"regions\":[\"140100\"]},"
        "{\"services\":[\"outpatient\"],\"from\":\"2021-07-20\",\"until\":"
        "\"2021-07-27\",\"effect\":\"degraded\",\"regions\":[\"140200\"]}]}";
    medshim_schedule_set *set = NULL;
    ck_assert_int_eq(medshim_schedule_set_new(&set, NULL, NULL), MEDSHIM_OK);
    ck_assert_int_eq(medshim_schedule_set_load_json(set, "x", two_cities,
                                                    strlen(two_cities), NULL, NULL),
                     MEDSHIM_OK);
    medshim_schedule_set_free(set);
  }
  expect_invalid(HEAD "\"regions\":[\"140000\"],\"phases\":["
                 "{\"services\":[\"outpatient\"],\"from\":\"2021-07-20\",\"until\":"
                 "\"2021-07-27\",\"effect\":\"stopped\",\"regions\":[\"140100\"]},"
                 "{\"services\":[\"outpatient\"],\"from\":\"2021-07-26\",\"until\":"
                 "\"2021-08-27\",\"effect\":\"degraded\"}]}",
                 MEDSHIM_EINVAL, "phases[1]", "overlaps phases[0]");
}
END_TEST

START_TEST(test_schedule_route_none_and_unchecked_signature) {
  static const char cash[] =
      HEAD "\"regions\":[\"420100\"],\"phases\":[" OKPH "],"
      "\"resettlement\":[{\"services\":[\"outpatient\"],\"route\":\"none\"}]}";
  medshim_schedule_options o = MEDSHIM_SCHEDULE_OPTIONS_INIT;
  medshim_schedule_set *set = NULL;
  medshim_error err;
  medshim_decision d = MEDSHIM_DECISION_INIT;
  ck_assert_int_eq(medshim_schedule_set_new(&set, NULL, &err), MEDSHIM_OK);
  /* a signature nobody can check: loaded as unsigned, and said so */
  ck_assert_int_eq(medshim_schedule_set_load_json(set, "cash.json", cash,
                                                  strlen(cash), "AAAA", &err),
                   MEDSHIM_OK);
  ck_assert_uint_eq(medshim_schedule_set_notice_count(set), 1);
  ck_assert_ptr_nonnull(strstr(medshim_schedule_set_notice(set, 0),
                               "signature not checked"));
  ck_assert_ptr_null(medshim_schedule_set_notice(set, 1));
  ck_assert_int_eq(medshim_schedule_decide(&d, set, MEDSHIM_SERVICE_OUTPATIENT,
                                           "420105", NULL, T("2022-02-11")),
                   MEDSHIM_OK);
  ck_assert_int_eq(d.decision, MEDSHIM_DEFER);
  ck_assert(!d.has_replay);
  medshim_schedule_set_free(set);
  /* requiring signatures with no key to check them is refused */
  o.require_signed = 1;
  ck_assert_int_eq(medshim_schedule_set_new(&set, &o, &err), MEDSHIM_EINVAL);
  ck_assert_ptr_null(set);
  ck_assert_str_eq(err.where, "require_signed");
  o.version = 99;
  ck_assert_int_eq(medshim_schedule_set_new(&set, &o, &err), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_schedule_options_init(&o, 99), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_schedule_options_init(&o, MEDSHIM_SCHEDULE_OPTIONS_VERSION),
                   MEDSHIM_OK);
  ck_assert_int_eq(o.require_signed, 0);
}
END_TEST

/* A schedule after 2038-01-19 (a 32-bit time_t's end) and one in 2110
 * (past an unsigned one's): decided at and around its instants, with its
 * window and replay as given. */
START_TEST(test_schedule_after_2038) {
  static const char *const late[] = {
      "{\"schedule\":\"late\",\"version\":4000000000,\"issued\":\"2039-12-01\","
      "\"source\":\"s\",\"regions\":[\"330100\"],\"phases\":[{\"services\":"
      "[\"outpatient\"],\"from\":\"2040-02-10\",\"until\":\"2040-02-15\","
      "\"effect\":\"stopped\"}],\"resettlement\":[{\"services\":[\"outpatient\"],"
      "\"route\":\"hospital\",\"from\":\"2040-03-15\",\"until\":\"2040-12-31T24:00\"}]}",
      "{\"schedule\":\"later\",\"version\":1,\"issued\":\"2109-12-01\","
      "\"source\":\"s\",\"regions\":[\"330100\"],\"phases\":[{\"services\":"
      "[\"outpatient\"],\"from\":\"2110-02-10\",\"until\":\"2110-02-15\","
      "\"effect\":\"stopped\"}],\"resettlement\":[{\"services\":[\"outpatient\"],"
      "\"route\":\"hospital\",\"from\":\"2110-03-15\",\"until\":\"2110-12-31T24:00\"}]}"};
  static const char *const year[] = {"2040", "2110"};
  for (size_t i = 0; i < 2; i++) {
    medshim_schedule_set *set = NULL;
    medshim_error err;
    medshim_decision d;
    char at[32];
    ck_assert_int_eq(medshim_schedule_set_new(&set, NULL, &err), MEDSHIM_OK);
    ck_assert_msg(medshim_schedule_set_load_json(set, "late.json", late[i],
                                                 strlen(late[i]), NULL, &err) ==
                      MEDSHIM_OK,
                  "%s: %s", err.where, err.text);
    snprintf(at, sizeof at, "%s-02-09T23:59", year[i]);
    ck_assert_int_eq(medshim_schedule_decide(&d, set, MEDSHIM_SERVICE_OUTPATIENT,
                                             "330102", NULL, T(at)), MEDSHIM_OK);
    ck_assert_int_eq(d.decision, MEDSHIM_ONLINE);
    snprintf(at, sizeof at, "%s-02-10", year[i]);
    ck_assert_int_eq(medshim_schedule_decide(&d, set, MEDSHIM_SERVICE_OUTPATIENT,
                                             "330102", NULL, T(at)), MEDSHIM_OK);
    ck_assert_int_eq(d.decision, MEDSHIM_DEFER);
    ck_assert(d.has_window);
    ck_assert_uint_eq(d.window.version, i == 0 ? 4000000000u : 1u);
    ck_assert_int_eq(d.window.from, T(at));
    snprintf(at, sizeof at, "%s-02-15", year[i]);
    ck_assert_int_eq(d.until, T(at));
    ck_assert(d.has_replay);
    snprintf(at, sizeof at, "%s-03-15", year[i]);
    ck_assert_int_eq(d.replay.from, T(at));
    snprintf(at, sizeof at, "%d-01-01", atoi(year[i]) + 1);
    ck_assert_int_eq(d.replay.until, T(at));
    medshim_schedule_set_free(set);
  }
}
END_TEST

START_TEST(test_schedule_circuit_breaker) {
  medshim_schedule_options o = MEDSHIM_SCHEDULE_OPTIONS_INIT;
  medshim_schedule_set *set = NULL;
  medshim_error err;
  int64_t t0 = T("2023-03-01T09:00");
  medshim_decision d = MEDSHIM_DECISION_INIT;
  o.breaker_threshold = 3;
  o.breaker_open_seconds = 60;
  ck_assert_int_eq(medshim_schedule_set_new(&set, &o, &err), MEDSHIM_OK);
#define AT(off, want)                                                          \
  ck_assert_int_eq(medshim_schedule_decide(&d, set, MEDSHIM_SERVICE_OUTPATIENT, \
                                           "330102", "330106", t0 + (off)),    \
                   MEDSHIM_OK);                                                \
  ck_assert_int_eq(d.decision, (want))
#define STATE(off) medshim_schedule_breaker_state(set, "330106", t0 + (off))
  AT(0, MEDSHIM_ONLINE);
  medshim_schedule_report_outcome(set, "330106", 0, t0);
  medshim_schedule_report_outcome(set, "330106", 0, t0 + 1);
  AT(2, MEDSHIM_ONLINE); /* two failures: still closed */
  ck_assert_int_eq(STATE(2), MEDSHIM_BREAKER_CLOSED);
  medshim_schedule_report_outcome(set, "330106", 1, t0 + 2);
  medshim_schedule_report_outcome(set, "330106", 0, t0 + 3);
  medshim_schedule_report_outcome(set, "330106", 0, t0 + 4);
  AT(5, MEDSHIM_ONLINE); /* a success reset the run */
  /* closed -> open on the third consecutive failure */
  medshim_schedule_report_outcome(set, "330106", 0, t0 + 5);
  ck_assert_int_eq(STATE(5), MEDSHIM_BREAKER_OPEN);
  AT(6, MEDSHIM_DEFER);
  ck_assert_ptr_nonnull(strstr(d.reason, "circuit breaker open"));
  ck_assert_int_eq(d.until, t0 + 65); /* when a probe becomes possible */
  ck_assert(!d.has_window);
  ck_assert(d.has_replay); /* unplanned: the hospital, as soon as it can */
  ck_assert_int_eq(d.replay.route, MEDSHIM_ROUTE_HOSPITAL);
  ck_assert_int_eq(d.replay.from, t0 + 6);
  /* the insured region alone is enough (either-region rule) */
  ck_assert_int_eq(medshim_schedule_decide(&d, set, MEDSHIM_SERVICE_PHARMACY,
                                           "330106", "110105", t0 + 6),
                   MEDSHIM_OK);
  ck_assert_int_eq(d.decision, MEDSHIM_DEFER);
  /* agency services and other regions are not affected */
  ck_assert_int_eq(medshim_schedule_decide(&d, set, MEDSHIM_SCHED_ENROLLMENT,
                                           "330106", NULL, t0 + 6),
                   MEDSHIM_OK);
  ck_assert_int_eq(d.decision, MEDSHIM_ONLINE);
  ck_assert_int_eq(medshim_schedule_breaker_state(set, "420102", t0 + 6),
                   MEDSHIM_BREAKER_CLOSED);
  /* failures of attempts already under way change nothing while open */
  medshim_schedule_report_outcome(set, "330106", 0, t0 + 30);
  AT(64, MEDSHIM_DEFER);
  /* open -> half-open: exactly one probe; the others keep deferring */
  ck_assert_int_eq(STATE(65), MEDSHIM_BREAKER_HALF_OPEN);
  AT(65, MEDSHIM_TRY_ONLINE);
  ck_assert_ptr_nonnull(strstr(d.reason, "probe"));
  AT(65, MEDSHIM_DEFER);
  ck_assert_ptr_nonnull(strstr(d.reason, "probing"));
  AT(70, MEDSHIM_DEFER);
  /* half-open -> open when the probe fails */
  medshim_schedule_report_outcome(set, "330106", 0, t0 + 66);
  ck_assert_int_eq(STATE(67), MEDSHIM_BREAKER_OPEN);
  AT(67, MEDSHIM_DEFER);
  AT(125, MEDSHIM_DEFER);
  AT(126, MEDSHIM_TRY_ONLINE); /* the next probe */
  /* a probe whose outcome never comes is presumed lost after a pause */
  AT(185, MEDSHIM_DEFER);
  AT(186, MEDSHIM_TRY_ONLINE);
  /* half-open -> closed when the probe succeeds */
  medshim_schedule_report_outcome(set, "330106", 1, t0 + 187);
  AT(188, MEDSHIM_ONLINE);
  ck_assert_int_eq(STATE(188), MEDSHIM_BREAKER_CLOSED);
  /* a schedule's own defer does not use up the probe */
  {
    char *p = example("hangzhou-2022");
    int64_t stop = T("2022-02-11T10:00");
    ck_assert_int_eq(medshim_schedule_set_load_file(set, p, &err), MEDSHIM_OK);
    for (int i = 0; i < 3; i++)
      medshim_schedule_report_outcome(set, "330106", 0, stop);
    ck_assert_int_eq(medshim_schedule_decide(&d, set, MEDSHIM_SERVICE_OUTPATIENT,
                                             "330102", "330106", stop + 60),
                     MEDSHIM_OK);
    ck_assert_int_eq(d.decision, MEDSHIM_DEFER);
    ck_assert(d.has_window); /* the stop, not the breaker, is the reason */
    ck_assert_int_eq(d.replay.from, T("2022-03-15"));
    ck_assert_int_eq(medshim_schedule_decide(&d, set, MEDSHIM_SERVICE_OUTPATIENT,
                                             "330102", "330106", stop + 60),
                     MEDSHIM_OK);
    ck_assert_int_eq(medshim_schedule_decide(&d, set, MEDSHIM_SERVICE_OUTPATIENT,
                                             "110105", "330106", T("2022-03-01")),
                     MEDSHIM_OK);
    ck_assert_int_eq(d.decision, MEDSHIM_TRY_ONLINE); /* still its probe */
    free(p);
  }
  ck_assert_int_eq(medshim_schedule_report_outcome(set, "33", 0, t0), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_schedule_report_outcome(NULL, "330106", 0, t0),
                   MEDSHIM_EINVAL);
#undef AT
#undef STATE
  medshim_schedule_set_free(set);
}
END_TEST

/* Many threads decide while others report failures and successes: the
 * breaker hands out at most one probe per pause, and nothing races (run it
 * under the sanitizers / helgrind to see). */
typedef struct race {
  medshim_schedule_set *set;
  int64_t at;
  int probes;
} race;

static void *race_decide(void *arg) {
  race *r = arg;
  for (int i = 0; i < 2000; i++) {
    medshim_decision d = MEDSHIM_DECISION_INIT;
    ck_assert_int_eq(medshim_schedule_decide(&d, r->set, MEDSHIM_SERVICE_INPATIENT,
                                             "640104", "640104", r->at),
                     MEDSHIM_OK);
    ck_assert_int_ne(d.decision, MEDSHIM_ONLINE);
    r->probes += d.decision == MEDSHIM_TRY_ONLINE;
  }
  return NULL;
}

START_TEST(test_schedule_breaker_threads) {
  medshim_schedule_options o = MEDSHIM_SCHEDULE_OPTIONS_INIT;
  medshim_schedule_set *set = NULL;
  pthread_t th[4];
  race r[4];
  int probes = 0;
  int64_t t0 = T("2023-05-01T08:00");
  o.breaker_threshold = 2;
  o.breaker_open_seconds = 10;
  ck_assert_int_eq(medshim_schedule_set_new(&set, &o, NULL), MEDSHIM_OK);
  medshim_schedule_report_outcome(set, "640104", 0, t0);
  medshim_schedule_report_outcome(set, "640104", 0, t0);
  for (int i = 0; i < 4; i++) {
    r[i].set = set;
    r[i].at = t0 + 10; /* half-open, all at the same instant */
    r[i].probes = 0;
    ck_assert_int_eq(pthread_create(&th[i], NULL, race_decide, &r[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    probes += r[i].probes;
  }
  ck_assert_int_eq(probes, 1);
  medshim_schedule_set_free(set);
}
END_TEST

/* Reloading while other threads decide: amended versions of a notice are
 * loaded one after another while three threads decide; every decision is
 * whole (the new index or the old one), and the strings of a decision made
 * before the reloads stay readable (ASan in CI: no use after free). */
typedef struct reload_race {
  medshim_schedule_set *set;
  atomic_int *done;
  int decisions, bad;
} reload_race;

static void *decide_during_reloads(void *arg) {
  reload_race *r = arg;
  int64_t at = 1644543000; /* 2022-02-11T09:30+08:00: the stop */
  while (!atomic_load(r->done) || r->decisions < 100) {
    medshim_decision d = MEDSHIM_DECISION_INIT;
    if (medshim_schedule_decide(&d, r->set, MEDSHIM_SERVICE_OUTPATIENT, "330102",
                                "330106", at) != MEDSHIM_OK ||
        d.decision != MEDSHIM_DEFER || d.code != MEDSHIM_REASON_PLANNED_STOP ||
        !d.has_window || strcmp(d.window.schedule_id, "hangzhou-2022") != 0 ||
        d.reason == NULL || strlen(d.reason) == 0 || d.replay.from != 1647273600)
      r->bad++;
    r->decisions++;
  }
  return NULL;
}

START_TEST(test_schedule_reload_while_deciding) {
  medshim_schedule_set *set = NULL;
  medshim_decision before = MEDSHIM_DECISION_INIT;
  char *path = example("hangzhou-2022");
  size_t len;
  char *json = slurp(path, &len);
  char *amended = malloc(len + 16);
  const char *v = strstr(json, "\"version\": 1,");
  pthread_t th[3];
  reload_race r[3];
  atomic_int done;
  char *reason_before;
  ck_assert_ptr_nonnull(v);
  ck_assert_int_eq(medshim_schedule_set_new(&set, NULL, NULL), MEDSHIM_OK);
  ck_assert_int_eq(medshim_schedule_set_load_json(set, "v1", json, len, NULL, NULL),
                   MEDSHIM_OK);
  ck_assert_int_eq(medshim_schedule_decide(&before, set, MEDSHIM_SERVICE_OUTPATIENT,
                                           "330102", "330106", 1644543000),
                   MEDSHIM_OK);
  reason_before = strdup(before.reason);
  atomic_init(&done, 0);
  for (int i = 0; i < 3; i++) {
    r[i] = (reload_race){set, &done, 0, 0};
    ck_assert_int_eq(pthread_create(&th[i], NULL, decide_during_reloads, &r[i]), 0);
  }
  for (int version = 2; version <= 120; version++) {
    size_t head = (size_t)(v - json);
    int n = snprintf(amended, len + 16, "%.*s\"version\": %d,%s", (int)head, json,
                     version, v + strlen("\"version\": 1,"));
    ck_assert_int_eq(medshim_schedule_set_load_json(set, "amended", amended,
                                                    (size_t)n, NULL, NULL),
                     MEDSHIM_OK);
    ck_assert_uint_eq(medshim_schedule_set_count(set), 1);
    ck_assert_ptr_nonnull(medshim_schedule_set_notice(set, 0));
  }
  atomic_store(&done, 1);
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    ck_assert_int_eq(r[i].bad, 0);
    ck_assert_int_ge(r[i].decisions, 100);
  }
  /* the first decision's strings live as long as the set */
  ck_assert_str_eq(before.window.schedule_id, "hangzhou-2022");
  ck_assert_str_eq(before.reason, reason_before);
  ck_assert_uint_eq(medshim_schedule_set_notice_count(set), 119);
  medshim_schedule_set_free(set);
  free(reason_before);
  free(amended);
  free(json);
  free(path);
}
END_TEST

/* Signing keys made through the API sign and verify, and a set configured
 * with the public key takes the signed notice and refuses a forged one. */
START_TEST(test_schedule_keygen_signs) {
  char *priv = NULL, *pub = NULL, *priv2 = NULL, *pub2 = NULL, *sig = NULL;
  char *path = example("hangzhou-2022");
  size_t len;
  char *json = slurp(path, &len);
  medshim_schedule_options o = MEDSHIM_SCHEDULE_OPTIONS_INIT;
  medshim_schedule_set *set = NULL;
  medshim_error err;
  ck_assert_int_eq(medshim_schedule_keygen(&priv, &pub, MEDSHIM_SCHEDULE_KEY_ED25519), MEDSHIM_OK);
  ck_assert_ptr_nonnull(strstr(priv, "-----BEGIN PRIVATE KEY-----"));
  ck_assert_ptr_nonnull(strstr(pub, "-----BEGIN PUBLIC KEY-----"));
  ck_assert_int_eq(medshim_schedule_keygen(&priv2, &pub2, MEDSHIM_SCHEDULE_KEY_SM2), MEDSHIM_OK);
  ck_assert_str_ne(priv, priv2); /* a new pair each time */
  ck_assert_int_eq(medshim_schedule_sign(&sig, json, len, priv), MEDSHIM_OK);
  ck_assert_int_eq(medshim_schedule_verify(json, len, sig, pub), MEDSHIM_OK);
  ck_assert_int_eq(medshim_schedule_verify(json, len, sig, pub2), MEDSHIM_ESIGNATURE);
  o.public_key_pem = pub;
  o.require_signed = 1;
  ck_assert_int_eq(medshim_schedule_set_new(&set, &o, &err), MEDSHIM_OK);
  ck_assert_int_eq(medshim_schedule_set_load_json(set, "hz", json, len, sig, &err),
                   MEDSHIM_OK);
  json[len / 2] ^= 1;
  ck_assert_int_eq(medshim_schedule_set_load_json(set, "hz", json, len, sig, &err),
                   MEDSHIM_ESIGNATURE);
  ck_assert_int_eq(medshim_schedule_keygen(NULL, &pub2, MEDSHIM_SCHEDULE_KEY_ED25519), MEDSHIM_EINVAL);
  {
    /* the SM2 pair signs and verifies too; an unknown algorithm is refused */
    char *sig2 = NULL, *p3 = NULL, *q3 = NULL;
    json[len / 2] ^= 1;
    ck_assert_int_eq(medshim_schedule_sign(&sig2, json, len, priv2), MEDSHIM_OK);
    ck_assert_int_eq(medshim_schedule_verify(json, len, sig2, pub2), MEDSHIM_OK);
    ck_assert_int_ne(medshim_schedule_verify(json, len, sig2, pub), MEDSHIM_OK);
    ck_assert_int_eq(medshim_schedule_keygen(&p3, &q3, 7u), MEDSHIM_EINVAL);
    ck_assert_ptr_null(p3);
    medshim_free(sig2);
  }
  medshim_schedule_set_free(set);
  medshim_free(priv);
  medshim_free(pub);
  medshim_free(priv2);
  medshim_free(pub2);
  medshim_free(sig);
  free(json);
  free(path);
}
END_TEST

/* ---- reference evaluation ------------------------------------------------ */

typedef struct ref_phase {
  char regions[16][7];
  int nregions;
  char sched_regions[16][7];
  int nsched;
  unsigned services;
  int64_t from, until;
  int effect;
  int file;
} ref_phase;

static ref_phase refs[256];
static int nrefs;

/* Re-settlement rules and advice, read straight from the files. */
typedef struct ref_rule {
  int file;
  unsigned services;
  int route;
  int64_t from, until, visits_from, visits_until;
} ref_rule;

typedef struct ref_advice {
  int file;
  unsigned services;
  int64_t shown_from, at;
} ref_advice;

static ref_rule rules[64];
static int nrules;
static ref_advice advs[32];
static int nadvs;
static char file_regions[NFILES][16][7];
static int file_nregions[NFILES];

/* Bit mask of the services a rule or piece of advice names. */
static unsigned services_of(json_t *o) {
  unsigned mask = 0;
  size_t k;
  json_t *sv;
  json_array_foreach(json_object_get(o, "services"), k, sv)
      mask |= 1u << svc(json_string_value(sv));
  return mask;
}

static int64_t opt_time(json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  return v == NULL ? 0 : T(json_string_value(v));
}

/* "330100" covers "330106": compare the code without its trailing 00s */
static int ref_covers(const char *area, const char *visit) {
  int n = 6;
  while (n > 2 && area[n - 1] == '0' && area[n - 2] == '0')
    n -= 2;
  return strncmp(area, visit, (size_t)n) == 0;
}

static void ref_load(void) {
  nrefs = nrules = nadvs = 0;
  for (int f = 0; f < NFILES; f++) {
    char *p = example(FILES[f]);
    json_error_t e;
    json_t *root = json_load_file(p, 0, &e), *ph, *r;
    size_t i, k;
    ck_assert_ptr_nonnull(root);
    file_nregions[f] = 0;
    json_array_foreach(json_object_get(root, "regions"), k, r)
        snprintf(file_regions[f][file_nregions[f]++], 7, "%s",
                 json_string_value(r));
    json_array_foreach(json_object_get(root, "resettlement"), i, ph) {
      ref_rule *x = &rules[nrules++];
      const char *route = json_string_value(json_object_get(ph, "route"));
      memset(x, 0, sizeof *x);
      x->file = f;
      x->services = services_of(ph);
      x->route = strcmp(route, "hospital") == 0 ? MEDSHIM_ROUTE_HOSPITAL
                 : strcmp(route, "agency") == 0 ? MEDSHIM_ROUTE_AGENCY
                                                : MEDSHIM_ROUTE_NONE;
      x->from = opt_time(ph, "from");
      x->until = opt_time(ph, "until");
      x->visits_from = opt_time(ph, "visits_from");
      x->visits_until = opt_time(ph, "visits_until");
    }
    json_array_foreach(json_object_get(root, "advice"), i, ph) {
      ref_advice *x = &advs[nadvs++];
      const char *kind = json_string_value(json_object_get(ph, "kind"));
      memset(x, 0, sizeof *x);
      x->file = f;
      x->services = services_of(ph);
      if (strcmp(kind, "settle_before") == 0) {
        x->at = opt_time(ph, "at");
        x->shown_from = json_object_get(ph, "from") ? opt_time(ph, "from")
                                                    : opt_time(root, "issued");
      } else {
        x->shown_from = opt_time(ph, "from");
        x->at = opt_time(ph, "until");
      }
    }
    json_array_foreach(json_object_get(root, "phases"), i, ph) {
      ref_phase *x = &refs[nrefs++];
      const char *eff = json_string_value(json_object_get(ph, "effect"));
      memset(x, 0, sizeof *x);
      json_array_foreach(json_object_get(root, "regions"), k, r)
          snprintf(x->sched_regions[x->nsched++], 7, "%s", json_string_value(r));
      json_array_foreach(json_object_get(ph, "regions"), k, r)
          snprintf(x->regions[x->nregions++], 7, "%s", json_string_value(r));
      x->services = services_of(ph);
      x->from = T(json_string_value(json_object_get(ph, "from")));
      x->until = T(json_string_value(json_object_get(ph, "until")));
      x->effect = strcmp(eff, "stopped") == 0 ? MEDSHIM_DEFER : MEDSHIM_TRY_ONLINE;
      x->file = f;
    }
    json_decref(root);
    free(p);
  }
}

/* Effect for one region; *which = the first phase (in file order) that
 * has it, -1 when online. */
static int ref_region_which(const char *region, int service, int64_t t,
                            int *which) {
  int best = MEDSHIM_ONLINE;
  *which = -1;
  for (int i = 0; i < nrefs; i++) {
    const ref_phase *x = &refs[i];
    int in = 0;
    if (!(x->services & (1u << service)) || t < x->from || t >= x->until)
      continue;
    for (int k = 0; k < x->nsched; k++)
      in |= ref_covers(x->sched_regions[k], region);
    if (in && x->nregions > 0) {
      in = 0;
      for (int k = 0; k < x->nregions; k++)
        in |= ref_covers(x->regions[k], region);
    }
    if (in && x->effect > best) {
      best = x->effect;
      *which = i;
    }
  }
  return best;
}

static int ref_region(const char *region, int service, int64_t t) {
  int which;
  return ref_region_which(region, service, t, &which);
}

static int file_covers(int f, const char *region) {
  for (int k = 0; k < file_nregions[f]; k++)
    if (ref_covers(file_regions[f][k], region))
      return 1;
  return 0;
}

/* The replay window of a visit, from the files alone. */
static medshim_replay_window ref_replay(int service, const char *a,
                                        const char *b, int64_t t) {
  medshim_replay_window w;
  int pa, pb, x = ref_region_which(a, service, t, &pa),
              y = ref_region_which(b, service, t, &pb);
  const char *region = x >= y ? a : b;
  int phase = x >= y ? pa : pb, effect = x >= y ? x : y;
  memset(&w, 0, sizeof w);
  if (phase < 0) { /* unplanned outage */
    if (service <= 6) {
      w.route = MEDSHIM_ROUTE_HOSPITAL;
      w.from = t;
    }
    return w;
  }
  for (int i = 0; i < nrules; i++) {
    const ref_rule *r = &rules[i];
    if (r->file != refs[phase].file || !(r->services & (1u << service)) ||
        (r->visits_from && t < r->visits_from) ||
        (r->visits_until && t >= r->visits_until))
      continue;
    w.route = r->route;
    if (r->route != MEDSHIM_ROUTE_NONE) {
      w.from = r->from;
      w.until = r->until;
    }
    return w;
  }
  /* no rule: the hospital, from the first instant the region's effect
   * is no longer what it was */
  w.route = MEDSHIM_ROUTE_HOSPITAL;
  w.from = INT64_MAX;
  for (int i = 0; i < nrefs; i++) {
    int64_t edges[2] = {refs[i].from, refs[i].until};
    for (int e = 0; e < 2; e++)
      if (edges[e] > t && edges[e] < w.from &&
          ref_region(region, service, edges[e]) != effect)
        w.from = edges[e];
  }
  return w;
}

/* Number of pieces of advice shown for a visit. */
static size_t ref_advice_count(int service, const char *a, const char *b,
                               int64_t t) {
  size_t n = 0;
  for (int i = 0; i < nadvs; i++)
    if ((advs[i].services & (1u << service)) && t >= advs[i].shown_from &&
        t < advs[i].at &&
        (file_covers(advs[i].file, a) || file_covers(advs[i].file, b)))
      n++;
  return n < MEDSHIM_ADVICE_MAX ? n : MEDSHIM_ADVICE_MAX;
}

static int ref_decide(int service, const char *a, const char *b, int64_t t) {
  int x = ref_region(a, service, t), y = ref_region(b, service, t);
  return x > y ? x : y;
}

START_TEST(test_schedule_matches_reference) {
  static const char *regions[] = {"330102", "330185", "330200", "420102",
                                  "420100", "640104", "640522", "110105",
                                  "140105", "140405", "140905", "141102",
                                  "500101", "330100"};
  static const int services[] = {1, 2, 3, 4, 5, 6, 16, 17, 18, 19, 20};
  medshim_schedule_set *set = load_all();
  int64_t lo = T("2021-07-01"), hi = T("2022-09-01");
  unsigned seed = 20211221;
  int checked = 0, changes = 0, replays = 0, advised = 0;
  ref_load();
  for (int i = 0; i < 20000; i++) {
    medshim_decision d = MEDSHIM_DECISION_INIT;
    const char *a, *b;
    int s;
    int64_t t;
    seed = seed * 1103515245u + 12345u;
    a = regions[(seed >> 8) % 14];
    seed = seed * 1103515245u + 12345u;
    b = regions[(seed >> 8) % 14];
    seed = seed * 1103515245u + 12345u;
    s = services[(seed >> 8) % 11];
    seed = seed * 1103515245u + 12345u;
    if (i % 2 == 0) { /* near a phase boundary */
      const ref_phase *x = &refs[(seed >> 8) % (unsigned)nrefs];
      int64_t base = ((seed >> 4) & 1) ? x->from : x->until;
      t = base + (int64_t)((seed >> 12) % 5) * 60 - 120;
    } else {
      t = lo + (int64_t)((((uint64_t)seed << 20) ^ (uint64_t)i * 7919u) %
                         (uint64_t)(hi - lo));
    }
    ck_assert_int_eq(medshim_schedule_decide(&d, set, s, a, b, t), MEDSHIM_OK);
    ck_assert_msg((int)d.decision == ref_decide(s, a, b, t),
                  "service %d %s/%s at %lld: %s vs reference %d", s, a, b,
                  (long long)t, medshim_verdict_name(d.decision),
                  ref_decide(s, a, b, t));
    /* the replay window, from the decision and from the lookup the replay
     * engine uses, against the files' rules */
    {
      medshim_replay_window w, ref = ref_replay(s, a, b, t);
      /* try_online: the window a failed attempt gets, the same rule */
      if (d.decision == MEDSHIM_DEFER || d.decision == MEDSHIM_TRY_ONLINE) {
        ck_assert_int_eq(d.has_replay, ref.route != MEDSHIM_ROUTE_NONE);
        if (d.has_replay) {
          ck_assert_int_eq(d.replay.route, ref.route);
          ck_assert_int_eq(d.replay.from, ref.from);
          ck_assert_int_eq(d.replay.until, ref.until);
          replays++;
        }
      } else {
        ck_assert(!d.has_replay);
      }
      ck_assert_int_eq(medshim_schedule_replay_window(&w, set, s, a, b, t),
                       MEDSHIM_OK);
      ck_assert_msg(w.route == ref.route && w.from == ref.from &&
                        w.until == ref.until,
                    "replay window, service %d %s/%s at %lld", s, a, b,
                    (long long)t);
    }
    ck_assert_uint_eq(d.advice_count, ref_advice_count(s, a, b, t));
    advised += d.advice_count > 0;
    if (d.until != 0) {
      /* the decision holds until `until`, and changes there */
      ck_assert_int_gt(d.until, t);
      ck_assert_int_eq(ref_decide(s, a, b, d.until - 1), (int)d.decision);
      ck_assert_int_ne(ref_decide(s, a, b, d.until), (int)d.decision);
      changes++;
    }
    checked++;
  }
  ck_assert_int_eq(checked, 20000);
  ck_assert_int_gt(changes, 1000);
  ck_assert_int_gt(replays, 500);
  ck_assert_int_gt(advised, 50);
  medshim_schedule_set_free(set);
}
END_TEST

/* A district inside a reference phase's area. */
static void district_of(char out[7], const ref_phase *x) {
  const char *area = x->nregions > 0 ? x->regions[0] : x->sched_regions[0];
  memcpy(out, area, 7);
  if (strcmp(out + 4, "00") == 0)
    out[5] = '2'; /* 330100 -> 330102; 640000 -> 640002 */
}

START_TEST(test_schedule_every_transition_of_every_notice) {
  medshim_schedule_set *set = load_all();
  int checked = 0;
  ref_load();
  for (int i = 0; i < nrefs; i++) {
    const ref_phase *x = &refs[i];
    char region[7];
    district_of(region, x);
    for (int svcn = 1; svcn <= 20; svcn++) {
      if (!(x->services & (1u << svcn)))
        continue;
      for (int edge = 0; edge < 2; edge++) {
        int64_t b = edge ? x->until : x->from;
        for (int64_t off = -60; off <= 60; off += 60) {
          medshim_decision d = MEDSHIM_DECISION_INIT;
          ck_assert_int_eq(medshim_schedule_decide(&d, set, svcn, region, NULL,
                                                   b + off),
                           MEDSHIM_OK);
          ck_assert_msg((int)d.decision == ref_decide(svcn, region, region, b + off),
                        "phase %d service %d %s at %lld%+lld", i, svcn, region,
                        (long long)b, (long long)off);
          ck_assert_uint_eq(d.advice_count,
                            ref_advice_count(svcn, region, region, b + off));
          if (d.decision == MEDSHIM_DEFER) {
            medshim_replay_window ref = ref_replay(svcn, region, region, b + off);
            ck_assert_int_eq(d.has_replay, ref.route != MEDSHIM_ROUTE_NONE);
            ck_assert_int_eq(d.replay.route, ref.route);
            ck_assert_int_eq(d.replay.from, ref.from);
            ck_assert_int_eq(d.replay.until, ref.until);
          }
          checked++;
        }
      }
    }
  }
  ck_assert_int_gt(checked, 300);
  medshim_schedule_set_free(set);
}
END_TEST

/* Every reason the decision logic has, reached through the shipped
 * notices and the breaker, and the names the flat interface prints. */
static medshim_reason_code code_of(const medshim_schedule_set *set, int service,
                                   const char *ins, const char *trt,
                                   const char *at) {
  medshim_decision d = MEDSHIM_DECISION_INIT;
  ck_assert_int_eq(medshim_schedule_decide(&d, set, service, ins, trt, T(at)),
                   MEDSHIM_OK);
  ck_assert_uint_eq(d.version, MEDSHIM_DECISION_VERSION);
  return d.code;
}

START_TEST(test_schedule_reason_codes) {
  medshim_schedule_options o = MEDSHIM_SCHEDULE_OPTIONS_INIT;
  medshim_schedule_set *set = NULL;
  medshim_error err;
  int64_t t0 = T("2023-03-01T09:00");
  o.breaker_threshold = 2;
  o.breaker_open_seconds = 60;
  ck_assert_int_eq(medshim_schedule_set_new(&set, &o, &err), MEDSHIM_OK);
  for (int i = 0; i < NFILES; i++) {
    char *p = example(FILES[i]);
    ck_assert_int_eq(medshim_schedule_set_load_file(set, p, &err), MEDSHIM_OK);
    free(p);
  }
  ck_assert_int_eq(code_of(set, MEDSHIM_SERVICE_OUTPATIENT, "330102", NULL,
                           "2022-03-01T10:00"), MEDSHIM_REASON_NO_WINDOW);
  /* Hangzhou: in-patients told to settle before the stop */
  ck_assert_int_eq(code_of(set, MEDSHIM_SERVICE_INPATIENT, "330102", NULL,
                           "2022-02-07T10:00"), MEDSHIM_REASON_INPATIENT_ADVICE);
  ck_assert_int_eq(code_of(set, MEDSHIM_SERVICE_OUTPATIENT, "330102", NULL,
                           "2022-02-07T10:00"), MEDSHIM_REASON_NO_WINDOW);
  ck_assert_int_eq(code_of(set, MEDSHIM_SERVICE_OUTPATIENT, "330102", NULL,
                           "2022-02-11T09:30"), MEDSHIM_REASON_PLANNED_STOP);
  ck_assert_int_eq(code_of(set, MEDSHIM_SERVICE_INPATIENT, "330102", NULL,
                           "2022-02-11T09:30"), MEDSHIM_REASON_AGENCY_ROUTE);
  ck_assert_int_eq(code_of(set, MEDSHIM_SERVICE_PHARMACY, "330185", NULL,
                           "2022-02-16T10:00"), MEDSHIM_REASON_DEGRADED);
  /* Wuhan: out-patients pay in cash for good */
  ck_assert_int_eq(code_of(set, MEDSHIM_SERVICE_OUTPATIENT, "420102", NULL,
                           "2021-12-25T10:00"), MEDSHIM_REASON_NO_RESETTLEMENT);
  ck_assert_int_eq(code_of(set, MEDSHIM_SCHED_ENROLLMENT, "420102", NULL,
                           "2021-12-20T10:00"), MEDSHIM_REASON_SERVICE_SUSPENDED);
  /* the breaker, outside every window */
  medshim_schedule_report_outcome(set, "330106", 0, t0);
  medshim_schedule_report_outcome(set, "330106", 0, t0 + 1);
  ck_assert_int_eq(code_of(set, MEDSHIM_SERVICE_OUTPATIENT, "330102", "330106",
                           "2023-03-01T09:00:02"), MEDSHIM_REASON_BREAKER_OPEN);
  ck_assert_int_eq(code_of(set, MEDSHIM_SERVICE_OUTPATIENT, "330102", "330106",
                           "2023-03-01T09:01:01"), MEDSHIM_REASON_PROBE);
  ck_assert_int_eq(code_of(set, MEDSHIM_SERVICE_OUTPATIENT, "330102", "330106",
                           "2023-03-01T09:01:02"), MEDSHIM_REASON_PROBE_PENDING);
  /* names: every code has one, distinct; others have none */
  for (int c = MEDSHIM_REASON_NONE; c <= MEDSHIM_REASON_INVALID_INPUT; c++) {
    ck_assert_ptr_nonnull(medshim_reason_name(c));
    for (int k = 0; k < c; k++)
      ck_assert_str_ne(medshim_reason_name(c), medshim_reason_name(k));
  }
  ck_assert_str_eq(medshim_reason_name(MEDSHIM_REASON_PLANNED_STOP), "planned_stop");
  ck_assert_str_eq(medshim_reason_name(MEDSHIM_REASON_AGENCY_ROUTE), "agency_route");
  ck_assert_ptr_null(medshim_reason_name(-1));
  ck_assert_ptr_null(medshim_reason_name(MEDSHIM_REASON_INVALID_INPUT + 1));
  medshim_schedule_set_free(set);
}
END_TEST

/* A host built against version 1 has a shorter struct: nothing past its
 * last field is written, and its decision is still a whole one. */
START_TEST(test_schedule_decision_version_1) {
  medshim_schedule_set *set = load_all();
  unsigned char buf[sizeof(medshim_decision) + 16];
  const size_t v1 = offsetof(medshim_decision, code);
  medshim_decision d2 = MEDSHIM_DECISION_INIT;
  medshim_claim_window w;
  for (unsigned version = 0; version <= 1; version++) {
    medshim_decision *d = (medshim_decision *)(void *)buf;
    memset(buf, 0xa5, sizeof buf);
    d->version = version;
    ck_assert_int_eq(medshim_schedule_decide(d, set, MEDSHIM_SERVICE_OUTPATIENT,
                                             "330102", NULL,
                                             T("2022-02-11T09:30")),
                     MEDSHIM_OK);
    ck_assert_uint_eq(d->version, 1);
    ck_assert_int_eq(d->decision, MEDSHIM_DEFER);
    ck_assert(d->has_replay);
    for (size_t i = v1; i < sizeof buf; i++)
      ck_assert_uint_eq(buf[i], 0xa5);
    /* the window of a version 1 decision is still journaled */
    ck_assert_int_eq(medshim_decision_window(&w, d), MEDSHIM_OK);
    ck_assert_int_eq(w.route, MEDSHIM_CLAIM_ROUTE_HOSPITAL);
  }
  ck_assert_int_eq(medshim_schedule_decide(&d2, set, MEDSHIM_SERVICE_OUTPATIENT,
                                           "330102", NULL, T("2022-02-11T09:30")),
                   MEDSHIM_OK);
  ck_assert_int_eq(d2.code, MEDSHIM_REASON_PLANNED_STOP);
  d2.version = 3;
  ck_assert_int_eq(medshim_decision_window(&w, &d2), MEDSHIM_EINVAL);
  medshim_schedule_set_free(set);
}
END_TEST

/* A refused call still leaves a safe answer: defer, code invalid_input,
 * no window, a reason naming the argument; never what was there before
 * (an online from an earlier visit) nor garbage. Version 1 callers get
 * their fields only. */
/* try_online carries the window a failed attempt gets: the guide says a
 * failed attempt is "the same as defer", so the host journals it with this
 * window, as medshim_schedule_replay_window() gives for the visit. */
START_TEST(test_schedule_try_online_carries_replay) {
  medshim_schedule_options o = MEDSHIM_SCHEDULE_OPTIONS_INIT;
  medshim_schedule_set *set = NULL;
  medshim_error err;
  medshim_replay_window rw;
  medshim_claim_window cw;
  int64_t t0 = T("2023-03-01T09:00");
  o.breaker_threshold = 2;
  o.breaker_open_seconds = 60;
  ck_assert_int_eq(medshim_schedule_set_new(&set, &o, &err), MEDSHIM_OK);
  for (int i = 0; i < NFILES; i++) {
    char *p = example(FILES[i]);
    ck_assert_int_eq(medshim_schedule_set_load_file(set, p, &err), MEDSHIM_OK);
    free(p);
  }
  /* Hangzhou's gradual return (degraded): re-settled like the stop */
  medshim_decision d = decide(set, "pharmacy", "330185", NULL, "2022-02-16T10:00");
  ck_assert_int_eq(d.decision, MEDSHIM_TRY_ONLINE);
  ck_assert_int_eq(d.code, MEDSHIM_REASON_DEGRADED);
  ck_assert_int_eq(d.has_replay, 1);
  ck_assert_int_eq(d.replay.route, MEDSHIM_ROUTE_HOSPITAL);
  ck_assert_int_eq(medshim_schedule_replay_window(&rw, set, MEDSHIM_SERVICE_PHARMACY,
                                                  "330185", NULL,
                                                  T("2022-02-16T10:00")),
                   MEDSHIM_OK);
  ck_assert_int_eq(d.replay.route, rw.route);
  ck_assert_int_eq(d.replay.from, rw.from);
  ck_assert_int_eq(d.replay.until, rw.until);
  ck_assert_int_eq(d.replay.from, T("2022-03-15"));
  ck_assert_int_eq(medshim_decision_window(&cw, &d), MEDSHIM_OK);
  ck_assert_int_eq(cw.route, MEDSHIM_CLAIM_ROUTE_HOSPITAL);
  ck_assert_int_eq(cw.from, T("2022-03-15"));
  ck_assert_str_eq(cw.schedule_id, "hangzhou-2022");
  /* a half-open breaker's probe: an unplanned outage, re-settled at the
   * hospital as soon as the platform answers */
  medshim_schedule_report_outcome(set, "330106", 0, t0);
  medshim_schedule_report_outcome(set, "330106", 0, t0 + 1);
  d = decide(set, "outpatient", "330102", "330106", "2023-03-01T09:01:01");
  ck_assert_int_eq(d.decision, MEDSHIM_TRY_ONLINE);
  ck_assert_int_eq(d.code, MEDSHIM_REASON_PROBE);
  ck_assert_int_eq(d.has_replay, 1);
  ck_assert_int_eq(d.replay.route, MEDSHIM_ROUTE_HOSPITAL);
  ck_assert_int_eq(d.replay.from, T("2023-03-01T09:01:01"));
  ck_assert_int_eq(d.replay.until, 0);
  /* online still has none */
  d = decide(set, "outpatient", "330102", NULL, "2022-03-01T10:00");
  ck_assert_int_eq(d.decision, MEDSHIM_ONLINE);
  ck_assert_int_eq(d.has_replay, 0);
  medshim_schedule_set_free(set);
}
END_TEST

START_TEST(test_schedule_decide_refused_is_defer) {
  medshim_schedule_set *set = load_all();
  struct {
    medshim_schedule_set *set;
    int service;
    const char *insured, *treated;
    const char *reason_has;
  } bad[] = {
      {NULL, MEDSHIM_SERVICE_OUTPATIENT, "330102", NULL, "schedule set"},
      {set, 99, "330102", NULL, "service"},
      {set, MEDSHIM_SERVICE_OUTPATIENT, "3301O2", NULL, "region"},
      {set, MEDSHIM_SERVICE_OUTPATIENT, "330102", "abcdef", "region"},
      {set, MEDSHIM_SERVICE_OUTPATIENT, NULL, NULL, "region"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    medshim_decision d;
    memset(&d, 0x5a, sizeof d); /* what an uninitialised struct may hold */
    d.version = MEDSHIM_DECISION_VERSION;
    ck_assert_int_eq(medshim_schedule_decide(&d, bad[i].set, bad[i].service,
                                             bad[i].insured, bad[i].treated,
                                             T("2022-02-11T09:30")),
                     MEDSHIM_EINVAL);
    ck_assert_uint_eq(d.version, MEDSHIM_DECISION_VERSION);
    ck_assert_int_eq(d.decision, MEDSHIM_DEFER);
    ck_assert_int_eq(d.code, MEDSHIM_REASON_INVALID_INPUT);
    ck_assert_int_eq(d.has_window, 0);
    ck_assert_int_eq(d.has_replay, 0);
    ck_assert_int_eq(d.replay.route, MEDSHIM_ROUTE_NONE);
    ck_assert_uint_eq(d.advice_count, 0);
    ck_assert_int_eq(d.until, 0);
    ck_assert_ptr_nonnull(d.reason);
    ck_assert_msg(strstr(d.reason, bad[i].reason_has) != NULL, "%d: %s", (int)i, d.reason);
    /* what the cashier is told: collect in full, defer */
    char *text = NULL;
    ck_assert_int_eq(medshim_decision_text(&text, &d, MEDSHIM_SERVICE_OUTPATIENT,
                                           MEDSHIM_TEXT_CASHIER, MEDSHIM_LANG_EN),
                     MEDSHIM_OK);
    ck_assert_ptr_nonnull(strstr(text, "Collect the full amount and defer the claim"));
    medshim_free(text);
    /* and the claim window: none (unplanned until `medshim window`) */
    medshim_claim_window w;
    ck_assert_int_eq(medshim_decision_window(&w, &d), MEDSHIM_OK);
    ck_assert_int_eq(w.route, MEDSHIM_CLAIM_ROUTE_NONE);
  }
  /* version 1: the fields before `code` only */
  medshim_decision d1;
  memset(&d1, 0x5a, sizeof d1);
  d1.version = 1;
  ck_assert_int_eq(medshim_schedule_decide(&d1, set, 99, "330102", NULL, 0),
                   MEDSHIM_EINVAL);
  ck_assert_int_eq(d1.decision, MEDSHIM_DEFER);
  ck_assert_int_eq(d1.has_replay, 0);
  ck_assert_int_eq((int)d1.code, 0x5a5a5a5a);
  ck_assert_str_eq(medshim_reason_name(MEDSHIM_REASON_INVALID_INPUT), "invalid_input");
  medshim_schedule_set_free(set);
}
END_TEST

START_TEST(test_schedule_replay_window_and_bad_input) {
  medshim_schedule_set *set = load_all();
  medshim_replay_window w;
  medshim_decision d = MEDSHIM_DECISION_INIT;
  ck_assert_int_eq(medshim_schedule_replay_window(&w, set, MEDSHIM_SERVICE_OUTPATIENT,
                                                  "330102", "330106",
                                                  T("2022-02-12T10:00")),
                   MEDSHIM_OK);
  ck_assert_int_eq(w.route, MEDSHIM_ROUTE_HOSPITAL);
  ck_assert_int_eq(w.from, T("2022-03-15"));
  ck_assert_int_eq(medshim_schedule_replay_window(&w, set, MEDSHIM_SERVICE_INPATIENT,
                                                  "330102", NULL,
                                                  T("2022-02-12T10:00")),
                   MEDSHIM_OK);
  ck_assert_int_eq(w.route, MEDSHIM_ROUTE_AGENCY);
  /* an in-patient visit outside every window: no Hangzhou rule applies (it
   * would say agency); it was deferred by an unplanned outage, so the
   * hospital re-settles it as soon as the platform answers */
  ck_assert_int_eq(medshim_schedule_replay_window(&w, set, MEDSHIM_SERVICE_INPATIENT,
                                                  "330102", NULL,
                                                  T("2022-05-01T10:00")),
                   MEDSHIM_OK);
  ck_assert_int_eq(w.route, MEDSHIM_ROUTE_HOSPITAL);
  ck_assert_int_eq(w.from, T("2022-05-01T10:00"));
  ck_assert_int_eq(w.until, 0);
  /* the treated region's window counts too (either-region rule) */
  ck_assert_int_eq(medshim_schedule_replay_window(&w, set, MEDSHIM_SERVICE_INPATIENT,
                                                  "110105", "330106",
                                                  T("2022-02-12T10:00")),
                   MEDSHIM_OK);
  ck_assert_int_eq(w.route, MEDSHIM_ROUTE_AGENCY);
  ck_assert_int_eq(w.until, T("2024-01-01T00:00"));
  /* Wuhan out-patients paid in cash: nothing to replay */
  ck_assert_int_eq(medshim_schedule_replay_window(&w, set, MEDSHIM_SERVICE_OUTPATIENT,
                                                  "420102", NULL,
                                                  T("2021-12-25T10:00")),
                   MEDSHIM_OK);
  ck_assert_int_eq(w.route, MEDSHIM_ROUTE_NONE);
  /* Hangzhou gradual return: a failed attempt re-settles like the stop */
  ck_assert_int_eq(medshim_schedule_replay_window(&w, set, MEDSHIM_SERVICE_PHARMACY,
                                                  "330102", NULL,
                                                  T("2022-02-16T10:00")),
                   MEDSHIM_OK);
  ck_assert_int_eq(w.route, MEDSHIM_ROUTE_HOSPITAL);
  ck_assert_int_eq(w.from, T("2022-03-15"));
  ck_assert_int_eq(medshim_schedule_replay_window(&w, set, 99, "330102", NULL, 0),
                   MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_schedule_replay_window(&w, set, 1, "33010x", NULL, 0),
                   MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_schedule_decide(&d, set, 1, "3301", NULL, 0), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_schedule_decide(&d, set, 99, "330102", NULL, 0),
                   MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_schedule_decide(&d, set, 1, "330102", "abcdef", 0),
                   MEDSHIM_EINVAL);
  medshim_schedule_set_free(set);
  medshim_schedule_set_free(NULL);
}
END_TEST

int main(void) {
  Suite *s = suite_create("schedule");
  TCase *tc = tcase_create("schedule");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_schedule_hangzhou_transitions);
  tcase_add_test(tc, test_schedule_wuhan_ningxia_beijing_shanxi);
  tcase_add_test(tc, test_schedule_either_region);
  tcase_add_test(tc, test_schedule_amendments);
  tcase_add_test(tc, test_schedule_signatures);
  tcase_add_test(tc, test_schedule_sm2_signatures);
  tcase_add_test(tc, test_schedule_invalid_files);
  tcase_add_test(tc, test_schedule_route_none_and_unchecked_signature);
  tcase_add_test(tc, test_schedule_circuit_breaker);
  tcase_add_test(tc, test_schedule_breaker_threads);
  tcase_add_test(tc, test_schedule_reload_while_deciding);
  tcase_add_test(tc, test_schedule_keygen_signs);
  tcase_add_test(tc, test_schedule_matches_reference);
  tcase_add_test(tc, test_schedule_every_transition_of_every_notice);
  tcase_add_test(tc, test_schedule_replay_window_and_bad_input);
  tcase_add_test(tc, test_schedule_decide_refused_is_defer);
  tcase_add_test(tc, test_schedule_try_online_carries_replay);
  tcase_add_test(tc, test_schedule_reason_codes);
  tcase_add_test(tc, test_schedule_decision_version_1);
  tcase_add_test(tc, test_schedule_after_2038);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
