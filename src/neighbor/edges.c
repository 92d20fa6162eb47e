/* edges.c — owns the edge arrays of include/batchmd/edges.h, made from the
 * per-system half Verlet lists of neighbor.h (and, for a full set, their
 * transposes: transpose.c).
 *
 * Row i, sorted by (j, S) without a sort: for a full set first the reversed
 * entries (i, k, -N) of the rows k <= i that name i (the transpose, sorted by
 * (k, -N)), then the entries of its own half row (partners j >= i) — the
 * image-0 run (by j) merged with the imaged run (by (j, N)); a half set has
 * only the latter. Reversed (i == k) images are negative, own ones positive,
 * so the two parts follow each other in order. Each run is first filtered
 * (the strict cut) into a compact run without branches (every candidate is
 * written at the next free place, which advances only when it is kept); the
 * merge, which compares, runs only over kept entries and only in rows that
 * kept imaged ones. A row's centres are filled in after it; the shifts of
 * image-0 edges are zeroed in runs (a system without images: its whole
 * block at once).
 *
 * Three ways, one result (the arrays depend only on the systems, not on the
 * threads, the split or the way):
 *  - strict, one thread at work (no parallel loop, no split system): one
 *    pass, system after system: bring the list up to date and emit its rows
 *    at once, each entry's distance computed once; the partners go to a
 *    side buffer (their row starts at E, not known until the end) and are
 *    copied behind the centres at the end. For a full set the cut of each
 *    entry is kept (nl->keep) for the reversed entries of later rows;
 *  - strict, threads: pass 1 brings the lists up to date and records the
 *    cut of every entry (nl->keep) and counts the kept ones per chunk (a
 *    system, or a thread's contiguous row range of a system of at least
 *    SPLIT_MIN atoms); pass 2 emits every chunk at its final place from the
 *    recorded cut (no distance computed twice);
 *  - not strict: every entry is an edge, so the counts are the lists' sizes:
 *    pass 1 brings the lists up to date, pass 2 emits every chunk at its
 *    final place. When no list was rebuilt and the batch's layout, the mask
 *    and the batch are those of the last result, that result is the answer
 *    and nothing is written at all.
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

/* how an entry is judged */
enum { M_DIST, /* its distance now (strict, one pass); full: recorded in nl->keep */
       M_KEEP, /* the cut recorded by pass 1 in nl->keep */
       M_ALL   /* every entry is an edge (not strict) */ };

typedef struct edges_ws { /* one thread's workspace */
    bmd__nl_scratch nl;
    int cap_row;   /* a row's kept entries, before the merge: */
    int64_t *s0;   /* [cap_row] image-0 partners (global index) */
    int64_t *s1;   /* [cap_row] imaged partners (global index) ... */
    int *sid;      /* [cap_row] ... and their image ids */
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
    int *chunk0;            /* [ns + 1] the chunks of slot s are [chunk0[s], chunk0[s + 1]) */
    int64_t *offsets;       /* [ns + 1] */
    int cap_chunks;
    int64_t *chunk;         /* [n_chunks + 1] edges of each chunk (pass 1), then its start */
    int64_t cap_index, cap_shifts, cap_side;
    int64_t *index;         /* [cap_index >= 2E]: i at [0, E), j at [E, 2E) */
    int64_t *shifts;        /* [cap_shifts >= 3E] */
    int64_t *side;          /* one-pass strict: the partners, before they go to [E, 2E) */
    int64_t n_edges;
    int n_systems;          /* of the last result; -1: none */
    long n_builds;
    /* what the last result was made from (not strict: same inputs, no list
     * rebuilt -> same arrays) */
    int prev_valid;
    const bmd_batch *prev_batch;
    uint64_t prev_layout;
    int prev_ns;
    int64_t prev_edges;
    unsigned char *prev_mask; /* [ns] 0/1 */
    int *prev_count;          /* [ns] atoms */
};

