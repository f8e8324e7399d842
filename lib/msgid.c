/* msgid allocation. The file DIR/msgid.seq holds "SECOND NEXT\n": every
 * sequence below NEXT of SECOND, and every sequence of an earlier second,
 * may have been handed out. A process reserves a block under flock, makes
 * the new high-water mark durable, and only then hands out its sequences,
 * so neither a second process nor a restart after a crash can repeat one. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errors_internal.h"
#include "io_internal.h"
#include "msgid_internal.h"

#define MSGID_FILE "msgid.seq"
#define CST_OFFSET (8 * 3600)

int medshim__msgids_init(medshim__msgids *m, const char *dir,
                         const char *institution) {
  memset(m, 0, sizeof *m);
  if (dir == NULL || institution == NULL ||
      strlen(institution) != MEDSHIM_INSTITUTION_LEN)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  for (size_t i = 0; i < MEDSHIM_INSTITUTION_LEN; i++)
    if (institution[i] < 0x21 || institution[i] > 0x7e)
      return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  memcpy(m->institution, institution, MEDSHIM_INSTITUTION_LEN + 1);
  m->path = medshim__os_path_join(dir, MSGID_FILE);
  m->dir = strdup(dir);
  if (m->path == NULL || m->dir == NULL) {
    medshim__msgids_free(m);
    return MEDSHIM__FAIL(MEDSHIM_ENOMEM);
  }
  pthread_mutex_init(&m->mu, NULL);
  return MEDSHIM_OK;
}

void medshim__msgids_free(medshim__msgids *m) {
  if (m->path != NULL)
    pthread_mutex_destroy(&m->mu);
  free(m->path);
  free(m->dir);
  m->path = m->dir = NULL;
}

/* Reserve a block for `now` (or the first second after the high-water
 * mark when the clock is behind it or its second is used up). */
static int reserve(medshim__msgids *m, int64_t now) {
  char text[64];
  long long second = 0, next = 0;
  int64_t s;
  uint32_t start;
  long long got;
  int fd, created = 0, rc = MEDSHIM_EIO, len;

  fd = medshim__os_open(m->path, MEDSHIM__OS_RDWR);
  if (fd < 0 && errno == ENOENT) {
    fd = medshim__io_open(m->path, MEDSHIM__OS_RDWR | MEDSHIM__OS_CREATE |
                                       MEDSHIM__OS_EXCL);
    created = fd >= 0;
    if (fd < 0 && errno == EEXIST) /* another process made it first */
      fd = medshim__os_open(m->path, MEDSHIM__OS_RDWR);
  }
  if (fd < 0)
    return MEDSHIM__FAIL(MEDSHIM_EIO);
  if (medshim__os_lock(fd, 1) != 0)
    goto cleanup;
  got = medshim__io_pread_full(fd, text, sizeof text - 1, 0);
  if (got < 0)
    goto cleanup;
  text[got] = '\0';
  if (got > 0 && (sscanf(text, "%lld %lld", &second, &next) != 2 ||
                  second < 0 || next < 0 || next > MEDSHIM__MSGID_PER_SECOND)) {
    rc = MEDSHIM_ECORRUPT;
    goto cleanup;
  }
  if (now > second) {
    s = now;
    start = 0;
  } else {
    s = second;
    start = (uint32_t)next;
  }
  if (start + MEDSHIM__MSGID_BLOCK > MEDSHIM__MSGID_PER_SECOND) {
    s++;
    start = 0;
  }
  len = snprintf(text, sizeof text, "%020" PRId64 " %05u\n", s,
                 (unsigned)(start + MEDSHIM__MSGID_BLOCK));
  /* Fixed width: the new text always covers the old one entirely. */
  if (medshim__io_pwrite_all(fd, text, (size_t)len, 0) != 0 ||
      medshim__io_fdatasync(fd) != 0 ||
      (created && medshim__io_fsync_dir(m->dir) != 0))
    goto cleanup;
  m->second = s;
  m->next = start;
  m->end = start + MEDSHIM__MSGID_BLOCK;
  rc = MEDSHIM_OK;
cleanup:
  medshim__os_close(fd); /* releases the lock */
  return rc;
}

static void format(char out[MEDSHIM_MSGID_LEN + 1], const char *inst,
                   int64_t second, uint32_t seq) {
  struct tm tm;
  char buf[96]; /* room for what the compiler thinks %d may print */
  if (medshim__os_utc(second + CST_OFFSET, &tm) == NULL)
    memset(&tm, 0, sizeof tm);
  snprintf(buf, sizeof buf, "%s%04d%02d%02d%02d%02d%02d%04u", inst,
           tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
           tm.tm_sec, (unsigned)seq);
  memcpy(out, buf, MEDSHIM_MSGID_LEN);
  out[MEDSHIM_MSGID_LEN] = '\0';
}

int medshim__msgids_next(medshim__msgids *m, char out[MEDSHIM_MSGID_LEN + 1],
                         int64_t now) {
  int rc = MEDSHIM_OK;
  pthread_mutex_lock(&m->mu);
  if (m->failed) {
    rc = MEDSHIM_EIO;
  } else if (m->next == m->end || now > m->second) {
    /* A new second, or the block is used: reserve before handing out. */
    rc = reserve(m, now);
    if (rc != MEDSHIM_OK)
      m->failed = 1; /* like an fsync failure: never retried blindly */
  }
  if (rc == MEDSHIM_OK)
    format(out, m->institution, m->second, m->next++);
  pthread_mutex_unlock(&m->mu);
  return rc;
}
