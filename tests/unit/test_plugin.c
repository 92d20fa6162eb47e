/* test_plugin.c — plug-in models through the ABI (model_plugin.h):
 *   - the example Morse plug-in (examples/plugin/morse_plugin.c, brute force
 *     over images) matches the built-in Morse model to 1e-12 relative in
 *     energy, forces, virial and energy per atom, on a batch mixing a
 *     two-species triclinic periodic cell with unwrapped atoms, a cell
 *     smaller than the cutoff, a slab and an open cluster; with a parameter
 *     file and shifted energies, and with inline parameters for every pair;
 *     masks are honoured; 1 and 2 threads give the same bits;
 *   - the loader's errors, each with a message a user can act on: a wrong
 *     path (the dynamic linker's text), a library without bmd_plugin_entry,
 *     an ABI version mismatch (both versions named), create() and compute()
 *     failures (the plug-in's own message), check_system naming the
 *     elements the plug-in lacks.
 * The plug-ins are built by CMake into BMD_TEST_PLUGIN_DIR. */
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
#include "batchmd/model_plugin.h"
#ifdef _OPENMP
#include <omp.h>
#endif

#ifndef BMD_TEST_PLUGIN_DIR
#define BMD_TEST_PLUGIN_DIR "build/plugins"
#endif
#define PLUGIN(name) BMD_TEST_PLUGIN_DIR "/lib" name ".so"

#define AR 18
#define KR 36
#define NSYS 4

static const bmd_pair_params pairs[] = {
    {AR, AR, {0.012, 1.20, 3.8}, 8.0},
    {KR, KR, {0.016, 1.10, 4.0}, 8.5},
    {AR, KR, {0.014, 1.15, 3.9}, 7.5},
};

static char params_path[64];

static int setup(void **state) {
    (void)state;
    snprintf(params_path, sizeof params_path, "/tmp/bmd_morse_XXXXXX");
    int fd = mkstemp(params_path);
    if (fd < 0) return -1;
    FILE *f = fdopen(fd, "w");
    fprintf(f, "# test pairs\nAr Ar %.17g %.17g %.17g %.17g\n36 36 %.17g %.17g %.17g %.17g\n\n"
               "Kr Ar %.17g %.17g %.17g %.17g # cross\n",
            pairs[0].p[0], pairs[0].p[1], pairs[0].p[2], pairs[0].cutoff, pairs[1].p[0], pairs[1].p[1],
            pairs[1].p[2], pairs[1].cutoff, pairs[2].p[0], pairs[2].p[1], pairs[2].p[2], pairs[2].cutoff);
    fclose(f);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    unlink(params_path);
    return 0;
}

