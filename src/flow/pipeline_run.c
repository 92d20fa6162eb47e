/* pipeline_run.c — owns one rank's part of a running pipeline
 * (bmd_pipeline_run; the protocol is documented in pipeline.h): the
 * inflight loop of runner_internal.h with this rank's source (the dataset's
 * sampler on a first rank, else the park of received messages), exit (the
 * sinks on a last rank, else the hand-over buffer, holding back what does
 * not fit), the round's exchange (one message per link and round, in the
 * comm mode; pipeline_link.c), the per-step polling, the barriers of the
 * synchronized mode, the debug log (with a closing line of the time spent
 * waiting in sends and receives), the notices (a failure on any rank ends
 * every rank within a step; pipeline_link.h), the drain after an error (so
 * that no rank hangs), the checkpoints (below), and the final all-reduce
 * of the totals. MPI-free.
 *
 * Checkpoints (a consistent cut, Chandy-Lamport style, over FIFO links):
 * the chain's first rank decides one (every_s elapsed, or a stop was asked
 * for on any rank of the chain: its own signal, or a stop request on the
 * control channel) and flags its round's message as the marker of
 * generation g. A rank cuts right after sealing its marked message and
 * before sending it: the batch (graduates held back included), the park's
 * messages as raw bytes, the link's counters, the first rank's sampler,
 * every output's committed length (the last rank's final and failed, every
 * rank's log and trajectory) go to its file of generation g, and only then
 * does the marked message leave. A rank that receives the marker receives
 * nothing more until its own cut (in its next exchange; the last rank cuts
 * at once), so everything sent before the marker is in the receiver's cut
 * and nothing after it: no message is in flight across the cut, none is
 * counted twice. The last rank's cut completes generation g everywhere (each
 * rank wrote its file before passing the marker on); it tells the first
 * rank, which starts generation g + 1 only then. So every rank's newest
 * file is of generation G or G + 1, with G complete everywhere: a rank
 * keeps its files of the last two generations (pipeline_ckpt.c), and a
 * resume loads the newest generation complete on all ranks. With the STOP
 * flag on the marker every rank returns right after its cut (the run is
 * unfinished: bmd_checkpoint_stopped). */
#include "flow/checkpoint_internal.h"
#include "flow/pipeline_link.h"
#include "flow/runner_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct prun {
    bmd__link l;
    const bmd_dataset *ds;
    bmd__sampler *smp;
    /* checkpoints */
    bmd_checkpoint *ck;
    volatile sig_atomic_t *stop; /* the caller's stop flag (signals) */
    int64_t pending;             /* first rank: generation cut, not yet complete on the last rank (0: none) */
    int stop_wanted;             /* first rank: a stop was asked for (own flag or a request) */
    int want;                    /* first rank: a rank asked for a cut to end with */
    int no_more;                 /* first rank: a STOP generation went out: no more cuts */
    int ends;                    /* first rank: ends received */
    int stop_asked, want_sent;   /* other ranks: the request went to the first rank */
    int64_t cut_req;             /* other ranks: generation of a CUT to do (0: none) */
    int cut_stop, released;
    int stopped;                 /* this rank cut a STOP generation and returns */
    int ctl_val;
    bmd__req *ctl_req;
} prun;

/* ------------------------------------------------------ checkpoints */

/* Control values. To the first rank: a generation g >= 1 complete (from
 * the last rank), STOP (a rank's stop flag is set), WANT (a rank whose
 * input is done wants a cut to end with), END (a rank's run is over). To
 * the others: CUT of generation g (2 g + stop) and RELEASE (every END is
 * in: nothing more comes). */
enum { CTL_END = -1, CTL_STOP = -2, CTL_WANT = -3, CTL_RELEASE = -5 };

static void ctl_take(prun *x, int v) {
    if (x->l.first) {
        if (v == CTL_END) x->ends++;
        else if (v == CTL_STOP) x->stop_wanted = 1;
        else if (v == CTL_WANT) x->want = 1;
        else if (v >= 1 && v == x->pending) x->pending = 0;
    } else {
        if (v == CTL_RELEASE) x->released = 1;
        else if (v >= 2) {
            x->cut_req = v / 2;
            x->cut_stop = v & 1;
        }
    }
}

