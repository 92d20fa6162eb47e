/* cell_filter.c — owns the generalized coordinates of cell_filter.h: ASE's
 * cell filters, on one system of N atoms.
 *
 * Row vectors as ASE: the cell C has the lattice vectors as rows, x_i are
 * the positions, C0 the cell at entry (orig_cell). The deformation gradient
 * F = (C0⁻¹ C)ᵀ (ASE's deform_grad: C = C0 Fᵀ); the atoms' coordinates in
 * the undeformed cell z_i = F⁻¹ x_i (row form x_i F⁻ᵀ). σ is the model's
 * stress (b->stress, ASE's sign), V = |det C|, p the target pressure and T
 * the target stress (both campaign units × u->pressure = eV/Å³); the virial
 *
 *     W = −V (σ − T + p I)
 *
 * (ASE's −V (σ + p I) with T = 0: scalar_pressure). The generalized
 * positions are N + 3 rows: z_1..z_N, then three rows from F; the forces on
 * the atom rows are f_i F (row form), and on the cell rows:
 *
 * unit — ASE 3.22's UnitCellFilter, cell_factor c (absent: N):
 *     positions: c F;   set_positions(G): F' = G / c
 *     forces:    W' = W F⁻ᵀ; hydrostatic: W' ← tr(W')/3 I; mask: W' ← W' ∘ M;
 *                constant_volume: W'_ii ← W'_ii − tr(W')/3; rows W' / c
 *     (W F⁻ᵀ = −∂(E + pV)/∂F: the forces are the gradient of E + pV)
 *
 * exp — ASE 3.22's ExpCellFilter (no cell factor: ASE ignores it):
 *     positions: U = log F;   set_positions(U'): F' = exp(U')
 *     forces:    hydrostatic, then mask, on W itself (no F⁻ᵀ);
 *                D = −L_exp(U, −W exp(−U)), symmetrized; ASE keeps D only
 *                when it is not close (numpy's isclose) to W and its cosine
 *                with W is <= 0.8, else takes W (the "naive" force, what
 *                ASE 3.22 uses nearly always: not the gradient once U ≠ 0);
 *                constant_volume on that; rows D
 *
 * frechet — newer ASE's FrechetCellFilter (3.23), cell factor c (absent: N):
 *     positions: X = c log F;   set_positions(X'): F' = exp(X'/c), and the
 *                masked components of F' − I are zeroed (ASE >= 3.24:
 *                F_eff = I + (F' − I) ∘ M)
 *     forces:    hydrostatic on W; G = (W F⁻ᵀ) ∘ M (= −∂(E + pV)/∂F' through
 *                the mask; ASE masks W before the F⁻ᵀ, the same for a
 *                diagonal F); D = L_exp(Uᵀ, G) with U = log F, since
 *                ⟨L_exp(U, E_mn), G⟩ = L_exp(Uᵀ, G)_mn (the adjoint of the
 *                Fréchet derivative of a real power series is the
 *                derivative at Uᵀ): ASE's nine expm_frechet calls in one;
 *                constant_volume: D_ii ← D_ii − tr(D)/3; rows D / c.
 *     So the forces are −∂(E + pV)/∂X exactly (hydrostatic and
 *     constant_volume excepted, as in ASE). ASE's positions are
 *     c log(N F) = X + c log N I: a constant shift, the same steps.
 *
 * In every filter set_positions sets C = C0 F'ᵀ and x_i = z_i F'ᵀ (ASE's
 * set_cell(scale_atoms=True) then set_positions). M is the mask as a
 * symmetric 3x3 (Voigt xx yy zz yz xz xy: M_xy = M_yx = mask[xy] ...).
 * A target stress T or pressure p makes E + pV (or its generalization) an
 * enthalpy whose minimum has σ = T − p I. */
#include "dynamics/cell_filter.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/matfun.h"

static const double ID[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};

/* the mask as a symmetric 3x3 of 0/1; 1 when every component relaxes */
static int mask3(const double *cellpar, double m[9]) {
    const int bits = (int)cellpar[BMD__CELLP_MASK];
    /* Voigt index of each 3x3 entry */
    static const int voigt[9] = {0, 5, 4, 5, 1, 3, 4, 3, 2};
    int all = 1;
    for (int k = 0; k < 9; k++) {
        m[k] = (bits >> voigt[k]) & 1 ? 1.0 : 0.0;
        all &= m[k] == 1.0;
    }
    return all;
}

