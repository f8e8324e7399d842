/* Durable I/O primitives, the test hook that makes them fail on demand,
 * and the recorder of what reaches the file system. On the platform layer
 * (os.h): no system call here. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors_internal.h"
#include "io_internal.h"

/* ---- the recorder (tests) ------------------------------------------------ */

static _Atomic(medshim__io_recorder_fn) recorder;
static _Atomic(void *) recorder_payload;

void medshim__io_set_recorder(medshim__io_recorder_fn fn, void *payload) {
  atomic_store(&recorder_payload, payload);
  atomic_store(&recorder, fn);
}

#define RECORDING() (atomic_load_explicit(&recorder, memory_order_acquire) != NULL)

/* dir-of-dfd + "/" + name (malloc'ed), or NULL. */
static char *at_path(int dfd, const char *name) {
  char *dir = medshim__os_fd_path(dfd), *p;
  if (dir == NULL)
    return NULL;
  p = medshim__os_path_join(dir, name);
  free(dir);
  return p;
}

static void emit(enum medshim__io_op op, const char *path, const char *path2,
                 const void *data, size_t len, uint64_t off) {
  medshim__io_recorder_fn fn =
      atomic_load_explicit(&recorder, memory_order_acquire);
  medshim__io_event ev;
  int saved = errno;
  if (fn == NULL)
    return;
  ev.op = op;
  ev.path = path != NULL ? path : "";
  ev.path2 = path2;
  ev.data = data;
  ev.len = len;
  ev.off = off;
  fn(&ev, atomic_load(&recorder_payload));
  errno = saved;
}

static void emit_fd(enum medshim__io_op op, int fd, const void *data,
                    size_t len, uint64_t off) {
  char *path = medshim__os_fd_path(fd);
  emit(op, path, NULL, data, len, off);
  free(path);
}

/* n bytes just written at the file position (APPEND included). */
static void emit_write(int fd, const void *data, size_t n) {
  int64_t end = medshim__os_tell(fd);
  emit_fd(MEDSHIM__IO_OP_WRITE, fd, data, n,
          end >= (int64_t)n ? (uint64_t)end - n : 0);
}

static void emit_sync(int fd, enum medshim__io_op op) {
  medshim__os_finfo st;
  if (medshim__os_fstat(fd, &st) == 0 && st.is_dir)
    op = MEDSHIM__IO_OP_FSYNC_DIR;
  emit_fd(op, fd, NULL, 0, 0);
}

/* Countdown per kind: -1 disarmed; 0 fail the next call. */
static atomic_long fault_after[2] = {-1, -1};
static atomic_int fault_errno[2];

void medshim__io_inject(enum medshim__io_kind kind, long after, int err) {
  atomic_store(&fault_errno[kind], err);
  atomic_store(&fault_after[kind], after);
}

/* 1 when this call must fail (and sets errno). */
static int injected(enum medshim__io_kind kind) {
  long cur = atomic_load(&fault_after[kind]);
  while (cur >= 0) {
    if (atomic_compare_exchange_weak(&fault_after[kind], &cur, cur - 1)) {
      if (cur == 0) {
        /* Stay armed at "fail": a failed disk does not heal by itself. */
        atomic_store(&fault_after[kind], 0);
        errno = atomic_load(&fault_errno[kind]);
        return 1;
      }
      return 0;
    }
  }
  return 0;
}

const char *medshim__io_strerror(int err) {
  /* strerror's "No space left on device" reads like any other failure in a
   * long message: say plainly that the disk is full. */
  if (err == ENOSPC)
    return "no space left on device (the disk is full)";
#ifdef EDQUOT
  if (err == EDQUOT)
    return "disk quota exceeded (no space left for this user)";
#endif
  return strerror(err);
}

