/* The platform simulator: every transaction, the visibility lag, lost
 * answers, msgid checks, the double-settlement and open-partial detectors,
 * the ledger shared by two processes, and the adapter logic against
 * scripted faults (through a recorder of its own, and through the replay
 * engine). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifndef _WIN32
#include <sys/wait.h> /* test_shared_ledger forks */
#include <unistd.h>
#endif

#include <jansson.h>

#include "medshim/medshim.h"
#include "medshim/sim.h"
#include "os.h"
#include "sim_internal.h"
#include "testproc.h"
#include "testutil.h"

#define VISIT_TIME 1644543000 /* 2022-02-11 09:30:00 +08:00 */

/* Processes sharing a ledger need institutions of their own: msgids are
 * unique per handle only. */
static medshim_sim *open_inst(const char *ledger, uint32_t lag_ms,
                              const char *inst) {
  medshim_sim_options o = MEDSHIM_SIM_OPTIONS_INIT;
  medshim_sim *s = NULL;
  o.institution = inst;
  o.ledger_path = ledger;
  o.lag_ms = lag_ms;
  o.seed = 7;
  ck_assert_int_eq(medshim_sim_open(&s, &o), MEDSHIM_OK);
  return s;
}

static medshim_sim *open_sim(const char *ledger, uint32_t lag_ms) {
  return open_inst(ledger, lag_ms, NULL);
}

/* One call with a fresh msgid; the parsed answer (NULL when lost). */
static json_t *call_msgid(medshim_sim *s, const char *infno, json_t *in,
                          char msgid[MEDSHIM_MSGID_LEN + 1]) {
  char *text = json_dumps(in, JSON_COMPACT), *out = NULL;
  int lost = -1;
  json_error_t e;
  json_t *r;
  ck_assert_ptr_nonnull(text);
  ck_assert_int_eq(medshim_sim_msgid(s, msgid), MEDSHIM_OK);
  ck_assert_int_eq(medshim_sim_call(s, infno, msgid, text, &out, &lost),
                   MEDSHIM_OK);
  free(text);
  json_decref(in);
  if (lost) {
    ck_assert_ptr_null(out);
    return NULL;
  }
  r = json_loads(out, 0, &e);
  ck_assert_ptr_nonnull(r);
  medshim_sim_free(out);
  return r;
}

static json_t *call(medshim_sim *s, const char *infno, json_t *in) {
  char m[MEDSHIM_MSGID_LEN + 1];
  return call_msgid(s, infno, in, m);
}

static int infcode(const json_t *r) {
  return (int)json_integer_value(json_object_get(r, "infcode"));
}

static const char *code(const json_t *r) {
  return json_string_value(json_object_get(r, "err_code"));
}

static const char *field(const json_t *r, const char *obj, const char *k) {
  const char *v = json_string_value(
      json_object_get(json_object_get(json_object_get(r, "output"), obj), k));
  return v ? v : "";
}

/* Expect a success, free the answer. */
static void expect_ok(json_t *r) {
  ck_assert_ptr_nonnull(r);
  ck_assert_msg(infcode(r) == 0, "refused: %s", code(r));
  json_decref(r);
}

static void expect_refused(json_t *r, const char *err) {
  ck_assert_ptr_nonnull(r);
  ck_assert_int_eq(infcode(r), -1);
  ck_assert_str_eq(code(r), err);
  json_decref(r);
}

static json_t *reg_input(const char *psn, const char *ipt, const char *begn) {
  return json_pack("{s:{s:s, s:s, s:s, s:s}}", "data", "psn_no", psn,
                   "ipt_otp_no", ipt, "begntime", begn, "med_type", "11");
}

/* 2201; the mdtrt_id into md. */
static void reg(medshim_sim *s, const char *psn, const char *ipt,
                char md[MSIM_ID], char msgid[MEDSHIM_MSGID_LEN + 1]) {
  json_t *r = call_msgid(s, "2201", reg_input(psn, ipt, "2022-02-11 09:30:00"),
                         msgid);
  ck_assert_ptr_nonnull(r);
  ck_assert_int_eq(infcode(r), 0);
  snprintf(md, MSIM_ID, "%s", field(r, "data", "mdtrt_id"));
  ck_assert_uint_gt(strlen(md), 10);
  json_decref(r);
}

static json_t *fee_input(const char *psn, const char *md, const char *sn,
                         const char *amt) {
  return json_pack("{s:[{s:s, s:s, s:s, s:s}]}", "feedetail", "feedetl_sn", sn,
                   "mdtrt_id", md, "psn_no", psn, "det_item_fee_sumamt", amt);
}

static json_t *visit_input(const char *psn, const char *md) {
  return json_pack("{s:{s:s, s:s}}", "data", "psn_no", psn, "mdtrt_id", md);
}

static json_t *setl_input(const char *psn, const char *md, const char *amt) {
  return json_pack("{s:{s:s, s:s, s:s}}", "data", "psn_no", psn, "mdtrt_id",
                   md, "medfee_sumamt", amt);
}

static json_t *by_setl(const char *psn, const char *md, const char *setl) {
  return json_pack("{s:{s:s, s:s, s:s}}", "data", "psn_no", psn, "mdtrt_id",
                   md, "setl_id", setl);
}

static json_t *rev_input(const char *psn, const char *om, const char *oi) {
  return json_pack("{s:{s:s, s:s, s:s}}", "data", "psn_no", psn, "omsgid", om,
                   "oinfno", oi);
}

static json_t *q5201(const char *psn) {
  return json_pack("{s:{s:s, s:s, s:s}}", "data", "psn_no", psn, "begntime",
                   "2022-02-11 00:00:00", "endtime", "2022-02-11 23:59:59");
}

/* 2201 + 2204 + 2207 of 238.50; setl_id into setl, 2207's msgid into m. */
static void settle_visit(medshim_sim *s, const char *psn, const char *ipt,
                         char md[MSIM_ID], char setl[MSIM_ID],
                         char m[MEDSHIM_MSGID_LEN + 1]) {
  json_t *r;
  reg(s, psn, ipt, md, m);
  expect_ok(call(s, "2204", fee_input(psn, md, "1", "238.50")));
  r = call_msgid(s, "2207", setl_input(psn, md, "238.50"), m);
  ck_assert_ptr_nonnull(r);
  ck_assert_int_eq(infcode(r), 0);
  snprintf(setl, MSIM_ID, "%s", field(r, "setlinfo", "setl_id"));
  json_decref(r);
}

static medshim_sim_stats stats(medshim_sim *s) {
  medshim_sim_stats st;
  ck_assert_int_eq(medshim_sim_stats_get(s, &st), MEDSHIM_OK);
  return st;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0)
    ;
}

/* ---- edge conversions ---- */

START_TEST(test_money_and_time) {
  int64_t fen, t;
  char buf[32];
  json_t *v;
  const char *good[][2] = {{"238.50", "23850"}, {"238.5", "23850"},
                           {"238", "23800"}, {"0.05", "5"}};
  const char *bad[] = {"1.234", "-1", "abc", "", ".5", "1.", "1e3",
                       "9999999999999"};
  for (size_t i = 0; i < 4; i++) {
    v = json_string(good[i][0]);
    ck_assert_int_eq(msim_yuan_parse(&fen, v), 0);
    ck_assert_int_eq(fen, atoll(good[i][1]));
    json_decref(v);
  }
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    v = json_string(bad[i]);
    ck_assert_msg(msim_yuan_parse(&fen, v) != 0, "accepted %s", bad[i]);
    json_decref(v);
  }
  v = json_real(1.5); /* a double is never money */
  ck_assert_int_ne(msim_yuan_parse(&fen, v), 0);
  json_decref(v);
  msim_yuan_format(buf, 23850);
  ck_assert_str_eq(buf, "238.50");
  msim_yuan_format(buf, 5);
  ck_assert_str_eq(buf, "0.05");
  ck_assert_int_eq(msim_time_parse(&t, "2022-03-15 09:00:01"), 0);
  ck_assert_int_eq(t, 1647306001);
  msim_time_format(buf, t);
  ck_assert_str_eq(buf, "2022-03-15 09:00:01");
  msim_time_format(buf, (int64_t)4102444800); /* 2100: 64-bit time */
  ck_assert_str_eq(buf, "2100-01-01 08:00:00");
  ck_assert_int_ne(msim_time_parse(&t, "2022-02-30 09:00:00"), 0);
  ck_assert_int_ne(msim_time_parse(&t, "2022-03-15T09:00:01"), 0);
}
END_TEST

/* ---- transactions ---- */

START_TEST(test_outpatient_sequence) {
  medshim_sim *s = open_sim(NULL, 0);
  char md[MSIM_ID], m[MEDSHIM_MSGID_LEN + 1], setl[MSIM_ID];
  medshim_sim_visit v;
  json_t *r = call(s, "1101", json_pack("{s:{s:s}}", "data", "psn_no", "P1"));
  ck_assert_str_eq(field(r, "baseinfo", "psn_no"), "P1");
  json_decref(r);
  r = call(s, "1101", json_pack("{s:{s:s}}", "data", "mdtrt_cert_no", "X1"));
  ck_assert_uint_gt(strlen(field(r, "baseinfo", "psn_no")), 1);
  json_decref(r);
  reg(s, "P1", "MZ-1", md, m);
  expect_ok(call(s, "2204", fee_input("P1", md, "1", "200.00")));
  expect_refused(call(s, "2204", fee_input("P1", md, "1", "1.00")),
                 MEDSHIM_SIM_ERR_INPUT); /* feedetl_sn unique in a visit */
  expect_ok(call(s, "2204", fee_input("P1", md, "2", "38.50")));
  expect_refused(call(s, "2206", setl_input("P1", md, "238.00")),
                 MEDSHIM_SIM_ERR_AMOUNT);
  r = call(s, "2206", setl_input("P1", md, "238.50"));
  ck_assert_str_eq(field(r, "setlinfo", "fund_pay_sumamt"), "166.95");
  ck_assert_str_eq(field(r, "setlinfo", "setl_id"), "");
  json_decref(r);
  r = call(s, "2207", setl_input("P1", md, "238.50"));
  ck_assert_int_eq(infcode(r), 0);
  snprintf(setl, sizeof setl, "%s", field(r, "setlinfo", "setl_id"));
  ck_assert_str_eq(field(r, "setlinfo", "medfee_sumamt"), "238.50");
  ck_assert_str_eq(field(r, "setlinfo", "acct_pay"), "23.85");
  ck_assert_str_eq(field(r, "setlinfo", "psn_cash_pay"), "47.70");
  ck_assert_uint_eq(strlen(field(r, "setlinfo", "setl_time")), 19);
  json_decref(r);
  /* the platform refuses to settle the same mdtrt_id twice */
  expect_refused(call(s, "2207", setl_input("P1", md, "238.50")),
                 MEDSHIM_SIM_ERR_STATE);
  r = call(s, "5203", by_setl("P1", md, setl));
  ck_assert_str_eq(field(r, "setlinfo", "vali_flag"), "1");
  json_decref(r);
  expect_refused(call(s, "5203", by_setl("P2", md, setl)),
                 MEDSHIM_SIM_ERR_NOT_FOUND);
  ck_assert_int_eq(medshim_sim_visit_get(s, &v, "P1", "MZ-1"), MEDSHIM_OK);
  ck_assert_uint_eq(v.settlements, 1);
  ck_assert_str_eq(v.setl_id, setl);
  ck_assert_int_eq(v.total_fen, 23850);
  ck_assert_int_eq(v.fund_paid_fen + v.acct_paid_fen + v.patient_paid_fen +
                       v.hospital_share_fen, v.total_fen);
  /* 2208, then the visit can be undone */
  expect_ok(call(s, "2208", by_setl("P1", md, setl)));
  expect_refused(call(s, "2208", by_setl("P1", md, setl)),
                 MEDSHIM_SIM_ERR_ALREADY_CANCELLED);
  r = call(s, "5203", by_setl("P1", md, setl));
  ck_assert_str_eq(field(r, "setlinfo", "vali_flag"), "0");
  json_decref(r);
  ck_assert_uint_eq(stats(s).cancelled_settlements, 1);
  ck_assert_uint_eq(stats(s).open_partial, 1);
  expect_refused(call(s, "2202", visit_input("P1", md)), MEDSHIM_SIM_ERR_STATE);
  expect_ok(call(s, "2205", visit_input("P1", md)));
  expect_ok(call(s, "2202", visit_input("P1", md)));
  expect_refused(call(s, "2202", visit_input("P1", md)),
                 MEDSHIM_SIM_ERR_ALREADY_CANCELLED);
  ck_assert_uint_eq(stats(s).open_partial, 0);
  ck_assert_uint_eq(stats(s).settlements, 0);
  expect_refused(call(s, "9999", json_object()), MEDSHIM_SIM_ERR_INFNO);
  expect_refused(call(s, "2201", json_pack("{s:s}", "psn_no", "P1")),
                 MEDSHIM_SIM_ERR_INPUT);
  medshim_sim_close(s);
}
END_TEST

