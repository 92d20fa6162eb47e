/* run_checkpoint.c — owns checkpoints and --resume in `batchmd run` on one
 * process (run_checkpoint.h): opening or refusing the checkpoint, the log
 * and trajectory outputs it commits, the stop flag set by SIGTERM, SIGINT,
 * SIGHUP and SIGUSR1, and BATCHMD_TEST_KILL, a test-only switch that kills the
 * process with SIGKILL at a chosen point (tests/cli/resume_test.py) or
 * holds it at a chosen point until a signal (so that a test's signal can
 * never come after the run's end). */
#include "run_checkpoint.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int app_ckpt_open(const app_campaign *a, int resume, int quiet, bmd_checkpoint **ck, int *resuming) {
    *ck = NULL;
    *resuming = 0;
    if (!a->c.output.checkpoint) {
        if (!resume) return APP_OK;
        fprintf(stderr, "batchmd: %s: --resume needs output.checkpoint in the campaign (none is written without it)\n",
                a->c.path);
        return APP_INVALID;
    }
    if (bmd_checkpoint_create(a->c.output.checkpoint, a->c.output.checkpoint_every_s, a->c.path,
                              (const char *const *)a->c.inputs, a->c.n_inputs, ck)) {
        app_error(NULL);
        return APP_INVALID;
    }
    int found = 0;
    if (resume && bmd_checkpoint_load(*ck, &found)) {
        app_error("cannot resume");
        bmd_checkpoint_destroy(*ck);
        *ck = NULL;
        return APP_INVALID;
    }
    if (resume && !found && !quiet)
        fprintf(stderr, "batchmd: no checkpoint %s yet: starting the campaign from the beginning\n",
                a->c.output.checkpoint);
    if (!found && bmd_checkpoint_remove(*ck)) {
        app_error(NULL);
        bmd_checkpoint_destroy(*ck);
        *ck = NULL;
        return APP_RUN_FAILED;
    }
    *resuming = found;
    return APP_OK;
}

/* The trajectory as run_stage.c adds it, with the sink registered. */
static bmd_status add_trajectory(const app_campaign *a, bmd_checkpoint *ck, int resuming, bmd_stage *st, int group,
                                 const char *file) {
    bmd_sink *traj = NULL;
    bmd_hook *snap = NULL;
    bmd_status rc = resuming ? bmd_sink_h5md_reopen(file, a->c.units, &traj) : bmd_sink_h5md_create(file, a->c.units, &traj);
    if (rc) return rc;
    if ((rc = bmd_checkpoint_add_sink(ck, "trajectory", traj))) {
        bmd_sink_destroy(traj);
        return rc;
    }
    if ((rc = app_snapshot_hook(a, group, traj, &snap))) return rc;
    return bmd_stage_add_hook(st, snap);
}

int app_ckpt_outputs(const app_campaign *a, bmd_checkpoint *ck, int resuming, bmd_stage *st) {
    return app_ckpt_outputs_rank(a, ck, resuming, st, 0, NULL);
}

int app_ckpt_outputs_rank(const app_campaign *a, bmd_checkpoint *ck, int resuming, bmd_stage *st, int group,
                          const char *suffix) {
    bmd_status rc = BMD_OK;
    char *log = NULL, *traj = NULL;
    if (a->c.output.log.file && !(log = app_rank_path(a->c.output.log.file, suffix)))
        rc = bmd__fail(BMD_ERR_NOMEM, "out of memory");
    if (!rc && a->c.output.trajectory.file && !(traj = app_rank_path(a->c.output.trajectory.file, suffix)))
        rc = bmd__fail(BMD_ERR_NOMEM, "out of memory");
    if (!rc && log) {
        bmd_hook *h = NULL;
        rc = bmd_hook_log_create(log, a->c.output.log.every, &h);
        if (!rc && (rc = bmd_checkpoint_add_log_hook(ck, "log", h))) bmd_hook_destroy(h);
        else if (!rc) rc = bmd_stage_add_hook(st, h);
    }
    if (!rc && traj) rc = add_trajectory(a, ck, resuming, st, group, traj);
    free(log);
    free(traj);
    if (rc) {
        app_error(NULL);
        return APP_RUN_FAILED;
    }
    return APP_OK;
}

/* ------------------------------------------------------------ signals */

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig) {
    (void)sig;
    stop_flag = 1;
}

volatile sig_atomic_t *app_ckpt_stop_flag(void) {
    struct sigaction sa, was;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND; /* a second signal of the same kind ends the process at once */
    sigemptyset(&sa.sa_mask);
    stop_flag = 0; /* a process may run several campaigns (the Python package's Campaign.run) */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    /* a closed terminal is a stop too, unless started with nohup (SIGHUP ignored: kept so) */
    if (sigaction(SIGHUP, NULL, &was) == 0 && was.sa_handler != SIG_IGN) sigaction(SIGHUP, &sa, NULL);
    return &stop_flag;
}

