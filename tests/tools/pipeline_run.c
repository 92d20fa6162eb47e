/* pipeline_run.c — test/bench driver of the library's pipeline API (no
 * mpi.h here: bmd_pipeline_init and friends). Under mpirun, each rank runs
 * one pipeline group of a campaign as `batchmd run` does (min-distance,
 * NaN and force blow-up quarantine hooks, extxyz final/failed on the last
 * rank of its chain):
 *
 *   pipeline_run [--comm MODE] [--synchronized] [--debug] [--buffer SYSTEMS ATOMS]
 *                [--max-systems N] [--refill-every N] [--first N] [--fail RANK STEP]
 *                A.yaml [B.yaml]
 *
 * One campaign: the chain 0 -> 1 -> ... (rank r runs group r). Two
 * campaigns and 4 ranks: two independent sub-pipelines, ranks 0 -> 1 run
 * A's groups 0 and 1, ranks 2 -> 3 B's, each chain reading its own input
 * and writing its own outputs. Options override the campaigns' batch keys;
 * --first N feeds only the first N input structures (0: an empty input,
 * which a campaign file cannot say); --fail RANK STEP makes a hook on rank
 * RANK return an error at its stage's loop step STEP (a run error on one
 * rank: every rank must end, exit 1).
 *
 * Prints one line per rank: rank total done failed started loop_steps
 * atom_steps seconds t_step t_flow t_io, and rank 0 a line of totals over
 * all ranks:
 * totals total done failed atom_steps seconds atom_steps_per_s messages.
 * Exit status: 0 ok, 1 run failure, 2 bad arguments or setup. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "batchmd/batchmd.h"

static int usage(void) {
    fprintf(stderr, "usage: pipeline_run [--comm MODE] [--synchronized] [--debug] [--buffer SYSTEMS ATOMS] "
                    "[--max-systems N] [--refill-every N] [--first N] [--fail RANK STEP] A.yaml [B.yaml]\n");
    return 2;
}

typedef struct args {
    const char *paths[2];
    int n_paths, comm, synchronized, debug;
    long buf_systems, buf_atoms, max_systems, refill, first, fail_rank, fail_step;
} args;

static int parse(int argc, char **argv, args *a) {
    memset(a, 0, sizeof *a);
    a->comm = -1;
    a->first = -1;
    a->fail_rank = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--comm") && i + 1 < argc) {
            if ((a->comm = bmd_comm_mode_parse(argv[++i])) < 0) return 0;
        } else if (!strcmp(argv[i], "--synchronized")) {
            a->synchronized = 1;
        } else if (!strcmp(argv[i], "--debug")) {
            a->debug = 1;
        } else if (!strcmp(argv[i], "--buffer") && i + 2 < argc) {
            a->buf_systems = atol(argv[++i]);
            a->buf_atoms = atol(argv[++i]);
        } else if (!strcmp(argv[i], "--max-systems") && i + 1 < argc) {
            a->max_systems = atol(argv[++i]);
        } else if (!strcmp(argv[i], "--fail") && i + 2 < argc) {
            a->fail_rank = atol(argv[++i]);
            a->fail_step = atol(argv[++i]);
        } else if (!strcmp(argv[i], "--first") && i + 1 < argc) {
            a->first = atol(argv[++i]);
        } else if (!strcmp(argv[i], "--refill-every") && i + 1 < argc) {
            a->refill = atol(argv[++i]);
        } else if (argv[i][0] != '-' && a->n_paths < 2) {
            a->paths[a->n_paths++] = argv[i];
        } else {
            return 0;
        }
    }
    return a->n_paths > 0;
}

/* --fail: an error at one loop step. */
static bmd_status fail_call(void *self, const bmd_hook_ctx *ctx) {
    long at = *(const long *)self;
    if (ctx->step == at) return bmd__fail(BMD_ERR_RUNTIME, "injected failure at step %ld", at);
    return BMD_OK;
}
static void fail_destroy(void *self) { free(self); }
static const bmd_hook_ops fail_ops = {.type = "fail", .call = fail_call, .destroy = fail_destroy};

