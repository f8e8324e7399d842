/* Instants: ISO 8601 with and without offsets, "24:00", impossible dates. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "medshim/medshim.h"
#include "timeutil_internal.h"
#include "testutil.h"

static int64_t parse(const char *s) {
  int64_t t = 0;
  ck_assert_msg(medshim__time_parse(&t, s, strlen(s)) == 0, "refused %s", s);
  return t;
}

static void refuse(const char *s) {
  int64_t t;
  ck_assert_msg(medshim__time_parse(&t, s, strlen(s)) != 0, "accepted %s", s);
}

START_TEST(test_time_offsets) {
  /* 2022-02-10 00:00 China Standard Time = 2022-02-09T16:00Z */
  ck_assert_int_eq(parse("2022-02-10T00:00:00+08:00"), 1644422400);
  ck_assert_int_eq(parse("2022-02-10T00:00"), 1644422400);
  ck_assert_int_eq(parse("2022-02-10 00:00:00"), 1644422400);
  ck_assert_int_eq(parse("2022-02-10"), 1644422400);
  ck_assert_int_eq(parse("2022-02-09T16:00:00Z"), 1644422400);
  ck_assert_int_eq(parse("2022-02-09T11:00:00-05:00"), 1644422400);
  ck_assert_int_eq(parse("2022-02-10T00:00:00+0800"), 1644422400);
}
END_TEST

START_TEST(test_time_24h) {
  ck_assert_int_eq(parse("2021-12-14T24:00"), parse("2021-12-15T00:00"));
  ck_assert_int_eq(parse("2021-12-31T24:00:00+08:00"), parse("2022-01-01"));
  refuse("2021-12-14T24:01");
  refuse("2021-12-14T25:00");
  refuse("2021-02-29T24:00");
}
END_TEST

START_TEST(test_time_leap_years) {
  ck_assert_int_eq(parse("2024-02-29T12:00") + 86400, parse("2024-03-01T12:00"));
  refuse("2022-02-29");
  refuse("2100-02-29");
  ck_assert_int_gt(parse("2000-02-29"), 0);
}
END_TEST

START_TEST(test_time_malformed) {
  const char *bad[] = {"", "2022", "2022-1-01", "2022-13-01", "2022-00-10",
                       "2022-04-31", "2022-02-10T9:00", "2022-02-10T09:60",
                       "2022-02-10T09:00:61", "2022-02-10X09:00",
                       "2022-02-10T09:00+8", "2022-02-10T09:00+15:00",
                       "2022-02-10T09:00Zjunk", " 2022-02-10"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    refuse(bad[i]);
}
END_TEST

/* Days as people read them: an exclusive deadline at midnight is the day
 * before, inclusive (the notice's "until 2023-12-31" is 2024-01-01T00:00). */
START_TEST(test_time_last_day) {
  char buf[MEDSHIM_DAY_TEXT];
  ck_assert_int_eq(medshim_format_last_day(buf, parse("2024-01-01T00:00")),
                   MEDSHIM_OK);
  ck_assert_str_eq(buf, "2023-12-31");
  ck_assert_int_eq(medshim_format_last_day(buf, parse("2022-12-31T24:00")),
                   MEDSHIM_OK);
  ck_assert_str_eq(buf, "2022-12-31");
  ck_assert_int_eq(medshim_format_last_day(buf, parse("2022-03-01T00:00")),
                   MEDSHIM_OK);
  ck_assert_str_eq(buf, "2022-02-28");
  /* midnight +08:00 is 16:00 UTC the day before: still the day before */
  ck_assert_int_eq(medshim_format_last_day(buf, parse("2024-01-01T00:00Z")),
                   MEDSHIM_OK);
  ck_assert_str_eq(buf, "2024-01-01 before 08:00");
  ck_assert_int_eq(medshim_format_last_day(buf, parse("2022-02-15T12:30")),
                   MEDSHIM_OK);
  ck_assert_str_eq(buf, "2022-02-15 before 12:30");
  ck_assert_int_eq(medshim_format_day(buf, parse("2022-03-15T00:00")),
                   MEDSHIM_OK);
  ck_assert_str_eq(buf, "2022-03-15");
  ck_assert_int_eq(medshim_format_day(buf, parse("2022-03-15T10:05")),
                   MEDSHIM_OK);
  ck_assert_str_eq(buf, "2022-03-15 10:05");
  ck_assert_int_eq(medshim_format_last_day(NULL, 0), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_format_last_day(buf, INT64_C(1) << 50),
                   MEDSHIM_EINVAL);
}
END_TEST

START_TEST(test_time_format) {
  char buf[MEDSHIM_TIME_TEXT];
  medshim__time_format(buf, 1644422400);
  ck_assert_str_eq(buf, "2022-02-10T00:00:00+08:00");
  medshim__time_format(buf, parse("2021-12-22T17:00"));
  ck_assert_str_eq(buf, "2021-12-22T17:00:00+08:00");
}
END_TEST

/* Past 2038-01-19T03:14:07Z, where a 32-bit time_t ends, and past 2106,
 * where an unsigned one does: parsed, formatted and read as days. */
START_TEST(test_time_after_2038) {
  char buf[MEDSHIM_TIME_TEXT > MEDSHIM_DAY_TEXT ? MEDSHIM_TIME_TEXT : MEDSHIM_DAY_TEXT];
  ck_assert_int_eq(parse("2038-01-19T03:14:07Z"), INT64_C(2147483647));
  ck_assert_int_eq(parse("2038-01-19T03:14:08Z"), INT64_C(2147483648));
  ck_assert_int_eq(parse("2106-02-07T06:28:16Z"), INT64_C(4294967296));
  ck_assert_int_eq(parse("2040-02-29T24:00") + 86400, parse("2040-03-02"));
  refuse("2039-02-29");
  medshim__time_format(buf, INT64_C(2147483648));
  ck_assert_str_eq(buf, "2038-01-19T11:14:08+08:00");
  medshim__time_format(buf, parse("2110-07-01T09:30"));
  ck_assert_str_eq(buf, "2110-07-01T09:30:00+08:00");
  ck_assert_int_eq(medshim_format_last_day(buf, parse("2041-01-01T00:00")),
                   MEDSHIM_OK);
  ck_assert_str_eq(buf, "2040-12-31");
}
END_TEST

int main(void) {
  Suite *s = suite_create("time");
  TCase *tc = tcase_create("time");
  tcase_add_test(tc, test_time_offsets);
  tcase_add_test(tc, test_time_24h);
  tcase_add_test(tc, test_time_leap_years);
  tcase_add_test(tc, test_time_after_2038);
  tcase_add_test(tc, test_time_malformed);
  tcase_add_test(tc, test_time_format);
  tcase_add_test(tc, test_time_last_day);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
