/* test_stage.c — the step loop of dynamics.h on an analytic harmonic model
 * (tests/support/harmonic_model.h): hook points in the documented order and
 * counts, forces before the first update, step-0 convergence, budgets,
 * fused sub-stages and masked updates, quarantine, per-structure overrides,
 * stress. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "support/harmonic_model.h"
#ifdef _OPENMP
#include <omp.h>
#endif

/* ------------------------------------------------------------ event log */

static char events[16384];

static void ev(const char *fmt, ...) {
    char buf[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    strncat(events, buf, sizeof events - strlen(events) - 1);
    strncat(events, " ", sizeof events - strlen(events) - 1);
}

/* A model that logs "C" and delegates to a harmonic model. */
static bmd_model *inner_model;
static bmd_status logging_compute(void *self, const bmd_batch *b, const bmd_compute_request *req) {
    (void)self;
    ev("C");
    return inner_model->ops->compute(inner_model->self, b, req);
}
static void logging_destroy(void *self) { (void)self; }
static const bmd_model_ops logging_ops = {"logging", logging_compute, NULL, NULL, logging_destroy};
static bmd_model logging_model = {.ops = &logging_ops};

/* A probe dynamics: logs E<i>/P<i>/Q<i>, checks that forces are valid and
 * current at every update, and moves x += 0.01 F. */
static bmd_status probe_enter(void *self, bmd_batch *b, const unsigned char *enter, const bmd_step_info *si) {
    (void)self;
    for (int s = 0; s < b->n_systems; s++)
        if (enter[s]) assert_true(b->forces_valid[s]);
    ev("E%d", si->substage);
    return BMD_OK;
}
static bmd_status probe_pre(void *self, bmd_batch *b, const unsigned char *mask, const bmd_step_info *si) {
    (void)self;
    harmonic_model *h = inner_model->self;
    static double f[3 * 4096];
    bmd_compute_request req = {mask, NULL, f, NULL, NULL};
    long calls = h->calls;
    harmonic_compute(h, b, &req);
    h->calls = calls;
    for (int s = 0; s < b->n_systems; s++) {
        if (!mask[s]) continue;
        assert_int_equal(b->status[s], si->substage);
        assert_true(b->forces_valid[s]);
        for (int j = 3 * b->atom_start[s]; j < 3 * (b->atom_start[s] + b->atom_count[s]); j++) {
            assert_true(b->force[j] == f[j]);
            b->pos[j] += 0.01 * b->force[j];
        }
    }
    ev("P%d", si->substage);
    return BMD_OK;
}
static bmd_status probe_post(void *self, bmd_batch *b, const unsigned char *mask, const bmd_step_info *si) {
    (void)self;
    for (int s = 0; s < b->n_systems; s++)
        if (mask[s]) assert_true(b->forces_valid[s]);
    ev("Q%d", si->substage);
    return BMD_OK;
}
static void probe_destroy(void *self) { (void)self; }
static const bmd_dynamics_ops probe_ops = {.type = "probe", .enter = probe_enter, .pre_update = probe_pre, .post_update = probe_post, .destroy = probe_destroy};

static bmd_dynamics *probe_new(void) {
    bmd_dynamics *d = calloc(1, sizeof *d);
    d->ops = &probe_ops;
    return d;
}

/* A hook that logs its points: BS BPRE<i> APRE<i> BC AC BPOST<i> APOST<i> AS OC<i>. */
static bmd_status rec_call(void *self, const bmd_hook_ctx *ctx) {
    (void)self;
    switch (ctx->point) {
    case BMD_HOOK_BEFORE_STEP: ev("BS"); break;
    case BMD_HOOK_BEFORE_PRE_UPDATE: ev("BPRE%d", ctx->substage); break;
    case BMD_HOOK_AFTER_PRE_UPDATE: ev("APRE%d", ctx->substage); break;
    case BMD_HOOK_BEFORE_COMPUTE: ev("BC"); break;
    case BMD_HOOK_AFTER_COMPUTE: ev("AC"); break;
    case BMD_HOOK_BEFORE_POST_UPDATE: ev("BPOST%d", ctx->substage); break;
    case BMD_HOOK_AFTER_POST_UPDATE: ev("APOST%d", ctx->substage); break;
    case BMD_HOOK_AFTER_STEP: ev("AS"); break;
    case BMD_HOOK_ON_CONVERGE: ev("OC%d", ctx->substage); break;
    }
    return BMD_OK;
}
static bmd_status rec_open(void *self, const bmd_stage *st, bmd_batch *b) {
    (void)self, (void)st, (void)b;
    ev("OPEN");
    return BMD_OK;
}
static bmd_status rec_close(void *self) {
    (void)self;
    ev("CLOSE");
    return BMD_OK;
}
static void rec_destroy(void *self) { (void)self; }
static const bmd_hook_ops rec_ops = {"rec", rec_open, rec_call, rec_close, rec_destroy};

static bmd_hook *rec_new(unsigned points, long every) {
    bmd_hook *h = calloc(1, sizeof *h);
    h->ops = &rec_ops;
    h->points = points;
    h->every = every;
    return h;
}
#define ALL_POINTS 0x1ffu

/* ------------------------------------------------------------- helpers */

static const bmd_units *metal(void) {
    static bmd_units u;
    u = bmd_units_get(BMD_UNITS_METAL);
    return &u;
}

/* n atoms on a line, sites at 2 Å spacing, displaced by `disp` (deterministic). */
static int add_system(bmd_batch *b, int n, double disp, long id) {
    double x[3 * 64], x0[3 * 64];
    for (int i = 0; i < n; i++)
        for (int d = 0; d < 3; d++) {
            x0[3 * i + d] = d == 0 ? 2.0 * i : 0.0;
            x[3 * i + d] = x0[3 * i + d] + disp * sin(1.0 + 3.0 * i + d + 0.37 * (double)id);
        }
    return harmonic_append(b, n, 39.948, x, x0, NULL, id);
}

static bmd_convergence conv(double fmax, double etol, long max_steps) {
    bmd_convergence c = {fmax, etol, max_steps};
    return c;
}

static double col(bmd_batch *b, const char *name, int s) {
    int c = bmd_batch_find_column(b, name);
    assert_true(c >= 0);
    return bmd_batch_column_data(b, c)[s];
}

/* dyn(type, n, name1, value1, ...): a dynamics with n parameters set. */
static bmd_dynamics *dyn(const char *type, int n, ...) {
    const char *names[8];
    double vals[8];
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        names[i] = va_arg(ap, const char *);
        vals[i] = va_arg(ap, double);
    }
    va_end(ap);
    bmd_dynamics *d = NULL;
    assert_int_equal(bmd_dynamics_create(type, names, vals, n, &d), BMD_OK);
    return d;
}