static uint64_t rng_state;
static double urand(void) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static void make_systems(bmd_system *sys) {
    rng_state = 4242;
    /* 0: triclinic periodic 3x3x3, two species, some atoms unwrapped */
    {
        static const double cell[9] = {11.0, 0, 0, 2.1, 10.4, 0, -1.3, 1.6, 10.8};
        bmd_system *s = &sys[0];
        bmd_system_alloc(s, 27);
        memcpy(s->cell, cell, sizeof cell);
        s->pbc[0] = s->pbc[1] = s->pbc[2] = 1;
        int i = 0;
        for (int x = 0; x < 3; x++)
            for (int y = 0; y < 3; y++)
                for (int z = 0; z < 3; z++, i++) {
                    const double f[3] = {(x + 0.5) / 3, (y + 0.5) / 3, (z + 0.5) / 3};
                    for (int c = 0; c < 3; c++)
                        s->pos[3 * i + c] = f[0] * cell[c] + f[1] * cell[3 + c] + f[2] * cell[6 + c] +
                                            0.5 * (urand() - 0.5);
                    s->Z[i] = (i % 3 == 1) ? KR : AR;
                }
        for (int c = 0; c < 3; c++) {
            s->pos[c] += cell[c] - cell[6 + c];
            s->pos[15 + c] -= 2 * cell[3 + c];
        }
    }
    /* 1: 3 atoms in a cell far smaller than the cutoff */
    {
        static const double cell[9] = {4.3, 0, 0, 1.2, 4.0, 0, 0.8, -0.7, 4.6};
        bmd_system *s = &sys[1];
        bmd_system_alloc(s, 3);
        memcpy(s->cell, cell, sizeof cell);
        s->pbc[0] = s->pbc[1] = s->pbc[2] = 1;
        const double f[3][3] = {{0.1, 0.2, 0.15}, {0.55, 0.5, 0.6}, {1.3, -0.2, 0.9}};
        for (int i = 0; i < 3; i++) {
            for (int c = 0; c < 3; c++) s->pos[3 * i + c] = f[i][0] * cell[c] + f[i][1] * cell[3 + c] + f[i][2] * cell[6 + c];
            s->Z[i] = i == 1 ? KR : AR;
        }
    }
    /* 2: slab T T F (c ignored) */
    {
        static const double cell[9] = {9.2, 0, 0, 2.3, 8.7, 0, 0, 0, 0};
        bmd_system *s = &sys[2];
        bmd_system_alloc(s, 16);
        memcpy(s->cell, cell, sizeof cell);
        s->pbc[0] = s->pbc[1] = 1;
        int i = 0;
        for (int x = 0; x < 2; x++)
            for (int y = 0; y < 2; y++)
                for (int z = 0; z < 4; z++, i++) {
                    for (int c = 0; c < 3; c++)
                        s->pos[3 * i + c] = ((x + 0.3) / 2) * cell[c] + ((y + 0.6) / 2) * cell[3 + c] + 0.4 * (urand() - 0.5);
                    s->pos[3 * i + 2] += 3.6 * z;
                    s->Z[i] = (i % 2) ? KR : AR;
                }
        for (int c = 0; c < 3; c++) s->pos[9 + c] -= cell[c] + cell[3 + c];
    }
    /* 3: open cluster */
    {
        bmd_system *s = &sys[3];
        bmd_system_alloc(s, 12);
        int i = 0;
        for (int x = 0; x < 3; x++)
            for (int y = 0; y < 2; y++)
                for (int z = 0; z < 2; z++, i++) {
                    s->pos[3 * i] = 3.7 * x + 0.4 * (urand() - 0.5) - 20.0;
                    s->pos[3 * i + 1] = 3.8 * y + 0.4 * (urand() - 0.5);
                    s->pos[3 * i + 2] = 3.6 * z + 0.4 * (urand() - 0.5) + 5.0;
                    s->Z[i] = (i % 4 == 0) ? KR : AR;
                }
    }
    for (int k = 0; k < NSYS; k++) {
        sys[k].system_id = k;
        for (int i = 0; i < sys[k].n_atoms; i++) sys[k].mass[i] = 1.0;
    }
}

static bmd_batch *make_batch(const bmd_system *sys, int n) {
    bmd_batch *b = NULL;
    assert_int_equal(bmd_batch_create(&b), BMD_OK);
    for (int k = 0; k < n; k++) assert_int_equal(bmd_batch_append(b, &sys[k], NULL), BMD_OK);
    return b;
}

typedef struct result {
    double *E, *F, *W, *epa;
} result;

static void result_alloc(result *r, const bmd_batch *b) {
    r->E = calloc((size_t)b->n_systems, sizeof(double));
    r->W = calloc(6 * (size_t)b->n_systems, sizeof(double));
    r->F = calloc(3 * (size_t)b->n_atoms, sizeof(double));
    r->epa = calloc((size_t)b->n_atoms, sizeof(double));
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
    if (st) fprintf(stderr, "compute: %s\n", bmd_last_error());
    assert_int_equal(st, BMD_OK);
}

