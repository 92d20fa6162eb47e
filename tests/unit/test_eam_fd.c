/* test_eam_fd.c — the EAM model (model_eam.h) with each file format (funcfl,
 * setfl, Finnis–Sinclair with asymmetric cross densities), on synthetic
 * potential files written here from smooth analytic functions, on one batch
 * mixing a periodic cell smaller than the cutoff, a periodic supercell with
 * a vacancy and atoms unwrapped by lattice vectors, a slab (T T F) and an
 * open cluster:
 *   - forces = -dE/dx and virial = dE/dε by central finite differences
 *     (the setfl tables stop below the bulk density: F's linear
 *     extrapolation above ρ_max is exercised too);
 *   - energies per atom sum to the energy; forces-only gives the same bits;
 *   - bitwise batch independence: alone vs in the mixed batch (other order,
 *     masks), a list kept over small moves vs a fresh one, 1 vs 2 threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batchmd/batch.h"
#include "batchmd/model.h"
#include "batchmd/model_eam.h"
#ifdef _OPENMP
#include <omp.h>
#endif

#define NSYS 4
#define CU 29
#define NI 28
#define AL 13
static const double SKIN = 0.6, RC = 4.9;

static char dir[64];
static char path_funcfl[128], path_setfl[128], path_fs[128];

/* ---- synthetic potentials: smooth, zero with three derivatives at RC ---- */
static double cutfn(double r) { return r < RC ? pow(1.0 - r / RC, 4) : 0.0; }
/* density contributed by element e at an atom of element t */
static double dens(int e, int t, double r) {
    const double A = 2.0 + 0.6 * e + (e != t ? 0.5 * (t + 1) : 0.0), beta = 1.1 + 0.2 * e;
    return A * exp(-beta * (r - 2.5)) * cutfn(r);
}
static double embed(int e, double rho) { return 0.4 * (1 + 0.3 * e) * rho * rho - (2.5 + 0.5 * e) * rho; }
static double rphi(int a, int b, double r) { /* r * Morse-like φ_ab */
    const double D = 0.3 + 0.05 * (a + b), alpha = 1.4, r0 = 2.6 + 0.05 * (a + b);
    const double e = exp(-alpha * (r - r0));
    return r * D * (e * e - 2 * e) * cutfn(r);
}

static void put_values(FILE *f, int n, double d, int kind, int a, int b) {
    for (int m = 0; m < n; m++) {
        const double x = m * d;
        double v = kind == 0 ? embed(a, x) : kind == 1 ? dens(a, b, x) : kind == 2 ? rphi(a, b, x)
                                                                              : 0.5 * exp(-0.9 * x) * sqrt(cutfn(x));
        fprintf(f, "%.17g%s", v, (m % 5 == 4 || m == n - 1) ? "\n" : " ");
    }
}

