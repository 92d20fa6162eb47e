/* test_models_strain.c — models whose neighbor lists are kept over cell
 * changes (src/neighbor/neighbor.h, padded.h): a batch of a cubic cell, a
 * triclinic cell, a slab (T T F, its open axis's cell vector changed too,
 * which must be ignored) and a triclinic cell smaller than the cutoff (atoms
 * meet their own images) goes through steps of a small random strain
 * (isotropic, anisotropic, shear, general; ~1e-3 per step; the slab's only
 * in its plane), positions scaled with the cell as a barostat does, plus
 * small random displacements. After every step one model object that kept
 * its lists gives the same bits (memcmp) of energy, forces and virial as a
 * model created afresh on the same batch, and its lists were rebuilt far
 * fewer times than there were steps (counted by bmd_model_list_builds):
 *   - lj (half pair lists);
 *   - eam (setfl, two elements, synthetic smooth tables written here);
 *   - kim (the padded ghost set of KIM models): EAM_Dynamo Cu, and
 *     Stillinger-Weber Si (three-body) when the build has the KIM API.
 * The numbers compared come from a fresh model, so they test the kept
 * lists against a build from scratch; forces themselves are checked
 * against finite differences in test_pair_fd, test_eam_fd and kim_fd_test. */
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
#include "batchmd/model_kim.h"

#define NSYS 4
#define STEPS 40

static uint64_t rng_state;
static double urand(void) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}
static double srand1(void) { return 2.0 * urand() - 1.0; }

static const double FCC[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};

/* x <- x (I + E) for the n rows of x */
static void deform(double *x, int n, const double *E) {
    for (int i = 0; i < n; i++) {
        const double p[3] = {x[3 * i], x[3 * i + 1], x[3 * i + 2]};
        for (int c = 0; c < 3; c++) x[3 * i + c] = p[c] + (p[0] * E[c] + p[1] * E[3 + c] + p[2] * E[6 + c]);
    }
}

/* nc[0] x nc[1] x nc[2] conventional fcc cells of side a, sheared by T
 * (positions and cell), atoms displaced by up to jitter Å; species za, or
 * za / zb at random */
static void fcc_system(bmd_system *s, const int *nc, double a, const double *T, const unsigned char *pbc,
                       double jitter, int za, int zb) {
    const int n = 4 * nc[0] * nc[1] * nc[2];
    assert_int_equal(bmd_system_alloc(s, n), BMD_OK);
    double cell[9] = {nc[0] * a, 0, 0, 0, nc[1] * a, 0, 0, 0, nc[2] * a};
    int i = 0;
    for (int x = 0; x < nc[0]; x++)
        for (int y = 0; y < nc[1]; y++)
            for (int z = 0; z < nc[2]; z++)
                for (int b = 0; b < 4; b++, i++) {
                    s->pos[3 * i] = a * (x + FCC[b][0] + 0.25) + jitter * srand1();
                    s->pos[3 * i + 1] = a * (y + FCC[b][1] + 0.25) + jitter * srand1();
                    s->pos[3 * i + 2] = a * (z + FCC[b][2] + 0.25) + jitter * srand1();
                    s->Z[i] = urand() < 0.5 ? za : zb;
                    s->mass[i] = 63.5;
                }
    deform(s->pos, n, T);
    deform(cell, 3, T);
    memcpy(s->cell, cell, sizeof cell);
    memcpy(s->pbc, pbc, 3);
}

/* the batch of the four systems (lattice constant a Å, atoms displaced
 * by up to jitter Å, species za/zb) */
