/* fire.c — the FIRE optimizer exactly as ASE 3.22's ase.optimize.FIRE
 * (mass-free), one independent optimizer per system.
 *
 * Bitzek, Koskinen, Gähler, Moseler, Gumbsch, "Structural relaxation made
 * simple", Phys. Rev. Lett. 97, 170201 (2006); as transcribed by ASE
 * (ase/optimize/fire.py), which is what this file reproduces operation by
 * operation. With F the forces (3N vector), v FIRE's own velocity (not the
 * batch's: ASE's FIRE never touches momenta), and sums over the system's
 * atoms in atom order:
 *
 *   first step:  v = 0                       (no mixing, no dt change)
 *   later steps: P = F·v
 *     P > 0:  v ← (1 − a) v + a F/|F| |v|
 *             if Nsteps > Nmin: dt ← min(dt·finc, dtmax), a ← a·fa
 *             Nsteps ← Nsteps + 1
 *     P ≤ 0:  v ← 0, a ← astart, dt ← dt·fdec, Nsteps ← 0
 *   then:    v ← v + dt F,  dr = dt v,
 *            if |dr| > maxstep: dr ← maxstep dr/|dr|   (whole-system norm)
 *            x ← x + dr
 *
 * Defaults (ASE's): dt 0.1, maxstep 0.2 Å, dtmax 1.0, Nmin 5, finc 1.1,
 * fdec 0.5, astart 0.1, fa 0.99, a 0.1 (the initial mixing). dt is in ASE's
 * mass-free unit (dt² F is a length). One pre_update is one call of ASE's
 * step() with the current forces; the stage's step counter is ASE's nsteps.
 *
 * Variable cell (`cell: {filter: unit|exp|frechet, ...}`, cell_filter.h):
 * ASE's FIRE on the filter, FIRE(UnitCellFilter(atoms)): x, F and v above
 * are then the filter's N + 3 rows (dim 3N + 9: the atoms', then the
 * cell's), maxstep bounds the norm of the whole generalized step, and a
 * system has converged when every row of the filter's forces (the stress
 * residual's rows too) is under fmax (force_residual; ASE's converged()).
 * Without a filter the arithmetic is the plain one, bit for bit.
 *
 * Columns (i = sub-stage index): "fire.i.par" (the 9 parameters, then the
 * `cell:` block), "fire.i.st" (dt, a, Nsteps, started), "fire.i.v" (per
 * atom, 3); with a filter also "fire.i.vcell" (the cell rows' velocity, 9)
 * and "fire.i.cell" (the filter's state: the cell at entry). */
#include "dynamics/cell_filter.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- catalogue entry (registry.c lists it) ---- */
enum { BMD__FIRE_DT, BMD__FIRE_MAXSTEP, BMD__FIRE_DTMAX, BMD__FIRE_NMIN, BMD__FIRE_FINC, BMD__FIRE_FDEC,
       BMD__FIRE_ASTART, BMD__FIRE_FA, BMD__FIRE_A, BMD__FIRE_CELL, BMD__FIRE_NPAR = BMD__FIRE_CELL + BMD__CELLP_N };

static const bmd_param_desc fire_params[BMD__FIRE_NPAR] = {
    [BMD__FIRE_DT] = BMD__PARAM_DT("Å/√eV", 0.1, "initial time step (ASE's mass-free unit)"),
    [BMD__FIRE_MAXSTEP] = BMD__PARAM_MAXSTEP("largest step length per system (whole-system norm)"),
    [BMD__FIRE_DTMAX] = {.name = "dtmax", .unit = "Å/√eV", .def = 1.0, .doc = "largest time step"},
    [BMD__FIRE_NMIN] = {.name = "Nmin", .unit = "", .def = 5, .doc = "downhill steps before dt may grow"},
    [BMD__FIRE_FINC] = {.name = "finc", .unit = "", .def = 1.1, .doc = "dt growth factor"},
    [BMD__FIRE_FDEC] = {.name = "fdec", .unit = "", .def = 0.5, .doc = "dt shrink factor on an uphill step"},
    [BMD__FIRE_ASTART] = {.name = "astart", .unit = "", .def = 0.1, .doc = "mixing parameter after an uphill step"},
    [BMD__FIRE_FA] = {.name = "fa", .unit = "", .def = 0.99, .doc = "mixing decay factor"},
    [BMD__FIRE_A] = {.name = "a", .unit = "", .def = 0.1, .doc = "initial mixing parameter"},
    BMD__CELL_PARAM_DESCS};

