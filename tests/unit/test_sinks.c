/* test_sinks.c — the sinks of flow.h: the memory sink (capacity, full,
 * drain into an array and into another sink), the priority chain (overflow
 * to the next sink in order, skip to all, full when all are, a file sink
 * behind a memory buffer), the ordered sink (input order, gaps from skipped
 * ids, repeats refused, close releases the rest), and a sink written with
 * designated initializers and none of the optional operations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batchmd/batchmd.h"

/* A system of n argon atoms at distinct positions, with system_id id. */
static bmd_system make_sys(long id, int n) {
    bmd_system s;
    assert_int_equal(bmd_system_alloc(&s, n), BMD_OK);
    for (int i = 0; i < n; i++) {
        s.Z[i] = 18;
        s.mass[i] = 39.948;
        for (int d = 0; d < 3; d++) s.pos[3 * i + d] = 3.0 * i + 0.1 * d + 0.001 * (double)id;
    }
    s.cell[0] = s.cell[4] = s.cell[8] = 20.0;
    s.system_id = id;
    return s;
}

static void write_id(bmd_sink *k, long id, bmd_status expect) {
    bmd_system s = make_sys(id, 1 + (int)(id % 3));
    assert_int_equal(bmd_sink_write(k, &s), expect);
    bmd_system_free(&s);
}

static long id_at(const bmd_sink *k, long i) {
    const bmd_system *s = bmd_sink_memory_at(k, i);
    assert_non_null(s);
    return (long)s->system_id;
}

static void test_memory_capacity_and_drain(void **state) {
    (void)state;
    bmd_sink *m;
    assert_int_equal(bmd_sink_memory_create(3, &m), BMD_OK);
    assert_int_equal(bmd_sink_memory_count(m), 0);
    for (long id = 0; id < 3; id++) {
        assert_false(bmd_sink_full(m));
        write_id(m, id, BMD_OK);
    }
    assert_true(bmd_sink_full(m));
    write_id(m, 3, BMD_ERR_BUDGET);
    assert_int_equal(bmd_sink_memory_count(m), 3);
    /* a deep copy: positions and size as written */
    const bmd_system *s1 = bmd_sink_memory_at(m, 1);
    assert_int_equal(s1->n_atoms, 2);
    assert_true(s1->pos[3] == 3.0 + 0.001);
    assert_null(bmd_sink_memory_at(m, 3));

    bmd_system out[4];
    long n = -1;
    assert_int_equal(bmd_sink_memory_drain(m, out, 2, &n), BMD_OK);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].system_id, 0);
    assert_int_equal(out[1].system_id, 1);
    bmd_system_free(&out[0]);
    bmd_system_free(&out[1]);
    assert_int_equal(bmd_sink_memory_count(m), 1);
    assert_false(bmd_sink_full(m));
    write_id(m, 4, BMD_OK);
    write_id(m, 5, BMD_OK);
    assert_true(bmd_sink_full(m));
    assert_int_equal(id_at(m, 0), 2);
    assert_int_equal(id_at(m, 1), 4);
    assert_int_equal(id_at(m, 2), 5);

    /* drain into another sink stops when that one is full */
    bmd_sink *dst;
    assert_int_equal(bmd_sink_memory_create(2, &dst), BMD_OK);
    assert_int_equal(bmd_sink_memory_drain_to(m, dst, &n), BMD_OK);
    assert_int_equal(n, 2);
    assert_int_equal(bmd_sink_memory_count(m), 1);
    assert_int_equal(id_at(dst, 0), 2);
    assert_int_equal(id_at(dst, 1), 4);
    assert_int_equal(id_at(m, 0), 5);
    assert_int_equal(bmd_sink_memory_drain_to(m, m, &n), BMD_ERR_INVALID);
    assert_int_equal(bmd_sink_memory_drain(m, out, 10, &n), BMD_OK);
    assert_int_equal(n, 1);
    bmd_system_free(&out[0]);
    assert_int_equal(bmd_sink_memory_count(m), 0);
    /* not a memory sink */
    bmd_sink *chain;
    assert_int_equal(bmd_sink_chain_create(&dst, 1, 0, &chain), BMD_OK);
    assert_int_equal(bmd_sink_memory_count(chain), -1);
    assert_int_equal(bmd_sink_memory_drain(chain, out, 1, &n), BMD_ERR_INVALID);
    assert_int_equal(bmd_sink_destroy(chain), BMD_OK);
    assert_int_equal(bmd_sink_destroy(dst), BMD_OK);
    assert_int_equal(bmd_sink_destroy(m), BMD_OK);
}

