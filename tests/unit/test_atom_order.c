/* test_atom_order.c — the spatial atom order of neighbor/atom_order.h and
 * the pair models' computation through it, on a batch of atoms in scrambled
 * order (a shuffled, rattled two-species triclinic crystal with atoms
 * unwrapped several cells away, a slab, and a crystal of 4,116 atoms that
 * takes the split-over-threads path):
 *   - images pack into one double and back exactly;
 *   - the order is a permutation, its images bring every atom into the cell
 *     (checked through an inverse cell computed here), and it is spatial:
 *     consecutive atoms in the order are far closer than in the input;
 *   - energy, forces, virial and energy per atom computed in the order equal
 *     those computed in the batch's order (which test_pair_fd checks against
 *     brute force) to rounding, with 1 and 2 threads; forces are -dE/dx of
 *     the ordered computation by central differences;
 *   - a new order (a new version) rebuilds the lists, even when the atoms
 *     did not move; dropping the order gives back the batch-order bits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batchmd/batch.h"
#include "batchmd/model.h"
#include "models/pair.h"
#include "neighbor/atom_order.h"
#ifdef _OPENMP
#include <omp.h>
#endif

#define AR 18
#define KR 36
#define NSYS 3

static const bmd_pair_params pairs[] = {
    {AR, AR, {0.0104, 3.40, 0}, 8.0},
    {KR, KR, {0.0140, 3.65, 0}, 8.5},
    {AR, KR, {0.0121, 3.52, 0}, 7.0},
};

static uint64_t rng_state = 777;
static double urand(void) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* nc0 x nc1 x nc2 fcc cells of the lattice `cell` (whole-crystal rows), rattled,
 * atoms shuffled, every 7th atom moved by a random lattice vector */
static void crystal(bmd_system *s, const double *cell, const int *nc, const unsigned char *pbc, int two_species) {
    static const double base[4][3] = {{0, 0, 0}, {.5, .5, 0}, {.5, 0, .5}, {0, .5, .5}};
    int n = 4 * nc[0] * nc[1] * nc[2];
    assert_int_equal(bmd_system_alloc(s, n), BMD_OK);
    memcpy(s->cell, cell, sizeof s->cell);
    memcpy(s->pbc, pbc, 3);
    int i = 0;
    for (int x = 0; x < nc[0]; x++)
        for (int y = 0; y < nc[1]; y++)
            for (int z = 0; z < nc[2]; z++)
                for (int q = 0; q < 4; q++, i++) {
                    double f[3] = {(x + base[q][0]) / nc[0], (y + base[q][1]) / nc[1], (z + base[q][2]) / nc[2]};
                    for (int c = 0; c < 3; c++)
                        s->pos[3 * i + c] = f[0] * cell[c] + f[1] * cell[3 + c] + f[2] * cell[6 + c] +
                                            0.3 * (urand() - 0.5);
                    s->Z[i] = two_species && (i % 3 == 0) ? KR : AR;
                    s->mass[i] = 40.0;
                }
    for (int k = n - 1; k > 0; k--) { /* Fisher-Yates */
        int r = (int)(urand() * (k + 1));
        for (int c = 0; c < 3; c++) {
            double t = s->pos[3 * k + c];
            s->pos[3 * k + c] = s->pos[3 * r + c];
            s->pos[3 * r + c] = t;
        }
        int z = s->Z[k];
        s->Z[k] = s->Z[r];
        s->Z[r] = z;
    }
    for (int k = 0; k < n; k += 7)
        for (int a = 0; a < 3; a++) {
            if (!pbc[a]) continue;
            int m = (int)(urand() * 5) - 2;
            for (int c = 0; c < 3; c++) s->pos[3 * k + c] += m * cell[3 * a + c];
        }
}

