/* langevin.c — canonical (NVT) Langevin dynamics, BAOAB splitting.
 *
 * Leimkuhler & Matthews, "Rational construction of stochastic numerical
 * methods for molecular sampling", Appl. Math. Res. Express 2013, 34 (2013).
 * Friction and noise act on each atom alone, so the total momentum is not
 * conserved: all 3N degrees of freedom are thermalised (BMD__LGV_DOF), the
 * log's temperature counts 3N, and init_temperature draws 3N components
 * (centre-of-mass motion kept), rescaled to exactly T over 3N.
 * For dv = a dt − γ v dt + sqrt(2γ kT/m) dW with a = ftm2v F/m:
 *
 *   B: v ← v + (dt/2) a          A: x ← x + (dt/2) v
 *   O: v ← c1 v + c2 ξ,  c1 = exp(−γ dt),  c2 = sqrt((1 − c1²) kT ftm2v / m)
 *   pre_update = B A O A,  (forces at the new positions),  post_update = B
 *
 * kT ftm2v / m is the velocity variance in (Å/fs)² (metal) for kT in eV and
 * m in amu. ξ are standard normals from the counter-based RNG keyed by
 * (seed, system_id, BMD_RNG_STREAM(sub-stage, BMD_RNG_LANGEVIN), step = the
 * system's own step count in the sub-stage, atom = index in the system), so a
 * system's noise does not depend on its batch. BAOAB samples configurations
 * of a harmonic system exactly and is second order in general.
 *
 * Parameters: dt (fs), temperature (K), friction γ (1/fs), init_temperature
 * (K). Column (i = sub-stage index): "langevin.i.par". */
#include "dynamics/dynamics_internal.h"

#include <math.h>
#include <stdlib.h>

/* ---- catalogue entry (registry.c lists it) ---- */
enum { BMD__LGV_DT, BMD__LGV_T, BMD__LGV_FRICTION, BMD__LGV_INIT_T, BMD__LGV_NPAR };

static const bmd_param_desc lgv_params[BMD__LGV_NPAR] = {
    [BMD__LGV_DT] = BMD__PARAM_DT("fs", NAN, "time step"),
    [BMD__LGV_T] = BMD__PARAM_TEMPERATURE(0, "a temperature >= 0 K"),
    [BMD__LGV_FRICTION] = {.name = "friction", .unit = "1/fs", .def = NAN, .doc = "friction coefficient gamma",
                           BMD__RANGE(0, INFINITY, 0, "a friction >= 0 1/fs")},
    [BMD__LGV_INIT_T] = BMD__PARAM_INIT_T,
};

static bmd_status lgv_create(const double *values, bmd_dynamics **out);

const bmd_dynamics_type bmd__nvt_langevin_type = {
    .type = "nvt_langevin", .doc = "Langevin thermostat, BAOAB (Leimkuhler & Matthews 2013)", .dof = BMD__LGV_DOF,
    BMD__PARAMS(lgv_params), .create = lgv_create, .py_name = "NVTLangevin"};


typedef struct langevin {
    bmd__params par;
    int substage;
    char n_par[BMD_COLUMN_NAME];
    int c_par;
} langevin;

static int columns(langevin *d, bmd_batch *b, int substage) {
    if (d->substage != substage) {
        d->substage = substage;
        bmd__colname(d->n_par, "langevin", substage, "par");
    }
    return bmd__column(b, &d->c_par, d->n_par, 0, BMD__LGV_NPAR) >= 0;
}

static bmd_status lgv_enter(void *self, bmd_batch *b, const unsigned char *enter, const bmd_step_info *si) {
    langevin *d = self;
    if (!columns(d, b, si->substage)) return BMD_ERR_BUDGET;
    bmd__params_read(&d->par, b, enter, d->c_par);
    const double *par = bmd_batch_column_data(b, d->c_par);
    for (int s = 0; s < b->n_systems; s++) {
        if (!enter[s] || b->status[s] < 0) continue;
        const double *p = par + (size_t)s * BMD__LGV_NPAR;
        if (!(p[BMD__LGV_DT] > 0)) bmd_stage_fail(b, s, "invalid_param_dt");
        else if (!(p[BMD__LGV_T] >= 0)) bmd_stage_fail(b, s, "invalid_param_temperature");
        else if (!(p[BMD__LGV_FRICTION] >= 0)) bmd_stage_fail(b, s, "invalid_param_friction");
    }
    return bmd__init_velocities(b, enter, par, BMD__LGV_NPAR, BMD__LGV_INIT_T, si, BMD__LGV_DOF);
}

