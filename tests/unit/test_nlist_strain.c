/* test_nlist_strain.c — neighbor lists kept over cell changes
 * (src/neighbor/neighbor.h, padded.h, include/batchmd/edges.h), without a
 * model:
 *   - the staleness test after a cell change against the rule of
 *     neighbor.h computed here independently (F = I + E from the strain the
 *     test applied, its singular values from the closed-form roots of the
 *     characteristic cubic of F^T F, the non-affine displacements
 *     x - x0 F), over random strains and displacements around the
 *     threshold, on cubic, triclinic, thin (atoms meet their own images),
 *     slab, wire and cluster cells, with 1 and 2 threads on a big system;
 *   - after every update, kept or rebuilt: the list's pairs within the
 *     cutoff are exactly those of a brute-force enumeration over images,
 *     and in the same order, with the same image vectors (bits), as a list
 *     built afresh for the same positions and cell;
 *   - a strain big enough that the old list misses pairs (shown against
 *     the brute force): the update rebuilds it; a degenerate cell is
 *     reported (BMD__NL_BAD_CELL);
 *   - the padded particle sets of KIM models: over strain steps, a kept set
 *     and a fresh one have the same particles within the cutoff in every
 *     atom's row, at the same coordinates (bits), in the same order, and
 *     every image within the cutoff (brute force) is there;
 *   - bmd_edges (strict, half and full) kept over strain steps equals a
 *     fresh bmd_edges object's result; not strict, a result kept over a
 *     strain still holds every pair within the cutoff;
 *   - lists are rebuilt far fewer times than the cell changed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchmd/batch.h"
#include "batchmd/edges.h"
#include "neighbor/neighbor.h"
#include "neighbor/padded.h"
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

static uint64_t rng_state;
static double urand(void) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}
static double srand1(void) { return 2.0 * urand() - 1.0; }

typedef struct sys {
    const char *name;
    int n;
    double *pos, cell[9];
    unsigned char pbc[3];
} sys;

/* x <- x (I + E) for the n rows of x */
static void deform(double *x, int n, const double *E) {
    for (int i = 0; i < n; i++) {
        const double p[3] = {x[3 * i], x[3 * i + 1], x[3 * i + 2]};
        for (int c = 0; c < 3; c++) x[3 * i + c] = p[c] + (p[0] * E[c] + p[1] * E[3 + c] + p[2] * E[6 + c]);
    }
}

/* kind k: 0 cubic, 1 triclinic, 2 thin triclinic (thinner than the range),
 * 3 slab T T F, 4 wire F T F, 5 cluster F F F; n atoms at random (about
 * 0.05 per Å³), some unwrapped by lattice vectors */
static void make_sys(sys *s, int k, int n) {
    static const char *names[6] = {"cubic", "triclinic", "thin triclinic", "slab TTF", "wire FTF", "cluster FFF"};
    static const double cells[6][9] = {
        {14, 0, 0, 0, 14, 0, 0, 0, 14},       {13, 0, 0, 2.5, 12, 0, -1.5, 2, 14},
        {4.5, 0, 0, 1.1, 4.2, 0, -0.7, 0.9, 5}, {14, 0, 0, 2, 13, 0, 0, 0, 14},
        {14, 0, 0, 0, 13, 0, 0, 0, 14},       {14, 0, 0, 0, 14, 0, 0, 0, 14}};
    static const unsigned char pbcs[6][3] = {{1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 0}, {0, 1, 0}, {0, 0, 0}};
    s->name = names[k];
    s->n = n;
    memcpy(s->cell, cells[k], sizeof s->cell);
    memcpy(s->pbc, pbcs[k], 3);
    if (n > 1000) { /* a big cubic cell at the same density */
        const double L = cbrt(n / 0.05);
        memset(s->cell, 0, sizeof s->cell);
        s->cell[0] = s->cell[4] = s->cell[8] = L;
    }
    s->pos = malloc(3 * (size_t)n * sizeof(double));
    for (int i = 0; i < n; i++) {
        const double f[3] = {urand(), urand(), urand()};
        int w[3] = {0, 0, 0};
        for (int a = 0; a < 3; a++) w[a] = s->pbc[a] && urand() < 0.2 ? (int)(5 * urand()) - 2 : 0;
        for (int c = 0; c < 3; c++) {
            s->pos[3 * i + c] = 0.0;
            for (int a = 0; a < 3; a++) s->pos[3 * i + c] += (f[a] + w[a]) * s->cell[3 * a + c];
        }
    }
}

