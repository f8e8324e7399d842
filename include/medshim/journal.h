/**
 * @file journal.h
 * @brief The encrypted, tamper-evident, crash-safe claim journal.
 *
 * Thread safety: a ::medshim_journal handle may be shared by any number of
 * threads; every function on it takes the handle's lock. Concurrent
 * medshim_journal_defer() calls share one fdatasync (group commit).
 * medshim_journal_errmsg() text belongs to the handle and may be replaced by
 * another thread's failing call: read it right after the failure, from the
 * thread that failed, when several threads share a handle.
 *
 * Process rule: a journal has two record chains, each with one writer at a
 * time: the claims (main lane, written by medshim_journal_defer()) and the
 * replay state (replay lane, written by medshim_journal_set_status():
 * replay outcomes, void, retry, expire). A handle opened without flags
 * takes the claim lock at open (a second claim writer gets MEDSHIM_EBUSY)
 * and the replay lock at its first status write; one opened with
 * MEDSHIM_JOURNAL_REPLAY takes only the replay lock, at its first status
 * write (a second status writer gets MEDSHIM_EBUSY). So a process holding
 * the journal can replay in-process while its cashiers defer, and
 * `medshim replay` can run while a cashier process holds the journal; two
 * replays at once cannot. Read-only handles may be opened by any number of
 * processes, also while writers append; they see what was written when
 * they opened. A status-writing handle sees the claims as of its open.
 *
 * Durability: a call that returns MEDSHIM_OK has written, flushed and
 * fdatasync'ed its records. After any write or sync failure the handle is
 * poisoned: every later write returns MEDSHIM_EPOISONED and nothing is
 * retried. Close it and open the journal again, which trims a torn tail.
 *
 * The on-disk format is documented in docs/journal-format.md.
 */
#ifndef MEDSHIM_JOURNAL_H
#define MEDSHIM_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "medshim/claim.h"
#include "medshim/errors.h"
#include "medshim/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Size of a key-encryption key (KEK), bytes. */
#define MEDSHIM_KEY_BYTES 32

/**
 * Callback that supplies the key-encryption key, e.g. from the HIS's secret
 * store. Write exactly MEDSHIM_KEY_BYTES bytes to @p key.
 * @return 0 on success, non-zero to fail the open with MEDSHIM_EKEY.
 */
typedef int (*medshim_key_fn)(unsigned char key[MEDSHIM_KEY_BYTES],
                              void *payload);

/** Size of the buffer a ::medshim_key_fn2 is given, bytes. */
#define MEDSHIM_KEY_FN2_CAP 256

/**
 * Callback that supplies the key-encryption key as the secret store holds
 * it, with its length (options version 2): the MEDSHIM_KEY_BYTES raw
 * bytes, or their text as medshim_key_import() reads it (64 hexadecimal
 * digits or 44 characters of base64, blanks around it ignored).
 * @param[out] buf where to write it, at most @p cap bytes (wiped after use)
 * @param[in] cap MEDSHIM_KEY_FN2_CAP
 * @param[out] len how many bytes were written
 * @return 0 on success, non-zero to fail the open with MEDSHIM_EKEY.
 */
typedef int (*medshim_key_fn2)(unsigned char *buf, size_t cap, size_t *len,
                               void *payload);

/** Open for reading only (no lock taken, nothing written, tail not trimmed). */
#define MEDSHIM_JOURNAL_READONLY 0x1u
/** Create the journal (directory and keyring) if it does not exist. */
#define MEDSHIM_JOURNAL_CREATE 0x2u
/**
 * Claims read-only, replay state writable: no claim lock is taken (claims
 * are read as with READONLY, defer returns MEDSHIM_EREADONLY) but
 * medshim_journal_set_status() works. What `medshim replay`, void, retry
 * and expire use, so that they run while a cashier process holds the
 * journal. Statuses go to the journal's replay lane; its writer lock is
 * taken by the first status write and held until close (a second status
 * writer gets MEDSHIM_EBUSY). Excludes READONLY; does not CREATE.
 */
