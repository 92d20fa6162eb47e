/* cmd_validate.c — `batchmd validate CAMPAIGN.yaml`: every check of `run`
 * (campaign keys and types, stage and pipeline names, model, inputs parsed
 * frame by frame, species against the model, sizes against the budget)
 * without running or writing anything; warnings for structures the run
 * will quarantine at input. A campaign without stages is valid (for eval)
 * and says that `run` refuses it. */
#include <stdio.h>
#include <string.h>

#include "app.h"

int cmd_validate(int argc, char **argv) {
    const char *path = NULL, *device = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--device")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "batchmd validate: --device needs a value (cpu or cuda)\n");
                return APP_INVALID;
            }
            device = argv[++i];
            continue;
        }
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: batchmd validate [--device cpu|cuda] CAMPAIGN.yaml\n\n"
                   "Checks the campaign file, every input structure and the model without\n"
                   "running. Exit status 0 when valid, 2 with a message naming the place when not.\n"
                   "Warns (FILE:LINE of the structure, exit status still 0) about structures the\n"
                   "run will take out as they arrive (atoms_too_close). A campaign without\n"
                   "stages is valid for `batchmd eval` only, and validate says so.\n");
            return APP_OK;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "batchmd validate: unknown option '%s' (see batchmd validate --help)\n", argv[i]);
            return APP_INVALID;
        } else if (path) {
            fprintf(stderr, "batchmd validate: one campaign file expected, got '%s' and '%s'\n", path, argv[i]);
            return APP_INVALID;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        fprintf(stderr, "batchmd validate: missing CAMPAIGN.yaml\n");
        return APP_INVALID;
    }
    app_campaign a;
    int rc = app_prepare(path, APP_CHECK_FRAMES | APP_NO_STAGES | APP_WARN_INPUT, &a);
    if (rc) return rc;
    if ((rc = app_check_device(&a, device, 0))) {
        app_release(&a);
        return rc;
    }
    /* the dynamics' own checks across parameters (nvt_berendsen's tdamp >= dt),
     * which run meets when it builds the stages */
    for (int g = 0; a.c.n_stages > 0 && g < a.c.n_groups; g++) {
        bmd_stage *st = NULL;
        if (bmd_campaign_make_stage(&a.c, g, &st)) {
            app_error(NULL);
            app_release(&a);
            return APP_INVALID;
        }
        bmd_stage_destroy(st);
    }
    long n = bmd_dataset_size(a.ds);
    if (a.c.n_stages == 0) /* what eval needs, not what run needs */
        printf("%s: valid for eval: %ld structure%s, model %s; no stages, so `batchmd run` refuses it", path, n,
               app_plural(n), a.c.model.type);
    else
        printf("%s: valid: %ld structure%s, %d stage%s, model %s", path, n, app_plural(n), a.c.n_stages,
               app_plural(a.c.n_stages), a.c.model.type);
    if (a.c.n_groups > 1) /* the '|' of the pipeline: one MPI rank per group */
        printf("; a pipeline of %d stage groups: run it with mpirun -np %d%s", a.c.n_groups, a.c.n_groups,
               bmd_pipeline_mpi_available() ? "" : " (this batchmd was built without MPI)");
    printf("\n");
    app_release(&a);
    return APP_OK;
}
