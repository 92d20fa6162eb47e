/* model_internal.h — helpers every model implementation shares. Internal
 * to src/models. */
#ifndef BATCHMD_MODEL_INTERNAL_H
#define BATCHMD_MODEL_INTERNAL_H

#include "batchmd/model.h"

/* Writes NaN into every requested output of slot s: what a model returns for
 * a system it cannot compute (non-finite or absurd positions), so that the
 * NaN/blow-up quarantine takes that one system out. */
void bmd__compute_write_nan(const bmd_batch *b, int s, const bmd_compute_request *req);

#endif
