/* test_crescale.c — npt_crescale (stochastic cell rescaling, Bernetti &
 * Bussi 2020, with the CSVR thermostat) against exact results, lj units
 * (k_B = 1):
 *
 * - Ideal gas, exact: N non-interacting atoms in a periodic box at bath
 *   temperature T and pressure P0 have the isothermal-isobaric volume law
 *   p(V) ∝ V^N exp(−P0 V/kT) (the configurational integral is V^N), a
 *   Gamma(N + 1, kT/P0): ⟨V⟩ = (N + 1) kT/P0, ⟨V²⟩ − ⟨V⟩² = (N + 1)(kT/P0)².
 *   Three state points (T, P0) in ONE batch, each given to its systems on
 *   their info line (temperature=, pressure=): each group must reach its own
 *   law. The test has power against the pitfalls of the method: the
 *   centre of mass's ideal-gas term (the thermostat and the rescaling keep
 *   the total momentum at zero, so the velocities give only N − 1 atoms'
 *   kinetic pressure; without the kT/V that npt_crescale adds, ⟨V⟩ = N kT/P0,
 *   11 % off for N = 8), the kT/V Itô term of the volume equation (p(V) ∝
 *   V^{N±1}: 11 %; 25 % in ⟨V²⟩), and per-system parameters mixed up
 *   between systems (factors of 2 and 4). Iso, and aniso (the volume's law
 *   is the same; the shape of an ideal gas's cell is free). Statistics:
 *   |mean − exact| < 4 SE, the SE from the spread of the systems' own time
 *   averages (independent systems), and the SE below 2 % (⟨V⟩) and 3 %
 *   (⟨V²⟩) of the exact value, so that the errors above are 5 SE or more
 *   away (measured: 1.2 % and 2.3 %). The discretisation (dt/τ_p = 0.01)
 *   biases ⟨V⟩ by far less.
 *
 * - Effective energy (a Lennard-Jones liquid, 32 atoms, 16 systems, iso
 *   and aniso): H̃ = K + U + e_couple (the state row's second entry, whose
 *   first is e_couple) is conserved up to the integrator's error. After 5 τ
 *   at the state point, the RMS over the systems and a window of 10 τ of
 *   H̃(t) − H̃(window start) is below 1e-2 ε per atom at dt = 0.004 τ (measured
 *   2e-3 to 4e-3) and falls by a factor 1.8 to 8 when dt halves: velocity
 *   Verlet's error is O(dt²) (a factor 4), the barostat's bookkeeping adds
 *   an O(dt^{3/2}) per step random walk whose RMS over a fixed time is O(dt)
 *   (a factor 2; alone, in an ideal gas, it is 30 times smaller than
 *   Verlet's here); measured 2.4 to 4.8 over seeds. A wrong term in the
 *   bookkeeping makes H̃ wander by O(kT) whatever dt, a factor near 1
 *   (before the anisotropic mobility was made state-independent, aniso's
 *   RMS stayed at 2e-2 when dt halved).
 *
 * - Anisotropic coupling on a cubic crystal (fcc LJ, 2 x 2 x 2 cells, T
 *   0.3, P 0.5) started 4 % stretched along z: by cubic symmetry the mean
 *   cell lengths along x, y and z must agree, within 4 SE with the SE below
 *   a fifth of the seed's strain (iso, which keeps the cell's shape, keeps
 *   it exactly); an orthogonal cell stays orthogonal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "batchmd/batchmd.h"
#include "support/harmonic_model.h"

static bmd_units U;

/* Mean of x[0..n) and its standard error. */
static void mean_se(const double *x, int n, double *mean, double *se) {
    double m = 0, v = 0;
    for (int s = 0; s < n; s++) m += x[s] / n;
    for (int s = 0; s < n; s++) v += (x[s] - m) * (x[s] - m);
    *mean = m;
    *se = sqrt(v / (n - 1) / n);
}

/* |mean − exact| < 4 SE and SE < power · |exact| */
static void check(const char *what, const double *x, int n, double exact, double power) {
    double mean, se;
    mean_se(x, n, &mean, &se);
    const double z = (mean - exact) / se;
    printf("  %-40s %.5g (exact %.5g), SE %.3g, z = %+.2f\n", what, mean, exact, se, z);
    assert_true(fabs(z) < 4.0);
    assert_true(se < power * fabs(exact));
}

