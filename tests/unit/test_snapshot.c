/* test_snapshot.c — the snapshot hooks (hooks.h) on the analytic harmonic
 * model, into an in-memory test sink: frames at each system's own step
 * counts (0, every, 2 every, ... across fused sub-stages), times from the
 * MD sub-stages' dt (and a structure's "dt"), the same frames and bits
 * alone and in a batch of other sizes, the system filter, a system that
 * converges on entry, each system's last frame = the state it leaves with
 * (written once), the converged-snapshot hook, sink ownership, and the
 * H5MD sink's errors (or its absence in a build without HDF5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batchmd/h5md.h"
#include "support/harmonic_model.h"

static bmd_units U;

/* ------------------------------------------------ the in-memory sink */

#define MAXF 512
#define MAXA 16

typedef struct frame {
    int64_t id;
    long step;
    double time;
    int n;
    double pos[3 * MAXA], vel[3 * MAXA], force[3 * MAXA], energy;
    char stage[40], conv[4];
} frame;

typedef struct rec {
    int n;
    frame f[MAXF];
    int closes, *destroyed;
} rec;

static bmd_status rec_write(void *self, const bmd_system *sys) {
    rec *r = self;
    assert_true(r->n < MAXF && sys->n_atoms <= MAXA);
    frame *f = &r->f[r->n++];
    memset(f, 0, sizeof *f);
    f->id = sys->system_id;
    f->n = sys->n_atoms;
    const char *step = bmd_info_get(&sys->info, "step"), *time = bmd_info_get(&sys->info, "time");
    assert_non_null(step);
    assert_non_null(time);
    f->step = atol(step);
    f->time = strtod(time, NULL);
    memcpy(f->pos, sys->pos, 3 * (size_t)f->n * sizeof(double));
    assert_non_null(sys->vel);
    memcpy(f->vel, sys->vel, 3 * (size_t)f->n * sizeof(double));
    assert_non_null(sys->forces); /* frames always carry valid forces */
    memcpy(f->force, sys->forces, 3 * (size_t)f->n * sizeof(double));
    assert_true(sys->has_energy);
    f->energy = sys->energy;
    const char *st = bmd_info_get(&sys->info, "stage");
    if (st) {
        snprintf(f->stage, sizeof f->stage, "%s", st);
        char key[64];
        snprintf(key, sizeof key, "converged_%s", st);
        const char *c = bmd_info_get(&sys->info, key);
        assert_non_null(c);
        snprintf(f->conv, sizeof f->conv, "%s", c);
    }
    return BMD_OK;
}

static bmd_status rec_close(void *self) {
    ((rec *)self)->closes++;
    return BMD_OK;
}

static void rec_destroy(void *self) {
    rec *r = self;
    if (r->destroyed) (*r->destroyed)++;
    /* the recording stays the test's: not freed here */
}

static const bmd_sink_ops rec_ops = {.type = "test", .write = rec_write, .close = rec_close, .destroy = rec_destroy};

static bmd_sink *rec_sink(rec *r, int *destroyed) {
    memset(r, 0, sizeof *r);
    r->destroyed = destroyed;
    bmd_sink *s = calloc(1, sizeof *s);
    s->ops = &rec_ops;
    s->self = r;
    return s;
}

/* The frames of system id in r, in order, into out; returns their count. */
static int frames_of(const rec *r, int64_t id, const frame **out) {
    int n = 0;
    for (int i = 0; i < r->n; i++)
        if (r->f[i].id == id) out[n++] = &r->f[i];
    return n;
}

/* ---------------------------------------------------------- systems */

/* System `id`: 2 + id % 5 atoms displaced by disp(id) from their sites. */
static double disp_of(long id) { return id >= 100 ? 0.0 : 0.05 + 0.03 * (double)(id % 7); }

static void add(bmd_batch *b, long id) {
    int n = 2 + (int)(id % 5);
    double x[3 * MAXA], x0[3 * MAXA];
    for (int j = 0; j < 3 * n; j++) {
        x0[j] = (j % 3 == 0) ? 2.0 * (j / 3) : 0.0;
        x[j] = x0[j] + disp_of(id) * sin(0.7 * j + (double)id);
    }
    harmonic_append(b, n, 39.948, x, x0, NULL, id);
}

