/* Key files: 32 random bytes, mode 0600, never overwritten. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errors_internal.h"
#include "io_internal.h"
#include "journal_crypto_internal.h"
#include "keyfile_internal.h"
#include "memory_internal.h"
#include "safedir_internal.h"

int medshim_key_generate(const char *path, medshim_error *err) {
  unsigned char key[MEDSHIM_KEY_BYTES];
  char *dir;
  const char *base;
  int dfd = -1, fd = -1, created = 0, rc;

  if (path == NULL || *path == '\0')
    return medshim__error_set(err, MEDSHIM_EINVAL, "path", "is required");
  if ((dir = medshim__os_dirname(path)) == NULL)
    return medshim__error_set(err, MEDSHIM_ENOMEM, "path", "out of memory");
  base = medshim__os_basename(path);
  if ((rc = medshim__dir_open(dir, MEDSHIM__DIR_KEY, &dfd, err)) != MEDSHIM_OK) {
    free(dir);
    return rc;
  }
  /* O_EXCL | O_NOFOLLOW: never over an existing key, never through a link */
  fd = medshim__io_create_at(dfd, base, MEDSHIM__OS_WRITE);
  if (fd < 0) {
    if (errno == EEXIST)
      rc = medshim__error_set(err, MEDSHIM_EEXIST, path,
                              "already exists; refusing to overwrite a key");
    else
      rc = medshim__error_set(err, MEDSHIM_EIO, path, "cannot create: %s",
                              medshim__io_strerror(errno));
    goto cleanup;
  }
  created = 1;
  if (medshim__random(key, sizeof key) != 0) {
    rc = medshim__error_set(err, MEDSHIM_ECRYPTO, path,
                            "random number generator failed");
    goto cleanup;
  }
  /* The umask may have narrowed 0600 but never widens it; make it exact. */
  if (medshim__os_make_private(fd) != 0 ||
      medshim__io_write_all(fd, key, sizeof key) != 0 ||
      medshim__io_fsync(fd) != 0) {
    rc = medshim__error_set(err, MEDSHIM_EIO, path, "cannot write: %s",
                            medshim__io_strerror(errno));
    goto cleanup;
  }
  if (medshim__os_close(fd) != 0) {
    fd = -1;
    rc = medshim__error_set(err, MEDSHIM_EIO, path, "cannot close: %s",
                            medshim__io_strerror(errno));
    goto cleanup;
  }
  fd = -1;
  if (medshim__io_fsync(dfd) != 0) {
    rc = medshim__error_set(err, MEDSHIM_EIO, dir, "cannot sync directory: %s",
                            medshim__io_strerror(errno));
    goto cleanup;
  }
  created = 0;
cleanup:
  medshim__wipe(key, sizeof key);
  if (fd >= 0)
    medshim__os_close(fd);
  if (created)
    (void)medshim__io_unlink_at(dfd, base);
  medshim__os_close(dfd);
  free(dir);
  return rc;
}

/* The key file: in a directory no other user can write to (else they could
 * swap in a key of theirs, and a journal created with it would be theirs
 * to read), owned by this user or root, readable by nobody else. */
