/* test_gpu_engine.c — the CUDA engine on a GPU against its CPU twin (ctest
 * label gpu). Without a usable device it prints "SKIP: no CUDA device" and
 * exits 77 (ctest: skipped). With one:
 *  - forces, energies, virials of LJ crystals (periodic, images; one big
 *    enough for cell lists) vs
 *    bmd_model_compute: 1e-10 relative (the parity);
 *  - a system's energy on the device is the same bits alone or in a batch;
 *  - 50 NVE steps on the device (graph replay) vs the CPU's nve dynamics:
 *    positions within 1e-8 Å; graph and no-graph runs give the same bits;
 *  - 30 steps of nvt_langevin, nvt_nose_hoover, fire and fire2 on the
 *    device vs the CPU's dynamics: positions within 1e-8 Å;
 *  - neighbor rows too narrow (4) are widened inside the step: the same
 *    bits as wide rows;
 *  - eviction of system 0 keeps the others' energies bit for bit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchmd/batchmd.h"

static int failures = 0;
#define CHECK(c, ...)                                                                              \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            failures++;                                                                            \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                            \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
        }                                                                                          \
    } while (0)
#define OK(x) CHECK((x) == BMD_OK, "%s: %s", #x, bmd_last_error())

static uint64_t rs = 7;
static double urand(void) {
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (double)(rs >> 11) / 9007199254740992.0;
}

static void fcc(bmd_batch *b, int nc) {
    bmd_system s;
    const int n = 4 * nc * nc * nc;
    bmd_system_alloc(&s, n);
    static const double basis[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
    double *v = malloc(3 * (size_t)n * sizeof(double));
    int k = 0;
    for (int i = 0; i < nc; i++)
        for (int j = 0; j < nc; j++)
            for (int l = 0; l < nc; l++)
                for (int q = 0; q < 4; q++, k++) {
                    const int c0[3] = {i, j, l};
                    for (int c = 0; c < 3; c++) {
                        s.pos[3 * k + c] = (c0[c] + basis[q][c]) * 5.3 + 0.2 * (urand() - 0.5);
                        v[3 * k + c] = 0.003 * (urand() - 0.5);
                    }
                    s.Z[k] = 18;
                    s.mass[k] = 39.948;
                }
    s.cell[0] = s.cell[4] = s.cell[8] = nc * 5.3;
    s.pbc[0] = s.pbc[1] = s.pbc[2] = 1;
    s.vel = v;
    bmd_batch_append(b, &s, NULL);
    bmd_system_free(&s);
}

static const bmd_pair_params LJ = {18, 18, {0.0104, 3.40, 0}, 7.5};
static const bmd_pair_options LJO = {0.5, 1, 0};

static bmd_cuda_engine *engine_nb(const bmd_batch *b, const unsigned char *sel, int graphs, int maxnb) {
    const bmd_units u = bmd_units_get(BMD_UNITS_METAL);
    bmd_cuda_options o = {.device = 0, .max_atoms = 100000, .max_systems = 64, .max_neighbors = maxnb,
                          .block = 128, .seed = 11, .ftm2v = u.ftm2v, .boltzmann = u.boltzmann,
                          .mvv2e = u.mvv2e, .graphs = graphs};
    bmd_cuda_engine *e = NULL;
    OK(bmd_cuda_engine_create(BMD_CUDA_LJ, &LJ, 1, &LJO, &o, &e));
    if (e) OK(bmd_cuda_engine_insert(e, b, sel));
    return e;
}

static bmd_cuda_engine *engine(const bmd_batch *b, const unsigned char *sel, int graphs) {
    return engine_nb(b, sel, graphs, 512);
}

/* K steps of one dynamics on the device (graphs) and on the CPU (its ops,
 * sub-stage 0) from the same start: max position difference */
