/* A pharmacy point of sale: the key comes from the POS's own secret store
 * (a callback), and every sale during a stop is journaled before the
 * receipt prints. usage: pharmacy_pos SCHEDULE.json JOURNAL_DIR */
#include <stdio.h>
#include <string.h>

#include <medshim/medshim.h>

/* Stand-in for the POS's secret store (a TPM, the OS keyring...). */
static int secret_store(unsigned char key[MEDSHIM_KEY_BYTES], void *payload) {
  (void)payload;
  for (int i = 0; i < MEDSHIM_KEY_BYTES; i++)
    key[i] = (unsigned char)(0xA5 ^ i);
  return 0;
}

int main(int argc, char **argv) {
  static const struct { const char *id; int64_t fen; } sales[] = {
      {"YD-0001", 5600}, {"YD-0002", 1280}, {"YD-0003", 23900}};
  medshim_journal_options jo = MEDSHIM_JOURNAL_OPTIONS_INIT;
  medshim_schedule_set *set = NULL;
  medshim_journal *j = NULL;
  int64_t at = 1644566400; /* 2022-02-11T16:00+08:00 */
  if (argc < 3 || medshim_schedule_set_new(&set, NULL, NULL) != MEDSHIM_OK ||
      medshim_schedule_set_load_file(set, argv[1], NULL) != MEDSHIM_OK) {
    fprintf(stderr, "usage: %s SCHEDULE.json JOURNAL_DIR\n", argv[0]);
    return 64;
  }
  jo.key_fn = secret_store;
  jo.flags = MEDSHIM_JOURNAL_CREATE;
  if (medshim_journal_open(&j, argv[2], &jo, NULL) != MEDSHIM_OK) {
    fprintf(stderr, "journal busy or damaged\n");
    return 1;
  }
  for (size_t i = 0; i < sizeof sales / sizeof sales[0]; i++) {
    medshim_decision d = MEDSHIM_DECISION_INIT;
    medshim_claim_fields f = MEDSHIM_CLAIM_FIELDS_INIT;
    medshim_claim *c = NULL;
    medshim_defer_result r;
    if (medshim_schedule_decide(&d, set, MEDSHIM_SERVICE_PHARMACY, "330104", "330106",
                                at) != MEDSHIM_OK)
      fprintf(stderr, "%s: not decided: %s\n", sales[i].id, d.reason); /* a defer */
    if (d.decision == MEDSHIM_ONLINE) {
      printf("%s: settle online\n", sales[i].id);
      continue;
    }
    f.visit_id = sales[i].id;
    f.service = MEDSHIM_SERVICE_PHARMACY;
    f.insured_admdvs = "330104";
    f.treated_admdvs = "330106";
    f.visit_time = at;
    f.total_fen = f.self_paid_fen = sales[i].fen;
    if (medshim_claim_create(&c, &f, NULL) != MEDSHIM_OK ||
        medshim_journal_defer(j, c, &r) != MEDSHIM_OK) {
      printf("%s: NOT journaled (%s): do not print the receipt\n", sales[i].id,
             medshim_journal_errmsg(j));
    } else {
      printf("%s: paid in full, journaled (%s); receipt printed\n", sales[i].id,
             r == MEDSHIM_DEFER_STORED ? "stored" : "already stored");
    }
    medshim_claim_free(c);
  }
  medshim_journal_close(j);
  medshim_schedule_set_free(set);
  return 0;
}
