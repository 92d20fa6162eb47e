/* cmd_validate.c — `batchmd validate CAMPAIGN.yaml`: every check of `run`
 * (campaign keys and types, stage and pipeline names, model, inputs parsed
 * frame by frame, species against the model, sizes against the budget)
 * without running or writing anything. */
#include <stdio.h>
#include <string.h>

#include "app.h"

int cmd_validate(int argc, char **argv) {
    const char *path = NULL, *device = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--device") && i + 1 < argc) {
            device = argv[++i];
            continue;
        }
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: batchmd validate [--device cpu|cuda] CAMPAIGN.yaml\n\n"
                   "Checks the campaign file, every input structure and the model without\n"
                   "running. Exit status 0 when valid, 2 with a message naming the place when not.\n");
            return APP_OK;
        } else if (argv[i][0] == '-' || path) {
            fprintf(stderr, "batchmd validate: unexpected argument '%s'\n", argv[i]);
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
    int rc = app_prepare(path, 1, &a);
    if (rc) return rc;
    if ((rc = app_check_device(&a, device, 0))) {
        app_release(&a);
        return rc;
    }
    printf("%s: valid: %ld structures, %d stages, model %s", path, bmd_dataset_size(a.ds), a.c.n_stages,
           a.c.model.type);
    if (a.c.n_groups > 1) /* the '|' of the pipeline: one MPI rank per group */
        printf("; a pipeline of %d stage groups: run it with mpirun -np %d%s", a.c.n_groups, a.c.n_groups,
               bmd_pipeline_mpi_available() ? "" : " (this batchmd was built without MPI)");
    printf("\n");
    app_release(&a);
    return APP_OK;
}
