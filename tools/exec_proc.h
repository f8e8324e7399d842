/* Starting an adapter command for the exec protocol and talking to it over
 * its stdin and stdout, the same on every system; each system has its own
 * file (exec_proc_unix.c, exec_proc_win.c).
 *
 * Unix: the command runs as `/bin/sh -c COMMAND` under a small supervisor
 * that leads its own process group; the group is killed when the medshim
 * thread that started it dies (PR_SET_PDEATHSIG). Pipes are close-on-exec,
 * so an adapter inherits only its own stdin, stdout and stderr.
 *
 * Windows: the command runs as `cmd.exe /d /s /c "COMMAND"` (cmd.exe from
 * the system directory, no AutoRun), created with CreateProcessW from the
 * UTF-16 form of the command. The child inherits exactly three handles (its
 * stdin and stdout pipes and a copy of medshim's stderr), named in a
 * PROC_THREAD_ATTRIBUTE_HANDLE_LIST; every other handle medshim holds is
 * not inheritable. It starts suspended and runs in a job object with
 * JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE: when medshim ends, also by
 * TerminateProcess, the job's last handle closes and the adapter and
 * everything it started die with it. medshim's ends of the pipes are
 * overlapped named pipes, waited for with WaitForMultipleObjects in place
 * of poll. */
#ifndef MEDSHIM_EXEC_PROC_H
#define MEDSHIM_EXEC_PROC_H

#include <stddef.h>

typedef struct exec_proc exec_proc;

/* Something another thread uses to interrupt exec_proc_poll(). */
typedef struct exec_wake exec_wake;

/* Once per process before the first start (Unix: a dead adapter must be an
 * EPIPE, so SIGPIPE is ignored). */
void exec_proc_setup(void);

/* Start @p command with a pipe for its stdin (medshim's end does not block)
 * and one for its stdout. Returns the process, or NULL with errno. */
exec_proc *exec_proc_start(const char *command);

enum {
  EXEC_READABLE = 1, /* exec_proc_read() will not block */
  EXEC_WRITABLE = 2, /* exec_proc_write() will take bytes */
  EXEC_WOKEN = 4     /* exec_wake_signal() was called (and is consumed) */
};

/* Wait until the adapter's stdout is readable, its stdin writable (only
 * when @p want_write), @p wake (may be NULL) is signalled, or @p
 * timeout_ms have passed (-1: no limit). Returns the EXEC_* bits that are
 * ready (0 at the timeout or on an interruption), or -1 with errno. */
int exec_proc_poll(exec_proc *p, int want_write, exec_wake *wake,
                   int timeout_ms);

/* Read what the adapter wrote: >0 bytes, 0 at the end of its stdout, -1
 * on an error. Blocks only when the poll did not say EXEC_READABLE. */
long long exec_proc_read(exec_proc *p, char *buf, size_t cap);

/* Hand bytes to the adapter's stdin without blocking: the number taken (0
 * when the pipe is full), or -1 when the adapter closed its stdin. */
long long exec_proc_write(exec_proc *p, const char *data, size_t len);

/* Write all of @p len bytes before @p deadline (exec_now() seconds).
 * Returns 0; -1 on an error (errno), -2 at the deadline. */
int exec_proc_write_all(exec_proc *p, const char *data, size_t len,
                        double deadline);

/* End the adapter's stdin (what was taken is still delivered). */
void exec_proc_close_in(exec_proc *p);

/* Wait until the adapter's shell has exited, until @p deadline. Returns 1
 * and sets *status (the exit code; on Unix 128 + signal when it was
 * killed) when it exited; 0 at the deadline. */
int exec_proc_wait(exec_proc *p, double deadline, int *status);

/* Kill the adapter and everything it started (Unix: its process group;
 * Windows: its job), reap it, close the pipes and free @p. Returns the
 * exit status as for exec_proc_wait(), or -1 when it had to be killed. */
int exec_proc_finish(exec_proc *p);

/* A wake-up for exec_proc_poll(); NULL with errno. */
exec_wake *exec_wake_new(void);
/* From any thread; a wake-up stays pending until a poll consumes it. */
void exec_wake_signal(exec_wake *w);
void exec_wake_free(exec_wake *w);

/* Monotonic clock, seconds. */
double exec_now(void);

#endif
