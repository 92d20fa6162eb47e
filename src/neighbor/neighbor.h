/* neighbor.h — internal (crosses files, not installed): per-system Verlet
 * lists with skin, built from cell lists over the periodic images of any
 * triclinic cell (cells smaller than the cutoff included), and a set of such
 * lists kept per batch slot and re-keyed by the batch's uid when systems are
 * appended or removed.
 *
 * A list never links two systems. It is a HALF list in CSR form over the
 * system's local atom indices 0..n-1:
 *
 *     for i in 0..n-1:
 *       for k in start[i] .. mid[i]-1:        (partners in the same image, N = 0)
 *         j = j[k];  r_ij = pos_j - pos_i
 *       for k in mid[i] .. start[i+1]-1:      (partners in another image)
 *         j = j[k];  S = shift_vec + 3*shift[k + soff[i]];
 *         r_ij = (pos_j + S) - pos_i
 *     (pos: the batch's UNWRAPPED positions; shift[] holds the images of the
 *     imaged entries only, row after row: 4 bytes per entry saved on the
 *     image-0 ones, most of a big system's list)
 *
 * S = n1 a + n2 b + n3 c is the physical lattice image (n1,n2,n3) of the
 * pair, computed from the integer triple and the cell (same bits whenever
 * computed). Each unordered pair (i, j, N) ~ (j, i, -N) appears once: kept
 * iff i < j, or i == j and N is lexicographically positive (an atom meets its
 * own images in small cells). Entries of atom i are sorted by (N != 0, j, N)
 * and the shift table is sorted by N, so a loop over the entries with a strict
 * `r2 < rc2` test visits the pairs within rc in an order that depends only on
 * which pairs are within rc: forces do not depend on when the list was built.
 *
 * The list holds every pair closer than cutoff + skin at build time. It
 * stays valid (bmd__nlist_update checks this) while no pair can have closed
 * in from beyond cutoff + skin to within cutoff:
 *
 *  - same cell: the two largest displacements since the build add up to at
 *    most the skin;
 *  - the cell changed (a barostat, a variable-cell relaxation): with B0 and
 *    B the binning bases (bmd__nl_basis: the periodic cell vectors, the
 *    non-periodic axes completed by unit vectors, so a slab's, wire's or
 *    cluster's unused cell vectors never count) at the build and now,
 *    F = B0^-1 B the deformation (row vectors: x0 F is the affine image of
 *    a position x0 at the build; N B0 F = N B for every image N, which has
 *    no component on non-periodic axes) and u_i = x_i - x0_i F each atom's
 *    non-affine displacement, a pair (i, j, N) has r = r0 F + u_j - u_i,
 *    so |r| >= s |r0| - |u_i| - |u_j| with s the smallest singular value
 *    of F. A pair left out at the build (|r0| >= cutoff + skin) is still
 *    beyond the cutoff while
 *        min(s, 1) (cutoff + skin) - (u1 + u2) >= cutoff
 *    (u1, u2 the two largest |u|; s capped at 1 so that the test also holds
 *    for every smaller cutoff: the padded sets of padded.h cut one list at
 *    several). With F = I this is the first test. A strain beyond
 *    BMD__NL_MAX_STRAIN (a singular value of F outside [1 - x, 1 + x])
 *    rebuilds anyway: the list would hold too many pairs. A kept list's
 *    image vectors are recomputed from its integer images and the new cell
 *    (the same bits a build gives for that triple and cell), so a pair's
 *    r and the order of the pairs within the cutoff are a fresh build's:
 *    forces do not depend on when the list was built, cell changes
 *    included;
 *  - the pbc, atom count, cutoff or skin changed: rebuilt, and so is a
 *    degenerate new cell (the build reports BMD__NL_BAD_CELL).
 *
 * Non-periodic axes have no images (their cell vectors are ignored, zero
 * allowed); periodic axes need a non-degenerate cell. */
#ifndef BATCHMD_NEIGHBOR_H
#define BATCHMD_NEIGHBOR_H

#include <stdint.h>
#include "batchmd/batch.h"
#include "batchmd/status.h"

/* Outcome of an update/build (not a bmd_status, so that threads can report
 * it and the caller writes the message). */
typedef enum bmd__nl_result {
    BMD__NL_OK = 0,
    BMD__NL_NOMEM = 1,    /* allocation failed */
    BMD__NL_BAD_CELL = 2, /* a periodic axis with a degenerate cell */
    BMD__NL_BAD_POS = 3   /* a non-finite position, or one absurdly far away */
} bmd__nl_result;

/* Bound on the lattice image |n| of a position (and on the images a cell
 * needs per axis): beyond it the position or the cell is absurd, and the
 * builder packs image triples into 3 x 21 bits. */
#define BMD__NL_WRAP_MAX 262144.0

/* A list is kept over a cell change only while the singular values of the
 * deformation since its build stay within [1 - x, 1 + x] (and its skin
 * test passes). */
