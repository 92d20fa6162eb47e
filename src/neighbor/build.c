/* build.c — owns the build of a per-system Verlet list (its form and its
 * ordering promise are in neighbor.h). O(n):
 *
 * 1. Positions are mapped to fractional coordinates f of the binning basis
 *    (geometry.c); on periodic axes f = w + u with integer w and u in [0,1).
 *    The batch's positions are never modified: wrapped positions live here.
 * 2. Atoms are binned (bins about (cutoff+skin)/2 thick, at most ~2n bins).
 * 3. Each bin scans half of its stencil of bins within cutoff+skin (offsets
 *    lexicographically > 0, and its own bin with later atoms), as runs of
 *    consecutive bins along the last axis, over periodic images: a bin offset d maps to bin (c+d) mod nb in lattice image
 *    I = floor((c+d)/nb), several per axis when the cell is thinner than the
 *    range. Distances use the wrapped positions; a found pair in image I is
 *    the physical image N = I + w_i - w_j of the unwrapped positions
 *    (p = (w + u) B, so the image of u_j + I seen from u_i is
 *    p_j + (I + w_i - w_j) cell - p_i).
 * 4. Each pair is stored once in canonical form: owner min(i,j), N flipped
 *    accordingly (for i == j, the lexicographically positive N). The image
 *    triples get ids sorted lexicographically, and two stable counting sorts
 *    (by partner, then by (owner, N != 0)) plus a fix-up of equal partners
 *    order every atom's entries as neighbor.h says: the list's order does not
 *    depend on binning. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "neighbor/neighbor.h"

/* |wrap| bound, so that image triples pack into 3 x 21 bits */
#define WRAP_MAX 262144.0
#define KEY_OFF (1 << 20)

/* capacity >= need, growing geometrically; 0 when no growth is needed */
static long next_cap(long cap, long need) {
    if (need <= cap) return 0;
    long c = cap ? cap : 16;
    while (c < need) c *= 2;
    return c;
}

static int resize(void **p, long n, size_t elem) {
    void *q = realloc(*p, (size_t)(n > 0 ? n : 1) * elem);
    if (!q) return 1;
    *p = q;
    return 0;
}

static inline int64_t pack(int n0, int n1, int n2) {
    return (int64_t)(((uint64_t)(n0 + KEY_OFF) << 42) | ((uint64_t)(n1 + KEY_OFF) << 21) |
                     (uint64_t)(n2 + KEY_OFF));
}

static inline void unpack(int64_t key, int *n) {
    uint64_t k = (uint64_t)key, m = (1u << 21) - 1;
    n[0] = (int)((k >> 42) & m) - KEY_OFF;
    n[1] = (int)((k >> 21) & m) - KEY_OFF;
    n[2] = (int)(k & m) - KEY_OFF;
}

/* N.cell over the periodic axes, in one fixed order (same bits every time) */
static inline void image_vec(const int *N, const double *cell, const int *per, double *v) {
    v[0] = v[1] = v[2] = 0.0;
    for (int k = 0; k < 3; k++) {
        if (!per[k]) continue;
        double nk = (double)N[k];
        v[0] += nk * cell[3 * k];
        v[1] += nk * cell[3 * k + 1];
        v[2] += nk * cell[3 * k + 2];
    }
}

/* ---- image keys -> ids (first-seen order), open addressing ---- */
static int hash_reset(bmd__nl_scratch *s, int cap) {
    if (cap > s->hcap) {
        if (resize((void **)&s->hkey, cap, sizeof *s->hkey) || resize((void **)&s->hval, cap, sizeof *s->hval))
            return 1;
        s->hcap = cap;
    }
    for (int i = 0; i < cap; i++) s->hval[i] = -1;
    return 0;
}

static inline unsigned hash_slot(int64_t key, int cap) {
    uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ull;
    return (unsigned)(h >> 32) & (unsigned)(cap - 1);
}