static double factor(const double *cellpar, int n) {
    const double c = cellpar[BMD__CELLP_FACTOR];
    return isnan(c) ? (double)n : c;
}

static void transpose(const double *a, double *t) {
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) t[j * 3 + i] = a[i * 3 + j];
}

static double det3(const double *a) {
    return a[0] * (a[4] * a[8] - a[5] * a[7]) - a[1] * (a[3] * a[8] - a[5] * a[6]) + a[2] * (a[3] * a[7] - a[4] * a[6]);
}

/* F = (C0⁻¹ C)ᵀ; 1 when C0 is singular or F turned over (det F <= 0: the
 * cell went through zero volume) */
static int deform_grad(const double *orig, const double *cell, double f[9]) {
    double s[9];
    memcpy(s, cell, sizeof s);
    if (bmd__mat_solve(3, orig, s, 3)) return 1;
    transpose(s, f);
    return !(det3(f) > 0);
}

bmd_status bmd__cellf_check(const double *cellpar, const char *type) {
    const int kind = bmd__cellf_kind(cellpar);
    if (kind == BMD__CELL_NONE) {
        static const char *const names[] = {"pressure", "mask", "hydrostatic", "constant_volume", "cell_factor"};
        const double defaults[] = {0, 63, 0, 0, NAN};
        for (int k = 0; k < 5; k++) {
            const double v = cellpar[BMD__CELLP_PRESSURE + k];
            if (isnan(defaults[k]) ? !isnan(v) : v != defaults[k])
                return bmd__fail(BMD_ERR_INVALID, "%s: cell.%s needs a cell filter (cell.filter: unit, exp or frechet)",
                                 type, names[k]);
        }
        for (int k = 0; k < 6; k++)
            if (cellpar[BMD__CELLP_STRESS + k] != 0)
                return bmd__fail(BMD_ERR_INVALID, "%s: cell.stress needs a cell filter (cell.filter: unit, exp or frechet)",
                                 type);
    }
    if (kind == BMD__CELL_EXP && !isnan(cellpar[BMD__CELLP_FACTOR]))
        return bmd__fail(BMD_ERR_INVALID, "%s: cell.cell_factor: the exp filter (ASE's ExpCellFilter) has no cell "
                                          "factor (its cell coordinates are log F); use filter unit or frechet",
                         type);
    return BMD_OK;
}

const char *bmd__cellf_enter(const double *cellpar, const bmd_batch *b, int s, double *state) {
    memset(state, 0, BMD__CELLF_STATE_WIDTH * sizeof(double));
    memcpy(state, b->cell + 9 * (size_t)s, 9 * sizeof(double));
    const int kind = bmd__cellf_kind(cellpar);
    if (kind == BMD__CELL_NONE) return NULL;
    if (kind == BMD__CELL_EXP && !isnan(cellpar[BMD__CELLP_FACTOR])) return "invalid_param_cell_factor";
    if (!b->stress_valid[s]) return "no_stress";
    double f[9];
    if (deform_grad(state, b->cell + 9 * (size_t)s, f)) return "cell_degenerate";
    return NULL;
}

/* F, and the cell rows of the positions, of system s; 1 when F has none */
static int cell_coordinates(const double *cellpar, const double *state, const bmd_batch *b, int s, double f[9],
                            double rows[9]) {
    if (deform_grad(state, b->cell + 9 * (size_t)s, f)) return 1;
    const int kind = bmd__cellf_kind(cellpar);
    if (kind == BMD__CELL_UNIT) {
        const double c = factor(cellpar, b->atom_count[s]);
        for (int k = 0; k < 9; k++) rows[k] = c * f[k];
        return 0;
    }
    if (bmd__logm3(f, rows)) return 1;
    if (kind == BMD__CELL_FRECHET) {
        const double c = factor(cellpar, b->atom_count[s]);
        for (int k = 0; k < 9; k++) rows[k] *= c;
    }
    return 0;
}

