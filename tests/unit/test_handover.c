/* test_handover.c — the pipeline's hand-over format (src/flow/handover.c),
 * MPI-free: which columns travel; a batch's systems packed and unpacked
 * into another batch come back bitwise (atoms, cell, pbc, energy, forces,
 * stress and their flags, system_id, status, info text, travelling columns
 * by name); the buffer's budgets (systems, atoms, info text) hold systems
 * back without losing them, and a system that can never fit is an error;
 * malformed or foreign messages are refused; and a one-rank pipeline
 * (bmd_pipeline_run without links) gives the same bits as bmd_run_inflight. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/handover.h"
#include "support/harmonic_model.h"

static unsigned long rng_state = 12345;
static double urand(void) {
    rng_state = rng_state * 6364136223846793005UL + 1442695040888963407UL;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static void test_column_rule(void **state) {
    (void)state;
    assert_true(bmd__handover_column_travels("steps.relax"));
    assert_true(bmd__handover_column_travels("converged.md"));
    assert_true(bmd__handover_column_travels("drift.e0"));
    assert_true(bmd__handover_column_travels("mine"));
    assert_true(bmd__handover_column_travels("a.1b"));
    assert_false(bmd__handover_column_travels("stage.entered"));
    assert_false(bmd__handover_column_travels("fire.0.v"));
    assert_false(bmd__handover_column_travels("langevin.12.par"));
}

/* A batch of systems of the given sizes, every field random. */
static bmd_batch *random_batch(const int *sizes, int n) {
    bmd_batch *b;
    assert_int_equal(bmd_batch_create(&b), BMD_OK);
    for (int s = 0; s < n; s++) {
        bmd_system sys;
        assert_int_equal(bmd_system_alloc(&sys, sizes[s]), BMD_OK);
        assert_int_equal(bmd_system_ensure_vel(&sys), BMD_OK);
        for (int i = 0; i < sizes[s]; i++) {
            sys.Z[i] = 1 + (int)(urand() * 90);
            sys.mass[i] = 1 + 100 * urand();
            for (int d = 0; d < 3; d++) {
                sys.pos[3 * i + d] = 10 * urand() - 5;
                sys.vel[3 * i + d] = urand() - 0.5;
            }
        }
        for (int k = 0; k < 9; k++) sys.cell[k] = k % 4 == 0 ? 10 + urand() : urand() * 1e-3;
        sys.pbc[0] = (unsigned char)(s & 1);
        sys.pbc[1] = 1;
        sys.pbc[2] = (unsigned char)(s % 3 == 0);
        sys.system_id = 1000 + 7 * s;
        char v[32];
        snprintf(v, sizeof v, "%.17g", urand());
        assert_int_equal(bmd_info_set(&sys.info, "temperature", v), BMD_OK);
        assert_int_equal(bmd_info_set(&sys.info, "name", s % 2 ? "with spaces and = signs" : ""), BMD_OK);
        int slot = -1;
        assert_int_equal(bmd_batch_append(b, &sys, &slot), BMD_OK);
        bmd_system_free(&sys);
        for (int i = 0; i < 3 * sizes[s]; i++) b->force[3 * (size_t)b->atom_start[slot] + i] = urand() - 0.5;
        b->energy[slot] = -urand();
        for (int k = 0; k < 6; k++) b->stress[6 * slot + k] = urand() * 1e-3;
        b->forces_valid[slot] = (unsigned char)(s != 1);
        b->stress_valid[slot] = (unsigned char)(s == 0);
    }
    const char *names[] = {"steps.relax", "converged.relax", "stage.entered", "fire.0.par", "mine"};
    int widths[] = {1, 1, 1, 9, 3};
    for (int c = 0; c < 5; c++) {
        int idx = -1;
        assert_int_equal(bmd_batch_column(b, names[c], 0, widths[c], &idx), BMD_OK);
        for (int i = 0; i < n * widths[c]; i++) b->columns[idx].data[i] = urand() * 100;
    }
    int idx = -1;
    assert_int_equal(bmd_batch_column(b, "fire.0.v", 1, 3, &idx), BMD_OK);
    return b;
}

