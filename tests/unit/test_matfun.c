/* test_matfun.c — the small matrix functions of src/core/matfun.h against
 * closed forms and identities: exp of diagonal, nilpotent and rotation
 * generators (every Padé degree and the scaled-and-squared one), exp(A)
 * exp(−A) = I; log of diagonal matrices and rotations, log(exp(A)) = A and
 * exp(log(B)) = B with and without square roots, no real log for a negative
 * eigenvalue; the Fréchet derivative of exp against its exact values
 * (L(A, A) = A e^A, divided differences for a diagonal A) and against
 * central differences; the linear solve and its singular case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/matfun.h"

static uint64_t rs = 12345;
static double urand(void) { /* [-1, 1) */
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return 2.0 * ((double)(rs >> 11) / 9007199254740992.0) - 1.0;
}

static void mul(int n, const double *a, const double *b, double *c) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int k = 0; k < n; k++) s += a[i * n + k] * b[k * n + j];
            c[i * n + j] = s;
        }
}

/* max |a − b| / max(1, max |b|) */
static double rel(int nn, const double *a, const double *b) {
    double d = 0, m = 1;
    for (int k = 0; k < nn; k++) {
        d = fmax(d, fabs(a[k] - b[k]));
        m = fmax(m, fabs(b[k]));
    }
    return d / m;
}

#define CLOSE(nn, a, b, tol)                                                                   \
    do {                                                                                       \
        double r_ = rel(nn, a, b);                                                             \
        if (!(r_ <= (tol))) fail_msg("%s:%d: relative difference %.3g > %.1g", __FILE__, __LINE__, r_, (double)(tol)); \
    } while (0)

static void test_exp_closed_forms(void **state) {
    (void)state;
    /* diagonal: one norm per Padé degree (3, 5, 7, 9, 13) and with squaring */
    const double scales[] = {0.01, 0.2, 0.9, 2.0, 5.0, 40.0};
    for (int k = 0; k < 6; k++) {
        const double d[3] = {scales[k], -0.7 * scales[k], 0.3 * scales[k]};
        double a[9] = {0}, e[9], want[9] = {0};
        for (int i = 0; i < 3; i++) {
            a[4 * i] = d[i];
            want[4 * i] = exp(d[i]);
        }
        bmd__expm(3, a, e);
        /* (the Padé denominator's rounding, then 2^s squarings: ~(1 + ‖A‖) u) */
        for (int i = 0; i < 9; i++) assert_true(fabs(e[i] - want[i]) <= 2e-15 * (1 + scales[k]) * fabs(want[i]));
    }
    /* nilpotent: exp(N) = I + N + N²/2 exactly */
    const double nil[9] = {0, 2.5, -1.25, 0, 0, 0.75, 0, 0, 0};
    double e[9], want[9] = {1, 2.5, -1.25 + 0.5 * 2.5 * 0.75, 0, 1, 0.75, 0, 0, 1};
    bmd__expm(3, nil, e);
    CLOSE(9, e, want, 1e-15);
    /* a rotation generator: exp(θ J) = rotation by θ */
    const double thetas[] = {0.001, 0.3, 1.7, 2.9, 10.0};
    for (int k = 0; k < 5; k++) {
        const double t = thetas[k];
        double a[9] = {0, -t, 0, t, 0, 0, 0, 0, 0}, r[9] = {cos(t), -sin(t), 0, sin(t), cos(t), 0, 0, 0, 1};
        bmd__expm(3, a, e);
        CLOSE(9, e, r, 2e-15);
    }
}

static void test_exp_inverse(void **state) {
    (void)state;
    const double norms[] = {0.01, 0.5, 1.5, 5.0, 20.0};
    for (int k = 0; k < 5; k++) {
        double a[36], m[36], e1[36], e2[36], p[36], id[36] = {0};
        for (int i = 0; i < 36; i++) a[i] = urand();
        for (int i = 0; i < 6; i++) id[7 * i] = 1;
        double n1 = 0;
        for (int j = 0; j < 6; j++) {
            double s = 0;
            for (int i = 0; i < 6; i++) s += fabs(a[i * 6 + j]);
            n1 = fmax(n1, s);
        }
        for (int i = 0; i < 36; i++) {
            a[i] *= norms[k] / n1;
            m[i] = -a[i];
        }
        bmd__expm(6, a, e1);
        bmd__expm(6, m, e2);
        mul(6, e1, e2, p);
        /* exp(A) exp(−A) = I to ~(1 + ‖A‖) u ‖e^A‖ ‖e^−A‖ */
        double b1 = 0, b2 = 0;
        for (int i = 0; i < 36; i++) {
            b1 = fmax(b1, fabs(e1[i]));
            b2 = fmax(b2, fabs(e2[i]));
        }
        printf("‖A‖₁ %g: max|e^A| %.3g, max|e^−A| %.3g, |e^A e^−A − I| %.3g\n", norms[k], b1, b2, rel(36, p, id));
        CLOSE(36, p, id, 1e-14 * (1 + norms[k]) * b1 * b2);
    }
}