/* a random strain of size eps (isotropic, anisotropic, shear or general by
 * kind), nothing on open axes */
static void random_strain(double *E, int kind, double eps, const unsigned char *pbc) {
    memset(E, 0, 9 * sizeof(double));
    const double d = eps * srand1();
    switch (kind % 4) {
    case 0: E[0] = E[4] = E[8] = d; break;
    case 1: for (int k = 0; k < 3; k++) E[4 * k] = eps * srand1(); break;
    case 2: E[1] = E[3] = d; E[2] = E[6] = -0.7 * d; break;
    default: for (int k = 0; k < 9; k++) E[k] = eps * srand1(); break;
    }
    for (int k = 0; k < 3; k++)
        if (!pbc[k])
            for (int c = 0; c < 3; c++) E[3 * k + c] = E[3 * c + k] = 0.0;
}

/* ---- the rule, computed independently ---- */

/* singular values of F (3x3): square roots of the roots of the
 * characteristic cubic of C = F^T F (trigonometric form) */
static void singular_values(const double *F, double *smin, double *smax) {
    double C[3][3];
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++) C[r][c] = F[r] * F[c] + F[3 + r] * F[3 + c] + F[6 + r] * F[6 + c];
    const double q = (C[0][0] + C[1][1] + C[2][2]) / 3.0;
    const double p1 = C[0][1] * C[0][1] + C[0][2] * C[0][2] + C[1][2] * C[1][2];
    const double p2 = (C[0][0] - q) * (C[0][0] - q) + (C[1][1] - q) * (C[1][1] - q) + (C[2][2] - q) * (C[2][2] - q) +
                      2 * p1;
    const double p = sqrt(p2 / 6.0);
    double lo = q, hi = q;
    if (p > 0) {
        double B[3][3];
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 3; c++) B[r][c] = (C[r][c] - (r == c ? q : 0.0)) / p;
        const double detB = B[0][0] * (B[1][1] * B[2][2] - B[1][2] * B[2][1]) -
                            B[0][1] * (B[1][0] * B[2][2] - B[1][2] * B[2][0]) +
                            B[0][2] * (B[1][0] * B[2][1] - B[1][1] * B[2][0]);
        double r = detB / 2.0;
        r = r < -1 ? -1 : (r > 1 ? 1 : r);
        const double phi = acos(r) / 3.0;
        hi = q + 2 * p * cos(phi);
        lo = q + 2 * p * cos(phi + 2.0 * acos(-1.0) / 3.0);
    }
    *smin = sqrt(lo);
    *smax = sqrt(hi);
}

/* the rule's margin for F = I + E, x0 -> x: > 0 kept, < 0 rebuilt (a
 * strain beyond 10 %: -1) */
static double rule_margin(const double *E, int n, const double *x0, const double *x, double rc, double skin) {
    double F[9];
    for (int k = 0; k < 9; k++) F[k] = E[k] + (k % 4 == 0);
    double smin, smax;
    singular_values(F, &smin, &smax);
    if (smin < 0.9 || smax > 1.1) return -1.0;
    double u1 = 0, u2 = 0;
    for (int i = 0; i < n; i++) {
        double d2 = 0;
        for (int c = 0; c < 3; c++) {
            const double a = x0[3 * i] * F[c] + x0[3 * i + 1] * F[3 + c] + x0[3 * i + 2] * F[6 + c];
            d2 += (x[3 * i + c] - a) * (x[3 * i + c] - a);
        }
        const double d = sqrt(d2);
        if (d > u1) {
            u2 = u1;
            u1 = d;
        } else if (d > u2) {
            u2 = d;
        }
    }
    return (smin < 1 ? smin : 1.0) * (rc + skin) - rc - (u1 + u2);
}

