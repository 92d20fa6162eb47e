/* kim_eval.c — test driver for the KIM model (tests/physics/kim_*_test.py):
 *
 *   kim_eval eval MODEL IN.extxyz OUT.txt [SKIN [each]]
 *       every frame of IN in ONE batch (or, with `each`, each frame alone in
 *       its own batch, same model object), energy, forces, virial and
 *       per-atom energies, written with %.17g:
 *           energy FRAME E                         (eV)
 *           virial FRAME Wxx Wyy Wzz Wyz Wxz Wxy   (eV, W = dE/dε)
 *           force FRAME ATOM Fx Fy Fz              (eV/Å)
 *           epa FRAME ATOM E_i                     (eV; nan when not offered)
 *   kim_eval seq MODEL IN.extxyz OUT.txt SKIN
 *       the frames (same atoms and cell) as successive positions of ONE
 *       system kept in one batch slot: lists are rebuilt only when an atom
 *       moved more than SKIN/2; output as eval, then "builds N".
 *   kim_eval fd MODEL IN.extxyz [H [MAXATOMS]]
 *       per frame: forces against central differences of the energy (every
 *       component of the first MAXATOMS atoms (default all), step H Å,
 *       default 1e-5) and the virial against
 *       central differences under the symmetric strain ε (step H):
 *           fd FRAME max|F-F_fd| max|F| max|W-W_fd| max|W| |E-ΣE_i|
 *   kim_eval check MODEL IN.extxyz
 *       check_system on each frame: "ok FRAME" or "refused FRAME MESSAGE".
 *   kim_eval bench MODEL [NCELLS [STEPS [SKIN [NSYS]]]]
 *       fcc Cu (a = 3.615 Å) NCELLS³ conventional cells (default 20: 32,000
 *       atoms), NSYS copies in one batch (default 1; each its own velocities),
 *       velocity Verlet dt 1 fs from 300 K for STEPS (default 50); prints
 *       the model time and atom-steps/s.
 *   kim_eval list [details]      the installed models (bmd_kim_list_models)
 *   kim_eval info MODEL          one model (bmd_kim_model_info_get)
 * Exit status: 0 ok, 1 failure, 2 bad arguments or input, 3 no KIM API. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batchmd/batchmd.h"
#include "batchmd/model_kim.h"

static int fail(const char *what) {
    fprintf(stderr, "kim_eval: %s: %s\n", what, bmd_last_error());
    return 1;
}

static int make_model(const char *name, double skin, bmd_model **m) {
    if (!bmd_kim_available()) {
        fprintf(stderr, "kim_eval: built without the KIM API\n");
        return 3;
    }
    if (bmd_model_kim_create(name, skin, m)) return fail("creating the model") + 1;
    return 0;
}

static int read_frames(const char *path, bmd_system **frames, long *nf) {
    if (bmd_extxyz_read_all(path, BMD_UNITS_METAL, frames, nf)) {
        fprintf(stderr, "kim_eval: %s\n", bmd_last_error());
        return 2;
    }
    return 0;
}

static void free_frames(bmd_system *f, long n) {
    for (long k = 0; k < n; k++) bmd_system_free(&f[k]);
    free(f);
}

typedef struct result {
    double *E, *W, *F, *epa; /* per batch slot / atom */
} result;

/* computes every system of b with all outputs */
static int compute_all(bmd_model *m, bmd_batch *b, result *r) {
    r->E = calloc((size_t)b->n_systems + 1, sizeof(double));
    r->W = calloc(6 * (size_t)b->n_systems + 1, sizeof(double));
    r->F = calloc(3 * (size_t)b->n_atoms + 1, sizeof(double));
    r->epa = calloc((size_t)b->n_atoms + 1, sizeof(double));
    if (!r->E || !r->W || !r->F || !r->epa) return 1;
    bmd_compute_request req = {NULL, r->E, r->F, r->W, r->epa};
    return bmd_model_compute(m, b, &req) ? fail("compute") : 0;
}

static void free_result(result *r) {
    free(r->E);
    free(r->W);
    free(r->F);
    free(r->epa);
}

static void print_system(FILE *f, const bmd_batch *b, const result *r, int s, long frame) {
    fprintf(f, "energy %ld %.17g\nvirial %ld", frame, r->E[s], frame);
    for (int v = 0; v < 6; v++) fprintf(f, " %.17g", r->W[6 * s + v]);
    fprintf(f, "\n");
    for (int i = 0; i < b->atom_count[s]; i++) {
        const size_t a = (size_t)b->atom_start[s] + (size_t)i;
        fprintf(f, "force %ld %d %.17g %.17g %.17g\n", frame, i, r->F[3 * a], r->F[3 * a + 1], r->F[3 * a + 2]);
        fprintf(f, "epa %ld %d %.17g\n", frame, i, r->epa[a]);
    }
}

