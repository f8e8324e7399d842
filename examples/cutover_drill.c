/* The cutover drill: Hangzhou 2022 in simulated time, against the platform
 * simulator. About 10,000 visits from 2022-02-08 to 2022-03-20: decisions
 * and advice as the days pass, deferrals during the stop, replay from
 * 2022-03-15 with lost answers and rejections, the manual-reimbursement
 * export for in-patients, a final report, and an HTML report with a chart of
 * the backlog that opens in a browser with no network.
 *
 * usage: cutover_drill SCHEDULE.json WORKDIR [REPORT.html]
 * The journal and ledger go to WORKDIR; the HTML report to REPORT.html, by
 * default WORKDIR/drill-report.html (never into the current directory,
 * which may be the source tree).
 * Uses only the public headers (medshim/medshim.h, medshim/sim.h). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <direct.h> /* _mkdir */
#else
#include <sys/stat.h>
#endif
#include <time.h>

#include "medshim/medshim.h"
#include "medshim/sim.h"

#define DAYS 41 /* 2022-02-08 .. 2022-03-20 */
#define DAY0 1644249600 /* 2022-02-08T00:00+08:00 */

typedef struct day_stats {
  int visits, online, tried_online, tried_failed, deferred, advice_shown;
  /* backlog at the end of the day */
  size_t pending, settled, rejected, manual, in_doubt;
  size_t replay_attempts;
  int64_t refunds_due_fen;
} day_stats;

static unsigned rng = 20220210;
static unsigned next(void) {
  rng = rng * 1103515245u + 12345u;
  return (rng >> 8) & 0xffffff;
}

static unsigned char journal_key[32];
static int key_cb(unsigned char k[MEDSHIM_KEY_BYTES], void *payload) {
  (void)payload;
  memcpy(k, journal_key, MEDSHIM_KEY_BYTES);
  return 0;
}

static void day_name(char out[11], int d) {
  time_t t = (time_t)(DAY0 + d * 86400 + 8 * 3600);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, 11, "%Y-%m-%d", &tm);
}

static const char *SURNAMES = "王李张刘陈杨黄赵吴周";

static medshim_claim *visit_claim(int n, medshim_service svc, int64_t at,
                                  int64_t total) {
  medshim_claim_fields f = MEDSHIM_CLAIM_FIELDS_INIT;
  medshim_claim *c = NULL;
  char id[32], psn[32], idno[32], name[16], inv[32], detail[256],
      amount[MEDSHIM_YUAN_TEXT];
  int s = n % 10;
  snprintf(id, sizeof id, "%s%07d", svc == MEDSHIM_SERVICE_INPATIENT ? "ZY"
                                    : svc == MEDSHIM_SERVICE_PHARMACY ? "YD" : "MZ", n);
  snprintf(psn, sizeof psn, "3301%010d", n % 7000);
  snprintf(idno, sizeof idno, "3301021980%08d", n % 7000);
  snprintf(name, sizeof name, "%.3s某", SURNAMES + 3 * s);
  snprintf(inv, sizeof inv, "E3301%08d", n);
  medshim_fen_to_yuan(amount, sizeof amount, total);
  snprintf(detail, sizeof detail,
           "{\"items\":[{\"feedetl_sn\":\"1\",\"med_list_codg\":\"XA01BCX%03d\","
           "\"det_item_fee_sumamt\":\"%s\",\"cnt\":\"1\"}],\"med_type\":\"%s\"}",
           n % 1000, amount,
           svc == MEDSHIM_SERVICE_INPATIENT ? "21" : svc == MEDSHIM_SERVICE_PHARMACY ? "41" : "11");
  f.visit_id = id;
  f.service = svc;
  f.insured_admdvs = (n % 13 == 0) ? "330200" : "330102"; /* some from Ningbo */
  f.treated_admdvs = "330106";
  f.visit_time = at;
  f.total_fen = total;
  f.self_paid_fen = total; /* paid in full during the stop */
  f.invoice_no = inv;
  f.patient_name = name;
  f.patient_id_no = idno;
  f.patient_psn_no = psn;
  f.patient_cert_type = "02";
  f.detail = detail;
  if (medshim_claim_create(&c, &f, NULL) != MEDSHIM_OK)
    return NULL;
  return c;
}

