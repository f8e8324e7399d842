/* Crash states. Real journal runs are recorded through the I/O shim's
 * recorder (lib/io.c): every create, mkdir, write, sync, rename, unlink and
 * truncate. From the log, the states a power cut may leave on disk are
 * rebuilt at every point of it, and each is checked as a restarted program
 * would: verify, open for writing (as the next cashier: it trims a torn
 * tail), read every claim acknowledged before the crash and every status
 * acknowledged with a sync, defer one more claim, verify again.
 *
 * File-system model. A file's durable content is what it had at its last
 * fsync/fdatasync; its writes and truncations since are pending. A
 * directory entry (create, mkdir, rename, unlink) is durable only after an
 * fsync of its directory (the file's own sync does not persist its name);
 * until then a crash may have applied any prefix of the directory's pending
 * entries. States at each crash point, by model:
 *   durable  nothing pending applied;
 *   prefix   every prefix of the pending data operations (log order);
 *   torn     a prefix whose last write is cut at each 512-byte sector
 *            boundary inside it;
 *   reorder  per file, its pending bytes as 512-byte sectors of which a
 *            subset reached the disk: every suffix (later sectors written,
 *            earlier not: the ALICE/CrashMonkey model), all but one, none
 *            with the size grown, and random subsets (fixed seed). Sectors
 *            not written read as before: zeros beyond the durable size, or
 *            the file ends after the last sector written.
 * Identical states are checked once, at the latest point they occur (the
 * most acknowledgements). Linux only: the recorder reads /proc/self/fd.
 *
 * Environment: MEDSHIM_CRASHSTATE_STRICT_REORDER=0 reports, but does not
 * fail on, reordered states called damage because a failed record is
 * followed by an authentic one (the scan's rule today; being changed).
 * MEDSHIM_CRASHSTATE_RANDOM: random subsets per file and crash point (16).
 * MEDSHIM_CRASHSTATE_SHOW: failing states described per category (2).
 * MEDSHIM_CRASHSTATE_TMP: where to run (default /dev/shm, else TMPDIR). */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "errors_internal.h"
#include "io_internal.h"
#include "journal_internal.h"
#include "medshim/medshim.h"
#include "testutil.h"

#define SECTOR 512u

/* ---- the log ------------------------------------------------------------ */

enum ev_op {
  EV_CREATE = 1,
  EV_MKDIR,
  EV_WRITE,
  EV_SYNC,  /* fdatasync or fsync of a file */
  EV_DSYNC, /* fsync of a directory */
  EV_RENAME,
  EV_UNLINK,
  EV_TRUNC,
  /* test-side markers */
  EV_ACK_CLAIM,  /* ref: claim index, acknowledged */
  EV_STATUS,     /* ref: status index, about to be written */
  EV_ACK_STATUS, /* ref: status index, acknowledged (durable) */
  EV_NOTE        /* path: what the test does next */
};

typedef struct ev {
  enum ev_op op;
  char *path, *path2; /* relative to the run's root ("" is the root) */
  unsigned char *data;
  size_t len;
  uint64_t off;
  int ref;
} ev;

static int is_marker(enum ev_op op) { return op >= EV_ACK_CLAIM; }

typedef struct blob {
  unsigned char *p;
  size_t n;
} blob;

/* A file or directory of a snapshot (the state before the log). */
typedef struct entry {
  char *path;
  int dir;
  blob data;
} entry;

typedef struct status_w {
  int claim;
  medshim_claim_status st;
  int acked;
  int by; /* the handle that wrote it (handle_id) */
} status_w;

/* A claim written without a sync: acknowledged by its handle's next sync. */
typedef struct unacked {
  int claim;
  int by;
} unacked;

enum model { M_DURABLE, M_PREFIX, M_TORN, M_REORDER, NMODEL };
static const char *const model_names[NMODEL] = {"durable", "prefix", "torn",
                                                "reorder"};

enum fail_kind { FK_OK, FK_VERIFY, FK_OPEN, FK_LOST, FK_RESTART, NFK };
static const char *const fail_names[NFK] = {"ok", "verify damage",
                                              "open refused", "lost",
                                              "restart"};

typedef struct scen {
  const char *name;
  char *base, *root, *jdir, *key, *sdir, *sjdir;
  size_t rootlen;
  uint64_t seg_max;
  int replay_check; /* the restart also takes over the replay lane */
  entry *init;
  size_t ninit, capinit;
  ev *log;
  size_t nlog, caplog;
  medshim_claim **claims;
  char **claim_json;
  char (*ids)[16]; /* visit_ids */
  int nclaims, capclaims;
  status_w *sts;
  int nsts, capsts;
  unacked *unacked_claims; /* deferred without a sync, not yet acknowledged */
  int nunacked, capunacked;
  medshim_claim *restart_claim;
  const medshim_journal *handles[16]; /* open in the recorded run */
  int nhandles;
  /* results */
  long states[NMODEL], met[NMODEL], fails[NMODEL], known[NMODEL],
      kinds[NMODEL][NFK];
  int shown[NMODEL];
  uint64_t *seen; /* hash set, 2 words a slot, 0/0 empty */
  size_t seen_cap, seen_n;
  uint64_t rng;
  double seconds;
} scen;

static int strict_reorder = 1, random_subsets = 16, show_max = 2;

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  ck_assert_ptr_nonnull(p);
  return p;
}

static void *xrealloc(void *p, size_t n) {
  p = realloc(p, n ? n : 1);
  ck_assert_ptr_nonnull(p);
  return p;
}

static char *xstrdup(const char *s) {
  char *p = strdup(s);
  ck_assert_ptr_nonnull(p);
  return p;
}

#define PUSH(arr, n, cap)                                                     \
  do {                                                                        \
    if ((n) == (cap)) {                                                       \
      (cap) = (cap) ? (cap) * 2 : 16;                                         \
      (arr) = xrealloc((arr), (size_t)(cap) * sizeof *(arr));                 \
    }                                                                         \
  } while (0)

static ev *log_add(scen *sc, enum ev_op op) {
  ev *e;
  PUSH(sc->log, sc->nlog, sc->caplog);
  e = &sc->log[sc->nlog++];
  memset(e, 0, sizeof *e);
  e->op = op;
  return e;
}

static void mark(scen *sc, enum ev_op op, int ref) { log_add(sc, op)->ref = ref; }