static bmd_batch *make_batch(void) {
    bmd_system sys[NSYS];
    memset(sys, 0, sizeof sys);
    rng_state = 777;
    const double a = 5.6;
    const double tri[9] = {6 * a, 0, 0, 1.3, 6 * a, 0, -0.9, 1.1, 5 * a};
    const int n0[3] = {6, 6, 5};
    const unsigned char ppp[3] = {1, 1, 1}, ppf[3] = {1, 1, 0};
    crystal(&sys[0], tri, n0, ppp, 1);
    const double slab[9] = {5 * a, 0, 0, 0, 5 * a, 0, 0, 0, 4 * a};
    const int n1[3] = {5, 5, 4};
    crystal(&sys[1], slab, n1, ppf, 0);
    const double big[9] = {7 * a, 0, 0, 0, 7 * a, 0, 0, 0, 21 * a};
    const int n2[3] = {7, 7, 21}; /* 4,116 atoms: pair.c's split path with threads */
    crystal(&sys[2], big, n2, ppp, 0);
    bmd_batch *b = NULL;
    assert_int_equal(bmd_batch_create(&b), BMD_OK);
    for (int s = 0; s < NSYS; s++) {
        assert_int_equal(bmd_batch_append(b, &sys[s], NULL), BMD_OK);
        bmd_system_free(&sys[s]);
    }
    return b;
}

typedef struct result {
    double e[NSYS], w[6 * NSYS];
    double *f, *epa;
} result;

static void compute(bmd_model *m, bmd_batch *b, result *r) {
    r->f = realloc(r->f, 3 * (size_t)b->n_atoms * sizeof(double));
    r->epa = realloc(r->epa, (size_t)b->n_atoms * sizeof(double));
    bmd_compute_request req = {NULL, r->e, r->f, r->w, r->epa};
    assert_int_equal(bmd_model_compute(m, b, &req), BMD_OK);
}

static void assert_close(const result *a, const result *b, int n_atoms, double tol) {
    for (int s = 0; s < NSYS; s++) {
        assert_true(fabs(a->e[s] - b->e[s]) <= tol * (1 + fabs(a->e[s])));
        for (int c = 0; c < 6; c++) assert_true(fabs(a->w[6 * s + c] - b->w[6 * s + c]) <= tol * (1 + fabs(a->w[6 * s + c])));
    }
    for (int i = 0; i < 3 * n_atoms; i++) assert_true(fabs(a->f[i] - b->f[i]) <= tol * (1 + fabs(a->f[i])));
    for (int i = 0; i < n_atoms; i++) assert_true(fabs(a->epa[i] - b->epa[i]) <= tol * (1 + fabs(a->epa[i])));
}

static int same_bits(const result *a, const result *b, int n_atoms) {
    return !memcmp(a->e, b->e, sizeof a->e) && !memcmp(a->w, b->w, sizeof a->w) &&
           !memcmp(a->f, b->f, 3 * (size_t)n_atoms * sizeof(double)) &&
           !memcmp(a->epa, b->epa, (size_t)n_atoms * sizeof(double));
}

/* the order columns, filled for every system (version v) */
static void set_order(bmd_batch *b, double v) {
    int co, cv;
    assert_int_equal(bmd_batch_column(b, BMD__ORDER_COLUMN, 1, 2, &co), BMD_OK);
    assert_int_equal(bmd_batch_column(b, BMD__ORDER_VERSION_COLUMN, 0, 1, &cv), BMD_OK);
    for (int s = 0; s < b->n_systems; s++) {
        double *ord = bmd_batch_column_data(b, co) + 2 * (size_t)b->atom_start[s];
        assert_int_equal(bmd__order_atoms(b->atom_count[s], b->pos + 3 * (size_t)b->atom_start[s],
                                          b->cell + 9 * (size_t)s, b->pbc + 3 * (size_t)s, 4.0, ord),
                         0);
        bmd_batch_column_data(b, cv)[s] = v;
    }
}

static void inverse(const double *m, double *inv) { /* rows a, b, c -> f = p inv (f_k = sum_c p_c inv[3c+k]) */
    double det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) +
                 m[2] * (m[3] * m[7] - m[4] * m[6]);
    inv[0] = (m[4] * m[8] - m[5] * m[7]) / det;
    inv[1] = (m[2] * m[7] - m[1] * m[8]) / det;
    inv[2] = (m[1] * m[5] - m[2] * m[4]) / det;
    inv[3] = (m[5] * m[6] - m[3] * m[8]) / det;
    inv[4] = (m[0] * m[8] - m[2] * m[6]) / det;
    inv[5] = (m[2] * m[3] - m[0] * m[5]) / det;
    inv[6] = (m[3] * m[7] - m[4] * m[6]) / det;
    inv[7] = (m[1] * m[6] - m[0] * m[7]) / det;
    inv[8] = (m[0] * m[4] - m[1] * m[3]) / det;
}

