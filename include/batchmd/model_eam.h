/* model_eam.h — the embedded-atom method from LAMMPS potential files:
 *
 *   E = Σ_i F_{t_i}(ρ_i) + ½ Σ_i Σ_{j≠i} φ_{t_i t_j}(r_ij),
 *   ρ_i = Σ_{j≠i} ρ_{t_j→t_i}(r_ij)
 *
 * read from one DYNAMO file in the formats of LAMMPS's pair styles:
 *   "eam"       funcfl (.eam): one element; F(ρ), Z(r) and ρ(r), with
 *               φ(r) = 27.2 · 0.529 · Z(r)² / r (Hartree·bohr → eV·Å, as LAMMPS);
 *   "eam/alloy" setfl (.eam.alloy): N elements; F_i(ρ), ρ_i(r), r·φ_ij(r);
 *   "eam/fs"    Finnis–Sinclair (.eam.fs): as setfl, with a density function
 *               per element pair (ρ_{i→j}: density at a j atom from an i atom).
 * Tables are interpolated exactly as LAMMPS does (its cubic splines with 7
 * coefficients per grid point, F extrapolated linearly above the table's
 * ρ_max), so energies, forces and virials agree with LAMMPS's pair_style
 * eam, eam/alloy and eam/fs to rounding. Units: metal (eV, Å).
 *
 * The model computes energy, forces, virial (W_ab = dE/dε_ab) and energy
 * per atom (F_i(ρ_i) + ½ Σ_j φ_ij) for masked systems of any size, periodic
 * (any triclinic cell, smaller than the cutoff included), partly periodic or
 * open, with one half neighbor list per system; results do not depend on
 * the batch around a system or on when its list was rebuilt. */
#ifndef BATCHMD_MODEL_EAM_H
#define BATCHMD_MODEL_EAM_H

#include "model.h"
#include "status.h"

/* Reads the potential file `path` and returns a heap model (destroy with
 * bmd_model_destroy; ops->type is "eam").
 *   style: "eam", "eam/alloy", "eam/fs", or NULL to choose from the file
 *          name (*.eam.alloy / *.setfl -> eam/alloy, *.eam.fs -> eam/fs,
 *          other *.eam -> eam);
 *   skin:  Verlet-list skin, Å (>= 0; campaigns default to 0.5).
 * A path that does not exist is looked for in $LAMMPS_POTENTIALS (by its
 * base name), as LAMMPS does. Elements are matched by chemical symbol
 * (setfl/fs names, or the atomic number on the element's line when the name
 * is not a symbol; funcfl: the atomic number on line 2). A malformed file fails with BMD_ERR_PARSE and a
 * message "FILE:LINE: what (expected ...)"; an unreadable one with
 * BMD_ERR_IO. Atoms of an element the file lacks are refused by
 * check_system, which names the elements; compute treats them as
 * non-interacting. */
bmd_status bmd_model_eam_create(const char *path, const char *style, double skin, bmd_model **out);

/* pair_style eam with several funcfl files, one per element (LAMMPS's
 * `pair_coeff i i FILE_i`): the files are re-gridded on one grid (the
 * largest spacings and ranges), and the pair terms of unlike elements are
 * φ_ij = 27.2 · 0.529 · Z_i(r) Z_j(r) / r; the cutoff is the largest. Two
 * files for one element are refused. Otherwise as bmd_model_eam_create. */
bmd_status bmd_model_eam_create_funcfl(const char *const *paths, int n_paths, double skin, bmd_model **out);

/* Facts about an EAM model, for listings and tests. */
typedef struct bmd_eam_info {
    char style[16];       /* "eam", "eam/alloy" or "eam/fs" */
    int n_elements;
    int z[8];             /* atomic numbers of the first 8 elements, in file order
                           * (funcfl: in the order of the files) */
    double mass[8];       /* their masses from the file, amu */
    double cutoff;        /* Å */
} bmd_eam_info;

/* Fills *info for an EAM model (BMD_ERR_INVALID if m is not one). */
bmd_status bmd_model_eam_info(const bmd_model *m, bmd_eam_info *info);

#endif