/* ---- pairs within rc: the list's and the brute force's ---- */
typedef struct pair_t {
    int i, j, N[3];
} pair_t;

static int cmp_pair(const void *a, const void *b) {
    const pair_t *x = a, *y = b;
    if (x->i != y->i) return x->i - y->i;
    if (x->j != y->j) return x->j - y->j;
    for (int k = 0; k < 3; k++)
        if (x->N[k] != y->N[k]) return x->N[k] - y->N[k];
    return 0;
}

static int positive(const int *N) { return N[0] > 0 || (!N[0] && (N[1] > 0 || (!N[1] && N[2] > 0))); }

/* the list's entries within rc, in list order (r as the kernels form it) */
static int list_pairs(const bmd__nlist *nl, const double *x, double rc, pair_t *out) {
    int m = 0;
    for (int i = 0; i < nl->n_atoms; i++)
        for (int k = nl->start[i]; k < nl->start[i + 1]; k++) {
            const int j = nl->j[k], id = k < nl->mid[i] ? -1 : nl->shift[k + nl->soff[i]];
            const double *S = id < 0 ? NULL : nl->shift_vec + 3 * id;
            double r2 = 0;
            for (int c = 0; c < 3; c++) {
                const double d = (x[3 * j + c] + (S ? S[c] : 0.0)) - x[3 * i + c];
                r2 += d * d;
            }
            if (!(r2 < rc * rc)) continue;
            out[m].i = i;
            out[m].j = j;
            for (int c = 0; c < 3; c++) out[m].N[c] = id < 0 ? 0 : nl->shift_n[3 * id + c];
            m++;
        }
    return m;
}

/* every (i, j, N) within rc, canonical (i < j, or i == j and N positive), sorted */
static int brute_pairs(const sys *s, double rc, pair_t *out) {
    bmd__nl_basis bs;
    assert_int_equal(bmd__nl_basis_make(s->cell, s->pbc, &bs), 0);
    int M[3];
    for (int k = 0; k < 3; k++) M[k] = bs.periodic[k] ? (int)ceil(rc / bs.width[k]) + 1 : 0;
    double *f = malloc(3 * (size_t)s->n * sizeof(double));
    for (int i = 0; i < s->n; i++)
        for (int k = 0; k < 3; k++)
            f[3 * i + k] =
                s->pos[3 * i] * bs.Binv[k] + s->pos[3 * i + 1] * bs.Binv[3 + k] + s->pos[3 * i + 2] * bs.Binv[6 + k];
    int m = 0;
    for (int i = 0; i < s->n; i++)
        for (int j = i; j < s->n; j++) {
            int lo[3], hi[3];
            for (int k = 0; k < 3; k++) {
                const double d = bs.periodic[k] ? f[3 * i + k] - f[3 * j + k] : 0.0;
                lo[k] = (int)floor(d) - M[k];
                hi[k] = (int)ceil(d) + M[k];
            }
            int N[3];
            for (N[0] = lo[0]; N[0] <= hi[0]; N[0]++)
                for (N[1] = lo[1]; N[1] <= hi[1]; N[1]++)
                    for (N[2] = lo[2]; N[2] <= hi[2]; N[2]++) {
                        if (j == i && !positive(N)) continue;
                        double S[3], r2 = 0;
                        bmd__nl_image_vec(N, s->cell, bs.periodic, S);
                        for (int c = 0; c < 3; c++) {
                            const double d = (s->pos[3 * j + c] + S[c]) - s->pos[3 * i + c];
                            r2 += d * d;
                        }
                        if (!(r2 < rc * rc)) continue;
                        out[m].i = i;
                        out[m].j = j;
                        memcpy(out[m].N, N, sizeof N);
                        m++;
                    }
        }
    free(f);
    qsort(out, (size_t)m, sizeof *out, cmp_pair);
    return m;
}

