/* test_constraints.c — the pieces of the stage's constraints (dynamics.h,
 * src/dynamics/constraints.h) on their own:
 * - N_f (bmd_dof_count) as ASE 3.22 counts it: 3N minus FixAtoms' 3 per
 *   fixed atom (get_removed_dof) minus FixCom's 3 (BMD_DOF_FIX_COM); the
 *   momentum-conserving rule loses its 3 with fixed atoms;
 * - fixed atoms through the batch: append, compaction around them, extract;
 * - forces held at zero and given back bit for bit;
 * - a fixed atom put back after an update: bit for bit under an unchanged
 *   cell; under a changed cell at the same fractional coordinates in the new
 *   cell as it had in the old one (ASE's set_cell(scale_atoms=True)), to
 *   1e-13 Å; its velocity zeroed; free atoms untouched;
 * - the free atoms' centre-of-mass momentum removed (fixed ones left at 0);
 * - Maxwell–Boltzmann velocities with fixed atoms: at rest, and T exact over
 *   3 N_free (BMD_DOF_ALL), 3 N_free − 3 with zero momentum (BMD_DOF_FIX_COM). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batchmd/batchmd.h"
#include "dynamics/constraints.h"

/* A system of n atoms (mixed masses, spread positions, random-ish
 * velocities and forces) with the atoms in fixed[] (k of them) fixed. */
static int add(bmd_batch *b, int n, const int *fixed, int k, long id) {
    bmd_system s;
    assert_int_equal(bmd_system_alloc(&s, n), BMD_OK);
    assert_int_equal(bmd_system_ensure_vel(&s), BMD_OK);
    for (int i = 0; i < n; i++) {
        s.Z[i] = 18;
        s.mass[i] = 10.0 + (i % 5);
        for (int d = 0; d < 3; d++) {
            s.pos[3 * i + d] = 1.7 * i + 0.3 * d + 0.01 * id;
            s.vel[3 * i + d] = 0.01 * sin(1.3 * i + 2.1 * d + id);
        }
    }
    if (k) {
        assert_int_equal(bmd_system_ensure_fixed(&s), BMD_OK);
        for (int j = 0; j < k; j++) s.fixed[fixed[j]] = 1;
    }
    double cell[9] = {12, 0, 0, 1, 11, 0, 0.5, -0.7, 13};
    memcpy(s.cell, cell, sizeof cell);
    s.pbc[0] = s.pbc[1] = s.pbc[2] = 1;
    s.system_id = id;
    int slot = -1;
    assert_int_equal(bmd_batch_append(b, &s, &slot), BMD_OK);
    for (int a = 0; a < n; a++)
        for (int d = 0; d < 3; d++) b->force[3 * (b->atom_start[slot] + a) + d] = cos(0.7 * a + d + id);
    bmd_system_free(&s);
    return slot;
}

static int is_fixed(const bmd_batch *b, int s, int i) {
    const double *fx = bmd_batch_fixed(b, s);
    return fx && fx[i] != 0;
}

static void test_dof_count(void **state) {
    (void)state;
    /* ASE: dof = 3N − Σ constraint.get_removed_dof(): FixAtoms 3 per atom, FixCom 3 */
    for (int n = 1; n <= 9; n++)
        for (int k = 0; k < n; k++) {
            assert_int_equal(bmd_dof_count(BMD_DOF_ALL, n, k), 3 * n - 3 * k);
            assert_int_equal(bmd_dof_count(BMD_DOF_FIX_COM, n, k), 3 * n - 3 * k - 3);
            /* momentum conserved without fixed atoms only (3 for a lone atom) */
            assert_int_equal(bmd_dof_count(BMD_DOF_MOMENTUM, n, k), k == 0 && n > 1 ? 3 * n - 3 : 3 * n - 3 * k);
        }
    assert_int_equal(bmd_dof_count(BMD_DOF_ALL, 4, 4), 0);
    assert_int_equal(bmd_dof_count(BMD_DOF_FIX_COM, 4, 4), 0);
    assert_int_equal(bmd_dof_count(BMD_DOF_MOMENTUM, 4, 4), 0);
}