static double device_vs_cpu(bmd_cuda_dyn_kind kind, const char *type, const char *const *names, const double *vals,
                            int nv, const double *dev_params, int K) {
    bmd_batch *b;
    bmd_batch_create(&b);
    fcc(b, 2);
    fcc(b, 3);
    bmd_model *m;
    OK(bmd_model_lj_create(&LJ, 1, &LJO, &m));
    bmd_cuda_engine *e = engine(b, NULL, 1);
    bmd_cuda_substage sub = {.kind = kind, .max_steps = 1000000,
                             .rng_stream = BMD_RNG_STREAM(0, BMD_RNG_LANGEVIN)};
    memcpy(sub.params, dev_params, sizeof sub.params);
    OK(bmd_cuda_engine_set_stage(e, &sub, 1));
    OK(bmd_cuda_engine_step(e, K));
    double *pg = malloc(3 * (size_t)b->n_atoms * sizeof(double));
    OK(bmd_cuda_engine_download(e, pg, NULL, NULL, NULL, NULL, NULL, NULL));
    bmd_dynamics *d;
    OK(bmd_dynamics_create(type, names, vals, nv, &d));
    const bmd_units u = bmd_units_get(BMD_UNITS_METAL);
    double steps[2] = {0, 0};
    bmd_step_info si = {&u, 11, 0, steps, bmd_dynamics_find(d->ops->type)->dof};
    unsigned char all[2] = {1, 1};
    bmd_compute_request rf = {.forces = b->force};
    OK(bmd_model_compute(m, b, &rf));
    d->ops->enter(d->self, b, all, &si);
    for (int k = 0; k < K; k++) {
        d->ops->pre_update(d->self, b, all, &si);
        OK(bmd_model_compute(m, b, &rf));
        if (d->ops->post_update) d->ops->post_update(d->self, b, all, &si);
        steps[0] += 1, steps[1] += 1;
    }
    double dmax = 0;
    for (int k = 0; k < 3 * b->n_atoms; k++) dmax = fmax(dmax, fabs(pg[k] - b->pos[k]));
    printf("%s %d steps: max |x_gpu - x_cpu| = %.3g Å\n", type, K, dmax);
    free(pg);
    bmd_dynamics_destroy(d);
    bmd_cuda_engine_destroy(e);
    bmd_model_destroy(m);
    bmd_batch_destroy(b);
    return dmax;
}

