/* The same journal on every system: one program, built for Linux and for
 * Windows, that writes a journal, checks one, or replays one, so that CI
 * can hand a journal written on one system to the other (.ci/windows).
 *
 * usage: xjournal write DIR N      defer N claims into a new journal
 *        xjournal check DIR N S    verify; N claims, S of them settled,
 *                                  every field as written
 *        xjournal replay DIR N     settle every claim in process
 *        xjournal crash DIR N K    start `xjournal ack DIR N` (defer N
 *                                  claims, print each visit_id once
 *                                  acknowledged), end it the hard way
 *                                  after K acknowledgements
 *                                  (TerminateProcess on Windows, SIGKILL
 *                                  elsewhere), then require every
 *                                  acknowledged claim in the journal
 * The key is fixed (test equipment). Exit 0 when all holds, 1 with a
 * message naming what does not. */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L /* fdopen, kill */
#endif
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <windows.h>
#else
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "medshim/medshim.h"

static int key_cb(unsigned char k[MEDSHIM_KEY_BYTES], void *p) {
  (void)p;
  for (int i = 0; i < MEDSHIM_KEY_BYTES; i++)
    k[i] = (unsigned char)(i * 7 + 3);
  return 0;
}

static medshim_journal_options options(unsigned flags) {
  medshim_journal_options o = MEDSHIM_JOURNAL_OPTIONS_INIT;
  o.key_fn = key_cb;
  o.flags = flags;
  return o;
}

static const char *const NAMES[] = {"张三丰", "李四", "王小二", "欧阳娜娜"};

static int64_t total_of(int i) { return 1234 + (int64_t)i * 101; }

static medshim_claim *claim(int i) {
  medshim_claim_fields f = MEDSHIM_CLAIM_FIELDS_INIT;
  /* what the cashier was told: re-settled by the hospital from 2022-03-15 */
  medshim_claim_window window = {MEDSHIM_CLAIM_WINDOW_VERSION,
                                 MEDSHIM_CLAIM_ROUTE_HOSPITAL, 1647273600, 0,
                                 "", 0};
  medshim_claim *c = NULL;
  medshim_error err;
  char id[32], inv[32], detail[256];
  snprintf(id, sizeof id, "X-%05d", i);
  snprintf(inv, sizeof inv, "INV%08d", i);
  snprintf(detail, sizeof detail,
           "{\"items\":[{\"feedetl_sn\":\"%d-1\",\"med_list_codg\":"
           "\"XA01BCX123\",\"det_item_fee_sumamt\":\"%" PRId64 ".%02" PRId64
           "\"}],\"diag_code\":\"J06.900\"}",
           i, total_of(i) / 100, total_of(i) % 100);
  f.visit_id = id;
  f.service = i % 2 ? MEDSHIM_SERVICE_PHARMACY : MEDSHIM_SERVICE_OUTPATIENT;
  f.insured_admdvs = "330102";
  f.treated_admdvs = "330106";
  f.visit_time = 1644456600 + (int64_t)i * 60;
  f.total_fen = total_of(i);
  f.self_paid_fen = total_of(i);
  f.invoice_no = inv;
  f.patient_name = NAMES[i % 4];
  f.patient_id_no = "110101199003077777";
  f.patient_psn_no = "33000012345678";
  f.detail = detail;
  f.detail_len = strlen(detail);
  memset(&err, 0, sizeof err);
  if (medshim_claim_create(&c, &f, &err) != MEDSHIM_OK ||
      medshim_claim_set_window(c, &window) != MEDSHIM_OK) {
    fprintf(stderr, "xjournal: claim %d: %s\n", i, err.text);
    exit(1);
  }
  return c;
}

static int fail(const char *what, const medshim_error *err) {
  fprintf(stderr, "xjournal: %s%s%s\n", what, err ? ": " : "",
          err ? err->text : "");
  return 1;
}

/* Defer n claims into a new journal; ack: print each visit_id once defer
 * has returned (acknowledged: on disk). */
static int do_write(const char *dir, int n, int ack) {
  medshim_journal_options o = options(MEDSHIM_JOURNAL_CREATE);
  medshim_journal *j = NULL;
  medshim_error err;
  memset(&err, 0, sizeof err);
  if (medshim_journal_open(&j, dir, &o, &err) != MEDSHIM_OK)
    return fail("open", &err);
  for (int i = 0; i < n; i++) {
    medshim_claim *c = claim(i);
    int rc = medshim_journal_defer(j, c, NULL);
    medshim_claim_free(c);
    if (rc != MEDSHIM_OK) {
      fprintf(stderr, "xjournal: defer: %s\n", medshim_journal_errmsg(j));
      return 1;
    }
    if (ack) {
      printf("X-%05d\n", i);
      fflush(stdout);
    }
  }
  return medshim_journal_close(j) == MEDSHIM_OK ? 0 : fail("close", NULL);
}

