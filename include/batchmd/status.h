/* status.h — error codes (one X-macro table gives their names and texts) and
 * the thread-local last-error message. Fallible functions return a bmd_status:
 * 0 on success, a negative code otherwise, and leave a message saying what,
 * where (file:line when an input is at fault) and why. The library never
 * prints and never exits. */
#ifndef BATCHMD_STATUS_H
#define BATCHMD_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

#define BMD_STATUS_TABLE(X)                                                    \
    X(BMD_OK, 0, "success")                                                    \
    X(BMD_ERR_NOMEM, -1, "out of memory")                                      \
    X(BMD_ERR_INVALID, -2, "invalid argument")                                 \
    X(BMD_ERR_IO, -3, "input/output error")                                    \
    X(BMD_ERR_PARSE, -4, "malformed input")                                    \
    X(BMD_ERR_UNSUPPORTED, -5, "not supported")                                \
    X(BMD_ERR_NUMERIC, -6, "non-finite or out-of-range number")                \
    X(BMD_ERR_NOT_FOUND, -7, "not found")                                      \
    X(BMD_ERR_BUDGET, -8, "does not fit the budget")                           \
    X(BMD_ERR_RUNTIME, -9, "runtime failure")

typedef enum bmd_status {
#define BMD__STATUS_ENUM(name, code, text) name = code,
    BMD_STATUS_TABLE(BMD__STATUS_ENUM)
#undef BMD__STATUS_ENUM
} bmd_status;

/* "BMD_ERR_PARSE" for BMD_ERR_PARSE; "BMD_UNKNOWN" for a code not in the table. */
const char *bmd_status_name(bmd_status s);
/* "malformed input" for BMD_ERR_PARSE. */
const char *bmd_status_text(bmd_status s);
/* The message left by the last failing call on this thread ("" if none). */
const char *bmd_last_error(void);
/* Clears the last-error message. */
void bmd_clear_error(void);

/* Internal (crosses files): set the message printf-style and return s. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
bmd_status bmd__fail(bmd_status s, const char *fmt, ...);

#ifdef __cplusplus
}
#endif

#endif
