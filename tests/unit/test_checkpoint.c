/* test_checkpoint.c — checkpoints (checkpoint.h) through the library:
 *   - a run stopped five times (stop flag set by a hook at chosen loop steps,
 *     checkpoint written, run returns) and resumed in the same process
 *     ends with every system exactly once in final + failed, with the same
 *     bits as an uninterrupted run, the same statistics, and in input
 *     order when asked (the ordered sink's held systems travel in the
 *     checkpoint); relax (FIRE) + anneal (Langevin: the random numbers) +
 *     md (NVE), with a poisoned system going to failed;
 *   - refusals: another campaign file, a changed input, a garbled byte, a
 *     truncated file (each with its message), and no file (found = 0);
 *   - the extxyz sink's commit / rewind: a reopened file is truncated back
 *     to its committed length, a torn last frame included, and appended
 *     to after it; a file shorter than committed is refused; the ordered,
 *     chain, memory and H5MD sinks' commit / rewind likewise;
 *   - another batchmd version in the file (checksum right) is refused;
 *   - the sampler's save / restore: a restored sampler admits the same
 *     structures as the original from then on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flow/checkpoint_internal.h"
#include "flow/sampler.h"
#include "support/harmonic_model.h"

static char dir[64];

static void path_in(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", dir, name); }

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* ------------------------------------------------------------- the runs */

