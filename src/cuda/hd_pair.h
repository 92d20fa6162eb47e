/* hd_pair.h — owns the pair physics the device runs, for host and device:
 * the LJ and Morse pair functions and coefficients (the expressions of
 * src/models/lj.c and morse.c, operation for operation, so a pair gives the
 * same bits), the full Verlet-list row of one atom over the periodic images
 * (ELL layout, partners in (j, image) order), the staleness test, and the
 * force, energy and virial of one atom from its row.
 *
 * The device uses FULL lists (each pair twice, once per atom) so that every
 * atom's force is a sum its own thread forms in row order: no atomics, no
 * dependence on the batch. The CPU uses half lists; both sum the same pairs,
 * so forces, energies and virials agree to rounding (1e-12 relative;
 * tests/unit/test_cuda_pair.c).
 *
 * Coefficient table: coef[(ti * T + tj) * BMD_HD_NCOEF + k] for dense types
 * ti, tj (as src/models/pair.c): k = 0 rc², 1 the shift φ(rc), 2.. the
 * potential's own. Image triples are packed in one int: 10 bits per axis,
 * offset 512 (|n| < 512). */
#ifndef BATCHMD_CUDA_HD_PAIR_H
#define BATCHMD_CUDA_HD_PAIR_H

#include "cuda/hd.h"

#define BMD_HD_NCOEF 8
enum { BMD_HD_RC2 = 0, BMD_HD_SHIFT = 1, BMD_HD_P = 2 };
enum { BMD_HD_LJ = 0, BMD_HD_MORSE = 1 }; /* = bmd_cuda_pair_kind */

/* ---- pair functions: fpair = -φ'(r)/r, phi = φ(r) - shift (r2 < rc²) ---- */
BMD_HD static inline void bmd_hd_lj_eval(const double *c, double r2, double *fpair, double *phi) {
    const double r2inv = 1.0 / r2;
    const double r6inv = r2inv * r2inv * r2inv;
    *fpair = r6inv * (c[BMD_HD_P] * r6inv - c[BMD_HD_P + 1]) * r2inv;
    *phi = r6inv * (c[BMD_HD_P + 2] * r6inv - c[BMD_HD_P + 3]) - c[BMD_HD_SHIFT];
}

BMD_HD static inline void bmd_hd_morse_eval(const double *c, double r2, double *fpair, double *phi) {
    const double r = sqrt(r2);
    const double d = exp(-c[BMD_HD_P + 1] * (r - c[BMD_HD_P + 2]));
    *fpair = c[BMD_HD_P + 3] * (d * d - d) / r;
    *phi = c[BMD_HD_P] * (d * d - 2.0 * d) - c[BMD_HD_SHIFT];
}

BMD_HD static inline void bmd_hd_pair_eval(int kind, const double *c, double r2, double *fpair, double *phi) {
    if (kind == BMD_HD_MORSE) bmd_hd_morse_eval(c, r2, fpair, phi);
    else bmd_hd_lj_eval(c, r2, fpair, phi);
}

/* c[2..] from the parameters (lj: epsilon, sigma; morse: D0, alpha, r0);
 * rc² and the shift are set by the caller (bmd_hd_pair_finish). */
static inline void bmd_hd_pair_coef(int kind, const double *p, double *c) {
    if (kind == BMD_HD_MORSE) {
        c[BMD_HD_P] = p[0];
        c[BMD_HD_P + 1] = p[1];
        c[BMD_HD_P + 2] = p[2];
        c[BMD_HD_P + 3] = 2.0 * p[1] * p[0];
    } else {
        const double eps = p[0], sigma = p[1];
        const double s6 = pow(sigma, 6.0), s12 = s6 * s6;
        c[BMD_HD_P] = 48.0 * eps * s12;
        c[BMD_HD_P + 1] = 24.0 * eps * s6;
        c[BMD_HD_P + 2] = 4.0 * eps * s12;
        c[BMD_HD_P + 3] = 4.0 * eps * s6;
    }
}

/* rc² and the shift (φ(rc) when shifted), as pair.c */
static inline void bmd_hd_pair_finish(int kind, double cutoff, int shift, double *c) {
    c[BMD_HD_RC2] = cutoff * cutoff;
    c[BMD_HD_SHIFT] = 0.0;
    if (shift) {
        double fp, phi;
        bmd_hd_pair_eval(kind, c, c[BMD_HD_RC2], &fp, &phi);
        c[BMD_HD_SHIFT] = phi;
    }
}

