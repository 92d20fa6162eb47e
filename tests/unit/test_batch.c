/* test_batch.c — the live batch: append, stable compaction of atoms,
 * systems and columns, extraction, per-structure parameters; ragged
 * columns (rows of any length per system) through growth, compaction,
 * append and a checkpoint's batch section, bit for bit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "batchmd/batchmd.h"
#include "flow/checkpoint_internal.h"

/* A system of n atoms whose every number encodes (tag, atom, component). */
static void make_system(bmd_system *s, int n, int tag) {
    assert_int_equal(bmd_system_alloc(s, n), BMD_OK);
    assert_int_equal(bmd_system_ensure_vel(s), BMD_OK);
    for (int i = 0; i < n; i++) {
        s->Z[i] = 18;
        s->mass[i] = 39.948;
        for (int k = 0; k < 3; k++) {
            s->pos[3 * i + k] = tag * 1000 + i * 10 + k;
            s->vel[3 * i + k] = -(tag * 1000 + i * 10 + k);
        }
    }
    for (int k = 0; k < 9; k++) s->cell[k] = (k % 4 == 0) ? 10.0 + tag : 0.0;
    s->pbc[0] = s->pbc[1] = s->pbc[2] = 1;
    s->system_id = tag;
    char v[32];
    snprintf(v, sizeof v, "%d", 100 + tag);
    assert_int_equal(bmd_info_set(&s->info, "temperature", v), BMD_OK);
}

static void test_append_remove_compacts(void **state) {
    (void)state;
    bmd_batch *b;
    assert_int_equal(bmd_batch_create(&b), BMD_OK);
    int sizes[] = {3, 1, 7, 2, 5, 200};
    int col_atom, col_sys;
    assert_int_equal(bmd_batch_column(b, "x.v", 1, 3, &col_atom), BMD_OK);
    for (int t = 0; t < 6; t++) {
        bmd_system s;
        make_system(&s, sizes[t], t);
        int slot;
        assert_int_equal(bmd_batch_append(b, &s, &slot), BMD_OK);
        assert_int_equal(slot, t);
        bmd_system_free(&s);
    }
    /* a column created after appends is zero-filled and sized for all */
    assert_int_equal(bmd_batch_column(b, "x.dt", 0, 1, &col_sys), BMD_OK);
    for (int s = 0; s < b->n_systems; s++) {
        bmd_batch_column_data(b, col_sys)[s] = 0.5 * s;
        for (int i = 0; i < b->atom_count[s]; i++)
            for (int k = 0; k < 3; k++)
                bmd_batch_column_data(b, col_atom)[3 * (b->atom_start[s] + i) + k] = s * 1000 + i * 10 + k + 0.25;
    }
    assert_int_equal(b->n_atoms, 218);
    unsigned char rm[6] = {1, 0, 1, 0, 0, 1};
    assert_int_equal(bmd_batch_remove(b, rm), BMD_OK);
    assert_int_equal(b->n_systems, 3);
    assert_int_equal(b->n_atoms, 1 + 2 + 5);
    int kept[3] = {1, 3, 4};
    for (int s = 0; s < 3; s++) {
        int t = kept[s];
        assert_int_equal(b->system_id[s], t);
        assert_int_equal(b->atom_count[s], sizes[t]);
        assert_true(bmd_batch_column_data(b, col_sys)[s] == 0.5 * t);
        assert_true(b->cell[9 * s] == 10.0 + t);
        double T;
        assert_int_equal(bmd_batch_param(b, s, "temperature", -1, &T), BMD_OK);
        assert_true(T == 100 + t);
        for (int i = 0; i < sizes[t]; i++) {
            int a = b->atom_start[s] + i;
            assert_int_equal(b->sys[a], s);
            for (int k = 0; k < 3; k++) {
                assert_true(b->pos[3 * a + k] == t * 1000 + i * 10 + k);
                assert_true(b->vel[3 * a + k] == -(t * 1000 + i * 10 + k));
                assert_true(bmd_batch_column_data(b, col_atom)[3 * a + k] == t * 1000 + i * 10 + k + 0.25);
            }
        }
    }
    /* uids are never reused; appending after removal gives zeroed columns */
    bmd_system s;
    make_system(&s, 4, 9);
    int slot;
    assert_int_equal(bmd_batch_append(b, &s, &slot), BMD_OK);
    bmd_system_free(&s);
    assert_int_equal(slot, 3);
    assert_true(b->uid[3] == 6);
    assert_true(bmd_batch_column_data(b, col_sys)[3] == 0.0);
    for (int i = 0; i < 12; i++) assert_true(bmd_batch_column_data(b, col_atom)[3 * b->atom_start[3] + i] == 0.0);
    bmd_batch_destroy(b);
}