static bmd_dynamics *make(const char *type, double dt) {
    const char *n[] = {"dt"};
    bmd_dynamics *d = NULL;
    assert_int_equal(bmd_dynamics_create(type, n, &dt, dt > 0, &d), BMD_OK);
    return d;
}

#define EVERY 4
#define MD_DT 0.5
#define MD_STEPS 17

/* Frames of a system that took tot own steps: 0, EVERY, 2 EVERY, ... <= tot,
 * and tot itself (the state it leaves with) when not a multiple. */
static int n_frames(long tot) { return (int)(tot / EVERY) + 1 + (tot % EVERY != 0); }
static long frame_step(long tot, int i) { return (long)i * EVERY <= tot ? (long)i * EVERY : tot; }

/* relax (FIRE, fmax 1e-3, at most 30 steps) + md (NVE, dt 0.5 fs, 17
 * steps); optionally relax only. */
static bmd_stage *make_stage(int with_md) {
    bmd_stage *st;
    bmd_stage_create(&U, 3, &st);
    bmd_convergence relax = {1e-3, 0, 30}, md = {0, 0, MD_STEPS};
    assert_int_equal(bmd_stage_add(st, "relax", make("fire", 0), &relax), BMD_OK);
    if (with_md) assert_int_equal(bmd_stage_add(st, "md", make("nve", MD_DT), &md), BMD_OK);
    return st;
}

static void add_id(bmd_batch *b, long id) {
    add(b, id);
    if (id == 7) bmd_info_set(&b->info[b->n_systems - 1], "dt", "0.25"); /* per-structure override */
}

/* Runs the systems ids[0..n) in one batch with a snapshot hook (every
 * EVERY, filter ids_only[0..n_only)) into r; the systems from index n_early
 * on join the batch after 3 loop steps, one more each following step, so
 * that own step counts and loop steps differ. totals[k] receives the own
 * step count of system ids[k] and relax[k] its relaxation steps. */
static void run_snap_late(const long *ids, int n, int n_early, int with_md, const int64_t *only, int n_only, rec *r,
                          long *totals, long *relax) {
    bmd_model *m = harmonic_model_new(1.0, 0.5, NULL);
    bmd_batch *b;
    bmd_batch_create(&b);
    for (int k = 0; k < n_early; k++) add_id(b, ids[k]);
    bmd_stage *st = make_stage(with_md);
    int destroyed = 0;
    bmd_hook *h;
    assert_int_equal(bmd_hook_snapshot_create(rec_sink(r, &destroyed), EVERY, only, n_only, &h), BMD_OK);
    if (with_md) assert_int_equal(bmd_hook_snapshot_set_dt(h, "md", MD_DT), BMD_OK);
    assert_int_equal(bmd_stage_add_hook(st, h), BMD_OK);
    assert_int_equal(bmd_stage_open(st, b), BMD_OK);
    int next = n_early;
    for (long loop = 0; next < n || bmd_stage_live(st, b) > 0; loop++) {
        if (loop >= 3 && next < n) add_id(b, ids[next++]);
        assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
    }
    assert_int_equal(bmd_stage_close(st), BMD_OK);
    assert_int_equal(r->closes, 1); /* the hook's close closes the sink */
    for (int k = 0; k < n; k++) {
        int s = 0;
        while (b->system_id[s] != ids[k]) s++;
        relax[k] = (long)bmd_batch_column_data(b, bmd_stage_steps_column(st, b, 0))[s];
        totals[k] = relax[k] + (with_md ? (long)bmd_batch_column_data(b, bmd_stage_steps_column(st, b, 1))[s] : 0);
        /* its last frame (if written: the filter) is the state it left with */
        const frame *f[MAXF];
        int nf = frames_of(r, ids[k], f);
        if (nf == 0) continue;
        size_t at = 3 * (size_t)b->atom_start[s], sz = 3 * (size_t)b->atom_count[s] * sizeof(double);
        assert_int_equal(f[nf - 1]->step, totals[k]);
        assert_memory_equal(f[nf - 1]->pos, b->pos + at, sz);
        assert_memory_equal(f[nf - 1]->vel, b->vel + at, sz);
        assert_memory_equal(f[nf - 1]->force, b->force + at, sz);
        assert_true(nf == 1 || f[nf - 2]->step < f[nf - 1]->step); /* written once */
    }
    bmd_stage_destroy(st);
    assert_int_equal(destroyed, 1); /* ... and destroying it destroys the sink */
    bmd_batch_destroy(b);
    harmonic_model_free(m);
}

