/* test_nlist_build.c — the Verlet-list build (src/neighbor/build.c) against a
 * brute-force enumeration of pairs over periodic images, and its threading:
 *   - every pair closer than cutoff + skin (brute force over images, all
 *     cells: orthogonal, triclinic, thinner than the range, non-periodic
 *     axes, unwrapped positions far outside the cell, atoms in random and in
 *     spatial order) is in the list exactly once, in canonical form (i < j,
 *     or i == j in a positive image), and nothing farther is;
 *   - rows are sorted as neighbor.h promises: image-0 partners by j, then the
 *     others by (j, image); the shift table sorted by image;
 *   - small systems without periodic axes (every pair tested) against the
 *     brute force, and against the binned build of the same atoms plus one
 *     far away (same rows, bit for bit);
 *   - systems big enough to be built by all threads give the same arrays,
 *     bit for bit, with 1 and 2 threads (first build, rebuild into regions
 *     of the list, rebuild after a region overflowed);
 *   - the staleness test gives the same answer with 1 and 2 threads and
 *     matches the rule (two largest displacements add up to more than the
 *     skin), computed here directly;
 *   - NVE on one big system (atoms split over threads) gives the same bits
 *     with 1 and 2 threads (a per-atom harmonic model, serial). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batchmd/batchmd.h"
#include "neighbor/neighbor.h"
#include "support/harmonic_model.h"
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

typedef struct sys {
    int n;
    double *pos, cell[9];
    unsigned char pbc[3];
    double rc, skin;
} sys;

/* case c of a deterministic family of systems; big: several thousand atoms */
static void make_sys(sys *s, int c, int big, unsigned *seed) {
    s->n = big ? 4200 + (int)(urand(seed) * 800) : 1 + (int)(urand(seed) * 120);
    double L = big ? cbrt(s->n / 0.03) : 3 + urand(seed) * 12;
    memset(s->cell, 0, sizeof s->cell);
    for (int k = 0; k < 3; k++) s->cell[4 * k] = L * (0.5 + urand(seed));
    if (c % 2) { /* triclinic */
        s->cell[3] = (urand(seed) - 0.5) * L;
        s->cell[6] = (urand(seed) - 0.5) * L;
        s->cell[7] = (urand(seed) - 0.5) * L;
    }
    for (int k = 0; k < 3; k++) s->pbc[k] = c % 3 == 0 ? urand(seed) < 0.6 : 1;
    s->pos = malloc(3 * (size_t)s->n * sizeof(double));
    const double spread = c % 4 == 0 ? 5.0 : 1.0; /* unwrapped: up to 5 cells away */
    for (int i = 0; i < s->n; i++) {
        double f[3];
        for (int k = 0; k < 3; k++) f[k] = (urand(seed) - 0.25) * spread;
        for (int k = 0; k < 3; k++)
            s->pos[3 * i + k] = f[0] * s->cell[k] + f[1] * s->cell[3 + k] + f[2] * s->cell[6 + k];
    }
    if (c % 5 == 1) /* spatial order along x (insertion sort; the index-range pruning) */
        for (int a = 1; a < s->n; a++)
            for (int b = a; b > 0 && s->pos[3 * b] < s->pos[3 * (b - 1)]; b--)
                for (int k = 0; k < 3; k++) {
                    double t = s->pos[3 * b + k];
                    s->pos[3 * b + k] = s->pos[3 * (b - 1) + k];
                    s->pos[3 * (b - 1) + k] = t;
                }
    s->rc = big ? 2 + urand(seed) * 2 : 1 + urand(seed) * 5;
    s->skin = urand(seed);
}

static int lexpos(const int *N) { return N[0] > 0 || (N[0] == 0 && (N[1] > 0 || (N[1] == 0 && N[2] > 0))); }

static double pair_r2(const sys *s, int i, int j, const int *N) {
    double r2 = 0;
    for (int c = 0; c < 3; c++) {
        double d = s->pos[3 * j + c] - s->pos[3 * i + c];
        for (int k = 0; k < 3; k++)
            if (s->pbc[k]) d += N[k] * s->cell[3 * k + c];
        r2 += d * d;
    }
    return r2;
}

