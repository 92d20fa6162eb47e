/* lbfgs.c — the limited-memory BFGS optimizer exactly as ASE 3.22's
 * ase.optimize.LBFGS (without line search), one independent optimizer per
 * system, on the generalized coordinates of cell_filter.h (the atoms'
 * positions, and with a cell filter the cell's three rows too).
 *
 * Nocedal, "Updating quasi-Newton matrices with limited storage", Math.
 * Comp. 35, 773 (1980); Liu & Nocedal, Math. Prog. 45, 503 (1989): the
 * two-loop recursion, as ASE transcribes it (ase/optimize/lbfgs.py), which
 * this file reproduces operation by operation. With x, f the generalized
 * positions and forces (dim = 3N or 3N + 9, in rows of 3), k ASE's
 * `iteration` (steps taken), M = memory, H0 = 1/alpha:
 *
 *   update:  if k > 0:  s_k = x − x0,  y_k = f0 − f,  ρ_k = 1 / (y_k·s_k)
 *            (the last M pairs are kept: the oldest is dropped)
 *   q = −f
 *   for the kept pairs, newest first:  a_i = ρ_i s_i·q,  q ← q − a_i y_i
 *   z = H0 q
 *   for the kept pairs, oldest first:  b = ρ_i y_i·z,  z ← z + s_i (a_i − b)
 *   p = −z
 *   determine_step: L = the largest row length |p_r| (per atom / cell row,
 *            not the whole vector); if L ≥ maxstep: p ← p · maxstep/L
 *   x ← x + p · damping;  x0 ← x (before the move), f0 ← f;  k ← k + 1
 *
 * The first step (k = 0) is then x ← x + (f/alpha) scaled by the row rule.
 * One pre_update is one call of ASE's step() with the current forces; the
 * stage's step counter is ASE's nsteps, and the fmax test is ASE's
 * converged() on the generalized forces (force_residual: the cell rows
 * count under a filter).
 *
 * Defaults (ASE's): maxstep 0.2 Å (ASE refuses more than 1 Å), memory 100,
 * damping 1.0, alpha 70.0 eV/Å².
 *
 * Columns (i = sub-stage index; W = max(M, 1)): "lbfgs.i.par" (the
 * parameters, the `cell:` block last), "lbfgs.i.st" (k), "lbfgs.i.rho" (W
 * per system: ρ of history slot j), "lbfgs.i.s" and "lbfgs.i.y" (per atom,
 * 3W: the atom's row of s and y of slot j at 3j), "lbfgs.i.rf" (per atom,
 * 6: the atom's row of x0 and of f0), "lbfgs.i.cell" (the filter's state);
 * with a filter also "lbfgs.i.cs", "lbfgs.i.cy" (9W per system: the cell
 * rows of s and y) and "lbfgs.i.crf" (18: the cell rows of x0, f0). Pair
 * number m (1-based: the pair formed at iteration m) lives in slot
 * (m − 1) mod M, so that the newest M pairs are always the kept ones.
 * memory sizes the columns: it is stage_only. */
#include "dynamics/cell_filter.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- catalogue entry (registry.c lists it) ---- */
enum { BMD__LBFGS_MAXSTEP, BMD__LBFGS_MEMORY, BMD__LBFGS_DAMPING, BMD__LBFGS_ALPHA, BMD__LBFGS_CELL,
       BMD__LBFGS_NPAR = BMD__LBFGS_CELL + BMD__CELLP_N };

#define MEMORY_MAX 10000

static const bmd_param_desc lbfgs_params[BMD__LBFGS_NPAR] = {
    [BMD__LBFGS_MAXSTEP] = {.name = "maxstep", .unit = "Å", .def = 0.2,
                            .doc = "largest step of any one atom (or cell row) per iteration",
                            BMD__RANGE(0, 1, 1, "a length > 0 and at most 1 Å (ASE's LBFGS refuses more)")},
    [BMD__LBFGS_MEMORY] = {.name = "memory", .unit = "", .def = 100, .kind = BMD_PARAM_WHOLE, .stage_only = 1,
                           .doc = "number of steps kept to build the inverse Hessian",
                           BMD__RANGE(0, MEMORY_MAX, 0, "a whole number from 0 to 10000")},
    [BMD__LBFGS_DAMPING] = {.name = "damping", .unit = "", .def = 1.0, .doc = "factor on every step",
                            BMD__RANGE(0, INFINITY, 1, "a factor > 0")},
    [BMD__LBFGS_ALPHA] = {.name = "alpha", .unit = "eV/Å²", .def = 70.0,
                          .doc = "initial Hessian guess alpha I (its inverse, 1/alpha, is the one L-BFGS uses)",
                          BMD__RANGE(0, INFINITY, 1, "a curvature > 0 eV/Å²")},
    BMD__CELL_PARAM_DESCS,
};

