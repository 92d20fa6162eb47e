/* cuda_device.cu — owns the CUDA runtime's device queries: whether a device
 * is usable (bmd_cuda_available, bmd_cuda_check, with the message that says
 * why not) and its description (bmd_cuda_device_info). */
#include <cuda_runtime.h>

#include <stdio.h>
#include <string.h>

extern "C" {
#include "batchmd/cuda.h"
}

extern "C" int bmd_cuda_built(void) { return 1; }

static cudaError_t count_devices(int *n) {
    *n = 0;
    cudaError_t e = cudaGetDeviceCount(n);
    if (e != cudaSuccess) {
        *n = 0;
        (void)cudaGetLastError(); /* clear the sticky-free error */
    }
    return e;
}

extern "C" int bmd_cuda_available(void) {
    int n;
    return count_devices(&n) == cudaSuccess && n > 0;
}

extern "C" bmd_status bmd_cuda_check(void) {
    int n;
    cudaError_t e = count_devices(&n);
    if (e != cudaSuccess)
        return bmd__fail(BMD_ERR_UNSUPPORTED, "no CUDA device found (%s: %s)", cudaGetErrorName(e),
                         cudaGetErrorString(e));
    if (n == 0) return bmd__fail(BMD_ERR_UNSUPPORTED, "no CUDA device found (the driver reports 0 devices)");
    return BMD_OK;
}

extern "C" bmd_status bmd_cuda_device_info(int device, bmd_cuda_device *out) {
    if (!out) return bmd__fail(BMD_ERR_INVALID, "bmd_cuda_device_info: out is NULL");
    memset(out, 0, sizeof *out);
    bmd_status st = bmd_cuda_check();
    if (st) return st;
    int n = 0;
    count_devices(&n);
    if (device < 0 || device >= n)
        return bmd__fail(BMD_ERR_INVALID, "CUDA device %d does not exist (%d found)", device, n);
    cudaDeviceProp p;
    cudaError_t e = cudaGetDeviceProperties(&p, device);
    if (e != cudaSuccess)
        return bmd__fail(BMD_ERR_RUNTIME, "CUDA device %d: %s", device, cudaGetErrorString(e));
    out->device = device;
    snprintf(out->name, sizeof out->name, "%.127s", p.name);
    out->major = p.major;
    out->minor = p.minor;
    out->multiprocessors = p.multiProcessorCount;
    out->memory_bytes = (double)p.totalGlobalMem;
    int clock_khz = 0, bus_bits = 0; /* CUDA 13 dropped these from cudaDeviceProp */
    if (cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, device) == cudaSuccess &&
        cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, device) == cudaSuccess)
        out->bandwidth_bytes_per_s = 2.0 * clock_khz * 1e3 * (bus_bits / 8.0);
    (void)cudaGetLastError();
    cudaRuntimeGetVersion(&out->runtime_version);
    cudaDriverGetVersion(&out->driver_version);
    return BMD_OK;
}