/* ---- images ---- */
BMD_HD static inline int bmd_hd_img_pack(int n0, int n1, int n2) {
    return (n0 + 512) | ((n1 + 512) << 10) | ((n2 + 512) << 20);
}
BMD_HD static inline void bmd_hd_img_unpack(int p, int n[3]) {
    n[0] = (p & 1023) - 512;
    n[1] = ((p >> 10) & 1023) - 512;
    n[2] = ((p >> 20) & 1023) - 512;
}
#define BMD_HD_IMG0 (512 | (512 << 10) | (512 << 20))

/* N.cell over the periodic axes in one fixed order (src/neighbor/build.c's
 * image_vec: the same bits) */
BMD_HD static inline void bmd_hd_image_vec(const int *N, const double *cell, const unsigned char *pbc, double *v) {
    v[0] = v[1] = v[2] = 0.0;
    for (int k = 0; k < 3; k++) {
        if (!pbc[k]) continue;
        const double nk = (double)N[k];
        v[0] += nk * cell[3 * k];
        v[1] += nk * cell[3 * k + 1];
        v[2] += nk * cell[3 * k + 2];
    }
}

/* The geometry of one system for the list build: cell rows, pbc, B^-1 of the
 * binning basis (f_k = Σ_c p_c binv[3c + k], src/neighbor's bmd__nl_basis)
 * and the images to scan per axis around the nearest one:
 * m_k = ceil(range / width_k + 0.5) on periodic axes, 0 on the others. */
typedef struct bmd_hd_geom {
    double cell[9];
    double binv[9];
    int m[3];
    int nbin[3];   /* cell-list bins per axis (all >= 3), or 0 0 0: rows scan every atom */
    unsigned char pbc[3];
} bmd_hd_geom;

/* Full list row of local atom i of a system of n atoms at x[3n] (unwrapped):
 * every (j, N) with |x_j + N.cell - x_i| < range, (j, N) != (i, 0), in the
 * order j ascending then N lexicographic. Writes at most maxnb entries
 * (nb[k] = j, img[k] = packed N) and returns the full count (> maxnb: the row
 * overflowed; the caller widens and rebuilds). */
BMD_HD static inline int bmd_hd_nl_row(int i, int n, const double *x, const bmd_hd_geom *g, double range2,
                                       int maxnb, int *nb, int *img) {
    const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
    int cnt = 0;
    for (int j = 0; j < n; j++) {
        const double d[3] = {x[3 * j] - xi, x[3 * j + 1] - yi, x[3 * j + 2] - zi};
        int lo[3], hi[3];
        for (int k = 0; k < 3; k++) {
            if (!g->pbc[k]) {
                lo[k] = hi[k] = 0;
                continue;
            }
            const double f = d[0] * g->binv[k] + d[1] * g->binv[3 + k] + d[2] * g->binv[6 + k];
            const int n0 = -(int)floor(f + 0.5); /* nearest image of j */
            lo[k] = n0 - g->m[k];
            hi[k] = n0 + g->m[k];
        }
        int N[3];
        for (N[0] = lo[0]; N[0] <= hi[0]; N[0]++)
            for (N[1] = lo[1]; N[1] <= hi[1]; N[1]++)
                for (N[2] = lo[2]; N[2] <= hi[2]; N[2]++) {
                    if (j == i && N[0] == 0 && N[1] == 0 && N[2] == 0) continue;
                    double s[3];
                    bmd_hd_image_vec(N, g->cell, g->pbc, s);
                    const double dx = (x[3 * j] + s[0]) - xi, dy = (x[3 * j + 1] + s[1]) - yi,
                                 dz = (x[3 * j + 2] + s[2]) - zi;
                    if (dx * dx + dy * dy + dz * dz < range2) {
                        if (cnt < maxnb) {
                            nb[cnt] = j;
                            img[cnt] = bmd_hd_img_pack(N[0], N[1], N[2]);
                        }
                        cnt++;
                    }
                }
    }
    return cnt;
}

