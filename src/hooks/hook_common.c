/* hook_common.c — owns the helpers the built-in hooks share (hooks_internal.h). */
#include "hooks/hooks_internal.h"

#include <stdlib.h>

bmd_status bmd__hook_wrap(const bmd_hook_ops *ops, void *self, unsigned points, long every, bmd_hook **out) {
    bmd_hook *h = calloc(1, sizeof *h);
    if (!h) {
        ops->destroy(self);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory creating hook '%s'", ops->type);
    }
    h->ops = ops;
    h->self = self;
    h->points = points;
    h->every = every >= 1 ? every : 1;
    *out = h;
    return BMD_OK;
}

int bmd__hook_steps_columns(const bmd_stage *st, bmd_batch *b, int cols[BMD__HOOK_MAX_SUB]) {
    int k = bmd_stage_count(st);
    if (k > BMD__HOOK_MAX_SUB) k = BMD__HOOK_MAX_SUB;
    for (int i = 0; i < k; i++)
        if ((cols[i] = bmd_stage_steps_column(st, b, i)) < 0) return -1;
    return k;
}