static void same_system(const bmd_batch *a, int s, const bmd_batch *b, int t) {
    int n = a->atom_count[s];
    size_t a0 = (size_t)a->atom_start[s], b0 = (size_t)b->atom_start[t];
    assert_int_equal(b->atom_count[t], n);
    assert_memory_equal(a->pos + 3 * a0, b->pos + 3 * b0, 24 * (size_t)n);
    assert_memory_equal(a->vel + 3 * a0, b->vel + 3 * b0, 24 * (size_t)n);
    assert_memory_equal(a->force + 3 * a0, b->force + 3 * b0, 24 * (size_t)n);
    assert_memory_equal(a->mass + a0, b->mass + b0, 8 * (size_t)n);
    assert_memory_equal(a->Z + a0, b->Z + b0, 4 * (size_t)n);
    assert_memory_equal(a->cell + 9 * s, b->cell + 9 * t, 72);
    assert_memory_equal(a->pbc + 3 * s, b->pbc + 3 * t, 3);
    assert_memory_equal(a->energy + s, b->energy + t, 8);
    assert_memory_equal(a->stress + 6 * s, b->stress + 6 * t, 48);
    assert_int_equal(a->forces_valid[s], b->forces_valid[t]);
    assert_int_equal(a->stress_valid[s], b->stress_valid[t]);
    assert_int_equal(a->system_id[s], b->system_id[t]);
    assert_int_equal(a->info[s].n, b->info[t].n);
    for (int i = 0; i < a->info[s].n; i++)
        assert_string_equal(bmd_info_get(&b->info[t], a->info[s].keys[i]), a->info[s].values[i]);
    for (int c = 0; c < a->n_columns; c++) {
        const bmd_column *col = &a->columns[c];
        int d = bmd_batch_find_column(b, col->name);
        if (col->per_atom || !bmd__handover_column_travels(col->name)) {
            assert_int_equal(d, -1);
            continue;
        }
        assert_true(d >= 0);
        assert_memory_equal(col->data + (size_t)col->width * s, b->columns[d].data + (size_t)col->width * t,
                            8 * (size_t)col->width);
    }
}

static void test_round_trip(void **state) {
    (void)state;
    const int sizes[] = {3, 5, 1, 7};
    bmd_batch *a = random_batch(sizes, 4);
    a->status[2] = BMD_STATUS_FAILED;
    assert_int_equal(bmd_info_set(&a->info[2], "status", "force_blowup"), BMD_OK);
    bmd__handover h;
    assert_int_equal(bmd__handover_init(&h, 8, 100), BMD_OK);
    assert_int_equal(h.capacity, bmd_pipeline_buffer_bytes(8, 100));
    for (int s = 0; s < 4; s++) {
        int packed = 0;
        assert_int_equal(bmd__handover_pack(&h, a, s, a->status[s] == BMD_STATUS_FAILED, &packed), BMD_OK);
        assert_int_equal(packed, 1);
    }
    size_t len = bmd__handover_seal(&h, BMD__HO_DONE, 5, 42, -1);
    assert_true(len <= h.capacity);
    /* received into a buffer of the full capacity, as a rank does */
    unsigned char *msg = malloc(h.capacity);
    memcpy(msg, h.buf, len);
    bmd__handover_reader rd;
    assert_int_equal(bmd__handover_open(&rd, msg, len, h.capacity), BMD_OK);
    assert_int_equal(rd.n_systems, 4);
    assert_int_equal(rd.n_atoms, 16);
    assert_int_equal(rd.flags, BMD__HO_DONE);
    assert_int_equal(rd.seq, 5);
    assert_int_equal(rd.total, 42);
    assert_int_equal(rd.origin, -1);
    bmd_batch *b;
    assert_int_equal(bmd_batch_create(&b), BMD_OK);
    int idx = -1;
    assert_int_equal(bmd_batch_column(b, "converged.relax", 0, 1, &idx), BMD_OK); /* exists: reused by name */
    for (int s = 0; s < 4; s++) {
        int failed = -1;
        assert_int_equal(bmd__handover_peek(&rd, &failed), sizes[s]);
        assert_int_equal(failed, s == 2);
        int slot = -1;
        assert_int_equal(bmd__handover_unpack(&rd, b, &slot), BMD_OK);
        assert_int_equal(slot, s);
        assert_int_equal(b->status[slot], s == 2 ? BMD_STATUS_FAILED : 0);
    }
    assert_int_equal(bmd__handover_peek(&rd, NULL), -1);
    for (int s = 0; s < 4; s++) same_system(a, s, b, s);
    assert_string_equal(bmd_info_get(&b->info[2], "status"), "force_blowup");
    free(msg);
    bmd__handover_free(&h);
    bmd_batch_destroy(a);
    bmd_batch_destroy(b);
}

