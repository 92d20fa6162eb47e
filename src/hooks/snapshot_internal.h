/* snapshot_internal.h — what the two snapshot hooks (snapshot.c,
 * converged_snapshot.c) share: the sink they own, the time steps of the MD
 * sub-stages, and writing one system as a frame with its own step and time. */
#ifndef BATCHMD_SNAPSHOT_INTERNAL_H
#define BATCHMD_SNAPSHOT_INTERNAL_H

#include "hooks/hooks_internal.h"

#define BMD__SNAP_NAME 33 /* sub-stage names have at most 32 characters */

/* The first member of both hooks' state. */
typedef struct bmd__snap_base {
    bmd_sink *sink; /* owned */
    int n_dt;
    char dt_name[BMD__HOOK_MAX_SUB][BMD__SNAP_NAME];
    double dt[BMD__HOOK_MAX_SUB];
} bmd__snap_base;

/* The system's own step count in the stage: Σ over the stage's sub-stages
 * of its "steps.<name>" (sub-stages it has not reached count 0). *time
 * receives Σ steps_i · dt_i over the sub-stages with a time step (set with
 * bmd_hook_snapshot_set_dt; a structure's info key "dt" overrides it as it
 * does for the dynamics), in ascending sub-stage order. */
bmd_status bmd__snap_clock(const bmd__snap_base *sb, const bmd_hook_ctx *ctx, int slot, long *step, double *time);

/* Extracts slot `slot`, sets its info keys "step" and "time" (%.17g) and
 * the n_extra keys[i] = values[i], and writes it to the sink. */
bmd_status bmd__snap_write(bmd__snap_base *sb, const bmd_hook_ctx *ctx, int slot, long step, double time,
                           int n_extra, const char *const *keys, const char *const *values);

/* close(): closes (flushes) the sink. destroy(): destroys it. */
bmd_status bmd__snap_close(bmd__snap_base *sb);
void bmd__snap_free(bmd__snap_base *sb);

#endif