static int count_states(const medshim_claim *c, const medshim_claim_status *st,
                        void *payload) {
  day_stats *d = payload;
  (void)c;
  switch (st->state) {
  case MEDSHIM_STATE_SETTLED:
    d->settled++;
    if (st->refund_fen > 0)
      d->refunds_due_fen += st->refund_fen;
    break;
  case MEDSHIM_STATE_REJECTED:
    d->rejected++;
    break;
  case MEDSHIM_STATE_MANUAL:
  case MEDSHIM_STATE_EXPIRED:
    d->manual++;
    break;
  case MEDSHIM_STATE_IN_DOUBT:
    d->in_doubt++;
    break;
  default:
    d->pending++;
    break;
  }
  return 0;
}

/* A negative total (more refunded than collected) must read "-0.05", not
 * "0.-5": the library's exact helper. */
static void money(char *out, size_t size, int64_t fen) {
  if (medshim_fen_to_yuan(out, size, fen) != MEDSHIM_OK && size > 0)
    out[0] = '\0';
}

static int write_html(const char *path, const day_stats *days) {
  FILE *f = fopen(path, "w");
  size_t max = 1;
  const int W = 900, H = 320, L = 60, B = 40;
  if (f == NULL) {
    fprintf(stderr, "cutover_drill: cannot write %s\n", path);
    return -1;
  }
  for (int d = 0; d < DAYS; d++) {
    size_t tot = days[d].pending + days[d].settled + days[d].rejected +
                 days[d].manual + days[d].in_doubt;
    if (tot > max)
      max = tot;
  }
  fprintf(f, "<!doctype html><html><head><meta charset=\"utf-8\"><title>"
             "libmedshim cutover drill: Hangzhou 2022</title><style>body{font:"
             "14px sans-serif;margin:2em}table{border-collapse:collapse}td,th"
             "{border:1px solid #ccc;padding:2px 6px;text-align:right}"
             ".k{display:inline-block;width:12px;height:12px;margin:0 4px}"
             "</style></head><body><h1>Cutover drill: Hangzhou 2022</h1>"
             "<p>Deferred claims by state at the end of each day. Settlement "
             "stops 2022-02-10 00:00, the platform returns 02-15, re-settlement "
             "opens 03-15. In-patients go to the agency (manual).</p>\n");
  fprintf(f, "<svg width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"backlog\">",
          W + 40, H + B); /* room for the last date label */
  for (int d = 0; d < DAYS; d++) {
    const size_t v[5] = {days[d].settled, days[d].manual, days[d].rejected,
                         days[d].in_doubt, days[d].pending};
    const char *col[5] = {"#2e7d32", "#6a1b9a", "#c62828", "#ef6c00", "#1565c0"};
    double x = L + d * (double)(W - L) / DAYS, bw = (double)(W - L) / DAYS - 2;
    double y = H;
    for (int k = 0; k < 5; k++) {
      double h = (double)v[k] * (H - 10) / (double)max;
      y -= h;
      if (h > 0)
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                   "fill=\"%s\"/>", x, y, bw, h, col[k]);
    }
    if (d % 5 == 0) {
      char name[11];
      day_name(name, d);
      fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\">%s</text>", x,
              H + 16, name + 5);
    }
  }
  fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#000\"/>"
             "<text x=\"0\" y=\"12\" font-size=\"11\">%zu claims</text></svg>\n",
          L, H, W, H, max);
  fprintf(f, "<p><span class=\"k\" style=\"background:#1565c0\"></span>deferred "
             "(pending) <span class=\"k\" style=\"background:#ef6c00\"></span>in "
             "doubt <span class=\"k\" style=\"background:#c62828\"></span>rejected "
             "(a person) <span class=\"k\" style=\"background:#6a1b9a\"></span>"
             "manual (agency) <span class=\"k\" style=\"background:#2e7d32\">"
             "</span>settled</p>\n<table><tr><th>day</th><th>visits</th><th>online"
             "</th><th>try_online</th><th>failed&rarr;deferred</th><th>deferred</th>"
             "<th>advice shown</th><th>replayed</th><th>pending</th><th>settled</th>"
             "<th>rejected</th><th>manual</th><th>refunds due (yuan)</th></tr>\n");
  /* the first row says what each column counts */
  fprintf(f, "<tr style=\"font-size:11px;color:#555\"><td></td>"
             "<td>patients seen</td><td>settled online at once</td>"
             "<td>decision try_online: an attempt was made</td>"
             "<td>of those, failed and deferred</td>"
             "<td>journaled that day (stop + failed attempts)</td>"
             "<td>visits whose decision carried advice</td>"
             "<td>replay attempts that day</td>"
             "<td colspan=\"4\">claims in the journal by state at the end of "
             "the day</td><td>settled claims' refunds owed to patients</td>"
             "</tr>\n");
  for (int d = 0; d < DAYS; d++) {
    char name[11], m[32];
    day_name(name, d);
    money(m, sizeof m, days[d].refunds_due_fen);
    fprintf(f, "<tr><td>%s</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td>"
               "<td>%d</td><td>%d</td><td>%zu</td><td>%zu</td><td>%zu</td>"
               "<td>%zu</td><td>%zu</td><td>%s</td></tr>\n",
            name, days[d].visits, days[d].online, days[d].tried_online,
            days[d].tried_failed, days[d].deferred, days[d].advice_shown,
            days[d].replay_attempts, days[d].pending, days[d].settled,
            days[d].rejected, days[d].manual, m);
  }
  fprintf(f, "</table></body></html>\n");
  if (fclose(f) != 0) {
    fprintf(stderr, "cutover_drill: cannot write %s\n", path);
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  const char *schedule, *work, *html;
  char jdir[4096], ledger[4096], report[4096];
  medshim_schedule_set *set = NULL;
  medshim_journal_options jo = MEDSHIM_JOURNAL_OPTIONS_INIT;
  medshim_journal *j = NULL;
  medshim_sim_options so = MEDSHIM_SIM_OPTIONS_INIT;
  medshim_sim *platform = NULL;
  medshim_adapter adapter;
  medshim_error err;
  day_stats days[DAYS];
  int visit_no = 0, total_visits = 0;
  int64_t online_attempt_failures = 0;

  if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    printf("usage: cutover_drill SCHEDULE.json WORKDIR [REPORT.html]\n"
           "Journal and simulated platform in WORKDIR; the HTML report in\n"
           "REPORT.html (default WORKDIR/drill-report.html).\n");
    return 0;
  }
  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: cutover_drill SCHEDULE.json WORKDIR [REPORT.html]\n");
    return 64;
  }
  schedule = argv[1];
  work = argv[2];
  if (argc > 3) {
    html = argv[3];
  } else {
    snprintf(report, sizeof report, "%s/drill-report.html", work);
    html = report;
  }
  memset(days, 0, sizeof days);
  memset(&err, 0, sizeof err);
