/* test_threads_pair.c — within-system threading of the pair models: a system
 * big enough to be shared by all threads (an Ar fcc crystal, 6912 atoms,
 * perturbed) and a small one, computed with 1 and 2 OpenMP threads:
 *   - each thread count gives the same bits on every call (deterministic);
 *   - with T threads a system's bits do not depend on its batch: alone, or
 *     after small systems and beside a second big one, and after a list
 *     built elsewhere (0.4 Å off, still valid back home);
 *   - 1 and 2 threads agree to rounding (1e-10 relative). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batchmd/batch.h"
#include "batchmd/model.h"
#ifdef _OPENMP
#include <omp.h>
#endif

#define AR 18

static void make_fcc(bmd_system *s, int nc, unsigned seed) {
    const double a = 5.26;
    assert_int_equal(bmd_system_alloc(s, 4 * nc * nc * nc), 0);
    const double b[4][3] = {{0, 0, 0}, {.5, .5, 0}, {.5, 0, .5}, {0, .5, .5}};
    int q = 0;
    srand(seed);
    for (int i = 0; i < nc; i++)
        for (int j = 0; j < nc; j++)
            for (int k = 0; k < nc; k++)
                for (int u = 0; u < 4; u++) {
                    const int c[3] = {i, j, k};
                    for (int d = 0; d < 3; d++)
                        s->pos[3 * q + d] = (c[d] + b[u][d]) * a + 0.3 * (rand() / (double)RAND_MAX - 0.5);
                    s->Z[q] = AR;
                    s->mass[q] = 39.948;
                    q++;
                }
    memset(s->cell, 0, sizeof s->cell);
    s->cell[0] = s->cell[4] = s->cell[8] = nc * a;
    s->pbc[0] = s->pbc[1] = s->pbc[2] = 1;
}

typedef struct result {
    double e, w[6];
    double *f;
} result;

/* computes every system of the batch; copies slot s's outputs into r */
static void compute(bmd_model *m, bmd_batch *b, int s, result *r) {
    double *e = calloc((size_t)b->n_systems, sizeof *e), *w = calloc(6 * (size_t)b->n_systems, sizeof *w);
    double *f = calloc(3 * (size_t)b->n_atoms, sizeof *f);
    bmd_compute_request req = {NULL, e, f, w, NULL};
    assert_int_equal(bmd_model_compute(m, b, &req), 0);
    const int n = b->atom_count[s];
    r->e = e[s];
    memcpy(r->w, w + 6 * s, sizeof r->w);
    r->f = malloc(3 * (size_t)n * sizeof(double));
    memcpy(r->f, f + 3 * (size_t)b->atom_start[s], 3 * (size_t)n * sizeof(double));
    free(e);
    free(w);
    free(f);
}

static void same_bits(const result *a, const result *b, int n) {
    assert_memory_equal(&a->e, &b->e, sizeof a->e);
    assert_memory_equal(a->w, b->w, sizeof a->w);
    assert_memory_equal(a->f, b->f, 3 * (size_t)n * sizeof(double));
}

static bmd_model *lj(void) {
    const bmd_pair_params p = {AR, AR, {0.0104, 3.40, 0}, 8.5};
    const bmd_pair_options o = {1.0, 1, 0};
    bmd_model *m = NULL;
    assert_int_equal(bmd_model_lj_create(&p, 1, &o, &m), 0);
    return m;
}

static void run_threads(int nt, result *alone_big, result *alone_small) {
#ifdef _OPENMP
    omp_set_num_threads(nt);
#else
    (void)nt;
#endif
    bmd_system big, small, big2;
    make_fcc(&big, 12, 1);  /* 6912 atoms: shared by the threads */
    make_fcc(&small, 2, 2); /* 32 atoms: one thread */
    make_fcc(&big2, 11, 3);
    const int nbig = big.n_atoms, nsmall = small.n_atoms;

    /* alone, twice (deterministic) */
    bmd_model *m = lj();
    bmd_batch *b;
    assert_int_equal(bmd_batch_create(&b), 0);
    assert_int_equal(bmd_batch_append(b, &big, NULL), 0);
    compute(m, b, 0, alone_big);
    result again;
    compute(m, b, 0, &again);
    same_bits(alone_big, &again, nbig);
    free(again.f);
    /* a list built elsewhere: far away (rebuilt), then 0.4 Å off (rebuilt
     * there), then back home (kept: 0.4 + 0.4 <= skin) */
    for (int i = 0; i < 3 * nbig; i++) b->pos[i] = big.pos[i] + 2.0;
    compute(m, b, 0, &again);
    free(again.f);
    for (int i = 0; i < 3 * nbig; i++) b->pos[i] = big.pos[i] + 0.4;
    compute(m, b, 0, &again);
    free(again.f);
    for (int i = 0; i < 3 * nbig; i++) b->pos[i] = big.pos[i];
    compute(m, b, 0, &again);
    same_bits(alone_big, &again, nbig);
    free(again.f);
    bmd_batch_destroy(b);
    bmd_model_destroy(m);

    m = lj();
    assert_int_equal(bmd_batch_create(&b), 0);
    assert_int_equal(bmd_batch_append(b, &small, NULL), 0);
    compute(m, b, 0, alone_small);
    bmd_batch_destroy(b);
    bmd_model_destroy(m);

    /* in a batch: small systems first, the big one, another big one */
    m = lj();
    assert_int_equal(bmd_batch_create(&b), 0);
    for (int k = 0; k < 5; k++) assert_int_equal(bmd_batch_append(b, &small, NULL), 0);
    int slot;
    assert_int_equal(bmd_batch_append(b, &big, &slot), 0);
    assert_int_equal(bmd_batch_append(b, &big2, NULL), 0);
    result in_batch;
    compute(m, b, slot, &in_batch);
    same_bits(alone_big, &in_batch, nbig);
    free(in_batch.f);
    compute(m, b, 2, &in_batch);
    same_bits(alone_small, &in_batch, nsmall);
    free(in_batch.f);
    bmd_batch_destroy(b);
    bmd_model_destroy(m);
    bmd_system_free(&big);
    bmd_system_free(&small);
    bmd_system_free(&big2);
}

static void test_threads(void **state) {
    (void)state;
    result b1, s1, b2, s2;
    run_threads(1, &b1, &s1);
    run_threads(2, &b2, &s2);
    /* small systems never split: same bits whatever the thread count */
    same_bits(&s1, &s2, 32);
    /* the big one: the same to rounding */
    assert_true(fabs(b1.e - b2.e) <= 1e-10 * fabs(b1.e));
    double fmax = 0, dmax = 0;
    for (int i = 0; i < 3 * 6912; i++) {
        fmax = fmax > fabs(b1.f[i]) ? fmax : fabs(b1.f[i]);
        dmax = dmax > fabs(b1.f[i] - b2.f[i]) ? dmax : fabs(b1.f[i] - b2.f[i]);
    }
    assert_true(dmax <= 1e-10 * fmax);
    for (int c = 0; c < 6; c++) assert_true(fabs(b1.w[c] - b2.w[c]) <= 1e-10 * fabs(b1.w[0]));
    free(b1.f);
    free(s1.f);
    free(b2.f);
    free(s2.f);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_threads)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
