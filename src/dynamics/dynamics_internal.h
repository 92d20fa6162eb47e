/* dynamics_internal.h — what the dynamics files share and nobody else needs:
 * the OpenMP loop macro, cached batch-column lookups, per-system parameter
 * blocks read at enter() (info-line overrides), the parameter index of every
 * dynamics type (the order of its descriptors in registry.c) and their
 * constructors. */
#ifndef BATCHMD_DYNAMICS_INTERNAL_H
#define BATCHMD_DYNAMICS_INTERNAL_H

#include "batchmd/dynamics.h"
#include "batchmd/rng.h"

#include <math.h>
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

/* The rule a dynamics whose catalogue rule is `own` counts N_f by in this
 * sub-stage: BMD_DOF_FIX_COM when the stage holds the centre-of-mass
 * momentum at zero (si->dof), else its own. */
static inline bmd_dof_rule bmd__dof_rule(const bmd_step_info *si, bmd_dof_rule own) {
    return si->dof == BMD_DOF_FIX_COM ? BMD_DOF_FIX_COM : own;
}

/* MD dynamics: Maxwell–Boltzmann velocities at enter() for the entering
 * systems whose init_temperature (row value par[s*width + index]) is finite
 * and >= 0 (NaN or < 0: keep the velocities the structure brought), at
 * exactly that temperature as the dynamics counts it (bmd__dof_rule(si,
 * rule), fixed atoms at rest and not counted). */
bmd_status bmd__init_velocities(bmd_batch *b, const unsigned char *enter, const double *par, int width, int index,
                                const bmd_step_info *si, bmd_dof_rule rule);

/* Velocity Verlet half kick v += (dt/2) ftm2v F/m for the atoms of slot s. */
void bmd__half_kick(bmd_batch *b, int s, double dt, double ftm2v);
/* The first half of a velocity Verlet step for the atoms of slot s: the
 * half kick, then the drift x += dt v. */
void bmd__kick_drift(bmd_batch *b, int s, double dt, double ftm2v);

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

/* Largest Nosé–Hoover chain (nose_hoover.c's state row has room for it). */
#define BMD__NH_MAX_CHAIN 10

/* ---- parameter descriptors the dynamics files share (dynamics.h's
 * bmd_param_desc; each file lists its own in the order its constructor
 * reads them) ---- */
#define BMD__RANGE(lo_, hi_, open_, text_) .lo = (lo_), .hi = (hi_), .lo_open = (open_), .expected = (text_)
#define BMD__PARAM_DT(unit_, def_, doc_)                                                                            \
    { .name = "dt", .unit = unit_, .def = def_, .doc = doc_, BMD__RANGE(0, INFINITY, 1, "a time step > 0") }
#define BMD__PARAM_INIT_T                                                                                           \
    { .name = "init_temperature", .unit = "K", .def = NAN,                                                          \
      .doc = "Maxwell-Boltzmann velocities at this temperature on entry (absent: keep velocities)", .optional = 1, \
      BMD__RANGE(0, INFINITY, 0, "a temperature >= 0 K") }
#define BMD__PARAM_TEMPERATURE(lo_open_, text_)                                                                     \
    { .name = "temperature", .unit = "K", .def = NAN, .doc = "bath temperature", BMD__RANGE(0, INFINITY, lo_open_, text_) }
#define BMD__PARAM_TDAMP                                                                                            \
    { .name = "tdamp", .unit = "fs", .def = 0, .doc = "thermostat damping time (0: 100 dt)",                       \
      BMD__RANGE(0, INFINITY, 0, "a damping time >= 0 fs (0: 100 dt)") }
#define BMD__PARAM_MAXSTEP(doc_)                                                                                    \
    { .name = "maxstep", .unit = "Å", .def = 0.2, .doc = doc_, BMD__RANGE(0, INFINITY, 1, "a length > 0 Å") }

/* A catalogue entry's fields after its parameters (the descriptors' count
 * from the array). */
#define BMD__PARAMS(arr) .params = (arr), .n_params = (int)(sizeof(arr) / sizeof((arr)[0]))

#endif