static void test_memory_unbounded(void **state) {
    (void)state;
    bmd_sink *m;
    assert_int_equal(bmd_sink_memory_create(0, &m), BMD_OK);
    bmd_system out[7];
    long next_out = 0, n;
    for (long id = 0; id < 1000; id++) {
        write_id(m, id, BMD_OK);
        assert_false(bmd_sink_full(m));
        if (id % 10 == 9) { /* interleave drains: FIFO across the internal compaction */
            assert_int_equal(bmd_sink_memory_drain(m, out, 7, &n), BMD_OK);
            assert_int_equal(n, 7);
            for (long i = 0; i < n; i++) {
                assert_int_equal(out[i].system_id, next_out++);
                bmd_system_free(&out[i]);
            }
        }
    }
    assert_int_equal(bmd_sink_memory_count(m), 1000 - next_out);
    for (long i = 0; i < bmd_sink_memory_count(m); i++) assert_int_equal(id_at(m, i), next_out + i);
    assert_int_equal(bmd_sink_destroy(m), BMD_OK); /* frees what it holds */
}

static void test_chain_overflow(void **state) {
    (void)state;
    bmd_sink *a, *b, *c, *chain;
    assert_int_equal(bmd_sink_memory_create(2, &a), BMD_OK);
    assert_int_equal(bmd_sink_memory_create(3, &b), BMD_OK);
    assert_int_equal(bmd_sink_memory_create(1, &c), BMD_OK);
    bmd_sink *v[3] = {a, b, c};
    assert_int_equal(bmd_sink_chain_create(v, 3, 0, &chain), BMD_OK);
    for (long id = 0; id < 6; id++) {
        assert_false(bmd_sink_full(chain));
        write_id(chain, id, BMD_OK);
    }
    assert_true(bmd_sink_full(chain));
    write_id(chain, 6, BMD_ERR_BUDGET);
    assert_int_equal(bmd_sink_memory_count(a), 2);
    assert_int_equal(bmd_sink_memory_count(b), 3);
    assert_int_equal(bmd_sink_memory_count(c), 1);
    assert_int_equal(id_at(a, 0), 0);
    assert_int_equal(id_at(a, 1), 1);
    assert_int_equal(id_at(b, 0), 2);
    assert_int_equal(id_at(b, 2), 4);
    assert_int_equal(id_at(c, 0), 5);
    /* room frees in the first sink: the next system goes there again */
    bmd_system out[2];
    long n;
    assert_int_equal(bmd_sink_memory_drain(a, out, 2, &n), BMD_OK);
    bmd_system_free(&out[0]);
    bmd_system_free(&out[1]);
    write_id(chain, 7, BMD_OK);
    assert_int_equal(id_at(a, 0), 7);
    /* not owned: the chain leaves them to us */
    assert_int_equal(bmd_sink_destroy(chain), BMD_OK);
    assert_int_equal(bmd_sink_memory_count(b), 3);
    bmd_sink_destroy(a);
    bmd_sink_destroy(b);
    bmd_sink_destroy(c);
    assert_int_equal(bmd_sink_chain_create(v, 0, 0, &chain), BMD_ERR_INVALID);
}

/* A memory buffer, then a file: the file gets the overflow, in order; the
 * chain owns both and closes the file. */
static void test_chain_memory_then_file(void **state) {
    (void)state;
    char path[] = "/tmp/bmd_test_sinks_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    bmd_sink *mem, *file, *chain;
    assert_int_equal(bmd_sink_memory_create(4, &mem), BMD_OK);
    assert_int_equal(bmd_sink_extxyz_create(path, BMD_UNITS_METAL, &file), BMD_OK);
    bmd_sink *v[2] = {mem, file};
    assert_int_equal(bmd_sink_chain_create(v, 2, 1, &chain), BMD_OK);
    for (long id = 0; id < 10; id++) write_id(chain, id, BMD_OK);
    assert_false(bmd_sink_full(chain)); /* a file is never full */
    assert_int_equal(bmd_sink_memory_count(mem), 4);
    for (long i = 0; i < 4; i++) assert_int_equal(id_at(mem, i), i);
    assert_int_equal(bmd_sink_destroy(chain), BMD_OK);
    bmd_system *frames = NULL;
    long nf = 0;
    assert_int_equal(bmd_extxyz_read_all(path, BMD_UNITS_METAL, &frames, &nf), BMD_OK);
    assert_int_equal(nf, 6);
    for (long i = 0; i < nf; i++) {
        const char *id = bmd_info_get(&frames[i].info, "system_id");
        assert_non_null(id);
        assert_int_equal(atol(id), 4 + i);
        assert_int_equal(frames[i].n_atoms, 1 + (4 + i) % 3);
        bmd_system_free(&frames[i]);
    }
    free(frames);
    remove(path);
}

