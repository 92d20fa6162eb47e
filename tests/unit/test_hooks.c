/* test_hooks.c — the built-in hooks (hooks.h) on the analytic harmonic model:
 * the CSV log (header, rows at entry / every n steps / on leaving), the NaN
 * detector, the force clamp and the energy-drift monitor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "support/harmonic_model.h"

static bmd_units U;

static int add(bmd_batch *b, int n, double disp, long id) {
    double x[3 * 16], x0[3 * 16];
    for (int j = 0; j < 3 * n; j++) {
        x0[j] = (j % 3 == 0) ? 2.0 * (j / 3) : 0.0;
        x[j] = x0[j] + disp * sin(0.7 * j + id);
    }
    return harmonic_append(b, n, 39.948, x, x0, NULL, id);
}

static bmd_dynamics *make(const char *type, int n, const char **names, const double *vals) {
    bmd_dynamics *d = NULL;
    assert_int_equal(bmd_dynamics_create(type, names, vals, n, &d), BMD_OK);
    return d;
}

static void test_log(void **state) {
    (void)state;
    char path[] = "/tmp/bmd_test_log_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    bmd_model *m = harmonic_model_new(1.0, 0.5, NULL);
    bmd_batch *b;
    bmd_batch_create(&b);
    add(b, 3, 0.0, 10); /* converged at entry: one step-0 row */
    add(b, 3, 0.2, 11); /* 7 steps of FIRE, logged every 3 and at leaving */
    bmd_stage *st;
    bmd_stage_create(&U, 1, &st);
    bmd_convergence c = {1e-30, 0, 7};
    bmd_info_set(&b->info[0], "fmax", "0.05");
    bmd_stage_add(st, "relax", make("fire", 0, NULL, NULL), &c);
    bmd_hook *h;
    assert_int_equal(bmd_hook_log_create(path, 3, &h), BMD_OK);
    bmd_stage_add_hook(st, h);
    assert_int_equal(bmd_stage_run(st, b, m, 0), BMD_OK);
    FILE *f = fopen(path, "r");
    char line[512];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "system_id,stage,step,energy_eV,fmax_eV_per_A,temperature_K,pressure_bar,volume_A3,conserved_eV\n");
    long want_id[] = {10, 11, 11, 11, 11}, want_step[] = {0, 0, 3, 6, 7};
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        long id, step;
        double e, fm, t;
        char name[32];
        assert_int_equal(sscanf(line, "%ld,%31[^,],%ld,%lf,%lf,%lf", &id, name, &step, &e, &fm, &t), 6);
        assert_true(rows < 5);
        assert_int_equal(id, want_id[rows]);
        assert_int_equal(step, want_step[rows]);
        assert_string_equal(name, "relax");
        if (rows == 4) { /* the last row holds the final state */
            assert_true(e == b->energy[1]);
            assert_true(fabs(fm - bmd_fmax(b, 1)) <= 1e-15 * fm);
        }
        rows++;
    }
    assert_int_equal(rows, 5);
    fclose(f);
    unlink(path);
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    harmonic_model_free(m);

    /* an unwritable path fails at open with a message naming it */
    bmd_hook *bad;
    bmd_hook_log_create("/proc/nonexistent/dir/log.csv", 1, &bad);
    bmd_stage_create(&U, 1, &st);
    bmd_stage_add_hook(st, bad);
    bmd_batch_create(&b);
    assert_int_equal(bmd_stage_open(st, b), BMD_ERR_IO);
    assert_non_null(strstr(bmd_last_error(), "/proc/nonexistent/dir/log.csv"));
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
}

