/* hd_dynamics.h — owns the per-atom and per-system updates of the device's
 * integrators and optimizer, for host and device, written as the CPU files
 * write them (src/dynamics/dynamics.c's half kick, nve.c, langevin.c,
 * fire.c, fire2.c, nose_hoover.c), operation for operation, so that with the same inputs and the same
 * per-system sums they give the same bits (tests/unit/test_cuda_dynamics.c).
 * The equations and their papers are in those files. Units: dt in fs (τ),
 * forces eV/Å, masses amu, ftm2v and kB from units.h. */
#ifndef BATCHMD_CUDA_HD_DYNAMICS_H
#define BATCHMD_CUDA_HD_DYNAMICS_H

#include "cuda/hd.h"
#include "cuda/hd_philox.h"

/* velocity Verlet half kick of one atom: v += (h/m) F, h = dt/2 ftm2v */
BMD_HD static inline void bmd_hd_half_kick(double *v, const double *f, double m, double h) {
    const double c = h / m;
    v[0] += c * f[0];
    v[1] += c * f[1];
    v[2] += c * f[2];
}

/* NVE pre-update of one atom: half kick, then x += dt v */
BMD_HD static inline void bmd_hd_nve_pre(double *x, double *v, const double *f, double m, double dt, double ftm2v) {
    bmd_hd_half_kick(v, f, m, 0.5 * dt * ftm2v);
    x[0] += dt * v[0];
    x[1] += dt * v[1];
    x[2] += dt * v[2];
}

/* ---- Langevin BAOAB: per-system constants, then B A O A per atom ---- */
typedef struct bmd_hd_baoab {
    double h, half, c1, var;
} bmd_hd_baoab;

BMD_HD static inline bmd_hd_baoab bmd_hd_baoab_make(double dt, double temperature, double friction,
                                                     double boltzmann, double ftm2v) {
    bmd_hd_baoab k;
    const double kT = boltzmann * temperature;
    k.h = 0.5 * dt * ftm2v;
    k.half = 0.5 * dt;
    k.c1 = exp(-friction * dt);
    k.var = -expm1(-2.0 * friction * dt) * kT * ftm2v;
    return k;
}

/* atom `atom` (index in its system) of system `system_id` at the system's
 * step `step` of the sub-stage: the noise is bmd_rng_normal4's */
BMD_HD static inline void bmd_hd_baoa(double *x, double *v, const double *f, double m, const bmd_hd_baoab *k,
                                      uint64_t seed, uint64_t system_id, uint32_t stream, uint64_t step,
                                      uint64_t atom) {
    double xi[4];
    bmd_hd_normal4(seed, system_id, stream, step, atom, xi);
    const double c = k->h / m, c2 = sqrt(k->var / m);
    for (int d = 0; d < 3; d++) {
        double vv = v[d] + c * f[d]; /* B */
        double xx = x[d] + k->half * vv; /* A */
        vv = k->c1 * vv + c2 * xi[d]; /* O */
        x[d] = xx + k->half * vv; /* A */
        v[d] = vv;
    }
}

/* ---- FIRE (ASE's, as fire.c), split at its two per-system sums ----
 * par: dt, maxstep, dtmax, Nmin, finc, fdec, astart, fa, a (fire.c's order);
 * st: dt, a, Nsteps, started. Per system:
 *   1. sums vf = F.v, ff = F.F, vv = v.v (atom order on the CPU; the device's
 *      fixed tree);
 *   2. bmd_hd_fire_begin(par, st, vf, ff, vv) -> what to do with v, the new
 *      dt and a (st updated);
 *   3. per component bmd_hd_fire_v (v mixed or zeroed, then v += dt F) and
 *      the sum dr2 = Σ (dt v)²;
 *   4. per component bmd_hd_fire_x with normdr = sqrt(dr2). */
enum { BMD_HD_FIRE_DT, BMD_HD_FIRE_MAXSTEP, BMD_HD_FIRE_DTMAX, BMD_HD_FIRE_NMIN, BMD_HD_FIRE_FINC,
       BMD_HD_FIRE_FDEC, BMD_HD_FIRE_ASTART, BMD_HD_FIRE_FA, BMD_HD_FIRE_A };
