/* build.c — owns the build of a per-system Verlet list (its form and its
 * ordering promise are in neighbor.h). O(n), rows built in parallel:
 *
 * 1. Positions are mapped to fractional coordinates f of the binning basis
 *    (geometry.c); on periodic axes f = w + u with integer w and u in [0,1).
 *    The batch's positions are never modified: wrapped positions live here.
 * 2. Atoms are binned (bins about 0.7 (cutoff+skin) thick, at most ~2n bins)
 *    and their wrapped positions laid out in bin order (a counting sort), so
 *    the atoms of a run of bins are contiguous in memory.
 * 3. Row i (atom i, any order) scans the stencil of its bin — the bins
 *    within cutoff+skin, as runs of consecutive bins along the last axis,
 *    over periodic images: a bin offset d maps to bin (c+d) mod nb in lattice
 *    image I = floor((c+d)/nb), several per axis when the cell is thinner
 *    than the range — and keeps the partners j within range with j > i, or
 *    j == i in a lexicographically positive image (the half-list rule of
 *    neighbor.h). Pruned per atom: bins whose atoms all have indices below i
 *    are skipped (about half the stencil for spatially ordered atoms), and in
 *    an orthogonal cell the bins out of reach of the atom's own position.
 *    The distance test is branch-free (a compaction; AVX2 lanes and a shuffle
 *    table where the CPU has them), and the pair in image I is the physical
 *    image N = I + w_i - w_j of the unwrapped positions (p = (w + u) B). The
 *    row is then sorted: image-0 partners by j (a branch-free rank sort),
 *    the others by (j, N). A row depends only on the positions, so rows are
 *    split over threads (contiguous ranges, each writing into its region of
 *    the list, sized from the last build) and the list is the same whatever
 *    the thread count. No buffer proportional to the list besides the list.
 * 4. The image triples met by all threads get ids sorted lexicographically
 *    (the key order), and every entry's thread-local id is mapped to it.
 * Small systems without periodic axes skip 2-4: every pair is tested
 * (all_pairs). */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "neighbor/neighbor.h"
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#include <immintrin.h>
#define BMD__NL_AVX2 1
#else
#define BMD__NL_AVX2 0
#endif

#define KEY_OFF (1 << 20)
/* systems of at least this many atoms build their rows on all threads */
#define SPLIT_MIN 4096
#define MAX_THREADS 256

/* capacity >= need, growing geometrically; 0 when no growth is needed */
static long next_cap(long cap, long need) {
    if (need <= cap) return 0;
    long c = cap ? cap : 16;
    while (c < need) c *= 2;
    return c;
}

static int resize(void **p, long n, size_t elem) {
    void *q = realloc(*p, (size_t)(n > 0 ? n : 1) * elem);
    if (!q) return 1;
    *p = q;
    return 0;
}

static inline int64_t pack(int n0, int n1, int n2) {
    return (int64_t)(((uint64_t)(n0 + KEY_OFF) << 42) | ((uint64_t)(n1 + KEY_OFF) << 21) |
                     (uint64_t)(n2 + KEY_OFF));
}

static inline void unpack(int64_t key, int *n) {
    uint64_t k = (uint64_t)key, m = (1u << 21) - 1;
    n[0] = (int)((k >> 42) & m) - KEY_OFF;
    n[1] = (int)((k >> 21) & m) - KEY_OFF;
    n[2] = (int)(k & m) - KEY_OFF;
}

/* ---- image keys -> ids (first-seen order), open addressing ---- */
typedef struct keymap {
    int *hcap;
    int64_t **hkey;
    int **hval;
    int *n_keys, *cap_keys;
    int64_t **keys;
} keymap;

static int hash_reset(keymap m, int cap) {
    if (cap > *m.hcap) {
        if (resize((void **)m.hkey, cap, sizeof **m.hkey) || resize((void **)m.hval, cap, sizeof **m.hval))
            return 1;
        *m.hcap = cap;
    }
    for (int i = 0; i < cap; i++) (*m.hval)[i] = -1;
    return 0;
}

static inline unsigned hash_slot(int64_t key, int cap) {
    uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ull;
    return (unsigned)(h >> 32) & (unsigned)(cap - 1);
}

/* id of key (a new one gets the next id); -1 when out of memory. *cap is the
 * table size in use (a power of two, at most *m.hcap). */
static int key_id(keymap m, int *cap, int64_t key) {
    unsigned h = hash_slot(key, *cap);
    while ((*m.hval)[h] >= 0) {
        if ((*m.hkey)[h] == key) return (*m.hval)[h];
        h = (h + 1) & (unsigned)(*cap - 1);
    }
    long c = next_cap(*m.cap_keys, *m.n_keys + 1L);
    if (c) {
        if (resize((void **)m.keys, c, sizeof **m.keys)) return -1;
        *m.cap_keys = (int)c;
    }
    int id = (*m.n_keys)++;
    (*m.keys)[id] = key;
    if (2 * *m.n_keys > *cap) { /* rehash into a twice larger table */
        int ncap = 2 * *cap;
        if (hash_reset(m, ncap)) return -1;
        for (int t = 0; t < *m.n_keys; t++) {
            unsigned g = hash_slot((*m.keys)[t], ncap);
            while ((*m.hval)[g] >= 0) g = (g + 1) & (unsigned)(ncap - 1);
            (*m.hkey)[g] = (*m.keys)[t];
            (*m.hval)[g] = t;
        }
        *cap = ncap;
    } else {
        (*m.hkey)[h] = key;
        (*m.hval)[h] = id;
    }
    return id;
}

static keymap thread_keys(bmd__nl_thread *t) {
    return (keymap){&t->hcap, &t->hkey, &t->hval, &t->n_keys, &t->cap_keys, &t->keys};
}

static keymap merge_keys(bmd__nl_scratch *s) {
    return (keymap){&s->hcap, &s->hkey, &s->hval, &s->n_keys, &s->cap_keys, &s->keys};
}

static int cmp_keyid(const void *a, const void *b) {
    int64_t x = ((const bmd__nl_keyid *)a)->key, y = ((const bmd__nl_keyid *)b)->key;
    return (x > y) - (x < y);
}

