/* dynamics.h — integrators and optimizers, the stage that runs them on a
 * batch, and the step loop with its nine hook points.
 *
 * A dynamics is one integrator or optimizer. It keeps its per-system and
 * per-atom state in batch columns (batch.h) and updates only the systems in
 * the mask it is given. A stage runs k dynamics (sub-stages) fused on one
 * batch: batch->status[s] = i means sub-stage i moves system s; i = k is the
 * exit code (graduated); BMD_STATUS_FAILED means taken out (quarantine).
 *
 * One step of bmd_stage_step:
 *   (forces are computed first for any live system without valid forces,
 *    then AFTER_COMPUTE(mask of those systems); a system never takes an
 *    update with stale or zero forces, nor leaves on an evaluation that the
 *    AFTER_COMPUTE hooks have not seen)
 *   BEFORE_STEP
 *   for each sub-stage i: BEFORE_PRE_UPDATE, pre_update(mask_i), AFTER_PRE_UPDATE
 *   BEFORE_COMPUTE, one model evaluation for every live system, AFTER_COMPUTE
 *   for each sub-stage i: BEFORE_POST_UPDATE, post_update(mask_i), AFTER_POST_UPDATE
 *   AFTER_STEP
 *   convergence per system -> ON_CONVERGE(mask of converging systems), status += 1,
 *   and the next sub-stage's enter() for them (fresh per-system state).
 *
 * Details the loop guarantees:
 * - enter() runs once per system and sub-stage, right after the forces are
 *   valid: at the start of a step for systems new in the batch, at the end
 *   of a step for systems that just left the previous sub-stage. The
 *   per-system column "stage.entered" records which sub-stage (by a hash of
 *   its name) a system has entered, so that state survives compaction,
 *   hand-over and checkpoints.
 * - Convergence is also checked right after enter(), with 0 steps taken
 *   (ASE: an input already converged takes 0 steps; max_steps 0 leaves at
 *   once), so a system may pass several sub-stages before its first update.
 * - ON_CONVERGE fires, per sub-stage, for every system leaving it: converged,
 *   or out of budget (then "converged.N" is 0).
 * - Hook points of a sub-stage (…_PRE_UPDATE, …_POST_UPDATE) fire only when
 *   the sub-stage has systems this step. A loop step in which no system is
 *   live after entry stops after entry (no hook point fires after it).
 * - Systems a hook takes out (bmd_stage_fail) are dropped from every later
 *   mask of the step.
 *
 * Per system and sub-stage i named N, the stage keeps the columns
 * "steps.N" (updates taken in N; for an optimizer, ASE's nsteps) and
 * "converged.N" (1 converged, 0 left on budget).
 *
 * Constraints, applied by the stage around every dynamics alike (ASE's
 * FixAtoms and FixCom):
 * - Fixed atoms (batch.h's BMD_FIXED_COLUMN): the dynamics see zero force
 *   on them (in enter, pre_update, post_update and force_residual: ASE's
 *   adjust_forces, what its optimizers see from atoms.get_forces()); their
 *   velocities are zero from entry on; after every pre_update and
 *   post_update a fixed atom is put back where it was, carried affinely
 *   with the cell if the update changed the cell (ASE: a cell filter's
 *   set_cell(scale_atoms=True), then set_positions keeps fixed atoms where
 *   the scaling put them). Outside the dynamics' calls batch->force holds
 *   the model's forces on every atom: outputs carry what the model
 *   computed (as ASE writes its calculator's results); the fmax test and
 *   bmd_fmax count free atoms only.
 * - fix_com (bmd_stage_set_fix_com, MD sub-stages): the centre-of-mass
 *   momentum of the free atoms is removed at entry and after every update
 *   (ASE's FixCom, LAMMPS's fix momentum 1 linear 1 1 1); the sub-stage's
 *   rule becomes BMD_DOF_FIX_COM (N_f − 3).
 * A system without fixed atoms under a sub-stage without fix_com is not
 * touched: its bits are those of the dynamics alone. */
