/* What the journal can prove about its own end, and what it still gives
 * when damaged: segment anchors (records cut from the end, or the last
 * segment deleted, after a SIGKILL and under a live writer), the
 * checkpoint naming every segment, torn tails that are only what a power
 * cut leaves (whatever order the unsynced sectors reached the disk in),
 * receipts, the external anchor that catches a directory put back from an
 * older copy, and salvage, which reaches every authentic record whatever
 * the damage. */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "journal_format_internal.h"
#include "medshim/medshim.h"
#include "testutil.h"

static char *dir, *jdir, *key, *key2;

static void setup(void) {
  dir = tu_tempdir();
  jdir = tu_path(dir, "journal");
  key = tu_path(dir, "key");
  key2 = tu_path(dir, "key2");
  tu_write_key(key, 1);
  tu_write_key(key2, 2);
}

static void teardown(void) {
  tu_rmtree(dir);
  free(dir);
  free(jdir);
  free(key);
  free(key2);
}

static medshim_journal *open_at(const char *d, const char *k, unsigned flags) {
  medshim_journal_options o = tu_opts(k, flags);
  medshim_journal *j = NULL;
  medshim_error err;
  memset(&err, 0, sizeof err);
  ck_assert_msg(medshim_journal_open(&j, d, &o, &err) == MEDSHIM_OK,
                "open %s: %s: %s", d, err.where, err.text);
  return j;
}

static medshim_journal *open_rw(void) {
  return open_at(jdir, key, MEDSHIM_JOURNAL_CREATE);
}

static int try_open(unsigned flags) {
  medshim_journal_options o = tu_opts(key, flags);
  medshim_journal *j = NULL;
  medshim_error err;
  int rc = medshim_journal_open(&j, jdir, &o, &err);
  medshim_journal_close(j);
  return rc;
}

static void defer_range(medshim_journal *j, const char *prefix, int from,
                        int to) {
  for (int i = from; i < to; i++) {
    medshim_claim *c = tu_claim(prefix, i);
    medshim_defer_result r = 0;
    ck_assert_msg(medshim_journal_defer(j, c, &r) == MEDSHIM_OK, "%s",
                  medshim_journal_errmsg(j));
    medshim_claim_free(c);
  }
}

/* A batch written in one write and never synced. */
static void defer_unsynced(medshim_journal *j, const char *prefix, int from,
                           int to) {
  const medshim_claim *cs[64];
  int res[64];
  ck_assert_int_le(to - from, 64);
  for (int i = from; i < to; i++)
    cs[i - from] = tu_claim(prefix, i);
  ck_assert_int_eq(medshim_journal_defer_batch_nosync(j, cs, (size_t)(to - from),
                                                      res),
                   MEDSHIM_OK);
  for (int i = 0; i < to - from; i++)
    medshim_claim_free((medshim_claim *)cs[i]);
}

static medshim_damage verify(medshim_verify_report *rep, int *rc) {
  medshim_journal_options o = tu_opts(key, 0);
  memset(rep, 0, sizeof *rep);
  rep->version = MEDSHIM_VERIFY_REPORT_VERSION;
  *rc = medshim_journal_verify(jdir, &o, rep);
  return rep->damage;
}

/* Damage: verify says so (ECORRUPT) and no handle opens, reader or writer
 * (a writer gets EBUSY while the live one holds the journal). */
static void expect_damage_live(const char *what, int writer_live) {
  medshim_verify_report rep;
  int rc;
  medshim_damage d = verify(&rep, &rc);
  ck_assert_msg(rc == MEDSHIM_ECORRUPT && d != MEDSHIM_DAMAGE_NONE &&
                    d != MEDSHIM_DAMAGE_TORN_TAIL,
                "%s: not reported as damage (rc %d, %s): %s", what, rc,
                medshim_damage_name(d), rep.text);
  ck_assert_int_eq(try_open(0), writer_live ? MEDSHIM_EBUSY : MEDSHIM_ECORRUPT);
  ck_assert_int_eq(try_open(MEDSHIM_JOURNAL_READONLY), MEDSHIM_ECORRUPT);
}

