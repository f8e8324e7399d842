/* The little the CLI programs need of the system beyond lib/os.h, one file
 * per system (cli_sys_unix.c, cli_sys_win.c). */
#ifndef MEDSHIM_CLI_SYS_H
#define MEDSHIM_CLI_SYS_H

/* At the start of main: standard input and output carry bytes as they are
 * (Windows: binary mode, no CRLF translation, no Ctrl-Z end of file). */
void cli_sys_binary_stdio(void);

/* At the start of main: the arguments in UTF-8 (Windows hands main() the
 * ANSI code page's, which cannot hold a path like C:\医保 or a service
 * named 门诊: they are taken again from the UTF-16 command line). */
void cli_sys_utf8_args(int *argc, char ***argv);

/* Claims and keys pass through this process: keep them out of core dumps
 * (Unix: RLIMIT_CORE 0 and, on Linux, undumpable). Warns on stderr when it
 * cannot. */
void cli_sys_no_core_dumps(void);

/* For the test suite: print what cli_sys_no_core_dumps() achieved
 * ("dumpable N\ncore_limit N\n"); CLI_EXIT_* code. */
int cli_sys_self_check_dumps(void);

/* Standard error is a terminal (for a progress bar). */
int cli_sys_stderr_is_tty(void);

/* Processors online (at least 1). */
int cli_sys_cpus(void);

/* This process's id. */
unsigned long cli_sys_pid(void);

#endif
