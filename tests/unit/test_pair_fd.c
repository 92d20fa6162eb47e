/* test_pair_fd.c — the Lennard-Jones and Morse models (and their neighbor
 * lists) on a batch mixing a two-species triclinic periodic cell, tiny
 * triclinic cells smaller than the cutoff (an atom meets several images of
 * the others and of itself), a slab (T T F), a wire (F T F) and an open
 * cluster:
 *   - energy, forces and virial against a brute-force sum over images written
 *     here independently of the library;
 *   - forces = -dE/dx and virial = dE/dε by central finite differences;
 *   - bitwise batch independence: alone vs in the batch vs after removals vs
 *     a list built elsewhere (atoms moved by less than skin/2) vs a fresh one,
 *     and 1 vs 4 OpenMP threads;
 *   - translation by lattice vectors, masks, check_system messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchmd/batch.h"
#include "batchmd/model.h"
#include "models/pair.h"
#ifdef _OPENMP
#include <omp.h>
#endif

#define NSYS 6
#define AR 18
#define KR 36

static const bmd_pair_params lj_pairs[] = {
    {AR, AR, {0.0104, 3.40, 0}, 8.0},
    {KR, KR, {0.0140, 3.65, 0}, 8.5},
    {AR, KR, {0.0121, 3.52, 0}, 7.0},
};
static const bmd_pair_params morse_pairs[] = {
    {AR, AR, {0.012, 1.20, 3.8}, 8.0},
    {KR, KR, {0.016, 1.10, 4.0}, 8.5},
    {KR, AR, {0.014, 1.15, 3.9}, 7.5},
};
static const double SKIN = 0.6;

/* ---- deterministic random numbers ---- */
static uint64_t rng_state = 12345;
static double urand(void) { /* [0, 1) */
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static void set_cell(bmd_system *s, const double *c, int p0, int p1, int p2) {
    memcpy(s->cell, c, 9 * sizeof(double));
    s->pbc[0] = (unsigned char)p0;
    s->pbc[1] = (unsigned char)p1;
    s->pbc[2] = (unsigned char)p2;
}

/* frac (n x 3) -> positions through the cell, plus jitter */
static void place(bmd_system *s, const double *cell, int i, double f0, double f1, double f2, double jit) {
    for (int c = 0; c < 3; c++)
        s->pos[3 * i + c] = f0 * cell[c] + f1 * cell[3 + c] + f2 * cell[6 + c] + jit * (urand() - 0.5);
    s->mass[i] = 1.0;
}

static void make_systems(bmd_system *sys) {
    rng_state = 12345;
    /* 0: two-species triclinic periodic cell, 27 atoms, some unwrapped far away */
    {
        static const double cell[9] = {11.0, 0, 0, 2.1, 10.4, 0, -1.3, 1.6, 10.8};
        bmd_system *s = &sys[0];
        bmd_system_alloc(s, 27);
        set_cell(s, cell, 1, 1, 1);
        int i = 0;
        for (int x = 0; x < 3; x++)
            for (int y = 0; y < 3; y++)
                for (int z = 0; z < 3; z++, i++) {
                    place(s, cell, i, (x + 0.5) / 3, (y + 0.5) / 3, (z + 0.5) / 3, 0.5);
                    s->Z[i] = (i % 3 == 1) ? KR : AR;
                }
        for (int c = 0; c < 3; c++) { /* unwrapped: atom 0 by a - c, atom 5 by -2b, atom 11 by 3c */
            s->pos[0 + c] += cell[c] - cell[6 + c];
            s->pos[15 + c] -= 2 * cell[3 + c];
            s->pos[33 + c] += 3 * cell[6 + c];
        }
    }
    /* 1: tiny triclinic cell (3 atoms), far smaller than 2 * cutoff */
    {
        static const double cell[9] = {4.3, 0, 0, 1.2, 4.0, 0, 0.8, -0.7, 4.6};
        bmd_system *s = &sys[1];
        bmd_system_alloc(s, 3);
        set_cell(s, cell, 1, 1, 1);
        place(s, cell, 0, 0.1, 0.2, 0.15, 0.1);
        place(s, cell, 1, 0.55, 0.5, 0.6, 0.1);
        place(s, cell, 2, 1.3, -0.2, 0.9, 0.1); /* outside the cell */
        s->Z[0] = AR;
        s->Z[1] = KR;
        s->Z[2] = AR;
    }
    /* 2: slab T T F, cell c = 0 */
    {
        static const double cell[9] = {9.2, 0, 0, 2.3, 8.7, 0, 0, 0, 0};
        bmd_system *s = &sys[2];
        bmd_system_alloc(s, 16);
        set_cell(s, cell, 1, 1, 0);
        int i = 0;
        for (int x = 0; x < 2; x++)
            for (int y = 0; y < 2; y++)
                for (int z = 0; z < 4; z++, i++) {
                    place(s, cell, i, (x + 0.3) / 2, (y + 0.6) / 2, 0, 0.4);
                    s->pos[3 * i + 2] += 3.6 * z;
                    s->Z[i] = (i % 2) ? KR : AR;
                }
        for (int c = 0; c < 3; c++) s->pos[9 + c] -= cell[c] + cell[3 + c];
    }
    /* 3: open cluster, no cell */
    {
        static const double zero[9] = {0};
        bmd_system *s = &sys[3];
        bmd_system_alloc(s, 12);
        set_cell(s, zero, 0, 0, 0);
        int i = 0;
        for (int x = 0; x < 3; x++)
            for (int y = 0; y < 2; y++)
                for (int z = 0; z < 2; z++, i++) {
                    s->pos[3 * i] = 3.7 * x + 0.4 * (urand() - 0.5) - 20.0;
                    s->pos[3 * i + 1] = 3.8 * y + 0.4 * (urand() - 0.5);
                    s->pos[3 * i + 2] = 3.6 * z + 0.4 * (urand() - 0.5) + 5.0;
                    s->mass[i] = 1.0;
                    s->Z[i] = (i % 4 == 0) ? KR : AR;
                }
    }
    /* 4: wire F T F along a tilted b */
    {
        static const double cell[9] = {0, 0, 0, 0.4, 7.6, 0.5, 0, 0, 0};
        bmd_system *s = &sys[4];
        bmd_system_alloc(s, 8);
        set_cell(s, cell, 0, 1, 0);
        int i = 0;
        for (int x = 0; x < 2; x++)
            for (int y = 0; y < 2; y++)
                for (int z = 0; z < 2; z++, i++) {
                    place(s, cell, i, 0, (y + 0.25) / 2, 0, 0.3);
                    s->pos[3 * i] += 3.7 * x;
                    s->pos[3 * i + 2] += 3.7 * z;
                    s->Z[i] = (i % 3) ? AR : KR;
                }
    }
    /* 5: one atom alone in a small triclinic cell: only its own images */
    {
        static const double cell[9] = {3.9, 0, 0, 0.5, 4.1, 0, 0.3, 0.2, 4.4};
        bmd_system *s = &sys[5];
        bmd_system_alloc(s, 1);
        set_cell(s, cell, 1, 1, 1);
        place(s, cell, 0, 0.3, 0.6, -0.4, 0);
        s->Z[0] = KR;
    }
    for (int k = 0; k < NSYS; k++) sys[k].system_id = k;
}

static void free_systems(bmd_system *sys) {
    for (int k = 0; k < NSYS; k++) bmd_system_free(&sys[k]);
}

/* ---- the potentials, written out here for the references ---- */
typedef struct model_case {
    const char *name;
    int morse, shift;
} model_case;

static const bmd_pair_params *find_pair(const model_case *mc, int za, int zb) {
    const bmd_pair_params *p = mc->morse ? morse_pairs : lj_pairs;
    for (int k = 0; k < 3; k++)
        if ((p[k].z1 == za && p[k].z2 == zb) || (p[k].z1 == zb && p[k].z2 == za)) return &p[k];
    return NULL;
}

/* φ(r) (shifted if asked) and φ'(r) */
static void ref_phi(const model_case *mc, const bmd_pair_params *p, double r, double *phi, double *dphi) {
    if (mc->morse) {
        double D = p->p[0], a = p->p[1], r0 = p->p[2];
        double e1 = exp(-a * (r - r0)), ec = exp(-a * (p->cutoff - r0));
        *phi = D * (e1 * e1 - 2 * e1) - (mc->shift ? D * (ec * ec - 2 * ec) : 0.0);
        *dphi = D * (-2 * a * e1 * e1 + 2 * a * e1);
    } else {
        double eps = p->p[0], sg = p->p[1];
        double sr = sg / r, sc = sg / p->cutoff;
        *phi = 4 * eps * (pow(sr, 12) - pow(sr, 6)) - (mc->shift ? 4 * eps * (pow(sc, 12) - pow(sc, 6)) : 0.0);
        *dphi = 4 * eps * (-12 * pow(sr, 12) + 6 * pow(sr, 6)) / r;
    }
}

static bmd_model *make_model(const model_case *mc) {
    bmd_pair_options opt = {SKIN, mc->shift, 0};
    bmd_model *m = NULL;
    bmd_status st = mc->morse ? bmd_model_morse_create(morse_pairs, 3, &opt, &m)
                              : bmd_model_lj_create(lj_pairs, 3, &opt, &m);
    assert_int_equal(st, BMD_OK);
    assert_non_null(m);
    return m;
}

/* Brute force over images: E, F, W of one system. Positions are wrapped here
 * (own code) so that a plain box of images suffices. */
static void brute_force(const model_case *mc, const bmd_system *s, double *E, double *F, double *W) {
    const double *H = s->cell;
    int n = s->n_atoms;
    double *p = malloc(3 * (size_t)n * sizeof(double));
    int M[3] = {0, 0, 0};
    /* reciprocal rows: g_k = (H_l x H_m) / V, so frac_k = g_k . p */
    double g[9] = {0};
    /* wrap only along periodic axes, with the periodic vectors' dual in their span */
    memcpy(p, s->pos, 3 * (size_t)n * sizeof(double));
    int np = s->pbc[0] + s->pbc[1] + s->pbc[2];
    if (np == 3) {
        double V = H[0] * (H[4] * H[8] - H[5] * H[7]) - H[1] * (H[3] * H[8] - H[5] * H[6]) +
                   H[2] * (H[3] * H[7] - H[4] * H[6]);
        for (int k = 0; k < 3; k++) {
            const double *a = H + 3 * ((k + 1) % 3), *b = H + 3 * ((k + 2) % 3);
            double x[3] = {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
            for (int c = 0; c < 3; c++) g[3 * k + c] = x[c] / V;
            double width = fabs(V) / sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2]);
            M[k] = (int)ceil(8.5 / width) + 1;
        }
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < 3; k++) {
                double f = g[3 * k] * p[3 * i] + g[3 * k + 1] * p[3 * i + 1] + g[3 * k + 2] * p[3 * i + 2];
                double w = floor(f);
                for (int c = 0; c < 3; c++) p[3 * i + c] -= w * H[3 * k + c];
            }
        }
    } else {
        /* slab / wire: the in-plane lattice; wrap with the 2D/1D dual */
        for (int k = 0; k < 3; k++) {
            if (!s->pbc[k]) continue;
            if (np == 1) {
                double l2 = H[3 * k] * H[3 * k] + H[3 * k + 1] * H[3 * k + 1] + H[3 * k + 2] * H[3 * k + 2];
                for (int i = 0; i < n; i++) {
                    double f = (p[3 * i] * H[3 * k] + p[3 * i + 1] * H[3 * k + 1] + p[3 * i + 2] * H[3 * k + 2]) / l2;
                    double w = floor(f);
                    for (int c = 0; c < 3; c++) p[3 * i + c] -= w * H[3 * k + c];
                }
                M[k] = (int)ceil(8.5 / sqrt(l2)) + 2;
            }
        }
        if (np == 2) {
            int k = s->pbc[0] ? 0 : 1, l = s->pbc[2] ? 2 : 1;
            const double *a = H + 3 * k, *b = H + 3 * l;
            double aa = a[0] * a[0] + a[1] * a[1] + a[2] * a[2], bb = b[0] * b[0] + b[1] * b[1] + b[2] * b[2];
            double ab = a[0] * b[0] + a[1] * b[1] + a[2] * b[2], det = aa * bb - ab * ab;
            for (int i = 0; i < n; i++) {
                double pa = p[3 * i] * a[0] + p[3 * i + 1] * a[1] + p[3 * i + 2] * a[2];
                double pb = p[3 * i] * b[0] + p[3 * i + 1] * b[1] + p[3 * i + 2] * b[2];
                double fa = (bb * pa - ab * pb) / det, fb = (aa * pb - ab * pa) / det;
                double wa = floor(fa), wb = floor(fb);
                for (int c = 0; c < 3; c++) p[3 * i + c] -= wa * a[c] + wb * b[c];
            }
            double area = sqrt(det);
            M[k] = (int)ceil(8.5 / (area / sqrt(bb))) + 1;
            M[l] = (int)ceil(8.5 / (area / sqrt(aa))) + 1;
        }
    }
    *E = 0;
    memset(F, 0, 3 * (size_t)n * sizeof(double));
    memset(W, 0, 6 * sizeof(double));
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            const bmd_pair_params *pp = find_pair(mc, s->Z[i], s->Z[j]);
            for (int n0 = -M[0]; n0 <= M[0]; n0++)
                for (int n1 = -M[1]; n1 <= M[1]; n1++)
                    for (int n2 = -M[2]; n2 <= M[2]; n2++) {
                        if (i == j && !n0 && !n1 && !n2) continue;
                        double r[3];
                        for (int c = 0; c < 3; c++)
                            r[c] = p[3 * j + c] + n0 * H[c] + n1 * H[3 + c] + n2 * H[6 + c] - p[3 * i + c];
                        double d = sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]);
                        if (d >= pp->cutoff) continue;
                        double phi, dphi;
                        ref_phi(mc, pp, d, &phi, &dphi);
                        *E += 0.5 * phi;
                        for (int c = 0; c < 3; c++) F[3 * i + c] += dphi * r[c] / d;
                        static const int va[6] = {0, 1, 2, 1, 0, 0}, vb[6] = {0, 1, 2, 2, 2, 1};
                        for (int v = 0; v < 6; v++) W[v] += 0.5 * dphi * r[va[v]] * r[vb[v]] / d;
                    }
        }
    free(p);
}