#define MEDSHIM_JOURNAL_REPLAY 0x4u
/**
 * Salvage: read-only (as READONLY), and no damage stops the open. Every
 * record that authenticates is reached: after damaged bytes the scan goes
 * on at the next authentic record, across missing or renamed segments,
 * broken links and a missing or altered checkpoint; a replay lane that
 * cannot be read leaves claims with their main-lane status. So an
 * operator can list and export what is intact of a damaged journal.
 * medshim_journal_salvage_report() says what was passed. Nothing is
 * trimmed or written. Excludes CREATE and REPLAY.
 */
#define MEDSHIM_JOURNAL_SALVAGE 0x8u

/** Options for medshim_journal_open(). */
typedef struct medshim_journal_options {
  unsigned int version;       /**< MEDSHIM_JOURNAL_OPTIONS_VERSION */
  unsigned int flags;         /**< MEDSHIM_JOURNAL_READONLY, _CREATE, _REPLAY */
  const char *key_file;       /**< path of a key file (the 32 bytes, or their
                                   hex or base64 text), or NULL */
  medshim_key_fn key_fn;      /**< used when key_file is NULL */
  void *key_payload;          /**< passed to key_fn and key_fn2 */
  uint64_t segment_max_bytes; /**< roll to a new segment past this; 0: 64 MiB */
  /* version 2 */
  medshim_key_fn2 key_fn2;    /**< used when key_file and key_fn are NULL */
  unsigned int suite;         /**< MEDSHIM_JOURNAL_SUITE_* (see below) */
} medshim_journal_options;

/**
 * Cryptographic suites, chosen when a journal is created and recorded in
 * its keyring; every later open, verify, rekey, salvage and replay follows
 * the journal's own suite.
 * - MEDSHIM_JOURNAL_SUITE_DEFAULT (0): AES-256-GCM, SHA-256 chain,
 *   HMAC-SHA256. Opening an existing journal with 0 accepts any suite.
 * - MEDSHIM_JOURNAL_SUITE_SM: SM4-CTR with HMAC-SM3 (encrypt-then-MAC),
 *   SM3 chain (docs/national-crypto.md). Opening an existing journal of
 *   another suite with it fails with MEDSHIM_EINVAL, so that a host that
 *   asks for SM never writes to a journal that is not.
 */
#define MEDSHIM_JOURNAL_SUITE_DEFAULT 0u
/** The national (SM) suite: see MEDSHIM_JOURNAL_SUITE_DEFAULT. */
#define MEDSHIM_JOURNAL_SUITE_SM 1u

/** Version of ::medshim_journal_options this header describes (its
 * `version` field). Version 1 (without key_fn2 and suite) is still
 * accepted by every function. */
#define MEDSHIM_JOURNAL_OPTIONS_VERSION 2
/** Initialiser of a ::medshim_journal_options: this header's version,
 * every other field its default. */
#define MEDSHIM_JOURNAL_OPTIONS_INIT {MEDSHIM_JOURNAL_OPTIONS_VERSION, 0u, NULL, NULL, NULL, 0u, NULL, 0u}

/** @return MEDSHIM_OK or MEDSHIM_EINVAL (NULL or unknown version; 1 and
 *          the current version are known). */
MEDSHIM_API int medshim_journal_options_init(medshim_journal_options *opts,
                                             unsigned int version);

/** Opaque journal handle. */
typedef struct medshim_journal medshim_journal;

