/* sink_extxyz.c — owns the extended XYZ file sink: whole frames appended
 * with round-trip precision, flushed on close. For checkpoints: commit
 * flushes, fsyncs and records the file's length; a sink reopened for a
 * resume is rewound (truncated) to that length, which also removes a torn
 * last frame left by a kill. */
#include "batchmd/flow.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batchmd/elements.h"
#include "batchmd/extxyz.h"

typedef struct xyz_sink {
    FILE *f;
    char *path;
    bmd_units_kind units;
} xyz_sink;

/* mkdir -p of path's parent folder. */
static int make_parents(const char *path) {
    char *p = malloc(strlen(path) + 1);
    if (!p) return -1;
    strcpy(p, path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *s = '/';
    }
    free(p);
    return 0;
}

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
    bmd_status st = bmd_extxyz_write_frame(s->f, sys, s->units, &o);
    if (!st && ferror(s->f)) st = bmd__fail(BMD_ERR_IO, "%s: write failed: %s", s->path, strerror(errno));
    return st;
}

static bmd_status xyz_close(void *self) {
    xyz_sink *s = self;
    if (!s->f) return BMD_OK;
    int bad = fclose(s->f) != 0;
    s->f = NULL;
    return bad ? bmd__fail(BMD_ERR_IO, "%s: closing failed: %s", s->path, strerror(errno)) : BMD_OK;
}

static void xyz_destroy(void *self) {
    xyz_sink *s = self;
    if (s->f) fclose(s->f);
    free(s->path);
    free(s);
}

static bmd_status xyz_commit(void *self, void **state, size_t *n) {
    xyz_sink *s = self;
    *state = NULL;
    *n = 0;
    if (!s->f) return bmd__fail(BMD_ERR_IO, "%s: committed after close", s->path);
    long len;
    if (fflush(s->f) != 0 || fsync(fileno(s->f)) != 0 || (len = ftell(s->f)) < 0)
        return bmd__fail(BMD_ERR_IO, "%s: cannot flush to disk: %s", s->path, strerror(errno));
    int64_t *v = malloc(sizeof *v);
    if (!v) return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    *v = len;
    *state = v;
    *n = sizeof *v;
    return BMD_OK;
}

static bmd_status xyz_rewind(void *self, const void *state, size_t n) {
    xyz_sink *s = self;
    int64_t len;
    if (n != sizeof len) return bmd__fail(BMD_ERR_PARSE, "%s: malformed checkpoint state", s->path);
    memcpy(&len, state, sizeof len);
    if (!s->f || fflush(s->f) != 0) return bmd__fail(BMD_ERR_IO, "%s: cannot rewind", s->path);
    struct stat st;
    if (fstat(fileno(s->f), &st) != 0) return bmd__fail(BMD_ERR_IO, "%s: %s", s->path, strerror(errno));
    if (st.st_size < len)
        return bmd__fail(BMD_ERR_IO, "%s: %lld bytes, shorter than the %lld the checkpoint committed: the file was "
                                     "changed since; cannot resume",
                         s->path, (long long)st.st_size, (long long)len);
    if (ftruncate(fileno(s->f), (off_t)len) != 0 || fseek(s->f, (long)len, SEEK_SET) != 0)
        return bmd__fail(BMD_ERR_IO, "%s: cannot truncate: %s", s->path, strerror(errno));
    return BMD_OK;
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
    if (!s || !k || !(s->path = malloc(strlen(path) + 1))) {
        free(s ? s->path : NULL);
        free(s);
        free(k);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    }
    strcpy(s->path, path);
    s->units = units;
    make_parents(path);
    if (keep && (s->f = fopen(path, "r+"))) fseek(s->f, 0, SEEK_END); /* kept: appended to */
    else if (!(s->f = fopen(path, "w"))) {
        bmd_status st = bmd__fail(BMD_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
        xyz_destroy(s);
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
