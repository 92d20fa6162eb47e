/* eam.c — owns the EAM model object (model_eam.h): reading the file(s) into
 * tables (eam_file.c, eam_table.c), the species table (elements of the file,
 * plus one "not in the file" type whose functions are zero), the pointers
 * of each type pair to its splines, check_system, info, destroy. The
 * kernel and compute driver are in eam_compute.c. Equations (LAMMPS's
 * pair_style eam, eam/alloy, eam/fs):
 *
 *   ρ_i = Σ_j ρ_{t_j→t_i}(r_ij)
 *   E   = Σ_i F_{t_i}(ρ_i) + Σ_{pairs} φ_{t_i t_j}(r_ij),  φ = (r·φ)(r) / r
 *   dE/dr_ij = F'_i ρ'_{j→i}(r) + F'_j ρ'_{i→j}(r) + φ'(r)
 *   F_i extrapolated linearly above ρ_max (energy only; F' from the table)
 *
 * with ρ_{a→b} = ρ_a for funcfl and setfl, the file's ρ_{a,b} block for fs. */
#include "batchmd/model_eam.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/eam.h"

#define NC BMD__EAM_NC

static const bmd_model_ops eam_ops;

static const char *sym(int z) {
    const char *s = bmd_element_symbol(z);
    return s ? s : "?";
}