#define MAXP 400000

/* kept (or rebuilt) list nl vs the brute force and a fresh build, for s now */
static void check_list(const char *what, const bmd__nlist *nl, const sys *s, double rc, double skin) {
    pair_t *a = malloc(MAXP * sizeof *a), *b = malloc(MAXP * sizeof *b), *c = malloc(MAXP * sizeof *c);
    const int na = list_pairs(nl, s->pos, rc, a);
    bmd__nlist fresh;
    bmd__nlist_init(&fresh);
    bmd__nl_scratch scr;
    memset(&scr, 0, sizeof scr);
    assert_int_equal(bmd__nlist_build(&fresh, &scr, s->n, s->pos, s->cell, s->pbc, rc, skin), BMD__NL_OK);
    const int nf = list_pairs(&fresh, s->pos, rc, c);
    /* same pairs in the same order as a fresh list ... */
    if (na != nf || memcmp(a, c, (size_t)na * sizeof *a))
        fail_msg("%s (%s): %d pairs within rc in the kept list, %d in a fresh one (or another order)", what, s->name,
                 na, nf);
    /* ... whose image vectors are a fresh build's bits */
    for (int t = 0; t < nl->n_shifts; t++) {
        double v[3];
        const int per[3] = {s->pbc[0] != 0, s->pbc[1] != 0, s->pbc[2] != 0};
        bmd__nl_image_vec(nl->shift_n + 3 * t, s->cell, per, v);
        assert_memory_equal(v, nl->shift_vec + 3 * t, sizeof v);
    }
    /* ... and the brute force's */
    const int nb = brute_pairs(s, rc, b);
    qsort(a, (size_t)na, sizeof *a, cmp_pair);
    if (na != nb || memcmp(a, b, (size_t)na * sizeof *a))
        fail_msg("%s (%s): %d pairs within rc in the list, %d by brute force", what, s->name, na, nb);
    bmd__nlist_free(&fresh);
    bmd__nl_scratch_free(&scr);
    free(a);
    free(b);
    free(c);
}

/* ---- tests ---- */

/* random strains and displacements around the threshold: the test's
 * answer is the rule's, and the list after every update is right */
static void test_stale_rule(void **state) {
    (void)state;
    rng_state = 11;
    const double rc = 4.0, skin = 0.3; /* rc / (rc + skin) = 0.93: a strain of a few % uses up the skin */
    int kept = 0, rebuilt = 0, ties = 0;
    for (int k = 0; k < 6; k++) {
        sys s;
        make_sys(&s, k, k == 2 ? 12 : 150);
        bmd__nlist nl;
        bmd__nlist_init(&nl);
        bmd__nl_scratch scr;
        memset(&scr, 0, sizeof scr);
        double *x0 = malloc(3 * (size_t)s.n * sizeof(double)), cell0[9];
        for (int trial = 0; trial < 48; trial++) {
            assert_int_equal(bmd__nlist_build(&nl, &scr, s.n, s.pos, s.cell, s.pbc, rc, skin), BMD__NL_OK);
            memcpy(x0, s.pos, 3 * (size_t)s.n * sizeof(double));
            memcpy(cell0, s.cell, sizeof cell0);
            /* strains from 0 to 0.1, displacements from 0 to skin/4 per component */
            double E[9];
            random_strain(E, trial, 0.1 * urand(), s.pbc);
            deform(s.cell, 3, E);
            deform(s.pos, s.n, E);
            const double dx = 0.25 * skin * urand();
            for (int i = 0; i < 3 * s.n; i++) s.pos[i] += dx * srand1();
            const double m = rule_margin(E, s.n, x0, s.pos, rc, skin);
            const int st = bmd__nlist_stale(&nl, s.n, s.pos, s.cell, s.pbc, rc, skin);
            if (fabs(m) <= 1e-9) /* a tie within rounding may go either way */
                ties++;
            else if (st != (m < 0))
                fail_msg("%s, trial %d: stale %d, the rule's margin %.3g", s.name, trial, st, m);
            int rb = -1;
            assert_int_equal(bmd__nlist_update(&nl, &scr, s.n, s.pos, s.cell, s.pbc, rc, skin, &rb), BMD__NL_OK);
            assert_int_equal(rb, st);
            kept += !rb;
            rebuilt += rb;
            check_list("after a strain", &nl, &s, rc, skin);
        }
        free(x0);
        bmd__nlist_free(&nl);
        bmd__nl_scratch_free(&scr);
        free(s.pos);
    }
    printf("strain trials: %d lists kept, %d rebuilt, %d ties\n", kept, rebuilt, ties);
    assert_true(kept >= 40 && rebuilt >= 40); /* both sides of the threshold */
    assert_true(ties <= 2);
}

