/* runner.c — owns the inflight loop: the sampler (sampler.h) keeps the live
 * batch full within its budget, the stage steps it, and every refill_every
 * steps (or when no system is live) graduated systems go to `final` and
 * quarantined ones to `failed` (final is told to skip their ids), the batch
 * is compacted and refilled. `final` is wrapped in an ordered sink when the
 * options ask for input order. Because a system's numbers never depend on
 * its batch, the budget and the refill rhythm change nothing but speed.
 *
 * Timers: t_step (stage steps, stress on exit), t_flow (sampler, append,
 * compaction: the price of inflight batching), t_io (reading structures,
 * extracting and writing leaving ones). Scratch masks grow with the batch:
 * no allocation per step in steady state. */
#include "flow/flow_internal.h"
#include "flow/sampler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct runner {
    bmd_stage *st;
    bmd_model *m;
    const bmd_dataset *ds;
    const bmd_run_options *opt;
    bmd_sink *final, *failed;
    bmd_run_stats *stats;
    bmd_batch *b;
    bmd__sampler *smp;
    long max_atoms, max_systems, refill_every;
    int k;
    unsigned char *mask;
    size_t mask_cap;
    double *virial;
    size_t virial_cap;
} runner;

/* Adds steps_S / converged_S for the sub-stages the system went through,
 * and status (done, or the reason it was taken out). */
static bmd_status annotate(runner *r, int s, bmd_system *sys, int done) {
    char key[96], val[32];
    bmd_info_remove(&sys->info, "system_id");
    for (int i = 0; i < r->k; i++) {
        int sc = bmd_stage_steps_column(r->st, r->b, i), cc = bmd_stage_converged_column(r->st, r->b, i);
        if (sc < 0 || cc < 0) return bmd__fail(BMD_ERR_NOMEM, "out of memory for the stage's columns");
        double steps = bmd_batch_column_data(r->b, sc)[s];
        double conv = bmd_batch_column_data(r->b, cc)[s];
        if (!done && steps <= 0 && conv <= 0) continue;
        snprintf(key, sizeof key, "steps_%s", bmd_stage_name(r->st, i));
        snprintf(val, sizeof val, "%.0f", steps);
        bmd_status rc = bmd_info_set(&sys->info, key, val);
        snprintf(key, sizeof key, "converged_%s", bmd_stage_name(r->st, i));
        if (!rc) rc = bmd_info_set(&sys->info, key, conv > 0 ? "T" : "F");
        if (rc) return rc;
        if (done && i < 32) {
            r->stats->entered[i]++;
            if (conv > 0) r->stats->converged[i]++;
            else r->stats->unconverged[i]++;
        }
    }
    if (done) return bmd_info_set(&sys->info, "status", "done");
    if (!bmd_info_get(&sys->info, "status")) return bmd_info_set(&sys->info, "status", "failed");
    return BMD_OK;
}

/* Stress of the graduated periodic systems, as they leave. */
static bmd_status stress_on_exit(runner *r) {
    bmd_batch *b = r->b;
    for (int s = 0; s < b->n_systems; s++) r->mask[s] = b->status[s] == r->k && bmd__stress_defined(b, s);
    double t0 = bmd__now();
    bmd_status rc = bmd__flow_compute(r->m, b, r->mask, NULL, NULL, &r->virial, &r->virial_cap);
    r->stats->t_step += bmd__now() - t0;
    return rc;
}

/* Writes every system that has left (status k or failed), then compacts. */
static bmd_status evict(runner *r) {
    bmd_batch *b = r->b;
    int any = 0;
    for (int s = 0; s < b->n_systems; s++) any |= b->status[s] == r->k || b->status[s] == BMD_STATUS_FAILED;
    if (!any) return BMD_OK;
    bmd_status rc = r->opt->stress_on_exit ? stress_on_exit(r) : BMD_OK;
    if (rc) return rc;
    double t0 = bmd__now();
    for (int s = 0; s < b->n_systems; s++) {
        int done = b->status[s] == r->k;
        if (!(r->mask[s] = done || b->status[s] == BMD_STATUS_FAILED)) continue;
        bmd_system sys;
        rc = bmd_batch_extract(b, s, &sys);
        if (!rc) rc = annotate(r, s, &sys, done);
        bmd_sink *to = done ? r->final : r->failed;
        if (!rc && to) rc = bmd_sink_write(to, &sys);
        if (!rc && !done) rc = bmd_sink_skip(r->final, b->system_id[s]);
        bmd_system_free(&sys);
        if (rc) return rc;
        if (done) r->stats->done++;
        else r->stats->failed++;
    }
    double t1 = bmd__now();
    r->stats->t_io += t1 - t0;
    rc = bmd_batch_remove(b, r->mask);
    r->stats->t_flow += bmd__now() - t1;
    return rc;
}

