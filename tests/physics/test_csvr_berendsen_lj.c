/* test_csvr_berendsen_lj.c — nvt_csvr and nvt_berendsen on a system that
 * equilibrates: a Lennard-Jones liquid (lj units, k_B = 1; 32 atoms at
 * ρ = 0.8442, rc 2.5σ, energy shifted, dt 0.005τ, tdamp 0.1τ).
 *
 * Two temperatures in ONE batch: NSYS/2 systems at the stage's T1 = 1.0,
 * NSYS/2 given T2 = 2.0 on their info line (temperature=, and
 * init_temperature= so that they start at it); each group must reach its
 * own temperature.
 *
 * - nvt_csvr, the kinetic-energy distribution test: CSVR samples the
 *   canonical ensemble, in which K (N_f = 3N − 3 squared Gaussian momenta:
 *   total momentum zero) follows Gamma(N_f/2, kT): ⟨K⟩ = N_f kT/2 and
 *   Var(K) = N_f (kT)²/2. For each group, the time averages of
 *   K/(N_f kT/2) and of (K − N_f kT/2)²/(N_f (kT)²/2) over each system's
 *   window must average to 1 within 4 SE (SE from the spread of the
 *   independent systems), with the SE below 0.8 % (mean: a thermostat on
 *   3N degrees of freedom is 3.2 % off) and 5 % (variance: NVE's and
 *   Berendsen's are 40 % and more below). Starts at 1.5 T: the thermostat
 *   must work.
 * - nvt_csvr's effective energy H̃ = K + U + e_couple (state row [e_couple,
 *   H̃]) is conserved up to velocity Verlet's error: after 5 τ, the RMS over
 *   16 systems and a window of 10 τ of H̃(t) − H̃(window start) is below
 *   2e-3 ε per atom at dt 0.004 τ (measured 7e-4) and falls by 2.5 to 8
 *   when dt halves (second order: 4; the potential's force step at the
 *   cutoff adds a first-order share: measured 2.9 to 3.7 over seeds with 8
 *   systems). A thermostat whose work were miscounted would make H̃ wander
 *   by O(kT) whatever dt.
 * - nvt_berendsen: the mean logged temperature (N_f = 3N − 3, as the
 *   catalogue's rule for it) of each group is its T within 4 SE + 0.1 %,
 *   the SE below 0.5 % of T (the 3N count is 3.2 % off). The 0.1 % is the
 *   integrator's share: each rescale moves K by (dt/τ)(N_f/2)(T0 − T), so
 *   ⟨T⟩ = T0 exactly but for velocity Verlet's mean energy error per step
 *   (times τ/dt); Berendsen's suppressed fluctuations make the SE so small
 *   (1e-4) that it shows: measured +2e-4 at dt 0.005 and 0.0025 τ. Its kinetic energy's
 *   variance is known to be too small (weak coupling suppresses the
 *   canonical fluctuations): printed, and checked to be below 0.8 of the
 *   canonical value (a Berendsen step that drew noise would not be). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "batchmd/batchmd.h"

#define NSYS 16
#define NCELL 2
#define RHO 0.8442
#define T1 1.0
#define T2 2.0
#define DT 0.005
#define TDAMP 0.1
#define EQUIL 2000
#define SAMPLE 10000
#define EVERY 10

static bmd_units U;

static bmd_model *lj_model(void) {
    bmd_pair_params p = {0, 0, {1.0, 1.0, 0}, 2.5};
    bmd_pair_options o = {0.3, 1, 1};
    bmd_model *m = NULL;
    assert_int_equal(bmd_model_lj_create(&p, 1, &o, &m), BMD_OK);
    return m;
}

/* fcc liquid seed, jittered per system; systems id >= NSYS/2 get T2 (and
 * init_temperature = init_factor T2) on their info line when `two`. */
