/* npt_mtk.c — isothermal–isobaric (npt_mtk) and isenthalpic (nph)
 * molecular dynamics with the Martyna–Tobias–Klein barostat and
 * Nosé–Hoover chains, as LAMMPS's fix npt and fix nph (FixNH).
 *
 * Martyna, Tobias, Klein, J. Chem. Phys. 101, 4177 (1994); the explicit
 * reversible integrator of Martyna, Tuckerman, Tobias, Klein, Mol. Phys.
 * 87, 1117 (1996), Tuckerman, Alejandre, López-Rendón, Jochim, Martyna,
 * J. Phys. A 39, 5629 (2006), and Shinoda, Shiga, Mikami, Phys. Rev. B 69,
 * 134103 (2004), in the Trotter splitting LAMMPS uses (one loop, no
 * Suzuki–Yoshida weights, no drag, mtk yes, dilate all). Per system, with N
 * atoms, N_f = 3N − 3 (3 if N = 1; the catalogue's BMD_DOF_MOMENTUM, as
 * LAMMPS's compute temp), V the volume, 2K = Σ m v² (energy units), P the
 * target pressure and the cell in its own frame (mtk_cell.h: LAMMPS's
 * orientation, a along x, b in the xy plane; the structure is not turned):
 *
 *   barostat: strain rates ω̇ (1/fs) in Voigt order xx yy zz yz xz xy; iso:
 *     one rate (ω̇_xx = ω̇_yy = ω̇_zz), aniso: the three diagonal ones, tri:
 *     all six (ω̇ upper-triangular, ḣ = ω̇ h); mass W = (N + 1) kT₀ pdamp²
 *     per component; pressure tensor P_ij = (Σ m v_i v_j − V σ_ij)/V (σ
 *     the model's stress, ASE's sign), iso: its trace/3;
 *   W ω̈_i = (P_ii − P) V + 2K/(3N)  (i = x, y, z),  W ω̈_ij = P_ij V;
 *   velocities feel −(ω̇ + mtk₂) v with mtk₂ = (ω̇_xx + ω̇_yy + ω̇_zz)/(3N);
 *   thermostat (npt_mtk only): the chain of nvt_nose_hoover on 2K, target
 *     N_f kT, Q_1 = N_f kT tdamp², Q_j = kT tdamp²;
 *   barostat thermostat (pchain ≥ 1): a chain on Σ W ω̇_i² with target
 *     L kT₀ (L = 1 iso, 3 aniso, 6 tri), masses kT₀ pdamp²;
 *   kT₀ = k_B × the thermostat's temperature (npt_mtk), or ptemp, or the
 *     kinetic temperature on entry (nph: LAMMPS's t0).
 *
 * One step (LAMMPS's FixNH::initial_integrate | forces | final_integrate):
 *   pre_update:  BNHC(dt/2); NHC(dt/2); ω̇ ← ω̇ + (dt/2) ω̈; v ← e^{−(ω̇+mtk₂) dt/2} v;
 *                v ← v + (dt/2) a; remap(dt/2); x ← x + dt v; remap(dt/2)
 *   post_update: v ← v + (dt/2) a; v ← e^{−(ω̇+mtk₂) dt/2} v; ω̇ ← ω̇ + (dt/2) ω̈;
 *                NHC(dt/2); BNHC(dt/2)
 * NHC and BNHC are nhc.h's half step; remap moves the cell by ḣ = ω̇ h and
 * the atoms with it (fractional coordinates kept, the origin fixed: LAMMPS
 * dilates about the box centre, which is the same motion up to a uniform
 * translation). Pressures are taken with the velocities of that moment and
 * the stress of the last evaluation.
 *
 * Conserved quantity H = K + U + E_ext, with
 *   E_ext = P V + Σ_i W ω̇_i²/2 + (npt_mtk) E_chain(thermostat) + E_chain(barostat thermostat),
 * the sums over the rates the coupling moves (iso: the three equal ones)
 * and E_chain the chain energy of nhc.h (target L kT₀ for the barostat's).
 * It is LAMMPS's f_ID (FixNH::compute_scalar) plus P V₀ (LAMMPS counts
 * P (V − V₀) from the volume at setup), except for iso with pchain ≥ 1,
 * where LAMMPS's sum counts the first barostat-thermostat position with
 * 3 kT₀ where its dynamics drives kT₀ (so f_ID is not conserved there);
 * E_ext here uses the dynamics' kT₀.
 *
 * Parameters: npt_mtk: dt (fs), temperature (K), pressure (bar; lj: ε/σ³),
 * tdamp (fs; 0: 100 dt), pdamp (fs; 0: 1000 dt), couple (iso|aniso|tri),
 * chain (1..10, LAMMPS's tchain), pchain (0..10), init_temperature (K);
 * nph: the same without temperature, tdamp and chain, with ptemp (K;
 * absent: the kinetic temperature on entry). Columns (i = sub-stage
 * index, T = npt_mtk or nph): "T.i.par" (the parameters) and "T.i.st" =
 * [η[10], η̇[11], η̈[10], η_p[10], η̇_p[11], η̈_p[10], ω̇[6], T₀, E_ext] at
 * offsets 0, 10, 21, 31, 41, 52, 62, 68, 69. A system whose cell is not
 * periodic along a, b and c leaves as not_periodic; one without a stress
 * from the model as no_stress; nph's system at rest without ptemp as
 * invalid_param_ptemp. */
