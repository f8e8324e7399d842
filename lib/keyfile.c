/* Key files: 32 random bytes, mode 0600, never overwritten. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors_internal.h"
#include "io_internal.h"
#include "journal_crypto_internal.h"
#include "keyfile_internal.h"
#include "memory_internal.h"

/* Directory part of path, for the directory fsync after creating a file. */
static void dir_of(char *out, size_t size, const char *path) {
  char *copy = strdup(path);
  if (copy == NULL) {
    medshim__fmt(out, size, ".");
    return;
  }
  medshim__fmt(out, size, "%s", dirname(copy));
  free(copy);
}

int medshim_key_generate(const char *path, medshim_error *err) {
  unsigned char key[MEDSHIM_KEY_BYTES];
  char dir[4096];
  int fd = -1, rc;

  if (path == NULL || *path == '\0')
    return medshim__error_set(err, MEDSHIM_EINVAL, "path", "is required");
  fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST)
      return medshim__error_set(err, MEDSHIM_EEXIST, path,
                                "already exists; refusing to overwrite a key");
    return medshim__error_set(err, MEDSHIM_EIO, path, "cannot create: %s",
                              strerror(errno));
  }
  if (medshim__random(key, sizeof key) != 0) {
    rc = medshim__error_set(err, MEDSHIM_ECRYPTO, path,
                            "random number generator failed");
    goto fail;
  }
  /* The umask may have narrowed 0600 but never widens it; make it exact. */
  if (fchmod(fd, 0600) != 0 || medshim__io_write_all(fd, key, sizeof key) != 0 ||
      medshim__io_fsync(fd) != 0) {
    rc = medshim__error_set(err, MEDSHIM_EIO, path, "cannot write: %s",
                            strerror(errno));
    goto fail;
  }
  medshim__wipe(key, sizeof key);
  if (close(fd) != 0) {
    fd = -1;
    rc = medshim__error_set(err, MEDSHIM_EIO, path, "cannot close: %s",
                            strerror(errno));
    goto fail;
  }
  fd = -1;
  dir_of(dir, sizeof dir, path);
  if (medshim__io_fsync_dir(dir) != 0) {
    rc = medshim__error_set(err, MEDSHIM_EIO, dir, "cannot sync directory: %s",
                            strerror(errno));
    goto fail;
  }
  return MEDSHIM_OK;
fail:
  medshim__wipe(key, sizeof key);
  if (fd >= 0)
    close(fd);
  (void)unlink(path);
  return rc;
}

static int load_key_file(unsigned char kek[MEDSHIM_KEY_BYTES], const char *path,
                         medshim_error *err) {
  struct stat st;
  unsigned char extra;
  ssize_t n;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  int rc = MEDSHIM_OK;

  if (fd < 0)
    return medshim__error_set(err, MEDSHIM_EKEY, path,
                              "cannot open key file: %s", strerror(errno));
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    rc = medshim__error_set(err, MEDSHIM_EKEY, path,
                            "key file is not a regular file");
    goto cleanup;
  }
  if ((st.st_mode & 0077) != 0) {
    rc = medshim__error_set(err, MEDSHIM_EKEY, path,
                            "key file is readable by group or others "
                            "(mode %03o); chmod 600 it",
                            (unsigned)(st.st_mode & 0777));
    goto cleanup;
  }
  n = medshim__io_pread_full(fd, kek, MEDSHIM_KEY_BYTES, 0);
  if (n != MEDSHIM_KEY_BYTES ||
      medshim__io_pread_full(fd, &extra, 1, MEDSHIM_KEY_BYTES) != 0) {
    rc = medshim__error_set(err, MEDSHIM_EKEY, path,
                            "key file must hold exactly %d bytes",
                            MEDSHIM_KEY_BYTES);
    goto cleanup;
  }
cleanup:
  if (rc != MEDSHIM_OK)
    medshim__wipe(kek, MEDSHIM_KEY_BYTES);
  close(fd);
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
  return medshim__error_set(err, MEDSHIM_EKEY, "key",
                            "no key: set key_file or key_fn");
}
