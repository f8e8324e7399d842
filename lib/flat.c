/* The flat interface's plumbing: integer handles, per-thread last error and
 * last result, output buffers, version. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors_internal.h"
#include "flat_internal.h"
#include "gbk_internal.h"
#include "medshim/version.h"
#include "timeutil_internal.h"

typedef struct slot {
  int32_t handle; /* 0: free */
  flat_kind kind;
  void *obj;
  int gbk; /* opened with "encoding":"gbk" */
} slot;

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static slot *table;
static size_t table_n, table_cap;
static int32_t next_handle = 1;

/* Per thread. The result text is replaced by each call that has one. */
static _Thread_local int last_code;
static _Thread_local long last_line;
static _Thread_local char last_where[MEDSHIM_ERROR_WHERE_MAX];
static _Thread_local char last_text[MEDSHIM_ERROR_TEXT_MAX];
static _Thread_local char *last_result;
/* The text encoding of the call in progress (1: GBK), and of the call that
 * set the last error. */
static _Thread_local int cur_gbk, last_gbk;

int medshim__flat_gbk(void) { return cur_gbk; }
void medshim__flat_set_gbk(int gbk) { cur_gbk = gbk != 0; }

int32_t medshim__flat_put(flat_kind kind, void *obj) {
  int32_t h = 0;
  pthread_mutex_lock(&table_lock);
  size_t i;
  for (i = 0; i < table_n && table[i].handle != 0; i++)
    ;
  if (i == table_n) {
    if (table_n == table_cap) {
      size_t cap = table_cap ? 2 * table_cap : 16;
      slot *t = realloc(table, cap * sizeof *t);
      if (t == NULL)
        goto out;
      table = t;
      table_cap = cap;
    }
    table_n++;
  }
  if (next_handle <= 0) /* wrapped after 2^31 opens */
    next_handle = 1;
  h = next_handle++;
  table[i].handle = h;
  table[i].kind = kind;
  table[i].obj = obj;
  table[i].gbk = cur_gbk;
out:
  pthread_mutex_unlock(&table_lock);
  return h;
}

static void *lookup(flat_kind kind, int32_t handle, int take) {
  void *obj = NULL;
  if (handle > 0) {
    pthread_mutex_lock(&table_lock);
    for (size_t i = 0; i < table_n; i++)
      if (table[i].handle == handle && table[i].kind == kind) {
        obj = table[i].obj;
        cur_gbk = table[i].gbk;
        if (take)
          table[i].handle = 0;
        break;
      }
    pthread_mutex_unlock(&table_lock);
  }
  if (obj == NULL)
    medshim__flat_fail(MEDSHIM_EINVAL, "handle", 0, "bad handle %ld: not an open %s",
                       (long)handle, kind == FLAT_SCHEDULES ? "schedule set" : "journal");
  return obj;
}

void *medshim__flat_get(flat_kind kind, int32_t handle) {
  return lookup(kind, handle, 0);
}

void *medshim__flat_take(flat_kind kind, int32_t handle) {
  return lookup(kind, handle, 1);
}

int medshim__flat_code(void) { return last_code; }

void medshim__flat_ok(void) {
  cur_gbk = 0;
  last_gbk = 0;
  last_code = MEDSHIM_OK;
  last_line = 0;
  last_where[0] = '\0';
  last_text[0] = '\0';
}

int medshim__flat_fail(int code, const char *where, long line, const char *fmt,
                       ...) {
  char reason[MEDSHIM_ERROR_TEXT_MAX];
  va_list ap;
  va_start(ap, fmt);
  medshim__vfmt(reason, sizeof reason, fmt, ap);
  va_end(ap);
  last_code = code;
  last_gbk = cur_gbk;
  last_line = line;
  medshim__fmt(last_where, sizeof last_where, "%s", where ? where : "");
  if (line > 0 && last_where[0] != '\0')
    medshim__fmt(last_text, sizeof last_text, "line %ld: %s: %s", line,
                 last_where, reason);
  else if (line > 0)
    medshim__fmt(last_text, sizeof last_text, "line %ld: %s", line, reason);
  else if (last_where[0] != '\0')
    medshim__fmt(last_text, sizeof last_text, "%s: %s", last_where, reason);
  else
    medshim__fmt(last_text, sizeof last_text, "%s", reason);
  /* the same failure as medshim_last_error() tells it */
  return medshim__last_set(code, last_where, last_text);
}

