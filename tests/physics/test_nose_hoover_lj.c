/* test_nose_hoover_lj.c — the canonical ensemble of nvt_nose_hoover on a
 * system that equilibrates: a Lennard-Jones liquid (lj units, k_B = 1;
 * 32 atoms at ρ = 0.8442, T = 1.5, rc 2.5σ, dt 0.005τ, tdamp 0.1τ, chain 3).
 *
 * The Nosé–Hoover chain's extended system (Martyna, Klein, Tuckerman,
 * J. Chem. Phys. 97, 2635 (1992)), when ergodic, samples
 * exp(−(K + U + Σ_j Q_j η̇_j²/2)/kT) over the N_f = 3N − 3 momenta left by
 * zero total momentum and the chain's velocities. So, as time averages:
 *   (a) the kinetic temperature 2K/(N_f k) — what the log reports, counted
 *       as the catalogue says (bmd_stage_dof) — averages to T;
 *   (b) K, a sum of N_f squared Gaussians, has variance N_f (kT)²/2 about
 *       its mean N_f kT/2 (a Gamma(N_f/2, kT) distribution);
 *   (c) every link's kinetic energy Q_j η̇_j²/2 averages to kT/2:
 *       ⟨Q_j η̇_j²⟩ = kT for j = 1..M, with Q_1 = N_f kT τ², Q_j = kT τ².
 * A liquid's chaos makes the dynamics ergodic (a harmonic system is not:
 * there, chains of different lengths can give the same wrong kinetic
 * energy). (c) fails if the chain is cut short (links beyond the first
 * never move: ⟨Q_j η̇_j²⟩ = 0) or if its last link is frozen; (a) fails if
 * the thermostat's N_f and the log's differ (by 3/(3N − 3) = 3.2 %); (b)
 * if the thermostat does not act (NVE's variance is smaller).
 *
 * Statistics: NSYS independent systems (their own jitter and Maxwell–
 * Boltzmann velocities, keyed by system_id); each quantity is averaged over
 * each system's sampling window, and the NSYS averages, independent, give
 * the mean and its standard error; the test asserts |mean − exact| < 4 SE
 * (a chance of 6e-5 per check for a correct code, by the central limit
 * theorem) and that the SE is small enough for the deviations above to
 * show: SE below 0.5 % of T for (a) (3.2 % is then more than 6 SE away;
 * measured: 0.1 %), below 5 % for (b) and (c) (measured: about 1 %).
 * Discretisation errors (O(dt²), dt = 0.005τ) are far below these
 * tolerances. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "batchmd/batchmd.h"
#include "dynamics/dynamics_internal.h" /* BMD__NH_MAX_CHAIN: the state row's layout */

#define NSYS 16
#define NCELL 2
#define RHO 0.8442
#define T_BATH 1.5
#define DT 0.005
#define TDAMP 0.1
#define CHAIN 3
#define EQUIL 2000
#define SAMPLE 10000
#define EVERY 4

static bmd_units U;

/* fcc liquid seed: NCELL³ cells, jittered per system (the jitter and the
 * Maxwell–Boltzmann draw make the systems independent). */
