/* cli_input.h on Unix: mmap of a regular file, poll with a wake-up pipe. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_input.h"

struct cli_input {
  int wake[2]; /* readable once woken */
  void *map;
  size_t map_len;
  off_t map_at; /* the file offset of map[0] */
};

cli_input *cli_input_new(void) {
  cli_input *in = calloc(1, sizeof *in);
  if (in == NULL)
    return NULL;
  if (pipe2(in->wake, O_CLOEXEC) != 0) {
    int saved = errno;
    free(in);
    errno = saved;
    return NULL;
  }
  return in;
}

/* Only the part from the current offset's page is mapped: a 32-bit process
 * has 4 GiB of addresses in all. */
int cli_input_map(cli_input *in, char **buf, size_t *len, size_t *start) {
  struct stat st;
  off_t at, base;
  long page = sysconf(_SC_PAGESIZE);
  void *m;
  if (fstat(STDIN_FILENO, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0)
    return 0;
  at = lseek(STDIN_FILENO, 0, SEEK_CUR);
  if (at < 0 || at >= st.st_size)
    return 0;
  base = page > 0 ? at - at % page : 0;
  if ((uintmax_t)(st.st_size - base) > SIZE_MAX)
    return 0;
  m = mmap(NULL, (size_t)(st.st_size - base), PROT_READ, MAP_PRIVATE,
           STDIN_FILENO, base);
  if (m == MAP_FAILED)
    return 0;
  (void)madvise(m, (size_t)(st.st_size - base), MADV_SEQUENTIAL);
  in->map = m;
  in->map_len = (size_t)(st.st_size - base);
  in->map_at = base;
  *buf = m;
  *len = in->map_len;
  *start = (size_t)(at - base);
  return 1;
}

int cli_input_wait(cli_input *in) {
  struct pollfd p[2];
  p[0].fd = STDIN_FILENO;
  p[0].events = POLLIN;
  p[1].fd = in->wake[0];
  p[1].events = POLLIN;
  for (;;) {
    int n = poll(p, 2, -1);
    if (n > 0 && p[1].revents != 0)
      return -1;
    if (n > 0)
      return 0;
    if (n < 0 && errno != EINTR)
      return 0; /* let read() report it */
  }
}

long long cli_input_read(cli_input *in, char *buf, size_t cap) {
  (void)in;
  for (;;) {
    ssize_t got = read(STDIN_FILENO, buf, cap);
    if (got < 0 && errno == EINTR)
      continue;
    return (long long)got;
  }
}

void cli_input_wake(cli_input *in) {
  ssize_t w;
  do
    w = write(in->wake[1], "x", 1);
  while (w < 0 && errno == EINTR);
}

void cli_input_free(cli_input *in) {
  if (in == NULL)
    return;
  if (in->map != NULL) {
    /* consumed, as if read */
    (void)lseek(STDIN_FILENO, in->map_at + (off_t)in->map_len, SEEK_SET);
    munmap(in->map, in->map_len);
  }
  close(in->wake[0]);
  close(in->wake[1]);
  free(in);
}
