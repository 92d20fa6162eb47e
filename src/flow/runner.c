/* runner.c — owns the inflight loop (runner_internal.h): the sampler
 * (sampler.h) keeps the live batch full within its budget, the stage steps
 * it, and every refill_every steps (or when no system is live) graduated
 * systems go to `final` and quarantined ones to `failed` (final is told to
 * skip their ids), the batch is compacted and refilled. `final` is wrapped
 * in an ordered sink when the options ask for input order. Because a
 * system's numbers never depend on its batch, the budget and the refill
 * rhythm change nothing but speed. A pipeline rank (pipeline.c) runs the
 * same loop with its own sources, exits and exchange.
 *
 * Timers: t_step (stage steps, stress on exit; split into neighbor, force
 * and integrate with the model's timers), t_flow (sampler, append,
 * compaction: the price of inflight batching), t_io (reading structures,
 * extracting and writing leaving ones). Scratch masks grow with the batch:
 * no allocation per step in steady state.
 *
 * Checkpoints (checkpoint.h): taken at a round boundary, right after
 * evict and before refill, when every_s has elapsed or the stop flag is
 * set. Every output is committed first (flushed, fsynced, its state
 * recorded), and the file is written last, atomically: a kill at any
 * moment leaves the previous checkpoint, whose committed lengths are
 * prefixes of what the outputs hold then. State outside the batch that a
 * system's numbers or outputs depend on: none (integrators, stage
 * bookkeeping and hooks keep theirs in columns; random numbers are keyed by
 * the system's own step; neighbor lists do not change forces); the stage's
 * loop step (hooks with every > 1) and the run statistics are saved too. */
#include "flow/runner_internal.h"

#include "flow/checkpoint_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Adds steps_S / converged_S for the stages the system went through (by
 * column name, so columns that travelled with it from other ranks count),
 * and status (done, or the reason it was taken out). */
