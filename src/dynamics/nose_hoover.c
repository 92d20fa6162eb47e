/* nose_hoover.c — canonical (NVT) molecular dynamics with a Nosé–Hoover
 * chain thermostat around velocity Verlet, as LAMMPS's fix nvt.
 *
 * Martyna, Tuckerman, Tobias, Klein, "Explicit reversible integrators for
 * extended systems dynamics", Mol. Phys. 87, 1117 (1996), with the chain of
 * Martyna, Klein, Tuckerman, J. Chem. Phys. 97, 2635 (1992). Per system:
 * M = chain thermostats with positions η_j, velocities η̇_j (1/fs) and masses
 *   Q_1 = N_f kT τ²,  Q_j = kT τ² (j > 1),  τ = tdamp,
 *   N_f = 3N − 3 (3 if N = 1): the catalogue's rule (BMD__NH_DOF), so that
 *   the log's temperature 2K/(N_f k) averages to the target (the stationary
 *   η̇_1 forces ⟨2K⟩ = N_f kT); with fixed atoms 3 N_free (their forces
 *   break momentum conservation), under the stage's fix_com 3 N_free − 3
 *   (bmd_batch_dof); a system with N_f = 0 (nothing free) has no
 *   thermostat to drive. Every velocity is scaled by one factor, so a
 *   total momentum of zero (init_temperature's) stays zero; velocities
 *   brought in with a net momentum keep it, scaled with the rest, as in
 *   LAMMPS (the drift is then part of K: give init_temperature, or zero
 *   the momentum, for canonical sampling),
 * G_1 = (2K − N_f kT)/Q_1,  G_j = (Q_{j−1} η̇_{j−1}² − kT)/Q_j.
 *
 * One step (the Trotter factorisation of LAMMPS's FixNH, one loop, no
 * Suzuki–Yoshida weights):
 *   pre_update:  NHC(dt/2);  v ← v + (dt/2) a;  x ← x + dt v
 *   (forces at the new positions)
 *   post_update: v ← v + (dt/2) a;  NHC(dt/2)
 * with NHC(dt/2) the chain's half step of nhc.h (target 2K = N_f kT), its
 * factor applied to every velocity. A system enters at rest (η = η̇ = 0) with the chain's forces
 * G_j (j > 1) of that state, −kT/Q_j, as LAMMPS's FixNH::setup() sets them
 * (G_1 is computed from K at the start of every NHC). The conserved energy is
 *   H = K + U + N_f kT η_1 + Σ_{j>1} kT η_j + Σ_j Q_j η̇_j²/2.
 *
 * Parameters: dt (fs), temperature (K), tdamp (fs; 0: 100 dt), chain (1..10,
 * default 3), init_temperature (K). Columns (i = sub-stage index):
 * "nvt_nh.i.par" and "nvt_nh.i.st" = [η_1..η_M, η̇_1..η̇_{M+1}, G_1..G_M,
 * E_thermostat] at offsets 0, M_MAX, 2 M_MAX + 1, 3 M_MAX + 1 (M_MAX = 10);
 * E_thermostat = H − K − U after the last post_update. */
#include "dynamics/dynamics_internal.h"
#include "dynamics/nhc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- catalogue entry (registry.c lists it) ---- */
enum { BMD__NH_DT, BMD__NH_T, BMD__NH_TDAMP, BMD__NH_CHAIN, BMD__NH_INIT_T, BMD__NH_NPAR };

static const bmd_param_desc nh_params[BMD__NH_NPAR] = {
    [BMD__NH_DT] = BMD__PARAM_DT("fs", NAN, "time step"),
    [BMD__NH_T] = BMD__PARAM_TEMPERATURE(1, "a temperature > 0 K"),
    [BMD__NH_TDAMP] = BMD__PARAM_TDAMP,
    [BMD__NH_CHAIN] = {.name = "chain", .unit = "", .def = 3, .doc = "Nose-Hoover chain length (1 to 10)",
                       BMD__RANGE(1, BMD__NH_MAX_CHAIN, 0, "a whole number from 1 to 10"), .kind = BMD_PARAM_WHOLE},
    [BMD__NH_INIT_T] = BMD__PARAM_INIT_T,
};

static bmd_status nh_create(const double *values, bmd_dynamics **out);

const bmd_dynamics_type bmd__nvt_nose_hoover_type = {
    .type = "nvt_nose_hoover",
    .doc = "Nose-Hoover chain thermostat (Martyna, Tuckerman, Klein 1996), as LAMMPS fix nvt",
    .dof = BMD__NH_DOF, BMD__PARAMS(nh_params), .create = nh_create, .py_name = "NVTNoseHoover"};


