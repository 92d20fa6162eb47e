/* system.h — one atomistic structure as a standalone value (it owns its
 * arrays): what the extxyz reader produces, what a batch takes in and gives
 * back, and what the writers write. Units are those of the campaign
 * (see units.h); the comments give metal units. */
#ifndef BATCHMD_SYSTEM_H
#define BATCHMD_SYSTEM_H

#include <stdint.h>
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Free key=value pairs of an extxyz info line, in file order. Values are kept
 * as the text the file had (unquoted), e.g. "450" or "1.0 2.0 3.0". */
typedef struct bmd_info {
    int n, cap;
    char **keys;   /* owned */
    char **values; /* owned */
} bmd_info;

/* Sets key to value (replaces an existing key). Copies both strings. */
bmd_status bmd_info_set(bmd_info *info, const char *key, const char *value);
/* The value of key, NULL when absent. */
const char *bmd_info_get(const bmd_info *info, const char *key);
/* Removes key if present. */
void bmd_info_remove(bmd_info *info, const char *key);
/* Deep copy (dst must be empty/zeroed). */
bmd_status bmd_info_copy(bmd_info *dst, const bmd_info *src);
void bmd_info_free(bmd_info *info);

/* The degrees of freedom N_f of a kinetic temperature T = 2K / (N_f k_B):
 * the dynamics that moves the velocities declares which count is true for it
 * (bmd_dynamics_type.dof, dynamics.h), so that its mean temperature is the
 * temperature it samples; the stage's fix_com makes it BMD_DOF_FIX_COM.
 * Fixed atoms (bmd_system.fixed, ASE's FixAtoms) are at rest and take their
 * 3 counts each out of every rule (ASE's FixAtoms.get_removed_dof). */
typedef enum bmd_dof_rule {
    /* N_f = 3 N_free (N_free = N − fixed atoms): every free velocity
     * component counts, the total momentum too (Langevin: its noise moves
     * the centre of mass). Also the count of a structure's own velocities:
     * ASE's Atoms.get_temperature() with no constraint but FixAtoms. */
    BMD_DOF_ALL = 0,
    /* The dynamics conserves the total momentum (NVE, Nosé–Hoover): N_f =
     * 3N − 3 (3 when N = 1: a lone atom keeps its one count), as LAMMPS's
     * compute temp and ASE's get_temperature() with a FixCom constraint
     * count. With fixed atoms the total momentum is not conserved (they
     * push the free ones and do not recoil): N_f = 3 N_free. */
    BMD_DOF_MOMENTUM = 1,
    /* The stage holds the centre-of-mass momentum at zero (fix_com: true,
     * ASE's FixCom, LAMMPS's fix momentum): N_f = 3 N_free − 3, fixed
     * atoms or not (0 when at most one atom is free). */
    BMD_DOF_FIX_COM = 2
} bmd_dof_rule;

/* N_f of n_atoms atoms of which n_fixed are fixed, under rule (>= 0). A
 * temperature with N_f = 0 is 0 (LAMMPS's convention: nothing moves). */
int bmd_dof_count(bmd_dof_rule rule, int n_atoms, int n_fixed);

typedef struct bmd_system {
    int n_atoms;
    int *Z;          /* [n] atomic numbers (owned) */
    double *pos;     /* [3n] positions, Å (owned) */
    double *mass;    /* [n] masses, amu (owned, always present) */
    double *vel;     /* [3n] velocities, Å/fs (owned), or NULL: none given */
    double *forces;  /* [3n] forces, eV/Å (owned), or NULL: none given/computed.
                      * The model's forces on every atom, fixed ones
                      * included (as ASE writes its calculator's results):
                      * the dynamics see zero on fixed atoms */
    unsigned char *fixed; /* [n] 1: the atom is held fixed (ASE's FixAtoms;
                           * extxyz move_mask F), or NULL: none is (owned) */
    double cell[9];  /* row vectors a, b, c (as ASE's cell), Å */
    unsigned char pbc[3];
    int has_energy;
    double energy;   /* potential energy, eV */
    int has_stress;
    double stress[6]; /* Voigt xx yy zz yz xz xy, eV/Å³, ASE's sign (tensile positive) */
    int64_t system_id; /* index in the dataset (files, then frames); -1 unknown */
    bmd_dof_rule dof; /* how the temperature of vel counts: the rule of the
                       * dynamics that moved them (a snapshot hook sets it);
                       * BMD_DOF_ALL for a structure as read. With `fixed`:
                       * bmd_system_dof */
    bmd_info info;   /* free info keys (kept and written back) */
    char *source;    /* file it came from (owned), or NULL */
    long line;       /* 1-based line of its atom-count line in source, or 0 */
} bmd_system;

/* Zeroes *s and allocates Z, pos and mass for n atoms (vel/forces stay NULL). */
bmd_status bmd_system_alloc(bmd_system *s, int n_atoms);
/* Allocates s->vel (zeroed) if NULL. Same for forces and fixed. */
bmd_status bmd_system_ensure_vel(bmd_system *s);
bmd_status bmd_system_ensure_forces(bmd_system *s);
bmd_status bmd_system_ensure_fixed(bmd_system *s);
/* How many atoms of s are fixed (0 when s->fixed is NULL). */
int bmd_system_n_fixed(const bmd_system *s);
/* N_f of s's velocities: bmd_dof_count(s->dof, n_atoms, fixed atoms). */
int bmd_system_dof(const bmd_system *s);
/* Deep copy into dst (dst is overwritten, not freed first). */
bmd_status bmd_system_copy(bmd_system *dst, const bmd_system *src);
/* Frees the arrays and zeroes *s; NULL is a no-op. */
void bmd_system_free(bmd_system *s);

/* The closest pair of atoms of s closer than `range` (Å), periodic images
 * included (i == j: an atom and its own image, in a cell smaller than the
 * range): *d gets its distance (Å), *i <= *j its atoms (each may be NULL).
 * None closer: *d = INFINITY, *i = *j = -1. Fails with BMD_ERR_NUMERIC on a
 * non-finite or absurdly distant position, BMD_ERR_INVALID on range <= 0 or
 * a degenerate periodic cell. */
bmd_status bmd_system_closest_pair(const bmd_system *s, double range, double *d, int *i, int *j);

#ifdef __cplusplus
}
#endif

#endif