static void test_batch_keeps_fixed(void **state) {
    (void)state;
    bmd_batch *b;
    bmd_batch_create(&b);
    const int f0[] = {1}, f2[] = {0, 4};
    add(b, 3, f0, 1, 10);
    add(b, 4, NULL, 0, 11);
    add(b, 5, f2, 2, 12);
    assert_int_equal(bmd_batch_n_fixed(b, 0), 1);
    assert_int_equal(bmd_batch_n_fixed(b, 1), 0);
    assert_int_equal(bmd_batch_n_fixed(b, 2), 2);
    unsigned char rm[3] = {1, 0, 0};
    assert_int_equal(bmd_batch_remove(b, rm), BMD_OK); /* the others move down */
    assert_int_equal(bmd_batch_n_fixed(b, 0), 0);
    assert_true(is_fixed(b, 1, 0) && is_fixed(b, 1, 4) && !is_fixed(b, 1, 2));
    bmd_system out;
    assert_int_equal(bmd_batch_extract(b, 1, &out), BMD_OK);
    assert_non_null(out.fixed);
    assert_int_equal(bmd_system_n_fixed(&out), 2);
    assert_true(out.fixed[0] && out.fixed[4] && !out.fixed[1]);
    out.dof = BMD_DOF_FIX_COM;
    assert_int_equal(bmd_system_dof(&out), 3 * 5 - 6 - 3);
    bmd_system_free(&out);
    assert_int_equal(bmd_batch_extract(b, 0, &out), BMD_OK);
    assert_null(out.fixed); /* none fixed: none written */
    bmd_system_free(&out);
    bmd_batch_destroy(b);
}

static void test_hold_forces(void **state) {
    (void)state;
    bmd_batch *b;
    bmd_batch_create(&b);
    const int f[] = {0, 2};
    add(b, 4, f, 2, 1);
    add(b, 4, f, 2, 2);
    double before[24];
    memcpy(before, b->force, sizeof before);
    bmd__hold h = {0};
    unsigned char mask[2] = {1, 0};
    assert_int_equal(bmd__hold_forces(&h, b, mask), BMD_OK);
    for (int a = 0; a < 8; a++)
        for (int d = 0; d < 3; d++) {
            int held = a < 4 && (a == 0 || a == 2);
            assert_true(held ? b->force[3 * a + d] == 0.0 : b->force[3 * a + d] == before[3 * a + d]);
        }
    assert_true(bmd_fmax(b, 0) > 0);
    bmd__release_forces(&h, b, mask);
    assert_memory_equal(b->force, before, sizeof before);
    bmd__hold_free(&h);
    bmd_batch_destroy(b);
}

/* x (row) in the basis of cell c: f = x c⁻¹, by Cramer's rule */
static void fractional(const double *c, const double *x, double *f) {
    double det = c[0] * (c[4] * c[8] - c[5] * c[7]) - c[1] * (c[3] * c[8] - c[5] * c[6]) +
                 c[2] * (c[3] * c[7] - c[4] * c[6]);
    for (int j = 0; j < 3; j++) {
        double m[9];
        memcpy(m, c, sizeof m);
        for (int k = 0; k < 3; k++) m[3 * j + k] = x[k]; /* row j of the cell replaced by x */
        f[j] = (m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) +
                m[2] * (m[3] * m[7] - m[4] * m[6])) / det;
    }
}

static void test_restore_positions(void **state) {
    (void)state;
    bmd_batch *b;
    bmd_batch_create(&b);
    const int f[] = {1, 3};
    add(b, 5, f, 2, 1);
    add(b, 5, f, 2, 2);
    double x0[30], c0[9];
    memcpy(x0, b->pos, sizeof x0);
    memcpy(c0, b->cell + 9, sizeof c0);
    bmd__hold h = {0};
    unsigned char mask[2] = {1, 1};
    assert_int_equal(bmd__hold_positions(&h, b, mask), BMD_OK);
    /* an "update": every atom moves; system 1's cell is strained and sheared */
    for (int j = 0; j < 30; j++) b->pos[j] += 0.05 * sin(j + 1.0);
    double x1[30];
    memcpy(x1, b->pos, sizeof x1);
    const double strain[9] = {1.03, 0.02, -0.01, 0.015, 0.97, 0.03, -0.02, 0.01, 1.05};
    double *c1 = b->cell + 9;
    double nc[9];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) nc[3 * i + j] = c0[3 * i] * strain[j] + c0[3 * i + 1] * strain[3 + j] +
                                                    c0[3 * i + 2] * strain[6 + j];
    memcpy(c1, nc, sizeof nc);
    bmd__restore_positions(&h, b, mask);
    for (int a = 0; a < 5; a++) {
        int fixed = a == 1 || a == 3;
        /* system 0: cell unchanged, fixed atoms back bit for bit */
        assert_memory_equal(b->pos + 3 * a, fixed ? x0 + 3 * a : x1 + 3 * a, 3 * sizeof(double));
        /* system 1: fixed atoms at their old fractional coordinates in the new cell */
        const int g = 5 + a;
        if (fixed) {
            double fo[3], fn[3];
            fractional(c0, x0 + 3 * g, fo);
            fractional(nc, b->pos + 3 * g, fn);
            for (int d = 0; d < 3; d++) assert_true(fabs(fo[d] - fn[d]) * 13.0 < 1e-13);
            assert_true(fabs(b->pos[3 * g] - x0[3 * g]) > 1e-3); /* it did move with the cell */
        } else {
            assert_memory_equal(b->pos + 3 * g, x1 + 3 * g, 3 * sizeof(double));
        }
        for (int s = 0; s < 2; s++)
            for (int d = 0; d < 3; d++)
                if (fixed) assert_true(b->vel[3 * (5 * s + a) + d] == 0.0);
                else assert_true(b->vel[3 * (5 * s + a) + d] != 0.0);
    }
    bmd__hold_free(&h);
    bmd_batch_destroy(b);
}

