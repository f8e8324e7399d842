/* Durable I/O primitives and the test hook that makes them fail on demand. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "io_internal.h"

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
      if (len > 1)
        (void)!write(fd, p, len / 2);
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
  if (injected(MEDSHIM__IO_SYNC))
    return -1;
  return fdatasync(fd);
}

int medshim__io_fsync(int fd) {
  if (injected(MEDSHIM__IO_SYNC))
    return -1;
  return fsync(fd);
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
  return openat(dfd, name, flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                0600);
}

int medshim__io_open_at(int dfd, const char *name, int flags) {
  return openat(dfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
}

int medshim__io_rename_at(int dfd, const char *from, const char *to) {
  return renameat(dfd, from, dfd, to);
}

int medshim__io_unlink_at(int dfd, const char *name) {
  return unlinkat(dfd, name, 0);
}
