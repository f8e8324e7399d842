/* The checkpoint file: the last durable sequence and chain hash, MAC'ed, so
 * that verify notices records cut off the end of the journal. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errors_internal.h"
#include "io_internal.h"
#include "journal_checkpoint_internal.h"
#include "journal_crypto_internal.h"
#include "keyring_internal.h"

int medshim__checkpoint_write(const char *dir, const medshim__jkeys *k,
                              const medshim__jcheckpoint *ck,
                              medshim_error *err) {
  unsigned char buf[JF_CHECKPOINT_BYTES];
  memset(buf, 0, sizeof buf);
  memcpy(buf, JF_CHECKPOINT_MAGIC, 8);
  jf_put16(buf + 8, JF_VERSION);
  buf[10] = ck->flags; /* zero in checkpoints older than the flag */
  memcpy(buf + 16, k->id, JF_ID_BYTES);
  jf_put64(buf + 32, ck->segno);
  jf_put64(buf + 40, ck->seq);
  memcpy(buf + 48, ck->chain, JF_HASH_BYTES);
  if (medshim__hmac(k->suite, buf + JF_CHECKPOINT_BODY_BYTES, k->ckpt, buf,
                    JF_CHECKPOINT_BODY_BYTES) != 0)
    return medshim__error_set(err, MEDSHIM_ECRYPTO, JF_CHECKPOINT_NAME,
                              "cannot authenticate the checkpoint");
  return medshim__file_replace(dir, JF_CHECKPOINT_NAME, buf, sizeof buf, err);
}

int medshim__checkpoint_read(const char *dir, const medshim__jkeys *k,
                             medshim__jcheckpoint *ck) {
  unsigned char buf[JF_CHECKPOINT_BYTES + 1], mac[JF_HASH_BYTES];
  char *path = medshim__os_path_join(dir, JF_CHECKPOINT_NAME);
  long long n;
  int fd;
  if (path == NULL)
    return MEDSHIM__FAIL(MEDSHIM_ENOMEM);
  fd = medshim__os_open(path, MEDSHIM__OS_READ);
  free(path);
  if (fd < 0)
    return errno == ENOENT ? MEDSHIM_ENOTFOUND : MEDSHIM_EIO;
  n = medshim__io_pread_full(fd, buf, sizeof buf, 0);
  medshim__os_close(fd);
  if (n < 0)
    return MEDSHIM__FAIL(MEDSHIM_EIO);
  if (n != JF_CHECKPOINT_BYTES || memcmp(buf, JF_CHECKPOINT_MAGIC, 8) != 0 ||
      jf_get16(buf + 8) != JF_VERSION)
    return MEDSHIM__FAIL(MEDSHIM_ECORRUPT);
  if (medshim__hmac(k->suite, mac, k->ckpt, buf, JF_CHECKPOINT_BODY_BYTES) != 0 ||
      !medshim__ct_equal(mac, buf + JF_CHECKPOINT_BODY_BYTES, JF_HASH_BYTES) ||
      !medshim__ct_equal(buf + 16, k->id, JF_ID_BYTES))
    return MEDSHIM__FAIL(MEDSHIM_ECORRUPT);
  ck->segno = jf_get64(buf + 32);
  ck->seq = jf_get64(buf + 40);
  ck->flags = buf[10];
  memcpy(ck->chain, buf + 48, JF_HASH_BYTES);
  return MEDSHIM_OK;
}
