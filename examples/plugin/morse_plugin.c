/* morse_plugin.c — an example batchmd plug-in (see batchmd/model_plugin.h):
 * the Morse pair potential
 *
 *     φ(r) = D0 [e^{−2α(r−r0)} − 2 e^{−α(r−r0)}]  (− φ(rc) when shift),  r < rc
 *
 * with its own brute-force neighbor search (every pair, every periodic image
 * within the cutoff: O(N²) per system — it is an example, not a fast model).
 *
 * Parameters (the campaign's `params`, all strings):
 *   file:   a parameter table, one species pair a line: "A B D0 alpha r0 rc"
 *           (A, B: chemical symbols or atomic numbers; eV, 1/Å, Å, Å; '#'
 *           starts a comment); pairs not listed do not interact;
 *   or, for every pair of species alike: D0, alpha, r0, cutoff;
 *   shift:  0 (default) or 1: energies shifted to 0 at the cutoff.
 *
 * Build: see CMakeLists.txt here, or
 *     cc -O2 -shared -fPIC -I<batchmd>/include morse_plugin.c -o libmorse_plugin.so -lm */
#define BMD_PLUGIN_ONLY
#include "batchmd/model_plugin.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NZ 119

typedef struct morse_pair {
    int set;
    double d0, alpha, r0, rc, shift;
} morse_pair;

typedef struct morse {
    morse_pair p[NZ][NZ]; /* by atomic numbers */
    unsigned char known[NZ];
    int all;              /* 1: p[0][0] applies to every pair */
    double rc_max;
} morse;

static const char *const SYMBOLS =
    "X H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr Rb "
    "Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf "
    "Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr Rf Db Sg Bh "
    "Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og";

static int element(const char *tok) {
    char *end;
    long z = strtol(tok, &end, 10);
    if (end != tok && *end == '\0') return (z >= 1 && z < NZ) ? (int)z : -1;
    const char *s = SYMBOLS;
    for (int k = 0; k < NZ; k++) {
        size_t len = strcspn(s, " ");
        if (len == strlen(tok) && strncmp(s, tok, len) == 0) return k ? k : -1;
        s += len + (s[len] == ' ');
    }
    return -1;
}

static void msg(char *err, size_t len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

static int number(const char *s, double *v) {
    char *end;
    *v = strtod(s, &end);
    return end == s || *end != '\0' || !isfinite(*v);
}

static double phi_of(const morse_pair *q, double r) {
    const double e = exp(-q->alpha * (r - q->r0));
    return q->d0 * (e * e - 2.0 * e);
}

static int set_pair(morse *m, int a, int b, double d0, double alpha, double r0, double rc) {
    if (!(rc > 0)) return 1;
    morse_pair q = {1, d0, alpha, r0, rc, 0.0};
    m->p[a][b] = m->p[b][a] = q;
    m->known[a] = m->known[b] = 1;
    if (rc > m->rc_max) m->rc_max = rc;
    return 0;
}

static int read_table(morse *m, const char *path, char *err, size_t len) {
    FILE *f = fopen(path, "r");
    if (!f) {
        msg(err, len, "cannot open parameter file '%s'", path);
        return 1;
    }
    char line[512];
    int lineno = 0, n = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char a[32], b[32];
        double d0, alpha, r0, rc;
        char extra[2];
        int got = sscanf(line, "%31s %31s %lf %lf %lf %lf %1s", a, b, &d0, &alpha, &r0, &rc, extra);
        if (got <= 0) continue;
        int za = element(a), zb = element(b);
        if (got != 6 || za < 0 || zb < 0 || set_pair(m, za, zb, d0, alpha, r0, rc)) {
            msg(err, len, "%s:%d: expected 'A B D0 alpha r0 cutoff' (elements, then numbers, cutoff > 0)", path,
                lineno);
            fclose(f);
            return 1;
        }
        n++;
    }
    fclose(f);
    if (!n) {
        msg(err, len, "%s: no species pairs", path);
        return 1;
    }
    return 0;
}

