/* cuda_kernels.cuh — owns the device kernels of the engine (cuda_engine.cu
 * launches them): list staleness and build, pair forces, the per-system
 * reductions (one block per system, the fixed-order tree of hd_reduce.h, no
 * float atomics), the masked pre/post updates of NVE and Langevin, FIRE as
 * one block per system, and the convergence bookkeeping. The physics is the
 * shared host/device code of hd_*.h. */
#ifndef BATCHMD_CUDA_KERNELS_CUH
#define BATCHMD_CUDA_KERNELS_CUH

#include <cuda_runtime.h>

#include "cuda/hd_dynamics.h"
#include "cuda/hd_pair.h"
#include "cuda/hd_reduce.h"

/* per-system dynamics state: a row of BMD_DST_W doubles, the layout of the
 * running dynamics' hd_dynamics.h state (FIRE, FIRE2, Nosé–Hoover), then
 * "initialised" and "stop requested" */
#define BMD_DST_INIT BMD_HD_NH_WIDTH
#define BMD_DST_STOP (BMD_HD_NH_WIDTH + 1)
#define BMD_DST_W (BMD_HD_NH_WIDTH + 2)

/* what the kernels read: device pointers and sizes of the live batch */
struct bmd_dev {
    int n_sys, n_atoms, maxnb, n_sub, kind, ntypes;
    double range2, skin, ftm2v, boltzmann, mvv2e;
    unsigned long long seed;
    /* per atom */
    double *pos, *vel, *force, *mass, *ref, *fv, *epa, *wpa;
    int *type, *sysof, *local, *nbcnt, *nb, *img;
    int *atom_bin, *wrap, *bin_atoms; /* cell lists (scratch of the build): bin, wrap [3], atoms by bin */
    int *bin_count, *bin_start;       /* per system [nbins + 1] from bin0[s] */
    int *bin0;                        /* per system: its first entry in bin_count / bin_start */
    /* per system */
    int *start, *count, *status, *built, *stale;
    bmd_hd_geom *geom;
    double *energy, *virial, *steps, *fst, *fmax2;
    long long *sid;
    const double *coef;
    const bmd_cuda_substage *sub;
    int *overflow; /* [1] the widest row seen beyond maxnb (int atomics only); while set, every
                    * kernel returns at once, so the step that overflowed can be finished by the
                    * host after widening (bmd_cuda_engine_step) */
    int *progress; /* [1] steps completed since the host last reset it */
};

/* The block's sum of v (one value per thread) in hd_reduce.h's tree order. */
__device__ static inline double block_tree(double v, double *sh) {
    const int t = threadIdx.x;
    sh[t] = v;
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        __syncthreads();
        if (t < s) sh[t] += sh[t + s];
    }
    __syncthreads();
    const double r = sh[0];
    __syncthreads();
    return r;
}

__device__ static inline double block_max(double v, double *sh) {
    const int t = threadIdx.x;
    sh[t] = v;
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        __syncthreads();
        if (t < s) sh[t] = fmax(sh[t], sh[t + s]);
    }
    __syncthreads();
    const double r = sh[0];
    __syncthreads();
    return r;
}

__device__ static inline int sys_live(const bmd_dev &d, int s) { return d.status[s] >= 0 && d.status[s] < d.n_sub; }

