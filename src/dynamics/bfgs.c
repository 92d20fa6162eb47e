/* bfgs.c — the BFGS optimizer exactly as ASE 3.22's ase.optimize.BFGS, one
 * independent optimizer per system, on the generalized coordinates of
 * cell_filter.h (the atoms' positions, and with a cell filter the cell's
 * three rows too).
 *
 * Broyden, Fletcher, Goldfarb, Shanno (1970), with a dense Hessian H and
 * the step along its eigenvectors, as ASE transcribes it
 * (ase/optimize/bfgs.py), which this file reproduces operation by
 * operation. With x, f the generalized positions and forces (dim = 3N or
 * 3N + 9, in rows of 3) and x0, f0 those of the previous step:
 *
 *   update:  first step:  H = alpha I (nothing else)
 *            later:  dx = x − x0;  if max_m |dx_m| < 1e−7: H unchanged
 *                    df = f − f0,  a = dx·df,  dg = H dx,  b = dx·dg
 *                    H ← H − (df dfᵀ / a + dg dgᵀ / b)
 *   H = V diag(ω) Vᵀ  (numpy.linalg.eigh: core/symeig.h)
 *   dr = V ((Vᵀ f) / |ω|)
 *   determine_step: L = the largest row length |dr_r| (per atom / cell row,
 *            not the whole vector); if L ≥ maxstep: dr ← dr · maxstep/L
 *   x ← x + dr;  x0 ← x (before the move), f0 ← f
 *
 * One pre_update is one call of ASE's step() with the current forces; the
 * stage's step counter is ASE's nsteps, and the fmax test is ASE's
 * converged() on the generalized forces (force_residual: the cell rows
 * count under a filter). Defaults (ASE's): maxstep 0.2 Å, alpha 70 eV/Å².
 *
 * Storage. H has dim² numbers: (3N + 9)² for a system of N atoms, a size
 * neither per atom nor per system, different for every system of a batch.
 * It lives in the ragged column "bfgs.i.H" (batch.h): one row per system,
 * allocated at the system's first step (ASE: H is None until then, so a
 * system converged on entry never pays for it) with dim² + 2 dim doubles,
 *     [ H (row-major, dim²) | x0 (dim) | f0 (dim) ],
 * moved by pointer on compaction, written row by row into checkpoints, and
 * freed at the first step its system is no longer in this sub-stage (it
 * left it, or was taken out) or when the system leaves the batch. Other
 * columns (i = sub-stage index): "bfgs.i.par" (the parameters, the `cell:`
 * block last), "bfgs.i.st" (1 once H exists), "bfgs.i.cell" (the filter's
 * state). */
#include "dynamics/cell_filter.h"

#include "core/symeig.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- catalogue entry (registry.c lists it) ---- */
enum { BMD__BFGS_MAXSTEP, BMD__BFGS_ALPHA, BMD__BFGS_CELL, BMD__BFGS_NPAR = BMD__BFGS_CELL + BMD__CELLP_N };

static const bmd_param_desc bfgs_params[BMD__BFGS_NPAR] = {
    [BMD__BFGS_MAXSTEP] = BMD__PARAM_MAXSTEP("largest step of any one atom (or cell row) per iteration"),
    [BMD__BFGS_ALPHA] = {.name = "alpha", .unit = "eV/Å²", .def = 70.0, .doc = "initial Hessian alpha I",
                         BMD__RANGE(0, INFINITY, 1, "a curvature > 0 eV/Å²")},
    BMD__CELL_PARAM_DESCS,
};

static bmd_status bfgs_create(const double *values, bmd_dynamics **out);

const bmd_dynamics_type bmd__bfgs_type = {
    .type = "bfgs", .doc = "BFGS optimizer with a dense Hessian, exactly ASE 3.22's ase.optimize.BFGS",
    .is_optimizer = 1, .dof = BMD__OPT_DOF, BMD__PARAMS(bfgs_params), .create = bfgs_create, .py_name = "BFGS"};

/* below this many floating-point operations per step (Σ dim³ over the
 * systems) one thread does the work */
