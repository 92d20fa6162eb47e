/* progress.h — progress bar / lines and the end-of-run summary of `run`. */
#ifndef BATCHMD_APP_PROGRESS_H
#define BATCHMD_APP_PROGRESS_H

#include <stdio.h>

#include "batchmd/batchmd.h"

typedef struct progress {
    int quiet; /* print nothing */
    int tty;   /* stderr is a terminal: a bar redrawn in place */
    int drawn; /* a bar is on screen (cleared before the summary) */
    const char *names[32]; /* stage names, for the per-stage counts */
    int n_names;
} progress;

/* names: the stage's sub-stages (kept by reference). */
void progress_init(progress *p, int quiet, const bmd_stage *st);
/* names: every stage of a pipeline, in order (kept by reference). */
void progress_init_names(progress *p, int quiet, const char *const *names, int n);
/* Seconds between updates: a few per second on a terminal, else 5 s. */
double progress_interval(const progress *p);
/* bmd_run_options.progress callback (user = progress*). */
void progress_update(void *user, const bmd_run_stats *s);
/* The end-of-run summary into f (stderr, or a buffer a pipeline prints
 * once every rank has closed its outputs): drift[i]: the drift monitor of
 * stage i (of the names), or NULL; pipe: the pipeline's totals over all
 * ranks (NULL on one process). Call it once every output is closed. */
void progress_summary(progress *p, FILE *f, const bmd_campaign *c, const bmd_run_stats *s, const bmd_hook *const *drift,
                      const bmd_pipeline_totals *pipe);

#endif
