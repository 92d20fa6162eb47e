/* test_edges.c — the edge arrays of include/batchmd/edges.h against a
 * brute-force enumeration written here: every pair (i, j) of a system over
 * every lattice image N that can come within the cutoff (bounded per axis
 * by the distance between the cell's lattice planes), r = |pos_j + N cell -
 * pos_i| computed directly. The brute force loops i, then j, then N
 * lexicographically, so its list is in the promised order and the arrays
 * are compared entry by entry (set, count and order at once):
 *   - systems: a triclinic crystal with the cutoff beyond half the cell, a
 *     triclinic cell thinner than the cutoff (atoms meet their own images),
 *     a slab (pbc 1 1 0), a cluster (no pbc, zero cell); unwrapped positions
 *     up to several cells away; full and half;
 *   - an atom alone in a simple cubic cell (a = 2 Å, cutoff 2.5 Å): 6 full
 *     edges, 3 half, the shifts the unit vectors (by hand);
 *   - strict with a skin: after moves within the skin there is no rebuild and
 *     the edges are still exactly the pairs within the cutoff now; after a
 *     big move a rebuild; non-strict: the list's pairs (brute force at
 *     cutoff + skin at the build positions) until the next rebuild;
 *   - a batch: offsets, global indices, each system's local edges the same
 *     as when it is alone; masked-out systems get none; removing a system
 *     rebuilds no list;
 *   - a system big enough to be shared by all threads (with small ones),
 *     1 and 2 threads: same arrays, both the brute force;
 *   - not strict, the last result reused: unchanged while no list is
 *     rebuilt, right after a mask change, one system's rebuild, a failed
 *     compute, a removal, another batch object;
 *   - every way of making the arrays (one thread; many small systems one
 *     per thread; a big one split over threads; strict or not; full or
 *     half): the brute force, and the same bits;
 *   - clusters each behind a system with images, alone then with them:
 *     their shifts stay zero;
 *   - errors name the slot and system (degenerate cell, NaN position) and
 *     leave no result; bad create arguments are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batchmd/batchmd.h"
#ifdef _OPENMP
#include <omp.h>
#endif

static void set_threads(int nt) {
#ifdef _OPENMP
    omp_set_num_threads(nt);
#else
    (void)nt;
#endif
}

static double urand(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return ((*s >> 8) & 0xffffff) / 16777216.0;
}

/* ---- brute force ---- */

typedef struct ref { /* edges in local indices, in (i, j, N) order */
    long n, cap;
    int64_t *i, *j, *S;
} ref;

static void ref_push(ref *r, int i, int j, const int *N) {
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 256;
        r->i = realloc(r->i, (size_t)r->cap * sizeof(int64_t));
        r->j = realloc(r->j, (size_t)r->cap * sizeof(int64_t));
        r->S = realloc(r->S, 3 * (size_t)r->cap * sizeof(int64_t));
        assert_non_null(r->i);
        assert_non_null(r->j);
        assert_non_null(r->S);
    }
    r->i[r->n] = i;
    r->j[r->n] = j;
    for (int c = 0; c < 3; c++) r->S[3 * r->n + c] = N[c];
    r->n++;
}

static void ref_free(ref *r) {
    free(r->i);
    free(r->j);
    free(r->S);
    memset(r, 0, sizeof *r);
}

static int lexpos(const int *N) {
    return N[0] > 0 || (N[0] == 0 && (N[1] > 0 || (N[1] == 0 && N[2] > 0)));
}

/* every (i, j, N) with |pos_j + N cell - pos_i| < rc; full: all of them
 * (but (i, i, 0)), half: i < j, or i == j and N lexicographically positive.
 * Non-periodic axes: N = 0. With any periodic axis the cell must be a proper
 * 3D cell: then |r| >= |f_k| w_k (f: fractional coordinates of r, w_k: the
 * distance between lattice planes k), which bounds N_k. */
