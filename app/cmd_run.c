/* cmd_run.c — `batchmd run CAMPAIGN.yaml`: validates everything first (an
 * invalid campaign or input writes nothing and exits 2), then runs the
 * fused stages inflight and prints a summary. */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "progress.h"

static void help(void) {
    printf("usage: batchmd run [--quiet] [--resume] CAMPAIGN.yaml\n"
           "\n"
           "Runs every input structure through the campaign's stages and writes\n"
           "output.final (every system once, as it leaves the last stage) and\n"
           "output.failed (systems taken out, with the reason in 'status').\n"
           "\n"
           "  --quiet    no progress lines and no summary on stderr\n"
           "  --resume   continue an interrupted campaign from its last checkpoint\n"
           "             (checkpoints are not available in this version yet)\n");
}

/* Settings this version cannot honour yet: refuse clearly rather than ignore. */
static int check_supported(const app_campaign *a, int quiet) {
    if (a->c.n_groups > 1) {
        fprintf(stderr, "batchmd: %s: pipeline has %d '|'-separated groups, which run on %d MPI ranks; "
                        "this build runs fused stages ('+') on one process only\n",
                a->c.path, a->c.n_groups, a->c.n_groups);
        return APP_INVALID;
    }
    if (a->c.output.trajectory.file && !bmd_h5md_available()) {
        fprintf(stderr, "batchmd: %s: output.trajectory needs HDF5, and this batchmd was built without it "
                        "(install libhdf5-dev and rebuild)\n", a->c.path);
        return APP_INVALID;
    }
    if (a->c.output.checkpoint && !quiet)
        fprintf(stderr, "batchmd: warning: output.checkpoint is not written by this version (no checkpoints yet)\n");
    return APP_OK;
}

/* output.trajectory: an H5MD file with a frame of every system every
 * `every` of its own steps; frame times count the MD sub-stages' dt. */
static bmd_status add_trajectory(const app_campaign *a, bmd_stage *st) {
    bmd_sink *traj = NULL;
    bmd_hook *snap = NULL;
    bmd_status rc = bmd_sink_h5md_create(a->c.output.trajectory.file, a->c.units, &traj);
    if (!rc) rc = bmd_hook_snapshot_create(traj, a->c.output.trajectory.every, NULL, 0, &snap); /* owns traj */
    for (int i = 0; !rc && i < a->c.group_size[0]; i++) {
        const bmd_campaign_stage *s = &a->c.stages[a->c.group_stage[0][i]];
        if (s->type->is_optimizer) continue;
        for (int k = 0; k < s->type->n_params; k++)
            if (strcmp(s->type->params[k].name, "dt") == 0) rc = bmd_hook_snapshot_set_dt(snap, s->name, s->values[k]);
    }
    if (rc) {
        bmd_hook_destroy(snap);
        return rc;
    }
    return bmd_stage_add_hook(st, snap); /* owns snap, even on failure */
}

int cmd_run(int argc, char **argv) {
    int quiet = 0, resume = 0;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            help();
            return APP_OK;
        } else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
            quiet = 1;
        } else if (!strcmp(argv[i], "--resume")) {
            resume = 1;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "batchmd run: unknown option '%s' (see batchmd run --help)\n", argv[i]);
            return APP_INVALID;
        } else if (path) {
            fprintf(stderr, "batchmd run: one campaign file expected, got '%s' and '%s'\n", path, argv[i]);
            return APP_INVALID;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        fprintf(stderr, "batchmd run: missing CAMPAIGN.yaml (see batchmd run --help)\n");
        return APP_INVALID;
    }
    if (resume) {
        fprintf(stderr, "batchmd run: --resume: checkpoints are not available in this version yet\n");
        return APP_INVALID;
    }
    app_campaign a;
    int rc = app_prepare(path, 1, &a);
    if (rc) return rc;
    if ((rc = check_supported(&a, quiet))) {
        app_release(&a);
        return rc;
    }
    app_set_threads(a.c.threads);

    bmd_stage *st = NULL;
    /* bmd_stage_add_hook takes ownership of a hook, even when it fails */
    bmd_hook *nan = NULL, *log = NULL;
    bmd_hook *drift[BMD_MAX_STAGES] = {0}; /* owned by the stage once added */
    bmd_sink *final = NULL, *failed = NULL;
    if (bmd_campaign_make_stage(&a.c, 0, &st) || bmd_hook_nan_create(&nan) || bmd_stage_add_hook(st, nan)) {
        app_error(NULL);
        rc = APP_INVALID;
        goto out;
    }
    /* force blow-up: quarantine instead of integrating garbage */
    if (a.c.quarantine.max_force > 0) {
        bmd_hook *h = NULL;
        if (bmd_hook_fclamp_create(0, a.c.quarantine.max_force, &h) || bmd_stage_add_hook(st, h)) {
            app_error(NULL);
            rc = APP_RUN_FAILED;
            goto out;
        }
    }
    /* energy conservation of every NVE stage, reported in the summary */
    for (int i = 0; i < a.c.group_size[0]; i++) {
        if (strcmp(a.c.stages[a.c.group_stage[0][i]].type->type, "nve") != 0) continue;
        bmd_hook *h = NULL;
        if (bmd_hook_drift_substage_create(i, 0, 1, &h) || bmd_stage_add_hook(st, h)) {
            app_error(NULL);
            rc = APP_RUN_FAILED;
            goto out;
        }
        drift[i] = h;
    }
    if (a.c.output.log.file) {
        if (bmd_hook_log_create(a.c.output.log.file, a.c.output.log.every, &log) || bmd_stage_add_hook(st, log)) {
            app_error(NULL);
            rc = APP_RUN_FAILED;
            goto out;
        }
    }
    if (a.c.output.trajectory.file && add_trajectory(&a, st)) {
        app_error(NULL);
        rc = APP_RUN_FAILED;
        goto out;
    }
    if (bmd_sink_extxyz_create(a.c.output.final, a.c.units, &final) ||
        bmd_sink_extxyz_create(a.c.output.failed, a.c.units, &failed)) {
        app_error(NULL);
        rc = APP_RUN_FAILED;
        goto out;
    }
    progress pr;
    progress_init(&pr, quiet, st);
    bmd_run_options opt = {.max_atoms = a.c.batch.max_atoms,
                           .max_systems = a.c.batch.max_systems,
                           .refill_every = a.c.batch.refill_every,
                           .stress_on_exit = 1,
                           .ordered = a.c.output.ordered,
                           .progress = progress_update,
                           .progress_user = &pr,
                           .progress_every_s = progress_interval(&pr)};
    bmd_run_stats stats;
    if (bmd_run_inflight(st, a.model, a.ds, &opt, final, failed, &stats)) {
        if (pr.drawn) fputc('\n', stderr);
        app_error("run failed");
        rc = APP_RUN_FAILED;
        goto out;
    }
    progress_summary(&pr, &a.c, st, &stats, (const bmd_hook *const *)drift);
out:;
    bmd_status closed_final = bmd_sink_destroy(final), closed_failed = bmd_sink_destroy(failed);
    if (closed_final || closed_failed) {
        if (!rc) app_error(NULL);
        if (!rc) rc = APP_RUN_FAILED;
    }
    bmd_stage_destroy(st);
    app_release(&a);
    return rc;
}
