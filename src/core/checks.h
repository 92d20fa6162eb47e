/* checks.h — internal (crosses files, not installed): the closest pair of
 * atoms of one system given as flat arrays, for bmd_system_closest_pair and
 * the min_distance hook (which looks at batch slots), and the thin-cell
 * test of the stage. */
#ifndef BATCHMD_CORE_CHECKS_H
#define BATCHMD_CORE_CHECKS_H

#include "batchmd/status.h"

/* As bmd_system_closest_pair (system.h), for n atoms at pos[3n] in cell[9]
 * (rows a, b, c) with pbc[3]. */
bmd_status bmd__closest_pair(int n, const double *pos, const double *cell, const unsigned char *pbc,
                             double range, double *d, int *i, int *j);

/* 1 when a periodic axis of cell[9] is degenerate, or the cell is thinner
 * across it than range / BMD__THIN_CELL_RATIO (Å): an atom then meets its
 * own images closer than that, and the neighbor search would need ~ratio^3
 * images of it (it gives up beyond 1e7 stencil cells: with a skin up to
 * the range, ratio 50 stays below that). The stage takes such a system
 * out as "cell_too_thin" before its first evaluation. */
#define BMD__THIN_CELL_RATIO 50.0
int bmd__cell_too_thin(const double *cell, const unsigned char *pbc, double range);

/* The largest number of neighbors within range of one atom of the n atoms
 * at pos[3n] in cell[9] with pbc[3] (periodic images included, an atom's
 * own images too) into *most, and that atom into *atom (may be NULL; -1
 * when not known). A fully periodic cell whose mean density alone gives
 * more than 4 x limit neighbors per atom is answered from the density,
 * without building a list (*most = that mean, rounded up: certainly above
 * the limit); otherwise the count is exact, from one list build.
 * BMD_ERR_NOMEM when the list does not fit. */
bmd_status bmd__max_neighbors(int n, const double *pos, const double *cell, const unsigned char *pbc, double range,
                              long limit, long *most, int *atom);

#endif
