/* edges.c — owns the edge arrays of include/batchmd/edges.h, made from the
 * per-system half Verlet lists of neighbor.h in three passes:
 *
 * 1. (per system, OpenMP over systems) bring the list up to date (and, for
 *    a full set, its transpose: transpose.c) and count the edges of every
 *    atom's row;
 * 2. (serial) offsets per system, the start of every atom's row (global,
 *    over the batch's atoms), the arrays grown to E;
 * 3. (per system) write every row in place.
 *
 * Row i, sorted by (j, S) without a sort: for a full set first the reversed
 * entries (i, k, -N) of the rows k <= i that name i (the transpose, sorted by
 * (k, -N)), then the entries of its own half row (partners j >= i) — the
 * image-0 run (by j) merged with the imaged run (by (j, N)); a half set has
 * only the latter. Reversed (i == k) images are negative, own ones positive,
 * so the two parts follow each other in order. Rows are independent, so
 * systems of at least SPLIT_MIN atoms are done by all threads (contiguous
 * row ranges, no atomics); the others go one system per thread. The arrays
 * depend only on the systems, not on the threads or the split.
 *
 * The strict cut tests r² < cutoff² with the vector computed as the models'
 * kernels do, (x_j + S) - x_i, from the row that holds the entry: a pair and
 * its reverse are kept or dropped together. */
#include "batchmd/edges.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "neighbor/neighbor.h"
#ifdef _OPENMP
#include <omp.h>
#endif

/* systems of at least this many atoms are done by all threads together */
#define SPLIT_MIN 4096

typedef struct edges_ws { /* one thread's workspace */
    bmd__nl_scratch nl;
} edges_ws;

struct bmd_edges {
    double cutoff, skin; /* Å */
    int full, strict;
    bmd__nlist_set lists;
    int n_ws;
    edges_ws *ws;
    int cap_sys;
    unsigned char *err;     /* [ns] bmd__nl_result of the last compute */
    unsigned char *rebuilt; /* [ns] list rebuilt in the last compute */
    int64_t *offsets;       /* [ns + 1] */
    long cap_atoms;
    int64_t *row;           /* [n_atoms] edges of each atom (pass 1), then its row's start */
    int64_t cap_index, cap_shifts;
    int64_t *index;         /* [cap_index >= 2E]: i at [0, E), j at [E, 2E) */
    int64_t *shifts;        /* [cap_shifts >= 3E] */
    int64_t n_edges;
    int n_systems;          /* of the last result; -1: none */
    long n_builds;
};

/* One system's work: its list, positions, and its part of the global arrays
 * (indexed by local atom, through a0). */
typedef struct job {
    const bmd__nlist *nl;
    const double *x;  /* [3n] the system's positions, Å */
    int n;
    int64_t a0;       /* global index of local atom 0 */
    double rc2;       /* strict: cutoff², Å² */
    int strict, full;
    int64_t *row;     /* the batch's row counts / starts, shifted by a0 */
    int64_t *ii, *jj, *sh; /* output: i row, j row, shifts */
} job;

/* capacity >= need, doubling from cap; 0 when no growth is needed */
static int64_t next_cap(int64_t cap, int64_t need) {
    if (need <= cap) return 0;
    int64_t c = cap ? cap : 64;
    while (c < need) c *= 2;
    return c;
}

static int grow(int64_t **p, int64_t *cap, int64_t need) {
    int64_t c = next_cap(*cap, need);
    if (!c) return 0;
    if ((uint64_t)c > SIZE_MAX / sizeof(int64_t)) return 1;
    int64_t *q = realloc(*p, (size_t)c * sizeof(int64_t));
    if (!q) return 1;
    *p = q;
    *cap = c;
    return 0;
}

static const int zero_n[3] = {0, 0, 0};

/* image id of entry e of row i, -1 for image 0 */
static inline int image_id(const bmd__nlist *nl, int i, int e) {
    return e < nl->mid[i] ? -1 : nl->shift[e + nl->soff[i]];
}

/* entry (i, j, image id) is an edge: always when not strict, else r < cutoff */
static inline int keep(const job *J, int i, int j, int id) {
    if (!J->strict) return 1;
    const double *x = J->x;
    double dx, dy, dz;
    if (id < 0) {
        dx = x[3 * j] - x[3 * i];
        dy = x[3 * j + 1] - x[3 * i + 1];
        dz = x[3 * j + 2] - x[3 * i + 2];
    } else {
        const double *v = J->nl->shift_vec + 3 * id;
        dx = (x[3 * j] + v[0]) - x[3 * i];
        dy = (x[3 * j + 1] + v[1]) - x[3 * i + 1];
        dz = (x[3 * j + 2] + v[2]) - x[3 * i + 2];
    }
    return dx * dx + dy * dy + dz * dz < J->rc2;
}

