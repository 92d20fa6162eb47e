/* extxyz_props.c — owns the per-atom columns of an extxyz frame: the
 * Properties value (name:type:ncols triples, as ASE's parse_properties) and
 * the parsing of one atom line against it, without allocation.
 *
 * What each column does: species, Z, pos, masses, momenta and velocities
 * (momenta win when both are given, as in ASE's Atoms) make the structure;
 * forces are read and left aside (the model's own replace them); ASE's
 * move_mask marks fixed atoms (sys->fixed): move_mask:L:1 is FixAtoms (F:
 * fixed), move_mask:L:3 FixCartesian, whose rows must be F F F (fixed) or
 * T T T (free) since batchmd holds whole atoms; any other column (tags,
 * charges, initial_magmoms, a user's arrays: none changes the motion under
 * batchmd's models, which see species and positions only) is checked
 * against its declared type and not carried to the outputs. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batchmd/elements.h"
#include "io/extxyz_internal.h"

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Known columns: name, type, width, role. */
static const struct {
    const char *name;
    char type;
    int ncols;
    bmd__xyz_role role;
} known[] = {
    {"species", 'S', 1, BMD__COL_SPECIES}, {"Z", 'I', 1, BMD__COL_Z},
    {"pos", 'R', 3, BMD__COL_POS},         {"masses", 'R', 1, BMD__COL_MASSES},
    {"momenta", 'R', 3, BMD__COL_MOMENTA}, {"velocities", 'R', 3, BMD__COL_VEL},
    {"forces", 'R', 3, BMD__COL_FORCES},
};

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static int sym_index(char a, char b) {
    if (a >= 'a' && a <= 'z') a = (char)(a - 'a' + 'A');
    if (a < 'A' || a > 'Z') return -1;
    int j = 0;
    if (b) {
        if (b >= 'A' && b <= 'Z') b = (char)(b - 'A' + 'a');
        if (b < 'a' || b > 'z') return -1;
        j = b - 'a' + 1;
    }
    return (a - 'A') * 27 + j;
}

static void build_ztab(short *ztab) {
    memset(ztab, 0, 26 * 27 * sizeof *ztab);
    for (int z = 1; z < BMD_N_ELEMENTS; z++) {
        const char *s = bmd_element_symbol(z);
        int k = sym_index(s[0], s[1]);
        if (k >= 0) ztab[k] = (short)z;
    }
}

void bmd__xyz_props_free(bmd__xyz_props *pr) {
    if (!pr) return;
    free(pr->text);
    free(pr->shown);
    free(pr->p);
    memset(pr, 0, sizeof *pr);
}

