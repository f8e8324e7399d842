/* The integration guide's texts snippet, compiled as it is, on the
 * decision its comment names: an out-patient in Hangzhou on 2022-02-11.
 * usage: snippet_guide_texts NOTICE.json */
#include <medshim/medshim.h>
#include <stdio.h>

int main(int argc, char **argv) {
  medshim_schedule_set *set = NULL;
  medshim_decision d = MEDSHIM_DECISION_INIT;
  if (argc != 2 || medshim_schedule_set_new(&set, NULL, NULL) != MEDSHIM_OK ||
      medshim_schedule_set_load_file(set, argv[1], NULL) != MEDSHIM_OK ||
      medshim_schedule_decide(&d, set, MEDSHIM_SERVICE_OUTPATIENT, "330102", "330106",
                              1644543000) != MEDSHIM_OK)
    return 1;
  {
#include "snippet_guide_texts.c"
  }
  medshim_schedule_set_free(set);
  return 0;
}
