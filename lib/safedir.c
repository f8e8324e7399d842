/* Checked directories and leftover temporary files (see the header). */
#include <errno.h>
#include <string.h>

#include "errors_internal.h"
#include "io_internal.h"
#include "safedir_internal.h"

int medshim__dir_open(const char *dir, enum medshim__dir_kind kind, int *out,
                      medshim_error *err) {
  int key = kind == MEDSHIM__DIR_KEY, bad = key ? MEDSHIM_EKEY : MEDSHIM_EINVAL;
  const char *what = key ? "the key file's directory" : "journal directory";
  unsigned long me = medshim__os_user();
  medshim__os_finfo st;
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
  if (medshim__os_fstat(dfd, &st) != 0) {
    rc = medshim__error_set(err, MEDSHIM_EIO, dir, "cannot stat %s: %s", dir,
                            strerror(errno));
    goto refused;
  }
  if (st.owner != me && !(key && st.owner == 0)) {
    rc = medshim__error_set(err, bad, dir,
                       "%s %s belongs to user %lu, not to this process's user "
                       "%lu, who could then not keep others from replacing "
                       "its files: chown %lu %s (or run as its owner)",
                       what, dir, st.owner, me, me, dir);
    goto refused;
  }
  if ((st.perm & MEDSHIM__OS_PERM_GROUP_OTHER_WRITE) != 0) {
    rc = medshim__error_set(err, bad, dir,
                       "%s %s is writable by group or others (mode %04o): "
                       "another local user could plant or replace files in "
                       "it: chmod %s %s",
                       what, dir, st.perm,
                       key ? "go-w" : "700", dir);
    goto refused;
  }
  *out = dfd;
  return MEDSHIM_OK;
refused:
  medshim__os_close(dfd);
  return rc;
}

int medshim__remove_leftover(int dfd, const char *dir, const char *name,
                             medshim_error *err) {
  medshim__os_finfo st;
  if (medshim__os_stat_at(dfd, name, &st) != 0) {
    if (errno == ENOENT)
      return MEDSHIM_OK;
    return medshim__error_set(err, MEDSHIM_EIO, name, "cannot stat %s/%s: %s",
                              dir, name, strerror(errno));
  }
  if (!st.is_reg || st.owner != medshim__os_user())
    return medshim__error_set(err, MEDSHIM_EEXIST, name,
                              "%s/%s is not a temporary file left by a crash "
                              "(it is %s): refusing to touch it; find out who "
                              "put it there, then remove it",
                              dir, name,
                              st.is_link ? "a symbolic link"
                              : !st.is_reg
                                  ? "not a regular file"
                                  : "another user's file");
  if (medshim__io_unlink_at(dfd, name) != 0 && errno != ENOENT)
    return medshim__error_set(err, MEDSHIM_EIO, name,
                              "cannot remove the leftover %s/%s: %s", dir,
                              name, strerror(errno));
  return MEDSHIM_OK;
}
