/* nvt_berendsen.c — velocity Verlet with the weak-coupling thermostat of
 * Berendsen, Postma, van Gunsteren, DiNola and Haak, J. Chem. Phys. 81,
 * 3684 (1984), as LAMMPS's `fix nve` + `fix temp/berendsen T T tdamp`:
 *
 *   pre_update:  v ← v + (dt/2) a;  x ← x + dt v
 *   (forces at the new positions)
 *   post_update: v ← v + (dt/2) a;  then every v ← λ v with
 *                λ² = 1 + (dt/τ)(T0/T − 1),  T = 2K/(N_f k_B)
 *
 * (LAMMPS's end_of_step). The kinetic energy then relaxes to the bath's as
 * exp(−t/τ): each rescale changes K by exactly (dt/τ)(N_f k_B/2)(T0 − T),
 * linear in T, so in a steady state the mean temperature is T0 (to the
 * integrator's O(dt²) energy error). The ensemble is not canonical: the
 * kinetic energy's fluctuations are too small (between the microcanonical
 * and the canonical ones), and no known distribution is sampled.
 *
 * Degrees of freedom: one factor for every velocity, so the total momentum
 * is conserved: N_f = 3N − 3 (3 for one atom), BMD_DOF_MOMENTUM, as LAMMPS's
 * compute temp; as the stage counts it (bmd_batch_dof: fixed atoms,
 * fix_com). A system with K = 0 or N_f = 0 is not rescaled (T0/T is not
 * defined; LAMMPS stops with an error there). tdamp must be at least dt (a shorter
 * one overshoots, and makes λ² negative when T ≫ T0).
 *
 * No conserved quantity: Berendsen's dynamics has no extended energy. The
 * state column keeps LAMMPS's bookkeeping of the thermostat's work
 * (`ecouple` = −Σ (K' − K); K + U + ecouple is LAMMPS's `econserve`), which
 * only says how much energy the thermostat moved: K + U + ecouple is
 * constant up to velocity Verlet's error, as it would be for any rescaling.
 *
 * Parameters: dt (fs), temperature (K, > 0), tdamp (fs, >= dt; 0: 100 dt),
 * init_temperature (K). Columns (i = the sub-stage's global index):
 * "nvt_berendsen.i.par" and "nvt_berendsen.i.st" = [ecouple, econserve]
 * (eV; at entry 0 and K + U). */
#include "dynamics/dynamics_internal.h"

#include <math.h>
#include <stdlib.h>

/* ---- catalogue entry (registry.c lists it) ---- */
enum { BER_DT, BER_T, BER_TDAMP, BER_INIT_T, BER_NPAR };

static const bmd_param_desc ber_params[BER_NPAR] = {
    [BER_DT] = BMD__PARAM_DT("fs", NAN, "time step"),
    [BER_T] = BMD__PARAM_TEMPERATURE(1, "a temperature > 0 K"),
    [BER_TDAMP] = {.name = "tdamp", .unit = "fs", .def = 0, .doc = "thermostat time constant, >= dt (0: 100 dt)",
                   BMD__RANGE(0, INFINITY, 0, "a time constant >= dt fs (0: 100 dt)")},
    [BER_INIT_T] = BMD__PARAM_INIT_T,
};

static bmd_status ber_create(const double *values, bmd_dynamics **out);

/* one scale factor for every velocity: total momentum conserved */
#define BER_DOF BMD_DOF_MOMENTUM

const bmd_dynamics_type bmd__nvt_berendsen_type = {
    .type = "nvt_berendsen",
    .doc = "Berendsen weak-coupling thermostat (1984), as LAMMPS fix temp/berendsen + fix nve; not canonical",
    .dof = BER_DOF, BMD__PARAMS(ber_params), .create = ber_create, .py_name = "NVTBerendsen"};

enum { ST_ECOUPLE, ST_ECONSERVE, ST_WIDTH };

typedef struct berendsen {
    bmd__params par;
    int substage;
    char n_par[BMD_COLUMN_NAME], n_st[BMD_COLUMN_NAME];
    int c_par, c_st;
} berendsen;

static int columns(berendsen *d, bmd_batch *b, int substage) {
    if (d->substage != substage) {
        d->substage = substage;
        bmd__colname(d->n_par, "nvt_berendsen", substage, "par");
        bmd__colname(d->n_st, "nvt_berendsen", substage, "st");
    }
    return bmd__column(b, &d->c_par, d->n_par, 0, BER_NPAR) >= 0 &&
           bmd__column(b, &d->c_st, d->n_st, 0, ST_WIDTH) >= 0;
}

static double tdamp_of(const double *p) { return p[BER_TDAMP] > 0 ? p[BER_TDAMP] : 100.0 * p[BER_DT]; }