#define MM BMD__NH_MAX_CHAIN
enum { ST_ETA = 0, ST_ETAD = MM, ST_ETADD = 2 * MM + 1, ST_ETHERMO = 3 * MM + 1, ST_WIDTH = 3 * MM + 2 };

typedef struct nose_hoover {
    bmd__params par;
    int substage;
    char n_par[BMD_COLUMN_NAME], n_st[BMD_COLUMN_NAME];
    int c_par, c_st;
} nose_hoover;

static int columns(nose_hoover *d, bmd_batch *b, int substage) {
    if (d->substage != substage) {
        d->substage = substage;
        bmd__colname(d->n_par, "nvt_nh", substage, "par");
        bmd__colname(d->n_st, "nvt_nh", substage, "st");
    }
    return bmd__column(b, &d->c_par, d->n_par, 0, BMD__NH_NPAR) >= 0 &&
           bmd__column(b, &d->c_st, d->n_st, 0, ST_WIDTH) >= 0;
}

static double tdamp_of(const double *p) { return p[BMD__NH_TDAMP] > 0 ? p[BMD__NH_TDAMP] : 100.0 * p[BMD__NH_DT]; }

static double thermostat_energy(const double *p, const double *t, double kT, int nf) {
    const int M = (int)p[BMD__NH_CHAIN];
    const double td2 = tdamp_of(p) * tdamp_of(p);
    double e = nf * kT * t[ST_ETA] + 0.5 * nf * kT * td2 * t[ST_ETAD] * t[ST_ETAD];
    for (int j = 1; j < M; j++) e += kT * t[ST_ETA + j] + 0.5 * kT * td2 * t[ST_ETAD + j] * t[ST_ETAD + j];
    return e;
}

static bmd_status nh_enter(void *self, bmd_batch *b, const unsigned char *enter, const bmd_step_info *si) {
    nose_hoover *d = self;
    if (!columns(d, b, si->substage)) return BMD_ERR_BUDGET;
    bmd__params_read(&d->par, b, enter, d->c_par);
    double *par = bmd_batch_column_data(b, d->c_par), *st = bmd_batch_column_data(b, d->c_st);
    for (int s = 0; s < b->n_systems; s++) {
        if (!enter[s] || b->status[s] < 0) continue;
        double *p = par + (size_t)s * BMD__NH_NPAR;
        if (!(p[BMD__NH_DT] > 0)) bmd_stage_fail(b, s, "invalid_param_dt");
        else if (!(p[BMD__NH_T] > 0)) bmd_stage_fail(b, s, "invalid_param_temperature");
        else if (!(p[BMD__NH_TDAMP] >= 0)) bmd_stage_fail(b, s, "invalid_param_tdamp");
        else if (!(p[BMD__NH_CHAIN] >= 1 && p[BMD__NH_CHAIN] <= MM && p[BMD__NH_CHAIN] == floor(p[BMD__NH_CHAIN])))
            bmd_stage_fail(b, s, "invalid_param_chain");
        double *t = st + (size_t)s * ST_WIDTH;
        memset(t, 0, ST_WIDTH * sizeof(double));
        if (b->status[s] < 0) continue;
        /* G_j = (Q_{j−1} η̇_{j−1}² − kT)/Q_j at η̇ = 0 (src/cuda/hd_dynamics.h's
         * bmd_hd_nhc_enter writes the same bits) */
        const double kT = si->units->boltzmann * p[BMD__NH_T], td = tdamp_of(p);
        for (int j = 1; j < (int)p[BMD__NH_CHAIN]; j++) t[ST_ETADD + j] = -kT / (kT * td * td);
    }
    return bmd__init_velocities(b, enter, par, BMD__NH_NPAR, BMD__NH_INIT_T, si, BMD__NH_DOF);
}

/* Σ m v² of slot s (2K / mvv2e). */
static double mv2(const bmd_batch *b, int s) {
    const double *v = b->vel + 3 * (size_t)b->atom_start[s], *m = b->mass + b->atom_start[s];
    double k = 0;
    for (int i = 0; i < b->atom_count[s]; i++)
        k += m[i] * (v[3 * i] * v[3 * i] + v[3 * i + 1] * v[3 * i + 1] + v[3 * i + 2] * v[3 * i + 2]);
    return k;
}