static int cmd_eval(const char *name, const char *in, const char *out, double skin, int each) {
    bmd_model *m = NULL;
    int rc = make_model(name, skin, &m);
    if (rc) return rc;
    bmd_system *frames;
    long nf;
    if ((rc = read_frames(in, &frames, &nf))) return rc;
    FILE *f = fopen(out, "w");
    if (!f) return 1;
    const long nb = each ? nf : 1;
    for (long k = 0; k < nb && !rc; k++) {
        bmd_batch *b = NULL;
        if (bmd_batch_create(&b)) return fail("batch");
        const long f0 = each ? k : 0, f1 = each ? k + 1 : nf;
        for (long i = f0; i < f1 && !rc; i++) {
            frames[i].system_id = i;
            if (bmd_model_check_system(m, &frames[i]) || bmd_batch_append(b, &frames[i], NULL)) {
                fprintf(stderr, "kim_eval: frame %ld: %s\n", i, bmd_last_error());
                rc = 2;
            }
        }
        result r = {0};
        if (!rc && !(rc = compute_all(m, b, &r)))
            for (int s = 0; s < b->n_systems; s++) print_system(f, b, &r, s, (long)b->system_id[s]);
        free_result(&r);
        bmd_batch_destroy(b);
    }
    if (fclose(f)) rc = 1;
    free_frames(frames, nf);
    bmd_model_destroy(m);
    return rc;
}

static int cmd_seq(const char *name, const char *in, const char *out, double skin) {
    bmd_model *m = NULL;
    int rc = make_model(name, skin, &m);
    if (rc) return rc;
    bmd_system *frames;
    long nf;
    if ((rc = read_frames(in, &frames, &nf))) return rc;
    FILE *f = fopen(out, "w");
    bmd_batch *b = NULL;
    if (!f || bmd_batch_create(&b) || bmd_batch_append(b, &frames[0], NULL)) return fail("batch");
    for (long k = 0; k < nf && !rc; k++) {
        if (frames[k].n_atoms != b->n_atoms) {
            fprintf(stderr, "kim_eval: frame %ld has another atom count\n", k);
            rc = 2;
            break;
        }
        memcpy(b->pos, frames[k].pos, 3 * (size_t)b->n_atoms * sizeof(double));
        result r = {0};
        if (!(rc = compute_all(m, b, &r))) print_system(f, b, &r, 0, k);
        free_result(&r);
    }
    fprintf(f, "builds %ld\n", bmd_model_kim_list_builds(m));
    if (fclose(f)) rc = 1;
    bmd_batch_destroy(b);
    free_frames(frames, nf);
    bmd_model_destroy(m);
    return rc;
}

static double energy_of(bmd_model *m, bmd_batch *b) {
    double E = NAN;
    bmd_compute_request req = {NULL, &E, NULL, NULL, NULL};
    if (bmd_model_compute(m, b, &req)) fail("compute");
    return E;
}