static void expect_damage(const char *what) { expect_damage_live(what, 0); }

static char *seg_path(unsigned n) {
  char name[64];
  snprintf(name, sizeof name, "seg-%016u.msj", n);
  return tu_path(jdir, name);
}

/* Offset of record k (0-based) of segment n. */
static size_t record_at(unsigned n, size_t k, size_t *file_len) {
  char *p = seg_path(n);
  size_t len, offs[256], count;
  unsigned char *buf = tu_read_file(p, &len);
  ck_assert_ptr_nonnull(buf);
  count = tu_record_offsets(buf, len, offs, 256);
  ck_assert_uint_gt(count, k);
  free(buf);
  free(p);
  if (file_len != NULL)
    *file_len = len;
  return offs[k];
}

static void truncate_segment(unsigned n, size_t len) {
  char *p = seg_path(n);
  ck_assert_int_eq(truncate(p, (off_t)len), 0);
  free(p);
}

/* Under load a writer anchors at most every 50 ms: after a pause, one more
 * durable defer anchors everything before it. */
static void settle_anchor(medshim_journal *j) {
  usleep(60000);
  defer_range(j, "Z", 0, 1);
}

/* A child that opens the journal, defers [from, to) acknowledged (and one
 * more claim after a pause, so the anchor names them all) and is killed
 * without closing: no checkpoint covers its records. */
static void killed_writer(const char *prefix, int from, int to) {
  int status;
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    medshim_journal *j = open_rw();
    defer_range(j, prefix, from, to);
    settle_anchor(j);
    raise(SIGKILL);
    _exit(1);
  }
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

START_TEST(test_anchor_tail_cut_after_sigkill) {
  size_t len;
  killed_writer("V", 0, 50);
  /* cut the last 40 acknowledged records, at a record boundary */
  truncate_segment(1, record_at(1, 10, &len));
  expect_damage("tail cut at a record boundary");
}
END_TEST

START_TEST(test_anchor_tail_cut_mid_record_after_sigkill) {
  killed_writer("V", 0, 50);
  truncate_segment(1, record_at(1, 49, NULL) + 100);
  expect_damage("last acknowledged record cut in half");
}
END_TEST

START_TEST(test_anchor_only_segment_deleted_after_sigkill) {
  char *p;
  killed_writer("V", 0, 50);
  p = seg_path(1);
  ck_assert_int_eq(unlink(p), 0);
  free(p);
  expect_damage("the only segment deleted");
}
END_TEST

START_TEST(test_anchor_last_segment_deleted_after_sigkill) {
  medshim_journal *j = open_rw();
  char *p;
  defer_range(j, "A", 0, 5);
  ck_assert_int_eq(medshim_journal_close(j), MEDSHIM_OK);
  killed_writer("V", 0, 50); /* its own segment, 2 */
  p = seg_path(2);
  ck_assert_int_eq(unlink(p), 0);
  free(p);
  expect_damage("the last segment deleted");
}
END_TEST

/* Under a live writer: it has acknowledged 50 claims and is still running
 * (holding the journal) while its segment is cut, then deleted. */
START_TEST(test_anchor_cut_and_delete_under_live_writer) {
  int to_parent[2], to_child[2], status;
  char c;
  pid_t pid;
  ck_assert_int_eq(pipe(to_parent), 0);
  ck_assert_int_eq(pipe(to_child), 0);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    medshim_journal *j = open_rw();
    defer_range(j, "V", 0, 50);
    settle_anchor(j);
    if (write(to_parent[1], "x", 1) != 1 || read(to_child[0], &c, 1) != 1)
      _exit(1);
    _exit(0);
  }
  ck_assert_int_eq(read(to_parent[0], &c, 1), 1);
  {
    medshim_verify_report rep;
    int rc;
    verify(&rep, &rc);
    ck_assert_msg(rc == MEDSHIM_OK, "intact while the writer runs: %s",
                  rep.text);
  }
  truncate_segment(1, record_at(1, 30, NULL));
  expect_damage_live("tail cut under a live writer", 1);
  {
    char *p = seg_path(1);
    ck_assert_int_eq(unlink(p), 0);
    free(p);
  }
  expect_damage_live("segment deleted under a live writer", 1);
  ck_assert_int_eq(write(to_child[1], "x", 1), 1);
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
}
END_TEST

