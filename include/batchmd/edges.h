/* edges.h — the neighbor pairs of every system of a batch as flat edge
 * arrays, the form graph models (MACE, NequIP, torch models in general)
 * consume:
 *
 *   index   [2 * E] int64: row 0 (the E centres i) then row 1 (the E
 *           partners j), GLOBAL batch atom indices (atom_start[s] + local);
 *   shifts  [3 * E] int64: row-major [E][3], the integer lattice image
 *           (n1, n2, n3) of each edge, so that the edge vector is
 *               r_ij = pos[j] + n1 a + n2 b + n3 c - pos[i]     (Å)
 *           with pos the batch's positions as they are (unwrapped) and
 *           a, b, c the rows of the system's cell: ASE's
 *           neighbor_list('ijS') convention, D = pos[j] - pos[i] + S @ cell.
 *           Non-periodic axes always have n = 0;
 *   offsets [n_systems + 1] int64: the edges of slot s are
 *           [offsets[s], offsets[s + 1]).
 *
 * Edges never link two systems. An atom meets its own periodic images when
 * the cell is thinner than the cutoff: (i, i, S) with S != 0 is an edge;
 * (i, i, 0) never is.
 *
 * Kinds:
 *   BMD_EDGES_FULL  both (i, j, S) and (j, i, -S) of every pair;
 *   BMD_EDGES_HALF  one of them: the one with i < j (local indices), or,
 *                   for an atom and its own image (i == j), the one whose S
 *                   is lexicographically positive (first nonzero n > 0).
 *
 * Order: within a system, edges are sorted by i, then j, then S
 * lexicographically (n1, n2, n3). Edges and order depend only on the system
 * (strict: its positions, cell and pbc now; not strict: those at its list's
 * last build), not on its batch, its slot, the thread count or the mask of
 * the other systems.
 *
 * Cutoff and skin (Å): each system keeps a Verlet list of the pairs closer
 * than cutoff + skin at its last build, rebuilt only when stale (the two
 * largest displacements since the build add up to more than skin; after a
 * cell change, the strain's share of the skin counts too; or the pbc or
 * atom count changed), so the list holds every pair closer than cutoff
 * now. A list kept over a cell change keeps its pairs and their integer
 * shifts. strict = 1 emits exactly the pairs with r < cutoff now (r as
 * |(pos_j + S) - pos_i| in double precision): the edges do not depend on when
 * the list was built. strict = 0 emits every pair of the list: the edges
 * change only when a list is rebuilt (for models that weight by distance
 * and can take pairs beyond the cutoff, and want fixed shapes between
 * rebuilds); when no list was rebuilt and the batch, its layout and the
 * mask are those of the last compute, the arrays of the last result are the
 * answer and are not written again (read-only to the caller, as always).
 *
 * Lists are kept per system and follow a system when the batch's layout
 * changes (keyed by the batch's uid); computing another batch object starts
 * afresh. Per-system work runs on OpenMP threads; buffers grow geometrically
 * and are reused (no allocation per call in steady state). */
#ifndef BATCHMD_EDGES_H
#define BATCHMD_EDGES_H

#include <stdint.h>
#include "batch.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bmd_edges bmd_edges;

typedef enum bmd_edges_kind { BMD_EDGES_HALF = 0, BMD_EDGES_FULL = 1 } bmd_edges_kind;

/* cutoff: Å, finite and > 0; skin: Å, finite and >= 0; kind: HALF or FULL;
 * strict: 1 emits only pairs with r < cutoff, 0 every pair of the Verlet
 * list (see above). Destroy with bmd_edges_destroy. */
bmd_status bmd_edges_create(double cutoff, double skin, bmd_edges_kind kind, int strict, bmd_edges **out);

/* Brings the lists of the systems with mask[s] != 0 (mask NULL: all) up to
 * date and fills the arrays; systems not in the mask get no edges
 * (offsets[s] == offsets[s + 1]) and their lists are left as they are.
 * Fails (naming the slot and system_id) on a cell degenerate along a periodic
 * axis or absurdly thinner than the range (BMD_ERR_INVALID), on a non-finite
 * or absurdly distant position (BMD_ERR_NUMERIC), or out of memory; after a
 * failure there is no result (count 0, arrays NULL) until the next success. */
bmd_status bmd_edges_compute(bmd_edges *e, const bmd_batch *b, const unsigned char *mask);

/* The result of the last successful compute, valid until the next compute
 * or destroy (the arrays belong to e; with E = 0 they are not NULL). The
 * indices refer to the batch's layout at that compute. */
int64_t bmd_edges_count(const bmd_edges *e);            /* E */
int bmd_edges_n_systems(const bmd_edges *e);            /* length of offsets - 1; -1 without a result */
const int64_t *bmd_edges_index(const bmd_edges *e);     /* [2 * E]: row 0 (i) then row 1 (j) */
const int64_t *bmd_edges_shifts(const bmd_edges *e);    /* [3 * E], [E][3] */
const int64_t *bmd_edges_offsets(const bmd_edges *e);   /* [n_systems + 1] */

/* Verlet-list (re)builds so far, summed over systems. */
long bmd_edges_builds(const bmd_edges *e);

/* Frees e; NULL is a no-op. */
void bmd_edges_destroy(bmd_edges *e);

#ifdef __cplusplus
}
#endif

#endif