static void liquid(bmd_system *sys, long id) {
    const int n = 4 * NCELL * NCELL * NCELL;
    const double a = cbrt(4.0 / RHO), basis[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
    assert_int_equal(bmd_system_alloc(sys, n), BMD_OK);
    int k = 0;
    for (int i = 0; i < NCELL; i++)
        for (int j = 0; j < NCELL; j++)
            for (int l = 0; l < NCELL; l++)
                for (int q = 0; q < 4; q++, k++) {
                    const double c[3] = {i + basis[q][0], j + basis[q][1], l + basis[q][2]};
                    for (int d = 0; d < 3; d++) sys->pos[3 * k + d] = a * c[d] + 0.05 * sin(1.7 * k + 2.3 * d + 3.1 * id);
                    sys->Z[k] = 18;
                    sys->mass[k] = 1.0;
                }
    sys->cell[0] = sys->cell[4] = sys->cell[8] = a * NCELL;
    sys->pbc[0] = sys->pbc[1] = sys->pbc[2] = 1;
    sys->system_id = id;
}

/* Mean of x[0..NSYS) and its standard error. */
static void mean_se(const double *x, double *mean, double *se) {
    double m = 0, v = 0;
    for (int s = 0; s < NSYS; s++) m += x[s] / NSYS;
    for (int s = 0; s < NSYS; s++) v += (x[s] - m) * (x[s] - m);
    *mean = m;
    *se = sqrt(v / (NSYS - 1) / NSYS);
}

/* |mean − exact| < 4 SE, and SE < power · exact: the test sees an error of
 * 4 power or more. */
static void check(const char *what, const double *x, double exact, double power) {
    double mean, se;
    mean_se(x, &mean, &se);
    const double z = (mean - exact) / se;
    printf("  %-34s %.5f (exact %.5f), SE %.5f, z = %+.2f\n", what, mean, exact, se, z);
    assert_true(fabs(z) < 4.0);
    assert_true(se < power * exact);
}

static void test_canonical_liquid(void **state) {
    (void)state;
    bmd_pair_params p = {0, 0, {1.0, 1.0, 0}, 2.5};
    bmd_pair_options o = {0.3, 1, 1};
    bmd_model *m = NULL;
    assert_int_equal(bmd_model_lj_create(&p, 1, &o, &m), BMD_OK);
    bmd_batch *b;
    bmd_batch_create(&b);
    for (long id = 0; id < NSYS; id++) {
        bmd_system sys;
        liquid(&sys, id);
        assert_int_equal(bmd_batch_append(b, &sys, NULL), BMD_OK);
        bmd_system_free(&sys);
    }
    const char *names[] = {"dt", "temperature", "tdamp", "chain", "init_temperature"};
    const double vals[] = {DT, T_BATH, TDAMP, CHAIN, 2 * T_BATH}; /* start hot: the thermostat must work */
    bmd_dynamics *d = NULL;
    assert_int_equal(bmd_dynamics_create("nvt_nose_hoover", names, vals, 5, &d), BMD_OK);
    bmd_stage *st;
    bmd_stage_create(&U, 17, &st);
    bmd_convergence c = {0, 0, EQUIL + SAMPLE + 1}; /* still running at the last sample */
    assert_int_equal(bmd_stage_add(st, "nvt", d, &c), BMD_OK);

    const int n = b->atom_count[0], nf = 3 * n - 3;
    const double kT = U.boltzmann * T_BATH, Q[CHAIN] = {nf * kT * TDAMP * TDAMP, kT * TDAMP * TDAMP, kT * TDAMP * TDAMP};
    static double temp[NSYS], kvar[NSYS], link[CHAIN][NSYS];
    long samples = 0;
    for (long t = 1; t <= EQUIL + SAMPLE; t++) {
        assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
        if (t <= EQUIL || t % EVERY) continue;
        const int col = bmd_batch_find_column(b, "nvt_nh.0.st");
        assert_true(col >= 0);
        const double *row = bmd_batch_column_data(b, col);
        for (int s = 0; s < NSYS; s++) {
            const double *etad = row + (size_t)s * b->columns[col].width + BMD__NH_MAX_CHAIN; /* η̇_1.. */
            const double K = bmd_kinetic_energy(b, s, &U), dk = K - 0.5 * nf * kT;
            temp[s] += bmd_temperature(b, s, &U, bmd_stage_dof(st, 0));
            kvar[s] += dk * dk / (0.5 * nf * kT * kT);
            for (int j = 0; j < CHAIN; j++) link[j][s] += Q[j] * etad[j] * etad[j] / kT;
        }
        samples++;
    }
    for (int s = 0; s < NSYS; s++) {
        assert_int_equal(b->status[s], 0); /* every system ran the whole sampling window */
        temp[s] /= samples;
        kvar[s] /= samples;
        for (int j = 0; j < CHAIN; j++) link[j][s] /= samples;
    }
    printf("  %d systems of %d atoms, %ld samples each\n", NSYS, n, samples);
    check("mean logged temperature", temp, T_BATH, 0.005); /* 3N vs 3N − 3: 3.2 % */
    check("Var(K) / (N_f (kT)^2 / 2)", kvar, 1.0, 0.05); /* NVE's: ~40 % less */
    char what[64];
    for (int j = 0; j < CHAIN; j++) {
        snprintf(what, sizeof what, "<Q_%d etadot_%d^2> / kT", j + 1, j + 1);
        check(what, link[j], 1.0, 0.05); /* a link cut off or frozen: 0 */
    }
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    bmd_model_destroy(m);
}

int main(void) {
    U = bmd_units_get(BMD_UNITS_LJ);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical_liquid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
