/* Shared plumbing of the flat interface (flat.h): the handle table, this
 * thread's last error and last result, and JSON helpers. */
#ifndef MEDSHIM_FLAT_INTERNAL_H
#define MEDSHIM_FLAT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "errors_internal.h"
#include "medshim/flat.h"

typedef enum flat_kind { FLAT_SCHEDULES = 1, FLAT_JOURNAL = 2 } flat_kind;

/* Register an object; returns its handle (> 0) or 0 when out of memory. */
int32_t medshim__flat_put(flat_kind kind, void *obj);
/* The object of a handle of that kind, or NULL (and the error set). */
void *medshim__flat_get(flat_kind kind, int32_t handle);
/* Remove a handle; returns its object or NULL (and the error set). */
void *medshim__flat_take(flat_kind kind, int32_t handle);

/* Set this thread's error and return code. where may be NULL or "";
 * line 0: none. The text must not hold personal data. */
MEDSHIM__PRINTF(4, 5)
int medshim__flat_fail(int code, const char *where, long line, const char *fmt,
                       ...);
/* This thread's last error code. */
int medshim__flat_code(void);
/* Clear this thread's error (a call begins). */
void medshim__flat_ok(void);

/* Keep @p doc (stolen) as this thread's last result and copy it out:
 * MEDSHIM_OK, MEDSHIM_ERANGE (with *needed), MEDSHIM_ENOMEM. When @p rc is
 * not MEDSHIM_OK it is returned instead of MEDSHIM_OK (output still
 * written), so verify can answer ECORRUPT with its report. */
int medshim__flat_output(json_t *doc, int rc, char *out, size_t cap,
                         size_t *needed);

/* Parse optional options JSON (NULL or "" gives an empty object), GBK
 * when the call's handle is. Returns NULL with the error set. Caller
 * decrefs. */
json_t *medshim__flat_options(const char *text, const char *what);
/* The options of a call that opens a handle: they say the handle's text
 * encoding ("encoding":"utf-8" (default) or "gbk"), and are read in it.
 * Sets the call's encoding, which medshim__flat_put() gives the handle. */
json_t *medshim__flat_open_options(const char *text, const char *what);
/* A text argument (a path, JSON lines) in UTF-8: a malloc'ed copy,
 * converted from GBK when the call's handle is GBK. NULL (error set) when
 * it is not GBK or out of memory; NULL for NULL. */
char *medshim__flat_in(const char *text, const char *what);
/* The call's text encoding: 1 GBK, 0 UTF-8. Set by a handle's lookup, by
 * medshim__flat_open_options(), or here (an adapter's thread). Output and
 * errors are given in it. */
int medshim__flat_gbk(void);
void medshim__flat_set_gbk(int gbk);

/* An instant from a JSON member: ISO text or integer Unix seconds.
 * Returns MEDSHIM_OK, or MEDSHIM_EINVAL with the error naming @p name. */
int medshim__flat_time(int64_t *out, json_t *v, const char *name);

/* Set obj[name] = ISO text and obj[name_unix] = seconds; 0 or -1. */
int medshim__flat_set_time(json_t *obj, const char *name, int64_t t);

#endif
