/**
 * @file reconcile.h
 * @brief Reconciliation: the journal's settled claims against the
 *        platform's settlement detail (the finance office's 3202 download).
 *
 * Thread safety: a result handle may be read from several threads at once
 * and freed by one; the journal handle is used as medshim_journal_foreach()
 * uses it.
 *
 * The platform's file is CSV (RFC 4180) with a header row, UTF-8 with or
 * without a byte order mark, or GBK on request. Its columns, by default
 * named as on the platform (docs/reconcile.md):
 * setl_id, mdtrt_id, psn_no, medfee_sumamt, fund_pay_sumamt, acct_pay,
 * psn_cash_pay, setl_time; amounts in yuan ("12.34", parsed exactly by
 * medshim_yuan_to_fen()), setl_time as "2022-03-01 10:00:00" (+08:00 unless
 * an offset is given). Other columns are ignored; mdtrt_id and psn_no may
 * be absent. A regional layout names its columns through
 * medshim_reconcile_options::column_map.
 *
 * Claims are matched by setl_id. Each platform row and each settled claim
 * of the journal ends up in exactly one entry: matched (same setl_id, the
 * four amounts equal), different (same setl_id, some amount differs),
 * platform only, journal only, or duplicate (a further platform row with a
 * setl_id already seen, or a further claim of the journal with one: never
 * merged). Totals are kept per clearing month (the month of setl_time,
 * +08:00: a replay clears in the month it was settled) and per visit month.
 *
 * psn_no is personal: entries carry it as the platform wrote it, for the
 * caller to mask (medshim_mask_id()) or show. Error texts never contain a
 * value of the file, only its name, line, column and what is wrong.
 */
#ifndef MEDSHIM_RECONCILE_H
#define MEDSHIM_RECONCILE_H

#include <stddef.h>
#include <stdint.h>

#include "medshim/errors.h"
#include "medshim/export.h"
#include "medshim/journal.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque result of a reconciliation. */
typedef struct medshim_reconcile medshim_reconcile;

/** The platform file is GBK (code page 936), not UTF-8. */
#define MEDSHIM_RECONCILE_GBK 0x1u

/** Options of medshim_reconcile_buffer() and medshim_reconcile_file(). */
typedef struct medshim_reconcile_options {
  unsigned int version;   /**< MEDSHIM_RECONCILE_OPTIONS_VERSION */
  unsigned int flags;     /**< MEDSHIM_RECONCILE_GBK */
  /** Column names of another layout: "platform_name=our_name,..." where
   *  our_name is one of the default names above, for example
   *  "结算ID=setl_id,医疗费总额=medfee_sumamt". A column not mapped keeps
   *  its default name. NULL or "": the default names. */
  const char *column_map;
} medshim_reconcile_options;

/** Version of ::medshim_reconcile_options. */
#define MEDSHIM_RECONCILE_OPTIONS_VERSION 1
/** Initialiser for ::medshim_reconcile_options (UTF-8, default columns). */
#define MEDSHIM_RECONCILE_OPTIONS_INIT {MEDSHIM_RECONCILE_OPTIONS_VERSION, 0u, NULL}

/** @return MEDSHIM_OK or MEDSHIM_EINVAL. */
MEDSHIM_API int medshim_reconcile_options_init(medshim_reconcile_options *opts,
                                               unsigned int version);

/** What became of a setl_id. */
typedef enum medshim_reconcile_kind {
  MEDSHIM_RECONCILE_MATCHED = 1,       /**< both sides, amounts equal */
  MEDSHIM_RECONCILE_DIFFERENT = 2,     /**< both sides, an amount differs */
  MEDSHIM_RECONCILE_PLATFORM_ONLY = 3, /**< on the platform, not settled in the journal */
  MEDSHIM_RECONCILE_JOURNAL_ONLY = 4,  /**< settled in the journal, not on the platform */
  MEDSHIM_RECONCILE_DUPLICATE = 5      /**< a setl_id seen before (see line, visit_id) */
} medshim_reconcile_kind;

/** Name of a kind ("matched", "different", "platform_only",
 *  "journal_only", "duplicate"); NULL for an unknown value. */
MEDSHIM_API const char *medshim_reconcile_kind_name(medshim_reconcile_kind kind);

/** The amounts compared, as indices of the entry's arrays. */
typedef enum medshim_reconcile_amount {
  MEDSHIM_RECONCILE_MEDFEE = 0, /**< medfee_sumamt: the journal's total_fen */
  MEDSHIM_RECONCILE_FUND = 1,   /**< fund_pay_sumamt: fund_paid_fen */
  MEDSHIM_RECONCILE_ACCT = 2,   /**< acct_pay: acct_paid_fen */
  MEDSHIM_RECONCILE_CASH = 3    /**< psn_cash_pay: patient_paid_fen */
} medshim_reconcile_amount;

/** Number of amounts compared. */
#define MEDSHIM_RECONCILE_AMOUNTS 4

/** The platform's column name of an amount ("medfee_sumamt", ...); NULL
 *  for an unknown index. */
MEDSHIM_API const char *medshim_reconcile_amount_name(int amount);

/**
 * One entry. Strings belong to the result and live until it is freed;
 * "" when the side that has them is absent.
 */
