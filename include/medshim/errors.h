/**
 * @file errors.h
 * @brief Error codes shared by every libmedshim module.
 *
 * Thread safety: every function here is safe to call from any thread;
 * medshim_last_error() is per thread.
 *
 * Every fallible function returns MEDSHIM_OK (0) or one of the negative codes
 * below. Codes are only ever appended, never renumbered.
 *
 * **Why a call failed, one way for the whole API:** medshim_last_error().
 * Every failing call records its code, where (the field, JSON path or
 * function) and a text in the calling thread's last error, so threads
 * sharing a handle never read each other's. Read it right after a call
 * returned something other than MEDSHIM_OK: successful calls leave it as
 * it was. Its code is the code that call returned (a call that records no
 * detail of its own still records its code and medshim_strerror() text).
 * The older ways remain and say the same: a caller-supplied
 * ::medshim_error (parsers) and medshim_journal_errmsg() (per handle,
 * replaced by any thread's next failure on that handle). Texts never
 * contain personal data (names, ID numbers, card numbers).
 */
#ifndef MEDSHIM_ERRORS_H
#define MEDSHIM_ERRORS_H

#include "medshim/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * X-macro list of error codes: X(NAME, value, "static text").
 * Append only.
 */
#define MEDSHIM_ERROR_LIST(X)                                                  \
  X(OK, 0, "success")                                                          \
  X(EINVAL, -1, "invalid argument")                                            \
  X(ENOMEM, -2, "out of memory")                                               \
  X(EIO, -3, "input/output error")                                             \
  X(EBUSY, -4, "journal busy: another process is writing to it")               \
  X(EKEY, -5, "key error: missing, malformed or wrong key")                    \
  X(ECORRUPT, -6, "journal damaged or tampered with")                          \
  X(ECONFLICT, -7, "visit_id already stored with different content")           \
  X(ENOTFOUND, -8, "not found")                                                \
  X(EPOISONED, -9, "handle unusable after an earlier write or sync failure")   \
  X(EFORMAT, -10, "unsupported format version")                                \
  X(EPARSE, -11, "malformed input")                                            \
  X(ESIGNATURE, -12, "signature missing or invalid")                           \
  X(EREADONLY, -13, "handle is read-only")                                     \
  X(ESTATE, -14, "operation not allowed in the current state")                 \
  X(EUSER, -15, "aborted by a callback")                                       \
  X(ECRYPTO, -16, "cryptographic library failure")                             \
  X(EEXIST, -17, "already exists")                                             \
  X(ERANGE, -18, "value out of range")

/** Error codes. */
typedef enum medshim_code {
#define MEDSHIM__ENUM(name, value, text) MEDSHIM_##name = (value),
  MEDSHIM_ERROR_LIST(MEDSHIM__ENUM)
#undef MEDSHIM__ENUM
} medshim_code;

/**
 * Static English text for an error code.
 * @param[in] code a ::medshim_code (any int is accepted)
 * @return static text, never NULL, never allocated; "unknown error" for a
 *         value that is not a code.
 */
MEDSHIM_API const char *medshim_strerror(int code);

/**
 * Symbolic name of an error code, e.g. "MEDSHIM_EBUSY".
 * @return static text, never NULL.
 */
MEDSHIM_API const char *medshim_code_name(int code);

/** Size of medshim_error::text. */
#define MEDSHIM_ERROR_TEXT_MAX 256
/** Size of medshim_error::where. */
#define MEDSHIM_ERROR_WHERE_MAX 128

/**
 * Caller-supplied detail for functions that have no handle (parsers).
 * Zero-initialise it; the function fills it on failure. Texts never contain
 * personal data (names, ID numbers, card numbers).
 */
typedef struct medshim_error {
  int code;                            /**< a ::medshim_code */
  char where[MEDSHIM_ERROR_WHERE_MAX]; /**< field or JSON path, e.g. "patient.id_no" */
  char text[MEDSHIM_ERROR_TEXT_MAX];   /**< reason, e.g. "must be 6 digits" */
} medshim_error;

/**
 * The calling thread's last error: what its latest failing libmedshim call
 * recorded. Use it right after a call returned a code other than
 * MEDSHIM_OK; successful calls do not change it.
 * @return never NULL: this thread's own struct (code MEDSHIM_OK and empty
 *         texts before its first failure or after
 *         medshim_last_error_clear()), valid until the thread ends and
 *         overwritten by its next failure; do not free it.
 */
MEDSHIM_API const medshim_error *medshim_last_error(void);

/** Reset the calling thread's last error to MEDSHIM_OK. */
MEDSHIM_API void medshim_last_error_clear(void);

/**
 * Record a failure as the calling thread's last error, the way
 * libmedshim's own calls do: for the libraries built on it (medshim-sim)
 * and for a host's own wrappers, so that medshim_last_error() stays the
 * one place to ask why. Never pass personal data.
 * @param[in] code a ::medshim_code
 * @param[in] where the argument, field or file concerned (NULL: "")
 * @param[in] text why (NULL or "": medshim_strerror(code))
 * @return code, so that `return medshim_last_error_set(...)` reads well.
 */
MEDSHIM_API int medshim_last_error_set(int code, const char *where,
                                       const char *text);

#ifdef __cplusplus
}
#endif
#endif /* MEDSHIM_ERRORS_H */
