/* The simulator's internals: the platform state rebuilt from ledger events,
 * the ledger file, edge conversions, and the adapter logic shared by the
 * in-process adapter and the medshim-sim exec program. */
#ifndef MEDSHIM_SIM_INTERNAL_H
#define MEDSHIM_SIM_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "medshim/sim.h"

/* ---- edge conversions (sim_util.c) ---- */

/* "238.50", "238.5", "238" (and JSON integers) to fen, exactly; -1 when
 * the value is not such an amount (negative, more than 2 decimals, huge). */
int msim_yuan_parse(int64_t *out, const json_t *v);
/* fen to "238.50"; out needs 32 bytes. */
void msim_yuan_format(char out[32], int64_t fen);
/* "yyyy-MM-dd HH:mm:ss" in +08:00 to Unix s; -1 when malformed. */
int msim_time_parse(int64_t *out, const char *text);
/* Unix s to "yyyy-MM-dd HH:mm:ss" in +08:00; out needs 20 bytes. */
void msim_time_format(char out[20], int64_t t);
/* "yyyyMMddHHmmss" of Unix s in +08:00; out needs 15 bytes. */
void msim_time_compact(char out[15], int64_t t);
int64_t msim_now_ms(void);
/* write(2) all of buf, retrying on EINTR; -1 on failure. */
int msim_write_all(int fd, const void *buf, size_t n);
uint64_t msim_hash(const char *s);
/* 1 when msgid is 30 chars: 12 letters/digits (== inst when given),
 * a valid yyyyMMddHHmmss, 4 digits. */
int msim_msgid_valid(const char *msgid, const char *inst);

/* String -> index map, open addressing; keys are copied. */
typedef struct msim_map {
  char **keys;
  size_t *vals;
  size_t cap, n;
} msim_map;
int msim_map_put(msim_map *m, const char *key, size_t val);
int msim_map_get(const msim_map *m, const char *key, size_t *val);
void msim_map_free(msim_map *m);

/* ---- platform state (sim_state.c) ---- */

#define MSIM_ID 40

typedef struct msim_batch { /* one 2204 request's fee details */
  char **sn;
  size_t n;
  int64_t sum;
  int64_t t_del; /* wall ms deleted (2205, 2601); 0: active */
} msim_batch;

typedef struct msim_visit { /* one 2201 registration */
  char mdtrt_id[MSIM_ID];
  char *psn, *ipt;
  char med_type[8], insutype[8];
  int64_t begn;              /* begntime, Unix s */
  int64_t t_reg, t_unreg;    /* wall ms; t_unreg 0: active */
  msim_batch *b;
  size_t nb, capb;
  size_t last_setl;          /* settlement index + 1, newest first chain */
  size_t prev_psn, prev_key; /* visit index + 1 of the same person / visit key */
} msim_visit;

enum { MSIM_ACTIVE = 0, MSIM_CANCELLED = 1, MSIM_REVERSED = 2 };

typedef struct msim_setl { /* one 2207 settlement */
  char setl_id[MSIM_ID];
  char *medins; /* medins_setl_id, or NULL */
  size_t visit;
  int64_t total, fund, acct, cash, hosp;
  int64_t stime;         /* setl_time, Unix s */
  int64_t t_setl, t_undo; /* wall ms */
  int undo;              /* MSIM_ACTIVE, _CANCELLED, _REVERSED */
  size_t prev, prev_medins; /* settlement index + 1 */
} msim_setl;

enum { MSIM_DID_NOTHING = 0, MSIM_DID_REG, MSIM_DID_FEE, MSIM_DID_SETL,
       MSIM_DID_OTHER };

typedef struct msim_msg { /* a request the platform processed */
  char infno[8];
  int64_t t;
  int did;          /* MSIM_DID_* */
  size_t ref, ref2; /* visit (and batch) or settlement */
  int64_t t_rev;    /* reversed by 2601 at (wall ms); 0: not */
} msim_msg;

typedef struct msim_state {
  msim_visit *v;
  size_t nv, capv;
  msim_setl *s;
  size_t ns, caps;
  msim_msg *m;
  size_t nm, capm;
  msim_map by_mdtrt, by_setl, by_psn, by_key, by_medins, by_msgid;
  size_t events, calls, repeats, invalid, lost, reversals, cancels, damaged;
} msim_state;

void msim_state_free(msim_state *st);
/* Apply one ledger event (a JSON object). 0, or -1 (out of memory, or an
 * event this state cannot take: counted damaged by the caller). */
int msim_apply(msim_state *st, const json_t *ev);
/* "psn\x1fipt" into out (malloc'ed). */
char *msim_visit_key(const char *psn, const char *ipt);

/* ---- the handle (sim.c) and ledger (sim_ledger.c) ---- */

