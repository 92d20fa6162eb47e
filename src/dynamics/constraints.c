/* constraints.c — owns the constraints the stage applies around every
 * dynamics (constraints.h): zero forces on fixed atoms while the dynamics
 * run, fixed atoms put back (with the cell's affine map) and at rest after
 * every update, and the free atoms' centre-of-mass momentum removed
 * (fix_com). Per-system sums run in atom order. */
#include "dynamics/constraints.h"
#include "dynamics/dynamics_internal.h"

#include <stdlib.h>
#include <string.h>

void bmd__hold_free(bmd__hold *h) {
    free(h->force);
    free(h->pos);
    free(h->cell);
    memset(h, 0, sizeof *h);
}

static bmd_status grow(bmd__hold *h, const bmd_batch *b) {
    if (b->n_atoms > h->cap_atoms) {
        int cap = b->cap_atoms > b->n_atoms ? b->cap_atoms : b->n_atoms;
        double *f = realloc(h->force, 3 * (size_t)cap * sizeof *f);
        if (f) h->force = f;
        double *x = f ? realloc(h->pos, 3 * (size_t)cap * sizeof *x) : NULL;
        if (x) h->pos = x;
        if (!f || !x) return bmd__fail(BMD_ERR_NOMEM, "out of memory holding fixed atoms");
        h->cap_atoms = cap;
    }
    if (b->n_systems > h->cap_systems) {
        int cap = b->cap_systems > b->n_systems ? b->cap_systems : b->n_systems;
        double *c = realloc(h->cell, 9 * (size_t)cap * sizeof *c);
        if (!c) return bmd__fail(BMD_ERR_NOMEM, "out of memory holding fixed atoms");
        h->cell = c;
        h->cap_systems = cap;
    }
    return BMD_OK;
}

/* The batch's fixed-atom rows (all slots), NULL when no atom is fixed. */
static const double *fixed_rows(const bmd_batch *b) {
    int c = bmd_batch_find_column(b, BMD_FIXED_COLUMN);
    return c >= 0 && b->columns[c].per_atom && b->columns[c].width == 1 ? b->columns[c].data : NULL;
}

bmd_status bmd__hold_forces(bmd__hold *h, bmd_batch *b, const unsigned char *mask) {
    const double *fx = fixed_rows(b);
    if (!fx) return BMD_OK;
    bmd_status rc = grow(h, b);
    if (rc) return rc;
    for (int s = 0; s < b->n_systems; s++) {
        if (!mask[s]) continue;
        for (int a = b->atom_start[s]; a < b->atom_start[s] + b->atom_count[s]; a++) {
            if (fx[a] == 0) continue;
            double *f = b->force + 3 * (size_t)a;
            memcpy(h->force + 3 * (size_t)a, f, 3 * sizeof *f);
            f[0] = f[1] = f[2] = 0.0;
        }
    }
    return BMD_OK;
}

void bmd__release_forces(const bmd__hold *h, bmd_batch *b, const unsigned char *mask) {
    const double *fx = fixed_rows(b);
    if (!fx) return;
    for (int s = 0; s < b->n_systems; s++) {
        if (!mask[s]) continue;
        for (int a = b->atom_start[s]; a < b->atom_start[s] + b->atom_count[s]; a++)
            if (fx[a] != 0) memcpy(b->force + 3 * (size_t)a, h->force + 3 * (size_t)a, 3 * sizeof(double));
    }
}

bmd_status bmd__hold_positions(bmd__hold *h, const bmd_batch *b, const unsigned char *mask) {
    const double *fx = fixed_rows(b);
    if (!fx) return BMD_OK;
    bmd_status rc = grow(h, b);
    if (rc) return rc;
    for (int s = 0; s < b->n_systems; s++) {
        if (!mask[s]) continue;
        memcpy(h->cell + 9 * (size_t)s, b->cell + 9 * (size_t)s, 9 * sizeof(double));
        for (int a = b->atom_start[s]; a < b->atom_start[s] + b->atom_count[s]; a++)
            if (fx[a] != 0) memcpy(h->pos + 3 * (size_t)a, b->pos + 3 * (size_t)a, 3 * sizeof(double));
    }
    return BMD_OK;
}