/* ---- helpers on a batch ---- */
typedef struct result {
    double *E, *F, *W, *epa;
} result;

static void result_alloc(result *r, const bmd_batch *b) {
    r->E = malloc((size_t)b->n_systems * sizeof(double));
    r->W = malloc(6 * (size_t)b->n_systems * sizeof(double));
    r->F = malloc(3 * (size_t)b->n_atoms * sizeof(double));
    r->epa = malloc((size_t)b->n_atoms * sizeof(double));
}

static void result_free(result *r) {
    free(r->E);
    free(r->F);
    free(r->W);
    free(r->epa);
}

static void compute(bmd_model *m, const bmd_batch *b, const unsigned char *mask, result *r) {
    bmd_compute_request req = {mask, r->E, r->F, r->W, r->epa};
    bmd_status st = bmd_model_compute(m, b, &req);
    if (st) fprintf(stderr, "compute failed: %s\n", bmd_last_error());
    assert_int_equal(st, BMD_OK);
}

static double energy_of(bmd_model *m, const bmd_batch *b, int slot) {
    unsigned char *mask = calloc((size_t)b->n_systems, 1);
    mask[slot] = 1;
    double *E = calloc((size_t)b->n_systems, sizeof(double));
    bmd_compute_request req = {mask, E, NULL, NULL, NULL};
    assert_int_equal(bmd_model_compute(m, b, &req), BMD_OK);
    double e = E[slot];
    free(E);
    free(mask);
    return e;
}