/* --------------------------------------------------------------- tests */

static void test_hook_order_one_substage(void **state) {
    (void)state;
    events[0] = 0;
    inner_model = harmonic_model_new(1.0, 0.5, NULL);
    bmd_batch *b;
    bmd_batch_create(&b);
    add_system(b, 3, 0.1, 0);
    add_system(b, 4, 0.1, 1);
    bmd_stage *st;
    bmd_stage_create(metal(), 1, &st);
    bmd_convergence c = conv(0, 0, 2);
    assert_int_equal(bmd_stage_add(st, "a", probe_new(), &c), BMD_OK);
    assert_int_equal(bmd_stage_add_hook(st, rec_new(ALL_POINTS, 1)), BMD_OK);
    assert_int_equal(bmd_stage_run(st, b, &logging_model, 0), BMD_OK);
    const char *want = "OPEN "
                       "C AC E0 BS BPRE0 P0 APRE0 BC C AC BPOST0 Q0 APOST0 AS "
                       "BS BPRE0 P0 APRE0 BC C AC BPOST0 Q0 APOST0 AS OC0 "
                       "CLOSE ";
    assert_string_equal(events, want);
    assert_int_equal(bmd_stage_loop_step(st), 2);
    for (int s = 0; s < 2; s++) {
        assert_int_equal(b->status[s], 1);
        assert_true(col(b, "steps.a", s) == 2);
        assert_true(col(b, "converged.a", s) == 1); /* no criterion: an MD stage of N steps */
    }
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    harmonic_model_free(inner_model);
}

