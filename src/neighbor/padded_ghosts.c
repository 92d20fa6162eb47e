/* padded_ghosts.c — owns the padded particle set of padded.h: its lifecycle,
 * the staleness test, the ghost images of a periodic cell (any number per
 * axis), the coordinate refresh between rebuilds, and the fold of ghost
 * forces back onto their owners. The full lists are built in
 * padded_lists.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "neighbor/padded.h"

#define MAX_PARTICLES (1L << 28)

void bmd__padded_init(bmd__padded *p) { memset(p, 0, sizeof *p); }

void bmd__padded_free(bmd__padded *p) {
    if (!p) return;
    free(p->owner);
    free(p->S);
    free(p->x);
    free(p->ref_pos);
    for (int k = 0; k < BMD__PADDED_MAX_LISTS; k++) {
        free(p->lists[k].start);
        free(p->lists[k].nbr);
    }
    bmd__padded_init(p);
}

void bmd__padded_scratch_free(bmd__padded_scratch *s) {
    if (!s) return;
    free(s->u);
    free(s->w);
    free(s->bin_start);
    free(s->bin_of);
    free(s->by_bin);
    free(s->count);
    free(s->pi);
    free(s->pj);
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

static int stale(const bmd__padded *p, int n, const double *pos, const double *cell, const unsigned char *pbc,
                 const bmd__padded_spec *spec) {
    if (!p->built || p->n != n || p->pad != spec->pad || p->skin != spec->skin || p->n_lists != spec->n_lists)
        return 1;
    for (int k = 0; k < spec->n_lists; k++)
        if (p->lists[k].cutoff != spec->cutoff[k] || p->lists[k].ghost_rows != (spec->ghost_rows[k] != 0)) return 1;
    if (memcmp(p->ref_cell, cell, sizeof p->ref_cell) != 0) return 1;
    for (int k = 0; k < 3; k++)
        if ((p->ref_pbc[k] != 0) != (pbc[k] != 0)) return 1;
    const double lim = 0.25 * spec->skin * spec->skin;
    const double *r = p->ref_pos;
    for (long i = 0; i < 3L * n; i += 3) {
        double dx = pos[i] - r[i], dy = pos[i + 1] - r[i + 1], dz = pos[i + 2] - r[i + 2];
        if (!(dx * dx + dy * dy + dz * dz <= lim)) return 1; /* also catches NaN */
    }
    return 0;
}