static bmd_batch *make_batch(double a, double jitter, int za, int zb) {
    rng_state = 2024;
    bmd_batch *b = NULL;
    assert_int_equal(bmd_batch_create(&b), BMD_OK);
    const unsigned char ppp[3] = {1, 1, 1}, ppf[3] = {1, 1, 0};
    const double I0[9] = {0}, shear[9] = {0, 0, 0, 0.2, 0, 0, -0.15, 0.1, 0};
    const int n3[3] = {3, 3, 3}, slab[3] = {3, 3, 2}, one[3] = {1, 1, 1};
    bmd_system s[NSYS];
    fcc_system(&s[0], n3, a, I0, ppp, jitter, za, zb);
    fcc_system(&s[1], n3, a, shear, ppp, jitter, za, zb);
    fcc_system(&s[2], slab, a, I0, ppf, jitter, za, zb);
    fcc_system(&s[3], one, a, shear, ppp, jitter, za, zb);
    for (int k = 0; k < NSYS; k++) {
        assert_int_equal(bmd_batch_append(b, &s[k], NULL), BMD_OK);
        bmd_system_free(&s[k]);
    }
    return b;
}

/* one step: a small strain of kind step % 4 on every system (the slab's in
 * its plane, its open cell vector stretched as well) plus bias on the
 * diagonal, positions with it, then displacements of up to dx Å */
static void strain_step(bmd_batch *b, int step, double eps, double bias, double dx) {
    for (int s = 0; s < b->n_systems; s++) {
        double E[9] = {0};
        const double d = eps * srand1();
        switch (step % 4) {
        case 0: E[0] = E[4] = E[8] = d; break;                                   /* isotropic */
        case 1: for (int k = 0; k < 3; k++) E[4 * k] = eps * srand1(); break; /* anisotropic */
        case 2: E[1] = E[3] = d; E[5] = E[7] = 0.5 * d; break;                  /* shear */
        default: for (int k = 0; k < 9; k++) E[k] = eps * srand1(); break;     /* general */
        }
        for (int k = 0; k < 3; k++) E[4 * k] += bias;
        const unsigned char *pbc = b->pbc + 3 * s;
        for (int k = 0; k < 3; k++)
            if (!pbc[k])
                for (int c = 0; c < 3; c++) E[3 * k + c] = E[3 * c + k] = 0.0; /* a barostat leaves an open axis */
        double *cell = b->cell + 9 * s, *x = b->pos + 3 * (size_t)b->atom_start[s];
        deform(cell, 3, E);
        deform(x, b->atom_count[s], E);
        for (int k = 0; k < 3; k++)
            if (!pbc[k])
                for (int c = 0; c < 3; c++) cell[3 * k + c] *= 1.01; /* ignored by the lists and the models */
        for (int i = 0; i < 3 * b->atom_count[s]; i++) x[i] += dx * srand1();
    }
}

typedef struct out_t {
    double *E, *F, *W;
} out_t;

static void compute(bmd_model *m, const bmd_batch *b, out_t *o) {
    memset(o->E, 0, NSYS * sizeof(double));
    memset(o->F, 0, 3 * (size_t)b->n_atoms * sizeof(double));
    memset(o->W, 0, 6 * NSYS * sizeof(double));
    bmd_compute_request req = {NULL, o->E, o->F, o->W, NULL};
    assert_int_equal(bmd_model_compute(m, b, &req), BMD_OK);
}

typedef bmd_model *(*make_fn)(void);

/* a run: steps of strain eps (plus bias on the diagonal) and displacements
 * dx Å, kick Å instead at every 14th step (0: none); the kept lists'
 * rebuilds must be within [min_rb, max_rb] */
typedef struct run_t {
    int steps;
    double jitter; /* Å, of the atoms off their lattice sites at the start */
    double eps, bias, dx, kick;
    long min_rb, max_rb;
} run_t;

