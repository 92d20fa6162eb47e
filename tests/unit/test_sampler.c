/* test_sampler.c — the size-aware sampler and the inflight runner on an
 * in-memory dataset of random sizes: the admission policy step by step
 * (dataset order when the head fits, else the largest that fits, FIFO among
 * equals, reservation against starvation); the live batch never over its
 * budget at any hook point, every structure admitted exactly once and
 * leaving exactly once (final or failed), results bitwise the same under
 * any budget and refill rhythm, input order on request; structures too
 * large or empty refused before any step, with a message naming them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flow/sampler.h"
#include "support/harmonic_model.h"

/* ------------------------------------------------------------- datasets */

static unsigned long rng_state;
static double urand(void) {
    rng_state = rng_state * 6364136223846793005UL + 1442695040888963407UL;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* A ring of n atoms near the origin (harmonic model: springs to 0 and along the ring). */
static bmd_system ring(int n) {
    bmd_system s;
    assert_int_equal(bmd_system_alloc(&s, n), BMD_OK);
    for (int i = 0; i < n; i++) {
        s.Z[i] = 18;
        s.mass[i] = 39.948;
        for (int d = 0; d < 3; d++) s.pos[3 * i + d] = urand() - 0.5;
    }
    s.cell[0] = s.cell[4] = s.cell[8] = 30.0;
    return s;
}

static bmd_system *random_systems(long n, int max_size, unsigned long seed) {
    rng_state = seed;
    bmd_system *v = calloc((size_t)n, sizeof *v);
    for (long i = 0; i < n; i++) v[i] = ring(1 + (int)(urand() * max_size));
    return v;
}

static void free_systems(bmd_system *v, long n) {
    for (long i = 0; i < n; i++) bmd_system_free(&v[i]);
    free(v);
}

/* --------------------------------------------------- the policy, directly */

static bmd__sampler *sampler_of(const int *sizes, long n, long max_atoms) {
    bmd_system *v = calloc((size_t)n, sizeof *v);
    rng_state = 1;
    for (long i = 0; i < n; i++) v[i] = ring(sizes[i]);
    bmd_dataset *ds;
    assert_int_equal(bmd_dataset_from_systems(v, n, 1, &ds), BMD_OK);
    free_systems(v, n); /* copied */
    bmd__sampler *s = NULL;
    assert_int_equal(bmd__sampler_create(ds, max_atoms, &s), BMD_OK);
    bmd_dataset_close(ds); /* the sampler keeps sizes only */
    return s;
}

static void test_policy_head_then_largest(void **state) {
    (void)state;
    int sizes[] = {50, 10, 30, 10, 40};
    bmd__sampler *s = sampler_of(sizes, 5, 60);
    assert_int_equal(bmd__sampler_next(s, 60, 10), 0); /* the head fits */
    assert_int_equal(bmd__sampler_next(s, 10, 9), 1);  /* the head (10) fits */
    assert_int_equal(bmd__sampler_next(s, 25, 8), 3);  /* head 30 does not: largest that fits */
    assert_int_equal(bmd__sampler_next(s, 25, 7), -1); /* nothing left fits 25 */
    assert_int_equal(bmd__sampler_next(s, 35, 7), 2);  /* the head again */
    assert_int_equal(bmd__sampler_next(s, 35, 7), -1);
    assert_int_equal(bmd__sampler_next(s, 40, 0), -1); /* no system slot */
    assert_int_equal(bmd__sampler_remaining(s), 1);
    assert_int_equal(bmd__sampler_next(s, 40, 1), 4);
    assert_int_equal(bmd__sampler_remaining(s), 0);
    assert_int_equal(bmd__sampler_next(s, 1000, 1000), -1);
    bmd__sampler_destroy(s);

    int sizes2[] = {100, 9, 3, 7, 5, 7};
    s = sampler_of(sizes2, 6, 100);
    assert_int_equal(bmd__sampler_next(s, 100, 10), 0);
    assert_int_equal(bmd__sampler_next(s, 8, 10), 3); /* largest first, FIFO among the 7s */
    assert_int_equal(bmd__sampler_next(s, 8, 10), 5);
    assert_int_equal(bmd__sampler_next(s, 8, 10), 4);
    assert_int_equal(bmd__sampler_next(s, 8, 10), 2);
    assert_int_equal(bmd__sampler_next(s, 8, 10), -1);
    assert_int_equal(bmd__sampler_next(s, 9, 10), 1);
    bmd__sampler_destroy(s);
}

static void test_policy_no_starvation(void **state) {
    (void)state;
    int sizes[22] = {10, 55};
    for (int i = 2; i < 22; i++) sizes[i] = 5;
    bmd__sampler *s = sampler_of(sizes, 22, 60);
    assert_int_equal(bmd__sampler_next(s, 60, 100), 0);
    /* the head (55) does not fit in 50: small ones are admitted past it
     * until a budget's worth (60 atoms) went by, then it is reserved */
    for (long i = 2; i < 14; i++) assert_int_equal(bmd__sampler_next(s, 50, 100), i);
    assert_int_equal(bmd__sampler_next(s, 50, 100), -1);
    assert_int_equal(bmd__sampler_next(s, 54, 100), -1);
    assert_int_equal(bmd__sampler_next(s, 55, 100), 1);
    /* then dataset order again */
    assert_int_equal(bmd__sampler_next(s, 5, 100), 14);
    bmd__sampler_destroy(s);
}

/* Random removals and admissions: the simulated batch never exceeds its
 * budget and every index comes exactly once. */
static void test_policy_random(void **state) {
    (void)state;
    enum { N = 3000, MAXA = 150, MAXS = 9 };
    int *sizes = malloc(N * sizeof *sizes);
    rng_state = 99;
    for (int i = 0; i < N; i++) sizes[i] = 1 + (int)(urand() * (i % 7 == 0 ? MAXA : 30));
    bmd__sampler *s = sampler_of(sizes, N, MAXA);
    unsigned char *seen = calloc(N, 1);
    long live[MAXS], n_live = 0, atoms = 0, admitted = 0;
    while (admitted < N || n_live > 0) {
        for (long j = 0; j < n_live;) { /* each live one leaves with probability 0.3 */
            if (urand() < 0.3) {
                atoms -= sizes[live[j]];
                live[j] = live[--n_live];
            } else {
                j++;
            }
        }
        long i;
        while ((i = bmd__sampler_next(s, MAXA - atoms, MAXS - n_live)) >= 0) {
            assert_true(i >= 0 && i < N);
            assert_false(seen[i]);
            seen[i] = 1;
            admitted++;
            live[n_live++] = i;
            atoms += sizes[i];
            assert_true(atoms <= MAXA);
            assert_true(n_live <= MAXS);
        }
        if (n_live == 0) assert_int_equal(admitted, N); /* an empty batch always takes one */
    }
    bmd__sampler_destroy(s);
    free(seen);
    free(sizes);
}

/* -------------------------------------------------- through the runner */

typedef struct budget_check {
    long max_atoms, max_systems;
    long calls, peak_atoms, peak_systems;
    long n;
    int64_t *uid_of; /* [n] uid the system had in the batch (-1: not seen yet) */
} budget_check;

static budget_check chk;

static bmd_status check_call(void *self, const bmd_hook_ctx *ctx) {
    (void)self;
    const bmd_batch *b = ctx->batch;
    chk.calls++;
    assert_true(b->n_atoms <= chk.max_atoms);
    assert_true(b->n_systems <= chk.max_systems);
    if (b->n_atoms > chk.peak_atoms) chk.peak_atoms = b->n_atoms;
    if (b->n_systems > chk.peak_systems) chk.peak_systems = b->n_systems;
    for (int s = 0; s < b->n_systems; s++) {
        int64_t id = b->system_id[s];
        assert_true(id >= 0 && id < chk.n);
        if (chk.uid_of[id] < 0) chk.uid_of[id] = b->uid[s];
        assert_true(chk.uid_of[id] == b->uid[s]); /* never admitted twice */
    }
    return BMD_OK;
}
static void check_destroy(void *self) { (void)self; }
static const bmd_hook_ops check_ops = {.type = "budget_check", .call = check_call, .destroy = check_destroy};

static bmd_dynamics *dyn(const char *type, const char *name, double value) {
    bmd_dynamics *d = NULL;
    assert_int_equal(bmd_dynamics_create(type, name ? &name : NULL, &value, name ? 1 : 0, &d), BMD_OK);
    return d;
}

/* relax (FIRE) + anneal (Langevin) + md (NVE), with the NaN hook and the check hook. */
static bmd_stage *make_stage(void) {
    bmd_units u = bmd_units_get(BMD_UNITS_METAL);
    bmd_stage *st;
    assert_int_equal(bmd_stage_create(&u, 7, &st), BMD_OK);
    bmd_convergence relax = {1e-3, 0, 40}, anneal = {0, 0, 9}, md = {0, 0, 6};
    assert_int_equal(bmd_stage_add(st, "relax", dyn("fire", NULL, 0), &relax), BMD_OK);
    bmd_dynamics *lgv = NULL;
    const char *names[] = {"dt", "temperature", "friction"};
    double values[] = {1.0, 300.0, 0.05};
    assert_int_equal(bmd_dynamics_create("nvt_langevin", names, values, 3, &lgv), BMD_OK);
    assert_int_equal(bmd_stage_add(st, "anneal", lgv, &anneal), BMD_OK);
    assert_int_equal(bmd_stage_add(st, "md", dyn("nve", "dt", 1.0), &md), BMD_OK);
    bmd_hook *nan = NULL;
    assert_int_equal(bmd_hook_nan_create(&nan), BMD_OK);
    assert_int_equal(bmd_stage_add_hook(st, nan), BMD_OK);
    bmd_hook *h = calloc(1, sizeof *h);
    h->ops = &check_ops;
    h->points = BMD_HOOK_BEFORE_STEP | BMD_HOOK_AFTER_COMPUTE | BMD_HOOK_AFTER_STEP | BMD_HOOK_ON_CONVERGE;
    h->every = 1;
    assert_int_equal(bmd_stage_add_hook(st, h), BMD_OK);
    return st;
}

typedef struct run_out {
    bmd_sink *final, *failed;
    bmd_run_stats stats;
} run_out;

static run_out run_budget(const bmd_dataset *ds, long poison, long max_atoms, long max_systems, long refill,
                          int ordered) {
    long n = bmd_dataset_size(ds);
    chk = (budget_check){max_atoms > 0 ? max_atoms : 1L << 40, max_systems > 0 ? max_systems : 1L << 40, 0, 0, 0, n,
                         malloc((size_t)n * sizeof(int64_t))};
    for (long i = 0; i < n; i++) chk.uid_of[i] = -1;
    harmonic_model *h;
    bmd_model *m = harmonic_model_new(1.0, 0.3, &h);
    h->poison_id = poison;
    bmd_stage *st = make_stage();
    run_out r;
    assert_int_equal(bmd_sink_memory_create(0, &r.final), BMD_OK);
    assert_int_equal(bmd_sink_memory_create(0, &r.failed), BMD_OK);
    bmd_run_options opt = {.max_atoms = max_atoms, .max_systems = max_systems, .refill_every = refill,
                           .ordered = ordered};
    assert_int_equal(bmd_run_inflight(st, m, ds, &opt, r.final, r.failed, &r.stats), BMD_OK);
    /* every structure admitted once (the hook saw each with one uid) */
    for (long i = 0; i < n; i++) assert_true(chk.uid_of[i] >= 0);
    assert_true(n == 0 || chk.calls > 0);
    assert_true(r.stats.peak_atoms <= chk.max_atoms && r.stats.peak_systems <= chk.max_systems);
    assert_true(chk.peak_atoms <= r.stats.peak_atoms);
    assert_int_equal(r.stats.started, n);
    assert_int_equal(r.stats.done + r.stats.failed, n);
    assert_int_equal(r.stats.live, 0);
    free(chk.uid_of);
    bmd_stage_destroy(st);
    harmonic_model_free(m);
    return r;
}

static const bmd_system *find_id(const bmd_sink *k, long id) {
    for (long i = 0; i < bmd_sink_memory_count(k); i++)
        if (bmd_sink_memory_at(k, i)->system_id == id) return bmd_sink_memory_at(k, i);
    return NULL;
}

static int same_bits(const bmd_system *a, const bmd_system *b) {
    size_t n = 3 * (size_t)a->n_atoms * sizeof(double);
    if (a->n_atoms != b->n_atoms || memcmp(a->pos, b->pos, n) || memcmp(&a->energy, &b->energy, sizeof a->energy))
        return 0;
    if (!a->vel || !b->vel || memcmp(a->vel, b->vel, n)) return 0;
    const char *keys[] = {"steps_relax", "converged_relax", "steps_anneal", "steps_md", "status"};
    for (int k = 0; k < 5; k++) {
        const char *x = bmd_info_get(&a->info, keys[k]), *y = bmd_info_get(&b->info, keys[k]);
        if (!x || !y || strcmp(x, y)) return 0;
    }
    return 1;
}

static void test_runner_budgets(void **state) {
    (void)state;
    enum { N = 400, POISON = 123 };
    bmd_system *v = random_systems(N, 60, 2024);
    bmd_dataset *ds;
    assert_int_equal(bmd_dataset_from_systems(v, N, 0, &ds), BMD_OK); /* borrowed */
    /* roomy reference, then tight budgets and odd rhythms */
    run_out ref = run_budget(ds, POISON, 0, 0, 5, 0);
    assert_int_equal(ref.stats.failed, 1);
    const bmd_system *bad = bmd_sink_memory_at(ref.failed, 0);
    assert_int_equal(bad->system_id, POISON);
    assert_string_equal(bmd_info_get(&bad->info, "status"), "nan_or_inf");
    long budgets[][4] = {{60, 1000, 1, 0}, {60, 1, 3, 1}, {97, 4, 2, 1}, {150, 1000, 7, 0}, {5000, 25, 1, 1}};
    for (int c = 0; c < 5; c++) {
        run_out r = run_budget(ds, POISON, budgets[c][0], budgets[c][1], budgets[c][2], (int)budgets[c][3]);
        assert_int_equal(r.stats.failed, 1);
        assert_int_equal(bmd_sink_memory_at(r.failed, 0)->system_id, POISON);
        assert_int_equal(bmd_sink_memory_count(r.final), N - 1);
        for (long id = 0; id < N; id++) {
            if (id == POISON) {
                assert_null(find_id(r.final, id));
                continue;
            }
            const bmd_system *a = find_id(ref.final, id), *b = find_id(r.final, id);
            assert_non_null(a);
            assert_non_null(b);
            assert_true(same_bits(a, b));
            assert_string_equal(bmd_info_get(&b->info, "status"), "done");
        }
        if (budgets[c][3]) /* ordered: input order, the failed id a gap */
            for (long i = 0; i < N - 1; i++)
                assert_int_equal(bmd_sink_memory_at(r.final, i)->system_id, i < POISON ? i : i + 1);
        bmd_sink_destroy(r.final);
        bmd_sink_destroy(r.failed);
    }
    bmd_sink_destroy(ref.final);
    bmd_sink_destroy(ref.failed);
    bmd_dataset_close(ds);
    free_systems(v, N);
}

/* The tight budget interleaves: output order differs from input order, so
 * the ordered option has something to do. */
static void test_runner_reorders(void **state) {
    (void)state;
    enum { N = 60 };
    bmd_system *v = random_systems(N, 40, 5);
    bmd_dataset *ds;
    assert_int_equal(bmd_dataset_from_systems(v, N, 1, &ds), BMD_OK);
    free_systems(v, N);
    run_out r = run_budget(ds, -1, 50, 1000, 1, 0);
    int in_order = 1;
    for (long i = 0; i < N; i++) in_order &= bmd_sink_memory_at(r.final, i)->system_id == i;
    assert_false(in_order);
    bmd_sink_destroy(r.final);
    bmd_sink_destroy(r.failed);
    bmd_dataset_close(ds);
}

static void expect_refusal(bmd_dataset *ds, long max_atoms, bmd_status code, const char *needle1,
                           const char *needle2) {
    harmonic_model *h;
    bmd_model *m = harmonic_model_new(1.0, 0.3, &h);
    chk = (budget_check){max_atoms, 1000, 0, 0, 0, bmd_dataset_size(ds), calloc(1, 1)};
    bmd_stage *st = make_stage();
    bmd_sink *final, *failed;
    bmd_sink_memory_create(0, &final);
    bmd_sink_memory_create(0, &failed);
    bmd_run_options opt = {.max_atoms = max_atoms, .max_systems = 1000, .refill_every = 1};
    bmd_run_stats stats;
    assert_int_equal(bmd_run_inflight(st, m, ds, &opt, final, failed, &stats), code);
    const char *msg = bmd_last_error();
    if (!strstr(msg, needle1) || !strstr(msg, needle2))
        fail_msg("message '%s' lacks '%s' or '%s'", msg, needle1, needle2);
    /* refused before any step: nothing ran, nothing written */
    assert_int_equal(chk.calls, 0);
    assert_int_equal(h->calls, 0);
    assert_int_equal(stats.loop_steps, 0);
    assert_int_equal(bmd_sink_memory_count(final) + bmd_sink_memory_count(failed), 0);
    free(chk.uid_of);
    bmd_sink_destroy(final);
    bmd_sink_destroy(failed);
    bmd_stage_destroy(st);
    harmonic_model_free(m);
}

static void test_too_large(void **state) {
    (void)state;
    enum { N = 30 };
    bmd_system *v = random_systems(N, 60, 3);
    bmd_system_free(&v[17]);
    v[17] = ring(61);
    bmd_dataset *ds;
    assert_int_equal(bmd_dataset_from_systems(v, N, 0, &ds), BMD_OK);
    expect_refusal(ds, 60, BMD_ERR_BUDGET, "structure 17 ", "61 atoms");
    bmd_dataset_close(ds);
    /* an empty structure */
    bmd_system_free(&v[5]);
    bmd_system_alloc(&v[5], 0);
    assert_int_equal(bmd_dataset_from_systems(v, N, 0, &ds), BMD_OK);
    expect_refusal(ds, 100, BMD_ERR_INVALID, "structure 5 ", "no atoms");
    bmd_dataset_close(ds);

    /* from a file: the message names file:line */
    char path[] = "/tmp/bmd_test_sampler_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    bmd_sink *k;
    assert_int_equal(bmd_sink_extxyz_create(path, BMD_UNITS_METAL, &k), BMD_OK);
    for (int i = 15; i < 18; i++) assert_int_equal(bmd_sink_write(k, &v[i]), BMD_OK); /* 17 has 61 atoms */
    assert_int_equal(bmd_sink_destroy(k), BMD_OK);
    const char *paths[] = {path};
    assert_int_equal(bmd_dataset_open_extxyz(paths, 1, BMD_UNITS_METAL, &ds), BMD_OK);
    assert_int_equal(bmd_dataset_size(ds), 3);
    assert_int_equal(bmd_dataset_atoms(ds, 2), 61);
    char line[64];
    snprintf(line, sizeof line, ":%d)", 2 + v[15].n_atoms + 2 + v[16].n_atoms + 1);
    expect_refusal(ds, 60, BMD_ERR_BUDGET, path, line);
    bmd_dataset_close(ds);
    remove(path);
    free_systems(v, N);
}

/* The dataset interface: metadata without loading, get sets system_id,
 * copies are deep, ranges are checked. */
static void test_dataset_memory(void **state) {
    (void)state;
    bmd_system *v = random_systems(4, 9, 8);
    v[2].system_id = 77;
    bmd_dataset *ds;
    assert_int_equal(bmd_dataset_from_systems(v, 4, 1, &ds), BMD_OK);
    assert_int_equal(bmd_dataset_size(ds), 4);
    bmd_dataset_meta m;
    assert_int_equal(bmd_dataset_meta_get(ds, 2, &m), BMD_OK);
    assert_int_equal(m.n_atoms, v[2].n_atoms);
    assert_int_equal(m.n_edges, -1);
    assert_int_equal(bmd_dataset_atoms(ds, 4), -1);
    assert_int_equal(bmd_dataset_meta_get(ds, -1, &m), BMD_ERR_INVALID);
    bmd_system s;
    assert_int_equal(bmd_dataset_get(ds, 2, &s), BMD_OK);
    assert_int_equal(s.system_id, 2);
    assert_memory_equal(s.pos, v[2].pos, 3 * (size_t)s.n_atoms * sizeof(double));
    assert_true(s.pos != v[2].pos);
    bmd_system_free(&s);
    assert_int_equal(bmd_dataset_get(ds, 4, &s), BMD_ERR_INVALID);
    char buf[64];
    bmd_dataset_describe(ds, 3, buf, sizeof buf);
    assert_string_equal(buf, "structure 3");
    free_systems(v, 4); /* the copy stays valid */
    assert_int_equal(bmd_dataset_get(ds, 0, &s), BMD_OK);
    bmd_system_free(&s);
    bmd_dataset_close(ds);
    bmd_dataset_close(NULL);
    /* an empty dataset runs to an empty result */
    assert_int_equal(bmd_dataset_from_systems(NULL, 0, 1, &ds), BMD_OK);
    run_out r = run_budget(ds, -1, 10, 10, 1, 1);
    assert_int_equal(r.stats.total, 0);
    assert_int_equal(bmd_sink_memory_count(r.final), 0);
    bmd_sink_destroy(r.final);
    bmd_sink_destroy(r.failed);
    bmd_dataset_close(ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_head_then_largest),
        cmocka_unit_test(test_policy_no_starvation),
        cmocka_unit_test(test_policy_random),
        cmocka_unit_test(test_dataset_memory),
        cmocka_unit_test(test_runner_budgets),
        cmocka_unit_test(test_runner_reorders),
        cmocka_unit_test(test_too_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