MEDSHIM__PRINTF(2, 3)
static void note(scen *sc, const char *fmt, ...) {
  char text[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  log_add(sc, EV_NOTE)->path = xstrdup(text);
}

/* The path below the run's root, or NULL for one outside it. */
static char *rel_path(const scen *sc, const char *abs) {
  if (abs == NULL || strncmp(abs, sc->root, sc->rootlen) != 0)
    return NULL;
  if (abs[sc->rootlen] == '\0')
    return xstrdup("");
  if (abs[sc->rootlen] != '/')
    return NULL;
  return xstrdup(abs + sc->rootlen + 1);
}

static void recorder(const medshim__io_event *e, void *payload) {
  scen *sc = payload;
  char *path = rel_path(sc, e->path), *path2 = NULL;
  ev *v;
  if (path == NULL)
    return; /* the key file, or anything else outside the journal's root */
  if (e->op == MEDSHIM__IO_OP_RENAME) {
    path2 = rel_path(sc, e->path2);
    ck_assert_ptr_nonnull(path2);
  }
  switch (e->op) {
  case MEDSHIM__IO_OP_CREATE: v = log_add(sc, EV_CREATE); break;
  case MEDSHIM__IO_OP_MKDIR: v = log_add(sc, EV_MKDIR); break;
  case MEDSHIM__IO_OP_WRITE:
    v = log_add(sc, EV_WRITE);
    v->data = xmalloc(e->len);
    memcpy(v->data, e->data, e->len);
    v->len = e->len;
    v->off = e->off;
    break;
  case MEDSHIM__IO_OP_FDATASYNC:
  case MEDSHIM__IO_OP_FSYNC: v = log_add(sc, EV_SYNC); break;
  case MEDSHIM__IO_OP_FSYNC_DIR: v = log_add(sc, EV_DSYNC); break;
  case MEDSHIM__IO_OP_RENAME: v = log_add(sc, EV_RENAME); break;
  case MEDSHIM__IO_OP_UNLINK: v = log_add(sc, EV_UNLINK); break;
  case MEDSHIM__IO_OP_TRUNCATE:
    v = log_add(sc, EV_TRUNC);
    v->off = e->off;
    break;
  default: ck_abort_msg("unknown I/O event %d", (int)e->op); return;
  }
  v->path = path;
  v->path2 = path2;
}

static void describe_ev(char *out, size_t cap, const scen *sc, size_t i) {
  const ev *e = &sc->log[i];
  switch (e->op) {
  case EV_CREATE: snprintf(out, cap, "create %s", e->path); break;
  case EV_MKDIR: snprintf(out, cap, "mkdir %s", e->path); break;
  case EV_WRITE:
    snprintf(out, cap, "write %s [%" PRIu64 ", %" PRIu64 ") %zu bytes",
             e->path, e->off, e->off + e->len, e->len);
    break;
  case EV_SYNC: snprintf(out, cap, "sync %s", e->path); break;
  case EV_DSYNC: snprintf(out, cap, "fsync dir %s", *e->path ? e->path : "."); break;
  case EV_RENAME: snprintf(out, cap, "rename %s -> %s", e->path, e->path2); break;
  case EV_UNLINK: snprintf(out, cap, "unlink %s", e->path); break;
  case EV_TRUNC: snprintf(out, cap, "truncate %s to %" PRIu64, e->path, e->off); break;
  case EV_ACK_CLAIM:
    snprintf(out, cap, "ACK claim %s", sc->ids[e->ref]);
    break;
  case EV_STATUS:
  case EV_ACK_STATUS:
    snprintf(out, cap, "%s %s %s (attempts %u)",
             e->op == EV_STATUS ? "status write" : "ACK status",
             sc->ids[sc->sts[e->ref].claim],
             medshim_state_name(sc->sts[e->ref].st.state),
             (unsigned)sc->sts[e->ref].st.attempts);
    break;
  case EV_NOTE: snprintf(out, cap, "-- %s", e->path); break;
  }
}

/* ---- scenarios: claims, statuses, acknowledgements ----------------------- */

/* A claim numbered i with 2 to 16 fee items (an out-patient visit to a
 * pharmacy bill), so that records span from one to several sectors. */
static medshim_claim *make_claim(int i) {
  static const char *const codes[] = {"XA01BCX123", "001102000010000",
                                      "XJ01CAA040", "250101001", "XR05CBM045",
                                      "120100001", "XN02BEB062", "270800002"};
  medshim_claim_fields f = MEDSHIM_CLAIM_FIELDS_INIT;
  medshim_claim *c = NULL;
  medshim_error err;
  char id[16], inv[32], *detail = xmalloc(8192);
  size_t o = 0;
  int items = 2 + (i * 7) % 15;
  int64_t total = 0;
  memset(&err, 0, sizeof err);
  snprintf(id, sizeof id, "V%d", i);
  snprintf(inv, sizeof inv, "INV%08d", i);
  o += (size_t)snprintf(detail + o, 8192 - o, "{\"items\":[");
  for (int t = 0; t < items; t++) {
    int fen = 100 + (i * 131 + t * 977) % 20000;
    total += fen;
    o += (size_t)snprintf(
        detail + o, 8192 - o,
        "%s{\"feedetl_sn\":\"%d-%d\",\"med_list_codg\":\"%s\","
        "\"medins_list_codg\":\"H%04d\",\"det_item_fee_sumamt\":\"%d.%02d\","
        "\"cnt\":\"%d\",\"pric\":\"%d.%02d\",\"fee_ocur_time\":"
        "\"2022-02-11 09:%02d:%02d\",\"bilg_dept_codg\":\"A%02d\","
        "\"bilg_dr_codg\":\"D%04d\"}",
        t ? "," : "", i, t + 1, codes[(i + t) % 8], (i * 13 + t) % 10000,
        fen / 100, fen % 100, 1 + t % 3, fen / 100, fen % 100, t % 60,
        (i + t * 7) % 60, t % 20, (i * 3 + t) % 10000);
  }
  snprintf(detail + o, 8192 - o, "],\"diag_code\":\"J06.900\","
           "\"med_type\":\"11\",\"insutype\":\"310\"}");
  f.visit_id = id;
  f.service = (i % 3 == 0)   ? MEDSHIM_SERVICE_OUTPATIENT
              : (i % 3 == 1) ? MEDSHIM_SERVICE_PHARMACY
                             : MEDSHIM_SERVICE_INPATIENT;
  f.insured_admdvs = "330102";
  f.treated_admdvs = "330106";
  f.visit_time = 1644456600 + i * 60;
  f.total_fen = total;
  f.self_paid_fen = total;
  f.invoice_no = inv;
  f.patient_name = "张三丰";
  f.patient_id_no = "110101199003077777";
  f.patient_psn_no = "33000012345678";
  f.patient_cert_type = "02";
  f.detail = detail;
  f.detail_len = strlen(detail);
  ck_assert_msg(medshim_claim_create(&c, &f, &err) == MEDSHIM_OK, "%s: %s",
                err.where, err.text);
  free(detail);
  return c;
}

static int add_claim(scen *sc, int i) {
  char *json = NULL;
  while (sc->nclaims <= i) {
    PUSH(sc->claims, sc->nclaims, sc->capclaims);
    sc->claim_json = xrealloc(sc->claim_json,
                              (size_t)sc->capclaims * sizeof *sc->claim_json);
    sc->ids = xrealloc(sc->ids, (size_t)sc->capclaims * sizeof *sc->ids);
    snprintf(sc->ids[sc->nclaims], sizeof sc->ids[sc->nclaims], "V%d",
             sc->nclaims);
    sc->claims[sc->nclaims] = make_claim(sc->nclaims);
    ck_assert_int_eq(medshim_claim_to_json(&json, sc->claims[sc->nclaims],
                                           MEDSHIM_CLAIM_JSON_REVEAL),
                     MEDSHIM_OK);
    sc->claim_json[sc->nclaims] = json;
    sc->nclaims++;
  }
  return i;
}

/* What handle j wrote without a sync is durable once a sync of j returned
 * (journal.h: the next medshim_journal_sync(), durable defer or close). */
static int handle_id(const scen *sc, const medshim_journal *j) {
  for (int i = 0; i < sc->nhandles; i++)
    if (sc->handles[i] == j)
      return i;
  ck_abort_msg("handle not opened with journal_open");
  return -1;
}

static void ack_unacked_claims(scen *sc, int j) {
  int w = 0;
  for (int i = 0; i < sc->nunacked; i++) {
    if (sc->unacked_claims[i].by == j)
      mark(sc, EV_ACK_CLAIM, sc->unacked_claims[i].claim);
    else
      sc->unacked_claims[w++] = sc->unacked_claims[i];
  }
  sc->nunacked = w;
}

static void ack_unacked_statuses(scen *sc, int j) {
  for (int i = 0; i < sc->nsts; i++)
    if (!sc->sts[i].acked && sc->sts[i].by == j) {
      sc->sts[i].acked = 1;
      mark(sc, EV_ACK_STATUS, i);
    }
}

static void defer_one(scen *sc, medshim_journal *j, int i) {
  medshim_defer_result r = 0;
  int again = i < sc->nclaims;
  add_claim(sc, i);
  note(sc, "defer %s%s", sc->ids[i], again ? " again" : "");
  ck_assert_msg(medshim_journal_defer(j, sc->claims[i], &r) == MEDSHIM_OK,
                "defer: %s", medshim_journal_errmsg(j));
  ck_assert_int_eq(r, again ? MEDSHIM_DEFER_DUPLICATE : MEDSHIM_DEFER_STORED);
  mark(sc, EV_ACK_CLAIM, i);
}

static void defer_many(scen *sc, medshim_journal *j, int from, int n,
                       int sync) {
  const medshim_claim *batch[64];
  int results[64];
  ck_assert_int_le(n, 64);
  for (int i = 0; i < n; i++) {
    add_claim(sc, from + i);
    batch[i] = sc->claims[from + i];
  }
  note(sc, "defer_batch%s V%d..V%d", sync ? "" : "_nosync", from, from + n - 1);
  if (sync)
    ck_assert_msg(medshim_journal_defer_batch(j, batch, (size_t)n, results) ==
                      MEDSHIM_OK,
                  "defer_batch: %s", medshim_journal_errmsg(j));
  else
    ck_assert_msg(medshim_journal_defer_batch_nosync(j, batch, (size_t)n,
                                                     results) == MEDSHIM_OK,
                  "defer_batch_nosync: %s", medshim_journal_errmsg(j));
  for (int i = 0; i < n; i++) {
    ck_assert_int_eq(results[i], MEDSHIM_DEFER_STORED);
    if (sync) {
      mark(sc, EV_ACK_CLAIM, from + i);
    } else {
      PUSH(sc->unacked_claims, sc->nunacked, sc->capunacked);
      sc->unacked_claims[sc->nunacked].claim = from + i;
      sc->unacked_claims[sc->nunacked++].by = handle_id(sc, j);
    }
  }
  if (sync) /* the batch's fdatasync covered what was written before it */
    ack_unacked_claims(sc, handle_id(sc, j));
}

/* A status of its own for each call: told apart by attempts and time. */
static void set_status(scen *sc, medshim_journal *j, int claim,
                       medshim_claim_state state, int sync) {
  status_w *w;
  int m, rc;
  PUSH(sc->sts, sc->nsts, sc->capsts);
  m = sc->nsts++;
  w = &sc->sts[m];
  memset(w, 0, sizeof *w);
  w->claim = claim;
  w->by = handle_id(sc, j);
  medshim_claim_status_init(&w->st, MEDSHIM_CLAIM_STATUS_VERSION);
  w->st.state = state;
  w->st.attempts = (uint32_t)(m + 1);
  w->st.changed_at = 1700000000 + m;
  if (state == MEDSHIM_STATE_SETTLED) {
    snprintf(w->st.settlement_id, sizeof w->st.settlement_id, "SETL%06d", m);
    w->st.fund_paid_fen = 9000 + m;
    w->st.patient_paid_fen = 3000;
  }
  if (state == MEDSHIM_STATE_PENDING) { /* a window assigned */
    w->st.window_assigned = 1;
    w->st.window.version = MEDSHIM_CLAIM_WINDOW_VERSION;
    w->st.window.route = MEDSHIM_ROUTE_HOSPITAL;
    w->st.window.from = 1700000000;
    w->st.window.until = 1700000000 + 86400 * 30;
    snprintf(w->st.window.schedule_id, sizeof w->st.window.schedule_id,
             "ZJ-HZ-2023-%03d", m);
    w->st.window.schedule_version = 2;
  }
  if (state == MEDSHIM_STATE_REJECTED) {
    snprintf(w->st.code, sizeof w->st.code, "E%03d", m);
    snprintf(w->st.message, sizeof w->st.message, "rejected, attempt %d", m);
  }
  mark(sc, EV_STATUS, m);
  rc = medshim__journal_set_status(j, sc->ids[claim], &w->st,
                                   NULL, 0, sync);
  ck_assert_msg(rc == MEDSHIM_OK, "set_status: %s", medshim_journal_errmsg(j));
  if (sync) /* the lane's sync covered the statuses written before */
    ack_unacked_statuses(sc, handle_id(sc, j));
}

static void journal_sync(scen *sc, medshim_journal *j) {
  note(sc, "sync");
  ck_assert_int_eq(medshim_journal_sync(j), MEDSHIM_OK);
  ack_unacked_claims(sc, handle_id(sc, j));
  ack_unacked_statuses(sc, handle_id(sc, j));
}

static void journal_close(scen *sc, medshim_journal *j) {
  int id = handle_id(sc, j);
  note(sc, "close");
  sc->handles[id] = NULL;
  ck_assert_int_eq(medshim_journal_close(j), MEDSHIM_OK);
  ack_unacked_claims(sc, id);
  ack_unacked_statuses(sc, id);
}

static medshim_journal *open_at(const scen *sc, const char *dir,
                                unsigned flags, medshim_error *err) {
  medshim_journal_options o = tu_opts(sc->key, flags);
  medshim_journal *j = NULL;
  o.segment_max_bytes = sc->seg_max;
  if (medshim_journal_open(&j, dir, &o, err) != MEDSHIM_OK)
    return NULL;
  return j;
}

static medshim_journal *journal_open(scen *sc, unsigned flags) {
  medshim_error err;
  medshim_journal *j;
  memset(&err, 0, sizeof err);
  note(sc, "open%s%s", flags & MEDSHIM_JOURNAL_CREATE ? " CREATE" : "",
       flags & MEDSHIM_JOURNAL_REPLAY ? " REPLAY" : "");
  j = open_at(sc, sc->jdir, flags, &err);
  ck_assert_msg(j != NULL, "open %s: %s: %s", sc->jdir, err.where, err.text);
  ck_assert_int_lt(sc->nhandles, 16);
  sc->handles[sc->nhandles++] = j;
  return j;
}

static char *pick_tmp_base(void) {
  const char *env = getenv("MEDSHIM_CRASHSTATE_TMP");
  const char *base = env != NULL && *env ? env : NULL;
  char *p = xmalloc(4096);
  if (base == NULL && access("/dev/shm", W_OK | X_OK) == 0)
    base = "/dev/shm"; /* states are checked, not the file system: no fsync cost */
  if (base == NULL)
    base = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
  snprintf(p, 4096, "%s/medshim-crash-XXXXXX", base);
  ck_assert_ptr_nonnull(mkdtemp(p));
  return p;
}

/* Directories of the scenarios alive, removed by the fixture's teardown
 * when a test failed before freeing its scenarios. */
static char *live_bases[8];

static void teardown(void) {
  medshim__io_set_recorder(NULL, NULL);
  for (size_t i = 0; i < sizeof live_bases / sizeof *live_bases; i++) {
    tu_rmtree(live_bases[i]);
    free(live_bases[i]);
    live_bases[i] = NULL;
  }
}

static void scen_init(scen *sc, const char *name, uint64_t seg_max) {
  char *real;
  memset(sc, 0, sizeof *sc);
  sc->name = name;
  sc->seg_max = seg_max;
  sc->base = pick_tmp_base();
  for (size_t i = 0; i < sizeof live_bases / sizeof *live_bases; i++)
    if (live_bases[i] == NULL) {
      live_bases[i] = xstrdup(sc->base);
      break;
    }
  sc->key = tu_path(sc->base, "key");
  tu_write_key(sc->key, 7);
  sc->root = tu_path(sc->base, "run");
  ck_assert_int_eq(mkdir(sc->root, 0700), 0);
  real = realpath(sc->root, NULL); /* what /proc/self/fd says */
  ck_assert_ptr_nonnull(real);
  free(sc->root);
  sc->root = real;
  sc->rootlen = strlen(real);
  sc->jdir = tu_path(sc->root, "j");
  sc->sdir = tu_path(sc->base, "state");
  sc->sjdir = tu_path(sc->sdir, "j");
  sc->restart_claim = tu_claim("RESTART", 1); /* visit_id RESTART1 */
  sc->rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)strlen(name) * 1315423911u;
  for (const char *c = name; *c; c++)
    sc->rng = (sc->rng ^ (unsigned char)*c) * 0x100000001b3ull;
}