/**
 * Open (or with MEDSHIM_JOURNAL_CREATE create) the journal in directory
 * @p dir. A writer trims a torn tail left by a crash and starts a new
 * segment; it never appends to a segment written by an earlier handle.
 * The index is built by streaming the records: claims are not kept in memory.
 * @param[out] out the handle, or NULL on failure
 * @param[in] dir the journal directory
 * @param[in] opts options (NULL: defaults, which lack a key and fail)
 * @param[out] err optional detail on failure (where = file, text = reason)
 * @return MEDSHIM_OK; MEDSHIM_EINVAL; MEDSHIM_ENOTFOUND (no journal there and
 *         no CREATE); MEDSHIM_EKEY (no key, bad key file, wrong key);
 *         MEDSHIM_EBUSY (another writer); MEDSHIM_ECORRUPT (damage other than
 *         a torn tail; run medshim_journal_verify() for the report);
 *         MEDSHIM_EFORMAT; MEDSHIM_EIO; MEDSHIM_ENOMEM.
 */
MEDSHIM_API int medshim_journal_open(medshim_journal **out, const char *dir,
                                     const medshim_journal_options *opts,
                                     medshim_error *err);

/**
 * Make what was written durable and write a checkpoint (writers), release
 * the lock, wipe keys, free. The handle is freed whatever is returned.
 * @return MEDSHIM_OK (also for NULL and read-only handles); MEDSHIM_EIO when
 *         the final sync or the checkpoint could not be written (a full
 *         disk, for example): every claim acknowledged before is durable,
 *         but the checkpoint does not cover the last records, so report it;
 *         MEDSHIM_EPOISONED when an earlier write or sync had already failed
 *         on this handle (no checkpoint was written).
 */
MEDSHIM_API int medshim_journal_close(medshim_journal *journal);

/**
 * Detail of the last failure on this handle (never personal data).
 * @return text valid until the next call on the handle; "" if none.
 */
MEDSHIM_API const char *medshim_journal_errmsg(const medshim_journal *journal);

/** Outcome of a defer. */
typedef enum medshim_defer_result {
  MEDSHIM_DEFER_STORED = 1,   /**< new claim, durable */
  MEDSHIM_DEFER_DUPLICATE = 2 /**< same visit_id and content already stored */
} medshim_defer_result;

/**
 * Journal a self-paid claim durably. Returns after fdatasync.
 * @param[out] out STORED or DUPLICATE (may be NULL)
 * @return MEDSHIM_OK; MEDSHIM_ECONFLICT (visit_id stored with other
 *         content: nothing written); MEDSHIM_EREADONLY; MEDSHIM_EPOISONED;
 *         MEDSHIM_EIO (write or sync failed: the claim is NOT acknowledged
 *         and the handle is now poisoned); MEDSHIM_ENOMEM; MEDSHIM_EINVAL.
 */
MEDSHIM_API int medshim_journal_defer(medshim_journal *journal,
                                      const medshim_claim *claim,
                                      medshim_defer_result *out);

/**
 * Journal several claims with one fdatasync. Each claim gets its own
 * outcome in @p results: MEDSHIM_DEFER_STORED, MEDSHIM_DEFER_DUPLICATE or a
 * negative code (MEDSHIM_ECONFLICT); a conflict does not stop the others.
 * @return MEDSHIM_OK when every claim was either stored, a duplicate or a
 *         conflict (see results); otherwise the fatal code (EIO, EPOISONED,
 *         ...) and then no claim of the batch is acknowledged.
 */
MEDSHIM_API int medshim_journal_defer_batch(medshim_journal *journal,
                                            const medshim_claim *const *claims,
                                            size_t count, int *results);

/**
 * medshim_journal_defer_batch() without the wait for the disk: returns once
 * the records are written to the file, before they are durable. They
 * become durable with the next medshim_journal_sync() (or the next durable
 * defer); until that has returned MEDSHIM_OK nobody may be told that they
 * are stored, and a crash may lose them. Lets a caller prepare its next
 * batch while the last one is being synced (`medshim defer` does).
 * Results and return codes as for medshim_journal_defer_batch().
 */
MEDSHIM_API int medshim_journal_defer_batch_nosync(
    medshim_journal *journal, const medshim_claim *const *claims,
    size_t count, int *results);

