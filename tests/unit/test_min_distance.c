/* test_min_distance.c — the closest pair of a structure
 * (bmd_system_closest_pair: free and periodic, orthogonal and triclinic
 * cells against brute force over images, an atom near its own image,
 * refusals) and the min_distance hook, which takes out a structure with
 * overlapping atoms as "atoms_too_close" before the NaN detector sees it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "support/harmonic_model.h"

static void make(bmd_system *s, int n, const double *pos, const double *cell, const char *pbc) {
    assert_int_equal(bmd_system_alloc(s, n), BMD_OK);
    for (int i = 0; i < n; i++) s->Z[i] = 18;
    memcpy(s->pos, pos, 3 * (size_t)n * sizeof(double));
    if (cell) memcpy(s->cell, cell, sizeof s->cell);
    for (int k = 0; k < 3; k++) s->pbc[k] = pbc[k] == 'T';
}

/* The closest pair over images -3..3 on periodic axes (test cells are thick enough). */
static double brute(const bmd_system *s) {
    double best = INFINITY;
    int m[3];
    for (int k = 0; k < 3; k++) m[k] = s->pbc[k] ? 3 : 0;
    for (int i = 0; i < s->n_atoms; i++)
        for (int j = i; j < s->n_atoms; j++)
            for (int a = -m[0]; a <= m[0]; a++)
                for (int b = -m[1]; b <= m[1]; b++)
                    for (int c = -m[2]; c <= m[2]; c++) {
                        if (i == j && !a && !b && !c) continue;
                        double r2 = 0;
                        for (int d = 0; d < 3; d++) {
                            double x = s->pos[3 * j + d] + a * s->cell[d] + b * s->cell[3 + d] + c * s->cell[6 + d] -
                                       s->pos[3 * i + d];
                            r2 += x * x;
                        }
                        if (r2 < best * best) best = sqrt(r2);
                    }
    return best;
}

static void test_free_and_overlapping(void **state) {
    (void)state;
    bmd_system s;
    const double p[] = {0, 0, 0, 3, 0, 0, 0, 2.5, 0};
    make(&s, 3, p, NULL, "FFF");
    double d;
    int i, j;
    assert_int_equal(bmd_system_closest_pair(&s, 10.0, &d, &i, &j), BMD_OK);
    assert_true(fabs(d - 2.5) < 1e-15);
    assert_int_equal(i, 0);
    assert_int_equal(j, 2);
    assert_int_equal(bmd_system_closest_pair(&s, 2.0, &d, &i, &j), BMD_OK); /* none closer than 2 */
    assert_true(isinf(d));
    assert_int_equal(i, -1);
    assert_int_equal(j, -1);
    memcpy(s.pos + 6, s.pos + 3, 3 * sizeof(double)); /* atom 2 on atom 1 */
    assert_int_equal(bmd_system_closest_pair(&s, 0.5, &d, &i, &j), BMD_OK);
    assert_true(d == 0.0);
    assert_int_equal(i, 1);
    assert_int_equal(j, 2);
    bmd_system_free(&s);
}

static void test_periodic(void **state) {
    (void)state;
    bmd_system s;
    const double cube[] = {10, 0, 0, 0, 10, 0, 0, 0, 10};
    const double p[] = {0.1, 5, 5, 9.95, 5, 5};
    make(&s, 2, p, cube, "TTT");
    double d;
    assert_int_equal(bmd_system_closest_pair(&s, 1.0, &d, NULL, NULL), BMD_OK);
    assert_true(fabs(d - 0.15) < 1e-12); /* across the face */
    s.pbc[0] = 0;
    assert_int_equal(bmd_system_closest_pair(&s, 1.0, &d, NULL, NULL), BMD_OK);
    assert_true(isinf(d)); /* not periodic along x: 9.85 apart */
    bmd_system_free(&s);
    /* an atom and its own image in a cell smaller than the range */
    const double small[] = {0.8, 0, 0, 0, 5, 0, 0, 0, 5};
    const double one[] = {0.3, 1, 1};
    int i, j;
    make(&s, 1, one, small, "TTT");
    assert_int_equal(bmd_system_closest_pair(&s, 1.0, &d, &i, &j), BMD_OK);
    assert_true(fabs(d - 0.8) < 1e-12);
    assert_int_equal(i, 0);
    assert_int_equal(j, 0);
    bmd_system_free(&s);
}

