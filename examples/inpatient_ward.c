/* An in-patient ward before a cutover: which advice applies now? Settle
 * dischargeable patients before the deadline; admit as self-pay.
 * usage: inpatient_ward SCHEDULE.json */
#include <stdio.h>

#include <medshim/medshim.h>

int main(int argc, char **argv) {
  /* 2022-02-05 10:00, 02-09 16:00 and 02-11 10:00 in Hangzhou (+08:00) */
  const int64_t moments[] = {1644026400, 1644393600, 1644544800};
  medshim_schedule_set *set = NULL;
  medshim_error err;
  if (argc < 2 || medshim_schedule_set_new(&set, NULL, &err) != MEDSHIM_OK ||
      medshim_schedule_set_load_file(set, argv[1], &err) != MEDSHIM_OK) {
    fprintf(stderr, "usage: %s SCHEDULE.json\n", argv[0]);
    medshim_schedule_set_free(set);
    return 64;
  }
  for (int i = 0; i < 3; i++) {
    medshim_decision d = MEDSHIM_DECISION_INIT;
    if (medshim_schedule_decide(&d, set, MEDSHIM_SERVICE_INPATIENT, "330102", NULL,
                                moments[i]) != MEDSHIM_OK)
      fprintf(stderr, "not decided: %s\n", d.reason); /* d is a defer */
    printf("at %lld: %s\n", (long long)moments[i], medshim_verdict_name(d.decision));
    for (size_t k = 0; k < d.advice_count; k++)
      printf("  advice %s (until %lld): %s\n",
             medshim_advice_kind_name(d.advice[k].kind), (long long)d.advice[k].at,
             d.advice[k].text);
    if (d.has_replay)
      printf("  deferred in-patients: %s from %lld until %lld\n",
             medshim_route_name(d.replay.route), (long long)d.replay.from,
             (long long)d.replay.until);
  }
  medshim_schedule_set_free(set);
  return 0;
}
