/* Helpers shared by the Check suites: temporary directories, key files,
 * sample claims, reading and patching files. */
#ifndef MEDSHIM_TESTUTIL_H
#define MEDSHIM_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "medshim/medshim.h"

/* A fresh directory under $TMPDIR ($TEMP, /tmp); a malloc'ed path. */
char *tu_tempdir(void);
/* rm -rf path (no-op for NULL). */
void tu_rmtree(const char *path);
/* dir + "/" + name, malloc'ed. */
char *tu_path(const char *dir, const char *name);
/* Write a key file of 32 bytes derived from seed, mode 0600. */
void tu_write_key(const char *path, unsigned char seed);
/* A valid claim numbered i; the visit_id is prefix + i. */
medshim_claim *tu_claim(const char *prefix, int i);
/* Whole file into memory (malloc'ed); *len set. NULL if unreadable. */
unsigned char *tu_read_file(const char *path, size_t *len);
void tu_write_file(const char *path, const unsigned char *data, size_t len);
/* Offsets of the records of a segment file's bytes (walks the length
 * fields from the first record); how many, at most max. */
size_t tu_record_offsets(const unsigned char *buf, size_t len, size_t *offs,
                         size_t max);
/* The suite the journal suites run with: MEDSHIM_TEST_SUITE=sm or
 * default (unset: default). CTest runs the journal suites with both. */
unsigned tu_suite(void);
/* Options for a key file, READONLY/CREATE flags; with CREATE, the suite
 * is tu_suite(). */
medshim_journal_options tu_opts(const char *keyfile, unsigned flags);

/* Run a suite with CK_NORMAL output; the process exit status. */
struct Suite;
int tu_run(struct Suite *suite);

#endif
