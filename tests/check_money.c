/* Fen and yuan text: exact both ways, negatives, the int64_t edges, and
 * every malformed amount refused with a reason. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "medshim/medshim.h"
#include "testutil.h"

static const char *yuan(int64_t fen) {
  static char buf[MEDSHIM_YUAN_TEXT];
  ck_assert_int_eq(medshim_fen_to_yuan(buf, sizeof buf, fen), MEDSHIM_OK);
  return buf;
}

START_TEST(test_money_fen_to_yuan) {
  ck_assert_str_eq(yuan(1234), "12.34");
  ck_assert_str_eq(yuan(-5), "-0.05");
  ck_assert_str_eq(yuan(-100), "-1.00");
  ck_assert_str_eq(yuan(-1234), "-12.34");
  ck_assert_str_eq(yuan(0), "0.00");
  ck_assert_str_eq(yuan(7), "0.07");
  ck_assert_str_eq(yuan(120), "1.20");
  ck_assert_str_eq(yuan(INT64_MAX), "92233720368547758.07");
  ck_assert_str_eq(yuan(INT64_MIN), "-92233720368547758.08");
  ck_assert_uint_eq(strlen(yuan(INT64_MIN)) + 1, 22);
}
END_TEST

START_TEST(test_money_fen_to_yuan_small_buffer) {
  char buf[MEDSHIM_YUAN_TEXT];
  ck_assert_int_eq(medshim_fen_to_yuan(buf, 5, 1234), MEDSHIM_ERANGE);
  ck_assert_str_eq(buf, "");
  ck_assert_int_eq(medshim_fen_to_yuan(buf, 6, 1234), MEDSHIM_OK);
  ck_assert_str_eq(buf, "12.34");
  ck_assert_int_eq(medshim_fen_to_yuan(buf, 0, 1), MEDSHIM_ERANGE);
  ck_assert_int_eq(medshim_fen_to_yuan(NULL, 8, 1), MEDSHIM_EINVAL);
}
END_TEST

static int64_t fen(const char *text) {
  int64_t v = 42;
  medshim_error err;
  ck_assert_msg(medshim_yuan_to_fen(&v, text, &err) == MEDSHIM_OK, "'%s': %s",
                text, err.text);
  return v;
}

START_TEST(test_money_yuan_to_fen) {
  ck_assert_int_eq(fen("12.34"), 1234);
  ck_assert_int_eq(fen("12.3"), 1230);
  ck_assert_int_eq(fen("12"), 1200);
  ck_assert_int_eq(fen("-0.05"), -5);
  ck_assert_int_eq(fen("0"), 0);
  ck_assert_int_eq(fen("-0"), 0);
  ck_assert_int_eq(fen("0.00"), 0);
  ck_assert_int_eq(fen("007.10"), 710);
  ck_assert_int_eq(fen("92233720368547758.07"), INT64_MAX);
  ck_assert_int_eq(fen("-92233720368547758.08"), INT64_MIN);
  ck_assert_int_eq(fen("92233720368547758"), INT64_MAX - 7);
}
END_TEST

static void refused(const char *text, int code, const char *why) {
  int64_t v = 42;
  medshim_error err;
  memset(&err, 0, sizeof err);
  ck_assert_msg(medshim_yuan_to_fen(&v, text, &err) == code, "'%s' not refused", text);
  ck_assert_int_eq(v, 42); /* untouched */
  ck_assert_int_eq(err.code, code);
  ck_assert_str_eq(err.where, "yuan");
  ck_assert_msg(strstr(err.text, why) != NULL, "'%s': %s", text, err.text);
}

START_TEST(test_money_yuan_refused) {
  refused("1.234", MEDSHIM_EINVAL, "more than two decimals");
  refused("1e3", MEDSHIM_EINVAL, "unexpected character");
  refused(" 12", MEDSHIM_EINVAL, "must start with a digit");
  refused("12 ", MEDSHIM_EINVAL, "unexpected character");
  refused("", MEDSHIM_EINVAL, "empty");
  refused("+12", MEDSHIM_EINVAL, "must start with a digit");
  refused("-", MEDSHIM_EINVAL, "must start with a digit");
  refused(".5", MEDSHIM_EINVAL, "must start with a digit");
  refused("12.", MEDSHIM_EINVAL, "followed by one or two digits");
  refused("1,000.00", MEDSHIM_EINVAL, "unexpected character");
  refused("12.3.4", MEDSHIM_EINVAL, "unexpected character");
  refused("¥12", MEDSHIM_EINVAL, "must start with a digit");
  refused("92233720368547758.08", MEDSHIM_ERANGE, "too large");
  refused("-92233720368547758.09", MEDSHIM_ERANGE, "too large");
  refused("92233720368547759", MEDSHIM_ERANGE, "too large");
  refused("99999999999999999999999", MEDSHIM_ERANGE, "too large");
  ck_assert_int_eq(medshim_yuan_to_fen(NULL, "1", NULL), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_yuan_to_fen((int64_t[1]){0}, NULL, NULL), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_yuan_to_fen((int64_t[1]){0}, "x", NULL), MEDSHIM_EINVAL);
}
END_TEST

/* Every amount comes back to the same fen, around zero and the edges and
 * at random. */
START_TEST(test_money_round_trip) {
  uint64_t x = 0x9e3779b97f4a7c15u;
  for (int64_t f = -1000; f <= 1000; f++)
    ck_assert_int_eq(fen(yuan(f)), f);
  for (int64_t k = 0; k < 1000; k++) {
    ck_assert_int_eq(fen(yuan(INT64_MAX - k)), INT64_MAX - k);
    ck_assert_int_eq(fen(yuan(INT64_MIN + k)), INT64_MIN + k);
  }
  for (int i = 0; i < 100000; i++) {
    int64_t f;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    f = (int64_t)(x >> (x % 60));
    if (x & 1u)
      f = -f;
    ck_assert_int_eq(fen(yuan(f)), f);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("money");
  TCase *tc = tcase_create("money");
  tcase_add_test(tc, test_money_fen_to_yuan);
  tcase_add_test(tc, test_money_fen_to_yuan_small_buffer);
  tcase_add_test(tc, test_money_yuan_to_fen);
  tcase_add_test(tc, test_money_yuan_refused);
  tcase_add_test(tc, test_money_round_trip);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