static void test_triclinic_vs_brute_force(void **state) {
    (void)state;
    const double cells[][9] = {
        {6, 0, 0, 3, 5.2, 0, 1, 1, 5.5},      /* sheared */
        {-6, 0, 0, -1, 6, 0, -0.5, 0.5, 7},   /* left-handed */
        {7, 0, 0, 0, 7, 0, 0, 0, 7},
    };
    const char *pbcs[] = {"TTT", "TTF", "FTT", "FFF"};
    uint64_t x = 12345;
    for (size_t c = 0; c < sizeof cells / sizeof cells[0]; c++) {
        for (size_t q = 0; q < sizeof pbcs / sizeof pbcs[0]; q++) {
            double p[3 * 12];
            for (int k = 0; k < 3 * 12; k++) { /* positions inside and a little outside the cell */
                x = x * 6364136223846793005ULL + 1442695040888963407ULL;
                p[k] = ((double)(x >> 11) / 9007199254740992.0) * 8.0 - 1.0;
            }
            bmd_system s;
            make(&s, 12, p, cells[c], pbcs[q]);
            double want = brute(&s), d;
            assert_int_equal(bmd_system_closest_pair(&s, 2.5, &d, NULL, NULL), BMD_OK);
            if (want < 2.5) assert_true(fabs(d - want) < 1e-12);
            else assert_true(isinf(d));
            bmd_system_free(&s);
        }
    }
}

static void test_refusals(void **state) {
    (void)state;
    bmd_system s;
    const double p[] = {0, 0, 0, 1, 0, 0};
    make(&s, 2, p, NULL, "FFF");
    double d;
    assert_int_equal(bmd_system_closest_pair(&s, 0.0, &d, NULL, NULL), BMD_ERR_INVALID);
    assert_int_equal(bmd_system_closest_pair(&s, NAN, &d, NULL, NULL), BMD_ERR_INVALID);
    s.pos[3] = NAN;
    assert_int_equal(bmd_system_closest_pair(&s, 1.0, &d, NULL, NULL), BMD_ERR_NUMERIC);
    s.pos[3] = 1e308;
    assert_int_equal(bmd_system_closest_pair(&s, 1.0, &d, NULL, NULL), BMD_ERR_NUMERIC);
    s.pos[3] = 1;
    s.pbc[0] = 1; /* periodic along x with no cell */
    assert_int_equal(bmd_system_closest_pair(&s, 1.0, &d, NULL, NULL), BMD_ERR_INVALID);
    assert_true(isinf(d));
    assert_int_equal(bmd_system_closest_pair(NULL, 1.0, &d, NULL, NULL), BMD_ERR_INVALID);
    bmd_system_free(&s);
    assert_int_equal(bmd_hook_min_distance_create(0.0, &(bmd_hook *){NULL}), BMD_ERR_INVALID);
}

/* Three systems, the middle one with two atoms on the same site: the hook
 * (added before the NaN detector) takes it out as atoms_too_close at its
 * first step; the others run on, and a system already seen is not
 * checked again (its atoms may come close later). */
static void test_hook(void **state) {
    (void)state;
    bmd_units u = bmd_units_get(BMD_UNITS_METAL);
    bmd_model *m = harmonic_model_new(1.0, 0.5, NULL);
    bmd_batch *b;
    bmd_batch_create(&b);
    for (int s = 0; s < 3; s++) {
        double x[9] = {0, 0, 0, 2, 0.1, 0, 4, 0, 0.2};
        if (s == 1) memcpy(x + 3, x, 3 * sizeof(double));
        harmonic_append(b, 3, 39.948, x, NULL, NULL, s);
    }
    bmd_stage *st;
    bmd_stage_create(&u, 1, &st);
    const char *names[] = {"dt"};
    const double vals[] = {1.0};
    bmd_dynamics *d = NULL;
    assert_int_equal(bmd_dynamics_create("nve", names, vals, 1, &d), BMD_OK);
    bmd_convergence c = {0, 0, 5};
    bmd_stage_add(st, "md", d, &c);
    bmd_hook *h;
    assert_int_equal(bmd_hook_min_distance_create(0.5, &h), BMD_OK);
    assert_int_equal(bmd_stage_add_hook(st, h), BMD_OK);
    assert_int_equal(bmd_hook_nan_create(&h), BMD_OK);
    assert_int_equal(bmd_stage_add_hook(st, h), BMD_OK);
    assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
    assert_int_equal(b->status[1], BMD_STATUS_FAILED);
    assert_string_equal(bmd_info_get(&b->info[1], "status"), "atoms_too_close");
    assert_true(b->status[0] >= 0 && b->status[2] >= 0);
    /* seen once: moving atom 1 of system 0 onto atom 0 now goes unnoticed */
    memcpy(b->pos + 3 * (size_t)(b->atom_start[0] + 1), b->pos + 3 * (size_t)b->atom_start[0], 3 * sizeof(double));
    assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
    assert_true(b->status[0] >= 0);
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    harmonic_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_free_and_overlapping),
        cmocka_unit_test(test_periodic),
        cmocka_unit_test(test_triclinic_vs_brute_force),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_hook),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
