/* padded_lists.c — owns the full neighbor lists over a padded particle set
 * (padded.h), made from the set's half list without a search of space:
 *
 *  - every half-list entry's length at the build, once (d2);
 *  - per list (cutoff c): the atoms' rows from both directions of each
 *    entry within c + skin ((i, j) and (j, i) in image 0; (i, ghost (j, N))
 *    and (j, ghost (i, -N)) otherwise), counted, then placed: the atoms of
 *    a row come out increasing (the reversed entries in row order, then the
 *    row's own, sorted by partner), its ghosts are sorted after them;
 *  - ghost rows when asked: ghost (j, N) takes the particles of atom j's
 *    row moved by N that are in the set (found by image, then owner),
 *    sorted. */
#include <limits.h>
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

/* a[0..m) ascending: insertion sort for the short runs of big cells,
 * qsort for the long ones of small cells */
static int cmp_int(const void *x, const void *y) {
    const int a = *(const int *)x, b = *(const int *)y;
    return (a > b) - (a < b);
}

static void sort_ints(int *a, int m) {
    if (m > 48) {
        qsort(a, (size_t)m, sizeof *a, cmp_int);
        return;
    }
    for (int t = 1; t < m; t++) {
        const int v = a[t];
        int u = t - 1;
        while (u >= 0 && a[u] > v) {
            a[u + 1] = a[u];
            u--;
        }
        a[u + 1] = v;
    }
}

/* room for nnz entries in L */
static int reserve_list(bmd__padded_list *L, long nnz) {
    long c = next_cap(L->cap_nnz, nnz);
    if (!c) return 0;
    if (c > INT_MAX || grow((void **)&L->nbr, c, sizeof(int))) return 1;
    L->cap_nnz = c;
    return 0;
}

/* particle of atom k in image M (a ghost found by image, then owner), -1
 * when the set has none */
