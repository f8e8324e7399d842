/* libFuzzer target for the schedule parser and the decision on what it
 * accepts. */
#include <stdlib.h>
#include <string.h>

#include "medshim/medshim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *regions[] = {"330102", "640104", "110105", "140905"};
  medshim_schedule_set *set = NULL;
  medshim_error err;
  medshim_decision d = MEDSHIM_DECISION_INIT;
  if (medshim_schedule_set_new(&set, NULL, &err) != MEDSHIM_OK)
    abort();
  if (medshim_schedule_set_load_json(set, "fuzz", (const char *)data, size, NULL,
                                     &err) == MEDSHIM_OK) {
    for (int r = 0; r < 4; r++)
      for (int s = 1; s <= 6; s++) {
        if (medshim_schedule_decide(&d, set, s, regions[r], regions[3 - r],
                                    1644456600) != MEDSHIM_OK)
          abort();
        if (d.until != 0 && d.until <= 1644456600)
          abort();
      }
  }
  medshim_schedule_set_free(set);
  return 0;
}