/* one block per system: is its list stale (verlet.c's test)? */
__global__ static void k_stale(bmd_dev d, int force_all) {
    if (*d.overflow) return;
    extern __shared__ double sh[];
    const int s = blockIdx.x;
    if (!force_all && !sys_live(d, s)) { /* block-uniform */
        if (threadIdx.x == 0) d.stale[s] = 0;
        return;
    }
    const int a0 = d.start[s], n = d.count[s];
    double m1 = 0.0, m2 = 0.0;
    for (int i = threadIdx.x; i < n; i += blockDim.x)
        bmd_hd_top2_push(bmd_hd_disp2(d.pos + 3 * (size_t)(a0 + i), d.ref + 3 * (size_t)(a0 + i)), &m1, &m2);
    /* merge the pairs: max, then the largest second among the rest */
    double *s1 = sh, *s2 = sh + blockDim.x;
    s1[threadIdx.x] = m1;
    s2[threadIdx.x] = m2;
    for (int k = blockDim.x / 2; k > 0; k >>= 1) {
        __syncthreads();
        if ((int)threadIdx.x < k) {
            double a1 = s1[threadIdx.x], a2 = s2[threadIdx.x];
            bmd_hd_top2_merge(&a1, &a2, s1[threadIdx.x + k], s2[threadIdx.x + k]);
            s1[threadIdx.x] = a1;
            s2[threadIdx.x] = a2;
        }
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        const int st = force_all || !d.built[s] || bmd_hd_stale(s1[0], s2[0], d.skin);
        d.stale[s] = st;
        if (st) d.built[s] = 1;
    }
}

/* ---- cell lists of the stale systems that use them (geom.nbin set):
 * zero the counts (block per system), bin and count each atom (int atomics:
 * the order within a bin is free, rows are sorted), scan (thread 0 of a
 * block per system), place the atoms ---- */
__device__ static inline int uses_cells(const bmd_dev &d, int s) { return d.stale[s] && d.geom[s].nbin[0] > 0; }

__global__ static void k_bin_zero(bmd_dev d) {
    if (*d.overflow) return;
    const int s = blockIdx.x;
    if (!uses_cells(d, s)) return;
    const bmd_hd_geom *g = &d.geom[s];
    const int nb = g->nbin[0] * g->nbin[1] * g->nbin[2];
    for (int b = threadIdx.x; b <= nb; b += blockDim.x) d.bin_count[d.bin0[s] + b] = 0;
}

__global__ static void k_bin_count(bmd_dev d) {
    if (*d.overflow) return;
    const int a = blockIdx.x * blockDim.x + threadIdx.x;
    if (a >= d.n_atoms) return;
    const int s = d.sysof[a];
    if (!uses_cells(d, s)) return;
    const int b = bmd_hd_bin_of(d.pos + 3 * (size_t)a, &d.geom[s], d.wrap + 3 * (size_t)a);
    d.atom_bin[a] = b;
    atomicAdd(&d.bin_count[d.bin0[s] + b], 1);
}

__global__ static void k_bin_scan(bmd_dev d) {
    if (*d.overflow) return;
    const int s = blockIdx.x;
    if (!uses_cells(d, s) || threadIdx.x) return;
    const bmd_hd_geom *g = &d.geom[s];
    const int nb = g->nbin[0] * g->nbin[1] * g->nbin[2], o = d.bin0[s];
    int acc = 0;
    for (int b = 0; b < nb; b++) {
        d.bin_start[o + b] = acc;
        acc += d.bin_count[o + b];
        d.bin_count[o + b] = 0; /* now the fill cursor */
    }
    d.bin_start[o + nb] = acc;
}

__global__ static void k_bin_fill(bmd_dev d) {
    if (*d.overflow) return;
    const int a = blockIdx.x * blockDim.x + threadIdx.x;
    if (a >= d.n_atoms) return;
    const int s = d.sysof[a];
    if (!uses_cells(d, s)) return;
    const int o = d.bin0[s] + d.atom_bin[a];
    const int slot = atomicAdd(&d.bin_count[o], 1);
    d.bin_atoms[d.start[s] + d.bin_start[o] + slot] = d.local[a];
}

