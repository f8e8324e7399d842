/* The platform layer on Windows (see os.h), built with mingw-w64. Paths
 * arrive as UTF-8 and go to the wide-character API, made absolute and
 * prefixed with \\?\ so that no MAX_PATH limit applies. A file is a C
 * runtime descriptor over a handle opened with every share mode (so that
 * rename and delete of an open file work as on POSIX) and never inherited.
 *
 * What differs from POSIX, on purpose:
 * - fdatasync and fsync are FlushFileBuffers. A directory is not flushed:
 *   NTFS journals its metadata, and renames are made with
 *   MOVEFILE_WRITE_THROUGH, which returns once the rename is on disk; fsync
 *   of a directory descriptor therefore succeeds without a call.
 * - Locks are LockFileEx on one byte far past any data: Windows locks are
 *   mandatory, and locking the data would stop readers in other processes.
 * - Permissions are the file's DACL: a file whose DACL grants access only
 *   to its owner, SYSTEM and Administrators reads as 0600; read or write
 *   access for anyone else sets the group and other bits. New files get
 *   such a DACL, as POSIX mode 0600. The owner reads as the current user
 *   when it is the process's user (or Administrators, for an elevated
 *   process), else as another user.
 * - pread and pwrite move the handle's file position (synchronous handles
 *   do): the library never mixes them with position-relative writes on
 *   one descriptor, except appends, which seek to the end themselves. */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <aclapi.h>
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "os.h"
#include "os_win_internal.h"

#ifndef EWOULDBLOCK
#define EWOULDBLOCK EAGAIN
#endif

/* ---- errors ---- */

static int map_error(DWORD e) {
  switch (e) {
  case ERROR_FILE_NOT_FOUND:
  case ERROR_PATH_NOT_FOUND:
  case ERROR_INVALID_DRIVE:
  case ERROR_BAD_NETPATH:
  case ERROR_BAD_NET_NAME:
    return ENOENT;
  case ERROR_FILE_EXISTS:
  case ERROR_ALREADY_EXISTS:
    return EEXIST;
  case ERROR_ACCESS_DENIED:
  case ERROR_SHARING_VIOLATION:
  case ERROR_PRIVILEGE_NOT_HELD:
    return EACCES;
  case ERROR_LOCK_VIOLATION:
  case ERROR_IO_PENDING:
    return EWOULDBLOCK;
  case ERROR_NOT_ENOUGH_MEMORY:
  case ERROR_OUTOFMEMORY:
    return ENOMEM;
  case ERROR_DISK_FULL:
  case ERROR_HANDLE_DISK_FULL:
    return ENOSPC;
  case ERROR_DIRECTORY:
    return ENOTDIR;
  case ERROR_DIR_NOT_EMPTY:
    return ENOTEMPTY;
  case ERROR_NO_UNICODE_TRANSLATION:
  case ERROR_INVALID_NAME:
  case ERROR_INVALID_PARAMETER:
    return EINVAL;
  case ERROR_CANT_RESOLVE_FILENAME:
    return ELOOP;
  default:
    return EIO;
  }
}

static int fail_win(void) {
  errno = map_error(GetLastError());
  return -1;
}

/* ---- paths ---- */

wchar_t *medshim__os_widen(const char *s) {
  int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
  wchar_t *w;
  if (n <= 0) {
    errno = EINVAL;
    return NULL;
  }
  if ((w = malloc((size_t)n * sizeof *w)) == NULL) {
    errno = ENOMEM;
    return NULL;
  }
  MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n);
  return w;
}

static char *narrow(const wchar_t *w) {
  int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
  char *s;
  if (n <= 0) {
    errno = EINVAL;
    return NULL;
  }
  if ((s = malloc((size_t)n)) == NULL) {
    errno = ENOMEM;
    return NULL;
  }
  WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL);
  return s;
}

