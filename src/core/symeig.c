/* symeig.c — owns the dense symmetric eigensolver of symeig.h: EISPACK's
 * tred2 (Householder reduction to a tridiagonal matrix, accumulating the
 * transformations) and tql2 (QL with implicit Wilkinson shifts), following
 * the public-domain JAMA transcription (Hicks, Martin, Reinsch, Wilkinson,
 * Handbook for Automatic Computation II, 1971). JAMA indexes V[row][col];
 * here the matrix is stored by columns (M(i, j) at V[j n + i]): every inner
 * loop of tred2 then runs down a column, over contiguous memory (a row-major
 * transcription was 3 to 4 times slower at n = 768), a symmetric input reads
 * the same either way, and the transformation's columns — the eigenvectors
 * that tql2 rotates in pairs — come out as contiguous rows. */
#include "core/symeig.h"

#include <math.h>
#include <string.h>

/* Householder tridiagonalisation of the symmetric V[n*n] (in place, stored
 * by columns): V becomes the orthogonal transformation Q, d the diagonal
 * and e[1..n-1] the subdiagonal (e[0] = 0). */
static void tred2(int n, double *V, double *d, double *e) {
#define M(i, j) V[(size_t)(j) * (size_t)n + (size_t)(i)]
    for (int j = 0; j < n; j++) d[j] = M(n - 1, j);
    for (int i = n - 1; i > 0; i--) {
        double scale = 0.0, h = 0.0;
        for (int k = 0; k < i; k++) scale += fabs(d[k]);
        if (scale == 0.0) {
            e[i] = d[i - 1];
            for (int j = 0; j < i; j++) {
                d[j] = M(i - 1, j);
                M(i, j) = 0.0;
                M(j, i) = 0.0;
            }
        } else {
            /* the Householder vector */
            for (int k = 0; k < i; k++) {
                d[k] /= scale;
                h += d[k] * d[k];
            }
            double f = d[i - 1], g = sqrt(h);
            if (f > 0) g = -g;
            e[i] = scale * g;
            h -= f * g;
            d[i - 1] = f - g;
            for (int j = 0; j < i; j++) e[j] = 0.0;
            /* the similarity transformation of the remaining columns */
            for (int j = 0; j < i; j++) {
                f = d[j];
                M(j, i) = f;
                g = e[j] + M(j, j) * f;
                for (int k = j + 1; k <= i - 1; k++) {
                    g += M(k, j) * d[k];
                    e[k] += M(k, j) * f;
                }
                e[j] = g;
            }
            f = 0.0;
            for (int j = 0; j < i; j++) {
                e[j] /= h;
                f += e[j] * d[j];
            }
            double hh = f / (h + h);
            for (int j = 0; j < i; j++) e[j] -= hh * d[j];
            for (int j = 0; j < i; j++) {
                f = d[j];
                g = e[j];
                for (int k = j; k <= i - 1; k++) M(k, j) -= (f * e[k] + g * d[k]);
                d[j] = M(i - 1, j);
                M(i, j) = 0.0;
            }
        }
        d[i] = h;
    }
    /* accumulate the transformations */
    for (int i = 0; i < n - 1; i++) {
        M(n - 1, i) = M(i, i);
        M(i, i) = 1.0;
        double h = d[i + 1];
        if (h != 0.0) {
            for (int k = 0; k <= i; k++) d[k] = M(k, i + 1) / h;
            for (int j = 0; j <= i; j++) {
                double g = 0.0;
                for (int k = 0; k <= i; k++) g += M(k, i + 1) * M(k, j);
                for (int k = 0; k <= i; k++) M(k, j) -= g * d[k];
            }
        }
        for (int k = 0; k <= i; k++) M(k, i + 1) = 0.0;
    }
    for (int j = 0; j < n; j++) {
        d[j] = M(n - 1, j);
        M(n - 1, j) = 0.0;
    }
    M(n - 1, n - 1) = 1.0;
    e[0] = 0.0;
#undef M
}

/* The QL iterations on the tridiagonal (d, e) with the transformation's
 * columns as the rows of T[n*n]: d receives the eigenvalues, T's rows the
 * eigenvectors. Returns 1 when an eigenvalue needs more than 60 sweeps. */
static int tql2(int n, double *T, double *d, double *e) {
    for (int i = 1; i < n; i++) e[i - 1] = e[i];
    e[n - 1] = 0.0;
    double f = 0.0, tst1 = 0.0;
    const double eps = 0x1p-52;
    for (int l = 0; l < n; l++) {
        /* the first small subdiagonal element */
        tst1 = fmax(tst1, fabs(d[l]) + fabs(e[l]));
        int m = l;
        while (m < n - 1 && !(fabs(e[m]) <= eps * tst1)) m++;
        if (m > l) {
            int iter = 0;
            do {
                if (++iter > 60) return 1;
                /* the implicit shift */
                double g = d[l];
                double p = (d[l + 1] - g) / (2.0 * e[l]);
                double r = hypot(p, 1.0);
                if (p < 0) r = -r;
                d[l] = e[l] / (p + r);
                d[l + 1] = e[l] * (p + r);
                double dl1 = d[l + 1];
                double h = g - d[l];
                for (int i = l + 2; i < n; i++) d[i] -= h;
                f += h;
                /* the implicit QL transformation */
                p = d[m];
                double c = 1.0, c2 = c, c3 = c, el1 = e[l + 1], s = 0.0, s2 = 0.0;
                for (int i = m - 1; i >= l; i--) {
                    c3 = c2;
                    c2 = c;
                    s2 = s;
                    g = c * e[i];
                    h = c * p;
                    r = hypot(p, e[i]);
                    e[i + 1] = s * r;
                    s = e[i] / r;
                    c = p / r;
                    p = c * d[i] - s * g;
                    d[i + 1] = h + s * (c * g + s * d[i]);
                    /* rotate eigenvectors i and i + 1 */
                    double *vi = T + (size_t)i * (size_t)n, *vj = vi + n;
                    for (int k = 0; k < n; k++) {
                        h = vj[k];
                        vj[k] = s * vi[k] + c * h;
                        vi[k] = c * vi[k] - s * h;
                    }
                }
                p = -s * s2 * c3 * el1 * e[l] / dl1;
                e[l] = s * p;
                d[l] = c * p;
            } while (fabs(e[l]) > eps * tst1);
        }
        d[l] += f;
        e[l] = 0.0;
    }
    return 0;
}

int bmd__symeig(int n, const double *a, double *w, double *vt, double *work) {
    if (n <= 0) return 0;
    for (size_t k = 0; k < (size_t)n * (size_t)n; k++)
        if (!isfinite(a[k])) return 1;
    memcpy(vt, a, (size_t)n * (size_t)n * sizeof(double));
    tred2(n, vt, w, work); /* (by columns: Q's columns are vt's rows) */
    if (tql2(n, vt, w, work)) return 1;
    /* ascending order (selection sort: n swaps of rows at most) */
    for (int i = 0; i < n - 1; i++) {
        int k = i;
        for (int j = i + 1; j < n; j++)
            if (w[j] < w[k]) k = j;
        if (k == i) continue;
        double t = w[i];
        w[i] = w[k];
        w[k] = t;
        double *ri = vt + (size_t)i * n, *rk = vt + (size_t)k * n;
        for (int j = 0; j < n; j++) {
            t = ri[j];
            ri[j] = rk[j];
            rk[j] = t;
        }
    }
    return 0;
}
