/* rng.c — owns the counter-based random numbers: Philox4x64-10 from
 * Random123, key = (seed, system_id), counter = (stream, step, atom, 0). */
#include "batchmd/rng.h"

#include <math.h>
#include <Random123/philox.h>

void bmd_rng_uniform4(uint64_t seed, uint64_t system_id, uint32_t stream,
                      uint64_t step, uint64_t atom, double out[4]) {
    philox4x64_key_t k = {{seed, system_id}};
    philox4x64_ctr_t c = {{(uint64_t)stream, step, atom, 0}};
    philox4x64_ctr_t r = philox4x64(c, k);
    for (int i = 0; i < 4; i++) /* top 53 bits, shifted by half an ulp: (0, 1) */
        out[i] = ((double)(r.v[i] >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

void bmd_rng_normal4(uint64_t seed, uint64_t system_id, uint32_t stream,
                     uint64_t step, uint64_t atom, double out[4]) {
    double u[4];
    bmd_rng_uniform4(seed, system_id, stream, step, atom, u);
    const double two_pi = 6.283185307179586476925286766559;
    for (int i = 0; i < 4; i += 2) {
        double r = sqrt(-2.0 * log(u[i]));
        out[i] = r * cos(two_pi * u[i + 1]);
        out[i + 1] = r * sin(two_pi * u[i + 1]);
    }
}