static void brute(int n, const double *pos, const double *cell, const unsigned char *pbc, double rc,
                  int full, ref *out) {
    out->n = 0;
    const double *a = cell, *b = cell + 3, *c = cell + 6;
    const double bc[3] = {b[1] * c[2] - b[2] * c[1], b[2] * c[0] - b[0] * c[2], b[0] * c[1] - b[1] * c[0]};
    const double ca[3] = {c[1] * a[2] - c[2] * a[1], c[2] * a[0] - c[0] * a[2], c[0] * a[1] - c[1] * a[0]};
    const double ab[3] = {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
    const double det = a[0] * bc[0] + a[1] * bc[1] + a[2] * bc[2];
    const double *rows[3] = {bc, ca, ab}; /* f_k = d . rows[k] / det */
    const int periodic = pbc[0] || pbc[1] || pbc[2];
    if (periodic) assert_true(fabs(det) > 1e-6);
    double reach[3]; /* rc / w_k, in cells */
    for (int k = 0; k < 3; k++) {
        const double *q = rows[k];
        reach[k] = rc * sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2]) / fabs(det);
    }
    for (int i = 0; i < n; i++)
        for (int j = full ? 0 : i; j < n; j++) {
            double d[3];
            for (int k = 0; k < 3; k++) d[k] = pos[3 * j + k] - pos[3 * i + k];
            int lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0};
            for (int k = 0; k < 3; k++) {
                if (!pbc[k]) continue;
                const double *q = rows[k];
                const double f = (d[0] * q[0] + d[1] * q[1] + d[2] * q[2]) / det;
                lo[k] = (int)floor(-f - reach[k]); /* |f + N_k| < rc / w_k, one to spare each side */
                hi[k] = (int)ceil(-f + reach[k]);
            }
            int N[3];
            for (N[0] = lo[0]; N[0] <= hi[0]; N[0]++)
                for (N[1] = lo[1]; N[1] <= hi[1]; N[1]++)
                    for (N[2] = lo[2]; N[2] <= hi[2]; N[2]++) {
                        if (i == j && !(N[0] || N[1] || N[2])) continue;
                        if (!full && i == j && !lexpos(N)) continue;
                        double r2 = 0;
                        for (int k = 0; k < 3; k++) {
                            const double x = d[k] + N[0] * a[k] + N[1] * b[k] + N[2] * c[k];
                            r2 += x * x;
                        }
                        /* random geometry: no pair sits on the cutoff, so the
                         * comparison below cannot hinge on rounding */
                        if (!(fabs(r2 - rc * rc) > 1e-9 * rc * rc)) fail_msg("a pair on the cutoff");
                        if (r2 < rc * rc) ref_push(out, i, j, N);
                    }
        }
}

/* slot s of the last compute of e is exactly r (local indices) */
static void check_slot(const bmd_edges *e, const bmd_batch *b, int s, const ref *r) {
    const int64_t E = bmd_edges_count(e), *off = bmd_edges_offsets(e);
    const int64_t *ii = bmd_edges_index(e), *jj = ii + E, *S = bmd_edges_shifts(e);
    assert_int_equal(bmd_edges_n_systems(e), b->n_systems);
    assert_int_equal(off[s + 1] - off[s], r->n);
    const int64_t a0 = b->atom_start[s];
    for (long q = 0; q < r->n; q++) {
        const int64_t p = off[s] + q;
        assert_int_equal(ii[p] - a0, r->i[q]);
        assert_int_equal(jj[p] - a0, r->j[q]);
        for (int c = 0; c < 3; c++) assert_int_equal(S[3 * p + c], r->S[3 * q + c]);
    }
}

/* slot s against the brute force at the batch's current positions */
static void check_brute(const bmd_edges *e, const bmd_batch *b, int s, double rc, int full) {
    ref r = {0};
    const int a0 = b->atom_start[s];
    brute(b->atom_count[s], b->pos + 3 * (size_t)a0, b->cell + 9 * (size_t)s, b->pbc + 3 * (size_t)s, rc, full, &r);
    check_slot(e, b, s, &r);
    ref_free(&r);
}

/* ---- systems ---- */

enum { CRYSTAL, THIN, SLAB, CLUSTER, N_KINDS };

/* n atoms at random in a cell of the kind, unwrapped by up to `spread` cells */
static void make_system(bmd_system *s, int kind, int n, double L, unsigned *seed, int64_t id) {
    assert_int_equal(bmd_system_alloc(s, n), 0);
    s->system_id = id;
    memset(s->cell, 0, sizeof s->cell);
    for (int k = 0; k < 3; k++) s->cell[4 * k] = L * (0.8 + 0.4 * urand(seed));
    if (kind != CLUSTER) { /* triclinic */
        s->cell[3] = (urand(seed) - 0.5) * L;
        s->cell[6] = (urand(seed) - 0.5) * L;
        s->cell[7] = (urand(seed) - 0.5) * L;
    }
    const int spread = kind == CLUSTER ? 0 : 3;
    for (int i = 0; i < n; i++) {
        double f[3];
        for (int k = 0; k < 3; k++) f[k] = urand(seed) + (int)(urand(seed) * (2 * spread + 1)) - spread;
        for (int k = 0; k < 3; k++)
            s->pos[3 * i + k] = f[0] * s->cell[k] + f[1] * s->cell[3 + k] + f[2] * s->cell[6 + k];
        s->Z[i] = 18;
        s->mass[i] = 39.948;
    }
    for (int k = 0; k < 3; k++) s->pbc[k] = kind == CLUSTER ? 0 : (kind == SLAB ? k < 2 : 1);
    if (kind == CLUSTER) memset(s->cell, 0, sizeof s->cell); /* no cell at all */
}