static bmd_stage *stage_of(const char **names, const double *vals, int n, long steps, uint64_t seed) {
    bmd_dynamics *d = NULL;
    assert_int_equal(bmd_dynamics_create("npt_crescale", names, vals, n, &d), BMD_OK);
    assert_true(d->needs & BMD_NEEDS_VIRIAL);
    assert_true(d->needs & BMD_MOVES_CELL);
    bmd_stage *st;
    assert_int_equal(bmd_stage_create(&U, seed, &st), BMD_OK);
    bmd_convergence c = {0, 0, steps};
    assert_int_equal(bmd_stage_add(st, "npt", d, &c), BMD_OK);
    return st;
}

/* ---------------------------------------------------------------- ideal gas */

#define GAS_N 8
#define GAS_GROUPS 3
#define GAS_PER 16
#define GAS_EQUIL 2000
#define GAS_SAMPLE 12000

static void ideal_gas(int aniso) {
    static const double T[GAS_GROUPS] = {1.0, 2.0, 1.0}, P[GAS_GROUPS] = {0.1, 0.1, 0.4};
    bmd_model *m = harmonic_model_new(0.0, 0.0, NULL); /* no forces, no virial */
    bmd_batch *b;
    bmd_batch_create(&b);
    for (int g = 0; g < GAS_GROUPS; g++)
        for (int k = 0; k < GAS_PER; k++) {
            const long id = g * GAS_PER + k;
            bmd_system sys;
            assert_int_equal(bmd_system_alloc(&sys, GAS_N), BMD_OK);
            const double L = cbrt((GAS_N + 1) * T[g] / P[g]);
            for (int i = 0; i < GAS_N; i++) {
                sys.Z[i] = 18;
                sys.mass[i] = 1.0;
                for (int d = 0; d < 3; d++) sys.pos[3 * i + d] = L * (0.5 + 0.45 * sin(1.3 * i + 2.9 * d + 0.7 * id));
            }
            sys.cell[0] = sys.cell[4] = sys.cell[8] = L;
            sys.pbc[0] = sys.pbc[1] = sys.pbc[2] = 1;
            sys.system_id = id;
            char v[32];
            snprintf(v, sizeof v, "%.17g", T[g]);
            bmd_info_set(&sys.info, "temperature", v);
            bmd_info_set(&sys.info, "init_temperature", v);
            snprintf(v, sizeof v, "%.17g", P[g]);
            bmd_info_set(&sys.info, "pressure", v);
            assert_int_equal(bmd_batch_append(b, &sys, NULL), BMD_OK);
            bmd_system_free(&sys);
        }
    /* stage values (temperature 5, pressure 1) that no system keeps */
    const char *names[] = {"dt", "temperature", "pressure", "tau_p", "compressibility", "tdamp", "init_temperature",
                           "couple"};
    const double vals[] = {0.005, 5.0, 1.0, 0.5, 10.0, 0.1, 5.0, aniso};
    bmd_stage *st = stage_of(names, vals, 8, GAS_EQUIL + GAS_SAMPLE + 1, 99);
    enum { NS = GAS_GROUPS * GAS_PER };
    static double m1[NS], m2[NS];
    long samples = 0;
    for (long t = 1; t <= GAS_EQUIL + GAS_SAMPLE; t++) {
        assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
        if (t <= GAS_EQUIL || t % 5) continue;
        for (int s = 0; s < NS; s++) {
            const double V = bmd_batch_volume(b, s);
            m1[s] += V;
            m2[s] += V * V;
        }
        samples++;
    }
    for (int s = 0; s < NS; s++) {
        assert_int_equal(b->status[s], 0);
        assert_int_equal(b->system_id[s], s); /* the batch kept its order */
        m1[s] /= samples;
        m2[s] /= samples;
    }
    for (int g = 0; g < GAS_GROUPS; g++) {
        const double theta = T[g] / P[g], mu = (GAS_N + 1) * theta, var = (GAS_N + 1) * theta * theta;
        char what[80];
        printf("  ideal gas (%s), N = %d, T = %g, P0 = %g: %d systems, %ld samples each\n", aniso ? "aniso" : "iso",
               GAS_N, T[g], P[g], GAS_PER, samples);
        snprintf(what, sizeof what, "<V>");
        check(what, m1 + g * GAS_PER, GAS_PER, mu, 0.02);
        snprintf(what, sizeof what, "<V^2>");
        check(what, m2 + g * GAS_PER, GAS_PER, var + mu * mu, 0.03);
    }
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    harmonic_model_free(m);
}

