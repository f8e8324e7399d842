/* The queue's schema, as numbered migrations (docs/queue.md explains each
 * column). Append only: a migration that has shipped is never changed;
 * a change is a new one. */
#include <stddef.h>

#include "queue_internal.h"

static const char *const migrations[] = {
    /* 1: claims forwarded by terminals, leased by replay workers */
    "CREATE TABLE medshim_claims ("
    " visit_id text PRIMARY KEY,"       /* unique by visit: forward is idempotent */
    " terminal text NOT NULL,"          /* the cashier PC that journaled it */
    " campus text NOT NULL DEFAULT '',"
    " replay_key text NOT NULL,"        /* stable across attempts and workers */
    " patient_group bytea NOT NULL,"    /* keyed hash of the person: order, no data */
    " visit_time bigint NOT NULL,"
    " route smallint,"                  /* NULL: no window journaled (unplanned) */
    " window_from bigint,"
    " window_until bigint,"
    " total_fen bigint NOT NULL CHECK (total_fen >= 0),"
    " self_paid_fen bigint NOT NULL CHECK (self_paid_fen >= 0),"
    " digest bytea NOT NULL,"           /* of the claim: same visit, other content */
    " sealed bytea NOT NULL,"           /* the claim, encrypted under the queue key */
    " state smallint NOT NULL DEFAULT 1,"
    " status bytea,"                    /* sealed status and step log */
    " fence bigint NOT NULL DEFAULT 0," /* raised by every lease */
    " lease_owner text,"
    " lease_until timestamptz,"
    " forwarded_at timestamptz NOT NULL DEFAULT now(),"
    " updated_at timestamptz NOT NULL DEFAULT now());"
    "CREATE INDEX medshim_claims_work ON medshim_claims (window_from)"
    " WHERE state IN (1, 2, 5);"
    "CREATE INDEX medshim_claims_group ON medshim_claims (patient_group);"
    "CREATE TABLE medshim_forwarded ("  /* per terminal: what it has sent */
    " terminal text NOT NULL,"
    " visit_id text NOT NULL,"
    " PRIMARY KEY (terminal, visit_id));"
    "CREATE SEQUENCE medshim_msgid_seq;",
};

size_t medshim__queue_migrations(const char *const **out) {
  *out = migrations;
  return sizeof migrations / sizeof migrations[0];
}
