/* min_distance.c — the input-geometry hook: at AFTER_COMPUTE (the stage
 * calls it after the evaluation made when systems arrive) and BEFORE_STEP
 * (for systems that arrive with valid forces) it looks once at each system
 * it has not seen (a per-system column, "min_distance.seen", travels with
 * the system), and takes out (status "atoms_too_close") a system with two
 * atoms, or an atom and its periodic image, closer than min_distance: such
 * a structure (overlapping atoms, a duplicated atom) is broken input whose
 * forces would blow up, and saying so is more useful than "nan_or_inf". Add
 * it before the nan and fclamp hooks, which listen at AFTER_COMPUTE too and
 * would take the system out first. A position the check cannot handle
 * (non-finite, absurdly far away) is left to those hooks. */
#include "hooks/hooks_internal.h"

#include <math.h>
#include <stdlib.h>

#include "core/checks.h"

typedef struct min_distance {
    double dmin;
    int col; /* cached column index */
} min_distance;

static bmd_status md_call(void *self, const bmd_hook_ctx *ctx) {
    min_distance *h = self;
    bmd_batch *b = ctx->batch;
    bmd_status rc = bmd_batch_column(b, "min_distance.seen", 0, 1, &h->col);
    if (rc) return rc;
    double *seen = bmd_batch_column_data(b, h->col);
    for (int s = 0; s < b->n_systems; s++) {
        if (!ctx->mask[s] || b->status[s] < 0 || seen[s] != 0) continue;
        seen[s] = 1;
        double d;
        rc = bmd__closest_pair(b->atom_count[s], b->pos + 3 * (size_t)b->atom_start[s], b->cell + 9 * (size_t)s,
                               b->pbc + 3 * (size_t)s, h->dmin, &d, NULL, NULL);
        if (rc == BMD_ERR_NOMEM) return rc;
        if (rc) continue; /* bad positions or cell: the model's NaN says so */
        if (d < h->dmin && (rc = bmd_stage_fail(b, s, "atoms_too_close"))) return rc;
    }
    return BMD_OK;
}

static void md_destroy(void *self) { free(self); }

static const bmd_hook_ops md_ops = {"min_distance", NULL, md_call, NULL, md_destroy};

bmd_status bmd_hook_min_distance_create(double min_distance, bmd_hook **out) {
    if (!(min_distance > 0) || !isfinite(min_distance))
        return bmd__fail(BMD_ERR_INVALID, "min_distance hook: the distance must be > 0, got %g", min_distance);
    struct min_distance *h = malloc(sizeof *h);
    if (!h) return bmd__fail(BMD_ERR_NOMEM, "out of memory creating the min_distance hook");
    h->dmin = min_distance;
    h->col = -1;
    return bmd__hook_wrap(&md_ops, h, BMD_HOOK_AFTER_COMPUTE | BMD_HOOK_BEFORE_STEP, 1, out);
}