/* M = C_old⁻¹ C_new (rows are the cell vectors, so x_new = x_old M, as
 * ASE's set_cell(scale_atoms=True)); 0 when C_old is singular. */
static int cell_map(const double *c0, const double *c1, double *m) {
    const double det = c0[0] * (c0[4] * c0[8] - c0[5] * c0[7]) - c0[1] * (c0[3] * c0[8] - c0[5] * c0[6]) +
                       c0[2] * (c0[3] * c0[7] - c0[4] * c0[6]);
    if (!(det != 0) || !isfinite(det)) return 0;
    double inv[9] = {(c0[4] * c0[8] - c0[5] * c0[7]) / det, (c0[2] * c0[7] - c0[1] * c0[8]) / det,
                     (c0[1] * c0[5] - c0[2] * c0[4]) / det, (c0[5] * c0[6] - c0[3] * c0[8]) / det,
                     (c0[0] * c0[8] - c0[2] * c0[6]) / det, (c0[2] * c0[3] - c0[0] * c0[5]) / det,
                     (c0[3] * c0[7] - c0[4] * c0[6]) / det, (c0[1] * c0[6] - c0[0] * c0[7]) / det,
                     (c0[0] * c0[4] - c0[1] * c0[3]) / det};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            m[3 * i + j] = inv[3 * i] * c1[j] + inv[3 * i + 1] * c1[3 + j] + inv[3 * i + 2] * c1[6 + j];
    return 1;
}

void bmd__restore_positions(const bmd__hold *h, bmd_batch *b, const unsigned char *mask) {
    const double *fx = fixed_rows(b);
    if (!fx) return;
    for (int s = 0; s < b->n_systems; s++) {
        if (!mask[s]) continue;
        const double *c0 = h->cell + 9 * (size_t)s, *c1 = b->cell + 9 * (size_t)s;
        double m[9];
        /* a cell left alone (bit for bit): the atom goes back exactly */
        int moved = memcmp(c0, c1, 9 * sizeof(double)) != 0 && cell_map(c0, c1, m);
        for (int a = b->atom_start[s]; a < b->atom_start[s] + b->atom_count[s]; a++) {
            if (fx[a] == 0) continue;
            const double *x0 = h->pos + 3 * (size_t)a;
            double *x = b->pos + 3 * (size_t)a, *v = b->vel + 3 * (size_t)a;
            if (moved)
                for (int j = 0; j < 3; j++) x[j] = x0[0] * m[j] + x0[1] * m[3 + j] + x0[2] * m[6 + j];
            else memcpy(x, x0, 3 * sizeof *x);
            v[0] = v[1] = v[2] = 0.0;
        }
    }
}

void bmd__rest_fixed(bmd_batch *b, const unsigned char *mask) {
    const double *fx = fixed_rows(b);
    if (!fx) return;
    for (int s = 0; s < b->n_systems; s++) {
        if (!mask[s]) continue;
        for (int a = b->atom_start[s]; a < b->atom_start[s] + b->atom_count[s]; a++)
            if (fx[a] != 0) b->vel[3 * (size_t)a] = b->vel[3 * (size_t)a + 1] = b->vel[3 * (size_t)a + 2] = 0.0;
    }
}

void bmd__remove_com_momentum(bmd_batch *b, const unsigned char *mask) {
    const double *fx = fixed_rows(b);
    const int ns = b->n_systems;
    BMD__OMP_FOR_SYSTEMS(bmd__parallel(b))
    for (int s = 0; s < ns; s++) {
        if (!mask[s]) continue;
        const int a0 = b->atom_start[s], a1 = a0 + b->atom_count[s];
        double p[3] = {0, 0, 0}, mass = 0;
        for (int a = a0; a < a1; a++) {
            if (fx && fx[a] != 0) continue;
            mass += b->mass[a];
            for (int d = 0; d < 3; d++) p[d] += b->mass[a] * b->vel[3 * (size_t)a + d];
        }
        if (!(mass > 0)) continue;
        for (int d = 0; d < 3; d++) p[d] /= mass;
        for (int a = a0; a < a1; a++) {
            if (fx && fx[a] != 0) continue;
            for (int d = 0; d < 3; d++) b->vel[3 * (size_t)a + d] -= p[d];
        }
    }
}