#include "dynamics/dynamics_internal.h"
#include "dynamics/mtk_cell.h"
#include "dynamics/nhc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MM BMD__NH_MAX_CHAIN
enum { MTK_ISO, MTK_ANISO, MTK_TRI };
#define MTK_COUPLE_WORDS "iso|aniso|tri"

/* ---- catalogue entries (registry.c lists them) ---- */
#define PARAM_PRESSURE                                                                                              \
    { .name = "pressure", .unit = "bar", .def = NAN, .doc = "target pressure (bar; lj: eps/sigma^3)" }
#define PARAM_PDAMP                                                                                                 \
    { .name = "pdamp", .unit = "fs", .def = 0, .doc = "barostat damping time (0: 1000 dt)",                        \
      BMD__RANGE(0, INFINITY, 0, "a damping time >= 0 fs (0: 1000 dt)") }
#define PARAM_COUPLE                                                                                                \
    { .name = "couple", .unit = "", .def = MTK_ISO, .kind = BMD_PARAM_CHOICE, .choices = MTK_COUPLE_WORDS,         \
      .doc = "iso: one strain rate; aniso: the three lengths; tri: all six cell components" }
#define PARAM_PCHAIN                                                                                                \
    { .name = "pchain", .unit = "", .def = 3, .doc = "barostat thermostat chain length (0: none)",                 \
      BMD__RANGE(0, BMD__NH_MAX_CHAIN, 0, "a whole number from 0 to 10"), .kind = BMD_PARAM_WHOLE }

enum { NPT_DT, NPT_T, NPT_P, NPT_TDAMP, NPT_PDAMP, NPT_COUPLE, NPT_CHAIN, NPT_PCHAIN, NPT_INIT_T, NPT_NPAR };
static const bmd_param_desc npt_params[NPT_NPAR] = {
    [NPT_DT] = BMD__PARAM_DT("fs", NAN, "time step"),
    [NPT_T] = BMD__PARAM_TEMPERATURE(1, "a temperature > 0 K"),
    [NPT_P] = PARAM_PRESSURE,
    [NPT_TDAMP] = BMD__PARAM_TDAMP,
    [NPT_PDAMP] = PARAM_PDAMP,
    [NPT_COUPLE] = PARAM_COUPLE,
    [NPT_CHAIN] = {.name = "chain", .unit = "", .def = 3, .doc = "Nose-Hoover chain length (1 to 10)",
                   BMD__RANGE(1, BMD__NH_MAX_CHAIN, 0, "a whole number from 1 to 10"), .kind = BMD_PARAM_WHOLE},
    [NPT_PCHAIN] = PARAM_PCHAIN,
    [NPT_INIT_T] = BMD__PARAM_INIT_T,
};

