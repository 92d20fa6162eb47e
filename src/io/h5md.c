/* h5md.c — owns the H5MD 1.1 trajectory sink (h5md.h), and is the only
 * file of batchmd that includes hdf5.h (src/io/h5md_none.c stands in when
 * HDF5 is absent at build time).
 *
 * Layout, one particle group per system (see include/batchmd/h5md.h):
 *
 *   /h5md                     +version int32[2] = [1, 1]
 *     author                  +name
 *     creator                 +name "batchmd", +version
 *   /parameters               +units "metal" | "lj"  (batchmd's unit system)
 *   /particles/system_<id>
 *     position/{value [n,N,3], step [n], time [n]}     the system's clock
 *     box                     +dimension int32 = 3, +boundary string[3] periodic|none
 *       edges/value [n,3,3]
 *     velocity/value [n,N,3], force/value [n,N,3]      (if the first frame has them)
 *     species int32 [N], mass float64 [N]
 *   /system_observables/system_<id>
 *     potential_energy/value [n], temperature/value [n] (if the first frame has them)
 *
 * Per-system observables are not under H5MD's /observables: MDAnalysis'
 * reader takes every child of /observables for an element with a `value`
 * (/observables/<name>/value) and fails on per-system subgroups, so they
 * live in a group of their own (H5MD allows non-specified groups), with
 * the same element layout.
 *
 * Every time-dependent element other than position has `step` and `time`
 * as hard links to position's: one sampling per system, as MDAnalysis and
 * OVITO expect. value datasets are float64, step int64, time float64; all
 * chunked along an unlimited frame axis, in small chunks (thousands of
 * systems with a few frames each are the common case, and a chunk is
 * allocated whole).
 *
 * Units (metal): value and time datasets carry a `unit` attribute, a
 * scalar variable-length ASCII string (H5MD's units module; h5py reads it
 * as str, which MDAnalysis' reader needs), spelled as MDAnalysis 2.x's
 * H5MD reader knows them: Angstrom, fs (times, as batchmd counts them),
 * Angstrom ps-1, kJ mol-1 Angstrom-1, eV, u, K. Velocities and forces are
 * converted from batchmd's Å/fs and eV/Å (× 1000, × e·N_A/1000): MDAnalysis
 * knows no eV-based force unit, and up to 2.9 it converts "Angstrom fs-1"
 * by the inverse factor (MDAnalysis issue #5051); Å/ps and kJ/(mol·Å) are
 * its own units, which it takes as they are. No units module is
 * declared: its "SI" system spells the ångström "Ang" (and "A" is the
 * ampere), which MDAnalysis does not know. lj: no `unit` attributes
 * (reduced units; /parameters says "lj").
 *
 * A frame is appended by opening the system's datasets by name, growing
 * each by one row and writing it: no per-system state is kept in memory,
 * so idle systems cost nothing and the file can be closed and reopened at
 * any time. It is flushed at least every FLUSH_EVERY_S seconds of writing,
 * and on close.
 *
 * Checkpoints (checkpoint.h): commit counts every system's frames, then
 * closes the file (complete on disk) and fsyncs it; the next write reopens
 * it. A sink reopened for a resume (bmd_sink_h5md_reopen) is rewound to
 * those counts: every time-dependent dataset of a system shrinks back to
 * its committed frame count (H5Dset_extent), systems created after the
 * checkpoint are unlinked. HDF5 files are NOT crash-safe between commits:
 * a SIGKILL while the file is open for writing can leave it unreadable (or
 * flagged as still open by HDF5's superblock status flags); the resume
 * then stops with a clear error naming the file ("cannot reopen the H5MD
 * file ... not crash-safe ..."), and the trajectory must be given up
 * (delete it and the checkpoint, or move it away and run again).
 *
 * HDF5 never prints: around every call into it, its automatic error
 * handler is replaced by one that keeps the innermost message of the first
 * failure, which goes into batchmd's error message, with the path. */
#include "batchmd/h5md.h"
#include "core/paths.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "batchmd/batchmd.h"

#define FLUSH_EVERY_S 10.0
#define OBS_GROUP "system_observables" /* see the top of the file */
/* Chunks of about CHUNK_BYTES (whole frames, at most CHUNK_MAX_FRAMES): small,
 * since thousands of systems with a few frames each are the common case
 * and a chunk is allocated whole. */
#define CHUNK_BYTES 4096
#define CHUNK_MAX_FRAMES 64

_Static_assert(sizeof(int) == 4, "species are written from int as int32");

typedef struct h5_sink {
    char *path;
    bmd_units_kind units;
    hid_t file; /* < 0 when closed */
    double last_flush;
    int resuming; /* reopened for a resume, not rewound yet */
} h5_sink;

/* Unit strings of each quantity, per unit system (NULL: no attribute). */
typedef struct unit_set {
    const char *length, *time, *velocity, *force, *energy, *mass, *temperature;
} unit_set;