#define PARALLEL_MIN_WORK 2e7

typedef struct bfgs {
    bmd__params par;
    int filter;
    int substage;
    char n_par[BMD_COLUMN_NAME], n_st[BMD_COLUMN_NAME], n_cell[BMD_COLUMN_NAME], n_h[BMD_COLUMN_NAME];
    int c_par, c_st, c_cell, c_h;
    double *ws; /* per-thread scratch */
    size_t ws_cap;
} bfgs;

static int columns(bfgs *g, bmd_batch *b, int substage) {
    if (g->substage != substage) {
        g->substage = substage;
        bmd__colname(g->n_par, "bfgs", substage, "par");
        bmd__colname(g->n_st, "bfgs", substage, "st");
        bmd__colname(g->n_cell, "bfgs", substage, "cell");
        bmd__colname(g->n_h, "bfgs", substage, "H");
    }
    if (bmd__column(b, &g->c_par, g->n_par, 0, BMD__BFGS_NPAR) < 0 || bmd__column(b, &g->c_st, g->n_st, 0, 1) < 0 ||
        bmd__column(b, &g->c_cell, g->n_cell, 0, BMD__CELLF_STATE_WIDTH) < 0)
        return 0;
    int c = g->c_h;
    if (!(c >= 0 && c < b->n_columns && b->columns[c].ragged && strcmp(b->columns[c].name, g->n_h) == 0) &&
        bmd_batch_ragged_column(b, g->n_h, &g->c_h))
        return 0;
    return 1;
}

static const double *cellpar_of(const bfgs *g, const bmd_batch *b, int s) {
    return bmd_batch_column_data(b, g->c_par) + (size_t)s * BMD__BFGS_NPAR + BMD__BFGS_CELL;
}

static double *cellstate_of(const bfgs *g, const bmd_batch *b, int s) {
    return bmd_batch_column_data(b, g->c_cell) + (size_t)s * BMD__CELLF_STATE_WIDTH;
}

static int dim_of(const bfgs *g, const bmd_batch *b, int s) {
    return bmd__cellf_dim(cellpar_of(g, b, s), b->atom_count[s]);
}

static double dot(int dim, const double *u, const double *v) {
    double s = 0;
    for (int k = 0; k < dim; k++) s += u[k] * v[k];
    return s;
}

/* ASE's BFGS.step() for system s; ws holds dim² + 6 dim doubles. Returns
 * NULL, or the reason to take the system out: the filter's (no stress, a
 * cell that turned over), before anything changed; "nan_or_inf" when H is
 * not finite (forces that were: the update divided by zero), which has no
 * eigenvectors (ASE's step would be NaN). */
