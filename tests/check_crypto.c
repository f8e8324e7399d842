/* The journal's suites against the standards: known answers for SM4
 * (GB/T 32907-2016, appendix A) and SM3 (GB/T 32905-2016, appendix A),
 * HMAC-SM3 against RFC 2104 built from that SM3, the SM suite's
 * SM4-CTR + HMAC-SM3 construction rebuilt here from SM4-ECB and HMAC, and
 * round trips and refusals of both suites through the journal's own
 * functions. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "journal_crypto_internal.h"
#include "journal_suite_internal.h"
#include "testutil.h"

static void unhex(unsigned char *out, const char *hex) {
  for (size_t i = 0; hex[2 * i] != '\0'; i++) {
    unsigned v;
    ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
    out[i] = (unsigned char)v;
  }
}

static void expect_hex(const unsigned char *got, const char *hex) {
  unsigned char want[64];
  size_t n = strlen(hex) / 2;
  ck_assert_uint_le(n, sizeof want);
  unhex(want, hex);
  ck_assert_mem_eq(got, want, n);
}

static const char sm4_key_hex[] = "0123456789abcdeffedcba9876543210";

/* SM4-ECB of one block, `rounds` times over (GB/T 32907 A.1 and A.2). */
static void sm4_ecb_iterate(unsigned char block[16], const unsigned char key[16],
                            long rounds) {
  EVP_CIPHER *ecb = EVP_CIPHER_fetch(NULL, "SM4-ECB", NULL);
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int outl = 0;
  ck_assert_ptr_nonnull(ecb);
  ck_assert_ptr_nonnull(ctx);
  ck_assert_int_eq(EVP_EncryptInit_ex2(ctx, ecb, key, NULL, NULL), 1);
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  for (long i = 0; i < rounds; i++) {
    ck_assert_int_eq(EVP_EncryptUpdate(ctx, block, &outl, block, 16), 1);
    ck_assert_int_eq(outl, 16);
  }
  EVP_CIPHER_CTX_free(ctx);
  EVP_CIPHER_free(ecb);
}

START_TEST(test_sm4_gbt32907_vectors) {
  unsigned char key[16], block[16];
  unhex(key, sm4_key_hex);
  unhex(block, sm4_key_hex); /* plaintext = key */
  sm4_ecb_iterate(block, key, 1);
  expect_hex(block, "681edf34d206965e86b3e94f536e4246");
  unhex(block, sm4_key_hex);
  sm4_ecb_iterate(block, key, 1000000);
  expect_hex(block, "595298c7c6fd271f0402f804c33d3f66");
}
END_TEST

static void sm3(unsigned char out[32], const void *data, size_t len) {
  unsigned int outl = 0;
  ck_assert_int_eq(EVP_Digest(data, len, out, &outl, EVP_sm3(), NULL), 1);
  ck_assert_uint_eq(outl, 32);
}

START_TEST(test_sm3_gbt32905_vectors) {
  unsigned char d[32];
  const char *abcd16 =
      "abcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcd";
  sm3(d, "abc", 3);
  expect_hex(d, "66c7f0f462eeedd9d1f2d46bdc10e4e2"
                "4167c4875cf2f7a2297da02b8f4ba8e0");
  ck_assert_uint_eq(strlen(abcd16), 64);
  sm3(d, abcd16, 64);
  expect_hex(d, "debe9ff92275b8a138604889c18e5a4d"
                "6fdb70e5387e5765293dcba39c0c5732");
}
END_TEST

/* HMAC per RFC 2104 with SM3 (block 64 bytes), built from the digest the
 * test above checks: what the library's HMAC-SM3 must equal. */
static void rfc2104_hmac_sm3(unsigned char out[32], const unsigned char *key,
                             size_t key_len, const unsigned char *data,
                             size_t len) {
  unsigned char k[64], buf[64 + 4096], inner[32];
  memset(k, 0, sizeof k);
  if (key_len > 64)
    sm3(k, key, key_len);
  else
    memcpy(k, key, key_len);
  ck_assert_uint_le(len, 4096);
  for (int i = 0; i < 64; i++)
    buf[i] = k[i] ^ 0x36;
  memcpy(buf + 64, data, len);
  sm3(inner, buf, 64 + len);
  for (int i = 0; i < 64; i++)
    buf[i] = k[i] ^ 0x5c;
  memcpy(buf + 64, inner, 32);
  sm3(out, buf, 96);
}

static const medshim__jsuite *sm_suite(void) {
  const medshim__jsuite *s = medshim__jsuite_get(MEDSHIM_JOURNAL_SUITE_SM);
  ck_assert_ptr_nonnull(s);
  return s;
}