typedef struct msim_inject {
  char infno[8]; /* "" any */
  medshim_sim_fault fault;
  unsigned int count;
} msim_inject;

struct medshim_sim {
  medshim_sim_options o;
  char *path, *inst;
  pthread_mutex_t mu;  /* the state and the ledger */
  pthread_mutex_t rmu; /* rng, injections, msgid sequence */
  msim_state st;
  int64_t off;         /* ledger bytes applied */
  int fd;              /* open during a section, else -1 */
  int locked;          /* fd holds the exclusive flock */
  int tail_partial;    /* the file ends in a torn line */
  int snap_tried;      /* the snapshot was looked for (first section) */
  int snap_bad;        /* the one there was refused: replace it */
  int snap_loaded;     /* the state started from the snapshot */
  int64_t snap_off;    /* ledger offset of the newest snapshot known */
  size_t snap_progress; /* msim_progress() at snap_off */
  uint64_t rng;
  msim_inject inj[16];
  size_t ninj;
  unsigned int seq;
  int64_t seq_sec;
  atomic_size_t busy, settle_calls, in_flight, max_in_flight;
};

/* Lock (mutex, flock) and apply what others appended: the complete lines
 * first without the flock, so processes parse in parallel, then under it
 * the few appended meanwhile. At the first section, the snapshot first. */
int msim_ledger_begin(medshim_sim *s);
/* Append one event line (durably when @p durable) and apply it. */
int msim_ledger_append(medshim_sim *s, json_t *ev, int durable);
/* Ends the section; a snapshot first when it is due (the flock held). */
void msim_ledger_end(medshim_sim *s);
/* Only the first part of msim_ledger_begin: under the handle's mutex but
 * not the flock, apply the whole lines others appended. 0, or -1 when the
 * ledger cannot be opened. */
int msim_ledger_peek(medshim_sim *s);
/* The lines applied to a state: events and damaged lines. */
size_t msim_progress(const msim_state *st);

/* ---- snapshot of the state (sim_snapshot.c) ---- */

/* A process that applied more lines than this beyond the newest snapshot
 * writes a new one (at the end of a locked section). */
#define MSIM_SNAPSHOT_EVERY 2000

/* The snapshot's path: the ledger's + ".snap" (malloc'ed). */
char *msim_snapshot_path(const char *ledger);
/* Load the snapshot of the ledger open as @p fd into the handle's empty
 * state (st, off, snap_*). 0 loaded; -1 none, or one not whole, of another
 * version, or not of this ledger's bytes up to its offset: the state is
 * left empty (a full reload follows), snap_bad set when one was there. */
int msim_snapshot_load(medshim_sim *s, int fd);
/* Write the state at s->off as the snapshot (through a new temporary file
 * and a rename), unless a snapshot of about as many lines is there. The
 * caller holds the ledger's flock. 0 written or not needed, -1 failed (a
 * lost snapshot costs only a reload). */
int msim_snapshot_write(medshim_sim *s, int fd);

/* ---- transactions (sim_txn.c) ---- */

typedef struct msim_tx {
  medshim_sim *s;
  const char *infno, *msgid;
  const json_t *in;   /* the fields (input.data or input) */
  const json_t *root; /* the whole input */
  json_t *out;        /* output object */
  json_t *ev;         /* state change to record, or NULL */
  const char *err_code;
  char err_msg[128];
  int64_t now;        /* wall ms */
} msim_tx;

/* Run a transaction against the locked state: fills out, or err_code and
 * err_msg for a refusal, and ev for a state change. -1: out of memory. */
int msim_tx_run(msim_tx *tx);
int msim_tx_known(const char *infno);

/* ---- adapter logic (sim_adapter.c) ---- */

/* What the adapter needs of a claim. */
typedef struct msim_claim {
  const char *visit_id, *psn_no, *id_no, *cert_type, *replay_key;
  int service; /* medshim_service */
  int64_t visit_time, total_fen;
} msim_claim;

/* How the adapter records steps: the engine's ctx (in process) or the exec
 * protocol's lines (medshim-sim). */
typedef struct msim_recorder {
  size_t (*count)(void *c);
  const medshim_step *(*step)(void *c, size_t i);
  int (*begin)(void *c, char msgid[MEDSHIM_MSGID_LEN + 1], const char *infno);
  int (*end)(void *c, const medshim_step *step);
  void *c;
} msim_recorder;

typedef struct msim_actx {
  medshim_sim *sim;
  msim_claim claim;
  uint32_t attempt;
  msim_recorder rec;
} msim_actx;

int msim_adapter_settle(medshim_settlement *out, msim_actx *a);
int msim_adapter_probe(medshim_settlement *out, msim_actx *a);

#endif
