/* pair.c — owns the pair-potential model object shared by lj.c and morse.c:
 * parameter validation, the dense species-type table with per-type-pair
 * coefficients (cutoff², shift, the potential's own), check_system, and the
 * compute driver: re-key the per-system neighbor lists, then OpenMP over
 * systems (each system by one thread, in its own fixed order), rebuild a
 * system's list only when stale, run the potential's kernel, write the
 * requested outputs of the masked systems. A system with an atom order
 * (neighbor/atom_order.h) is computed in that order: positions and types
 * gathered through it, list and kernel over the gathered copy, forces and
 * energies per atom scattered back. No allocation per call in steady
 * state: workspaces grow geometrically and are reused. */
#include "models/model_internal.h"
#include "models/pair.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchmd/elements.h"
#include "neighbor/atom_order.h"
#ifdef _OPENMP
#include <omp.h>
#endif

/* systems of at least this many atoms are computed by all threads together */
#define BMD__PAIR_SPLIT_MIN 4096
#define BMD__PAIR_MAX_SPLIT 256

typedef struct pair_ws { /* one thread's workspace */
    bmd__nl_scratch nl;
    int cap_type, cap_f;
    int *type;
    double *f;
    int cap_perm, cap_g;
    int *perm;      /* [n] atom at each place of the system's order */
    double *g;      /* [6n or 7n] gathered positions, then forces (and energies per atom) in that order */
} pair_ws;

/* Where a system's results go when it was computed in its atom order */
typedef struct scatter {
    const int *perm; /* NULL: computed in the batch's order, nothing to do */
    double *f, *epa; /* the outputs in the batch's order (epa may be NULL) */
} scatter;

typedef struct pair_model {
    const bmd__pair_def *def;
    int ntypes;               /* listed species + 1 ("any other species") */
    int *type_z;              /* [ntypes] Z of each type, 0 for "other" */
    int ztype[BMD_N_ELEMENTS];
    double *coef;             /* [ntypes² * NCOEF] */
    unsigned char *has;       /* [ntypes²] the type pair has parameters */
    double max_cutoff, skin;
    int shift, has_default;
    bmd__nlist_set lists;
    int n_ws;
    pair_ws *ws;
    int cap_err;
    unsigned char *err;       /* [n_systems] per-system bmd__nl_result of the last compute */
    unsigned char *rebuilt;   /* [n_systems] its list was rebuilt in the last compute */
    long n_builds;            /* list builds so far, all systems */
    const double *order;      /* the batch's atom-order column (atom_order.h) in this compute, or NULL */
    const double *order_ver;  /* ... and its per-system version */
} pair_model;

static const char *sym(int z) {
    const char *s = bmd_element_symbol(z);
    return s ? s : "?";
}

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

static void free_model(pair_model *pm) {
    if (!pm) return;
    bmd__nlist_set_free(&pm->lists);
    for (int t = 0; t < pm->n_ws; t++) {
        bmd__nl_scratch_free(&pm->ws[t].nl);
        free(pm->ws[t].type);
        free(pm->ws[t].f);
        free(pm->ws[t].perm);
        free(pm->ws[t].g);
    }
    free(pm->ws);
    free(pm->err);
    free(pm->rebuilt);
    free(pm->type_z);
    free(pm->coef);
    free(pm->has);
    free(pm);
}

static int same_pair(const bmd_pair_params *p, int a, int b) {
    return (p->z1 == a && p->z2 == b) || (p->z1 == b && p->z2 == a);
}

