/* A C replay adapter against the platform simulator, on the v2 adapter API.
 *
 * settle walks the national out-patient sequence: 1101 person query,
 * 2201 register (gives mdtrt_id), 2204 fee details, 2206 pre-settle, 2207
 * settle. Every request is recorded with medshim_adapter_step_begin()
 * (which gives its msgid; nothing is sent without it) and its answer with
 * medshim_adapter_step_end() before the next request leaves. A refusal
 * after 2201 is undone in reverse (2205 delete details, 2202 cancel
 * registration). A lost answer to a write is answered UNKNOWN.
 *
 * probe uses the recorded steps: a 2207 whose answer was recorded is
 * confirmed with 5203; a 2207 whose answer was lost is reversed with 2601
 * by its recorded msgid, then 5201 checks the recorded registration is
 * visible and 2205/2202 undo it, so the answer is NOT_FOUND only when
 * nothing of the attempt is left. (This example does not search for a
 * registration whose 2201 answer was lost: it answers UNKNOWN there. The
 * library's own medshim_sim_adapter() does, with 5201.)
 *
 * The demo defers one visit, makes the first attempt's 2204 busy (undone,
 * RETRY) and the second attempt's 2207 answer lost (UNKNOWN, probed,
 * reversed), and replays three mornings.
 * usage: replay_adapter JOURNAL_DIR KEYFILE LEDGER */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <medshim/medshim.h>
#include <medshim/sim.h>

#define INSTITUTION "H33010200001"

/* The string value of "key" in a compact JSON answer. The simulator's
 * answers are flat enough for this; a real adapter uses a JSON parser. */
static int field(char *out, size_t cap, const char *json, const char *key) {
  char pat[64];
  const char *p, *end;
  snprintf(pat, sizeof pat, "\"%s\":\"", key);
  p = json ? strstr(json, pat) : NULL;
  if (p == NULL || (end = strchr(p += strlen(pat), '"')) == NULL ||
      (size_t)(end - p) >= cap)
    return -1;
  memcpy(out, p, (size_t)(end - p));
  out[end - p] = '\0';
  return 0;
}

/* "238.50" to fen, exactly (no floating point). */
static int fen(int64_t *out, const char *json, const char *key) {
  char v[32];
  if (field(v, sizeof v, json, key) != 0 ||
      medshim_yuan_to_fen(out, v, NULL) != MEDSHIM_OK)
    return -1;
  return 0;
}

/* One recorded platform request. *answer is NULL when the answer was lost.
 * Returns -1 when the step could not be recorded (then nothing was sent),
 * 0 otherwise. */
static int request(medshim_adapter_ctx *ctx, medshim_sim *platform,
                   const char *infno, const char *input, const char *mdtrt,
                   char **answer) {
  medshim_step st;
  char msgid[MEDSHIM_MSGID_LEN + 1];
  int lost = 1;
  *answer = NULL;
  if (medshim_adapter_step_begin(ctx, msgid, infno) != MEDSHIM_OK)
    return -1;
  printf("  %s %s\n", infno, msgid);
  if (medshim_sim_call(platform, infno, msgid, input, answer, &lost) != MEDSHIM_OK)
    lost = 1;
  memset(&st, 0, sizeof st);
  st.version = MEDSHIM_STEP_VERSION;
  memcpy(st.msgid, msgid, sizeof msgid);
  snprintf(st.infno, sizeof st.infno, "%s", infno);
  st.state = lost ? MEDSHIM_STEP_UNKNOWN
             : strstr(*answer, "\"infcode\":0") ? MEDSHIM_STEP_OK
                                                : MEDSHIM_STEP_FAILED;
  if (mdtrt != NULL)
    snprintf(st.mdtrt_id, sizeof st.mdtrt_id, "%s", mdtrt);
  if (st.state == MEDSHIM_STEP_OK)
    (void)field(st.mdtrt_id, sizeof st.mdtrt_id, *answer, "mdtrt_id");
  if (st.state == MEDSHIM_STEP_OK && strcmp(infno, "2207") == 0)
    (void)field(st.setl_id, sizeof st.setl_id, *answer, "setl_id");
  if (st.state == MEDSHIM_STEP_FAILED)
    (void)field(st.code, sizeof st.code, *answer, "err_code");
  if (medshim_adapter_step_end(ctx, &st) != MEDSHIM_OK) {
    medshim_sim_free(*answer);
    *answer = NULL;
    return -1;
  }
  if (lost)
    printf("       answer lost\n");
  return 0;
}

static int ok(const char *answer) {
  return answer != NULL && strstr(answer, "\"infcode\":0") != NULL;
}