static bmd_status fire_create(const double *values, bmd_dynamics **out);

const bmd_dynamics_type bmd__fire_type = {
    .type = "fire", .doc = "FIRE optimizer, exactly ASE 3.22's ase.optimize.FIRE (Bitzek et al. 2006)",
    .is_optimizer = 1, .dof = BMD__OPT_DOF, BMD__PARAMS(fire_params), .create = fire_create, .py_name = "FIRE"};


enum { ST_DT, ST_A, ST_NSTEPS, ST_STARTED, ST_WIDTH };

typedef struct fire {
    bmd__params par;
    int substage, filter; /* the stage's cell filter (BMD__CELL_*) */
    char n_par[BMD_COLUMN_NAME], n_st[BMD_COLUMN_NAME], n_v[BMD_COLUMN_NAME], n_vc[BMD_COLUMN_NAME],
        n_cell[BMD_COLUMN_NAME];
    int c_par, c_st, c_v, c_vc, c_cell;
    double *work; /* with a filter: x, F, v of every system (3 dim each) */
    size_t work_cap;
    const char **why; /* [why_cap]: a system's reason to leave, set in the loop */
    int why_cap;
} fire;

static void names(fire *f, int substage) {
    if (f->substage == substage) return;
    f->substage = substage;
    bmd__colname(f->n_par, "fire", substage, "par");
    bmd__colname(f->n_st, "fire", substage, "st");
    bmd__colname(f->n_v, "fire", substage, "v");
    bmd__colname(f->n_vc, "fire", substage, "vcell");
    bmd__colname(f->n_cell, "fire", substage, "cell");
}

static int columns(fire *f, bmd_batch *b, int substage) {
    names(f, substage);
    return bmd__column(b, &f->c_par, f->n_par, 0, BMD__FIRE_NPAR) >= 0 &&
           bmd__column(b, &f->c_st, f->n_st, 0, ST_WIDTH) >= 0 && bmd__column(b, &f->c_v, f->n_v, 1, 3) >= 0 &&
           (f->filter == BMD__CELL_NONE || (bmd__column(b, &f->c_vc, f->n_vc, 0, 9) >= 0 &&
                                            bmd__column(b, &f->c_cell, f->n_cell, 0, BMD__CELLF_STATE_WIDTH) >= 0));
}

static bmd_status fire_enter(void *self, bmd_batch *b, const unsigned char *enter, const bmd_step_info *si) {
    fire *f = self;
    if (!columns(f, b, si->substage)) return BMD_ERR_BUDGET;
    bmd__params_read(&f->par, b, enter, f->c_par);
    const double *par = bmd_batch_column_data(b, f->c_par);
    double *st = bmd_batch_column_data(b, f->c_st), *v = bmd_batch_column_data(b, f->c_v);
    for (int s = 0; s < b->n_systems; s++) {
        if (!enter[s] || b->status[s] < 0) continue;
        const double *p = par + (size_t)s * BMD__FIRE_NPAR;
        if (!(p[BMD__FIRE_DT] > 0) || !(p[BMD__FIRE_MAXSTEP] > 0)) {
            bmd_stage_fail(b, s, p[BMD__FIRE_DT] > 0 ? "invalid_param_maxstep" : "invalid_param_dt");
            continue;
        }
        double *t = st + (size_t)s * ST_WIDTH;
        t[ST_DT] = p[BMD__FIRE_DT];
        t[ST_A] = p[BMD__FIRE_A];
        t[ST_NSTEPS] = 0;
        t[ST_STARTED] = 0;
        memset(v + 3 * (size_t)b->atom_start[s], 0, 3 * (size_t)b->atom_count[s] * sizeof(double));
        if (f->filter == BMD__CELL_NONE) continue;
        memset(bmd_batch_column_data(b, f->c_vc) + 9 * (size_t)s, 0, 9 * sizeof(double));
        const char *why = bmd__cellf_enter(p + BMD__FIRE_CELL, b, s,
                                           bmd_batch_column_data(b, f->c_cell) + BMD__CELLF_STATE_WIDTH * (size_t)s);
        if (why) bmd_stage_fail(b, s, why);
    }
    return BMD_OK;
}