/* A writer killed after 5 acknowledged claims and a batch of 8 written but
 * never synced. */
static void killed_with_unsynced_batch(void) {
  int status;
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    medshim_journal *j = open_rw();
    defer_range(j, "V", 0, 5);
    defer_unsynced(j, "U", 0, 8);
    raise(SIGKILL);
    _exit(1);
  }
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
}

/* Overwrite [from, from + n) of segment 1 with what was there before the
 * unsynced write: nothing (zeros). */
static void zero_range(size_t from, size_t n) {
  char *p = seg_path(1);
  size_t len;
  unsigned char *buf = tu_read_file(p, &len);
  ck_assert_uint_le(from + n, len);
  memset(buf + from, 0, n);
  tu_write_file(p, buf, len);
  free(buf);
  free(p);
}

/* The power cut's outcome: a torn tail (not damage) that the next writer
 * trims, keeping the 5 acknowledged claims. */
static void expect_torn_keeping_five(const char *what) {
  medshim_verify_report rep;
  medshim_journal *j;
  medshim_claim_status st;
  int rc;
  ck_assert_msg(verify(&rep, &rc) == MEDSHIM_DAMAGE_TORN_TAIL &&
                    rc == MEDSHIM_OK,
                "%s: %s", what, rep.text);
  ck_assert_msg(strstr(rep.text, "never acknowledged") != NULL, "text: %s",
                rep.text);
  j = open_rw();
  for (int i = 0; i < 5; i++) {
    char id[16];
    snprintf(id, sizeof id, "V%d", i);
    ck_assert_int_eq(medshim_journal_get(NULL, &st, j, id), MEDSHIM_OK);
  }
  defer_range(j, "W", 0, 2);
  ck_assert_int_eq(medshim_journal_close(j), MEDSHIM_OK);
  ck_assert_int_eq(verify(&rep, &rc), MEDSHIM_DAMAGE_NONE);
}

START_TEST(test_anchor_reordered_unsynced_sectors_are_torn) {
  /* the first sectors of the unsynced batch never reached the disk, the
   * later ones did: authentic records follow a hole */
  size_t first;
  killed_with_unsynced_batch();
  first = record_at(1, 5, NULL);
  zero_range(first, 1024);
  expect_torn_keeping_five("first sectors of an unsynced write missing");
}
END_TEST

START_TEST(test_anchor_unsynced_middle_sector_missing_is_torn) {
  size_t mid;
  killed_with_unsynced_batch();
  mid = record_at(1, 9, NULL);
  zero_range(mid & ~(size_t)511, 512);
  expect_torn_keeping_five("a middle sector of an unsynced write missing");
}
END_TEST

START_TEST(test_anchor_acknowledged_record_flipped_is_damage) {
  /* beyond the checkpoint (the writer was killed), yet anchored: a flipped
   * byte is tampering, not a torn tail */
  char *p;
  size_t len, off;
  unsigned char *buf;
  killed_writer("V", 0, 10);
  off = record_at(1, 9, NULL);
  p = seg_path(1);
  buf = tu_read_file(p, &len);
  buf[off + 70] ^= 0x10;
  tu_write_file(p, buf, len);
  free(buf);
  free(p);
  expect_damage("last acknowledged record altered");
}
END_TEST

START_TEST(test_anchor_slots_altered_is_damage) {
  char *p = seg_path(1);
  size_t len;
  unsigned char *buf;
  killed_writer("V", 0, 10);
  buf = tu_read_file(p, &len);
  buf[JF_ANCHOR_SLOT0 + 30] ^= 1;
  buf[JF_ANCHOR_SLOT0 + JF_ANCHOR_SLOT_STRIDE + 30] ^= 1;
  tu_write_file(p, buf, len);
  free(buf);
  free(p);
  expect_damage("both anchor slots altered");
}
END_TEST

