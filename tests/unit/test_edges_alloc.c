/* test_edges_alloc.c — bmd_edges_compute allocates nothing in steady state:
 * after a warm-up, computes of a batch (a system big enough to be shared by
 * all threads, alone or beside small ones that go one per thread) make no
 * call to malloc, calloc or realloc — while the lists are reused (moves
 * within the skin),
 * and while they are rebuilt between two configurations already met — with
 * 1 and 2 threads, full and half. glibc's allocator is wrapped to count
 * calls (as test_stage_alloc does; disabled in the sanitizer build). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "batchmd/batchmd.h"
#ifdef _OPENMP
#include <omp.h>
#endif

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static long n_alloc;
void *malloc(size_t n) {
    n_alloc++;
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t n) {
    n_alloc++;
    return __libc_calloc(a, n);
}
void *realloc(void *p, size_t n) {
    n_alloc++;
    return __libc_realloc(p, n);
}
void free(void *p) { __libc_free(p); }

static double urand(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return ((*s >> 8) & 0xffffff) / 16777216.0;
}

/* n atoms at random in a cubic periodic cell of side L, Å */
static void append_random(bmd_batch *b, int n, double L, unsigned *seed) {
    bmd_system s;
    assert_int_equal(bmd_system_alloc(&s, n), 0);
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < 3; k++) s.pos[3 * i + k] = L * urand(seed);
        s.Z[i] = 18;
        s.mass[i] = 39.948;
    }
    memset(s.cell, 0, sizeof s.cell);
    s.cell[0] = s.cell[4] = s.cell[8] = L;
    s.pbc[0] = s.pbc[1] = s.pbc[2] = 1;
    assert_int_equal(bmd_batch_append(b, &s, NULL), 0);
    bmd_system_free(&s);
}

/* small: 6 small systems beside the big one (else the big one alone) */
static void run(int threads, bmd_edges_kind kind, int small) {
#ifdef _OPENMP
    omp_set_num_threads(threads);
#else
    (void)threads;
#endif
    /* The small systems are copies of one another, in both configurations:
     * they go to threads first come, first served (schedule(dynamic)), so a
     * thread's scratch must not depend on which of them it gets, or a
     * steady-state call could meet a larger one than the warm-up did. */
    unsigned seed = 17;
    bmd_batch *b;
    assert_int_equal(bmd_batch_create(&b), 0);
    for (int s = 0; s < 6 * small; s++) {
        unsigned same = 17;
        append_random(b, 300, 15.0, &same);
    }
    append_random(b, 5000, 40.0, &seed); /* shared by all threads */
    const size_t bytes = 3 * (size_t)b->n_atoms * sizeof(double);
    double *p0 = malloc(bytes), *p1 = malloc(bytes);
    memcpy(p0, b->pos, bytes);
    for (int s = 0; s < b->n_systems; s++) {
        unsigned moves = 23; /* the same displacements in every small system */
        for (int i = 3 * b->atom_start[s]; i < 3 * (b->atom_start[s] + b->atom_count[s]); i++)
            p1[i] = p0[i] + 2.0 * (urand(&moves) - 0.5); /* beyond the skin */
    }
    bmd_edges *e;
    assert_int_equal(bmd_edges_create(4.0, 0.5, kind, 1, &e), 0);
    /* warm-up: both configurations */
    for (int k = 0; k < 4; k++) {
        memcpy(b->pos, k % 2 ? p1 : p0, bytes);
        assert_int_equal(bmd_edges_compute(e, b, NULL), 0);
    }
    const long before = n_alloc, builds = bmd_edges_builds(e);
    assert_true(before > 0); /* the counter counts */
    /* reuse: moves of 0.01 Å, 20 of them, well within the skin (the same in
     * every small system) */
    for (int k = 0; k < 20; k++) {
        for (int s = 0; s < b->n_systems; s++) {
            unsigned moves = 29 + (unsigned)k;
            for (int i = 3 * b->atom_start[s]; i < 3 * (b->atom_start[s] + b->atom_count[s]); i++)
                b->pos[i] += 0.01 * (urand(&moves) - 0.5);
        }
        assert_int_equal(bmd_edges_compute(e, b, NULL), 0);
    }
    assert_int_equal(bmd_edges_builds(e), builds);
    /* rebuilds between the two configurations */
    for (int k = 0; k < 6; k++) {
        memcpy(b->pos, k % 2 ? p1 : p0, bytes);
        assert_int_equal(bmd_edges_compute(e, b, NULL), 0);
    }
    assert_int_equal(bmd_edges_builds(e), builds + 6 * b->n_systems);
    if (n_alloc != before)
        fprintf(stderr, "%d thread(s), %s, %s: %ld allocations in steady state\n", threads,
                kind == BMD_EDGES_FULL ? "full" : "half", small ? "with small systems" : "alone", n_alloc - before);
    assert_int_equal(n_alloc - before, 0);
    bmd_edges_destroy(e);
    free(p0);
    free(p1);
    bmd_batch_destroy(b);
}

static void test_no_allocation_per_call(void **state) {
    (void)state;
    for (int threads = 1; threads <= 2; threads++)
        for (int small = 0; small <= 1; small++) {
            run(threads, BMD_EDGES_FULL, small);
            run(threads, BMD_EDGES_HALF, small);
        }
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_no_allocation_per_call)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