/* ASE's FIRE.step() on n3 coordinates x with forces f and FIRE velocity v. */
static void fire_step(int n3, const double *f, double *x, double *v, const double *p, double *t) {
    double dt = t[ST_DT], a = t[ST_A];
    if (t[ST_STARTED] == 0) {
        for (int j = 0; j < n3; j++) v[j] = 0.0;
        t[ST_STARTED] = 1;
    } else {
        double vf = 0;
        for (int j = 0; j < n3; j++) vf += f[j] * v[j];
        if (vf > 0.0) {
            double ff = 0, vv = 0;
            for (int j = 0; j < n3; j++) ff += f[j] * f[j];
            for (int j = 0; j < n3; j++) vv += v[j] * v[j];
            const double sf = sqrt(ff), sv = sqrt(vv);
            for (int j = 0; j < n3; j++) v[j] = (1.0 - a) * v[j] + a * f[j] / sf * sv;
            if (t[ST_NSTEPS] > p[BMD__FIRE_NMIN]) {
                dt = fmin(dt * p[BMD__FIRE_FINC], p[BMD__FIRE_DTMAX]);
                a *= p[BMD__FIRE_FA];
            }
            t[ST_NSTEPS] += 1;
        } else {
            for (int j = 0; j < n3; j++) v[j] *= 0.0;
            a = p[BMD__FIRE_ASTART];
            dt *= p[BMD__FIRE_FDEC];
            t[ST_NSTEPS] = 0;
        }
    }
    for (int j = 0; j < n3; j++) v[j] += dt * f[j];
    double dr2 = 0;
    for (int j = 0; j < n3; j++) {
        double dr = dt * v[j];
        dr2 += dr * dr;
    }
    const double normdr = sqrt(dr2), maxstep = p[BMD__FIRE_MAXSTEP];
    if (normdr > maxstep)
        for (int j = 0; j < n3; j++) x[j] += maxstep * (dt * v[j]) / normdr;
    else
        for (int j = 0; j < n3; j++) x[j] += dt * v[j];
    t[ST_DT] = dt;
    t[ST_A] = a;
}

/* Scratch of 3 (3N + 9) doubles per system (x, F, v of the filter), at
 * 3 (3 atom_start + 9 s). */
static bmd_status work_fit(fire *f, const bmd_batch *b) {
    size_t need = 3 * (3 * (size_t)b->n_atoms + 9 * (size_t)b->n_systems);
    if (need <= f->work_cap && b->n_systems <= f->why_cap) return BMD_OK;
    double *w = realloc(f->work, need * sizeof(double));
    if (!w) return bmd__fail(BMD_ERR_NOMEM, "fire: out of memory for the cell filter's coordinates");
    f->work = w;
    f->work_cap = need;
    if (b->n_systems > f->why_cap) {
        const char **y = realloc(f->why, (size_t)b->n_systems * sizeof *y);
        if (!y) return bmd__fail(BMD_ERR_NOMEM, "fire: out of memory for the cell filter's coordinates");
        f->why = y;
        f->why_cap = b->n_systems;
    }
    return BMD_OK;
}

static double *work_of(const fire *f, const bmd_batch *b, int s) {
    return f->work + 3 * (3 * (size_t)b->atom_start[s] + 9 * (size_t)s);
}

/* FIRE on the filter's generalized coordinates of slot s (ASE's
 * FIRE(filter).step()); NULL or the reason to take the system out. */
static const char *fire_filtered(const fire *f, bmd_batch *b, int s, const bmd_units *u, const double *p,
                                 double *t, double *v, double *vc, const double *state) {
    const int n3 = 3 * b->atom_count[s], dim = n3 + 9;
    double *x = work_of(f, b, s), *g = x + dim, *w = g + dim;
    const double *cp = p + BMD__FIRE_CELL;
    const char *why = bmd__cellf_get_forces(cp, state, b, s, u, g);
    if (!why) why = bmd__cellf_get_positions(cp, state, b, s, x);
    if (why) return why;
    memcpy(w, v, (size_t)n3 * sizeof(double));
    memcpy(w + n3, vc, 9 * sizeof(double));
    fire_step(dim, g, x, w, p, t);
    memcpy(v, w, (size_t)n3 * sizeof(double));
    memcpy(vc, w + n3, 9 * sizeof(double));
    bmd__cellf_set_positions(cp, state, b, s, x);
    return NULL;
}

