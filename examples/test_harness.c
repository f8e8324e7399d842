/* A test harness for a HIS adapter team: defer claims, replay them against
 * the simulator with lost answers and transient failures, and assert the
 * properties that matter: every claim settled exactly once, nothing
 * settled twice, refunds add up. Exit status 0 when they hold.
 * usage: test_harness WORKDIR */
#include <stdio.h>
#include <string.h>

#include <medshim/medshim.h>
#include <medshim/sim.h>

static int open_window(medshim_replay_window *w, const medshim_claim *c, void *p) {
  (void)c;
  (void)p;
  w->route = MEDSHIM_ROUTE_HOSPITAL;
  w->from = 1647273600;
  w->until = 0;
  return 0;
}

static unsigned char k[32] = {1, 2, 3};
static int key(unsigned char out[MEDSHIM_KEY_BYTES], void *p) {
  (void)p;
  memcpy(out, k, sizeof k);
  return 0;
}

int main(int argc, char **argv) {
  char dir[4096], ledger[4096];
  medshim_journal_options jo = MEDSHIM_JOURNAL_OPTIONS_INIT;
  medshim_sim_options so = MEDSHIM_SIM_OPTIONS_INIT;
  medshim_replay_options ro = MEDSHIM_REPLAY_OPTIONS_INIT;
  medshim_replay_summary s;
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
  so.lost_permille = 250;
  so.retry_permille = 100;
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
    if (medshim_claim_create(&c, &f, NULL) != MEDSHIM_OK ||
        medshim_journal_defer(j, c, NULL) != MEDSHIM_OK)
      return 1;
    medshim_claim_free(c);
    expected_refunds += 10000 - (10000 - 7000 - 1000); /* fund + account */
  }
  medshim_sim_adapter(&a, sim);
  ro.window = open_window;
  ro.concurrency = 4;
  ro.backoff_base_seconds = 60;
  /* a day of hourly replays */
  for (int hour = 0; hour < 24; hour++) {
    ro.at = 1647392400 + hour * 3600;
    if (medshim_replay_run(&s, j, &a, &ro) != MEDSHIM_OK)
      return 1;
  }
#define EXPECT(cond, what) \
  do { if (!(cond)) { printf("FAIL: %s\n", what); failures++; } else printf("ok: %s\n", what); } while (0)
  EXPECT(s.settled == 200, "every claim settled");
  EXPECT(medshim_sim_settlements(sim) == 200, "the platform holds 200 settlements");
  EXPECT(medshim_sim_double_attempts(sim) == 0, "nothing was settled twice");
  EXPECT(s.refunds_due_fen == expected_refunds, "refunds add up");
  medshim_sim_close(sim);
  medshim_journal_close(j);
  return failures == 0 ? 0 : 1;
}