#ifndef BATCHMD_DYNAMICS_H
#define BATCHMD_DYNAMICS_H

#include <stdint.h>
#include "batch.h"
#include "model.h"
#include "status.h"
#include "units.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BMD_STATUS_FAILED (-1)

/* A dynamics that must end a system's sub-stage early (e.g. FIRE 2.0 after
 * too many uphill steps) sets row s of this per-system column (width 1) to 1:
 * the system then leaves the sub-stage unconverged at the step's convergence
 * check. The stage clears it on entry. */
#define BMD_STAGE_STOP_COLUMN "stage.stop"

/* What a dynamics needs to know about the step it is taking. */
typedef struct bmd_step_info {
    const bmd_units *units;
    uint64_t seed;        /* campaign seed: root of every random stream */
    int substage;         /* global index of this dynamics in its pipeline:
                           * its index in its stage plus the stage's index
                           * offset (bmd_stage_set_index_offset; 0 by
                           * default). RNG streams and per-sub-stage column
                           * names use it, so that "a + b" on one rank and
                           * "a | b" on two draw the same numbers. */
    const double *steps;  /* [n_systems] updates each system has taken in this
                           * sub-stage before the current one (the RNG's step
                           * counter: batch-independent) */
    bmd_dof_rule dof;     /* the degrees-of-freedom rule the sub-stage runs
                           * under: BMD_DOF_FIX_COM when the stage holds the
                           * centre-of-mass momentum at zero (fix_com), else
                           * its catalogue entry's. A thermostat counts N_f of
                           * system s as bmd_batch_dof(b, s, rule) with
                           * rule = bmd__dof_rule(si, its own rule). */
} bmd_step_info;

typedef struct bmd_dynamics_ops {
    const char *type; /* "fire", "nve", ... */
    /* Systems with enter[s] != 0 start this dynamics now: give them fresh
     * per-system state. Per-structure overrides of parameters come from
     * bmd_batch_param(b, s, "<param name>", stage value). Forces are valid. */
    bmd_status (*enter)(void *self, bmd_batch *b, const unsigned char *enter, const bmd_step_info *si);
    /* Everything before the force evaluation, for the masked systems. A
     * system that cannot go on (a parameter out of range, a cell that
     * collapsed) is taken out with bmd_stage_fail and the rest go on; an
     * error return (out of memory, no room for a column) stops the run. */
    bmd_status (*pre_update)(void *self, bmd_batch *b, const unsigned char *mask, const bmd_step_info *si);
    /* Everything after it (may be NULL); fails like pre_update. */
    bmd_status (*post_update)(void *self, bmd_batch *b, const unsigned char *mask, const bmd_step_info *si);
    void (*destroy)(void *self);
    /* Optimizers over more than the atoms' positions (a cell filter's cell
     * degrees of freedom) (may be NULL): fmax2[s], for the masked systems,
     * receives the largest squared row of the generalized forces the
     * optimizer sees (ASE's test on a filter's get_forces(): atoms' rows
     * and the cell's), for the stage's fmax test. NULL: the atoms' forces. */
    bmd_status (*force_residual)(void *self, bmd_batch *b, const unsigned char *mask, double *fmax2,
                                 const bmd_step_info *si);
    /* MD with a conserved quantity (may be NULL): extra[s], for the masked
     * systems, receives the energy (eV) the dynamics adds to K + U (its
     * thermostat's and barostat's energies, P V, the heat a rescaling
     * thermostat took out) so that K + U + extra is conserved up to the
     * integrator's error: 0 for NVE. NULL: none (Langevin, Berendsen, the
     * optimizers). */
    bmd_status (*extended_energy)(void *self, bmd_batch *b, const unsigned char *mask, double *extra,
                                  const bmd_step_info *si);
} bmd_dynamics_ops;