/* ---- workspace ---- */
static int reserve_atoms(bmd__nlist *nl, bmd__nl_scratch *scr, int n) {
    long c = next_cap(scr->cap_atoms, n + 1L);
    if (c) {
        if (c > (1L << 29) || resize((void **)&scr->wrap, 3 * c, sizeof(int)) ||
            resize((void **)&scr->bin, c, sizeof(int)) || resize((void **)&scr->bin_atoms, c, sizeof(int)) ||
            resize((void **)&scr->slot, c, sizeof(int)) || resize((void **)&scr->bx, 3 * c, sizeof(double)))
            return 1;
        scr->cap_atoms = (int)c;
    }
    c = next_cap(nl->cap_atoms, n + 1L);
    if (c) {
        if (c > (1L << 29) || resize((void **)&nl->ref_pos, 3 * c, sizeof(double)) ||
            resize((void **)&nl->start, c, sizeof(int)) || resize((void **)&nl->mid, c, sizeof(int)) ||
            resize((void **)&nl->soff, c, sizeof(int)))
            return 1;
        nl->cap_atoms = (int)c;
    }
    return 0;
}

static int reserve_threads(bmd__nl_scratch *scr, int nt) {
    if (nt <= scr->n_thr) return 0;
    bmd__nl_thread *t = realloc(scr->thr, (size_t)nt * sizeof *t);
    if (!t) return 1;
    memset(t + scr->n_thr, 0, (size_t)(nt - scr->n_thr) * sizeof *t);
    scr->thr = t;
    scr->n_thr = nt;
    return 0;
}

static int reserve_stencil(bmd__nl_thread *t, long need) {
    long c = next_cap(t->cap_stencil, need);
    if (!c) return 0;
    if (resize((void **)&t->st_t0, c, sizeof(int)) || resize((void **)&t->st_t1, c, sizeof(int)) ||
        resize((void **)&t->st_img, 3 * c, sizeof(int)) || resize((void **)&t->st_vec, 3 * c, sizeof(double)) ||
        resize((void **)&t->st_pos, c, sizeof(int)))
        return 1;
    t->cap_stencil = (int)c;
    return 0;
}

static int reserve_row(bmd__nl_thread *t, long need) {
    long c = next_cap(t->cap_row, need);
    if (!c) return 0;
    if (c > (1L << 30) || resize((void **)&t->acc, c, sizeof(int)) || resize((void **)&t->r0, c, sizeof(int)) ||
        resize((void **)&t->r1, c, sizeof(int)) || resize((void **)&t->r1key, c, sizeof(int64_t)))
        return 1;
    t->cap_row = (int)c;
    return 0;
}

/* bin coordinate c + d on one axis: bin index and lattice image; 0 if off a non-periodic axis */
static inline int step_axis(int c, int d, int nb, int periodic, int *bin, int *img) {
    int B = c + d;
    if (B >= 0 && B < nb) {
        *bin = B;
        *img = 0;
        return 1;
    }
    if (periodic) {
        int b = ((B % nb) + nb) % nb;
        *bin = b;
        *img = (B - b) / nb;
        return 1;
    }
    if (B < 0 || B >= nb) return 0;
    *bin = B;
    *img = 0;
    return 1;
}

/* what every thread of one build reads */
typedef struct geom {
    int n, nb[3], m[3], per[3];
    int ortho;        /* the binning basis is orthogonal: prune the stencil per atom */
    int avx2;         /* the CPU has AVX2: filter_avx2 */
    double th[3];     /* bin thickness along each axis, Å */
    double Binv[9], lo[3], hi[3];
    double rl2;
    const double *cell;
    const int *bstart, *batoms, *slot, *w, *bin;
    const int *bmax;  /* [n_bins] largest atom index in each bin, -1 if empty */
    const int *cmax;  /* [nb0 nb1] the same for each column of bins along axis 2 */
    const int *cmin;  /* [nb0 nb1] smallest atom index of each column, INT_MAX if empty */
    const double *bx;
} geom;

static int reserve_stencil(bmd__nl_thread *t, long need);

/* A column (d0, d1) of a bin's stencil: the bins along axis 2 at bin offsets
 * d0, d1 (images i0, i1): t->col[COLW k + ...] holds d0 + m0, d1 + m1, the
 * flat index of its first bin, its column index, whether (i0, i1) is
 * lexicographically positive (1), zero (0) or negative (-1), i0, i1; t->colv[3k] its
 * image vector i0 a + i1 b. */
enum { COLW = 7, COL_CACHE = 16 };

static int make_columns(const geom *g, int *col, double *colv, int c0, int c1) {
    const int *nb = g->nb, *m = g->m, *per = g->per;
    int nc = 0;
    for (int d0 = -m[0]; d0 <= m[0]; d0++) {
        int b0, i0;
        if (!step_axis(c0, d0, nb[0], per[0], &b0, &i0)) continue;
        for (int d1 = -m[1]; d1 <= m[1]; d1++) {
            int b1, i1;
            if (!step_axis(c1, d1, nb[1], per[1], &b1, &i1)) continue;
            int *c = col + COLW * nc;
            c[0] = d0 + m[0];
            c[1] = d1 + m[1];
            c[2] = (b0 * nb[1] + b1) * nb[2];
            c[3] = b0 * nb[1] + b1;
            c[4] = i0 > 0 || (i0 == 0 && i1 > 0) ? 1 : (i0 == 0 && i1 == 0 ? 0 : -1);
            c[5] = i0;
            c[6] = i1;
            const int I[3] = {i0, i1, 0};
            bmd__nl_image_vec(I, g->cell, per, colv + 3 * nc);
            nc++;
        }
    }
    return nc;
}

/* one run: slots [t0, t1) of column c in image i2 along axis 2; 1 when out of memory */
static inline int add_run(const geom *g, bmd__nl_thread *t, const int *col, const double *colv, int *ns, int t0,
                          int t1, int c, int i2) {
    const int k = *ns;
    if (k >= t->cap_stencil && reserve_stencil(t, k + 1L)) return 1;
    t->st_t0[k] = t0;
    t->st_t1[k] = t1;
    const int sgn = col[COLW * c + 4];
    const double *cv = colv + 3 * c;
    double *v = t->st_vec + 3 * k;
    /* the image vector in image_vec's order: ((n0 a) + n1 b) + n2 c */
    if (i2 && g->per[2]) {
        const double n2 = (double)i2;
        v[0] = cv[0] + n2 * g->cell[6];
        v[1] = cv[1] + n2 * g->cell[7];
        v[2] = cv[2] + n2 * g->cell[8];
    } else {
        v[0] = cv[0];
        v[1] = cv[1];
        v[2] = cv[2];
    }
    t->st_pos[k] = sgn > 0 || (sgn == 0 && i2 > 0);
    int *I = t->st_img + 3 * k;
    I[0] = col[COLW * c + 5];
    I[1] = col[COLW * c + 6];
    I[2] = i2;
    (*ns)++;
    return 0;
}

