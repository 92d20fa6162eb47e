/* matfun.c — owns the small dense matrix functions of matfun.h (solve,
 * exp, principal log, Fréchet derivative of exp), for n <= 6.
 *
 * exp: Higham's scaling and squaring (2005): with ‖A‖₁ <= θ_m the [m/m]
 * Padé approximant r_m(A) = (V − U)⁻¹ (V + U) (U the odd, V the even part)
 * is exp(A) to double precision, m = 3, 5, 7, 9; beyond θ_9, A is scaled
 * by 2^-s so that ‖A‖₁ <= θ_13, r_13 taken, and squared s times.
 *
 * log (3x3): A^(1/2^k) by product-form Denman–Beavers square roots until
 * X = A^(1/2^k) − I has ‖X‖₁ <= 1/4; then log(I + X) by the 8-point
 * Gauss–Legendre rule on [0, 1] of X (I + tX)⁻¹ (the [8/8] Padé
 * approximant; its error for ‖X‖ <= 1/4 is below 1e-17), times 2^k. A
 * deformation gradient near I needs no square root at all, and X = F − I
 * is then exact. */
#include "core/matfun.h"

#include <math.h>
#include <string.h>

#define N2 (BMD__MAT_MAX * BMD__MAT_MAX)

int bmd__mat_solve(int n, const double *a, double *b, int m) {
    double lu[N2];
    memcpy(lu, a, (size_t)n * n * sizeof(double));
    for (int k = 0; k < n; k++) {
        int p = k;
        for (int i = k + 1; i < n; i++)
            if (fabs(lu[i * n + k]) > fabs(lu[p * n + k])) p = i;
        if (lu[p * n + k] == 0.0 || !isfinite(lu[p * n + k])) return 1;
        if (p != k) {
            for (int j = 0; j < n; j++) {
                double t = lu[k * n + j];
                lu[k * n + j] = lu[p * n + j];
                lu[p * n + j] = t;
            }
            for (int j = 0; j < m; j++) {
                double t = b[k * m + j];
                b[k * m + j] = b[p * m + j];
                b[p * m + j] = t;
            }
        }
        for (int i = k + 1; i < n; i++) {
            double l = lu[i * n + k] / lu[k * n + k];
            lu[i * n + k] = l;
            for (int j = k + 1; j < n; j++) lu[i * n + j] -= l * lu[k * n + j];
            for (int j = 0; j < m; j++) b[i * m + j] -= l * b[k * m + j];
        }
    }
    for (int i = n - 1; i >= 0; i--)
        for (int j = 0; j < m; j++) {
            double s = b[i * m + j];
            for (int k = i + 1; k < n; k++) s -= lu[i * n + k] * b[k * m + j];
            b[i * m + j] = s / lu[i * n + i];
        }
    return 0;
}

static void mul(int n, const double *a, const double *b, double *c) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int k = 0; k < n; k++) s += a[i * n + k] * b[k * n + j];
            c[i * n + j] = s;
        }
}

static double norm1(int n, const double *a) {
    double best = 0;
    for (int j = 0; j < n; j++) {
        double s = 0;
        for (int i = 0; i < n; i++) s += fabs(a[i * n + j]);
        if (!(s <= best)) best = s; /* (NaN propagates) */
    }
    return best;
}

/* Padé coefficients b_0..b_m of exp (Higham 2005, Table 2.3 and eq. 2.1) */
static const double B3[] = {120., 60., 12., 1.};
static const double B5[] = {30240., 15120., 3360., 420., 30., 1.};
static const double B7[] = {17297280., 8648640., 1995840., 277200., 25200., 1512., 56., 1.};
static const double B9[] = {17643225600., 8821612800., 2075673600., 302702400., 30270240.,
                            2162160.,     110880.,     3960.,       90.,        1.};
static const double B13[] = {64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800.,
                             129060195264000.,   10559470521600.,    670442572800.,    33522128640.,
                             1323241920.,        40840800.,          960960.,          16380.,
                             182.,               1.};