/* One undo request (2205 or 2202); 0 when done. */
static int undo_one(medshim_adapter_ctx *ctx, medshim_sim *p, const char *infno,
                    const char *psn, const char *mdtrt) {
  char in[256], *a = NULL;
  int done;
  snprintf(in, sizeof in, "{\"data\":{\"psn_no\":\"%s\",\"mdtrt_id\":\"%s\"}}",
           psn, mdtrt);
  if (request(ctx, p, infno, in, mdtrt, &a) != 0)
    return -1;
  done = ok(a) || (a != NULL && strstr(a, MEDSHIM_SIM_ERR_ALREADY_CANCELLED));
  medshim_sim_free(a);
  return done ? 0 : -1;
}

/* Undo after 2201 (and 2204) in reverse; then RETRY or REJECTED. */
static int give_up(medshim_settlement *out, medshim_adapter_ctx *ctx,
                   medshim_sim *p, const char *psn, const char *mdtrt,
                   int details, const char *answer) {
  if ((details && undo_one(ctx, p, "2205", psn, mdtrt) != 0) ||
      undo_one(ctx, p, "2202", psn, mdtrt) != 0) {
    out->outcome = MEDSHIM_OUTCOME_UNKNOWN; /* something may be left */
    return 0;
  }
  if (strstr(answer, MEDSHIM_SIM_ERR_BUSY) != NULL) {
    out->outcome = MEDSHIM_OUTCOME_RETRY;
  } else {
    out->outcome = MEDSHIM_OUTCOME_REJECTED;
    (void)field(out->code, sizeof out->code, answer, "err_code");
  }
  return 0;
}

/* The settlement from a setlinfo (2207's answer or 5203's). */
static int fill(medshim_settlement *out, const char *answer, const char *msgid) {
  if (field(out->settlement_id, sizeof out->settlement_id, answer, "setl_id") ||
      field(out->mdtrt_id, sizeof out->mdtrt_id, answer, "mdtrt_id") ||
      fen(&out->total_fen, answer, "medfee_sumamt") ||
      fen(&out->fund_paid_fen, answer, "fund_pay_sumamt") ||
      fen(&out->acct_paid_fen, answer, "acct_pay") ||
      fen(&out->patient_paid_fen, answer, "psn_cash_pay") ||
      fen(&out->hospital_share_fen, answer, "hosp_part_amt")) {
    out->outcome = MEDSHIM_OUTCOME_UNKNOWN;
    return 0;
  }
  snprintf(out->msgid, sizeof out->msgid, "%s", msgid);
  out->outcome = MEDSHIM_OUTCOME_SETTLED;
  return 0;
}

static int settle(medshim_settlement *out, medshim_adapter_ctx *ctx,
                  void *payload) {
  medshim_sim *p = payload;
  const medshim_claim *c = medshim_adapter_claim(ctx);
  const char *psn = medshim_claim_patient_psn_no(c);
  char in[512], mdtrt[MEDSHIM_PLATFORM_ID_MAX + 1] = "", *a = NULL;
  char amount[MEDSHIM_YUAN_TEXT];
  int rc = 0;
  printf("%s attempt %u\n", medshim_claim_visit_id(c),
         (unsigned)medshim_adapter_attempt(ctx));
  out->outcome = MEDSHIM_OUTCOME_UNKNOWN;
  medshim_fen_to_yuan(amount, sizeof amount, medshim_claim_total_fen(c));
  if (psn == NULL) { /* this example looks persons up by psn_no only */
    out->outcome = MEDSHIM_OUTCOME_REJECTED;
    snprintf(out->code, sizeof out->code, "NO_PSN_NO");
    return 0;
  }
  snprintf(in, sizeof in, "{\"data\":{\"psn_no\":\"%s\"}}", psn);
  if (request(ctx, p, "1101", in, NULL, &a) != 0 || a == NULL)
    goto done; /* nothing was written: a lost 1101 could be RETRY too */
  if (!ok(a)) {
    out->outcome = strstr(a, MEDSHIM_SIM_ERR_BUSY) ? MEDSHIM_OUTCOME_RETRY
                                                  : MEDSHIM_OUTCOME_REJECTED;
    goto done;
  }
  medshim_sim_free(a);
  /* begntime: the original visit time, 2022-02-11 in this demo */
  snprintf(in, sizeof in, "{\"data\":{\"psn_no\":\"%s\",\"ipt_otp_no\":\"%s\","
           "\"begntime\":\"2022-02-11 09:30:00\",\"med_type\":\"11\","
           "\"insutype\":\"310\"}}", psn, medshim_claim_visit_id(c));
  if (request(ctx, p, "2201", in, NULL, &a) != 0 || a == NULL)
    return 0; /* lost: UNKNOWN, the probe resolves it */
  if (!ok(a) || field(mdtrt, sizeof mdtrt, a, "mdtrt_id") != 0) {
    out->outcome = strstr(a, MEDSHIM_SIM_ERR_BUSY) ? MEDSHIM_OUTCOME_RETRY
                                                  : MEDSHIM_OUTCOME_REJECTED;
    goto done;
  }
  medshim_sim_free(a);
  snprintf(in, sizeof in, "{\"feedetail\":[{\"feedetl_sn\":\"1\",\"mdtrt_id\":"
           "\"%s\",\"psn_no\":\"%s\",\"det_item_fee_sumamt\":\"%s\"}]}",
           mdtrt, psn, amount);
  if (request(ctx, p, "2204", in, mdtrt, &a) != 0 || a == NULL)
    return 0;
  if (!ok(a)) {
    rc = give_up(out, ctx, p, psn, mdtrt, 0, a);
    goto done;
  }
  medshim_sim_free(a);
  snprintf(in, sizeof in, "{\"data\":{\"psn_no\":\"%s\",\"mdtrt_id\":\"%s\","
           "\"medfee_sumamt\":\"%s\",\"medins_setl_id\":\"%s\"}}", psn,
           mdtrt, amount,
           medshim_adapter_replay_key(ctx));
  if (request(ctx, p, "2206", in, mdtrt, &a) != 0 || a == NULL)
    return 0;
  if (!ok(a)) {
    rc = give_up(out, ctx, p, psn, mdtrt, 1, a);
    goto done;
  }
  medshim_sim_free(a);
  if (request(ctx, p, "2207", in, mdtrt, &a) != 0 || a == NULL)
    return 0; /* a lost 2207: UNKNOWN */
  if (!ok(a)) {
    rc = give_up(out, ctx, p, psn, mdtrt, 1, a);
    goto done;
  }
  {
    const medshim_step *last = medshim_adapter_step(
        ctx, medshim_adapter_step_count(ctx) - 1);
    rc = fill(out, a, last ? last->msgid : "");
  }
done:
  medshim_sim_free(a);
  return rc;
}

