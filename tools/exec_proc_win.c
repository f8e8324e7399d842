/* exec_proc.h on Windows: an adapter command runs as
 *
 *   "%SystemRoot%\System32\cmd.exe" /d /s /c "COMMAND"
 *
 * (the system's cmd.exe, never one found on PATH; /d: no AutoRun from the
 * registry; /s /c: cmd strips the outer quotes and runs COMMAND exactly as
 * written, as /bin/sh -c does on Unix). The UTF-8 command becomes UTF-16
 * for CreateProcessW; cmd.exe takes at most 8191 characters.
 *
 * Handles: the child's ends of its two pipes and a duplicate of medshim's
 * stderr are the only inheritable handles, created under a process-wide
 * lock and closed before the lock is released, and named in a
 * PROC_THREAD_ATTRIBUTE_HANDLE_LIST; so even where that list were ignored,
 * one adapter never inherits another's pipe (it would never see the end
 * of its stdin). Everything else medshim opens is not inheritable.
 *
 * Lifetime: the child starts suspended, joins a job object with
 * JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE and only then runs. medshim holds the
 * job's only handle, so when medshim ends (also by TerminateProcess) the
 * adapter and whatever it started die with it: the issue-9 rule, a killed
 * replay's adapters die with it. exec_proc_finish() ends the job with
 * TerminateJobObject.
 *
 * I/O: medshim's ends are overlapped named pipes (anonymous pipes cannot be
 * overlapped); a read or a write is started and waited for with
 * WaitForMultipleObjects, which takes the place of poll. A write that does
 * not fit in the pipe stays in flight from this object's own buffer. */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec_proc.h"
#include "os_win_internal.h"

#define PIPE_BYTES 65536

struct exec_proc {
  HANDLE process, job;
  HANDLE in, out; /* medshim's ends: the adapter's stdin and stdout */
  OVERLAPPED rov, wov;
  int rpending, reof, rerr;
  size_t rlen, roff;
  int wpending, wbroken;
  size_t wlen;
  char rbuf[PIPE_BYTES];
  char wbuf[PIPE_BYTES];
};

struct exec_wake {
  HANDLE ev; /* manual-reset: set while a wake-up is pending */
};

static SRWLOCK start_lock = SRWLOCK_INIT;
static volatile LONG pipe_serial;

void exec_proc_setup(void) {}

double exec_now(void) {
  static LARGE_INTEGER freq;
  LARGE_INTEGER now;
  if (freq.QuadPart == 0)
    QueryPerformanceFrequency(&freq);
  QueryPerformanceCounter(&now);
  return (double)now.QuadPart / (double)freq.QuadPart;
}

static int set_errno(DWORD e) {
  switch (e) {
  case ERROR_NOT_ENOUGH_MEMORY:
  case ERROR_OUTOFMEMORY:
    errno = ENOMEM;
    break;
  case ERROR_FILE_NOT_FOUND:
  case ERROR_PATH_NOT_FOUND:
    errno = ENOENT;
    break;
  case ERROR_ACCESS_DENIED:
    errno = EACCES;
    break;
  case ERROR_BROKEN_PIPE:
  case ERROR_NO_DATA:
    errno = EPIPE;
    break;
  case ERROR_FILENAME_EXCED_RANGE:
    errno = E2BIG;
    break;
  default:
    errno = EIO;
  }
  return -1;
}

/* `"...\cmd.exe" /d /s /c "COMMAND"` and cmd.exe's path; -1 with errno. */
static int command_line(const char *command, wchar_t **app, wchar_t **line) {
  wchar_t sys[MAX_PATH];
  UINT n = GetSystemDirectoryW(sys, MAX_PATH);
  wchar_t *cmd = medshim__os_widen(command);
  size_t len;
  *app = *line = NULL;
  if (cmd == NULL)
    return -1;
  if (n == 0 || n >= MAX_PATH - 16) {
    free(cmd);
    errno = ENOENT;
    return -1;
  }
  len = wcslen(sys) + wcslen(cmd) + 48;
  *app = malloc((wcslen(sys) + 16) * sizeof **app);
  *line = malloc(len * sizeof **line);
  if (*app == NULL || *line == NULL) {
    free(*app);
    free(*line);
    free(cmd);
    *app = *line = NULL;
    errno = ENOMEM;
    return -1;
  }
  swprintf(*app, wcslen(sys) + 16, L"%ls\\cmd.exe", sys);
  swprintf(*line, len, L"\"%ls\" /d /s /c \"%ls\"", *app, cmd);
  SecureZeroMemory(cmd, wcslen(cmd) * sizeof *cmd);
  free(cmd);
  return 0;
}

