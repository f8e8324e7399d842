/* The ledger file: one JSON event per line, appended under an exclusive
 * flock (lib/os.h's lock: flock on Unix, LockFileEx on Windows) and
 * fsync'ed when it changes the platform's state. Each section
 * first reads only the bytes other processes appended since this handle
 * last looked (a whole reload per call would be quadratic over a
 * 20,000-claim replay), and a fresh handle starts from the snapshot
 * (sim_snapshot.c) rather than from the first line.
 *
 * The reading is done twice: first without the flock, so the processes
 * sharing the ledger parse in parallel rather than one after the other,
 * then under it, for the few lines appended meanwhile. Without the flock a
 * writer may be in the middle of its write(2): only the bytes of lines
 * ending in '\n' are taken, and the last of them only if it parses (a
 * writer writes a whole line in one call, '\n' last, so a line seen with
 * its '\n' is normally whole; and every line before the last complete one
 * was written by a write that returned before the next writer took the
 * flock, before our fstat). What is left is read under the flock exactly
 * as before: a torn last line (a writer killed mid-write) is terminated by
 * the next writer, counted damaged and never glued to the next event. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "os.h"
#include "sim_internal.h"

size_t msim_progress(const msim_state *st) { return st->events + st->damaged; }

/* Parse one line; NULL when it is not a JSON object. */
static json_t *parse_line(const char *p, size_t n) {
  json_error_t e;
  json_t *ev = json_loadb(p, n, 0, &e);
  if (ev != NULL && !json_is_object(ev)) {
    json_decref(ev);
    ev = NULL;
  }
  return ev;
}

static void apply_event(medshim_sim *s, json_t *ev) {
  if (ev == NULL || msim_apply(&s->st, ev) != 0)
    s->st.damaged++;
  json_decref(ev);
}

static void apply_line(medshim_sim *s, const char *p, size_t n) {
  apply_event(s, parse_line(p, n));
}

