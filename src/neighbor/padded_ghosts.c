/* padded_ghosts.c — owns the padded particle set of padded.h: its lifecycle,
 * its staleness (its half list's), the ghosts (the images its half list
 * pairs with the atoms), the coordinate refresh between rebuilds (image
 * vectors recomputed after a cell change), and the fold of ghost forces
 * back onto their owners. The full lists are built in padded_lists.c. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "neighbor/padded.h"

#define MAX_PARTICLES (1L << 28)

void bmd__padded_init(bmd__padded *p) { memset(p, 0, sizeof *p); }

void bmd__padded_free(bmd__padded *p) {
    if (!p) return;
    free(p->owner);
    free(p->img);
    free(p->S);
    free(p->x);
    for (int k = 0; k < BMD__PADDED_MAX_LISTS; k++) {
        free(p->lists[k].start);
        free(p->lists[k].nbr);
    }
    bmd__nlist_free(&p->nl);
    bmd__padded_init(p);
}

void bmd__padded_scratch_free(bmd__padded_scratch *s) {
    if (!s) return;
    bmd__nl_scratch_free(&s->nl);
    free(s->u);
    free(s->gstart);
    free(s->pos_id);
    free(s->neg_id);
    free(s->gpart);
    free(s->d2);
    free(s->pa);
    free(s->pb);
    free(s->pc);
    free(s->pd);
    free(s->count);
    memset(s, 0, sizeof *s);
}

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

/* the set was built for this atom count, pbc and spec */
static int same_spec(const bmd__padded *p, int n, const unsigned char *pbc, const bmd__padded_spec *spec) {
    if (!p->built || p->n != n || p->pad != spec->pad || p->skin != spec->skin || p->n_lists != spec->n_lists)
        return 0;
    for (int k = 0; k < spec->n_lists; k++)
        if (p->lists[k].cutoff != spec->cutoff[k] || p->lists[k].ghost_rows != (spec->ghost_rows[k] != 0)) return 0;
    for (int k = 0; k < 3; k++)
        if ((p->ref_pbc[k] != 0) != (pbc[k] != 0)) return 0;
    return 1;
}

/* every particle's image vector for cell (the same bits a build gives) */
static void image_vectors(bmd__padded *p, const double *cell) {
    const int per[3] = {p->ref_pbc[0] != 0, p->ref_pbc[1] != 0, p->ref_pbc[2] != 0};
    for (long q = 0; q < p->n_total; q++) bmd__nl_image_vec(p->img + 3 * q, cell, per, p->S + 3 * q);
    memcpy(p->cell, cell, sizeof p->cell);
}

static void refresh(bmd__padded *p, const double *pos) {
    const int nt = p->n_total;
    const int *own = p->owner;
    const double *S = p->S;
    double *x = p->x;
    for (int q = 0; q < nt; q++) {
        const double *o = pos + 3 * (size_t)own[q];
        x[3 * q] = o[0] + S[3 * q];
        x[3 * q + 1] = o[1] + S[3 * q + 1];
        x[3 * q + 2] = o[2] + S[3 * q + 2];
    }
}

static int cmp_triple(const void *a, const void *b) {
    const int *x = a, *y = b;
    for (int k = 0; k < 3; k++)
        if (x[k] != y[k]) return x[k] < y[k] ? -1 : 1;
    return 0;
}

