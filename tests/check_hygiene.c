/* Hygiene: texts cut on UTF-8 boundaries, no personal data in error texts,
 * the first error is the one reported, files created without following or
 * replacing anything, directories others could write refused, key material
 * out of core dumps. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "errors_internal.h"
#include "io_internal.h"
#include "journal_internal.h"
#include "medshim/medshim.h"
#include "testutil.h"

/* medshim_journal_close()'s code, where a test is about it: a macro, so
 * that this suite also builds against the old `void` close (as 0). */
#define OLD_CLOSE_RC(j) medshim_journal_close(j)

static char *dir, *jdir, *key;
static const char *cli;

static void setup(void) {
  cli = getenv("MEDSHIM_CLI");
  dir = tu_tempdir();
  jdir = tu_path(dir, "journal");
  key = tu_path(dir, "key");
  tu_write_key(key, 1);
  medshim__io_inject(MEDSHIM__IO_WRITE, -1, 0);
  medshim__io_inject(MEDSHIM__IO_SYNC, -1, 0);
}

static void teardown(void) {
  medshim__io_inject(MEDSHIM__IO_WRITE, -1, 0);
  medshim__io_inject(MEDSHIM__IO_SYNC, -1, 0);
  if (dir != NULL)
    chmod(dir, 0700);
  tu_rmtree(dir);
  free(dir);
  free(jdir);
  free(key);
}

/* ---- helpers ------------------------------------------------------------ */

/* 1 when s[0..n) is valid UTF-8 (what jansson and terminals accept). */
static int valid_utf8(const char *s, size_t n) {
  json_t *j = json_stringn(s, n);
  int ok = j != NULL;
  json_decref(j);
  return ok;
}

/* Run the CLI with args (NULL-terminated), stdin from input; stdout and
 * stderr captured (malloc'ed, NUL-terminated). Returns the exit status. */
__attribute__((sentinel))
static int run_cli(const char *input, char **out, char **err, ...) {
  char *argv[16], *op = tu_path(dir, "stdout"), *ep = tu_path(dir, "stderr");
  char *ip = tu_path(dir, "stdin");
  va_list ap;
  int argc = 0, status;
  size_t len;
  pid_t pid;
  ck_assert_msg(cli != NULL, "MEDSHIM_CLI not set");
  argv[argc++] = (char *)cli;
  va_start(ap, err);
  for (char *a; (a = va_arg(ap, char *)) != NULL && argc < 15;)
    argv[argc++] = a;
  va_end(ap);
  argv[argc] = NULL;
  tu_write_file(ip, (const unsigned char *)(input ? input : ""),
                input ? strlen(input) : 0);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    int i = open(ip, O_RDONLY), o = open(op, O_WRONLY | O_CREAT | O_TRUNC, 0600),
        e = open(ep, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(i, 0);
    dup2(o, 1);
    dup2(e, 2);
    execv(cli, argv);
    _exit(127);
  }
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  if (out) {
    *out = (char *)tu_read_file(op, &len);
    *out = realloc(*out, len + 1);
    (*out)[len] = '\0';
  }
  if (err) {
    *err = (char *)tu_read_file(ep, &len);
    *err = realloc(*err, len + 1);
    (*err)[len] = '\0';
  }
  free(op);
  free(ep);
  free(ip);
  ck_assert(WIFEXITED(status));
  return WEXITSTATUS(status);
}

static medshim_journal *open_rw(void) {
  medshim_journal_options o = tu_opts(key, MEDSHIM_JOURNAL_CREATE);
  medshim_journal *j = NULL;
  medshim_error err;
  memset(&err, 0, sizeof err);
  ck_assert_msg(medshim_journal_open(&j, jdir, &o, &err) == MEDSHIM_OK,
                "open: %s: %s", err.where, err.text);
  return j;
}

static void defer_ok(medshim_journal *j, const char *prefix, int from, int n) {
  for (int i = from; i < from + n; i++) {
    medshim_claim *c = tu_claim(prefix, i);
    ck_assert_msg(medshim_journal_defer(j, c, NULL) == MEDSHIM_OK, "%s",
                  medshim_journal_errmsg(j));
    medshim_claim_free(c);
  }
}

/* "一二三..." repeated: n bytes of 3-byte characters after an ASCII lead,
 * so that a cut at a fixed size falls inside a character. */
static char *chinese(const char *lead, size_t chars) {
  static const char *const cs[] = {"王", "小", "明", "欧", "阳", "娜"};
  size_t l = strlen(lead);
  char *s = malloc(l + 3 * chars + 1);
  ck_assert_ptr_nonnull(s);
  memcpy(s, lead, l);
  for (size_t i = 0; i < chars; i++)
    memcpy(s + l + 3 * i, cs[i % 6], 3);
  s[l + 3 * chars] = '\0';
  return s;
}

/* ---- 5. texts cut on UTF-8 boundaries ------------------------------------ */

START_TEST(test_utf8_error_text_cut_on_boundary) {
  medshim_error err;
  char *where = chinese("ab", 60), *text = chinese("a", 100);
  memset(&err, 0, sizeof err);
  medshim__error_set(&err, MEDSHIM_EINVAL, where, "%s", text);
  ck_assert_msg(valid_utf8(err.where, strlen(err.where)), "where cut inside a "
                "character (%zu bytes)", strlen(err.where));
  ck_assert_msg(valid_utf8(err.text, strlen(err.text)), "text cut inside a "
                "character (%zu bytes)", strlen(err.text));
  /* cut before the whole character that did not fit, not earlier */
  ck_assert_uint_ge(strlen(err.where), sizeof err.where - 1 - 3);
  ck_assert_uint_ge(strlen(err.text), sizeof err.text - 1 - 3);
  ck_assert(strncmp(err.text, text, strlen(err.text)) == 0);
  free(where);
  free(text);
}
END_TEST