static bmd_status lbfgs_create(const double *values, bmd_dynamics **out);

const bmd_dynamics_type bmd__lbfgs_type = {
    .type = "lbfgs", .doc = "L-BFGS optimizer, exactly ASE 3.22's ase.optimize.LBFGS (Nocedal 1980)",
    .is_optimizer = 1, .dof = BMD__OPT_DOF, BMD__PARAMS(lbfgs_params), .create = lbfgs_create, .py_name = "LBFGS"};

enum { C_PAR, C_ST, C_RHO, C_S, C_Y, C_RF, C_CELL, C_CS, C_CY, C_CRF, N_COL };
static const char *const col_what[N_COL] = {"par", "st", "rho", "s", "y", "rf", "cell", "cs", "cy", "crf"};

typedef struct lbfgs {
    bmd__params par;
    int memory, width, filter; /* M, W = max(M, 1), the `cell.filter` (stage-wide) */
    int substage;
    char name[N_COL][BMD_COLUMN_NAME];
    int col[N_COL];
    double *ws; /* per-thread scratch */
    size_t ws_cap;
    const char **why; /* [why_cap]: a system's reason to leave, set in the loop */
    int why_cap;
} lbfgs;

static int columns(lbfgs *l, bmd_batch *b, int substage) {
    if (l->substage != substage) {
        l->substage = substage;
        for (int c = 0; c < N_COL; c++) bmd__colname(l->name[c], "lbfgs", substage, col_what[c]);
    }
    const int W = l->width;
    /* {per_atom, width} of each column */
    const int shape[N_COL][2] = {{0, BMD__LBFGS_NPAR}, {0, 1}, {0, W},  {1, 3 * W}, {1, 3 * W},
                                 {1, 6}, {0, BMD__CELLF_STATE_WIDTH},   {0, 9 * W}, {0, 9 * W}, {0, 18}};
    const int n = l->filter != BMD__CELL_NONE ? N_COL : C_CS;
    for (int c = 0; c < n; c++)
        if (bmd__column(b, &l->col[c], l->name[c], shape[c][0], shape[c][1]) < 0) return 0;
    return 1;
}

/* A vector of dim numbers spread over the batch: the atoms' rows (3 numbers
 * each, `stride` apart from one atom to the next) then the cell's 9. */
typedef struct gvec {
    double *atoms, *cell;
    size_t stride;
} gvec;

/* Everything of system s the step needs. */
typedef struct sys_view {
    int n, dim;
    const double *cellpar;
    double *cellstate, *st, *rho;
    double *s_atoms, *y_atoms, *s_cell, *y_cell; /* slot 0 of s and y */
    gvec x0, f0;
} sys_view;