/* A UTF-8 path as an absolute \\?\ wide path (\\?\UNC\ for a share). */
static wchar_t *win_path(const char *path) {
  wchar_t *w = medshim__os_widen(path), *full, *out;
  DWORD n;
  size_t len;
  if (w == NULL)
    return NULL;
  for (wchar_t *p = w; *p; p++)
    if (*p == L'/')
      *p = L'\\';
  if (wcsncmp(w, L"\\\\?\\", 4) == 0)
    return w;
  n = GetFullPathNameW(w, 0, NULL, NULL);
  if (n == 0 || (full = malloc(((size_t)n + 1) * sizeof *full)) == NULL) {
    free(w);
    errno = n == 0 ? EINVAL : ENOMEM;
    return NULL;
  }
  GetFullPathNameW(w, n + 1, full, NULL);
  free(w);
  len = wcslen(full);
  if ((out = malloc((len + 8) * sizeof *out)) == NULL) {
    free(full);
    errno = ENOMEM;
    return NULL;
  }
  if (wcsncmp(full, L"\\\\", 2) == 0)
    swprintf(out, len + 8, L"\\\\?\\UNC\\%ls", full + 2);
  else
    swprintf(out, len + 8, L"\\\\?\\%ls", full);
  free(full);
  return out;
}

/* ---- directory descriptors: a descriptor's path, for the *_at calls --- */

typedef struct dir_slot {
  int fd;
  char *path;
} dir_slot;

static pthread_mutex_t dirs_mu = PTHREAD_MUTEX_INITIALIZER;
static dir_slot *dirs;
static size_t ndirs, capdirs;

static int dirs_add(int fd, const char *path) {
  char *copy = strdup(path);
  int rc = -1;
  if (copy == NULL)
    return -1;
  pthread_mutex_lock(&dirs_mu);
  if (ndirs == capdirs) {
    size_t cap = capdirs ? capdirs * 2 : 16;
    dir_slot *n = realloc(dirs, cap * sizeof *n);
    if (n != NULL) {
      dirs = n;
      capdirs = cap;
    }
  }
  if (ndirs < capdirs) {
    dirs[ndirs].fd = fd;
    dirs[ndirs].path = copy;
    ndirs++;
    copy = NULL;
    rc = 0;
  }
  pthread_mutex_unlock(&dirs_mu);
  free(copy);
  return rc;
}

/* The path of directory descriptor fd joined with name (malloc'ed), or
 * NULL with errno EBADF when fd is no directory descriptor. */
static char *dirs_join(int fd, const char *name) {
  char *out = NULL;
  int found = 0;
  pthread_mutex_lock(&dirs_mu);
  for (size_t i = 0; i < ndirs; i++)
    if (dirs[i].fd == fd) {
      found = 1;
      out = medshim__os_path_join(dirs[i].path, name);
      break;
    }
  pthread_mutex_unlock(&dirs_mu);
  if (!found)
    errno = EBADF;
  else if (out == NULL)
    errno = ENOMEM;
  return out;
}

static int dirs_remove(int fd) {
  int found = 0;
  pthread_mutex_lock(&dirs_mu);
  for (size_t i = 0; i < ndirs; i++)
    if (dirs[i].fd == fd) {
      free(dirs[i].path);
      dirs[i] = dirs[--ndirs];
      found = 1;
      break;
    }
  pthread_mutex_unlock(&dirs_mu);
  return found;
}

static int is_dir_fd(int fd) {
  int found = 0;
  pthread_mutex_lock(&dirs_mu);
  for (size_t i = 0; i < ndirs && !found; i++)
    found = dirs[i].fd == fd;
  pthread_mutex_unlock(&dirs_mu);
  return found;
}

/* ---- security: owner-only DACLs and what a DACL means as mode bits ---- */

typedef struct me_sids {
  PSID user;
  int elevated;
  unsigned char user_buf[SECURITY_MAX_SID_SIZE];
  unsigned char admins[SECURITY_MAX_SID_SIZE];
  unsigned char system[SECURITY_MAX_SID_SIZE];
  unsigned char acl[256];
  SECURITY_DESCRIPTOR sd;
  int ok;
} me_sids;

static me_sids me;
static pthread_once_t me_once = PTHREAD_ONCE_INIT;

