/* log.c — the CSV log hook: one row per live system whose own step count in
 * its sub-stage is a multiple of `every` (after the step), plus a row at
 * entry (step 0) and a last row when a system leaves a sub-stage at a step
 * not already logged. Columns: system_id, stage, step, energy, fmax,
 * temperature, pressure, volume, with units in the header (metal: eV,
 * eV/Å, K, bar, Å³; lj: ε, ε/σ, ε/k_B, ε/σ³, σ³). The pressure
 * (bmd_pressure: kinetic part included, as LAMMPS's thermo press) is
 * written when the stress was computed at that step (a stage whose dynamics
 * needs the virial, a cell periodic along a, b and c), the volume for a
 * cell periodic along a, b and c; otherwise the field is empty. The last
 * column, conserved, is the conserved quantity of the row's sub-stage
 * (bmd_stage_conserved: K + U + the dynamics' extended energy), empty for
 * dynamics without one (Langevin, Berendsen, the optimizers).
 * The temperature is 2K / (N_f k_B) with the degrees of freedom the row's
 * sub-stage declares (bmd_stage_dof: 3N for Langevin and the optimizers,
 * 3N − 3 for NVE and Nosé–Hoover and under fix_com), its fixed atoms taken
 * out (bmd_temperature); fmax is over free atoms (bmd_fmax).
 * Rows are records (io/records.h): a process killed by a signal other than
 * SIGKILL leaves whole rows only.
 * For checkpoints (bmd_checkpoint_add_log_hook): commit flushes, fsyncs and
 * records the length; after a rewind, open keeps the file, truncated to
 * that length (rows of a torn last line included), instead of a new one. */
#include "hooks/hooks_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batchmd/checkpoint.h"
#include "io/records.h"

typedef struct log_hook {
    char *path;
    bmd__records *out;
    long every;
    int64_t resume_len; /* >= 0: open keeps the file, truncated to it (a records commit state) */
    double *conserved;  /* [cap] the rows' conserved quantities (bmd_stage_conserved) */
    unsigned char *scratch; /* [cap] its scratch mask */
    int cap;
} log_hook;

static bmd_status log_open(void *self, const bmd_stage *stage, bmd_batch *b) {
    (void)b;
    log_hook *h = self;
    bmd__records_close(h->out);
    h->out = NULL;
    bmd_status st;
    if (h->resume_len >= 0) {
        if ((st = bmd__records_open(h->path, 1, &h->out)) || (st = bmd__records_truncate(h->out, h->resume_len)))
            return st;
        h->resume_len = -1;
        return BMD_OK;
    }
    if ((st = bmd__records_open(h->path, 0, &h->out))) return st;
    FILE *f = bmd__records_stream(h->out);
    if (bmd_stage_units(stage)->kind == BMD_UNITS_LJ)
        fputs("system_id,stage,step,energy_eps,fmax_eps_per_sigma,temperature_eps_per_kB,pressure_eps_per_sigma3,"
              "volume_sigma3,conserved_eps\n",
              f);
    else
        fputs("system_id,stage,step,energy_eV,fmax_eV_per_A,temperature_K,pressure_bar,volume_A3,conserved_eV\n", f);
    return bmd__records_end(h->out);
}

static void row(FILE *f, const bmd_hook_ctx *ctx, int s, double steps, double conserved) {
    const bmd_batch *b = ctx->batch;
    const unsigned char *pbc = b->pbc + 3 * (size_t)s;
    fprintf(f, "%lld,%s,%.0f,%.17g,%.17g,%.17g,", (long long)b->system_id[s],
            bmd_stage_name(ctx->stage, b->status[s]), steps, b->energy[s], bmd_fmax(b, s),
            bmd_temperature(b, s, ctx->units, bmd_stage_dof(ctx->stage, b->status[s])));
    double p = bmd_pressure(b, s, ctx->units);
    if (!isnan(p)) fprintf(f, "%.17g", p / ctx->units->pressure);
    fputc(',', f);
    if (pbc[0] && pbc[1] && pbc[2]) fprintf(f, "%.17g", bmd_batch_volume(b, s));
    fputc(',', f);
    if (!isnan(conserved)) fprintf(f, "%.17g", conserved);
    fputc('\n', f);
}