/* A journal path in Chinese longer than the error's where field. */
START_TEST(test_utf8_journal_error_path_cut_on_boundary) {
  char *name = chinese("x", 70), *p = tu_path(dir, name);
  medshim_journal_options o = tu_opts(key, MEDSHIM_JOURNAL_READONLY);
  medshim_journal *j = NULL;
  medshim_error err;
  memset(&err, 0, sizeof err);
  ck_assert_int_ne(medshim_journal_open(&j, p, &o, &err), MEDSHIM_OK);
  ck_assert_msg(valid_utf8(err.where, strlen(err.where)), "where: %zu bytes",
                strlen(err.where));
  ck_assert_msg(valid_utf8(err.text, strlen(err.text)), "text: %zu bytes",
                strlen(err.text));
  free(name);
  free(p);
}
END_TEST

#define CLAIM_FMT                                                              \
  "{\"visit_id\":\"D%d\",\"service\":\"outpatient\",\"insured_admdvs\":"   \
  "\"330102\",\"treated_admdvs\":\"330106\",\"visit_time\":"                   \
  "\"2022-02-11T09:30:00+08:00\",\"total_fen\":23850,\"self_paid_fen\":23850," \
  "\"patient\":{\"name\":\"王小明\",\"id_no\":\"330102198001014321\"}}\n"

#define CLAIM_LINE(id)                                                         \
  "{\"visit_id\":\"" id "\",\"service\":\"outpatient\",\"insured_admdvs\":"   \
  "\"330102\",\"treated_admdvs\":\"330106\",\"visit_time\":"                   \
  "\"2022-02-11T09:30:00+08:00\",\"total_fen\":23850,\"self_paid_fen\":23850," \
  "\"patient\":{\"name\":\"王小明\",\"id_no\":\"330102198001014321\"}}\n"

/* A 300-byte Chinese rejection message, cut to the 256 bytes a status
 * holds the way an adapter's answer is copied (snprintf), then listed. */
START_TEST(test_utf8_list_shows_cut_rejection) {
  char *msg = chinese("", 100), *out = NULL, *errt = NULL;
  medshim_claim_status st;
  medshim_journal *j;
  json_t *line, *m;
  json_error_t je;
  const char *shown;
  ck_assert_int_eq(run_cli(CLAIM_LINE("R1"), NULL, &errt, "defer", "--create", "--journal",
                           jdir, "--key", key, NULL),
                   0);
  free(errt);
  j = open_rw();
  medshim_claim_status_init(&st, MEDSHIM_CLAIM_STATUS_VERSION);
  st.state = MEDSHIM_STATE_REJECTED;
  st.attempts = 1;
  memcpy(st.code, "1403", 5);
  ck_assert_uint_eq(strlen(msg), 300);
  /* 256 bytes: 85 characters and the first byte of the 86th */
  snprintf(st.message, sizeof st.message, "%s", msg);
  ck_assert_int_eq(medshim_journal_set_status(j, "R1", &st), MEDSHIM_OK);
  ck_assert_int_eq(medshim_journal_close(j), MEDSHIM_OK);
  ck_assert_int_eq(run_cli(NULL, &out, &errt, "list", "--journal", jdir,
                           "--key", key, NULL),
                   0);
  line = json_loads(out, JSON_DISABLE_EOF_CHECK, &je);
  ck_assert_msg(line != NULL, "list printed no JSON: %s", out);
  m = json_object_get(line, "message");
  ck_assert_msg(m != NULL, "the message was dropped: %s", out);
  shown = json_string_value(m);
  ck_assert_uint_eq(strlen(shown), 255); /* 85 whole characters */
  ck_assert(strncmp(shown, msg, 255) == 0);
  json_decref(line);
  free(out);
  free(errt);
  free(msg);
}
END_TEST

/* ---- 3. the first error is the one reported ------------------------------ */

static void full_disk_is_said_and_kept(enum medshim__io_kind kind) {
  medshim_journal *j = open_rw();
  medshim_claim *c = tu_claim("F", 1);
  char first[512];
  defer_ok(j, "V", 0, 3);
  medshim__io_inject(kind, 0, ENOSPC);
  ck_assert_int_eq(medshim_journal_defer(j, c, NULL), MEDSHIM_EIO);
  snprintf(first, sizeof first, "%s", medshim_journal_errmsg(j));
  ck_assert_msg(strstr(first, "no space left on device") != NULL, "%s", first);
  ck_assert_msg(strstr(first, "seg-0000000000000001.msj") != NULL,
                "the file is not named: %s", first);
  /* Later calls are refused, and still say why. */
  medshim__io_inject(kind, -1, 0);
  ck_assert_int_eq(medshim_journal_defer(j, c, NULL), MEDSHIM_EPOISONED);
  ck_assert_msg(strstr(medshim_journal_errmsg(j), "no space left on device"),
                "first error overwritten: %s", medshim_journal_errmsg(j));
  ck_assert_int_eq(medshim_journal_get(NULL, NULL, j, "V0"), MEDSHIM_EPOISONED);
  {
    int rc = medshim_journal_sync(j);
    ck_assert(rc == MEDSHIM_OK || rc == MEDSHIM_EPOISONED);
  }
  ck_assert_str_eq(medshim_journal_errmsg(j), first);
  ck_assert_int_eq(medshim_journal_close(j), MEDSHIM_EPOISONED);
  medshim_claim_free(c);
}

START_TEST(test_first_error_enospc_on_write) {
  full_disk_is_said_and_kept(MEDSHIM__IO_WRITE);
}
END_TEST