START_TEST(test_anchor_reserved_bytes_altered_is_damage) {
  char *p = seg_path(1);
  size_t len;
  unsigned char *buf;
  killed_writer("V", 0, 3);
  buf = tu_read_file(p, &len);
  buf[2048] = 0x41;
  tu_write_file(p, buf, len);
  free(buf);
  free(p);
  expect_damage("a reserved byte of the segment altered");
}
END_TEST

START_TEST(test_anchor_one_torn_slot_falls_back) {
  /* a slot torn by a power cut leaves the other one, and the journal
   * opens with every acknowledged claim */
  char *p = seg_path(1);
  size_t len;
  unsigned char *buf;
  medshim_journal *j;
  killed_writer("V", 0, 10);
  buf = tu_read_file(p, &len);
  memset(buf + JF_ANCHOR_SLOT0 + 64, 0, 64);
  tu_write_file(p, buf, len);
  free(buf);
  free(p);
  j = open_rw();
  ck_assert_uint_eq(medshim_journal_count(j), 11); /* V0-V9 and Z0 */
  ck_assert_int_eq(medshim_journal_close(j), MEDSHIM_OK);
}
END_TEST

/* Inside the anchor's window (the last commits before a crash, within
 * 50 ms of the last anchor): a cut the journal may not see, the claim's
 * receipt does. */
START_TEST(test_anchor_window_cut_caught_by_receipt) {
  int fds[2], status, rc;
  char r[MEDSHIM_RECEIPT_LEN_MAX + 1];
  medshim_verify_report rep;
  pid_t pid;
  ck_assert_int_eq(pipe(fds), 0);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    medshim_journal *j = open_rw();
    char out[MEDSHIM_RECEIPT_LEN_MAX + 1];
    defer_range(j, "V", 0, 2); /* V0 anchored at once, V1 right after */
    if (medshim_journal_receipt(out, j, "V1") != MEDSHIM_OK ||
        write(fds[1], out, sizeof out) != (ssize_t)sizeof out)
      _exit(1);
    raise(SIGKILL);
    _exit(1);
  }
  ck_assert_int_eq(read(fds[0], r, sizeof r), (ssize_t)sizeof r);
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  truncate_segment(1, record_at(1, 1, NULL)); /* V1 cut off */
  verify(&rep, &rc);
  if (rc == MEDSHIM_OK) { /* inside the window: the receipt tells */
    medshim_journal *j = open_at(jdir, key, MEDSHIM_JOURNAL_READONLY);
    ck_assert_int_eq(medshim_journal_check_receipt(j, "V1", r),
                     MEDSHIM_ECORRUPT);
    medshim_journal_close(j);
  } else {
    ck_assert_int_eq(rc, MEDSHIM_ECORRUPT); /* anchored after all */
  }
}
END_TEST

/* ---- receipts ----------------------------------------------------------- */

static void receipt_of(medshim_journal *j, const char *id,
                       char out[MEDSHIM_RECEIPT_LEN_MAX + 1]) {
  ck_assert_msg(medshim_journal_receipt(out, j, id) == MEDSHIM_OK, "%s",
                medshim_journal_errmsg(j));
  ck_assert_uint_le(strlen(out), MEDSHIM_RECEIPT_LEN_MAX);
  ck_assert(strncmp(out, "R1-", 3) == 0);
}

static char *copy_dir(const char *from, const char *name) {
  char *to = tu_path(dir, name), cmd[8192];
  snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", from, to);
  ck_assert_int_eq(system(cmd), 0);
  return to;
}

