/* The strict RFC 4180 reader (csv_read_internal.h). */
#include <stdlib.h>
#include <string.h>

#include "csv_read_internal.h"
#include "memory_internal.h"

void medshim__csv_init(medshim__csv *c, const char *data, size_t len) {
  memset(c, 0, sizeof *c);
  c->p = data;
  c->end = data + len;
  c->line = 1;
}

void medshim__csv_free(medshim__csv *c) {
  if (c->text != NULL)
    medshim__wipe(c->text, c->cap);
  free(c->text);
  free(c->offs);
  c->text = NULL;
  c->offs = NULL;
}

static int put(medshim__csv *c, char ch) {
  if (c->len == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 256;
    char *n = malloc(cap);
    if (n == NULL)
      return -1;
    if (c->text != NULL) {
      memcpy(n, c->text, c->len);
      medshim__wipe(c->text, c->cap); /* the fields may be personal */
      free(c->text);
    }
    c->text = n;
    c->cap = cap;
  }
  c->text[c->len++] = ch;
  return 0;
}

static int begin_field(medshim__csv *c) {
  if (c->nfields == c->capfields) {
    size_t cap = c->capfields ? c->capfields * 2 : 16;
    size_t *n = realloc(c->offs, cap * sizeof *n);
    if (n == NULL)
      return -1;
    c->offs = n;
    c->capfields = cap;
  }
  c->offs[c->nfields++] = c->len;
  return 0;
}

#define BAD(text)                                                              \
  do {                                                                         \
    *why = (text);                                                             \
    *line = c->line;                                                           \
    *column = c->nfields;                                                      \
    return MEDSHIM__CSV_BAD;                                                   \
  } while (0)

int medshim__csv_next(medshim__csv *c, size_t *line, size_t *column,
                      const char **why) {
  size_t first = c->line;
  c->len = 0;
  c->nfields = 0;
  if (c->p == c->end)
    return MEDSHIM__CSV_END;
  if (*c->p == '\n' || (*c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n')) {
    *column = 1;
    *line = c->line;
    *why = "an empty line";
    return MEDSHIM__CSV_BAD;
  }
  for (;;) { /* one field per turn */
    if (begin_field(c) != 0)
      return MEDSHIM__CSV_NOMEM;
    if (c->p < c->end && *c->p == '"') {
      size_t opened = c->line;
      c->p++;
      for (;;) {
        if (c->p == c->end) {
          c->line = opened;
          BAD("a quoted field is not closed");
        }
        if (*c->p == '"') {
          if (c->p + 1 < c->end && c->p[1] == '"') {
            if (put(c, '"') != 0)
              return MEDSHIM__CSV_NOMEM;
            c->p += 2;
            continue;
          }
          c->p++;
          break;
        }
        if (*c->p == '\0')
          BAD("a NUL byte");
        if (*c->p == '\n')
          c->line++;
        if (put(c, *c->p) != 0)
          return MEDSHIM__CSV_NOMEM;
        c->p++;
      }
      if (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r')
        BAD("text after a closing quote");
    } else {
      while (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r') {
        if (*c->p == '"')
          BAD("a quote inside a field that does not start with one");
        if (*c->p == '\0')
          BAD("a NUL byte");
        if (put(c, *c->p) != 0)
          return MEDSHIM__CSV_NOMEM;
        c->p++;
      }
    }
    if (put(c, '\0') != 0)
      return MEDSHIM__CSV_NOMEM;
    if (c->p == c->end)
      break;
    if (*c->p == ',') {
      c->p++;
      continue;
    }
    if (*c->p == '\r') {
      if (c->p + 1 == c->end || c->p[1] != '\n')
        BAD("a carriage return without a line feed");
      c->p++;
    }
    c->p++; /* '\n' */
    c->line++;
    break;
  }
  *line = first;
  return MEDSHIM__CSV_RECORD;
}

const char *medshim__csv_field(const medshim__csv *c, size_t i) {
  return i < c->nfields ? c->text + c->offs[i] : NULL;
}
