/* test_cuda_pair.c — the device's pair physics (src/cuda/hd_pair.h and
 * hd_reduce.h, compiled here by the C compiler) against the CPU models
 * (src/models/lj.c, morse.c, pair.c): a host twin of the GPU pipeline (full
 * rows over the images, per-atom force/energy/virial, the per-system tree
 * sums of the device) on the same systems as bmd_model_compute.
 *  - a dimer: energy, forces and virial bit for bit (one pair: same
 *    operations), LJ and Morse, shifted or not;
 *  - periodic crystals with thermal displacements, a triclinic cell thinner
 *    than the cutoff (an atom meets its own images), a slab (pbc TTF) and two
 *    species with a default entry: 1e-12 relative;
 *  - cell-list rows (big periodic cells, orthogonal and triclinic,
 *    unwrapped positions) equal to the all-atom rows entry for entry;
 *  - the list staleness test against src/neighbor's bmd__nlist_stale;
 *  - the tree sum: batch-independent, equal to the plain sum to rounding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batchmd/batchmd.h"
#include "cuda/cuda_internal.h"
#include "cuda/hd_reduce.h"
#include "neighbor/neighbor.h"

#define MAXNB 4096

typedef struct out {
    double e, w[6];
    double *f;
} out;

/* the device pipeline on the host: rows, per-atom terms, tree sums (B threads) */
static void twin(const bmd__cuda_pair_table *t, const bmd_batch *b, int s, int B, out *o) {
    const int n = b->atom_count[s], a0 = b->atom_start[s];
    const double *x = b->pos + 3 * (size_t)a0;
    bmd_hd_geom g;
    const double range = t->max_cutoff + t->skin;
    assert_int_equal(bmd__cuda_geom_make(b->cell + 9 * (size_t)s, b->pbc + 3 * (size_t)s, range, &g), 0);
    int *type = malloc((size_t)n * sizeof(int)), *nb = malloc(MAXNB * sizeof(int)), *img = malloc(MAXNB * sizeof(int));
    double *epa = malloc((size_t)n * sizeof(double)), *wpa = malloc(6 * (size_t)n * sizeof(double));
    for (int i = 0; i < n; i++) type[i] = t->ztype[b->Z[a0 + i]];
    for (int i = 0; i < n; i++) {
        const int cnt = bmd_hd_nl_row(i, n, x, &g, range * range, MAXNB, nb, img);
        assert_true(cnt <= MAXNB);
        bmd_hd_pair_atom(t->kind, i, x, type, t->ntypes, t->coef, &g, cnt, nb, img, 1, o->f + 3 * i, &epa[i],
                         wpa + 6 * i);
    }
    o->e = bmd_hd_block_sum(epa, n, 1, B);
    for (int c = 0; c < 6; c++) o->w[c] = bmd_hd_block_sum(wpa + c, n, 6, B);
    free(type), free(nb), free(img), free(epa), free(wpa);
}

static void cpu(bmd_model *m, const bmd_batch *b, int s, out *o, double *f_all, double *e_all, double *w_all) {
    bmd_compute_request req = {.forces = f_all, .energy = e_all, .virial = w_all};
    assert_int_equal(bmd_model_compute(m, b, &req), BMD_OK);
    o->e = e_all[s];
    memcpy(o->w, w_all + 6 * s, sizeof o->w);
    memcpy(o->f, f_all + 3 * (size_t)b->atom_start[s], 3 * (size_t)b->atom_count[s] * sizeof(double));
}

static uint64_t rs = 12345;
static double urand(void) { /* xorshift: test inputs in [0, 1) */
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (double)(rs >> 11) / 9007199254740992.0;
}

