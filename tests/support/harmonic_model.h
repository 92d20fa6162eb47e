/* harmonic_model.h — an analytic test model (header-only, for tests):
 * per system, atoms tied to reference sites by springs k_tether and to
 * their ring neighbours by vector springs k_bond,
 *   E = k_t/2 Σ_i |u_i|² + k_b/2 Σ_(i,i+1 mod N) |u_i − u_{i+1}|²,  u = x − x0,
 * with x0 the per-atom column "test.x0" (0 when absent). The ring has bonds
 * (i, i+1) for i < N−1 and the closing bond (N−1, 0) when N > 2; with
 * k_t = 0 it is translation invariant with 3N − 3 non-zero normal modes.
 * Virial W_ab = Σ k u_a u_b over springs (u the spring's extension vector).
 * With `disorder` set, bond i in direction d has stiffness
 * k_b (1 + 0.5 i/N)(1, 1.3, 1.7)_d: no two normal modes share a frequency
 * (degenerate modes give a Nosé–Hoover thermostat extra invariants).
 * Systems whose system_id equals `poison_id` get NaN energy and forces (none
 * by default: LONG_MIN, not the -1 of a system without an id).
 * Counts its calls and remembers the last mask. */
#ifndef BATCHMD_TEST_HARMONIC_MODEL_H
#define BATCHMD_TEST_HARMONIC_MODEL_H

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "batchmd/batchmd.h"

typedef struct harmonic_model {
    double k_tether, k_bond;
    int disorder;
    long poison_id;
    long calls;
    unsigned char last_mask[4096];
} harmonic_model;

static inline void harmonic_u(const bmd_batch *b, const double *x0, int a, double u[3]) {
    for (int d = 0; d < 3; d++) u[d] = b->pos[3 * a + d] - (x0 ? x0[3 * a + d] : 0.0);
}

static inline void harmonic_system(const harmonic_model *h, const bmd_batch *b, int s, const double *x0,
                                   const bmd_compute_request *req) {
    const int a0 = b->atom_start[s], n = b->atom_count[s];
    double e = 0, w[6] = {0, 0, 0, 0, 0, 0};
    if (req->forces) memset(req->forces + 3 * a0, 0, 3 * (size_t)n * sizeof(double));
    for (int i = 0; i < n; i++) {
        double u[3];
        harmonic_u(b, x0, a0 + i, u);
        e += 0.5 * h->k_tether * (u[0] * u[0] + u[1] * u[1] + u[2] * u[2]);
        for (int d = 0; d < 3; d++)
            if (req->forces) req->forces[3 * (a0 + i) + d] -= h->k_tether * u[d];
        w[0] += h->k_tether * u[0] * u[0];
        w[1] += h->k_tether * u[1] * u[1];
        w[2] += h->k_tether * u[2] * u[2];
        w[3] += h->k_tether * u[1] * u[2];
        w[4] += h->k_tether * u[0] * u[2];
        w[5] += h->k_tether * u[0] * u[1];
    }
    int nb = n > 2 ? n : n - 1;
    for (int i = 0; i < nb; i++) {
        int j = (i + 1) % n;
        double ui[3], uj[3], d[3];
        harmonic_u(b, x0, a0 + i, ui);
        harmonic_u(b, x0, a0 + j, uj);
        double k[3];
        for (int c = 0; c < 3; c++) {
            d[c] = ui[c] - uj[c];
            k[c] = h->k_bond * (h->disorder ? (1 + 0.5 * i / n) * (c == 0 ? 1.0 : c == 1 ? 1.3 : 1.7) : 1.0);
        }
        e += 0.5 * (k[0] * d[0] * d[0] + k[1] * d[1] * d[1] + k[2] * d[2] * d[2]);
        for (int c = 0; c < 3 && req->forces; c++) {
            req->forces[3 * (a0 + i) + c] -= k[c] * d[c];
            req->forces[3 * (a0 + j) + c] += k[c] * d[c];
        }
        /* W_ab = Σ ∂E/∂d_a d_b: symmetric only for isotropic springs; keep the diagonal exact */
        w[0] += k[0] * d[0] * d[0];
        w[1] += k[1] * d[1] * d[1];
        w[2] += k[2] * d[2] * d[2];
        w[3] += 0.5 * (k[1] + k[2]) * d[1] * d[2];
        w[4] += 0.5 * (k[0] + k[2]) * d[0] * d[2];
        w[5] += 0.5 * (k[0] + k[1]) * d[0] * d[1];
    }
    if (b->system_id[s] == h->poison_id) {
        e = NAN;
        if (req->forces) req->forces[3 * a0] = NAN;
    }
    if (req->energy) req->energy[s] = e;
    if (req->virial) memcpy(req->virial + 6 * s, w, sizeof w);
    if (req->energy_per_atom)
        for (int i = 0; i < n; i++) req->energy_per_atom[a0 + i] = e / n;
}

static inline bmd_status harmonic_compute(void *self, const bmd_batch *b, const bmd_compute_request *req) {
    harmonic_model *h = self;
    int c = bmd_batch_find_column(b, "test.x0");
    const double *x0 = c >= 0 ? bmd_batch_column_data(b, c) : NULL;
    h->calls++;
    for (int s = 0; s < b->n_systems && s < 4096; s++) h->last_mask[s] = req->mask ? req->mask[s] : 1;
    for (int s = 0; s < b->n_systems; s++)
        if (!req->mask || req->mask[s]) harmonic_system(h, b, s, x0, req);
    return BMD_OK;
}

static inline double harmonic_cutoff(void *self) {
    (void)self;
    return 0.0;
}

static inline void harmonic_destroy(void *self) { free(self); }

static const bmd_model_ops harmonic_ops = {"harmonic", harmonic_compute, NULL, harmonic_cutoff, harmonic_destroy};

/* A heap model (destroy with harmonic_model_free); *h receives its state. */
static inline bmd_model *harmonic_model_new(double k_tether, double k_bond, harmonic_model **h) {
    bmd_model *m = calloc(1, sizeof *m);
    harmonic_model *self = calloc(1, sizeof *self);
    self->k_tether = k_tether;
    self->k_bond = k_bond;
    self->poison_id = LONG_MIN;
    m->ops = &harmonic_ops;
    m->self = self;
    if (h) *h = self;
    return m;
}

static inline void harmonic_model_free(bmd_model *m) {
    if (!m) return;
    m->ops->destroy(m->self);
    free(m);
}

/* Appends a system of n atoms (mass m, species 18) at positions x (3n) with
 * reference sites x0 (3n, or NULL = 0), velocities v (or NULL), id. */
static inline int harmonic_append(bmd_batch *b, int n, double mass, const double *x, const double *x0,
                                  const double *v, long id) {
    bmd_system sys;
    bmd_system_alloc(&sys, n);
    for (int i = 0; i < n; i++) {
        sys.Z[i] = 18;
        sys.mass[i] = mass;
    }
    memcpy(sys.pos, x, 3 * (size_t)n * sizeof(double));
    if (v) {
        bmd_system_ensure_vel(&sys);
        memcpy(sys.vel, v, 3 * (size_t)n * sizeof(double));
    }
    sys.system_id = id;
    int slot = -1;
    bmd_batch_append(b, &sys, &slot);
    bmd_system_free(&sys);
    int c = -1;
    bmd_batch_column(b, "test.x0", 1, 3, &c);
    double *col = bmd_batch_column_data(b, c) + 3 * (size_t)b->atom_start[slot];
    for (int j = 0; j < 3 * n; j++) col[j] = x0 ? x0[j] : 0.0;
    return slot;
}

#endif
