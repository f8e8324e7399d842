/* Schedules in memory, the compiled decision index and the breaker table. */
#ifndef MEDSHIM_SCHEDULE_INTERNAL_H
#define MEDSHIM_SCHEDULE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "medshim/schedule.h"

/* Service slots: 1..6 settlement, 16..20 agency; a bit each. */
#define SCHED_SLOTS 21
typedef uint32_t sched_mask;
#define SCHED_BIT(s) ((sched_mask)1u << (s))

typedef struct sched_phase {
  sched_mask services;
  int64_t from, until;
  medshim_verdict effect;
  char *note;
  char *reason; /* composed once at load: the decision's reason text */
  uint32_t *regions; /* narrower than the schedule's; NULL: all of them */
  size_t nregions;
} sched_phase;

typedef struct sched_advice {
  medshim_advice_kind kind;
  sched_mask services;
  int64_t from; /* shown from (default: the schedule's issue time) */
  int64_t at;
  char *text;
} sched_advice;

typedef struct sched_resettle {
  sched_mask services;
  medshim_route route; /* NONE: the notice says paid for good (Wuhan cash) */
  int64_t from, until;               /* until 0: open-ended */
  int64_t visits_from, visits_until; /* 0/0: any visit */
} sched_resettle;

typedef struct sched {
  char id[MEDSHIM_SCHEDULE_ID_MAX + 1];
  uint32_t version;
  int64_t issued;
  char *source;
  uint32_t *regions; /* prefix keys, see sched_key() */
  size_t nregions;
  sched_phase *phases;
  size_t nphases;
  sched_advice *advice;
  size_t nadvice;
  sched_resettle *resettle;
  size_t nresettle;
} sched;

/* A region prefix as a key: (digits << 3) | length/2, e.g. "3301" -> 3301<<3|2. */
static inline uint32_t sched_key(uint32_t digits, unsigned pairs) {
  return (digits << 3) | pairs;
}

/* One piece of a merged timeline: [from, next piece's from). */
typedef struct sched_piece {
  int64_t from;
  int64_t effect_until; /* next instant the effect differs; INT64_MAX never */
  medshim_verdict effect;
  const sched_phase *phase; /* dominant phase, NULL when online */
  const sched *owner;
} sched_piece;

typedef struct sched_timeline {
  sched_piece *pieces;
  size_t n;
} sched_timeline;

typedef struct sched_node {
  uint32_t key;
  sched_timeline tl[SCHED_SLOTS];
  const sched **scheds; /* schedules covering this key (with ancestors) */
  size_t nscheds;
} sched_node;

#define BREAKER_SLOTS 256
typedef struct breaker {
  char region[7];
  uint32_t failures;      /* consecutive, while closed */
  int64_t opened_at;      /* start of the current pause */
  medshim_breaker_state state; /* CLOSED or OPEN; half-open is derived */
  int probing;            /* the half-open probe has been handed out */
  int64_t probe_at;       /* ... at this instant */
} breaker;

/* The breaker table: the only part of a set that deciding changes, behind
 * its own pointer and lock, so that a const set can be decided against
 * without casting its constness away. */
typedef struct breaker_table {
  pthread_mutex_t mu;
  atomic_int tripped; /* fast path: 0 means all closed */
  breaker slots[BREAKER_SLOTS];
} breaker_table;

/* A compiled index, immutable once published. Each load publishes a new
 * one; the ones it replaces are kept (retired) until the set is freed, as
 * are replaced schedules, so a thread deciding while another loads reads
 * a whole index, old or new, and a decision's strings stay valid. */
typedef struct sched_index {
  sched_node *nodes;
  size_t nnodes;
  uint32_t *slots; /* open addressing: node index + 1 */
  size_t nslots;
  struct sched_index *retired; /* the one this replaced */
} sched_index;

struct medshim_schedule_set {
  medshim_schedule_options opts;
  char *public_key_pem;
  /* loads, and what only they change, behind load_mu */
  pthread_mutex_t load_mu;
  sched **scheds;
  size_t nscheds;
  sched **retired;  /* replaced by newer versions, freed with the set */
  size_t nretired;
  char **notices;
  size_t nnotices;
  /* the current index: read lock-free by decide, replaced by loads */
  sched_index *_Atomic index;
  breaker_table *breakers;
  void *public_key; /* parsed once at set_new (an EVP_PKEY), or NULL */
};

/* The Ed25519 public key of a PEM text (NULL: not one); freed with
 * medshim__sched_pubkey_free. */
void *medshim__sched_pubkey_parse(const char *public_key_pem);
void medshim__sched_pubkey_free(void *key);
/* medshim_schedule_verify() with a parsed key. */
int medshim__sched_verify_with(const char *data, size_t len,
                               const char *signature_b64, void *key);

/* Parse and validate one schedule. */
int medshim__sched_parse(sched **out, const char *json, size_t len,
                         medshim_error *err);
void medshim__sched_free(sched *s);
/* Prefix key of a 6-digit admdvs (trailing "00" pairs dropped); 0 if bad. */
uint32_t medshim__sched_region_key(const char *admdvs, int as_visit);
/* Is prefix key a an ancestor of (or equal to) key b? */
int medshim__sched_covers(uint32_t a, uint32_t b);
/* Rebuild the index; MEDSHIM_OK or MEDSHIM_ENOMEM. */
int medshim__sched_compile(medshim_schedule_set *set);
void medshim__sched_index_free(medshim_schedule_set *set);
/* Node for a visit's region (longest prefix present), or NULL. */
const sched_node *medshim__sched_lookup(const medshim_schedule_set *set,
                                        const char *admdvs);
/* Piece of a timeline at t (NULL: online, before every boundary). */
const sched_piece *medshim__sched_piece_at(const sched_timeline *tl, int64_t t,
                                           int64_t *first_boundary);
/* The breaker's say on a visit (regions already validated): ONLINE when
 * both are closed; TRY_ONLINE when this visit is the half-open probe (and
 * the probe is claimed); DEFER otherwise, with *until the earliest instant
 * that can change without a report, *reason static text and *code its
 * reason code. Locks only when some breaker has tripped; never allocates. */
medshim_verdict medshim__sched_breaker_gate(const medshim_schedule_set *set,
                                            const char *insured,
                                            const char *treated, int64_t at,
                                            int64_t *until,
                                            const char **reason,
                                            medshim_reason_code *code);

#endif