static void test_hook_order_fused(void **state) {
    (void)state;
    events[0] = 0;
    inner_model = harmonic_model_new(1.0, 0.0, NULL);
    bmd_batch *b;
    bmd_batch_create(&b);
    add_system(b, 2, 0.1, 0);
    bmd_stage *st;
    bmd_stage_create(metal(), 1, &st);
    bmd_convergence c1 = conv(0, 0, 1), c2 = conv(0, 0, 2);
    bmd_stage_add(st, "a", probe_new(), &c1);
    bmd_stage_add(st, "b", probe_new(), &c2);
    bmd_stage_add_hook(st, rec_new(ALL_POINTS, 1));
    assert_int_equal(bmd_stage_run(st, b, &logging_model, 0), BMD_OK);
    const char *want = "OPEN "
                       "C AC E0 BS BPRE0 P0 APRE0 BC C AC BPOST0 Q0 APOST0 AS OC0 E1 "
                       "BS BPRE1 P1 APRE1 BC C AC BPOST1 Q1 APOST1 AS "
                       "BS BPRE1 P1 APRE1 BC C AC BPOST1 Q1 APOST1 AS OC1 "
                       "CLOSE ";
    assert_string_equal(events, want);
    assert_true(col(b, "steps.a", 0) == 1 && col(b, "steps.b", 0) == 2);
    assert_int_equal(b->status[0], 2);

    /* two systems, one in each sub-stage: both sub-stages' points fire, each with its own mask */
    events[0] = 0;
    add_system(b, 2, 0.1, 1);
    add_system(b, 2, 0.1, 2);
    b->status[0] = 2;
    b->status[2] = 1;
    assert_int_equal(bmd_stage_step(st, b, &logging_model), BMD_OK);
    assert_string_equal(events, "C AC E0 E1 BS BPRE0 P0 APRE0 BPRE1 P1 APRE1 BC C AC BPOST0 Q0 APOST0 "
                                "BPOST1 Q1 APOST1 AS OC0 E1 ");
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    harmonic_model_free(inner_model);
}

static void test_hook_every(void **state) {
    (void)state;
    events[0] = 0;
    inner_model = harmonic_model_new(1.0, 0.0, NULL);
    bmd_batch *b;
    bmd_batch_create(&b);
    add_system(b, 2, 0.1, 0);
    bmd_stage *st;
    bmd_stage_create(metal(), 1, &st);
    bmd_convergence c = conv(0, 0, 5);
    bmd_stage_add(st, "a", dyn("nve", 1, "dt", 1.0), &c);
    bmd_stage_add_hook(st, rec_new(BMD_HOOK_BEFORE_STEP | BMD_HOOK_ON_CONVERGE, 2));
    assert_int_equal(bmd_stage_run(st, b, &logging_model, 0), BMD_OK);
    /* BEFORE_STEP on loop steps 2 and 4 only; ON_CONVERGE whatever `every` says */
    assert_string_equal(events, "OPEN C C BS C C BS C C OC0 CLOSE ");
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    harmonic_model_free(inner_model);
}

static void test_step0_convergence(void **state) {
    (void)state;
    events[0] = 0;
    inner_model = harmonic_model_new(1.0, 0.3, NULL);
    bmd_batch *b;
    bmd_batch_create(&b);
    add_system(b, 5, 0.0, 0); /* at its minimum: F = 0 */
    double x_before[15];
    memcpy(x_before, b->pos, sizeof x_before);
    bmd_stage *st;
    bmd_stage_create(metal(), 1, &st);
    bmd_convergence c = conv(0.05, 0, 1000);
    bmd_stage_add(st, "r1", dyn("fire", 0), &c);
    bmd_stage_add(st, "r2", dyn("fire2", 0), &c);
    bmd_stage_add_hook(st, rec_new(ALL_POINTS, 1));
    assert_int_equal(bmd_stage_step(st, b, &logging_model), BMD_OK);
    /* both sub-stages passed at step 0, in one loop step, without an update,
     * after the AFTER_COMPUTE hooks saw the evaluation they passed on */
    assert_string_equal(events, "C AC OC0 OC1 ");
    assert_int_equal(b->status[0], 2);
    assert_true(col(b, "steps.r1", 0) == 0 && col(b, "converged.r1", 0) == 1);
    assert_true(col(b, "steps.r2", 0) == 0 && col(b, "converged.r2", 0) == 1);
    assert_memory_equal(b->pos, x_before, sizeof x_before);
    assert_int_equal(bmd_stage_live(st, b), 0);
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    harmonic_model_free(inner_model);
}

