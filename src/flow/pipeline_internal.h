/* pipeline_internal.h — the message transport of a pipeline (internal to
 * src/flow): the few MPI operations pipeline.c needs, implemented by
 * pipeline_mpi.c (the only file that includes mpi.h) and, in builds
 * without MPI, by pipeline_none.c for a world of one rank (collectives
 * copy, point-to-point operations fail: a one-rank pipeline has no links).
 *
 * Before bmd_pipeline_init (or when the process was not launched by an MPI
 * launcher) the world is one rank and the collectives are copies. Messages
 * travel on a private duplicate of MPI_COMM_WORLD, so they never meet the
 * caller's. Sends are synchronous (they complete when the receiver has
 * posted the matching receive): the pipeline's back-pressure. */
#ifndef BATCHMD_FLOW_PIPELINE_INTERNAL_H
#define BATCHMD_FLOW_PIPELINE_INTERNAL_H

#include <stddef.h>

#include "batchmd/pipeline.h"

typedef struct bmd__req bmd__req; /* an outstanding non-blocking send or receive */

/* all[size * n] receives every rank's n bytes, in rank order. */
bmd_status bmd__mpi_allgather(const void *mine, size_t n, void *all);
/* In place over all ranks: the sum (max == 0) or the maximum of v[0..n). */
bmd_status bmd__mpi_allreduce(double *v, int n, int max);
bmd_status bmd__mpi_barrier(void);
/* Blocking synchronous send of n bytes to rank `to`. */
bmd_status bmd__mpi_send(int to, const void *buf, size_t n);
/* Non-blocking synchronous send; buf must stay untouched until completed. */
bmd_status bmd__mpi_isend(int to, const void *buf, size_t n, bmd__req **req);
/* Blocking receive of at most cap bytes from rank `from`; *len: bytes received. */
bmd_status bmd__mpi_recv(int from, void *buf, size_t cap, size_t *len);
bmd_status bmd__mpi_irecv(int from, void *buf, size_t cap, bmd__req **req);
/* Completes req: waits (wait != 0) or tests. *done = 1 when complete (req is
 * then freed; *len, may be NULL, receives a receive's byte count). */
bmd_status bmd__mpi_complete(bmd__req *req, int wait, int *done, size_t *len);

/* ---- the pipeline object (pipeline.c sets it up, pipeline_run.c runs it) ---- */
struct bmd_pipeline {
    int rank, size;
    int prior, next; /* this rank's links (-1: none) */
    bmd_pipeline_options opt;
    size_t bytes; /* hand-over buffer capacity */
    int debug;    /* opt.debug or BATCHMD_PIPELINE_DEBUG */
    bmd_pipeline_totals totals;
};

#endif