/* One system's work: its list, positions, how entries are judged. */
typedef struct job {
    const bmd__nlist *nl;
    const double *x;      /* [3n] the system's positions, Å */
    int64_t a0;           /* global index of local atom 0 */
    double rc2;           /* strict: cutoff², Å² */
    int full, mode;
    unsigned char *keep;  /* nl->keep: written by M_DIST (full) and pass 1, read by M_KEEP and the reversed entries */
} job;

/* where edges go: centre, partner and shift rows, from edge n on */
typedef struct sink {
    int64_t *ii, *jj, *sh;
    int64_t n;
} sink;

static const int zero_n[3] = {0, 0, 0};

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

/* nl->keep for nnz entries */
static int grow_keep(bmd__nlist *nl) {
    if (nl->nnz <= nl->cap_keep) return 0;
    int c = nl->cap_keep ? nl->cap_keep : 64;
    while (c < nl->nnz) c = c > (1 << 29) ? nl->nnz : 2 * c;
    unsigned char *q = realloc(nl->keep, (size_t)c);
    if (!q) return 1;
    nl->keep = q;
    nl->cap_keep = c;
    return 0;
}

/* the row scratch for rows [i0, i1) of nl */
static int grow_row(edges_ws *w, const bmd__nlist *nl, int i0, int i1) {
    int m = 0;
    for (int i = i0; i < i1; i++)
        if (nl->start[i + 1] - nl->start[i] > m) m = nl->start[i + 1] - nl->start[i];
    if (m <= w->cap_row) return 0;
    int c = w->cap_row ? w->cap_row : 64;
    while (c < m) c *= 2;
    int64_t *s0 = realloc(w->s0, (size_t)c * sizeof *s0);
    if (!s0) return 1;
    w->s0 = s0;
    int64_t *s1 = realloc(w->s1, (size_t)c * sizeof *s1);
    if (!s1) return 1;
    w->s1 = s1;
    int *sid = realloc(w->sid, (size_t)c * sizeof *sid);
    if (!sid) return 1;
    w->sid = sid;
    w->cap_row = c;
    return 0;
}

/* ---- the strict cut, as the models' kernels compute it ---- */

static inline int cut0(const double *x, int j, double xi, double yi, double zi, double rc2) {
    const double dx = x[3 * j] - xi, dy = x[3 * j + 1] - yi, dz = x[3 * j + 2] - zi;
    return dx * dx + dy * dy + dz * dz < rc2;
}

static inline int cut1(const double *x, int j, const double *v, double xi, double yi, double zi, double rc2) {
    const double dx = (x[3 * j] + v[0]) - xi, dy = (x[3 * j + 1] + v[1]) - yi, dz = (x[3 * j + 2] + v[2]) - zi;
    return dx * dx + dy * dy + dz * dz < rc2;
}

/* pass 1 (strict): the cut of every entry of rows [i0, i1) into keep;
 * returns how many are kept */
static int64_t keep_rows(const job *J, int i0, int i1) {
    const bmd__nlist *nl = J->nl;
    const double *x = J->x, rc2 = J->rc2;
    const int *jl = nl->j;
    unsigned char *kp = J->keep;
    int64_t c = 0;
    for (int i = i0; i < i1; i++) {
        const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
        const int a = nl->start[i], m = nl->mid[i], b = nl->start[i + 1];
        for (int e = a; e < m; e++) {
            const int k = cut0(x, jl[e], xi, yi, zi, rc2);
            kp[e] = (unsigned char)k;
            c += k;
        }
        if (m == b) continue; /* no imaged entries (nl->shift may be NULL) */
        const int *id = nl->shift + nl->soff[i];
        for (int e = m; e < b; e++) {
            const int k = cut1(x, jl[e], nl->shift_vec + 3 * id[e], xi, yi, zi, rc2);
            kp[e] = (unsigned char)k;
            c += k;
        }
    }
    return c;
}

/* pass 1 (strict, full, split): the kept reversed entries of rows [i0, i1) */
static int64_t kept_reversed(const job *J, int i0, int i1) {
    const bmd__nlist *nl = J->nl;
    int64_t c = 0;
    for (int q = nl->t_start[i0]; q < nl->t_start[i1]; q++) c += J->keep[nl->t_e[q]];
    return c;
}

