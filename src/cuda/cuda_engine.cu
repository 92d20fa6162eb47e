/* cuda_engine.cu — owns the device engine of cuda.h: device memory of the
 * live batch (grown geometrically, never per step), inflight insertion
 * (pinned staging buffers, a copy stream and an event the compute stream
 * waits on) and eviction (compaction on the device by gather kernels), the
 * step loop (kernels of cuda_kernels.cuh, no host round trip inside) and its
 * capture into a CUDA graph, replayed while the batch's shape is unchanged
 * and re-captured when it changes. */
#include <cuda_runtime.h>

#include <stdlib.h>
#include <string.h>

#include "cuda/cuda_internal.h"
#include "cuda/cuda_kernels.cuh"

#define CK(call)                                                                                         \
    do {                                                                                                 \
        cudaError_t e_ = (call);                                                                         \
        if (e_ != cudaSuccess)                                                                           \
            return bmd__fail(BMD_ERR_RUNTIME, "CUDA: %s (%s:%d)", cudaGetErrorString(e_), __FILE__, __LINE__); \
    } while (0)

struct bmd_cuda_engine {
    bmd_cuda_options opt;
    bmd__cuda_pair_table tab;
    cudaStream_t comp, copy;
    cudaEvent_t copied;
    bmd_dev d;           /* device pointers + sizes (d.n_sys, d.n_atoms) */
    long cap_atoms;
    int cap_sys;
    int block;
    /* host mirrors of the layout */
    int *h_start, *h_count;
    int *h_nbins, *h_bin0; /* per system: cell-list entries (nbins + 1, or 0) and their offset */
    long cap_bins;
    /* pinned staging for insertion */
    void *pin;
    size_t cap_pin;
    int need_forces;     /* inserted or evicted since the last force pass */
    /* graph of one steady-state step */
    cudaGraphExec_t exec;
    int g_sys, g_atoms, g_maxnb, g_valid;
};

template <typename T> static cudaError_t dalloc(T **p, size_t n) {
    return cudaMalloc((void **)p, (n ? n : 1) * sizeof(T));
}

static void free_dev(bmd_dev *d) {
    void *ptrs[] = {d->pos, d->vel, d->force, d->mass, d->ref, d->fv, d->epa, d->wpa, d->type, d->sysof,
                    d->local, d->nbcnt, d->nb, d->img, d->start, d->count, d->status, d->built, d->stale,
                    d->geom, d->energy, d->virial, d->steps, d->fst, d->fmax2, d->sid, (void *)d->coef,
                    (void *)d->sub, d->overflow, d->atom_bin, d->wrap, d->bin_atoms, d->bin_count,
                    d->bin_start, d->bin0};
    for (size_t k = 0; k < sizeof ptrs / sizeof *ptrs; k++)
        if (ptrs[k]) cudaFree(ptrs[k]);
}

static bmd_status alloc_atoms(bmd_dev *d, long n, int maxnb) {
    CK(dalloc(&d->pos, 3 * n));
    CK(dalloc(&d->vel, 3 * n));
    CK(dalloc(&d->force, 3 * n));
    CK(dalloc(&d->mass, n));
    CK(dalloc(&d->ref, 3 * n));
    CK(dalloc(&d->fv, 3 * n));
    CK(dalloc(&d->epa, n));
    CK(dalloc(&d->wpa, 6 * n));
    CK(dalloc(&d->type, n));
    CK(dalloc(&d->sysof, n));
    CK(dalloc(&d->local, n));
    CK(dalloc(&d->nbcnt, n));
    CK(dalloc(&d->nb, (size_t)n * maxnb));
    CK(dalloc(&d->img, (size_t)n * maxnb));
    CK(dalloc(&d->atom_bin, n));
    CK(dalloc(&d->wrap, 3 * n));
    CK(dalloc(&d->bin_atoms, n));
    return BMD_OK;
}

static bmd_status alloc_sys(bmd_dev *d, int n) {
    CK(dalloc(&d->start, n));
    CK(dalloc(&d->count, n));
    CK(dalloc(&d->status, n));
    CK(dalloc(&d->built, n));
    CK(dalloc(&d->stale, n));
    CK(dalloc(&d->geom, n));
    CK(dalloc(&d->energy, n));
    CK(dalloc(&d->virial, 6 * (size_t)n));
    CK(dalloc(&d->steps, n));
    CK(dalloc(&d->fst, BMD_DST_W * (size_t)n));
    CK(dalloc(&d->fmax2, n));
    CK(dalloc(&d->sid, n));
    CK(dalloc(&d->bin0, n));
    return BMD_OK;
}