int main(void) {
    if (!bmd_cuda_available()) {
        bmd_cuda_check();
        printf("SKIP: no CUDA device (%s)\n", bmd_last_error());
        return 77;
    }
    bmd_cuda_device info;
    OK(bmd_cuda_device_info(0, &info));
    printf("device 0: %s, sm_%d%d, %d SMs, %.1f GiB\n", info.name, info.major, info.minor, info.multiprocessors,
           info.memory_bytes / 1073741824.0);
    bmd_batch *b;
    bmd_batch_create(&b);
    const int sizes[] = {2, 3, 6, 2}; /* 6: 864 atoms, a box of 3 bins per axis: cell lists */
    for (int k = 0; k < 4; k++) fcc(b, sizes[k]);
    const int ns = b->n_systems, na = b->n_atoms;
    bmd_model *m;
    OK(bmd_model_lj_create(&LJ, 1, &LJO, &m));
    double *fc = calloc(3 * (size_t)na, sizeof(double)), *fg = calloc(3 * (size_t)na, sizeof(double));
    double ec[8], eg[8], wc[48], wg[48];
    bmd_compute_request rc = {.forces = fc, .energy = ec, .virial = wc}, rg = {.forces = fg, .energy = eg, .virial = wg};
    OK(bmd_model_compute(m, b, &rc));
    bmd_cuda_engine *e = engine(b, NULL, 1);
    OK(bmd_cuda_engine_compute(e, &rg));
    double fs = 0;
    for (int k = 0; k < 3 * na; k++) fs = fmax(fs, fabs(fc[k]));
    for (int k = 0; k < 3 * na; k++) CHECK(fabs(fg[k] - fc[k]) <= 1e-10 * fs, "force %d: %g vs %g", k, fg[k], fc[k]);
    for (int s = 0; s < ns; s++) {
        CHECK(fabs(eg[s] - ec[s]) <= 1e-10 * fabs(ec[s]), "energy %d: %.17g vs %.17g", s, eg[s], ec[s]);
        double ws = 0;
        for (int c = 0; c < 6; c++) ws = fmax(ws, fabs(wc[6 * s + c]));
        for (int c = 0; c < 6; c++) CHECK(fabs(wg[6 * s + c] - wc[6 * s + c]) <= 1e-10 * ws, "virial %d.%d", s, c);
    }
    /* alone: the same bits */
    const unsigned char only2[4] = {0, 0, 1, 0};
    bmd_cuda_engine *e2 = engine(b, only2, 0);
    double e_alone[1];
    bmd_compute_request ra = {.energy = e_alone};
    OK(bmd_cuda_engine_compute(e2, &ra));
    CHECK(e_alone[0] == eg[2], "system 2 alone %.17g vs in the batch %.17g", e_alone[0], eg[2]);

    /* 50 NVE steps: graphs, no graphs, and the CPU */
    const bmd_cuda_substage nve = {.kind = BMD_CUDA_NVE, .params = {1.0}, .max_steps = 1000000};
    OK(bmd_cuda_engine_set_stage(e, &nve, 1));
    bmd_cuda_engine *e3 = engine(b, NULL, 0);
    OK(bmd_cuda_engine_set_stage(e3, &nve, 1));
    OK(bmd_cuda_engine_step(e, 50));
    OK(bmd_cuda_engine_step(e3, 50));
    double *pg = malloc(3 * (size_t)na * sizeof(double)), *p3 = malloc(3 * (size_t)na * sizeof(double));
    OK(bmd_cuda_engine_download(e, pg, NULL, NULL, NULL, NULL, NULL, NULL));
    OK(bmd_cuda_engine_download(e3, p3, NULL, NULL, NULL, NULL, NULL, NULL));
    CHECK(!memcmp(pg, p3, 3 * (size_t)na * sizeof(double)), "graph replay and plain launches differ");
    bmd_dynamics *d;
    const char *names[] = {"dt"};
    const double vals[] = {1.0};
    OK(bmd_dynamics_create("nve", names, vals, 1, &d));
    const bmd_units u = bmd_units_get(BMD_UNITS_METAL);
    double steps[8] = {0};
    bmd_step_info si = {&u, 11, 0, steps, bmd_dynamics_find(d->ops->type)->dof};
    unsigned char all[8] = {1, 1, 1, 1};
    d->ops->enter(d->self, b, all, &si);
    bmd_compute_request rf = {.forces = b->force};
    OK(bmd_model_compute(m, b, &rf));
    for (int k = 0; k < 50; k++) {
        d->ops->pre_update(d->self, b, all, &si);
        OK(bmd_model_compute(m, b, &rf));
        d->ops->post_update(d->self, b, all, &si);
    }
    double dmax = 0;
    for (int k = 0; k < 3 * na; k++) dmax = fmax(dmax, fabs(pg[k] - b->pos[k]));
    printf("NVE 50 steps: max |x_gpu - x_cpu| = %.3g Å\n", dmax);
    CHECK(dmax < 1e-8, "NVE trajectories apart by %g Å", dmax);

    /* every dynamics against its CPU twin */
    {
        const char *ln[] = {"dt", "temperature", "friction"}, *hn[] = {"dt", "temperature", "tdamp", "chain"};
        const double lv[] = {2.0, 50.0, 0.01}, hv[] = {2.0, 50.0, 40.0, 3.0};
        const bmd_dynamics_type *ft = bmd_dynamics_find("fire"), *f2 = bmd_dynamics_find("fire2");
        double fp[BMD_CUDA_NPAR] = {0}, f2p[BMD_CUDA_NPAR] = {0}, lp[BMD_CUDA_NPAR] = {2.0, 50.0, 0.01},
               hp[BMD_CUDA_NPAR] = {2.0, 50.0, 40.0, 3.0};
        for (int k = 0; k < ft->n_params && k < BMD_CUDA_NPAR; k++) fp[k] = ft->params[k].def;
        for (int k = 0; k < f2->n_params && k < BMD_CUDA_NPAR; k++) f2p[k] = f2->params[k].def;
        /* Langevin: the normals differ from glibc's by ulps (CUDA's log/sin/cos) */
        CHECK(device_vs_cpu(BMD_CUDA_LANGEVIN, "nvt_langevin", ln, lv, 3, lp, 30) < 1e-8, "langevin apart");
        CHECK(device_vs_cpu(BMD_CUDA_NOSE_HOOVER, "nvt_nose_hoover", hn, hv, 4, hp, 30) < 1e-8, "nose-hoover apart");
        CHECK(device_vs_cpu(BMD_CUDA_FIRE, "fire", NULL, NULL, 0, fp, 30) < 1e-8, "fire apart");
        CHECK(device_vs_cpu(BMD_CUDA_FIRE2, "fire2", NULL, NULL, 0, f2p, 30) < 1e-8, "fire2 apart");
        /* a variable-cell FIRE (catalogue slot 9: cell.filter) is not run as a fixed-cell one */
        bmd_cuda_substage cellf = {.kind = BMD_CUDA_FIRE, .max_steps = 10};
        memcpy(cellf.params, fp, sizeof cellf.params);
        cellf.params[9] = 1; /* unit */
        CHECK(bmd_cuda_engine_set_stage(e, &cellf, 1) == BMD_ERR_UNSUPPORTED, "a cell filter accepted by the device");
    }

    /* rows too narrow: widened inside the step, the same bits as wide rows */
    {
        bmd_cuda_engine *narrow = engine_nb(b, NULL, 1, 4), *wide = engine(b, NULL, 1);
        OK(bmd_cuda_engine_set_stage(narrow, &nve, 1));
        OK(bmd_cuda_engine_set_stage(wide, &nve, 1));
        OK(bmd_cuda_engine_step(narrow, 20));
        OK(bmd_cuda_engine_step(wide, 20));
        double *pn = malloc(3 * (size_t)na * sizeof(double)), *pw = malloc(3 * (size_t)na * sizeof(double));
        OK(bmd_cuda_engine_download(narrow, pn, NULL, NULL, NULL, NULL, NULL, NULL));
        OK(bmd_cuda_engine_download(wide, pw, NULL, NULL, NULL, NULL, NULL, NULL));
        CHECK(!memcmp(pn, pw, 3 * (size_t)na * sizeof(double)), "widened rows give other bits");
        free(pn), free(pw);
        bmd_cuda_engine_destroy(narrow);
        bmd_cuda_engine_destroy(wide);
    }

    /* eviction keeps the others' bits */
    double before[8], after[8];
    bmd_compute_request rb = {.energy = before}, rr = {.energy = after};
    OK(bmd_cuda_engine_compute(e3, &rb));
    const unsigned char rm[4] = {1, 0, 0, 0};
    OK(bmd_cuda_engine_evict(e3, rm));
    CHECK(bmd_cuda_engine_systems(e3) == 3, "3 systems left");
    OK(bmd_cuda_engine_compute(e3, &rr));
    for (int s = 0; s < 3; s++) CHECK(after[s] == before[s + 1], "system %d after eviction", s + 1);

    bmd_dynamics_destroy(d);
    bmd_cuda_engine_destroy(e);
    bmd_cuda_engine_destroy(e2);
    bmd_cuda_engine_destroy(e3);
    bmd_model_destroy(m);
    bmd_batch_destroy(b);
    free(fc), free(fg), free(pg), free(p3);
    printf("%s\n", failures ? "FAILED" : "all GPU checks passed");
    return failures ? 1 : 0;
}
