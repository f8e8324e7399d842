/* A snapshot of the platform state rebuilt from the ledger, so that a
 * fresh process (one per adapter call in `medshim replay --exec`) need not
 * parse every line: LEDGER.snap holds the state at a ledger offset, and the
 * process reads only the lines after it.
 *
 * The file, little-endian:
 *   "MSIMSNAP", u32 version, u32 0,
 *   u64 offset (a line boundary), u64 progress (events + damaged lines),
 *   u32 crc32 of the ledger's first min(offset, 4096) bytes, u32 crc32 of
 *   the min(offset, 4096) bytes before the offset,
 *   the counters, visits (with their fee batches), settlements, messages
 *   and the six maps, in unsigned LEB128 (signed: zigzag) and strings as
 *   length + 1 then bytes (0: NULL),
 *   u32 crc32 of all the bytes before it.
 * It is only a cache: one that is not whole (crc), not of this version,
 * not consistent in itself, or not of this ledger (shorter than the
 * offset, no '\n' before it, other first or last bytes) is ignored and the
 * ledger is read from its first line. It is written through a new
 * temporary file and a rename under the ledger's flock, without fsync: a
 * lost snapshot only costs a reload, a torn one fails its crc. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "os.h"
#include "sim_internal.h"

#define MAGIC "MSIMSNAP"
#define VERSION 1u
#define HEADER 40   /* magic .. tail crc */
#define WINDOW 4096 /* ledger bytes hashed at each end */
#define SIZE_MAX_SNAP ((int64_t)1 << 32)

char *msim_snapshot_path(const char *ledger) {
  size_t n = strlen(ledger);
  char *p = malloc(n + 6);
  if (p != NULL) {
    memcpy(p, ledger, n);
    memcpy(p + n, ".snap", 6);
  }
  return p;
}

/* zlib's crc32 takes at most 4 GiB at a time. */
static uint32_t crc_of(const unsigned char *p, size_t n) {
  uLong c = crc32(0L, Z_NULL, 0);
  while (n > 0) {
    uInt k = n > (1u << 30) ? 1u << 30 : (uInt)n;
    c = crc32(c, p, k);
    p += k;
    n -= k;
  }
  return (uint32_t)c;
}

/* ---- ledger identity ---- */

