/* libFuzzer target for the strict CSV reader of reconcile: whatever it
 * reads, every record's fields lie inside the input's bytes (no field is
 * longer than the input) and an error names a line that exists. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csv_read_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  medshim__csv c;
  size_t line, column, lines = 1, total = 0;
  const char *why;
  int rc;
  for (size_t i = 0; i < size; i++)
    lines += data[i] == '\n';
  medshim__csv_init(&c, (const char *)data, size);
  while ((rc = medshim__csv_next(&c, &line, &column, &why)) ==
         MEDSHIM__CSV_RECORD) {
    if (line > lines || c.nfields == 0)
      abort();
    for (size_t i = 0; i < c.nfields; i++)
      total += strlen(medshim__csv_field(&c, i));
    if (total > size)
      abort();
  }
  if (rc == MEDSHIM__CSV_BAD && (line == 0 || line > lines || column == 0 ||
                                 why == NULL))
    abort();
  medshim__csv_free(&c);
  return 0;
}
