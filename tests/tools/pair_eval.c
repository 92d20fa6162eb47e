/* pair_eval.c — test driver for the pair models (lj, morse), and for dynamics on them:
 *
 *   pair_eval lj|morse PARAMS.txt IN.extxyz OUT.txt
 *       reads every frame of IN (metal units), builds the model from PARAMS,
 *       computes energy, forces and virial of all frames in one batch and
 *       writes them with %.17g:
 *           energy FRAME E                         (eV)
 *           virial FRAME Wxx Wyy Wzz Wyz Wxz Wxy   (eV, W = dE/dε)
 *           force FRAME ATOM Fx Fy Fz              (eV/Å)
 *   pair_eval md lj|morse PARAMS.txt metal|lj IN.extxyz STEPS OUT.txt TYPE [NAME=VALUE]...
 *       runs the dynamics TYPE (its parameters NAME=VALUE) on every frame of
 *       IN (in those units; each frame's velocities are its initial ones)
 *       in one batch, through the stage API, for STEPS steps, and writes
 *       after each step N (1..STEPS), with %.17g:
 *           step N FRAME KE PE ETHERMO             (ETHERMO: the last entry of
 *                                                   nvt_nose_hoover's state row,
 *                                                   E_thermostat; nvt_berendsen's
 *                                                   ecouple, the first of its
 *                                                   row; nan otherwise)
 *           x N FRAME ATOM x y z
 *           v N FRAME ATOM vx vy vz
 *   pair_eval bench [NCELLS [STEPS [STRAIN [random|expand]]]]
 *       the LAMMPS bench/in.lj analogue: fcc LJ at reduced density 0.8442,
 *       4 NCELLS³ atoms (default 20: 32,000), rc 2.5σ, skin 0.3σ, NVE
 *       velocity Verlet dt 0.005τ from T = 1.44 for STEPS (default 100);
 *       prints the time in the model (compute + list rebuilds), atom-steps/s
 *       and the list builds. With STRAIN > 0 the cell changes every step, as
 *       under a barostat (positions scaled with it, x <- x (I + E)):
 *       `random` (default) E with every component uniform in
 *       [-STRAIN, STRAIN]; `expand` E = STRAIN I (a steady expansion).
 *
 * PARAMS.txt, one item a line ('#' starts a comment):
 *     shift 0|1            pair energies shifted to 0 at the cutoff (default 0)
 *     skin X               Verlet skin, Å (default 0.5)
 *     Z1 Z2 p0 p1 p2 rc    one species pair (atomic numbers or symbols);
 *                          lj: epsilon sigma (p2 ignored); morse: D0 alpha r0.
 *                          0 0 ... is the default entry for unlisted pairs.
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
#include "models/pair.h"

static int parse_species(const char *tok, int *z) {
    char *end;
    long v = strtol(tok, &end, 10);
    if (*end == '\0' && end != tok) {
        *z = (int)v;
        return 0;
    }
    *z = bmd_element_from_symbol(tok);
    return *z < 0;
}

static int read_params(const char *path, bmd_pair_params **pairs, int *n, bmd_pair_options *opt) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "pair_eval: cannot open %s\n", path);
        return 2;
    }
    char line[512];
    int cap = 0, lineno = 0;
    *pairs = NULL;
    *n = 0;
    opt->skin = 0.5;
    opt->shift = 0;
    opt->has_default = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char a[64], b[64];
        double p0, p1, p2, rc, x;
        if (sscanf(line, " %63s", a) != 1) continue;
        if (strcmp(a, "shift") == 0 && sscanf(line, " shift %lf", &x) == 1) {
            opt->shift = x != 0;
        } else if (strcmp(a, "skin") == 0 && sscanf(line, " skin %lf", &x) == 1) {
            opt->skin = x;
        } else if (sscanf(line, " %63s %63s %lf %lf %lf %lf", a, b, &p0, &p1, &p2, &rc) == 6) {
            if (*n == cap) {
                cap = cap ? 2 * cap : 8;
                *pairs = realloc(*pairs, (size_t)cap * sizeof **pairs);
                if (!*pairs) {
                    fclose(f);
                    return 1;
                }
            }
            bmd_pair_params *p = &(*pairs)[(*n)++];
            if (parse_species(a, &p->z1) || parse_species(b, &p->z2)) {
                fprintf(stderr, "%s:%d: unknown species\n", path, lineno);
                fclose(f);
                return 2;
            }
            p->p[0] = p0;
            p->p[1] = p1;
            p->p[2] = p2;
            p->cutoff = rc;
            if (p->z1 == 0 && p->z2 == 0) opt->has_default = 1;
        } else {
            fprintf(stderr, "%s:%d: expected 'shift X', 'skin X' or 'Z1 Z2 p0 p1 p2 cutoff'\n", path, lineno);
            fclose(f);
            return 2;
        }
    }
    fclose(f);
    return 0;
}

/* The model of kind (lj or morse) with the parameters of the file params
 * (read_params); the model keeps its own copy of them. */