static int copy_out(const char *text, char *out, size_t cap, size_t *needed) {
  size_t n = strlen(text) + 1;
  if (needed != NULL)
    *needed = n;
  if (out == NULL || cap < n) {
    if (out != NULL && cap > 0)
      out[0] = '\0';
    return medshim__flat_fail(MEDSHIM_ERANGE, "cap", 0,
                              "output buffer of %zu bytes, %zu needed", cap, n);
  }
  memcpy(out, text, n);
  return MEDSHIM_OK;
}

int medshim__flat_output(json_t *doc, int rc, char *out, size_t cap,
                         size_t *needed) {
  char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
  json_decref(doc);
  if (text == NULL)
    return medshim__flat_fail(MEDSHIM_ENOMEM, NULL, 0, "out of memory");
  if (cur_gbk) {
    char *g = NULL;
    int rc2 = medshim__utf8_json_to_gbk(&g, text, strlen(text));
    free(text);
    if (rc2 != MEDSHIM_OK)
      return medshim__flat_fail(rc2, NULL, 0, "output not convertible to GBK");
    text = g;
  }
  free(last_result);
  last_result = text;
  int c = copy_out(text, out, cap, needed);
  return c != MEDSHIM_OK ? c : rc;
}

char *medshim__flat_in(const char *text, const char *what) {
  char *u = NULL;
  size_t bad = 0;
  int rc;
  if (text == NULL)
    return NULL;
  if (!cur_gbk) {
    size_t n = strlen(text) + 1;
    if ((u = malloc(n)) == NULL)
      medshim__flat_fail(MEDSHIM_ENOMEM, NULL, 0, "out of memory");
    else
      memcpy(u, text, n);
    return u;
  }
  rc = medshim__gbk_to_utf8(&u, text, strlen(text), &bad);
  if (rc == MEDSHIM_EPARSE)
    medshim__flat_fail(rc, what, 0, "not GBK text at byte %zu (the handle "
                       "was opened with \"encoding\":\"gbk\")", bad);
  else if (rc != MEDSHIM_OK)
    medshim__flat_fail(rc, NULL, 0, "out of memory");
  return u;
}

static json_t *parse_options(const char *text, const char *what) {
  json_error_t je;
  json_t *o;
  if (text == NULL || text[0] == '\0')
    o = json_object();
  else
    o = json_loads(text, JSON_REJECT_DUPLICATES, &je);
  if (o == NULL && text != NULL && text[0] != '\0') {
    medshim__flat_fail(MEDSHIM_EPARSE, what, je.line > 0 ? je.line : 0,
                       "not JSON: %s", je.text);
    return NULL;
  }
  if (o == NULL) {
    medshim__flat_fail(MEDSHIM_ENOMEM, NULL, 0, "out of memory");
    return NULL;
  }
  if (!json_is_object(o)) {
    json_decref(o);
    medshim__flat_fail(MEDSHIM_EINVAL, what, 0, "must be a JSON object");
    return NULL;
  }
  return o;
}

json_t *medshim__flat_options(const char *text, const char *what) {
  char *u;
  json_t *o;
  if (!cur_gbk || text == NULL)
    return parse_options(text, what);
  if ((u = medshim__flat_in(text, what)) == NULL)
    return NULL;
  o = parse_options(u, what);
  free(u);
  return o;
}

/* The "encoding" member: 0 UTF-8 (or absent), 1 GBK, -1 anything else. */
static int encoding_of(json_t *o) {
  json_t *v = json_object_get(o, "encoding");
  const char *e = json_string_value(v);
  if (v == NULL)
    return 0;
  if (e != NULL && (strcmp(e, "utf-8") == 0 || strcmp(e, "UTF-8") == 0))
    return 0;
  if (e != NULL && (strcmp(e, "gbk") == 0 || strcmp(e, "GBK") == 0 ||
                    strcmp(e, "cp936") == 0))
    return 1;
  return -1;
}

