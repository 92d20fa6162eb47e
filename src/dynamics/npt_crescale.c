/* npt_crescale.c — isothermal-isobaric (NPT) molecular dynamics with the
 * stochastic cell rescaling barostat of Bernetti and Bussi, "Pressure
 * control using stochastic cell rescaling", J. Chem. Phys. 153, 114107
 * (2020), in the time-reversible form of their reference code (SimpleMD,
 * github.com/bussilab/crescale: barotype T with baroscalev, i.e. the
 * velocities scaled with the cell and the kinetic energy in the pressure),
 * and the stochastic velocity rescaling thermostat (svr.h), as the paper.
 *
 * The barostat. The volume (iso) or the three Cartesian lengths (aniso)
 * follow a first-order (overdamped) Langevin equation; in ε = ln V (iso),
 *     dε = −(β_T/τ_p)(P0 − P_int) dt + sqrt(2 k T β_T / (V τ_p)) dW
 * (the paper's dV = −(β_T V/τ_p)(P0 − P_int − kT/V) dt + ..., in V), the
 * atoms' positions scaling with the cell (fractional coordinates kept) and
 * their velocities inversely (momenta in cell units kept). Anisotropic:
 * each Cartesian axis k has its own ε_k = ln L_k, driven by P_kk, with a
 * third of the compliance (the three add up to the isotropic equation for
 * ln V), as Del Tatto, Raiteri, Bernetti and Bussi, Appl. Sci. 12, 1139
 * (2022) — but with the coefficient of axis k taken as β_T/(3 τ_p) · V/V_k
 * (noise variance 2 kT β_T dt/(3 τ_p V_k)), V_k = (the cell's cross-section
 * across k at entry) · L_k, in place of their β_T/(3 τ_p) (variance
 * 2 kT β_T dt/(3 τ_p V)): then sqrt(L_k) has additive noise of its own (it
 * depends on no other axis), as sqrt(V) has in iso, and the reversible
 * scheme's bookkeeping below stays exact to O(dt^{3/2}) a step (with the
 * other axes' lengths in each axis's noise it drifts by O(dt^{1/2}) a
 * step, whatever dt). The mobility sets how fast the shape relaxes, not
 * what is sampled. A cell with tilts scales its x, y and z components by
 * the factors of those axes (a Cartesian diagonal strain, whose conjugate
 * stresses are P_xx, P_yy, P_zz).
 *
 * Stationary law: exp(−β (K + U + P0 V)) in the volume (iso) or the three
 * lengths (aniso), i.e. the NPT ensemble with the measure dV (dL_x dL_y
 * dL_z); the volume's law is the same in both for a liquid or a gas.
 * Pressures (eV/Å³): P_kk = (Σ m v_k² − V σ_kk)/V with σ the model's
 * stress (ASE's sign), P_int = (P_xx + P_yy + P_zz)/3 (LAMMPS's thermo
 * press). Total momentum: the thermostat and the rescaling conserve it, so
 * the velocities span N_f = 3N − 3 (BMD_DOF_MOMENTUM) while the positions
 * span 3N: the ensemble's V^N (the centre of mass may sit anywhere in the
 * cell) then needs one kT/V added to each P_kk, the ideal-gas pressure of
 * the centre of mass whose kinetic energy is held at zero (c_com = (3N −
 * N_f)/3 = 1; 0 for a single atom; without it an ideal gas of N atoms has
 * ⟨V⟩ = N kT/P0 instead of (N + 1) kT/P0). N_f as the stage counts it
 * (bmd_batch_dof): under fix_com 3 N_free − 3 (c_com = 1); with fixed atoms
 * (which the stage keeps at their fractional coordinates) 3 N_free, every
 * free momentum thermalised (c_com = 0). (LAMMPS's fix npt, MTK with N_f
 * = 3N in its (1 + d/N_f) terms but 3N − 3 thermalised momenta, samples
 * V^{N−1−1/N} instead: an O(1/N) difference in ⟨V⟩, which
 * tests/physics/crescale_lammps_test.py accounts for.)
 *
 * The integrator. Local coordinates y_k = sqrt(L_k'/L_k) (aniso) or
 * y = sqrt(V'/V) (iso) relative to the cell at the start of the step (the
 * paper's λ = sqrt(V), rescaled); in them the target is exp(−E/kT) dy with
 * E = K + U + P0 V − kT Σ_k ln y_k − c_com kT ln V, and one step with n_b = 1
 * (iso) or 3 (aniso) barostat variables is
 *   pre_update:  v ← v + (dt/2) a
 *                f_k = −∂E/∂y_k at y = 1 = 2V (P_kk + c_com kT/V − P0) + kT
 *                (iso: P_int for P_kk), from the stress of the last
 *                evaluation and the half-kicked velocities
 *                D_k = kT β_T/(4 n_b τ_p V_k), V_k = V (iso; aniso above)
 *                y'_k = 1 + (D_k dt/kT) f_k + sqrt(2 D_k dt) ξ_k
 *                scale factors μ_k = y'_k² (aniso), μ = y'^{2/3} (iso)
 *                x_k ← μ_k x_k + (μ_k + 1/μ_k)/2 v_k dt  (drift dt/2, scale,
 *                drift dt/2);  v_k ← v_k/μ_k;  the cell's k components × μ_k
 *   (forces and stress at the new positions)
 *   post_update: the reverse move's f'_k and D'_k at the new state (its
 *                velocities still half-kicked), for the bookkeeping below
 *                v ← v + (dt/2) a;  CSVR(dt) on the whole kinetic energy
 * The drift-scale-drift map has unit Jacobian and is its own inverse with
 * the velocities reversed, so the step is time-reversible, and the
 * barostat's share of the departure from detailed balance is the ratio of
 * the forward and reverse Gaussian proposal densities (in the forward
 * step's y; the reverse one is drawn in z = y/y', hence a Jacobian ∏ y'_k):
 *   kT ln(p_f/p_b) = kT Σ_k [−ξ_k²/2 + (1/y'_k − 1 − (D'_k dt/kT) f'_k)²/(4 D'_k dt)
 *                            + ln y'_k + ln(D'_k/D_k)/2]
 * (SimpleMD's increments of engint, for iso and c_com = 0), summed over the
 * steps into e_baro. The effective energy
 *   H̃ = K + U + P0 V − (1/2 + c_com) kT ln(V/V_entry) + e_baro + e_thermo,
 * e_thermo = −Σ (K' − K) the thermostat's work (nvt_csvr), is then
 * constant up to the discretisation's error: velocity Verlet's O(dt²), and
 * the barostat's O(dt^{3/2}) a step, a random walk whose RMS over a fixed
 * time is O(dt) (the paper's effective-energy drift). A proposal with some
 * y'_k <= 0 would invert the cell: the system leaves as cell_degenerate
 * (τ_p ≫ dt makes it astronomically unlikely).
 *
 * A system needs a volume and the stress at every step: a cell not
 * periodic along a, b and c takes it out as not_periodic, a model that
 * gives no virial as no_stress (the stage evaluates again a system handed
 * over without one: stage.c).
 *
 * Parameters: dt (fs), temperature (K, > 0), pressure (bar; lj: ε/σ³),
 * tau_p (fs, the barostat's relaxation time; 0: 1000 dt), compressibility
 * (β_T, 1/bar; lj: σ³/ε; sets with tau_p how fast the volume relaxes,
 * not the ensemble), couple (iso|aniso), tdamp (fs, the thermostat's; 0:
 * 100 dt), init_temperature (K). Columns (i = the sub-stage's global
 * index): "npt_crescale.i.par" and "npt_crescale.i.st" = [e_couple, H̃,
 * e_thermo, e_baro (eV), V_entry (Å³), g_k (3: aniso's L_k/L_k at entry),
 * and, between pre_update and post_update, the step's y'_k (3), D_k dt/kT
 * (3) and Σ ξ_k²/2], e_couple = H̃ − K − U (LAMMPS's ecouple, with P0 V in
 * it). Noise: streams BMD_RNG_STREAM(i, BMD_RNG_BAROSTAT) (ξ, counter
 * atom 0) and BMD_RNG_STREAM(i, BMD_RNG_CSVR) (thermostat), step = the
 * system's steps in the sub-stage. */
