/* lj.c — owns the Lennard-Jones pair function and its constructor:
 * φ(r) = 4ε[(σ/r)^12 − (σ/r)^6] (− φ(rc) when shifted), r < rc.
 * Coefficients per type pair (as LAMMPS's lj/cut): lj1 = 48εσ^12,
 * lj2 = 24εσ^6, lj3 = 4εσ^12, lj4 = 4εσ^6; the machinery is in pair.c. */
#include <math.h>

#include "batchmd/elements.h"
#include "models/pair.h"

enum { LJ1 = BMD__PC_P, LJ2, LJ3, LJ4 };

static BMD__INLINE void lj_eval(const double *c, double r2, double *fpair, double *phi) {
    const double r2inv = 1.0 / r2;
    const double r6inv = r2inv * r2inv * r2inv;
    *fpair = r6inv * (c[LJ1] * r6inv - c[LJ2]) * r2inv;
    *phi = r6inv * (c[LJ3] * r6inv - c[LJ4]) - c[BMD__PC_SHIFT];
}

static void lj_eval_fn(const double *c, double r2, double *fpair, double *phi) { lj_eval(c, r2, fpair, phi); }

/* an AVX2 clone beside the baseline one, picked at load time: the pair
 * function runs 4 pairs at a time (same bits: a plain map, no reduction) */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
static void lj_kernel(bmd__pair_job *job, int full) {
    if (full) bmd__pair_loop(job, 1, lj_eval);
    else bmd__pair_loop(job, 0, lj_eval);
}

static bmd_status lj_coef(const bmd_pair_params *p, double *c) {
    const double eps = p->p[0], sigma = p->p[1];
    if (!isfinite(eps) || !isfinite(sigma) || sigma <= 0) {
        const char *a = p->z1 ? bmd_element_symbol(p->z1) : "default";
        const char *b = p->z2 ? bmd_element_symbol(p->z2) : "default";
        return bmd__fail(BMD_ERR_INVALID, "lj model: pair %s-%s needs a finite epsilon and sigma > 0 (got %g, %g)",
                         a ? a : "?", b ? b : "?", eps, sigma);
    }
    const double s6 = pow(sigma, 6.0), s12 = s6 * s6;
    c[LJ1] = 48.0 * eps * s12;
    c[LJ2] = 24.0 * eps * s6;
    c[LJ3] = 4.0 * eps * s12;
    c[LJ4] = 4.0 * eps * s6;
    return BMD_OK;
}

static const bmd_model_ops lj_ops = {
    .type = "lj",
    .compute = bmd__pair_compute,
    .check_system = bmd__pair_check_system,
    .cutoff = bmd__pair_cutoff,
    .destroy = bmd__pair_destroy,
};

static const bmd__pair_def lj_def = {&lj_ops, lj_kernel, lj_eval_fn, lj_coef};

bmd_status bmd_model_lj_create(const bmd_pair_params *pairs, int n_pairs, const bmd_pair_options *opt,
                               bmd_model **out) {
    return bmd__pair_model_create(&lj_def, pairs, n_pairs, opt, out);
}