const char *bmd__cellf_get_positions(const double *cellpar, const double *state, const bmd_batch *b, int s,
                                     double *x) {
    const int n = b->atom_count[s];
    const double *pos = b->pos + 3 * (size_t)b->atom_start[s];
    if (bmd__cellf_kind(cellpar) == BMD__CELL_NONE) {
        memcpy(x, pos, 3 * (size_t)n * sizeof(double));
        return NULL;
    }
    double f[9];
    if (cell_coordinates(cellpar, state, b, s, f, x + 3 * (size_t)n)) return "cell_degenerate";
    /* z_i = F⁻¹ x_i (ASE: solve(F, positions.T).T) */
    for (int i = 0; i < n; i++) {
        double z[3] = {pos[3 * i], pos[3 * i + 1], pos[3 * i + 2]};
        if (bmd__mat_solve(3, f, z, 1)) return "cell_degenerate";
        memcpy(x + 3 * (size_t)i, z, sizeof z);
    }
    return NULL;
}

/* W' ← tr(W')/3 I (hydrostatic_strain) */
static void hydrostatic(double *w) {
    const double t = w[0] + w[4] + w[8];
    for (int k = 0; k < 9; k++) w[k] = (k % 4) == 0 ? t / 3.0 : 0.0;
}

/* W'_ii ← W'_ii − tr(W')/3 (constant_volume) */
static void deviatoric(double *w) {
    const double t = w[0] + w[4] + w[8];
    for (int k = 0; k < 9; k += 4) w[k] -= t / 3.0;
}

/* numpy's isclose(a, b) (rtol 1e-5, atol 1e-8) for all nine */
static int all_close(const double *a, const double *b) {
    for (int k = 0; k < 9; k++)
        if (!(fabs(a[k] - b[k]) <= 1e-8 + 1e-5 * fabs(b[k]))) return 0;
    return 1;
}

const char *bmd__cellf_get_forces(const double *cellpar, const double *state, const bmd_batch *b, int s,
                                  const bmd_units *u, double *out) {
    const int n = b->atom_count[s], kind = bmd__cellf_kind(cellpar);
    const double *force = b->force + 3 * (size_t)b->atom_start[s];
    if (kind == BMD__CELL_NONE) {
        memcpy(out, force, 3 * (size_t)n * sizeof(double));
        return NULL;
    }
    if (!b->stress_valid[s]) return "no_stress";
    double f[9];
    if (deform_grad(state, b->cell + 9 * (size_t)s, f)) return "cell_degenerate";
    for (int i = 0; i < n; i++) /* f_i F (ASE: atoms_forces @ cur_deform_grad) */
        for (int j = 0; j < 3; j++)
            out[3 * i + j] = force[3 * i] * f[j] + force[3 * i + 1] * f[3 + j] + force[3 * i + 2] * f[6 + j];

    /* W = −V (σ − T + p I) */
    const double *sv = b->stress + 6 * (size_t)s, *tv = cellpar + BMD__CELLP_STRESS;
    const double p = cellpar[BMD__CELLP_PRESSURE] * u->pressure, V = bmd_batch_volume(b, s);
    static const int voigt[9] = {0, 5, 4, 5, 1, 3, 4, 3, 2};
    double w[9], m[9];
    for (int k = 0; k < 9; k++)
        w[k] = -V * ((sv[voigt[k]] - tv[voigt[k]] * u->pressure) + ((k % 4) == 0 ? p : 0.0));
    const int all = mask3(cellpar, m);
    const int hydro = cellpar[BMD__CELLP_HYDROSTATIC] != 0, cvol = cellpar[BMD__CELLP_CONSTANT_VOLUME] != 0;
    double *rows = out + 3 * (size_t)n;

    if (kind == BMD__CELL_UNIT || kind == BMD__CELL_FRECHET) {
        /* (frechet: hydrostatic acts on W, before the F⁻ᵀ, as ASE) */
        if (kind == BMD__CELL_FRECHET && hydro) hydrostatic(w);
        /* W F⁻ᵀ = (F⁻¹ Wᵀ)ᵀ (ASE: solve(F, W.T).T) */
        double wt[9], g[9];
        transpose(w, wt);
        if (bmd__mat_solve(3, f, wt, 3)) return "cell_degenerate";
        transpose(wt, g);
        const double c = factor(cellpar, n);
        if (kind == BMD__CELL_UNIT) {
            if (hydro) hydrostatic(g);
            if (!all)
                for (int k = 0; k < 9; k++) g[k] *= m[k];
            if (cvol) deviatoric(g);
            for (int k = 0; k < 9; k++) rows[k] = g[k] / c;
            return NULL;
        }
        if (!all)
            for (int k = 0; k < 9; k++) g[k] *= m[k];
        double lg[9], lgt[9], d[9];
        if (bmd__logm3(f, lg)) return "cell_degenerate";
        transpose(lg, lgt);
        bmd__expm_frechet3(lgt, g, d);
        if (cvol) deviatoric(d);
        for (int k = 0; k < 9; k++) rows[k] = d[k] / c;
        return NULL;
    }

    /* exp (ASE 3.22's ExpCellFilter) */
    if (hydro) hydrostatic(w);
    if (!all)
        for (int k = 0; k < 9; k++) w[k] *= m[k];
    double lg[9], mlg[9], emlg[9], e[9], d[9];
    if (bmd__logm3(f, lg)) return "cell_degenerate";
    for (int k = 0; k < 9; k++) mlg[k] = -lg[k];
    bmd__expm(3, mlg, emlg);
    for (int i = 0; i < 3; i++) /* E = −W exp(−U) */
        for (int j = 0; j < 3; j++)
            e[i * 3 + j] = -(w[i * 3] * emlg[j] + w[i * 3 + 1] * emlg[3 + j] + w[i * 3 + 2] * emlg[6 + j]);
    bmd__expm_frechet3(lg, e, d);
    for (int k = 0; k < 9; k++) d[k] = -d[k];
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++) d[i * 3 + j] = d[j * 3 + i] = 0.5 * (d[i * 3 + j] + d[j * 3 + i]);
    double dd = 0, dn = 0, nn = 0;
    for (int k = 0; k < 9; k++) {
        dn += d[k] * w[k];
        dd += d[k] * d[k];
        nn += w[k] * w[k];
    }
    if (all_close(d, w) || dn / sqrt(dd * nn) > 0.8) memcpy(d, w, sizeof d);
    if (cvol) deviatoric(d);
    memcpy(rows, d, sizeof d);
    return NULL;
}

