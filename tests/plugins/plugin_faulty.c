/* plugin_faulty.c — a test plug-in with the right ABI that fails on demand
 * (tests/unit/test_plugin.c, tests/cli/nan_energy_test.py,
 * tests/physics/final_values_test.py): params {fail: create} makes create()
 * fail with a message, {fail: compute} makes compute() fail with one;
 * otherwise every system gets energy = its number of atoms, zero forces and
 * virial, and only hydrogen and helium are supported. {fail: virial}: the
 * virial is never written (a model that cannot give one); {fail: energy}:
 * a system with helium gets a non-finite energy (NaN with hydrogen too, else
 * +Inf) with finite (zero) forces. */
#define BMD_PLUGIN_ONLY
#include "batchmd/model_plugin.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct faulty {
    int fail_compute, no_virial, bad_energy;
} faulty;

static void *faulty_create(int n, const char *const *keys, const char *const *values, char *err, size_t len) {
    int fail_compute = 0, no_virial = 0, bad_energy = 0;
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
        no_virial = strcmp(values[i], "virial") == 0;
        bad_energy = strcmp(values[i], "energy") == 0;
    }
    faulty *f = malloc(sizeof *f);
    if (f) *f = (faulty){fail_compute, no_virial, bad_energy};
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
        int h = 0, he = 0;
        for (int i = 0; i < s->atom_count[k]; i++) {
            h |= s->Z[s->atom_start[k] + i] == 1;
            he |= s->Z[s->atom_start[k] + i] == 2;
        }
        if (s->energy) s->energy[k] = f->bad_energy && he ? (h ? NAN : INFINITY) : s->atom_count[k];
        if (s->virial && !f->no_virial) memset(s->virial + 6 * k, 0, 6 * sizeof(double));
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
