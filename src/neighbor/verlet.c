/* verlet.c — owns the per-system Verlet list's lifecycle: init/free, the
 * staleness test (the two largest displacements since the last build add up
 * to more than the skin, or the cell, pbc, atom count or range changed),
 * update (rebuild when stale), and the build workspace's release. The build
 * itself is in build.c. */
#include "neighbor/neighbor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void bmd__nlist_init(bmd__nlist *nl) { memset(nl, 0, sizeof *nl); }

void bmd__nlist_free(bmd__nlist *nl) {
    if (!nl) return;
    free(nl->start);
    free(nl->mid);
    free(nl->j);
    free(nl->shift);
    free(nl->shift_n);
    free(nl->shift_vec);
    free(nl->ref_pos);
    bmd__nlist_init(nl);
}

void bmd__nl_scratch_free(bmd__nl_scratch *s) {
    if (!s) return;
    free(s->frac);
    free(s->wrap);
    free(s->bin);
    free(s->bin_atoms);
    free(s->bin_start);
    free(s->hkey);
    free(s->hval);
    free(s->keys);
    free(s->remap);
    free(s->order);
    free(s->bx);
    free(s->bw);
    free(s->count);
    free(s->st_t0);
    free(s->st_t1);
    free(s->accept);
    free(s->st_img);
    free(s->st_vec);
    free(s->p_own);
    free(s->p_par);
    free(s->p_sid);
    free(s->q_own);
    free(s->q_par);
    free(s->q_sid);
    memset(s, 0, sizeof *s);
}

int bmd__nlist_stale(const bmd__nlist *nl, int n, const double *pos, const double *cell,
                     const unsigned char *pbc, double cutoff, double skin) {
    if (!nl->built || nl->n_atoms != n || nl->cutoff != cutoff || nl->skin != skin) return 1;
    if (memcmp(nl->ref_cell, cell, sizeof nl->ref_cell) != 0) return 1;
    for (int k = 0; k < 3; k++)
        if ((nl->ref_pbc[k] != 0) != (pbc[k] != 0)) return 1;
    /* A pair within the cutoff now was within cutoff + d_i + d_j at the
     * build (d: displacements since), so the list holds every such pair while
     * the two largest displacements add up to at most the skin — LAMMPS's
     * test (any d > skin/2) is the special case d_i = d_j; this one rebuilds
     * less often. Images of one atom keep their distance (same cell). */
    const double skin2 = skin * skin;
    double m1 = 0.0, m2 = 0.0; /* the two largest d² */
    const double *r = nl->ref_pos;
    for (int i = 0; i < 3 * n; i += 3) {
        double dx = pos[i] - r[i], dy = pos[i + 1] - r[i + 1], dz = pos[i + 2] - r[i + 2];
        double d2 = dx * dx + dy * dy + dz * dz;
        if (!(d2 <= skin2)) return 1; /* also catches NaN */
        if (d2 > m2) {
            if (d2 > m1) {
                m2 = m1;
                m1 = d2;
            } else {
                m2 = d2;
            }
        }
    }
    if (sqrt(m1) + sqrt(m2) > skin) return 1;
    return 0;
}

bmd__nl_result bmd__nlist_update(bmd__nlist *nl, bmd__nl_scratch *scr, int n, const double *pos,
                                 const double *cell, const unsigned char *pbc, double cutoff,
                                 double skin, int *rebuilt) {
    if (rebuilt) *rebuilt = 0;
    if (!bmd__nlist_stale(nl, n, pos, cell, pbc, cutoff, skin)) return BMD__NL_OK;
    if (rebuilt) *rebuilt = 1;
    return bmd__nlist_build(nl, scr, n, pos, cell, pbc, cutoff, skin);
}
