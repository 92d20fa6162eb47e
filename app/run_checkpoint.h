/* run_checkpoint.h — checkpoints and --resume for `batchmd run` on one
 * process (run_checkpoint.c): the checkpoint object, the outputs it
 * commits (log, trajectory), the signal flag, and a test-only kill switch. */
#ifndef BATCHMD_APP_RUN_CHECKPOINT_H
#define BATCHMD_APP_RUN_CHECKPOINT_H

#include "app.h"

/* With output.checkpoint: creates *ck (identity of the campaign and its
 * inputs); resume: loads the checkpoint (*resuming = 1 when one was found;
 * none: a notice, and the run starts from the beginning); otherwise, and
 * when none was found, removes a stale one. Without output.checkpoint,
 * --resume is refused. Prints the error: APP_INVALID when the checkpoint is
 * refused (another campaign, version or input; corrupt). */
int app_ckpt_open(const app_campaign *a, int resume, int quiet, bmd_checkpoint **ck, int *resuming);
/* Adds the log and trajectory hooks of the campaign to st, registered with
 * ck as outputs, reopened (kept) when resuming. */
int app_ckpt_outputs(const app_campaign *a, bmd_checkpoint *ck, int resuming, bmd_stage *st);
/* The same for a pipeline rank: the stage group's dt, file names with the
 * rank's suffix (log.rank1.csv; app_rank_path). */
int app_ckpt_outputs_rank(const app_campaign *a, bmd_checkpoint *ck, int resuming, bmd_stage *st, int group,
                          const char *suffix);
/* Installs handlers of SIGTERM, SIGINT, SIGHUP (a closed terminal; left
 * ignored under nohup) and SIGUSR1 (Slurm's --signal) that set the returned
 * flag (bmd_run_options.stop); a second signal of the same kind has its
 * default effect (ends the process; outputs hold whole frames and rows). */
volatile sig_atomic_t *app_ckpt_stop_flag(void);
/* Test only: BATCHMD_TEST_KILL="checkpoint:N" (SIGKILL halfway through
 * writing the N-th checkpoint), "append:N" (after half of the N-th frame
 * written to final), "step:N" (after the N-th batch step, or the first
 * one after it in a resumed run), "fail:N" (that step fails with an error:
 * the run fails), "hold:N" (after the step in which the N-th distinct
 * system was stepped, writes batchmd[.rankR].held in the working directory
 * and waits until a signal or until the file is removed). May wrap *final. */
int app_ckpt_test_kill(bmd_checkpoint *ck, bmd_stage *st, bmd_units_kind units, const char *final_path,
                       bmd_sink **final);
/* The same on a pipeline rank: "rankR:WHAT:N" applies on rank R only (a
 * spec without rankR: on every rank); append applies where final is not NULL. */
int app_ckpt_test_kill_rank(bmd_checkpoint *ck, bmd_stage *st, bmd_units_kind units, const char *final_path,
                            bmd_sink **final, int rank);

#endif
