/* test_npt_entry.c — how systems enter npt_mtk and nph (npt_mtk.c) on a
 * Lennard-Jones model (units lj):
 *  - a system that arrives with valid forces but no stress (handed over,
 *    or resumed, from a stage that did not ask for the virial, as in the
 *    pipeline "md | npt") is evaluated again before it enters, and runs;
 *  - a cell not periodic along a, b and c leaves as not_periodic, the rest
 *    of the batch goes on;
 *  - nph: a system at rest without ptemp leaves as invalid_param_ptemp
 *    (LAMMPS's nph refuses a temperature below 1e-6 for its masses), and
 *    with ptemp it runs;
 *  - E_ext on entry is P V (the chains and the barostat at rest);
 *  - a system's bits do not depend on the systems beside it in its batch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "batchmd/batch.h"
#include "batchmd/dynamics.h"
#include "batchmd/model.h"

static bmd_model *lj(void) {
    bmd_pair_params pp = {0, 0, {1.0, 1.0, 0}, 2.5};
    bmd_pair_options opt = {0.3, 1, 1};
    bmd_model *m = NULL;
    assert_int_equal(bmd_model_lj_create(&pp, 1, &opt, &m), BMD_OK);
    return m;
}

/* fcc, 32 atoms at ρ 0.9 (L = 3.29σ: images within the cutoff), jittered,
 * velocities v_i = 0.5 (sin, cos, sin) of i (or at rest). */