/* The newest step of @p infno in this probe's attempt, or NULL. */
static const medshim_step *newest(medshim_adapter_ctx *ctx, const char *infno,
                                  medshim_step *copy) {
  for (size_t i = medshim_adapter_step_count(ctx); i-- > 0;) {
    const medshim_step *s = medshim_adapter_step(ctx, i);
    if (s != NULL && s->attempt == medshim_adapter_attempt(ctx) &&
        strcmp(s->infno, infno) == 0) {
      *copy = *s; /* the pointer is valid only until the next step */
      return copy;
    }
  }
  return NULL;
}

static int probe(medshim_settlement *out, medshim_adapter_ctx *ctx,
                 void *payload) {
  medshim_sim *p = payload;
  const medshim_claim *c = medshim_adapter_claim(ctx);
  const char *psn = medshim_claim_patient_psn_no(c);
  medshim_step reg, setl;
  char in[256], *a = NULL;
  printf("%s in doubt: probing\n", medshim_claim_visit_id(c));
  out->outcome = MEDSHIM_OUTCOME_UNKNOWN;
  if (psn == NULL || newest(ctx, "2201", &reg) == NULL)
    return 0; /* no 2201 step recorded: the example cannot tell */
  if (reg.state != MEDSHIM_STEP_OK)
    return 0; /* a lost 2201: a full adapter searches 5201 for it */
  if (newest(ctx, "2207", &setl) != NULL && setl.state == MEDSHIM_STEP_OK) {
    snprintf(in, sizeof in, "{\"data\":{\"psn_no\":\"%s\",\"mdtrt_id\":\"%s\","
             "\"setl_id\":\"%s\"}}", psn, reg.mdtrt_id, setl.setl_id);
    if (request(ctx, p, "5203", in, reg.mdtrt_id, &a) == 0 && ok(a) &&
        strstr(a, "\"vali_flag\":\"1\""))
      fill(out, a, setl.msgid);
    medshim_sim_free(a);
    return 0;
  }
  if (newest(ctx, "2207", &setl) != NULL) { /* sent, answer lost */
    snprintf(in, sizeof in, "{\"data\":{\"psn_no\":\"%s\",\"omsgid\":\"%s\","
             "\"oinfno\":\"2207\"}}", psn, setl.msgid);
    if (request(ctx, p, "2601", in, reg.mdtrt_id, &a) != 0 || a == NULL ||
        !(ok(a) || strstr(a, MEDSHIM_SIM_ERR_NOT_FOUND) ||
          strstr(a, MEDSHIM_SIM_ERR_ALREADY_REVERSED))) {
      medshim_sim_free(a);
      return 0;
    }
    medshim_sim_free(a);
  }
  /* 5201: the recorded registration must be visible, or it is too early */
  snprintf(in, sizeof in, "{\"data\":{\"psn_no\":\"%s\",\"begntime\":"
           "\"2022-02-11 00:00:00\",\"endtime\":\"2022-02-11 23:59:59\","
           "\"mdtrt_id\":\"%s\"}}", psn, reg.mdtrt_id);
  if (request(ctx, p, "5201", in, reg.mdtrt_id, &a) != 0 || !ok(a) ||
      strstr(a, reg.mdtrt_id) == NULL) {
    medshim_sim_free(a);
    return 0;
  }
  if (strstr(a, "\"vali_flag\":\"1\"") != NULL &&
      (undo_one(ctx, p, "2205", psn, reg.mdtrt_id) != 0 ||
       undo_one(ctx, p, "2202", psn, reg.mdtrt_id) != 0)) {
    medshim_sim_free(a);
    return 0;
  }
  medshim_sim_free(a);
  out->outcome = MEDSHIM_OUTCOME_NOT_FOUND;
  return 0;
}

