/* CSV rows: built in UTF-8, converted field by field when GBK is asked
 * for, written a row at a time. */
#include <stdlib.h>
#include <string.h>

#include "csv_out.h"

static const unsigned char BOM[3] = {0xef, 0xbb, 0xbf};

static void put(csv_out *c, const char *s, size_t n) {
  if (c->oom)
    return;
  if (c->len + n > c->cap) {
    size_t cap = (c->len + n) * 2 + 64;
    char *p = realloc(c->row, cap);
    if (p == NULL) {
      c->oom = 1;
      return;
    }
    c->row = p;
    c->cap = cap;
  }
  memcpy(c->row + c->len, s, n);
  c->len += n;
}

static void put_converted(void *payload, const char *s, size_t n) {
  put(payload, s, n);
}

/* Append UTF-8 text, converted when the output is GBK. */
static void put_text(csv_out *c, const char *s, size_t n) {
  if (c->gbk == NULL) {
    put(c, s, n);
    return;
  }
  if (csv_gbk_convert(c->gbk, s, n, put_converted, c) != 0 &&
      c->bad_column < 0) /* separate() has counted this field */
    c->bad_column = (int)c->column - 1;
}

int csv_begin(csv_out *c, FILE *f, const char *cmd, int bom, int encoding,
              const char *const *columns, size_t ncolumns) {
  memset(c, 0, sizeof *c);
  c->f = f;
  c->cmd = cmd;
  c->columns = columns;
  c->ncolumns = ncolumns;
  c->gbk = NULL;
  c->bad_column = -1;
  if (encoding == CSV_GBK && (c->gbk = csv_gbk_open()) == NULL) {
    fprintf(stderr, "medshim %s: --encoding gbk: this system has no GBK "
                    "converter\n", cmd);
    return -1;
  }
  if (bom && fwrite(BOM, 1, sizeof BOM, f) != sizeof BOM)
    return -1;
  for (size_t i = 0; i < ncolumns; i++)
    csv_plain(c, columns[i]);
  return csv_end_row(c) == 0 ? 0 : -1;
}

static void separate(csv_out *c) {
  if (c->column > 0)
    put(c, ",", 1);
  c->column++;
}

void csv_field(csv_out *c, const char *s) {
  separate(c);
  put(c, "\"", 1);
  while (s != NULL && *s != '\0') {
    const char *q = strchr(s, '"');
    size_t n = q ? (size_t)(q - s) : strlen(s);
    put_text(c, s, n);
    if (q == NULL)
      break;
    put(c, "\"\"", 2);
    s = q + 1;
  }
  put(c, "\"", 1);
}

void csv_plain(csv_out *c, const char *s) {
  separate(c);
  if (s != NULL)
    put_text(c, s, strlen(s));
}

void csv_int(csv_out *c, long long v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%lld", v);
  csv_plain(c, buf);
}

int csv_end_row(csv_out *c) {
  int rc = 0;
  c->rownum++;
  put(c, "\n", 1);
  if (c->oom) {
    fprintf(stderr, "medshim %s: row %zu: out of memory\n", c->cmd, c->rownum);
    rc = -1;
  } else if (c->bad_column >= 0) {
    /* the row's number and column only: its values may be personal */
    size_t col = (size_t)c->bad_column;
    fprintf(stderr, "medshim %s: row %zu, column %s: a character GBK cannot "
                    "encode; the row is not written (use UTF-8 output)\n",
            c->cmd, c->rownum, col < c->ncolumns ? c->columns[col] : "?");
    rc = -1;
  } else if (fwrite(c->row, 1, c->len, c->f) != c->len) {
    rc = -1;
  }
  if (rc != 0)
    c->refused++;
  /* the row may hold a name: not left in freed memory */
  if (c->row != NULL)
    memset(c->row, 0, c->cap);
  c->len = 0;
  c->column = 0;
  c->bad_column = -1;
  c->oom = 0;
  return rc;
}

int csv_end(csv_out *c) {
  int rc = c->refused > 0 || fflush(c->f) != 0 ? -1 : 0;
  csv_gbk_close(c->gbk);
  free(c->row);
  memset(c, 0, sizeof *c);
  return rc;
}