static void free_model(bmd__eam_model *em) {
    if (!em) return;
    bmd__nlist_set_free(&em->lists);
    for (int t = 0; t < em->n_ws; t++) {
        bmd__nl_scratch_free(&em->ws[t].nl);
        free(em->ws[t].type);
        free(em->ws[t].rho);
        free(em->ws[t].fp);
        free(em->ws[t].f);
        free(em->ws[t].pstart);
        free(em->ws[t].pj);
        free(em->ws[t].ps);
        free(em->ws[t].pr);
    }
    free(em->ws);
    free(em->err);
    free(em->rebuilt);
    bmd__eam_table_free(&em->tab);
    free(em->dens);
    free(em->z2);
    free(em->emb);
    free(em->elem_z);
    free(em->elem_mass);
    free(em->path);
    free(em);
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int style_code(const char *style, const char *path) {
    if (style) {
        if (strcmp(style, "eam") == 0) return BMD__EAM_FUNCFL;
        if (strcmp(style, "eam/alloy") == 0) return BMD__EAM_SETFL;
        if (strcmp(style, "eam/fs") == 0) return BMD__EAM_FS;
        return 0;
    }
    if (ends_with(path, ".eam.alloy") || ends_with(path, ".setfl")) return BMD__EAM_SETFL;
    if (ends_with(path, ".eam.fs") || ends_with(path, ".fs")) return BMD__EAM_FS;
    if (ends_with(path, ".eam") || ends_with(path, ".funcfl")) return BMD__EAM_FUNCFL;
    return -1;
}

static const char *style_name(int code) {
    return code == BMD__EAM_FUNCFL ? "eam" : code == BMD__EAM_SETFL ? "eam/alloy" : "eam/fs";
}

/* the model from files already read (freed here, whatever happens) */
static bmd_status build(bmd__eam_file *files, int n_files, int code, const char *label, double skin,
                        bmd_model **out) {
    bmd__eam_model *em = calloc(1, sizeof *em);
    bmd_status st = em ? BMD_OK : bmd__fail(BMD_ERR_NOMEM, "out of memory creating the eam model");
    if (!st) st = bmd__eam_table_make(files, n_files, &em->tab);
    const int N = st ? 0 : em->tab.n_elem, T = N + 1;
    if (!st) {
        snprintf(em->style, sizeof em->style, "%s", style_name(code));
        em->skin = skin;
        em->n_elem = N;
        em->ntypes = T;
        em->path = malloc(strlen(label) + 1);
        em->elem_z = malloc((size_t)N * sizeof(int));
        em->elem_mass = malloc((size_t)N * sizeof(double));
        em->dens = malloc((size_t)T * T * sizeof *em->dens);
        em->z2 = malloc((size_t)T * T * sizeof *em->z2);
        em->emb = malloc((size_t)T * sizeof *em->emb);
        if (!em->path || !em->elem_z || !em->elem_mass || !em->dens || !em->z2 || !em->emb)
            st = bmd__fail(BMD_ERR_NOMEM, "out of memory creating the eam model");
    }
    if (!st) {
        strcpy(em->path, label);
        for (int i = 0, k = 0; i < n_files; i++)
            for (int e = 0; e < files[i].n_elem; e++, k++) {
                em->elem_z[k] = files[i].z[e];
                em->elem_mass[k] = files[i].mass[e];
            }
    }
    for (int i = 0; i < n_files; i++) bmd__eam_file_free(&files[i]);
    bmd_model *m = st ? NULL : calloc(1, sizeof *m);
    if (!st && !m) st = bmd__fail(BMD_ERR_NOMEM, "out of memory creating the eam model");
    if (st) {
        free_model(em);
        return st;
    }
    const bmd__eam_table *t = &em->tab;
    const size_t lr = ((size_t)t->nr + 1) * NC, lrho = ((size_t)t->nrho + 1) * NC;
    for (int z = 0; z < BMD_N_ELEMENTS; z++) em->ztype[z] = N;
    for (int i = N - 1; i >= 0; i--) em->ztype[em->elem_z[i]] = i;
    for (int a = 0; a < T; a++) {
        em->emb[a] = t->frho + (size_t)(a < N ? a : t->nfrho) * lrho;
        for (int b = 0; b < T; b++) {
            const int in = a < N && b < N;
            /* LAMMPS: ρ_i += rhor_spline[type2rhor[jtype][itype]] */
            em->dens[a * T + b] = t->rhor + (size_t)(in ? t->type2rhor[b * N + a] : t->nrhor) * lr;
            em->z2[a * T + b] = t->z2r + (size_t)(in ? t->type2z2r[a * N + b] : t->nz2r) * lr;
        }
    }
    m->ops = &eam_ops;
    m->self = em;
    *out = m;
    return BMD_OK;
}

static bmd_status check_args(double skin, bmd_model **out) {
    if (!out) return bmd__fail(BMD_ERR_INVALID, "eam model: out is NULL");
    *out = NULL;
    if (!isfinite(skin) || skin < 0)
        return bmd__fail(BMD_ERR_INVALID, "eam model: skin must be a finite number >= 0 (got %g)", skin);
    return BMD_OK;
}

bmd_status bmd_model_eam_create(const char *path, const char *style, double skin, bmd_model **out) {
    bmd_status st = check_args(skin, out);
    if (st) return st;
    if (!path || !*path) return bmd__fail(BMD_ERR_INVALID, "eam model: no potential file given");
    const int code = style_code(style, path);
    if (code == 0)
        return bmd__fail(BMD_ERR_INVALID, "eam model: unknown style '%s' (expected eam, eam/alloy or eam/fs)", style);
    if (code < 0)
        return bmd__fail(BMD_ERR_INVALID,
                         "eam model: cannot tell the format of %s from its name (*.eam: funcfl, *.eam.alloy: "
                         "setfl, *.eam.fs: Finnis-Sinclair); give the style", path);
    bmd__eam_file file;
    if ((st = bmd__eam_file_read(path, code, &file))) return st;
    return build(&file, 1, code, path, skin, out);
}

bmd_status bmd_model_eam_create_funcfl(const char *const *paths, int n_paths, double skin, bmd_model **out) {
    bmd_status st = check_args(skin, out);
    if (st) return st;
    if (!paths || n_paths < 1 || n_paths > 64)
        return bmd__fail(BMD_ERR_INVALID, "eam model: give 1 to 64 funcfl files (got %d)", n_paths);
    bmd__eam_file *files = calloc((size_t)n_paths, sizeof *files);
    size_t len = 1;
    for (int i = 0; i < n_paths; i++) len += (paths[i] ? strlen(paths[i]) : 0) + 3;
    char *label = malloc(len);
    if (!files || !label) {
        free(files);
        free(label);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory creating the eam model");
    }
    label[0] = '\0';
    int n_read = 0;
    for (int i = 0; i < n_paths && !st; i++) {
        if (!paths[i] || !*paths[i]) {
            st = bmd__fail(BMD_ERR_INVALID, "eam model: funcfl file %d has no name", i);
            break;
        }
        if ((st = bmd__eam_file_read(paths[i], BMD__EAM_FUNCFL, &files[i]))) break;
        n_read++;
        for (int k = 0; k < i; k++)
            if (files[k].z[0] == files[i].z[0])
                st = bmd__fail(BMD_ERR_INVALID, "eam model: %s and %s are both for element %s: one file per element",
                               paths[k], paths[i], sym(files[i].z[0]));
        strcat(label, i ? " + " : "");
        strcat(label, paths[i]);
    }
    if (!st) st = build(files, n_paths, BMD__EAM_FUNCFL, label, skin, out);
    else
        for (int i = 0; i < n_read; i++) bmd__eam_file_free(&files[i]);
    free(files);
    free(label);
    return st;
}

bmd_status bmd_model_eam_info(const bmd_model *m, bmd_eam_info *info) {
    if (!m || m->ops != &eam_ops || !info) return bmd__fail(BMD_ERR_INVALID, "eam info: not an eam model");
    const bmd__eam_model *em = m->self;
    memset(info, 0, sizeof *info);
    snprintf(info->style, sizeof info->style, "%s", em->style);
    info->n_elements = em->n_elem;
    for (int i = 0; i < em->n_elem && i < 8; i++) {
        info->z[i] = em->elem_z[i];
        info->mass[i] = em->elem_mass[i];
    }
    info->cutoff = em->tab.cut;
    return BMD_OK;
}

long bmd__eam_list_builds(const bmd_model *m) {
    if (!m || m->ops != &eam_ops) return -1;
    return ((const bmd__eam_model *)m->self)->n_builds;
}

static void eam_destroy(void *self) { free_model(self); }

static double eam_cutoff(void *self) { return ((bmd__eam_model *)self)->tab.cut; }

static bmd_status eam_check_system(void *self, const bmd_system *sys) {
    bmd__eam_model *em = self;
    if (!sys) return bmd__fail(BMD_ERR_INVALID, "eam model: system is NULL");
    unsigned char present[BMD_N_ELEMENTS] = {0};
    for (int i = 0; i < sys->n_atoms; i++) {
        int z = sys->Z[i];
        if (z < 0 || z >= BMD_N_ELEMENTS)
            return bmd__fail(BMD_ERR_INVALID, "eam model: atom %d has an invalid atomic number %d", i, z);
        present[z] = 1;
        for (int c = 0; c < 3; c++)
            if (!isfinite(sys->pos[3 * i + c]))
                return bmd__fail(BMD_ERR_NUMERIC, "eam model: atom %d has a non-finite position", i);
    }
    if (bmd__cell_degenerate(sys->cell, sys->pbc))
        return bmd__fail(BMD_ERR_INVALID, "eam model: the cell is degenerate along its periodic axes (pbc %c%c%c)",
                         sys->pbc[0] ? 'T' : 'F', sys->pbc[1] ? 'T' : 'F', sys->pbc[2] ? 'T' : 'F');
    char msg[512];
    int len = 0, missing = 0;
    for (int z = 0; z < BMD_N_ELEMENTS; z++) {
        if (!present[z] || em->ztype[z] < em->n_elem) continue;
        if (len < (int)sizeof msg - 16)
            len += snprintf(msg + len, sizeof msg - (size_t)len, "%s%s", missing ? ", " : "", sym(z));
        missing++;
    }
    if (missing) {
        char have[256];
        int hl = 0;
        for (int i = 0; i < em->n_elem && hl < (int)sizeof have - 16; i++)
            hl += snprintf(have + hl, sizeof have - (size_t)hl, "%s%s", i ? " " : "", sym(em->elem_z[i]));
        return bmd__fail(BMD_ERR_NOT_FOUND, "eam model: %s has no parameters for element%s %s (it has %s)", em->path,
                         missing > 1 ? "s" : "", msg, have);
    }
    return BMD_OK;
}

static const bmd_model_ops eam_ops = {
    .type = "eam",
    .compute = bmd__eam_compute,
    .check_system = eam_check_system,
    .cutoff = eam_cutoff,
    .destroy = eam_destroy,
};