/* The demo's visit, deferred with its re-settlement window. */
static int defer_demo(medshim_journal *j) {
  medshim_claim_fields f = MEDSHIM_CLAIM_FIELDS_INIT;
  medshim_claim_window w;
  medshim_claim *c = NULL;
  int rc;
  f.visit_id = "MZ20220211-0077";
  f.service = MEDSHIM_SERVICE_OUTPATIENT;
  f.insured_admdvs = "330102";
  f.treated_admdvs = "330106";
  f.visit_time = 1644543000; /* 2022-02-11 09:30 +08:00 */
  f.total_fen = f.self_paid_fen = 23850;
  f.patient_psn_no = "33010000000000000077";
  memset(&w, 0, sizeof w);
  w.version = MEDSHIM_CLAIM_WINDOW_VERSION;
  w.route = MEDSHIM_CLAIM_ROUTE_HOSPITAL;
  w.from = 1647273600; /* 2022-03-15 */
  w.until = 1672502400; /* 2023-01-01 */
  if ((rc = medshim_claim_create(&c, &f, NULL)) == MEDSHIM_OK &&
      (rc = medshim_claim_set_window(c, &w)) == MEDSHIM_OK)
    rc = medshim_journal_defer(j, c, NULL);
  medshim_claim_free(c);
  return rc;
}

int main(int argc, char **argv) {
  medshim_journal_options jo = MEDSHIM_JOURNAL_OPTIONS_INIT;
  medshim_sim_options so = MEDSHIM_SIM_OPTIONS_INIT;
  medshim_replay_options ro = MEDSHIM_REPLAY_OPTIONS_INIT;
  medshim_adapter adapter = {MEDSHIM_ADAPTER_VERSION, settle, probe, NULL};
  medshim_replay_summary s;
  medshim_journal *j = NULL;
  medshim_sim *platform = NULL;
  int rc = 1;
  if (argc < 4) {
    fprintf(stderr, "usage: %s JOURNAL_DIR KEYFILE LEDGER\n", argv[0]);
    return 64;
  }
  jo.key_file = argv[2];
  jo.flags = MEDSHIM_JOURNAL_CREATE;
  so.ledger_path = argv[3];
  so.institution = INSTITUTION;
  if (medshim_journal_open(&j, argv[1], &jo, NULL) != MEDSHIM_OK ||
      medshim_sim_open(&platform, &so) != MEDSHIM_OK ||
      defer_demo(j) != MEDSHIM_OK) {
    fprintf(stderr, "cannot open the journal or the simulator\n");
    goto done;
  }
  /* first attempt: 2204 is refused as busy, so 2202 undoes it (RETRY);
   * second attempt: the answer to 2207 is lost (UNKNOWN, then probed) */
  if (medshim_sim_inject(platform, "2204", MEDSHIM_SIM_FAULT_BUSY, 1) != MEDSHIM_OK ||
      medshim_sim_inject(platform, "2207", MEDSHIM_SIM_FAULT_LOST, 1) != MEDSHIM_OK)
    goto done;
  adapter.payload = platform;
  ro.institution_code = INSTITUTION;
  ro.backoff_base_seconds = 60;
  ro.flags = MEDSHIM_REPLAY_NO_VISIBILITY_DELAY; /* the simulator has no lag */
  for (int day = 0; day < 3; day++) {
    ro.at = 1647392400 + day * 86400; /* 2022-03-16 09:00, then daily */
    if (medshim_replay_run(&s, j, &adapter, &ro) != MEDSHIM_OK) {
      fprintf(stderr, "replay: %s\n", medshim_last_error()->text);
      goto done;
    }
  }
  printf("settled %zu, in doubt %zu, double-settlement attempts %zu\n", s.settled,
         s.in_doubt, medshim_sim_double_attempts(platform));
  rc = 0;
done:
  medshim_sim_close(platform);
  medshim_journal_close(j);
  return rc;
}
