/* version.c — owns the library's version query. */
#include "batchmd/batchmd.h"

const char *bmd_version(void) { return BMD_VERSION_STRING; }
