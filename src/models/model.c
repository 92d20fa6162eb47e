/* model.c — owns the model-independent wrappers of model.h: argument checks,
 * dispatch through the ops table, and destruction of the heap bmd_model. */
#include "batchmd/model.h"

#include <stdlib.h>

bmd_status bmd_model_compute(bmd_model *m, const bmd_batch *b, const bmd_compute_request *req) {
    if (!m || !m->ops || !m->ops->compute) return bmd__fail(BMD_ERR_INVALID, "compute: no model");
    if (!b || !req) return bmd__fail(BMD_ERR_INVALID, "%s model: compute needs a batch and a request", m->ops->type);
    return m->ops->compute(m->self, b, req);
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