static int do_check(const char *dir, int n, int settled_want) {
  medshim_journal_options o = options(MEDSHIM_JOURNAL_READONLY);
  medshim_verify_report rep;
  medshim_journal *j = NULL;
  medshim_error err;
  int settled = 0;
  memset(&err, 0, sizeof err);
  memset(&rep, 0, sizeof rep);
  rep.version = MEDSHIM_VERIFY_REPORT_VERSION;
  if (medshim_journal_verify(dir, &o, &rep) != MEDSHIM_OK)
    return fail("verify: the journal is not intact", NULL);
  if (medshim_journal_open(&j, dir, &o, &err) != MEDSHIM_OK)
    return fail("open", &err);
  if (medshim_journal_count(j) != (size_t)n) {
    fprintf(stderr, "xjournal: %zu claims, %d expected\n",
            medshim_journal_count(j), n);
    return 1;
  }
  for (int i = 0; i < n; i++) {
    char id[32];
    medshim_claim *c = NULL;
    medshim_claim_status st;
    snprintf(id, sizeof id, "X-%05d", i);
    if (medshim_journal_get(&c, &st, j, id) != MEDSHIM_OK)
      return fail(id, NULL);
    if (strcmp(medshim_claim_patient_name(c), NAMES[i % 4]) != 0 ||
        medshim_claim_total_fen(c) != total_of(i) ||
        medshim_claim_visit_time(c) != 1644456600 + (int64_t)i * 60) {
      fprintf(stderr, "xjournal: %s differs from what was written\n", id);
      return 1;
    }
    if (st.state == MEDSHIM_STATE_SETTLED)
      settled++;
    medshim_claim_free(c);
  }
  medshim_journal_close(j);
  if (settled != settled_want) {
    fprintf(stderr, "xjournal: %d claims settled, %d expected\n", settled,
            settled_want);
    return 1;
  }
  return 0;
}

static int settle(medshim_settlement *out, medshim_adapter_ctx *ctx,
                  void *payload) {
  char msgid[MEDSHIM_MSGID_LEN + 1];
  medshim_step s;
  int64_t total = medshim_claim_total_fen(medshim_adapter_claim(ctx));
  (void)payload;
  if (medshim_adapter_step_begin(ctx, msgid, "2207") != MEDSHIM_OK)
    return -1;
  memset(&s, 0, sizeof s);
  s.version = MEDSHIM_STEP_VERSION;
  memcpy(s.msgid, msgid, sizeof msgid);
  s.state = MEDSHIM_STEP_OK;
  snprintf(s.setl_id, sizeof s.setl_id, "S%s", msgid);
  if (medshim_adapter_step_end(ctx, &s) != MEDSHIM_OK)
    return -1;
  out->outcome = MEDSHIM_OUTCOME_SETTLED;
  snprintf(out->settlement_id, sizeof out->settlement_id, "S%s", msgid);
  memcpy(out->msgid, msgid, sizeof msgid);
  out->setl_time = 1647396000;
  out->total_fen = total;
  out->fund_paid_fen = total * 7 / 10;
  out->acct_paid_fen = 0;
  out->patient_paid_fen = total - out->fund_paid_fen;
  return 0;
}

static int probe(medshim_settlement *out, medshim_adapter_ctx *ctx,
                 void *payload) {
  (void)ctx;
  (void)payload;
  out->outcome = MEDSHIM_OUTCOME_NOT_FOUND;
  return 0;
}

static int do_replay(const char *dir, int n) {
  medshim_journal_options o = options(0);
  medshim_replay_options ro = MEDSHIM_REPLAY_OPTIONS_INIT;
  medshim_adapter a = {MEDSHIM_ADAPTER_VERSION, settle, probe, NULL};
  medshim_replay_summary s;
  medshim_journal *j = NULL;
  medshim_error err;
  memset(&err, 0, sizeof err);
  if (medshim_journal_open(&j, dir, &o, &err) != MEDSHIM_OK)
    return fail("open", &err);
  ro.at = 1647396000;
  ro.institution_code = "H33010200001";
  ro.concurrency = 4;
  if (medshim_replay_run(&s, j, &a, &ro) != MEDSHIM_OK) {
    fprintf(stderr, "xjournal: replay: %s\n", medshim_journal_errmsg(j));
    return 1;
  }
  medshim_journal_close(j);
  if (s.settled != (size_t)n) {
    fprintf(stderr, "xjournal: replay settled %zu of %d\n", s.settled, n);
    return 1;
  }
  return 0;
}

