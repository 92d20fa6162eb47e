/* extxyz_index.c — owns bmd_extxyz_index: one pass over an extxyz file that
 * records each frame's byte offset, the line of its atom-count line and its
 * atom count. Atom lines are only counted (memchr over large blocks), never
 * parsed, so indexing is about as fast as reading the file. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io/extxyz_internal.h"

#define CHUNK (1u << 20)
#define BLANK_LINE " (a blank line; only the end of the file may have them)"

/* The atom-count line being read, byte by byte (it may span blocks). */
typedef struct {
    int64_t start;     /* byte offset of the line */
    long lineno;       /* its 1-based line number */
    size_t len;        /* bytes seen */
    char head[48];     /* first bytes, for the message */
    int phase;         /* 0 leading space, 1 sign, 2 digits, 3 trailing space, 4 bad */
    int too_big;       /* digits beyond BMD__XYZ_MAX_ATOMS */
    long long value;
} count_line;

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static void count_start(count_line *cl, int64_t start, long lineno) {
    memset(cl, 0, sizeof *cl);
    cl->start = start;
    cl->lineno = lineno;
}

static void count_feed(count_line *cl, char c) {
    if (cl->len < sizeof cl->head) cl->head[cl->len] = c;
    cl->len++;
    switch (cl->phase) {
    case 0:
    case 1:
        if (cl->phase == 0 && is_space(c)) return;
        if (cl->phase == 0 && c == '+') {
            cl->phase = 1;
            return;
        }
        if (c >= '0' && c <= '9') {
            cl->phase = 2;
            cl->value = c - '0';
        } else {
            cl->phase = 4;
        }
        return;
    case 2:
        if (c >= '0' && c <= '9') {
            cl->value = cl->value * 10 + (c - '0');
            if (cl->value > BMD__XYZ_MAX_ATOMS) {
                cl->phase = 4;
                cl->too_big = 1;
            }
        } else {
            cl->phase = is_space(c) ? 3 : 4;
        }
        return;
    case 3:
        if (!is_space(c)) cl->phase = 4;
        return;
    default:
        return;
    }
}

static int count_blank(const count_line *cl) { return cl->phase == 0; }
/* Bad, and long enough to show: no need to read to its end (a binary file
 * may have no newline for gigabytes). */
static int count_hopeless(const count_line *cl) { return cl->phase == 4 && cl->len > sizeof cl->head; }
static int count_valid(const count_line *cl) { return cl->phase == 2 || cl->phase == 3; }

static bmd_status count_error(const char *path, const count_line *cl, const char *why) {
    char shown[64];
    size_t n = cl->len < sizeof cl->head ? cl->len : sizeof cl->head;
    bmd__xyz_show(shown, sizeof shown, cl->head, n);
    if (cl->len > sizeof cl->head && strlen(shown) + 4 < sizeof shown) strcat(shown, "...");
    if (cl->too_big)
        return bmd__xyz_err(path, cl->lineno,
                            "atom count '%s' is too large (expected an atom count of at most %d)",
                            shown, BMD__XYZ_MAX_ATOMS);
    return bmd__xyz_err(path, cl->lineno,
                        "expected an atom count (a non-negative integer), got '%s'%s", shown, why);
}

static bmd_status push_frame(bmd_extxyz_index *ix, const count_line *cl) {
    if (ix->n == ix->cap) {
        long cap = ix->cap ? 2 * ix->cap : 64;
        int64_t *o = realloc(ix->offset, (size_t)cap * sizeof *o);
        if (o) ix->offset = o;
        long *l = realloc(ix->line, (size_t)cap * sizeof *l);
        if (l) ix->line = l;
        int *a = realloc(ix->atoms, (size_t)cap * sizeof *a);
        if (a) ix->atoms = a;
        if (!o || !l || !a)
            return bmd__fail(BMD_ERR_NOMEM, "%s: out of memory indexing frame %ld", ix->path, ix->n);
        ix->cap = cap;
    }
    ix->offset[ix->n] = cl->start;
    ix->line[ix->n] = cl->lineno;
    ix->atoms[ix->n] = (int)cl->value;
    ix->n++;
    return BMD_OK;
}

/* The scan proper. Lines are counted as they end ('\n', or the end of the
 * file after a last line without one). */