static inline int ifloor(double x) { /* floor for |x| < 2^31 */
    int i = (int)x;
    return i - (x < (double)i);
}

/* distance (in bin thicknesses) from a point at p in [0,1] of its bin to the
 * bin d away along one axis, shrunk a hair so that rounding never prunes a
 * bin within range */
static inline double gap(int d, double p) {
    double x = d > 0 ? d - p : (d < 0 ? p - d - 1.0 : 0.0);
    x = x * (1.0 - 1e-9) - 1e-9;
    return x > 0.0 ? x : 0.0;
}

/* The stencil of atom i of bin (., ., c2) as runs of consecutive bins along
 * axis 2, over the columns of t; returns their number (-1: out of memory).
 * Bins whose atoms all have an index below i hold no partner (rows keep
 * j >= i) and are cut off, so that spatially ordered atoms scan about half
 * the stencil. p (not NULL only for an orthogonal basis): the atom's place in
 * its bin, in [0,1]^3; then only the bins that can hold a partner within
 * range of that point are kept (columns out of range dropped, each column's
 * axis-2 span cut to the sphere's). */
static int make_stencil(const geom *g, bmd__nl_thread *t, const int *cols, const double *colv, int n_col, int c2,
                        const double *p, int i) {
    const int *nb = g->nb, *m = g->m, *per = g->per;
    double q0[64], q1[64]; /* squared gaps along axes 0 and 1, Å² */
    const int prune = p && 2 * m[0] + 1 <= 64 && 2 * m[1] + 1 <= 64;
    if (prune) {
        for (int d = -m[0]; d <= m[0]; d++) {
            double x = gap(d, p[0]) * g->th[0];
            q0[d + m[0]] = x * x;
        }
        for (int d = -m[1]; d <= m[1]; d++) {
            double x = gap(d, p[1]) * g->th[1];
            q1[d + m[1]] = x * x;
        }
    }
    const double ith2 = 1.0 / g->th[2];
    const int n2 = nb[2];
    int ns = 0;
    for (int c = 0; c < n_col; c++) {
        const int *col = cols + COLW * c;
        if (g->cmax[col[3]] < i) continue; /* no atom of the column has an index >= i */
        int lo2 = c2 - m[2], hi2 = c2 + m[2];
        if (prune) {
            const double r2 = g->rl2 - q0[col[0]] - q1[col[1]];
            if (r2 < 0) continue;
            const double h = sqrt(r2) * ith2 * (1.0 + 1e-9) + 1e-9; /* reach along axis 2, bins */
            const int zl = ifloor(p[2] - h), zh = ifloor(p[2] + h);
            if (zl > -m[2]) lo2 = c2 + zl;
            if (zh < m[2]) hi2 = c2 + zh;
        }
        const int row = col[2];
        const int *bmax = g->bmax + row, *bst = g->bstart + row;
        if (!per[2]) {
            if (lo2 < 0) lo2 = 0;
            if (hi2 > n2 - 1) hi2 = n2 - 1;
        }
        int B = lo2, i2 = 0, b = B;
        if (per[2]) {
            i2 = B >= 0 ? (B < n2 ? 0 : B / n2) : -((-B + n2 - 1) / n2);
            b = B - i2 * n2;
        }
        if (g->cmin[col[3]] > i) { /* every atom of the column is a candidate: runs per image */
            while (B <= hi2) {
                int e = hi2 - B + b; /* last bin of this image's part */
                if (e > n2 - 1) e = n2 - 1;
                if (bst[b] < bst[e + 1] && add_run(g, t, cols, colv, &ns, bst[b], bst[e + 1], c, i2)) return -1;
                B += e - b + 1;
                b = 0;
                i2++;
            }
            continue;
        }
        int open = 0, r0 = 0, r1 = 0;
        for (; B <= hi2; B++) {
            if (bmax[b] >= i) {
                if (!open) {
                    open = 1;
                    r0 = bst[b];
                }
                r1 = bst[b + 1];
            } else if (open) {
                if (add_run(g, t, cols, colv, &ns, r0, r1, c, i2)) return -1;
                open = 0;
            }
            if (++b == n2 && B < hi2) { /* next image along axis 2 */
                if (open && add_run(g, t, cols, colv, &ns, r0, r1, c, i2)) return -1;
                open = 0;
                b = 0;
                i2++;
            }
        }
        if (open && add_run(g, t, cols, colv, &ns, r0, r1, c, i2)) return -1;
    }
    return ns;
}

/* distinct values a[0..n) into out in increasing order: each value goes to
 * its rank (how many are smaller), a branch-free count that vectorises; rows
 * are short, so this beats comparison sorts and their mispredicted branches */
static int cmp_int(const void *x, const void *y) {
    int a = *(const int *)x, b = *(const int *)y;
    return (a > b) - (a < b);
}

static void rank_sort(const int *restrict a, int n, int *restrict out) {
    if (n > 128) { /* long rows (big cutoffs): O(n log n) */
        memcpy(out, a, (size_t)n * sizeof(int));
        qsort(out, (size_t)n, sizeof(int), cmp_int);
        return;
    }
    for (int k = 0; k < n; k++) {
        const int v = a[k];
        int r = 0;
        for (int q = 0; q < n; q++) r += a[q] < v;
        out[r] = v;
    }
}

static void sort_pair(int *a, int64_t *key, int n) { /* by (a, key) */
    for (int k = 1; k < n; k++) {
        int v = a[k];
        int64_t w = key[k];
        int q = k - 1;
        while (q >= 0 && (a[q] > v || (a[q] == v && key[q] > w))) {
            a[q + 1] = a[q];
            key[q + 1] = key[q];
            q--;
        }
        a[q + 1] = v;
        key[q + 1] = w;
    }
}

