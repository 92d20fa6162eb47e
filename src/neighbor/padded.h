/* padded.h — internal (crosses files, not installed): a system's atoms padded
 * with ghost atoms (periodic images), and FULL neighbor lists of particle
 * indices into that padded set — the shape the KIM API asks of a simulator.
 * The half lists of neighbor.h (pair models) are untouched by this.
 *
 * Padded set of one system of n atoms (rebuilt with a skin):
 *
 *     particles 0 .. n-1          the atoms ("contributing"), in the batch's order
 *     particles n .. n_total-1    ghosts ("non-contributing"): images of atoms
 *
 *     x[p] = pos[owner[p]] + S[p]     S[p] = N.cell, N an integer lattice triple
 *
 * An atom's own particle is its image in the home cell at the last build
 * (its position wrapped into [0,1) on the periodic axes; N = -wrap), so the
 * padded set is compact around the cell whatever the batch's unwrapped
 * positions. Ghosts are every image within pad = (padding distance + skin)
 * of the home cell's faces (perpendicular distance on each periodic axis),
 * as many images per axis as needed: a 1-atom cell 2 Å wide with a 6 Å
 * padding gets a few hundred ghosts. Non-periodic axes have no images
 * (clusters, slabs, wires). Ghosts are ordered by (offset from the home
 * cell, lexicographically; owner), so their order does not depend on binning.
 *
 * Between rebuilds only the coordinates are refreshed from the owners (fixed
 * S, same bits every time). The set and its lists stay valid until an atom
 * moves more than skin/2 from its position at the build, or the cell, pbc,
 * atom count or ranges change.
 *
 * Full lists (one per requested cutoff): row p (p < n, or every particle
 * when ghost rows are asked for) holds every particle q != p with
 * |x_q - x_p| < cutoff + skin at the build, in increasing q: a model that
 * skips the entries beyond its cutoff visits its neighbors in an order that
 * depends only on which particles are within range. */
#ifndef BATCHMD_NEIGHBOR_PADDED_H
#define BATCHMD_NEIGHBOR_PADDED_H

#include <stdint.h>

#include "batchmd/batch.h"
#include "batchmd/status.h"
#include "neighbor/neighbor.h"

#define BMD__PADDED_MAX_LISTS 8

typedef struct bmd__padded_list {
    double cutoff;   /* Å, without skin */
    int ghost_rows;  /* 1: rows for ghosts too */
    int n_rows;      /* n or n_total */
    int *start;      /* [n_rows + 1] CSR offsets */
    int *nbr;        /* [nnz] particle indices, increasing within a row */
    long nnz, cap_nnz;
    int cap_rows;
} bmd__padded_list;

typedef struct bmd__padded {
    int n;             /* atoms at the last build */
    int n_total;       /* atoms + ghosts */
    int built;
    int *owner;        /* [n_total] atom of each particle (owner[p] = p for p < n) */
    double *S;         /* [3 n_total] image vector added to the owner's position, Å */
    double *x;         /* [3 n_total] coordinates, Å (refreshed by _update) */
    int cap_total;
    int n_lists;
    bmd__padded_list lists[BMD__PADDED_MAX_LISTS];
    double pad, skin;  /* padding distance (without skin) and skin of the build */
    double *ref_pos;   /* [3n] positions at the last build */
    int cap_atoms;
    double ref_cell[9];
    unsigned char ref_pbc[3];
    long n_builds;
} bmd__padded;

/* Per-thread build workspace; zero-initialise, free with _scratch_free. */
typedef struct bmd__padded_scratch {
    int cap_atoms;
    double *u;       /* [3n] wrapped fractional coordinates */
    int *w;          /* [3n] wraps */
    int cap_bins;
    int *bin_start;  /* [n_bins + 1] */
    int cap_part;
    int *bin_of;     /* [n_total] */
    int *by_bin;     /* [n_total] particles in bin order */
    int *count;      /* [n_total + 1] */
    long cap_pairs;
    int *pi, *pj;    /* found pairs (row, neighbor), in increasing neighbor */
} bmd__padded_scratch;

void bmd__padded_init(bmd__padded *p);
void bmd__padded_free(bmd__padded *p); /* frees and re-initialises */
void bmd__padded_scratch_free(bmd__padded_scratch *s);

/* What a model asks of the padded set. */
typedef struct bmd__padded_spec {
    double pad;      /* padding distance, Å (KIM: the influence distance) */
    double skin;     /* Å >= 0 */
    int n_lists;     /* 0 .. BMD__PADDED_MAX_LISTS */
    double cutoff[BMD__PADDED_MAX_LISTS];
    int ghost_rows[BMD__PADDED_MAX_LISTS];
} bmd__padded_spec;

/* Rebuilds the padded set and its lists when stale (*rebuilt says whether;
 * may be NULL), else refreshes the coordinates. n atoms at pos[3n]
 * (unwrapped), cell[9] rows a, b, c, pbc[3]. */
bmd__nl_result bmd__padded_update(bmd__padded *p, bmd__padded_scratch *scr, int n, const double *pos,
                                  const double *cell, const unsigned char *pbc, const bmd__padded_spec *spec,
                                  int *rebuilt);

/* Internal to the padded_*.c files: builds the lists of spec over p->x. */
bmd__nl_result bmd__padded_build_lists(bmd__padded *p, bmd__padded_scratch *scr, const bmd__padded_spec *spec);

/* f[3n] = fp[0 .. 3n) + the ghosts' fp folded onto their owners (in particle order). */
void bmd__padded_fold(const bmd__padded *p, const double *fp, double *f);
/* The same for one value per particle: e[n] = ep[0 .. n) + the ghosts' ep. */
void bmd__padded_fold_scalar(const bmd__padded *p, const double *ep, double *e);

/* ---- per-slot objects of a batch, re-keyed by uid (like bmd__nlist_set) ---- */
typedef struct bmd__slot_cache {
    const bmd_batch *batch;
    uint64_t layout;
    int n, cap;
    void **obj;       /* [n] object of slot s, or NULL (the caller creates it) */
    int64_t *uid;     /* [n] */
    int n_pool, cap_pool;
    void **pool;      /* objects of systems that left, for reuse */
    void (*destroy)(void *obj);
    void (*reset)(void *obj); /* called on an object going to the pool (may be NULL) */
} bmd__slot_cache;

/* Makes cache->obj[s] the object of slot s of b (objects follow their uid;
 * new slots get a pooled object or NULL). Call serially. */
bmd_status bmd__slot_cache_sync(bmd__slot_cache *c, const bmd_batch *b);
void bmd__slot_cache_free(bmd__slot_cache *c);

#endif
