/* atom_order.h — internal (crosses files, not installed): a spatial order of
 * one system's atoms, for the locality of neighbor-list builds and force
 * kernels. LAMMPS sorts its atoms by bin every 1000 steps (atom_modify
 * sort); without it, atoms that diffuse scatter in memory and a list build
 * costs up to three times as much (its index-ordered pruning finds half the
 * stencil empty only while the index order is spatial). batchmd keeps the
 * batch's atom order (outputs, hooks, RNG streams and hand-over see the
 * input's order); instead the stage writes a permutation into a per-atom
 * column, and pair models gather positions through it, build their list and
 * run their kernel in that order, and scatter the forces back. The gathered
 * positions are also wrapped: each atom moved by the lattice vector that
 * brought it into the cell when the order was made (a fixed vector until
 * the next order), so that pairs of atoms that diffused across the cell's
 * faces do not all become pairs between images (slower to build and to
 * compute: a liquid's list went from 27 % to 53 % imaged pairs in 4000
 * steps).
 *
 * The order is a function of the positions at fixed steps of a system's own
 * sub-stage step count (every bmd__order_every() steps: 200 by default, as
 * it moves no atoms it is cheap; never at step 0), and
 * it is dropped when a system enters a sub-stage: so forces depend only on
 * the system's own history (not on its batch, the thread count, a resume
 * from a checkpoint — the column is saved with the batch — or whether a
 * next stage runs fused or on another rank), and runs shorter than
 * that many steps are unchanged to the bit.
 *
 * Columns (created by the stage):
 *   BMD__ORDER_COLUMN          per atom, 2 wide: at place k, 1 + the index
 *                              of the atom there, and its lattice image
 *                              (n0, n1, n2) packed (bmd__order_images): the
 *                              gathered position is
 *                              pos - ((n0 a + n1 b) + n2 c); 0 (the whole
 *                              system): no order
 *   BMD__ORDER_VERSION_COLUMN  per system: changes with each new order (a
 *                              model rebuilds its list when it does) */
#ifndef BATCHMD_ATOM_ORDER_H
#define BATCHMD_ATOM_ORDER_H

#include <math.h>

#include "batchmd/batch.h"

#define BMD__ORDER_COLUMN "stage.order"
#define BMD__ORDER_VERSION_COLUMN "stage.order_version"
#define BMD__ORDER_WIDTH 2 /* doubles per atom of BMD__ORDER_COLUMN */
#define BMD__ORDER_EVERY_DEFAULT 200

/* The batch's order column (BMD__ORDER_WIDTH per atom) and, in *version,
 * its per-system versions; NULL (and *version NULL) when the batch has none
 * of that shape. */
const double *bmd__order_find(const bmd_batch *b, const double **version);

/* Lattice images packed into one double (17 bits each, exact): |n| <
 * BMD__ORDER_IMAGE_MAX; an atom farther out keeps its position (image 0) */
#define BMD__ORDER_IMAGE_MAX 65536
static inline double bmd__order_pack_images(const int *img) {
    const double M = 2.0 * BMD__ORDER_IMAGE_MAX;
    return ((double)(img[0] + BMD__ORDER_IMAGE_MAX) * M + (double)(img[1] + BMD__ORDER_IMAGE_MAX)) * M +
           (double)(img[2] + BMD__ORDER_IMAGE_MAX);
}
static inline void bmd__order_images(double packed, double *img) {
    const double M = 2.0 * BMD__ORDER_IMAGE_MAX;
    double q = floor(packed / M), r = packed - q * M;
    img[2] = r - BMD__ORDER_IMAGE_MAX;
    double q2 = floor(q / M);
    img[1] = (q - q2 * M) - BMD__ORDER_IMAGE_MAX;
    img[0] = q2 - BMD__ORDER_IMAGE_MAX;
}

/* Steps between orders: BMD__ORDER_EVERY_DEFAULT, or the environment's
 * BATCHMD_ORDER_EVERY (a test and benchmark switch; 0: never). */
long bmd__order_every(void);

/* order[2k] = 1 + the index of the atom at place k, order[2k+1] its lattice
 * image packed (floor of its fractional coordinates on periodic axes, 0 on
 * the others): atoms by bin (bins about
 * `bin` Å thick along each axis of the binning basis, over the cell on
 * periodic axes (wrapped), over the atoms' extent on the others; flat bin
 * index with axis 2 fastest, as the list builder's), ties by index. Returns
 * 0; 1 (order untouched) when out of memory, a position is not finite or the
 * cell is degenerate. */
int bmd__order_atoms(int n, const double *pos, const double *cell, const unsigned char *pbc, double bin,
                     double *order);

#endif
