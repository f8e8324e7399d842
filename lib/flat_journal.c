/* The flat interface (flat.h): journals, defer, list, report, verify. */
#include <stdlib.h>
#include <string.h>

#include "errors_internal.h"
#include "flat_internal.h"
#include "memory_internal.h"
#include "medshim/journal.h"
#include "medshim/report.h"
#include "medshim/text.h"
#include "medshim/schedule.h"

static int error_from(int rc, const medshim_error *err, long line) {
  return medshim__flat_fail(rc, err->where, line, "%s",
                            err->text[0] ? err->text : medshim_strerror(rc));
}

static int journal_error(int rc, medshim_journal *j) {
  const char *m = medshim_journal_errmsg(j);
  return medshim__flat_fail(rc, NULL, 0, "%s", m && m[0] ? m : medshim_strerror(rc));
}

/* Journal options from JSON; key_file points into @p o. */
static int journal_options(medshim_journal_options *jo, json_t *o, int for_verify) {
  const char *mode;
  json_t *v;
  medshim_journal_options_init(jo, MEDSHIM_JOURNAL_OPTIONS_VERSION);
  if ((jo->key_file = json_string_value(json_object_get(o, "key_file"))) == NULL)
    return medshim__flat_fail(MEDSHIM_EINVAL, "key_file", 0, "missing: the path of the key file");
  if (for_verify)
    return MEDSHIM_OK;
  if (json_is_true(json_object_get(o, "create")))
    jo->flags |= MEDSHIM_JOURNAL_CREATE;
  v = json_object_get(o, "mode");
  mode = v ? json_string_value(v) : "write";
  if (mode == NULL)
    mode = "";
  if (strcmp(mode, "replay") == 0)
    jo->flags |= MEDSHIM_JOURNAL_REPLAY;
  else if (strcmp(mode, "readonly") == 0)
    jo->flags |= MEDSHIM_JOURNAL_READONLY;
  else if (strcmp(mode, "salvage") == 0)
    jo->flags |= MEDSHIM_JOURNAL_SALVAGE;
  else if (strcmp(mode, "write") != 0)
    return medshim__flat_fail(MEDSHIM_EINVAL, "mode", 0,
                              "must be write, replay, readonly or salvage");
  if (json_is_integer(v = json_object_get(o, "segment_max_bytes")))
    jo->segment_max_bytes = (uint64_t)json_integer_value(v);
  if ((v = json_object_get(o, "suite")) != NULL) {
    const char *name = json_string_value(v);
    unsigned s = 0;
    while (name != NULL && medshim_journal_suite_name(s) != NULL &&
           strcmp(name, medshim_journal_suite_name(s)) != 0)
      s++;
    if (name == NULL || medshim_journal_suite_name(s) == NULL)
      return medshim__flat_fail(MEDSHIM_EINVAL, "suite", 0,
                                "must be default or sm");
    jo->suite = s;
  }
  return MEDSHIM_OK;
}

int MEDSHIM_FLATCALL medshim_flat_journal_open(const char *dir,
                                               const char *options_json,
                                               int32_t *handle) {
  medshim_journal_options jo;
  medshim_journal *j = NULL;
  medshim_error err;
  json_t *o;
  char *udir;
  int rc;
  medshim__flat_ok();
  memset(&err, 0, sizeof err);
  if (handle == NULL || dir == NULL)
    return medshim__flat_fail(MEDSHIM_EINVAL, handle ? "dir" : "handle", 0,
                              "must not be NULL");
  *handle = 0;
  if ((o = medshim__flat_open_options(options_json, "options")) == NULL)
    return medshim__flat_code();
  if ((udir = medshim__flat_in(dir, "dir")) == NULL) {
    json_decref(o);
    return medshim__flat_code();
  }
  if ((rc = journal_options(&jo, o, 0)) == MEDSHIM_OK &&
      (rc = medshim_journal_open(&j, udir, &jo, &err)) != MEDSHIM_OK)
    error_from(rc, &err, 0);
  json_decref(o);
  free(udir);
  if (rc != MEDSHIM_OK)
    return rc;
  if ((*handle = medshim__flat_put(FLAT_JOURNAL, j)) == 0) {
    medshim_journal_close(j);
    return medshim__flat_fail(MEDSHIM_ENOMEM, NULL, 0, "out of memory");
  }
  return MEDSHIM_OK;
}

