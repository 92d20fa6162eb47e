/* bridge.c — Python models (issue #15 item 3): filled in by the bridge work. */
#include "pybmd.h"

int bmdpy_init_bridge(PyObject *m) {
    (void)m;
    return 0;
}
