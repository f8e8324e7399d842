/* testproc.h on Windows: CreateProcessW, anonymous pipes and a toolhelp
 * snapshot of the processes. */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tlhelp32.h>

#include "os_win_internal.h"
#include "testproc.h"

struct tu_proc {
  HANDLE process;
  unsigned long pid;
  HANDLE in, out; /* pipes, or NULL */
  char buf[65536];
  size_t len;
};

static wchar_t *widen(const char *s) {
  wchar_t *w = medshim__os_widen(s);
  ck_assert_ptr_nonnull(w);
  return w;
}

/* argv as one command line that the C runtime splits back into argv. */
static char *command_line(const char *const argv[]) {
  size_t cap = 16;
  char *line, *o;
  for (size_t i = 0; argv[i] != NULL; i++)
    cap += strlen(argv[i]) * 2 + 3;
  o = line = malloc(cap);
  ck_assert_ptr_nonnull(line);
  for (size_t i = 0; argv[i] != NULL; i++) {
    const char *a = argv[i];
    if (i > 0)
      *o++ = ' ';
    if (*a != '\0' && strpbrk(a, " \t\"") == NULL) {
      strcpy(o, a);
      o += strlen(a);
      continue;
    }
    *o++ = '"';
    for (;; a++) {
      size_t slashes = 0;
      while (*a == '\\') {
        slashes++;
        a++;
      }
      if (*a == '\0') {
        memset(o, '\\', slashes * 2);
        o += slashes * 2;
        break;
      }
      if (*a == '"') {
        memset(o, '\\', slashes * 2 + 1);
        o += slashes * 2 + 1;
      } else {
        memset(o, '\\', slashes);
        o += slashes;
      }
      *o++ = *a;
    }
    *o++ = '"';
  }
  *o = '\0';
  return line;
}

static HANDLE open_std(const char *path, int write) {
  SECURITY_ATTRIBUTES inherit = {sizeof inherit, NULL, TRUE};
  wchar_t *w = widen(path);
  HANDLE h = CreateFileW(w, write ? GENERIC_WRITE : GENERIC_READ,
                         FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                         &inherit, write ? CREATE_ALWAYS : OPEN_EXISTING,
                         FILE_ATTRIBUTE_NORMAL, NULL);
  ck_assert_msg(h != INVALID_HANDLE_VALUE, "cannot open %s", path);
  free(w);
  return h;
}

/* A pipe whose end for the child is inheritable, the other not. */
static void make_pipe(HANDLE *child, HANDLE *mine, int child_reads) {
  SECURITY_ATTRIBUTES inherit = {sizeof inherit, NULL, TRUE};
  HANDLE r, w;
  ck_assert(CreatePipe(&r, &w, &inherit, 0));
  *child = child_reads ? r : w;
  *mine = child_reads ? w : r;
  ck_assert(SetHandleInformation(*mine, HANDLE_FLAG_INHERIT, 0));
}

tu_proc *tu_start(const char *const argv[], const char *in_path,
                  const char *out_path, const char *err_path) {
  tu_proc *p = calloc(1, sizeof *p);
  char *line = command_line(argv);
  wchar_t *wline = widen(line), *wapp = widen(argv[0]);
  STARTUPINFOW si;
  PROCESS_INFORMATION pi;
  HANDLE std[3];
  ck_assert_ptr_nonnull(p);
  if (in_path != NULL)
    std[0] = open_std(in_path, 0);
  else
    make_pipe(&std[0], &p->in, 1);
  if (out_path != NULL)
    std[1] = open_std(out_path, 1);
  else
    make_pipe(&std[1], &p->out, 0);
  std[2] = open_std(err_path ? err_path : "NUL", 1);
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = std[0];
  si.hStdOutput = std[1];
  si.hStdError = std[2];
  ck_assert_msg(CreateProcessW(wapp, wline, NULL, NULL, TRUE, 0, NULL, NULL,
                               &si, &pi),
                "cannot start %s (error %lu)", argv[0],
                (unsigned long)GetLastError());
  CloseHandle(pi.hThread);
  for (int i = 0; i < 3; i++)
    CloseHandle(std[i]);
  p->process = pi.hProcess;
  p->pid = pi.dwProcessId;
  free(line);
  free(wline);
  free(wapp);
  return p;
}

