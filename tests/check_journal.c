/* The journal: round trips, idempotency, keys, locking, every kind of
 * damage, crashes (fork + SIGKILL), injected I/O failures, threads. */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io_internal.h"
#include "journal_crypto_internal.h"
#include "journal_format_internal.h"
#include "journal_internal.h"
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
  medshim__io_inject(MEDSHIM__IO_WRITE, -1, 0);
  medshim__io_inject(MEDSHIM__IO_SYNC, -1, 0);
}

static void teardown(void) {
  medshim__io_inject(MEDSHIM__IO_WRITE, -1, 0);
  medshim__io_inject(MEDSHIM__IO_SYNC, -1, 0);
  tu_rmtree(dir);
  free(dir);
  free(jdir);
  free(key);
  free(key2);
}

static medshim_journal *open_rw(unsigned extra) {
  medshim_journal_options o = tu_opts(key, MEDSHIM_JOURNAL_CREATE | extra);
  medshim_journal *j = NULL;
  medshim_error err;
  memset(&err, 0, sizeof err);
  ck_assert_msg(medshim_journal_open(&j, jdir, &o, &err) == MEDSHIM_OK,
                "open: %s: %s", err.where, err.text);
  return j;
}

static medshim_journal *open_small_segments(void) {
  medshim_journal_options o = tu_opts(key, MEDSHIM_JOURNAL_CREATE);
  medshim_journal *j = NULL;
  o.segment_max_bytes = 12288; /* a few records each after the anchors */
  ck_assert_int_eq(medshim_journal_open(&j, jdir, &o, NULL), MEDSHIM_OK);
  return j;
}

static int try_open(unsigned flags, const char *k, medshim_error *err) {
  medshim_journal_options o = tu_opts(k, flags);
  medshim_journal *j = NULL;
  int rc = medshim_journal_open(&j, jdir, &o, err);
  if (rc == MEDSHIM_OK)
    medshim_journal_close(j);
  else
    ck_assert_ptr_null(j);
  return rc;
}

static void defer_n(medshim_journal *j, const char *prefix, int from, int n) {
  for (int i = from; i < from + n; i++) {
    medshim_claim *c = tu_claim(prefix, i);
    medshim_defer_result r = 0;
    ck_assert_msg(medshim_journal_defer(j, c, &r) == MEDSHIM_OK, "%s",
                  medshim_journal_errmsg(j));
    ck_assert_int_eq(r, MEDSHIM_DEFER_STORED);
    medshim_claim_free(c);
  }
}

/* One claim written but never synced: what a crash can leave torn. */
static void defer_unsynced(medshim_journal *j, const char *prefix, int i) {
  medshim_claim *c = tu_claim(prefix, i);
  const medshim_claim *cs[1] = {c};
  int r = 0;
  ck_assert_int_eq(medshim_journal_defer_batch_nosync(j, cs, 1, &r),
                   MEDSHIM_OK);
  medshim_claim_free(c);
}

static medshim_damage verify(medshim_verify_report *rep, int *rc) {
  medshim_journal_options o = tu_opts(key, 0);
  memset(rep, 0, sizeof *rep);
  rep->version = MEDSHIM_VERIFY_REPORT_VERSION;
  *rc = medshim_journal_verify(jdir, &o, rep);
  return rep->damage;
}

static int same_claim(const medshim_claim *a, const medshim_claim *b) {
  char *ja = NULL, *jb = NULL;
  int same;
  ck_assert_int_eq(medshim_claim_to_json(&ja, a, MEDSHIM_CLAIM_JSON_REVEAL), 0);
  ck_assert_int_eq(medshim_claim_to_json(&jb, b, MEDSHIM_CLAIM_JSON_REVEAL), 0);
  same = strcmp(ja, jb) == 0;
  medshim_free(ja);
  medshim_free(jb);
  return same;
}

/* Path of segment number n. */
static char *seg_path(unsigned n) {
  char name[64];
  snprintf(name, sizeof name, "seg-%016u.msj", n);
  return tu_path(jdir, name);
}


/* One context keeps its expanded key between records of a segment: a
 * different key, a different direction or a failed tag must each still
 * give the right answer. */
START_TEST(test_journal_crypto_context_reuse) {
  medshim__jcrypto *c = medshim__jcrypto_new(medshim__jsuite_get(MEDSHIM_JOURNAL_SUITE_DEFAULT));
  unsigned char ka[32], kb[32], nonce[JF_NONCE_BYTES] = {1}, aad[8] = {7};
  unsigned char pt[64], ct_a[64], ct_b[64], out[64], tag_a[JF_TAG_BYTES],
      tag_b[JF_TAG_BYTES], bad[JF_TAG_BYTES];
  ck_assert_ptr_nonnull(c);
  memset(ka, 0xa5, sizeof ka);
  memset(kb, 0x5a, sizeof kb);
  for (size_t i = 0; i < sizeof pt; i++)
    pt[i] = (unsigned char)i;
  ck_assert_int_eq(medshim__jcrypto_seal(c, ka, nonce, aad, sizeof aad, pt,
                                         sizeof pt, ct_a, tag_a), 0);
  ck_assert_int_eq(medshim__jcrypto_seal(c, kb, nonce, aad, sizeof aad, pt,
                                         sizeof pt, ct_b, tag_b), 0);
  ck_assert_int_ne(memcmp(ct_a, ct_b, sizeof ct_a), 0);
  for (int round = 0; round < 2; round++) {
    memset(out, 0, sizeof out);
    ck_assert_int_eq(medshim__jcrypto_open(c, ka, nonce, aad, sizeof aad, ct_a,
                                           sizeof ct_a, tag_a, out), 0);
    ck_assert_int_eq(memcmp(out, pt, sizeof pt), 0);
    /* the wrong key for this record, then a forged tag: refused */
    ck_assert_int_ne(medshim__jcrypto_open(c, ka, nonce, aad, sizeof aad, ct_b,
                                           sizeof ct_b, tag_b, out), 0);
    memcpy(bad, tag_a, sizeof bad);
    bad[0] ^= 1;
    ck_assert_int_ne(medshim__jcrypto_open(c, ka, nonce, aad, sizeof aad, ct_a,
                                           sizeof ct_a, bad, out), 0);
    /* and after a refusal the same context opens the right ones again */
    ck_assert_int_eq(medshim__jcrypto_open(c, kb, nonce, aad, sizeof aad, ct_b,
                                           sizeof ct_b, tag_b, out), 0);
    ck_assert_int_eq(memcmp(out, pt, sizeof pt), 0);
    ck_assert_int_eq(medshim__jcrypto_open(c, ka, nonce, aad, sizeof aad, ct_a,
                                           sizeof ct_a, tag_a, out), 0);
    /* sealing again with key a gives the same bytes as the first time */
    ck_assert_int_eq(medshim__jcrypto_seal(c, ka, nonce, aad, sizeof aad, pt,
                                           sizeof pt, out, bad), 0);
    ck_assert_int_eq(memcmp(out, ct_a, sizeof ct_a), 0);
    ck_assert_int_eq(memcmp(bad, tag_a, sizeof bad), 0);
  }
  medshim__jcrypto_free(c);
}
END_TEST

START_TEST(test_journal_round_trip) {
  medshim_journal *j = open_rw(0);
  defer_n(j, "V", 0, 50);
  ck_assert_uint_eq(medshim_journal_count(j), 50);
  medshim_journal_close(j);

  medshim_journal_options o = tu_opts(key, MEDSHIM_JOURNAL_READONLY);
  ck_assert_int_eq(medshim_journal_open(&j, jdir, &o, NULL), MEDSHIM_OK);
  ck_assert_uint_eq(medshim_journal_count(j), 50);
  for (int i = 0; i < 50; i++) {
    char id[32];
    medshim_claim *got = NULL, *want = tu_claim("V", i);
    medshim_claim_status st;
    snprintf(id, sizeof id, "V%d", i);
    ck_assert_int_eq(medshim_journal_get(&got, &st, j, id), MEDSHIM_OK);
    ck_assert(same_claim(got, want));
    ck_assert_int_eq(st.state, MEDSHIM_STATE_PENDING);
    medshim_claim_free(got);
    medshim_claim_free(want);
  }
  ck_assert_int_eq(medshim_journal_get(NULL, NULL, j, "nope"),
                   MEDSHIM_ENOTFOUND);
  medshim_journal_close(j);
  int rc;
  medshim_verify_report rep;
  ck_assert_int_eq(verify(&rep, &rc), MEDSHIM_DAMAGE_NONE);
  ck_assert_int_eq(rc, MEDSHIM_OK);
  ck_assert_uint_eq(rep.claims, 50);
}
END_TEST

static int count_visit(const medshim_claim *c, const medshim_claim_status *st,
                       void *payload) {
  int *n = payload;
  char want[32];
  snprintf(want, sizeof want, "V%d", *n);
  ck_assert_str_eq(medshim_claim_visit_id(c), want); /* journal order */
  ck_assert_int_eq(st->state, *n == 3 ? MEDSHIM_STATE_SETTLED
                                      : MEDSHIM_STATE_PENDING);
  (*n)++;
  return 0;
}

START_TEST(test_journal_foreach_and_status) {
  medshim_journal *j = open_rw(0);
  medshim_claim_status st, got;
  int n = 0;
  defer_n(j, "V", 0, 10);
  medshim_claim_status_init(&st, MEDSHIM_CLAIM_STATUS_VERSION);
  st.state = MEDSHIM_STATE_SETTLED;
  st.attempts = 1;
  st.fund_paid_fen = 8000;
  st.patient_paid_fen = 4000;
  st.refund_fen = 8039;
  snprintf(st.settlement_id, sizeof st.settlement_id, "S-0001");
  ck_assert_int_eq(medshim_journal_set_status(j, "V3", &st), MEDSHIM_OK);
  ck_assert_int_eq(medshim_journal_set_status(j, "nope", &st),
                   MEDSHIM_ENOTFOUND);
  ck_assert_int_eq(medshim_journal_foreach(j, count_visit, &n), MEDSHIM_OK);
  ck_assert_int_eq(n, 10);
  medshim_journal_close(j);
  j = open_rw(0);
  ck_assert_int_eq(medshim_journal_get(NULL, &got, j, "V3"), MEDSHIM_OK);
  ck_assert_int_eq(got.state, MEDSHIM_STATE_SETTLED);
  ck_assert_str_eq(got.settlement_id, "S-0001");
  ck_assert_int_eq(got.refund_fen, 8039);
  n = 0;
  ck_assert_int_eq(medshim_journal_foreach(j, count_visit, &n), MEDSHIM_OK);
  ck_assert_int_eq(n, 10);
  medshim_journal_close(j);
}
END_TEST

START_TEST(test_journal_duplicate_and_conflict) {
  medshim_journal *j = open_rw(0);
  medshim_claim *c = tu_claim("V", 1), *other = tu_claim("V", 2);
  medshim_claim_fields f = MEDSHIM_CLAIM_FIELDS_INIT;
  medshim_claim *conflict = NULL;
  medshim_defer_result r;
  const medshim_claim *batch[3];
  int results[3];
  ck_assert_int_eq(medshim_journal_defer(j, c, &r), MEDSHIM_OK);
  ck_assert_int_eq(r, MEDSHIM_DEFER_STORED);
  ck_assert_int_eq(medshim_journal_defer(j, c, &r), MEDSHIM_OK);
  ck_assert_int_eq(r, MEDSHIM_DEFER_DUPLICATE);
  /* Same visit_id, other amount: a conflict, and nothing is written. */
  f.visit_id = "V1";
  f.service = MEDSHIM_SERVICE_OUTPATIENT;
  f.insured_admdvs = "330102";
  f.treated_admdvs = "330106";
  f.visit_time = 1644456600;
  f.total_fen = 1;
  f.self_paid_fen = 1;
  ck_assert_int_eq(medshim_claim_create(&conflict, &f, NULL), MEDSHIM_OK);
  ck_assert_int_eq(medshim_journal_defer(j, conflict, &r), MEDSHIM_ECONFLICT);
  ck_assert_ptr_nonnull(strstr(medshim_journal_errmsg(j), "V1"));
  /* In a batch the conflict does not stop the good claims. */
  batch[0] = other;
  batch[1] = conflict;
  batch[2] = c;
  ck_assert_int_eq(medshim_journal_defer_batch(j, batch, 3, results),
                   MEDSHIM_OK);
  ck_assert_int_eq(results[0], MEDSHIM_DEFER_STORED);
  ck_assert_int_eq(results[1], MEDSHIM_ECONFLICT);
  ck_assert_int_eq(results[2], MEDSHIM_DEFER_DUPLICATE);
  ck_assert_uint_eq(medshim_journal_count(j), 2);
  medshim_journal_close(j);
  j = open_rw(0);
  ck_assert_uint_eq(medshim_journal_count(j), 2);
  medshim_journal_close(j);
  medshim_claim_free(c);
  medshim_claim_free(other);
  medshim_claim_free(conflict);
}
END_TEST

