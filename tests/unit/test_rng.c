/* test_rng.c — counter-based random numbers: pure functions of their key and
 * counter, in (0, 1), and normals with mean 0 and variance 1 (checked to
 * within 5 standard errors over 400,000 draws). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

#include "batchmd/rng.h"

static void test_pure_function(void **state) {
    (void)state;
    double a[4], b[4], c[4];
    bmd_rng_normal4(7, 12, 1, 100, 3, a);
    bmd_rng_normal4(99, 1, 2, 5, 5, c); /* another draw in between changes nothing */
    bmd_rng_normal4(7, 12, 1, 100, 3, b);
    assert_memory_equal(a, b, sizeof a);
    /* every key/counter field matters */
    double d[4];
    bmd_rng_normal4(8, 12, 1, 100, 3, d);
    assert_true(d[0] != a[0]);
    bmd_rng_normal4(7, 13, 1, 100, 3, d);
    assert_true(d[0] != a[0]);
    bmd_rng_normal4(7, 12, 2, 100, 3, d);
    assert_true(d[0] != a[0]);
    bmd_rng_normal4(7, 12, 1, 101, 3, d);
    assert_true(d[0] != a[0]);
    bmd_rng_normal4(7, 12, 1, 100, 4, d);
    assert_true(d[0] != a[0]);
}

static void test_moments(void **state) {
    (void)state;
    const int n = 100000;
    double su = 0, s1 = 0, s2 = 0, s4 = 0;
    for (int i = 0; i < n; i++) {
        double u[4], g[4];
        bmd_rng_uniform4(1, 2, 3, (uint64_t)i, 0, u);
        bmd_rng_normal4(1, 2, 4, (uint64_t)i, 0, g);
        for (int k = 0; k < 4; k++) {
            assert_true(u[k] > 0.0 && u[k] < 1.0);
            su += u[k];
            s1 += g[k];
            s2 += g[k] * g[k];
            s4 += g[k] * g[k] * g[k] * g[k];
        }
    }
    double m = 4.0 * n;
    assert_true(fabs(su / m - 0.5) < 5 * sqrt(1.0 / 12.0 / m));
    assert_true(fabs(s1 / m) < 5 * sqrt(1.0 / m));
    assert_true(fabs(s2 / m - 1.0) < 5 * sqrt(2.0 / m));
    assert_true(fabs(s4 / m - 3.0) < 5 * sqrt(96.0 / m));
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_pure_function), cmocka_unit_test(test_moments)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