/* What a dynamics needs from the stage (bmd_dynamics.needs). */
enum {
    BMD_NEEDS_VIRIAL = 1u << 0, /* the stress at every evaluation (batch->stress) */
    BMD_MOVES_CELL = 1u << 1    /* its updates change cells: the stage re-checks
                                 * each moved cell against the model's range and
                                 * takes a degenerate or too thin one out */
};

typedef struct bmd_dynamics {
    const bmd_dynamics_ops *ops;
    void *self;
    unsigned needs; /* OR of BMD_NEEDS_VIRIAL, BMD_MOVES_CELL (set by its constructor) */
} bmd_dynamics;

/* Frees a dynamics made by a constructor; NULL is a no-op. */
void bmd_dynamics_destroy(bmd_dynamics *d);

/* ---- the catalogue: every dynamics type, its parameters and their units ----
 * Parameters are doubles (integers stored exactly). Unit strings are for
 * metal units; see units.h for lj. */
/* How a parameter is written in a campaign file (the value is always a double). */
typedef enum bmd_param_kind {
    BMD_PARAM_REAL = 0, /* a number */
    BMD_PARAM_WHOLE,    /* a whole number */
    BMD_PARAM_BOOL,     /* true or false (1 or 0) */
    BMD_PARAM_CHOICE,   /* one word of `choices` ("unit|exp|frechet"): its index */
    BMD_PARAM_MASK,     /* a list of words of `choices`, or one 0/1 per word:
                         * bit i set when word i is listed / is 1 */
    BMD_PARAM_ITEM      /* a number, one item of a list of numbers that a
                         * campaign writes under one key: the name is
                         * "<key>_<item>" and `choices` lists the items in
                         * order ("stress_xx" of stress: [xx, yy, zz, yz,
                         * xz, xy]); per structure each item keeps its own
                         * name (stress_xx=...) */
} bmd_param_kind;

typedef struct bmd_param_desc {
    const char *name;
    const char *unit; /* "fs", "K", "1/fs", "eV/Å", "bar", "" ... */
    double def;       /* default; NAN = required, unless optional */
    const char *doc;
    int optional;     /* 1: may be left out; def (NAN) then means "not set"
                       * (init_temperature: keep the velocities) */
    /* The values the dynamics accepts (outside them a campaign is refused at
     * the value's place, and a per-structure override takes the system out
     * as invalid_param_<name>): lo..hi, lo excluded when lo_open; `expected`
     * says it in words ("a time step > 0"); NULL: any finite number. */
    double lo, hi;
    int lo_open;
    const char *expected;
    bmd_param_kind kind;
    const char *choices; /* CHOICE and MASK: the words, '|'-separated */
    /* NULL: a key of the stage; "cell": a key of the stage's `cell:` mapping. */
    const char *group;
    int stage_only; /* 1: no per-structure override (it sizes the batch's columns) */
} bmd_param_desc;

typedef struct bmd_dynamics_type {
    const char *type;          /* "fire" */
    const char *doc;           /* one line */
    int is_optimizer;          /* 1: fmax/etol/max_steps; 0: MD with steps */
    /* How the temperature of the velocities it leaves counts degrees of
     * freedom (system.h): what it conserves. Langevin: BMD_DOF_ALL (its
     * noise moves the centre of mass); NVE and Nosé–Hoover: BMD_DOF_MOMENTUM
     * (total momentum conserved; Nosé–Hoover thermostats that count, its
     * g = 3N − 3). The optimizers never move the batch's velocities: a row
     * of theirs reports the velocities the system carries as ASE's
     * get_temperature() counts a structure's (BMD_DOF_ALL). The log, the
     * trajectory and init_temperature use it (BMD_DOF_FIX_COM instead under
     * the stage's fix_com; fixed atoms counted by bmd_dof_count). */
    bmd_dof_rule dof;
    const bmd_param_desc *params;
    int n_params;
    /* values[n_params] in the order of params (defaults filled by the caller). */
    bmd_status (*create)(const double *values, bmd_dynamics **out);
    const char *py_name; /* the Python package's class name ("FIRE", "NVTLangevin") */
} bmd_dynamics_type;

