/* Masking for hosts' logs: by characters (UTF-8), never growing, and the
 * same rule as the claim's masked JSON. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medshim/medshim.h"
#include "testutil.h"

static const char *name(const char *in) {
  static char buf[256];
  ck_assert_int_eq(medshim_mask_name(buf, sizeof buf, in), MEDSHIM_OK);
  return buf;
}

static const char *id(const char *in) {
  static char buf[256];
  ck_assert_int_eq(medshim_mask_id(buf, sizeof buf, in), MEDSHIM_OK);
  return buf;
}

START_TEST(test_mask_name) {
  ck_assert_str_eq(name("张三丰"), "张**");
  ck_assert_str_eq(name("张三"), "张*");
  ck_assert_str_eq(name("欧阳娜娜"), "欧***");
  ck_assert_str_eq(name("张"), "*"); /* one character is not shown */
  ck_assert_str_eq(name("Li Lei"), "L*****");
  ck_assert_str_eq(name("阿卜杜·热合曼"), "阿******");
  ck_assert_str_eq(name(""), "");
  /* 4-byte characters count once */
  ck_assert_str_eq(name("\xf0\xa0\x80\x80\xf0\xa0\x80\x81"), "\xf0\xa0\x80\x80*");
}
END_TEST

START_TEST(test_mask_id) {
  ck_assert_str_eq(id("330102198001011234"), "330*************34");
  ck_assert_str_eq(id("33010219800101123X"), "330*************3X");
  ck_assert_str_eq(id("H1234567"), "H12***67");
  ck_assert_str_eq(id("123456"), "123*56");
  ck_assert_str_eq(id("12345"), "*****");
  ck_assert_str_eq(id("1"), "*");
  ck_assert_str_eq(id(""), "");
}
END_TEST

START_TEST(test_mask_buffers_and_bad_input) {
  char buf[16];
  /* strlen + 1 always suffices; one less does not */
  ck_assert_int_eq(medshim_mask_name(buf, strlen("张三丰") + 1, "张三丰"), MEDSHIM_OK);
  ck_assert_int_eq(medshim_mask_name(buf, 6, "张三丰"), MEDSHIM_OK); /* "张**" and NUL */
  ck_assert_int_eq(medshim_mask_name(buf, 5, "张三丰"), MEDSHIM_ERANGE);
  ck_assert_str_eq(buf, "");
  ck_assert_int_eq(medshim_mask_id(buf, 6, "1234567"), MEDSHIM_ERANGE);
  ck_assert_str_eq(buf, "");
  ck_assert_int_eq(medshim_mask_id(buf, 0, "1"), MEDSHIM_ERANGE);
  ck_assert_int_eq(medshim_mask_name(NULL, 4, "a"), MEDSHIM_EINVAL);
  ck_assert_int_eq(medshim_mask_name(buf, sizeof buf, NULL), MEDSHIM_EINVAL);
  /* not UTF-8 (a GBK name, a cut character): refused, nothing shown */
  ck_assert_int_eq(medshim_mask_name(buf, sizeof buf, "\xd5\xc5\xc8\xfd"), MEDSHIM_EINVAL);
  ck_assert_str_eq(buf, "");
  ck_assert_int_eq(medshim_mask_id(buf, sizeof buf, "12\xe5\xbc"), MEDSHIM_EINVAL);
}
END_TEST

/* The claim's own masked JSON says the same as the helpers. */
START_TEST(test_mask_same_rule_as_claim_json) {
  medshim_claim *c = NULL;
  medshim_error err;
  char *json = NULL, want[64], expect[128];
  const char *in = "{\"visit_id\":\"MZ1\",\"service\":\"outpatient\","
                   "\"insured_admdvs\":\"330102\",\"treated_admdvs\":\"330106\",\"visit_time\":\"2022-02-11T09:30\","
                   "\"total_fen\":100,\"self_paid_fen\":100,\"patient\":{\"name\":"
                   "\"欧阳娜娜\",\"id_no\":\"330102198001011234\"}}";
  ck_assert_msg(medshim_claim_parse_json(&c, in, strlen(in), &err) == MEDSHIM_OK,
                "%s: %s", err.where, err.text);
  ck_assert_int_eq(medshim_claim_to_json(&json, c, 0), MEDSHIM_OK);
  ck_assert_int_eq(medshim_mask_name(want, sizeof want, "欧阳娜娜"), MEDSHIM_OK);
  snprintf(expect, sizeof expect, "\"name\":\"%s\"", want);
  ck_assert_msg(strstr(json, expect) != NULL, "%s not in %s", expect, json);
  ck_assert_int_eq(medshim_mask_id(want, sizeof want, "330102198001011234"), MEDSHIM_OK);
  snprintf(expect, sizeof expect, "\"id_no\":\"%s\"", want);
  ck_assert_msg(strstr(json, expect) != NULL, "%s not in %s", expect, json);
  ck_assert_ptr_null(strstr(json, "娜娜"));
  medshim_free(json);
  medshim_claim_free(c);
}
END_TEST

int main(void) {
  Suite *s = suite_create("mask");
  TCase *tc = tcase_create("mask");
  tcase_add_test(tc, test_mask_name);
  tcase_add_test(tc, test_mask_id);
  tcase_add_test(tc, test_mask_buffers_and_bad_input);
  tcase_add_test(tc, test_mask_same_rule_as_claim_json);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