int medshim__io_write_all(int fd, const void *buf, size_t len) {
  const unsigned char *p = buf;
  while (len > 0) {
    long long n;
    if (injected(MEDSHIM__IO_WRITE)) {
      /* Model a torn write: half of what was asked reaches the file. */
      if (len > 1) {
        int saved = errno;
        long long half = medshim__os_write(fd, p, len / 2);
        if (half > 0 && RECORDING())
          emit_write(fd, p, (size_t)half);
        errno = saved;
      }
      return -1;
    }
    n = medshim__os_write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    if (n == 0) {
      errno = EIO;
      return -1;
    }
    if (RECORDING())
      emit_write(fd, p, (size_t)n);
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int medshim__io_pwrite_all(int fd, const void *buf, size_t len, int64_t off) {
  const unsigned char *p = buf;
  while (len > 0) {
    long long n;
    if (injected(MEDSHIM__IO_WRITE))
      return -1;
    n = medshim__os_pwrite(fd, p, len, off);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    if (n == 0) {
      errno = EIO;
      return -1;
    }
    if (RECORDING())
      emit_fd(MEDSHIM__IO_OP_WRITE, fd, p, (size_t)n, (uint64_t)off);
    p += n;
    off += n;
    len -= (size_t)n;
  }
  return 0;
}

long long medshim__io_pread_full(int fd, void *buf, size_t len, int64_t off) {
  unsigned char *p = buf;
  size_t done = 0;
  while (done < len) {
    long long n = medshim__os_pread(fd, p + done, len - done,
                                    off + (int64_t)done);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    if (n == 0)
      break;
    done += (size_t)n;
  }
  return (long long)done;
}

/* A sync failure is never retried: after a failed fsync the kernel may have
 * dropped the dirty pages, so a second "success" would be a lie. */
int medshim__io_fdatasync(int fd) {
  int rc;
  if (injected(MEDSHIM__IO_SYNC))
    return -1;
  rc = medshim__os_fdatasync(fd);
  if (rc == 0 && RECORDING())
    emit_sync(fd, MEDSHIM__IO_OP_FDATASYNC);
  return rc;
}

int medshim__io_fsync(int fd) {
  int rc;
  if (injected(MEDSHIM__IO_SYNC))
    return -1;
  rc = medshim__os_fsync(fd);
  if (rc == 0 && RECORDING())
    emit_sync(fd, MEDSHIM__IO_OP_FSYNC);
  return rc;
}

int medshim__io_fsync_dir(const char *dir) {
  int fd, rc, saved;
  if (injected(MEDSHIM__IO_SYNC))
    return -1;
  fd = medshim__os_open_dir(dir);
  if (fd < 0)
    return -1;
  rc = medshim__os_fsync(fd);
  saved = errno;
  if (rc == 0 && RECORDING())
    emit_fd(MEDSHIM__IO_OP_FSYNC_DIR, fd, NULL, 0, 0);
  medshim__os_close(fd);
  errno = saved;
  return rc;
}

/* ---- creating and renaming inside a directory ---------------------------
 * Relative to the directory's descriptor, never following a symbolic link
 * in the last component, never replacing what is there. */

int medshim__io_open_dir(const char *dir) { return medshim__os_open_dir(dir); }

int medshim__io_create_at(int dfd, const char *name, unsigned flags) {
  int fd = medshim__os_open_at(dfd, name,
                               flags | MEDSHIM__OS_CREATE | MEDSHIM__OS_EXCL);
  if (fd >= 0 && RECORDING())
    emit_fd(MEDSHIM__IO_OP_CREATE, fd, NULL, 0, 0);
  return fd;
}

int medshim__io_open_at(int dfd, const char *name, unsigned flags) {
  return medshim__os_open_at(dfd, name, flags);
}

int medshim__io_rename_at(int dfd, const char *from, const char *to) {
  int rc = medshim__os_rename_at(dfd, from, to);
  if (rc == 0 && RECORDING()) {
    char *a = at_path(dfd, from), *b = at_path(dfd, to);
    emit(MEDSHIM__IO_OP_RENAME, a, b, NULL, 0, 0);
    free(a);
    free(b);
  }
  return rc;
}

int medshim__io_unlink_at(int dfd, const char *name) {
  int rc;
  char *path = NULL;
  if (RECORDING()) /* the name before it is gone */
    path = at_path(dfd, name);
  rc = medshim__os_unlink_at(dfd, name);
  if (rc == 0 && RECORDING())
    emit(MEDSHIM__IO_OP_UNLINK, path, NULL, NULL, 0, 0);
  free(path);
  return rc;
}

int medshim__io_mkdir(const char *path) {
  int rc = medshim__os_mkdir(path);
  if (rc == 0 && RECORDING()) {
    int fd = medshim__os_open_dir(path);
    if (fd >= 0) {
      emit_fd(MEDSHIM__IO_OP_MKDIR, fd, NULL, 0, 0);
      medshim__os_close(fd);
    }
  }
  return rc;
}

int medshim__io_open(const char *path, unsigned flags) {
  medshim__os_finfo st;
  int fd, existed = 1;
  if ((flags & MEDSHIM__OS_CREATE) != 0 && RECORDING())
    existed = medshim__os_lstat(path, &st) == 0;
  fd = medshim__os_open(path, flags);
  if (fd >= 0 && !existed)
    emit_fd(MEDSHIM__IO_OP_CREATE, fd, NULL, 0, 0);
  return fd;
}

int medshim__io_allocate(int fd, int64_t off, int64_t len) {
  if (medshim__os_allocate(fd, off, len) != 0)
    return -1;
  if (RECORDING())
    emit_fd(MEDSHIM__IO_OP_TRUNCATE, fd, NULL, 0, (uint64_t)(off + len));
  return 0;
}

int medshim__io_truncate(int fd, int64_t len) {
  int rc = medshim__os_truncate(fd, len);
  if (rc == 0 && RECORDING())
    emit_fd(MEDSHIM__IO_OP_TRUNCATE, fd, NULL, 0, (uint64_t)len);
  return rc;
}
