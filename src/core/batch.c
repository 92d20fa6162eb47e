/* batch.c — owns the live batch: structure-of-arrays storage of many systems,
 * append, stable compaction on removal, extraction, and the named columns in
 * which dynamics keep per-system and per-atom state (fixed-width, and
 * ragged: one allocation per system row, batch.h). */
#include "batchmd/batch.h"
#include "core/batch_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static bmd_status grow(void **p, size_t elem, int old_cap, int new_cap) {
    void *q = realloc(*p, (size_t)new_cap * elem);
    if (!q) return bmd__fail(BMD_ERR_NOMEM, "out of memory growing the batch to %d rows", new_cap);
    memset((char *)q + (size_t)old_cap * elem, 0, (size_t)(new_cap - old_cap) * elem);
    *p = q;
    return BMD_OK;
}

static bmd_status reserve_atoms(bmd_batch *b, int need) {
    if (need <= b->cap_atoms) return BMD_OK;
    int cap = b->cap_atoms ? b->cap_atoms : 64;
    while (cap < need) cap = cap > (1 << 29) ? need : 2 * cap;
    int old = b->cap_atoms;
    bmd_status st;
    if ((st = grow((void **)&b->pos, 3 * sizeof(double), old, cap))) return st;
    if ((st = grow((void **)&b->vel, 3 * sizeof(double), old, cap))) return st;
    if ((st = grow((void **)&b->force, 3 * sizeof(double), old, cap))) return st;
    if ((st = grow((void **)&b->mass, sizeof(double), old, cap))) return st;
    if ((st = grow((void **)&b->Z, sizeof(int), old, cap))) return st;
    if ((st = grow((void **)&b->sys, sizeof(int), old, cap))) return st;
    for (int c = 0; c < b->n_columns; c++) {
        bmd_column *col = &b->columns[c];
        if (col->per_atom && (st = grow((void **)&col->data, (size_t)col->width * sizeof(double), old, cap)))
            return st;
    }
    b->cap_atoms = cap;
    return BMD_OK;
}

static bmd_status reserve_systems(bmd_batch *b, int need) {
    if (need <= b->cap_systems) return BMD_OK;
    int cap = b->cap_systems ? b->cap_systems : 16;
    while (cap < need) cap *= 2;
    int old = b->cap_systems;
    bmd_status st;
    if ((st = grow((void **)&b->atom_start, sizeof(int), old, cap))) return st;
    if ((st = grow((void **)&b->atom_count, sizeof(int), old, cap))) return st;
    if ((st = grow((void **)&b->cell, 9 * sizeof(double), old, cap))) return st;
    if ((st = grow((void **)&b->pbc, 3, old, cap))) return st;
    if ((st = grow((void **)&b->energy, sizeof(double), old, cap))) return st;
    if ((st = grow((void **)&b->stress, 6 * sizeof(double), old, cap))) return st;
    if ((st = grow((void **)&b->forces_valid, 1, old, cap))) return st;
    if ((st = grow((void **)&b->stress_valid, 1, old, cap))) return st;
    if ((st = grow((void **)&b->status, sizeof(int), old, cap))) return st;
    if ((st = grow((void **)&b->system_id, sizeof(int64_t), old, cap))) return st;
    if ((st = grow((void **)&b->uid, sizeof(int64_t), old, cap))) return st;
    if ((st = grow((void **)&b->info, sizeof(bmd_info), old, cap))) return st;
    for (int c = 0; c < b->n_columns; c++) {
        bmd_column *col = &b->columns[c];
        if (col->ragged) {
            /* (new entries zeroed: empty rows) */
            if ((st = grow((void **)&col->rows, sizeof(double *), old, cap)) ||
                (st = grow((void **)&col->row_len, sizeof(size_t), old, cap)))
                return st;
        } else if (!col->per_atom && (st = grow((void **)&col->data, (size_t)col->width * sizeof(double), old, cap)))
            return st;
    }
    b->cap_systems = cap;
    return BMD_OK;
}

