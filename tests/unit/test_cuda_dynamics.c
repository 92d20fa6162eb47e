/* test_cuda_dynamics.c — the device's updates (src/cuda/hd_dynamics.h,
 * compiled here by the C compiler) against the CPU dynamics: the same
 * batch stepped by the CPU's nve, nvt_langevin, nvt_nose_hoover, fire and
 * fire2 (their ops called
 * directly) and by the shared host/device functions (per atom, with the
 * per-system sums in atom order as the CPU forms them) stays the same
 * bits, positions and velocities, over 40 steps with LJ forces. The device
 * differs from this only in the order of the per-system sums (its tree) and in
 * the last ulps of the Box–Muller transcendentals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchmd/batchmd.h"
#include "cuda/hd_dynamics.h"

static uint64_t rs = 99;
static double urand(void) {
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (double)(rs >> 11) / 9007199254740992.0;
}

/* two batches with the same two jittered fcc argon crystals and velocities */
static void make(bmd_batch **a, bmd_batch **b) {
    assert_int_equal(bmd_batch_create(a), BMD_OK);
    assert_int_equal(bmd_batch_create(b), BMD_OK);
    for (int sys = 0; sys < 2; sys++) {
        bmd_system s;
        const int nc = 2 + sys, n = 4 * nc * nc * nc;
        assert_int_equal(bmd_system_alloc(&s, n), BMD_OK);
        double *v = malloc(3 * (size_t)n * sizeof(double));
        static const double basis[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
        const double lat = 5.30;
        int k = 0;
        for (int i = 0; i < nc; i++)
            for (int j = 0; j < nc; j++)
                for (int l = 0; l < nc; l++)
                    for (int q = 0; q < 4; q++, k++) {
                        const int c0[3] = {i, j, l};
                        for (int c = 0; c < 3; c++) {
                            s.pos[3 * k + c] = (c0[c] + basis[q][c]) * lat + 0.25 * (urand() - 0.5);
                            v[3 * k + c] = 0.004 * (urand() - 0.5);
                        }
                        s.Z[k] = 18;
                        s.mass[k] = 39.948 * (1 + 0.1 * (k % 3));
                    }
        s.cell[0] = s.cell[4] = s.cell[8] = nc * lat;
        s.pbc[0] = s.pbc[1] = s.pbc[2] = 1;
        s.vel = v;
        assert_int_equal(bmd_batch_append(*a, &s, NULL), BMD_OK);
        assert_int_equal(bmd_batch_append(*b, &s, NULL), BMD_OK);
        bmd_system_free(&s);
    }
}

static bmd_model *lj(void) {
    const bmd_pair_params p = {18, 18, {0.0104, 3.40, 0}, 7.0};
    const bmd_pair_options o = {0.5, 1, 0};
    bmd_model *m;
    assert_int_equal(bmd_model_lj_create(&p, 1, &o, &m), BMD_OK);
    return m;
}

static void forces(bmd_model *m, bmd_batch *b) {
    bmd_compute_request req = {.forces = b->force};
    assert_int_equal(bmd_model_compute(m, b, &req), BMD_OK);
}

enum { NVE, LGV, FIRE, FIRE2, NH };

static void run(int which) {
    bmd_batch *A, *B;
    make(&A, &B);
    bmd_model *m = lj();
    const bmd_units units = bmd_units_get(BMD_UNITS_METAL), *u = &units;
    const char *lnames[] = {"dt", "temperature", "friction"}, *nnames[] = {"dt"};
    const double lvals[] = {2.0, 300.0, 0.02}, nvals[] = {2.0};
    const char *hnames[] = {"dt", "temperature", "tdamp", "chain"};
    const double hvals[] = {2.0, 300.0, 40.0, 3.0};
    double nst[2][BMD_HD_NH_WIDTH] = {{0}}, f2st[2][BMD_HD_F2S_WIDTH] = {{0}}, f2p[BMD_HD_F2_INITIALDELAY + 1];
    const bmd_dynamics_type *f2t = bmd_dynamics_find("fire2");
    for (int k = 0; k <= BMD_HD_F2_INITIALDELAY; k++) f2p[k] = f2t->params[k].def;
    for (int s = 0; s < 2; s++) {
        f2st[s][BMD_HD_F2S_DT] = f2p[BMD_HD_F2_DT];
        f2st[s][BMD_HD_F2S_A] = f2p[BMD_HD_F2_ASTART];
        f2st[s][BMD_HD_F2S_PENDING] = 1;
    }
    for (int s = 0; s < 2; s++) bmd_hd_nhc_enter(hvals, nst[s], u->boltzmann);
    int n_back = 0;
    bmd_dynamics *d = NULL;
    if (which == NVE) assert_int_equal(bmd_dynamics_create("nve", nnames, nvals, 1, &d), BMD_OK);
    else if (which == LGV) assert_int_equal(bmd_dynamics_create("nvt_langevin", lnames, lvals, 3, &d), BMD_OK);
    else if (which == FIRE) assert_int_equal(bmd_dynamics_create("fire", NULL, NULL, 0, &d), BMD_OK);
    else if (which == FIRE2) assert_int_equal(bmd_dynamics_create("fire2", NULL, NULL, 0, &d), BMD_OK);
    else assert_int_equal(bmd_dynamics_create("nvt_nose_hoover", hnames, hvals, 4, &d), BMD_OK);
    double steps[2] = {0, 0};
    const uint64_t seed = 2024;
    const int substage = 3;
    bmd_step_info si = {u, seed, substage, steps, bmd_dynamics_find(d->ops->type)->dof};
    const unsigned char all[2] = {1, 1};
    assert_int_equal(d->ops->enter(d->self, A, all, &si), BMD_OK);
    forces(m, A);
    forces(m, B);
    /* the device's per-system state (FIRE) */
    const bmd_dynamics_type *ft = bmd_dynamics_find("fire");
    double fp[BMD_HD_FIRE_A + 1], fst[2][BMD_HD_FST_WIDTH];
    for (int k = 0; k <= BMD_HD_FIRE_A; k++) fp[k] = ft->params[k].def;
    double *fv = calloc(3 * (size_t)B->n_atoms, sizeof(double));
    for (int s = 0; s < 2; s++) {
        fst[s][BMD_HD_FST_DT] = fp[BMD_HD_FIRE_DT];
        fst[s][BMD_HD_FST_A] = fp[BMD_HD_FIRE_A];
        fst[s][BMD_HD_FST_NSTEPS] = fst[s][BMD_HD_FST_STARTED] = 0;
    }
    const uint32_t stream = BMD_RNG_STREAM(substage, BMD_RNG_LANGEVIN);
    int n_mix = 0;
    for (int step = 0; step < 40; step++) {
        d->ops->pre_update(d->self, A, all, &si);
        for (int s = 0; s < 2; s++) {
            const int a0 = B->atom_start[s], n = B->atom_count[s];
            double *x = B->pos + 3 * (size_t)a0, *v = B->vel + 3 * (size_t)a0;
            const double *f = B->force + 3 * (size_t)a0, *ms = B->mass + a0;
            if (which == NVE) {
                for (int i = 0; i < n; i++) bmd_hd_nve_pre(x + 3 * i, v + 3 * i, f + 3 * i, ms[i], nvals[0], u->ftm2v);
            } else if (which == LGV) {
                const bmd_hd_baoab k = bmd_hd_baoab_make(lvals[0], lvals[1], lvals[2], u->boltzmann, u->ftm2v);
                for (int i = 0; i < n; i++)
                    bmd_hd_baoa(x + 3 * i, v + 3 * i, f + 3 * i, ms[i], &k, seed, (uint64_t)B->system_id[s], stream,
                                (uint64_t)steps[s], (uint64_t)i);
            } else if (which == NH) {
                double mv2 = 0;
                for (int i = 0; i < n; i++) mv2 += bmd_hd_mv2(v + 3 * i, ms[i]);
                const double fac = bmd_hd_nhc_half(hvals, nst[s], mv2, n, u->mvv2e, u->boltzmann);
                for (int j = 0; j < 3 * n; j++) v[j] *= fac;
                for (int i = 0; i < n; i++) bmd_hd_nve_pre(x + 3 * i, v + 3 * i, f + 3 * i, ms[i], hvals[0], u->ftm2v);
            } else if (which == FIRE2) {
                double *w = fv + 3 * (size_t)a0, P = 0, ff = 0, vv = 0, dr2 = 0;
                if (f2st[s][BMD_HD_F2S_PENDING] == 0)
                    for (int j = 0; j < 3 * n; j++) P += f[j] * w[j];
                const bmd_hd_fire2_do o = bmd_hd_fire2_begin(f2p, f2st[s], P);
                assert_int_not_equal(o.mode, BMD_HD_F2_STOP);
                if (o.mode == BMD_HD_F2_BACK) {
                    n_back++;
                    for (int j = 0; j < 3 * n; j++) bmd_hd_fire2_back(&x[j], &w[j], o.dt);
                } else {
                    for (int j = 0; j < 3 * n; j++) {
                        bmd_hd_fire2_kick(&w[j], f[j], o.dt);
                        ff += f[j] * f[j];
                    }
                    for (int j = 0; j < 3 * n; j++) vv += w[j] * w[j];
                    if (ff > 0)
                        for (int j = 0; j < 3 * n; j++) bmd_hd_fire2_mix(&w[j], f[j], o.a, sqrt(ff), sqrt(vv));
                    for (int j = 0; j < 3 * n; j++) dr2 += bmd_hd_fire2_dr2(w[j], o.dt);
                    for (int j = 0; j < 3 * n; j++)
                        bmd_hd_fire2_x(&x[j], w[j], o.dt, sqrt(dr2), f2p[BMD_HD_F2_MAXSTEP]);
                }
            } else {
                double *w = fv + 3 * (size_t)a0, vf = 0, ff = 0, vv = 0, dr2 = 0;
                for (int j = 0; j < 3 * n; j++) vf += f[j] * w[j];
                for (int j = 0; j < 3 * n; j++) ff += f[j] * f[j];
                for (int j = 0; j < 3 * n; j++) vv += w[j] * w[j];
                const bmd_hd_fire_do o = bmd_hd_fire_begin(fp, fst[s], vf, ff, vv);
                n_mix += o.mode == 1;
                for (int j = 0; j < 3 * n; j++) dr2 += bmd_hd_fire_v(&o, &w[j], f[j]);
                for (int j = 0; j < 3 * n; j++) bmd_hd_fire_x(&o, &x[j], w[j], sqrt(dr2), fp[BMD_HD_FIRE_MAXSTEP]);
            }
        }
        assert_memory_equal(A->pos, B->pos, 3 * (size_t)A->n_atoms * sizeof(double));
        forces(m, A);
        forces(m, B);
        if (d->ops->post_update) d->ops->post_update(d->self, A, all, &si);
        if (which == NVE || which == LGV || which == NH)
            for (int s = 0; s < 2; s++) {
                const int a0 = B->atom_start[s], n = B->atom_count[s];
                double *v = B->vel + 3 * (size_t)a0;
                for (int i = 0; i < n; i++)
                    bmd_hd_half_kick(v + 3 * i, B->force + 3 * (size_t)(a0 + i), B->mass[a0 + i], 0.5 * nvals[0] * u->ftm2v);
                if (which == NH) {
                    double mv2 = 0;
                    for (int i = 0; i < n; i++) mv2 += bmd_hd_mv2(v + 3 * i, B->mass[a0 + i]);
                    const double fac = bmd_hd_nhc_half(hvals, nst[s], mv2, n, u->mvv2e, u->boltzmann);
                    for (int j = 0; j < 3 * n; j++) v[j] *= fac;
                }
            }
        assert_memory_equal(A->pos, B->pos, 3 * (size_t)A->n_atoms * sizeof(double));
        assert_memory_equal(A->vel, B->vel, 3 * (size_t)A->n_atoms * sizeof(double));
        steps[0] += 1;
        steps[1] += 1;
    }
    if (which == NH) { /* the chain's state too (η, η̇, η̈, E_thermostat) */
        const int c = bmd_batch_find_column(A, "nvt_nh.3.st");
        assert_true(c >= 0);
        const double *st = bmd_batch_column_data(A, c);
        assert_memory_equal(st, nst[0], sizeof nst[0]);
        assert_memory_equal(st + BMD_HD_NH_WIDTH, nst[1], sizeof nst[1]);
        assert_true(nst[0][BMD_HD_NH_ETHERMO] != 0);
    }
    if (which == FIRE2) { /* FIRE2's velocity and state, and it stepped back at least once */
        const int c = bmd_batch_find_column(A, "fire2.3.v"), cs = bmd_batch_find_column(A, "fire2.3.st");
        assert_true(c >= 0 && cs >= 0);
        assert_memory_equal(bmd_batch_column_data(A, c), fv, 3 * (size_t)A->n_atoms * sizeof(double));
        assert_memory_equal(bmd_batch_column_data(A, cs), f2st, sizeof f2st);
        printf("fire2: %d half steps back in 80 system-steps\n", n_back);
    }
    if (which == FIRE) { /* FIRE's own velocity column too, and it did mix */
        const int c = bmd_batch_find_column(A, "fire.3.v");
        assert_true(c >= 0);
        assert_memory_equal(bmd_batch_column_data(A, c), fv, 3 * (size_t)A->n_atoms * sizeof(double));
        assert_true(n_mix > 10);
    }
    free(fv);
    bmd_dynamics_destroy(d);
    bmd_model_destroy(m);
    bmd_batch_destroy(A);
    bmd_batch_destroy(B);
}

static void test_nve(void **state) { (void)state; run(NVE); }
static void test_langevin(void **state) { (void)state; run(LGV); }
static void test_fire(void **state) { (void)state; run(FIRE); }
static void test_fire2(void **state) { (void)state; run(FIRE2); }
static void test_nose_hoover(void **state) { (void)state; run(NH); }

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nve),
        cmocka_unit_test(test_langevin),
        cmocka_unit_test(test_fire),
        cmocka_unit_test(test_fire2),
        cmocka_unit_test(test_nose_hoover),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
