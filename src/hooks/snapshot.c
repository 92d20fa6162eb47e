/* snapshot.c — owns the trajectory snapshot hook (bmd_hook_snapshot_create)
 * and what both snapshot hooks share (snapshot_internal.h): each system's
 * own step count and time, the time steps of MD sub-stages
 * (bmd_hook_snapshot_set_dt), and writing a system as a frame.
 *
 * When it writes, per system, whatever the batch around it:
 *   - BEFORE_STEP: its first frame, step 0, before its first update;
 *   - AFTER_STEP: when its own step count (Σ over the stage's sub-stages of
 *     its "steps.<name>") is a positive multiple of `every`;
 *   - ON_CONVERGE: as it leaves the last sub-stage, its final state, unless
 *     AFTER_STEP of the same step count just wrote it (a positive multiple
 *     of `every`): its last frame is the state it leaves with (the one
 *     that goes to `final`), written once. A system that never took a step
 *     (converged on entry) thus gets its step-0 frame then.
 * The loop step of the batch plays no part: a system gives the same frames
 * alone or among thousands. */
#include "hooks/snapshot_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------- shared part */

/* Fills cols[i] ("steps.<name_i>") and dt[i] (the time step set for
 * sub-stage i, 0 when none) for the ctx's stage; returns k, -1 on error. */
static int prepare(const bmd__snap_base *sb, const bmd_hook_ctx *ctx, int cols[BMD__HOOK_MAX_SUB],
                   double dt[BMD__HOOK_MAX_SUB]) {
    int k = bmd__hook_steps_columns(ctx->stage, ctx->batch, cols);
    for (int i = 0; i < k; i++) {
        const char *name = bmd_stage_name(ctx->stage, i);
        dt[i] = 0;
        for (int j = 0; name && j < sb->n_dt; j++)
            if (strcmp(sb->dt_name[j], name) == 0) dt[i] = sb->dt[j];
    }
    return k;
}

/* Own step count of slot s: Σ_i steps_i[s], in sub-stage order. */
static long own_steps(const bmd_batch *b, int s, int k, const int *cols) {
    double n = 0;
    for (int i = 0; i < k; i++) n += bmd_batch_column_data(b, cols[i])[s];
    return (long)n;
}

/* Σ_i steps_i[s] · dt_i over the sub-stages with a time step; the info key
 * "dt" of the structure overrides each, as it does for the dynamics. */
static double own_time(const bmd_batch *b, int s, int k, const int *cols, const double *dt) {
    double t = 0;
    for (int i = 0; i < k; i++) {
        if (!(dt[i] > 0)) continue;
        double d = dt[i];
        if (bmd_batch_param(b, s, "dt", dt[i], &d)) d = dt[i]; /* the dynamics took such a system out */
        t += bmd_batch_column_data(b, cols[i])[s] * d;
    }
    return t;
}

bmd_status bmd__snap_clock(const bmd__snap_base *sb, const bmd_hook_ctx *ctx, int slot, long *step, double *time) {
    int cols[BMD__HOOK_MAX_SUB];
    double dt[BMD__HOOK_MAX_SUB];
    int k = prepare(sb, ctx, cols, dt);
    if (k < 0) return BMD_ERR_BUDGET;
    *step = own_steps(ctx->batch, slot, k, cols);
    *time = own_time(ctx->batch, slot, k, cols, dt);
    return BMD_OK;
}

bmd_status bmd__snap_write(bmd__snap_base *sb, const bmd_hook_ctx *ctx, int slot, long step, double time,
                           int n_extra, const char *const *keys, const char *const *values) {
    bmd_system sys;
    memset(&sys, 0, sizeof sys);
    bmd_status rc = bmd_batch_extract(ctx->batch, slot, &sys);
    if (rc) return rc;
    sys.dof = bmd_stage_dof(ctx->stage, ctx->batch->status[slot]); /* the dynamics that moved vel */
    char buf[40];
    snprintf(buf, sizeof buf, "%ld", step);
    rc = bmd_info_set(&sys.info, "step", buf);
    snprintf(buf, sizeof buf, "%.17g", time);
    if (!rc) rc = bmd_info_set(&sys.info, "time", buf);
    for (int i = 0; !rc && i < n_extra; i++) rc = bmd_info_set(&sys.info, keys[i], values[i]);
    if (!rc) rc = bmd_sink_write(sb->sink, &sys);
    bmd_system_free(&sys);
    return rc;
}

bmd_status bmd__snap_close(bmd__snap_base *sb) {
    return sb->sink && sb->sink->ops->close ? sb->sink->ops->close(sb->sink->self) : BMD_OK;
}

void bmd__snap_free(bmd__snap_base *sb) {
    bmd_sink_destroy(sb->sink);
    sb->sink = NULL;
}

