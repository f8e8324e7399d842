/* Process hygiene for exec adapters. medshim is multi-threaded: one worker
 * may fork while another holds a fresh pipe, so every pipe is created
 * close-on-exec (pipe2) and an adapter inherits only its own stdin and
 * stdout; otherwise one adapter would hold another's stdin open and that
 * one would never see end of input. Between fork and exec the child calls
 * only async-signal-safe functions.
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
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec_proc.h"

extern char **environ;

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

int exec_proc_start(exec_proc *p, const char *command) {
  int in[2] = {-1, -1}, out[2] = {-1, -1}, saved;
  pid_t parent = getpid(), pid;
  p->pid = -1;
  p->in = p->out = -1;
  if (pipe2(in, O_CLOEXEC) != 0)
    return -1;
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
    errno = saved;
    return -1;
  }
  p->pid = pid;
  p->in = in[1];
  p->out = out[0];
  return 0;
fail:
  saved = errno;
  for (int i = 0; i < 2; i++) {
    if (in[i] >= 0)
      close(in[i]);
    if (out[i] >= 0)
      close(out[i]);
  }
  errno = saved;
  return -1;
}

static int decode(const siginfo_t *si) {
  if (si->si_code == CLD_EXITED)
    return si->si_status;
  return 128 + si->si_status;
}

int exec_proc_wait(const exec_proc *p, double deadline, int *status) {
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
  if (p->in >= 0)
    close(p->in);
  if (p->out >= 0)
    close(p->out);
  p->in = p->out = -1;
  if (p->pid <= 0)
    return -1;
  /* the supervisor is not reaped yet, so its pid still names the group */
  kill(-p->pid, SIGKILL);
  for (;;) {
    if (waitpid(p->pid, &status, 0) == p->pid)
      break;
    if (errno != EINTR) {
      p->pid = -1;
      return -1;
    }
  }
  if (WIFEXITED(status))
    rc = WEXITSTATUS(status);
  p->pid = -1;
  return rc;
}

int exec_write_all(int fd, const char *data, size_t len, double deadline) {
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
