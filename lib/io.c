/* Durable I/O primitives and the test hook that makes them fail on demand. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* The path a descriptor names now ("" if unknown). */
static void fd_path(int fd, char *out, size_t cap) {
  char link[64];
  ssize_t n;
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  n = readlink(link, out, cap - 1);
  out[n > 0 ? (size_t)n : 0] = '\0';
}

static void at_path(int dfd, const char *name, char *out, size_t cap) {
  char dir[4096];
  fd_path(dfd, dir, sizeof dir);
  medshim__fmt(out, cap, "%s/%s", dir, name);
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
  ev.path = path;
  ev.path2 = path2;
  ev.data = data;
  ev.len = len;
  ev.off = off;
  fn(&ev, atomic_load(&recorder_payload));
  errno = saved;
}

static void emit_fd(enum medshim__io_op op, int fd, const void *data,
                    size_t len, uint64_t off) {
  char path[4096];
  fd_path(fd, path, sizeof path);
  emit(op, path, NULL, data, len, off);
}

/* n bytes just written at the file position (O_APPEND included). */
static void emit_write(int fd, const void *data, size_t n) {
  off_t end = lseek(fd, 0, SEEK_CUR);
  emit_fd(MEDSHIM__IO_OP_WRITE, fd, data, n,
          end >= (off_t)n ? (uint64_t)end - n : 0);
}

static void emit_sync(int fd, enum medshim__io_op op) {
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
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
    ssize_t n;
    if (injected(MEDSHIM__IO_WRITE)) {
      /* Model a torn write: half of what was asked reaches the file. */
      if (len > 1) {
        int saved = errno;
        ssize_t half = write(fd, p, len / 2);
        if (half > 0 && RECORDING())
          emit_write(fd, p, (size_t)half);
        errno = saved;
      }
      return -1;
    }
    n = write(fd, p, len);
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

int medshim__io_pwrite_all(int fd, const void *buf, size_t len, off_t off) {
  const unsigned char *p = buf;
  while (len > 0) {
    ssize_t n;
    if (injected(MEDSHIM__IO_WRITE))
      return -1;
    n = pwrite(fd, p, len, off);
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

ssize_t medshim__io_pread_full(int fd, void *buf, size_t len, off_t off) {
  unsigned char *p = buf;
  size_t done = 0;
  while (done < len) {
    ssize_t n = pread(fd, p + done, len - done, off + (off_t)done);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    if (n == 0)
      break;
    done += (size_t)n;
  }
  return (ssize_t)done;
}

/* A sync failure is never retried: after a failed fsync the kernel may have
 * dropped the dirty pages, so a second "success" would be a lie. */
int medshim__io_fdatasync(int fd) {
  int rc;
  if (injected(MEDSHIM__IO_SYNC))
    return -1;
  rc = fdatasync(fd);
  if (rc == 0 && RECORDING())
    emit_sync(fd, MEDSHIM__IO_OP_FDATASYNC);
  return rc;
}

int medshim__io_fsync(int fd) {
  int rc;
  if (injected(MEDSHIM__IO_SYNC))
    return -1;
  rc = fsync(fd);
  if (rc == 0 && RECORDING())
    emit_sync(fd, MEDSHIM__IO_OP_FSYNC);
  return rc;
}

int medshim__io_fsync_dir(const char *dir) {
  int fd, rc, saved;
  if (injected(MEDSHIM__IO_SYNC))
    return -1;
  fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  rc = fsync(fd);
  saved = errno;
  if (rc == 0 && RECORDING())
    emit_fd(MEDSHIM__IO_OP_FSYNC_DIR, fd, NULL, 0, 0);
  close(fd);
  errno = saved;
  return rc;
}

/* ---- creating and renaming inside a directory ---------------------------
 * Relative to the directory's descriptor, never following a symbolic link
 * in the last component, never replacing what is there. */

int medshim__io_open_dir(const char *dir) {
  return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int medshim__io_create_at(int dfd, const char *name, int flags) {
  int fd = openat(dfd, name, flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  0600);
  if (fd >= 0 && RECORDING())
    emit_fd(MEDSHIM__IO_OP_CREATE, fd, NULL, 0, 0);
  return fd;
}

int medshim__io_open_at(int dfd, const char *name, int flags) {
  return openat(dfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
}

int medshim__io_rename_at(int dfd, const char *from, const char *to) {
  int rc = renameat(dfd, from, dfd, to);
  if (rc == 0 && RECORDING()) {
    char a[4096], b[4096];
    at_path(dfd, from, a, sizeof a);
    at_path(dfd, to, b, sizeof b);
    emit(MEDSHIM__IO_OP_RENAME, a, b, NULL, 0, 0);
  }
  return rc;
}

int medshim__io_unlink_at(int dfd, const char *name) {
  int rc;
  char path[4096];
  path[0] = '\0';
  if (RECORDING()) /* the name before it is gone */
    at_path(dfd, name, path, sizeof path);
  rc = unlinkat(dfd, name, 0);
  if (rc == 0 && RECORDING())
    emit(MEDSHIM__IO_OP_UNLINK, path, NULL, NULL, 0, 0);
  return rc;
}

int medshim__io_mkdir(const char *path, mode_t mode) {
  int rc = mkdir(path, mode);
  if (rc == 0 && RECORDING()) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
      emit_fd(MEDSHIM__IO_OP_MKDIR, fd, NULL, 0, 0);
      close(fd);
    }
  }
  return rc;
}

int medshim__io_open(const char *path, int flags, mode_t mode) {
  struct stat st;
  int fd, existed = 1;
  if ((flags & O_CREAT) != 0 && RECORDING())
    existed = lstat(path, &st) == 0;
  fd = open(path, flags, mode);
  if (fd >= 0 && !existed)
    emit_fd(MEDSHIM__IO_OP_CREATE, fd, NULL, 0, 0);
  else if (fd >= 0 && (flags & O_TRUNC) != 0 && RECORDING())
    emit_fd(MEDSHIM__IO_OP_TRUNCATE, fd, NULL, 0, 0);
  return fd;
}

int medshim__io_allocate(int fd, off_t off, off_t len) {
  int rc = posix_fallocate(fd, off, len);
  if (rc != 0) {
    errno = rc;
    return -1;
  }
  if (RECORDING())
    emit_fd(MEDSHIM__IO_OP_TRUNCATE, fd, NULL, 0, (uint64_t)(off + len));
  return 0;
}

int medshim__io_truncate(int fd, off_t len) {
  int rc = ftruncate(fd, len);
  if (rc == 0 && RECORDING())
    emit_fd(MEDSHIM__IO_OP_TRUNCATE, fd, NULL, 0, (uint64_t)len);
  return rc;
}