static const double THETA[] = {1.495585217958292e-2, 2.539398330063230e-1, 9.504178996162932e-1,
                               2.097847961257068e0, 5.371920351148152e0};

/* r_m(A) into e for m in 3, 5, 7, 9 (powers of A built in place) */
static void pade_low(int n, const double *a, const double *b, int m, double *e) {
    const int nn = n * n;
    double pw[N2], a2[N2], u0[N2], v[N2], t[N2];
    mul(n, a, a, a2);
    for (int k = 0; k < nn; k++) {
        double id = (k % (n + 1)) == 0 ? 1.0 : 0.0;
        u0[k] = b[1] * id;
        v[k] = b[0] * id;
        pw[k] = id;
    }
    for (int p = 2; p <= m; p += 2) { /* pw = A^p */
        mul(n, pw, a2, t);
        memcpy(pw, t, nn * sizeof(double));
        for (int k = 0; k < nn; k++) {
            u0[k] += b[p + 1] * pw[k];
            v[k] += b[p] * pw[k];
        }
    }
    double u[N2];
    mul(n, a, u0, u);
    double q[N2];
    for (int k = 0; k < nn; k++) {
        q[k] = v[k] - u[k];
        e[k] = v[k] + u[k];
    }
    if (bmd__mat_solve(n, q, e, n))
        for (int k = 0; k < nn; k++) e[k] = NAN;
}

static void pade13(int n, const double *a, double *e) {
    const int nn = n * n;
    const double *b = B13;
    double a2[N2], a4[N2], a6[N2], t[N2], u[N2], v[N2], q[N2];
    mul(n, a, a, a2);
    mul(n, a2, a2, a4);
    mul(n, a4, a2, a6);
    for (int k = 0; k < nn; k++) t[k] = b[13] * a6[k] + b[11] * a4[k] + b[9] * a2[k];
    mul(n, a6, t, u);
    for (int k = 0; k < nn; k++) {
        double id = (k % (n + 1)) == 0 ? 1.0 : 0.0;
        u[k] += b[7] * a6[k] + b[5] * a4[k] + b[3] * a2[k] + b[1] * id;
    }
    mul(n, a, u, t);
    memcpy(u, t, nn * sizeof(double));
    for (int k = 0; k < nn; k++) t[k] = b[12] * a6[k] + b[10] * a4[k] + b[8] * a2[k];
    mul(n, a6, t, v);
    for (int k = 0; k < nn; k++) {
        double id = (k % (n + 1)) == 0 ? 1.0 : 0.0;
        v[k] += b[6] * a6[k] + b[4] * a4[k] + b[2] * a2[k] + b[0] * id;
        q[k] = v[k] - u[k];
        e[k] = v[k] + u[k];
    }
    if (bmd__mat_solve(n, q, e, n))
        for (int k = 0; k < nn; k++) e[k] = NAN;
}

void bmd__expm(int n, const double *a, double *e) {
    const int nn = n * n;
    const double nrm = norm1(n, a);
    if (!isfinite(nrm)) {
        for (int k = 0; k < nn; k++) e[k] = NAN;
        return;
    }
    static const double *const low[] = {B3, B5, B7, B9};
    for (int i = 0; i < 4; i++)
        if (nrm <= THETA[i]) {
            pade_low(n, a, low[i], 3 + 2 * i, e);
            return;
        }
    int s = 0;
    if (nrm > THETA[4]) s = (int)ceil(log2(nrm / THETA[4]));
    if (s > 1100) s = 1100; /* (overflows to inf long before) */
    double as[N2], t[N2];
    for (int k = 0; k < nn; k++) as[k] = ldexp(a[k], -s);
    pade13(n, as, e);
    for (int i = 0; i < s; i++) {
        mul(n, e, e, t);
        memcpy(e, t, nn * sizeof(double));
    }
}