static int read_all(int fd, char *buf, size_t n, int64_t off) {
  size_t got = 0;
  while (got < n) {
    long long r = medshim__os_pread(fd, buf + got, n - got, off + (int64_t)got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return -1;
    got += (size_t)r;
  }
  return 0;
}

/* [s->off, size) into a new buffer. */
static char *read_new(medshim_sim *s, int fd, int64_t size, size_t *n) {
  char *buf;
  *n = (size_t)(size - s->off);
  buf = malloc(*n ? *n : 1);
  if (buf != NULL && read_all(fd, buf, *n, s->off) != 0) {
    free(buf);
    buf = NULL;
  }
  return buf;
}

/* Under the flock: apply the complete lines in [off, size). */
static int catch_up(medshim_sim *s, int64_t size) {
  size_t n, start = 0;
  char *buf = read_new(s, s->fd, size, &n);
  if (buf == NULL)
    return -1;
  for (size_t i = 0; i < n; i++)
    if (buf[i] == '\n') {
      if (i > start)
        apply_line(s, buf + start, i - start);
      start = i + 1;
    }
  s->off += (int64_t)start;
  s->tail_partial = start < n;
  free(buf);
  return 0;
}

/* Without the flock: apply the lines in [off, size) that end in '\n',
 * stopping before the last of them when it does not parse (it may still
 * be arriving; the locked pass decides). tail_partial is left alone: only
 * the locked pass knows whether a tail is torn. */
static int catch_up_unlocked(medshim_sim *s, int fd) {
  medshim__os_finfo sb;
  size_t n, start = 0, last = 0;
  char *buf;
  if (medshim__os_fstat(fd, &sb) != 0)
    return -1;
  if (sb.size <= s->off) /* nothing new, or replaced: locked */
    return 0;
  if ((buf = read_new(s, fd, sb.size, &n)) == NULL)
    return -1;
  for (size_t i = n; i > 0; i--)
    if (buf[i - 1] == '\n') {
      last = i; /* the end of the last complete line */
      break;
    }
  for (size_t i = 0; i < last; i++)
    if (buf[i] == '\n') {
      if (i > start) {
        json_t *ev = parse_line(buf + start, i - start);
        if (ev == NULL && i + 1 == last)
          break;
        apply_event(s, ev);
      }
      start = i + 1;
    }
  s->off += (int64_t)start;
  free(buf);
  return 0;
}

static int sync_file(medshim_sim *s) {
  medshim__os_finfo sb;
  if (medshim__os_fstat(s->fd, &sb) != 0)
    return -1;
  if (sb.size < s->off) { /* replaced under us: start over */
    msim_state_free(&s->st);
    s->off = 0;
    s->snap_off = 0;
    s->snap_progress = 0;
    s->snap_loaded = 0;
  }
  if (sb.size > s->off)
    return catch_up(s, sb.size);
  s->tail_partial = 0;
  return 0;
}

static int open_ledger(medshim_sim *s) {
  /* Opened per section, so a handle never shares its lock with a forked
   * child through an inherited descriptor. */
  s->fd = medshim__os_open(s->path, MEDSHIM__OS_RDWR | MEDSHIM__OS_CREATE |
                                        MEDSHIM__OS_APPEND | MEDSHIM__OS_FOLLOW);
  if (s->fd < 0)
    return -1;
  if (!s->snap_tried) {
    s->snap_tried = 1;
    if (s->off == 0 && s->st.events == 0 && s->st.damaged == 0)
      (void)msim_snapshot_load(s, s->fd);
  }
  /* A failure here only leaves more for the locked pass. */
  (void)catch_up_unlocked(s, s->fd);
  return 0;
}

int msim_ledger_begin(medshim_sim *s) {
  if (pthread_mutex_lock(&s->mu) != 0)
    return -1;
  if (s->path == NULL)
    return 0;
  if (open_ledger(s) == 0 && medshim__os_lock(s->fd, 1) == 0) {
    s->locked = 1;
    if (sync_file(s) == 0)
      return 0;
    s->locked = 0;
  }
  msim_ledger_end(s);
  return -1;
}

int msim_ledger_peek(medshim_sim *s) {
  int rc = 0;
  if (pthread_mutex_lock(&s->mu) != 0)
    return -1;
  if (s->path != NULL) {
    rc = open_ledger(s);
    if (s->fd >= 0)
      (void)medshim__os_close(s->fd);
    s->fd = -1;
  }
  (void)pthread_mutex_unlock(&s->mu);
  return rc;
}

void msim_ledger_end(medshim_sim *s) {
  if (s->fd >= 0) {
    if (s->locked && s->off > s->snap_off &&
        msim_progress(&s->st) > s->snap_progress + MSIM_SNAPSHOT_EVERY)
      (void)msim_snapshot_write(s, s->fd);
    s->locked = 0;
    (void)medshim__os_close(s->fd); /* releases the lock */
    s->fd = -1;
  }
  (void)pthread_mutex_unlock(&s->mu);
}

/* Terminate a torn last line so the next event starts on its own line.
 * The torn bytes are then applied as every other reader will see them: a
 * line, damaged unless the writer died between its last '}' and the '\n'
 * (then its event was whole, and every reader after us takes it). */
static int seal_tail(medshim_sim *s) {
  medshim__os_finfo sb;
  size_t n;
  char *torn;
  if (!s->tail_partial)
    return 0;
  if (medshim__os_fstat(s->fd, &sb) != 0 || sb.size <= s->off ||
      (torn = read_new(s, s->fd, sb.size, &n)) == NULL)
    return -1;
  if (msim_write_all(s->fd, "\n", 1) != 0) {
    free(torn);
    return -1;
  }
  s->off = sb.size + 1;
  s->tail_partial = 0;
  apply_line(s, torn, n);
  free(torn);
  return 0;
}

int msim_ledger_append(medshim_sim *s, json_t *ev, int durable) {
  char *line;
  size_t n;
  int rc = 0;
  if (s->path != NULL) {
    line = json_dumps(ev, JSON_COMPACT);
    if (line == NULL)
      return -1;
    n = strlen(line);
    line[n] = '\n'; /* replaces the NUL: one write of a whole line */
    if (seal_tail(s) != 0 || msim_write_all(s->fd, line, n + 1) != 0 ||
        (durable && medshim__os_fdatasync(s->fd) != 0))
      rc = -1;
    free(line);
    if (rc != 0)
      return -1;
    s->off += (int64_t)n + 1;
  }
  if (msim_apply(&s->st, ev) != 0) {
    s->st.damaged++;
    return -1;
  }
  return 0;
}