START_TEST(test_visit_query) {
  medshim_sim *s = open_sim(NULL, 0);
  char md[MSIM_ID], m[MEDSHIM_MSGID_LEN + 1];
  json_t *r, *rows;
  reg(s, "P1", "MZ-1", md, m);
  expect_ok(call(s, "2201", reg_input("P1", "MZ-2", "2022-02-12 10:00:00")));
  expect_ok(call(s, "2201", reg_input("P2", "MZ-3", "2022-02-11 10:00:00")));
  r = call(s, "5201", q5201("P1"));
  rows = json_object_get(json_object_get(r, "output"), "mdtrtinfo");
  ck_assert_uint_eq(json_array_size(rows), 1);
  ck_assert_str_eq(json_string_value(json_object_get(json_array_get(rows, 0),
                                                     "mdtrt_id")), md);
  ck_assert_str_eq(json_string_value(json_object_get(json_array_get(rows, 0),
                                                     "ipt_otp_no")), "MZ-1");
  json_decref(r);
  r = call(s, "5201", json_pack("{s:{s:s, s:s, s:s, s:s}}", "data", "psn_no",
                                "P1", "begntime", "2022-02-01 00:00:00",
                                "endtime", "2022-02-28 00:00:00", "med_type",
                                "14"));
  ck_assert_uint_eq(json_array_size(json_object_get(
                        json_object_get(r, "output"), "mdtrtinfo")), 0);
  json_decref(r);
  expect_refused(call(s, "5201", json_pack("{s:s}", "psn_no", "P1")),
                 MEDSHIM_SIM_ERR_INPUT);
  medshim_sim_close(s);
}
END_TEST

START_TEST(test_reversal) {
  medshim_sim *s = open_sim(NULL, 0);
  char md[MSIM_ID], setl[MSIM_ID], m[MEDSHIM_MSGID_LEN + 1], m1[MEDSHIM_MSGID_LEN + 1];
  char rm[MEDSHIM_MSGID_LEN + 1], q[MEDSHIM_MSGID_LEN + 1];
  settle_visit(s, "P1", "MZ-1", md, setl, m);
  /* unknown original, another person's, wrong infno: "never saw it" */
  ck_assert_int_eq(medshim_sim_msgid(s, q), MEDSHIM_OK);
  expect_refused(call(s, "2601", rev_input("P1", q, "2207")),
                 MEDSHIM_SIM_ERR_NOT_FOUND);
  expect_refused(call(s, "2601", rev_input("P2", m, "2207")),
                 MEDSHIM_SIM_ERR_NOT_FOUND);
  expect_refused(call(s, "2601", rev_input("P1", m, "2201")),
                 MEDSHIM_SIM_ERR_NOT_FOUND);
  /* a registration cannot be reversed under its settlement */
  reg(s, "P1", "MZ-2", md, m1);
  expect_ok(call(s, "2601", rev_input("P1", m, "2207")));
  expect_refused(call(s, "2601", rev_input("P1", m, "2207")),
                 MEDSHIM_SIM_ERR_ALREADY_REVERSED);
  expect_ok(call(s, "2601", rev_input("P1", m1, "2201")));
  /* a read did nothing; an undo cannot be reversed */
  json_decref(call_msgid(s, "5201", q5201("P1"), rm));
  expect_refused(call(s, "2601", rev_input("P1", rm, "5201")),
                 MEDSHIM_SIM_ERR_NOT_FOUND);
  ck_assert_uint_eq(stats(s).reversals, 2);
  ck_assert_uint_eq(stats(s).settlements, 0);
  ck_assert_uint_eq(stats(s).open_partial, 1); /* MZ-1's registration */
  medshim_sim_close(s);
}
END_TEST

START_TEST(test_lag) {
  medshim_sim *s = open_sim(NULL, 400);
  char md[MSIM_ID], setl[MSIM_ID], m[MEDSHIM_MSGID_LEN + 1];
  json_t *r;
  settle_visit(s, "P1", "MZ-1", md, setl, m);
  /* the write path sees at once; the query paths are blind for 400 ms */
  expect_refused(call(s, "2207", setl_input("P1", md, "238.50")),
                 MEDSHIM_SIM_ERR_STATE);
  r = call(s, "5201", q5201("P1"));
  ck_assert_uint_eq(json_array_size(json_object_get(
                        json_object_get(r, "output"), "mdtrtinfo")), 0);
  json_decref(r);
  expect_refused(call(s, "5203", by_setl("P1", md, setl)),
                 MEDSHIM_SIM_ERR_NOT_FOUND);
  expect_refused(call(s, "2601", rev_input("P1", m, "2207")),
                 MEDSHIM_SIM_ERR_NOT_FOUND);
  sleep_ms(500);
  r = call(s, "5201", q5201("P1"));
  ck_assert_uint_eq(json_array_size(json_object_get(
                        json_object_get(r, "output"), "mdtrtinfo")), 1);
  json_decref(r);
  expect_ok(call(s, "5203", by_setl("P1", md, setl)));
  expect_ok(call(s, "2601", rev_input("P1", m, "2207")));
  ck_assert_uint_eq(stats(s).settlements, 0);
  medshim_sim_close(s);
}
END_TEST

START_TEST(test_msgid) {
  medshim_sim_options o = MEDSHIM_SIM_OPTIONS_INIT;
  medshim_sim *s = NULL;
  char m[MEDSHIM_MSGID_LEN + 1], *out = NULL;
  int lost = 0;
  const char *bad[] = {"", "H33010200001", "H330102000012022031509000000011",
                       "H33010200001202213150900000001",  /* month 13 */
                       "H3301020000-202203150900000001",  /* not alnum */
                       "H33010200001202203150900000x01",
                       "H99999999999202203150900000001"}; /* other institution */
  o.institution = "H33010200001";
  ck_assert_int_eq(medshim_sim_open(&s, &o), MEDSHIM_OK);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ck_assert_int_eq(medshim_sim_call(s, "1101", bad[i], "{\"psn_no\":\"P1\"}",
                                      &out, &lost), MEDSHIM_OK);
    ck_assert_ptr_nonnull(strstr(out, MEDSHIM_SIM_ERR_MSGID_INVALID));
    medshim_sim_free(out);
  }
  ck_assert_uint_eq(stats(s).msgid_invalid, sizeof bad / sizeof bad[0]);
  json_decref(call_msgid(s, "1101", json_pack("{s:s}", "psn_no", "P1"), m));
  ck_assert_int_eq(strncmp(m, "H33010200001", 12), 0);
  ck_assert_int_eq(medshim_sim_call(s, "2201", m, "{}", &out, &lost), MEDSHIM_OK);
  ck_assert_ptr_nonnull(strstr(out, MEDSHIM_SIM_ERR_MSGID_REPEAT));
  medshim_sim_free(out);
  ck_assert_uint_eq(stats(s).msgid_repeats, 1);
  ck_assert_int_eq(medshim_sim_call(NULL, "1101", m, "{}", &out, &lost),
                   MEDSHIM_EINVAL);
  medshim_sim_close(s);
  o.institution = "SHORT";
  medshim_last_error_clear();
  ck_assert_int_eq(medshim_sim_open(&s, &o), MEDSHIM_EINVAL);
  /* the refusal says why, where every libmedshim call does */
  ck_assert_int_eq(medshim_last_error()->code, MEDSHIM_EINVAL);
  ck_assert_str_eq(medshim_last_error()->where, "opts");
  ck_assert_ptr_nonnull(strstr(medshim_last_error()->text, "institution code"));
  o.version = 99;
  ck_assert_int_eq(medshim_sim_open(&s, &o), MEDSHIM_EINVAL);
  ck_assert_str_eq(medshim_last_error()->where, "version");
  o.version = MEDSHIM_SIM_OPTIONS_VERSION;
  o.institution = NULL;
  o.ledger_path = "/nonexistent-dir/ledger";
  ck_assert_int_eq(medshim_sim_open(&s, &o), MEDSHIM_EIO);
  ck_assert_str_eq(medshim_last_error()->where, "ledger_path");
}
END_TEST

