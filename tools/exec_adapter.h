/* The exec adapter of `medshim replay --exec CMD` / `--exec-persistent CMD`:
 * the HIS's adapter program speaks the JSON-lines protocol of
 * docs/replay.md ("The exec protocol") on its stdin and stdout, and this
 * side implements medshim_adapter v2 over it. Per-call mode starts CMD
 * once per settle or probe; persistent mode starts it once and multiplexes
 * requests by `id`, restarting it for later requests when it dies. */
#ifndef MEDSHIM_EXEC_ADAPTER_H
#define MEDSHIM_EXEC_ADAPTER_H

#include <stddef.h>

#include <jansson.h>

#include "medshim/medshim.h"

typedef struct exec_adapter_config {
  const char *command;     /* run by /bin/sh -c */
  int persistent;          /* 1: one process for the run, requests by id */
  int timeout_seconds;     /* per request (> 0) */
  unsigned concurrency;    /* requests in flight at most (persistent) */
  const char *prefix;      /* of every message, e.g. "medshim replay" */
} exec_adapter_config;

typedef struct exec_adapter exec_adapter;

/* Create an adapter (persistent mode starts the command at once).
 * Returns 0, or -1 (out of memory, no thread). */
int exec_adapter_new(exec_adapter **out, const exec_adapter_config *cfg);
/* Bind a medshim_adapter to it. */
void exec_adapter_bind(medshim_adapter *out, exec_adapter *ex);
/* Requests that ended unknown because of the adapter (a bad or missing
 * answer, a crash, a timeout). */
size_t exec_adapter_errors(const exec_adapter *ex);
/* Restarts of the persistent process after it died or was killed. */
size_t exec_adapter_restarts(const exec_adapter *ex);
/* Stop the persistent process (end of input, then its group is killed)
 * and free. NULL ok. */
void exec_adapter_free(exec_adapter *ex);

/* Fill @p out from a `result` object (without the type and id checks).
 * Returns 0, or -1 with @p why set when the answer is not one this side can
 * pass on faithfully (a field of the wrong type, an overlong id, a
 * malformed time, an outcome the operation cannot have): the outcome is
 * then UNKNOWN. Amounts are passed on as given; the library checks that
 * they are >= 0 and add up. */
int exec_parse_result(medshim_settlement *out, const json_t *o, int is_probe,
                      char *why, size_t why_size);

#endif