static void test_order_is_a_spatial_permutation(void **state) {
    (void)state;
    bmd_batch *b = make_batch();
    for (int s = 0; s < b->n_systems; s++) {
        const int n = b->atom_count[s];
        const double *pos = b->pos + 3 * (size_t)b->atom_start[s], *cell = b->cell + 9 * (size_t)s;
        const unsigned char *pbc = b->pbc + 3 * (size_t)s;
        double *ord = calloc(2 * (size_t)n, sizeof(double)), inv[9];
        char *seen = calloc((size_t)n, 1);
        assert_int_equal(bmd__order_atoms(n, pos, cell, pbc, 4.0, ord), 0);
        inverse(cell, inv);
        double wrapped[3 * 4200];
        assert_true(n <= 4200);
        for (int k = 0; k < n; k++) {
            double o[4] = {ord[2 * k], 0, 0, 0};
            bmd__order_images(ord[2 * k + 1], o + 1);
            assert_true(o[0] >= 1 && o[0] <= n && o[0] == floor(o[0]));
            for (int a = 1; a < 4; a++) assert_true(o[a] == floor(o[a]) && fabs(o[a]) < 100);
            int j = (int)o[0] - 1;
            assert_false(seen[j]);
            seen[j] = 1;
            for (int d = 0; d < 3; d++)
                wrapped[3 * k + d] = pos[3 * j + d] - ((o[1] * cell[d] + o[2] * cell[3 + d]) + o[3] * cell[6 + d]);
            for (int a = 0; a < 3; a++) {
                double f = wrapped[3 * k] * inv[a] + wrapped[3 * k + 1] * inv[3 + a] + wrapped[3 * k + 2] * inv[6 + a];
                if (pbc[a]) {
                    assert_true(f > -1e-9 && f < 1 + 1e-9);
                } else {
                    assert_true(o[1 + a] == 0);
                }
            }
        }
        /* spatial: mean distance between consecutive atoms, ordered vs input */
        double d_ord = 0, d_in = 0;
        for (int k = 1; k < n; k++) {
            double x = 0, y = 0;
            for (int d = 0; d < 3; d++) {
                x += pow(wrapped[3 * k + d] - wrapped[3 * (k - 1) + d], 2);
                y += pow(pos[3 * k + d] - pos[3 * (k - 1) + d], 2);
            }
            d_ord += sqrt(x);
            d_in += sqrt(y);
        }
        assert_true(d_ord < 0.4 * d_in);
        free(ord);
        free(seen);
    }
    bmd_batch_destroy(b);
}

/* images survive their packing into one double exactly, at the limits too */
static void test_image_packing(void **state) {
    (void)state;
    const int v[] = {-(BMD__ORDER_IMAGE_MAX - 1), -65000, -2, -1, 0, 1, 3, 40000, BMD__ORDER_IMAGE_MAX - 1};
    const int nv = (int)(sizeof v / sizeof v[0]);
    for (int a = 0; a < nv; a++)
        for (int b2 = 0; b2 < nv; b2++)
            for (int c = 0; c < nv; c++) {
                int img[3] = {v[a], v[b2], v[c]};
                double back[3];
                bmd__order_images(bmd__order_pack_images(img), back);
                for (int k = 0; k < 3; k++) assert_true(back[k] == (double)img[k]);
            }
}

static bmd_model *make_model(void) {
    bmd_pair_options opt = {0.7, 0, 0};
    bmd_model *m = NULL;
    assert_int_equal(bmd_model_lj_create(pairs, 3, &opt, &m), BMD_OK);
    return m;
}