bmd_status bmd__pair_model_create(const bmd__pair_def *def, const bmd_pair_params *pairs,
                                  int n_pairs, const bmd_pair_options *opt, bmd_model **out) {
    const char *name = def->ops->type;
    if (!out) return bmd__fail(BMD_ERR_INVALID, "%s model: out is NULL", name);
    *out = NULL;
    if (!opt) return bmd__fail(BMD_ERR_INVALID, "%s model: options are NULL", name);
    if (n_pairs <= 0 || !pairs)
        return bmd__fail(BMD_ERR_INVALID, "%s model: no species-pair parameters given", name);
    if (!isfinite(opt->skin) || opt->skin < 0)
        return bmd__fail(BMD_ERR_INVALID, "%s model: skin must be a finite number >= 0 (got %g)", name,
                         opt->skin);
    int n_default = 0;
    for (int a = 0; a < n_pairs; a++) {
        const bmd_pair_params *p = &pairs[a];
        if (p->z1 < 0 || p->z1 >= BMD_N_ELEMENTS || p->z2 < 0 || p->z2 >= BMD_N_ELEMENTS)
            return bmd__fail(BMD_ERR_INVALID, "%s model: pair %d has an invalid atomic number (%d, %d)",
                             name, a, p->z1, p->z2);
        if ((p->z1 == 0) != (p->z2 == 0))
            return bmd__fail(BMD_ERR_INVALID,
                             "%s model: pair %d mixes species 0 with %s; Z = 0 is only the default entry "
                             "(z1 = z2 = 0)", name, a, sym(p->z1 ? p->z1 : p->z2));
        if (!isfinite(p->cutoff) || p->cutoff <= 0)
            return bmd__fail(BMD_ERR_INVALID, "%s model: cutoff of pair %s-%s must be > 0 (got %g)", name,
                             sym(p->z1), sym(p->z2), p->cutoff);
        for (int b = 0; b < a; b++)
            if (same_pair(&pairs[b], p->z1, p->z2))
                return bmd__fail(BMD_ERR_INVALID, "%s model: parameters given twice for species pair %s-%s",
                                 name, p->z1 ? sym(p->z1) : "default", p->z2 ? sym(p->z2) : "default");
        double c[BMD__PAIR_NCOEF] = {0};
        bmd_status st = def->coef(p, c);
        if (st) return st;
        if (p->z1 == 0) n_default++;
    }
    if (opt->has_default && !n_default)
        return bmd__fail(BMD_ERR_INVALID, "%s model: has_default is set but no default entry (z1 = z2 = 0) given",
                         name);
    if (!opt->has_default && n_default)
        return bmd__fail(BMD_ERR_INVALID, "%s model: a default entry (z1 = z2 = 0) needs has_default = 1", name);

    pair_model *pm = calloc(1, sizeof *pm);
    if (!pm) return bmd__fail(BMD_ERR_NOMEM, "out of memory creating the %s model", name);
    pm->def = def;
    pm->skin = opt->skin;
    pm->shift = opt->shift != 0;
    pm->has_default = opt->has_default != 0;

    /* dense types: listed species in ascending Z, then "other" */
    unsigned char seen[BMD_N_ELEMENTS] = {0};
    for (int a = 0; a < n_pairs; a++) {
        seen[pairs[a].z1] = 1;
        seen[pairs[a].z2] = 1;
    }
    int K = 0;
    for (int z = 1; z < BMD_N_ELEMENTS; z++) K += seen[z];
    int T = K + 1;
    pm->ntypes = T;
    pm->type_z = calloc((size_t)T, sizeof(int));
    pm->coef = calloc((size_t)T * T * BMD__PAIR_NCOEF, sizeof(double));
    pm->has = calloc((size_t)T * T, 1);
    if (!pm->type_z || !pm->coef || !pm->has) {
        free_model(pm);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory creating the %s model", name);
    }
    for (int z = 0; z < BMD_N_ELEMENTS; z++) pm->ztype[z] = K;
    for (int z = 1, t = 0; z < BMD_N_ELEMENTS; z++)
        if (seen[z]) {
            pm->ztype[z] = t;
            pm->type_z[t++] = z;
        }
    pm->type_z[K] = 0;
    for (int ta = 0; ta < T; ta++)
        for (int tb = 0; tb < T; tb++) {
            int za = pm->type_z[ta], zb = pm->type_z[tb];
            const bmd_pair_params *p = NULL, *dflt = NULL;
            for (int a = 0; a < n_pairs; a++) {
                if (pairs[a].z1 == 0) dflt = &pairs[a];
                else if (za && zb && same_pair(&pairs[a], za, zb)) p = &pairs[a];
            }
            if (!p && pm->has_default) p = dflt;
            if (!p) continue; /* rc² = 0: never interacts */
            double *c = pm->coef + ((size_t)ta * T + tb) * BMD__PAIR_NCOEF;
            def->coef(p, c);
            c[BMD__PC_RC2] = p->cutoff * p->cutoff;
            c[BMD__PC_SHIFT] = 0.0;
            if (pm->shift) {
                double fp, phi;
                def->eval(c, c[BMD__PC_RC2], &fp, &phi);
                c[BMD__PC_SHIFT] = phi;
            }
            pm->has[ta * T + tb] = 1;
            if (p->cutoff > pm->max_cutoff) pm->max_cutoff = p->cutoff;
        }

    bmd_model *m = calloc(1, sizeof *m);
    if (!m) {
        free_model(pm);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory creating the %s model", name);
    }
    m->ops = def->ops;
    m->self = pm;
    *out = m;
    return BMD_OK;
}