static const int zero3[3] = {0, 0, 0};

/* image of entry k of row i */
static const int *image(const bmd__nlist *nl, int i, int k) {
    return k < nl->mid[i] ? zero3 : nl->shift_n + 3 * nl->shift[k + nl->soff[i]];
}

/* the list's entry (i, j, N), or -1 */
static int find(const bmd__nlist *nl, int i, int j, const int *N) {
    for (int k = nl->start[i]; k < nl->start[i + 1]; k++) {
        const int *M = image(nl, i, k);
        if (nl->j[k] == j && M[0] == N[0] && M[1] == N[1] && M[2] == N[2]) return k;
    }
    return -1;
}

/* brute force: every canonical pair within rl, over the images near the
 * atoms' offset, is listed; every listed pair is canonical, within rl, and
 * in order */
static void check_against_brute_force(const sys *s, const bmd__nlist *nl) {
    const double rl = s->rc + s->skin, lo2 = rl * rl * (1 - 1e-9), hi2 = rl * rl * (1 + 1e-9);
    bmd__nl_basis bs;
    assert_int_equal(bmd__nl_basis_make(s->cell, s->pbc, &bs), 0);
    int reach[3];
    for (int k = 0; k < 3; k++) reach[k] = s->pbc[k] ? (int)ceil(rl / bs.width[k]) + 1 : 0;
    int found = 0;
    for (int i = 0; i < s->n; i++) {
        double fi[3], fj[3];
        for (int k = 0; k < 3; k++)
            fi[k] = s->pos[3 * i] * bs.Binv[k] + s->pos[3 * i + 1] * bs.Binv[3 + k] + s->pos[3 * i + 2] * bs.Binv[6 + k];
        for (int j = i; j < s->n; j++) {
            for (int k = 0; k < 3; k++)
                fj[k] = s->pos[3 * j] * bs.Binv[k] + s->pos[3 * j + 1] * bs.Binv[3 + k] + s->pos[3 * j + 2] * bs.Binv[6 + k];
            int c0[3];
            for (int k = 0; k < 3; k++) c0[k] = s->pbc[k] ? (int)lround(fi[k] - fj[k]) : 0;
            int N[3];
            for (N[0] = c0[0] - reach[0]; N[0] <= c0[0] + reach[0]; N[0]++)
                for (N[1] = c0[1] - reach[1]; N[1] <= c0[1] + reach[1]; N[1]++)
                    for (N[2] = c0[2] - reach[2]; N[2] <= c0[2] + reach[2]; N[2]++) {
                        if (j == i && !lexpos(N)) continue;
                        const double r2 = pair_r2(s, i, j, N);
                        if (r2 < lo2) {
                            assert_true(find(nl, i, j, N) >= 0);
                            found++;
                        }
                    }
        }
    }
    /* nothing beyond range, canonical, sorted rows */
    int listed = 0;
    for (int i = 0; i < s->n; i++) {
        assert_true(nl->start[i] <= nl->mid[i] && nl->mid[i] <= nl->start[i + 1]);
        for (int k = nl->start[i]; k < nl->start[i + 1]; k++) {
            const int j = nl->j[k], *N = image(nl, i, k);
            const int zero = N[0] == 0 && N[1] == 0 && N[2] == 0;
            assert_int_equal(zero, k < nl->mid[i]);
            assert_true(j > i || (j == i && lexpos(N)));
            assert_true(pair_r2(s, i, j, N) < hi2);
            if (k > nl->start[i] && k != nl->mid[i]) {
                assert_true(nl->j[k - 1] <= j);
                if (nl->j[k - 1] == j) assert_true(nl->shift[k - 1 + nl->soff[i]] < nl->shift[k + nl->soff[i]]);
            }
            if (pair_r2(s, i, j, N) < lo2) listed++;
        }
    }
    assert_int_equal(listed, found);
    for (int r = 1; r < nl->n_shifts; r++) {
        const int *a = nl->shift_n + 3 * (r - 1), *b = nl->shift_n + 3 * r;
        assert_true(a[0] < b[0] || (a[0] == b[0] && (a[1] < b[1] || (a[1] == b[1] && a[2] < b[2]))));
    }
}