/* one thread per atom of a stale system: its full row, and the reference position */
__global__ static void k_build(bmd_dev d) {
    if (*d.overflow) return;
    const int a = blockIdx.x * blockDim.x + threadIdx.x;
    if (a >= d.n_atoms) return;
    const int s = d.sysof[a];
    if (!d.stale[s]) return;
    const int a0 = d.start[s];
    const int cnt =
        d.geom[s].nbin[0] > 0
            ? bmd_hd_nl_row_cells(d.local[a], d.pos + 3 * (size_t)a0, &d.geom[s], d.range2, d.bin_start + d.bin0[s],
                                  d.bin_atoms + a0, d.atom_bin[a], d.wrap + 3 * (size_t)a0, d.maxnb,
                                  d.nb + (size_t)a * d.maxnb, d.img + (size_t)a * d.maxnb)
            : bmd_hd_nl_row(d.local[a], d.count[s], d.pos + 3 * (size_t)a0, &d.geom[s], d.range2, d.maxnb,
                            d.nb + (size_t)a * d.maxnb, d.img + (size_t)a * d.maxnb);
    d.nbcnt[a] = cnt < d.maxnb ? cnt : d.maxnb;
    if (cnt > d.maxnb) atomicMax(d.overflow, cnt);
    for (int c = 0; c < 3; c++) d.ref[3 * (size_t)a + c] = d.pos[3 * (size_t)a + c];
}

/* one thread per atom of a live system: force, ½ pair energy, ½ virial */
__global__ static void k_force(bmd_dev d, int force_all) {
    if (*d.overflow) return;
    const int a = blockIdx.x * blockDim.x + threadIdx.x;
    if (a >= d.n_atoms) return;
    const int s = d.sysof[a];
    if (!force_all && !sys_live(d, s)) return;
    const int a0 = d.start[s];
    double f[3], e = 0, w[6] = {0, 0, 0, 0, 0, 0};
    bmd_hd_pair_atom(d.kind, d.local[a], d.pos + 3 * (size_t)a0, d.type + a0, d.ntypes, d.coef, &d.geom[s],
                     d.nbcnt[a], d.nb + (size_t)a * d.maxnb, d.img + (size_t)a * d.maxnb, 1, f, &e, w);
    for (int c = 0; c < 3; c++) d.force[3 * (size_t)a + c] = f[c];
    d.epa[a] = e;
    for (int c = 0; c < 6; c++) d.wpa[6 * (size_t)a + c] = w[c];
}

/* one block per system: energy, virial (fixed-order sums) and max |F|² */
__global__ static void k_reduce(bmd_dev d, int force_all) {
    if (*d.overflow) return;
    extern __shared__ double sh[];
    const int s = blockIdx.x;
    if (!force_all && !sys_live(d, s)) return;
    const int a0 = d.start[s], n = d.count[s];
    double e = 0, m = 0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        e += d.epa[a0 + i];
        m = fmax(m, bmd_hd_f2(d.force + 3 * (size_t)(a0 + i)));
    }
    e = block_tree(e, sh);
    m = block_max(m, sh);
    double w[6];
    for (int c = 0; c < 6; c++) {
        double v = 0;
        for (int i = threadIdx.x; i < n; i += blockDim.x) v += d.wpa[6 * (size_t)(a0 + i) + c];
        w[c] = block_tree(v, sh);
    }
    if (threadIdx.x == 0) {
        d.energy[s] = e;
        d.fmax2[s] = m;
        for (int c = 0; c < 6; c++) d.virial[6 * (size_t)s + c] = w[c];
    }
}

/* one thread per system, at the start of a step: a system that converged
 * (optimizers: max |F| < fmax) or spent its budget moves to the next
 * sub-stage, with fresh per-system state */
__global__ static void k_converge(bmd_dev d) {
    if (*d.overflow) return;
    const int s = blockIdx.x * blockDim.x + threadIdx.x;
    if (s >= d.n_sys || !sys_live(d, s)) return;
    const bmd_cuda_substage *u = &d.sub[d.status[s]];
    double *t = d.fst + BMD_DST_W * (size_t)s;
    const int opt = u->kind == BMD_CUDA_FIRE || u->kind == BMD_CUDA_FIRE2;
    const int done = (opt && u->fmax > 0 && d.fmax2[s] < u->fmax * u->fmax) || d.steps[s] >= (double)u->max_steps ||
                     t[BMD_DST_STOP] != 0;
    if (!done) return;
    d.status[s] += 1;
    d.steps[s] = 0;
    t[BMD_DST_INIT] = 0; /* k_init gives the next sub-stage fresh state */
}

