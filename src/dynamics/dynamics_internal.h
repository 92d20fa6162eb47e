/* dynamics_internal.h — what the dynamics files share and nobody else needs:
 * the OpenMP loop macro, cached batch-column lookups, per-system parameter
 * blocks read at enter() (info-line overrides), the parameter index of every
 * dynamics type (the order of its descriptors in registry.c) and their
 * constructors. */
#ifndef BATCHMD_DYNAMICS_INTERNAL_H
#define BATCHMD_DYNAMICS_INTERNAL_H

#include "batchmd/dynamics.h"
#include "batchmd/rng.h"

#include <stddef.h>

/* Outer loops over systems: OpenMP when built with it and the batch is big. Per-system sums stay
 * sequential in atom order inside the loop body, so results never depend on
 * the thread count or the schedule. */
/* Integration costs a few ns per atom: threads pay off only on big batches
 * (a fork/join costs microseconds, far more on a loaded machine). */
#define BMD__PARALLEL_MIN_ATOMS 20000
/* (a single system gains nothing from a loop over systems: one thread would
 * do it all while the others wait) */
static inline int bmd__parallel(const bmd_batch *b) {
    return b->n_atoms >= BMD__PARALLEL_MIN_ATOMS && b->n_systems > 1;
}
#define BMD__PRAGMA(x) _Pragma(#x)
#ifdef _OPENMP
#define BMD__OMP_FOR_SYSTEMS(cond) BMD__PRAGMA(omp parallel for schedule(dynamic, 4) if (cond))
#else
#define BMD__OMP_FOR_SYSTEMS(cond)
#endif

/* Index of column `name` (created zero-filled when absent). *cache holds the
 * last index found and is checked (name and shape) before use, so the lookup
 * costs one strcmp when nothing changed. Returns -1 with the batch's error
 * message when the column cannot be made. */
int bmd__column(bmd_batch *b, int *cache, const char *name, int per_atom, int width);

/* A per-system parameter block: the stage values of a dynamics' n parameters
 * (descriptor order), copied at enter() into row s of the per-system column
 * `<prefix>.par` (width n), each replaced by the structure's info-line value
 * when it has one. */
typedef struct bmd__params {
    const bmd_param_desc *desc;
    int n;
    double values[32];
} bmd__params;

/* Fills p from the catalogue entry of `type` and values (NULL: defaults). */
void bmd__params_init(bmd__params *p, const char *type, const double *values);
/* For each entering system (enter[s] and still live): row s of column `col`
 * (width p->n) receives its parameters. A system whose info value does not
 * parse is taken out with status "invalid_param_<name>". */
void bmd__params_read(const bmd__params *p, bmd_batch *b, const unsigned char *enter, int col);

/* Column names "<type>.<substage>.<what>", e.g. "fire.0.v". */
void bmd__colname(char *out, const char *type, int substage, const char *what);

/* MD dynamics: Maxwell–Boltzmann velocities at enter() for the entering
 * systems whose init_temperature (row value par[s*width + index]) is finite
 * and >= 0 (NaN or < 0: keep the velocities the structure brought), at
 * exactly that temperature as the dynamics' rule counts it. */
bmd_status bmd__init_velocities(bmd_batch *b, const unsigned char *enter, const double *par, int width, int index,
                                const bmd_step_info *si, bmd_dof_rule rule);

/* Velocity Verlet half kick v += (dt/2) ftm2v F/m for the atoms of slot s. */
void bmd__half_kick(bmd_batch *b, int s, double dt, double ftm2v);

/* ---- degrees of freedom (bmd_dynamics_type.dof): what each dynamics
 * conserves; registry.c's catalogue and the dynamics' own files use these ----
 * velocity Verlet with forces that sum to zero keeps the total momentum; */
#define BMD__NVE_DOF BMD_DOF_MOMENTUM
/* Langevin's friction and noise act on every atom alone: the centre of mass
 * is thermalised too (its momentum is Maxwellian at T), all 3N count; */
#define BMD__LGV_DOF BMD_DOF_ALL
/* Nosé–Hoover scales every velocity by one factor: a total momentum of zero
 * stays zero, and the thermostat drives 2K to N_f kT with N_f = 3N − 3; */
#define BMD__NH_DOF BMD_DOF_MOMENTUM
/* the optimizers leave the batch's velocities alone (see dynamics.h). */
#define BMD__OPT_DOF BMD_DOF_ALL

/* ---- parameter indices (the descriptor order in registry.c) ---- */
enum { BMD__FIRE_DT, BMD__FIRE_MAXSTEP, BMD__FIRE_DTMAX, BMD__FIRE_NMIN, BMD__FIRE_FINC, BMD__FIRE_FDEC,
       BMD__FIRE_ASTART, BMD__FIRE_FA, BMD__FIRE_A, BMD__FIRE_NPAR };
enum { BMD__FIRE2_DT, BMD__FIRE2_MAXSTEP, BMD__FIRE2_DTMAX, BMD__FIRE2_DTMIN, BMD__FIRE2_NDELAY,
       BMD__FIRE2_NNEGMAX, BMD__FIRE2_FINC, BMD__FIRE2_FDEC, BMD__FIRE2_ASTART, BMD__FIRE2_FA,
       BMD__FIRE2_INITIALDELAY, BMD__FIRE2_NPAR };
enum { BMD__NVE_DT, BMD__NVE_INIT_T, BMD__NVE_NPAR };
enum { BMD__LGV_DT, BMD__LGV_T, BMD__LGV_FRICTION, BMD__LGV_INIT_T, BMD__LGV_NPAR };
enum { BMD__NH_DT, BMD__NH_T, BMD__NH_TDAMP, BMD__NH_CHAIN, BMD__NH_INIT_T, BMD__NH_NPAR };
#define BMD__NH_MAX_CHAIN 10

/* ---- constructors (values in descriptor order, every entry set) ---- */
bmd_status bmd__fire_create(const double *values, bmd_dynamics **out);
bmd_status bmd__fire2_create(const double *values, bmd_dynamics **out);
bmd_status bmd__nve_create(const double *values, bmd_dynamics **out);
bmd_status bmd__langevin_create(const double *values, bmd_dynamics **out);
bmd_status bmd__nose_hoover_create(const double *values, bmd_dynamics **out);

#endif