#include "dynamics/dynamics_internal.h"
#include "dynamics/svr.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- catalogue entry (registry.c lists it) ---- */
enum { CR_DT, CR_T, CR_P, CR_TAUP, CR_BETA, CR_COUPLE, CR_TDAMP, CR_INIT_T, CR_NPAR };
enum { CR_ISO = 0, CR_ANISO = 1 };

static const bmd_param_desc cr_params[CR_NPAR] = {
    [CR_DT] = BMD__PARAM_DT("fs", NAN, "time step"),
    [CR_T] = BMD__PARAM_TEMPERATURE(1, "a temperature > 0 K"),
    [CR_P] = {.name = "pressure", .unit = "bar", .def = NAN, .doc = "target pressure (bar; lj: ε/σ³)"},
    [CR_TAUP] = {.name = "tau_p", .unit = "fs", .def = 0, .doc = "barostat relaxation time (0: 1000 dt)",
                 BMD__RANGE(0, INFINITY, 0, "a relaxation time >= 0 fs (0: 1000 dt)")},
    [CR_BETA] = {.name = "compressibility", .unit = "1/bar", .def = NAN,
                 .doc = "isothermal compressibility beta_T that scales the barostat's response (1/bar; lj: σ³/ε)",
                 BMD__RANGE(0, INFINITY, 1, "a compressibility > 0 1/bar")},
    [CR_COUPLE] = {.name = "couple", .unit = "", .def = CR_ISO, .kind = BMD_PARAM_CHOICE, .choices = "iso|aniso",
                   .doc = "iso: the volume; aniso: the x, y and z lengths independently"},
    [CR_TDAMP] = BMD__PARAM_TDAMP,
    [CR_INIT_T] = BMD__PARAM_INIT_T,
};

