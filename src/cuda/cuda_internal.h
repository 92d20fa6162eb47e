/* cuda_internal.h — internal (not installed): what the CUDA backend's host C
 * files and its .cu drivers share, in plain C: the pair type table (the
 * dense types and coefficients of src/models/pair.c, built from the same
 * parameters) and the geometry of a system for the list build. No CUDA
 * header here: only the .cu files include cuda_runtime.h. */
#ifndef BATCHMD_CUDA_INTERNAL_H
#define BATCHMD_CUDA_INTERNAL_H

#include "batchmd/cuda.h"
#include "batchmd/elements.h"
#include "cuda/hd_pair.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bmd__cuda_pair_table {
    int kind;                   /* BMD_HD_LJ, BMD_HD_MORSE */
    int ntypes;                 /* listed species + 1 ("any other") */
    int ztype[BMD_N_ELEMENTS];  /* Z -> dense type */
    double *coef;               /* [ntypes² * BMD_HD_NCOEF] (malloc'd) */
    double max_cutoff, skin;    /* Å */
} bmd__cuda_pair_table;

/* Builds the table of the pair model bmd_model_{lj,morse}_create(pairs,
 * n_pairs, opt) would build (its constructor checks the parameters first and
 * its message is kept). Free with bmd__cuda_pair_table_free. */
bmd_status bmd__cuda_pair_table_make(bmd_cuda_pair_kind kind, const bmd_pair_params *pairs, int n_pairs,
                                     const bmd_pair_options *opt, bmd__cuda_pair_table *t);
void bmd__cuda_pair_table_free(bmd__cuda_pair_table *t);

/* The list-build geometry of a system (cell rows, pbc) for neighbor range
 * `range` (cutoff + skin, Å). Returns 1 when a periodic axis is degenerate. */
int bmd__cuda_geom_make(const double *cell, const unsigned char *pbc, double range, bmd_hd_geom *g);

/* The checks of bmd_cuda_engine_set_stage on sub[n_sub] (host C, so that
 * CPU builds test them): a known kind, dt > 0, Nosé–Hoover's chain 1..10,
 * and no cell filter or pressure for FIRE and FIRE2 (cuda.h). */
bmd_status bmd__cuda_stage_check(const bmd_cuda_substage *sub, int n_sub);

#ifdef __cplusplus
}
#endif

#endif
