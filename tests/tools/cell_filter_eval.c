/* cell_filter_eval.c — test driver: one evaluation of a cell filter's
 * generalized positions and forces (src/dynamics/cell_filter.h) on a
 * Lennard-Jones model (tests/physics/cell_filter_ase_test.py compares them
 * with ASE's filters at large deformations).
 *
 *   cell_filter_eval FILTER IN.extxyz EPS SIGMA RC [NAME=VALUE]...
 *
 * FILTER: unit, exp or frechet. IN.extxyz holds two frames: the structure,
 * then a frame whose cell is the filter's cell at entry (ASE's orig_cell).
 * One species-independent LJ entry (ε eV, σ Å, cutoff RC Å, shifted, as
 * ASE 3.22's LennardJones). NAME=VALUE sets a `cell:` parameter (pressure,
 * mask as its bit number, hydrostatic, constant_volume, cell_factor,
 * stress_xx ...), metal units. Prints the N + 3 rows of get_positions(),
 * then those of get_forces(), "%.17g %.17g %.17g" each. Exit status: 0 ok,
 * 1 failure, 2 bad arguments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchmd/batchmd.h"
#include "core/batch_internal.h"
#include "dynamics/cell_filter.h"

static int fail(const char *what) {
    fprintf(stderr, "cell_filter_eval: %s: %s\n", what, bmd_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: cell_filter_eval FILTER IN.extxyz EPS SIGMA RC [NAME=VALUE]...\n");
        return 2;
    }
    const bmd_dynamics_type *t = bmd_dynamics_find("fire");
    const bmd_param_desc *first = bmd_dynamics_param(t, "filter");
    double cp[BMD__CELLP_N];
    for (int k = 0; k < BMD__CELLP_N; k++) cp[k] = first[k].def;
    static const char *const filters[] = {"none", "unit", "exp", "frechet"};
    int kind = -1;
    for (int k = 1; k < 4; k++)
        if (strcmp(argv[1], filters[k]) == 0) kind = k;
    if (kind < 0) {
        fprintf(stderr, "cell_filter_eval: unknown filter '%s'\n", argv[1]);
        return 2;
    }
    cp[BMD__CELLP_FILTER] = kind;
    for (int a = 6; a < argc; a++) {
        char *eq = strchr(argv[a], '=');
        int found = 0;
        for (int k = 0; eq && k < BMD__CELLP_N; k++)
            if ((size_t)(eq - argv[a]) == strlen(first[k].name) && strncmp(argv[a], first[k].name, eq - argv[a]) == 0) {
                cp[k] = atof(eq + 1);
                found = 1;
            }
        if (!found) {
            fprintf(stderr, "cell_filter_eval: bad parameter '%s'\n", argv[a]);
            return 2;
        }
    }
    bmd_system *frames = NULL;
    long nf = 0;
    if (bmd_extxyz_read_all(argv[2], BMD_UNITS_METAL, &frames, &nf)) return fail("reading input");
    if (nf != 2) {
        fprintf(stderr, "cell_filter_eval: %s: expected 2 frames, found %ld\n", argv[2], nf);
        return 2;
    }
    bmd_pair_params pair = {0, 0, {atof(argv[3]), atof(argv[4]), 0}, atof(argv[5])};
    bmd_pair_options opt = {0.5, 1, 1};
    bmd_model *m = NULL;
    bmd_batch *b = NULL;
    if (bmd_model_lj_create(&pair, 1, &opt, &m)) return fail("creating the model");
    if (bmd_batch_create(&b) || bmd_batch_append(b, &frames[0], NULL)) return fail("making the batch");
    double w[6];
    bmd_compute_request req = {.energy = b->energy, .forces = b->force, .virial = w};
    if (bmd_model_compute(m, b, &req)) return fail("evaluating");
    if (!bmd__batch_stress_from_virial(b, 0, w)) {
        fprintf(stderr, "cell_filter_eval: no stress (a cell periodic along a, b and c is needed)\n");
        return 1;
    }
    double state[BMD__CELLF_STATE_WIDTH];
    const char *why = bmd__cellf_enter(cp, b, 0, state);
    memcpy(state, frames[1].cell, 9 * sizeof(double)); /* the cell at entry */
    const int n = b->atom_count[0], dim = bmd__cellf_dim(cp, n);
    double *x = malloc((size_t)dim * sizeof(double)), *f = malloc((size_t)dim * sizeof(double));
    const bmd_units u = bmd_units_get(BMD_UNITS_METAL);
    if (!why) why = bmd__cellf_get_positions(cp, state, b, 0, x);
    if (!why) why = bmd__cellf_get_forces(cp, state, b, 0, &u, f);
    if (why) {
        fprintf(stderr, "cell_filter_eval: the filter takes the system out: %s\n", why);
        return 1;
    }
    for (int i = 0; i < dim; i += 3) printf("%.17g %.17g %.17g\n", x[i], x[i + 1], x[i + 2]);
    for (int i = 0; i < dim; i += 3) printf("%.17g %.17g %.17g\n", f[i], f[i + 1], f[i + 2]);
    free(x);
    free(f);
    bmd_batch_destroy(b);
    bmd_model_destroy(m);
    for (long i = 0; i < nf; i++) bmd_system_free(&frames[i]);
    free(frames);
    return 0;
}