/* one thread per system: fresh state for a system entering its sub-stage
 * (fire.c's, fire2.c's, nose_hoover.c's enter()) */
__global__ static void k_init(bmd_dev d) {
    if (*d.overflow) return;
    const int s = blockIdx.x * blockDim.x + threadIdx.x;
    if (s >= d.n_sys || !sys_live(d, s)) return;
    double *t = d.fst + BMD_DST_W * (size_t)s;
    if (t[BMD_DST_INIT] != 0) return;
    for (int k = 0; k < BMD_DST_W; k++) t[k] = 0.0;
    const bmd_cuda_substage *u = &d.sub[d.status[s]];
    if (u->kind == BMD_CUDA_FIRE) {
        t[BMD_HD_FST_DT] = u->params[BMD_HD_FIRE_DT];
        t[BMD_HD_FST_A] = u->params[BMD_HD_FIRE_A];
    } else if (u->kind == BMD_CUDA_FIRE2) {
        t[BMD_HD_F2S_DT] = u->params[BMD_HD_F2_DT];
        t[BMD_HD_F2S_A] = u->params[BMD_HD_F2_ASTART];
        t[BMD_HD_F2S_PENDING] = 1;
    } else if (u->kind == BMD_CUDA_NOSE_HOOVER) {
        bmd_hd_nhc_enter(u->params, t, d.boltzmann);
    }
    t[BMD_DST_INIT] = 1;
    const int a0 = d.start[s]; /* the optimizers' own velocities start at 0 */
    for (int j = 0; j < 3 * d.count[s]; j++) d.fv[3 * (size_t)a0 + j] = 0.0;
}

/* one thread per atom: the pre-update of NVE and Langevin systems */
__global__ static void k_pre(bmd_dev d) {
    if (*d.overflow) return;
    const int a = blockIdx.x * blockDim.x + threadIdx.x;
    if (a >= d.n_atoms) return;
    const int s = d.sysof[a];
    if (!sys_live(d, s)) return;
    const bmd_cuda_substage *u = &d.sub[d.status[s]];
    double *x = d.pos + 3 * (size_t)a, *v = d.vel + 3 * (size_t)a;
    const double *f = d.force + 3 * (size_t)a;
    if (u->kind == BMD_CUDA_NVE) {
        bmd_hd_nve_pre(x, v, f, d.mass[a], u->params[0], d.ftm2v);
    } else if (u->kind == BMD_CUDA_LANGEVIN) {
        const bmd_hd_baoab k = bmd_hd_baoab_make(u->params[0], u->params[1], u->params[2], d.boltzmann, d.ftm2v);
        bmd_hd_baoa(x, v, f, d.mass[a], &k, d.seed, (uint64_t)d.sid[s], u->rng_stream, (uint64_t)d.steps[s],
                    (uint64_t)d.local[a]);
    }
}

