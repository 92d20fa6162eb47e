/* runner_internal.h — the inflight loop's core, shared by the one-process
 * runner (runner.c: bmd_run_inflight) and a pipeline rank (pipeline.c),
 * internal to src/flow. What differs between them is a bmd__runner_io:
 * where systems come from (the dataset's sampler, or the park of systems
 * the prior rank handed over), where leaving systems go (the sinks, or the
 * hand-over buffer), and what happens between rounds (the exchange).
 *
 * One round of bmd__runner_loop:
 *   begin_round; evict (each leaving system: leave(), or the sinks);
 *   exchange (may stop the loop); refill; up to refill_every steps, each
 *   followed by after_step (which may end the round early).
 * Without an exchange the loop stops when the batch is empty after refill
 * (bmd_run_inflight's rule). With a checkpoint (opt->checkpoint), one is
 * written after evict when due or when opt->stop is set (then the loop
 * returns); a loaded one is restored before the first round. Pipeline ranks
 * (with an exchange) decide when themselves (pipeline_run.c) and write with
 * bmd__runner_checkpoint; opt->stop is theirs too. */
#ifndef BATCHMD_FLOW_RUNNER_INTERNAL_H
#define BATCHMD_FLOW_RUNNER_INTERNAL_H

#include "flow/flow_internal.h"
#include "flow/sampler.h"

typedef struct bmd__runner bmd__runner;

typedef struct bmd__runner_io {
    void *self;
    bmd_status (*begin_round)(void *self, bmd__runner *r); /* may be NULL */
    /* Slot s left the stage (done: the exit code; else taken out). *taken = 1:
     * the runner removes it; 0: it stays in the batch, not stepped, and is
     * offered again next round. NULL: to the sinks (bmd__runner_to_sinks). */
    bmd_status (*leave)(void *self, bmd__runner *r, int s, int done, int *taken);
    bmd_status (*exchange)(void *self, bmd__runner *r, int *stop); /* may be NULL */
    bmd_status (*refill)(void *self, bmd__runner *r);
    /* After each of the round's steps (live: whether anything was stepped);
     * *end_round = 1 ends the round. NULL: the round ends when nothing is live. */
    bmd_status (*after_step)(void *self, bmd__runner *r, int live, int *end_round);
    /* Checkpoints (NULL: the source has no state to keep): save appends the
     * source's position (the sampler's) to out; restore puts it back. */
    bmd_status (*save)(void *self, bmd__runner *r, struct bmd__buf *out);
    bmd_status (*restore)(void *self, bmd__runner *r, const void *data, size_t n);
} bmd__runner_io;

struct bmd__runner {
    bmd_stage *st;
    bmd_model *m;
    const bmd_run_options *opt;
    bmd_sink *final, *failed; /* final may be the ordered wrapper */
    bmd_sink *ordered;        /* owned wrapper, or NULL */
    bmd_run_stats *stats;
    bmd_batch *b;
    long max_atoms, max_systems, refill_every;
    int k; /* sub-stages of st: status k = left the stage */
    /* steps_S / converged_S: names[name_offset + i] is sub-stage i */
    const char *const *names;
    int n_names, name_offset;
    unsigned char *mask;
    size_t mask_cap;
    double *virial;
    size_t virial_cap;
    double t_start;
    struct bmd_checkpoint *ck; /* opt->checkpoint */
    double t_model0[2];        /* neighbor and force seconds before the checkpoint a run resumed from */
    long builds0[2];           /* the model's list builds at the start; this run's before that checkpoint */
    const struct bmd__runner_io *io; /* of the running loop */
};

/* Fills r (creates the batch, wraps final in an ordered sink when
 * opt->ordered). names NULL: the stage's own sub-stage names. */
bmd_status bmd__runner_init(bmd__runner *r, bmd_stage *st, bmd_model *m, const bmd_run_options *opt,
                            bmd_sink *final, bmd_sink *failed, bmd_run_stats *stats, const char *const *names,
                            int n_names, int name_offset);
/* Opens the stage's hooks, runs the loop, closes them. */
bmd_status bmd__runner_run(bmd__runner *r, const bmd__runner_io *io);
/* Writes a checkpoint now (outputs committed, io->save's source state, the
 * batch, the stage clock, the statistics): a pipeline rank's, from its
 * exchange, while bmd__runner_run runs. */
bmd_status bmd__runner_checkpoint(bmd__runner *r);
/* Releases the ordered wrapper (flushing it into final), the batch and scratch. */
bmd_status bmd__runner_fini(bmd__runner *r);

/* The default leave(): extracts slot s, adds steps_S / converged_S / status,
 * writes it to final (done) or failed (and tells final to skip its id). */
bmd_status bmd__runner_to_sinks(bmd__runner *r, int s, int done);
/* Admits what the sampler offers from ds while it fits the free budget. */
bmd_status bmd__runner_refill_sampler(bmd__runner *r, bmd__sampler *smp, const bmd_dataset *ds);
/* Grows the scratch mask to the batch (after appends). */
bmd_status bmd__runner_reserve(bmd__runner *r);
/* Records the batch's size in the peaks. */
void bmd__runner_note_peak(bmd__runner *r);

#endif