START_TEST(test_faults) {
  medshim_sim_options o = MEDSHIM_SIM_OPTIONS_INIT;
  medshim_sim *s = open_sim(NULL, 0), *rej = NULL;
  char md[MSIM_ID], m[MEDSHIM_MSGID_LEN + 1];
  medshim_sim_visit v;
  medshim_sim_stats st;
  json_t *r;
  /* busy: nothing done */
  ck_assert_int_eq(medshim_sim_inject(s, "2201", MEDSHIM_SIM_FAULT_BUSY, 1),
                   MEDSHIM_OK);
  expect_refused(call(s, "2201", reg_input("P1", "MZ-1", "2022-02-11 09:30:00")),
                 MEDSHIM_SIM_ERR_BUSY);
  ck_assert_int_eq(medshim_sim_visit_get(s, &v, "P1", "MZ-1"), MEDSHIM_ENOTFOUND);
  /* lost: done, unheard */
  reg(s, "P1", "MZ-1", md, m);
  expect_ok(call(s, "2204", fee_input("P1", md, "1", "10.00")));
  ck_assert_int_eq(medshim_sim_inject(s, "2207", MEDSHIM_SIM_FAULT_LOST, 1),
                   MEDSHIM_OK);
  ck_assert_ptr_null(call(s, "2207", setl_input("P1", md, "10.00")));
  ck_assert_int_eq(medshim_sim_visit_get(s, &v, "P1", "MZ-1"), MEDSHIM_OK);
  ck_assert_uint_eq(v.settlements, 1);
  st = stats(s);
  ck_assert_uint_eq(st.lost_answers, 1);
  ck_assert_uint_eq(st.busy, 1);
  ck_assert_uint_eq(st.settle_calls, 1);
  /* injected refusal */
  ck_assert_int_eq(medshim_sim_inject(s, NULL, MEDSHIM_SIM_FAULT_REJECT, 1),
                   MEDSHIM_OK);
  expect_refused(call(s, "1101", json_pack("{s:s}", "psn_no", "P1")),
                 MEDSHIM_SIM_ERR_REJECTED);
  ck_assert_int_eq(medshim_sim_inject(s, NULL, (medshim_sim_fault)9, 1),
                   MEDSHIM_EINVAL);
  medshim_sim_close(s);
  /* stable refusals per person, without the person in the message */
  o.reject_permille = 1000;
  ck_assert_int_eq(medshim_sim_open(&rej, &o), MEDSHIM_OK);
  r = call(rej, "2201", reg_input("P12345", "MZ-1", "2022-02-11 09:30:00"));
  ck_assert_str_eq(code(r), MEDSHIM_SIM_ERR_PERSON);
  {
    char *text = json_dumps(r, 0);
    ck_assert_ptr_null(strstr(text, "P12345")); /* no personal data */
    free(text);
  }
  json_decref(r);
  expect_refused(call(rej, "1101", json_pack("{s:s}", "psn_no", "P12345")),
                 MEDSHIM_SIM_ERR_PERSON);
  medshim_sim_close(rej);
  /* every call busy */
  o.reject_permille = 0;
  o.retry_permille = 1000;
  ck_assert_int_eq(medshim_sim_open(&rej, &o), MEDSHIM_OK);
  expect_refused(call(rej, "1101", json_pack("{s:s}", "psn_no", "P1")),
                 MEDSHIM_SIM_ERR_BUSY);
  medshim_sim_close(rej);
}
END_TEST

START_TEST(test_detectors) {
  medshim_sim *s = open_sim(NULL, 0);
  char md[MSIM_ID], md2[MSIM_ID], setl[MSIM_ID], m[MEDSHIM_MSGID_LEN + 1];
  medshim_sim_visit v;
  medshim_sim_stats st;
  reg(s, "P1", "MZ-9", md, m);
  st = stats(s);
  ck_assert_uint_eq(st.open_partial, 1);
  ck_assert_uint_eq(st.open_registrations, 1);
  expect_ok(call(s, "2202", visit_input("P1", md)));
  ck_assert_uint_eq(stats(s).open_partial, 0);
  /* the same visit settled through two registrations: a double settlement */
  settle_visit(s, "P1", "MZ-1", md, setl, m);
  ck_assert_uint_eq(stats(s).double_settlements, 0);
  settle_visit(s, "P1", "MZ-1", md2, setl, m);
  st = stats(s);
  ck_assert_uint_eq(st.double_settlements, 1);
  ck_assert_uint_eq(st.settlements, 2);
  ck_assert_uint_eq(medshim_sim_double_attempts(s), 1);
  ck_assert_int_eq(medshim_sim_visit_get(s, &v, "P1", "MZ-1"), MEDSHIM_OK);
  ck_assert_uint_eq(v.settlements, 2);
  ck_assert_uint_eq(v.registrations, 2);
  /* the same visit number for another person is another visit */
  settle_visit(s, "P2", "MZ-1", md, setl, m);
  ck_assert_uint_eq(stats(s).double_settlements, 1);
  /* reversing one of the two ends the double settlement */
  expect_ok(call(s, "2208", by_setl("P1", md2, v.setl_id)));
  ck_assert_uint_eq(stats(s).double_settlements, 0);
  medshim_sim_close(s);
}
END_TEST

#ifndef _WIN32 /* fork; on Windows cli_exec's adapters share a ledger */
/* Two processes on one ledger: each sees the other's work, ids never
 * collide, a msgid used by one is a repeat for the other. */
START_TEST(test_shared_ledger) {
  char *dir = tu_tempdir(), *ledger = tu_path(dir, "ledger");
  char md[MSIM_ID], setl[MSIM_ID], m[MEDSHIM_MSGID_LEN + 1], ipt[32];
  char shared[MEDSHIM_MSGID_LEN + 1] = "H00000000000202203150900009999";
  medshim_sim *s;
  medshim_sim_stats st;
  int status;
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    medshim_sim *c = open_sim(ledger, 0);
    char *out = NULL;
    int lost = 0, bad = 0;
    bad |= medshim_sim_call(c, "1101", shared, "{\"psn_no\":\"C\"}", &out, &lost);
    bad |= out == NULL || strstr(out, "\"infcode\":0") == NULL;
    medshim_sim_free(out);
    medshim_sim_close(c);
    c = open_inst(ledger, 0, "C00000000000");
    for (int i = 0; i < 40 && !bad; i++) {
      snprintf(ipt, sizeof ipt, "C-%d", i);
      settle_visit(c, "PC", ipt, md, setl, m);
    }
    medshim_sim_close(c);
    _exit(bad ? 3 : 0);
  }
  s = open_inst(ledger, 0, "P00000000000");
  for (int i = 0; i < 40; i++) {
    snprintf(ipt, sizeof ipt, "P-%d", i);
    settle_visit(s, "PP", ipt, md, setl, m);
  }
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_int_eq(WEXITSTATUS(status), 0);
  st = stats(s);
  ck_assert_uint_eq(st.settlements, 80);
  ck_assert_uint_eq(st.registrations, 80);
  ck_assert_uint_eq(st.double_settlements, 0);
  ck_assert_uint_eq(st.damaged_lines, 0);
  medshim_sim_close(s);
  s = open_sim(ledger, 0);
  {
    char *out = NULL;
    int lost = 0;
    ck_assert_int_eq(medshim_sim_call(s, "1101", shared, "{\"psn_no\":\"P\"}",
                                      &out, &lost), MEDSHIM_OK);
    ck_assert_ptr_nonnull(strstr(out, MEDSHIM_SIM_ERR_MSGID_REPEAT));
    medshim_sim_free(out);
  }
  medshim_sim_close(s);
  tu_rmtree(dir);
  free(ledger);
  free(dir);
}
END_TEST
#endif

/* ---- the adapter logic, recording into a step log of the test's own ---- */

typedef struct steplog {
  medshim_sim *sim;
  medshim_step steps[MEDSHIM_STEPS_MAX];
  size_t n;
  int fail_begin; /* refuse to record from this step on (1-based), 0 never */
} steplog;

static size_t log_count(void *c) { return ((steplog *)c)->n; }

static const medshim_step *log_step(void *c, size_t i) {
  steplog *l = c;
  return i < l->n ? &l->steps[i] : NULL;
}

static int log_begin(void *c, char msgid[MEDSHIM_MSGID_LEN + 1],
                     const char *infno) {
  steplog *l = c;
  medshim_step *st;
  if (l->n == MEDSHIM_STEPS_MAX)
    return MEDSHIM_ERANGE;
  if (l->fail_begin && l->n + 1 >= (size_t)l->fail_begin)
    return MEDSHIM_EIO;
  ck_assert_int_eq(medshim_sim_msgid(l->sim, msgid), MEDSHIM_OK);
  st = &l->steps[l->n++];
  memset(st, 0, sizeof *st);
  st->version = MEDSHIM_STEP_VERSION;
  snprintf(st->infno, sizeof st->infno, "%s", infno);
  memcpy(st->msgid, msgid, MEDSHIM_MSGID_LEN + 1);
  st->state = MEDSHIM_STEP_SENT;
  return MEDSHIM_OK;
}

static int log_end(void *c, const medshim_step *st) {
  steplog *l = c;
  for (size_t i = 0; i < l->n; i++)
    if (strcmp(l->steps[i].msgid, st->msgid) == 0) {
      ck_assert_int_ne(st->state, MEDSHIM_STEP_SENT);
      l->steps[i] = *st;
      return MEDSHIM_OK;
    }
  return MEDSHIM_ENOTFOUND;
}

static msim_actx actx(steplog *l, medshim_sim *sim, const char *visit) {
  msim_actx a;
  memset(&a, 0, sizeof a);
  a.sim = sim;
  a.attempt = 1;
  a.claim.visit_id = visit;
  a.claim.psn_no = "P1";
  a.claim.replay_key = "MS0000000000000000000000000001";
  a.claim.service = MEDSHIM_SERVICE_OUTPATIENT;
  a.claim.visit_time = VISIT_TIME;
  a.claim.total_fen = 23850;
  a.rec = (msim_recorder){log_count, log_step, log_begin, log_end, l};
  l->sim = sim;
  return a;
}

static medshim_settlement run(int probe, msim_actx *a) {
  medshim_settlement o;
  memset(&o, 0, sizeof o);
  o.version = MEDSHIM_SETTLEMENT_VERSION;
  ck_assert_int_eq(probe ? msim_adapter_probe(&o, a) : msim_adapter_settle(&o, a), 0);
  return o;
}

/* The infnos of the log, "1101 2201 ...". */
static const char *trail(const steplog *l) {
  static char buf[512];
  buf[0] = '\0';
  for (size_t i = 0; i < l->n; i++) {
    strcat(buf, l->steps[i].infno);
    strcat(buf, l->steps[i].state == MEDSHIM_STEP_OK ? " " :
                l->steps[i].state == MEDSHIM_STEP_FAILED ? "! " : "? ");
  }
  return buf;
}

static void expect_clean(medshim_sim *s, size_t settled) {
  medshim_sim_stats st = stats(s);
  ck_assert_uint_eq(st.settlements, settled);
  ck_assert_uint_eq(st.double_settlements, 0);
  ck_assert_uint_eq(st.open_partial, 0);
}

START_TEST(test_adapter_settles) {
  medshim_sim *s = open_sim(NULL, 0);
  steplog l = {0};
  msim_actx a = actx(&l, s, "MZ-1");
  medshim_settlement o = run(0, &a);
  medshim_sim_visit v;
  ck_assert_int_eq(o.outcome, MEDSHIM_OUTCOME_SETTLED);
  ck_assert_str_eq(trail(&l), "1101 2201 2204 2206 2207 ");
  ck_assert_int_eq(o.total_fen, 23850);
  ck_assert_int_eq(o.fund_paid_fen + o.acct_paid_fen + o.patient_paid_fen +
                       o.hospital_share_fen, o.total_fen);
  ck_assert_str_eq(o.msgid, l.steps[4].msgid);
  ck_assert_str_eq(o.settlement_id, l.steps[4].setl_id);
  ck_assert_str_eq(o.mdtrt_id, l.steps[1].mdtrt_id);
  ck_assert_int_gt(o.setl_time, 1600000000);
  ck_assert_int_eq(medshim_sim_visit_get(s, &v, "P1", "MZ-1"), MEDSHIM_OK);
  ck_assert_str_eq(v.setl_id, o.settlement_id);
  ck_assert_int_eq(medshim_sim_is_settled(s, a.claim.replay_key), 1);
  /* a probe of a settled attempt confirms it with 5203 */
  o = run(1, &a);
  ck_assert_int_eq(o.outcome, MEDSHIM_OUTCOME_SETTLED);
  ck_assert_str_eq(o.settlement_id, v.setl_id);
  ck_assert_str_eq(trail(&l), "1101 2201 2204 2206 2207 5203 5201 ");
  expect_clean(s, 1);
  medshim_sim_close(s);
}
END_TEST

