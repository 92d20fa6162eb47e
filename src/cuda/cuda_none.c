/* cuda_none.c — owns the stand-in for the CUDA backend in builds without
 * CUDA (CMake compiles it instead of the .cu files when nvcc is absent or
 * -DBMD_WITH_CUDA=OFF): nothing is available, and everything that needs the
 * device fails with a message that says how to get it. */
#include "batchmd/cuda.h"

#include <string.h>

static bmd_status none(void) {
    return bmd__fail(BMD_ERR_UNSUPPORTED,
                     "this batchmd was built without CUDA (install the CUDA toolkit 13 so that CMake finds nvcc, "
                     "and rebuild with -DBMD_WITH_CUDA=ON)");
}

int bmd_cuda_built(void) { return 0; }
int bmd_cuda_available(void) { return 0; }
bmd_status bmd_cuda_check(void) { return none(); }

bmd_status bmd_cuda_device_info(int device, bmd_cuda_device *out) {
    (void)device;
    if (out) memset(out, 0, sizeof *out);
    return none();
}

bmd_status bmd_cuda_engine_create(bmd_cuda_pair_kind kind, const bmd_pair_params *pairs, int n_pairs,
                                  const bmd_pair_options *popt, const bmd_cuda_options *opt,
                                  bmd_cuda_engine **out) {
    (void)kind, (void)pairs, (void)n_pairs, (void)popt, (void)opt;
    if (out) *out = NULL;
    return none();
}

void bmd_cuda_engine_destroy(bmd_cuda_engine *e) { (void)e; }

bmd_status bmd_cuda_engine_set_stage(bmd_cuda_engine *e, const bmd_cuda_substage *sub, int n_sub) {
    (void)e, (void)sub, (void)n_sub;
    return none();
}

bmd_status bmd_cuda_engine_insert(bmd_cuda_engine *e, const bmd_batch *b, const unsigned char *sel) {
    (void)e, (void)b, (void)sel;
    return none();
}

bmd_status bmd_cuda_engine_evict(bmd_cuda_engine *e, const unsigned char *remove) {
    (void)e, (void)remove;
    return none();
}

int bmd_cuda_engine_systems(const bmd_cuda_engine *e) { (void)e; return 0; }
long bmd_cuda_engine_atoms(const bmd_cuda_engine *e) { (void)e; return 0; }

bmd_status bmd_cuda_engine_compute(bmd_cuda_engine *e, const bmd_compute_request *req) {
    (void)e, (void)req;
    return none();
}

bmd_status bmd_cuda_engine_step(bmd_cuda_engine *e, int n) {
    (void)e, (void)n;
    return none();
}

bmd_status bmd_cuda_engine_download(bmd_cuda_engine *e, double *pos, double *vel, double *force, double *energy,
                                    double *virial, int *status, double *steps) {
    (void)e, (void)pos, (void)vel, (void)force, (void)energy, (void)virial, (void)status, (void)steps;
    return none();
}
