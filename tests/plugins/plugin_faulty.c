/* plugin_faulty.c — a test plug-in with the right ABI that fails on demand
 * (tests/unit/test_plugin.c): params {fail: create} makes create() fail with
 * a message, {fail: compute} makes compute() fail with one; otherwise every
 * system gets energy = its number of atoms, zero forces and virial, and only
 * hydrogen and helium are supported. */
#define BMD_PLUGIN_ONLY
#include "batchmd/model_plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct faulty {
    int fail_compute;
} faulty;

static void *faulty_create(int n, const char *const *keys, const char *const *values, char *err, size_t len) {
    int fail_compute = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(keys[i], "fail") != 0) {
            snprintf(err, len, "unknown parameter '%s'", keys[i]);
            return NULL;
        }
        if (strcmp(values[i], "create") == 0) {
            snprintf(err, len, "asked to fail in create (value '%s')", values[i]);
            return NULL;
        }
        fail_compute = strcmp(values[i], "compute") == 0;
    }
    faulty *f = malloc(sizeof *f);
    if (f) f->fail_compute = fail_compute;
    else snprintf(err, len, "out of memory");
    return f;
}

static int faulty_compute(void *h, const bmd_plugin_systems *s, char *err, size_t len) {
    const faulty *f = h;
    if (f->fail_compute) {
        snprintf(err, len, "asked to fail in compute (%d systems)", s->n_systems);
        return 1;
    }
    for (int k = 0; k < s->n_systems; k++) {
        if (s->energy) s->energy[k] = s->atom_count[k];
        if (s->virial) memset(s->virial + 6 * k, 0, 6 * sizeof(double));
        for (int i = 0; i < s->atom_count[k]; i++) {
            const int a = s->atom_start[k] + i;
            if (s->forces) memset(s->forces + 3 * a, 0, 3 * sizeof(double));
            if (s->energy_per_atom) s->energy_per_atom[a] = 1.0;
        }
    }
    return 0;
}

static double faulty_cutoff(void *h) {
    (void)h;
    return 3.0;
}

static void faulty_destroy(void *h) { free(h); }

static int faulty_supports(void *h, int z) {
    (void)h;
    return z == 1 || z == 2;
}

static const bmd_plugin_api api = {BMD_PLUGIN_ABI_VERSION, "faulty", 0, faulty_create, faulty_compute,
                                   faulty_cutoff, faulty_destroy, faulty_supports};

BMD_PLUGIN_EXPORT const bmd_plugin_api *bmd_plugin_entry(void) { return &api; }
