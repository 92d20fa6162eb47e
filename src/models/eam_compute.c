/* eam_compute.c — owns the EAM kernel and compute driver (the equations are
 * in eam.c's header): per system, pass 1 over the half list sums the
 * densities (each pair adds to both atoms) and keeps the pairs within the
 * cutoff with their distance; then F(ρ) and F'(ρ) per atom (F extrapolated
 * linearly above ρ_max, as LAMMPS); pass 2 over the kept pairs gives forces,
 * pair energy and virial W_ab = Σ_pairs ψ'(r) r_a r_b / r, with
 * ψ' = F'_i ρ'_{j→i} + F'_j ρ'_{i→j} + φ'. Spline evaluation is LAMMPS's
 * (interval m = (int)(x/δ + 1) clamped, fraction p <= 1). Every sum runs in
 * list order and a pair counts iff r² < rc² (strict): a result depends only
 * on the pairs within the cutoff, never on when the list was built. The
 * driver: re-key the lists, then OpenMP over systems (one system per thread,
 * fixed order), rebuild a list only when stale; per-thread workspaces grow
 * geometrically and are reused (no allocation per call in steady state). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/model_internal.h"
#include "models/eam.h"
#ifdef _OPENMP
#include <omp.h>
#endif

#define NC BMD__EAM_NC

#if defined(__GNUC__)
#define EAM_INLINE __attribute__((always_inline)) inline
#else
#define EAM_INLINE inline
#endif

static int ensure(void **p, int *cap, long need, size_t elem) {
    if (need <= *cap) return 0;
    long c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    if (c > (1L << 30)) return 1;
    void *q = realloc(*p, (size_t)c * elem);
    if (!q) return 1;
    *p = q;
    *cap = (int)c;
    return 0;
}

/* ---- the kernel ---- */

typedef struct eam_job {
    int n;
    const double *pos;
    const int *type;
    const bmd__nlist *nl;
    double *rho, *fp; /* [n] workspace */
    int *pstart, *pj, *ps; /* pairs within the cutoff found by pass 1 (bmd__eam_ws) */
    double *pr;
    double *f;        /* [3n] zeroed by the caller */
    double *epa;      /* [n] or NULL */
    double energy, virial[6];
} eam_job;

/* the grid interval of x (LAMMPS: m = (int)(x/dx + 1), clamped; p its fraction) */
static EAM_INLINE int cell_of(double pm, int lo, int hi, double *p) {
    int m;
    if (!(pm < (double)hi)) m = hi; /* also NaN */
    else if (pm < (double)lo) m = lo;
    else m = (int)pm;
    double q = pm - m;
    *p = q < 1.0 ? q : 1.0;
    return m;
}

/* r of entry k of row i (part 0: same image; 1: shifted), d = r_j - r_i */
#define EAM_DELTA(part)                                                                              \
    do {                                                                                             \
        if (part) {                                                                                  \
            const double *restrict s_ = sv + 3 * sl[k + so];                                         \
            dx = (x[3 * j] + s_[0]) - xi;                                                            \
            dy = (x[3 * j + 1] + s_[1]) - yi;                                                        \
            dz = (x[3 * j + 2] + s_[2]) - zi;                                                        \
        } else {                                                                                     \
            dx = x[3 * j] - xi;                                                                      \
            dy = x[3 * j + 1] - yi;                                                                  \
            dz = x[3 * j + 2] - zi;                                                                  \
        }                                                                                            \
    } while (0)

