/* testproc.h on Unix. */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testproc.h"

struct tu_proc {
  pid_t pid;
  int in, out;       /* pipes, or -1 */
  char buf[65536];   /* stdout read ahead */
  size_t len;
};

static void child_fd(const char *path, int target, int flags) {
  int fd = open(path, flags, 0600);
  if (fd < 0 || dup2(fd, target) < 0)
    _exit(127);
  close(fd);
}

tu_proc *tu_start(const char *const argv[], const char *in_path,
                  const char *out_path, const char *err_path) {
  tu_proc *p = calloc(1, sizeof *p);
  int in[2] = {-1, -1}, out[2] = {-1, -1};
  ck_assert_ptr_nonnull(p);
  if (in_path == NULL)
    ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
  if (out_path == NULL)
    ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
  p->pid = fork();
  ck_assert_int_ge(p->pid, 0);
  if (p->pid == 0) {
    if (in_path != NULL)
      child_fd(in_path, 0, O_RDONLY);
    else if (dup2(in[0], 0) < 0)
      _exit(127);
    if (out_path != NULL)
      child_fd(out_path, 1, O_WRONLY | O_CREAT | O_TRUNC);
    else if (dup2(out[1], 1) < 0)
      _exit(127);
    child_fd(err_path ? err_path : "/dev/null", 2, O_WRONLY | O_CREAT | O_TRUNC);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  if (in[0] >= 0)
    close(in[0]);
  if (out[1] >= 0)
    close(out[1]);
  p->in = in[1];
  p->out = out[0];
  return p;
}

int tu_proc_write(tu_proc *p, const char *buf, size_t n) {
  while (n > 0) {
    ssize_t w = write(p->in, buf, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    buf += w;
    n -= (size_t)w;
  }
  return 0;
}

void tu_proc_close_in(tu_proc *p) {
  if (p->in >= 0)
    close(p->in);
  p->in = -1;
}

long tu_proc_read_line(tu_proc *p, char *buf, size_t cap) {
  for (;;) {
    char *nl = memchr(p->buf, '\n', p->len);
    ssize_t n;
    if (nl != NULL) {
      size_t l = (size_t)(nl - p->buf);
      ck_assert_uint_lt(l, cap);
      memcpy(buf, p->buf, l);
      buf[l] = '\0';
      memmove(p->buf, nl + 1, p->len - l - 1);
      p->len -= l + 1;
      return (long)l;
    }
    ck_assert_uint_lt(p->len, sizeof p->buf);
    n = read(p->out, p->buf + p->len, sizeof p->buf - p->len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    p->len += (size_t)n;
  }
}

unsigned long tu_proc_pid(const tu_proc *p) { return (unsigned long)p->pid; }

int tu_wait(tu_proc *p) {
  int status = 0;
  tu_proc_close_in(p);
  while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (p->out >= 0)
    close(p->out);
  free(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void tu_kill(tu_proc *p) {
  kill(p->pid, SIGKILL);
  (void)tu_wait(p);
}

int tu_run_argv(const char *const argv[], const char *in_path,
                const char *out_path, const char *err_path) {
  return tu_wait(tu_start(argv, in_path, out_path, err_path));
}

/* The parent of pid from /proc/PID/stat; 0 when unknown. */
static unsigned long parent_of(unsigned long pid) {
  char path[64], line[1024], *close_paren;
  unsigned long ppid = 0;
  FILE *f;
  snprintf(path, sizeof path, "/proc/%lu/stat", pid);
  if ((f = fopen(path, "r")) == NULL)
    return 0;
  if (fgets(line, sizeof line, f) != NULL &&
      (close_paren = strrchr(line, ')')) != NULL &&
      sscanf(close_paren + 1, " %*c %lu", &ppid) != 1)
    ppid = 0;
  fclose(f);
  return ppid;
}

size_t tu_descendants(unsigned long pid, unsigned long *out, size_t max) {
  size_t n = 0, done = 0;
  unsigned long all[4096], parents[4096];
  size_t nall = 0;
  DIR *d = opendir("/proc");
  struct dirent *e;
  ck_assert_ptr_nonnull(d);
  while ((e = readdir(d)) != NULL && nall < 4096) {
    char *end;
    unsigned long q = strtoul(e->d_name, &end, 10);
    if (*end == '\0' && q > 0) {
      all[nall] = q;
      parents[nall++] = parent_of(q);
    }
  }
  closedir(d);
  /* breadth first from pid */
  {
    unsigned long frontier[4096];
    size_t nf = 1;
    frontier[0] = pid;
    while (done < nf) {
      unsigned long cur = frontier[done++];
      for (size_t i = 0; i < nall; i++)
        if (parents[i] == cur && nf < 4096) {
          frontier[nf++] = all[i];
          if (n < max)
            out[n++] = all[i];
        }
    }
  }
  return n;
}

int tu_pid_alive(unsigned long pid) {
  char path[64], line[1024], *close_paren, state = '?';
  FILE *f;
  snprintf(path, sizeof path, "/proc/%lu/stat", pid);
  if ((f = fopen(path, "r")) == NULL)
    return 0;
  if (fgets(line, sizeof line, f) != NULL &&
      (close_paren = strrchr(line, ')')) != NULL)
    (void)sscanf(close_paren + 1, " %c", &state);
  fclose(f);
  return state != 'Z' && state != 'X' && state != '?'; /* a zombie is dead */
}

void tu_sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

char *tu_native_path(const char *path) {
  char *p = strdup(path);
  ck_assert_ptr_nonnull(p);
  return p;
}