static const char *bfgs_system(const bfgs *g, bmd_batch *b, int s, const bmd_units *u, double *ws) {
    const double *p = bmd_batch_column_data(b, g->c_par) + (size_t)s * BMD__BFGS_NPAR;
    const double *cellpar = cellpar_of(g, b, s);
    double *cellstate = cellstate_of(g, b, s), *started = bmd_batch_column_data(b, g->c_st) + s;
    const int dim = dim_of(g, b, s);
    const size_t D = (size_t)dim;
    double *H = bmd_batch_ragged_row(b, g->c_h, s, NULL), *x0 = H + D * D, *f0 = x0 + D;
    double *x = ws, *f = x + D, *d1 = f + D, *d2 = d1 + D, *w = d2 + D, *e = w + D, *vt = e + D;
    const char *why = bmd__cellf_get_forces(cellpar, cellstate, b, s, u, f);
    if (!why) why = bmd__cellf_get_positions(cellpar, cellstate, b, s, x);
    if (why) return why;

    /* update(r, f, r0, f0) */
    if (*started == 0) {
        memset(H, 0, D * D * sizeof(double));
        for (size_t i = 0; i < D; i++) H[i * D + i] = p[BMD__BFGS_ALPHA];
        *started = 1;
    } else {
        double big = 0;
        for (size_t m = 0; m < D; m++) {
            d1[m] = x[m] - x0[m];
            const double ad = fabs(d1[m]);
            if (ad > big || isnan(ad)) big = ad;
        }
        if (!(big < 1e-7)) { /* (the same configuration again: no update) */
            for (size_t m = 0; m < D; m++) d2[m] = f[m] - f0[m];
            const double a = dot(dim, d1, d2);
            for (size_t i = 0; i < D; i++) w[i] = dot(dim, H + i * D, d1); /* dg = H dx */
            const double bb = dot(dim, d1, w);
            for (size_t i = 0; i < D; i++)
                for (size_t j = 0; j < D; j++) H[i * D + j] -= d2[i] * d2[j] / a + w[i] * w[j] / bb;
        }
    }

    /* dr = V ((f V) / |ω|) */
    if (bmd__symeig(dim, H, w, vt, e)) return "nan_or_inf";
    for (size_t i = 0; i < D; i++) d1[i] = dot(dim, f, vt + i * D) / fabs(w[i]);
    for (size_t k = 0; k < D; k++) d2[k] = 0;
    for (size_t i = 0; i < D; i++) {
        const double *v = vt + i * D;
        for (size_t k = 0; k < D; k++) d2[k] += v[k] * d1[i];
    }
    /* determine_step: the longest row, atoms' and cell's alike */
    double longest = 0;
    for (int r = 0; r < dim / 3; r++) {
        const double *d = d2 + 3 * r;
        const double len = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
        if (len > longest || isnan(len)) longest = len;
        if (isnan(len)) break; /* numpy's max is NaN, and NaN ≥ maxstep is false */
    }
    const double maxstep = p[BMD__BFGS_MAXSTEP];
    if (longest >= maxstep) {
        const double scale = maxstep / longest;
        for (size_t m = 0; m < D; m++) d2[m] *= scale;
    }
    memcpy(x0, x, D * sizeof(double));
    memcpy(f0, f, D * sizeof(double));
    for (size_t m = 0; m < D; m++) d1[m] = x[m] + d2[m];
    bmd__cellf_set_positions(cellpar, cellstate, b, s, d1);
    return NULL;
}

static bmd_status bfgs_enter(void *self, bmd_batch *b, const unsigned char *enter, const bmd_step_info *si) {
    bfgs *g = self;
    if (!columns(g, b, si->substage)) return BMD_ERR_BUDGET;
    bmd__params_read(&g->par, b, enter, g->c_par);
    for (int s = 0; s < b->n_systems; s++) {
        if (!enter[s] || b->status[s] < 0) continue;
        bmd_batch_column_data(b, g->c_st)[s] = 0;
        bmd_status rc = bmd_batch_ragged_resize(b, g->c_h, s, 0);
        if (rc) return rc;
        const char *why = bmd__cellf_enter(cellpar_of(g, b, s), b, s, cellstate_of(g, b, s));
        if (why && (rc = bmd_stage_fail(b, s, why))) return rc;
    }
    return BMD_OK;
}

