/* plugin.c — owns the loader of plug-in models (model_plugin.h): dlopen the
 * library, find bmd_plugin_entry, check the ABI version and the table, create
 * the plug-in's model from key/value parameters, and adapt it to bmd_model:
 * compute hands the plug-in runs of consecutive masked systems as plain
 * arrays pointing into the batch (no copies), check_system asks it which
 * elements it supports, destroy frees the handle and unloads the library.
 * The requested outputs of the masked systems are filled with NaN before the
 * plug-in runs: what it leaves unwritten is never a stale or zero value
 * (energy or forces left so take the system out as nan_or_inf; a virial
 * left so means no stress, model.h). This is the only file that includes
 * dlfcn.h, with python_embed.c (which loads the Python extension). */
#include "batchmd/model_plugin.h"

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchmd/elements.h"
#include "models/model_internal.h"
#ifdef _OPENMP
#include <omp.h>
#endif

#define ERR_LEN 1024

typedef struct plugin_model {
    void *dl;
    const bmd_plugin_api *api;
    void *handle;
    char *path;
    char name[96];
    int cap_err;
    char *errs;  /* [cap_err * ERR_LEN] messages of a parallel compute */
    int *failed; /* [cap_err] */
} plugin_model;

static const bmd_model_ops plugin_ops;

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void free_model(plugin_model *pm) {
    if (!pm) return;
    if (pm->handle && pm->api && pm->api->destroy) pm->api->destroy(pm->handle);
    if (pm->dl) dlclose(pm->dl);
    free(pm->path);
    free(pm->errs);
    free(pm->failed);
    free(pm);
}

bmd_status bmd_model_plugin_create(const char *path, const char *const *keys, const char *const *values,
                                   int n_params, bmd_model **out) {
    if (!out) return bmd__fail(BMD_ERR_INVALID, "plugin model: out is NULL");
    *out = NULL;
    if (!path || !*path) return bmd__fail(BMD_ERR_INVALID, "plugin model: no library path given");
    if (n_params < 0 || (n_params > 0 && (!keys || !values)))
        return bmd__fail(BMD_ERR_INVALID, "plugin model %s: %d parameters but no keys or values", path, n_params);
    for (int i = 0; i < n_params; i++)
        if (!keys[i] || !values[i])
            return bmd__fail(BMD_ERR_INVALID, "plugin model %s: parameter %d has a NULL key or value", path, i);
    plugin_model *pm = calloc(1, sizeof *pm);
    if (!pm || !(pm->path = malloc(strlen(path) + 1))) {
        free(pm);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory loading plug-in %s", path);
    }
    strcpy(pm->path, path);
    dlerror();
    pm->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!pm->dl) {
        const char *e = dlerror();
        free_model(pm);
        return bmd__fail(BMD_ERR_IO, "cannot load plug-in %s: %s", path, e ? e : "unknown dynamic-linker error");
    }
    dlerror();
    void *sym = dlsym(pm->dl, BMD_PLUGIN_ENTRY_NAME);
    if (!sym) {
        const char *e = dlerror();
        bmd_status st = bmd__fail(BMD_ERR_NOT_FOUND,
                                  "plug-in %s has no entry point %s() (%s); a batchmd plug-in defines "
                                  "BMD_PLUGIN_EXPORT const bmd_plugin_api *%s(void), see batchmd/model_plugin.h",
                                  path, BMD_PLUGIN_ENTRY_NAME, e ? e : "symbol not found", BMD_PLUGIN_ENTRY_NAME);
        free_model(pm);
        return st;
    }
    bmd_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry); /* POSIX: object pointer -> function pointer */
    const bmd_plugin_api *api = entry();
    if (!api) {
        free_model(pm);
        return bmd__fail(BMD_ERR_INVALID, "plug-in %s: %s() returned NULL", path, BMD_PLUGIN_ENTRY_NAME);
    }
    if (api->abi_version != BMD_PLUGIN_ABI_VERSION) {
        const int v = api->abi_version;
        free_model(pm);
        return bmd__fail(BMD_ERR_UNSUPPORTED,
                         "plug-in %s was built for plug-in ABI version %d, but this batchmd needs ABI version %d: "
                         "rebuild it against this batchmd's model_plugin.h",
                         path, v, BMD_PLUGIN_ABI_VERSION);
    }
    snprintf(pm->name, sizeof pm->name, "%s", api->name && *api->name ? api->name : base_name(path));
    if (!api->create || !api->compute || !api->cutoff || !api->destroy) {
        const char *miss = !api->create ? "create" : !api->compute ? "compute" : !api->cutoff ? "cutoff" : "destroy";
        bmd_status st = bmd__fail(BMD_ERR_INVALID, "plug-in %s (%s): its function table has no %s()", path, pm->name,
                                  miss);
        free_model(pm);
        return st;
    }
    pm->api = api;
    char err[ERR_LEN];
    err[0] = '\0';
    pm->handle = api->create(n_params, keys, values, err, sizeof err);
    if (!pm->handle) {
        err[sizeof err - 1] = '\0';
        bmd_status st = bmd__fail(BMD_ERR_INVALID, "plug-in %s (%s): create failed: %s", path, pm->name,
                                  err[0] ? err : "(no message)");
        free_model(pm);
        return st;
    }
    const double rc = api->cutoff(pm->handle);
    if (!isfinite(rc) || rc < 0) {
        bmd_status st = bmd__fail(BMD_ERR_INVALID, "plug-in %s (%s): cutoff() returned %g (expected a finite value "
                                  ">= 0, Å)", path, pm->name, rc);
        free_model(pm);
        return st;
    }
    bmd_model *m = calloc(1, sizeof *m);
    if (!m) {
        free_model(pm);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory loading plug-in %s", path);
    }
    m->ops = &plugin_ops;
    m->self = pm;
    *out = m;
    return BMD_OK;
}

