/* The re-settlement window journaled with a claim: what the cashier was
 * told at defer, so that replay never recomputes it from whatever
 * schedules it happens to be given. */
#include <string.h>

#include <jansson.h>

#include "claim_internal.h"
#include "errors_internal.h"
#include "timeutil_internal.h"

static const char *const route_names[] = {"none", "hospital", "agency"};

int medshim__claim_window_check(const medshim_claim_window *w,
                                const char **why) {
  size_t n;
  *why = NULL;
  if (w->version != MEDSHIM_CLAIM_WINDOW_VERSION)
    *why = "unknown window version";
  else if (w->route < MEDSHIM_CLAIM_ROUTE_NONE ||
           w->route > MEDSHIM_CLAIM_ROUTE_AGENCY)
    *why = "route must be none, hospital or agency";
  else if (w->until != 0 && w->until <= w->from)
    *why = "until must be after from";
  else if ((n = strnlen(w->schedule_id, MEDSHIM_SCHEDULE_ID_MAX + 1)) >
           MEDSHIM_SCHEDULE_ID_MAX)
    *why = "schedule id longer than 64 bytes";
  else
    for (size_t i = 0; i < n; i++)
      if ((unsigned char)w->schedule_id[i] < 0x21 ||
          (unsigned char)w->schedule_id[i] > 0x7e) {
        *why = "schedule id must be printable ASCII without spaces";
        break;
      }
  return *why == NULL ? MEDSHIM_OK : MEDSHIM_EINVAL;
}

int medshim_claim_set_window(medshim_claim *c, const medshim_claim_window *w) {
  const char *why;
  if (c == NULL || w == NULL || medshim__claim_window_check(w, &why) != 0)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  c->window = *w;
  c->has_window = 1;
  return MEDSHIM_OK;
}

int medshim_claim_window_get(medshim_claim_window *out, const medshim_claim *c) {
  if (out == NULL || c == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  if (!c->has_window)
    return MEDSHIM__FAIL(MEDSHIM_ENOTFOUND);
  *out = c->window;
  return MEDSHIM_OK;
}

static int time_member(int64_t *out, json_t *o, const char *key, int required,
                       const char *where, medshim_error *err) {
  json_t *v = json_object_get(o, key);
  const char *s = json_string_value(v);
  *out = 0;
  if (v == NULL && !required)
    return MEDSHIM_OK;
  if (s == NULL || medshim__time_parse(out, s, strlen(s)) != 0)
    return medshim__error_set(err, MEDSHIM_EINVAL, where,
                              "must be an ISO 8601 time such as "
                              "2022-03-15T00:00:00+08:00");
  return MEDSHIM_OK;
}

int medshim__claim_window_from_json(medshim_claim *c, json_t *v,
                                    medshim_error *err) {
  medshim_claim_window w;
  const char *key, *route, *sid, *why;
  json_t *m, *ver;
  int rc;
  if (v == NULL || json_is_null(v))
    return MEDSHIM_OK;
  if (!json_is_object(v))
    return medshim__error_set(err, MEDSHIM_EINVAL, "window", "must be an object");
  json_object_foreach(v, key, m) {
    if (strcmp(key, "route") && strcmp(key, "from") && strcmp(key, "until") &&
        strcmp(key, "schedule") && strcmp(key, "version"))
      return medshim__error_set(err, MEDSHIM_EINVAL, "window",
                                "unknown field \"%.40s\"", key);
  }
  memset(&w, 0, sizeof w);
  w.version = MEDSHIM_CLAIM_WINDOW_VERSION;
  route = json_string_value(json_object_get(v, "route"));
  w.route = -1;
  for (int i = 0; route != NULL && i < 3; i++)
    if (strcmp(route, route_names[i]) == 0)
      w.route = i;
  if (w.route < 0)
    return medshim__error_set(err, MEDSHIM_EINVAL, "window.route",
                              "must be none, hospital or agency");
  if ((rc = time_member(&w.from, v, "from", w.route != 0, "window.from", err)) ||
      (rc = time_member(&w.until, v, "until", 0, "window.until", err)))
    return rc;
  sid = json_string_value(json_object_get(v, "schedule"));
  if (json_object_get(v, "schedule") != NULL && sid == NULL)
    return medshim__error_set(err, MEDSHIM_EINVAL, "window.schedule",
                              "must be a string");
  if (sid != NULL) {
    if (strlen(sid) > MEDSHIM_SCHEDULE_ID_MAX)
      return medshim__error_set(err, MEDSHIM_EINVAL, "window.schedule",
                                "longer than 64 bytes");
    memcpy(w.schedule_id, sid, strlen(sid) + 1);
  }
  ver = json_object_get(v, "version");
  if (ver != NULL) {
    if (!json_is_integer(ver) || json_integer_value(ver) < 0 ||
        json_integer_value(ver) > UINT32_MAX)
      return medshim__error_set(err, MEDSHIM_EINVAL, "window.version",
                                "must be a non-negative integer");
    w.schedule_version = (uint32_t)json_integer_value(ver);
  }
  if (medshim__claim_window_check(&w, &why) != MEDSHIM_OK)
    return medshim__error_set(err, MEDSHIM_EINVAL, "window", "%s", why);
  c->window = w;
  c->has_window = 1;
  return MEDSHIM_OK;
}

int medshim__claim_window_to_json(json_t *obj, const medshim_claim *c) {
  char t[MEDSHIM_TIME_TEXT];
  json_t *w;
  if (!c->has_window)
    return 0;
  w = json_object();
  if (w == NULL ||
      json_object_set_new(w, "route", json_string(route_names[c->window.route])))
    goto fail;
  if (c->window.route != MEDSHIM_CLAIM_ROUTE_NONE || c->window.from != 0) {
    medshim__time_format(t, c->window.from);
    if (json_object_set_new(w, "from", json_string(t)))
      goto fail;
  }
  if (c->window.until != 0) {
    medshim__time_format(t, c->window.until);
    if (json_object_set_new(w, "until", json_string(t)))
      goto fail;
  }
  if (c->window.schedule_id[0] != '\0' &&
      (json_object_set_new(w, "schedule", json_string(c->window.schedule_id)) ||
       json_object_set_new(w, "version",
                           json_integer(c->window.schedule_version))))
    goto fail;
  return json_object_set_new(obj, "window", w);
fail:
  json_decref(w);
  return -1;
}
