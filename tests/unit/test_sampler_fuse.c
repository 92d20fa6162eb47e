/* test_sampler_fuse.c — bmd_stage_fuse, as the inflight runner uses it: a
 * stage fused from three one-sub-stage stages (chained calls) has their
 * sub-stages in order with status codes 0..2 and exit 3, keeps every hook
 * and the wish for stress, and gives bitwise what one stage built with
 * three bmd_stage_add calls gives, through the runner under a tight budget.
 * Fusing refuses (and consumes b, a unchanged) a name in both, another
 * seed, other units, a stage with itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/harmonic_model.h"

static unsigned long rng_state = 42;
static double urand(void) {
    rng_state = rng_state * 6364136223846793005UL + 1442695040888963407UL;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static bmd_system ring(int n, int periodic) {
    bmd_system s;
    assert_int_equal(bmd_system_alloc(&s, n), BMD_OK);
    for (int i = 0; i < n; i++) {
        s.Z[i] = 18;
        s.mass[i] = 39.948;
        for (int d = 0; d < 3; d++) s.pos[3 * i + d] = urand() - 0.5;
    }
    s.cell[0] = s.cell[4] = s.cell[8] = 30.0;
    s.pbc[0] = s.pbc[1] = s.pbc[2] = (unsigned char)periodic;
    return s;
}

static long hook_calls[3];
static bmd_status count_call(void *self, const bmd_hook_ctx *ctx) {
    (void)ctx;
    hook_calls[*(int *)self]++;
    return BMD_OK;
}
static void count_destroy(void *self) { free(self); }
static const bmd_hook_ops count_ops = {.type = "count", .call = count_call, .destroy = count_destroy};

static void add_counter(bmd_stage *st, int which) {
    bmd_hook *h = calloc(1, sizeof *h);
    int *self = malloc(sizeof *self);
    *self = which;
    *h = (bmd_hook){&count_ops, self, BMD_HOOK_AFTER_STEP, 1};
    assert_int_equal(bmd_stage_add_hook(st, h), BMD_OK);
}

static bmd_stage *new_stage(uint64_t seed, bmd_units_kind kind) {
    bmd_units u = bmd_units_get(kind);
    bmd_stage *st;
    assert_int_equal(bmd_stage_create(&u, seed, &st), BMD_OK);
    return st;
}

static void add_sub(bmd_stage *st, int which) {
    bmd_dynamics *d = NULL;
    if (which == 0) {
        assert_int_equal(bmd_dynamics_create("fire", NULL, NULL, 0, &d), BMD_OK);
        bmd_convergence c = {1e-3, 0, 30};
        assert_int_equal(bmd_stage_add(st, "relax", d, &c), BMD_OK);
    } else if (which == 1) {
        const char *names[] = {"dt", "temperature", "friction"};
        double values[] = {1.0, 300.0, 0.05};
        assert_int_equal(bmd_dynamics_create("nvt_langevin", names, values, 3, &d), BMD_OK);
        bmd_convergence c = {0, 0, 8};
        assert_int_equal(bmd_stage_add(st, "anneal", d, &c), BMD_OK);
    } else {
        const char *names[] = {"dt"};
        double values[] = {1.0};
        assert_int_equal(bmd_dynamics_create("nve", names, values, 1, &d), BMD_OK);
        bmd_convergence c = {0, 0, 5};
        assert_int_equal(bmd_stage_add(st, "md", d, &c), BMD_OK);
    }
}

static bmd_stage *fused_stage(void) {
    bmd_stage *a = new_stage(9, BMD_UNITS_METAL), *b = new_stage(9, BMD_UNITS_METAL);
    bmd_stage *c = new_stage(9, BMD_UNITS_METAL);
    add_sub(a, 0);
    add_counter(a, 0);
    add_sub(b, 1);
    add_sub(c, 2);
    add_counter(c, 2);
    assert_int_equal(bmd_stage_fuse(a, b), BMD_OK);
    assert_int_equal(bmd_stage_fuse(a, c), BMD_OK);
    return a;
}

static bmd_stage *added_stage(void) {
    bmd_stage *a = new_stage(9, BMD_UNITS_METAL);
    for (int i = 0; i < 3; i++) add_sub(a, i);
    return a;
}

static bmd_sink *run(bmd_stage *st, const bmd_dataset *ds, long max_atoms, long refill) {
    bmd_model *m = harmonic_model_new(1.0, 0.3, NULL);
    bmd_sink *final;
    assert_int_equal(bmd_sink_memory_create(0, &final), BMD_OK);
    bmd_run_options opt = {.max_atoms = max_atoms, .max_systems = 1000, .refill_every = refill, .ordered = 1};
    bmd_run_stats stats;
    assert_int_equal(bmd_run_inflight(st, m, ds, &opt, final, NULL, &stats), BMD_OK);
    assert_int_equal(stats.n_stages, 3);
    assert_int_equal(stats.done, bmd_dataset_size(ds));
    harmonic_model_free(m);
    return final;
}

static void test_fused_equals_added(void **state) {
    (void)state;
    enum { N = 80 };
    bmd_system v[N];
    for (int i = 0; i < N; i++) v[i] = ring(1 + (int)(urand() * 30), 0);
    bmd_dataset *ds;
    assert_int_equal(bmd_dataset_from_systems(v, N, 0, &ds), BMD_OK);

    bmd_stage *f = fused_stage();
    assert_int_equal(bmd_stage_count(f), 3);
    assert_string_equal(bmd_stage_name(f, 0), "relax");
    assert_string_equal(bmd_stage_name(f, 1), "anneal");
    assert_string_equal(bmd_stage_name(f, 2), "md");
    memset(hook_calls, 0, sizeof hook_calls);
    bmd_sink *a = run(f, ds, 45, 1);
    assert_true(hook_calls[0] > 0); /* a's hook and the one that came with c */
    assert_int_equal(hook_calls[2], hook_calls[0]);
    bmd_stage *g = added_stage();
    bmd_sink *b = run(g, ds, 100000, 4);
    for (long i = 0; i < N; i++) {
        const bmd_system *x = bmd_sink_memory_at(a, i), *y = bmd_sink_memory_at(b, i);
        assert_int_equal(x->system_id, i);
        assert_int_equal(y->system_id, i);
        assert_memory_equal(x->pos, y->pos, 3 * (size_t)x->n_atoms * sizeof(double));
        assert_memory_equal(x->vel, y->vel, 3 * (size_t)x->n_atoms * sizeof(double));
        const char *keys[] = {"steps_relax", "converged_relax", "steps_anneal", "converged_anneal", "steps_md",
                              "converged_md"};
        for (int k = 0; k < 6; k++) {
            assert_non_null(bmd_info_get(&x->info, keys[k]));
            assert_string_equal(bmd_info_get(&x->info, keys[k]), bmd_info_get(&y->info, keys[k]));
        }
        assert_string_equal(bmd_info_get(&x->info, "steps_anneal"), "8");
        assert_string_equal(bmd_info_get(&x->info, "steps_md"), "5");
    }
    bmd_sink_destroy(a);
    bmd_sink_destroy(b);
    bmd_stage_destroy(f);
    bmd_stage_destroy(g);
    bmd_dataset_close(ds);
    for (int i = 0; i < N; i++) bmd_system_free(&v[i]);
}

