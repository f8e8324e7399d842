/* Helpers shared by the Check suites. Files and directories go through
 * the library's platform layer (os.h), so that the suites that need no
 * processes run on Windows as well. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal_format_internal.h"
#include "os.h"
#include "testutil.h"

char *tu_tempdir(void) {
  static unsigned long counter;
  const char *base = getenv("TMPDIR");
  char *p = malloc(4096);
  ck_assert_ptr_nonnull(p);
  if (base == NULL)
    base = getenv("TEMP");
  for (int tries = 0; tries < 100; tries++) {
    unsigned long long r =
        (unsigned long long)medshim__os_mono_ns() ^ ((unsigned long long)rand() << 20);
    snprintf(p, 4096, "%s/medshim-test-%lx-%llx", base ? base : "/tmp",
             ++counter, r & 0xffffffffffull);
    if (medshim__os_mkdir(p) == 0)
      return p;
    ck_assert_msg(errno == EEXIST, "cannot make a directory under %s",
                  base ? base : "/tmp");
  }
  ck_abort_msg("no fresh temporary directory");
  return NULL;
}

typedef struct rm_walk {
  const char *dir;
} rm_walk;

static int rm_entry(const char *name, void *payload) {
  rm_walk *w = payload;
  char *p = medshim__os_path_join(w->dir, name);
  if (p != NULL) {
    tu_rmtree(p);
    free(p);
  }
  return 0;
}

void tu_rmtree(const char *path) {
  medshim__os_finfo st;
  if (path == NULL || medshim__os_lstat(path, &st) != 0)
    return;
  if (st.is_dir) {
    rm_walk w = {path};
    (void)medshim__os_list_dir(path, rm_entry, &w);
  }
  (void)medshim__os_remove(path);
}

char *tu_path(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  ck_assert_ptr_nonnull(p);
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

void tu_write_key(const char *path, unsigned char seed) {
  unsigned char key[MEDSHIM_KEY_BYTES];
  int fd;
  for (size_t i = 0; i < sizeof key; i++)
    key[i] = (unsigned char)(seed * 31 + i * 7 + 1);
  (void)medshim__os_remove(path);
  fd = medshim__os_open(path, MEDSHIM__OS_WRITE | MEDSHIM__OS_CREATE);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(medshim__os_write(fd, key, sizeof key), (long long)sizeof key);
  ck_assert_int_eq(medshim__os_make_private(fd), 0);
  medshim__os_close(fd);
}

medshim_claim *tu_claim(const char *prefix, int i) {
  medshim_claim_fields f = MEDSHIM_CLAIM_FIELDS_INIT;
  medshim_claim *c = NULL;
  medshim_error err;
  char id[80], inv[32], detail[600];
  memset(&err, 0, sizeof err);
  snprintf(id, sizeof id, "%s%d", prefix, i);
  snprintf(inv, sizeof inv, "INV%08d", i);
  snprintf(detail, sizeof detail,
           "{\"items\":[{\"feedetl_sn\":\"%d-1\",\"med_list_codg\":"
           "\"XA01BCX123\",\"det_item_fee_sumamt\":\"%d.%02d\",\"cnt\":\"1\","
           "\"pric\":\"%d.%02d\",\"fee_ocur_time\":\"2022-02-11 09:30:00\"},"
           "{\"feedetl_sn\":\"%d-2\",\"med_list_codg\":\"001102000010000\","
           "\"det_item_fee_sumamt\":\"12.00\",\"cnt\":\"1\",\"pric\":\"12.00\"}],"
           "\"diag_code\":\"J06.900\"}",
           i, 100 + i % 900, i % 100, 100 + i % 900, i % 100, i);
  f.visit_id = id;
  f.service = (i % 3 == 0)   ? MEDSHIM_SERVICE_OUTPATIENT
              : (i % 3 == 1) ? MEDSHIM_SERVICE_PHARMACY
                             : MEDSHIM_SERVICE_INPATIENT;
  f.insured_admdvs = "330102";
  f.treated_admdvs = "330106";
  f.visit_time = 1644456600 + i * 60; /* 2022-02-10 09:30 +08:00 onward */
  f.total_fen = 12000 + (int64_t)i * 13;
  f.self_paid_fen = f.total_fen;
  f.invoice_no = inv;
  f.patient_name = "张三丰";
  f.patient_id_no = "110101199003077777";
  f.patient_psn_no = "33000012345678";
  f.patient_cert_type = "02";
  f.detail = detail;
  f.detail_len = strlen(detail);
  ck_assert_msg(medshim_claim_create(&c, &f, &err) == MEDSHIM_OK, "%s: %s",
                err.where, err.text);
  return c;
}

unsigned char *tu_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  unsigned char *buf;
  long n;
  if (f == NULL)
    return NULL;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = malloc(n > 0 ? (size_t)n : 1);
  ck_assert_ptr_nonnull(buf);
  ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return buf;
}

void tu_write_file(const char *path, const unsigned char *data, size_t len) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  fclose(f);
}

unsigned tu_suite(void) {
  const char *s = getenv("MEDSHIM_TEST_SUITE");
  if (s == NULL || *s == '\0' || strcmp(s, "default") == 0)
    return MEDSHIM_JOURNAL_SUITE_DEFAULT;
  ck_assert_msg(strcmp(s, "sm") == 0, "MEDSHIM_TEST_SUITE=%s: sm or default",
                s);
  return MEDSHIM_JOURNAL_SUITE_SM;
}

medshim_journal_options tu_opts(const char *keyfile, unsigned flags) {
  medshim_journal_options o = MEDSHIM_JOURNAL_OPTIONS_INIT;
  o.key_file = keyfile;
  o.flags = flags;
  /* Only creation names the suite: every other open must find it in the
   * journal, as a host's would. */
  if ((flags & MEDSHIM_JOURNAL_CREATE) != 0)
    o.suite = tu_suite();
  return o;
}

int tu_run(Suite *suite) {
  SRunner *sr = srunner_create(suite);
  int failed;
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

size_t tu_record_offsets(const unsigned char *buf, size_t len, size_t *offs,
                         size_t max) {
  size_t n = 0, off = JF_SEGMENT_DATA_V2;
  while (off + JF_RECORD_HEADER_BYTES <= len && n < max) {
    uint32_t l = jf_get32(buf + off);
    if (l == 0 || off + l > len)
      break;
    offs[n++] = off;
    off += l;
  }
  return n;
}
