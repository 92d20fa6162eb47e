/* h5md_write.c — test driver (tests/flow/h5md_test.py): runs extxyz
 * structures, all in ONE batch, through a stage on a Lennard-Jones model
 * with a snapshot hook into an H5MD file.
 *
 *   h5md_write [options] IN.extxyz OUT.h5 SUMMARY.txt EPS SIGMA RC [FRAME ...]
 *
 *   -s NAME:TYPE:STEPS[:DT]  a sub-stage (repeatable, in order; default
 *                            md:nve:20:1.0): dynamics TYPE with its defaults,
 *                            max_steps STEPS; DT (fs) is given to the dynamics
 *                            and to the hook (bmd_hook_snapshot_set_dt)
 *   -f FMAX                  eV/Å, convergence of optimizer sub-stages (default 0: none)
 *   -e EVERY                 snapshot every EVERY own steps (default 5)
 *   -i ID                    only this system_id (repeatable; default all)
 *   -c CONV.h5               also a converged-snapshot hook (last_only) into CONV.h5
 *   -l LOOPS                 run LOOPS loop steps at a time (each run opens and
 *                            closes the hooks: the sink is closed and reopened)
 *   -u metal|lj              units (default metal)
 *
 * One species-independent LJ entry (ε eV, σ Å, cutoff RC Å, shifted, skin
 * 0.5 Å). FRAME ... (0-based) picks the frames and the order they are
 * appended in (system_id = frame index); default all, in file order.
 * SUMMARY.txt gets one line per system, in slot order:
 *     system_id n_atoms steps_0 steps_1 ...    (updates taken per sub-stage)
 * Exit status: 0 ok, 1 failure, 2 bad arguments, 3 built without HDF5. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchmd/batchmd.h"
#include "batchmd/h5md.h"

#define MAX_SUB 8

typedef struct sub {
    char name[33], type[33];
    long steps;
    double dt; /* 0: none */
} sub;

static int fail(const char *what) {
    fprintf(stderr, "h5md_write: %s: %s\n", what, bmd_last_error());
    return 1;
}

static int parse_sub(const char *arg, sub *s) {
    memset(s, 0, sizeof *s);
    return sscanf(arg, "%32[^:]:%32[^:]:%ld:%lf", s->name, s->type, &s->steps, &s->dt) >= 3;
}

static int make_sink(const char *path, bmd_units_kind u, bmd_sink **out) {
    bmd_status rc = bmd_sink_h5md_create(path, u, out);
    if (rc == BMD_ERR_UNSUPPORTED) {
        fprintf(stderr, "h5md_write: %s\n", bmd_last_error());
        return 3;
    }
    return rc ? fail("creating the H5MD sink") : 0;
}

/* What main builds, freed at exit on every path (error exits included). */
static struct {
    bmd_system *frames;
    long nf;
    bmd_model *m;
    bmd_batch *b;
    bmd_stage *st;
} g;

static void cleanup(void) {
    bmd_stage_destroy(g.st); /* destroys the hooks, which destroy their sinks */
    bmd_batch_destroy(g.b);
    bmd_model_destroy(g.m);
    for (long i = 0; i < g.nf; i++) bmd_system_free(&g.frames[i]);
    free(g.frames);
}

