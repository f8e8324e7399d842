/* Directories the library creates files in (the journal's) or reads a key
 * from: refused when another local user could plant or replace files in
 * them, with a message that says how to fix it. */
#ifndef MEDSHIM_SAFEDIR_INTERNAL_H
#define MEDSHIM_SAFEDIR_INTERNAL_H

#include "medshim/errors.h"

enum medshim__dir_kind {
  MEDSHIM__DIR_JOURNAL = 0, /* must be the process's user's, mode go-w */
  MEDSHIM__DIR_KEY = 1      /* the user's or root's (/etc/his), mode go-w */
};

/* Open dir (O_DIRECTORY) into *dfd and check the directory that was
 * opened: its owner and its mode. MEDSHIM_OK, or *dfd = -1 and
 * MEDSHIM_EINVAL (journal directory) / MEDSHIM_EKEY (a key's) with err
 * saying how to fix it, MEDSHIM_ENOTFOUND / MEDSHIM_EIO when it cannot be
 * opened. */
int medshim__dir_open(const char *dir, enum medshim__dir_kind kind, int *dfd,
                      medshim_error *err);

/* Make way for a new temporary file `name` in dfd: a leftover of a crash
 * (a regular file of ours) is removed; anything else there (a symbolic
 * link, another user's file, a directory) is refused and left alone.
 * MEDSHIM_OK or MEDSHIM_EEXIST / MEDSHIM_EIO with err (dir names dfd). */
int medshim__remove_leftover(int dfd, const char *dir, const char *name,
                             medshim_error *err);

#endif