static int make_model(const char *kind, const char *params, bmd_model **m) {
    bmd_pair_params *pairs;
    bmd_pair_options opt;
    int n, rc = read_params(params, &pairs, &n, &opt);
    if (rc) return rc;
    bmd_status st;
    if (strcmp(kind, "lj") == 0) st = bmd_model_lj_create(pairs, n, &opt, m);
    else if (strcmp(kind, "morse") == 0) st = bmd_model_morse_create(pairs, n, &opt, m);
    else {
        fprintf(stderr, "pair_eval: unknown model '%s' (lj or morse)\n", kind);
        free(pairs);
        return 2;
    }
    free(pairs);
    if (st) {
        fprintf(stderr, "pair_eval: %s\n", bmd_last_error());
        return 2;
    }
    return 0;
}

static int eval(const char *kind, const char *params, const char *in, const char *out) {
    bmd_model *m = NULL;
    int rc = make_model(kind, params, &m);
    if (rc) return rc;
    bmd_system *frames = NULL;
    long nf = 0;
    if (bmd_extxyz_read_all(in, BMD_UNITS_METAL, &frames, &nf)) {
        fprintf(stderr, "pair_eval: %s\n", bmd_last_error());
        bmd_model_destroy(m);
        return 2;
    }
    bmd_batch *b = NULL;
    rc = bmd_batch_create(&b) ? 1 : 0;
    for (long k = 0; k < nf && !rc; k++) {
        if (bmd_model_check_system(m, &frames[k]) || bmd_batch_append(b, &frames[k], NULL)) {
            fprintf(stderr, "pair_eval: frame %ld: %s\n", k, bmd_last_error());
            rc = 2;
        }
    }
    FILE *f = NULL;
    if (!rc) {
        double *E = calloc((size_t)b->n_systems + 1, sizeof(double));
        double *W = calloc(6 * (size_t)b->n_systems + 1, sizeof(double));
        bmd_compute_request req = {NULL, E, b->force, W, NULL};
        if (bmd_model_compute(m, b, &req)) {
            fprintf(stderr, "pair_eval: %s\n", bmd_last_error());
            rc = 1;
        } else if (!(f = fopen(out, "w"))) {
            fprintf(stderr, "pair_eval: cannot write %s\n", out);
            rc = 1;
        } else {
            for (int s = 0; s < b->n_systems; s++) {
                fprintf(f, "energy %d %.17g\n", s, E[s]);
                fprintf(f, "virial %d", s);
                for (int v = 0; v < 6; v++) fprintf(f, " %.17g", W[6 * s + v]);
                fprintf(f, "\n");
                for (int i = 0; i < b->atom_count[s]; i++) {
                    const double *F = b->force + 3 * (size_t)(b->atom_start[s] + i);
                    fprintf(f, "force %d %d %.17g %.17g %.17g\n", s, i, F[0], F[1], F[2]);
                }
            }
            if (fclose(f)) rc = 1;
        }
        free(E);
        free(W);
    }
    for (long k = 0; k < nf; k++) bmd_system_free(&frames[k]);
    free(frames);
    bmd_batch_destroy(b);
    bmd_model_destroy(m);
    return rc;
}