static bmd_status annotate(bmd__runner *r, int s, bmd_system *sys, int done) {
    char key[96], val[32];
    bmd_info_remove(&sys->info, "system_id");
    for (int i = 0; i < r->n_names; i++) {
        int sc = -1, cc = -1;
        snprintf(key, sizeof key, "steps.%s", r->names[i]);
        bmd_status rc = bmd_batch_column(r->b, key, 0, 1, &sc);
        snprintf(key, sizeof key, "converged.%s", r->names[i]);
        if (!rc) rc = bmd_batch_column(r->b, key, 0, 1, &cc);
        if (rc) return rc;
        double steps = bmd_batch_column_data(r->b, sc)[s];
        double conv = bmd_batch_column_data(r->b, cc)[s];
        if (!done && steps <= 0 && conv <= 0) continue;
        snprintf(key, sizeof key, "steps_%s", r->names[i]);
        snprintf(val, sizeof val, "%.0f", steps);
        rc = bmd_info_set(&sys->info, key, val);
        snprintf(key, sizeof key, "converged_%s", r->names[i]);
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

bmd_status bmd__runner_to_sinks(bmd__runner *r, int s, int done) {
    bmd_batch *b = r->b;
    bmd_system sys;
    bmd_status rc = bmd_batch_extract(b, s, &sys);
    if (!rc) rc = annotate(r, s, &sys, done);
    bmd_sink *to = done ? r->final : r->failed;
    if (!rc && to) rc = bmd_sink_write(to, &sys);
    if (!rc && !done) rc = bmd_sink_skip(r->final, b->system_id[s]);
    bmd_system_free(&sys);
    if (rc) return rc;
    if (done) r->stats->done++;
    else r->stats->failed++;
    return BMD_OK;
}

/* Stress of the graduated periodic systems, as they leave. */
static bmd_status stress_on_exit(bmd__runner *r) {
    bmd_batch *b = r->b;
    for (int s = 0; s < b->n_systems; s++) r->mask[s] = b->status[s] == r->k && bmd__stress_defined(b, s);
    double t0 = bmd__now();
    bmd_status rc = bmd__flow_compute(r->m, b, r->mask, NULL, NULL, &r->virial, &r->virial_cap);
    r->stats->t_step += bmd__now() - t0;
    return rc;
}

/* Every system that has left (status k or failed) leaves the batch, unless
 * its destination has no room now; then the batch is compacted. */
static bmd_status evict(bmd__runner *r, const bmd__runner_io *io) {
    bmd_batch *b = r->b;
    int any = 0;
    for (int s = 0; s < b->n_systems; s++) any |= b->status[s] == r->k || b->status[s] == BMD_STATUS_FAILED;
    if (!any) return BMD_OK;
    bmd_status rc = r->opt->stress_on_exit ? stress_on_exit(r) : BMD_OK;
    if (rc) return rc;
    double t0 = bmd__now();
    int taken_any = 0;
    for (int s = 0; s < b->n_systems; s++) {
        int done = b->status[s] == r->k, taken = 0;
        r->mask[s] = 0;
        if (!done && b->status[s] != BMD_STATUS_FAILED) continue;
        if (io->leave) rc = io->leave(io->self, r, s, done, &taken);
        else if (!(rc = bmd__runner_to_sinks(r, s, done))) taken = 1;
        if (rc) return rc;
        r->mask[s] = (unsigned char)taken;
        taken_any |= taken;
    }
    double t1 = bmd__now();
    r->stats->t_io += t1 - t0;
    if (taken_any) rc = bmd_batch_remove(b, r->mask);
    r->stats->t_flow += bmd__now() - t1;
    return rc;
}

bmd_status bmd__runner_reserve(bmd__runner *r) {
    if (bmd__reserve((void **)&r->mask, &r->mask_cap, (size_t)r->b->n_systems + 1, 1))
        return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    return BMD_OK;
}

void bmd__runner_note_peak(bmd__runner *r) {
    if (r->b->n_atoms > r->stats->peak_atoms) r->stats->peak_atoms = r->b->n_atoms;
    if (r->b->n_systems > r->stats->peak_systems) r->stats->peak_systems = r->b->n_systems;
}

bmd_status bmd__runner_refill_sampler(bmd__runner *r, bmd__sampler *smp, const bmd_dataset *ds) {
    bmd_batch *b = r->b;
    double t0 = bmd__now(), io = 0;
    bmd_status rc = BMD_OK;
    for (;;) {
        long i = bmd__sampler_next(smp, r->max_atoms - b->n_atoms, r->max_systems - b->n_systems);
        if (i < 0) break;
        bmd_system sys;
        double t1 = bmd__now();
        rc = bmd_dataset_get(ds, i, &sys);
        io += bmd__now() - t1;
        if (!rc && sys.n_atoms != bmd__sampler_atoms(smp, i)) {
            char what[600];
            bmd_dataset_describe(ds, i, what, sizeof what);
            rc = bmd__fail(BMD_ERR_RUNTIME, "%s: loaded with %d atoms, but its metadata said %d", what, sys.n_atoms,
                           bmd__sampler_atoms(smp, i));
        }
        if (!rc) rc = bmd_batch_append(b, &sys, NULL);
        bmd_system_free(&sys);
        if (rc) break;
        r->stats->started++;
    }
    if (!rc && b->n_systems == 0 && bmd__sampler_remaining(smp) > 0)
        rc = bmd__fail(BMD_ERR_RUNTIME, "the sampler admitted nothing into an empty batch");
    if (!rc) rc = bmd__runner_reserve(r);
    r->stats->refills++;
    bmd__runner_note_peak(r);
    r->stats->t_io += io;
    r->stats->t_flow += bmd__now() - t0 - io;
    return rc;
}

/* Atoms (returned) and systems (*systems) of the live systems (0 <= status
 * < k): what the next step moves. */
static long live_atoms(const bmd__runner *r, long *systems) {
    long live = 0, ns = 0;
    for (int s = 0; s < r->b->n_systems; s++)
        if (r->b->status[s] >= 0 && r->b->status[s] < r->k) {
            live += r->b->atom_count[s];
            ns++;
        }
    *systems = ns;
    return live;
}

/* t_step's split (timers.h): the model's neighbor and force seconds since
 * base (bmd_model_timers at the start of the loop), the rest integrate. */
static void split_step(bmd__runner *r, const double base[2]) {
    bmd_run_stats *s = r->stats;
    bmd_model_timers(r->m, &s->t_neighbor, &s->t_force);
    s->t_neighbor -= base[0];
    s->t_force -= base[1];
    double rest = s->t_step - s->t_neighbor - s->t_force;
    s->t_integrate = rest > 0 ? rest : 0;
}

static void report(bmd__runner *r, double *t_report, const double base[2]) {
    bmd_run_stats *stats = r->stats;
    stats->live = r->b->n_systems;
    stats->seconds = bmd__now() - r->t_start;
    split_step(r, base);
    if (!r->opt->progress || stats->seconds - (*t_report - r->t_start) < r->opt->progress_every_s) return;
    *t_report = bmd__now();
    memset(stats->live_in, 0, sizeof stats->live_in);
    for (int s = 0; s < r->b->n_systems; s++) {
        int i = r->b->status[s];
        if (i >= 0 && i < r->k && r->name_offset + i < 32) stats->live_in[r->name_offset + i]++;
    }
    r->opt->progress(r->opt->progress_user, stats);
}

/* The model's list builds during this run (bmd_run_stats.list_builds): since
 * bmd__runner_run started, plus those before the checkpoint it resumed from;
 * -1 for a model without lists. */
static long run_builds(const bmd__runner *r) {
    long now = bmd_model_list_builds(r->m);
    if (now < 0 || r->builds0[0] < 0) return -1;
    return r->builds0[1] + (now - r->builds0[0]);
}

/* ------------------------------------------------------ checkpoints */

static const char *const STAT_SECTION = "stats", *const BATCH_SECTION = "batch", *const STAGE_SECTION = "stage",
                         *const SOURCE_SECTION = "source";

/* The statistics that carry over a resume, field by field (the struct may
 * grow: fields not listed here cover the resumed part only). */
static void put_stats(bmd__buf *out, const bmd_run_stats *s, double seconds, long builds) {
    const long v[] = {s->started, s->done, s->failed, s->loop_steps, s->refills, s->peak_atoms, s->peak_systems};
    bmd__buf_u32(out, (uint32_t)(sizeof v / sizeof v[0]));
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) bmd__buf_i64(out, v[i]);
    const double d[] = {s->atom_steps, seconds, s->t_step, s->t_flow, s->t_io, s->t_neighbor, s->t_force};
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) bmd__buf_f64(out, d[i]);
    for (int i = 0; i < 32; i++) {
        bmd__buf_i64(out, s->entered[i]);
        bmd__buf_i64(out, s->converged[i]);
        bmd__buf_i64(out, s->unconverged[i]);
    }
    /* added later, at the end: a checkpoint written before has neither */
    bmd__buf_f64(out, s->system_steps);
    bmd__buf_i64(out, builds);
}