static int key_id(bmd__nl_scratch *s, int *hcap, int64_t key) {
    int cap = *hcap;
    unsigned h = hash_slot(key, cap);
    while (s->hval[h] >= 0) {
        if (s->hkey[h] == key) return s->hval[h];
        h = (h + 1) & (unsigned)(cap - 1);
    }
    long c = next_cap(s->cap_keys, s->n_keys + 1L);
    if (c) {
        if (resize((void **)&s->keys, c, sizeof *s->keys)) return -1;
        s->cap_keys = (int)c;
    }
    int id = s->n_keys++;
    s->keys[id] = key;
    if (2 * s->n_keys > cap) { /* rehash into a twice larger table */
        int ncap = 2 * cap;
        if (hash_reset(s, ncap)) return -1;
        for (int t = 0; t < s->n_keys; t++) {
            unsigned g = hash_slot(s->keys[t], ncap);
            while (s->hval[g] >= 0) g = (g + 1) & (unsigned)(ncap - 1);
            s->hkey[g] = s->keys[t];
            s->hval[g] = t;
        }
        *hcap = ncap;
    } else {
        s->hkey[h] = key;
        s->hval[h] = id;
    }
    return id;
}

static int cmp_keyid(const void *a, const void *b) {
    int64_t x = ((const bmd__nl_keyid *)a)->key, y = ((const bmd__nl_keyid *)b)->key;
    return (x > y) - (x < y);
}

/* ---- workspace ---- */
static int reserve_atoms(bmd__nlist *nl, bmd__nl_scratch *scr, int n) {
    long c = next_cap(scr->cap_atoms, n + 1L);
    if (c) {
        if (c > (1L << 29) || resize((void **)&scr->frac, 3 * c, sizeof(double)) ||
            resize((void **)&scr->wrap, 3 * c, sizeof(int)) || resize((void **)&scr->bin, 3 * c, sizeof(int)) ||
            resize((void **)&scr->bin_atoms, c, sizeof(int)) || resize((void **)&scr->bx, 3 * c, sizeof(double)) ||
            resize((void **)&scr->bw, 3 * c, sizeof(int)) || resize((void **)&scr->count, 2 * c + 2, sizeof(int)) ||
            resize((void **)&scr->accept, c, sizeof(int)))
            return 1;
        scr->cap_atoms = (int)c;
    }
    c = next_cap(nl->cap_atoms, n + 1L);
    if (c) {
        if (c > (1L << 29) || resize((void **)&nl->ref_pos, 3 * c, sizeof(double)) ||
            resize((void **)&nl->start, c, sizeof(int)) || resize((void **)&nl->mid, c, sizeof(int)))
            return 1;
        nl->cap_atoms = (int)c;
    }
    return 0;
}

static int reserve_pairs(bmd__nl_scratch *scr, long need) {
    long c = next_cap(scr->cap_pairs, need);
    if (!c) return 0;
    if (c > (1L << 30) || resize((void **)&scr->p_own, c, sizeof(int)) ||
        resize((void **)&scr->p_par, c, sizeof(int)) || resize((void **)&scr->p_sid, c, sizeof(int)) ||
        resize((void **)&scr->q_own, c, sizeof(int)) || resize((void **)&scr->q_par, c, sizeof(int)) ||
        resize((void **)&scr->q_sid, c, sizeof(int)))
        return 1;
    scr->cap_pairs = (int)c;
    return 0;
}

static int reserve_stencil(bmd__nl_scratch *scr, long need) {
    long c = next_cap(scr->cap_stencil, need);
    if (!c) return 0;
    if (resize((void **)&scr->st_t0, c, sizeof(int)) || resize((void **)&scr->st_t1, c, sizeof(int)) ||
        resize((void **)&scr->st_img, 3 * c, sizeof(int)) ||
        resize((void **)&scr->st_vec, 3 * c, sizeof(double)))
        return 1;
    scr->cap_stencil = (int)c;
    return 0;
}