enum { NPH_DT, NPH_P, NPH_PDAMP, NPH_COUPLE, NPH_PCHAIN, NPH_PTEMP, NPH_INIT_T, NPH_NPAR };
static const bmd_param_desc nph_params[NPH_NPAR] = {
    [NPH_DT] = BMD__PARAM_DT("fs", NAN, "time step"),
    [NPH_P] = PARAM_PRESSURE,
    [NPH_PDAMP] = PARAM_PDAMP,
    [NPH_COUPLE] = PARAM_COUPLE,
    [NPH_PCHAIN] = PARAM_PCHAIN,
    [NPH_PTEMP] = {.name = "ptemp", .unit = "K", .def = NAN, .optional = 1,
                   .doc = "temperature of the barostat's masses (LAMMPS's ptemp; absent: the kinetic temperature on entry)",
                   BMD__RANGE(0, INFINITY, 1, "a temperature > 0 K")},
    [NPH_INIT_T] = BMD__PARAM_INIT_T,
};

static bmd_status npt_create(const double *values, bmd_dynamics **out);
static bmd_status nph_create(const double *values, bmd_dynamics **out);

const bmd_dynamics_type bmd__npt_mtk_type = {
    .type = "npt_mtk",
    .doc = "Martyna-Tobias-Klein barostat with Nose-Hoover chains, as LAMMPS fix npt",
    .dof = BMD__NH_DOF, BMD__PARAMS(npt_params), .create = npt_create, .py_name = "NPTMTK"};

const bmd_dynamics_type bmd__nph_type = {
    .type = "nph", .doc = "Martyna-Tobias-Klein barostat without thermostat (constant enthalpy), as LAMMPS fix nph",
    .dof = BMD__NH_DOF, BMD__PARAMS(nph_params), .create = nph_create, .py_name = "NPH"};

/* Where each type keeps each parameter (-1: it has none). */
typedef struct mtk_spec {
    const char *type;
    int npar, dt, t, p, tdamp, pdamp, couple, chain, pchain, ptemp, init_t;
} mtk_spec;

static const mtk_spec npt_spec = {"npt_mtk", NPT_NPAR, NPT_DT, NPT_T, NPT_P, NPT_TDAMP, NPT_PDAMP,
                                  NPT_COUPLE, NPT_CHAIN, NPT_PCHAIN, -1, NPT_INIT_T};
static const mtk_spec nph_spec = {"nph", NPH_NPAR, NPH_DT, -1, NPH_P, -1, NPH_PDAMP,
                                  NPH_COUPLE, -1, NPH_PCHAIN, NPH_PTEMP, NPH_INIT_T};

/* ---- per-system state ---- */
enum {
    ST_ETA = 0, ST_ETAD = MM, ST_ETADD = 2 * MM + 1,
    ST_ETAP = 3 * MM + 1, ST_ETAPD = 4 * MM + 1, ST_ETAPDD = 5 * MM + 2,
    ST_OMEGAD = 6 * MM + 2, ST_T0 = ST_OMEGAD + 6, ST_EEXT = ST_T0 + 1, ST_WIDTH = ST_EEXT + 1
};

typedef struct mtk {
    const mtk_spec *spec;
    bmd__params par;
    int substage;
    char n_par[BMD_COLUMN_NAME], n_st[BMD_COLUMN_NAME];
    int c_par, c_st;
} mtk;

static int columns(mtk *d, bmd_batch *b, int substage) {
    if (d->substage != substage) {
        d->substage = substage;
        bmd__colname(d->n_par, d->spec->type, substage, "par");
        bmd__colname(d->n_st, d->spec->type, substage, "st");
    }
    return bmd__column(b, &d->c_par, d->n_par, 0, d->spec->npar) >= 0 &&
           bmd__column(b, &d->c_st, d->n_st, 0, ST_WIDTH) >= 0;
}

/* One system's settings, from its parameter row p and state row t. */
typedef struct cfg {
    double dt, P;      /* time step; target pressure, energy/volume */
    double kT, kT0;    /* the thermostat's kT (0 without), the barostat's kT₀ */
    int couple, M, Mp; /* coupling; chain lengths (0: none) */
    int n, nf;         /* atoms, N_f */
    double W;          /* barostat mass per component */
    double Q[MM], Qp[MM];
} cfg;

/* nf: the system's N_f as the stage counts it (fixed atoms, fix_com:
 * bmd_batch_dof); a system with nothing free has no thermostat to drive. */
