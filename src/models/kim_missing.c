/* kim_missing.c — owns model_kim.h in a build without the KIM API (CMake
 * compiles this file instead of kim.c): every call fails with
 * BMD_ERR_UNSUPPORTED and says how to get KIM support. */
#include "batchmd/model_kim.h"

#include <stddef.h>

#define NO_KIM                                                                                                   \
    "this batchmd was built without the KIM API: install it (Debian: libkim-api-dev and openkim-models) and "   \
    "rebuild to use OpenKIM models"

int bmd_kim_available(void) { return 0; }

bmd_status bmd_model_kim_create(const char *name, double skin, bmd_model **out) {
    (void)skin;
    if (out) *out = NULL;
    return bmd__fail(BMD_ERR_UNSUPPORTED, "kim model %s: %s", name ? name : "(none)", NO_KIM);
}

double bmd_model_kim_influence_distance(const bmd_model *m) {
    (void)m;
    return -1.0;
}

long bmd_model_kim_list_builds(const bmd_model *m) {
    (void)m;
    return -1;
}

bmd_status bmd_kim_list_models(int details, int (*fn)(const bmd_kim_model_info *info, void *ctx), void *ctx) {
    (void)details;
    (void)fn;
    (void)ctx;
    return bmd__fail(BMD_ERR_UNSUPPORTED, "%s", NO_KIM);
}

bmd_status bmd_kim_model_info_get(const char *name, bmd_kim_model_info *info) {
    (void)info;
    return bmd__fail(BMD_ERR_UNSUPPORTED, "kim model %s: %s", name ? name : "(none)", NO_KIM);
}
