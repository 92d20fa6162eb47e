/* cuda_host.c — owns the host-side preparation of the CUDA backend that
 * needs no CUDA (compiled in every build, so the CPU tests check it): the
 * pair type table built as src/models/pair.c builds it, a system's
 * list-build geometry from src/neighbor's binning basis, and the checks of
 * a stage the engine is given. */
#include "cuda/cuda_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/hd_dynamics.h"
#include "neighbor/neighbor.h"

static int same_pair(const bmd_pair_params *p, int a, int b) {
    return (p->z1 == a && p->z2 == b) || (p->z1 == b && p->z2 == a);
}

bmd_status bmd__cuda_pair_table_make(bmd_cuda_pair_kind kind, const bmd_pair_params *pairs, int n_pairs,
                                     const bmd_pair_options *opt, bmd__cuda_pair_table *t) {
    if (!t) return bmd__fail(BMD_ERR_INVALID, "cuda pair table: out is NULL");
    memset(t, 0, sizeof *t);
    /* the CPU constructor's checks and messages */
    bmd_model *m = NULL;
    bmd_status st = kind == BMD_CUDA_MORSE ? bmd_model_morse_create(pairs, n_pairs, opt, &m)
                                           : bmd_model_lj_create(pairs, n_pairs, opt, &m);
    if (st) return st;
    bmd_model_destroy(m);
    t->kind = kind == BMD_CUDA_MORSE ? BMD_HD_MORSE : BMD_HD_LJ;
    t->skin = opt->skin;
    unsigned char seen[BMD_N_ELEMENTS] = {0};
    for (int a = 0; a < n_pairs; a++) {
        seen[pairs[a].z1] = 1;
        seen[pairs[a].z2] = 1;
    }
    int K = 0, type_z[BMD_N_ELEMENTS];
    for (int z = 0; z < BMD_N_ELEMENTS; z++) t->ztype[z] = -1;
    for (int z = 1; z < BMD_N_ELEMENTS; z++)
        if (seen[z]) {
            t->ztype[z] = K;
            type_z[K++] = z;
        }
    type_z[K] = 0;
    for (int z = 0; z < BMD_N_ELEMENTS; z++)
        if (t->ztype[z] < 0) t->ztype[z] = K;
    const int T = K + 1;
    t->ntypes = T;
    t->coef = calloc((size_t)T * T * BMD_HD_NCOEF, sizeof(double));
    if (!t->coef) return bmd__fail(BMD_ERR_NOMEM, "out of memory for the cuda pair table");
    for (int ta = 0; ta < T; ta++)
        for (int tb = 0; tb < T; tb++) {
            const int za = type_z[ta], zb = type_z[tb];
            const bmd_pair_params *p = NULL, *dflt = NULL;
            for (int a = 0; a < n_pairs; a++) {
                if (pairs[a].z1 == 0) dflt = &pairs[a];
                else if (za && zb && same_pair(&pairs[a], za, zb)) p = &pairs[a];
            }
            if (!p && opt->has_default) p = dflt;
            if (!p) continue; /* rc² = 0: never interacts */
            double *c = t->coef + ((size_t)ta * T + tb) * BMD_HD_NCOEF;
            bmd_hd_pair_coef(t->kind, p->p, c);
            bmd_hd_pair_finish(t->kind, p->cutoff, opt->shift != 0, c);
            if (p->cutoff > t->max_cutoff) t->max_cutoff = p->cutoff;
        }
    return BMD_OK;
}

void bmd__cuda_pair_table_free(bmd__cuda_pair_table *t) {
    if (!t) return;
    free(t->coef);
    t->coef = NULL;
}

int bmd__cuda_geom_make(const double *cell, const unsigned char *pbc, double range, bmd_hd_geom *g) {
    bmd__nl_basis B;
    memset(g, 0, sizeof *g);
    if (bmd__nl_basis_make(cell, pbc, &B)) return 1;
    memcpy(g->cell, cell, sizeof g->cell);
    memcpy(g->binv, B.Binv, sizeof g->binv);
    for (int k = 0; k < 3; k++) {
        g->pbc[k] = pbc[k] != 0;
        g->m[k] = g->pbc[k] ? (int)ceil(range / B.width[k] + 0.5) : 0;
        if (g->m[k] > 500) return 1; /* far thinner than the range: images would not pack */
    }
    /* cell lists where the cell holds 3 bins of width >= range per axis */
    int cells = 1;
    for (int k = 0; k < 3; k++) {
        const double nb = floor(B.width[k] / range);
        g->nbin[k] = nb >= 3 && nb < 1024 ? (int)nb : 0;
        cells = cells && g->pbc[k] && g->nbin[k];
    }
    if (!cells) g->nbin[0] = g->nbin[1] = g->nbin[2] = 0;
    return 0;
}

bmd_status bmd__cuda_stage_check(const bmd_cuda_substage *sub, int n_sub) {
    if (n_sub < 0 || n_sub > BMD_CUDA_MAX_SUB)
        return bmd__fail(BMD_ERR_INVALID, "cuda engine: %d sub-stages (at most %d)", n_sub, BMD_CUDA_MAX_SUB);
    for (int k = 0; k < n_sub; k++) {
        const double *p = sub[k].params;
        if (sub[k].kind < BMD_CUDA_NVE || sub[k].kind > BMD_CUDA_NOSE_HOOVER || !(p[0] > 0) ||
            (sub[k].kind == BMD_CUDA_NOSE_HOOVER &&
             !(p[3] >= 1 && p[3] <= BMD_HD_NH_MAX && p[3] == floor(p[3]))))
            return bmd__fail(BMD_ERR_INVALID, "cuda engine: sub-stage %d: unknown kind, dt <= 0 or a bad chain", k);
        /* FIRE: dt..a are 0..8, then filter, pressure, mask; FIRE2: dt..initialdelay 0..10, then filter */
        const int cell = sub[k].kind == BMD_CUDA_FIRE ? 9 : sub[k].kind == BMD_CUDA_FIRE2 ? 11 : -1;
        if (cell < 0) continue;
        int moving = p[cell] != 0;
        if (cell + 1 < BMD_CUDA_NPAR) moving |= p[cell + 1] != 0;
        if (cell + 2 < BMD_CUDA_NPAR) moving |= p[cell + 2] != 0 && p[cell + 2] != 63;
        if (moving)
            return bmd__fail(BMD_ERR_UNSUPPORTED,
                             "cuda engine: sub-stage %d: variable-cell relaxation (a cell filter, a target pressure "
                             "or mask) runs on the CPU only; the device relaxes fixed cells",
                             k);
    }
    return BMD_OK;
}