extern "C" void bmd_cuda_engine_destroy(bmd_cuda_engine *e) {
    if (!e) return;
    if (e->g_valid) cudaGraphExecDestroy(e->exec);
    free_dev(&e->d);
    if (e->pin) cudaFreeHost(e->pin);
    if (e->comp) cudaStreamDestroy(e->comp);
    if (e->copy) cudaStreamDestroy(e->copy);
    if (e->copied) cudaEventDestroy(e->copied);
    bmd__cuda_pair_table_free(&e->tab);
    free(e->h_start);
    free(e->h_count);
    free(e->h_nbins);
    free(e->h_bin0);
    free(e);
}

extern "C" bmd_status bmd_cuda_engine_create(bmd_cuda_pair_kind kind, const bmd_pair_params *pairs, int n_pairs,
                                             const bmd_pair_options *popt, const bmd_cuda_options *opt,
                                             bmd_cuda_engine **out) {
    if (!out || !opt) return bmd__fail(BMD_ERR_INVALID, "bmd_cuda_engine_create: NULL argument");
    *out = NULL;
    bmd_status st = bmd_cuda_check();
    if (st) return st;
    if (opt->max_atoms <= 0 || opt->max_systems <= 0)
        return bmd__fail(BMD_ERR_INVALID, "cuda engine: max_atoms and max_systems must be > 0");
    bmd_cuda_engine *e = (bmd_cuda_engine *)calloc(1, sizeof *e);
    if (!e) return bmd__fail(BMD_ERR_NOMEM, "out of memory creating the cuda engine");
    e->opt = *opt;
    e->block = opt->block > 0 ? opt->block : 128;
    if (e->block & (e->block - 1) || e->block > BMD_HD_MAX_BLOCK) {
        free(e);
        return bmd__fail(BMD_ERR_INVALID, "cuda engine: block must be a power of 2 <= %d", BMD_HD_MAX_BLOCK);
    }
    if ((st = bmd__cuda_pair_table_make(kind, pairs, n_pairs, popt, &e->tab))) {
        free(e);
        return st;
    }
    e->cap_atoms = opt->max_atoms;
    e->cap_sys = opt->max_systems;
    bmd_dev *d = &e->d;
    d->maxnb = opt->max_neighbors > 0 ? opt->max_neighbors : 256;
    d->kind = e->tab.kind;
    d->ntypes = e->tab.ntypes;
    const double range = e->tab.max_cutoff + e->tab.skin;
    d->range2 = range * range;
    d->skin = e->tab.skin;
    d->ftm2v = opt->ftm2v;
    d->boltzmann = opt->boltzmann;
    d->mvv2e = opt->mvv2e;
    d->seed = opt->seed;
    e->h_start = (int *)calloc((size_t)e->cap_sys, sizeof(int));
    e->h_count = (int *)calloc((size_t)e->cap_sys, sizeof(int));
    e->h_nbins = (int *)calloc((size_t)e->cap_sys, sizeof(int));
    e->h_bin0 = (int *)calloc((size_t)e->cap_sys + 1, sizeof(int));
#define TRY(x)                                                                                           \
    do {                                                                                                 \
        if ((st = (x))) {                                                                                \
            bmd_cuda_engine_destroy(e);                                                                  \
            return st;                                                                                   \
        }                                                                                                \
    } while (0)
    if (!e->h_start || !e->h_count || !e->h_nbins || !e->h_bin0) TRY(bmd__fail(BMD_ERR_NOMEM, "out of memory creating the cuda engine"));
    TRY(cudaSetDevice(opt->device) == cudaSuccess ? BMD_OK
                                                   : bmd__fail(BMD_ERR_RUNTIME, "CUDA device %d: cannot select it", opt->device));
    TRY(alloc_atoms(d, e->cap_atoms, d->maxnb));
    TRY(alloc_sys(d, e->cap_sys));
    const size_t ncoef = (size_t)d->ntypes * d->ntypes * BMD_HD_NCOEF;
    double *coef;
    bmd_cuda_substage *sub;
    int *ovf;
    if (dalloc(&coef, ncoef) || dalloc(&sub, BMD_CUDA_MAX_SUB) || dalloc(&ovf, 2))
        TRY(bmd__fail(BMD_ERR_NOMEM, "CUDA: out of device memory"));
    d->coef = coef;
    d->sub = sub;
    d->overflow = ovf;
    d->progress = ovf + 1;
    if (cudaMemcpy(coef, e->tab.coef, ncoef * sizeof(double), cudaMemcpyHostToDevice) != cudaSuccess ||
        cudaMemset(ovf, 0, 2 * sizeof(int)) != cudaSuccess ||
        cudaStreamCreateWithFlags(&e->comp, cudaStreamNonBlocking) != cudaSuccess ||
        cudaStreamCreateWithFlags(&e->copy, cudaStreamNonBlocking) != cudaSuccess ||
        cudaEventCreateWithFlags(&e->copied, cudaEventDisableTiming) != cudaSuccess)
        TRY(bmd__fail(BMD_ERR_RUNTIME, "CUDA: %s", cudaGetErrorString(cudaGetLastError())));
#undef TRY
    *out = e;
    return BMD_OK;
}

