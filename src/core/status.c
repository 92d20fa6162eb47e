/* status.c — owns the error-code table's names and texts and the
 * thread-local last-error message. */
#include "batchmd/status.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_error[2048];

const char *bmd_status_name(bmd_status s) {
    switch (s) {
#define BMD__STATUS_NAME(name, code, text) case name: return #name;
        BMD_STATUS_TABLE(BMD__STATUS_NAME)
#undef BMD__STATUS_NAME
    }
    return "BMD_UNKNOWN";
}

const char *bmd_status_text(bmd_status s) {
    switch (s) {
#define BMD__STATUS_TEXT(name, code, text) case name: return text;
        BMD_STATUS_TABLE(BMD__STATUS_TEXT)
#undef BMD__STATUS_TEXT
    }
    return "unknown status";
}

const char *bmd_last_error(void) { return last_error; }

void bmd_clear_error(void) { last_error[0] = '\0'; }

bmd_status bmd__fail(bmd_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return s;
}