/* the kept model against fresh ones over the steps of r */
static void run_kept_vs_fresh(const char *what, make_fn make, double a, int za, int zb, run_t r) {
    bmd_batch *b = make_batch(a, r.jitter, za, zb);
    bmd_model *kept = make();
    out_t k = {calloc(NSYS, 8), calloc(3 * (size_t)b->n_atoms, 8), calloc(6 * NSYS, 8)};
    out_t f = {calloc(NSYS, 8), calloc(3 * (size_t)b->n_atoms, 8), calloc(6 * NSYS, 8)};
    compute(kept, b, &k);
    const long first = bmd_model_list_builds(kept);
    assert_int_equal(first, NSYS);
    double fmax = 0.0;
    for (int step = 1; step <= r.steps; step++) {
        strain_step(b, step, r.eps, r.bias, r.kick > 0 && step % 14 == 0 ? r.kick : r.dx);
        compute(kept, b, &k);
        bmd_model *fresh = make();
        compute(fresh, b, &f);
        assert_int_equal(bmd_model_list_builds(fresh), NSYS);
        bmd_model_destroy(fresh);
        for (int s = 0; s < NSYS; s++) assert_true(isfinite(k.E[s]) && k.E[s] != 0.0);
        for (int i = 0; i < 3 * b->n_atoms; i++) fmax = fabs(k.F[i]) > fmax ? fabs(k.F[i]) : fmax;
        if (memcmp(k.E, f.E, NSYS * sizeof(double)) || memcmp(k.W, f.W, 6 * NSYS * sizeof(double)) ||
            memcmp(k.F, f.F, 3 * (size_t)b->n_atoms * sizeof(double)))
            fail_msg("%s, step %d: the kept lists' energy/forces/virial differ from a fresh model's (E %.17g vs "
                     "%.17g)", what, step, k.E[0], f.E[0]);
    }
    const long rebuilds = bmd_model_list_builds(kept) - first;
    printf("%s: %d steps x %d systems, %ld rebuilds of the kept lists (a rebuild per changed cell: %d); "
           "max |F| %.3g eV/A\n", what, r.steps, NSYS, rebuilds, r.steps * NSYS, fmax);
    assert_true(fmax > 1e-3); /* the forces compared are not all zero */
    assert_true(rebuilds >= r.min_rb && rebuilds <= r.max_rb);
    bmd_model_destroy(kept);
    free(k.E);
    free(k.F);
    free(k.W);
    free(f.E);
    free(f.F);
    free(f.W);
    bmd_batch_destroy(b);
}

/* ~1e-3 per step, random: lists rebuilt by the kicks (twice per system)
 * and hardly otherwise, instead of once per step and system */
static const run_t RANDOM = {.steps = 40, .jitter = 0.05, .eps = 1e-3, .dx = 0.01, .kick = 0, .min_rb = 2 * NSYS,
                             .max_rb = 40 * NSYS / 10};
/* 1 % compression per step of disordered atoms (distances of every
 * length): the deformation brings pairs in from beyond cutoff + skin within
 * a few steps, which the lists must notice */
static const run_t COMPRESS = {.steps = 12, .jitter = 0.3, .eps = 1e-3, .bias = -0.01, .dx = 0.02, .min_rb = NSYS,
                               .max_rb = 12 * NSYS / 2};

static run_t with_kick(run_t r, double kick) {
    r.kick = kick;
    return r;
}

/* ---- lj ---- */
static bmd_model *make_lj(void) {
    bmd_pair_params p = {.z1 = 0, .z2 = 0, .p = {0.2, 2.27, 0}, .cutoff = 5.0};
    bmd_pair_options o = {.skin = 0.5, .shift = 1, .has_default = 1};
    bmd_model *m = NULL;
    assert_int_equal(bmd_model_lj_create(&p, 1, &o, &m), BMD_OK);
    return m;
}

static void test_lj(void **state) {
    (void)state;
    run_kept_vs_fresh("lj", make_lj, 3.6, 18, 18, with_kick(RANDOM, 0.3));
    run_kept_vs_fresh("lj, compressed", make_lj, 3.6, 18, 18, COMPRESS);
}

