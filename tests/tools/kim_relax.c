/* kim_relax.c — test driver: relaxes extxyz structures with FIRE (the
 * catalogue's "fire" with ASE's defaults) on a KIM model, all in ONE batch
 * (tests/physics/kim_fire_test.py).
 *
 *   kim_relax MODEL IN.extxyz OUT.txt FMAX MAX_STEPS
 *
 * Writes, per system in frame order, with %.17g:
 *     system FRAME NATOMS NSTEPS CONVERGED ENERGY FMAX
 * Exit status: 0 ok, 1 failure, 2 bad arguments, 3 no KIM API. */
#include <stdio.h>
#include <stdlib.h>

#include "batchmd/batchmd.h"
#include "batchmd/model_kim.h"

static int fail(const char *what) {
    fprintf(stderr, "kim_relax: %s: %s\n", what, bmd_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: kim_relax MODEL IN.extxyz OUT.txt FMAX MAX_STEPS\n");
        return 2;
    }
    if (!bmd_kim_available()) return 3;
    bmd_model *m = NULL;
    if (bmd_model_kim_create(argv[1], 0.5, &m)) return fail("creating the model");
    bmd_system *frames = NULL;
    long nf = 0;
    if (bmd_extxyz_read_all(argv[2], BMD_UNITS_METAL, &frames, &nf)) return fail("reading input");
    bmd_batch *b = NULL;
    if (bmd_batch_create(&b)) return fail("creating the batch");
    for (long i = 0; i < nf; i++) {
        frames[i].system_id = i;
        if (bmd_model_check_system(m, &frames[i]) || bmd_batch_append(b, &frames[i], NULL)) return fail("appending");
    }
    const bmd_units u = bmd_units_get(BMD_UNITS_METAL);
    bmd_stage *st = NULL;
    bmd_dynamics *d = NULL;
    bmd_convergence conv = {atof(argv[4]), 0, atol(argv[5])};
    if (!bmd_dynamics_find("fire")) return fail("no fire dynamics in the catalogue");
    if (bmd_stage_create(&u, 1, &st) || bmd_dynamics_create("fire", NULL, NULL, 0, &d) ||
        bmd_stage_add(st, "relax", d, &conv))
        return fail("building the stage");
    if (bmd_stage_run(st, b, m, 0)) return fail("running");
    FILE *out = fopen(argv[3], "w");
    if (!out) return fail("opening the output");
    const int cs = bmd_stage_steps_column(st, b, 0), cc = bmd_stage_converged_column(st, b, 0);
    for (long i = 0; i < nf; i++)
        for (int s = 0; s < b->n_systems; s++)
            if (b->system_id[s] == i)
                fprintf(out, "system %ld %d %.0f %.0f %.17g %.17g\n", i, b->atom_count[s],
                        bmd_batch_column_data(b, cs)[s], bmd_batch_column_data(b, cc)[s], b->energy[s],
                        bmd_fmax(b, s));
    fclose(out);
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    bmd_model_destroy(m);
    for (long i = 0; i < nf; i++) bmd_system_free(&frames[i]);
    free(frames);
    return 0;
}
