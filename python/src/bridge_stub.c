/* bridge_stub.c — TEMPORARY (branch wip/embed only): stands for
 * bmdpy_bridge_model until python/src/bridge.c (branch wip/bridge) has it;
 * removed when that lands. */
#include "pybmd.h"

bmd_status bmdpy_bridge_model(PyObject *obj, int units, bmd_model **out) {
    (void)obj;
    (void)units;
    *out = NULL;
    return bmd__fail(BMD_ERR_UNSUPPORTED, "python model: the bridge (python/src/bridge.c) is not built yet");
}
