/* verlet.c — owns the per-system Verlet list's lifecycle: init/free, the
 * staleness test (neighbor.h: the two largest displacements since the last
 * build add up to more than the skin, or, after a cell change, the
 * deformation and the non-affine displacements reach into the skin, or the
 * pbc, atom count or range changed; split over threads for big systems,
 * same answer for any split), update (rebuild when stale, else new image
 * vectors after a cell change), and the build workspace's release. The
 * build itself is in build.c. */
#include "neighbor/neighbor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* systems of at least this many atoms check their displacements on all
 * threads (~1 ns per atom: a fork/join pays off only for very big systems) */
#define STALE_SPLIT_MIN 131072

void bmd__nlist_init(bmd__nlist *nl) { memset(nl, 0, sizeof *nl); }

void bmd__nlist_free(bmd__nlist *nl) {
    if (!nl) return;
    free(nl->start);
    free(nl->mid);
    free(nl->soff);
    free(nl->j);
    free(nl->shift);
    free(nl->shift_n);
    free(nl->shift_vec);
    free(nl->ref_pos);
    free(nl->t_start);
    free(nl->t_k);
    free(nl->t_e);
    free(nl->t_id);
    free(nl->keep);
    bmd__nlist_init(nl);
}

void bmd__nl_scratch_free(bmd__nl_scratch *s) {
    if (!s) return;
    free(s->wrap);
    free(s->bin);
    free(s->bin_atoms);
    free(s->slot);
    free(s->bx);
    free(s->bin_start);
    free(s->bin_max);
    for (int t = 0; t < s->n_thr; t++) {
        bmd__nl_thread *h = &s->thr[t];
        free(h->col);
        free(h->colv);
        free(h->st_t0);
        free(h->st_t1);
        free(h->st_img);
        free(h->st_vec);
        free(h->st_pos);
        free(h->acc);
        free(h->r0);
        free(h->r1);
        free(h->r1key);
        free(h->hkey);
        free(h->hval);
        free(h->keys);
        free(h->remap);
        free(h->out_j);
        free(h->out_s);
    }
    free(s->thr);
    free(s->hkey);
    free(s->hval);
    free(s->keys);
    free(s->order);
    free(s->rank);
    memset(s, 0, sizeof *s);
}

/* d² into the two largest so far (*m1 >= *m2) */
static void merge2(double d2, double *m1, double *m2) {
    if (d2 > *m2) {
        if (d2 > *m1) {
            *m2 = *m1;
            *m1 = d2;
        } else {
            *m2 = d2;
        }
    }
}

/* the two largest d² of atoms [i0, i1) since the build into *a1 >= *a2,
 * d the non-affine displacement x - x0 F (F NULL: the identity, d = x - x0);
 * returns 1 when one is beyond lim2 or not a number */
static int top2(const double *r, const double *pos, const double *F, int i0, int i1, double lim2, double *a1,
                double *a2) {
    int far = 0;
    double b1 = *a1, b2 = *a2;
    if (!F) {
        for (int i = i0; i < i1; i++) {
            double dx = pos[3 * i] - r[3 * i], dy = pos[3 * i + 1] - r[3 * i + 1], dz = pos[3 * i + 2] - r[3 * i + 2];
            double d2 = dx * dx + dy * dy + dz * dz;
            far |= !(d2 <= lim2); /* also catches NaN */
            merge2(d2, &b1, &b2);
        }
    } else {
        for (int i = i0; i < i1; i++) {
            const double x = r[3 * i], y = r[3 * i + 1], z = r[3 * i + 2];
            double dx = pos[3 * i] - (x * F[0] + y * F[3] + z * F[6]);
            double dy = pos[3 * i + 1] - (x * F[1] + y * F[4] + z * F[7]);
            double dz = pos[3 * i + 2] - (x * F[2] + y * F[5] + z * F[8]);
            double d2 = dx * dx + dy * dy + dz * dz;
            far |= !(d2 <= lim2);
            merge2(d2, &b1, &b2);
        }
    }
    *a1 = b1;
    *a2 = b2;
    return far;
}

/* 1 when the two largest displacements (F: non-affine ones) of the n atoms
 * add up to more than lim */
