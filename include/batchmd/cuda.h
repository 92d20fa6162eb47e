/* cuda.h — the CUDA GPU backend (optional at build time: -DBMD_WITH_CUDA).
 *
 * A device engine holds a batch on one GPU (positions, velocities, forces,
 * masses, cells, per-system state) and runs the whole step there: Verlet
 * lists with skin per system (no neighbor across systems), the LJ and Morse
 * pair forces, energies and virials, and the NVE, Langevin (BAOAB),
 * Nosé–Hoover chain, FIRE and FIRE2 updates, masked per system so that
 * fused stages share one batch. The physics of every per-atom, per-pair
 * and per-system operation is the one of src/cuda/hd_*.h, shared with the
 * CPU unit tests. Per-system sums are one
 * block per system with a fixed-order tree: a system's result does not depend
 * on its batch, and no float atomics are used.
 *
 * Units: those of the batch (units.h): Å, eV, amu, fs, K in metal units.
 *
 * In a build without CUDA (src/cuda/cuda_none.c) every function that needs
 * the device fails with BMD_ERR_UNSUPPORTED and the message "this batchmd was
 * built without CUDA (...)"; in a CUDA build on a machine without a usable
 * device, with "no CUDA device found (...)". */
#ifndef BATCHMD_CUDA_H
#define BATCHMD_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "model.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when this library was compiled with CUDA (whatever the machine has). */
int bmd_cuda_built(void);
/* 1 when built with CUDA and at least one CUDA device is usable now. */
int bmd_cuda_available(void);
/* BMD_OK when bmd_cuda_available(); else BMD_ERR_UNSUPPORTED with a message
 * saying why ("this batchmd was built without CUDA ..." or "no CUDA device
 * found ..."). */
bmd_status bmd_cuda_check(void);

typedef struct bmd_cuda_device {
    int device;             /* index */
    char name[128];
    int major, minor;       /* compute capability */
    int multiprocessors;
    double memory_bytes;    /* global memory */
    double bandwidth_bytes_per_s; /* peak memory bandwidth (bus width x clock x 2), 0 if unknown */
    int runtime_version, driver_version; /* 13000 = 13.0 */
} bmd_cuda_device;

/* Fills *out for device `device` (0-based); fails as bmd_cuda_check. */
bmd_status bmd_cuda_device_info(int device, bmd_cuda_device *out);

/* ---- the device engine ---- */

/* The pair potential the engine computes: its type table is built from the
 * same bmd_pair_params and bmd_pair_options as bmd_model_lj_create /
 * bmd_model_morse_create (same coefficients, same shift, same cutoffs). */
typedef enum bmd_cuda_pair_kind { BMD_CUDA_LJ = 0, BMD_CUDA_MORSE = 1 } bmd_cuda_pair_kind;

/* One dynamics of a (fused) stage on the device. A system whose batch status
 * is s runs substage s; status n_sub (or any other) means "not moving". */
typedef enum bmd_cuda_dyn_kind {
    BMD_CUDA_NVE = 0,      /* params: dt (fs) */
    BMD_CUDA_LANGEVIN = 1, /* params: dt (fs), temperature (K), friction (1/fs) */
    BMD_CUDA_FIRE = 2,     /* params: ASE's FIRE: dt, maxstep, dtmax, Nmin, finc, fdec, astart, fa, a */
    BMD_CUDA_FIRE2 = 3,    /* params: dt, maxstep, dtmax, dtmin, Ndelay, Nnegmax, finc, fdec, astart, fa,
                            * initialdelay (fire2.c's order) */
    BMD_CUDA_NOSE_HOOVER = 4 /* params: dt (fs), temperature (K), tdamp (fs, 0: 100 dt), chain (1..10) */
} bmd_cuda_dyn_kind;

#define BMD_CUDA_MAX_SUB 8
#define BMD_CUDA_NPAR 12
/* FIRE's and FIRE2's slots after their own parameters hold the catalogue's
 * `cell:` block, in its order (dynamics catalogue: filter, pressure, mask):
 * the engine relaxes fixed cells only, and bmd_cuda_engine_set_stage
 * refuses a cell filter other than none (0) or a pressure other than 0
 * (variable-cell relaxation runs on the CPU); a mask there is 0 or 63. */

