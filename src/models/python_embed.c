/* python_embed.c — owns bmd_model_python_create (model_python.h): finding
 * the Python package's extension at run time (libbatchmd never links
 * libpython), and the thin bmd_model of this copy of the library around the
 * model the extension's copy makes.
 *
 * Where the extension's entry points come from, in order:
 *   1. this very copy, when it is linked into the extension (weak
 *      references: resolved there, NULL in the command and libbatchmd.so);
 *   2. the process's global symbols (dlsym(RTLD_DEFAULT));
 *   3. dlopen: libpython first (RTLD_NOW | RTLD_GLOBAL, so that the
 *      extension and every module Python imports later find its symbols),
 *      unless the process already has an interpreter (Py_IsInitialized is
 *      a global symbol: a python3 executable); then the extension, RTLD_NOW
 *      | RTLD_LOCAL: $BATCHMD_PYTHON_EXT, else the build tree's when this
 *      code runs from the build tree, else the installed one (see
 *      extension_path).
 * The compile definitions (cmake/python.cmake) name libpython
 * (BMD_PYTHON_EMBED_LIB) and the extension's places (BMD_BUILD_DIR,
 * BMD_PYTHON_EXT_BUILD, BMD_PYTHON_EXT_INSTALL, and relative to the bin and
 * lib folders BMD_PYTHON_EXT_FROM_BIN, _FROM_LIB); without them (a build
 * without the Python package) step 3 says so. Nothing is unloaded: an
 * interpreter cannot be.
 *
 * The wrapper's compute calls the extension's bmd_model_compute (so the
 * extension's neighbor timer counts, and is added to this copy's);
 * check_system, cutoff and destroy call the inner model's ops. An error of
 * the extension's copy is copied into this copy's bmd__fail. */
#define _GNU_SOURCE /* dladdr, RTLD_DEFAULT */
#include "batchmd/model_python.h"

#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "models/model_internal.h"

typedef int (*create_fn)(const char *, const char *, const bmd_python_param *, int, int, const char *, void **);
typedef int (*compute_fn)(void *, const bmd_batch *, const bmd_compute_request *);
typedef const char *(*error_fn)(void);

/* 1. defined when this copy is the extension's (python/src/embed.c) */
extern int bmdpy_embed_model_create(const char *, const char *, const bmd_python_param *, int, int, const char *,
                                    void **) __attribute__((weak));
extern int bmdpy_embed_model_compute(void *, const bmd_batch *, const bmd_compute_request *) __attribute__((weak));
extern const char *bmdpy_embed_last_error(void) __attribute__((weak));

static struct {
    create_fn create;
    compute_fn compute;
    error_fn last_error;
} embed;

/* POSIX: a symbol's address as a function pointer */
#define AS_FN(dst, p) memcpy(&(dst), &(p), sizeof(dst))

static int from_handle(void *handle) {
    void *c = dlsym(handle, "bmdpy_embed_model_create"), *k = dlsym(handle, "bmdpy_embed_model_compute"),
         *e = dlsym(handle, "bmdpy_embed_last_error");
    if (!c || !k || !e) return 0;
    AS_FN(embed.create, c);
    AS_FN(embed.compute, k);
    AS_FN(embed.last_error, e);
    return 1;
}

#ifdef BMD_PYTHON_EMBED_LIB
static int file_exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* The real path of the file this code is in (the command, or libbatchmd.so)
 * into buf; 0 when unknown. dladdr names the main program by its argv[0]:
 * it is read from /proc/self/exe instead. */
static int self_path(char *buf) {
    static const char here = 0;
    Dl_info info;
    struct link_map *map = NULL;
    if (!dladdr1(&here, &info, (void **)&map, RTLD_DL_LINKMAP)) return 0;
    const char *f = map && map->l_name && map->l_name[0] ? map->l_name : "/proc/self/exe";
    return realpath(f, buf) != NULL;
}

/* The extension to load, into buf (PATH_MAX): $BATCHMD_PYTHON_EXT; the
 * build tree's when this code runs from the build tree; the installed one
 * next to this code (bin/../BMD_PYTHON_INSTALL_DIR, lib/../..., so that
 * `cmake --install --prefix P` works anywhere); the one at the configured
 * prefix; the build tree's. 0 (and the places looked at in tried) when
 * there is none. */
static int extension_path(char *buf, char *tried, size_t tried_len) {
    const char *env = getenv("BATCHMD_PYTHON_EXT");
    if (env && *env) return snprintf(buf, PATH_MAX, "%s", env) < PATH_MAX;
    char self[PATH_MAX], build[PATH_MAX];
    const int known = self_path(self);
    if (known && realpath(BMD_BUILD_DIR, build)) {
        size_t nb = strlen(build);
        if (strncmp(self, build, nb) == 0 && self[nb] == '/' && file_exists(BMD_PYTHON_EXT_BUILD))
            return snprintf(buf, PATH_MAX, "%s", BMD_PYTHON_EXT_BUILD) < PATH_MAX;
    }
    /* the installed one next to this code, at the configured prefix, the build tree's */
    char near[2][PATH_MAX];
    const char *rel[2] = {BMD_PYTHON_EXT_FROM_BIN, BMD_PYTHON_EXT_FROM_LIB};
    const char *places[4] = {NULL, NULL, BMD_PYTHON_EXT_INSTALL, BMD_PYTHON_EXT_BUILD};
    for (int k = 0; k < 2; k++)
        if (known && rel[k][0]) {
            const char *slash = strrchr(self, '/');
            snprintf(near[k], PATH_MAX, "%.*s/%s", (int)(slash - self), self, rel[k]);
            places[k] = near[k];
        }
    size_t used = 0;
    tried[0] = '\0';
    for (int k = 0; k < 4; k++) {
        if (!places[k]) continue;
        if (file_exists(places[k])) return snprintf(buf, PATH_MAX, "%s", places[k]) < PATH_MAX;
        if (used < tried_len)
            used += (size_t)snprintf(tried + used, tried_len - used, "%s%s", used ? ", " : "", places[k]);
    }
    return 0;
}
#endif