/* the test systems: cutoff rc = 5 Å */
static void make_kind(bmd_system *s, int kind, unsigned *seed, int64_t id) {
    switch (kind) {
    case CRYSTAL: make_system(s, kind, 40, 8.0, seed, id); break; /* rc > L/2 */
    case THIN: make_system(s, kind, 3, 2.6, seed, id); break;     /* rc ~ 2 L */
    case SLAB: make_system(s, kind, 30, 7.0, seed, id); break;
    default: make_system(s, kind, 25, 9.0, seed, id); break;
    }
}

static bmd_batch *batch_of(bmd_system *sys, int n) {
    bmd_batch *b = NULL;
    assert_int_equal(bmd_batch_create(&b), 0);
    for (int k = 0; k < n; k++) assert_int_equal(bmd_batch_append(b, &sys[k], NULL), 0);
    return b;
}

/* moves every atom of b by a random vector of length <= dmax */
static void jiggle(bmd_batch *b, double dmax, unsigned *seed) {
    for (int i = 0; i < b->n_atoms; i++) {
        double v[3], n2;
        do {
            for (int k = 0; k < 3; k++) v[k] = 2 * urand(seed) - 1;
            n2 = v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
        } while (n2 > 1 || n2 < 1e-6);
        for (int k = 0; k < 3; k++) b->pos[3 * i + k] += dmax * v[k];
    }
}

/* ---- tests ---- */

static void test_simple_cubic_by_hand(void **state) {
    (void)state;
    bmd_system s;
    assert_int_equal(bmd_system_alloc(&s, 1), 0);
    s.Z[0] = 18;
    s.mass[0] = 39.948;
    s.pos[0] = 0.3, s.pos[1] = -4.1, s.pos[2] = 7.7; /* anywhere: unwrapped */
    memset(s.cell, 0, sizeof s.cell);
    s.cell[0] = s.cell[4] = s.cell[8] = 2.0;
    s.pbc[0] = s.pbc[1] = s.pbc[2] = 1;
    bmd_batch *b = batch_of(&s, 1);
    for (int full = 0; full <= 1; full++) {
        bmd_edges *e = NULL;
        assert_int_equal(bmd_edges_create(2.5, 0.3, full ? BMD_EDGES_FULL : BMD_EDGES_HALF, 1, &e), 0);
        assert_int_equal(bmd_edges_compute(e, b, NULL), 0);
        /* nearest images at 2 Å (6 of them), next at 2.83 Å > 2.5 */
        assert_int_equal(bmd_edges_count(e), full ? 6 : 3);
        const int64_t *ix = bmd_edges_index(e), *S = bmd_edges_shifts(e), *off = bmd_edges_offsets(e);
        assert_int_equal(off[0], 0);
        assert_int_equal(off[1], full ? 6 : 3);
        /* sorted lexicographically: half (0,0,1) (0,1,0) (1,0,0); full from (-1,0,0) */
        static const int64_t half_S[3][3] = {{0, 0, 1}, {0, 1, 0}, {1, 0, 0}};
        static const int64_t full_S[6][3] = {{-1, 0, 0}, {0, -1, 0}, {0, 0, -1}, {0, 0, 1}, {0, 1, 0}, {1, 0, 0}};
        for (int q = 0; q < (full ? 6 : 3); q++) {
            assert_int_equal(ix[q], 0);
            assert_int_equal(ix[(full ? 6 : 3) + q], 0);
            for (int c = 0; c < 3; c++) assert_int_equal(S[3 * q + c], full ? full_S[q][c] : half_S[q][c]);
        }
        bmd_edges_destroy(e);
    }
    bmd_batch_destroy(b);
    bmd_system_free(&s);
}

/* each kind alone, full and half, strict, with and without skin */
static void test_kinds_alone(void **state) {
    (void)state;
    const double rc = 5.0;
    for (int kind = 0; kind < N_KINDS; kind++)
        for (int rep = 0; rep < 3; rep++) {
            unsigned seed = 100u * (unsigned)kind + (unsigned)rep + 1u;
            bmd_system s;
            make_kind(&s, kind, &seed, kind);
            bmd_batch *b = batch_of(&s, 1);
            for (int full = 0; full <= 1; full++)
                for (int sk = 0; sk < 2; sk++) {
                    bmd_edges *e = NULL;
                    assert_int_equal(bmd_edges_create(rc, sk ? 1.0 : 0.0, full, 1, &e), 0);
                    assert_int_equal(bmd_edges_compute(e, b, NULL), 0);
                    check_brute(e, b, 0, rc, full);
                    assert_true(bmd_edges_count(e) > 0);
                    assert_int_equal(bmd_edges_builds(e), 1);
                    bmd_edges_destroy(e);
                }
            bmd_batch_destroy(b);
            bmd_system_free(&s);
        }
}