#define BMD__NL_MAX_STRAIN 0.1

/* N.cell over the periodic axes, in one fixed order: the same bits for the
 * same triple and cell, in a build and in a list kept over a cell change */
static inline void bmd__nl_image_vec(const int *N, const double *cell, const int *per, double *v) {
    v[0] = v[1] = v[2] = 0.0;
    for (int k = 0; k < 3; k++) {
        if (!per[k]) continue;
        double nk = (double)N[k];
        v[0] += nk * cell[3 * k];
        v[1] += nk * cell[3 * k + 1];
        v[2] += nk * cell[3 * k + 2];
    }
}

typedef struct bmd__nlist {
    int n_atoms;       /* atoms of the system at the last build */
    int built;         /* 0: must be (re)built before use */
    int *start;        /* [n_atoms + 1] CSR offsets */
    int *mid;          /* [n_atoms] first entry of atom i with N != 0 */
    int *soff;         /* [n_atoms] entry k >= mid[i] of row i has image shift[k + soff[i]] */
    int *j;            /* [nnz] partner, local index */
    int *shift;        /* [n_img] index into shift_n / shift_vec, of the imaged entries in row order */
    int nnz, cap_nnz, cap_atoms;
    int n_img, cap_img;
    int n_shifts, cap_shifts;
    int *shift_n;      /* [3 n_shifts] lattice image triples, sorted lexicographically */
    double *shift_vec; /* [3 n_shifts] n1 a + n2 b + n3 c, Å */
    double *ref_pos;   /* [3 n_atoms] positions at the last build */
    double ref_xmax;   /* largest |coordinate| of ref_pos, Å (bounds rounding) */
    double ref_cell[9]; /* the cell at the last build (the deformation's reference) */
    double cell[9];     /* the cell shift_vec is for: ref_cell, or the cell of a
                           kept list's last update */
    long n_rescales;    /* updates that kept the list over a cell change */
    unsigned char ref_pbc[3];
    double cutoff, skin; /* the list holds pairs closer than cutoff + skin */
    long n_builds;     /* how many times this list was built */
    double order_key;  /* the atom order (atom_order.h) its indices are in: the order's
                          version, 0 for the batch's order (set by the model) */
    /* Its transpose, made on demand by edges.c for full edge sets: for each
     * atom i, the entries e of other rows k whose partner is i, as pairs
     * (t_k, t_e) at [t_start[i], t_start[i+1]), sorted by (k, -N), and
     * t_id the image id of entry t_e (index into shift_n, -1 for N = 0);
     * valid when t_builds == n_builds (so a rebuild makes it stale) */
    int *t_start, *t_k, *t_e, *t_id;
    int cap_t_atoms, cap_t_k, cap_t_e, cap_t_id;
    long t_builds;
    /* edges.c's strict cut of each entry ([nnz], 1: r < cutoff now), kept
     * with the list so that threads working on different systems need no
     * shared buffer */
    unsigned char *keep;
    int cap_keep;
} bmd__nlist;

typedef struct bmd__nl_keyid {
    int64_t key;
    int id;
} bmd__nl_keyid;

/* One thread's part of a build: the rows [row0, row1) it scans, its stencil,
 * its found entries (written into its region of the list's own arrays on a
 * rebuild; into out_j for threads > 0 when a region overflowed), and the
 * image keys it met (open-addressing hash key -> local id). */
typedef struct bmd__nl_thread {
    int cap_col;
    int *col;         /* [7 k] columns (d0, d1) of one bin's stencil (build.c) */
    double *colv;     /* [3 k] their image vectors */
    int cap_stencil;  /* stencil of one atom: runs of consecutive bins */
    int *st_t0, *st_t1; /* [k] its atoms: bin-order slots [t0, t1) */
    int *st_img;      /* [3k] their lattice image */
    double *st_vec;   /* [3k] its image vector */
    int *st_pos;      /* [k] its image is lexicographically positive */
    int cap_row;      /* one row's found entries */
    int *acc;         /* [cap_row] slots found within range */
    int *r0;          /* [cap_row] partners in image 0 */
    int *r1;          /* [cap_row] partners in other images ... */
    int64_t *r1key;   /* [cap_row] ... and their image keys */
    int hcap;
    int64_t *hkey;
    int *hval;
    int n_keys, cap_keys;
    int64_t *keys;    /* [n_keys] distinct keys, local ids in first-seen order */
    int cap_remap;
    int *remap;       /* [n_keys] local id -> sorted (global) id */
    long cap_out, n_out; /* found entries (out_j: threads > 0, without regions) */
    long cap_img, n_img; /* ... of which imaged */
    int *out_j, *out_s;
    int result;       /* a bmd__nl_result */
} bmd__nl_thread;

/* Workspace of the build (binning, ordering, per-thread parts). Grows
 * geometrically and is reused; zero-initialise, free with _scratch_free. */