static bmd_status log_call(void *self, const bmd_hook_ctx *ctx) {
    log_hook *h = self;
    if (!h->out) return bmd__fail(BMD_ERR_IO, "%s: log written before it was opened", h->path);
    bmd_batch *b = ctx->batch;
    int cols[BMD__HOOK_MAX_SUB];
    int k = bmd__hook_steps_columns(ctx->stage, b, cols);
    if (k < 0) return BMD_ERR_BUDGET;
    if (b->n_systems > h->cap) {
        double *c = realloc(h->conserved, (size_t)b->n_systems * sizeof *c);
        if (c) h->conserved = c;
        unsigned char *m = realloc(h->scratch, (size_t)b->n_systems);
        if (m) h->scratch = m;
        if (!c || !m) return bmd__fail(BMD_ERR_NOMEM, "%s: out of memory", h->path);
        h->cap = b->n_systems;
    }
    bmd_status rc = bmd_stage_conserved(ctx->stage, b, ctx->mask, h->scratch, h->conserved);
    if (rc) return rc;
    for (int s = 0; s < b->n_systems; s++) {
        int i = b->status[s];
        if (!ctx->mask[s] || i < 0 || i >= k) continue;
        double steps = bmd_batch_column_data(b, cols[i])[s];
        long n = (long)steps;
        int write = 0;
        if (ctx->point == BMD_HOOK_BEFORE_STEP) write = n == 0;
        else if (ctx->point == BMD_HOOK_AFTER_STEP) write = n % h->every == 0;
        else if (ctx->point == BMD_HOOK_ON_CONVERGE) write = n == 0 || n % h->every != 0;
        if (write) row(bmd__records_stream(h->out), ctx, s, steps, h->conserved[s]);
    }
    return bmd__records_end(h->out); /* the rows of this call, whole */
}

static bmd_status log_close(void *self) {
    log_hook *h = self;
    bmd_status st = bmd__records_close(h->out);
    h->out = NULL;
    return st;
}

static void log_destroy(void *self) {
    log_hook *h = self;
    bmd__records_close(h->out);
    free(h->conserved);
    free(h->scratch);
    free(h->path);
    free(h);
}

static const bmd_hook_ops log_ops = {"log", log_open, log_call, log_close, log_destroy};

bmd_status bmd_hook_log_create(const char *path, long every, bmd_hook **out) {
    if (!path || !*path) return bmd__fail(BMD_ERR_INVALID, "log hook: empty path");
    log_hook *h = calloc(1, sizeof *h);
    char *p = malloc(strlen(path) + 1);
    if (!h || !p) {
        free(h);
        free(p);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory creating the log hook");
    }
    strcpy(p, path);
    h->path = p;
    h->every = every >= 1 ? every : 1;
    h->resume_len = -1;
    return bmd__hook_wrap(&log_ops, h, BMD_HOOK_BEFORE_STEP | BMD_HOOK_AFTER_STEP | BMD_HOOK_ON_CONVERGE, 1, out);
}

/* ------------------------------------------------------ checkpoints */

static bmd_status log_commit(void *self, void **state, size_t *n) {
    log_hook *h = ((bmd_hook *)self)->self;
    return bmd__records_commit(h->out, state, n); /* not opened yet: length 0 */
}

static bmd_status log_rewind(void *self, const void *state, size_t n) {
    log_hook *h = ((bmd_hook *)self)->self;
    if (n != sizeof h->resume_len) return bmd__fail(BMD_ERR_PARSE, "%s: malformed checkpoint state", h->path);
    if (h->out) return bmd__fail(BMD_ERR_INVALID, "%s: the log is rewound after it was opened", h->path);
    memcpy(&h->resume_len, state, sizeof h->resume_len);
    return BMD_OK;
}

bmd_status bmd_checkpoint_add_log_hook(bmd_checkpoint *ck, const char *name, bmd_hook *h) {
    if (!h || h->ops != &log_ops) return bmd__fail(BMD_ERR_INVALID, "bmd_checkpoint_add_log_hook: not a log hook");
    return bmd_checkpoint_add_stream(ck, name, log_commit, log_rewind, h);
}