#ifdef _WIN32
  _mkdir(work);
#else
  mkdir(work, 0700);
#endif
  snprintf(jdir, sizeof jdir, "%s/journal", work);
  snprintf(ledger, sizeof ledger, "%s/platform-ledger", work);
  remove(ledger);
  for (int i = 0; i < 32; i++)
    journal_key[i] = (unsigned char)(i * 7 + 3);

  if (medshim_schedule_set_new(&set, NULL, &err) != MEDSHIM_OK ||
      medshim_schedule_set_load_file(set, schedule, &err) != MEDSHIM_OK) {
    fprintf(stderr, "schedule: %s: %s\n", err.where, err.text);
    return 1;
  }
  jo.key_fn = key_cb;
  jo.flags = MEDSHIM_JOURNAL_CREATE;
  if (medshim_journal_open(&j, jdir, &jo, &err) != MEDSHIM_OK) {
    fprintf(stderr, "journal: %s: %s (use an empty WORKDIR)\n", err.where, err.text);
    return 1;
  }
  /* The platform: 10% lost answers, 2% rejections (duplicate enrollment
   * and the like), 5% transient failures once it is back. */
  so.ledger_path = ledger;
  so.lost_permille = 100;
  so.reject_permille = 20;
  so.retry_permille = 50;
  so.seed = 7;
  if (medshim_sim_open(&platform, &so) != MEDSHIM_OK)
    return 1;
  medshim_sim_adapter(&adapter, platform);

  printf("libmedshim %s: cutover drill, Hangzhou 2022 (%s)\n\n", medshim_version(),
         schedule);
  printf("%-10s %6s %6s %6s %6s %6s  %s\n", "day", "visits", "online", "try",
         "defer", "replay", "backlog: pending / settled / rejected / manual");
  printf("(visits that day; settled online; tried online (try_online); "
         "deferred to the journal;\n replay attempts that day; claims in "
         "the journal by state at the end of the day)\n");
  for (int d = 0; d < DAYS; d++) {
    day_stats *ds = &days[d];
    int n = 230 + (int)(next() % 40); /* visits a day */
    char name[11];
    medshim_claim **batch = calloc((size_t)n, sizeof *batch);
    int nb = 0;
    day_name(name, d);
    for (int v = 0; v < n; v++) {
      unsigned r = next() % 100;
      medshim_service svc = r < 60 ? MEDSHIM_SERVICE_OUTPATIENT
                            : r < 92 ? MEDSHIM_SERVICE_PHARMACY
                                     : MEDSHIM_SERVICE_INPATIENT;
      int64_t at = DAY0 + d * 86400 + 7 * 3600 + (int64_t)(next() % (14 * 3600));
      int64_t total = svc == MEDSHIM_SERVICE_INPATIENT ? 300000 + next() % 900000
                      : svc == MEDSHIM_SERVICE_PHARMACY ? 3000 + next() % 30000
                                                        : 5000 + next() % 60000;
      medshim_decision dec = MEDSHIM_DECISION_INIT;
      int defer = 0;
      visit_no++;
      total_visits++;
      ds->visits++;
      if (medshim_schedule_decide(&dec, set, (int)svc,
                                  visit_no % 13 == 0 ? "330200" : "330102", "330106",
                                  at) != MEDSHIM_OK)
        fprintf(stderr, "visit %d: not decided (%s): deferred\n", visit_no, dec.reason);
      ds->advice_shown += dec.advice_count > 0;
      if (dec.decision == MEDSHIM_ONLINE) {
        ds->online++;
      } else if (dec.decision == MEDSHIM_TRY_ONLINE) {
        /* the platform just came back: a third of attempts fail */
        ds->tried_online++;
        if (next() % 3 == 0) {
          ds->tried_failed++;
          online_attempt_failures++;
          defer = 1;
        }
        medshim_schedule_report_outcome(set, "330106", !defer, at);
      } else {
        defer = 1;
      }
      if (defer) {
        medshim_claim_window w;
        batch[nb] = visit_claim(visit_no, svc, at, total);
        /* Journal the window the cashier was told: the decision's, or for
         * a failed online attempt the one the schedules give that visit. */
        if (dec.decision == MEDSHIM_DEFER) {
          if (medshim_decision_window(&w, &dec) != MEDSHIM_OK)
            return 1;
        } else {
          medshim_replay_window rw;
          if (medshim_schedule_replay_window(&rw, set, (int)svc,
                                             visit_no % 13 == 0 ? "330200"
                                                                : "330102",
                                             "330106", at) != MEDSHIM_OK)
            return 1;
          memset(&w, 0, sizeof w);
          w.version = MEDSHIM_CLAIM_WINDOW_VERSION;
          w.route = (int)rw.route;
          w.from = rw.from;
          w.until = rw.until;
        }
        if (batch[nb] != NULL && medshim_claim_set_window(batch[nb], &w) != MEDSHIM_OK)
          return 1;
        if (batch[nb] != NULL)
          nb++;
      }
    }
    if (nb > 0) {
      int *res = calloc((size_t)nb, sizeof *res);
      if (medshim_journal_defer_batch(j, (const medshim_claim *const *)batch,
                                      (size_t)nb, res) != MEDSHIM_OK) {
        fprintf(stderr, "defer: %s\n", medshim_journal_errmsg(j));
        return 1;
      }
      ds->deferred = nb;
      free(res);
    }
    for (int i = 0; i < nb; i++)
      medshim_claim_free(batch[i]);
    free(batch);
    /* Each morning from 03-15: replay what the window allows. */
    {
      medshim_replay_options ro = MEDSHIM_REPLAY_OPTIONS_INIT;
      medshim_replay_summary rs;
      ro.at = DAY0 + d * 86400 + 22 * 3600; /* after the day's visits */
      ro.institution_code = "H33010600001";
      /* Simulated days pass in milliseconds: the simulator shows every
       * settlement at once, so no wall-clock visibility delay is needed. */
      ro.flags = MEDSHIM_REPLAY_NO_VISIBILITY_DELAY;
      ro.concurrency = 4;
      ro.backoff_base_seconds = 3600;
      ro.backoff_cap_seconds = 86400;
      ro.seed = 99;
      if (medshim_replay_run(&rs, j, &adapter, &ro) != MEDSHIM_OK) {
        fprintf(stderr, "replay: %s\n", medshim_journal_errmsg(j));
        return 1;
      }
      ds->replay_attempts = rs.attempts;
    }
    medshim_journal_foreach(j, count_states, ds);
    printf("%-10s %6d %6d %6d %6d %6zu  %zu / %zu / %zu / %zu%s\n", name,
           ds->visits, ds->online, ds->tried_online, ds->deferred,
           ds->replay_attempts, ds->pending, ds->settled, ds->rejected,
           ds->manual, ds->advice_shown ? "  (in-patient advice shown)" : "");
  }
  {
    const day_stats *last = &days[DAYS - 1];
    char due[32];
    money(due, sizeof due, last->refunds_due_fen);
    printf("\n== final report\n");
    printf("visits: %d; deferred to the journal: %zu (online attempts that "
           "failed and were deferred: %lld)\n", total_visits,
           last->pending + last->settled + last->rejected + last->manual +
               last->in_doubt,
           (long long)online_attempt_failures);
    printf("settled exactly once on the platform: %zu (platform ledger: %zu, "
           "double-settlement attempts: %zu)\n", last->settled,
           medshim_sim_settlements(platform), medshim_sim_double_attempts(platform));
    printf("refunds due to patients: %s yuan\n", due);
    printf("needs a person: %zu rejected (see `medshim list --state rejected`), "
           "%zu still in doubt\n", last->rejected, last->in_doubt);
    printf("manual reimbursement at the agency (in-patients): %zu claims "
           "(`medshim export --manual`)\n", last->manual);
    printf("still pending: %zu\n", last->pending);
  }
  if (write_html(html, days) != 0) {
    medshim_sim_close(platform);
    medshim_journal_close(j);
    medshim_schedule_set_free(set);
    return 1;
  }
  printf("HTML report: %s\n", html);
  medshim_sim_close(platform);
  medshim_journal_close(j);
  medshim_schedule_set_free(set);
  return 0;
}