/**
 * Make every record written so far durable (one fdatasync, shared with
 * concurrent callers).
 * @return MEDSHIM_OK; MEDSHIM_EPOISONED or MEDSHIM_EIO when a write or sync
 *         failed (then nothing written since the last successful sync may
 *         be acknowledged, and the handle is poisoned).
 */
MEDSHIM_API int medshim_journal_sync(medshim_journal *journal);

/** Lifecycle states of a claim. */
typedef enum medshim_claim_state {
  MEDSHIM_STATE_PENDING = 1,    /**< deferred, waiting for its replay window */
  MEDSHIM_STATE_IN_DOUBT = 2,   /**< an attempt was sent; outcome unknown */
  MEDSHIM_STATE_SETTLED = 3,    /**< settled on the platform */
  MEDSHIM_STATE_REJECTED = 4,   /**< permanent rejection: needs a person */
  MEDSHIM_STATE_RETRY_WAIT = 5, /**< transient failure; retry after a delay */
  MEDSHIM_STATE_EXPIRED = 6,    /**< window closed before settlement */
  MEDSHIM_STATE_MANUAL = 7,     /**< route agency: manual reimbursement */
  MEDSHIM_STATE_VOIDED = 8      /**< cancelled or refunded by the HIS */
} medshim_claim_state;

/** Name of a state ("pending", "in_doubt", ...); NULL for an unknown value. */
MEDSHIM_API const char *medshim_state_name(medshim_claim_state state);
/** Parse a state name. @return MEDSHIM_OK or MEDSHIM_EINVAL. */
MEDSHIM_API int medshim_state_parse(medshim_claim_state *out, const char *name);

/** Longest platform settlement id (setl_id) kept, in bytes. */
#define MEDSHIM_SETTLEMENT_ID_MAX 64
/** Longest platform refusal code kept, in bytes. */
#define MEDSHIM_REJECT_CODE_MAX 32
/** Longest platform refusal message kept, in bytes (never personal data). */
#define MEDSHIM_REJECT_MESSAGE_MAX 256

/**
 * The current status of a claim: its last state change. Money in fen.
 * Strings are NUL-terminated and empty when not applicable.
 */
typedef struct medshim_claim_status {
  unsigned int version;            /**< MEDSHIM_CLAIM_STATUS_VERSION */
  medshim_claim_state state;       /**< current state */
  int64_t changed_at;              /**< instant of the change (Unix s) */
  uint32_t attempts;               /**< settle attempts made so far */
  int64_t not_before;              /**< retry_wait: next attempt not before */
  char settlement_id[MEDSHIM_SETTLEMENT_ID_MAX + 1]; /**< platform setl_id */
  int64_t fund_paid_fen;           /**< paid by the funds */
  int64_t acct_paid_fen;           /**< paid from the personal account */
  int64_t patient_paid_fen;        /**< what the patient owed in cash */
  int64_t refund_fen;              /**< self_paid - patient_paid; may be < 0 */
  char code[MEDSHIM_REJECT_CODE_MAX + 1];          /**< rejection code */
  char message[MEDSHIM_REJECT_MESSAGE_MAX + 1];    /**< rejection text */
  uint64_t seq;                    /**< journal sequence of the claim record */
  /* version 2 */
  int64_t attempt_started_at;      /**< wall clock when the last attempt began */
  char mdtrt_id[MEDSHIM_SETTLEMENT_ID_MAX + 1];  /**< platform visit id */
  char msgid[31];                  /**< msgid of the settling request */
  int64_t setl_time;               /**< platform settlement time (Unix s) */
  int64_t total_fen;               /**< medfee_sumamt the platform settled */
  int64_t hospital_share_fen;      /**< hosp_part_amt */
  int window_assigned;             /**< 1: `window` replaces the claim's own */
  medshim_claim_window window;     /**< assigned by medshim_replay_assign_windows() */
} medshim_claim_status;