/* strict with skin: moves within the skin keep the list and the edges exact */
static void test_skin_reuse(void **state) {
    (void)state;
    const double rc = 5.0, skin = 1.0;
    unsigned seed = 7;
    bmd_system sys[N_KINDS];
    for (int k = 0; k < N_KINDS; k++) make_kind(&sys[k], k, &seed, 10 + k);
    for (int full = 0; full <= 1; full++) {
        bmd_batch *b = batch_of(sys, N_KINDS);
        bmd_edges *e = NULL;
        assert_int_equal(bmd_edges_create(rc, skin, full, 1, &e), 0);
        assert_int_equal(bmd_edges_compute(e, b, NULL), 0);
        assert_int_equal(bmd_edges_builds(e), N_KINDS);
        for (int step = 0; step < 3; step++) {
            /* three moves of <= 0.15 Å: every displacement <= 0.45, two add to <= 0.9 < skin */
            jiggle(b, 0.15, &seed);
            assert_int_equal(bmd_edges_compute(e, b, NULL), 0);
            assert_int_equal(bmd_edges_builds(e), N_KINDS);
            for (int s = 0; s < N_KINDS; s++) check_brute(e, b, s, rc, full);
        }
        jiggle(b, 0.8, &seed); /* beyond the skin: rebuilt */
        assert_int_equal(bmd_edges_compute(e, b, NULL), 0);
        assert_true(bmd_edges_builds(e) > N_KINDS);
        for (int s = 0; s < N_KINDS; s++) check_brute(e, b, s, rc, full);
        bmd_edges_destroy(e);
        bmd_batch_destroy(b);
    }
    for (int k = 0; k < N_KINDS; k++) bmd_system_free(&sys[k]);
}

/* non-strict: the Verlet list's pairs, those within rc + skin at the build */
static void test_not_strict(void **state) {
    (void)state;
    const double rc = 4.0, skin = 1.0;
    unsigned seed = 11;
    bmd_system sys[N_KINDS];
    for (int k = 0; k < N_KINDS; k++) make_kind(&sys[k], k, &seed, 20 + k);
    for (int full = 0; full <= 1; full++) {
        bmd_batch *b = batch_of(sys, N_KINDS);
        bmd_edges *e = NULL;
        assert_int_equal(bmd_edges_create(rc, skin, full, 0, &e), 0);
        assert_int_equal(bmd_edges_compute(e, b, NULL), 0);
        ref at_build[N_KINDS];
        for (int s = 0; s < N_KINDS; s++) {
            memset(&at_build[s], 0, sizeof at_build[s]);
            const int a0 = b->atom_start[s];
            brute(b->atom_count[s], b->pos + 3 * (size_t)a0, b->cell + 9 * (size_t)s, b->pbc + 3 * (size_t)s,
                  rc + skin, full, &at_build[s]);
            check_slot(e, b, s, &at_build[s]);
        }
        jiggle(b, 0.4, &seed); /* within the skin: the same list, the same edges */
        assert_int_equal(bmd_edges_compute(e, b, NULL), 0);
        assert_int_equal(bmd_edges_builds(e), N_KINDS);
        for (int s = 0; s < N_KINDS; s++) {
            check_slot(e, b, s, &at_build[s]);
            ref_free(&at_build[s]);
        }
        bmd_edges_destroy(e);
        bmd_batch_destroy(b);
    }
    for (int k = 0; k < N_KINDS; k++) bmd_system_free(&sys[k]);
}

