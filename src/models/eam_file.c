/* eam_file.c — owns the DYNAMO potential file formats that LAMMPS's pair
 * styles eam, eam/alloy and eam/fs read, with "FILE:LINE: ..." errors:
 *
 * funcfl (.eam), one element:
 *   line 1      comment
 *   line 2      Z mass [lattice-constant lattice-type]
 *   line 3      Nrho dRho Nr dR cutoff
 *   then        F(ρ) (Nrho values), Z(r) (Nr values), ρ(r) (Nr values)
 *
 * setfl (.eam.alloy) and Finnis–Sinclair (.eam.fs):
 *   lines 1-3   comments
 *   line 4      N element1 ... elementN
 *   line 5      Nrho dRho Nr dR cutoff
 *   per element i:  a line "Z mass [lattice-constant lattice-type]",
 *                   F_i(ρ) (Nrho values), then ρ_i(r) (Nr values) for setfl,
 *                   or ρ_{i→j}(r) for j = 1..N (N·Nr values) for fs
 *   then        r·φ_ij(r) (Nr values) for i = 1..N, j = 1..i
 *
 * As LAMMPS reads them: several values to a line, each array starts on a new
 * line, blank lines and '#' comments skipped in the data, values left over
 * on an array's last line ignored, anything after the last array ignored.
 * Grid r_m = (m-1) dR, ρ_m = (m-1) dRho, m = 1..N. A file that does not
 * exist is looked for in $LAMMPS_POTENTIALS (by its base name), as LAMMPS does. */
#include "models/eam.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "batchmd/elements.h"

#define MAX_POINTS 50000000 /* grid points per function: far beyond any real file */
#define MAX_ELEMENTS 64

typedef struct rd {
    FILE *f;
    const char *path;
    char *line;
    size_t cap;
    long lineno;
    char *cur; /* token cursor in line */
} rd;

/* next physical line; 0 at end of file */
static int raw_line(rd *r) {
    ssize_t len = getline(&r->line, &r->cap, r->f);
    if (len < 0) return 0;
    r->lineno++;
    r->cur = r->line;
    return 1;
}

static char *next_token(rd *r) {
    char *p = r->cur;
    while (*p && isspace((unsigned char)*p)) p++;
    if (!*p) {
        r->cur = p;
        return NULL;
    }
    char *t = p;
    while (*p && !isspace((unsigned char)*p)) p++;
    if (*p) *p++ = '\0';
    r->cur = p;
    return t;
}

/* next line with data ('#' starts a comment); 0 at end of file */
static int data_line(rd *r) {
    while (raw_line(r)) {
        char *hash = strchr(r->line, '#');
        if (hash) *hash = '\0';
        const char *p = r->line;
        while (*p && isspace((unsigned char)*p)) p++;
        if (*p) return 1;
    }
    return 0;
}

static bmd_status eof_error(rd *r, const char *what) {
    return bmd__fail(BMD_ERR_PARSE, "%s:%ld: unexpected end of file (expected %s)", r->path, r->lineno + 1, what);
}

static int parse_double(const char *t, double *v) {
    char *end;
    errno = 0;
    *v = strtod(t, &end);
    return end == t || *end != '\0' || !isfinite(*v);
}

static int parse_int(const char *t, long *v) {
    char *end;
    errno = 0;
    *v = strtol(t, &end, 10);
    return end == t || *end != '\0' || errno;
}

/* n values into out[0..n-1], starting on a new data line */
static bmd_status read_values(rd *r, int n, double *out, const char *what) {
    int i = 0;
    while (i < n) {
        if (!data_line(r)) {
            char exp[192];
            snprintf(exp, sizeof exp, "%d values of %s, found %d", n, what, i);
            return eof_error(r, exp);
        }
        char *t;
        while (i < n && (t = next_token(r))) {
            if (parse_double(t, &out[i]))
                return bmd__fail(BMD_ERR_PARSE, "%s:%ld: '%s' is not a finite number (value %d of %d of %s)",
                                 r->path, r->lineno, t, i + 1, n, what);
            i++;
        }
    }
    return BMD_OK;
}

