/* Checked directories and leftover temporary files (see the header). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors_internal.h"
#include "io_internal.h"
#include "safedir_internal.h"

int medshim__dir_open(const char *dir, enum medshim__dir_kind kind, int *out,
                      medshim_error *err) {
  int key = kind == MEDSHIM__DIR_KEY, bad = key ? MEDSHIM_EKEY : MEDSHIM_EINVAL;
  const char *what = key ? "the key file's directory" : "journal directory";
  uid_t me = geteuid();
  struct stat st;
  int dfd = medshim__io_open_dir(dir), rc;

  *out = -1;
  if (dfd < 0) {
    int saved = errno;
    return medshim__error_set(err, saved == ENOENT    ? MEDSHIM_ENOTFOUND
                                   : saved == ENOTDIR ? MEDSHIM_EINVAL
                                                      : MEDSHIM_EIO,
                              dir, "cannot open %s %s: %s", what, dir,
                              strerror(saved));
  }
  /* The directory opened, not the path: a swap after the check changes
   * nothing, every file is then made relative to this descriptor. */
  if (fstat(dfd, &st) != 0) {
    rc = medshim__error_set(err, MEDSHIM_EIO, dir, "cannot stat %s: %s", dir,
                            strerror(errno));
    goto refused;
  }
  if (st.st_uid != me && !(key && st.st_uid == 0)) {
    rc = medshim__error_set(err, bad, dir,
                       "%s %s belongs to user %u, not to this process's user "
                       "%u, who could then not keep others from replacing "
                       "its files: chown %u %s (or run as its owner)",
                       what, dir, (unsigned)st.st_uid, (unsigned)me,
                       (unsigned)me, dir);
    goto refused;
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    rc = medshim__error_set(err, bad, dir,
                       "%s %s is writable by group or others (mode %04o): "
                       "another local user could plant or replace files in "
                       "it: chmod %s %s",
                       what, dir, (unsigned)(st.st_mode & 07777),
                       key ? "go-w" : "700", dir);
    goto refused;
  }
  *out = dfd;
  return MEDSHIM_OK;
refused:
  close(dfd);
  return rc;
}

int medshim__remove_leftover(int dfd, const char *dir, const char *name,
                             medshim_error *err) {
  struct stat st;
  if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT)
      return MEDSHIM_OK;
    return medshim__error_set(err, MEDSHIM_EIO, name, "cannot stat %s/%s: %s",
                              dir, name, strerror(errno));
  }
  if (!S_ISREG(st.st_mode) || st.st_uid != geteuid())
    return medshim__error_set(err, MEDSHIM_EEXIST, name,
                              "%s/%s is not a temporary file left by a crash "
                              "(it is %s): refusing to touch it; find out who "
                              "put it there, then remove it",
                              dir, name,
                              S_ISLNK(st.st_mode) ? "a symbolic link"
                              : !S_ISREG(st.st_mode)
                                  ? "not a regular file"
                                  : "another user's file");
  if (medshim__io_unlink_at(dfd, name) != 0 && errno != ENOENT)
    return medshim__error_set(err, MEDSHIM_EIO, name,
                              "cannot remove the leftover %s/%s: %s", dir,
                              name, strerror(errno));
  return MEDSHIM_OK;
}

void medshim__path_split(const char *path, char *dir, size_t dir_size,
                         const char **base) {
  const char *slash = strrchr(path, '/');
  if (slash == NULL) {
    medshim__fmt(dir, dir_size, ".");
    *base = path;
  } else if (slash == path) {
    medshim__fmt(dir, dir_size, "/");
    *base = slash + 1;
  } else {
    medshim__fmt(dir, dir_size, "%.*s", (int)(slash - path), path);
    *base = slash + 1;
  }
}
