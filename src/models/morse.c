/* morse.c — owns the Morse pair function and its constructor:
 * φ(r) = D0[e^{−2α(r−r0)} − 2e^{−α(r−r0)}] (− φ(rc) when shifted), r < rc,
 * as LAMMPS's pair_style morse; the machinery is in pair.c. */
#include <math.h>

#include "batchmd/elements.h"
#include "models/pair.h"

enum { D0 = BMD__PC_P, ALPHA, R0, M1 /* 2 α D0 */ };

static BMD__INLINE void morse_eval(const double *c, double r2, double *fpair, double *phi) {
    const double r = sqrt(r2);
    const double d = exp(-c[ALPHA] * (r - c[R0]));
    *fpair = c[M1] * (d * d - d) / r;
    *phi = c[D0] * (d * d - 2.0 * d) - c[BMD__PC_SHIFT];
}

static void morse_eval_fn(const double *c, double r2, double *fpair, double *phi) {
    morse_eval(c, r2, fpair, phi);
}

/* an AVX2 clone beside the baseline one, picked at load time: the pair
 * function runs 4 pairs at a time (same bits: a plain map, no reduction) */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
static void morse_kernel(bmd__pair_job *job, int full) {
    if (full) bmd__pair_loop(job, 1, morse_eval);
    else bmd__pair_loop(job, 0, morse_eval);
}

static bmd_status morse_coef(const bmd_pair_params *p, double *c) {
    const double d0 = p->p[0], alpha = p->p[1], r0 = p->p[2];
    if (!isfinite(d0) || !isfinite(alpha) || !isfinite(r0)) {
        const char *a = p->z1 ? bmd_element_symbol(p->z1) : "default";
        const char *b = p->z2 ? bmd_element_symbol(p->z2) : "default";
        return bmd__fail(BMD_ERR_INVALID, "morse model: pair %s-%s needs finite D0, alpha and r0 (got %g, %g, %g)",
                         a ? a : "?", b ? b : "?", d0, alpha, r0);
    }
    c[D0] = d0;
    c[ALPHA] = alpha;
    c[R0] = r0;
    c[M1] = 2.0 * alpha * d0;
    return BMD_OK;
}

static const bmd_model_ops morse_ops = {
    .type = "morse",
    .compute = bmd__pair_compute,
    .check_system = bmd__pair_check_system,
    .cutoff = bmd__pair_cutoff,
    .destroy = bmd__pair_destroy,
};

static const bmd__pair_def morse_def = {&morse_ops, morse_kernel, morse_eval_fn, morse_coef};

bmd_status bmd_model_morse_create(const bmd_pair_params *pairs, int n_pairs, const bmd_pair_options *opt,
                                  bmd_model **out) {
    return bmd__pair_model_create(&morse_def, pairs, n_pairs, opt, out);
}
