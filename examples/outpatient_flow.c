/* An out-patient HIS flow: before settling, ask libmedshim; settle online,
 * try online, or collect in full and journal the claim durably.
 * usage: outpatient_flow SCHEDULE.json JOURNAL_DIR KEYFILE [TIME]
 * (make the key with `medshim keygen KEYFILE`). */
#include <stdio.h>
#include <string.h>

#include <medshim/medshim.h>

/* Stand-in for the HIS's own online settlement (2201..2207). */
static int settle_online(const char *visit_id) {
  printf("  settling %s online through the platform...\n", visit_id);
  return -1; /* pretend the platform timed out */
}

int main(int argc, char **argv) {
  medshim_schedule_set *set = NULL;
  medshim_journal_options jo = MEDSHIM_JOURNAL_OPTIONS_INIT;
  medshim_journal *journal = NULL;
  medshim_decision d = MEDSHIM_DECISION_INIT;
  medshim_error err;
  char yuan[MEDSHIM_YUAN_TEXT], *receipt = NULL;
  const char *visit = "{\"visit_id\":\"MZ20220211-0042\",\"service\":\"outpatient\","
                      "\"insured_admdvs\":\"330102\",\"treated_admdvs\":\"330106\","
                      "\"visit_time\":\"2022-02-11T09:30\",\"total_fen\":23850,"
                      "\"self_paid_fen\":23850,\"patient\":{\"name\":\"张三\"}}";
  medshim_claim *claim = NULL;
  int64_t at = 1644543000; /* 2022-02-11T09:30+08:00 */
  int rc = 1;

  if (argc < 4) {
    fprintf(stderr, "usage: %s SCHEDULE.json JOURNAL_DIR KEYFILE\n", argv[0]);
    return 64;
  }
  memset(&err, 0, sizeof err);
  if (medshim_schedule_set_new(&set, NULL, &err) != MEDSHIM_OK ||
      medshim_schedule_set_load_file(set, argv[1], &err) != MEDSHIM_OK) {
    fprintf(stderr, "%s: %s\n", err.where, err.text);
    goto done;
  }
  /* On a refused call (a region typo) d is still safe to act on: a defer,
   * code invalid_input; say so to IT. */
  if (medshim_schedule_decide(&d, set, MEDSHIM_SERVICE_OUTPATIENT, "330102", "330106",
                              at) != MEDSHIM_OK)
    fprintf(stderr, "not decided: %s\n", d.reason);
  printf("decision: %s (%s)\n", medshim_verdict_name(d.decision), d.reason);
  if (d.decision == MEDSHIM_ONLINE ||
      (d.decision == MEDSHIM_TRY_ONLINE && settle_online("MZ20220211-0042") == 0)) {
    rc = 0;
    goto done;
  }
  /* Defer: collect in full, journal the claim; tell the cashier. */
  jo.key_file = argv[3];
  jo.flags = MEDSHIM_JOURNAL_CREATE;
  if (medshim_claim_parse_json(&claim, visit, strlen(visit), &err) != MEDSHIM_OK ||
      medshim_journal_open(&journal, argv[2], &jo, &err) != MEDSHIM_OK) {
    fprintf(stderr, "%s: %s\n", err.where, err.text);
    goto done;
  }
  if (medshim_journal_defer(journal, claim, NULL) != MEDSHIM_OK) {
    fprintf(stderr, "not journaled: %s\n", medshim_journal_errmsg(journal));
    goto done;
  }
  medshim_fen_to_yuan(yuan, sizeof yuan, medshim_claim_total_fen(claim));
  printf("cashier: collect %s yuan in full; the visit is journaled "
         "and will be re-settled", yuan);
  if (d.has_replay)
    printf(" (%s route)", medshim_route_name(d.replay.route));
  printf(".\n");
  /* what the patient's receipt says: where and from when, the last day */
  if (medshim_decision_text(&receipt, &d, MEDSHIM_SERVICE_OUTPATIENT,
                            MEDSHIM_TEXT_RECEIPT, MEDSHIM_LANG_ZH) == MEDSHIM_OK)
    printf("receipt: %s\n", receipt);
  medshim_free(receipt);
  rc = 0;
done:
  medshim_claim_free(claim);
  medshim_journal_close(journal);
  medshim_schedule_set_free(set);
  return rc;
}