/* -------------------------------------------------- test-only kills */

static long kill_at;

static void kill_now(void) {
    fflush(NULL);
    raise(SIGKILL);
}

static void kill_in_checkpoint(void *user, long index) {
    (void)user;
    if (index == kill_at) kill_now();
}

/* step:N and fail:N at the first step >= N: a resumed run may start beyond N */
static bmd_status kill_step_call(void *self, const bmd_hook_ctx *ctx) {
    (void)self;
    if (ctx->step >= kill_at) kill_now();
    return BMD_OK;
}
static void kill_step_destroy(void *self) { (void)self; }
static const bmd_hook_ops kill_step_ops = {"test_kill", NULL, kill_step_call, NULL, kill_step_destroy};

static bmd_status fail_step_call(void *self, const bmd_hook_ctx *ctx) {
    (void)self;
    if (ctx->step >= kill_at)
        return bmd__fail(BMD_ERR_RUNTIME, "test failure at step %ld (BATCHMD_TEST_KILL)", (long)ctx->step);
    return BMD_OK;
}
static const bmd_hook_ops fail_step_ops = {"test_fail", NULL, fail_step_call, NULL, kill_step_destroy};

/* hold:N: after the batch step in which the N-th distinct system (by
 * system_id) was stepped, the process writes the file batchmd.held
 * (batchmd.rankR.held on pipeline rank R) in its working directory, with
 * the step, and waits, stepping nothing, until its stop flag is set (a
 * signal arrived) or a test removes the file; then removes the file and
 * goes on. Once per run. A test waits for the file, then signals: the run
 * cannot have ended before. */
typedef struct hold {
    long want, seen;
    unsigned char *ids; /* [n_ids] 1: system_id stepped here */
    long n_ids;
    int done;
    char path[4096];
} hold;

static int hold_note(hold *h, long id) {
    if (id < 0) return 0;
    if (id >= h->n_ids) {
        long n = 2 * id + 64;
        unsigned char *p = realloc(h->ids, (size_t)n);
        if (!p) return -1;
        memset(p + h->n_ids, 0, (size_t)(n - h->n_ids));
        h->ids = p;
        h->n_ids = n;
    }
    if (!h->ids[id]) h->seen++;
    h->ids[id] = 1;
    return 0;
}

static bmd_status hold_call(void *self, const bmd_hook_ctx *ctx) {
    hold *h = self;
    if (h->done) return BMD_OK;
    for (int s = 0; s < ctx->batch->n_systems; s++)
        if (ctx->mask[s] && hold_note(h, ctx->batch->system_id[s]))
            return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    if (h->seen < h->want) return BMD_OK;
    h->done = 1;
    FILE *f = fopen(h->path, "w");
    if (!f) return bmd__fail(BMD_ERR_IO, "%s: cannot write (BATCHMD_TEST_KILL hold)", h->path);
    fprintf(f, "%ld\n", ctx->step);
    if (fclose(f)) return bmd__fail(BMD_ERR_IO, "%s: cannot write (BATCHMD_TEST_KILL hold)", h->path);
    while (!stop_flag && access(h->path, F_OK) == 0) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    unlink(h->path);
    return BMD_OK;
}
static void hold_destroy(void *self) {
    hold *h = self;
    free(h->ids);
    free(h);
}
static const bmd_hook_ops hold_ops = {"test_hold", NULL, hold_call, NULL, hold_destroy};

static int add_hold(bmd_stage *st, int rank) {
    hold *h = calloc(1, sizeof *h);
    bmd_hook *k = calloc(1, sizeof *k);
    if (!h || !k) {
        free(h);
        free(k);
        return APP_RUN_FAILED;
    }
    h->want = kill_at;
    if (rank >= 0) snprintf(h->path, sizeof h->path, "batchmd.rank%d.held", rank);
    else snprintf(h->path, sizeof h->path, "batchmd.held");
    unlink(h->path); /* a stale one from an earlier run */
    *k = (bmd_hook){&hold_ops, h, BMD_HOOK_AFTER_STEP, 1};
    return bmd_stage_add_hook(st, k) ? APP_RUN_FAILED : APP_OK;
}

/* A sink around final that, at its kill_at-th frame, flushes what came
 * before, appends half of the frame's bytes and kills the process: a torn
 * last frame, as a kill in the middle of an append leaves. */
typedef struct kill_sink {
    bmd_sink *inner;
    bmd_units_kind units;
    const char *path;
    long writes;
} kill_sink;