/* Whether x is outside what parameter p accepts: NULL when accepted, else
 * what is expected (p->expected, or "a finite number"). */
const char *bmd_param_out_of_range(const bmd_param_desc *p, double x);
/* The descriptor of parameter `name` of t, NULL when it has none. */
const bmd_param_desc *bmd_dynamics_param(const bmd_dynamics_type *t, const char *name);

/* Convenience: the dynamics `type` with its defaults, the n parameters named
 * in names[] set to values[] (an unknown name is BMD_ERR_INVALID). */
bmd_status bmd_dynamics_create(const char *type, const char *const *names, const double *values, int n,
                               bmd_dynamics **out);

/* The type named `type`, NULL when unknown. */
const bmd_dynamics_type *bmd_dynamics_find(const char *type);
/* All types (for listings and validation); *n receives the count. */
const bmd_dynamics_type *const *bmd_dynamics_types(int *n);

/* ---- convergence of one sub-stage ----
 * Criteria combine with AND. A system that reaches max_steps leaves the
 * sub-stage: converged if no criterion is set (an MD stage of N steps),
 * unconverged otherwise (an optimizer out of budget). Checked before the
 * first update too (ASE: a converged input takes 0 steps). Each may be
 * overridden per structure from the info line ("fmax", "etol", "max_steps";
 * for an MD dynamics also "steps", as the campaign calls it; "max_steps"
 * wins when both are given). */
typedef struct bmd_convergence {
    double fmax;    /* eV/Å: max_i |F_i| < fmax (ASE's test); <= 0: unused */
    double etol;    /* eV: |E - E_previous step| < etol; <= 0: unused */
    long max_steps; /* step budget (>= 0) */
} bmd_convergence;

/* ---- hooks ---- */
typedef enum bmd_hook_point {
    BMD_HOOK_BEFORE_STEP = 1u << 0,
    BMD_HOOK_BEFORE_PRE_UPDATE = 1u << 1,
    BMD_HOOK_AFTER_PRE_UPDATE = 1u << 2,
    BMD_HOOK_BEFORE_COMPUTE = 1u << 3,
    BMD_HOOK_AFTER_COMPUTE = 1u << 4,
    BMD_HOOK_BEFORE_POST_UPDATE = 1u << 5,
    BMD_HOOK_AFTER_POST_UPDATE = 1u << 6,
    BMD_HOOK_AFTER_STEP = 1u << 7,
    BMD_HOOK_ON_CONVERGE = 1u << 8
} bmd_hook_point;

typedef struct bmd_stage bmd_stage;

typedef struct bmd_hook_ctx {
    bmd_batch *batch;
    bmd_hook_point point;
    long step;                 /* the stage's loop step (1-based during a step) */
    int substage;              /* sub-stage concerned, -1 when all */
    const unsigned char *mask; /* [n_systems] systems concerned: the sub-stage's
                                * at update points, the converging ones at
                                * ON_CONVERGE, every live one otherwise */
    const bmd_stage *stage;
    const bmd_units *units;
} bmd_hook_ctx;

typedef struct bmd_hook_ops {
    const char *type;
    /* Called once when the stage starts running (may be NULL). */
    bmd_status (*open)(void *self, const bmd_stage *stage, bmd_batch *b);
    /* Called at each of the hook's points on loop steps that are multiples of
     * `every`, and at every ON_CONVERGE. A hook may quarantine a system with
     * bmd_stage_fail(). An error stops the run. */
    bmd_status (*call)(void *self, const bmd_hook_ctx *ctx);
    /* Called once when the run ends (flush files) (may be NULL). */
    bmd_status (*close)(void *self);
    void (*destroy)(void *self);
} bmd_hook_ops;

