/* The flat interface (flat.h): schedule sets and decisions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors_internal.h"
#include "flat_internal.h"
#include "medshim/schedule.h"
#include "medshim/text.h"
#include "timeutil_internal.h"

static int set_error(int rc, const medshim_error *err) {
  return medshim__flat_fail(rc, err->where, 0, "%s",
                            err->text[0] ? err->text : medshim_strerror(rc));
}

static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t n = 0, cap = 0;
  if (f == NULL)
    return NULL;
  for (;;) {
    if (cap - n < 4096) {
      char *b = realloc(buf, cap + 65536);
      if (b == NULL) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = b;
      cap += 65536;
    }
    size_t r = fread(buf + n, 1, cap - n - 1, f);
    n += r;
    if (r == 0)
      break;
  }
  fclose(f);
  buf[n] = '\0';
  return buf;
}

int MEDSHIM_FLATCALL medshim_flat_schedules_load(const char *path,
                                                 const char *options_json,
                                                 int32_t *handle) {
  medshim_schedule_options so = MEDSHIM_SCHEDULE_OPTIONS_INIT;
  medshim_schedule_set *set = NULL;
  medshim_error err;
  char *pem = NULL, *upath;
  json_t *o, *v;
  int rc;
  medshim__flat_ok();
  memset(&err, 0, sizeof err);
  if (handle == NULL || path == NULL)
    return medshim__flat_fail(MEDSHIM_EINVAL, handle ? "path" : "handle", 0,
                              "must not be NULL");
  *handle = 0;
  if ((o = medshim__flat_open_options(options_json, "options")) == NULL)
    return medshim__flat_code();
  if ((v = json_object_get(o, "public_key_file")) != NULL) {
    if (!json_is_string(v)) {
      json_decref(o);
      return medshim__flat_fail(MEDSHIM_EINVAL, "public_key_file", 0, "must be a path");
    }
    if ((pem = read_text(json_string_value(v))) == NULL) {
      json_decref(o);
      return medshim__flat_fail(MEDSHIM_EIO, "public_key_file", 0, "cannot be read");
    }
    so.public_key_pem = pem;
  }
  so.require_signed = json_is_true(json_object_get(o, "require_signed"));
  if (json_is_integer(v = json_object_get(o, "breaker_threshold")))
    so.breaker_threshold = (uint32_t)json_integer_value(v);
  if (json_is_integer(v = json_object_get(o, "breaker_open_seconds")))
    so.breaker_open_seconds = (uint32_t)json_integer_value(v);
  json_decref(o);
  rc = medshim_schedule_set_new(&set, &so, &err);
  free(pem);
  if (rc != MEDSHIM_OK)
    return set_error(rc, &err);
  if ((upath = medshim__flat_in(path, "path")) == NULL) {
    medshim_schedule_set_free(set);
    return medshim__flat_code();
  }
  rc = medshim_schedule_set_load_file(set, upath, &err);
  free(upath);
  if (rc != MEDSHIM_OK) {
    medshim_schedule_set_free(set);
    return set_error(rc, &err);
  }
  if ((*handle = medshim__flat_put(FLAT_SCHEDULES, set)) == 0) {
    medshim_schedule_set_free(set);
    return medshim__flat_fail(MEDSHIM_ENOMEM, NULL, 0, "out of memory");
  }
  return MEDSHIM_OK;
}

int MEDSHIM_FLATCALL medshim_flat_schedules_add(int32_t handle, const char *path,
                                                char *out, size_t cap,
                                                size_t *needed) {
  medshim_schedule_set *set;
  medshim_error err;
  json_t *doc, *notices;
  char *upath;
  int rc;
  medshim__flat_ok();
  memset(&err, 0, sizeof err);
  if ((set = medshim__flat_get(FLAT_SCHEDULES, handle)) == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  if (path == NULL)
    return medshim__flat_fail(MEDSHIM_EINVAL, "path", 0, "must not be NULL");
  if ((upath = medshim__flat_in(path, "path")) == NULL)
    return medshim__flat_code();
  rc = medshim_schedule_set_load_file(set, upath, &err);
  free(upath);
  if (rc != MEDSHIM_OK)
    return set_error(rc, &err);
  doc = json_object();
  notices = json_array();
  for (size_t i = 0; i < medshim_schedule_set_notice_count(set); i++)
    json_array_append_new(notices, json_string(medshim_schedule_set_notice(set, i)));
  json_object_set_new(doc, "schedules",
                      json_integer((json_int_t)medshim_schedule_set_count(set)));
  json_object_set_new(doc, "notices", notices);
  return medshim__flat_output(doc, MEDSHIM_OK, out, cap, needed);
}

int MEDSHIM_FLATCALL medshim_flat_schedules_free(int32_t handle) {
  medshim_schedule_set *set;
  medshim__flat_ok();
  if ((set = medshim__flat_take(FLAT_SCHEDULES, handle)) == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  medshim_schedule_set_free(set);
  return MEDSHIM_OK;
}

/* The decision's text for a reader, or "" when it cannot be made. */
static json_t *text_json(const medshim_decision *d, int service,
                         medshim_text_kind kind, medshim_lang lang) {
  char *t = NULL;
  json_t *j;
  if (medshim_decision_text(&t, d, service, kind, lang) != MEDSHIM_OK)
    return json_string("");
  j = json_string(t);
  medshim_free(t);
  return j;
}