/* ---- cell lists (fully periodic systems whose cell holds at least 3 bins
 * of width >= range along each axis) ----
 * An atom's bin comes from its wrapped fractional coordinates; w is the
 * lattice image removed by wrapping (x = x_wrapped + w.cell). A row scans the
 * 27 bins around the atom's (the periodic neighbors of the edge bins with
 * their image q), keeps the (j, N = q + w_i - w_j) within range, and sorts
 * them by (j, N): the same row, in the same order, as bmd_hd_nl_row. */
BMD_HD static inline int bmd_hd_bin_of(const double *x, const bmd_hd_geom *g, int w[3]) {
    int b[3];
    for (int k = 0; k < 3; k++) {
        const double f = x[0] * g->binv[k] + x[1] * g->binv[3 + k] + x[2] * g->binv[6 + k];
        const double fl = floor(f);
        w[k] = (int)fl;
        int bk = (int)((f - fl) * g->nbin[k]);
        b[k] = bk < 0 ? 0 : bk >= g->nbin[k] ? g->nbin[k] - 1 : bk;
    }
    return (b[0] * g->nbin[1] + b[1]) * g->nbin[2] + b[2];
}

/* (j, N) key: j, then N lexicographic (n0 most significant) */
BMD_HD static inline long long bmd_hd_row_key(int j, int img) {
    int n[3];
    bmd_hd_img_unpack(img, n);
    return ((long long)j << 30) | ((long long)(n[0] + 512) << 20) | ((long long)(n[1] + 512) << 10) | (n[2] + 512);
}

/* insertion sort of a row by (j, N) */
BMD_HD static inline void bmd_hd_row_sort(int cnt, int *nb, int *img) {
    for (int k = 1; k < cnt; k++) {
        const int j = nb[k], m = img[k];
        const long long key = bmd_hd_row_key(j, m);
        int q = k - 1;
        while (q >= 0 && bmd_hd_row_key(nb[q], img[q]) > key) {
            nb[q + 1] = nb[q];
            img[q + 1] = img[q];
            q--;
        }
        nb[q + 1] = j;
        img[q + 1] = m;
    }
}

/* Row of local atom i from the bins of its system: bin_start[nbins + 1]
 * (offsets into bin_atoms), bin_atoms (local indices by bin), bin_i and
 * wrap[3n] from bmd_hd_bin_of. Same contract as bmd_hd_nl_row. */
BMD_HD static inline int bmd_hd_nl_row_cells(int i, const double *x, const bmd_hd_geom *g, double range2,
                                             const int *bin_start, const int *bin_atoms, int bin_i,
                                             const int *wrap, int maxnb, int *nb, int *img) {
    const int nb0 = g->nbin[0], nb1 = g->nbin[1], nb2 = g->nbin[2];
    const int b0 = bin_i / (nb1 * nb2), b1 = (bin_i / nb2) % nb1, b2 = bin_i % nb2;
    const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
    int cnt = 0;
    for (int d0 = -1; d0 <= 1; d0++)
        for (int d1 = -1; d1 <= 1; d1++)
            for (int d2 = -1; d2 <= 1; d2++) {
                int c[3] = {b0 + d0, b1 + d1, b2 + d2}, q[3];
                const int nbk[3] = {nb0, nb1, nb2};
                for (int k = 0; k < 3; k++) {
                    q[k] = c[k] < 0 ? -1 : c[k] >= nbk[k] ? 1 : 0;
                    c[k] -= q[k] * nbk[k];
                }
                const int bin = (c[0] * nb1 + c[1]) * nb2 + c[2];
                for (int t = bin_start[bin]; t < bin_start[bin + 1]; t++) {
                    const int j = bin_atoms[t];
                    int N[3];
                    for (int k = 0; k < 3; k++) N[k] = q[k] + wrap[3 * i + k] - wrap[3 * j + k];
                    if (j == i && N[0] == 0 && N[1] == 0 && N[2] == 0) continue;
                    double s[3];
                    bmd_hd_image_vec(N, g->cell, g->pbc, s);
                    const double dx = (x[3 * j] + s[0]) - xi, dy = (x[3 * j + 1] + s[1]) - yi,
                                 dz = (x[3 * j + 2] + s[2]) - zi;
                    if (dx * dx + dy * dy + dz * dz < range2) {
                        if (cnt < maxnb) {
                            nb[cnt] = j;
                            img[cnt] = bmd_hd_img_pack(N[0], N[1], N[2]);
                        }
                        cnt++;
                    }
                }
            }
    bmd_hd_row_sort(cnt < maxnb ? cnt : maxnb, nb, img);
    return cnt;
}