/* a batch: global indices, offsets, each system as alone, masks, removal */
static void test_batch(void **state) {
    (void)state;
    const double rc = 5.0;
    unsigned seed = 3;
    enum { NS = 8 };
    bmd_system sys[NS];
    for (int s = 0; s < NS; s++) make_kind(&sys[s], s % N_KINDS, &seed, 1000 + s);
    bmd_batch *b = batch_of(sys, NS);
    for (int full = 0; full <= 1; full++) {
        bmd_edges *e = NULL;
        assert_int_equal(bmd_edges_create(rc, 0.5, full, 1, &e), 0);
        assert_int_equal(bmd_edges_compute(e, b, NULL), 0);
        const int64_t *off = bmd_edges_offsets(e);
        assert_int_equal(off[0], 0);
        assert_int_equal(off[NS], bmd_edges_count(e));
        for (int s = 0; s < NS; s++) check_brute(e, b, s, rc, full);

        /* each system alone gives the same local edges as in the batch */
        const int64_t E = bmd_edges_count(e);
        int64_t *ii = malloc((size_t)(2 * E + 1) * sizeof *ii), *S = malloc((size_t)(3 * E + 1) * sizeof *S);
        int64_t *offs = malloc((NS + 1) * sizeof *offs);
        memcpy(ii, bmd_edges_index(e), (size_t)(2 * E) * sizeof *ii);
        memcpy(S, bmd_edges_shifts(e), (size_t)(3 * E) * sizeof *S);
        memcpy(offs, off, (NS + 1) * sizeof *offs);
        for (int s = 0; s < NS; s++) {
            bmd_batch *one = batch_of(&sys[s], 1);
            bmd_edges *e1 = NULL;
            assert_int_equal(bmd_edges_create(rc, 0.5, full, 1, &e1), 0);
            assert_int_equal(bmd_edges_compute(e1, one, NULL), 0);
            const int64_t m = bmd_edges_count(e1), *i1 = bmd_edges_index(e1), *S1 = bmd_edges_shifts(e1);
            assert_int_equal(m, offs[s + 1] - offs[s]);
            for (int64_t q = 0; q < m; q++) {
                assert_int_equal(i1[q] + b->atom_start[s], ii[offs[s] + q]);
                assert_int_equal(i1[m + q] + b->atom_start[s], ii[E + offs[s] + q]);
            }
            assert_memory_equal(S1, S + 3 * offs[s], (size_t)(3 * m) * sizeof *S);
            bmd_edges_destroy(e1);
            bmd_batch_destroy(one);
        }
        free(ii);
        free(S);
        free(offs);

        /* a mask: the others get no edges and keep their lists */
        unsigned char mask[NS];
        for (int s = 0; s < NS; s++) mask[s] = s % 3 == 1;
        const long builds = bmd_edges_builds(e);
        assert_int_equal(bmd_edges_compute(e, b, mask), 0);
        assert_int_equal(bmd_edges_builds(e), builds);
        for (int s = 0; s < NS; s++) {
            if (mask[s]) {
                check_brute(e, b, s, rc, full);
            } else {
                assert_int_equal(bmd_edges_offsets(e)[s + 1], bmd_edges_offsets(e)[s]);
            }
        }
        /* none: no edges, arrays still there */
        memset(mask, 0, sizeof mask);
        assert_int_equal(bmd_edges_compute(e, b, mask), 0);
        assert_int_equal(bmd_edges_count(e), 0);
        assert_non_null(bmd_edges_index(e));
        assert_non_null(bmd_edges_shifts(e));
        for (int s = 0; s <= NS; s++) assert_int_equal(bmd_edges_offsets(e)[s], 0);
        bmd_edges_destroy(e);
    }
    /* removing systems re-keys the lists: nothing rebuilt, edges exact */
    bmd_edges *e = NULL;
    assert_int_equal(bmd_edges_create(rc, 0.5, BMD_EDGES_FULL, 1, &e), 0);
    assert_int_equal(bmd_edges_compute(e, b, NULL), 0);
    unsigned char rm[NS] = {1, 0, 0, 1, 0, 0, 0, 1};
    assert_int_equal(bmd_batch_remove(b, rm), 0);
    assert_int_equal(bmd_edges_compute(e, b, NULL), 0);
    assert_int_equal(bmd_edges_builds(e), NS);
    assert_int_equal(bmd_edges_n_systems(e), NS - 3);
    for (int s = 0; s < b->n_systems; s++) check_brute(e, b, s, rc, 1);
    bmd_edges_destroy(e);
    bmd_batch_destroy(b);
    for (int s = 0; s < NS; s++) bmd_system_free(&sys[s]);
}

/* a system big enough for all threads, beside small ones: 1 and 2 threads
 * (built at some positions, then reused at others) */
static void test_threads(void **state) {
    (void)state;
    const double rc = 4.0;
    unsigned seed = 5;
    bmd_system sys[3];
    make_system(&sys[0], CRYSTAL, 4500, 38.0, &seed, 1);
    make_kind(&sys[1], THIN, &seed, 2);
    make_kind(&sys[2], SLAB, &seed, 3);
    bmd_batch *b = batch_of(sys, 3);
    const size_t bytes = 3 * (size_t)b->n_atoms * sizeof(double);
    double *p0 = malloc(bytes), *p1 = malloc(bytes);
    memcpy(p0, b->pos, bytes);
    jiggle(b, 0.1, &seed);
    memcpy(p1, b->pos, bytes);
    for (int full = 0; full <= 1; full++) {
        ref r[3];
        for (int s = 0; s < 3; s++) {
            memset(&r[s], 0, sizeof r[s]);
            const int a0 = b->atom_start[s];
            brute(b->atom_count[s], p1 + 3 * (size_t)a0, b->cell + 9 * (size_t)s, b->pbc + 3 * (size_t)s, rc,
                  full, &r[s]);
        }
        int64_t E = 0, *ix = NULL, *S = NULL;
        for (int nt = 1; nt <= 2; nt++) {
            set_threads(nt);
            bmd_edges *e = NULL;
            assert_int_equal(bmd_edges_create(rc, 0.7, full, 1, &e), 0);
            memcpy(b->pos, p0, bytes);
            assert_int_equal(bmd_edges_compute(e, b, NULL), 0);
            memcpy(b->pos, p1, bytes);
            assert_int_equal(bmd_edges_compute(e, b, NULL), 0);
            assert_int_equal(bmd_edges_builds(e), 3);
            for (int s = 0; s < 3; s++) check_slot(e, b, s, &r[s]);
            if (nt == 1) { /* the arrays, bit for bit, for 2 threads */
                E = bmd_edges_count(e);
                ix = malloc((size_t)(2 * E) * sizeof(int64_t));
                S = malloc((size_t)(3 * E) * sizeof(int64_t));
                memcpy(ix, bmd_edges_index(e), (size_t)(2 * E) * sizeof(int64_t));
                memcpy(S, bmd_edges_shifts(e), (size_t)(3 * E) * sizeof(int64_t));
            } else {
                assert_int_equal(bmd_edges_count(e), E);
                assert_memory_equal(bmd_edges_index(e), ix, (size_t)(2 * E) * sizeof(int64_t));
                assert_memory_equal(bmd_edges_shifts(e), S, (size_t)(3 * E) * sizeof(int64_t));
                /* the list built on 2 threads, filled on 1 */
                set_threads(1);
                assert_int_equal(bmd_edges_compute(e, b, NULL), 0);
                assert_memory_equal(bmd_edges_index(e), ix, (size_t)(2 * E) * sizeof(int64_t));
                assert_memory_equal(bmd_edges_shifts(e), S, (size_t)(3 * E) * sizeof(int64_t));
            }
            bmd_edges_destroy(e);
        }
        free(ix);
        free(S);
        for (int s = 0; s < 3; s++) ref_free(&r[s]);
    }
    set_threads(2);
    free(p0);
    free(p1);
    bmd_batch_destroy(b);
    for (int s = 0; s < 3; s++) bmd_system_free(&sys[s]);
}