static void scen_free(scen *sc) {
  for (size_t i = 0; i < sc->nlog; i++) {
    free(sc->log[i].path);
    free(sc->log[i].path2);
    free(sc->log[i].data);
  }
  free(sc->log);
  for (size_t i = 0; i < sc->ninit; i++) {
    free(sc->init[i].path);
    free(sc->init[i].data.p);
  }
  free(sc->init);
  for (int i = 0; i < sc->nclaims; i++) {
    medshim_claim_free(sc->claims[i]);
    medshim_free(sc->claim_json[i]);
  }
  free(sc->claims);
  free(sc->claim_json);
  free(sc->ids);
  free(sc->sts);
  free(sc->unacked_claims);
  medshim_claim_free(sc->restart_claim);
  free(sc->seen);
  tu_rmtree(sc->base);
  for (size_t i = 0; i < sizeof live_bases / sizeof *live_bases; i++)
    if (live_bases[i] != NULL && strcmp(live_bases[i], sc->base) == 0) {
      free(live_bases[i]);
      live_bases[i] = NULL;
    }
  free(sc->base);
  free(sc->root);
  free(sc->jdir);
  free(sc->key);
  free(sc->sdir);
  free(sc->sjdir);
}

/* Before recording: the journal as it is, all of it durable. */
static scen *snap_sc;
static int snap_one(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw) {
  scen *sc = snap_sc;
  entry *e;
  (void)ftw;
  if (strcmp(path, sc->root) == 0)
    return 0;
  ck_assert_msg(flag == FTW_F || flag == FTW_D, "%s: not a file", path);
  PUSH(sc->init, sc->ninit, sc->capinit);
  e = &sc->init[sc->ninit++];
  memset(e, 0, sizeof *e);
  e->path = rel_path(sc, path);
  ck_assert_ptr_nonnull(e->path);
  e->dir = S_ISDIR(st->st_mode);
  if (!e->dir) {
    e->data.p = tu_read_file(path, &e->data.n);
    ck_assert_ptr_nonnull(e->data.p);
  }
  return 0;
}

static size_t snap_count;
static int count_one(const char *path, const struct stat *st, int flag,
                     struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  if (strcmp(path, snap_sc->root) != 0)
    snap_count++;
  return 0;
}

static void snapshot(scen *sc) {
  snap_sc = sc;
  ck_assert_int_eq(nftw(sc->root, snap_one, 16, FTW_PHYS), 0);
}

static void record_start(scen *sc) {
  snapshot(sc);
  medshim__io_set_recorder(recorder, sc);
}

static void record_stop(void) { medshim__io_set_recorder(NULL, NULL); }

/* Claims [0, n) deferred and durable before the recording starts. */
static void prerun(scen *sc, int n) {
  medshim_journal *j = open_at(sc, sc->jdir, MEDSHIM_JOURNAL_CREATE, NULL);
  ck_assert_ptr_nonnull(j);
  if (n > 0) {
    const medshim_claim *batch[64];
    int results[64];
    ck_assert_int_le(n, 64);
    add_claim(sc, n - 1);
    for (int i = 0; i < n; i++)
      batch[i] = sc->claims[i];
    ck_assert_int_eq(medshim_journal_defer_batch(j, batch, (size_t)n, results),
                     MEDSHIM_OK);
  }
  ck_assert_int_eq(medshim_journal_close(j), MEDSHIM_OK);
  for (int i = 0; i < n; i++)
    mark(sc, EV_ACK_CLAIM, i);
}

/* ---- the file-system model ----------------------------------------------- */

typedef struct inode {
  int dir;
  const blob *init; /* content before the log, NULL if created in it */
  size_t *ops;      /* its writes and truncations (log indices) */
  size_t nops, capops;
  size_t ndur; /* how many of them are durable */
} inode;

typedef struct nsent {
  const char *path; /* points into the log or the snapshot */
  int ino;
} nsent;

typedef struct nsmap {
  nsent *v;
  size_t n, cap;
} nsmap;

typedef struct dop {
  size_t ev;
  int ino;
  char dir[256];
} dop;

typedef struct fsm {
  inode *ino;
  size_t nino, capino;
  nsmap cur, dur;
  dop *pd; /* directory operations not yet made durable */
  size_t npd, cappd;
} fsm;

static long ns_find(const nsmap *m, const char *path) {
  for (size_t i = 0; i < m->n; i++)
    if (strcmp(m->v[i].path, path) == 0)
      return (long)i;
  return -1;
}

static void ns_set(nsmap *m, const char *path, int ino) {
  long i = ns_find(m, path);
  if (i >= 0) {
    m->v[i].ino = ino;
    return;
  }
  PUSH(m->v, m->n, m->cap);
  m->v[m->n].path = path;
  m->v[m->n].ino = ino;
  m->n++;
}

static void ns_del(nsmap *m, const char *path) {
  long i = ns_find(m, path);
  if (i >= 0)
    m->v[i] = m->v[--m->n];
}

static void ns_copy(nsmap *dst, const nsmap *src) {
  dst->n = 0;
  for (size_t i = 0; i < src->n; i++) {
    PUSH(dst->v, dst->n, dst->cap);
    dst->v[dst->n++] = src->v[i];
  }
}

static void parent_of(char *out, size_t cap, const char *path) {
  const char *slash = strrchr(path, '/');
  if (slash == NULL)
    snprintf(out, cap, "%s", "");
  else
    snprintf(out, cap, "%.*s", (int)(slash - path), path);
}

static int new_inode(fsm *f, int dir, const blob *init) {
  PUSH(f->ino, f->nino, f->capino);
  memset(&f->ino[f->nino], 0, sizeof f->ino[f->nino]);
  f->ino[f->nino].dir = dir;
  f->ino[f->nino].init = init;
  return (int)f->nino++;
}

static void fsm_free(fsm *f) {
  for (size_t i = 0; i < f->nino; i++)
    free(f->ino[i].ops);
  free(f->ino);
  free(f->cur.v);
  free(f->dur.v);
  free(f->pd);
  memset(f, 0, sizeof *f);
}

static void dop_apply(nsmap *m, const scen *sc, const dop *d) {
  const ev *e = &sc->log[d->ev];
  switch (e->op) {
  case EV_CREATE:
  case EV_MKDIR: ns_set(m, e->path, d->ino); break;
  case EV_RENAME:
    ns_del(m, e->path);
    ns_set(m, e->path2, d->ino);
    break;
  case EV_UNLINK: ns_del(m, e->path); break;
  default: break;
  }
}

static int cur_ino(const fsm *f, const scen *sc, size_t i) {
  long k = ns_find(&f->cur, sc->log[i].path);
  ck_assert_msg(k >= 0, "model: event %zu names %s, which does not exist", i,
                sc->log[i].path);
  return f->cur.v[k].ino;
}

static void add_dop(fsm *f, size_t i, int ino, const char *path) {
  PUSH(f->pd, f->npd, f->cappd);
  f->pd[f->npd].ev = i;
  f->pd[f->npd].ino = ino;
  parent_of(f->pd[f->npd].dir, sizeof f->pd[f->npd].dir, path);
  f->npd++;
}

/* The model after events [0, k). */
static void fsm_build(fsm *f, const scen *sc, size_t k) {
  memset(f, 0, sizeof *f);
  for (size_t i = 0; i < sc->ninit; i++) {
    int ino = new_inode(f, sc->init[i].dir, &sc->init[i].data);
    ns_set(&f->cur, sc->init[i].path, ino);
    ns_set(&f->dur, sc->init[i].path, ino);
  }
  for (size_t i = 0; i < k; i++) {
    const ev *e = &sc->log[i];
    inode *n;
    int ino;
    size_t w;
    switch (e->op) {
    case EV_CREATE:
    case EV_MKDIR:
      ino = new_inode(f, e->op == EV_MKDIR, NULL);
      ns_set(&f->cur, e->path, ino);
      add_dop(f, i, ino, e->path);
      break;
    case EV_WRITE:
    case EV_TRUNC:
      n = &f->ino[cur_ino(f, sc, i)];
      PUSH(n->ops, n->nops, n->capops);
      n->ops[n->nops++] = i;
      break;
    case EV_SYNC:
      n = &f->ino[cur_ino(f, sc, i)];
      n->ndur = n->nops;
      break;
    case EV_DSYNC:
      w = 0;
      for (size_t d = 0; d < f->npd; d++) {
        if (strcmp(f->pd[d].dir, e->path) == 0)
          dop_apply(&f->dur, sc, &f->pd[d]);
        else
          f->pd[w++] = f->pd[d];
      }
      f->npd = w;
      break;
    case EV_RENAME:
      ino = cur_ino(f, sc, i);
      ns_del(&f->cur, e->path);
      ns_set(&f->cur, e->path2, ino);
      add_dop(f, i, ino, e->path);
      break;
    case EV_UNLINK:
      ino = cur_ino(f, sc, i);
      ns_del(&f->cur, e->path);
      add_dop(f, i, ino, e->path);
      break;
    default: break;
    }
  }
}