static int append_fcc(bmd_batch *b, int periodic, int at_rest) {
    bmd_system s;
    assert_int_equal(bmd_system_alloc(&s, 32), BMD_OK);
    assert_int_equal(bmd_system_ensure_vel(&s), BMD_OK);
    const double a = cbrt(4.0 / 0.9);
    static const double basis[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
    int i = 0;
    for (int x = 0; x < 2; x++)
        for (int y = 0; y < 2; y++)
            for (int z = 0; z < 2; z++)
                for (int k = 0; k < 4; k++, i++) {
                    s.pos[3 * i] = a * (x + basis[k][0]) + 0.02 * sin(i);
                    s.pos[3 * i + 1] = a * (y + basis[k][1]) + 0.02 * cos(3 * i);
                    s.pos[3 * i + 2] = a * (z + basis[k][2]);
                    s.Z[i] = 18;
                    s.mass[i] = 1.0;
                    for (int d = 0; d < 3; d++) s.vel[3 * i + d] = at_rest ? 0.0 : 0.5 * (d == 1 ? cos(i + d) : sin(i + d));
                }
    memset(s.cell, 0, sizeof s.cell);
    s.cell[0] = s.cell[4] = s.cell[8] = 2 * a;
    s.pbc[0] = s.pbc[1] = 1;
    s.pbc[2] = (unsigned char)periodic;
    int slot = -1;
    assert_int_equal(bmd_batch_append(b, &s, &slot), BMD_OK);
    b->system_id[slot] = slot;
    bmd_system_free(&s);
    return slot;
}

static bmd_stage *stage_of(const char *type, const char *const *names, const double *values, int n, long steps) {
    const bmd_units u = bmd_units_get(BMD_UNITS_LJ);
    bmd_stage *st = NULL;
    bmd_dynamics *d = NULL;
    bmd_convergence conv = {0, 0, steps};
    assert_int_equal(bmd_dynamics_create(type, names, values, n, &d), BMD_OK);
    assert_true(d->needs & BMD_NEEDS_VIRIAL);
    assert_true(d->needs & BMD_MOVES_CELL);
    assert_int_equal(bmd_stage_create(&u, 1, &st), BMD_OK);
    assert_int_equal(bmd_stage_add(st, "npt", d, &conv), BMD_OK);
    return st;
}

static const char *const npt_names[] = {"dt", "temperature", "pressure", "tdamp", "pdamp"};
static const double npt_values[] = {0.005, 1.0, 2.0, 0.1, 0.5};

static double eext(const bmd_batch *b, const char *col, int s) {
    const int c = bmd_batch_find_column(b, col);
    assert_true(c >= 0);
    return bmd_batch_column_data(b, c)[(size_t)(s + 1) * b->columns[c].width - 1];
}

static void test_arrives_without_stress(void **state) {
    (void)state;
    bmd_model *m = lj();
    bmd_batch *b = NULL;
    assert_int_equal(bmd_batch_create(&b), BMD_OK);
    const int s = append_fcc(b, 1, 0);
    /* forces of the model at these positions, without the virial: what a
     * system handed over by an nve stage carries */
    double E[1];
    bmd_compute_request req = {NULL, E, b->force, NULL, NULL};
    assert_int_equal(bmd_model_compute(m, b, &req), BMD_OK);
    b->energy[s] = E[0];
    b->forces_valid[s] = 1;
    b->stress_valid[s] = 0;
    bmd_stage *st = stage_of("npt_mtk", npt_names, npt_values, 5, 3);
    const double v0 = bmd_batch_volume(b, s);
    assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
    assert_int_equal(b->status[s], 0);
    assert_true(b->stress_valid[s]);
    assert_true(bmd_batch_volume(b, s) != v0); /* the barostat moved the cell */
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    bmd_model_destroy(m);
}

static void test_not_periodic(void **state) {
    (void)state;
    bmd_model *m = lj();
    bmd_batch *b = NULL;
    assert_int_equal(bmd_batch_create(&b), BMD_OK);
    const int open = append_fcc(b, 0, 0), closed = append_fcc(b, 1, 0);
    bmd_stage *st = stage_of("npt_mtk", npt_names, npt_values, 5, 2);
    assert_int_equal(bmd_stage_run(st, b, m, 10), BMD_OK);
    assert_int_equal(b->status[open], BMD_STATUS_FAILED);
    assert_string_equal(bmd_info_get(&b->info[open], "status"), "not_periodic");
    assert_int_equal(b->status[closed], 1); /* finished its 2 steps */
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    bmd_model_destroy(m);
}

static void test_nph_at_rest(void **state) {
    (void)state;
    bmd_model *m = lj();
    bmd_batch *b = NULL;
    assert_int_equal(bmd_batch_create(&b), BMD_OK);
    const int rest = append_fcc(b, 1, 1), given = append_fcc(b, 1, 1);
    assert_int_equal(bmd_info_set(&b->info[given], "ptemp", "0.8"), BMD_OK);
    static const char *const names[] = {"dt", "pressure", "pdamp"};
    static const double values[] = {0.005, 2.0, 0.5};
    bmd_stage *st = stage_of("nph", names, values, 3, 2);
    assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
    assert_int_equal(b->status[rest], BMD_STATUS_FAILED);
    assert_string_equal(bmd_info_get(&b->info[rest], "status"), "invalid_param_ptemp");
    assert_int_equal(b->status[given], 0);
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    bmd_model_destroy(m);
}

static void test_eext_on_entry(void **state) {
    (void)state;
    bmd_model *m = lj();
    bmd_batch *b = NULL;
    assert_int_equal(bmd_batch_create(&b), BMD_OK);
    const int s = append_fcc(b, 1, 0);
    static const char *const names[] = {"dt", "temperature", "pressure"};
    static const double values[] = {0.005, 1.0, 2.0};
    bmd_stage *st = stage_of("npt_mtk", names, values, 3, 0); /* steps 0: enters and leaves at step 0 */
    const double v0 = bmd_batch_volume(b, s);
    assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
    assert_int_equal(b->status[s], 1);
    assert_true(fabs(eext(b, "npt_mtk.0.st", s) - 2.0 * v0) <= 1e-12 * 2.0 * v0);
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    bmd_model_destroy(m);
}

/* Batch independence: a system's bits do not depend on who shares its
 * batch (here two others at their own temperature and pressure), nor on its
 * slot: npt_mtk tri, 20 steps. */
static void run_tri(bmd_batch *b, bmd_model *m) {
    static const char *const names[] = {"dt", "temperature", "pressure", "tdamp", "pdamp", "couple"};
    static const double values[] = {0.005, 1.0, 2.0, 0.1, 0.5, 2};
    bmd_stage *st = stage_of("npt_mtk", names, values, 6, 20);
    assert_int_equal(bmd_stage_run(st, b, m, 30), BMD_OK);
    bmd_stage_destroy(st);
}

static void test_batch_independence(void **state) {
    (void)state;
    bmd_model *m = lj();
    bmd_batch *alone = NULL, *shared = NULL;
    assert_int_equal(bmd_batch_create(&alone), BMD_OK);
    assert_int_equal(bmd_batch_create(&shared), BMD_OK);
    const int a = append_fcc(alone, 1, 0);
    const int x = append_fcc(shared, 1, 0), y = append_fcc(shared, 1, 0), s = append_fcc(shared, 1, 0);
    assert_int_equal(bmd_info_set(&shared->info[x], "temperature", "1.4"), BMD_OK);
    assert_int_equal(bmd_info_set(&shared->info[y], "pressure", "0.5"), BMD_OK);
    run_tri(alone, m);
    run_tri(shared, m);
    assert_int_equal(alone->status[a], 1);
    assert_int_equal(shared->status[s], 1);
    const size_t n3 = 3 * (size_t)alone->atom_count[a];
    assert_memory_equal(alone->pos + 3 * (size_t)alone->atom_start[a], shared->pos + 3 * (size_t)shared->atom_start[s],
                        n3 * sizeof(double));
    assert_memory_equal(alone->vel + 3 * (size_t)alone->atom_start[a], shared->vel + 3 * (size_t)shared->atom_start[s],
                        n3 * sizeof(double));
    assert_memory_equal(alone->cell + 9 * (size_t)a, shared->cell + 9 * (size_t)s, 9 * sizeof(double));
    assert_true(eext(alone, "npt_mtk.0.st", a) == eext(shared, "npt_mtk.0.st", s));
    /* and the neighbours did run at their own state points */
    assert_memory_not_equal(shared->cell + 9 * (size_t)x, shared->cell + 9 * (size_t)s, 9 * sizeof(double));
    assert_memory_not_equal(shared->cell + 9 * (size_t)y, shared->cell + 9 * (size_t)s, 9 * sizeof(double));
    bmd_batch_destroy(alone);
    bmd_batch_destroy(shared);
    bmd_model_destroy(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arrives_without_stress),
        cmocka_unit_test(test_not_periodic),
        cmocka_unit_test(test_nph_at_rest),
        cmocka_unit_test(test_eext_on_entry),
        cmocka_unit_test(test_batch_independence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