/* not strict, the last result reused or not: no list rebuilt and the same
 * mask and layout give the same arrays; a changed mask, one system's
 * rebuild, a removal, another batch object, a failed compute each give the
 * arrays of what is there now (brute force at each list's build) */
static void test_not_strict_reuse(void **state) {
    (void)state;
    const double rc = 4.0, skin = 1.0;
    unsigned seed = 17;
    enum { NS = 2 * N_KINDS };
    bmd_system sys[NS];
    for (int s = 0; s < NS; s++) make_kind(&sys[s], s % N_KINDS, &seed, 40 + s);
    for (int full = 0; full <= 1; full++) {
        bmd_batch *b = batch_of(sys, NS);
        bmd_edges *e = NULL;
        assert_int_equal(bmd_edges_create(rc, skin, full, 0, &e), 0);
        assert_int_equal(bmd_edges_compute(e, b, NULL), 0);
        ref at_build[NS];
        for (int s = 0; s < NS; s++) {
            memset(&at_build[s], 0, sizeof at_build[s]);
            const int a0 = b->atom_start[s];
            brute(b->atom_count[s], b->pos + 3 * (size_t)a0, b->cell + 9 * (size_t)s, b->pbc + 3 * (size_t)s,
                  rc + skin, full, &at_build[s]);
            check_slot(e, b, s, &at_build[s]);
        }
        /* within the skin: no rebuild, the same arrays */
        jiggle(b, 0.2, &seed);
        assert_int_equal(bmd_edges_compute(e, b, NULL), 0);
        assert_int_equal(bmd_edges_builds(e), NS);
        for (int s = 0; s < NS; s++) check_slot(e, b, s, &at_build[s]);
        /* another mask, then all again */
        unsigned char mask[NS];
        for (int s = 0; s < NS; s++) mask[s] = s % 3 != 0;
        assert_int_equal(bmd_edges_compute(e, b, mask), 0);
        for (int s = 0; s < NS; s++) {
            if (mask[s]) {
                check_slot(e, b, s, &at_build[s]);
            } else {
                assert_int_equal(bmd_edges_offsets(e)[s + 1], bmd_edges_offsets(e)[s]);
            }
        }
        assert_int_equal(bmd_edges_compute(e, b, NULL), 0);
        for (int s = 0; s < NS; s++) check_slot(e, b, s, &at_build[s]);
        /* one system moved beyond the skin: only its list rebuilt, its edges
         * those of its new positions, the others' unchanged */
        const int moved = 2, a0 = b->atom_start[moved];
        for (int i = 0; i < b->atom_count[moved]; i++) b->pos[3 * (a0 + i)] += (i % 2 ? 0.7 : -0.7);
        assert_int_equal(bmd_edges_compute(e, b, NULL), 0);
        assert_int_equal(bmd_edges_builds(e), NS + 1);
        brute(b->atom_count[moved], b->pos + 3 * (size_t)a0, b->cell + 9 * (size_t)moved,
              b->pbc + 3 * (size_t)moved, rc + skin, full, &at_build[moved]);
        for (int s = 0; s < NS; s++) check_slot(e, b, s, &at_build[s]);
        /* a failed compute (a NaN position), then the position back */
        const double keep_x = b->pos[3 * a0 + 1];
        b->pos[3 * a0 + 1] = NAN;
        assert_int_equal(bmd_edges_compute(e, b, NULL), BMD_ERR_NUMERIC);
        b->pos[3 * a0 + 1] = keep_x;
        assert_int_equal(bmd_edges_compute(e, b, NULL), 0);
        brute(b->atom_count[moved], b->pos + 3 * (size_t)a0, b->cell + 9 * (size_t)moved,
              b->pbc + 3 * (size_t)moved, rc + skin, full, &at_build[moved]);
        for (int s = 0; s < NS; s++) check_slot(e, b, s, &at_build[s]);
        /* systems removed: the rest keep their lists and edges, at new places */
        unsigned char rm[NS] = {0};
        rm[0] = rm[5] = 1;
        assert_int_equal(bmd_batch_remove(b, rm), 0);
        const long builds = bmd_edges_builds(e);
        assert_int_equal(bmd_edges_compute(e, b, NULL), 0);
        assert_int_equal(bmd_edges_builds(e), builds);
        for (int s = 0, k = 0; s < NS; s++)
            if (!rm[s]) check_slot(e, b, k++, &at_build[s]);
        /* another batch object with the same layout: lists made afresh */
        bmd_batch *c = batch_of(sys, NS);
        assert_int_equal(bmd_edges_compute(e, c, NULL), 0);
        assert_int_equal(bmd_edges_builds(e), builds + NS);
        for (int s = 0; s < NS; s++) {
            const int c0 = c->atom_start[s];
            brute(c->atom_count[s], c->pos + 3 * (size_t)c0, c->cell + 9 * (size_t)s, c->pbc + 3 * (size_t)s,
                  rc + skin, full, &at_build[s]);
            check_slot(e, c, s, &at_build[s]);
            ref_free(&at_build[s]);
        }
        bmd_edges_destroy(e);
        bmd_batch_destroy(c);
        bmd_batch_destroy(b);
    }
    for (int s = 0; s < NS; s++) bmd_system_free(&sys[s]);
}