static int load_key_file(unsigned char kek[MEDSHIM_KEY_BYTES], const char *path,
                         medshim_error *err) {
  medshim__os_finfo st;
  unsigned char text[MEDSHIM_KEY_FN2_CAP];
  char *dir;
  const char *base;
  long long n;
  int dfd = -1, fd = -1, rc;

  if ((dir = medshim__os_dirname(path)) == NULL)
    return medshim__error_set(err, MEDSHIM_ENOMEM, path, "out of memory");
  base = medshim__os_basename(path);
  if ((rc = medshim__dir_open(dir, MEDSHIM__DIR_KEY, &dfd, err)) != MEDSHIM_OK) {
    if (rc != MEDSHIM_EKEY) { /* cannot open it: a key problem all the same */
      char why[MEDSHIM_ERROR_TEXT_MAX];
      medshim__fmt(why, sizeof why, "%s", err != NULL ? err->text : "");
      rc = medshim__error_set(err, MEDSHIM_EKEY, path,
                              "cannot open key file: %s", why);
    }
    goto cleanup;
  }
  /* A link the owner made (a secrets mount) is followed: the file reached
   * is checked below. */
  fd = medshim__os_open_at(dfd, base, MEDSHIM__OS_READ | MEDSHIM__OS_FOLLOW);
  if (fd < 0) {
    rc = medshim__error_set(err, MEDSHIM_EKEY, path,
                            "cannot open key file: %s", strerror(errno));
    goto cleanup;
  }
  if (medshim__os_fstat(fd, &st) != 0 || !st.is_reg) {
    rc = medshim__error_set(err, MEDSHIM_EKEY, path,
                            "key file is not a regular file");
    goto cleanup;
  }
  if (st.owner != medshim__os_user() && st.owner != 0) {
    rc = medshim__error_set(err, MEDSHIM_EKEY, path,
                            "key file belongs to user %lu, neither this "
                            "process's user %lu nor root: chown %lu %s",
                            st.owner, medshim__os_user(), medshim__os_user(),
                            path);
    goto cleanup;
  }
  if ((st.perm & 0077) != 0) {
    rc = medshim__error_set(err, MEDSHIM_EKEY, path,
                            "key file is readable by group or others "
                            "(mode %03o); chmod 600 it",
                            st.perm & 0777);
    goto cleanup;
  }
  /* the raw bytes, or their hex or base64 text (what secret stores hold) */
  n = medshim__io_pread_full(fd, text, sizeof text, 0);
  if (n == MEDSHIM_KEY_BYTES)
    memcpy(kek, text, MEDSHIM_KEY_BYTES);
  else if (n <= 0 || n >= (long long)sizeof text ||
           medshim__key_from_text(kek, (const char *)text, (size_t)n) != 0) {
    rc = medshim__error_set(err, MEDSHIM_EKEY, path,
                            "key file must hold exactly %d bytes, or their "
                            "hex or base64 text",
                            MEDSHIM_KEY_BYTES);
    goto cleanup;
  }
cleanup:
  medshim__wipe(text, sizeof text);
  if (rc != MEDSHIM_OK)
    medshim__wipe(kek, MEDSHIM_KEY_BYTES);
  if (fd >= 0)
    medshim__os_close(fd);
  if (dfd >= 0)
    medshim__os_close(dfd);
  free(dir);
  return rc;
}

int medshim__journal_opts_version_ok(const medshim_journal_options *opts) {
  return opts != NULL && (opts->version == 1 ||
                          opts->version == MEDSHIM_JOURNAL_OPTIONS_VERSION);
}

/* key_fn2: the key as the store holds it, raw or as text, with a length. */
static int key_from_fn2(unsigned char kek[MEDSHIM_KEY_BYTES],
                        const medshim_journal_options *opts, medshim_error *err) {
  unsigned char buf[MEDSHIM_KEY_FN2_CAP];
  size_t len = 0;
  int rc = MEDSHIM_OK;
  if (opts->key_fn2(buf, sizeof buf, &len, opts->key_payload) != 0)
    rc = medshim__error_set(err, MEDSHIM_EKEY, "key_fn2", "the key callback failed");
  else if (len == MEDSHIM_KEY_BYTES)
    memcpy(kek, buf, MEDSHIM_KEY_BYTES);
  else if (len > sizeof buf ||
           medshim__key_from_text(kek, (const char *)buf, len) != 0)
    rc = medshim__error_set(err, MEDSHIM_EKEY, "key_fn2",
                            "the callback gave %zu bytes: neither %d raw bytes "
                            "nor their hex or base64 text",
                            len, MEDSHIM_KEY_BYTES);
  medshim__wipe(buf, sizeof buf);
  if (rc != MEDSHIM_OK)
    medshim__wipe(kek, MEDSHIM_KEY_BYTES);
  return rc;
}

int medshim__kek_obtain(unsigned char kek[MEDSHIM_KEY_BYTES],
                        const medshim_journal_options *opts,
                        medshim_error *err) {
  if (opts != NULL && opts->key_file != NULL)
    return load_key_file(kek, opts->key_file, err);
  if (opts != NULL && opts->key_fn != NULL) {
    if (opts->key_fn(kek, opts->key_payload) != 0) {
      medshim__wipe(kek, MEDSHIM_KEY_BYTES);
      return medshim__error_set(err, MEDSHIM_EKEY, "key_fn",
                                "the key callback failed");
    }
    return MEDSHIM_OK;
  }
  /* version 1 options end before key_fn2: never read past them */
  if (opts != NULL && opts->version >= 2 && opts->key_fn2 != NULL)
    return key_from_fn2(kek, opts, err);
  return medshim__error_set(err, MEDSHIM_EKEY, "key",
                            "no key: set key_file, key_fn or key_fn2");
}