/* a sequence of small strains on one list: kept most of the time, right
 * every time */
static void test_small_strain_sequence(void **state) {
    (void)state;
    rng_state = 5;
    const double rc = 4.0, skin = 0.6;
    for (int k = 0; k < 6; k++) {
        sys s;
        make_sys(&s, k, k == 2 ? 10 : 200);
        bmd__nlist nl;
        bmd__nlist_init(&nl);
        bmd__nl_scratch scr;
        memset(&scr, 0, sizeof scr);
        const int steps = 60;
        for (int step = 0; step <= steps; step++) {
            if (step) {
                double E[9];
                random_strain(E, step, 1e-3, s.pbc);
                deform(s.cell, 3, E);
                deform(s.pos, s.n, E);
                for (int i = 0; i < 3 * s.n; i++) s.pos[i] += 0.005 * srand1();
                for (int a = 0; a < 3; a++) /* the open axes' vectors: ignored */
                    if (!s.pbc[a]) s.cell[3 * a + a] *= 1.02;
            }
            assert_int_equal(bmd__nlist_update(&nl, &scr, s.n, s.pos, s.cell, s.pbc, rc, skin, NULL), BMD__NL_OK);
            check_list("small strains", &nl, &s, rc, skin);
        }
        printf("%s: %d strain steps, %ld builds, %ld updates kept over a new cell\n", s.name, steps, nl.n_builds,
               nl.n_rescales);
        assert_true(nl.n_builds <= 1 + steps / 10);
        assert_true(nl.n_rescales >= steps - nl.n_builds); /* (every step has a new cell) */
        bmd__nlist_free(&nl);
        bmd__nl_scratch_free(&scr);
        free(s.pos);
    }
}

/* a strain that brings pairs in from beyond cutoff + skin: the old list
 * misses them (brute force), the update rebuilds; a degenerate cell */