START_TEST(test_adapter_undoes_refusals) {
  medshim_sim *s = open_sim(NULL, 0);
  steplog l = {0};
  msim_actx a = actx(&l, s, "MZ-1");
  medshim_settlement o;
  ck_assert_int_eq(medshim_sim_inject(s, "2207", MEDSHIM_SIM_FAULT_REJECT, 1), 0);
  o = run(0, &a);
  ck_assert_int_eq(o.outcome, MEDSHIM_OUTCOME_REJECTED);
  ck_assert_str_eq(o.code, "2207:rejected");
  ck_assert_str_eq(trail(&l), "1101 2201 2204 2206 2207! 2205 2202 ");
  expect_clean(s, 0);
  l.n = 0;
  ck_assert_int_eq(medshim_sim_inject(s, "2204", MEDSHIM_SIM_FAULT_BUSY, 3), 0);
  o = run(0, &a);
  ck_assert_int_eq(o.outcome, MEDSHIM_OUTCOME_RETRY);
  ck_assert_str_eq(trail(&l), "1101 2201 2204! 2204! 2204! 2202 ");
  expect_clean(s, 0);
  /* a lost read changes nothing: undone and RETRY */
  l.n = 0;
  ck_assert_int_eq(medshim_sim_inject(s, "2206", MEDSHIM_SIM_FAULT_LOST, 1), 0);
  o = run(0, &a);
  ck_assert_int_eq(o.outcome, MEDSHIM_OUTCOME_RETRY);
  ck_assert_str_eq(trail(&l), "1101 2201 2204 2206? 2205 2202 ");
  expect_clean(s, 0);
  /* an undo that fails leaves the outcome unknown */
  l.n = 0;
  ck_assert_int_eq(medshim_sim_inject(s, "2207", MEDSHIM_SIM_FAULT_REJECT, 1), 0);
  ck_assert_int_eq(medshim_sim_inject(s, "2205", MEDSHIM_SIM_FAULT_LOST, 1), 0);
  o = run(0, &a);
  ck_assert_int_eq(o.outcome, MEDSHIM_OUTCOME_UNKNOWN);
  medshim_sim_close(s);
}
END_TEST

START_TEST(test_adapter_person_rejected) {
  medshim_sim_options so = MEDSHIM_SIM_OPTIONS_INIT;
  medshim_sim *s = NULL;
  steplog l = {0};
  msim_actx a;
  medshim_settlement o;
  so.reject_permille = 1000;
  ck_assert_int_eq(medshim_sim_open(&s, &so), MEDSHIM_OK);
  a = actx(&l, s, "MZ-1");
  o = run(0, &a);
  ck_assert_int_eq(o.outcome, MEDSHIM_OUTCOME_REJECTED);
  ck_assert_str_eq(o.code, "1101:person_not_found");
  ck_assert_ptr_null(strstr(o.message, "P1"));
  medshim_sim_close(s);
}
END_TEST

/* A lost 2207: UNKNOWN; the probe reverses it (2601 by its msgid), undoes
 * the registration and says NOT_FOUND; the resend settles once. */
START_TEST(test_adapter_lost_settle) {
  medshim_sim *s = open_sim(NULL, 0);
  steplog l = {0};
  msim_actx a = actx(&l, s, "MZ-1");
  medshim_settlement o;
  ck_assert_int_eq(medshim_sim_inject(s, "2207", MEDSHIM_SIM_FAULT_LOST, 1), 0);
  o = run(0, &a);
  ck_assert_int_eq(o.outcome, MEDSHIM_OUTCOME_UNKNOWN);
  ck_assert_uint_eq(stats(s).settlements, 1);
  o = run(1, &a);
  ck_assert_int_eq(o.outcome, MEDSHIM_OUTCOME_NOT_FOUND);
  ck_assert_str_eq(trail(&l), "1101 2201 2204 2206 2207? 2601 5201 2205 2202 ");
  ck_assert_uint_eq(stats(s).reversals, 1);
  expect_clean(s, 0);
  a.attempt = 2;
  o = run(0, &a);
  ck_assert_int_eq(o.outcome, MEDSHIM_OUTCOME_SETTLED);
  expect_clean(s, 1);
  medshim_sim_close(s);
}
END_TEST

/* Killed while the 2207 was out: its step is SENT and names no mdtrt_id
 * (only step_end records one). The probe must still reverse it by its
 * msgid, or 2205 is refused for ever on a settled visit. */
START_TEST(test_adapter_killed_during_settle) {
  medshim_sim *s = open_sim(NULL, 0);
  steplog l = {0};
  msim_actx a = actx(&l, s, "MZ-1");
  medshim_settlement o;
  ck_assert_int_eq(medshim_sim_inject(s, "2207", MEDSHIM_SIM_FAULT_LOST, 1), 0);
  o = run(0, &a);
  ck_assert_int_eq(o.outcome, MEDSHIM_OUTCOME_UNKNOWN);
  ck_assert_str_eq(l.steps[l.n - 1].infno, "2207");
  l.steps[l.n - 1].state = MEDSHIM_STEP_SENT; /* as a kill leaves it */
  l.steps[l.n - 1].mdtrt_id[0] = '\0';
  o = run(1, &a);
  ck_assert_int_eq(o.outcome, MEDSHIM_OUTCOME_NOT_FOUND);
  ck_assert_ptr_nonnull(strstr(trail(&l), "2207? 2601 "));
  ck_assert_uint_eq(stats(s).reversals, 1);
  expect_clean(s, 0);
  medshim_sim_close(s);
}
END_TEST

/* A lost 2201: the probe finds the registration with 5201 and undoes it. */
START_TEST(test_adapter_lost_register) {
  medshim_sim *s = open_sim(NULL, 0);
  steplog l = {0};
  msim_actx a = actx(&l, s, "MZ-1");
  medshim_settlement o;
  ck_assert_int_eq(medshim_sim_inject(s, "2201", MEDSHIM_SIM_FAULT_LOST, 1), 0);
  o = run(0, &a);
  ck_assert_int_eq(o.outcome, MEDSHIM_OUTCOME_UNKNOWN);
  ck_assert_uint_eq(stats(s).open_partial, 1);
  o = run(1, &a);
  ck_assert_int_eq(o.outcome, MEDSHIM_OUTCOME_NOT_FOUND);
  ck_assert_str_eq(trail(&l), "1101 2201? 5201 2202 ");
  expect_clean(s, 0);
  medshim_sim_close(s);
}
END_TEST

START_TEST(test_adapter_probe_lost_call) {
  medshim_sim *s = open_sim(NULL, 0);
  steplog l = {0};
  msim_actx a = actx(&l, s, "MZ-1");
  medshim_settlement o;
  ck_assert_int_eq(medshim_sim_inject(s, "2207", MEDSHIM_SIM_FAULT_LOST, 1), 0);
  ck_assert_int_eq(run(0, &a).outcome, MEDSHIM_OUTCOME_UNKNOWN);
  ck_assert_int_eq(medshim_sim_inject(s, "2601", MEDSHIM_SIM_FAULT_LOST, 1), 0);
  o = run(1, &a);
  ck_assert_int_eq(o.outcome, MEDSHIM_OUTCOME_UNKNOWN);
  ck_assert_int_eq(medshim_sim_inject(s, "5201", MEDSHIM_SIM_FAULT_LOST, 1), 0);
  ck_assert_int_eq(run(1, &a).outcome, MEDSHIM_OUTCOME_UNKNOWN);
  /* the lost 2601 was done: the next probe finds it already reversed */
  ck_assert_int_eq(run(1, &a).outcome, MEDSHIM_OUTCOME_NOT_FOUND);
  expect_clean(s, 0);
  medshim_sim_close(s);
}
END_TEST

/* The trap: inside the visibility lag 2601 and 5201 are blind. The probe
 * notices (a registration it recorded is missing from 5201) and says
 * UNKNOWN; a caller that trusted 2601's "not found" and sent again would
 * settle the visit twice, which the detector sees. After the lag the same
 * probe reverses the lost settlement and the resend settles once. */
START_TEST(test_adapter_probe_inside_lag) {
  medshim_sim *s = open_sim(NULL, 300);
  steplog l = {0};
  msim_actx a = actx(&l, s, "MZ-1");
  ck_assert_int_eq(medshim_sim_inject(s, "2207", MEDSHIM_SIM_FAULT_LOST, 1), 0);
  ck_assert_int_eq(run(0, &a).outcome, MEDSHIM_OUTCOME_UNKNOWN);
  expect_refused(call(s, "2601", rev_input("P1", l.steps[4].msgid, "2207")),
                 MEDSHIM_SIM_ERR_NOT_FOUND);
  ck_assert_int_eq(run(1, &a).outcome, MEDSHIM_OUTCOME_UNKNOWN);
  ck_assert_int_eq(run(0, &a).outcome, MEDSHIM_OUTCOME_SETTLED); /* naive */
  ck_assert_uint_eq(stats(s).double_settlements, 1);
  medshim_sim_close(s);
  s = open_sim(NULL, 300);
  memset(&l, 0, sizeof l);
  a = actx(&l, s, "MZ-1");
  ck_assert_int_eq(medshim_sim_inject(s, "2207", MEDSHIM_SIM_FAULT_LOST, 1), 0);
  ck_assert_int_eq(run(0, &a).outcome, MEDSHIM_OUTCOME_UNKNOWN);
  sleep_ms(400);
  ck_assert_int_eq(run(1, &a).outcome, MEDSHIM_OUTCOME_NOT_FOUND);
  ck_assert_int_eq(run(0, &a).outcome, MEDSHIM_OUTCOME_SETTLED);
  expect_clean(s, 1);
  medshim_sim_close(s);
}
END_TEST

/* A step that cannot be recorded is never sent. */
START_TEST(test_adapter_unrecorded_not_sent) {
  medshim_sim *s = open_sim(NULL, 0);
  steplog l = {0};
  msim_actx a = actx(&l, s, "MZ-1");
  medshim_settlement o;
  l.fail_begin = 3; /* 1101, 2201 recorded; 2204 refused */
  o = run(0, &a);
  ck_assert_int_eq(o.outcome, MEDSHIM_OUTCOME_UNKNOWN);
  ck_assert_str_eq(trail(&l), "1101 2201 ");
  ck_assert_uint_eq(stats(s).calls, 2);
  l.fail_begin = 0;
  ck_assert_int_eq(run(1, &a).outcome, MEDSHIM_OUTCOME_NOT_FOUND);
  expect_clean(s, 0);
  medshim_sim_close(s);
}
END_TEST

START_TEST(test_torn_ledger_line) {
  char *dir = tu_tempdir(), *ledger = tu_path(dir, "ledger");
  char md[MSIM_ID], setl[MSIM_ID], m[MEDSHIM_MSGID_LEN + 1];
  medshim_sim *s = open_sim(ledger, 0), *t;
  FILE *f;
  settle_visit(s, "P1", "MZ-1", md, setl, m);
  f = fopen(ledger, "a");
  ck_assert_ptr_nonnull(f);
  fputs("{\"k\":\"setl\",\"mdt", f); /* a writer killed mid-line */
  fclose(f);
  settle_visit(s, "P1", "MZ-2", md, setl, m);
  t = open_sim(ledger, 0);
  ck_assert_uint_eq(stats(t).settlements, 2);
  ck_assert_uint_eq(stats(t).damaged_lines, 1);
  medshim_sim_close(t);
  medshim_sim_close(s);
  tu_rmtree(dir);
  free(ledger);
  free(dir);
}
END_TEST

