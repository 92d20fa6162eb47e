/* eam_table.c — owns the conversion of an EAM file into the kernel's spline
 * tables, step for step as LAMMPS's PairEAM (file2array, array2spline,
 * interpolate), so that values agree with LAMMPS to rounding:
 *
 * funcfl (one file per element, as pair_coeff i i FILE): one grid for all,
 *   the largest dR and dρ and the longest ranges of the files (nr =
 *   max (Nr−1)dR / dR + 0.5 rounded down, likewise nρ), every function
 *   re-sampled on it with the 4-point Lagrange rule of LAMMPS (k clamped to
 *   [2, N−2], p to <= 2); r·φ_ij(r) = 27.2 · 0.529 · Z_i(r) Z_j(r)
 *   (Hartree·bohr -> eV·Å); ρ_max = max (Nρ−1) dρ; cutoff the largest.
 * setfl, fs: the file's arrays as they are; ρ_max = (Nρ−1) dρ.
 *
 * interpolate (per function f_1..f_n on spacing δ): slopes s_1 = f_2 − f_1,
 * s_2 = (f_3 − f_1)/2, s_m = ((f_{m−2} − f_{m+2}) + 8(f_{m+1} − f_{m−1}))/12,
 * s_{n−1} = (f_n − f_{n−2})/2, s_n = f_n − f_{n−1}; cubic Hermite
 * coefficients c4 = 3(f_{m+1} − f_m) − 2s_m − s_{m+1}, c3 = s_m + s_{m+1} −
 * 2(f_{m+1} − f_m), c5 = s_m, c6 = f_m; derivatives c2 = c5/δ, c1 = 2c4/δ,
 * c0 = 3c3/δ. */
#include "models/eam.h"

#include <stdlib.h>
#include <string.h>

#define NC BMD__EAM_NC

void bmd__eam_spline(int n, double delta, const double *f, double *spline) {
    double(*s)[NC] = (double(*)[NC])spline;
    for (int m = 1; m <= n; m++) s[m][6] = f[m];
    s[1][5] = s[2][6] - s[1][6];
    s[2][5] = 0.5 * (s[3][6] - s[1][6]);
    s[n - 1][5] = 0.5 * (s[n][6] - s[n - 2][6]);
    s[n][5] = s[n][6] - s[n - 1][6];
    for (int m = 3; m <= n - 2; m++)
        s[m][5] = ((s[m - 2][6] - s[m + 2][6]) + 8.0 * (s[m + 1][6] - s[m - 1][6])) / 12.0;
    for (int m = 1; m <= n - 1; m++) {
        s[m][4] = 3.0 * (s[m + 1][6] - s[m][6]) - 2.0 * s[m][5] - s[m + 1][5];
        s[m][3] = s[m][5] + s[m + 1][5] - 2.0 * (s[m + 1][6] - s[m][6]);
    }
    s[n][4] = 0.0;
    s[n][3] = 0.0;
    for (int m = 1; m <= n; m++) {
        s[m][2] = s[m][5] / delta;
        s[m][1] = 2.0 * s[m][4] / delta;
        s[m][0] = 3.0 * s[m][3] / delta;
    }
}

/* LAMMPS's re-sampling of a funcfl function (file grid step fd, fn points,
 * values fv[1..fn]) at x */
static double resample(double x, double fd, int fn, const double *fv) {
    const double sixth = 1.0 / 6.0;
    double p = x / fd + 1.0;
    int k = (int)p;
    if (k > fn - 2) k = fn - 2;
    if (k < 2) k = 2;
    p -= k;
    if (p > 2.0) p = 2.0;
    const double cof1 = -sixth * p * (p - 1.0) * (p - 2.0);
    const double cof2 = 0.5 * (p * p - 1.0) * (p - 2.0);
    const double cof3 = -0.5 * p * (p + 1.0) * (p - 2.0);
    const double cof4 = sixth * p * (p * p - 1.0);
    return cof1 * fv[k - 1] + cof2 * fv[k] + cof3 * fv[k + 1] + cof4 * fv[k + 2];
}

static int lower_index(int a, int b) { /* LAMMPS's type2z2r: row >= column */
    int row = a > b ? a : b, col = a > b ? b : a;
    return row * (row + 1) / 2 + col;
}

void bmd__eam_table_free(bmd__eam_table *t) {
    if (!t) return;
    free(t->frho);
    free(t->rhor);
    free(t->z2r);
    free(t->type2rhor);
    free(t->type2z2r);
    memset(t, 0, sizeof *t);
}

