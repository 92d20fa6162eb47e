/* fire2.c — FIRE 2.0, mass-free, one independent optimizer per system.
 *
 * Guénolé, Nöhring, Vaid, Houllé, Xie, Prakash, Bitzek, "Assessment and
 * optimization of the fast inertial relaxation engine (FIRE) for energy
 * minimization in atomistic simulations and its implementation in LAMMPS",
 * Comput. Mater. Sci. 175, 109584 (2020): Algorithm 2 (FIRE 2.0) with the
 * semi-implicit Euler integrator, in ASE's mass-free convention (as ASE's
 * FIRE, and ase/optimize/fire2.py of ASE >= 3.23) with ASE's cap on the step
 * length. F the forces, v FIRE's own velocity (the batch's velocities are
 * not touched), i the number of Euler updates done, sums over the system's
 * atoms in atom order:
 *
 *   first iteration: v = 0, straight to the Euler update (as ASE)
 *   P = F·v
 *   P > 0:  N₊ ← N₊ + 1, N₋ ← 0
 *           if N₊ > N_delay: dt ← min(dt·finc, dtmax), α ← α·fα
 *   P ≤ 0:  N₊ ← 0, N₋ ← N₋ + 1
 *           if N₋ > N₋max: stop (the system leaves the sub-stage unconverged)
 *           unless (initialdelay and i < N_delay):
 *               if dt·fdec ≥ dtmin: dt ← dt·fdec
 *               α ← α_start
 *           x ← x − ½ dt v,  v ← 0                (half step back)
 *   semi-implicit Euler with mixing, F at the current positions:
 *           v ← v + dt F
 *           v ← (1 − α) v + α |v| F/|F|            (skipped when F = 0)
 *           dr = dt v;  if |dr| > maxstep: dr ← maxstep dr/|dr|
 *           x ← x + dr
 *
 * The Euler update after a half step back needs the forces at the moved
 * positions (LAMMPS and ASE evaluate them within the same iteration). The
 * stage evaluates the model once per step, so the half step back is a step
 * of its own and the Euler update follows at the next step: the sequence of
 * positions and force evaluations is ASE's FIRE2 one, and the step count
 * also counts the half steps back (so does the convergence check).
 *
 * Defaults (the paper's Table 1, with ASE's dt0 = 0.1): dt 0.1, dtmax 1.0
 * (10 dt0), dtmin 0.002 (0.02 dt0), N_delay 20, N₋max 2000, finc 1.1, fdec 0.5,
 * α_start 0.25, fα 0.99, initialdelay 1, and maxstep 0.2 Å.
 *
 * Variable cell (`cell: {filter: unit|exp|frechet, ...}`, cell_filter.h): the
 * same steps on the filter's N + 3 rows (dim 3N + 9: the atoms', then the
 * cell's), as ASE's optimizers on a filter; maxstep bounds the whole
 * generalized step, and a system has converged when every row of the
 * filter's forces (the stress residual's too) is under fmax
 * (force_residual). Without a filter the arithmetic is the plain one.
 *
 * Columns (i = sub-stage index): "fire2.i.par" (the 11 parameters, then the
 * `cell:` block), "fire2.i.st" (dt, α, N₊, N₋, Euler update pending, Euler
 * updates done), "fire2.i.v" (per atom, 3); with a filter also
 * "fire2.i.vcell" (the cell rows' velocity, 9) and "fire2.i.cell" (the
 * filter's state: the cell at entry). */
#include "dynamics/cell_filter.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- catalogue entry (registry.c lists it) ---- */
enum { BMD__FIRE2_DT, BMD__FIRE2_MAXSTEP, BMD__FIRE2_DTMAX, BMD__FIRE2_DTMIN, BMD__FIRE2_NDELAY,
       BMD__FIRE2_NNEGMAX, BMD__FIRE2_FINC, BMD__FIRE2_FDEC, BMD__FIRE2_ASTART, BMD__FIRE2_FA,
       BMD__FIRE2_INITIALDELAY, BMD__FIRE2_CELL, BMD__FIRE2_NPAR = BMD__FIRE2_CELL + BMD__CELLP_N };

