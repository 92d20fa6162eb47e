/* pipeline_mpi.c — owns every call into MPI (the only file that includes
 * mpi.h): initialization and finalization, the world's rank and size, and
 * the transport of pipeline_internal.h on a private duplicate of
 * MPI_COMM_WORLD (synchronous sends for back-pressure, standard ones for
 * messages that carry no systems). Built when CMake
 * finds MPI (BMD_HAVE_MPI); pipeline_none.c stands in otherwise.
 *
 * Waiting is polite: every blocking operation is a non-blocking one tested
 * in a loop that spins briefly, then sleeps (10 µs growing to 100 µs), so
 * a rank waiting for its neighbour does not burn a core that a computing
 * rank (or another job) could use. The added latency (under 0.1 ms) is
 * small against a round of steps. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow/pipeline_internal.h"

#define TAG 7301
#define NOTICE_TAG 7302
#define CTL_TAG 7303

static MPI_Comm comm = MPI_COMM_NULL;
static int we_initialized = 0;

struct bmd__req {
    MPI_Request r;
};

static bmd_status mpi_fail(int err, const char *what) {
    char text[MPI_MAX_ERROR_STRING];
    int n = 0;
    if (MPI_Error_string(err, text, &n) != MPI_SUCCESS) snprintf(text, sizeof text, "error %d", err);
    return bmd__fail(BMD_ERR_RUNTIME, "MPI: %s failed: %s", what, text);
}

/* Completes *r: spins ~50 µs of tests, then sleeps between tests (10 µs
 * growing to 100 µs: a longer nap showed up as latency — a blocking send
 * that waits for the next rank to match it typically completes a fraction
 * of a step after the wait began, and a 1 ms nap then overshot by a third). */
static int wait_polite(MPI_Request *r, MPI_Status *st) {
    int flag = 0, err = MPI_Test(r, &flag, st);
    long nap = 10000; /* ns */
    double t0 = MPI_Wtime();
    while (err == MPI_SUCCESS && !flag) {
        if (MPI_Wtime() - t0 > 50e-6) {
            struct timespec ts = {0, nap};
            nanosleep(&ts, NULL);
            if (nap < 100000) nap += nap / 2;
        }
        err = MPI_Test(r, &flag, st);
    }
    return err;
}

int bmd_pipeline_mpi_available(void) { return 1; }

bmd_status bmd_pipeline_init(int *argc, char ***argv) {
    if (comm != MPI_COMM_NULL) return BMD_OK;
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (fin) return bmd__fail(BMD_ERR_RUNTIME, "MPI was already finalized");
    if (!init) {
        int provided = 0;
        int err = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
        if (err != MPI_SUCCESS) return mpi_fail(err, "MPI_Init_thread");
        we_initialized = 1;
    }
    /* errors come back as codes, not as an abort (the caller's world keeps
     * its handler when the caller initialized MPI) */
    if (we_initialized) MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int err = MPI_Comm_dup(MPI_COMM_WORLD, &comm);
    if (err != MPI_SUCCESS) return mpi_fail(err, "MPI_Comm_dup");
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    return BMD_OK;
}

void bmd_pipeline_finalize(void) {
    if (comm != MPI_COMM_NULL) MPI_Comm_free(&comm);
    comm = MPI_COMM_NULL;
    if (we_initialized) {
        int fin = 0;
        MPI_Finalized(&fin);
        if (!fin) MPI_Finalize();
        we_initialized = 0;
    }
}

int bmd_pipeline_world_rank(void) {
    int r = 0;
    if (comm != MPI_COMM_NULL) MPI_Comm_rank(comm, &r);
    return r;
}

int bmd_pipeline_world_size(void) {
    int n = 1;
    if (comm != MPI_COMM_NULL) MPI_Comm_size(comm, &n);
    return n;
}

bmd_status bmd__mpi_allgather(const void *mine, size_t n, void *all) {
    if (comm == MPI_COMM_NULL) {
        memcpy(all, mine, n);
        return BMD_OK;
    }
    MPI_Request r;
    int err = MPI_Iallgather(mine, (int)n, MPI_BYTE, all, (int)n, MPI_BYTE, comm, &r);
    if (err == MPI_SUCCESS) err = wait_polite(&r, MPI_STATUS_IGNORE);
    return err == MPI_SUCCESS ? BMD_OK : mpi_fail(err, "MPI_Allgather");
}

bmd_status bmd__mpi_allreduce(double *v, int n, int max) {
    if (comm == MPI_COMM_NULL) return BMD_OK;
    MPI_Request r;
    int err = MPI_Iallreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, max ? MPI_MAX : MPI_SUM, comm, &r);
    if (err == MPI_SUCCESS) err = wait_polite(&r, MPI_STATUS_IGNORE);
    return err == MPI_SUCCESS ? BMD_OK : mpi_fail(err, "MPI_Allreduce");
}

bmd_status bmd__mpi_barrier(void) {
    if (comm == MPI_COMM_NULL) return BMD_OK;
    MPI_Request r;
    int err = MPI_Ibarrier(comm, &r);
    if (err == MPI_SUCCESS) err = wait_polite(&r, MPI_STATUS_IGNORE);
    return err == MPI_SUCCESS ? BMD_OK : mpi_fail(err, "MPI_Barrier");
}

static bmd_status need_comm(void) {
    return comm != MPI_COMM_NULL ? BMD_OK
                                 : bmd__fail(BMD_ERR_INVALID, "pipeline: MPI is not initialized (bmd_pipeline_init)");
}

