/* model_kim.h — OpenKIM models (https://openkim.org) through the KIM API 2:
 * any installed portable model (EAM, Stillinger–Weber, SNAP, Tersoff, ...)
 * as a bmd_model, and the list of installed models.
 *
 * The KIM API is optional at build time: without it, every function below
 * fails with BMD_ERR_UNSUPPORTED and a message saying so, and
 * bmd_kim_available() returns 0.
 *
 * Units: the model is asked for metal units (Å, eV, e, K, ps); a model that
 * insists on its own length/energy units is converted. Outputs are those of
 * model.h (eV, eV/Å, virial W = dE/dε in eV, Voigt xx yy zz yz xz xy).
 *
 * Species: KIM species names are element symbols; an atom's species is its
 * atomic number's symbol.
 *
 * Periodic cells: each system is padded with ghost atoms (periodic images,
 * as many per axis as the influence distance needs, so a 1-atom primitive
 * cell works) and given the FULL neighbor lists the model asks for (one per
 * cutoff, with ghost rows when the model says it may ask for neighbors of
 * non-contributing particles). Forces on ghosts are folded back onto their
 * atoms. Ghosts and lists are kept while the two largest displacements
 * since the last build add up to at most the skin; after a cell change, the
 * strain's share counts too (src/neighbor/neighbor.h): a barostat's small
 * steps do not rebuild them.
 *
 * Threads: one KIM model object per OpenMP thread (KIM model drivers keep
 * scratch state in the model object, so one object must not compute two
 * systems at once); systems are spread over threads when the batch has
 * several systems. A system's numbers do not depend on the other systems in
 * the batch or on the thread that computed it, nor on when the lists were
 * rebuilt: the ghosts are the images of atoms that lie within range of
 * another atom (whose coordinates and order depend only on that), so a
 * model that ignores particles beyond its cutoffs gives the same bits from
 * kept lists as from fresh ones. */
#ifndef BATCHMD_MODEL_KIM_H
#define BATCHMD_MODEL_KIM_H

#include "model.h"
#include "status.h"

/* 1 when this batchmd was built with the KIM API, else 0. */
int bmd_kim_available(void);

/* Loads the installed KIM portable model `name` (e.g.
 * "EAM_Dynamo_MendelevKing_2013_Cu__MO_748636486270_005") with a Verlet
 * skin `skin` (Å, >= 0; 0.5 is a good default). The model computes energy,
 * forces, virial (partialVirial, or -Σ x ⊗ F over the padded set when the
 * model does not offer it) and per-atom energies where the model offers
 * them (partialParticleEnergy; NaN otherwise). The model's check_system
 * refuses a structure with a species the model does not support:
 * "model X does not support species Y (it supports A, B)".
 * Errors: BMD_ERR_NOT_FOUND (no such model installed; a simulator model
 * is refused with its own message), BMD_ERR_UNSUPPORTED (no KIM API in
 * this build, or the model cannot give energy and forces), BMD_ERR_RUNTIME
 * (the KIM API failed; its message is included). *out is a heap model,
 * freed with bmd_model_destroy. */
bmd_status bmd_model_kim_create(const char *name, double skin, bmd_model **out);

/* The KIM model's influence distance (Å), or -1 when m is not a KIM model. */
double bmd_model_kim_influence_distance(const bmd_model *m);
/* Padded-set (ghosts + lists) rebuilds so far over all systems, or -1 when
 * m is not a KIM model (for tests and timers). */
long bmd_model_kim_list_builds(const bmd_model *m);

/* ---- the installed models ---- */
#define BMD_KIM_NAME_MAX 256
#define BMD_KIM_SPECIES_MAX 512

typedef struct bmd_kim_model_info {
    char name[BMD_KIM_NAME_MAX];
    int simulator;            /* 1: a simulator model (for one simulator, e.g.
                               * LAMMPS; batchmd cannot run it), 0: portable */
    char simulator_name[64];  /* simulator models: "LAMMPS 28 Mar 2023", ... */
    /* What follows is filled when details were asked for (and the model
     * loaded); otherwise, or when loading failed, loaded = 0, the species
     * string is empty and the flags are -1. Simulator models give their
     * species without being loaded. */
    int loaded;
    char species[BMD_KIM_SPECIES_MAX]; /* space-separated symbols, "Cu" or "Al Cu" */
    int energy, forces, virial, energy_per_atom; /* what batchmd gets from it: 1 yes, 0 no,
                               * -1 unknown (the virial comes from the model's
                               * partialVirial, else batchmd computes it from the forces) */
    int kim_virial;           /* 1 the model itself computes partialVirial, 0 not, -1 unknown */
    double influence_distance; /* Å, or -1 unknown */
    char error[256];          /* why loading failed, "" otherwise */
} bmd_kim_model_info;

/* Calls fn(info, ctx) for every installed KIM model, portable models first,
 * then simulator models, each in name order. details = 1 loads every
 * portable model to fill species, the computed quantities and the influence
 * distance (a second or two for a few hundred models); details = 0 gives the
 * names only (and the simulator models' species). fn returning nonzero stops
 * the listing (not an error). Errors: BMD_ERR_UNSUPPORTED without the KIM
 * API; BMD_ERR_RUNTIME when the KIM collections cannot be read. */
bmd_status bmd_kim_list_models(int details, int (*fn)(const bmd_kim_model_info *info, void *ctx), void *ctx);

/* Fills *info for one model by name (details as with details = 1).
 * BMD_ERR_NOT_FOUND when no model of that name is installed. */
bmd_status bmd_kim_model_info_get(const char *name, bmd_kim_model_info *info);

#endif
