/* relax_md.c — batchmd's C API on one page: argon (Lennard-Jones, metal
 * units) structures relaxed with FIRE and then run with Langevin dynamics in
 * one fused stage on one live batch; prints, per system, its id, its atoms,
 * the steps it took in each sub-stage and its final energy.
 *
 * Without arguments it builds six structures in code (clusters cut from fcc
 * argon and periodic fcc crystals, each shaken by a seeded random
 * displacement); with a file argument it reads every frame of that extended
 * XYZ file instead (e.g. structures.extxyz beside this file).
 *
 * Build against an installed batchmd (PREFIX is where it was installed):
 *   with pkg-config, in one line (PKG_CONFIG_PATH only if PREFIX is not a system prefix):
 *     cc -std=c11 -O2 relax_md.c -o relax_md $(PKG_CONFIG_PATH=PREFIX/lib/pkgconfig pkg-config --cflags --libs batchmd)
 *   with CMake (the CMakeLists.txt beside this file uses find_package(batchmd)):
 *     cmake -S . -B build -DCMAKE_PREFIX_PATH=PREFIX && cmake --build build
 * Run (the shared library must be found: LD_LIBRARY_PATH=PREFIX/lib unless
 * PREFIX is a system prefix):
 *   ./relax_md                       # structures built in code
 *   ./relax_md structures.extxyz     # structures read from a file */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <batchmd/batchmd.h>