static void *morse_create(int n, const char *const *keys, const char *const *values, char *err, size_t len) {
    morse *m = calloc(1, sizeof *m);
    if (!m) {
        msg(err, len, "out of memory");
        return NULL;
    }
    const char *file = NULL;
    double v[4] = {NAN, NAN, NAN, NAN}, shift = 0;
    static const char *const names[4] = {"D0", "alpha", "r0", "cutoff"};
    int inline_given = 0;
    for (int i = 0; i < n; i++) {
        int k = 0;
        while (k < 4 && strcmp(keys[i], names[k])) k++;
        if (strcmp(keys[i], "file") == 0) {
            file = values[i];
        } else if (strcmp(keys[i], "shift") == 0) {
            if (number(values[i], &shift) || (shift != 0 && shift != 1)) {
                msg(err, len, "shift must be 0 or 1 (got '%s')", values[i]);
                goto fail;
            }
        } else if (k < 4) {
            if (number(values[i], &v[k])) {
                msg(err, len, "%s must be a number (got '%s')", keys[i], values[i]);
                goto fail;
            }
            inline_given++;
        } else {
            msg(err, len, "unknown parameter '%s' (expected file, or D0, alpha, r0, cutoff; and shift)", keys[i]);
            goto fail;
        }
    }
    if (file && inline_given) {
        msg(err, len, "give either file or D0, alpha, r0, cutoff, not both");
        goto fail;
    }
    if (file) {
        if (read_table(m, file, err, len)) goto fail;
    } else {
        for (int k = 0; k < 4; k++)
            if (isnan(v[k])) {
                msg(err, len, "missing parameter %s (or give a parameter file with 'file')", names[k]);
                goto fail;
            }
        if (set_pair(m, 0, 0, v[0], v[1], v[2], v[3])) {
            msg(err, len, "cutoff must be > 0 (got %g)", v[3]);
            goto fail;
        }
        m->all = 1;
    }
    for (int a = 0; a < NZ; a++)
        for (int b = 0; b < NZ; b++) {
            morse_pair *q = &m->p[a][b];
            if (q->set && shift) q->shift = phi_of(q, q->rc);
        }
    return m;
fail:
    free(m);
    return NULL;
}

static double morse_cutoff(void *h) { return ((morse *)h)->rc_max; }

static void morse_destroy(void *h) { free(h); }

static int morse_supports(void *h, int z) {
    morse *m = h;
    return m->all || (z >= 0 && z < NZ && m->known[z]);
}

/* ---- geometry: a basis whose periodic rows are the cell vectors ---- */
static void cross(const double *a, const double *b, double *c) {
    c[0] = a[1] * b[2] - a[2] * b[1];
    c[1] = a[2] * b[0] - a[0] * b[2];
    c[2] = a[0] * b[1] - a[1] * b[0];
}

static double norm(const double *a) { return sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]); }

/* B: rows = periodic cell vectors, completed by unit vectors orthogonal to
 * them; Binv its inverse (columns = reciprocal vectors). 1 if degenerate. */
static int basis(const double *cell, const unsigned char *pbc, double *B, double *Binv) {
    int per[3], np = 0, free_ax[3], nf = 0;
    for (int k = 0; k < 3; k++) {
        if (pbc[k]) per[np++] = k;
        else free_ax[nf++] = k;
    }
    for (int k = 0; k < 3; k++)
        for (int c = 0; c < 3; c++) B[3 * k + c] = pbc[k] ? cell[3 * k + c] : 0.0;
    if (np == 2) {
        double u[3];
        cross(B + 3 * per[0], B + 3 * per[1], u);
        double l = norm(u);
        if (!(l > 0)) return 1;
        for (int c = 0; c < 3; c++) B[3 * free_ax[0] + c] = u[c] / l;
    } else if (np == 1) {
        const double *a = B + 3 * per[0];
        double e[3] = {0, 0, 0}, u[3], w[3];
        int k = fabs(a[0]) <= fabs(a[1]) ? (fabs(a[0]) <= fabs(a[2]) ? 0 : 2) : (fabs(a[1]) <= fabs(a[2]) ? 1 : 2);
        e[k] = 1;
        cross(a, e, u);
        cross(a, u, w);
        double lu = norm(u), lw = norm(w);
        if (!(lu > 0) || !(lw > 0)) return 1;
        for (int c = 0; c < 3; c++) {
            B[3 * free_ax[0] + c] = u[c] / lu;
            B[3 * free_ax[1] + c] = w[c] / lw;
        }
    } else if (np == 0) {
        for (int k = 0; k < 3; k++)
            for (int c = 0; c < 3; c++) B[3 * k + c] = k == c;
    }
    double c0[3], c1[3], c2[3];
    cross(B + 3, B + 6, c0);
    cross(B + 6, B, c1);
    cross(B, B + 3, c2);
    const double det = B[0] * c0[0] + B[1] * c0[1] + B[2] * c0[2];
    if (!(fabs(det) > 0) || !isfinite(det)) return 1;
    for (int c = 0; c < 3; c++) { /* Binv[c][k]: f_k = Σ_c p_c Binv[3c + k] */
        Binv[3 * c + 0] = c0[c] / det;
        Binv[3 * c + 1] = c1[c] / det;
        Binv[3 * c + 2] = c2[c] / det;
    }
    return 0;
}

