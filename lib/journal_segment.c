/* Segment files: names, listing and authenticated headers. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors_internal.h"
#include "journal_crypto_internal.h"
#include "journal_segment_internal.h"
#include "memory_internal.h"
#include "os.h"

char *medshim__segment_path_new(const char *dir, uint64_t segno) {
  char name[64];
  medshim__segment_name(name, sizeof name, segno);
  return medshim__os_path_join(dir, name);
}

void medshim__segment_name(char *out, size_t size, uint64_t segno) {
  medshim__fmt(out, size, JF_SEGMENT_PREFIX "%016" PRIu64 JF_SEGMENT_SUFFIX,
               segno);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

typedef struct seg_list {
  uint64_t *list;
  size_t n, cap;
} seg_list;

/* One directory entry: keep it when it is a segment's name. */
static int take_segment(const char *name, void *payload) {
  seg_list *l = payload;
  size_t len = strlen(name), i;
  const size_t plen = strlen(JF_SEGMENT_PREFIX), slen = strlen(JF_SEGMENT_SUFFIX);
  uint64_t v = 0;
  if (len != plen + 16 + slen || strncmp(name, JF_SEGMENT_PREFIX, plen) != 0 ||
      strcmp(name + plen + 16, JF_SEGMENT_SUFFIX) != 0)
    return 0;
  for (i = plen; i < plen + 16; i++) {
    if (name[i] < '0' || name[i] > '9')
      return 0;
    v = v * 10 + (uint64_t)(name[i] - '0');
  }
  if (l->n == l->cap) {
    size_t c = l->cap ? l->cap * 2 : 16;
    uint64_t *n = realloc(l->list, c * sizeof *n);
    if (n == NULL) {
      errno = ENOMEM;
      return -1;
    }
    l->list = n;
    l->cap = c;
  }
  l->list[l->n++] = v;
  return 0;
}

int medshim__segment_list(const char *dir, uint64_t **out, size_t *count) {
  seg_list l = {NULL, 0, 0};
  *out = NULL;
  *count = 0;
  if (medshim__os_list_dir(dir, take_segment, &l) != 0) {
    int saved = errno;
    free(l.list);
    errno = saved;
    return -1;
  }
  if (l.n > 0)
    qsort(l.list, l.n, sizeof *l.list, cmp_u64);
  *out = l.list;
  *count = l.n;
  return 0;
}

int medshim__segment_header_build(unsigned char out[JF_SEGMENT_HEADER_BYTES],
                                  const medshim__jkeys *k, uint64_t segno,
                                  uint64_t first_seq,
                                  const unsigned char salt[JF_SALT_BYTES],
                                  const unsigned char prev_chain[JF_HASH_BYTES]) {
  memset(out, 0, JF_SEGMENT_HEADER_BYTES);
  memcpy(out, JF_SEGMENT_MAGIC, 8);
  jf_put16(out + 8, JF_SEGMENT_V2);
  jf_put16(out + 10, JF_SEGMENT_HEADER_BYTES);
  jf_put32(out + 12, 0);
  memcpy(out + 16, k->id, JF_ID_BYTES);
  jf_put64(out + 32, segno);
  jf_put64(out + 40, first_seq);
  memcpy(out + 48, salt, JF_SALT_BYTES);
  memcpy(out + 64, prev_chain, JF_HASH_BYTES);
  return medshim__hmac(k->suite, out + JF_SEGMENT_MAC_OFFSET, k->hdr, out,
                       JF_SEGMENT_MAC_OFFSET);
}

int medshim__segment_header_check(const unsigned char in[JF_SEGMENT_HEADER_BYTES],
                                  const medshim__jkeys *k, uint64_t *segno,
                                  uint64_t *first_seq,
                                  unsigned char salt[JF_SALT_BYTES],
                                  unsigned char prev_chain[JF_HASH_BYTES],
                                  unsigned *version) {
  unsigned char mac[JF_HASH_BYTES];
  unsigned v = jf_get16(in + 8);
  if (memcmp(in, JF_SEGMENT_MAGIC, 8) != 0 ||
      (v != JF_SEGMENT_V1 && v != JF_SEGMENT_V2) ||
      jf_get16(in + 10) != JF_SEGMENT_HEADER_BYTES)
    return -1;
  if (medshim__hmac(k->suite, mac, k->hdr, in, JF_SEGMENT_MAC_OFFSET) != 0 ||
      !medshim__ct_equal(mac, in + JF_SEGMENT_MAC_OFFSET, JF_HASH_BYTES))
    return -1;
  if (!medshim__ct_equal(in + 16, k->id, JF_ID_BYTES))
    return -1;
  *segno = jf_get64(in + 32);
  *first_seq = jf_get64(in + 40);
  memcpy(salt, in + 48, JF_SALT_BYTES);
  memcpy(prev_chain, in + 64, JF_HASH_BYTES);
  *version = v;
  return 0;
}