static unsigned long rng_state;
static double urand(void) {
    rng_state = rng_state * 6364136223846793005UL + 1442695040888963407UL;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static bmd_dataset *rings(long n) {
    bmd_system *v = calloc((size_t)n, sizeof *v);
    rng_state = 99;
    for (long i = 0; i < n; i++) {
        int na = 1 + (int)(urand() * 12);
        assert_int_equal(bmd_system_alloc(&v[i], na), BMD_OK);
        for (int a = 0; a < na; a++) {
            v[i].Z[a] = 18;
            v[i].mass[a] = 39.948;
            for (int d = 0; d < 3; d++) v[i].pos[3 * a + d] = urand() - 0.5;
        }
        v[i].cell[0] = v[i].cell[4] = v[i].cell[8] = 30.0;
    }
    bmd_dataset *ds;
    assert_int_equal(bmd_dataset_from_systems(v, n, 1, &ds), BMD_OK);
    for (long i = 0; i < n; i++) bmd_system_free(&v[i]);
    free(v);
    return ds;
}

static volatile sig_atomic_t stop_flag;
static long stop_at;

static bmd_status stop_call(void *self, const bmd_hook_ctx *ctx) {
    (void)self;
    if (ctx->step == stop_at) stop_flag = 1;
    return BMD_OK;
}
static void stop_destroy(void *self) { (void)self; }
static const bmd_hook_ops stop_ops = {.type = "stop", .call = stop_call, .destroy = stop_destroy};

static bmd_dynamics *dyn(const char *type, int n, const char **names, const double *values) {
    bmd_dynamics *d = NULL;
    assert_int_equal(bmd_dynamics_create(type, names, values, n, &d), BMD_OK);
    return d;
}

static bmd_stage *make_stage(void) {
    bmd_units u = bmd_units_get(BMD_UNITS_METAL);
    bmd_stage *st;
    assert_int_equal(bmd_stage_create(&u, 7, &st), BMD_OK);
    bmd_convergence relax = {1e-3, 0, 30}, anneal = {0, 0, 12}, md = {0, 0, 8};
    const char *lgv[] = {"dt", "temperature", "friction"}, *dt[] = {"dt"};
    const double lv[] = {1.0, 300.0, 0.05}, dv[] = {1.0};
    assert_int_equal(bmd_stage_add(st, "relax", dyn("fire", 0, NULL, NULL), &relax), BMD_OK);
    assert_int_equal(bmd_stage_add(st, "anneal", dyn("nvt_langevin", 3, lgv, lv), &anneal), BMD_OK);
    assert_int_equal(bmd_stage_add(st, "md", dyn("nve", 1, dt, dv), &md), BMD_OK);
    bmd_hook *nan = NULL, *h = calloc(1, sizeof *h);
    assert_int_equal(bmd_hook_nan_create(&nan), BMD_OK);
    assert_int_equal(bmd_stage_add_hook(st, nan), BMD_OK);
    *h = (bmd_hook){&stop_ops, NULL, BMD_HOOK_AFTER_STEP, 1};
    assert_int_equal(bmd_stage_add_hook(st, h), BMD_OK);
    return st;
}

enum { N = 40, POISON = 13 };

/* One run (until done or stopped at loop step `stop`, 0: never) into the
 * given sinks, with checkpoint ck (may be NULL). */
static bmd_status run_once(const bmd_dataset *ds, bmd_checkpoint *ck, long stop, int ordered, bmd_sink *final,
                           bmd_sink *failed, bmd_run_stats *stats) {
    harmonic_model *h;
    bmd_model *m = harmonic_model_new(1.0, 0.3, &h);
    h->poison_id = POISON;
    bmd_stage *st = make_stage();
    stop_flag = 0;
    stop_at = stop;
    bmd_run_options opt = {.max_atoms = 40, .max_systems = 5, .refill_every = 3, .ordered = ordered,
                           .checkpoint = ck, .stop = &stop_flag};
    bmd_status rc = bmd_run_inflight(st, m, ds, &opt, final, failed, stats);
    bmd_stage_destroy(st);
    harmonic_model_free(m);
    return rc;
}

static const bmd_system *find_id(const bmd_sink *k, long id, int *count) {
    const bmd_system *hit = NULL;
    for (long i = 0; i < bmd_sink_memory_count(k); i++)
        if (bmd_sink_memory_at(k, i)->system_id == id) {
            hit = bmd_sink_memory_at(k, i);
            ++*count;
        }
    return hit;
}

static void same_system(const bmd_system *a, const bmd_system *b) {
    assert_int_equal(a->n_atoms, b->n_atoms);
    size_t n = 3 * (size_t)a->n_atoms * sizeof(double);
    assert_memory_equal(a->pos, b->pos, n);
    assert_memory_equal(a->vel, b->vel, n);
    assert_memory_equal(a->forces, b->forces, n);
    assert_memory_equal(&a->energy, &b->energy, sizeof a->energy);
    assert_int_equal(a->info.n, b->info.n);
    for (int i = 0; i < a->info.n; i++) assert_string_equal(bmd_info_get(&b->info, a->info.keys[i]), a->info.values[i]);
}

static void resume_twice(int ordered) {
    bmd_dataset *ds = rings(N);
    bmd_sink *rf, *rx, *f, *x;
    bmd_run_stats ref, stats;
    assert_int_equal(bmd_sink_memory_create(0, &rf), BMD_OK);
    assert_int_equal(bmd_sink_memory_create(0, &rx), BMD_OK);
    assert_int_equal(run_once(ds, NULL, 0, ordered, rf, rx, &ref), BMD_OK);
    assert_int_equal(ref.done + ref.failed, N);
    assert_int_equal(ref.failed, 1);

    char ckpath[128], campaign[128];
    path_in(ckpath, sizeof ckpath, ordered ? "o.ckpt" : "u.ckpt");
    path_in(campaign, sizeof campaign, "campaign.yaml");
    write_text(campaign, "a campaign\n");
    const char *camp = campaign;
    assert_int_equal(bmd_sink_memory_create(0, &f), BMD_OK);
    assert_int_equal(bmd_sink_memory_create(0, &x), BMD_OK);
    const long stops[] = {17, 38, 61, 95, 140, 0};
    for (int k = 0; k < 6; k++) {
        bmd_checkpoint *ck;
        int found = -1;
        assert_int_equal(bmd_checkpoint_create(ckpath, -1, camp, NULL, 0, &ck), BMD_OK);
        assert_int_equal(bmd_checkpoint_load(ck, &found), BMD_OK);
        assert_int_equal(found, k > 0);
        assert_int_equal(run_once(ds, ck, stops[k], ordered, f, x, &stats), BMD_OK);
        assert_int_equal(bmd_checkpoint_stopped(ck), stops[k] != 0);
        assert_int_equal(bmd_checkpoint_written(ck), 1); /* on stop, or at the end */
        if (stops[k]) assert_true(stats.done + stats.failed < N);
        bmd_checkpoint_destroy(ck);
    }
    assert_int_equal(stats.done, ref.done);
    assert_int_equal(stats.failed, ref.failed);
    assert_int_equal(stats.started, N);
    /* (loop_steps may differ: a stop ends its round early, so the refills that follow fall on other steps) */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(stats.entered[i], ref.entered[i]);
        assert_int_equal(stats.converged[i], ref.converged[i]);
    }
    assert_int_equal(bmd_sink_memory_count(f) + bmd_sink_memory_count(x), N);
    for (long id = 0; id < N; id++) {
        int n = 0, nref = 0;
        const bmd_system *a = find_id(f, id, &n), *b = find_id(rf, id, &nref);
        if (!a) a = find_id(x, id, &n);
        if (!b) b = find_id(rx, id, &nref);
        assert_int_equal(n, 1);
        assert_int_equal(nref, 1);
        same_system(a, b);
    }
    if (ordered)
        for (long i = 0; i < bmd_sink_memory_count(f); i++)
            assert_int_equal(bmd_sink_memory_at(f, i)->system_id, bmd_sink_memory_at(rf, i)->system_id);
    bmd_sink_destroy(f);
    bmd_sink_destroy(x);
    bmd_sink_destroy(rf);
    bmd_sink_destroy(rx);
    bmd_dataset_close(ds);
}

