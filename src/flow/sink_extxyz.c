/* sink_extxyz.c — owns the extended XYZ file sink: whole frames appended
 * with round-trip precision (records.h: only complete frames reach the
 * file, so a process killed by a signal other than SIGKILL leaves no torn
 * frame), flushed on close. For checkpoints: commit flushes, fsyncs and
 * records the file's length; a sink reopened for a resume is rewound
 * (truncated) to that length, which also removes a torn last frame left by
 * a SIGKILL. */
#include "batchmd/flow.h"

#include <stdlib.h>
#include <string.h>

#include "batchmd/elements.h"
#include "batchmd/extxyz.h"
#include "io/records.h"

typedef struct xyz_sink {
    bmd__records *out;
    bmd_units_kind units;
} xyz_sink;

/* 1 when a mass differs from the element's standard one, which is what a
 * reader (ASE) assumes without a masses column: custom masses (isotopes),
 * and every mass in lj units (1). Without the column ASE would also turn
 * the written momenta into wrong velocities. */
static int custom_masses(const bmd_system *sys) {
    for (int i = 0; sys->mass && i < sys->n_atoms; i++)
        if (sys->mass[i] != bmd_element_mass(sys->Z[i])) return 1;
    return 0;
}

static bmd_status xyz_write(void *self, const bmd_system *sys) {
    xyz_sink *s = self;
    bmd_extxyz_write_opts o = {.forces = 1, .momenta = 1, .masses = custom_masses(sys), .energy = 1, .stress = 1,
                               .system_id = 1, .info = 1};
    bmd_status st = bmd_extxyz_write_frame(bmd__records_stream(s->out), sys, s->units, &o);
    return st ? st : bmd__records_end(s->out);
}

static bmd_status xyz_close(void *self) {
    xyz_sink *s = self;
    bmd_status st = bmd__records_close(s->out);
    s->out = NULL;
    return st;
}

static void xyz_destroy(void *self) {
    xyz_sink *s = self;
    bmd__records_close(s->out);
    free(s);
}

static bmd_status xyz_commit(void *self, void **state, size_t *n) {
    xyz_sink *s = self;
    *state = NULL;
    *n = 0;
    if (!s->out) return bmd__fail(BMD_ERR_IO, "extxyz sink: committed after close");
    return bmd__records_commit(s->out, state, n);
}

static bmd_status xyz_rewind(void *self, const void *state, size_t n) {
    xyz_sink *s = self;
    int64_t len;
    if (n != sizeof len) return bmd__fail(BMD_ERR_PARSE, "extxyz sink: malformed checkpoint state");
    memcpy(&len, state, sizeof len);
    if (!s->out) return bmd__fail(BMD_ERR_IO, "extxyz sink: rewound after close");
    return bmd__records_truncate(s->out, len);
}

static const bmd_sink_ops xyz_ops = {.type = "extxyz",
                                     .write = xyz_write,
                                     .close = xyz_close,
                                     .destroy = xyz_destroy,
                                     .commit = xyz_commit,
                                     .rewind = xyz_rewind};

static bmd_status open_sink(const char *path, bmd_units_kind units, int keep, bmd_sink **out) {
    xyz_sink *s = calloc(1, sizeof *s);
    bmd_sink *k = calloc(1, sizeof *k);
    if (!s || !k) {
        free(s);
        free(k);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    }
    s->units = units;
    bmd_status st = bmd__records_open(path, keep, &s->out); /* kept: appended to */
    if (st) {
        free(s);
        free(k);
        return st;
    }
    k->ops = &xyz_ops;
    k->self = s;
    *out = k;
    return BMD_OK;
}

bmd_status bmd_sink_extxyz_create(const char *path, bmd_units_kind units, bmd_sink **out) {
    return open_sink(path, units, 0, out);
}

bmd_status bmd_sink_extxyz_reopen(const char *path, bmd_units_kind units, bmd_sink **out) {
    return open_sink(path, units, 1, out);
}
