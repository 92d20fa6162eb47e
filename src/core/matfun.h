/* matfun.h — internal (crosses files, not installed): small dense real
 * matrices, row-major (a[i*n + j] = a_ij), for the cell filters: a linear
 * solve, the matrix exponential, the principal matrix logarithm of a 3x3
 * matrix and the Fréchet derivative of the exponential. Each is accurate to
 * a few units of the double rounding (~1e-15 relative) for the
 * well-conditioned matrices a deformation gradient gives; src/core/matfun.c
 * says how. n is at most BMD__MAT_MAX. */
#ifndef BATCHMD_CORE_MATFUN_H
#define BATCHMD_CORE_MATFUN_H

#define BMD__MAT_MAX 6

/* Solves A X = B for X (A n×n, B n×m, both row-major), by LU with partial
 * pivoting (LAPACK's dgesv); X overwrites B. Returns 1 (B unchanged or
 * partly changed) when A is singular. */
int bmd__mat_solve(int n, const double *a, double *b, int m);

/* E = exp(A), n×n: scaling and squaring with a diagonal Padé approximant of
 * degree 3, 5, 7, 9 or 13 chosen from the 1-norm of A (Higham, SIAM J.
 * Matrix Anal. Appl. 26, 1179 (2005)). A non-finite A gives NaNs. */
void bmd__expm(int n, const double *a, double *e);

/* L = log(A), the principal logarithm of a real 3x3 A: inverse scaling and
 * squaring (square roots until ||A^(1/2^k) − I||₁ <= 1/4, then an 8-point
 * Gauss–Legendre quadrature of log(I + X) = ∫₀¹ X (I + tX)⁻¹ dt, which is
 * its [8/8] Padé approximant; Higham, SIAM J. Matrix Anal. Appl. 22, 1112
 * (2001)). Returns 1 when A has no real principal logarithm the iteration
 * can reach (an eigenvalue on or near the closed negative real axis). */
int bmd__logm3(const double *a, double *l);

/* L = L_exp(A, E) = d/dt exp(A + tE) at t = 0, A and E 3x3: the top-right
 * block of exp([[A, E], [0, A]]) (Van Loan 1978; Mathias 1996), with E first
 * scaled by a power of two to unit 1-norm (exact) and the result scaled
 * back. */
void bmd__expm_frechet3(const double *a, const double *e, double *l);

#endif
