/* pipeline_internal.h — the message transport of a pipeline (internal to
 * src/flow): the few MPI operations pipeline.c needs, implemented by
 * pipeline_mpi.c (the only file that includes mpi.h) and, in builds
 * without MPI, by pipeline_none.c for a world of one rank (collectives
 * copy, point-to-point operations fail: a one-rank pipeline has no links).
 *
 * Before bmd_pipeline_init (or when the process was not launched by an MPI
 * launcher) the world is one rank and the collectives are copies. Messages
 * travel on a private duplicate of MPI_COMM_WORLD, so they never meet the
 * caller's. Sends that carry systems are synchronous (they complete when
 * the receiver has posted the matching receive): the pipeline's
 * back-pressure. */
#ifndef BATCHMD_FLOW_PIPELINE_INTERNAL_H
#define BATCHMD_FLOW_PIPELINE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "batchmd/pipeline.h"

typedef struct bmd__req bmd__req; /* an outstanding non-blocking send or receive */

/* all[size * n] receives every rank's n bytes, in rank order. */
bmd_status bmd__mpi_allgather(const void *mine, size_t n, void *all);
/* In place over all ranks: the sum (max == 0) or the maximum of v[0..n). */
bmd_status bmd__mpi_allreduce(double *v, int n, int max);
bmd_status bmd__mpi_barrier(void);
/* Blocking send of n bytes to rank `to`: synchronous (sync != 0: it
 * completes when the receiver has matched it) or standard (a small message
 * completes as soon as MPI has copied it out). */
bmd_status bmd__mpi_send(int to, const void *buf, size_t n, int sync);
/* Non-blocking send, as above; buf must stay untouched until completed. */
bmd_status bmd__mpi_isend(int to, const void *buf, size_t n, int sync, bmd__req **req);
/* Blocking receive of at most cap bytes from rank `from`; *len: bytes received. */
bmd_status bmd__mpi_recv(int from, void *buf, size_t cap, size_t *len);
bmd_status bmd__mpi_irecv(int from, void *buf, size_t cap, bmd__req **req);
/* Completes req: waits (wait != 0) or tests. *done = 1 when complete (req is
 * then freed; *len, may be NULL, receives a receive's byte count). */
bmd_status bmd__mpi_complete(bmd__req *req, int wait, int *done, size_t *len);

/* The notice channel (its own tag): every rank sends each other rank one
 * notice per run, an int (-1: it ended well; r >= 0: it stops because rank
 * r failed), and receives one from each. Sends are standard mode and
 * tiny, so they complete at once. */
bmd_status bmd__mpi_notice_send_all(int value);
/* Posts the receive of the next notice from any rank into *value. */
bmd_status bmd__mpi_notice_irecv(int *value, bmd__req **req);

/* The checkpoint control channel (its own tag; pipeline_ckpt.c): tiny
 * standard-mode sends of an int to a chain's first rank (a generation
 * complete on the last rank, a stop request, a rank's end of run). */
bmd_status bmd__mpi_ctl_send(int to, int value);
/* Posts the receive of the next control value from any rank. */
bmd_status bmd__mpi_ctl_irecv(int *value, bmd__req **req);

/* The file of generation gen on this rank (pipeline_ckpt.c): later writes
 * of ck go there. */
struct bmd_checkpoint;
bmd_status bmd__pipeline_ckpt_use(const bmd_pipeline *p, struct bmd_checkpoint *ck, int64_t gen);

/* ---- the pipeline object (pipeline.c sets it up, pipeline_run.c runs it) ---- */
struct bmd_pipeline {
    int rank, size;
    int prior, next; /* this rank's links (-1: none) */
    bmd_pipeline_options opt;
    size_t bytes; /* hand-over buffer capacity */
    int debug;    /* opt.debug or BATCHMD_PIPELINE_DEBUG */
    bmd_pipeline_totals totals;
    /* checkpoints (bmd_pipeline_checkpoint_setup) */
    struct bmd_checkpoint *ck;
    int head;      /* the first rank of this rank's chain */
    int chain_n;   /* ranks in this rank's chain */
    int64_t gen;   /* the generation loaded (-1: none; the run starts fresh) */
};

#endif