enum { BMD_HD_FST_DT, BMD_HD_FST_A, BMD_HD_FST_NSTEPS, BMD_HD_FST_STARTED, BMD_HD_FST_WIDTH };

typedef struct bmd_hd_fire_do {
    int mode;       /* 0: v = 0 (first step); 1: v = (1-a) v + a F/|F| |v|; 2: v *= 0; 3: keep (never) */
    double a, sf, sv; /* mode 1: the mixing before a's update, |F|, |v| */
    double dt;      /* the step's dt */
} bmd_hd_fire_do;

BMD_HD static inline bmd_hd_fire_do bmd_hd_fire_begin(const double *p, double *t, double vf, double ff, double vv) {
    bmd_hd_fire_do o;
    double dt = t[BMD_HD_FST_DT], a = t[BMD_HD_FST_A];
    o.a = a;
    o.sf = o.sv = 0.0;
    if (t[BMD_HD_FST_STARTED] == 0) {
        o.mode = 0;
        t[BMD_HD_FST_STARTED] = 1;
    } else if (vf > 0.0) {
        o.mode = 1;
        o.sf = sqrt(ff);
        o.sv = sqrt(vv);
        if (t[BMD_HD_FST_NSTEPS] > p[BMD_HD_FIRE_NMIN]) {
            dt = fmin(dt * p[BMD_HD_FIRE_FINC], p[BMD_HD_FIRE_DTMAX]);
            a *= p[BMD_HD_FIRE_FA];
        }
        t[BMD_HD_FST_NSTEPS] += 1;
    } else {
        o.mode = 2;
        a = p[BMD_HD_FIRE_ASTART];
        dt *= p[BMD_HD_FIRE_FDEC];
        t[BMD_HD_FST_NSTEPS] = 0;
    }
    o.dt = dt;
    t[BMD_HD_FST_DT] = dt;
    t[BMD_HD_FST_A] = a;
    return o;
}

/* one component: v updated; returns (dt v)², the term of dr2 */
BMD_HD static inline double bmd_hd_fire_v(const bmd_hd_fire_do *o, double *v, double f) {
    if (o->mode == 0) *v = 0.0;
    else if (o->mode == 1) *v = (1.0 - o->a) * *v + o->a * f / o->sf * o->sv;
    else if (o->mode == 2) *v *= 0.0;
    *v += o->dt * f;
    const double dr = o->dt * *v;
    return dr * dr;
}

BMD_HD static inline void bmd_hd_fire_x(const bmd_hd_fire_do *o, double *x, double v, double normdr,
                                        double maxstep) {
    if (normdr > maxstep) *x += maxstep * (o->dt * v) / normdr;
    else *x += o->dt * v;
}

/* ---- FIRE 2.0 (fire2.c: Guénolé et al. 2020, ASE's mass-free convention),
 * split at its per-system sums. par: dt, maxstep, dtmax, dtmin, Ndelay,
 * Nnegmax, finc, fdec, astart, fa, initialdelay (fire2.c's order); st: dt, α,
 * N+, N-, pending, iterations. Per system:
 *   1. P = F.v (only when not pending);
 *   2. bmd_hd_fire2_begin(par, st, P) -> stop, half step back, or Euler;
 *   back:  per component bmd_hd_fire2_back;
 *   Euler: per component v += dt F (bmd_hd_fire2_kick) with the sums
 *          ff = Σ F², then vv = Σ v²; per component bmd_hd_fire2_mix when
 *          ff > 0; dr2 = Σ (dt v)²; per component bmd_hd_fire2_x. */
enum { BMD_HD_F2_DT, BMD_HD_F2_MAXSTEP, BMD_HD_F2_DTMAX, BMD_HD_F2_DTMIN, BMD_HD_F2_NDELAY, BMD_HD_F2_NNEGMAX,
       BMD_HD_F2_FINC, BMD_HD_F2_FDEC, BMD_HD_F2_ASTART, BMD_HD_F2_FA, BMD_HD_F2_INITIALDELAY };
