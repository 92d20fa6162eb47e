/* cmd_run_pipeline.c — `batchmd run` under mpirun/srun with several ranks:
 * rank r runs the campaign's pipeline group r ("relax + anneal | md": rank
 * 0 relax + anneal, rank 1 md) and hands the systems that leave it to rank
 * r + 1 (pipeline.h). Only rank 0 reads the inputs; only the last rank
 * writes `final` and `failed`; the log and trajectory get one file per
 * rank (log.rank1.csv); `threads: 0` shares a node's cores among the ranks
 * on it. Every setup error is agreed on by all ranks, which then all say
 * so and exit 2 (nothing written); a run error makes every rank exit 1.
 * The summary comes from the last rank. With output.checkpoint every rank
 * keeps its own checkpoint files (PATH.rankR.a/.b; bmd_pipeline_checkpoint_setup),
 * SIGTERM, SIGINT, SIGHUP or SIGUSR1 on any rank cuts a checkpoint on every
 * rank and stops them all (exit 1), and --resume continues from the newest
 * checkpoint complete on every rank; without a checkpoint such a signal
 * stops the rank's run as a failure, which stops every rank (exit 1). Every
 * output is closed on every rank (a barrier) before the summary is printed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "progress.h"
#include "run_checkpoint.h"

/* Every rank learns whether all set up fine; those that did not already said why. */
static int agree(int local, int rank) {
    int bad = -1;
    if (bmd_pipeline_agree(local ? BMD_ERR_INVALID : BMD_OK, &bad) == BMD_OK) return 0;
    if (!local) fprintf(stderr, "batchmd: rank %d: %s\n", rank, bmd_last_error());
    return 1;
}

static int local_checks(const app_campaign *a) {
    if (a->c.output.trajectory.file && !bmd_h5md_available()) {
        fprintf(stderr, "batchmd: %s: output.trajectory needs HDF5, and this batchmd was built without it "
                        "(install libhdf5-dev and rebuild)\n", a->c.path);
        return APP_INVALID;
    }
    if (bmd_comm_mode_parse(a->c.batch.comm) < 0) {
        fprintf(stderr, "batchmd: %s: batch.comm: unknown mode '%s'\n", a->c.path, a->c.batch.comm);
        return APP_INVALID;
    }
    return APP_OK;
}

/* output.checkpoint: every rank's checkpoint object, set up together
 * (resume: loaded from the newest generation complete on every rank).
 * Prints the error; APP_INVALID on every rank when one refuses. */
static int open_checkpoint(const app_campaign *a, bmd_pipeline *p, int rank, int resume, bmd_checkpoint **ck,
                           int *resuming) {
    *ck = NULL;
    *resuming = 0;
    if (!a->c.output.checkpoint) {
        if (!resume) return APP_OK;
        if (rank == 0)
            fprintf(stderr, "batchmd: %s: --resume needs output.checkpoint in the campaign (none is written without "
                            "it)\n", a->c.path);
        return APP_INVALID;
    }
    /* the inputs are rank 0's: only it reads them */
    bmd_status rc = bmd_checkpoint_create(a->c.output.checkpoint, a->c.output.checkpoint_every_s, a->c.path,
                                          (const char *const *)a->c.inputs, rank == 0 ? a->c.n_inputs : 0, ck);
    if (rc) fprintf(stderr, "batchmd: rank %d: %s\n", rank, bmd_last_error());
    if (bmd_pipeline_agree(rc, NULL)) {
        bmd_checkpoint_destroy(*ck);
        *ck = NULL;
        return APP_INVALID;
    }
    if (bmd_pipeline_checkpoint_setup(p, *ck, resume, resuming)) {
        fprintf(stderr, "batchmd: rank %d: cannot %s: %s\n", rank, resume ? "resume" : "set up checkpoints",
                bmd_last_error());
        bmd_checkpoint_destroy(*ck);
        *ck = NULL;
        return APP_INVALID;
    }
    if (resume && !*resuming && rank == 0)
        fprintf(stderr, "batchmd: no complete checkpoint %s.rank*.* yet: starting the campaign from the beginning\n",
                a->c.output.checkpoint);
    return APP_OK;
}

/* The summary (last rank, on success) goes to *summary (malloc'd text),
 * printed once every rank has closed its outputs. */
