/* On-disk layout of the journal (docs/journal-format.md is the prose).
 * All integers little-endian. */
#ifndef MEDSHIM_JOURNAL_FORMAT_INTERNAL_H
#define MEDSHIM_JOURNAL_FORMAT_INTERNAL_H

#include <stdint.h>
#include <string.h>

#define JF_VERSION 1

#define JF_ID_BYTES 16
#define JF_HASH_BYTES 32
#define JF_TAG_BYTES 16
#define JF_NONCE_BYTES 12
#define JF_SALT_BYTES 16

/* keyring: magic[8] ver u16 rsv u16 alg u32 journal_id[16] | nonce[12]
 * wrapped_dk[32] tag[16]. The first 32 bytes are the AAD of the wrap. */
#define JF_KEYRING_MAGIC "MSHKEYR1"
#define JF_KEYRING_AAD_BYTES 32
#define JF_KEYRING_BYTES (32 + JF_NONCE_BYTES + 32 + JF_TAG_BYTES)
#define JF_WRAP_AES256GCM 1
/* SM suite keyrings (journal_suite.c): version 2, algorithm 2; the same
 * layout, the data key wrapped with SM4-CTR + HMAC-SM3 under a key derived
 * from the KEK (HKDF-SM3, salt journal_id). A library that knows only
 * version 1 refuses them as an unsupported format. */
#define JF_KEYRING_V_SM 2
#define JF_WRAP_SM4CTR_HMACSM3 2
/* Largest record key of any suite: SM4 key (16) + HMAC-SM3 key (32). */
#define JF_RECKEY_MAX 48

/* segment header: magic[8] ver u16 hlen u16 flags u32 journal_id[16]
 * segno u64 first_seq u64 salt[16] prev_chain[32] | hmac[32] */
#define JF_SEGMENT_MAGIC "MSHSEGv1"
#define JF_SEGMENT_HEADER_BYTES 128
#define JF_SEGMENT_MAC_OFFSET 96
/* Segment header version 1: records follow the header. Version 2
 * (anchored): two anchor slots, each in a sector of its own, then records
 * from JF_SEGMENT_DATA_V2. */
#define JF_SEGMENT_V1 1
#define JF_SEGMENT_V2 2
#define JF_SEGMENT_DATA_V2 4096

/* anchor slot: magic[8] counter u64 segno u64 seq u64 end u64
 * journal_id[16] chain[32] rsv[8] | hmac[32]. Slot counter & 1 lives at
 * JF_ANCHOR_SLOT0 + (counter & 1) * JF_ANCHOR_SLOT_STRIDE. seq is the last
 * record of the segment known durable when the slot was written (first_seq
 * - 1: none), end the byte offset just after it, chain the running hash
 * after it. */
#define JF_ANCHOR_MAGIC "MSHANCH1"
#define JF_ANCHOR_BYTES 128
#define JF_ANCHOR_MAC_OFFSET 96
#define JF_ANCHOR_SLOT0 512
#define JF_ANCHOR_SLOT_STRIDE 512

/* record: len u32 type u8 ver u8 rsv u16 seq u64 prev_chain[32] |
 * ciphertext | tag[16]. The 48-byte header is the AAD. */
#define JF_RECORD_HEADER_BYTES 48
#define JF_RECORD_OVERHEAD (JF_RECORD_HEADER_BYTES + JF_TAG_BYTES)
#define JF_RECORD_MAX (4u * 1024u * 1024u)
enum jf_record_type { JF_REC_CLAIM = 1, JF_REC_STATUS = 2 };

/* plaintext: inner_len u32 | inner | zero padding to the bucket size.
 * inner: id_len u8 visit_id digest[16] comp u8 raw_len u32 body */
#define JF_DIGEST_BYTES 16
#define JF_COMP_NONE 0
#define JF_COMP_ZLIB 1

/* checkpoint: magic[8] ver u16 rsv u16 rsv u32 journal_id[16] segno u64
 * seq u64 chain[32] | hmac[32] */
#define JF_CHECKPOINT_MAGIC "MSHCKPT1"
#define JF_CHECKPOINT_BODY_BYTES 80
#define JF_CHECKPOINT_BYTES (JF_CHECKPOINT_BODY_BYTES + JF_HASH_BYTES)

#define JF_KEYRING_NAME "keyring"
#define JF_CHECKPOINT_NAME "checkpoint"
#define JF_LOCK_NAME "LOCK"
#define JF_LANE_DIR_NAME "replay" /* the replay lane: a chain of its own */
#define JF_SEGMENT_PREFIX "seg-"
#define JF_SEGMENT_SUFFIX ".msj"

static inline void jf_put16(unsigned char *p, uint16_t v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
}
static inline void jf_put32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}
static inline void jf_put64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint16_t jf_get16(const unsigned char *p) {
  return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t jf_get32(const unsigned char *p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}
static inline uint64_t jf_get64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}

#endif