/* one block per FIRE system: the whole of ASE's FIRE.step() */
__global__ static void k_fire(bmd_dev d) {
    if (*d.overflow) return;
    extern __shared__ double sh[];
    __shared__ bmd_hd_fire_do o;
    const int s = blockIdx.x;
    if (!sys_live(d, s) || d.sub[d.status[s]].kind != BMD_CUDA_FIRE) return; /* block-uniform */
    const double *p = d.sub[d.status[s]].params;
    const int a0 = d.start[s], n3 = 3 * d.count[s];
    double *x = d.pos + 3 * (size_t)a0, *v = d.fv + 3 * (size_t)a0;
    const double *f = d.force + 3 * (size_t)a0;
    double vf = 0, ff = 0, vv = 0;
    for (int j = threadIdx.x; j < n3; j += blockDim.x) {
        vf += f[j] * v[j];
        ff += f[j] * f[j];
        vv += v[j] * v[j];
    }
    vf = block_tree(vf, sh);
    ff = block_tree(ff, sh);
    vv = block_tree(vv, sh);
    if (threadIdx.x == 0) o = bmd_hd_fire_begin(p, d.fst + BMD_DST_W * (size_t)s, vf, ff, vv);
    __syncthreads();
    const bmd_hd_fire_do oo = o;
    double dr2 = 0;
    for (int j = threadIdx.x; j < n3; j += blockDim.x) dr2 += bmd_hd_fire_v(&oo, &v[j], f[j]);
    dr2 = block_tree(dr2, sh);
    const double normdr = sqrt(dr2);
    for (int j = threadIdx.x; j < n3; j += blockDim.x) bmd_hd_fire_x(&oo, &x[j], v[j], normdr, p[BMD_HD_FIRE_MAXSTEP]);
}

/* one block per FIRE2 system: fire2.c's step */
__global__ static void k_fire2(bmd_dev d) {
    if (*d.overflow) return;
    extern __shared__ double sh[];
    __shared__ bmd_hd_fire2_do o;
    const int s = blockIdx.x;
    if (!sys_live(d, s) || d.sub[d.status[s]].kind != BMD_CUDA_FIRE2) return; /* block-uniform */
    const double *p = d.sub[d.status[s]].params;
    double *t = d.fst + BMD_DST_W * (size_t)s;
    const int a0 = d.start[s], n3 = 3 * d.count[s];
    double *x = d.pos + 3 * (size_t)a0, *v = d.fv + 3 * (size_t)a0;
    const double *f = d.force + 3 * (size_t)a0;
    const int pending = t[BMD_HD_F2S_PENDING] != 0;
    double P = 0;
    if (!pending)
        for (int j = threadIdx.x; j < n3; j += blockDim.x) P += f[j] * v[j];
    P = block_tree(P, sh);
    if (threadIdx.x == 0) {
        o = bmd_hd_fire2_begin(p, t, P);
        if (o.mode == BMD_HD_F2_STOP) t[BMD_DST_STOP] = 1;
    }
    __syncthreads();
    const bmd_hd_fire2_do oo = o;
    if (oo.mode == BMD_HD_F2_STOP) return;
    if (oo.mode == BMD_HD_F2_BACK) {
        for (int j = threadIdx.x; j < n3; j += blockDim.x) bmd_hd_fire2_back(&x[j], &v[j], oo.dt);
        return;
    }
    double ff = 0, vv = 0, dr2 = 0;
    for (int j = threadIdx.x; j < n3; j += blockDim.x) {
        bmd_hd_fire2_kick(&v[j], f[j], oo.dt);
        ff += f[j] * f[j];
        vv += v[j] * v[j];
    }
    ff = block_tree(ff, sh);
    vv = block_tree(vv, sh);
    if (ff > 0) {
        const double sf = sqrt(ff), sv = sqrt(vv);
        for (int j = threadIdx.x; j < n3; j += blockDim.x) bmd_hd_fire2_mix(&v[j], f[j], oo.a, sf, sv);
    }
    for (int j = threadIdx.x; j < n3; j += blockDim.x) dr2 += bmd_hd_fire2_dr2(v[j], oo.dt);
    dr2 = block_tree(dr2, sh);
    const double normdr = sqrt(dr2);
    for (int j = threadIdx.x; j < n3; j += blockDim.x)
        bmd_hd_fire2_x(&x[j], v[j], oo.dt, normdr, p[BMD_HD_F2_MAXSTEP]);
}