static void baoa(bmd_batch *b, int s, const double *p, const bmd_step_info *si, uint32_t stream) {
    const int a0 = b->atom_start[s], n = b->atom_count[s];
    const double dt = p[BMD__LGV_DT], kT = si->units->boltzmann * p[BMD__LGV_T];
    const double ftm2v = si->units->ftm2v, h = 0.5 * dt * ftm2v, half = 0.5 * dt;
    const double c1 = exp(-p[BMD__LGV_FRICTION] * dt), var = -expm1(-2.0 * p[BMD__LGV_FRICTION] * dt) * kT * ftm2v;
    const uint64_t id = (uint64_t)b->system_id[s], step = (uint64_t)si->steps[s];
    double *x = b->pos + 3 * (size_t)a0, *v = b->vel + 3 * (size_t)a0;
    const double *f = b->force + 3 * (size_t)a0, *m = b->mass + a0;
    for (int i = 0; i < n; i++) {
        double xi[4];
        bmd_rng_normal4(si->seed, id, stream, step, (uint64_t)i, xi);
        const double c = h / m[i], c2 = sqrt(var / m[i]);
        for (int d = 0; d < 3; d++) {
            double vv = v[3 * i + d] + c * f[3 * i + d]; /* B */
            double xx = x[3 * i + d] + half * vv;        /* A */
            vv = c1 * vv + c2 * xi[d];                   /* O */
            x[3 * i + d] = xx + half * vv;               /* A */
            v[3 * i + d] = vv;
        }
    }
}

static bmd_status lgv_pre(void *self, bmd_batch *b, const unsigned char *mask, const bmd_step_info *si) {
    langevin *d = self;
    if (!columns(d, b, si->substage)) return BMD_ERR_BUDGET;
    const double *par = bmd_batch_column_data(b, d->c_par);
    const uint32_t stream = BMD_RNG_STREAM(si->substage, BMD_RNG_LANGEVIN);
    const int ns = b->n_systems;
    BMD__OMP_FOR_SYSTEMS(bmd__parallel(b))
    for (int s = 0; s < ns; s++)
        if (mask[s]) baoa(b, s, par + (size_t)s * BMD__LGV_NPAR, si, stream);
    return BMD_OK;
}

static bmd_status lgv_post(void *self, bmd_batch *b, const unsigned char *mask, const bmd_step_info *si) {
    langevin *d = self;
    if (!columns(d, b, si->substage)) return BMD_ERR_BUDGET;
    const double *par = bmd_batch_column_data(b, d->c_par);
    const double ftm2v = si->units->ftm2v;
    const int ns = b->n_systems;
    BMD__OMP_FOR_SYSTEMS(bmd__parallel(b))
    for (int s = 0; s < ns; s++)
        if (mask[s]) bmd__half_kick(b, s, par[(size_t)s * BMD__LGV_NPAR + BMD__LGV_DT], ftm2v);
    return BMD_OK;
}

static void lgv_destroy(void *self) { free(self); }

static const bmd_dynamics_ops lgv_ops = {.type = "nvt_langevin", .enter = lgv_enter, .pre_update = lgv_pre, .post_update = lgv_post, .destroy = lgv_destroy};

static bmd_status lgv_create(const double *values, bmd_dynamics **out) {
    langevin *l = calloc(1, sizeof *l);
    bmd_dynamics *d = calloc(1, sizeof *d);
    if (!l || !d) {
        free(l);
        free(d);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory creating nvt_langevin");
    }
    bmd__params_init(&l->par, "nvt_langevin", values);
    l->substage = -1;
    l->c_par = -1;
    d->ops = &lgv_ops;
    d->self = l;
    *out = d;
    return BMD_OK;
}
