/* test_stage_alloc.c — the step loop allocates nothing in steady state: after
 * a warm-up, 200 steps of a fused stage (fire -> nve -> nvt_langevin ->
 * nvt_nose_hoover) with the nan, fclamp, drift and log hooks make no call to
 * malloc, calloc or realloc. glibc's allocator is wrapped to count calls
 * (glibc exports __libc_malloc and friends for this). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "support/harmonic_model.h"

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static long n_alloc;
void *malloc(size_t n) {
    n_alloc++;
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t n) {
    n_alloc++;
    return __libc_calloc(a, n);
}
void *realloc(void *p, size_t n) {
    n_alloc++;
    return __libc_realloc(p, n);
}
void free(void *p) { __libc_free(p); }

static void test_no_allocation_per_step(void **state) {
    (void)state;
    bmd_units u = bmd_units_get(BMD_UNITS_METAL);
    bmd_model *m = harmonic_model_new(1.0, 0.5, NULL);
    bmd_batch *b;
    bmd_batch_create(&b);
    double x[12], x0[12];
    for (int s = 0; s < 8; s++) {
        for (int j = 0; j < 12; j++) {
            x0[j] = j;
            x[j] = j + 0.1 * ((j * 7 + s) % 5);
        }
        harmonic_append(b, 4, 39.948, x, x0, NULL, s);
    }
    bmd_stage *st;
    bmd_stage_create(&u, 1, &st);
    const char *names[] = {"dt", "temperature", "friction"};
    const double vals[] = {1.0, 300.0, 0.01};
    bmd_dynamics *d[4];
    bmd_dynamics_create("fire", NULL, NULL, 0, &d[0]);
    bmd_dynamics_create("nve", names, vals, 1, &d[1]);
    bmd_dynamics_create("nvt_langevin", names, vals, 3, &d[2]);
    bmd_dynamics_create("nvt_nose_hoover", names, vals, 2, &d[3]);
    bmd_convergence c[4] = {{1e-30, 0, 3}, {0, 0, 1000}, {0, 0, 1000}, {0, 0, 1000}};
    bmd_stage_add(st, "a", d[0], &c[0]);
    bmd_stage_add(st, "b", d[1], &c[1]);
    bmd_stage_add(st, "c", d[2], &c[2]);
    bmd_stage_add(st, "d", d[3], &c[3]);
    bmd_hook *h;
    bmd_hook_nan_create(&h);
    bmd_stage_add_hook(st, h);
    bmd_hook_fclamp_create(100.0, 0, &h);
    bmd_stage_add_hook(st, h);
    bmd_hook_drift_create(0, 5, &h);
    bmd_stage_add_hook(st, h);
    bmd_hook_log_create("/dev/null", 3, &h);
    bmd_stage_add_hook(st, h);
    /* systems spread over all four sub-stages */
    for (int s = 0; s < 8; s++) b->status[s] = s % 4;
    assert_int_equal(bmd_stage_open(st, b), BMD_OK);
    for (int k = 0; k < 10; k++) assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
    long before = n_alloc;
    assert_true(before > 0); /* the counter counts */
    for (int k = 0; k < 200; k++) assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
    assert_int_equal(n_alloc - before, 0);
    assert_int_equal(bmd_stage_live(st, b), 8);
    assert_int_equal(bmd_stage_close(st), BMD_OK);
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    harmonic_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_no_allocation_per_step)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
