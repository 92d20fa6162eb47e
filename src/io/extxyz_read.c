/* extxyz_read.c — owns reading one indexed extxyz frame into a bmd_system:
 * the frame-level keys of its info line (Lattice, pbc, Properties, energy,
 * stress, with ASE's defaults and meanings), the atom lines, and the
 * defaults and conversions after them (masses, momenta -> velocities).
 * Also bmd_extxyz_read_all. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "batchmd/elements.h"
#include "io/extxyz_internal.h"

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* Whitespace inside a line, as the index counts it (extxyz_index.c). */
static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

/* One line of f without its "\n" or "\r\n"; -1 at the end of the file. */
static long next_line(FILE *f, char **buf, size_t *cap) {
    ssize_t n = getline(buf, cap, f);
    if (n < 0) return -1;
    while (n > 0 && ((*buf)[n - 1] == '\n' || (*buf)[n - 1] == '\r')) (*buf)[--n] = '\0';
    return (long)n;
}

static bmd_status show_value_error(const char *path, long lineno, const char *key,
                                   const char *value, const char *expected) {
    char shown[96];
    bmd__xyz_show(shown, sizeof shown, value, strlen(value));
    return bmd__xyz_err(path, lineno, "%s='%s' (expected %s)", key, shown, expected);
}

static double det3(const double *c) {
    return c[0] * (c[4] * c[8] - c[5] * c[7]) - c[1] * (c[3] * c[8] - c[5] * c[6]) +
           c[2] * (c[3] * c[7] - c[4] * c[6]);
}

/* Takes Lattice, pbc, energy and stress out of sys->info into their fields. */
static bmd_status frame_keys(bmd_system *sys, const char *path, long lineno) {
    bmd_info *info = &sys->info;
    const char *lat = bmd_info_get(info, "Lattice");
    const char *pbc = bmd_info_get(info, "pbc");
    const char *en = bmd_info_get(info, "energy");
    const char *st = bmd_info_get(info, "stress");
    if (lat) {
        double c[9];
        int n = bmd__xyz_reals(lat, c, 9);
        if (n != 9)
            return show_value_error(path, lineno, "Lattice", lat,
                                    "9 numbers: the cell vectors a, b, c one after the other");
        for (int k = 0; k < 9; k++)
            if (!isfinite(c[k]))
                return show_value_error(path, lineno, "Lattice", lat, "9 finite numbers");
        memcpy(sys->cell, c, sizeof c);
    }
    if (pbc) {
        unsigned char b[3];
        int n = bmd__xyz_bools(pbc, b, 3);
        if (n == 1) b[1] = b[2] = b[0];
        if (n != 1 && n != 3)
            return show_value_error(path, lineno, "pbc", pbc, "3 logicals such as \"T T F\"");
        memcpy(sys->pbc, b, 3);
    } else {
        /* ASE: periodic in all directions when a Lattice is given. */
        sys->pbc[0] = sys->pbc[1] = sys->pbc[2] = lat != NULL;
    }
    if (sys->pbc[0] || sys->pbc[1] || sys->pbc[2]) {
        if (!lat)
            return bmd__xyz_err(path, lineno,
                                "pbc is T on some axis but no Lattice is given (expected "
                                "Lattice=\"ax ay az bx by bz cx cy cz\")");
        if (fabs(det3(sys->cell)) < 1e-12) {
            char shown[96];
            bmd__xyz_show(shown, sizeof shown, lat, strlen(lat));
            return bmd__xyz_err(path, lineno,
                                "Lattice='%s' has zero volume (expected 3 independent cell "
                                "vectors, since pbc is T on some axis)",
                                shown);
        }
    }
    if (en) {
        double e;
        if (bmd__xyz_reals(en, &e, 1) != 1) return show_value_error(path, lineno, "energy", en, "one number");
        sys->energy = e;
        sys->has_energy = 1;
    }
    if (st) {
        double v[9];
        int n = bmd__xyz_reals(st, v, 9);
        if (n == 6) {
            memcpy(sys->stress, v, 6 * sizeof *v);
        } else if (n == 9) {
            /* ASE reads the 9 values as a 3x3 matrix in Fortran order, M[i][j] = v[i + 3j],
             * then takes xx yy zz yz xz xy. */
            sys->stress[0] = v[0];
            sys->stress[1] = v[4];
            sys->stress[2] = v[8];
            sys->stress[3] = v[7];
            sys->stress[4] = v[6];
            sys->stress[5] = v[3];
        } else {
            return show_value_error(path, lineno, "stress", st,
                                    "6 numbers (Voigt xx yy zz yz xz xy) or 9 (a 3x3 matrix)");
        }
        sys->has_stress = 1;
    }
    bmd_info_remove(info, "Lattice");
    bmd_info_remove(info, "pbc");
    bmd_info_remove(info, "energy");
    bmd_info_remove(info, "stress");
    return BMD_OK;
}

