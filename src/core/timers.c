/* timers.c — owns the monotonic clock and the timer names of timers.h, and
 * the per-thread neighbor timer of the model evaluation running on the
 * calling thread (its sampling: models/model_internal.h). */
#include "batchmd/timers.h"

#include "models/model_internal.h"

#include <time.h>

_Thread_local bmd__neighbor_timer bmd__neighbor = {NULL, 0, -1.0};

double bmd_clock(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void bmd__neighbor_calibrate(void) {
    if (bmd__neighbor.overhead >= 0) return;
    enum { K = 64 };
    double sum = 0;
    for (int k = 0; k < K; k++) {
        double t0 = bmd_clock();
        sum += bmd_clock() - t0;
    }
    bmd__neighbor.overhead = sum / K;
}

const char *bmd_timer_name(bmd_timer_id id) {
    static const char *const names[BMD_TIMER_COUNT] = {"neighbor", "force", "integrate", "flow", "io"};
    return (unsigned)id < BMD_TIMER_COUNT ? names[id] : NULL;
}