static void cfg_of(const mtk_spec *sp, const double *p, const double *t, int n, int nf, const bmd_units *u, cfg *c) {
    c->dt = p[sp->dt];
    c->P = p[sp->p] * u->pressure;
    c->couple = (int)p[sp->couple];
    c->n = n;
    c->nf = nf;
    c->M = sp->chain >= 0 && nf > 0 ? (int)p[sp->chain] : 0;
    c->Mp = (int)p[sp->pchain];
    c->kT = c->M ? u->boltzmann * p[sp->t] : 0.0;
    c->kT0 = u->boltzmann * t[ST_T0];
    const double tdamp = sp->tdamp >= 0 && p[sp->tdamp] > 0 ? p[sp->tdamp] : 100.0 * c->dt;
    const double pdamp = p[sp->pdamp] > 0 ? p[sp->pdamp] : 1000.0 * c->dt;
    /* LAMMPS's masses (FixNH::setup): frequencies 1/tdamp, 1/pdamp */
    const double tf = 1.0 / tdamp, pf = 1.0 / pdamp;
    if (c->M) {
        c->Q[0] = c->nf * c->kT / (tf * tf);
        for (int j = 1; j < c->M; j++) c->Q[j] = c->kT / (tf * tf);
    }
    c->W = (n + 1) * c->kT0 / (pf * pf);
    for (int j = 0; j < c->Mp; j++) c->Qp[j] = c->kT0 / (pf * pf);
}

/* The rates the coupling moves (iso keeps three equal ones, as LAMMPS) and
 * the barostat thermostat's target multiple L. */
static int n_rates(const cfg *c) { return c->couple == MTK_TRI ? 6 : 3; }
static double baro_dof(const cfg *c) { return c->couple == MTK_ISO ? 1.0 : (double)n_rates(c); }

static double sum_mv2(const bmd_batch *b, int s) {
    const double *v = b->vel + 3 * (size_t)b->atom_start[s], *m = b->mass + b->atom_start[s];
    double k = 0;
    for (int i = 0; i < b->atom_count[s]; i++)
        k += m[i] * (v[3 * i] * v[3 * i] + v[3 * i + 1] * v[3 * i + 1] + v[3 * i + 2] * v[3 * i + 2]);
    return k;
}

/* LAMMPS's p_current (couple()) in the frame, energy/volume, from the
 * velocities now and the last stress; returns 2K (energy). */
static double pressures(const bmd_batch *b, int s, const cfg *c, const bmd__mtk_frame *f, double V, double mvv2e,
                        double *pc) {
    const double *sg = b->stress + 6 * (size_t)s;
    if (c->couple == MTK_ISO) {
        const double ke2 = mvv2e * sum_mv2(b, s);
        pc[0] = pc[1] = pc[2] = (ke2 - V * (sg[0] + sg[1] + sg[2])) / (3.0 * V);
        return ke2;
    }
    const double *v = b->vel + 3 * (size_t)b->atom_start[s], *m = b->mass + b->atom_start[s];
    double kt[6] = {0, 0, 0, 0, 0, 0}; /* Σ m v_i v_j, Voigt */
    for (int i = 0; i < b->atom_count[s]; i++) {
        const double *w = v + 3 * (size_t)i;
        kt[0] += m[i] * w[0] * w[0];
        kt[1] += m[i] * w[1] * w[1];
        kt[2] += m[i] * w[2] * w[2];
        kt[3] += m[i] * w[1] * w[2];
        kt[4] += m[i] * w[0] * w[2];
        kt[5] += m[i] * w[0] * w[1];
    }
    double lab[6];
    for (int k = 0; k < 6; k++) lab[k] = (mvv2e * kt[k] - V * sg[k]) / V;
    bmd__mtk_tensor_to_frame(f, lab, pc);
    return mvv2e * (kt[0] + kt[1] + kt[2]);
}

/* LAMMPS's FixNH::nh_omega_dot: ω̇ ← ω̇ + (dt/2) ω̈. */
static void omega_half(const cfg *c, double *wd, const double *pc, double V, double ke2) {
    const double mtk1 = ke2 / (3.0 * c->n), half = 0.5 * c->dt;
    for (int i = 0; i < 3; i++) wd[i] += ((pc[i] - c->P) * V / c->W + mtk1 / c->W) * half;
    if (c->couple == MTK_TRI)
        for (int i = 3; i < 6; i++) wd[i] += pc[i] * V / c->W * half;
}