static void write_files(void) {
    snprintf(dir, sizeof dir, "/tmp/bmd_eam_fd_XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path_funcfl, sizeof path_funcfl, "%s/Cu_test.eam", dir);
    snprintf(path_setfl, sizeof path_setfl, "%s/CuNi_test.eam.alloy", dir);
    snprintf(path_fs, sizeof path_fs, "%s/NiAl_test.eam.fs", dir);
    const int nr = 1001, nrho = 1001;
    const double dr = 0.005;
    /* funcfl: one element, Z(r) as the pair term */
    FILE *f = fopen(path_funcfl, "w");
    assert_non_null(f);
    fprintf(f, "synthetic Cu for tests\n29 63.546 3.615 FCC\n%d %.17g %d %.17g %.17g\n", nrho, 0.004, nr, dr, RC);
    put_values(f, nrho, 0.004, 0, 0, 0);
    put_values(f, nr, dr, 3, 0, 0);
    put_values(f, nr, dr, 1, 0, 0);
    fclose(f);
    /* setfl: Cu, Ni; ρ table up to 1.0 (below the bulk density: extrapolated) */
    f = fopen(path_setfl, "w");
    assert_non_null(f);
    fprintf(f, "synthetic\nCu Ni\n# for tests\n2 Cu Ni\n%d %.17g %d %.17g %.17g\n", nrho, 0.001, nr, dr, RC);
    for (int e = 0; e < 2; e++) {
        fprintf(f, "%d %.17g 3.6 fcc\n", e ? 28 : 29, e ? 58.69 : 63.546);
        put_values(f, nrho, 0.001, 0, e, 0);
        put_values(f, nr, dr, 1, e, e);
    }
    for (int a = 0; a < 2; a++)
        for (int b = 0; b <= a; b++) put_values(f, nr, dr, 2, a, b);
    fclose(f);
    /* fs: Ni, Al with ρ_{Ni→Al} != ρ_{Al→Ni} */
    f = fopen(path_fs, "w");
    assert_non_null(f);
    fprintf(f, "synthetic\nNi Al\n\n2 Ni Al\n%d %.17g %d %.17g %.17g\n", nrho, 0.005, nr, dr, RC);
    for (int e = 0; e < 2; e++) {
        fprintf(f, "%d %.17g 3.6 fcc\n", e ? 13 : 28, e ? 26.98 : 58.69);
        put_values(f, nrho, 0.005, 0, e, 0);
        for (int t = 0; t < 2; t++) put_values(f, nr, dr, 1, e, t);
    }
    for (int a = 0; a < 2; a++)
        for (int b = 0; b <= a; b++) put_values(f, nr, dr, 2, a, b);
    fclose(f);
}

static void remove_files(void) {
    unlink(path_funcfl);
    unlink(path_setfl);
    unlink(path_fs);
    rmdir(dir);
}

/* ---- structures ---- */
static uint64_t rng_state;
static double urand(void) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static const double FCC[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};

/* species of atom i from the style's pair of elements */
static void make_systems(bmd_system *sys, int za, int zb) {
    rng_state = 777;
    const double a = 3.6;
    /* 0: conventional fcc cell, triclinic, smaller than the cutoff */
    {
        bmd_system *s = &sys[0];
        bmd_system_alloc(s, 4);
        const double cell[9] = {a, 0, 0, 0.2, a, 0, -0.15, 0.1, a};
        memcpy(s->cell, cell, sizeof cell);
        s->pbc[0] = s->pbc[1] = s->pbc[2] = 1;
        for (int i = 0; i < 4; i++) {
            for (int c = 0; c < 3; c++)
                s->pos[3 * i + c] = FCC[i][0] * cell[c] + FCC[i][1] * cell[3 + c] + FCC[i][2] * cell[6 + c] +
                                    0.15 * (urand() - 0.5);
            s->Z[i] = (i % 2) ? zb : za;
        }
    }
    /* 1: 2x2x2 supercell with a vacancy, some atoms unwrapped */
    {
        bmd_system *s = &sys[1];
        bmd_system_alloc(s, 31);
        const double cell[9] = {2 * a, 0, 0, 0, 2 * a, 0, 0.3, 0, 2 * a};
        memcpy(s->cell, cell, sizeof cell);
        s->pbc[0] = s->pbc[1] = s->pbc[2] = 1;
        int i = 0, k = 0;
        for (int x = 0; x < 2; x++)
            for (int y = 0; y < 2; y++)
                for (int z = 0; z < 2; z++)
                    for (int q = 0; q < 4; q++, k++) {
                        if (k == 13) continue; /* the vacancy */
                        const double f[3] = {(x + FCC[q][0]) / 2, (y + FCC[q][1]) / 2, (z + FCC[q][2]) / 2};
                        for (int c = 0; c < 3; c++)
                            s->pos[3 * i + c] =
                                f[0] * cell[c] + f[1] * cell[3 + c] + f[2] * cell[6 + c] + 0.2 * (urand() - 0.5);
                        s->Z[i] = (urand() < 0.4) ? zb : za;
                        i++;
                    }
        for (int c = 0; c < 3; c++) {
            s->pos[3 * 2 + c] += cell[c] - 2 * cell[6 + c];
            s->pos[3 * 20 + c] -= cell[3 + c];
        }
    }
    /* 2: slab T T F, 2x2 cells in plane, 2 cells thick */
    {
        bmd_system *s = &sys[2];
        bmd_system_alloc(s, 24);
        const double cell[9] = {2 * a, 0, 0, 0.5, 2 * a, 0, 0, 0, 0};
        memcpy(s->cell, cell, sizeof cell);
        s->pbc[0] = s->pbc[1] = 1;
        s->pbc[2] = 0;
        int i = 0;
        for (int x = 0; x < 2; x++)
            for (int y = 0; y < 2; y++)
                for (int q = 0; q < 4 && i < 24; q++)
                    for (int z = 0; z < 2 && i < 24; z++) {
                        if (q == 3 && z == 1) continue;
                        for (int c = 0; c < 3; c++)
                            s->pos[3 * i + c] = ((x + FCC[q][0]) / 2) * cell[c] + ((y + FCC[q][1]) / 2) * cell[3 + c] +
                                                0.2 * (urand() - 0.5);
                        s->pos[3 * i + 2] += a * (z + FCC[q][2]) + 5.0;
                        s->Z[i] = (i % 3 == 0) ? zb : za;
                        i++;
                    }
        assert_int_equal(i, 24);
        for (int c = 0; c < 3; c++) s->pos[3 * 7 + c] += cell[c] + cell[3 + c];
    }
    /* 3: open cluster of 13 (a cuboctahedron, jittered) */
    {
        bmd_system *s = &sys[3];
        bmd_system_alloc(s, 13);
        int i = 1;
        for (int c = 0; c < 3; c++) s->pos[c] = 0.1 * (urand() - 0.5) + 30.0;
        for (int p = 0; p < 3; p++)
            for (int sa = -1; sa <= 1; sa += 2)
                for (int sb = -1; sb <= 1; sb += 2, i++) {
                    double v[3] = {0, 0, 0};
                    v[p] = sa * a / 2;
                    v[(p + 1) % 3] = sb * a / 2;
                    for (int c = 0; c < 3; c++) s->pos[3 * i + c] = 30.0 + v[c] + 0.2 * (urand() - 0.5);
                }
        for (int k = 0; k < 13; k++) s->Z[k] = (k % 4 == 1) ? zb : za;
    }
    for (int k = 0; k < NSYS; k++) {
        sys[k].system_id = k;
        for (int i = 0; i < sys[k].n_atoms; i++) sys[k].mass[i] = 1.0;
    }
}

typedef struct style_case {
    const char *name;
    const char *style;
    const char *path;
    int za, zb;
} style_case;

static style_case cases[3];

static int setup(void **state) {
    (void)state;
    write_files();
    cases[0] = (style_case){"funcfl", "eam", path_funcfl, CU, CU};
    cases[1] = (style_case){"setfl", "eam/alloy", path_setfl, CU, NI};
    cases[2] = (style_case){"fs", NULL, path_fs, NI, AL};
    return 0;
}

static int teardown(void **state) {
    (void)state;
    remove_files();
    return 0;
}

static bmd_model *make_model(const style_case *c) {
    bmd_model *m = NULL;
    bmd_status st = bmd_model_eam_create(c->path, c->style, SKIN, &m);
    if (st) fprintf(stderr, "%s\n", bmd_last_error());
    assert_int_equal(st, BMD_OK);
    return m;
}

typedef struct result {
    double *E, *F, *W, *epa;
} result;

static void result_alloc(result *r, const bmd_batch *b) {
    r->E = malloc((size_t)b->n_systems * sizeof(double));
    r->W = malloc(6 * (size_t)b->n_systems * sizeof(double));
    r->F = malloc(3 * (size_t)b->n_atoms * sizeof(double));
    r->epa = malloc((size_t)b->n_atoms * sizeof(double));
}

static void result_free(result *r) {
    free(r->E);
    free(r->F);
    free(r->W);
    free(r->epa);
}

static void compute(bmd_model *m, const bmd_batch *b, const unsigned char *mask, result *r) {
    bmd_compute_request req = {mask, r->E, r->F, r->W, r->epa};
    bmd_status st = bmd_model_compute(m, b, &req);
    if (st) fprintf(stderr, "compute failed: %s\n", bmd_last_error());
    assert_int_equal(st, BMD_OK);
}

static double energy_of(bmd_model *m, const bmd_batch *b, int slot) {
    unsigned char mask[16] = {0};
    double E[16];
    mask[slot] = 1;
    bmd_compute_request req = {mask, E, NULL, NULL, NULL};
    assert_int_equal(bmd_model_compute(m, b, &req), BMD_OK);
    return E[slot];
}

static bmd_batch *make_batch(const bmd_system *sys, const int *which, int n) {
    bmd_batch *b = NULL;
    assert_int_equal(bmd_batch_create(&b), BMD_OK);
    for (int k = 0; k < n; k++) assert_int_equal(bmd_batch_append(b, &sys[which[k]], NULL), BMD_OK);
    return b;
}

static void free_systems(bmd_system *sys) {
    for (int k = 0; k < NSYS; k++) bmd_system_free(&sys[k]);
}

static const int ALL[NSYS] = {0, 1, 2, 3};

static void test_finite_differences(void **state) {
    (void)state;
    const double h = 1e-5, hs = 1e-6;
    for (int c = 0; c < 3; c++) {
        bmd_system sys[NSYS];
        make_systems(sys, cases[c].za, cases[c].zb);
        bmd_model *m = make_model(&cases[c]);
        bmd_batch *b = make_batch(sys, ALL, NSYS);
        result r;
        result_alloc(&r, b);
        compute(m, b, NULL, &r);
        for (int s = 0; s < NSYS; s++) {
            const int n = b->atom_count[s], a0 = b->atom_start[s];
            double fs = 1e-2, esum = 0;
            for (int i = 0; i < 3 * n; i++) fs = fmax(fs, fabs(r.F[3 * a0 + i]));
            for (int i = 0; i < n; i++) esum += r.epa[a0 + i];
            if (fabs(esum - r.E[s]) > 1e-12 * fabs(r.E[s]))
                fail_msg("%s system %d: energies per atom sum to %.17g, E = %.17g", cases[c].name, s, esum, r.E[s]);
            assert_true(fabs(r.E[s]) > 0.1);
            for (int i = 0; i < 3 * n; i++) {
                double *x = &b->pos[3 * a0 + i], x0 = *x;
                *x = x0 + h;
                const double ep = energy_of(m, b, s);
                *x = x0 - h;
                const double em = energy_of(m, b, s);
                *x = x0;
                const double fd = -(ep - em) / (2 * h);
                if (fabs(fd - r.F[3 * a0 + i]) > 1e-6 * fs)
                    fail_msg("%s system %d: F[%d] = %.12g, -dE/dx = %.12g", cases[c].name, s, i, r.F[3 * a0 + i], fd);
            }
            double ws = 1e-2;
            for (int v = 0; v < 6; v++) ws = fmax(ws, fabs(r.W[6 * s + v]));
            static const int va[6] = {0, 1, 2, 1, 0, 0}, vb[6] = {0, 1, 2, 2, 2, 1};
            double *p0 = malloc(3 * (size_t)n * sizeof(double)), cell0[9];
            memcpy(p0, b->pos + 3 * a0, 3 * (size_t)n * sizeof(double));
            memcpy(cell0, b->cell + 9 * s, sizeof cell0);
            for (int v = 0; v < 6; v++) {
                double e[2];
                for (int sg = 0; sg < 2; sg++) {
                    double eps[9] = {0}, d = sg ? -hs : hs;
                    if (va[v] == vb[v]) eps[3 * va[v] + va[v]] = d;
                    else eps[3 * va[v] + vb[v]] = eps[3 * vb[v] + va[v]] = 0.5 * d;
                    for (int i = 0; i < n; i++)
                        for (int k = 0; k < 3; k++) {
                            double acc = p0[3 * i + k];
                            for (int l = 0; l < 3; l++) acc += p0[3 * i + l] * eps[3 * l + k];
                            b->pos[3 * (a0 + i) + k] = acc;
                        }
                    for (int row = 0; row < 3; row++)
                        for (int k = 0; k < 3; k++) {
                            double acc = cell0[3 * row + k];
                            for (int l = 0; l < 3; l++) acc += cell0[3 * row + l] * eps[3 * l + k];
                            b->cell[9 * s + 3 * row + k] = acc;
                        }
                    e[sg] = energy_of(m, b, s);
                }
                memcpy(b->pos + 3 * a0, p0, 3 * (size_t)n * sizeof(double));
                memcpy(b->cell + 9 * s, cell0, sizeof cell0);
                const double fd = (e[0] - e[1]) / (2 * hs);
                if (fabs(fd - r.W[6 * s + v]) > 1e-6 * ws)
                    fail_msg("%s system %d: W[%d] = %.12g, dE/deps = %.12g", cases[c].name, s, v, r.W[6 * s + v], fd);
            }
            free(p0);
        }
        result_free(&r);
        bmd_batch_destroy(b);
        bmd_model_destroy(m);
        free_systems(sys);
    }
}

/* the setfl case extrapolates F above ρ_max for the bulk atoms (the test above
 * covers that branch): make sure it does */
static void test_extrapolation_used(void **state) {
    (void)state;
    bmd_system sys[NSYS];
    make_systems(sys, CU, NI);
    const double rho_bulk = 12 * dens(0, 0, 3.6 / sqrt(2.0)); /* Cu among Cu */
    assert_true(rho_bulk > 1.05); /* the setfl table stops at (1001 - 1) * 0.001 */
    assert_true(rho_bulk < 3.9);  /* inside the funcfl and fs tables */
    free_systems(sys);
}

static int same_bits(const double *a, const double *b, size_t n) { return memcmp(a, b, n * sizeof(double)) == 0; }

static void assert_same_system(const bmd_batch *b, const result *r, int s, const bmd_batch *rb, const result *ref,
                               int t, const char *what) {
    const int n = b->atom_count[s];
    assert_int_equal(n, rb->atom_count[t]);
    const int ok = same_bits(&r->E[s], &ref->E[t], 1) && same_bits(&r->W[6 * s], &ref->W[6 * t], 6) &&
                   same_bits(&r->F[3 * b->atom_start[s]], &ref->F[3 * rb->atom_start[t]], 3 * (size_t)n) &&
                   same_bits(&r->epa[b->atom_start[s]], &ref->epa[rb->atom_start[t]], (size_t)n);
    if (!ok)
        fail_msg("%s: system in slot %d differs from reference slot %d (E %.17g vs %.17g)", what, s, t, r->E[s],
                 ref->E[t]);
}

static void test_bitwise_independence(void **state) {
    (void)state;
    for (int c = 0; c < 3; c++) {
        bmd_system sys[NSYS];
        make_systems(sys, cases[c].za, cases[c].zb);
        bmd_model *m = make_model(&cases[c]);
        bmd_batch *b = make_batch(sys, ALL, NSYS);
        result ref;
        result_alloc(&ref, b);
        compute(m, b, NULL, &ref);
        /* alone, fresh model */
        for (int s = 0; s < NSYS; s++) {
            bmd_model *m1 = make_model(&cases[c]);
            bmd_batch *b1 = make_batch(sys, &s, 1);
            result r1;
            result_alloc(&r1, b1);
            compute(m1, b1, NULL, &r1);
            assert_same_system(b1, &r1, 0, b, &ref, s, cases[c].name);
            /* forces only: the same force bits */
            double *F = malloc(3 * (size_t)b1->n_atoms * sizeof(double));
            bmd_compute_request fo = {NULL, NULL, F, NULL, NULL};
            assert_int_equal(bmd_model_compute(m1, b1, &fo), BMD_OK);
            assert_true(same_bits(F, r1.F, 3 * (size_t)b1->n_atoms));
            /* one system, built once; the second call (same positions) reuses it */
            assert_int_equal(bmd_model_list_builds(m1), 1);
            free(F);
            result_free(&r1);
            bmd_batch_destroy(b1);
            bmd_model_destroy(m1);
        }
        /* another order, twice over, with a mask */
        {
            const int order[8] = {3, 1, 2, 0, 2, 3, 0, 1};
            bmd_batch *b2 = make_batch(sys, order, 8);
            result r2;
            result_alloc(&r2, b2);
            for (int i = 0; i < 8; i++) r2.E[i] = -777.0;
            const unsigned char mask[8] = {1, 1, 0, 1, 1, 1, 0, 1};
            compute(m, b2, mask, &r2);
            for (int i = 0; i < 8; i++) {
                if (mask[i]) assert_same_system(b2, &r2, i, b, &ref, order[i], "mixed batch");
                else assert_true(r2.E[i] == -777.0);
            }
#ifdef _OPENMP
            const int saved = omp_get_max_threads();
            for (int nt = 1; nt <= 2; nt++) {
                omp_set_num_threads(nt);
                bmd_model *mt = make_model(&cases[c]);
                compute(mt, b2, NULL, &r2);
                for (int i = 0; i < 8; i++) assert_same_system(b2, &r2, i, b, &ref, order[i], "threads");
                bmd_model_destroy(mt);
            }
            omp_set_num_threads(saved);
#endif
            result_free(&r2);
            bmd_batch_destroy(b2);
        }
        /* small moves: the kept list and a fresh one give the same bits */
        {
            bmd_batch *b3 = make_batch(sys, ALL, NSYS);
            result r3, r4;
            result_alloc(&r3, b3);
            result_alloc(&r4, b3);
            compute(m, b3, NULL, &r3);
            rng_state = 99;
            for (int i = 0; i < 3 * b3->n_atoms; i++) b3->pos[i] += 0.24 * SKIN * (urand() - 0.5);
            compute(m, b3, NULL, &r3);
            bmd_model *m4 = make_model(&cases[c]);
            compute(m4, b3, NULL, &r4);
            for (int s = 0; s < NSYS; s++) assert_same_system(b3, &r3, s, b3, &r4, s, "kept list vs fresh");
            bmd_model_destroy(m4);
            result_free(&r3);
            result_free(&r4);
            bmd_batch_destroy(b3);
        }
        result_free(&ref);
        bmd_batch_destroy(b);
        bmd_model_destroy(m);
        free_systems(sys);
    }
}

/* the three files describe the same kind of crystal: energies are sane
 * (bound, per atom of order eV) and the info is right */
static void test_info(void **state) {
    (void)state;
    const char *styles[3] = {"eam", "eam/alloy", "eam/fs"};
    const int n_el[3] = {1, 2, 2}, z0[3] = {CU, CU, NI}, z1[3] = {0, NI, AL};
    for (int c = 0; c < 3; c++) {
        bmd_model *m = make_model(&cases[c]);
        bmd_eam_info info;
        assert_int_equal(bmd_model_eam_info(m, &info), BMD_OK);
        assert_string_equal(info.style, styles[c]);
        assert_int_equal(info.n_elements, n_el[c]);
        assert_int_equal(info.z[0], z0[c]);
        if (n_el[c] > 1) assert_int_equal(info.z[1], z1[c]);
        assert_true(info.cutoff == RC);
        assert_true(m->ops->cutoff(m->self) == RC);
        bmd_model_destroy(m);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_info),
        cmocka_unit_test(test_extrapolation_used),
        cmocka_unit_test(test_finite_differences),
        cmocka_unit_test(test_bitwise_independence),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