int MEDSHIM_FLATCALL medshim_flat_key_generate(const char *path) {
  medshim_error err;
  int rc;
  medshim__flat_ok();
  memset(&err, 0, sizeof err);
  if ((rc = medshim_key_generate(path, &err)) != MEDSHIM_OK)
    return error_from(rc, &err, 0);
  return MEDSHIM_OK;
}

int MEDSHIM_FLATCALL medshim_flat_journal_close(int32_t handle) {
  medshim_journal *j;
  int rc;
  medshim__flat_ok();
  if ((j = medshim__flat_take(FLAT_JOURNAL, handle)) == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  if ((rc = medshim_journal_close(j)) != MEDSHIM_OK)
    return medshim__flat_fail(rc, NULL, 0, "%s", medshim_strerror(rc));
  return MEDSHIM_OK;
}

typedef struct parsed {
  medshim_claim **claims;
  long *lines;
  size_t n, cap;
} parsed;

static void parsed_free(parsed *p) {
  for (size_t i = 0; i < p->n; i++)
    medshim_claim_free(p->claims[i]);
  free(p->claims);
  free(p->lines);
}

/* Parse every non-blank line; the first bad one fails with its number. */
static int parse_lines(parsed *p, const char *text) {
  long line = 0;
  const char *s = text;
  while (*s != '\0') {
    const char *e = strchr(s, '\n');
    size_t len = e ? (size_t)(e - s) : strlen(s);
    medshim_claim *c = NULL;
    medshim_error err;
    size_t k;
    int rc;
    line++;
    for (k = 0; k < len && (s[k] == ' ' || s[k] == '\t' || s[k] == '\r'); k++)
      ;
    if (k < len) {
      memset(&err, 0, sizeof err);
      if ((rc = medshim_claim_parse_json(&c, s, len, &err)) != MEDSHIM_OK)
        return error_from(rc, &err, line);
      if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 8;
        medshim_claim **cl = realloc(p->claims, cap * sizeof *cl);
        if (cl != NULL)
          p->claims = cl;
        long *ln = cl ? realloc(p->lines, cap * sizeof *ln) : NULL;
        if (ln == NULL) {
          medshim_claim_free(c);
          return medshim__flat_fail(MEDSHIM_ENOMEM, NULL, line, "out of memory");
        }
        p->lines = ln;
        p->cap = cap;
      }
      p->claims[p->n] = c;
      p->lines[p->n++] = line;
    }
    s += len + (e != NULL);
  }
  if (p->n == 0)
    return medshim__flat_fail(MEDSHIM_EINVAL, "claims", 0, "no claim given");
  return MEDSHIM_OK;
}