/* writes edge p: (i, j, sign * image) */
static inline void put(const job *J, int64_t p, int i, int j, int id, int sign) {
    const int *N = id >= 0 ? J->nl->shift_n + 3 * id : zero_n;
    J->ii[p] = J->a0 + i;
    J->jj[p] = J->a0 + j;
    for (int c = 0; c < 3; c++) J->sh[3 * p + c] = sign * N[c];
}

/* The edges of row i in order, written from p when write (else only
 * counted); returns how many. */
static int64_t do_row(const job *J, int i, int write, int64_t p) {
    const bmd__nlist *nl = J->nl;
    int64_t c = 0;
    if (J->full) /* (i, k, -N) from the entries (k, i, N) of rows k <= i */
        for (int q = nl->t_start[i]; q < nl->t_start[i + 1]; q++) {
            const int k = nl->t_k[q], id = image_id(nl, k, nl->t_e[q]);
            if (!keep(J, k, i, id)) continue;
            if (write) put(J, p + c, i, k, id, -1);
            c++;
        }
    /* own row: merge image 0 (j ascending) with the others ((j, N) ascending) */
    int a = nl->start[i], b = nl->mid[i];
    const int a1 = nl->mid[i], b1 = nl->start[i + 1];
    while (a < a1 || b < b1) {
        int from_a = b == b1;
        if (a < a1 && b < b1) {
            const int ja = nl->j[a], jb = nl->j[b];
            if (ja != jb) {
                from_a = ja < jb;
            } else { /* (j, 0) before (j, N) iff N > 0 lexicographically */
                const int *N = nl->shift_n + 3 * image_id(nl, i, b);
                from_a = N[0] > 0 || (N[0] == 0 && (N[1] > 0 || (N[1] == 0 && N[2] > 0)));
            }
        }
        const int e = from_a ? a++ : b++, id = from_a ? -1 : image_id(nl, i, e);
        if (!keep(J, i, nl->j[e], id)) continue;
        if (write) put(J, p + c, i, nl->j[e], id, 1);
        c++;
    }
    return c;
}

static job make_job(const bmd_edges *e, const bmd_batch *b, int s) {
    const int64_t a0 = b->atom_start[s];
    return (job){.nl = e->lists.list[s], .x = b->pos + 3 * a0, .n = b->atom_count[s], .a0 = a0,
                 .rc2 = e->cutoff * e->cutoff, .strict = e->strict, .full = e->full, .row = e->row + a0,
                 .ii = e->index, .jj = e->index + e->n_edges, .sh = e->shifts};
}

/* pass 1 (write = 0: row counts) or 3 (write = 1: the edges, from the row
 * starts) of rows [t n / nt, (t + 1) n / nt) for t < nt */
static void do_rows(const job *J, int write, int nt) {
    if (nt == 1) { /* (no parallel construct at all: even an inactive one
                      nested in the loop over systems makes libgomp set up a team) */
        for (int i = 0; i < J->n; i++) {
            const int64_t c = do_row(J, i, write, write ? J->row[i] : 0);
            if (!write) J->row[i] = c;
        }
        return;
    }
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
    {
        const int t = omp_get_thread_num();
        const int i0 = (int)((long)t * J->n / nt), i1 = (int)((long)(t + 1) * J->n / nt);
        for (int i = i0; i < i1; i++) {
            const int64_t c = do_row(J, i, write, write ? J->row[i] : 0);
            if (!write) J->row[i] = c;
        }
    }
#endif
}

/* pass 1 of slot s, on nt threads (nt > 1: outside any parallel region) */
static int count_system(bmd_edges *e, edges_ws *ws, const bmd_batch *b, int s, int nt) {
    bmd__nlist *nl = e->lists.list[s];
    if (!nl) return BMD__NL_NOMEM;
    const int64_t a0 = b->atom_start[s];
    int rb = 0;
    bmd__nl_result r = bmd__nlist_update(nl, &ws->nl, b->atom_count[s], b->pos + 3 * a0, b->cell + 9 * (size_t)s,
                                         b->pbc + 3 * (size_t)s, e->cutoff, e->skin, &rb);
    e->rebuilt[s] = (unsigned char)rb;
    if (!r && e->full) r = bmd__nlist_transpose(nl);
    if (r) return r;
    const job J = make_job(e, b, s);
    do_rows(&J, 0, nt);
    return BMD__NL_OK;
}