/* LAMMPS's FixNH::nh_v_press for slot s. */
static void v_press(bmd_batch *b, int s, const cfg *c, const bmd__mtk_frame *f, const double *wd) {
    const double mtk2 = (wd[0] + wd[1] + wd[2]) / (3.0 * c->n), dt4 = 0.25 * c->dt;
    const double sc[3] = {exp(-dt4 * (wd[0] + mtk2)), exp(-dt4 * (wd[1] + mtk2)), exp(-dt4 * (wd[2] + mtk2))};
    bmd__mtk_scale_velocities(f, b->vel + 3 * (size_t)b->atom_start[s], b->atom_count[s], sc, wd, 0.5 * c->dt,
                              c->couple == MTK_TRI);
}

/* The barostat thermostat's half step (LAMMPS's nhc_press_integrate). */
static void baro_chain(const cfg *c, double *t) {
    if (!c->Mp) return;
    double *wd = t + ST_OMEGAD, ke2 = 0;
    for (int i = 0; i < n_rates(c); i++) ke2 += c->W * wd[i] * wd[i];
    const double factor = bmd__nhc_half(c->Mp, t + ST_ETAP, t + ST_ETAPD, t + ST_ETAPDD, c->Qp, ke2,
                                        baro_dof(c) * c->kT0, c->kT0, c->dt);
    for (int i = 0; i < n_rates(c); i++) wd[i] *= factor;
}

/* The thermostat's half step (npt_mtk; LAMMPS's nhc_temp_integrate). */
static void thermo_chain(bmd_batch *b, int s, const cfg *c, double *t, double mvv2e) {
    if (!c->M) return;
    const double factor = bmd__nhc_half(c->M, t + ST_ETA, t + ST_ETAD, t + ST_ETADD, c->Q, mvv2e * sum_mv2(b, s),
                                        c->nf * c->kT, c->kT, c->dt);
    double *v = b->vel + 3 * (size_t)b->atom_start[s];
    for (int j = 0; j < 3 * b->atom_count[s]; j++) v[j] *= factor;
}

/* E_ext = H − K − U (the top of this file). */
static double e_ext(const cfg *c, const double *t, double V) {
    double e = c->P * V;
    for (int i = 0; i < n_rates(c); i++) e += 0.5 * c->W * t[ST_OMEGAD + i] * t[ST_OMEGAD + i];
    if (c->M) e += bmd__nhc_energy(c->M, t + ST_ETA, t + ST_ETAD, c->Q, c->nf * c->kT, c->kT);
    if (c->Mp) e += bmd__nhc_energy(c->Mp, t + ST_ETAP, t + ST_ETAPD, c->Qp, baro_dof(c) * c->kT0, c->kT0);
    return e;
}

static double volume_of(const bmd__mtk_frame *f) { return f->h[0] * f->h[1] * f->h[2]; }

static int whole_in(double x, int lo, int hi) { return x >= lo && x <= hi && x == floor(x); }

/* The reason system s with parameter row p cannot run, NULL when it can. */
static const char *refusal(const mtk_spec *sp, const bmd_batch *b, int s, const double *p) {
    if (!(p[sp->dt] > 0)) return "invalid_param_dt";
    if (sp->t >= 0 && !(p[sp->t] > 0)) return "invalid_param_temperature";
    if (!isfinite(p[sp->p])) return "invalid_param_pressure";
    if (sp->tdamp >= 0 && !(p[sp->tdamp] >= 0)) return "invalid_param_tdamp";
    if (!(p[sp->pdamp] >= 0)) return "invalid_param_pdamp";
    if (!whole_in(p[sp->couple], MTK_ISO, MTK_TRI)) return "invalid_param_couple";
    if (sp->chain >= 0 && !whole_in(p[sp->chain], 1, MM)) return "invalid_param_chain";
    if (!whole_in(p[sp->pchain], 0, MM)) return "invalid_param_pchain";
    if (sp->ptemp >= 0 && !isnan(p[sp->ptemp]) && !(p[sp->ptemp] > 0)) return "invalid_param_ptemp";
    const unsigned char *pbc = b->pbc + 3 * (size_t)s;
    if (!pbc[0] || !pbc[1] || !pbc[2]) return "not_periodic";
    if (!b->stress_valid[s]) return "no_stress";
    return NULL;
}

