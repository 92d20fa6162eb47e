/* drift.c — the energy-drift monitor: per system, the total energy
 * E = U + K is recorded when the system starts its sub-stage (BEFORE_STEP of
 * its first update) and |E − E_0| / N (eV/atom) is checked after every
 * `every`-th step of the system; the largest value seen is kept, and with
 * max_drift > 0 a system above it is taken out ("energy_drift"). Meant for
 * NVE sub-stages. Column: "drift.e0" (E_0, set flag). */
#include "hooks/hooks_internal.h"

#include <math.h>
#include <stdlib.h>

typedef struct drift {
    double max_drift, seen;
    long every;
    int substage; /* the only sub-stage watched; -1: all */
    int c_e0;
} drift;

static double total_energy(const bmd_batch *b, int s, const bmd_units *u) {
    return b->energy[s] + bmd_kinetic_energy(b, s, u);
}

static bmd_status drift_call(void *self, const bmd_hook_ctx *ctx) {
    drift *h = self;
    bmd_batch *b = ctx->batch;
    int cols[BMD__HOOK_MAX_SUB];
    int k = bmd__hook_steps_columns(ctx->stage, b, cols);
    if (k < 0 || bmd_batch_column(b, "drift.e0", 0, 2, &h->c_e0)) return BMD_ERR_BUDGET;
    double *e0 = bmd_batch_column_data(b, h->c_e0);
    for (int s = 0; s < b->n_systems; s++) {
        int i = b->status[s];
        if (!ctx->mask[s] || i < 0 || i >= k || (h->substage >= 0 && i != h->substage)) continue;
        long n = (long)bmd_batch_column_data(b, cols[i])[s];
        double *row = e0 + 2 * (size_t)s;
        if (ctx->point == BMD_HOOK_BEFORE_STEP) {
            if (n == 0) {
                row[0] = total_energy(b, s, ctx->units);
                row[1] = 1;
            }
            continue;
        }
        if (row[1] == 0 || n % h->every != 0) continue;
        double d = fabs(total_energy(b, s, ctx->units) - row[0]) / b->atom_count[s];
        if (!(d <= h->seen)) h->seen = d;
        if (h->max_drift > 0 && !(d <= h->max_drift)) {
            bmd_status rc = bmd_stage_fail(b, s, "energy_drift");
            if (rc) return rc;
        }
    }
    return BMD_OK;
}

static void drift_destroy(void *self) { free(self); }

static const bmd_hook_ops drift_ops = {"drift", NULL, drift_call, NULL, drift_destroy};

bmd_status bmd_hook_drift_create(double max_drift, long every, bmd_hook **out) {
    return bmd_hook_drift_substage_create(-1, max_drift, every, out);
}

bmd_status bmd_hook_drift_substage_create(int substage, double max_drift, long every, bmd_hook **out) {
    drift *h = calloc(1, sizeof *h);
    if (!h) return bmd__fail(BMD_ERR_NOMEM, "out of memory creating the drift hook");
    h->max_drift = max_drift;
    h->every = every >= 1 ? every : 1;
    h->substage = substage;
    h->c_e0 = -1;
    return bmd__hook_wrap(&drift_ops, h, BMD_HOOK_BEFORE_STEP | BMD_HOOK_AFTER_STEP, 1, out);
}

double bmd_hook_drift_max(const bmd_hook *h) {
    if (!h || !h->ops || h->ops != &drift_ops) return NAN;
    return ((const drift *)h->self)->seen;
}
