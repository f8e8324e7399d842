/* The exec adapter of `medshim replay --exec CMD`: each operation runs CMD
 * through the shell with MEDSHIM_OP=settle|query, the claim's JSON line on
 * stdin, and reads one JSON object from its stdout. */
#ifndef MEDSHIM_EXEC_ADAPTER_H
#define MEDSHIM_EXEC_ADAPTER_H

#include "medshim/medshim.h"

typedef struct exec_adapter {
  const char *command;
  int timeout_seconds;
  medshim_journal *journal; /* for the claim's status in its JSON line */
} exec_adapter;

/* Bind an adapter to ex (which must outlive it). */
void exec_adapter_init(medshim_adapter *out, exec_adapter *ex);

/* Parse an adapter's answer; MEDSHIM_OUTCOME_UNKNOWN for anything else. */
void exec_adapter_parse(medshim_settlement *out, const char *text, int is_query);

#endif