static int pread_all(int fd, void *buf, size_t n, int64_t off) {
  size_t got = 0;
  while (got < n) {
    long long r = medshim__os_pread(fd, (char *)buf + got, n - got,
                                    off + (int64_t)got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return -1;
    got += (size_t)r;
  }
  return 0;
}

/* The crcs of the ledger's first and last window before @p off; -1 when
 * the ledger is shorter or @p off is not just after a '\n'. */
static int identity(int fd, int64_t off, uint32_t *head, uint32_t *tail) {
  unsigned char buf[WINDOW];
  size_t w = off < WINDOW ? (size_t)off : WINDOW;
  medshim__os_finfo sb;
  if (medshim__os_fstat(fd, &sb) != 0 || sb.size < off)
    return -1;
  if (off == 0) {
    *head = *tail = crc_of(buf, 0);
    return 0;
  }
  if (pread_all(fd, buf, w, 0) != 0)
    return -1;
  *head = crc_of(buf, w);
  if (pread_all(fd, buf, w, off - (int64_t)w) != 0 || buf[w - 1] != '\n')
    return -1;
  *tail = crc_of(buf, w);
  return 0;
}

/* ---- encoding ---- */

typedef struct wbuf {
  unsigned char *p;
  size_t n, cap;
  int err;
} wbuf;

static void put(wbuf *b, const void *p, size_t n) {
  if (b->err || n == 0)
    return;
  if (b->cap - b->n < n) {
    size_t cap = b->cap ? b->cap : 1 << 16;
    unsigned char *q;
    while (cap - b->n < n)
      cap *= 2;
    if ((q = realloc(b->p, cap)) == NULL) {
      b->err = 1;
      return;
    }
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->n, p, n);
  b->n += n;
}

static void put_le(wbuf *b, uint64_t v, size_t bytes) {
  unsigned char c[8];
  for (size_t i = 0; i < bytes; i++)
    c[i] = (unsigned char)(v >> (8 * i));
  put(b, c, bytes);
}

static void put_u(wbuf *b, uint64_t v) {
  unsigned char c[10];
  size_t n = 0;
  do {
    c[n] = (unsigned char)(v & 0x7f);
    v >>= 7;
    c[n] |= v ? 0x80 : 0;
    n++;
  } while (v);
  put(b, c, n);
}

static void put_i(wbuf *b, int64_t v) {
  put_u(b, ((uint64_t)v << 1) ^ (v < 0 ? ~(uint64_t)0 : 0));
}

static void put_str(wbuf *b, const char *s) {
  size_t n = s ? strlen(s) : 0;
  put_u(b, s ? (uint64_t)n + 1 : 0);
  put(b, s, n);
}

static void put_map(wbuf *b, const msim_map *m) {
  put_u(b, m->n);
  for (size_t i = 0; i < m->cap; i++)
    if (m->keys[i] != NULL) {
      put_str(b, m->keys[i]);
      put_u(b, m->vals[i]);
    }
}

static void put_state(wbuf *b, const msim_state *st) {
  const size_t counters[] = {st->events,   st->calls,     st->repeats,
                             st->invalid,  st->lost,      st->reversals,
                             st->cancels,  st->damaged};
  for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
    put_u(b, counters[i]);
  put_u(b, st->nv);
  for (size_t i = 0; i < st->nv; i++) {
    const msim_visit *v = &st->v[i];
    put_str(b, v->mdtrt_id);
    put_str(b, v->psn);
    put_str(b, v->ipt);
    put_str(b, v->med_type);
    put_str(b, v->insutype);
    put_i(b, v->begn);
    put_i(b, v->t_reg);
    put_i(b, v->t_unreg);
    put_u(b, v->last_setl);
    put_u(b, v->prev_psn);
    put_u(b, v->prev_key);
    put_u(b, v->nb);
    for (size_t j = 0; j < v->nb; j++) {
      const msim_batch *x = &v->b[j];
      put_i(b, x->sum);
      put_i(b, x->t_del);
      put_u(b, x->n);
      for (size_t k = 0; k < x->n; k++)
        put_str(b, x->sn[k]);
    }
  }
  put_u(b, st->ns);
  for (size_t i = 0; i < st->ns; i++) {
    const msim_setl *s = &st->s[i];
    put_str(b, s->setl_id);
    put_str(b, s->medins);
    put_u(b, s->visit);
    put_i(b, s->total);
    put_i(b, s->fund);
    put_i(b, s->acct);
    put_i(b, s->cash);
    put_i(b, s->hosp);
    put_i(b, s->stime);
    put_i(b, s->t_setl);
    put_i(b, s->t_undo);
    put_u(b, (uint64_t)s->undo);
    put_u(b, s->prev);
    put_u(b, s->prev_medins);
  }
  put_u(b, st->nm);
  for (size_t i = 0; i < st->nm; i++) {
    const msim_msg *m = &st->m[i];
    put_str(b, m->infno);
    put_i(b, m->t);
    put_u(b, (uint64_t)m->did);
    put_u(b, m->ref);
    put_u(b, m->ref2);
    put_i(b, m->t_rev);
  }
  put_map(b, &st->by_mdtrt);
  put_map(b, &st->by_setl);
  put_map(b, &st->by_psn);
  put_map(b, &st->by_key);
  put_map(b, &st->by_medins);
  put_map(b, &st->by_msgid);
}

/* ---- decoding: every count, length and reference checked ---- */

typedef struct rbuf {
  const unsigned char *p;
  size_t n, i;
  int err;
} rbuf;

static uint64_t get_le(rbuf *b, size_t bytes) {
  uint64_t v = 0;
  if (b->err || b->n - b->i < bytes) {
    b->err = 1;
    return 0;
  }
  for (size_t k = 0; k < bytes; k++)
    v |= (uint64_t)b->p[b->i + k] << (8 * k);
  b->i += bytes;
  return v;
}

static uint64_t get_u(rbuf *b) {
  uint64_t v = 0;
  for (unsigned shift = 0; !b->err; shift += 7) {
    unsigned char c;
    if (b->i >= b->n || shift > 63) {
      b->err = 1;
      break;
    }
    c = b->p[b->i++];
    if (shift == 63 && (c & 0x7e)) { /* bits beyond 64 */
      b->err = 1;
      break;
    }
    v |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80))
      return v;
  }
  return 0;
}

