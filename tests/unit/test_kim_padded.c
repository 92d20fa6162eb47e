/* test_kim_padded.c — the padded particle sets and full neighbor lists that
 * the KIM model hands to KIM models (src/neighbor/padded.h); no KIM API
 * needed:
 *   - every row of an atom holds exactly the periodic images within the
 *     cutoff found by brute force over lattice images (1-atom fcc primitive
 *     cell with a 6 Å cutoff, a tiny triclinic cell, a bulk cell with atoms
 *     given unwrapped, a slab T T F, a wire F T F, a cluster F F F), rows
 *     increase and never hold the particle itself;
 *   - ghost rows (when asked) hold every particle of the padded set within
 *     the cutoff; two lists with their own cutoffs;
 *   - ghosts sit at their owner + a lattice vector; moves whose two
 *     largest add up to at most the skin refresh coordinates without a
 *     rebuild, larger ones rebuild;
 *   - folding ghost forces and energies back onto owners;
 *   - the per-slot cache follows systems by uid across removals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batchmd/batch.h"
#include "neighbor/padded.h"

typedef struct case_t {
    const char *name;
    int n;
    double cell[9];
    unsigned char pbc[3];
    double pos[3 * 64];
} case_t;

static uint64_t rng_state = 12345;
static double urand(void) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static void make_cases(case_t *c, int *nc) {
    const double a = 3.615, h = a / 2;
    int k = 0;
    /* 1-atom fcc primitive cell */
    c[k] = (case_t){.name = "fcc primitive", .n = 1, .cell = {0, h, h, h, 0, h, h, h, 0}, .pbc = {1, 1, 1},
                    .pos = {0.1, 0.2, 0.3}};
    k++;
    /* tiny triclinic cell, 3 atoms */
    c[k] = (case_t){
        .name = "tiny triclinic", .n = 3, .cell = {2.9, 0, 0, 0.7, 3.1, 0, -0.4, 0.6, 3.3}, .pbc = {1, 1, 1}};
    for (int i = 0; i < 9; i++) c[k].pos[i] = 3.0 * urand();
    k++;
    /* bulk 2x2x2 conventional fcc, atoms unwrapped by lattice vectors */
    c[k] = (case_t){
        .name = "bulk unwrapped", .n = 32, .cell = {2 * a, 0, 0, 0, 2 * a, 0, 0, 0, 2 * a}, .pbc = {1, 1, 1}};
    static const double basis[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
    for (int i = 0, x = 0; x < 2; x++)
        for (int y = 0; y < 2; y++)
            for (int z = 0; z < 2; z++)
                for (int b = 0; b < 4; b++, i++) {
                    int sh[3] = {(int)(urand() * 5) - 2, (int)(urand() * 3) - 1, 0};
                    c[k].pos[3 * i] = a * (x + basis[b][0]) + 0.1 * urand() + sh[0] * 2 * a;
                    c[k].pos[3 * i + 1] = a * (y + basis[b][1]) + 0.1 * urand() + sh[1] * 2 * a;
                    c[k].pos[3 * i + 2] = a * (z + basis[b][2]) + 0.1 * urand();
                }
    k++;
    /* slab, wire, cluster: random atoms in a box, cell vectors of the open axes ignored */
    const unsigned char pb[3][3] = {{1, 1, 0}, {0, 1, 0}, {0, 0, 0}};
    const char *names[3] = {"slab TTF", "wire FTF", "cluster FFF"};
    for (int t = 0; t < 3; t++, k++) {
        c[k] = (case_t){.name = names[t], .n = 20, .cell = {4.1, 0, 0, 0.9, 3.8, 0, 0, 0, 0}};
        memcpy(c[k].pbc, pb[t], 3);
        for (int i = 0; i < 60; i++) c[k].pos[i] = 6.0 * urand() - 1.0;
    }
    *nc = k;
}

typedef struct nb_t {
    int owner;
    double d[3];
} nb_t;

static int cmp_nb(const void *x, const void *y) {
    const nb_t *a = x, *b = y;
    if (a->owner != b->owner) return a->owner - b->owner;
    for (int c = 0; c < 3; c++)
        if (fabs(a->d[c] - b->d[c]) > 1e-9) return a->d[c] < b->d[c] ? -1 : 1;
    return 0;
}

/* brute force: images (j, N) within rc of atom i (unwrapped positions) */
static int brute(const case_t *c, int i, double rc, nb_t *out) {
    int m = 0, M = 6;
    for (int j = 0; j < c->n; j++)
        for (int n0 = -M; n0 <= M; n0++)
            for (int n1 = -M; n1 <= M; n1++)
                for (int n2 = -M; n2 <= M; n2++) {
                    int N[3] = {n0, n1, n2};
                    int skip = 0;
                    for (int k = 0; k < 3; k++) skip |= !c->pbc[k] && N[k];
                    if (skip || (j == i && !n0 && !n1 && !n2)) continue;
                    double d[3];
                    for (int x = 0; x < 3; x++)
                        d[x] = c->pos[3 * j + x] - c->pos[3 * i + x] + n0 * c->cell[x] + n1 * c->cell[3 + x] +
                               n2 * c->cell[6 + x];
                    if (d[0] * d[0] + d[1] * d[1] + d[2] * d[2] < rc * rc) {
                        out[m].owner = j;
                        memcpy(out[m].d, d, sizeof d);
                        m++;
                    }
                }
    return m;
}

