/* rng.h — counter-based random numbers (Random123's Philox4x64-10).
 *
 * Every draw is a pure function of (seed, system_id, stream, step, atom):
 * no generator state is shared across systems, so a system's noise does not
 * depend on its batch, its slot, the batch size or the thread count. */
#ifndef BATCHMD_RNG_H
#define BATCHMD_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Streams keep independent uses of the same (system, step, atom) apart. A
 * dynamics uses BMD_RNG_STREAM(stage_index, purpose). */
#define BMD_RNG_STREAM(substage, purpose) ((uint32_t)(substage) * 16u + (uint32_t)(purpose))
enum {
    BMD_RNG_LANGEVIN = 1,
    BMD_RNG_VELOCITY_INIT = 2,
    BMD_RNG_CSVR = 3,    /* stochastic velocity rescaling (nvt_csvr, npt_crescale's thermostat) */
    BMD_RNG_BAROSTAT = 4 /* stochastic cell rescaling (npt_crescale) */
};

/* Four uniform doubles in (0, 1) (never 0 or 1). */
void bmd_rng_uniform4(uint64_t seed, uint64_t system_id, uint32_t stream,
                      uint64_t step, uint64_t atom, double out[4]);
/* Four independent standard normal doubles (Box–Muller on the uniforms). */
void bmd_rng_normal4(uint64_t seed, uint64_t system_id, uint32_t stream,
                     uint64_t step, uint64_t atom, double out[4]);

#ifdef __cplusplus
}
#endif

#endif