static void test_resume_in_process(void **state) {
    (void)state;
    resume_twice(0);
}

static void test_resume_ordered(void **state) {
    (void)state;
    resume_twice(1);
}

/* ------------------------------------------------------------ refusals */

static bmd_status load(const char *ckpath, const char *camp, const char *input, int *found) {
    bmd_checkpoint *ck;
    assert_int_equal(bmd_checkpoint_create(ckpath, -1, camp, &input, 1, &ck), BMD_OK);
    bmd_status rc = bmd_checkpoint_load(ck, found);
    bmd_checkpoint_destroy(ck);
    return rc;
}

static void test_refusals(void **state) {
    (void)state;
    char ckpath[128], camp[128], input[128];
    path_in(ckpath, sizeof ckpath, "r.ckpt");
    path_in(camp, sizeof camp, "r.yaml");
    path_in(input, sizeof input, "r.extxyz");
    write_text(camp, "seed: 1\n");
    write_text(input, "1\n\nAr 0 0 0\n");
    int found = -1;
    unlink(ckpath);
    assert_int_equal(load(ckpath, camp, input, &found), BMD_OK);
    assert_int_equal(found, 0);

    /* a checkpoint written by a stopped run */
    bmd_dataset *ds = rings(6);
    bmd_sink *f, *x;
    bmd_run_stats stats;
    bmd_checkpoint *ck;
    const char *in = input;
    assert_int_equal(bmd_sink_memory_create(0, &f), BMD_OK);
    assert_int_equal(bmd_sink_memory_create(0, &x), BMD_OK);
    assert_int_equal(bmd_checkpoint_create(ckpath, -1, camp, &in, 1, &ck), BMD_OK);
    assert_int_equal(run_once(ds, ck, 5, 0, f, x, &stats), BMD_OK);
    assert_true(bmd_checkpoint_stopped(ck));
    bmd_checkpoint_destroy(ck);
    bmd_sink_destroy(f);
    bmd_sink_destroy(x);
    bmd_dataset_close(ds);
    assert_int_equal(load(ckpath, camp, input, &found), BMD_OK);
    assert_int_equal(found, 1);

    /* another campaign file */
    write_text(camp, "seed: 2\n");
    assert_int_equal(load(ckpath, camp, input, &found), BMD_ERR_INVALID);
    assert_non_null(strstr(bmd_last_error(), "campaign file differs"));
    write_text(camp, "seed: 1\n");
    /* a changed input: other content, then other size */
    write_text(input, "1\n\nAr 0 0 1\n");
    assert_int_equal(load(ckpath, camp, input, &found), BMD_ERR_INVALID);
    assert_non_null(strstr(bmd_last_error(), "changed since the checkpoint"));
    assert_non_null(strstr(bmd_last_error(), "other content"));
    write_text(input, "1\n\nAr 0 0 10\n");
    assert_int_equal(load(ckpath, camp, input, &found), BMD_ERR_INVALID);
    assert_non_null(strstr(bmd_last_error(), "other size"));
    write_text(input, "1\n\nAr 0 0 0\n");
    assert_int_equal(load(ckpath, camp, input, &found), BMD_OK);

    /* another batchmd version (checksum made right again) */
    long size = file_size(ckpath);
    unsigned char *bytes = malloc((size_t)size);
    FILE *fp = fopen(ckpath, "rb");
    assert_int_equal(fread(bytes, 1, (size_t)size, fp), (size_t)size);
    fclose(fp);
    uint32_t vlen;
    memcpy(&vlen, bytes + 12, 4);
    assert_int_equal(vlen, strlen(bmd_version()));
    assert_memory_equal(bytes + 16, bmd_version(), vlen);
    bytes[16] = bytes[16] == '9' ? '8' : '9';
    uint64_t h = bmd__fnv(BMD__FNV_START, bytes, (size_t)size - 16);
    memcpy(bytes + size - 16, &h, 8);
    fp = fopen(ckpath, "wb");
    fwrite(bytes, 1, (size_t)size, fp);
    fclose(fp);
    assert_int_equal(load(ckpath, camp, input, &found), BMD_ERR_INVALID);
    assert_non_null(strstr(bmd_last_error(), "written by batchmd"));
    bytes[16] = (unsigned char)bmd_version()[0];
    h = bmd__fnv(BMD__FNV_START, bytes, (size_t)size - 16);
    memcpy(bytes + size - 16, &h, 8);
    fp = fopen(ckpath, "wb");
    fwrite(bytes, 1, (size_t)size, fp);
    fclose(fp);
    free(bytes);
    assert_int_equal(load(ckpath, camp, input, &found), BMD_OK);

    /* a garbled byte in the middle, then a truncated file */
    fp = fopen(ckpath, "r+b");
    assert_true(size > 100);
    fseek(fp, size / 2, SEEK_SET);
    int c = fgetc(fp);
    fseek(fp, size / 2, SEEK_SET);
    fputc(c ^ 0x5a, fp);
    fclose(fp);
    assert_int_equal(load(ckpath, camp, input, &found), BMD_ERR_PARSE);
    assert_non_null(strstr(bmd_last_error(), "checksum"));
    assert_int_equal(truncate(ckpath, size / 2), 0);
    assert_int_equal(load(ckpath, camp, input, &found), BMD_ERR_PARSE);
    assert_non_null(strstr(bmd_last_error(), "truncated"));
    write_text(ckpath, "not a checkpoint at all\n");
    assert_int_equal(load(ckpath, camp, input, &found), BMD_ERR_PARSE);
    unlink(ckpath);
}