#if BMD__NL_AVX2
/* mask of passing lanes -> pshufb bytes that pack those lanes' int32 first */
static const unsigned char filter_lut[16][16] = {
    {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
    {0x00, 0x01, 0x02, 0x03, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
    {0x04, 0x05, 0x06, 0x07, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
    {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
    {0x08, 0x09, 0x0a, 0x0b, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
    {0x00, 0x01, 0x02, 0x03, 0x08, 0x09, 0x0a, 0x0b, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
    {0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
    {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x80, 0x80, 0x80, 0x80},
    {0x0c, 0x0d, 0x0e, 0x0f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
    {0x00, 0x01, 0x02, 0x03, 0x0c, 0x0d, 0x0e, 0x0f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
    {0x04, 0x05, 0x06, 0x07, 0x0c, 0x0d, 0x0e, 0x0f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
    {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0c, 0x0d, 0x0e, 0x0f, 0x80, 0x80, 0x80, 0x80},
    {0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
    {0x00, 0x01, 0x02, 0x03, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x80, 0x80, 0x80, 0x80},
    {0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x80, 0x80, 0x80, 0x80},
    {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f},
};

/* The candidate filter of scan_rows, 4 slots at a time: distances and index
 * tests in AVX2 lanes, then the passing slots packed by a shuffle table (the
 * same slots as the scalar loop; acc needs 3 slots of slack). */
__attribute__((target("avx2"))) static int filter_avx2(const double *xs, const double *ys, const double *zs,
                                                      const int *js, int t0, int t1, double sx, double sy,
                                                      double sz, double rl2, int i, int ipos, int *acc) {
    const __m256d vsx = _mm256_set1_pd(sx), vsy = _mm256_set1_pd(sy), vsz = _mm256_set1_pd(sz);
    const __m256d vr = _mm256_set1_pd(rl2);
    const __m128i vi = _mm_set1_epi32(i), vpos = _mm_set1_epi32(ipos ? -1 : 0);
    __m128i idx = _mm_setr_epi32(t0, t0 + 1, t0 + 2, t0 + 3);
    const __m128i four = _mm_set1_epi32(4);
    int na = 0, tj = t0;
    for (; tj + 4 <= t1; tj += 4) {
        const __m256d dx = _mm256_add_pd(_mm256_loadu_pd(xs + tj), vsx);
        const __m256d dy = _mm256_add_pd(_mm256_loadu_pd(ys + tj), vsy);
        const __m256d dz = _mm256_add_pd(_mm256_loadu_pd(zs + tj), vsz);
        const __m256d r2 = _mm256_add_pd(_mm256_add_pd(_mm256_mul_pd(dx, dx), _mm256_mul_pd(dy, dy)),
                                         _mm256_mul_pd(dz, dz));
        const int near = _mm256_movemask_pd(_mm256_cmp_pd(r2, vr, _CMP_LT_OQ));
        const __m128i j = _mm_loadu_si128((const __m128i *)(js + tj));
        const __m128i ok = _mm_or_si128(_mm_cmpgt_epi32(j, vi), _mm_and_si128(_mm_cmpeq_epi32(j, vi), vpos));
        const int m = near & _mm_movemask_ps(_mm_castsi128_ps(ok));
        const __m128i pick = _mm_loadu_si128((const __m128i *)filter_lut[m]);
        _mm_storeu_si128((__m128i *)(acc + na), _mm_shuffle_epi8(idx, pick));
        na += __builtin_popcount((unsigned)m);
        idx = _mm_add_epi32(idx, four);
    }
    for (; tj < t1; tj++) {
        const double dx = xs[tj] + sx, dy = ys[tj] + sy, dz = zs[tj] + sz;
        const int j = js[tj];
        acc[na] = tj;
        na += (dx * dx + dy * dy + dz * dz < rl2) & ((j > i) | ((j == i) & ipos));
    }
    return na;
}
#endif

/* scan_rows's answer when its region of the list is full */
#define SCAN_OVERFLOW 100

/* Rows [row0, row1) into t's output (thread 0: the list's own arrays);
 * nl->start/mid of those rows get offsets relative to the thread's output. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
static int scan_rows(const geom *g, const double *pos, bmd__nl_thread *t, bmd__nlist *nl, int tid, int row0,
                     int row1, int max_stencil, int *region, long region_cap) {
    if (reserve_stencil(t, max_stencil < 4096 ? max_stencil : 4096)) return BMD__NL_NOMEM;
    {
        long c = next_cap(t->cap_col, (2L * g->m[0] + 1) * (2L * g->m[1] + 1));
        if (c) {
            if (resize((void **)&t->col, COL_CACHE * COLW * c, sizeof(int)) ||
                resize((void **)&t->colv, COL_CACHE * 3 * c, sizeof(double)))
                return BMD__NL_NOMEM;
            t->cap_col = (int)c;
        }
    }
    keymap km = thread_keys(t);
    t->n_keys = 0;
    int hcap = 64;
    if (hash_reset(km, hcap)) return BMD__NL_NOMEM;
    const int64_t key0 = pack(0, 0, 0);
    if (key_id(km, &hcap, key0) != 0) return BMD__NL_NOMEM;
    int64_t last_key = key0;
    int last_id = 0;
    int **oj = tid ? &t->out_j : &nl->j, **os = tid ? &t->out_s : &nl->shift;
    long cap_out = tid ? t->cap_out : nl->cap_nnz, no = 0;
    if (region) { /* partners into a fixed region of the list's own array */
        oj = &region;
        cap_out = region_cap;
    }
    long cap_img = tid ? t->cap_img : nl->cap_img, ni = 0; /* imaged entries */
    int ns = 0, col_key[COL_CACHE], col_n[COL_CACHE];
    for (int k = 0; k < COL_CACHE; k++) col_key[k] = -1;
    const double rl2 = g->rl2;
    const double *restrict bx = g->bx, *restrict bxs = g->bx, *restrict bys = g->bx + g->n,
                           *restrict bzs = g->bx + 2 * (size_t)g->n;
    const int *restrict batoms = g->batoms;
    for (int i = row0; i < row1; i++) {
        const int ti = g->slot[i], cb = g->bin[i];
        const int c2 = cb % g->nb[2], c01 = cb / g->nb[2], c0 = c01 / g->nb[1], c1 = c01 % g->nb[1];
        /* the columns of the last few (c0, c1), direct-mapped */
        const int slot = c01 & (COL_CACHE - 1);
        int *cols = t->col + (size_t)slot * COLW * t->cap_col;
        double *colv = t->colv + (size_t)slot * 3 * t->cap_col;
        if (col_key[slot] != c01) {
            col_n[slot] = make_columns(g, cols, colv, c0, c1);
            col_key[slot] = c01;
        }
        const int n_col = col_n[slot];
        if (g->ortho) { /* the atom's own pruned stencil */
            const double *q = pos + 3 * (size_t)i;
            const int cc[3] = {c0, c1, c2};
            double pb[3];
            for (int k = 0; k < 3; k++) {
                const double *Bi = g->Binv;
                double f = q[0] * Bi[k] + q[1] * Bi[3 + k] + q[2] * Bi[6 + k];
                double x = g->per[k] ? (f - floor(f)) * g->nb[k]
                                     : (g->hi[k] > g->lo[k] ? (f - g->lo[k]) / (g->hi[k] - g->lo[k]) * g->nb[k] : 0.0);
                x -= cc[k];
                pb[k] = x < 0.0 ? 0.0 : (x > 1.0 ? 1.0 : x);
            }
            ns = make_stencil(g, t, cols, colv, n_col, c2, pb, i);
        } else {
            ns = make_stencil(g, t, cols, colv, n_col, c2, NULL, i);
        }
        if (ns < 0) return BMD__NL_NOMEM;
        const double xi = bx[ti], yi = bys[ti], zi = bzs[ti];
        const int *wi = g->w + 3 * (size_t)i;
        int n0 = 0, n1 = 0;
        for (int k = 0; k < ns; k++) {
            const double *S = t->st_vec + 3 * k;
            const double sx = S[0] - xi, sy = S[1] - yi, sz = S[2] - zi;
            const int t0 = t->st_t0[k], t1 = t->st_t1[k], ipos = t->st_pos[k];
            if (t1 - t0 + 4 > t->cap_row && reserve_row(t, t1 - t0 + 4L)) return BMD__NL_NOMEM;
            int *restrict acc = t->acc;
            /* the slots within range, of partners j > i (or i's own images in
             * a positive image), compacted without branching on the test */
            int na;
#if BMD__NL_AVX2
            if (g->avx2) {
                na = filter_avx2(bxs, bys, bzs, batoms, t0, t1, sx, sy, sz, rl2, i, ipos, acc);
            } else
#endif
            {
                const double *restrict xs = bxs, *restrict ys = bys, *restrict zs = bzs;
                na = 0;
                for (int tj = t0; tj < t1; tj++) {
                    const double dx = xs[tj] + sx, dy = ys[tj] + sy, dz = zs[tj] + sz;
                    const int j = batoms[tj];
                    acc[na] = tj;
                    na += (dx * dx + dy * dy + dz * dz < rl2) & ((j > i) | ((j == i) & ipos));
                }
            }
            if (!na) continue;
            if (n0 + n1 + na > t->cap_row && reserve_row(t, (long)n0 + n1 + na)) return BMD__NL_NOMEM;
            const int *I = t->st_img + 3 * k;
            for (int a = 0; a < na; a++) {
                const int tj = t->acc[a], j = batoms[tj];
                const int *wj = g->w + 3 * (size_t)j;
                const int N0 = I[0] + wi[0] - wj[0], N1 = I[1] + wi[1] - wj[1], N2 = I[2] + wi[2] - wj[2];
                if ((N0 | N1 | N2) == 0) {
                    t->r0[n0++] = j;
                } else {
                    t->r1[n1] = j;
                    t->r1key[n1++] = pack(N0, N1, N2);
                }
            }
        }
        sort_pair(t->r1, t->r1key, n1);
        if (no + n0 + n1 > cap_out) {
            if (region) return SCAN_OVERFLOW;
            long c = next_cap(cap_out, no + n0 + n1);
            if (c > (1L << 30) || resize((void **)oj, c, sizeof(int))) return BMD__NL_NOMEM;
            cap_out = c;
            if (tid) t->cap_out = c;
            else nl->cap_nnz = (int)c;
        }
        if (ni + n1 > cap_img) {
            long c = next_cap(cap_img, ni + n1);
            if (c > (1L << 30) || resize((void **)os, c, sizeof(int))) return BMD__NL_NOMEM;
            cap_img = c;
            if (tid) t->cap_img = c;
            else nl->cap_img = (int)c;
        }
        /* indexed, not offset: before the first entry the arrays are NULL
         * (NULL + 0 is undefined behaviour, which clang's UBSan reports) */
        int *restrict outj = *oj, *restrict outs = *os;
        nl->start[i] = (int)no;
        if (n0) rank_sort(t->r0, n0, &outj[no]);
        no += n0;
        nl->mid[i] = (int)no;
        nl->soff[i] = (int)ni;
        for (int a = 0; a < n1; a++) {
            const int64_t key = t->r1key[a];
            int id = last_id;
            if (key != last_key) {
                id = key_id(km, &hcap, key);
                if (id < 0) return BMD__NL_NOMEM;
                last_key = key;
                last_id = id;
            }
            outj[no + a] = t->r1[a];
            outs[ni + a] = id;
        }
        no += n1;
        ni += n1;
    }
    t->n_out = no;
    t->n_img = ni;
    return BMD__NL_OK;
}

/* Thread tid's rows of step 3 (scan_rows), of nt */
static void scan_part(const geom *g, const double *pos, bmd__nl_scratch *scr, bmd__nlist *nl, int tid, int nt,
                      long max_runs, int use_regions, const long *R) {
    const int n = g->n;
    bmd__nl_thread *t = &scr->thr[tid];
    t->result = scan_rows(g, pos, t, nl, tid, (int)((long)tid * n / nt), (int)((long)(tid + 1) * n / nt),
                          (int)max_runs, use_regions ? nl->j + R[tid] : NULL, use_regions ? R[tid + 1] - R[tid] : 0);
}

/* Thread tid's part of step 4: its entries at their place in the list
 * (base, ibase: where its entries and imaged entries start), image ids
 * mapped to the sorted ones, its rows' offsets made global */
static void place_part(const bmd__nl_scratch *scr, bmd__nlist *nl, int tid, int nt, int n, int regions,
                       const long *base, const long *ibase) {
    const bmd__nl_thread *th = &scr->thr[tid];
    const long b0 = base[tid], i0 = ibase[tid];
    const int row0 = (int)((long)tid * n / nt), row1 = (int)((long)(tid + 1) * n / nt);
    if (tid) {
        if (!regions) memcpy(nl->j + b0, th->out_j, (size_t)th->n_out * sizeof(int));
        for (long k = 0; k < th->n_img; k++) nl->shift[i0 + k] = th->remap[th->out_s[k]];
    } else {
        for (long k = 0; k < th->n_img; k++) nl->shift[k] = th->remap[nl->shift[k]];
    }
    for (int i = row0; i < row1; i++) {
        nl->start[i] += (int)b0;
        nl->mid[i] += (int)b0;
        nl->soff[i] += (int)(i0 - nl->mid[i]); /* shift[k + soff[i]] for k in [mid[i], start[i+1]) */
    }
}

/* threads for a build of n atoms: all of them for a big system outside a
 * parallel region, else 1 (the list does not depend on it) */
static int build_threads(int n) {
#ifdef _OPENMP
    if (n >= SPLIT_MIN && !omp_in_parallel()) {
        int nt = omp_get_max_threads();
        if (nt > MAX_THREADS) nt = MAX_THREADS;
        if (nt > n / 1024) nt = n / 1024;
        return nt < 1 ? 1 : nt;
    }
#else
    (void)n;
#endif
    return 1;
}

/* the list's record of what it was built for; it is built */
static bmd__nl_result finish(bmd__nlist *nl, int n, const double *pos, const double *cell, const unsigned char *pbc,
                             double cutoff, double skin) {
    memcpy(nl->ref_pos, pos, 3 * (size_t)n * sizeof(double));
    double xmax = 0.0;
    for (long k = 0; k < 3L * n; k++) {
        const double a = fabs(pos[k]);
        xmax = a > xmax ? a : xmax;
    }
    nl->ref_xmax = xmax;
    memcpy(nl->ref_cell, cell, sizeof nl->ref_cell);
    memcpy(nl->cell, cell, sizeof nl->cell);
    for (int k = 0; k < 3; k++) nl->ref_pbc[k] = pbc[k] != 0;
    nl->n_atoms = n;
    nl->cutoff = cutoff;
    nl->skin = skin;
    nl->built = 1;
    nl->n_builds++;
    return BMD__NL_OK;
}

/* A system with no periodic axis and at most ALL_PAIRS_MAX atoms: every
 * pair (i, j > i) tested, no bins. The scan's set-up per atom (its stencil
 * of columns of bins, each pruned to the sphere) costs more than n/2
 * distances in AVX2 lanes for such n: fcc Cu clusters, 4.7 Å, one core,
 * 60 atoms 19 -> 2.3 µs, 200 atoms 87 -> 16 µs, 1000 atoms 0.86 -> 0.39 ms.
 * Same pairs as the binned scan: the same wrapped positions (p - 0),
 * offsets (0 - x_i), sums and range. Partners come in index order (the
 * row's sort), no images. */
#define ALL_PAIRS_MAX 1024
static bmd__nl_result all_pairs(bmd__nlist *nl, bmd__nl_scratch *scr, int n, const double *pos, double rl2) {
    if (reserve_threads(scr, 1) || reserve_row(&scr->thr[0], n + 4L)) return BMD__NL_NOMEM;
    int *restrict acc = scr->thr[0].acc, *restrict ident = scr->bin_atoms;
    double *restrict xs = scr->bx, *restrict ys = scr->bx + n, *restrict zs = scr->bx + 2 * (size_t)n;
    for (int i = 0; i < n; i++) {
        xs[i] = pos[3 * i] - 0.0;
        ys[i] = pos[3 * i + 1] - 0.0;
        zs[i] = pos[3 * i + 2] - 0.0;
        ident[i] = i;
    }
#if BMD__NL_AVX2
    const int avx2 = __builtin_cpu_supports("avx2");
#endif
    long no = 0;
    for (int i = 0; i < n; i++) {
        const double sx = 0.0 - xs[i], sy = 0.0 - ys[i], sz = 0.0 - zs[i];
        int na;
#if BMD__NL_AVX2
        if (avx2) {
            na = filter_avx2(xs, ys, zs, ident, i + 1, n, sx, sy, sz, rl2, i, 0, acc);
        } else
#endif
        {
            na = 0;
            for (int j = i + 1; j < n; j++) {
                const double dx = xs[j] + sx, dy = ys[j] + sy, dz = zs[j] + sz;
                acc[na] = j;
                na += dx * dx + dy * dy + dz * dz < rl2;
            }
        }
        const long c = next_cap(nl->cap_nnz, no + na);
        if (c) {
            if (c > (1L << 30) || resize((void **)&nl->j, c, sizeof(int))) return BMD__NL_NOMEM;
            nl->cap_nnz = (int)c;
        }
        nl->start[i] = (int)no;
        if (na) memcpy(nl->j + no, acc, (size_t)na * sizeof(int)); /* nl->j may be NULL while empty */
        no += na;
        nl->mid[i] = (int)no;
        nl->soff[i] = (int)-no; /* (no imaged entries) */
    }
    /* the shift table: image 0 alone, as the binned scan leaves it */
    const long c = next_cap(nl->cap_shifts, 1);
    if (c) {
        if (resize((void **)&nl->shift_n, 3 * c, sizeof(int)) || resize((void **)&nl->shift_vec, 3 * c, sizeof(double)))
            return BMD__NL_NOMEM;
        nl->cap_shifts = (int)c;
    }
    for (int k = 0; k < 3; k++) {
        nl->shift_n[k] = 0;
        nl->shift_vec[k] = 0.0;
    }
    nl->n_shifts = 1;
    nl->start[n] = (int)no;
    nl->nnz = (int)no;
    nl->n_img = 0;
    return BMD__NL_OK;
}

bmd__nl_result bmd__nlist_build(bmd__nlist *nl, bmd__nl_scratch *scr, int n, const double *pos,
                                const double *cell, const unsigned char *pbc, double cutoff,
                                double skin) {
    nl->built = 0;
    bmd__nl_basis bs;
    if (bmd__nl_basis_make(cell, pbc, &bs)) return BMD__NL_BAD_CELL;
    const int *per = bs.periodic;
    const double rl = cutoff + skin;
    if (reserve_atoms(nl, scr, n)) return BMD__NL_NOMEM;

    /* 1. wraps on periodic axes; extent of the non-periodic ones */
    int *w = scr->wrap;
    double lo[3] = {INFINITY, INFINITY, INFINITY}, hi[3] = {-INFINITY, -INFINITY, -INFINITY};
    const double *Bi = bs.Binv;
    for (int i = 0; i < n; i++) {
        const double *p = pos + 3 * i;
        for (int k = 0; k < 3; k++) {
            double f = p[0] * Bi[k] + p[1] * Bi[3 + k] + p[2] * Bi[6 + k];
            if (!isfinite(f)) return BMD__NL_BAD_POS;
            if (per[k]) {
                double fl = floor(f);
                if (fabs(fl) > BMD__NL_WRAP_MAX) return BMD__NL_BAD_POS;
                w[3 * i + k] = (int)fl;
            } else {
                if (fabs(f) > 1e12) return BMD__NL_BAD_POS;
                w[3 * i + k] = 0;
                if (f < lo[k]) lo[k] = f;
                if (f > hi[k]) hi[k] = f;
            }
        }
    }

    if (!per[0] && !per[1] && !per[2] && n <= ALL_PAIRS_MAX) {
        const bmd__nl_result r = all_pairs(nl, scr, n, pos, rl * rl * (1.0 + 1e-12));
        return r ? r : finish(nl, n, pos, cell, pbc, cutoff, skin);
    }

    /* 2. bins about 0.7 rl thick (measured best for dense liquids and solids:
     *    fewer, longer runs than rl/2 for a few more candidates), at most
     *    ~2n + 64 of them; stencil reach m */
    int nb[3], m[3];
    double ext[3];
    for (int k = 0; k < 3; k++) {
        ext[k] = per[k] ? bs.width[k] : (n > 0 ? (hi[k] - lo[k]) * bs.width[k] : 0.0);
        double x = rl > 0 ? floor(ext[k] / (0.7 * rl)) : 1.0;
        nb[k] = x < 1.0 ? 1 : (x > 1e6 ? 1000000 : (int)x);
    }
    const double max_bins = 2.0 * n + 64.0;
    while ((double)nb[0] * nb[1] * nb[2] > max_bins) {
        int k = 0;
        for (int c = 1; c < 3; c++)
            if (nb[c] > nb[k]) k = c;
        nb[k] = (nb[k] + 1) / 2;
    }
    for (int k = 0; k < 3; k++) {
        double t = ext[k] / nb[k];
        if (per[k]) {
            double q = rl / t * (1.0 + 1e-9) + 1e-9;
            if (!(q < BMD__NL_WRAP_MAX)) return BMD__NL_BAD_CELL;
            m[k] = (int)ceil(q);
        } else if (nb[k] == 1) {
            m[k] = 0;
        } else {
            double q = ceil(rl / t * (1.0 + 1e-9) + 1e-9);
            m[k] = q >= nb[k] - 1 ? nb[k] - 1 : (int)q;
        }
    }
    /* a cell far thinner than the range would need absurdly many images */
    const double n_stencil = (2.0 * m[0] + 1) * (2.0 * m[1] + 1) * (2.0 * m[2] + 1);
    if (n_stencil > 1e7) return BMD__NL_BAD_CELL;
    /* runs of one stencil: one per (d0, d1) row and axis-2 image crossed */
    const long max_runs = (2L * m[0] + 1) * (2L * m[1] + 1) * (2L * m[2] / (nb[2] > 0 ? nb[2] : 1) + 2) + 1;
    const int nbins = nb[0] * nb[1] * nb[2];
    {
        long c = next_cap(scr->cap_bins, nbins + 1L);
        if (c) {
            if (resize((void **)&scr->bin_start, c, sizeof(int)) || resize((void **)&scr->bin_max, 3 * c, sizeof(int)))
                return BMD__NL_NOMEM;
            scr->cap_bins = (int)c;
        }
    }

    /* counting sort of the atoms by bin; wrapped Cartesian positions in bin order */
    int *bin = scr->bin, *bstart = scr->bin_start, *batoms = scr->bin_atoms;
    memset(bstart, 0, (size_t)(nbins + 1) * sizeof(int));
    for (int i = 0; i < n; i++) {
        const double *p = pos + 3 * i;
        int bc[3];
        for (int k = 0; k < 3; k++) {
            double f = p[0] * Bi[k] + p[1] * Bi[3 + k] + p[2] * Bi[6 + k];
            double x = per[k] ? (f - w[3 * i + k]) * nb[k] : (hi[k] > lo[k] ? (f - lo[k]) / (hi[k] - lo[k]) * nb[k] : 0.0);
            int v = (int)x;
            bc[k] = v < 0 ? 0 : (v >= nb[k] ? nb[k] - 1 : v);
        }
        bin[i] = (bc[0] * nb[1] + bc[1]) * nb[2] + bc[2];
        bstart[bin[i] + 1]++;
    }
    for (int b = 0; b < nbins; b++) bstart[b + 1] += bstart[b];
    for (int i = 0; i < n; i++) {
        int t = bstart[bin[i]]++;
        batoms[t] = i;
        scr->slot[i] = t;
    }
    for (int b = nbins; b > 0; b--) bstart[b] = bstart[b - 1];
    bstart[0] = 0;
    for (int b = 0; b < nbins; b++) /* atoms of a bin are in index order */
        scr->bin_max[b] = bstart[b + 1] > bstart[b] ? batoms[bstart[b + 1] - 1] : -1;
    for (int c = 0; c < nb[0] * nb[1]; c++) {
        int x = -1, y = INT_MAX;
        for (int b = c * nb[2]; b < (c + 1) * nb[2]; b++) {
            x = scr->bin_max[b] > x ? scr->bin_max[b] : x;
            for (int q = bstart[b]; q < bstart[b + 1]; q++) y = batoms[q] < y ? batoms[q] : y;
        }
        scr->bin_max[nbins + c] = x;
        scr->bin_max[nbins + nb[0] * nb[1] + c] = y;
    }
    double *bx = scr->bx;
    for (int t = 0; t < n; t++) {
        int i = batoms[t];
        double v[3];
        bmd__nl_image_vec(w + 3 * i, cell, per, v);
        for (int k = 0; k < 3; k++) {
            bx[(size_t)k * n + t] = pos[3 * i + k] - v[k];
        }
    }

    /* 3. rows, split over threads in contiguous ranges */
    int nt = build_threads(n);
    if (reserve_threads(scr, nt)) return BMD__NL_NOMEM;
    /* a hair wider than the range, so rounding never drops a pair at the edge */
    geom g = {.n = n, .nb = {nb[0], nb[1], nb[2]}, .m = {m[0], m[1], m[2]},
              .per = {per[0], per[1], per[2]}, .rl2 = rl * rl * (1.0 + 1e-12), .cell = cell,
              .bstart = bstart, .batoms = batoms, .slot = scr->slot, .w = w, .bin = bin, .bx = bx,
              .bmax = scr->bin_max, .cmax = scr->bin_max + nbins, .cmin = scr->bin_max + nbins + nb[0] * nb[1]};
    {
        const double *B = bs.B;
        g.ortho = B[0] * B[3] + B[1] * B[4] + B[2] * B[5] == 0.0 && B[0] * B[6] + B[1] * B[7] + B[2] * B[8] == 0.0 &&
                  B[3] * B[6] + B[4] * B[7] + B[5] * B[8] == 0.0;
        for (int k = 0; k < 3; k++) {
            g.th[k] = ext[k] / nb[k];
            g.lo[k] = lo[k];
            g.hi[k] = hi[k];
        }
        memcpy(g.Binv, bs.Binv, sizeof g.Binv);
#if BMD__NL_AVX2
        g.avx2 = __builtin_cpu_supports("avx2");
#endif
        /* a non-periodic axis of zero extent: one bin, nothing to prune along it */
        for (int k = 0; k < 3; k++)
            if (!(g.th[k] > 0)) g.ortho = 0;
    }
    /* Where the threads write their partners: a list rebuilt with the same
     * atoms gives each thread a region of the list's own array, sized from
     * the last build (its rows' share, 5 % more), so that no thread needs a
     * buffer of its own; a region that overflows sends the build back to
     * per-thread buffers (threads > 0). A first build runs on one thread. */
    long base[MAX_THREADS + 1], R[MAX_THREADS + 1];
    int regions = 0;
    if (nt > 1 && nl->n_builds > 0 && nl->n_atoms == n && nl->nnz > 0) {
        for (int t = 0; t < nt; t++) R[t] = (long)(1.05 * nl->start[(long)t * n / nt]) + 64L * t;
        R[nt] = (long)(1.05 * nl->nnz) + 64L * nt;
        long c = next_cap(nl->cap_nnz, R[nt]);
        if (c) {
            if (c > (1L << 30) || resize((void **)&nl->j, c, sizeof(int))) return BMD__NL_NOMEM;
            nl->cap_nnz = (int)c;
        }
        regions = 1;
    } else if (nt > 1) {
        nt = 1; /* a first build: one thread, no buffers (its size guides the next ones) */
    }
    for (int pass = regions ? 0 : 1; pass < 2; pass++) {
        const int use_regions = pass == 0;
        /* (one thread: no parallel construct at all; even an inactive one
         * nested in the model's loop over systems makes libgomp allocate a
         * team, on every build) */
#ifdef _OPENMP
        if (nt > 1) {
#pragma omp parallel num_threads(nt)
            scan_part(&g, pos, scr, nl, omp_get_thread_num(), nt, max_runs, use_regions, R);
        } else
#endif
            scan_part(&g, pos, scr, nl, 0, 1, max_runs, use_regions, R);
        int overflow = 0;
        for (int t = 0; t < nt; t++) overflow |= scr->thr[t].result == SCAN_OVERFLOW;
        if (!overflow) break;
        regions = 0;
    }
    if (regions) /* close the gaps: thread t's block moves down to its base (never past its region) */
        for (int t = 1, b = (int)scr->thr[0].n_out; t < nt; t++) {
            memmove(nl->j + b, nl->j + R[t], (size_t)scr->thr[t].n_out * sizeof(int));
            b += (int)scr->thr[t].n_out;
        }
    base[0] = 0;
    long ibase[MAX_THREADS + 1];
    ibase[0] = 0;
    for (int t = 0; t < nt; t++) {
        if (scr->thr[t].result) return (bmd__nl_result)scr->thr[t].result;
        base[t + 1] = base[t] + scr->thr[t].n_out;
        ibase[t + 1] = ibase[t] + scr->thr[t].n_img;
    }
    if (base[nt] > (1L << 30)) return BMD__NL_NOMEM;
    const int nnz = (int)base[nt], nimg = (int)ibase[nt];

    /* 4. image triples of all threads, sorted; the ids of the entries mapped to them */
    scr->n_keys = 0;
    keymap km = merge_keys(scr);
    int hcap = 64;
    if (hash_reset(km, hcap)) return BMD__NL_NOMEM;
    for (int t = 0; t < nt; t++)
        for (int k = 0; k < scr->thr[t].n_keys; k++)
            if (key_id(km, &hcap, scr->thr[t].keys[k]) < 0) return BMD__NL_NOMEM;
    const int nk = scr->n_keys;
    {
        long c = next_cap(nl->cap_shifts, nk);
        if (c) {
            if (resize((void **)&nl->shift_n, 3 * c, sizeof(int)) ||
                resize((void **)&nl->shift_vec, 3 * c, sizeof(double)))
                return BMD__NL_NOMEM;
            nl->cap_shifts = (int)c;
        }
        if (nk > scr->cap_order) {
            if (resize((void **)&scr->order, scr->cap_keys, sizeof *scr->order) ||
                resize((void **)&scr->rank, scr->cap_keys, sizeof(int)))
                return BMD__NL_NOMEM;
            scr->cap_order = scr->cap_keys;
        }
        c = next_cap(nl->cap_nnz, nnz);
        if (c) {
            if (c > (1L << 30) || resize((void **)&nl->j, c, sizeof(int))) return BMD__NL_NOMEM;
            nl->cap_nnz = (int)c;
        }
        c = next_cap(nl->cap_img, nimg);
        if (c) {
            if (c > (1L << 30) || resize((void **)&nl->shift, c, sizeof(int))) return BMD__NL_NOMEM;
            nl->cap_img = (int)c;
        }
    }
    for (int t = 0; t < nk; t++) {
        scr->order[t].key = scr->keys[t];
        scr->order[t].id = t;
    }
    qsort(scr->order, (size_t)nk, sizeof *scr->order, cmp_keyid);
    for (int r = 0; r < nk; r++) {
        unpack(scr->order[r].key, nl->shift_n + 3 * r);
        bmd__nl_image_vec(nl->shift_n + 3 * r, cell, per, nl->shift_vec + 3 * r);
    }
    nl->n_shifts = nk;
    /* merge id (first-seen order) -> sorted id; each thread's local id -> sorted id */
    for (int r = 0; r < nk; r++) scr->rank[scr->order[r].id] = r;
    for (int t = 0; t < nt; t++) {
        bmd__nl_thread *th = &scr->thr[t];
        if (th->n_keys > th->cap_remap) {
            if (resize((void **)&th->remap, th->cap_keys, sizeof(int))) return BMD__NL_NOMEM;
            th->cap_remap = th->cap_keys;
        }
        for (int k = 0; k < th->n_keys; k++) th->remap[k] = scr->rank[key_id(km, &hcap, th->keys[k])];
    }
#ifdef _OPENMP
    if (nt > 1) {
#pragma omp parallel num_threads(nt)
        place_part(scr, nl, omp_get_thread_num(), nt, n, regions, base, ibase);
    } else
#endif
        place_part(scr, nl, 0, 1, n, regions, base, ibase);
    nl->start[n] = nnz;
    nl->nnz = nnz;
    nl->n_img = nimg;
    return finish(nl, n, pos, cell, pbc, cutoff, skin);
}