static void check_rows(const case_t *c, const bmd__padded *p, int list, double rc) {
    const bmd__padded_list *L = &p->lists[list];
    nb_t *want = malloc(20000 * sizeof *want), *got = malloc(20000 * sizeof *got);
    for (int i = 0; i < c->n; i++) {
        int nw = brute(c, i, rc, want), ng = 0;
        for (int e = L->start[i]; e < L->start[i + 1]; e++) {
            int q = L->nbr[e];
            assert_true(q != i);
            if (e > L->start[i]) assert_true(q > L->nbr[e - 1]);
            double d[3];
            for (int x = 0; x < 3; x++) d[x] = p->x[3 * q + x] - p->x[3 * i + x];
            if (d[0] * d[0] + d[1] * d[1] + d[2] * d[2] < rc * rc) {
                got[ng].owner = p->owner[q];
                memcpy(got[ng].d, d, sizeof d);
                ng++;
            }
        }
        qsort(want, (size_t)nw, sizeof *want, cmp_nb);
        qsort(got, (size_t)ng, sizeof *got, cmp_nb);
        if (nw != ng) fail_msg("%s: atom %d has %d neighbors within %g, brute force %d", c->name, i, ng, rc, nw);
        for (int k = 0; k < nw; k++) assert_int_equal(cmp_nb(&want[k], &got[k]), 0);
    }
    free(want);
    free(got);
}

static void check_ghost_rows(const bmd__padded *p, int list, double rc) {
    const bmd__padded_list *L = &p->lists[list];
    assert_int_equal(L->n_rows, p->n_total);
    for (int a = 0; a < p->n_total; a++) {
        int cnt = 0;
        for (int q = 0; q < p->n_total; q++) {
            if (q == a) continue;
            double d2 = 0;
            for (int x = 0; x < 3; x++) d2 += (p->x[3 * q + x] - p->x[3 * a + x]) * (p->x[3 * q + x] - p->x[3 * a + x]);
            cnt += d2 < rc * rc;
        }
        int in = 0;
        for (int e = L->start[a]; e < L->start[a + 1]; e++) {
            int q = L->nbr[e];
            double d2 = 0;
            for (int x = 0; x < 3; x++) d2 += (p->x[3 * q + x] - p->x[3 * a + x]) * (p->x[3 * q + x] - p->x[3 * a + x]);
            in += d2 < rc * rc;
        }
        assert_int_equal(in, cnt);
    }
}

static void test_lists_vs_brute_force(void **state) {
    (void)state;
    case_t *cs = calloc(8, sizeof *cs);
    int nc;
    make_cases(cs, &nc);
    bmd__padded_scratch scr = {0};
    for (int k = 0; k < nc; k++) {
        const case_t *c = &cs[k];
        bmd__padded p;
        bmd__padded_init(&p);
        /* list 0: 6 Å atoms only; list 1: 3.2 Å with ghost rows; padding 6.5 Å */
        bmd__padded_spec spec = {.pad = 6.5, .skin = 0.4, .n_lists = 2, .cutoff = {6.0, 3.2}, .ghost_rows = {0, 1}};
        int rb = 0;
        assert_int_equal(bmd__padded_update(&p, &scr, c->n, c->pos, c->cell, c->pbc, &spec, &rb), BMD__NL_OK);
        assert_int_equal(rb, 1);
        check_rows(c, &p, 0, 6.0);
        check_rows(c, &p, 1, 3.2);
        check_ghost_rows(&p, 1, 3.2);
        assert_int_equal(p.lists[0].n_rows, c->n);
        /* the padded particles are the owners plus lattice vectors */
        for (int q = 0; q < p.n_total; q++)
            for (int x = 0; x < 3; x++)
                assert_true(p.x[3 * q + x] == c->pos[3 * p.owner[q] + x] + p.S[3 * q + x]);
        bmd__padded_free(&p);
    }
    bmd__padded_scratch_free(&scr);
    free(cs);
}