static EAM_INLINE void eam_loop(const bmd__eam_model *em, eam_job *job, const int full) {
    const bmd__eam_table *tab = &em->tab;
    const int n = job->n, T = em->ntypes, nr = tab->nr, nrho = tab->nrho;
    const double cutsq = tab->cut * tab->cut, rdr = tab->rdr, rdrho = tab->rdrho, rhomax = tab->rhomax;
    const double *restrict x = job->pos;
    const int *restrict type = job->type;
    const int *restrict start = job->nl->start;
    const int *restrict mid = job->nl->mid;
    const int *restrict jl = job->nl->j;
    const int *restrict sl = job->nl->shift;
    const double *restrict sv = job->nl->shift_vec;
    const double *const *dens = em->dens, *const *z2 = em->z2;
    double *restrict rho = job->rho, *restrict fp = job->fp, *restrict f = job->f, *restrict epa = job->epa;

    /* pass 1: densities; the pairs within the cutoff are kept, in list order,
     * with their distance, for pass 2 */
    int *restrict pstart = job->pstart, *restrict pj = job->pj, *restrict ps = job->ps;
    double *restrict pr = job->pr;
    int np = 0;
    pstart[0] = 0;
    memset(rho, 0, (size_t)n * sizeof(double));
    for (int i = 0; i < n; i++) {
        const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
        const int ti = type[i];
        const int so = job->nl->soff[i]; /* imaged entry k: image sl[k + so] */
        double rhoi = 0.0;
        for (int part = 0; part < 2; part++) {
            const int k0 = part ? mid[i] : start[i], k1 = part ? start[i + 1] : mid[i];
            for (int k = k0; k < k1; k++) {
                const int j = jl[k];
                double dx, dy, dz;
                EAM_DELTA(part);
                const double r2 = dx * dx + dy * dy + dz * dz;
                if (r2 < cutsq) {
                    const int tj = type[j];
                    const double r = sqrt(r2);
                    double p;
                    const int m = cell_of(r * rdr + 1.0, 1, nr - 1, &p);
                    const double *c = dens[ti * T + tj] + NC * m;
                    rhoi += ((c[3] * p + c[4]) * p + c[5]) * p + c[6];
                    c = dens[tj * T + ti] + NC * m;
                    rho[j] += ((c[3] * p + c[4]) * p + c[5]) * p + c[6];
                    pj[np] = j;
                    ps[np] = part ? sl[k + so] : -1;
                    pr[np] = r;
                    np++;
                }
            }
        }
        rho[i] += rhoi;
        pstart[i + 1] = np;
    }
    /* embedding: F'(ρ) (and F) per atom */
    double e = 0.0;
    for (int i = 0; i < n; i++) {
        double p;
        const int m = cell_of(rho[i] * rdrho + 1.0, 1, nrho - 1, &p);
        const double *c = em->emb[type[i]] + NC * m;
        fp[i] = (c[0] * p + c[1]) * p + c[2];
        if (full) {
            double phi = ((c[3] * p + c[4]) * p + c[5]) * p + c[6];
            if (rho[i] > rhomax) phi += fp[i] * (rho[i] - rhomax);
            e += phi;
            if (epa) epa[i] = phi;
        }
    }
    /* pass 2: forces, pair energy, virial, over the pairs pass 1 kept */
    double w0 = 0.0, w1 = 0.0, w2 = 0.0, w3 = 0.0, w4 = 0.0, w5 = 0.0;
    for (int i = 0; i < n; i++) {
        const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
        const int ti = type[i];
        const double fpi = fp[i];
        double fxi = 0.0, fyi = 0.0, fzi = 0.0;
        for (int q = pstart[i]; q < pstart[i + 1]; q++) {
            const int j = pj[q], tj = type[j];
            double dx, dy, dz;
            if (ps[q] >= 0) { /* the same bits as in pass 1 */
                const double *restrict s_ = sv + 3 * ps[q];
                dx = (x[3 * j] + s_[0]) - xi;
                dy = (x[3 * j + 1] + s_[1]) - yi;
                dz = (x[3 * j + 2] + s_[2]) - zi;
            } else {
                dx = x[3 * j] - xi;
                dy = x[3 * j + 1] - yi;
                dz = x[3 * j + 2] - zi;
            }
            const double r = pr[q];
            double p;
            const int m = cell_of(r * rdr + 1.0, 1, nr - 1, &p);
            const double *c = dens[tj * T + ti] + NC * m; /* density at j from i */
            const double rhoip = (c[0] * p + c[1]) * p + c[2];
            c = dens[ti * T + tj] + NC * m; /* density at i from j */
            const double rhojp = (c[0] * p + c[1]) * p + c[2];
            c = z2[ti * T + tj] + NC * m;
            const double z2p = (c[0] * p + c[1]) * p + c[2];
            const double z2v = ((c[3] * p + c[4]) * p + c[5]) * p + c[6];
            const double recip = 1.0 / r;
            const double phi = z2v * recip;
            const double phip = z2p * recip - phi * recip;
            /* ψ' = F'_i ρ'_{j→i} + F'_j ρ'_{i→j} + φ'; fpair as pair.h: force on j = fpair d */
            const double fpair = -((fpi * rhojp + fp[j] * rhoip) + phip) * recip;
            const double fx = fpair * dx, fy = fpair * dy, fz = fpair * dz;
            fxi -= fx;
            fyi -= fy;
            fzi -= fz;
            f[3 * j] += fx;
            f[3 * j + 1] += fy;
            f[3 * j + 2] += fz;
            if (full) {
                e += phi;
                w0 -= fx * dx; /* W_ab = Σ ψ'(r) r_a r_b / r */
                w1 -= fy * dy;
                w2 -= fz * dz;
                w3 -= fz * dy;
                w4 -= fz * dx;
                w5 -= fy * dx;
                if (epa) {
                    epa[i] += 0.5 * phi;
                    epa[j] += 0.5 * phi;
                }
            }
        }
        f[3 * i] += fxi;
        f[3 * i + 1] += fyi;
        f[3 * i + 2] += fzi;
    }
    job->energy = e;
    job->virial[0] = w0;
    job->virial[1] = w1;
    job->virial[2] = w2;
    job->virial[3] = w3;
    job->virial[4] = w4;
    job->virial[5] = w5;
}