static int one_system(const morse *m, const bmd_plugin_systems *S, int k, char *err, size_t len) {
    const int a0 = S->atom_start[k], n = S->atom_count[k];
    const double *cell = S->cell + 9 * (size_t)k;
    const unsigned char *pbc = S->pbc + 3 * (size_t)k;
    double B[9], Bi[9];
    if (basis(cell, pbc, B, Bi)) {
        msg(err, len, "system %d: its cell is degenerate along a periodic axis", k);
        return 1;
    }
    /* images per periodic axis: the lattice planes are 1/|column k of B^-1| apart */
    int N[3];
    for (int d = 0; d < 3; d++) {
        const double g = sqrt(Bi[d] * Bi[d] + Bi[3 + d] * Bi[3 + d] + Bi[6 + d] * Bi[6 + d]);
        N[d] = pbc[d] ? (int)ceil(m->rc_max * g + 0.5) + 1 : 0;
        if (N[d] > 1000) {
            msg(err, len, "system %d: cell too thin for the cutoff", k);
            return 1;
        }
    }
    double E = 0, W[6] = {0, 0, 0, 0, 0, 0};
    double *F = S->forces ? S->forces + 3 * (size_t)a0 : NULL;
    double *epa = S->energy_per_atom ? S->energy_per_atom + a0 : NULL;
    if (F) memset(F, 0, 3 * (size_t)n * sizeof(double));
    if (epa) memset(epa, 0, (size_t)n * sizeof(double));
    const double *x = S->pos + 3 * (size_t)a0;
    const int *Z = S->Z + a0;
    for (int i = 0; i < n; i++) {
        for (int j = i; j < n; j++) {
            const int zi = Z[i] >= 0 && Z[i] < NZ ? Z[i] : 0, zj = Z[j] >= 0 && Z[j] < NZ ? Z[j] : 0;
            const morse_pair *q = m->all ? &m->p[0][0] : &m->p[zi][zj];
            if (!q->set) continue;
            const double rc2 = q->rc * q->rc, w = i == j ? 0.5 : 1.0;
            double d[3];
            for (int c = 0; c < 3; c++) d[c] = x[3 * j + c] - x[3 * i + c];
            /* to the nearest image along the periodic axes */
            for (int a = 0; a < 3; a++) {
                if (!pbc[a]) continue;
                const double f = d[0] * Bi[a] + d[1] * Bi[3 + a] + d[2] * Bi[6 + a];
                const double s = floor(f + 0.5);
                for (int c = 0; c < 3; c++) d[c] -= s * B[3 * a + c];
            }
            for (int n0 = -N[0]; n0 <= N[0]; n0++)
                for (int n1 = -N[1]; n1 <= N[1]; n1++)
                    for (int n2 = -N[2]; n2 <= N[2]; n2++) {
                        if (i == j && !n0 && !n1 && !n2) continue;
                        double r[3];
                        for (int c = 0; c < 3; c++) r[c] = d[c] + n0 * B[c] + n1 * B[3 + c] + n2 * B[6 + c];
                        const double r2 = r[0] * r[0] + r[1] * r[1] + r[2] * r[2];
                        if (!(r2 < rc2)) continue;
                        const double rr = sqrt(r2), e = exp(-q->alpha * (rr - q->r0));
                        const double phi = q->d0 * (e * e - 2.0 * e) - q->shift;
                        const double dphi = -2.0 * q->alpha * q->d0 * (e * e - e); /* φ'(r) */
                        E += w * phi;
                        if (epa) {
                            epa[i] += 0.5 * w * phi;
                            epa[j] += 0.5 * w * phi;
                        }
                        const double g = w * dphi / rr;
                        if (F && i != j)
                            for (int c = 0; c < 3; c++) {
                                F[3 * i + c] += g * r[c];
                                F[3 * j + c] -= g * r[c];
                            }
                        W[0] += g * r[0] * r[0];
                        W[1] += g * r[1] * r[1];
                        W[2] += g * r[2] * r[2];
                        W[3] += g * r[1] * r[2];
                        W[4] += g * r[0] * r[2];
                        W[5] += g * r[0] * r[1];
                    }
        }
    }
    if (S->energy) S->energy[k] = E;
    if (S->virial) memcpy(S->virial + 6 * (size_t)k, W, sizeof W);
    return 0;
}

static int morse_compute(void *h, const bmd_plugin_systems *S, char *err, size_t len) {
    const morse *m = h;
    for (int k = 0; k < S->n_systems; k++)
        if (one_system(m, S, k, err, len)) return 1;
    return 0;
}

static const bmd_plugin_api api = {
    .abi_version = BMD_PLUGIN_ABI_VERSION,
    .name = "morse-example",
    .flags = BMD_PLUGIN_THREAD_SAFE,
    .create = morse_create,
    .compute = morse_compute,
    .cutoff = morse_cutoff,
    .destroy = morse_destroy,
    .supports_element = morse_supports,
};

BMD_PLUGIN_EXPORT const bmd_plugin_api *bmd_plugin_entry(void) { return &api; }
