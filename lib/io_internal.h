/* Every write and sync of the journal goes through here, so that tests can
 * inject ENOSPC/EIO at the Nth call without LD_PRELOAD (which fights ASan). */
#ifndef MEDSHIM_IO_INTERNAL_H
#define MEDSHIM_IO_INTERNAL_H

#include <stddef.h>
#include <sys/types.h>

/* Text for an errno from these calls: strerror(), except that a full disk
 * (ENOSPC, EDQUOT) is said in words an operator acts on. */
const char *medshim__io_strerror(int err);

/* Write all of buf at the file's position; -1 with errno on failure (a short
 * write that cannot be completed is a failure). */
int medshim__io_write_all(int fd, const void *buf, size_t len);
/* pwrite all of buf at off. */
int medshim__io_pwrite_all(int fd, const void *buf, size_t len, off_t off);
/* Read exactly len bytes at off: returns bytes read (< len only at EOF) or -1. */
ssize_t medshim__io_pread_full(int fd, void *buf, size_t len, off_t off);
int medshim__io_fdatasync(int fd);
int medshim__io_fsync(int fd);
/* fsync the directory itself, after creating, renaming or removing in it. */
int medshim__io_fsync_dir(const char *dir);

/* Files in a directory, by its descriptor (see safedir_internal.h for the
 * checks on the directory). -1 with errno on failure. */
int medshim__io_open_dir(const char *dir);
/* A new file, mode 0600: O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | flags,
 * so an existing file or a planted symbolic link is never opened. */
int medshim__io_create_at(int dfd, const char *name, int flags);
/* An existing file, without following a symbolic link. */
int medshim__io_open_at(int dfd, const char *name, int flags);
/* renameat within dfd (the directory is to be fsync'ed after it). */
int medshim__io_rename_at(int dfd, const char *from, const char *to);
int medshim__io_unlink_at(int dfd, const char *name);

/* Fault injection for tests. kind: which call fails. after: how many calls
 * of that kind succeed first (0: the next one fails). err: the errno.
 * after < 0 disarms. The counters are process-wide. */
enum medshim__io_kind { MEDSHIM__IO_WRITE = 0, MEDSHIM__IO_SYNC = 1 };
void medshim__io_inject(enum medshim__io_kind kind, long after, int err);

#endif
