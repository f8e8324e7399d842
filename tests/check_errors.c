/* Every error code has a name and a text; unknown codes are handled. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "medshim/medshim.h"
#include "testutil.h"

START_TEST(test_errors_every_code_has_text) {
  static const int codes[] = {
#define X(name, value, text) MEDSHIM_##name,
      MEDSHIM_ERROR_LIST(X)
#undef X
  };
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    const char *t = medshim_strerror(codes[i]);
    ck_assert_ptr_nonnull(t);
    ck_assert_str_ne(t, "unknown error");
    ck_assert_str_ne(medshim_code_name(codes[i]), "MEDSHIM_UNKNOWN");
    ck_assert_int_le(codes[i], 0);
  }
}
END_TEST

START_TEST(test_errors_unknown_code) {
  ck_assert_str_eq(medshim_strerror(12345), "unknown error");
  ck_assert_str_eq(medshim_code_name(-9999), "MEDSHIM_UNKNOWN");
  ck_assert_str_eq(medshim_code_name(MEDSHIM_EBUSY), "MEDSHIM_EBUSY");
}
END_TEST

START_TEST(test_errors_version) {
  ck_assert_str_eq(medshim_version(), MEDSHIM_VERSION_STRING);
  ck_assert_int_eq(medshim_version_number(), MEDSHIM_VERSION_NUMBER);
}
END_TEST

int main(void) {
  Suite *s = suite_create("errors");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_errors_every_code_has_text);
  tcase_add_test(tc, test_errors_unknown_code);
  tcase_add_test(tc, test_errors_version);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