/* ---- what every reader of the ledger sees ---- */

static char *stats_text(medshim_sim *s) {
  char *t = NULL;
  ck_assert_int_eq(medshim_sim_stats_json(s, &t), MEDSHIM_OK);
  return t;
}

static void same_map(const msim_map *a, const msim_map *b) {
  ck_assert_uint_eq(a->n, b->n);
  for (size_t i = 0; i < a->cap; i++)
    if (a->keys[i] != NULL) {
      size_t v = (size_t)-1;
      ck_assert_msg(msim_map_get(b, a->keys[i], &v), "key %s", a->keys[i]);
      ck_assert_uint_eq(v, a->vals[i]);
    }
}

static void same_str(const char *a, const char *b) {
  ck_assert((a == NULL) == (b == NULL));
  if (a != NULL)
    ck_assert_str_eq(a, b);
}

/* Field by field, maps by their keys. */
static void same_state(const msim_state *a, const msim_state *b) {
  ck_assert_uint_eq(a->events, b->events);
  ck_assert_uint_eq(a->calls, b->calls);
  ck_assert_uint_eq(a->repeats, b->repeats);
  ck_assert_uint_eq(a->invalid, b->invalid);
  ck_assert_uint_eq(a->lost, b->lost);
  ck_assert_uint_eq(a->reversals, b->reversals);
  ck_assert_uint_eq(a->cancels, b->cancels);
  ck_assert_uint_eq(a->damaged, b->damaged);
  ck_assert_uint_eq(a->nv, b->nv);
  ck_assert_uint_eq(a->ns, b->ns);
  ck_assert_uint_eq(a->nm, b->nm);
  for (size_t i = 0; i < a->nv; i++) {
    const msim_visit *x = &a->v[i], *y = &b->v[i];
    ck_assert_str_eq(x->mdtrt_id, y->mdtrt_id);
    same_str(x->psn, y->psn);
    same_str(x->ipt, y->ipt);
    ck_assert_str_eq(x->med_type, y->med_type);
    ck_assert_str_eq(x->insutype, y->insutype);
    ck_assert(x->begn == y->begn && x->t_reg == y->t_reg &&
              x->t_unreg == y->t_unreg && x->last_setl == y->last_setl &&
              x->prev_psn == y->prev_psn && x->prev_key == y->prev_key);
    ck_assert_uint_eq(x->nb, y->nb);
    for (size_t j = 0; j < x->nb; j++) {
      ck_assert_uint_eq(x->b[j].n, y->b[j].n);
      ck_assert(x->b[j].sum == y->b[j].sum && x->b[j].t_del == y->b[j].t_del);
      for (size_t k = 0; k < x->b[j].n; k++)
        ck_assert_str_eq(x->b[j].sn[k], y->b[j].sn[k]);
    }
  }
  for (size_t i = 0; i < a->ns; i++) {
    const msim_setl *x = &a->s[i], *y = &b->s[i];
    ck_assert_str_eq(x->setl_id, y->setl_id);
    same_str(x->medins, y->medins);
    ck_assert(x->visit == y->visit && x->total == y->total &&
              x->fund == y->fund && x->acct == y->acct && x->cash == y->cash &&
              x->hosp == y->hosp && x->stime == y->stime &&
              x->t_setl == y->t_setl && x->t_undo == y->t_undo &&
              x->undo == y->undo && x->prev == y->prev &&
              x->prev_medins == y->prev_medins);
  }
  for (size_t i = 0; i < a->nm; i++) {
    const msim_msg *x = &a->m[i], *y = &b->m[i];
    ck_assert_str_eq(x->infno, y->infno);
    ck_assert(x->t == y->t && x->did == y->did && x->ref == y->ref &&
              x->ref2 == y->ref2 && x->t_rev == y->t_rev);
  }
  same_map(&a->by_mdtrt, &b->by_mdtrt);
  same_map(&a->by_setl, &b->by_setl);
  same_map(&a->by_psn, &b->by_psn);
  same_map(&a->by_key, &b->by_key);
  same_map(&a->by_medins, &b->by_medins);
  same_map(&a->by_msgid, &b->by_msgid);
}

/* A writer killed between its event's last '}' and the '\n': the next
 * writer terminates the line, and takes the event as every later reader
 * of the ledger will (a snapshot of its state must match a reload). */
START_TEST(test_torn_line_whole_event) {
  char *dir = tu_tempdir(), *ledger = tu_path(dir, "ledger"), *ta, *tb;
  const char *line = "{\"k\":\"call\",\"t\":1,\"m\":"
                     "\"H00000000000202203150900001234\",\"i\":\"1101\"}";
  medshim_sim *s = open_sim(ledger, 0), *t;
  FILE *f;
  expect_ok(call(s, "1101", json_pack("{s:{s:s}}", "data", "psn_no", "P1")));
  f = fopen(ledger, "a");
  ck_assert_ptr_nonnull(f);
  fputs(line, f);
  fclose(f);
  expect_ok(call(s, "1101", json_pack("{s:{s:s}}", "data", "psn_no", "P2")));
  t = open_sim(ledger, 0);
  ta = stats_text(s);
  tb = stats_text(t);
  ck_assert_str_eq(ta, tb);
  same_state(&s->st, &t->st);
  ck_assert(msim_map_get(&s->st.by_msgid, "H00000000000202203150900001234", NULL));
  free(ta);
  free(tb);
  medshim_sim_close(t);
  medshim_sim_close(s);
  tu_rmtree(dir);
  free(ledger);
  free(dir);
}
END_TEST

/* ---- the catch-up without the flock ---- */

static int64_t file_size(const char *path) {
  medshim__os_finfo sb;
  return medshim__os_stat(path, &sb) == 0 ? sb.size : -1;
}

static void copy_file(const char *from, const char *to) {
  size_t n = 0;
  unsigned char *b = tu_read_file(from, &n);
  ck_assert_ptr_nonnull(b);
  tu_write_file(to, b, n);
  free(b);
}

/* The stats of a fresh handle on a copy of @p ledger without snapshot. */
static char *reload_text(const char *ledger) {
  char *dir = tu_tempdir(), *copy = tu_path(dir, "ledger"), *text;
  medshim_sim *g;
  copy_file(ledger, copy);
  g = open_sim(copy, 0);
  ck_assert_int_eq(g->snap_loaded, 0);
  text = stats_text(g);
  medshim_sim_close(g);
  tu_rmtree(dir);
  free(copy);
  free(dir);
  return text;
}

static void append_raw(int fd, const char *p, size_t n) {
  ck_assert_int_eq(medshim__os_write(fd, p, n), (long long)n);
}

/* Without the flock, only lines ending in '\n' are applied: never half a
 * line still being written, nor the last line unless it parses. */
START_TEST(test_unlocked_catch_up_whole_lines) {
  char *dir = tu_tempdir(), *ledger = tu_path(dir, "ledger");
  const char *line = "{\"k\":\"call\",\"t\":1,\"m\":"
                     "\"H00000000000202203150900001234\",\"i\":\"1101\"}\n";
  const char *next = "{\"k\":\"call\",\"t\":2,\"m\":"
                     "\"H00000000000202203150900001235\",\"i\":\"1101\"}\n";
  const char *torn = "{\"k\":\"setl\",\"mdt";
  size_t n = strlen(line), events;
  medshim_sim *a = open_sim(ledger, 0);
  char *ta, *tb;
  int64_t off;
  int fd;
  expect_ok(call(a, "1101", json_pack("{s:{s:s}}", "data", "psn_no", "P1")));
  events = a->st.events;
  off = a->off;
  /* another writer holds the flock and is in the middle of its line */
  fd = medshim__os_open(ledger, MEDSHIM__OS_WRITE | MEDSHIM__OS_APPEND);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(medshim__os_lock(fd, 1), 0);
  append_raw(fd, line, n / 2);
  ck_assert_int_eq(msim_ledger_peek(a), 0); /* does not wait for the flock */
  ck_assert_uint_eq(a->st.events, events);
  ck_assert_int_eq(a->off, off);
  ck_assert_uint_eq(a->st.damaged, 0);
  append_raw(fd, line + n / 2, n / 2 - 1 + n % 2); /* all but the '\n' */
  ck_assert_int_eq(msim_ledger_peek(a), 0);
  ck_assert_uint_eq(a->st.events, events);
  ck_assert_int_eq(a->off, off);
  append_raw(fd, "\n", 1);
  ck_assert_int_eq(msim_ledger_peek(a), 0);
  ck_assert_uint_eq(a->st.events, events + 1);
  ck_assert_int_eq(a->off, off + (int64_t)n);
  ck_assert_uint_eq(a->st.damaged, 0);
  ck_assert(msim_map_get(&a->st.by_msgid, "H00000000000202203150900001234", NULL));
  /* a torn line just terminated by the next writer, before its event:
   * left to the locked pass, which alone can tell it torn */
  off = a->off;
  append_raw(fd, torn, strlen(torn));
  append_raw(fd, "\n", 1);
  ck_assert_int_eq(msim_ledger_peek(a), 0);
  ck_assert_uint_eq(a->st.events, events + 1);
  ck_assert_int_eq(a->off, off);
  ck_assert_uint_eq(a->st.damaged, 0);
  /* its event written: the torn line is damaged, never glued to it */
  append_raw(fd, next, strlen(next));
  ck_assert_int_eq(msim_ledger_peek(a), 0);
  ck_assert_uint_eq(a->st.events, events + 2);
  ck_assert_uint_eq(a->st.damaged, 1);
  ck_assert_int_eq(a->off, file_size(ledger));
  /* the lock is given up (with its descriptor), the writing goes on */
  ck_assert_int_eq(medshim__os_close(fd), 0);
  fd = medshim__os_open(ledger, MEDSHIM__OS_WRITE | MEDSHIM__OS_APPEND);
  ck_assert_int_ge(fd, 0);
  /* the locked pass, as before: a torn tail waits for its terminator */
  append_raw(fd, line, n / 2);
  ck_assert_uint_eq(stats(a).damaged_lines, 1);
  ck_assert_uint_eq(a->st.events, events + 2);
  ck_assert_int_eq(a->tail_partial, 1);
  expect_ok(call(a, "1101", json_pack("{s:{s:s}}", "data", "psn_no", "P2")));
  ck_assert_uint_eq(stats(a).damaged_lines, 2);
  ck_assert_int_eq(a->off, file_size(ledger));
  medshim__os_close(fd);
  ta = stats_text(a);
  tb = reload_text(ledger);
  ck_assert_str_eq(ta, tb);
  free(ta);
  free(tb);
  medshim_sim_close(a);
  tu_rmtree(dir);
  free(ledger);
  free(dir);
}
END_TEST

/* ---- the snapshot ---- */

typedef struct rnd_visit {
  char psn[16], ipt[16], md[MSIM_ID], setl[MSIM_ID];
  char m_reg[MEDSHIM_MSGID_LEN + 1], m_setl[MEDSHIM_MSGID_LEN + 1];
  int fees;
} rnd_visit;

#define RND_VISITS 2048

/* Random traffic of several handles on one ledger. */
typedef struct workload {
  medshim_sim *h[4];
  size_t nh, nv;
  rnd_visit v[RND_VISITS];
  uint64_t rng;
} workload;

