/* flow.h — what feeds the live batch and what takes systems out of it:
 * datasets (structures by index, sizes known without loading them), sinks
 * (where leaving systems go), and the inflight runner that keeps a batch
 * full within its budget while a stage advances it.
 *
 * The sampler never knows about physics; the model never knows about files. */
#ifndef BATCHMD_FLOW_H
#define BATCHMD_FLOW_H

#include <stdint.h>
#include "dynamics.h"
#include "model.h"
#include "status.h"
#include "system.h"
#include "units.h"

/* ---- datasets ---- */
typedef struct bmd_dataset bmd_dataset;

/* A dataset over extxyz files, in the order given, then frame order: the
 * system_id of a structure is its index here. Every file is indexed once at
 * open (sizes are known without parsing atoms). */
bmd_status bmd_dataset_open_extxyz(const char *const *paths, int n_paths, bmd_units_kind units, bmd_dataset **out);
void bmd_dataset_close(bmd_dataset *d); /* NULL is a no-op */
long bmd_dataset_size(const bmd_dataset *d);
/* Atom count of structure i (no parsing). */
int bmd_dataset_atoms(const bmd_dataset *d, long i);
/* Reads structure i into *out (system_id = i). Errors name file:line. */
bmd_status bmd_dataset_get(const bmd_dataset *d, long i, bmd_system *out);

/* ---- sinks ---- */
typedef struct bmd_sink_ops {
    const char *type;
    /* Takes a copy of what it needs; sys stays the caller's. */
    bmd_status (*write)(void *self, const bmd_system *sys);
    bmd_status (*close)(void *self); /* flush; may be NULL */
    void (*destroy)(void *self);
} bmd_sink_ops;

typedef struct bmd_sink {
    const bmd_sink_ops *ops;
    void *self;
} bmd_sink;

/* Extended XYZ file sink (created/truncated now, parent folders made), frames
 * with energy, stress, forces, momenta, system_id and info keys. */
bmd_status bmd_sink_extxyz_create(const char *path, bmd_units_kind units, bmd_sink **out);
bmd_status bmd_sink_write(bmd_sink *s, const bmd_system *sys);
/* Closes (flushes) and frees; NULL is a no-op. Returns the close status. */
bmd_status bmd_sink_destroy(bmd_sink *s);

/* ---- the inflight runner ---- */
typedef struct bmd_run_stats bmd_run_stats;

typedef struct bmd_run_options {
    long max_atoms;     /* live-batch atom budget */
    long max_systems;   /* live-batch system budget */
    long refill_every;  /* steps between evictions/refills */
    int stress_on_exit; /* compute the stress of periodic systems as they leave */
    /* Called about every progress_every_s seconds (may be NULL). */
    void (*progress)(void *user, const bmd_run_stats *stats);
    void *progress_user;
    double progress_every_s;
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
    double t_step, t_flow, t_io; /* seconds: stepping (model + dynamics), refill/evict, output */
};

/* Runs every structure of ds through stage st with model m: fills the batch in
 * dataset order within the budget, steps, and every refill_every steps sends
 * systems that left the last sub-stage to `final` (info: system_id, steps_S,
 * converged_S for each sub-stage S, status=done) and quarantined ones to
 * `failed` (status=<reason>), then refills. A structure larger than
 * max_atoms fails the run with a message naming it. */
bmd_status bmd_run_inflight(bmd_stage *st, bmd_model *m, const bmd_dataset *ds, const bmd_run_options *opt,
                            bmd_sink *final, bmd_sink *failed, bmd_run_stats *stats);

/* Single point: energy, forces and (periodic systems) stress of every
 * structure, written to `out` in dataset order. */
bmd_status bmd_eval_dataset(bmd_model *m, const bmd_dataset *ds, long max_atoms, long max_systems, bmd_sink *out,
                            bmd_run_stats *stats);

#endif
