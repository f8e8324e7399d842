/* The platform layer: every call the library makes to the operating system
 * goes through here (files, directories, locks, syncs, time, identity,
 * memory pages), so that a port implements this header and nothing else
 * (os_unix.c today; a Windows one beside it). Threads are pthreads, which
 * mingw-w64 provides as winpthreads.
 *
 * Conventions: a file is an int descriptor; failures return -1 (or NULL)
 * with errno set, as POSIX does, and the port maps its own codes to errno.
 * Files are opened close-on-exec and never through a symbolic link in
 * their last component. Paths may be of any length. Durable I/O with
 * fault injection and the test recorder is io_internal.h, on top of this. */
#ifndef MEDSHIM_OS_H
#define MEDSHIM_OS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* ---- files ---- */

enum medshim__os_open_flags {
  MEDSHIM__OS_READ = 0x0,   /* read only */
  MEDSHIM__OS_WRITE = 0x1,  /* write only */
  MEDSHIM__OS_RDWR = 0x2,   /* read and write */
  MEDSHIM__OS_CREATE = 0x4, /* create when missing (mode 0600) */
  MEDSHIM__OS_EXCL = 0x8,   /* with CREATE: fail when it exists */
  MEDSHIM__OS_APPEND = 0x10,
  MEDSHIM__OS_NONBLOCK = 0x20,
  MEDSHIM__OS_FOLLOW = 0x40 /* follow a symbolic link (a key file's) */
};

/* Open path (flags: medshim__os_open_flags). */
int medshim__os_open(const char *path, unsigned flags);
/* Open name relative to the directory descriptor dfd. */
int medshim__os_open_at(int dfd, const char *name, unsigned flags);
/* Open a directory, for *_at calls and fsync. */
int medshim__os_open_dir(const char *path);
int medshim__os_close(int fd);

/* One call each; the callers loop (see io_internal.h). */
long long medshim__os_write(int fd, const void *buf, size_t len);
long long medshim__os_pread(int fd, void *buf, size_t len, int64_t off);
long long medshim__os_pwrite(int fd, const void *buf, size_t len, int64_t off);
/* Current position (for the recorder of appending writes). */
int64_t medshim__os_tell(int fd);

int medshim__os_fdatasync(int fd);
int medshim__os_fsync(int fd);
int medshim__os_truncate(int fd, int64_t len);
/* Permissions exactly owner read/write (a umask may have narrowed them). */
int medshim__os_make_private(int fd);
/* Allocate [off, off + len), growing the file, and write its zeros. */
int medshim__os_allocate(int fd, int64_t off, int64_t len);

int medshim__os_rename_at(int dfd, const char *from, const char *to);
int medshim__os_unlink_at(int dfd, const char *name);
int medshim__os_mkdir(const char *path);           /* mode 0700 */
/* rename(2) and unlink(2) of whole paths (the simulator's files). */
int medshim__os_rename(const char *from, const char *to);
int medshim__os_unlink(const char *path);
/* Remove a file, or a directory when it is empty. */
int medshim__os_remove(const char *path);

/* What the library needs to know of a file. */
typedef struct medshim__os_finfo {
  int64_t size;
  int is_reg, is_dir, is_link;
  unsigned perm;       /* permission bits (07777) */
  unsigned long owner; /* user id */
} medshim__os_finfo;
int medshim__os_fstat(int fd, medshim__os_finfo *st);
/* name relative to dfd, not following a link */
int medshim__os_stat_at(int dfd, const char *name, medshim__os_finfo *st);
/* path, not following a link in its last component */
int medshim__os_lstat(const char *path, medshim__os_finfo *st);
/* path, following links */
int medshim__os_stat(const char *path, medshim__os_finfo *st);
/* perm bits that let group or others write */
#define MEDSHIM__OS_PERM_GROUP_OTHER_WRITE 0022u

/* The path behind a descriptor (malloc'ed), or NULL (the test recorder). */
char *medshim__os_fd_path(int fd);

/* Each entry of directory path but "." and "..": fn(name, payload); a
 * non-zero return stops the walk and is returned. -1 with errno when the
 * directory cannot be read. */
int medshim__os_list_dir(const char *path,
                         int (*fn)(const char *name, void *payload),
                         void *payload);

/* ---- locks ---- */

/* An exclusive lock on the whole file behind fd, held until the descriptor
 * is closed. wait 0: fail at once with errno EWOULDBLOCK when another
 * holds it. */
int medshim__os_lock(int fd, int wait);

/* ---- paths ---- */

/* dir + "/" + name, malloc'ed (NULL when out of memory). */
char *medshim__os_path_join(const char *dir, const char *name);
/* The directory part of path ("." when none), malloc'ed. */
char *medshim__os_dirname(const char *path);
/* The last component of path (points into path). */
const char *medshim__os_basename(const char *path);

/* ---- time ---- */

int64_t medshim__os_mono_ns(void); /* monotonic clock */
int64_t medshim__os_wall_s(void);  /* seconds since 1970, UTC */
int64_t medshim__os_wall_ms(void); /* milliseconds since 1970, UTC */
void medshim__os_sleep_ns(int64_t ns);
/* Broken-down UTC time of t; NULL when t is out of range. */
struct tm *medshim__os_utc(int64_t t, struct tm *out);
/* Seconds since 1970 of a broken-down UTC time, normalising out-of-range
 * fields (24:00 is the next day's 00:00); -1 on failure. */
int64_t medshim__os_timegm(struct tm *tm);

/* ---- identity ---- */

unsigned long medshim__os_user(void); /* the effective user */
unsigned long medshim__os_pid(void);  /* this process */

/* ---- memory for keys ---- */

/* len bytes of fresh zeroed pages, kept out of core dumps and locked in RAM
 * where the system allows; NULL when out of memory. */
void *medshim__os_pages_alloc(size_t len);
void medshim__os_pages_free(void *p, size_t len);
size_t medshim__os_page_size(void);

#endif