static void test_budgets(void **state) {
    (void)state;
    const int sizes[] = {5, 5, 2, 1, 9};
    bmd_batch *a = random_batch(sizes, 5);
    bmd__handover h;
    assert_int_equal(bmd__handover_init(&h, 2, 8), BMD_OK);
    int packed = -1;
    assert_int_equal(bmd__handover_pack(&h, a, 0, 0, &packed), BMD_OK);
    assert_int_equal(packed, 1);
    assert_int_equal(bmd__handover_pack(&h, a, 1, 0, &packed), BMD_OK); /* 10 atoms > 8: held back */
    assert_int_equal(packed, 0);
    assert_int_equal(bmd__handover_pack(&h, a, 2, 0, &packed), BMD_OK);
    assert_int_equal(packed, 1);
    assert_int_equal(bmd__handover_pack(&h, a, 3, 0, &packed), BMD_OK); /* 3 systems > 2 */
    assert_int_equal(packed, 0);
    assert_int_equal(bmd__handover_pack(&h, a, 4, 0, &packed), BMD_ERR_BUDGET); /* 9 atoms: never */
    assert_non_null(strstr(bmd_last_error(), "batch.buffer"));
    assert_int_equal(packed, 0);
    size_t len = bmd__handover_seal(&h, 0, 0, -1, -1);
    bmd__handover_reader rd;
    assert_int_equal(bmd__handover_open(&rd, h.buf, len, h.capacity), BMD_OK);
    assert_int_equal(rd.n_systems, 2);
    assert_int_equal(rd.n_atoms, 7);
    /* the next round: an empty buffer takes what was held back */
    bmd__handover_reset(&h);
    assert_int_equal(bmd__handover_pack(&h, a, 1, 0, &packed), BMD_OK);
    assert_int_equal(packed, 1);
    /* info text beyond the buffer's budget (2 x BMD_HANDOVER_INFO_BYTES) */
    char *big = malloc(3 * BMD_HANDOVER_INFO_BYTES);
    memset(big, 'x', 3 * BMD_HANDOVER_INFO_BYTES - 1);
    big[3 * BMD_HANDOVER_INFO_BYTES - 1] = 0;
    assert_int_equal(bmd_info_set(&a->info[3], "note", big), BMD_OK);
    bmd__handover_reset(&h);
    assert_int_equal(bmd__handover_pack(&h, a, 3, 0, &packed), BMD_ERR_BUDGET);
    free(big);
    bmd__handover_free(&h);
    bmd_batch_destroy(a);
    assert_int_equal(bmd__handover_init(&h, 0, 8), BMD_ERR_INVALID);
    assert_int_equal(bmd_pipeline_buffer_bytes(0, 8), 0);
}