static void test_budget(void **state) {
    (void)state;
    bmd_model *m = harmonic_model_new(1.0, 0.3, NULL);
    bmd_batch *b;
    bmd_batch_create(&b);
    add_system(b, 4, 0.2, 0);
    add_system(b, 4, 0.2, 1);
    add_system(b, 4, 0.2, 2);
    double x_before[12];
    memcpy(x_before, b->pos, sizeof x_before);
    bmd_stage *st;
    /* budget 0 with a criterion: leaves at once, unconverged, untouched */
    bmd_stage_create(metal(), 1, &st);
    bmd_convergence c0 = conv(0.05, 0, 0);
    bmd_stage_add(st, "zero", dyn("fire", 0), &c0);
    /* budget 0 without criterion (MD of 0 steps): converged */
    bmd_convergence cmd = conv(0, 0, 0);
    bmd_stage_add(st, "md0", dyn("nve", 1, "dt", 1.0), &cmd);
    assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
    for (int s = 0; s < 3; s++) {
        assert_int_equal(b->status[s], 2);
        assert_true(col(b, "steps.zero", s) == 0 && col(b, "converged.zero", s) == 0);
        assert_true(col(b, "steps.md0", s) == 0 && col(b, "converged.md0", s) == 1);
    }
    assert_memory_equal(b->pos, x_before, sizeof x_before);
    bmd_stage_destroy(st);
    for (int s = 0; s < 3; s++) b->status[s] = 0;
    bmd_stage_create(metal(), 1, &st);
    /* budget 5 with an impossible fmax: out of budget, unconverged */
    bmd_convergence c5 = conv(1e-30, 0, 5);
    bmd_stage_add(st, "five", dyn("fire", 0), &c5);
    /* etol: converges when the energy change is below etol */
    bmd_convergence ce = conv(0, 1e-4, 10000);
    bmd_stage_add(st, "etol", dyn("fire", 0), &ce);
    assert_int_equal(bmd_stage_run(st, b, m, 0), BMD_OK);
    for (int s = 0; s < 3; s++) {
        assert_int_equal(b->status[s], 2);
        assert_true(col(b, "steps.five", s) == 5 && col(b, "converged.five", s) == 0);
        assert_true(col(b, "steps.etol", s) > 1 && col(b, "converged.etol", s) == 1);
    }
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    harmonic_model_free(m);
}

/* Copies every byte that belongs to slot s: atoms, system fields, columns. */
static size_t snapshot(const bmd_batch *b, int s, unsigned char *out) {
    size_t n = 0;
    int a0 = b->atom_start[s], na = b->atom_count[s];
#define PUT(p, bytes) (memcpy(out + n, (p), (bytes)), n += (bytes))
    PUT(b->pos + 3 * a0, 3 * na * sizeof(double));
    PUT(b->vel + 3 * a0, 3 * na * sizeof(double));
    PUT(b->force + 3 * a0, 3 * na * sizeof(double));
    PUT(&b->energy[s], sizeof(double));
    PUT(&b->forces_valid[s], 1);
    PUT(&b->status[s], sizeof(int));
    for (int c = 0; c < b->n_columns; c++) {
        const bmd_column *k = &b->columns[c];
        if (k->per_atom) PUT(k->data + (size_t)k->width * a0, (size_t)k->width * na * sizeof(double));
        else PUT(k->data + (size_t)k->width * s, (size_t)k->width * sizeof(double));
    }
#undef PUT
    return n;
}

/* For every dynamics type: enter() and the updates with a mask leave the
 * other systems bit-for-bit untouched. */
