/* flow.h — what feeds the live batch and what takes systems out of it:
 * datasets (structures by index, sizes known without loading them), sinks
 * (where leaving systems go: files, memory, chains, input order), and the
 * inflight runner that keeps a batch full within its budget, with a
 * size-aware sampler, while a (fused) stage advances it.
 *
 * What varies is a struct of function pointers plus `void *self`, as
 * everywhere in batchmd: bmd_dataset_ops, bmd_sink_ops.
 *
 * The sampler never knows about physics; the model never knows about files.
 * pipeline.h runs the same inflight loop on each MPI rank of a pipeline
 * ('|'), handing the systems that leave one rank's stage to the next. */
#ifndef BATCHMD_FLOW_H
#define BATCHMD_FLOW_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include "dynamics.h"
#include "model.h"
#include "status.h"
#include "system.h"
#include "units.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ================================================================ datasets
 * A dataset is an indexed list of structures 0..length-1. The index is the
 * structure's system_id. Sizes (metadata) are known without loading: the
 * sampler reads them once at the start of a run and never loads more than
 * the live batch holds. */

/* What a dataset knows about structure i without loading it. */
typedef struct bmd_dataset_meta {
    int n_atoms;  /* atoms */
    long n_edges; /* estimated neighbour pairs (cost hint), -1 when unknown */
} bmd_dataset_meta;

typedef struct bmd_dataset_ops {
    const char *type; /* "extxyz", "memory", ... */
    /* Number of structures. */
    long (*length)(void *self);
    /* Loads structure i (0 <= i < length) into *out (overwritten; the caller
     * frees it with bmd_system_free). bmd_dataset_get sets system_id = i. */
    bmd_status (*get)(void *self, long i, bmd_system *out);
    /* Size of structure i without loading it (set n_edges to -1 if unknown). */
    bmd_status (*metadata)(void *self, long i, bmd_dataset_meta *out);
    /* Where structure i comes from, for messages, e.g. "in.extxyz:120"
     * (may be NULL: messages then say "structure i"). */
    void (*where)(void *self, long i, char *buf, size_t n);
    /* Frees self (may be NULL). */
    void (*destroy)(void *self);
} bmd_dataset_ops;

typedef struct bmd_dataset {
    const bmd_dataset_ops *ops;
    void *self;
} bmd_dataset;

/* Wraps a custom implementation (ops must outlive the dataset; self is
 * owned: ops->destroy frees it at close). */
bmd_status bmd_dataset_create(const bmd_dataset_ops *ops, void *self, bmd_dataset **out);

/* A dataset over extxyz files, in the order given, then frame order: the
 * system_id of a structure is its index here. Every file is indexed once at
 * open (sizes are known without parsing atoms). A directory or glob is
 * expanded into this list by the campaign reader. */
bmd_status bmd_dataset_open_extxyz(const char *const *paths, int n_paths, bmd_units_kind units, bmd_dataset **out);

/* A dataset over n systems in memory (get(i) returns a deep copy of
 * systems[i] with system_id = i). copy != 0: the systems are deep-copied
 * now and the caller's array may go; copy == 0: they are borrowed and must
 * stay unchanged until the dataset is closed. */
bmd_status bmd_dataset_from_systems(const bmd_system *systems, long n, int copy, bmd_dataset **out);

/* Closes the dataset and frees it; NULL is a no-op. */
void bmd_dataset_close(bmd_dataset *d);
long bmd_dataset_size(const bmd_dataset *d);
/* Atom count of structure i without loading it; -1 when out of range or unknown. */
int bmd_dataset_atoms(const bmd_dataset *d, long i);
/* Metadata of structure i (range-checked). */
bmd_status bmd_dataset_meta_get(const bmd_dataset *d, long i, bmd_dataset_meta *out);
/* Loads structure i into *out (system_id = i). Errors name file:line. */
bmd_status bmd_dataset_get(const bmd_dataset *d, long i, bmd_system *out);
/* "structure 17 (in.extxyz:120)" into buf, for messages. */
void bmd_dataset_describe(const bmd_dataset *d, long i, char *buf, size_t n);

/* =================================================================== sinks
 * A sink takes systems as they leave. Implementations fill a bmd_sink_ops,
 * best with designated initializers (fields not named are NULL): fields may
 * be added at the end in later versions, always optional. */