static void test_extract_round_trip(void **state) {
    (void)state;
    bmd_batch *b;
    assert_int_equal(bmd_batch_create(&b), BMD_OK);
    bmd_system in, out;
    make_system(&in, 5, 2);
    assert_int_equal(bmd_batch_append(b, &in, NULL), BMD_OK);
    assert_int_equal(bmd_batch_extract(b, 0, &out), BMD_OK);
    assert_int_equal(out.n_atoms, 5);
    assert_memory_equal(out.pos, in.pos, 15 * sizeof(double));
    assert_memory_equal(out.vel, in.vel, 15 * sizeof(double));
    assert_memory_equal(out.cell, in.cell, sizeof in.cell);
    assert_null(out.forces); /* no forces computed yet */
    assert_int_equal(out.has_energy, 0);
    assert_string_equal(bmd_info_get(&out.info, "temperature"), "102");
    bmd_system_free(&in);
    bmd_system_free(&out);
    bmd_batch_destroy(b);
}

static void test_bad_inputs(void **state) {
    (void)state;
    bmd_batch *b;
    assert_int_equal(bmd_batch_create(&b), BMD_OK);
    bmd_system s;
    make_system(&s, 2, 0);
    assert_int_equal(bmd_info_set(&s.info, "temperature", "hot"), BMD_OK);
    assert_int_equal(bmd_batch_append(b, &s, NULL), BMD_OK);
    double T;
    assert_int_equal(bmd_batch_param(b, 0, "temperature", 1, &T), BMD_ERR_PARSE);
    assert_non_null(strstr(bmd_last_error(), "temperature"));
    int c;
    assert_int_equal(bmd_batch_column(b, "q", 1, 3, &c), BMD_OK);
    assert_int_equal(bmd_batch_column(b, "q", 0, 3, &c), BMD_ERR_INVALID);
    bmd_system empty;
    assert_int_equal(bmd_system_alloc(&empty, 0), BMD_OK);
    assert_int_equal(bmd_batch_append(b, &empty, NULL), BMD_ERR_INVALID);
    bmd_system_free(&empty);
    bmd_system_free(&s);
    bmd_batch_destroy(b);
}

/* row s of the ragged column: length 3 + 7 s (0 for s = 2), entries tagged */
static double tag_of(int id, size_t k) { return id * 1000.0 + (double)k + 0.5; }

static void check_ragged(const bmd_batch *b, int c) {
    for (int s = 0; s < b->n_systems; s++) {
        int id = (int)b->system_id[s];
        size_t len, want = id == 2 ? 0 : 3 + 7 * (size_t)id;
        const double *row = bmd_batch_ragged_row(b, c, s, &len);
        assert_int_equal(len, want);
        if (!want) assert_null(row);
        for (size_t k = 0; k < len; k++) assert_true(row[k] == tag_of(id, k));
    }
}

