/* run_stage.c — the stage `batchmd run` steps, on one process or on one
 * rank of a pipeline: the campaign's pipeline group fused, with the
 * quarantine hooks (NaN, force blow-up), an energy-drift monitor per NVE
 * sub-stage, and the log and trajectory hooks (their files carry a per-rank
 * suffix in a pipeline: results/log.csv -> results/log.rank1.csv). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "io/campaign_internal.h"

char *app_rank_path(const char *path, const char *suffix) { return path ? bmd__path_suffixed(path, suffix) : NULL; }

/* output.trajectory's hook: a frame of every system into traj (taken over,
 * even on failure) every `every` of its own steps; frame times count the
 * MD sub-stages' dt. */
bmd_status app_snapshot_hook(const app_campaign *a, int group, bmd_sink *traj, bmd_hook **out) {
    bmd_hook *snap = NULL;
    *out = NULL;
    bmd_status rc = bmd_hook_snapshot_create(traj, a->c.output.trajectory.every, NULL, 0, &snap); /* owns traj */
    if (rc) return rc;
    for (int i = 0; !rc && i < a->c.group_size[group]; i++) {
        const bmd_campaign_stage *s = &a->c.stages[a->c.group_stage[group][i]];
        if (s->type->is_optimizer) continue;
        for (int k = 0; k < s->type->n_params; k++)
            if (strcmp(s->type->params[k].name, "dt") == 0) rc = bmd_hook_snapshot_set_dt(snap, s->name, s->values[k]);
    }
    if (rc) {
        bmd_hook_destroy(snap);
        return rc;
    }
    *out = snap;
    return BMD_OK;
}

/* output.trajectory: an H5MD file written by the snapshot hook. */
static bmd_status add_trajectory(const app_campaign *a, int group, const char *file, bmd_stage *st) {
    bmd_sink *traj = NULL;
    bmd_hook *snap = NULL;
    bmd_status rc = bmd_sink_h5md_create(file, a->c.units, &traj);
    if (!rc) rc = app_snapshot_hook(a, group, traj, &snap);
    return rc ? rc : bmd_stage_add_hook(st, snap); /* owns snap, even on failure */
}

int app_make_run_stage(const app_campaign *a, int group, const char *suffix, bmd_stage **out, bmd_hook **drift) {
    int rc = app_build_run_stage(a, group, suffix, out, drift);
    if (rc) app_error(NULL);
    return rc;
}

int app_build_run_stage(const app_campaign *a, int group, const char *suffix, bmd_stage **out, bmd_hook **drift) {
    bmd_stage *st = NULL;
    bmd_hook *nan = NULL, *close = NULL;
    *out = NULL;
    /* bmd_stage_add_hook takes ownership of a hook, even when it fails; overlapping
     * atoms are named as such before the NaN detector sees their forces */
    if (bmd_campaign_make_stage(&a->c, group, &st) ||
        (a->c.quarantine.min_distance > 0 &&
         (bmd_hook_min_distance_create(a->c.quarantine.min_distance, &close) || bmd_stage_add_hook(st, close))) ||
        bmd_hook_nan_create(&nan) || bmd_stage_add_hook(st, nan)) {
        bmd_stage_destroy(st);
        return APP_INVALID;
    }
    bmd_status rc = BMD_OK;
    bmd_stage_set_max_neighbors(st, a->c.quarantine.max_neighbors);
    /* force blow-up: quarantine instead of integrating garbage */
    if (a->c.quarantine.max_force > 0) {
        bmd_hook *h = NULL;
        rc = bmd_hook_fclamp_create(0, a->c.quarantine.max_force, &h);
        if (!rc) rc = bmd_stage_add_hook(st, h);
    }
    /* energy conservation of every NVE sub-stage, reported in the summary */
    for (int i = 0; !rc && i < a->c.group_size[group]; i++) {
        if (strcmp(a->c.stages[a->c.group_stage[group][i]].type->type, "nve") != 0) continue;
        bmd_hook *h = NULL;
        rc = bmd_hook_drift_substage_create(i, 0, 1, &h);
        if (!rc && !(rc = bmd_stage_add_hook(st, h)) && drift) drift[i] = h;
    }
    char *log = NULL, *traj = NULL;
    if (!rc && a->c.output.log.file) {
        bmd_hook *h = NULL;
        if (!(log = app_rank_path(a->c.output.log.file, suffix))) rc = bmd__fail(BMD_ERR_NOMEM, "out of memory");
        if (!rc) rc = bmd_hook_log_create(log, a->c.output.log.every, &h);
        if (!rc) rc = bmd_stage_add_hook(st, h);
    }
    if (!rc && a->c.output.trajectory.file) {
        if (!(traj = app_rank_path(a->c.output.trajectory.file, suffix))) rc = bmd__fail(BMD_ERR_NOMEM, "out of memory");
        if (!rc) rc = add_trajectory(a, group, traj, st);
    }
    free(log);
    free(traj);
    if (rc) {
        bmd_stage_destroy(st);
        return APP_RUN_FAILED;
    }
    *out = st;
    return APP_OK;
}
