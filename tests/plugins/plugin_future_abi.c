/* plugin_future_abi.c — a test plug-in built for another ABI version (99):
 * the loader must refuse it, naming both versions, without touching any
 * other field of its table (tests/unit/test_plugin.c). */
#define BMD_PLUGIN_ONLY
#include "batchmd/model_plugin.h"

static const struct {
    int abi_version;
    const char *something_else;
} table = {99, "a layout batchmd does not know"};

BMD_PLUGIN_EXPORT const bmd_plugin_api *bmd_plugin_entry(void) { return (const bmd_plugin_api *)(const void *)&table; }