static bmd_batch *make_batch(const bmd_system *sys, const int *which, int n) {
    bmd_batch *b = NULL;
    assert_int_equal(bmd_batch_create(&b), BMD_OK);
    for (int k = 0; k < n; k++) assert_int_equal(bmd_batch_append(b, &sys[which[k]], NULL), BMD_OK);
    return b;
}

static const int ALL[NSYS] = {0, 1, 2, 3, 4, 5};

static const model_case CASES[4] = {
    {"lj", 0, 0}, {"lj shift", 0, 1}, {"morse", 1, 0}, {"morse shift", 1, 1}};

/* ---- tests ---- */
static void test_brute_force(void **state) {
    (void)state;
    bmd_system sys[NSYS];
    make_systems(sys);
    for (int c = 0; c < 4; c++) {
        bmd_model *m = make_model(&CASES[c]);
        bmd_batch *b = make_batch(sys, ALL, NSYS);
        result r;
        result_alloc(&r, b);
        compute(m, b, NULL, &r);
        for (int s = 0; s < NSYS; s++) {
            int n = sys[s].n_atoms, a0 = b->atom_start[s];
            double E, W[6], *F = malloc(3 * (size_t)n * sizeof(double));
            brute_force(&CASES[c], &sys[s], &E, F, W);
            double fs = 1e-3, ws = 1e-3, esum = 0;
            for (int i = 0; i < 3 * n; i++) fs = fmax(fs, fabs(F[i]));
            for (int v = 0; v < 6; v++) ws = fmax(ws, fabs(W[v]));
            if (fabs(r.E[s] - E) > 1e-10 * fmax(1.0, fabs(E)))
                fail_msg("%s system %d: E %.17g, brute force %.17g", CASES[c].name, s, r.E[s], E);
            for (int i = 0; i < 3 * n; i++)
                if (fabs(r.F[3 * a0 + i] - F[i]) > 1e-10 * fs)
                    fail_msg("%s system %d: F[%d] %.17g, brute force %.17g", CASES[c].name, s, i, r.F[3 * a0 + i], F[i]);
            for (int v = 0; v < 6; v++)
                if (fabs(r.W[6 * s + v] - W[v]) > 1e-10 * ws)
                    fail_msg("%s system %d: W[%d] %.17g, brute force %.17g", CASES[c].name, s, v, r.W[6 * s + v], W[v]);
            for (int i = 0; i < n; i++) esum += r.epa[a0 + i];
            assert_true(fabs(esum - r.E[s]) <= 1e-12 * fmax(1.0, fabs(E)));
            assert_true(fabs(E) > 1e-4); /* something interacts */
            free(F);
        }
        result_free(&r);
        bmd_batch_destroy(b);
        bmd_model_destroy(m);
    }
    free_systems(sys);
}

