/* velocities.c — owns the velocity helpers the dynamics share:
 * Maxwell–Boltzmann initialisation (counter-based RNG keyed by seed,
 * system_id and stream; fixed atoms at rest; zero total momentum when the
 * count removes it; rescaled to exactly T as its degrees of freedom count),
 * kinetic energy, kinetic temperature (2K / (N_f k_B), N_f by a
 * bmd_dof_rule and the fixed atoms) and max force (free atoms).
 * Every per-system sum runs in atom order. */
#include "dynamics/dynamics_internal.h"

#include <math.h>

static double ke_sum(const bmd_batch *b, int s) {
    const double *v = b->vel + 3 * (size_t)b->atom_start[s], *m = b->mass + b->atom_start[s];
    double k = 0;
    for (int i = 0; i < b->atom_count[s]; i++)
        k += m[i] * (v[3 * i] * v[3 * i] + v[3 * i + 1] * v[3 * i + 1] + v[3 * i + 2] * v[3 * i + 2]);
    return k;
}

double bmd_kinetic_energy(const bmd_batch *b, int slot, const bmd_units *u) { return 0.5 * u->mvv2e * ke_sum(b, slot); }

int bmd_batch_dof(const bmd_batch *b, int slot, bmd_dof_rule rule) {
    return bmd_dof_count(rule, b->atom_count[slot], bmd_batch_n_fixed(b, slot));
}

double bmd_temperature(const bmd_batch *b, int slot, const bmd_units *u, bmd_dof_rule rule) {
    const int nf = bmd_batch_dof(b, slot, rule);
    return nf > 0 ? 2.0 * bmd_kinetic_energy(b, slot, u) / (nf * u->boltzmann) : 0.0;
}

double bmd_fmax(const bmd_batch *b, int slot) {
    const double *f = b->force + 3 * (size_t)b->atom_start[slot], *fx = bmd_batch_fixed(b, slot);
    double m = 0;
    for (int i = 0; i < b->atom_count[slot]; i++) {
        if (fx && fx[i] != 0) continue; /* held: its constrained force is 0 */
        double f2 = f[3 * i] * f[3 * i] + f[3 * i + 1] * f[3 * i + 1] + f[3 * i + 2] * f[3 * i + 2];
        if (isnan(f2)) return NAN;
        if (f2 > m) m = f2;
    }
    return sqrt(m);
}

double bmd_pressure(const bmd_batch *b, int slot, const bmd_units *u) {
    if (!b->stress_valid[slot]) return NAN;
    const double v = bmd_batch_volume(b, slot);
    const double *sg = b->stress + 6 * (size_t)slot;
    return (2.0 * bmd_kinetic_energy(b, slot, u) - v * (sg[0] + sg[1] + sg[2])) / (3.0 * v);
}

static void mb_system(bmd_batch *b, int s, double T, const bmd_units *u, uint64_t seed, uint32_t stream,
                      bmd_dof_rule rule) {
    const int a0 = b->atom_start[s], n = b->atom_count[s];
    double *v = b->vel + 3 * (size_t)a0;
    const double *m = b->mass + a0, *fx = bmd_batch_fixed(b, s);
    const int n_fixed = bmd_batch_n_fixed(b, s), nf = bmd_dof_count(rule, n, n_fixed);
    if (!(T > 0)) {
        for (int j = 0; j < 3 * n; j++) v[j] = 0.0;
        return;
    }
    const double kT = u->boltzmann * T;
    for (int i = 0; i < n; i++) {
        double g[4];
        bmd_rng_normal4(seed, (uint64_t)b->system_id[s], stream, 0, (uint64_t)i, g);
        /* a fixed atom stays at rest (its draws are skipped: the free atoms
         * get the numbers they would get without the constraint) */
        double sd = m[i] > 0 && !(fx && fx[i] != 0) ? sqrt(kT * u->ftm2v / m[i]) : 0.0;
        for (int d = 0; d < 3; d++) v[3 * i + d] = sd * g[d];
    }
    /* the count lost the total momentum's 3: remove it from the free atoms */
    if (nf == bmd_dof_count(BMD_DOF_ALL, n, n_fixed) - 3) {
        double p[3] = {0, 0, 0}, M = 0;
        for (int i = 0; i < n; i++) {
            if (fx && fx[i] != 0) continue;
            M += m[i];
            for (int d = 0; d < 3; d++) p[d] += m[i] * v[3 * i + d];
        }
        if (M > 0)
            for (int i = 0; i < n; i++)
                if (!(fx && fx[i] != 0))
                    for (int d = 0; d < 3; d++) v[3 * i + d] -= p[d] / M;
    }
    double k2 = ke_sum(b, s); /* Σ m v² = N_f kT / mvv2e at temperature T */
    if (k2 > 0 && nf > 0) {
        double scale = sqrt(nf * kT / (u->mvv2e * k2));
        for (int j = 0; j < 3 * n; j++) v[j] *= scale;
    } else {
        for (int j = 0; j < 3 * n; j++) v[j] = 0.0; /* nothing free to move */
    }
}

void bmd_velocities_maxwell_boltzmann(bmd_batch *b, const unsigned char *mask, const double *temperature,
                                      const bmd_units *u, uint64_t seed, uint32_t stream, bmd_dof_rule rule) {
    const int ns = b->n_systems;
    BMD__OMP_FOR_SYSTEMS(bmd__parallel(b))
    for (int s = 0; s < ns; s++)
        if (mask[s]) mb_system(b, s, temperature[s], u, seed, stream, rule);
}