void bmd__pair_destroy(void *self) { free_model(self); }

double bmd__pair_cutoff(void *self) { return ((pair_model *)self)->max_cutoff; }

long bmd__pair_list_builds(const bmd_model *m) {
    /* every pair potential's ops table has this compute (pair.h) */
    if (!m || !m->ops || m->ops->compute != bmd__pair_compute) return -1;
    const pair_model *pm = m->self;
    return pm->n_builds;
}

bmd_status bmd__pair_check_system(void *self, const bmd_system *sys) {
    pair_model *pm = self;
    const char *name = pm->def->ops->type;
    if (!sys) return bmd__fail(BMD_ERR_INVALID, "%s model: system is NULL", name);
    unsigned char present[BMD_N_ELEMENTS] = {0};
    for (int i = 0; i < sys->n_atoms; i++) {
        int z = sys->Z[i];
        if (z < 0 || z >= BMD_N_ELEMENTS)
            return bmd__fail(BMD_ERR_INVALID, "%s model: atom %d has an invalid atomic number %d", name, i, z);
        present[z] = 1;
        for (int c = 0; c < 3; c++)
            if (!isfinite(sys->pos[3 * i + c]))
                return bmd__fail(BMD_ERR_NUMERIC, "%s model: atom %d has a non-finite position", name, i);
    }
    if (bmd__cell_degenerate(sys->cell, sys->pbc))
        return bmd__fail(BMD_ERR_INVALID,
                         "%s model: the cell is degenerate along its periodic axes (pbc %c%c%c)", name,
                         sys->pbc[0] ? 'T' : 'F', sys->pbc[1] ? 'T' : 'F', sys->pbc[2] ? 'T' : 'F');
    char msg[1024];
    int len = 0, missing = 0;
    const int T = pm->ntypes;
    for (int za = 0; za < BMD_N_ELEMENTS; za++) {
        if (!present[za]) continue;
        for (int zb = za; zb < BMD_N_ELEMENTS; zb++) {
            if (!present[zb]) continue;
            if (pm->has[pm->ztype[za] * T + pm->ztype[zb]]) continue;
            if (len < (int)sizeof msg - 64)
                len += snprintf(msg + len, sizeof msg - (size_t)len, "%s%s-%s", missing ? ", " : "", sym(za),
                                sym(zb));
            missing++;
        }
    }
    if (missing)
        return bmd__fail(BMD_ERR_NOT_FOUND, "no %s parameters for species pair%s %s", name,
                         missing > 1 ? "s" : "", msg);
    return BMD_OK;
}

/* The system's atom order into ws->perm, its positions gathered into
 * ws->g; 0 when it has none (or a malformed one: the batch's order then). */