static void me_init(void) {
  HANDLE tok;
  unsigned char buf[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
  DWORD n = sizeof me.admins;
  TOKEN_ELEVATION el;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok))
    return;
  if (GetTokenInformation(tok, TokenUser, buf, sizeof buf, &n) &&
      CopySid(sizeof me.user_buf, me.user_buf, ((TOKEN_USER *)buf)->User.Sid))
    me.user = (PSID)me.user_buf;
  if (GetTokenInformation(tok, TokenElevation, &el, sizeof el, &n))
    me.elevated = el.TokenIsElevated != 0;
  CloseHandle(tok);
  n = sizeof me.admins;
  CreateWellKnownSid(WinBuiltinAdministratorsSid, NULL, me.admins, &n);
  n = sizeof me.system;
  CreateWellKnownSid(WinLocalSystemSid, NULL, me.system, &n);
  if (me.user == NULL ||
      !InitializeAcl((PACL)me.acl, sizeof me.acl, ACL_REVISION) ||
      !AddAccessAllowedAce((PACL)me.acl, ACL_REVISION, GENERIC_ALL, me.user) ||
      !InitializeSecurityDescriptor(&me.sd, SECURITY_DESCRIPTOR_REVISION) ||
      !SetSecurityDescriptorDacl(&me.sd, TRUE, (PACL)me.acl, FALSE) ||
      !SetSecurityDescriptorControl(&me.sd, SE_DACL_PROTECTED,
                                    SE_DACL_PROTECTED))
    return;
  me.ok = 1;
}

static const me_sids *who_am_i(void) {
  pthread_once(&me_once, me_init);
  return &me;
}

/* The user ids the library compares: 1 for the current user, 2 for any
 * other (there is no root on Windows). */
#define OS_USER_ME 1ul
#define OS_USER_OTHER 2ul

unsigned long medshim__os_user(void) { return OS_USER_ME; }

static int trusted(PSID sid, const me_sids *m) {
  return (m->user != NULL && EqualSid(sid, m->user)) ||
         EqualSid(sid, (PSID)m->system) || EqualSid(sid, (PSID)m->admins);
}

#define WRITE_RIGHTS                                                           \
  (GENERIC_ALL | GENERIC_WRITE | FILE_WRITE_DATA | FILE_APPEND_DATA |          \
   WRITE_DAC | WRITE_OWNER | DELETE)
#define READ_RIGHTS (GENERIC_ALL | GENERIC_READ | FILE_READ_DATA)

/* Mode bits and owner of the object behind h. */
static void security_of(HANDLE h, unsigned *perm, unsigned long *owner) {
  const me_sids *m = who_am_i();
  PSID own = NULL;
  PACL dacl = NULL;
  PSECURITY_DESCRIPTOR sd = NULL;
  *perm = 0600;
  *owner = OS_USER_OTHER;
  if (GetSecurityInfo(h, SE_FILE_OBJECT,
                      OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                      &own, NULL, &dacl, NULL, &sd) != ERROR_SUCCESS) {
    *perm = 0666; /* unknown: as open as it may be */
    return;
  }
  if (own != NULL && m->user != NULL &&
      (EqualSid(own, m->user) ||
       (m->elevated && EqualSid(own, (PSID)m->admins))))
    *owner = OS_USER_ME;
  if (dacl == NULL) {
    *perm = 0666; /* a NULL DACL grants everyone everything */
  } else {
    for (DWORD i = 0; i < dacl->AceCount; i++) {
      ACE_HEADER *ace;
      ACCESS_ALLOWED_ACE *allow;
      if (!GetAce(dacl, i, (void **)&ace) ||
          ace->AceType != ACCESS_ALLOWED_ACE_TYPE)
        continue;
      allow = (ACCESS_ALLOWED_ACE *)ace;
      if (trusted((PSID)&allow->SidStart, m))
        continue;
      if (allow->Mask & WRITE_RIGHTS)
        *perm |= 0022;
      if (allow->Mask & READ_RIGHTS)
        *perm |= 0044;
    }
  }
  LocalFree(sd);
}

int medshim__os_make_private(int fd) {
  const me_sids *m = who_am_i();
  HANDLE h = (HANDLE)_get_osfhandle(fd);
  DWORD rc;
  if (h == INVALID_HANDLE_VALUE) {
    errno = EBADF;
    return -1;
  }
  if (!m->ok) {
    errno = EACCES;
    return -1;
  }
  rc = SetSecurityInfo(h, SE_FILE_OBJECT,
                       DACL_SECURITY_INFORMATION |
                           PROTECTED_DACL_SECURITY_INFORMATION,
                       NULL, NULL, (PACL)m->acl, NULL);
  if (rc != ERROR_SUCCESS) {
    errno = map_error(rc);
    return -1;
  }
  return 0;
}

/* ---- files ---- */