/* Status codes follow the fused order; the exit code is k = 3; stress is
 * computed when the fused-in stage wanted it. */
static void test_status_codes_and_stress(void **state) {
    (void)state;
    bmd_stage *a = new_stage(9, BMD_UNITS_METAL), *b = new_stage(9, BMD_UNITS_METAL);
    add_sub(a, 0);
    add_sub(b, 1);
    add_sub(b, 2);
    bmd_stage_want_stress(b, 1);
    assert_int_equal(bmd_stage_fuse(a, b), BMD_OK);
    bmd_batch *batch;
    assert_int_equal(bmd_batch_create(&batch), BMD_OK);
    bmd_system s = ring(6, 1);
    assert_int_equal(bmd_batch_append(batch, &s, NULL), BMD_OK);
    bmd_system_free(&s);
    bmd_model *m = harmonic_model_new(1.0, 0.3, NULL);
    int seen[4] = {0, 0, 0, 0};
    while (bmd_stage_live(a, batch)) {
        assert_int_equal(bmd_stage_step(a, batch, m), BMD_OK);
        assert_true(batch->status[0] >= 0 && batch->status[0] <= 3);
        seen[batch->status[0]] = 1;
        assert_true(batch->stress_valid[0]);
    }
    assert_int_equal(batch->status[0], 3);
    assert_true(seen[1] && seen[2] && seen[3]);
    harmonic_model_free(m);
    bmd_batch_destroy(batch);
    bmd_stage_destroy(a);
}

static void test_refusals(void **state) {
    (void)state;
    bmd_stage *a = added_stage();
    bmd_stage *d = new_stage(9, BMD_UNITS_METAL);
    add_sub(d, 2); /* "md" again */
    assert_int_equal(bmd_stage_fuse(a, d), BMD_ERR_INVALID);
    assert_non_null(strstr(bmd_last_error(), "'md'"));
    assert_int_equal(bmd_stage_count(a), 3);
    d = new_stage(10, BMD_UNITS_METAL);
    assert_int_equal(bmd_stage_fuse(a, d), BMD_ERR_INVALID);
    d = new_stage(9, BMD_UNITS_LJ);
    assert_int_equal(bmd_stage_fuse(a, d), BMD_ERR_INVALID);
    assert_int_equal(bmd_stage_fuse(a, a), BMD_ERR_INVALID);
    assert_int_equal(bmd_stage_count(a), 3);
    /* an empty stage fuses to nothing new */
    assert_int_equal(bmd_stage_fuse(a, new_stage(9, BMD_UNITS_METAL)), BMD_OK);
    assert_int_equal(bmd_stage_count(a), 3);
    assert_string_equal(bmd_stage_name(a, 2), "md");
    bmd_stage_destroy(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fused_equals_added),
        cmocka_unit_test(test_status_codes_and_stress),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
