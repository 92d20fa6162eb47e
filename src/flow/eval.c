/* eval.c — owns the single-point evaluation of a whole dataset: batches
 * filled in dataset order within the budget, one model evaluation each
 * (energy, forces, stress of periodic cells), written in dataset order. */
#include "flow/flow_internal.h"

#include <stdlib.h>
#include <string.h>

/* Appends structures from *next on, in order, while they fit. */
static bmd_status fill(bmd_batch *b, const bmd_dataset *ds, long *next, long max_atoms, long max_systems,
                       bmd_run_stats *stats) {
    long n = bmd_dataset_size(ds);
    while (*next < n) {
        int na = bmd_dataset_atoms(ds, *next);
        if (na > max_atoms) {
            char what[600];
            bmd_dataset_describe(ds, *next, what, sizeof what);
            return bmd__fail(BMD_ERR_BUDGET, "%s has %d atoms, more than the batch budget max_atoms = %ld", what, na,
                             max_atoms);
        }
        if (b->n_systems > 0 && (b->n_atoms + na > max_atoms || b->n_systems >= max_systems)) break;
        bmd_system sys;
        bmd_status st = bmd_dataset_get(ds, *next, &sys);
        if (!st) st = bmd_batch_append(b, &sys, NULL);
        bmd_system_free(&sys);
        if (st) return st;
        (*next)++;
        stats->started++;
    }
    return BMD_OK;
}

bmd_status bmd_eval_dataset(bmd_model *m, const bmd_dataset *ds, long max_atoms, long max_systems, bmd_sink *out,
                            bmd_run_stats *stats) {
    memset(stats, 0, sizeof *stats);
    stats->total = bmd_dataset_size(ds);
    if (max_atoms <= 0) max_atoms = 1L << 30;
    if (max_systems <= 0) max_systems = 1L << 30;
    bmd_batch *b = NULL;
    unsigned char *mask = NULL;
    size_t mask_cap = 0, virial_cap = 0;
    double *virial = NULL;
    bmd_status rc = bmd_batch_create(&b);
    double t_start = bmd__now();
    long next = 0;
    while (!rc) {
        double t0 = bmd__now();
        rc = fill(b, ds, &next, max_atoms, max_systems, stats);
        stats->t_io += bmd__now() - t0;
        if (rc || b->n_systems == 0) break;
        if (bmd__reserve((void **)&mask, &mask_cap, (size_t)b->n_systems, 1)) {
            rc = bmd__fail(BMD_ERR_NOMEM, "out of memory");
            break;
        }
        memset(mask, 1, (size_t)b->n_systems);
        t0 = bmd__now();
        if ((rc = bmd__flow_compute(m, b, mask, b->energy, b->force, &virial, &virial_cap))) break;
        stats->t_step += bmd__now() - t0;
        stats->atom_steps += b->n_atoms;
        for (int s = 0; s < b->n_systems; s++) b->forces_valid[s] = 1;
        t0 = bmd__now();
        for (int s = 0; s < b->n_systems && !rc; s++) {
            bmd_system sys;
            rc = bmd_batch_extract(b, s, &sys);
            if (!rc) {
                bmd_info_remove(&sys.info, "system_id");
                rc = out ? bmd_sink_write(out, &sys) : BMD_OK;
                bmd_system_free(&sys);
            }
            if (!rc) stats->done++;
        }
        stats->t_io += bmd__now() - t0;
        if (!rc) rc = bmd_batch_remove(b, mask);
    }
    stats->seconds = bmd__now() - t_start;
    bmd_batch_destroy(b);
    free(mask);
    free(virial);
    return rc;
}