START_TEST(test_journal_wrong_key) {
  medshim_journal *j = open_rw(0);
  medshim_error err;
  defer_n(j, "V", 0, 3);
  medshim_journal_close(j);
  memset(&err, 0, sizeof err);
  ck_assert_int_eq(try_open(0, key2, &err), MEDSHIM_EKEY);
  ck_assert_ptr_nonnull(strstr(err.text, "wrong key"));
  ck_assert_int_eq(try_open(MEDSHIM_JOURNAL_READONLY, key2, &err), MEDSHIM_EKEY);
  ck_assert_int_eq(try_open(0, NULL, &err), MEDSHIM_EKEY);
  /* A key file of the wrong size. */
  char *bad = tu_path(dir, "badkey");
  tu_write_file(bad, (const unsigned char *)"short", 5);
  chmod(bad, 0600);
  ck_assert_int_eq(try_open(0, bad, &err), MEDSHIM_EKEY);
  ck_assert_ptr_nonnull(strstr(err.text, "32 bytes"));
  free(bad);
}
END_TEST

static int key_from_callback(unsigned char k[MEDSHIM_KEY_BYTES], void *payload) {
  size_t len;
  unsigned char *buf = tu_read_file(payload, &len);
  ck_assert_uint_eq(len, MEDSHIM_KEY_BYTES);
  memcpy(k, buf, MEDSHIM_KEY_BYTES);
  free(buf);
  return 0;
}

START_TEST(test_journal_key_callback_and_rekey) {
  medshim_journal *j = open_rw(0);
  medshim_journal_options cb = MEDSHIM_JOURNAL_OPTIONS_INIT, cur, next;
  medshim_error err;
  defer_n(j, "V", 0, 5);
  medshim_journal_close(j);
  cb.key_fn = key_from_callback;
  cb.key_payload = key;
  ck_assert_int_eq(medshim_journal_open(&j, jdir, &cb, NULL), MEDSHIM_OK);
  ck_assert_uint_eq(medshim_journal_count(j), 5);
  /* rekey needs the writer lock */
  cur = tu_opts(key, 0);
  next = tu_opts(key2, 0);
  ck_assert_int_eq(medshim_journal_rekey(jdir, &cur, &next, &err), MEDSHIM_EBUSY);
  medshim_journal_close(j);
  ck_assert_int_eq(medshim_journal_rekey(jdir, &next, &cur, &err), MEDSHIM_EKEY);
  ck_assert_int_eq(medshim_journal_rekey(jdir, &cur, &next, &err), MEDSHIM_OK);
  ck_assert_int_eq(try_open(0, key, &err), MEDSHIM_EKEY);
  ck_assert_int_eq(try_open(0, key2, &err), MEDSHIM_OK);
}
END_TEST

/* Keys as text: exported and imported as hex or base64, in a key file
 * instead of the raw bytes, or from a key_fn2 with a length; version 1
 * options with the old key_fn still work. */
static unsigned char raw_key[MEDSHIM_KEY_BYTES];
static const char *fn2_text;

static int key_text_callback(unsigned char *buf, size_t cap, size_t *len,
                             void *payload) {
  (void)payload;
  if (fn2_text == NULL) { /* the raw bytes */
    memcpy(buf, raw_key, sizeof raw_key);
    *len = sizeof raw_key;
    return 0;
  }
  if (strlen(fn2_text) > cap)
    return -1;
  memcpy(buf, fn2_text, strlen(fn2_text));
  *len = strlen(fn2_text);
  return 0;
}

static void write_text_key(const char *path, const char *text) {
  int fd;
  unlink(path);
  fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
}

START_TEST(test_journal_key_text_forms) {
  medshim_journal *j = open_rw(0);
  char hex[MEDSHIM_KEY_TEXT_MAX], b64[MEDSHIM_KEY_TEXT_MAX], line[MEDSHIM_KEY_TEXT_MAX + 4];
  unsigned char back[MEDSHIM_KEY_BYTES];
  size_t len;
  unsigned char *k = tu_read_file(key, &len);
  char *textkey = tu_path(dir, "key.txt");
  medshim_journal_options o = MEDSHIM_JOURNAL_OPTIONS_INIT;
  medshim_error err;
  defer_n(j, "V", 0, 3);
  medshim_journal_close(j);
  ck_assert_uint_eq(len, MEDSHIM_KEY_BYTES);
  memcpy(raw_key, k, sizeof raw_key);
  /* export, import, both ways */
  ck_assert_int_eq(medshim_key_export(hex, raw_key, MEDSHIM_KEY_HEX), MEDSHIM_OK);
  ck_assert_uint_eq(strlen(hex), 64);
  ck_assert_int_eq(medshim_key_export(b64, raw_key, MEDSHIM_KEY_BASE64), MEDSHIM_OK);
  ck_assert_uint_eq(strlen(b64), 44);
  ck_assert_int_eq(b64[43], '=');
  ck_assert_int_eq(medshim_key_import(back, hex, strlen(hex), NULL), MEDSHIM_OK);
  ck_assert_mem_eq(back, raw_key, sizeof back);
  snprintf(line, sizeof line, " %s\n", b64);
  ck_assert_int_eq(medshim_key_import(back, line, strlen(line), NULL), MEDSHIM_OK);
  ck_assert_mem_eq(back, raw_key, sizeof back);
  for (size_t i = 0; i < 64; i++) /* upper case hex too */
    line[i] = (char)(hex[i] >= 'a' ? hex[i] - 32 : hex[i]);
  ck_assert_int_eq(medshim_key_import(back, line, 64, NULL), MEDSHIM_OK);
  ck_assert_mem_eq(back, raw_key, sizeof back);
  /* not a key: refused, and the text is not quoted */
  memset(&err, 0, sizeof err);
  ck_assert_int_eq(medshim_key_import(back, hex, 63, &err), MEDSHIM_EKEY);
  ck_assert_ptr_null(strstr(err.text, "%"));
  ck_assert_ptr_null(strstr(err.text, hex + 10));
  b64[10] = '*';
  ck_assert_int_eq(medshim_key_import(back, b64, 44, NULL), MEDSHIM_EKEY);
  ck_assert_int_eq(medshim_key_export(hex, raw_key, (medshim_key_format)7), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_key_export(hex, raw_key, MEDSHIM_KEY_HEX), MEDSHIM_OK);
  ck_assert_int_eq(medshim_key_export(b64, raw_key, MEDSHIM_KEY_BASE64), MEDSHIM_OK);
  /* a key file holding the text, with a newline */
  snprintf(line, sizeof line, "%s\n", hex);
  write_text_key(textkey, line);
  ck_assert_int_eq(try_open(0, textkey, &err), MEDSHIM_OK);
  snprintf(line, sizeof line, "%s\n", b64);
  write_text_key(textkey, line);
  ck_assert_int_eq(try_open(0, textkey, &err), MEDSHIM_OK);
  write_text_key(textkey, "not a key\n");
  ck_assert_int_eq(try_open(0, textkey, &err), MEDSHIM_EKEY);
  ck_assert_ptr_nonnull(strstr(err.text, "hex or base64"));
  /* key_fn2: text or raw bytes, with their length */
  o.key_fn2 = key_text_callback;
  fn2_text = b64;
  ck_assert_int_eq(medshim_journal_open(&j, jdir, &o, &err), MEDSHIM_OK);
  ck_assert_uint_eq(medshim_journal_count(j), 3);
  medshim_journal_close(j);
  fn2_text = NULL;
  ck_assert_int_eq(medshim_journal_open(&j, jdir, &o, &err), MEDSHIM_OK);
  medshim_journal_close(j);
  fn2_text = "0011";
  ck_assert_int_eq(medshim_journal_open(&j, jdir, &o, &err), MEDSHIM_EKEY);
  ck_assert_str_eq(err.where, "key_fn2");
  /* version 1 options: key_fn2 is not read, key_fn and key_file work */
  o.version = 1;
  ck_assert_int_eq(medshim_journal_open(&j, jdir, &o, &err), MEDSHIM_EKEY);
  o.key_fn2 = NULL;
  o.key_fn = key_from_callback;
  o.key_payload = key;
  ck_assert_int_eq(medshim_journal_open(&j, jdir, &o, &err), MEDSHIM_OK);
  medshim_journal_close(j);
  ck_assert_int_eq(medshim_journal_options_init(&o, 1), MEDSHIM_OK);
  ck_assert_uint_eq(o.version, 1);
  free(textkey);
  free(k);
}
END_TEST

/* The suite is chosen at creation, recorded in the keyring (format 1 for
 * the default suite, unchanged; version 2 for SM), and followed by every
 * later open, verify and rekey without the caller naming it. */
static void suite_lifecycle(unsigned suite) {
  medshim_journal_options o = tu_opts(key, MEDSHIM_JOURNAL_CREATE), cur, next;
  medshim_journal_options v1 = tu_opts(key, 0);
  medshim_journal *j = NULL;
  medshim_verify_report rep;
  medshim_error err;
  unsigned char *kr;
  size_t len;
  char *krpath = tu_path(jdir, "keyring");
  int rc;
  o.suite = suite;
  memset(&err, 0, sizeof err);
  ck_assert_int_eq(medshim_journal_open(&j, jdir, &o, &err), MEDSHIM_OK);
  ck_assert_uint_eq(medshim_journal_suite(j), suite);
  defer_n(j, "S", 0, 6);
  medshim_journal_close(j);
  kr = tu_read_file(krpath, &len);
  ck_assert_ptr_nonnull(kr);
  ck_assert_uint_eq(len, JF_KEYRING_BYTES);
  ck_assert_uint_eq(jf_get16(kr + 8), suite == MEDSHIM_JOURNAL_SUITE_SM ? 2 : 1);
  ck_assert_uint_eq(jf_get32(kr + 12), suite == MEDSHIM_JOURNAL_SUITE_SM ? 2 : 1);
  /* a caller that names no suite (and one of options version 1) opens it */
  v1.version = 1;
  ck_assert_int_eq(medshim_journal_open(&j, jdir, &v1, &err), MEDSHIM_OK);
  ck_assert_uint_eq(medshim_journal_suite(j), suite);
  ck_assert_uint_eq(medshim_journal_count(j), 6);
  defer_n(j, "T", 0, 2);
  medshim_journal_close(j);
  ck_assert_int_eq(verify(&rep, &rc), MEDSHIM_DAMAGE_NONE);
  ck_assert_int_eq(rc, MEDSHIM_OK);
  ck_assert_uint_eq(rep.claims, 8);
  /* asking for SM never opens a journal of another suite */
  o.suite = MEDSHIM_JOURNAL_SUITE_SM;
  o.flags = 0;
  rc = medshim_journal_open(&j, jdir, &o, &err);
  if (suite == MEDSHIM_JOURNAL_SUITE_SM) {
    ck_assert_int_eq(rc, MEDSHIM_OK);
    medshim_journal_close(j);
  } else {
    ck_assert_int_eq(rc, MEDSHIM_EINVAL);
    ck_assert_ptr_null(j);
    ck_assert_ptr_nonnull(strstr(err.text, "default suite"));
  }
  o.suite = 9;
  ck_assert_int_eq(medshim_journal_open(&j, jdir, &o, &err), MEDSHIM_EINVAL);
  /* a rekey keeps the suite */
  cur = tu_opts(key, 0);
  next = tu_opts(key2, 0);
  ck_assert_int_eq(medshim_journal_rekey(jdir, &cur, &next, &err), MEDSHIM_OK);
  free(kr);
  kr = tu_read_file(krpath, &len);
  ck_assert_uint_eq(jf_get16(kr + 8), suite == MEDSHIM_JOURNAL_SUITE_SM ? 2 : 1);
  ck_assert_int_eq(try_open(0, key, &err), MEDSHIM_EKEY);
  ck_assert_int_eq(try_open(0, key2, &err), MEDSHIM_OK);
  /* Relabelling the keyring as the other suite is refused: the fields are
   * in the wrap's AAD, and the other suite's wrap key differs. */
  kr[8] = suite == MEDSHIM_JOURNAL_SUITE_SM ? 1 : 2;
  kr[12] = kr[8];
  tu_write_file(krpath, kr, len);
  ck_assert_int_eq(try_open(0, key2, &err), MEDSHIM_EKEY);
  /* an unknown suite in the keyring is an unsupported format */
  kr[8] = 2;
  kr[12] = 7;
  tu_write_file(krpath, kr, len);
  ck_assert_int_eq(try_open(0, key2, &err), MEDSHIM_EFORMAT);
  free(kr);
  free(krpath);
}