extern "C" bmd_status bmd_cuda_engine_set_stage(bmd_cuda_engine *e, const bmd_cuda_substage *sub, int n_sub) {
    if (!e || (!sub && n_sub)) return bmd__fail(BMD_ERR_INVALID, "bmd_cuda_engine_set_stage: NULL argument");
    bmd_status chk = bmd__cuda_stage_check(sub, n_sub);
    if (chk) return chk;
    CK(cudaMemcpyAsync((void *)e->d.sub, sub, (size_t)n_sub * sizeof *sub, cudaMemcpyHostToDevice, e->comp));
    CK(cudaStreamSynchronize(e->comp));
    e->d.n_sub = n_sub;
    e->g_valid = e->g_valid ? (cudaGraphExecDestroy(e->exec), 0) : 0;
    return BMD_OK;
}

extern "C" int bmd_cuda_engine_systems(const bmd_cuda_engine *e) { return e ? e->d.n_sys : 0; }
extern "C" long bmd_cuda_engine_atoms(const bmd_cuda_engine *e) { return e ? e->d.n_atoms : 0; }

/* The cell-list count and start arrays hold every system's bins (scratch of
 * the list builds: regrown without copying, the builds refill them). */
static bmd_status bins_fit(bmd_cuda_engine *e, int ns) {
    const long need = e->h_bin0[ns];
    if (need <= e->cap_bins) return BMD_OK;
    CK(cudaStreamSynchronize(e->comp));
    long cap = e->cap_bins ? e->cap_bins : 4096;
    while (cap < need) cap *= 2;
    cudaFree(e->d.bin_count);
    cudaFree(e->d.bin_start);
    e->d.bin_count = e->d.bin_start = NULL;
    CK(dalloc(&e->d.bin_count, cap));
    CK(dalloc(&e->d.bin_start, cap));
    e->cap_bins = cap;
    if (e->g_valid) { /* pointers moved */
        cudaGraphExecDestroy(e->exec);
        e->g_valid = 0;
    }
    return BMD_OK;
}

