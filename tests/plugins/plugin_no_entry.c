/* plugin_no_entry.c — a broken test plug-in: a shared library that exports
 * no bmd_plugin_entry (its entry point is misspelt), for the loader's
 * "missing symbol" error (tests/unit/test_plugin.c). */
#define BMD_PLUGIN_ONLY
#include "batchmd/model_plugin.h"

BMD_PLUGIN_EXPORT int bmd_plugin_entry_misspelt(void);
BMD_PLUGIN_EXPORT int bmd_plugin_entry_misspelt(void) { return 42; }
