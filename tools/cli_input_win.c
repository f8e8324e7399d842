/* cli_input.h on Windows: a file mapping of a disk file; waiting for a
 * pipe polls PeekNamedPipe against the wake-up event, since an anonymous
 * pipe's handle cannot be waited for. A console or another kind of input
 * is read directly (the wake-up then comes with its next line). */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <errno.h>
#include <io.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli_input.h"

struct cli_input {
  HANDLE wake; /* manual-reset event, set once woken */
  HANDLE mapping;
  void *view;
  size_t view_len;
  int64_t view_at; /* the file offset of view[0] */
};

static HANDLE stdin_handle(void) { return (HANDLE)_get_osfhandle(0); }

cli_input *cli_input_new(void) {
  cli_input *in = calloc(1, sizeof *in);
  if (in == NULL)
    return NULL;
  if ((in->wake = CreateEventW(NULL, TRUE, FALSE, NULL)) == NULL) {
    free(in);
    errno = ENOMEM;
    return NULL;
  }
  return in;
}

int cli_input_map(cli_input *in, char **buf, size_t *len, size_t *start) {
  HANDLE h = stdin_handle();
  LARGE_INTEGER size;
  SYSTEM_INFO si;
  int64_t at, base, gran;
  uint64_t n;
  if (h == INVALID_HANDLE_VALUE || GetFileType(h) != FILE_TYPE_DISK ||
      !GetFileSizeEx(h, &size) || size.QuadPart <= 0)
    return 0;
  at = _lseeki64(0, 0, SEEK_CUR);
  if (at < 0 || at >= size.QuadPart)
    return 0;
  GetSystemInfo(&si);
  gran = si.dwAllocationGranularity ? si.dwAllocationGranularity : 65536;
  base = at - at % gran;
  n = (uint64_t)(size.QuadPart - base);
  if (n > SIZE_MAX)
    return 0;
  in->mapping = CreateFileMappingW(h, NULL, PAGE_READONLY, 0, 0, NULL);
  if (in->mapping == NULL)
    return 0;
  in->view = MapViewOfFile(in->mapping, FILE_MAP_READ, (DWORD)(base >> 32),
                           (DWORD)(base & 0xffffffff), (SIZE_T)n);
  if (in->view == NULL) {
    CloseHandle(in->mapping);
    in->mapping = NULL;
    return 0;
  }
  in->view_len = (size_t)n;
  in->view_at = base;
  *buf = in->view;
  *len = in->view_len;
  *start = (size_t)(at - base);
  return 1;
}

int cli_input_wait(cli_input *in) {
  HANDLE h = stdin_handle();
  DWORD ms = 1;
  if (WaitForSingleObject(in->wake, 0) == WAIT_OBJECT_0)
    return -1;
  if (h == INVALID_HANDLE_VALUE || GetFileType(h) != FILE_TYPE_PIPE)
    return 0;
  for (;;) {
    DWORD avail = 0;
    if (!PeekNamedPipe(h, NULL, 0, NULL, &avail, NULL) || avail > 0)
      return 0; /* input, or its end (or an error) for the read to report */
    if (WaitForSingleObject(in->wake, ms) == WAIT_OBJECT_0)
      return -1;
    if (ms < 16)
      ms *= 2;
  }
}

long long cli_input_read(cli_input *in, char *buf, size_t cap) {
  int got;
  (void)in;
  got = _read(0, buf, cap > INT_MAX ? INT_MAX : (unsigned)cap);
  if (got < 0 && GetFileType(stdin_handle()) == FILE_TYPE_PIPE &&
      GetLastError() == ERROR_BROKEN_PIPE)
    return 0; /* the writer closed the pipe: the end of input */
  return got;
}

void cli_input_wake(cli_input *in) { SetEvent(in->wake); }

void cli_input_free(cli_input *in) {
  if (in == NULL)
    return;
  if (in->view != NULL) {
    UnmapViewOfFile(in->view);
    CloseHandle(in->mapping);
    /* consumed, as if read */
    (void)_lseeki64(0, in->view_at + (int64_t)in->view_len, SEEK_SET);
  }
  CloseHandle(in->wake);
  free(in);
}