/* NHC(dt/2) of one Nosé–Hoover system by its block: Σ m v², the chain (thread 0), v scaled */
__device__ static inline void nhc_block(const bmd_dev &d, int s, const double *p, double *sh, double *fac) {
    const int a0 = d.start[s], n = d.count[s];
    double mv2 = 0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) mv2 += bmd_hd_mv2(d.vel + 3 * (size_t)(a0 + i), d.mass[a0 + i]);
    mv2 = block_tree(mv2, sh);
    if (threadIdx.x == 0) *fac = bmd_hd_nhc_half(p, d.fst + BMD_DST_W * (size_t)s, mv2, n, d.mvv2e, d.boltzmann);
    __syncthreads();
    const double f = *fac;
    for (int j = threadIdx.x; j < 3 * n; j += blockDim.x) d.vel[3 * (size_t)a0 + j] *= f;
    __syncthreads();
}

/* one block per Nosé–Hoover system: NHC(dt/2), half kick, drift */
__global__ static void k_nh_pre(bmd_dev d) {
    if (*d.overflow) return;
    extern __shared__ double sh[];
    __shared__ double fac;
    const int s = blockIdx.x;
    if (!sys_live(d, s) || d.sub[d.status[s]].kind != BMD_CUDA_NOSE_HOOVER) return;
    const double *p = d.sub[d.status[s]].params;
    nhc_block(d, s, p, sh, &fac);
    const int a0 = d.start[s];
    for (int i = threadIdx.x; i < d.count[s]; i += blockDim.x) {
        const size_t a = (size_t)(a0 + i);
        bmd_hd_nve_pre(d.pos + 3 * a, d.vel + 3 * a, d.force + 3 * a, d.mass[a], p[0], d.ftm2v);
    }
}

/* one block per Nosé–Hoover system: half kick, NHC(dt/2) */
__global__ static void k_nh_post(bmd_dev d) {
    if (*d.overflow) return;
    extern __shared__ double sh[];
    __shared__ double fac;
    const int s = blockIdx.x;
    if (!sys_live(d, s) || d.sub[d.status[s]].kind != BMD_CUDA_NOSE_HOOVER) return;
    const double *p = d.sub[d.status[s]].params;
    const int a0 = d.start[s];
    for (int i = threadIdx.x; i < d.count[s]; i += blockDim.x) {
        const size_t a = (size_t)(a0 + i);
        bmd_hd_half_kick(d.vel + 3 * a, d.force + 3 * a, d.mass[a], 0.5 * p[0] * d.ftm2v);
    }
    __syncthreads();
    nhc_block(d, s, p, sh, &fac);
}

/* one thread per atom: the post-update (half kick) of NVE and Langevin */
__global__ static void k_post(bmd_dev d) {
    if (*d.overflow) return;
    const int a = blockIdx.x * blockDim.x + threadIdx.x;
    if (a >= d.n_atoms) return;
    const int s = d.sysof[a];
    if (!sys_live(d, s)) return;
    const bmd_cuda_substage *u = &d.sub[d.status[s]];
    if (u->kind == BMD_CUDA_NVE || u->kind == BMD_CUDA_LANGEVIN) /* Nosé–Hoover: k_nh_post */
        bmd_hd_half_kick(d.vel + 3 * (size_t)a, d.force + 3 * (size_t)a, d.mass[a], 0.5 * u->params[0] * d.ftm2v);
}

/* one thread per system: the step is counted */
__global__ static void k_count(bmd_dev d) {
    if (*d.overflow) return;
    const int s = blockIdx.x * blockDim.x + threadIdx.x;
    if (s == 0) *d.progress += 1;
    if (s < d.n_sys && sys_live(d, s)) d.steps[s] += 1;
}

/* compaction: dst[i] = src[map[i]] for i < n, w values per row */
template <typename T>
__global__ static void k_gather(T *dst, const T *src, const int *map, int n, int w) {
    const long k = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= (long)n * w) return;
    const long i = k / w, c = k % w;
    dst[k] = src[(long)map[i] * w + c];
}

#endif