/* the grid line: Nrho dRho Nr dR cutoff */
static bmd_status read_grid(rd *r, bmd__eam_file *f) {
    static const char *want = "'Nrho dRho Nr dR cutoff'";
    if (!data_line(r)) return eof_error(r, want);
    char *t[5];
    for (int k = 0; k < 5; k++)
        if (!(t[k] = next_token(r)))
            return bmd__fail(BMD_ERR_PARSE, "%s:%ld: expected %s, found %d value%s", r->path, r->lineno, want, k,
                             k == 1 ? "" : "s");
    long nrho, nr;
    if (parse_int(t[0], &nrho) || parse_double(t[1], &f->drho) || parse_int(t[2], &nr) ||
        parse_double(t[3], &f->dr) || parse_double(t[4], &f->cut))
        return bmd__fail(BMD_ERR_PARSE, "%s:%ld: expected %s (two integers and three numbers), got '%s %s %s %s %s'",
                         r->path, r->lineno, want, t[0], t[1], t[2], t[3], t[4]);
    if (nrho < 5 || nr < 5 || nrho > MAX_POINTS || nr > MAX_POINTS)
        return bmd__fail(BMD_ERR_PARSE, "%s:%ld: Nrho and Nr must be between 5 and %d (got %ld and %ld)", r->path,
                         r->lineno, MAX_POINTS, nrho, nr);
    if (!(f->drho > 0) || !(f->dr > 0) || !(f->cut > 0))
        return bmd__fail(BMD_ERR_PARSE, "%s:%ld: dRho, dR and the cutoff must be > 0 (got %g, %g, %g)", r->path,
                         r->lineno, f->drho, f->dr, f->cut);
    f->nrho = (int)nrho;
    f->nr = (int)nr;
    return BMD_OK;
}

/* "Z mass ..." of element i; *z receives Z (0 if not an element number) */
static bmd_status read_element_line(rd *r, const char *name, long *z, double *mass) {
    char what[96];
    snprintf(what, sizeof what, "the line 'Z mass [a lattice]' of element %.15s", name);
    if (!data_line(r)) return eof_error(r, what);
    char *tz = next_token(r), *tm = next_token(r);
    if (!tz || !tm || parse_int(tz, z) || parse_double(tm, mass))
        return bmd__fail(BMD_ERR_PARSE, "%s:%ld: expected %s (an integer and a number)", r->path, r->lineno, what);
    return BMD_OK;
}

static double *alloc_fn(int n) { return calloc((size_t)n + 1, sizeof(double)); }

static bmd_status alloc_tables(bmd__eam_file *f, int nrhor, int nz2r) {
    const int N = f->n_elem;
    f->z = calloc((size_t)N, sizeof(int));
    f->mass = calloc((size_t)N, sizeof(double));
    f->frho = calloc((size_t)N, sizeof(double *));
    f->rhor = calloc((size_t)nrhor, sizeof(double *));
    f->z2r = calloc((size_t)nz2r, sizeof(double *));
    if (!f->z || !f->mass || !f->frho || !f->rhor || !f->z2r) goto nomem;
    for (int i = 0; i < N; i++)
        if (!(f->frho[i] = alloc_fn(f->nrho))) goto nomem;
    for (int i = 0; i < nrhor; i++)
        if (!(f->rhor[i] = alloc_fn(f->nr))) goto nomem;
    for (int i = 0; i < nz2r; i++)
        if (!(f->z2r[i] = alloc_fn(f->nr))) goto nomem;
    return BMD_OK;
nomem:
    return bmd__fail(BMD_ERR_NOMEM, "out of memory reading the EAM tables of %d element(s)", N);
}

static bmd_status read_funcfl(rd *r, bmd__eam_file *f) {
    if (!raw_line(r)) return eof_error(r, "a comment line");
    if (!data_line(r)) return eof_error(r, "the line 'Z mass [a lattice]'");
    char *tz = next_token(r), *tm = next_token(r);
    long z;
    double mass;
    if (!tz || !tm || parse_int(tz, &z) || parse_double(tm, &mass))
        return bmd__fail(BMD_ERR_PARSE, "%s:%ld: expected 'Z mass [a lattice]' (an integer and a number)", r->path,
                         r->lineno);
    if (z < 1 || z >= BMD_N_ELEMENTS)
        return bmd__fail(BMD_ERR_PARSE, "%s:%ld: atomic number %ld is not an element (1..%d)", r->path, r->lineno, z,
                         BMD_N_ELEMENTS - 1);
    bmd_status st = read_grid(r, f);
    if (st) return st;
    f->n_elem = 1;
    if ((st = alloc_tables(f, 1, 1))) return st;
    f->z[0] = (int)z;
    f->mass[0] = mass;
    if ((st = read_values(r, f->nrho, f->frho[0] + 1, "F(rho)"))) return st;
    if ((st = read_values(r, f->nr, f->z2r[0] + 1, "Z(r)"))) return st;
    return read_values(r, f->nr, f->rhor[0] + 1, "rho(r)");
}

