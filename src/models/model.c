/* model.c — owns the model-independent wrappers of model.h: argument checks,
 * dispatch through the ops table (timed: bmd_model_timers), the list-build
 * count (bmd_model_list_builds: asks each built-in model family, which
 * recognises its own ops table), and destruction of the heap bmd_model. */
#include <math.h>

#include "batchmd/model.h"
#include "batchmd/model_kim.h"
#include "models/eam.h"
#include "models/model_internal.h"
#include "models/pair.h"

#include <stdlib.h>

bmd_status bmd_model_compute(bmd_model *m, const bmd_batch *b, const bmd_compute_request *req) {
    if (!m || !m->ops || !m->ops->compute) return bmd__fail(BMD_ERR_INVALID, "compute: no model");
    if (!b || !req) return bmd__fail(BMD_ERR_INVALID, "%s model: compute needs a batch and a request", m->ops->type);
    double *outer = bmd__neighbor.sink; /* a model may evaluate another one */
    bmd__neighbor_calibrate();
    bmd__neighbor.sink = &m->t_neighbor;
    double t0 = bmd_clock();
    bmd_status rc = m->ops->compute(m->self, b, req);
    m->t_compute += bmd_clock() - t0;
    bmd__neighbor.sink = outer;
    return rc;
}

void bmd_model_timers(const bmd_model *m, double *neighbor_s, double *force_s) {
    double all = m ? m->t_compute : 0, nb = m ? m->t_neighbor : 0;
    if (nb > all) nb = all; /* a sampled estimate (model_internal.h) may overshoot */
    if (neighbor_s) *neighbor_s = nb;
    if (force_s) *force_s = all > nb ? all - nb : 0;
}

long bmd_model_list_builds(const bmd_model *m) {
    if (!m) return 0;
    /* each returns -1 for a model not of its family (kim_missing.c: always) */
    long n = bmd__pair_list_builds(m);
    if (n < 0) n = bmd__eam_list_builds(m);
    if (n < 0) n = bmd_model_kim_list_builds(m);
    return n < 0 ? -1 : n;
}

bmd_status bmd_model_check_system(bmd_model *m, const bmd_system *sys) {
    if (!m || !m->ops) return bmd__fail(BMD_ERR_INVALID, "check_system: no model");
    if (!sys) return bmd__fail(BMD_ERR_INVALID, "%s model: check_system needs a system", m->ops->type);
    if (!m->ops->check_system) return BMD_OK;
    return m->ops->check_system(m->self, sys);
}

void bmd_model_destroy(bmd_model *m) {
    if (!m) return;
    if (m->ops && m->ops->destroy) m->ops->destroy(m->self);
    free(m);
}

void bmd__compute_write_nan(const bmd_batch *b, int s, const bmd_compute_request *req) {
    int a0 = b->atom_start[s], n = b->atom_count[s];
    if (req->energy) req->energy[s] = NAN;
    if (req->virial)
        for (int c = 0; c < 6; c++) req->virial[6 * (size_t)s + c] = NAN;
    if (req->forces)
        for (int i = 0; i < 3 * n; i++) req->forces[3 * (size_t)a0 + i] = NAN;
    if (req->energy_per_atom)
        for (int i = 0; i < n; i++) req->energy_per_atom[(size_t)a0 + i] = NAN;
}