/* ---- eam: a synthetic Cu/Ni setfl, smooth and zero with three derivatives at RC ---- */
#define RC 4.9
static char dir[64], path_setfl[128];
static double cutfn(double r) { return r < RC ? pow(1.0 - r / RC, 4) : 0.0; }
static void put_values(FILE *f, int n, double d, int kind, int a, int b) {
    for (int m = 0; m < n; m++) {
        const double x = m * d;
        double v;
        if (kind == 0) {
            v = 0.4 * (1 + 0.3 * a) * x * x - (2.5 + 0.5 * a) * x; /* F(rho) */
        } else if (kind == 1) {
            v = (2.0 + 0.6 * a) * exp(-(1.1 + 0.2 * a) * (x - 2.5)) * cutfn(x); /* rho(r) */
        } else {
            const double D = 0.3 + 0.05 * (a + b), e = exp(-1.4 * (x - 2.6 - 0.05 * (a + b)));
            v = x * D * (e * e - 2 * e) * cutfn(x); /* r phi(r) */
        }
        fprintf(f, "%.17g%s", v, (m % 5 == 4 || m == n - 1) ? "\n" : " ");
    }
}

static void write_setfl(void) {
    snprintf(dir, sizeof dir, "/tmp/bmd_strain_XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path_setfl, sizeof path_setfl, "%s/CuNi_test.eam.alloy", dir);
    const int nr = 1001, nrho = 1001;
    FILE *f = fopen(path_setfl, "w");
    assert_non_null(f);
    fprintf(f, "synthetic\nCu Ni\n# for tests\n2 Cu Ni\n%d %.17g %d %.17g %.17g\n", nrho, 0.01, nr, 0.005, RC);
    for (int e = 0; e < 2; e++) {
        fprintf(f, "%d %.17g 3.6 fcc\n", e ? 28 : 29, e ? 58.69 : 63.546);
        put_values(f, nrho, 0.01, 0, e, 0);
        put_values(f, nr, 0.005, 1, e, e);
    }
    for (int a = 0; a < 2; a++)
        for (int b = 0; b <= a; b++) put_values(f, nr, 0.005, 2, a, b);
    fclose(f);
}

static bmd_model *make_eam(void) {
    bmd_model *m = NULL;
    assert_int_equal(bmd_model_eam_create(path_setfl, "eam/alloy", 0.6, &m), BMD_OK);
    return m;
}

static void test_eam(void **state) {
    (void)state;
    write_setfl();
    run_kept_vs_fresh("eam", make_eam, 3.6, 29, 28, with_kick(RANDOM, 0.35));
    run_kept_vs_fresh("eam, compressed", make_eam, 3.6, 29, 28, COMPRESS);
    unlink(path_setfl);
    rmdir(dir);
}

/* ---- kim ---- */
static const char *kim_name;
static bmd_model *make_kim(void) {
    bmd_model *m = NULL;
    if (bmd_model_kim_create(kim_name, 0.8, &m)) fail_msg("KIM model %s: %s", kim_name, bmd_last_error());
    return m;
}

static void test_kim(void **state) {
    (void)state;
#ifdef BMD_TEST_HAVE_KIM
    assert_int_equal(bmd_kim_available(), 1);
    kim_name = "EAM_Dynamo_MendelevKing_2013_Cu__MO_748636486270_005";
    run_kept_vs_fresh("kim EAM_Dynamo Cu", make_kim, 3.615, 29, 29, with_kick(RANDOM, 0.45));
    run_kept_vs_fresh("kim EAM_Dynamo Cu, compressed", make_kim, 3.615, 29, 29, COMPRESS);
    kim_name = "SW_StillingerWeber_1985_Si__MO_405512056662_005";
    run_kept_vs_fresh("kim SW Si", make_kim, 3.32, 14, 14, with_kick(RANDOM, 0.45));
#else
    /* built without the KIM API: the padded sets are tested by
     * test_nlist_strain without it; here the model must refuse */
    bmd_model *m = NULL;
    assert_int_equal(bmd_kim_available(), 0);
    assert_int_equal(bmd_model_kim_create("EAM_Dynamo_MendelevKing_2013_Cu__MO_748636486270_005", 0.8, &m),
                     BMD_ERR_UNSUPPORTED);
#endif
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lj),
        cmocka_unit_test(test_eam),
        cmocka_unit_test(test_kim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