static bmd_status read_setfl(rd *r, bmd__eam_file *f, int fs) {
    for (int k = 0; k < 3; k++)
        if (!raw_line(r)) return eof_error(r, "three comment lines, then 'N element1 ... elementN'");
    if (!data_line(r)) return eof_error(r, "'N element1 ... elementN'");
    long n;
    char *tn = next_token(r);
    if (!tn || parse_int(tn, &n) || n < 1 || n > MAX_ELEMENTS)
        return bmd__fail(BMD_ERR_PARSE, "%s:%ld: expected 'N element1 ... elementN' with 1 <= N <= %d", r->path,
                         r->lineno, MAX_ELEMENTS);
    char names[MAX_ELEMENTS][16];
    long names_line = r->lineno;
    for (long i = 0; i < n; i++) {
        char *t = next_token(r);
        if (!t)
            return bmd__fail(BMD_ERR_PARSE, "%s:%ld: %ld elements announced, %ld named (expected 'N element1 ... "
                             "elementN')", r->path, r->lineno, n, i);
        snprintf(names[i], sizeof names[i], "%s", t);
    }
    bmd_status st = read_grid(r, f);
    if (st) return st;
    const int N = (int)n;
    f->n_elem = N;
    if ((st = alloc_tables(f, fs ? N * N : N, N * (N + 1) / 2))) return st;
    char what[96];
    for (int i = 0; i < N; i++) {
        long z = 0;
        if ((st = read_element_line(r, names[i], &z, &f->mass[i]))) return st;
        int zs = bmd_element_from_symbol(names[i]);
        if (zs < 1) zs = (z >= 1 && z < BMD_N_ELEMENTS) ? (int)z : -1;
        if (zs < 1)
            return bmd__fail(BMD_ERR_PARSE, "%s:%ld: element '%s' is neither a chemical symbol nor given an atomic "
                             "number (line %ld says Z = %ld)", r->path, names_line, names[i], r->lineno, z);
        for (int k = 0; k < i; k++)
            if (f->z[k] == zs)
                return bmd__fail(BMD_ERR_PARSE, "%s:%ld: element %s is listed twice", r->path, names_line, names[i]);
        f->z[i] = zs;
        snprintf(what, sizeof what, "F(rho) of %.15s", names[i]);
        if ((st = read_values(r, f->nrho, f->frho[i] + 1, what))) return st;
        for (int j = 0; j < (fs ? N : 1); j++) {
            if (fs) snprintf(what, sizeof what, "rho(r) of %.15s at %.15s", names[i], names[j]);
            else snprintf(what, sizeof what, "rho(r) of %.15s", names[i]);
            if ((st = read_values(r, f->nr, f->rhor[fs ? i * N + j : i] + 1, what))) return st;
        }
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j <= i; j++) {
            snprintf(what, sizeof what, "r*phi(r) of %.15s-%.15s", names[i], names[j]);
            if ((st = read_values(r, f->nr, f->z2r[i * (i + 1) / 2 + j] + 1, what))) return st;
        }
    return BMD_OK;
}

bmd_status bmd__eam_file_read(const char *path, int style, bmd__eam_file *out) {
    memset(out, 0, sizeof *out);
    out->style = style;
    rd r = {0};
    r.path = path;
    r.f = fopen(path, "r");
    char alt[4096];
    if (!r.f) {
        /* as LAMMPS: a file not found is looked for in $LAMMPS_POTENTIALS */
        const int e = errno;
        const char *env = getenv("LAMMPS_POTENTIALS");
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        if (e == ENOENT && env && *env && (size_t)snprintf(alt, sizeof alt, "%s/%s", env, base) < sizeof alt &&
            (r.f = fopen(alt, "r")))
            r.path = alt;
        else if (e == ENOENT && env && *env)
            return bmd__fail(BMD_ERR_IO, "cannot open EAM potential file %s: %s (nor %s/%s)", path, strerror(e), env,
                             base);
        else
            return bmd__fail(BMD_ERR_IO, "cannot open EAM potential file %s: %s", path, strerror(e));
    }
    bmd_status st = style == BMD__EAM_FUNCFL ? read_funcfl(&r, out) : read_setfl(&r, out, style == BMD__EAM_FS);
    free(r.line);
    fclose(r.f);
    if (st) bmd__eam_file_free(out);
    return st;
}

void bmd__eam_file_free(bmd__eam_file *f) {
    if (!f) return;
    const int N = f->n_elem;
    const int nrhor = f->style == BMD__EAM_FS ? N * N : N;
    const int nz2r = f->style == BMD__EAM_FUNCFL ? 1 : N * (N + 1) / 2;
    for (int i = 0; f->frho && i < N; i++) free(f->frho[i]);
    for (int i = 0; f->rhor && i < nrhor; i++) free(f->rhor[i]);
    for (int i = 0; f->z2r && i < nz2r; i++) free(f->z2r[i]);
    free(f->frho);
    free(f->rhor);
    free(f->z2r);
    free(f->z);
    free(f->mass);
    memset(f, 0, sizeof *f);
}