static const bmd_param_desc fire2_params[BMD__FIRE2_NPAR] = {
    [BMD__FIRE2_DT] = BMD__PARAM_DT("Å/√eV", 0.1, "initial time step (ASE's mass-free unit)"),
    [BMD__FIRE2_MAXSTEP] = BMD__PARAM_MAXSTEP("largest step length per system (whole-system norm)"),
    [BMD__FIRE2_DTMAX] = {.name = "dtmax", .unit = "Å/√eV", .def = 1.0, .doc = "largest time step (10 dt)"},
    [BMD__FIRE2_DTMIN] = {.name = "dtmin", .unit = "Å/√eV", .def = 0.002, .doc = "smallest time step (0.02 dt)"},
    [BMD__FIRE2_NDELAY] = {.name = "Ndelay", .unit = "", .def = 20, .doc = "N_delay: downhill steps before dt may grow"},
    [BMD__FIRE2_NNEGMAX] = {.name = "Nnegmax", .unit = "", .def = 2000,
                            .doc = "consecutive uphill steps that stop the relaxation"},
    [BMD__FIRE2_FINC] = {.name = "finc", .unit = "", .def = 1.1, .doc = "dt growth factor"},
    [BMD__FIRE2_FDEC] = {.name = "fdec", .unit = "", .def = 0.5, .doc = "dt shrink factor on an uphill step"},
    [BMD__FIRE2_ASTART] = {.name = "astart", .unit = "", .def = 0.25,
                           .doc = "mixing parameter at start and after an uphill step"},
    [BMD__FIRE2_FA] = {.name = "fa", .unit = "", .def = 0.99, .doc = "mixing decay factor"},
    [BMD__FIRE2_INITIALDELAY] = {.name = "initialdelay", .unit = "", .def = 1,
                                 .doc = "1: no dt/alpha change on uphill steps before N_delay steps"},
    BMD__CELL_PARAM_DESCS};

static bmd_status fire2_create(const double *values, bmd_dynamics **out);

const bmd_dynamics_type bmd__fire2_type = {
    .type = "fire2", .doc = "FIRE 2.0 optimizer (Guenole et al. 2020), mass-free", .is_optimizer = 1,
    .dof = BMD__OPT_DOF, BMD__PARAMS(fire2_params), .create = fire2_create, .py_name = "FIRE2"};


enum { ST_DT, ST_A, ST_NPOS, ST_NNEG, ST_PENDING, ST_ITERS, ST_WIDTH };

typedef struct fire2 {
    bmd__params par;
    int substage, filter; /* the stage's cell filter (BMD__CELL_*) */
    char n_par[BMD_COLUMN_NAME], n_st[BMD_COLUMN_NAME], n_v[BMD_COLUMN_NAME], n_vc[BMD_COLUMN_NAME],
        n_cell[BMD_COLUMN_NAME];
    int c_par, c_st, c_v, c_stop, c_vc, c_cell;
    double *work; /* with a filter: x, F, v of every system (3 dim each) */
    size_t work_cap;
    const char **why; /* [why_cap]: a system's reason to leave, set in the loop */
    signed char *stop; /* [why_cap]: a system's stop request, set in the loop */
    int why_cap;
} fire2;

static int columns(fire2 *f, bmd_batch *b, int substage) {
    if (f->substage != substage) {
        f->substage = substage;
        bmd__colname(f->n_par, "fire2", substage, "par");
        bmd__colname(f->n_st, "fire2", substage, "st");
        bmd__colname(f->n_v, "fire2", substage, "v");
        bmd__colname(f->n_vc, "fire2", substage, "vcell");
        bmd__colname(f->n_cell, "fire2", substage, "cell");
    }
    return bmd__column(b, &f->c_par, f->n_par, 0, BMD__FIRE2_NPAR) >= 0 &&
           bmd__column(b, &f->c_st, f->n_st, 0, ST_WIDTH) >= 0 && bmd__column(b, &f->c_v, f->n_v, 1, 3) >= 0 &&
           bmd__column(b, &f->c_stop, BMD_STAGE_STOP_COLUMN, 0, 1) >= 0 &&
           (f->filter == BMD__CELL_NONE || (bmd__column(b, &f->c_vc, f->n_vc, 0, 9) >= 0 &&
                                            bmd__column(b, &f->c_cell, f->n_cell, 0, BMD__CELLF_STATE_WIDTH) >= 0));
}

