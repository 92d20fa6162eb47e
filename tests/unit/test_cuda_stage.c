/* test_cuda_stage.c — what the CUDA engine accepts as a stage
 * (bmd__cuda_stage_check, host C, the checks of bmd_cuda_engine_set_stage):
 * FIRE and FIRE2 with the catalogue's defaults in their twelve slots (their
 * own parameters, then the `cell:` block: filter none, pressure 0, mask
 * all) are accepted; a cell filter, a pressure or a partial mask there is
 * refused (variable-cell relaxation runs on the CPU: it must not run on the
 * device as a fixed-cell one); the older checks (kind, dt, chain) stand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "batchmd/batchmd.h"
#include "cuda/cuda_internal.h"

/* the catalogue's defaults of `type`, with parameter `name` set to v */
static bmd_cuda_substage sub_of(bmd_cuda_dyn_kind kind, const char *type, const char *name, double v) {
    bmd_cuda_substage s;
    memset(&s, 0, sizeof s);
    s.kind = kind;
    s.max_steps = 100;
    const bmd_dynamics_type *t = bmd_dynamics_find(type);
    assert_non_null(t);
    for (int k = 0; k < t->n_params && k < BMD_CUDA_NPAR; k++)
        s.params[k] = name && strcmp(t->params[k].name, name) == 0 ? v : t->params[k].def;
    return s;
}

static void test_fire_cells(void **state) {
    (void)state;
    const struct {
        bmd_cuda_dyn_kind kind;
        const char *type;
    } opt[] = {{BMD_CUDA_FIRE, "fire"}, {BMD_CUDA_FIRE2, "fire2"}};
    for (int i = 0; i < 2; i++) {
        bmd_cuda_substage s = sub_of(opt[i].kind, opt[i].type, NULL, 0);
        assert_int_equal(bmd__cuda_stage_check(&s, 1), BMD_OK);
        for (int f = 1; f <= 3; f++) { /* unit, exp, frechet */
            s = sub_of(opt[i].kind, opt[i].type, "filter", f);
            assert_int_equal(bmd__cuda_stage_check(&s, 1), BMD_ERR_UNSUPPORTED);
            assert_non_null(strstr(bmd_last_error(), "runs on the CPU only"));
        }
        if (opt[i].kind == BMD_CUDA_FIRE) { /* (FIRE2's filter fills its last slot) */
            s = sub_of(opt[i].kind, opt[i].type, "pressure", 100);
            assert_int_equal(bmd__cuda_stage_check(&s, 1), BMD_ERR_UNSUPPORTED);
            s = sub_of(opt[i].kind, opt[i].type, "mask", 7);
            assert_int_equal(bmd__cuda_stage_check(&s, 1), BMD_ERR_UNSUPPORTED);
            s = sub_of(opt[i].kind, opt[i].type, "mask", 0); /* a zero-filled slot */
            assert_int_equal(bmd__cuda_stage_check(&s, 1), BMD_OK);
        }
    }
    bmd_cuda_substage two[2] = {sub_of(BMD_CUDA_NVE, "nve", "dt", 1.0), sub_of(BMD_CUDA_FIRE, "fire", "filter", 2)};
    assert_int_equal(bmd__cuda_stage_check(two, 1), BMD_OK);
    assert_int_equal(bmd__cuda_stage_check(two, 2), BMD_ERR_UNSUPPORTED);
    two[0].params[0] = 0;
    assert_int_equal(bmd__cuda_stage_check(two, 1), BMD_ERR_INVALID);
    assert_int_equal(bmd__cuda_stage_check(two, BMD_CUDA_MAX_SUB + 1), BMD_ERR_INVALID);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_fire_cells)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