/* Every way of making the arrays, against the brute force and bit for bit
 * against each other: 1 thread (strict: one pass; not strict: two), 2
 * threads (many small systems one per thread; a big one split, its rows'
 * chunks written side by side), strict or not, full or half. Built at some
 * positions, then reused at others. */
static void test_ways(void **state) {
    (void)state;
    const double rc = 4.0, skin = 0.7;
    unsigned seed = 23;
    enum { NS = 49 };
    bmd_system sys[NS];
    for (int s = 0; s < NS - 1; s++) make_kind(&sys[s], s % N_KINDS, &seed, 500 + s);
    make_system(&sys[NS - 1], CLUSTER, 4200, 40.0, &seed, 999); /* split on 2 threads */
    for (int with_big = 0; with_big <= 1; with_big++) {
        const int ns = with_big ? NS : NS - 1;
        bmd_batch *b = batch_of(sys, ns);
        const size_t bytes = 3 * (size_t)b->n_atoms * sizeof(double);
        double *p0 = malloc(bytes), *p1 = malloc(bytes);
        memcpy(p0, b->pos, bytes);
        jiggle(b, 0.1, &seed);
        memcpy(p1, b->pos, bytes);
        for (int strict = 0; strict <= 1; strict++)
            for (int full = 0; full <= 1; full++) {
                int64_t E = -1, *ix = NULL, *S = NULL;
                for (int nt = 1; nt <= 2; nt++) {
                    set_threads(nt);
                    bmd_edges *e = NULL;
                    assert_int_equal(bmd_edges_create(rc, skin, full, strict, &e), 0);
                    memcpy(b->pos, p0, bytes);
                    assert_int_equal(bmd_edges_compute(e, b, NULL), 0);
                    memcpy(b->pos, p1, bytes);
                    assert_int_equal(bmd_edges_compute(e, b, NULL), 0);
                    assert_int_equal(bmd_edges_builds(e), ns);
                    if (nt == 1) {
                        for (int s = 0; s < ns; s++) {
                            ref r = {0};
                            const int a0 = b->atom_start[s];
                            brute(b->atom_count[s], (strict ? p1 : p0) + 3 * (size_t)a0, b->cell + 9 * (size_t)s,
                                  b->pbc + 3 * (size_t)s, strict ? rc : rc + skin, full, &r);
                            check_slot(e, b, s, &r);
                            ref_free(&r);
                        }
                        E = bmd_edges_count(e);
                        ix = malloc((size_t)(2 * E) * sizeof(int64_t));
                        S = malloc((size_t)(3 * E) * sizeof(int64_t));
                        memcpy(ix, bmd_edges_index(e), (size_t)(2 * E) * sizeof(int64_t));
                        memcpy(S, bmd_edges_shifts(e), (size_t)(3 * E) * sizeof(int64_t));
                    } else {
                        assert_int_equal(bmd_edges_count(e), E);
                        assert_memory_equal(bmd_edges_index(e), ix, (size_t)(2 * E) * sizeof(int64_t));
                        assert_memory_equal(bmd_edges_shifts(e), S, (size_t)(3 * E) * sizeof(int64_t));
                    }
                    bmd_edges_destroy(e);
                }
                free(ix);
                free(S);
            }
        set_threads(2);
        free(p0);
        free(p1);
        bmd_batch_destroy(b);
    }
    for (int s = 0; s < NS; s++) bmd_system_free(&sys[s]);
}