int tu_proc_write(tu_proc *p, const char *buf, size_t n) {
  while (n > 0) {
    DWORD w = 0;
    if (!WriteFile(p->in, buf, n > 65536 ? 65536 : (DWORD)n, &w, NULL) ||
        w == 0)
      return -1;
    buf += w;
    n -= w;
  }
  return 0;
}

void tu_proc_close_in(tu_proc *p) {
  if (p->in != NULL)
    CloseHandle(p->in);
  p->in = NULL;
}

long tu_proc_read_line(tu_proc *p, char *buf, size_t cap) {
  for (;;) {
    char *nl = memchr(p->buf, '\n', p->len);
    DWORD n = 0;
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
    if (!ReadFile(p->out, p->buf + p->len, (DWORD)(sizeof p->buf - p->len),
                  &n, NULL) ||
        n == 0)
      return -1;
    p->len += n;
  }
}

unsigned long tu_proc_pid(const tu_proc *p) { return p->pid; }

int tu_wait(tu_proc *p) {
  DWORD code = 0;
  tu_proc_close_in(p);
  WaitForSingleObject(p->process, INFINITE);
  ck_assert(GetExitCodeProcess(p->process, &code));
  CloseHandle(p->process);
  if (p->out != NULL)
    CloseHandle(p->out);
  free(p);
  return (int)code;
}

void tu_kill(tu_proc *p) {
  ck_assert(TerminateProcess(p->process, 137));
  (void)tu_wait(p);
}

int tu_run_argv(const char *const argv[], const char *in_path,
                const char *out_path, const char *err_path) {
  return tu_wait(tu_start(argv, in_path, out_path, err_path));
}

size_t tu_descendants(unsigned long pid, unsigned long *out, size_t max) {
  static unsigned long all[4096], parents[4096], frontier[4096];
  size_t nall = 0, n = 0, nf = 1, done = 0;
  PROCESSENTRY32W e;
  HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
  ck_assert(snap != INVALID_HANDLE_VALUE);
  e.dwSize = sizeof e;
  for (BOOL ok = Process32FirstW(snap, &e); ok && nall < 4096;
       ok = Process32NextW(snap, &e)) {
    all[nall] = e.th32ProcessID;
    parents[nall++] = e.th32ParentProcessID;
  }
  CloseHandle(snap);
  frontier[0] = pid;
  while (done < nf) {
    unsigned long cur = frontier[done++];
    for (size_t i = 0; i < nall; i++)
      if (parents[i] == cur && all[i] != cur && nf < 4096) {
        frontier[nf++] = all[i];
        if (n < max)
          out[n++] = all[i];
      }
  }
  return n;
}

int tu_pid_alive(unsigned long pid) {
  HANDLE h = OpenProcess(SYNCHRONIZE, FALSE, (DWORD)pid);
  int alive;
  if (h == NULL)
    return 0;
  alive = WaitForSingleObject(h, 0) == WAIT_TIMEOUT;
  CloseHandle(h);
  return alive;
}

void tu_sleep_ms(long ms) { Sleep((DWORD)ms); }

char *tu_native_path(const char *path) {
  wchar_t *w = widen(path), full[4096];
  char *out;
  DWORD n;
  int len;
  for (wchar_t *c = w; *c; c++)
    if (*c == L'/')
      *c = L'\\';
  n = GetFullPathNameW(w, 4096, full, NULL);
  ck_assert(n > 0 && n < 4096);
  free(w);
  len = WideCharToMultiByte(CP_UTF8, 0, full, -1, NULL, 0, NULL, NULL);
  out = malloc((size_t)len);
  ck_assert_ptr_nonnull(out);
  WideCharToMultiByte(CP_UTF8, 0, full, -1, out, len, NULL, NULL);
  return out;
}