/* One pipe: medshim's overlapped end *mine (outbound when medshim writes)
 * and the child's inheritable end *theirs. */
static int make_pipe(int medshim_writes, HANDLE *mine, HANDLE *theirs) {
  SECURITY_ATTRIBUTES inherit = {sizeof inherit, NULL, TRUE};
  wchar_t name[96];
  DWORD mode = PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT;
  OVERLAPPED ov;
  DWORD unused;
  int ok;
  swprintf(name, sizeof name / sizeof *name,
           L"\\\\.\\pipe\\medshim-exec-%lu-%ld-%llx",
           (unsigned long)GetCurrentProcessId(),
           (long)InterlockedIncrement(&pipe_serial),
           (unsigned long long)GetTickCount64());
  *mine = CreateNamedPipeW(
      name,
      (medshim_writes ? PIPE_ACCESS_OUTBOUND : PIPE_ACCESS_INBOUND) |
          FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
      mode | PIPE_REJECT_REMOTE_CLIENTS, 1, PIPE_BYTES, PIPE_BYTES, 0, NULL);
  if (*mine == INVALID_HANDLE_VALUE && GetLastError() == ERROR_INVALID_PARAMETER)
    *mine = CreateNamedPipeW( /* a system without PIPE_REJECT_REMOTE_CLIENTS */
        name,
        (medshim_writes ? PIPE_ACCESS_OUTBOUND : PIPE_ACCESS_INBOUND) |
            FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
        mode, 1, PIPE_BYTES, PIPE_BYTES, 0, NULL);
  if (*mine == INVALID_HANDLE_VALUE)
    return set_errno(GetLastError());
  *theirs = CreateFileW(name, medshim_writes ? GENERIC_READ : GENERIC_WRITE, 0,
                        &inherit, OPEN_EXISTING, 0, NULL);
  if (*theirs == INVALID_HANDLE_VALUE) {
    DWORD e = GetLastError();
    CloseHandle(*mine);
    *mine = NULL;
    return set_errno(e);
  }
  /* the client is connected already; ConnectNamedPipe only confirms it */
  memset(&ov, 0, sizeof ov);
  ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
  ok = ov.hEvent != NULL;
  if (ok && !ConnectNamedPipe(*mine, &ov)) {
    DWORD e = GetLastError();
    if (e == ERROR_IO_PENDING)
      ok = GetOverlappedResult(*mine, &ov, &unused, TRUE) != 0;
    else
      ok = e == ERROR_PIPE_CONNECTED;
  }
  if (ov.hEvent != NULL)
    CloseHandle(ov.hEvent);
  if (!ok) {
    DWORD e = GetLastError();
    CloseHandle(*mine);
    CloseHandle(*theirs);
    *mine = *theirs = NULL;
    return set_errno(e);
  }
  return 0;
}

/* medshim's stderr for the child (inheritable), or the NUL device. */
static HANDLE child_stderr(void) {
  SECURITY_ATTRIBUTES inherit = {sizeof inherit, NULL, TRUE};
  HANDLE err = GetStdHandle(STD_ERROR_HANDLE), dup = NULL;
  if (err != NULL && err != INVALID_HANDLE_VALUE &&
      DuplicateHandle(GetCurrentProcess(), err, GetCurrentProcess(), &dup, 0,
                      TRUE, DUPLICATE_SAME_ACCESS))
    return dup;
  dup = CreateFileW(L"NUL", GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                    &inherit, OPEN_EXISTING, 0, NULL);
  return dup == INVALID_HANDLE_VALUE ? NULL : dup;
}

static void close_handle(HANDLE *h) {
  if (*h != NULL && *h != INVALID_HANDLE_VALUE)
    CloseHandle(*h);
  *h = NULL;
}

static HANDLE kill_on_close_job(void) {
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION li;
  HANDLE job = CreateJobObjectW(NULL, NULL);
  if (job == NULL)
    return NULL;
  memset(&li, 0, sizeof li);
  li.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
  if (!SetInformationJobObject(job, JobObjectExtendedLimitInformation, &li,
                               sizeof li)) {
    DWORD e = GetLastError();
    CloseHandle(job);
    SetLastError(e);
    return NULL;
  }
  return job;
}