static void test_ragged_column(void **state) {
    (void)state;
    bmd_batch *b;
    assert_int_equal(bmd_batch_create(&b), BMD_OK);
    int c, cf;
    assert_int_equal(bmd_batch_ragged_column(b, "bfgs.0.H", &c), BMD_OK);
    assert_int_equal(bmd_batch_column(b, "fixed", 0, 2, &cf), BMD_OK);
    /* 40 systems: the system arrays grow (16 -> 64 rows) with rows held */
    for (int t = 0; t < 40; t++) {
        bmd_system s;
        make_system(&s, 1 + t % 5, t);
        int slot;
        assert_int_equal(bmd_batch_append(b, &s, &slot), BMD_OK);
        bmd_system_free(&s);
        size_t len = 7;
        assert_null(bmd_batch_ragged_row(b, c, slot, &len)); /* a new row is empty */
        assert_int_equal(len, 0);
        if (t == 2) continue;
        size_t want = 3 + 7 * (size_t)t;
        assert_int_equal(bmd_batch_ragged_resize(b, c, slot, want), BMD_OK);
        double *row = bmd_batch_ragged_row(b, c, slot, &len);
        assert_int_equal(len, want);
        for (size_t k = 0; k < len; k++) {
            assert_true(row[k] == 0.0); /* zero-filled */
            row[k] = tag_of(t, k);
        }
        bmd_batch_column_data(b, cf)[2 * slot] = t;
    }
    check_ragged(b, c);
    /* compaction keeps every row with its system */
    unsigned char rm[40] = {0};
    for (int s = 0; s < 40; s += 3) rm[s] = 1;
    assert_int_equal(bmd_batch_remove(b, rm), BMD_OK);
    assert_int_equal(b->n_systems, 26);
    check_ragged(b, c);
    /* an appended system after removals gets an empty row */
    bmd_system s;
    make_system(&s, 4, 2);
    int slot;
    assert_int_equal(bmd_batch_append(b, &s, &slot), BMD_OK);
    bmd_system_free(&s);
    check_ragged(b, c);
    /* resize to 0 frees; the shapes of fixed and ragged columns do not mix */
    assert_int_equal(bmd_batch_ragged_resize(b, c, 0, 0), BMD_OK);
    assert_null(bmd_batch_ragged_row(b, c, 0, NULL));
    assert_int_equal(bmd_batch_ragged_resize(b, c, 0, 3 + 7 * (size_t)b->system_id[0]), BMD_OK);
    for (size_t k = 0; k < 3 + 7 * (size_t)b->system_id[0]; k++)
        bmd_batch_ragged_row(b, c, 0, NULL)[k] = tag_of((int)b->system_id[0], k);
    assert_int_equal(bmd_batch_column(b, "bfgs.0.H", 0, 1, NULL), BMD_ERR_INVALID);
    assert_int_equal(bmd_batch_ragged_column(b, "fixed", NULL), BMD_ERR_INVALID);
    assert_int_equal(bmd_batch_ragged_resize(b, cf, 0, 4), BMD_ERR_INVALID);
    assert_null(bmd_batch_ragged_row(b, cf, 0, NULL));

    /* a checkpoint's batch section restores every row bit for bit */
    bmd__buf buf = {0};
    bmd__ckpt_put_batch(&buf, b);
    assert_int_equal(buf.oom, 0);
    bmd_batch *r;
    assert_int_equal(bmd_batch_create(&r), BMD_OK);
    bmd__rd rd = {buf.p, buf.n, 0, 0};
    assert_int_equal(bmd__ckpt_get_batch(&rd, r), BMD_OK);
    assert_int_equal(rd.off, buf.n);
    assert_int_equal(r->n_systems, b->n_systems);
    int rc = bmd_batch_find_column(r, "bfgs.0.H");
    assert_true(rc >= 0 && r->columns[rc].ragged);
    check_ragged(r, rc);
    int rf = bmd_batch_find_column(r, "fixed");
    assert_memory_equal(bmd_batch_column_data(r, rf), bmd_batch_column_data(b, cf), 2 * sizeof(double) * b->n_systems);
    /* a truncated section is refused, not read past its end */
    bmd_batch *t;
    assert_int_equal(bmd_batch_create(&t), BMD_OK);
    bmd__rd cut = {buf.p, buf.n - 9, 0, 0};
    assert_int_equal(bmd__ckpt_get_batch(&cut, t), BMD_ERR_PARSE);
    bmd_batch_destroy(t);
    bmd__buf_free(&buf);
    bmd_batch_destroy(r);
    bmd_batch_destroy(b);
}

static void test_units_match_ase(void **state) {
    (void)state;
    /* ASE 3.22: units.fs and units.kB (CODATA 2014) */
    bmd_units u = bmd_units_get(BMD_UNITS_METAL);
    assert_true(fabs(u.ase_time - 0.09822694788464063) < 1e-17);
    assert_true(fabs(u.boltzmann - 8.617330337217213e-05) < 1e-19);
    assert_true(fabs(u.ftm2v - u.ase_time * u.ase_time) < 1e-17);
    assert_true(fabs(bmd_element_mass(18) - 39.948) < 1e-12);
    assert_int_equal(bmd_element_from_symbol("Cu"), 29);
    assert_int_equal(bmd_element_from_symbol("Qq"), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_remove_compacts),
        cmocka_unit_test(test_extract_round_trip),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_ragged_column),
        cmocka_unit_test(test_units_match_ase),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