static void test_remove_com(void **state) {
    (void)state;
    bmd_batch *b;
    bmd_batch_create(&b);
    const int f[] = {2};
    add(b, 6, f, 1, 3);
    unsigned char mask[1] = {1};
    bmd__rest_fixed(b, mask);
    bmd__remove_com_momentum(b, mask);
    double p[3] = {0, 0, 0}, scale = 0;
    for (int a = 0; a < 6; a++)
        for (int d = 0; d < 3; d++) {
            p[d] += b->mass[a] * b->vel[3 * a + d];
            scale += b->mass[a] * fabs(b->vel[3 * a + d]);
        }
    for (int d = 0; d < 3; d++) assert_true(fabs(p[d]) < 1e-15 * scale);
    for (int d = 0; d < 3; d++) assert_true(b->vel[6 + d] == 0.0);
    bmd_batch_destroy(b);
}

static void test_maxwell_boltzmann_fixed(void **state) {
    (void)state;
    bmd_units u = bmd_units_get(BMD_UNITS_METAL);
    const bmd_dof_rule rules[2] = {BMD_DOF_ALL, BMD_DOF_FIX_COM};
    for (int r = 0; r < 2; r++) {
        bmd_batch *b;
        bmd_batch_create(&b);
        const int f[] = {0, 3, 7};
        add(b, 12, f, 3, 5);
        unsigned char mask[1] = {1};
        double T[1] = {300};
        bmd_velocities_maxwell_boltzmann(b, mask, T, &u, 9, 0, rules[r]);
        double p[3] = {0, 0, 0}, scale = 0, mv2 = 0;
        for (int a = 0; a < 12; a++)
            for (int d = 0; d < 3; d++) {
                double v = b->vel[3 * a + d];
                if (a == 0 || a == 3 || a == 7) assert_true(v == 0.0);
                p[d] += b->mass[a] * v;
                scale += b->mass[a] * fabs(v);
                mv2 += b->mass[a] * v * v;
            }
        /* T = Σ m v² mvv2e / (N_f k_B) over the free atoms' N_f, as ASE counts with FixAtoms (+ FixCom) */
        const int nf = 3 * 9 - (rules[r] == BMD_DOF_FIX_COM ? 3 : 0);
        assert_true(fabs(mv2 * u.mvv2e / (nf * u.boltzmann) - 300) < 1e-9 * 300);
        assert_true(fabs(bmd_temperature(b, 0, &u, rules[r]) - 300) < 1e-9 * 300);
        if (rules[r] == BMD_DOF_FIX_COM)
            for (int d = 0; d < 3; d++) assert_true(fabs(p[d]) < 1e-14 * scale);
        else assert_true(fabs(p[0]) + fabs(p[1]) + fabs(p[2]) > 1e-6 * scale); /* drawn, kept */
        bmd_batch_destroy(b);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dof_count),
        cmocka_unit_test(test_batch_keeps_fixed),
        cmocka_unit_test(test_hold_forces),
        cmocka_unit_test(test_restore_positions),
        cmocka_unit_test(test_remove_com),
        cmocka_unit_test(test_maxwell_boltzmann_fixed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
