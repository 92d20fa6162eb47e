/* hd_reduce.h — owns the order of the device's per-system sums, written once
 * so the host can form the very same sum: a system's n terms are summed by a
 * block of B threads (B a power of 2), thread t adding terms t, t+B, t+2B, ...
 * in turn, then the B partial sums combined by the tree
 *     for (s = B/2; s > 0; s /= 2) partial[t] += partial[t + s]   (t < s)
 * The order depends only on n and B, not on the batch around the system or
 * its slot: a system's energy is the same bits alone or among thousands, and
 * no float atomics are used. bmd_hd_block_sum is the host's twin of the
 * device's reduction (src/cuda/cuda_kernels.cu), used by the tests to check
 * the device's sums bit for bit. */
#ifndef BATCHMD_CUDA_HD_REDUCE_H
#define BATCHMD_CUDA_HD_REDUCE_H

#include "cuda/hd.h"

#define BMD_HD_MAX_BLOCK 1024

/* x[k * stride] for k < n, summed in the device's order with B threads. */
static inline double bmd_hd_block_sum(const double *x, int n, int stride, int B) {
    double part[BMD_HD_MAX_BLOCK];
    for (int t = 0; t < B; t++) {
        double s = 0.0;
        for (int k = t; k < n; k += B) s += x[(long)k * stride];
        part[t] = s;
    }
    for (int s = B / 2; s > 0; s /= 2)
        for (int t = 0; t < s; t++) part[t] += part[t + s];
    return part[0];
}

#endif