static void same_list(const bmd__nlist *a, const bmd__nlist *b, int n) {
    assert_int_equal(a->nnz, b->nnz);
    assert_int_equal(a->n_shifts, b->n_shifts);
    assert_memory_equal(a->start, b->start, (size_t)(n + 1) * sizeof(int));
    assert_memory_equal(a->mid, b->mid, (size_t)n * sizeof(int));
    assert_int_equal(a->n_img, b->n_img);
    assert_memory_equal(a->soff, b->soff, (size_t)n * sizeof(int));
    if (a->nnz) assert_memory_equal(a->j, b->j, (size_t)a->nnz * sizeof(int));
    if (a->n_img) assert_memory_equal(a->shift, b->shift, (size_t)a->n_img * sizeof(int));
    assert_memory_equal(a->shift_n, b->shift_n, 3 * (size_t)a->n_shifts * sizeof(int));
    assert_memory_equal(a->shift_vec, b->shift_vec, 3 * (size_t)a->n_shifts * sizeof(double));
}

static void test_brute_force(void **state) {
    (void)state;
    unsigned seed = 7;
    bmd__nl_scratch scr;
    memset(&scr, 0, sizeof scr); /* one scratch reused across sizes */
    for (int c = 0; c < 120; c++) {
        sys s;
        make_sys(&s, c, 0, &seed);
        bmd__nlist nl;
        bmd__nlist_init(&nl);
        bmd__nl_result r = bmd__nlist_build(&nl, &scr, s.n, s.pos, s.cell, s.pbc, s.rc, s.skin);
        if (r == BMD__NL_OK) check_against_brute_force(&s, &nl);
        else assert_int_equal(r, BMD__NL_BAD_CELL); /* only a cell absurdly thinner than the range */
        bmd__nlist_free(&nl);
        free(s.pos);
    }
    bmd__nl_scratch_free(&scr);
}

/* big systems: built by all threads; same arrays with 1 and 2 threads, and
 * right (brute force on a few) */
static void test_threads_same_list(void **state) {
    (void)state;
    unsigned seed = 11;
    for (int c = 0; c < 6; c++) {
        sys s;
        make_sys(&s, c, 1, &seed);
        bmd__nlist a, b;
        bmd__nlist_init(&a);
        bmd__nlist_init(&b);
        bmd__nl_scratch sa, sb;
        memset(&sa, 0, sizeof sa);
        memset(&sb, 0, sizeof sb);
        set_threads(1);
        bmd__nl_result ra = bmd__nlist_build(&a, &sa, s.n, s.pos, s.cell, s.pbc, s.rc, s.skin);
        set_threads(2);
        /* a first build (one thread), then a rebuild into per-thread regions
         * of the list, then one whose list grew too much for them (a longer
         * range first: back to per-thread buffers), all the same as 1 thread */
        bmd__nl_result rb = bmd__nlist_build(&b, &sb, s.n, s.pos, s.cell, s.pbc, s.rc, s.skin);
        assert_int_equal(ra, BMD__NL_OK);
        assert_int_equal(rb, BMD__NL_OK);
        same_list(&a, &b, s.n);
        assert_int_equal(bmd__nlist_build(&b, &sb, s.n, s.pos, s.cell, s.pbc, s.rc, s.skin), BMD__NL_OK);
        same_list(&a, &b, s.n);
        assert_int_equal(bmd__nlist_build(&b, &sb, s.n, s.pos, s.cell, s.pbc, 0.7 * s.rc, s.skin), BMD__NL_OK);
        assert_int_equal(bmd__nlist_build(&b, &sb, s.n, s.pos, s.cell, s.pbc, s.rc, s.skin), BMD__NL_OK);
        same_list(&a, &b, s.n);
        if (c == 0) check_against_brute_force(&s, &b);
        /* rebuilt in place with the other thread count: same again */
        set_threads(1);
        assert_int_equal(bmd__nlist_build(&b, &sb, s.n, s.pos, s.cell, s.pbc, s.rc, s.skin), BMD__NL_OK);
        same_list(&a, &b, s.n);
        bmd__nlist_free(&a);
        bmd__nlist_free(&b);
        bmd__nl_scratch_free(&sa);
        bmd__nl_scratch_free(&sb);
        free(s.pos);
    }
    set_threads(2);
}

