/* sink.c — owns the sink interface's common part: write, the optional
 * full/skip operations (absent ones mean "never full" and "nothing to do"),
 * and close-then-destroy. The implementations live in sink_*.c. */
#include "batchmd/flow.h"

#include <stdlib.h>

bmd_status bmd_sink_write(bmd_sink *s, const bmd_system *sys) { return s->ops->write(s->self, sys); }

int bmd_sink_full(const bmd_sink *s) { return s && s->ops->full ? s->ops->full(s->self) != 0 : 0; }

bmd_status bmd_sink_skip(bmd_sink *s, int64_t system_id) {
    return s && s->ops->skip ? s->ops->skip(s->self, system_id) : BMD_OK;
}

bmd_status bmd_sink_destroy(bmd_sink *s) {
    if (!s) return BMD_OK;
    bmd_status st = s->ops->close ? s->ops->close(s->self) : BMD_OK;
    if (s->ops->destroy) s->ops->destroy(s->self);
    free(s);
    return st;
}