static bmd_status get_stats(bmd__runner *r, const void *data, size_t n) {
    bmd_run_stats *s = r->stats;
    bmd__rd rd = {data, n, 0, 0};
    long *v[] = {&s->started, &s->done, &s->failed, &s->loop_steps, &s->refills, &s->peak_atoms, &s->peak_systems};
    if (bmd__rd_u32(&rd) != sizeof v / sizeof v[0]) rd.bad = 1;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) *v[i] = (long)bmd__rd_i64(&rd);
    double seconds = 0;
    double *d[] = {&s->atom_steps, &seconds, &s->t_step, &s->t_flow, &s->t_io, &r->t_model0[0], &r->t_model0[1]};
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) *d[i] = bmd__rd_f64(&rd);
    for (int i = 0; i < 32; i++) {
        s->entered[i] = (long)bmd__rd_i64(&rd);
        s->converged[i] = (long)bmd__rd_i64(&rd);
        s->unconverged[i] = (long)bmd__rd_i64(&rd);
    }
    /* absent from older checkpoints: then both count the resumed part only */
    s->system_steps = 0;
    r->builds0[1] = 0;
    if (rd.off < rd.n) {
        s->system_steps = bmd__rd_f64(&rd);
        long builds = (long)bmd__rd_i64(&rd);
        r->builds0[1] = builds > 0 ? builds : 0;
    }
    if (rd.bad || rd.off != rd.n) return bmd__fail(BMD_ERR_PARSE, "checkpoint: malformed statistics");
    r->t_start = bmd__now() - seconds;
    return BMD_OK;
}

/* An output of the run: name, commit, rewind, self. */
typedef struct stream_ref {
    const char *name;
    bmd_checkpoint_commit_fn commit;
    bmd_checkpoint_rewind_fn rewind;
    void *self;
} stream_ref;

static bmd_status sink_commit(void *self, void **state, size_t *n) {
    bmd_sink *s = self;
    return s->ops->commit(s->self, state, n);
}
static bmd_status sink_rewind(void *self, const void *state, size_t n) {
    bmd_sink *s = self;
    return s->ops->rewind(s->self, state, n);
}