static void test_finite_differences(void **state) {
    (void)state;
    bmd_system sys[NSYS];
    make_systems(sys);
    const double h = 1e-5, hs = 1e-6;
    for (int c = 0; c < 4; c++) {
        bmd_model *m = make_model(&CASES[c]);
        bmd_batch *b = make_batch(sys, ALL, NSYS);
        result r;
        result_alloc(&r, b);
        compute(m, b, NULL, &r);
        for (int s = 0; s < NSYS; s++) {
            int n = b->atom_count[s], a0 = b->atom_start[s];
            double fs = 1e-2;
            for (int i = 0; i < 3 * n; i++) fs = fmax(fs, fabs(r.F[3 * a0 + i]));
            for (int i = 0; i < 3 * n; i++) {
                double *x = &b->pos[3 * a0 + i], x0 = *x;
                *x = x0 + h;
                double ep = energy_of(m, b, s);
                *x = x0 - h;
                double em = energy_of(m, b, s);
                *x = x0;
                double fd = -(ep - em) / (2 * h);
                if (fabs(fd - r.F[3 * a0 + i]) > 1e-6 * fs)
                    fail_msg("%s system %d: F[%d] = %.12g, -dE/dx = %.12g", CASES[c].name, s, i, r.F[3 * a0 + i], fd);
            }
            /* virial: E under a homogeneous symmetric strain of cell and positions */
            double ws = 1e-2;
            for (int v = 0; v < 6; v++) ws = fmax(ws, fabs(r.W[6 * s + v]));
            static const int va[6] = {0, 1, 2, 1, 0, 0}, vb[6] = {0, 1, 2, 2, 2, 1};
            double *p0 = malloc(3 * (size_t)n * sizeof(double)), cell0[9];
            memcpy(p0, b->pos + 3 * a0, 3 * (size_t)n * sizeof(double));
            memcpy(cell0, b->cell + 9 * s, sizeof cell0);
            for (int v = 0; v < 6; v++) {
                double e[2];
                for (int sg = 0; sg < 2; sg++) {
                    double eps[9] = {0}, d = sg ? -hs : hs;
                    if (va[v] == vb[v]) eps[3 * va[v] + va[v]] = d;
                    else eps[3 * va[v] + vb[v]] = eps[3 * vb[v] + va[v]] = 0.5 * d;
                    for (int i = 0; i < n; i++)
                        for (int k = 0; k < 3; k++) {
                            double acc = p0[3 * i + k];
                            for (int l = 0; l < 3; l++) acc += p0[3 * i + l] * eps[3 * l + k];
                            b->pos[3 * (a0 + i) + k] = acc;
                        }
                    for (int row = 0; row < 3; row++)
                        for (int k = 0; k < 3; k++) {
                            double acc = cell0[3 * row + k];
                            for (int l = 0; l < 3; l++) acc += cell0[3 * row + l] * eps[3 * l + k];
                            b->cell[9 * s + 3 * row + k] = acc;
                        }
                    e[sg] = energy_of(m, b, s);
                }
                memcpy(b->pos + 3 * a0, p0, 3 * (size_t)n * sizeof(double));
                memcpy(b->cell + 9 * s, cell0, sizeof cell0);
                double fd = (e[0] - e[1]) / (2 * hs);
                if (fabs(fd - r.W[6 * s + v]) > 1e-6 * ws)
                    fail_msg("%s system %d: W[%d] = %.12g, dE/deps = %.12g", CASES[c].name, s, v, r.W[6 * s + v], fd);
            }
            free(p0);
        }
        result_free(&r);
        bmd_batch_destroy(b);
        bmd_model_destroy(m);
    }
    free_systems(sys);
}