static void test_big_strain_rebuilds(void **state) {
    (void)state;
    rng_state = 99;
    const double rc = 4.0, skin = 0.3;
    const double shrink[2] = {-0.12, -0.085}; /* beyond 10 %, and within but past the skin (0.915 * 4.3 < 4) */
    for (int t = 0; t < 2; t++) {
        sys s;
        make_sys(&s, 1, 300);
        bmd__nlist nl;
        bmd__nlist_init(&nl);
        bmd__nl_scratch scr;
        memset(&scr, 0, sizeof scr);
        assert_int_equal(bmd__nlist_build(&nl, &scr, s.n, s.pos, s.cell, s.pbc, rc, skin), BMD__NL_OK);
        double E[9] = {shrink[t], 0, 0, 0, shrink[t], 0, 0, 0, shrink[t]};
        deform(s.cell, 3, E);
        deform(s.pos, s.n, E);
        for (int i = 0; i < 3 * s.n; i++) s.pos[i] += 0.05 * srand1();
        /* the old list, given the new cell's image vectors, misses pairs */
        bmd__nlist old;
        bmd__nlist_init(&old);
        assert_int_equal(bmd__nlist_build(&old, &scr, s.n, nl.ref_pos, nl.ref_cell, s.pbc, rc, skin), BMD__NL_OK);
        const int per[3] = {1, 1, 1};
        for (int k = 0; k < old.n_shifts; k++)
            bmd__nl_image_vec(old.shift_n + 3 * k, s.cell, per, old.shift_vec + 3 * k);
        pair_t *a = malloc(MAXP * sizeof *a), *b = malloc(MAXP * sizeof *b);
        const int na = list_pairs(&old, s.pos, rc, a), nb = brute_pairs(&s, rc, b);
        printf("compressed by %.1f %%: %d pairs within rc, the old list has %d\n", -100 * shrink[t], nb, na);
        assert_true(na < nb);
        int rb = 0;
        assert_int_equal(bmd__nlist_update(&nl, &scr, s.n, s.pos, s.cell, s.pbc, rc, skin, &rb), BMD__NL_OK);
        assert_int_equal(rb, 1);
        check_list("big strain", &nl, &s, rc, skin);
        /* a degenerate cell is reported */
        double flat[9];
        memcpy(flat, s.cell, sizeof flat);
        for (int c = 0; c < 3; c++) flat[6 + c] = flat[c] + flat[3 + c];
        assert_int_equal(bmd__nlist_stale(&nl, s.n, s.pos, flat, s.pbc, rc, skin), 1);
        assert_int_equal(bmd__nlist_update(&nl, &scr, s.n, s.pos, flat, s.pbc, rc, skin, &rb), BMD__NL_BAD_CELL);
        free(a);
        free(b);
        bmd__nlist_free(&old);
        bmd__nlist_free(&nl);
        bmd__nl_scratch_free(&scr);
        free(s.pos);
    }
}

/* the test on a system big enough to be split over threads: 1 and 2
 * threads give the rule's answer */
static void test_stale_threads(void **state) {
    (void)state;
    rng_state = 3;
    const double rc = 2.5, skin = 0.3;
    sys s;
    make_sys(&s, 0, 140000);
    bmd__nlist nl;
    bmd__nlist_init(&nl);
    bmd__nl_scratch scr;
    memset(&scr, 0, sizeof scr);
    assert_int_equal(bmd__nlist_build(&nl, &scr, s.n, s.pos, s.cell, s.pbc, rc, skin), BMD__NL_OK);
    double *p = malloc(3 * (size_t)s.n * sizeof(double)), cell[9];
    int seen[2] = {0, 0};
    for (int trial = 0; trial < 8; trial++) {
        double E[9];
        random_strain(E, trial, 0.012 * (trial + 1), s.pbc);
        memcpy(p, s.pos, 3 * (size_t)s.n * sizeof(double));
        memcpy(cell, s.cell, sizeof cell);
        deform(cell, 3, E);
        deform(p, s.n, E);
        for (int i = 0; i < 3 * s.n; i++) p[i] += 0.02 * srand1();
        p[3 * (trial * 1000) + 1] += 0.15; /* one atom moved farther */
        const double m = rule_margin(E, s.n, s.pos, p, rc, skin);
        assert_true(fabs(m) > 1e-9);
        seen[m < 0]++;
        set_threads(1);
        assert_int_equal(bmd__nlist_stale(&nl, s.n, p, cell, s.pbc, rc, skin), m < 0);
        set_threads(2);
        assert_int_equal(bmd__nlist_stale(&nl, s.n, p, cell, s.pbc, rc, skin), m < 0);
    }
    assert_true(seen[0] && seen[1]);
    bmd__nlist_free(&nl);
    bmd__nl_scratch_free(&scr);
    free(p);
    free(s.pos);
}

/* ---- padded sets ---- */

typedef struct part_t {
    int owner, img[3];
    double x[3];
} part_t;

