/* constraints.h — the constraints the stage applies around every dynamics
 * (dynamics.h, "Constraints"): fixed atoms (ASE's FixAtoms: batch.h's
 * BMD_FIXED_COLUMN) and the centre-of-mass momentum held at zero (ASE's
 * FixCom, the stage's fix_com). Internal to src/dynamics.
 *
 * Every function acts on the masked systems only, and on a system without
 * fixed atoms changes nothing (not a bit) but where fix_com asks for it. */
#ifndef BATCHMD_DYNAMICS_CONSTRAINTS_H
#define BATCHMD_DYNAMICS_CONSTRAINTS_H

#include "batchmd/batch.h"
#include "batchmd/status.h"

/* What the stage keeps of fixed atoms across one dynamics call (grows with
 * the batch: no allocation per step in steady state). Rows are indexed by
 * the batch's atom and slot indices. */
typedef struct bmd__hold {
    int cap_atoms, cap_systems;
    double *force; /* [3 cap_atoms] the model's forces on fixed atoms */
    double *pos;   /* [3 cap_atoms] fixed atoms' positions before an update, Å */
    double *cell;  /* [9 cap_systems] cells before an update, Å */
} bmd__hold;

void bmd__hold_free(bmd__hold *h);

/* Forces as the dynamics see them: zero on the fixed atoms of the masked
 * systems (ASE's FixAtoms.adjust_forces), the model's kept in h. */
bmd_status bmd__hold_forces(bmd__hold *h, bmd_batch *b, const unsigned char *mask);
/* The model's forces back on those atoms (after the dynamics' call). */
void bmd__release_forces(const bmd__hold *h, bmd_batch *b, const unsigned char *mask);

/* Keeps the fixed atoms' positions and the cells of the masked systems
 * (before an update). */
bmd_status bmd__hold_positions(bmd__hold *h, const bmd_batch *b, const unsigned char *mask);
/* After the update: each fixed atom back where bmd__hold_positions found it,
 * carried affinely with the cell when the update changed the cell (x ←
 * x_old C_old⁻¹ C_new, ASE's set_cell(scale_atoms=True)), and at rest. */
void bmd__restore_positions(const bmd__hold *h, bmd_batch *b, const unsigned char *mask);

/* Fixed atoms of the masked systems at rest (ASE's FixAtoms.adjust_momenta). */
void bmd__rest_fixed(bmd_batch *b, const unsigned char *mask);
/* The free atoms' total momentum of the masked systems removed: v_i −=
 * Σ m v / Σ m over free atoms (ASE's FixCom.adjust_momenta; fixed atoms
 * are at rest). A system with no free mass is left alone. */
void bmd__remove_com_momentum(bmd_batch *b, const unsigned char *mask);

#endif
