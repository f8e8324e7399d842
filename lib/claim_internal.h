/* The claim's representation and its canonical binary encoding, shared by
 * the claim module and the journal. Never installed. */
#ifndef MEDSHIM_CLAIM_INTERNAL_H
#define MEDSHIM_CLAIM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "medshim/claim.h"

struct medshim_claim {
  char visit_id[MEDSHIM_VISIT_ID_MAX + 1];
  medshim_service service;
  char insured_admdvs[7];
  char treated_admdvs[7];
  int64_t visit_time;
  int64_t total_fen;
  int64_t self_paid_fen;
  char *invoice_no;        /* NULL when absent */
  char *patient_name;      /* personal */
  char *patient_id_no;     /* personal */
  char *patient_psn_no;    /* personal */
  char *patient_cert_type;
  char *detail;            /* byte-exact JSON, NUL-terminated copy; NULL if absent */
  size_t detail_len;
  int has_window;          /* the window the cashier was told, journaled */
  medshim_claim_window window;
};

/* A window as the journal and the JSON line keep it: valid route, from <
 * until (or until 0), printable schedule id. MEDSHIM_OK or MEDSHIM_EINVAL
 * with the reason in *why. */
int medshim__claim_window_check(const medshim_claim_window *w,
                                const char **why);

/* The "window" member of a claim line, parsed into c (absent: nothing) and
 * rendered from it (no window: nothing added). */
struct json_t;
int medshim__claim_window_from_json(medshim_claim *c, struct json_t *value,
                                    medshim_error *err);
int medshim__claim_window_to_json(struct json_t *obj, const medshim_claim *c);

/* Claims decoded since the process started (every read of a claim
 * record ends here), for tests that count reads. */
unsigned long medshim__claim_decodes(void);

/* Bytes a decoded claim holds in memory (the struct and its strings), for
 * callers that keep many. */
size_t medshim__claim_footprint(const medshim_claim *c);

/* Canonical binary encoding: the same claim always gives the same bytes, so
 * the journal compares encodings to tell a duplicate from a conflict.
 * *out is malloc'ed; the caller wipes (personal data) and frees it.
 * Returns MEDSHIM_OK, MEDSHIM_EINVAL or MEDSHIM_ENOMEM. */
int medshim__claim_encode(unsigned char **out, size_t *out_len,
                          const medshim_claim *claim);

/* Decode what medshim__claim_encode() wrote, validating every field as
 * medshim_claim_create() does. Returns MEDSHIM_OK, MEDSHIM_ECORRUPT for bytes
 * that are not a valid encoding, or MEDSHIM_ENOMEM. */
int medshim__claim_decode(medshim_claim **out, const unsigned char *buf,
                          size_t len);

#endif