enum { BMD_HD_F2S_DT, BMD_HD_F2S_A, BMD_HD_F2S_NPOS, BMD_HD_F2S_NNEG, BMD_HD_F2S_PENDING, BMD_HD_F2S_ITERS,
       BMD_HD_F2S_WIDTH };
enum { BMD_HD_F2_EULER = 0, BMD_HD_F2_BACK = 1, BMD_HD_F2_STOP = 2 };

typedef struct bmd_hd_fire2_do {
    int mode;
    double dt, a;
} bmd_hd_fire2_do;

BMD_HD static inline bmd_hd_fire2_do bmd_hd_fire2_begin(const double *p, double *t, double P) {
    bmd_hd_fire2_do o;
    double dt = t[BMD_HD_F2S_DT], a = t[BMD_HD_F2S_A];
    if (t[BMD_HD_F2S_PENDING] == 0) {
        if (P > 0.0) {
            t[BMD_HD_F2S_NPOS] += 1;
            t[BMD_HD_F2S_NNEG] = 0;
            if (t[BMD_HD_F2S_NPOS] > p[BMD_HD_F2_NDELAY]) {
                t[BMD_HD_F2S_DT] = fmin(dt * p[BMD_HD_F2_FINC], p[BMD_HD_F2_DTMAX]);
                t[BMD_HD_F2S_A] = a * p[BMD_HD_F2_FA];
            }
        } else {
            t[BMD_HD_F2S_NPOS] = 0;
            t[BMD_HD_F2S_NNEG] += 1;
            o.dt = dt;
            o.a = a;
            if (t[BMD_HD_F2S_NNEG] > p[BMD_HD_F2_NNEGMAX]) {
                o.mode = BMD_HD_F2_STOP;
                return o;
            }
            if (!(p[BMD_HD_F2_INITIALDELAY] != 0 && t[BMD_HD_F2S_ITERS] < p[BMD_HD_F2_NDELAY])) {
                if (dt * p[BMD_HD_F2_FDEC] >= p[BMD_HD_F2_DTMIN]) t[BMD_HD_F2S_DT] = dt * p[BMD_HD_F2_FDEC];
                t[BMD_HD_F2S_A] = p[BMD_HD_F2_ASTART];
            }
            o.mode = BMD_HD_F2_BACK;
            o.dt = t[BMD_HD_F2S_DT];
            t[BMD_HD_F2S_PENDING] = 1; /* Euler update at the next step, with the forces there */
            return o;
        }
        dt = t[BMD_HD_F2S_DT];
        a = t[BMD_HD_F2S_A];
    }
    t[BMD_HD_F2S_PENDING] = 0;
    t[BMD_HD_F2S_ITERS] += 1;
    o.mode = BMD_HD_F2_EULER;
    o.dt = dt;
    o.a = a;
    return o;
}

BMD_HD static inline void bmd_hd_fire2_back(double *x, double *v, double dt) {
    *x -= 0.5 * dt * *v;
    *v = 0.0;
}
BMD_HD static inline void bmd_hd_fire2_kick(double *v, double f, double dt) { *v += dt * f; }
BMD_HD static inline void bmd_hd_fire2_mix(double *v, double f, double a, double sf, double sv) {
    *v = (1.0 - a) * *v + a * f / sf * sv;
}
/* (dt v)², the term of dr2 */
BMD_HD static inline double bmd_hd_fire2_dr2(double v, double dt) {
    const double dr = dt * v;
    return dr * dr;
}
BMD_HD static inline void bmd_hd_fire2_x(double *x, double v, double dt, double normdr, double maxstep) {
    if (normdr > maxstep) *x += maxstep * (dt * v) / normdr;
    else *x += dt * v;
}

/* ---- Nosé–Hoover chain (nose_hoover.c, LAMMPS's fix nvt) ----
 * par: dt, temperature, tdamp, chain (nose_hoover.c's order); st: η[10],
 * η̇[11], η̈[10], E_thermostat (its layout). NHC(dt/2) is a scalar update
 * given Σ m v² of the system (atom order on the CPU): bmd_hd_nhc_half
 * returns the factor every velocity component is then multiplied by. */
