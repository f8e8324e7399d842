/* cli_sys.h on Unix. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "cli.h"
#include "cli_sys.h"

void cli_sys_binary_stdio(void) {}

void cli_sys_utf8_args(int *argc, char ***argv) {
  (void)argc;
  (void)argv; /* bytes as given, UTF-8 in a UTF-8 locale */
}

/* Undumpable also keeps other processes of the same user from reading its
 * memory through /proc or ptrace. */
void cli_sys_no_core_dumps(void) {
  struct rlimit none = {0, 0};
  if (setrlimit(RLIMIT_CORE, &none) != 0)
    fprintf(stderr, "medshim: warning: cannot turn core dumps off: %s\n",
            strerror(errno));
#ifdef __linux__
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
    fprintf(stderr, "medshim: warning: cannot make the process undumpable: "
            "%s\n", strerror(errno));
#endif
}

int cli_sys_self_check_dumps(void) {
  struct rlimit rl;
  int dumpable = -1;
#ifdef __linux__
  dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
#endif
  if (getrlimit(RLIMIT_CORE, &rl) != 0)
    return CLI_EXIT_FAIL;
  printf("dumpable %d\ncore_limit %llu\n", dumpable,
         (unsigned long long)rl.rlim_cur);
  return CLI_EXIT_OK;
}

int cli_sys_stderr_is_tty(void) { return isatty(STDERR_FILENO); }

int cli_sys_cpus(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}

unsigned long cli_sys_pid(void) { return (unsigned long)getpid(); }