bmd_status bmd__xyz_props_parse(const char *value, const char *path, long lineno,
                                bmd__xyz_props *out) {
    memset(out, 0, sizeof *out);
    char shown[160];
    bmd__xyz_show(shown, sizeof shown, value, strlen(value));
    out->text = dup_str(value);
    out->shown = dup_str(shown);
    size_t nf = 1;
    for (const char *c = value; *c; c++) nf += *c == ':';
    out->p = malloc((nf / 3 + 1) * sizeof *out->p);
    if (!out->text || !out->shown || !out->p) {
        bmd__xyz_props_free(out);
        return bmd__fail(BMD_ERR_NOMEM, "%s:%ld: out of memory for Properties", path, lineno);
    }
    bmd_status st = BMD_OK;
    if (nf % 3 != 0) {
        st = bmd__xyz_err(path, lineno,
                          "Properties='%s' has %zu ':'-separated fields (expected "
                          "name:type:columns triples such as species:S:1:pos:R:3)",
                          shown, nf);
        goto fail;
    }
    char *f[3], *cur = out->text;
    for (size_t t = 0; t < nf / 3; t++) {
        for (int k = 0; k < 3; k++) {
            f[k] = cur;
            char *c = strchr(cur, ':');
            if (c) {
                *c = '\0';
                cur = c + 1;
            } else {
                cur += strlen(cur);
            }
        }
        long ncols;
        if (!*f[0] || strlen(f[1]) != 1 || !strchr("RISL", f[1][0]) ||
            !bmd__xyz_int(f[2], strlen(f[2]), 1, 1000000, &ncols)) {
            char a[48], b[16], c[16];
            bmd__xyz_show(a, sizeof a, f[0], strlen(f[0]));
            bmd__xyz_show(b, sizeof b, f[1], strlen(f[1]));
            bmd__xyz_show(c, sizeof c, f[2], strlen(f[2]));
            st = bmd__xyz_err(path, lineno,
                              "Properties: bad entry '%s:%s:%s' (expected name:type:columns with "
                              "type R, I, S or L and columns a positive integer)",
                              a, b, c);
            goto fail;
        }
        bmd__xyz_prop *p = &out->p[out->n];
        p->name = f[0];
        p->type = f[1][0];
        p->ncols = (int)ncols;
        p->role = BMD__COL_SKIP;
        for (int j = 0; j < out->n; j++) {
            if (strcmp(out->p[j].name, p->name) == 0) {
                char a[48];
                bmd__xyz_show(a, sizeof a, p->name, strlen(p->name));
                st = bmd__xyz_err(path, lineno, "Properties names '%s' twice (expected each once)", a);
                goto fail;
            }
        }
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) {
            if (strcmp(known[k].name, p->name) != 0) continue;
            if (known[k].type != p->type || known[k].ncols != p->ncols) {
                st = bmd__xyz_err(path, lineno, "Properties: '%s' is %c:%d (expected %s:%c:%d)",
                                  p->name, p->type, p->ncols, known[k].name, known[k].type,
                                  known[k].ncols);
                goto fail;
            }
            p->role = known[k].role;
            out->has[p->role] = 1;
        }
        if (strcmp(p->name, "move_mask") == 0) {
            if (p->type != 'L' || (p->ncols != 1 && p->ncols != 3)) {
                st = bmd__xyz_err(path, lineno, "Properties: 'move_mask' is %c:%d (expected move_mask:L:1 or "
                                  "move_mask:L:3, ASE's FixAtoms or FixCartesian)", p->type, p->ncols);
                goto fail;
            }
            p->role = BMD__COL_MOVE_MASK;
            out->has[p->role] = 1;
        }
        out->fields += p->ncols;
        out->n++;
    }
    if (!out->has[BMD__COL_POS]) {
        st = bmd__xyz_err(path, lineno,
                          "Properties='%s' names no positions (expected pos:R:3)", shown);
        goto fail;
    }
    if (!out->has[BMD__COL_SPECIES] && !out->has[BMD__COL_Z]) {
        st = bmd__xyz_err(path, lineno,
                          "Properties='%s' names no species (expected species:S:1 or Z:I:1)", shown);
        goto fail;
    }
    /* momenta win over velocities when both are given (as ASE's Atoms). */
    if (out->has[BMD__COL_MOMENTA] && out->has[BMD__COL_VEL]) {
        for (int j = 0; j < out->n; j++)
            if (out->p[j].role == BMD__COL_VEL) out->p[j].role = BMD__COL_SKIP;
        out->has[BMD__COL_VEL] = 0;
    }
    build_ztab(out->ztab);
    return BMD_OK;
fail:
    bmd__xyz_props_free(out);
    return st;
}

static long count_fields(const char *s, size_t len) {
    long n = 0;
    for (size_t i = 0; i < len;) {
        while (i < len && is_space(s[i])) i++;
        if (i == len) break;
        n++;
        while (i < len && !is_space(s[i])) i++;
    }
    return n;
}

static bmd_status field_count_error(const char *line, size_t len, const bmd__xyz_props *pr,
                                    const char *path, long lineno) {
    return bmd__xyz_err(path, lineno,
                        "atom line has %ld field%s (expected %ld from Properties=%s)",
                        count_fields(line, len), count_fields(line, len) == 1 ? "" : "s",
                        pr->fields, pr->shown);
}

static bmd_status value_error(const char *what, const char *tok, size_t len, long field,
                              const bmd__xyz_prop *p, int col, const char *expected,
                              const char *path, long lineno) {
    char shown[64];
    bmd__xyz_show(shown, sizeof shown, tok, len);
    if (p->ncols > 1)
        return bmd__xyz_err(path, lineno,
                            "%s '%s' in field %ld (property '%s', column %d of %d; expected %s)",
                            what, shown, field, p->name, col + 1, p->ncols, expected);
    return bmd__xyz_err(path, lineno, "%s '%s' in field %ld (property '%s'; expected %s)", what,
                        shown, field, p->name, expected);
}