/* Whether this rank's control receives are over (nothing more will come:
 * no receive is left posted when the run ends). */
static int ctl_over(const prun *x) {
    return x->l.first ? x->ends >= x->l.p->chain_n - 1 && !x->pending : x->released;
}

/* Takes the control values that have arrived; wait: at least one. */
static bmd_status ctl_poll(prun *x, int wait) {
    for (;;) {
        if (!x->ctl_req && ctl_over(x)) return BMD_OK;
        bmd_status rc = x->ctl_req ? BMD_OK : bmd__mpi_ctl_irecv(&x->ctl_val, &x->ctl_req);
        int done = 0;
        if (!rc) rc = bmd__mpi_complete(x->ctl_req, wait, &done, NULL);
        if (rc || !done) return rc;
        x->ctl_req = NULL;
        ctl_take(x, x->ctl_val);
        wait = 0;
    }
}

static bmd_status check_notices(bmd__link *l);
static int no_pending(const prun *x) { return !x->pending; }
static int have_cut(const prun *x) { return x->cut_req != 0; }

/* Waits politely until ready(x) on the control channel; a failure on
 * another rank (a notice) ends the wait with its error, so that no rank
 * waits for a cut that will not come. */
static bmd_status ctl_wait(prun *x, int (*ready)(const prun *)) {
    for (;;) {
        bmd_status rc = ctl_poll(x, 0);
        if (rc || ready(x)) return rc;
        if ((rc = check_notices(&x->l))) return rc;
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
}

/* This rank's cut of generation gen + 1 (its file; see the top). */
static bmd_status cut(prun *x, bmd__runner *r) {
    bmd__link *l = &x->l;
    l->gen++;
    bmd_status rc = bmd__pipeline_ckpt_use(l->p, x->ck, l->gen);
    if (!rc) rc = bmd__runner_checkpoint(r);
    l->marker = 0;
    if (rc) return rc;
    if (l->first) x->pending = l->last ? 0 : l->gen; /* a chain of one rank: complete at once */
    if (l->last && !l->first) rc = bmd__mpi_ctl_send(l->p->head, (int)l->gen);
    if (l->marker_stop) {
        x->stopped = 1;
        bmd__ckpt_set_stopped(x->ck, 1);
    }
    return rc;
}

/* First rank: a new generation, when none is pending. */
static void start_generation(prun *x) {
    x->l.marker = 1;
    x->l.marker_stop = x->stop_wanted;
    x->want = 0;
    if (x->stop_wanted) x->no_more = 1;
}

/* The checkpoint's part of the round, before the send. done: this rank
 * would send its last message now. The first rank decides a cut (due,
 * stop); its last message is always a cut (so that its file then is its
 * final state), after the pending one is complete. The other ranks ask the
 * first rank to stop when their flag is set, turn a CUT into a marker once
 * their prior rank is done, and end with a cut too: they ask for one
 * (WANT) and wait for it. */
static bmd_status ckpt_decide(prun *x, int done) {
    bmd__link *l = &x->l;
    if (!x->ck) return BMD_OK;
    int flag = x->stop && *x->stop;
    bmd_status rc = ctl_poll(x, 0);
    if (!l->first) {
        if (!rc && flag && !x->stop_asked) {
            x->stop_asked = 1;
            rc = bmd__mpi_ctl_send(l->p->head, CTL_STOP);
        }
        if (!rc && done && !l->last && !l->marker && !x->cut_req) {
            if (!x->want_sent) rc = bmd__mpi_ctl_send(l->p->head, CTL_WANT);
            x->want_sent = 1;
            if (!rc) rc = ctl_wait(x, have_cut);
        }
        if (!rc && x->cut_req && !l->marker && l->upstream_done) {
            l->gen = x->cut_req - 1;
            l->marker = 1;
            l->marker_stop = x->cut_stop;
            x->cut_req = 0;
        }
        return rc;
    }
    if (flag) x->stop_wanted = 1;
    if (l->last || l->marker || x->no_more) return rc;
    if (!rc && done) rc = ctl_wait(x, no_pending);
    if (!rc && !x->pending && (done || x->stop_wanted || bmd__ckpt_due(x->ck))) start_generation(x);
    return rc;
}

/* After this rank's loop: the first rank coordinates the cuts of the ranks
 * still running (a CUT to its next rank, which a rank that is done hands
 * on) until every other rank of the chain has ended, then releases them;
 * the others end (END), take what comes until released (a CUT: handed on,
 * or, on the last rank, answered at once: its run is over) and hand the
 * release on. (Sends on one tag between two ranks keep their order.) */
static bmd_status ckpt_after(prun *x, int failed) {
    bmd__link *l = &x->l;
    bmd_status rc = BMD_OK;
    if (l->first) {
        /* until every other rank has ended and the last cut is answered (the
         * last rank answers every CUT, even after its end), unless a rank
         * failed: then a cut may never complete */
        while (!rc && !ctl_over(x)) {
            rc = ctl_poll(x, 0);
            if (!rc) rc = bmd__link_notices(l, 0);
            if (!rc && (failed || l->notice_error || l->upstream_error) && x->ends >= l->p->chain_n - 1) break;
            if (!rc && x->stop && *x->stop) x->stop_wanted = 1;
            if (!rc && !failed && !x->no_more && !x->pending && x->ends < l->p->chain_n - 1 &&
                (x->want || x->stop_wanted || bmd__ckpt_due(x->ck))) {
                x->pending = ++l->gen;
                if (x->stop_wanted) { /* every rank still running stops: so does this one's run */
                    x->no_more = x->stopped = 1;
                    bmd__ckpt_set_stopped(x->ck, 1);
                }
                x->want = 0;
                rc = bmd__mpi_ctl_send(l->p->next, (int)(2 * x->pending + (x->stop_wanted ? 1 : 0)));
            }
            if (!rc && !ctl_over(x)) {
                struct timespec ts = {0, 1000000}; /* 1 ms: nothing else to do here */
                nanosleep(&ts, NULL);
            }
        }
        if (!rc && l->p->next >= 0) rc = bmd__mpi_ctl_send(l->p->next, CTL_RELEASE); /* handed on down the chain */
        return rc;
    }
    rc = bmd__mpi_ctl_send(l->p->head, CTL_END);
    for (;;) {
        if (!rc && x->cut_req) {
            int v = (int)(2 * x->cut_req + x->cut_stop);
            x->cut_req = 0;
            if (v & 1 && !failed) { /* the campaign stops: this rank's part was over, its file is its final state */
                x->stopped = 1;
                bmd__ckpt_set_stopped(x->ck, 1);
            }
            rc = l->last ? bmd__mpi_ctl_send(l->p->head, v / 2) : bmd__mpi_ctl_send(l->p->next, v);
        }
        if (rc || x->released) break;
        rc = ctl_poll(x, 1);
    }
    if (!rc && !l->last) rc = bmd__mpi_ctl_send(l->p->next, CTL_RELEASE);
    return rc;
}

static bmd_status pl_save(void *self, bmd__runner *r, bmd__buf *out) {
    (void)r;
    prun *x = self;
    bmd__link_save(&x->l, out);
    if (x->smp) bmd__sampler_save(x->smp, out);
    return BMD_OK;
}

static bmd_status pl_restore(void *self, bmd__runner *r, const void *data, size_t n) {
    (void)r;
    prun *x = self;
    bmd__rd rd = {data, n, 0, 0};
    bmd_status rc = bmd__link_restore(&x->l, &rd);
    /* the first rank may have ended before the generation resumed from: its
     * generations go on from there */
    if (x->l.first && x->l.p->gen > x->l.gen) x->l.gen = x->l.p->gen;
    if (!rc && x->smp) rc = bmd__sampler_restore(x->smp, (const unsigned char *)data + rd.off, n - rd.off);
    else if (!rc && rd.off != n) rc = bmd__fail(BMD_ERR_PARSE, "checkpoint: malformed pipeline state");
    return rc;
}

/* Whether any system in the batch is live (would be stepped). */
static int any_live(const bmd__runner *r) {
    for (int s = 0; s < r->b->n_systems; s++)
        if (r->b->status[s] >= 0 && r->b->status[s] < r->k) return 1;
    return 0;
}

/* The round's receive. The prior rank's next message is needed now: in
 * sync mode when the park is empty; in the async modes when the park is
 * empty and nothing is live (this rank would idle), else the posted
 * receive is only tested; in synchronized mode always. */
static bmd_status recv_phase(prun *x, const bmd__runner *r) {
    bmd__link *l = &x->l;
    int need = l->sync_mode || (bmd__link_park_empty(l) && (l->comm == BMD_COMM_SYNC || !any_live(r)));
    return bmd__link_recv(l, need);
}

static int source_exhausted(const prun *x) {
    return x->l.first ? bmd__sampler_remaining(x->smp) == 0 : x->l.upstream_done && bmd__link_park_empty(&x->l);
}

/* ------------------------------------------------------- runner callbacks */

static bmd_status begin_round(void *self, bmd__runner *r) {
    (void)r;
    bmd__link *l = &((prun *)self)->l;
    bmd_status rc = bmd__link_finish_send(l); /* fully_async: completed at the next round */
    if (!l->last) bmd__handover_reset(&l->out);
    l->round++;
    l->sent_round = l->recvd_round = l->agreed_round = 0;
    l->barriers = 0;
    return rc;
}

/* The debug log's counts start again after each line (a message that lands
 * while the rank steps counts in the next round's line). */
static void reset_counts(bmd__link *l) {
    l->c_recv_sys = l->c_recv_atoms = l->c_recv_msgs = l->c_grad = l->c_fail = 0;
    l->c_packed = l->c_held = l->c_admit = l->c_sent_sys = l->c_sent_atoms = 0;
    l->c_sent_bytes = 0;
    l->c_sent_flags = 0;
}

static bmd_status pack_leave(void *self, bmd__runner *r, int s, int done, int *taken) {
    bmd__link *l = &((prun *)self)->l;
    bmd_status rc = l->sent_done ? BMD_OK : bmd__handover_pack(&l->out, r->b, s, !done, taken);
    if (l->sent_done) *taken = 0;
    if (done) l->c_grad++;
    else l->c_fail++;
    if (*taken) l->c_packed++;
    else l->c_held++;
    return rc;
}

/* Whether this rank has finished its part. */
static int local_done(const prun *x, const bmd__runner *r) {
    if (x->l.last) return source_exhausted(x) && r->b->n_systems == 0;
    return x->l.sent_done;
}

static void debug_line(const bmd__link *l, const bmd__runner *r) {
    int live = 0, held = 0;
    for (int s = 0; s < r->b->n_systems; s++) {
        live += r->b->status[s] >= 0 && r->b->status[s] < r->k;
        held += r->b->status[s] == r->k || r->b->status[s] == BMD_STATUS_FAILED;
    }
    fprintf(stderr,
            "bmd-pipe[%d] round %ld: left %d (failed %d) -> packed %d, held back %d; sent %d/%ld sys %d/%ld atoms "
            "%zu B%s to %d; received %d msg %d sys %d atoms%s; park %ld sys; admitted %d; batch %d sys %d atoms "
            "(%d live, %d held)\n",
            l->p->rank, l->round, l->c_grad + l->c_fail, l->c_fail, l->c_packed, l->c_held, l->c_sent_sys,
            l->p->opt.buffer_systems, l->c_sent_atoms, l->p->opt.buffer_atoms, l->c_sent_bytes,
            (l->c_sent_flags & BMD__HO_DONE) ? " [done]" : "", l->p->next, l->c_recv_msgs,
            l->c_recv_sys, l->c_recv_atoms, l->upstream_done ? " [upstream done]" : "", bmd__link_parked_systems(l),
            l->c_admit, r->b->n_systems, r->b->n_atoms, live, held);
}

/* Whether another rank has announced a failure: then this one stops too. */
static bmd_status check_notices(bmd__link *l) {
    bmd_status rc = bmd__link_notices(l, 0);
    if (!rc && l->notice_error)
        rc = bmd__fail(BMD_ERR_RUNTIME, "rank %d failed (see its message); rank %d stops", l->notice_error - 1,
                       l->p->rank);
    return rc;
}

static bmd_status exchange(void *self, bmd__runner *r, int *stop) {
    prun *x = self;
    bmd__link *l = &x->l;
    bmd_status rc = check_notices(l);
    int done = source_exhausted(x) && r->b->n_systems == 0;
    if (!rc && !l->sent_done) rc = ckpt_decide(x, done);
    if (rc) return rc;
    if (!l->last && !l->sent_done) {
        unsigned flags = done ? BMD__HO_DONE : 0;
        int marked = l->marker && x->ck;
        if (marked) flags |= BMD__HO_CKPT | (l->marker_stop ? BMD__HO_STOP : 0);
        bmd__link_seal(l, flags);
        if (marked) rc = cut(x, r); /* on disk before the marker leaves */
        if (!rc) rc = bmd__link_transmit(l);
        else l->sent_done = 0; /* not sent: the drain sends this round's message */
    }
    if (rc) return rc; /* not sent: the drain sends this round's message */
    l->sent_round = 1;
    if (x->stopped) { /* the cut asked every rank to stop: nothing more is received */
        *stop = 1;
        return BMD_OK;
    }
    rc = recv_phase(x, r);
    l->recvd_round = 1; /* a malformed message was received all the same */
    r->stats->total = l->total;
    if (!rc && l->upstream_error)
        rc = bmd__fail(BMD_ERR_RUNTIME, "rank %d failed (see its message); rank %d, after it in the pipeline, stops",
                       l->upstream_error - 1, l->p->rank);
    if (!rc && l->last && l->marker && x->ck) rc = cut(x, r); /* the last rank cuts as soon as the marker is in */
    if (rc) return rc;
    if (x->stopped) {
        *stop = 1;
        return BMD_OK;
    }
    if (l->sync_mode) rc = bmd__link_agree(l, local_done(x, r), stop);
    else *stop = local_done(x, r);
    if (*stop && l->p->debug) debug_line(l, r); /* the last round has no refill */
    return rc;
}

/* Admits parked systems, first come first served, while they fit; systems
 * taken out upstream enter as they are (not stepped, they leave at once). */
static bmd_status park_refill(bmd__link *l, bmd__runner *r) {
    bmd_batch *b = r->b;
    double t0 = bmd__now();
    bmd_status rc = BMD_OK;
    bmd__handover_reader *rd;
    while (!rc && (rd = bmd__link_head(l)) != NULL) {
        int failed = 0, n = bmd__handover_peek(rd, &failed);
        if (!failed && (b->n_systems + 1 > r->max_systems || b->n_atoms + n > r->max_atoms)) {
            if (b->n_systems == 0)
                rc = bmd__fail(BMD_ERR_BUDGET, "rank %d: a system of %d atoms arrived, more than batch.max_atoms = %ld",
                               l->p->rank, n, r->max_atoms);
            break;
        }
        rc = bmd__handover_unpack(rd, b, NULL);
        if (!rc && !failed) {
            r->stats->started++;
            l->c_admit++;
        }
    }
    if (!rc) rc = bmd__runner_reserve(r);
    r->stats->refills++;
    bmd__runner_note_peak(r);
    r->stats->t_flow += bmd__now() - t0;
    return rc;
}

static bmd_status refill(void *self, bmd__runner *r) {
    prun *x = self;
    bmd__link *l = &x->l;
    bmd_status rc;
    if (l->first) {
        long before = r->stats->started;
        rc = bmd__runner_refill_sampler(r, x->smp, x->ds);
        l->c_admit = (int)(r->stats->started - before);
    } else {
        rc = park_refill(l, r);
        /* async modes: the next message may land while this rank steps */
        if (!rc) rc = bmd__link_post_ahead(l);
    }
    if (l->p->debug) debug_line(l, r);
    reset_counts(l);
    return rc;
}

static bmd_status after_step(void *self, bmd__runner *r, int live, int *end_round) {
    bmd__link *l = &((prun *)self)->l;
    bmd_status rc = BMD_OK;
    if (l->p->debug && live) {
        int left = 0;
        for (int s = 0; s < r->b->n_systems; s++) left += r->b->status[s] == r->k || r->b->status[s] == BMD_STATUS_FAILED;
        if (left)
            fprintf(stderr, "bmd-pipe[%d] round %ld step %ld: %d system%s left the stage\n", l->p->rank, l->round,
                    r->stats->loop_steps, left, left == 1 ? "" : "s");
    }
    if (l->sync_mode) { /* lockstep: every rank takes refill_every barriers a round */
        *end_round = 0;
        l->barriers++;
        rc = bmd__mpi_barrier();
        return rc ? rc : check_notices(l);
    }
    rc = check_notices(l);
    if (!rc && l->recv_req) rc = bmd__link_complete_recv(l, 0); /* progress */
    if (!rc && !l->recv_req) rc = bmd__link_post_ahead(l);
    if (!rc && l->send_req) {
        int done = 0;
        rc = bmd__mpi_complete(l->send_req, 0, &done, NULL);
        if (done) l->send_req = NULL;
    }
    *end_round = !live;
    return rc;
}

/* -------------------------------------------------------------- the run */

/* Sums and maxima over all ranks; the first failing rank, or -1. */
static bmd_status reduce_totals(bmd__link *l, const bmd_run_stats *s, int failed_here, int *bad) {
    double sum[6] = {(double)s->done, (double)s->failed, s->atom_steps, (double)l->messages, l->bytes, failed_here};
    double mx[3] = {(double)l->total, s->seconds, failed_here ? (double)(l->p->size - l->p->rank) : 0};
    bmd_status rc = bmd__mpi_allreduce(sum, 6, 0);
    if (!rc) rc = bmd__mpi_allreduce(mx, 3, 1);
    bmd_pipeline_totals *t = &l->p->totals;
    t->done = (long)sum[0];
    t->failed = (long)sum[1];
    t->atom_steps = sum[2];
    t->messages = (long)sum[3];
    t->bytes = sum[4];
    t->total = (long)mx[0];
    t->seconds = mx[1];
    *bad = mx[2] > 0 ? l->p->size - (int)mx[2] : -1;
    return rc;
}

bmd_status bmd_pipeline_run(bmd_pipeline *p, bmd_stage *st, bmd_model *m, const bmd_dataset *ds,
                            const bmd_run_options *opt, bmd_sink *final, bmd_sink *failed, bmd_run_stats *stats) {
    memset(stats, 0, sizeof *stats);
    if (!p || !st || !m || !opt)
        return bmd__fail(BMD_ERR_INVALID, "bmd_pipeline_run: missing pipeline, stage, model or options");
    prun x = {.l = {.p = p, .first = p->prior < 0, .last = p->next < 0, .comm = p->opt.comm,
                    .sync_mode = p->opt.synchronized, .total = -1},
              .ds = ds};
    bmd__link *l = &x.l;
    bmd_run_options ropt = *opt;
    x.ck = p->ck;
    x.stop = p->ck ? opt->stop : NULL;
    ropt.checkpoint = p->ck; /* restored by the runner; cut by this file (the runner's stop is ours) */
    /* without a checkpoint a stop is the runner's: this rank's run fails ("interrupted by a stop
     * request"), which stops every rank of the pipeline, their outputs closed */
    ropt.stop = p->ck ? NULL : opt->stop;
    ropt.stress_on_exit = l->last && opt->stress_on_exit;
    ropt.ordered = l->last && opt->ordered;
    bmd_status rc = BMD_OK;
    if (l->first) {
        if (!ds) rc = bmd__fail(BMD_ERR_INVALID, "rank %d reads the input, but has no dataset", p->rank);
        else if (!(rc = bmd__sampler_create(ds, ropt.max_atoms, &x.smp))) l->total = bmd_dataset_size(ds);
    }
    if (!rc && !l->last) rc = bmd__handover_init(&l->out, p->opt.buffer_systems, p->opt.buffer_atoms);
    const char *const *names = p->opt.stage_names;
    bmd__runner r;
    bmd_status rc_init = bmd__runner_init(&r, st, m, &ropt, l->last ? final : NULL, l->last ? failed : NULL, stats,
                                          names, names ? p->opt.n_stage_names : 0,
                                          names ? bmd_stage_index_offset(st) : 0);
    if (!rc) rc = rc_init;
    bmd__runner_io io = {.self = &x, /* outlives the loop: the last rank's final cut uses it */
                         .begin_round = begin_round,
                         .leave = l->last ? NULL : pack_leave,
                         .exchange = exchange,
                         .refill = refill,
                         .after_step = after_step,
                         .save = p->ck ? pl_save : NULL,
                         .restore = p->ck ? pl_restore : NULL};
    if (!rc) rc = bmd__runner_run(&r, &io);
    if (!rc && x.ck && l->last && !l->first && !x.stopped && !l->sent_done) {
        /* the last rank's final state: a resume then finds nothing left to do */
        l->sent_done = 1;
        l->marker_stop = 0;
        rc = cut(&x, &r);
    }
    if (!rc) rc = bmd__link_finish_send(l);
    if (l->p->debug)
        fprintf(stderr,
                "bmd-pipe[%d] waits: %.3f s in sends (%ld over 100 us), %.3f s in receives (%ld over 100 us); "
                "%ld rounds, %ld steps, %.3f s stepping of %.3f s\n",
                p->rank, l->t_send_wait, l->n_send_wait, l->t_recv_wait, l->n_recv_wait, l->round,
                stats->loop_steps, stats->t_step, bmd__now() - r.t_start);
    if (rc) { /* tell every rank at once, then let the links drain */
        char why[1024];
        snprintf(why, sizeof why, "%s", bmd_last_error());
        bmd__link_notify(l, bmd__link_error_origin(l));
        bmd__fail(rc, "%s", why);
        bmd__link_drain(l, opt->refill_every > 0 ? opt->refill_every : 1);
    }
    if (x.ck) { /* every control message taken before the run ends */
        char why[1024];
        snprintf(why, sizeof why, "%s", bmd_last_error());
        bmd_status rc_c = ckpt_after(&x, rc != BMD_OK);
        if (rc) bmd__fail(rc, "%s", why);
        else rc = rc_c;
    }
    {   /* every notice sent and received before the run ends */
        char why[1024];
        snprintf(why, sizeof why, "%s", bmd_last_error());
        bmd_status rc_n = bmd__link_notify(l, -1);
        if (!rc_n) rc_n = bmd__link_notices(l, 1);
        if (rc) bmd__fail(rc, "%s", why);
        else rc = rc_n;
        /* this rank was over before another failed: it names the rank where
         * the failure began (the totals below only know which ranks failed) */
        if (!rc && l->notice_error)
            rc = bmd__fail(BMD_ERR_RUNTIME, "rank %d failed (see its message); rank %d stops", l->notice_error - 1,
                           p->rank);
    }
    stats->total = l->total;
    bmd_status rc_fini = bmd__runner_fini(&r);
    stats->seconds = bmd__now() - r.t_start; /* the wall time spans the ordered sink's release (t_io) too */
    if (!rc) rc = rc_fini;
    char saved[1024];
    snprintf(saved, sizeof saved, "%s", bmd_last_error());
    int bad = -1;
    bmd_status rc_red = reduce_totals(l, stats, rc != BMD_OK, &bad);
    bmd__link_free(l);
    bmd__sampler_destroy(x.smp);
    if (rc) return bmd__fail(rc, "%s", saved);
    if (rc_red) return rc_red;
    if (bad >= 0) return bmd__fail(BMD_ERR_RUNTIME, "rank %d failed (see its message)", bad);
    return BMD_OK;
}