static void compare(const bmd_batch *b, const result *got, const result *want, const char *what) {
    for (int s = 0; s < b->n_systems; s++) {
        const int a0 = b->atom_start[s], n = b->atom_count[s];
        double fs = 0, ws = 0, es = 0;
        for (int i = 0; i < 3 * n; i++) fs = fmax(fs, fabs(want->F[3 * a0 + i]));
        for (int v = 0; v < 6; v++) ws = fmax(ws, fabs(want->W[6 * s + v]));
        for (int i = 0; i < n; i++) es = fmax(es, fabs(want->epa[a0 + i]));
        assert_true(fs > 0 && ws > 0 && es > 0);
        if (!(fabs(got->E[s] - want->E[s]) <= 1e-12 * fabs(want->E[s])))
            fail_msg("%s system %d: E %.17g, built-in %.17g", what, s, got->E[s], want->E[s]);
        for (int i = 0; i < 3 * n; i++)
            if (!(fabs(got->F[3 * a0 + i] - want->F[3 * a0 + i]) <= 1e-12 * fs))
                fail_msg("%s system %d: F[%d] %.17g, built-in %.17g", what, s, i, got->F[3 * a0 + i],
                         want->F[3 * a0 + i]);
        for (int v = 0; v < 6; v++)
            if (!(fabs(got->W[6 * s + v] - want->W[6 * s + v]) <= 1e-12 * ws))
                fail_msg("%s system %d: W[%d] %.17g, built-in %.17g", what, s, v, got->W[6 * s + v], want->W[6 * s + v]);
        for (int i = 0; i < n; i++)
            if (!(fabs(got->epa[a0 + i] - want->epa[a0 + i]) <= 1e-12 * es))
                fail_msg("%s system %d: E_%d %.17g, built-in %.17g", what, s, i, got->epa[a0 + i], want->epa[a0 + i]);
    }
}

static bmd_model *load_morse(const char *const *keys, const char *const *values, int n) {
    bmd_model *m = NULL;
    bmd_status st = bmd_model_plugin_create(PLUGIN("morse_plugin"), keys, values, n, &m);
    if (st) fprintf(stderr, "%s\n", bmd_last_error());
    assert_int_equal(st, BMD_OK);
    assert_string_equal(m->ops->type, "plugin");
    return m;
}