static int gather(pair_model *pm, pair_ws *ws, const bmd_batch *b, int s, int req_epa, int *out) {
    const int a0 = b->atom_start[s], n = b->atom_count[s];
    const double *ord = pm->order ? pm->order + BMD__ORDER_WIDTH * (size_t)a0 : NULL;
    *out = 0;
    if (!ord || ord[0] == 0) return BMD__NL_OK;
    const long per_atom = req_epa ? 7 : 6; /* position, force (, energy) */
    if (ensure((void **)&ws->perm, &ws->cap_perm, n, sizeof(int)) ||
        ensure((void **)&ws->g, &ws->cap_g, per_atom * n, sizeof(double)))
        return BMD__NL_NOMEM;
    const double *pos = b->pos + 3 * (size_t)a0, *c = b->cell + 9 * (size_t)s;
    for (int k = 0; k < n; k++) {
        const double *o = ord + BMD__ORDER_WIDTH * (size_t)k;
        if (!(o[0] >= 1 && o[0] <= n)) return BMD__NL_OK;
        const int j = (int)o[0] - 1;
        ws->perm[k] = j;
        /* wrapped by the image it had when the order was made: a fixed
         * lattice vector, in a fixed order of operations */
        double w[3];
        bmd__order_images(o[1], w);
        for (int d = 0; d < 3; d++)
            ws->g[3 * (size_t)k + d] = pos[3 * (size_t)j + d] - ((w[0] * c[d] + w[1] * c[3 + d]) + w[2] * c[6 + d]);
    }
    *out = 1;
    return BMD__NL_OK;
}

/* Brings slot s's list up to date and sets up its job (types, zeroed
 * outputs; in the system's atom order when it has one: *sc says where the
 * results go back). Returns a bmd__nl_result; *skip = 1 when the outputs
 * were set to NaN instead (positions not finite). */
static int prepare(pair_model *pm, pair_ws *ws, const bmd_batch *b, int s, const bmd_compute_request *req,
                   unsigned char *rebuilt, int *skip, bmd__pair_job *job, scatter *sc) {
    const int a0 = b->atom_start[s], n = b->atom_count[s];
    const double *pos = b->pos + 3 * (size_t)a0;
    bmd__nlist *nl = pm->lists.list[s];
    *skip = 1;
    sc->perm = NULL;
    if (!nl) return BMD__NL_NOMEM;
    int ordered = 0;
    if (gather(pm, ws, b, s, req->energy_per_atom != NULL, &ordered)) return BMD__NL_NOMEM;
    /* a list is over the order it was built in: a new order, a new list */
    const double key = ordered ? pm->order_ver[s] : 0.0;
    if (nl->order_key != key) nl->built = 0;
    nl->order_key = key;
    if (ordered) pos = ws->g;
    int rb = 0;
    double t_nl = bmd__neighbor_tic(n); /* timers.h: the calling thread's share, sampled */
    bmd__nl_result r = bmd__nlist_update(nl, &ws->nl, n, pos, b->cell + 9 * (size_t)s,
                                         b->pbc + 3 * (size_t)s, pm->max_cutoff, pm->skin, &rb);
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
    if (ensure((void **)&ws->type, &ws->cap_type, n, sizeof(int))) return BMD__NL_NOMEM;
    const int *Z = b->Z + a0;
    const int other = pm->ntypes - 1;
    int uniform = 1;
    for (int i = 0; i < n; i++) {
        int z = Z[ordered ? ws->perm[i] : i];
        ws->type[i] = (z >= 0 && z < BMD_N_ELEMENTS) ? pm->ztype[z] : other;
        uniform &= ws->type[i] == ws->type[0];
    }
    double *f;
    if (req->forces) {
        f = req->forces + 3 * (size_t)a0;
    } else {
        if (ensure((void **)&ws->f, &ws->cap_f, 3L * n, sizeof(double))) return BMD__NL_NOMEM;
        f = ws->f;
    }
    double *epa = req->energy_per_atom ? req->energy_per_atom + a0 : NULL;
    if (ordered) { /* results in the order's places first (scatter_back) */
        *sc = (scatter){ws->perm, f, epa};
        f = ws->g + 3 * (size_t)n;
        if (epa) epa = ws->g + 6 * (size_t)n;
    }
    memset(f, 0, 3 * (size_t)n * sizeof(double));
    if (epa) memset(epa, 0, (size_t)n * sizeof(double));
    *job = (bmd__pair_job){.n = n, .pos = pos, .type = ws->type, .nl = nl, .coef = pm->coef,
                           .ntypes = pm->ntypes, .i0 = 0, .i1 = n, .uniform = uniform, .f = f, .epa = epa};
    *skip = 0;
    return BMD__NL_OK;
}