typedef struct medshim_reconcile_entry {
  unsigned int version;          /**< MEDSHIM_RECONCILE_ENTRY_VERSION */
  medshim_reconcile_kind kind;   /**< what became of the setl_id */
  unsigned int differs;          /**< bit (1u << amount) for each amount that
                                      differs (kind DIFFERENT) */
  const char *setl_id;           /**< the key */
  const char *mdtrt_id;          /**< the platform's, else the journal's */
  const char *visit_id;          /**< the journal's claim; "" if none */
  const char *psn_no;            /**< the platform's: PERSONAL, mask it */
  size_t line;                   /**< the platform row's line; 0 if none */
  size_t first_line;             /**< DUPLICATE: the line of the setl_id's
                                      first platform row (the entry is a
                                      further row, or with in_journal a
                                      further claim of the journal) */
  int in_journal;                /**< the journal side is present */
  int on_platform;               /**< the platform side is present */
  int64_t journal_fen[MEDSHIM_RECONCILE_AMOUNTS];  /**< 0 if not in_journal */
  int64_t platform_fen[MEDSHIM_RECONCILE_AMOUNTS]; /**< 0 if not on_platform */
  int64_t journal_setl_time;     /**< Unix s; 0 if none */
  int64_t platform_setl_time;    /**< Unix s; 0 if none */
  int64_t visit_time;            /**< the journal's visit; 0 if none */
} medshim_reconcile_entry;

/** Version of ::medshim_reconcile_entry. */
#define MEDSHIM_RECONCILE_ENTRY_VERSION 1

/**
 * Totals of one month. Each entry counts in one clearing month: its
 * platform row's setl_time, else the journal's; and in one visit month:
 * its claim's visit, "unknown" for platform rows without a claim.
 * Amount sums are over the entries of the month, each side apart.
 */
typedef struct medshim_reconcile_month {
  unsigned int version;          /**< MEDSHIM_RECONCILE_MONTH_VERSION */
  char month[8];                 /**< "2022-03", or "unknown" */
  size_t count[6];               /**< entries by medshim_reconcile_kind
                                      (index 0: all entries) */
  int64_t journal_fen[MEDSHIM_RECONCILE_AMOUNTS];  /**< sums, journal side */
  int64_t platform_fen[MEDSHIM_RECONCILE_AMOUNTS]; /**< sums, platform side */
} medshim_reconcile_month;

/** Version of ::medshim_reconcile_month. */
#define MEDSHIM_RECONCILE_MONTH_VERSION 1

/**
 * Reconcile the settled claims of @p journal against the platform's CSV
 * at data[0..len).
 * @param[out] out the result, free with medshim_reconcile_free(); NULL on
 *        failure
 * @param[in] name the file's name for error texts (NULL: "platform")
 * @param[in] opts NULL: defaults
 * @param[out] err on failure (may be NULL): where = the name, text = line,
 *        column and what is wrong (never a value of the file)
 * @return MEDSHIM_OK; MEDSHIM_EPARSE (the file: not CSV, a missing column,
 *         a bad amount or time, not UTF-8 / GBK); MEDSHIM_EINVAL (NULL, bad
 *         options or column_map); MEDSHIM_ENOMEM; journal errors of
 *         medshim_journal_foreach() (MEDSHIM_ECORRUPT, MEDSHIM_EIO).
 */
MEDSHIM_API int medshim_reconcile_buffer(medshim_reconcile **out,
                                         medshim_journal *journal,
                                         const char *data, size_t len,
                                         const char *name,
                                         const medshim_reconcile_options *opts,
                                         medshim_error *err);

/**
 * medshim_reconcile_buffer() on the file at @p path (named by it in
 * errors). MEDSHIM_EIO (where = the path) when it cannot be read.
 */
MEDSHIM_API int medshim_reconcile_file(medshim_reconcile **out,
                                       medshim_journal *journal,
                                       const char *path,
                                       const medshim_reconcile_options *opts,
                                       medshim_error *err);

/** Free a result (NULL is fine); personal strings are wiped. */
MEDSHIM_API void medshim_reconcile_free(medshim_reconcile *result);

/** Number of entries (ordered by setl_id, then line). 0 for NULL. */
MEDSHIM_API size_t medshim_reconcile_count(const medshim_reconcile *result);

/** Entries of a kind; kind 0: entries that are not MATCHED. 0 for NULL. */
MEDSHIM_API size_t medshim_reconcile_count_kind(const medshim_reconcile *result,
                                                int kind);

/**
 * Entry @p i. Set out->version first.
 * @return MEDSHIM_OK; MEDSHIM_EINVAL (NULL, version); MEDSHIM_ERANGE.
 */
MEDSHIM_API int medshim_reconcile_entry_get(medshim_reconcile_entry *out,
                                            const medshim_reconcile *result,
                                            size_t i);

/** Months by clearing: the settlement's setl_time. */
#define MEDSHIM_RECONCILE_BY_CLEARING 0
/** Months by the visit's time. */
#define MEDSHIM_RECONCILE_BY_VISIT 1

/** Number of months (in ascending order, "unknown" last) of @p by. */
MEDSHIM_API size_t medshim_reconcile_month_count(const medshim_reconcile *result,
                                                 int by);

/**
 * Month @p i of @p by. Set out->version first.
 * @return MEDSHIM_OK; MEDSHIM_EINVAL; MEDSHIM_ERANGE.
 */
MEDSHIM_API int medshim_reconcile_month_get(medshim_reconcile_month *out,
                                            const medshim_reconcile *result,
                                            int by, size_t i);

#ifdef __cplusplus
}
#endif
#endif /* MEDSHIM_RECONCILE_H */
