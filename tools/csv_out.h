/* CSV for people (report, export): quoted fields, and on request a UTF-8
 * byte order mark (Excel on Chinese Windows reads UTF-8 without one as
 * GBK and garbles the names) or the whole text converted to GBK
 * (csv_gbk.h) for hosts that only read ANSI files. Rows are built whole
 * and written whole: a row that cannot be converted is not written in
 * part, and its number and column are named. */
#ifndef MEDSHIM_CSV_OUT_H
#define MEDSHIM_CSV_OUT_H

#include <stddef.h>
#include <stdio.h>

#include "csv_gbk.h"

typedef struct csv_out {
  FILE *f;
  const char *cmd;           /* for messages: "export" */
  const char *const *columns; /* header names, for messages */
  size_t ncolumns;
  csv_gbk *gbk;              /* NULL: UTF-8 out */
  char *row;                 /* the row being built, converted */
  size_t len, cap;
  size_t rownum;             /* rows written or refused, the header is 1 */
  size_t column;             /* fields in the current row so far */
  int bad_column;            /* -1, or the first field that did not convert */
  int oom;
  size_t refused;            /* rows not written */
} csv_out;

/* Encodings for --encoding. */
#define CSV_UTF8 0
#define CSV_GBK 1

/* Start: the BOM when asked (UTF-8 only), the header row. 0, or -1 after
 * printing why (the system has no GBK). */
int csv_begin(csv_out *c, FILE *f, const char *cmd, int bom, int encoding,
              const char *const *columns, size_t ncolumns);
/* A quoted field (NULL: empty). */
void csv_field(csv_out *c, const char *s);
/* A field written as is: numbers, codes, days. */
void csv_plain(csv_out *c, const char *s);
/* A number. */
void csv_int(csv_out *c, long long v);
/* End the row and write it; -1 when it was refused (named on stderr). */
int csv_end_row(csv_out *c);
/* Release; 0, or -1 when a row was refused or a write failed. */
int csv_end(csv_out *c);

#endif