bmd_status bmd__eam_table_make(const bmd__eam_file *files, int n_files, bmd__eam_table *t) {
    memset(t, 0, sizeof *t);
    const bmd__eam_file *f = &files[0];
    const int funcfl = f->style == BMD__EAM_FUNCFL;
    const int N = funcfl ? n_files : f->n_elem;
    t->n_elem = N;
    if (funcfl) { /* LAMMPS: the coarsest spacings, the longest ranges of all files */
        double rmax = 0;
        for (int i = 0; i < n_files; i++) {
            const bmd__eam_file *g = &files[i];
            if (g->dr > t->dr) t->dr = g->dr;
            if (g->drho > t->drho) t->drho = g->drho;
            if ((g->nr - 1) * g->dr > rmax) rmax = (g->nr - 1) * g->dr;
            if ((g->nrho - 1) * g->drho > t->rhomax) t->rhomax = (g->nrho - 1) * g->drho;
            if (g->cut > t->cut) t->cut = g->cut;
        }
        t->nr = (int)(rmax / t->dr + 0.5);
        t->nrho = (int)(t->rhomax / t->drho + 0.5);
    } else {
        t->cut = f->cut;
        t->nr = f->nr;
        t->nrho = f->nrho;
        t->dr = f->dr;
        t->drho = f->drho;
        t->rhomax = (t->nrho - 1) * t->drho;
    }
    t->rdr = 1.0 / t->dr;
    t->rdrho = 1.0 / t->drho;
    t->nfrho = N;
    t->nrhor = f->style == BMD__EAM_FS ? N * N : N;
    t->nz2r = N * (N + 1) / 2;
    const size_t lr = ((size_t)t->nr + 1) * NC, lrho = ((size_t)t->nrho + 1) * NC;
    t->frho = calloc((size_t)(t->nfrho + 1) * lrho, sizeof(double));
    t->rhor = calloc((size_t)(t->nrhor + 1) * lr, sizeof(double));
    t->z2r = calloc((size_t)(t->nz2r + 1) * lr, sizeof(double));
    t->type2rhor = calloc((size_t)N * N, sizeof(int));
    t->type2z2r = calloc((size_t)N * N, sizeof(int));
    double *fa = malloc(((size_t)(t->nr > t->nrho ? t->nr : t->nrho) + 1) * sizeof(double));
    if (!t->frho || !t->rhor || !t->z2r || !t->type2rhor || !t->type2z2r || !fa) {
        free(fa);
        bmd__eam_table_free(t);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory building the EAM spline tables");
    }
    /* F(ρ) */
    for (int i = 0; i < N; i++) {
        for (int m = 1; m <= t->nrho; m++)
            fa[m] = funcfl ? resample((m - 1) * t->drho, files[i].drho, files[i].nrho, files[i].frho[0])
                           : f->frho[i][m];
        bmd__eam_spline(t->nrho, t->drho, fa, t->frho + (size_t)i * lrho);
    }
    /* ρ(r) */
    for (int i = 0; i < t->nrhor; i++) {
        for (int m = 1; m <= t->nr; m++)
            fa[m] = funcfl ? resample((m - 1) * t->dr, files[i].dr, files[i].nr, files[i].rhor[0]) : f->rhor[i][m];
        bmd__eam_spline(t->nr, t->dr, fa, t->rhor + (size_t)i * lr);
    }
    /* r·φ(r), pairs i >= j */
    for (int i = 0, n = 0; i < N; i++)
        for (int j = 0; j <= i; j++, n++) {
            for (int m = 1; m <= t->nr; m++) {
                if (funcfl) {
                    const double r = (m - 1) * t->dr;
                    const double zri = resample(r, files[i].dr, files[i].nr, files[i].z2r[0]);
                    const double zrj = resample(r, files[j].dr, files[j].nr, files[j].z2r[0]);
                    fa[m] = 27.2 * 0.529 * zri * zrj;
                } else {
                    fa[m] = f->z2r[n][m];
                }
            }
            bmd__eam_spline(t->nr, t->dr, fa, t->z2r + (size_t)n * lr);
        }
    free(fa);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            t->type2rhor[i * N + j] = f->style == BMD__EAM_FS ? i * N + j : i;
            t->type2z2r[i * N + j] = lower_index(i, j);
        }
    return BMD_OK;
}