bmd_status bmd_edges_create(double cutoff, double skin, bmd_edges_kind kind, int strict, bmd_edges **out) {
    if (!out) return bmd__fail(BMD_ERR_INVALID, "edges: out is NULL");
    *out = NULL;
    if (!isfinite(cutoff) || cutoff <= 0)
        return bmd__fail(BMD_ERR_INVALID, "edges: cutoff must be a finite number > 0 Å (got %g)", cutoff);
    if (!isfinite(skin) || skin < 0)
        return bmd__fail(BMD_ERR_INVALID, "edges: skin must be a finite number >= 0 Å (got %g)", skin);
    if (kind != BMD_EDGES_HALF && kind != BMD_EDGES_FULL)
        return bmd__fail(BMD_ERR_INVALID, "edges: kind must be BMD_EDGES_HALF (0) or BMD_EDGES_FULL (1) (got %d)",
                         (int)kind);
    if (strict != 0 && strict != 1)
        return bmd__fail(BMD_ERR_INVALID, "edges: strict must be 0 or 1 (got %d)", strict);
    bmd_edges *e = calloc(1, sizeof *e);
    if (!e) return bmd__fail(BMD_ERR_NOMEM, "edges: out of memory");
    e->cutoff = cutoff;
    e->skin = skin;
    e->full = kind == BMD_EDGES_FULL;
    e->strict = strict;
    e->n_systems = -1;
    *out = e;
    return BMD_OK;
}

void bmd_edges_destroy(bmd_edges *e) {
    if (!e) return;
    bmd__nlist_set_free(&e->lists);
    for (int t = 0; t < e->n_ws; t++) bmd__nl_scratch_free(&e->ws[t].nl);
    free(e->ws);
    free(e->err);
    free(e->rebuilt);
    free(e->offsets);
    free(e->row);
    free(e->index);
    free(e->shifts);
    free(e);
}

/* slot s is done alone by one thread: in the mask, and small or not split */
static int small_one(const bmd_batch *b, const unsigned char *mask, int s, int split) {
    return (!mask || mask[s]) && !(split && b->atom_count[s] >= SPLIT_MIN);
}

/* pass 1 (write = 0) or 3 (write = 1) of slot s on the calling thread */
static void one_system(bmd_edges *e, const bmd_batch *b, int s, int write, int tid) {
    if (!write) {
        e->err[s] = (unsigned char)count_system(e, &e->ws[tid], b, s, 1);
        return;
    }
    const job J = make_job(e, b, s);
    do_rows(&J, 1, 1);
}

/* pass 1 or 3 of every system that small_one picks, one system per thread
 * when parallel. (Else no parallel construct at all: libgomp sets up a team
 * even for an inactive one, an allocation per call.) */
static void over_systems(bmd_edges *e, const bmd_batch *b, const unsigned char *mask, int split, int write,
                         int parallel) {
    const int ns = b->n_systems;
#ifdef _OPENMP
    if (parallel) {
#pragma omp parallel for schedule(dynamic, 1)
        for (int s = 0; s < ns; s++)
            if (small_one(b, mask, s, split)) one_system(e, b, s, write, omp_get_thread_num());
        return;
    }
#else
    (void)parallel;
#endif
    for (int s = 0; s < ns; s++)
        if (small_one(b, mask, s, split)) one_system(e, b, s, write, 0);
}

/* workspaces, per-system and per-atom arrays for b on nt threads */
static bmd_status reserve(bmd_edges *e, const bmd_batch *b, int nt) {
    if (nt > e->n_ws) {
        edges_ws *w = realloc(e->ws, (size_t)nt * sizeof *w);
        if (!w) return bmd__fail(BMD_ERR_NOMEM, "edges: out of memory for %d thread workspaces", nt);
        memset(w + e->n_ws, 0, (size_t)(nt - e->n_ws) * sizeof *w);
        e->ws = w;
        e->n_ws = nt;
    }
    const int64_t c = next_cap(e->cap_sys, b->n_systems + 1);
    if (c) {
        void *p;
        if (!(p = realloc(e->err, (size_t)c))) goto nomem;
        e->err = p;
        if (!(p = realloc(e->rebuilt, (size_t)c))) goto nomem;
        e->rebuilt = p;
        if (!(p = realloc(e->offsets, (size_t)c * sizeof(int64_t)))) goto nomem;
        e->offsets = p;
        e->cap_sys = (int)c;
    }
    const int64_t ca = next_cap(e->cap_atoms, b->n_atoms + 1);
    if (ca) {
        void *p;
        if (!(p = realloc(e->row, (size_t)ca * sizeof(int64_t)))) goto nomem;
        e->row = p;
        e->cap_atoms = (long)ca;
    }
    return BMD_OK;
nomem:
    return bmd__fail(BMD_ERR_NOMEM, "edges: out of memory for %d systems of %d atoms", b->n_systems,
                     b->n_atoms);
}

