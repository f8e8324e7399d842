/* The journal handle: allocation, release, and the text of its last
 * failure. Opening, writing and reading it are journal_open.c,
 * journal_write.c and journal_read.c. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "errors_internal.h"
#include "journal_handle_internal.h"
#include "memory_internal.h"
#include "os.h"
#include "secmem_internal.h"

#define DEFAULT_SEGMENT_MAX (64ull << 20)

const char *medshim_journal_errmsg(const medshim_journal *j) {
  return j == NULL ? "" : j->errmsg;
}

int medshim__jfail(medshim_journal *j, int code, const char *fmt, ...) {
  va_list ap;
  if (j->poisoned && code == MEDSHIM_EPOISONED && j->errmsg_is_cause)
    return medshim__last_set(code, "journal", j->errmsg);
  va_start(ap, fmt);
  medshim__vfmt(j->errmsg, sizeof j->errmsg, fmt, ap);
  va_end(ap);
  j->errmsg_is_cause = 0;
  /* the thread's own copy: another thread may replace the handle's */
  return medshim__last_set(code, "journal", j->errmsg);
}

int medshim__journal_fail(medshim_journal *j, int code, const char *text) {
  pthread_mutex_lock(&j->mu);
  (void)medshim__jfail(j, code, "%s", text);
  pthread_mutex_unlock(&j->mu);
  return code;
}

medshim_journal *medshim__journal_new(const char *dir) {
  /* in locked pages kept out of core dumps: the keys live in it */
  medshim_journal *j = medshim__secmem_alloc(sizeof *j);
  if (j == NULL)
    return NULL;
  j->fd = -1;
  j->lock_fd = -1;
  pthread_mutex_init(&j->mu, NULL);
  pthread_cond_init(&j->cv, NULL);
  pthread_mutex_init(&j->prep_mu, NULL);
  medshim__jindex_init(&j->ix);
  j->seg_max = DEFAULT_SEGMENT_MAX;
  j->dir = strdup(dir);
  if (j->dir == NULL) {
    medshim__journal_free(j);
    return NULL;
  }
  return j;
}

int medshim__journal_crypto_init(medshim_journal *j) {
  j->wcrypto = medshim__jcrypto_new(j->keys.suite);
  j->rcrypto = medshim__jcrypto_new(j->keys.suite);
  return j->wcrypto != NULL && j->rcrypto != NULL ? 0 : -1;
}

void medshim__journal_free(medshim_journal *j) {
  if (j == NULL)
    return;
  /* The lane first: it syncs what was written without a sync of its own
   * and writes its checkpoint. */
  if (j->lane != NULL)
    medshim_journal_close(j->lane);
  if (j->fd >= 0)
    medshim__os_close(j->fd);
  for (size_t i = 0; i < j->nsegs; i++)
    if (j->segs[i].rfd >= 0)
      medshim__os_close(j->segs[i].rfd);
  if (j->segs != NULL) {
    medshim__secmem_array_free(j->segs);
  }
  if (j->lock_fd >= 0)
    medshim__os_close(j->lock_fd); /* releases the flock */
  medshim__jindex_free(&j->ix);
  medshim__jcrypto_free(j->wcrypto);
  medshim__jcrypto_free(j->rcrypto);
  for (size_t i = 0; i < j->nprep_pool; i++)
    medshim__jprep_free(j->prep_pool[i]);
  pthread_mutex_destroy(&j->prep_mu);
  medshim__jscratch_free(&j->wscratch);
  medshim__jscratch_free(&j->rscratch);
  if (j->wbuf != NULL) {
    medshim__wipe(j->wbuf, j->wbuf_cap);
    free(j->wbuf);
  }
  medshim__wipe(&j->keys, sizeof j->keys);
  pthread_mutex_destroy(&j->mu);
  pthread_cond_destroy(&j->cv);
  free(j->dir);
  medshim__secmem_free(j, sizeof *j);
}