static bmd_status cr_create(const double *values, bmd_dynamics **out);

/* one scale factor for every velocity (thermostat) or every component
 * (barostat): total momentum conserved */
#define CR_DOF BMD_DOF_MOMENTUM

const bmd_dynamics_type bmd__npt_crescale_type = {
    .type = "npt_crescale",
    .doc = "stochastic cell rescaling barostat (Bernetti & Bussi 2020) with the CSVR thermostat, iso or aniso",
    .dof = CR_DOF, BMD__PARAMS(cr_params), .create = cr_create, .py_name = "NPTCRescale"};

enum {
    ST_ECOUPLE,
    ST_ECONSERVE,
    ST_ETHERMO,
    ST_EBARO,
    ST_V0,
    ST_G,              /* 3: aniso: L_k / L_k at entry (the product of the scale factors) */
    ST_Y = ST_G + 3,   /* 3: y'_k of the step */
    ST_A = ST_Y + 3,   /* 3: D_k dt/kT of the step's forward move */
    ST_XI2 = ST_A + 3, /* Σ ξ_k²/2 of the step */
    ST_WIDTH
};

typedef struct crescale {
    bmd__params par;
    int substage;
    char n_par[BMD_COLUMN_NAME], n_st[BMD_COLUMN_NAME];
    int c_par, c_st;
    const char **why; /* [cap] reason a system leaves this update (set in the loop, applied after it) */
    int cap;
} crescale;

static int columns(crescale *d, bmd_batch *b, int substage) {
    if (d->substage != substage) {
        d->substage = substage;
        bmd__colname(d->n_par, "npt_crescale", substage, "par");
        bmd__colname(d->n_st, "npt_crescale", substage, "st");
    }
    return bmd__column(b, &d->c_par, d->n_par, 0, CR_NPAR) >= 0 &&
           bmd__column(b, &d->c_st, d->n_st, 0, ST_WIDTH) >= 0;
}

static bmd_status ensure_why(crescale *d, int ns) {
    if (ns <= d->cap) return BMD_OK;
    const char **p = realloc(d->why, (size_t)ns * sizeof *p);
    if (!p) return bmd__fail(BMD_ERR_NOMEM, "out of memory in npt_crescale");
    d->why = p;
    d->cap = ns;
    return BMD_OK;
}

/* the failures the loop recorded, in slot order */
static bmd_status apply_failures(crescale *d, bmd_batch *b, const unsigned char *mask) {
    for (int s = 0; s < b->n_systems; s++) {
        if (!mask[s] || !d->why[s]) continue;
        bmd_status rc = bmd_stage_fail(b, s, d->why[s]);
        if (rc) return rc;
    }
    return BMD_OK;
}

static double taup_of(const double *p) { return p[CR_TAUP] > 0 ? p[CR_TAUP] : 1000.0 * p[CR_DT]; }
static double tdamp_of(const double *p) { return p[CR_TDAMP] > 0 ? p[CR_TDAMP] : 100.0 * p[CR_DT]; }
static int nbaro(const double *p) { return p[CR_COUPLE] == CR_ANISO ? 3 : 1; }

static int periodic3(const bmd_batch *b, int s) {
    const unsigned char *pbc = b->pbc + 3 * (size_t)s;
    return pbc[0] && pbc[1] && pbc[2] && bmd_batch_volume(b, s) > 0;
}