bmd_status bmd__xyz_atom_line(const char *line, size_t len, const bmd__xyz_props *pr,
                              bmd_system *sys, int atom, const char *path, long lineno) {
    size_t i = 0;
    long field = 0;
    for (int k = 0; k < pr->n; k++) {
        const bmd__xyz_prop *p = &pr->p[k];
        for (int c = 0; c < p->ncols; c++) {
            while (i < len && is_space(line[i])) i++;
            if (i == len) return field_count_error(line, len, pr, path, lineno);
            const char *tok = line + i;
            while (i < len && !is_space(line[i])) i++;
            size_t tl = (size_t)(line + i - tok);
            field++;
            double v = 0;
            long iv;
            unsigned char bv;
            if (p->type == 'R') {
                if (!bmd__xyz_real(tok, tl, &v))
                    return value_error("bad number", tok, tl, field, p, c, "a real number", path,
                                       lineno);
            }
            size_t a3 = 3 * (size_t)atom + (size_t)c;
            switch (p->role) {
            case BMD__COL_SPECIES: {
                int kz = tl <= 2 ? sym_index(tok[0], tl == 2 ? tok[1] : '\0') : -1;
                int z = kz >= 0 ? pr->ztab[kz] : 0;
                if (z <= 0)
                    return value_error("unknown element", tok, tl, field, p, c,
                                       "a chemical symbol such as Cu", path, lineno);
                if (!pr->has[BMD__COL_Z]) sys->Z[atom] = z;
                break;
            }
            case BMD__COL_Z:
                if (!bmd__xyz_int(tok, tl, 1, BMD_N_ELEMENTS - 1, &iv))
                    return value_error("bad atomic number", tok, tl, field, p, c,
                                       "an integer from 1 to 118", path, lineno);
                sys->Z[atom] = (int)iv;
                break;
            case BMD__COL_POS:
                if (!isfinite(v))
                    return value_error("non-finite position", tok, tl, field, p, c,
                                       "a finite number", path, lineno);
                sys->pos[a3] = v;
                break;
            case BMD__COL_MASSES:
                if (!isfinite(v) || v <= 0)
                    return value_error("bad mass", tok, tl, field, p, c,
                                       "a positive finite number", path, lineno);
                sys->mass[atom] = v;
                break;
            case BMD__COL_MOMENTA:
            case BMD__COL_VEL:
                if (!isfinite(v))
                    return value_error(p->role == BMD__COL_VEL ? "non-finite velocity"
                                                               : "non-finite momentum",
                                       tok, tl, field, p, c, "a finite number", path, lineno);
                sys->vel[a3] = v;
                break;
            case BMD__COL_FORCES:
                sys->forces[a3] = v;
                break;
            case BMD__COL_MOVE_MASK:
                if (!bmd__xyz_bool(tok, tl, 0, &bv))
                    return value_error("bad logical", tok, tl, field, p, c, "T or F", path, lineno);
                /* F: held along this axis; an atom is fixed when held along all */
                if (c == 0) sys->fixed[atom] = !bv;
                else if (sys->fixed[atom] != !bv)
                    return bmd__xyz_err(path, lineno,
                                        "atom %d is fixed along some axes only (move_mask %s in field %ld: an ASE "
                                        "FixCartesian constraint); batchmd holds whole atoms (FixAtoms): give "
                                        "the row F F F to fix the atom or T T T to let it move",
                                        atom + 1, bv ? "T after F" : "F after T", field);
                break;
            case BMD__COL_SKIP:
                if (p->type == 'I' && !bmd__xyz_int(tok, tl, LONG_MIN, LONG_MAX, &iv))
                    return value_error("bad integer", tok, tl, field, p, c, "an integer", path,
                                       lineno);
                if (p->type == 'L' && !bmd__xyz_bool(tok, tl, 0, &bv))
                    return value_error("bad logical", tok, tl, field, p, c, "T or F", path,
                                       lineno);
                if (p->type == 'S' && bmd__xyz_utf8_bad(tok, tl) >= 0)
                    return value_error("text that is not UTF-8", tok, tl, field, p, c, "UTF-8 text",
                                       path, lineno);
                break;
            }
        }
    }
    while (i < len && is_space(line[i])) i++;
    if (i != len) return field_count_error(line, len, pr, path, lineno);
    return BMD_OK;
}
