/* libFuzzer target for the claim parser: whatever parses must render,
 * encode and decode back to the same claim. */
#include <stdlib.h>
#include <string.h>

#include "claim_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  medshim_claim *c = NULL, *d = NULL, *e = NULL;
  medshim_error err;
  char *json = NULL, *json2 = NULL;
  unsigned char *enc = NULL, *enc2 = NULL;
  size_t len, len2;
  if (medshim_claim_parse_json(&c, (const char *)data, size, &err) != MEDSHIM_OK)
    return 0;
  if (medshim_claim_to_json(&json, c, MEDSHIM_CLAIM_JSON_REVEAL) != MEDSHIM_OK ||
      medshim_claim_parse_json(&d, json, strlen(json), &err) != MEDSHIM_OK ||
      medshim_claim_to_json(&json2, d, MEDSHIM_CLAIM_JSON_REVEAL) != MEDSHIM_OK ||
      strcmp(json, json2) != 0)
    abort();
  if (medshim__claim_encode(&enc, &len, c) != MEDSHIM_OK ||
      medshim__claim_decode(&e, enc, len) != MEDSHIM_OK ||
      medshim__claim_encode(&enc2, &len2, e) != MEDSHIM_OK || len != len2 ||
      memcmp(enc, enc2, len) != 0)
    abort();
  medshim_free(json);
  medshim_free(json2);
  free(enc);
  free(enc2);
  medshim_claim_free(c);
  medshim_claim_free(d);
  medshim_claim_free(e);
  return 0;
}
