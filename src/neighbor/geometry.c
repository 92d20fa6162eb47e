/* geometry.c — owns the cell geometry of neighbor search: the basis in which
 * atoms are binned (periodic cell vectors completed by orthonormal vectors for
 * the non-periodic axes), its inverse, the perpendicular widths of the cell,
 * the degenerate-cell test, and the deformation between two bases (for
 * lists kept over a cell change). */
#include "neighbor/neighbor.h"

#include <math.h>
#include <string.h>

static void cross(const double *a, const double *b, double *out) {
    out[0] = a[1] * b[2] - a[2] * b[1];
    out[1] = a[2] * b[0] - a[0] * b[2];
    out[2] = a[0] * b[1] - a[1] * b[0];
}

static double dot(const double *a, const double *b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

static double norm(const double *a) { return sqrt(dot(a, a)); }

static void unit(double *a) {
    double l = norm(a);
    a[0] /= l;
    a[1] /= l;
    a[2] /= l;
}

int bmd__nl_basis_make(const double *cell, const unsigned char *pbc, bmd__nl_basis *out) {
    memset(out, 0, sizeof *out);
    int per[3], np = 0;
    for (int k = 0; k < 3; k++) {
        per[k] = pbc[k] != 0;
        out->periodic[k] = per[k];
        np += per[k];
    }
    double *B = out->B;
    for (int k = 0; k < 3; k++) {
        if (!per[k]) continue;
        for (int c = 0; c < 3; c++) {
            if (!isfinite(cell[3 * k + c])) return 1;
            B[3 * k + c] = cell[3 * k + c];
        }
        if (norm(B + 3 * k) == 0.0) return 1;
    }
    const double tol = 1e-10;
    if (np == 3) {
        double x[3];
        cross(B + 3, B + 6, x);
        if (fabs(dot(B, x)) <= tol * norm(B) * norm(B + 3) * norm(B + 6)) return 1;
    } else if (np == 2) {
        int k = per[0] ? 0 : 1, l = per[2] ? 2 : 1, m = 3 - k - l;
        double x[3];
        cross(B + 3 * k, B + 3 * l, x);
        if (norm(x) <= tol * norm(B + 3 * k) * norm(B + 3 * l)) return 1;
        unit(x);
        memcpy(B + 3 * m, x, sizeof x);
    } else if (np == 1) {
        int k = per[0] ? 0 : (per[1] ? 1 : 2), l = (k + 1) % 3, m = (k + 2) % 3;
        double a[3] = {B[3 * k], B[3 * k + 1], B[3 * k + 2]};
        unit(a);
        /* the Cartesian axis least aligned with a, made orthogonal to it */
        int e = 0;
        for (int c = 1; c < 3; c++)
            if (fabs(a[c]) < fabs(a[e])) e = c;
        double u[3] = {0, 0, 0};
        u[e] = 1.0;
        double p = dot(u, a);
        for (int c = 0; c < 3; c++) u[c] -= p * a[c];
        unit(u);
        double v[3];
        cross(a, u, v);
        unit(v);
        memcpy(B + 3 * l, u, sizeof u);
        memcpy(B + 3 * m, v, sizeof v);
    } else {
        B[0] = B[4] = B[8] = 1.0;
    }
    /* inverse by the adjugate: rows of B^-1^T are (b x c, c x a, a x b) / det */
    double x0[3], x1[3], x2[3];
    cross(B + 3, B + 6, x0);
    cross(B + 6, B, x1);
    cross(B, B + 3, x2);
    double det = dot(B, x0);
    if (!(fabs(det) > 0.0) || !isfinite(det)) return 1;
    for (int c = 0; c < 3; c++) {
        out->Binv[3 * c + 0] = x0[c] / det;
        out->Binv[3 * c + 1] = x1[c] / det;
        out->Binv[3 * c + 2] = x2[c] / det;
    }
    out->width[0] = fabs(det) / norm(x0);
    out->width[1] = fabs(det) / norm(x1);
    out->width[2] = fabs(det) / norm(x2);
    return 0;
}

int bmd__cell_degenerate(const double *cell, const unsigned char *pbc) {
    bmd__nl_basis b;
    return bmd__nl_basis_make(cell, pbc, &b);
}

/* eigenvalues of the symmetric 3x3 matrix A (destroyed) by cyclic Jacobi
 * rotations, to a few ulps of its largest */
static void sym3_eigenvalues(double *A, double *ev) {
    static const int P[3] = {0, 0, 1}, Q[3] = {1, 2, 2};
    for (int sweep = 0; sweep < 32; sweep++) {
        const double off = A[1] * A[1] + A[2] * A[2] + A[5] * A[5];
        const double diag = A[0] * A[0] + A[4] * A[4] + A[8] * A[8];
        if (!(off > 1e-36 * diag)) break; /* also stops on NaN */
        for (int r = 0; r < 3; r++) {
            const int p = P[r], q = Q[r];
            const double apq = A[3 * p + q];
            if (apq == 0.0) continue;
            const double theta = (A[3 * q + q] - A[3 * p + p]) / (2.0 * apq);
            const double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
            const double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
            A[3 * p + p] -= t * apq;
            A[3 * q + q] += t * apq;
            A[3 * p + q] = A[3 * q + p] = 0.0;
            const int o = 3 - p - q; /* the third index */
            const double aop = A[3 * o + p], aoq = A[3 * o + q];
            A[3 * o + p] = A[3 * p + o] = c * aop - s * aoq;
            A[3 * o + q] = A[3 * q + o] = s * aop + c * aoq;
        }
    }
    ev[0] = A[0];
    ev[1] = A[4];
    ev[2] = A[8];
}

void bmd__nl_deformation(const bmd__nl_basis *b0, const bmd__nl_basis *b, double *F, double *smin, double *smax) {
    const double *Bi = b0->Binv, *B = b->B;
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++)
            F[3 * r + c] = Bi[3 * r] * B[c] + Bi[3 * r + 1] * B[3 + c] + Bi[3 * r + 2] * B[6 + c];
    /* singular values: square roots of the eigenvalues of F^T F */
    double C[9], ev[3];
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++) C[3 * r + c] = F[r] * F[c] + F[3 + r] * F[3 + c] + F[6 + r] * F[6 + c];
    sym3_eigenvalues(C, ev);
    double lo = ev[0], hi = ev[0];
    for (int k = 1; k < 3; k++) {
        lo = ev[k] < lo ? ev[k] : lo;
        hi = ev[k] > hi ? ev[k] : hi;
    }
    *smin = lo > 0.0 ? sqrt(lo) : 0.0;
    *smax = sqrt(hi);
    if (!isfinite(*smin) || !isfinite(*smax)) { /* NaN: no strain test can pass */
        *smin = 0.0;
        *smax = INFINITY;
    }
}
