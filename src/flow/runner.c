/* runner.c — owns the inflight loop: keep the live batch full within its
 * budget (dataset order), step the stage, and every refill_every steps send
 * graduated systems to `final` and quarantined ones to `failed`, then refill.
 * Also the single-point evaluation of a whole dataset. Because a system's
 * numbers never depend on its batch, the refill rhythm and budget change
 * nothing but speed. */
#include "batchmd/flow.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Grows a byte/double scratch buffer to n elements. */
static int reserve(void **p, size_t *cap, size_t n, size_t elem) {
    if (n <= *cap) return 0;
    size_t c = *cap ? *cap : 64;
    while (c < n) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

static int fully_periodic(const bmd_batch *b, int s) {
    return b->pbc[3 * s] && b->pbc[3 * s + 1] && b->pbc[3 * s + 2];
}

typedef struct runner {
    bmd_batch *b;
    unsigned char *mask;
    size_t mask_cap;
    double *virial;
    size_t virial_cap;
} runner;

/* Stress (ASE's sign, eV/Å³) of the masked fully periodic systems into b->stress. */
static bmd_status compute_stress(runner *r, bmd_model *m) {
    bmd_batch *b = r->b;
    int any = 0;
    for (int s = 0; s < b->n_systems; s++) {
        r->mask[s] = r->mask[s] && fully_periodic(b, s) && bmd_batch_volume(b, s) > 0;
        any |= r->mask[s];
    }
    if (!any) return BMD_OK;
    if (reserve((void **)&r->virial, &r->virial_cap, 6 * (size_t)b->n_systems, sizeof(double)))
        return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    bmd_compute_request req = {.mask = r->mask, .virial = r->virial};
    bmd_status st = bmd_model_compute(m, b, &req);
    if (st) return st;
    for (int s = 0; s < b->n_systems; s++) {
        if (!r->mask[s]) continue;
        double v = bmd_batch_volume(b, s);
        for (int k = 0; k < 6; k++) b->stress[6 * s + k] = r->virial[6 * s + k] / v;
        b->stress_valid[s] = 1;
    }
    return BMD_OK;
}

/* Adds steps_S / converged_S for the sub-stages the system went through. */
static bmd_status annotate(bmd_stage *st, bmd_batch *b, int s, bmd_system *sys, bmd_run_stats *stats, int done) {
    int k = bmd_stage_count(st);
    char key[96], val[32];
    bmd_info_remove(&sys->info, "system_id");
    for (int i = 0; i < k; i++) {
        int sc = bmd_stage_steps_column(st, b, i), cc = bmd_stage_converged_column(st, b, i);
        double steps = bmd_batch_column_data(b, sc)[s];
        double conv = bmd_batch_column_data(b, cc)[s];
        if (!done && steps <= 0 && conv <= 0) continue;
        snprintf(key, sizeof key, "steps_%s", bmd_stage_name(st, i));
        snprintf(val, sizeof val, "%.0f", steps);
        bmd_status rc = bmd_info_set(&sys->info, key, val);
        snprintf(key, sizeof key, "converged_%s", bmd_stage_name(st, i));
        if (!rc) rc = bmd_info_set(&sys->info, key, conv > 0 ? "T" : "F");
        if (rc) return rc;
        if (done && i < 32) {
            stats->entered[i]++;
            if (conv > 0) stats->converged[i]++;
            else stats->unconverged[i]++;
        }
    }
    if (done) return bmd_info_set(&sys->info, "status", "done");
    if (!bmd_info_get(&sys->info, "status")) return bmd_info_set(&sys->info, "status", "failed");
    return BMD_OK;
}

/* Writes and removes every system that has left (status k or failed). */
static bmd_status evict(runner *r, bmd_stage *st, bmd_model *m, const bmd_run_options *opt, bmd_sink *final,
                        bmd_sink *failed, bmd_run_stats *stats) {
    bmd_batch *b = r->b;
    int k = bmd_stage_count(st), any = 0;
    for (int s = 0; s < b->n_systems; s++) {
        r->mask[s] = b->status[s] == k || b->status[s] == BMD_STATUS_FAILED;
        any |= r->mask[s];
    }
    if (!any) return BMD_OK;
    if (opt->stress_on_exit) {
        for (int s = 0; s < b->n_systems; s++) r->mask[s] = b->status[s] == k;
        bmd_status rc = compute_stress(r, m);
        if (rc) return rc;
        for (int s = 0; s < b->n_systems; s++) r->mask[s] = b->status[s] == k || b->status[s] == BMD_STATUS_FAILED;
    }
    double t0 = now_s();
    for (int s = 0; s < b->n_systems; s++) {
        if (!r->mask[s]) continue;
        int done = b->status[s] == k;
        bmd_system sys;
        bmd_status rc = bmd_batch_extract(b, s, &sys);
        if (!rc) rc = annotate(st, b, s, &sys, stats, done);
        if (!rc) rc = bmd_sink_write(done ? final : failed, &sys);
        bmd_system_free(&sys);
        if (rc) return rc;
        if (done) stats->done++;
        else stats->failed++;
    }
    stats->t_io += now_s() - t0;
    return bmd_batch_remove(b, r->mask);
}

static bmd_status refill(runner *r, const bmd_dataset *ds, long *next, long max_atoms, long max_systems,
                         bmd_run_stats *stats) {
    bmd_batch *b = r->b;
    long n = bmd_dataset_size(ds);
    while (*next < n) {
        int na = bmd_dataset_atoms(ds, *next);
        if (na > max_atoms)
            return bmd__fail(BMD_ERR_BUDGET, "structure %ld has %d atoms, more than the batch budget max_atoms=%ld",
                             *next, na, max_atoms);
        if (b->n_atoms + na > max_atoms || b->n_systems >= max_systems) break;
        bmd_system sys;
        bmd_status st = bmd_dataset_get(ds, *next, &sys);
        if (!st) st = bmd_batch_append(b, &sys, NULL);
        bmd_system_free(&sys);
        if (st) return st;
        (*next)++;
        stats->started++;
    }
    if (reserve((void **)&r->mask, &r->mask_cap, (size_t)b->n_systems + 1, 1))
        return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    return BMD_OK;
}

bmd_status bmd_run_inflight(bmd_stage *st, bmd_model *m, const bmd_dataset *ds, const bmd_run_options *opt,
                            bmd_sink *final, bmd_sink *failed, bmd_run_stats *stats) {
    memset(stats, 0, sizeof *stats);
    stats->total = bmd_dataset_size(ds);
    stats->n_stages = bmd_stage_count(st);
    runner r = {0};
    bmd_status rc = bmd_batch_create(&r.b);
    if (rc) return rc;
    double t_start = now_s(), t_report = t_start;
    long next = 0, refill_every = opt->refill_every > 0 ? opt->refill_every : 1;
    rc = bmd_stage_open(st, r.b);
    while (!rc) {
        double t0 = now_s();
        rc = refill(&r, ds, &next, opt->max_atoms, opt->max_systems, stats);
        stats->t_flow += now_s() - t0;
        if (rc || r.b->n_systems == 0) break;
        for (long i = 0; i < refill_every && !rc; i++) {
            int live = 0;
            for (int s = 0; s < r.b->n_systems; s++)
                if (r.b->status[s] >= 0 && r.b->status[s] < stats->n_stages) live += r.b->atom_count[s];
            if (live == 0) break;
            t0 = now_s();
            rc = bmd_stage_step(st, r.b, m);
            stats->t_step += now_s() - t0;
            stats->loop_steps++;
            stats->atom_steps += live;
        }
        if (rc) break;
        t0 = now_s();
        double io0 = stats->t_io;
        rc = evict(&r, st, m, opt, final, failed, stats);
        stats->t_flow += now_s() - t0 - (stats->t_io - io0);
        stats->live = r.b->n_systems;
        stats->seconds = now_s() - t_start;
        if (opt->progress && stats->seconds - (t_report - t_start) >= opt->progress_every_s) {
            t_report = now_s();
            opt->progress(opt->progress_user, stats);
        }
    }
    bmd_status rc2 = bmd_stage_close(st);
    if (!rc) rc = rc2;
    stats->live = r.b->n_systems;
    stats->seconds = now_s() - t_start;
    bmd_batch_destroy(r.b);
    free(r.mask);
    free(r.virial);
    return rc;
}

bmd_status bmd_eval_dataset(bmd_model *m, const bmd_dataset *ds, long max_atoms, long max_systems, bmd_sink *out,
                            bmd_run_stats *stats) {
    memset(stats, 0, sizeof *stats);
    stats->total = bmd_dataset_size(ds);
    runner r = {0};
    bmd_status rc = bmd_batch_create(&r.b);
    double t_start = now_s();
    long next = 0;
    while (!rc) {
        rc = refill(&r, ds, &next, max_atoms, max_systems, stats);
        if (rc || r.b->n_systems == 0) break;
        bmd_batch *b = r.b;
        if (reserve((void **)&r.virial, &r.virial_cap, 6 * (size_t)b->n_systems, sizeof(double))) {
            rc = bmd__fail(BMD_ERR_NOMEM, "out of memory");
            break;
        }
        bmd_compute_request req = {.energy = b->energy, .forces = b->force, .virial = r.virial};
        double t0 = now_s();
        if ((rc = bmd_model_compute(m, b, &req))) break;
        stats->t_step += now_s() - t0;
        stats->atom_steps += b->n_atoms;
        for (int s = 0; s < b->n_systems; s++) {
            b->forces_valid[s] = 1;
            double v = bmd_batch_volume(b, s);
            b->stress_valid[s] = fully_periodic(b, s) && v > 0;
            if (b->stress_valid[s])
                for (int k = 0; k < 6; k++) b->stress[6 * s + k] = r.virial[6 * s + k] / v;
        }
        t0 = now_s();
        for (int s = 0; s < b->n_systems && !rc; s++) {
            bmd_system sys;
            rc = bmd_batch_extract(b, s, &sys);
            if (!rc) {
                bmd_info_remove(&sys.info, "system_id");
                rc = bmd_sink_write(out, &sys);
                bmd_system_free(&sys);
            }
            stats->done++;
        }
        stats->t_io += now_s() - t0;
        memset(r.mask, 1, (size_t)b->n_systems);
        if (!rc) rc = bmd_batch_remove(b, r.mask);
    }
    stats->seconds = now_s() - t_start;
    bmd_batch_destroy(r.b);
    free(r.mask);
    free(r.virial);
    return rc;
}
