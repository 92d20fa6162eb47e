/* test_cuda_philox.c — the device's Philox (src/cuda/hd_philox.h, compiled
 * here by the C compiler) against Random123's own philox4x64 and against
 * src/core/rng.c: the same key and counter give the same bits, uniforms and
 * normals alike; and Random123's published known-answer vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <Random123/philox.h>

#include "batchmd/rng.h"
#include "cuda/hd_philox.h"

/* Random123's kat_vectors for philox4x64_10 (ctr, key -> out) */
static void test_known_answers(void **state) {
    (void)state;
    static const uint64_t kat[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x16554d9eca36314cull, 0xdb20fe9d672d0fdcull, 0xd7e772cee186176bull,
         0x7e68b68aec7ba23bull},
        {~0ull, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull, 0x87b092c3013fe90bull, 0x438c3c67be8d0224ull,
         0x9cc7d7c69cd777b6ull, 0xa09caebf594f0ba0ull},
        {0x243f6a8885a308d3ull, 0x13198a2e03707344ull, 0xa4093822299f31d0ull, 0x082efa98ec4e6c89ull,
         0x452821e638d01377ull, 0xbe5466cf34e90c6cull, 0xa528f45403e61d95ull, 0x38c72dbd566e9788ull,
         0xa5a1610e72fd18b5ull, 0x57bd43b5e52b7fe6ull}};
    for (int t = 0; t < 3; t++) {
        uint64_t out[4];
        bmd_hd_philox4x64(kat[t], kat[t] + 4, out);
        for (int i = 0; i < 4; i++) assert_true(out[i] == kat[t][6 + i]);
    }
}

static uint64_t next(uint64_t *s) { /* splitmix64: test inputs */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void test_against_random123(void **state) {
    (void)state;
    uint64_t s = 42;
    for (int t = 0; t < 20000; t++) {
        philox4x64_ctr_t c = {{next(&s), next(&s), next(&s), next(&s)}};
        philox4x64_key_t k = {{next(&s), next(&s)}};
        philox4x64_ctr_t r = philox4x64(c, k);
        uint64_t out[4];
        bmd_hd_philox4x64(c.v, k.v, out);
        for (int i = 0; i < 4; i++) assert_true(out[i] == r.v[i]);
    }
}

/* the keying of rng.c: (seed, system_id), (stream, step, atom, 0) */
static void test_against_rng_c(void **state) {
    (void)state;
    uint64_t s = 7;
    for (int t = 0; t < 20000; t++) {
        const uint64_t seed = t % 3 ? next(&s) : (uint64_t)t, id = next(&s) % 100000;
        const uint32_t stream = BMD_RNG_STREAM(t % 5, t % 2 ? BMD_RNG_LANGEVIN : BMD_RNG_VELOCITY_INIT);
        const uint64_t step = next(&s) % 1000000, atom = next(&s) % 100000;
        double a[4], b[4];
        bmd_rng_uniform4(seed, id, stream, step, atom, a);
        bmd_hd_uniform4(seed, id, stream, step, atom, b);
        assert_memory_equal(a, b, sizeof a);
        bmd_rng_normal4(seed, id, stream, step, atom, a);
        bmd_hd_normal4(seed, id, stream, step, atom, b);
        assert_memory_equal(a, b, sizeof a);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_against_random123),
        cmocka_unit_test(test_against_rng_c),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