/* ------------------------------------------------- sinks: commit/rewind */

static bmd_system dimer(long id) {
    bmd_system s;
    assert_int_equal(bmd_system_alloc(&s, 2), BMD_OK);
    s.Z[0] = s.Z[1] = 18;
    s.mass[0] = s.mass[1] = 39.948;
    s.pos[3] = 3.5 + 0.1 * (double)id;
    s.system_id = id;
    s.cell[0] = s.cell[4] = s.cell[8] = 20.0;
    return s;
}

static void write_id(bmd_sink *k, long id) {
    bmd_system s = dimer(id);
    assert_int_equal(bmd_sink_write(k, &s), BMD_OK);
    bmd_system_free(&s);
}

static void test_extxyz_rewind(void **state) {
    (void)state;
    char path[128];
    path_in(path, sizeof path, "sub/final.extxyz");
    bmd_sink *k;
    assert_int_equal(bmd_sink_extxyz_create(path, BMD_UNITS_METAL, &k), BMD_OK);
    write_id(k, 0);
    write_id(k, 1);
    void *st = NULL;
    size_t n = 0;
    assert_int_equal(k->ops->commit(k->self, &st, &n), BMD_OK);
    long committed = file_size(path);
    assert_true(committed > 0);
    assert_int_equal(n, sizeof(int64_t));
    assert_int_equal(*(int64_t *)st, committed);
    write_id(k, 2);
    assert_int_equal(bmd_sink_destroy(k), BMD_OK);
    FILE *f = fopen(path, "a");
    fputs("2\nLattice=\"20 0 0 0 20 0 0 0 20\" Properties=species:S:1:pos:R:3 system_id=3\nAr 0 0", f); /* torn */
    fclose(f);
    assert_true(file_size(path) > committed);

    assert_int_equal(bmd_sink_extxyz_reopen(path, BMD_UNITS_METAL, &k), BMD_OK);
    assert_int_equal(k->ops->rewind(k->self, st, n), BMD_OK);
    assert_int_equal(file_size(path), committed);
    write_id(k, 2);
    assert_int_equal(bmd_sink_destroy(k), BMD_OK);
    /* what is there now reads back as frames 0, 1, 2 */
    const char *paths[] = {path};
    bmd_dataset *ds;
    assert_int_equal(bmd_dataset_open_extxyz(paths, 1, BMD_UNITS_METAL, &ds), BMD_OK);
    assert_int_equal(bmd_dataset_size(ds), 3);
    for (long i = 0; i < 3; i++) {
        bmd_system s;
        assert_int_equal(bmd_dataset_get(ds, i, &s), BMD_OK);
        assert_true(s.pos[3] == 3.5 + 0.1 * (double)i);
        bmd_system_free(&s);
    }
    bmd_dataset_close(ds);
    /* a file shorter than committed cannot be resumed */
    assert_int_equal(truncate(path, committed / 2), 0);
    assert_int_equal(bmd_sink_extxyz_reopen(path, BMD_UNITS_METAL, &k), BMD_OK);
    assert_int_equal(k->ops->rewind(k->self, st, n), BMD_ERR_IO);
    assert_non_null(strstr(bmd_last_error(), "shorter"));
    bmd_sink_destroy(k);
    free(st);
}