static sys_view view_of(const lbfgs *l, bmd_batch *b, int s) {
    const size_t a0 = (size_t)b->atom_start[s], W = (size_t)l->width;
    const int filt = l->filter != BMD__CELL_NONE;
    double *rf = bmd_batch_column_data(b, l->col[C_RF]) + 6 * a0;
    double *crf = filt ? bmd_batch_column_data(b, l->col[C_CRF]) + 18 * (size_t)s : NULL;
    sys_view v;
    v.n = b->atom_count[s];
    v.cellpar = bmd_batch_column_data(b, l->col[C_PAR]) + (size_t)s * BMD__LBFGS_NPAR + BMD__LBFGS_CELL;
    v.dim = bmd__cellf_dim(v.cellpar, v.n);
    v.cellstate = bmd_batch_column_data(b, l->col[C_CELL]) + (size_t)s * BMD__CELLF_STATE_WIDTH;
    v.st = bmd_batch_column_data(b, l->col[C_ST]) + s;
    v.rho = bmd_batch_column_data(b, l->col[C_RHO]) + (size_t)s * W;
    v.s_atoms = bmd_batch_column_data(b, l->col[C_S]) + 3 * W * a0;
    v.y_atoms = bmd_batch_column_data(b, l->col[C_Y]) + 3 * W * a0;
    v.s_cell = filt ? bmd_batch_column_data(b, l->col[C_CS]) + 9 * W * (size_t)s : NULL;
    v.y_cell = filt ? bmd_batch_column_data(b, l->col[C_CY]) + 9 * W * (size_t)s : NULL;
    v.x0 = (gvec){rf, crf, 6};
    v.f0 = (gvec){rf + 3, crf ? crf + 9 : NULL, 6};
    return v;
}

/* history slot j of s (or y) as a gvec */
static gvec slot_of(const lbfgs *l, double *atoms, double *cell, int j) {
    const size_t W = (size_t)l->width;
    return (gvec){atoms + 3 * (size_t)j, cell ? cell + 9 * (size_t)j : NULL, 3 * W};
}

static void gv_load(const gvec *g, int n, int dim, double *out) {
    for (int i = 0; i < n; i++)
        for (int c = 0; c < 3; c++) out[3 * i + c] = g->atoms[(size_t)i * g->stride + c];
    for (int k = 3 * n; k < dim; k++) out[k] = g->cell[k - 3 * n];
}

static void gv_store(const gvec *g, int n, int dim, const double *in) {
    for (int i = 0; i < n; i++)
        for (int c = 0; c < 3; c++) g->atoms[(size_t)i * g->stride + c] = in[3 * i + c];
    for (int k = 3 * n; k < dim; k++) g->cell[k - 3 * n] = in[k];
}

static double dot(int dim, const double *u, const double *v) {
    double s = 0;
    for (int k = 0; k < dim; k++) s += u[k] * v[k];
    return s;
}

/* ASE's LBFGS.step() for system s; ws holds 5 dim + M doubles. Returns NULL,
 * or the reason to take the system out (the filter's: no stress, a cell
 * that turned over), before anything moved. */