bmd_status bmd_batch_create(bmd_batch **out) {
    bmd_batch *b = calloc(1, sizeof *b);
    if (!b) return bmd__fail(BMD_ERR_NOMEM, "out of memory creating a batch");
    bmd_status st = reserve_atoms(b, 64);
    if (!st) st = reserve_systems(b, 16);
    if (st) {
        bmd_batch_destroy(b);
        return st;
    }
    *out = b;
    return BMD_OK;
}

void bmd_batch_destroy(bmd_batch *b) {
    if (!b) return;
    free(b->pos);
    free(b->vel);
    free(b->force);
    free(b->mass);
    free(b->Z);
    free(b->sys);
    free(b->atom_start);
    free(b->atom_count);
    free(b->cell);
    free(b->pbc);
    free(b->energy);
    free(b->stress);
    free(b->forces_valid);
    free(b->stress_valid);
    free(b->status);
    free(b->system_id);
    free(b->uid);
    for (int s = 0; s < b->n_systems; s++) bmd_info_free(&b->info[s]);
    free(b->info);
    for (int c = 0; c < b->n_columns; c++) {
        bmd_column *col = &b->columns[c];
        free(col->data);
        for (int s = 0; col->ragged && s < b->n_systems; s++) free(col->rows[s]);
        free(col->rows);
        free(col->row_len);
    }
    free(b);
}

bmd_status bmd_batch_append(bmd_batch *b, const bmd_system *sys, int *slot) {
    if (sys->n_atoms <= 0)
        return bmd__fail(BMD_ERR_INVALID, "a system needs at least one atom (got %d)", sys->n_atoms);
    if (sys->n_atoms > (1 << 30) - b->n_atoms)
        return bmd__fail(BMD_ERR_BUDGET, "batch atom count would overflow");
    bmd_status st = reserve_atoms(b, b->n_atoms + sys->n_atoms);
    if (!st) st = reserve_systems(b, b->n_systems + 1);
    /* its fixed atoms need the column (made before anything changes) */
    int c_fixed = -1;
    if (!st && bmd_system_n_fixed(sys) > 0) st = bmd_batch_column(b, BMD_FIXED_COLUMN, 1, 1, &c_fixed);
    if (st) return st;
    int s = b->n_systems, a0 = b->n_atoms, n = sys->n_atoms;
    bmd_info info;
    if ((st = bmd_info_copy(&info, &sys->info))) return st;
    /* results of a calculation at the input's positions (ASE's per-config
     * calculator properties) do not enter: the model's own replace them */
    static const char *const results[] = {"energy", "free_energy", "stress", "dipole", "magmom"};
    for (size_t k = 0; k < sizeof results / sizeof results[0]; k++) bmd_info_remove(&info, results[k]);
    memcpy(b->pos + 3 * (size_t)a0, sys->pos, 3 * (size_t)n * sizeof(double));
    if (sys->vel) memcpy(b->vel + 3 * (size_t)a0, sys->vel, 3 * (size_t)n * sizeof(double));
    else memset(b->vel + 3 * (size_t)a0, 0, 3 * (size_t)n * sizeof(double));
    memset(b->force + 3 * (size_t)a0, 0, 3 * (size_t)n * sizeof(double));
    memcpy(b->mass + a0, sys->mass, (size_t)n * sizeof(double));
    memcpy(b->Z + a0, sys->Z, (size_t)n * sizeof(int));
    for (int i = 0; i < n; i++) b->sys[a0 + i] = s;
    b->atom_start[s] = a0;
    b->atom_count[s] = n;
    memcpy(b->cell + 9 * (size_t)s, sys->cell, 9 * sizeof(double));
    memcpy(b->pbc + 3 * (size_t)s, sys->pbc, 3);
    b->energy[s] = 0.0;
    memset(b->stress + 6 * (size_t)s, 0, 6 * sizeof(double));
    b->forces_valid[s] = 0;
    b->stress_valid[s] = 0;
    b->status[s] = 0;
    b->system_id[s] = sys->system_id;
    b->uid[s] = b->next_uid++;
    b->info[s] = info;
    for (int c = 0; c < b->n_columns; c++) {
        bmd_column *col = &b->columns[c];
        if (col->ragged) {
            col->rows[s] = NULL;
            col->row_len[s] = 0;
        } else if (col->per_atom)
            memset(col->data + (size_t)col->width * a0, 0, (size_t)col->width * n * sizeof(double));
        else memset(col->data + (size_t)col->width * s, 0, (size_t)col->width * sizeof(double));
    }
    b->n_atoms += n;
    b->n_systems++;
    b->layout_version++;
    if (slot) *slot = s;
    if (c_fixed >= 0) { /* (zero-filled above) */
        double *fx = b->columns[c_fixed].data + a0;
        for (int i = 0; i < n; i++) fx[i] = sys->fixed[i] ? 1.0 : 0.0;
    }
    return BMD_OK;
}

