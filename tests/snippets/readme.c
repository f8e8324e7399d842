/* The README's C snippet (his_start, his_settle), compiled as it is and
 * run against a Hangzhou 2022 visit: the online attempt fails, so the
 * claim is deferred with its window and the receipt printed; a visit the
 * library refuses is reported, never settled.
 * usage: snippet_readme NOTICE.json KEYFILE JOURNAL_DIR */
#include <medshim/medshim.h>
#include <stdio.h>

/* The HIS's own functions the snippet calls. */
static int settle_online(const medshim_claim *claim) {
  printf("%s: online attempt failed\n", medshim_claim_visit_id(claim));
  return -1;
}

static void print_receipt(const medshim_claim *claim, const medshim_decision *d) {
  char from[MEDSHIM_DAY_TEXT] = "";
  if (d->has_replay)
    (void)medshim_format_day(from, d->replay.from);
  printf("%s: collect in full; journaled, re-settled from %s\n",
         medshim_claim_visit_id(claim), from);
}

#include "snippet_readme.c"

int main(int argc, char **argv) {
  const char *visit = "{\"visit_id\":\"MZ20220211-0042\",\"service\":\"outpatient\","
                      "\"insured_admdvs\":\"330102\",\"treated_admdvs\":\"330106\","
                      "\"visit_time\":\"2022-02-11T09:30\",\"total_fen\":23850,"
                      "\"self_paid_fen\":23850}";
  const char *typo = "{\"visit_id\":\"MZ20220211-0043\",\"service\":\"outpatient\","
                     "\"insured_admdvs\":\"3301O2\",\"treated_admdvs\":\"330106\",\"visit_time\":\"2022-02-11T09:40\","
                     "\"total_fen\":100,\"self_paid_fen\":100}";
  int rc;
  if (argc != 4) {
    fprintf(stderr, "usage: %s NOTICE.json KEYFILE JOURNAL_DIR\n", argv[0]);
    return 64;
  }
  if (medshim_key_generate(argv[2], NULL) != MEDSHIM_OK || his_start(argv[1], argv[2], argv[3]) != 0)
    return 1;
  rc = his_settle(visit, 1644543000); /* 2022-02-11T09:30+08:00: the stop */
  if (rc != MEDSHIM_OK)
    return 1;
  if (his_settle(typo, 1644543600) == MEDSHIM_OK) /* refused, not settled */
    return 1;
  medshim_journal_close(journal);
  medshim_schedule_set_free(set);
  printf("snippet readme: done\n");
  return 0;
}