static void run_snap(const long *ids, int n, int with_md, const int64_t *only, int n_only, rec *r, long *totals,
                     long *relax) {
    run_snap_late(ids, n, n, with_md, only, n_only, r, totals, relax);
}

static int same_frame(const frame *a, const frame *b) {
    size_t sz = 3 * (size_t)a->n * sizeof(double);
    return a->id == b->id && a->step == b->step && memcmp(&a->time, &b->time, sizeof a->time) == 0 &&
           a->n == b->n && memcmp(a->pos, b->pos, sz) == 0 && memcmp(a->vel, b->vel, sz) == 0 &&
           memcmp(a->force, b->force, sz) == 0 && memcmp(&a->energy, &b->energy, sizeof a->energy) == 0;
}

/* ------------------------------------------------------------ tests */

static rec R1, R2; /* large: static */

static void test_own_steps_and_batch_independence(void **state) {
    (void)state;
    const long batch[] = {3, 7, 1, 4, 0, 5, 2};
    const int nb = 7;
    long tot_b[7], relax_b[7];
    run_snap_late(batch, nb, 3, 1, NULL, 0, &R1, tot_b, relax_b); /* 4 systems join late */
    for (int k = 0; k < nb; k++) {
        long id = batch[k], tot, rel;
        run_snap(&id, 1, 1, NULL, 0, &R2, &tot, &rel);
        assert_int_equal(tot, tot_b[k]);
        assert_true(rel > 0 && tot == rel + MD_STEPS);
        const frame *fa[MAXF], *fb[MAXF];
        int na = frames_of(&R2, id, fa), nbf = frames_of(&R1, id, fb);
        assert_int_equal(na, R2.n); /* alone: only its own frames */
        assert_int_equal(na, nbf);
        assert_int_equal(na, n_frames(tot));
        double dt = id == 7 ? 0.25 : MD_DT;
        for (int i = 0; i < na; i++) {
            assert_true(same_frame(fa[i], fb[i]));
            assert_int_equal(fa[i]->step, frame_step(tot, i));
            long md = fa[i]->step > rel ? fa[i]->step - rel : 0;
            assert_true(fa[i]->time == (double)md * dt);
        }
    }
    /* the first frame is the input structure */
    bmd_batch *b;
    bmd_batch_create(&b);
    add(b, 4);
    const frame *f[MAXF];
    frames_of(&R1, 4, f);
    assert_memory_equal(f[0]->pos, b->pos, 3 * (size_t)b->atom_count[0] * sizeof(double));
    bmd_batch_destroy(b);
}

static void test_filter(void **state) {
    (void)state;
    const long batch[] = {0, 1, 2, 3};
    const int64_t only[] = {3, 1};
    long tot[4], rel[4];
    run_snap(batch, 4, 1, only, 2, &R1, tot, rel);
    const frame *f[MAXF];
    assert_int_equal(frames_of(&R1, 0, f), 0);
    assert_int_equal(frames_of(&R1, 2, f), 0);
    int n1 = frames_of(&R1, 1, f), n3 = frames_of(&R1, 3, f);
    assert_int_equal(n1, n_frames(tot[1]));
    assert_int_equal(n3, n_frames(tot[3]));
    assert_int_equal(R1.n, n1 + n3);
}

static void test_converged_on_entry(void **state) {
    (void)state;
    /* 100 sits at its minimum: FIRE converges with 0 steps; relax only, so it
     * leaves the stage without any update and gets its step-0 frame then */
    const long batch[] = {100, 2};
    long tot[2], rel[2];
    run_snap(batch, 2, 0, NULL, 0, &R1, tot, rel);
    const frame *f[MAXF];
    assert_int_equal(tot[0], 0);
    assert_int_equal(frames_of(&R1, 100, f), 1);
    assert_int_equal(f[0]->step, 0);
    assert_true(f[0]->time == 0.0);
    assert_int_equal(frames_of(&R1, 2, f), n_frames(tot[1]));
    for (int i = 0; i < n_frames(tot[1]); i++) {
        assert_int_equal(f[i]->step, frame_step(tot[1], i));
        assert_true(f[i]->time == 0.0); /* an optimizer adds no time */
    }
}

