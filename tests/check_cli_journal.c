/* The journal commands of the medshim tool, run as a user would run them. */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "medshim/medshim.h"
#include "testutil.h"

static char *dir, *jdir, *key, *key2;
static const char *cli;
static int pipe_input; /* run() feeds stdin through a pipe, not a file */
static off_t skip_input; /* run() starts stdin at this offset */
static off_t hole_input; /* run() puts the input after a hole this long */

static void setup(void) {
  cli = getenv("MEDSHIM_CLI");
  ck_assert_msg(cli != NULL, "MEDSHIM_CLI not set");
  dir = tu_tempdir();
  jdir = tu_path(dir, "journal");
  key = tu_path(dir, "key");
  key2 = tu_path(dir, "key2");
}

static void teardown(void) {
  tu_rmtree(dir);
  free(dir);
  free(jdir);
  free(key);
  free(key2);
}

/* In a child about to exec: put a writer process in front of fd, like
 * `cat file |`, and return the pipe's read end (fd is closed). */
static int through_pipe(int fd) {
  int p[2];
  char chunk[65536];
  ssize_t n;
  if (pipe(p) != 0)
    _exit(126);
  if (fork() == 0) {
    close(p[0]);
    while ((n = read(fd, chunk, sizeof chunk)) > 0)
      if (write(p[1], chunk, (size_t)n) != n)
        _exit(0); /* the reader is gone */
    _exit(0);
  }
  close(p[1]);
  close(fd);
  return p[0];
}

