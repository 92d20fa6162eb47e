/* app.h — shared pieces of the batchmd command's subcommands. */
#ifndef BATCHMD_APP_H
#define BATCHMD_APP_H

#include "batchmd/batchmd.h"

/* Exit statuses (docs/campaign.md). */
enum { APP_OK = 0, APP_RUN_FAILED = 1, APP_INVALID = 2 };

/* A campaign loaded and checked, with its dataset and model. */
typedef struct app_campaign {
    bmd_campaign c;
    bmd_dataset *ds;
    bmd_model *model;
} app_campaign;

/* app_prepare's flags. CHECK_FRAMES: parse every structure and check it
 * against the model, its overrides and the batch budget. NO_STAGES: a
 * campaign without stages is valid (eval, validate). WARN_INPUT: warn on
 * stderr about structures the run will quarantine at input (validate). */
enum { APP_CHECK_FRAMES = 1, APP_NO_STAGES = 2, APP_WARN_INPUT = 4 };
/* Loads the campaign, opens its inputs and builds its model, with the
 * checks of flags. Prints the error and returns APP_INVALID on failure. */
int app_prepare(const char *path, int flags, app_campaign *a);
/* Loads the campaign (stages required) and builds its model, without
 * opening its inputs (the ranks of a pipeline other than the first read none). */
int app_prepare_model(const char *path, app_campaign *a);
void app_release(app_campaign *a);
/* Applies `threads:` (0: OMP_NUM_THREADS if set, else all cores). */
void app_set_threads(int threads);
/* The same on one rank of a pipeline: `threads: 0` and no OMP_NUM_THREADS
 * share the node's cores among the ranks the launcher put on it. */
void app_set_rank_threads(int threads);
/* `device:` (or --device, which wins when not NULL): "cpu" passes; "cuda"
 * needs a CUDA build and a device, else prints why ("this batchmd was built
 * without CUDA" / "no CUDA device found") naming where it was asked for, and
 * returns APP_INVALID, as validate does. run = 1: also refuses a usable GPU,
 * which `run` cannot drive yet (APP_RUN_FAILED). */
int app_check_device(const app_campaign *a, const char *device_opt, int run);
/* Closes and frees final and failed (set to NULL): `run` closes them before
 * it reports on the run. Returns the first error. */
bmd_status app_close_sinks(bmd_sink **final, bmd_sink **failed);
/* "" for 1, "s" otherwise: "%ld structure%s". */
const char *app_plural(long n);
/* Prints "batchmd: <message>" for the last library error. */
void app_error(const char *what);

/* The stage `run` steps for pipeline group `group`: the group fused, with
 * the NaN and force blow-up quarantine hooks, a drift monitor per NVE
 * sub-stage (drift[i], may be NULL), the log and trajectory hooks (their
 * file names get `suffix` before the extension, NULL: none). Prints the
 * error and returns APP_INVALID / APP_RUN_FAILED on failure. */
int app_make_run_stage(const app_campaign *a, int group, const char *suffix, bmd_stage **out, bmd_hook **drift);
/* The same without printing: the error is bmd_last_error() (the Python
 * package raises it). */
int app_build_run_stage(const app_campaign *a, int group, const char *suffix, bmd_stage **out, bmd_hook **drift);
/* path with suffix inserted before its extension (malloc'd; NULL: out of memory). */
char *app_rank_path(const char *path, const char *suffix);
/* output.trajectory's snapshot hook into traj (taken over, even on
 * failure), with the MD sub-stages' dt of stage group `group`. */
bmd_status app_snapshot_hook(const app_campaign *a, int group, bmd_sink *traj, bmd_hook **out);

/* What a pipeline rank needs from campaign c (cmd_run_pipeline.c and the
 * Python package's pipelines): every stage's name in pipeline order, the
 * index offset of `rank`'s group (the stages before it), the chain
 * 0 -> 1 -> ..., the hand-over options (popt.stage_names points into
 * names: use the struct where it was filled, do not copy it) and the
 * batch's run options (no progress, checkpoint or stop yet). */
typedef struct app_pipeline_setup {
    const char *names[BMD_MAX_STAGES];
    int n_names, offset;
    bmd_pipeline_node nodes[BMD_MAX_STAGES];
    bmd_pipeline_options popt;
    bmd_run_options opt;
} app_pipeline_setup;
void app_pipeline_setup_fill(const bmd_campaign *c, int rank, app_pipeline_setup *s);

/* The command: argv[0] is the program, argv[1] the subcommand (main.c). */
int app_main(int argc, char **argv);
int cmd_run(int argc, char **argv);
/* `run` under mpirun/srun: one pipeline group per rank (cmd_run_pipeline.c). */
int cmd_run_pipeline(const char *path, int quiet, int resume);
int cmd_eval(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_models(int argc, char **argv);

#endif