static unsigned rnd(workload *w, unsigned n) {
  w->rng ^= w->rng << 13;
  w->rng ^= w->rng >> 7;
  w->rng ^= w->rng << 17;
  return (unsigned)(w->rng % n);
}

/* 10% of the writes' answers lost. */
static medshim_sim *open_lossy(const char *ledger, const char *inst) {
  medshim_sim_options o = MEDSHIM_SIM_OPTIONS_INIT;
  medshim_sim *s = NULL;
  o.institution = inst;
  o.ledger_path = ledger;
  o.lost_permille = 100;
  o.seed = 11;
  ck_assert_int_eq(medshim_sim_open(&s, &o), MEDSHIM_OK);
  return s;
}

static void workload_open(workload *w, const char *ledger, const char *prefix,
                          size_t nh, uint64_t seed) {
  char inst[MEDSHIM_INSTITUTION_LEN + 1];
  memset(w, 0, sizeof *w);
  w->rng = seed | 1;
  w->nh = nh;
  for (size_t i = 0; i < nh; i++) {
    snprintf(inst, sizeof inst, "%s%011zu", prefix, i);
    w->h[i] = open_lossy(ledger, inst);
  }
}

static void workload_close(workload *w) {
  for (size_t i = 0; i < w->nh; i++)
    medshim_sim_close(w->h[i]);
}

/* One random call: registrations (visit keys reused: double settlements),
 * fee details, settlements of the right and wrong sums, cancellations,
 * reversals, undoes, queries, bad and repeated msgids. */
static void random_call(workload *w) {
  medshim_sim *s = w->h[rnd(w, (unsigned)w->nh)];
  rnd_visit *v = w->nv ? &w->v[rnd(w, (unsigned)w->nv)] : NULL;
  unsigned op = rnd(w, 100);
  char m[MEDSHIM_MSGID_LEN + 1], buf[32], *out = NULL;
  json_t *r = NULL;
  int lost = 0;
  if (v == NULL || op < 20) {
    v = w->nv < RND_VISITS ? &w->v[w->nv++] : &w->v[rnd(w, RND_VISITS)];
    memset(v, 0, sizeof *v);
    snprintf(v->psn, sizeof v->psn, "P%u", rnd(w, 40));
    snprintf(v->ipt, sizeof v->ipt, "MZ-%u", rnd(w, 20));
    r = call_msgid(s, "2201", reg_input(v->psn, v->ipt, "2022-02-11 09:30:00"),
                   v->m_reg);
    if (r != NULL && infcode(r) == 0)
      snprintf(v->md, sizeof v->md, "%s", field(r, "data", "mdtrt_id"));
  } else if (op < 45) {
    snprintf(buf, sizeof buf, "%u", (unsigned)v->fees + 1 + rnd(w, 2));
    r = call(s, "2204", fee_input(v->psn, v->md, buf, "10.00"));
    v->fees += r != NULL && infcode(r) == 0;
  } else if (op < 60) {
    json_t *in;
    snprintf(buf, sizeof buf, "%d.00", v->fees * 10 + (rnd(w, 8) == 0));
    in = setl_input(v->psn, v->md, buf);
    if (rnd(w, 2)) { /* the HIS's own settlement id, now and then reused */
      char key[16];
      snprintf(key, sizeof key, "K%u", rnd(w, 200));
      json_object_set_new(json_object_get(in, "data"), "medins_setl_id",
                          json_string(key));
    }
    r = call_msgid(s, "2207", in, m);
    if (r != NULL && infcode(r) == 0) {
      snprintf(v->setl, sizeof v->setl, "%s", field(r, "setlinfo", "setl_id"));
      memcpy(v->m_setl, m, sizeof m);
    }
  } else if (op < 65) {
    r = call(s, "2208", by_setl(v->psn, v->md, v->setl));
  } else if (op < 72) {
    int of_setl = v->m_setl[0] && rnd(w, 2);
    r = call(s, "2601", rev_input(v->psn, of_setl ? v->m_setl : v->m_reg,
                                  of_setl ? "2207" : "2201"));
  } else if (op < 76) {
    r = call(s, "2205", visit_input(v->psn, v->md));
  } else if (op < 80) {
    r = call(s, "2202", visit_input(v->psn, v->md));
  } else if (op < 85) {
    r = call(s, "5201", q5201(v->psn));
  } else if (op < 88) {
    r = call(s, "5203", by_setl(v->psn, v->md, v->setl));
  } else if (op < 91) {
    ck_assert_int_eq(medshim_sim_call(s, "1101", "not a msgid", "{}", &out,
                                      &lost), MEDSHIM_OK);
  } else if (op < 94 && v->m_reg[0]) {
    ck_assert_int_eq(medshim_sim_call(s, "1101", v->m_reg, "{}", &out, &lost),
                     MEDSHIM_OK);
  } else {
    r = call(s, "1101", json_pack("{s:{s:s}}", "data", "psn_no", v->psn));
  }
  medshim_sim_free(out);
  json_decref(r);
}

/* The ledger offset a snapshot's header names (-1: no snapshot). */
static int64_t snap_offset(const char *snap) {
  size_t n = 0;
  unsigned char *b = tu_read_file(snap, &n);
  int64_t off = 0;
  if (b == NULL || n < 24) {
    free(b);
    return -1;
  }
  for (int i = 7; i >= 0; i--)
    off = off << 8 | b[16 + i];
  free(b);
  return off;
}

/* A fresh handle: whether it started from the snapshot, and its stats. */
static char *fresh_text(const char *ledger, int *loaded) {
  medshim_sim *f = open_sim(ledger, 0);
  char *text = stats_text(f);
  *loaded = f->snap_loaded;
  medshim_sim_close(f);
  return text;
}

/* A ledger of @p calls random calls of two handles and its snapshot. */
static void make_ledger(const char *ledger, const char *prefix, size_t calls,
                        uint64_t seed) {
  workload *w = malloc(sizeof *w);
  char *snap = msim_snapshot_path(ledger);
  ck_assert_ptr_nonnull(w);
  workload_open(w, ledger, prefix, 2, seed);
  for (size_t i = 0; i < calls; i++)
    random_call(w);
  workload_close(w);
  ck_assert_int_gt(snap_offset(snap), 0);
  free(snap);
  free(w);
}

START_TEST(test_snapshot_same_as_reload) {
  char *dir = tu_tempdir(), *ledger = tu_path(dir, "ledger");
  char *snap = msim_snapshot_path(ledger), *dir2 = tu_tempdir();
  char *copy = tu_path(dir2, "ledger"), *tf, *tg, *th;
  workload *w = malloc(sizeof *w);
  medshim_sim *f, *g;
  medshim_sim_stats st;
  ck_assert_ptr_nonnull(w);
  workload_open(w, ledger, "A", 3, 0x9E3779B97F4A7C15ull);
  for (int i = 0; i < 4500; i++)
    random_call(w);
  ck_assert_int_gt(snap_offset(snap), 0); /* written by one of the three */
  /* lines after the snapshot: a fresh handle must catch up from there */
  for (int i = 0; i < 300 || snap_offset(snap) >= file_size(ledger); i++) {
    ck_assert_int_lt(i, 3000);
    random_call(w);
  }
  copy_file(ledger, copy);
  f = open_sim(ledger, 0); /* the snapshot, then the lines after it */
  g = open_sim(copy, 0);   /* every line */
  ck_assert_int_eq(f->snap_loaded, 1);
  ck_assert_int_eq(g->snap_loaded, 0);
  ck_assert_int_eq(f->snap_off, snap_offset(snap));
  ck_assert_int_lt(f->snap_off, f->off);
  tf = stats_text(f);
  tg = stats_text(g);
  th = stats_text(w->h[1]); /* a handle that read the others' lines */
  ck_assert_str_eq(tf, tg);
  ck_assert_str_eq(th, tg);
  same_state(&f->st, &g->st);
  same_state(&w->h[1]->st, &g->st);
  /* the traffic had everything a snapshot must carry */
  st = stats(g);
  ck_assert_uint_gt(st.settlements, 10);
  ck_assert_uint_gt(st.double_settlements, 0);
  ck_assert_uint_gt(st.cancelled_settlements, 0);
  ck_assert_uint_gt(st.reversals, 0);
  ck_assert_uint_gt(st.msgid_repeats, 0);
  ck_assert_uint_gt(st.msgid_invalid, 0);
  ck_assert_uint_gt(st.lost_answers, 0);
  ck_assert_uint_gt(g->st.by_medins.n, 0);
  free(tf);
  free(tg);
  free(th);
  medshim_sim_close(f);
  medshim_sim_close(g);
  workload_close(w);
  free(w);
  tu_rmtree(dir);
  tu_rmtree(dir2);
  free(snap);
  free(copy);
  free(ledger);
  free(dir);
  free(dir2);
}
END_TEST

/* A snapshot with a byte flipped, or cut short, is not loaded. */
START_TEST(test_snapshot_damaged_ignored) {
  char *dir = tu_tempdir(), *ledger = tu_path(dir, "ledger");
  char *snap = msim_snapshot_path(ledger), *ref, *t;
  unsigned char *good;
  size_t n = 0;
  int loaded = 0;
  make_ledger(ledger, "B", 2600, 42);
  ref = reload_text(ledger);
  good = tu_read_file(snap, &n);
  ck_assert_ptr_nonnull(good);
  ck_assert_uint_gt(n, 1000);
  {
    size_t flips[] = {3, 9, 17, 30, 36, 41, 44, 60, n / 3, n / 2, n - 200,
                      n - 5, n - 2};
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
      good[flips[i]] ^= 0x10;
      tu_write_file(snap, good, n);
      good[flips[i]] ^= 0x10;
      t = fresh_text(ledger, &loaded);
      ck_assert_msg(!loaded, "loaded with byte %lu flipped", (unsigned long)flips[i]);
      ck_assert_str_eq(t, ref);
      free(t);
    }
  }
  {
    size_t cuts[] = {n - 1, n - 4, n / 2, 44, 40, 8, 0};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
      tu_write_file(snap, good, cuts[i]);
      t = fresh_text(ledger, &loaded);
      ck_assert_msg(!loaded, "loaded cut to %lu bytes", (unsigned long)cuts[i]);
      ck_assert_str_eq(t, ref);
      free(t);
    }
  }
  tu_write_file(snap, good, n); /* the control: whole, it is loaded */
  t = fresh_text(ledger, &loaded);
  ck_assert(loaded);
  ck_assert_str_eq(t, ref);
  free(t);
  free(good);
  free(ref);
  tu_rmtree(dir);
  free(snap);
  free(ledger);
  free(dir);
}
END_TEST

/* @p ledger's snapshot beside another ledger's bytes: loaded or not, and
 * the stats right either way. */
static int loaded_beside(const char *snap, const unsigned char *bytes,
                         size_t n) {
  char *dir = tu_tempdir(), *ledger = tu_path(dir, "ledger");
  char *to = msim_snapshot_path(ledger), *ref, *t;
  int loaded = 0;
  tu_write_file(ledger, bytes, n);
  ref = reload_text(ledger);
  copy_file(snap, to);
  t = fresh_text(ledger, &loaded);
  ck_assert_str_eq(t, ref);
  free(t);
  free(ref);
  tu_rmtree(dir);
  free(to);
  free(ledger);
  free(dir);
  return loaded;
}