/* Replaces *ds by a memory dataset of its first n structures. */
static bmd_status take_first(bmd_dataset **ds, long n) {
    long len = bmd_dataset_size(*ds);
    if (n > len) n = len;
    bmd_system *v = calloc((size_t)(n > 0 ? n : 1), sizeof *v);
    if (!v) return BMD_ERR_NOMEM;
    bmd_status rc = BMD_OK;
    long got = 0;
    for (; !rc && got < n; got++) rc = bmd_dataset_get(*ds, got, &v[got]);
    bmd_dataset *mem = NULL;
    if (!rc) rc = bmd_dataset_from_systems(v, n, 1, &mem);
    for (long i = 0; i < got; i++) bmd_system_free(&v[i]);
    free(v);
    if (rc) return rc;
    bmd_dataset_close(*ds);
    *ds = mem;
    return BMD_OK;
}

static int run(const args *a) {
    int rank = bmd_pipeline_world_rank(), size = bmd_pipeline_world_size();
    int pairs = a->n_paths == 2, chain = pairs ? rank / 2 : 0, group = pairs ? rank % 2 : rank;
    bmd_campaign c;
    bmd_status rc = bmd_campaign_load(a->paths[chain < a->n_paths ? chain : 0], &c);
    if (bmd_pipeline_agree(rc, NULL)) {
        fprintf(stderr, "pipeline_run: rank %d: %s\n", rank, bmd_last_error());
        if (!rc) bmd_campaign_free(&c);
        return 2;
    }
#ifdef _OPENMP
    if (c.threads > 0) omp_set_num_threads(c.threads);
#endif
    bmd_pipeline_node nodes[64];
    int n = pairs ? 4 : c.n_groups;
    if (pairs) {
        bmd_pipeline_chain(nodes, 2);
        bmd_pipeline_chain(nodes + 2, 2);
        nodes[2].next = 3;
        nodes[3].prior = 2;
    } else {
        bmd_pipeline_chain(nodes, n < 64 ? n : 64);
    }
    const char *names[BMD_MAX_STAGES];
    int n_names = 0;
    for (int g = 0; g < c.n_groups; g++)
        for (int i = 0; i < c.group_size[g]; i++) names[n_names++] = c.stages[c.group_stage[g][i]].name;
    bmd_pipeline_options popt = {.buffer_systems = a->buf_systems > 0 ? a->buf_systems : c.batch.buffer_systems,
                                 .buffer_atoms = a->buf_atoms > 0 ? a->buf_atoms : c.batch.buffer_atoms,
                                 .comm = (bmd_comm_mode)(a->comm >= 0 ? a->comm : bmd_comm_mode_parse(c.batch.comm)),
                                 .synchronized = a->synchronized || c.batch.synchronized,
                                 .debug = a->debug || c.batch.debug,
                                 .stage_names = names,
                                 .n_stage_names = n_names};
    bmd_run_options opt = {.max_atoms = c.batch.max_atoms,
                           .max_systems = a->max_systems > 0 ? a->max_systems : c.batch.max_systems,
                           .refill_every = a->refill > 0 ? a->refill : c.batch.refill_every,
                           .stress_on_exit = 1,
                           .ordered = c.output.ordered};
    bmd_model *m = NULL;
    bmd_dataset *ds = NULL;
    bmd_stage *st = NULL;
    bmd_hook *nan = NULL;
    bmd_sink *final = NULL, *failed = NULL;
    bmd_pipeline *p = NULL;
    int first = group == 0, last = group == c.n_groups - 1, code = 0;
    rc = bmd_campaign_make_model(&c, &m);
    if (!rc && first) rc = bmd_dataset_open_extxyz((const char *const *)c.inputs, c.n_inputs, c.units, &ds);
    if (!rc && first && a->first >= 0) rc = take_first(&ds, a->first);
    if (bmd_pipeline_agree(rc, NULL)) {
        fprintf(stderr, "pipeline_run: rank %d: %s\n", rank, bmd_last_error());
        code = 2;
        goto out;
    }
    if (bmd_pipeline_create(nodes, n, &popt, ds, &opt, &p)) {
        fprintf(stderr, "pipeline_run: rank %d: %s\n", rank, bmd_last_error());
        code = 2;
        goto out;
    }
    rc = bmd_campaign_make_stage(&c, group, &st);
    if (!rc && c.quarantine.min_distance > 0) { /* overlapping atoms, as `batchmd run` */
        bmd_hook *h = NULL;
        rc = bmd_hook_min_distance_create(c.quarantine.min_distance, &h);
        if (!rc) rc = bmd_stage_add_hook(st, h);
    }
    if (!rc) rc = bmd_hook_nan_create(&nan);
    if (!rc) rc = bmd_stage_add_hook(st, nan);
    if (!rc && rank == a->fail_rank) {
        bmd_hook *h = calloc(1, sizeof *h);
        long *at = malloc(sizeof *at);
        if (h && at) {
            *at = a->fail_step;
            *h = (bmd_hook){&fail_ops, at, BMD_HOOK_AFTER_STEP, 1};
            rc = bmd_stage_add_hook(st, h);
        } else {
            free(h);
            free(at);
            rc = BMD_ERR_NOMEM;
        }
    }
    if (!rc && c.quarantine.max_force > 0) { /* force blow-up, as `batchmd run` */
        bmd_hook *h = NULL;
        rc = bmd_hook_fclamp_create(0, c.quarantine.max_force, &h);
        if (!rc) rc = bmd_stage_add_hook(st, h);
    }
    if (!rc && last) rc = bmd_sink_extxyz_create(c.output.final, c.units, &final);
    if (!rc && last) rc = bmd_sink_extxyz_create(c.output.failed, c.units, &failed);
    if (bmd_pipeline_agree(rc, NULL)) {
        fprintf(stderr, "pipeline_run: rank %d: %s\n", rank, bmd_last_error());
        code = 1;
        goto out;
    }
    bmd_run_stats s;
    if (bmd_pipeline_run(p, st, m, ds, &opt, final, failed, &s)) {
        fprintf(stderr, "pipeline_run: rank %d: run failed: %s\n", rank, bmd_last_error());
        code = 1;
        goto out;
    }
    printf("rank=%d total=%ld done=%ld failed=%ld started=%ld loop_steps=%ld atom_steps=%.17g seconds=%.9g "
           "t_step=%.9g t_flow=%.9g t_io=%.9g\n",
           rank, s.total, s.done, s.failed, s.started, s.loop_steps, s.atom_steps, s.seconds, s.t_step, s.t_flow,
           s.t_io);
    bmd_pipeline_totals t;
    bmd_pipeline_get_totals(p, &t);
    if (rank == 0)
        printf("totals ranks=%d total=%ld done=%ld failed=%ld atom_steps=%.17g seconds=%.9g atom_steps_per_s=%.6g "
               "messages=%ld\n",
               size, t.total, t.done, t.failed, t.atom_steps, t.seconds, t.seconds > 0 ? t.atom_steps / t.seconds : 0,
               t.messages);
    fflush(stdout);
out:;
    if ((bmd_sink_destroy(final) || bmd_sink_destroy(failed)) && !code) code = 1;
    bmd_pipeline_destroy(p);
    bmd_stage_destroy(st);
    bmd_dataset_close(ds);
    bmd_model_destroy(m);
    bmd_campaign_free(&c);
    return code;
}

int main(int argc, char **argv) {
    args a;
    if (!parse(argc, argv, &a)) return usage();
    if (bmd_pipeline_init(&argc, &argv)) {
        fprintf(stderr, "pipeline_run: %s\n", bmd_last_error());
        return 2;
    }
    int code = run(&a);
    fflush(stdout);
    fflush(stderr);
    bmd_pipeline_barrier(); /* all messages out before mpirun stops the job at a non-zero exit */
    bmd_pipeline_finalize();
    return code;
}
