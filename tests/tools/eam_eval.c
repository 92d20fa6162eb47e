/* eam_eval.c — test and bench driver for the EAM model (model_eam.h):
 *
 *   eam_eval eval FILE STYLE IN.extxyz OUT.txt
 *       reads every frame of IN (metal units), builds the EAM model from the
 *       potential FILE (STYLE: eam, eam/alloy, eam/fs, or auto = from the
 *       file name; FILE1,FILE2,...: funcfl files, one per element; skin
 *       0.5 Å), computes all frames in one batch and writes
 *       with %.17g:
 *           energy FRAME E                         (eV)
 *           virial FRAME Wxx Wyy Wzz Wyz Wxz Wxy   (eV, W = dE/dε)
 *           force FRAME ATOM Fx Fy Fz              (eV/Å)
 *           epa FRAME ATOM E_i                     (eV, energy per atom)
 *   eam_eval bench FILE STYLE SYMBOL A NCELLS STEPS [T]
 *       an fcc crystal of SYMBOL (lattice constant A Å, 4 NCELLS³ atoms),
 *       Maxwell–Boltzmann velocities at T K (default 600), NVE with dt 1 fs
 *       through the stage API (bmd_dynamics_create("nve"), bmd_stage_step)
 *       for STEPS steps; prints the step-loop time, steps/s, atom-steps/s,
 *       list builds and the energy drift.
 * Exit status: 0 ok, 1 failure, 2 bad arguments or input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batchmd/batch.h"
#include "batchmd/dynamics.h"
#include "batchmd/elements.h"
#include "batchmd/extxyz.h"
#include "batchmd/model.h"
#include "batchmd/model_eam.h"
#include "batchmd/units.h"

static const char *style_arg(const char *s) { return strcmp(s, "auto") == 0 ? NULL : s; }

/* FILE, or FILE1,FILE2,... (funcfl files, one per element) */
static bmd_status make_model(const char *file, const char *style, double skin, bmd_model **m) {
    if (!strchr(file, ',')) return bmd_model_eam_create(file, style_arg(style), skin, m);
    char buf[4096];
    const char *paths[64];
    int n = 0;
    snprintf(buf, sizeof buf, "%s", file);
    for (char *t = strtok(buf, ","); t && n < 64; t = strtok(NULL, ",")) paths[n++] = t;
    return bmd_model_eam_create_funcfl(paths, n, skin, m);
}

