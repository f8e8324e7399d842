/* Starting an adapter command for the exec protocol: through /bin/sh -c,
 * with close-on-exec pipes for its stdin and stdout, in its own process
 * group, killed with that group when medshim dies. */
#ifndef MEDSHIM_EXEC_PROC_H
#define MEDSHIM_EXEC_PROC_H

#include <stddef.h>
#include <sys/types.h>

typedef struct exec_proc {
  pid_t pid;  /* the supervisor, leader of the adapter's process group */
  int in;     /* write end of the adapter's stdin (O_NONBLOCK) */
  int out;    /* read end of the adapter's stdout */
} exec_proc;

/* Start @p command. The child is a small supervisor (the process group's
 * leader) that runs `/bin/sh -c command` and exits with its status (128 +
 * signal when it was killed); the supervisor kills the whole group when
 * the thread that started it dies (PR_SET_PDEATHSIG), and the shell dies
 * with the supervisor (PR_SET_PDEATHSIG(SIGKILL)). Every descriptor medshim
 * holds is close-on-exec, so an adapter inherits only its own pipes.
 * Returns 0, or -1 with errno. */
int exec_proc_start(exec_proc *p, const char *command);

/* Wait until the adapter's shell has exited (without reaping it), until
 * @p deadline (exec_now() seconds). Returns 1 and sets *status (the exit
 * code, or 128 + signal) when it exited; 0 at the deadline. */
int exec_proc_wait(const exec_proc *p, double deadline, int *status);

/* Kill the adapter's whole process group (SIGKILL), reap the supervisor
 * and close the pipes that are still open. Returns the exit status as for
 * exec_proc_wait(), or -1 when it had to be killed. */
int exec_proc_finish(exec_proc *p);

/* Monotonic clock, seconds. */
double exec_now(void);

/* Write all of @p len bytes to a non-blocking fd before @p deadline.
 * Returns 0; -1 on an error (errno), -2 at the deadline. */
int exec_write_all(int fd, const char *data, size_t len, double deadline);

#endif