static int particle_of(const bmd__padded *p, const bmd__padded_scratch *s, int k, const int *M) {
    if (!M[0] && !M[1] && !M[2]) return k;
    int lo = 0, hi = s->n_u - 1, u = -1;
    while (lo <= hi) {
        const int mid = (lo + hi) / 2;
        const int *v = s->u + 3 * mid;
        int c = 0;
        for (int a = 0; a < 3 && !c; a++) c = v[a] < M[a] ? -1 : (v[a] > M[a]);
        if (!c) {
            u = mid;
            break;
        }
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    if (u < 0) return -1;
    lo = s->gstart[u];
    hi = s->gstart[u + 1] - 1;
    while (lo <= hi) { /* the ghosts of one image are sorted by owner */
        const int mid = (lo + hi) / 2, o = p->owner[mid];
        if (o == k) return mid;
        if (o < k) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

/* the ghost rows of L (rows n .. n_total-1) from its atoms' rows, placed
 * after them */
static bmd__nl_result ghost_rows(bmd__padded *p, bmd__padded_scratch *s, bmd__padded_list *L) {
    const int n = p->n, nt = p->n_total;
    long e = L->start[n];
    for (int g = n; g < nt; g++) {
        const int o = p->owner[g], *N = p->img + 3 * (size_t)g;
        const int e0 = L->start[o], e1 = L->start[o + 1];
        if (e + (e1 - e0) >= INT_MAX || reserve_list(L, e + (e1 - e0) + 1)) return BMD__NL_NOMEM;
        const long e_row = e;
        for (int k = e0; k < e1; k++) {
            const int q = L->nbr[k], *M = p->img + 3 * (size_t)q;
            const int MN[3] = {M[0] + N[0], M[1] + N[1], M[2] + N[2]};
            const int t = particle_of(p, s, p->owner[q], MN);
            if (t >= 0) L->nbr[e++] = t;
        }
        sort_ints(L->nbr + e_row, (int)(e - e_row));
        L->start[g + 1] = (int)e;
    }
    return BMD__NL_OK;
}

bmd__nl_result bmd__padded_build_lists(bmd__padded *p, bmd__padded_scratch *s, const bmd__padded_spec *spec) {
    const int n = p->n, nt = p->n_total, nls = spec->n_lists;
    const bmd__nlist *nl = &p->nl;
    if (nls <= 0) return BMD__NL_OK;
    /* 1. each entry's squared length at the build, as the pair kernels form it */
    long c = next_cap(s->cap_nnz, nl->nnz);
    if (c) {
        if (grow((void **)&s->d2, c, sizeof(double))) return BMD__NL_NOMEM;
        s->cap_nnz = c;
    }
    const double *x = nl->ref_pos;
    for (int i = 0; i < n; i++) {
        const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
        for (int k = nl->start[i]; k < nl->start[i + 1]; k++) {
            const int j = nl->j[k];
            static const double zero[3] = {0.0, 0.0, 0.0};
            const double *S = k < nl->mid[i] ? zero : nl->shift_vec + 3 * (size_t)nl->shift[k + nl->soff[i]];
            const double dx = (x[3 * j] + S[0]) - xi, dy = (x[3 * j + 1] + S[1]) - yi, dz = (x[3 * j + 2] + S[2]) - zi;
            s->d2[k] = dx * dx + dy * dy + dz * dz;
        }
    }
    for (int l = 0; l < nls; l++) {
        bmd__padded_list *L = &p->lists[l];
        const double r = spec->cutoff[l] + spec->skin, rl2 = r * r * (1.0 + 1e-12);
        const int rows = spec->ghost_rows[l] ? nt : n;
        c = next_cap(L->cap_rows, rows + 1L);
        if (c) {
            if (grow((void **)&L->start, c, sizeof(int))) return BMD__NL_NOMEM;
            L->cap_rows = (int)c;
        }
        /* 2. the atoms' rows, from both directions of each entry within
         * range; row i is [atoms k < i (entries (k, i, 0)) | atoms j > i
         * (its own image-0 entries) | ghosts], the first two increasing as
         * they are made, the ghosts (all numbered above the atoms) sorted */
        if ((c = next_cap(s->cap_count, 3L * n + 1))) {
            if (grow((void **)&s->count, c, sizeof(int))) return BMD__NL_NOMEM;
            s->cap_count = c;
        }
        int *rev = s->count, *fwd = rev + n, *gh = fwd + n;
        memset(rev, 0, 3 * (size_t)n * sizeof(int));
        for (int i = 0; i < n; i++)
            for (int k = nl->start[i]; k < nl->start[i + 1]; k++) {
                if (!(s->d2[k] < rl2)) continue;
                const int j = nl->j[k];
                if (k < nl->mid[i]) {
                    fwd[i]++;
                    rev[j]++;
                } else {
                    gh[i]++;
                    gh[j]++;
                }
            }
        long tot = 0;
        for (int i = 0; i < n; i++) { /* cursors: rev[i], fwd[i], gh[i] */
            const long r0 = tot, f0 = r0 + rev[i], g0 = f0 + fwd[i];
            tot = g0 + gh[i];
            if (tot >= INT_MAX) return BMD__NL_NOMEM;
            L->start[i] = (int)r0;
            rev[i] = (int)r0;
            fwd[i] = (int)f0;
            gh[i] = (int)g0;
        }
        L->start[n] = (int)tot;
        if (reserve_list(L, tot + 1)) return BMD__NL_NOMEM; /* (+1: never a NULL array) */
        int *nb = L->nbr;
        for (int i = 0; i < n; i++)
            for (int k = nl->start[i]; k < nl->start[i + 1]; k++) {
                if (!(s->d2[k] < rl2)) continue;
                const int j = nl->j[k];
                if (k < nl->mid[i]) {
                    nb[fwd[i]++] = j;
                    nb[rev[j]++] = i;
                } else {
                    const long m = k + nl->soff[i];
                    nb[gh[i]++] = s->gpart[2 * m];
                    nb[gh[j]++] = s->gpart[2 * m + 1];
                }
            }
        for (int i = 0; i < n; i++) sort_ints(nb + fwd[i], L->start[i + 1] - fwd[i]); /* (fwd[i]: the ghosts' start) */
        bmd__nl_result res = BMD__NL_OK;
        /* 3. the ghosts' rows */
        if (rows > n && (res = ghost_rows(p, s, L))) return res;
        L->n_rows = rows;
        L->nnz = L->start[rows];
    }
    return BMD__NL_OK;
}