/* Flip a digit to another in [from, to) of b, searching back from to. */
static void change_digit(unsigned char *b, size_t from, size_t to) {
  for (size_t i = to; i > from; i--)
    if (b[i - 1] >= '0' && b[i - 1] <= '8') {
      b[i - 1]++;
      return;
    }
  ck_abort_msg("no digit to change");
}

/* A snapshot is of one ledger: not of another, not of one rewritten or
 * replaced by a shorter one. */
START_TEST(test_snapshot_other_ledger_ignored) {
  char *dir = tu_tempdir(), *ledger = tu_path(dir, "ledger");
  char *dir2 = tu_tempdir(), *other = tu_path(dir2, "ledger");
  char *snap = msim_snapshot_path(ledger);
  unsigned char *a, *b;
  size_t na = 0, nb = 0, cut;
  int64_t off;
  make_ledger(ledger, "C", 2600, 5);
  make_ledger(other, "D", 3200, 6);
  off = snap_offset(snap);
  a = tu_read_file(ledger, &na);
  b = tu_read_file(other, &nb);
  ck_assert_ptr_nonnull(a);
  ck_assert_ptr_nonnull(b);
  ck_assert_int_gt((int64_t)nb, off);
  /* the control: the same bytes elsewhere take the snapshot */
  ck_assert(loaded_beside(snap, a, na));
  /* another ledger, longer than the offset */
  ck_assert(!loaded_beside(snap, b, nb));
  /* the same ledger rewritten: its last line before the offset, or its
   * first line, differs */
  change_digit(a, (size_t)off - 100, (size_t)off - 1);
  ck_assert(!loaded_beside(snap, a, na));
  free(a);
  a = tu_read_file(ledger, &na);
  change_digit(a, 0, 60);
  ck_assert(!loaded_beside(snap, a, na));
  free(a);
  a = tu_read_file(ledger, &na);
  /* replaced by a shorter one: its first lines, up to a line before the
   * offset, and then up to one line after it */
  for (cut = (size_t)off / 2; a[cut - 1] != '\n'; cut++)
    ;
  ck_assert(!loaded_beside(snap, a, cut));
  ck_assert(!loaded_beside(snap, a, (size_t)off - 1));
  free(a);
  free(b);
  tu_rmtree(dir);
  tu_rmtree(dir2);
  free(snap);
  free(ledger);
  free(other);
  free(dir);
  free(dir2);
}
END_TEST

/* ---- the in-process adapter through the replay engine ---- */

#define INSTITUTION "H33010200001"

typedef struct engine_env {
  char *dir, *jdir, *key, *ledger;
  medshim_journal *j;
} engine_env;

static engine_env engine_open(int n, int persons) {
  engine_env e;
  medshim_journal_options o;
  medshim_claim_window w;
  e.dir = tu_tempdir();
  e.jdir = tu_path(e.dir, "journal");
  e.key = tu_path(e.dir, "key");
  e.ledger = tu_path(e.dir, "ledger");
  e.j = NULL;
  tu_write_key(e.key, 5);
  o = tu_opts(e.key, MEDSHIM_JOURNAL_CREATE);
  ck_assert_int_eq(medshim_journal_open(&e.j, e.jdir, &o, NULL), MEDSHIM_OK);
  memset(&w, 0, sizeof w);
  w.version = MEDSHIM_CLAIM_WINDOW_VERSION;
  w.route = MEDSHIM_CLAIM_ROUTE_HOSPITAL;
  w.from = 1647273600; /* 2022-03-15 */
  w.until = 1672502400;
  for (int i = 0; i < n; i++) {
    medshim_claim_fields f = MEDSHIM_CLAIM_FIELDS_INIT;
    medshim_claim *c = NULL;
    char id[32], psn[32];
    snprintf(id, sizeof id, "MZ%04d", i);
    snprintf(psn, sizeof psn, "P%04d", i % persons);
    f.visit_id = id;
    f.service = MEDSHIM_SERVICE_OUTPATIENT;
    f.insured_admdvs = "330102";
    f.treated_admdvs = "330106";
    f.visit_time = VISIT_TIME + i * 60;
    f.total_fen = f.self_paid_fen = 10000 + i;
    f.patient_psn_no = psn;
    ck_assert_int_eq(medshim_claim_create(&c, &f, NULL), MEDSHIM_OK);
    ck_assert_int_eq(medshim_claim_set_window(c, &w), MEDSHIM_OK);
    ck_assert_int_eq(medshim_journal_defer(e.j, c, NULL), MEDSHIM_OK);
    medshim_claim_free(c);
  }
  return e;
}

static void engine_close(engine_env *e) {
  medshim_journal_close(e->j);
  tu_rmtree(e->dir);
  free(e->dir);
  free(e->jdir);
  free(e->key);
  free(e->ledger);
}

static medshim_replay_options replay_opts(void) {
  medshim_replay_options o = MEDSHIM_REPLAY_OPTIONS_INIT;
  o.at = 1647392400; /* 2022-03-16 09:00 */
  o.seed = 3;
  o.concurrency = 4;
  o.backoff_base_seconds = 1;
  o.backoff_cap_seconds = 1;
  o.max_attempts = 20;
  o.institution_code = INSTITUTION;
  return o;
}

/* Each claim the journal holds as settled is the platform's one settlement
 * of the visit, with the same ids and amounts; a claim given up on
 * (rejected: its step log is full) has none. Returns the settled count. */
static int expect_journal_matches(medshim_journal *j, medshim_sim *s, int n) {
  int settled = 0;
  for (int i = 0; i < n; i++) {
    medshim_claim_status st;
    medshim_claim *c = NULL;
    medshim_sim_visit v;
    char id[32];
    snprintf(id, sizeof id, "MZ%04d", i);
    ck_assert_int_eq(medshim_journal_get(&c, &st, j, id), MEDSHIM_OK);
    memset(&v, 0, sizeof v);
    (void)medshim_sim_visit_get(s, &v, medshim_claim_patient_psn_no(c), id);
    ck_assert_uint_eq(v.open_registrations, v.settlements);
    if (st.state != MEDSHIM_STATE_SETTLED) {
      ck_assert_int_eq(st.state, MEDSHIM_STATE_REJECTED);
      ck_assert_str_eq(st.code, "STEP_LOG_FULL");
      ck_assert_uint_eq(v.settlements, 0);
      medshim_claim_free(c);
      continue;
    }
    settled++;
    ck_assert_uint_eq(v.settlements, 1);
    ck_assert_str_eq(v.setl_id, st.settlement_id);
    ck_assert_str_eq(v.mdtrt_id, st.mdtrt_id);
    ck_assert_int_eq(v.patient_paid_fen, st.patient_paid_fen);
    ck_assert_int_eq(v.total_fen, medshim_claim_total_fen(c));
    medshim_claim_free(c);
  }
  return settled;
}

/* Lost answers, busy refusals and lost probe calls, no lag: repeated runs
 * settle every claim exactly once and leave no partial sequence. */
START_TEST(test_engine_faults) {
  engine_env e = engine_open(30, 20); /* some share a person */
  medshim_sim_options so = MEDSHIM_SIM_OPTIONS_INIT;
  medshim_replay_options o = replay_opts();
  medshim_replay_summary sum;
  medshim_adapter a;
  medshim_sim *s = NULL;
  medshim_sim_stats st;
  so.ledger_path = e.ledger;
  /* Harsher rates exhaust the engine's bounded step log (STEP_LOG_FULL:
   * a person settles it by hand), which is a correct outcome too. */
  so.lost_permille = 100;
  so.retry_permille = 50;
  so.institution = INSTITUTION;
  so.seed = 11;
  ck_assert_int_eq(medshim_sim_open(&s, &so), MEDSHIM_OK);
  medshim_sim_adapter(&a, s);
  o.flags = MEDSHIM_REPLAY_NO_VISIBILITY_DELAY;
  for (int round = 0; round < 40; round++) {
    o.at += 3600;
    ck_assert_int_eq(medshim_replay_run(&sum, e.j, &a, &o), MEDSHIM_OK);
    if (sum.settled + sum.rejected == 30)
      break;
  }
  ck_assert_uint_eq(sum.settled + sum.rejected, 30);
  ck_assert_int_eq(expect_journal_matches(e.j, s, 30), (int)sum.settled);
  ck_assert_uint_ge(sum.settled, 25);
  st = stats(s);
  ck_assert_uint_eq(st.settlements, sum.settled);
  ck_assert_uint_eq(st.double_settlements, 0);
  ck_assert_uint_eq(st.open_partial, 0);
  ck_assert_uint_eq(st.msgid_repeats, 0);
  ck_assert_uint_eq(st.msgid_invalid, 0);
  ck_assert_uint_gt(st.lost_answers, 0);
  medshim_sim_close(s);
  engine_close(&e);
}
END_TEST

/* Every 2207 answer lost with a 1.5 s lag: the engine waits out its 3 s
 * visibility delay, the probe then sees and reverses, and the resend
 * settles once. */
START_TEST(test_engine_lag) {
  engine_env e = engine_open(4, 4);
  medshim_sim_options so = MEDSHIM_SIM_OPTIONS_INIT;
  medshim_replay_options o = replay_opts();
  medshim_replay_summary sum;
  medshim_adapter a;
  medshim_sim *s = NULL;
  so.ledger_path = e.ledger;
  so.lag_ms = 1500;
  ck_assert_int_eq(medshim_sim_open(&s, &so), MEDSHIM_OK);
  medshim_sim_adapter(&a, s);
  o.visibility_delay_seconds = 3;
  ck_assert_int_eq(medshim_sim_inject(s, "2207", MEDSHIM_SIM_FAULT_LOST, 4), 0);
  ck_assert_int_eq(medshim_replay_run(&sum, e.j, &a, &o), MEDSHIM_OK);
  ck_assert_uint_eq(sum.in_doubt, 4);
  ck_assert_uint_eq(sum.queries, 0); /* too early to probe */
  sleep_ms(3100);
  for (int round = 0; round < 5 && sum.settled < 4; round++) {
    o.at += 3600;
    ck_assert_int_eq(medshim_replay_run(&sum, e.j, &a, &o), MEDSHIM_OK);
    if (sum.settled < 4)
      sleep_ms(3100);
  }
  ck_assert_uint_eq(sum.settled, 4);
  ck_assert_uint_eq(stats(s).double_settlements, 0);
  ck_assert_uint_eq(stats(s).open_partial, 0);
  ck_assert_uint_eq(stats(s).reversals, 4);
  ck_assert_int_eq(expect_journal_matches(e.j, s, 4), 4);
  medshim_sim_close(s);
  engine_close(&e);
}
END_TEST

/* ---- the medshim-sim exec program, driven as medshim replay would ---- */

typedef struct child {
  tu_proc *p; /* its stdin and stdout are pipes */
} child;

static child spawn(const char *ledger, const char *extra) {
  const char *tool = getenv("MEDSHIM_SIM_TOOL");
  const char *argv[16];
  char extras[256], *save = NULL;
  int a = 0;
  child c;
  ck_assert_ptr_nonnull(tool);
  argv[a++] = tool;
  argv[a++] = "--ledger";
  argv[a++] = ledger;
  argv[a++] = "--institution";
  argv[a++] = INSTITUTION;
  snprintf(extras, sizeof extras, "%s", extra);
  for (char *w = strtok_r(extras, " ", &save); w != NULL && a < 15;
       w = strtok_r(NULL, " ", &save))
    argv[a++] = w;
  argv[a] = NULL;
  c.p = tu_start(argv, NULL, NULL, NULL);
  return c;
}