/* An ordered sink holding systems 2 and 3 (0 and 1 not yet there, 1
 * skipped) commits them; rewound into a fresh ordered sink over the
 * reopened file, 0 releases 2 and 3 after it. */
static void test_ordered_rewind(void **state) {
    (void)state;
    char path[128];
    path_in(path, sizeof path, "ordered.extxyz");
    bmd_sink *inner, *o;
    assert_int_equal(bmd_sink_extxyz_create(path, BMD_UNITS_METAL, &inner), BMD_OK);
    assert_int_equal(bmd_sink_ordered_create(inner, 1, &o), BMD_OK);
    write_id(o, 3);
    write_id(o, 2);
    assert_int_equal(bmd_sink_skip(o, 1), BMD_OK);
    void *st = NULL;
    size_t n = 0;
    assert_int_equal(o->ops->commit(o->self, &st, &n), BMD_OK);
    assert_int_equal(file_size(path), 0);
    write_id(o, 0); /* after the commit: releases everything, then lost */
    assert_true(file_size(path) >= 0);
    assert_int_equal(bmd_sink_destroy(o), BMD_OK);
    assert_true(file_size(path) > 0);

    assert_int_equal(bmd_sink_extxyz_reopen(path, BMD_UNITS_METAL, &inner), BMD_OK);
    assert_int_equal(bmd_sink_ordered_create(inner, 1, &o), BMD_OK);
    assert_int_equal(o->ops->rewind(o->self, st, n), BMD_OK);
    assert_int_equal(file_size(path), 0);
    assert_int_equal(bmd_sink_ordered_pending(o), 2);
    write_id(o, 0);
    assert_int_equal(bmd_sink_ordered_pending(o), 0);
    assert_int_equal(bmd_sink_destroy(o), BMD_OK);
    free(st);
    const char *paths[] = {path};
    bmd_dataset *ds;
    assert_int_equal(bmd_dataset_open_extxyz(paths, 1, BMD_UNITS_METAL, &ds), BMD_OK);
    assert_int_equal(bmd_dataset_size(ds), 3);
    const long want[] = {0, 2, 3};
    for (long i = 0; i < 3; i++) {
        bmd_system s;
        assert_int_equal(bmd_dataset_get(ds, i, &s), BMD_OK);
        assert_true(s.pos[3] == 3.5 + 0.1 * (double)want[i]);
        bmd_system_free(&s);
    }
    bmd_dataset_close(ds);
}

/* A chain (memory sink of capacity 1, then a file) commits both and is
 * rewound in place (the file truncated, the memory sink keeping its one). */
static void test_chain_rewind(void **state) {
    (void)state;
    char path[128];
    path_in(path, sizeof path, "chain.extxyz");
    bmd_sink *v[2], *c;
    assert_int_equal(bmd_sink_memory_create(1, &v[0]), BMD_OK);
    assert_int_equal(bmd_sink_extxyz_create(path, BMD_UNITS_METAL, &v[1]), BMD_OK);
    assert_int_equal(bmd_sink_chain_create(v, 2, 1, &c), BMD_OK);
    write_id(c, 0);
    write_id(c, 1);
    void *st = NULL;
    size_t n = 0;
    assert_int_equal(c->ops->commit(c->self, &st, &n), BMD_OK);
    long committed = file_size(path);
    assert_true(committed > 0);
    write_id(c, 2);
    write_id(c, 3);
    assert_int_equal(c->ops->rewind(c->self, st, n), BMD_OK);
    assert_int_equal(file_size(path), committed);
    assert_int_equal(bmd_sink_memory_count(v[0]), 1);
    write_id(c, 2);
    assert_int_equal(bmd_sink_destroy(c), BMD_OK);
    assert_true(file_size(path) > committed);
    free(st);
}

