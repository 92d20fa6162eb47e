/* sampler.h — the size-aware sampler of the inflight runner (internal to
 * src/flow): which structure enters the live batch next, from sizes only.
 *
 * Built once from the dataset's metadata (no structure is loaded): every
 * structure's atom count, and the indices sorted into bins of equal atom
 * count, each bin in dataset order (FIFO). Memory: O(n) integers
 * (13 bytes per structure), O(1) work per admission (amortized, plus a
 * binary search over the bins).
 *
 * Policy, asked for room (free_atoms, free_systems):
 *   1. the head — the lowest index not yet admitted — when it fits;
 *   2. else the largest remaining structure that fits (the lowest index
 *      among equals);
 *   3. but once structures totalling max_atoms atoms (one budget's worth)
 *      have been admitted past the same head, the budget is reserved for it:
 *      nothing is admitted until it fits (the batch drains; a structure is
 *      never larger than max_atoms, so it does fit eventually).
 * So large structures never starve, small ones fill the gaps, and a
 * dataset whose structures all fit is admitted in dataset order. */
#ifndef BATCHMD_FLOW_SAMPLER_H
#define BATCHMD_FLOW_SAMPLER_H

#include "batchmd/flow.h"

typedef struct bmd__sampler bmd__sampler;

/* Reads every structure's size from ds. Fails with BMD_ERR_BUDGET and a
 * message naming the first structure larger than max_atoms, or
 * BMD_ERR_INVALID for one without atoms. max_atoms <= 0: no limit. */
bmd_status bmd__sampler_create(const bmd_dataset *ds, long max_atoms, bmd__sampler **out);
void bmd__sampler_destroy(bmd__sampler *s); /* NULL is a no-op */

/* The next structure to admit into that much room, marked admitted; -1 when
 * none (free_systems < 1, nothing fits, the budget is reserved, or every
 * structure was admitted). */
long bmd__sampler_next(bmd__sampler *s, long free_atoms, long free_systems);
/* Structures not yet admitted. */
long bmd__sampler_remaining(const bmd__sampler *s);
/* Atom count of structure i (as read at creation). */
int bmd__sampler_atoms(const bmd__sampler *s, long i);

/* Checkpoints: the position (which structures were admitted, and the
 * atoms admitted past the head) as bytes appended to out; restore puts a
 * sampler freshly created over the same dataset back there (every bin's
 * admitted structures are a prefix of it: bins are FIFO). */
struct bmd__buf;
void bmd__sampler_save(const bmd__sampler *s, struct bmd__buf *out);
bmd_status bmd__sampler_restore(bmd__sampler *s, const void *data, size_t n);

#endif