/* the first failed slot's message */
static bmd_status report(const bmd_edges *e, const bmd_batch *b) {
    for (int s = 0; s < b->n_systems; s++) {
        if (!e->err[s]) continue;
        const long long id = (long long)b->system_id[s];
        if (e->err[s] == BMD__NL_BAD_CELL)
            return bmd__fail(BMD_ERR_INVALID,
                             "edges: system %lld (slot %d): its cell is degenerate along a periodic axis, or far "
                             "thinner than the neighbor range %g Å", id, s, e->cutoff + e->skin);
        if (e->err[s] == BMD__NL_BAD_POS)
            return bmd__fail(BMD_ERR_NUMERIC,
                             "edges: system %lld (slot %d): a position is not finite, or absurdly far from the cell",
                             id, s);
        return bmd__fail(BMD_ERR_NOMEM, "edges: system %lld (slot %d): out of memory building its edges", id, s);
    }
    return BMD_OK;
}

bmd_status bmd_edges_compute(bmd_edges *e, const bmd_batch *b, const unsigned char *mask) {
    if (!e || !b) return bmd__fail(BMD_ERR_INVALID, "edges: edges or batch is NULL");
    e->n_systems = -1; /* no result until this one is complete */
    e->n_edges = 0;
    int nt = 1;
#ifdef _OPENMP
    nt = omp_get_max_threads();
#endif
    bmd_status st = reserve(e, b, nt);
    if (!st) st = bmd__nlist_set_sync(&e->lists, b);
    if (st) return st;
    const int ns = b->n_systems;
    /* one system per thread, big systems each by all threads (as the pair
     * models do; the edges do not depend on the split) */
    const int split = nt > 1;
    int n_small = 0;
    long small_atoms = 0;
    for (int s = 0; s < ns; s++) {
        e->err[s] = 0;
        e->rebuilt[s] = 0;
        if (!small_one(b, mask, s, split)) continue;
        n_small++;
        small_atoms += b->atom_count[s];
    }
    const int parallel = nt > 1 && n_small > 1 && small_atoms >= 1024;

    /* pass 1: lists and per-atom counts */
    over_systems(e, b, mask, split, 0, parallel);
    if (split)
        for (int s = 0; s < ns; s++)
            if ((!mask || mask[s]) && b->atom_count[s] >= SPLIT_MIN)
                e->err[s] = (unsigned char)count_system(e, &e->ws[0], b, s, nt);
    for (int s = 0; s < ns; s++) e->n_builds += e->rebuilt[s];
    if ((st = report(e, b))) return st;

    /* pass 2: offsets per system, row starts per atom */
    int64_t E = 0;
    for (int s = 0; s < ns; s++) {
        e->offsets[s] = E;
        if (mask && !mask[s]) continue;
        int64_t *row = e->row + b->atom_start[s];
        for (int i = 0; i < b->atom_count[s]; i++) {
            const int64_t c = row[i];
            row[i] = E;
            E += c;
        }
    }
    e->offsets[ns] = E;
    if (grow(&e->index, &e->cap_index, 2 * E + 1) || grow(&e->shifts, &e->cap_shifts, 3 * E + 1))
        return bmd__fail(BMD_ERR_NOMEM, "edges: out of memory for %lld edges", (long long)E);
    e->n_edges = E;

    /* pass 3: the rows */
    over_systems(e, b, mask, split, 1, parallel);
    if (split)
        for (int s = 0; s < ns; s++)
            if ((!mask || mask[s]) && b->atom_count[s] >= SPLIT_MIN) {
                const job J = make_job(e, b, s);
                do_rows(&J, 1, nt);
            }
    e->n_systems = ns;
    return BMD_OK;
}

int64_t bmd_edges_count(const bmd_edges *e) { return e && e->n_systems >= 0 ? e->n_edges : 0; }
int bmd_edges_n_systems(const bmd_edges *e) { return e ? e->n_systems : -1; }
const int64_t *bmd_edges_index(const bmd_edges *e) { return e && e->n_systems >= 0 ? e->index : NULL; }
const int64_t *bmd_edges_shifts(const bmd_edges *e) { return e && e->n_systems >= 0 ? e->shifts : NULL; }
const int64_t *bmd_edges_offsets(const bmd_edges *e) { return e && e->n_systems >= 0 ? e->offsets : NULL; }
long bmd_edges_builds(const bmd_edges *e) { return e ? e->n_builds : 0; }