/* The H5MD sink: commit records each system's frames; after more frames
 * (and a new system) a reopened sink is rewound, and commits the same again. */
static void test_h5md_rewind(void **state) {
    (void)state;
    if (!bmd_h5md_available()) return; /* built without HDF5 */
    char path[128];
    path_in(path, sizeof path, "traj.h5");
    bmd_sink *k;
    assert_int_equal(bmd_sink_h5md_create(path, BMD_UNITS_METAL, &k), BMD_OK);
    write_id(k, 0);
    write_id(k, 0);
    write_id(k, 1);
    void *st = NULL, *st2 = NULL;
    size_t n = 0, n2 = 0;
    assert_int_equal(k->ops->commit(k->self, &st, &n), BMD_OK);
    assert_int_equal(n, 8 + 2 * 16); /* count, then (id, frames) per system */
    write_id(k, 0);
    write_id(k, 2);
    assert_int_equal(bmd_sink_destroy(k), BMD_OK);
    assert_int_equal(bmd_sink_h5md_reopen(path, BMD_UNITS_METAL, &k), BMD_OK);
    assert_int_equal(k->ops->rewind(k->self, st, n), BMD_OK);
    assert_int_equal(k->ops->commit(k->self, &st2, &n2), BMD_OK);
    assert_int_equal(n2, n);
    assert_memory_equal(st2, st, n); /* system 0 back to 2 frames, 1 to 1, system 2 gone */
    write_id(k, 1);
    assert_int_equal(bmd_sink_destroy(k), BMD_OK);
    free(st);
    free(st2);
}

static void test_memory_rewind(void **state) {
    (void)state;
    bmd_sink *k;
    assert_int_equal(bmd_sink_memory_create(0, &k), BMD_OK);
    write_id(k, 0);
    void *st = NULL;
    size_t n = 0;
    assert_int_equal(k->ops->commit(k->self, &st, &n), BMD_OK);
    write_id(k, 1);
    write_id(k, 2);
    assert_int_equal(k->ops->rewind(k->self, st, n), BMD_OK);
    assert_int_equal(bmd_sink_memory_count(k), 1);
    assert_int_equal(bmd_sink_memory_at(k, 0)->system_id, 0);
    free(st);
    bmd_sink_destroy(k);
}

/* ----------------------------------------------------------- the sampler */

static void test_sampler_restore(void **state) {
    (void)state;
    bmd_dataset *ds = rings(60);
    bmd__sampler *a, *b;
    assert_int_equal(bmd__sampler_create(ds, 20, &a), BMD_OK);
    rng_state = 5;
    for (int i = 0; i < 25; i++) bmd__sampler_next(a, 1 + (long)(urand() * 20), 3);
    bmd__buf buf = {0};
    bmd__sampler_save(a, &buf);
    assert_int_equal(bmd__sampler_create(ds, 20, &b), BMD_OK);
    assert_int_equal(bmd__sampler_restore(b, buf.p, buf.n), BMD_OK);
    assert_int_equal(bmd__sampler_remaining(a), bmd__sampler_remaining(b));
    for (int i = 0; i < 400; i++) {
        long fa = 1 + (long)(urand() * 20);
        assert_int_equal(bmd__sampler_next(a, fa, 2), bmd__sampler_next(b, fa, 2));
    }
    assert_int_equal(bmd__sampler_remaining(b), 0);
    assert_int_equal(bmd__sampler_restore(b, buf.p, buf.n / 2), BMD_ERR_PARSE);
    bmd__buf_free(&buf);
    bmd__sampler_destroy(a);
    bmd__sampler_destroy(b);
    bmd_dataset_close(ds);
}

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/bmd_ckpt_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_in_process), cmocka_unit_test(test_resume_ordered),
        cmocka_unit_test(test_refusals),          cmocka_unit_test(test_extxyz_rewind),
        cmocka_unit_test(test_ordered_rewind),    cmocka_unit_test(test_memory_rewind),
        cmocka_unit_test(test_chain_rewind),      cmocka_unit_test(test_h5md_rewind),
        cmocka_unit_test(test_sampler_restore),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
