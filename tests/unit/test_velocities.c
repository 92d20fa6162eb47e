/* test_velocities.c — the velocity helpers of dynamics.h: Maxwell–Boltzmann
 * initialisation (under BMD_DOF_MOMENTUM zero momentum and exact temperature
 * over 3N − 3; under BMD_DOF_ALL the same draws with their centre-of-mass
 * motion kept and exact temperature over 3N; the right variance kT·ftm2v/m,
 * keyed by system_id and stream only), kinetic energy against ASE's unit
 * convention, temperature under both counts, fmax; and init_temperature on
 * entry, counted as each dynamics' catalogue entry says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support/harmonic_model.h"

static bmd_units U;

static int add(bmd_batch *b, int n, long id) {
    static double x[3 * 4000];
    for (int j = 0; j < 3 * n; j++) x[j] = 0.1 * j;
    int s = harmonic_append(b, n, 39.948, x, x, NULL, id);
    for (int i = 0; i < n; i++) b->mass[b->atom_start[s] + i] = 1.0 + (i % 7); /* mixed masses */
    return s;
}

static void test_maxwell_boltzmann(void **state) {
    (void)state;
    bmd_batch *b;
    bmd_batch_create(&b);
    add(b, 5, 100);
    add(b, 3000, 101);
    add(b, 1, 102);
    add(b, 4, 103);
    unsigned char mask[4] = {1, 1, 1, 0};
    double T[4] = {300, 500, 300, 300};
    /* BMD_DOF_ALL first: the raw draws, rescaled over 3N */
    bmd_velocities_maxwell_boltzmann(b, mask, T, &U, 42, BMD_RNG_STREAM(0, BMD_RNG_VELOCITY_INIT), BMD_DOF_ALL);
    double *all = malloc(3 * (size_t)b->n_atoms * sizeof(double));
    memcpy(all, b->vel, 3 * (size_t)b->n_atoms * sizeof(double));
    for (int s = 0; s < 3; s++) {
        assert_true(fabs(bmd_temperature(b, s, &U, BMD_DOF_ALL) - T[s]) < 1e-9 * T[s]);
        assert_true(fabs(2 * bmd_kinetic_energy(b, s, &U) / (3 * b->atom_count[s] * U.boltzmann) - T[s]) <
                    1e-9 * T[s]);
    }
    bmd_velocities_maxwell_boltzmann(b, mask, T, &U, 42, BMD_RNG_STREAM(0, BMD_RNG_VELOCITY_INIT),
                                     BMD_DOF_MOMENTUM);
    for (int s = 0; s < 3; s++) {
        int a0 = b->atom_start[s], n = b->atom_count[s];
        double p[3] = {0, 0, 0}, pa[3] = {0, 0, 0}, M = 0;
        for (int i = 0; i < n; i++) {
            M += b->mass[a0 + i];
            for (int d = 0; d < 3; d++) p[d] += b->mass[a0 + i] * b->vel[3 * (a0 + i) + d];
            for (int d = 0; d < 3; d++) pa[d] += b->mass[a0 + i] * all[3 * (a0 + i) + d];
        }
        if (n > 1) {
            for (int d = 0; d < 3; d++) assert_true(fabs(p[d]) < 1e-12 * M);
            /* the same draws: ALL's velocities less their centre-of-mass
             * velocity are MOMENTUM's, up to one scale factor */
            double r = 0;
            for (int i = 0; i < n && r == 0; i++) r = b->vel[3 * (a0 + i)] / (all[3 * (a0 + i)] - pa[0] / M);
            for (int i = 0; i < n; i++)
                for (int d = 0; d < 3; d++)
                    assert_true(fabs(b->vel[3 * (a0 + i) + d] - r * (all[3 * (a0 + i) + d] - pa[d] / M)) <
                                1e-9 * (fabs(b->vel[3 * (a0 + i) + d]) + 1e-6));
            /* and ALL kept a centre-of-mass motion (random: nonzero) */
            assert_true(fabs(pa[0]) + fabs(pa[1]) + fabs(pa[2]) > 1e-6 * M * sqrt(U.boltzmann * T[s] * U.ftm2v / M));
        } else {
            assert_memory_equal(b->vel + 3 * a0, all + 3 * a0, 3 * sizeof(double)); /* N = 1: 3 either way */
        }
        assert_true(fabs(bmd_temperature(b, s, &U, BMD_DOF_MOMENTUM) - T[s]) < 1e-9 * T[s]);
        if (n > 1)
            assert_true(fabs(2 * bmd_kinetic_energy(b, s, &U) / ((3 * n - 3) * U.boltzmann) - T[s]) < 1e-9 * T[s]);
    }
    free(all);
    /* the unmasked system is untouched */
    for (int j = 0; j < 12; j++) assert_true(b->vel[3 * b->atom_start[3] + j] == 0.0);
    /* variance per component of v sqrt(m) = kT ftm2v (3000 atoms, 9000 samples: 3% at ~2 SE) */
    double kT = U.boltzmann * 500, var = 0;
    int a0 = b->atom_start[1];
    for (int i = 0; i < 3000; i++)
        for (int d = 0; d < 3; d++) var += b->mass[a0 + i] * b->vel[3 * (a0 + i) + d] * b->vel[3 * (a0 + i) + d];
    var /= 9000;
    assert_true(fabs(var / (kT * U.ftm2v) - 1) < 0.03);

    /* keyed by (seed, system_id, stream) only: same bits alone in another batch */
    bmd_batch *c;
    bmd_batch_create(&c);
    add(c, 4, 7);
    add(c, 5, 100);
    unsigned char m2[2] = {1, 1};
    double T2[2] = {300, 300};
    bmd_velocities_maxwell_boltzmann(c, m2, T2, &U, 42, BMD_RNG_STREAM(0, BMD_RNG_VELOCITY_INIT), BMD_DOF_MOMENTUM);
    assert_memory_equal(c->vel + 3 * c->atom_start[1], b->vel, 15 * sizeof(double));
    /* another stream or seed: other velocities */
    bmd_velocities_maxwell_boltzmann(c, m2, T2, &U, 42, BMD_RNG_STREAM(1, BMD_RNG_VELOCITY_INIT), BMD_DOF_MOMENTUM);
    assert_memory_not_equal(c->vel + 3 * c->atom_start[1], b->vel, 15 * sizeof(double));
    bmd_velocities_maxwell_boltzmann(c, m2, T2, &U, 43, BMD_RNG_STREAM(0, BMD_RNG_VELOCITY_INIT), BMD_DOF_MOMENTUM);
    assert_memory_not_equal(c->vel + 3 * c->atom_start[1], b->vel, 15 * sizeof(double));
    /* T = 0: at rest */
    T2[1] = 0;
    bmd_velocities_maxwell_boltzmann(c, m2, T2, &U, 42, 0, BMD_DOF_ALL);
    for (int j = 0; j < 15; j++) assert_true(c->vel[3 * c->atom_start[1] + j] == 0.0);
    bmd_batch_destroy(c);
    bmd_batch_destroy(b);
}