/* Forces and energies per atom from the order's places to the atoms' */
static void scatter_back(const scatter *sc, const bmd__pair_job *job) {
    if (!sc->perm) return;
    const int *perm = sc->perm;
    for (int k = 0; k < job->n; k++) {
        const size_t j = (size_t)perm[k];
        sc->f[3 * j] = job->f[3 * (size_t)k];
        sc->f[3 * j + 1] = job->f[3 * (size_t)k + 1];
        sc->f[3 * j + 2] = job->f[3 * (size_t)k + 2];
    }
    if (sc->epa)
        for (int k = 0; k < job->n; k++) sc->epa[perm[k]] = job->epa[k];
}

static void store(const bmd_compute_request *req, int s, const bmd__pair_job *job) {
    if (req->energy) req->energy[s] = job->energy;
    if (req->virial) memcpy(req->virial + 6 * (size_t)s, job->virial, sizeof job->virial);
}

/* one system by one thread */
static int compute_one(pair_model *pm, pair_ws *ws, const bmd_batch *b, int s,
                       const bmd_compute_request *req, int full, unsigned char *rebuilt) {
    bmd__pair_job job;
    scatter sc;
    int skip;
    int r = prepare(pm, ws, b, s, req, rebuilt, &skip, &job, &sc);
    if (r || skip) return r;
    pm->def->kernel(&job, full);
    scatter_back(&sc, &job);
    store(req, s, &job);
    return BMD__NL_OK;
}

/* One big system by nt threads: thread t does rows [t n / nt, (t+1) n / nt)
 * into its own force (and energy-per-atom) array — thread 0 into the output
 * itself — and the arrays are summed in thread order, as are the energies and
 * virials. The rows' split depends only on n and nt, so the bits depend only
 * on the system and the number of threads (not on its batch, nor on when its
 * list was built). */
static int compute_split(pair_model *pm, int nt, const bmd_batch *b, int s, const bmd_compute_request *req,
                         int full, unsigned char *rebuilt) {
    bmd__pair_job job;
    scatter sc;
    int skip;
    int r = prepare(pm, &pm->ws[0], b, s, req, rebuilt, &skip, &job, &sc);
    if (r || skip) return r;
    const int n = job.n;
    const int per_atom = 3 + (job.epa ? 1 : 0);
    for (int t = 1; t < nt; t++)
        if (ensure((void **)&pm->ws[t].f, &pm->ws[t].cap_f, (long)per_atom * n, sizeof(double)))
            return BMD__NL_NOMEM;
    bmd__pair_job jt[BMD__PAIR_MAX_SPLIT];
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
#endif
    {
        int t = 0;
#ifdef _OPENMP
        t = omp_get_thread_num();
#endif
        bmd__pair_job *my = &jt[t];
        *my = job;
        my->i0 = (int)((long)t * n / nt);
        my->i1 = (int)((long)(t + 1) * n / nt);
        if (t) {
            my->f = pm->ws[t].f;
            memset(my->f, 0, (size_t)per_atom * n * sizeof(double));
            if (job.epa) my->epa = my->f + 3 * (size_t)n;
        }
        pm->def->kernel(my, full);
#ifdef _OPENMP
#pragma omp barrier
#pragma omp for schedule(static) nowait /* the region's end is the barrier */
#endif
        for (int a = 0; a < n; a++) {
            for (int u = 1; u < nt; u++) {
                const double *fu = pm->ws[u].f;
                job.f[3 * a] += fu[3 * a];
                job.f[3 * a + 1] += fu[3 * a + 1];
                job.f[3 * a + 2] += fu[3 * a + 2];
                if (job.epa) job.epa[a] += fu[3 * (size_t)n + a];
            }
        }
    }
    job.energy = jt[0].energy;
    memcpy(job.virial, jt[0].virial, sizeof job.virial);
    for (int t = 1; t < nt; t++) {
        job.energy += jt[t].energy;
        for (int c = 0; c < 6; c++) job.virial[c] += jt[t].virial[c];
    }
    scatter_back(&sc, &job);
    store(req, s, &job);
    return BMD__NL_OK;
}