/* ---- insertion: one pinned staging block, copied on the copy stream ---- */
extern "C" bmd_status bmd_cuda_engine_insert(bmd_cuda_engine *e, const bmd_batch *b, const unsigned char *sel) {
    if (!e || !b) return bmd__fail(BMD_ERR_INVALID, "bmd_cuda_engine_insert: NULL argument");
    bmd_dev *d = &e->d;
    int ns = 0;
    long na = 0;
    for (int s = 0; s < b->n_systems; s++)
        if (!sel || sel[s]) {
            ns++;
            na += b->atom_count[s];
        }
    if (!ns) return BMD_OK;
    if (d->n_sys + ns > e->cap_sys || d->n_atoms + na > e->cap_atoms)
        return bmd__fail(BMD_ERR_BUDGET, "cuda engine: %d systems / %ld atoms do not fit (capacity %d / %ld)",
                         d->n_sys + ns, d->n_atoms + na, e->cap_sys, e->cap_atoms);
    /* staging layout: per atom pos vel mass (7 doubles), type sysof local (3 ints);
     * per system geom, sid, start, count, status, fst, steps */
    const size_t bytes = (size_t)na * (7 * sizeof(double) + 3 * sizeof(int)) +
                         (size_t)ns * (sizeof(bmd_hd_geom) + sizeof(long long) + 3 * sizeof(int) +
                                       sizeof(double)) + 64;
    CK(cudaStreamSynchronize(e->copy)); /* the staging buffer is free again */
    if (bytes > e->cap_pin) {
        if (e->pin) cudaFreeHost(e->pin);
        e->pin = NULL;
        e->cap_pin = 0;
        CK(cudaMallocHost(&e->pin, bytes * 2));
        e->cap_pin = bytes * 2;
    }
    char *p = (char *)e->pin;
    double *h_pos = (double *)p, *h_vel = h_pos + 3 * na, *h_mass = h_vel + 3 * na;
    bmd_hd_geom *h_geom = (bmd_hd_geom *)(h_mass + na);
    long long *h_sid = (long long *)(h_geom + ns);
    double *h_steps = (double *)(h_sid + ns);
    int *h_type = (int *)(h_steps + ns), *h_sysof = h_type + na, *h_local = h_sysof + na;
    int *h_start = h_local + na, *h_cnt = h_start + ns, *h_status = h_cnt + ns;
    const double range = e->tab.max_cutoff + e->tab.skin;
    long a = 0;
    int k = 0;
    for (int s = 0; s < b->n_systems; s++) {
        if (sel && !sel[s]) continue;
        const int a0 = b->atom_start[s], n = b->atom_count[s], slot = d->n_sys + k;
        if (bmd__cuda_geom_make(b->cell + 9 * (size_t)s, b->pbc + 3 * (size_t)s, range, &h_geom[k]))
            return bmd__fail(BMD_ERR_INVALID, "cuda engine: system %lld: its cell is degenerate along a periodic "
                             "axis, or far thinner than the neighbor range", (long long)b->system_id[s]);
        h_sid[k] = (long long)b->system_id[s];
        h_start[k] = (int)(d->n_atoms + a);
        h_cnt[k] = n;
        h_status[k] = b->status[s];
        h_steps[k] = 0;
        for (int i = 0; i < n; i++, a++) {
            memcpy(h_pos + 3 * a, b->pos + 3 * (size_t)(a0 + i), 3 * sizeof(double));
            memcpy(h_vel + 3 * a, b->vel + 3 * (size_t)(a0 + i), 3 * sizeof(double));
            h_mass[a] = b->mass[a0 + i];
            const int z = b->Z[a0 + i];
            h_type[a] = e->tab.ztype[z >= 0 && z < BMD_N_ELEMENTS ? z : 0];
            h_sysof[a] = slot;
            h_local[a] = i;
        }
        e->h_start[slot] = h_start[k];
        e->h_count[slot] = n;
        const bmd_hd_geom *g = &h_geom[k];
        e->h_nbins[slot] = g->nbin[0] ? g->nbin[0] * g->nbin[1] * g->nbin[2] + 1 : 0;
        e->h_bin0[slot + 1] = e->h_bin0[slot] + e->h_nbins[slot];
        k++;
    }
    bmd_status bst = bins_fit(e, d->n_sys + ns);
    if (bst) return bst;
    const long A = d->n_atoms;
    const int S = d->n_sys;
#define CP(dst, src, n) CK(cudaMemcpyAsync((dst), (src), (size_t)(n) * sizeof *(src), cudaMemcpyHostToDevice, e->copy))
    CP(d->pos + 3 * A, h_pos, 3 * na);
    CP(d->vel + 3 * A, h_vel, 3 * na);
    CP(d->mass + A, h_mass, na);
    CP(d->type + A, h_type, na);
    CP(d->sysof + A, h_sysof, na);
    CP(d->local + A, h_local, na);
    CP(d->geom + S, h_geom, ns);
    CP(d->sid + S, h_sid, ns);
    CP(d->start + S, h_start, ns);
    CP(d->count + S, h_cnt, ns);
    CP(d->status + S, h_status, ns);
    CP(d->steps + S, h_steps, ns);
    CP(d->bin0 + S, e->h_bin0 + S, ns);
#undef CP
    /* dynamics state zero: "not initialised", k_init fills it for the system's sub-stage */
    CK(cudaMemsetAsync(d->fst + BMD_DST_W * (size_t)S, 0, BMD_DST_W * (size_t)ns * sizeof(double), e->copy));
    CK(cudaMemsetAsync(d->built + S, 0, (size_t)ns * sizeof(int), e->copy));
    CK(cudaMemsetAsync(d->fv + 3 * A, 0, 3 * (size_t)na * sizeof(double), e->copy));
    CK(cudaEventRecord(e->copied, e->copy));
    CK(cudaStreamWaitEvent(e->comp, e->copied, 0)); /* computation goes on until it needs them */
    d->n_sys += ns;
    d->n_atoms += (int)na;
    e->need_forces = 1;
    return BMD_OK;
}

