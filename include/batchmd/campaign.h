/* campaign.h — a campaign file (docs/campaign.md, format 1) read and checked into
 * plain structs. Every error names FILE:LINE:COL and what was expected.
 * Relative paths are resolved against the campaign file's folder. */
#ifndef BATCHMD_CAMPAIGN_H
#define BATCHMD_CAMPAIGN_H

#include <stdint.h>
#include "dynamics.h"
#include "model.h"
#include "model_python.h"
#include "status.h"
#include "units.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BMD_MAX_STAGES 32

typedef struct bmd_campaign_stage {
    char *name;
    const bmd_dynamics_type *type;
    double values[32];     /* the type's parameters, in its descriptor order */
    bmd_convergence conv;  /* fmax/etol/max_steps (optimizers) or steps (MD) */
    int fix_com;           /* MD: fix_com: true (bmd_stage_set_fix_com) */
    int line;              /* where the stage is defined */
} bmd_campaign_stage;

typedef struct bmd_campaign_model {
    char type[16];         /* "lj", "morse", "eam", "kim", "plugin", "python" */
    int line, col;         /* where the model section is (for load errors) */
    /* lj, morse */
    bmd_pair_params *pairs; /* owned; entry 0/0 is the default (all pairs) */
    int n_pairs;
    bmd_pair_options opt;  /* opt.skin is every neighbor-using model's skin (Å) */
    /* eam: one setfl/fs file, or one funcfl file per element (resolved paths) */
    char **files;
    int n_files;
    char style[16];        /* "eam", "eam/alloy", "eam/fs" or "" (from the name) */
    /* kim */
    char *kim_name;
    /* plugin: the library and its parameters as text (keys named file or
     * *_file are resolved against the campaign's folder) */
    char *plugin_path;
    char **param_keys, **param_values;
    int n_params;
    /* python: the module as written (a .py file, relative to the campaign's
     * folder, or a dotted module name: bmd_model_python_create resolves
     * it), the name of the factory in it, and its keyword arguments typed
     * as YAML wrote them (keys and texts owned) */
    char *py_module, *py_object;
    bmd_python_param *py_params;
    int n_py_params;
} bmd_campaign_model;

typedef struct bmd_campaign_output_every {
    char *file; /* resolved path, NULL when not asked */
    long every; /* steps */
} bmd_campaign_output_every;

typedef struct bmd_campaign {
    char *path;            /* the campaign file */
    char *dir;             /* its folder */
    bmd_units_kind units;
    int units_line, units_col; /* where `units:` is written (0: not given) */
    uint64_t seed;
    int threads;           /* 0: OMP_NUM_THREADS if set, else all cores */
    char device[8];        /* "cpu" (default) or "cuda" (the GPU backend, cuda.h) */
    int device_line, device_col; /* where `device:` is written (0: not given) */
    bmd_campaign_model model;
    char **inputs;         /* resolved extxyz files, in order (directories and globs expanded, sorted) */
    int n_inputs;
    bmd_campaign_stage stages[BMD_MAX_STAGES];
    int n_stages;
    /* pipeline: groups separated by '|', each a list of stage indices fused by '+' */
    int n_groups;
    int group_size[BMD_MAX_STAGES];
    int group_stage[BMD_MAX_STAGES][BMD_MAX_STAGES];
    struct {
        long max_atoms, max_systems, refill_every;
        long buffer_systems, buffer_atoms;
        char comm[16];
        int synchronized; /* pipeline: lockstep with a barrier after every step (debugging) */
        int debug;        /* pipeline: log every rank's hand-overs on stderr */
    } batch;
    struct {
        char *final, *failed; /* failed not given: final's name + ".failed" before its extension
                               * (out/a.extxyz -> out/a.failed.extxyz); neither given:
                               * results/final.extxyz, results/failed.extxyz */
        char *eval; /* output.eval: where `batchmd eval` writes (NULL: not given) */
        bmd_campaign_output_every trajectory, log;
        char *checkpoint;
        double checkpoint_every_s;
        int ordered; /* write final in input order */
    } output;
    struct {
        double min_distance; /* Å (lj: σ): a system with two atoms closer is taken out as
                              * it arrives ("atoms_too_close"); 0 = never. Default 0.5. */
        double max_force; /* eV/Å: a system whose max |F| exceeds it is taken out
                           * ("force_blowup"); 0 = never. Default 1e5. */
        long max_neighbors; /* a system with an atom that has more neighbors than this
                             * within the model's cutoff (periodic images included) is
                             * taken out as it arrives ("too_many_neighbors"), before
                             * its lists are built; 0 = never. Default 2000, as
                             * LAMMPS's neigh_modify one. */
    } quarantine;
} bmd_campaign;

/* Reads and checks path. On error returns BMD_ERR_PARSE (or IO) with a
 * message "FILE:LINE:COL: ..." and leaves *c empty. A campaign needs
 * stages (what `run` runs). */
bmd_status bmd_campaign_load(const char *path, bmd_campaign *c);
/* bmd_campaign_load's flags. STAGES_OPTIONAL: a campaign without `stages`,
 * or with `stages: {}`, is valid (n_stages = 0, one empty stage group):
 * enough for single-point evaluation (`batchmd eval`). */
enum { BMD_CAMPAIGN_STAGES_OPTIONAL = 1, BMD_CAMPAIGN_MODEL_OPTIONAL = 2, BMD_CAMPAIGN_INPUT_OPTIONAL = 4 };
bmd_status bmd_campaign_load_flags(const char *path, int flags, bmd_campaign *c);
/* The same from a YAML text held in memory (the Python package composes
 * its stages, model and settings this way, so they pass the very checks a
 * campaign file does). `name` stands for the file in messages
 * (NAME:LINE:COL); relative paths resolve against dir (NULL: "."). flags as
 * above; MODEL_OPTIONAL / INPUT_OPTIONAL: `model` / `input` may be absent
 * (c->model.type is then "", c->n_inputs 0). */
bmd_status bmd_campaign_load_text(const char *text, const char *name, const char *dir, int flags, bmd_campaign *c);
/* Builds the campaign's model (caller destroys it). */
bmd_status bmd_campaign_make_model(const bmd_campaign *c, bmd_model **out);
/* Builds a stage with the campaign's stages of pipeline group g fused; its
 * index offset (bmd_stage_set_index_offset) is the number of stages in the
 * groups before g, so fused and piped runs draw the same random numbers. */
bmd_status bmd_campaign_make_stage(const bmd_campaign *c, int group, bmd_stage **out);
void bmd_campaign_free(bmd_campaign *c);
/* Checks the per-structure overrides of sys (its info keys that name a
 * parameter of one of the campaign's stages, e.g. steps=, temperature=,
 * dt=) against the range that stage accepts (dt > 0, steps >= 0 whole,
 * temperature >= 0 K, ...). BMD_ERR_PARSE with "FILE:LINE: structure
 * INDEX: key=value overrides stages.S.key and is out of range (expected
 * ...)" (LINE: the structure's info line) on the first bad one. */
bmd_status bmd_campaign_check_overrides(const bmd_campaign *c, const bmd_system *sys, long index);

#ifdef __cplusplus
}
#endif

#endif