static void replace_dir(const char *with) {
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -a '%s' '%s'", jdir, with,
           jdir);
  ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_receipt_detects_directory_put_back) {
  char r[80][MEDSHIM_RECEIPT_LEN_MAX + 1], again[MEDSHIM_RECEIPT_LEN_MAX + 1];
  medshim_journal *j = open_rw();
  char *copy;
  defer_range(j, "V", 0, 20);
  for (int i = 0; i < 20; i++) {
    char id[16];
    snprintf(id, sizeof id, "V%d", i);
    receipt_of(j, id, r[i]);
  }
  ck_assert_int_eq(medshim_journal_close(j), MEDSHIM_OK);
  copy = copy_dir(jdir, "copy");
  j = open_rw();
  defer_range(j, "V", 20, 70);
  for (int i = 20; i < 70; i++) {
    char id[16];
    snprintf(id, sizeof id, "V%d", i);
    receipt_of(j, id, r[i]);
  }
  /* stable: the same claim gives the same receipt */
  receipt_of(j, "V33", again);
  ck_assert_str_eq(again, r[33]);
  ck_assert_int_eq(medshim_journal_check_receipt(j, "V33", r[33]), MEDSHIM_OK);
  /* receipts are bound to their claim */
  ck_assert_int_eq(medshim_journal_check_receipt(j, "V34", r[33]),
                   MEDSHIM_ECORRUPT);
  ck_assert_int_eq(medshim_journal_close(j), MEDSHIM_OK);

  replace_dir(copy); /* the directory put back */
  {
    medshim_verify_report rep;
    int rc;
    verify(&rep, &rc);
    ck_assert_int_eq(rc, MEDSHIM_OK); /* what a directory cannot prove */
  }
  j = open_at(jdir, key, MEDSHIM_JOURNAL_READONLY);
  for (int i = 0; i < 70; i++) {
    char id[16];
    int rc;
    snprintf(id, sizeof id, "V%d", i);
    rc = medshim_journal_check_receipt(j, id, r[i]);
    if (i < 20) {
      ck_assert_msg(rc == MEDSHIM_OK, "%s: %s", id, medshim_journal_errmsg(j));
    } else {
      ck_assert_int_eq(rc, MEDSHIM_ECORRUPT);
      ck_assert_msg(strstr(medshim_journal_errmsg(j), "rolled back") != NULL,
                    "%s", medshim_journal_errmsg(j));
    }
  }
  medshim_journal_close(j);

  /* put back, and the lost claims deferred again: other records */
  j = open_rw();
  defer_range(j, "V", 20, 30);
  ck_assert_int_eq(medshim_journal_check_receipt(j, "V25", r[25]),
                   MEDSHIM_ECORRUPT);
  ck_assert_int_eq(medshim_journal_check_receipt(j, "V5", r[5]), MEDSHIM_OK);
  medshim_journal_close(j);
  free(copy);
}
END_TEST

START_TEST(test_receipt_refuses_foreign_and_malformed) {
  char r[MEDSHIM_RECEIPT_LEN_MAX + 1], bad[80];
  char *other = tu_path(dir, "other");
  medshim_journal *j = open_at(other, key2, MEDSHIM_JOURNAL_CREATE), *k;
  defer_range(j, "V", 0, 3);
  receipt_of(j, "V1", r);
  medshim_journal_close(j);
  k = open_rw();
  defer_range(k, "V", 0, 3);
  ck_assert_int_eq(medshim_journal_check_receipt(k, "V1", r), MEDSHIM_EKEY);
  ck_assert_ptr_nonnull(strstr(medshim_journal_errmsg(k), "another journal"));
  ck_assert_int_eq(medshim_journal_check_receipt(k, "V1", "hello"),
                   MEDSHIM_EINVAL);
  receipt_of(k, "V1", r);
  snprintf(bad, sizeof bad, "%sx", r);
  ck_assert_int_eq(medshim_journal_check_receipt(k, "V1", bad), MEDSHIM_EINVAL);
  memcpy(bad, r, sizeof r);
  bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == '0' ? '1' : '0';
  ck_assert_int_eq(medshim_journal_check_receipt(k, "V1", bad),
                   MEDSHIM_ECORRUPT);
  ck_assert_int_eq(medshim_journal_receipt(r, k, "nope"), MEDSHIM_ENOTFOUND);
  medshim_journal_close(k);
  free(other);
}
END_TEST