static bmd_status ber_enter(void *self, bmd_batch *b, const unsigned char *enter, const bmd_step_info *si) {
    berendsen *d = self;
    if (!columns(d, b, si->substage)) return BMD_ERR_BUDGET;
    bmd__params_read(&d->par, b, enter, d->c_par);
    const double *par = bmd_batch_column_data(b, d->c_par);
    for (int s = 0; s < b->n_systems; s++) {
        if (!enter[s] || b->status[s] < 0) continue;
        const double *p = par + (size_t)s * BER_NPAR;
        if (!(p[BER_DT] > 0)) bmd_stage_fail(b, s, "invalid_param_dt");
        else if (!(p[BER_T] > 0)) bmd_stage_fail(b, s, "invalid_param_temperature");
        else if (!(p[BER_TDAMP] >= 0) || !(tdamp_of(p) >= p[BER_DT])) bmd_stage_fail(b, s, "invalid_param_tdamp");
    }
    bmd_status rc = bmd__init_velocities(b, enter, par, BER_NPAR, BER_INIT_T, si, BER_DOF);
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

static bmd_status ber_pre(void *self, bmd_batch *b, const unsigned char *mask, const bmd_step_info *si) {
    berendsen *d = self;
    if (!columns(d, b, si->substage)) return BMD_ERR_BUDGET;
    const double *par = bmd_batch_column_data(b, d->c_par);
    const int ns = b->n_systems;
    BMD__OMP_FOR_SYSTEMS(bmd__parallel(b))
    for (int s = 0; s < ns; s++) {
        if (!mask[s]) continue;
        const double dt = par[(size_t)s * BER_NPAR + BER_DT];
        bmd__kick_drift(b, s, dt, si->units->ftm2v);
    }
    return BMD_OK;
}

static bmd_status ber_post(void *self, bmd_batch *b, const unsigned char *mask, const bmd_step_info *si) {
    berendsen *d = self;
    if (!columns(d, b, si->substage)) return BMD_ERR_BUDGET;
    const double *par = bmd_batch_column_data(b, d->c_par);
    double *st = bmd_batch_column_data(b, d->c_st);
    const int ns = b->n_systems;
    BMD__OMP_FOR_SYSTEMS(bmd__parallel(b))
    for (int s = 0; s < ns; s++) {
        if (!mask[s]) continue;
        const double *p = par + (size_t)s * BER_NPAR;
        double *t = st + (size_t)s * ST_WIDTH;
        bmd__half_kick(b, s, p[BER_DT], si->units->ftm2v);
        const double K = bmd_kinetic_energy(b, s, si->units);
        const bmd_dof_rule rule = bmd__dof_rule(si, BER_DOF);
        double K2 = K;
        if (K > 0 && bmd_batch_dof(b, s, rule) > 0) {
            const double T = bmd_temperature(b, s, si->units, rule);
            const double lambda2 = 1.0 + p[BER_DT] / tdamp_of(p) * (p[BER_T] / T - 1.0);
            const double f = sqrt(lambda2);
            double *v = b->vel + 3 * (size_t)b->atom_start[s];
            for (int j = 0; j < 3 * b->atom_count[s]; j++) v[j] *= f;
            K2 = K * lambda2;
        }
        t[ST_ECOUPLE] -= K2 - K;
        t[ST_ECONSERVE] = K2 + b->energy[s] + t[ST_ECOUPLE];
    }
    return BMD_OK;
}

static void ber_destroy(void *self) { free(self); }

static const bmd_dynamics_ops ber_ops = {
    .type = "nvt_berendsen", .enter = ber_enter, .pre_update = ber_pre, .post_update = ber_post, .destroy = ber_destroy};

static bmd_status ber_create(const double *values, bmd_dynamics **out) {
    const bmd_dynamics_type *t = &bmd__nvt_berendsen_type;
    double v[BER_NPAR];
    for (int i = 0; i < BER_NPAR; i++) v[i] = values ? values[i] : t->params[i].def;
    if (v[BER_TDAMP] > 0 && v[BER_DT] > 0 && v[BER_TDAMP] < v[BER_DT])
        return bmd__fail(BMD_ERR_INVALID, "nvt_berendsen: tdamp (%g) must be at least dt (%g), or 0 (100 dt)",
                         v[BER_TDAMP], v[BER_DT]);
    berendsen *c = calloc(1, sizeof *c);
    bmd_dynamics *d = calloc(1, sizeof *d);
    if (!c || !d) {
        free(c);
        free(d);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory creating nvt_berendsen");
    }
    bmd__params_init(&c->par, "nvt_berendsen", values);
    c->substage = -1;
    c->c_par = c->c_st = -1;
    d->ops = &ber_ops;
    d->self = c;
    *out = d;
    return BMD_OK;
}
