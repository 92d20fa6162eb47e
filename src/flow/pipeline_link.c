/* pipeline_link.c — owns one rank's ends of the pipeline's links
 * (pipeline_link.h): receive buffers and their recycling, the park of
 * received messages, receiving (posted ahead in the async modes) and
 * sending in the comm modes, the wait timers of the debug log, the
 * notices (one to and from every rank a run; a failure notice stops the
 * others), the synchronized mode's agreement, and the drain after an
 * error. MPI-free. */
#include "flow/pipeline_link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/checkpoint_internal.h"
#include "flow/flow_internal.h"

static void note_wait(double t0, double *sum, long *n) {
    double dt = bmd__now() - t0;
    *sum += dt;
    if (dt > 100e-6) (*n)++;
}

/* ---------------------------------------------------------------- buffers */

static unsigned char *get_buf(bmd__link *x) {
    if (x->n_spare > 0) return x->spare[--x->n_spare];
    return malloc(x->p->bytes);
}

static void put_buf(bmd__link *x, unsigned char *b) {
    if (!b) return;
    if (x->n_spare == x->cap_spare) {
        int cap = x->cap_spare ? 2 * x->cap_spare : 4;
        unsigned char **q = realloc(x->spare, (size_t)cap * sizeof *q);
        if (!q) {
            free(b);
            return;
        }
        x->spare = q;
        x->cap_spare = cap;
    }
    x->spare[x->n_spare++] = b;
}

/* Takes a received message (buf is then owned by the park or recycled). */
static bmd_status park_push(bmd__link *x, unsigned char *buf, size_t len) {
    bmd__handover_reader rd;
    bmd_status rc = bmd__handover_open(&rd, buf, len, x->p->bytes);
    if (rc) {
        char why[512];
        snprintf(why, sizeof why, "%s", bmd_last_error());
        put_buf(x, buf);
        return bmd__fail(rc, "rank %d: message %ld from rank %d: %s", x->p->rank, x->round, x->p->prior, why);
    }
    if (rd.flags & BMD__HO_DONE) x->upstream_done = 1;
    if (rd.flags & BMD__HO_CKPT) x->marker = 1;
    if (rd.flags & BMD__HO_STOP) x->marker_stop = 1;
    if (rd.flags & BMD__HO_ERROR) x->upstream_error = 1 + (rd.origin >= 0 ? rd.origin : x->p->prior);
    if (rd.total >= 0) x->total = rd.total;
    x->c_recv_msgs++;
    x->c_recv_sys += rd.n_systems;
    x->c_recv_atoms += rd.n_atoms;
    if (rd.n_systems == 0) {
        put_buf(x, buf);
        return BMD_OK;
    }
    if (x->park_head + x->park_n == x->park_cap) {
        if (x->park_head > 0) {
            memmove(x->park, x->park + x->park_head, (size_t)x->park_n * sizeof *x->park);
            x->park_head = 0;
        } else {
            int cap = x->park_cap ? 2 * x->park_cap : 4;
            bmd__parked *q = realloc(x->park, (size_t)cap * sizeof *q);
            if (!q) {
                put_buf(x, buf);
                return bmd__fail(BMD_ERR_NOMEM, "out of memory parking a message");
            }
            x->park = q;
            x->park_cap = cap;
        }
    }
    x->park[x->park_head + x->park_n++] = (bmd__parked){buf, rd};
    return BMD_OK;
}

long bmd__link_parked_systems(const bmd__link *x) {
    long n = 0;
    for (int i = 0; i < x->park_n; i++) n += x->park[x->park_head + i].rd.n_systems - x->park[x->park_head + i].rd.next;
    return n;
}

bmd__handover_reader *bmd__link_head(bmd__link *x) {
    while (x->park_n > 0) {
        bmd__parked *m = &x->park[x->park_head];
        if (m->rd.next < m->rd.n_systems) return &m->rd;
        put_buf(x, m->buf);
        x->park_head++;
        if (--x->park_n == 0) x->park_head = 0;
    }
    return NULL;
}

