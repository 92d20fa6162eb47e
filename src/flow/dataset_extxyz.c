/* dataset_extxyz.c — owns the extxyz dataset: several files indexed once,
 * addressed by one global index (files in order, then frames), so every
 * structure's size is known without parsing it. */
#include "batchmd/flow.h"

#include <stdio.h>
#include <stdlib.h>

#include "batchmd/extxyz.h"

typedef struct xyz_dataset {
    bmd_units_kind units;
    int n_files;
    bmd_extxyz_index **files;
    long *first; /* [n_files + 1] global index of each file's first frame */
} xyz_dataset;

static void xyz_destroy(void *self) {
    xyz_dataset *d = self;
    if (!d) return;
    for (int i = 0; i < d->n_files; i++) bmd_extxyz_index_close(d->files[i]);
    free(d->files);
    free(d->first);
    free(d);
}

static long xyz_length(void *self) {
    xyz_dataset *d = self;
    return d->first[d->n_files];
}

/* File holding global index i (binary search over first[]). */
static int file_of(const xyz_dataset *d, long i) {
    int lo = 0, hi = d->n_files - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (d->first[mid] <= i) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

static bmd_status xyz_meta(void *self, long i, bmd_dataset_meta *out) {
    xyz_dataset *d = self;
    int f = file_of(d, i);
    out->n_atoms = bmd_extxyz_index_atoms(d->files[f], i - d->first[f]);
    out->n_edges = -1;
    return BMD_OK;
}

static bmd_status xyz_get(void *self, long i, bmd_system *out) {
    xyz_dataset *d = self;
    int f = file_of(d, i);
    return bmd_extxyz_read_frame(d->files[f], i - d->first[f], d->units, out);
}

static void xyz_where(void *self, long i, char *buf, size_t n) {
    xyz_dataset *d = self;
    int f = file_of(d, i);
    snprintf(buf, n, "%s:%ld", bmd_extxyz_index_path(d->files[f]), bmd_extxyz_index_line(d->files[f], i - d->first[f]));
}

static const bmd_dataset_ops xyz_ops = {
    .type = "extxyz", .length = xyz_length, .get = xyz_get, .metadata = xyz_meta, .where = xyz_where,
    .destroy = xyz_destroy};

bmd_status bmd_dataset_open_extxyz(const char *const *paths, int n_paths, bmd_units_kind units, bmd_dataset **out) {
    if (n_paths < 0) return bmd__fail(BMD_ERR_INVALID, "negative number of input files");
    xyz_dataset *d = calloc(1, sizeof *d);
    if (!d) return bmd__fail(BMD_ERR_NOMEM, "out of memory opening the dataset");
    d->units = units;
    d->files = calloc((size_t)(n_paths > 0 ? n_paths : 1), sizeof *d->files);
    d->first = calloc((size_t)n_paths + 1, sizeof *d->first);
    if (!d->files || !d->first) {
        xyz_destroy(d);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory opening the dataset");
    }
    for (int i = 0; i < n_paths; i++) {
        bmd_status st = bmd_extxyz_index_open(paths[i], &d->files[i]);
        if (st) {
            xyz_destroy(d);
            return st;
        }
        d->n_files = i + 1;
        d->first[i + 1] = d->first[i] + bmd_extxyz_index_frames(d->files[i]);
    }
    return bmd_dataset_create(&xyz_ops, d, out);
}