static void test_malformed(void **state) {
    (void)state;
    const int sizes[] = {4};
    bmd_batch *a = random_batch(sizes, 1);
    bmd__handover h;
    assert_int_equal(bmd__handover_init(&h, 4, 40), BMD_OK);
    /* an empty message (what a rank sends when nothing left its stage) */
    size_t len = bmd__handover_seal(&h, BMD__HO_DONE | BMD__HO_ERROR, 9, 3, 2);
    bmd__handover_reader rd;
    assert_int_equal(bmd__handover_open(&rd, h.buf, len, h.capacity), BMD_OK);
    assert_int_equal(rd.n_systems, 0);
    assert_int_equal(rd.flags, BMD__HO_DONE | BMD__HO_ERROR);
    assert_int_equal(rd.origin, 2);
    int packed = 0;
    assert_int_equal(bmd__handover_pack(&h, a, 0, 0, &packed), BMD_OK);
    len = bmd__handover_seal(&h, 0, 10, 3, -1);
    assert_int_equal(bmd__handover_open(&rd, h.buf, len - 1, h.capacity), BMD_ERR_PARSE);  /* truncated */
    assert_int_equal(bmd__handover_open(&rd, h.buf, len, h.capacity + 8), BMD_ERR_PARSE); /* other buffer */
    assert_non_null(strstr(bmd_last_error(), "batch.buffer"));
    assert_int_equal(bmd__handover_open(&rd, h.buf, 20, h.capacity), BMD_ERR_PARSE);
    h.buf[0] ^= 0xff; /* not ours */
    assert_int_equal(bmd__handover_open(&rd, h.buf, len, h.capacity), BMD_ERR_PARSE);
    bmd__handover_free(&h);
    bmd_batch_destroy(a);
}

/* ------------------------------------ a one-rank pipeline = the runner */

static bmd_stage *make_stage(void) {
    bmd_units u = bmd_units_get(BMD_UNITS_METAL);
    bmd_stage *st;
    assert_int_equal(bmd_stage_create(&u, 11, &st), BMD_OK);
    bmd_convergence relax = {1e-3, 0, 30}, anneal = {0, 0, 12};
    bmd_dynamics *fire = NULL, *lgv = NULL;
    assert_int_equal(bmd_dynamics_create("fire", NULL, NULL, 0, &fire), BMD_OK);
    assert_int_equal(bmd_stage_add(st, "relax", fire, &relax), BMD_OK);
    const char *names[] = {"dt", "temperature", "friction"};
    double values[] = {1.0, 300.0, 0.05};
    assert_int_equal(bmd_dynamics_create("nvt_langevin", names, values, 3, &lgv), BMD_OK);
    assert_int_equal(bmd_stage_add(st, "anneal", lgv, &anneal), BMD_OK);
    return st;
}