START_TEST(test_journal_suite_default) {
  suite_lifecycle(MEDSHIM_JOURNAL_SUITE_DEFAULT);
}
END_TEST

START_TEST(test_journal_suite_sm) { suite_lifecycle(MEDSHIM_JOURNAL_SUITE_SM); }
END_TEST

/* What the SM registration of these suites runs with is really SM. */
START_TEST(test_journal_created_with_test_suite) {
  medshim_journal *j = open_rw(0);
  ck_assert_uint_eq(medshim_journal_suite(j), tu_suite());
  medshim_journal_close(j);
}
END_TEST

START_TEST(test_journal_busy) {
  medshim_journal *j = open_rw(0), *j2 = NULL, *ro = NULL;
  medshim_journal_options o = tu_opts(key, 0), r = tu_opts(key, MEDSHIM_JOURNAL_READONLY);
  medshim_error err;
  pid_t pid;
  int status;
  defer_n(j, "V", 0, 2);
  /* A second writer in this process... */
  ck_assert_int_eq(medshim_journal_open(&j2, jdir, &o, &err), MEDSHIM_EBUSY);
  ck_assert_ptr_nonnull(strstr(err.text, "busy"));
  /* ...and in another process. */
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0)
    _exit(medshim_journal_open(&j2, jdir, &o, NULL) == MEDSHIM_EBUSY ? 0 : 1);
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  /* Readers are welcome and see what is durable. */
  ck_assert_int_eq(medshim_journal_open(&ro, jdir, &r, NULL), MEDSHIM_OK);
  ck_assert_uint_eq(medshim_journal_count(ro), 2);
  medshim_claim *c = tu_claim("V", 9);
  ck_assert_int_eq(medshim_journal_defer(ro, c, NULL), MEDSHIM_EREADONLY);
  medshim_claim_free(c);
  medshim_journal_close(ro);
  medshim_journal_close(j);
  ck_assert_int_eq(medshim_journal_open(&j2, jdir, &o, NULL), MEDSHIM_OK);
  medshim_journal_close(j2);
}
END_TEST

/* Files checked under path (the replay lane's too); none holds plaintext. */
static int scan_no_plaintext(const char *path) {
  DIR *d = opendir(path);
  struct dirent *e;
  int files = 0;
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
      files += scan_no_plaintext(p);
      free(p);
      continue;
    }
    buf = tu_read_file(p, &len);
    ck_assert_ptr_nonnull(buf);
    ck_assert_ptr_null(memmem(buf, len, "张三丰", strlen("张三丰")));
    ck_assert_ptr_null(memmem(buf, len, "110101199003077777", 18));
    ck_assert_ptr_null(memmem(buf, len, "33000012345678", 14));
    ck_assert_ptr_null(memmem(buf, len, "XA01BCX123", 10)); /* detail too */
    files++;
    free(buf);
    free(p);
  }
  closedir(d);
  return files;
}

START_TEST(test_journal_no_plaintext_personal_data) {
  medshim_journal *j = open_rw(0);
  defer_n(j, "V", 0, 20);
  medshim_journal_close(j);
  ck_assert_int_ge(scan_no_plaintext(jdir), 3);
}
END_TEST

/* ---- damage ------------------------------------------------------------ */

/* A closed journal of n claims in one segment; returns the segment bytes. */
static unsigned char *journal_with(int n, size_t *len, size_t *offs,
                                   size_t *nrec) {
  medshim_journal *j = open_rw(0);
  char *p = seg_path(1);
  unsigned char *buf;
  defer_n(j, "V", 0, n);
  medshim_journal_close(j);
  buf = tu_read_file(p, len);
  *nrec = tu_record_offsets(buf, *len, offs, 64);
  ck_assert_uint_eq(*nrec, (size_t)n);
  free(p);
  return buf;
}

static void expect_damage(medshim_damage want) {
  medshim_verify_report rep;
  medshim_error err;
  int rc;
  ck_assert_int_eq(verify(&rep, &rc), want);
  ck_assert_int_eq(rc, MEDSHIM_ECORRUPT);
  ck_assert_msg(strlen(rep.text) > 10, "report text: %s", rep.text);
  memset(&err, 0, sizeof err);
  ck_assert_int_eq(try_open(0, key, &err), MEDSHIM_ECORRUPT);
  ck_assert_int_eq(try_open(MEDSHIM_JOURNAL_READONLY, key, &err),
                   MEDSHIM_ECORRUPT);
}

START_TEST(test_journal_detects_bit_flip) {
  size_t len, offs[64], n;
  unsigned char *buf = journal_with(10, &len, offs, &n);
  char *p = seg_path(1);
  buf[offs[4] + 100] ^= 0x01;
  tu_write_file(p, buf, len);
  expect_damage(MEDSHIM_DAMAGE_BAD_RECORD);
  medshim_verify_report rep;
  int rc;
  verify(&rep, &rc);
  ck_assert_uint_eq(rep.seq, 5);
  ck_assert_uint_eq(rep.offset, offs[4]);
  ck_assert_uint_eq(rep.segment, 1);
  /* Even a flip in the last record is damage: the checkpoint covers it. */
  buf[offs[4] + 100] ^= 0x01;
  buf[offs[9] + 60] ^= 0x80;
  tu_write_file(p, buf, len);
  expect_damage(MEDSHIM_DAMAGE_BAD_RECORD);
  free(buf);
  free(p);
}
END_TEST

START_TEST(test_journal_detects_deleted_record) {
  size_t len, offs[64], n;
  unsigned char *buf = journal_with(10, &len, offs, &n);
  char *p = seg_path(1);
  size_t rl = offs[4] - offs[3];
  memmove(buf + offs[3], buf + offs[4], len - offs[4]);
  tu_write_file(p, buf, len - rl);
  expect_damage(MEDSHIM_DAMAGE_SEQUENCE);
  free(buf);
  free(p);
}
END_TEST

START_TEST(test_journal_detects_duplicated_record) {
  size_t len, offs[64], n;
  unsigned char *buf = journal_with(10, &len, offs, &n);
  char *p = seg_path(1);
  size_t rl = offs[3] - offs[2];
  unsigned char *out = malloc(len + rl);
  memcpy(out, buf, offs[3]);
  memcpy(out + offs[3], buf + offs[2], rl); /* record 3 twice */
  memcpy(out + offs[3] + rl, buf + offs[3], len - offs[3]);
  tu_write_file(p, out, len + rl);
  expect_damage(MEDSHIM_DAMAGE_SEQUENCE);
  free(out);
  free(buf);
  free(p);
}
END_TEST

START_TEST(test_journal_detects_reordered_records) {
  size_t len, offs[64], n;
  unsigned char *buf = journal_with(10, &len, offs, &n);
  char *p = seg_path(1);
  size_t a = offs[5] - offs[4], b = offs[6] - offs[5];
  unsigned char *tmp = malloc(a + b);
  memcpy(tmp, buf + offs[5], b);
  memcpy(tmp + b, buf + offs[4], a);
  memcpy(buf + offs[4], tmp, a + b);
  tu_write_file(p, buf, len);
  expect_damage(MEDSHIM_DAMAGE_SEQUENCE);
  free(tmp);
  free(buf);
  free(p);
}
END_TEST

START_TEST(test_journal_detects_spliced_record) {
  /* A record from another journal under the same key, in place of ours. */
  size_t len, offs[64], n, olen, ooffs[64], on;
  unsigned char *buf = journal_with(10, &len, offs, &n), *other;
  char *p = seg_path(1), *saved = jdir;
  jdir = tu_path(dir, "other");
  other = journal_with(10, &olen, ooffs, &on);
  free(jdir);
  jdir = saved;
  ck_assert_uint_eq(offs[3] - offs[2], ooffs[3] - ooffs[2]);
  memcpy(buf + offs[2], other + ooffs[2], offs[3] - offs[2]);
  tu_write_file(p, buf, len);
  expect_damage(MEDSHIM_DAMAGE_BAD_RECORD);
  free(other);
  free(buf);
  free(p);
}
END_TEST

START_TEST(test_journal_detects_missing_segment) {
  medshim_journal *j = open_small_segments();
  char *p;
  defer_n(j, "V", 0, 40);
  medshim_journal_close(j);
  p = seg_path(2);
  ck_assert_int_eq(unlink(p), 0);
  expect_damage(MEDSHIM_DAMAGE_MISSING_SEGMENT);
  free(p);
}
END_TEST

START_TEST(test_journal_detects_truncated_tail) {
  medshim_journal *j = open_small_segments();
  uint64_t *dummy = NULL;
  char *p;
  int last = 0;
  (void)dummy;
  defer_n(j, "V", 0, 40);
  medshim_journal_close(j);
  for (int i = 1; i < 100; i++) {
    struct stat st;
    p = seg_path((unsigned)i);
    if (stat(p, &st) != 0) {
      free(p);
      break;
    }
    last = i;
    free(p);
  }
  ck_assert_int_ge(last, 3);
  /* Remove the whole last segment: links still hold, the checkpoint does not. */
  p = seg_path((unsigned)last);
  ck_assert_int_eq(unlink(p), 0);
  expect_damage(MEDSHIM_DAMAGE_TRUNCATED);
  free(p);
}
END_TEST

START_TEST(test_journal_detects_cut_records_at_end) {
  size_t len, offs[64], n;
  unsigned char *buf = journal_with(10, &len, offs, &n);
  char *p = seg_path(1);
  tu_write_file(p, buf, offs[8]); /* drop the last two whole records */
  expect_damage(MEDSHIM_DAMAGE_TRUNCATED);
  free(buf);
  free(p);
}
END_TEST

START_TEST(test_journal_detects_bad_segment_header) {
  size_t len, offs[64], n;
  unsigned char *buf = journal_with(5, &len, offs, &n);
  char *p = seg_path(1);
  buf[40] ^= 0x04; /* first_seq */
  tu_write_file(p, buf, len);
  expect_damage(MEDSHIM_DAMAGE_BAD_SEGMENT);
  free(buf);
  free(p);
}
END_TEST

START_TEST(test_journal_detects_checkpoint_tampering) {
  size_t len, offs[64], n;
  unsigned char *buf = journal_with(5, &len, offs, &n), *ck;
  char *p = tu_path(jdir, "checkpoint");
  size_t cl;
  ck = tu_read_file(p, &cl);
  ck[41] ^= 0x01;
  tu_write_file(p, ck, cl);
  expect_damage(MEDSHIM_DAMAGE_BAD_CHECKPOINT);
  ck_assert_int_eq(unlink(p), 0);
  expect_damage(MEDSHIM_DAMAGE_BAD_CHECKPOINT);
  free(ck);
  free(buf);
  free(p);
}
END_TEST

/* ---- crashes ------------------------------------------------------------ */