/* Every output of the run: final and failed (the NULL ones left out),
 * then the checkpoint's streams; fails when one cannot be checkpointed. */
static bmd_status streams(const bmd__runner *r, stream_ref *out, int *n) {
    bmd_sink *own[2] = {r->final, r->failed};
    const char *names[2] = {"final", "failed"};
    *n = 0;
    for (int i = 0; i < 2; i++) {
        if (!own[i]) continue;
        if (!own[i]->ops->commit || !own[i]->ops->rewind)
            return bmd__fail(BMD_ERR_UNSUPPORTED, "checkpoints: output '%s' (a %s sink) cannot be checkpointed",
                             names[i], own[i]->ops->type);
        out[(*n)++] = (stream_ref){names[i], sink_commit, sink_rewind, own[i]};
    }
    for (int i = 0; i < bmd__ckpt_n_streams(r->ck); i++) {
        const bmd__ckpt_stream *c = bmd__ckpt_stream_at(r->ck, i);
        out[(*n)++] = (stream_ref){c->name, c->commit, c->rewind, c->self};
    }
    return BMD_OK;
}

static bmd_status checkpoint(bmd__runner *r, const bmd__runner_io *io) {
    stream_ref refs[2 + 16];
    int n = 0;
    double t0 = bmd__now();
    bmd_status rc = streams(r, refs, &n);
    bmd__buf body = {0}, part = {0};
    uint32_t sections = 0;
    /* the outputs first: durable before the file that names their lengths */
    for (int i = 0; !rc && i < n; i++) {
        void *state = NULL;
        size_t k = 0;
        char name[80];
        rc = refs[i].commit(refs[i].self, &state, &k);
        snprintf(name, sizeof name, "stream:%s", refs[i].name);
        if (!rc) bmd__buf_section(&body, name, state, k);
        free(state);
        sections++;
    }
    if (!rc && io->save && !(rc = io->save(io->self, r, &part))) {
        bmd__buf_section(&body, SOURCE_SECTION, part.p, part.n);
        sections++;
    }
    bmd__buf_free(&part);
    if (!rc) {
        bmd__ckpt_put_batch(&part, r->b);
        bmd__buf_section(&body, BATCH_SECTION, part.p, part.n);
        bmd__buf_free(&part);
        bmd__buf_i64(&part, bmd_stage_loop_step(r->st));
        bmd__buf_section(&body, STAGE_SECTION, part.p, part.n);
        bmd__buf_free(&part);
        put_stats(&part, r->stats, bmd__now() - r->t_start, run_builds(r));
        bmd__buf_section(&body, STAT_SECTION, part.p, part.n);
        bmd__buf_free(&part);
        sections += 3;
    }
    if (!rc) rc = bmd__ckpt_write(r->ck, &body, sections);
    bmd__buf_free(&body);
    r->stats->t_io += bmd__now() - t0;
    return rc;
}

bmd_status bmd__runner_checkpoint(bmd__runner *r) { return checkpoint(r, r->io); }

static const void *need(const bmd__runner *r, const char *name, size_t *n, bmd_status *rc) {
    if (*rc) return NULL;
    const void *p = bmd__ckpt_section(r->ck, name, n);
    if (!p)
        *rc = bmd__fail(BMD_ERR_INVALID, "%s: the checkpoint has no '%s' state; it was written for another set of "
                                         "outputs: delete it to start again",
                        bmd_checkpoint_path(r->ck), name);
    return p;
}

/* Puts the run back where the loaded checkpoint was taken: outputs
 * rewound, sampler, batch, stage clock and statistics restored. */
