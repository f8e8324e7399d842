/* A C replay adapter that walks the national out-patient sequence against
 * the simulator: 2201 register -> 2204 fee details -> 2206 pre-settle ->
 * 2207 settle, and 5203 to query a settlement whose answer was lost.
 * The replay key travels as the request's idempotency key.
 * usage: replay_adapter JOURNAL_DIR KEYFILE LEDGER */
#include <stdio.h>
#include <string.h>

#include <medshim/medshim.h>
#include <medshim/sim.h>

static int step(const char *infno, const char *what, const char *key) {
  printf("  %s %-18s msgid-seq=%s\n", infno, what, key);
  return 0;
}

static int settle(medshim_settlement *out, const medshim_claim *c,
                  const char *key, uint32_t attempt, void *payload) {
  medshim_sim *platform = payload;
  printf("%s attempt %u\n", medshim_claim_visit_id(c), (unsigned)attempt);
  step("2201", "register visit", key); /* gives mdtrt_id */
  step("2204", "upload fee details", key);
  step("2206", "pre-settle", key);
  step("2207", "settle", key);
  /* the platform's answer to 2207 (the simulator may lose it) */
  return medshim_sim_settle(platform, out, key, medshim_claim_total_fen(c));
}

static int query(medshim_settlement *out, const medshim_claim *c,
                 const char *key, uint32_t attempt, void *payload) {
  (void)attempt;
  printf("%s in doubt\n", medshim_claim_visit_id(c));
  step("5203", "query settlement", key);
  return medshim_sim_query(payload, out, key);
}

static int window(medshim_replay_window *w, const medshim_claim *c, void *p) {
  (void)c;
  (void)p;
  w->route = MEDSHIM_ROUTE_HOSPITAL;
  w->from = 1647273600; /* 2022-03-15 */
  w->until = 1672502400; /* 2023-01-01 */
  return 0;
}

int main(int argc, char **argv) {
  medshim_journal_options jo = MEDSHIM_JOURNAL_OPTIONS_INIT;
  medshim_sim_options so = MEDSHIM_SIM_OPTIONS_INIT;
  medshim_replay_options ro = MEDSHIM_REPLAY_OPTIONS_INIT;
  medshim_adapter adapter;
  medshim_replay_summary s;
  medshim_journal *j = NULL;
  medshim_sim *platform = NULL;
  if (argc < 4) {
    fprintf(stderr, "usage: %s JOURNAL_DIR KEYFILE LEDGER\n", argv[0]);
    return 64;
  }
  jo.key_file = argv[2];
  so.ledger_path = argv[3];
  so.lost_permille = 500; /* half the answers are lost */
  if (medshim_journal_open(&j, argv[1], &jo, NULL) != MEDSHIM_OK ||
      medshim_sim_open(&platform, &so) != MEDSHIM_OK) {
    fprintf(stderr, "cannot open the journal or the simulator\n");
    return 1;
  }
  adapter.version = MEDSHIM_ADAPTER_VERSION;
  adapter.settle = settle;
  adapter.query = query;
  adapter.payload = platform;
  ro.at = 1647392400; /* 2022-03-16 09:00 */
  ro.window = window;
  if (medshim_replay_run(&s, j, &adapter, &ro) != MEDSHIM_OK)
    fprintf(stderr, "replay: %s\n", medshim_journal_errmsg(j));
  printf("settled %zu, in doubt %zu, double-settlement attempts %zu\n", s.settled,
         s.in_doubt, medshim_sim_double_attempts(platform));
  medshim_sim_close(platform);
  medshim_journal_close(j);
  return 0;
}