static int run(const char *path, int quiet, int resume, char **summary) {
    int rank = bmd_pipeline_world_rank();
    app_campaign a;
    int rc = rank == 0 ? app_prepare(path, APP_CHECK_FRAMES, &a) : app_prepare_model(path, &a);
    if (!rc && (rc = local_checks(&a))) app_release(&a);
    if (agree(rc, rank)) {
        if (!rc) app_release(&a);
        return APP_INVALID;
    }
    const bmd_campaign *c = &a.c;
    app_pipeline_setup ps;
    app_pipeline_setup_fill(c, rank, &ps);
    bmd_run_options opt = ps.opt;
    const char *const *names = ps.names;
    const int n_names = ps.n_names, offset = ps.offset;
    bmd_pipeline *p = NULL;
    if (bmd_pipeline_create(ps.nodes, c->n_groups, &ps.popt, rank == 0 ? a.ds : NULL, &opt, &p)) {
        fprintf(stderr, "batchmd: rank %d: %s\n", rank, bmd_last_error());
        app_release(&a);
        return APP_INVALID;
    }
    app_set_rank_threads(c->threads);
    int last = bmd_pipeline_is_last(p);
    char suffix[32];
    snprintf(suffix, sizeof suffix, ".rank%d", rank);
    bmd_stage *st = NULL;
    bmd_hook *drift_local[BMD_MAX_STAGES] = {0}, *drift[BMD_MAX_STAGES] = {0};
    bmd_sink *final = NULL, *failed = NULL;
    bmd_checkpoint *ck = NULL;
    int resuming = 0;
    if ((rc = open_checkpoint(&a, p, rank, resume, &ck, &resuming))) {
        bmd_pipeline_destroy(p);
        app_release(&a);
        return rc;
    }
    char *log_file = a.c.output.log.file, *traj_file = a.c.output.trajectory.file;
    if (ck) a.c.output.log.file = a.c.output.trajectory.file = NULL; /* added below, as checkpointed outputs */
    rc = app_make_run_stage(&a, rank, suffix, &st, drift_local);
    a.c.output.log.file = log_file;
    a.c.output.trajectory.file = traj_file;
    if (!rc && ck) rc = app_ckpt_outputs_rank(&a, ck, resuming, st, rank, suffix);
    if (!rc && last &&
        ((resuming ? bmd_sink_extxyz_reopen : bmd_sink_extxyz_create)(c->output.final, c->units, &final) ||
         (resuming ? bmd_sink_extxyz_reopen : bmd_sink_extxyz_create)(c->output.failed, c->units, &failed))) {
        app_error(NULL);
        rc = APP_RUN_FAILED;
    }
    if (!rc) rc = app_ckpt_test_kill_rank(ck, st, c->units, c->output.final, &final, rank);
    if (agree(rc, rank)) {
        if (!rc) rc = APP_RUN_FAILED;
        goto out;
    }
    progress pr;
    progress_init_names(&pr, quiet || !last, names, n_names);
    if (last) {
        opt.progress = progress_update;
        opt.progress_user = &pr;
        opt.progress_every_s = progress_interval(&pr);
    }
    opt.checkpoint = ck;
    opt.stop = app_ckpt_stop_flag(); /* without a checkpoint: a signal stops the run (exit 1), outputs closed */
    bmd_run_stats stats;
    bmd_status ran = bmd_pipeline_run(p, st, a.model, rank == 0 ? a.ds : NULL, &opt, final, failed, &stats);
    bmd_status closed = app_close_sinks(&final, &failed); /* the log and trajectory: closed by the run */
    if (pr.drawn && (ran || closed || bmd_checkpoint_stopped(ck))) fputc('\n', stderr);
    if (ran) {
        fprintf(stderr, "batchmd: rank %d: run failed: %s\n", rank, bmd_last_error());
        rc = APP_RUN_FAILED;
    } else if (closed) {
        app_error(NULL);
        rc = APP_RUN_FAILED;
    } else if (bmd_checkpoint_stopped(ck)) {
        fprintf(stderr, "batchmd: rank %d: interrupted by signal; checkpoint written to %s; continue with `mpirun -np "
                        "%d batchmd run --resume %s`\n", rank, bmd_checkpoint_path(ck), bmd_pipeline_world_size(), path);
        rc = APP_RUN_FAILED;
    } else if (last && !pr.quiet) {
        bmd_pipeline_totals totals;
        bmd_pipeline_get_totals(p, &totals);
        for (int i = 0; i < bmd_stage_count(st) && offset + i < BMD_MAX_STAGES; i++) drift[offset + i] = drift_local[i];
        size_t n = 0;
        FILE *text = open_memstream(summary, &n);
        if (text) {
            progress_summary(&pr, text, c, &stats, (const bmd_hook *const *)drift, &totals);
            fclose(text);
        }
    }
out:
    if (app_close_sinks(&final, &failed) && !rc) {
        app_error(NULL);
        rc = APP_RUN_FAILED;
    }
    bmd_stage_destroy(st);
    bmd_pipeline_destroy(p);
    bmd_checkpoint_destroy(ck);
    app_release(&a);
    return rc;
}

int cmd_run_pipeline(const char *path, int quiet, int resume) {
    if (bmd_pipeline_init(NULL, NULL)) {
        fprintf(stderr, "batchmd: launched as one of %d MPI ranks, but cannot run a pipeline: %s\n",
                bmd_pipeline_launched_size(), bmd_last_error());
        return APP_INVALID;
    }
    char *summary = NULL;
    int rc = run(path, quiet, resume, &summary);
    /* every rank has said what it has to say before any exits: mpirun stops
     * the job at the first non-zero exit; and every rank's outputs are
     * closed before the summary says where they are */
    fflush(stderr);
    bmd_pipeline_barrier();
    if (summary) fputs(summary, stderr);
    free(summary);
    bmd_pipeline_finalize();
    return rc;
}