/* the particles within rc of atom i's row, in row order */
static int padded_row(const bmd__padded *p, int i, double rc, part_t *out) {
    const bmd__padded_list *L = &p->lists[0];
    int m = 0;
    for (int e = L->start[i]; e < L->start[i + 1]; e++) {
        const int q = L->nbr[e];
        double r2 = 0;
        for (int c = 0; c < 3; c++) r2 += (p->x[3 * q + c] - p->x[3 * i + c]) * (p->x[3 * q + c] - p->x[3 * i + c]);
        if (!(r2 < rc * rc)) continue;
        out[m].owner = p->owner[q];
        memcpy(out[m].img, p->img + 3 * q, sizeof out[m].img);
        memcpy(out[m].x, p->x + 3 * q, sizeof out[m].x);
        m++;
    }
    return m;
}

static void test_padded_strain(void **state) {
    (void)state;
    rng_state = 21;
    const double rc = 4.0;
    const bmd__padded_spec spec = {.pad = 4.5, .skin = 0.6, .n_lists = 1, .cutoff = {rc}, .ghost_rows = {0}};
    part_t *a = malloc(4096 * sizeof *a), *b = malloc(4096 * sizeof *b);
    pair_t *bp = malloc(MAXP * sizeof *bp);
    for (int k = 0; k < 6; k++) {
        sys s;
        make_sys(&s, k, k == 2 ? 10 : 120);
        bmd__padded kept, fresh;
        bmd__padded_init(&kept);
        bmd__padded_scratch scr;
        memset(&scr, 0, sizeof scr);
        const int steps = 40;
        for (int step = 0; step <= steps; step++) {
            if (step) {
                double E[9];
                random_strain(E, step, 1.5e-3, s.pbc);
                deform(s.cell, 3, E);
                deform(s.pos, s.n, E);
                for (int i = 0; i < 3 * s.n; i++) s.pos[i] += 0.005 * srand1();
            }
            assert_int_equal(bmd__padded_update(&kept, &scr, s.n, s.pos, s.cell, s.pbc, &spec, NULL), BMD__NL_OK);
            bmd__padded_init(&fresh);
            assert_int_equal(bmd__padded_update(&fresh, &scr, s.n, s.pos, s.cell, s.pbc, &spec, NULL), BMD__NL_OK);
            const int nb = brute_pairs(&s, rc, bp);
            int in_rows = 0;
            for (int i = 0; i < s.n; i++) {
                const int na = padded_row(&kept, i, rc, a), nf = padded_row(&fresh, i, rc, b);
                if (na != nf || memcmp(a, b, (size_t)na * sizeof *a))
                    fail_msg("%s, step %d: atom %d's row within rc: %d particles kept, %d fresh (or other bits/order)",
                             s.name, step, i, na, nf);
                for (int t = 0; t < na; t++) /* at its owner + its image vector */
                    for (int c = 0; c < 3; c++) {
                        double S[3];
                        bmd__nl_image_vec(a[t].img, s.cell, (const int[3]){s.pbc[0], s.pbc[1], s.pbc[2]}, S);
                        assert_true(a[t].x[c] == s.pos[3 * a[t].owner + c] + S[c]);
                    }
                in_rows += na;
            }
            /* every pair within rc is in the rows of both its atoms ((i, j, N) in row i as (j, N), in
             * row j as (i, -N); an atom and its image twice in its own row) */
            assert_int_equal(in_rows, 2 * nb);
            bmd__padded_free(&fresh);
        }
        printf("padded %s: %d strain steps, %ld builds\n", s.name, steps, kept.n_builds);
        assert_true(kept.n_builds <= 1 + steps / 10);
        bmd__padded_free(&kept);
        bmd__padded_scratch_free(&scr);
        free(s.pos);
    }
    free(a);
    free(b);
    free(bp);
}

/* ---- edges ---- */

