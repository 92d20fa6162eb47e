/* cmd_run.c — `batchmd run CAMPAIGN.yaml`: validates everything first (an
 * invalid campaign or input writes nothing and exits 2), then runs the
 * fused stages inflight and prints a summary. Under mpirun/srun with
 * several ranks it runs the campaign's pipeline instead (cmd_run_pipeline.c). */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "progress.h"
#include "run_checkpoint.h"

/* Test-only (not in the help): BATCHMD_TEST_KILL=[rankR:]checkpoint:N|append:N|
 * step:N|fail:N|hold:N kills the process (on MPI rank R only) with SIGKILL
 * halfway through the N-th checkpoint, halfway through the N-th frame of
 * final, or after the first batch step >= N; fail:N makes the first batch
 * step >= N fail with an error; hold:N writes batchmd[.rankR].held (working
 * directory) after the step in which the N-th distinct system was stepped
 * and then steps nothing until a signal or that file's removal, so that a
 * test's signal always comes before the run's end (run_checkpoint.h;
 * tests/cli/resume_test.py, tests/mpi/resume_mpi_test.py). */
static void help(void) {
    printf("usage: batchmd run [--device cpu|cuda] [--quiet] [--resume] CAMPAIGN.yaml\n"
           "\n"
           "Runs every input structure through the campaign's stages and writes\n"
           "output.final (every system once, as it leaves the last stage) and\n"
           "output.failed (systems taken out, with the reason in 'status').\n"
           "Every output is complete and closed before the summary is printed.\n"
           "\n"
           "A pipeline with '|' runs one stage group per MPI rank:\n"
           "  mpirun -np N batchmd run CAMPAIGN.yaml   (or srun -n N batchmd run ...)\n"
           "Env BATCHMD_PIPELINE_DEBUG=1 logs every rank's hand-overs on stderr.\n"
           "\n"
           "  --device D cpu (default) or cuda (overrides the campaign's device:)\n"
           "  --quiet    no progress lines and no summary on stderr\n"
           "  --resume   continue an interrupted campaign from its last checkpoint\n"
           "             (output.checkpoint; none yet: start from the beginning)\n"
           "\n"
           "SIGTERM, SIGINT, SIGHUP (a closed terminal) or SIGUSR1 stops the run at\n"
           "the next round with status 1, every output closed with whole frames; with\n"
           "output.checkpoint a checkpoint is written then (and every every_s seconds)\n"
           "for --resume, without one the systems still running are in neither file.\n"
           "A second such signal ends the process at once (outputs still end with a\n"
           "whole frame). With Slurm: #SBATCH --signal=USR1@120. Progress and summary\n"
           "lines written to a closed pipe or terminal are dropped; the run goes on.\n"
           "\n"
           "Exit status: 0 success, 1 the run failed or was stopped, 2 the campaign or\n"
           "an input is invalid (nothing written).\n");
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
    (void)quiet;
    return APP_OK;
}

int cmd_run(int argc, char **argv) {
    int quiet = 0, resume = 0;
    const char *path = NULL, *device = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--device")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "batchmd run: --device needs a value (cpu or cuda)\n");
                return APP_INVALID;
            }
            device = argv[++i];
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
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
    /* under mpirun/srun with several ranks: the pipeline (cmd_run_pipeline.c) */
    if (bmd_pipeline_launched() && bmd_pipeline_launched_size() > 1) {
        return cmd_run_pipeline(path, quiet, resume);
    }
    app_campaign a;
    int rc = app_prepare(path, APP_CHECK_FRAMES, &a);
    if (rc) return rc;
    if ((rc = check_supported(&a, quiet)) || (rc = app_check_device(&a, device, 1))) {
        app_release(&a);
        return rc;
    }
    app_set_threads(a.c.threads);

    bmd_stage *st = NULL;
    bmd_hook *drift[BMD_MAX_STAGES] = {0}; /* owned by the stage */
    bmd_sink *final = NULL, *failed = NULL;
    bmd_checkpoint *ck = NULL; /* output.checkpoint (run_checkpoint.c) */
    int resuming = 0;
    if ((rc = app_ckpt_open(&a, resume, quiet, &ck, &resuming))) goto out;
    char *log_file = a.c.output.log.file, *traj_file = a.c.output.trajectory.file;
    if (ck) a.c.output.log.file = a.c.output.trajectory.file = NULL; /* added below, as checkpointed outputs */
    rc = app_make_run_stage(&a, 0, NULL, &st, drift);
    a.c.output.log.file = log_file;
    a.c.output.trajectory.file = traj_file;
    if (rc || (ck && (rc = app_ckpt_outputs(&a, ck, resuming, st)))) goto out;
    if ((resuming ? bmd_sink_extxyz_reopen : bmd_sink_extxyz_create)(a.c.output.final, a.c.units, &final) ||
        (resuming ? bmd_sink_extxyz_reopen : bmd_sink_extxyz_create)(a.c.output.failed, a.c.units, &failed)) {
        app_error(NULL);
        rc = APP_RUN_FAILED;
        goto out;
    }
    if ((rc = app_ckpt_test_kill(ck, st, a.c.units, a.c.output.final, &final))) goto out;
    progress pr;
    progress_init(&pr, quiet, st);
    bmd_run_options opt = {.max_atoms = a.c.batch.max_atoms,
                           .max_systems = a.c.batch.max_systems,
                           .refill_every = a.c.batch.refill_every,
                           .stress_on_exit = 1,
                           .ordered = a.c.output.ordered,
                           .progress = progress_update,
                           .progress_user = &pr,
                           .progress_every_s = progress_interval(&pr),
                           .checkpoint = ck,
                           .stop = app_ckpt_stop_flag()};
    bmd_run_stats stats;
    bmd_status ran = bmd_run_inflight(st, a.model, a.ds, &opt, final, failed, &stats);
    /* every output complete and closed before the run is reported on (the
     * log and trajectory hooks were closed by the run) */
    bmd_status closed = app_close_sinks(&final, &failed);
    if (pr.drawn && (ran || closed || bmd_checkpoint_stopped(ck))) fputc('\n', stderr);
    if (ran) {
        app_error("run failed");
        rc = APP_RUN_FAILED;
    } else if (closed) {
        app_error(NULL);
        rc = APP_RUN_FAILED;
    } else if (bmd_checkpoint_stopped(ck)) {
        fprintf(stderr, "batchmd: interrupted by signal; checkpoint written to %s; continue with `batchmd run --resume %s`\n",
                bmd_checkpoint_path(ck), path);
        rc = APP_RUN_FAILED;
    } else {
        progress_summary(&pr, stderr, &a.c, &stats, (const bmd_hook *const *)drift, NULL);
    }
out:
    if (app_close_sinks(&final, &failed) && !rc) {
        app_error(NULL);
        rc = APP_RUN_FAILED;
    }
    bmd_stage_destroy(st);
    bmd_checkpoint_destroy(ck);
    app_release(&a);
    return rc;
}