static void test_morse_matches_builtin(void **state) {
    (void)state;
    bmd_system sys[NSYS];
    make_systems(sys);
    bmd_batch *b = make_batch(sys, NSYS);
    for (int shift = 0; shift <= 1; shift++) {
        bmd_pair_options opt = {0.5, shift, 0};
        bmd_model *ref = NULL;
        assert_int_equal(bmd_model_morse_create(pairs, 3, &opt, &ref), BMD_OK);
        const char *keys[2] = {"file", "shift"}, *values[2] = {params_path, shift ? "1" : "0"};
        bmd_model *pl = load_morse(keys, values, 2);
        assert_true(pl->ops->cutoff(pl->self) == 8.5);
        result r0, r1;
        result_alloc(&r0, b);
        result_alloc(&r1, b);
        compute(ref, b, NULL, &r0);
        compute(pl, b, NULL, &r1);
        compare(b, &r1, &r0, shift ? "file, shift" : "file");
        /* a mask: only masked systems are written */
        const unsigned char mask[NSYS] = {0, 1, 0, 1};
        result r2;
        result_alloc(&r2, b);
        for (int s = 0; s < NSYS; s++) r2.E[s] = -777.0;
        compute(pl, b, mask, &r2);
        for (int s = 0; s < NSYS; s++) {
            if (mask[s]) assert_true(r2.E[s] == r1.E[s]);
            else assert_true(r2.E[s] == -777.0);
        }
#ifdef _OPENMP
        /* the plug-in is thread safe: systems spread over threads, same bits */
        const int saved = omp_get_max_threads();
        omp_set_num_threads(1);
        compute(pl, b, NULL, &r2);
        omp_set_num_threads(2);
        compute(pl, b, NULL, &r1);
        omp_set_num_threads(saved);
        assert_memory_equal(r1.F, r2.F, 3 * (size_t)b->n_atoms * sizeof(double));
        assert_memory_equal(r1.E, r2.E, (size_t)b->n_systems * sizeof(double));
#endif
        result_free(&r0);
        result_free(&r1);
        result_free(&r2);
        /* a plug-in keeps no lists of its own (model.h); the built-in morse does */
        assert_int_equal(bmd_model_list_builds(pl), -1);
        assert_int_equal(bmd_model_list_builds(ref), b->n_systems); /* computed once: one build each */
        assert_int_equal(bmd_model_list_builds(NULL), 0);
        bmd_model_destroy(pl);
        bmd_model_destroy(ref);
    }
    /* inline parameters: one Morse for every pair, vs the built-in default entry */
    {
        const bmd_pair_params dflt = {0, 0, {0.0125, 1.3, 3.7}, 7.9};
        bmd_pair_options opt = {0.5, 1, 1};
        bmd_model *ref = NULL;
        assert_int_equal(bmd_model_morse_create(&dflt, 1, &opt, &ref), BMD_OK);
        const char *keys[5] = {"D0", "alpha", "r0", "cutoff", "shift"};
        const char *values[5] = {"0.0125", "1.3", "3.7", "7.9", "1"};
        bmd_model *pl = load_morse(keys, values, 5);
        result r0, r1;
        result_alloc(&r0, b);
        result_alloc(&r1, b);
        compute(ref, b, NULL, &r0);
        compute(pl, b, NULL, &r1);
        compare(b, &r1, &r0, "inline");
        result_free(&r0);
        result_free(&r1);
        bmd_model_destroy(pl);
        bmd_model_destroy(ref);
    }
    bmd_batch_destroy(b);
    for (int k = 0; k < NSYS; k++) bmd_system_free(&sys[k]);
}

static void expect_error(bmd_status want, const char *path, const char *const *keys, const char *const *values,
                         int n, const char *needle1, const char *needle2) {
    bmd_model *m = (bmd_model *)0x1;
    bmd_status st = bmd_model_plugin_create(path, keys, values, n, &m);
    const char *msg = bmd_last_error();
    if (st != want || !strstr(msg, needle1) || (needle2 && !strstr(msg, needle2)))
        fail_msg("expected %s with '%s'%s%s, got %s: %s", bmd_status_name(want), needle1, needle2 ? " and " : "",
                 needle2 ? needle2 : "", bmd_status_name(st), msg);
    assert_null(m);
}