int main(int argc, char **argv) {
    atexit(cleanup);
    sub subs[MAX_SUB];
    int n_sub = 0, n_ids = 0;
    int64_t ids[64];
    double fmax = 0;
    long every = 5, loops = 0;
    const char *conv_path = NULL;
    bmd_units_kind units = BMD_UNITS_METAL;
    while (argc > 2 && argv[1][0] == '-' && argv[1][1] && !argv[1][2]) {
        char o = argv[1][1];
        const char *v = argv[2];
        if (o == 's' && n_sub < MAX_SUB && parse_sub(v, &subs[n_sub])) n_sub++;
        else if (o == 'f') fmax = atof(v);
        else if (o == 'e') every = atol(v);
        else if (o == 'i' && n_ids < 64) ids[n_ids++] = atoll(v);
        else if (o == 'c') conv_path = v;
        else if (o == 'l') loops = atol(v);
        else if (o == 'u' && bmd_units_parse(v) >= 0) units = (bmd_units_kind)bmd_units_parse(v);
        else {
            fprintf(stderr, "h5md_write: bad option -%c %s\n", o, v);
            return 2;
        }
        argc -= 2;
        argv += 2;
    }
    if (argc < 7) {
        fprintf(stderr, "usage: h5md_write [-s NAME:TYPE:STEPS[:DT]]... [-f FMAX] [-e EVERY] [-i ID]... [-c CONV.h5] "
                        "[-l LOOPS] [-u metal|lj] IN.extxyz OUT.h5 SUMMARY.txt EPS SIGMA RC [FRAME ...]\n");
        return 2;
    }
    if (n_sub == 0) parse_sub("md:nve:20:1.0", &subs[n_sub++]);

    if (bmd_extxyz_read_all(argv[1], units, &g.frames, &g.nf)) return fail("reading input");
    bmd_system *frames = g.frames;
    long nf = g.nf;
    bmd_pair_params pair = {0, 0, {atof(argv[4]), atof(argv[5]), 0}, atof(argv[6])};
    bmd_pair_options opt = {0.5, 1, 1};
    if (bmd_model_lj_create(&pair, 1, &opt, &g.m)) return fail("creating the model");
    bmd_model *m = g.m;

    if (bmd_batch_create(&g.b)) return fail("creating the batch");
    bmd_batch *b = g.b;
    int n_pick = argc > 7 ? argc - 7 : (int)nf;
    for (int k = 0; k < n_pick; k++) {
        long i = argc > 7 ? atol(argv[7 + k]) : k;
        if (i < 0 || i >= nf) {
            fprintf(stderr, "h5md_write: frame %ld out of range (%ld frames)\n", i, nf);
            return 2;
        }
        frames[i].system_id = i;
        if (bmd_batch_append(b, &frames[i], NULL)) return fail("appending");
    }

    bmd_units u = bmd_units_get(units);
    if (bmd_stage_create(&u, 7, &g.st)) return fail("creating the stage");
    bmd_stage *st = g.st;
    for (int i = 0; i < n_sub; i++) {
        const bmd_dynamics_type *t = bmd_dynamics_find(subs[i].type);
        if (!t) {
            fprintf(stderr, "h5md_write: unknown dynamics '%s'\n", subs[i].type);
            return 2;
        }
        const char *pn[1] = {"dt"};
        bmd_dynamics *d = NULL;
        bmd_convergence conv = {t->is_optimizer ? fmax : 0, 0, subs[i].steps};
        if (bmd_dynamics_create(subs[i].type, pn, &subs[i].dt, subs[i].dt > 0, &d) ||
            bmd_stage_add(st, subs[i].name, d, &conv))
            return fail("building the stage");
    }

    bmd_sink *sink = NULL;
    int rc = make_sink(argv[2], units, &sink);
    if (rc) return rc;
    bmd_hook *h = NULL;
    if (bmd_hook_snapshot_create(sink, every, ids, n_ids, &h)) return fail("creating the snapshot hook");
    for (int i = 0; i < n_sub; i++)
        if (subs[i].dt > 0 && bmd_hook_snapshot_set_dt(h, subs[i].name, subs[i].dt)) return fail("setting dt");
    if (bmd_stage_add_hook(st, h)) return fail("adding the hook");
    if (conv_path) {
        bmd_sink *cs = NULL;
        bmd_hook *ch = NULL;
        if ((rc = make_sink(conv_path, units, &cs))) return rc;
        if (bmd_hook_converged_snapshot_create(cs, 1, &ch)) return fail("creating the converged snapshot hook");
        for (int i = 0; i < n_sub; i++)
            if (subs[i].dt > 0 && bmd_hook_snapshot_set_dt(ch, subs[i].name, subs[i].dt)) return fail("setting dt");
        if (bmd_stage_add_hook(st, ch)) return fail("adding the hook");
    }

    if (loops > 0) {
        while (bmd_stage_live(st, b) > 0)
            if (bmd_stage_run(st, b, m, loops)) return fail("running");
    } else if (bmd_stage_run(st, b, m, 0)) {
        return fail("running");
    }

    FILE *out = fopen(argv[3], "w");
    if (!out) return fail("opening the summary");
    for (int s = 0; s < b->n_systems; s++) {
        fprintf(out, "%lld %d", (long long)b->system_id[s], b->atom_count[s]);
        for (int i = 0; i < n_sub; i++) fprintf(out, " %.0f", bmd_batch_column_data(b, bmd_stage_steps_column(st, b, i))[s]);
        fputc('\n', out);
    }
    fclose(out);
    return 0; /* cleanup() frees the rest */
}