static int same_bits(const double *a, const double *b, size_t n) { return memcmp(a, b, n * sizeof(double)) == 0; }

/* system k of batch b (slot s) has exactly the bits of reference slot t of ref */
static void assert_same_system(const bmd_batch *b, const result *r, int s, const bmd_batch *rb, const result *ref,
                               int t, const char *what) {
    int n = b->atom_count[s];
    assert_int_equal(n, rb->atom_count[t]);
    int ok = same_bits(&r->E[s], &ref->E[t], 1) && same_bits(&r->W[6 * s], &ref->W[6 * t], 6) &&
             same_bits(&r->F[3 * b->atom_start[s]], &ref->F[3 * rb->atom_start[t]], 3 * (size_t)n) &&
             same_bits(&r->epa[b->atom_start[s]], &ref->epa[rb->atom_start[t]], (size_t)n);
    if (!ok) fail_msg("%s: system in slot %d differs from reference slot %d (E %.17g vs %.17g)", what, s, t, r->E[s], ref->E[t]);
}

static void test_bitwise_independence(void **state) {
    (void)state;
    bmd_system sys[NSYS];
    make_systems(sys);
    for (int c = 0; c < 4; c++) {
        /* reference: the full batch */
        bmd_model *m = make_model(&CASES[c]);
        bmd_batch *b = make_batch(sys, ALL, NSYS);
        result ref;
        result_alloc(&ref, b);
        compute(m, b, NULL, &ref);
        /* each system alone, fresh model */
        for (int s = 0; s < NSYS; s++) {
            bmd_model *m1 = make_model(&CASES[c]);
            bmd_batch *b1 = make_batch(sys, &s, 1);
            result r1;
            result_alloc(&r1, b1);
            compute(m1, b1, NULL, &r1);
            assert_same_system(b1, &r1, 0, b, &ref, s, "alone");
            result_free(&r1);
            bmd_batch_destroy(b1);
            bmd_model_destroy(m1);
        }
        /* in another order, with a mask, same model across removals and appends */
        {
            int order[NSYS] = {5, 3, 1, 0, 4, 2};
            bmd_batch *b2 = make_batch(sys, order, NSYS);
            result r2;
            result_alloc(&r2, b2);
            for (int i = 0; i < b2->n_systems; i++) r2.E[i] = -777.0;
            unsigned char mask[NSYS] = {1, 0, 1, 1, 0, 1};
            compute(m, b2, mask, &r2);
            for (int i = 0; i < NSYS; i++) {
                if (mask[i]) assert_same_system(b2, &r2, i, b, &ref, order[i], "other order");
                else assert_true(r2.E[i] == -777.0);
            }
            long builds = bmd__pair_list_builds(m);
            unsigned char rm[NSYS] = {0, 1, 1, 0, 0, 0}; /* drop systems 3 and 1 */
            assert_int_equal(bmd_batch_remove(b2, rm), BMD_OK);
            assert_int_equal(bmd_batch_append(b2, &sys[3], NULL), BMD_OK);
            result_free(&r2);
            result_alloc(&r2, b2);
            compute(m, b2, NULL, &r2);
            int now[NSYS] = {5, 0, 4, 2, 3};
            for (int i = 0; i < b2->n_systems; i++) assert_same_system(b2, &r2, i, b, &ref, now[i], "after remove");
            /* kept lists were not rebuilt: only those of 4 (unmasked before) and of the new 3 */
            assert_int_equal(bmd__pair_list_builds(m) - builds, 2);
            result_free(&r2);
            bmd_batch_destroy(b2);
        }
        /* move atoms by less than skin/2: the old list (not rebuilt) and a fresh one give the same bits */
        {
            bmd_model *m3 = make_model(&CASES[c]);
            bmd_batch *b3 = make_batch(sys, ALL, NSYS);
            result r3, r4;
            result_alloc(&r3, b3);
            result_alloc(&r4, b3);
            compute(m3, b3, NULL, &r3);
            long builds = bmd__pair_list_builds(m3);
            double *saved = malloc(3 * (size_t)b3->n_atoms * sizeof(double));
            memcpy(saved, b3->pos, 3 * (size_t)b3->n_atoms * sizeof(double));
            for (int i = 0; i < 3 * b3->n_atoms; i++) b3->pos[i] += 0.24 * SKIN * (urand() - 0.5);
            compute(m3, b3, NULL, &r3);
            assert_int_equal(bmd__pair_list_builds(m3), builds);
            bmd_model *m4 = make_model(&CASES[c]);
            compute(m4, b3, NULL, &r4);
            assert_int_equal(bmd_model_list_builds(m4), NSYS); /* a fresh model: one build per system */
            assert_int_equal(bmd_model_list_builds(m3), builds);
            for (int s = 0; s < NSYS; s++) assert_same_system(b3, &r3, s, b3, &r4, s, "moved, old list vs fresh");
            /* and back */
            memcpy(b3->pos, saved, 3 * (size_t)b3->n_atoms * sizeof(double));
            compute(m4, b3, NULL, &r4);
            for (int s = 0; s < NSYS; s++) assert_same_system(b3, &r4, s, b, &ref, s, "moved and back");
            /* a move beyond skin/2 rebuilds */
            b3->pos[0] += 0.51 * SKIN;
            compute(m4, b3, NULL, &r4);
            free(saved);
            result_free(&r3);
            result_free(&r4);
            bmd_batch_destroy(b3);
            bmd_model_destroy(m3);
            bmd_model_destroy(m4);
        }
        result_free(&ref);
        bmd_batch_destroy(b);
        bmd_model_destroy(m);
    }
    free_systems(sys);
}