/* Child: defer claims forever, reporting each acknowledged visit number on
 * the pipe only after medshim_journal_defer returned. */
static void crash_child(int wfd, int round, int threads) {
  medshim_journal *j = open_rw(0);
  char prefix[32];
  snprintf(prefix, sizeof prefix, "R%d-", round);
  (void)threads;
  for (int i = 0;; i++) {
    medshim_claim *c = tu_claim(prefix, i);
    medshim_defer_result r;
    if (medshim_journal_defer(j, c, &r) != MEDSHIM_OK)
      _exit(3);
    if (write(wfd, &i, sizeof i) != (ssize_t)sizeof i)
      _exit(4);
    medshim_claim_free(c);
  }
}

START_TEST(test_journal_survives_sigkill) {
  unsigned seed = (unsigned)time(NULL);
  int rounds = 25;
  long total = 0;
  srand(seed);
  /* The journal exists before the first kill, which may come before the
   * child has opened it (slow sanitizer builds). */
  medshim_journal_close(open_rw(0));
  for (int round = 0; round < rounds; round++) {
    int fds[2], status, acked = -1, v;
    pid_t pid;
    medshim_journal *j;
    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      crash_child(fds[1], round, 1);
    }
    close(fds[1]);
    /* The last round kills only after a first acknowledgement, so that
     * some round checks acknowledged claims however slow the build
     * (sanitizers, a loaded machine, the SM suite's software SM4). */
    if (round == rounds - 1 && read(fds[0], &v, sizeof v) == (ssize_t)sizeof v)
      acked = v;
    usleep((useconds_t)(2000 + rand() % 40000));
    kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status), "child exited by itself (%d), seed %u",
                  WEXITSTATUS(status), seed);
    while (read(fds[0], &v, sizeof v) == (ssize_t)sizeof v)
      acked = v;
    close(fds[0]);
    /* A reader sees at least what was acknowledged, without trimming. */
    {
      medshim_journal_options ro = tu_opts(key, MEDSHIM_JOURNAL_READONLY);
      ck_assert_int_eq(medshim_journal_open(&j, jdir, &ro, NULL), MEDSHIM_OK);
      medshim_journal_close(j);
    }
    j = open_rw(0); /* trims a torn tail, if any */
    for (int i = 0; i <= acked; i++) {
      char id[48];
      snprintf(id, sizeof id, "R%d-%d", round, i);
      ck_assert_msg(medshim_journal_get(NULL, NULL, j, id) == MEDSHIM_OK,
                    "acknowledged %s lost (round %d, seed %u)", id, round, seed);
    }
    total += acked + 1;
    medshim_journal_close(j);
    {
      medshim_verify_report rep;
      int rc;
      ck_assert_int_eq(verify(&rep, &rc), MEDSHIM_DAMAGE_NONE);
      ck_assert_int_eq(rc, MEDSHIM_OK);
    }
  }
  ck_assert_int_gt(total, 0);
}
END_TEST

START_TEST(test_journal_torn_tail_is_trimmed_not_damage) {
  medshim_journal *j;
  pid_t pid = fork();
  int status;
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    j = open_rw(0);
    defer_n(j, "V", 0, 5);
    defer_unsynced(j, "V", 5); /* written, never acknowledged */
    _exit(0); /* no close: no checkpoint beyond the records */
  }
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  {
    char *p = seg_path(1);
    size_t len, offs[64], n;
    unsigned char *buf = tu_read_file(p, &len);
    n = tu_record_offsets(buf, len, offs, 64);
    ck_assert_uint_eq(n, 6);
    tu_write_file(p, buf, offs[5] + 100); /* half of the unsynced record */
    medshim_verify_report rep;
    int rc;
    ck_assert_int_eq(verify(&rep, &rc), MEDSHIM_DAMAGE_TORN_TAIL);
    ck_assert_int_eq(rc, MEDSHIM_OK);
    j = open_rw(0);
    ck_assert_uint_eq(medshim_journal_count(j), 5);
    defer_n(j, "W", 0, 2);
    medshim_journal_close(j);
    ck_assert_int_eq(verify(&rep, &rc), MEDSHIM_DAMAGE_NONE);
    ck_assert_int_eq(rc, MEDSHIM_OK);
    free(buf);
    free(p);
  }
}
END_TEST

START_TEST(test_journal_authentic_record_after_failure_is_damage) {
  /* Not torn: a flipped record followed by good ones, beyond any checkpoint. */
  medshim_journal *j;
  pid_t pid = fork();
  int status;
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    j = open_rw(0);
    defer_n(j, "V", 0, 6);
    usleep(60000); /* past the anchor's 50 ms: the next commit anchors all */
    defer_n(j, "W", 0, 1);
    _exit(0);
  }
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  char *p = seg_path(1);
  size_t len, offs[64];
  unsigned char *buf = tu_read_file(p, &len);
  ck_assert_uint_eq(tu_record_offsets(buf, len, offs, 64), 7);
  buf[offs[2] + 70] ^= 0x10;
  tu_write_file(p, buf, len);
  expect_damage(MEDSHIM_DAMAGE_BAD_RECORD);
  free(buf);
  free(p);
}
END_TEST

/* ---- injected I/O failures ------------------------------------------------ */

static void injected_failure(enum medshim__io_kind kind, int err) {
  medshim_journal *j = open_rw(0);
  medshim_claim *c = tu_claim("X", 1), *d = tu_claim("X", 2);
  medshim_defer_result r;
  defer_n(j, "V", 0, 3);
  medshim__io_inject(kind, 0, err);
  ck_assert_int_eq(medshim_journal_defer(j, c, &r), MEDSHIM_EIO);
  ck_assert_ptr_nonnull(strcasestr(medshim_journal_errmsg(j), strerror(err)));
  /* Fatal for the handle, even once the disk is back. */
  medshim__io_inject(kind, -1, 0);
  ck_assert_int_eq(medshim_journal_defer(j, d, &r), MEDSHIM_EPOISONED);
  ck_assert_int_eq(medshim_journal_get(NULL, NULL, j, "V0"), MEDSHIM_EPOISONED);
  medshim_journal_close(j);
  /* Reopening recovers every acknowledged claim. */
  j = open_rw(0);
  for (int i = 0; i < 3; i++) {
    char id[16];
    snprintf(id, sizeof id, "V%d", i);
    ck_assert_int_eq(medshim_journal_get(NULL, NULL, j, id), MEDSHIM_OK);
  }
  if (kind == MEDSHIM__IO_WRITE) /* the torn half-record was trimmed */
    ck_assert_int_eq(medshim_journal_get(NULL, NULL, j, "X1"), MEDSHIM_ENOTFOUND);
  ck_assert_int_eq(medshim_journal_defer(j, d, &r), MEDSHIM_OK);
  medshim_journal_close(j);
  medshim_claim_free(c);
  medshim_claim_free(d);
}

START_TEST(test_journal_enospc_on_write_poisons) {
  injected_failure(MEDSHIM__IO_WRITE, ENOSPC);
}
END_TEST

START_TEST(test_journal_eio_on_write_poisons) {
  injected_failure(MEDSHIM__IO_WRITE, EIO);
}
END_TEST

START_TEST(test_journal_eio_on_fsync_poisons) {
  injected_failure(MEDSHIM__IO_SYNC, EIO);
}
END_TEST

START_TEST(test_journal_enospc_on_fsync_poisons) {
  injected_failure(MEDSHIM__IO_SYNC, ENOSPC);
}
END_TEST

START_TEST(test_journal_failure_creating_journal) {
  medshim_journal_options o = tu_opts(key, MEDSHIM_JOURNAL_CREATE);
  medshim_journal *j = NULL;
  medshim_error err;
  medshim__io_inject(MEDSHIM__IO_SYNC, 0, EIO);
  ck_assert_int_eq(medshim_journal_open(&j, jdir, &o, &err), MEDSHIM_EIO);
  ck_assert_ptr_null(j);
}
END_TEST

/* ---- writing now, syncing later --------------------------------------- */

/* n claims prefix<from..> through defer_batch_nosync; asserts all stored. */
static int nosync_n(medshim_journal *j, const char *prefix, int from, int n) {
  medshim_claim *cs[32];
  int res[32], rc;
  ck_assert_int_le(n, 32);
  for (int i = 0; i < n; i++)
    cs[i] = tu_claim(prefix, from + i);
  rc = medshim_journal_defer_batch_nosync(j, (const medshim_claim *const *)cs,
                                          (size_t)n, res);
  for (int i = 0; i < n; i++) {
    if (rc == MEDSHIM_OK)
      ck_assert_int_eq(res[i], MEDSHIM_DEFER_STORED);
    medshim_claim_free(cs[i]);
  }
  return rc;
}

START_TEST(test_journal_nosync_then_sync) {
  medshim_journal *j = open_rw(0);
  medshim_claim *c = tu_claim("N", 3);
  int res;
  ck_assert_int_eq(nosync_n(j, "N", 0, 20), MEDSHIM_OK);
  /* written: visible to this handle, duplicates recognised */
  ck_assert_uint_eq(medshim_journal_count(j), 20);
  ck_assert_int_eq(medshim_journal_get(NULL, NULL, j, "N7"), MEDSHIM_OK);
  ck_assert_int_eq(medshim_journal_defer_batch_nosync(
                       j, (const medshim_claim *const *)&c, 1, &res),
                   MEDSHIM_OK);
  ck_assert_int_eq(res, MEDSHIM_DEFER_DUPLICATE);
  ck_assert_int_eq(medshim_journal_sync(j), MEDSHIM_OK);
  ck_assert_int_eq(medshim_journal_sync(j), MEDSHIM_OK); /* nothing new */
  medshim_journal_close(j);
  j = open_rw(0);
  ck_assert_uint_eq(medshim_journal_count(j), 20);
  medshim_journal_close(j);
  ck_assert_int_eq(medshim_journal_sync(NULL), MEDSHIM_EINVAL);
  medshim_claim_free(c);
}
END_TEST

START_TEST(test_journal_nosync_survives_sigkill) {
  /* What was synced survives a kill; what was only written may or may not,
   * and the journal opens and verifies either way. */
  medshim_verify_report rep;
  medshim_journal *j;
  int status, rc;
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    medshim_journal_options o = tu_opts(key, MEDSHIM_JOURNAL_CREATE);
    j = NULL;
    if (medshim_journal_open(&j, jdir, &o, NULL) != MEDSHIM_OK ||
        nosync_n(j, "K", 0, 10) != MEDSHIM_OK ||
        medshim_journal_sync(j) != MEDSHIM_OK ||
        nosync_n(j, "K", 10, 10) != MEDSHIM_OK)
      _exit(3);
    raise(SIGKILL);
    _exit(4);
  }
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  j = open_rw(0);
  for (int i = 0; i < 10; i++) {
    char id[16];
    snprintf(id, sizeof id, "K%d", i);
    ck_assert_int_eq(medshim_journal_get(NULL, NULL, j, id), MEDSHIM_OK);
  }
  ck_assert_uint_ge(medshim_journal_count(j), 10);
  medshim_journal_close(j);
  ck_assert_int_eq(verify(&rep, &rc), MEDSHIM_DAMAGE_NONE);
}
END_TEST

START_TEST(test_journal_sync_failure_poisons) {
  medshim_journal *j = open_rw(0);
  ck_assert_int_eq(nosync_n(j, "F", 0, 5), MEDSHIM_OK);
  medshim__io_inject(MEDSHIM__IO_SYNC, 0, EIO);
  ck_assert_int_eq(medshim_journal_sync(j), MEDSHIM_EIO);
  medshim__io_inject(MEDSHIM__IO_SYNC, -1, 0);
  /* never retried blindly: the handle stays poisoned */
  ck_assert_int_eq(medshim_journal_sync(j), MEDSHIM_EPOISONED);
  ck_assert_int_eq(nosync_n(j, "F", 5, 1), MEDSHIM_EPOISONED);
  medshim_journal_close(j);
}
END_TEST

/* ---- threads ----------------------------------------------------------- */

typedef struct worker {
  medshim_journal *j;
  int t;
  int ok;
} worker;

