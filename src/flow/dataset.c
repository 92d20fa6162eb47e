/* dataset.c — owns the dataset interface's common part: wrapping an
 * implementation (ops + self), range checks, system_id = index on get, and
 * describing a structure for messages. The implementations live in
 * dataset_extxyz.c and dataset_memory.c. */
#include "batchmd/flow.h"

#include <stdio.h>
#include <stdlib.h>

bmd_status bmd_dataset_create(const bmd_dataset_ops *ops, void *self, bmd_dataset **out) {
    if (!ops || !ops->length || !ops->get || !ops->metadata) {
        if (ops && ops->destroy) ops->destroy(self);
        return bmd__fail(BMD_ERR_INVALID, "dataset: ops need length, get and metadata");
    }
    bmd_dataset *d = malloc(sizeof *d);
    if (!d) {
        if (ops->destroy) ops->destroy(self);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory creating a dataset");
    }
    d->ops = ops;
    d->self = self;
    *out = d;
    return BMD_OK;
}

void bmd_dataset_close(bmd_dataset *d) {
    if (!d) return;
    if (d->ops && d->ops->destroy) d->ops->destroy(d->self);
    free(d);
}

long bmd_dataset_size(const bmd_dataset *d) { return d->ops->length(d->self); }

bmd_status bmd_dataset_meta_get(const bmd_dataset *d, long i, bmd_dataset_meta *out) {
    long n = bmd_dataset_size(d);
    if (i < 0 || i >= n) return bmd__fail(BMD_ERR_INVALID, "structure %ld out of range (dataset has %ld)", i, n);
    out->n_atoms = -1;
    out->n_edges = -1;
    return d->ops->metadata(d->self, i, out);
}

int bmd_dataset_atoms(const bmd_dataset *d, long i) {
    if (i < 0 || i >= bmd_dataset_size(d)) return -1;
    bmd_dataset_meta m = {-1, -1};
    return d->ops->metadata(d->self, i, &m) ? -1 : m.n_atoms;
}

bmd_status bmd_dataset_get(const bmd_dataset *d, long i, bmd_system *out) {
    long n = bmd_dataset_size(d);
    if (i < 0 || i >= n) return bmd__fail(BMD_ERR_INVALID, "structure %ld out of range (dataset has %ld)", i, n);
    bmd_status st = d->ops->get(d->self, i, out);
    if (!st) out->system_id = i;
    return st;
}

void bmd_dataset_describe(const bmd_dataset *d, long i, char *buf, size_t n) {
    char where[512] = "";
    if (d->ops->where && i >= 0 && i < bmd_dataset_size(d)) d->ops->where(d->self, i, where, sizeof where);
    if (where[0]) snprintf(buf, n, "structure %ld (%s)", i, where);
    else snprintf(buf, n, "structure %ld", i);
}