static void test_masked_update_untouched(void **state) {
    (void)state;
    static const char *types[] = {"fire", "fire2", "nve", "nvt_langevin", "nvt_nose_hoover"};
    bmd_model *m = harmonic_model_new(1.0, 0.5, NULL);
    for (int t = 0; t < 5; t++) {
        bmd_batch *b;
        bmd_batch_create(&b);
        for (int s = 0; s < 3; s++) add_system(b, 3 + s, 0.2, s);
        for (int s = 0; s < 3; s++) b->vel[3 * b->atom_start[s]] = 0.001 * (s + 1);
        bmd_compute_request req = {NULL, b->energy, b->force, NULL, NULL};
        m->ops->compute(m->self, b, &req);
        for (int s = 0; s < 3; s++) b->forces_valid[s] = 1;
        bmd_dynamics *d = t < 2 ? dyn(types[t], 0)
                                : t == 2 ? dyn(types[t], 1, "dt", 1.0)
                                : t == 3 ? dyn(types[t], 3, "dt", 1.0, "temperature", 300.0, "friction", 0.01)
                                         : dyn(types[t], 2, "dt", 1.0, "temperature", 300.0);
        bmd_units u = bmd_units_get(BMD_UNITS_METAL);
        double steps[3] = {0, 0, 0};
        bmd_step_info si = {&u, 7, 0, steps, bmd_dynamics_find(types[t])->dof};
        unsigned char mask[3] = {1, 0, 1}, none_mask[3] = {0, 1, 0};
        /* enter only 0 and 2 first, then 1: entering must not touch the others */
        static unsigned char snap0[1 << 16], snap1[1 << 16];
        size_t n0 = snapshot(b, 1, snap0);
        assert_int_equal(d->ops->enter(d->self, b, mask, &si), BMD_OK);
        /* columns may have been created: compare the prefix that existed */
        size_t n1 = snapshot(b, 1, snap1);
        assert_true(n1 >= n0);
        assert_memory_equal(snap0, snap1, n0);
        n0 = snapshot(b, 0, snap0);
        assert_int_equal(d->ops->enter(d->self, b, none_mask, &si), BMD_OK);
        n1 = snapshot(b, 0, snap1);
        assert_int_equal(n0, n1);
        assert_memory_equal(snap0, snap1, n0);
        for (int step = 0; step < 3; step++) {
            n0 = snapshot(b, 1, snap0);
            d->ops->pre_update(d->self, b, mask, &si);
            if (d->ops->post_update) d->ops->post_update(d->self, b, mask, &si);
            n1 = snapshot(b, 1, snap1);
            assert_int_equal(n0, n1);
            assert_memory_equal(snap0, snap1, n0);
            steps[0] += 1;
            steps[2] += 1;
        }
        /* and the masked ones did move */
        assert_true(b->pos[3 * b->atom_start[0]] != 0.0 || b->pos[3 * b->atom_start[0] + 1] != 0.0);
        bmd_dynamics_destroy(d);
        bmd_batch_destroy(b);
    }
    harmonic_model_free(m);
}

/* A fused stage (fire -> nve -> langevin): each system's bits are the same
 * alone, in a batch, and in another order. */
static void run_fused(int n_sys, const int *ids, double *pos_out, double *vel_out, double *steps_out) {
    bmd_model *m = harmonic_model_new(0.5, 1.0, NULL);
    bmd_batch *b;
    bmd_batch_create(&b);
    for (int i = 0; i < n_sys; i++) add_system(b, 2 + ids[i], 0.3, ids[i]);
    bmd_stage *st;
    bmd_stage_create(metal(), 99, &st);
    bmd_convergence cf = conv(0.01, 0, 30 + 7 * 1), cm = conv(0, 0, 15), cl = conv(0, 0, 20);
    bmd_stage_add(st, "relax", dyn("fire", 0), &cf);
    bmd_stage_add(st, "nve", dyn("nve", 2, "dt", 2.0, "init_temperature", 50.0), &cm);
    bmd_dynamics *l = dyn("nvt_langevin", 2, "dt", 2.0, "temperature", 300.0);
    bmd_stage_add(st, "lgv", l, &cl);
    /* langevin's friction is required: set through the info line of everyone */
    for (int s = 0; s < b->n_systems; s++) bmd_info_set(&b->info[s], "friction", "0.01");
    assert_int_equal(bmd_stage_run(st, b, m, 0), BMD_OK);
    for (int i = 0; i < n_sys; i++) {
        int s = -1;
        for (int k = 0; k < b->n_systems; k++)
            if (b->system_id[k] == ids[i]) s = k;
        int id = ids[i], na = 2 + id;
        assert_int_equal(b->status[s], 3);
        memcpy(pos_out + 3 * 64 * id, b->pos + 3 * b->atom_start[s], 3 * (size_t)na * sizeof(double));
        memcpy(vel_out + 3 * 64 * id, b->vel + 3 * b->atom_start[s], 3 * (size_t)na * sizeof(double));
        steps_out[3 * id] = col(b, "steps.relax", s);
        steps_out[3 * id + 1] = col(b, "steps.nve", s);
        steps_out[3 * id + 2] = col(b, "steps.lgv", s);
    }
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    harmonic_model_free(m);
}