/* one system per thread: the bits do not depend on the number of threads */
static void test_threads(void **state) {
    (void)state;
#ifdef _OPENMP
    bmd_system sys[NSYS];
    make_systems(sys);
    int order[3 * NSYS];
    for (int k = 0; k < 3 * NSYS; k++) order[k] = k % NSYS;
    int saved = omp_get_max_threads();
    for (int c = 0; c < 4; c++) {
        bmd_batch *b = make_batch(sys, order, 3 * NSYS);
        result r1, r4;
        result_alloc(&r1, b);
        result_alloc(&r4, b);
        omp_set_num_threads(1);
        bmd_model *m1 = make_model(&CASES[c]);
        compute(m1, b, NULL, &r1);
        omp_set_num_threads(4);
        bmd_model *m4 = make_model(&CASES[c]);
        compute(m4, b, NULL, &r4);
        compute(m1, b, NULL, &r1); /* the same model, now with 4 threads */
        for (int s = 0; s < b->n_systems; s++) {
            assert_same_system(b, &r4, s, b, &r1, s, "4 threads vs 1");
            assert_same_system(b, &r4, s, b, &r4, s % NSYS, "copies of one system");
        }
        result_free(&r1);
        result_free(&r4);
        bmd_model_destroy(m1);
        bmd_model_destroy(m4);
        bmd_batch_destroy(b);
    }
    omp_set_num_threads(saved);
    free_systems(sys);
#endif
}

