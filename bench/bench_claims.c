/* Realistic claims for the benchmarks (see bench_claims.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_claims.h"

static const char *const surnames[] = {"张", "王", "李", "赵", "陈", "刘",
                                       "杨", "黄", "周", "吴"};
static const char *const given[] = {"伟", "芳", "娜", "秀英", "敏", "静",
                                    "丽", "强", "磊", "军"};
static const char *const drugs[] = {"阿莫西林胶囊", "布洛芬缓释胶囊",
                                    "复方甘草片", "头孢克肟分散片",
                                    "血常规检查", "普通门诊诊查费",
                                    "静脉输液"};

size_t bench_claim_json(char *buf, size_t size, const char *prefix, long i) {
  int items = 1 + (int)(i % 7), n;
  long long total = 0;
  char detail[4096];
  int len = snprintf(detail, sizeof detail,
                     "{\"diag_code\":\"J06.900\",\"diag_name\":\"急性上呼吸道感染"
                     "\",\"dept\":\"呼吸内科\",\"med_type\":\"11\","
                     "\"insutype\":\"310\",\"items\":[");
  for (int k = 0; k < items; k++) {
    long long fee = 1200 + (i * 37 + k * 101) % 9000;
    total += fee;
    len += snprintf(detail + len, sizeof detail - (size_t)len,
                    "%s{\"feedetl_sn\":\"%ld-%d\",\"med_list_codg\":"
                    "\"XJ01CAA040A001010100%d\",\"name\":\"%s\","
                    "\"det_item_fee_sumamt\":\"%lld.%02lld\",\"cnt\":\"1\","
                    "\"pric\":\"%lld.%02lld\","
                    "\"fee_ocur_time\":\"2022-02-11 09:%02d:00\"}",
                    k ? "," : "", i, k, k, drugs[k], fee / 100, fee % 100,
                    fee / 100, fee % 100, k);
  }
  snprintf(detail + len, sizeof detail - (size_t)len, "]}");
  n = snprintf(buf, size,
               "{\"visit_id\":\"%s%ld\",\"service\":\"outpatient\","
               "\"insured_admdvs\":\"330102\",\"treated_admdvs\":\"330106\","
               "\"visit_time\":\"2022-02-11T09:30:00+08:00\",\"total_fen\":%lld,"
               "\"self_paid_fen\":%lld,\"invoice_no\":\"33010022%08ld\","
               "\"patient\":{\"name\":\"%s%s\",\"id_no\":\"3301021990%04ld%04ld\","
               "\"psn_no\":\"330100%010lld\",\"cert_type\":\"02\"},"
               "\"detail\":%s}",
               prefix, i, total, total, i % 100000000, surnames[i % 10],
               given[(i / 10) % 10], i % 10000, 1000 + i % 9000,
               (long long)(i % 10000000000LL), detail);
  if (n < 0 || (size_t)n >= size) {
    fprintf(stderr, "bench: claim JSON longer than %zu bytes\n", size);
    exit(1);
  }
  return (size_t)n;
}

medshim_claim *bench_claim(const char *prefix, long i) {
  char buf[6144];
  medshim_claim *c = NULL;
  medshim_error err;
  size_t n = bench_claim_json(buf, sizeof buf, prefix, i);
  if (medshim_claim_parse_json(&c, buf, n, &err) != MEDSHIM_OK) {
    fprintf(stderr, "bench: claim JSON refused: %s: %s\n", err.where,
            err.text);
    exit(1);
  }
  return c;
}
