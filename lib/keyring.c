/* Wrapping the journal's data key. Records are encrypted under keys derived
 * from the data key, so replacing the key-encryption key rewrites only this
 * small file (medshim rekey). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors_internal.h"
#include "io_internal.h"
#include "journal_crypto_internal.h"
#include "keyring_internal.h"
#include "memory_internal.h"
#include "safedir_internal.h"

int medshim__file_replace(const char *dir, const char *name,
                          const unsigned char *data, size_t len,
                          medshim_error *err) {
  char tmp[256];
  int dfd, fd = -1, created = 0, rc = MEDSHIM_OK;

  medshim__fmt(tmp, sizeof tmp, "%s.tmp", name);
  if ((rc = medshim__dir_open(dir, MEDSHIM__DIR_JOURNAL, &dfd, err)) !=
      MEDSHIM_OK)
    return rc;
  /* Never through a link planted at the temporary name, never over a file
   * that is not a crash's leftover of ours. */
  if ((rc = medshim__remove_leftover(dfd, dir, tmp, err)) != MEDSHIM_OK)
    goto cleanup;
  fd = medshim__io_create_at(dfd, tmp, MEDSHIM__OS_WRITE);
  if (fd < 0) {
    rc = medshim__error_set(err, MEDSHIM_EIO, name, "cannot create %s/%s: %s",
                            dir, tmp, medshim__io_strerror(errno));
    goto cleanup;
  }
  created = 1;
  if (medshim__io_write_all(fd, data, len) != 0 || medshim__io_fsync(fd) != 0) {
    rc = medshim__error_set(err, MEDSHIM_EIO, name, "cannot write %s/%s: %s",
                            dir, tmp, medshim__io_strerror(errno));
    goto cleanup;
  }
  if (medshim__os_close(fd) != 0) {
    fd = -1;
    rc = medshim__error_set(err, MEDSHIM_EIO, name, "cannot write %s/%s: %s",
                            dir, tmp, medshim__io_strerror(errno));
    goto cleanup;
  }
  fd = -1;
  /* rename replaces a link at `name` itself, never what it points to */
  if (medshim__io_rename_at(dfd, tmp, name) != 0) {
    rc = medshim__error_set(err, MEDSHIM_EIO, name, "cannot replace %s/%s: %s",
                            dir, name, medshim__io_strerror(errno));
    goto cleanup;
  }
  created = 0;
  if (medshim__io_fsync(dfd) != 0)
    rc = medshim__error_set(err, MEDSHIM_EIO, name,
                            "cannot sync directory %s: %s", dir,
                            medshim__io_strerror(errno));
cleanup:
  if (fd >= 0)
    medshim__os_close(fd);
  if (created)
    (void)medshim__io_unlink_at(dfd, tmp);
  medshim__os_close(dfd);
  return rc;
}

/* The key that wraps the data key: the KEK itself in format 1 (the default
 * suite, unchanged), else derived from the KEK with the suite's HKDF, salt
 * the journal id: the record key layout of the suite (a cipher key and a
 * MAC key). */
static int wrap_key(unsigned char out[JF_RECKEY_MAX],
                    const medshim__jsuite *suite, const unsigned char kek[32],
                    const unsigned char journal_id[JF_ID_BYTES]) {
  if (suite->kek_wraps) {
    memcpy(out, kek, 32);
    return 0;
  }
  return medshim__hkdf(suite, out, suite->reckey_len, kek, journal_id,
                       JF_ID_BYTES, "medshim keyring wrap", NULL, 0);
}

int medshim__keyring_write(const char *dir, const medshim__jsuite *suite,
                           const unsigned char kek[32],
                           const unsigned char dk[32],
                           const unsigned char journal_id[JF_ID_BYTES],
                           medshim_error *err) {
  unsigned char buf[JF_KEYRING_BYTES];
  unsigned char wk[JF_RECKEY_MAX];
  medshim__jcrypto *c = NULL;
  int rc;

  memset(buf, 0, sizeof buf);
  memcpy(buf, JF_KEYRING_MAGIC, 8);
  jf_put16(buf + 8, suite->keyring_version);
  jf_put32(buf + 12, suite->keyring_alg);
  memcpy(buf + 16, journal_id, JF_ID_BYTES);
  c = medshim__jcrypto_new(suite);
  /* A random nonce per wrap: the KEK wraps only a handful of keys ever. */
  if (c == NULL || wrap_key(wk, suite, kek, journal_id) != 0 ||
      medshim__random(buf + 32, JF_NONCE_BYTES) != 0 ||
      medshim__jcrypto_seal(c, wk, buf + 32, buf, JF_KEYRING_AAD_BYTES, dk,
                            32, buf + 32 + JF_NONCE_BYTES,
                            buf + 32 + JF_NONCE_BYTES + 32) != 0) {
    rc = medshim__error_set(err, MEDSHIM_ECRYPTO, JF_KEYRING_NAME,
                            "cannot wrap the data key");
    goto cleanup;
  }
  rc = medshim__file_replace(dir, JF_KEYRING_NAME, buf, sizeof buf, err);
cleanup:
  medshim__wipe(wk, sizeof wk);
  medshim__jcrypto_free(c);
  return rc;
}

