/* Key-encryption keys as text, for secret stores that hold text: 64
 * hexadecimal digits or 44 characters of base64 (OpenSSL's codec). The
 * key never appears in an error text. */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "errors_internal.h"
#include "keyfile_internal.h"
#include "memory_internal.h"

#define HEX_LEN (2 * MEDSHIM_KEY_BYTES)
#define B64_LEN (4 * ((MEDSHIM_KEY_BYTES + 2) / 3))

static int is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static int b64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '+' || c == '/';
}

int medshim__key_from_text(unsigned char key[MEDSHIM_KEY_BYTES],
                           const char *text, size_t len) {
  unsigned char buf[B64_LEN];
  /* surrounding blanks: the newline a secret store or an editor adds */
  while (len > 0 && is_space(text[0]))
    text++, len--;
  while (len > 0 && is_space(text[len - 1]))
    len--;
  if (len == HEX_LEN) {
    for (size_t i = 0; i < MEDSHIM_KEY_BYTES; i++) {
      int hi = hex_digit(text[2 * i]), lo = hex_digit(text[2 * i + 1]);
      if (hi < 0 || lo < 0) {
        medshim__wipe(key, MEDSHIM_KEY_BYTES);
        return -1;
      }
      key[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
  }
  /* 32 bytes: 43 characters of base64 and one '=' */
  if (len == B64_LEN && text[B64_LEN - 1] == '=') {
    int n;
    for (size_t i = 0; i < B64_LEN - 1; i++)
      if (!b64_char(text[i]))
        return -1;
    n = EVP_DecodeBlock(buf, (const unsigned char *)text, (int)len);
    if (n == MEDSHIM_KEY_BYTES + 1) { /* DecodeBlock counts the padding */
      memcpy(key, buf, MEDSHIM_KEY_BYTES);
      medshim__wipe(buf, sizeof buf);
      return 0;
    }
    medshim__wipe(buf, sizeof buf);
  }
  return -1;
}

int medshim_key_import(unsigned char key[MEDSHIM_KEY_BYTES], const char *text,
                       size_t len, medshim_error *err) {
  if (key == NULL || text == NULL)
    return medshim__error_set(err, MEDSHIM_EINVAL, "text", "is required");
  if (medshim__key_from_text(key, text, len) != 0)
    return medshim__error_set(err, MEDSHIM_EKEY, "text",
                              "not a key: expected %d hexadecimal digits or %d "
                              "characters of base64",
                              HEX_LEN, B64_LEN);
  return MEDSHIM_OK;
}

int medshim_key_export(char out[MEDSHIM_KEY_TEXT_MAX],
                       const unsigned char key[MEDSHIM_KEY_BYTES],
                       medshim_key_format format) {
  if (out == NULL || key == NULL)
    return MEDSHIM__FAIL(MEDSHIM_EINVAL);
  switch (format) {
  case MEDSHIM_KEY_HEX:
    for (size_t i = 0; i < MEDSHIM_KEY_BYTES; i++)
      snprintf(out + 2 * i, 3, "%02x", key[i]);
    return MEDSHIM_OK;
  case MEDSHIM_KEY_BASE64:
    EVP_EncodeBlock((unsigned char *)out, key, MEDSHIM_KEY_BYTES);
    return MEDSHIM_OK;
  }
  out[0] = '\0';
  return medshim__last_set(MEDSHIM_EINVAL, "format",
                           "MEDSHIM_KEY_HEX or MEDSHIM_KEY_BASE64");
}