static const char *lbfgs_system(const lbfgs *l, bmd_batch *b, int s, const bmd_units *u, double *ws) {
    const double *p = bmd_batch_column_data(b, l->col[C_PAR]) + (size_t)s * BMD__LBFGS_NPAR;
    sys_view v = view_of(l, b, s);
    const int n = v.n, dim = v.dim, M = l->memory;
    double *x = ws, *f = x + dim, *q = f + dim, *ts = q + dim, *ty = ts + dim, *a = ty + dim;
    const char *why = bmd__cellf_get_forces(v.cellpar, v.cellstate, b, s, u, f);
    if (!why) why = bmd__cellf_get_positions(v.cellpar, v.cellstate, b, s, x);
    if (why) return why;
    const long k = (long)v.st[0];

    /* update(r, f, r0, f0): the newest pair goes to slot (k − 1) mod M */
    if (k > 0 && M > 0) {
        const int j = (int)((k - 1) % M);
        gv_load(&v.x0, n, dim, ts);
        gv_load(&v.f0, n, dim, ty);
        for (int m = 0; m < dim; m++) {
            ts[m] = x[m] - ts[m];
            ty[m] = ty[m] - f[m];
        }
        v.rho[j] = 1.0 / dot(dim, ty, ts);
        gvec sj = slot_of(l, v.s_atoms, v.s_cell, j), yj = slot_of(l, v.y_atoms, v.y_cell, j);
        gv_store(&sj, n, dim, ts);
        gv_store(&yj, n, dim, ty);
    }

    /* the two-loop recursion over the kept pairs: i = 0 is the oldest,
     * pair number k − loopmax + 1 + i */
    const int loopmax = (int)(k < M ? k : M);
    const double H0 = 1. / p[BMD__LBFGS_ALPHA];
    for (int m = 0; m < dim; m++) q[m] = -f[m];
    for (int i = loopmax - 1; i >= 0; i--) {
        const int j = (int)((k - loopmax + i) % M);
        gvec sj = slot_of(l, v.s_atoms, v.s_cell, j), yj = slot_of(l, v.y_atoms, v.y_cell, j);
        gv_load(&sj, n, dim, ts);
        gv_load(&yj, n, dim, ty);
        a[i] = v.rho[j] * dot(dim, ts, q);
        for (int m = 0; m < dim; m++) q[m] -= a[i] * ty[m];
    }
    double *z = q;
    for (int m = 0; m < dim; m++) z[m] = H0 * q[m];
    for (int i = 0; i < loopmax; i++) {
        const int j = (int)((k - loopmax + i) % M);
        gvec sj = slot_of(l, v.s_atoms, v.s_cell, j), yj = slot_of(l, v.y_atoms, v.y_cell, j);
        gv_load(&yj, n, dim, ty);
        gv_load(&sj, n, dim, ts);
        const double beta = v.rho[j] * dot(dim, ty, z);
        for (int m = 0; m < dim; m++) z[m] += ts[m] * (a[i] - beta);
    }
    double *dr = q;
    for (int m = 0; m < dim; m++) dr[m] = -z[m];

    /* determine_step: the longest row, atoms' and cell's alike */
    double longest = 0;
    for (int r = 0; r < dim / 3; r++) {
        const double *d = dr + 3 * r;
        const double len = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
        if (len > longest || isnan(len)) longest = len;
        if (isnan(len)) break; /* numpy's max is NaN, and NaN ≥ maxstep is false */
    }
    const double maxstep = p[BMD__LBFGS_MAXSTEP], damping = p[BMD__LBFGS_DAMPING];
    if (longest >= maxstep)
        for (int m = 0; m < dim; m++) dr[m] *= maxstep / longest;
    /* x0 ← x, f0 ← f before the move (ts: the new positions) */
    gv_store(&v.x0, n, dim, x);
    gv_store(&v.f0, n, dim, f);
    for (int m = 0; m < dim; m++) ts[m] = x[m] + dr[m] * damping;
    bmd__cellf_set_positions(v.cellpar, v.cellstate, b, s, ts);
    v.st[0] = (double)(k + 1);
    return NULL;
}

static bmd_status lbfgs_enter(void *self, bmd_batch *b, const unsigned char *enter, const bmd_step_info *si) {
    lbfgs *l = self;
    if (!columns(l, b, si->substage)) return BMD_ERR_BUDGET;
    bmd__params_read(&l->par, b, enter, l->col[C_PAR]);
    for (int s = 0; s < b->n_systems; s++) {
        if (!enter[s] || b->status[s] < 0) continue;
        sys_view v = view_of(l, b, s);
        v.st[0] = 0;
        const char *why = bmd__cellf_enter(v.cellpar, b, s, v.cellstate);
        bmd_status rc = why ? bmd_stage_fail(b, s, why) : BMD_OK;
        if (rc) return rc;
    }
    return BMD_OK;
}

/* scratch for every thread: per_thread doubles each */
static double *scratch(lbfgs *l, size_t per_thread, int *threads) {
    int nt = 1;
#ifdef _OPENMP
    nt = omp_get_max_threads();
#endif
    size_t need = per_thread * (size_t)nt;
    if (need > l->ws_cap) {
        double *w = realloc(l->ws, need * sizeof(double));
        if (!w) return NULL;
        l->ws = w;
        l->ws_cap = need;
    }
    *threads = nt;
    return l->ws;
}