static void test_log(void **state) {
    (void)state;
    double l[9];
    /* diagonal, needing square roots (entries far from 1) */
    const double d[3] = {7.5, 0.05, 1.3};
    double a[9] = {0}, want[9] = {0};
    for (int i = 0; i < 3; i++) {
        a[4 * i] = d[i];
        want[4 * i] = log(d[i]);
    }
    assert_int_equal(bmd__logm3(a, l), 0);
    CLOSE(9, l, want, 4e-15);
    /* a rotation by θ (complex eigenvalues): θ J */
    const double t = 1.1;
    double r[9] = {cos(t), -sin(t), 0, sin(t), cos(t), 0, 0, 0, 1}, g[9] = {0, -t, 0, t, 0, 0, 0, 0, 0};
    assert_int_equal(bmd__logm3(r, l), 0);
    CLOSE(9, l, g, 4e-15);
    /* log(exp(A)) = A: principal (eigenvalues' imaginary parts within ±π) */
    for (int k = 0; k < 20; k++) {
        double A[9], e[9];
        const double scale = k < 10 ? 0.05 : 0.6;
        for (int i = 0; i < 9; i++) A[i] = scale * urand();
        bmd__expm(3, A, e);
        assert_int_equal(bmd__logm3(e, l), 0);
        CLOSE(9, l, A, 2e-14);
    }
    /* exp(log(B)) = B, near I (no square root) and far (several) */
    for (int k = 0; k < 20; k++) {
        double B[9], e[9];
        for (int i = 0; i < 9; i++) B[i] = ((i % 4) == 0 ? (k < 10 ? 1.0 : 3.0 + 2 * urand()) : 0.0) +
                                          (k < 10 ? 0.08 : 0.5) * urand();
        assert_int_equal(bmd__logm3(B, l), 0);
        bmd__expm(3, l, e);
        CLOSE(9, e, B, 2e-14);
    }
    /* a negative eigenvalue (an inverted cell): no real log */
    const double neg[9] = {-1, 0, 0, 0, 1, 0, 0, 0, 1};
    assert_int_equal(bmd__logm3(neg, l), 1);
    const double sing[9] = {1, 0, 0, 0, 0, 0, 0, 0, 1};
    assert_int_equal(bmd__logm3(sing, l), 1);
}

static void test_frechet(void **state) {
    (void)state;
    double A[9], E[9], L[9], eA[9], want[9];
    for (int k = 0; k < 10; k++) {
        const double scale = k < 5 ? 0.1 : 1.5;
        for (int i = 0; i < 9; i++) A[i] = scale * urand();
        /* L(A, A) = A e^A, for any scale of E */
        for (int i = 0; i < 9; i++) E[i] = 1e4 * A[i];
        bmd__expm_frechet3(A, E, L);
        bmd__expm(3, A, eA);
        mul(3, A, eA, want);
        for (int i = 0; i < 9; i++) want[i] *= 1e4;
        CLOSE(9, L, want, 1e4 * 1e-14);
        /* central differences (step 1e-4: error ~1e-9 relative) */
        for (int i = 0; i < 9; i++) E[i] = urand();
        bmd__expm_frechet3(A, E, L);
        double ap[9], am[9], ep[9], em[9], fd[9];
        const double h = 1e-4;
        for (int i = 0; i < 9; i++) {
            ap[i] = A[i] + h * E[i];
            am[i] = A[i] - h * E[i];
        }
        bmd__expm(3, ap, ep);
        bmd__expm(3, am, em);
        for (int i = 0; i < 9; i++) fd[i] = (ep[i] - em[i]) / (2 * h);
        CLOSE(9, L, fd, 1e-7);
    }
    /* diagonal A: L(A, E_ij) = E_ij (e^a_i − e^a_j)/(a_i − a_j) */
    const double d[3] = {0.3, -0.4, 0.3 + 1e-9};
    memset(A, 0, sizeof A);
    for (int i = 0; i < 3; i++) A[4 * i] = d[i];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            memset(E, 0, sizeof E);
            E[3 * i + j] = 1;
            bmd__expm_frechet3(A, E, L);
            memset(want, 0, sizeof want);
            want[3 * i + j] = d[i] == d[j] ? exp(d[i]) : exp(d[j]) * expm1(d[i] - d[j]) / (d[i] - d[j]);
            CLOSE(9, L, want, 4e-15);
        }
    memset(E, 0, sizeof E);
    bmd__expm_frechet3(A, E, L);
    for (int i = 0; i < 9; i++) assert_true(L[i] == 0.0);
}

static void test_solve(void **state) {
    (void)state;
    double a[36], x[12], b[12], r[12];
    for (int i = 0; i < 36; i++) a[i] = urand();
    for (int i = 0; i < 12; i++) x[i] = urand();
    for (int i = 0; i < 6; i++) /* b = A x, x of 2 columns */
        for (int j = 0; j < 2; j++) {
            double s = 0;
            for (int k = 0; k < 6; k++) s += a[i * 6 + k] * x[k * 2 + j];
            b[i * 2 + j] = s;
        }
    memcpy(r, b, sizeof r);
    assert_int_equal(bmd__mat_solve(6, a, r, 2), 0);
    CLOSE(12, r, x, 1e-12);
    const double sing[9] = {1, 2, 3, 2, 4, 6, 0, 1, 1};
    double y[3] = {1, 1, 1};
    assert_int_equal(bmd__mat_solve(3, sing, y, 1), 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exp_closed_forms), cmocka_unit_test(test_exp_inverse), cmocka_unit_test(test_log),
        cmocka_unit_test(test_frechet), cmocka_unit_test(test_solve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
