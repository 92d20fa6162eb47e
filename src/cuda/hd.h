/* hd.h — owns the one macro that lets a function run on both sides: BMD_HD
 * is __host__ __device__ under nvcc and nothing under a C compiler, so the
 * per-atom, per-pair and per-system bodies in src/cuda/hd_*.h are compiled
 * into the CUDA kernels (the .cu files) and, unchanged, into the CPU unit
 * tests (tests/unit/test_cuda_*.c) that compare them with the CPU code.
 * These headers are C11 and C++ at once: no restrict, no designated
 * initialisers, no VLAs. */
#ifndef BATCHMD_CUDA_HD_H
#define BATCHMD_CUDA_HD_H

#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define BMD_HD __host__ __device__
#else
#define BMD_HD
#endif

#endif