/* ------------------------------------------------- the snapshot hook */

typedef struct snap_hook {
    bmd__snap_base base; /* first: set_dt casts */
    long every;
    int n_ids;
    int64_t *ids; /* sorted; NULL: every system */
} snap_hook;

static int cmp_id(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int wanted(const snap_hook *h, int64_t id) {
    return h->n_ids == 0 || bsearch(&id, h->ids, (size_t)h->n_ids, sizeof *h->ids, cmp_id) != NULL;
}

static bmd_status snap_call(void *self, const bmd_hook_ctx *ctx) {
    snap_hook *h = self;
    const bmd_batch *b = ctx->batch;
    int cols[BMD__HOOK_MAX_SUB];
    double dt[BMD__HOOK_MAX_SUB];
    int k = prepare(&h->base, ctx, cols, dt);
    if (k < 0) return BMD_ERR_BUDGET;
    for (int s = 0; s < b->n_systems; s++) {
        if (!ctx->mask[s] || !wanted(h, b->system_id[s])) continue;
        long n = own_steps(b, s, k, cols);
        int write = 0;
        if (ctx->point == BMD_HOOK_BEFORE_STEP) write = n == 0;
        else if (ctx->point == BMD_HOOK_AFTER_STEP) write = n > 0 && n % h->every == 0;
        else if (ctx->point == BMD_HOOK_ON_CONVERGE) write = ctx->substage == k - 1 && (n == 0 || n % h->every);
        if (!write) continue;
        bmd_status rc = bmd__snap_write(&h->base, ctx, s, n, own_time(b, s, k, cols, dt), 0, NULL, NULL);
        if (rc) return rc;
    }
    return BMD_OK;
}

static bmd_status snap_close(void *self) { return bmd__snap_close(self); }

static void snap_destroy(void *self) {
    snap_hook *h = self;
    bmd__snap_free(&h->base);
    free(h->ids);
    free(h);
}

static const bmd_hook_ops snap_ops = {"snapshot", NULL, snap_call, snap_close, snap_destroy};

bmd_status bmd_hook_snapshot_create(bmd_sink *sink, long every, const int64_t *system_ids, int n_ids,
                                    bmd_hook **out) {
    if (!sink || !out || n_ids < 0 || (n_ids > 0 && !system_ids)) {
        bmd_sink_destroy(sink);
        return bmd__fail(BMD_ERR_INVALID, "snapshot hook: %s", !sink ? "no sink" : "invalid system id list");
    }
    snap_hook *h = calloc(1, sizeof *h);
    int64_t *ids = n_ids ? malloc((size_t)n_ids * sizeof *ids) : NULL;
    if (!h || (n_ids && !ids)) {
        free(h);
        free(ids);
        bmd_sink_destroy(sink);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory creating the snapshot hook");
    }
    if (n_ids) {
        memcpy(ids, system_ids, (size_t)n_ids * sizeof *ids);
        qsort(ids, (size_t)n_ids, sizeof *ids, cmp_id);
    }
    h->base.sink = sink;
    h->every = every >= 1 ? every : 1;
    h->n_ids = n_ids;
    h->ids = ids;
    return bmd__hook_wrap(&snap_ops, h, BMD_HOOK_BEFORE_STEP | BMD_HOOK_AFTER_STEP | BMD_HOOK_ON_CONVERGE, 1, out);
}

/* ------------------------------------------------------ time steps */

bmd_status bmd_hook_snapshot_set_dt(bmd_hook *h, const char *substage, double dt) {
    if (!h || !h->ops || !h->ops->type ||
        (strcmp(h->ops->type, "snapshot") != 0 && strcmp(h->ops->type, "converged_snapshot") != 0))
        return bmd__fail(BMD_ERR_INVALID, "bmd_hook_snapshot_set_dt: not a snapshot hook");
    if (!substage || !*substage || strlen(substage) >= BMD__SNAP_NAME)
        return bmd__fail(BMD_ERR_INVALID, "snapshot hook: sub-stage name '%s' must have 1 to %d characters",
                         substage ? substage : "", BMD__SNAP_NAME - 1);
    if (!(dt >= 0))
        return bmd__fail(BMD_ERR_INVALID, "snapshot hook: time step of '%s' must be >= 0", substage);
    bmd__snap_base *sb = h->self;
    int j = 0;
    while (j < sb->n_dt && strcmp(sb->dt_name[j], substage) != 0) j++;
    if (j == BMD__HOOK_MAX_SUB)
        return bmd__fail(BMD_ERR_BUDGET, "snapshot hook: more than %d sub-stages", BMD__HOOK_MAX_SUB);
    strcpy(sb->dt_name[j], substage);
    sb->dt[j] = dt;
    if (j == sb->n_dt) sb->n_dt++;
    return BMD_OK;
}