static bmd_status fire2_enter(void *self, bmd_batch *b, const unsigned char *enter, const bmd_step_info *si) {
    fire2 *f = self;
    if (!columns(f, b, si->substage)) return BMD_ERR_BUDGET;
    bmd__params_read(&f->par, b, enter, f->c_par);
    const double *par = bmd_batch_column_data(b, f->c_par);
    double *st = bmd_batch_column_data(b, f->c_st), *v = bmd_batch_column_data(b, f->c_v);
    for (int s = 0; s < b->n_systems; s++) {
        if (!enter[s] || b->status[s] < 0) continue;
        const double *p = par + (size_t)s * BMD__FIRE2_NPAR;
        if (!(p[BMD__FIRE2_DT] > 0) || !(p[BMD__FIRE2_MAXSTEP] > 0)) {
            bmd_stage_fail(b, s, p[BMD__FIRE2_DT] > 0 ? "invalid_param_maxstep" : "invalid_param_dt");
            continue;
        }
        double *t = st + (size_t)s * ST_WIDTH;
        t[ST_DT] = p[BMD__FIRE2_DT];
        t[ST_A] = p[BMD__FIRE2_ASTART];
        t[ST_NPOS] = 0;
        t[ST_NNEG] = 0;
        t[ST_PENDING] = 1; /* first iteration: v = 0, Euler update at once */
        t[ST_ITERS] = 0;
        memset(v + 3 * (size_t)b->atom_start[s], 0, 3 * (size_t)b->atom_count[s] * sizeof(double));
        if (f->filter == BMD__CELL_NONE) continue;
        memset(bmd_batch_column_data(b, f->c_vc) + 9 * (size_t)s, 0, 9 * sizeof(double));
        const char *why = bmd__cellf_enter(p + BMD__FIRE2_CELL, b, s,
                                           bmd_batch_column_data(b, f->c_cell) + BMD__CELLF_STATE_WIDTH * (size_t)s);
        if (why) bmd_stage_fail(b, s, why);
    }
    return BMD_OK;
}

/* One FIRE 2.0 step on n3 coordinates x with forces f and FIRE velocity v;
 * returns 1 when the system must stop. */
static int fire2_step(int n3, const double *f, double *x, double *v, const double *p, double *t) {
    double dt = t[ST_DT], a = t[ST_A];
    if (t[ST_PENDING] == 0) {
        double P = 0;
        for (int j = 0; j < n3; j++) P += f[j] * v[j];
        if (P > 0.0) {
            t[ST_NPOS] += 1;
            t[ST_NNEG] = 0;
            if (t[ST_NPOS] > p[BMD__FIRE2_NDELAY]) {
                t[ST_DT] = fmin(dt * p[BMD__FIRE2_FINC], p[BMD__FIRE2_DTMAX]);
                t[ST_A] = a * p[BMD__FIRE2_FA];
            }
        } else {
            t[ST_NPOS] = 0;
            t[ST_NNEG] += 1;
            if (t[ST_NNEG] > p[BMD__FIRE2_NNEGMAX]) return 1;
            if (!(p[BMD__FIRE2_INITIALDELAY] != 0 && t[ST_ITERS] < p[BMD__FIRE2_NDELAY])) {
                if (dt * p[BMD__FIRE2_FDEC] >= p[BMD__FIRE2_DTMIN]) t[ST_DT] = dt * p[BMD__FIRE2_FDEC];
                t[ST_A] = p[BMD__FIRE2_ASTART];
            }
            dt = t[ST_DT];
            for (int j = 0; j < n3; j++) {
                x[j] -= 0.5 * dt * v[j];
                v[j] = 0.0;
            }
            t[ST_PENDING] = 1; /* Euler update at the next step, with the forces here */
            return 0;
        }
        dt = t[ST_DT];
        a = t[ST_A];
    }
    t[ST_PENDING] = 0;
    t[ST_ITERS] += 1;
    double ff = 0, vv = 0;
    for (int j = 0; j < n3; j++) {
        v[j] += dt * f[j];
        ff += f[j] * f[j];
    }
    for (int j = 0; j < n3; j++) vv += v[j] * v[j];
    if (ff > 0) {
        const double sf = sqrt(ff), sv = sqrt(vv);
        for (int j = 0; j < n3; j++) v[j] = (1.0 - a) * v[j] + a * f[j] / sf * sv;
    }
    double dr2 = 0;
    for (int j = 0; j < n3; j++) {
        double dr = dt * v[j];
        dr2 += dr * dr;
    }
    const double normdr = sqrt(dr2), maxstep = p[BMD__FIRE2_MAXSTEP];
    if (normdr > maxstep)
        for (int j = 0; j < n3; j++) x[j] += maxstep * (dt * v[j]) / normdr;
    else
        for (int j = 0; j < n3; j++) x[j] += dt * v[j];
    return 0;
}