typedef struct bmd__nl_scratch {
    int cap_atoms;
    int *wrap;      /* [3n] integer lattice image removed by wrapping */
    int *bin;       /* [n] flat bin of each atom */
    int *bin_atoms; /* [n] atoms in bin order */
    int *slot;      /* [n] bin-order slot of each atom */
    double *bx;     /* [3n] wrapped Cartesian positions in bin order, by axis (x... y... z...) */
    int cap_bins;
    int *bin_start; /* [n_bins + 1] */
    int *bin_max;   /* [n_bins] largest atom index of each bin, -1 if empty; then
                       [nb0 nb1] the same per column of bins along axis 2, then
                       [nb0 nb1] the smallest index per column */
    int n_thr;
    bmd__nl_thread *thr; /* [n_thr] */
    /* merge of the threads' image keys: hash key -> sorted id */
    int hcap;
    int64_t *hkey;
    int *hval;
    int n_keys, cap_keys;
    int64_t *keys;
    int cap_order;
    bmd__nl_keyid *order; /* [n_keys] keys with their merge ids, sorted by key */
    int *rank;            /* [n_keys] merge id -> sorted id */
} bmd__nl_scratch;

void bmd__nlist_init(bmd__nlist *nl);
void bmd__nlist_free(bmd__nlist *nl); /* frees the arrays, leaves it re-initialised */
void bmd__nl_scratch_free(bmd__nl_scratch *s);

/* 1 when the list must be rebuilt for these positions/cell/pbc (the tests
 * above: displacements, or deformation and non-affine displacements). */
int bmd__nlist_stale(const bmd__nlist *nl, int n, const double *pos, const double *cell,
                     const unsigned char *pbc, double cutoff, double skin);
/* Builds the list of one system (n atoms at pos[3n], cell[9] rows a,b,c,
 * pbc[3]) holding every pair closer than cutoff + skin. */
bmd__nl_result bmd__nlist_build(bmd__nlist *nl, bmd__nl_scratch *scr, int n, const double *pos,
                                const double *cell, const unsigned char *pbc, double cutoff,
                                double skin);
/* Rebuilds when stale; *rebuilt (may be NULL) says whether it did. A list
 * kept over a cell change gets the image vectors of the new cell. */
bmd__nl_result bmd__nlist_update(bmd__nlist *nl, bmd__nl_scratch *scr, int n, const double *pos,
                                 const double *cell, const unsigned char *pbc, double cutoff,
                                 double skin, int *rebuilt);
/* Makes nl's transpose (t_start, t_k, t_e) when it is stale; nl must be
 * built. O(nnz), serial (transpose.c). */
bmd__nl_result bmd__nlist_transpose(bmd__nlist *nl);
/* The basis in which atoms are binned: the cell vectors of the periodic axes,
 * completed by unit vectors orthogonal to them for the non-periodic axes
 * (whose cell vectors are ignored). Fractional coordinates f = p B^-1. */
typedef struct bmd__nl_basis {
    double B[9];     /* rows */
    double Binv[9];  /* B^-1, so f_k = sum_c p_c Binv[3c + k] */
    double width[3]; /* distance between the planes f_k = 0 and f_k = 1, Å */
    int periodic[3];
} bmd__nl_basis;

/* Fills *out; returns 1 when the periodic axes of cell are degenerate (zero
 * or non-finite vectors, zero area/volume), 0 otherwise. */
int bmd__nl_basis_make(const double *cell, const unsigned char *pbc, bmd__nl_basis *out);
/* 1 when the periodic axes of cell do not span a proper lattice. */
int bmd__cell_degenerate(const double *cell, const unsigned char *pbc);
/* The deformation from basis b0 to basis b: F = b0.B^-1 b.B (row-major, row
 * vectors: x0 F), and its smallest and largest singular values. */
void bmd__nl_deformation(const bmd__nl_basis *b0, const bmd__nl_basis *b, double *F, double *smin, double *smax);

/* ---- the lists of a batch, one per slot, re-keyed by uid ---- */
typedef struct bmd__nlist_set {
    const bmd_batch *batch; /* batch the slots refer to */
    uint64_t layout;        /* its layout_version at the last sync */
    int n, cap;
    bmd__nlist **list;      /* [n] list of slot s */
    int64_t *uid;           /* [n] uid of slot s */
    int n_pool, cap_pool;
    bmd__nlist **pool;      /* lists of systems that left, kept for reuse */
    /* re-keying workspace */
    int cap_tmp;
    bmd__nlist **tmp_list;
    int64_t *tmp_uid;
    int *tmp_order;
} bmd__nlist_set;

/* Makes set->list[s] the list of slot s of b: keeps the lists of systems that
 * are still there (found by uid), gives new systems an unbuilt list. Cheap
 * when b's layout did not change. Call serially, before per-system work. */
bmd_status bmd__nlist_set_sync(bmd__nlist_set *set, const bmd_batch *b);
void bmd__nlist_set_free(bmd__nlist_set *set);

#endif
