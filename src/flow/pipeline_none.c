/* pipeline_none.c — the transport of pipeline_internal.h in a build
 * without MPI: a world of one rank. Collectives are copies; point-to-point
 * operations and bmd_pipeline_init fail with BMD_ERR_UNSUPPORTED and a
 * message (a one-rank pipeline has no links, so bmd_pipeline_run still
 * works on one rank). */
#include <string.h>

#include "flow/pipeline_internal.h"

static bmd_status no_mpi(void) {
    return bmd__fail(BMD_ERR_UNSUPPORTED, "this batchmd was built without MPI, so its pipeline runs on one rank only "
                     "(install an MPI, e.g. libopenmpi-dev, and rebuild)");
}

int bmd_pipeline_mpi_available(void) { return 0; }
bmd_status bmd_pipeline_init(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    return no_mpi();
}
void bmd_pipeline_finalize(void) {}
int bmd_pipeline_world_rank(void) { return 0; }
int bmd_pipeline_world_size(void) { return 1; }

bmd_status bmd__mpi_allgather(const void *mine, size_t n, void *all) {
    memcpy(all, mine, n);
    return BMD_OK;
}

bmd_status bmd__mpi_allreduce(double *v, int n, int max) {
    (void)v;
    (void)n;
    (void)max;
    return BMD_OK;
}

bmd_status bmd__mpi_barrier(void) { return BMD_OK; }

bmd_status bmd__mpi_send(int to, const void *buf, size_t n, int sync) {
    (void)to;
    (void)sync;
    (void)buf;
    (void)n;
    return no_mpi();
}

bmd_status bmd__mpi_isend(int to, const void *buf, size_t n, int sync, bmd__req **req) {
    (void)to;
    (void)sync;
    (void)buf;
    (void)n;
    *req = NULL;
    return no_mpi();
}

bmd_status bmd__mpi_notice_send_all(int value) {
    (void)value;
    return BMD_OK; /* a world of one: nobody to tell */
}

bmd_status bmd__mpi_notice_irecv(int *value, bmd__req **req) {
    (void)value;
    *req = NULL;
    return no_mpi();
}

bmd_status bmd__mpi_ctl_send(int to, int value) {
    (void)to;
    (void)value;
    return no_mpi();
}

bmd_status bmd__mpi_ctl_irecv(int *value, bmd__req **req) {
    (void)value;
    *req = NULL;
    return no_mpi();
}

bmd_status bmd__mpi_recv(int from, void *buf, size_t cap, size_t *len) {
    (void)from;
    (void)buf;
    (void)cap;
    *len = 0;
    return no_mpi();
}

bmd_status bmd__mpi_irecv(int from, void *buf, size_t cap, bmd__req **req) {
    (void)from;
    (void)buf;
    (void)cap;
    *req = NULL;
    return no_mpi();
}

bmd_status bmd__mpi_complete(bmd__req *req, int wait, int *done, size_t *len) {
    (void)req;
    (void)wait;
    *done = 1;
    if (len) *len = 0;
    return no_mpi();
}
