/* fire_run.c — test driver: relaxes extxyz structures with FIRE (or another
 * optimizer) on a Lennard-Jones model, all in ONE batch
 * (tests/physics/fire_lj_ase_test.py, fire2_lj_ase_test.py).
 *
 *   fire_run [-t TYPE] [-p NAME=VALUE]... IN.extxyz OUT.txt EPS SIGMA RC FMAX MAX_STEPS [FRAME ...]
 *
 * One species-independent LJ entry (ε eV, σ Å, cutoff RC Å, energy shifted to
 * 0 at RC as ASE 3.22's LennardJones, skin 0.5 Å); a one-sub-stage stage
 * "relax" of dynamics TYPE (default fire) with its defaults but the -p
 * parameters, fmax FMAX eV/Å and MAX_STEPS. FRAME ... (0-based) picks the
 * frames and the order they are appended in; default all, in file order.
 * Writes, per system in ascending frame order:
 *     system FRAME NATOMS NSTEPS CONVERGED ENERGY
 *     x y z                                   (NATOMS lines, Å)
 * with %.17g (round trip). Exit status: 0 ok, 1 failure, 2 bad arguments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchmd/batchmd.h"

static int fail(const char *what) {
    fprintf(stderr, "fire_run: %s: %s\n", what, bmd_last_error());
    return 1;
}

int main(int argc, char **argv) {
    const char *type = "fire", *pnames[16];
    double pvals[16];
    int np = 0;
    while (argc > 2 && argv[1][0] == '-') {
        if (strcmp(argv[1], "-t") == 0) type = argv[2];
        else if (strcmp(argv[1], "-p") == 0 && np < 16 && strchr(argv[2], '=')) {
            *strchr(argv[2], '=') = '\0';
            pnames[np] = argv[2];
            pvals[np++] = atof(argv[2] + strlen(argv[2]) + 1);
        } else break;
        argc -= 2;
        argv += 2;
    }
    if (argc < 8) {
        fprintf(stderr, "usage: fire_run [-t TYPE] [-p NAME=VALUE]... IN.extxyz OUT.txt EPS SIGMA RC FMAX "
                        "MAX_STEPS [FRAME ...]\n");
        return 2;
    }
    bmd_system *frames = NULL;
    long nf = 0;
    if (bmd_extxyz_read_all(argv[1], BMD_UNITS_METAL, &frames, &nf)) return fail("reading input");
    bmd_pair_params pair = {0, 0, {atof(argv[3]), atof(argv[4]), 0}, atof(argv[5])};
    bmd_pair_options opt = {0.5, 1, 1};
    bmd_model *m = NULL;
    if (bmd_model_lj_create(&pair, 1, &opt, &m)) return fail("creating the model");

    bmd_batch *b = NULL;
    if (bmd_batch_create(&b)) return fail("creating the batch");
    int n_pick = argc > 8 ? argc - 8 : (int)nf;
    for (int k = 0; k < n_pick; k++) {
        long i = argc > 8 ? atol(argv[8 + k]) : k;
        if (i < 0 || i >= nf) {
            fprintf(stderr, "fire_run: frame %ld out of range (%ld frames)\n", i, nf);
            return 2;
        }
        frames[i].system_id = i;
        if (bmd_batch_append(b, &frames[i], NULL)) return fail("appending");
    }

    bmd_units u = bmd_units_get(BMD_UNITS_METAL);
    bmd_stage *st = NULL;
    bmd_dynamics *d = NULL;
    bmd_convergence conv = {atof(argv[6]), 0, atol(argv[7])};
    if (bmd_stage_create(&u, 1, &st) || bmd_dynamics_create(type, pnames, pvals, np, &d) ||
        bmd_stage_add(st, "relax", d, &conv))
        return fail("building the stage");
    if (bmd_stage_run(st, b, m, 0)) return fail("running");

    FILE *out = fopen(argv[2], "w");
    if (!out) return fail("opening the output");
    int cs = bmd_stage_steps_column(st, b, 0), cc = bmd_stage_converged_column(st, b, 0);
    for (long i = 0; i < nf; i++) {
        for (int s = 0; s < b->n_systems; s++) {
            if (b->system_id[s] != i) continue;
            fprintf(out, "system %ld %d %.0f %.0f %.17g\n", i, b->atom_count[s], bmd_batch_column_data(b, cs)[s],
                    bmd_batch_column_data(b, cc)[s], b->energy[s]);
            const double *x = b->pos + 3 * (size_t)b->atom_start[s];
            for (int a = 0; a < b->atom_count[s]; a++)
                fprintf(out, "%.17g %.17g %.17g\n", x[3 * a], x[3 * a + 1], x[3 * a + 2]);
        }
    }
    fclose(out);
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    bmd_model_destroy(m);
    for (long i = 0; i < nf; i++) bmd_system_free(&frames[i]);
    free(frames);
    return 0;
}
