/* common.c — what the subcommands share: loading and checking a campaign,
 * its inputs and its model; threads; error printing; closing `run`'s final
 * and failed; plurals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "app.h"

void app_error(const char *what) {
    const char *msg = bmd_last_error();
    if (what) fprintf(stderr, "batchmd: %s: %s\n", what, msg[0] ? msg : "unknown error");
    else fprintf(stderr, "batchmd: %s\n", msg[0] ? msg : "unknown error");
}

bmd_status app_close_sinks(bmd_sink **final, bmd_sink **failed) {
    bmd_status a = bmd_sink_destroy(*final), b = bmd_sink_destroy(*failed);
    *final = *failed = NULL;
    return a ? a : b;
}

const char *app_plural(long n) { return n == 1 ? "" : "s"; }

int app_check_device(const app_campaign *a, const char *opt, int run) {
    const char *dev = opt ? opt : a->c.device;
    char where[512];
    if (opt) snprintf(where, sizeof where, "--device %s", opt);
    else snprintf(where, sizeof where, "%s:%d:%d: device: %s", a->c.path, a->c.device_line, a->c.device_col, dev);
    if (!strcmp(dev, "cpu")) return APP_OK;
    if (strcmp(dev, "cuda")) {
        fprintf(stderr, "batchmd: %s: unknown device (expected cpu or cuda)\n", where);
        return APP_INVALID;
    }
    if (bmd_cuda_check()) {
        fprintf(stderr, "batchmd: %s: %s\n", where, bmd_last_error());
        return APP_INVALID;
    }
    if (run) { /* the device engine (cuda.h) is not yet behind `run`: say so rather than run on the CPU */
        fprintf(stderr, "batchmd: %s: this version runs campaigns on the CPU only; the CUDA engine is in the "
                        "library (batchmd/cuda.h) but not yet behind `batchmd run`\n", where);
        return APP_RUN_FAILED;
    }
    return APP_OK;
}

void app_set_threads(int threads) {
#ifdef _OPENMP
    if (threads > 0) omp_set_num_threads(threads);
#else
    (void)threads;
#endif
}

/* `threads: 0` and no OMP_NUM_THREADS: the node's cores shared by the ranks
 * the launcher put on it (not every rank using them all). */
void app_set_rank_threads(int threads) {
    if (threads > 0 || getenv("OMP_NUM_THREADS")) {
        app_set_threads(threads);
        return;
    }
#ifdef _OPENMP
    static const char *const local[] = {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "MV2_COMM_WORLD_LOCAL_SIZE",
                                        "SLURM_NTASKS_PER_NODE"};
    int per_node = 0;
    for (size_t i = 0; i < sizeof local / sizeof *local && per_node < 1; i++)
        if (getenv(local[i])) per_node = atoi(getenv(local[i]));
    if (per_node > 1) {
        int n = omp_get_num_procs() / per_node;
        omp_set_num_threads(n > 1 ? n : 1);
    }
#endif
}

void app_release(app_campaign *a) {
    bmd_model_destroy(a->model);
    bmd_dataset_close(a->ds);
    bmd_campaign_free(&a->c);
    memset(a, 0, sizeof *a);
}

/* A warning (validate: APP_WARN_INPUT) for a structure the run will take
 * out as it arrives: two atoms (or an atom and its periodic image) closer
 * than quarantine.min_distance, by the check of the run's min_distance hook
 * (bmd_system_closest_pair). A structure the check cannot measure is left
 * to the run's NaN hook, as the hook does. */
static void warn_too_close(const app_campaign *a, const bmd_system *sys, long index) {
    double dmin = a->c.quarantine.min_distance, d;
    int i, j;
    if (!(dmin > 0) || bmd_system_closest_pair(sys, dmin, &d, &i, &j) || !(d < dmin)) return;
    const char *unit = a->c.units == BMD_UNITS_LJ ? "σ" : "Å";
    char what[64];
    if (i == j) snprintf(what, sizeof what, "atom %d and its periodic image", i);
    else snprintf(what, sizeof what, "atoms %d and %d", i, j);
    fprintf(stderr, "batchmd: warning: %s:%ld: structure %ld: %s are %.4g %s apart, closer than "
                    "quarantine.min_distance = %g %s: the run will take it out as atoms_too_close\n",
            sys->source ? sys->source : "?", sys->line, index, what, d, unit, dmin, unit);
}