static bmd_batch *liquids(int n, int two, double init_factor) {
    bmd_batch *b;
    bmd_batch_create(&b);
    const int na = 4 * NCELL * NCELL * NCELL;
    const double a = cbrt(4.0 / RHO), basis[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
    for (long id = 0; id < n; id++) {
        bmd_system sys;
        assert_int_equal(bmd_system_alloc(&sys, na), BMD_OK);
        int k = 0;
        for (int i = 0; i < NCELL; i++)
            for (int j = 0; j < NCELL; j++)
                for (int l = 0; l < NCELL; l++)
                    for (int q = 0; q < 4; q++, k++) {
                        const double c[3] = {i + basis[q][0], j + basis[q][1], l + basis[q][2]};
                        for (int d = 0; d < 3; d++) sys.pos[3 * k + d] = a * c[d] + 0.05 * sin(1.7 * k + 2.3 * d + 3.1 * id);
                        sys.Z[k] = 18;
                        sys.mass[k] = 1.0;
                    }
        sys.cell[0] = sys.cell[4] = sys.cell[8] = a * NCELL;
        sys.pbc[0] = sys.pbc[1] = sys.pbc[2] = 1;
        sys.system_id = id;
        if (two && id >= n / 2) {
            char v[32];
            snprintf(v, sizeof v, "%.17g", T2);
            bmd_info_set(&sys.info, "temperature", v);
            snprintf(v, sizeof v, "%.17g", init_factor * T2);
            bmd_info_set(&sys.info, "init_temperature", v);
        }
        assert_int_equal(bmd_batch_append(b, &sys, NULL), BMD_OK);
        bmd_system_free(&sys);
    }
    return b;
}

static bmd_stage *stage_of(const char *type, double dt, double init_t, long steps) {
    const char *names[] = {"dt", "temperature", "tdamp", "init_temperature"};
    const double vals[] = {dt, T1, TDAMP, init_t};
    bmd_dynamics *d = NULL;
    assert_int_equal(bmd_dynamics_create(type, names, vals, 4, &d), BMD_OK);
    bmd_stage *st;
    assert_int_equal(bmd_stage_create(&U, 23, &st), BMD_OK);
    bmd_convergence c = {0, 0, steps};
    assert_int_equal(bmd_stage_add(st, "nvt", d, &c), BMD_OK);
    return st;
}

/* Mean of x[0..n) and its standard error. */
static void mean_se(const double *x, int n, double *mean, double *se) {
    double m = 0, v = 0;
    for (int s = 0; s < n; s++) m += x[s] / n;
    for (int s = 0; s < n; s++) v += (x[s] - m) * (x[s] - m);
    *mean = m;
    *se = sqrt(v / (n - 1) / n);
}

/* |mean − exact| < 4 SE + allowance and SE < power · exact */
static void check(const char *what, const double *x, int n, double exact, double power, double allowance) {
    double mean, se;
    mean_se(x, n, &mean, &se);
    const double z = (mean - exact) / se;
    printf("  %-44s %.5f (exact %.5f), SE %.5f, z = %+.2f\n", what, mean, exact, se, z);
    assert_true(fabs(mean - exact) < 4.0 * se + allowance);
    assert_true(se < power * exact);
}

/* Runs `type` on the two-temperature batch; per-system time averages of
 * K/K̄, (K − K̄)²/(N_f (kT)²/2) and the logged temperature / T. */
static void sample(const char *type, double *kmean, double *kvar, double *temp) {
    bmd_model *m = lj_model();
    bmd_batch *b = liquids(NSYS, 1, 1.5);
    bmd_stage *st = stage_of(type, DT, 1.5 * T1, EQUIL + SAMPLE + 1);
    long samples = 0;
    for (long t = 1; t <= EQUIL + SAMPLE; t++) {
        assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
        if (t <= EQUIL || t % EVERY) continue;
        for (int s = 0; s < NSYS; s++) {
            const int nf = 3 * b->atom_count[s] - 3;
            const double kT = U.boltzmann * (s < NSYS / 2 ? T1 : T2), kbar = 0.5 * nf * kT;
            const double K = bmd_kinetic_energy(b, s, &U);
            kmean[s] += K / kbar;
            kvar[s] += (K - kbar) * (K - kbar) / (0.5 * nf * kT * kT);
            temp[s] += bmd_temperature(b, s, &U, bmd_stage_dof(st, 0)) / (s < NSYS / 2 ? T1 : T2);
        }
        samples++;
    }
    for (int s = 0; s < NSYS; s++) {
        assert_int_equal(b->status[s], 0); /* every system ran the whole window */
        assert_int_equal(b->system_id[s], s);
        kmean[s] /= samples;
        kvar[s] /= samples;
        temp[s] /= samples;
    }
    printf("  %s: %d systems of %d atoms, %ld samples each\n", type, NSYS, b->atom_count[0], samples);
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    bmd_model_destroy(m);
}

static void test_csvr_kinetic_distribution(void **state) {
    (void)state;
    static double kmean[NSYS], kvar[NSYS], temp[NSYS];
    sample("nvt_csvr", kmean, kvar, temp);
    for (int g = 0; g < 2; g++) {
        char what[80];
        snprintf(what, sizeof what, "T %g: <K> / (N_f kT/2)", g ? T2 : T1);
        check(what, kmean + g * NSYS / 2, NSYS / 2, 1.0, 0.008, 0);
        snprintf(what, sizeof what, "T %g: Var(K) / (N_f (kT)^2/2)", g ? T2 : T1);
        check(what, kvar + g * NSYS / 2, NSYS / 2, 1.0, 0.05, 0);
        snprintf(what, sizeof what, "T %g: <logged T> / T", g ? T2 : T1);
        check(what, temp + g * NSYS / 2, NSYS / 2, 1.0, 0.008, 0);
    }
}

#define DRIFT_NSYS 16

/* RMS over the systems and a window of 10 τ (after 5 τ) of H̃(t) − H̃(start),
 * per atom. */
static double drift(double dt) {
    bmd_model *m = lj_model();
    bmd_batch *b = liquids(DRIFT_NSYS, 0, 1.0);
    const long equil = lround(5.0 / dt), steps = lround(10.0 / dt);
    bmd_stage *st = stage_of("nvt_csvr", dt, T1, equil + steps + 1);
    double h0[DRIFT_NSYS], sum2 = 0;
    long n2 = 0;
    for (long t = 1; t <= equil + steps; t++) {
        assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
        if (t < equil) continue;
        const int c = bmd_batch_find_column(b, "nvt_csvr.0.st");
        assert_true(c >= 0);
        for (int s = 0; s < DRIFT_NSYS; s++) {
            const double *row = bmd_batch_column_data(b, c) + (size_t)s * b->columns[c].width;
            const double h = bmd_kinetic_energy(b, s, &U) + b->energy[s] + row[0];
            assert_true(fabs(h - row[1]) <= 1e-12 * fabs(h));
            if (t == equil) h0[s] = h;
            const double d = (h - h0[s]) / b->atom_count[s];
            sum2 += d * d;
            n2++;
        }
    }
    for (int s = 0; s < DRIFT_NSYS; s++) assert_int_equal(b->status[s], 0);
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    bmd_model_destroy(m);
    return sqrt(sum2 / n2);
}

static void test_csvr_effective_energy(void **state) {
    (void)state;
    const double d1 = drift(0.004), d2 = drift(0.002);
    printf("  nvt_csvr: RMS of H~(t) - H~(t0) per atom over 10 tau: %.3e (dt 0.004), %.3e (dt 0.002), ratio %.2f\n", d1,
           d2, d1 / d2);
    assert_true(d1 < 2e-3);
    assert_true(d1 / d2 > 2.5 && d1 / d2 < 8.0);
}

static void test_berendsen_mean_temperature(void **state) {
    (void)state;
    static double kmean[NSYS], kvar[NSYS], temp[NSYS];
    sample("nvt_berendsen", kmean, kvar, temp);
    for (int g = 0; g < 2; g++) {
        char what[80];
        snprintf(what, sizeof what, "T %g: <logged T> / T", g ? T2 : T1);
        check(what, temp + g * NSYS / 2, NSYS / 2, 1.0, 0.005, 1e-3);
        double mv, sv;
        mean_se(kvar + g * NSYS / 2, NSYS / 2, &mv, &sv);
        printf("  T %g: Var(K) / (N_f (kT)^2/2) = %.3f (SE %.3f): Berendsen's too small fluctuations\n", g ? T2 : T1,
               mv, sv);
        assert_true(mv < 0.8);
    }
}

int main(void) {
    U = bmd_units_get(BMD_UNITS_LJ);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csvr_kinetic_distribution),
        cmocka_unit_test(test_csvr_effective_energy),
        cmocka_unit_test(test_berendsen_mean_temperature),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
