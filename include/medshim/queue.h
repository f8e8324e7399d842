/**
 * @file queue.h
 * @brief A hospital group's central claim queue in PostgreSQL (or a
 *        PostgreSQL-compatible database: plain SQL, no extensions).
 *
 * This is the queue's foundation: connecting and the versioned schema.
 * Forwarding claims into it and replay workers leasing from it are built
 * on it (docs/queue.md says what is built and what is not yet).
 *
 * The schema is versioned: medshim_queue_open() with
 * ::MEDSHIM_QUEUE_MIGRATE applies the migrations this library knows, in
 * one transaction each, serialised between processes by an advisory lock,
 * so several terminals and workers may start at once. A database whose
 * schema is newer than this library knows is refused (MEDSHIM_EFORMAT),
 * never written to.
 *
 * Thread safety: a ::medshim_queue is one database connection; use it from
 * one thread at a time. Link with -lmedshim-queue (and libpq).
 */
#ifndef MEDSHIM_QUEUE_H
#define MEDSHIM_QUEUE_H

#include <stdint.h>

#include "medshim/errors.h"
#include "medshim/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A connection to the queue database. */
typedef struct medshim_queue medshim_queue;

/** The schema version this library writes and reads. */
#define MEDSHIM_QUEUE_SCHEMA_VERSION 1

/** medshim_queue_options::flags: apply missing migrations at open. */
#define MEDSHIM_QUEUE_MIGRATE 1u

/** Version of ::medshim_queue_options. */
#define MEDSHIM_QUEUE_OPTIONS_VERSION 1

/** How to open the queue. */
typedef struct medshim_queue_options {
  unsigned int version; /**< MEDSHIM_QUEUE_OPTIONS_VERSION */
  unsigned int flags;   /**< MEDSHIM_QUEUE_MIGRATE */
} medshim_queue_options;

/** Initialiser for ::medshim_queue_options. */
#define MEDSHIM_QUEUE_OPTIONS_INIT {MEDSHIM_QUEUE_OPTIONS_VERSION, 0u}

/** @return MEDSHIM_OK or MEDSHIM_EINVAL (NULL or unknown version). */
MEDSHIM_API int medshim_queue_options_init(medshim_queue_options *opts,
                                           unsigned int version);

/**
 * Connect to the queue database.
 * @param[out] out the connection (NULL on failure)
 * @param[in] conninfo a libpq connection string or URI
 *            ("postgresql://medshim@db.example/medshim",
 *            "host=/run/postgresql dbname=medshim"); a password in it is
 *            never repeated in an error
 * @param[in] opts NULL for the defaults (no migration)
 * @param[out] err optional detail on failure
 * @return MEDSHIM_OK; MEDSHIM_EIO (cannot connect, or SQL failed);
 *         MEDSHIM_ESTATE (no schema yet and MEDSHIM_QUEUE_MIGRATE not
 *         given); MEDSHIM_EFORMAT (a newer schema than this library
 *         knows); MEDSHIM_EINVAL; MEDSHIM_ENOMEM.
 */
MEDSHIM_API int medshim_queue_open(medshim_queue **out, const char *conninfo,
                                   const medshim_queue_options *opts,
                                   medshim_error *err);

/** The schema version of the database (after any migration at open). */
MEDSHIM_API int medshim_queue_schema_version(const medshim_queue *queue);

/** Close the connection. NULL is accepted. */
MEDSHIM_API void medshim_queue_close(medshim_queue *queue);

#ifdef __cplusplus
}
#endif
#endif /* MEDSHIM_QUEUE_H */