/* ---- staleness: the two largest displacements since the build (verlet.c) ---- */
BMD_HD static inline void bmd_hd_top2_push(double d2, double *m1, double *m2) {
    if (!(d2 == d2)) d2 = INFINITY; /* NaN: stale */
    if (d2 > *m2) {
        if (d2 > *m1) {
            *m2 = *m1;
            *m1 = d2;
        } else {
            *m2 = d2;
        }
    }
}
/* merges (b1 >= b2) into (m1 >= m2): the two largest of four (order-free) */
BMD_HD static inline void bmd_hd_top2_merge(double *m1, double *m2, double b1, double b2) {
    bmd_hd_top2_push(b1, m1, m2);
    bmd_hd_top2_push(b2, m1, m2);
}
BMD_HD static inline double bmd_hd_disp2(const double *x, const double *ref) {
    const double dx = x[0] - ref[0], dy = x[1] - ref[1], dz = x[2] - ref[2];
    return dx * dx + dy * dy + dz * dz;
}
/* 1 when a list built at ref is stale (the test of bmd__nlist_stale). */
BMD_HD static inline int bmd_hd_stale(double m1, double m2, double skin) {
    if (!(m1 <= skin * skin)) return 1;
    return sqrt(m1) + sqrt(m2) > skin;
}

/* ---- force, energy and virial of one atom from its full row ----
 * f[3] = Σ_k -fpair r_ik; *e = ½ Σ_k φ; w[6] = ½ Σ_k (-fpair) r_a r_b (Voigt
 * xx yy zz yz xz xy, the CPU's W_ab = Σ_pairs φ'(r) r_a r_b / r split half per
 * atom). type: dense types of the system's atoms; T types. full = 0: forces
 * only (e, w untouched). */
BMD_HD static inline void bmd_hd_pair_atom(int kind, int i, const double *x, const int *type, int T,
                                           const double *coef, const bmd_hd_geom *g, int cnt, const int *nb,
                                           const int *img, int full, double f[3], double *e, double w[6]) {
    const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
    const double *crow = coef + (size_t)type[i] * T * BMD_HD_NCOEF;
    double fx = 0, fy = 0, fz = 0, en = 0, w0 = 0, w1 = 0, w2 = 0, w3 = 0, w4 = 0, w5 = 0;
    for (int k = 0; k < cnt; k++) {
        const int j = nb[k];
        double dx, dy, dz;
        if (img[k] == BMD_HD_IMG0) {
            dx = x[3 * j] - xi;
            dy = x[3 * j + 1] - yi;
            dz = x[3 * j + 2] - zi;
        } else {
            int N[3];
            double s[3];
            bmd_hd_img_unpack(img[k], N);
            bmd_hd_image_vec(N, g->cell, g->pbc, s);
            dx = (x[3 * j] + s[0]) - xi;
            dy = (x[3 * j + 1] + s[1]) - yi;
            dz = (x[3 * j + 2] + s[2]) - zi;
        }
        const double r2 = dx * dx + dy * dy + dz * dz;
        const double *c = crow + (size_t)type[j] * BMD_HD_NCOEF;
        if (!(r2 < c[BMD_HD_RC2])) continue;
        double fpair, phi;
        bmd_hd_pair_eval(kind, c, r2, &fpair, &phi);
        const double px = fpair * dx, py = fpair * dy, pz = fpair * dz;
        fx -= px;
        fy -= py;
        fz -= pz;
        if (full) {
            en += phi;
            w0 -= px * dx;
            w1 -= py * dy;
            w2 -= pz * dz;
            w3 -= pz * dy;
            w4 -= pz * dx;
            w5 -= py * dx;
        }
    }
    f[0] = fx;
    f[1] = fy;
    f[2] = fz;
    if (full) {
        *e = 0.5 * en;
        w[0] = 0.5 * w0;
        w[1] = 0.5 * w1;
        w[2] = 0.5 * w2;
        w[3] = 0.5 * w3;
        w[4] = 0.5 * w4;
        w[5] = 0.5 * w5;
    }
}

#endif
