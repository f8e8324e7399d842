/* cli_sys.h on Windows. */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <fcntl.h>
#include <io.h>
#include <shellapi.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "cli_sys.h"

void cli_sys_binary_stdio(void) {
  (void)_setmode(0, _O_BINARY);
  (void)_setmode(1, _O_BINARY);
}

/* The UTF-8 copies live as long as the process. When the command line
 * cannot be had or converted, the C runtime's arguments stay. */
void cli_sys_utf8_args(int *argc, char ***argv) {
  int n = 0;
  wchar_t **w = CommandLineToArgvW(GetCommandLineW(), &n);
  char **out;
  if (w == NULL)
    return;
  if (n != *argc || (out = calloc((size_t)n + 1, sizeof *out)) == NULL) {
    LocalFree(w);
    return;
  }
  for (int i = 0; i < n; i++) {
    int len = WideCharToMultiByte(CP_UTF8, 0, w[i], -1, NULL, 0, NULL, NULL);
    if (len <= 0 || (out[i] = malloc((size_t)len)) == NULL) {
      while (i > 0)
        free(out[--i]);
      free(out);
      LocalFree(w);
      return;
    }
    WideCharToMultiByte(CP_UTF8, 0, w[i], -1, out[i], len, NULL, NULL);
  }
  LocalFree(w);
  *argv = out;
}

/* Windows has no per-process switch for crash dumps: what the system keeps
 * of a crashed process is its Windows Error Reporting settings' choice. A
 * crash neither opens a dialog (which would wait with the claims in
 * memory) nor asks WER to show one. docs/windows.md says what a host that
 * enables LocalDumps must know. */
void cli_sys_no_core_dumps(void) {
  SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX |
               SEM_NOOPENFILEERRORBOX);
}

int cli_sys_self_check_dumps(void) {
  fprintf(stderr, "medshim: core dumps are not a Windows setting\n");
  return CLI_EXIT_FAIL;
}

int cli_sys_stderr_is_tty(void) { return _isatty(2); }

int cli_sys_cpus(void) {
  SYSTEM_INFO si;
  GetSystemInfo(&si);
  return si.dwNumberOfProcessors < 1 ? 1 : (int)si.dwNumberOfProcessors;
}

unsigned long cli_sys_pid(void) { return (unsigned long)GetCurrentProcessId(); }
