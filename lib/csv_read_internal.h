/* A strict RFC 4180 reader for the platform's CSV downloads: fields
 * separated by commas, records by CRLF or LF, a field optionally in double
 * quotes (then commas, line breaks and doubled quotes "" inside it). What
 * RFC 4180 does not allow is refused with the line and column, never
 * guessed: a quote inside an unquoted field, text after a closing quote, a
 * quoted field that is not closed, a bare CR, a NUL byte, an empty line. */
#ifndef MEDSHIM_CSV_READ_INTERNAL_H
#define MEDSHIM_CSV_READ_INTERNAL_H

#include <stddef.h>

typedef struct medshim__csv {
  const char *p, *end; /* what is left to read */
  size_t line;         /* physical line at p, from 1 */
  char *text;          /* the current record's fields, each NUL-terminated */
  size_t len, cap;
  size_t *offs;        /* start of each field in text */
  size_t nfields, capfields;
} medshim__csv;

/* Read data[0..len) (no BOM: strip it first). */
void medshim__csv_init(medshim__csv *c, const char *data, size_t len);
/* Wipe and free the record buffers. */
void medshim__csv_free(medshim__csv *c);

/* Results of medshim__csv_next(). */
#define MEDSHIM__CSV_RECORD 1
#define MEDSHIM__CSV_END 0
#define MEDSHIM__CSV_BAD -1
#define MEDSHIM__CSV_NOMEM -2

/* The next record: MEDSHIM__CSV_RECORD with *line its first line and
 * c->nfields fields (medshim__csv_field()); MEDSHIM__CSV_END; or
 * MEDSHIM__CSV_BAD with *line, *column (from 1) and *why (static text)
 * where the text breaks the rules; MEDSHIM__CSV_NOMEM. */
int medshim__csv_next(medshim__csv *c, size_t *line, size_t *column,
                      const char **why);
/* Field i of the current record. */
const char *medshim__csv_field(const medshim__csv *c, size_t i);

#endif
