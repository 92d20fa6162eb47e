/* test_cell_filter.c — the cell filters of src/dynamics/cell_filter.h on a
 * strained, sheared, displaced 4-atom fcc Lennard-Jones cell (smaller than
 * the cutoff: many images):
 *   - the filter's forces are minus the gradient of the enthalpy
 *     H = E + pV with respect to its generalized positions, by central
 *     differences, at a cell deformed away from the one at entry: unit
 *     (ASE's UnitCellFilter: the cell rows it does not mask) and frechet
 *     (FrechetCellFilter: all rows, the mask included, and a cell factor),
 *     with a pressure; exp (ExpCellFilter) at entry, where its force is the
 *     gradient (later ASE 3.22's is not);
 *   - set_positions then get_positions gives back the coordinates;
 *   - a cell that turned over (det F < 0) leaves as cell_degenerate, one
 *     without stress as no_stress, exp given a cell_factor per structure
 *     as invalid_param_cell_factor;
 *   - the constructor's checks: `cell:` values without a filter, and
 *     cell_factor with exp, are refused; a filtered optimizer asks for the
 *     virial and a moving cell, an unfiltered one for neither. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchmd/batchmd.h"
#include "core/batch_internal.h"
#include "dynamics/cell_filter.h"

static bmd_units U;

static bmd_model *lj(void) {
    const bmd_pair_params p = {18, 18, {0.0104, 3.40, 0}, 8.0};
    const bmd_pair_options o = {0.5, 1, 0};
    bmd_model *m;
    assert_int_equal(bmd_model_lj_create(&p, 1, &o, &m), BMD_OK);
    return m;
}

/* energy, forces, stress of slot 0; returns H = E + pV (p in eV/Å³) */
static double evaluate(bmd_model *m, bmd_batch *b, double p) {
    double w[6];
    bmd_compute_request req = {.energy = b->energy, .forces = b->force, .virial = w};
    assert_int_equal(bmd_model_compute(m, b, &req), BMD_OK);
    assert_true(bmd__batch_stress_from_virial(b, 0, w));
    return b->energy[0] + p * bmd_batch_volume(b, 0);
}

