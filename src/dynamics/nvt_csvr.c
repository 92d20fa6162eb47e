/* nvt_csvr.c — canonical (NVT) molecular dynamics with the stochastic
 * velocity rescaling thermostat of Bussi, Donadio and Parrinello,
 * J. Chem. Phys. 126, 014101 (2007) (svr.h), as LAMMPS's
 * `fix nve` + `fix temp/csvr T T tdamp seed`:
 *
 *   pre_update:  v ← v + (dt/2) a;  x ← x + dt v
 *   (forces at the new positions)
 *   post_update: v ← v + (dt/2) a;  then CSVR over the whole dt:
 *                K' drawn from K (svr.h), every v ← v sqrt(K'/K)
 *
 * The thermostat acts once per step, after the second half kick (LAMMPS's
 * end_of_step), rather than as GROMACS's v-rescale does on leap-frog's
 * half-step velocities: here the velocities the log, the trajectory and
 * the conserved energy see are the full-step ones, at the same time as
 * the positions and the potential energy. (Bussi's own SimpleMD applies
 * CSVR(dt/2) before and after the velocity Verlet step; two CSVR(dt/2) in a
 * row have the law of one CSVR(dt), the exact propagator being Markov, so
 * this is the same dynamics seen at another point of the step, with one
 * chi-squared draw per step instead of two.)
 *
 * Degrees of freedom: every velocity is scaled by one factor, so the total
 * momentum is conserved (zero stays zero) and the thermostat acts on
 * N_f = 3N − 3 (3 for one atom): BMD_DOF_MOMENTUM, as nvt_nose_hoover and
 * LAMMPS's compute temp; as the stage counts it (bmd_batch_dof): 3 N_free
 * with fixed atoms, 3 N_free − 3 under fix_com. K is that of every
 * velocity (a drift brought in is part of it, as in LAMMPS: give
 * init_temperature, or zero the momentum, for canonical sampling). A
 * system with K = 0 (every velocity zero) or N_f = 0 is not rescaled
 * (there is nothing to scale; forces give it velocities at the next step).
 *
 * Conserved quantity (their "effective energy"): the thermostat's work is
 * counted, so that H̃ = K + U + e_couple, with e_couple = −Σ (K' − K) over
 * the steps (LAMMPS's `ecouple`; `econserve` = H̃), stays constant up to the
 * integrator's error (velocity Verlet's: O(dt²) fluctuations, no drift to
 * that order).
 *
 * Parameters: dt (fs), temperature (K, > 0), tdamp (fs; 0: 100 dt),
 * init_temperature (K). Columns (i = the sub-stage's global index):
 * "nvt_csvr.i.par" and "nvt_csvr.i.st" = [e_couple, H̃] (eV), H̃ after the
 * last post_update (at entry: K + U, e_couple 0). Noise: stream
 * BMD_RNG_STREAM(i, BMD_RNG_CSVR), step = the system's steps in the
 * sub-stage. */
#include "dynamics/dynamics_internal.h"
#include "dynamics/svr.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- catalogue entry (registry.c lists it) ---- */
enum { CSVR_DT, CSVR_T, CSVR_TDAMP, CSVR_INIT_T, CSVR_NPAR };

static const bmd_param_desc csvr_params[CSVR_NPAR] = {
    [CSVR_DT] = BMD__PARAM_DT("fs", NAN, "time step"),
    [CSVR_T] = BMD__PARAM_TEMPERATURE(1, "a temperature > 0 K"),
    [CSVR_TDAMP] = BMD__PARAM_TDAMP,
    [CSVR_INIT_T] = BMD__PARAM_INIT_T,
};

static bmd_status csvr_create(const double *values, bmd_dynamics **out);

/* one scale factor for every velocity: total momentum conserved */
#define CSVR_DOF BMD_DOF_MOMENTUM

const bmd_dynamics_type bmd__nvt_csvr_type = {
    .type = "nvt_csvr",
    .doc = "stochastic velocity rescaling (Bussi, Donadio, Parrinello 2007), as LAMMPS fix temp/csvr + fix nve",
    .dof = CSVR_DOF, BMD__PARAMS(csvr_params), .create = csvr_create, .py_name = "NVTCSVR"};

enum { ST_ECOUPLE, ST_ECONSERVE, ST_WIDTH };

typedef struct csvr {
    bmd__params par;
    int substage;
    char n_par[BMD_COLUMN_NAME], n_st[BMD_COLUMN_NAME];
    int c_par, c_st;
} csvr;

static int columns(csvr *d, bmd_batch *b, int substage) {
    if (d->substage != substage) {
        d->substage = substage;
        bmd__colname(d->n_par, "nvt_csvr", substage, "par");
        bmd__colname(d->n_st, "nvt_csvr", substage, "st");
    }
    return bmd__column(b, &d->c_par, d->n_par, 0, CSVR_NPAR) >= 0 &&
           bmd__column(b, &d->c_st, d->n_st, 0, ST_WIDTH) >= 0;
}

static double tdamp_of(const double *p) { return p[CSVR_TDAMP] > 0 ? p[CSVR_TDAMP] : 100.0 * p[CSVR_DT]; }