static int is_region(const char *s) {
  if (s == NULL || strlen(s) != 6)
    return 0;
  for (int i = 0; i < 6; i++)
    if (s[i] < '0' || s[i] > '9')
      return 0;
  return 1;
}

int MEDSHIM_FLATCALL medshim_flat_decide(int32_t handle, const char *visit_json,
                                         char *out, size_t cap, size_t *needed) {
  const medshim_schedule_set *set;
  medshim_decision d;
  medshim_claim_window cw;
  medshim_lang lang = MEDSHIM_LANG_EN;
  const char *insured, *treated, *sname, *lname;
  int service, rc;
  int64_t at;
  json_t *in, *doc, *v;
  medshim__flat_ok();
  if ((set = medshim__flat_get(FLAT_SCHEDULES, handle)) == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  if (visit_json == NULL)
    return medshim__flat_fail(MEDSHIM_EINVAL, "visit", 0, "must not be NULL");
  if ((in = medshim__flat_options(visit_json, "visit")) == NULL)
    return medshim__flat_code();
  sname = json_string_value(json_object_get(in, "service"));
  insured = json_string_value(json_object_get(in, "insured_admdvs"));
  v = json_object_get(in, "treated_admdvs");
  treated = json_string_value(v);
  lname = json_string_value(json_object_get(in, "lang"));
  if (json_object_get(in, "lang") != NULL &&
      (lname == NULL || medshim_lang_parse(&lang, lname) != MEDSHIM_OK))
    rc = medshim__flat_fail(MEDSHIM_EINVAL, "lang", 0, "must be \"en\" or \"zh\"");
  else if (sname == NULL || medshim_sched_service_parse(&service, sname) != MEDSHIM_OK)
    rc = medshim__flat_fail(MEDSHIM_EINVAL, "service", 0, "unknown or missing service");
  else if (!is_region(insured))
    rc = medshim__flat_fail(MEDSHIM_EINVAL, "insured_admdvs", 0, "must be 6 digits");
  else if (v != NULL && !json_is_null(v) && !is_region(treated))
    rc = medshim__flat_fail(MEDSHIM_EINVAL, "treated_admdvs", 0, "must be 6 digits");
  else if ((v = json_object_get(in, "at")) == NULL)
    rc = medshim__flat_fail(MEDSHIM_EINVAL, "at", 0, "missing");
  else
    rc = medshim__flat_time(&at, v, "at");
  if (rc == MEDSHIM_OK) {
    memset(&d, 0, sizeof d);
    d.version = MEDSHIM_DECISION_VERSION;
    rc = medshim_schedule_decide(&d, set, service, insured, treated, at);
    if (rc != MEDSHIM_OK)
      rc = medshim__flat_fail(rc, "service", 0, "not decidable for this visit");
  }
  json_decref(in);
  if (rc != MEDSHIM_OK)
    return rc;

  doc = json_object();
  json_object_set_new(doc, "decision", json_string(medshim_verdict_name(d.decision)));
  json_object_set_new(doc, "reason", json_string(d.reason ? d.reason : ""));
  json_object_set_new(doc, "reason_code", json_string(medshim_reason_name((int)d.code)));
  if (d.until != 0)
    medshim__flat_set_time(doc, "until", d.until);
  if (d.has_window) {
    json_t *w = json_object();
    json_object_set_new(w, "schedule", json_string(d.window.schedule_id));
    json_object_set_new(w, "version", json_integer(d.window.version));
    medshim__flat_set_time(w, "from", d.window.from);
    if (d.window.until != 0)
      medshim__flat_set_time(w, "until", d.window.until);
    json_object_set_new(doc, "window", w);
  }
  json_t *adv = json_array();
  for (size_t i = 0; i < d.advice_count && i < MEDSHIM_ADVICE_MAX; i++) {
    json_t *a = json_object();
    json_object_set_new(a, "kind", json_string(medshim_advice_kind_name(d.advice[i].kind)));
    medshim__flat_set_time(a, "at", d.advice[i].at);
    json_object_set_new(a, "text", json_string(d.advice[i].text ? d.advice[i].text : ""));
    json_array_append_new(adv, a);
  }
  json_object_set_new(doc, "advice", adv);
  if (d.has_replay) {
    json_t *r = json_object();
    json_object_set_new(r, "route", json_string(medshim_route_name(d.replay.route)));
    medshim__flat_set_time(r, "from", d.replay.from);
    if (d.replay.until != 0)
      medshim__flat_set_time(r, "until", d.replay.until);
    json_object_set_new(doc, "replay", r);
  }
  if (medshim_decision_window(&cw, &d) == MEDSHIM_OK &&
      cw.route != MEDSHIM_CLAIM_ROUTE_NONE) {
    /* In the shape a claim's "window" member is read in. */
    char t[MEDSHIM_TIME_TEXT];
    json_t *w = json_object();
    json_object_set_new(w, "route", json_string(medshim_route_name((medshim_route)cw.route)));
    medshim__time_format(t, cw.from);
    json_object_set_new(w, "from", json_string(t));
    if (cw.until != 0) {
      medshim__time_format(t, cw.until);
      json_object_set_new(w, "until", json_string(t));
    }
    if (cw.schedule_id[0] != '\0') {
      json_object_set_new(w, "schedule", json_string(cw.schedule_id));
      json_object_set_new(w, "version", json_integer(cw.schedule_version));
    }
    json_object_set_new(doc, "claim_window", w);
  }
  json_object_set_new(doc, "cashier_text",
                      text_json(&d, service, MEDSHIM_TEXT_CASHIER, lang));
  json_object_set_new(doc, "receipt_text",
                      text_json(&d, service, MEDSHIM_TEXT_RECEIPT, lang));
  return medshim__flat_output(doc, MEDSHIM_OK, out, cap, needed);
}

int MEDSHIM_FLATCALL medshim_flat_report_outcome(int32_t handle,
                                                 const char *outcome_json) {
  medshim_schedule_set *set;
  const char *region;
  json_t *in, *ok, *v;
  int64_t at = 0;
  int rc = MEDSHIM_OK;
  medshim__flat_ok();
  if ((set = medshim__flat_get(FLAT_SCHEDULES, handle)) == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  if (outcome_json == NULL)
    return medshim__flat_fail(MEDSHIM_EINVAL, "outcome", 0, "must not be NULL");
  if ((in = medshim__flat_options(outcome_json, "outcome")) == NULL)
    return medshim__flat_code();
  region = json_string_value(json_object_get(in, "region"));
  ok = json_object_get(in, "ok");
  if (!is_region(region))
    rc = medshim__flat_fail(MEDSHIM_EINVAL, "region", 0, "must be 6 digits");
  else if (!json_is_boolean(ok))
    rc = medshim__flat_fail(MEDSHIM_EINVAL, "ok", 0, "must be true or false");
  else if ((v = json_object_get(in, "at")) == NULL)
    rc = medshim__flat_fail(MEDSHIM_EINVAL, "at", 0, "missing");
  else
    rc = medshim__flat_time(&at, v, "at");
  if (rc == MEDSHIM_OK &&
      (rc = medshim_schedule_report_outcome(set, region, json_is_true(ok), at)) != MEDSHIM_OK)
    medshim__flat_fail(rc, "region", 0, "%s", medshim_strerror(rc));
  json_decref(in);
  return rc;
}