typedef struct bmd_sink_ops {
    const char *type;
    /* Takes a copy of what it needs; sys stays the caller's. */
    bmd_status (*write)(void *self, const bmd_system *sys);
    bmd_status (*close)(void *self); /* flush; may be NULL */
    void (*destroy)(void *self);
    /* ---- optional (NULL: not supported) ---- */
    /* Nonzero when the sink cannot take another system now (a memory sink
     * at capacity). NULL: never full. */
    int (*full)(void *self);
    /* Tells the sink that system_id will never be written to it (the system
     * went to `failed`, or elsewhere), so that an ordering sink moves past
     * the gap. NULL: nothing to do. */
    bmd_status (*skip)(void *self, int64_t system_id);
    /* Checkpoints (checkpoint.h): commit makes what was written so far
     * durable (flush, fsync) and returns in *state (malloc'd, the caller
     * frees it; *n bytes) what rewind needs to bring the sink back to this
     * point; rewind (on a sink reopened for a resume, before any write)
     * drops whatever was written after that commit, a torn last frame
     * included. NULL: the sink cannot be checkpointed. */
    bmd_status (*commit)(void *self, void **state, size_t *n);
    bmd_status (*rewind)(void *self, const void *state, size_t n);
} bmd_sink_ops;

typedef struct bmd_sink {
    const bmd_sink_ops *ops;
    void *self;
} bmd_sink;

bmd_status bmd_sink_write(bmd_sink *s, const bmd_system *sys);
/* Whether s is full now (0 when it has no `full` op). */
int bmd_sink_full(const bmd_sink *s);
/* Passes bmd_sink_ops.skip on (BMD_OK when s has none). */
bmd_status bmd_sink_skip(bmd_sink *s, int64_t system_id);
/* Closes (flushes) and frees; NULL is a no-op. Returns the close status. */
bmd_status bmd_sink_destroy(bmd_sink *s);

/* Extended XYZ file sink (created/truncated now, parent folders made), frames
 * with energy, stress, forces, momenta, system_id and info keys. Only whole
 * frames reach the file (up to 64 KiB or a second's worth of them are held
 * in memory), each written with the catchable signals blocked: a
 * process that dies by any signal but SIGKILL leaves no torn frame. */
bmd_status bmd_sink_extxyz_create(const char *path, bmd_units_kind units, bmd_sink **out);
/* The same sink over an existing file, kept and appended to (created when
 * missing), for a resume: its rewind op truncates the file back to the
 * length a checkpoint committed (BMD_ERR_IO when the file is shorter). */
bmd_status bmd_sink_extxyz_reopen(const char *path, bmd_units_kind units, bmd_sink **out);

/* In-memory sink: keeps deep copies of the systems written, oldest first.
 * capacity > 0: holds at most that many (full() says so; a write when full
 * is BMD_ERR_BUDGET); capacity <= 0: unbounded. */
bmd_status bmd_sink_memory_create(long capacity, bmd_sink **out);
/* Systems held now; -1 if s is not a memory sink. */
long bmd_sink_memory_count(const bmd_sink *s);
/* The i-th held system (0 = oldest), NULL when out of range or not a memory sink. */
const bmd_system *bmd_sink_memory_at(const bmd_sink *s, long i);
/* Moves up to max held systems, oldest first, into out[0 .. *n): they become
 * the caller's (free each with bmd_system_free) and leave the sink. */
bmd_status bmd_sink_memory_drain(bmd_sink *s, bmd_system *out, long max, long *n);
/* Writes the held systems, oldest first, to dst and drops them, until dst
 * is full or an error; *n (may be NULL) receives how many moved. */
bmd_status bmd_sink_memory_drain_to(bmd_sink *s, bmd_sink *dst, long *n);

/* Priority chain: each system goes to the first of sinks[0..n) that is not
 * full (bmd_sink_full); when all are full the write fails with
 * BMD_ERR_BUDGET. skip() goes to every sink; the chain is full when all are.
 * own != 0: the chain closes and destroys them (in order) when destroyed;
 * own == 0: they stay the caller's (the chain's close then does nothing to
 * them) and must outlive it. On failure nothing is taken over. */
bmd_status bmd_sink_chain_create(bmd_sink **sinks, int n, int own, bmd_sink **out);

/* Input order: passes systems on to `inner` by increasing system_id,
 * starting at 0. A system that arrives early is copied and held until every
 * lower id has been written or skipped (bmd_sink_skip: the runner skips the
 * ids that go to `failed`), then the contiguous run is released. Systems
 * with system_id < 0 pass straight through; a repeated id is
 * BMD_ERR_INVALID. Memory is not bounded: in the worst case (the first
 * system is the last to finish) it holds every other system of the run.
 * close() releases whatever is still held, by increasing id, gaps
 * notwithstanding, then closes inner if owned. own != 0: destroying the
 * ordered sink destroys inner (on failure nothing is taken over). */
bmd_status bmd_sink_ordered_create(bmd_sink *inner, int own, bmd_sink **out);
/* Systems held back now; -1 if s is not an ordered sink. */
long bmd_sink_ordered_pending(const bmd_sink *s);

/* ====================================================== the inflight runner */
typedef struct bmd_run_stats bmd_run_stats;

