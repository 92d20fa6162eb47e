/* test_nve_lj.c — dynamics on the Lennard-Jones model (argon, metal units):
 *
 * - NVE conservation: a 256-atom LJ liquid (fcc melted by Maxwell–Boltzmann
 *   velocities at 240 K, settling near 110 K) run 10,000 velocity-Verlet
 *   steps of 2 fs (≈ 0.001 τ): |E(t) − E(0)| / N stays below 2e-5 eV/atom
 *   (0.2% of ε) at every step, with no systematic drift.
 * - Batch independence: a fused stage fire → nve → nvt_langevin on 6 systems
 *   of different sizes (periodic liquids and clusters) gives bitwise the same
 *   positions, velocities, energies and step counts whether the systems run
 *   alone, all in one batch, or in batches of 2 and 3 in another order, with 1
 *   and 2 OpenMP threads (and the same bits with both). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "batchmd/batchmd.h"
#ifdef _OPENMP
#include <omp.h>
#endif

#define EPS 0.0104
#define SIG 3.40
#define RC 8.5

static bmd_units U;

static bmd_model *lj(void) {
    bmd_pair_params p = {0, 0, {EPS, SIG, 0}, RC};
    bmd_pair_options o = {0.5, 1, 1};
    bmd_model *m = NULL;
    assert_int_equal(bmd_model_lj_create(&p, 1, &o, &m), BMD_OK);
    return m;
}

/* fcc argon, n×n×n cubic cells of a = 5.26 Å; periodic, or a cluster cut
 * from it (atoms within `radius` of the centre) when radius > 0. A small
 * deterministic displacement breaks the symmetry. */