static void blob_write(blob *b, uint64_t off, const unsigned char *p,
                       size_t len) {
  size_t end = (size_t)off + len;
  if (end > b->n) {
    b->p = xrealloc(b->p, end);
    memset(b->p + b->n, 0, end - b->n);
    b->n = end;
  }
  memcpy(b->p + off, p, len);
}

static void blob_resize(blob *b, size_t n) {
  if (n > b->n) {
    b->p = xrealloc(b->p, n);
    memset(b->p + b->n, 0, n - b->n);
  }
  b->n = n;
}

static void blob_set(blob *b, const blob *src) {
  b->n = 0;
  blob_resize(b, src->n);
  if (src->n)
    memcpy(b->p, src->p, src->n);
}

static void apply_op(blob *b, const ev *e) {
  if (e->op == EV_WRITE)
    blob_write(b, e->off, e->data, e->len);
  else if (e->op == EV_TRUNC)
    blob_resize(b, (size_t)e->off);
}

/* Content of an inode with its first nops operations applied. */
static void content_upto(blob *b, const fsm *f, const scen *sc, int ino,
                         size_t nops) {
  const inode *n = &f->ino[ino];
  b->n = 0;
  if (n->init != NULL)
    blob_set(b, n->init);
  for (size_t i = 0; i < nops; i++)
    apply_op(b, &sc->log[n->ops[i]]);
}

/* ---- hashing states ------------------------------------------------------ */

typedef struct h128 {
  uint64_t a, b;
} h128;

static uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

static void h_bytes(h128 *h, const void *data, size_t n) {
  const unsigned char *p = data;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    h->a = (h->a ^ w) * 0x100000001b3ull;
    h->b = (h->b + w) * 0x9e3779b97f4a7c15ull;
    h->b ^= h->b >> 29;
  }
  for (; i < n; i++) {
    h->a = (h->a ^ p[i]) * 0x100000001b3ull;
    h->b = (h->b + p[i] + 1) * 0x9e3779b97f4a7c15ull;
  }
  h->a ^= n;
  h->b += mix64(n);
}

static h128 blob_hash(const blob *b) {
  h128 h = {0xcbf29ce484222325ull, 0x84222325cbf29ce4ull};
  h_bytes(&h, b->p, b->n);
  h.a = mix64(h.a);
  h.b = mix64(h.b ^ h.a);
  return h;
}

/* 1 if new (and now remembered). */
static int seen_add(scen *sc, h128 h) {
  size_t mask, i;
  if (h.a == 0 && h.b == 0)
    h.a = 1;
  if ((sc->seen_n + 1) * 2 > sc->seen_cap) {
    size_t old = sc->seen_cap;
    uint64_t *o = sc->seen;
    sc->seen_cap = old ? old * 2 : 1024;
    sc->seen = calloc(sc->seen_cap * 2, sizeof *sc->seen);
    ck_assert_ptr_nonnull(sc->seen);
    sc->seen_n = 0;
    for (size_t k = 0; k < old; k++)
      if (o[2 * k] != 0 || o[2 * k + 1] != 0)
        seen_add(sc, (h128){o[2 * k], o[2 * k + 1]});
    free(o);
  }
  mask = sc->seen_cap - 1;
  for (i = (size_t)h.a & mask;; i = (i + 1) & mask) {
    uint64_t *s = &sc->seen[2 * i];
    if (s[0] == 0 && s[1] == 0) {
      s[0] = h.a;
      s[1] = h.b;
      sc->seen_n++;
      return 1;
    }
    if (s[0] == h.a && s[1] == h.b)
      return 0;
  }
}

/* ---- one crash point ------------------------------------------------------ */

/* A state: every inode's content (pointers into the variant or the durable
 * contents) and the names visible after the crash. */
typedef struct point {
  scen *sc;
  size_t k;
  fsm f;
  blob *dur;        /* per inode: durable content */
  h128 *dur_h;      /* and its hash */
  const blob **content; /* the variant's content per inode */
  h128 *content_h;
  /* directory variants: per pending directory group, a prefix length */
  char (*groups)[256];
  size_t *group_n; /* pending ops per group */
  size_t ngroups;
  size_t **dvars; /* each a prefix length per group */
  size_t ndvars, capdvars;
  nsmap crash_ns;
  /* acknowledgements before k */
  unsigned char *claim_acked;
  int *status_acked; /* per claim: index of its latest acknowledged status, -1 */
  size_t last_event;  /* for the description of a failure */
  char variant[512];
} point;

static void add_dvar(point *pt, const size_t *v) {
  size_t *copy;
  for (size_t i = 0; i < pt->ndvars; i++)
    if (memcmp(pt->dvars[i], v, pt->ngroups * sizeof *v) == 0)
      return;
  copy = xmalloc((pt->ngroups ? pt->ngroups : 1) * sizeof *v);
  memcpy(copy, v, pt->ngroups * sizeof *v);
  PUSH(pt->dvars, pt->ndvars, pt->capdvars);
  pt->dvars[pt->ndvars++] = copy;
}

/* Directory variants: every combination of prefixes when there are few,
 * else none, all, and each group's prefixes with the others at none or all. */
static void build_dvars(point *pt) {
  fsm *f = &pt->f;
  size_t combos = 1, *v;
  pt->ngroups = 0;
  pt->groups = xmalloc((f->npd ? f->npd : 1) * sizeof *pt->groups);
  pt->group_n = xmalloc((f->npd ? f->npd : 1) * sizeof *pt->group_n);
  for (size_t d = 0; d < f->npd; d++) {
    size_t g;
    for (g = 0; g < pt->ngroups; g++)
      if (strcmp(pt->groups[g], f->pd[d].dir) == 0)
        break;
    if (g == pt->ngroups) {
      memcpy(pt->groups[g], f->pd[d].dir, sizeof pt->groups[g]);
      pt->group_n[g] = 0;
      pt->ngroups++;
    }
    pt->group_n[g]++;
  }
  v = xmalloc((pt->ngroups ? pt->ngroups : 1) * sizeof *v);
  for (size_t g = 0; g < pt->ngroups; g++)
    combos *= pt->group_n[g] + 1;
  if (combos <= 64) {
    for (size_t c = 0; c < combos; c++) {
      size_t x = c;
      for (size_t g = 0; g < pt->ngroups; g++) {
        v[g] = x % (pt->group_n[g] + 1);
        x /= pt->group_n[g] + 1;
      }
      add_dvar(pt, v);
    }
  } else {
    for (int base = 0; base < 2; base++) {
      for (size_t g = 0; g < pt->ngroups; g++)
        v[g] = base ? pt->group_n[g] : 0;
      add_dvar(pt, v);
      for (size_t g = 0; g < pt->ngroups; g++) {
        for (size_t p = 0; p <= pt->group_n[g]; p++) {
          for (size_t o = 0; o < pt->ngroups; o++)
            v[o] = base ? pt->group_n[o] : 0;
          v[g] = p;
          add_dvar(pt, v);
        }
      }
    }
  }
  free(v);
}

/* The names after the crash for directory variant dv. */
static void build_crash_ns(point *pt, size_t dv) {
  fsm *f = &pt->f;
  size_t *taken = xmalloc((pt->ngroups ? pt->ngroups : 1) * sizeof *taken);
  memset(taken, 0, (pt->ngroups ? pt->ngroups : 1) * sizeof *taken);
  ns_copy(&pt->crash_ns, &f->dur);
  for (size_t d = 0; d < f->npd; d++) {
    size_t g;
    for (g = 0; g < pt->ngroups; g++)
      if (strcmp(pt->groups[g], f->pd[d].dir) == 0)
        break;
    if (taken[g] < pt->dvars[dv][g]) {
      dop_apply(&pt->crash_ns, pt->sc, &f->pd[d]);
      taken[g]++;
    }
  }
  free(taken);
}

/* A name is there when every directory above it is. */
static int reachable(const nsmap *m, const fsm *f, const char *path) {
  char dir[256];
  const char *p = path;
  while ((p = strchr(p, '/')) != NULL) {
    long i;
    snprintf(dir, sizeof dir, "%.*s", (int)(p - path), path);
    i = ns_find(m, dir);
    if (i < 0 || !f->ino[m->v[i].ino].dir)
      return 0;
    p++;
  }
  return 1;
}

static int cmp_nsent(const void *a, const void *b) {
  return strcmp(((const nsent *)a)->path, ((const nsent *)b)->path);
}

static int check_state(point *pt, const nsmap *m, enum model model);

/* A candidate state: content[] set for every inode; try every directory
 * variant. */
static void offer(point *pt, enum model model) {
  scen *sc = pt->sc;
  char dvtext[128];
  size_t vlen = strlen(pt->variant);
  for (size_t i = 0; i < pt->f.nino; i++)
    if (pt->content[i] != &pt->dur[i])
      pt->content_h[i] = blob_hash(pt->content[i]);
    else
      pt->content_h[i] = pt->dur_h[i];
  for (size_t dv = 0; dv < pt->ndvars; dv++) {
    h128 h = {0x1234567ull, 0x7654321ull};
    nsmap *m = &pt->crash_ns;
    size_t w = 0;
    build_crash_ns(pt, dv);
    for (size_t i = 0; i < m->n; i++)
      if (reachable(m, &pt->f, m->v[i].path))
        m->v[w++] = m->v[i];
    m->n = w;
    if (m->n > 1)
      qsort(m->v, m->n, sizeof *m->v, cmp_nsent);
    for (size_t i = 0; i < m->n; i++) {
      int ino = m->v[i].ino, dir = pt->f.ino[ino].dir;
      h_bytes(&h, m->v[i].path, strlen(m->v[i].path) + 1);
      h_bytes(&h, &dir, sizeof dir);
      if (!dir) {
        h_bytes(&h, &pt->content_h[ino], sizeof pt->content_h[ino]);
      }
    }
    sc->met[model]++;
    if (!seen_add(sc, h))
      continue;
    sc->states[model]++;
    if (pt->ngroups > 0) {
      size_t o = 0;
      o += (size_t)snprintf(dvtext + o, sizeof dvtext - o, "; directory ops applied:");
      for (size_t g = 0; g < pt->ngroups && o < sizeof dvtext; g++)
        o += (size_t)snprintf(dvtext + o, sizeof dvtext - o, " %s %zu/%zu",
                              *pt->groups[g] ? pt->groups[g] : ".",
                              pt->dvars[dv][g], pt->group_n[g]);
      snprintf(pt->variant + vlen, sizeof pt->variant - vlen, "%s", dvtext);
    }
    (void)check_state(pt, m, model);
    pt->variant[vlen] = '\0';
  }
}

