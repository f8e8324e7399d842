/* Running programs from the Check suites without a shell, the same on
 * every system (testproc_unix.c: fork and execv; testproc_win.c:
 * CreateProcessW with the argv quoted as the C runtime parses it). */
#ifndef MEDSHIM_TESTPROC_H
#define MEDSHIM_TESTPROC_H

#include <stddef.h>

typedef struct tu_proc tu_proc;

/* Start argv[0] (a path) with argv. stdin from the file in_path, stdout
 * and stderr to the files out_path and err_path (created or truncated);
 * NULL: stdin is a pipe for tu_proc_write() (in_path) or stdout a pipe
 * for tu_proc_read_line() (out_path), stderr the null device (err_path).
 * Aborts the test when it cannot start. */
tu_proc *tu_start(const char *const argv[], const char *in_path,
                  const char *out_path, const char *err_path);
/* Write all of buf to its stdin pipe; -1 when the pipe is broken. */
int tu_proc_write(tu_proc *p, const char *buf, size_t n);
void tu_proc_close_in(tu_proc *p);
/* One line of its stdout pipe ('\n' dropped) into buf; its length, or -1
 * at the end of the output. */
long tu_proc_read_line(tu_proc *p, char *buf, size_t cap);
unsigned long tu_proc_pid(const tu_proc *p);
/* Wait for it to exit: its exit status (-1 when killed by a signal). Frees
 * @p. */
int tu_wait(tu_proc *p);
/* Kill it at once, as a crash would (SIGKILL, TerminateProcess), wait for
 * it and free @p. */
void tu_kill(tu_proc *p);
/* tu_start() and tu_wait(). */
int tu_run_argv(const char *const argv[], const char *in_path,
                const char *out_path, const char *err_path);

/* Processes below @p pid (children, their children, ...), at most max. */
size_t tu_descendants(unsigned long pid, unsigned long *out, size_t max);
/* @p pid is still running. */
int tu_pid_alive(unsigned long pid);
void tu_sleep_ms(long ms);
/* @p path as the system's programs take it (Windows: absolute, with
 * backslashes); malloc'ed. */
char *tu_native_path(const char *path);

#endif