START_TEST(test_first_error_enospc_on_sync) {
  full_disk_is_said_and_kept(MEDSHIM__IO_SYNC);
}
END_TEST

/* The checkpoint written at close fails: close says so. */
static void close_fails(enum medshim__io_kind kind) {
  medshim_journal *j = open_rw();
  defer_ok(j, "V", 0, 3);
  medshim__io_inject(kind, 0, ENOSPC);
  ck_assert_int_eq(OLD_CLOSE_RC(j), MEDSHIM_EIO);
  medshim__io_inject(kind, -1, 0);
  /* every acknowledged claim is there */
  j = open_rw();
  ck_assert_uint_eq(medshim_journal_count(j), 3);
  ck_assert_int_eq(medshim_journal_close(j), MEDSHIM_OK);
}

START_TEST(test_close_reports_failed_checkpoint_write) {
  close_fails(MEDSHIM__IO_WRITE);
}
END_TEST

START_TEST(test_close_reports_failed_checkpoint_sync) {
  close_fails(MEDSHIM__IO_SYNC);
}
END_TEST

/* Every versioned struct's init: NULL and any other version refused, the
 * struct zeroed and its version set (so one macro can serve them all). */
#define CHECK_VERSIONED_INIT(type, init, current)                              \
  do {                                                                         \
    type v;                                                                    \
    memset(&v, 0xa5, sizeof v);                                                \
    ck_assert_int_eq(init(NULL, current), MEDSHIM_EINVAL);                     \
    ck_assert_int_eq(init(&v, (current) + 1), MEDSHIM_EINVAL);                 \
    ck_assert_int_eq(init(&v, 0), MEDSHIM_EINVAL);                             \
    ck_assert_int_eq(init(&v, current), MEDSHIM_OK);                           \
    ck_assert_uint_eq(v.version, current);                                     \
  } while (0)

START_TEST(test_versioned_inits_refuse_and_zero) {
  medshim_journal_options jo;
  medshim_schedule_options so;
  medshim_claim_fields cf;
  medshim_claim_status cs;
  CHECK_VERSIONED_INIT(medshim_journal_options, medshim_journal_options_init,
                       MEDSHIM_JOURNAL_OPTIONS_VERSION);
  CHECK_VERSIONED_INIT(medshim_schedule_options, medshim_schedule_options_init,
                       MEDSHIM_SCHEDULE_OPTIONS_VERSION);
  CHECK_VERSIONED_INIT(medshim_replay_options, medshim_replay_options_init,
                       MEDSHIM_REPLAY_OPTIONS_VERSION);
  CHECK_VERSIONED_INIT(medshim_claim_fields, medshim_claim_fields_init,
                       MEDSHIM_CLAIM_FIELDS_VERSION);
  CHECK_VERSIONED_INIT(medshim_claim_status, medshim_claim_status_init,
                       MEDSHIM_CLAIM_STATUS_VERSION);
  /* zeroed past the version */
  memset(&jo, 0xa5, sizeof jo);
  ck_assert_int_eq(
      medshim_journal_options_init(&jo, MEDSHIM_JOURNAL_OPTIONS_VERSION), 0);
  ck_assert_ptr_null(jo.key_file);
  ck_assert_uint_eq(jo.flags, 0);
  memset(&so, 0xa5, sizeof so);
  ck_assert_int_eq(
      medshim_schedule_options_init(&so, MEDSHIM_SCHEDULE_OPTIONS_VERSION), 0);
  ck_assert_ptr_null(so.public_key_pem);
  memset(&cf, 0xa5, sizeof cf);
  ck_assert_int_eq(
      medshim_claim_fields_init(&cf, MEDSHIM_CLAIM_FIELDS_VERSION), 0);
  ck_assert_ptr_null(cf.visit_id);
  ck_assert_int_eq(cf.total_fen, 0);
  memset(&cs, 0xa5, sizeof cs);
  ck_assert_int_eq(
      medshim_claim_status_init(&cs, MEDSHIM_CLAIM_STATUS_VERSION), 0);
  ck_assert_int_eq(cs.state, MEDSHIM_STATE_PENDING); /* its one default */
  ck_assert_uint_eq(cs.attempts, 0);
}
END_TEST

START_TEST(test_close_null_and_readonly_ok) {
  medshim_journal_options o = tu_opts(key, MEDSHIM_JOURNAL_READONLY);
  medshim_journal *j = open_rw();
  defer_ok(j, "V", 0, 1);
  ck_assert_int_eq(medshim_journal_close(j), MEDSHIM_OK);
  ck_assert_int_eq(medshim_journal_close(NULL), MEDSHIM_OK);
  ck_assert_int_eq(medshim_journal_open(&j, jdir, &o, NULL), MEDSHIM_OK);
  ck_assert_int_eq(medshim_journal_close(j), MEDSHIM_OK);
}
END_TEST

/* `medshim defer`: the checkpoint cannot be written at close (something
 * that is not a file of ours sits at checkpoint.tmp): exit non-zero and
 * say so, after acknowledging the claim. */
