/* medshim-sim: the platform simulator as an exec adapter.
 *   MEDSHIM_OP=settle|query  medshim-sim --ledger FILE [--latency-ms N]
 *     [--retry-permille N] [--reject-permille N] [--lost-permille N]
 *     [--seed N] < claim.json
 * The claim line comes from `medshim replay --exec`; the answer is one JSON
 * object. A lost answer is simulated by exiting non-zero with no output
 * after the settlement was recorded. `medshim-sim --stats --ledger FILE`
 * prints the ledger's settlements and double-settlement attempts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "medshim/sim.h"

int main(int argc, char **argv) {
  medshim_sim_options o = MEDSHIM_SIM_OPTIONS_INIT;
  medshim_sim *sim = NULL;
  medshim_settlement s;
  const char *op = getenv("MEDSHIM_OP");
  char buf[1 << 16];
  size_t len;
  json_t *claim, *answer = NULL;
  json_error_t e;
  int stats = 0, rc = 0;
  char *text;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--stats") == 0) {
      stats = 1;
      continue;
    }
    if (v == NULL) {
      fprintf(stderr, "medshim-sim: %s needs a value\n", a);
      return 64;
    }
    i++;
    if (strcmp(a, "--ledger") == 0)
      o.ledger_path = v;
    else if (strcmp(a, "--latency-ms") == 0)
      o.latency_ms = (uint32_t)atoi(v);
    else if (strcmp(a, "--retry-permille") == 0)
      o.retry_permille = (uint32_t)atoi(v);
    else if (strcmp(a, "--reject-permille") == 0)
      o.reject_permille = (uint32_t)atoi(v);
    else if (strcmp(a, "--lost-permille") == 0)
      o.lost_permille = (uint32_t)atoi(v);
    else if (strcmp(a, "--seed") == 0)
      o.seed = (uint32_t)strtoul(v, NULL, 10);
    else {
      fprintf(stderr, "medshim-sim: unknown option %s\n", a);
      return 64;
    }
  }
  if (o.ledger_path == NULL)
    o.ledger_path = getenv("MEDSHIM_SIM_LEDGER");
  if (o.ledger_path == NULL) {
    fprintf(stderr, "medshim-sim: --ledger FILE (or MEDSHIM_SIM_LEDGER) is "
                    "required: each operation is a new process\n");
    return 64;
  }
  if (o.seed == 0) /* a fresh roll in every process */
    o.seed = (uint32_t)getpid() * 2654435761u;
  if (medshim_sim_open(&sim, &o) != MEDSHIM_OK)
    return 1;
  if (stats) {
    printf("{\"settlements\":%zu,\"double_attempts\":%zu}\n",
           medshim_sim_settlements(sim), medshim_sim_double_attempts(sim));
    medshim_sim_close(sim);
    return 0;
  }
  len = fread(buf, 1, sizeof buf - 1, stdin);
  buf[len] = '\0';
  claim = json_loads(buf, 0, &e);
  if (op == NULL || claim == NULL ||
      !json_is_string(json_object_get(claim, "replay_key"))) {
    fprintf(stderr, "medshim-sim: needs MEDSHIM_OP and a claim with "
                    "replay_key on stdin\n");
    medshim_sim_close(sim);
    json_decref(claim);
    return 64;
  }
  {
    const char *key = json_string_value(json_object_get(claim, "replay_key"));
    if (strcmp(op, "settle") == 0)
      rc = medshim_sim_settle(sim, &s, key,
                              json_integer_value(json_object_get(claim, "total_fen")));
    else
      rc = medshim_sim_query(sim, &s, key);
  }
  if (rc != MEDSHIM_OK || s.outcome == MEDSHIM_OUTCOME_UNKNOWN) {
    rc = 75; /* the answer is lost */
    goto done;
  }
  switch (s.outcome) {
  case MEDSHIM_OUTCOME_SETTLED:
    answer = json_pack("{s:s, s:s, s:I, s:I, s:I}", "status", "settled",
                       "settlement_id", s.settlement_id, "fund_paid_fen",
                       (json_int_t)s.fund_paid_fen, "acct_paid_fen",
                       (json_int_t)s.acct_paid_fen, "patient_paid_fen",
                       (json_int_t)s.patient_paid_fen);
    break;
  case MEDSHIM_OUTCOME_REJECTED:
    answer = json_pack("{s:s, s:s, s:s}", "status", "rejected", "code", s.code,
                       "message", s.message);
    break;
  case MEDSHIM_OUTCOME_RETRY:
    answer = json_pack("{s:s}", "status", "retry");
    break;
  default:
    answer = json_pack("{s:s}", "status", "not_found");
    break;
  }
  text = json_dumps(answer, JSON_COMPACT);
  printf("%s\n", text ? text : "{}");
  free(text);
  rc = 0;
done:
  json_decref(answer);
  json_decref(claim);
  medshim_sim_close(sim);
  return rc;
}