static void test_refresh_and_rebuild(void **state) {
    (void)state;
    case_t *cs = calloc(8, sizeof *cs);
    int nc;
    make_cases(cs, &nc);
    case_t *c = &cs[2];
    bmd__padded_scratch scr = {0};
    bmd__padded p;
    bmd__padded_init(&p);
    bmd__padded_spec spec = {.pad = 5.0, .skin = 0.6, .n_lists = 1, .cutoff = {5.0}, .ghost_rows = {0}};
    int rb;
    assert_int_equal(bmd__padded_update(&p, &scr, c->n, c->pos, c->cell, c->pbc, &spec, &rb), BMD__NL_OK);
    int rebuilds = 0;
    for (int step = 1; step <= 12; step++) {
        double m1 = 0, m2 = 0; /* the two largest displacements since the build */
        for (int i = 0; i < 3 * c->n; i++) c->pos[i] += 0.1 * (urand() - 0.5);
        for (int i = 0; i < c->n; i++) {
            double d2 = 0;
            for (int x = 0; x < 3; x++) d2 += pow(c->pos[3 * i + x] - p.nl.ref_pos[3 * i + x], 2);
            if (sqrt(d2) > m1) {
                m2 = m1;
                m1 = sqrt(d2);
            } else if (sqrt(d2) > m2) {
                m2 = sqrt(d2);
            }
        }
        assert_int_equal(bmd__padded_update(&p, &scr, c->n, c->pos, c->cell, c->pbc, &spec, &rb), BMD__NL_OK);
        assert_int_equal(rb, m1 + m2 > 0.6);
        rebuilds += rb;
        check_rows(c, &p, 0, 5.0);
        for (int q = 0; q < p.n_total; q++)
            for (int x = 0; x < 3; x++)
                assert_true(p.x[3 * q + x] == c->pos[3 * p.owner[q] + x] + p.S[3 * q + x]);
    }
    assert_true(rebuilds >= 1 && rebuilds < 12); /* both ways taken */
    c->pos[0] += 0.61; /* beyond the skin */
    assert_int_equal(bmd__padded_update(&p, &scr, c->n, c->pos, c->cell, c->pbc, &spec, &rb), BMD__NL_OK);
    assert_int_equal(rb, 1);
    check_rows(c, &p, 0, 5.0);
    /* fold: ghosts' values add to their owners */
    double *fp = malloc(3 * (size_t)p.n_total * sizeof(double)), *ep = malloc((size_t)p.n_total * sizeof(double));
    double f[3 * 32], e[32], want_e[32] = {0};
    for (int q = 0; q < p.n_total; q++) {
        ep[q] = q + 1.0;
        want_e[p.owner[q]] += q + 1.0;
        for (int x = 0; x < 3; x++) fp[3 * q + x] = 1.0;
    }
    bmd__padded_fold(&p, fp, f);
    bmd__padded_fold_scalar(&p, ep, e);
    double total = 0;
    for (int i = 0; i < c->n; i++) {
        total += f[3 * i];
        assert_true(e[i] == want_e[i]);
    }
    assert_true(total == (double)p.n_total);
    free(fp);
    free(ep);
    /* bad input */
    double bad[3 * 32];
    memcpy(bad, c->pos, sizeof bad);
    bad[4] = NAN;
    assert_int_equal(bmd__padded_update(&p, &scr, c->n, bad, c->cell, c->pbc, &spec, &rb), BMD__NL_BAD_POS);
    double flat[9] = {3, 0, 0, 6, 0, 0, 0, 0, 3};
    assert_int_equal(bmd__padded_update(&p, &scr, c->n, c->pos, flat, c->pbc, &spec, &rb), BMD__NL_BAD_CELL);
    bmd__padded_free(&p);
    bmd__padded_scratch_free(&scr);
    free(cs);
}

static int destroyed;
static void count_destroy(void *o) {
    destroyed++;
    free(o);
}

static void test_slot_cache(void **state) {
    (void)state;
    bmd_batch *b = NULL;
    assert_int_equal(bmd_batch_create(&b), BMD_OK);
    bmd_system s;
    assert_int_equal(bmd_system_alloc(&s, 1), BMD_OK);
    s.Z[0] = 29;
    s.mass[0] = 63.5;
    for (int k = 0; k < 5; k++) assert_int_equal(bmd_batch_append(b, &s, NULL), BMD_OK);
    bmd__slot_cache c = {.destroy = count_destroy};
    assert_int_equal(bmd__slot_cache_sync(&c, b), BMD_OK);
    for (int k = 0; k < 5; k++) {
        assert_null(c.obj[k]);
        c.obj[k] = malloc(sizeof(int64_t));
        *(int64_t *)c.obj[k] = b->uid[k];
    }
    unsigned char rm[5] = {0, 1, 0, 1, 0};
    assert_int_equal(bmd_batch_remove(b, rm), BMD_OK);
    assert_int_equal(bmd_batch_append(b, &s, NULL), BMD_OK);
    assert_int_equal(bmd__slot_cache_sync(&c, b), BMD_OK);
    assert_int_equal(c.n, 4);
    for (int k = 0; k < 3; k++) assert_true(*(int64_t *)c.obj[k] == b->uid[k]);
    assert_non_null(c.obj[3]); /* a pooled object, reused */
    bmd__slot_cache_free(&c);
    assert_int_equal(destroyed, 5);
    bmd_system_free(&s);
    bmd_batch_destroy(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lists_vs_brute_force),
        cmocka_unit_test(test_refresh_and_rebuild),
        cmocka_unit_test(test_slot_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
