/* app.h — shared pieces of the batchmd command's subcommands. */
#ifndef BATCHMD_APP_H
#define BATCHMD_APP_H

#include "batchmd/batchmd.h"

/* Exit statuses (CAMPAIGN.md). */
enum { APP_OK = 0, APP_RUN_FAILED = 1, APP_INVALID = 2 };

/* A campaign loaded and checked, with its dataset and model. */
typedef struct app_campaign {
    bmd_campaign c;
    bmd_dataset *ds;
    bmd_model *model;
} app_campaign;

/* Loads the campaign, opens its inputs and builds its model; with
 * check_frames, also parses every structure and checks it against the model
 * and the batch budget. Prints the error and returns APP_INVALID on failure. */
int app_prepare(const char *path, int check_frames, app_campaign *a);
void app_release(app_campaign *a);
/* Applies `threads:` (0: OMP_NUM_THREADS if set, else all cores). */
void app_set_threads(int threads);
/* Prints "batchmd: <message>" for the last library error. */
void app_error(const char *what);

int cmd_run(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_models(int argc, char **argv);

#endif