int medshim__keyring_create(const char *dir, const medshim__jsuite *suite,
                            const unsigned char kek[32],
                            unsigned char dk[32],
                            unsigned char journal_id[JF_ID_BYTES],
                            medshim_error *err) {
  if (medshim__random(dk, 32) != 0 ||
      medshim__random(journal_id, JF_ID_BYTES) != 0)
    return medshim__error_set(err, MEDSHIM_ECRYPTO, JF_KEYRING_NAME,
                              "random number generator failed");
  return medshim__keyring_write(dir, suite, kek, dk, journal_id, err);
}

int medshim__keyring_open(const char *dir, const unsigned char kek[32],
                          unsigned char dk[32],
                          unsigned char journal_id[JF_ID_BYTES],
                          const medshim__jsuite **suite, medshim_error *err) {
  unsigned char buf[JF_KEYRING_BYTES + 1];
  unsigned char wk[JF_RECKEY_MAX];
  const medshim__jsuite *s;
  char *path = medshim__os_path_join(dir, JF_KEYRING_NAME);
  medshim__jcrypto *c = NULL;
  long long n;
  int fd, rc = MEDSHIM_OK, saved;

  if (path == NULL)
    return medshim__error_set(err, MEDSHIM_ENOMEM, JF_KEYRING_NAME,
                              "out of memory");
  fd = medshim__os_open(path, MEDSHIM__OS_READ);
  if (fd < 0) {
    saved = errno;
    rc = saved == ENOENT
             ? medshim__error_set(err, MEDSHIM_ENOTFOUND, JF_KEYRING_NAME,
                                  "no journal in %s (keyring missing)", dir)
             : medshim__error_set(err, MEDSHIM_EIO, JF_KEYRING_NAME,
                                  "cannot open %s: %s", path,
                                  strerror(saved));
    free(path);
    return rc;
  }
  n = medshim__io_pread_full(fd, buf, sizeof buf, 0);
  saved = errno;
  medshim__os_close(fd);
  if (n < 0) {
    rc = medshim__error_set(err, MEDSHIM_EIO, JF_KEYRING_NAME,
                            "cannot read %s: %s", path, strerror(saved));
    free(path);
    return rc;
  }
  if (n != JF_KEYRING_BYTES || memcmp(buf, JF_KEYRING_MAGIC, 8) != 0) {
    rc = medshim__error_set(err, MEDSHIM_ECORRUPT, JF_KEYRING_NAME,
                            "%s is not a medshim keyring", path);
    free(path);
    return rc;
  }
  free(path);
  s = medshim__jsuite_of_keyring(jf_get16(buf + 8), jf_get32(buf + 12));
  if (s == NULL)
    return medshim__error_set(err, MEDSHIM_EFORMAT, JF_KEYRING_NAME,
                              "keyring format version %u (algorithm %u) is "
                              "not supported", (unsigned)jf_get16(buf + 8),
                              (unsigned)jf_get32(buf + 12));
  c = medshim__jcrypto_new(s);
  if (c == NULL)
    return medshim__error_set(err, MEDSHIM_ENOMEM, JF_KEYRING_NAME,
                              "cannot set up the %s cipher", s->name);
  /* the journal id is in the AAD: a wrap key derived from an altered id
   * fails like a wrong KEK */
  if (wrap_key(wk, s, kek, buf + 16) != 0) {
    rc = medshim__error_set(err, MEDSHIM_ECRYPTO, JF_KEYRING_NAME,
                            "key derivation failed");
    goto cleanup;
  }
  if (medshim__jcrypto_open(c, wk, buf + 32, buf, JF_KEYRING_AAD_BYTES,
                            buf + 32 + JF_NONCE_BYTES, 32,
                            buf + 32 + JF_NONCE_BYTES + 32, dk) != 0) {
    rc = medshim__error_set(err, MEDSHIM_EKEY, JF_KEYRING_NAME,
                            "wrong key: it does not unlock this journal's "
                            "keyring (or the keyring was altered)");
    goto cleanup;
  }
  memcpy(journal_id, buf + 16, JF_ID_BYTES);
  *suite = s;
cleanup:
  medshim__wipe(wk, sizeof wk);
  medshim__jcrypto_free(c);
  return rc;
}