static void reset_content(point *pt) {
  for (size_t i = 0; i < pt->f.nino; i++)
    pt->content[i] = &pt->dur[i];
}

typedef struct pend {
  size_t ev;
  int ino;
} pend;

static int cmp_pend(const void *a, const void *b) {
  size_t x = ((const pend *)a)->ev, y = ((const pend *)b)->ev;
  return x < y ? -1 : x > y;
}

static uint64_t rnd(scen *sc) {
  sc->rng ^= sc->rng << 13;
  sc->rng ^= sc->rng >> 7;
  sc->rng ^= sc->rng << 17;
  return sc->rng;
}

/* Sectors of inode ino: the pending ones applied where sel[] says so. */
static void reorder_content(blob *out, const blob *d, const blob *c,
                            const uint64_t *secs, size_t nsecs,
                            const unsigned char *sel, int grow) {
  size_t size = d->n, last_applied = 0;
  int any = 0;
  for (size_t s = 0; s < nsecs; s++)
    if (sel[s]) {
      any = 1;
      last_applied = s;
    }
  if (grow || (any && last_applied == nsecs - 1))
    size = c->n;
  else if (any) {
    size_t end = (size_t)(secs[last_applied] + 1) * SECTOR;
    if (end > c->n)
      end = c->n;
    if (end > size)
      size = end;
  }
  blob_set(out, d);
  blob_resize(out, size);
  for (size_t s = 0; s < nsecs; s++) {
    size_t from = (size_t)secs[s] * SECTOR, to = from + SECTOR;
    if (!sel[s] || from >= size)
      continue;
    if (to > size)
      to = size;
    if (to > c->n)
      to = c->n;
    if (from < to)
      memcpy(out->p + from, c->p + from, to - from);
  }
}

static const char *path_of(const fsm *f, int ino) {
  for (size_t i = 0; i < f->cur.n; i++)
    if (f->cur.v[i].ino == ino)
      return f->cur.v[i].path;
  return "(unlinked)";
}

static void gen_reorder(point *pt) {
  scen *sc = pt->sc;
  fsm *f = &pt->f;
  blob cur = {NULL, 0}, var = {NULL, 0};
  blob *others = xmalloc((f->nino ? f->nino : 1) * sizeof *others);
  size_t with_pending = 0;
  memset(others, 0, (f->nino ? f->nino : 1) * sizeof *others);
  for (size_t i = 0; i < f->nino; i++)
    if (f->ino[i].nops > f->ino[i].ndur) {
      with_pending++;
      content_upto(&others[i], f, sc, (int)i, f->ino[i].nops);
    }
  for (size_t i = 0; i < f->nino; i++) {
    inode *n = &f->ino[i];
    uint64_t *secs = NULL;
    size_t nsecs = 0, capsecs = 0;
    unsigned char *sel;
    int trunc = 0;
    if (n->nops == n->ndur)
      continue;
    for (size_t o = n->ndur; o < n->nops; o++) {
      const ev *e = &sc->log[n->ops[o]];
      if (e->op == EV_TRUNC) {
        trunc = 1;
        break;
      }
      for (uint64_t s = e->off / SECTOR; s * SECTOR < e->off + e->len; s++) {
        size_t x;
        for (x = 0; x < nsecs && secs[x] != s; x++)
          ;
        if (x == nsecs) {
          PUSH(secs, nsecs, capsecs);
          secs[nsecs++] = s;
        }
      }
    }
    if (trunc) { /* a pending truncation: prefixes only */
      free(secs);
      continue;
    }
    for (size_t a = 1; a < nsecs; a++) /* sort (few) */
      for (size_t b = a; b > 0 && secs[b - 1] > secs[b]; b--) {
        uint64_t t = secs[b];
        secs[b] = secs[b - 1];
        secs[b - 1] = t;
      }
    content_upto(&cur, f, sc, (int)i, n->nops);
    sel = xmalloc(nsecs);
    for (int ctx = 0; ctx < (with_pending > 1 ? 2 : 1); ctx++) {
      /* variants: 0 suffixes, 1 all but one, 2 none with the size grown,
       * 3 random subsets */
      for (int kind = 0; kind < 4; kind++) {
        size_t count = kind == 0   ? nsecs - 1
                       : kind == 1 ? (nsecs > 1 ? nsecs : 0)
                       : kind == 2 ? (cur.n > pt->dur[i].n ? 1 : 0)
                       : (nsecs >= 2 ? (size_t)random_subsets : 0);
        if (kind == 3 && nsecs < 6 && count > ((size_t)1 << nsecs) - 2)
          count = ((size_t)1 << nsecs) - 2;
        for (size_t v = 0; v < count; v++) {
          int grow = 0;
          size_t applied = 0;
          for (size_t s = 0; s < nsecs; s++) {
            sel[s] = kind == 0   ? s >= v + 1
                     : kind == 1 ? s != v
                     : kind == 2 ? 0
                                 : (unsigned char)(rnd(sc) & 1);
            applied += sel[s];
          }
          if (kind == 3) {
            if (applied == 0 || applied == nsecs)
              sel[rnd(sc) % nsecs] ^= 1;
            grow = (int)(rnd(sc) & 1);
          }
          if (kind == 2)
            grow = 1;
          reorder_content(&var, &pt->dur[i], &cur, secs, nsecs, sel, grow);
          reset_content(pt);
          if (ctx == 1)
            for (size_t o = 0; o < f->nino; o++)
              if (o != i && f->ino[o].nops > f->ino[o].ndur)
                pt->content[o] = &others[o];
          pt->content[i] = &var;
          {
            size_t off = 0;
            off += (size_t)snprintf(pt->variant, sizeof pt->variant,
                                    "reorder (%s) of %s: of %zu pending "
                                    "sectors [%" PRIu64 "..%" PRIu64
                                    "], written:",
                                    kind == 0   ? "suffix"
                                    : kind == 1 ? "all but one"
                                    : kind == 2 ? "none, size grown"
                                                : "random",
                                    path_of(f, (int)i), nsecs, secs[0],
                                    secs[nsecs - 1]);
            for (size_t s = 0; s < nsecs && off < 300; s++)
              if (sel[s])
                off += (size_t)snprintf(pt->variant + off,
                                        sizeof pt->variant - off,
                                        " %" PRIu64, secs[s]);
            snprintf(pt->variant + off, sizeof pt->variant - off,
                     "; size %zu (durable %zu, written %zu)%s", var.n,
                     pt->dur[i].n, cur.n,
                     ctx ? "; other files' pending writes applied" : "");
          }
          offer(pt, M_REORDER);
        }
      }
    }
    free(sel);
    free(secs);
  }
  for (size_t i = 0; i < f->nino; i++)
    free(others[i].p);
  free(others);
  free(cur.p);
  free(var.p);
}

static void run_point(scen *sc, size_t k) {
  point pt;
  fsm *f = &pt.f;
  pend *pl = NULL;
  size_t npl = 0, cappl = 0;
  blob *var;
  memset(&pt, 0, sizeof pt);
  pt.sc = sc;
  pt.k = k;
  fsm_build(f, sc, k);
  pt.dur = xmalloc((f->nino ? f->nino : 1) * sizeof *pt.dur);
  pt.dur_h = xmalloc((f->nino ? f->nino : 1) * sizeof *pt.dur_h);
  pt.content = xmalloc((f->nino ? f->nino : 1) * sizeof *pt.content);
  pt.content_h = xmalloc((f->nino ? f->nino : 1) * sizeof *pt.content_h);
  var = xmalloc((f->nino ? f->nino : 1) * sizeof *var);
  memset(var, 0, (f->nino ? f->nino : 1) * sizeof *var);
  for (size_t i = 0; i < f->nino; i++) {
    memset(&pt.dur[i], 0, sizeof pt.dur[i]);
    content_upto(&pt.dur[i], f, sc, (int)i, f->ino[i].ndur);
    pt.dur_h[i] = blob_hash(&pt.dur[i]);
    for (size_t o = f->ino[i].ndur; o < f->ino[i].nops; o++) {
      PUSH(pl, npl, cappl);
      pl[npl].ev = f->ino[i].ops[o];
      pl[npl].ino = (int)i;
      npl++;
    }
  }
  if (npl > 1)
    qsort(pl, npl, sizeof *pl, cmp_pend);
  build_dvars(&pt);
  pt.claim_acked = xmalloc((size_t)sc->nclaims + 1);
  memset(pt.claim_acked, 0, (size_t)sc->nclaims + 1);
  pt.status_acked = xmalloc(((size_t)sc->nclaims + 1) * sizeof *pt.status_acked);
  for (int i = 0; i < sc->nclaims; i++)
    pt.status_acked[i] = -1;
  for (size_t i = 0; i < k; i++) {
    const ev *e = &sc->log[i];
    if (e->op == EV_ACK_CLAIM)
      pt.claim_acked[e->ref] = 1;
    if (e->op == EV_ACK_STATUS &&
        e->ref > pt.status_acked[sc->sts[e->ref].claim])
      pt.status_acked[sc->sts[e->ref].claim] = e->ref;
  }

  /* durable */
  reset_content(&pt);
  snprintf(pt.variant, sizeof pt.variant, "durable only (%zu data ops pending)",
           npl);
  offer(&pt, M_DURABLE);

  /* prefixes, and the last write of each prefix torn at sector boundaries */
  for (size_t p = 1; p <= npl; p++) {
    const ev *last = &sc->log[pl[p - 1].ev];
    reset_content(&pt);
    for (size_t i = 0; i < f->nino; i++) {
      size_t nops = f->ino[i].ndur;
      for (size_t q = 0; q < p; q++)
        if (pl[q].ino == (int)i)
          nops++;
      if (nops != f->ino[i].ndur) {
        content_upto(&var[i], f, sc, (int)i, nops);
        pt.content[i] = &var[i];
      }
    }
    snprintf(pt.variant, sizeof pt.variant,
             "prefix: %zu of %zu pending data ops applied", p, npl);
    offer(&pt, M_PREFIX);
    if (last->op != EV_WRITE)
      continue;
    for (uint64_t b = (last->off / SECTOR + 1) * SECTOR;
         b < last->off + last->len; b += SECTOR) {
      int ino = pl[p - 1].ino;
      size_t nops = f->ino[ino].ndur;
      for (size_t q = 0; q + 1 < p; q++)
        if (pl[q].ino == ino)
          nops++;
      content_upto(&var[ino], f, sc, ino, nops);
      blob_write(&var[ino], last->off, last->data, (size_t)(b - last->off));
      pt.content[ino] = &var[ino];
      snprintf(pt.variant, sizeof pt.variant,
               "torn: %zu of %zu pending data ops, the last (%s) cut at "
               "byte %" PRIu64 " of [%" PRIu64 ", %" PRIu64 ")",
               p, npl, last->path, b, last->off, last->off + last->len);
      offer(&pt, M_TORN);
    }
  }

  gen_reorder(&pt);

  for (size_t i = 0; i < f->nino; i++) {
    free(pt.dur[i].p);
    free(var[i].p);
  }
  for (size_t i = 0; i < pt.ndvars; i++)
    free(pt.dvars[i]);
  free(pt.dvars);
  free(pt.groups);
  free(pt.group_n);
  free(pt.crash_ns.v);
  free(pt.dur);
  free(pt.dur_h);
  free(pt.content);
  free(pt.content_h);
  free(pt.claim_acked);
  free(pt.status_acked);
  free(var);
  free(pl);
  fsm_free(f);
}