/* Scratch of 3 (3N + 9) doubles per system (x, F, v of the filter), at
 * 3 (3 atom_start + 9 s), and the per-system outcomes of a step. */
static bmd_status work_fit(fire2 *f, const bmd_batch *b) {
    size_t need = 3 * (3 * (size_t)b->n_atoms + 9 * (size_t)b->n_systems);
    if (need > f->work_cap) {
        double *w = realloc(f->work, need * sizeof(double));
        if (!w) return bmd__fail(BMD_ERR_NOMEM, "fire2: out of memory for the cell filter's coordinates");
        f->work = w;
        f->work_cap = need;
    }
    if (b->n_systems > f->why_cap) {
        const char **y = realloc(f->why, (size_t)b->n_systems * sizeof *y);
        if (y) f->why = y;
        signed char *z = y ? realloc(f->stop, (size_t)b->n_systems) : NULL;
        if (z) f->stop = z;
        if (!y || !z) return bmd__fail(BMD_ERR_NOMEM, "fire2: out of memory for the cell filter's coordinates");
        f->why_cap = b->n_systems;
    }
    return BMD_OK;
}

static double *work_of(const fire2 *f, const bmd_batch *b, int s) {
    return f->work + 3 * (3 * (size_t)b->atom_start[s] + 9 * (size_t)s);
}

/* FIRE2 on the filter's generalized coordinates of slot s; NULL or the
 * reason to take the system out; *stop as fire2_step's return. */
static const char *fire2_filtered(const fire2 *f, bmd_batch *b, int s, const bmd_units *u, const double *p,
                                  double *t, double *v, double *vc, const double *state, signed char *stop) {
    const int n3 = 3 * b->atom_count[s], dim = n3 + 9;
    double *x = work_of(f, b, s), *g = x + dim, *w = g + dim;
    const double *cp = p + BMD__FIRE2_CELL;
    *stop = 0;
    const char *why = bmd__cellf_get_forces(cp, state, b, s, u, g);
    if (!why) why = bmd__cellf_get_positions(cp, state, b, s, x);
    if (why) return why;
    memcpy(w, v, (size_t)n3 * sizeof(double));
    memcpy(w + n3, vc, 9 * sizeof(double));
    *stop = (signed char)fire2_step(dim, g, x, w, p, t);
    memcpy(v, w, (size_t)n3 * sizeof(double));
    memcpy(vc, w + n3, 9 * sizeof(double));
    if (!*stop) bmd__cellf_set_positions(cp, state, b, s, x);
    return NULL;
}

