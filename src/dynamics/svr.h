/* svr.h — internal: the stochastic velocity rescaling (CSVR) of Bussi,
 * Donadio and Parrinello, "Canonical sampling through velocity rescaling",
 * J. Chem. Phys. 126, 014101 (2007), that nvt_csvr and npt_crescale's
 * thermostat share, and the chi-squared draw it needs.
 *
 * The thermostat moves the kinetic energy K of N_f degrees of freedom by
 * the exact solution, over a time dt, of the stochastic differential
 * equation (their Eq. A7)
 *     dK = (K̄ − K) dt/τ + 2 sqrt(K K̄ / N_f) dW/sqrt(τ),   K̄ = N_f kT/2,
 * whose stationary law is the canonical one, Gamma(N_f/2, kT); every
 * velocity is then scaled by sqrt(K'/K). With c = exp(−dt/τ), R ~ N(0, 1)
 * and S ~ χ²_{N_f − 1} (their Eq. A8, LAMMPS's FixTempCSVR::resamplekin):
 *     K' = c K + (1 − c) K̄ (R² + S)/N_f + 2 R sqrt(c (1 − c) K K̄ / N_f).
 * So E[K' | K] = c K + (1 − c) K̄ and
 *     Var[K' | K] = 4 c (1 − c) K K̄ / N_f + 2 (1 − c)² K̄² / N_f.
 *
 * Random numbers come from the counter-based RNG (rng.h), keyed by
 * (seed, system_id, stream, step): R from the normal draw at counter
 * atom = 0, S from the uniform draws at atom = 1, 2, ... (one per
 * rejection-sampling attempt), so a system's thermostat noise does not
 * depend on its batch. */
#ifndef BATCHMD_DYNAMICS_SVR_H
#define BATCHMD_DYNAMICS_SVR_H

#include <stdint.h>

/* A χ²_n draw (the sum of n squared standard normals, n >= 0), from the
 * uniforms at counters atom0, atom0 + 1, ...: 0 for n = 0, a squared normal
 * for n = 1, else 2 G with G ~ Gamma(n/2, 1) by Marsaglia and Tsang, "A
 * simple method for generating gamma variables", ACM TOMS 26, 363 (2000)
 * (shape n/2 >= 1: d = n/2 − 1/3, c = 1/sqrt(9d); for x ~ N(0, 1) and
 * v = (1 + c x)³ > 0, accept d v when ln u < x²/2 + d − d v + d ln v;
 * each attempt uses one counter: x from its first two uniforms by
 * Box–Muller, u its third). An attempt is accepted with probability
 * above 0.95, so the expected cost is O(1) whatever n: cheaper than
 * summing N_f − 1 squared normals, and exact. */
double bmd__chi2_draw(int n, uint64_t seed, uint64_t system_id, uint32_t stream, uint64_t step, uint64_t atom0);

/* K' of one CSVR step (above) for kinetic energy K > 0, target K̄ = N_f kT/2
 * (same unit as K), N_f >= 1 degrees of freedom and c = exp(−dt/τ) in
 * [0, 1]. */
double bmd__svr_kinetic(double K, double Kbar, int nf, double c, uint64_t seed, uint64_t system_id, uint32_t stream,
                        uint64_t step);

#endif
