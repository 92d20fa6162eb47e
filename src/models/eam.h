/* eam.h — internal: what the EAM files share. eam_file.c reads the three
 * DYNAMO formats (funcfl, setfl, Finnis–Sinclair) into bmd__eam_file, the
 * values as written (1-based arrays, as LAMMPS keeps them); eam_table.c turns
 * a file into the tables the kernel reads (LAMMPS's file2array: funcfl
 * re-gridded with its 4-point Lagrange rule, Z_i Z_j 27.2·0.529 as r·φ; then
 * array2spline: 7 coefficients per grid point); eam.c is the model object,
 * eam_compute.c its kernel and compute driver. */
#ifndef BATCHMD_MODELS_EAM_H
#define BATCHMD_MODELS_EAM_H

#include "batchmd/status.h"

enum { BMD__EAM_FUNCFL = 1, BMD__EAM_SETFL = 2, BMD__EAM_FS = 3 };

/* Spline coefficients per grid point m (LAMMPS's layout): value at
 * fraction p of the interval: ((c3 p + c4) p + c5) p + c6; derivative
 * (per unit of r or ρ): (c0 p + c1) p + c2. */
#define BMD__EAM_NC 7

/* A potential file as read. Arrays are 1-based: values at [1..n]. */
typedef struct bmd__eam_file {
    int style;                 /* BMD__EAM_FUNCFL / SETFL / FS */
    int n_elem;                /* 1 for funcfl */
    int *z;                    /* [n_elem] atomic numbers */
    double *mass;              /* [n_elem] amu */
    int nrho, nr;
    double drho, dr, cut;
    double **frho;             /* [n_elem][nrho + 1] F(ρ), eV */
    double **rhor;             /* funcfl, setfl: [n_elem][nr + 1] ρ_i(r);
                                * fs: [n_elem * n_elem][nr + 1], rhor[i*N + j] as
                                * the file's block of element i, function j */
    double **z2r;              /* setfl, fs: [N(N+1)/2][nr + 1] r·φ_ij (eV·Å),
                                * i >= j, index i(i+1)/2 + j;
                                * funcfl: [1][nr + 1] Z(r) (sqrt(Hartree·bohr)) */
} bmd__eam_file;

/* Reads `path` in format style (BMD__EAM_*). Errors: BMD_ERR_IO (cannot
 * open), BMD_ERR_PARSE ("PATH:LINE: ..."). */
bmd_status bmd__eam_file_read(const char *path, int style, bmd__eam_file *out);
void bmd__eam_file_free(bmd__eam_file *f);

/* The tables of the kernel, as LAMMPS's PairEAM after file2array and
 * array2spline. Each spline is [(n + 1) * BMD__EAM_NC] (point m at
 * [m * NC], m = 1..n). One extra all-zero spline ends each of frho, rhor
 * and z2r, for species the file lacks (they then do not interact). */
typedef struct bmd__eam_table {
    int n_elem;
    int nrho, nr;
    double drho, dr, rdrho, rdr, rhomax, cut;
    int nfrho, nrhor, nz2r;    /* counts, the zero splines not included */
    double *frho;              /* [(nfrho + 1)][(nrho + 1) NC]: element i's F */
    double *rhor;              /* [(nrhor + 1)][(nr + 1) NC] */
    double *z2r;               /* [(nz2r + 1)][(nr + 1) NC] */
    int *type2rhor;            /* [N * N] LAMMPS's type2rhor[i][j] (element indices) */
    int *type2z2r;             /* [N * N] */
} bmd__eam_table;

/* file2array + array2spline of n_files funcfl files (one element each,
 * distinct), or of one setfl or fs file (n_files = 1). */
bmd_status bmd__eam_table_make(const bmd__eam_file *files, int n_files, bmd__eam_table *t);
void bmd__eam_table_free(bmd__eam_table *t);

/* LAMMPS's PairEAM::interpolate: f[1..n] on a grid of spacing delta ->
 * spline[(n + 1) NC]. n >= 5. */
void bmd__eam_spline(int n, double delta, const double *f, double *spline);

/* ---- the model object (eam.c) and its compute (eam_compute.c) ---- */
#include "batchmd/elements.h"
#include "batchmd/model.h"
#include "neighbor/neighbor.h"

typedef struct bmd__eam_ws { /* one thread's workspace */
    bmd__nl_scratch nl;
    int cap_n, cap_f, cap_pairs;
    int *type, *pstart;  /* [n], [n + 1] */
    double *rho, *fp, *f;
    int *pj, *ps;        /* [pairs] the pairs within the cutoff: partner, image (-1: none) */
    double *pr;          /* [pairs] their distance */
} bmd__eam_ws;

typedef struct bmd__eam_model {
    char *path;                /* the file(s), for messages */
    char style[16];
    bmd__eam_table tab;
    int n_elem, ntypes;        /* ntypes = n_elem + 1: the last is "not in the file" */
    int *elem_z;               /* [n_elem] */
    double *elem_mass;         /* [n_elem] */
    int ztype[BMD_N_ELEMENTS];
    const double **dens;       /* [T*T] spline of the density at a type-a atom from a type-b one */
    const double **z2;         /* [T*T] spline of r·φ */
    const double **emb;        /* [T] spline of F */
    double skin;
    bmd__nlist_set lists;
    int n_ws;
    bmd__eam_ws *ws;
    int cap_err;
    unsigned char *err, *rebuilt;
    long n_builds;
} bmd__eam_model;

/* bmd_model_ops.compute of the EAM model (self: bmd__eam_model). */
bmd_status bmd__eam_compute(void *self, const bmd_batch *b, const bmd_compute_request *req);
/* List builds so far over all systems (n_builds); -1 when m is not an EAM
 * model (bmd_model_list_builds). */
long bmd__eam_list_builds(const bmd_model *m);

#endif