/* ---- eviction: gather the kept rows into fresh arrays, then swap ---- */
template <typename T> static bmd_status gather(bmd_cuda_engine *e, T **arr, const int *map, int n, int w, long cap) {
    T *fresh;
    CK(dalloc(&fresh, (size_t)cap * w));
    if (n) {
        const long tot = (long)n * w;
        k_gather<T><<<(unsigned)((tot + 255) / 256), 256, 0, e->comp>>>(fresh, *arr, map, n, w);
        CK(cudaGetLastError());
    }
    CK(cudaStreamSynchronize(e->comp));
    cudaFree(*arr);
    *arr = fresh;
    return BMD_OK;
}

extern "C" bmd_status bmd_cuda_engine_evict(bmd_cuda_engine *e, const unsigned char *remove) {
    if (!e || !remove) return bmd__fail(BMD_ERR_INVALID, "bmd_cuda_engine_evict: NULL argument");
    bmd_dev *d = &e->d;
    int ns = 0;
    long na = 0;
    for (int s = 0; s < d->n_sys; s++)
        if (!remove[s]) {
            ns++;
            na += e->h_count[s];
        }
    if (ns == d->n_sys) return BMD_OK;
    /* host maps: kept slot -> old slot, kept atom -> old atom, new sysof and start */
    int *smap = (int *)malloc(((size_t)ns + 1) * sizeof(int)), *amap = (int *)malloc(((size_t)na + 1) * sizeof(int));
    int *nsys = (int *)malloc(((size_t)na + 1) * sizeof(int)), *nstart = (int *)malloc(((size_t)ns + 1) * sizeof(int));
    if (!smap || !amap || !nsys || !nstart) {
        free(smap), free(amap), free(nsys), free(nstart);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory evicting systems");
    }
    int k = 0;
    long a = 0;
    for (int s = 0; s < d->n_sys; s++) {
        if (remove[s]) continue;
        smap[k] = s;
        nstart[k] = (int)a;
        for (int i = 0; i < e->h_count[s]; i++, a++) {
            amap[a] = e->h_start[s] + i;
            nsys[a] = k;
        }
        k++;
    }
    int *d_smap = NULL, *d_amap = NULL, *d_nsys = NULL, *d_nstart = NULL;
    bmd_status st = BMD_OK;
    if (dalloc(&d_smap, ns) || dalloc(&d_amap, na) || dalloc(&d_nsys, na) || dalloc(&d_nstart, ns) ||
        cudaMemcpyAsync(d_smap, smap, (size_t)ns * sizeof(int), cudaMemcpyHostToDevice, e->comp) ||
        cudaMemcpyAsync(d_amap, amap, (size_t)na * sizeof(int), cudaMemcpyHostToDevice, e->comp) ||
        cudaMemcpyAsync(d_nsys, nsys, (size_t)na * sizeof(int), cudaMemcpyHostToDevice, e->comp) ||
        cudaMemcpyAsync(d_nstart, nstart, (size_t)ns * sizeof(int), cudaMemcpyHostToDevice, e->comp))
        st = bmd__fail(BMD_ERR_RUNTIME, "CUDA: %s", cudaGetErrorString(cudaGetLastError()));
    const int N = (int)na, maxnb = d->maxnb;
    const long CA = e->cap_atoms, CS = e->cap_sys;
    if (!st) st = gather(e, &d->pos, d_amap, N, 3, CA);
    if (!st) st = gather(e, &d->vel, d_amap, N, 3, CA);
    if (!st) st = gather(e, &d->force, d_amap, N, 3, CA);
    if (!st) st = gather(e, &d->mass, d_amap, N, 1, CA);
    if (!st) st = gather(e, &d->ref, d_amap, N, 3, CA);
    if (!st) st = gather(e, &d->fv, d_amap, N, 3, CA);
    if (!st) st = gather(e, &d->epa, d_amap, N, 1, CA);
    if (!st) st = gather(e, &d->wpa, d_amap, N, 6, CA);
    if (!st) st = gather(e, &d->type, d_amap, N, 1, CA);
    if (!st) st = gather(e, &d->local, d_amap, N, 1, CA);
    if (!st) st = gather(e, &d->nbcnt, d_amap, N, 1, CA);
    if (!st) st = gather(e, &d->nb, d_amap, N, maxnb, CA); /* rows hold local indices: still valid */
    if (!st) st = gather(e, &d->img, d_amap, N, maxnb, CA);
    if (!st) st = gather(e, &d->count, d_smap, ns, 1, CS);
    if (!st) st = gather(e, &d->status, d_smap, ns, 1, CS);
    if (!st) st = gather(e, &d->built, d_smap, ns, 1, CS);
    if (!st) st = gather(e, &d->stale, d_smap, ns, 1, CS);
    if (!st) st = gather(e, &d->geom, d_smap, ns, 1, CS);
    if (!st) st = gather(e, &d->energy, d_smap, ns, 1, CS);
    if (!st) st = gather(e, &d->virial, d_smap, ns, 6, CS);
    if (!st) st = gather(e, &d->steps, d_smap, ns, 1, CS);
    if (!st) st = gather(e, &d->fst, d_smap, ns, BMD_DST_W, CS);
    if (!st) st = gather(e, &d->fmax2, d_smap, ns, 1, CS);
    if (!st) st = gather(e, &d->sid, d_smap, ns, 1, CS);
    if (!st && cudaMemcpyAsync(d->sysof, d_nsys, (size_t)na * sizeof(int), cudaMemcpyDeviceToDevice, e->comp))
        st = bmd__fail(BMD_ERR_RUNTIME, "CUDA: %s", cudaGetErrorString(cudaGetLastError()));
    if (!st && cudaMemcpyAsync(d->start, d_nstart, (size_t)ns * sizeof(int), cudaMemcpyDeviceToDevice, e->comp))
        st = bmd__fail(BMD_ERR_RUNTIME, "CUDA: %s", cudaGetErrorString(cudaGetLastError()));
    if (!st && cudaStreamSynchronize(e->comp))
        st = bmd__fail(BMD_ERR_RUNTIME, "CUDA: %s", cudaGetErrorString(cudaGetLastError()));
    if (!st) {
        for (int s = 0; s < ns; s++) {
            e->h_count[s] = e->h_count[smap[s]];
            e->h_start[s] = nstart[s];
            e->h_nbins[s] = e->h_nbins[smap[s]];
            e->h_bin0[s + 1] = e->h_bin0[s] + e->h_nbins[s];
        }
        if (ns && cudaMemcpyAsync(d->bin0, e->h_bin0, (size_t)ns * sizeof(int), cudaMemcpyHostToDevice, e->comp))
            st = bmd__fail(BMD_ERR_RUNTIME, "CUDA: %s", cudaGetErrorString(cudaGetLastError()));
        if (!st && cudaStreamSynchronize(e->comp))
            st = bmd__fail(BMD_ERR_RUNTIME, "CUDA: %s", cudaGetErrorString(cudaGetLastError()));
        d->n_sys = ns;
        d->n_atoms = N;
    }
    cudaFree(d_smap);
    cudaFree(d_amap);
    cudaFree(d_nsys);
    cudaFree(d_nstart);
    free(smap), free(amap), free(nsys), free(nstart);
    if (e->g_valid) { /* pointers moved: the graph is re-captured on the next step */
        cudaGraphExecDestroy(e->exec);
        e->g_valid = 0;
    }
    return st;
}

