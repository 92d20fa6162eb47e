/* test_svr.c — the CSVR kernel (src/dynamics/svr.h) against exact laws:
 *
 * - bmd__chi2_draw(n): a χ²_n variable has mean n, variance 2n and third
 *   central moment 8n. For n = 1, 2, 3, 8, 93 and 3000 (the shapes n/2 of
 *   1/2, 1, 3/2, 4, 46.5, 1500: the squared normal, Marsaglia–Tsang at its
 *   smallest shape and large ones), 200,000 draws keyed by step: each
 *   sample moment within 4 of its standard errors (estimated from the
 *   sample's higher moments) of the exact value. Also P(X <= n) against the
 *   regularised incomplete gamma function P(n/2, n/2) (computed here by its
 *   series), within 4 binomial SE.
 * - bmd__svr_kinetic: given K, the law of K' has E[K' | K] = c K + (1 − c) K̄
 *   and Var[K' | K] = 4 c (1 − c) K K̄ / N_f + 2 (1 − c)² K̄² / N_f
 *   (svr.h); checked for c = 0, 0.5, 0.98 and N_f = 3, 93, and K far from
 *   and at K̄. For c = 0 (τ → 0) K' is K̄/N_f · χ²_{N_f}: Gamma(N_f/2, kT).
 * - Keying: the same key gives the same bits; another system_id, stream or
 *   step gives another number. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>

#include "dynamics/svr.h"

#define DRAWS 200000

/* Regularised lower incomplete gamma P(a, x) by its series (x not far
 * beyond a: converges). */
static double gamma_p(double a, double x) {
    double term = 1.0 / a, sum = term;
    for (int k = 1; k < 10000 && term > 1e-17 * sum; k++) {
        term *= x / (a + k);
        sum += term;
    }
    return sum * exp(-x + a * log(x) - lgamma(a));
}

/* sample mean, variance and third central moment of x[0..n) and their SEs */
typedef struct moments {
    double m1, m2, m3, se1, se2, se3;
} moments;

static moments sample_moments(const double *x, long n) {
    double m = 0;
    for (long i = 0; i < n; i++) m += x[i] / n;
    double c[7] = {0};
    for (long i = 0; i < n; i++) {
        double d = x[i] - m, p = d;
        for (int k = 2; k <= 6; k++) {
            p *= d;
            c[k] += p / n;
        }
    }
    moments r = {m, c[2], c[3], 0, 0, 0};
    r.se1 = sqrt(c[2] / n);
    r.se2 = sqrt((c[4] - c[2] * c[2]) / n);
    r.se3 = sqrt((c[6] - c[3] * c[3] - 6 * c[4] * c[2] + 9 * c[2] * c[2] * c[2]) / n);
    return r;
}

static void check(const char *what, double x, double exact, double se) {
    printf("    %-10s %.6g (exact %.6g), SE %.3g, z = %+.2f\n", what, x, exact, se, (x - exact) / se);
    assert_true(fabs(x - exact) < 4.0 * se);
}

static double xs[DRAWS];

static void test_chi2(void **state) {
    (void)state;
    const int ns[] = {1, 2, 3, 8, 93, 3000};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        const int n = ns[k];
        long below = 0;
        for (long i = 0; i < DRAWS; i++) {
            xs[i] = bmd__chi2_draw(n, 7, 3, 19, (uint64_t)i, 1);
            assert_true(xs[i] > 0 && isfinite(xs[i]));
            below += xs[i] <= n;
        }
        const moments m = sample_moments(xs, DRAWS);
        printf("  chi2_%d, %d draws:\n", n, DRAWS);
        check("mean", m.m1, n, m.se1);
        check("variance", m.m2, 2.0 * n, m.se2);
        check("3rd moment", m.m3, 8.0 * n, m.se3);
        const double p = gamma_p(0.5 * n, 0.5 * n), f = (double)below / DRAWS;
        check("P(X <= n)", f, p, sqrt(p * (1 - p) / DRAWS));
    }
    assert_true(bmd__chi2_draw(0, 7, 3, 19, 5, 1) == 0.0);
}

static void test_svr_kinetic(void **state) {
    (void)state;
    const int nfs[] = {3, 93};
    const double cs[] = {0.0, 0.5, 0.98};
    for (size_t a = 0; a < 2; a++)
        for (size_t b = 0; b < 3; b++)
            for (int far = 0; far <= 1; far++) {
                const int nf = nfs[a];
                const double c = cs[b], Kbar = 0.5 * nf * 0.025, K = far ? 3.7 * Kbar : Kbar;
                for (long i = 0; i < DRAWS; i++) xs[i] = bmd__svr_kinetic(K, Kbar, nf, c, 11, 5, 2, (uint64_t)i);
                const moments m = sample_moments(xs, DRAWS);
                printf("  N_f %d, c %.2f, K/Kbar %.1f:\n", nf, c, K / Kbar);
                check("mean", m.m1, c * K + (1 - c) * Kbar, m.se1);
                check("variance", m.m2, 4 * c * (1 - c) * K * Kbar / nf + 2 * (1 - c) * (1 - c) * Kbar * Kbar / nf,
                      m.se2);
                if (c == 0) /* Gamma(N_f/2, kT): third central moment 2 (N_f/2) kT³ */
                    check("3rd moment", m.m3, nf * pow(2 * Kbar / nf, 3), m.se3);
            }
}

static void test_keying(void **state) {
    (void)state;
    const double x = bmd__svr_kinetic(1.0, 1.2, 93, 0.9, 1, 2, 3, 4);
    assert_true(x == bmd__svr_kinetic(1.0, 1.2, 93, 0.9, 1, 2, 3, 4));
    assert_true(x != bmd__svr_kinetic(1.0, 1.2, 93, 0.9, 1, 9, 3, 4)); /* system_id */
    assert_true(x != bmd__svr_kinetic(1.0, 1.2, 93, 0.9, 1, 2, 8, 4)); /* stream */
    assert_true(x != bmd__svr_kinetic(1.0, 1.2, 93, 0.9, 1, 2, 3, 5)); /* step */
    assert_true(x != bmd__svr_kinetic(1.0, 1.2, 93, 0.9, 6, 2, 3, 4)); /* seed */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chi2),
        cmocka_unit_test(test_svr_kinetic),
        cmocka_unit_test(test_keying),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