START_TEST(test_cli_defer_close_failure_exits_nonzero) {
  int in[2], out[2], status;
  char buf[4096], *tmp = tu_path(jdir, "checkpoint.tmp");
  char *ep = tu_path(dir, "stderr"), *errt;
  size_t got = 0, len;
  pid_t pid;
  ck_assert_msg(cli != NULL, "MEDSHIM_CLI not set");
  ck_assert_int_eq(pipe(in), 0);
  ck_assert_int_eq(pipe(out), 0);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    int e = open(ep, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(e, 2);
    close(in[1]);
    close(out[0]);
    execl(cli, cli, "defer", "--create", "--journal", jdir, "--key", key, (char *)NULL);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  ck_assert_int_eq(write(in[1], CLAIM_LINE("C1"), strlen(CLAIM_LINE("C1"))),
                   (ssize_t)strlen(CLAIM_LINE("C1")));
  /* the ack: the claim is durable */
  while (got < sizeof buf - 1 && memchr(buf, '\n', got) == NULL) {
    ssize_t n = read(out[0], buf + got, sizeof buf - 1 - got);
    ck_assert_int_gt(n, 0);
    got += (size_t)n;
  }
  buf[got] = '\0';
  ck_assert_ptr_nonnull(strstr(buf, "\"stored\""));
  ck_assert_int_eq(mkdir(tmp, 0700), 0);
  close(in[1]);
  while (read(out[0], buf, sizeof buf) > 0)
    ;
  close(out[0]);
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  errt = (char *)tu_read_file(ep, &len);
  errt = realloc(errt, len + 1);
  errt[len] = '\0';
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 0,
                "exit %d, stderr: %s", WEXITSTATUS(status), errt);
  ck_assert_msg(strstr(errt, "checkpoint") != NULL, "%s", errt);
  rmdir(tmp);
  free(errt);
  free(ep);
  free(tmp);
}
END_TEST

/* A real full disk: `medshim defer` into a 64 KiB tmpfs, in a mount
 * namespace of its own (skipped where that is not allowed). */
START_TEST(test_cli_defer_full_disk_says_so) {
  char *small = tu_path(dir, "small"), *jd = tu_path(small, "j");
  char *ip = tu_path(dir, "claims"), *op = tu_path(dir, "stdout");
  char *ep = tu_path(dir, "stderr"), *errt;
  FILE *f;
  int status;
  size_t len;
  pid_t pid;
  ck_assert_msg(cli != NULL, "MEDSHIM_CLI not set");
  ck_assert_int_eq(mkdir(small, 0700), 0);
  f = fopen(ip, "w");
  ck_assert_ptr_nonnull(f);
  for (int i = 0; i < 400; i++)
    fprintf(f, CLAIM_FMT, i);
  ck_assert_int_eq(fclose(f), 0);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    pid_t c;
    int st;
    if (unshare(CLONE_NEWNS) != 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", small, "tmpfs", 0, "size=64k,mode=0700") != 0)
      _exit(77);
    c = fork();
    if (c == 0) {
      int i = open(ip, O_RDONLY), o = open(op, O_WRONLY | O_CREAT | O_TRUNC, 0600),
          e = open(ep, O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(i, 0);
      dup2(o, 1);
      dup2(e, 2);
      execl(cli, cli, "defer", "--create", "--journal", jd, "--key", key, (char *)NULL);
      _exit(127);
    }
    if (c < 0 || waitpid(c, &st, 0) != c || !WIFEXITED(st))
      _exit(126);
    _exit(WEXITSTATUS(st));
  }
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) {
    fprintf(stderr, "test_cli_defer_full_disk_says_so: skipped (no mount "
            "namespace here)\n");
  } else {
    errt = (char *)tu_read_file(ep, &len);
    errt = realloc(errt, len + 1);
    errt[len] = '\0';
    ck_assert_msg(WEXITSTATUS(status) == 1, "exit %d: %s", WEXITSTATUS(status),
                  errt);
    ck_assert_msg(strstr(errt, "no space left on device") != NULL, "%s", errt);
    ck_assert_msg(strstr(errt, "seg-0000000000000001.msj") != NULL ||
                      strstr(errt, "checkpoint") != NULL,
                  "the file is not named: %s", errt);
    ck_assert_msg(strstr(errt, "handle unusable after an earlier") == NULL ||
                      strstr(errt, "no space left") != NULL,
                  "%s", errt);
    free(errt);
  }
  free(small);
  free(jd);
  free(ip);
  free(op);
  free(ep);
}
END_TEST

/* ---- 2. no personal data in any error text ------------------------------- */

/* 1 when text holds v or any fragment of 3 or more bytes of it. */
static int leaks(const char *text, const char *v) {
  size_t n = strlen(v);
  for (size_t i = 0; i + 3 <= n; i++)
    if (memmem(text, strlen(text), v + i, 3) != NULL)
      return 1;
  return 0;
}

#define CLAIM_HEAD                                                             \
  "{\"visit_id\":\"M%d\",\"service\":\"outpatient\",\"insured_admdvs\":"      \
  "\"330102\",\"treated_admdvs\":\"330106\",\"visit_time\":"                   \
  "\"2022-02-11T09:30:00+08:00\",\"total_fen\":23850,\"self_paid_fen\":23850"

/* Every error path a personal value can reach, as claim lines (no newline):
 * patient member `field` with value v. Returns the number of lines. */