static bmd_status mtk_enter(void *self, bmd_batch *b, const unsigned char *enter, const bmd_step_info *si) {
    mtk *d = self;
    const mtk_spec *sp = d->spec;
    if (!columns(d, b, si->substage)) return BMD_ERR_BUDGET;
    bmd__params_read(&d->par, b, enter, d->c_par);
    double *par = bmd_batch_column_data(b, d->c_par);
    for (int s = 0; s < b->n_systems; s++) {
        if (!enter[s] || b->status[s] < 0) continue;
        const char *why = refusal(sp, b, s, par + (size_t)s * sp->npar);
        if (why) bmd_stage_fail(b, s, why);
    }
    bmd_status rc = bmd__init_velocities(b, enter, par, sp->npar, sp->init_t, si, BMD__NH_DOF);
    if (rc) return rc;
    double *st = bmd_batch_column_data(b, d->c_st);
    for (int s = 0; s < b->n_systems; s++) {
        if (!enter[s]) continue;
        double *t = st + (size_t)s * ST_WIDTH;
        memset(t, 0, ST_WIDTH * sizeof(double));
        if (b->status[s] < 0) continue;
        const double *p = par + (size_t)s * sp->npar;
        bmd__mtk_frame f;
        if (bmd__mtk_frame_of(b->cell + 9 * (size_t)s, &f)) {
            bmd_stage_fail(b, s, "cell_degenerate");
            continue;
        }
        /* T₀: the thermostat's temperature, or nph's ptemp, or the kinetic
         * temperature now (LAMMPS's t0; it refuses one below 1e-6) */
        double t0 = sp->t >= 0 ? p[sp->t] : p[sp->ptemp];
        if (isnan(t0)) t0 = bmd_temperature(b, s, si->units, bmd__dof_rule(si, BMD__NH_DOF));
        if (sp->t < 0 && !(t0 >= 1e-6)) {
            bmd_stage_fail(b, s, "invalid_param_ptemp");
            continue;
        }
        t[ST_T0] = t0;
        cfg c;
        cfg_of(sp, p, t, b->atom_count[s], bmd_batch_dof(b, s, bmd__dof_rule(si, BMD__NH_DOF)), si->units, &c);
        /* at rest, with the chains' forces of LAMMPS's setup() */
        if (c.M) bmd__nhc_rest(c.M, t + ST_ETADD, c.Q, c.kT);
        if (c.Mp) bmd__nhc_rest(c.Mp, t + ST_ETAPDD, c.Qp, c.kT0);
        t[ST_EEXT] = e_ext(&c, t, volume_of(&f));
    }
    return BMD_OK;
}

static bmd_status mtk_pre(void *self, bmd_batch *b, const unsigned char *mask, const bmd_step_info *si) {
    mtk *d = self;
    const mtk_spec *sp = d->spec;
    if (!columns(d, b, si->substage)) return BMD_ERR_BUDGET;
    const double *par = bmd_batch_column_data(b, d->c_par);
    double *st = bmd_batch_column_data(b, d->c_st);
    const bmd_units *u = si->units;
    const int ns = b->n_systems;
    BMD__OMP_FOR_SYSTEMS(bmd__parallel(b))
    for (int s = 0; s < ns; s++) {
        if (!mask[s]) continue;
        double *t = st + (size_t)s * ST_WIDTH, *cell = b->cell + 9 * (size_t)s;
        cfg c;
        cfg_of(sp, par + (size_t)s * sp->npar, t, b->atom_count[s],
               bmd_batch_dof(b, s, bmd__dof_rule(si, BMD__NH_DOF)), u, &c);
        bmd__mtk_frame f;
        if (bmd__mtk_frame_of(cell, &f)) {
            bmd_stage_fail(b, s, "cell_degenerate");
            continue;
        }
        if (!b->stress_valid[s]) {
            bmd_stage_fail(b, s, "no_stress");
            continue;
        }
        baro_chain(&c, t);
        thermo_chain(b, s, &c, t, u->mvv2e);
        const double V = volume_of(&f);
        double pc[6];
        const double ke2 = pressures(b, s, &c, &f, V, u->mvv2e, pc);
        omega_half(&c, t + ST_OMEGAD, pc, V, ke2);
        v_press(b, s, &c, &f, t + ST_OMEGAD);
        bmd__half_kick(b, s, c.dt, u->ftm2v);
        double *x = b->pos + 3 * (size_t)b->atom_start[s];
        const double *v = b->vel + 3 * (size_t)b->atom_start[s];
        const int n = b->atom_count[s], tri = c.couple == MTK_TRI;
        bmd__mtk_remap(&f, cell, x, n, t + ST_OMEGAD, 0.5 * c.dt, tri);
        for (int j = 0; j < 3 * n; j++) x[j] += c.dt * v[j];
        bmd__mtk_remap(&f, cell, x, n, t + ST_OMEGAD, 0.5 * c.dt, tri);
    }
    return BMD_OK;
}