/* ---- one row ---- */

/* The row functions take the mode as a constant: each is inlined into one
 * loop over rows per mode (rows are short, ~10 entries: calls and mode
 * tests per row would cost as much as the entries). */
#if defined(__GNUC__)
#define ROW_FN static inline __attribute__((always_inline))
#else
#define ROW_FN static inline
#endif

/* the image-0 entries [a, b) of row i that are edges, compacted into out
 * (global partner indices); returns how many. M_DIST and M_KEEP write every
 * candidate at out[c] (c: the kept so far), so out must hold b - a — except
 * that M_KEEP stops at the last kept entry, so that it writes exactly its
 * edges (pass 2 writes rows in place, the next chunk right behind). */
ROW_FN int64_t filter0(const job *J, int i, int a, int b, int64_t *out, const int mode) {
    const int *jl = J->nl->j;
    const int64_t a0 = J->a0;
    int64_t c = 0;
    if (mode == M_ALL) {
        for (int e = a; e < b; e++) out[c++] = a0 + jl[e];
        return c;
    }
    unsigned char *kp = J->keep;
    if (mode == M_KEEP) {
        while (b > a && !kp[b - 1]) b--;
        for (int e = a; e < b; e++) {
            out[c] = a0 + jl[e];
            c += kp[e];
        }
        return c;
    }
    const double *x = J->x, rc2 = J->rc2;
    const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
    if (kp) { /* full: later rows' reversed entries read the cut */
        for (int e = a; e < b; e++) {
            const int k = cut0(x, jl[e], xi, yi, zi, rc2);
            out[c] = a0 + jl[e];
            kp[e] = (unsigned char)k;
            c += k;
        }
    } else {
        for (int e = a; e < b; e++) {
            out[c] = a0 + jl[e];
            c += cut0(x, jl[e], xi, yi, zi, rc2);
        }
    }
    return c;
}

/* the imaged entries [a, b) of row i that are edges, into out (global
 * partner) and ids (image id), b - a long; returns how many */
ROW_FN int64_t filter1(const job *J, int i, int a, int b, int64_t *out, int *ids, const int mode) {
    if (a >= b) return 0; /* (nl->shift may be NULL: a list without images) */
    const bmd__nlist *nl = J->nl;
    const int *jl = nl->j, *id = nl->shift + nl->soff[i];
    const int64_t a0 = J->a0;
    int64_t c = 0;
    if (mode == M_ALL) {
        for (int e = a; e < b; e++, c++) {
            out[c] = a0 + jl[e];
            ids[c] = id[e];
        }
        return c;
    }
    unsigned char *kp = J->keep;
    if (mode == M_KEEP) {
        for (int e = a; e < b; e++) {
            out[c] = a0 + jl[e];
            ids[c] = id[e];
            c += kp[e];
        }
        return c;
    }
    const double *x = J->x, rc2 = J->rc2;
    const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
    for (int e = a; e < b; e++) {
        const int k = cut1(x, jl[e], nl->shift_vec + 3 * id[e], xi, yi, zi, rc2);
        out[c] = a0 + jl[e];
        ids[c] = id[e];
        if (kp) kp[e] = (unsigned char)k;
        c += k;
    }
    return c;
}

/* the reversed edges (i, k, -N) of row i, at jj and (when the system has
 * images) sh; returns how many. The cut of every entry (k, i, N), k <= i,
 * is in keep (not M_ALL). */