START_TEST(test_hmac_sm3_is_rfc2104) {
  unsigned char key[32], got[32], want[32];
  const char *msg = "medshim HMAC-SM3";
  for (int i = 0; i < 32; i++)
    key[i] = (unsigned char)(i * 7 + 1);
  ck_assert_int_eq(medshim__hmac(sm_suite(), got, key,
                                 (const unsigned char *)msg, strlen(msg)),
                   0);
  rfc2104_hmac_sm3(want, key, 32, (const unsigned char *)msg, strlen(msg));
  ck_assert_mem_eq(got, want, 32);
  /* and not the default suite's HMAC-SHA256 */
  ck_assert_int_eq(
      medshim__hmac(medshim__jsuite_get(MEDSHIM_JOURNAL_SUITE_DEFAULT), got,
                    key, (const unsigned char *)msg, strlen(msg)),
      0);
  ck_assert_int_ne(memcmp(got, want, 32), 0);
}
END_TEST

START_TEST(test_suite_table) {
  const medshim__jsuite *d = medshim__jsuite_get(MEDSHIM_JOURNAL_SUITE_DEFAULT);
  const medshim__jsuite *s = sm_suite();
  ck_assert_ptr_nonnull(d);
  ck_assert_ptr_null(medshim__jsuite_get(7));
  ck_assert_str_eq(d->name, "default");
  ck_assert_str_eq(s->name, "sm");
  ck_assert_str_eq(medshim_journal_suite_name(MEDSHIM_JOURNAL_SUITE_SM), "sm");
  ck_assert_ptr_null(medshim_journal_suite_name(7));
  /* format 1 keyrings keep naming the default suite */
  ck_assert_ptr_eq(medshim__jsuite_of_keyring(1, 1), d);
  ck_assert_ptr_eq(medshim__jsuite_of_keyring(2, 2), s);
  ck_assert_ptr_null(medshim__jsuite_of_keyring(1, 2));
  ck_assert_ptr_null(medshim__jsuite_of_keyring(2, 1));
  ck_assert_uint_le(s->reckey_len, JF_RECKEY_MAX);
  ck_assert_uint_eq(s->cipher_key_len, 16);
}
END_TEST

/* The SM suite's seal rebuilt from its parts: ciphertext = pt XOR
 * SM4-ECB(key[0..16), nonce || counter32 from 0), tag = HMAC-SM3(
 * key[16..48), aad_len u64 LE || aad || nonce || ct)[0..16). */
START_TEST(test_sm4_ctr_hmac_sm3_construction) {
  const medshim__jsuite *s = sm_suite();
  medshim__jcrypto *c = medshim__jcrypto_new(s);
  unsigned char key[JF_RECKEY_MAX], nonce[JF_NONCE_BYTES], aad[48];
  unsigned char pt[100], ct[100], tag[JF_TAG_BYTES], back[100];
  unsigned char ks[16], mac_in[8 + 48 + JF_NONCE_BYTES + 100], mac[32];
  size_t n = 0;
  ck_assert_ptr_nonnull(c);
  for (size_t i = 0; i < sizeof key; i++)
    key[i] = (unsigned char)(0xa0 + i);
  for (size_t i = 0; i < sizeof nonce; i++)
    nonce[i] = (unsigned char)(i + 1);
  for (size_t i = 0; i < sizeof aad; i++)
    aad[i] = (unsigned char)(3 * i);
  for (size_t i = 0; i < sizeof pt; i++)
    pt[i] = (unsigned char)(i ^ 0x5a);
  ck_assert_int_eq(medshim__jcrypto_seal(c, key, nonce, aad, sizeof aad, pt,
                                         sizeof pt, ct, tag),
                   0);
  for (size_t blk = 0; blk * 16 < sizeof pt; blk++) {
    memcpy(ks, nonce, JF_NONCE_BYTES);
    ks[12] = ks[13] = ks[14] = 0;
    ks[15] = (unsigned char)blk;
    sm4_ecb_iterate(ks, key, 1);
    for (size_t i = 0; i < 16 && blk * 16 + i < sizeof pt; i++)
      ck_assert_uint_eq(ct[blk * 16 + i], pt[blk * 16 + i] ^ ks[i]);
  }
  jf_put64(mac_in, sizeof aad);
  n = 8;
  memcpy(mac_in + n, aad, sizeof aad);
  n += sizeof aad;
  memcpy(mac_in + n, nonce, sizeof nonce);
  n += sizeof nonce;
  memcpy(mac_in + n, ct, sizeof ct);
  n += sizeof ct;
  rfc2104_hmac_sm3(mac, key + 16, 32, mac_in, n);
  ck_assert_mem_eq(tag, mac, JF_TAG_BYTES);
  ck_assert_int_eq(medshim__jcrypto_open(c, key, nonce, aad, sizeof aad, ct,
                                         sizeof ct, tag, back),
                   0);
  ck_assert_mem_eq(back, pt, sizeof pt);
  medshim__jcrypto_free(c);
}
END_TEST

/* Both suites: a round trip, and every single-bit change of the key,
 * nonce, AAD, ciphertext or tag refused. */