static int reap(child *c) { return tu_wait(c->p); }

static void put_line(child *c, json_t *o) {
  char *t = json_dumps(o, JSON_COMPACT);
  size_t n;
  ck_assert_ptr_nonnull(t);
  n = strlen(t);
  t = realloc(t, n + 2);
  ck_assert_ptr_nonnull(t);
  t[n] = '\n';
  t[n + 1] = '\0';
  ck_assert_int_eq(tu_proc_write(c->p, t, n + 1), 0);
  free(t);
  json_decref(o);
}

/* medshim's side: the journal's step log of each request id. */
typedef struct side {
  medshim_sim *ids; /* only for msgids */
  json_t *steps[8];
} side;

static json_t *request_line(const char *type, int id, const char *visit,
                            json_t *steps) {
  return json_pack("{s:s, s:i, s:i, s:I, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:{s:s}}, s:o}",
                   "type", type, "id", id, "attempt", 1, "attempt_started",
                   (json_int_t)1647392400, "replay_key",
                   "MS0000000000000000000000000001", "claim", "visit_id", visit,
                   "service", "outpatient", "insured_admdvs", "330102",
                   "treated_admdvs", "330106", "visit_time",
                   "2022-02-11T09:30:00+08:00", "total_fen", (json_int_t)23850,
                   "self_paid_fen", (json_int_t)23850, "patient", "psn_no",
                   "P1", "steps", steps ? json_incref(steps) : json_array());
}

/* Answer step_begin / step_end until the results of @p n requests came;
 * the statuses by id into status[]. */
static void converse(child *c, side *sd, int n, char status[][16]) {
  static char line[65536];
  json_error_t e;
  while (n > 0 && tu_proc_read_line(c->p, line, sizeof line) > 0) {
    json_t *m = json_loads(line, 0, &e);
    const char *t = json_string_value(json_object_get(m, "type"));
    int id = (int)json_integer_value(json_object_get(m, "id"));
    ck_assert_ptr_nonnull(t);
    ck_assert(id >= 0 && id < 8);
    if (strcmp(t, "step_begin") == 0) {
      char msgid[MEDSHIM_MSGID_LEN + 1];
      ck_assert_int_eq(medshim_sim_msgid(sd->ids, msgid), MEDSHIM_OK);
      json_array_append_new(sd->steps[id], json_pack("{s:i, s:O, s:s, s:s}",
          "attempt", 1, "infno", json_object_get(m, "infno"), "msgid", msgid,
          "state", "sent"));
      put_line(c, json_pack("{s:s, s:i, s:s}", "type", "msgid", "id", id,
                            "msgid", msgid));
    } else if (strcmp(t, "step_end") == 0) {
      json_t *last = json_array_get(sd->steps[id], json_array_size(sd->steps[id]) - 1);
      ck_assert_str_eq(json_string_value(json_object_get(m, "msgid")),
                       json_string_value(json_object_get(last, "msgid")));
      json_object_update_existing(last, m);
      json_object_set(last, "state", json_object_get(m, "state"));
      json_object_set(last, "mdtrt_id", json_object_get(m, "mdtrt_id"));
      json_object_set(last, "setl_id", json_object_get(m, "setl_id"));
      put_line(c, json_pack("{s:s, s:i}", "type", "recorded", "id", id));
    } else {
      ck_assert_str_eq(t, "result");
      snprintf(status[id], 16, "%s",
               json_string_value(json_object_get(m, "status")));
      if (strcmp(status[id], "settled") == 0)
        ck_assert_int_eq(json_integer_value(json_object_get(m, "total_fen")),
                         23850);
      n--;
    }
    json_decref(m);
  }
  ck_assert_int_eq(n, 0);
}

START_TEST(test_exec_protocol) {
  char *dir = tu_tempdir(), *ledger = tu_path(dir, "ledger");
  char status[8][16];
  side sd;
  child c;
  medshim_sim_stats st;
  medshim_sim *view;
  memset(&sd, 0, sizeof sd);
  for (int i = 0; i < 8; i++)
    sd.steps[i] = json_array();
  sd.ids = open_inst(NULL, 0, INSTITUTION);
  /* per-call: every write's answer lost, the 2201 step ends unknown */
  c = spawn(ledger, "--once --lost-permille 1000");
  put_line(&c, request_line("settle", 1, "MZ-1", NULL));
  converse(&c, &sd, 1, status);
  ck_assert_str_eq(status[1], "unknown");
  ck_assert_int_eq(reap(&c), 0); /* exits without stdin closing */
  ck_assert_uint_eq(json_array_size(sd.steps[1]), 2); /* 1101, 2201 */
  /* persistent: the probe (with the steps) undoes the registration, then
   * three settles in flight at once */
  c = spawn(ledger, "--latency-ms 20");
  put_line(&c, request_line("probe", 1, "MZ-1", sd.steps[1]));
  converse(&c, &sd, 1, status);
  ck_assert_str_eq(status[1], "not_found");
  put_line(&c, request_line("settle", 2, "MZ-1", NULL));
  put_line(&c, request_line("settle", 3, "MZ-2", NULL));
  put_line(&c, request_line("settle", 4, "MZ-3", NULL));
  converse(&c, &sd, 3, status);
  ck_assert_str_eq(status[2], "settled");
  ck_assert_str_eq(status[3], "settled");
  ck_assert_str_eq(status[4], "settled");
  /* a probe of a settled attempt confirms it */
  put_line(&c, request_line("probe", 5, "MZ-2", sd.steps[3]));
  converse(&c, &sd, 1, status);
  ck_assert_str_eq(status[5], "settled");
  ck_assert_int_eq(reap(&c), 0); /* stdin closed: it exits */
  view = open_sim(ledger, 0);
  st = stats(view);
  ck_assert_uint_eq(st.settlements, 3);
  ck_assert_uint_eq(st.double_settlements, 0);
  ck_assert_uint_eq(st.open_partial, 0);
  ck_assert_uint_eq(st.msgid_repeats, 0);
  medshim_sim_close(view);
  medshim_sim_close(sd.ids);
  for (int i = 0; i < 8; i++)
    json_decref(sd.steps[i]);
  tu_rmtree(dir);
  free(ledger);
  free(dir);
}
END_TEST

/* The first line of a file the tool wrote. */
static void first_line(const char *path, char *buf, size_t cap) {
  size_t n = 0;
  char *text = (char *)tu_read_file(path, &n), *nl;
  ck_assert_ptr_nonnull(text);
  ck_assert_uint_gt(n, 0);
  if (n >= cap)
    n = cap - 1;
  memcpy(buf, text, n);
  buf[n] = '\0';
  if ((nl = strchr(buf, '\n')) != NULL)
    *nl = '\0';
  free(text);
}

START_TEST(test_exec_stats_and_options) {
  const char *tool = getenv("MEDSHIM_SIM_TOOL");
  char *dir = tu_tempdir(), *out = tu_path(dir, "out"), *err = tu_path(dir, "err");
  char *missing = tu_path(dir, "nonexistent/x"), buf[1024] = "";
  size_t n;
  char *text;
  ck_assert_ptr_nonnull(tool);
  {
    const char *argv[] = {tool, "--ledger", missing, "--lag-ms", "5x", NULL};
    ck_assert_int_eq(tu_run_argv(argv, NULL, out, err), 64);
    first_line(err, buf, sizeof buf);
    ck_assert_ptr_nonnull(strstr(buf, "--lag-ms"));
  }
  {
    const char *argv[] = {tool, "--help", NULL};
    ck_assert_int_eq(tu_run_argv(argv, NULL, out, err), 0);
    first_line(out, buf, sizeof buf);
    ck_assert_ptr_nonnull(strstr(buf, "usage"));
  }
  {
    /* --help wins wherever it is, even where a value was expected */
    const char *argv[] = {tool, "--ledger", "--help", NULL};
    ck_assert_int_eq(tu_run_argv(argv, NULL, out, err), 0);
    first_line(out, buf, sizeof buf);
    ck_assert_ptr_nonnull(strstr(buf, "usage"));
    text = (char *)tu_read_file(out, &n);
    ck_assert_ptr_nonnull(text);
    text = realloc(text, n + 1);
    text[n] = '\0';
    ck_assert_ptr_nonnull(strstr(text, "Exit status"));
    free(text);
  }
  {
    char *ledger = tu_path(dir, "ledger");
    char md[MSIM_ID], setl[MSIM_ID], m[MEDSHIM_MSGID_LEN + 1];
    const char *argv[] = {tool, "--stats", "--ledger", ledger, NULL};
    medshim_sim *s = open_sim(ledger, 0);
    settle_visit(s, "P1", "MZ-1", md, setl, m);
    settle_visit(s, "P1", "MZ-1", md, setl, m);
    medshim_sim_close(s);
    ck_assert_int_eq(tu_run_argv(argv, NULL, out, err), 0);
    first_line(out, buf, sizeof buf);
    ck_assert_ptr_nonnull(strstr(buf, "\"double_settlements\":1"));
    ck_assert_ptr_nonnull(strstr(buf, "\"active_settlements\":2"));
    ck_assert_ptr_null(strstr(buf, "P1")); /* no personal data */
    free(ledger);
  }
  tu_rmtree(dir);
  free(missing);
  free(out);
  free(err);
  free(dir);
}
END_TEST

static void add(Suite *su, const char *name, const TTest *t) {
  TCase *tc = tcase_create(name);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, t);
  suite_add_tcase(su, tc);
}

int main(void) {
  Suite *su = suite_create("sim");
  add(su, "money_time", test_money_and_time);
  add(su, "outpatient", test_outpatient_sequence);
  add(su, "visit_query", test_visit_query);
  add(su, "reversal", test_reversal);
  add(su, "lag", test_lag);
  add(su, "msgid", test_msgid);
  add(su, "faults", test_faults);
  add(su, "detectors", test_detectors);
#ifndef _WIN32
  add(su, "shared_ledger", test_shared_ledger);
#endif
  add(su, "torn_line", test_torn_ledger_line);
  add(su, "torn_whole_event", test_torn_line_whole_event);
  add(su, "unlocked_whole_lines", test_unlocked_catch_up_whole_lines);
  add(su, "snapshot_same", test_snapshot_same_as_reload);
  add(su, "snapshot_damaged", test_snapshot_damaged_ignored);
  add(su, "snapshot_other_ledger", test_snapshot_other_ledger_ignored);
  add(su, "adapter_settles", test_adapter_settles);
  add(su, "adapter_undo", test_adapter_undoes_refusals);
  add(su, "adapter_person", test_adapter_person_rejected);
  add(su, "adapter_lost_settle", test_adapter_lost_settle);
  add(su, "adapter_killed_during_settle", test_adapter_killed_during_settle);
  add(su, "adapter_lost_register", test_adapter_lost_register);
  add(su, "adapter_probe_lost", test_adapter_probe_lost_call);
  add(su, "adapter_lag_trap", test_adapter_probe_inside_lag);
  add(su, "adapter_unrecorded", test_adapter_unrecorded_not_sent);
  add(su, "engine_faults", test_engine_faults);
  add(su, "engine_lag", test_engine_lag);
  add(su, "exec_protocol", test_exec_protocol);
  add(su, "exec_stats_options", test_exec_stats_and_options);
  return tu_run(su);
}