static void test_lattice_translation(void **state) {
    (void)state;
    bmd_system sys[NSYS];
    make_systems(sys);
    for (int c = 0; c < 4; c++) {
        bmd_model *m = make_model(&CASES[c]);
        int which[4] = {0, 1, 2, 5};
        bmd_batch *b = make_batch(sys, which, 4);
        result r0, r1;
        result_alloc(&r0, b);
        result_alloc(&r1, b);
        compute(m, b, NULL, &r0);
        for (int s = 0; s < 4; s++) {
            const double *H = b->cell + 9 * s;
            for (int i = 0; i < b->atom_count[s]; i++) {
                int n0 = (i % 3) - 1, n1 = 2 * (i % 2), n2 = b->pbc[3 * s + 2] ? -((i % 5) - 2) : 0;
                for (int k = 0; k < 3; k++)
                    b->pos[3 * (b->atom_start[s] + i) + k] += n0 * H[k] + n1 * H[3 + k] + n2 * H[6 + k];
            }
        }
        compute(m, b, NULL, &r1);
        for (int s = 0; s < 4; s++) {
            if (fabs(r1.E[s] - r0.E[s]) > 1e-12 * fabs(r0.E[s]))
                fail_msg("%s slot %d: E %.17g after lattice translations, %.17g before", CASES[c].name, s, r1.E[s], r0.E[s]);
            double fs = 1e-3;
            for (int i = 0; i < 3 * b->atom_count[s]; i++) fs = fmax(fs, fabs(r0.F[3 * b->atom_start[s] + i]));
            for (int i = 0; i < 3 * b->atom_count[s]; i++)
                assert_true(fabs(r1.F[3 * b->atom_start[s] + i] - r0.F[3 * b->atom_start[s] + i]) <= 1e-10 * fs);
        }
        result_free(&r0);
        result_free(&r1);
        bmd_batch_destroy(b);
        bmd_model_destroy(m);
    }
    free_systems(sys);
}

static void test_two_atoms_analytic(void **state) {
    (void)state;
    /* an open dimer at r = 3.9 Å: E = φ(r), |F| = φ'(r), W_xx = φ'(r) r */
    bmd_system s;
    bmd_system_alloc(&s, 2);
    memset(s.cell, 0, sizeof s.cell);
    s.Z[0] = s.Z[1] = AR;
    s.mass[0] = s.mass[1] = 1;
    double r = 3.9;
    s.pos[0] = s.pos[1] = s.pos[2] = 0;
    s.pos[3] = r;
    s.pos[4] = s.pos[5] = 0;
    bmd_batch *b;
    assert_int_equal(bmd_batch_create(&b), BMD_OK);
    assert_int_equal(bmd_batch_append(b, &s, NULL), BMD_OK);
    bmd_model *m = make_model(&CASES[1]);
    result res;
    result_alloc(&res, b);
    compute(m, b, NULL, &res);
    double sr6 = pow(3.40 / r, 6), sc6 = pow(3.40 / 8.0, 6);
    double E = 4 * 0.0104 * (sr6 * sr6 - sr6) - 4 * 0.0104 * (sc6 * sc6 - sc6);
    double dphi = 4 * 0.0104 * (-12 * sr6 * sr6 + 6 * sr6) / r;
    assert_true(fabs(res.E[0] - E) < 1e-15);
    assert_true(fabs(res.F[0] - dphi) < 1e-15 && fabs(res.F[3] + dphi) < 1e-15);
    assert_true(fabs(res.W[0] - dphi * r) < 1e-15);
    assert_true(res.W[1] == 0 && res.W[5] == 0);
    assert_true(fabs(bmd__pair_cutoff(m->self) - 8.5) < 1e-15);
    result_free(&res);
    bmd_model_destroy(m);
    bmd_batch_destroy(b);
    bmd_system_free(&s);
}