static const unit_set METAL_UNITS = {"Angstrom", "fs", "Angstrom ps-1", "kJ mol-1 Angstrom-1", "eV", "u", "K"};
static const unit_set LJ_UNITS = {NULL, NULL, NULL, NULL, NULL, NULL, NULL};

static const unit_set *units_of(const h5_sink *s) { return s->units == BMD_UNITS_LJ ? &LJ_UNITS : &METAL_UNITS; }

/* Stored velocity and force per batchmd unit: Å/fs -> Å/ps, eV/Å -> kJ/(mol·Å)
 * (metal); 1 for lj. */
static double velocity_factor(const h5_sink *s) { return s->units == BMD_UNITS_METAL ? 1000.0 : 1.0; }
static double force_factor(const h5_sink *s) { return bmd_units_get(s->units).kjmol; }

/* ------------------------------------------------------------ errors */

/* The innermost message of the first HDF5 call that failed since
 * quiet_begin(): HDF5 calls its "automatic" error handler as a failing API
 * call returns, with the error stack of that call; this handler keeps the
 * message instead of printing it (later calls, e.g. the closes of the
 * cleanup, would reset the stack). */
static char h5_err[256];

static herr_t first_error(unsigned n, const H5E_error2_t *e, void *data) {
    if (n == 0 && e->desc) snprintf(data, sizeof h5_err, "%s", e->desc);
    return 0;
}

static herr_t keep_error(hid_t stack, void *data) {
    (void)data;
    if (!h5_err[0]) H5Ewalk2(stack, H5E_WALK_UPWARD, first_error, h5_err);
    return 0;
}

/* Fails with "<path>: <what> [name] (HDF5: <message>)". */
static bmd_status h5fail(const h5_sink *s, const char *what, const char *name) {
    return bmd__fail(BMD_ERR_IO, "%s: %s%s%s (HDF5: %s)", s->path, what, name ? " " : "", name ? name : "",
                     h5_err[0] ? h5_err : "unknown error");
}

/* Routes HDF5's errors to keep_error (nothing printed) until quiet_end(). */
typedef struct quiet {
    H5E_auto2_t func;
    void *data;
} quiet;

static quiet quiet_begin(void) {
    quiet q = {NULL, NULL};
    H5Eget_auto2(H5E_DEFAULT, &q.func, &q.data);
    H5Eset_auto2(H5E_DEFAULT, keep_error, NULL);
    h5_err[0] = '\0';
    return q;
}

static void quiet_end(quiet q) { H5Eset_auto2(H5E_DEFAULT, q.func, q.data); }

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ------------------------------------------------ small HDF5 helpers */

/* Closes an HDF5 identifier of any kind (groups, datasets, spaces, types,
 * property lists, attributes); negative ids are skipped. */
static void h5close(hid_t id) {
    if (id < 0) return;
    switch (H5Iget_type(id)) {
    case H5I_GROUP: H5Gclose(id); break;
    case H5I_DATASET: H5Dclose(id); break;
    case H5I_DATASPACE: H5Sclose(id); break;
    case H5I_DATATYPE: H5Tclose(id); break;
    case H5I_GENPROP_LST: H5Pclose(id); break;
    case H5I_ATTR: H5Aclose(id); break;
    case H5I_FILE: H5Fclose(id); break;
    default: break;
    }
}

/* Writes attribute `name` (rank 0 when n == 0, else [n]) of type `type` on loc. */
static herr_t attr_write(hid_t loc, const char *name, hid_t ftype, hid_t mtype, hsize_t n, const void *data) {
    hid_t sp = n ? H5Screate_simple(1, &n, NULL) : H5Screate(H5S_SCALAR);
    hid_t a = sp < 0 ? -1 : H5Acreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = a < 0 ? -1 : H5Awrite(a, mtype, data);
    h5close(a);
    h5close(sp);
    return rc;
}

static herr_t attr_int(hid_t loc, const char *name, hsize_t n, const int *v) {
    return attr_write(loc, name, H5T_STD_I32LE, H5T_NATIVE_INT, n, v);
}

/* A fixed-length, NUL-terminated ASCII string attribute (n == 0: scalar, else
 * an array of the n strings strs[]). */
static herr_t attr_str(hid_t loc, const char *name, hsize_t n, const char *const *strs) {
    hsize_t count = n ? n : 1;
    size_t len = 1;
    for (hsize_t i = 0; i < count; i++)
        if (strlen(strs[i]) + 1 > len) len = strlen(strs[i]) + 1;
    char *buf = calloc((size_t)count, len);
    if (!buf) return -1;
    for (hsize_t i = 0; i < count; i++) memcpy(buf + i * len, strs[i], strlen(strs[i]));
    hid_t t = H5Tcopy(H5T_C_S1);
    herr_t rc = -1;
    if (t >= 0 && H5Tset_size(t, len) >= 0 && H5Tset_strpad(t, H5T_STR_NULLTERM) >= 0)
        rc = attr_write(loc, name, t, t, n, buf);
    h5close(t);
    free(buf);
    return rc;
}

