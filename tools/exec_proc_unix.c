/* exec_proc.h on Unix. Process hygiene for exec adapters: medshim is
 * multi-threaded, and one worker may fork while another holds a fresh
 * pipe, so every pipe is created close-on-exec (pipe2) and an adapter
 * inherits only its own stdin and stdout; otherwise one adapter would hold
 * another's stdin open and that one would never see end of input.
 * Between fork and exec the child calls only async-signal-safe functions.
 *
 * The forked child is a supervisor, not the adapter: it leads a new process
 * group, runs `/bin/sh -c CMD` as its own child and waits for it. When the
 * thread of medshim that started it dies (also by SIGKILL), the kernel
 * sends it SIGHUP (PR_SET_PDEATHSIG) and it kills its whole group, so the
 * adapter and everything the adapter started in the background die with a
 * killed replay; a plain PR_SET_PDEATHSIG(SIGKILL) on the shell alone would
 * leave the shell's own children running. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec_proc.h"

extern char **environ;

struct exec_proc {
  pid_t pid; /* the supervisor, leader of the adapter's process group */
  int in;    /* write end of the adapter's stdin (O_NONBLOCK) */
  int out;   /* read end of the adapter's stdout */
};

struct exec_wake {
  int fd[2]; /* a pipe, non-blocking: readable while a wake-up is pending */
};

void exec_proc_setup(void) {
  /* a dead adapter must be an EPIPE here, not the end of medshim */
  signal(SIGPIPE, SIG_IGN);
}

double exec_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void on_parent_death(int sig) {
  (void)sig;
  kill(0, SIGKILL); /* the whole group, this supervisor included */
  _exit(128 + SIGKILL);
}

static void reset_signals(void) {
  struct sigaction sa;
  sigset_t none;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  /* medshim ignores SIGPIPE; an ignored disposition survives exec */
  (void)sigaction(SIGPIPE, &sa, NULL);
  sigemptyset(&none);
  (void)sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Descriptors medshim inherited from whoever started it are not the
 * adapter's either: only 0, 1 and 2 go on. */
static void close_others(void) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, 3u, ~0u, 0u) == 0)
    return;
#endif
  for (int fd = 3; fd < 4096; fd++)
    (void)close(fd);
}

static void supervise(const char *command, pid_t parent) {
  struct sigaction sa;
  char *argv[4];
  pid_t self = getpid(), shell;
  int status;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_parent_death;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGHUP, &sa, NULL) != 0)
    _exit(127);
  reset_signals();
  if (prctl(PR_SET_PDEATHSIG, SIGHUP) != 0)
    _exit(127);
  if (getppid() != parent) /* medshim died before the prctl */
    on_parent_death(SIGHUP);
  shell = fork();
  if (shell < 0)
    _exit(127);
  if (shell == 0) {
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGHUP, &sa, NULL);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != self)
      _exit(127);
    argv[0] = (char *)"sh";
    argv[1] = (char *)"-c";
    argv[2] = (char *)command;
    argv[3] = NULL;
    execve("/bin/sh", argv, environ);
    _exit(127);
  }
  /* the adapter holds its pipes; the supervisor must not keep them open */
  close(0);
  close(1);
  for (;;) {
    if (waitpid(shell, &status, 0) == shell)
      break;
    if (errno != EINTR)
      _exit(127);
  }
  if (WIFEXITED(status))
    _exit(WEXITSTATUS(status));
  _exit(128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0));
}

exec_proc *exec_proc_start(const char *command) {
  int in[2] = {-1, -1}, out[2] = {-1, -1}, saved;
  pid_t parent = getpid(), pid;
  exec_proc *p = malloc(sizeof *p);
  if (p == NULL)
    return NULL;
  p->pid = -1;
  p->in = p->out = -1;
  if (pipe2(in, O_CLOEXEC) != 0)
    goto fail;
  if (pipe2(out, O_CLOEXEC) != 0)
    goto fail;
  pid = fork();
  if (pid < 0)
    goto fail;
  if (pid == 0) {
    if (setpgid(0, 0) != 0)
      _exit(127);
    if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
      _exit(127);
    /* descriptors 0 and 1 are open in medshim, so the pipes are above 1 */
    close_others(); /* the pipes' originals too */
    supervise(command, parent);
    _exit(127);
  }
  /* also from here: a kill of the group must not race the child's setpgid */
  (void)setpgid(pid, pid);
  close(in[0]);
  close(out[1]);
  if (fcntl(in[1], F_SETFL, O_NONBLOCK) != 0) {
    saved = errno;
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    close(in[1]);
    close(out[0]);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    free(p);
    errno = saved;
    return NULL;
  }
  p->pid = pid;
  p->in = in[1];
  p->out = out[0];
  return p;
fail:
  saved = errno;
  for (int i = 0; i < 2; i++) {
    if (in[i] >= 0)
      close(in[i]);
    if (out[i] >= 0)
      close(out[i]);
  }
  free(p);
  errno = saved;
  return NULL;
}

