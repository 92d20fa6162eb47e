/* batch.h — the live batch: many systems of different sizes in flat
 * structure-of-arrays storage, so every kernel runs over plain arrays.
 *
 * Atoms of one system are contiguous: system slot s owns atoms
 * [atom_start[s], atom_start[s] + atom_count[s]). Slots are 0..n_systems-1
 * in the order systems were appended; removal compacts (stable order).
 *
 * The struct is public for the kernels: read any field; write the per-atom
 * and per-system physics arrays (pos, vel, force, energy, stress, status,
 * cell); change the layout only through the functions below.
 *
 * Columns: dynamics keep their per-atom or per-system state (FIRE's v and
 * dt, a thermostat's chain) in named double columns that the batch stores,
 * zero-fills for appended systems and compacts with the rest, so that state
 * travels with its system (compaction, hand-over, checkpoints).
 *
 * Ragged columns hold state whose size is neither fixed per atom nor per
 * system: one row per system, each of the length its owner gives it (BFGS's
 * dense Hessian, (3N + 9)² doubles for a system of N atoms under a cell
 * filter). Each row is an allocation of its own, so a system that does not
 * use the column costs nothing (length 0 until its owner sizes it, as at
 * append), compaction moves pointers, not megabytes, and a dynamics can
 * free a row when its system no longer needs it. Checkpoints carry every
 * row with its length; hand-over carries none (no ragged column travels:
 * they hold a sub-stage's state, and a system handed over starts its next
 * stage fresh). */
#ifndef BATCHMD_BATCH_H
#define BATCHMD_BATCH_H

#include <stddef.h>
#include <stdint.h>
#include "status.h"
#include "system.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BMD_MAX_COLUMNS 64
#define BMD_COLUMN_NAME 48

/* The per-atom column (width 1) of fixed atoms: 1 for an atom held fixed
 * (bmd_system.fixed, ASE's FixAtoms), 0 otherwise. bmd_batch_append makes
 * it for the first system with a fixed atom; absent, no atom is fixed. The
 * stage holds such atoms (dynamics.h). */
#define BMD_FIXED_COLUMN "fixed"

typedef struct bmd_column {
    char name[BMD_COLUMN_NAME];
    int per_atom; /* 1: one row per atom, 0: one row per system */
    int width;    /* doubles per row (0 for a ragged column) */
    double *data; /* [rows * width] (NULL for a ragged column) */
    int ragged;   /* 1: per system, row s of length row_len[s] at rows[s] */
    double **rows;   /* [cap_systems] (ragged only; NULL where row_len is 0) */
    size_t *row_len; /* [cap_systems] doubles in each row (ragged only) */
} bmd_column;

typedef struct bmd_batch {
    /* ---- atoms ---- */
    int n_atoms, cap_atoms;
    double *pos;   /* [3n] Å */
    double *vel;   /* [3n] Å/fs */
    double *force; /* [3n] eV/Å; valid for system s when forces_valid[s] */
    double *mass;  /* [n] amu */
    int *Z;        /* [n] atomic numbers */
    int *sys;      /* [n] slot of the system owning the atom */

    /* ---- systems ---- */
    int n_systems, cap_systems;
    int *atom_start;  /* [ns] first atom of slot s */
    int *atom_count;  /* [ns] atoms of slot s */
    double *cell;     /* [9 ns] row vectors a, b, c, Å */
    unsigned char *pbc; /* [3 ns] */
    double *energy;   /* [ns] potential energy, eV */
    double *stress;   /* [6 ns] Voigt xx yy zz yz xz xy, eV/Å³, ASE's sign */
    unsigned char *forces_valid; /* [ns] force/energy/stress are for the current pos */
    unsigned char *stress_valid; /* [ns] stress was computed with them */
    int *status;      /* [ns] stage status code (sub-stage index; exit code after the last) */
    int64_t *system_id; /* [ns] index in the dataset */
    int64_t *uid;     /* [ns] unique per append, never reused in this batch */
    bmd_info *info;   /* [ns] free info keys (owned) */

    /* Incremented by every append/remove: caches keyed by slot (neighbor
     * lists) compare it and re-key themselves by uid. */
    uint64_t layout_version;
    int64_t next_uid;

    int n_columns;
    bmd_column columns[BMD_MAX_COLUMNS];
} bmd_batch;

/* Creates an empty batch. Destroy with bmd_batch_destroy. */
bmd_status bmd_batch_create(bmd_batch **out);
/* Frees the batch and everything it owns; NULL is a no-op. */
void bmd_batch_destroy(bmd_batch *b);

/* Appends a copy of sys (vel NULL -> zero velocities; fixed atoms go to
 * BMD_FIXED_COLUMN; forces, energy and
 * stress are not copied: forces_valid starts 0, nor are the info keys of
 * ASE's calculator results energy, free_energy, stress, dipole, magmom: a
 * result at the input's positions is never written as the model's).
 * status starts 0. Columns are zero-filled for the new rows. *slot (may be
 * NULL) receives its slot. */
bmd_status bmd_batch_append(bmd_batch *b, const bmd_system *sys, int *slot);
/* Removes every slot s with remove[s] != 0, compacting atoms, systems and
 * columns in place (remaining systems keep their relative order). */
bmd_status bmd_batch_remove(bmd_batch *b, const unsigned char *remove);
/* Copies slot s out as a standalone system (with forces, energy, stress if
 * valid, its fixed atoms, and info). out is overwritten. */
bmd_status bmd_batch_extract(const bmd_batch *b, int slot, bmd_system *out);

/* Finds or creates a column; new columns are zero-filled. Asking again for an
 * existing name with another shape is an error. *index receives its index. */
bmd_status bmd_batch_column(bmd_batch *b, const char *name, int per_atom, int width, int *index);
/* The data of column index (NULL if out of range). Pointers change when the
 * batch grows: fetch them again after append/remove. */
double *bmd_batch_column_data(const bmd_batch *b, int index);
/* Index of a column by name, -1 when absent. */
int bmd_batch_find_column(const bmd_batch *b, const char *name);

/* Finds or creates a ragged column (every row empty when created). Asking
 * for the name of a fixed-width column, or bmd_batch_column for a ragged
 * one, is an error. */
bmd_status bmd_batch_ragged_column(bmd_batch *b, const char *name, int *index);
/* Row `slot` of ragged column `index`: its data, and in *len (may be NULL)
 * its length in doubles; NULL (length 0) when empty or not ragged. */
double *bmd_batch_ragged_row(const bmd_batch *b, int index, int slot, size_t *len);
/* Gives row `slot` the length len, zero-filled (what it held is dropped);
 * len 0 frees it. */
bmd_status bmd_batch_ragged_resize(bmd_batch *b, int index, int slot, size_t len);

/* The value of a per-system parameter for slot s: the info key `key` if the
 * structure's info line has it (parsed as a number), else fallback. Returns
 * BMD_ERR_PARSE with a message if the info value is not a number. */
bmd_status bmd_batch_param(const bmd_batch *b, int slot, const char *key, double fallback, double *out);

/* Slot s's rows of the fixed-atom column (BMD_FIXED_COLUMN: 1 fixed, 0
 * free), or NULL when no atom of the batch is fixed. */
const double *bmd_batch_fixed(const bmd_batch *b, int slot);
/* How many atoms of slot s are fixed. */
int bmd_batch_n_fixed(const bmd_batch *b, int slot);

/* Volume of slot s's cell, Å³ (|det|). */
double bmd_batch_volume(const bmd_batch *b, int slot);

#ifdef __cplusplus
}
#endif

#endif