typedef struct bmd_cuda_substage {
    bmd_cuda_dyn_kind kind;
    double params[BMD_CUDA_NPAR]; /* in the order above */
    double fmax;                  /* FIRE, FIRE2: converged when max_i |F_i| < fmax (eV/Å) */
    long max_steps;               /* step budget (MD: steps) */
    uint32_t rng_stream;          /* Langevin: BMD_RNG_STREAM(global substage, BMD_RNG_LANGEVIN) */
} bmd_cuda_substage;

typedef struct bmd_cuda_options {
    int device;          /* CUDA device index */
    long max_atoms;      /* device capacity */
    int max_systems;
    int max_neighbors;   /* per atom in the full Verlet list (0: 256); a list that overflows is rebuilt wider */
    int block;           /* threads per block of the per-system reductions (power of 2, 0: 128) */
    uint64_t seed;       /* the campaign seed (Philox key, as on the CPU) */
    double ftm2v, boltzmann, mvv2e; /* units.h of the batch */
    int graphs;          /* 1: capture the steady-state step in a CUDA graph and replay it */
} bmd_cuda_options;

typedef struct bmd_cuda_engine bmd_cuda_engine;

/* Creates an engine on opt->device with room for opt->max_atoms atoms and
 * opt->max_systems systems. pairs/n_pairs/popt as for bmd_model_lj_create. */
bmd_status bmd_cuda_engine_create(bmd_cuda_pair_kind kind, const bmd_pair_params *pairs, int n_pairs,
                                  const bmd_pair_options *popt, const bmd_cuda_options *opt,
                                  bmd_cuda_engine **out);
void bmd_cuda_engine_destroy(bmd_cuda_engine *e);

/* Sets the fused stage the engine steps (n_sub sub-stages, in status order). */
bmd_status bmd_cuda_engine_set_stage(bmd_cuda_engine *e, const bmd_cuda_substage *sub, int n_sub);

/* Appends the systems of host batch b with sel[s] != 0 (NULL: all) after the
 * device's systems, through pinned buffers on the copy stream (inflight
 * insertion; nothing else on the device moves). Their status, per-substage
 * step counts and FIRE state start at 0 (status from b). */
bmd_status bmd_cuda_engine_insert(bmd_cuda_engine *e, const bmd_batch *b, const unsigned char *sel);
/* Removes the device systems with remove[s] != 0 and compacts the others on
 * the device, keeping their order (inflight eviction). */
bmd_status bmd_cuda_engine_evict(bmd_cuda_engine *e, const unsigned char *remove);
/* Number of systems and atoms on the device. */
int bmd_cuda_engine_systems(const bmd_cuda_engine *e);
long bmd_cuda_engine_atoms(const bmd_cuda_engine *e);

/* Computes forces, energies and virials of the masked device systems (mask:
 * host array [systems], NULL = all) and copies them into the outputs of req
 * (host arrays in the device's layout). For the GPU-vs-CPU parity tests. */
bmd_status bmd_cuda_engine_compute(bmd_cuda_engine *e, const bmd_compute_request *req);

/* Takes n steps of the fused stage on the device: per step, per system, the
 * sub-stage's pre-update, the list check (rebuild of the stale systems only),
 * forces, the post-update and the convergence test. A system that converges
 * or spends its budget moves to the next status and stops moving when it
 * passes the last sub-stage. No host round trip inside the n steps. */
bmd_status bmd_cuda_engine_step(bmd_cuda_engine *e, int n);

/* Copies the device state of every system back: pos, vel, force [3 atoms],
 * energy [systems], virial [6 systems], status [systems], steps [systems]
 * (updates in the current sub-stage); NULL = not wanted. */
bmd_status bmd_cuda_engine_download(bmd_cuda_engine *e, double *pos, double *vel, double *force, double *energy,
                                    double *virial, int *status, double *steps);

#ifdef __cplusplus
}
#endif

#endif
