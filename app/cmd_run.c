/* cmd_run.c — `batchmd run CAMPAIGN.yaml`: validates everything first (an
 * invalid campaign or input writes nothing and exits 2), then runs the
 * fused stages inflight and prints a summary. Under mpirun/srun with
 * several ranks it runs the campaign's pipeline instead (cmd_run_pipeline.c). */
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
           "A pipeline with '|' runs one stage group per MPI rank:\n"
           "  mpirun -np N batchmd run CAMPAIGN.yaml   (or srun -n N batchmd run ...)\n"
           "Env BATCHMD_PIPELINE_DEBUG=1 logs every rank's hand-overs on stderr.\n"
           "\n"
           "  --quiet    no progress lines and no summary on stderr\n"
           "  --resume   continue an interrupted campaign from its last checkpoint\n"
           "             (checkpoints are not available in this version yet)\n");
}

/* Settings this version cannot honour yet: refuse clearly rather than ignore. */
static int check_supported(const app_campaign *a, int quiet) {
    if (a->c.n_groups > 1) {
        fprintf(stderr,
                "batchmd: %s: the pipeline has %d '|'-separated stage groups, one per MPI rank, but batchmd runs "
                "on 1 rank here: run it with `mpirun -np %d batchmd run %s` (or srun -n %d)%s\n",
                a->c.path, a->c.n_groups, a->c.n_groups, a->c.path, a->c.n_groups,
                bmd_pipeline_mpi_available() ? "" : "; this batchmd was also built without MPI (install "
                                                    "libopenmpi-dev and rebuild)");
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
    /* under mpirun/srun with several ranks: the pipeline (cmd_run_pipeline.c) */
    if (bmd_pipeline_launched() && bmd_pipeline_launched_size() > 1) return cmd_run_pipeline(path, quiet);
    app_campaign a;
    int rc = app_prepare(path, 1, &a);
    if (rc) return rc;
    if ((rc = check_supported(&a, quiet))) {
        app_release(&a);
        return rc;
    }
    app_set_threads(a.c.threads);

    bmd_stage *st = NULL;
    bmd_hook *drift[BMD_MAX_STAGES] = {0}; /* owned by the stage */
    bmd_sink *final = NULL, *failed = NULL;
    if ((rc = app_make_run_stage(&a, 0, NULL, &st, drift))) goto out;
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
    progress_summary(&pr, &a.c, &stats, (const bmd_hook *const *)drift, NULL);
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