static void eam_kernel(const bmd__eam_model *em, eam_job *job, int full) {
    if (full) eam_loop(em, job, 1);
    else eam_loop(em, job, 0);
}

/* ---- the driver ---- */

static int compute_one(bmd__eam_model *em, bmd__eam_ws *ws, const bmd_batch *b, int s, const bmd_compute_request *req,
                       int full, unsigned char *rebuilt) {
    const int a0 = b->atom_start[s], n = b->atom_count[s];
    const double *pos = b->pos + 3 * (size_t)a0;
    bmd__nlist *nl = em->lists.list[s];
    if (!nl) return BMD__NL_NOMEM;
    int rb = 0;
    double t_nl = bmd__neighbor_tic(n); /* timers.h: the calling thread's share, sampled */
    bmd__nl_result r = bmd__nlist_update(nl, &ws->nl, n, pos, b->cell + 9 * (size_t)s, b->pbc + 3 * (size_t)s,
                                         em->tab.cut, em->skin, &rb);
    bmd__neighbor_toc(t_nl, n);
    *rebuilt = (unsigned char)rb;
    if (r == BMD__NL_BAD_POS) {
        bmd__compute_write_nan(b, s, req);
        return BMD__NL_OK;
    }
    if (r) {
        bmd__compute_write_nan(b, s, req);
        return r;
    }
    if (n > ws->cap_n || !ws->pstart) {
        int cap = ws->cap_n ? ws->cap_n : 64;
        while (cap < n) cap *= 2;
        int *t = realloc(ws->type, (size_t)cap * sizeof(int));
        if (t) ws->type = t;
        double *rh = t ? realloc(ws->rho, (size_t)cap * sizeof(double)) : NULL;
        if (rh) ws->rho = rh;
        double *fp = rh ? realloc(ws->fp, (size_t)cap * sizeof(double)) : NULL;
        if (fp) ws->fp = fp;
        int *st = fp ? realloc(ws->pstart, ((size_t)cap + 1) * sizeof(int)) : NULL;
        if (!st) return BMD__NL_NOMEM;
        ws->pstart = st;
        ws->cap_n = cap;
    }
    if (nl->nnz > ws->cap_pairs) { /* room for every entry of the list */
        int cap = ws->cap_pairs ? ws->cap_pairs : 1024;
        while (cap < nl->nnz) cap *= 2;
        int *a = realloc(ws->pj, (size_t)cap * sizeof(int));
        if (a) ws->pj = a;
        int *c = a ? realloc(ws->ps, (size_t)cap * sizeof(int)) : NULL;
        if (c) ws->ps = c;
        double *r = c ? realloc(ws->pr, (size_t)cap * sizeof(double)) : NULL;
        if (!r) return BMD__NL_NOMEM;
        ws->pr = r;
        ws->cap_pairs = cap;
    }
    const int *Z = b->Z + a0;
    const int other = em->n_elem;
    for (int i = 0; i < n; i++) {
        int z = Z[i];
        ws->type[i] = (z >= 0 && z < BMD_N_ELEMENTS) ? em->ztype[z] : other;
    }
    double *f;
    if (req->forces) {
        f = req->forces + 3 * (size_t)a0;
    } else {
        if (ensure((void **)&ws->f, &ws->cap_f, 3L * n, sizeof(double))) return BMD__NL_NOMEM;
        f = ws->f;
    }
    memset(f, 0, 3 * (size_t)n * sizeof(double));
    double *epa = req->energy_per_atom ? req->energy_per_atom + a0 : NULL;
    eam_job job = {.n = n, .pos = pos, .type = ws->type, .nl = nl, .rho = ws->rho, .fp = ws->fp,
                   .pstart = ws->pstart, .pj = ws->pj, .ps = ws->ps, .pr = ws->pr, .f = f, .epa = epa};
    eam_kernel(em, &job, full);
    if (req->energy) req->energy[s] = job.energy;
    if (req->virial) memcpy(req->virial + 6 * (size_t)s, job.virial, sizeof job.virial);
    return BMD__NL_OK;
}