/* Systems without periodic axes, up to build.c's ALL_PAIRS_MAX (1024)
 * atoms, are built by testing every pair, bigger ones in bins: against the
 * brute force at sizes on both sides, and the two ways against each other —
 * n atoms (every pair) and the same n plus one atom 1000 Å away (bins: n + 1
 * > 1024) have the same first n rows, bit for bit (the far atom has no
 * partner). Clusters dense as a metal, unwrapped anywhere (a zero cell). */
static void test_all_pairs(void **state) {
    (void)state;
    unsigned seed = 29;
    const int sizes[] = {1, 2, 17, 200, 1023, 1024, 1025};
    for (int c = 0; c < (int)(sizeof sizes / sizeof *sizes); c++) {
        sys s = {.n = sizes[c], .rc = 4.2, .skin = 0.5};
        memset(s.cell, 0, sizeof s.cell);
        memset(s.pbc, 0, sizeof s.pbc);
        const double L = cbrt(s.n / 0.085) + 1.0, off = 50.0 * (urand(&seed) - 0.5);
        s.pos = malloc(3 * (size_t)(s.n + 1) * sizeof(double));
        for (int i = 0; i < 3 * s.n; i++) s.pos[i] = off + L * urand(&seed);
        for (int k = 0; k < 3; k++) s.pos[3 * s.n + k] = off + 1000.0; /* the far atom, for the second build */
        bmd__nlist a, b;
        bmd__nlist_init(&a);
        bmd__nlist_init(&b);
        bmd__nl_scratch scr;
        memset(&scr, 0, sizeof scr);
        assert_int_equal(bmd__nlist_build(&a, &scr, s.n, s.pos, s.cell, s.pbc, s.rc, s.skin), BMD__NL_OK);
        check_against_brute_force(&s, &a);
        if (s.n <= 1024) {
            assert_int_equal(bmd__nlist_build(&b, &scr, s.n + 1, s.pos, s.cell, s.pbc, s.rc, s.skin), BMD__NL_OK);
            assert_int_equal(b.start[s.n], b.start[s.n + 1]);
            assert_true(s.n < 200 || a.nnz > 5 * s.n); /* dense: many pairs to agree on */
            same_list(&a, &b, s.n);
        }
        bmd__nlist_free(&a);
        bmd__nlist_free(&b);
        bmd__nl_scratch_free(&scr);
        free(s.pos);
    }
}

/* the staleness rule on a big system, 1 and 2 threads, against the rule */
static void test_stale_threads(void **state) {
    (void)state;
    const int n = 140000; /* above verlet.c's split */
    double *p0 = malloc(3 * (size_t)n * sizeof(double)), *p = malloc(3 * (size_t)n * sizeof(double));
    const double L = cbrt(n / 0.01), cell[9] = {L, 0, 0, 0, L, 0, 0, 0, L}, rc = 2.5, skin = 0.6;
    const unsigned char pbc[3] = {1, 1, 1};
    unsigned seed = 3;
    for (int i = 0; i < 3 * n; i++) p0[i] = urand(&seed) * L;
    bmd__nlist nl;
    bmd__nlist_init(&nl);
    bmd__nl_scratch scr;
    memset(&scr, 0, sizeof scr);
    assert_int_equal(bmd__nlist_build(&nl, &scr, n, p0, cell, pbc, rc, skin), BMD__NL_OK);
    /* two atoms moved by d1 and d2 (others by less), for sums around the skin */
    const double trials[][2] = {{0.25, 0.25}, {0.35, 0.3}, {0.59, 0.0}, {0.61, 0.0}, {0.3, 0.29}, {0.1, 0.05}};
    for (size_t t = 0; t < sizeof trials / sizeof trials[0]; t++) {
        memcpy(p, p0, 3 * (size_t)n * sizeof(double));
        for (int i = 0; i < n; i++) p[3 * i + 1] += 0.01 * urand(&seed);
        const int a = 123 + (int)t, b = n - 77 - (int)t;
        p[3 * a] += trials[t][0];
        p[3 * b + 2] -= trials[t][1];
        /* the rule, directly */
        double m1 = 0, m2 = 0;
        for (int i = 0; i < n; i++) {
            double d = 0;
            for (int k = 0; k < 3; k++) d += (p[3 * i + k] - p0[3 * i + k]) * (p[3 * i + k] - p0[3 * i + k]);
            d = sqrt(d);
            if (d > m1) {
                m2 = m1;
                m1 = d;
            } else if (d > m2) {
                m2 = d;
            }
        }
        const int expect = m1 + m2 > skin;
        set_threads(1);
        assert_int_equal(bmd__nlist_stale(&nl, n, p, cell, pbc, rc, skin), expect);
        set_threads(2);
        assert_int_equal(bmd__nlist_stale(&nl, n, p, cell, pbc, rc, skin), expect);
    }
    p[5] = NAN;
    assert_int_equal(bmd__nlist_stale(&nl, n, p, cell, pbc, rc, skin), 1);
    bmd__nlist_free(&nl);
    bmd__nl_scratch_free(&scr);
    free(p0);
    free(p);
}