/* `medshim defer --receipts` and `medshim verify --receipts` together. */
START_TEST(test_receipt_cli_verify) {
  const char *cli = getenv("MEDSHIM_CLI");
  char cmd[16384], *in = tu_path(dir, "claims.jsonl"),
       *rf = tu_path(dir, "receipts.txt"), *copy;
  FILE *f;
  ck_assert_msg(cli != NULL, "MEDSHIM_CLI not set");
  f = fopen(in, "w");
  ck_assert_ptr_nonnull(f);
  for (int i = 0; i < 30; i++)
    fprintf(f,
            "{\"visit_id\":\"MZ-%04d\",\"service\":\"outpatient\","
            "\"insured_admdvs\":\"330102\",\"treated_admdvs\":\"330106\","
            "\"visit_time\":\"2022-02-11T09:30:00+08:00\",\"total_fen\":23850,"
            "\"self_paid_fen\":23850,\"invoice_no\":\"E-%d\",\"patient\":{"
            "\"name\":\"张三\",\"id_no\":\"330102198001011234\",\"psn_no\":"
            "\"33000011112222\",\"cert_type\":\"02\"},\"detail\":{\"items\":"
            "[{\"feedetl_sn\":\"1\",\"med_list_codg\":\"XA01BCX123\","
            "\"det_item_fee_sumamt\":\"238.50\"}]}}\n",
            i, i);
  fclose(f);
  snprintf(cmd, sizeof cmd,
           "head -n 10 '%s' | '%s' defer --create --suite %s --journal '%s' "
           "--key '%s' --receipts '%s' >/dev/null",
           in, cli, medshim_journal_suite_name(tu_suite()), jdir, key, rf);
  ck_assert_int_eq(system(cmd), 0);
  copy = copy_dir(jdir, "copy");
  snprintf(cmd, sizeof cmd,
           "tail -n 20 '%s' | '%s' defer --create --journal '%s' --key '%s' "
           "--receipts '%s' >/dev/null",
           in, cli, jdir, key, rf);
  ck_assert_int_eq(system(cmd), 0);
  snprintf(cmd, sizeof cmd,
           "'%s' verify --journal '%s' --key '%s' --receipts '%s' "
           ">/dev/null 2>&1",
           cli, jdir, key, rf);
  ck_assert_int_eq(system(cmd), 0);
  replace_dir(copy);
  snprintf(cmd, sizeof cmd,
           "'%s' verify --journal '%s' --key '%s' --receipts '%s' 2>&1 | "
           "grep -q '\"not_matching\":20'",
           cli, jdir, key, rf);
  ck_assert_int_eq(system(cmd), 0);
  snprintf(cmd, sizeof cmd,
           "'%s' verify --journal '%s' --key '%s' --receipts '%s' "
           ">/dev/null 2>&1",
           cli, jdir, key, rf);
  ck_assert_int_eq(WEXITSTATUS(system(cmd)), 1);
  free(in);
  free(rf);
  free(copy);
}
END_TEST

/* ---- salvage ------------------------------------------------------------ */

static medshim_journal *open_salvage(void) {
  return open_at(jdir, key, MEDSHIM_JOURNAL_SALVAGE);
}

static void expect_present(medshim_journal *j, const char *prefix, int from,
                           int to) {
  for (int i = from; i < to; i++) {
    char id[16];
    medshim_claim *c = NULL;
    medshim_claim_status st;
    snprintf(id, sizeof id, "%s%d", prefix, i);
    ck_assert_msg(medshim_journal_get(&c, &st, j, id) == MEDSHIM_OK, "%s: %s",
                  id, medshim_journal_errmsg(j));
    medshim_claim_free(c);
  }
}

typedef struct counter {
  size_t n;
} counter;
static int count_one(const medshim_claim *c, const medshim_claim_status *st,
                     void *p) {
  (void)c;
  (void)st;
  ((counter *)p)->n++;
  return 0;
}