/** Version of ::medshim_claim_status this header describes (its `version` field). */
#define MEDSHIM_CLAIM_STATUS_VERSION 2

/** Zero a status and set its version and state PENDING. */
MEDSHIM_API int medshim_claim_status_init(medshim_claim_status *status,
                                          unsigned int version);

/**
 * Durably record a state change for a stored claim (used by replay, void,
 * retry). The whole @p status becomes the claim's current status. Written
 * to the replay lane; the first call on a handle takes its writer lock.
 * @return MEDSHIM_OK; MEDSHIM_ENOTFOUND; MEDSHIM_EINVAL; MEDSHIM_EREADONLY;
 *         MEDSHIM_EBUSY (another process or handle writes statuses);
 *         MEDSHIM_EPOISONED; MEDSHIM_EIO; MEDSHIM_ECORRUPT (the replay lane
 *         was damaged since open).
 */
MEDSHIM_API int medshim_journal_set_status(medshim_journal *journal,
                                           const char *visit_id,
                                           const medshim_claim_status *status);

/**
 * Look up one claim.
 * @param[out] claim the claim, caller frees (may be NULL if not wanted)
 * @param[out] status its current status (may be NULL)
 * @return MEDSHIM_OK, MEDSHIM_ENOTFOUND, MEDSHIM_ECORRUPT, MEDSHIM_EIO.
 */
MEDSHIM_API int medshim_journal_get(medshim_claim **claim,
                                    medshim_claim_status *status,
                                    medshim_journal *journal,
                                    const char *visit_id);

/**
 * Called once per claim, in journal order. The claim and status are valid
 * only during the call. @return 0 to go on, non-zero to stop.
 */
typedef int (*medshim_journal_visit_fn)(const medshim_claim *claim,
                                        const medshim_claim_status *status,
                                        void *payload);

/**
 * Visit every claim with its current status, reading records from disk one
 * at a time. The handle's lock is NOT held during the callback, but claims
 * deferred by other threads meanwhile may or may not be visited.
 * @return MEDSHIM_OK; MEDSHIM_EUSER when the callback stopped the walk;
 *         MEDSHIM_ECORRUPT; MEDSHIM_EIO; MEDSHIM_ENOMEM.
 */
MEDSHIM_API int medshim_journal_foreach(medshim_journal *journal,
                                        medshim_journal_visit_fn fn,
                                        void *payload);

/** Number of distinct claims in the journal. */
MEDSHIM_API size_t medshim_journal_count(const medshim_journal *journal);

/** The journal's suite, MEDSHIM_JOURNAL_SUITE_* (DEFAULT for NULL). */
MEDSHIM_API unsigned int medshim_journal_suite(const medshim_journal *journal);
/** "default" or "sm" for a MEDSHIM_JOURNAL_SUITE_*; NULL if unknown. */
MEDSHIM_API const char *medshim_journal_suite_name(unsigned int suite);

/** Length of a replay key, without the terminating NUL. */
#define MEDSHIM_REPLAY_KEY_LEN 30

/**
 * The claim's stable replay key: "MS" followed by 28 lowercase hex digits,
 * derived with a keyed hash from the journal's data key and the visit_id.
 * It is the same on every attempt and in every run (rekey does not change
 * it), differs between journals, and reveals nothing about the visit
 * without the key. The HIS adapter passes it to the platform (for example
 * in the request's msgid sequence or as its own idempotency key) so that a
 * lost answer can be looked up.
 * @param[out] out MEDSHIM_REPLAY_KEY_LEN + 1 bytes
 * @return MEDSHIM_OK, MEDSHIM_EINVAL, MEDSHIM_ECRYPTO.
 */
MEDSHIM_API int medshim_journal_replay_key(char out[MEDSHIM_REPLAY_KEY_LEN + 1],
                                           const medshim_journal *journal,
                                           const char *visit_id);

