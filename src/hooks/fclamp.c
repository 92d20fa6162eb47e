/* fclamp.c — the force-clamp hook: after every model evaluation
 * (AFTER_COMPUTE, which the stage also calls after the evaluation made
 * when systems arrive) each atom's force longer than fmax_clamp is scaled down to
 * fmax_clamp (direction kept); with fail_above > 0, a system whose largest
 * force exceeds fail_above is taken out instead ("force_blowup"). The
 * energy is left as computed. */
#include "hooks/hooks_internal.h"

#include <math.h>
#include <stdlib.h>

typedef struct fclamp {
    double clamp, fail_above;
} fclamp;

static bmd_status fclamp_call(void *self, const bmd_hook_ctx *ctx) {
    const fclamp *h = self;
    bmd_batch *b = ctx->batch;
    for (int s = 0; s < b->n_systems; s++) {
        if (!ctx->mask[s] || b->status[s] < 0 || !b->forces_valid[s]) continue;
        if (h->fail_above > 0 && !(bmd_fmax(b, s) <= h->fail_above)) {
            bmd_status rc = bmd_stage_fail(b, s, "force_blowup");
            if (rc) return rc;
            continue;
        }
        if (!(h->clamp > 0)) continue;
        double *f = b->force + 3 * (size_t)b->atom_start[s];
        const double c2 = h->clamp * h->clamp;
        for (int i = 0; i < b->atom_count[s]; i++) {
            double *fi = f + 3 * i, f2 = fi[0] * fi[0] + fi[1] * fi[1] + fi[2] * fi[2];
            if (f2 > c2) {
                double scale = h->clamp / sqrt(f2);
                fi[0] *= scale;
                fi[1] *= scale;
                fi[2] *= scale;
            }
        }
    }
    return BMD_OK;
}

static void fclamp_destroy(void *self) { free(self); }

static const bmd_hook_ops fclamp_ops = {"fclamp", NULL, fclamp_call, NULL, fclamp_destroy};

bmd_status bmd_hook_fclamp_create(double fmax_clamp, double fail_above, bmd_hook **out) {
    if (!(fmax_clamp > 0) && !(fail_above > 0))
        return bmd__fail(BMD_ERR_INVALID, "fclamp hook: fmax_clamp or fail_above must be > 0");
    fclamp *h = malloc(sizeof *h);
    if (!h) return bmd__fail(BMD_ERR_NOMEM, "out of memory creating the fclamp hook");
    h->clamp = fmax_clamp;
    h->fail_above = fail_above;
    return bmd__hook_wrap(&fclamp_ops, h, BMD_HOOK_AFTER_COMPUTE, 1, out);
}
