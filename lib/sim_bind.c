/* The in-process adapter: the simulator's adapter logic (sim_adapter.c)
 * recording its steps through the replay engine's medshim_adapter_ctx. */
#include <string.h>

#include "sim_internal.h"

static size_t ctx_count(void *c) { return medshim_adapter_step_count(c); }

static const medshim_step *ctx_step(void *c, size_t i) {
  return medshim_adapter_step(c, i);
}

static int ctx_begin(void *c, char msgid[MEDSHIM_MSGID_LEN + 1],
                     const char *infno) {
  return medshim_adapter_step_begin(c, msgid, infno);
}

static int ctx_end(void *c, const medshim_step *st) {
  return medshim_adapter_step_end(c, st);
}

static int bind(msim_actx *a, medshim_adapter_ctx *ctx, void *payload) {
  const medshim_claim *c = medshim_adapter_claim(ctx);
  memset(a, 0, sizeof *a);
  if (c == NULL || payload == NULL)
    return -1;
  a->sim = payload;
  a->attempt = medshim_adapter_attempt(ctx);
  a->claim.visit_id = medshim_claim_visit_id(c);
  a->claim.psn_no = medshim_claim_patient_psn_no(c);
  a->claim.id_no = medshim_claim_patient_id_no(c);
  a->claim.cert_type = medshim_claim_patient_cert_type(c);
  a->claim.replay_key = medshim_adapter_replay_key(ctx);
  a->claim.service = (int)medshim_claim_service(c);
  a->claim.visit_time = medshim_claim_visit_time(c);
  a->claim.total_fen = medshim_claim_total_fen(c);
  a->rec = (msim_recorder){ctx_count, ctx_step, ctx_begin, ctx_end, ctx};
  return 0;
}

static int settle(medshim_settlement *out, medshim_adapter_ctx *ctx,
                  void *payload) {
  msim_actx a;
  if (out == NULL || bind(&a, ctx, payload) != 0)
    return -1;
  return msim_adapter_settle(out, &a);
}

static int probe(medshim_settlement *out, medshim_adapter_ctx *ctx,
                 void *payload) {
  msim_actx a;
  if (out == NULL || bind(&a, ctx, payload) != 0)
    return -1;
  return msim_adapter_probe(out, &a);
}

void medshim_sim_adapter(medshim_adapter *out, medshim_sim *sim) {
  if (out == NULL)
    return;
  out->version = MEDSHIM_ADAPTER_VERSION;
  out->settle = settle;
  out->probe = probe;
  out->payload = sim;
}
