/* Every write and sync of the journal goes through here, so that tests can
 * inject ENOSPC/EIO at the Nth call without LD_PRELOAD (which fights ASan)
 * and record what reaches the file system. On top of the platform layer
 * (os.h); flags are medshim__os_open_flags. */
#ifndef MEDSHIM_IO_INTERNAL_H
#define MEDSHIM_IO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "os.h"

/* Text for an errno from these calls: strerror(), except that a full disk
 * (ENOSPC, EDQUOT) is said in words an operator acts on. */
const char *medshim__io_strerror(int err);

/* Write all of buf at the file's position; -1 with errno on failure (a short
 * write that cannot be completed is a failure). */
int medshim__io_write_all(int fd, const void *buf, size_t len);
/* pwrite all of buf at off. */
int medshim__io_pwrite_all(int fd, const void *buf, size_t len, int64_t off);
/* Read exactly len bytes at off: returns bytes read (< len only at EOF) or -1. */
long long medshim__io_pread_full(int fd, void *buf, size_t len, int64_t off);
int medshim__io_fdatasync(int fd);
int medshim__io_fsync(int fd);
/* fsync the directory itself, after creating, renaming or removing in it. */
int medshim__io_fsync_dir(const char *dir);

/* Files in a directory, by its descriptor (see safedir_internal.h for the
 * checks on the directory). -1 with errno on failure. */
int medshim__io_open_dir(const char *dir);
/* A new file, mode 0600, created exclusively (flags | CREATE | EXCL), never
 * through a symbolic link: an existing file or a planted link is never
 * opened. */
int medshim__io_create_at(int dfd, const char *name, unsigned flags);
/* An existing file, without following a symbolic link. */
int medshim__io_open_at(int dfd, const char *name, unsigned flags);
/* renameat within dfd (the directory is to be fsync'ed after it). */
int medshim__io_rename_at(int dfd, const char *from, const char *to);
int medshim__io_unlink_at(int dfd, const char *name);

/* The calls that bypassed the shim before it recorded (see the recorder). */
/* A directory, mode 0700. */
int medshim__io_mkdir(const char *path);
/* A file that flags may create (MEDSHIM__OS_CREATE), mode 0600. */
int medshim__io_open(const char *path, unsigned flags);
int medshim__io_truncate(int fd, int64_t len);
/* Allocate [off, off + len) of the file (posix_fallocate) and write its
 * zeros, growing it: later writes there change no file size and convert
 * no extent, so their fdatasync has no metadata to flush. -1 with errno
 * (ENOSPC: the disk is full). Recorded as a truncate to the new length
 * (the new bytes read as zeros). */
int medshim__io_allocate(int fd, int64_t off, int64_t len);

/* Fault injection for tests. kind: which call fails. after: how many calls
 * of that kind succeed first (0: the next one fails). err: the errno.
 * after < 0 disarms. The counters are process-wide. */
enum medshim__io_kind { MEDSHIM__IO_WRITE = 0, MEDSHIM__IO_SYNC = 1 };
void medshim__io_inject(enum medshim__io_kind kind, long after, int err);

/* Recorder for tests (crash-state exploration): when set, called after
 * every successful mutating call above with what it did, paths absolute
 * (descriptors resolved through /proc/self/fd, so Linux only). NULL by
 * default: then each call costs one atomic load. Writes are reported per
 * write(2) that succeeded, also the half of an injected torn write. The
 * event and what it points to are valid only during the call. Not
 * synchronised with calls in flight: set it while no other thread does
 * I/O through the shim. */
enum medshim__io_op {
  MEDSHIM__IO_OP_CREATE = 1, /* path: a new regular file */
  MEDSHIM__IO_OP_MKDIR,      /* path: a new directory */
  MEDSHIM__IO_OP_WRITE,      /* path: len bytes of data at off */
  MEDSHIM__IO_OP_FDATASYNC,  /* path: a file */
  MEDSHIM__IO_OP_FSYNC,      /* path: a file */
  MEDSHIM__IO_OP_FSYNC_DIR,  /* path: a directory (by path or descriptor) */
  MEDSHIM__IO_OP_RENAME,     /* path -> path2, replacing path2 */
  MEDSHIM__IO_OP_UNLINK,     /* path */
  MEDSHIM__IO_OP_TRUNCATE    /* path: new length in off */
};
typedef struct medshim__io_event {
  enum medshim__io_op op;
  const char *path;
  const char *path2; /* RENAME only */
  const void *data;  /* WRITE only */
  size_t len;
  uint64_t off;
} medshim__io_event;
typedef void (*medshim__io_recorder_fn)(const medshim__io_event *ev,
                                        void *payload);
void medshim__io_set_recorder(medshim__io_recorder_fn fn, void *payload);

#endif
