/* transpose.c — owns the transpose of a half Verlet list (neighbor.h): for
 * each atom i, the entries of the other rows that name i as partner, so that
 * a full neighbor row (edges.c) is read row by row — its reversed half from
 * the transpose, the rest from the list's own row — instead of scattered.
 *
 * A counting sort over the partners, rows scanned in order, gives each
 * transposed row its entries by ascending source row k; within one k they
 * come in row k's order (image 0, then images N ascending) and are then put
 * in N descending, so that the reversed edges (i, k, -N) come sorted by
 * (k, -N). Each entry's image id is resolved once (t_id), so that the
 * reversed edges read it without going through row k. Made once per build
 * of the list. */
#include <stdlib.h>
#include <string.h>

#include "neighbor/neighbor.h"

static const int zero_n[3] = {0, 0, 0};

/* lattice image of entry e of row k */
static const int *image_of(const bmd__nlist *nl, int k, int e) {
    return e < nl->mid[k] ? zero_n : nl->shift_n + 3 * nl->shift[e + nl->soff[k]];
}

/* a > b lexicographically */
static int lex_greater(const int *a, const int *b) {
    for (int c = 0; c < 3; c++)
        if (a[c] != b[c]) return a[c] > b[c];
    return 0;
}

static int grow(int **p, int *cap, int need) {
    if (need <= *cap) return 0;
    long c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    int *q = realloc(*p, (size_t)c * sizeof(int));
    if (!q) return 1;
    *p = q;
    *cap = (int)c;
    return 0;
}

bmd__nl_result bmd__nlist_transpose(bmd__nlist *nl) {
    if (nl->t_builds == nl->n_builds) return BMD__NL_OK;
    const int n = nl->n_atoms, nnz = nl->nnz;
    if (grow(&nl->t_start, &nl->cap_t_atoms, n + 1) || grow(&nl->t_k, &nl->cap_t_k, nnz) ||
        grow(&nl->t_e, &nl->cap_t_e, nnz) || grow(&nl->t_id, &nl->cap_t_id, nnz)) {
        nl->t_builds = -1; /* half made: stale */
        return BMD__NL_NOMEM;
    }
    int *ts = nl->t_start;
    memset(ts, 0, (size_t)(n + 1) * sizeof(int));
    for (int e = 0; e < nnz; e++) ts[nl->j[e] + 1]++;
    for (int i = 0; i < n; i++) ts[i + 1] += ts[i];
    /* ts[i] as the fill cursor of row i: it ends at the start of row i + 1 */
    for (int k = 0; k < n; k++)
        for (int e = nl->start[k]; e < nl->start[k + 1]; e++) {
            const int p = ts[nl->j[e]]++;
            nl->t_k[p] = k;
            nl->t_e[p] = e;
        }
    memmove(ts + 1, ts, (size_t)n * sizeof(int));
    ts[0] = 0;
    /* within each run of one source row: images N descending (insertion;
     * runs are short: one entry, or the images of one pair) */
    for (int i = 0; i < n; i++)
        for (int p = ts[i] + 1; p < ts[i + 1]; p++) {
            const int k = nl->t_k[p], e = nl->t_e[p];
            const int *N = image_of(nl, k, e);
            int q = p;
            for (; q > ts[i] && nl->t_k[q - 1] == k && lex_greater(N, image_of(nl, k, nl->t_e[q - 1])); q--)
                nl->t_e[q] = nl->t_e[q - 1];
            nl->t_e[q] = e;
        }
    for (int p = 0; p < nnz; p++) {
        const int k = nl->t_k[p], e = nl->t_e[p];
        nl->t_id[p] = e < nl->mid[k] ? -1 : nl->shift[e + nl->soff[k]];
    }
    nl->t_builds = nl->n_builds;
    return BMD__NL_OK;
}
