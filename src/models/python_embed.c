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
 *      code runs from the build tree, else the installed one.
 * The compile definitions (cmake/python.cmake) name libpython
 * (BMD_PYTHON_EMBED_LIB) and the extension's two places
 * (BMD_PYTHON_EXT_BUILD, BMD_PYTHON_EXT_INSTALL, BMD_BUILD_DIR); without
 * them (a build without the Python package) step 3 says so. Nothing is
 * unloaded: an interpreter cannot be.
 *
 * The wrapper's compute calls the extension's bmd_model_compute (so the
 * extension's neighbor timer counts, and is added to this copy's);
 * check_system, cutoff and destroy call the inner model's ops. An error of
 * the extension's copy is copied into this copy's bmd__fail. */
#define _GNU_SOURCE /* dladdr, RTLD_DEFAULT */
#include "batchmd/model_python.h"

#include <dlfcn.h>
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
    return stat(p, &sb) == 0;
}

/* The extension to load: $BATCHMD_PYTHON_EXT, the build tree's or the installed one. */
static const char *extension_path(void) {
    const char *env = getenv("BATCHMD_PYTHON_EXT");
    if (env && *env) return env;
    static const char here = 0; /* an address in this copy, for dladdr */
    Dl_info self;
    size_t nb = strlen(BMD_BUILD_DIR);
    int in_build = dladdr(&here, &self) && self.dli_fname &&
                   strncmp(self.dli_fname, BMD_BUILD_DIR, nb) == 0 && self.dli_fname[nb] == '/';
    if (in_build || !file_exists(BMD_PYTHON_EXT_INSTALL)) return BMD_PYTHON_EXT_BUILD;
    return BMD_PYTHON_EXT_INSTALL;
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
    const char *ext = extension_path();
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