/* N.cell over the periodic axes, in one fixed order (same bits every time) */
static void image_vec(const int *N, const double *cell, const int *per, double *v) {
    v[0] = v[1] = v[2] = 0.0;
    for (int k = 0; k < 3; k++) {
        if (!per[k] || !N[k]) continue;
        double nk = (double)N[k];
        v[0] += nk * cell[3 * k];
        v[1] += nk * cell[3 * k + 1];
        v[2] += nk * cell[3 * k + 2];
    }
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

/* the image offsets m (relative to the home cell) of atom with wrapped
 * coordinates u that lie within t (in cell fractions) of the home cell */
static inline int inside(const double *u, const int *m, const double *t, const int *per) {
    for (int k = 0; k < 3; k++) {
        if (!per[k]) continue;
        double v = u[k] + m[k];
        if (!(v > -t[k] && v < 1.0 + t[k])) return 0;
    }
    return 1;
}

/* makes the particles; two passes over (image, atom): count, then fill */
static bmd__nl_result make_particles(bmd__padded *p, bmd__padded_scratch *scr, int n, const double *pos,
                                     const double *cell, const unsigned char *pbc, double range) {
    bmd__nl_basis bs;
    if (bmd__nl_basis_make(cell, pbc, &bs)) return BMD__NL_BAD_CELL;
    const int *per = bs.periodic;
    long c = next_cap(scr->cap_atoms, n + 1L);
    if (c) {
        if (c > MAX_PARTICLES || grow((void **)&scr->u, 3 * c, sizeof(double)) ||
            grow((void **)&scr->w, 3 * c, sizeof(int)))
            return BMD__NL_NOMEM;
        scr->cap_atoms = (int)c;
    }
    double *u = scr->u;
    int *w = scr->w;
    const double *Bi = bs.Binv;
    for (int i = 0; i < n; i++) {
        const double *x = pos + 3 * (size_t)i;
        for (int k = 0; k < 3; k++) {
            double f = x[0] * Bi[k] + x[1] * Bi[3 + k] + x[2] * Bi[6 + k];
            if (!isfinite(f) || fabs(f) > (per[k] ? BMD__NL_WRAP_MAX : 1e12)) return BMD__NL_BAD_POS;
            double fl = per[k] ? floor(f) : 0.0;
            w[3 * i + k] = (int)fl;
            u[3 * i + k] = f - fl;
        }
    }
    int M[3];
    double t[3];
    for (int k = 0; k < 3; k++) {
        t[k] = per[k] ? range / bs.width[k] : 0.0;
        double q = per[k] ? ceil(t[k]) : 0.0;
        if (!(q < 1e4)) return BMD__NL_BAD_CELL;
        M[k] = (int)q;
    }
    if ((2.0 * M[0] + 1) * (2.0 * M[1] + 1) * (2.0 * M[2] + 1) * (n > 0 ? n : 1) > 4e9) return BMD__NL_BAD_CELL;
    /* pass 1: count the ghosts */
    long total = n;
    int m[3];
    for (m[0] = -M[0]; m[0] <= M[0]; m[0]++)
        for (m[1] = -M[1]; m[1] <= M[1]; m[1]++)
            for (m[2] = -M[2]; m[2] <= M[2]; m[2]++) {
                if (!m[0] && !m[1] && !m[2]) continue;
                for (int i = 0; i < n; i++) total += inside(u + 3 * i, m, t, per);
                if (total > MAX_PARTICLES) return BMD__NL_BAD_CELL;
            }
    c = next_cap(p->cap_total, total);
    if (c) {
        if (grow((void **)&p->owner, c, sizeof(int)) || grow((void **)&p->S, 3 * c, sizeof(double)) ||
            grow((void **)&p->x, 3 * c, sizeof(double)))
            return BMD__NL_NOMEM;
        p->cap_total = (int)c;
    }
    /* pass 2: the atoms (their home-cell image), then the ghosts by (m, owner) */
    for (int i = 0; i < n; i++) {
        int N[3] = {-w[3 * i], -w[3 * i + 1], -w[3 * i + 2]};
        p->owner[i] = i;
        image_vec(N, cell, per, p->S + 3 * (size_t)i);
    }
    long q = n;
    for (m[0] = -M[0]; m[0] <= M[0]; m[0]++)
        for (m[1] = -M[1]; m[1] <= M[1]; m[1]++)
            for (m[2] = -M[2]; m[2] <= M[2]; m[2]++) {
                if (!m[0] && !m[1] && !m[2]) continue;
                for (int i = 0; i < n; i++) {
                    if (!inside(u + 3 * i, m, t, per)) continue;
                    int N[3] = {m[0] - w[3 * i], m[1] - w[3 * i + 1], m[2] - w[3 * i + 2]};
                    p->owner[q] = i;
                    image_vec(N, cell, per, p->S + 3 * (size_t)q);
                    q++;
                }
            }
    p->n_total = (int)total;
    return BMD__NL_OK;
}

bmd__nl_result bmd__padded_update(bmd__padded *p, bmd__padded_scratch *scr, int n, const double *pos,
                                  const double *cell, const unsigned char *pbc, const bmd__padded_spec *spec,
                                  int *rebuilt) {
    if (rebuilt) *rebuilt = 0;
    if (!stale(p, n, pos, cell, pbc, spec)) {
        refresh(p, pos);
        return BMD__NL_OK;
    }
    if (rebuilt) *rebuilt = 1;
    p->built = 0;
    if (spec->n_lists < 0 || spec->n_lists > BMD__PADDED_MAX_LISTS) return BMD__NL_BAD_CELL;
    double range = spec->pad;
    for (int k = 0; k < spec->n_lists; k++)
        if (spec->cutoff[k] > range) range = spec->cutoff[k];
    range += spec->skin;
    bmd__nl_result r = make_particles(p, scr, n, pos, cell, pbc, range);
    if (r) return r;
    refresh(p, pos);
    p->n = n;
    if ((r = bmd__padded_build_lists(p, scr, spec))) return r;
    long c = next_cap(p->cap_atoms, n + 1L);
    if (c) {
        if (grow((void **)&p->ref_pos, 3 * c, sizeof(double))) return BMD__NL_NOMEM;
        p->cap_atoms = (int)c;
    }
    memcpy(p->ref_pos, pos, 3 * (size_t)n * sizeof(double));
    memcpy(p->ref_cell, cell, sizeof p->ref_cell);
    for (int k = 0; k < 3; k++) p->ref_pbc[k] = pbc[k] != 0;
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