static bmd_status restore(bmd__runner *r, const bmd__runner_io *io) {
    stream_ref refs[2 + 16];
    int n = 0;
    size_t len = 0;
    bmd_status rc = streams(r, refs, &n);
    for (int i = 0; !rc && i < n; i++) {
        char name[80];
        snprintf(name, sizeof name, "stream:%s", refs[i].name);
        const void *p = need(r, name, &len, &rc);
        if (p) rc = refs[i].rewind(refs[i].self, p, len);
    }
    const void *p = io->restore ? need(r, SOURCE_SECTION, &len, &rc) : NULL;
    if (p) rc = io->restore(io->self, r, p, len);
    if ((p = need(r, BATCH_SECTION, &len, &rc))) {
        bmd__rd rd = {p, len, 0, 0};
        rc = bmd__ckpt_get_batch(&rd, r->b);
        if (!rc && rd.off != rd.n) rc = bmd__fail(BMD_ERR_PARSE, "checkpoint: malformed batch section");
    }
    if ((p = need(r, STAGE_SECTION, &len, &rc))) {
        bmd__rd rd = {p, len, 0, 0};
        long step = (long)bmd__rd_i64(&rd);
        if (rd.bad) rc = bmd__fail(BMD_ERR_PARSE, "checkpoint: malformed stage section");
        else bmd_stage_set_loop_step(r->st, step);
    }
    if ((p = need(r, STAT_SECTION, &len, &rc))) rc = get_stats(r, p, len);
    if (!rc) rc = bmd__runner_reserve(r);
    bmd__runner_note_peak(r);
    return rc;
}

static int stop_requested(const bmd__runner *r) { return r->opt->stop && *r->opt->stop; }

static bmd_status loop(bmd__runner *r, const bmd__runner_io *io) {
    bmd_run_stats *stats = r->stats;
    double t_report = r->t_start, base[2];
    bmd_model_timers(r->m, &base[0], &base[1]);
    base[0] -= r->t_model0[0]; /* a resumed run: the model's seconds before the checkpoint */
    base[1] -= r->t_model0[1];
    bmd_status rc = BMD_OK;
    for (int round = 0;; round++) {
        if (io->begin_round && (rc = io->begin_round(io->self, r))) break;
        if ((rc = evict(r, io))) break;
        if (round > 0) report(r, &t_report, base);
        if (stop_requested(r)) {
            if (!r->ck) {
                rc = bmd__fail(BMD_ERR_RUNTIME, "interrupted by a stop request; no checkpoint was written (none configured)");
                break;
            }
            if (!(rc = checkpoint(r, io))) bmd__ckpt_set_stopped(r->ck, 1);
            break;
        }
        if (r->ck && !io->exchange && bmd__ckpt_due(r->ck) && (rc = checkpoint(r, io))) break;
        int stop = 0;
        if (io->exchange && ((rc = io->exchange(io->self, r, &stop)) || stop)) break;
        if ((rc = io->refill(io->self, r))) break;
        if (!io->exchange && r->b->n_systems == 0) {
            /* the end: a last checkpoint, so that a resume finds nothing left to do */
            if (r->ck) rc = checkpoint(r, io);
            break;
        }
        for (long i = 0; i < r->refill_every && !rc; i++) {
            long live_systems, live = live_atoms(r, &live_systems);
            if (live > 0) {
                double t0 = bmd__now();
                rc = bmd_stage_step(r->st, r->b, r->m);
                stats->t_step += bmd__now() - t0;
                stats->loop_steps++;
                stats->atom_steps += (double)live;
                stats->system_steps += (double)live_systems;
            }
            int end = live == 0 || stop_requested(r);
            if (!rc && io->after_step) rc = io->after_step(io->self, r, live > 0, &end);
            if (end) break;
        }
        if (rc) break;
    }
    stats->live = r->b->n_systems;
    stats->seconds = bmd__now() - r->t_start;
    split_step(r, base);
    stats->list_builds = run_builds(r);
    return rc;
}

bmd_status bmd__runner_init(bmd__runner *r, bmd_stage *st, bmd_model *m, const bmd_run_options *opt,
                            bmd_sink *final, bmd_sink *failed, bmd_run_stats *stats, const char *const *names,
                            int n_names, int name_offset) {
    memset(r, 0, sizeof *r);
    r->t_start = bmd__now();
    r->st = st;
    r->m = m;
    r->opt = opt;
    r->final = final;
    r->failed = failed;
    r->stats = stats;
    r->k = bmd_stage_count(st);
    r->max_atoms = opt->max_atoms > 0 ? opt->max_atoms : 1L << 30;
    r->max_systems = opt->max_systems > 0 ? opt->max_systems : 1L << 30;
    r->refill_every = opt->refill_every > 0 ? opt->refill_every : 1;
    r->ck = opt->checkpoint;
    r->names = names;
    r->n_names = n_names;
    r->name_offset = name_offset;
    if (!names) {
        r->n_names = r->k;
        r->name_offset = 0;
    } else if (name_offset < 0 || name_offset + r->k > n_names) {
        return bmd__fail(BMD_ERR_INVALID, "stage names: %d names cannot hold %d sub-stages from index %d", n_names,
                         r->k, name_offset);
    }
    stats->n_stages = r->n_names;
    bmd_status rc = BMD_OK;
    if (opt->ordered && final && !(rc = bmd_sink_ordered_create(final, 0, &r->ordered))) r->final = r->ordered;
    if (!rc) rc = bmd_batch_create(&r->b);
    if (!rc) rc = bmd__runner_reserve(r);
    return rc;
}