/* ---- the step ---- */
static unsigned blocks(long n, int b) { return (unsigned)((n + b - 1) / b); }

/* list check + build, forces, per-system sums; force_all: every system, lists rebuilt */
static void launch_forces(bmd_cuda_engine *e, int force_all) {
    bmd_dev &d = e->d;
    const int B = e->block;
    const size_t shb = 2 * (size_t)B * sizeof(double);
    if (!d.n_sys) return;
    k_stale<<<d.n_sys, B, shb, e->comp>>>(d, force_all);
    k_bin_zero<<<d.n_sys, B, 0, e->comp>>>(d);
    k_bin_count<<<blocks(d.n_atoms, 128), 128, 0, e->comp>>>(d);
    k_bin_scan<<<d.n_sys, 32, 0, e->comp>>>(d);
    k_bin_fill<<<blocks(d.n_atoms, 128), 128, 0, e->comp>>>(d);
    k_build<<<blocks(d.n_atoms, 128), 128, 0, e->comp>>>(d);
    k_force<<<blocks(d.n_atoms, 128), 128, 0, e->comp>>>(d, force_all);
    k_reduce<<<d.n_sys, B, shb, e->comp>>>(d, force_all);
}

static void launch_post(bmd_cuda_engine *e);

static void launch_step(bmd_cuda_engine *e) {
    bmd_dev &d = e->d;
    const int B = e->block;
    const size_t shb = 2 * (size_t)B * sizeof(double);
    if (!d.n_sys) return;
    k_converge<<<blocks(d.n_sys, 128), 128, 0, e->comp>>>(d);
    k_init<<<blocks(d.n_sys, 128), 128, 0, e->comp>>>(d);
    k_pre<<<blocks(d.n_atoms, 128), 128, 0, e->comp>>>(d);
    k_fire<<<d.n_sys, B, shb, e->comp>>>(d);
    k_fire2<<<d.n_sys, B, shb, e->comp>>>(d);
    k_nh_pre<<<d.n_sys, B, shb, e->comp>>>(d);
    launch_forces(e, 0);
    launch_post(e);
}