int MEDSHIM_FLATCALL medshim_flat_defer(int32_t handle, const char *claims_jsonl,
                                        char *out, size_t cap, size_t *needed) {
  medshim_journal *j;
  parsed p = {NULL, NULL, 0, 0};
  char *text = NULL;
  int *results = NULL;
  int rc;
  size_t stored = 0, dup = 0, conflicts = 0;
  json_t *doc, *arr;
  medshim__flat_ok();
  if ((j = medshim__flat_get(FLAT_JOURNAL, handle)) == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  if (claims_jsonl == NULL)
    return medshim__flat_fail(MEDSHIM_EINVAL, "claims", 0, "must not be NULL");
  if ((text = medshim__flat_in(claims_jsonl, "claims")) == NULL)
    return medshim__flat_code();
  if ((rc = parse_lines(&p, text)) != MEDSHIM_OK)
    goto done;
  if ((results = calloc(p.n, sizeof *results)) == NULL) {
    rc = medshim__flat_fail(MEDSHIM_ENOMEM, NULL, 0, "out of memory");
    goto done;
  }
  rc = medshim_journal_defer_batch(j, (const medshim_claim *const *)p.claims, p.n,
                                   results);
  if (rc != MEDSHIM_OK) {
    journal_error(rc, j);
    goto done;
  }
  doc = json_object();
  arr = json_array();
  for (size_t i = 0; i < p.n; i++) {
    const char *vid = medshim_claim_visit_id(p.claims[i]);
    const char *what = results[i] == MEDSHIM_DEFER_STORED      ? "stored"
                       : results[i] == MEDSHIM_DEFER_DUPLICATE ? "duplicate"
                                                               : "conflict";
    json_t *r = json_pack("{s:I, s:s, s:s}", "line", (json_int_t)p.lines[i],
                          "visit_id", vid, "result", what);
    if (results[i] == MEDSHIM_DEFER_STORED || results[i] == MEDSHIM_DEFER_DUPLICATE) {
      char receipt[MEDSHIM_RECEIPT_LEN_MAX + 1];
      if (medshim_journal_receipt(receipt, j, vid) == MEDSHIM_OK)
        json_object_set_new(r, "receipt", json_string(receipt));
    }
    if (results[i] == MEDSHIM_DEFER_STORED)
      stored++;
    else if (results[i] == MEDSHIM_DEFER_DUPLICATE)
      dup++;
    else
      conflicts++;
    json_array_append_new(arr, r);
  }
  json_object_set_new(doc, "results", arr);
  json_object_set_new(doc, "stored", json_integer((json_int_t)stored));
  json_object_set_new(doc, "duplicates", json_integer((json_int_t)dup));
  json_object_set_new(doc, "conflicts", json_integer((json_int_t)conflicts));
  rc = medshim__flat_output(doc, MEDSHIM_OK, out, cap, needed);
done:
  free(results);
  parsed_free(&p);
  if (text != NULL) { /* claims with personal data */
    medshim__wipe(text, strlen(text));
    free(text);
  }
  return rc;
}

/* A claim and its status, without personal data. */
static json_t *claim_row(const medshim_claim *c, const medshim_claim_status *st) {
  const char *svc = medshim_service_name(medshim_claim_service(c));
  json_t *r = json_object();
  json_object_set_new(r, "visit_id", json_string(medshim_claim_visit_id(c)));
  json_object_set_new(r, "service", json_string(svc ? svc : ""));
  json_object_set_new(r, "insured_admdvs", json_string(medshim_claim_insured_admdvs(c)));
  json_object_set_new(r, "treated_admdvs", json_string(medshim_claim_treated_admdvs(c)));
  medshim__flat_set_time(r, "visit_time", medshim_claim_visit_time(c));
  json_object_set_new(r, "total_fen", json_integer(medshim_claim_total_fen(c)));
  json_object_set_new(r, "self_paid_fen", json_integer(medshim_claim_self_paid_fen(c)));
  json_object_set_new(r, "state", json_string(medshim_state_name(st->state)));
  json_object_set_new(r, "attempts", json_integer(st->attempts));
  medshim__flat_set_time(r, "changed_at", st->changed_at);
  if (st->state == MEDSHIM_STATE_SETTLED) {
    json_object_set_new(r, "settlement_id", json_string(st->settlement_id));
    json_object_set_new(r, "fund_paid_fen", json_integer(st->fund_paid_fen));
    json_object_set_new(r, "acct_paid_fen", json_integer(st->acct_paid_fen));
    json_object_set_new(r, "patient_paid_fen", json_integer(st->patient_paid_fen));
    json_object_set_new(r, "refund_fen", json_integer(st->refund_fen));
  }
  if (st->code[0] != '\0')
    json_object_set_new(r, "code", json_string(st->code));
  if (st->message[0] != '\0')
    json_object_set_new(r, "message", json_string(st->message));
  return r;
}

static int list_visit(const medshim_claim *c, const medshim_claim_status *st,
                      void *payload) {
  return json_array_append_new(payload, claim_row(c, st)) != 0;
}

int MEDSHIM_FLATCALL medshim_flat_list(int32_t handle, char *out, size_t cap,
                                       size_t *needed) {
  medshim_journal *j;
  json_t *arr;
  int rc;
  medshim__flat_ok();
  if ((j = medshim__flat_get(FLAT_JOURNAL, handle)) == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  arr = json_array();
  if ((rc = medshim_journal_foreach(j, list_visit, arr)) != MEDSHIM_OK) {
    json_decref(arr);
    return rc == MEDSHIM_EUSER ? medshim__flat_fail(MEDSHIM_ENOMEM, NULL, 0, "out of memory")
                               : journal_error(rc, j);
  }
  return medshim__flat_output(
      json_pack("{s:I, s:o}", "count", (json_int_t)json_array_size(arr), "claims", arr),
      MEDSHIM_OK, out, cap, needed);
}

typedef struct report {
  size_t claims, by_state[16], due_count, negative;
  int64_t due_fen;
  json_t *refunds;
} report;

static int report_visit(const medshim_claim *c, const medshim_claim_status *st,
                        void *payload) {
  report *r = payload;
  r->claims++;
  if ((unsigned)st->state < 16)
    r->by_state[st->state]++;
  if (st->state != MEDSHIM_STATE_SETTLED)
    return 0;
  if (st->refund_fen > 0) {
    r->due_fen += st->refund_fen;
    r->due_count++;
  } else if (st->refund_fen < 0)
    r->negative++;
  return json_array_append_new(
             r->refunds,
             json_pack("{s:s, s:s, s:I, s:I, s:I, s:b}", "visit_id",
                       medshim_claim_visit_id(c), "settlement_id", st->settlement_id,
                       "self_paid_fen", (json_int_t)medshim_claim_self_paid_fen(c),
                       "patient_paid_fen", (json_int_t)st->patient_paid_fen,
                       "refund_fen", (json_int_t)st->refund_fen, "patient_owes",
                       st->refund_fen < 0)) != 0;
}

int MEDSHIM_FLATCALL medshim_flat_report(int32_t handle, char *out, size_t cap,
                                         size_t *needed) {
  medshim_journal *j;
  report r;
  json_t *doc, *states;
  int rc;
  medshim__flat_ok();
  if ((j = medshim__flat_get(FLAT_JOURNAL, handle)) == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  memset(&r, 0, sizeof r);
  r.refunds = json_array();
  if ((rc = medshim_journal_foreach(j, report_visit, &r)) != MEDSHIM_OK) {
    json_decref(r.refunds);
    return rc == MEDSHIM_EUSER ? medshim__flat_fail(MEDSHIM_ENOMEM, NULL, 0, "out of memory")
                               : journal_error(rc, j);
  }
  states = json_object();
  for (int s = MEDSHIM_STATE_PENDING; s <= MEDSHIM_STATE_VOIDED; s++)
    json_object_set_new(states, medshim_state_name((medshim_claim_state)s),
                        json_integer((json_int_t)r.by_state[s]));
  doc = json_pack("{s:I, s:o, s:I, s:I, s:I, s:o}", "claims", (json_int_t)r.claims,
                  "by_state", states, "refunds_due_fen", (json_int_t)r.due_fen,
                  "refunds_due_count", (json_int_t)r.due_count, "negative_refunds",
                  (json_int_t)r.negative, "refunds", r.refunds);
  return medshim__flat_output(doc, MEDSHIM_OK, out, cap, needed);
}

/* ---- export for the agency ------------------------------------------- */

typedef struct export_ctx {
  json_t *claims;
  unsigned flags; /* MEDSHIM_CLAIM_JSON_REVEAL */
} export_ctx;

/* A row of medshim_manual_export() (report.c, which picks the claims and
 * their materials and deadline) as the claim's JSON plus those. */
static int export_row(const medshim_manual_row *row, void *payload) {
  export_ctx *x = payload;
  char *text = NULL, day[MEDSHIM_DAY_TEXT];
  json_t *o;
  if (medshim_claim_to_json(&text, row->claim, x->flags) != MEDSHIM_OK)
    return 1;
  o = json_loads(text, 0, NULL);
  medshim__wipe(text, strlen(text)); /* revealed personal data, maybe */
  free(text);
  if (o == NULL)
    return 1;
  json_object_set_new(o, "state", json_string(medshim_state_name(row->status->state)));
  json_object_set_new(o, "materials", json_string(row->materials));
  if (row->until != 0 && medshim_format_last_day(day, row->until) == MEDSHIM_OK) {
    json_object_set_new(o, "deadline_last_day", json_string(day));
    medshim__flat_set_time(o, "deadline_until_exclusive", row->until);
  }
  return json_array_append_new(x->claims, o) != 0;
}

int MEDSHIM_FLATCALL medshim_flat_export(int32_t handle, const char *options_json,
                                         char *out, size_t cap, size_t *needed) {
  medshim_manual_options mo = MEDSHIM_MANUAL_OPTIONS_INIT;
  medshim_journal *j;
  export_ctx x;
  json_t *o;
  const char *lang;
  int rc;
  medshim__flat_ok();
  if ((j = medshim__flat_get(FLAT_JOURNAL, handle)) == NULL)
    return MEDSHIM_EINVAL;
  if ((o = medshim__flat_options(options_json, "options")) == NULL)
    return medshim__flat_code();
  x.flags = 0;
  if (json_is_true(json_object_get(o, "reveal"))) {
    x.flags = MEDSHIM_CLAIM_JSON_REVEAL;
    mo.flags = MEDSHIM_MANUAL_REVEAL;
  }
  lang = json_string_value(json_object_get(o, "lang"));
  if (lang != NULL && medshim_lang_parse(&mo.lang, lang) != MEDSHIM_OK) {
    json_decref(o);
    return medshim__flat_fail(MEDSHIM_EINVAL, "lang", 0, "must be en or zh");
  }
  json_decref(o);
  x.claims = json_array();
  if ((rc = medshim_manual_export(j, &mo, export_row, &x)) != MEDSHIM_OK) {
    json_decref(x.claims);
    return rc == MEDSHIM_EUSER ? medshim__flat_fail(MEDSHIM_ENOMEM, NULL, 0, "out of memory")
                               : journal_error(rc, j);
  }
  return medshim__flat_output(json_pack("{s:I, s:o}", "count",
                                        (json_int_t)json_array_size(x.claims),
                                        "claims", x.claims),
                              MEDSHIM_OK, out, cap, needed);
}

int MEDSHIM_FLATCALL medshim_flat_verify(const char *dir, const char *options_json,
                                         char *out, size_t cap, size_t *needed) {
  medshim_journal_options jo;
  medshim_verify_report rep;
  json_t *o, *doc;
  char *udir;
  int rc;
  medshim__flat_ok();
  if (dir == NULL)
    return medshim__flat_fail(MEDSHIM_EINVAL, "dir", 0, "must not be NULL");
  if ((o = medshim__flat_open_options(options_json, "options")) == NULL)
    return medshim__flat_code();
  if ((rc = journal_options(&jo, o, 1)) != MEDSHIM_OK ||
      (udir = medshim__flat_in(dir, "dir")) == NULL) {
    json_decref(o);
    return rc != MEDSHIM_OK ? rc : medshim__flat_code();
  }
  memset(&rep, 0, sizeof rep);
  rep.version = MEDSHIM_VERIFY_REPORT_VERSION;
  rc = medshim_journal_verify(udir, &jo, &rep);
  free(udir);
  json_decref(o);
  if (rc != MEDSHIM_OK && rc != MEDSHIM_ECORRUPT)
    return medshim__flat_fail(rc, "dir", 0, "%s", rep.text[0] ? rep.text : medshim_strerror(rc));
  doc = json_pack("{s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:s}", "intact",
                  rc == MEDSHIM_OK, "damage", medshim_damage_name(rep.damage),
                  "segments", (json_int_t)rep.segments, "records",
                  (json_int_t)rep.records, "claims", (json_int_t)rep.claims,
                  "segment", (json_int_t)rep.segment, "seq", (json_int_t)rep.seq,
                  "offset", (json_int_t)rep.offset, "text", rep.text);
  if (rc == MEDSHIM_ECORRUPT)
    medshim__flat_fail(rc, NULL, 0, "%s", rep.text);
  return medshim__flat_output(doc, rc, out, cap, needed);
}
