/* extxyz_internal.h — shared by src/io/extxyz_*.c only: the index's layout,
 * "FILE:LINE: ..." messages, strict number parsing, and the info-line
 * (comment line) tokenizer and quoting of ASE's ase.io.extxyz. */
#ifndef BATCHMD_IO_EXTXYZ_INTERNAL_H
#define BATCHMD_IO_EXTXYZ_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "batchmd/extxyz.h"

/* Frame f starts at byte offset[f] with its atom-count line, which is the
 * 1-based line line[f] of the file, and has atoms[f] atoms. */
struct bmd_extxyz_index {
    char *path;
    long n, cap;
    int64_t *offset;
    long *line;
    int *atoms;
};

/* The largest atom count a frame may declare. */
#define BMD__XYZ_MAX_ATOMS (1 << 28)

/* Sets "path:line: <message>" and returns BMD_ERR_PARSE. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
bmd_status bmd__xyz_err(const char *path, long line, const char *fmt, ...);

/* Writes a printable excerpt of s[0..len) into dst (NUL-terminated, at most
 * cap bytes): control and non-ASCII bytes become '?', long text ends "...". */
void bmd__xyz_show(char *dst, size_t cap, const char *s, size_t len);

/* Offset of the first byte of s[0..len) that is not part of valid UTF-8
 * (overlong forms, surrogates and code points past U+10FFFF are invalid),
 * or -1 when all of it is. ASE reads extxyz as UTF-8 text. */
long bmd__xyz_utf8_bad(const char *s, size_t len);

/* Strict parse of a whole token s[0..len) as a real number (as Python's
 * float(), less underscores): returns 1 and sets *out, 0 if not a number.
 * inf/nan are accepted here (callers check finiteness). */
int bmd__xyz_real(const char *s, size_t len, double *out);
/* Same for a decimal integer within [lo, hi]. */
int bmd__xyz_int(const char *s, size_t len, long lo, long hi, long *out);
/* A logical: T F True False true false TRUE FALSE (and 1/0 when allow01).
 * Returns 1 and sets *out (0/1), 0 otherwise. */
int bmd__xyz_bool(const char *s, size_t len, int allow01, unsigned char *out);

/* Splits s on whitespace and commas (as ASE) and parses every item as a real
 * number, storing the first max of them. Returns the number of items, or -1
 * when one is not a number. */
int bmd__xyz_reals(const char *s, double *out, int max);
/* Same with logicals (1/0 allowed, as ASE's integer arrays). */
int bmd__xyz_bools(const char *s, unsigned char *out, int max);

/* Parses the info line s[0..len) with the grammar of ASE's
 * key_val_str_to_dict: whitespace-separated items key=value or key (a key
 * alone means "T"); spaces around '=' allowed; values quoted with "..",
 * '..', {..} or [..]; a backslash takes the next character literally;
 * later duplicates replace earlier keys. Values are stored unquoted and
 * unescaped in *info. Fails (BMD_ERR_PARSE, "path:lineno: ...") on an
 * unterminated quote or an item without a key. */
bmd_status bmd__xyz_parse_info(const char *s, size_t len, const char *path, long lineno,
                               bmd_info *info);

/* Writes s as an info key or value, quoted and escaped when needed so that
 * both ASE and bmd__xyz_parse_info read back s. */
void bmd__xyz_put_token(FILE *f, const char *s);

/* BMD_OK when the open file f (left at its start) may be (extended) XYZ;
 * otherwise BMD_ERR_UNSUPPORTED with "PATH: not extended XYZ (it looks like
 * a LAMMPS data file); ..." and the ASE call that converts it
 * (extxyz_sniff.c). */
bmd_status bmd__xyz_sniff(const char *path, FILE *f);

/* What a per-atom column feeds. */
typedef enum {
    BMD__COL_SKIP = 0, /* unknown (or superseded): checked against its type, dropped */
    BMD__COL_SPECIES,  /* species:S:1 */
    BMD__COL_Z,        /* Z:I:1 */
    BMD__COL_POS,      /* pos:R:3 */
    BMD__COL_MASSES,   /* masses:R:1 */
    BMD__COL_MOMENTA,  /* momenta:R:3, ASE units */
    BMD__COL_VEL,      /* velocities:R:3, Å/fs */
    BMD__COL_FORCES,   /* forces:R:3 */
    BMD__COL_MOVE_MASK /* move_mask:L:1 or L:3 (ASE's FixAtoms, FixCartesian):
                        * F marks a fixed atom (sys->fixed); an L:3 row
                        * mixing T and F is refused */
} bmd__xyz_role;

typedef struct {
    const char *name; /* points into bmd__xyz_props.text */
    char type;        /* R I S L */
    int ncols;
    bmd__xyz_role role;
} bmd__xyz_prop;

/* A parsed Properties value: the per-atom columns in file order. */
typedef struct {
    char *text;        /* owned copy of the value, split in place */
    char *shown;       /* owned: the value as written, for messages */
    int n;
    bmd__xyz_prop *p;  /* owned, n entries */
    long fields;       /* fields per atom line */
    int has[BMD__COL_MOVE_MASK + 1]; /* which roles are present */
    short ztab[26 * 27];          /* symbol (capitalized, 1-2 letters) -> Z, 0 unknown */
} bmd__xyz_props;

/* Parses a Properties value ("species:S:1:pos:R:3:..."). Fails with
 * BMD_ERR_PARSE ("path:lineno: ...") on a malformed list, a known name with
 * the wrong type or width, a repeated name, or no pos / no species or Z. */
bmd_status bmd__xyz_props_parse(const char *value, const char *path, long lineno,
                                bmd__xyz_props *out);
void bmd__xyz_props_free(bmd__xyz_props *pr);

/* Parses atom line `atom` (0-based) of sys from line[0..len): species/Z,
 * positions, and masses, momenta (stored in sys->vel as given), velocities,
 * forces and move_mask (sys->fixed) into arrays the caller allocated. Fails with BMD_ERR_PARSE
 * ("path:lineno: ...") on a wrong field count or a bad value. */
bmd_status bmd__xyz_atom_line(const char *line, size_t len, const bmd__xyz_props *pr,
                              bmd_system *sys, int atom, const char *path, long lineno);

#endif