/* Moves rows [from, from+count) to `to` (to <= from) in an array of rows of `size` bytes. */
static void move_rows(void *base, size_t size, int to, int from, int count) {
    if (to != from && count > 0) memmove((char *)base + (size_t)to * size, (char *)base + (size_t)from * size, (size_t)count * size);
}

bmd_status bmd_batch_remove(bmd_batch *b, const unsigned char *remove) {
    int ns = 0, na = 0;
    for (int s = 0; s < b->n_systems; s++) {
        int a0 = b->atom_start[s], n = b->atom_count[s];
        if (remove[s]) {
            bmd_info_free(&b->info[s]);
            for (int c = 0; c < b->n_columns; c++)
                if (b->columns[c].ragged) free(b->columns[c].rows[s]);
            continue;
        }
        /* atoms of s move to [na, na + n) */
        move_rows(b->pos, 3 * sizeof(double), na, a0, n);
        move_rows(b->vel, 3 * sizeof(double), na, a0, n);
        move_rows(b->force, 3 * sizeof(double), na, a0, n);
        move_rows(b->mass, sizeof(double), na, a0, n);
        move_rows(b->Z, sizeof(int), na, a0, n);
        for (int i = 0; i < n; i++) b->sys[na + i] = ns;
        for (int c = 0; c < b->n_columns; c++) {
            bmd_column *col = &b->columns[c];
            if (col->ragged) {
                col->rows[ns] = col->rows[s];
                col->row_len[ns] = col->row_len[s];
            } else if (col->per_atom)
                move_rows(col->data, (size_t)col->width * sizeof(double), na, a0, n);
            else move_rows(col->data, (size_t)col->width * sizeof(double), ns, s, 1);
        }
        b->atom_start[ns] = na;
        b->atom_count[ns] = n;
        move_rows(b->cell, 9 * sizeof(double), ns, s, 1);
        move_rows(b->pbc, 3, ns, s, 1);
        move_rows(b->energy, sizeof(double), ns, s, 1);
        move_rows(b->stress, 6 * sizeof(double), ns, s, 1);
        move_rows(b->forces_valid, 1, ns, s, 1);
        move_rows(b->stress_valid, 1, ns, s, 1);
        move_rows(b->status, sizeof(int), ns, s, 1);
        move_rows(b->system_id, sizeof(int64_t), ns, s, 1);
        move_rows(b->uid, sizeof(int64_t), ns, s, 1);
        move_rows(b->info, sizeof(bmd_info), ns, s, 1);
        ns++;
        na += n;
    }
    if (ns < b->n_systems) memset(b->info + ns, 0, (size_t)(b->n_systems - ns) * sizeof(bmd_info));
    for (int c = 0; c < b->n_columns; c++) {
        bmd_column *col = &b->columns[c];
        for (int s = ns; col->ragged && s < b->n_systems; s++) {
            col->rows[s] = NULL;
            col->row_len[s] = 0;
        }
    }
    b->n_systems = ns;
    b->n_atoms = na;
    b->layout_version++;
    return BMD_OK;
}

