/* hooks_internal.h — what the built-in hooks share: wrapping a self pointer
 * into a bmd_hook, and the step count of a system in its current sub-stage. */
#ifndef BATCHMD_HOOKS_INTERNAL_H
#define BATCHMD_HOOKS_INTERNAL_H

#include "batchmd/hooks.h"

/* Allocates a bmd_hook around self (freed with destroy(self) on failure). */
bmd_status bmd__hook_wrap(const bmd_hook_ops *ops, void *self, unsigned points, long every, bmd_hook **out);

/* Column index of "steps.<name>" for each sub-stage of the stage
 * (cols[k], k <= BMD__HOOK_MAX_SUB); returns k, or -1 on error. */
#define BMD__HOOK_MAX_SUB 64
int bmd__hook_steps_columns(const bmd_stage *st, bmd_batch *b, int cols[BMD__HOOK_MAX_SUB]);

#endif