static void test_check_system_and_errors(void **state) {
    (void)state;
    bmd_system sys[NSYS];
    make_systems(sys);
    bmd_pair_params only_ar[1] = {{AR, AR, {0.0104, 3.4, 0}, 8.0}};
    bmd_pair_options opt = {0.5, 1, 0};
    bmd_model *m = NULL;
    assert_int_equal(bmd_model_lj_create(only_ar, 1, &opt, &m), BMD_OK);
    assert_int_equal(bmd_model_check_system(m, &sys[0]), BMD_ERR_NOT_FOUND);
    assert_non_null(strstr(bmd_last_error(), "no lj parameters for species pairs Ar-Kr, Kr-Kr"));
    assert_int_equal(bmd_model_check_system(m, &sys[5]), BMD_ERR_NOT_FOUND);
    assert_non_null(strstr(bmd_last_error(), "Kr-Kr"));
    bmd_model_destroy(m);
    /* a default entry covers the rest */
    bmd_pair_params with_default[2] = {{AR, AR, {0.0104, 3.4, 0}, 8.0}, {0, 0, {0.01, 3.5, 0}, 8.0}};
    opt.has_default = 1;
    assert_int_equal(bmd_model_morse_create(with_default, 2, &opt, &m), BMD_OK);
    assert_int_equal(bmd_model_check_system(m, &sys[0]), BMD_OK);
    bmd_model_destroy(m);
    /* bad parameters */
    assert_int_equal(bmd_model_lj_create(with_default, 2, &(bmd_pair_options){0.5, 0, 0}, &m), BMD_ERR_INVALID);
    bmd_pair_params dup[2] = {{AR, KR, {0.01, 3.4, 0}, 8.0}, {KR, AR, {0.01, 3.4, 0}, 8.0}};
    assert_int_equal(bmd_model_lj_create(dup, 2, &opt, &m), BMD_ERR_INVALID);
    assert_non_null(strstr(bmd_last_error(), "twice"));
    bmd_pair_params neg[1] = {{AR, AR, {0.01, -3.4, 0}, 8.0}};
    assert_int_equal(bmd_model_lj_create(neg, 1, &(bmd_pair_options){0.5, 0, 0}, &m), BMD_ERR_INVALID);
    /* degenerate periodic cell */
    m = make_model(&CASES[0]);
    bmd_system flat;
    bmd_system_copy(&flat, &sys[0]);
    memset(flat.cell + 6, 0, 3 * sizeof(double));
    assert_int_equal(bmd_model_check_system(m, &flat), BMD_ERR_INVALID);
    bmd_batch *b = make_batch(&flat, (int[]){0}, 1);
    result r;
    result_alloc(&r, b);
    bmd_compute_request req = {NULL, r.E, r.F, r.W, NULL};
    assert_int_equal(bmd_model_compute(m, b, &req), BMD_ERR_INVALID);
    /* non-finite positions give non-finite outputs (a blow-up the caller takes out) */
    bmd_batch_destroy(b);
    b = make_batch(sys, (int[]){0, 3}, 2);
    result_free(&r);
    result_alloc(&r, b);
    b->pos[4] = NAN;
    req = (bmd_compute_request){NULL, r.E, r.F, r.W, NULL};
    assert_int_equal(bmd_model_compute(m, b, &req), BMD_OK);
    assert_true(isnan(r.E[0]) && isnan(r.F[0]) && isfinite(r.E[1]));
    result_free(&r);
    bmd_batch_destroy(b);
    bmd_system_free(&flat);
    bmd_model_destroy(m);
    bmd_model_destroy(NULL);
    free_systems(sys);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_atoms_analytic),
        cmocka_unit_test(test_brute_force),
        cmocka_unit_test(test_finite_differences),
        cmocka_unit_test(test_bitwise_independence),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_lattice_translation),
        cmocka_unit_test(test_check_system_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
