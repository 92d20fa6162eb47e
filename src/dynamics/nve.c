/* nve.c — microcanonical molecular dynamics with velocity Verlet
 * (kick–drift–kick form).
 *
 * Swope, Andersen, Berens, Wilson, J. Chem. Phys. 76, 637 (1982); the
 * Størmer–Verlet scheme of Verlet, Phys. Rev. 159, 98 (1967). With
 * a = ftm2v F/m (units.h; Å/fs² in metal units) and dt in fs (τ in lj):
 *
 *   pre_update:   v ← v + (dt/2) a(x),   x ← x + dt v
 *   (forces at the new positions)
 *   post_update:  v ← v + (dt/2) a(x)
 *
 * Second order, symplectic and time-reversible: the energy error stays
 * bounded, O(dt²), without drift. Forces that sum to zero keep the total
 * momentum: its temperature counts 3N − 3 (BMD__NVE_DOF), and
 * init_temperature's velocities have zero momentum. Parameters: dt (fs) and
 * init_temperature (K; Maxwell–Boltzmann velocities on entry when finite
 * and >= 0).
 * Column (i = sub-stage index): "nve.i.par" (dt, init_temperature). */
#include "dynamics/dynamics_internal.h"

#include <stdlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- catalogue entry (registry.c lists it) ---- */
enum { BMD__NVE_DT, BMD__NVE_INIT_T, BMD__NVE_NPAR };

static const bmd_param_desc nve_params[BMD__NVE_NPAR] = {
    [BMD__NVE_DT] = BMD__PARAM_DT("fs", NAN, "time step"),
    [BMD__NVE_INIT_T] = BMD__PARAM_INIT_T,
};

static bmd_status nve_create(const double *values, bmd_dynamics **out);

const bmd_dynamics_type bmd__nve_type = {
    .type = "nve", .doc = "velocity Verlet, constant energy", .dof = BMD__NVE_DOF, BMD__PARAMS(nve_params),
    .create = nve_create, .py_name = "NVE"};


/* Systems of at least this many atoms are updated by all threads together
 * (atoms split statically); the others one system per thread. Every update
 * is per atom, so the bits do not depend on the split. An update costs ~1 ns
 * per atom, so a fork/join (microseconds idle, a scheduler slice on a loaded
 * machine) pays off only for very big systems. */
#define NVE_ATOM_SPLIT 131072

/* v += (dt/2) ftm2v f/m on every atom of system s, then (drift) x += dt v: the
 * operations of bmd__half_kick and the drift loop, atom by atom */
static void kick_split(bmd_batch *b, int s, double dt, double ftm2v, int drift) {
    const int a0 = b->atom_start[s], n = b->atom_count[s];
    const double h = 0.5 * dt * ftm2v;
    double *v = b->vel + 3 * (size_t)a0, *x = b->pos + 3 * (size_t)a0;
    const double *f = b->force + 3 * (size_t)a0, *m = b->mass + a0;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (!omp_in_parallel())
#endif
    for (int i = 0; i < n; i++) {
        const double c = h / m[i];
        v[3 * i] += c * f[3 * i];
        v[3 * i + 1] += c * f[3 * i + 1];
        v[3 * i + 2] += c * f[3 * i + 2];
        if (drift) {
            x[3 * i] += dt * v[3 * i];
            x[3 * i + 1] += dt * v[3 * i + 1];
            x[3 * i + 2] += dt * v[3 * i + 2];
        }
    }
}

typedef struct nve {
    bmd__params par;
    int substage;
    char n_par[BMD_COLUMN_NAME];
    int c_par;
} nve;

static int columns(nve *d, bmd_batch *b, int substage) {
    if (d->substage != substage) {
        d->substage = substage;
        bmd__colname(d->n_par, "nve", substage, "par");
    }
    return bmd__column(b, &d->c_par, d->n_par, 0, BMD__NVE_NPAR) >= 0;
}