static void plugin_destroy(void *self) { free_model(self); }

static double plugin_cutoff(void *self) {
    plugin_model *pm = self;
    return pm->api->cutoff(pm->handle);
}

static bmd_status plugin_check_system(void *self, const bmd_system *sys) {
    plugin_model *pm = self;
    if (!sys) return bmd__fail(BMD_ERR_INVALID, "plug-in %s: system is NULL", pm->name);
    unsigned char present[BMD_N_ELEMENTS] = {0};
    for (int i = 0; i < sys->n_atoms; i++) {
        const int z = sys->Z[i];
        if (z < 0 || z >= BMD_N_ELEMENTS)
            return bmd__fail(BMD_ERR_INVALID, "plug-in %s: atom %d has an invalid atomic number %d", pm->name, i, z);
        present[z] = 1;
        for (int c = 0; c < 3; c++)
            if (!isfinite(sys->pos[3 * i + c]))
                return bmd__fail(BMD_ERR_NUMERIC, "plug-in %s: atom %d has a non-finite position", pm->name, i);
    }
    if (!pm->api->supports_element) return BMD_OK;
    char msg[512];
    int len = 0, missing = 0;
    for (int z = 0; z < BMD_N_ELEMENTS; z++) {
        if (!present[z] || pm->api->supports_element(pm->handle, z)) continue;
        const char *s = bmd_element_symbol(z);
        if (len < (int)sizeof msg - 16)
            len += snprintf(msg + len, sizeof msg - (size_t)len, "%s%s", missing ? ", " : "", s ? s : "?");
        missing++;
    }
    if (missing)
        return bmd__fail(BMD_ERR_NOT_FOUND, "plug-in %s (%s) has no parameters for element%s %s", pm->name, pm->path,
                         missing > 1 ? "s" : "", msg);
    return BMD_OK;
}

/* the systems [s0, s0 + n) of b as the plug-in sees them */
static bmd_plugin_systems view(const bmd_batch *b, const bmd_compute_request *req, int s0, int n) {
    bmd_plugin_systems v;
    v.n_systems = n;
    v.atom_start = b->atom_start + s0;
    v.atom_count = b->atom_count + s0;
    v.Z = b->Z;
    v.pos = b->pos;
    v.cell = b->cell + 9 * (size_t)s0;
    v.pbc = b->pbc + 3 * (size_t)s0;
    v.energy = req->energy ? req->energy + s0 : NULL;
    v.forces = req->forces;
    v.virial = req->virial ? req->virial + 6 * (size_t)s0 : NULL;
    v.energy_per_atom = req->energy_per_atom;
    return v;
}

static bmd_status compute_fail(plugin_model *pm, const bmd_batch *b, int s, const char *err) {
    return bmd__fail(BMD_ERR_RUNTIME, "plug-in %s: compute failed (systems from slot %d, system %lld): %s", pm->name,
                     s, (long long)b->system_id[s], err[0] ? err : "(no message)");
}

static bmd_status plugin_compute(void *self, const bmd_batch *b, const bmd_compute_request *req) {
    plugin_model *pm = self;
    if (!b || !req) return bmd__fail(BMD_ERR_INVALID, "plug-in %s: batch or request is NULL", pm->name);
    const int ns = b->n_systems;
    const unsigned char *mask = req->mask;
    char err[ERR_LEN];
    for (int s = 0; s < ns; s++)
        if (!mask || mask[s]) bmd__compute_write_nan(b, s, req);
#ifdef _OPENMP
    if ((pm->api->flags & BMD_PLUGIN_THREAD_SAFE) && ns > 1 && omp_get_max_threads() > 1) {
        /* one system per call, systems spread over threads */
        if (ns > pm->cap_err) {
            char *e = realloc(pm->errs, (size_t)ns * ERR_LEN);
            if (e) pm->errs = e;
            int *f = e ? realloc(pm->failed, (size_t)ns * sizeof(int)) : NULL;
            if (!f) return bmd__fail(BMD_ERR_NOMEM, "plug-in %s: out of memory for %d systems", pm->name, ns);
            pm->failed = f;
            pm->cap_err = ns;
        }
#pragma omp parallel for schedule(dynamic, 1)
        for (int s = 0; s < ns; s++) {
            pm->failed[s] = 0;
            if (mask && !mask[s]) continue;
            bmd_plugin_systems v = view(b, req, s, 1);
            char *e = pm->errs + (size_t)s * ERR_LEN;
            e[0] = '\0';
            pm->failed[s] = pm->api->compute(pm->handle, &v, e, ERR_LEN) != 0;
            e[ERR_LEN - 1] = '\0';
        }
        for (int s = 0; s < ns; s++)
            if (pm->failed[s]) return compute_fail(pm, b, s, pm->errs + (size_t)s * ERR_LEN);
        return BMD_OK;
    }
#endif
    /* runs of consecutive masked systems, one call each */
    for (int s0 = 0; s0 < ns;) {
        if (mask && !mask[s0]) {
            s0++;
            continue;
        }
        int s1 = s0 + 1;
        while (s1 < ns && (!mask || mask[s1])) s1++;
        bmd_plugin_systems v = view(b, req, s0, s1 - s0);
        err[0] = '\0';
        if (pm->api->compute(pm->handle, &v, err, sizeof err)) {
            err[sizeof err - 1] = '\0';
            return compute_fail(pm, b, s0, err);
        }
        s0 = s1;
    }
    return BMD_OK;
}

static const bmd_model_ops plugin_ops = {
    .type = "plugin",
    .compute = plugin_compute,
    .check_system = plugin_check_system,
    .cutoff = plugin_cutoff,
    .destroy = plugin_destroy,
};
