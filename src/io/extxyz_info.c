/* extxyz_info.c — owns the info (comment) line of an extxyz frame: the
 * key=value tokenizer with ASE's grammar (ase.io.extxyz.key_val_str_to_dict),
 * splitting a value into numbers or logicals, and quoting keys and values
 * on output so that ASE reads them back unchanged. */
#include <stdlib.h>
#include <string.h>

#include "io/extxyz_internal.h"

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int is_sep(char c) { return is_space(c) || c == ','; }

int bmd__xyz_reals(const char *s, double *out, int max) {
    int n = 0;
    for (const char *p = s;;) {
        while (*p && is_sep(*p)) p++;
        if (!*p) return n;
        const char *b = p;
        while (*p && !is_sep(*p)) p++;
        double v;
        if (!bmd__xyz_real(b, (size_t)(p - b), &v)) return -1;
        if (n < max) out[n] = v;
        n++;
    }
}

int bmd__xyz_bools(const char *s, unsigned char *out, int max) {
    int n = 0;
    for (const char *p = s;;) {
        while (*p && is_sep(*p)) p++;
        if (!*p) return n;
        const char *b = p;
        while (*p && !is_sep(*p)) p++;
        unsigned char v;
        if (!bmd__xyz_bool(b, (size_t)(p - b), 1, &v)) return -1;
        if (n < max) out[n] = v;
        n++;
    }
}

/* The tokenizer's state: the unquoted text of the current item is built in
 * out; its key ends with a NUL and its value parts are joined with '='. */
typedef struct {
    char *out;
    size_t o;          /* bytes used in out */
    size_t key;        /* where the current item's key starts */
    size_t val;        /* where its value starts (when nparts > 1) */
    int nparts;        /* 1: key only; 2+: key and value parts */
    int any;           /* the item has any content, quote or '=' */
    int touched;       /* the current part has content or an opened quote */
    int brk;           /* whitespace after a touched part: a new item may start */
} tok_state;

static bmd_status finish_item(tok_state *t, const char *path, long lineno, bmd_info *info) {
    if (!t->any) return BMD_OK;
    t->out[t->o++] = '\0';
    const char *key = t->out + t->key;
    if (!*key) {
        const char *v = t->nparts > 1 ? t->out + t->val : "";
        char shown[64];
        bmd__xyz_show(shown, sizeof shown, v, strlen(v));
        return bmd__xyz_err(path, lineno,
                            "info line: an item has no key (value '%s'; expected key=value)", shown);
    }
    bmd_status st = bmd_info_set(info, key, t->nparts > 1 ? t->out + t->val : "T");
    if (st) return st;
    t->key = t->o;
    t->nparts = 1;
    t->any = t->touched = t->brk = 0;
    return BMD_OK;
}

/* Content is about to be added to the current part: a pending whitespace
 * break first closes the previous item. */
static bmd_status begin_content(tok_state *t, const char *path, long lineno, bmd_info *info) {
    if (t->brk) {
        bmd_status st = finish_item(t, path, lineno, info);
        if (st) return st;
    }
    t->touched = t->any = 1;
    return BMD_OK;
}

static char closing_of(char c) {
    switch (c) {
    case '"': return '"';
    case '\'': return '\'';
    case '{': return '}';
    case '[': return ']';
    default: return 0;
    }
}

bmd_status bmd__xyz_parse_info(const char *s, size_t len, const char *path, long lineno,
                               bmd_info *info) {
    long bad = bmd__xyz_utf8_bad(s, len);
    if (bad >= 0)
        return bmd__xyz_err(path, lineno,
                            "comment line: byte 0x%02X at column %ld is not UTF-8 (expected UTF-8 text, "
                            "as ASE reads it)",
                            (unsigned)(unsigned char)s[bad], bad + 1);
    tok_state t;
    memset(&t, 0, sizeof t);
    t.nparts = 1;
    /* Each input byte gives at most one output byte, plus one NUL per item. */
    if (!(t.out = malloc(2 * len + 2)))
        return bmd__fail(BMD_ERR_NOMEM, "%s:%ld: out of memory for the info line", path, lineno);
    bmd_status st = BMD_OK;
    char delim = 0;
    size_t delim_col = 0;
    int esc = 0;
    for (size_t i = 0; i < len && !st; i++) {
        char c = s[i];
        if (esc) {
            t.out[t.o++] = c;
            esc = 0;
        } else if (c == '\\') {
            st = begin_content(&t, path, lineno, info);
            esc = 1;
        } else if (delim) {
            if (c == delim) delim = 0;
            else t.out[t.o++] = c;
        } else if (closing_of(c)) {
            st = begin_content(&t, path, lineno, info);
            delim = closing_of(c);
            delim_col = i + 1;
        } else if (is_space(c)) {
            if (t.touched) t.brk = 1;
        } else if (c == '=') {
            t.brk = 0; /* "key = value": the space did not end the item */
            if (t.nparts == 1) {
                t.out[t.o++] = '\0';
                t.val = t.o;
            } else {
                t.out[t.o++] = '=';
            }
            t.nparts++;
            t.any = 1;
            t.touched = 0;
        } else {
            st = begin_content(&t, path, lineno, info);
            t.out[t.o++] = c;
        }
    }
    if (!st && delim)
        st = bmd__xyz_err(path, lineno,
                          "info line: the quote %c opened at column %zu is not closed "
                          "(expected a closing %c before the end of the line)",
                          delim == '}' ? '{' : delim == ']' ? '[' : delim, delim_col, delim);
    if (!st) st = finish_item(&t, path, lineno, info);
    free(t.out);
    return st;
}

void bmd__xyz_put_token(FILE *f, const char *s) {
    int quote = *s == '\0';
    for (const char *p = s; *p && !quote; p++)
        quote = is_space(*p) || strchr("\"'{}[]=\\", *p) != NULL;
    if (!quote) {
        fputs(s, f);
        return;
    }
    putc('"', f);
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\') putc('\\', f);
        putc(*p == '\n' || *p == '\r' ? ' ' : *p, f);
    }
    putc('"', f);
}
