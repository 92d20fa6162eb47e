/* mtk_cell.c — owns the cell geometry of the MTK barostat (mtk_cell.h): the
 * cell's own frame, tensors and velocities in it, and LAMMPS's remap. */
#include "dynamics/mtk_cell.h"

#include <math.h>
#include <stddef.h>

static double dot3(const double *a, const double *b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

int bmd__mtk_frame_of(const double *cell, bmd__mtk_frame *f) {
    const double *a = cell, *b = cell + 3, *c = cell + 6;
    double e1[3], e2[3], e3[3];
    const double la = sqrt(dot3(a, a));
    if (!(la > 0)) return 1;
    for (int i = 0; i < 3; i++) e1[i] = a[i] / la;
    const double bx = dot3(b, e1);
    for (int i = 0; i < 3; i++) e2[i] = b[i] - bx * e1[i];
    const double by = sqrt(dot3(e2, e2));
    if (!(by > 0)) return 1;
    for (int i = 0; i < 3; i++) e2[i] /= by;
    const double cx = dot3(c, e1), cy = dot3(c, e2);
    for (int i = 0; i < 3; i++) e3[i] = c[i] - cx * e1[i] - cy * e2[i];
    const double cz = sqrt(dot3(e3, e3));
    if (!(cz > 0) || !isfinite(cz)) return 1;
    for (int i = 0; i < 3; i++) e3[i] /= cz;
    for (int i = 0; i < 3; i++) {
        f->R[3 * i] = e1[i];
        f->R[3 * i + 1] = e2[i];
        f->R[3 * i + 2] = e3[i];
    }
    f->h[0] = la;
    f->h[1] = by;
    f->h[2] = cz;
    f->h[3] = cy;
    f->h[4] = cx;
    f->h[5] = bx;
    return 0;
}

/* Voigt (xx yy zz yz xz xy) <-> full symmetric 3x3 */
static void full_of(const double *t, double m[3][3]) {
    m[0][0] = t[0], m[1][1] = t[1], m[2][2] = t[2];
    m[1][2] = m[2][1] = t[3];
    m[0][2] = m[2][0] = t[4];
    m[0][1] = m[1][0] = t[5];
}

void bmd__mtk_tensor_to_frame(const bmd__mtk_frame *f, const double *t, double *out) {
    double m[3][3], r[3][3];
    full_of(t, m);
    /* r = R^T m R */
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double s = 0;
            for (int k = 0; k < 3; k++)
                for (int l = 0; l < 3; l++) s += f->R[3 * k + i] * m[k][l] * f->R[3 * l + j];
            r[i][j] = s;
        }
    out[0] = r[0][0];
    out[1] = r[1][1];
    out[2] = r[2][2];
    out[3] = r[1][2];
    out[4] = r[0][2];
    out[5] = r[0][1];
}

void bmd__mtk_scale_velocities(const bmd__mtk_frame *f, double *v, int n, const double *s, const double *omegad,
                               double dthalf, int tri) {
    if (!tri && s[0] == s[1] && s[1] == s[2]) { /* isotropic: no frame needed */
        for (int j = 0; j < 3 * n; j++) {
            v[j] *= s[0];
            v[j] *= s[0];
        }
        return;
    }
    const double *R = f->R;
    for (int i = 0; i < n; i++) {
        double *w = v + 3 * (size_t)i, u[3];
        for (int a = 0; a < 3; a++) u[a] = R[a] * w[0] + R[3 + a] * w[1] + R[6 + a] * w[2]; /* R^T w */
        for (int a = 0; a < 3; a++) u[a] *= s[a];
        if (tri) {
            u[0] += -dthalf * (u[1] * omegad[5] + u[2] * omegad[4]);
            u[1] += -dthalf * u[2] * omegad[3];
        }
        for (int a = 0; a < 3; a++) u[a] *= s[a];
        for (int a = 0; a < 3; a++) w[a] = R[3 * a] * u[0] + R[3 * a + 1] * u[1] + R[3 * a + 2] * u[2]; /* R u */
    }
}

/* One tilt's half of LAMMPS's symmetric update: h_t ← (h_t e + dtx · rate) e. */
static void tilt(double *ht, double e, double dtx, double rate) {
    *ht *= e;
    *ht += dtx * rate;
    *ht *= e;
}