static void test_batch_independence(void **state) {
    (void)state;
    enum { N = 6 };
    static double pa[N * 3 * 64], va[N * 3 * 64], sa[3 * N], pb[N * 3 * 64], vb[N * 3 * 64], sb[3 * N];
    memset(pa, 0, sizeof pa), memset(va, 0, sizeof va), memset(pb, 0, sizeof pb), memset(vb, 0, sizeof vb);
    int all[N] = {0, 1, 2, 3, 4, 5}, rev[N] = {5, 3, 1, 4, 2, 0};
    run_fused(N, all, pa, va, sa);
    run_fused(N, rev, pb, vb, sb);
    assert_memory_equal(pa, pb, sizeof pa);
    assert_memory_equal(va, vb, sizeof va);
    assert_memory_equal(sa, sb, sizeof sa);
    for (int i = 0; i < N; i++) {
        memset(pb, 0, sizeof pb), memset(vb, 0, sizeof vb);
        run_fused(1, &all[i], pb, vb, sb);
        assert_memory_equal(pa + 3 * 64 * i, pb + 3 * 64 * i, 3 * 64 * sizeof(double));
        assert_memory_equal(va + 3 * 64 * i, vb + 3 * 64 * i, 3 * 64 * sizeof(double));
        assert_memory_equal(sa + 3 * i, sb + 3 * i, 3 * sizeof(double));
    }
}

/* Big batches run the integrators on OpenMP threads: same bits with 1 and 2. */
static void run_big(int threads, double *pos, double *vel) {
#ifdef _OPENMP
    omp_set_num_threads(threads);
#else
    (void)threads;
#endif
    bmd_model *m = harmonic_model_new(0.5, 1.0, NULL);
    bmd_batch *b;
    bmd_batch_create(&b);
    for (int s = 0; s < 400; s++) add_system(b, 60, 0.3, s);
    bmd_stage *st;
    bmd_stage_create(metal(), 5, &st);
    bmd_convergence c1 = conv(1e-30, 0, 4), c2 = conv(0, 0, 4), c3 = conv(0, 0, 4), c4 = conv(0, 0, 4);
    bmd_stage_add(st, "f", dyn("fire", 0), &c1);
    bmd_stage_add(st, "f2", dyn("fire2", 0), &c2);
    bmd_stage_add(st, "l", dyn("nvt_langevin", 4, "dt", 1.0, "temperature", 300.0, "friction", 0.01,
                               "init_temperature", 300.0), &c3);
    bmd_stage_add(st, "n", dyn("nvt_nose_hoover", 2, "dt", 1.0, "temperature", 300.0), &c4);
    for (int s = 0; s < 400; s++) b->status[s] = s % 4;
    assert_int_equal(b->n_atoms, 24000); /* above the integrators' threshold for threads */
    assert_int_equal(bmd_stage_run(st, b, m, 0), BMD_OK);
    memcpy(pos, b->pos, 3 * (size_t)b->n_atoms * sizeof(double));
    memcpy(vel, b->vel, 3 * (size_t)b->n_atoms * sizeof(double));
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    harmonic_model_free(m);
}

static void test_threads(void **state) {
    (void)state;
    static double p1[3 * 24000], v1[3 * 24000], p2[3 * 24000], v2[3 * 24000];
    run_big(1, p1, v1);
    run_big(2, p2, v2);
    assert_memory_equal(p1, p2, sizeof p1);
    assert_memory_equal(v1, v2, sizeof v1);
#ifdef _OPENMP
    omp_set_num_threads(omp_get_num_procs());
#endif
}

/* A hook that takes out system_id 1 at AFTER_COMPUTE of loop step 2. */
static bmd_status killer_call(void *self, const bmd_hook_ctx *ctx) {
    (void)self;
    if (ctx->step != 2) return BMD_OK;
    for (int s = 0; s < ctx->batch->n_systems; s++)
        if (ctx->batch->system_id[s] == 1) return bmd_stage_fail(ctx->batch, s, "killed_by_test");
    return BMD_OK;
}
static const bmd_hook_ops killer_ops = {"killer", NULL, killer_call, NULL, rec_destroy};

