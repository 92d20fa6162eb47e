/* model_internal.h — helpers every model implementation shares. Internal
 * to src/models. */
#ifndef BATCHMD_MODEL_INTERNAL_H
#define BATCHMD_MODEL_INTERNAL_H

#include "batchmd/model.h"

/* Writes NaN into every requested output of slot s: what a model returns for
 * a system it cannot compute (non-finite or absurd positions), so that the
 * NaN/blow-up quarantine takes that one system out. */
void bmd__compute_write_nan(const bmd_batch *b, int s, const bmd_compute_request *req);

/* Neighbor time (timers.h): bmd_model_compute points this thread's sink at
 * the model's t_neighbor for the length of one evaluation; a model brackets
 * each per-system neighbor-list update of n atoms with
 *     double t = bmd__neighbor_tic(n);  ...update...  bmd__neighbor_toc(t, n);
 * On any other thread (OpenMP workers) the sink is NULL: only the calling
 * thread's share counts. Reading a clock costs as much as a whole update
 * of a few atoms, so updates of systems under BMD__NEIGHBOR_TIMED_ATOMS
 * atoms are sampled: one is timed once at least BMD__NEIGHBOR_SAMPLE_ATOMS
 * atoms went by since the last timed one, and counts for all of them (its
 * time x atoms since the last / its atoms); larger systems are all timed. As a sample counts many times over,
 * the cost of the clock read itself (measured once per thread) is taken
 * off each one, and a sample of a small system that took far longer than
 * any update could (the thread was preempted) is dropped: its atoms go to
 * the next sample. (The thread's CPU clock would ignore preemption, but it
 * is a system call, which slows the few µs of work after it and biased the
 * estimate threefold.) */
#include "batchmd/timers.h"
#ifndef BMD__NEIGHBOR_SAMPLE_ATOMS /* (a -D can change it, to compare) */
#define BMD__NEIGHBOR_SAMPLE_ATOMS 1024
#endif
#define BMD__NEIGHBOR_TIMED_ATOMS 256
typedef struct bmd__neighbor_timer {
    double *sink;     /* the model's t_neighbor, or NULL (not the calling thread) */
    long since;       /* atoms updated since the last timed update */
    double overhead;  /* s, mean of an empty sample on this thread (< 0: not yet measured) */
} bmd__neighbor_timer;
extern _Thread_local bmd__neighbor_timer bmd__neighbor;
/* Measures bmd__neighbor.overhead (once per thread; bmd_model_compute). */
void bmd__neighbor_calibrate(void);
static inline double bmd__neighbor_tic(int n) {
    if (!bmd__neighbor.sink || n <= 0) return -1.0;
    bmd__neighbor.since += n;
    if (n < BMD__NEIGHBOR_TIMED_ATOMS && bmd__neighbor.since < BMD__NEIGHBOR_SAMPLE_ATOMS) return -1.0;
    return bmd_clock();
}
static inline void bmd__neighbor_toc(double t0, int n) {
    if (t0 < 0) return;
    double dt = bmd_clock() - t0 - bmd__neighbor.overhead;
    /* preempted: 100 µs + 10 µs per atom is several times a list build */
    if (bmd__neighbor.since > 2L * n && dt > 1e-4 + 1e-5 * n) return;
    if (dt > 0) *bmd__neighbor.sink += dt * (double)bmd__neighbor.since / (double)n;
    bmd__neighbor.since = 0;
}

#endif