static void test_kinetic_units(void **state) {
    (void)state;
    bmd_batch *b;
    bmd_batch_create(&b);
    add(b, 2, 0);
    double v[6] = {0.01, -0.02, 0.005, 0.003, 0, -0.01};
    memcpy(b->vel, v, sizeof v);
    /* ASE: p = m v / ase_time, KE = Σ p²/2m (eV) */
    double ke = 0;
    for (int i = 0; i < 2; i++)
        for (int d = 0; d < 3; d++) {
            double p = b->mass[i] * v[3 * i + d] / U.ase_time;
            ke += p * p / (2 * b->mass[i]);
        }
    assert_true(fabs(bmd_kinetic_energy(b, 0, &U) - ke) < 1e-12 * ke);
    /* 3N − 3 = 3 degrees of freedom, or 3N = 6 */
    assert_int_equal(bmd_dof_count(BMD_DOF_MOMENTUM, 2, 0), 3);
    assert_int_equal(bmd_dof_count(BMD_DOF_ALL, 2, 0), 6);
    assert_int_equal(bmd_dof_count(BMD_DOF_MOMENTUM, 1, 0), 3);
    assert_int_equal(bmd_dof_count(BMD_DOF_ALL, 1, 0), 3);
    assert_true(fabs(bmd_temperature(b, 0, &U, BMD_DOF_MOMENTUM) - 2 * ke / (3 * U.boltzmann)) <
                1e-12 * ke / U.boltzmann);
    assert_true(fabs(bmd_temperature(b, 0, &U, BMD_DOF_ALL) - 2 * ke / (6 * U.boltzmann)) < 1e-12 * ke / U.boltzmann);
    b->force[0] = 3;
    b->force[4] = 4;
    b->force[5] = -12;
    assert_true(bmd_fmax(b, 0) == 12.649110640673518);
    b->force[1] = NAN;
    assert_true(isnan(bmd_fmax(b, 0)));
    bmd_batch_destroy(b);
}

