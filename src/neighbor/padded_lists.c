/* padded_lists.c — owns the full neighbor lists over a padded particle set
 * (padded.h): Cartesian cell lists over the set's bounding box (bins at
 * least as wide as the longest range, 27-bin stencil, no periodicity: the
 * ghosts are the periodicity), one pass over neighbor particles q in
 * increasing order that records (row, q) pairs within the longest range,
 * then per list a counting sort by row that keeps q increasing within each
 * row, dropping the pairs beyond that list's range. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "neighbor/padded.h"

static int grow(void **ptr, long n, size_t elem) {
    void *q = realloc(*ptr, (size_t)(n > 0 ? n : 1) * elem);
    if (!q) return 1;
    *ptr = q;
    return 0;
}

static long next_cap(long cap, long need) {
    if (need <= cap) return 0;
    long c = cap ? cap : 64;
    while (c < need) c *= 2;
    return c;
}

static int reserve_pairs(bmd__padded_scratch *s, long need) {
    long c = next_cap(s->cap_pairs, need);
    if (!c) return 0;
    if (c > (1L << 31) - 1 || grow((void **)&s->pi, c, sizeof(int)) || grow((void **)&s->pj, c, sizeof(int)))
        return 1;
    s->cap_pairs = c;
    return 0;
}

/* CSR of one list from the found pairs (row-major, q increasing) */
static bmd__nl_result fill_list(bmd__padded *p, bmd__padded_scratch *s, long np, bmd__padded_list *L,
                                int rows, double rl2, int test) {
    long c = next_cap(L->cap_rows, rows + 1L);
    if (c) {
        if (grow((void **)&L->start, c, sizeof(int))) return BMD__NL_NOMEM;
        L->cap_rows = (int)c;
    }
    int *cnt = L->start;
    memset(cnt, 0, (size_t)(rows + 1) * sizeof(int));
    const double *x = p->x;
    long nnz = 0;
    for (long e = 0; e < np; e++) {
        const int a = s->pi[e], b = s->pj[e];
        if (a >= rows) continue;
        if (test) {
            const double dx = x[3 * b] - x[3 * a], dy = x[3 * b + 1] - x[3 * a + 1], dz = x[3 * b + 2] - x[3 * a + 2];
            if (!(dx * dx + dy * dy + dz * dz < rl2)) continue;
        }
        cnt[a + 1]++;
        nnz++;
    }
    c = next_cap(L->cap_nnz, nnz);
    if (c) {
        if (grow((void **)&L->nbr, c, sizeof(int))) return BMD__NL_NOMEM;
        L->cap_nnz = c;
    }
    for (int a = 0; a < rows; a++) cnt[a + 1] += cnt[a];
    /* cnt[a] now the start of row a; use the scratch counter as the cursor */
    int *cur = s->count;
    memcpy(cur, cnt, (size_t)rows * sizeof(int));
    for (long e = 0; e < np; e++) {
        const int a = s->pi[e], b = s->pj[e];
        if (a >= rows) continue;
        if (test) {
            const double dx = x[3 * b] - x[3 * a], dy = x[3 * b + 1] - x[3 * a + 1], dz = x[3 * b + 2] - x[3 * a + 2];
            if (!(dx * dx + dy * dy + dz * dz < rl2)) continue;
        }
        L->nbr[cur[a]++] = b;
    }
    L->n_rows = rows;
    L->nnz = nnz;
    return BMD__NL_OK;
}