static int64_t get_i(rbuf *b) {
  uint64_t u = get_u(b);
  return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

/* A count of items taking at least @p each bytes: never more than the
 * bytes left could hold (no huge allocation from a bad count). */
static size_t get_count(rbuf *b, size_t each) {
  uint64_t n = get_u(b);
  if (b->err || n > (b->n - b->i) / each) {
    b->err = 1;
    return 0;
  }
  return (size_t)n;
}

/* A string's bytes (not NUL-terminated) and length; *null when NULL. */
static const unsigned char *get_bytes(rbuf *b, size_t *len, int *null) {
  uint64_t n = get_u(b);
  const unsigned char *p;
  *null = n == 0;
  *len = 0;
  if (b->err || n == 0)
    return NULL;
  if (n - 1 > b->n - b->i) {
    b->err = 1;
    return NULL;
  }
  *len = (size_t)(n - 1);
  p = b->p + b->i;
  b->i += *len;
  if (memchr(p, '\0', *len) != NULL) { /* never in a C string */
    b->err = 1;
    return NULL;
  }
  return p;
}

static char *get_str(rbuf *b, int nullable) {
  size_t n;
  int null;
  const unsigned char *p = get_bytes(b, &n, &null);
  char *s;
  if (b->err || (null && !nullable))
    b->err = 1;
  if (b->err || null)
    return NULL;
  if ((s = malloc(n + 1)) == NULL) {
    b->err = 1;
    return NULL;
  }
  memcpy(s, p, n);
  s[n] = '\0';
  return s;
}

static void get_fixed(rbuf *b, char *dst, size_t cap) {
  size_t n;
  int null;
  const unsigned char *p = get_bytes(b, &n, &null);
  if (b->err || null || n >= cap) {
    b->err = 1;
    return;
  }
  memcpy(dst, p, n);
  dst[n] = '\0';
}

static void *alloc_array(rbuf *b, size_t n, size_t size) {
  void *p;
  if (b->err || n == 0)
    return NULL;
  if ((p = calloc(n, size)) == NULL)
    b->err = 1;
  return p;
}

static void get_visit(rbuf *b, msim_visit *v, size_t i, size_t ns) {
  get_fixed(b, v->mdtrt_id, sizeof v->mdtrt_id);
  v->psn = get_str(b, 0);
  v->ipt = get_str(b, 0);
  get_fixed(b, v->med_type, sizeof v->med_type);
  get_fixed(b, v->insutype, sizeof v->insutype);
  v->begn = get_i(b);
  v->t_reg = get_i(b);
  v->t_unreg = get_i(b);
  v->last_setl = (size_t)get_u(b);
  v->prev_psn = (size_t)get_u(b);
  v->prev_key = (size_t)get_u(b);
  /* chains point to earlier entries only: they end */
  if (v->last_setl > ns || v->prev_psn > i || v->prev_key > i)
    b->err = 1;
  v->capb = get_count(b, 3);
  v->b = alloc_array(b, v->capb, sizeof *v->b);
  for (size_t j = 0; !b->err && j < v->capb; j++) {
    msim_batch *x = &v->b[j];
    size_t n;
    v->nb = j + 1; /* freed with the state from here on */
    x->sum = get_i(b);
    x->t_del = get_i(b);
    n = get_count(b, 1);
    if (b->err)
      break;
    if ((x->sn = calloc(n + 1, sizeof *x->sn)) == NULL)
      b->err = 1;
    for (size_t k = 0; !b->err && k < n; k++)
      if ((x->sn[k] = get_str(b, 0)) != NULL)
        x->n = k + 1;
  }
}

static void get_setl(rbuf *b, msim_setl *s, size_t i, size_t nv) {
  uint64_t undo;
  get_fixed(b, s->setl_id, sizeof s->setl_id);
  s->medins = get_str(b, 1);
  s->visit = (size_t)get_u(b);
  s->total = get_i(b);
  s->fund = get_i(b);
  s->acct = get_i(b);
  s->cash = get_i(b);
  s->hosp = get_i(b);
  s->stime = get_i(b);
  s->t_setl = get_i(b);
  s->t_undo = get_i(b);
  undo = get_u(b);
  s->prev = (size_t)get_u(b);
  s->prev_medins = (size_t)get_u(b);
  s->undo = (int)undo;
  if (s->visit >= nv || undo > MSIM_REVERSED || s->prev > i ||
      s->prev_medins > i)
    b->err = 1;
}

static void get_msg(rbuf *b, msim_msg *m, const msim_state *st) {
  uint64_t did;
  get_fixed(b, m->infno, sizeof m->infno);
  m->t = get_i(b);
  did = get_u(b);
  m->ref = (size_t)get_u(b);
  m->ref2 = (size_t)get_u(b);
  m->t_rev = get_i(b);
  m->did = (int)did;
  if (b->err || did > MSIM_DID_OTHER ||
      (did == MSIM_DID_REG && m->ref >= st->nv) ||
      (did == MSIM_DID_FEE &&
       (m->ref >= st->nv || m->ref2 >= st->v[m->ref].nb)) ||
      (did == MSIM_DID_SETL && m->ref >= st->ns))
    b->err = 1;
}

static void get_map(rbuf *b, msim_map *m, size_t bound) {
  size_t n = get_count(b, 2);
  for (size_t i = 0; !b->err && i < n; i++) {
    char *key = get_str(b, 0);
    uint64_t val = get_u(b);
    if (!b->err && (val >= bound || msim_map_put(m, key, (size_t)val) != 0))
      b->err = 1;
    free(key);
  }
  if (!b->err && m->n != n) /* a key twice */
    b->err = 1;
}

static void get_state(rbuf *b, msim_state *st) {
  size_t *counters[] = {&st->events,  &st->calls,     &st->repeats,
                        &st->invalid, &st->lost,      &st->reversals,
                        &st->cancels, &st->damaged};
  for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
    *counters[i] = (size_t)get_u(b);
  st->capv = get_count(b, 12);
  st->v = alloc_array(b, st->capv, sizeof *st->v);
  for (size_t i = 0; !b->err && i < st->capv; i++) {
    st->nv = i + 1; /* freed with the state from here on */
    /* settlements are read later: their count bounds last_setl then */
    get_visit(b, &st->v[i], i, SIZE_MAX);
  }
  st->caps = get_count(b, 14);
  st->s = alloc_array(b, st->caps, sizeof *st->s);
  for (size_t i = 0; !b->err && i < st->caps; i++) {
    st->ns = i + 1;
    get_setl(b, &st->s[i], i, st->nv);
  }
  for (size_t i = 0; !b->err && i < st->nv; i++)
    if (st->v[i].last_setl > st->ns)
      b->err = 1;
  st->capm = get_count(b, 6);
  st->m = alloc_array(b, st->capm, sizeof *st->m);
  for (size_t i = 0; !b->err && i < st->capm; i++) {
    st->nm = i + 1;
    get_msg(b, &st->m[i], st);
  }
  get_map(b, &st->by_mdtrt, st->nv);
  get_map(b, &st->by_setl, st->ns);
  get_map(b, &st->by_psn, st->nv);
  get_map(b, &st->by_key, st->nv);
  get_map(b, &st->by_medins, st->ns);
  get_map(b, &st->by_msgid, st->nm);
}

/* ---- the file ---- */

/* The whole file; *there when something is at @p path. */
static unsigned char *read_file(const char *path, size_t *n, int *there) {
  int fd = medshim__os_open(path, MEDSHIM__OS_READ);
  medshim__os_finfo sb;
  unsigned char *buf = NULL;
  *there = fd >= 0 || errno != ENOENT;
  if (fd < 0)
    return NULL;
  if (medshim__os_fstat(fd, &sb) == 0 && sb.is_reg && sb.size >= HEADER + 4 &&
      sb.size < SIZE_MAX_SNAP) {
    *n = (size_t)sb.size;
    buf = malloc(*n);
    if (buf != NULL && pread_all(fd, buf, *n, 0) != 0) {
      free(buf);
      buf = NULL;
    }
  }
  (void)medshim__os_close(fd);
  return buf;
}

int msim_snapshot_load(medshim_sim *s, int fd) {
  char *path = msim_snapshot_path(s->path);
  unsigned char *buf;
  size_t n = 0;
  rbuf b;
  msim_state st;
  uint64_t off, progress;
  uint32_t head, tail, h, t;
  int rc = -1, there = 0;
  if (path == NULL)
    return -1;
  buf = read_file(path, &n, &there);
  free(path);
  s->snap_bad = there; /* until it passes every check */
  if (buf == NULL)
    return -1;
  memset(&b, 0, sizeof b);
  memset(&st, 0, sizeof st);
  b.p = buf;
  b.n = n - 4;
  if (memcmp(buf, MAGIC, 8) != 0 ||
      crc_of(buf, n - 4) != (buf[n - 4] | (uint32_t)buf[n - 3] << 8 |
                             (uint32_t)buf[n - 2] << 16 |
                             (uint32_t)buf[n - 1] << 24))
    goto out;
  b.i = 8;
  if (get_le(&b, 4) != VERSION || get_le(&b, 4) != 0)
    goto out;
  off = get_le(&b, 8);
  progress = get_le(&b, 8);
  head = (uint32_t)get_le(&b, 4);
  tail = (uint32_t)get_le(&b, 4);
  if (b.err || off == 0 || off >= (uint64_t)INT64_MAX ||
      identity(fd, (int64_t)off, &h, &t) != 0 || h != head || t != tail)
    goto out;
  get_state(&b, &st);
  if (b.err || b.i != b.n || msim_progress(&st) != progress)
    goto out;
  msim_state_free(&s->st);
  s->st = st;
  memset(&st, 0, sizeof st);
  s->off = (int64_t)off;
  s->snap_off = (int64_t)off;
  s->snap_progress = (size_t)progress;
  s->snap_bad = 0;
  s->snap_loaded = 1;
  rc = 0;
out:
  msim_state_free(&st);
  free(buf);
  return rc;
}

/* The newest snapshot's offset and progress from its header alone (not
 * checked: only to tell whether another process wrote one lately). */
static int peek_header(const char *path, int64_t *off, size_t *progress) {
  unsigned char h[HEADER];
  int fd = medshim__os_open(path, MEDSHIM__OS_READ);
  rbuf b;
  if (fd < 0)
    return -1;
  memset(&b, 0, sizeof b);
  b.p = h;
  b.n = sizeof h;
  if (pread_all(fd, h, sizeof h, 0) != 0 || memcmp(h, MAGIC, 8) != 0)
    b.err = 1;
  (void)medshim__os_close(fd);
  b.i = 8;
  if (get_le(&b, 4) != VERSION)
    return -1;
  (void)get_le(&b, 4);
  *off = (int64_t)get_le(&b, 8);
  *progress = (size_t)get_le(&b, 8);
  return b.err ? -1 : 0;
}

int msim_snapshot_write(medshim_sim *s, int fd) {
  char *path = msim_snapshot_path(s->path), *tmp = NULL;
  size_t progress = msim_progress(&s->st), theirs = 0;
  int64_t their_off = 0;
  uint32_t head, tail;
  wbuf b;
  int out = -1, rc = -1;
  memset(&b, 0, sizeof b);
  /* Tried now, succeeded or not: next after as many lines again. */
  s->snap_progress = progress;
  if (path == NULL)
    return -1;
  /* Another process may have written one since ours: then not again
   * (unless the one there was refused: replace it). */
  if (!s->snap_bad && peek_header(path, &their_off, &theirs) == 0 &&
      theirs <= progress && their_off > 0 && their_off <= s->off &&
      progress - theirs <= MSIM_SNAPSHOT_EVERY) {
    s->snap_off = their_off;
    s->snap_progress = theirs;
    rc = 0;
    goto done;
  }
  if (identity(fd, s->off, &head, &tail) != 0 ||
      (tmp = malloc(strlen(path) + 5)) == NULL)
    goto done;
  sprintf(tmp, "%s.tmp", path);
  put(&b, MAGIC, 8);
  put_le(&b, VERSION, 4);
  put_le(&b, 0, 4);
  put_le(&b, (uint64_t)s->off, 8);
  put_le(&b, progress, 8);
  put_le(&b, head, 4);
  put_le(&b, tail, 4);
  put_state(&b, &s->st);
  if (b.err)
    goto done;
  put_le(&b, crc_of(b.p, b.n), 4);
  /* A leftover of a writer killed before its rename: ours is new. */
  if (b.err || (medshim__os_unlink(tmp) != 0 && errno != ENOENT))
    goto done;
  out = medshim__os_open(tmp, MEDSHIM__OS_WRITE | MEDSHIM__OS_CREATE |
                                 MEDSHIM__OS_EXCL);
  if (out < 0)
    goto done;
  rc = msim_write_all(out, b.p, b.n);
  if (medshim__os_close(out) != 0)
    rc = -1;
  out = -1;
  if (rc != 0 || medshim__os_rename(tmp, path) != 0) {
    rc = -1;
    (void)medshim__os_unlink(tmp);
    goto done;
  }
  s->snap_off = s->off;
  s->snap_bad = 0;
  rc = 0;
done:
  if (out >= 0)
    (void)medshim__os_close(out);
  free(b.p);
  free(tmp);
  free(path);
  return rc;
}
