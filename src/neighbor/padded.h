/* padded.h — internal (crosses files, not installed): a system's atoms padded
 * with ghost atoms (periodic images), and FULL neighbor lists of particle
 * indices into that padded set — the shape the KIM API asks of a simulator.
 *
 * Padded set of one system of n atoms, made from a half Verlet list of
 * neighbor.h (range R = max(pad, cutoffs), same skin), which it keeps:
 *
 *     particles 0 .. n-1          the atoms ("contributing"), in the batch's
 *                                 order, at their positions as given (image 0)
 *     particles n .. n_total-1    ghosts ("non-contributing"): images (j, N),
 *                                 N != 0 an integer lattice triple
 *
 *     x[p] = pos[owner[p]] + S[p]     S[p] = N.cell (bmd__nl_image_vec)
 *
 * The ghosts are the images that the half list pairs with an atom: (j, N)
 * and (i, -N) for each of its entries (i, j, N != 0), i.e. every image
 * within R + skin of some atom at the build: with unwrapped positions, each
 * atom finds its neighbors' images around itself, wherever it has diffused.
 * A 1-atom cell 2 Å wide with a 6 Å padding gets a few hundred ghosts;
 * clusters none. Ghosts are ordered by (N lexicographically, owner).
 *
 * So the set, its coordinates and its lists are functions of the half
 * list's pairs alone: two sets for the same positions and cell (one kept,
 * one fresh) hold the same particles within range, at the same coordinates
 * (bits), in the same relative order; a model that skips what lies beyond
 * its cutoffs does the same arithmetic in the same order: its results do
 * not depend on when the set was built (KIM models too).
 *
 * Kept while the half list is (neighbor.h): a pair within R now was within
 * R + skin at the build, after displacements and after a cell change (the
 * deformation test with min(s, 1), which holds for every range <= R: each
 * list's cutoff and the padding). Then every image within pad of an atom
 * now is a ghost, and every particle within a list's cutoff of a row's
 * particle now is in that row. Between rebuilds only the coordinates are
 * refreshed from the owners (S fixed, or recomputed from the integer
 * images after a cell change: the bits of a fresh build); a rebuild comes
 * with the half list's, or when the atom count, pbc or ranges change.
 *
 * Full lists (one per requested cutoff c): row p (p < n, or every particle
 * when ghost rows are asked for) holds every particle q != p with
 * |x_q - x_p| < c + skin at the build, in increasing q: a model that skips
 * the entries beyond its cutoff visits its neighbors in an order that
 * depends only on which particles are within range. An atom's row comes
 * from the half list's entries of both directions; ghost (j, N)'s row is
 * atom j's row moved by N (q = (k, M) becomes (k, M + N)), the particles
 * of the set only (KIM's contract: a ghost's neighbors are complete within
 * the influence distance of the atoms, which the set covers). */
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
    int *img;          /* [3 n_total] its lattice image N (0 for the atoms) */
    double *S;         /* [3 n_total] N.cell, Å, for the cell `cell` */
    double *x;         /* [3 n_total] coordinates, Å (refreshed by _update) */
    int cap_total;
    int n_lists;
    bmd__padded_list lists[BMD__PADDED_MAX_LISTS];
    double pad, skin;  /* padding distance (without skin) and skin of the build */
    unsigned char ref_pbc[3];
    double cell[9];    /* the cell S is for */
    bmd__nlist nl;     /* the half list the set was made from (range max(pad, cutoffs)) */
    long n_builds;
} bmd__padded;

/* Per-thread build workspace; zero-initialise, free with _scratch_free. */
typedef struct bmd__padded_scratch {
    bmd__nl_scratch nl; /* the half list's build */
    int n_u, cap_u;
    int *u;          /* [3 n_u] the ghosts' distinct images, sorted lexicographically */
    int *gstart;     /* [n_u + 1] the ghosts of image u are particles [gstart[u], gstart[u+1]) */
    int cap_sh;
    int *pos_id, *neg_id; /* [n_shifts] index in u of the half list's image N and of -N */
    int *gpart;      /* [2 n_img] the ghost of each imaged entry (i, j, N): (j, N) at 2m, (i, -N) at 2m+1 */
    long cap_img;
    double *d2;      /* [nnz] squared length of each half-list entry at the build */
    long cap_nnz;
    long cap_pairs;
    int *pa, *pb, *pc, *pd; /* (row, particle) pairs and their sort's second buffer */
    long cap_count;
    int *count;      /* counting sorts */
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
 * may be NULL), else refreshes the coordinates (and, after a cell change,
 * the image vectors). n atoms at pos[3n] (unwrapped), cell[9] rows a, b, c,
 * pbc[3]. */
bmd__nl_result bmd__padded_update(bmd__padded *p, bmd__padded_scratch *scr, int n, const double *pos,
                                  const double *cell, const unsigned char *pbc, const bmd__padded_spec *spec,
                                  int *rebuilt);

/* Internal to the padded_*.c files: builds the lists of spec from p's half
 * list and ghosts (scr's u, gstart, gpart, d2 of this build). */
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