bmd_status bmd__runner_run(bmd__runner *r, const bmd__runner_io *io) {
    const char *own[32];
    const char *const *given = r->names;
    if (!given) {
        for (int i = 0; i < r->k && i < 32; i++) own[i] = bmd_stage_name(r->st, i);
        r->names = own;
        if (r->n_names > 32) r->n_names = 32;
    }
    bmd_status rc = BMD_OK;
    r->io = io;
    r->builds0[0] = bmd_model_list_builds(r->m); /* a model may serve several runs */
    r->builds0[1] = 0;
    if (r->ck) {
        stream_ref refs[2 + 16];
        int n = 0;
        bmd__ckpt_set_stopped(r->ck, 0);
        rc = streams(r, refs, &n); /* every output can be checkpointed */
        if (!rc && bmd_checkpoint_loaded(r->ck)) rc = restore(r, io);
        if (!rc) bmd__ckpt_start(r->ck);
    }
    if (!rc) rc = bmd_stage_open(r->st, r->b);
    if (!rc) rc = loop(r, io);
    bmd_status rc2 = bmd_stage_close(r->st);
    r->names = given;
    return rc ? rc : rc2;
}

bmd_status bmd__runner_fini(bmd__runner *r) {
    double t0 = bmd__now();
    bmd_status rc = bmd_sink_destroy(r->ordered); /* releases what it still holds into final */
    if (r->stats) r->stats->t_io += bmd__now() - t0;
    bmd_batch_destroy(r->b);
    free(r->mask);
    free(r->virial);
    r->ordered = NULL;
    r->b = NULL;
    r->mask = NULL;
    r->virial = NULL;
    return rc;
}

/* ------------------------------------------------- bmd_run_inflight */

typedef struct inflight {
    bmd__sampler *smp;
    const bmd_dataset *ds;
} inflight;

static bmd_status inflight_refill(void *self, bmd__runner *r) {
    inflight *f = self;
    return bmd__runner_refill_sampler(r, f->smp, f->ds);
}

static bmd_status inflight_save(void *self, bmd__runner *r, bmd__buf *out) {
    (void)r;
    bmd__sampler_save(((inflight *)self)->smp, out);
    return BMD_OK;
}

static bmd_status inflight_restore(void *self, bmd__runner *r, const void *data, size_t n) {
    (void)r;
    return bmd__sampler_restore(((inflight *)self)->smp, data, n);
}

bmd_status bmd_run_inflight(bmd_stage *st, bmd_model *m, const bmd_dataset *ds, const bmd_run_options *opt,
                            bmd_sink *final, bmd_sink *failed, bmd_run_stats *stats) {
    memset(stats, 0, sizeof *stats);
    if (!st || !m || !ds || !opt)
        return bmd__fail(BMD_ERR_INVALID, "bmd_run_inflight: missing stage, model, dataset or options");
    stats->total = bmd_dataset_size(ds);
    inflight f = {.ds = ds};
    bmd__runner r;
    double t0 = bmd__now();
    bmd_status rc = bmd__sampler_create(ds, opt->max_atoms, &f.smp);
    stats->t_flow += bmd__now() - t0;
    bmd_status rc_init = bmd__runner_init(&r, st, m, opt, final, failed, stats, NULL, 0, 0);
    double before = r.t_start - t0; /* the sampler's set-up: timed (t_flow), so part of the wall time */
    if (!rc) rc = rc_init;
    if (!rc) {
        bmd__runner_io io = {.self = &f, .refill = inflight_refill, .save = inflight_save, .restore = inflight_restore};
        rc = bmd__runner_run(&r, &io);
    }
    bmd_status rc3 = bmd__runner_fini(&r);
    /* the wall time spans every timed part: the sampler's set-up before the
     * loop and the ordered sink's release (t_io) after it too */
    stats->seconds = bmd__now() - r.t_start + before;
    if (!rc) rc = rc3;
    bmd__sampler_destroy(f.smp);
    return rc;
}