/* Open wpath; dir: a directory (for *_at and fsync). */
static int open_wide(const wchar_t *wpath, unsigned f, int dir) {
  const me_sids *m = who_am_i();
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, FALSE};
  DWORD access, disp, attrs = FILE_ATTRIBUTE_NORMAL;
  BY_HANDLE_FILE_INFORMATION info;
  HANDLE h;
  int crt = _O_BINARY | _O_NOINHERIT, fd;
  if (dir) {
    access = FILE_READ_ATTRIBUTES | READ_CONTROL;
    disp = OPEN_EXISTING;
    attrs = FILE_FLAG_BACKUP_SEMANTICS;
    crt |= _O_RDONLY;
  } else {
    access = (f & MEDSHIM__OS_RDWR)    ? GENERIC_READ | GENERIC_WRITE
             : (f & MEDSHIM__OS_WRITE) ? GENERIC_WRITE
                                       : GENERIC_READ;
    access |= READ_CONTROL | WRITE_DAC; /* the owner may always do both */
    crt |= (f & MEDSHIM__OS_RDWR)    ? _O_RDWR
           : (f & MEDSHIM__OS_WRITE) ? _O_WRONLY
                                     : _O_RDONLY;
    if (f & MEDSHIM__OS_APPEND)
      crt |= _O_APPEND;
    disp = !(f & MEDSHIM__OS_CREATE) ? OPEN_EXISTING
           : (f & MEDSHIM__OS_EXCL)  ? CREATE_NEW
                                     : OPEN_ALWAYS;
    if ((f & MEDSHIM__OS_CREATE) && m->ok)
      sa.lpSecurityDescriptor = (void *)&m->sd;
  }
  if (!(f & MEDSHIM__OS_FOLLOW))
    attrs |= FILE_FLAG_OPEN_REPARSE_POINT;
  h = CreateFileW(wpath, access,
                  FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, &sa,
                  disp, attrs, NULL);
  if (h == INVALID_HANDLE_VALUE && !dir && GetLastError() == ERROR_ACCESS_DENIED) {
    /* not our file: open it without the right to change its DACL */
    access &= ~(DWORD)WRITE_DAC;
    h = CreateFileW(wpath, access,
                    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, &sa,
                    disp, attrs, NULL);
  }
  if (h == INVALID_HANDLE_VALUE)
    return fail_win();
  if (!GetFileInformationByHandle(h, &info)) {
    fail_win();
    CloseHandle(h);
    return -1;
  }
  if (!(f & MEDSHIM__OS_FOLLOW) &&
      (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)) {
    CloseHandle(h);
    errno = ELOOP; /* a symbolic link or junction: never followed */
    return -1;
  }
  if (dir != ((info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0)) {
    CloseHandle(h);
    errno = dir ? ENOTDIR : EISDIR;
    return -1;
  }
  fd = _open_osfhandle((intptr_t)h, crt);
  if (fd < 0) {
    CloseHandle(h);
    errno = EMFILE;
    return -1;
  }
  return fd;
}

static int open_utf8(const char *path, unsigned flags, int dir) {
  wchar_t *w = win_path(path);
  int fd;
  if (w == NULL)
    return -1;
  fd = open_wide(w, flags, dir);
  free(w);
  return fd;
}

int medshim__os_open(const char *path, unsigned flags) {
  return open_utf8(path, flags, 0);
}

int medshim__os_open_at(int dfd, const char *name, unsigned flags) {
  char *p = dirs_join(dfd, name);
  int fd;
  if (p == NULL)
    return -1;
  fd = open_utf8(p, flags, 0);
  free(p);
  return fd;
}

int medshim__os_open_dir(const char *path) {
  int fd = open_utf8(path, MEDSHIM__OS_READ | MEDSHIM__OS_FOLLOW, 1);
  if (fd >= 0 && dirs_add(fd, path) != 0) {
    _close(fd);
    errno = ENOMEM;
    return -1;
  }
  return fd;
}

int medshim__os_close(int fd) {
  (void)dirs_remove(fd);
  return _close(fd);
}

static unsigned clamp(size_t len) {
  return len > INT_MAX ? INT_MAX : (unsigned)len;
}

long long medshim__os_write(int fd, const void *buf, size_t len) {
  return (long long)_write(fd, buf, clamp(len));
}