bmd__nl_result bmd__padded_build_lists(bmd__padded *p, bmd__padded_scratch *s, const bmd__padded_spec *spec) {
    const int nt = p->n_total, n = p->n, nl = spec->n_lists;
    if (nl <= 0) return BMD__NL_OK;
    double rl = 0.0;
    int rows = n;
    for (int k = 0; k < nl; k++) {
        double r = spec->cutoff[k] + spec->skin;
        if (r > rl) rl = r;
        if (spec->ghost_rows[k]) rows = nt;
    }
    const double rl2 = rl * rl * (1.0 + 1e-12);
    long c = next_cap(s->cap_part, nt + 1L);
    if (c) {
        if (grow((void **)&s->bin_of, c, sizeof(int)) || grow((void **)&s->by_bin, c, sizeof(int)) ||
            grow((void **)&s->count, c + 1, sizeof(int)))
            return BMD__NL_NOMEM;
        s->cap_part = (int)c;
    }
    long np = 0;
    if (rl > 0 && nt > 1) {
        /* bins over the bounding box, each at least rl wide, at most ~2 nt + 64 */
        const double *x = p->x;
        double lo[3] = {INFINITY, INFINITY, INFINITY}, hi[3] = {-INFINITY, -INFINITY, -INFINITY};
        for (int q = 0; q < nt; q++)
            for (int k = 0; k < 3; k++) {
                double v = x[3 * q + k];
                if (v < lo[k]) lo[k] = v;
                if (v > hi[k]) hi[k] = v;
            }
        int nb[3];
        double inv[3];
        for (int k = 0; k < 3; k++) {
            double e = floor((hi[k] - lo[k]) / rl);
            nb[k] = e < 1.0 ? 1 : (e > 1e6 ? 1000000 : (int)e);
        }
        while ((double)nb[0] * nb[1] * nb[2] > 2.0 * nt + 64.0) {
            int k = nb[1] > nb[0] ? 1 : 0;
            if (nb[2] > nb[k]) k = 2;
            nb[k] = (nb[k] + 1) / 2;
        }
        for (int k = 0; k < 3; k++) inv[k] = hi[k] > lo[k] ? nb[k] / (hi[k] - lo[k]) : 0.0;
        const int nbins = nb[0] * nb[1] * nb[2];
        c = next_cap(s->cap_bins, nbins + 1L);
        if (c) {
            if (grow((void **)&s->bin_start, c, sizeof(int))) return BMD__NL_NOMEM;
            s->cap_bins = (int)c;
        }
        int *bs = s->bin_start;
        memset(bs, 0, (size_t)(nbins + 1) * sizeof(int));
        for (int q = 0; q < nt; q++) {
            int b[3];
            for (int k = 0; k < 3; k++) {
                int v = (int)((x[3 * q + k] - lo[k]) * inv[k]);
                b[k] = v < 0 ? 0 : (v >= nb[k] ? nb[k] - 1 : v);
            }
            s->bin_of[q] = (b[0] * nb[1] + b[1]) * nb[2] + b[2];
            bs[s->bin_of[q] + 1]++;
        }
        for (int b = 0; b < nbins; b++) bs[b + 1] += bs[b];
        for (int q = 0; q < nt; q++) s->by_bin[bs[s->bin_of[q]]++] = q; /* stable: increasing q per bin */
        for (int b = nbins; b > 0; b--) bs[b] = bs[b - 1];
        bs[0] = 0;
        /* q increasing: every row's pairs come out with q increasing */
        for (int q = 0; q < nt; q++) {
            const int bq = s->bin_of[q];
            const int c0 = bq / (nb[1] * nb[2]), c1 = (bq / nb[2]) % nb[1], c2 = bq % nb[2];
            const double xq = x[3 * q], yq = x[3 * q + 1], zq = x[3 * q + 2];
            for (int d0 = c0 > 0 ? c0 - 1 : 0; d0 <= c0 + 1 && d0 < nb[0]; d0++)
                for (int d1 = c1 > 0 ? c1 - 1 : 0; d1 <= c1 + 1 && d1 < nb[1]; d1++) {
                    const int row = (d0 * nb[1] + d1) * nb[2];
                    const int b0 = row + (c2 > 0 ? c2 - 1 : 0), b1 = row + (c2 + 1 < nb[2] ? c2 + 1 : nb[2] - 1);
                    const int t0 = bs[b0], t1 = bs[b1 + 1];
                    if (np + (t1 - t0) > s->cap_pairs && reserve_pairs(s, np + (t1 - t0))) return BMD__NL_NOMEM;
                    /* bins b0..b1 are consecutive: one run; particles of each bin increase */
                    for (int t = t0; t < t1; t++) {
                        const int a = s->by_bin[t];
                        if (a >= rows || a == q) continue;
                        const double dx = xq - x[3 * a], dy = yq - x[3 * a + 1], dz = zq - x[3 * a + 2];
                        s->pi[np] = a;
                        s->pj[np] = q;
                        np += dx * dx + dy * dy + dz * dz < rl2;
                    }
                }
        }
    }
    for (int k = 0; k < nl; k++) {
        const double r = spec->cutoff[k] + spec->skin;
        const int rows_k = spec->ghost_rows[k] ? nt : n;
        const int test = r < rl;
        bmd__nl_result res = fill_list(p, s, r > 0 ? np : 0, &p->lists[k], rows_k, r * r * (1.0 + 1e-12), test);
        if (res) return res;
    }
    return BMD__NL_OK;
}
