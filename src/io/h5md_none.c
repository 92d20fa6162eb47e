/* h5md_none.c — owns the stand-in for the H5MD sink in builds without HDF5
 * (CMake compiles it instead of h5md.c): creating an H5MD sink fails with a
 * message that says how to get one. */
#include "batchmd/h5md.h"

bmd_status bmd_sink_h5md_create(const char *path, bmd_units_kind units, bmd_sink **out) {
    (void)units;
    if (out) *out = NULL;
    return bmd__fail(BMD_ERR_UNSUPPORTED, "%s: batchmd was built without HDF5 (install libhdf5-dev and rebuild)",
                     path ? path : "(no path)");
}

bmd_status bmd_sink_h5md_reopen(const char *path, bmd_units_kind units, bmd_sink **out) {
    return bmd_sink_h5md_create(path, units, out);
}

int bmd_h5md_available(void) { return 0; }