static void free_proc(exec_proc *p) {
  close_handle(&p->rov.hEvent);
  close_handle(&p->wov.hEvent);
  SecureZeroMemory(p, sizeof *p);
  free(p);
}

exec_proc *exec_proc_start(const char *command) {
  exec_proc *p = calloc(1, sizeof *p);
  wchar_t *app = NULL, *line = NULL;
  HANDLE child[3] = {NULL, NULL, NULL}; /* stdin, stdout, stderr */
  LPPROC_THREAD_ATTRIBUTE_LIST attrs = NULL;
  STARTUPINFOEXW si;
  PROCESS_INFORMATION pi;
  SIZE_T size = 0;
  DWORD err = 0;
  int attrs_ready = 0, started = 0;
  if (p == NULL) {
    errno = ENOMEM;
    return NULL;
  }
  p->rov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
  p->wov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (p->rov.hEvent == NULL || p->wov.hEvent == NULL) {
    set_errno(GetLastError());
    free_proc(p);
    return NULL;
  }
  if (command_line(command, &app, &line) != 0) {
    free_proc(p);
    return NULL;
  }
  if ((p->job = kill_on_close_job()) == NULL) {
    err = GetLastError();
    goto fail;
  }

  AcquireSRWLockExclusive(&start_lock);
  if (make_pipe(1, &p->in, &child[0]) != 0 ||
      make_pipe(0, &p->out, &child[1]) != 0) {
    err = GetLastError();
    goto unlock;
  }
  if ((child[2] = child_stderr()) == NULL) {
    err = GetLastError();
    goto unlock;
  }
  if (!InitializeProcThreadAttributeList(NULL, 1, 0, &size) &&
      GetLastError() != ERROR_INSUFFICIENT_BUFFER) {
    err = GetLastError();
    goto unlock;
  }
  if ((attrs = malloc(size)) == NULL) {
    err = ERROR_NOT_ENOUGH_MEMORY;
    goto unlock;
  }
  if (!InitializeProcThreadAttributeList(attrs, 1, 0, &size)) {
    err = GetLastError();
    goto unlock;
  }
  attrs_ready = 1;
  if (!UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST,
                                 child, sizeof child, NULL, NULL)) {
    err = GetLastError();
    goto unlock;
  }
  memset(&si, 0, sizeof si);
  si.StartupInfo.cb = sizeof si;
  si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  si.StartupInfo.hStdInput = child[0];
  si.StartupInfo.hStdOutput = child[1];
  si.StartupInfo.hStdError = child[2];
  si.lpAttributeList = attrs;
  memset(&pi, 0, sizeof pi);
  /* a new process group: a console's Ctrl+C is medshim's to handle, as
   * the adapter's own process group keeps it from the terminal on Unix */
  if (!CreateProcessW(app, line, NULL, NULL, TRUE,
                      CREATE_SUSPENDED | EXTENDED_STARTUPINFO_PRESENT |
                          CREATE_NEW_PROCESS_GROUP | CREATE_UNICODE_ENVIRONMENT,
                      NULL, NULL, &si.StartupInfo, &pi)) {
    err = GetLastError();
    goto unlock;
  }
  started = 1;
unlock:
  /* the child's ends: in the child now, or never */
  for (int i = 0; i < 3; i++)
    close_handle(&child[i]);
  ReleaseSRWLockExclusive(&start_lock);
  if (attrs_ready)
    DeleteProcThreadAttributeList(attrs);
  free(attrs);
  if (!started)
    goto fail;
  if (!AssignProcessToJobObject(p->job, pi.hProcess)) {
    err = GetLastError();
    TerminateProcess(pi.hProcess, 1);
    WaitForSingleObject(pi.hProcess, INFINITE);
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
    goto fail;
  }
  p->process = pi.hProcess;
  if (ResumeThread(pi.hThread) == (DWORD)-1) {
    err = GetLastError();
    CloseHandle(pi.hThread);
    TerminateJobObject(p->job, 1);
    WaitForSingleObject(p->process, INFINITE);
    close_handle(&p->process);
    goto fail;
  }
  CloseHandle(pi.hThread);
  SecureZeroMemory(line, wcslen(line) * sizeof *line);
  free(line);
  free(app);
  return p;
