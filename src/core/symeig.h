/* symeig.h — internal (crosses files, not installed): eigenvalues and
 * eigenvectors of a dense real symmetric matrix, as numpy.linalg.eigh gives
 * them (what ASE's BFGS takes every step). */
#ifndef BATCHMD_CORE_SYMEIG_H
#define BATCHMD_CORE_SYMEIG_H

/* a[n*n] (row-major, symmetric; only read) -> w[n] the eigenvalues in
 * ascending order, vt[n*n] the orthonormal eigenvectors as ROWS
 * (vt[i*n + k] = component k of the eigenvector of w[i]), so that
 * A = Σ_i w[i] vt_i vt_iᵀ. work[n] is scratch. Householder reduction to
 * tridiagonal form, then the implicit QL algorithm (EISPACK's tred2 and
 * tql2, as in JAMA): backward stable, like LAPACK's dsyevd behind eigh.
 * Returns 0, or 1 when the QL iteration did not converge (30 n sweeps; a
 * matrix that is not finite). */
int bmd__symeig(int n, const double *a, double *w, double *vt, double *work);

#endif