static bmd_status scan(FILE *f, bmd_extxyz_index *ix) {
    char *buf = malloc(CHUNK);
    if (!buf) return bmd__fail(BMD_ERR_NOMEM, "%s: out of memory for the read buffer", ix->path);
    bmd_status st = BMD_OK;
    int64_t base = 0;     /* file offset of buf[0] */
    long done = 0;        /* lines completed so far */
    long remaining = 0;   /* lines still to skip in the current frame (0: expect a count) */
    int midline = 0;      /* bytes seen after the last '\n' (while skipping) */
    long first_blank = 0; /* line of a blank line met where a count was expected */
    count_line cl;
    count_start(&cl, 0, 1);
    size_t got;
    while (!st && (got = fread(buf, 1, CHUNK, f)) > 0) {
        size_t i = 0;
        while (!st && i < got) {
            if (remaining == 0) {
                while (i < got && buf[i] != '\n' && !count_hopeless(&cl)) count_feed(&cl, buf[i++]);
                if (count_hopeless(&cl)) {
                    count_line blank;
                    count_start(&blank, 0, first_blank);
                    st = first_blank ? count_error(ix->path, &blank, BLANK_LINE) : count_error(ix->path, &cl, "");
                    break;
                }
                if (i == got) break;
                i++;
                done++;
                if (count_blank(&cl)) {
                    if (!first_blank) first_blank = cl.lineno;
                } else if (first_blank) {
                    count_line blank;
                    count_start(&blank, 0, first_blank);
                    st = count_error(ix->path, &blank, BLANK_LINE);
                } else if (!count_valid(&cl)) {
                    st = count_error(ix->path, &cl, "");
                } else {
                    st = push_frame(ix, &cl);
                    remaining = (long)cl.value + 1;
                }
                count_start(&cl, base + (int64_t)i, done + 1);
            } else {
                char *nl = memchr(buf + i, '\n', got - i);
                if (!nl) {
                    midline = 1;
                    i = got;
                    break;
                }
                i = (size_t)(nl - buf) + 1;
                done++;
                midline = 0;
                if (--remaining == 0) count_start(&cl, base + (int64_t)i, done + 1);
            }
        }
        base += (int64_t)got;
    }
    if (!st && ferror(f)) st = bmd__fail(BMD_ERR_IO, "%s: read error: %s", ix->path, strerror(errno));
    if (!st && remaining == 0 && cl.len > 0) {
        /* A last line without '\n' where a count was expected. */
        if (count_blank(&cl)) {
            /* trailing blank: fine */
        } else if (first_blank) {
            count_line blank;
            count_start(&blank, 0, first_blank);
            st = count_error(ix->path, &blank, BLANK_LINE);
        } else if (!count_valid(&cl)) {
            st = count_error(ix->path, &cl, "");
        } else {
            st = push_frame(ix, &cl);
            remaining = (long)cl.value + 1;
            done++;
        }
    } else if (!st && remaining > 0 && midline) {
        remaining--;
        done++;
    }
    if (!st && remaining > 0) {
        long n = ix->atoms[ix->n - 1], count_at = ix->line[ix->n - 1];
        long found = n + 1 - remaining; /* lines after the count line */
        if (found == 0)
            st = bmd__xyz_err(ix->path, count_at,
                              "truncated frame: the file ends right after this atom count "
                              "(expected a comment line and %ld atom line%s)",
                              n, n == 1 ? "" : "s");
        else
            st = bmd__xyz_err(ix->path, count_at,
                              "truncated frame: the atom count says %ld atom%s but the file ends "
                              "at line %ld after %ld atom line%s (expected %ld atom lines after "
                              "the comment line)",
                              n, n == 1 ? "" : "s", done, found - 1, found - 1 == 1 ? "" : "s", n);
    }
    free(buf);
    return st;
}

bmd_status bmd_extxyz_index_open(const char *path, bmd_extxyz_index **out) {
    if (!path || !out) return bmd__fail(BMD_ERR_INVALID, "bmd_extxyz_index_open: NULL argument");
    *out = NULL;
    bmd_extxyz_index *ix = calloc(1, sizeof *ix);
    size_t plen = strlen(path) + 1;
    if (!ix || !(ix->path = malloc(plen))) {
        free(ix);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory indexing '%s'", path);
    }
    memcpy(ix->path, path, plen);
    FILE *f = fopen(path, "rb");
    if (!f) {
        bmd_status st = bmd__fail(BMD_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        bmd_extxyz_index_close(ix);
        return st;
    }
    bmd_status st = bmd__xyz_sniff(path, f);
    if (!st) st = scan(f, ix);
    fclose(f);
    if (st) {
        bmd_extxyz_index_close(ix);
        return st;
    }
    *out = ix;
    return BMD_OK;
}

void bmd_extxyz_index_close(bmd_extxyz_index *ix) {
    if (!ix) return;
    free(ix->path);
    free(ix->offset);
    free(ix->line);
    free(ix->atoms);
    free(ix);
}

long bmd_extxyz_index_frames(const bmd_extxyz_index *ix) { return ix ? ix->n : 0; }

int bmd_extxyz_index_atoms(const bmd_extxyz_index *ix, long frame) {
    return (ix && frame >= 0 && frame < ix->n) ? ix->atoms[frame] : -1;
}

long bmd_extxyz_index_line(const bmd_extxyz_index *ix, long frame) {
    return (ix && frame >= 0 && frame < ix->n) ? ix->line[frame] : 0;
}

const char *bmd_extxyz_index_path(const bmd_extxyz_index *ix) { return ix ? ix->path : NULL; }
