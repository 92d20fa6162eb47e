/* pipeline_run.c — owns one rank's part of a running pipeline
 * (bmd_pipeline_run; the protocol is documented in pipeline.h): the
 * inflight loop of runner_internal.h with this rank's source (the dataset's
 * sampler on a first rank, else the park of received messages), exit (the
 * sinks on a last rank, else the hand-over buffer, holding back what does
 * not fit), the round's exchange (one message per link and round, in the
 * comm mode; pipeline_link.c), the per-step polling, the barriers of the
 * synchronized mode, the debug log, the drain after an error (so that no
 * rank hangs), and the final all-reduce of the totals. MPI-free. */
#include "flow/pipeline_link.h"
#include "flow/runner_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct prun {
    bmd__link l;
    const bmd_dataset *ds;
    bmd__sampler *smp;
} prun;

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

static bmd_status exchange(void *self, bmd__runner *r, int *stop) {
    prun *x = self;
    bmd__link *l = &x->l;
    bmd_status rc = BMD_OK;
    if (!l->last && !l->sent_done) {
        int done = source_exhausted(x) && r->b->n_systems == 0;
        rc = bmd__link_send(l, done ? BMD__HO_DONE : 0);
    }
    if (rc) return rc; /* not sent: the drain sends this round's message */
    l->sent_round = 1;
    rc = recv_phase(x, r);
    l->recvd_round = 1; /* a malformed message was received all the same */
    r->stats->total = l->total;
    if (!rc && l->upstream_error)
        rc = bmd__fail(BMD_ERR_RUNTIME, "rank %d failed (see its message); rank %d, after it in the pipeline, stops",
                       l->upstream_error - 1, l->p->rank);
    if (rc) return rc;
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
        if (!rc && l->comm != BMD_COMM_SYNC && bmd__link_park_empty(l)) rc = bmd__link_post_recv(l);
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
        return bmd__mpi_barrier();
    }
    if (l->recv_req) rc = bmd__link_complete_recv(l, 0); /* progress */
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
    if (!rc) {
        bmd__runner_io io = {.self = &x,
                             .begin_round = begin_round,
                             .leave = l->last ? NULL : pack_leave,
                             .exchange = exchange,
                             .refill = refill,
                             .after_step = after_step};
        rc = bmd__runner_run(&r, &io);
    }
    if (!rc) rc = bmd__link_finish_send(l);
    if (rc) bmd__link_drain(l, opt->refill_every > 0 ? opt->refill_every : 1);
    stats->total = l->total;
    bmd_status rc_fini = bmd__runner_fini(&r);
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