static int bad_lines(char lines[][1024], const char *field, const char *v) {
  char half[64], rest[64], longv[512];
  size_t h = strlen(v) / 2;
  int n = 0;
  /* cut v on a character boundary for the "inside the value" cases */
  while (h > 0 && ((unsigned char)v[h] & 0xc0) == 0x80)
    h--;
  snprintf(half, sizeof half, "%.*s", (int)h, v);
  snprintf(rest, sizeof rest, "%s", v + h);
  longv[0] = '\0';
  for (int i = 0; i < 12; i++)
    strcat(longv, v);
#define L(...) snprintf(lines[n], sizeof lines[n], __VA_ARGS__), n++
  /* syntax errors inside or right after the value */
  L(CLAIM_HEAD ",\"patient\":{\"%s\":\"%s\\q%s\"}}", n, field, half, rest);
  L(CLAIM_HEAD ",\"patient\":{\"%s\":\"%s\x01%s\"}}", n, field, half, rest);
  L(CLAIM_HEAD ",\"patient\":{\"%s\":\"%s", n, field, v);
  L(CLAIM_HEAD ",\"patient\":{\"%s\":\"%s\\u00zz\"}}", n, field, v);
  L(CLAIM_HEAD ",\"patient\":{\"%s\":\"\\uD800%s\"}}", n, field, v);
  L(CLAIM_HEAD ",\"patient\":{\"%s\":\"%s\xff%s\"}}", n, field, half, rest);
  L(CLAIM_HEAD ",\"patient\":{\"%s\":%s}}", n, field, v);
  L(CLAIM_HEAD ",\"patient\":{\"%s\":\"%s\" \"%s\"}}", n, field, v, v);
  L(CLAIM_HEAD ",\"patient\":{\"%s\":\"%s\",}}", n, field, v);
  L(CLAIM_HEAD ",\"patient\":{\"%s\":\"%s\"}", n, field, v);
  L(CLAIM_HEAD ",\"patient\":{\"%s\"}}", n, v);
  /* too long, control characters, wrong type */
  L(CLAIM_HEAD ",\"patient\":{\"%s\":\"%s\"}}", n, field, longv);
  L(CLAIM_HEAD ",\"patient\":{\"%s\":\"%s\\u0001%s\"}}", n, field, half, rest);
  L(CLAIM_HEAD ",\"patient\":{\"%s\":\"%s\\n\"}}", n, field, v);
  L(CLAIM_HEAD ",\"patient\":{\"%s\":[\"%s\"]}}", n, field, v);
  L(CLAIM_HEAD ",\"patient\":{\"%s\":{\"%s\":\"%s\"}}}", n, field, v, v);
  L(CLAIM_HEAD ",\"patient\":\"%s\"}", n, v);
  /* duplicate key, unknown members next to it or named after it */
  L(CLAIM_HEAD ",\"patient\":{\"%s\":\"%s\",\"%s\":\"%s\"}}", n, field, v, field,
    v);
  L(CLAIM_HEAD ",\"patient\":{\"%s\":\"%s\",\"nickname\":\"%s\"}}", n, field, v,
    v);
  L(CLAIM_HEAD ",\"patient\":{\"%s\":\"%s\",\"%s\":1}}", n, field, v, v);
  L(CLAIM_HEAD ",\"%s\":\"%s\",\"patient\":{\"%s\":\"%s\"}}", n, v, v, field,
    v);
#undef L
  return n;
}

static const char *const personal[][2] = {
    {"name", "欧阳娜娜"},
    {"id_no", "667788698909098769"},
    {"psn_no", "9988776655"}};

START_TEST(test_mask_parse_errors_hold_no_personal_value) {
  static char lines[32][1024];
  for (size_t f = 0; f < sizeof personal / sizeof personal[0]; f++) {
    const char *field = personal[f][0], *v = personal[f][1];
    int n = bad_lines(lines, field, v);
    for (int i = 0; i < n; i++) {
      medshim_claim *c = NULL;
      medshim_error err;
      memset(&err, 0, sizeof err);
      ck_assert_msg(medshim_claim_parse_json(&c, lines[i], strlen(lines[i]),
                                             &err) != MEDSHIM_OK,
                    "%s case %d accepted", field, i);
      ck_assert_msg(!leaks(err.text, v) && !leaks(err.where, v),
                    "%s case %d: %s: %s", field, i, err.where, err.text);
      /* nor the escaped spelling of a character of it */
      ck_assert_msg(strstr(err.text, "\\u") == NULL, "%s case %d: %s", field,
                    i, err.text);
      ck_assert(valid_utf8(err.text, strlen(err.text)));
    }
  }
}
END_TEST

START_TEST(test_mask_cli_defer_stderr_holds_no_personal_value) {
  static char lines[32][1024];
  for (size_t f = 0; f < sizeof personal / sizeof personal[0]; f++) {
    const char *field = personal[f][0], *v = personal[f][1];
    int n = bad_lines(lines, field, v);
    size_t cap = 64 * 1024, len = 0;
    char *input = malloc(cap), *out = NULL, *errt = NULL;
    ck_assert_ptr_nonnull(input);
    for (int i = 0; i < n; i++) {
      len += (size_t)snprintf(input + len, cap - len, "%s\n", lines[i]);
      ck_assert_uint_lt(len, cap);
    }
    ck_assert_int_eq(run_cli(input, &out, &errt, "defer", "--create", "--journal", jdir,
                             "--key", key, NULL),
                     2);
    ck_assert_msg(strstr(errt, "not stored") != NULL, "%s", errt);
    ck_assert_msg(!leaks(errt, v), "%s: stderr: %s", field, errt);
    ck_assert_msg(!leaks(out, v), "%s: stdout: %s", field, out);
    free(input);
    free(out);
    free(errt);
  }
}
END_TEST

/* ---- 1. file-system hygiene ---------------------------------------------- */

static const char victim_bytes[] = "a root-owned file that must not change\n";

/* A file outside the journal, for links to point at. */
static char *victim(void) {
  char *v = tu_path(dir, "victim");
  tu_write_file(v, (const unsigned char *)victim_bytes, sizeof victim_bytes - 1);
  return v;
}

static void assert_unchanged(const char *v) {
  size_t len;
  unsigned char *b = tu_read_file(v, &len);
  ck_assert_ptr_nonnull(b);
  ck_assert_msg(len == sizeof victim_bytes - 1 &&
                    memcmp(b, victim_bytes, len) == 0,
                "the file a link pointed at was overwritten (%zu bytes)", len);
  free(b);
}

static void assert_link_left(const char *name) {
  char *p = tu_path(jdir, name);
  struct stat st;
  ck_assert_int_eq(lstat(p, &st), 0);
  ck_assert_msg(S_ISLNK(st.st_mode), "%s is no longer the planted link", name);
  free(p);
}