json_t *medshim__flat_open_options(const char *text, const char *what) {
  json_t *o;
  char *u = NULL;
  size_t bad = 0;
  int enc, rc;
  cur_gbk = 0;
  if (text == NULL || text[0] == '\0')
    return parse_options(text, what);
  /* As UTF-8 first; the text says which it is. A GBK host's options may
   * not be valid UTF-8 (a path in GBK), or be valid by chance: when they
   * say gbk, they are read again as GBK. */
  o = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
  enc = o != NULL && json_is_object(o) ? encoding_of(o) : 0;
  if (enc == -1) {
    json_decref(o);
    medshim__flat_fail(MEDSHIM_EINVAL, "encoding", 0, "must be utf-8 or gbk");
    return NULL;
  }
  if (o != NULL && json_is_object(o) && enc == 0)
    return o;
  if (o != NULL && !json_is_object(o)) { /* say so */
    json_decref(o);
    return parse_options(text, what);
  }
  json_decref(o); /* they say gbk, or are not UTF-8: read them as GBK */
  rc = medshim__gbk_to_utf8(&u, text, strlen(text), &bad);
  if (rc == MEDSHIM_ENOMEM) {
    medshim__flat_fail(rc, NULL, 0, "out of memory");
    return NULL;
  }
  if (rc != MEDSHIM_OK && enc == 1) {
    medshim__flat_fail(MEDSHIM_EPARSE, what, 0, "\"encoding\":\"gbk\", but "
                       "not GBK text at byte %zu", bad);
    return NULL;
  }
  o = rc == MEDSHIM_OK ? json_loads(u, JSON_REJECT_DUPLICATES, NULL) : NULL;
  if (o != NULL && json_is_object(o) && encoding_of(o) == 1) {
    free(u);
    cur_gbk = 1;
    return o;
  }
  json_decref(o);
  free(u);
  return parse_options(text, what); /* not GBK either: its UTF-8 error */
}

int medshim__flat_time(int64_t *out, json_t *v, const char *name) {
  if (json_is_integer(v)) {
    *out = (int64_t)json_integer_value(v);
    return MEDSHIM_OK;
  }
  if (json_is_string(v) &&
      medshim__time_parse(out, json_string_value(v), json_string_length(v)) == 0)
    return MEDSHIM_OK;
  return medshim__flat_fail(MEDSHIM_EINVAL, name, 0,
                            "must be an ISO 8601 time or Unix seconds");
}

int medshim__flat_set_time(json_t *obj, const char *name, int64_t t) {
  char text[MEDSHIM_TIME_TEXT], key[64];
  medshim__time_format(text, t);
  snprintf(key, sizeof key, "%s_unix", name);
  return json_object_set_new(obj, name, json_string(text)) ||
                 json_object_set_new(obj, key, json_integer((json_int_t)t))
             ? -1
             : 0;
}

int MEDSHIM_FLATCALL medshim_flat_version(char *out, size_t cap, size_t *needed) {
  medshim__flat_ok();
  return medshim__flat_output(json_pack("{s:s, s:i}", "library", medshim_version(),
                                        "flat", MEDSHIM_FLAT_VERSION),
                              MEDSHIM_OK, out, cap, needed);
}

int MEDSHIM_FLATCALL medshim_flat_last_error(char *out, size_t cap, size_t *needed) {
  json_t *e = json_pack("{s:i, s:s, s:s, s:I, s:s}", "code", last_code, "name",
                        medshim_code_name(last_code), "where", last_where,
                        "line", (json_int_t)last_line, "message",
                        last_code != 0 && last_text[0] == '\0'
                            ? medshim_strerror(last_code)
                            : last_text);
  char *text = e ? json_dumps(e, JSON_COMPACT) : NULL;
  json_decref(e);
  if (text == NULL)
    return MEDSHIM__FAIL(MEDSHIM_ENOMEM);
  if (last_gbk) { /* in the encoding of the call that failed */
    char *g = NULL;
    int rc2 = medshim__utf8_json_to_gbk(&g, text, strlen(text));
    free(text);
    if (rc2 != MEDSHIM_OK)
      return MEDSHIM__FAIL(rc2);
    text = g;
  }
  /* Reading the error must not replace it. */
  size_t n = strlen(text) + 1;
  int rc = MEDSHIM_OK;
  if (needed != NULL)
    *needed = n;
  if (out == NULL || cap < n)
    rc = MEDSHIM_ERANGE;
  else
    memcpy(out, text, n);
  free(text);
  return rc;
}

int MEDSHIM_FLATCALL medshim_flat_last_result(char *out, size_t cap,
                                              size_t *needed) {
  const char *text = last_result ? last_result : "";
  size_t n = strlen(text) + 1;
  if (needed != NULL)
    *needed = n;
  if (out == NULL || cap < n)
    return MEDSHIM__FAIL(MEDSHIM_ERANGE);
  memcpy(out, text, n);
  return MEDSHIM_OK;
}