static int moved_too_far(const bmd__nlist *nl, int n, const double *pos, const double *F, double lim) {
    const double lim2 = lim * lim;
    double m1 = 0.0, m2 = 0.0; /* the two largest d² (max is exact: any split gives them) */
    int far = 0;
#ifdef _OPENMP
    /* (a small system: no parallel construct at all; even an inactive one
     * nested in the model's loop over systems makes libgomp allocate a
     * team, on every step) */
    if (n >= STALE_SPLIT_MIN && !omp_in_parallel()) {
#pragma omp parallel reduction(| : far)
        {
            double a1 = 0.0, a2 = 0.0;
            const int nt = omp_get_num_threads(), t = omp_get_thread_num();
            far |= top2(nl->ref_pos, pos, F, (int)((long)t * n / nt), (int)((long)(t + 1) * n / nt), lim2, &a1,
                        &a2);
#pragma omp critical(bmd__nl_stale)
            {
                merge2(a1, &m1, &m2);
                merge2(a2, &m1, &m2);
            }
        }
    } else
#endif
    {
        double a1 = 0.0, a2 = 0.0;
        far = top2(nl->ref_pos, pos, F, 0, n, lim2, &a1, &a2);
        merge2(a1, &m1, &m2);
        merge2(a2, &m1, &m2);
    }
    if (far) return 1;
    return sqrt(m1) + sqrt(m2) > lim;
}

/* the bases' periodic vectors are the same bits (so F would be I) */
static int same_basis(const bmd__nl_basis *a, const bmd__nl_basis *b) {
    return memcmp(a->B, b->B, sizeof a->B) == 0;
}

int bmd__nlist_stale(const bmd__nlist *nl, int n, const double *pos, const double *cell,
                     const unsigned char *pbc, double cutoff, double skin) {
    if (!nl->built || nl->n_atoms != n || nl->cutoff != cutoff || nl->skin != skin) return 1;
    for (int k = 0; k < 3; k++)
        if ((nl->ref_pbc[k] != 0) != (pbc[k] != 0)) return 1;
    /* Same cell: a pair within the cutoff now was within cutoff + d_i + d_j
     * at the build (d: displacements since), so the list holds every such
     * pair while the two largest displacements add up to at most the skin —
     * LAMMPS's test (any d > skin/2) is the special case d_i = d_j; this one
     * rebuilds less often. Images of one atom keep their distance. */
    if (memcmp(nl->ref_cell, cell, sizeof nl->ref_cell) == 0) return moved_too_far(nl, n, pos, NULL, skin);
    /* Another cell: the deformation test of neighbor.h. A degenerate cell
     * is rebuilt, and the build reports it. */
    bmd__nl_basis b0, b1;
    if (bmd__nl_basis_make(cell, pbc, &b1) || bmd__nl_basis_make(nl->ref_cell, pbc, &b0)) return 1;
    if (same_basis(&b0, &b1)) /* only ignored (non-periodic) cell vectors changed */
        return moved_too_far(nl, n, pos, NULL, skin);
    double F[9], smin, smax;
    bmd__nl_deformation(&b0, &b1, F, &smin, &smax);
    if (!(smin >= 1.0 - BMD__NL_MAX_STRAIN && smax <= 1.0 + BMD__NL_MAX_STRAIN)) return 1;
    /* allowed sum of the two largest non-affine displacements; the slack
     * covers the rounding of F, s and x0 F (a few ulps of |x|) */
    const double s = smin < 1.0 ? smin : 1.0, rl = cutoff + skin;
    const double lim = s * rl - cutoff - 1e-12 * (rl + nl->ref_xmax);
    if (!(lim >= 0.0)) return 1;
    return moved_too_far(nl, n, pos, F, lim);
}

/* a kept list's image vectors for cell (same bits as a build's) */
static void rescale(bmd__nlist *nl, const double *cell) {
    const int per[3] = {nl->ref_pbc[0] != 0, nl->ref_pbc[1] != 0, nl->ref_pbc[2] != 0};
    for (int t = 0; t < nl->n_shifts; t++) bmd__nl_image_vec(nl->shift_n + 3 * t, cell, per, nl->shift_vec + 3 * t);
    memcpy(nl->cell, cell, sizeof nl->cell);
    nl->n_rescales++;
}

bmd__nl_result bmd__nlist_update(bmd__nlist *nl, bmd__nl_scratch *scr, int n, const double *pos,
                                 const double *cell, const unsigned char *pbc, double cutoff,
                                 double skin, int *rebuilt) {
    if (rebuilt) *rebuilt = 0;
    if (!bmd__nlist_stale(nl, n, pos, cell, pbc, cutoff, skin)) {
        if (memcmp(nl->cell, cell, sizeof nl->cell) != 0) rescale(nl, cell);
        return BMD__NL_OK;
    }
    if (rebuilt) *rebuilt = 1;
    return bmd__nlist_build(nl, scr, n, pos, cell, pbc, cutoff, skin);
}