static int cmd_fd(const char *name, const char *in, double h, int maxatoms) {
    bmd_model *m = NULL;
    int rc = make_model(name, 0.5, &m);
    if (rc) return rc;
    bmd_system *frames;
    long nf;
    if ((rc = read_frames(in, &frames, &nf))) return rc;
    for (long k = 0; k < nf && !rc; k++) {
        bmd_batch *b = NULL;
        if (bmd_batch_create(&b) || bmd_batch_append(b, &frames[k], NULL)) return fail("batch");
        result r = {0};
        if ((rc = compute_all(m, b, &r))) break;
        const int n = b->atom_count[0];
        double ferr = 0, fbig = 0, werr = 0, wbig = 0, esum = 0;
        for (int i = 0; i < n; i++) esum += r.epa[i];
        const int nfd = maxatoms > 0 && maxatoms < n ? maxatoms : n;
        for (int c = 0; c < 3 * nfd; c++) {
            const double x0 = b->pos[c];
            b->pos[c] = x0 + h;
            const double ep = energy_of(m, b);
            b->pos[c] = x0 - h;
            const double em = energy_of(m, b);
            b->pos[c] = x0;
            const double fd = -(ep - em) / (2 * h);
            ferr = fmax(ferr, fabs(fd - r.F[c]));
        }
        for (int c = 0; c < 3 * n; c++) fbig = fmax(fbig, fabs(r.F[c]));
        /* symmetric strain: Voigt component v -> (a, b) */
        static const int va[6] = {0, 1, 2, 1, 0, 0}, vb[6] = {0, 1, 2, 2, 2, 1};
        double *x0 = malloc(3 * (size_t)n * sizeof(double)), cell0[9];
        memcpy(x0, b->pos, 3 * (size_t)n * sizeof(double));
        memcpy(cell0, b->cell, sizeof cell0);
        for (int v = 0; v < 6; v++) {
            double e2[2];
            for (int sgn = 0; sgn < 2; sgn++) {
                double eps[9] = {0};
                const double d = (sgn ? -h : h) * (va[v] == vb[v] ? 1.0 : 0.5);
                eps[3 * va[v] + vb[v]] += d;
                if (va[v] != vb[v]) eps[3 * vb[v] + va[v]] += d;
                /* row vectors: x' = x (I + ε) */
                for (int i = 0; i < n + 3; i++) {
                    const double *src = i < n ? x0 + 3 * i : cell0 + 3 * (i - n);
                    double *dst = i < n ? b->pos + 3 * i : b->cell + 3 * (i - n);
                    for (int c = 0; c < 3; c++)
                        dst[c] = src[c] + src[0] * eps[c] + src[1] * eps[3 + c] + src[2] * eps[6 + c];
                }
                e2[sgn] = energy_of(m, b);
            }
            const double fd = (e2[0] - e2[1]) / (2 * h);
            werr = fmax(werr, fabs(fd - r.W[v]));
            wbig = fmax(wbig, fabs(r.W[v]));
        }
        free(x0);
        printf("fd %ld %.3e %.6e %.3e %.6e %.3e\n", k, ferr, fbig, werr, wbig, fabs(esum - r.E[0]));
        free_result(&r);
        bmd_batch_destroy(b);
    }
    free_frames(frames, nf);
    bmd_model_destroy(m);
    return rc;
}