static void flip(const char *path, size_t off) {
  size_t len;
  unsigned char *buf = tu_read_file(path, &len);
  ck_assert_uint_gt(len, off);
  buf[off] ^= 0x08;
  tu_write_file(path, buf, len);
  free(buf);
}

START_TEST(test_salvage_reads_past_a_damaged_record) {
  medshim_journal *j = open_rw();
  medshim_verify_report rep;
  counter n = {0};
  char *p;
  defer_range(j, "V", 0, 30);
  ck_assert_int_eq(medshim_journal_close(j), MEDSHIM_OK);
  p = seg_path(1);
  flip(p, record_at(1, 10, NULL) + 90);
  free(p);
  ck_assert_int_eq(try_open(MEDSHIM_JOURNAL_READONLY), MEDSHIM_ECORRUPT);
  j = open_salvage();
  ck_assert_uint_eq(medshim_journal_count(j), 29);
  expect_present(j, "V", 0, 10);
  expect_present(j, "V", 11, 30);
  ck_assert_int_eq(medshim_journal_foreach(j, count_one, &n), MEDSHIM_OK);
  ck_assert_uint_eq(n.n, 29);
  ck_assert_int_eq(medshim_journal_salvage_report(j, &rep), MEDSHIM_ECORRUPT);
  ck_assert_int_eq(rep.damage, MEDSHIM_DAMAGE_BAD_RECORD);
  ck_assert_uint_ge(rep.segments, 1);
  ck_assert_uint_eq(rep.seq, 11);
  medshim_journal_close(j);
}
END_TEST

START_TEST(test_salvage_across_missing_segment_bad_header_and_checkpoint) {
  medshim_journal *j;
  medshim_verify_report rep;
  char *p;
  for (int s2 = 0; s2 < 3; s2++) { /* three writer sessions: segments 1-3 */
    j = open_rw();
    defer_range(j, s2 == 0 ? "A" : s2 == 1 ? "B" : "C", 0, 10);
    ck_assert_int_eq(medshim_journal_close(j), MEDSHIM_OK);
  }
  j = open_at(jdir, key, MEDSHIM_JOURNAL_REPLAY);
  {
    medshim_claim_status st;
    memset(&st, 0, sizeof st);
    st.version = MEDSHIM_CLAIM_STATUS_VERSION;
    st.state = MEDSHIM_STATE_VOIDED;
    ck_assert_int_eq(medshim_journal_set_status(j, "C3", &st), MEDSHIM_OK);
  }
  ck_assert_int_eq(medshim_journal_close(j), MEDSHIM_OK);
  p = seg_path(2);
  ck_assert_int_eq(unlink(p), 0);
  free(p);
  p = seg_path(3);
  flip(p, 20); /* its header's journal id: the MAC fails */
  free(p);
  p = tu_path(jdir, "checkpoint");
  flip(p, 40);
  free(p);
  ck_assert_int_eq(try_open(MEDSHIM_JOURNAL_READONLY), MEDSHIM_ECORRUPT);
  j = open_salvage();
  ck_assert_uint_eq(medshim_journal_count(j), 20);
  expect_present(j, "A", 0, 10);
  expect_present(j, "C", 0, 10);
  {
    medshim_claim_status st;
    ck_assert_int_eq(medshim_journal_get(NULL, &st, j, "C3"), MEDSHIM_OK);
    ck_assert_int_eq(st.state, MEDSHIM_STATE_VOIDED); /* the lane read too */
  }
  ck_assert_int_eq(medshim_journal_salvage_report(j, &rep), MEDSHIM_ECORRUPT);
  ck_assert_uint_ge(rep.segments, 2);
  /* nothing written: a salvage handle refuses defer and statuses */
  {
    medshim_claim *c = tu_claim("Z", 0);
    ck_assert_int_ne(medshim_journal_defer(j, c, NULL), MEDSHIM_OK);
    medshim_claim_free(c);
  }
  medshim_journal_close(j);
}
END_TEST

