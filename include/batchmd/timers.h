/* timers.h — the named timers every run reports (DESIGN.md): a monotonic
 * clock and the five phases of a run's wall time, in seconds.
 *
 *   neighbor   neighbor-list work inside model evaluations: the per-step
 *              displacement checks and the rebuilds
 *   force      model evaluations minus their neighbor time (a model that
 *              cannot split, e.g. KIM or a plug-in, reports all as force)
 *   integrate  the rest of the step: dynamics pre/post updates, hooks,
 *              convergence checks, masks
 *   flow       inflight batching: sampler, batch append, compaction,
 *              pipeline hand-over
 *   io         reading structures, extracting and writing outputs
 *
 * Times are taken on the calling thread only (the thread that runs the
 * loop and calls bmd_model_compute): work shared by OpenMP threads counts
 * as the wall time the calling thread spends in it. A clock is read a few
 * times per phase per step, and around the neighbor-list update of each of
 * the calling thread's systems of >= 256 atoms, and of one small system per
 * >= 1024 atoms (a sample that stands for the untimed updates before it),
 * so the timers cost under 1 % even for systems of 5 atoms. Neighbor time
 * is therefore an estimate for batches of small systems (a measurement for
 * large ones); force = model time - neighbor. */
#ifndef BATCHMD_TIMERS_H
#define BATCHMD_TIMERS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum bmd_timer_id {
    BMD_TIMER_NEIGHBOR,
    BMD_TIMER_FORCE,
    BMD_TIMER_INTEGRATE,
    BMD_TIMER_FLOW,
    BMD_TIMER_IO,
    BMD_TIMER_COUNT
} bmd_timer_id;

/* Seconds on a monotonic clock (CLOCK_MONOTONIC) from an arbitrary origin. */
double bmd_clock(void);

/* "neighbor", "force", "integrate", "flow", "io"; NULL for an unknown id. */
const char *bmd_timer_name(bmd_timer_id id);

#ifdef __cplusplus
}
#endif

#endif