void bmd__link_free(bmd__link *x) {
    bmd__handover_free(&x->out);
    for (int i = 0; i < x->park_n; i++) free(x->park[x->park_head + i].buf);
    free(x->park);
    for (int i = 0; i < x->n_spare; i++) free(x->spare[i]);
    free(x->spare);
    free(x->rbuf);
}

/* ------------------------------------------------------------ receiving */

/* Completes the posted receive (waiting or testing); a completed message
 * goes to the park. */
bmd_status bmd__link_complete_recv(bmd__link *x, int wait) {
    if (!x->recv_req) return BMD_OK;
    int done = 0;
    size_t len = 0;
    double t0 = bmd__now();
    bmd_status rc = bmd__mpi_complete(x->recv_req, wait, &done, &len);
    if (wait) note_wait(t0, &x->t_recv_wait, &x->n_recv_wait);
    if (rc || !done) return rc;
    x->recv_req = NULL;
    unsigned char *buf = x->rbuf;
    x->rbuf = NULL;
    return park_push(x, buf, len);
}

bmd_status bmd__link_post_recv(bmd__link *x) {
    if (x->recv_req || x->upstream_done || x->first || x->marker) return BMD_OK;
    if (!x->rbuf && !(x->rbuf = get_buf(x))) return bmd__fail(BMD_ERR_NOMEM, "out of memory for a receive buffer");
    return bmd__mpi_irecv(x->p->prior, x->rbuf, x->p->bytes, &x->recv_req);
}

bmd_status bmd__link_post_ahead(bmd__link *x) {
    if (x->comm == BMD_COMM_SYNC || x->park_n >= BMD__LINK_AHEAD) return BMD_OK;
    return bmd__link_post_recv(x);
}

bmd_status bmd__link_recv(bmd__link *x, int need) {
    if (x->first || x->upstream_done || x->marker) return BMD_OK;
    if (x->comm == BMD_COMM_SYNC) {
        if (!need) return BMD_OK;
        unsigned char *buf = get_buf(x);
        if (!buf) return bmd__fail(BMD_ERR_NOMEM, "out of memory for a receive buffer");
        size_t len = 0;
        double t0 = bmd__now();
        bmd_status rc = bmd__mpi_recv(x->p->prior, buf, x->p->bytes, &len);
        note_wait(t0, &x->t_recv_wait, &x->n_recv_wait);
        if (rc) {
            put_buf(x, buf);
            return rc;
        }
        return park_push(x, buf, len);
    }
    bmd_status rc = need ? bmd__link_post_recv(x) : BMD_OK;
    if (!rc) rc = bmd__link_complete_recv(x, need);
    return rc;
}

/* -------------------------------------------------------------- sending */

void bmd__link_seal(bmd__link *x, unsigned flags) {
    int origin = !(flags & BMD__HO_ERROR) ? -1 : bmd__link_error_origin(x);
    size_t len = x->out.buf ? bmd__handover_seal(&x->out, flags, x->seq_out, x->total, origin) : 0;
    x->seq_out++;
    x->out_len = len;
    x->c_sent_sys = x->out.n_systems;
    x->c_sent_atoms = x->out.n_atoms;
    x->c_sent_bytes = len;
    x->c_sent_flags = flags;
    x->messages++;
    x->bytes += (double)len;
    if (flags & BMD__HO_DONE) x->sent_done = 1;
}

bmd_status bmd__link_send(bmd__link *x, unsigned flags) {
    if (!x->out.buf) return bmd__fail(BMD_ERR_NOMEM, "rank %d: no hand-over buffer", x->p->rank);
    bmd__link_seal(x, flags);
    return bmd__link_transmit(x);
}

