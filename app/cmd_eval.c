/* cmd_eval.c — `batchmd eval CAMPAIGN.yaml`: single-point energy, forces and
 * stress (periodic cells) of every input structure, written to output.final
 * in input order. No stage runs. */
#include <stdio.h>
#include <string.h>

#include "app.h"

int cmd_eval(int argc, char **argv) {
    int quiet = 0;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: batchmd eval [--quiet] CAMPAIGN.yaml\n\n"
                   "Computes the energy (eV), forces (eV/Å) and, for periodic cells, the stress\n"
                   "(eV/Å³, ASE's sign) of every input structure with the campaign's model and\n"
                   "writes them to output.final. The campaign's stages are not run.\n");
            return APP_OK;
        } else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
            quiet = 1;
        } else if (argv[i][0] == '-' || path) {
            fprintf(stderr, "batchmd eval: unexpected argument '%s' (see batchmd eval --help)\n", argv[i]);
            return APP_INVALID;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        fprintf(stderr, "batchmd eval: missing CAMPAIGN.yaml (see batchmd eval --help)\n");
        return APP_INVALID;
    }
    app_campaign a;
    if (bmd_pipeline_launched() && bmd_pipeline_launched_size() > 1) { /* every rank would write output.final */
        fprintf(stderr, "batchmd eval: runs on one process; run it without mpirun/srun (launched as one of %d ranks)\n",
                bmd_pipeline_launched_size());
        return APP_INVALID;
    }
    int rc = app_prepare(path, 1, &a);
    if (rc) return rc;
    app_set_threads(a.c.threads);
    bmd_sink *out = NULL;
    bmd_run_stats stats;
    if (bmd_sink_extxyz_create(a.c.output.final, a.c.units, &out) ||
        bmd_eval_dataset(a.model, a.ds, a.c.batch.max_atoms, a.c.batch.max_systems, out, &stats)) {
        app_error("eval failed");
        rc = APP_RUN_FAILED;
    }
    if (bmd_sink_destroy(out) && !rc) {
        app_error(NULL);
        rc = APP_RUN_FAILED;
    }
    if (!rc && !quiet)
        fprintf(stderr, "batchmd: evaluated %ld structures in %.2f s; wrote %s\n", stats.done, stats.seconds,
                a.c.output.final);
    app_release(&a);
    return rc;
}