static void *worker_main(void *arg) {
  worker *w = arg;
  char prefix[16];
  snprintf(prefix, sizeof prefix, "T%d-", w->t);
  for (int i = 0; i < 100; i++) {
    medshim_claim *c = tu_claim(prefix, i);
    medshim_defer_result r;
    if (medshim_journal_defer(w->j, c, &r) == MEDSHIM_OK &&
        r == MEDSHIM_DEFER_STORED)
      w->ok++;
    medshim_claim_free(c);
  }
  return NULL;
}

START_TEST(test_journal_concurrent_threads) {
  medshim_journal *j = open_small_segments(); /* rolls under contention */
  pthread_t th[8];
  worker w[8];
  for (int t = 0; t < 8; t++) {
    w[t].j = j;
    w[t].t = t;
    w[t].ok = 0;
    ck_assert_int_eq(pthread_create(&th[t], NULL, worker_main, &w[t]), 0);
  }
  for (int t = 0; t < 8; t++) {
    pthread_join(th[t], NULL);
    ck_assert_int_eq(w[t].ok, 100);
  }
  ck_assert_uint_eq(medshim_journal_count(j), 800);
  medshim_journal_close(j);
  j = open_rw(0);
  ck_assert_uint_eq(medshim_journal_count(j), 800);
  medshim_journal_close(j);
  medshim_verify_report rep;
  int rc;
  ck_assert_int_eq(verify(&rep, &rc), MEDSHIM_DAMAGE_NONE);
  ck_assert_uint_eq(rep.claims, 800);
  ck_assert_uint_gt(rep.segments, 3);
}
END_TEST

START_TEST(test_journal_keyring_removed_is_not_replaced) {
  /* Open and verify load the keys the same way: a journal whose keyring
   * is gone is refused, and CREATE does not make a new one over its
   * segments (their records would never authenticate again). */
  medshim_journal *j = open_rw(0);
  medshim_verify_report rep;
  medshim_error err;
  char *ring = tu_path(jdir, JF_KEYRING_NAME);
  int rc;
  defer_n(j, "K", 0, 3);
  medshim_journal_close(j);
  ck_assert_int_eq(unlink(ring), 0);
  memset(&err, 0, sizeof err);
  ck_assert_int_eq(try_open(MEDSHIM_JOURNAL_CREATE, key, &err),
                   MEDSHIM_ECORRUPT);
  ck_assert_ptr_nonnull(strstr(err.text, "keyring missing but segments"));
  ck_assert_int_ne(access(ring, F_OK), 0);
  ck_assert_int_eq(try_open(0, key, &err), MEDSHIM_ENOTFOUND);
  (void)verify(&rep, &rc);
  ck_assert_int_eq(rc, MEDSHIM_ENOTFOUND);
  free(ring);
}
END_TEST

/* Group commit: while one writer's fdatasync is in flight, the writers
 * that come meanwhile write their records and wait; the next sync, led by
 * one of them, covers them all. The first sync is held (in the I/O
 * recorder) until the seven others have written. */
static struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int syncs;   /* fdatasyncs of a segment */
  int writes;  /* writes to a segment while the first sync is held */
  int holding; /* the first sync is held */
} gc = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0};

static int is_segment(const char *path) {
  size_t n = strlen(path), m = strlen(JF_SEGMENT_SUFFIX);
  return n > m && strcmp(path + n - m, JF_SEGMENT_SUFFIX) == 0;
}

static void gc_recorder(const medshim__io_event *ev, void *payload) {
  (void)payload;
  if (!is_segment(ev->path))
    return;
  pthread_mutex_lock(&gc.mu);
  if (ev->op == MEDSHIM__IO_OP_WRITE && gc.holding) {
    gc.writes++;
    pthread_cond_broadcast(&gc.cv);
  } else if (ev->op == MEDSHIM__IO_OP_FDATASYNC && ++gc.syncs == 1) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    gc.holding = 1;
    pthread_cond_broadcast(&gc.cv);
    while (gc.writes < 7 &&
           pthread_cond_timedwait(&gc.cv, &gc.mu, &until) == 0)
      ;
    gc.holding = 0;
  }
  pthread_mutex_unlock(&gc.mu);
}

typedef struct gc_writer {
  medshim_journal *j;
  int i;
  int rc;
} gc_writer;

static void *gc_writer_main(void *arg) {
  gc_writer *w = arg;
  medshim_claim *c = tu_claim("GC", w->i);
  w->rc = medshim_journal_defer(w->j, c, NULL);
  medshim_claim_free(c);
  return NULL;
}

START_TEST(test_journal_group_commit_one_sync_for_waiting_writers) {
  medshim_journal *j = open_rw(0);
  pthread_t th[8];
  gc_writer w[8];
  defer_n(j, "S", 0, 1); /* the segment exists: no syncs of its creation */
  medshim__io_set_recorder(gc_recorder, NULL);
  for (int t = 0; t < 8; t++) {
    w[t].j = j;
    w[t].i = t;
    w[t].rc = -1;
    ck_assert_int_eq(pthread_create(&th[t], NULL, gc_writer_main, &w[t]), 0);
    if (t == 0) { /* the others come while its sync is in flight */
      pthread_mutex_lock(&gc.mu);
      while (!gc.holding)
        pthread_cond_wait(&gc.cv, &gc.mu);
      pthread_mutex_unlock(&gc.mu);
    }
  }
  for (int t = 0; t < 8; t++) {
    pthread_join(th[t], NULL);
    ck_assert_int_eq(w[t].rc, MEDSHIM_OK);
  }
  medshim__io_set_recorder(NULL, NULL);
  ck_assert_int_eq(gc.writes, 7);
  ck_assert_int_eq(gc.syncs, 2); /* the first writer's, then one for seven */
  medshim_journal_close(j);
  j = open_rw(0);
  ck_assert_uint_eq(medshim_journal_count(j), 9);
  medshim_journal_close(j);
}
END_TEST

START_TEST(test_journal_new_segment_per_writer_session) {
  /* Each writer session writes under a fresh segment key (no nonce reuse). */
  for (int s = 0; s < 3; s++) {
    medshim_journal *j = open_rw(0);
    defer_n(j, "S", s * 10, 10);
    medshim_journal_close(j);
  }
  medshim_verify_report rep;
  int rc;
  ck_assert_int_eq(verify(&rep, &rc), MEDSHIM_DAMAGE_NONE);
  ck_assert_uint_eq(rep.segments, 3);
  ck_assert_uint_eq(rep.claims, 30);
}
END_TEST

START_TEST(test_journal_bad_arguments) {
  medshim_journal *j = NULL;
  medshim_journal_options o = MEDSHIM_JOURNAL_OPTIONS_INIT;
  ck_assert_int_eq(medshim_journal_open(NULL, jdir, &o, NULL), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_journal_open(&j, NULL, &o, NULL), MEDSHIM_EINVAL);
  o.version = 99;
  ck_assert_int_eq(medshim_journal_open(&j, jdir, &o, NULL), MEDSHIM_EINVAL);
  ck_assert_int_eq(try_open(0, key, NULL), MEDSHIM_ENOTFOUND);
  medshim_journal_close(NULL);
  ck_assert_str_eq(medshim_journal_errmsg(NULL), "");
  ck_assert_int_eq(medshim_journal_defer(NULL, NULL, NULL), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_journal_options_init(&o, 1), MEDSHIM_OK);
  ck_assert_int_eq(medshim_journal_options_init(&o, 2), MEDSHIM_OK);
  ck_assert_int_eq(medshim_journal_options_init(&o, 3), MEDSHIM_EINVAL);
  ck_assert_str_eq(medshim_state_name(MEDSHIM_STATE_IN_DOUBT), "in_doubt");
  medshim_claim_state s;
  ck_assert_int_eq(medshim_state_parse(&s, "retry_wait"), MEDSHIM_OK);
  ck_assert_int_eq(s, MEDSHIM_STATE_RETRY_WAIT);
  ck_assert_int_eq(medshim_state_parse(&s, "done"), MEDSHIM_EINVAL);
  ck_assert_str_eq(medshim_damage_name(MEDSHIM_DAMAGE_TORN_TAIL), "torn_tail");
}
END_TEST

START_TEST(test_journal_keygen) {
  char *p = tu_path(dir, "newkey");
  struct stat st;
  medshim_error err;
  ck_assert_int_eq(medshim_key_generate(p, &err), MEDSHIM_OK);
  ck_assert_int_eq(stat(p, &st), 0);
  ck_assert_int_eq(st.st_mode & 0777, 0600);
  ck_assert_int_eq(st.st_size, MEDSHIM_KEY_BYTES);
  ck_assert_int_eq(medshim_key_generate(p, &err), MEDSHIM_EEXIST);
  free(p);
}
END_TEST

START_TEST(test_journal_replay_key_is_stable) {
  medshim_journal *j = open_rw(0);
  char a[MEDSHIM_REPLAY_KEY_LEN + 1], b[MEDSHIM_REPLAY_KEY_LEN + 1];
  char c[MEDSHIM_REPLAY_KEY_LEN + 1];
  medshim_journal_options cur = tu_opts(key, 0), next = tu_opts(key2, 0);
  ck_assert_int_eq(medshim_journal_replay_key(a, j, "V1"), MEDSHIM_OK);
  ck_assert_int_eq(medshim_journal_replay_key(c, j, "V2"), MEDSHIM_OK);
  ck_assert_str_ne(a, c);
  ck_assert_uint_eq(strlen(a), MEDSHIM_REPLAY_KEY_LEN);
  ck_assert(a[0] == 'M' && a[1] == 'S');
  ck_assert_uint_eq(strspn(a + 2, "0123456789abcdef"), MEDSHIM_REPLAY_KEY_LEN - 2);
  medshim_journal_close(j);
  /* Same after reopening and after a rekey. */
  ck_assert_int_eq(medshim_journal_rekey(jdir, &cur, &next, NULL), MEDSHIM_OK);
  ck_assert_int_eq(medshim_journal_open(&j, jdir, &next, NULL), MEDSHIM_OK);
  ck_assert_int_eq(medshim_journal_replay_key(b, j, "V1"), MEDSHIM_OK);
  ck_assert_str_eq(a, b);
  medshim_journal_close(j);
}
END_TEST

/* ---- the replay lane: statuses in a chain of their own ----------------- */


static medshim_journal *open_flags(unsigned flags) {
  medshim_journal_options o = tu_opts(key, flags);
  medshim_journal *j = NULL;
  medshim_error err;
  memset(&err, 0, sizeof err);
  ck_assert_msg(medshim_journal_open(&j, jdir, &o, &err) == MEDSHIM_OK,
                "open: %s: %s", err.where, err.text);
  return j;
}

static medshim_claim_status status_of(medshim_claim_state state,
                                      uint32_t attempts, const char *setl) {
  medshim_claim_status st;
  medshim_claim_status_init(&st, MEDSHIM_CLAIM_STATUS_VERSION);
  st.state = state;
  st.attempts = attempts;
  if (setl != NULL)
    snprintf(st.settlement_id, sizeof st.settlement_id, "%s", setl);
  return st;
}

static int set_settled(medshim_journal *j, const char *id, uint32_t attempts,
                       int sync) {
  char setl[32];
  medshim_claim_status st;
  snprintf(setl, sizeof setl, "S-%s-%u", id, (unsigned)attempts);
  st = status_of(MEDSHIM_STATE_SETTLED, attempts, setl);
  return medshim__journal_set_status(j, id, &st, NULL, 0, sync);
}

/* The claim's status is settled with at least these attempts. */
static void expect_settled(medshim_journal *j, const char *id,
                           uint32_t attempts) {
  medshim_claim_status st;
  char setl[32];
  ck_assert_msg(medshim_journal_get(NULL, &st, j, id) == MEDSHIM_OK, "%s: %s",
                id, medshim_journal_errmsg(j));
  ck_assert_msg(st.state == MEDSHIM_STATE_SETTLED && st.attempts >= attempts,
                "%s: state %d attempts %u, want settled >= %u", id,
                (int)st.state, (unsigned)st.attempts, (unsigned)attempts);
  snprintf(setl, sizeof setl, "S-%s-%u", id, (unsigned)st.attempts);
  ck_assert_str_eq(st.settlement_id, setl);
}