static bmd_status csvr_enter(void *self, bmd_batch *b, const unsigned char *enter, const bmd_step_info *si) {
    csvr *d = self;
    if (!columns(d, b, si->substage)) return BMD_ERR_BUDGET;
    bmd__params_read(&d->par, b, enter, d->c_par);
    const double *par = bmd_batch_column_data(b, d->c_par);
    for (int s = 0; s < b->n_systems; s++) {
        if (!enter[s] || b->status[s] < 0) continue;
        const double *p = par + (size_t)s * CSVR_NPAR;
        if (!(p[CSVR_DT] > 0)) bmd_stage_fail(b, s, "invalid_param_dt");
        else if (!(p[CSVR_T] > 0)) bmd_stage_fail(b, s, "invalid_param_temperature");
        else if (!(p[CSVR_TDAMP] >= 0)) bmd_stage_fail(b, s, "invalid_param_tdamp");
    }
    bmd_status rc = bmd__init_velocities(b, enter, par, CSVR_NPAR, CSVR_INIT_T, si, CSVR_DOF);
    if (rc) return rc;
    double *st = bmd_batch_column_data(b, d->c_st);
    for (int s = 0; s < b->n_systems; s++) {
        if (!enter[s] || b->status[s] < 0) continue;
        double *t = st + (size_t)s * ST_WIDTH;
        t[ST_ECOUPLE] = 0.0;
        t[ST_ECONSERVE] = bmd_kinetic_energy(b, s, si->units) + b->energy[s];
    }
    return BMD_OK;
}

static bmd_status csvr_pre(void *self, bmd_batch *b, const unsigned char *mask, const bmd_step_info *si) {
    csvr *d = self;
    if (!columns(d, b, si->substage)) return BMD_ERR_BUDGET;
    const double *par = bmd_batch_column_data(b, d->c_par);
    const int ns = b->n_systems;
    BMD__OMP_FOR_SYSTEMS(bmd__parallel(b))
    for (int s = 0; s < ns; s++) {
        if (!mask[s]) continue;
        const double dt = par[(size_t)s * CSVR_NPAR + CSVR_DT];
        bmd__kick_drift(b, s, dt, si->units->ftm2v);
    }
    return BMD_OK;
}

static bmd_status csvr_post(void *self, bmd_batch *b, const unsigned char *mask, const bmd_step_info *si) {
    csvr *d = self;
    if (!columns(d, b, si->substage)) return BMD_ERR_BUDGET;
    const double *par = bmd_batch_column_data(b, d->c_par);
    double *st = bmd_batch_column_data(b, d->c_st);
    const uint32_t stream = BMD_RNG_STREAM(si->substage, BMD_RNG_CSVR);
    const int ns = b->n_systems;
    BMD__OMP_FOR_SYSTEMS(bmd__parallel(b))
    for (int s = 0; s < ns; s++) {
        if (!mask[s]) continue;
        const double *p = par + (size_t)s * CSVR_NPAR;
        double *t = st + (size_t)s * ST_WIDTH;
        bmd__half_kick(b, s, p[CSVR_DT], si->units->ftm2v);
        const int nf = bmd_batch_dof(b, s, bmd__dof_rule(si, CSVR_DOF));
        const double K = bmd_kinetic_energy(b, s, si->units);
        double K2 = K;
        if (K > 0 && nf > 0) {
            const double Kbar = 0.5 * nf * si->units->boltzmann * p[CSVR_T];
            const double c = exp(-p[CSVR_DT] / tdamp_of(p));
            K2 = bmd__svr_kinetic(K, Kbar, nf, c, si->seed, (uint64_t)b->system_id[s], stream,
                                  (uint64_t)si->steps[s]);
            const double f = sqrt(K2 / K);
            double *v = b->vel + 3 * (size_t)b->atom_start[s];
            for (int j = 0; j < 3 * b->atom_count[s]; j++) v[j] *= f;
        }
        t[ST_ECOUPLE] -= K2 - K;
        t[ST_ECONSERVE] = K2 + b->energy[s] + t[ST_ECOUPLE];
    }
    return BMD_OK;
}

static void csvr_destroy(void *self) { free(self); }

/* e_couple of the state row: K + U + e_couple is the conserved effective energy. */
static bmd_status csvr_extended(void *self, bmd_batch *b, const unsigned char *mask, double *extra,
                             const bmd_step_info *si) {
    csvr *d = self;
    if (!columns(d, b, si->substage)) return BMD_ERR_BUDGET;
    const double *st = bmd_batch_column_data(b, d->c_st);
    for (int s = 0; s < b->n_systems; s++)
        if (mask[s]) extra[s] = st[(size_t)s * ST_WIDTH + ST_ECOUPLE];
    return BMD_OK;
}

static const bmd_dynamics_ops csvr_ops = {
    .type = "nvt_csvr", .enter = csvr_enter, .pre_update = csvr_pre, .post_update = csvr_post, .destroy = csvr_destroy,
    .extended_energy = csvr_extended};

static bmd_status csvr_create(const double *values, bmd_dynamics **out) {
    csvr *c = calloc(1, sizeof *c);
    bmd_dynamics *d = calloc(1, sizeof *d);
    if (!c || !d) {
        free(c);
        free(d);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory creating nvt_csvr");
    }
    bmd__params_init(&c->par, "nvt_csvr", values);
    c->substage = -1;
    c->c_par = c->c_st = -1;
    d->ops = &csvr_ops;
    d->self = c;
    *out = d;
    return BMD_OK;
}