static void argon(bmd_system *sys, int n, double radius, long id) {
    const double a = 5.26, basis[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
    double x[4 * 6 * 6 * 6][3];
    int na = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            for (int k = 0; k < n; k++)
                for (int q = 0; q < 4; q++) {
                    double p[3] = {a * (i + basis[q][0]), a * (j + basis[q][1]), a * (k + basis[q][2])};
                    double c = 0.5 * a * (n - 1), r2 = 0;
                    for (int d = 0; d < 3; d++) r2 += (p[d] - c) * (p[d] - c);
                    if (radius > 0 && r2 > radius * radius) continue;
                    for (int d = 0; d < 3; d++) x[na][d] = p[d] + 0.02 * sin(1.3 * na + 2.1 * d + id);
                    na++;
                }
    bmd_system_alloc(sys, na);
    for (int i = 0; i < na; i++) {
        sys->Z[i] = 18;
        sys->mass[i] = bmd_element_mass(18);
        memcpy(sys->pos + 3 * i, x[i], sizeof x[i]);
    }
    if (radius <= 0) {
        sys->cell[0] = sys->cell[4] = sys->cell[8] = a * n;
        sys->pbc[0] = sys->pbc[1] = sys->pbc[2] = 1;
    }
    sys->system_id = id;
}

static bmd_dynamics *make(const char *type, int n, const char **names, const double *vals) {
    bmd_dynamics *d = NULL;
    assert_int_equal(bmd_dynamics_create(type, names, vals, n, &d), BMD_OK);
    return d;
}

static void test_nve_conservation(void **state) {
    (void)state;
    bmd_model *m = lj();
    bmd_batch *b;
    bmd_batch_create(&b);
    bmd_system sys;
    argon(&sys, 4, 0, 0);
    bmd_batch_append(b, &sys, NULL);
    bmd_system_free(&sys);
    const int N = b->n_atoms;
    assert_int_equal(N, 256);
    bmd_stage *st;
    bmd_stage_create(&U, 5, &st);
    const char *names[] = {"dt", "init_temperature"};
    const double vals[] = {2.0, 240.0};
    bmd_convergence c = {0, 0, 10000};
    bmd_stage_add(st, "nve", make("nve", 2, names, vals), &c);
    bmd_hook *drift;
    assert_int_equal(bmd_hook_drift_create(0, 1, &drift), BMD_OK);
    bmd_stage_add_hook(st, drift);
    assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
    /* reference: the total energy after the first step (the drift hook's is the
     * one before it; both are checked) */
    double e1 = b->energy[0] + bmd_kinetic_energy(b, 0, &U), worst = 0, t_sum = 0, first = 0, last = 0;
    long n = 0;
    while (bmd_stage_live(st, b)) {
        assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
        double e = b->energy[0] + bmd_kinetic_energy(b, 0, &U);
        worst = fmax(worst, fabs(e - e1) / N);
        t_sum += bmd_temperature(b, 0, &U, bmd_stage_dof(st, 0));
        n++;
        if (n <= 1000) first += (e - e1) / N / 1000;
        if (n > 8999) last += (e - e1) / N / 1000;
    }
    assert_int_equal(b->status[0], 1);
    printf("  256 Ar, 10,000 x 2 fs: <T> = %.1f K, max |E(t)-E(0)|/N = %.2e eV/atom (hook: %.2e), "
           "drift first->last 1000 steps %.1e eV/atom\n",
           t_sum / n, worst, bmd_hook_drift_max(drift), last - first);
    assert_true(t_sum / n > 90 && t_sum / n < 140); /* a liquid, not a crystal */
    assert_true(worst < 2e-5);
    assert_true(bmd_hook_drift_max(drift) < 2e-5);
    assert_true(fabs(last - first) < 5e-6);
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    bmd_model_destroy(m);
}

/* ---- batch independence ---- */

#define NSYS 6
static const int sizes[NSYS] = {2, 3, 2, 3, 3, 2};       /* fcc cells per side */
static const double radii[NSYS] = {0, 0, 5.5, 7.5, 0, 6.5}; /* 0: periodic */

typedef struct result {
    double pos[3 * 108], vel[3 * 108], energy, steps[3];
    int n;
} result;

static void run_group(int k, const int *ids, result *out) {
    bmd_model *m = lj();
    bmd_batch *b;
    bmd_batch_create(&b);
    for (int i = 0; i < k; i++) {
        bmd_system sys;
        argon(&sys, sizes[ids[i]], radii[ids[i]], ids[i]);
        bmd_batch_append(b, &sys, NULL);
        bmd_system_free(&sys);
    }
    bmd_stage *st;
    bmd_stage_create(&U, 77, &st);
    bmd_convergence cf = {1e-3, 0, 60}, cn = {0, 0, 50}, cl = {0, 0, 50};
    bmd_stage_add(st, "relax", make("fire", 0, NULL, NULL), &cf);
    const char *nn[] = {"dt", "init_temperature"};
    const double nv[] = {5.0, 150.0};
    bmd_stage_add(st, "nve", make("nve", 2, nn, nv), &cn);
    const char *ln[] = {"dt", "temperature", "friction"};
    const double lv[] = {5.0, 100.0, 0.01};
    bmd_stage_add(st, "lgv", make("nvt_langevin", 3, ln, lv), &cl);
    assert_int_equal(bmd_stage_run(st, b, m, 0), BMD_OK);
    for (int s = 0; s < b->n_systems; s++) {
        result *r = &out[b->system_id[s]];
        assert_int_equal(b->status[s], 3);
        r->n = b->atom_count[s];
        memcpy(r->pos, b->pos + 3 * b->atom_start[s], 3 * (size_t)r->n * sizeof(double));
        memcpy(r->vel, b->vel + 3 * b->atom_start[s], 3 * (size_t)r->n * sizeof(double));
        r->energy = b->energy[s];
        for (int i = 0; i < 3; i++) r->steps[i] = bmd_batch_column_data(b, bmd_stage_steps_column(st, b, i))[s];
    }
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    bmd_model_destroy(m);
}

static void batch_independence(int threads, result *all) {
#ifdef _OPENMP
    omp_set_num_threads(threads);
#else
    (void)threads;
#endif
    static result other[NSYS];
    memset(all, 0, NSYS * sizeof *all);
    memset(other, 0, sizeof other);
    const int ids[NSYS] = {0, 1, 2, 3, 4, 5};
    run_group(NSYS, ids, all);
    for (int i = 0; i < NSYS; i++) {
        printf("  system %d: %3d atoms, steps relax/nve/lgv %.0f/%.0f/%.0f\n", i, all[i].n, all[i].steps[0],
               all[i].steps[1], all[i].steps[2]);
        assert_true(all[i].steps[1] == 50 && all[i].steps[2] == 50);
    }
    for (int i = 0; i < NSYS; i++) run_group(1, &ids[i], other);
    assert_memory_equal(all, other, sizeof other);
    memset(other, 0, sizeof other);
    const int g1[2] = {5, 2}, g2[3] = {4, 0, 3}, g3[1] = {1};
    run_group(2, g1, other);
    run_group(3, g2, other);
    run_group(1, g3, other);
    assert_memory_equal(all, other, sizeof other);
}

/* with 1 and 2 OpenMP threads; small systems are each done by one thread in
 * a fixed order, so the two thread counts also agree bit for bit */
static void test_batch_independence(void **state) {
    (void)state;
    static result one[NSYS], two[NSYS];
    batch_independence(1, one);
    batch_independence(2, two);
    assert_memory_equal(one, two, sizeof one);
#ifdef _OPENMP
    omp_set_num_threads(1);
#endif
}

int main(void) {
    U = bmd_units_get(BMD_UNITS_METAL);
#ifdef _OPENMP
    /* Physics, not threading, is tested here (test_stage covers threads). One
     * thread keeps it fast when ctest runs tests side by side: OpenMP threads
     * that spin-wait on an oversubscribed machine slow a 256-atom step ~100x. */
    omp_set_num_threads(1);
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nve_conservation),
        cmocka_unit_test(test_batch_independence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