static void expect_intact(void) {
  medshim_verify_report rep;
  int rc;
  ck_assert_msg(verify(&rep, &rc) == MEDSHIM_DAMAGE_NONE && rc == MEDSHIM_OK,
                "verify: %s", rep.text);
}

/* Damage in the replay lane: verify says so and names the lane; opening
 * fails. */
static void expect_lane_damage(medshim_damage want) {
  medshim_verify_report rep;
  int rc;
  expect_damage(want);
  verify(&rep, &rc);
  ck_assert_msg(strstr(rep.text, "replay lane") != NULL, "text: %s",
                rep.text);
}

static char *lane_seg_path(unsigned n) {
  char name[64];
  snprintf(name, sizeof name, "replay/seg-%016u.msj", n);
  return tu_path(jdir, name);
}

/* Removing the replay lane would make settled claims look pending again:
 * once the main checkpoint records the lane, its absence is damage. */
START_TEST(test_journal_removed_replay_lane_detected) {
  medshim_journal *j = open_rw(0);
  medshim_claim_status st = status_of(MEDSHIM_STATE_SETTLED, 1, "S-1");
  medshim_verify_report rep;
  medshim_error err;
  char *lane = tu_path(jdir, "replay"), *ck = tu_path(lane, "checkpoint");
  int rc;
  defer_n(j, "R", 0, 3);
  ck_assert_int_eq(medshim_journal_set_status(j, "R1", &st), MEDSHIM_OK);
  medshim_journal_close(j);
  ck_assert_int_eq(verify(&rep, &rc), MEDSHIM_DAMAGE_NONE);
  ck_assert_int_eq(rc, MEDSHIM_OK);
  /* the lane's checkpoint alone */
  ck_assert_int_eq(unlink(ck), 0);
  ck_assert_int_ne(verify(&rep, &rc), MEDSHIM_DAMAGE_NONE);
  ck_assert_int_eq(rc, MEDSHIM_ECORRUPT);
  ck_assert_ptr_nonnull(strstr(rep.text, "replay lane"));
  memset(&err, 0, sizeof err);
  ck_assert_int_eq(try_open(0, key, &err), MEDSHIM_ECORRUPT);
  ck_assert_int_eq(try_open(MEDSHIM_JOURNAL_READONLY, key, &err),
                   MEDSHIM_ECORRUPT);
  /* the whole lane directory */
  tu_rmtree(lane);
  ck_assert_int_ne(verify(&rep, &rc), MEDSHIM_DAMAGE_NONE);
  ck_assert_int_eq(rc, MEDSHIM_ECORRUPT);
  ck_assert_int_eq(try_open(MEDSHIM_JOURNAL_REPLAY, key, &err),
                   MEDSHIM_ECORRUPT);
  ck_assert_ptr_nonnull(strstr(err.text, "missing"));
  free(ck);
  free(lane);
}
END_TEST

START_TEST(test_journal_replay_flag_rules) {
  medshim_journal *j = open_rw(0), *r;
  medshim_journal_options both = tu_opts(key, MEDSHIM_JOURNAL_READONLY |
                                                  MEDSHIM_JOURNAL_REPLAY);
  medshim_claim_status st = status_of(MEDSHIM_STATE_VOIDED, 0, NULL);
  medshim_claim *c = tu_claim("V", 7);
  struct stat sb;
  char *lane = tu_path(jdir, "replay");
  defer_n(j, "V", 0, 3);
  /* A claim writer that never writes a status takes no replay lock; it
   * creates the lane (empty) so that the main checkpoint can record it. */
  ck_assert_int_eq(stat(lane, &sb), 0);
  ck_assert(S_ISDIR(sb.st_mode) && (sb.st_mode & 0777) == 0700);
  r = open_flags(MEDSHIM_JOURNAL_REPLAY); /* no EBUSY: no claim lock */
  ck_assert_uint_eq(medshim_journal_count(r), 3);
  ck_assert_int_eq(medshim_journal_defer(r, c, NULL), MEDSHIM_EREADONLY);
  ck_assert_int_eq(medshim_journal_set_status(r, "V1", &st), MEDSHIM_OK);
  ck_assert_int_eq(stat(lane, &sb), 0);
  ck_assert(S_ISDIR(sb.st_mode) && (sb.st_mode & 0777) == 0700);
  ck_assert_int_eq(medshim_journal_set_status(r, "nope", &st),
                   MEDSHIM_ENOTFOUND);
  ck_assert_int_eq(medshim_journal_sync(r), MEDSHIM_OK);
  defer_n(j, "V", 3, 1); /* the claim writer goes on */
  medshim_journal_close(r);
  /* READONLY writes neither; both flags at once make no sense. */
  r = open_flags(MEDSHIM_JOURNAL_READONLY);
  ck_assert_int_eq(medshim_journal_set_status(r, "V1", &st), MEDSHIM_EREADONLY);
  ck_assert_int_eq(medshim_journal_get(NULL, &st, r, "V1"), MEDSHIM_OK);
  ck_assert_int_eq(st.state, MEDSHIM_STATE_VOIDED);
  medshim_journal_close(r);
  ck_assert_int_eq(medshim_journal_open(&r, jdir, &both, NULL), MEDSHIM_EINVAL);
  /* The claim writer sees the lane's status once it reads it again. */
  ck_assert_int_eq(medshim_journal_get(NULL, &st, j, "V1"), MEDSHIM_OK);
  ck_assert_int_eq(st.state, MEDSHIM_STATE_PENDING); /* as of its open */
  medshim_journal_close(j);
  j = open_rw(0);
  ck_assert_int_eq(medshim_journal_get(NULL, &st, j, "V1"), MEDSHIM_OK);
  ck_assert_int_eq(st.state, MEDSHIM_STATE_VOIDED);
  medshim_journal_close(j);
  /* REPLAY does not create a journal. */
  {
    medshim_journal_options o = tu_opts(key, MEDSHIM_JOURNAL_REPLAY |
                                                 MEDSHIM_JOURNAL_CREATE);
    char *other = tu_path(dir, "other");
    ck_assert_int_eq(medshim_journal_open(&r, other, &o, NULL),
                     MEDSHIM_ENOTFOUND);
    free(other);
  }
  expect_intact();
  medshim_claim_free(c);
  free(lane);
}
END_TEST

START_TEST(test_journal_two_status_writers_busy) {
  medshim_journal *j = open_rw(0), *a, *b;
  medshim_error err;
  pid_t pid;
  int status;
  defer_n(j, "V", 0, 4);
  medshim_journal_close(j);
  a = open_flags(MEDSHIM_JOURNAL_REPLAY);
  b = open_flags(MEDSHIM_JOURNAL_REPLAY); /* opening takes nothing */
  ck_assert_int_eq(set_settled(a, "V0", 1, 1), MEDSHIM_OK);
  /* a holds the replay lock now: b in this process... */
  ck_assert_int_eq(set_settled(b, "V1", 1, 1), MEDSHIM_EBUSY);
  ck_assert_ptr_nonnull(strstr(medshim_journal_errmsg(b), "busy"));
  /* ...a claim writer's status write, and another process are refused. */
  j = open_rw(0);
  ck_assert_int_eq(set_settled(j, "V2", 1, 1), MEDSHIM_EBUSY);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    medshim_journal *c = NULL;
    medshim_journal_options o = tu_opts(key, MEDSHIM_JOURNAL_REPLAY);
    if (medshim_journal_open(&c, jdir, &o, NULL) != MEDSHIM_OK)
      _exit(2);
    _exit(set_settled(c, "V3", 1, 1) == MEDSHIM_EBUSY ? 0 : 1);
  }
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  /* Refused status writes leave the handles usable. */
  defer_n(j, "W", 0, 1);
  ck_assert_int_eq(medshim_journal_get(NULL, NULL, b, "V1"), MEDSHIM_OK);
  medshim_journal_close(a);
  /* Released at close: b may write now, and sees a's status. */
  ck_assert_int_eq(set_settled(b, "V1", 1, 1), MEDSHIM_OK);
  expect_settled(b, "V0", 1);
  expect_settled(b, "V1", 1);
  medshim_journal_close(b);
  memset(&err, 0, sizeof err);
  ck_assert_int_eq(set_settled(j, "V2", 1, 1), MEDSHIM_OK);
  expect_settled(j, "V0", 1); /* taken when it took the lane */
  medshim_journal_close(j);
  expect_intact();
}
END_TEST

/* Child: hold the claim writer and defer, reporting each acknowledged
 * number, until killed or told to stop on stop_fd (then close). */
static void deferring_child(int wfd, int stop_fd, const char *prefix) {
  medshim_journal *j = open_rw(0);
  char b;
  ck_assert_int_eq(fcntl(stop_fd, F_SETFL, O_NONBLOCK), 0);
  for (int i = 0;; i++) {
    medshim_claim *c = tu_claim(prefix, i);
    if (medshim_journal_defer(j, c, NULL) != MEDSHIM_OK)
      _exit(3);
    medshim_claim_free(c);
    if (write(wfd, &i, sizeof i) != (ssize_t)sizeof i)
      _exit(4);
    if (read(stop_fd, &b, 1) == 1) {
      medshim_journal_close(j);
      _exit(0);
    }
  }
}

/* Child: write statuses for P0..P(n-1) forever (round r gives attempts
 * r+1), reporting each acknowledged one as r * n + i. */
static void status_child(int wfd, int n, int sync_every) {
  medshim_journal *j = open_flags(MEDSHIM_JOURNAL_REPLAY);
  for (int k = 0;; k++) {
    char id[16];
    int i = k % n, sync = sync_every <= 1 || k % sync_every == 0;
    snprintf(id, sizeof id, "P%d", i);
    if (set_settled(j, id, (uint32_t)(k / n + 1), sync) != MEDSHIM_OK)
      _exit(3);
    if (!sync)
      continue; /* not acknowledged until a sync */
    if (sync_every > 1 && medshim_journal_sync(j) != MEDSHIM_OK)
      _exit(5);
    if (write(wfd, &k, sizeof k) != (ssize_t)sizeof k)
      _exit(4);
  }
}

static int last_int(int fd) {
  int v, last = -1;
  while (read(fd, &v, sizeof v) == (ssize_t)sizeof v)
    last = v;
  close(fd);
  return last;
}

/* Everything acknowledged by the status child (last k) is there. */
static void expect_statuses(medshim_journal *j, int n, int k) {
  for (int i = 0; i < n && k >= 0; i++) {
    char id[16];
    int rounds = k / n + (i <= k % n ? 1 : 0); /* statuses acked for Pi */
    snprintf(id, sizeof id, "P%d", i);
    if (rounds > 0)
      expect_settled(j, id, (uint32_t)rounds);
  }
}

START_TEST(test_journal_status_writer_while_claim_writer_defers) {
  /* A cashier process holds the claims and keeps deferring while this one
   * replays (REPLAY), then either closes or is killed. */
  for (int mode = 0; mode < 2; mode++) {
    medshim_journal *j = open_rw(0), *r;
    char prefix[16];
    int fds[2], stop[2], status, acked, n = 60, done = 0;
    pid_t pid;
    if (mode == 0)
      defer_n(j, "P", 0, n);
    medshim_journal_close(j);
    snprintf(prefix, sizeof prefix, "C%d-", mode);
    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(pipe(stop), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      close(stop[1]);
      deferring_child(fds[1], stop[0], prefix);
    }
    close(fds[1]);
    close(stop[0]);
    usleep(20000); /* the child has the claim lock by now, mostly */
    r = open_flags(MEDSHIM_JOURNAL_REPLAY);
    for (int round = 1; round <= 3; round++)
      for (int i = 0; i < n; i++) {
        char id[16];
        snprintf(id, sizeof id, "P%d", i);
        ck_assert_msg(set_settled(r, id, (uint32_t)round, i % 4 != 0) ==
                          MEDSHIM_OK,
                      "%s", medshim_journal_errmsg(r));
        done++;
      }
    ck_assert_int_eq(medshim_journal_sync(r), MEDSHIM_OK);
    medshim_journal_close(r);
    if (mode == 0) /* both close */
      ck_assert_int_eq(write(stop[1], "x", 1), 1);
    else
      kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    if (mode == 0)
      ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    else
      ck_assert(WIFSIGNALED(status));
    close(stop[1]);
    acked = last_int(fds[0]);
    ck_assert_int_gt(acked, 0); /* it did defer meanwhile */
    j = open_rw(0);
    for (int i = 0; i <= acked; i++) {
      char id[32];
      snprintf(id, sizeof id, "%s%d", prefix, i);
      ck_assert_msg(medshim_journal_get(NULL, NULL, j, id) == MEDSHIM_OK,
                    "acknowledged %s lost", id);
    }
    for (int i = 0; i < n; i++) {
      char id[16];
      snprintf(id, sizeof id, "P%d", i);
      expect_settled(j, id, 3);
    }
    medshim_journal_close(j);
    expect_intact();
    ck_assert_int_eq(done, 3 * n);
  }
}
END_TEST