/** Longest receipt text, without the terminating NUL. */
#define MEDSHIM_RECEIPT_LEN_MAX 48

/**
 * The claim's receipt: a short text ("R1-" journal tag, sequence, MAC;
 * at most MEDSHIM_RECEIPT_LEN_MAX characters, letters, digits and '-')
 * that binds this journal, the claim's visit_id, its place in the record
 * chain and the record itself under a key derived from the journal's data
 * key. The HIS keeps it with its visit (a column of the visit row) once
 * the claim is acknowledged. It is the journal's external anchor: a
 * directory cannot prove on its own that it was not replaced by an older
 * copy of itself, but a receipt the journal no longer matches can
 * (medshim_journal_check_receipt(), `medshim verify --receipts`). It
 * reveals nothing about the visit without the key.
 * @param[out] out MEDSHIM_RECEIPT_LEN_MAX + 1 bytes
 * @return MEDSHIM_OK; MEDSHIM_ENOTFOUND (no such claim); MEDSHIM_EINVAL;
 *         MEDSHIM_ECORRUPT, MEDSHIM_EIO (the record cannot be read).
 */
MEDSHIM_API int medshim_journal_receipt(char out[MEDSHIM_RECEIPT_LEN_MAX + 1],
                                        medshim_journal *journal,
                                        const char *visit_id);

/**
 * Check a receipt the HIS kept for @p visit_id against the journal.
 * medshim_journal_errmsg() says what is wrong on failure.
 * @return MEDSHIM_OK when the journal holds the very record the receipt
 *         was issued for; MEDSHIM_ECORRUPT when it does not (the claim is
 *         missing, or its record is another one: the journal directory was
 *         rolled back to an older copy, cut, or replaced);
 *         MEDSHIM_EKEY (a receipt of another journal); MEDSHIM_EINVAL (not
 *         a receipt, or NULL); MEDSHIM_EIO.
 */
MEDSHIM_API int medshim_journal_check_receipt(medshim_journal *journal,
                                              const char *visit_id,
                                              const char *receipt);

/** What medshim_journal_verify() found. */
typedef enum medshim_damage {
  MEDSHIM_DAMAGE_NONE = 0,
  MEDSHIM_DAMAGE_BAD_RECORD = 1,      /**< record fails authentication (bit flip, splice) */
  MEDSHIM_DAMAGE_SEQUENCE = 2,        /**< record sequence gap, duplicate or reorder */
  MEDSHIM_DAMAGE_CHAIN = 3,           /**< running hash does not link */
  MEDSHIM_DAMAGE_MISSING_SEGMENT = 4, /**< a segment is missing or out of order */
  MEDSHIM_DAMAGE_BAD_SEGMENT = 5,     /**< segment header damaged or foreign */
  MEDSHIM_DAMAGE_TRUNCATED = 6,       /**< fewer records than the checkpoint says */
  MEDSHIM_DAMAGE_BAD_CHECKPOINT = 7,  /**< checkpoint damaged */
  MEDSHIM_DAMAGE_TORN_TAIL = 8        /**< incomplete last record (a crash, not tampering) */
} medshim_damage;

/** Report of medshim_journal_verify(). */
typedef struct medshim_verify_report {
  unsigned int version;    /**< MEDSHIM_VERIFY_REPORT_VERSION */
  medshim_damage damage;   /**< first damage found, NONE if intact */
  uint64_t segments;       /**< segments checked */
  uint64_t records;        /**< records authenticated */
  uint64_t claims;         /**< claim records among them */
  uint64_t segment;        /**< segment number of the damage */
  uint64_t seq;            /**< record sequence at or after the damage */
  uint64_t offset;         /**< byte offset in that segment */
  char text[MEDSHIM_ERROR_TEXT_MAX]; /**< human description */
} medshim_verify_report;

