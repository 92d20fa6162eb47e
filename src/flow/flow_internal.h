/* flow_internal.h — small helpers the runner and the evaluator share
 * (internal to src/flow): a monotonic clock, scratch-buffer growth, and the
 * stress of the masked systems from one virial evaluation. */
#ifndef BATCHMD_FLOW_INTERNAL_H
#define BATCHMD_FLOW_INTERNAL_H

#include <stddef.h>
#include <time.h>

#include "batchmd/flow.h"

static inline double bmd__now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Grows *p (cap elements of elem bytes) to hold n; -1 when out of memory. */
int bmd__reserve(void **p, size_t *cap, size_t n, size_t elem);

/* Whether slot s is periodic in all three directions with a volume. */
int bmd__stress_defined(const bmd_batch *b, int s);

/* One model evaluation for the masked systems: energy and forces when given
 * (may be NULL), and, for the masked systems whose stress is defined, the
 * virial into *virial (grown as needed), b->stress = W / V (ASE's sign) and
 * stress_valid (0 where the model gave no finite virial: no stress is
 * written then). Nothing is computed when nothing is asked of it. */
bmd_status bmd__flow_compute(bmd_model *m, bmd_batch *b, unsigned char *mask, double *energy, double *forces,
                             double **virial, size_t *virial_cap);

#endif