static void fcc(bmd_system *sys, int nc, double a, double jitter, int z1, int z2) {
    assert_int_equal(bmd_system_alloc(sys, 4 * nc * nc * nc), BMD_OK);
    static const double basis[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
    int k = 0;
    for (int i = 0; i < nc; i++)
        for (int j = 0; j < nc; j++)
            for (int l = 0; l < nc; l++)
                for (int q = 0; q < 4; q++, k++) {
                    sys->pos[3 * k] = (i + basis[q][0]) * a + jitter * (urand() - 0.5);
                    sys->pos[3 * k + 1] = (j + basis[q][1]) * a + jitter * (urand() - 0.5);
                    sys->pos[3 * k + 2] = (l + basis[q][2]) * a + jitter * (urand() - 0.5);
                    sys->Z[k] = (k % 3 == 0) ? z2 : z1;
                    sys->mass[k] = 39.948;
                }
    memset(sys->cell, 0, sizeof sys->cell);
    sys->cell[0] = sys->cell[4] = sys->cell[8] = nc * a;
    sys->pbc[0] = sys->pbc[1] = sys->pbc[2] = 1;
}

/* compares twin and CPU for every system of b; tol 0: bit for bit */
static void compare(bmd_cuda_pair_kind kind, const bmd_pair_params *pp, int np, const bmd_pair_options *opt,
                    bmd_batch *b, double tol) {
    bmd_model *m = NULL;
    assert_int_equal((kind == BMD_CUDA_MORSE ? bmd_model_morse_create : bmd_model_lj_create)(pp, np, opt, &m), BMD_OK);
    bmd__cuda_pair_table t;
    assert_int_equal(bmd__cuda_pair_table_make(kind, pp, np, opt, &t), BMD_OK);
    double *fa = calloc(3 * (size_t)b->n_atoms, sizeof(double)), *ea = calloc((size_t)b->n_systems, sizeof(double));
    double *wa = calloc(6 * (size_t)b->n_systems, sizeof(double));
    for (int s = 0; s < b->n_systems; s++) {
        const int n = b->atom_count[s];
        out g = {.f = calloc(3 * (size_t)n, sizeof(double))}, c = {.f = calloc(3 * (size_t)n, sizeof(double))};
        twin(&t, b, s, 128, &g);
        cpu(m, b, s, &c, fa, ea, wa);
        double fscale = 0, wscale = 0;
        for (int k = 0; k < 3 * n; k++) fscale = fmax(fscale, fabs(c.f[k]));
        for (int k = 0; k < 6; k++) wscale = fmax(wscale, fabs(c.w[k]));
        assert_true(fabs(c.e) > 0 && fscale > 0);
        if (tol == 0) {
            assert_true(g.e == c.e);
            assert_memory_equal(g.f, c.f, 3 * (size_t)n * sizeof(double));
            assert_memory_equal(g.w, c.w, sizeof g.w);
        } else {
            assert_true(fabs(g.e - c.e) <= tol * fabs(c.e));
            for (int k = 0; k < 3 * n; k++) assert_true(fabs(g.f[k] - c.f[k]) <= tol * fscale);
            for (int k = 0; k < 6; k++) assert_true(fabs(g.w[k] - c.w[k]) <= tol * wscale);
        }
        free(g.f), free(c.f);
    }
    free(fa), free(ea), free(wa);
    bmd__cuda_pair_table_free(&t);
    bmd_model_destroy(m);
}

static void add(bmd_batch *b, bmd_system *sys) {
    assert_int_equal(bmd_batch_append(b, sys, NULL), BMD_OK);
    bmd_system_free(sys);
}

static void test_dimer_bitwise(void **state) {
    (void)state;
    const bmd_pair_params lj = {18, 18, {0.0104, 3.40, 0}, 8.5}, mo = {29, 29, {0.3429, 1.3588, 2.866}, 7.0};
    for (int shift = 0; shift < 2; shift++)
        for (int kind = 0; kind < 2; kind++) {
            bmd_batch *b;
            assert_int_equal(bmd_batch_create(&b), BMD_OK);
            for (int k = 0; k < 5; k++) { /* dimers at several distances and orientations */
                bmd_system s;
                assert_int_equal(bmd_system_alloc(&s, 2), BMD_OK);
                s.Z[0] = s.Z[1] = kind ? 29 : 18;
                s.mass[0] = s.mass[1] = 40;
                const double r = (kind ? 2.3 : 3.1) + 0.7 * k, th = 0.3 + 0.4 * k, ph = 1.1 * k;
                s.pos[0] = 1.0 + 0.1 * k, s.pos[1] = -2.0, s.pos[2] = 0.5;
                s.pos[3] = s.pos[0] + r * sin(th) * cos(ph);
                s.pos[4] = s.pos[1] + r * sin(th) * sin(ph);
                s.pos[5] = s.pos[2] + r * cos(th);
                add(b, &s);
            }
            const bmd_pair_options opt = {0.5, shift, 0};
            compare(kind ? BMD_CUDA_MORSE : BMD_CUDA_LJ, kind ? &mo : &lj, 1, &opt, b, 0.0);
            bmd_batch_destroy(b);
        }
}

static void test_periodic_lj(void **state) {
    (void)state;
    bmd_batch *b;
    assert_int_equal(bmd_batch_create(&b), BMD_OK);
    bmd_system s;
    fcc(&s, 3, 5.26, 0.3, 18, 18); /* 108 atoms, box 15.8 < 2 (rc + skin): images */
    add(b, &s);
    fcc(&s, 2, 5.4, 0.5, 18, 18); /* 32 atoms, box 10.8: several images per axis */
    add(b, &s);
    const bmd_pair_params lj = {18, 18, {0.0104, 3.40, 0}, 8.5};
    const bmd_pair_options opt = {0.5, 1, 0};
    compare(BMD_CUDA_LJ, &lj, 1, &opt, b, 1e-12);
    bmd_batch_destroy(b);
}

static void test_triclinic_slab_morse(void **state) {
    (void)state;
    bmd_batch *b;
    assert_int_equal(bmd_batch_create(&b), BMD_OK);
    bmd_system s;
    assert_int_equal(bmd_system_alloc(&s, 4), BMD_OK); /* a skewed cell thinner than the cutoff */
    const double cell[9] = {3.6, 0, 0, 1.4, 3.3, 0, 0.9, -0.7, 3.9};
    memcpy(s.cell, cell, sizeof cell);
    for (int i = 0; i < 4; i++) {
        s.Z[i] = 29;
        s.mass[i] = 63.5;
        for (int c = 0; c < 3; c++) s.pos[3 * i + c] = 0.5 * (i & (1 << c) ? 1 : 0) * cell[4 * c] + 0.2 * urand();
    }
    s.pos[0] += 7.3; /* unwrapped: far outside the cell */
    s.pbc[0] = s.pbc[1] = s.pbc[2] = 1;
    add(b, &s);
    fcc(&s, 3, 3.61, 0.2, 29, 29); /* a slab: periodic in x, y only */
    s.pbc[2] = 0;
    add(b, &s);
    const bmd_pair_params mo = {29, 29, {0.3429, 1.3588, 2.866}, 7.0};
    const bmd_pair_options opt = {0.7, 1, 0};
    compare(BMD_CUDA_MORSE, &mo, 1, &opt, b, 1e-12);
    bmd_batch_destroy(b);
}

static void test_two_species_default(void **state) {
    (void)state;
    bmd_batch *b;
    assert_int_equal(bmd_batch_create(&b), BMD_OK);
    bmd_system s;
    fcc(&s, 3, 5.4, 0.3, 18, 36); /* Ar and Kr */
    add(b, &s);
    const bmd_pair_params pp[2] = {{0, 0, {0.0104, 3.40, 0}, 8.0}, {18, 36, {0.0140, 3.55, 0}, 8.5}};
    const bmd_pair_options opt = {0.4, 0, 1};
    compare(BMD_CUDA_LJ, pp, 2, &opt, b, 1e-12);
    bmd_batch_destroy(b);
}

/* the device's cell-list rows vs its all-atom rows: the same entries, same order */
static void rows_agree(const bmd_system *s, double range) {
    bmd_hd_geom g;
    assert_int_equal(bmd__cuda_geom_make(s->cell, s->pbc, range, &g), 0);
    assert_true(g.nbin[0] >= 3 && g.nbin[1] >= 3 && g.nbin[2] >= 3);
    const int n = s->n_atoms, nbins = g.nbin[0] * g.nbin[1] * g.nbin[2];
    int *bin = malloc((size_t)n * sizeof(int)), *wrap = malloc(3 * (size_t)n * sizeof(int));
    int *start = calloc((size_t)nbins + 1, sizeof(int)), *atoms = malloc((size_t)n * sizeof(int));
    int *fill = calloc((size_t)nbins, sizeof(int));
    for (int i = 0; i < n; i++) {
        bin[i] = bmd_hd_bin_of(s->pos + 3 * i, &g, wrap + 3 * i);
        start[bin[i] + 1]++;
    }
    for (int b = 0; b < nbins; b++) start[b + 1] += start[b];
    for (int i = n - 1; i >= 0; i--) atoms[start[bin[i]] + fill[bin[i]]++] = i; /* any order within a bin */
    int *n1 = malloc(MAXNB * sizeof(int)), *i1 = malloc(MAXNB * sizeof(int));
    int *n2 = malloc(MAXNB * sizeof(int)), *i2 = malloc(MAXNB * sizeof(int));
    long total = 0;
    for (int i = 0; i < n; i++) {
        const int c1 = bmd_hd_nl_row(i, n, s->pos, &g, range * range, MAXNB, n1, i1);
        const int c2 = bmd_hd_nl_row_cells(i, s->pos, &g, range * range, start, atoms, bin[i], wrap, MAXNB, n2, i2);
        assert_int_equal(c1, c2);
        assert_memory_equal(n1, n2, (size_t)c1 * sizeof(int));
        assert_memory_equal(i1, i2, (size_t)c1 * sizeof(int));
        total += c1;
    }
    assert_true(total > 20L * n); /* dense rows: the test means something */
    free(bin), free(wrap), free(start), free(atoms), free(fill), free(n1), free(i1), free(n2), free(i2);
}

static void test_cell_rows(void **state) {
    (void)state;
    bmd_system s;
    fcc(&s, 6, 5.26, 0.4, 18, 18); /* 864 atoms, box 31.6: 3 bins of 10.5 per axis */
    for (int i = 0; i < s.n_atoms; i += 7) s.pos[3 * i + (i % 3)] += (i % 2 ? 2 : -3) * s.cell[4 * (i % 3)]; /* unwrapped */
    rows_agree(&s, 9.0);
    s.cell[3] = 6.0; /* triclinic: b leans along x, c along x and y */
    s.cell[6] = -4.0;
    s.cell[7] = 3.0;
    rows_agree(&s, 8.0);
    bmd_system_free(&s);
    fcc(&s, 7, 5.26, 0.2, 18, 18); /* 1372 atoms, 4 bins per axis */
    rows_agree(&s, 8.0);
    bmd_system_free(&s);
}

/* the two-largest-displacements test, device form vs verlet.c */
static void test_stale(void **state) {
    (void)state;
    bmd_system s;
    fcc(&s, 2, 5.3, 0.1, 18, 18);
    const int n = s.n_atoms;
    bmd__nlist nl;
    bmd__nl_scratch scr;
    bmd__nlist_init(&nl);
    memset(&scr, 0, sizeof scr);
    const double rc = 6.0, skin = 0.6;
    assert_int_equal(bmd__nlist_build(&nl, &scr, n, s.pos, s.cell, s.pbc, rc, skin), BMD__NL_OK);
    double *p = malloc(3 * (size_t)n * sizeof(double));
    int n_stale = 0;
    for (int trial = 0; trial < 400; trial++) {
        const double amp = 1.2 * (trial % 20) / 20.0;
        for (int k = 0; k < 3 * n; k++) p[k] = s.pos[k] + amp * (urand() - 0.5) * ((k / 3) % 7 == trial % 7);
        double m1 = 0, m2 = 0;
        for (int i = 0; i < n; i++) bmd_hd_top2_push(bmd_hd_disp2(p + 3 * i, s.pos + 3 * i), &m1, &m2);
        const int dev = bmd_hd_stale(m1, m2, skin);
        assert_int_equal(dev, bmd__nlist_stale(&nl, n, p, s.cell, s.pbc, rc, skin));
        n_stale += dev;
    }
    assert_true(n_stale > 20 && n_stale < 380); /* both outcomes exercised */
    p[5] = NAN;
    double m1 = 0, m2 = 0;
    for (int i = 0; i < n; i++) bmd_hd_top2_push(bmd_hd_disp2(p + 3 * i, s.pos + 3 * i), &m1, &m2);
    assert_int_equal(bmd_hd_stale(m1, m2, skin), 1);
    free(p);
    bmd__nlist_free(&nl);
    bmd__nl_scratch_free(&scr);
    bmd_system_free(&s);
}

static void test_tree_sum(void **state) {
    (void)state;
    double x[1000];
    for (int k = 0; k < 1000; k++) x[k] = (urand() - 0.5) * pow(10.0, 4 * urand());
    for (int n = 1; n <= 1000; n += 37) {
        double plain = 0, mag = 0;
        for (int k = 0; k < n; k++) plain += x[k], mag += fabs(x[k]);
        assert_true(bmd_hd_block_sum(x, n, 1, 1) == plain); /* one thread: the plain loop */
        for (int B = 2; B <= 1024; B *= 2) assert_true(fabs(bmd_hd_block_sum(x, n, 1, B) - plain) <= 1e-14 * mag);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dimer_bitwise),
        cmocka_unit_test(test_periodic_lj),
        cmocka_unit_test(test_triclinic_slab_morse),
        cmocka_unit_test(test_two_species_default),
        cmocka_unit_test(test_cell_rows),
        cmocka_unit_test(test_stale),
        cmocka_unit_test(test_tree_sum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
