/* model.h — the interface every interatomic model implements, in the shape of
 * the KIM API: the caller hands over the batch (positions, species, cells,
 * pbc) and says which systems to compute and which outputs it wants; a NULL
 * output is a quantity not requested (no virial unless someone asks).
 *
 * Models own whatever neighbor lists they need, one per system, and never
 * build a neighbor across two systems. A model's result for a system depends
 * only on that system's atoms, cell and pbc — not on its slot, on the other
 * systems in the batch, or on when its neighbor list was last rebuilt — so a
 * system run alone or among thousands gets the same bits.
 *
 * The model never knows about stages, dynamics or files. */
#ifndef BATCHMD_MODEL_H
#define BATCHMD_MODEL_H

#include "batch.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bmd_compute_request {
    /* [n_systems]: compute slot s when mask[s] != 0; NULL means every slot. */
    const unsigned char *mask;
    /* Outputs; NULL = not requested. Only the masked systems' entries are
     * written (overwritten, not accumulated). */
    double *energy;          /* [n_systems] potential energy, eV */
    double *forces;          /* [3 n_atoms] eV/Å */
    double *virial;          /* [6 n_systems] Voigt xx yy zz yz xz xy, eV:
                              * W_ab = dE/dε_ab, the derivative of the energy
                              * with respect to a homogeneous strain, so that
                              * stress = W / volume (ASE's sign). For pair
                              * potentials W_ab = Σ_pairs φ'(r) r_a r_b / r.
                              * A model that cannot compute it for a system
                              * writes NaN there: batchmd then gives that
                              * system no stress (never a placeholder). */
    double *energy_per_atom; /* [n_atoms] eV, pair energy split half/half */
} bmd_compute_request;

typedef struct bmd_model_ops {
    const char *type; /* "lj", "morse", ... */
    /* Computes the requested quantities for the masked systems. Thread-safe
     * over systems internally (OpenMP); must not allocate per call in steady
     * state. */
    bmd_status (*compute)(void *self, const bmd_batch *b, const bmd_compute_request *req);
    /* Whether this model can compute a structure (e.g. all its species have
     * parameters); on failure returns an error whose message names the
     * species, for quarantine or a clear refusal. May be NULL (all accepted). */
    bmd_status (*check_system)(void *self, const bmd_system *sys);
    /* Largest interaction range, Å (without skin). */
    double (*cutoff)(void *self);
    void (*destroy)(void *self);
} bmd_model_ops;

typedef struct bmd_model {
    const bmd_model_ops *ops;
    void *self;
    /* ---- added fields (zeroed by the constructors) ---- */
    double t_compute;  /* s, wall time of bmd_model_compute so far (calling thread) */
    double t_neighbor; /* s, of which neighbor-list checks and builds (timers.h) */
    /* 1: a BMD_ERR_RUNTIME from compute may concern single systems (a KIM
     * model's Compute() refusing one structure: atoms crushed together);
     * the stage then evaluates the systems one by one and takes out those
     * that fail alone ("model_failed"), the rest go on. 0: any error stops
     * the run. Set by the KIM constructor. */
    int isolate_failures;
} bmd_model;

/* Convenience wrappers. bmd_model_destroy(NULL) is a no-op and frees the
 * bmd_model itself (models are created on the heap by their constructors). */
bmd_status bmd_model_compute(bmd_model *m, const bmd_batch *b, const bmd_compute_request *req);
bmd_status bmd_model_check_system(bmd_model *m, const bmd_system *sys);
void bmd_model_destroy(bmd_model *m);
/* Seconds spent in bmd_model_compute so far, split into neighbor-list work
 * and the rest (force); see timers.h. Either pointer may be NULL. */
void bmd_model_timers(const bmd_model *m, double *neighbor_s, double *force_s);
/* Neighbor-list builds so far, summed over systems: each system's first
 * build counts one, and each rebuild one more (the skin used up by
 * displacements, or by a cell change's strain together with the atoms'
 * displacements beyond it; pbc or atom count changed) — LAMMPS's "Neighbor
 * list builds" of a run, counted per system. A small cell change (a
 * barostat's step) keeps the lists.
 * For the built-in lj, morse, eam and kim models; -1 for a model that keeps
 * no lists of its own (plug-ins, custom ops tables); 0 for NULL. */
long bmd_model_list_builds(const bmd_model *m);

/* ---- pair potentials: Lennard-Jones and Morse ----
 *
 * One entry per species pair (unordered). A pair of species with no entry
 * does not interact unless the model was created with defaults (see
 * bmd_pair_options.has_default). */
typedef struct bmd_pair_params {
    int z1, z2;    /* atomic numbers (order irrelevant); 0/0 = the default entry */
    double p[3];   /* lj: epsilon (eV), sigma (Å), unused
                    * morse: D0 (eV), alpha (1/Å), r0 (Å) */
    double cutoff; /* Å */
} bmd_pair_params;

typedef struct bmd_pair_options {
    double skin;   /* Verlet skin, Å (>= 0); default 0.5 in campaigns */
    int shift;     /* 1: pair energy shifted to 0 at the cutoff (forces unchanged) */
    int has_default; /* 1: the entry with z1 = z2 = 0 applies to every pair not listed */
} bmd_pair_options;

/* Lennard-Jones: φ(r) = 4ε[(σ/r)^12 − (σ/r)^6] (− φ(rc) when shift), r < rc. */
bmd_status bmd_model_lj_create(const bmd_pair_params *pairs, int n_pairs,
                               const bmd_pair_options *opt, bmd_model **out);
/* Morse: φ(r) = D0[e^{−2α(r−r0)} − 2e^{−α(r−r0)}] (− φ(rc) when shift), r < rc. */
bmd_status bmd_model_morse_create(const bmd_pair_params *pairs, int n_pairs,
                                  const bmd_pair_options *opt, bmd_model **out);

#ifdef __cplusplus
}
#endif

#endif
