/* dataset_memory.c — owns the in-memory dataset: an array of systems,
 * borrowed or deep-copied, handed out as copies with system_id = index. */
#include "batchmd/flow.h"

#include <stdlib.h>

typedef struct mem_dataset {
    const bmd_system *systems;
    bmd_system *owned; /* == systems when copied, else NULL */
    long n;
} mem_dataset;

static void mem_destroy(void *self) {
    mem_dataset *d = self;
    if (!d) return;
    if (d->owned)
        for (long i = 0; i < d->n; i++) bmd_system_free(&d->owned[i]);
    free(d->owned);
    free(d);
}

static long mem_length(void *self) { return ((mem_dataset *)self)->n; }

static bmd_status mem_meta(void *self, long i, bmd_dataset_meta *out) {
    out->n_atoms = ((mem_dataset *)self)->systems[i].n_atoms;
    out->n_edges = -1;
    return BMD_OK;
}

static bmd_status mem_get(void *self, long i, bmd_system *out) {
    return bmd_system_copy(out, &((mem_dataset *)self)->systems[i]);
}

static const bmd_dataset_ops mem_ops = {
    .type = "memory", .length = mem_length, .get = mem_get, .metadata = mem_meta, .destroy = mem_destroy};

bmd_status bmd_dataset_from_systems(const bmd_system *systems, long n, int copy, bmd_dataset **out) {
    if (n < 0 || (n > 0 && !systems)) return bmd__fail(BMD_ERR_INVALID, "memory dataset: %ld systems at %p", n,
                                                       (const void *)systems);
    mem_dataset *d = calloc(1, sizeof *d);
    if (!d) return bmd__fail(BMD_ERR_NOMEM, "out of memory creating a dataset");
    d->systems = systems;
    if (copy && n > 0) {
        if (!(d->owned = calloc((size_t)n, sizeof *d->owned))) {
            free(d);
            return bmd__fail(BMD_ERR_NOMEM, "out of memory copying %ld systems", n);
        }
        for (long i = 0; i < n; i++) {
            bmd_status st = bmd_system_copy(&d->owned[i], &systems[i]);
            if (st) {
                d->n = i;
                mem_destroy(d);
                return st;
            }
        }
        d->systems = d->owned;
    }
    d->n = n;
    return bmd_dataset_create(&mem_ops, d, out);
}