/* Gauss–Legendre nodes and weights on [0, 1], 8 points */
static const double GL8[8][2] = {
    {0.019855071751231912, 0.050614268145188344}, {0.10166676129318664, 0.11119051722668717},
    {0.2372337950418355, 0.15685332293894352},    {0.40828267875217511, 0.18134189168918088},
    {0.59171732124782483, 0.18134189168918088},   {0.7627662049581645, 0.15685332293894352},
    {0.89833323870681336, 0.11119051722668717},   {0.98014492824876809, 0.050614268145188344}};

static double dist_id(const double *y) {
    double d[9];
    for (int k = 0; k < 9; k++) d[k] = y[k] - ((k % 4) == 0 ? 1.0 : 0.0);
    return norm1(3, d);
}

static int inv3(const double *a, double *ai) {
    for (int k = 0; k < 9; k++) ai[k] = (k % 4) == 0 ? 1.0 : 0.0;
    return bmd__mat_solve(3, a, ai, 3);
}

/* y <- y^(1/2) by the product form of the Denman–Beavers iteration
 * (Y ← Y (I + M⁻¹)/2, M ← (I + (M + M⁻¹)/2)/2, M → I, Y → A^(1/2));
 * 1 when it does not converge. */
static int sqrtm3(double *y) {
    double m[9], mi[9], t[9], w[9];
    memcpy(m, y, sizeof m);
    for (int it = 0, tail = -1; it < 100; it++) {
        if (inv3(m, mi)) return 1;
        for (int k = 0; k < 9; k++) w[k] = 0.5 * (((k % 4) == 0 ? 1.0 : 0.0) + mi[k]);
        mul(3, y, w, t);
        memcpy(y, t, sizeof t);
        for (int k = 0; k < 9; k++) m[k] = 0.5 * (((k % 4) == 0 ? 1.0 : 0.0) + 0.5 * (m[k] + mi[k]));
        const double d = dist_id(m);
        if (!isfinite(d)) return 1;
        /* quadratic convergence: two more steps after 1e-9 reach rounding */
        if (tail < 0 && d <= 1e-9) tail = 2;
        if (tail >= 0 && tail-- == 0) return 0;
    }
    return 1;
}

int bmd__logm3(const double *a, double *l) {
    double y[9];
    memcpy(y, a, sizeof y);
    double d = dist_id(y);
    if (!isfinite(d)) return 1;
    int k = 0;
    while (d > 0.25) {
        if (k == 64 || sqrtm3(y)) return 1;
        k++;
        d = dist_id(y);
    }
    double x[9], acc[9] = {0};
    for (int i = 0; i < 9; i++) x[i] = y[i] - ((i % 4) == 0 ? 1.0 : 0.0);
    for (int j = 0; j < 8; j++) {
        double m[9], z[9];
        for (int i = 0; i < 9; i++) m[i] = ((i % 4) == 0 ? 1.0 : 0.0) + GL8[j][0] * x[i];
        memcpy(z, x, sizeof z); /* (I + tX)⁻¹ X = X (I + tX)⁻¹: they commute */
        if (bmd__mat_solve(3, m, z, 3)) return 1;
        for (int i = 0; i < 9; i++) acc[i] += GL8[j][1] * z[i];
    }
    for (int i = 0; i < 9; i++) l[i] = ldexp(acc[i], k);
    return 0;
}

void bmd__expm_frechet3(const double *a, const double *e, double *l) {
    const double ne = norm1(3, e);
    if (ne == 0.0) {
        memset(l, 0, 9 * sizeof(double));
        return;
    }
    int ex = 0;
    if (isfinite(ne)) frexp(ne, &ex);
    double y[36] = {0}, z[36];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            y[i * 6 + j] = a[i * 3 + j];
            y[(i + 3) * 6 + j + 3] = a[i * 3 + j];
            y[i * 6 + j + 3] = ldexp(e[i * 3 + j], -ex);
        }
    bmd__expm(6, y, z);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) l[i * 3 + j] = ldexp(z[i * 6 + j + 3], ex);
}
