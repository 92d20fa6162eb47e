/* atom_order.c — owns the spatial order of a system's atoms (atom_order.h):
 * a counting sort of the atoms by bin, stable in the atom index, with the
 * lattice image of each atom. */
#include "neighbor/atom_order.h"

#include <math.h>
#include <stdlib.h>

#include "neighbor/neighbor.h"

/* at most this many bins per axis (and ~2 per atom in all) */
#define AXIS_BINS_MAX 1024

long bmd__order_every(void) {
    const char *e = getenv("BATCHMD_ORDER_EVERY");
    if (!e || !*e) return BMD__ORDER_EVERY_DEFAULT;
    char *end;
    long v = strtol(e, &end, 10);
    return (*end || v < 0) ? BMD__ORDER_EVERY_DEFAULT : v;
}

const double *bmd__order_find(const bmd_batch *b, const double **version) {
    const int c = bmd_batch_find_column(b, BMD__ORDER_COLUMN), v = bmd_batch_find_column(b, BMD__ORDER_VERSION_COLUMN);
    *version = NULL;
    if (c < 0 || v < 0 || !b->columns[c].per_atom || b->columns[c].width != BMD__ORDER_WIDTH ||
        b->columns[v].per_atom || b->columns[v].width != 1)
        return NULL;
    *version = bmd_batch_column_data(b, v);
    return bmd_batch_column_data(b, c);
}

int bmd__order_atoms(int n, const double *pos, const double *cell, const unsigned char *pbc, double bin,
                     double *order) {
    if (n <= 0) return 0;
    if (!(bin > 0) || !isfinite(bin)) return 1;
    bmd__nl_basis g;
    if (bmd__nl_basis_make(cell, pbc, &g)) return 1;
    /* fractional coordinates' span per axis: [0,1) on periodic axes, the
     * atoms' extent on the others */
    double lo[3] = {0, 0, 0}, hi[3] = {1, 1, 1};
    for (int k = 0; k < 3; k++)
        if (!g.periodic[k]) {
            lo[k] = INFINITY;
            hi[k] = -INFINITY;
        }
    for (int i = 0; i < n; i++) {
        const double *p = pos + 3 * (size_t)i;
        for (int k = 0; k < 3; k++) {
            double f = p[0] * g.Binv[k] + p[1] * g.Binv[3 + k] + p[2] * g.Binv[6 + k];
            if (!isfinite(f)) return 1;
            if (!g.periodic[k]) {
                if (f < lo[k]) lo[k] = f;
                if (f > hi[k]) hi[k] = f;
            }
        }
    }
    int nb[3];
    long total = 1;
    for (int k = 0; k < 3; k++) {
        double len = (hi[k] - lo[k]) * g.width[k]; /* Å */
        double m = floor(len / bin);
        nb[k] = m < 1 ? 1 : (m > AXIS_BINS_MAX ? AXIS_BINS_MAX : (int)m);
        total *= nb[k];
    }
    while (total > 2L * n + 8) { /* a sparse system: coarser bins */
        for (int k = 0; k < 3; k++) nb[k] = nb[k] > 1 ? (nb[k] + 1) / 2 : 1;
        total = (long)nb[0] * nb[1] * nb[2];
    }
    int *bin_of = malloc((size_t)n * sizeof(int) * 4);
    int *start = calloc((size_t)total + 1, sizeof(int));
    if (!bin_of || !start) {
        free(bin_of);
        free(start);
        return 1;
    }
    int *img = bin_of + n; /* [3n] */
    for (int i = 0; i < n; i++) {
        const double *p = pos + 3 * (size_t)i;
        int c[3];
        for (int k = 0; k < 3; k++) {
            double f = p[0] * g.Binv[k] + p[1] * g.Binv[3 + k] + p[2] * g.Binv[6 + k];
            double w = g.periodic[k] ? floor(f) : 0.0;
            if (fabs(w) > BMD__NL_WRAP_MAX) {
                free(bin_of);
                free(start);
                return 1;
            }
            img[3 * (size_t)i + k] = (int)w;
            double u = g.periodic[k] ? f - w : (hi[k] > lo[k] ? (f - lo[k]) / (hi[k] - lo[k]) : 0.0);
            int b = (int)(u * nb[k]);
            c[k] = b < 0 ? 0 : (b >= nb[k] ? nb[k] - 1 : b);
        }
        bin_of[i] = (c[0] * nb[1] + c[1]) * nb[2] + c[2];
        start[bin_of[i] + 1]++;
    }
    for (long b = 0; b < total; b++) start[b + 1] += start[b];
    for (int i = 0; i < n; i++) {
        double *row = order + BMD__ORDER_WIDTH * (size_t)start[bin_of[i]]++;
        int *w = img + 3 * (size_t)i;
        if (abs(w[0]) >= BMD__ORDER_IMAGE_MAX || abs(w[1]) >= BMD__ORDER_IMAGE_MAX || abs(w[2]) >= BMD__ORDER_IMAGE_MAX)
            w[0] = w[1] = w[2] = 0; /* (absurdly far: left where it is) */
        row[0] = (double)i + 1.0;
        row[1] = bmd__order_pack_images(w);
    }
    free(bin_of);
    free(start);
    return 0;
}