static void test_fclamp(void **state) {
    (void)state;
    bmd_model *m = harmonic_model_new(10.0, 0.0, NULL);
    bmd_batch *b;
    bmd_batch_create(&b);
    add(b, 4, 0.5, 0);  /* |F| up to ~8 eV/Å: clamped to 1 */
    add(b, 4, 3.0, 1);  /* |F| > 20: taken out */
    bmd_stage *st;
    bmd_stage_create(&U, 1, &st);
    bmd_convergence c = {0, 0, 1};
    const char *n[] = {"dt"};
    const double v[] = {0.1};
    bmd_stage_add(st, "md", make("nve", 1, n, v), &c);
    bmd_hook *h;
    assert_int_equal(bmd_hook_fclamp_create(1.0, 20.0, &h), BMD_OK);
    bmd_stage_add_hook(st, h);
    harmonic_model *hm = m->self;
    static double fall[24];
    bmd_compute_request req = {NULL, NULL, fall, NULL, NULL};
    assert_int_equal(bmd_stage_run(st, b, m, 0), BMD_OK);
    assert_int_equal(b->status[1], BMD_STATUS_FAILED);
    assert_string_equal(bmd_info_get(&b->info[1], "status"), "force_blowup");
    assert_int_equal(b->status[0], 1);
    /* after the step: every atom's force at most 1, direction of the model's force */
    harmonic_compute(hm, b, &req);
    for (int i = 0; i < 4; i++) {
        const double *fc = b->force + 3 * i, *fm = fall + 3 * i;
        double nc = sqrt(fc[0] * fc[0] + fc[1] * fc[1] + fc[2] * fc[2]);
        double nm = sqrt(fm[0] * fm[0] + fm[1] * fm[1] + fm[2] * fm[2]);
        assert_true(nc <= 1.0 + 1e-15);
        if (nm > 1.0) {
            assert_true(fabs(nc - 1.0) < 1e-12);
            for (int d = 0; d < 3; d++) assert_true(fabs(fc[d] - fm[d] / nm) < 1e-12);
        } else {
            assert_memory_equal(fc, fm, 3 * sizeof(double));
        }
    }
    assert_int_equal(bmd_hook_fclamp_create(0, 0, &h), BMD_ERR_INVALID);
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    harmonic_model_free(m);
}

static void test_drift(void **state) {
    (void)state;
    bmd_model *m = harmonic_model_new(1.0, 0.5, NULL);
    for (int pass = 0; pass < 2; pass++) {
        bmd_batch *b;
        bmd_batch_create(&b);
        add(b, 5, 0.2, 0);
        add(b, 5, 0.2, 1);
        bmd_info_set(&b->info[1], "dt", "8"); /* a coarse time step drifts more */
        bmd_stage *st;
        bmd_stage_create(&U, 1, &st);
        bmd_convergence c = {0, 0, 400};
        const char *n[] = {"dt"};
        const double v[] = {1.0};
        bmd_stage_add(st, "md", make("nve", 1, n, v), &c);
        bmd_hook *h;
        /* first pass: monitor only; second: a limit between the two systems' drifts */
        assert_int_equal(bmd_hook_drift_create(pass ? 1e-5 : 0, 2, &h), BMD_OK);
        bmd_stage_add_hook(st, h);
        assert_int_equal(bmd_stage_run(st, b, m, 0), BMD_OK);
        double seen = bmd_hook_drift_max(h);
        printf("  drift pass %d: max %.3e eV/atom\n", pass, seen);
        if (!pass) {
            assert_int_equal(b->status[0], 1);
            assert_int_equal(b->status[1], 1);
            assert_true(seen > 1e-5 && seen < 1e-2);
        } else {
            assert_int_equal(b->status[0], 1);
            assert_int_equal(b->status[1], BMD_STATUS_FAILED);
            assert_string_equal(bmd_info_get(&b->info[1], "status"), "energy_drift");
        }
        bmd_stage_destroy(st);
        bmd_batch_destroy(b);
    }
    assert_true(isnan(bmd_hook_drift_max(NULL)));
    harmonic_model_free(m);
}

static void test_nan_at_compute(void **state) {
    (void)state;
    harmonic_model *hm;
    bmd_model *m = harmonic_model_new(1.0, 0.0, &hm);
    bmd_batch *b;
    bmd_batch_create(&b);
    add(b, 2, 0.2, 0);
    add(b, 2, 0.2, 1);
    bmd_stage *st;
    bmd_stage_create(&U, 1, &st);
    bmd_convergence c = {0, 0, 10};
    const char *n[] = {"dt"};
    const double v[] = {1.0};
    bmd_stage_add(st, "md", make("nve", 1, n, v), &c);
    bmd_hook *h;
    bmd_hook_nan_create(&h);
    bmd_stage_add_hook(st, h);
    for (int k = 0; k < 3; k++) assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
    hm->poison_id = 1; /* the model starts failing for system 1 */
    assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
    assert_int_equal(b->status[1], BMD_STATUS_FAILED);
    assert_string_equal(bmd_info_get(&b->info[1], "status"), "nan_or_inf");
    /* taken out between compute and post_update: 3 updates completed */
    assert_true(bmd_batch_column_data(b, bmd_stage_steps_column(st, b, 0))[1] == 3);
    assert_int_equal(bmd_stage_run(st, b, m, 0), BMD_OK);
    assert_int_equal(b->status[0], 1);
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    harmonic_model_free(m);
}

int main(void) {
    U = bmd_units_get(BMD_UNITS_METAL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log),
        cmocka_unit_test(test_fclamp),
        cmocka_unit_test(test_drift),
        cmocka_unit_test(test_nan_at_compute),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