/* every 1: each step count already has its frame as a system leaves, so
 * the final state is not written again (0, 1, ..., tot: tot + 1 frames). */
static void test_final_frame_once(void **state) {
    (void)state;
    bmd_model *m = harmonic_model_new(1.0, 0.5, NULL);
    bmd_batch *b;
    bmd_batch_create(&b);
    const long ids[] = {1, 4, 5};
    for (int k = 0; k < 3; k++) add(b, ids[k]);
    bmd_stage *st = make_stage(1);
    bmd_hook *h;
    assert_int_equal(bmd_hook_snapshot_create(rec_sink(&R1, NULL), 1, NULL, 0, &h), BMD_OK);
    assert_int_equal(bmd_stage_add_hook(st, h), BMD_OK);
    assert_int_equal(bmd_stage_run(st, b, m, 0), BMD_OK);
    for (int s = 0; s < 3; s++) {
        long tot = (long)(bmd_batch_column_data(b, bmd_stage_steps_column(st, b, 0))[s] +
                          bmd_batch_column_data(b, bmd_stage_steps_column(st, b, 1))[s]);
        const frame *f[MAXF];
        int n = frames_of(&R1, b->system_id[s], f);
        assert_int_equal(n, tot + 1);
        for (int i = 0; i < n; i++) assert_int_equal(f[i]->step, i);
        assert_memory_equal(f[n - 1]->pos, b->pos + 3 * (size_t)b->atom_start[s],
                            3 * (size_t)b->atom_count[s] * sizeof(double));
    }
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    harmonic_model_free(m);
}

static void test_converged_snapshot(void **state) {
    (void)state;
    for (int last_only = 1; last_only >= 0; last_only--) {
        bmd_model *m = harmonic_model_new(1.0, 0.5, NULL);
        bmd_batch *b;
        bmd_batch_create(&b);
        const long ids[] = {1, 100, 4};
        for (int k = 0; k < 3; k++) add(b, ids[k]);
        bmd_stage *st = make_stage(1);
        int destroyed = 0;
        bmd_hook *h;
        assert_int_equal(bmd_hook_converged_snapshot_create(rec_sink(&R1, &destroyed), last_only, &h), BMD_OK);
        assert_int_equal(bmd_hook_snapshot_set_dt(h, "md", MD_DT), BMD_OK);
        assert_int_equal(bmd_stage_add_hook(st, h), BMD_OK);
        assert_int_equal(bmd_stage_run(st, b, m, 0), BMD_OK);
        assert_int_equal(R1.closes, 1);
        assert_int_equal(R1.n, last_only ? 3 : 6);
        for (int s = 0; s < 3; s++) {
            long rel = (long)bmd_batch_column_data(b, bmd_stage_steps_column(st, b, 0))[s];
            long md = (long)bmd_batch_column_data(b, bmd_stage_steps_column(st, b, 1))[s];
            const frame *f[MAXF];
            int n = frames_of(&R1, b->system_id[s], f);
            assert_int_equal(n, last_only ? 1 : 2);
            const frame *last = f[n - 1];
            assert_string_equal(last->stage, "md");
            assert_string_equal(last->conv, "T");
            assert_int_equal(last->step, rel + md);
            assert_true(last->time == (double)md * MD_DT);
            assert_memory_equal(last->pos, b->pos + 3 * (size_t)b->atom_start[s],
                                3 * (size_t)b->atom_count[s] * sizeof(double));
            if (!last_only) {
                double c = bmd_batch_column_data(b, bmd_stage_converged_column(st, b, 0))[s];
                assert_string_equal(f[0]->stage, "relax");
                assert_string_equal(f[0]->conv, c != 0 ? "T" : "F");
                assert_int_equal(f[0]->step, rel);
                assert_true(f[0]->time == 0.0);
            }
        }
        bmd_stage_destroy(st);
        assert_int_equal(destroyed, 1);
        bmd_batch_destroy(b);
        harmonic_model_free(m);
    }
}