fail:
  close_handle(&p->in);
  close_handle(&p->out);
  close_handle(&p->job);
  if (line != NULL)
    SecureZeroMemory(line, wcslen(line) * sizeof *line);
  free(line);
  free(app);
  free_proc(p);
  set_errno(err);
  return NULL;
}

/* ---- reads ---- */

static void read_start(exec_proc *p) {
  if (p->rpending || p->reof || p->rerr || p->roff < p->rlen)
    return;
  p->rlen = p->roff = 0;
  ResetEvent(p->rov.hEvent);
  if (ReadFile(p->out, p->rbuf, sizeof p->rbuf, NULL, &p->rov) ||
      GetLastError() == ERROR_IO_PENDING) {
    p->rpending = 1;
    return;
  }
  if (GetLastError() == ERROR_BROKEN_PIPE || GetLastError() == ERROR_HANDLE_EOF)
    p->reof = 1;
  else
    p->rerr = 1;
}

/* Collect a finished read; 1 when there is something for exec_proc_read. */
static int read_ready(exec_proc *p) {
  DWORD n = 0;
  if (p->rpending) {
    if (GetOverlappedResult(p->out, &p->rov, &n, FALSE)) {
      p->rpending = 0;
      p->rlen = n;
      p->roff = 0;
    } else if (GetLastError() != ERROR_IO_INCOMPLETE) {
      DWORD e = GetLastError();
      p->rpending = 0;
      if (e == ERROR_BROKEN_PIPE || e == ERROR_HANDLE_EOF)
        p->reof = 1;
      else
        p->rerr = 1;
    }
  }
  return p->roff < p->rlen || p->reof || p->rerr;
}

long long exec_proc_read(exec_proc *p, char *buf, size_t cap) {
  for (;;) {
    read_start(p);
    if (read_ready(p)) {
      size_t n = p->rlen - p->roff;
      if (n > 0) {
        if (n > cap)
          n = cap;
        memcpy(buf, p->rbuf + p->roff, n);
        SecureZeroMemory(p->rbuf + p->roff, n);
        p->roff += n;
        return (long long)n;
      }
      if (p->reof)
        return 0;
      errno = EIO;
      return -1;
    }
    WaitForSingleObject(p->rov.hEvent, INFINITE);
  }
}

/* ---- writes ---- */

/* Collect a finished write; 1 when another may be started. */
static int write_ready(exec_proc *p) {
  DWORD n = 0;
  if (p->wpending) {
    if (GetOverlappedResult(p->in, &p->wov, &n, FALSE)) {
      p->wpending = 0;
    } else if (GetLastError() != ERROR_IO_INCOMPLETE) {
      p->wpending = 0;
      p->wbroken = 1;
    }
    if (!p->wpending) {
      SecureZeroMemory(p->wbuf, p->wlen);
      p->wlen = 0;
    }
  }
  return !p->wpending;
}

long long exec_proc_write(exec_proc *p, const char *data, size_t len) {
  size_t n = len < sizeof p->wbuf ? len : sizeof p->wbuf;
  if (p->in == NULL) {
    errno = EPIPE;
    return -1;
  }
  if (!write_ready(p))
    return 0;
  if (p->wbroken) {
    errno = EPIPE;
    return -1;
  }
  if (n == 0)
    return 0;
  memcpy(p->wbuf, data, n);
  p->wlen = n;
  ResetEvent(p->wov.hEvent);
  if (WriteFile(p->in, p->wbuf, (DWORD)n, NULL, &p->wov) ||
      GetLastError() == ERROR_IO_PENDING) {
    p->wpending = 1;
    (void)write_ready(p);
    return (long long)n; /* taken: in the pipe, or in flight from wbuf */
  }
  set_errno(GetLastError());
  SecureZeroMemory(p->wbuf, n);
  p->wlen = 0;
  p->wbroken = 1;
  return -1;
}

int exec_proc_write_all(exec_proc *p, const char *data, size_t len,
                        double deadline) {
  size_t done = 0;
  while (done < len) {
    long long n = exec_proc_write(p, data + done, len - done);
    double left;
    if (n < 0)
      return -1;
    done += (size_t)n;
    if (done == len)
      break;
    left = deadline - exec_now();
    if (left <= 0)
      return -2;
    WaitForSingleObject(p->wov.hEvent, (DWORD)(left * 1000) + 1);
  }
  return 0;
}

