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
 * builds so far over all systems. */
long bmd__pair_list_builds(const bmd_model *m);

#if defined(__GNUC__)
#define BMD__INLINE __attribute__((always_inline)) inline
#else
#define BMD__INLINE inline
#endif

/* The force loop over one system's half list. The order of accumulation is
 * fixed by the list's ordering (see neighbor.h): the result depends only on
 * the pairs within rc, not on when the list was built. full = 0: forces only;
 * full = 1: also energy, virial and (if job->epa) energy per atom. */
static BMD__INLINE void bmd__pair_loop(bmd__pair_job *job, const int full, bmd__pair_eval_fn eval) {
    const int n = job->n, T = job->ntypes;
    const double *restrict x = job->pos;
    const int *restrict type = job->type;
    const int *restrict start = job->nl->start;
    const int *restrict mid = job->nl->mid;
    const int *restrict jl = job->nl->j;
    const int *restrict sl = job->nl->shift;
    const double *restrict sv = job->nl->shift_vec;
    const double *restrict coef = job->coef;
    double *restrict f = job->f;
    double *restrict epa = job->epa;
    double e = 0.0, w0 = 0.0, w1 = 0.0, w2 = 0.0, w3 = 0.0, w4 = 0.0, w5 = 0.0;
    for (int i = 0; i < n; i++) {
        const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
        const double *restrict crow = coef + (size_t)type[i] * T * BMD__PAIR_NCOEF;
        double fxi = 0.0, fyi = 0.0, fzi = 0.0;
        /* part 0: partners in the same image (no image vector); part 1: the others */
        for (int part = 0; part < 2; part++) {
            const int k0 = part ? mid[i] : start[i], k1 = part ? start[i + 1] : mid[i];
            for (int k = k0; k < k1; k++) {
                const int j = jl[k];
                double dx, dy, dz;
                if (part) {
                    const double *restrict s = sv + 3 * sl[k];
                    dx = (x[3 * j] + s[0]) - xi;
                    dy = (x[3 * j + 1] + s[1]) - yi;
                    dz = (x[3 * j + 2] + s[2]) - zi;
                } else {
                    dx = x[3 * j] - xi;
                    dy = x[3 * j + 1] - yi;
                    dz = x[3 * j + 2] - zi;
                }
                const double r2 = dx * dx + dy * dy + dz * dz;
                const double *restrict c = crow + (size_t)type[j] * BMD__PAIR_NCOEF;
                if (r2 < c[BMD__PC_RC2]) {
                    double fpair, phi;
                    eval(c, r2, &fpair, &phi);
                    const double fx = fpair * dx, fy = fpair * dy, fz = fpair * dz;
                    fxi -= fx;
                    fyi -= fy;
                    fzi -= fz;
                    f[3 * j] += fx;
                    f[3 * j + 1] += fy;
                    f[3 * j + 2] += fz;
                    if (full) {
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

#endif