static void plant(const char *name, const char *target) {
  char *p = tu_path(jdir, name);
  ck_assert_int_eq(symlink(target, p), 0);
  free(p);
}

/* A second writer session writes the checkpoint when it starts its
 * segment: a link planted at checkpoint.tmp is refused, not written
 * through. */
START_TEST(test_fs_link_at_checkpoint_tmp_refused) {
  char *v = victim();
  medshim_journal *j = open_rw();
  medshim_claim *c = tu_claim("X", 1);
  defer_ok(j, "V", 0, 3);
  ck_assert_int_eq(medshim_journal_close(j), MEDSHIM_OK);
  plant("checkpoint.tmp", v);
  j = open_rw();
  ck_assert_int_eq(medshim_journal_defer(j, c, NULL), MEDSHIM_EIO);
  ck_assert_msg(strstr(medshim_journal_errmsg(j), "checkpoint.tmp") &&
                    strstr(medshim_journal_errmsg(j), "symbolic link"),
                "%s", medshim_journal_errmsg(j));
  medshim_journal_close(j);
  assert_unchanged(v);
  assert_link_left("checkpoint.tmp");
  /* what was acknowledged is all there */
  {
    medshim_journal_options o = tu_opts(key, MEDSHIM_JOURNAL_READONLY);
    ck_assert_int_eq(medshim_journal_open(&j, jdir, &o, NULL), MEDSHIM_OK);
    ck_assert_uint_eq(medshim_journal_count(j), 3);
    medshim_journal_close(j);
  }
  medshim_claim_free(c);
  free(v);
}
END_TEST

/* The same at close: the close fails, the linked file is intact. */
START_TEST(test_fs_link_at_checkpoint_tmp_at_close) {
  char *v = victim();
  medshim_journal *j = open_rw();
  defer_ok(j, "V", 0, 3);
  plant("checkpoint.tmp", v);
  ck_assert_int_eq(OLD_CLOSE_RC(j), MEDSHIM_EIO);
  assert_unchanged(v);
  assert_link_left("checkpoint.tmp");
  free(v);
}
END_TEST

START_TEST(test_fs_link_at_keyring_tmp_refused) {
  char *v = victim();
  medshim_journal_options o = tu_opts(key, MEDSHIM_JOURNAL_CREATE);
  medshim_journal *j = NULL;
  medshim_error err;
  memset(&err, 0, sizeof err);
  ck_assert_int_eq(mkdir(jdir, 0700), 0);
  plant("keyring.tmp", v);
  ck_assert_int_ne(medshim_journal_open(&j, jdir, &o, &err), MEDSHIM_OK);
  ck_assert_ptr_null(j);
  ck_assert_msg(strstr(err.text, "keyring.tmp") != NULL, "%s", err.text);
  assert_unchanged(v);
  assert_link_left("keyring.tmp");
  free(v);
}
END_TEST

START_TEST(test_fs_link_at_keyring_tmp_refused_by_rekey) {
  char *v = victim(), *key2 = tu_path(dir, "key2");
  medshim_journal_options cur = tu_opts(key, 0), next;
  medshim_journal *j = open_rw();
  medshim_error err;
  tu_write_key(key2, 2);
  next = tu_opts(key2, 0);
  defer_ok(j, "V", 0, 2);
  ck_assert_int_eq(medshim_journal_close(j), MEDSHIM_OK);
  plant("keyring.tmp", v);
  memset(&err, 0, sizeof err);
  ck_assert_int_ne(medshim_journal_rekey(jdir, &cur, &next, &err), MEDSHIM_OK);
  ck_assert_msg(strstr(err.text, "keyring.tmp") != NULL, "%s", err.text);
  assert_unchanged(v);
  /* the old key still opens the journal */
  j = open_rw();
  ck_assert_uint_eq(medshim_journal_count(j), 2);
  ck_assert_int_eq(medshim_journal_close(j), MEDSHIM_OK);
  free(key2);
  free(v);
}
END_TEST

/* A temporary file a crash left behind is ours: removed, then made anew. */
START_TEST(test_fs_leftover_tmp_replaced) {
  char *tmp = tu_path(jdir, "checkpoint.tmp");
  struct stat st;
  medshim_journal *j = open_rw();
  defer_ok(j, "V", 0, 2);
  tu_write_file(tmp, (const unsigned char *)"half a checkp", 13);
  ck_assert_int_eq(medshim_journal_close(j), MEDSHIM_OK);
  ck_assert_int_ne(lstat(tmp, &st), 0);
  j = open_rw();
  ck_assert_uint_eq(medshim_journal_count(j), 2);
  defer_ok(j, "W", 0, 1);
  ck_assert_int_eq(medshim_journal_close(j), MEDSHIM_OK);
  free(tmp);
}
END_TEST

/* LOCK is opened without following a link (the old code created the
 * link's target). */
START_TEST(test_fs_link_at_lock_refused) {
  char *target = tu_path(dir, "made-through-a-link");
  medshim_journal_options o = tu_opts(key, MEDSHIM_JOURNAL_CREATE);
  medshim_journal *j = NULL;
  medshim_error err;
  struct stat st;
  memset(&err, 0, sizeof err);
  ck_assert_int_eq(mkdir(jdir, 0700), 0);
  plant("LOCK", target);
  ck_assert_int_ne(medshim_journal_open(&j, jdir, &o, &err), MEDSHIM_OK);
  ck_assert_msg(strstr(err.text, "LOCK") != NULL, "%s", err.text);
  ck_assert_int_ne(stat(target, &st), 0);
  free(target);
}
END_TEST