/* init_temperature on entry, with per-structure override and "absent". */
static void test_init_temperature(void **state) {
    (void)state;
    bmd_model *m = harmonic_model_new(0.0, 1.0, NULL);
    bmd_batch *b;
    bmd_batch_create(&b);
    add(b, 6, 0);
    add(b, 6, 1);
    add(b, 6, 2);
    bmd_info_set(&b->info[1], "init_temperature", "900");
    b->vel[3 * b->atom_start[2]] = 0.01; /* keeps its velocities: no init_temperature */
    b->vel[3 * b->atom_start[2] + 3] = -0.01;
    bmd_stage *st;
    bmd_stage_create(&U, 3, &st);
    bmd_dynamics *d;
    const char *n[] = {"dt"};
    const double v[] = {1e-9}; /* a tiny step: the entry state survives one step */
    assert_int_equal(bmd_dynamics_create("nve", n, v, 1, &d), BMD_OK);
    bmd_convergence c = {0, 0, 1};
    bmd_stage_add(st, "md", d, &c);
    bmd_info_set(&b->info[0], "init_temperature", "300");
    double v2[18];
    memcpy(v2, b->vel + 3 * b->atom_start[2], sizeof v2);
    assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
    assert_int_equal(bmd_stage_dof(st, 0), BMD_DOF_MOMENTUM); /* nve */
    assert_true(fabs(bmd_temperature(b, 0, &U, BMD_DOF_MOMENTUM) - 300) < 1e-3);
    assert_true(fabs(bmd_temperature(b, 1, &U, BMD_DOF_MOMENTUM) - 900) < 1e-3);
    for (int j = 0; j < 18; j++) assert_true(fabs(b->vel[3 * b->atom_start[2] + j] - v2[j]) < 1e-9);
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    harmonic_model_free(m);
}

/* init_temperature under Langevin: 3N components, centre of mass kept,
 * exactly T over 3N (its catalogue rule). */
static void test_init_temperature_langevin(void **state) {
    (void)state;
    bmd_model *m = harmonic_model_new(0.0, 1.0, NULL);
    bmd_batch *b;
    bmd_batch_create(&b);
    add(b, 6, 0);
    bmd_stage *st;
    bmd_stage_create(&U, 3, &st);
    bmd_dynamics *d;
    const char *n[] = {"dt", "temperature", "friction", "init_temperature"};
    const double v[] = {1e-9, 300, 0, 300}; /* no friction, a tiny step: the entry state survives */
    assert_int_equal(bmd_dynamics_create("nvt_langevin", n, v, 4, &d), BMD_OK);
    bmd_convergence c = {0, 0, 1};
    bmd_stage_add(st, "md", d, &c);
    assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
    assert_int_equal(bmd_stage_dof(st, 0), BMD_DOF_ALL);
    assert_true(fabs(bmd_temperature(b, 0, &U, BMD_DOF_ALL) - 300) < 1e-3);
    assert_true(fabs(2 * bmd_kinetic_energy(b, 0, &U) / (18 * U.boltzmann) - 300) < 1e-3);
    double p = 0;
    for (int i = 0; i < 6; i++) p += b->mass[i] * b->vel[3 * i];
    assert_true(fabs(p) > 1e-9);
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    harmonic_model_free(m);
}

int main(void) {
    U = bmd_units_get(BMD_UNITS_METAL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_maxwell_boltzmann),
        cmocka_unit_test(test_kinetic_units),
        cmocka_unit_test(test_init_temperature),
        cmocka_unit_test(test_init_temperature_langevin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