/* c_com: the centre of mass's ideal-gas share, (3 N_free − N_f)/3 with N_f as
 * the stage counts it (bmd_batch_dof): 1 for BMD_DOF_MOMENTUM (N > 1) and
 * under fix_com, 0 for a single atom, and 0 with fixed atoms (they pin the
 * centre of mass: every free momentum is thermalised). */
static double com_share(const bmd_batch *b, int s, const bmd_step_info *si) {
    return (bmd_batch_dof(b, s, BMD_DOF_ALL) - bmd_batch_dof(b, s, bmd__dof_rule(si, CR_DOF))) / 3.0;
}

/* f_k = −∂E/∂y_k at y = 1 (eV), for the stress and cell of slot s and its
 * velocities after a half kick of kick_dt (0: as they are; the same bits as
 * bmd__half_kick's, without writing them); returns V (Å³). */
static double barostat_force(const bmd_batch *b, int s, const double *p, const bmd_step_info *si, double kick_dt,
                             double f[3]) {
    const bmd_units *u = si->units;
    const int a0 = b->atom_start[s], n = b->atom_count[s];
    const double *v = b->vel + 3 * (size_t)a0, *m = b->mass + a0, *sg = b->stress + 6 * (size_t)s;
    const double *F = b->force + 3 * (size_t)a0, h = 0.5 * kick_dt * u->ftm2v;
    double mv2[3] = {0, 0, 0};
    for (int i = 0; i < n; i++) {
        const double c = h / m[i];
        for (int k = 0; k < 3; k++) {
            const double vk = kick_dt > 0 ? v[3 * i + k] + c * F[3 * i + k] : v[3 * i + k];
            mv2[k] += m[i] * vk * vk;
        }
    }
    const double V = bmd_batch_volume(b, s), kT = u->boltzmann * p[CR_T], P0 = p[CR_P] * u->pressure;
    const double pcom = com_share(b, s, si) * kT / V;
    double P[3];
    for (int k = 0; k < 3; k++) P[k] = (u->mvv2e * mv2[k] - V * sg[k]) / V;
    if (nbaro(p) == 1) f[0] = 2.0 * V * ((P[0] + P[1] + P[2]) / 3.0 + pcom - P0) + kT;
    else
        for (int k = 0; k < 3; k++) f[k] = 2.0 * V * (P[k] + pcom - P0) + kT;
    return V;
}

/* D_k dt/kT of barostat variable k in the local coordinates y, at the
 * current state: β_T dt/(4 n_b τ_p V_k) with V_k = V (iso) or
 * V_entry g_k (aniso: the cross-section at entry times the current length) */
static double mobility(const double *p, const bmd_units *u, const double *t, double V, int k) {
    const double vk = nbaro(p) == 1 ? V : t[ST_V0] * t[ST_G + k];
    return p[CR_BETA] / u->pressure * p[CR_DT] / (4.0 * nbaro(p) * taup_of(p) * vk);
}

static bmd_status cr_enter(void *self, bmd_batch *b, const unsigned char *enter, const bmd_step_info *si) {
    crescale *d = self;
    if (!columns(d, b, si->substage)) return BMD_ERR_BUDGET;
    bmd__params_read(&d->par, b, enter, d->c_par);
    const double *par = bmd_batch_column_data(b, d->c_par);
    for (int s = 0; s < b->n_systems; s++) {
        if (!enter[s] || b->status[s] < 0) continue;
        const double *p = par + (size_t)s * CR_NPAR;
        if (!(p[CR_DT] > 0)) bmd_stage_fail(b, s, "invalid_param_dt");
        else if (!(p[CR_T] > 0)) bmd_stage_fail(b, s, "invalid_param_temperature");
        else if (!isfinite(p[CR_P])) bmd_stage_fail(b, s, "invalid_param_pressure");
        else if (!(p[CR_TAUP] >= 0)) bmd_stage_fail(b, s, "invalid_param_tau_p");
        else if (!(p[CR_BETA] > 0) || !isfinite(p[CR_BETA])) bmd_stage_fail(b, s, "invalid_param_compressibility");
        else if (!(p[CR_TDAMP] >= 0)) bmd_stage_fail(b, s, "invalid_param_tdamp");
        else if (!periodic3(b, s)) bmd_stage_fail(b, s, "not_periodic");
        else if (!b->stress_valid[s]) bmd_stage_fail(b, s, "no_stress");
    }
    bmd_status rc = bmd__init_velocities(b, enter, par, CR_NPAR, CR_INIT_T, si, CR_DOF);
    if (rc) return rc;
    double *st = bmd_batch_column_data(b, d->c_st);
    for (int s = 0; s < b->n_systems; s++) {
        if (!enter[s] || b->status[s] < 0) continue;
        const double *p = par + (size_t)s * CR_NPAR;
        double *t = st + (size_t)s * ST_WIDTH;
        memset(t, 0, ST_WIDTH * sizeof(double));
        const double V = bmd_batch_volume(b, s);
        t[ST_V0] = V;
        for (int k = 0; k < 3; k++) t[ST_G + k] = 1.0;
        t[ST_ECOUPLE] = p[CR_P] * si->units->pressure * V;
        t[ST_ECONSERVE] = bmd_kinetic_energy(b, s, si->units) + b->energy[s] + t[ST_ECOUPLE];
    }
    return BMD_OK;
}

