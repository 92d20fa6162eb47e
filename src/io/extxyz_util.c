/* extxyz_util.c — owns the small pieces the extxyz reader shares: the
 * "FILE:LINE: ..." message, printable excerpts of bad input, and strict
 * parsing of one token as a real, an integer or a logical (what Python's
 * float(), int() and ASE's T/F would accept, so files ASE reads read here). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "io/extxyz_internal.h"

bmd_status bmd__xyz_err(const char *path, long line, const char *fmt, ...) {
    char msg[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return bmd__fail(BMD_ERR_PARSE, "%s:%ld: %s", path ? path : "(extxyz)", line, msg);
}

void bmd__xyz_show(char *dst, size_t cap, const char *s, size_t len) {
    if (cap == 0) return;
    size_t room = cap - 1, n = 0;
    int cut = len > room;
    if (cut) room = room > 3 ? room - 3 : 0;
    for (size_t i = 0; i < len && n < room; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[n++] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
    }
    if (cut)
        for (int k = 0; k < 3 && n + 1 < cap; k++) dst[n++] = '.';
    dst[n] = '\0';
}

long bmd__xyz_utf8_bad(const char *s, size_t len) {
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned c = u[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
        if (c >= 0xc2 && c <= 0xdf) n = 1;
        else if (c >= 0xe0 && c <= 0xef) n = 2, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
        else if (c >= 0xf0 && c <= 0xf4) n = 3, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        else return (long)i;
        if (i + n >= len) return (long)i; /* cut short */
        for (size_t k = 1; k <= n; k++) {
            unsigned b = u[i + k];
            if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xbf)) return (long)i;
        }
        i += n + 1;
    }
    return -1;
}

int bmd__xyz_real(const char *s, size_t len, double *out) {
    if (len == 0) return 0;
    /* strtod also takes hexadecimal and "nan(...)", which Python does not;
     * whitespace or a NUL inside the token would hide the rest of it. */
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == 'x' || c == 'X' || c == '(' || c == ' ' || c == '\t' || c == '\n' ||
            c == '\r' || c == '\v' || c == '\f' || c == '\0')
            return 0;
    }
    char small[64], *buf = small;
    if (len >= sizeof small && !(buf = malloc(len + 1))) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    double v = strtod(buf, &end);
    int ok = end == buf + len;
    if (buf != small) free(buf);
    if (ok) *out = v;
    return ok;
}

int bmd__xyz_int(const char *s, size_t len, long lo, long hi, long *out) {
    size_t i = 0;
    int neg = 0;
    if (len && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == len) return 0;
    unsigned long long v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (unsigned long long)(s[i] - '0');
        if (v > (1ULL << 62)) return 0;
    }
    long long sv = neg ? -(long long)v : (long long)v;
    if (sv < lo || sv > hi) return 0;
    *out = (long)sv;
    return 1;
}

static int word_is(const char *s, size_t len, const char *w) {
    return strlen(w) == len && memcmp(s, w, len) == 0;
}

int bmd__xyz_bool(const char *s, size_t len, int allow01, unsigned char *out) {
    static const char *const yes[] = {"T", "True", "true", "TRUE"};
    static const char *const no[] = {"F", "False", "false", "FALSE"};
    for (int k = 0; k < 4; k++) {
        if (word_is(s, len, yes[k])) return *out = 1, 1;
        if (word_is(s, len, no[k])) return *out = 0, 1;
    }
    if (allow01 && word_is(s, len, "1")) return *out = 1, 1;
    if (allow01 && word_is(s, len, "0")) return *out = 0, 1;
    return 0;
}