static void open_refused(int mode, const char *fix) {
  medshim_journal_options o = tu_opts(key, MEDSHIM_JOURNAL_CREATE);
  medshim_journal *j = NULL;
  medshim_error err;
  memset(&err, 0, sizeof err);
  ck_assert_int_eq(mkdir(jdir, 0700), 0);
  ck_assert_int_eq(chmod(jdir, (mode_t)mode), 0);
  ck_assert_int_eq(medshim_journal_open(&j, jdir, &o, &err), MEDSHIM_EINVAL);
  ck_assert_ptr_null(j);
  ck_assert_msg(strstr(err.text, jdir) != NULL, "path not named: %s", err.text);
  ck_assert_msg(strstr(err.text, fix) != NULL, "no fix given: %s", err.text);
}

START_TEST(test_fs_world_writable_journal_dir_refused) {
  open_refused(0777, "chmod 700");
}
END_TEST

START_TEST(test_fs_group_writable_journal_dir_refused) {
  open_refused(0770, "chmod 700");
}
END_TEST

START_TEST(test_fs_existing_journal_made_writable_refused) {
  medshim_journal *j = open_rw();
  medshim_journal_options o = tu_opts(key, MEDSHIM_JOURNAL_READONLY);
  medshim_error err;
  defer_ok(j, "V", 0, 1);
  ck_assert_int_eq(medshim_journal_close(j), MEDSHIM_OK);
  ck_assert_int_eq(chmod(jdir, 0777), 0);
  memset(&err, 0, sizeof err);
  ck_assert_int_eq(medshim_journal_open(&j, jdir, &o, &err), MEDSHIM_EINVAL);
  ck_assert_msg(strstr(err.text, "chmod 700") != NULL, "%s", err.text);
  ck_assert_int_eq(chmod(jdir, 0700), 0);
  ck_assert_int_eq(medshim_journal_open(&j, jdir, &o, &err), MEDSHIM_OK);
  medshim_journal_close(j);
}
END_TEST

/* Owned by another user: only root can set that up. */
START_TEST(test_fs_journal_dir_of_another_user_refused) {
  medshim_journal_options o = tu_opts(key, MEDSHIM_JOURNAL_CREATE);
  medshim_journal *j = NULL;
  medshim_error err;
  if (geteuid() != 0) {
    fprintf(stderr, "test_fs_journal_dir_of_another_user_refused: skipped "
            "(needs root to chown)\n");
    return;
  }
  memset(&err, 0, sizeof err);
  ck_assert_int_eq(mkdir(jdir, 0700), 0);
  ck_assert_int_eq(chown(jdir, 65534, 65534), 0);
  ck_assert_int_eq(medshim_journal_open(&j, jdir, &o, &err), MEDSHIM_EINVAL);
  ck_assert_msg(strstr(err.text, jdir) != NULL && strstr(err.text, "chown"),
                "%s", err.text);
}
END_TEST

START_TEST(test_fs_key_in_world_writable_dir_refused) {
  char *kd = tu_path(dir, "keys"), *k = tu_path(kd, "hospital.key");
  char *k2 = tu_path(kd, "new.key");
  medshim_journal_options o = tu_opts(k, MEDSHIM_JOURNAL_CREATE);
  medshim_journal *j = NULL;
  medshim_error err;
  ck_assert_int_eq(mkdir(kd, 0700), 0);
  tu_write_key(k, 3);
  ck_assert_int_eq(chmod(kd, 0777), 0);
  memset(&err, 0, sizeof err);
  ck_assert_int_eq(medshim_journal_open(&j, jdir, &o, &err), MEDSHIM_EKEY);
  ck_assert_msg(strstr(err.text, kd) != NULL && strstr(err.text, "chmod"),
                "%s", err.text);
  /* nor is a key made there */
  memset(&err, 0, sizeof err);
  ck_assert_int_eq(medshim_key_generate(k2, &err), MEDSHIM_EKEY);
  ck_assert_int_ne(access(k2, F_OK), 0);
  /* fixed as the message says: accepted */
  ck_assert_int_eq(chmod(kd, 0755), 0);
  ck_assert_int_eq(medshim_journal_open(&j, jdir, &o, &err), MEDSHIM_OK);
  ck_assert_int_eq(medshim_journal_close(j), MEDSHIM_OK);
  free(k2);
  free(k);
  free(kd);
}
END_TEST

/* keygen never writes through a link planted at the key's name. */
START_TEST(test_fs_keygen_through_link_refused) {
  char *v = victim(), *k = tu_path(dir, "linked.key");
  medshim_error err;
  ck_assert_int_eq(symlink(v, k), 0);
  memset(&err, 0, sizeof err);
  ck_assert_int_eq(medshim_key_generate(k, &err), MEDSHIM_EEXIST);
  assert_unchanged(v);
  free(k);
  free(v);
}
END_TEST

/* ---- 4. key material out of core dumps ------------------------------------ */

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* The VmFlags of the mapping holding addr, from /proc/self/smaps ("" if
 * not found). */
static void vmflags_of(const void *addr, char *out, size_t size) {
  FILE *f = fopen("/proc/self/smaps", "r");
  char line[512];
  uintptr_t a = (uintptr_t)addr;
  int inside = 0;
  out[0] = '\0';
  ck_assert_ptr_nonnull(f);
  while (fgets(line, sizeof line, f) != NULL) {
    unsigned long lo, hi;
    if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') &&
        line[0] != 'V') {
      inside = a >= lo && a < hi;
    } else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
      snprintf(out, size, "%s", line + 8);
      break;
    }
  }
  fclose(f);
}

static int has_flag(const char *flags, const char *flag) {
  char buf[512];
  snprintf(buf, sizeof buf, " %s", flags);
  for (char *t = strtok(buf, " \n"); t != NULL; t = strtok(NULL, " \n"))
    if (strcmp(t, flag) == 0)
      return 1;
  return 0;
}

