/* cmd_run.c — `batchmd run CAMPAIGN.yaml`: validates everything first (an
 * invalid campaign or input writes nothing and exits 2), then runs the
 * fused stages inflight and prints a summary. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "app.h"

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

typedef struct progress_ctx {
    int quiet;
} progress_ctx;

static void on_progress(void *user, const bmd_run_stats *s) {
    progress_ctx *p = user;
    if (p->quiet) return;
    fprintf(stderr, "batchmd: %ld/%ld done, %ld failed, %ld live, %.3g atom-steps/s\n", s->done, s->total, s->failed,
            s->live, s->seconds > 0 ? s->atom_steps / s->seconds : 0.0);
}

static void summary(const app_campaign *a, const bmd_stage *st, const bmd_run_stats *s) {
    fprintf(stderr, "batchmd: finished %ld structures in %.2f s: %ld done, %ld failed\n", s->total, s->seconds, s->done,
            s->failed);
    for (int i = 0; i < s->n_stages && i < 32; i++)
        fprintf(stderr, "  stage %-12s entered %ld, converged %ld, left on budget %ld\n", bmd_stage_name(st, i),
                s->entered[i], s->converged[i], s->unconverged[i]);
    fprintf(stderr, "  throughput %.4g atom-steps/s over %ld batch steps\n",
            s->seconds > 0 ? s->atom_steps / s->seconds : 0.0, s->loop_steps);
    fprintf(stderr, "  time: step %.2f s, flow %.2f s, io %.2f s\n", s->t_step, s->t_flow, s->t_io);
    fprintf(stderr, "  final:  %s\n  failed: %s\n", a->c.output.final, a->c.output.failed);
    if (a->c.output.log.file) fprintf(stderr, "  log:    %s\n", a->c.output.log.file);
}

/* Settings this version cannot honour yet: refuse clearly rather than ignore. */
static int check_supported(const app_campaign *a, int quiet) {
    if (a->c.n_groups > 1) {
        fprintf(stderr, "batchmd: %s: pipeline has %d '|'-separated groups, which run on %d MPI ranks; "
                        "this build runs fused stages ('+') on one process only\n",
                a->c.path, a->c.n_groups, a->c.n_groups);
        return APP_INVALID;
    }
    if (a->c.output.trajectory.file) {
        fprintf(stderr, "batchmd: %s: output.trajectory (H5MD) is not available in this build yet; remove it\n", a->c.path);
        return APP_INVALID;
    }
    if (a->c.output.checkpoint && !quiet)
        fprintf(stderr, "batchmd: warning: output.checkpoint is not written by this version (no checkpoints yet)\n");
    return APP_OK;
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
    bmd_hook *nan = NULL, *log = NULL;
    bmd_sink *final = NULL, *failed = NULL;
    if (bmd_campaign_make_stage(&a.c, 0, &st) || bmd_hook_nan_create(&nan) || bmd_stage_add_hook(st, nan)) {
        app_error(NULL);
        rc = APP_INVALID;
        goto out;
    }
    nan = NULL;
    if (a.c.output.log.file) {
        if (bmd_hook_log_create(a.c.output.log.file, a.c.output.log.every, &log) || bmd_stage_add_hook(st, log)) {
            app_error(NULL);
            rc = APP_RUN_FAILED;
            goto out;
        }
        log = NULL;
    }
    if (bmd_sink_extxyz_create(a.c.output.final, a.c.units, &final) ||
        bmd_sink_extxyz_create(a.c.output.failed, a.c.units, &failed)) {
        app_error(NULL);
        rc = APP_RUN_FAILED;
        goto out;
    }
    progress_ctx pc = {quiet};
    bmd_run_options opt = {.max_atoms = a.c.batch.max_atoms,
                           .max_systems = a.c.batch.max_systems,
                           .refill_every = a.c.batch.refill_every,
                           .stress_on_exit = 1,
                           .progress = on_progress,
                           .progress_user = &pc,
                           .progress_every_s = isatty(2) ? 0.5 : 5.0};
    bmd_run_stats stats;
    if (bmd_run_inflight(st, a.model, a.ds, &opt, final, failed, &stats)) {
        app_error("run failed");
        rc = APP_RUN_FAILED;
        goto out;
    }
    if (!quiet) summary(&a, st, &stats);
out:
    if (bmd_sink_destroy(final) || bmd_sink_destroy(failed)) {
        if (!rc) app_error(NULL);
        if (!rc) rc = APP_RUN_FAILED;
    }
    bmd_hook_destroy(nan);
    bmd_hook_destroy(log);
    bmd_stage_destroy(st);
    app_release(&a);
    return rc;
}