/* Run medshim with args, feeding input; stdout and stderr captured. */
__attribute__((sentinel))
static int run(const char *input, char **out, char **err, ...) {
  char *argv[20], *op = tu_path(dir, "stdout"), *ep = tu_path(dir, "stderr");
  char *ip = tu_path(dir, "stdin");
  va_list ap;
  int argc = 0, status;
  size_t len;
  pid_t pid;
  argv[argc++] = (char *)cli;
  va_start(ap, err);
  for (char *a; (a = va_arg(ap, char *)) != NULL;) {
    ck_assert_int_lt(argc, 17);
    argv[argc++] = a;
    /* the journal suites run with both crypto suites (tu_suite) */
    if (strcmp(a, "--create") == 0 &&
        tu_suite() == MEDSHIM_JOURNAL_SUITE_SM) {
      argv[argc++] = (char *)"--suite";
      argv[argc++] = (char *)"sm";
    }
  }
  va_end(ap);
  argv[argc] = NULL;
  tu_write_file(ip, (const unsigned char *)(input ? input : ""),
                input ? strlen(input) : 0);
  if (hole_input > 0) { /* a large file that costs no disk: sparse */
    int fd = open(ip, O_WRONLY | O_TRUNC);
    size_t n = input ? strlen(input) : 0;
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, input, n, hole_input), (ssize_t)n);
    close(fd);
  }
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    int i = open(ip, O_RDONLY), o = open(op, O_WRONLY | O_CREAT | O_TRUNC, 0600),
        e = open(ep, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (skip_input > 0 && lseek(i, skip_input, SEEK_SET) != skip_input)
      _exit(126);
    if (pipe_input)
      i = through_pipe(i);
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

static int count_lines(const char *s) {
  int n = 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

#define CLAIM(id, extra)                                                       \
  "{\"visit_id\":\"" id "\",\"service\":\"outpatient\",\"insured_admdvs\":"   \
  "\"330102\",\"treated_admdvs\":\"330106\",\"visit_time\":"                   \
  "\"2022-02-11T09:30:00+08:00\",\"total_fen\":23850,\"self_paid_fen\":23850," \
  "\"patient\":{\"name\":\"王小明\",\"id_no\":\"330102198001014321\"}" extra "}\n"

static void keygen(void) {
  ck_assert_int_eq(run(NULL, NULL, NULL, "keygen", key, NULL), 0);
}

START_TEST(test_cli_keygen) {
  struct stat st;
  char *err;
  keygen();
  ck_assert_int_eq(stat(key, &st), 0);
  ck_assert_int_eq(st.st_mode & 0777, 0600);
  ck_assert_int_eq(st.st_size, 32);
  ck_assert_int_ne(run(NULL, NULL, &err, "keygen", key, NULL), 0);
  ck_assert_ptr_nonnull(strstr(err, "refusing to overwrite"));
  free(err);
}
END_TEST

/* --suite on the command that creates journals: recorded in the keyring,
 * followed by every later command, and a requirement when asked. */
START_TEST(test_cli_defer_suite) {
  char *out, *err, *other = tu_path(dir, "other"), *kr = tu_path(jdir, "keyring");
  unsigned char *k;
  size_t len;
  keygen();
  ck_assert_int_eq(run(CLAIM("A1", ""), &out, &err, "defer", "--create",
                       "--suite", "sm", "--journal", jdir, "--key", key, NULL),
                   0);
  free(out);
  free(err);
  k = tu_read_file(kr, &len);
  ck_assert_ptr_nonnull(k);
  ck_assert_uint_eq(k[8], 2); /* keyring version 2: the SM suite */
  free(k);
  ck_assert_int_eq(run(CLAIM("A2", ""), &out, &err, "defer", "--journal", jdir,
                       "--key", key, NULL), 0);
  ck_assert_str_eq(out, "{\"visit_id\":\"A2\",\"status\":\"stored\"}\n");
  free(out);
  free(err);
  ck_assert_int_eq(run(NULL, &out, &err, "verify", "--journal", jdir, "--key",
                       key, NULL), 0);
  ck_assert_ptr_nonnull(strstr(out, "\"claims\":2"));
  ck_assert_ptr_nonnull(strstr(out, "\"suite\":\"sm\""));
  free(out);
  free(err);
  ck_assert_int_eq(run(NULL, &out, &err, "list", "--journal", jdir, "--key",
                       key, NULL), 0);
  ck_assert_int_eq(count_lines(out), 2);
  free(out);
  free(err);
  /* a default journal is not written to when SM is asked */
  ck_assert_int_eq(run(CLAIM("B1", ""), &out, &err, "defer", "--create",
                       "--suite", "default", "--journal", other, "--key", key,
                       NULL), 0);
  free(out);
  free(err);
  ck_assert_int_eq(run(NULL, &out, &err, "verify", "--journal", other, "--key",
                       key, NULL), 0);
  ck_assert_ptr_nonnull(strstr(out, "\"suite\":\"default\""));
  free(out);
  free(err);
  ck_assert_int_eq(run(CLAIM("B2", ""), &out, &err, "defer", "--suite", "sm",
                       "--journal", other, "--key", key, NULL), 1);
  ck_assert_ptr_nonnull(strstr(err, "default suite"));
  free(out);
  free(err);
  ck_assert_int_eq(run(NULL, &out, &err, "defer", "--create", "--suite",
                       "aes", "--journal", other, "--key", key, NULL), 64);
  ck_assert_ptr_nonnull(strstr(err, "sm or default"));
  free(out);
  free(err);
  free(other);
  free(kr);
}
END_TEST

START_TEST(test_cli_defer_list_and_duplicates) {
  char *out, *err;
  keygen();
  ck_assert_int_eq(run(CLAIM("A1", "") CLAIM("A2", ""), &out, &err, "defer", "--create",
                       "--journal", jdir, "--key", key, NULL), 0);
  ck_assert_str_eq(out, "{\"visit_id\":\"A1\",\"status\":\"stored\"}\n"
                        "{\"visit_id\":\"A2\",\"status\":\"stored\"}\n");
  free(out);
  free(err);
  ck_assert_int_eq(run(CLAIM("A1", ""), &out, &err, "defer", "--create", "--journal", jdir,
                       "--key", key, NULL), 0);
  ck_assert_str_eq(out, "{\"visit_id\":\"A1\",\"status\":\"duplicate\"}\n");
  free(out);
  free(err);
  ck_assert_int_eq(run(NULL, &out, &err, "list", "--journal", jdir, "--key", key,
                       NULL), 0);
  ck_assert_int_eq(count_lines(out), 2);
  ck_assert_ptr_nonnull(strstr(out, "\"state\":\"pending\""));
  ck_assert_ptr_nonnull(strstr(out, "\"replay_key\":\"MS"));
  ck_assert_ptr_null(strstr(out, "王小明")); /* masked */
  ck_assert_ptr_null(strstr(out, "330102198001014321"));
  free(out);
  free(err);
  ck_assert_int_eq(run(NULL, &out, &err, "list", "--journal", jdir, "--key", key,
                       "--reveal", NULL), 0);
  ck_assert_ptr_nonnull(strstr(out, "王小明"));
  free(out);
  free(err);
  ck_assert_int_eq(run(NULL, &out, &err, "list", "--journal", jdir, "--key", key,
                       "--state", "settled", NULL), 0);
  ck_assert_str_eq(out, "");
  free(out);
  free(err);
  ck_assert_int_eq(run(NULL, &out, &err, "list", "--journal", jdir, "--key", key,
                       "--state", "bogus", NULL), 64);
  ck_assert_ptr_nonnull(strstr(err, "bogus"));
  free(out);
  free(err);
}
END_TEST

START_TEST(test_cli_defer_bad_lines_keep_good_ones) {
  char *out, *err;
  const char *input =
      CLAIM("B1", "")                                               /* 1 ok */
      "this is not json\n"                                           /* 2 */
      CLAIM("B3", ",\"total_fen\":1.5")                              /* 3 dup key */
      "{\"visit_id\":\"B4\",\"service\":\"outpatient\",\"insured_admdvs\":"
      "\"3301\",\"treated_admdvs\":\"330106\",\"visit_time\":\"2022-02-11\","
      "\"total_fen\":1,\"self_paid_fen\":1}\n"                       /* 4 admdvs */
      "\n"                                                           /* 5 empty */
      "{\"visit_id\":\"B1\",\"service\":\"pharmacy\",\"insured_admdvs\":"
      "\"330102\",\"treated_admdvs\":\"330106\",\"visit_time\":\"2022-02-11\","
      "\"total_fen\":1,\"self_paid_fen\":1}\n"                       /* 6 conflict */
      "{\"visit_id\":\"B7\",\"service\":\"outpatient\",\"insured_admdvs\":"
      "\"330102\",\"treated_admdvs\":\"330106\",\"visit_time\":\"2022-02-11\","
      "\"total_fen\":100,\"self_paid_fen\":101,\"patient\":{\"name\":\"赵六\"}}\n"
      CLAIM("B8", "");                                               /* 8 ok */
  keygen();
  ck_assert_int_eq(run(input, &out, &err, "defer", "--create", "--journal", jdir, "--key",
                       key, NULL), 2);
  ck_assert_str_eq(out, "{\"visit_id\":\"B1\",\"status\":\"stored\"}\n"
                        "{\"visit_id\":\"B8\",\"status\":\"stored\"}\n");
  ck_assert_ptr_nonnull(strstr(err, "line 2: "));
  ck_assert_ptr_nonnull(strstr(err, "not valid JSON"));
  ck_assert_ptr_nonnull(strstr(err, "line 3: "));
  ck_assert_ptr_nonnull(strstr(err, "line 4: insured_admdvs: must be 6 digits"));
  ck_assert_ptr_nonnull(strstr(err, "line 6: visit_id: B1"));
  ck_assert_ptr_nonnull(strstr(err, "conflict"));
  ck_assert_ptr_nonnull(strstr(err, "line 7: self_paid_fen"));
  ck_assert_ptr_null(strstr(err, "line 5"));
  ck_assert_ptr_null(strstr(err, "赵六")); /* personal data never in errors */
  free(out);
  free(err);
  ck_assert_int_eq(run(NULL, &out, &err, "list", "--journal", jdir, "--key", key,
                       NULL), 0);
  ck_assert_int_eq(count_lines(out), 2);
  free(out);
  free(err);
}
END_TEST

START_TEST(test_cli_defer_acks_stream) {
  /* The ack for a line arrives while stdin is still open. */
  int in[2], outp[2], status;
  char buf[256];
  struct pollfd p;
  ssize_t n;
  pid_t pid;
  keygen();
  ck_assert_int_eq(pipe(in), 0);
  ck_assert_int_eq(pipe(outp), 0);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(outp[1], 1);
    close(in[1]);
    close(outp[0]);
    execl(cli, cli, "defer", "--create", "--suite",
          medshim_journal_suite_name(tu_suite()), "--journal", jdir, "--key",
          key, (char *)NULL);
    _exit(127);
  }
  close(in[0]);
  close(outp[1]);
  ck_assert(write(in[1], CLAIM("S1", ""), strlen(CLAIM("S1", ""))) > 0);
  p.fd = outp[0];
  p.events = POLLIN;
  ck_assert_int_eq(poll(&p, 1, 20000), 1); /* generous: not a timing test */
  n = read(outp[0], buf, sizeof buf - 1);
  ck_assert_int_gt(n, 0);
  buf[n] = '\0';
  ck_assert_str_eq(buf, "{\"visit_id\":\"S1\",\"status\":\"stored\"}\n");
  ck_assert(write(in[1], CLAIM("S2", ""), strlen(CLAIM("S2", ""))) > 0);
  ck_assert_int_eq(poll(&p, 1, 20000), 1);
  n = read(outp[0], buf, sizeof buf - 1);
  buf[n > 0 ? n : 0] = '\0';
  ck_assert_str_eq(buf, "{\"visit_id\":\"S2\",\"status\":\"stored\"}\n");
  close(in[1]);
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(outp[0]);
}
END_TEST

/* One claim line with a numbered visit_id and amount. */
static size_t claim_line_fen(char *buf, size_t size, const char *prefix, int i,
                             int fen) {
  int n = snprintf(buf, size,
                   "{\"visit_id\":\"%s%d\",\"service\":\"outpatient\","
                   "\"insured_admdvs\":\"330102\",\"treated_admdvs\":"
                   "\"330106\",\"visit_time\":\"2022-02-11T09:30:00+08:00\","
                   "\"total_fen\":%d,\"self_paid_fen\":%d,\"patient\":{"
                   "\"name\":\"王小明\"},\"detail\":{\"items\":[{"
                   "\"feedetl_sn\":\"%d-1\",\"pric\":\"1.00\"}]}}\n",
                   prefix, i, fen, fen, i);
  ck_assert(n > 0 && (size_t)n < size);
  return (size_t)n;
}

static size_t claim_line(char *buf, size_t size, const char *prefix, int i) {
  return claim_line_fen(buf, size, prefix, i, 100 + i);
}

/* Many runs of lines, handled by several workers: acks come in input order,
 * each bad line is reported with its own number (including one longer than
 * the 2 MiB limit), a repeat is a duplicate, and every good line is stored.
 * A file on stdin is mapped, a pipe is read: both are checked. */
struct ids {
  char *buf;
  size_t cap, *len;
};

/* Collect visit_ids, NUL-separated, in walk order. */
static int append_id(const medshim_claim *c, const medshim_claim_status *st,
                     void *payload) {
  struct ids *x = payload;
  const char *id = medshim_claim_visit_id(c);
  size_t n = strlen(id) + 1;
  (void)st;
  ck_assert_uint_lt(*x->len + n, x->cap);
  memcpy(x->buf + *x->len, id, n);
  *x->len += n;
  x->buf[*x->len] = '\0';
  return 0;
}

static void many_lines(int piped) {
  enum { LINES = 1500, LONG_LINE = 900, REPEAT = 700, BIG = 1000 };
  size_t cap = (4u << 20) + LINES * 400, len = 0;
  char *input = malloc(cap), *expect = malloc(LINES * 64), *out, *err, line[512];
  size_t elen = 0;
  int bad = 0, stored = 0;
  keygen();
  for (int i = 1; i <= LINES; i++) {
    if (i == LONG_LINE) {
      memset(input + len, 'x', (2u << 20) + 10);
      len += (2u << 20) + 10;
      input[len++] = '\n';
      bad++;
    } else if (i % 101 == 0) {
      len += (size_t)sprintf(input + len, "{\"visit_id\": broken\n");
      bad++;
    } else if (i == BIG) { /* a 600 KB detail: more than a parser arena */
      len += (size_t)sprintf(input + len,
                             "{\"visit_id\":\"M%d\",\"service\":\"inpatient\","
                             "\"insured_admdvs\":\"330102\",\"treated_admdvs\":"
                             "\"330106\",\"visit_time\":\"2022-02-11\","
                             "\"total_fen\":1,\"self_paid_fen\":1,\"detail\":"
                             "{\"note\":\"", i);
      memset(input + len, 'n', 600000);
      len += 600000;
      len += (size_t)sprintf(input + len, "\"}}\n");
      elen += (size_t)sprintf(expect + elen,
                              "{\"visit_id\":\"M%d\",\"status\":\"stored\"}\n", i);
      stored++;
    } else if (i == REPEAT) {
      len += claim_line(input + len, cap - len, "M", 5);
      elen += (size_t)sprintf(expect + elen,
                              "{\"visit_id\":\"M5\",\"status\":\"duplicate\"}\n");
    } else {
      len += claim_line(input + len, cap - len, "M", i);
      elen += (size_t)sprintf(expect + elen,
                              "{\"visit_id\":\"M%d\",\"status\":\"stored\"}\n", i);
      stored++;
    }
  }
  input[len] = '\0';
  pipe_input = piped;
  ck_assert_int_eq(run(input, &out, &err, "defer", "--create", "--journal", jdir, "--key",
                       key, NULL), 2);
  pipe_input = 0;
  expect[elen] = '\0';
  ck_assert_str_eq(out, expect);
  for (int i = 101; i <= LINES; i += 101) {
    snprintf(line, sizeof line, "line %d: not valid JSON", i);
    ck_assert_msg(strstr(err, line) != NULL, "no error for line %d", i);
  }
  snprintf(line, sizeof line, "line %d: longer than", LONG_LINE);
  ck_assert_ptr_nonnull(strstr(err, line));
  snprintf(line, sizeof line, "%d line(s) refused", bad);
  ck_assert_ptr_nonnull(strstr(err, line));
  ck_assert_int_eq(count_lines(err), bad + 1);
  free(out);
  free(err);
  ck_assert_int_eq(run(NULL, &out, &err, "list", "--journal", jdir, "--key", key,
                       NULL), 0);
  ck_assert_int_eq(count_lines(out), stored);
  {
    /* in journal order (the library's walk), across the list's batches */
    medshim_journal_options o = MEDSHIM_JOURNAL_OPTIONS_INIT;
    medshim_journal *j = NULL;
    char order[65536];
    size_t olen = 0;
    const char *p = out;
    o.key_file = key;
    o.flags = MEDSHIM_JOURNAL_READONLY;
    ck_assert_int_eq(medshim_journal_open(&j, jdir, &o, NULL), MEDSHIM_OK);
    order[0] = '\0';
    ck_assert_int_eq(medshim_journal_foreach(j, append_id, &(struct ids){order, sizeof order, &olen}),
                     MEDSHIM_OK);
    medshim_journal_close(j);
    for (const char *id = order; *id != '\0'; id += strlen(id) + 1) {
      char want[96];
      snprintf(want, sizeof want, "{\"visit_id\":\"%s\"", id);
      ck_assert_msg(strncmp(p, want, strlen(want)) == 0, "list out of order at %s", id);
      p = strchr(p, '\n') + 1;
    }
    ck_assert_str_eq(p, "");
  }
  free(out);
  free(err);
  free(input);
  free(expect);
}

START_TEST(test_cli_defer_many_lines_from_a_file) { many_lines(0); }
END_TEST

START_TEST(test_cli_defer_many_lines_from_a_pipe) { many_lines(1); }
END_TEST

START_TEST(test_cli_defer_first_of_a_repeated_visit_wins) {
  /* Lines 64 and 65 fall in different runs, handled by different workers
   * at the same time; so do 128 and 129. Whatever the timing, the first of
   * each pair is the one stored: the other is a conflict (other content)
   * or a duplicate (same content). */
  enum { LINES = 200, ROUNDS = 20 };
  char *input = malloc(LINES * 400), *out, *err, want[128];
  for (int round = 0; round < ROUNDS; round++) {
    size_t len = 0;
    char *rdir = tu_path(dir, "rounds");
    char jd[64];
    for (int i = 1; i <= LINES; i++) {
      if (i == 65) /* same visit_id as line 64, another amount */
        len += claim_line_fen(input + len, LINES * 400 - len, "R", 64, 1);
      else if (i == 129) /* same as line 128 */
        len += claim_line(input + len, LINES * 400 - len, "R", 128);
      else
        len += claim_line(input + len, LINES * 400 - len, "R", i);
    }
    input[len] = '\0';
    snprintf(jd, sizeof jd, "j%d", round);
    free(rdir);
    rdir = tu_path(dir, jd);
    if (round == 0)
      keygen();
    ck_assert_int_eq(run(input, &out, &err, "defer", "--create", "--journal", rdir, "--key",
                         key, NULL), 2);
    ck_assert_ptr_nonnull(strstr(out, "{\"visit_id\":\"R64\",\"status\":\"stored\"}\n"
                                      "{\"visit_id\":\"R66\",\"status\":\"stored\"}"));
    ck_assert_ptr_nonnull(strstr(out, "{\"visit_id\":\"R128\",\"status\":\"stored\"}\n"
                                      "{\"visit_id\":\"R128\",\"status\":\"duplicate\"}\n"));
    snprintf(want, sizeof want, "line 65: visit_id: R64 is already journaled");
    ck_assert_msg(strstr(err, want) != NULL, "round %d: %s", round, err);
    free(out);
    free(err);
    free(rdir);
  }
  free(input);
}
END_TEST

START_TEST(test_cli_defer_repeats_across_many_runs) {
  /* Ten runs of 64 lines; each line after the first run repeats the
   * visit_id of the line 64 before it, with another amount. Runs are
   * written in parallel, and a repeat may find its first line written or
   * not: only the first run is stored, every later line is a conflict. */
  enum { LINES = 640, RUN = 64 };
  char *input = malloc(LINES * 400), *out, *err, want[128];
  size_t len = 0;
  for (int i = 1; i <= LINES; i++)
    len += claim_line_fen(input + len, LINES * 400 - len, "Q",
                          (i - 1) % RUN + 1, 100 + i);
  input[len] = '\0';
  keygen();
  ck_assert_int_eq(run(input, &out, &err, "defer", "--create", "--journal",
                       jdir, "--key", key, NULL), 2);
  ck_assert_int_eq(count_lines(out), RUN);
  for (int i = 1; i <= RUN; i++) {
    snprintf(want, sizeof want, "{\"visit_id\":\"Q%d\",\"status\":\"stored\"}\n",
             i);
    ck_assert_msg(strstr(out, want) != NULL, "Q%d not stored: %s", i, out);
  }
  for (int i = RUN + 1; i <= LINES; i++) {
    snprintf(want, sizeof want, "line %d: visit_id: Q%d is already journaled",
             i, (i - 1) % RUN + 1);
    ck_assert_msg(strstr(err, want) != NULL, "line %d: %s", i, err);
  }
  free(out);
  free(err);
  /* the amounts stored are those of the first run */
  ck_assert_int_eq(run(NULL, &out, &err, "list", "--journal", jdir, "--key",
                       key, NULL), 0);
  ck_assert_int_eq(count_lines(out), RUN);
  for (int i = 1; i <= RUN; i++) {
    snprintf(want, sizeof want, "\"total_fen\":%d,", 100 + i);
    ck_assert_msg(strstr(out, want) != NULL, "Q%d: not the first amount", i);
  }
  free(out);
  free(err);
  free(input);
}
END_TEST

START_TEST(test_cli_defer_starts_where_stdin_stands) {
  /* A file already partly read by the caller (`{ read -r first; medshim
   * defer; } < file`): only the rest is taken, numbered from 1. */
  char *out, *err;
  keygen();
  skip_input = (off_t)strlen(CLAIM("O1", ""));
  ck_assert_int_eq(run(CLAIM("O1", "") CLAIM("O2", "") "bad\n", &out, &err,
                       "defer", "--create", "--journal", jdir, "--key", key, NULL), 2);
  skip_input = 0;
  ck_assert_str_eq(out, "{\"visit_id\":\"O2\",\"status\":\"stored\"}\n");
  ck_assert_ptr_nonnull(strstr(err, "line 2: not valid JSON"));
  free(out);
  free(err);
}
END_TEST

START_TEST(test_cli_defer_gives_up_at_once_when_journal_fails) {
  /* A journal that cannot be opened (wrong key) ends the command with
   * status 1 even though its input is still open: it must not wait for
   * input that may never come. */
  int in[2], status = 0;
  pid_t pid, done = 0;
  keygen();
  ck_assert_int_eq(run(NULL, NULL, NULL, "keygen", key2, NULL), 0);
  ck_assert_int_eq(run(CLAIM("G1", ""), NULL, NULL, "defer", "--create", "--journal", jdir,
                       "--key", key, NULL), 0);
  ck_assert_int_eq(pipe(in), 0);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(in[0], 0);
    dup2(null, 1);
    dup2(null, 2);
    close(in[1]);
    execl(cli, cli, "defer", "--create", "--journal", jdir, "--key", key2, (char *)NULL);
    _exit(127);
  }
  close(in[0]);
  ck_assert(write(in[1], CLAIM("G2", ""), strlen(CLAIM("G2", ""))) > 0);
  for (int waited = 0; waited < 2000 && done == 0; waited++) {
    done = waitpid(pid, &status, WNOHANG);
    if (done == 0)
      usleep(10000);
  }
  if (done == 0) { /* still running after 20 s with its input open */
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  close(in[1]);
  ck_assert_msg(done == pid, "medshim defer kept waiting for input");
  ck_assert(WIFEXITED(status));
  ck_assert_int_eq(WEXITSTATUS(status), 1);
}
END_TEST

START_TEST(test_cli_defer_killed_keeps_every_ack) {
  /* SIGKILL `medshim defer` at random moments of a 3,000-line import, from
   * a file and from a pipe: every claim it acknowledged is in the journal
   * afterwards, which opens and verifies. */
  enum { LINES = 3000, ROUNDS = 8 };
  char *input = malloc((size_t)LINES * 400), *ip = tu_path(dir, "import"),
       line[512], *out, *err;
  size_t len = 0;
  unsigned seed = (unsigned)time(NULL);
  int kills = 0;
  srand(seed);
  keygen();
  for (int i = 0; i < LINES; i++)
    len += claim_line(input + len, (size_t)LINES * 400 - len, "Q", i);
  tu_write_file(ip, (const unsigned char *)input, len);
  for (int round = 0; round < ROUNDS; round++) {
    int outp[2], status, acked = 0, want = rand() % 2500;
    char *acks = malloc(LINES * 64);
    size_t alen = 0;
    ssize_t n;
    pid_t pid;
    ck_assert_int_eq(pipe(outp), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
      int null = open("/dev/null", O_WRONLY), in = open(ip, O_RDONLY);
      dup2(outp[1], 1);
      dup2(null, 2);
      close(outp[0]);
      if (round % 2 == 1)
        in = through_pipe(in);
      dup2(in, 0); /* even rounds: the file itself, mapped */
      execl(cli, cli, "defer", "--create", "--suite",
          medshim_journal_suite_name(tu_suite()), "--journal", jdir, "--key",
          key, (char *)NULL);
      _exit(127);
    }
    close(outp[1]);
    /* read acks until `want` of them, then kill (or it finished first) */
    while (acked < want &&
           (n = read(outp[0], acks + alen, LINES * 64 - alen - 1)) > 0) {
      alen += (size_t)n;
      acked = 0;
      for (size_t k = 0; k < alen; k++)
        acked += acks[k] == '\n';
    }
    kill(pid, SIGKILL);
    /* what it printed before it died */
    while ((n = read(outp[0], acks + alen, LINES * 64 - alen - 1)) > 0)
      alen += (size_t)n;
    close(outp[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    kills += WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0);
    acks[alen] = '\0';
    /* every complete ack line names a claim that is in the journal */
    ck_assert_int_eq(run(NULL, &out, &err, "list", "--journal", jdir, "--key",
                         key, NULL), 0);
    for (char *a = acks, *nl; (nl = strchr(a, '\n')) != NULL; a = nl + 1) {
      char *id = strstr(a, "\"visit_id\":\""), *q;
      ck_assert_ptr_nonnull(id);
      id += 12; /* past "visit_id":" */
      q = strchr(id, '"');
      snprintf(line, sizeof line, "\"visit_id\":\"%.*s\"", (int)(q - id), id);
      ck_assert_msg(strstr(out, line) != NULL,
                    "acknowledged %s missing (round %d, seed %u)", line, round,
                    seed);
    }
    free(out);
    free(err);
    ck_assert_int_eq(run(NULL, &out, &err, "verify", "--journal", jdir, "--key",
                         key, NULL), 0);
    free(out);
    free(err);
    free(acks);
  }
  ck_assert_int_gt(kills, 0);
  free(input);
  free(ip);
}
END_TEST

/* With --schedule, the window the notice gives each visit is journaled
 * with it; a line's own window is kept; a bad schedule stores nothing. */
START_TEST(test_cli_defer_journals_the_window) {
  char *out, *err, sched[4096];
  const char *own = "{\"visit_id\":\"W2\",\"service\":\"inpatient\","
                    "\"insured_admdvs\":\"330102\",\"treated_admdvs\":\"330106\","
                    "\"visit_time\":\"2022-02-11T09:30:00+08:00\",\"total_fen\":100,"
                    "\"self_paid_fen\":100,\"window\":{\"route\":\"agency\","
                    "\"from\":\"2022-03-15T00:00:00+08:00\"}}\n";
  char *input;
  keygen();
  snprintf(sched, sizeof sched, "%s/examples/schedules/hangzhou-2022.json",
           getenv("MEDSHIM_SOURCE_DIR"));
  ck_assert_int_ne(run(CLAIM("W0", ""), &out, &err, "defer", "--create", "--journal", jdir,
                       "--key", key, "--schedule", "/nonexistent.json", NULL), 0);
  ck_assert_str_eq(out, "");
  free(out);
  free(err);
  input = malloc(strlen(own) + 4096);
  snprintf(input, strlen(own) + 4096, "%s%s", CLAIM("W1", ""), own);
  ck_assert_int_eq(run(input, &out, &err, "defer", "--create", "--journal", jdir, "--key",
                       key, "--schedule", sched, NULL), 0);
  free(input);
  free(out);
  free(err);
  ck_assert_int_eq(run(NULL, &out, &err, "list", "--journal", jdir, "--key", key,
                       NULL), 0);
  ck_assert_ptr_nonnull(strstr(out, "\"window\":{\"route\":\"hospital\","
                                    "\"from\":\"2022-03-15T00:00:00+08:00\","
                                    "\"until\":\"2023-01-01T00:00:00+08:00\","
                                    "\"schedule\":\"hangzhou-2022\""));
  ck_assert_ptr_nonnull(strstr(out, "\"window\":{\"route\":\"agency\","
                                    "\"from\":\"2022-03-15T00:00:00+08:00\"}"));
  free(out);
  free(err);
}
END_TEST

START_TEST(test_cli_verify_and_damage) {
  char *out, *err, *seg;
  size_t len;
  unsigned char *buf;
  DIR *d;
  struct dirent *e;
  keygen();
  ck_assert_int_eq(run(CLAIM("V1", "") CLAIM("V2", "") CLAIM("V3", ""), NULL,
                       NULL, "defer", "--create", "--journal", jdir, "--key", key, NULL), 0);
  ck_assert_int_eq(run(NULL, &out, &err, "verify", "--journal", jdir, "--key",
                       key, NULL), 0);
  ck_assert_ptr_nonnull(strstr(out, "\"intact\":true"));
  ck_assert_ptr_nonnull(strstr(out, "\"claims\":3"));
  free(out);
  free(err);
  d = opendir(jdir);
  seg = NULL;
  while ((e = readdir(d)) != NULL)
    if (strstr(e->d_name, "seg-") != NULL)
      seg = tu_path(jdir, e->d_name);
  closedir(d);
  ck_assert_ptr_nonnull(seg);
  buf = tu_read_file(seg, &len);
  buf[4096 + (len - 4096) / 2] ^= 0x20; /* in the records */
  tu_write_file(seg, buf, len);
  ck_assert_int_eq(run(NULL, &out, &err, "verify", "--journal", jdir, "--key",
                       key, NULL), 1);
  ck_assert_ptr_nonnull(strstr(out, "\"intact\":false"));
  ck_assert_ptr_nonnull(strstr(err, "bad_record"));
  ck_assert_ptr_nonnull(strstr(err, "segment 1, record 2"));
  free(out);
  free(err);
  /* list refuses a damaged journal rather than skipping a record */
  ck_assert_int_eq(run(NULL, &out, &err, "list", "--journal", jdir, "--key", key,
                       NULL), 1);
  ck_assert_ptr_nonnull(strstr(err, "damaged"));
  free(out);
  free(err);
  free(buf);
  free(seg);
}
END_TEST

START_TEST(test_cli_wrong_key_and_rekey) {
  char *out, *err;
  keygen();
  ck_assert_int_eq(run(NULL, NULL, NULL, "keygen", key2, NULL), 0);
  ck_assert_int_eq(run(CLAIM("K1", ""), NULL, NULL, "defer", "--create", "--journal", jdir,
                       "--key", key, NULL), 0);
  ck_assert_int_eq(run(NULL, &out, &err, "list", "--journal", jdir, "--key", key2,
                       NULL), 1);
  ck_assert_ptr_nonnull(strstr(err, "wrong key"));
  free(out);
  free(err);
  ck_assert_int_eq(run(NULL, &out, &err, "rekey", "--journal", jdir, "--key",
                       key, "--new-key", key2, NULL), 0);
  free(out);
  free(err);
  ck_assert_int_eq(run(NULL, &out, &err, "list", "--journal", jdir, "--key", key,
                       NULL), 1);
  free(out);
  free(err);
  ck_assert_int_eq(run(NULL, &out, &err, "list", "--journal", jdir, "--key", key2,
                       NULL), 0);
  ck_assert_int_eq(count_lines(out), 1);
  free(out);
  free(err);
}
END_TEST

START_TEST(test_cli_help_and_usage) {
  const char *cmds[] = {"keygen", "defer",  "list",   "verify", "receipt",
                        "rekey",  "check",  "schedule", "replay", "void",
                        "retry",  "expire", "window", "report", "export"};
  char *out, *err;
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
    ck_assert_int_eq(run(NULL, &out, &err, cmds[i], "--help", NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "usage: medshim"));
    /* every command documents its exit statuses */
    ck_assert_msg(strstr(out, "Exit status") != NULL, "%s --help: %s", cmds[i],
                  out);
    free(out);
    free(err);
  }
  ck_assert_int_eq(run(NULL, &out, &err, "defer", NULL), 64);
  free(out);
  free(err);
  ck_assert_int_eq(run(NULL, &out, &err, "frobnicate", NULL), 64);
  ck_assert_ptr_nonnull(strstr(err, "unknown command"));
  ck_assert_ptr_null(strstr(err, "did you mean"));
  free(out);
  free(err);
  ck_assert_int_eq(run(NULL, &out, &err, "lsit", NULL), 64);
  ck_assert_msg(strstr(err, "medshim: unknown command 'lsit'; did you mean "
                            "'list'?") != NULL, "%s", err);
  free(out);
  free(err);
}
END_TEST

/* A typo in --journal must not start a second journal: defer creates one
 * only with --create, and otherwise names the path and says what to do. */
START_TEST(test_cli_defer_creates_only_when_asked) {
  char *out, *err;
  struct stat st;
  keygen();
  ck_assert_int_eq(run(CLAIM("C1", ""), &out, &err, "defer", "--journal", jdir,
                       "--key", key, NULL), 1);
  ck_assert_msg(strstr(err, "medshim defer: ") == err, "%s", err);
  ck_assert_msg(strstr(err, jdir) != NULL, "%s", err);
  ck_assert_msg(strstr(err, "--create") != NULL, "%s", err);
  ck_assert_int_ne(stat(jdir, &st), 0); /* nothing was made */
  free(out);
  free(err);
  /* an empty directory is no journal either */
  ck_assert_int_eq(mkdir(jdir, 0700), 0);
  ck_assert_int_eq(run(CLAIM("C1", ""), &out, &err, "defer", "--journal", jdir,
                       "--key", key, NULL), 1);
  ck_assert_msg(strstr(err, "--create") != NULL, "%s", err);
  free(out);
  free(err);
  ck_assert_int_eq(rmdir(jdir), 0);
  ck_assert_int_eq(run(CLAIM("C1", ""), &out, &err, "defer", "--create",
                       "--journal", jdir, "--key", key, NULL), 0);
  ck_assert_ptr_nonnull(strstr(out, "\"stored\""));
  free(out);
  free(err);
  /* an existing journal needs no --create */
  ck_assert_int_eq(run(CLAIM("C2", ""), &out, &err, "defer", "--journal", jdir,
                       "--key", key, NULL), 0);
  ck_assert_ptr_nonnull(strstr(out, "\"stored\""));
  free(out);
  free(err);
}
END_TEST

/* Every message names the command; a missing option is named; an unknown
 * value is answered with the valid ones and the nearest. */
START_TEST(test_cli_says_what_is_wrong) {
  static const struct {
    const char *a[8];
    const char *msg;
  } cases[] = {
      {{"list", "--bogus", NULL}, "medshim list: unrecognized option '--bogus'"},
      {{"list", "--journal", NULL}, "medshim list: option '--journal' needs a value"},
      {{"list", "--key", "k", NULL}, "medshim list: --journal DIR is required"},
      {{"list", "--journal", "j", NULL}, "medshim list: --key KEYFILE is required"},
      {{"list", "--journal", "j", "--key", "k", "--state", "setled", NULL},
       "medshim list: --state: unknown state 'setled'; did you mean 'settled'? "
       "(valid: pending in_doubt settled rejected retry_wait expired manual "
       "voided)"},
      {{"void", "--journal", "j", "--key", "k", "--state", "INDOUBT", NULL},
       "did you mean 'in_doubt'?"},
      {{"verify", "-x", NULL}, "medshim verify: unrecognized option '-x'"},
      {{"defer", "--key", "k", NULL}, "medshim defer: --journal DIR is required"},
      {{"report", "--journal", "j", NULL}, "medshim report: --key KEYFILE is required"},
      {{"export", "--journal", "j", "--key", "k", NULL},
       "medshim export: --manual is required"},
      {{"rekey", "--journal", "j", "--key", "k", NULL},
       "medshim rekey: --new-key NEWKEY is required"},
      {{"receipt", "--journal", "j", "--key", "k", NULL},
       "medshim receipt: --all or a VISIT_ID is required"},
      {{"window", "--journal", "j", "--key", "k", NULL},
       "medshim window: --schedule FILE is required"},
      {{"keygen", NULL}, "medshim keygen: KEYFILE is required"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *out, *err;
    const char *const *a = cases[i].a;
    ck_assert_int_eq(run(NULL, &out, &err, a[0], a[1], a[2], a[3], a[4], a[5],
                         a[6], a[7], NULL), 64);
    ck_assert_msg(strstr(err, cases[i].msg) != NULL, "%s: %s", a[0], err);
    ck_assert_msg(strncmp(err, "medshim ", 8) == 0, "%s", err);
    ck_assert_msg(strstr(err, "usage:") == NULL, "%s", err);
    free(out);
    free(err);
  }
}
END_TEST

/* Every file under path, the replay lane's too. */
static void assert_no_plaintext(const char *path) {
  DIR *d = opendir(path);
  struct dirent *e;
  ck_assert_ptr_nonnull(d);
  while ((e = readdir(d)) != NULL) {
    size_t len;
    char *p;
    unsigned char *buf;
    struct stat st;
    if (e->d_name[0] == '.')
      continue;
    p = tu_path(path, e->d_name);
    ck_assert_int_eq(lstat(p, &st), 0);
    if (S_ISDIR(st.st_mode)) {
      assert_no_plaintext(p);
      free(p);
      continue;
    }
    buf = tu_read_file(p, &len);
    ck_assert_ptr_nonnull(buf);
    ck_assert_ptr_null(memmem(buf, len, "王小明", strlen("王小明")));
    ck_assert_ptr_null(memmem(buf, len, "330102198001014321", 18));
    free(buf);
    free(p);
  }
  closedir(d);
}

START_TEST(test_cli_files_hold_no_plaintext) {
  keygen();
  ck_assert_int_eq(run(CLAIM("P1", "") CLAIM("P2", ""), NULL, NULL, "defer", "--create",
                       "--journal", jdir, "--key", key, NULL), 0);
  assert_no_plaintext(jdir);
}
END_TEST

/* A visit after 2038-01-19 (where a 32-bit time_t ends) with amounts above
 * 2^32 fen is stored, listed and reported exactly. */
START_TEST(test_cli_defer_after_2038_and_large_amounts) {
  static const char big[] =
      "{\"visit_id\":\"BIG1\",\"service\":\"outpatient\",\"insured_admdvs\":"
      "\"330102\",\"treated_admdvs\":\"330106\",\"visit_time\":"
      "\"2040-02-11T09:30:00+08:00\",\"total_fen\":900000000000,"
      "\"self_paid_fen\":5000000000,\"patient\":{\"name\":\"王小明\","
      "\"id_no\":\"330102198001014321\"}}\n";
  char *out, *err;
  keygen();
  ck_assert_int_eq(run(big, &out, &err, "defer", "--create", "--journal", jdir,
                       "--key", key, NULL), 0);
  ck_assert_msg(strcmp(out, "{\"visit_id\":\"BIG1\",\"status\":\"stored\"}\n") == 0,
                "%s%s", out, err);
  free(out);
  free(err);
  ck_assert_int_eq(run(NULL, &out, &err, "list", "--journal", jdir, "--key", key,
                       NULL), 0);
  ck_assert_msg(strstr(out, "\"visit_time\":\"2040-02-11T09:30:00+08:00\"") != NULL,
                "%s", out);
  ck_assert_ptr_nonnull(strstr(out, "\"total_fen\":900000000000,"));
  ck_assert_ptr_nonnull(strstr(out, "\"self_paid_fen\":5000000000,"));
  free(out);
  free(err);
  ck_assert_int_eq(run(NULL, &out, &err, "report", "--journal", jdir, "--key", key,
                       "--csv", NULL), 0);
  ck_assert_msg(strstr(out, "2040-02-11,outpatient,pending,1,900000000000,"
                            "5000000000,0,") != NULL, "%s", out);
  free(out);
  free(err);
}
END_TEST

/* Standard input positioned past 2 GiB and past 4 GiB of a file (sparse,
 * costing no disk): the claims there are taken, numbered from 1, as from
 * any offset. With a 32-bit off_t the file could not even be opened. */
START_TEST(test_cli_defer_starts_past_4_gib) {
  static const struct {
    off_t at;
    const char *input, *expect;
  } cases[] = {
      {(off_t)3 << 30, CLAIM("G1", "") CLAIM("G2", "") "bad\n",
       "{\"visit_id\":\"G1\",\"status\":\"stored\"}\n"
       "{\"visit_id\":\"G2\",\"status\":\"stored\"}\n"},
      {(off_t)5 << 30, CLAIM("H1", "") "bad\n",
       "{\"visit_id\":\"H1\",\"status\":\"stored\"}\n"},
  };
  char *out, *err;
  keygen();
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    skip_input = hole_input = cases[i].at;
    ck_assert_int_eq(run(cases[i].input, &out, &err, "defer", "--create",
                         "--journal", jdir, "--key", key, NULL), 2);
    skip_input = hole_input = 0;
    ck_assert_str_eq(out, cases[i].expect);
    ck_assert_msg(strstr(err, i == 0 ? "line 3: not valid JSON"
                                     : "line 2: not valid JSON") != NULL, "%s", err);
    free(out);
    free(err);
  }
  ck_assert_int_eq(run(NULL, &out, &err, "list", "--journal", jdir, "--key", key,
                       NULL), 0);
  ck_assert_int_eq(count_lines(out), 3);
  free(out);
  free(err);
}
END_TEST

int main(void) {
  Suite *s = suite_create("cli_journal");
  TCase *tc = tcase_create("cli");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_cli_keygen);
  tcase_add_test(tc, test_cli_defer_list_and_duplicates);
  tcase_add_test(tc, test_cli_defer_bad_lines_keep_good_ones);
  tcase_add_test(tc, test_cli_defer_acks_stream);
  tcase_add_test(tc, test_cli_defer_many_lines_from_a_file);
  tcase_add_test(tc, test_cli_defer_many_lines_from_a_pipe);
  tcase_add_test(tc, test_cli_defer_starts_where_stdin_stands);
  tcase_add_test(tc, test_cli_defer_first_of_a_repeated_visit_wins);
  tcase_add_test(tc, test_cli_defer_repeats_across_many_runs);
  tcase_add_test(tc, test_cli_defer_killed_keeps_every_ack);
  tcase_add_test(tc, test_cli_defer_gives_up_at_once_when_journal_fails);
  tcase_add_test(tc, test_cli_defer_journals_the_window);
  tcase_add_test(tc, test_cli_verify_and_damage);
  tcase_add_test(tc, test_cli_wrong_key_and_rekey);
  tcase_add_test(tc, test_cli_help_and_usage);
  tcase_add_test(tc, test_cli_defer_creates_only_when_asked);
  tcase_add_test(tc, test_cli_says_what_is_wrong);
  tcase_add_test(tc, test_cli_files_hold_no_plaintext);
  tcase_add_test(tc, test_cli_defer_after_2038_and_large_amounts);
  tcase_add_test(tc, test_cli_defer_starts_past_4_gib);
  tcase_add_test(tc, test_cli_defer_suite);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
