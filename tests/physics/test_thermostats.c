/* test_thermostats.c — MD dynamics on the analytic harmonic model
 * (tests/support/harmonic_model.h), in metal units, against exact results:
 *
 * - nvt_langevin and nvt_nose_hoover: many independent harmonic systems
 *   (the batch is the ensemble); the mean kinetic and potential energy per
 *   degree of freedom must be within 3 standard errors of kT/2
 *   (equipartition; the standard error from the spread of the independent
 *   systems' time averages). Nosé–Hoover also conserves its extended energy
 *   and the total momentum; its ring has no degenerate normal modes (they
 *   would give it extra invariants and break ergodicity).
 * - nve: a harmonic oscillator started at a turning point follows
 *   x_n = A cos(ω̃ n dt) with cos(ω̃ dt) = 1 − (ω dt)²/2 (the exact solution
 *   of the Verlet recursion) to round-off, the exact x(t) = A cos(ωt) within
 *   A t ω³ dt²/24, and its energy stays within [E0 (1 − (ω dt)²/4), E0]
 *   (velocity Verlet's invariant), an O(dt²) bound that tightens 4× when dt
 *   halves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "support/harmonic_model.h"

#define PI 3.14159265358979323846
#define NSYS 200
#define NAT 8

static bmd_units U;

static bmd_stage *stage_of(const char *type, long steps, int n, const char **names, const double *vals) {
    bmd_dynamics *d = NULL;
    assert_int_equal(bmd_dynamics_create(type, names, vals, n, &d), BMD_OK);
    bmd_stage *st;
    bmd_stage_create(&U, 2024, &st);
    bmd_convergence c = {0, 0, steps};
    assert_int_equal(bmd_stage_add(st, "md", d, &c), BMD_OK);
    return st;
}

/* NSYS rings of NAT argon atoms, sites on a circle, started at their sites. */
static bmd_batch *ensemble(void) {
    bmd_batch *b;
    bmd_batch_create(&b);
    double x[3 * NAT];
    for (int s = 0; s < NSYS; s++) {
        for (int i = 0; i < NAT; i++) {
            x[3 * i] = 3.0 * cos(2 * PI * i / NAT);
            x[3 * i + 1] = 3.0 * sin(2 * PI * i / NAT);
            x[3 * i + 2] = 0;
        }
        harmonic_append(b, NAT, 39.948, x, x, NULL, s);
    }
    return b;
}

typedef struct stats {
    double ke[NSYS], pe[NSYS];
    long n;
} stats;

/* Runs `equil` steps, then `sample` steps accumulating per-system KE and PE. */
static void run(bmd_stage *st, bmd_batch *b, bmd_model *m, long equil, long sample, stats *acc) {
    memset(acc, 0, sizeof *acc);
    for (long t = 0; t < equil; t++) assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
    for (long t = 0; t < sample; t++) {
        assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
        if (t % 5) continue;
        for (int s = 0; s < NSYS; s++) {
            acc->ke[s] += bmd_kinetic_energy(b, s, &U);
            acc->pe[s] += b->energy[s];
        }
        acc->n++;
    }
}

/* Mean over systems of x[s]/(n dof) and its standard error. */
static void mean_se(const double *x, long n, int dof, double *mean, double *se) {
    double m = 0, v = 0;
    for (int s = 0; s < NSYS; s++) m += x[s] / n / dof;
    m /= NSYS;
    for (int s = 0; s < NSYS; s++) {
        double d = x[s] / n / dof - m;
        v += d * d;
    }
    *mean = m;
    *se = sqrt(v / (NSYS - 1) / NSYS);
}

static void check_equipartition(const char *what, const double *x, long n, int dof, double kT) {
    double mean, se;
    mean_se(x, n, dof, &mean, &se);
    double z = (mean - kT / 2) / se;
    printf("  %-28s %.6e eV per dof, kT/2 = %.6e, SE %.2e, z = %+.2f\n", what, mean, kT / 2, se, z);
    assert_true(fabs(z) < 3.0);
    assert_true(se < 0.01 * kT); /* the test has power */
}

static void test_langevin_equipartition(void **state) {
    (void)state;
    const double T = 300, kT = U.boltzmann * T;
    bmd_model *m = harmonic_model_new(1.0, 1.0, NULL); /* tethered: all 3N modes bound */
    bmd_batch *b = ensemble();
    const char *names[] = {"dt", "temperature", "friction", "init_temperature"};
    double vals[] = {1.0, T, 0.01, T};
    bmd_stage *st = stage_of("nvt_langevin", 1000000, 4, names, vals);
    stats acc;
    run(st, b, m, 2000, 10000, &acc);
    check_equipartition("langevin kinetic", acc.ke, acc.n, 3 * NAT, kT);
    check_equipartition("langevin potential", acc.pe, acc.n, 3 * NAT, kT);
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    harmonic_model_free(m);
}