bmd_status bmd__pair_compute(void *self, const bmd_batch *b, const bmd_compute_request *req) {
    pair_model *pm = self;
    const char *name = pm->def->ops->type;
    if (!b || !req) return bmd__fail(BMD_ERR_INVALID, "%s model: batch or request is NULL", name);
    bmd_status st = bmd__nlist_set_sync(&pm->lists, b);
    if (st) return st;
    pm->order = bmd__order_find(b, &pm->order_ver);
    int nt = 1;
#ifdef _OPENMP
    nt = omp_get_max_threads();
#endif
    if (nt > pm->n_ws) {
        pair_ws *w = realloc(pm->ws, (size_t)nt * sizeof *w);
        if (!w) return bmd__fail(BMD_ERR_NOMEM, "out of memory for %d thread workspaces", nt);
        memset(w + pm->n_ws, 0, (size_t)(nt - pm->n_ws) * sizeof *w);
        pm->ws = w;
        pm->n_ws = nt;
    }
    const int ns = b->n_systems;
    if (ns + 1 > pm->cap_err) {
        int cap = pm->cap_err ? pm->cap_err : 64;
        while (cap < ns + 1) cap *= 2;
        unsigned char *e = realloc(pm->err, (size_t)cap);
        if (e) pm->err = e;
        unsigned char *r = e ? realloc(pm->rebuilt, (size_t)cap) : NULL;
        if (r) pm->rebuilt = r;
        if (!e || !r) return bmd__fail(BMD_ERR_NOMEM, "out of memory computing %d systems", ns);
        pm->cap_err = cap;
    }
    const int full = req->energy || req->virial || req->energy_per_atom;
    unsigned char *err = pm->err, *rebuilt = pm->rebuilt;
    const unsigned char *mask = req->mask;
    /* Systems of at least BMD__PAIR_SPLIT_MIN atoms are each shared by all
     * threads (one after the other); the others go one per thread. Which way
     * a system goes depends only on its size and the number of threads.
     * Threads only pay off with several systems and enough atoms; small
     * batches stay serial (spinning threads cost more than they give). */
    if (nt > BMD__PAIR_MAX_SPLIT) nt = BMD__PAIR_MAX_SPLIT;
    const int split = nt > 1;
    int n_small_atoms = 0, n_small = 0;
    for (int s = 0; s < ns; s++)
        if (!split || b->atom_count[s] < BMD__PAIR_SPLIT_MIN) {
            n_small_atoms += b->atom_count[s];
            n_small++;
        }
    const int parallel = n_small > 1 && n_small_atoms >= 1024;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) if (parallel)
#else
    (void)parallel;
#endif
    for (int s = 0; s < ns; s++) {
        err[s] = 0;
        rebuilt[s] = 0;
        if (mask && !mask[s]) continue;
        if (split && b->atom_count[s] >= BMD__PAIR_SPLIT_MIN) continue;
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        err[s] = (unsigned char)compute_one(pm, &pm->ws[tid], b, s, req, full, &rebuilt[s]);
    }
    if (split)
        for (int s = 0; s < ns; s++) {
            if ((mask && !mask[s]) || b->atom_count[s] < BMD__PAIR_SPLIT_MIN) continue;
            err[s] = (unsigned char)compute_split(pm, nt, b, s, req, full, &rebuilt[s]);
        }
    for (int s = 0; s < ns; s++) pm->n_builds += rebuilt[s];
    for (int s = 0; s < ns; s++) {
        if (!err[s]) continue;
        long long id = (long long)b->system_id[s];
        if (err[s] == BMD__NL_BAD_CELL)
            return bmd__fail(BMD_ERR_INVALID,
                             "%s model: system %lld (slot %d): its cell is degenerate along a periodic axis, "
                             "or far thinner than the neighbor range %g Å",
                             name, id, s, pm->max_cutoff + pm->skin);
        return bmd__fail(BMD_ERR_NOMEM, "%s model: system %lld (slot %d): out of memory building its neighbor list",
                         name, id, s);
    }
    return BMD_OK;
}
