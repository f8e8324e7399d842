/* The in-memory table hash: FNV-1a 64 with its published reference values
 * (three hand copies had a wrong offset basis under an FNV-1a comment). */
#include <check.h>
#include <string.h>

#include "hash_internal.h"
#include "testutil.h"

START_TEST(test_fnv1a64_reference_values) {
  ck_assert_uint_eq(medshim__fnv1a64("", 0), UINT64_C(0xcbf29ce484222325));
  ck_assert_uint_eq(medshim__fnv1a64("a", 1), UINT64_C(0xaf63dc4c8601ec8c));
  ck_assert_uint_eq(medshim__fnv1a64("foobar", 6),
                    UINT64_C(0x85944171f73967e8));
}
END_TEST

int main(void) {
  Suite *s = suite_create("hash");
  TCase *tc = tcase_create("hash");
  tcase_add_test(tc, test_fnv1a64_reference_values);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