/* ---- checking a state ------------------------------------------------------ */

static void materialize(const point *pt, const nsmap *m, const char *dir) {
  tu_rmtree(dir);
  ck_assert_int_eq(mkdir(dir, 0700), 0);
  for (size_t i = 0; i < m->n; i++) {
    char *path = tu_path(dir, m->v[i].path);
    int ino = m->v[i].ino;
    if (pt->f.ino[ino].dir) {
      ck_assert_msg(mkdir(path, 0700) == 0, "mkdir %s: %s", path,
                    strerror(errno));
    } else {
      const blob *b = pt->content[ino];
      int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
      ck_assert_msg(fd >= 0, "create %s: %s", path, strerror(errno));
      ck_assert(b->n == 0 || write(fd, b->p, b->n) == (ssize_t)b->n);
      close(fd);
    }
    free(path);
  }
}

static int has_name(const nsmap *m, const char *path) {
  return ns_find(m, path) >= 0;
}

static int status_same(const medshim_claim_status *a,
                       const medshim_claim_status *b) {
  return a->state == b->state && a->attempts == b->attempts &&
         a->changed_at == b->changed_at &&
         strcmp(a->settlement_id, b->settlement_id) == 0 &&
         strcmp(a->code, b->code) == 0 && a->fund_paid_fen == b->fund_paid_fen &&
         a->window_assigned == b->window_assigned &&
         strcmp(a->window.schedule_id, b->window.schedule_id) == 0;
}

static void show_failure(const point *pt, const nsmap *m, enum model model,
                         enum fail_kind kind, const char *why, int known) {
  const scen *sc = pt->sc;
  char text[512];
  size_t from = pt->k > 10 ? pt->k - 10 : 0, to = pt->k + 2;
  fprintf(stderr,
          "\n[crashstate] FAILURE %s/%s (%s%s): power cut after event %zu "
          "(%zu events in the log)\n"
          "  state: %s\n  why: %s\n  files:",
          sc->name, model_names[model], fail_names[kind],
          known ? ", the known rule" : "", pt->k - 1, sc->nlog, pt->variant,
          why);
  for (size_t i = 0; i < m->n; i++)
    if (!pt->f.ino[m->v[i].ino].dir)
      fprintf(stderr, " %s(%zu)", m->v[i].path, pt->content[m->v[i].ino]->n);
  fprintf(stderr, "\n  log around the crash point:\n");
  if (to > sc->nlog)
    to = sc->nlog;
  for (size_t i = from; i < to; i++) {
    describe_ev(text, sizeof text, sc, i);
    fprintf(stderr, "  %s %4zu %s\n", i + 1 == pt->k ? "=>" : "  ", i, text);
    if (i + 1 == pt->k)
      fprintf(stderr, "     ---- power cut ----\n");
  }
}

/* Is the damage verify reported only a failed record in data that was
 * never synced, in the lane's last segment, after which the rest is what
 * the scan's rule "an authentic record follows" refuses? Then cutting the
 * file there leaves a journal verify accepts (changes the materialized
 * state). */
static int damage_is_unsynced_tail(const point *pt, const nsmap *m,
                                   const medshim_verify_report *rep) {
  const scen *sc = pt->sc;
  char name[64], path[4200];
  medshim_journal_options ro = tu_opts(sc->key, 0);
  medshim_verify_report again;
  const char *lane = strncmp(rep->text, "replay lane:", 12) == 0 ? "replay/" : "";
  long i;
  int rc;
  snprintf(name, sizeof name, "seg-%016" PRIu64 ".msj", rep->segment);
  snprintf(path, sizeof path, "j/%s%s", lane, name);
  if ((i = ns_find(m, path)) < 0 || rep->offset < pt->dur[m->v[i].ino].n)
    return 0; /* not a segment, or the failed record was durable */
  snprintf(name, sizeof name, "seg-%016" PRIu64 ".msj", rep->segment + 1);
  snprintf(path, sizeof path, "j/%s%s", lane, name);
  if (ns_find(m, path) >= 0)
    return 0; /* not the last segment */
  snprintf(path, sizeof path, "%s/j/%sseg-%016" PRIu64 ".msj", sc->sdir, lane,
           rep->segment);
  ck_assert_int_eq(truncate(path, (off_t)rep->offset), 0);
  memset(&again, 0, sizeof again);
  again.version = MEDSHIM_VERIFY_REPORT_VERSION;
  rc = medshim_journal_verify(sc->sjdir, &ro, &again);
  return rc == MEDSHIM_OK && (again.damage == MEDSHIM_DAMAGE_NONE ||
                              again.damage == MEDSHIM_DAMAGE_TORN_TAIL);
}

/* What the next program to open it sees. Returns the failure kind. */
static int check_state(point *pt, const nsmap *m, enum model model) {
  scen *sc = pt->sc;
  medshim_journal_options ro = tu_opts(sc->key, 0);
  medshim_verify_report rep;
  medshim_journal *j = NULL;
  medshim_error err;
  char why[1024];
  enum fail_kind kind = FK_OK;
  int known = 0, rc, acked_any = 0;

  for (int i = 0; i < sc->nclaims; i++)
    acked_any |= pt->claim_acked[i];
  materialize(pt, m, sc->sdir);
  why[0] = '\0';

  /* (a) verify: a torn tail is what a crash leaves, anything else is not */
  memset(&rep, 0, sizeof rep);
  rep.version = MEDSHIM_VERIFY_REPORT_VERSION;
  rc = medshim_journal_verify(sc->sjdir, &ro, &rep);
  if (!has_name(m, "j/keyring") && !acked_any &&
      (rc == MEDSHIM_ENOTFOUND || rc == MEDSHIM_EKEY)) {
    /* crashed while creating the journal, before anything was stored */
  } else if (rc != MEDSHIM_OK || (rep.damage != MEDSHIM_DAMAGE_NONE &&
                                  rep.damage != MEDSHIM_DAMAGE_TORN_TAIL)) {
    kind = FK_VERIFY;
    snprintf(why, sizeof why, "verify: %s, damage %s: %s",
             medshim_strerror(rc), medshim_damage_name(rep.damage), rep.text);
    if (model == M_REORDER && rep.damage == MEDSHIM_DAMAGE_BAD_RECORD) {
      known = damage_is_unsynced_tail(pt, m, &rep);
      materialize(pt, m, sc->sdir); /* as it was */
    }
  }

  /* (a) open for writing, as the next cashier (with CREATE, as they do) */
  memset(&err, 0, sizeof err);
  j = open_at(sc, sc->sjdir, MEDSHIM_JOURNAL_CREATE, &err);
  if (j == NULL && kind == FK_OK) {
    kind = FK_OPEN;
    snprintf(why, sizeof why, "open: %s: %s", err.where, err.text);
  } else if (kind != FK_OK) { /* what the cashier would have seen */
    size_t o = strlen(why);
    snprintf(why + o, sizeof why - o, "\n       open for writing: %s%s%s",
             j == NULL ? "refused: " : "ok", j == NULL ? err.where : "",
             j == NULL ? ": " : "");
    o = strlen(why);
    if (j == NULL)
      snprintf(why + o, sizeof why - o, "%s", err.text);
    medshim_journal_close(j);
    j = NULL;
  }

  /* (b) every acknowledged claim with its content, every synced status */
  for (int i = 0; kind == FK_OK && i < sc->nclaims; i++) {
    medshim_claim *c = NULL;
    medshim_claim_status st;
    char *json = NULL;
    int ok = 0;
    medshim_claim_status_init(&st, MEDSHIM_CLAIM_STATUS_VERSION);
    rc = medshim_journal_get(&c, &st, j, sc->ids[i]);
    if (rc == MEDSHIM_ENOTFOUND) {
      if (pt->claim_acked[i] || pt->status_acked[i] >= 0) {
        kind = FK_LOST;
        snprintf(why, sizeof why, "claim %s %s is gone",
                 sc->ids[i],
                 pt->claim_acked[i] ? "acknowledged before the crash"
                                    : "whose status was acknowledged");
      }
      continue;
    }
    if (rc != MEDSHIM_OK) {
      kind = FK_OPEN;
      snprintf(why, sizeof why, "get %s: %s: %s", sc->ids[i],
               medshim_strerror(rc), medshim_journal_errmsg(j));
      break;
    }
    ck_assert_int_eq(medshim_claim_to_json(&json, c, MEDSHIM_CLAIM_JSON_REVEAL),
                     MEDSHIM_OK);
    if (strcmp(json, sc->claim_json[i]) != 0) {
      kind = FK_LOST;
      snprintf(why, sizeof why, "claim %s has other content",
               sc->ids[i]);
    }
    medshim_free(json);
    medshim_claim_free(c);
    /* statuses: the acknowledged one or a later one (written before k) */
    for (int s = 0; s < sc->nsts && !ok; s++) {
      size_t intent = 0;
      if (sc->sts[s].claim != i || s < pt->status_acked[i])
        continue;
      for (size_t e = 0; e < sc->nlog; e++)
        if (sc->log[e].op == EV_STATUS && sc->log[e].ref == s)
          intent = e;
      if (intent < pt->k && status_same(&st, &sc->sts[s].st))
        ok = 1;
    }
    if (!ok && pt->status_acked[i] < 0 && st.state == MEDSHIM_STATE_PENDING &&
        st.attempts == 0 && !st.window_assigned)
      ok = 1; /* the initial status */
    if (!ok && kind == FK_OK) {
      kind = FK_LOST;
      if (pt->status_acked[i] >= 0)
        snprintf(why, sizeof why,
                 "claim %s: status %s (attempts %u), but %s (attempts %u) "
                 "was acknowledged", sc->ids[i],
                 medshim_state_name(st.state), (unsigned)st.attempts,
                 medshim_state_name(sc->sts[pt->status_acked[i]].st.state),
                 (unsigned)sc->sts[pt->status_acked[i]].st.attempts);
      else
        snprintf(why, sizeof why, "claim %s: a status never written (%s, "
                 "attempts %u)", sc->ids[i],
                 medshim_state_name(st.state), (unsigned)st.attempts);
    }
  }

  /* the cashier goes on: one more claim, then a clean close */
  if (kind == FK_OK) {
    medshim_defer_result r = 0;
    rc = medshim_journal_defer(j, sc->restart_claim, &r);
    if (rc != MEDSHIM_OK || r != MEDSHIM_DEFER_STORED) {
      kind = FK_RESTART;
      snprintf(why, sizeof why, "defer after the restart: %s: %s",
               medshim_strerror(rc), medshim_journal_errmsg(j));
    }
  }
  if (j != NULL) {
    rc = medshim_journal_close(j);
    if (rc != MEDSHIM_OK && kind == FK_OK) {
      kind = FK_RESTART;
      snprintf(why, sizeof why, "close after the restart: %s",
               medshim_strerror(rc));
    }
  }
  /* and the next replay takes the lane over (it trims the lane's tail) */
  if (kind == FK_OK && sc->replay_check) {
    medshim_claim_status st;
    medshim_claim_status_init(&st, MEDSHIM_CLAIM_STATUS_VERSION);
    st.state = MEDSHIM_STATE_IN_DOUBT;
    st.attempts = 99;
    memset(&err, 0, sizeof err);
    j = open_at(sc, sc->sjdir, MEDSHIM_JOURNAL_REPLAY, &err);
    if (j == NULL) {
      kind = FK_RESTART;
      snprintf(why, sizeof why, "open REPLAY after the restart: %s: %s",
               err.where, err.text);
    } else {
      rc = medshim_journal_set_status(j, "RESTART1", &st);
      if (rc != MEDSHIM_OK) {
        kind = FK_RESTART;
        snprintf(why, sizeof why, "set_status after the restart: %s: %s",
                 medshim_strerror(rc), medshim_journal_errmsg(j));
      }
      rc = medshim_journal_close(j);
      if (rc != MEDSHIM_OK && kind == FK_OK) {
        kind = FK_RESTART;
        snprintf(why, sizeof why, "close REPLAY after the restart: %s",
                 medshim_strerror(rc));
      }
    }
  }
  /* after a writer's restart nothing of the crash is left */
  if (kind == FK_OK) {
    memset(&rep, 0, sizeof rep);
    rep.version = MEDSHIM_VERIFY_REPORT_VERSION;
    rc = medshim_journal_verify(sc->sjdir, &ro, &rep);
    if (rc != MEDSHIM_OK || rep.damage != MEDSHIM_DAMAGE_NONE) {
      kind = FK_RESTART;
      snprintf(why, sizeof why, "verify after the restart: %s, damage %s: %s",
               medshim_strerror(rc), medshim_damage_name(rep.damage),
               rep.text);
    }
  }

  if (kind != FK_OK) {
    sc->fails[model]++;
    sc->kinds[model][kind]++;
    sc->known[model] += known;
    if (sc->shown[model] < show_max) {
      sc->shown[model]++;
      show_failure(pt, m, model, kind, why, known);
    }
  }
  return kind;
}