bmd_status bmd__link_transmit(bmd__link *x) {
    if (!x->out.buf) return bmd__fail(BMD_ERR_NOMEM, "rank %d: no hand-over buffer", x->p->rank);
    size_t len = x->out_len;
    /* Back-pressure needs synchronous sends only for messages that carry
     * systems. In the async modes an empty message (most rounds' message)
     * goes in standard mode: it is small enough for MPI to copy it out at
     * once, so the sender does not wait until the receiver ends its current
     * step and tests its receive. (With synchronous empty messages the
     * sender lost about one receiver step a round: the ranks phase-lock.)
     * Empty messages pile up at the receiver only while its park is full,
     * one a round, until the sender's next message with systems blocks it. */
    int sync = x->comm == BMD_COMM_SYNC || x->sync_mode || x->out.n_systems > 0;
    if (x->comm == BMD_COMM_FULLY_ASYNC) return bmd__mpi_isend(x->p->next, x->out.buf, len, sync, &x->send_req);
    double t0 = bmd__now();
    bmd_status rc = bmd__mpi_send(x->p->next, x->out.buf, len, sync);
    note_wait(t0, &x->t_send_wait, &x->n_send_wait);
    return rc;
}

bmd_status bmd__link_finish_send(bmd__link *x) {
    if (!x->send_req) return BMD_OK;
    int done = 0;
    double t0 = bmd__now();
    bmd_status rc = bmd__mpi_complete(x->send_req, 1, &done, NULL);
    note_wait(t0, &x->t_send_wait, &x->n_send_wait);
    x->send_req = NULL;
    return rc;
}

/* -------------------------------------------------------------- notices */

bmd_status bmd__link_notices(bmd__link *x, int wait) {
    while (x->notices_in < x->p->size - 1) {
        bmd_status rc = x->notice_req ? BMD_OK : bmd__mpi_notice_irecv(&x->notice_val, &x->notice_req);
        int done = 0;
        if (!rc) rc = bmd__mpi_complete(x->notice_req, wait, &done, NULL);
        if (rc || !done) return rc;
        x->notice_req = NULL;
        x->notices_in++;
        if (x->notice_val >= 0 && !x->notice_error) x->notice_error = x->notice_val + 1;
    }
    return BMD_OK;
}

bmd_status bmd__link_notify(bmd__link *x, int value) {
    if (x->notice_sent) return BMD_OK;
    x->notice_sent = 1;
    return bmd__mpi_notice_send_all(value);
}

int bmd__link_error_origin(const bmd__link *x) {
    return x->upstream_error ? x->upstream_error - 1 : x->notice_error ? x->notice_error - 1 : x->p->rank;
}

/* ------------------------------------------------------------- agreeing */

bmd_status bmd__link_agree(bmd__link *x, int mine, int *all_done) {
    double v = mine ? 0 : 1;
    bmd_status rc = bmd__mpi_allreduce(&v, 1, 1);
    x->agreed_round = 1;
    *all_done = v == 0;
    return rc;
}

/* ------------------------------------------------------------- draining */

void bmd__link_drain(bmd__link *x, long steps) {
    x->marker = 0; /* the run has failed: no cut any more, receive everything */
    char saved[1024];
    snprintf(saved, sizeof saved, "%s", bmd_last_error());
    for (;;) {
        if (bmd__link_finish_send(x)) break;
        if (!x->sent_round && !x->last && !x->sent_done) {
            bmd__handover_reset(&x->out);
            if (bmd__link_send(x, BMD__HO_DONE | BMD__HO_ERROR) || bmd__link_finish_send(x)) break;
        }
        x->sent_round = 1;
        if (!x->recvd_round && bmd__link_recv(x, 1)) break;
        x->recvd_round = 1;
        while (x->park_n > 0) { /* dropped: the run has failed */
            put_buf(x, x->park[x->park_head].buf);
            x->park_head++;
            x->park_n--;
        }
        x->park_head = 0;
        int mine = (x->last || x->sent_done) && (x->first || x->upstream_done), all = mine;
        if (x->sync_mode) {
            if (x->agreed_round) all = 0; /* this round's agreement was "not all done" */
            else if (bmd__link_agree(x, mine, &all)) break;
            if (all) break; /* as in a round: all stop right after agreeing */
            int err = 0;
            while (!err && x->barriers < steps) {
                x->barriers++;
                err = bmd__mpi_barrier() != BMD_OK;
            }
            if (err) break;
        }
        if (all) break;
        x->sent_round = x->recvd_round = x->agreed_round = 0;
        x->barriers = 0;
    }
    bmd__fail(BMD_ERR_RUNTIME, "%s", saved);
}