static void round_trip_and_refusals(unsigned suite_id) {
  const medshim__jsuite *s = medshim__jsuite_get(suite_id);
  medshim__jcrypto *c = medshim__jcrypto_new(s);
  unsigned char key[JF_RECKEY_MAX], nonce[JF_NONCE_BYTES], aad[48];
  unsigned char pt[300], ct[300], tag[JF_TAG_BYTES], back[300];
  ck_assert_ptr_nonnull(c);
  ck_assert_ptr_eq(medshim__jcrypto_suite(c), s);
  ck_assert_int_eq(medshim__random(key, sizeof key), 0);
  ck_assert_int_eq(medshim__random(nonce, sizeof nonce), 0);
  ck_assert_int_eq(medshim__random(aad, sizeof aad), 0);
  ck_assert_int_eq(medshim__random(pt, sizeof pt), 0);
  ck_assert_int_eq(
      medshim__jcrypto_seal(c, key, nonce, aad, sizeof aad, pt, sizeof pt, ct,
                            tag),
      0);
  ck_assert_int_ne(memcmp(ct, pt, sizeof pt), 0);
  ck_assert_int_eq(medshim__jcrypto_open(c, key, nonce, aad, sizeof aad, ct,
                                         sizeof ct, tag, back),
                   0);
  ck_assert_mem_eq(back, pt, sizeof pt);
  /* Encrypt-then-MAC authenticates under the MAC key: the cipher key
   * half is not an input of the tag (both halves come from one HKDF
   * output, so a wrong key changes both). */
  size_t mac_from = s->reckey_len > s->cipher_key_len ? s->cipher_key_len : 0;
  struct {
    unsigned char *p;
    size_t from, len;
  } parts[] = {{key, mac_from, s->reckey_len}, {nonce, 0, sizeof nonce},
               {aad, 0, sizeof aad},           {ct, 0, sizeof ct},
               {tag, 0, sizeof tag}};
  for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
    for (size_t byte = parts[k].from; byte < parts[k].len; byte += 7) {
      parts[k].p[byte] ^= 0x10;
      memset(back, 0xee, sizeof back);
      ck_assert_msg(medshim__jcrypto_open(c, key, nonce, aad, sizeof aad, ct,
                                          sizeof ct, tag, back) != 0,
                    "%s: part %u byte %u changed but opened", s->name,
                    (unsigned)k, (unsigned)byte);
      parts[k].p[byte] ^= 0x10;
    }
  }
  /* only the head decrypted: still the whole ciphertext authenticated */
  memset(back, 0xee, sizeof back);
  ck_assert_int_eq(medshim__jcrypto_open_head(c, key, nonce, aad, sizeof aad,
                                              ct, sizeof ct, tag, back, 20),
                   0);
  ck_assert_mem_eq(back, pt, 20);
  ct[sizeof ct - 1] ^= 1;
  ck_assert_int_ne(medshim__jcrypto_open_head(c, key, nonce, aad, sizeof aad,
                                              ct, sizeof ct, tag, back, 20),
                   0);
  ct[sizeof ct - 1] ^= 1;
  /* the cut AAD: same bytes split differently */
  ck_assert_int_ne(medshim__jcrypto_open(c, key, nonce, aad, sizeof aad - 1,
                                         ct, sizeof ct, tag, back),
                   0);
  medshim__jcrypto_free(c);
}

START_TEST(test_round_trip_default) {
  round_trip_and_refusals(MEDSHIM_JOURNAL_SUITE_DEFAULT);
}
END_TEST

START_TEST(test_round_trip_sm) { round_trip_and_refusals(MEDSHIM_JOURNAL_SUITE_SM); }
END_TEST

START_TEST(test_sm_chain_is_sm3) {
  const medshim__jsuite *s = sm_suite();
  medshim__jcrypto *c = medshim__jcrypto_new(s);
  unsigned char chain[32], buf[32 + 48 + 16], want[32];
  ck_assert_ptr_nonnull(c);
  for (size_t i = 0; i < sizeof buf; i++)
    buf[i] = (unsigned char)i;
  memcpy(chain, buf, 32);
  ck_assert_int_eq(medshim__chain_next(c, chain, buf + 32, 48, buf + 80), 0);
  sm3(want, buf, sizeof buf);
  ck_assert_mem_eq(chain, want, 32);
  medshim__jcrypto_free(c);
}
END_TEST

int main(void) {
  Suite *s = suite_create("crypto");
  TCase *tc = tcase_create("crypto");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_sm4_gbt32907_vectors);
  tcase_add_test(tc, test_sm3_gbt32905_vectors);
  tcase_add_test(tc, test_hmac_sm3_is_rfc2104);
  tcase_add_test(tc, test_suite_table);
  tcase_add_test(tc, test_sm4_ctr_hmac_sm3_construction);
  tcase_add_test(tc, test_round_trip_default);
  tcase_add_test(tc, test_round_trip_sm);
  tcase_add_test(tc, test_sm_chain_is_sm3);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