static void test_loader_errors(void **state) {
    (void)state;
    /* wrong path: the dynamic linker's message */
    expect_error(BMD_ERR_IO, BMD_TEST_PLUGIN_DIR "/libnone.so", NULL, NULL, 0, "cannot load plug-in",
                 "libnone.so: cannot open shared object file");
    /* not a shared library at all */
    expect_error(BMD_ERR_IO, params_path, NULL, NULL, 0, "cannot load plug-in", params_path);
    /* no entry point */
    expect_error(BMD_ERR_NOT_FOUND, PLUGIN("plugin_no_entry"), NULL, NULL, 0, "has no entry point bmd_plugin_entry()",
                 "libplugin_no_entry.so");
    /* ABI mismatch: both versions */
    char want[128];
    snprintf(want, sizeof want, "this batchmd needs ABI version %d", BMD_PLUGIN_ABI_VERSION);
    expect_error(BMD_ERR_UNSUPPORTED, PLUGIN("plugin_future_abi"), NULL, NULL, 0,
                 "was built for plug-in ABI version 99", want);
    /* create() failures: the plug-in's message */
    const char *k1[1] = {"fail"}, *v1[1] = {"create"};
    expect_error(BMD_ERR_INVALID, PLUGIN("plugin_faulty"), k1, v1, 1, "(faulty): create failed",
                 "asked to fail in create (value 'create')");
    const char *k2[2] = {"D0", "colour"}, *v2[2] = {"1", "blue"};
    expect_error(BMD_ERR_INVALID, PLUGIN("morse_plugin"), k2, v2, 2, "(morse-example): create failed",
                 "unknown parameter 'colour'");
    const char *k3[1] = {"file"}, *v3[1] = {"/nonexistent/morse.txt"};
    expect_error(BMD_ERR_INVALID, PLUGIN("morse_plugin"), k3, v3, 1, "create failed",
                 "cannot open parameter file '/nonexistent/morse.txt'");
    const char *k4[3] = {"D0", "alpha", "r0"}, *v4[3] = {"1", "1", "x"};
    expect_error(BMD_ERR_INVALID, PLUGIN("morse_plugin"), k4, v4, 3, "create failed", "r0 must be a number (got 'x')");
    expect_error(BMD_ERR_INVALID, PLUGIN("morse_plugin"), k4, v4, 2, "create failed", "missing parameter r0");
    /* argument checks */
    expect_error(BMD_ERR_INVALID, "", NULL, NULL, 0, "no library path", NULL);
    expect_error(BMD_ERR_INVALID, PLUGIN("morse_plugin"), NULL, NULL, 2, "2 parameters but no keys", NULL);
}

static void test_compute_failure_and_elements(void **state) {
    (void)state;
    bmd_system s;
    assert_int_equal(bmd_system_alloc(&s, 3), BMD_OK);
    const int Z[3] = {1, 2, 1};
    for (int i = 0; i < 3; i++) {
        s.Z[i] = Z[i];
        s.pos[3 * i] = 1.1 * i;
    }
    s.system_id = 7;
    bmd_batch *b = NULL;
    assert_int_equal(bmd_batch_create(&b), BMD_OK);
    assert_int_equal(bmd_batch_append(b, &s, NULL), BMD_OK);
    assert_int_equal(bmd_batch_append(b, &s, NULL), BMD_OK);
    double E[2] = {0, 0};
    bmd_compute_request req = {NULL, E, b->force, NULL, NULL};
    /* a working faulty plug-in: energy = number of atoms */
    bmd_model *m = NULL;
    assert_int_equal(bmd_model_plugin_create(PLUGIN("plugin_faulty"), NULL, NULL, 0, &m), BMD_OK);
    assert_int_equal(bmd_model_compute(m, b, &req), BMD_OK);
    assert_true(E[0] == 3.0 && E[1] == 3.0);
    assert_int_equal(bmd_model_check_system(m, &s), BMD_OK);
    s.Z[1] = 26;
    s.Z[2] = 8;
    assert_int_equal(bmd_model_check_system(m, &s), BMD_ERR_NOT_FOUND);
    if (!strstr(bmd_last_error(), "plug-in faulty") || !strstr(bmd_last_error(), "no parameters for elements O, Fe"))
        fail_msg("unexpected message: %s", bmd_last_error());
    bmd_model_destroy(m);
    /* compute() failure */
    const char *k[1] = {"fail"}, *v[1] = {"compute"};
    assert_int_equal(bmd_model_plugin_create(PLUGIN("plugin_faulty"), k, v, 1, &m), BMD_OK);
    assert_int_equal(bmd_model_compute(m, b, &req), BMD_ERR_RUNTIME);
    if (!strstr(bmd_last_error(), "plug-in faulty: compute failed") ||
        !strstr(bmd_last_error(), "asked to fail in compute (2 systems)") || !strstr(bmd_last_error(), "system 7"))
        fail_msg("unexpected message: %s", bmd_last_error());
    bmd_model_destroy(m);
    bmd_batch_destroy(b);
    bmd_system_free(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_morse_matches_builtin),
        cmocka_unit_test(test_loader_errors),
        cmocka_unit_test(test_compute_failure_and_elements),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