ROW_FN int64_t reversed(const job *J, int i, int64_t *jj, int64_t *sh, const int mode) {
    const bmd__nlist *nl = J->nl;
    const int *tk = nl->t_k, *te = nl->t_e, *tid = nl->t_id;
    const int64_t a0 = J->a0;
    const unsigned char *kp = J->keep;
    int q0 = nl->t_start[i], q1 = nl->t_start[i + 1];
    int64_t c = 0;
    if (mode == M_ALL) {
        for (int q = q0; q < q1; q++, c++) jj[c] = a0 + tk[q];
    } else {
        if (mode == M_KEEP)
            while (q1 > q0 && !kp[te[q1 - 1]]) q1--; /* write exactly the edges (see filter0) */
        for (int q = q0; q < q1; q++) {
            jj[c] = a0 + tk[q];
            c += kp[te[q]];
        }
    }
    if (!nl->n_img) return c; /* shifts zeroed per chunk */
    int64_t p = 0;
    for (int q = q0; q < q1; q++) {
        const int *N = tid[q] < 0 ? zero_n : nl->shift_n + 3 * tid[q];
        sh[3 * p] = -N[0];
        sh[3 * p + 1] = -N[1];
        sh[3 * p + 2] = -N[2];
        p += mode == M_ALL ? 1 : kp[te[q]];
    }
    return c;
}

/* N lexicographically positive: (j, 0) comes before (j, N) */
static inline int lex_positive(const int *N) {
    return N[0] > 0 || (N[0] == 0 && (N[1] > 0 || (N[1] == 0 && N[2] > 0)));
}

/* merges the kept image-0 partners s0 (ascending) and imaged s1/sid
 * (ascending by (j, N)) into jj, sh; returns c0 + c1 */
static int64_t merge(const job *J, const int64_t *s0, int64_t c0, const int64_t *s1, const int *sid, int64_t c1,
                     int64_t *jj, int64_t *sh) {
    const int *shift_n = J->nl->shift_n;
    int64_t a = 0, b = 0, p = 0;
    for (; a < c0 || b < c1; p++) {
        const int *N = b < c1 ? shift_n + 3 * sid[b] : NULL;
        if (b == c1 || (a < c0 && (s0[a] < s1[b] || (s0[a] == s1[b] && lex_positive(N))))) {
            jj[p] = s0[a++];
            N = zero_n;
        } else {
            jj[p] = s1[b++];
        }
        sh[3 * p] = N[0];
        sh[3 * p + 1] = N[1];
        sh[3 * p + 2] = N[2];
    }
    return p;
}

/* the edges of row i at o->n (o->n advanced) */
ROW_FN void emit_row(const job *J, edges_ws *w, int i, sink *o, const int mode) {
    const bmd__nlist *nl = J->nl;
    const int a = nl->start[i], m = nl->mid[i], b = nl->start[i + 1];
    const int64_t p0 = o->n;
    int64_t p = p0;
    /* the imaged run first: with M_DIST its cut is needed by the reversed
     * part (an atom's own images, (i, i, N), are in both) */
    const int64_t c1 = m < b ? filter1(J, i, m, b, w->s1, w->sid, mode) : 0;
    if (J->full) p += reversed(J, i, o->jj + p, o->sh + 3 * p, mode);
    if (!c1) { /* image 0 only: straight to the output */
        const int64_t c0 = filter0(J, i, a, m, o->jj + p, mode);
        if (nl->n_img) memset(o->sh + 3 * p, 0, (size_t)c0 * 3 * sizeof(int64_t));
        p += c0;
    } else {
        const int64_t c0 = filter0(J, i, a, m, w->s0, mode);
        p += merge(J, w->s0, c0, w->s1, w->sid, c1, o->jj + p, o->sh + 3 * p);
    }
    const int64_t gi = J->a0 + i;
    for (int64_t q = p0; q < p; q++) o->ii[q] = gi;
    o->n = p;
}

static void rows_dist(const job *J, edges_ws *w, int i0, int i1, sink *o) {
    for (int i = i0; i < i1; i++) emit_row(J, w, i, o, M_DIST);
}
static void rows_keep(const job *J, edges_ws *w, int i0, int i1, sink *o) {
    for (int i = i0; i < i1; i++) emit_row(J, w, i, o, M_KEEP);
}
static void rows_all(const job *J, edges_ws *w, int i0, int i1, sink *o) {
    for (int i = i0; i < i1; i++) emit_row(J, w, i, o, M_ALL);
}