bmd_status bmd__mpi_send(int to, const void *buf, size_t n, int sync) {
    bmd_status rc = need_comm();
    if (rc) return rc;
    MPI_Request r;
    int err = sync ? MPI_Issend(buf, (int)n, MPI_BYTE, to, TAG, comm, &r)
                   : MPI_Isend(buf, (int)n, MPI_BYTE, to, TAG, comm, &r);
    if (err == MPI_SUCCESS) err = wait_polite(&r, MPI_STATUS_IGNORE);
    return err == MPI_SUCCESS ? BMD_OK : mpi_fail(err, sync ? "MPI_Ssend" : "MPI_Send");
}

static bmd_status new_req(bmd__req **req) {
    *req = malloc(sizeof **req);
    return *req ? BMD_OK : bmd__fail(BMD_ERR_NOMEM, "out of memory");
}

bmd_status bmd__mpi_isend(int to, const void *buf, size_t n, int sync, bmd__req **req) {
    bmd_status rc = need_comm();
    if (!rc) rc = new_req(req);
    if (rc) return rc;
    int err = sync ? MPI_Issend(buf, (int)n, MPI_BYTE, to, TAG, comm, &(*req)->r)
                   : MPI_Isend(buf, (int)n, MPI_BYTE, to, TAG, comm, &(*req)->r);
    if (err == MPI_SUCCESS) return BMD_OK;
    free(*req);
    *req = NULL;
    return mpi_fail(err, sync ? "MPI_Issend" : "MPI_Isend");
}

bmd_status bmd__mpi_notice_send_all(int value) {
    if (comm == MPI_COMM_NULL) return BMD_OK; /* a world of one: nobody to tell */
    int size = 1, me = 0;
    MPI_Comm_size(comm, &size);
    MPI_Comm_rank(comm, &me);
    static int v; /* the sends read it until they complete, below */
    v = value;
    int err = MPI_SUCCESS;
    for (int r = 0; r < size && err == MPI_SUCCESS; r++) {
        if (r == me) continue;
        MPI_Request q;
        err = MPI_Isend(&v, 1, MPI_INT, r, NOTICE_TAG, comm, &q);
        if (err == MPI_SUCCESS) err = wait_polite(&q, MPI_STATUS_IGNORE);
    }
    return err == MPI_SUCCESS ? BMD_OK : mpi_fail(err, "MPI_Send (notice)");
}

bmd_status bmd__mpi_notice_irecv(int *value, bmd__req **req) {
    bmd_status rc = need_comm();
    if (!rc) rc = new_req(req);
    if (rc) return rc;
    int err = MPI_Irecv(value, 1, MPI_INT, MPI_ANY_SOURCE, NOTICE_TAG, comm, &(*req)->r);
    if (err == MPI_SUCCESS) return BMD_OK;
    free(*req);
    *req = NULL;
    return mpi_fail(err, "MPI_Irecv (notice)");
}

bmd_status bmd__mpi_ctl_send(int to, int value) {
    bmd_status rc = need_comm();
    if (rc) return rc;
    MPI_Request q;
    int err = MPI_Isend(&value, 1, MPI_INT, to, CTL_TAG, comm, &q);
    if (err == MPI_SUCCESS) err = wait_polite(&q, MPI_STATUS_IGNORE);
    return err == MPI_SUCCESS ? BMD_OK : mpi_fail(err, "MPI_Send (checkpoint control)");
}

bmd_status bmd__mpi_ctl_irecv(int *value, bmd__req **req) {
    bmd_status rc = need_comm();
    if (!rc) rc = new_req(req);
    if (rc) return rc;
    int err = MPI_Irecv(value, 1, MPI_INT, MPI_ANY_SOURCE, CTL_TAG, comm, &(*req)->r);
    if (err == MPI_SUCCESS) return BMD_OK;
    free(*req);
    *req = NULL;
    return mpi_fail(err, "MPI_Irecv (checkpoint control)");
}

bmd_status bmd__mpi_recv(int from, void *buf, size_t cap, size_t *len) {
    bmd_status rc = need_comm();
    if (rc) return rc;
    MPI_Status st;
    MPI_Request r;
    int err = MPI_Irecv(buf, (int)cap, MPI_BYTE, from, TAG, comm, &r);
    if (err == MPI_SUCCESS) err = wait_polite(&r, &st);
    if (err != MPI_SUCCESS) return mpi_fail(err, "MPI_Recv");
    int count = 0;
    MPI_Get_count(&st, MPI_BYTE, &count);
    *len = (size_t)count;
    return BMD_OK;
}

bmd_status bmd__mpi_irecv(int from, void *buf, size_t cap, bmd__req **req) {
    bmd_status rc = need_comm();
    if (!rc) rc = new_req(req);
    if (rc) return rc;
    int err = MPI_Irecv(buf, (int)cap, MPI_BYTE, from, TAG, comm, &(*req)->r);
    if (err == MPI_SUCCESS) return BMD_OK;
    free(*req);
    *req = NULL;
    return mpi_fail(err, "MPI_Irecv");
}

bmd_status bmd__mpi_complete(bmd__req *req, int wait, int *done, size_t *len) {
    MPI_Status st;
    int flag = 0, err;
    if (wait) {
        err = wait_polite(&req->r, &st);
        flag = 1;
    } else {
        err = MPI_Test(&req->r, &flag, &st);
    }
    if (err != MPI_SUCCESS) return mpi_fail(err, wait ? "MPI_Wait" : "MPI_Test");
    *done = flag;
    if (!flag) return BMD_OK;
    if (len) {
        int count = 0;
        MPI_Get_count(&st, MPI_BYTE, &count);
        *len = (size_t)count;
    }
    free(req);
    return BMD_OK;
}