/* bin coordinate c + d on one axis: bin index and lattice image; 0 if off a non-periodic axis */
static inline int step_axis(int c, int d, int nb, int periodic, int *bin, int *img) {
    int B = c + d;
    if (periodic) {
        int b = ((B % nb) + nb) % nb;
        *bin = b;
        *img = (B - b) / nb;
        return 1;
    }
    if (B < 0 || B >= nb) return 0;
    *bin = B;
    *img = 0;
    return 1;
}

bmd__nl_result bmd__nlist_build(bmd__nlist *nl, bmd__nl_scratch *scr, int n, const double *pos,
                                const double *cell, const unsigned char *pbc, double cutoff,
                                double skin) {
    nl->built = 0;
    bmd__nl_basis bs;
    if (bmd__nl_basis_make(cell, pbc, &bs)) return BMD__NL_BAD_CELL;
    const int *per = bs.periodic;
    const double rl = cutoff + skin;
    /* a hair wider than the range, so rounding never drops a pair at the edge */
    const double rl2 = rl * rl * (1.0 + 1e-12);
    if (reserve_atoms(nl, scr, n)) return BMD__NL_NOMEM;

    /* 1. fractional coordinates, wrapped on periodic axes */
    double *u = scr->frac;
    int *w = scr->wrap;
    double lo[3] = {INFINITY, INFINITY, INFINITY}, hi[3] = {-INFINITY, -INFINITY, -INFINITY};
    const double *Bi = bs.Binv;
    for (int i = 0; i < n; i++) {
        const double *p = pos + 3 * i;
        for (int k = 0; k < 3; k++) {
            double f = p[0] * Bi[k] + p[1] * Bi[3 + k] + p[2] * Bi[6 + k];
            if (!isfinite(f)) return BMD__NL_BAD_POS;
            if (per[k]) {
                double fl = floor(f);
                if (fabs(fl) > WRAP_MAX) return BMD__NL_BAD_POS;
                w[3 * i + k] = (int)fl;
                u[3 * i + k] = f - fl;
            } else {
                if (fabs(f) > 1e12) return BMD__NL_BAD_POS;
                w[3 * i + k] = 0;
                u[3 * i + k] = f;
                if (f < lo[k]) lo[k] = f;
                if (f > hi[k]) hi[k] = f;
            }
        }
    }

    /* 2. bins about rl/2 thick, at most ~2n + 64 of them; stencil reach m */
    int nb[3], m[3];
    double ext[3];
    for (int k = 0; k < 3; k++) {
        ext[k] = per[k] ? bs.width[k] : (n > 0 ? (hi[k] - lo[k]) * bs.width[k] : 0.0);
        double x = rl > 0 ? floor(ext[k] / (0.5 * rl)) : 1.0;
        nb[k] = x < 1.0 ? 1 : (x > 1e6 ? 1000000 : (int)x);
    }
    const double max_bins = 2.0 * n + 64.0;
    while ((double)nb[0] * nb[1] * nb[2] > max_bins) {
        int k = 0;
        for (int c = 1; c < 3; c++)
            if (nb[c] > nb[k]) k = c;
        nb[k] = (nb[k] + 1) / 2;
    }
    for (int k = 0; k < 3; k++) {
        double t = ext[k] / nb[k];
        if (per[k]) {
            double q = rl / t * (1.0 + 1e-9) + 1e-9;
            if (!(q < WRAP_MAX)) return BMD__NL_BAD_CELL;
            m[k] = (int)ceil(q);
        } else if (nb[k] == 1) {
            m[k] = 0;
        } else {
            double q = ceil(rl / t * (1.0 + 1e-9) + 1e-9);
            m[k] = q >= nb[k] - 1 ? nb[k] - 1 : (int)q;
        }
    }
    /* a cell far thinner than the range would need absurdly many images */
    const double n_stencil = (2.0 * m[0] + 1) * (2.0 * m[1] + 1) * (2.0 * m[2] + 1);
    if (n_stencil > 1e7) return BMD__NL_BAD_CELL;
    const int nbins = nb[0] * nb[1] * nb[2];
    {
        long c = next_cap(scr->cap_bins, nbins + 1L);
        if (c) {
            if (resize((void **)&scr->bin_start, c, sizeof(int))) return BMD__NL_NOMEM;
            scr->cap_bins = (int)c;
        }
    }
    if (reserve_stencil(scr, (long)n_stencil + 1)) return BMD__NL_NOMEM;

    /* counting sort of the atoms by bin; wrapped Cartesian positions in bin order */
    int *bin = scr->bin, *bstart = scr->bin_start, *batoms = scr->bin_atoms;
    memset(bstart, 0, (size_t)(nbins + 1) * sizeof(int));
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < 3; k++) {
            double x = per[k] ? u[3 * i + k] * nb[k]
                              : (hi[k] > lo[k] ? (u[3 * i + k] - lo[k]) / (hi[k] - lo[k]) * nb[k] : 0.0);
            int v = (int)x;
            bin[3 * i + k] = v < 0 ? 0 : (v >= nb[k] ? nb[k] - 1 : v);
        }
        bstart[(bin[3 * i] * nb[1] + bin[3 * i + 1]) * nb[2] + bin[3 * i + 2] + 1]++;
    }
    for (int b = 0; b < nbins; b++) bstart[b + 1] += bstart[b];
    for (int i = 0; i < n; i++) {
        int lb = (bin[3 * i] * nb[1] + bin[3 * i + 1]) * nb[2] + bin[3 * i + 2];
        batoms[bstart[lb]++] = i;
    }
    for (int b = nbins; b > 0; b--) bstart[b] = bstart[b - 1];
    bstart[0] = 0;
    double *bx = scr->bx;
    int *bw = scr->bw;
    for (int t = 0; t < n; t++) {
        int i = batoms[t];
        double v[3];
        image_vec(w + 3 * i, cell, per, v);
        for (int k = 0; k < 3; k++) {
            bx[3 * t + k] = pos[3 * i + k] - v[k];
            bw[3 * t + k] = w[3 * i + k];
        }
    }

    /* 3. half-stencil scan */
    scr->n_keys = 0;
    int hcap = 64;
    if (hash_reset(scr, hcap)) return BMD__NL_NOMEM;
    const int64_t key0 = pack(0, 0, 0);
    int64_t last_key = key0;
    int last_id = key_id(scr, &hcap, key0);
    if (last_id < 0) return BMD__NL_NOMEM;
    long np = 0;
    int *acc = scr->accept;
    for (int c0 = 0; c0 < nb[0]; c0++)
        for (int c1 = 0; c1 < nb[1]; c1++)
            for (int c2 = 0; c2 < nb[2]; c2++) {
                const int cb = (c0 * nb[1] + c1) * nb[2] + c2;
                const int tb0 = bstart[cb], tb1 = bstart[cb + 1];
                if (tb0 == tb1) continue;
                /* the half stencil as runs of consecutive bins along axis 2:
                 * rows (d0, d1) >= (0, 0) lexicographically; row (0, 0) holds
                 * d2 = 0..m2, whose first run (from the bin itself, image 0)
                 * is entry 0 and starts after the atom (later atoms only) */
                int ns = 0;
                for (int d0 = 0; d0 <= m[0]; d0++) {
                    int b0, i0;
                    if (!step_axis(c0, d0, nb[0], per[0], &b0, &i0)) continue;
                    for (int d1 = d0 ? -m[1] : 0; d1 <= m[1]; d1++) {
                        int b1, i1;
                        if (!step_axis(c1, d1, nb[1], per[1], &b1, &i1)) continue;
                        int lo2 = (d0 || d1) ? c2 - m[2] : c2, hi2 = c2 + m[2];
                        if (!per[2]) {
                            if (lo2 < 0) lo2 = 0;
                            if (hi2 > nb[2] - 1) hi2 = nb[2] - 1;
                        }
                        const int row = (b0 * nb[1] + b1) * nb[2];
                        for (int B = lo2; B <= hi2;) {
                            int i2 = per[2] ? (B >= 0 ? B / nb[2] : -((-B + nb[2] - 1) / nb[2])) : 0;
                            int end = per[2] ? (i2 + 1) * nb[2] - 1 : hi2;
                            if (end > hi2) end = hi2;
                            int t0 = bstart[row + B - i2 * nb[2]], t1 = bstart[row + end - i2 * nb[2] + 1];
                            B = end + 1;
                            if (t0 == t1 && ns > 0) continue; /* entry 0 is kept even when empty */
                            scr->st_t0[ns] = t0;
                            scr->st_t1[ns] = t1;
                            int *I = scr->st_img + 3 * ns;
                            I[0] = i0;
                            I[1] = i1;
                            I[2] = i2;
                            image_vec(I, cell, per, scr->st_vec + 3 * ns);
                            ns++;
                        }
                    }
                }
                for (int ti = tb0; ti < tb1; ti++) {
                    const int i = batoms[ti];
                    const double xi = bx[3 * ti], yi = bx[3 * ti + 1], zi = bx[3 * ti + 2];
                    const int *wi = bw + 3 * ti;
                    for (int k = 0; k < ns; k++) {
                        const double *S = scr->st_vec + 3 * k;
                        const double sx = S[0] - xi, sy = S[1] - yi, sz = S[2] - zi;
                        /* gather the slots within range without branching on the test */
                        int na = 0;
                        for (int tj = k ? scr->st_t0[k] : ti + 1, te = scr->st_t1[k]; tj < te; tj++) {
                            const double dx = bx[3 * tj] + sx, dy = bx[3 * tj + 1] + sy, dz = bx[3 * tj + 2] + sz;
                            acc[na] = tj;
                            na += dx * dx + dy * dy + dz * dz < rl2;
                        }
                        if (!na) continue;
                        if (np + na > scr->cap_pairs && reserve_pairs(scr, np + na)) return BMD__NL_NOMEM;
                        const int *I = scr->st_img + 3 * k;
                        for (int a = 0; a < na; a++) {
                            const int tj = acc[a], j = batoms[tj];
                            const int *wj = bw + 3 * tj;
                            int N0 = I[0] + wi[0] - wj[0], N1 = I[1] + wi[1] - wj[1], N2 = I[2] + wi[2] - wj[2];
                            int own = i, par = j;
                            int64_t key = pack(N0, N1, N2);
                            if (j < i || (j == i && key < key0)) {
                                own = j;
                                par = i;
                                key = pack(-N0, -N1, -N2);
                            }
                            int id = last_id;
                            if (key != last_key) {
                                id = key_id(scr, &hcap, key);
                                if (id < 0) return BMD__NL_NOMEM;
                                last_key = key;
                                last_id = id;
                            }
                            scr->p_own[np] = own;
                            scr->p_par[np] = par;
                            scr->p_sid[np] = id;
                            np++;
                        }
                    }
                }
            }
    if (np > (1L << 30)) return BMD__NL_NOMEM;
    const int nnz = (int)np;

    /* 4a. shift table sorted by triple (lexicographic = key order) */
    const int nk = scr->n_keys;
    {
        long c = next_cap(scr->cap_order, nk);
        if (c) {
            if (resize((void **)&scr->remap, c, sizeof(int)) || resize((void **)&scr->order, c, sizeof(bmd__nl_keyid)))
                return BMD__NL_NOMEM;
            scr->cap_order = (int)c;
        }
        c = next_cap(nl->cap_shifts, nk);
        if (c) {
            if (resize((void **)&nl->shift_n, 3 * c, sizeof(int)) ||
                resize((void **)&nl->shift_vec, 3 * c, sizeof(double)))
                return BMD__NL_NOMEM;
            nl->cap_shifts = (int)c;
        }
        c = next_cap(nl->cap_nnz, nnz);
        if (c) {
            if (c > (1L << 30) || resize((void **)&nl->j, c, sizeof(int)) || resize((void **)&nl->shift, c, sizeof(int)))
                return BMD__NL_NOMEM;
            nl->cap_nnz = (int)c;
        }
    }
    for (int t = 0; t < nk; t++) {
        scr->order[t].key = scr->keys[t];
        scr->order[t].id = t;
    }
    qsort(scr->order, (size_t)nk, sizeof *scr->order, cmp_keyid);
    for (int r = 0; r < nk; r++) {
        int id = scr->order[r].id;
        scr->remap[id] = r;
        unpack(scr->keys[id], nl->shift_n + 3 * r);
        image_vec(nl->shift_n + 3 * r, cell, per, nl->shift_vec + 3 * r);
    }
    nl->n_shifts = nk;

    /* 4b. stable counting sort by partner, then by owner (CSR) */
    int *cnt = scr->count;
    memset(cnt, 0, (size_t)(n + 1) * sizeof(int));
    for (int e = 0; e < nnz; e++) cnt[scr->p_par[e] + 1]++;
    for (int a = 0; a < n; a++) cnt[a + 1] += cnt[a];
    for (int e = 0; e < nnz; e++) {
        int q = cnt[scr->p_par[e]]++;
        scr->q_own[q] = scr->p_own[e];
        scr->q_par[q] = scr->p_par[e];
        scr->q_sid[q] = scr->remap[scr->p_sid[e]];
    }
    /* by (owner, imaged): each row holds its N = 0 entries first, then the
     * others, so that the force loop adds no image vector for most pairs */
    const int zsid = scr->remap[0]; /* the key (0,0,0) got id 0 */
    int *start = nl->start, *mid = nl->mid;
    memset(cnt, 0, (size_t)(2 * n + 1) * sizeof(int));
    for (int e = 0; e < nnz; e++) cnt[2 * scr->q_own[e] + (scr->q_sid[e] != zsid) + 1]++;
    for (int g = 0; g < 2 * n; g++) cnt[g + 1] += cnt[g];
    for (int a = 0; a < n; a++) {
        start[a] = cnt[2 * a];
        mid[a] = cnt[2 * a + 1];
    }
    start[n] = nnz;
    for (int e = 0; e < nnz; e++) {
        int q = cnt[2 * scr->q_own[e] + (scr->q_sid[e] != zsid)]++;
        nl->j[q] = scr->q_par[e];
        nl->shift[q] = scr->q_sid[e];
    }
    /* 4c. the same partner through several images (small cells): order those by image */
    for (int a = 0; a < n; a++)
        for (int e = mid[a] + 1; e < start[a + 1]; e++) {
            if (nl->j[e] != nl->j[e - 1]) continue;
            const int j = nl->j[e], s = nl->shift[e];
            int k = e - 1;
            while (k >= mid[a] && nl->j[k] == j && nl->shift[k] > s) {
                nl->shift[k + 1] = nl->shift[k];
                k--;
            }
            nl->shift[k + 1] = s;
        }
    nl->nnz = nnz;

    memcpy(nl->ref_pos, pos, 3 * (size_t)n * sizeof(double));
    memcpy(nl->ref_cell, cell, sizeof nl->ref_cell);
    for (int k = 0; k < 3; k++) nl->ref_pbc[k] = pbc[k] != 0;
    nl->n_atoms = n;
    nl->cutoff = cutoff;
    nl->skin = skin;
    nl->built = 1;
    nl->n_builds++;
    return BMD__NL_OK;
}