typedef struct bmd_hook {
    const bmd_hook_ops *ops;
    void *self;
    unsigned points; /* OR of bmd_hook_point */
    long every;      /* >= 1 */
} bmd_hook;

void bmd_hook_destroy(bmd_hook *h);

/* ---- the stage ---- */
bmd_status bmd_stage_create(const bmd_units *units, uint64_t seed, bmd_stage **out);
/* Destroys the stage, its dynamics and its hooks; NULL is a no-op. */
void bmd_stage_destroy(bmd_stage *st);
/* Appends sub-stage `name` (at most 32 characters; takes ownership of d,
 * also on failure). */
bmd_status bmd_stage_add(bmd_stage *st, const char *name, bmd_dynamics *d, const bmd_convergence *conv);
/* Adds a hook (takes ownership). */
bmd_status bmd_stage_add_hook(bmd_stage *st, bmd_hook *h);
/* Fuses b into a (the `+` of a pipeline): b's sub-stages are appended to
 * a's, in order (their status codes follow a's: a's k sub-stages keep
 * 0..k-1, b's j become k..k+j-1, and the exit code is k+j), b's hooks
 * follow a's, and a wants stress if either did. b is destroyed, also on
 * failure (a sub-stage name in both, other units or another seed: a is then
 * unchanged). Chain by repeated calls: fuse(a, b), fuse(a, c). Fuse before
 * running: hooks are opened when the stage runs. */
bmd_status bmd_stage_fuse(bmd_stage *a, bmd_stage *b);
/* The global index of sub-stage 0 in the campaign's pipeline order (the
 * number of stages before it, across '|'): sub-stage i is then known to
 * the dynamics as offset + i (bmd_step_info.substage: RNG streams, column
 * names), so a system draws the same noise whether its stages ran fused on
 * one rank or piped across ranks. Status codes, hook contexts and
 * bmd_stage_name stay local (0..k-1). Default 0; bmd_campaign_make_stage
 * sets it. bmd_stage_fuse keeps a's offset (b's sub-stages follow on). */
void bmd_stage_set_index_offset(bmd_stage *st, int offset);
int bmd_stage_index_offset(const bmd_stage *st);
/* Asks the model for the virial at every evaluation: batch->stress = W / V
 * (ASE's sign) and stress_valid for fully periodic systems with a volume. */
void bmd_stage_want_stress(bmd_stage *st, int want);

int bmd_stage_count(const bmd_stage *st);                  /* k */
const char *bmd_stage_name(const bmd_stage *st, int i);
const bmd_units *bmd_stage_units(const bmd_stage *st);
/* Column indices in b of "steps.<name>" and "converged.<name>" (created on demand). */
int bmd_stage_steps_column(const bmd_stage *st, bmd_batch *b, int i);
int bmd_stage_converged_column(const bmd_stage *st, bmd_batch *b, int i);

/* Takes system s out: status = BMD_STATUS_FAILED, info "status" = reason. */
bmd_status bmd_stage_fail(bmd_batch *b, int slot, const char *reason);

/* Calls every hook's open (once per run, before the first step). */
bmd_status bmd_stage_open(bmd_stage *st, bmd_batch *b);
/* Calls every hook's close (flush files); returns the first error. */
bmd_status bmd_stage_close(bmd_stage *st);

/* One step for every live system (0 <= status < k). Returns BMD_OK, or the
 * error of the model, of a dynamics' enter() or of a hook. */
bmd_status bmd_stage_step(bmd_stage *st, bmd_batch *b, bmd_model *m);
/* The degrees-of-freedom rule of sub-stage i's dynamics (its catalogue
 * entry's dof; BMD_DOF_FIX_COM when the stage holds its centre-of-mass
 * momentum at zero; BMD_DOF_ALL for a dynamics not in the catalogue, or for
 * i out of range). */
bmd_dof_rule bmd_stage_dof(const bmd_stage *st, int i);
/* Holds the centre-of-mass momentum of sub-stage i's systems at zero
 * (fix_com: dynamics.h's constraints; its rule becomes BMD_DOF_FIX_COM).
 * BMD_ERR_INVALID for an optimizer (its velocities are not the batch's) or
 * i out of range. */
