/* test_rescaling_batch.c — nvt_csvr, nvt_berendsen and npt_crescale (iso and
 * aniso) keep batchmd's batch independence bit for bit, and a system handed
 * over without a stress into a stage that needs the virial takes the steps
 * of the fused run.
 *
 * - Batch independence: five Lennard-Jones systems (lj units: liquids of 32
 *   and 108 atoms, a 32-atom crystal; their own temperature and pressure on
 *   the info line for some) run 150 steps all in one batch, each alone, and
 *   in a batch of the five in another order: every system's positions,
 *   velocities, cell, energy and state row ("<type>.0.st": the conserved
 *   energy and the barostat's state) are bitwise the same. The thermostat's
 *   and barostat's noise is keyed by (seed, system_id, stream, the system's
 *   own step), never by slot or batch.
 * - Fused and piped: "md + npt" (nve for 20 steps, then npt_crescale for 40)
 *   in one stage, against "md | npt": nve alone, its systems packed into the
 *   pipeline's hand-over format (which carries forces but no stress, as
 *   nve's stage did not compute it) and unpacked into a new batch that a
 *   stage of npt_crescale alone (index offset 1) runs. The stage evaluates
 *   an arriving system that lacks the stress its dynamics needs once more,
 *   so the piped run's bits equal the fused run's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "batchmd/batchmd.h"
#include "flow/handover.h"

#define NS 5
#define STEPS 150

static bmd_units U;

static bmd_model *lj_model(void) {
    bmd_pair_params p = {0, 0, {1.0, 1.0, 0}, 2.5};
    bmd_pair_options o = {0.3, 1, 1};
    bmd_model *m = NULL;
    assert_int_equal(bmd_model_lj_create(&p, 1, &o, &m), BMD_OK);
    return m;
}

/* System `id`: fcc of nc³ cells at density rho, jittered; per-system
 * temperature / pressure on the info line for some. */