/* rows [i0, i1) at o->n; 1 when out of memory */
static int emit_rows(const job *J, edges_ws *w, int i0, int i1, sink *o) {
    if (grow_row(w, J->nl, i0, i1)) return 1;
    const int64_t p0 = o->n;
    if (J->mode == M_DIST) rows_dist(J, w, i0, i1, o);
    else if (J->mode == M_KEEP) rows_keep(J, w, i0, i1, o);
    else rows_all(J, w, i0, i1, o);
    if (!J->nl->n_img) /* no images in this system: every shift is zero */
        memset(o->sh + 3 * p0, 0, (size_t)(o->n - p0) * 3 * sizeof(int64_t));
    return 0;
}

/* entries of rows [i0, i1), and their reversed ones for a full set: the
 * edges when not strict, a bound otherwise */
static int64_t candidates(const bmd__nlist *nl, int full, int i0, int i1) {
    return (int64_t)nl->start[i1] - nl->start[i0] + (full ? (int64_t)nl->t_start[i1] - nl->t_start[i0] : 0);
}

static job make_job(const bmd_edges *e, const bmd_batch *b, int s, int mode) {
    const int64_t a0 = b->atom_start[s];
    bmd__nlist *nl = e->lists.list[s];
    return (job){.nl = nl, .x = b->pos + 3 * a0, .a0 = a0, .rc2 = e->cutoff * e->cutoff, .full = e->full,
                 .mode = mode, .keep = mode == M_ALL || (mode == M_DIST && !e->full) ? NULL : nl->keep};
}

/* brings slot s's list (and transpose) up to date, on the calling thread */
static int update(bmd_edges *e, edges_ws *ws, const bmd_batch *b, int s) {
    bmd__nlist *nl = e->lists.list[s];
    if (!nl) return BMD__NL_NOMEM;
    const int64_t a0 = b->atom_start[s];
    int rb = 0;
    bmd__nl_result r = bmd__nlist_update(nl, &ws->nl, b->atom_count[s], b->pos + 3 * a0, b->cell + 9 * (size_t)s,
                                         b->pbc + 3 * (size_t)s, e->cutoff, e->skin, &rb);
    e->rebuilt[s] = (unsigned char)rb;
    if (!r && e->full) r = bmd__nlist_transpose(nl);
    if (!r && e->strict && grow_keep(nl)) r = BMD__NL_NOMEM;
    return r;
}

/* ---- create, destroy ---- */

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
    for (int t = 0; t < e->n_ws; t++) {
        bmd__nl_scratch_free(&e->ws[t].nl);
        free(e->ws[t].s0);
        free(e->ws[t].s1);
        free(e->ws[t].sid);
    }
    free(e->ws);
    free(e->err);
    free(e->rebuilt);
    free(e->chunk0);
    free(e->offsets);
    free(e->chunk);
    free(e->index);
    free(e->shifts);
    free(e->side);
    free(e->prev_mask);
    free(e->prev_count);
    free(e);
}

/* ---- compute ---- */