static bmd_status nve_enter(void *self, bmd_batch *b, const unsigned char *enter, const bmd_step_info *si) {
    nve *d = self;
    if (!columns(d, b, si->substage)) return BMD_ERR_BUDGET;
    bmd__params_read(&d->par, b, enter, d->c_par);
    const double *par = bmd_batch_column_data(b, d->c_par);
    for (int s = 0; s < b->n_systems; s++)
        if (enter[s] && b->status[s] >= 0 && !(par[(size_t)s * BMD__NVE_NPAR + BMD__NVE_DT] > 0))
            bmd_stage_fail(b, s, "invalid_param_dt");
    return bmd__init_velocities(b, enter, par, BMD__NVE_NPAR, BMD__NVE_INIT_T, si, BMD__NVE_DOF);
}

static bmd_status nve_pre(void *self, bmd_batch *b, const unsigned char *mask, const bmd_step_info *si) {
    nve *d = self;
    if (!columns(d, b, si->substage)) return BMD_ERR_BUDGET;
    const double *par = bmd_batch_column_data(b, d->c_par);
    const double ftm2v = si->units->ftm2v;
    const int ns = b->n_systems;
    BMD__OMP_FOR_SYSTEMS(bmd__parallel(b))
    for (int s = 0; s < ns; s++) {
        if (!mask[s] || b->atom_count[s] >= NVE_ATOM_SPLIT) continue;
        const double dt = par[(size_t)s * BMD__NVE_NPAR + BMD__NVE_DT];
        bmd__kick_drift(b, s, dt, ftm2v);
    }
    for (int s = 0; s < ns; s++)
        if (mask[s] && b->atom_count[s] >= NVE_ATOM_SPLIT)
            kick_split(b, s, par[(size_t)s * BMD__NVE_NPAR + BMD__NVE_DT], ftm2v, 1);
    return BMD_OK;
}

static bmd_status nve_post(void *self, bmd_batch *b, const unsigned char *mask, const bmd_step_info *si) {
    nve *d = self;
    if (!columns(d, b, si->substage)) return BMD_ERR_BUDGET;
    const double *par = bmd_batch_column_data(b, d->c_par);
    const double ftm2v = si->units->ftm2v;
    const int ns = b->n_systems;
    BMD__OMP_FOR_SYSTEMS(bmd__parallel(b))
    for (int s = 0; s < ns; s++)
        if (mask[s] && b->atom_count[s] < NVE_ATOM_SPLIT)
            bmd__half_kick(b, s, par[(size_t)s * BMD__NVE_NPAR + BMD__NVE_DT], ftm2v);
    for (int s = 0; s < ns; s++)
        if (mask[s] && b->atom_count[s] >= NVE_ATOM_SPLIT)
            kick_split(b, s, par[(size_t)s * BMD__NVE_NPAR + BMD__NVE_DT], ftm2v, 0);
    return BMD_OK;
}

static void nve_destroy(void *self) { free(self); }

/* NVE conserves K + U itself. */
static bmd_status nve_extended(void *self, bmd_batch *b, const unsigned char *mask, double *extra,
                               const bmd_step_info *si) {
    (void)self, (void)si;
    for (int s = 0; s < b->n_systems; s++)
        if (mask[s]) extra[s] = 0.0;
    return BMD_OK;
}

static const bmd_dynamics_ops nve_ops = {.type = "nve", .enter = nve_enter, .pre_update = nve_pre,
                                         .post_update = nve_post, .destroy = nve_destroy,
                                         .extended_energy = nve_extended};

static bmd_status nve_create(const double *values, bmd_dynamics **out) {
    nve *n = calloc(1, sizeof *n);
    bmd_dynamics *d = calloc(1, sizeof *d);
    if (!n || !d) {
        free(n);
        free(d);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory creating nve");
    }
    bmd__params_init(&n->par, "nve", values);
    n->substage = -1;
    n->c_par = -1;
    d->ops = &nve_ops;
    d->self = n;
    *out = d;
    return BMD_OK;
}
