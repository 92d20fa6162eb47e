/* npt_run.c — test driver for the dynamics that move the cell (npt_mtk,
 * nph) on a Lennard-Jones model:
 *
 *   npt_run metal|lj EPS SIGMA RC SKIN SHIFT IN.extxyz STEPS EVERY OUT.txt TYPE [NAME=VALUE]...
 *       one LJ pair for every species pair (epsilon EPS, sigma SIGMA,
 *       cutoff RC, Verlet skin SKIN, energy shifted to 0 at RC when SHIFT is
 *       1, as LAMMPS's lj/cut with pair_modify shift yes), the dynamics TYPE with its parameters NAME=VALUE, on every
 *       frame of IN (in those units; a frame's velocities are its initial
 *       ones; its info keys override parameters as in a campaign) in one
 *       batch, through the stage API, for STEPS loop steps. Whenever a
 *       system has taken N steps of its own, N % EVERY == 0 (a structure may
 *       override steps, as dt, on its info line), it writes with %.17g:
 *           step N FRAME KE PE EEXT V P T C11 C12 ... C33
 *       KE and PE (energy), EEXT the last entry of the state row
 *       "TYPE.0.st" (npt_mtk/nph: E_ext, so KE + PE + EEXT is the conserved
 *       quantity; nan when absent), V the volume, P the pressure
 *       (bmd_pressure, in the campaign's pressure unit: bar or ε/σ³), T the
 *       kinetic temperature (the stage's degrees of freedom) and the cell
 *       rows a, b, c; with BMD_NPT_RUN_XV=1 in the environment also
 *           x N FRAME ATOM x y z
 *           v N FRAME ATOM vx vy vz
 *       and, for a system taken out, "failed N FRAME STATUS" once (N: the
 *       loop step).
 * Exit status: 0 ok, 1 failure, 2 bad arguments or input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchmd/batch.h"
#include "batchmd/dynamics.h"
#include "batchmd/extxyz.h"
#include "batchmd/model.h"
#include "models/pair.h"

int main(int argc, char **argv) {
    if (argc < 12) {
        fprintf(stderr, "usage: npt_run metal|lj EPS SIGMA RC SKIN SHIFT IN.extxyz STEPS EVERY OUT.txt TYPE [NAME=VALUE]...\n");
        return 2;
    }
    const bmd_units_kind uk = strcmp(argv[1], "lj") == 0 ? BMD_UNITS_LJ : BMD_UNITS_METAL;
    const bmd_units U = bmd_units_get(uk);
    const long steps = atol(argv[8]), every = atol(argv[9]);
    const char *type = argv[11];
    const int n_par = argc - 12;
    if (n_par > 16 || every < 1) return 2;
    const char *names[16];
    double values[16];
    char name_buf[16][64];
    for (int i = 0; i < n_par; i++) {
        const char *arg = argv[12 + i], *eq = strchr(arg, '=');
        if (!eq || eq - arg >= 64) {
            fprintf(stderr, "npt_run: expected NAME=VALUE, got '%s'\n", arg);
            return 2;
        }
        memcpy(name_buf[i], arg, (size_t)(eq - arg));
        name_buf[i][eq - arg] = '\0';
        names[i] = name_buf[i];
        values[i] = strtod(eq + 1, NULL);
    }
    bmd_pair_params pp = {0, 0, {atof(argv[2]), atof(argv[3]), 0}, atof(argv[4])};
    bmd_pair_options opt = {atof(argv[5]), atoi(argv[6]) != 0, 1};
    bmd_model *m = NULL;
    bmd_system *frames = NULL;
    long nf = 0;
    bmd_batch *b = NULL;
    bmd_stage *st = NULL;
    bmd_dynamics *d = NULL;
    bmd_convergence conv = {0, 0, steps};
    FILE *f = NULL;
    int rc = 0;
    if (bmd_model_lj_create(&pp, 1, &opt, &m) || bmd_extxyz_read_all(argv[7], uk, &frames, &nf) ||
        bmd_batch_create(&b) || bmd_dynamics_create(type, names, values, n_par, &d) || bmd_stage_create(&U, 1, &st) ||
        bmd_stage_add(st, "md", d, &conv))
        rc = 2;
    for (long k = 0; k < nf && !rc; k++) {
        int slot = -1;
        if (bmd_model_check_system(m, &frames[k]) || bmd_batch_append(b, &frames[k], &slot)) rc = 2;
        else b->system_id[slot] = k; /* the frame's index: the RNG key, as the runner sets it */
    }
    if (!rc && !(f = fopen(argv[10], "w"))) rc = 1;
    if (rc) fprintf(stderr, "npt_run: %s\n", bmd_last_error());
    const int xv = getenv("BMD_NPT_RUN_XV") && strcmp(getenv("BMD_NPT_RUN_XV"), "1") == 0;
    char col[64];
    snprintf(col, sizeof col, "%s.0.st", type);
    unsigned char *reported = calloc((size_t)nf + 1, 1);
    double *last = malloc(((size_t)nf + 1) * sizeof(double)); /* each system's own steps at its last row */
    for (long k = 0; last && k <= nf; k++) last[k] = -1;
    for (long n = 1; !rc && n <= steps; n++) {
        if (bmd_stage_step(st, b, m)) {
            fprintf(stderr, "npt_run: step %ld: %s\n", n, bmd_last_error());
            rc = 1;
            break;
        }
        const int c = bmd_batch_find_column(b, col), cs = bmd_stage_steps_column(st, b, 0);
        const double *own = cs >= 0 ? bmd_batch_column_data(b, cs) : NULL;
        for (int s = 0; s < b->n_systems; s++) {
            const long id = (long)b->system_id[s];
            if (b->status[s] < 0) {
                if (!reported[id]) fprintf(f, "failed %ld %ld %s\n", n, id, bmd_info_get(&b->info[s], "status"));
                reported[id] = 1;
                continue;
            }
            /* a row when the system took a step (it may have finished its
             * own steps at this one: a structure may override steps and dt) */
            const long k = own ? (long)own[s] : -1;
            if (!own || !last || (double)k == last[id] || k % every) continue;
            last[id] = (double)k;
            const double eext = c >= 0 ? bmd_batch_column_data(b, c)[(size_t)(s + 1) * b->columns[c].width - 1] : NAN;
            fprintf(f, "step %ld %ld %.17g %.17g %.17g %.17g %.17g %.17g", k, id, bmd_kinetic_energy(b, s, &U),
                    b->energy[s], eext, bmd_batch_volume(b, s), bmd_pressure(b, s, &U) / U.pressure,
                    bmd_temperature(b, s, &U, bmd_stage_dof(st, 0)));
            for (int k = 0; k < 9; k++) fprintf(f, " %.17g", b->cell[9 * (size_t)s + k]);
            fprintf(f, "\n");
            for (int i = 0; xv && i < b->atom_count[s]; i++) {
                const double *x = b->pos + 3 * (size_t)(b->atom_start[s] + i), *v = b->vel + 3 * (size_t)(b->atom_start[s] + i);
                fprintf(f, "x %ld %ld %d %.17g %.17g %.17g\n", k, id, i, x[0], x[1], x[2]);
                fprintf(f, "v %ld %ld %d %.17g %.17g %.17g\n", k, id, i, v[0], v[1], v[2]);
            }
        }
    }
    if (f && fclose(f)) rc = 1;
    free(reported);
    free(last);
    for (long k = 0; k < nf; k++) bmd_system_free(&frames[k]);
    free(frames);
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    bmd_model_destroy(m);
    return rc;
}