/* ---------------------------------------------------------- checkpoints */

void bmd__link_save(const bmd__link *x, bmd__buf *out) {
    bmd__buf_i64(out, x->gen);
    bmd__buf_i64(out, x->seq_out);
    bmd__buf_i64(out, x->total);
    bmd__buf_u32(out, (uint32_t)x->sent_done);
    bmd__buf_u32(out, (uint32_t)x->upstream_done);
    bmd__buf_i64(out, x->round);
    bmd__buf_u32(out, (uint32_t)x->park_n);
    for (int i = 0; i < x->park_n; i++) {
        const bmd__handover_reader *rd = &x->park[x->park_head + i].rd;
        bmd__buf_u64(out, (uint64_t)rd->len);
        bmd__buf_u32(out, (uint32_t)rd->next);
        bmd__buf_u64(out, (uint64_t)rd->off);
        bmd__buf_put(out, rd->msg, rd->len);
    }
}

bmd_status bmd__link_restore(bmd__link *x, bmd__rd *r) {
    x->gen = bmd__rd_i64(r);
    x->seq_out = bmd__rd_i64(r);
    x->total = bmd__rd_i64(r);
    x->sent_done = (int)bmd__rd_u32(r);
    x->upstream_done = (int)bmd__rd_u32(r);
    x->round = (long)bmd__rd_i64(r);
    uint32_t n = bmd__rd_u32(r);
    if (r->bad || (n > 0 && x->first) || n > (1u << 20))
        return bmd__fail(BMD_ERR_PARSE, "checkpoint: malformed pipeline link state");
    for (uint32_t i = 0; i < n; i++) {
        size_t len = (size_t)bmd__rd_u64(r);
        int next = (int)bmd__rd_u32(r);
        size_t off = (size_t)bmd__rd_u64(r);
        const void *bytes = len <= x->p->bytes ? bmd__rd_ptr(r, len) : NULL;
        if (!bytes) return bmd__fail(BMD_ERR_PARSE, "checkpoint: malformed parked message");
        unsigned char *buf = get_buf(x);
        if (!buf) return bmd__fail(BMD_ERR_NOMEM, "out of memory restoring the park");
        memcpy(buf, bytes, len);
        bmd__handover_reader rd;
        bmd_status rc = bmd__handover_open(&rd, buf, len, x->p->bytes);
        if (!rc && (next < 0 || next > rd.n_systems || off > len))
            rc = bmd__fail(BMD_ERR_PARSE, "checkpoint: malformed parked message position");
        if (!rc && x->park_n == x->park_cap) {
            int cap = x->park_cap ? 2 * x->park_cap : 4;
            bmd__parked *q = realloc(x->park, (size_t)cap * sizeof *q);
            if (!q) rc = bmd__fail(BMD_ERR_NOMEM, "out of memory restoring the park");
            else {
                x->park = q;
                x->park_cap = cap;
            }
        }
        if (rc) {
            put_buf(x, buf);
            return rc;
        }
        rd.next = next;
        rd.off = off;
        x->park[x->park_head + x->park_n++] = (bmd__parked){buf, rd};
    }
    return BMD_OK;
}
