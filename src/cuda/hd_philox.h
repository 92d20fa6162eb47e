/* hd_philox.h — owns Philox4x64-10 (Salmon, Moraes, Dror, Shaw, "Parallel
 * random numbers: as easy as 1, 2, 3", SC'11; the Random123 library) written
 * once for host and device, and the uniform and normal draws of
 * src/core/rng.c on top of it: key = (seed, system_id), counter = (stream,
 * step, atom, 0). The host build gives the bits of bmd_rng_uniform4 and
 * bmd_rng_normal4 exactly (tests/unit/test_cuda_philox.c); on the device the
 * uniforms are the same bits and the normals differ only by the last-ulp
 * differences of CUDA's log/sin/cos from glibc's (a few ulp). */
#ifndef BATCHMD_CUDA_HD_PHILOX_H
#define BATCHMD_CUDA_HD_PHILOX_H

#include "cuda/hd.h"

/* hi and lo 64-bit halves of a * b */
BMD_HD static inline uint64_t bmd_hd_mulhilo64(uint64_t a, uint64_t b, uint64_t *hi) {
#if defined(__CUDA_ARCH__)
    *hi = __umul64hi(a, b);
    return a * b;
#elif defined(__SIZEOF_INT128__)
    __extension__ typedef unsigned __int128 u128;
    u128 p = (u128)a * (u128)b;
    *hi = (uint64_t)(p >> 64);
    return (uint64_t)p;
#else
    /* portable 32-bit limbs */
    uint64_t a0 = a & 0xffffffffu, a1 = a >> 32, b0 = b & 0xffffffffu, b1 = b >> 32;
    uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    uint64_t mid = (p00 >> 32) + (p01 & 0xffffffffu) + (p10 & 0xffffffffu);
    *hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
    return a * b;
#endif
}

/* Philox4x64 with 10 rounds, as Random123's philox4x64(ctr, key). */
BMD_HD static inline void bmd_hd_philox4x64(const uint64_t ctr_in[4], const uint64_t key_in[2], uint64_t out[4]) {
    const uint64_t M0 = 0xD2E7470EE14C6C93ull, M1 = 0xCA5A826395121157ull;
    const uint64_t W0 = 0x9E3779B97F4A7C15ull, W1 = 0xBB67AE8584CAA73Bull;
    uint64_t c0 = ctr_in[0], c1 = ctr_in[1], c2 = ctr_in[2], c3 = ctr_in[3];
    uint64_t k0 = key_in[0], k1 = key_in[1];
    for (int r = 0; r < 10; r++) {
        if (r) {
            k0 += W0;
            k1 += W1;
        }
        uint64_t hi0, hi1;
        const uint64_t lo0 = bmd_hd_mulhilo64(M0, c0, &hi0);
        const uint64_t lo1 = bmd_hd_mulhilo64(M1, c2, &hi1);
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* bmd_rng_uniform4: four doubles in (0, 1), the top 53 bits plus half an ulp */
BMD_HD static inline void bmd_hd_uniform4(uint64_t seed, uint64_t system_id, uint32_t stream, uint64_t step,
                                          uint64_t atom, double out[4]) {
    uint64_t k[2], c[4], r[4];
    k[0] = seed;
    k[1] = system_id;
    c[0] = (uint64_t)stream;
    c[1] = step;
    c[2] = atom;
    c[3] = 0;
    bmd_hd_philox4x64(c, k, r);
    for (int i = 0; i < 4; i++) out[i] = ((double)(r[i] >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* bmd_rng_normal4: Box–Muller on the uniforms, pairs (0,1) and (2,3) */
BMD_HD static inline void bmd_hd_normal4(uint64_t seed, uint64_t system_id, uint32_t stream, uint64_t step,
                                         uint64_t atom, double out[4]) {
    double u[4];
    bmd_hd_uniform4(seed, system_id, stream, step, atom, u);
    const double two_pi = 6.283185307179586476925286766559;
    for (int i = 0; i < 4; i += 2) {
        double r = sqrt(-2.0 * log(u[i]));
        out[i] = r * cos(two_pi * u[i + 1]);
        out[i + 1] = r * sin(two_pi * u[i + 1]);
    }
}

#endif