/** Version of ::medshim_verify_report this header describes (its `version` field). */
#define MEDSHIM_VERIFY_REPORT_VERSION 1

/**
 * What a handle opened with MEDSHIM_JOURNAL_SALVAGE passed over: the first
 * damage (kind, segment, record, offset, text) and, in report->segments,
 * how many damaged places were passed (records left out included).
 * @return MEDSHIM_OK when nothing was damaged (or the handle is not a
 *         salvage handle); MEDSHIM_ECORRUPT with the report; MEDSHIM_EINVAL.
 */
MEDSHIM_API int medshim_journal_salvage_report(const medshim_journal *journal,
                                               medshim_verify_report *report);

/** Name of a damage kind ("bad_record", ...). */
MEDSHIM_API const char *medshim_damage_name(medshim_damage damage);

/**
 * Check every segment, record, link and the checkpoint without changing
 * anything. A torn tail beyond the checkpoint is reported as TORN_TAIL with
 * MEDSHIM_OK (it is what a crash leaves; the next writer trims it).
 * @param[out] report filled in (set its version first)
 * @return MEDSHIM_OK when intact; MEDSHIM_ECORRUPT with the report;
 *         MEDSHIM_EKEY, MEDSHIM_ENOTFOUND, MEDSHIM_EIO, MEDSHIM_EINVAL.
 */
MEDSHIM_API int medshim_journal_verify(const char *dir,
                                       const medshim_journal_options *opts,
                                       medshim_verify_report *report);

/**
 * Replace the key-encryption key: re-wraps the journal's data key with the
 * key named in @p next (key_file or key_fn) and replaces the keyring
 * atomically. Records are not rewritten. Needs the writer lock.
 * @return MEDSHIM_OK, MEDSHIM_EKEY, MEDSHIM_EBUSY, MEDSHIM_EIO, ...
 */
MEDSHIM_API int medshim_journal_rekey(const char *dir,
                                      const medshim_journal_options *current,
                                      const medshim_journal_options *next,
                                      medshim_error *err);

/**
 * Create a key file of MEDSHIM_KEY_BYTES random bytes, mode 0600. Refuses
 * to overwrite an existing file (MEDSHIM_EEXIST). The file and its directory
 * are fsync'ed.
 */
MEDSHIM_API int medshim_key_generate(const char *path, medshim_error *err);

/** Text forms of a key-encryption key, for secret stores that hold text. */
typedef enum medshim_key_format {
  MEDSHIM_KEY_HEX = 1,   /**< 64 hexadecimal digits, lower case */
  MEDSHIM_KEY_BASE64 = 2 /**< 44 characters of standard base64, padded */
} medshim_key_format;

/** Size of a buffer for medshim_key_export(): the longer form and a NUL. */
#define MEDSHIM_KEY_TEXT_MAX 65

/**
 * A key as text (to put it in a secret store).
 * @param[out] out NUL-terminated text; wipe it when done
 * @return MEDSHIM_OK, MEDSHIM_EINVAL (NULL, unknown format).
 */
MEDSHIM_API int medshim_key_export(char out[MEDSHIM_KEY_TEXT_MAX],
                                   const unsigned char key[MEDSHIM_KEY_BYTES],
                                   medshim_key_format format);

/**
 * A key from its text: 64 hexadecimal digits (either case) or 44
 * characters of base64; blanks around it (a trailing newline) are
 * ignored. Key files may hold the same text instead of the raw bytes.
 * @param[in] len bytes of @p text
 * @return MEDSHIM_OK; MEDSHIM_EKEY (not a key's text: the error never
 *         quotes it); MEDSHIM_EINVAL (NULL).
 */
MEDSHIM_API int medshim_key_import(unsigned char key[MEDSHIM_KEY_BYTES],
                                   const char *text, size_t len,
                                   medshim_error *err);

#ifdef __cplusplus
}
#endif
#endif /* MEDSHIM_JOURNAL_H */