static void make_system(bmd_system *sys, long id) {
    const int nc = id == 1 ? 3 : 2;
    const double rho = id == 2 ? 1.0 : 0.8442;
    const double a = cbrt(4.0 / rho), basis[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
    assert_int_equal(bmd_system_alloc(sys, 4 * nc * nc * nc), BMD_OK);
    int k = 0;
    for (int i = 0; i < nc; i++)
        for (int j = 0; j < nc; j++)
            for (int l = 0; l < nc; l++)
                for (int q = 0; q < 4; q++, k++) {
                    const double c[3] = {i + basis[q][0], j + basis[q][1], l + basis[q][2]};
                    for (int d = 0; d < 3; d++) sys->pos[3 * k + d] = a * c[d] + 0.04 * sin(1.7 * k + 2.3 * d + 3.1 * id);
                    sys->Z[k] = 18;
                    sys->mass[k] = 1.0;
                }
    sys->cell[0] = sys->cell[4] = sys->cell[8] = a * nc;
    sys->pbc[0] = sys->pbc[1] = sys->pbc[2] = 1;
    sys->system_id = id;
    if (id == 3) bmd_info_set(&sys->info, "temperature", "1.6");
    if (id == 4) {
        bmd_info_set(&sys->info, "temperature", "0.8");
        bmd_info_set(&sys->info, "pressure", "2.5");
    }
}

static bmd_dynamics *dynamics(const char *type, int aniso) {
    bmd_dynamics *d = NULL;
    if (strcmp(type, "npt_crescale") == 0) {
        const char *names[] = {"dt", "temperature", "pressure", "tau_p", "compressibility", "couple", "tdamp",
                               "init_temperature"};
        const double vals[] = {0.005, 1.2, 1.0, 0.2, 0.1, aniso, 0.1, 1.2};
        assert_int_equal(bmd_dynamics_create(type, names, vals, 8, &d), BMD_OK);
    } else {
        const char *names[] = {"dt", "temperature", "tdamp", "init_temperature"};
        const double vals[] = {0.005, 1.2, 0.1, 1.2};
        assert_int_equal(bmd_dynamics_create(type, names, vals, 4, &d), BMD_OK);
    }
    return d;
}

/* The systems ids[0..n) in one batch, run STEPS steps of `type`. */
static bmd_batch *run_batch(const char *type, int aniso, const long *ids, int n) {
    bmd_batch *b;
    bmd_batch_create(&b);
    for (int i = 0; i < n; i++) {
        bmd_system sys;
        make_system(&sys, ids[i]);
        assert_int_equal(bmd_batch_append(b, &sys, NULL), BMD_OK);
        bmd_system_free(&sys);
    }
    bmd_model *m = lj_model();
    bmd_stage *st;
    assert_int_equal(bmd_stage_create(&U, 31, &st), BMD_OK);
    bmd_convergence c = {0, 0, STEPS + 10};
    assert_int_equal(bmd_stage_add(st, "md", dynamics(type, aniso), &c), BMD_OK);
    for (int t = 0; t < STEPS; t++) assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
    for (int s = 0; s < n; s++) assert_int_equal(b->status[s], 0);
    bmd_stage_destroy(st);
    bmd_model_destroy(m);
    return b;
}

static int slot_of(const bmd_batch *b, long id) {
    for (int s = 0; s < b->n_systems; s++)
        if (b->system_id[s] == id) return s;
    fail_msg("system %ld missing", id);
    return -1;
}

/* Bitwise equality of system id in a and b: atoms, cell, energy, and the
 * per-system rows of the columns named in cols (NULL-terminated). */
static void same(const bmd_batch *a, const bmd_batch *b, long id, const char *const *cols) {
    const int sa = slot_of(a, id), sb = slot_of(b, id), n = a->atom_count[sa];
    assert_int_equal(n, b->atom_count[sb]);
    assert_memory_equal(a->pos + 3 * (size_t)a->atom_start[sa], b->pos + 3 * (size_t)b->atom_start[sb], 24 * (size_t)n);
    assert_memory_equal(a->vel + 3 * (size_t)a->atom_start[sa], b->vel + 3 * (size_t)b->atom_start[sb], 24 * (size_t)n);
    assert_memory_equal(a->cell + 9 * (size_t)sa, b->cell + 9 * (size_t)sb, 72);
    assert_memory_equal(&a->energy[sa], &b->energy[sb], 8);
    for (int k = 0; cols[k]; k++) {
        const int ca = bmd_batch_find_column(a, cols[k]), cb = bmd_batch_find_column(b, cols[k]);
        assert_true(ca >= 0 && cb >= 0);
        const int w = a->columns[ca].width;
        assert_memory_equal(bmd_batch_column_data(a, ca) + (size_t)sa * w, bmd_batch_column_data(b, cb) + (size_t)sb * w,
                            8 * (size_t)w);
    }
}

static void independence(const char *type, int aniso) {
    const long all[NS] = {0, 1, 2, 3, 4}, shuffled[NS] = {3, 0, 4, 2, 1};
    char col[64];
    snprintf(col, sizeof col, "%s.0.st", type);
    const char *cols[] = {col, NULL};
    bmd_batch *together = run_batch(type, aniso, all, NS), *other = run_batch(type, aniso, shuffled, NS);
    for (long id = 0; id < NS; id++) {
        bmd_batch *alone = run_batch(type, aniso, &id, 1);
        same(together, alone, id, cols);
        same(together, other, id, cols);
        bmd_batch_destroy(alone);
    }
    /* the systems did move their cells (npt) and differ from each other */
    const int s0 = slot_of(together, 0), s3 = slot_of(together, 3);
    if (strcmp(type, "npt_crescale") == 0) assert_true(together->cell[9 * s0] != cbrt(4.0 / 0.8442) * 2);
    assert_true(bmd_temperature(together, s3, &U, BMD_DOF_MOMENTUM) != bmd_temperature(together, s0, &U, BMD_DOF_MOMENTUM));
    printf("  %s%s: %d systems alone, together and reordered: the same bits\n", type,
           strcmp(type, "npt_crescale") ? "" : aniso ? " (aniso)" : " (iso)", NS);
    bmd_batch_destroy(together);
    bmd_batch_destroy(other);
}

static void test_batch_independence(void **state) {
    (void)state;
    independence("nvt_csvr", 0);
    independence("nvt_berendsen", 0);
    independence("npt_crescale", 0);
    independence("npt_crescale", 1);
}

static bmd_dynamics *nve(void) {
    const char *names[] = {"dt", "init_temperature"};
    const double vals[] = {0.005, 1.2};
    bmd_dynamics *d = NULL;
    assert_int_equal(bmd_dynamics_create("nve", names, vals, 2, &d), BMD_OK);
    return d;
}

static void test_fused_and_piped(void **state) {
    (void)state;
    bmd_model *m = lj_model();
    bmd_convergence c_md = {0, 0, 20}, c_npt = {0, 0, 40};
    /* fused: md + npt */
    bmd_batch *fused;
    bmd_batch_create(&fused);
    for (long id = 0; id < NS; id++) {
        bmd_system sys;
        make_system(&sys, id);
        assert_int_equal(bmd_batch_append(fused, &sys, NULL), BMD_OK);
        bmd_system_free(&sys);
    }
    bmd_stage *st;
    assert_int_equal(bmd_stage_create(&U, 5, &st), BMD_OK);
    assert_int_equal(bmd_stage_add(st, "md", nve(), &c_md), BMD_OK);
    assert_int_equal(bmd_stage_add(st, "npt", dynamics("npt_crescale", 1), &c_npt), BMD_OK);
    assert_int_equal(bmd_stage_run(st, fused, m, 0), BMD_OK);
    for (int s = 0; s < NS; s++) assert_int_equal(fused->status[s], 2);
    bmd_stage_destroy(st);

    /* piped: md, hand-over, npt (global index 1) */
    bmd_batch *first, *second;
    bmd_batch_create(&first);
    bmd_batch_create(&second);
    for (long id = 0; id < NS; id++) {
        bmd_system sys;
        make_system(&sys, id);
        assert_int_equal(bmd_batch_append(first, &sys, NULL), BMD_OK);
        bmd_system_free(&sys);
    }
    assert_int_equal(bmd_stage_create(&U, 5, &st), BMD_OK);
    assert_int_equal(bmd_stage_add(st, "md", nve(), &c_md), BMD_OK);
    assert_int_equal(bmd_stage_run(st, first, m, 0), BMD_OK);
    bmd_stage_destroy(st);
    bmd__handover h;
    assert_int_equal(bmd__handover_init(&h, NS, 1000), BMD_OK);
    for (int s = 0; s < NS; s++) {
        assert_int_equal(first->status[s], 1);
        assert_int_equal(first->forces_valid[s], 1);
        assert_int_equal(first->stress_valid[s], 0); /* nve's stage did not ask for it */
        int packed = 0;
        assert_int_equal(bmd__handover_pack(&h, first, s, 0, &packed), BMD_OK);
        assert_int_equal(packed, 1);
    }
    const size_t len = bmd__handover_seal(&h, BMD__HO_DONE, 0, NS, -1);
    bmd__handover_reader rd;
    assert_int_equal(bmd__handover_open(&rd, h.buf, len, h.capacity), BMD_OK);
    for (int s = 0; s < NS; s++) assert_int_equal(bmd__handover_unpack(&rd, second, NULL), BMD_OK);
    for (int s = 0; s < NS; s++) assert_int_equal(second->stress_valid[s], 0);
    assert_int_equal(bmd_stage_create(&U, 5, &st), BMD_OK);
    bmd_stage_set_index_offset(st, 1);
    assert_int_equal(bmd_stage_add(st, "npt", dynamics("npt_crescale", 1), &c_npt), BMD_OK);
    assert_int_equal(bmd_stage_run(st, second, m, 0), BMD_OK);
    bmd_stage_destroy(st);
    const char *cols[] = {"npt_crescale.1.st", "steps.md", "steps.npt", NULL};
    for (long id = 0; id < NS; id++) {
        assert_int_equal(second->status[slot_of(second, id)], 1); /* done, not no_stress */
        same(fused, second, id, cols);
    }
    printf("  md + npt fused and md | npt handed over: the same bits\n");
    bmd__handover_free(&h);
    bmd_batch_destroy(fused);
    bmd_batch_destroy(first);
    bmd_batch_destroy(second);
    bmd_model_destroy(m);
}

int main(void) {
    U = bmd_units_get(BMD_UNITS_LJ);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_independence),
        cmocka_unit_test(test_fused_and_piped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