/* ---- running a scenario ---------------------------------------------------- */

/* The model with every operation of the log applied is what the run left
 * on disk: the recorder saw every mutation (a call that bypassed the shim
 * would show here). */
static void model_matches_disk(scen *sc) {
  fsm f;
  blob b = {NULL, 0};
  fsm_build(&f, sc, sc->nlog);
  for (size_t i = 0; i < f.cur.n; i++) {
    char *path = tu_path(sc->root, f.cur.v[i].path);
    int ino = f.cur.v[i].ino;
    struct stat st;
    ck_assert_msg(lstat(path, &st) == 0, "model has %s, the disk not", path);
    ck_assert_msg(!S_ISDIR(st.st_mode) == !f.ino[ino].dir, "%s: type", path);
    if (!f.ino[ino].dir) {
      size_t n = 0;
      unsigned char *data = tu_read_file(path, &n);
      content_upto(&b, &f, sc, ino, f.ino[ino].nops);
      ck_assert_msg(n == b.n && (n == 0 || memcmp(data, b.p, n) == 0),
                    "%s: the model has %zu bytes, the disk %zu (or other "
                    "bytes)", path, b.n, n);
      free(data);
    }
    free(path);
  }
  snap_sc = sc;
  snap_count = 0;
  ck_assert_int_eq(nftw(sc->root, count_one, 16, FTW_PHYS), 0);
  ck_assert_msg(snap_count == f.cur.n, "the disk has %zu names, the model %zu",
                snap_count, f.cur.n);
  free(b.p);
  fsm_free(&f);
}

static long total_states, total_fails, total_known_reorder;
static char table[8192];
static size_t table_len;