bmd_status bmd_stage_set_fix_com(bmd_stage *st, int i, int on);
/* The conserved quantity of each masked system's sub-stage (eV): K + U +
 * its dynamics' extended_energy into out[s]; NAN where the dynamics has
 * none (or the system is not live). scratch: [n_systems] bytes of the
 * caller's (no allocation: hooks call it every few steps). */
bmd_status bmd_stage_conserved(const bmd_stage *st, bmd_batch *b, const unsigned char *mask, unsigned char *scratch,
                               double *out);
/* Loop steps taken so far (what hooks see as ctx->step). */
long bmd_stage_loop_step(const bmd_stage *st);
/* Sets the loop step count (a run resumed from a checkpoint continues it). */
void bmd_stage_set_loop_step(bmd_stage *st, long step);
/* A system arriving with an atom that has more than max_neighbors neighbors
 * within the model's cutoff (periodic images included) leaves as
 * "too_many_neighbors" before its first evaluation, so that one absurdly
 * dense structure (wrong units, a collapsed cell) cannot exhaust the
 * memory of the whole batch's neighbor lists. <= 0: no limit (the default). */
void bmd_stage_set_max_neighbors(bmd_stage *st, long max_neighbors);
/* Calls the hooks' open, then steps until every system has left (status k or
 * failed) or max_loop_steps loop steps were taken (<= 0: no limit), then the
 * hooks' close. */
bmd_status bmd_stage_run(bmd_stage *st, bmd_batch *b, bmd_model *m, long max_loop_steps);
/* Number of live systems (0 <= status < k). */
int bmd_stage_live(const bmd_stage *st, const bmd_batch *b);

/* ---- helpers the dynamics share ---- */
/* Maxwell–Boltzmann velocities at temperature T (K) for the masked systems,
 * keyed by (seed, system_id, stream); fixed atoms stay at rest; when `rule`
 * removes the total momentum from the count (BMD_DOF_MOMENTUM without fixed
 * atoms and N > 1, BMD_DOF_FIX_COM) the free atoms' total momentum is then
 * removed; last, they are rescaled so that the kinetic temperature counted
 * by `rule` (bmd_batch_dof) is exactly T. */
void bmd_velocities_maxwell_boltzmann(bmd_batch *b, const unsigned char *mask, const double *temperature,
                                      const bmd_units *u, uint64_t seed, uint32_t stream, bmd_dof_rule rule);
/* Kinetic energy (eV) of slot s. */
double bmd_kinetic_energy(const bmd_batch *b, int slot, const bmd_units *u);
/* N_f of slot s under rule, its fixed atoms counted (bmd_dof_count). */
int bmd_batch_dof(const bmd_batch *b, int slot, bmd_dof_rule rule);
/* Kinetic temperature 2K / (N_f k_B) (K) of slot s, N_f = bmd_batch_dof(b,
 * s, rule); 0 when N_f = 0. */
double bmd_temperature(const bmd_batch *b, int slot, const bmd_units *u, bmd_dof_rule rule);
/* max_i |F_i| over the free atoms of slot s (the constrained forces: ASE's
 * atoms.get_forces() with FixAtoms), eV/Å. */
double bmd_fmax(const bmd_batch *b, int slot);
/* Pressure of slot s in energy/volume (eV/Å³; divide by u->pressure for
 * bar), LAMMPS's thermo `press`: (2K − V tr σ) / 3V, the kinetic part from
 * every atom's velocity and σ the model's stress at the current positions;
 * NAN when the stress was not computed (stress_valid 0: a stage that needs
 * no virial, or a cell not periodic along a, b and c). */
double bmd_pressure(const bmd_batch *b, int slot, const bmd_units *u);

#ifdef __cplusplus
}
#endif

#endif
