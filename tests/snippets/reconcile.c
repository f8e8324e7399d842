/* docs/reconcile.md's API snippet, compiled as it is and run on a new,
 * empty journal and a platform file with one settlement the journal does
 * not have (under a Chinese column name): it prints "S-1 platform_only".
 * usage: snippet_reconcile KEYFILE JOURNAL_DIR WORKDIR */
#include <medshim/medshim.h>
#include <stdio.h>
#include <unistd.h>

static int reconcile(medshim_journal *journal) {
#include "snippet_reconcile.c"
  return 0;
}

int main(int argc, char **argv) {
  medshim_journal_options jo = MEDSHIM_JOURNAL_OPTIONS_INIT;
  medshim_journal *journal = NULL;
  FILE *f;
  int rc;
  if (argc != 4 || medshim_key_generate(argv[1], NULL) != MEDSHIM_OK)
    return 2;
  jo.key_file = argv[1];
  jo.flags = MEDSHIM_JOURNAL_CREATE;
  if (medshim_journal_open(&journal, argv[2], &jo, NULL) != MEDSHIM_OK ||
      chdir(argv[3]) != 0 || (f = fopen("3202.csv", "w")) == NULL)
    return 2;
  fputs("结算ID,mdtrt_id,psn_no,medfee_sumamt,fund_pay_sumamt,acct_pay,"
        "psn_cash_pay,setl_time\n"
        "S-1,M-1,33000000000000000012,238.50,166.95,23.85,47.70,"
        "2022-03-20 10:00:00\n", f);
  fclose(f);
  rc = reconcile(journal);
  medshim_journal_close(journal);
  return rc;
}