/* Half kick, barostat move and drift of slot s; the reason it must leave,
 * or NULL. */
static const char *move(bmd_batch *b, int s, const double *p, double *t, const bmd_step_info *si, uint32_t stream) {
    const bmd_units *u = si->units;
    const double dt = p[CR_DT];
    if (!b->stress_valid[s]) return "no_stress";
    double f[3];
    const double V = barostat_force(b, s, p, si, dt, f); /* with the half kick below */
    const int nb = nbaro(p);
    const double kT = u->boltzmann * p[CR_T];
    double xi[4], mu[3], y[3], a[3];
    bmd_rng_normal4(si->seed, (uint64_t)b->system_id[s], stream, (uint64_t)si->steps[s], 0, xi);
    double xi2 = 0;
    for (int k = 0; k < nb; k++) {
        a[k] = mobility(p, u, t, V, k); /* D dt/kT */
        y[k] = 1.0 + a[k] * f[k] + sqrt(2.0 * a[k] * kT) * xi[k];
        if (!(y[k] > 0)) return "cell_degenerate"; /* the move would invert the cell (nothing moved yet) */
        xi2 += 0.5 * xi[k] * xi[k];
        mu[k] = nb == 1 ? cbrt(y[k] * y[k]) : y[k] * y[k];
    }
    for (int k = 0; k < nb; k++) {
        t[ST_Y + k] = y[k];
        t[ST_A + k] = a[k];
    }
    if (nb == 1) mu[1] = mu[2] = mu[0];
    else
        for (int k = 0; k < 3; k++) t[ST_G + k] *= mu[k];
    t[ST_XI2] = xi2;
    bmd__half_kick(b, s, dt, u->ftm2v);
    const int a0 = b->atom_start[s], n = b->atom_count[s];
    double *x = b->pos + 3 * (size_t)a0, *v = b->vel + 3 * (size_t)a0;
    double drift[3];
    for (int k = 0; k < 3; k++) drift[k] = 0.5 * (mu[k] + 1.0 / mu[k]) * dt;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 3; k++) {
            x[3 * i + k] = mu[k] * x[3 * i + k] + drift[k] * v[3 * i + k];
            v[3 * i + k] /= mu[k];
        }
    double *cell = b->cell + 9 * (size_t)s;
    for (int r = 0; r < 3; r++)
        for (int k = 0; k < 3; k++) cell[3 * r + k] *= mu[k];
    return NULL;
}

static bmd_status cr_pre(void *self, bmd_batch *b, const unsigned char *mask, const bmd_step_info *si) {
    crescale *d = self;
    if (!columns(d, b, si->substage)) return BMD_ERR_BUDGET;
    bmd_status rc = ensure_why(d, b->n_systems);
    if (rc) return rc;
    const double *par = bmd_batch_column_data(b, d->c_par);
    double *st = bmd_batch_column_data(b, d->c_st);
    const uint32_t stream = BMD_RNG_STREAM(si->substage, BMD_RNG_BAROSTAT);
    const int ns = b->n_systems;
    BMD__OMP_FOR_SYSTEMS(bmd__parallel(b))
    for (int s = 0; s < ns; s++)
        d->why[s] = mask[s] ? move(b, s, par + (size_t)s * CR_NPAR, st + (size_t)s * ST_WIDTH, si, stream) : NULL;
    return apply_failures(d, b, mask);
}

/* Bookkeeping of the move (kT ln(p_f/p_b)), half kick and thermostat of
 * slot s; the reason it must leave, or NULL. */