#define BMD_HD_NH_MAX 10
enum { BMD_HD_NH_ETA = 0, BMD_HD_NH_ETAD = BMD_HD_NH_MAX, BMD_HD_NH_ETADD = 2 * BMD_HD_NH_MAX + 1,
       BMD_HD_NH_ETHERMO = 3 * BMD_HD_NH_MAX + 1, BMD_HD_NH_WIDTH = 3 * BMD_HD_NH_MAX + 2 };

/* The state of a system entering (nose_hoover.c's enter()): at rest, with
 * the chain's forces G_j = −kT/Q_j for j > 1 (LAMMPS's FixNH::setup). */
BMD_HD static inline void bmd_hd_nhc_enter(const double *p, double *t, double boltzmann) {
    const int M = (int)p[3];
    const double kT = boltzmann * p[1], td = p[2] > 0 ? p[2] : 100.0 * p[0];
    for (int k = 0; k < BMD_HD_NH_WIDTH; k++) t[k] = 0.0;
    for (int j = 1; j < M; j++) t[BMD_HD_NH_ETADD + j] = -kT / (kT * td * td);
}

/* m |v|² of one atom (the term of Σ m v²) */
BMD_HD static inline double bmd_hd_mv2(const double *v, double m) {
    return m * (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
}

BMD_HD static inline double bmd_hd_nhc_half(const double *p, double *t, double mv2, int n_atoms, double mvv2e,
                                            double boltzmann) {
    const int M = (int)p[3], nf = n_atoms > 1 ? 3 * n_atoms - 3 : 3;
    const double dt = p[0], dthalf = 0.5 * dt, dt4 = 0.25 * dt, dt8 = 0.125 * dt;
    const double kT = boltzmann * p[1], td = p[2] > 0 ? p[2] : 100.0 * p[0];
    double Q[BMD_HD_NH_MAX];
    Q[0] = nf * kT * td * td;
    for (int j = 1; j < M; j++) Q[j] = kT * td * td;
    double *eta = t + BMD_HD_NH_ETA, *etad = t + BMD_HD_NH_ETAD, *etadd = t + BMD_HD_NH_ETADD;
    etad[M] = 0.0;
    const double ke_target = nf * kT;
    double ke = mvv2e * mv2; /* 2K */
    etadd[0] = (ke - ke_target) / Q[0];
    double expfac;
    for (int j = M - 1; j > 0; j--) {
        expfac = exp(-dt8 * etad[j + 1]);
        etad[j] = (etad[j] * expfac + etadd[j] * dt4) * expfac;
    }
    expfac = exp(-dt8 * etad[1]);
    etad[0] = (etad[0] * expfac + etadd[0] * dt4) * expfac;
    const double factor = exp(-dthalf * etad[0]);
    ke *= factor * factor;
    etadd[0] = (ke - ke_target) / Q[0];
    for (int j = 0; j < M; j++) eta[j] += dthalf * etad[j];
    etad[0] = (etad[0] * expfac + etadd[0] * dt4) * expfac;
    for (int j = 1; j < M; j++) {
        expfac = exp(-dt8 * etad[j + 1]);
        etadd[j] = (Q[j - 1] * etad[j - 1] * etad[j - 1] - kT) / Q[j];
        etad[j] = (etad[j] * expfac + etadd[j] * dt4) * expfac;
    }
    /* the thermostat's energy, as thermostat_energy() */
    const double td2 = td * td;
    double e = nf * kT * t[BMD_HD_NH_ETA] + 0.5 * nf * kT * td2 * t[BMD_HD_NH_ETAD] * t[BMD_HD_NH_ETAD];
    for (int j = 1; j < M; j++)
        e += kT * t[BMD_HD_NH_ETA + j] + 0.5 * kT * td2 * t[BMD_HD_NH_ETAD + j] * t[BMD_HD_NH_ETAD + j];
    t[BMD_HD_NH_ETHERMO] = e;
    return factor;
}

/* ---- convergence: max_i |F_i|² of a system (max is exact in any order) ---- */
BMD_HD static inline double bmd_hd_f2(const double *f) { return f[0] * f[0] + f[1] * f[1] + f[2] * f[2]; }

#endif
