/* pipeline_link.h — one rank's ends of the pipeline's links (internal to
 * src/flow, MPI-free: the transport is pipeline_internal.h): the hand-over
 * buffer it packs and sends to the next rank, the receive from the prior
 * rank and the park of received messages (FIFO, buffers recycled), the
 * per-round phase flags and debug counts, the agreement of the
 * synchronized mode, the notices (a failure anywhere stops every rank
 * within a step) and the drain after an error. pipeline_run.c drives
 * it from the inflight loop. */
#ifndef BATCHMD_FLOW_PIPELINE_LINK_H
#define BATCHMD_FLOW_PIPELINE_LINK_H

#include "flow/handover.h"
#include "flow/pipeline_internal.h"

typedef struct bmd__parked {
    unsigned char *buf;
    bmd__handover_reader rd;
} bmd__parked;

typedef struct bmd__link {
    bmd_pipeline *p;
    int first, last, sync_mode;
    bmd_comm_mode comm;
    bmd__handover out;          /* packing buffer (not last) */
    bmd__req *send_req;         /* pending send (fully_async) */
    int sent_done;
    int64_t seq_out, total;     /* total: the chain's dataset size, -1 unknown */
    unsigned char *rbuf;        /* buffer of the posted receive */
    bmd__req *recv_req;
    int upstream_done, upstream_error; /* upstream_error: the failing rank + 1 */
    bmd__parked *park;          /* FIFO of received messages with systems left */
    int park_head, park_n, park_cap;
    unsigned char **spare;      /* recycled receive buffers */
    int n_spare, cap_spare;
    long round;
    int sent_round, recvd_round, agreed_round, barriers; /* phases done this round */
    /* this round's counts, for the debug log */
    int c_recv_sys, c_recv_atoms, c_recv_msgs, c_grad, c_fail, c_packed, c_held, c_admit, c_sent_sys, c_sent_atoms;
    size_t c_sent_bytes;
    unsigned c_sent_flags;
    /* notices (pipeline_internal.h): one to and from every other rank a run */
    int notice_val, notices_in, notice_sent;
    bmd__req *notice_req;
    int notice_error; /* the failing rank + 1 that a notice named, 0: none */
    /* checkpoints (pipeline_run.c): a marker arrived (on a first rank: one
     * was decided) and this rank's cut is still to come: until then nothing
     * more is received; stop: the marker asks every rank to stop after it */
    int marker, marker_stop;
    int64_t gen; /* generation of this rank's last cut */
    size_t out_len; /* sealed length of the buffer (bmd__link_seal) */
    long messages;
    double bytes;
    /* seconds this rank spent blocked: in sends (a blocking send, or the
     * completion of a non-blocking one) and in receives it waited for */
    double t_send_wait, t_recv_wait;
    long n_send_wait, n_recv_wait; /* of which took longer than 100 µs */
} bmd__link;

void bmd__link_free(bmd__link *x);
static inline int bmd__link_park_empty(const bmd__link *x) { return x->park_n == 0; }
/* Systems waiting in the park. */
long bmd__link_parked_systems(const bmd__link *x);
/* The oldest parked message with systems left (consumed ones are recycled), NULL when none. */
bmd__handover_reader *bmd__link_head(bmd__link *x);
/* Posts the receive of the prior rank's next message (when none is posted). */
bmd_status bmd__link_post_recv(bmd__link *x);
/* The async modes keep a receive posted while the park holds fewer than
 * this many messages with systems: the prior rank's next message (often an
 * empty one) can land while this rank still admits parked systems, so the
 * prior rank's send does not wait for this rank's next refill; at most
 * BMD__LINK_AHEAD messages wait in the park, plus the posted receive. */
enum { BMD__LINK_AHEAD = 2 };
/* Posts the next receive if the comm mode is async and the park has room
 * by the rule above. */
bmd_status bmd__link_post_ahead(bmd__link *x);
/* Completes the posted receive, waiting or testing; a message goes to the park. */
bmd_status bmd__link_complete_recv(bmd__link *x, int wait);
/* The round's receive: with need, the prior rank's next message is waited
 * for (sync: a blocking receive), else a posted receive is only tested. */
bmd_status bmd__link_recv(bmd__link *x, int need);
/* Seals the buffer with flags and sends it to the next rank (fully_async:
 * non-blocking, completed by bmd__link_finish_send). */
bmd_status bmd__link_send(bmd__link *x, unsigned flags);
/* bmd__link_send in two halves: seal (the message is then counted as sent:
 * seq_out, sent_done) and transmit; a checkpoint is cut in between. */
void bmd__link_seal(bmd__link *x, unsigned flags);
bmd_status bmd__link_transmit(bmd__link *x);
/* Checkpoints: appends the link's state (sequence number, dataset size,
 * done flags, generation, the parked messages as raw bytes with their read
 * positions) to out; restore puts it back into a fresh link. */
struct bmd__buf;
struct bmd__rd;
void bmd__link_save(const bmd__link *x, struct bmd__buf *out);
bmd_status bmd__link_restore(bmd__link *x, struct bmd__rd *r);
bmd_status bmd__link_finish_send(bmd__link *x);
/* All ranks agree whether all are done (synchronized mode). */
bmd_status bmd__link_agree(bmd__link *x, int mine, int *all_done);
/* Takes the notices that have arrived from the other ranks (wait: until
 * all have); the first failure notice sets notice_error. */
bmd_status bmd__link_notices(bmd__link *x, int wait);
/* Sends this rank's notice to every other rank (once a run): -1 at a good
 * end, else the failing rank (this one, or the one it learned of). */
bmd_status bmd__link_notify(bmd__link *x, int value);
/* The rank whose failure stops this one: upstream_error, notice_error, else this rank. */
int bmd__link_error_origin(const bmd__link *x);
/* After an error on this rank: tells the next rank (done + error), takes
 * and drops what the prior rank still sends, and in synchronized mode
 * keeps the lockstep (`steps` barriers a round) until every rank is done,
 * so that no rank waits forever. Keeps the error message. */
void bmd__link_drain(bmd__link *x, long steps);

#endif