START_TEST(test_salvage_of_an_intact_journal_reports_nothing) {
  medshim_journal *j = open_rw();
  medshim_verify_report rep;
  defer_range(j, "V", 0, 5);
  ck_assert_int_eq(medshim_journal_close(j), MEDSHIM_OK);
  j = open_salvage();
  ck_assert_uint_eq(medshim_journal_count(j), 5);
  ck_assert_int_eq(medshim_journal_salvage_report(j, &rep), MEDSHIM_OK);
  ck_assert_int_eq(rep.damage, MEDSHIM_DAMAGE_NONE);
  medshim_journal_close(j);
  {
    medshim_journal_options o = tu_opts(key, MEDSHIM_JOURNAL_SALVAGE |
                                                 MEDSHIM_JOURNAL_CREATE);
    medshim_error err;
    ck_assert_int_eq(medshim_journal_open(&j, jdir, &o, &err), MEDSHIM_EINVAL);
  }
}
END_TEST

START_TEST(test_salvage_cli_list) {
  const char *cli = getenv("MEDSHIM_CLI");
  medshim_journal *j = open_rw();
  char cmd[8192], *p;
  ck_assert_msg(cli != NULL, "MEDSHIM_CLI not set");
  defer_range(j, "V", 0, 12);
  ck_assert_int_eq(medshim_journal_close(j), MEDSHIM_OK);
  p = seg_path(1);
  flip(p, record_at(1, 4, NULL) + 80);
  free(p);
  snprintf(cmd, sizeof cmd, "'%s' list --journal '%s' --key '%s' >/dev/null "
           "2>&1", cli, jdir, key);
  ck_assert_int_eq(WEXITSTATUS(system(cmd)), 1);
  snprintf(cmd, sizeof cmd, "test \"$('%s' list --salvage --journal '%s' "
           "--key '%s' 2>/dev/null | wc -l)\" -eq 11", cli, jdir, key);
  ck_assert_int_eq(system(cmd), 0);
  snprintf(cmd, sizeof cmd, "'%s' list --salvage --journal '%s' --key '%s' "
           "2>&1 >/dev/null | grep -q SALVAGED", cli, jdir, key);
  ck_assert_int_eq(system(cmd), 0);
  snprintf(cmd, sizeof cmd, "'%s' list --salvage --journal '%s' --key '%s' "
           ">/dev/null 2>&1", cli, jdir, key);
  ck_assert_int_eq(WEXITSTATUS(system(cmd)), 2);
}
END_TEST

int main(void) {
  Suite *s = suite_create("anchor");
  TCase *tc = tcase_create("anchor");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_anchor_tail_cut_after_sigkill);
  tcase_add_test(tc, test_anchor_tail_cut_mid_record_after_sigkill);
  tcase_add_test(tc, test_anchor_only_segment_deleted_after_sigkill);
  tcase_add_test(tc, test_anchor_last_segment_deleted_after_sigkill);
  tcase_add_test(tc, test_anchor_cut_and_delete_under_live_writer);
  tcase_add_test(tc, test_anchor_reordered_unsynced_sectors_are_torn);
  tcase_add_test(tc, test_anchor_unsynced_middle_sector_missing_is_torn);
  tcase_add_test(tc, test_anchor_acknowledged_record_flipped_is_damage);
  tcase_add_test(tc, test_anchor_slots_altered_is_damage);
  tcase_add_test(tc, test_anchor_reserved_bytes_altered_is_damage);
  tcase_add_test(tc, test_anchor_one_torn_slot_falls_back);
  tcase_add_test(tc, test_anchor_window_cut_caught_by_receipt);
  tcase_add_test(tc, test_receipt_detects_directory_put_back);
  tcase_add_test(tc, test_receipt_refuses_foreign_and_malformed);
  tcase_add_test(tc, test_receipt_cli_verify);
  tcase_add_test(tc, test_salvage_reads_past_a_damaged_record);
  tcase_add_test(tc, test_salvage_across_missing_segment_bad_header_and_checkpoint);
  tcase_add_test(tc, test_salvage_of_an_intact_journal_reports_nothing);
  tcase_add_test(tc, test_salvage_cli_list);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