/* the end of a step: post-updates and the step count */
static void launch_post(bmd_cuda_engine *e) {
    bmd_dev &d = e->d;
    const int B = e->block;
    const size_t shb = 2 * (size_t)B * sizeof(double);
    k_post<<<blocks(d.n_atoms, 128), 128, 0, e->comp>>>(d);
    k_nh_post<<<d.n_sys, B, shb, e->comp>>>(d);
    k_count<<<blocks(d.n_sys, 128), 128, 0, e->comp>>>(d);
}

/* The overflow flag (the widest row seen, 0 when none) and the steps done
 * since the last reset, in one copy. */
static bmd_status read_flags(bmd_cuda_engine *e, int *ovf, int *progress) {
    int h[2] = {0, 0};
    CK(cudaMemcpyAsync(h, e->d.overflow, sizeof h, cudaMemcpyDeviceToHost, e->comp));
    CK(cudaStreamSynchronize(e->comp));
    *ovf = h[0];
    *progress = h[1];
    return BMD_OK;
}

/* Rows too narrow: room for `need` entries and a quarter more; every list is
 * rebuilt (the rows' contents are dropped) and the flag cleared. */
static bmd_status widen(bmd_cuda_engine *e, int need) {
    bmd_dev &d = e->d;
    const long want = (long)need + need / 4 + 1;
    if (want * e->cap_atoms > (1L << 31))
        return bmd__fail(BMD_ERR_BUDGET, "cuda engine: an atom has %d neighbors within cutoff + skin: the lists "
                         "of %ld atoms do not fit", need, e->cap_atoms);
    CK(cudaStreamSynchronize(e->comp));
    cudaFree(d.nb);
    cudaFree(d.img);
    d.nb = d.img = NULL;
    CK(dalloc(&d.nb, (size_t)e->cap_atoms * want));
    CK(dalloc(&d.img, (size_t)e->cap_atoms * want));
    d.maxnb = (int)want;
    CK(cudaMemsetAsync(d.overflow, 0, sizeof(int), e->comp));
    if (e->g_valid) {
        cudaGraphExecDestroy(e->exec);
        e->g_valid = 0;
    }
    return BMD_OK;
}

/* forces (and lists) until no row overflows */
static bmd_status forces_checked(bmd_cuda_engine *e, int force_all) {
    for (;;) {
        launch_forces(e, force_all);
        CK(cudaGetLastError());
        int ovf = 0, progress = 0;
        bmd_status st = read_flags(e, &ovf, &progress);
        if (st || !ovf) return st;
        if ((st = widen(e, ovf))) return st;
        force_all = 1;
    }
}

static bmd_status launch_steps(bmd_cuda_engine *e, int n) {
    bmd_dev &d = e->d;
    if (!e->opt.graphs) {
        for (int k = 0; k < n; k++) launch_step(e);
        CK(cudaGetLastError());
        return BMD_OK;
    }
    if (e->g_valid && (e->g_sys != d.n_sys || e->g_atoms != d.n_atoms || e->g_maxnb != d.maxnb)) {
        cudaGraphExecDestroy(e->exec);
        e->g_valid = 0;
    }
    if (!e->g_valid) { /* capture one steady-state step (the kernels take d by value: shapes and pointers) */
        cudaGraph_t g;
        CK(cudaStreamBeginCapture(e->comp, cudaStreamCaptureModeThreadLocal));
        launch_step(e);
        CK(cudaStreamEndCapture(e->comp, &g));
        cudaError_t ce = cudaGraphInstantiate(&e->exec, g, 0);
        cudaGraphDestroy(g);
        CK(ce);
        e->g_valid = 1;
        e->g_sys = d.n_sys;
        e->g_atoms = d.n_atoms;
        e->g_maxnb = d.maxnb;
    }
    for (int k = 0; k < n; k++) CK(cudaGraphLaunch(e->exec, e->comp));
    return BMD_OK;
}