static long long positioned(int fd, void *buf, size_t len, int64_t off,
                            int writing) {
  HANDLE h = (HANDLE)_get_osfhandle(fd);
  OVERLAPPED ov;
  DWORD done = 0;
  BOOL ok;
  if (h == INVALID_HANDLE_VALUE || off < 0) {
    errno = h == INVALID_HANDLE_VALUE ? EBADF : EINVAL;
    return -1;
  }
  memset(&ov, 0, sizeof ov);
  ov.Offset = (DWORD)((uint64_t)off & 0xffffffffu);
  ov.OffsetHigh = (DWORD)((uint64_t)off >> 32);
  ok = writing ? WriteFile(h, buf, clamp(len), &done, &ov)
               : ReadFile(h, buf, clamp(len), &done, &ov);
  if (!ok) {
    if (!writing && GetLastError() == ERROR_HANDLE_EOF)
      return 0;
    return fail_win();
  }
  return (long long)done;
}

long long medshim__os_pread(int fd, void *buf, size_t len, int64_t off) {
  return positioned(fd, buf, len, off, 0);
}

long long medshim__os_pwrite(int fd, const void *buf, size_t len,
                             int64_t off) {
  return positioned(fd, (void *)buf, len, off, 1);
}

int64_t medshim__os_tell(int fd) { return (int64_t)_lseeki64(fd, 0, SEEK_CUR); }

int medshim__os_fsync(int fd) {
  HANDLE h;
  if (is_dir_fd(fd))
    return 0; /* see the top of this file */
  h = (HANDLE)_get_osfhandle(fd);
  if (h == INVALID_HANDLE_VALUE) {
    errno = EBADF;
    return -1;
  }
  if (FlushFileBuffers(h))
    return 0;
  if (GetLastError() == ERROR_ACCESS_DENIED) {
    /* A read-only handle: POSIX syncs a file through any descriptor,
     * FlushFileBuffers only through one that may write (the replay lane
     * syncs the main lane's segment it only read). A second handle to the
     * same file, for writing, flushes the same file. */
    HANDLE w = ReOpenFile(h, GENERIC_WRITE,
                          FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                          0);
    if (w != INVALID_HANDLE_VALUE) {
      BOOL ok = FlushFileBuffers(w);
      DWORD e = GetLastError();
      CloseHandle(w);
      if (ok)
        return 0;
      SetLastError(e);
    }
  }
  return fail_win();
}

int medshim__os_fdatasync(int fd) { return medshim__os_fsync(fd); }

int medshim__os_truncate(int fd, int64_t len) {
  int rc = _chsize_s(fd, len);
  if (rc != 0) {
    errno = rc;
    return -1;
  }
  return 0;
}

int medshim__os_allocate(int fd, int64_t off, int64_t len) {
  static const unsigned char zeros[64 * 1024];
  while (len > 0) {
    size_t n = len < (int64_t)sizeof zeros ? (size_t)len : sizeof zeros;
    long long w = medshim__os_pwrite(fd, zeros, n, off);
    if (w <= 0)
      return -1;
    off += w;
    len -= w;
  }
  return 0;
}

static int rename_utf8(const char *from, const char *to) {
  wchar_t *a = win_path(from), *b = a ? win_path(to) : NULL;
  int rc = 0;
  if (a == NULL || b == NULL)
    rc = -1;
  else if (!MoveFileExW(a, b, MOVEFILE_REPLACE_EXISTING |
                                  MOVEFILE_WRITE_THROUGH))
    rc = fail_win();
  free(a);
  free(b);
  return rc;
}

int medshim__os_rename_at(int dfd, const char *from, const char *to) {
  char *a = dirs_join(dfd, from), *b = a ? dirs_join(dfd, to) : NULL;
  int rc = a && b ? rename_utf8(a, b) : -1;
  free(a);
  free(b);
  return rc;
}

int medshim__os_unlink_at(int dfd, const char *name) {
  char *p = dirs_join(dfd, name);
  wchar_t *w = p ? win_path(p) : NULL;
  int rc = 0;
  if (w == NULL)
    rc = -1;
  else if (!DeleteFileW(w))
    rc = fail_win();
  free(p);
  free(w);
  return rc;
}

int medshim__os_rename(const char *from, const char *to) {
  return rename_utf8(from, to);
}