static bmd_status fire2_pre(void *self, bmd_batch *b, const unsigned char *mask, const bmd_step_info *si) {
    fire2 *f = self;
    if (!columns(f, b, si->substage)) return BMD_ERR_BUDGET;
    const double *par = bmd_batch_column_data(b, f->c_par);
    double *st = bmd_batch_column_data(b, f->c_st), *v = bmd_batch_column_data(b, f->c_v);
    double *stop = bmd_batch_column_data(b, f->c_stop);
    const int ns = b->n_systems;
    if (f->filter == BMD__CELL_NONE) {
        BMD__OMP_FOR_SYSTEMS(bmd__parallel(b))
        for (int s = 0; s < ns; s++)
            if (mask[s] && fire2_step(3 * b->atom_count[s], b->force + 3 * (size_t)b->atom_start[s],
                                      b->pos + 3 * (size_t)b->atom_start[s], v + 3 * (size_t)b->atom_start[s],
                                      par + (size_t)s * BMD__FIRE2_NPAR, st + (size_t)s * ST_WIDTH))
                stop[s] = 1;
        return BMD_OK;
    }
    bmd_status rc = work_fit(f, b);
    if (rc) return rc;
    double *vc = bmd_batch_column_data(b, f->c_vc);
    const double *cell = bmd_batch_column_data(b, f->c_cell);
    BMD__OMP_FOR_SYSTEMS(bmd__parallel(b))
    for (int s = 0; s < ns; s++) {
        f->stop[s] = 0;
        f->why[s] = !mask[s] ? NULL
                             : fire2_filtered(f, b, s, si->units, par + (size_t)s * BMD__FIRE2_NPAR,
                                              st + (size_t)s * ST_WIDTH, v + 3 * (size_t)b->atom_start[s],
                                              vc + 9 * (size_t)s, cell + BMD__CELLF_STATE_WIDTH * (size_t)s,
                                              &f->stop[s]);
    }
    for (int s = 0; s < ns; s++) { /* (after the loop: bmd_stage_fail is not for threads) */
        if (f->stop[s]) stop[s] = 1;
        if (f->why[s] && (rc = bmd_stage_fail(b, s, f->why[s]))) return rc;
    }
    return BMD_OK;
}

/* The largest squared row of the filter's forces (ASE's converged()). */
static bmd_status fire2_residual(void *self, bmd_batch *b, const unsigned char *mask, double *fmax2,
                                 const bmd_step_info *si) {
    fire2 *f = self;
    if (f->filter == BMD__CELL_NONE) return BMD_OK; /* (the stage's own: the atoms' forces) */
    if (!columns(f, b, si->substage)) return BMD_ERR_BUDGET;
    bmd_status rc = work_fit(f, b);
    if (rc) return rc;
    bmd__cellf_residuals(b, mask, bmd_batch_column_data(b, f->c_par), BMD__FIRE2_NPAR, BMD__FIRE2_CELL,
                         bmd_batch_column_data(b, f->c_cell), si->units, f->work, fmax2);
    return BMD_OK;
}

static void fire2_destroy(void *self) {
    fire2 *f = self;
    if (f) {
        free(f->work);
        free(f->why);
        free(f->stop);
    }
    free(f);
}

static const bmd_dynamics_ops fire2_ops = {.type = "fire2", .enter = fire2_enter, .pre_update = fire2_pre,
                                           .post_update = NULL, .destroy = fire2_destroy,
                                           .force_residual = fire2_residual};

static bmd_status fire2_create(const double *values, bmd_dynamics **out) {
    fire2 *f = calloc(1, sizeof *f);
    bmd_dynamics *d = calloc(1, sizeof *d);
    if (!f || !d) {
        free(f);
        free(d);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory creating fire2");
    }
    bmd__params_init(&f->par, "fire2", values);
    bmd_status rc = bmd__cellf_check(f->par.values + BMD__FIRE2_CELL, "fire2");
    if (rc) {
        free(f);
        free(d);
        return rc;
    }
    f->filter = bmd__cellf_kind(f->par.values + BMD__FIRE2_CELL);
    f->substage = -1;
    f->c_par = f->c_st = f->c_v = f->c_stop = f->c_vc = f->c_cell = -1;
    d->ops = &fire2_ops;
    d->self = f;
    if (f->filter != BMD__CELL_NONE) d->needs = BMD_NEEDS_VIRIAL | BMD_MOVES_CELL;
    *out = d;
    return BMD_OK;
}