/* n steps with one host read at the end. A list build that overflows its row
 * makes every later kernel a no-op (the flag), so the state is that of the
 * overflowing step after its pre-updates: the rows are widened, the forces
 * computed with fresh lists, the step finished, and the rest run. */
extern "C" bmd_status bmd_cuda_engine_step(bmd_cuda_engine *e, int n) {
    if (!e || n < 0) return bmd__fail(BMD_ERR_INVALID, "bmd_cuda_engine_step: bad argument");
    bmd_status st;
    if (e->need_forces) { /* systems came or went: forces of the new ones first */
        if ((st = forces_checked(e, 0))) return st;
        e->need_forces = 0;
    }
    int done = 0;
    while (done < n) {
        CK(cudaMemsetAsync(e->d.progress, 0, sizeof(int), e->comp));
        if ((st = launch_steps(e, n - done))) return st;
        int ovf = 0, progress = 0;
        if ((st = read_flags(e, &ovf, &progress))) return st;
        if (!ovf) return BMD_OK;
        if ((st = widen(e, ovf)) || (st = forces_checked(e, 1))) return st;
        launch_post(e);
        CK(cudaGetLastError());
        done += progress + 1;
    }
    return BMD_OK;
}

extern "C" bmd_status bmd_cuda_engine_compute(bmd_cuda_engine *e, const bmd_compute_request *req) {
    if (!e || !req) return bmd__fail(BMD_ERR_INVALID, "bmd_cuda_engine_compute: NULL argument");
    bmd_dev &d = e->d;
    bmd_status st = forces_checked(e, 1);
    if (st) return st;
    e->need_forces = 0;
    const int ns = d.n_sys;
    double *f = NULL, *en = NULL, *w = NULL;
    if (req->forces) f = (double *)malloc(3 * (size_t)d.n_atoms * sizeof(double) + 1);
    if (req->energy) en = (double *)malloc((size_t)ns * sizeof(double) + 1);
    if (req->virial) w = (double *)malloc(6 * (size_t)ns * sizeof(double) + 1);
    if ((req->forces && !f) || (req->energy && !en) || (req->virial && !w)) st = bmd__fail(BMD_ERR_NOMEM, "out of memory");
    if (!st && f && cudaMemcpy(f, d.force, 3 * (size_t)d.n_atoms * sizeof(double), cudaMemcpyDeviceToHost))
        st = bmd__fail(BMD_ERR_RUNTIME, "CUDA: copying forces back failed");
    if (!st && en && cudaMemcpy(en, d.energy, (size_t)ns * sizeof(double), cudaMemcpyDeviceToHost))
        st = bmd__fail(BMD_ERR_RUNTIME, "CUDA: copying energies back failed");
    if (!st && w && cudaMemcpy(w, d.virial, 6 * (size_t)ns * sizeof(double), cudaMemcpyDeviceToHost))
        st = bmd__fail(BMD_ERR_RUNTIME, "CUDA: copying virials back failed");
    for (int s = 0; !st && s < ns; s++) {
        if (req->mask && !req->mask[s]) continue;
        if (f) memcpy(req->forces + 3 * (size_t)e->h_start[s], f + 3 * (size_t)e->h_start[s],
                      3 * (size_t)e->h_count[s] * sizeof(double));
        if (en) req->energy[s] = en[s];
        if (w) memcpy(req->virial + 6 * (size_t)s, w + 6 * (size_t)s, 6 * sizeof(double));
    }
    free(f);
    free(en);
    free(w);
    return st;
}

extern "C" bmd_status bmd_cuda_engine_download(bmd_cuda_engine *e, double *pos, double *vel, double *force,
                                               double *energy, double *virial, int *status, double *steps) {
    if (!e) return bmd__fail(BMD_ERR_INVALID, "bmd_cuda_engine_download: NULL engine");
    bmd_dev &d = e->d;
    const size_t na = (size_t)d.n_atoms, ns = (size_t)d.n_sys;
#define DN(h, dp, n) \
    if (h) CK(cudaMemcpyAsync((h), (dp), (n) * sizeof *(dp), cudaMemcpyDeviceToHost, e->comp))
    DN(pos, d.pos, 3 * na);
    DN(vel, d.vel, 3 * na);
    DN(force, d.force, 3 * na);
    DN(energy, d.energy, ns);
    DN(virial, d.virial, 6 * ns);
    DN(status, d.status, ns);
    DN(steps, d.steps, ns);
#undef DN
    CK(cudaStreamSynchronize(e->comp));
    return BMD_OK;
}