static int decode(const siginfo_t *si) {
  if (si->si_code == CLD_EXITED)
    return si->si_status;
  return 128 + si->si_status;
}

int exec_proc_wait(exec_proc *p, double deadline, int *status) {
  long delay_ns = 20000;
  for (;;) {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        si.si_pid == p->pid) {
      *status = decode(&si);
      return 1;
    }
    if (exec_now() >= deadline)
      return 0;
    {
      struct timespec ts = {0, delay_ns};
      nanosleep(&ts, NULL);
    }
    if (delay_ns < 5000000)
      delay_ns *= 2;
  }
}

int exec_proc_finish(exec_proc *p) {
  int status = 0, rc = -1;
  if (p == NULL)
    return -1;
  if (p->in >= 0)
    close(p->in);
  if (p->out >= 0)
    close(p->out);
  p->in = p->out = -1;
  /* the supervisor is not reaped yet, so its pid still names the group */
  kill(-p->pid, SIGKILL);
  for (;;) {
    if (waitpid(p->pid, &status, 0) == p->pid)
      break;
    if (errno != EINTR) {
      free(p);
      return -1;
    }
  }
  if (WIFEXITED(status))
    rc = WEXITSTATUS(status);
  free(p);
  return rc;
}

int exec_proc_poll(exec_proc *p, int want_write, exec_wake *wake,
                   int timeout_ms) {
  struct pollfd pf[3];
  nfds_t np = 0;
  int in_at = -1, wake_at = -1, ready = 0;
  pf[np].fd = p->out;
  pf[np].events = POLLIN;
  pf[np++].revents = 0;
  if (want_write && p->in >= 0) {
    in_at = (int)np;
    pf[np].fd = p->in;
    pf[np].events = POLLOUT;
    pf[np++].revents = 0;
  }
  if (wake != NULL) {
    wake_at = (int)np;
    pf[np].fd = wake->fd[0];
    pf[np].events = POLLIN;
    pf[np++].revents = 0;
  }
  if (poll(pf, np, timeout_ms) < 0)
    return errno == EINTR ? 0 : -1;
  if (pf[0].revents != 0)
    ready |= EXEC_READABLE;
  if (in_at >= 0 && pf[in_at].revents != 0)
    ready |= EXEC_WRITABLE;
  if (wake_at >= 0 && (pf[wake_at].revents & POLLIN)) {
    char drain[64];
    while (read(wake->fd[0], drain, sizeof drain) > 0) {
    }
    ready |= EXEC_WOKEN;
  }
  return ready;
}

long long exec_proc_read(exec_proc *p, char *buf, size_t cap) {
  for (;;) {
    ssize_t n = read(p->out, buf, cap);
    if (n < 0 && errno == EINTR)
      continue;
    return (long long)n;
  }
}

long long exec_proc_write(exec_proc *p, const char *data, size_t len) {
  for (;;) {
    ssize_t n = write(p->in, data, len);
    if (n >= 0)
      return (long long)n;
    if (errno == EINTR)
      continue;
    return errno == EAGAIN ? 0 : -1;
  }
}

void exec_proc_close_in(exec_proc *p) {
  if (p->in >= 0)
    close(p->in);
  p->in = -1;
}

exec_wake *exec_wake_new(void) {
  exec_wake *w = malloc(sizeof *w);
  if (w == NULL)
    return NULL;
  if (pipe2(w->fd, O_CLOEXEC | O_NONBLOCK) != 0) {
    int saved = errno;
    free(w);
    errno = saved;
    return NULL;
  }
  return w;
}

void exec_wake_signal(exec_wake *w) {
  char c = 1;
  ssize_t n = write(w->fd[1], &c, 1);
  (void)n; /* a full pipe is already a pending wake-up */
}

void exec_wake_free(exec_wake *w) {
  if (w == NULL)
    return;
  close(w->fd[0]);
  close(w->fd[1]);
  free(w);
}

int exec_proc_write_all(exec_proc *p, const char *data, size_t len,
                        double deadline) {
  int fd = p->in;
  size_t done = 0;
  while (done < len) {
    ssize_t n = write(fd, data + done, len - done);
    if (n > 0) {
      done += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN) {
      struct pollfd pf = {fd, POLLOUT, 0};
      double left = deadline - exec_now();
      if (left <= 0)
        return -2;
      if (poll(&pf, 1, (int)(left * 1000) + 1) < 0 && errno != EINTR)
        return -1;
      continue;
    }
    return -1;
  }
  return 0;
}