/* Parses every structure once: malformed frames, species the model lacks,
 * per-structure overrides out of their stage's range, and structures
 * larger than the batch budget are input errors; with warn, structures the
 * run will quarantine at input are warnings. */
static int check_frames(app_campaign *a, int warn) {
    long n = bmd_dataset_size(a->ds);
    for (long i = 0; i < n; i++) {
        bmd_system sys;
        if (bmd_dataset_get(a->ds, i, &sys)) {
            app_error(NULL);
            return APP_INVALID;
        }
        int bad = 0;
        if (bmd_model_check_system(a->model, &sys)) {
            fprintf(stderr, "batchmd: %s:%ld: structure %ld: %s\n", sys.source ? sys.source : "?", sys.line, i,
                    bmd_last_error());
            bad = 1;
        } else if (bmd_campaign_check_overrides(&a->c, &sys, i)) {
            fprintf(stderr, "batchmd: %s\n", bmd_last_error());
            bad = 1;
        } else if (sys.n_atoms > a->c.batch.max_atoms) {
            fprintf(stderr, "batchmd: %s:%ld: structure %ld has %d atoms, more than batch.max_atoms = %ld; raise max_atoms\n",
                    sys.source ? sys.source : "?", sys.line, i, sys.n_atoms, a->c.batch.max_atoms);
            bad = 1;
        } else if (sys.n_atoms == 0) {
            fprintf(stderr, "batchmd: %s:%ld: structure %ld has no atoms\n", sys.source ? sys.source : "?", sys.line, i);
            bad = 1;
        }
        if (!bad && warn) warn_too_close(a, &sys, i);
        bmd_system_free(&sys);
        if (bad) return APP_INVALID;
    }
    return APP_OK;
}

int app_prepare(const char *path, int flags, app_campaign *a) {
    memset(a, 0, sizeof *a);
    if (bmd_campaign_load_flags(path, flags & APP_NO_STAGES ? BMD_CAMPAIGN_STAGES_OPTIONAL : 0, &a->c)) {
        app_error(NULL);
        return APP_INVALID;
    }
    if (bmd_dataset_open_extxyz((const char *const *)a->c.inputs, a->c.n_inputs, a->c.units, &a->ds) ||
        bmd_campaign_make_model(&a->c, &a->model)) {
        app_error(NULL);
        app_release(a);
        return APP_INVALID;
    }
    if (flags & APP_CHECK_FRAMES) {
        int rc = check_frames(a, (flags & APP_WARN_INPUT) != 0);
        if (rc) {
            app_release(a);
            return rc;
        }
    }
    return APP_OK;
}

int app_prepare_model(const char *path, app_campaign *a) {
    memset(a, 0, sizeof *a);
    if (bmd_campaign_load(path, &a->c) || bmd_campaign_make_model(&a->c, &a->model)) {
        app_error(NULL);
        app_release(a);
        return APP_INVALID;
    }
    return APP_OK;
}

void app_pipeline_setup_fill(const bmd_campaign *c, int rank, app_pipeline_setup *s) {
    memset(s, 0, sizeof *s);
    for (int g = 0; g < c->n_groups; g++)
        for (int i = 0; i < c->group_size[g]; i++) {
            if (g < rank) s->offset++;
            s->names[s->n_names++] = c->stages[c->group_stage[g][i]].name;
        }
    bmd_pipeline_chain(s->nodes, c->n_groups);
    s->popt = (bmd_pipeline_options){.buffer_systems = c->batch.buffer_systems,
                                     .buffer_atoms = c->batch.buffer_atoms,
                                     .comm = (bmd_comm_mode)bmd_comm_mode_parse(c->batch.comm),
                                     .synchronized = c->batch.synchronized,
                                     .debug = c->batch.debug,
                                     .stage_names = s->names,
                                     .n_stage_names = s->n_names};
    s->opt = (bmd_run_options){.max_atoms = c->batch.max_atoms,
                               .max_systems = c->batch.max_systems,
                               .refill_every = c->batch.refill_every,
                               .stress_on_exit = 1,
                               .ordered = c->output.ordered};
}