static bmd_status fire_pre(void *self, bmd_batch *b, const unsigned char *mask, const bmd_step_info *si) {
    fire *f = self;
    if (!columns(f, b, si->substage)) return BMD_ERR_BUDGET;
    const double *par = bmd_batch_column_data(b, f->c_par);
    double *st = bmd_batch_column_data(b, f->c_st), *v = bmd_batch_column_data(b, f->c_v);
    const int ns = b->n_systems;
    if (f->filter == BMD__CELL_NONE) {
        BMD__OMP_FOR_SYSTEMS(bmd__parallel(b))
        for (int s = 0; s < ns; s++)
            if (mask[s])
                fire_step(3 * b->atom_count[s], b->force + 3 * (size_t)b->atom_start[s],
                          b->pos + 3 * (size_t)b->atom_start[s], v + 3 * (size_t)b->atom_start[s],
                          par + (size_t)s * BMD__FIRE_NPAR, st + (size_t)s * ST_WIDTH);
        return BMD_OK;
    }
    bmd_status rc = work_fit(f, b);
    if (rc) return rc;
    double *vc = bmd_batch_column_data(b, f->c_vc);
    const double *cell = bmd_batch_column_data(b, f->c_cell);
    BMD__OMP_FOR_SYSTEMS(bmd__parallel(b))
    for (int s = 0; s < ns; s++)
        f->why[s] = !mask[s] ? NULL
                             : fire_filtered(f, b, s, si->units, par + (size_t)s * BMD__FIRE_NPAR,
                                             st + (size_t)s * ST_WIDTH, v + 3 * (size_t)b->atom_start[s],
                                             vc + 9 * (size_t)s, cell + BMD__CELLF_STATE_WIDTH * (size_t)s);
    for (int s = 0; s < ns; s++) /* (taken out after the loop: bmd_stage_fail is not for threads) */
        if (f->why[s] && (rc = bmd_stage_fail(b, s, f->why[s]))) return rc;
    return BMD_OK;
}

/* ASE's converged() on the filter: the largest squared row of its forces. */
static bmd_status fire_residual(void *self, bmd_batch *b, const unsigned char *mask, double *fmax2,
                                const bmd_step_info *si) {
    fire *f = self;
    if (f->filter == BMD__CELL_NONE) return BMD_OK; /* (the stage's own: the atoms' forces) */
    if (!columns(f, b, si->substage)) return BMD_ERR_BUDGET;
    bmd_status rc = work_fit(f, b);
    if (rc) return rc;
    bmd__cellf_residuals(b, mask, bmd_batch_column_data(b, f->c_par), BMD__FIRE_NPAR, BMD__FIRE_CELL,
                         bmd_batch_column_data(b, f->c_cell), si->units, f->work, fmax2);
    return BMD_OK;
}

static void fire_destroy(void *self) {
    fire *f = self;
    if (f) {
        free(f->work);
        free(f->why);
    }
    free(f);
}

static const bmd_dynamics_ops fire_ops = {.type = "fire", .enter = fire_enter, .pre_update = fire_pre,
                                          .post_update = NULL, .destroy = fire_destroy,
                                          .force_residual = fire_residual};

static bmd_status fire_create(const double *values, bmd_dynamics **out) {
    fire *f = calloc(1, sizeof *f);
    bmd_dynamics *d = calloc(1, sizeof *d);
    if (!f || !d) {
        free(f);
        free(d);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory creating fire");
    }
    bmd__params_init(&f->par, "fire", values);
    bmd_status rc = bmd__cellf_check(f->par.values + BMD__FIRE_CELL, "fire");
    if (rc) {
        free(f);
        free(d);
        return rc;
    }
    f->filter = bmd__cellf_kind(f->par.values + BMD__FIRE_CELL);
    f->substage = -1;
    f->c_par = f->c_st = f->c_v = f->c_vc = f->c_cell = -1;
    d->ops = &fire_ops;
    d->self = f;
    if (f->filter != BMD__CELL_NONE) d->needs = BMD_NEEDS_VIRIAL | BMD_MOVES_CELL;
    *out = d;
    return BMD_OK;
}