/* NHC(dt/2) of LAMMPS's FixNH::nhc_temp_integrate for slot s (nhc.h), with
 * nf = N_f > 0 degrees of freedom. */
static void nhc_half(bmd_batch *b, int s, const double *p, double *t, const bmd_units *u, int nf) {
    const int M = (int)p[BMD__NH_CHAIN];
    const double kT = u->boltzmann * p[BMD__NH_T], td = tdamp_of(p);
    double Q[MM];
    Q[0] = nf * kT * td * td;
    for (int j = 1; j < M; j++) Q[j] = kT * td * td;
    const double factor = bmd__nhc_half(M, t + ST_ETA, t + ST_ETAD, t + ST_ETADD, Q, u->mvv2e * mv2(b, s), nf * kT,
                                        kT, p[BMD__NH_DT]);
    double *v = b->vel + 3 * (size_t)b->atom_start[s];
    for (int j = 0; j < 3 * b->atom_count[s]; j++) v[j] *= factor;
    t[ST_ETHERMO] = thermostat_energy(p, t, kT, nf);
}

static bmd_status nh_pre(void *self, bmd_batch *b, const unsigned char *mask, const bmd_step_info *si) {
    nose_hoover *d = self;
    if (!columns(d, b, si->substage)) return BMD_ERR_BUDGET;
    const double *par = bmd_batch_column_data(b, d->c_par);
    double *st = bmd_batch_column_data(b, d->c_st);
    const int ns = b->n_systems;
    BMD__OMP_FOR_SYSTEMS(bmd__parallel(b))
    for (int s = 0; s < ns; s++) {
        if (!mask[s]) continue;
        const double *p = par + (size_t)s * BMD__NH_NPAR;
        const double dt = p[BMD__NH_DT];
        const int nf = bmd_batch_dof(b, s, bmd__dof_rule(si, BMD__NH_DOF));
        if (nf > 0) nhc_half(b, s, p, st + (size_t)s * ST_WIDTH, si->units, nf);
        bmd__kick_drift(b, s, dt, si->units->ftm2v);
    }
    return BMD_OK;
}

static bmd_status nh_post(void *self, bmd_batch *b, const unsigned char *mask, const bmd_step_info *si) {
    nose_hoover *d = self;
    if (!columns(d, b, si->substage)) return BMD_ERR_BUDGET;
    const double *par = bmd_batch_column_data(b, d->c_par);
    double *st = bmd_batch_column_data(b, d->c_st);
    const int ns = b->n_systems;
    BMD__OMP_FOR_SYSTEMS(bmd__parallel(b))
    for (int s = 0; s < ns; s++) {
        if (!mask[s]) continue;
        const double *p = par + (size_t)s * BMD__NH_NPAR;
        bmd__half_kick(b, s, p[BMD__NH_DT], si->units->ftm2v);
        const int nf = bmd_batch_dof(b, s, bmd__dof_rule(si, BMD__NH_DOF));
        if (nf > 0) nhc_half(b, s, p, st + (size_t)s * ST_WIDTH, si->units, nf);
    }
    return BMD_OK;
}

static void nh_destroy(void *self) { free(self); }

/* E_thermostat of the state row (H − K − U after the last half step). */
static bmd_status nh_extended(void *self, bmd_batch *b, const unsigned char *mask, double *extra,
                              const bmd_step_info *si) {
    nose_hoover *d = self;
    if (!columns(d, b, si->substage)) return BMD_ERR_BUDGET;
    const double *st = bmd_batch_column_data(b, d->c_st);
    for (int s = 0; s < b->n_systems; s++)
        if (mask[s]) extra[s] = st[(size_t)s * ST_WIDTH + ST_ETHERMO];
    return BMD_OK;
}

static const bmd_dynamics_ops nh_ops = {.type = "nvt_nose_hoover", .enter = nh_enter, .pre_update = nh_pre,
                                        .post_update = nh_post, .destroy = nh_destroy,
                                        .extended_energy = nh_extended};

static bmd_status nh_create(const double *values, bmd_dynamics **out) {
    nose_hoover *n = calloc(1, sizeof *n);
    bmd_dynamics *d = calloc(1, sizeof *d);
    if (!n || !d) {
        free(n);
        free(d);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory creating nvt_nose_hoover");
    }
    bmd__params_init(&n->par, "nvt_nose_hoover", values);
    n->substage = -1;
    n->c_par = n->c_st = -1;
    d->ops = &nh_ops;
    d->self = n;
    *out = d;
    return BMD_OK;
}