static herr_t attr_str1(hid_t loc, const char *name, const char *value) { return attr_str(loc, name, 0, &value); }

/* The `unit` attribute of a dataset: a scalar, variable-length ASCII string
 * (H5MD's units module); none when unit is NULL. */
static herr_t attr_unit(hid_t d, const char *unit) {
    if (!unit) return 0;
    hid_t t = H5Tcopy(H5T_C_S1);
    herr_t rc = -1;
    if (t >= 0 && H5Tset_size(t, H5T_VARIABLE) >= 0 && H5Tset_cset(t, H5T_CSET_ASCII) >= 0)
        rc = attr_write(d, "unit", t, t, 0, &unit);
    h5close(t);
    return rc;
}

static hid_t group_create(hid_t loc, const char *name) {
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    if (lcpl < 0) return -1;
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t g = H5Gcreate2(loc, name, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Pclose(lcpl);
    return g;
}

/* Creates dataset `name` of shape [0, tail...] growing without limit along
 * the first axis, chunked by whole frames (about CHUNK_BYTES per chunk). */
static hid_t frames_create(hid_t loc, const char *name, hid_t ftype, int ntail, const hsize_t *tail) {
    hsize_t dims[3] = {0, 0, 0}, maxd[3] = {H5S_UNLIMITED, 0, 0}, chunk[3] = {1, 0, 0};
    size_t row = H5Tget_size(ftype);
    for (int i = 0; i < ntail; i++) {
        dims[i + 1] = maxd[i + 1] = chunk[i + 1] = tail[i];
        row *= (size_t)tail[i];
    }
    size_t k = row ? CHUNK_BYTES / row : 1;
    chunk[0] = k < 1 ? 1 : k > CHUNK_MAX_FRAMES ? CHUNK_MAX_FRAMES : k;
    hid_t sp = H5Screate_simple(ntail + 1, dims, maxd);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t d = -1;
    if (sp >= 0 && dcpl >= 0 && H5Pset_chunk(dcpl, ntail + 1, chunk) >= 0)
        d = H5Dcreate2(loc, name, ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    h5close(dcpl);
    h5close(sp);
    return d;
}

/* A time-independent dataset [n] written at once. */
static herr_t fixed_write(hid_t loc, const char *name, hid_t ftype, hid_t mtype, hsize_t n, const void *data,
                          const char *unit) {
    hid_t sp = H5Screate_simple(1, &n, NULL);
    hid_t d = sp < 0 ? -1 : H5Dcreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = d < 0 ? -1 : H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    if (rc >= 0) rc = attr_unit(d, unit);
    h5close(d);
    h5close(sp);
    return rc;
}

/* Appends one frame (row) to dataset `name` of loc. */
static herr_t frames_append(hid_t loc, const char *name, hid_t mtype, const void *data) {
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    hid_t fs = -1, ms = -1;
    herr_t rc = -1;
    hsize_t dims[3], start[3] = {0, 0, 0}, count[3];
    int rank = -1;
    if (d < 0 || (fs = H5Dget_space(d)) < 0 || (rank = H5Sget_simple_extent_dims(fs, dims, NULL)) < 1 || rank > 3)
        goto done;
    h5close(fs);
    fs = -1;
    start[0] = dims[0];
    dims[0] += 1;
    count[0] = 1;
    for (int i = 1; i < rank; i++) count[i] = dims[i];
    if (H5Dset_extent(d, dims) < 0 || (fs = H5Dget_space(d)) < 0 ||
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        (ms = H5Screate_simple(rank, count, NULL)) < 0)
        goto done;
    rc = H5Dwrite(d, mtype, ms, fs, H5P_DEFAULT, data);
done:
    h5close(ms);
    h5close(fs);
    h5close(d);
    return rc;
}

/* Rows of dataset `name` of loc (-1 on error). */
static long long frames_count(hid_t loc, const char *name) {
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    hid_t fs = d < 0 ? -1 : H5Dget_space(d);
    hsize_t dims[3] = {0, 0, 0};
    long long n = -1;
    if (fs >= 0 && H5Sget_simple_extent_ndims(fs) >= 1 && H5Sget_simple_extent_ndims(fs) <= 3 &&
        H5Sget_simple_extent_dims(fs, dims, NULL) >= 1)
        n = (long long)dims[0];
    h5close(fs);
    h5close(d);
    return n;
}

/* ------------------------------------------ time-dependent elements */

/* Creates element group `name` under loc with its value dataset (float64
 * [0, tail...], unit if not NULL) and step and time: its own datasets when clock < 0,
 * else hard links to the step and time of the element group `clock` (the
 * system's position), so that every element shares one sampling. */
static bmd_status element_create(const h5_sink *s, hid_t loc, const char *name, int ntail, const hsize_t *tail,
                                 const char *unit, hid_t clock) {
    hid_t g = group_create(loc, name);
    hid_t v = g < 0 ? -1 : frames_create(g, "value", H5T_IEEE_F64LE, ntail, tail);
    hid_t st = -1, t = -1;
    int ok = v >= 0 && attr_unit(v, unit) >= 0;
    if (ok && clock < 0) {
        ok = (st = frames_create(g, "step", H5T_STD_I64LE, 0, NULL)) >= 0 &&
             (t = frames_create(g, "time", H5T_IEEE_F64LE, 0, NULL)) >= 0 &&
             attr_unit(t, units_of(s)->time) >= 0;
    } else if (ok) {
        ok = H5Lcreate_hard(clock, "step", g, "step", H5P_DEFAULT, H5P_DEFAULT) >= 0 &&
             H5Lcreate_hard(clock, "time", g, "time", H5P_DEFAULT, H5P_DEFAULT) >= 0;
    }
    bmd_status rc = ok ? BMD_OK : h5fail(s, "cannot create element", name);
    h5close(t);
    h5close(st);
    h5close(v);
    h5close(g);
    return rc;
}

/* ------------------------------------------------------ the file */

/* The /h5md metadata group and the top-level groups of a new file. */
static bmd_status write_header(h5_sink *s) {
    const int version[2] = {1, 1};
    const char *user = getenv("USER");
    if (!user || !*user) user = getenv("LOGNAME");
    if (!user || !*user) user = "unknown";
    hid_t h = H5Gcreate2(s->file, "h5md", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t a = h < 0 ? -1 : H5Gcreate2(h, "author", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t c = a < 0 ? -1 : H5Gcreate2(h, "creator", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t u = -1, p = -1, o = -1;
    int ok = c >= 0 && attr_int(h, "version", 2, version) >= 0 && attr_str1(a, "name", user) >= 0 &&
             attr_str1(c, "name", "batchmd") >= 0 && attr_str1(c, "version", bmd_version()) >= 0;
    ok = ok && (u = H5Gcreate2(s->file, "parameters", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
         attr_str1(u, "units", s->units == BMD_UNITS_LJ ? "lj" : "metal") >= 0;
    ok = ok && (p = H5Gcreate2(s->file, "particles", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
         (o = H5Gcreate2(s->file, OBS_GROUP, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) >= 0;
    bmd_status rc = ok ? BMD_OK : h5fail(s, "cannot write the H5MD header", NULL);
    h5close(o);
    h5close(p);
    h5close(u);
    h5close(c);
    h5close(a);
    h5close(h);
    return rc;
}

/* Opens (truncate: creates) the file. Objects use HDF5 1.10's formats
 * (readable by HDF5 >= 1.10, i.e. every h5py, MDAnalysis and OVITO of the
 * last years): their chunk index (an extensible array) costs a fraction of
 * 1.8's B-trees, which matters with thousands of small systems. */
static bmd_status file_open(h5_sink *s, int truncate) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
#if H5_VERSION_GE(1, 10, 0)
    if (fapl >= 0) H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_LATEST);
#else
    if (fapl >= 0) H5Pset_libver_bounds(fapl, H5F_LIBVER_18, H5F_LIBVER_LATEST);
#endif
    if (truncate) {
        bmd__make_parents(s->path);
        s->file = H5Fcreate(s->path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    } else {
        s->file = H5Fopen(s->path, H5F_ACC_RDWR, fapl);
        if (s->file < 0 && s->resuming && fapl >= 0) {
            /* A kill left the superblock's "open for writing" flags set: clear
             * them as h5clear does (the property h5clear sets, through the
             * public generic-property call), then the rewind decides whether
             * what the last commit closed is intact. */
            hbool_t clear = 1;
            if (H5Pexist(fapl, "clear_status_flags") > 0 && H5Pset(fapl, "clear_status_flags", &clear) >= 0)
                s->file = H5Fopen(s->path, H5F_ACC_RDWR, fapl);
        }
    }
    h5close(fapl);
    if (s->file < 0) return h5fail(s, truncate ? "cannot create the H5MD file" : "cannot reopen the H5MD file", NULL);
    s->last_flush = now_s();
    return truncate ? write_header(s) : BMD_OK;
}

static bmd_status file_close(h5_sink *s) {
    if (s->file < 0) return BMD_OK;
    int ok = H5Fflush(s->file, H5F_SCOPE_GLOBAL) >= 0;
    ok = H5Fclose(s->file) >= 0 && ok;
    s->file = -1;
    return ok ? BMD_OK : h5fail(s, "error closing the H5MD file", NULL);
}

/* ------------------------------------------------------ one frame */

/* The frame's step and time: info keys "step" and "time", else the index of
 * the frame in the system's group (and time = step). */
static bmd_status frame_clock(const h5_sink *s, const bmd_system *sys, hid_t pg, int64_t *step, double *time) {
    const char *st = bmd_info_get(&sys->info, "step"), *tm = bmd_info_get(&sys->info, "time");
    char *end = NULL;
    if (st) {
        errno = 0;
        long long v = strtoll(st, &end, 10);
        if (end == st || *end || errno)
            return bmd__fail(BMD_ERR_PARSE, "%s: system %lld: info step='%s' is not an integer", s->path,
                             (long long)sys->system_id, st);
        *step = v;
    } else {
        long long n = frames_count(pg, "position/step");
        if (n < 0) return h5fail(s, "cannot read", "position/step");
        *step = n;
    }
    if (tm) {
        *time = strtod(tm, &end);
        if (end == tm || *end)
            return bmd__fail(BMD_ERR_PARSE, "%s: system %lld: info time='%s' is not a number", s->path,
                             (long long)sys->system_id, tm);
    } else {
        *time = (double)*step;
    }
    return BMD_OK;
}

/* Creates the groups of a system seen for the first time: under parts,
 * box (attributes; edges), position, velocity and force (those the frame
 * has), species and mass; under obs, potential_energy and temperature (if
 * the frame has them). Every time-dependent element shares position's step
 * and time (hard links): the set of elements is fixed by this first frame. */
static bmd_status system_create(const h5_sink *s, hid_t parts, hid_t obs, const char *name, const bmd_system *sys) {
    const unit_set *u = units_of(s);
    hsize_t n = (hsize_t)sys->n_atoms, tail[2] = {n, 3}, box[2] = {3, 3};
    const int dim = 3;
    const char *boundary[3];
    for (int i = 0; i < 3; i++) boundary[i] = sys->pbc[i] ? "periodic" : "none";
    hid_t g = H5Gcreate2(parts, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t o = g < 0 ? -1 : H5Gcreate2(obs, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (o < 0) {
        bmd_status rc = h5fail(s, "cannot create the groups of", name);
        h5close(g);
        return rc;
    }
    bmd_status rc = element_create(s, g, "position", 2, tail, u->length, -1);
    hid_t clock = rc ? -1 : H5Gopen2(g, "position", H5P_DEFAULT);
    hid_t b = clock < 0 ? -1 : H5Gcreate2(g, "box", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (!rc && (b < 0 || attr_int(b, "dimension", 0, &dim) < 0 || attr_str(b, "boundary", 3, boundary) < 0))
        rc = h5fail(s, "cannot create the box of", name);
    if (!rc) rc = element_create(s, b, "edges", 2, box, u->length, clock);
    if (!rc && sys->vel) rc = element_create(s, g, "velocity", 2, tail, u->velocity, clock);
    if (!rc && sys->forces) rc = element_create(s, g, "force", 2, tail, u->force, clock);
    if (!rc && sys->has_energy) rc = element_create(s, o, "potential_energy", 0, NULL, u->energy, clock);
    if (!rc && sys->vel) rc = element_create(s, o, "temperature", 0, NULL, u->temperature, clock);
    if (!rc && (fixed_write(g, "species", H5T_STD_I32LE, H5T_NATIVE_INT, n, sys->Z, NULL) < 0 ||
                fixed_write(g, "mass", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, n, sys->mass, u->mass) < 0))
        rc = h5fail(s, "cannot write species and masses of", name);
    h5close(b);
    h5close(clock);
    h5close(o);
    h5close(g);
    return rc;
}

/* Kinetic temperature of the frame, 2K / (N_f k_B), N_f as sys->dof counts
 * (the rule of the dynamics that moved the velocities, its fixed atoms:
 * bmd_system_dof); 0 when nothing is free. */
static double frame_temperature(const h5_sink *s, const bmd_system *sys) {
    bmd_units u = bmd_units_get(s->units);
    double mv2 = 0;
    for (int i = 0; i < sys->n_atoms; i++) {
        const double *v = sys->vel + 3 * (size_t)i;
        mv2 += sys->mass[i] * (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    }
    const int nf = bmd_system_dof(sys);
    return nf > 0 ? mv2 * u.mvv2e / ((double)nf * u.boltzmann) : 0.0;
}

/* Appends a row to `path`/value of loc if that element exists: data, or
 * NaN when the frame lacks it (data NULL; nan holds enough NaNs). */
static bmd_status optional_append(const h5_sink *s, hid_t loc, const char *path, const double *data,
                                  const double *nan) {
    char dset[64];
    snprintf(dset, sizeof dset, "%s/value", path);
    htri_t e = H5Lexists(loc, path, H5P_DEFAULT);
    if (e < 0) return h5fail(s, "cannot look up", path);
    if (e && frames_append(loc, dset, H5T_NATIVE_DOUBLE, data ? data : nan) < 0)
        return h5fail(s, "cannot append a frame to", path);
    return BMD_OK;
}

/* Appends sys as one frame of its particle group (pg) and system
 * observables group (og): the shared step and time, position, box edges, and each
 * other element the system's first frame created. */
static bmd_status frame_write(h5_sink *s, const bmd_system *sys, hid_t pg, hid_t og, const char *name) {
    long long have = frames_count(pg, "species"); /* [N]: the atom count */
    if (have != sys->n_atoms)
        return have < 0 ? h5fail(s, "cannot read species of", name)
                        : bmd__fail(BMD_ERR_INVALID, "%s: %s has %lld atoms in the file, the frame has %d", s->path,
                                    name, have, sys->n_atoms);
    int64_t step;
    double time;
    bmd_status rc = frame_clock(s, sys, pg, &step, &time);
    if (rc) return rc;
    if (frames_append(pg, "position/value", H5T_NATIVE_DOUBLE, sys->pos) < 0 ||
        frames_append(pg, "position/step", H5T_NATIVE_INT64, &step) < 0 ||
        frames_append(pg, "position/time", H5T_NATIVE_DOUBLE, &time) < 0 ||
        frames_append(pg, "box/edges/value", H5T_NATIVE_DOUBLE, sys->cell) < 0)
        return h5fail(s, "cannot append positions and box to", name);
    /* nan: NaNs for what the frame lacks; conv: velocities, then forces, in
     * the stored units */
    size_t n3 = 3 * (size_t)sys->n_atoms;
    double *nan = malloc(3 * n3 * sizeof *nan);
    if (!nan) return bmd__fail(BMD_ERR_NOMEM, "%s: out of memory", s->path);
    double *conv = nan + n3;
    double kv = velocity_factor(s), kf = force_factor(s);
    for (size_t i = 0; i < n3; i++) {
        nan[i] = NAN;
        if (sys->vel) conv[i] = sys->vel[i] * kv;
        if (sys->forces) conv[n3 + i] = sys->forces[i] * kf;
    }
    double temp = sys->vel ? frame_temperature(s, sys) : NAN;
    rc = optional_append(s, pg, "velocity", sys->vel ? conv : NULL, nan);
    if (!rc) rc = optional_append(s, pg, "force", sys->forces ? conv + n3 : NULL, nan);
    if (!rc) rc = optional_append(s, og, "potential_energy", sys->has_energy ? &sys->energy : NULL, nan);
    if (!rc) rc = optional_append(s, og, "temperature", &temp, nan);
    free(nan);
    return rc;
}

static bmd_status write_locked(h5_sink *s, const bmd_system *sys) {
    if (sys->n_atoms <= 0) return BMD_OK; /* nothing to store */
    if (sys->system_id < 0)
        return bmd__fail(BMD_ERR_INVALID, "%s: a system without a system_id cannot go to the H5MD trajectory",
                         s->path);
    bmd_status rc = s->file < 0 ? file_open(s, 0) : BMD_OK;
    if (rc) return rc;
    char name[40];
    snprintf(name, sizeof name, "system_%lld", (long long)sys->system_id);
    hid_t parts = H5Gopen2(s->file, "particles", H5P_DEFAULT);
    hid_t obs = parts < 0 ? -1 : H5Gopen2(s->file, OBS_GROUP, H5P_DEFAULT);
    htri_t exists = obs < 0 ? -1 : H5Lexists(parts, name, H5P_DEFAULT);
    if (exists < 0) rc = h5fail(s, "cannot open the particles group for", name);
    if (!rc && !exists) rc = system_create(s, parts, obs, name, sys);
    hid_t pg = rc ? -1 : H5Gopen2(parts, name, H5P_DEFAULT);
    hid_t og = pg < 0 ? -1 : H5Gopen2(obs, name, H5P_DEFAULT);
    if (!rc && og < 0) rc = h5fail(s, "cannot open the groups of", name);
    if (!rc) rc = frame_write(s, sys, pg, og, name);
    h5close(og);
    h5close(pg);
    h5close(obs);
    h5close(parts);
    if (!rc && now_s() - s->last_flush > FLUSH_EVERY_S) {
        if (H5Fflush(s->file, H5F_SCOPE_GLOBAL) < 0) rc = h5fail(s, "cannot flush", NULL);
        s->last_flush = now_s();
    }
    return rc;
}

/* ------------------------------------------------------ sink ops */

static bmd_status h5_write(void *self, const bmd_system *sys) {
    quiet q = quiet_begin();
    bmd_status rc = write_locked(self, sys);
    quiet_end(q);
    return rc;
}

static bmd_status h5_close(void *self) {
    quiet q = quiet_begin();
    bmd_status rc = file_close(self);
    quiet_end(q);
    return rc;
}

static void h5_destroy(void *self) {
    h5_sink *s = self;
    h5_close(s);
    free(s->path);
    free(s);
}

/* ------------------------------------------------------ checkpoints */

/* The committed state: u64 count, then (i64 system_id, i64 frames) each. */
typedef struct count_ctx {
    const h5_sink *s;
    hid_t parts;
    unsigned char *buf;
    size_t n, cap;
    int bad;
} count_ctx;

static herr_t count_one(hid_t g, const char *name, const H5L_info_t *info, void *data) {
    (void)info;
    count_ctx *c = data;
    long long id;
    char *end;
    if (strncmp(name, "system_", 7) != 0) return 0;
    id = strtoll(name + 7, &end, 10);
    if (*end) return 0;
    char path[80];
    snprintf(path, sizeof path, "%s/position/step", name);
    long long n = frames_count(g, path);
    if (n < 0) {
        c->bad = 1;
        return -1;
    }
    if (c->n + 16 > c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 1024;
        unsigned char *p = realloc(c->buf, cap);
        if (!p) {
            c->bad = 1;
            return -1;
        }
        c->buf = p;
        c->cap = cap;
    }
    int64_t v[2] = {id, n};
    memcpy(c->buf + c->n, v, sizeof v);
    c->n += sizeof v;
    return 0;
}

static bmd_status commit_locked(h5_sink *s, void **state, size_t *n) {
    count_ctx c = {s, -1, NULL, 8, 0, 0};
    if (!(c.buf = calloc(1, 1024))) return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    c.cap = 1024;
    bmd_status rc = s->file < 0 ? file_open(s, 0) : BMD_OK;
    hid_t parts = rc ? -1 : H5Gopen2(s->file, "particles", H5P_DEFAULT);
    if (!rc && (parts < 0 || H5Literate(parts, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, count_one, &c) < 0 || c.bad))
        rc = h5fail(s, "cannot count the frames of the systems", NULL);
    h5close(parts);
    bmd_status rc2 = file_close(s);
    if (!rc) rc = rc2;
    int fd = rc ? -1 : open(s->path, O_RDONLY);
    if (!rc && (fd < 0 || fsync(fd) != 0)) rc = bmd__fail(BMD_ERR_IO, "%s: cannot sync to disk (%s)", s->path, strerror(errno));
    if (fd >= 0) close(fd);
    if (rc) {
        free(c.buf);
        return rc;
    }
    uint64_t count = (c.n - 8) / 16;
    memcpy(c.buf, &count, 8);
    *state = c.buf;
    *n = c.n;
    return BMD_OK;
}

static bmd_status h5_commit(void *self, void **state, size_t *n) {
    quiet q = quiet_begin();
    bmd_status rc = commit_locked(self, state, n);
    quiet_end(q);
    return rc;
}

/* Shrinks dataset `name` of loc (if it exists) to `frames` rows. */
static int shrink(hid_t loc, const char *name, hsize_t frames) {
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0) return 0;
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    hid_t fs = d < 0 ? -1 : H5Dget_space(d);
    hsize_t dims[3];
    int rank = fs < 0 ? -1 : H5Sget_simple_extent_dims(fs, dims, NULL);
    int rc = rank < 1 ? -1 : 0;
    if (!rc && dims[0] > frames) {
        dims[0] = frames;
        rc = H5Dset_extent(d, dims) < 0 ? -1 : 0;
    }
    h5close(fs);
    h5close(d);
    return rc;
}

static const char *const PART_SETS[] = {"position/value", "position/step", "position/time", "box/edges/value",
                                        "velocity/value", "force/value"};
static const char *const OBS_SETS[] = {"potential_energy/value", "temperature/value"};

typedef struct rewind_ctx {
    const int64_t *pairs; /* (id, frames) */
    uint64_t n;
    char (*drop)[40];
    size_t n_drop, cap_drop;
    hid_t obs;
    int bad;
    const char *why;
} rewind_ctx;

static herr_t rewind_one(hid_t g, const char *name, const H5L_info_t *info, void *data) {
    (void)info;
    rewind_ctx *c = data;
    long long id;
    char *end;
    if (strncmp(name, "system_", 7) != 0) return 0;
    id = strtoll(name + 7, &end, 10);
    if (*end) return 0;
    long long frames = -1;
    for (uint64_t i = 0; i < c->n; i++)
        if (c->pairs[2 * i] == id) frames = c->pairs[2 * i + 1];
    if (frames < 0) { /* created after the checkpoint: unlinked after the walk */
        if (c->n_drop == c->cap_drop) {
            size_t cap = c->cap_drop ? 2 * c->cap_drop : 64;
            void *p = realloc(c->drop, cap * sizeof *c->drop);
            if (!p) return -1;
            c->drop = p;
            c->cap_drop = cap;
        }
        snprintf(c->drop[c->n_drop++], 40, "%s", name);
        return 0;
    }
    hid_t pg = H5Gopen2(g, name, H5P_DEFAULT), og = H5Gopen2(c->obs, name, H5P_DEFAULT);
    char path[80];
    snprintf(path, sizeof path, "position/step");
    long long have = pg < 0 ? -1 : frames_count(pg, path);
    int bad = pg < 0 || og < 0 || have < 0;
    if (!bad && have < frames) {
        c->why = "has fewer frames than the checkpoint committed";
        bad = 1;
    }
    for (size_t i = 0; !bad && i < sizeof PART_SETS / sizeof *PART_SETS; i++)
        bad = shrink(pg, PART_SETS[i], (hsize_t)frames) < 0;
    for (size_t i = 0; !bad && i < sizeof OBS_SETS / sizeof *OBS_SETS; i++)
        bad = shrink(og, OBS_SETS[i], (hsize_t)frames) < 0;
    h5close(og);
    h5close(pg);
    if (bad) c->bad = 1;
    return bad ? -1 : 0;
}

static bmd_status rewind_locked(h5_sink *s, const void *state, size_t n) {
    uint64_t count = 0;
    if (n < 8 || (memcpy(&count, state, 8), n != 8 + 16 * count))
        return bmd__fail(BMD_ERR_PARSE, "%s: malformed checkpoint state", s->path);
    int64_t *pairs = malloc(16 * (size_t)(count ? count : 1));
    if (!pairs) return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    memcpy(pairs, (const unsigned char *)state + 8, 16 * count);
    rewind_ctx c = {pairs, count, NULL, 0, 0, -1, 0, NULL};
    bmd_status rc = s->file < 0 ? file_open(s, 0) : BMD_OK;
    hid_t parts = rc ? -1 : H5Gopen2(s->file, "particles", H5P_DEFAULT);
    c.obs = parts < 0 ? -1 : H5Gopen2(s->file, OBS_GROUP, H5P_DEFAULT);
    if (!rc && (c.obs < 0 || H5Literate(parts, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, rewind_one, &c) < 0 || c.bad))
        rc = c.why ? bmd__fail(BMD_ERR_IO, "%s: a system %s: cannot resume", s->path, c.why)
                   : h5fail(s, "cannot rewind the trajectory to the checkpoint", NULL);
    for (size_t i = 0; !rc && i < c.n_drop; i++)
        if (H5Ldelete(parts, c.drop[i], H5P_DEFAULT) < 0 ||
            (H5Lexists(c.obs, c.drop[i], H5P_DEFAULT) > 0 && H5Ldelete(c.obs, c.drop[i], H5P_DEFAULT) < 0))
            rc = h5fail(s, "cannot remove", c.drop[i]);
    /* every system of the checkpoint must still be there */
    for (uint64_t i = 0; !rc && i < count; i++) {
        char name[40];
        snprintf(name, sizeof name, "system_%lld", (long long)pairs[2 * i]);
        if (H5Lexists(parts, name, H5P_DEFAULT) <= 0)
            rc = bmd__fail(BMD_ERR_IO, "%s: %s is missing, the checkpoint committed frames of it: cannot resume",
                           s->path, name);
    }
    h5close(c.obs);
    h5close(parts);
    free(c.drop);
    free(pairs);
    s->resuming = 0;
    return rc;
}

static bmd_status h5_rewind(void *self, const void *state, size_t n) {
    quiet q = quiet_begin();
    bmd_status rc = rewind_locked(self, state, n);
    quiet_end(q);
    return rc;
}

static const bmd_sink_ops h5_ops = {.type = "h5md",
                                    .write = h5_write,
                                    .close = h5_close,
                                    .destroy = h5_destroy,
                                    .commit = h5_commit,
                                    .rewind = h5_rewind};

static bmd_status open_sink(const char *path, bmd_units_kind units, int keep, bmd_sink **out) {
    if (!path || !*path || !out) return bmd__fail(BMD_ERR_INVALID, "H5MD sink: empty path");
    h5_sink *s = calloc(1, sizeof *s);
    bmd_sink *k = calloc(1, sizeof *k);
    if (!s || !k || !(s->path = malloc(strlen(path) + 1))) {
        free(s);
        free(k);
        return bmd__fail(BMD_ERR_NOMEM, "%s: out of memory creating the H5MD sink", path);
    }
    strcpy(s->path, path);
    s->units = units;
    s->file = -1;
    quiet q = quiet_begin();
    struct stat st;
    int reopen = keep && stat(path, &st) == 0;
    s->resuming = reopen;
    bmd_status rc = file_open(s, !reopen);
    if (rc && reopen) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", bmd_last_error());
        rc = bmd__fail(rc, "%s (HDF5 files are not crash-safe between checkpoints: a kill while it was being "
                           "written leaves it unusable; move it away, or delete it and the checkpoint and run again)",
                       msg);
    }
    if (rc) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", bmd_last_error());
        file_close(s);
        bmd__fail(rc, "%s", msg); /* the message of file_open, not of the close */
    }
    quiet_end(q);
    if (rc) {
        free(s->path);
        free(s);
        free(k);
        return rc;
    }
    k->ops = &h5_ops;
    k->self = s;
    *out = k;
    return BMD_OK;
}

bmd_status bmd_sink_h5md_create(const char *path, bmd_units_kind units, bmd_sink **out) {
    return open_sink(path, units, 0, out);
}

bmd_status bmd_sink_h5md_reopen(const char *path, bmd_units_kind units, bmd_sink **out) {
    return open_sink(path, units, 1, out);
}

int bmd_h5md_available(void) { return 1; }