/* Admits what the sampler offers while it fits the free budget. */
static bmd_status refill(runner *r) {
    bmd_batch *b = r->b;
    double t0 = bmd__now(), io = 0;
    bmd_status rc = BMD_OK;
    for (;;) {
        long i = bmd__sampler_next(r->smp, r->max_atoms - b->n_atoms, r->max_systems - b->n_systems);
        if (i < 0) break;
        bmd_system sys;
        double t1 = bmd__now();
        rc = bmd_dataset_get(r->ds, i, &sys);
        io += bmd__now() - t1;
        if (!rc && sys.n_atoms != bmd__sampler_atoms(r->smp, i)) {
            char what[600];
            bmd_dataset_describe(r->ds, i, what, sizeof what);
            rc = bmd__fail(BMD_ERR_RUNTIME, "%s: loaded with %d atoms, but its metadata said %d", what, sys.n_atoms,
                           bmd__sampler_atoms(r->smp, i));
        }
        if (!rc) rc = bmd_batch_append(b, &sys, NULL);
        bmd_system_free(&sys);
        if (rc) break;
        r->stats->started++;
    }
    if (!rc && b->n_systems == 0 && bmd__sampler_remaining(r->smp) > 0)
        rc = bmd__fail(BMD_ERR_RUNTIME, "the sampler admitted nothing into an empty batch");
    if (!rc && bmd__reserve((void **)&r->mask, &r->mask_cap, (size_t)b->n_systems + 1, 1))
        rc = bmd__fail(BMD_ERR_NOMEM, "out of memory");
    r->stats->refills++;
    if (b->n_atoms > r->stats->peak_atoms) r->stats->peak_atoms = b->n_atoms;
    if (b->n_systems > r->stats->peak_systems) r->stats->peak_systems = b->n_systems;
    r->stats->t_io += io;
    r->stats->t_flow += bmd__now() - t0 - io;
    return rc;
}

/* Atoms of the live systems (0 <= status < k). */
static long live_atoms(const runner *r) {
    long live = 0;
    for (int s = 0; s < r->b->n_systems; s++)
        if (r->b->status[s] >= 0 && r->b->status[s] < r->k) live += r->b->atom_count[s];
    return live;
}

static bmd_status loop(runner *r) {
    bmd_run_stats *stats = r->stats;
    double t_start = bmd__now(), t_report = t_start;
    bmd_status rc = BMD_OK;
    while (!rc) {
        if ((rc = refill(r)) || r->b->n_systems == 0) break;
        for (long i = 0; i < r->refill_every && !rc; i++) {
            long live = live_atoms(r);
            if (live == 0) break;
            double t0 = bmd__now();
            rc = bmd_stage_step(r->st, r->b, r->m);
            stats->t_step += bmd__now() - t0;
            stats->loop_steps++;
            stats->atom_steps += (double)live;
        }
        if (!rc) rc = evict(r);
        stats->live = r->b->n_systems;
        stats->seconds = bmd__now() - t_start;
        if (r->opt->progress && stats->seconds - (t_report - t_start) >= r->opt->progress_every_s) {
            t_report = bmd__now();
            memset(stats->live_in, 0, sizeof stats->live_in);
            for (int s = 0; s < r->b->n_systems; s++)
                if (r->b->status[s] >= 0 && r->b->status[s] < 32) stats->live_in[r->b->status[s]]++;
            r->opt->progress(r->opt->progress_user, stats);
        }
    }
    stats->live = r->b->n_systems;
    stats->seconds = bmd__now() - t_start;
    return rc;
}

bmd_status bmd_run_inflight(bmd_stage *st, bmd_model *m, const bmd_dataset *ds, const bmd_run_options *opt,
                            bmd_sink *final, bmd_sink *failed, bmd_run_stats *stats) {
    memset(stats, 0, sizeof *stats);
    if (!st || !m || !ds || !opt)
        return bmd__fail(BMD_ERR_INVALID, "bmd_run_inflight: missing stage, model, dataset or options");
    stats->total = bmd_dataset_size(ds);
    stats->n_stages = bmd_stage_count(st);
    runner r = {.st = st, .m = m, .ds = ds, .opt = opt, .final = final, .failed = failed, .stats = stats};
    r.k = bmd_stage_count(st);
    r.max_atoms = opt->max_atoms > 0 ? opt->max_atoms : 1L << 30;
    r.max_systems = opt->max_systems > 0 ? opt->max_systems : 1L << 30;
    r.refill_every = opt->refill_every > 0 ? opt->refill_every : 1;
    double t0 = bmd__now();
    bmd_status rc = bmd__sampler_create(ds, opt->max_atoms, &r.smp);
    stats->t_flow += bmd__now() - t0;
    bmd_sink *ordered = NULL;
    if (!rc && opt->ordered && final && !(rc = bmd_sink_ordered_create(final, 0, &ordered))) r.final = ordered;
    if (!rc) rc = bmd_batch_create(&r.b);
    if (!rc) {
        rc = bmd_stage_open(st, r.b);
        if (!rc) rc = loop(&r);
        bmd_status rc2 = bmd_stage_close(st);
        if (!rc) rc = rc2;
    }
    t0 = bmd__now();
    bmd_status rc3 = bmd_sink_destroy(ordered); /* releases what it still holds into final */
    stats->t_io += bmd__now() - t0;
    if (!rc) rc = rc3;
    bmd_batch_destroy(r.b);
    bmd__sampler_destroy(r.smp);
    free(r.mask);
    free(r.virial);
    return rc;
}