static void test_quarantine(void **state) {
    (void)state;
    harmonic_model *h;
    bmd_model *m = harmonic_model_new(1.0, 0.5, &h);
    h->poison_id = 2;
    bmd_batch *b;
    bmd_batch_create(&b);
    for (int s = 0; s < 3; s++) add_system(b, 3, 0.2, s);
    bmd_stage *st;
    bmd_stage_create(metal(), 1, &st);
    bmd_convergence c = conv(0, 0, 5);
    bmd_stage_add(st, "md", dyn("nve", 1, "dt", 1.0), &c);
    bmd_hook *k = calloc(1, sizeof *k);
    k->ops = &killer_ops;
    k->points = BMD_HOOK_AFTER_COMPUTE;
    k->every = 1;
    bmd_stage_add_hook(st, k);
    bmd_hook *nan;
    assert_int_equal(bmd_hook_nan_create(&nan), BMD_OK);
    bmd_stage_add_hook(st, nan);
    assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
    /* the NaN system is out before its first update */
    assert_int_equal(b->status[2], BMD_STATUS_FAILED);
    assert_string_equal(bmd_info_get(&b->info[2], "status"), "nan_or_inf");
    assert_true(col(b, "steps.md", 2) == 0);
    double x1[9];
    assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
    assert_int_equal(b->status[1], BMD_STATUS_FAILED);
    assert_string_equal(bmd_info_get(&b->info[1], "status"), "killed_by_test");
    assert_true(col(b, "steps.md", 1) == 1); /* its second update was not completed */
    memcpy(x1, b->pos + 3 * b->atom_start[1], sizeof x1);
    assert_int_equal(bmd_stage_run(st, b, m, 0), BMD_OK);
    assert_memory_equal(x1, b->pos + 3 * b->atom_start[1], sizeof x1);
    assert_int_equal(b->status[0], 1);
    assert_true(col(b, "steps.md", 0) == 5);
    assert_int_equal(bmd_stage_live(st, b), 0);
    /* direct use */
    assert_int_equal(bmd_stage_fail(b, 0, "manual"), BMD_OK);
    assert_int_equal(b->status[0], BMD_STATUS_FAILED);
    assert_string_equal(bmd_info_get(&b->info[0], "status"), "manual");
    assert_int_not_equal(bmd_stage_fail(b, 7, "x"), BMD_OK);
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    harmonic_model_free(m);
}

static void test_overrides(void **state) {
    (void)state;
    bmd_model *m = harmonic_model_new(1.0, 0.5, NULL);
    bmd_batch *b;
    bmd_batch_create(&b);
    for (int s = 0; s < 6; s++) add_system(b, 3, 0.2, s);
    bmd_info_set(&b->info[0], "fmax", "1e9");
    bmd_info_set(&b->info[1], "max_steps", "2");
    bmd_info_set(&b->info[3], "fmax", "not-a-number");
    bmd_info_set(&b->info[4], "dt", "abc");
    bmd_info_set(&b->info[5], "maxstep", "1e-4");
    bmd_stage *st;
    bmd_stage_create(metal(), 1, &st);
    bmd_convergence c = conv(1e-30, 0, 4);
    bmd_stage_add(st, "relax", dyn("fire", 0), &c);
    assert_int_equal(bmd_stage_run(st, b, m, 0), BMD_OK);
    assert_true(col(b, "steps.relax", 0) == 0 && col(b, "converged.relax", 0) == 1);
    assert_true(col(b, "steps.relax", 1) == 2 && col(b, "converged.relax", 1) == 0);
    assert_true(col(b, "steps.relax", 2) == 4 && col(b, "converged.relax", 2) == 0);
    assert_int_equal(b->status[3], BMD_STATUS_FAILED);
    assert_string_equal(bmd_info_get(&b->info[3], "status"), "invalid_param_convergence");
    assert_int_equal(b->status[4], BMD_STATUS_FAILED);
    assert_string_equal(bmd_info_get(&b->info[4], "status"), "invalid_param_dt");
    bmd_stage_destroy(st);

    /* maxstep=1e-4 from the info line == a stage with maxstep 1e-4, bit for bit,
     * and not the default's result */
    for (int pass = 0; pass < 2; pass++) {
        bmd_batch *b2;
        bmd_batch_create(&b2);
        add_system(b2, 3, 0.2, 5);
        bmd_stage_create(metal(), 1, &st);
        bmd_stage_add(st, "relax", pass ? dyn("fire", 0) : dyn("fire", 1, "maxstep", 1e-4), &c);
        assert_int_equal(bmd_stage_run(st, b2, m, 0), BMD_OK);
        if (pass) assert_memory_not_equal(b2->pos, b->pos + 3 * b->atom_start[5], 9 * sizeof(double));
        else assert_memory_equal(b2->pos, b->pos + 3 * b->atom_start[5], 9 * sizeof(double));
        bmd_stage_destroy(st);
        bmd_batch_destroy(b2);
    }
    bmd_batch_destroy(b);

    /* MD: "steps" (the campaign's name) or "max_steps" from the info line */
    bmd_batch_create(&b);
    for (int s = 0; s < 4; s++) add_system(b, 2, 0.1, s);
    bmd_info_set(&b->info[0], "steps", "3");
    bmd_info_set(&b->info[1], "max_steps", "2");
    bmd_info_set(&b->info[2], "steps", "3");
    bmd_info_set(&b->info[2], "max_steps", "1");
    bmd_convergence cmd = conv(0, 0, 5);
    bmd_stage_create(metal(), 1, &st);
    bmd_stage_add(st, "md", dyn("nve", 1, "dt", 1.0), &cmd);
    assert_int_equal(bmd_stage_run(st, b, m, 0), BMD_OK);
    assert_true(col(b, "steps.md", 0) == 3 && col(b, "steps.md", 1) == 2);
    assert_true(col(b, "steps.md", 2) == 1 && col(b, "steps.md", 3) == 5);
    for (int s = 0; s < 4; s++) assert_true(col(b, "converged.md", s) == 1);
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    harmonic_model_free(m);
}