/* Every fallible call returns a bmd_status and leaves a message. */
#define CHECK(call)                                                                                              \
    do {                                                                                                         \
        bmd_status rc_ = (call);                                                                                 \
        if (rc_ != BMD_OK) {                                                                                     \
            fprintf(stderr, "relax_md: %s failed: %s: %s\n", #call, bmd_status_name(rc_), bmd_last_error());     \
            exit(1);                                                                                             \
        }                                                                                                        \
    } while (0)

#define SEED 7

/* fcc argon, n×n×n cubic cells of a = 5.26 Å: periodic when radius <= 0,
 * else the cluster of atoms within `radius` Å of the centre. Every atom is
 * displaced by a normal deviate of 0.1 Å (counter-based: seed, id, atom). */
static void argon(bmd_system *sys, int n, double radius, long id) {
    static const double basis[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
    const double a = 5.26, c = 0.5 * a * (n - 1);
    double *x = malloc(sizeof(double) * 3 * 4 * (size_t)(n * n * n));
    int na = 0;
    if (!x) exit(1);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            for (int k = 0; k < n; k++)
                for (int q = 0; q < 4; q++) {
                    double p[3] = {a * (i + basis[q][0]), a * (j + basis[q][1]), a * (k + basis[q][2])};
                    double r2 = 0;
                    for (int d = 0; d < 3; d++) r2 += (p[d] - c) * (p[d] - c);
                    if (radius > 0 && r2 > radius * radius) continue;
                    memcpy(x + 3 * na++, p, sizeof p);
                }
    CHECK(bmd_system_alloc(sys, na));
    for (int i = 0; i < na; i++) {
        double g[4];
        bmd_rng_normal4(SEED, (uint64_t)id, 0, 0, (uint64_t)i, g);
        sys->Z[i] = 18;
        sys->mass[i] = bmd_element_mass(18);
        for (int d = 0; d < 3; d++) sys->pos[3 * i + d] = x[3 * i + d] + 0.1 * g[d];
    }
    if (radius <= 0) {
        sys->cell[0] = sys->cell[4] = sys->cell[8] = a * n;
        sys->pbc[0] = sys->pbc[1] = sys->pbc[2] = 1;
    }
    sys->system_id = id;
    free(x);
}

/* Appends the structures to the batch: read from `path`, or built in code. */
static void load(bmd_batch *b, const char *path) {
    if (path) {
        bmd_system *frames = NULL;
        long n = 0;
        CHECK(bmd_extxyz_read_all(path, BMD_UNITS_METAL, &frames, &n));
        for (long i = 0; i < n; i++) {
            frames[i].system_id = i; /* the index in the input, as batchmd run numbers them */
            CHECK(bmd_batch_append(b, &frames[i], NULL));
            bmd_system_free(&frames[i]);
        }
        free(frames);
        return;
    }
    const int cells[] = {3, 4, 5, 3, 3, 4};
    const double radii[] = {5.0, 7.5, 9.5, 0, 0, 0}; /* Å; 0: periodic crystal */
    for (long id = 0; id < 6; id++) {
        bmd_system sys;
        argon(&sys, cells[id], radii[id], id);
        CHECK(bmd_batch_append(b, &sys, NULL)); /* the batch keeps a copy */
        bmd_system_free(&sys);
    }
}

/* Langevin dynamics through the catalogue: every parameter starts at its
 * documented default, then the ones we care about are set by name. */
static bmd_dynamics *langevin(void) {
    const bmd_dynamics_type *t = bmd_dynamics_find("nvt_langevin");
    double v[32];
    if (!t || t->n_params > 32) exit(1);
    for (int i = 0; i < t->n_params; i++) {
        const char *name = t->params[i].name;
        v[i] = t->params[i].def; /* NAN: required, or (init_temperature) unset */
        if (!strcmp(name, "dt")) v[i] = 5.0;                 /* fs */
        if (!strcmp(name, "temperature")) v[i] = 30.0;       /* K */
        if (!strcmp(name, "friction")) v[i] = 0.01;          /* 1/fs */
        if (!strcmp(name, "init_temperature")) v[i] = 30.0;  /* K: Maxwell-Boltzmann on entry */
    }
    bmd_dynamics *d = NULL;
    CHECK(t->create(v, &d));
    return d;
}

int main(int argc, char **argv) {
    const bmd_units units = bmd_units_get(BMD_UNITS_METAL);

    /* The model: one Lennard-Jones entry (z1 = z2 = 0) for every pair. */
    const bmd_pair_params argon_lj = {0, 0, {0.0104, 3.40, 0}, 8.5}; /* ε eV, σ Å, cutoff Å */
    const bmd_pair_options opt = {.skin = 0.5, .shift = 1, .has_default = 1};
    bmd_model *model = NULL;
    CHECK(bmd_model_lj_create(&argon_lj, 1, &opt, &model));

    bmd_batch *batch = NULL;
    CHECK(bmd_batch_create(&batch));
    load(batch, argc > 1 ? argv[1] : NULL);

    /* One stage, two fused sub-stages: FIRE until max |F| < 0.01 eV/Å (at
     * most 2000 steps), then 500 Langevin steps of 5 fs at 30 K. */
    bmd_stage *stage = NULL;
    CHECK(bmd_stage_create(&units, SEED, &stage));
    bmd_dynamics *fire = NULL;
    CHECK(bmd_dynamics_create("fire", NULL, NULL, 0, &fire)); /* ASE's defaults */
    const bmd_convergence relax_until = {.fmax = 0.01, .etol = 0, .max_steps = 2000};
    const bmd_convergence md_steps = {.fmax = 0, .etol = 0, .max_steps = 500};
    CHECK(bmd_stage_add(stage, "relax", fire, &relax_until));
    CHECK(bmd_stage_add(stage, "md", langevin(), &md_steps));

    CHECK(bmd_stage_run(stage, batch, model, 0)); /* until every system has left */

    /* Results: status k (= 2) is "left the last sub-stage"; the stage keeps
     * steps.<name> and converged.<name> columns per system. */
    const int k = bmd_stage_count(stage);
    const double *steps[2], *conv[2];
    for (int i = 0; i < k && i < 2; i++) {
        steps[i] = bmd_batch_column_data(batch, bmd_stage_steps_column(stage, batch, i));
        conv[i] = bmd_batch_column_data(batch, bmd_stage_converged_column(stage, batch, i));
    }
    printf("# batchmd %s: fire + nvt_langevin on %d systems\n", bmd_version(), batch->n_systems);
    printf("%9s %6s %11s %15s %8s %17s %13s %s\n", "system_id", "atoms", "steps_relax", "converged_relax",
           "steps_md", "energy_eV", "temperature_K", "status");
    for (int s = 0; s < batch->n_systems; s++)
        printf("%9lld %6d %11.0f %15s %8.0f %17.10f %13.2f %s\n", (long long)batch->system_id[s],
               batch->atom_count[s], steps[0][s], conv[0][s] != 0 ? "T" : "F", steps[1][s], batch->energy[s],
               bmd_temperature(batch, s, &units, bmd_stage_dof(stage, k - 1)), /* as the last stage counts */
               batch->status[s] == k ? "done" : "failed");

    bmd_stage_destroy(stage); /* also destroys its dynamics */
    bmd_batch_destroy(batch);
    bmd_model_destroy(model);
    return 0;
}