static void test_edges_strain(void **state) {
    (void)state;
    rng_state = 8;
    bmd_batch *b = NULL;
    assert_int_equal(bmd_batch_create(&b), BMD_OK);
    for (int k = 0; k < 6; k++) {
        sys s;
        make_sys(&s, k, k == 2 ? 10 : 100);
        bmd_system y;
        assert_int_equal(bmd_system_alloc(&y, s.n), BMD_OK);
        memcpy(y.pos, s.pos, 3 * (size_t)s.n * sizeof(double));
        for (int i = 0; i < s.n; i++) {
            y.Z[i] = 18;
            y.mass[i] = 40;
        }
        memcpy(y.cell, s.cell, sizeof y.cell);
        memcpy(y.pbc, s.pbc, 3);
        assert_int_equal(bmd_batch_append(b, &y, NULL), BMD_OK);
        bmd_system_free(&y);
        free(s.pos);
    }
    const double rc = 4.0, skin = 0.6;
    bmd_edges *kept[3];
    for (int v = 0; v < 3; v++) /* strict half, strict full, not strict full */
        assert_int_equal(bmd_edges_create(rc, skin, v ? BMD_EDGES_FULL : BMD_EDGES_HALF, v < 2, &kept[v]), BMD_OK);
    const int steps = 40;
    for (int step = 0; step <= steps; step++) {
        if (step)
            for (int s = 0; s < b->n_systems; s++) {
                double E[9];
                random_strain(E, step + s, 1.5e-3, b->pbc + 3 * s);
                deform(b->cell + 9 * s, 3, E);
                double *x = b->pos + 3 * (size_t)b->atom_start[s];
                deform(x, b->atom_count[s], E);
                for (int i = 0; i < 3 * b->atom_count[s]; i++) x[i] += 0.005 * srand1();
            }
        for (int v = 0; v < 3; v++) {
            assert_int_equal(bmd_edges_compute(kept[v], b, NULL), BMD_OK);
            if (v == 2) continue;
            bmd_edges *fresh = NULL;
            assert_int_equal(bmd_edges_create(rc, skin, v ? BMD_EDGES_FULL : BMD_EDGES_HALF, 1, &fresh), BMD_OK);
            assert_int_equal(bmd_edges_compute(fresh, b, NULL), BMD_OK);
            const int64_t E = bmd_edges_count(fresh);
            assert_int_equal(bmd_edges_count(kept[v]), E);
            assert_memory_equal(bmd_edges_index(kept[v]), bmd_edges_index(fresh), 2 * (size_t)E * sizeof(int64_t));
            assert_memory_equal(bmd_edges_shifts(kept[v]), bmd_edges_shifts(fresh), 3 * (size_t)E * sizeof(int64_t));
            assert_memory_equal(bmd_edges_offsets(kept[v]), bmd_edges_offsets(fresh),
                                (size_t)(b->n_systems + 1) * sizeof(int64_t));
            bmd_edges_destroy(fresh);
        }
        /* not strict: every pair within rc now is an edge (both ways) */
        const int64_t *ix = bmd_edges_index(kept[2]), *sh = bmd_edges_shifts(kept[2]), E2 = bmd_edges_count(kept[2]);
        int64_t within = 0;
        for (int64_t e = 0; e < E2; e++) {
            const int64_t i = ix[e], j = ix[E2 + e];
            const int s = b->sys[i];
            double r2 = 0;
            for (int c = 0; c < 3; c++) {
                double S = 0;
                for (int a = 0; a < 3; a++) S += (double)sh[3 * e + a] * b->cell[9 * s + 3 * a + c];
                const double d = b->pos[3 * j + c] + S - b->pos[3 * i + c];
                r2 += d * d;
            }
            within += r2 < rc * rc;
        }
        assert_int_equal(within, bmd_edges_count(kept[1])); /* the strict full set's */
    }
    for (int v = 0; v < 3; v++) {
        printf("edges %d: %d strain steps x %d systems, %ld builds\n", v, steps, b->n_systems,
               bmd_edges_builds(kept[v]));
        assert_true(bmd_edges_builds(kept[v]) <= b->n_systems * (1 + steps / 10));
        bmd_edges_destroy(kept[v]);
    }
    bmd_batch_destroy(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stale_rule),       cmocka_unit_test(test_small_strain_sequence),
        cmocka_unit_test(test_big_strain_rebuilds), cmocka_unit_test(test_stale_threads),
        cmocka_unit_test(test_padded_strain),    cmocka_unit_test(test_edges_strain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