/* The body of bmd_extxyz_read_frame once the file is open at the frame. */
static bmd_status read_body(FILE *f, const bmd_extxyz_index *ix, long frame, bmd_units_kind units,
                            bmd_system *out, char **buf, size_t *cap) {
    const char *path = ix->path;
    long lineno = ix->line[frame];
    int n = ix->atoms[frame];
    long len = next_line(f, buf, cap), cnt;
    char *b = *buf;
    if (len >= 0) { /* blanks around the count, as the index allows */
        while (len > 0 && is_blank(b[len - 1])) len--;
        while (len > 0 && is_blank(*b)) b++, len--;
    }
    if (len < 0 || !bmd__xyz_int(b, (size_t)len, 0, BMD__XYZ_MAX_ATOMS, &cnt) || cnt != n)
        return bmd__fail(BMD_ERR_IO, "%s:%ld: the file changed since it was indexed", path, lineno);
    bmd_status st = bmd_system_alloc(out, n);
    if (st) return st;
    if (!(out->source = dup_str(path))) return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    out->line = lineno;
    if ((len = next_line(f, buf, cap)) < 0)
        return bmd__fail(BMD_ERR_IO, "%s:%ld: the file changed since it was indexed", path, lineno + 1);
    if ((st = bmd__xyz_parse_info(*buf, (size_t)len, path, lineno + 1, &out->info))) return st;
    if ((st = frame_keys(out, path, lineno + 1))) return st;
    const char *pv = bmd_info_get(&out->info, "Properties");
    bmd__xyz_props pr;
    if ((st = bmd__xyz_props_parse(pv ? pv : "species:S:1:pos:R:3", path, lineno + 1, &pr))) return st;
    bmd_info_remove(&out->info, "Properties");
    if (pr.has[BMD__COL_MOMENTA] || pr.has[BMD__COL_VEL]) st = bmd_system_ensure_vel(out);
    if (!st && pr.has[BMD__COL_FORCES]) st = bmd_system_ensure_forces(out);
    if (!st && pr.has[BMD__COL_MOVE_MASK]) st = bmd_system_ensure_fixed(out);
    for (int i = 0; i < n && !st; i++) {
        if ((len = next_line(f, buf, cap)) < 0)
            st = bmd__fail(BMD_ERR_IO, "%s:%ld: the file changed since it was indexed", path,
                           lineno + 2 + i);
        else
            st = bmd__xyz_atom_line(*buf, (size_t)len, &pr, out, i, path, lineno + 2 + i);
    }
    if (!st && out->fixed && bmd_system_n_fixed(out) == 0) { /* a mask of all T: nothing is fixed */
        free(out->fixed);
        out->fixed = NULL;
    }
    if (!st) {
        bmd_units u = bmd_units_get(units);
        if (!pr.has[BMD__COL_MASSES])
            for (int i = 0; i < n; i++)
                out->mass[i] = units == BMD_UNITS_LJ ? 1.0 : bmd_element_mass(out->Z[i]);
        if (pr.has[BMD__COL_MOMENTA])
            /* ASE: v = p / m in Å per ASE time unit; times ase_time (ASE's fs) gives Å/fs. */
            for (int i = 0; i < n; i++)
                for (int d = 0; d < 3; d++)
                    out->vel[3 * i + d] = out->vel[3 * i + d] / out->mass[i] * u.ase_time;
    }
    bmd__xyz_props_free(&pr);
    return st;
}

bmd_status bmd_extxyz_read_frame(const bmd_extxyz_index *ix, long frame, bmd_units_kind units,
                                 bmd_system *out) {
    if (!ix || !out) return bmd__fail(BMD_ERR_INVALID, "bmd_extxyz_read_frame: NULL argument");
    memset(out, 0, sizeof *out);
    out->system_id = -1;
    if (frame < 0 || frame >= ix->n)
        return bmd__fail(BMD_ERR_INVALID, "%s: no frame %ld (the file has %ld)", ix->path, frame, ix->n);
    FILE *f = fopen(ix->path, "rb");
    if (!f) return bmd__fail(BMD_ERR_IO, "%s: cannot open: %s", ix->path, strerror(errno));
    bmd_status st = BMD_OK;
    if (fseeko(f, (off_t)ix->offset[frame], SEEK_SET) != 0)
        st = bmd__fail(BMD_ERR_IO, "%s: cannot seek to frame %ld: %s", ix->path, frame, strerror(errno));
    char *buf = NULL;
    size_t cap = 0;
    if (!st) st = read_body(f, ix, frame, units, out, &buf, &cap);
    if (!st && ferror(f)) st = bmd__fail(BMD_ERR_IO, "%s: read error: %s", ix->path, strerror(errno));
    free(buf);
    fclose(f);
    if (st) bmd_system_free(out);
    return st;
}

bmd_status bmd_extxyz_read_all(const char *path, bmd_units_kind units, bmd_system **frames, long *n) {
    if (!path || !frames || !n) return bmd__fail(BMD_ERR_INVALID, "bmd_extxyz_read_all: NULL argument");
    *frames = NULL;
    *n = 0;
    bmd_extxyz_index *ix;
    bmd_status st = bmd_extxyz_index_open(path, &ix);
    if (st) return st;
    long nf = bmd_extxyz_index_frames(ix);
    bmd_system *fr = calloc(nf > 0 ? (size_t)nf : 1, sizeof *fr);
    if (!fr) {
        bmd_extxyz_index_close(ix);
        return bmd__fail(BMD_ERR_NOMEM, "%s: out of memory for %ld frames", path, nf);
    }
    long k = 0;
    for (; k < nf && !st; k++) st = bmd_extxyz_read_frame(ix, k, units, &fr[k]);
    bmd_extxyz_index_close(ix);
    if (st) {
        for (long j = 0; j < k; j++) bmd_system_free(&fr[j]);
        free(fr);
        return st;
    }
    *frames = fr;
    *n = nf;
    return BMD_OK;
}