int medshim__os_unlink(const char *path) {
  wchar_t *w = win_path(path);
  int rc = 0;
  if (w == NULL)
    return -1;
  if (!DeleteFileW(w))
    rc = fail_win();
  free(w);
  return rc;
}

int medshim__os_mkdir(const char *path) {
  const me_sids *m = who_am_i();
  SECURITY_ATTRIBUTES sa = {sizeof sa, m->ok ? (void *)&m->sd : NULL, FALSE};
  wchar_t *w = win_path(path);
  int rc = 0;
  if (w == NULL)
    return -1;
  if (!CreateDirectoryW(w, &sa))
    rc = fail_win();
  free(w);
  return rc;
}

int medshim__os_remove(const char *path) {
  wchar_t *w = win_path(path);
  DWORD attrs;
  int rc = 0;
  if (w == NULL)
    return -1;
  attrs = GetFileAttributesW(w);
  if (attrs == INVALID_FILE_ATTRIBUTES)
    rc = fail_win();
  else if ((attrs & FILE_ATTRIBUTE_DIRECTORY) ? !RemoveDirectoryW(w)
                                              : !DeleteFileW(w))
    rc = fail_win();
  free(w);
  return rc;
}

static void fill(medshim__os_finfo *out, HANDLE h,
                 const BY_HANDLE_FILE_INFORMATION *info) {
  out->size = (int64_t)(((uint64_t)info->nFileSizeHigh << 32) |
                        info->nFileSizeLow);
  out->is_link = (info->dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0;
  out->is_dir = !out->is_link &&
                (info->dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0;
  out->is_reg = !out->is_link && !out->is_dir;
  security_of(h, &out->perm, &out->owner);
}

int medshim__os_fstat(int fd, medshim__os_finfo *out) {
  HANDLE h = (HANDLE)_get_osfhandle(fd);
  BY_HANDLE_FILE_INFORMATION info;
  if (h == INVALID_HANDLE_VALUE) {
    errno = EBADF;
    return -1;
  }
  if (!GetFileInformationByHandle(h, &info))
    return fail_win();
  fill(out, h, &info);
  return 0;
}

static int stat_utf8(const char *path, medshim__os_finfo *out, int follow) {
  wchar_t *w = win_path(path);
  HANDLE h;
  BY_HANDLE_FILE_INFORMATION info;
  int rc = 0;
  if (w == NULL)
    return -1;
  h = CreateFileW(w, FILE_READ_ATTRIBUTES | READ_CONTROL,
                  FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                  OPEN_EXISTING,
                  FILE_FLAG_BACKUP_SEMANTICS |
                      (follow ? 0 : FILE_FLAG_OPEN_REPARSE_POINT),
                  NULL);
  free(w);
  if (h == INVALID_HANDLE_VALUE)
    return fail_win();
  if (GetFileInformationByHandle(h, &info))
    fill(out, h, &info);
  else
    rc = fail_win();
  CloseHandle(h);
  return rc;
}

int medshim__os_stat_at(int dfd, const char *name, medshim__os_finfo *out) {
  char *p = dirs_join(dfd, name);
  int rc = p ? stat_utf8(p, out, 0) : -1;
  free(p);
  return rc;
}

int medshim__os_lstat(const char *path, medshim__os_finfo *out) {
  return stat_utf8(path, out, 0);
}

int medshim__os_stat(const char *path, medshim__os_finfo *out) {
  return stat_utf8(path, out, 1);
}

char *medshim__os_fd_path(int fd) {
  HANDLE h = (HANDLE)_get_osfhandle(fd);
  DWORD n;
  wchar_t *w;
  char *out;
  if (h == INVALID_HANDLE_VALUE)
    return NULL;
  n = GetFinalPathNameByHandleW(h, NULL, 0, FILE_NAME_NORMALIZED);
  if (n == 0 || (w = malloc(((size_t)n + 1) * sizeof *w)) == NULL)
    return NULL;
  if (GetFinalPathNameByHandleW(h, w, n + 1, FILE_NAME_NORMALIZED) == 0) {
    free(w);
    return NULL;
  }
  out = narrow(wcsncmp(w, L"\\\\?\\", 4) == 0 ? w + 4 : w);
  free(w);
  return out;
}

int medshim__os_list_dir(const char *path,
                         int (*fn)(const char *name, void *payload),
                         void *payload) {
  char *pattern = medshim__os_path_join(path, "*");
  wchar_t *w = pattern ? win_path(pattern) : NULL;
  WIN32_FIND_DATAW fd;
  HANDLE h;
  int rc = 0;
  free(pattern);
  if (w == NULL)
    return -1;
  h = FindFirstFileW(w, &fd);
  free(w);
  if (h == INVALID_HANDLE_VALUE)
    return GetLastError() == ERROR_FILE_NOT_FOUND ? 0 : fail_win();
  do {
    char *name;
    if (wcscmp(fd.cFileName, L".") == 0 || wcscmp(fd.cFileName, L"..") == 0)
      continue;
    if ((name = narrow(fd.cFileName)) == NULL) {
      rc = -1;
      break;
    }
    rc = fn(name, payload);
    free(name);
  } while (rc == 0 && FindNextFileW(h, &fd));
  if (rc == 0 && GetLastError() != ERROR_NO_MORE_FILES)
    rc = fail_win();
  FindClose(h);
  return rc;
}

/* ---- locks ---- */

/* One byte far past any data (see the top of this file). */
#define LOCK_OFFSET_HIGH 0x7fffffffu

int medshim__os_lock(int fd, int wait) {
  HANDLE h = (HANDLE)_get_osfhandle(fd);
  OVERLAPPED ov;
  if (h == INVALID_HANDLE_VALUE) {
    errno = EBADF;
    return -1;
  }
  memset(&ov, 0, sizeof ov);
  ov.OffsetHigh = LOCK_OFFSET_HIGH;
  if (!LockFileEx(h, LOCKFILE_EXCLUSIVE_LOCK |
                         (wait ? 0 : LOCKFILE_FAIL_IMMEDIATELY),
                  0, 1, 0, &ov))
    return fail_win();
  return 0;
}

/* ---- time ---- */

int64_t medshim__os_mono_ns(void) {
  static LARGE_INTEGER freq;
  LARGE_INTEGER now;
  if (freq.QuadPart == 0)
    QueryPerformanceFrequency(&freq);
  QueryPerformanceCounter(&now);
  return (int64_t)(now.QuadPart / freq.QuadPart) * 1000000000 +
         (int64_t)(now.QuadPart % freq.QuadPart) * 1000000000 / freq.QuadPart;
}

int64_t medshim__os_wall_s(void) {
  FILETIME ft;
  uint64_t t;
  GetSystemTimeAsFileTime(&ft);
  t = ((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime;
  return (int64_t)(t / 10000000u) - 11644473600LL; /* from 1601 to 1970 */
}

int64_t medshim__os_wall_ms(void) {
  FILETIME ft;
  uint64_t t;
  GetSystemTimeAsFileTime(&ft);
  t = ((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime;
  return (int64_t)(t / 10000u) - 11644473600000LL; /* from 1601 to 1970 */
}

unsigned long medshim__os_pid(void) {
  return (unsigned long)GetCurrentProcessId();
}

void medshim__os_sleep_ns(int64_t ns) {
  if (ns <= 0)
    return;
  Sleep((DWORD)((ns + 999999) / 1000000));
}

struct tm *medshim__os_utc(int64_t t, struct tm *out) {
  __time64_t tt = (__time64_t)t;
  return _gmtime64_s(out, &tt) == 0 ? out : NULL;
}

int64_t medshim__os_timegm(struct tm *tm) {
  __time64_t t = _mkgmtime64(tm);
  return t == (__time64_t)-1 ? -1 : (int64_t)t;
}

/* ---- memory for keys ---- */

size_t medshim__os_page_size(void) {
  SYSTEM_INFO si;
  GetSystemInfo(&si);
  return si.dwPageSize > 0 ? (size_t)si.dwPageSize : 4096;
}

void *medshim__os_pages_alloc(size_t len) {
  void *p = VirtualAlloc(NULL, len, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
  if (p == NULL)
    return NULL;
  if (!VirtualLock(p, len)) {
    /* the working-set quota is reached: the keys may be paged out */
  }
  return p; /* fresh committed pages are zero */
}

void medshim__os_pages_free(void *p, size_t len) {
  if (!VirtualUnlock(p, len)) {
    /* was never locked (see above) */
  }
  (void)VirtualFree(p, 0, MEM_RELEASE);
}