bmd_status bmd__eam_compute(void *self, const bmd_batch *b, const bmd_compute_request *req) {
    bmd__eam_model *em = self;
    if (!b || !req) return bmd__fail(BMD_ERR_INVALID, "eam model: batch or request is NULL");
    bmd_status st = bmd__nlist_set_sync(&em->lists, b);
    if (st) return st;
    int nt = 1;
#ifdef _OPENMP
    nt = omp_get_max_threads();
#endif
    if (nt > em->n_ws) {
        bmd__eam_ws *w = realloc(em->ws, (size_t)nt * sizeof *w);
        if (!w) return bmd__fail(BMD_ERR_NOMEM, "out of memory for %d thread workspaces", nt);
        memset(w + em->n_ws, 0, (size_t)(nt - em->n_ws) * sizeof *w);
        em->ws = w;
        em->n_ws = nt;
    }
    const int ns = b->n_systems;
    if (ns + 1 > em->cap_err) {
        int cap = em->cap_err ? em->cap_err : 64;
        while (cap < ns + 1) cap *= 2;
        unsigned char *e = realloc(em->err, (size_t)cap);
        if (e) em->err = e;
        unsigned char *r = e ? realloc(em->rebuilt, (size_t)cap) : NULL;
        if (r) em->rebuilt = r;
        if (!e || !r) return bmd__fail(BMD_ERR_NOMEM, "out of memory computing %d systems", ns);
        em->cap_err = cap;
    }
    const int full = req->energy || req->virial || req->energy_per_atom;
    unsigned char *err = em->err, *rebuilt = em->rebuilt;
    const unsigned char *mask = req->mask;
    const int parallel = ns > 1 && b->n_atoms >= 512;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) if (parallel)
#else
    (void)parallel;
#endif
    for (int s = 0; s < ns; s++) {
        err[s] = 0;
        rebuilt[s] = 0;
        if (mask && !mask[s]) continue;
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        err[s] = (unsigned char)compute_one(em, &em->ws[tid], b, s, req, full, &rebuilt[s]);
    }
    for (int s = 0; s < ns; s++) em->n_builds += rebuilt[s];
    for (int s = 0; s < ns; s++) {
        if (!err[s]) continue;
        long long id = (long long)b->system_id[s];
        if (err[s] == BMD__NL_BAD_CELL)
            return bmd__fail(BMD_ERR_INVALID,
                             "eam model: system %lld (slot %d): its cell is degenerate along a periodic axis, or far "
                             "thinner than the neighbor range %g Å",
                             id, s, em->tab.cut + em->skin);
        return bmd__fail(BMD_ERR_NOMEM, "eam model: system %lld (slot %d): out of memory building its neighbor list",
                         id, s);
    }
    return BMD_OK;
}