static void test_nose_hoover_equipartition(void **state) {
    (void)state;
    const double T = 300, kT = U.boltzmann * T;
    /* free ring: 3N − 3 modes, momentum conserved; no degenerate modes (a
     * Nosé–Hoover thermostat on degenerate harmonic modes is not ergodic) */
    harmonic_model *hm;
    bmd_model *m = harmonic_model_new(0.0, 1.0, &hm);
    hm->disorder = 1;
    bmd_batch *b = ensemble();
    const char *names[] = {"dt", "temperature", "init_temperature"};
    double vals[] = {1.0, T, T};
    bmd_stage *st = stage_of("nvt_nose_hoover", 1000000, 3, names, vals);
    /* extended energy H = K + U + thermostat, after the first step */
    assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
    int c = bmd_batch_find_column(b, "nvt_nh.0.st");
    assert_true(c >= 0);
    double h0[NSYS];
    for (int s = 0; s < NSYS; s++)
        h0[s] = bmd_kinetic_energy(b, s, &U) + b->energy[s] + bmd_batch_column_data(b, c)[32 * (size_t)s + 31];
    stats acc;
    run(st, b, m, 10000, 30000, &acc);
    double worst = 0;
    for (int s = 0; s < NSYS; s++) {
        double h = bmd_kinetic_energy(b, s, &U) + b->energy[s] + bmd_batch_column_data(b, c)[32 * (size_t)s + 31];
        double d = fabs(h - h0[s]) / (3 * NAT * kT);
        if (d > worst) worst = d;
        /* momentum stays zero */
        double p[3] = {0, 0, 0};
        for (int i = 0; i < NAT; i++)
            for (int k = 0; k < 3; k++) p[k] += b->mass[b->atom_start[s] + i] * b->vel[3 * (b->atom_start[s] + i) + k];
        assert_true(fabs(p[0]) + fabs(p[1]) + fabs(p[2]) < 1e-10);
    }
    printf("  nose-hoover extended energy drift: %.2e (per dof, in kT)\n", worst);
    assert_true(worst < 1e-3);
    check_equipartition("nose-hoover kinetic", acc.ke, acc.n, 3 * NAT - 3, kT);
    check_equipartition("nose-hoover potential", acc.pe, acc.n, 3 * NAT - 3, kT);
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    harmonic_model_free(m);
}

/* One oscillator (k = 1 eV/Å², m = 39.948 amu) from x = A, v = 0: returns the
 * largest relative energy deviation; checks the trajectory. */
static double nve_oscillator(double dt, long steps) {
    const double k = 1.0, mass = 39.948, A = 0.3;
    const double w = sqrt(k * U.ftm2v / mass), wt = acos(1 - 0.5 * w * w * dt * dt) / dt;
    bmd_model *m = harmonic_model_new(k, 0.0, NULL);
    bmd_batch *b;
    bmd_batch_create(&b);
    double x[3] = {A, 0, 0}, x0[3] = {0, 0, 0};
    harmonic_append(b, 1, mass, x, x0, NULL, 0);
    const char *names[] = {"dt"};
    bmd_stage *st = stage_of("nve", steps, 1, names, &dt);
    const double e0 = 0.5 * k * A * A;
    double worst = 0, worst_lo = 0, err_recursion = 0, err_exact = 0;
    for (long n = 1; n <= steps; n++) {
        assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
        double t = n * dt, e = bmd_kinetic_energy(b, 0, &U) + b->energy[0];
        double d = (e - e0) / e0;
        if (fabs(d) > worst) worst = fabs(d);
        if (d > worst_lo) worst_lo = d;
        err_recursion = fmax(err_recursion, fabs(b->pos[0] - A * cos(wt * t)));
        double bound = A * t * pow(w, 3) * dt * dt / 24 * 1.01 + 1e-12;
        double ex = fabs(b->pos[0] - A * cos(w * t));
        err_exact = fmax(err_exact, ex / bound);
        assert_true(ex <= bound);
    }
    assert_int_equal(b->status[0], 1);
    printf("  nve dt=%g fs: max |x - A cos(w~ t)| = %.1e Å, max |x - A cos(wt)|/bound = %.3f, "
           "max |dE|/E0 = %.3e (bound (w dt)^2/4 = %.3e)\n",
           dt, err_recursion, err_exact, worst, w * w * dt * dt / 4);
    assert_true(err_recursion < 1e-9 * A * (double)steps / 1000.0);
    assert_true(worst <= w * w * dt * dt / 4 * 1.0001 + 1e-14);
    assert_true(worst_lo <= 1e-14); /* E never exceeds E0: the invariant's shape */
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    harmonic_model_free(m);
    return worst;
}

static void test_nve_harmonic(void **state) {
    (void)state;
    double e1 = nve_oscillator(4.0, 20000), e2 = nve_oscillator(2.0, 40000);
    printf("  energy error ratio for dt/2: %.3f (O(dt^2): 4)\n", e1 / e2);
    assert_true(e1 / e2 > 3.9 && e1 / e2 < 4.1);
}

int main(void) {
    U = bmd_units_get(BMD_UNITS_METAL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nve_harmonic),
        cmocka_unit_test(test_langevin_equipartition),
        cmocka_unit_test(test_nose_hoover_equipartition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