/* index of triple t in the n sorted triples u, -1 when absent */
static int find_triple(const int *u, int n, const int *t) {
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        const int mid = (lo + hi) / 2, c = cmp_triple(u + 3 * mid, t);
        if (!c) return mid;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

/* The ghosts of the half list p->nl (built for these n atoms): the table of
 * their distinct images (scr->u, sorted), each imaged entry's two ghosts
 * (scr->gpart) and the particles' owners and images, ghosts by (image,
 * owner): a counting sort of the entries' ghosts by owner, then (stable) by
 * image, and the repeats merged. */
static bmd__nl_result make_particles(bmd__padded *p, bmd__padded_scratch *scr, int n) {
    const bmd__nlist *nl = &p->nl;
    const int ns = nl->n_shifts;
    /* 1. the images N and -N of the half list's table, without 0 */
    long c = next_cap(scr->cap_u, 2L * ns + 1);
    if (c) {
        if (grow((void **)&scr->u, 3 * c, sizeof(int)) || grow((void **)&scr->gstart, c + 1, sizeof(int)))
            return BMD__NL_NOMEM;
        scr->cap_u = (int)c;
    }
    if ((c = next_cap(scr->cap_sh, ns + 1L))) {
        if (grow((void **)&scr->pos_id, c, sizeof(int)) || grow((void **)&scr->neg_id, c, sizeof(int)))
            return BMD__NL_NOMEM;
        scr->cap_sh = (int)c;
    }
    int nu = 0;
    for (int t = 0; t < ns; t++) {
        const int *N = nl->shift_n + 3 * t;
        if (!N[0] && !N[1] && !N[2]) continue;
        for (int k = 0; k < 3; k++) {
            scr->u[3 * nu + k] = N[k];
            scr->u[3 * nu + 3 + k] = -N[k];
        }
        nu += 2;
    }
    if (nu) qsort(scr->u, (size_t)nu, 3 * sizeof(int), cmp_triple);
    int nd = 0;
    for (int t = 0; t < nu; t++)
        if (!nd || cmp_triple(scr->u + 3 * t, scr->u + 3 * (nd - 1))) {
            if (nd != t) memcpy(scr->u + 3 * nd, scr->u + 3 * t, 3 * sizeof(int));
            nd++;
        }
    scr->n_u = nu = nd;
    for (int t = 0; t < ns; t++) {
        const int *N = nl->shift_n + 3 * t, M[3] = {-N[0], -N[1], -N[2]};
        scr->pos_id[t] = find_triple(scr->u, nu, N);
        scr->neg_id[t] = find_triple(scr->u, nu, M);
    }
    /* 2. each imaged entry (i, j, N) (m-th imaged one) names (j, N) and (i, -N) */
    const long nc = 2L * nl->n_img;
    if (nc > INT_MAX) return BMD__NL_NOMEM;
    if ((c = next_cap(scr->cap_img, nc))) {
        if (grow((void **)&scr->gpart, c, sizeof(int))) return BMD__NL_NOMEM;
        scr->cap_img = c;
    }
    if ((c = next_cap(scr->cap_pairs, nc))) {
        if (grow((void **)&scr->pa, c, sizeof(int)) || grow((void **)&scr->pb, c, sizeof(int)) ||
            grow((void **)&scr->pc, c, sizeof(int)) || grow((void **)&scr->pd, c, sizeof(int)))
            return BMD__NL_NOMEM;
        scr->cap_pairs = c;
    }
    if ((c = next_cap(scr->cap_count, (long)(n > nu ? n : nu) + 2))) {
        if (grow((void **)&scr->count, c, sizeof(int))) return BMD__NL_NOMEM;
        scr->cap_count = c;
    }
    int *cu = scr->pa, *co = scr->pb, *by_owner = scr->pc, *sorted = scr->pd, *cnt = scr->count;
    for (int i = 0; i < n; i++)
        for (int k = nl->mid[i]; k < nl->start[i + 1]; k++) {
            const long m = k + nl->soff[i];
            const int t = nl->shift[m];
            cu[2 * m] = scr->pos_id[t];
            co[2 * m] = nl->j[k];
            cu[2 * m + 1] = scr->neg_id[t];
            co[2 * m + 1] = i;
        }
    memset(cnt, 0, (size_t)(n + 1) * sizeof(int));
    for (long e = 0; e < nc; e++) cnt[co[e] + 1]++;
    for (int i = 0; i < n; i++) cnt[i + 1] += cnt[i];
    for (long e = 0; e < nc; e++) by_owner[cnt[co[e]]++] = (int)e;
    memset(cnt, 0, (size_t)(nu + 1) * sizeof(int));
    for (long e = 0; e < nc; e++) cnt[cu[e] + 1]++;
    for (int u = 0; u < nu; u++) cnt[u + 1] += cnt[u];
    for (long t = 0; t < nc; t++) {
        const int e = by_owner[t];
        sorted[cnt[cu[e]]++] = e;
    }
    /* 3. distinct (image, owner) in that order: the ghosts */
    long ng = 0;
    for (long t = 0; t < nc; t++) {
        const int e = sorted[t];
        if (!t || cu[e] != cu[sorted[t - 1]] || co[e] != co[sorted[t - 1]]) ng++;
        scr->gpart[e] = n + (int)(ng - 1);
    }
    const long total = n + ng;
    if (total > MAX_PARTICLES) return BMD__NL_BAD_CELL;
    if ((c = next_cap(p->cap_total, total))) {
        if (grow((void **)&p->owner, c, sizeof(int)) || grow((void **)&p->img, 3 * c, sizeof(int)) ||
            grow((void **)&p->S, 3 * c, sizeof(double)) || grow((void **)&p->x, 3 * c, sizeof(double)))
            return BMD__NL_NOMEM;
        p->cap_total = (int)c;
    }
    for (int i = 0; i < n; i++) {
        p->owner[i] = i;
        p->img[3 * i] = p->img[3 * i + 1] = p->img[3 * i + 2] = 0;
    }
    for (int u = 0; u <= nu; u++) scr->gstart[u] = n;
    for (long t = 0; t < nc; t++) {
        const int e = sorted[t], q = scr->gpart[e];
        p->owner[q] = co[e];
        memcpy(p->img + 3 * (size_t)q, scr->u + 3 * (size_t)cu[e], 3 * sizeof(int));
        scr->gstart[cu[e] + 1] = q + 1;
    }
    for (int u = 0; u < nu; u++) /* images without ghosts: empty ranges */
        if (scr->gstart[u + 1] < scr->gstart[u]) scr->gstart[u + 1] = scr->gstart[u];
    p->n_total = (int)total;
    return BMD__NL_OK;
}

bmd__nl_result bmd__padded_update(bmd__padded *p, bmd__padded_scratch *scr, int n, const double *pos,
                                  const double *cell, const unsigned char *pbc, const bmd__padded_spec *spec,
                                  int *rebuilt) {
    if (rebuilt) *rebuilt = 0;
    if (spec->n_lists < 0 || spec->n_lists > BMD__PADDED_MAX_LISTS) return BMD__NL_BAD_CELL;
    double range = spec->pad;
    for (int k = 0; k < spec->n_lists; k++)
        if (spec->cutoff[k] > range) range = spec->cutoff[k];
    /* kept while its half list is (and the spec is the same); a new spec
     * rebuilds the half list too, so that both have the same reference */
    int rb = 1;
    bmd__nl_result r = same_spec(p, n, pbc, spec)
                           ? bmd__nlist_update(&p->nl, &scr->nl, n, pos, cell, pbc, range, spec->skin, &rb)
                           : bmd__nlist_build(&p->nl, &scr->nl, n, pos, cell, pbc, range, spec->skin);
    if (r) {
        p->built = 0;
        return r;
    }
    if (!rb) {
        if (memcmp(p->cell, cell, sizeof p->cell) != 0) image_vectors(p, cell);
        refresh(p, pos);
        return BMD__NL_OK;
    }
    if (rebuilt) *rebuilt = 1;
    p->built = 0;
    for (int k = 0; k < 3; k++) p->ref_pbc[k] = pbc[k] != 0;
    if ((r = make_particles(p, scr, n))) return r;
    image_vectors(p, cell);
    refresh(p, pos);
    p->n = n;
    if ((r = bmd__padded_build_lists(p, scr, spec))) return r;
    p->pad = spec->pad;
    p->skin = spec->skin;
    p->n_lists = spec->n_lists;
    for (int k = 0; k < spec->n_lists; k++) {
        p->lists[k].cutoff = spec->cutoff[k];
        p->lists[k].ghost_rows = spec->ghost_rows[k] != 0;
    }
    p->built = 1;
    p->n_builds++;
    return BMD__NL_OK;
}

void bmd__padded_fold(const bmd__padded *p, const double *fp, double *f) {
    const int n = p->n, nt = p->n_total;
    memcpy(f, fp, 3 * (size_t)n * sizeof(double));
    for (int q = n; q < nt; q++) {
        double *o = f + 3 * (size_t)p->owner[q];
        o[0] += fp[3 * q];
        o[1] += fp[3 * q + 1];
        o[2] += fp[3 * q + 2];
    }
}

void bmd__padded_fold_scalar(const bmd__padded *p, const double *ep, double *e) {
    const int n = p->n, nt = p->n_total;
    memcpy(e, ep, (size_t)n * sizeof(double));
    for (int q = n; q < nt; q++) e[p->owner[q]] += ep[q];
}
