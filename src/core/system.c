/* system.c — owns bmd_system (one standalone structure) and bmd_info (the
 * free key=value pairs of its info line). */
#include "batchmd/system.h"

#include <stdlib.h>
#include <string.h>

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

bmd_status bmd_info_set(bmd_info *info, const char *key, const char *value) {
    for (int i = 0; i < info->n; i++) {
        if (strcmp(info->keys[i], key) == 0) {
            char *v = dup_str(value);
            if (!v) return bmd__fail(BMD_ERR_NOMEM, "out of memory storing info key '%s'", key);
            free(info->values[i]);
            info->values[i] = v;
            return BMD_OK;
        }
    }
    if (info->n == info->cap) {
        int cap = info->cap ? 2 * info->cap : 8;
        char **k = realloc(info->keys, (size_t)cap * sizeof *k);
        if (!k) return bmd__fail(BMD_ERR_NOMEM, "out of memory storing info key '%s'", key);
        info->keys = k;
        char **v = realloc(info->values, (size_t)cap * sizeof *v);
        if (!v) return bmd__fail(BMD_ERR_NOMEM, "out of memory storing info key '%s'", key);
        info->values = v;
        info->cap = cap;
    }
    char *k = dup_str(key), *v = dup_str(value);
    if (!k || !v) {
        free(k);
        free(v);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory storing info key '%s'", key);
    }
    info->keys[info->n] = k;
    info->values[info->n] = v;
    info->n++;
    return BMD_OK;
}

const char *bmd_info_get(const bmd_info *info, const char *key) {
    for (int i = 0; i < info->n; i++)
        if (strcmp(info->keys[i], key) == 0) return info->values[i];
    return NULL;
}

void bmd_info_remove(bmd_info *info, const char *key) {
    for (int i = 0; i < info->n; i++) {
        if (strcmp(info->keys[i], key) == 0) {
            free(info->keys[i]);
            free(info->values[i]);
            memmove(info->keys + i, info->keys + i + 1, (size_t)(info->n - i - 1) * sizeof(char *));
            memmove(info->values + i, info->values + i + 1, (size_t)(info->n - i - 1) * sizeof(char *));
            info->n--;
            return;
        }
    }
}

bmd_status bmd_info_copy(bmd_info *dst, const bmd_info *src) {
    memset(dst, 0, sizeof *dst);
    for (int i = 0; i < src->n; i++) {
        bmd_status st = bmd_info_set(dst, src->keys[i], src->values[i]);
        if (st) {
            bmd_info_free(dst);
            return st;
        }
    }
    return BMD_OK;
}

void bmd_info_free(bmd_info *info) {
    if (!info) return;
    for (int i = 0; i < info->n; i++) {
        free(info->keys[i]);
        free(info->values[i]);
    }
    free(info->keys);
    free(info->values);
    memset(info, 0, sizeof *info);
}

int bmd_dof_count(bmd_dof_rule rule, int n_atoms, int n_fixed) {
    int n_free = n_atoms - (n_fixed > 0 ? n_fixed : 0);
    if (n_free <= 0) return 0;
    switch (rule) {
    case BMD_DOF_MOMENTUM: /* conserved only when no atom is held */
        return n_fixed <= 0 && n_free > 1 ? 3 * n_free - 3 : 3 * n_free;
    case BMD_DOF_FIX_COM:
        return 3 * n_free - 3;
    default:
        return 3 * n_free;
    }
}

int bmd_system_n_fixed(const bmd_system *s) {
    int k = 0;
    for (int i = 0; s->fixed && i < s->n_atoms; i++) k += s->fixed[i] != 0;
    return k;
}

int bmd_system_dof(const bmd_system *s) { return bmd_dof_count(s->dof, s->n_atoms, bmd_system_n_fixed(s)); }

bmd_status bmd_system_alloc(bmd_system *s, int n_atoms) {
    memset(s, 0, sizeof *s);
    s->system_id = -1;
    if (n_atoms < 0) return bmd__fail(BMD_ERR_INVALID, "negative atom count %d", n_atoms);
    size_t n = n_atoms > 0 ? (size_t)n_atoms : 1;
    s->Z = calloc(n, sizeof *s->Z);
    s->pos = calloc(3 * n, sizeof *s->pos);
    s->mass = calloc(n, sizeof *s->mass);
    if (!s->Z || !s->pos || !s->mass) {
        bmd_system_free(s);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory for a system of %d atoms", n_atoms);
    }
    s->n_atoms = n_atoms;
    return BMD_OK;
}

static bmd_status ensure_vec(double **p, int n) {
    if (*p) return BMD_OK;
    *p = calloc(3 * (size_t)(n > 0 ? n : 1), sizeof **p);
    return *p ? BMD_OK : bmd__fail(BMD_ERR_NOMEM, "out of memory for %d atoms", n);
}

bmd_status bmd_system_ensure_vel(bmd_system *s) { return ensure_vec(&s->vel, s->n_atoms); }
bmd_status bmd_system_ensure_forces(bmd_system *s) { return ensure_vec(&s->forces, s->n_atoms); }
bmd_status bmd_system_ensure_fixed(bmd_system *s) {
    if (s->fixed) return BMD_OK;
    s->fixed = calloc((size_t)(s->n_atoms > 0 ? s->n_atoms : 1), 1);
    return s->fixed ? BMD_OK : bmd__fail(BMD_ERR_NOMEM, "out of memory for %d atoms", s->n_atoms);
}

bmd_status bmd_system_copy(bmd_system *dst, const bmd_system *src) {
    bmd_status st = bmd_system_alloc(dst, src->n_atoms);
    if (st) return st;
    size_t n = (size_t)src->n_atoms;
    memcpy(dst->Z, src->Z, n * sizeof *dst->Z);
    memcpy(dst->pos, src->pos, 3 * n * sizeof *dst->pos);
    memcpy(dst->mass, src->mass, n * sizeof *dst->mass);
    if (src->vel) {
        if ((st = bmd_system_ensure_vel(dst))) goto fail;
        memcpy(dst->vel, src->vel, 3 * n * sizeof *dst->vel);
    }
    if (src->forces) {
        if ((st = bmd_system_ensure_forces(dst))) goto fail;
        memcpy(dst->forces, src->forces, 3 * n * sizeof *dst->forces);
    }
    if (src->fixed) {
        if ((st = bmd_system_ensure_fixed(dst))) goto fail;
        memcpy(dst->fixed, src->fixed, n);
    }
    memcpy(dst->cell, src->cell, sizeof dst->cell);
    memcpy(dst->pbc, src->pbc, sizeof dst->pbc);
    dst->has_energy = src->has_energy;
    dst->energy = src->energy;
    dst->has_stress = src->has_stress;
    memcpy(dst->stress, src->stress, sizeof dst->stress);
    dst->system_id = src->system_id;
    dst->dof = src->dof;
    dst->line = src->line;
    if (src->source && !(dst->source = dup_str(src->source))) {
        st = bmd__fail(BMD_ERR_NOMEM, "out of memory copying a system");
        goto fail;
    }
    if ((st = bmd_info_copy(&dst->info, &src->info))) goto fail;
    return BMD_OK;
fail:
    bmd_system_free(dst);
    return st;
}

void bmd_system_free(bmd_system *s) {
    if (!s) return;
    free(s->Z);
    free(s->pos);
    free(s->mass);
    free(s->vel);
    free(s->forces);
    free(s->fixed);
    free(s->source);
    bmd_info_free(&s->info);
    memset(s, 0, sizeof *s);
    s->system_id = -1;
}