/* NVE on one big system (atoms split over the threads): same bits with 1 and 2 */
static void run_nve(int threads, int n, double *pos, double *vel) {
    set_threads(threads);
    bmd_model *m = harmonic_model_new(0.5, 1.0, NULL);
    bmd_batch *b;
    assert_int_equal(bmd_batch_create(&b), 0);
    double *x = malloc(3 * (size_t)n * sizeof(double)), *x0 = malloc(3 * (size_t)n * sizeof(double));
    for (int i = 0; i < n; i++)
        for (int d = 0; d < 3; d++) {
            x0[3 * i + d] = d == 0 ? 2.0 * i : 0.0;
            x[3 * i + d] = x0[3 * i + d] + 0.2 * sin(1.0 + 3.0 * i + d);
        }
    assert_int_equal(harmonic_append(b, n, 39.948, x, x0, NULL, 0), 0);
    bmd_stage *st;
    const bmd_units u = bmd_units_get(BMD_UNITS_METAL);
    assert_int_equal(bmd_stage_create(&u, 5, &st), 0);
    const char *names[] = {"dt", "init_temperature"};
    const double vals[] = {1.0, 300.0};
    bmd_dynamics *d = NULL;
    assert_int_equal(bmd_dynamics_create("nve", names, vals, 2, &d), BMD_OK);
    const bmd_convergence c = {0, 0, 20};
    assert_int_equal(bmd_stage_add(st, "n", d, &c), BMD_OK);
    assert_int_equal(bmd_stage_run(st, b, m, 0), BMD_OK);
    memcpy(pos, b->pos, 3 * (size_t)n * sizeof(double));
    memcpy(vel, b->vel, 3 * (size_t)n * sizeof(double));
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    harmonic_model_free(m);
    free(x);
    free(x0);
}

static void test_nve_threads(void **state) {
    (void)state;
    const int n = 140000; /* above nve.c's per-atom split */
    double *p1 = malloc(3 * (size_t)n * sizeof(double)), *v1 = malloc(3 * (size_t)n * sizeof(double));
    double *p2 = malloc(3 * (size_t)n * sizeof(double)), *v2 = malloc(3 * (size_t)n * sizeof(double));
    run_nve(1, n, p1, v1);
    run_nve(2, n, p2, v2);
    assert_memory_equal(p1, p2, 3 * (size_t)n * sizeof(double));
    assert_memory_equal(v1, v2, 3 * (size_t)n * sizeof(double));
    /* and it moved */
    double moved = 0;
    for (int i = 0; i < 3 * n; i++) moved += fabs(v1[i]);
    assert_true(moved > 0);
    free(p1);
    free(v1);
    free(p2);
    free(v2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_brute_force),
        cmocka_unit_test(test_threads_same_list),
        cmocka_unit_test(test_all_pairs),
        cmocka_unit_test(test_stale_threads),
        cmocka_unit_test(test_nve_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