static void test_ordered(void **state) {
    (void)state;
    bmd_sink *mem, *ord;
    assert_int_equal(bmd_sink_memory_create(0, &mem), BMD_OK);
    assert_int_equal(bmd_sink_ordered_create(mem, 0, &ord), BMD_OK);
    write_id(ord, 3, BMD_OK);
    write_id(ord, 1, BMD_OK);
    assert_int_equal(bmd_sink_memory_count(mem), 0);
    assert_int_equal(bmd_sink_ordered_pending(ord), 2);
    write_id(ord, 0, BMD_OK); /* releases 0, 1; 3 waits for 2 */
    assert_int_equal(bmd_sink_memory_count(mem), 2);
    assert_int_equal(bmd_sink_ordered_pending(ord), 1);
    assert_int_equal(bmd_sink_skip(ord, 2), BMD_OK); /* 2 went to failed: 3 goes */
    assert_int_equal(bmd_sink_memory_count(mem), 3);
    assert_int_equal(bmd_sink_ordered_pending(ord), 0);
    /* skips ahead of time are held like systems */
    assert_int_equal(bmd_sink_skip(ord, 5), BMD_OK);
    assert_int_equal(bmd_sink_skip(ord, 6), BMD_OK);
    write_id(ord, 7, BMD_OK);
    write_id(ord, 4, BMD_OK); /* 4, then 5 and 6 skipped, then 7 */
    assert_int_equal(bmd_sink_memory_count(mem), 5);
    /* an id without system_id passes straight through */
    write_id(ord, -1, BMD_OK);
    assert_int_equal(bmd_sink_memory_count(mem), 6);
    /* repeats are refused */
    write_id(ord, 3, BMD_ERR_INVALID);
    assert_int_equal(bmd_sink_skip(ord, 0), BMD_ERR_INVALID);
    long want[] = {0, 1, 3, 4, 7, -1};
    for (int i = 0; i < 6; i++) assert_int_equal(id_at(mem, i), want[i]);
    /* close releases what is held, by id, gaps notwithstanding */
    write_id(ord, 12, BMD_OK);
    write_id(ord, 10, BMD_OK);
    assert_int_equal(bmd_sink_skip(ord, 11), BMD_OK);
    assert_int_equal(bmd_sink_ordered_pending(ord), 2);
    assert_int_equal(bmd_sink_destroy(ord), BMD_OK);
    assert_int_equal(bmd_sink_memory_count(mem), 8);
    assert_int_equal(id_at(mem, 6), 10);
    assert_int_equal(id_at(mem, 7), 12);
    assert_int_equal(bmd_sink_ordered_pending(mem), -1);
    bmd_sink_destroy(mem);
}

/* Many ids in a shuffled order, a third of them skipped: the inner sink sees
 * exactly the written ones, increasing. Owned inner. */
static void test_ordered_shuffled(void **state) {
    (void)state;
    enum { N = 500 };
    long perm[N];
    for (long i = 0; i < N; i++) perm[i] = i;
    unsigned long x = 12345;
    for (long i = N - 1; i > 0; i--) {
        x = x * 6364136223846793005UL + 1442695040888963407UL;
        long j = (long)((x >> 33) % (unsigned long)(i + 1));
        long t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    bmd_sink *mem, *ord;
    assert_int_equal(bmd_sink_memory_create(0, &mem), BMD_OK);
    assert_int_equal(bmd_sink_ordered_create(mem, 1, &ord), BMD_OK);
    for (long i = 0; i < N; i++) {
        if (perm[i] % 3 == 1) assert_int_equal(bmd_sink_skip(ord, perm[i]), BMD_OK);
        else write_id(ord, perm[i], BMD_OK);
    }
    assert_int_equal(bmd_sink_ordered_pending(ord), 0);
    long k = 0;
    for (long id = 0; id < N; id++)
        if (id % 3 != 1) assert_int_equal(id_at(mem, k++), id);
    assert_int_equal(bmd_sink_memory_count(mem), k);
    assert_int_equal(bmd_sink_destroy(ord), BMD_OK); /* destroys mem too */
}

/* A sink as another engineer writes one: designated initializers, only
 * write/close/destroy. It is never full and ignores skips. */
static int plain_writes;
static bmd_status plain_write(void *self, const bmd_system *sys) {
    (void)self;
    (void)sys;
    plain_writes++;
    return BMD_OK;
}
static void plain_destroy(void *self) { (void)self; }
static const bmd_sink_ops plain_ops = {.type = "plain", .write = plain_write, .destroy = plain_destroy};

static void test_plain_sink(void **state) {
    (void)state;
    bmd_sink *k = calloc(1, sizeof *k);
    k->ops = &plain_ops;
    assert_false(bmd_sink_full(k));
    assert_int_equal(bmd_sink_skip(k, 3), BMD_OK);
    bmd_sink *mem, *chain;
    assert_int_equal(bmd_sink_memory_create(1, &mem), BMD_OK);
    bmd_sink *v[2] = {mem, k};
    assert_int_equal(bmd_sink_chain_create(v, 2, 1, &chain), BMD_OK);
    for (long id = 0; id < 5; id++) write_id(chain, id, BMD_OK);
    assert_int_equal(plain_writes, 4);
    assert_int_equal(bmd_sink_skip(chain, 9), BMD_OK);
    assert_int_equal(bmd_sink_destroy(chain), BMD_OK);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_capacity_and_drain),
        cmocka_unit_test(test_memory_unbounded),
        cmocka_unit_test(test_chain_overflow),
        cmocka_unit_test(test_chain_memory_then_file),
        cmocka_unit_test(test_ordered),
        cmocka_unit_test(test_ordered_shuffled),
        cmocka_unit_test(test_plain_sink),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