static int thread_index(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static bmd_status lbfgs_pre(void *self, bmd_batch *b, const unsigned char *mask, const bmd_step_info *si) {
    lbfgs *l = self;
    if (!columns(l, b, si->substage)) return BMD_ERR_BUDGET;
    const int ns = b->n_systems, extra = l->filter != BMD__CELL_NONE ? 9 : 0;
    int maxdim = 0, nt;
    for (int s = 0; s < ns; s++)
        if (mask[s] && 3 * b->atom_count[s] + extra > maxdim) maxdim = 3 * b->atom_count[s] + extra;
    const size_t per = 5 * (size_t)maxdim + (size_t)l->memory;
    double *ws = scratch(l, per, &nt);
    if (!ws) return bmd__fail(BMD_ERR_NOMEM, "out of memory for the lbfgs workspace (%zu doubles)", per);
    if (ns > l->why_cap) {
        const char **y = realloc(l->why, (size_t)ns * sizeof *y);
        if (!y) return bmd__fail(BMD_ERR_NOMEM, "out of memory for lbfgs");
        l->why = y;
        l->why_cap = ns;
    }
    BMD__OMP_FOR_SYSTEMS(bmd__parallel(b))
    for (int s = 0; s < ns; s++)
        l->why[s] = mask[s] ? lbfgs_system(l, b, s, si->units, ws + per * (size_t)thread_index()) : NULL;
    bmd_status rc = BMD_OK;
    for (int s = 0; s < ns && !rc; s++) /* (after the loop: bmd_stage_fail is not for threads) */
        if (l->why[s]) rc = bmd_stage_fail(b, s, l->why[s]);
    return rc;
}

/* ASE's converged() on the filter's forces: the largest squared row, cell
 * rows included (without a filter the stage's own test is the same). */
static bmd_status lbfgs_residual(void *self, bmd_batch *b, const unsigned char *mask, double *fmax2,
                                 const bmd_step_info *si) {
    lbfgs *l = self;
    if (l->filter == BMD__CELL_NONE) return BMD_OK;
    if (!columns(l, b, si->substage)) return BMD_ERR_BUDGET;
    int maxdim = 0, nt;
    for (int s = 0; s < b->n_systems; s++)
        if (mask[s] && 3 * b->atom_count[s] + 9 > maxdim) maxdim = 3 * b->atom_count[s] + 9;
    double *f = scratch(l, (size_t)maxdim, &nt);
    if (!f) return bmd__fail(BMD_ERR_NOMEM, "out of memory for the lbfgs workspace (%d doubles)", maxdim);
    bmd__cellf_residuals(b, mask, bmd_batch_column_data(b, l->col[C_PAR]), BMD__LBFGS_NPAR, BMD__LBFGS_CELL,
                         bmd_batch_column_data(b, l->col[C_CELL]), si->units, f, fmax2);
    return BMD_OK;
}

static void lbfgs_destroy(void *self) {
    lbfgs *l = self;
    if (l) {
        free(l->ws);
        free(l->why);
    }
    free(l);
}

static const bmd_dynamics_ops lbfgs_ops = {.type = "lbfgs",
                                           .enter = lbfgs_enter,
                                           .pre_update = lbfgs_pre,
                                           .post_update = NULL,
                                           .destroy = lbfgs_destroy,
                                           .force_residual = lbfgs_residual};

static bmd_status lbfgs_create(const double *values, bmd_dynamics **out) {
    lbfgs *l = calloc(1, sizeof *l);
    bmd_dynamics *d = calloc(1, sizeof *d);
    if (!l || !d) {
        free(l);
        free(d);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory creating lbfgs");
    }
    bmd__params_init(&l->par, "lbfgs", values);
    const double M = l->par.values[BMD__LBFGS_MEMORY];
    if (!(M >= 0 && M <= MEMORY_MAX && M == floor(M))) {
        free(l);
        free(d);
        return bmd__fail(BMD_ERR_INVALID, "lbfgs: memory %g: expected a whole number from 0 to %d", M, MEMORY_MAX);
    }
    bmd_status rc = bmd__cellf_check(l->par.values + BMD__LBFGS_CELL, "lbfgs");
    if (rc) {
        free(l);
        free(d);
        return rc;
    }
    l->memory = (int)M;
    l->width = l->memory > 0 ? l->memory : 1;
    l->filter = bmd__cellf_kind(l->par.values + BMD__LBFGS_CELL);
    l->substage = -1;
    for (int c = 0; c < N_COL; c++) l->col[c] = -1;
    if (l->filter != BMD__CELL_NONE) d->needs = BMD_NEEDS_VIRIAL | BMD_MOVES_CELL;
    d->ops = &lbfgs_ops;
    d->self = l;
    *out = d;
    return BMD_OK;
}