/* Wait for (or cancel) what is in flight on h, so that its buffer and
 * OVERLAPPED may go. */
static void settle_io(HANDLE h, OVERLAPPED *ov, int *pending, DWORD wait_ms) {
  DWORD n;
  if (!*pending)
    return;
  if (WaitForSingleObject(ov->hEvent, wait_ms) != WAIT_OBJECT_0)
    CancelIoEx(h, ov);
  (void)GetOverlappedResult(h, ov, &n, TRUE);
  *pending = 0;
}

void exec_proc_close_in(exec_proc *p) {
  if (p->in == NULL)
    return;
  /* what is in flight was taken: give the adapter a moment to read it */
  settle_io(p->in, &p->wov, &p->wpending, 1000);
  SecureZeroMemory(p->wbuf, p->wlen);
  p->wlen = 0;
  close_handle(&p->in);
}

/* ---- waiting ---- */

int exec_proc_poll(exec_proc *p, int want_write, exec_wake *wake,
                   int timeout_ms) {
  HANDLE h[3];
  DWORD n = 0, rc;
  for (int round = 0;; round++) {
    int ready = 0;
    read_start(p);
    if (read_ready(p))
      ready |= EXEC_READABLE;
    if (want_write && p->in != NULL && (write_ready(p) || p->wbroken))
      ready |= EXEC_WRITABLE;
    if (wake != NULL && WaitForSingleObject(wake->ev, 0) == WAIT_OBJECT_0) {
      ResetEvent(wake->ev);
      ready |= EXEC_WOKEN;
    }
    if (ready != 0 || round > 0)
      return ready;
    n = 0;
    if (p->rpending)
      h[n++] = p->rov.hEvent;
    if (want_write && p->wpending)
      h[n++] = p->wov.hEvent;
    if (wake != NULL)
      h[n++] = wake->ev;
    if (n == 0) { /* nothing to wait for: only the time */
      Sleep(timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms);
      return 0;
    }
    rc = WaitForMultipleObjects(n, h, FALSE,
                                timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms);
    if (rc == WAIT_FAILED)
      return set_errno(GetLastError());
    if (rc == WAIT_TIMEOUT)
      return 0;
  }
}

int exec_proc_wait(exec_proc *p, double deadline, int *status) {
  for (;;) {
    double left = deadline - exec_now();
    DWORD code;
    DWORD ms = left <= 0 ? 0 : (DWORD)(left * 1000) + 1;
    if (WaitForSingleObject(p->process, ms) == WAIT_OBJECT_0 &&
        GetExitCodeProcess(p->process, &code)) {
      *status = (int)code;
      return 1;
    }
    if (exec_now() >= deadline)
      return 0;
  }
}

int exec_proc_finish(exec_proc *p) {
  int rc = -1;
  DWORD code;
  if (p == NULL)
    return -1;
  if (p->in != NULL) { /* killed: what is in flight is lost */
    settle_io(p->in, &p->wov, &p->wpending, 0);
    close_handle(&p->in);
  }
  if (WaitForSingleObject(p->process, 0) == WAIT_OBJECT_0 &&
      GetExitCodeProcess(p->process, &code))
    rc = (int)code;
  /* the shell, the adapter and whatever it left running in the job */
  TerminateJobObject(p->job, 1);
  WaitForSingleObject(p->process, INFINITE);
  settle_io(p->out, &p->rov, &p->rpending, 0);
  close_handle(&p->out);
  close_handle(&p->process);
  close_handle(&p->job);
  free_proc(p);
  return rc;
}

exec_wake *exec_wake_new(void) {
  exec_wake *w = malloc(sizeof *w);
  if (w == NULL) {
    errno = ENOMEM;
    return NULL;
  }
  if ((w->ev = CreateEventW(NULL, TRUE, FALSE, NULL)) == NULL) {
    set_errno(GetLastError());
    free(w);
    return NULL;
  }
  return w;
}

void exec_wake_signal(exec_wake *w) { SetEvent(w->ev); }

void exec_wake_free(exec_wake *w) {
  if (w == NULL)
    return;
  CloseHandle(w->ev);
  free(w);
}