static bmd_status load_embed(void) {
    if (embed.create) return BMD_OK;
    if (bmdpy_embed_model_create && bmdpy_embed_model_compute && bmdpy_embed_last_error) {
        embed.create = bmdpy_embed_model_create;
        embed.compute = bmdpy_embed_model_compute;
        embed.last_error = bmdpy_embed_last_error;
        return BMD_OK;
    }
    if (from_handle(RTLD_DEFAULT)) return BMD_OK;
#ifndef BMD_PYTHON_EMBED_LIB
    return bmd__fail(BMD_ERR_UNSUPPORTED, "python model: this batchmd was built without the Python package "
                                          "(install python3-dev and rebuild)");
#else
    if (!dlsym(RTLD_DEFAULT, "Py_IsInitialized")) {
        const char *lib = BMD_PYTHON_EMBED_LIB;
        dlerror();
        if (!dlopen(lib, RTLD_NOW | RTLD_GLOBAL)) {
            const char *e = dlerror();
            return bmd__fail(BMD_ERR_IO, "python model: cannot load libpython (%s): %s", lib,
                             e ? e : "unknown dynamic-linker error");
        }
    }
    char ext[PATH_MAX], tried[2048];
    if (!extension_path(ext, tried, sizeof tried))
        return bmd__fail(BMD_ERR_IO, "python model: the batchmd Python extension is in none of %s (set "
                                     "BATCHMD_PYTHON_EXT to its path)", tried);
    dlerror();
    void *h = dlopen(ext, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        return bmd__fail(BMD_ERR_IO, "python model: cannot load the batchmd Python extension %s: %s (set "
                                     "BATCHMD_PYTHON_EXT to its path)", ext,
                         e ? e : "unknown dynamic-linker error");
    }
    if (!from_handle(h))
        return bmd__fail(BMD_ERR_NOT_FOUND, "python model: %s is not a batchmd extension with Python models "
                                            "(no bmdpy_embed_model_create)", ext);
    return BMD_OK;
#endif
}

/* ---- the wrapper: a model of this copy around the extension's ---- */

static bmd_status copy_error(int st) {
    char msg[2048]; /* a copy: in the extension itself, the message is this buffer's */
    snprintf(msg, sizeof msg, "%s", embed.last_error());
    return bmd__fail((bmd_status)st, "%s", msg);
}

static bmd_status wrap_compute(void *self, const bmd_batch *b, const bmd_compute_request *req) {
    bmd_model *inner = self;
    const double nb0 = inner->t_neighbor;
    int st = embed.compute(inner, b, req);
    /* bmd_model_compute (this copy) points the sink at the wrapper */
    if (bmd__neighbor.sink) *bmd__neighbor.sink += inner->t_neighbor - nb0;
    return st ? copy_error(st) : BMD_OK;
}

static bmd_status wrap_check_system(void *self, const bmd_system *sys) {
    bmd_model *inner = self;
    if (!inner->ops->check_system) return BMD_OK;
    int st = inner->ops->check_system(inner->self, sys);
    return st ? copy_error(st) : BMD_OK;
}

static double wrap_cutoff(void *self) {
    bmd_model *inner = self;
    return inner->ops->cutoff(inner->self);
}

static void wrap_destroy(void *self) {
    bmd_model *inner = self;
    if (inner->ops->destroy) inner->ops->destroy(inner->self); /* takes the GIL itself */
    free(inner); /* the extension's bmd_model_destroy does the same: one libc */
}

static const bmd_model_ops python_ops = {
    .type = "python",
    .compute = wrap_compute,
    .check_system = wrap_check_system,
    .cutoff = wrap_cutoff,
    .destroy = wrap_destroy,
};

bmd_status bmd_model_python_create(const char *module, const char *object, const bmd_python_param *params,
                                   int n_params, bmd_units_kind units, const char *base_dir, bmd_model **out) {
    if (!out) return bmd__fail(BMD_ERR_INVALID, "python model: out is NULL");
    *out = NULL;
    if (!module || !*module || !object || !*object)
        return bmd__fail(BMD_ERR_INVALID, "python model: needs a module and an object");
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&lock);
    bmd_status st = load_embed();
    pthread_mutex_unlock(&lock);
    if (st) return st;
    bmd_model *m = calloc(1, sizeof *m);
    if (!m) return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    void *inner = NULL;
    int rc = embed.create(module, object, params, n_params, (int)units, base_dir, &inner);
    if (rc) {
        free(m);
        return copy_error(rc);
    }
    m->ops = &python_ops;
    m->self = inner;
    *out = m;
    return BMD_OK;
}