static long explore(scen *sc) {
  struct timespec t0, t1;
  long states = 0, fails = 0, strict_fails = 0;
  model_matches_disk(sc);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  /* latest point first: a state met again earlier is checked already, with
   * more acknowledgements; points followed by a marker only repeat the next */
  for (size_t k = sc->nlog + 1; k-- > 0;) {
    if (k < sc->nlog && is_marker(sc->log[k].op))
      continue;
    run_point(sc, k);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  sc->seconds = (double)(t1.tv_sec - t0.tv_sec) +
                (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  for (int m = 0; m < NMODEL; m++) {
    char kinds[256];
    size_t o = 0;
    kinds[0] = '\0';
    for (int f = 1; f < NFK; f++)
      if (sc->kinds[m][f])
        o += (size_t)snprintf(kinds + o, sizeof kinds - o, ", %s %ld",
                              fail_names[f], sc->kinds[m][f]);
    if (sc->known[m])
      snprintf(kinds + o, sizeof kinds - o, ", of which the known rule %ld",
               sc->known[m]);
    table_len += (size_t)snprintf(table + table_len, sizeof table - table_len,
                                  "  %-12s %-8s %6ld states %5ld failures"
                                  " (%ld met%s)\n",
                                  sc->name, model_names[m], sc->states[m],
                                  sc->fails[m], sc->met[m], kinds);
    states += sc->states[m];
    fails += sc->fails[m];
    strict_fails += sc->fails[m] - (m == M_REORDER && !strict_reorder
                                        ? sc->known[m] : 0);
  }
  table_len += (size_t)snprintf(table + table_len, sizeof table - table_len,
                                "  %-12s %-8s %6ld states %5ld failures "
                                "(%zu events, %.1f s)\n",
                                sc->name, "all", states, fails, sc->nlog,
                                sc->seconds);
  fprintf(stderr, "[crashstate] %s: %ld states, %ld failures, %zu events, "
          "%.1f s\n", sc->name, states, fails, sc->nlog, sc->seconds);
  /* every model made states here (a model that took unsynced writes for
   * durable would make no torn or reordered ones) */
  for (int m = 0; m < NMODEL; m++)
    ck_assert_msg(sc->met[m] > 0, "%s: no %s states", sc->name,
                  model_names[m]);
  ck_assert_int_gt(sc->states[M_TORN] + sc->states[M_REORDER], 0);
  total_states += states;
  total_fails += fails;
  total_known_reorder += sc->known[M_REORDER];
  return strict_fails;
}

/* Explore, free, then fail if a state lost acknowledged data or was called
 * damage (freed first: a failing run should not also report leaks). */
static void finish(scen *sc) {
  char name[32];
  long bad = explore(sc), known = strict_reorder ? sc->known[M_REORDER] : 0;
  snprintf(name, sizeof name, "%s", sc->name);
  scen_free(sc);
  ck_assert_msg(bad == 0,
                "%s: %ld crash states lost acknowledged data or were called "
                "damage (see stderr)%s", name, bad,
                known ? "; MEDSHIM_CRASHSTATE_STRICT_REORDER=0 tolerates the "
                        "reordered states that the scan's authentic-record-"
                        "follows rule calls damage"
                      : "");
}

/* (i) defer one by one, in a batch, and without a sync then synced */
START_TEST(test_defer) {
  scen sc;
  medshim_journal *j;
  scen_init(&sc, "defer", 0);
  prerun(&sc, 0);
  record_start(&sc);
  j = journal_open(&sc, 0);
  for (int i = 0; i < 6; i++)
    defer_one(&sc, j, i);
  defer_many(&sc, j, 6, 4, 1);
  defer_many(&sc, j, 10, 8, 1);
  defer_many(&sc, j, 18, 16, 1);
  /* as `medshim defer` pipelines: batches written, then one sync */
  defer_many(&sc, j, 34, 3, 0);
  defer_many(&sc, j, 37, 2, 0);
  defer_many(&sc, j, 39, 4, 0);
  journal_sync(&sc, j);
  defer_many(&sc, j, 43, 2, 0);
  defer_one(&sc, j, 45); /* its sync covers the batch before it */
  defer_one(&sc, j, 8);  /* a duplicate: acknowledged, nothing written */
  defer_many(&sc, j, 46, 3, 0); /* made durable by the close */
  journal_close(&sc, j);
  record_stop();
  finish(&sc);
}
END_TEST

/* (ii) small segments: several rolls, one inside a batch */
START_TEST(test_roll) {
  scen sc;
  medshim_journal *j;
  int segs = 0;
  scen_init(&sc, "roll", 16384);
  prerun(&sc, 0);
  record_start(&sc);
  j = journal_open(&sc, 0);
  for (int i = 0; i < 16; i++)
    defer_one(&sc, j, i);
  defer_many(&sc, j, 16, 12, 1);
  defer_many(&sc, j, 28, 5, 0);
  defer_many(&sc, j, 33, 5, 0);
  journal_sync(&sc, j);
  journal_close(&sc, j);
  record_stop();
  for (size_t i = 0; i < sc.nlog; i++)
    if (sc.log[i].op == EV_CREATE && strstr(sc.log[i].path, "seg-") != NULL)
      segs++;
  ck_assert_int_ge(segs, 4);
  finish(&sc);
}
END_TEST

/* Index of the last event of kind op at or before i that names a path
 * containing what (NULL: any). */
static size_t find_back(const scen *sc, size_t i, enum ev_op op,
                        const char *what) {
  for (;; i--) {
    if (sc->log[i].op == op &&
        (what == NULL || strstr(sc->log[i].path, what) != NULL))
      return i;
    ck_assert_msg(i > 0, "event not found");
  }
}

/* (iii) tail trim: a run that crashed leaves a torn tail (a torn record, or
 * a new segment without its header); the next run, recorded, trims it and
 * defers more. The base's acknowledged claims are still owed. */
static int base_from(scen *dst, scen *src, size_t k, uint64_t cut_at) {
  point pt;
  fsm *f;
  blob cut = {NULL, 0};
  medshim_verify_report rep;
  medshim_journal_options ro = tu_opts(dst->key, 0);
  memset(&pt, 0, sizeof pt);
  pt.sc = src;
  pt.k = k;
  f = &pt.f;
  fsm_build(f, src, k);
  pt.dur = xmalloc((f->nino ? f->nino : 1) * sizeof *pt.dur);
  pt.content = xmalloc((f->nino ? f->nino : 1) * sizeof *pt.content);
  for (size_t i = 0; i < f->nino; i++) {
    memset(&pt.dur[i], 0, sizeof pt.dur[i]);
    content_upto(&pt.dur[i], f, src, (int)i, f->ino[i].ndur);
    pt.content[i] = &pt.dur[i];
  }
  if (cut_at) { /* the last write, pending, cut there */
    const ev *w = &src->log[k - 1];
    int ino = cur_ino(f, src, k - 1);
    uint64_t b = cut_at;
    ck_assert_int_eq(w->op, EV_WRITE);
    ck_assert(b > w->off && b < w->off + w->len);
    /* what else is pending on the file (the anchor slot written after
     * the last sync) reached the disk; the last write is cut */
    ck_assert_uint_ge(f->ino[ino].nops - 1, f->ino[ino].ndur);
    free(pt.dur[ino].p);
    memset(&pt.dur[ino], 0, sizeof pt.dur[ino]);
    content_upto(&pt.dur[ino], f, src, ino, f->ino[ino].nops - 1);
    blob_set(&cut, &pt.dur[ino]);
    blob_write(&cut, w->off, w->data, (size_t)(b - w->off));
    pt.content[ino] = &cut;
  }
  /* every pending directory operation applied (the new segment's name) */
  ns_copy(&pt.crash_ns, &f->dur);
  for (size_t d = 0; d < f->npd; d++)
    dop_apply(&pt.crash_ns, src, &f->pd[d]);
  tu_rmtree(dst->root);
  materialize(&pt, &pt.crash_ns, dst->root);
  memset(&rep, 0, sizeof rep);
  rep.version = MEDSHIM_VERIFY_REPORT_VERSION;
  ck_assert_int_eq(medshim_journal_verify(dst->jdir, &ro, &rep), MEDSHIM_OK);
  if (rep.damage == MEDSHIM_DAMAGE_TORN_TAIL) {
    for (size_t i = 0; i < k; i++)
      if (src->log[i].op == EV_ACK_CLAIM) {
        add_claim(dst, src->log[i].ref);
        mark(dst, EV_ACK_CLAIM, src->log[i].ref);
      }
    fprintf(stderr, "[crashstate] %s: base state: %s\n", dst->name, rep.text);
  }
  for (size_t i = 0; i < f->nino; i++)
    free(pt.dur[i].p);
  free(pt.dur);
  free(pt.content);
  free(pt.crash_ns.v);
  free(cut.p);
  fsm_free(f);
  return rep.damage == MEDSHIM_DAMAGE_TORN_TAIL;
}

static void trim_run(scen *sc) {
  medshim_journal *j;
  record_start(sc);
  j = journal_open(sc, 0); /* trims */
  note(sc, "the restarted writer defers");
  defer_one(sc, j, 50);
  defer_one(sc, j, 51);
  defer_many(sc, j, 52, 6, 1);
  defer_many(sc, j, 58, 3, 0);
  defer_many(sc, j, 61, 3, 0);
  journal_sync(sc, j);
  journal_close(sc, j);
  record_stop();
}

START_TEST(test_trim_tail) {
  scen src, sc;
  medshim_journal *j;
  size_t k;
  scen_init(&src, "trim-base", 0);
  prerun(&src, 0);
  record_start(&src);
  j = journal_open(&src, 0);
  for (int i = 0; i < 3; i++)
    defer_one(&src, j, i);
  defer_many(&src, j, 3, 6, 1);
  journal_close(&src, j);
  record_stop();
  /* crash right after the batch's write, before its sync (past the
   * anchor slot written after the previous sync: a record write is at or
   * beyond the first record's offset) */
  k = find_back(&src, find_back(&src, src.nlog - 1, EV_ACK_CLAIM, NULL),
                EV_WRITE, "seg-");
  while (src.log[k].off < JF_SEGMENT_DATA_V2)
    k = find_back(&src, k - 1, EV_WRITE, "seg-");
  k++;
  scen_init(&sc, "trim-tail", 0);
  {
    /* the first sector boundary inside the write that is not a record's */
    const ev *w = &src.log[k - 1];
    uint64_t b = (w->off / SECTOR + 1) * SECTOR;
    while (b < w->off + w->len && !base_from(&sc, &src, k, b))
      b += SECTOR;
    ck_assert_msg(b < w->off + w->len, "no torn base");
  }
  trim_run(&sc);
  (void)find_back(&sc, sc.nlog - 1, EV_TRUNC, "seg-"); /* it trimmed */
  scen_free(&src);
  finish(&sc);
}
END_TEST

START_TEST(test_trim_segment) {
  scen src, sc;
  medshim_journal *j;
  size_t k = 0;
  scen_init(&src, "trimseg-base", 16384);
  prerun(&src, 0);
  record_start(&src);
  j = journal_open(&src, 0);
  for (int i = 0; i < 40 && k == 0; i++) {
    defer_one(&src, j, i);
    /* crash right after segment 2 was created, before its header */
    for (size_t e = 0; e < src.nlog && k == 0; e++)
      if (src.log[e].op == EV_CREATE &&
          strstr(src.log[e].path, "seg-0000000000000002") != NULL)
        k = e + 1;
  }
  journal_close(&src, j);
  record_stop();
  ck_assert_uint_gt(k, 0);
  scen_init(&sc, "trim-seg", 16384);
  ck_assert(base_from(&sc, &src, k, 0));
  trim_run(&sc);
  (void)find_back(&sc, sc.nlog - 1, EV_UNLINK, "seg-"); /* it removed it */
  scen_free(&src);
  finish(&sc);
}
END_TEST

/* (iv) the replay lane: a REPLAY handle writes statuses with and without a
 * sync while the claims exist; then a claim writer replays in-process,
 * deferring claims without a sync and setting their statuses; then a
 * REPLAY handle sets statuses of claims a cashier has not synced yet. */
START_TEST(test_replay) {
  scen sc;
  medshim_journal *j;
  scen_init(&sc, "replay", 0);
  sc.replay_check = 1;
  prerun(&sc, 12);
  record_start(&sc);
  j = journal_open(&sc, MEDSHIM_JOURNAL_REPLAY);
  /* as a replay: in_doubt synced before each request, the outcome riding
   * on the next sync */
  for (int i = 0; i < 6; i++) {
    set_status(&sc, j, i, MEDSHIM_STATE_IN_DOUBT, 1);
    set_status(&sc, j, i,
               i % 3 == 0   ? MEDSHIM_STATE_SETTLED
               : i % 3 == 1 ? MEDSHIM_STATE_RETRY_WAIT
                            : MEDSHIM_STATE_REJECTED,
               0);
  }
  journal_sync(&sc, j);
  /* as a window assignment: a run of statuses, the last one synced */
  for (int i = 6; i < 12; i++)
    set_status(&sc, j, i, MEDSHIM_STATE_PENDING, i == 11);
  set_status(&sc, j, 1, MEDSHIM_STATE_SETTLED, 0);
  set_status(&sc, j, 4, MEDSHIM_STATE_MANUAL, 0);
  journal_close(&sc, j);
  /* a claim writer replaying in-process while it defers */
  j = journal_open(&sc, 0);
  defer_one(&sc, j, 12);
  set_status(&sc, j, 12, MEDSHIM_STATE_IN_DOUBT, 1);
  defer_many(&sc, j, 13, 3, 0);
  set_status(&sc, j, 13, MEDSHIM_STATE_IN_DOUBT, 1); /* syncs its claim first */
  set_status(&sc, j, 2, MEDSHIM_STATE_SETTLED, 0);
  set_status(&sc, j, 13, MEDSHIM_STATE_SETTLED, 1);
  defer_many(&sc, j, 16, 2, 0);
  set_status(&sc, j, 14, MEDSHIM_STATE_VOIDED, 0);
  journal_close(&sc, j);
  /* a replay process reads claims a cashier wrote without a sync yet: its
   * first status makes them durable before it (sync_main_snapshot) */
  j = journal_open(&sc, 0);
  defer_many(&sc, j, 18, 2, 0);
  {
    medshim_journal *r = journal_open(&sc, MEDSHIM_JOURNAL_REPLAY);
    set_status(&sc, r, 19, MEDSHIM_STATE_IN_DOUBT, 1);
    set_status(&sc, r, 18, MEDSHIM_STATE_SETTLED, 0);
    journal_close(&sc, r);
  }
  journal_close(&sc, j);
  record_stop();
  finish(&sc);
}
END_TEST

/* (v) a journal's creation: directory, keyring, checkpoint, replay lane,
 * then its first claims. */
START_TEST(test_create) {
  scen sc;
  medshim_journal *j;
  scen_init(&sc, "create", 0);
  record_start(&sc);
  j = journal_open(&sc, MEDSHIM_JOURNAL_CREATE);
  defer_one(&sc, j, 0);
  defer_one(&sc, j, 1);
  journal_close(&sc, j);
  record_stop();
  finish(&sc);
}
END_TEST

START_TEST(test_totals) {
  fprintf(stderr, "\n[crashstate] states and failures per scenario x model "
          "(strict reorder: %d):\n%s  %-12s %-8s %6ld states %5ld failures "
          "(reorder, known rule: %ld)\n", strict_reorder, table, "total", "",
          total_states, total_fails, total_known_reorder);
  ck_assert_int_ge(total_states, 1000);
}
END_TEST

static int env_int(const char *name, int def) {
  const char *v = getenv(name);
  return v != NULL && *v ? atoi(v) : def;
}

int main(void) {
  Suite *s = suite_create("crashstate");
  TCase *tc = tcase_create("crashstate");
  SRunner *sr;
  int failed;
  strict_reorder = env_int("MEDSHIM_CRASHSTATE_STRICT_REORDER", 1) != 0;
  random_subsets = env_int("MEDSHIM_CRASHSTATE_RANDOM", 16);
  show_max = env_int("MEDSHIM_CRASHSTATE_SHOW", 2);
  tcase_set_timeout(tc, 600);
  /* a test that failed must not leave its recorder set or its files */
  tcase_add_checked_fixture(tc, NULL, teardown);
  tcase_add_test(tc, test_defer);
  tcase_add_test(tc, test_roll);
  tcase_add_test(tc, test_trim_tail);
  tcase_add_test(tc, test_trim_segment);
  tcase_add_test(tc, test_replay);
  tcase_add_test(tc, test_create);
  tcase_add_test(tc, test_totals);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  /* one process: the totals add up over the scenarios */
  srunner_set_fork_status(sr, CK_NOFORK);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