static int cmd_check(const char *name, const char *in) {
    bmd_model *m = NULL;
    int rc = make_model(name, 0.5, &m);
    if (rc) return rc;
    bmd_system *frames;
    long nf;
    if ((rc = read_frames(in, &frames, &nf))) return rc;
    for (long k = 0; k < nf; k++) {
        if (bmd_model_check_system(m, &frames[k])) printf("refused %ld %s\n", k, bmd_last_error());
        else printf("ok %ld\n", k);
    }
    free_frames(frames, nf);
    bmd_model_destroy(m);
    return 0;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmd_bench(const char *name, int nc, int steps, double skin, int nsys) {
    bmd_model *m = NULL;
    int rc = make_model(name, skin, &m);
    if (rc) return rc;
    const int n = 4 * nc * nc * nc;
    const double a = 3.615, dt = 1.0, T0 = 300.0;
    bmd_system s;
    if (bmd_system_alloc(&s, n) || bmd_system_ensure_vel(&s)) return 1;
    static const double basis[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
    int i = 0;
    for (int x = 0; x < nc; x++)
        for (int y = 0; y < nc; y++)
            for (int z = 0; z < nc; z++)
                for (int k = 0; k < 4; k++, i++) {
                    s.pos[3 * i] = a * (x + basis[k][0]);
                    s.pos[3 * i + 1] = a * (y + basis[k][1]);
                    s.pos[3 * i + 2] = a * (z + basis[k][2]);
                    s.Z[i] = 29;
                    s.mass[i] = 63.546;
                }
    memset(s.cell, 0, sizeof s.cell);
    s.cell[0] = s.cell[4] = s.cell[8] = a * nc;
    s.pbc[0] = s.pbc[1] = s.pbc[2] = 1;
    const bmd_units u = bmd_units_get(BMD_UNITS_METAL);
    bmd_batch *b = NULL;
    if (bmd_batch_create(&b)) return fail("batch");
    for (int k = 0; k < nsys; k++) {
        s.system_id = k;
        if (bmd_batch_append(b, &s, NULL)) return fail("batch");
    }
    unsigned char *all = malloc((size_t)nsys);
    double *T = malloc((size_t)nsys * sizeof(double)), *Es = calloc((size_t)nsys, sizeof(double));
    double *W = calloc(6 * (size_t)nsys, sizeof(double));
    for (int k = 0; k < nsys; k++) all[k] = 1, T[k] = T0;
    bmd_velocities_maxwell_boltzmann(b, all, T, &u, 42, 0, BMD_DOF_MOMENTUM);
    const long na = b->n_atoms;
    bmd_compute_request full = {NULL, Es, b->force, W, NULL}, fonly = {NULL, NULL, b->force, NULL, NULL};
    double t0 = now();
    if (bmd_model_compute(m, b, &full)) return fail("compute");
    double t_model = now() - t0, e0 = Es[0];
    for (int step = 0; step < steps; step++) {
        for (long c = 0; c < 3 * na; c++) {
            b->vel[c] += 0.5 * dt * u.ftm2v * b->force[c] / b->mass[c / 3];
            b->pos[c] += dt * b->vel[c];
        }
        double t1 = now();
        if (bmd_model_compute(m, b, step == steps - 1 ? &full : &fonly)) return fail("compute");
        t_model += now() - t1;
        for (long c = 0; c < 3 * na; c++) b->vel[c] += 0.5 * dt * u.ftm2v * b->force[c] / b->mass[c / 3];
    }
    printf("model %s, %d system(s) of %d atoms, %d steps (+1 initial compute), skin %g A, list builds %ld\n", name,
           nsys, n, steps, skin, bmd_model_kim_list_builds(m));
    printf("system 0: E/atom step 0 %.8f, step %d %.8f, E_total/atom %.8f eV\n", e0 / n, steps, Es[0] / n,
           (Es[0] + bmd_kinetic_energy(b, 0, &u)) / n);
    printf("model time %.3f s (%.2f ms/step)\natom-steps/s (model) %.4g\n", t_model, 1e3 * t_model / (steps + 1),
           (double)na * (steps + 1) / t_model);
    free(all);
    free(T);
    free(Es);
    free(W);
    bmd_batch_destroy(b);
    bmd_system_free(&s);
    bmd_model_destroy(m);
    return 0;
}

static void print_info(const bmd_kim_model_info *in) {
    printf("%s %s", in->simulator ? "simulator" : "portable", in->name);
    if (in->simulator) printf(" [%s]", in->simulator_name);
    if (in->species[0]) printf(" species=%s", in->species);
    if (in->loaded)
        printf(" energy=%d forces=%d virial=%d energy_per_atom=%d kim_virial=%d influence=%.6g", in->energy,
               in->forces, in->virial, in->energy_per_atom, in->kim_virial, in->influence_distance);
    if (in->error[0]) printf(" error=%s", in->error);
    printf("\n");
}

static int list_cb(const bmd_kim_model_info *in, void *ctx) {
    (*(long *)ctx)++;
    print_info(in);
    return 0;
}

int main(int argc, char **argv) {
    const char *cmd = argc > 1 ? argv[1] : "";
    if (!strcmp(cmd, "eval") && argc >= 5)
        return cmd_eval(argv[2], argv[3], argv[4], argc > 5 ? atof(argv[5]) : 0.5,
                        argc > 6 && !strcmp(argv[6], "each"));
    if (!strcmp(cmd, "seq") && argc >= 6) return cmd_seq(argv[2], argv[3], argv[4], atof(argv[5]));
    if (!strcmp(cmd, "fd") && argc >= 4)
        return cmd_fd(argv[2], argv[3], argc > 4 ? atof(argv[4]) : 1e-5, argc > 5 ? atoi(argv[5]) : 0);
    if (!strcmp(cmd, "check") && argc >= 4) return cmd_check(argv[2], argv[3]);
    if (!strcmp(cmd, "bench") && argc >= 3)
        return cmd_bench(argv[2], argc > 3 ? atoi(argv[3]) : 20, argc > 4 ? atoi(argv[4]) : 50,
                         argc > 5 ? atof(argv[5]) : 0.5, argc > 6 && atoi(argv[6]) > 0 ? atoi(argv[6]) : 1);
    if (!strcmp(cmd, "list")) {
        if (!bmd_kim_available()) return 3;
        long n = 0;
        if (bmd_kim_list_models(argc > 2 && !strcmp(argv[2], "details"), list_cb, &n)) return fail("list");
        printf("%ld models\n", n);
        return 0;
    }
    if (!strcmp(cmd, "info") && argc >= 3) {
        if (!bmd_kim_available()) return 3;
        bmd_kim_model_info in;
        if (bmd_kim_model_info_get(argv[2], &in)) return fail("info");
        print_info(&in);
        return 0;
    }
    fprintf(stderr, "usage: kim_eval eval MODEL IN.extxyz OUT.txt [SKIN [each]]\n"
                    "       kim_eval seq MODEL IN.extxyz OUT.txt SKIN\n"
                    "       kim_eval fd MODEL IN.extxyz [H [MAXATOMS]]\n"
                    "       kim_eval check MODEL IN.extxyz\n"
                    "       kim_eval bench MODEL [NCELLS [STEPS [SKIN [NSYS]]]]\n"
                    "       kim_eval list [details] | info MODEL\n");
    return 2;
}
