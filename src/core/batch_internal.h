/* batch_internal.h — internal (crosses files, not installed): what the
 * stage, the runner and the evaluator share about a slot's stress and the
 * input's calculator results. */
#ifndef BATCHMD_CORE_BATCH_INTERNAL_H
#define BATCHMD_CORE_BATCH_INTERNAL_H

#include "batchmd/batch.h"

/* Sets slot s's stress to W / V (ASE's sign) and stress_valid from the
 * virial w[6] a model computed at its positions: only for a system periodic
 * along a, b and c with a volume, and only when all six components are
 * finite — a model that cannot give the virial leaves NaN there
 * (model.h), and then the system has no stress (stress_valid 0), never a
 * placeholder. Returns stress_valid[s]. */
int bmd__batch_stress_from_virial(bmd_batch *b, int s, const double *w);

#endif