static bmd_batch *cell4(void) {
    static const double basis[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
    const double a = 5.35;
    const double cell[9] = {a * 1.02, 0.2, -0.1, 0.15, a * 0.97, 0.05, -0.12, 0.3, a * 1.01};
    const double dx[4][3] = {{0.05, -0.03, 0.02}, {-0.04, 0.06, 0.01}, {0.02, 0.03, -0.07}, {-0.01, -0.05, 0.04}};
    bmd_system s;
    assert_int_equal(bmd_system_alloc(&s, 4), BMD_OK);
    for (int i = 0; i < 4; i++) {
        for (int c = 0; c < 3; c++)
            s.pos[3 * i + c] = basis[i][0] * cell[c] + basis[i][1] * cell[3 + c] + basis[i][2] * cell[6 + c] + dx[i][c];
        s.Z[i] = 18;
        s.mass[i] = 39.948;
    }
    memcpy(s.cell, cell, sizeof cell);
    s.pbc[0] = s.pbc[1] = s.pbc[2] = 1;
    bmd_batch *b;
    assert_int_equal(bmd_batch_create(&b), BMD_OK);
    assert_int_equal(bmd_batch_append(b, &s, NULL), BMD_OK);
    bmd_system_free(&s);
    return b;
}

static void cellpar_init(double *cp, int filter) {
    cp[BMD__CELLP_FILTER] = filter;
    cp[BMD__CELLP_PRESSURE] = 0;
    cp[BMD__CELLP_MASK] = 63;
    cp[BMD__CELLP_HYDROSTATIC] = 0;
    cp[BMD__CELLP_CONSTANT_VOLUME] = 0;
    cp[BMD__CELLP_FACTOR] = NAN;
    for (int k = 0; k < 6; k++) cp[BMD__CELLP_STRESS + k] = 0;
}

/* Central differences of H against the filter's forces, after the cell was
 * deformed by `deform` (coordinates added to the cell rows at entry). */
static void check_gradient(const double *cp, const double *deform, const char *what) {
    bmd_batch *b = cell4();
    bmd_model *m = lj();
    const double p = cp[BMD__CELLP_PRESSURE] * U.pressure;
    evaluate(m, b, p);
    double state[BMD__CELLF_STATE_WIDTH];
    assert_null(bmd__cellf_enter(cp, b, 0, state));
    const int dim = bmd__cellf_dim(cp, 4);
    assert_int_equal(dim, 21);
    double x[21], x2[21], g[21];
    assert_null(bmd__cellf_get_positions(cp, state, b, 0, x));
    for (int k = 0; k < 9; k++) x[12 + k] += deform[k];
    bmd__cellf_set_positions(cp, state, b, 0, x);
    evaluate(m, b, p);
    /* (a frechet mask zeroes components of F − I: x2 is x projected) */
    assert_null(bmd__cellf_get_positions(cp, state, b, 0, x2));
    double x3[21], back = 0;
    bmd__cellf_set_positions(cp, state, b, 0, x2);
    evaluate(m, b, p);
    assert_null(bmd__cellf_get_positions(cp, state, b, 0, x3));
    for (int k = 0; k < dim; k++) back = fmax(back, fabs(x3[k] - x2[k]));
    assert_null(bmd__cellf_get_forces(cp, state, b, 0, &U, g));
    double mask[9];
    static const int voigt[9] = {0, 5, 4, 5, 1, 3, 4, 3, 2};
    for (int k = 0; k < 9; k++) mask[k] = ((int)cp[BMD__CELLP_MASK] >> voigt[k]) & 1;
    const double h = 1e-5;
    double worst = 0, scale = 0;
    for (int k = 0; k < dim; k++) scale = fmax(scale, fabs(g[k]));
    for (int k = 0; k < dim; k++) {
        /* ASE's UnitCellFilter fixes a masked component by a zero force */
        if (bmd__cellf_kind(cp) == BMD__CELL_UNIT && k >= 12 && !mask[k - 12]) {
            assert_true(g[k] == 0.0);
            continue;
        }
        double xp[21], xm[21];
        memcpy(xp, x2, sizeof xp);
        memcpy(xm, x2, sizeof xm);
        xp[k] += h;
        xm[k] -= h;
        bmd__cellf_set_positions(cp, state, b, 0, xp);
        const double hp = evaluate(m, b, p);
        bmd__cellf_set_positions(cp, state, b, 0, xm);
        const double hm = evaluate(m, b, p);
        worst = fmax(worst, fabs(-(hp - hm) / (2 * h) - g[k]));
    }
    printf("%-34s round trip %.2g, |F + dH/dx| %.2g of max |F| %.3g\n", what, back, worst, scale);
    assert_true(back < 1e-13);
    assert_true(worst < 2e-8 * scale);
    bmd_model_destroy(m);
    bmd_batch_destroy(b);
}

static void test_gradients(void **state) {
    (void)state;
    double cp[BMD__CELLP_N];
    const double zero[9] = {0};
    /* unit: deformation gradient coordinates N F (N = 4) */
    const double du[9] = {0.12, 0.05, -0.03, -0.02, -0.09, 0.04, 0.06, 0.01, 0.15};
    cellpar_init(cp, BMD__CELL_UNIT);
    check_gradient(cp, du, "unit");
    cp[BMD__CELLP_PRESSURE] = 20000; /* bar */
    check_gradient(cp, du, "unit, 2 GPa");
    cp[BMD__CELLP_MASK] = 1 | 2 | 8; /* xx yy yz */
    cp[BMD__CELLP_FACTOR] = 2.5;
    check_gradient(cp, du, "unit, 2 GPa, mask, cell_factor 2.5");
    /* frechet: X = c log F */
    const double dl[9] = {0.10, 0.06, -0.02, -0.03, -0.08, 0.05, 0.04, 0.02, 0.12};
    cellpar_init(cp, BMD__CELL_FRECHET);
    check_gradient(cp, dl, "frechet");
    cp[BMD__CELLP_PRESSURE] = -5000;
    check_gradient(cp, dl, "frechet, -0.5 GPa");
    cp[BMD__CELLP_MASK] = 1 | 2 | 4 | 32; /* xx yy zz xy */
    cp[BMD__CELLP_FACTOR] = 1.5;
    check_gradient(cp, dl, "frechet, -0.5 GPa, mask, factor 1.5");
    /* exp at entry (U = 0), where ASE 3.22's force is the gradient */
    cellpar_init(cp, BMD__CELL_EXP);
    cp[BMD__CELLP_PRESSURE] = 10000;
    check_gradient(cp, zero, "exp at entry, 1 GPa");
}

static void test_reasons(void **state) {
    (void)state;
    double cp[BMD__CELLP_N], st[BMD__CELLF_STATE_WIDTH], x[21];
    bmd_batch *b = cell4();
    bmd_model *m = lj();
    evaluate(m, b, 0);
    for (int f = BMD__CELL_UNIT; f <= BMD__CELL_FRECHET; f++) {
        cellpar_init(cp, f);
        assert_null(bmd__cellf_enter(cp, b, 0, st));
        double keep[9];
        memcpy(keep, b->cell, sizeof keep);
        for (int k = 0; k < 3; k++) b->cell[6 + k] = -b->cell[6 + k]; /* c through zero volume */
        assert_string_equal(bmd__cellf_get_positions(cp, st, b, 0, x), "cell_degenerate");
        assert_string_equal(bmd__cellf_get_forces(cp, st, b, 0, &U, x), "cell_degenerate");
        memcpy(b->cell, keep, sizeof keep);
        b->stress_valid[0] = 0;
        assert_string_equal(bmd__cellf_enter(cp, b, 0, st), "no_stress");
        assert_string_equal(bmd__cellf_get_forces(cp, st, b, 0, &U, x), "no_stress");
        b->stress_valid[0] = 1;
    }
    cellpar_init(cp, BMD__CELL_EXP);
    cp[BMD__CELLP_FACTOR] = 2;
    assert_string_equal(bmd__cellf_enter(cp, b, 0, st), "invalid_param_cell_factor");
    bmd_model_destroy(m);
    bmd_batch_destroy(b);
}

static void test_checks(void **state) {
    (void)state;
    static const char *const fires[] = {"fire", "fire2"};
    for (int t = 0; t < 2; t++) {
        bmd_dynamics *d = NULL;
        const char *n1[] = {"pressure"};
        const double v1[] = {100};
        assert_int_equal(bmd_dynamics_create(fires[t], n1, v1, 1, &d), BMD_ERR_INVALID);
        assert_non_null(strstr(bmd_last_error(), "cell.pressure needs a cell filter"));
        const char *n2[] = {"stress_yz"};
        assert_int_equal(bmd_dynamics_create(fires[t], n2, v1, 1, &d), BMD_ERR_INVALID);
        assert_non_null(strstr(bmd_last_error(), "cell.stress needs a cell filter"));
        const char *n3[] = {"filter", "cell_factor"};
        const double v3[] = {BMD__CELL_EXP, 3};
        assert_int_equal(bmd_dynamics_create(fires[t], n3, v3, 2, &d), BMD_ERR_INVALID);
        assert_non_null(strstr(bmd_last_error(), "has no cell factor"));
        const double v4[] = {BMD__CELL_FRECHET, 3};
        assert_int_equal(bmd_dynamics_create(fires[t], n3, v4, 2, &d), BMD_OK);
        assert_int_equal(d->needs, BMD_NEEDS_VIRIAL | BMD_MOVES_CELL);
        bmd_dynamics_destroy(d);
        assert_int_equal(bmd_dynamics_create(fires[t], NULL, NULL, 0, &d), BMD_OK);
        assert_int_equal(d->needs, 0);
        bmd_dynamics_destroy(d);
    }
}

int main(void) {
    U = bmd_units_get(BMD_UNITS_METAL);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_gradients), cmocka_unit_test(test_reasons),
                                       cmocka_unit_test(test_checks)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
