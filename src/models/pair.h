/* pair.h — internal: the machinery shared by the pair potentials (lj.c,
 * morse.c): the per-species-pair coefficient table, the model object that
 * keeps one neighbor list per system, and the force loop, written once here
 * and instantiated per potential with its pair function inlined.
 *
 * A pair potential file provides
 *   - eval(c, r2, &fpair, &phi): for r2 < rc2, fpair = -phi'(r)/r and
 *     phi = phi(r) - c[BMD__PC_SHIFT], from the coefficients c of the pair;
 *   - coef(params, c): fills c[BMD__PC_P ...] from bmd_pair_params (and
 *     checks them, naming the pair on error);
 *   - a kernel that calls bmd__pair_loop(job, full, eval) (so that the
 *     compiler inlines eval), and its bmd_model_ops, whose functions are the
 *     bmd__pair_* below;
 * and its constructor calls bmd__pair_model_create. */
#ifndef BATCHMD_MODELS_PAIR_H
#define BATCHMD_MODELS_PAIR_H

#include <stddef.h>

#include "batchmd/model.h"
#include "neighbor/neighbor.h"

/* coefficients of one type pair: c[0] = rc², c[1] = φ(rc) when shifted (else
 * 0), c[2..7] the potential's own */
#define BMD__PAIR_NCOEF 8
enum { BMD__PC_RC2 = 0, BMD__PC_SHIFT = 1, BMD__PC_P = 2 };

/* One system's work: its list, positions, per-atom type, and outputs. */
typedef struct bmd__pair_job {
    int n;
    const double *pos;      /* [3n] the batch's positions of this system */
    const int *type;        /* [n] dense type index */
    const bmd__nlist *nl;
    const double *coef;     /* [ntypes * ntypes * BMD__PAIR_NCOEF] */
    int ntypes;
    int i0, i1;             /* rows to do: [i0, i1) (the whole system: 0, n) */
    int uniform;            /* 1: every atom has the same type */
    double *f;              /* [3n] zeroed by the caller, accumulated */
    double *epa;            /* [n] zeroed by the caller, or NULL */
    double energy;          /* out (full only) */
    double virial[6];       /* out (full only), Voigt xx yy zz yz xz xy */
} bmd__pair_job;

typedef void (*bmd__pair_eval_fn)(const double *c, double r2, double *fpair, double *phi);
typedef void (*bmd__pair_kernel_fn)(bmd__pair_job *job, int full);
typedef bmd_status (*bmd__pair_coef_fn)(const bmd_pair_params *p, double *c);

typedef struct bmd__pair_def {
    const bmd_model_ops *ops;  /* ops->type names the potential in messages */
    bmd__pair_kernel_fn kernel;
    bmd__pair_eval_fn eval;    /* used for the shift φ(rc) */
    bmd__pair_coef_fn coef;
} bmd__pair_def;

/* Validates the parameters, builds the type table and returns a heap model
 * whose self is the pair model. */
bmd_status bmd__pair_model_create(const bmd__pair_def *def, const bmd_pair_params *pairs,
                                  int n_pairs, const bmd_pair_options *opt, bmd_model **out);

/* The bmd_model_ops functions of every pair potential. */
bmd_status bmd__pair_compute(void *self, const bmd_batch *b, const bmd_compute_request *req);
bmd_status bmd__pair_check_system(void *self, const bmd_system *sys);
double bmd__pair_cutoff(void *self);
void bmd__pair_destroy(void *self);

/* Neighbor-list statistics of a pair model (for tests and timers): total list
 * builds so far over all systems; -1 when m is not a pair model. */
long bmd__pair_list_builds(const bmd_model *m);

#if defined(__GNUC__)
#define BMD__INLINE __attribute__((always_inline)) inline
#else
#define BMD__INLINE inline
#endif

/* Entries of a row handled per pass of the force loop (stack buffers). */
#define BMD__PAIR_CHUNK 64

/* The force loop over rows [i0, i1) of one system's half list. The order of
 * accumulation is fixed by the list's ordering (see neighbor.h): the result
 * depends only on the pairs within rc, not on when the list was built.
 * full = 0: forces only; full = 1: also energy, virial and (if job->epa)
 * energy per atom. Each row is done in chunks of three passes: (A) distances
 * of the chunk's entries, keeping those within rc in list order (branch-free
 * compaction), (B) the pair function over the kept ones (vectorisable: a
 * plain map, no reduction), (C) the accumulation in list order. Every sum is
 * formed in the same order as a one-pass loop over the list, so the bits are
 * those of the plain loop. job->uniform: every atom has the same type, so the
 * coefficients are one row (B vectorises with no gather). */