static const char *finish(bmd_batch *b, int s, const double *p, double *t, const bmd_step_info *si, uint32_t stream) {
    const bmd_units *u = si->units;
    if (!b->stress_valid[s]) return "no_stress";
    const double kT = u->boltzmann * p[CR_T];
    const int nb = nbaro(p);
    double f[3];
    const double V = barostat_force(b, s, p, si, 0, f);
    double ln_ratio = -t[ST_XI2];
    for (int k = 0; k < nb; k++) {
        const double a = mobility(p, u, t, V, k), y = t[ST_Y + k], r = 1.0 / y - 1.0 - a * f[k];
        ln_ratio += r * r / (4.0 * a * kT) + log(y) + 0.5 * log(a / t[ST_A + k]); /* 4 D' dt = 4 a kT */
    }
    t[ST_EBARO] += kT * ln_ratio;

    bmd__half_kick(b, s, p[CR_DT], u->ftm2v);
    const double K = bmd_kinetic_energy(b, s, u);
    double K2 = K;
    const int nf = bmd_batch_dof(b, s, bmd__dof_rule(si, CR_DOF));
    if (K > 0 && nf > 0) {
        K2 = bmd__svr_kinetic(K, 0.5 * nf * kT, nf, exp(-p[CR_DT] / tdamp_of(p)), si->seed,
                              (uint64_t)b->system_id[s], stream, (uint64_t)si->steps[s]);
        const double g = sqrt(K2 / K);
        double *v = b->vel + 3 * (size_t)b->atom_start[s];
        for (int j = 0; j < 3 * b->atom_count[s]; j++) v[j] *= g;
    }
    t[ST_ETHERMO] -= K2 - K;
    const double cv = 0.5 + com_share(b, s, si);
    t[ST_ECOUPLE] = t[ST_ETHERMO] + p[CR_P] * u->pressure * V - cv * kT * log(V / t[ST_V0]) + t[ST_EBARO];
    t[ST_ECONSERVE] = K2 + b->energy[s] + t[ST_ECOUPLE];
    return NULL;
}

static bmd_status cr_post(void *self, bmd_batch *b, const unsigned char *mask, const bmd_step_info *si) {
    crescale *d = self;
    if (!columns(d, b, si->substage)) return BMD_ERR_BUDGET;
    bmd_status rc = ensure_why(d, b->n_systems);
    if (rc) return rc;
    const double *par = bmd_batch_column_data(b, d->c_par);
    double *st = bmd_batch_column_data(b, d->c_st);
    const uint32_t stream = BMD_RNG_STREAM(si->substage, BMD_RNG_CSVR);
    const int ns = b->n_systems;
    BMD__OMP_FOR_SYSTEMS(bmd__parallel(b))
    for (int s = 0; s < ns; s++)
        d->why[s] = mask[s] ? finish(b, s, par + (size_t)s * CR_NPAR, st + (size_t)s * ST_WIDTH, si, stream) : NULL;
    return apply_failures(d, b, mask);
}

static void cr_destroy(void *self) {
    crescale *d = self;
    if (d) free(d->why);
    free(d);
}

/* e_couple of the state row: K + U + e_couple is the conserved effective energy. */
static bmd_status cr_extended(void *self, bmd_batch *b, const unsigned char *mask, double *extra,
                             const bmd_step_info *si) {
    crescale *d = self;
    if (!columns(d, b, si->substage)) return BMD_ERR_BUDGET;
    const double *st = bmd_batch_column_data(b, d->c_st);
    for (int s = 0; s < b->n_systems; s++)
        if (mask[s]) extra[s] = st[(size_t)s * ST_WIDTH + ST_ECOUPLE];
    return BMD_OK;
}

static const bmd_dynamics_ops cr_ops = {
    .type = "npt_crescale", .enter = cr_enter, .pre_update = cr_pre, .post_update = cr_post, .destroy = cr_destroy,
    .extended_energy = cr_extended};

static bmd_status cr_create(const double *values, bmd_dynamics **out) {
    crescale *c = calloc(1, sizeof *c);
    bmd_dynamics *d = calloc(1, sizeof *d);
    if (!c || !d) {
        free(c);
        free(d);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory creating npt_crescale");
    }
    bmd__params_init(&c->par, "npt_crescale", values);
    c->substage = -1;
    c->c_par = c->c_st = -1;
    d->ops = &cr_ops;
    d->self = c;
    d->needs = BMD_NEEDS_VIRIAL | BMD_MOVES_CELL;
    *out = d;
    return BMD_OK;
}