bmd_status bmd_batch_extract(const bmd_batch *b, int slot, bmd_system *out) {
    if (slot < 0 || slot >= b->n_systems)
        return bmd__fail(BMD_ERR_INVALID, "slot %d out of range (batch has %d systems)", slot, b->n_systems);
    int a0 = b->atom_start[slot], n = b->atom_count[slot];
    bmd_status st = bmd_system_alloc(out, n);
    if (!st) st = bmd_system_ensure_vel(out);
    if (!st && b->forces_valid[slot]) st = bmd_system_ensure_forces(out);
    if (!st) st = bmd_info_copy(&out->info, &b->info[slot]);
    if (st) {
        bmd_system_free(out);
        return st;
    }
    memcpy(out->pos, b->pos + 3 * (size_t)a0, 3 * (size_t)n * sizeof(double));
    memcpy(out->vel, b->vel + 3 * (size_t)a0, 3 * (size_t)n * sizeof(double));
    memcpy(out->mass, b->mass + a0, (size_t)n * sizeof(double));
    memcpy(out->Z, b->Z + a0, (size_t)n * sizeof(int));
    if (out->forces) memcpy(out->forces, b->force + 3 * (size_t)a0, 3 * (size_t)n * sizeof(double));
    memcpy(out->cell, b->cell + 9 * (size_t)slot, 9 * sizeof(double));
    memcpy(out->pbc, b->pbc + 3 * (size_t)slot, 3);
    out->has_energy = b->forces_valid[slot];
    out->energy = b->energy[slot];
    out->has_stress = b->forces_valid[slot] && b->stress_valid[slot];
    if (out->has_stress) memcpy(out->stress, b->stress + 6 * (size_t)slot, 6 * sizeof(double));
    out->system_id = b->system_id[slot];
    const double *fx = bmd_batch_fixed(b, slot);
    if (fx && bmd_batch_n_fixed(b, slot) > 0) {
        if ((st = bmd_system_ensure_fixed(out))) {
            bmd_system_free(out);
            return st;
        }
        for (int i = 0; i < n; i++) out->fixed[i] = fx[i] != 0;
    }
    return BMD_OK;
}

bmd_status bmd_batch_column(bmd_batch *b, const char *name, int per_atom, int width, int *index) {
    int c = bmd_batch_find_column(b, name);
    if (c >= 0) {
        if (b->columns[c].ragged || b->columns[c].per_atom != per_atom || b->columns[c].width != width)
            return bmd__fail(BMD_ERR_INVALID, "batch column '%s' already exists with another shape", name);
        if (index) *index = c;
        return BMD_OK;
    }
    if (b->n_columns == BMD_MAX_COLUMNS)
        return bmd__fail(BMD_ERR_BUDGET, "too many batch columns (max %d) adding '%s'", BMD_MAX_COLUMNS, name);
    if (strlen(name) >= BMD_COLUMN_NAME)
        return bmd__fail(BMD_ERR_INVALID, "batch column name '%s' too long", name);
    if (width <= 0) return bmd__fail(BMD_ERR_INVALID, "batch column '%s' needs a positive width", name);
    int rows = per_atom ? b->cap_atoms : b->cap_systems;
    double *data = calloc((size_t)rows * (size_t)width, sizeof(double));
    if (!data) return bmd__fail(BMD_ERR_NOMEM, "out of memory for batch column '%s'", name);
    bmd_column *col = &b->columns[b->n_columns];
    memset(col, 0, sizeof *col);
    strcpy(col->name, name);
    col->per_atom = per_atom;
    col->width = width;
    col->data = data;
    if (index) *index = b->n_columns;
    b->n_columns++;
    return BMD_OK;
}

bmd_status bmd_batch_ragged_column(bmd_batch *b, const char *name, int *index) {
    int c = bmd_batch_find_column(b, name);
    if (c >= 0) {
        if (!b->columns[c].ragged)
            return bmd__fail(BMD_ERR_INVALID, "batch column '%s' already exists with another shape", name);
        if (index) *index = c;
        return BMD_OK;
    }
    if (b->n_columns == BMD_MAX_COLUMNS)
        return bmd__fail(BMD_ERR_BUDGET, "too many batch columns (max %d) adding '%s'", BMD_MAX_COLUMNS, name);
    if (strlen(name) >= BMD_COLUMN_NAME)
        return bmd__fail(BMD_ERR_INVALID, "batch column name '%s' too long", name);
    double **rows = calloc((size_t)b->cap_systems, sizeof *rows);
    size_t *len = calloc((size_t)b->cap_systems, sizeof *len);
    if (!rows || !len) {
        free(rows);
        free(len);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory for batch column '%s'", name);
    }
    bmd_column *col = &b->columns[b->n_columns];
    memset(col, 0, sizeof *col);
    strcpy(col->name, name);
    col->ragged = 1;
    col->rows = rows;
    col->row_len = len;
    if (index) *index = b->n_columns;
    b->n_columns++;
    return BMD_OK;
}

