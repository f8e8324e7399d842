/* A test harness for a HIS adapter team: defer claims (with the window the
 * cashier was told), replay them against the platform simulator through its
 * in-process adapter with lost answers and busy refusals, and assert what
 * matters: every claim settled exactly once, no visit settled twice, no
 * registration left half done, the journal's settlements are the
 * platform's, refunds add up. Exit status 0 when they hold.
 * usage: test_harness WORKDIR */
#include <stdio.h>
#include <string.h>

#include <medshim/medshim.h>
#include <medshim/sim.h>

#define INSTITUTION "H33010200001"

/* Re-settlement at the hospital from 2022-03-15, open-ended. */
static medshim_claim_window window(void) {
  medshim_claim_window w;
  memset(&w, 0, sizeof w);
  w.version = MEDSHIM_CLAIM_WINDOW_VERSION;
  w.route = MEDSHIM_CLAIM_ROUTE_HOSPITAL;
  w.from = 1647273600;
  return w;
}

static unsigned char k[32] = {1, 2, 3};
static int key(unsigned char out[MEDSHIM_KEY_BYTES], void *p) {
  (void)p;
  memcpy(out, k, sizeof k);
  return 0;
}

/* Each settled claim: the platform's one settlement of the visit. */
static int matches(const medshim_claim *c, const medshim_claim_status *st,
                   void *payload) {
  medshim_sim_visit v;
  if (st->state != MEDSHIM_STATE_SETTLED)
    return 1;
  if (medshim_sim_visit_get(payload, &v, medshim_claim_patient_psn_no(c),
                            medshim_claim_visit_id(c)) != MEDSHIM_OK ||
      v.settlements != 1 || strcmp(v.setl_id, st->settlement_id) != 0 ||
      v.patient_paid_fen != st->patient_paid_fen)
    return 1;
  return 0;
}

static int journal_matches(medshim_journal *j, medshim_sim *sim) {
  return medshim_journal_foreach(j, matches, sim) == MEDSHIM_OK ? 0 : 1;
}

int main(int argc, char **argv) {
  char dir[4096], ledger[4096];
  medshim_journal_options jo = MEDSHIM_JOURNAL_OPTIONS_INIT;
  medshim_sim_options so = MEDSHIM_SIM_OPTIONS_INIT;
  medshim_replay_options ro = MEDSHIM_REPLAY_OPTIONS_INIT;
  medshim_replay_summary s;
  medshim_sim_stats st;
  medshim_adapter a;
  medshim_journal *j = NULL;
  medshim_sim *sim = NULL;
  int64_t expected_refunds = 0;
  int failures = 0;
  if (argc < 2)
    return 64;
  snprintf(dir, sizeof dir, "%s/journal", argv[1]);
  snprintf(ledger, sizeof ledger, "%s/ledger", argv[1]);
  jo.key_fn = key;
  jo.flags = MEDSHIM_JOURNAL_CREATE;
  so.ledger_path = ledger;
  so.lost_permille = 50;  /* of writes: the platform did it, we hear nothing */
  so.retry_permille = 50; /* busy: nothing done */
  so.institution = INSTITUTION;
  if (medshim_journal_open(&j, dir, &jo, NULL) != MEDSHIM_OK ||
      medshim_sim_open(&sim, &so) != MEDSHIM_OK)
    return 1;
  for (int i = 0; i < 200; i++) {
    medshim_claim_fields f = MEDSHIM_CLAIM_FIELDS_INIT;
    medshim_claim *c = NULL;
    char id[16], psn[16];
    snprintf(id, sizeof id, "H%03d", i);
    snprintf(psn, sizeof psn, "P%03d", i);
    f.visit_id = id;
    f.service = MEDSHIM_SERVICE_OUTPATIENT;
    f.insured_admdvs = "330102";
    f.treated_admdvs = "330106";
    f.visit_time = 1644544800;
    f.total_fen = f.self_paid_fen = 10000;
    f.patient_psn_no = psn;
    medshim_claim_window w = window();
    if (medshim_claim_create(&c, &f, NULL) != MEDSHIM_OK ||
        medshim_claim_set_window(c, &w) != MEDSHIM_OK ||
        medshim_journal_defer(j, c, NULL) != MEDSHIM_OK) {
      medshim_claim_free(c);
      return 1;
    }
    medshim_claim_free(c);
    expected_refunds += 10000 - (10000 - 7000 - 1000); /* fund + account */
  }
  medshim_sim_adapter(&a, sim);
  ro.institution_code = INSTITUTION;
  ro.concurrency = 4;
  ro.backoff_base_seconds = 60;
  ro.flags = MEDSHIM_REPLAY_NO_VISIBILITY_DELAY; /* the simulator has no lag */
  /* a day of hourly replays */
  for (int hour = 0; hour < 24; hour++) {
    ro.at = 1647392400 + hour * 3600;
    if (medshim_replay_run(&s, j, &a, &ro) != MEDSHIM_OK) {
      fprintf(stderr, "replay: %s\n", medshim_last_error()->text);
      return 1;
    }
  }
#define EXPECT(cond, what) \
  do { if (!(cond)) { printf("FAIL: %s\n", what); failures++; } else printf("ok: %s\n", what); } while (0)
  if (medshim_sim_stats_get(sim, &st) != MEDSHIM_OK)
    return 1;
  EXPECT(s.settled == 200, "every claim settled");
  EXPECT(st.settlements == 200, "the platform holds 200 settlements");
  EXPECT(st.double_settlements == 0, "no visit was settled twice");
  EXPECT(st.open_partial == 0, "no registration was left half done");
  EXPECT(st.msgid_repeats == 0 && st.msgid_invalid == 0, "every msgid was new and valid");
  EXPECT(journal_matches(j, sim) == 0, "the journal's settlements are the platform's");
  EXPECT(s.refunds_due_fen == expected_refunds, "refunds add up");
  medshim_sim_close(sim);
  medshim_journal_close(j);
  return failures == 0 ? 0 : 1;
}