static int thread_index(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static bmd_status bfgs_pre(void *self, bmd_batch *b, const unsigned char *mask, const bmd_step_info *si) {
    bfgs *g = self;
    if (!columns(g, b, si->substage)) return BMD_ERR_BUDGET;
    const int ns = b->n_systems;
    const double *started = bmd_batch_column_data(b, g->c_st);
    int maxdim = 0;
    double work = 0;
    for (int s = 0; s < ns; s++) {
        size_t len;
        bmd_batch_ragged_row(b, g->c_h, s, &len);
        bmd_status rc = BMD_OK;
        if (!mask[s]) { /* no longer (or never) in this sub-stage: its H goes */
            if (len) rc = bmd_batch_ragged_resize(b, g->c_h, s, 0);
        } else {
            const size_t D = (size_t)dim_of(g, b, s), want = D * D + 2 * D;
            if (started[s] == 0) rc = bmd_batch_ragged_resize(b, g->c_h, s, want);
            else if (len != want)
                rc = bmd__fail(BMD_ERR_INVALID, "bfgs: system %lld lost its Hessian (%zu numbers, expected %zu)",
                               (long long)b->system_id[s], len, want);
            if ((int)D > maxdim) maxdim = (int)D;
            work += (double)D * (double)D * (double)D;
        }
        if (rc) return rc;
    }
    const int parallel = ns > 1 && (bmd__parallel(b) || work > PARALLEL_MIN_WORK);
    int nt = 1;
#ifdef _OPENMP
    if (parallel) nt = omp_get_max_threads();
#endif
    const size_t per = (size_t)maxdim * (size_t)maxdim + 6 * (size_t)maxdim;
    if (per * (size_t)nt > g->ws_cap) {
        double *w = realloc(g->ws, per * (size_t)nt * sizeof(double));
        if (!w) return bmd__fail(BMD_ERR_NOMEM, "out of memory for the bfgs workspace (%zu doubles)", per * nt);
        g->ws = w;
        g->ws_cap = per * (size_t)nt;
    }
    const char **why = calloc(ns > 0 ? (size_t)ns : 1, sizeof *why);
    if (!why) return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    BMD__OMP_FOR_SYSTEMS(parallel)
    for (int s = 0; s < ns; s++)
        if (mask[s]) why[s] = bfgs_system(g, b, s, si->units, g->ws + per * (size_t)thread_index());
    bmd_status rc = BMD_OK;
    for (int s = 0; s < ns && !rc; s++) /* (after the loop: bmd_stage_fail is not for threads) */
        if (why[s]) rc = bmd_stage_fail(b, s, why[s]);
    free(why);
    return rc;
}

static bmd_status bfgs_residual(void *self, bmd_batch *b, const unsigned char *mask, double *fmax2,
                                const bmd_step_info *si) {
    bfgs *g = self;
    if (g->filter == BMD__CELL_NONE) return BMD_OK;
    if (!columns(g, b, si->substage)) return BMD_ERR_BUDGET;
    int maxdim = 0;
    for (int s = 0; s < b->n_systems; s++)
        if (mask[s] && dim_of(g, b, s) > maxdim) maxdim = dim_of(g, b, s);
    if ((size_t)maxdim > g->ws_cap) {
        double *w = realloc(g->ws, (size_t)maxdim * sizeof(double));
        if (!w) return bmd__fail(BMD_ERR_NOMEM, "out of memory for the bfgs workspace (%d doubles)", maxdim);
        g->ws = w;
        g->ws_cap = (size_t)maxdim;
    }
    bmd__cellf_residuals(b, mask, bmd_batch_column_data(b, g->c_par), BMD__BFGS_NPAR, BMD__BFGS_CELL,
                         bmd_batch_column_data(b, g->c_cell), si->units, g->ws, fmax2);
    return BMD_OK;
}

static void bfgs_destroy(void *self) {
    bfgs *g = self;
    if (g) free(g->ws);
    free(g);
}

static const bmd_dynamics_ops bfgs_ops = {.type = "bfgs",
                                          .enter = bfgs_enter,
                                          .pre_update = bfgs_pre,
                                          .post_update = NULL,
                                          .destroy = bfgs_destroy,
                                          .force_residual = bfgs_residual};

static bmd_status bfgs_create(const double *values, bmd_dynamics **out) {
    bfgs *g = calloc(1, sizeof *g);
    bmd_dynamics *d = calloc(1, sizeof *d);
    if (!g || !d) {
        free(g);
        free(d);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory creating bfgs");
    }
    bmd__params_init(&g->par, "bfgs", values);
    bmd_status rc = bmd__cellf_check(g->par.values + BMD__BFGS_CELL, "bfgs");
    if (rc) {
        free(g);
        free(d);
        return rc;
    }
    g->filter = bmd__cellf_kind(g->par.values + BMD__BFGS_CELL);
    g->substage = -1;
    g->c_par = g->c_st = g->c_cell = g->c_h = -1;
    if (g->filter != BMD__CELL_NONE) d->needs = BMD_NEEDS_VIRIAL | BMD_MOVES_CELL;
    d->ops = &bfgs_ops;
    d->self = g;
    *out = d;
    return BMD_OK;
}