START_TEST(test_journal_status_writer_killed_while_claims_deferred) {
  /* This process holds the claims and defers; a REPLAY child writes
   * statuses and is killed at a random moment, several times. */
  unsigned seed = (unsigned)time(NULL);
  const int n = 40;
  medshim_journal *j = open_rw(0);
  srand(seed);
  defer_n(j, "P", 0, n);
  for (int round = 0; round < 6; round++) {
    int fds[2], status, acked;
    pid_t pid;
    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      status_child(fds[1], n, round % 2 ? 3 : 1);
    }
    close(fds[1]);
    for (int i = 0; i < 10; i++) { /* the cashier defers meanwhile */
      defer_n(j, "K", round * 100 + i * 2, 2);
      usleep((useconds_t)(rand() % 4000));
    }
    kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status), "child exited (%d), seed %u",
                  WEXITSTATUS(status), seed);
    acked = last_int(fds[0]);
    /* a torn tail of the lane is not damage, and readers open */
    {
      medshim_verify_report rep;
      int rc;
      medshim_damage d = verify(&rep, &rc);
      ck_assert_msg(rc == MEDSHIM_OK && (d == MEDSHIM_DAMAGE_NONE ||
                                         d == MEDSHIM_DAMAGE_TORN_TAIL),
                    "round %d seed %u: %s", round, seed, rep.text);
      medshim_journal_close(open_flags(MEDSHIM_JOURNAL_READONLY));
    }
    /* the next status writer trims it and finds every acknowledged one */
    {
      medshim_journal *r = open_flags(MEDSHIM_JOURNAL_REPLAY);
      char id[16];
      snprintf(id, sizeof id, "K%d", round * 100);
      ck_assert_int_eq(set_settled(r, id, 1, 1), MEDSHIM_OK);
      expect_statuses(r, n, acked);
      medshim_journal_close(r);
      expect_intact();
    }
  }
  medshim_journal_close(j);
  expect_intact();
}
END_TEST

typedef struct status_worker {
  medshim_journal *j;
  int n, rounds, ok;
} status_worker;

static void *status_worker_main(void *arg) {
  status_worker *w = arg;
  for (int round = 1; round <= w->rounds; round++)
    for (int i = 0; i < w->n; i++) {
      char id[16];
      snprintf(id, sizeof id, "P%d", i);
      if (set_settled(w->j, id, (uint32_t)round, i % 3 == 0) == MEDSHIM_OK)
        w->ok++;
    }
  return NULL;
}

START_TEST(test_journal_threads_defer_while_thread_writes_statuses) {
  /* A HIS service replays in-process while its cashiers defer. */
  medshim_journal *j = open_small_segments();
  pthread_t th[5];
  worker w[4];
  status_worker sw = {NULL, 50, 4, 0};
  defer_n(j, "P", 0, 50);
  sw.j = j;
  for (int t = 0; t < 4; t++) {
    w[t].j = j;
    w[t].t = t;
    w[t].ok = 0;
    ck_assert_int_eq(pthread_create(&th[t], NULL, worker_main, &w[t]), 0);
  }
  ck_assert_int_eq(pthread_create(&th[4], NULL, status_worker_main, &sw), 0);
  for (int t = 0; t < 5; t++)
    pthread_join(th[t], NULL);
  for (int t = 0; t < 4; t++)
    ck_assert_int_eq(w[t].ok, 100);
  ck_assert_int_eq(sw.ok, 200);
  ck_assert_int_eq(medshim_journal_sync(j), MEDSHIM_OK);
  for (int i = 0; i < 50; i++) {
    char id[16];
    snprintf(id, sizeof id, "P%d", i);
    expect_settled(j, id, 4);
  }
  ck_assert_uint_eq(medshim_journal_count(j), 450);
  medshim_journal_close(j);
  j = open_rw(0);
  ck_assert_uint_eq(medshim_journal_count(j), 450);
  expect_settled(j, "P49", 4);
  medshim_journal_close(j);
  {
    medshim_verify_report rep;
    int rc;
    ck_assert_int_eq(verify(&rep, &rc), MEDSHIM_DAMAGE_NONE);
    ck_assert_uint_eq(rep.claims, 450);
    ck_assert_uint_eq(rep.records, 450 + 200);
    ck_assert_uint_gt(rep.segments, 4); /* both lanes rolled */
  }
}
END_TEST

/* A journal of 10 claims with statuses for V0..V9, some sessions, in a
 * lane of several small segments. */
static void journal_with_lane(void) {
  medshim_journal *j = open_small_segments();
  defer_n(j, "V", 0, 10);
  for (int round = 1; round <= 3; round++)
    for (int i = 0; i < 10; i++) {
      char id[16];
      snprintf(id, sizeof id, "V%d", i);
      ck_assert_int_eq(set_settled(j, id, (uint32_t)round, 1), MEDSHIM_OK);
    }
  medshim_journal_close(j);
  expect_intact();
}

START_TEST(test_journal_detects_lane_tampering) {
  char *p, *p2;
  size_t len, offs[64], n;
  unsigned char *buf;
  journal_with_lane();
  /* a flipped bit in a status record */
  p = lane_seg_path(1);
  buf = tu_read_file(p, &len);
  n = tu_record_offsets(buf, len, offs, 64);
  ck_assert_uint_gt(n, 2);
  buf[offs[1] + 80] ^= 0x04;
  tu_write_file(p, buf, len);
  expect_lane_damage(MEDSHIM_DAMAGE_BAD_RECORD);
  {
    medshim_verify_report rep;
    int rc;
    verify(&rep, &rc);
    ck_assert_uint_eq(rep.segment, 1);
    ck_assert_uint_eq(rep.seq, 2);
    ck_assert_uint_eq(rep.offset, offs[1]);
  }
  buf[offs[1] + 80] ^= 0x04;
  tu_write_file(p, buf, len);
  expect_intact();
  /* a main-lane segment copied into the lane fails its header MAC */
  p2 = seg_path(1);
  {
    size_t mlen;
    unsigned char *main1 = tu_read_file(p2, &mlen);
    tu_write_file(p, main1, mlen);
    expect_lane_damage(MEDSHIM_DAMAGE_BAD_SEGMENT);
    free(main1);
  }
  tu_write_file(p, buf, len);
  expect_intact();
  /* and a lane segment in the main lane */
  {
    size_t mlen;
    unsigned char *main1 = tu_read_file(p2, &mlen);
    tu_write_file(p2, buf, len);
    expect_damage(MEDSHIM_DAMAGE_BAD_SEGMENT);
    tu_write_file(p2, main1, mlen);
    free(main1);
  }
  expect_intact();
  free(buf);
  free(p);
  free(p2);
}
END_TEST

START_TEST(test_journal_detects_deleted_lane_segment) {
  char *mid = lane_seg_path(2), *last, *ck = tu_path(jdir, "replay/checkpoint");
  size_t len, cklen;
  unsigned char *buf, *ckbuf;
  unsigned nseg = 0;
  journal_with_lane();
  for (unsigned s = 1;; s++) {
    char *q = lane_seg_path(s);
    struct stat sb;
    int there = stat(q, &sb) == 0;
    free(q);
    if (!there)
      break;
    nseg = s;
  }
  ck_assert_uint_ge(nseg, 3);
  buf = tu_read_file(mid, &len);
  ck_assert_int_eq(unlink(mid), 0);
  expect_lane_damage(MEDSHIM_DAMAGE_MISSING_SEGMENT);
  tu_write_file(mid, buf, len);
  free(buf);
  expect_intact();
  /* the last one: the lane's checkpoint notices */
  last = lane_seg_path(nseg);
  buf = tu_read_file(last, &len);
  ck_assert_int_eq(unlink(last), 0);
  expect_lane_damage(MEDSHIM_DAMAGE_TRUNCATED);
  tu_write_file(last, buf, len);
  expect_intact();
  /* the lane's checkpoint itself */
  ckbuf = tu_read_file(ck, &cklen);
  ck_assert_int_eq(unlink(ck), 0);
  expect_lane_damage(MEDSHIM_DAMAGE_BAD_CHECKPOINT);
  ckbuf[45] ^= 1;
  tu_write_file(ck, ckbuf, cklen);
  expect_lane_damage(MEDSHIM_DAMAGE_BAD_CHECKPOINT);
  ckbuf[45] ^= 1;
  tu_write_file(ck, ckbuf, cklen);
  expect_intact();
  free(ckbuf);
  free(buf);
  free(last);
  free(mid);
  free(ck);
}
END_TEST

START_TEST(test_journal_lane_status_without_claim_is_damage) {
  /* The main lane rolled back to an older copy (claims deleted) while the
   * lane keeps statuses of the lost claims. */
  medshim_journal *j = open_rw(0);
  char *ck = tu_path(jdir, "checkpoint"), *s1 = seg_path(1), *s2 = seg_path(2);
  size_t cklen, s1len;
  unsigned char *ckbuf, *s1buf;
  defer_n(j, "V", 0, 5);
  medshim_journal_close(j);
  ckbuf = tu_read_file(ck, &cklen);
  s1buf = tu_read_file(s1, &s1len);
  j = open_rw(0);
  defer_n(j, "V", 5, 2);
  ck_assert_int_eq(set_settled(j, "V6", 1, 1), MEDSHIM_OK);
  medshim_journal_close(j);
  expect_intact();
  ck_assert_int_eq(unlink(s2), 0);
  tu_write_file(ck, ckbuf, cklen);
  tu_write_file(s1, s1buf, s1len);
  expect_lane_damage(MEDSHIM_DAMAGE_BAD_RECORD);
  {
    medshim_verify_report rep;
    int rc;
    verify(&rep, &rc);
    ck_assert_ptr_nonnull(strstr(rep.text, "removed"));
  }
  free(ckbuf);
  free(s1buf);
  free(ck);
  free(s1);
  free(s2);
}
END_TEST

START_TEST(test_journal_lane_status_of_newer_claim_is_not_damage) {
  /* A handle sees the claims as of its open; statuses another process
   * wrote since then for newer claims are not damage. */
  medshim_journal *w = open_rw(0), *old, *r;
  defer_n(w, "V", 0, 2);
  old = open_flags(MEDSHIM_JOURNAL_REPLAY);
  defer_n(w, "V", 2, 2);
  r = open_flags(MEDSHIM_JOURNAL_REPLAY);
  ck_assert_int_eq(set_settled(r, "V3", 1, 1), MEDSHIM_OK);
  medshim_journal_close(r);
  /* old takes the lane now: V3's status is for a claim it never saw */
  ck_assert_msg(set_settled(old, "V0", 1, 1) == MEDSHIM_OK, "%s",
                medshim_journal_errmsg(old));
  ck_assert_int_eq(medshim_journal_get(NULL, NULL, old, "V3"),
                   MEDSHIM_ENOTFOUND);
  medshim_journal_close(old);
  /* nor for one opening while a writer defers */
  r = open_flags(MEDSHIM_JOURNAL_READONLY);
  expect_settled(r, "V3", 1);
  medshim_journal_close(r);
  medshim_journal_close(w);
  expect_intact();
}
END_TEST