/* Systems with images (whose rows, in the one-pass mode, may write shifts
 * past their own edges before the next rows take those places) each ahead
 * of a cluster (shifts all zero), after a compute of the clusters alone:
 * every shift right; strict and not, full and half, 1 and 2 threads */
static void test_zero_shifts_kept(void **state) {
    (void)state;
    const double rc = 5.0;
    unsigned seed = 31;
    enum { NS = 16 };
    bmd_system sys[NS];
    unsigned char clusters[NS];
    for (int s = 0; s < NS; s++) { /* crystals, each before a cluster */
        make_kind(&sys[s], s % 2 ? CLUSTER : CRYSTAL, &seed, 80 + s);
        clusters[s] = s % 2;
    }
    bmd_batch *b = batch_of(sys, NS);
    for (int nt = 1; nt <= 2; nt++)
        for (int strict = 0; strict <= 1; strict++)
            for (int full = 0; full <= 1; full++) {
                set_threads(nt);
                bmd_edges *e = NULL;
                /* a wide skin: many dropped entries (strict), some of them a row's last */
                assert_int_equal(bmd_edges_create(rc, 2.0, full, strict, &e), 0);
                for (int round = 0; round < 2; round++) {
                    assert_int_equal(bmd_edges_compute(e, b, clusters), 0); /* every shift zero */
                    for (int s = 1; s < NS; s += 2) check_brute(e, b, s, rc + (strict ? 0 : 2.0), full);
                    assert_int_equal(bmd_edges_compute(e, b, NULL), 0); /* images first, then clusters */
                    for (int s = 0; s < NS; s++) check_brute(e, b, s, rc + (strict ? 0 : 2.0), full);
                }
                bmd_edges_destroy(e);
            }
    set_threads(2);
    bmd_batch_destroy(b);
    for (int s = 0; s < NS; s++) bmd_system_free(&sys[s]);
}

static void test_errors(void **state) {
    (void)state;
    bmd_edges *e = NULL;
    assert_int_equal(bmd_edges_create(0.0, 0.5, BMD_EDGES_FULL, 1, &e), BMD_ERR_INVALID);
    assert_int_equal(bmd_edges_create(NAN, 0.5, BMD_EDGES_FULL, 1, &e), BMD_ERR_INVALID);
    assert_int_equal(bmd_edges_create(5.0, -1.0, BMD_EDGES_FULL, 1, &e), BMD_ERR_INVALID);
    assert_int_equal(bmd_edges_create(5.0, 0.5, (bmd_edges_kind)2, 1, &e), BMD_ERR_INVALID);
    assert_int_equal(bmd_edges_create(5.0, 0.5, BMD_EDGES_FULL, 2, &e), BMD_ERR_INVALID);
    assert_null(e);

    unsigned seed = 9;
    bmd_system sys[2];
    make_kind(&sys[0], CRYSTAL, &seed, 70);
    make_kind(&sys[1], CRYSTAL, &seed, 71);
    memset(sys[1].cell + 6, 0, 3 * sizeof(double)); /* c = 0 on a periodic axis */
    bmd_batch *b = batch_of(sys, 2);
    assert_int_equal(bmd_edges_create(5.0, 0.5, BMD_EDGES_FULL, 1, &e), 0);
    assert_int_equal(bmd_edges_compute(e, b, NULL), BMD_ERR_INVALID);
    assert_non_null(strstr(bmd_last_error(), "system 71 (slot 1)"));
    assert_int_equal(bmd_edges_count(e), 0);
    assert_int_equal(bmd_edges_n_systems(e), -1);
    assert_null(bmd_edges_index(e));
    assert_null(bmd_edges_offsets(e));
    /* masked out, the bad system is not looked at */
    const unsigned char first[2] = {1, 0};
    assert_int_equal(bmd_edges_compute(e, b, first), 0);
    check_brute(e, b, 0, 5.0, 1);
    assert_int_equal(bmd_edges_offsets(e)[2], bmd_edges_offsets(e)[1]);
    /* a NaN position */
    b->pos[3 * 5 + 1] = NAN;
    assert_int_equal(bmd_edges_compute(e, b, first), BMD_ERR_NUMERIC);
    assert_non_null(strstr(bmd_last_error(), "system 70 (slot 0)"));
    assert_null(bmd_edges_shifts(e));
    bmd_edges_destroy(e);
    bmd_batch_destroy(b);
    for (int s = 0; s < 2; s++) bmd_system_free(&sys[s]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_cubic_by_hand),
        cmocka_unit_test(test_kinds_alone),
        cmocka_unit_test(test_skin_reuse),
        cmocka_unit_test(test_not_strict),
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_not_strict_reuse),
        cmocka_unit_test(test_ways),
        cmocka_unit_test(test_zero_shifts_kept),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