static int eval(const char *file, const char *style, const char *in, const char *out) {
    bmd_model *m = NULL;
    if (make_model(file, style, 0.5, &m)) {
        fprintf(stderr, "eam_eval: %s\n", bmd_last_error());
        return 2;
    }
    bmd_system *frames = NULL;
    long nf = 0;
    if (bmd_extxyz_read_all(in, BMD_UNITS_METAL, &frames, &nf)) {
        fprintf(stderr, "eam_eval: %s\n", bmd_last_error());
        bmd_model_destroy(m);
        return 2;
    }
    bmd_batch *b = NULL;
    int rc = bmd_batch_create(&b) ? 1 : 0;
    for (long k = 0; k < nf && !rc; k++) {
        if (bmd_model_check_system(m, &frames[k]) || bmd_batch_append(b, &frames[k], NULL)) {
            fprintf(stderr, "eam_eval: frame %ld: %s\n", k, bmd_last_error());
            rc = 2;
        }
    }
    if (!rc) {
        double *E = calloc((size_t)b->n_systems + 1, sizeof(double));
        double *W = calloc(6 * (size_t)b->n_systems + 1, sizeof(double));
        double *epa = calloc((size_t)b->n_atoms + 1, sizeof(double));
        bmd_compute_request req = {NULL, E, b->force, W, epa};
        FILE *f = NULL;
        if (!E || !W || !epa || bmd_model_compute(m, b, &req)) {
            fprintf(stderr, "eam_eval: %s\n", bmd_last_error());
            rc = 1;
        } else if (!(f = fopen(out, "w"))) {
            fprintf(stderr, "eam_eval: cannot write %s\n", out);
            rc = 1;
        } else {
            for (int s = 0; s < b->n_systems; s++) {
                fprintf(f, "energy %d %.17g\n", s, E[s]);
                fprintf(f, "virial %d", s);
                for (int v = 0; v < 6; v++) fprintf(f, " %.17g", W[6 * s + v]);
                fprintf(f, "\n");
                for (int i = 0; i < b->atom_count[s]; i++) {
                    const size_t a = (size_t)(b->atom_start[s] + i);
                    const double *F = b->force + 3 * a;
                    fprintf(f, "force %d %d %.17g %.17g %.17g\n", s, i, F[0], F[1], F[2]);
                    fprintf(f, "epa %d %d %.17g\n", s, i, epa[a]);
                }
            }
            if (fclose(f)) rc = 1;
        }
        free(E);
        free(W);
        free(epa);
    }
    for (long k = 0; k < nf; k++) bmd_system_free(&frames[k]);
    free(frames);
    bmd_batch_destroy(b);
    bmd_model_destroy(m);
    return rc;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double total_energy(const bmd_batch *b, const bmd_units *u) {
    return b->energy[0] + bmd_kinetic_energy(b, 0, u);
}

static int bench(const char *file, const char *style, const char *symbol, double a, int ncell, long steps,
                 double temp) {
    const int z = bmd_element_from_symbol(symbol);
    if (z < 1) {
        fprintf(stderr, "eam_eval: unknown element %s\n", symbol);
        return 2;
    }
    const int n = 4 * ncell * ncell * ncell;
    bmd_system s;
    if (bmd_system_alloc(&s, n)) return 1;
    static const double basis[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
    int i = 0;
    for (int x = 0; x < ncell; x++)
        for (int y = 0; y < ncell; y++)
            for (int w = 0; w < ncell; w++)
                for (int k = 0; k < 4; k++, i++) {
                    s.pos[3 * i] = a * (x + basis[k][0]);
                    s.pos[3 * i + 1] = a * (y + basis[k][1]);
                    s.pos[3 * i + 2] = a * (w + basis[k][2]);
                    s.Z[i] = z;
                    s.mass[i] = bmd_element_mass(z);
                }
    memset(s.cell, 0, sizeof s.cell);
    s.cell[0] = s.cell[4] = s.cell[8] = a * ncell;
    s.pbc[0] = s.pbc[1] = s.pbc[2] = 1;
    s.system_id = 0;
    const bmd_units units = bmd_units_get(BMD_UNITS_METAL), *u = &units;
    bmd_model *m = NULL;
    bmd_batch *b = NULL;
    bmd_stage *st = NULL;
    bmd_dynamics *d = NULL;
    const char *names[] = {"dt", "init_temperature"};
    const double vals[] = {1.0, temp};
    bmd_convergence conv = {0, 0, steps};
    if (make_model(file, style, 1.0, &m) || bmd_batch_create(&b) ||
        bmd_batch_append(b, &s, NULL) || bmd_stage_create(u, 12345, &st) ||
        bmd_dynamics_create("nve", names, vals, 2, &d) || bmd_stage_add(st, "md", d, &conv)) {
        fprintf(stderr, "eam_eval: %s\n", bmd_last_error());
        return 1;
    }
    /* the first step computes the initial forces; time the rest */
    if (bmd_stage_step(st, b, m)) {
        fprintf(stderr, "eam_eval: %s\n", bmd_last_error());
        return 1;
    }
    /* energy of the state after step 1 (forces current) */
    double E = 0, W[6];
    bmd_compute_request full = {NULL, &E, NULL, W, NULL};
    if (bmd_model_compute(m, b, &full)) return 1;
    const double e1 = E + bmd_kinetic_energy(b, 0, u);
    const double t0 = now();
    long taken = 1;
    while (taken < steps && bmd_stage_live(st, b) > 0) {
        if (bmd_stage_step(st, b, m)) {
            fprintf(stderr, "eam_eval: %s\n", bmd_last_error());
            return 1;
        }
        taken++;
    }
    const double t = now() - t0;
    if (bmd_model_compute(m, b, &full)) return 1;
    b->energy[0] = E;
    const double e2 = total_energy(b, u);
    bmd_eam_info info;
    bmd_model_eam_info(m, &info);
    printf("eam bench: %s (%s), %d atoms of %s, a = %g Å, NVE dt 1 fs, T0 %g K, 1 + %ld timed steps\n", file,
           info.style, n, symbol, a, temp, taken - 1);
    printf("loop time %.4f s\n", t);
    printf("steps/s %.4f\n", (taken - 1) / t);
    printf("atom-steps/s %.4g\n", (double)n * (taken - 1) / t);
    printf("E_total/atom after step 1 %.10f, after step %ld %.10f, drift %.3g eV/atom\n", e1 / n, taken, e2 / n,
           (e2 - e1) / n);
    bmd_stage_destroy(st);
    bmd_model_destroy(m);
    bmd_batch_destroy(b);
    bmd_system_free(&s);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 6 && strcmp(argv[1], "eval") == 0) return eval(argv[2], argv[3], argv[4], argv[5]);
    if ((argc == 8 || argc == 9) && strcmp(argv[1], "bench") == 0) {
        int ncell = atoi(argv[6]);
        long steps = atol(argv[7]);
        double a = atof(argv[5]), T = argc == 9 ? atof(argv[8]) : 600.0;
        if (ncell < 1 || steps < 2 || !(a > 0)) {
            fprintf(stderr, "eam_eval bench: NCELLS >= 1, STEPS >= 2, A > 0\n");
            return 2;
        }
        return bench(argv[2], argv[3], argv[4], a, ncell, steps, T);
    }
    fprintf(stderr, "usage: eam_eval eval FILE STYLE|auto IN.extxyz OUT.txt\n"
                    "       eam_eval bench FILE STYLE|auto SYMBOL A NCELLS STEPS [T]\n");
    return 2;
}
