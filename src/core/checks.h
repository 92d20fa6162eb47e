/* checks.h — internal (crosses files, not installed): the closest pair of
 * atoms of one system given as flat arrays, for bmd_system_closest_pair and
 * the min_distance hook (which looks at batch slots). */
#ifndef BATCHMD_CORE_CHECKS_H
#define BATCHMD_CORE_CHECKS_H

#include "batchmd/status.h"

/* As bmd_system_closest_pair (system.h), for n atoms at pos[3n] in cell[9]
 * (rows a, b, c) with pbc[3]. */
bmd_status bmd__closest_pair(int n, const double *pos, const double *cell, const unsigned char *pbc,
                             double range, double *d, int *i, int *j);

#endif