static void test_ideal_gas(void **state) {
    (void)state;
    ideal_gas(0);
    ideal_gas(1);
}

/* ---------------------------------------------------------- LJ liquid */

#define LJ_NCELL 2
#define LJ_RHO 0.8442

static bmd_model *lj_model(void) {
    bmd_pair_params p = {0, 0, {1.0, 1.0, 0}, 2.5};
    bmd_pair_options o = {0.3, 1, 1};
    bmd_model *m = NULL;
    assert_int_equal(bmd_model_lj_create(&p, 1, &o, &m), BMD_OK);
    return m;
}

/* fcc seed, LJ_NCELL³ cells, jittered per system */
static void liquid(bmd_system *sys, long id) {
    const int n = 4 * LJ_NCELL * LJ_NCELL * LJ_NCELL;
    const double a = cbrt(4.0 / LJ_RHO), basis[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
    assert_int_equal(bmd_system_alloc(sys, n), BMD_OK);
    int k = 0;
    for (int i = 0; i < LJ_NCELL; i++)
        for (int j = 0; j < LJ_NCELL; j++)
            for (int l = 0; l < LJ_NCELL; l++)
                for (int q = 0; q < 4; q++, k++) {
                    const double c[3] = {i + basis[q][0], j + basis[q][1], l + basis[q][2]};
                    for (int d = 0; d < 3; d++) sys->pos[3 * k + d] = a * c[d] + 0.05 * sin(1.7 * k + 2.3 * d + 3.1 * id);
                    sys->Z[k] = 18;
                    sys->mass[k] = 1.0;
                }
    sys->cell[0] = sys->cell[4] = sys->cell[8] = a * LJ_NCELL;
    sys->pbc[0] = sys->pbc[1] = sys->pbc[2] = 1;
    sys->system_id = id;
}

static bmd_batch *liquids(int n) {
    bmd_batch *b;
    bmd_batch_create(&b);
    for (long id = 0; id < n; id++) {
        bmd_system sys;
        liquid(&sys, id);
        assert_int_equal(bmd_batch_append(b, &sys, NULL), BMD_OK);
        bmd_system_free(&sys);
    }
    return b;
}

#define DRIFT_NSYS 16

/* RMS over the systems and a window of 10 τ (after 5 τ at the state point)
 * of H̃(t) − H̃(window start), per atom, at time step dt. */
static double drift(double dt, int aniso) {
    bmd_model *m = lj_model();
    bmd_batch *b = liquids(DRIFT_NSYS);
    const long equil = lround(5.0 / dt), steps = lround(10.0 / dt);
    const char *names[] = {"dt", "temperature", "pressure", "tau_p", "compressibility", "couple", "tdamp",
                           "init_temperature"};
    const double vals[] = {dt, 1.5, 2.0, 0.5, 0.1, aniso, 0.2, 1.5};
    bmd_stage *st = stage_of(names, vals, 8, equil + steps + 1, 7);
    double h0[DRIFT_NSYS], sum2 = 0;
    long n2 = 0;
    for (long t = 1; t <= equil + steps; t++) {
        assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
        if (t < equil) continue;
        const int c = bmd_batch_find_column(b, "npt_crescale.0.st");
        assert_true(c >= 0);
        for (int s = 0; s < DRIFT_NSYS; s++) {
            const double *row = bmd_batch_column_data(b, c) + (size_t)s * b->columns[c].width;
            /* the row's H~ is K + U + e_couple */
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

static void test_effective_energy(void **state) {
    (void)state;
    for (int aniso = 0; aniso <= 1; aniso++) {
        const double d1 = drift(0.004, aniso), d2 = drift(0.002, aniso);
        printf("  %s: RMS of H~(t) - H~(t0) per atom over 10 tau: %.3e (dt 0.004), %.3e (dt 0.002), ratio %.2f\n",
               aniso ? "aniso" : "iso", d1, d2, d1 / d2);
        assert_true(d1 < 1e-2);
        assert_true(d1 / d2 > 1.8 && d1 / d2 < 8.0);
    }
}

#define XT_NSYS 8
#define XT_EQUIL 2000
#define XT_SAMPLE 6000
#define XT_T 0.3
#define XT_P 0.5
#define XT_A 1.57 /* fcc lattice constant (σ) near the state point's */
#define XT_STRAIN 0.04

/* An fcc LJ crystal of 2 x 2 x 2 cubic cells, the z period stretched by
 * XT_STRAIN, jittered per system. */
static void crystal(bmd_system *sys, long id) {
    const int n = 32;
    const double basis[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
    const double a[3] = {XT_A, XT_A, XT_A * (1 + XT_STRAIN)};
    assert_int_equal(bmd_system_alloc(sys, n), BMD_OK);
    int k = 0;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            for (int l = 0; l < 2; l++)
                for (int q = 0; q < 4; q++, k++) {
                    const double c[3] = {i + basis[q][0], j + basis[q][1], l + basis[q][2]};
                    for (int d = 0; d < 3; d++) sys->pos[3 * k + d] = a[d] * c[d] + 0.02 * sin(1.7 * k + 2.3 * d + 3.1 * id);
                    sys->Z[k] = 18;
                    sys->mass[k] = 1.0;
                }
    for (int d = 0; d < 3; d++) sys->cell[4 * d] = 2 * a[d];
    sys->pbc[0] = sys->pbc[1] = sys->pbc[2] = 1;
    sys->system_id = id;
}

/* Per-system time averages of the cell's diagonal lengths over `sample`
 * steps after `equil`. */
static void crystal_npt(int aniso, long equil, long sample, double len[3][XT_NSYS]) {
    bmd_model *m = lj_model();
    bmd_batch *b;
    bmd_batch_create(&b);
    for (long id = 0; id < XT_NSYS; id++) {
        bmd_system sys;
        crystal(&sys, id);
        assert_int_equal(bmd_batch_append(b, &sys, NULL), BMD_OK);
        bmd_system_free(&sys);
    }
    const char *names[] = {"dt", "temperature", "pressure", "tau_p", "compressibility", "couple", "tdamp",
                           "init_temperature"};
    const double vals[] = {0.005, XT_T, XT_P, 0.5, 0.05, aniso, 0.1, XT_T};
    bmd_stage *st = stage_of(names, vals, 8, equil + sample + 1, 11 + aniso);
    long samples = 0;
    for (long t = 1; t <= equil + sample; t++) {
        assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
        for (int s = 0; s < XT_NSYS; s++) {
            const double *h = b->cell + 9 * (size_t)s;
            /* an orthogonal cell stays orthogonal: the rescaling is diagonal */
            assert_true(h[1] == 0 && h[2] == 0 && h[3] == 0 && h[5] == 0 && h[6] == 0 && h[7] == 0);
            if (t > equil && t % 5 == 0)
                for (int k = 0; k < 3; k++) len[k][s] += h[4 * k];
        }
        samples += t > equil && t % 5 == 0;
    }
    for (int s = 0; s < XT_NSYS; s++) {
        assert_int_equal(b->status[s], 0);
        for (int k = 0; k < 3; k++) len[k][s] /= samples;
    }
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    bmd_model_destroy(m);
}

static void test_aniso_crystal(void **state) {
    (void)state;
    static double len_iso[3][XT_NSYS], len_an[3][XT_NSYS];
    crystal_npt(1, XT_EQUIL, XT_SAMPLE, len_an);
    for (int k = 1; k < 3; k++) {
        double d[XT_NSYS];
        for (int s = 0; s < XT_NSYS; s++) d[s] = len_an[k][s] - len_an[0][s];
        double md, sd;
        mean_se(d, XT_NSYS, &md, &sd);
        printf("  fcc LJ, 32 atoms, T %g, P %g, aniso from %g %% z strain: <L_%c - L_x> = %+.5f (SE %.5f; the seed's "
               "%.4f)\n", XT_T, XT_P, 100 * XT_STRAIN, "xyz"[k], md, sd, 2 * XT_STRAIN * XT_A);
        assert_true(fabs(md) < 4.0 * sd);
        assert_true(sd < 0.2 * XT_STRAIN * XT_A); /* the seed's strain would be 10 SE away */
    }
    /* iso keeps the cell's shape: the strain stays */
    crystal_npt(0, 0, 500, len_iso);
    for (int s = 0; s < XT_NSYS; s++)
        assert_true(fabs(len_iso[2][s] / len_iso[0][s] - (1 + XT_STRAIN)) < 1e-12);
}

int main(void) {
    U = bmd_units_get(BMD_UNITS_LJ);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ideal_gas),
        cmocka_unit_test(test_effective_energy),
        cmocka_unit_test(test_aniso_crystal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