double *bmd_batch_ragged_row(const bmd_batch *b, int index, int slot, size_t *len) {
    const bmd_column *col = index >= 0 && index < b->n_columns ? &b->columns[index] : NULL;
    int ok = col && col->ragged && slot >= 0 && slot < b->n_systems;
    if (len) *len = ok ? col->row_len[slot] : 0;
    return ok ? col->rows[slot] : NULL;
}

bmd_status bmd_batch_ragged_resize(bmd_batch *b, int index, int slot, size_t len) {
    bmd_column *col = index >= 0 && index < b->n_columns ? &b->columns[index] : NULL;
    if (!col || !col->ragged || slot < 0 || slot >= b->n_systems)
        return bmd__fail(BMD_ERR_INVALID, "no ragged column %d or slot %d", index, slot);
    double *row = NULL;
    if (len && !(row = calloc(len, sizeof(double))))
        return bmd__fail(BMD_ERR_NOMEM, "out of memory for %zu doubles of batch column '%s'", len, col->name);
    free(col->rows[slot]);
    col->rows[slot] = row;
    col->row_len[slot] = len;
    return BMD_OK;
}

double *bmd_batch_column_data(const bmd_batch *b, int index) {
    return (index >= 0 && index < b->n_columns) ? b->columns[index].data : NULL;
}

int bmd_batch_find_column(const bmd_batch *b, const char *name) {
    for (int c = 0; c < b->n_columns; c++)
        if (strcmp(b->columns[c].name, name) == 0) return c;
    return -1;
}

bmd_status bmd_batch_param(const bmd_batch *b, int slot, const char *key, double fallback, double *out) {
    const char *v = bmd_info_get(&b->info[slot], key);
    if (!v) {
        *out = fallback;
        return BMD_OK;
    }
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    while (*end == ' ' || *end == '\t') end++;
    if (end == v || *end != '\0' || errno == ERANGE || !isfinite(x))
        return bmd__fail(BMD_ERR_PARSE, "system %lld: info key %s=\"%s\" is not a finite number",
                         (long long)b->system_id[slot], key, v);
    *out = x;
    return BMD_OK;
}

const double *bmd_batch_fixed(const bmd_batch *b, int slot) {
    int c = bmd_batch_find_column(b, BMD_FIXED_COLUMN);
    return c >= 0 && b->columns[c].per_atom && b->columns[c].width == 1 ? b->columns[c].data + b->atom_start[slot]
                                                                          : NULL;
}

int bmd_batch_n_fixed(const bmd_batch *b, int slot) {
    const double *fx = bmd_batch_fixed(b, slot);
    int k = 0;
    for (int i = 0; fx && i < b->atom_count[slot]; i++) k += fx[i] != 0;
    return k;
}

double bmd_batch_volume(const bmd_batch *b, int slot) {
    const double *c = b->cell + 9 * (size_t)slot;
    double det = c[0] * (c[4] * c[8] - c[5] * c[7]) - c[1] * (c[3] * c[8] - c[5] * c[6]) +
                 c[2] * (c[3] * c[7] - c[4] * c[6]);
    return fabs(det);
}

int bmd__batch_stress_from_virial(bmd_batch *b, int s, const double *w) {
    const unsigned char *p = b->pbc + 3 * (size_t)s;
    double v = bmd_batch_volume(b, s);
    int ok = p[0] && p[1] && p[2] && v > 0;
    for (int k = 0; k < 6 && ok; k++) ok = isfinite(w[k]);
    for (int k = 0; k < 6 && ok; k++) b->stress[6 * (size_t)s + k] = w[k] / v;
    b->stress_valid[s] = (unsigned char)ok;
    return ok;
}
