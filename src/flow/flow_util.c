/* flow_util.c — owns the helpers of flow_internal.h: scratch growth and the
 * stress of leaving or evaluated systems (W / V, ASE's sign; none where the
 * model gives no finite virial). */
#include "flow/flow_internal.h"

#include "core/batch_internal.h"

#include <stdlib.h>

int bmd__reserve(void **p, size_t *cap, size_t n, size_t elem) {
    if (n <= *cap && *p) return 0;
    size_t c = *cap ? *cap : 64;
    while (c < n) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

int bmd__stress_defined(const bmd_batch *b, int s) {
    const unsigned char *p = b->pbc + 3 * (size_t)s;
    return p[0] && p[1] && p[2] && bmd_batch_volume(b, s) > 0;
}

bmd_status bmd__flow_compute(bmd_model *m, bmd_batch *b, unsigned char *mask, double *energy, double *forces,
                             double **virial, size_t *virial_cap) {
    int any = 0, want_w = 0;
    for (int s = 0; s < b->n_systems; s++) {
        if (!mask[s]) continue;
        any = 1;
        want_w |= bmd__stress_defined(b, s);
    }
    if (!any || (!want_w && !energy && !forces)) return BMD_OK;
    if (bmd__reserve((void **)virial, virial_cap, 6 * (size_t)b->n_systems, sizeof(double)))
        return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    bmd_compute_request req = {.mask = mask, .energy = energy, .forces = forces, .virial = want_w ? *virial : NULL};
    bmd_status st = bmd_model_compute(m, b, &req);
    if (st) return st;
    for (int s = 0; s < b->n_systems; s++)
        if (mask[s] && want_w) bmd__batch_stress_from_virial(b, s, *virial + 6 * (size_t)s);
    return BMD_OK;
}