static BMD__INLINE void bmd__pair_rows(bmd__pair_job *job, int i0, int i1, const int full,
                                       bmd__pair_eval_fn eval) {
    const int T = job->ntypes;
    const double *restrict x = job->pos;
    const int *restrict type = job->type;
    const int *restrict start = job->nl->start;
    const int *restrict mid = job->nl->mid;
    const int *restrict soff = job->nl->soff;
    const int *restrict jl = job->nl->j;
    const int *restrict sl = job->nl->shift;
    const double *restrict sv = job->nl->shift_vec;
    const double *restrict coef = job->coef;
    double *restrict f = job->f;
    double *restrict epa = job->epa;
    const int uniform = job->uniform;
    double e = 0.0, w0 = 0.0, w1 = 0.0, w2 = 0.0, w3 = 0.0, w4 = 0.0, w5 = 0.0;
    double bdx[BMD__PAIR_CHUNK], bdy[BMD__PAIR_CHUNK], bdz[BMD__PAIR_CHUNK], br2[BMD__PAIR_CHUNK];
    double bfp[BMD__PAIR_CHUNK], bphi[BMD__PAIR_CHUNK];
    int bj[BMD__PAIR_CHUNK];
    for (int i = i0; i < i1; i++) {
        const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
        const double *restrict crow = coef + (size_t)type[i] * T * BMD__PAIR_NCOEF;
        const double *restrict cu = crow + (size_t)type[i] * BMD__PAIR_NCOEF; /* uniform: the one pair */
        double fxi = 0.0, fyi = 0.0, fzi = 0.0;
        /* part 0: partners in the same image (no image vector); part 1: the others */
        for (int part = 0; part < 2; part++) {
            const int k0 = part ? mid[i] : start[i], k1 = part ? start[i + 1] : mid[i];
            for (int kb = k0; kb < k1; kb += BMD__PAIR_CHUNK) {
                const int ke = k1 - kb > BMD__PAIR_CHUNK ? kb + BMD__PAIR_CHUNK : k1;
                int na = 0;
                if (part) {
                    const int so = soff[i];
                    for (int k = kb; k < ke; k++) {
                        const int j = jl[k];
                        const double *restrict s = sv + 3 * sl[k + so];
                        const double dx = (x[3 * j] + s[0]) - xi;
                        const double dy = (x[3 * j + 1] + s[1]) - yi;
                        const double dz = (x[3 * j + 2] + s[2]) - zi;
                        const double r2 = dx * dx + dy * dy + dz * dz;
                        const double rc2 = uniform ? cu[BMD__PC_RC2] : crow[(size_t)type[j] * BMD__PAIR_NCOEF];
                        bj[na] = j;
                        bdx[na] = dx;
                        bdy[na] = dy;
                        bdz[na] = dz;
                        br2[na] = r2;
                        na += r2 < rc2;
                    }
                } else {
                    for (int k = kb; k < ke; k++) {
                        const int j = jl[k];
                        const double dx = x[3 * j] - xi;
                        const double dy = x[3 * j + 1] - yi;
                        const double dz = x[3 * j + 2] - zi;
                        const double r2 = dx * dx + dy * dy + dz * dz;
                        const double rc2 = uniform ? cu[BMD__PC_RC2] : crow[(size_t)type[j] * BMD__PAIR_NCOEF];
                        bj[na] = j;
                        bdx[na] = dx;
                        bdy[na] = dy;
                        bdz[na] = dz;
                        br2[na] = r2;
                        na += r2 < rc2;
                    }
                }
                if (uniform) {
                    if (full)
                        for (int a = 0; a < na; a++) eval(cu, br2[a], &bfp[a], &bphi[a]);
                    else
                        for (int a = 0; a < na; a++) {
                            double phi;
                            eval(cu, br2[a], &bfp[a], &phi);
                        }
                } else {
                    for (int a = 0; a < na; a++)
                        eval(crow + (size_t)type[bj[a]] * BMD__PAIR_NCOEF, br2[a], &bfp[a], &bphi[a]);
                }
                for (int a = 0; a < na; a++) {
                    const int j = bj[a];
                    const double fpair = bfp[a], dx = bdx[a], dy = bdy[a], dz = bdz[a];
                    const double fx = fpair * dx, fy = fpair * dy, fz = fpair * dz;
                    fxi -= fx;
                    fyi -= fy;
                    fzi -= fz;
                    f[3 * j] += fx;
                    f[3 * j + 1] += fy;
                    f[3 * j + 2] += fz;
                    if (full) {
                        const double phi = bphi[a];
                        e += phi;
                        /* W_ab = Σ φ'(r) r_a r_b / r = -Σ fpair r_a r_b */
                        w0 -= fx * dx;
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

/* The whole system (rows job->i0 .. job->i1; see bmd__pair_job). */
static BMD__INLINE void bmd__pair_loop(bmd__pair_job *job, const int full, bmd__pair_eval_fn eval) {
    bmd__pair_rows(job, job->i0, job->i1, full, eval);
}

#endif