void bmd__cellf_set_positions(const double *cellpar, const double *state, bmd_batch *b, int s, const double *x) {
    const int n = b->atom_count[s], kind = bmd__cellf_kind(cellpar);
    double *pos = b->pos + 3 * (size_t)b->atom_start[s];
    if (kind == BMD__CELL_NONE) {
        memcpy(pos, x, 3 * (size_t)n * sizeof(double));
        return;
    }
    const double *g = x + 3 * (size_t)n;
    double f[9];
    if (kind == BMD__CELL_UNIT) {
        const double c = factor(cellpar, n);
        for (int k = 0; k < 9; k++) f[k] = g[k] / c;
    } else if (kind == BMD__CELL_EXP) {
        bmd__expm(3, g, f);
    } else {
        const double c = factor(cellpar, n);
        double gs[9], m[9];
        for (int k = 0; k < 9; k++) gs[k] = g[k] / c;
        bmd__expm(3, gs, f);
        if (!mask3(cellpar, m))
            for (int k = 0; k < 9; k++) f[k] = ID[k] + (f[k] - ID[k]) * m[k];
    }
    /* C = C0 F'ᵀ, x_i = z_i F'ᵀ */
    double *cell = b->cell + 9 * (size_t)s;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            cell[i * 3 + j] = state[i * 3] * f[j * 3] + state[i * 3 + 1] * f[j * 3 + 1] + state[i * 3 + 2] * f[j * 3 + 2];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < 3; j++)
            pos[3 * i + j] = x[3 * i] * f[j * 3] + x[3 * i + 1] * f[j * 3 + 1] + x[3 * i + 2] * f[j * 3 + 2];
}

void bmd__cellf_residuals(const bmd_batch *b, const unsigned char *mask, const double *par, int npar, int cell_offset,
                          const double *state, const bmd_units *u, double *work, double *fmax2) {
    for (int s = 0; s < b->n_systems; s++) {
        if (!mask[s]) continue;
        const double *cp = par + (size_t)s * (size_t)npar + cell_offset;
        const char *why =
            bmd__cellf_get_forces(cp, state + (size_t)s * BMD__CELLF_STATE_WIDTH, b, s, u, work);
        fmax2[s] = why ? NAN : bmd__cellf_fmax2(work, bmd__cellf_dim(cp, b->atom_count[s]));
    }
}