/* The off-diagonal half steps of LAMMPS's remap (tri), in its order; d
 * holds the lengths yprd, zprd they read (d[1], d[2]). */
static void tilts(double *h, const double *d, const double *w, double dto) {
    const double dto2 = dto / 2.0, dto4 = dto / 4.0, dto8 = dto / 8.0;
    tilt(&h[4], exp(dto8 * w[0]), dto4, w[5] * h[3] + w[4] * d[2]);
    tilt(&h[3], exp(dto4 * w[1]), dto2, w[3] * d[2]);
    tilt(&h[5], exp(dto4 * w[0]), dto2, w[5] * d[1]);
    tilt(&h[4], exp(dto8 * w[0]), dto4, w[5] * h[3] + w[4] * d[2]);
}

/* U of h (upper-triangular, row-major) and its inverse */
static void upper_of(const double *h, double U[3][3]) {
    U[0][0] = h[0], U[0][1] = h[5], U[0][2] = h[4];
    U[1][0] = 0, U[1][1] = h[1], U[1][2] = h[3];
    U[2][0] = 0, U[2][1] = 0, U[2][2] = h[2];
}
static void upper_inverse(const double *h, double V[3][3]) {
    V[0][0] = 1.0 / h[0], V[0][1] = -h[5] / (h[0] * h[1]), V[0][2] = (h[5] * h[3] - h[4] * h[1]) / (h[0] * h[1] * h[2]);
    V[1][0] = 0, V[1][1] = 1.0 / h[1], V[1][2] = -h[3] / (h[1] * h[2]);
    V[2][0] = 0, V[2][1] = 0, V[2][2] = 1.0 / h[2];
}

void bmd__mtk_remap(bmd__mtk_frame *f, double *cell, double *x, int n, const double *omegad, double dto, int tri) {
    double h[6];
    for (int k = 0; k < 6; k++) h[k] = f->h[k];
    const double e0 = exp(dto * omegad[0]), e1 = exp(dto * omegad[1]), e2 = exp(dto * omegad[2]);
    if (!tri && e0 == e1 && e1 == e2) { /* isotropic: every length and tilt scales by e */
        for (int k = 0; k < 6; k++) f->h[k] *= e0;
        for (int k = 0; k < 9; k++) cell[k] *= e0;
        for (int j = 0; j < 3 * n; j++) x[j] *= e0;
        return;
    }
    /* (LAMMPS's second half of the tilt update reads the lengths from
     * before the diagonal's scaling, as its first half does: domain->h is
     * only refreshed after the whole remap) */
    const double d[3] = {h[0], h[1], h[2]};
    if (tri) tilts(h, d, omegad, dto);
    h[0] *= e0;
    h[1] *= e1;
    if (!tri) h[5] *= e1;
    h[2] *= e2;
    if (!tri) {
        h[4] *= e2;
        h[3] *= e2;
    }
    if (tri) tilts(h, d, omegad, dto);
    /* M = R (U_new U_old⁻¹) R^T maps old positions to new ones */
    double Un[3][3], Vo[3][3], A[3][3], M[3][3];
    upper_of(h, Un);
    upper_inverse(f->h, Vo);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double s = 0;
            for (int k = 0; k < 3; k++) s += Un[i][k] * Vo[k][j];
            A[i][j] = s;
        }
    const double *R = f->R;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double s = 0;
            for (int k = 0; k < 3; k++)
                for (int l = 0; l < 3; l++) s += R[3 * i + k] * A[k][l] * R[3 * j + l];
            M[i][j] = s;
        }
    for (int a = 0; a < n; a++) {
        double *p = x + 3 * (size_t)a;
        const double p0 = p[0], p1 = p[1], p2 = p[2];
        for (int i = 0; i < 3; i++) p[i] = M[i][0] * p0 + M[i][1] * p1 + M[i][2] * p2;
    }
    /* the cell's rows: column j of H = R U is cell vector j */
    for (int j = 0; j < 3; j++)
        for (int i = 0; i < 3; i++) cell[3 * j + i] = R[3 * i] * Un[0][j] + R[3 * i + 1] * Un[1][j] + R[3 * i + 2] * Un[2][j];
    for (int k = 0; k < 6; k++) f->h[k] = h[k];
}