/* workspaces, per-system arrays and chunks for b on nt threads */
static bmd_status reserve(bmd_edges *e, const bmd_batch *b, int nt, int n_chunks) {
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
        if (!(p = realloc(e->prev_mask, (size_t)c))) goto nomem;
        e->prev_mask = p;
        if (!(p = realloc(e->prev_count, (size_t)c * sizeof(int)))) goto nomem;
        e->prev_count = p;
        if (!(p = realloc(e->chunk0, (size_t)c * sizeof(int)))) goto nomem;
        e->chunk0 = p;
        if (!(p = realloc(e->offsets, (size_t)c * sizeof(int64_t)))) goto nomem;
        e->offsets = p;
        e->cap_sys = (int)c;
    }
    const int64_t cc = next_cap(e->cap_chunks, n_chunks + 1);
    if (cc) {
        void *p = realloc(e->chunk, (size_t)cc * sizeof(int64_t));
        if (!p) goto nomem;
        e->chunk = p;
        e->cap_chunks = (int)cc;
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

#define ACTIVE(mask, s) (!(mask) || (mask)[s])

/* strict, one thread: lists and rows system after system, one pass */
static bmd_status one_pass(bmd_edges *e, const bmd_batch *b, const unsigned char *mask) {
    const int ns = b->n_systems;
    edges_ws *w = &e->ws[0];
    int64_t E = 0;
    for (int s = 0; s < ns; s++) {
        e->offsets[s] = E;
        if (!ACTIVE(mask, s)) continue;
        if ((e->err[s] = (unsigned char)update(e, w, b, s))) return report(e, b);
        e->n_builds += e->rebuilt[s];
        const bmd__nlist *nl = e->lists.list[s];
        const int64_t need = E + candidates(nl, e->full, 0, nl->n_atoms) + 1;
        if (grow(&e->index, &e->cap_index, need) || grow(&e->side, &e->cap_side, need) ||
            grow(&e->shifts, &e->cap_shifts, 3 * need))
            return bmd__fail(BMD_ERR_NOMEM, "edges: out of memory for %lld edges", (long long)need);
        sink o = {.ii = e->index, .jj = e->side, .sh = e->shifts, .n = E};
        const job J = make_job(e, b, s, M_DIST);
        if (emit_rows(&J, w, 0, nl->n_atoms, &o))
            return bmd__fail(BMD_ERR_NOMEM, "edges: out of memory for the rows of system %lld (slot %d)",
                             (long long)b->system_id[s], s);
        E = o.n;
    }
    e->offsets[ns] = E;
    if (grow(&e->index, &e->cap_index, 2 * E + 1) || grow(&e->shifts, &e->cap_shifts, 3 * E + 1))
        return bmd__fail(BMD_ERR_NOMEM, "edges: out of memory for %lld edges", (long long)E);
    memcpy(e->index + E, e->side, (size_t)E * sizeof(int64_t));
    e->n_edges = E;
    return BMD_OK;
}

/* pass 1 of a slot done by one thread: list, and its edges (strict: the
 * cut recorded) into its chunk */
static void prepare_one(bmd_edges *e, const bmd_batch *b, int s, int tid) {
    if ((e->err[s] = (unsigned char)update(e, &e->ws[tid], b, s))) return;
    const bmd__nlist *nl = e->lists.list[s];
    int64_t c;
    if (e->strict) {
        const job J = make_job(e, b, s, M_KEEP);
        c = keep_rows(&J, 0, nl->n_atoms);
        if (e->full) c *= 2; /* each kept entry, and its reverse */
    } else {
        c = candidates(nl, e->full, 0, nl->n_atoms);
    }
    e->chunk[e->chunk0[s]] = c;
}

/* pass 2 of a slot done by one thread: its rows at their place */
static void emit_one(bmd_edges *e, const bmd_batch *b, int s, int tid) {
    const int64_t p = e->chunk[e->chunk0[s]], E = e->n_edges;
    sink o = {.ii = e->index + p, .jj = e->index + E + p, .sh = e->shifts + 3 * p, .n = 0};
    const job J = make_job(e, b, s, e->strict ? M_KEEP : M_ALL);
    if (emit_rows(&J, &e->ws[tid], 0, b->atom_count[s], &o)) e->err[s] = BMD__NL_NOMEM;
}

/* slot s is done alone by one thread: in the mask, and small or not split */
static int small_one(const bmd_batch *b, const unsigned char *mask, int s, int split) {
    return ACTIVE(mask, s) && !(split && b->atom_count[s] >= SPLIT_MIN);
}

/* pass 1 (emit = 0) or 2 (emit = 1) of every system that small_one picks,
 * one system per thread when parallel. (Else no parallel construct at all:
 * libgomp sets up a team even for an inactive one, an allocation per call.) */
static void over_systems(bmd_edges *e, const bmd_batch *b, const unsigned char *mask, int split, int emit,
                         int parallel) {
    const int ns = b->n_systems;
#ifdef _OPENMP
    if (parallel) {
        /* static round robin, not dynamic: which thread (and so which
         * thread's workspace) takes a system must not depend on timing, or
         * a thread that took none while its workspace warmed up would
         * allocate in a later call (test_edges_alloc, under load) */
#pragma omp parallel for schedule(static, 1)
        for (int s = 0; s < ns; s++)
            if (small_one(b, mask, s, split)) {
                if (emit) emit_one(e, b, s, omp_get_thread_num());
                else prepare_one(e, b, s, omp_get_thread_num());
            }
        return;
    }
#else
    (void)parallel;
#endif
    for (int s = 0; s < ns; s++)
        if (small_one(b, mask, s, split)) {
            if (emit) emit_one(e, b, s, 0);
            else prepare_one(e, b, s, 0);
        }
}

/* pass 1 of a slot shared by nt threads (outside any parallel region):
 * the list, then thread t's rows [t n / nt, (t + 1) n / nt) are chunk t */
static void prepare_split(bmd_edges *e, const bmd_batch *b, int s, int nt) {
    if ((e->err[s] = (unsigned char)update(e, &e->ws[0], b, s))) return;
    const bmd__nlist *nl = e->lists.list[s];
    const int n = nl->n_atoms;
    int64_t *c = e->chunk + e->chunk0[s];
    if (!e->strict) {
        for (int t = 0; t < nt; t++)
            c[t] = candidates(nl, e->full, (int)((long)t * n / nt), (int)((long)(t + 1) * n / nt));
        return;
    }
    const job J = make_job(e, b, s, M_KEEP);
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
    {
        const int t = omp_get_thread_num();
        const int i0 = (int)((long)t * n / nt), i1 = (int)((long)(t + 1) * n / nt);
        c[t] = keep_rows(&J, i0, i1);
        if (J.full) {
#pragma omp barrier
            c[t] += kept_reversed(&J, i0, i1); /* rows of other threads name these */
        }
    }
#else
    (void)J;
    (void)c;
#endif
}

/* pass 2 of a slot shared by nt threads */
static void emit_split(bmd_edges *e, const bmd_batch *b, int s, int nt) {
    const int n = b->atom_count[s];
    const job J = make_job(e, b, s, e->strict ? M_KEEP : M_ALL);
    for (int t = 0; t < nt; t++)
        if (grow_row(&e->ws[t], J.nl, (int)((long)t * n / nt), (int)((long)(t + 1) * n / nt))) {
            e->err[s] = BMD__NL_NOMEM;
            return;
        }
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
    {
        const int t = omp_get_thread_num();
        const int i0 = (int)((long)t * n / nt), i1 = (int)((long)(t + 1) * n / nt);
        const int64_t p = e->chunk[e->chunk0[s] + t], E = e->n_edges;
        sink o = {.ii = e->index + p, .jj = e->index + E + p, .sh = e->shifts + 3 * p, .n = 0};
        emit_rows(&J, &e->ws[t], i0, i1, &o); /* rows already fit: cannot fail */
    }
#endif
}

/* not strict: the last result (there is one) is still the answer (same
 * batch, layout and mask, no list rebuilt) */
static int unchanged(const bmd_edges *e, const bmd_batch *b, const unsigned char *mask) {
    if (e->prev_batch != b || e->prev_layout != b->layout_version || e->prev_ns != b->n_systems)
        return 0;
    for (int s = 0; s < b->n_systems; s++)
        if (e->prev_mask[s] != (ACTIVE(mask, s) ? 1 : 0) || e->prev_count[s] != b->atom_count[s] ||
            (ACTIVE(mask, s) && e->rebuilt[s]))
            return 0;
    return 1;
}

bmd_status bmd_edges_compute(bmd_edges *e, const bmd_batch *b, const unsigned char *mask) {
    if (!e || !b) return bmd__fail(BMD_ERR_INVALID, "edges: edges or batch is NULL");
    const int had = e->prev_valid;
    e->prev_valid = 0;
    e->n_systems = -1; /* no result until this one is complete */
    e->n_edges = 0;
    int nt = 1;
#ifdef _OPENMP
    nt = omp_get_max_threads();
#endif
    const int ns = b->n_systems;
    /* one system per thread, big systems each by all threads (as the pair
     * models do; the edges do not depend on the split) */
    const int split = nt > 1;
    int n_small = 0, n_split = 0;
    long small_atoms = 0;
    for (int s = 0; s < ns; s++) {
        if (!ACTIVE(mask, s)) continue;
        if (small_one(b, mask, s, split)) {
            n_small++;
            small_atoms += b->atom_count[s];
        } else {
            n_split++;
        }
    }
    const int parallel = nt > 1 && n_small > 1 && small_atoms >= 1024;
    bmd_status st = reserve(e, b, nt, n_small + n_split * nt);
    if (!st) st = bmd__nlist_set_sync(&e->lists, b);
    if (st) return st;
    for (int s = 0; s < ns; s++) {
        e->err[s] = 0;
        e->rebuilt[s] = 0;
    }

    if (e->strict && !parallel && !n_split) {
        if ((st = one_pass(e, b, mask))) return st;
    } else {
        /* pass 1: lists, and each chunk's edges */
        int c = 0;
        for (int s = 0; s < ns; s++) {
            e->chunk0[s] = c;
            c += !ACTIVE(mask, s) ? 0 : small_one(b, mask, s, split) ? 1 : nt;
        }
        e->chunk0[ns] = c;
        over_systems(e, b, mask, split, 0, parallel);
        for (int s = 0; s < ns; s++)
            if (ACTIVE(mask, s) && !small_one(b, mask, s, split)) prepare_split(e, b, s, nt);
        for (int s = 0; s < ns; s++) e->n_builds += e->rebuilt[s];
        if ((st = report(e, b))) return st;
        if (!e->strict && had && unchanged(e, b, mask)) {
            e->n_edges = e->prev_edges; /* the arrays are as they were */
            e->n_systems = ns;
            e->prev_valid = 1;
            return BMD_OK;
        }

        /* chunk starts, offsets */
        int64_t E = 0;
        for (int s = 0; s < ns; s++) {
            e->offsets[s] = E;
            for (int k = e->chunk0[s]; k < e->chunk0[s + 1]; k++) {
                const int64_t n = e->chunk[k];
                e->chunk[k] = E;
                E += n;
            }
        }
        e->offsets[ns] = E;
        if (grow(&e->index, &e->cap_index, 2 * E + 1) || grow(&e->shifts, &e->cap_shifts, 3 * E + 1))
            return bmd__fail(BMD_ERR_NOMEM, "edges: out of memory for %lld edges", (long long)E);
        e->n_edges = E;

        /* pass 2: the rows at their places */
        over_systems(e, b, mask, split, 1, parallel);
        for (int s = 0; s < ns; s++)
            if (ACTIVE(mask, s) && !small_one(b, mask, s, split)) emit_split(e, b, s, nt);
        if ((st = report(e, b))) {
            e->n_edges = 0;
            return st;
        }
    }
    e->n_systems = ns;
    e->prev_valid = 1;
    e->prev_batch = b;
    e->prev_layout = b->layout_version;
    e->prev_ns = ns;
    e->prev_edges = e->n_edges;
    for (int s = 0; s < ns; s++) {
        e->prev_mask[s] = ACTIVE(mask, s) ? 1 : 0;
        e->prev_count[s] = b->atom_count[s];
    }
    return BMD_OK;
}

int64_t bmd_edges_count(const bmd_edges *e) { return e && e->n_systems >= 0 ? e->n_edges : 0; }
int bmd_edges_n_systems(const bmd_edges *e) { return e ? e->n_systems : -1; }
const int64_t *bmd_edges_index(const bmd_edges *e) { return e && e->n_systems >= 0 ? e->index : NULL; }
const int64_t *bmd_edges_shifts(const bmd_edges *e) { return e && e->n_systems >= 0 ? e->shifts : NULL; }
const int64_t *bmd_edges_offsets(const bmd_edges *e) { return e && e->n_systems >= 0 ? e->offsets : NULL; }
long bmd_edges_builds(const bmd_edges *e) { return e ? e->n_builds : 0; }