static void test_one_rank_pipeline(void **state) {
    (void)state;
    enum { N = 40 };
    bmd_system v[N];
    for (int i = 0; i < N; i++) {
        int n = 1 + (int)(urand() * 12);
        assert_int_equal(bmd_system_alloc(&v[i], n), BMD_OK);
        for (int k = 0; k < n; k++) {
            v[i].Z[k] = 18;
            v[i].mass[k] = 39.948;
            for (int d = 0; d < 3; d++) v[i].pos[3 * k + d] = urand() - 0.5;
        }
        v[i].cell[0] = v[i].cell[4] = v[i].cell[8] = 30;
    }
    bmd_dataset *ds;
    assert_int_equal(bmd_dataset_from_systems(v, N, 1, &ds), BMD_OK);
    for (int i = 0; i < N; i++) bmd_system_free(&v[i]);
    bmd_model *m = harmonic_model_new(1.0, 0.3, NULL);
    bmd_run_options opt = {.max_atoms = 60, .max_systems = 8, .refill_every = 3};
    bmd_sink *f1, *f2, *x1, *x2;
    assert_int_equal(bmd_sink_memory_create(0, &f1), BMD_OK);
    assert_int_equal(bmd_sink_memory_create(0, &f2), BMD_OK);
    assert_int_equal(bmd_sink_memory_create(0, &x1), BMD_OK);
    assert_int_equal(bmd_sink_memory_create(0, &x2), BMD_OK);
    bmd_stage *st = make_stage();
    bmd_run_stats s1, s2;
    assert_int_equal(bmd_run_inflight(st, m, ds, &opt, f1, x1, &s1), BMD_OK);
    bmd_stage_destroy(st);
    st = make_stage();
    bmd_pipeline_node node;
    bmd_pipeline_chain(&node, 1);
    assert_int_equal(node.prior, -1);
    assert_int_equal(node.next, -1);
    bmd_pipeline_options popt = {.buffer_systems = 4, .buffer_atoms = 100, .comm = BMD_COMM_ASYNC_RECV};
    bmd_pipeline *p = NULL;
    assert_int_equal(bmd_pipeline_create(&node, 1, &popt, ds, &opt, &p), BMD_OK);
    assert_true(bmd_pipeline_is_first(p) && bmd_pipeline_is_last(p));
    assert_int_equal(bmd_pipeline_run(p, st, m, ds, &opt, f2, x2, &s2), BMD_OK);
    bmd_pipeline_totals t;
    assert_int_equal(bmd_pipeline_get_totals(p, &t), BMD_OK);
    assert_int_equal(t.total, N);
    assert_int_equal(t.done, N);
    assert_int_equal(s2.done, N);
    assert_int_equal(bmd_sink_memory_count(f1), N);
    assert_int_equal(bmd_sink_memory_count(f2), N);
    for (long i = 0; i < N; i++) {
        const bmd_system *a = bmd_sink_memory_at(f1, i), *b = NULL;
        for (long j = 0; j < N && !b; j++)
            if (bmd_sink_memory_at(f2, j)->system_id == a->system_id) b = bmd_sink_memory_at(f2, j);
        assert_non_null(b);
        assert_memory_equal(a->pos, b->pos, 24 * (size_t)a->n_atoms);
        assert_memory_equal(a->vel, b->vel, 24 * (size_t)a->n_atoms);
        assert_memory_equal(&a->energy, &b->energy, 8);
        assert_string_equal(bmd_info_get(&a->info, "steps_relax"), bmd_info_get(&b->info, "steps_relax"));
        assert_string_equal(bmd_info_get(&a->info, "steps_anneal"), bmd_info_get(&b->info, "steps_anneal"));
    }
    /* a wrong world: 2 nodes for a world of 1 is refused, naming the counts */
    bmd_pipeline_node two[2];
    bmd_pipeline_chain(two, 2);
    bmd_pipeline *q = NULL;
    assert_int_equal(bmd_pipeline_create(two, 2, &popt, ds, &opt, &q), BMD_ERR_INVALID);
    assert_non_null(strstr(bmd_last_error(), "2 stage groups"));
    assert_null(q);
    bmd_pipeline_destroy(p);
    bmd_stage_destroy(st);
    bmd_sink_destroy(f1);
    bmd_sink_destroy(f2);
    bmd_sink_destroy(x1);
    bmd_sink_destroy(x2);
    harmonic_model_free(m);
    bmd_dataset_close(ds);
}

/* The index offset is stored (negative clamps to 0); that fused and piped
 * stages then draw the same numbers is checked in tests/mpi. */
static void test_index_offset(void **state) {
    (void)state;
    bmd_units u = bmd_units_get(BMD_UNITS_METAL);
    bmd_stage *st;
    assert_int_equal(bmd_stage_create(&u, 1, &st), BMD_OK);
    assert_int_equal(bmd_stage_index_offset(st), 0);
    bmd_stage_set_index_offset(st, 3);
    assert_int_equal(bmd_stage_index_offset(st), 3);
    bmd_stage_set_index_offset(st, -2);
    assert_int_equal(bmd_stage_index_offset(st), 0);
    bmd_stage_destroy(st);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_column_rule),  cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_budgets),      cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_one_rank_pipeline), cmocka_unit_test(test_index_offset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
