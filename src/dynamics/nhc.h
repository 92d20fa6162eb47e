/* nhc.h — the half step of a Nosé–Hoover chain, shared by the thermostat
 * of nvt_nose_hoover (nose_hoover.c), and the thermostat and the barostat's
 * thermostat of npt_mtk and nph (npt_mtk.c).
 *
 * A chain of M thermostats (positions η_j, velocities η̇_j in 1/time, masses
 * Q_j in energy·time²) acts on a kinetic quantity 2K (Σ m v² of the atoms
 * in energy units, or Σ W ω̇² of the barostat's) whose target is L kT:
 *   G_1 = (2K − L kT)/Q_1,   G_j = (Q_{j−1} η̇_{j−1}² − kT)/Q_j  (j > 1).
 * bmd__nhc_half is NHC(dt/2) as LAMMPS's FixNH::nhc_temp_integrate and
 * nhc_press_integrate do it (one loop: tloop/ploop 1, no Suzuki–Yoshida
 * weights, no drag):
 *   for j = M..2:  η̇_j ← (η̇_j e^{−η̇_{j+1} dt/8} + G_j dt/4) e^{−η̇_{j+1} dt/8}
 *   η̇_1 likewise;  s = e^{−η̇_1 dt/2};  2K ← 2K s²;  G_1 from the new 2K
 *   η_j ← η_j + η̇_j dt/2 (all j)
 *   η̇_1 ← (η̇_1 e^{−η̇_2 dt/8} + G_1 dt/4) e^{−η̇_2 dt/8}
 *   for j = 2..M:  G_j fresh, η̇_j ← (η̇_j e^{−η̇_{j+1} dt/8} + G_j dt/4) e^{−η̇_{j+1} dt/8}
 * (η̇_{M+1} = 0) and returns s: the caller multiplies the coupled
 * velocities by it (the order does not matter: nothing in the chain reads
 * them but through 2K s²). G_j (j > 1) are state: the next half step's
 * first sweep uses the values the previous one left. The chain's energy,
 * the part of the conserved quantity it owns, is
 *   Σ_j Q_j η̇_j²/2 + L kT η_1 + Σ_{j>1} kT η_j. */
#ifndef BATCHMD_DYNAMICS_NHC_H
#define BATCHMD_DYNAMICS_NHC_H

#include <math.h>

/* NHC(dt/2) on eta[M], etad[M + 1] (etad[M] is set to 0), etadd[M] with
 * masses Q[M], for the kinetic quantity ke2 (2K) and its target ke_target
 * (L kT); kT is the chain's own kT. Returns the velocity factor s. M >= 1. */
static inline double bmd__nhc_half(int M, double *eta, double *etad, double *etadd, const double *Q, double ke2,
                                   double ke_target, double kT, double dt) {
    const double dthalf = 0.5 * dt, dt4 = 0.25 * dt, dt8 = 0.125 * dt;
    etad[M] = 0.0;
    etadd[0] = (ke2 - ke_target) / Q[0];
    double expfac;
    for (int j = M - 1; j > 0; j--) {
        expfac = exp(-dt8 * etad[j + 1]);
        etad[j] = (etad[j] * expfac + etadd[j] * dt4) * expfac;
    }
    expfac = exp(-dt8 * etad[1]);
    etad[0] = (etad[0] * expfac + etadd[0] * dt4) * expfac;
    const double factor = exp(-dthalf * etad[0]);
    ke2 *= factor * factor;
    etadd[0] = (ke2 - ke_target) / Q[0];
    for (int j = 0; j < M; j++) eta[j] += dthalf * etad[j];
    etad[0] = (etad[0] * expfac + etadd[0] * dt4) * expfac;
    for (int j = 1; j < M; j++) {
        expfac = exp(-dt8 * etad[j + 1]);
        etadd[j] = (Q[j - 1] * etad[j - 1] * etad[j - 1] - kT) / Q[j];
        etad[j] = (etad[j] * expfac + etadd[j] * dt4) * expfac;
    }
    return factor;
}

/* The chain's forces G_j (j > 1) of a chain at rest, −kT/Q_j, as LAMMPS's
 * FixNH::setup() sets them before the first step (G_1 is computed from 2K
 * at the start of every half step). */
static inline void bmd__nhc_rest(int M, double *etadd, const double *Q, double kT) {
    for (int j = 1; j < M; j++) etadd[j] = -kT / Q[j];
}

/* The chain's energy Σ_j Q_j η̇_j²/2 + ke_target η_1 + Σ_{j>1} kT η_j. */
static inline double bmd__nhc_energy(int M, const double *eta, const double *etad, const double *Q, double ke_target,
                                     double kT) {
    double e = ke_target * eta[0] + 0.5 * Q[0] * etad[0] * etad[0];
    for (int j = 1; j < M; j++) e += kT * eta[j] + 0.5 * Q[j] * etad[j] * etad[j];
    return e;
}

#endif
