/* converged_snapshot.c — owns the converged-snapshot hook: at ON_CONVERGE,
 * each system leaving a sub-stage (converged or out of budget) is written
 * once to the hook's sink, with info keys step and time (its own count and
 * time, as the snapshot hook's), stage (the sub-stage it leaves) and
 * converged_<stage> (T or F); with last_only, only as it leaves the last
 * sub-stage. */
#include "hooks/snapshot_internal.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct conv_hook {
    bmd__snap_base base; /* first: bmd_hook_snapshot_set_dt casts */
    int last_only;
} conv_hook;

static bmd_status conv_call(void *self, const bmd_hook_ctx *ctx) {
    conv_hook *h = self;
    bmd_batch *b = ctx->batch;
    int k = bmd_stage_count(ctx->stage), i = ctx->substage;
    if (ctx->point != BMD_HOOK_ON_CONVERGE || i < 0 || i >= k || (h->last_only && i != k - 1)) return BMD_OK;
    int cc = bmd_stage_converged_column(ctx->stage, b, i);
    if (cc < 0) return BMD_ERR_BUDGET;
    const char *name = bmd_stage_name(ctx->stage, i);
    char conv_key[64];
    snprintf(conv_key, sizeof conv_key, "converged_%s", name);
    for (int s = 0; s < b->n_systems; s++) {
        if (!ctx->mask[s]) continue;
        long step;
        double time;
        bmd_status rc = bmd__snap_clock(&h->base, ctx, s, &step, &time);
        const char *keys[2] = {"stage", conv_key};
        const char *values[2] = {name, bmd_batch_column_data(b, cc)[s] != 0 ? "T" : "F"};
        if (!rc) rc = bmd__snap_write(&h->base, ctx, s, step, time, 2, keys, values);
        if (rc) return rc;
    }
    return BMD_OK;
}

static bmd_status conv_close(void *self) { return bmd__snap_close(self); }

static void conv_destroy(void *self) {
    conv_hook *h = self;
    bmd__snap_free(&h->base);
    free(h);
}

static const bmd_hook_ops conv_ops = {"converged_snapshot", NULL, conv_call, conv_close, conv_destroy};

bmd_status bmd_hook_converged_snapshot_create(bmd_sink *sink, int last_only, bmd_hook **out) {
    if (!sink || !out) {
        bmd_sink_destroy(sink);
        return bmd__fail(BMD_ERR_INVALID, "converged snapshot hook: no sink");
    }
    conv_hook *h = calloc(1, sizeof *h);
    if (!h) {
        bmd_sink_destroy(sink);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory creating the converged snapshot hook");
    }
    h->base.sink = sink;
    h->last_only = last_only != 0;
    return bmd__hook_wrap(&conv_ops, h, BMD_HOOK_ON_CONVERGE, 1, out);
}
