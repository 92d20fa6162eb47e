/* stop.c — SIGINT/SIGTERM during a run driven from Python (run.c,
 * pipeline.c): while C runs with the GIL released, Python's own handler
 * would only set a flag Python looks at later, so the run installs a
 * handler that asks the runner to stop at the next round (every output
 * complete), restores Python's after, and the caller raises
 * KeyboardInterrupt. Only a run on Python's main thread takes the signals
 * (they are delivered there); elsewhere nothing is installed. */
#include <signal.h>
#include <string.h>

#include "pybmd.h"

static volatile sig_atomic_t stop_flag;

static void on_stop(int sig) {
    (void)sig;
    stop_flag = 1;
}

volatile sig_atomic_t *bmdpy_stop_begin(bmdpy_stop *s, int main_thread) {
    memset(s, 0, sizeof *s);
    s->active = main_thread;
    if (!main_thread) return NULL;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    stop_flag = 0;
    sigaction(SIGINT, &sa, &s->was_int);
    sigaction(SIGTERM, &sa, &s->was_term);
    return &stop_flag;
}

int bmdpy_stop_end(bmdpy_stop *s) {
    if (!s->active) return 0;
    sigaction(SIGINT, &s->was_int, NULL);
    sigaction(SIGTERM, &s->was_term, NULL);
    s->active = 0;
    return stop_flag != 0;
}