/* The child's acknowledgements, read line by line up to k of them; the
 * child is then ended without warning. */
typedef struct acks {
  char (*ids)[16];
  int n;
} acks;

static void keep(acks *a, const char *line) {
  size_t len = strcspn(line, "\r\n");
  if (len > 0 && len < sizeof a->ids[0]) {
    memcpy(a->ids[a->n], line, len);
    a->ids[a->n][len] = '\0';
    a->n++;
  }
}

#ifdef _WIN32
static int run_and_end(const char *self, const char *dir, int n, int k,
                       acks *a) {
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
  STARTUPINFOA si;
  PROCESS_INFORMATION pi;
  HANDLE rd, wr;
  char cmd[8192], buf[4096], line[64];
  size_t used = 0;
  DWORD got;
  if (!CreatePipe(&rd, &wr, &sa, 0) ||
      !SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0))
    return fail("CreatePipe", NULL);
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdOutput = wr;
  si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
  si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
  snprintf(cmd, sizeof cmd, "\"%s\" ack \"%s\" %d", self, dir, n);
  if (!CreateProcessA(NULL, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi))
    return fail("CreateProcess", NULL);
  CloseHandle(wr);
  while (a->n < k && ReadFile(rd, buf, sizeof buf, &got, NULL) && got > 0)
    for (DWORD i = 0; i < got && a->n < k; i++) {
      if (buf[i] == '\n' || used == sizeof line - 1) {
        line[used] = '\0';
        keep(a, line);
        used = 0;
      } else {
        line[used++] = buf[i];
      }
    }
  TerminateProcess(pi.hProcess, 9);
  WaitForSingleObject(pi.hProcess, INFINITE);
  CloseHandle(pi.hProcess);
  CloseHandle(pi.hThread);
  CloseHandle(rd);
  return 0;
}
#else
static int run_and_end(const char *self, const char *dir, int n, int k,
                       acks *a) {
  int p[2];
  pid_t pid;
  FILE *f;
  char line[64], count[16];
  if (pipe(p) != 0)
    return fail("pipe", NULL);
  snprintf(count, sizeof count, "%d", n);
  if ((pid = fork()) == 0) {
    dup2(p[1], 1);
    close(p[0]);
    close(p[1]);
    execl(self, self, "ack", dir, count, (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  f = fdopen(p[0], "r");
  while (a->n < k && f != NULL && fgets(line, sizeof line, f) != NULL)
    keep(a, line);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  if (f != NULL)
    fclose(f);
  return 0;
}
#endif

static int do_crash(const char *self, const char *dir, int n, int k) {
  medshim_journal_options o = options(0);
  medshim_journal *j = NULL;
  medshim_error err;
  acks a;
  int missing = 0;
  a.ids = calloc((size_t)k, sizeof *a.ids);
  a.n = 0;
  if (a.ids == NULL || run_and_end(self, dir, n, k, &a) != 0)
    return 1;
  memset(&err, 0, sizeof err);
  if (medshim_journal_open(&j, dir, &o, &err) != MEDSHIM_OK)
    return fail("open after the crash", &err);
  for (int i = 0; i < a.n; i++) {
    medshim_claim_status st;
    if (medshim_journal_get(NULL, &st, j, a.ids[i]) != MEDSHIM_OK) {
      fprintf(stderr, "xjournal: %s was acknowledged and is gone\n",
              a.ids[i]);
      missing++;
    }
  }
  printf("xjournal crash: %d acknowledged before the writer was ended, %d "
         "missing, %zu in the journal\n",
         a.n, missing, medshim_journal_count(j));
  medshim_journal_close(j);
  free(a.ids);
  return missing == 0 && a.n == k ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc >= 4 && strcmp(argv[1], "ack") == 0)
    return do_write(argv[2], atoi(argv[3]), 1);
  if (argc >= 5 && strcmp(argv[1], "crash") == 0)
    return do_crash(argv[0], argv[2], atoi(argv[3]), atoi(argv[4]));
  if (argc >= 4 && strcmp(argv[1], "write") == 0)
    return do_write(argv[2], atoi(argv[3]), 0);
  if (argc >= 5 && strcmp(argv[1], "check") == 0)
    return do_check(argv[2], atoi(argv[3]), atoi(argv[4]));
  if (argc >= 4 && strcmp(argv[1], "replay") == 0)
    return do_replay(argv[2], atoi(argv[3]));
  fprintf(stderr, "usage: xjournal write DIR N | check DIR N SETTLED | "
                  "replay DIR N | crash DIR N K | ack DIR N\n");
  return 64;
}