typedef struct bmd_run_options {
    long max_atoms;     /* live-batch atom budget (<= 0: no limit) */
    long max_systems;   /* live-batch system budget (<= 0: no limit) */
    long refill_every;  /* steps between evictions/refills (<= 0: 1) */
    int stress_on_exit; /* compute the stress of periodic systems as they leave */
    /* Called about every progress_every_s seconds (may be NULL). */
    void (*progress)(void *user, const bmd_run_stats *stats);
    void *progress_user;
    double progress_every_s;
    /* ---- added fields (zero keeps the former behaviour) ---- */
    int ordered; /* write `final` by increasing system_id (input order); see
                  * bmd_sink_ordered_create for what it holds back */
    /* Checkpoints (checkpoint.h; NULL: none): written at round boundaries
     * when due; a loaded one is resumed from (the batch, sampler, stage
     * clock and stats are restored, the outputs rewound). */
    struct bmd_checkpoint *checkpoint;
    /* Set (from a signal handler) to stop: the runner ends the round after
     * the current step, lets leaving systems go to their sinks, writes a
     * checkpoint if it has one and returns BMD_OK with the run unfinished
     * (bmd_checkpoint_stopped says so; without a checkpoint it returns
     * BMD_ERR_RUNTIME). NULL: never. */
    volatile sig_atomic_t *stop;
} bmd_run_options;

struct bmd_run_stats {
    long total;        /* structures in the dataset */
    long started;      /* taken into the batch */
    long done;         /* left the last stage, written to final */
    long failed;       /* taken out, written to failed */
    long live;         /* in the batch now */
    long loop_steps;   /* batch steps taken */
    double atom_steps; /* Σ over steps of live atoms */
    double seconds;    /* wall time so far */
    int n_stages;
    long entered[32], converged[32], unconverged[32]; /* per sub-stage */
    /* seconds: step = stepping (model + dynamics, and the stress computed
     * on exit); flow = refill (sampler, batch append) + eviction's
     * compaction; io = reading structures, extracting and writing outputs */
    double t_step, t_flow, t_io;
    /* ---- added fields ---- */
    long refills;                   /* refill rounds */
    long peak_atoms, peak_systems;  /* largest live batch seen (<= the budget) */
    long live_in[32];               /* systems now in each sub-stage (for progress) */
    /* seconds, t_step split as timers.h says: neighbor + force (the model's
     * evaluations, bmd_model_timers) + integrate (the rest of the step) */
    double t_neighbor, t_force, t_integrate;
    /* Σ over batch steps of the systems stepped (live in a sub-stage): the
     * steps of a system, summed over systems */
    double system_steps;
    /* the model's neighbor-list builds during this run (bmd_model_list_builds:
     * per system, summed), a resumed run's included; -1 when the model keeps
     * no lists of its own. Steps of a system per build: system_steps / this. */
    long list_builds;
};

/* Runs every structure of ds through stage st with model m.
 *
 * The batch: a size-aware sampler (built at the start from the dataset's
 * metadata only) admits structures while they fit the free budget
 * (max_atoms - atoms in the batch, max_systems - systems in the batch): the
 * next structure in dataset order when it fits, otherwise the largest
 * remaining one that fits (the lowest index among equals); a structure
 * passed over while a whole budget's worth of atoms (max_atoms) was
 * admitted past it gets the budget reserved (nothing else is admitted
 * until it fits), so large structures never starve. The live batch never
 * exceeds the budget.
 *
 * Every refill_every steps (or as soon as no system is live) systems that
 * left the last sub-stage go to `final` (info: system_id, steps_S,
 * converged_S for each sub-stage S, status=done) and quarantined ones
 * (BMD_STATUS_FAILED) to `failed` (status=<reason>; final is told with
 * bmd_sink_skip), the batch is compacted and refilled. The run ends when
 * the dataset is exhausted and every system has left. A NULL sink drops
 * what would go to it.
 *
 * Since a system's numbers never depend on its batch, max_atoms,
 * max_systems and refill_every change nothing but speed and the order of
 * `final` (opt->ordered restores input order).
 *
 * Errors: a structure larger than max_atoms (or without atoms) fails the run
 * before any step with BMD_ERR_BUDGET (BMD_ERR_INVALID) and a message naming
 * it; errors of the model, the stage, the dataset or a sink stop the run. */
bmd_status bmd_run_inflight(bmd_stage *st, bmd_model *m, const bmd_dataset *ds, const bmd_run_options *opt,
                            bmd_sink *final, bmd_sink *failed, bmd_run_stats *stats);

/* Single point: energy, forces and (periodic systems) stress of every
 * structure, written to `out` in dataset order. */
bmd_status bmd_eval_dataset(bmd_model *m, const bmd_dataset *ds, long max_atoms, long max_systems, bmd_sink *out,
                            bmd_run_stats *stats);

#ifdef __cplusplus
}
#endif

#endif
