/* sampler.c — owns the size-aware sampler (policy in sampler.h): bins of
 * equal atom count in dataset order, the dataset-order head, the search for
 * the largest remaining structure that fits (binary search, then a
 * union-find jump over emptied bins), and the reservation that keeps large
 * structures from starving. */
#include "flow/sampler.h"

#include <string.h>

#include "flow/checkpoint_internal.h"

#include <stdio.h>
#include <stdlib.h>

struct bmd__sampler {
    long n, remaining, cursor; /* cursor: lowest index not yet admitted */
    long max_atoms;            /* <= 0: no limit */
    long bypass;               /* atoms admitted past the current head */
    int *atoms;                /* [n] */
    unsigned char *taken;      /* [n] */
    long *order;               /* [n] indices by (atoms, index) */
    long n_bins;
    int *bin_atoms;   /* [n_bins] increasing */
    long *bin_end;    /* [n_bins] end of bin b in order[] */
    long *bin_head;   /* [n_bins] next index into order[] of bin b */
    long *down;       /* [n_bins] union-find: down[b] == b while bin b has structures */
};

typedef struct size_index {
    int atoms;
    long index;
} size_index;

static int by_size(const void *pa, const void *pb) {
    const size_index *a = pa, *b = pb;
    if (a->atoms != b->atoms) return a->atoms < b->atoms ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

void bmd__sampler_destroy(bmd__sampler *s) {
    if (!s) return;
    free(s->atoms);
    free(s->taken);
    free(s->order);
    free(s->bin_atoms);
    free(s->bin_end);
    free(s->bin_head);
    free(s->down);
    free(s);
}

static bmd_status read_sizes(bmd__sampler *s, const bmd_dataset *ds) {
    char what[600];
    for (long i = 0; i < s->n; i++) {
        bmd_dataset_meta m;
        bmd_status st = bmd_dataset_meta_get(ds, i, &m);
        if (st) return st;
        s->atoms[i] = m.n_atoms;
        if (m.n_atoms <= 0) {
            bmd_dataset_describe(ds, i, what, sizeof what);
            return bmd__fail(BMD_ERR_INVALID, "%s has no atoms", what);
        }
        if (s->max_atoms > 0 && m.n_atoms > s->max_atoms) {
            bmd_dataset_describe(ds, i, what, sizeof what);
            return bmd__fail(BMD_ERR_BUDGET, "%s has %d atoms, more than the batch budget max_atoms = %ld", what,
                             m.n_atoms, s->max_atoms);
        }
    }
    return BMD_OK;
}

static bmd_status make_bins(bmd__sampler *s) {
    size_index *tmp = malloc((size_t)(s->n ? s->n : 1) * sizeof *tmp);
    if (!tmp) return bmd__fail(BMD_ERR_NOMEM, "sampler: out of memory for %ld structures", s->n);
    for (long i = 0; i < s->n; i++) tmp[i] = (size_index){s->atoms[i], i};
    qsort(tmp, (size_t)s->n, sizeof *tmp, by_size);
    long nb = 0;
    for (long k = 0; k < s->n; k++) {
        s->order[k] = tmp[k].index;
        nb += k == 0 || tmp[k].atoms != tmp[k - 1].atoms;
    }
    size_t cap = (size_t)(nb ? nb : 1);
    s->bin_atoms = malloc(cap * sizeof *s->bin_atoms);
    s->bin_end = malloc(cap * sizeof *s->bin_end);
    s->bin_head = malloc(cap * sizeof *s->bin_head);
    s->down = malloc(cap * sizeof *s->down);
    if (!s->bin_atoms || !s->bin_end || !s->bin_head || !s->down) {
        free(tmp);
        return bmd__fail(BMD_ERR_NOMEM, "sampler: out of memory for %ld bins", nb);
    }
    long b = -1;
    for (long k = 0; k < s->n; k++) {
        if (k == 0 || tmp[k].atoms != tmp[k - 1].atoms) {
            b++;
            s->bin_atoms[b] = tmp[k].atoms;
            s->bin_head[b] = k;
            s->down[b] = b;
        }
        s->bin_end[b] = k + 1;
    }
    s->n_bins = nb;
    free(tmp);
    return BMD_OK;
}

bmd_status bmd__sampler_create(const bmd_dataset *ds, long max_atoms, bmd__sampler **out) {
    bmd__sampler *s = calloc(1, sizeof *s);
    if (!s) return bmd__fail(BMD_ERR_NOMEM, "sampler: out of memory");
    s->n = s->remaining = bmd_dataset_size(ds);
    s->max_atoms = max_atoms;
    size_t n = (size_t)(s->n > 0 ? s->n : 1);
    s->atoms = malloc(n * sizeof *s->atoms);
    s->taken = calloc(n, 1);
    s->order = malloc(n * sizeof *s->order);
    bmd_status st = s->atoms && s->taken && s->order
                        ? BMD_OK
                        : bmd__fail(BMD_ERR_NOMEM, "sampler: out of memory for %ld structures", s->n);
    if (!st) st = read_sizes(s, ds);
    if (!st) st = make_bins(s);
    if (st) {
        bmd__sampler_destroy(s);
        return st;
    }
    *out = s;
    return BMD_OK;
}

long bmd__sampler_remaining(const bmd__sampler *s) { return s->remaining; }
int bmd__sampler_atoms(const bmd__sampler *s, long i) { return i >= 0 && i < s->n ? s->atoms[i] : -1; }

/* Bin of atom count a (it exists), by binary search. */
static long bin_of(const bmd__sampler *s, int a) {
    long lo = 0, hi = s->n_bins - 1;
    while (lo < hi) {
        long mid = (lo + hi) / 2;
        if (s->bin_atoms[mid] < a) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* The largest bin b' <= b that still has structures, -1 when none
 * (union-find with path halving over emptied bins). */
static long find_bin(bmd__sampler *s, long b) {
    while (b >= 0 && s->down[b] != b) {
        long d = s->down[b];
        if (d >= 0) s->down[b] = s->down[d];
        b = s->down[b];
    }
    return b;
}

/* Admits the head of bin b. */
static long take_from(bmd__sampler *s, long b) {
    long i = s->order[s->bin_head[b]++];
    if (s->bin_head[b] == s->bin_end[b]) s->down[b] = b - 1;
    s->taken[i] = 1;
    s->remaining--;
    return i;
}

long bmd__sampler_next(bmd__sampler *s, long free_atoms, long free_systems) {
    if (s->remaining == 0 || free_systems < 1 || free_atoms < 1) return -1;
    while (s->taken[s->cursor]) s->cursor++;
    long h = s->cursor;
    if (s->atoms[h] <= free_atoms) {
        s->bypass = 0;
        return take_from(s, bin_of(s, s->atoms[h])); /* h heads its bin: both are FIFO */
    }
    if (s->max_atoms > 0 && s->bypass >= s->max_atoms) return -1; /* reserved for the head */
    long lo = 0, hi = s->n_bins - 1, b = -1;                       /* largest bin with atoms <= free_atoms */
    while (lo <= hi) {
        long mid = (lo + hi) / 2;
        if (s->bin_atoms[mid] <= free_atoms) {
            b = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    if ((b = find_bin(s, b)) < 0) return -1;
    long i = take_from(s, b);
    s->bypass += s->atoms[i];
    return i;
}

/* ------------------------------------------------------ checkpoints */

void bmd__sampler_save(const bmd__sampler *s, bmd__buf *out) {
    bmd__buf_i64(out, s->n);
    bmd__buf_i64(out, s->bypass);
    bmd__buf_put(out, s->taken, (size_t)s->n);
}

bmd_status bmd__sampler_restore(bmd__sampler *s, const void *data, size_t n) {
    bmd__rd r = {data, n, 0, 0};
    int64_t count = bmd__rd_i64(&r), bypass = bmd__rd_i64(&r);
    const unsigned char *taken = count == s->n ? bmd__rd_ptr(&r, (size_t)s->n) : NULL;
    if (count != s->n)
        return bmd__fail(BMD_ERR_INVALID, "checkpoint: the sampler had %lld structures, the dataset has %ld",
                         (long long)count, s->n);
    if (!taken || r.off != r.n) return bmd__fail(BMD_ERR_PARSE, "checkpoint: malformed sampler section");
    memcpy(s->taken, taken, (size_t)s->n);
    s->bypass = bypass;
    s->remaining = 0;
    s->cursor = 0;
    for (long i = 0; i < s->n; i++) s->remaining += !s->taken[i];
    while (s->cursor < s->n && s->taken[s->cursor]) s->cursor++;
    for (long b = 0; b < s->n_bins; b++) {
        long k = b == 0 ? 0 : s->bin_end[b - 1];
        while (k < s->bin_end[b] && s->taken[s->order[k]]) k++;
        for (long j = k; j < s->bin_end[b]; j++)
            if (s->taken[s->order[j]])
                return bmd__fail(BMD_ERR_PARSE, "checkpoint: the sampler's admitted structures are not FIFO");
        s->bin_head[b] = k;
        s->down[b] = k == s->bin_end[b] ? b - 1 : b;
    }
    return BMD_OK;
}