static void run_equal_case(int threads) {
#ifdef _OPENMP
    int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
#else
    (void)threads;
#endif
    bmd_batch *b = make_batch();
    bmd_model *plain = make_model(), *m = make_model();
    result ref = {0}, got = {0}, again = {0};
    compute(plain, b, &ref);
    set_order(b, 1);
    compute(m, b, &got);
    assert_close(&ref, &got, b->n_atoms, 1e-11);
    assert_false(same_bits(&ref, &got, b->n_atoms)); /* (else the order was not used) */
    long builds = bmd_model_list_builds(m);
    /* the same order again: no rebuild, same bits */
    compute(m, b, &again);
    assert_true(same_bits(&got, &again, b->n_atoms));
    assert_int_equal(bmd_model_list_builds(m), builds);
    /* a new order (reversed places, version 2) at the same positions: rebuilt */
    int co = bmd_batch_find_column(b, BMD__ORDER_COLUMN), cv = bmd_batch_find_column(b, BMD__ORDER_VERSION_COLUMN);
    for (int s = 0; s < b->n_systems; s++) {
        double *ord = bmd_batch_column_data(b, co) + 2 * (size_t)b->atom_start[s];
        for (int k = 0, l = b->atom_count[s] - 1; k < l; k++, l--)
            for (int c = 0; c < 2; c++) {
                double t = ord[2 * k + c];
                ord[2 * k + c] = ord[2 * l + c];
                ord[2 * l + c] = t;
            }
        bmd_batch_column_data(b, cv)[s] = 2;
    }
    compute(m, b, &again);
    assert_int_equal(bmd_model_list_builds(m), builds + NSYS);
    assert_close(&ref, &again, b->n_atoms, 1e-11);
    /* dropped (order 0, version 3): the batch order's bits */
    for (int s = 0; s < b->n_systems; s++) {
        memset(bmd_batch_column_data(b, co) + 2 * (size_t)b->atom_start[s], 0,
               2 * (size_t)b->atom_count[s] * sizeof(double));
        bmd_batch_column_data(b, cv)[s] = 3;
    }
    compute(m, b, &again);
    assert_true(same_bits(&ref, &again, b->n_atoms));
    free(ref.f), free(ref.epa), free(got.f), free(got.epa), free(again.f), free(again.epa);
    bmd_model_destroy(plain);
    bmd_model_destroy(m);
    bmd_batch_destroy(b);
#ifdef _OPENMP
    omp_set_num_threads(saved);
#endif
}

static void test_ordered_equals_batch_order_1_thread(void **state) {
    (void)state;
    run_equal_case(1);
}

static void test_ordered_equals_batch_order_2_threads(void **state) {
    (void)state;
    run_equal_case(2);
}

/* forces of the ordered computation = -dE/dx (central differences, h 1e-5 Å) */
static void test_ordered_forces_are_the_gradient(void **state) {
    (void)state;
    bmd_batch *b = make_batch();
    bmd_model *m = make_model();
    set_order(b, 1);
    result r = {0}, p = {0};
    compute(m, b, &r);
    const double h = 1e-5;
    for (int s = 0; s < 2; s++)
        for (int t = 0; t < 12; t++) {
            int i = b->atom_start[s] + (t * 37) % b->atom_count[s], c = t % 3;
            double x0 = b->pos[3 * i + c], e[2];
            for (int k = 0; k < 2; k++) {
                b->pos[3 * i + c] = x0 + (k ? -h : h);
                compute(m, b, &p);
                e[k] = p.e[s];
            }
            b->pos[3 * i + c] = x0;
            double fd = -(e[0] - e[1]) / (2 * h);
            assert_true(fabs(fd - r.f[3 * i + c]) <= 1e-6 * (1 + fabs(fd)));
        }
    free(r.f), free(r.epa), free(p.f), free(p.epa);
    bmd_model_destroy(m);
    bmd_batch_destroy(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_image_packing),
        cmocka_unit_test(test_order_is_a_spatial_permutation),
        cmocka_unit_test(test_ordered_equals_batch_order_1_thread),
        cmocka_unit_test(test_ordered_equals_batch_order_2_threads),
        cmocka_unit_test(test_ordered_forces_are_the_gradient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