static void test_errors(void **state) {
    (void)state;
    bmd_hook *h = NULL, *log = NULL;
    assert_int_equal(bmd_hook_snapshot_create(NULL, 1, NULL, 0, &h), BMD_ERR_INVALID);
    assert_int_equal(bmd_hook_converged_snapshot_create(NULL, 1, &h), BMD_ERR_INVALID);
    int destroyed = 0;
    /* a bad id list: the sink is destroyed all the same (ownership) */
    assert_int_equal(bmd_hook_snapshot_create(rec_sink(&R1, &destroyed), 1, NULL, 3, &h), BMD_ERR_INVALID);
    assert_int_equal(destroyed, 1);
    assert_int_equal(bmd_hook_log_create("/tmp/bmd_unused.csv", 1, &log), BMD_OK);
    assert_int_equal(bmd_hook_snapshot_set_dt(log, "md", 1.0), BMD_ERR_INVALID);
    bmd_hook_destroy(log);
    assert_int_equal(bmd_hook_snapshot_create(rec_sink(&R1, &destroyed), 1, NULL, 0, &h), BMD_OK);
    assert_int_equal(bmd_hook_snapshot_set_dt(h, "a_name_longer_than_thirty_two_characters", 1.0), BMD_ERR_INVALID);
    assert_int_equal(bmd_hook_snapshot_set_dt(h, "md", -1.0), BMD_ERR_INVALID);
    assert_int_equal(bmd_hook_snapshot_set_dt(h, "md", 1.0), BMD_OK);
    assert_int_equal(bmd_hook_snapshot_set_dt(h, "md", 2.0), BMD_OK); /* replaces */
    bmd_hook_destroy(h);
    assert_int_equal(destroyed, 2);
}

static void test_h5md_sink_errors(void **state) {
    (void)state;
    bmd_sink *s = NULL;
    const char *bad = "/proc/batchmd_no_such_dir/t.h5";
    bmd_status rc = bmd_sink_h5md_create(bad, BMD_UNITS_METAL, &s);
    if (!bmd_h5md_available()) {
        assert_int_equal(rc, BMD_ERR_UNSUPPORTED);
        assert_non_null(strstr(bmd_last_error(), "built without HDF5"));
        return;
    }
    assert_int_equal(rc, BMD_ERR_IO);
    assert_non_null(strstr(bmd_last_error(), bad));
    char path[] = "/tmp/bmd_test_h5md_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(bmd_sink_h5md_create(path, BMD_UNITS_METAL, &s), BMD_OK);
    bmd_system sys;
    bmd_system_alloc(&sys, 2);
    sys.Z[0] = sys.Z[1] = 18;
    sys.mass[0] = sys.mass[1] = 39.948;
    memset(sys.pos, 0, 6 * sizeof(double));
    sys.system_id = -1;
    assert_int_equal(bmd_sink_write(s, &sys), BMD_ERR_INVALID);
    assert_non_null(strstr(bmd_last_error(), path));
    sys.system_id = 5;
    bmd_info_set(&sys.info, "step", "x12");
    assert_int_equal(bmd_sink_write(s, &sys), BMD_ERR_PARSE);
    assert_non_null(strstr(bmd_last_error(), "x12"));
    bmd_info_set(&sys.info, "step", "12");
    assert_int_equal(bmd_sink_write(s, &sys), BMD_OK);
    bmd_system_free(&sys);
    bmd_system_alloc(&sys, 3); /* the same system with another atom count */
    sys.system_id = 5;
    assert_int_equal(bmd_sink_write(s, &sys), BMD_ERR_INVALID);
    bmd_system_free(&sys);
    assert_int_equal(bmd_sink_destroy(s), BMD_OK);
    unlink(path);
}

int main(void) {
    U = bmd_units_get(BMD_UNITS_METAL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_own_steps_and_batch_independence),
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_converged_on_entry),
        cmocka_unit_test(test_final_frame_once),
        cmocka_unit_test(test_converged_snapshot),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_h5md_sink_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