START_TEST(test_dump_journal_keys_not_dumped) {
  medshim_journal *j = open_rw();
  char flags[512];
  defer_ok(j, "V", 0, 1);
  vmflags_of(&j->keys, flags, sizeof flags);
  ck_assert_msg(flags[0] != '\0', "no mapping found for the keys");
  ck_assert_msg(has_flag(flags, "dd"), "keys' pages not excluded from dumps: "
                "VmFlags:%s", flags);
  /* As root (CAP_IPC_LOCK) mlock cannot have failed; AddressSanitizer
   * makes mlock a no-op. */
  if (geteuid() == 0 && !UNDER_ASAN)
    ck_assert_msg(has_flag(flags, "lo"), "keys' pages not locked: %s", flags);
  ck_assert_int_eq(medshim_journal_close(j), MEDSHIM_OK);
}
END_TEST

START_TEST(test_dump_cli_is_undumpable) {
  char *out = NULL, *errt = NULL;
  ck_assert_int_eq(run_cli(NULL, &out, &errt, "__self-check-dumps", NULL), 0);
  ck_assert_msg(strstr(out, "dumpable 0\n") != NULL, "%s", out);
  ck_assert_msg(strstr(out, "core_limit 0\n") != NULL, "%s", out);
  free(out);
  free(errt);
}
END_TEST

/* A running `medshim defer`, waiting for input: no core file limit. */
START_TEST(test_dump_running_defer_has_no_core_limit) {
  int in[2], found = 0;
  char path[64], line[256];
  FILE *f;
  pid_t pid;
  ck_assert_msg(cli != NULL, "MEDSHIM_CLI not set");
  ck_assert_int_eq(pipe(in), 0);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(in[0], 0);
    dup2(null, 1);
    dup2(null, 2);
    close(in[1]);
    execl(cli, cli, "defer", "--create", "--journal", jdir, "--key", key, (char *)NULL);
    _exit(127);
  }
  close(in[0]);
  snprintf(path, sizeof path, "/proc/%d/limits", (int)pid);
  for (int tries = 0; tries < 200 && !found; tries++) {
    struct stat st;
    /* once the journal exists, main() is long past its set-up */
    char *lock = tu_path(jdir, "LOCK");
    int ready = stat(lock, &st) == 0;
    free(lock);
    if (!ready) {
      usleep(10000);
      continue;
    }
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof line, f) != NULL) {
      if (strncmp(line, "Max core file size", 18) == 0) {
        char soft[32], hard[32];
        ck_assert_int_eq(sscanf(line + 18, " %31s %31s", soft, hard), 2);
        ck_assert_msg(strcmp(soft, "0") == 0 && strcmp(hard, "0") == 0, "%s",
                      line);
        found = 1;
      }
    }
    fclose(f);
    if (geteuid() != 0) { /* an undumpable process's /proc files are root's */
      snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
      ck_assert_int_eq(stat(path, &st), 0);
      ck_assert_int_eq(st.st_uid, 0);
    }
  }
  close(in[1]);
  ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
  ck_assert_msg(found, "no core limit line in %s", path);
}
END_TEST

int main(void) {
  Suite *s = suite_create("hygiene");
  TCase *tc = tcase_create("utf8");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_utf8_error_text_cut_on_boundary);
  tcase_add_test(tc, test_utf8_journal_error_path_cut_on_boundary);
  tcase_add_test(tc, test_utf8_list_shows_cut_rejection);
  suite_add_tcase(s, tc);
  tc = tcase_create("fs");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_fs_link_at_checkpoint_tmp_refused);
  tcase_add_test(tc, test_fs_link_at_checkpoint_tmp_at_close);
  tcase_add_test(tc, test_fs_link_at_keyring_tmp_refused);
  tcase_add_test(tc, test_fs_link_at_keyring_tmp_refused_by_rekey);
  tcase_add_test(tc, test_fs_leftover_tmp_replaced);
  tcase_add_test(tc, test_fs_link_at_lock_refused);
  tcase_add_test(tc, test_fs_world_writable_journal_dir_refused);
  tcase_add_test(tc, test_fs_group_writable_journal_dir_refused);
  tcase_add_test(tc, test_fs_existing_journal_made_writable_refused);
  tcase_add_test(tc, test_fs_journal_dir_of_another_user_refused);
  tcase_add_test(tc, test_fs_key_in_world_writable_dir_refused);
  tcase_add_test(tc, test_fs_keygen_through_link_refused);
  suite_add_tcase(s, tc);
  tc = tcase_create("dump");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_dump_journal_keys_not_dumped);
  tcase_add_test(tc, test_dump_cli_is_undumpable);
  tcase_add_test(tc, test_dump_running_defer_has_no_core_limit);
  suite_add_tcase(s, tc);
  tc = tcase_create("mask");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_mask_parse_errors_hold_no_personal_value);
  tcase_add_test(tc, test_mask_cli_defer_stderr_holds_no_personal_value);
  suite_add_tcase(s, tc);
  tc = tcase_create("first_error");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_first_error_enospc_on_write);
  tcase_add_test(tc, test_first_error_enospc_on_sync);
  tcase_add_test(tc, test_close_reports_failed_checkpoint_write);
  tcase_add_test(tc, test_close_reports_failed_checkpoint_sync);
  tcase_add_test(tc, test_close_null_and_readonly_ok);
  tcase_add_test(tc, test_versioned_inits_refuse_and_zero);
  tcase_add_test(tc, test_cli_defer_close_failure_exits_nonzero);
  tcase_add_test(tc, test_cli_defer_full_disk_says_so);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
