/* nan.c — the NaN/Inf detector hook: after every model evaluation
 * (AFTER_COMPUTE, which the stage also calls after the evaluation made when
 * systems arrive, before a system can converge at step 0), any system whose
 * energy or forces are not finite is taken out with status "nan_or_inf".
 * Forces a system brings along (a hand-over, a checkpoint) were checked
 * where they were computed. */
#include "hooks/hooks_internal.h"

#include <math.h>
#include <stdlib.h>

static int finite_system(const bmd_batch *b, int s) {
    if (!isfinite(b->energy[s])) return 0;
    const double *f = b->force + 3 * (size_t)b->atom_start[s];
    double acc = 0; /* NaN or Inf anywhere makes the product non-finite */
    for (int j = 0; j < 3 * b->atom_count[s]; j++) acc += f[j] * 0.0;
    return acc == 0.0;
}

static bmd_status nan_call(void *self, const bmd_hook_ctx *ctx) {
    (void)self;
    bmd_batch *b = ctx->batch;
    for (int s = 0; s < b->n_systems; s++) {
        if (!ctx->mask[s] || b->status[s] < 0 || !b->forces_valid[s]) continue;
        if (!finite_system(b, s)) {
            bmd_status rc = bmd_stage_fail(b, s, "nan_or_inf");
            if (rc) return rc;
        }
    }
    return BMD_OK;
}

static void nan_destroy(void *self) { (void)self; }

static const bmd_hook_ops nan_ops = {"nan", NULL, nan_call, NULL, nan_destroy};

bmd_status bmd_hook_nan_create(bmd_hook **out) {
    return bmd__hook_wrap(&nan_ops, NULL, BMD_HOOK_AFTER_COMPUTE, 1, out);
}