static bmd_status mtk_post(void *self, bmd_batch *b, const unsigned char *mask, const bmd_step_info *si) {
    mtk *d = self;
    const mtk_spec *sp = d->spec;
    if (!columns(d, b, si->substage)) return BMD_ERR_BUDGET;
    const double *par = bmd_batch_column_data(b, d->c_par);
    double *st = bmd_batch_column_data(b, d->c_st);
    const bmd_units *u = si->units;
    const int ns = b->n_systems;
    BMD__OMP_FOR_SYSTEMS(bmd__parallel(b))
    for (int s = 0; s < ns; s++) {
        if (!mask[s]) continue;
        double *t = st + (size_t)s * ST_WIDTH;
        cfg c;
        cfg_of(sp, par + (size_t)s * sp->npar, t, b->atom_count[s],
               bmd_batch_dof(b, s, bmd__dof_rule(si, BMD__NH_DOF)), u, &c);
        bmd__mtk_frame f;
        if (bmd__mtk_frame_of(b->cell + 9 * (size_t)s, &f)) {
            bmd_stage_fail(b, s, "cell_degenerate");
            continue;
        }
        if (!b->stress_valid[s]) {
            bmd_stage_fail(b, s, "no_stress");
            continue;
        }
        bmd__half_kick(b, s, c.dt, u->ftm2v);
        v_press(b, s, &c, &f, t + ST_OMEGAD);
        const double V = volume_of(&f);
        double pc[6];
        const double ke2 = pressures(b, s, &c, &f, V, u->mvv2e, pc);
        omega_half(&c, t + ST_OMEGAD, pc, V, ke2);
        thermo_chain(b, s, &c, t, u->mvv2e);
        baro_chain(&c, t);
        t[ST_EEXT] = e_ext(&c, t, V);
    }
    return BMD_OK;
}

static void mtk_destroy(void *self) { free(self); }

/* E_ext of the state row (H − K − U after the last half step). */
static bmd_status mtk_extended(void *self, bmd_batch *b, const unsigned char *mask, double *extra,
                               const bmd_step_info *si) {
    mtk *d = self;
    if (!columns(d, b, si->substage)) return BMD_ERR_BUDGET;
    const double *st = bmd_batch_column_data(b, d->c_st);
    for (int s = 0; s < b->n_systems; s++)
        if (mask[s]) extra[s] = st[(size_t)s * ST_WIDTH + ST_EEXT];
    return BMD_OK;
}

static const bmd_dynamics_ops npt_ops = {.type = "npt_mtk", .enter = mtk_enter, .pre_update = mtk_pre,
                                         .post_update = mtk_post, .destroy = mtk_destroy,
                                         .extended_energy = mtk_extended};
static const bmd_dynamics_ops nph_ops = {.type = "nph", .enter = mtk_enter, .pre_update = mtk_pre,
                                         .post_update = mtk_post, .destroy = mtk_destroy,
                                         .extended_energy = mtk_extended};

static bmd_status create(const mtk_spec *sp, const bmd_dynamics_ops *ops, const double *values, bmd_dynamics **out) {
    mtk *n = calloc(1, sizeof *n);
    bmd_dynamics *d = calloc(1, sizeof *d);
    if (!n || !d) {
        free(n);
        free(d);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory creating %s", sp->type);
    }
    n->spec = sp;
    bmd__params_init(&n->par, sp->type, values);
    n->substage = -1;
    n->c_par = n->c_st = -1;
    d->ops = ops;
    d->self = n;
    d->needs = BMD_NEEDS_VIRIAL | BMD_MOVES_CELL;
    *out = d;
    return BMD_OK;
}

static bmd_status npt_create(const double *values, bmd_dynamics **out) { return create(&npt_spec, &npt_ops, values, out); }
static bmd_status nph_create(const double *values, bmd_dynamics **out) { return create(&nph_spec, &nph_ops, values, out); }
