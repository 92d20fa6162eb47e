/* dataset.c — owns the extxyz dataset: several files indexed once, addressed
 * by one global index (files in order, then frames), so the sampler knows
 * every structure's size without loading it. */
#include "batchmd/flow.h"

#include <stdlib.h>

#include "batchmd/extxyz.h"

struct bmd_dataset {
    bmd_units_kind units;
    int n_files;
    bmd_extxyz_index **files;
    long *first; /* [n_files + 1] global index of each file's first frame */
};

bmd_status bmd_dataset_open_extxyz(const char *const *paths, int n_paths, bmd_units_kind units, bmd_dataset **out) {
    bmd_dataset *d = calloc(1, sizeof *d);
    if (!d) return bmd__fail(BMD_ERR_NOMEM, "out of memory opening the dataset");
    d->units = units;
    d->files = calloc((size_t)(n_paths > 0 ? n_paths : 1), sizeof *d->files);
    d->first = calloc((size_t)n_paths + 1, sizeof *d->first);
    if (!d->files || !d->first) {
        bmd_dataset_close(d);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory opening the dataset");
    }
    for (int i = 0; i < n_paths; i++) {
        bmd_status st = bmd_extxyz_index_open(paths[i], &d->files[i]);
        if (st) {
            bmd_dataset_close(d);
            return st;
        }
        d->n_files = i + 1;
        d->first[i + 1] = d->first[i] + bmd_extxyz_index_frames(d->files[i]);
    }
    *out = d;
    return BMD_OK;
}

void bmd_dataset_close(bmd_dataset *d) {
    if (!d) return;
    for (int i = 0; i < d->n_files; i++) bmd_extxyz_index_close(d->files[i]);
    free(d->files);
    free(d->first);
    free(d);
}

long bmd_dataset_size(const bmd_dataset *d) { return d->first[d->n_files]; }

/* File holding global index i (binary search over first[]). */
static int file_of(const bmd_dataset *d, long i) {
    int lo = 0, hi = d->n_files - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (d->first[mid] <= i) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

int bmd_dataset_atoms(const bmd_dataset *d, long i) {
    if (i < 0 || i >= bmd_dataset_size(d)) return -1;
    int f = file_of(d, i);
    return bmd_extxyz_index_atoms(d->files[f], i - d->first[f]);
}

bmd_status bmd_dataset_get(const bmd_dataset *d, long i, bmd_system *out) {
    if (i < 0 || i >= bmd_dataset_size(d))
        return bmd__fail(BMD_ERR_INVALID, "structure %ld out of range (dataset has %ld)", i, bmd_dataset_size(d));
    int f = file_of(d, i);
    bmd_status st = bmd_extxyz_read_frame(d->files[f], i - d->first[f], d->units, out);
    if (!st) out->system_id = i;
    return st;
}
