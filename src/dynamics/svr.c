/* svr.c — owns the CSVR kinetic-energy step and its chi-squared draw
 * (svr.h says what and why). */
#include "dynamics/svr.h"

#include "batchmd/rng.h"

#include <math.h>

#define TWO_PI 6.283185307179586476925286766559

double bmd__chi2_draw(int n, uint64_t seed, uint64_t system_id, uint32_t stream, uint64_t step, uint64_t atom0) {
    if (n <= 0) return 0.0;
    double u[4];
    if (n == 1) {
        bmd_rng_uniform4(seed, system_id, stream, step, atom0, u);
        const double x = sqrt(-2.0 * log(u[0])) * cos(TWO_PI * u[1]);
        return x * x;
    }
    const double d = 0.5 * n - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (uint64_t k = 0;; k++) { /* accepts with probability > 0.95 per attempt */
        bmd_rng_uniform4(seed, system_id, stream, step, atom0 + k, u);
        const double x = sqrt(-2.0 * log(u[0])) * cos(TWO_PI * u[1]);
        const double t = 1.0 + c * x;
        if (t <= 0) continue;
        const double v = t * t * t;
        if (log(u[2]) < 0.5 * x * x + d - d * v + d * log(v)) return 2.0 * d * v;
    }
}

double bmd__svr_kinetic(double K, double Kbar, int nf, double c, uint64_t seed, uint64_t system_id, uint32_t stream,
                        uint64_t step) {
    double g[4];
    bmd_rng_normal4(seed, system_id, stream, step, 0, g);
    const double r = g[0], s = bmd__chi2_draw(nf - 1, seed, system_id, stream, step, 1);
    const double f = Kbar / nf;
    return c * K + (1.0 - c) * f * (r * r + s) + 2.0 * r * sqrt(c * (1.0 - c) * K * f);
}