static bmd_status ks_write(void *self, const bmd_system *sys) {
    kill_sink *k = self;
    if (++k->writes == kill_at) {
        void *state = NULL;
        size_t n = 0;
        k->inner->ops->commit(k->inner->self, &state, &n); /* flushes what came before */
        free(state);
        char *buf = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&buf, &len);
        bmd_extxyz_write_opts o = {.forces = 1, .momenta = 1, .energy = 1, .stress = 1, .system_id = 1, .info = 1};
        if (mem) {
            bmd_extxyz_write_frame(mem, sys, k->units, &o);
            fclose(mem);
        }
        FILE *f = fopen(k->path, "a");
        if (f && buf) {
            fwrite(buf, 1, len / 2, f);
            fflush(f);
            fsync(fileno(f));
        }
        kill_now();
    }
    return bmd_sink_write(k->inner, sys);
}
static bmd_status ks_close(void *self) {
    kill_sink *k = self;
    return k->inner->ops->close ? k->inner->ops->close(k->inner->self) : BMD_OK;
}
static void ks_destroy(void *self) {
    kill_sink *k = self;
    if (k->inner->ops->destroy) k->inner->ops->destroy(k->inner->self);
    free(k->inner);
    free(k);
}
static bmd_status ks_commit(void *self, void **state, size_t *n) {
    kill_sink *k = self;
    return k->inner->ops->commit(k->inner->self, state, n);
}
static bmd_status ks_rewind(void *self, const void *state, size_t n) {
    kill_sink *k = self;
    return k->inner->ops->rewind(k->inner->self, state, n);
}
static const bmd_sink_ops kill_sink_ops = {.type = "extxyz",
                                           .write = ks_write,
                                           .close = ks_close,
                                           .destroy = ks_destroy,
                                           .commit = ks_commit,
                                           .rewind = ks_rewind};

int app_ckpt_test_kill(bmd_checkpoint *ck, bmd_stage *st, bmd_units_kind units, const char *final_path,
                       bmd_sink **final) {
    return app_ckpt_test_kill_rank(ck, st, units, final_path, final, -1);
}

int app_ckpt_test_kill_rank(bmd_checkpoint *ck, bmd_stage *st, bmd_units_kind units, const char *final_path,
                            bmd_sink **final, int rank) {
    const char *spec = getenv("BATCHMD_TEST_KILL");
    if (!spec || !*spec) return APP_OK;
    const char *all = spec;
    if (!strncmp(spec, "rank", 4)) { /* rankR:WHAT:N: only on rank R */
        char *end = NULL;
        long want = strtol(spec + 4, &end, 10);
        if (end == spec + 4 || *end != ':') {
            fprintf(stderr, "batchmd: BATCHMD_TEST_KILL='%s': expected [rankR:]WHAT:N\n",
                    all);
            return APP_INVALID;
        }
        if (want != rank) return APP_OK;
        spec = end + 1;
    }
    const char *colon = strchr(spec, ':');
    kill_at = colon ? strtol(colon + 1, NULL, 10) : 0;
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    if (kill_at < 1) goto bad;
    if (n == 10 && !strncmp(spec, "checkpoint", n)) {
        if (ck) bmd_checkpoint_set_test_hook(ck, kill_in_checkpoint, NULL);
    } else if (n == 4 && (!strncmp(spec, "step", n) || !strncmp(spec, "fail", n))) {
        bmd_hook *h = calloc(1, sizeof *h);
        if (!h) return APP_RUN_FAILED;
        *h = (bmd_hook){spec[0] == 's' ? &kill_step_ops : &fail_step_ops, NULL, BMD_HOOK_AFTER_STEP, 1};
        if (bmd_stage_add_hook(st, h)) return APP_RUN_FAILED;
    } else if (n == 4 && !strncmp(spec, "hold", n)) {
        return add_hold(st, rank);
    } else if (n == 6 && !strncmp(spec, "append", n)) {
        if (!*final) return APP_OK; /* a rank that writes no final */
        kill_sink *k = calloc(1, sizeof *k);
        bmd_sink *w = calloc(1, sizeof *w);
        if (!k || !w) {
            free(k);
            free(w);
            return APP_RUN_FAILED;
        }
        *k = (kill_sink){*final, units, final_path, 0};
        *w = (bmd_sink){&kill_sink_ops, k};
        *final = w;
    } else {
        goto bad;
    }
    return APP_OK;
bad:
    fprintf(stderr, "batchmd: BATCHMD_TEST_KILL='%s': expected [rankR:]checkpoint:N, append:N, step:N, fail:N "
                    "or hold:N (N >= 1)\n", all);
    return APP_INVALID;
}