static void test_stress(void **state) {
    (void)state;
    bmd_model *m = harmonic_model_new(1.0, 0.5, NULL);
    bmd_batch *b;
    bmd_batch_create(&b);
    add_system(b, 3, 0.2, 0);
    add_system(b, 3, 0.2, 1);
    double cell[9] = {10, 0, 0, 0, 11, 0, 1, 0, 12};
    memcpy(b->cell + 9, cell, sizeof cell);
    b->pbc[3] = b->pbc[4] = b->pbc[5] = 1;
    bmd_stage *st;
    bmd_stage_create(metal(), 1, &st);
    bmd_convergence c = conv(0, 0, 1);
    bmd_stage_add(st, "md", dyn("nve", 1, "dt", 1.0), &c);
    bmd_stage_want_stress(st, 1);
    assert_int_equal(bmd_stage_step(st, b, m), BMD_OK);
    assert_false(b->stress_valid[0]);
    assert_true(b->stress_valid[1]);
    double w[6];
    bmd_compute_request req = {NULL, NULL, NULL, w, NULL};
    static double virial[12];
    req.virial = virial;
    m->ops->compute(m->self, b, &req);
    memcpy(w, virial + 6, sizeof w);
    for (int k = 0; k < 6; k++) assert_true(b->stress[6 + k] == w[k] / 1320.0);
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    harmonic_model_free(m);
}

static void test_catalogue(void **state) {
    (void)state;
    int n = 0;
    const bmd_dynamics_type *const *all = bmd_dynamics_types(&n);
    /* the built-ins are listed (other dynamics may follow), each once */
    static const char *const builtin[] = {"fire", "fire2", "nve", "nvt_langevin", "nvt_nose_hoover", "npt_mtk", "nph",
                                          "nvt_csvr", "nvt_berendsen", "npt_crescale"};
    assert_true(n >= (int)(sizeof builtin / sizeof *builtin));
    for (size_t k = 0; k < sizeof builtin / sizeof *builtin; k++) assert_non_null(bmd_dynamics_find(builtin[k]));
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < i; j++) assert_string_not_equal(all[i]->type, all[j]->type);
        assert_ptr_equal(bmd_dynamics_find(all[i]->type), all[i]);
        for (int p = 0; p < all[i]->n_params; p++) assert_non_null(all[i]->params[p].unit);
    }
    const bmd_dynamics_type *f = bmd_dynamics_find("fire");
    assert_true(f->is_optimizer);
    double want[] = {0.1, 0.2, 1.0, 5, 1.1, 0.5, 0.1, 0.99};
    const char *names[] = {"dt", "maxstep", "dtmax", "Nmin", "finc", "fdec", "astart", "fa"};
    for (int p = 0; p < 8; p++) {
        assert_string_equal(f->params[p].name, names[p]);
        assert_true(f->params[p].def == want[p]);
    }
    assert_null(bmd_dynamics_find("bogus"));
    bmd_dynamics *d = NULL;
    const char *bad[] = {"nonsense"};
    double v[] = {1};
    assert_int_equal(bmd_dynamics_create("fire", bad, v, 1, &d), BMD_ERR_INVALID);
    bmd_dynamics_destroy(NULL);
    bmd_hook_destroy(NULL);
    bmd_stage_destroy(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hook_order_one_substage),
        cmocka_unit_test(test_hook_order_fused),
        cmocka_unit_test(test_hook_every),
        cmocka_unit_test(test_step0_convergence),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_masked_update_untouched),
        cmocka_unit_test(test_batch_independence),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_quarantine),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_stress),
        cmocka_unit_test(test_catalogue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