/* The md mode (see the top of the file). */
static int md(const char *kind, const char *params, const char *units, const char *in, long steps, const char *out,
              const char *type, int n_par, char **par) {
    const bmd_units_kind uk = strcmp(units, "lj") == 0 ? BMD_UNITS_LJ : BMD_UNITS_METAL;
    const bmd_units U = bmd_units_get(uk);
    const char *names[16];
    double values[16];
    char name_buf[16][64];
    if (n_par > 16) return 2;
    for (int i = 0; i < n_par; i++) {
        const char *eq = strchr(par[i], '=');
        if (!eq || eq - par[i] >= 64) {
            fprintf(stderr, "pair_eval: expected NAME=VALUE, got '%s'\n", par[i]);
            return 2;
        }
        memcpy(name_buf[i], par[i], (size_t)(eq - par[i]));
        name_buf[i][eq - par[i]] = '\0';
        names[i] = name_buf[i];
        values[i] = strtod(eq + 1, NULL);
    }
    bmd_model *m = NULL;
    int rc = make_model(kind, params, &m);
    if (rc) return rc;
    bmd_system *frames = NULL;
    long nf = 0;
    bmd_batch *b = NULL;
    bmd_stage *st = NULL;
    bmd_dynamics *d = NULL;
    bmd_convergence conv = {0, 0, steps};
    FILE *f = NULL;
    if (bmd_extxyz_read_all(in, uk, &frames, &nf) || bmd_batch_create(&b) ||
        bmd_dynamics_create(type, names, values, n_par, &d) || bmd_stage_create(&U, 1, &st) ||
        bmd_stage_add(st, "md", d, &conv))
        rc = 2;
    for (long k = 0; k < nf && !rc; k++)
        if (bmd_model_check_system(m, &frames[k]) || bmd_batch_append(b, &frames[k], NULL)) rc = 2;
    if (!rc && !(f = fopen(out, "w"))) rc = 1;
    if (rc) fprintf(stderr, "pair_eval: %s\n", bmd_last_error());
    for (long n = 1; !rc && n <= steps; n++) {
        if (bmd_stage_step(st, b, m)) {
            fprintf(stderr, "pair_eval: step %ld: %s\n", n, bmd_last_error());
            rc = 1;
            break;
        }
        /* the thermostat's energy: Nosé–Hoover's E_thermostat (the last entry
         * of its row), or the rescaling thermostats' ecouple (the first) */
        const int c = bmd_batch_find_column(b, "nvt_nh.0.st");
        const int cr = c >= 0 ? -1 : bmd_batch_find_column(b, "nvt_berendsen.0.st");
        for (int s = 0; s < b->n_systems; s++) {
            const double eth = c >= 0    ? bmd_batch_column_data(b, c)[(size_t)(s + 1) * b->columns[c].width - 1]
                               : cr >= 0 ? bmd_batch_column_data(b, cr)[(size_t)s * b->columns[cr].width]
                                         : NAN;
            fprintf(f, "step %ld %d %.17g %.17g %.17g\n", n, s, bmd_kinetic_energy(b, s, &U), b->energy[s], eth);
            for (int i = 0; i < b->atom_count[s]; i++) {
                const double *x = b->pos + 3 * (size_t)(b->atom_start[s] + i), *v = b->vel + 3 * (size_t)(b->atom_start[s] + i);
                fprintf(f, "x %ld %d %d %.17g %.17g %.17g\n", n, s, i, x[0], x[1], x[2]);
                fprintf(f, "v %ld %d %d %.17g %.17g %.17g\n", n, s, i, v[0], v[1], v[2]);
            }
        }
    }
    if (f && fclose(f)) rc = 1;
    for (long k = 0; k < nf; k++) bmd_system_free(&frames[k]);
    free(frames);
    bmd_stage_destroy(st);
    bmd_batch_destroy(b);
    bmd_model_destroy(m);
    return rc;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int bench(int ncell, int steps, double strain, int expand) {
    const int n = 4 * ncell * ncell * ncell;
    const double a = cbrt(4.0 / 0.8442), L = a * ncell, dt = 0.005, T0 = 1.44;
    bmd_system s;
    if (bmd_system_alloc(&s, n) || bmd_system_ensure_vel(&s)) return 1;
    static const double basis[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
    int i = 0;
    for (int x = 0; x < ncell; x++)
        for (int y = 0; y < ncell; y++)
            for (int z = 0; z < ncell; z++)
                for (int k = 0; k < 4; k++, i++) {
                    s.pos[3 * i] = a * (x + basis[k][0]);
                    s.pos[3 * i + 1] = a * (y + basis[k][1]);
                    s.pos[3 * i + 2] = a * (z + basis[k][2]);
                    s.Z[i] = 18;
                    s.mass[i] = 1.0;
                }
    memset(s.cell, 0, sizeof s.cell);
    s.cell[0] = s.cell[4] = s.cell[8] = L;
    s.pbc[0] = s.pbc[1] = s.pbc[2] = 1;
    /* velocities: uniform random, zero momentum, scaled to T0 (3N-3 dof as LAMMPS) */
    uint64_t st = 87287;
    double p[3] = {0, 0, 0}, ke = 0;
    for (int c = 0; c < 3 * n; c++) {
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        s.vel[c] = (double)(st >> 11) / 9007199254740992.0 - 0.5;
        p[c % 3] += s.vel[c];
    }
    for (int c = 0; c < 3 * n; c++) s.vel[c] -= p[c % 3] / n;
    for (int c = 0; c < 3 * n; c++) ke += 0.5 * s.vel[c] * s.vel[c];
    double scale = sqrt(T0 * (3.0 * n - 3) / (2.0 * ke));
    for (int c = 0; c < 3 * n; c++) s.vel[c] *= scale;

    bmd_pair_params pp = {18, 18, {1.0, 1.0, 0}, 2.5};
    bmd_pair_options opt = {0.3, 0, 0};
    bmd_model *m = NULL;
    bmd_batch *b = NULL;
    if (bmd_model_lj_create(&pp, 1, &opt, &m) || bmd_batch_create(&b) || bmd_batch_append(b, &s, NULL)) {
        fprintf(stderr, "pair_eval: %s\n", bmd_last_error());
        return 1;
    }
    double E = 0, W[6];
    bmd_compute_request full = {NULL, &E, b->force, W, NULL};
    bmd_compute_request fonly = {NULL, NULL, b->force, NULL, NULL};
    double t0 = now();
    if (bmd_model_compute(m, b, &full)) return 1;
    double t_model = now() - t0;
    double e0 = E / n;
    double t_all = now();
    for (int step = 0; step < steps; step++) {
        for (int c = 0; c < 3 * n; c++) {
            b->vel[c] += 0.5 * dt * b->force[c];
            b->pos[c] += dt * b->vel[c];
        }
        if (strain > 0) { /* the cell and the positions, x <- x (I + E) */
            double E[9];
            for (int k = 0; k < 9; k++) {
                st = st * 6364136223846793005ull + 1442695040888963407ull;
                E[k] = expand ? (k % 4 == 0 ? strain : 0.0) : strain * (2.0 * ((st >> 11) / 9007199254740992.0) - 1.0);
            }
            double *x[2] = {b->pos, b->cell};
            const int rows[2] = {n, 3};
            for (int a = 0; a < 2; a++)
                for (int r = 0; r < rows[a]; r++) {
                    double *v = x[a] + 3 * (size_t)r, u[3] = {v[0], v[1], v[2]};
                    for (int c = 0; c < 3; c++) v[c] = u[c] + (u[0] * E[c] + u[1] * E[3 + c] + u[2] * E[6 + c]);
                }
        }
        double t1 = now();
        if (bmd_model_compute(m, b, step == steps - 1 ? &full : &fonly)) return 1;
        t_model += now() - t1;
        for (int c = 0; c < 3 * n; c++) b->vel[c] += 0.5 * dt * b->force[c];
    }
    t_all = now() - t_all;
    ke = 0;
    for (int c = 0; c < 3 * n; c++) ke += 0.5 * b->vel[c] * b->vel[c];
    printf("atoms %d steps %d (+1 initial compute), strain per step %g (%s)\n", n, steps, strain,
           strain > 0 ? (expand ? "expand" : "random") : "fixed cell");
    printf("E_pair/atom step 0 %.8f  step %d %.8f  E_total/atom %.8f\n", e0, steps, E / n, (E + ke) / n);
    printf("list builds %ld\n", bmd__pair_list_builds(m));
    printf("model time %.4f s (%.3f ms/step), loop time %.4f s\n", t_model, 1e3 * t_model / (steps + 1), t_all);
    printf("atom-steps/s (model) %.4g\n", (double)n * (steps + 1) / t_model);
    printf("atom-steps/s (loop)  %.4g\n", (double)n * steps / t_all);
    bmd_model_destroy(m);
    bmd_batch_destroy(b);
    bmd_system_free(&s);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "bench") == 0) {
        int ncell = argc > 2 ? atoi(argv[2]) : 20, steps = argc > 3 ? atoi(argv[3]) : 100;
        const double strain = argc > 4 ? atof(argv[4]) : 0.0;
        const int expand = argc > 5 && strcmp(argv[5], "expand") == 0;
        if (ncell < 2 || steps < 0 || !(strain >= 0 && strain < 0.01) ||
            (argc > 5 && !expand && strcmp(argv[5], "random") != 0) || argc > 6) {
            fprintf(stderr,
                    "usage: pair_eval bench [NCELLS>=2 [STEPS [STRAIN (0 <= STRAIN < 0.01) [random|expand]]]]\n");
            return 2;
        }
        return bench(ncell, steps, strain, expand);
    }
    if (argc >= 9 && strcmp(argv[1], "md") == 0)
        return md(argv[2], argv[3], argv[4], argv[5], atol(argv[6]), argv[7], argv[8], argc - 9, argv + 9);
    if (argc != 5) {
        fprintf(stderr, "usage: pair_eval lj|morse PARAMS.txt IN.extxyz OUT.txt\n"
                        "       pair_eval md lj|morse PARAMS.txt metal|lj IN.extxyz STEPS OUT.txt TYPE [NAME=VALUE]...\n"
                        "       pair_eval bench [NCELLS [STEPS [STRAIN [random|expand]]]]\n");
        return 2;
    }
    return eval(argv[1], argv[2], argv[3], argv[4]);
}