static void copy_fixture(const char *name) {
  const char *src = getenv("MEDSHIM_SOURCE_DIR");
  char from[4096];
  DIR *d;
  struct dirent *e;
  ck_assert_msg(src != NULL, "MEDSHIM_SOURCE_DIR not set");
  snprintf(from, sizeof from, "%s/tests/fixtures/%s", src, name);
  ck_assert_int_eq(mkdir(jdir, 0700), 0);
  d = opendir(from);
  ck_assert_ptr_nonnull(d);
  while ((e = readdir(d)) != NULL) {
    char *in, *out;
    unsigned char *buf;
    size_t len;
    if (e->d_name[0] == '.')
      continue;
    in = tu_path(from, e->d_name);
    out = tu_path(jdir, e->d_name);
    buf = tu_read_file(in, &len);
    ck_assert_ptr_nonnull(buf);
    tu_write_file(out, buf, len);
    chmod(out, 0600);
    free(buf);
    free(in);
    free(out);
  }
  closedir(d);
}

static int old_visit(const medshim_claim *c, const medshim_claim_status *st,
                     void *payload) {
  int *n = payload;
  const char *id = medshim_claim_visit_id(c);
  if (strcmp(id, "O2") == 0)
    ck_assert_int_eq(st->state, MEDSHIM_STATE_RETRY_WAIT);
  else if (strcmp(id, "O1") == 0)
    ck_assert_int_eq(st->state, MEDSHIM_STATE_SETTLED);
  else if (strcmp(id, "O6") == 0)
    ck_assert_int_eq(st->state, MEDSHIM_STATE_IN_DOUBT);
  else
    ck_assert_int_eq(st->state, MEDSHIM_STATE_PENDING);
  (*n)++;
  return 0;
}

START_TEST(test_journal_old_format_statuses_visible) {
  /* Made before the replay lane: statuses in the main lane. */
  medshim_journal *j;
  medshim_claim_status st;
  struct stat sb;
  char *lane = tu_path(jdir, "replay");
  int n = 0;
  copy_fixture("journal-v1-main-status");
  expect_intact();
  j = open_flags(MEDSHIM_JOURNAL_READONLY);
  ck_assert_uint_eq(medshim_journal_count(j), 10);
  ck_assert_int_eq(medshim_journal_get(NULL, &st, j, "O1"), MEDSHIM_OK);
  ck_assert_int_eq(st.state, MEDSHIM_STATE_SETTLED);
  ck_assert_str_eq(st.settlement_id, "S-OLD-1");
  ck_assert_int_eq(medshim_journal_foreach(j, old_visit, &n), MEDSHIM_OK);
  ck_assert_int_eq(n, 10);
  medshim_journal_close(j);
  ck_assert_int_ne(stat(lane, &sb), 0); /* reading creates nothing */
  /* A replay on it: new statuses go to the lane and win over old ones. */
  j = open_flags(MEDSHIM_JOURNAL_REPLAY);
  ck_assert_int_eq(set_settled(j, "O2", 2, 1), MEDSHIM_OK);
  ck_assert_int_eq(set_settled(j, "O3", 1, 0), MEDSHIM_OK);
  medshim_journal_close(j);
  ck_assert_int_eq(stat(lane, &sb), 0);
  j = open_flags(0); /* a default-suite fixture: no suite asked */
  expect_settled(j, "O2", 2);
  expect_settled(j, "O3", 1);
  ck_assert_int_eq(medshim_journal_get(NULL, &st, j, "O1"), MEDSHIM_OK);
  ck_assert_str_eq(st.settlement_id, "S-OLD-1");
  ck_assert_int_eq(medshim_journal_get(NULL, &st, j, "O6"), MEDSHIM_OK);
  ck_assert_int_eq(st.state, MEDSHIM_STATE_IN_DOUBT);
  defer_n(j, "N", 0, 2);
  medshim_journal_close(j);
  {
    medshim_verify_report rep;
    int rc;
    ck_assert_int_eq(verify(&rep, &rc), MEDSHIM_DAMAGE_NONE);
    ck_assert_uint_eq(rep.claims, 12);
    ck_assert_uint_eq(rep.records, 12 + 4 + 2);
  }
  free(lane);
}
END_TEST

START_TEST(test_journal_lane_nosync_statuses_ride_on_sync) {
  medshim_verify_report rep;
  medshim_journal *j = open_rw(0);
  int status, rc;
  pid_t pid;
  defer_n(j, "P", 0, 10);
  medshim_journal_close(j);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    medshim_journal *r = open_flags(MEDSHIM_JOURNAL_REPLAY);
    for (int i = 0; i < 10; i++) {
      char id[16];
      snprintf(id, sizeof id, "P%d", i);
      if (set_settled(r, id, 1, 0) != MEDSHIM_OK)
        _exit(3);
    }
    if (medshim_journal_sync(r) != MEDSHIM_OK)
      _exit(4);
    raise(SIGKILL);
    _exit(5);
  }
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  j = open_flags(MEDSHIM_JOURNAL_READONLY);
  for (int i = 0; i < 10; i++) {
    char id[16];
    snprintf(id, sizeof id, "P%d", i);
    expect_settled(j, id, 1);
  }
  medshim_journal_close(j);
  ck_assert_int_eq(verify(&rep, &rc), MEDSHIM_DAMAGE_NONE);
}
END_TEST

START_TEST(test_journal_lane_write_failure_poisons) {
  medshim_journal *j = open_rw(0);
  defer_n(j, "P", 0, 3);
  ck_assert_int_eq(set_settled(j, "P0", 1, 1), MEDSHIM_OK);
  medshim__io_inject(MEDSHIM__IO_SYNC, 0, EIO);
  ck_assert_int_eq(set_settled(j, "P1", 1, 1), MEDSHIM_EIO);
  ck_assert_ptr_nonnull(strstr(medshim_journal_errmsg(j), "replay lane"));
  medshim__io_inject(MEDSHIM__IO_SYNC, -1, 0);
  ck_assert_int_eq(set_settled(j, "P2", 1, 1), MEDSHIM_EPOISONED);
  {
    medshim_claim *c = tu_claim("P", 9);
    ck_assert_int_eq(medshim_journal_defer(j, c, NULL), MEDSHIM_EPOISONED);
    medshim_claim_free(c);
  }
  medshim_journal_close(j);
  j = open_rw(0);
  expect_settled(j, "P0", 1);
  ck_assert_int_eq(set_settled(j, "P2", 1, 1), MEDSHIM_OK);
  medshim_journal_close(j);
  expect_intact();
}
END_TEST

START_TEST(test_journal_lane_torn_tail_is_trimmed) {
  medshim_journal *j = open_rw(0);
  medshim_verify_report rep;
  pid_t pid;
  int status, rc;
  defer_n(j, "P", 0, 6);
  medshim_journal_close(j);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    medshim_journal *r = open_flags(MEDSHIM_JOURNAL_REPLAY);
    for (int i = 0; i < 6; i++) {
      char id[16];
      snprintf(id, sizeof id, "P%d", i);
      /* the last one written, never acknowledged */
      if (set_settled(r, id, 1, i < 5) != MEDSHIM_OK)
        _exit(3);
    }
    _exit(0); /* no close: no checkpoint beyond the records */
  }
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  {
    char *p = lane_seg_path(1);
    size_t len, offs[64];
    unsigned char *buf = tu_read_file(p, &len);
    ck_assert_uint_eq(tu_record_offsets(buf, len, offs, 64), 6);
    tu_write_file(p, buf, offs[5] + 100); /* half of the last status */
    free(buf);
    free(p);
  }
  ck_assert_int_eq(verify(&rep, &rc), MEDSHIM_DAMAGE_TORN_TAIL);
  ck_assert_int_eq(rc, MEDSHIM_OK);
  ck_assert_ptr_nonnull(strstr(rep.text, "replay lane"));
  /* the claim writer does not touch the lane; the next status writer trims */
  j = open_rw(0);
  ck_assert_int_eq(set_settled(j, "P5", 2, 1), MEDSHIM_OK);
  for (int i = 0; i < 5; i++) {
    char id[16];
    snprintf(id, sizeof id, "P%d", i);
    expect_settled(j, id, 1);
  }
  medshim_journal_close(j);
  expect_intact();
}
END_TEST

int main(void) {
  Suite *s = suite_create("journal");
  TCase *tc = tcase_create("journal");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_journal_round_trip);
  tcase_add_test(tc, test_journal_crypto_context_reuse);
  tcase_add_test(tc, test_journal_foreach_and_status);
  tcase_add_test(tc, test_journal_duplicate_and_conflict);
  tcase_add_test(tc, test_journal_wrong_key);
  tcase_add_test(tc, test_journal_key_callback_and_rekey);
  tcase_add_test(tc, test_journal_key_text_forms);
  tcase_add_test(tc, test_journal_busy);
  tcase_add_test(tc, test_journal_no_plaintext_personal_data);
  tcase_add_test(tc, test_journal_detects_bit_flip);
  tcase_add_test(tc, test_journal_detects_deleted_record);
  tcase_add_test(tc, test_journal_detects_duplicated_record);
  tcase_add_test(tc, test_journal_detects_reordered_records);
  tcase_add_test(tc, test_journal_detects_spliced_record);
  tcase_add_test(tc, test_journal_detects_missing_segment);
  tcase_add_test(tc, test_journal_detects_truncated_tail);
  tcase_add_test(tc, test_journal_detects_cut_records_at_end);
  tcase_add_test(tc, test_journal_detects_bad_segment_header);
  tcase_add_test(tc, test_journal_detects_checkpoint_tampering);
  tcase_add_test(tc, test_journal_survives_sigkill);
  tcase_add_test(tc, test_journal_torn_tail_is_trimmed_not_damage);
  tcase_add_test(tc, test_journal_authentic_record_after_failure_is_damage);
  tcase_add_test(tc, test_journal_enospc_on_write_poisons);
  tcase_add_test(tc, test_journal_eio_on_write_poisons);
  tcase_add_test(tc, test_journal_eio_on_fsync_poisons);
  tcase_add_test(tc, test_journal_enospc_on_fsync_poisons);
  tcase_add_test(tc, test_journal_failure_creating_journal);
  tcase_add_test(tc, test_journal_concurrent_threads);
  tcase_add_test(tc, test_journal_group_commit_one_sync_for_waiting_writers);
  tcase_add_test(tc, test_journal_keyring_removed_is_not_replaced);
  tcase_add_test(tc, test_journal_nosync_then_sync);
  tcase_add_test(tc, test_journal_nosync_survives_sigkill);
  tcase_add_test(tc, test_journal_sync_failure_poisons);
  tcase_add_test(tc, test_journal_new_segment_per_writer_session);
  tcase_add_test(tc, test_journal_bad_arguments);
  tcase_add_test(tc, test_journal_keygen);
  tcase_add_test(tc, test_journal_replay_key_is_stable);
  tcase_add_test(tc, test_journal_replay_flag_rules);
  tcase_add_test(tc, test_journal_removed_replay_lane_detected);
  tcase_add_test(tc, test_journal_two_status_writers_busy);
  tcase_add_test(tc, test_journal_status_writer_while_claim_writer_defers);
  tcase_add_test(tc, test_journal_status_writer_killed_while_claims_deferred);
  tcase_add_test(tc, test_journal_threads_defer_while_thread_writes_statuses);
  tcase_add_test(tc, test_journal_detects_lane_tampering);
  tcase_add_test(tc, test_journal_detects_deleted_lane_segment);
  tcase_add_test(tc, test_journal_lane_status_without_claim_is_damage);
  tcase_add_test(tc, test_journal_lane_status_of_newer_claim_is_not_damage);
  tcase_add_test(tc, test_journal_old_format_statuses_visible);
  tcase_add_test(tc, test_journal_lane_nosync_statuses_ride_on_sync);
  tcase_add_test(tc, test_journal_lane_write_failure_poisons);
  tcase_add_test(tc, test_journal_lane_torn_tail_is_trimmed);
  tcase_add_test(tc, test_journal_suite_default);
  tcase_add_test(tc, test_journal_suite_sm);
  tcase_add_test(tc, test_journal_created_with_test_suite);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
