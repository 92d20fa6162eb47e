/* test_symeig.c — the dense symmetric eigensolver (core/symeig.h) against
 * what defines an eigendecomposition and against spectra known in closed
 * form:
 *   - random symmetric matrices (n = 1 ... 150): A v_i = w_i v_i to 1e-13
 *     ‖A‖, the v_i orthonormal to 1e-13, w ascending;
 *   - A = Q diag(λ) Qᵀ with Q a Householder reflection and λ chosen (negative,
 *     zero, repeated — BFGS's first Hessian is 70 I): w = sorted λ to 1e-13;
 *   - the 1-D Laplacian tridiag(−1, 2, −1): w_k = 2 − 2 cos(kπ/(n+1));
 *   - the zero matrix; a non-finite entry is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/symeig.h"

static unsigned long rng_state = 12345;
static double urand(void) {
    rng_state = rng_state * 6364136223846793005UL + 1442695040888963407UL;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

typedef struct eig {
    int n;
    double *w, *vt, *work;
} eig;

static eig solve(int n, const double *a) {
    eig e = {n, malloc(sizeof(double) * n), malloc(sizeof(double) * n * n), malloc(sizeof(double) * n)};
    assert_int_equal(bmd__symeig(n, a, e.w, e.vt, e.work), 0);
    return e;
}

static void eig_free(eig *e) {
    free(e->w);
    free(e->vt);
    free(e->work);
}

/* residuals of the definition: A v = w v, VᵀV = I, ascending w */
static void check_definition(int n, const double *a, const eig *e, double tol) {
    double norm = 0;
    for (int k = 0; k < n * n; k++) norm = fmax(norm, fabs(a[k]));
    norm = fmax(norm * n, 1e-300);
    for (int i = 0; i < n; i++) {
        const double *v = e->vt + (size_t)i * n;
        for (int r = 0; r < n; r++) {
            double av = 0;
            for (int c = 0; c < n; c++) av += a[r * n + c] * v[c];
            assert_true(fabs(av - e->w[i] * v[r]) <= tol * norm);
        }
        for (int j = 0; j <= i; j++) {
            double d = 0;
            for (int k = 0; k < n; k++) d += v[k] * e->vt[(size_t)j * n + k];
            assert_true(fabs(d - (i == j)) <= tol * n);
        }
        if (i) assert_true(e->w[i - 1] <= e->w[i]);
    }
}

static void test_random_symmetric(void **state) {
    (void)state;
    const int sizes[] = {1, 2, 3, 5, 12, 40, 150};
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        int n = sizes[t];
        double *a = malloc(sizeof(double) * n * n);
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = 2 * urand() - 1;
        eig e = solve(n, a);
        check_definition(n, a, &e, 1e-13);
        eig_free(&e);
        free(a);
    }
}

/* A = Q diag(lam) Q with Q = I − 2 u uᵀ (|u| = 1). */
static void test_known_spectrum(void **state) {
    (void)state;
    const int n = 30;
    double lam[30], u[30], a[900], nu = 0;
    for (int i = 0; i < n; i++) {
        lam[i] = i < 10 ? 70.0 : (i < 15 ? -3.0 + i : 1e-3 * i * i);
        u[i] = urand() - 0.5;
        nu += u[i] * u[i];
    }
    lam[20] = 0.0;
    for (int i = 0; i < n; i++) u[i] /= sqrt(nu);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int k = 0; k < n; k++) {
                double qik = (i == k) - 2 * u[i] * u[k], qjk = (j == k) - 2 * u[j] * u[k];
                s += qik * lam[k] * qjk;
            }
            a[i * n + j] = s;
        }
    for (int i = 0; i < n; i++) /* exactly symmetric, as H is */
        for (int j = 0; j < i; j++) a[j * n + i] = a[i * n + j];
    eig e = solve(n, a);
    check_definition(n, a, &e, 1e-13);
    double sorted[30];
    memcpy(sorted, lam, sizeof sorted);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (sorted[j] < sorted[i]) {
                double t = sorted[i];
                sorted[i] = sorted[j];
                sorted[j] = t;
            }
    for (int i = 0; i < n; i++) assert_true(fabs(e.w[i] - sorted[i]) <= 1e-13 * 70);
    eig_free(&e);

    /* 70 I: every eigenvalue 70, an orthonormal basis */
    for (int k = 0; k < n * n; k++) a[k] = (k % (n + 1) == 0) ? 70.0 : 0.0;
    e = solve(n, a);
    check_definition(n, a, &e, 1e-15);
    for (int i = 0; i < n; i++) assert_true(e.w[i] == 70.0);
    eig_free(&e);
}

static void test_laplacian(void **state) {
    (void)state;
    const int n = 64;
    double *a = calloc((size_t)n * n, sizeof(double));
    for (int i = 0; i < n; i++) {
        a[i * n + i] = 2;
        if (i) a[i * n + i - 1] = a[(i - 1) * n + i] = -1;
    }
    eig e = solve(n, a);
    check_definition(n, a, &e, 1e-13);
    for (int k = 1; k <= n; k++) assert_true(fabs(e.w[k - 1] - (2 - 2 * cos(k * 3.14159265358979323846 / (n + 1)))) <= 1e-13);
    eig_free(&e);
    free(a);
}

static void test_zero_and_refusal(void **state) {
    (void)state;
    double a[16] = {0}, w[4], vt[16], work[4];
    assert_int_equal(bmd__symeig(4, a, w, vt, work), 0);
    for (int i = 0; i < 4; i++) {
        assert_true(w[i] == 0.0);
        for (int k = 0; k < 4; k++) assert_true(vt[i * 4 + k] == (i == k));
    }
    a[5] = NAN;
    assert_int_equal(bmd__symeig(4, a, w, vt, work), 1);
    a[5] = INFINITY;
    assert_int_equal(bmd__symeig(4, a, w, vt, work), 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_symmetric),
        cmocka_unit_test(test_known_spectrum),
        cmocka_unit_test(test_laplacian),
        cmocka_unit_test(test_zero_and_refusal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
