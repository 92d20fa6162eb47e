/* inflight_run.c — bench/test driver: runs a campaign's first pipeline group
 * through bmd_run_inflight as `batchmd run` does (NaN quarantine hook,
 * extxyz final/failed), with the batch budget optionally overridden, and
 * prints the run statistics with full precision (bench/inflight.py).
 *
 *   inflight_run [--max-atoms N] [--max-systems N] [--refill-every N] [--ordered] CAMPAIGN.yaml
 *
 * Prints one line of key=value pairs:
 *   total done failed loop_steps refills peak_atoms peak_systems atom_steps
 *   seconds t_step t_flow t_io atom_steps_per_s flow_share
 * (seconds; flow_share = t_flow / t_step). Exit status: 0 ok, 1 failure,
 * 2 bad arguments or campaign. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "batchmd/batchmd.h"

static int fail(const char *what) {
    fprintf(stderr, "inflight_run: %s: %s\n", what, bmd_last_error());
    return 1;
}

int main(int argc, char **argv) {
    long max_atoms = -1, max_systems = -1, refill = -1;
    int ordered = 0;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--max-atoms") && i + 1 < argc) max_atoms = atol(argv[++i]);
        else if (!strcmp(argv[i], "--max-systems") && i + 1 < argc) max_systems = atol(argv[++i]);
        else if (!strcmp(argv[i], "--refill-every") && i + 1 < argc) refill = atol(argv[++i]);
        else if (!strcmp(argv[i], "--ordered")) ordered = 1;
        else if (argv[i][0] != '-' && !path) path = argv[i];
        else {
            fprintf(stderr, "usage: inflight_run [--max-atoms N] [--max-systems N] [--refill-every N] [--ordered] "
                            "CAMPAIGN.yaml\n");
            return 2;
        }
    }
    if (!path) {
        fprintf(stderr, "inflight_run: missing CAMPAIGN.yaml\n");
        return 2;
    }
    bmd_campaign c;
    if (bmd_campaign_load(path, &c)) {
        fprintf(stderr, "inflight_run: %s\n", bmd_last_error());
        return 2;
    }
#ifdef _OPENMP
    if (c.threads > 0) omp_set_num_threads(c.threads);
#endif
    bmd_model *m = NULL;
    bmd_dataset *ds = NULL;
    bmd_stage *st = NULL;
    bmd_hook *nan = NULL;
    bmd_sink *final = NULL, *failed = NULL;
    int rc = 0;
    if (bmd_campaign_make_model(&c, &m) ||
        bmd_dataset_open_extxyz((const char *const *)c.inputs, c.n_inputs, c.units, &ds) ||
        bmd_campaign_make_stage(&c, 0, &st)) {
        fprintf(stderr, "inflight_run: %s\n", bmd_last_error());
        rc = 2;
        goto out;
    }
    if (bmd_hook_nan_create(&nan) || bmd_stage_add_hook(st, nan)) {
        rc = fail("NaN hook");
        goto out;
    }
    if (bmd_sink_extxyz_create(c.output.final, c.units, &final) ||
        bmd_sink_extxyz_create(c.output.failed, c.units, &failed)) {
        rc = fail("outputs");
        goto out;
    }
    bmd_run_options opt = {.max_atoms = max_atoms > 0 ? max_atoms : c.batch.max_atoms,
                           .max_systems = max_systems > 0 ? max_systems : c.batch.max_systems,
                           .refill_every = refill > 0 ? refill : c.batch.refill_every,
                           .stress_on_exit = 1,
                           .ordered = ordered || c.output.ordered};
    bmd_run_stats s;
    if (bmd_run_inflight(st, m, ds, &opt, final, failed, &s)) {
        rc = fail("run");
        goto out;
    }
    printf("total=%ld done=%ld failed=%ld loop_steps=%ld refills=%ld peak_atoms=%ld peak_systems=%ld "
           "atom_steps=%.17g seconds=%.9g t_step=%.9g t_flow=%.9g t_io=%.9g atom_steps_per_s=%.6g "
           "flow_share=%.6g\n",
           s.total, s.done, s.failed, s.loop_steps, s.refills, s.peak_atoms, s.peak_systems, s.atom_steps, s.seconds,
           s.t_step, s.t_flow, s.t_io, s.seconds > 0 ? s.atom_steps / s.seconds : 0.0,
           s.t_step > 0 ? s.t_flow / s.t_step : 0.0);
out:;
    bmd_status c1 = bmd_sink_destroy(final), c2 = bmd_sink_destroy(failed);
    if ((c1 || c2) && !rc) rc = fail("closing outputs");
    bmd_stage_destroy(st);
    bmd_dataset_close(ds);
    bmd_model_destroy(m);
    bmd_campaign_free(&c);
    return rc;
}
