/* checkpoint_state.c — owns how a batch and a standalone system are laid
 * out in a checkpoint (checkpoint_internal.h): every array with its bits,
 * the flags, the info keys, and every column by name and shape (all of
 * them: integrator state, stage bookkeeping, hook marks; ragged ones row by
 * row with each row's length), so that the restored batch continues bit for
 * bit. */
#include "flow/checkpoint_internal.h"

#include <stdlib.h>
#include <string.h>

/* The kind word of a ragged column (0 and 1: per system, per atom). */
#define RAGGED 2u

/* Reads ragged column `name`'s rows (the kind and width words read). */
static bmd_status get_ragged(bmd__rd *r, bmd_batch *b, const char *name) {
    int index = -1;
    bmd_status rc = bmd_batch_ragged_column(b, name, &index);
    for (int s = 0; !rc && s < b->n_systems && !r->bad; s++) {
        int64_t len = bmd__rd_i64(r);
        if (len < 0 || (uint64_t)len > (uint64_t)(r->n - r->off) / sizeof(double)) {
            r->bad = 1;
            break;
        }
        const void *data = bmd__rd_ptr(r, (size_t)len * sizeof(double));
        if (data && !(rc = bmd_batch_ragged_resize(b, index, s, (size_t)len)) && len)
            memcpy(bmd_batch_ragged_row(b, index, s, NULL), data, (size_t)len * sizeof(double));
    }
    return rc;
}

static void put_info(bmd__buf *out, const bmd_info *info) {
    bmd__buf_u32(out, (uint32_t)info->n);
    for (int i = 0; i < info->n; i++) {
        bmd__buf_str(out, info->keys[i]);
        bmd__buf_str(out, info->values[i]);
    }
}

static bmd_status get_info(bmd__rd *r, bmd_info *info) {
    uint32_t n = bmd__rd_u32(r);
    bmd_status rc = BMD_OK;
    for (uint32_t i = 0; !rc && i < n && !r->bad; i++) {
        char *k = bmd__rd_str(r), *v = bmd__rd_str(r);
        if (k && v) rc = bmd_info_set(info, k, v);
        else r->bad = 1;
        free(k);
        free(v);
    }
    return rc ? rc : r->bad ? bmd__fail(BMD_ERR_PARSE, "checkpoint: malformed info") : BMD_OK;
}

void bmd__ckpt_put_batch(bmd__buf *out, const bmd_batch *b) {
    bmd__buf_u32(out, (uint32_t)b->n_systems);
    bmd__buf_u32(out, (uint32_t)b->n_atoms);
    for (int s = 0; s < b->n_systems; s++) {
        size_t a0 = (size_t)b->atom_start[s], n = (size_t)b->atom_count[s];
        bmd__buf_u32(out, (uint32_t)n);
        bmd__buf_i64(out, b->system_id[s]);
        bmd__buf_u32(out, (uint32_t)b->status[s]);
        bmd__buf_put(out, b->cell + 9 * (size_t)s, 9 * sizeof(double));
        bmd__buf_put(out, b->pbc + 3 * (size_t)s, 3);
        bmd__buf_f64(out, b->energy[s]);
        bmd__buf_put(out, b->stress + 6 * (size_t)s, 6 * sizeof(double));
        bmd__buf_put(out, b->forces_valid + s, 1);
        bmd__buf_put(out, b->stress_valid + s, 1);
        bmd__buf_put(out, b->pos + 3 * a0, 3 * n * sizeof(double));
        bmd__buf_put(out, b->vel + 3 * a0, 3 * n * sizeof(double));
        bmd__buf_put(out, b->force + 3 * a0, 3 * n * sizeof(double));
        bmd__buf_put(out, b->mass + a0, n * sizeof(double));
        bmd__buf_put(out, b->Z + a0, n * sizeof(int));
        put_info(out, &b->info[s]);
    }
    bmd__buf_u32(out, (uint32_t)b->n_columns);
    for (int c = 0; c < b->n_columns; c++) {
        const bmd_column *col = &b->columns[c];
        if (col->ragged) { /* kind 2, width 0, then per system: length, doubles */
            bmd__buf_str(out, col->name);
            bmd__buf_u32(out, RAGGED);
            bmd__buf_u32(out, 0);
            for (int s = 0; s < b->n_systems; s++) {
                bmd__buf_i64(out, (int64_t)col->row_len[s]);
                bmd__buf_put(out, col->rows[s], col->row_len[s] * sizeof(double));
            }
            continue;
        }
        size_t rows = (size_t)(col->per_atom ? b->n_atoms : b->n_systems);
        bmd__buf_str(out, col->name);
        bmd__buf_u32(out, (uint32_t)col->per_atom);
        bmd__buf_u32(out, (uint32_t)col->width);
        bmd__buf_put(out, col->data, rows * (size_t)col->width * sizeof(double));
    }
}

bmd_status bmd__ckpt_get_batch(bmd__rd *r, bmd_batch *b) {
    if (b->n_systems != 0) return bmd__fail(BMD_ERR_INVALID, "checkpoint: restoring into a batch that is not empty");
    uint32_t ns = bmd__rd_u32(r), na = bmd__rd_u32(r);
    bmd_status rc = BMD_OK;
    for (uint32_t i = 0; !rc && i < ns && !r->bad; i++) {
        uint32_t n = bmd__rd_u32(r);
        if (n == 0 || n > (uint32_t)(r->n - r->off)) {
            r->bad = 1;
            break;
        }
        bmd_system sys;
        if ((rc = bmd_system_alloc(&sys, (int)n)) || (rc = bmd_system_ensure_vel(&sys))) break;
        sys.system_id = bmd__rd_i64(r);
        int status = (int)bmd__rd_u32(r);
        bmd__rd_get(r, sys.cell, sizeof sys.cell);
        bmd__rd_get(r, sys.pbc, 3);
        double energy = bmd__rd_f64(r), stress[6];
        bmd__rd_get(r, stress, sizeof stress);
        unsigned char fv = 0, sv = 0;
        bmd__rd_get(r, &fv, 1);
        bmd__rd_get(r, &sv, 1);
        bmd__rd_get(r, sys.pos, 3 * (size_t)n * sizeof(double));
        bmd__rd_get(r, sys.vel, 3 * (size_t)n * sizeof(double));
        const void *force = bmd__rd_ptr(r, 3 * (size_t)n * sizeof(double));
        bmd__rd_get(r, sys.mass, (size_t)n * sizeof(double));
        bmd__rd_get(r, sys.Z, (size_t)n * sizeof(int));
        rc = get_info(r, &sys.info);
        int slot = -1;
        if (!rc && !r->bad) rc = bmd_batch_append(b, &sys, &slot);
        if (!rc && !r->bad) {
            memcpy(b->force + 3 * (size_t)b->atom_start[slot], force, 3 * (size_t)n * sizeof(double));
            b->status[slot] = status;
            b->energy[slot] = energy;
            memcpy(b->stress + 6 * (size_t)slot, stress, sizeof stress);
            b->forces_valid[slot] = fv;
            b->stress_valid[slot] = sv;
        }
        bmd_system_free(&sys);
    }
    if (!rc && !r->bad && (uint32_t)b->n_atoms != na) r->bad = 1;
    uint32_t nc = rc ? 0 : bmd__rd_u32(r);
    for (uint32_t c = 0; !rc && c < nc && !r->bad; c++) {
        char *name = bmd__rd_str(r);
        uint32_t kind = bmd__rd_u32(r);
        int per_atom = (int)kind, width = (int)bmd__rd_u32(r), index = -1;
        if (name && kind == RAGGED && width == 0) {
            rc = get_ragged(r, b, name);
            free(name);
            continue;
        }
        if (!name || kind > 1 || width <= 0 || width > 1 << 20) {
            free(name);
            r->bad = 1;
            break;
        }
        size_t rows = (size_t)(per_atom ? b->n_atoms : b->n_systems);
        const void *data = bmd__rd_ptr(r, rows * (size_t)width * sizeof(double));
        if (data) rc = bmd_batch_column(b, name, per_atom != 0, width, &index);
        if (data && !rc && rows) memcpy(bmd_batch_column_data(b, index), data, rows * (size_t)width * sizeof(double));
        free(name);
    }
    if (!rc && r->bad) rc = bmd__fail(BMD_ERR_PARSE, "checkpoint: malformed batch section");
    return rc;
}

void bmd__ckpt_put_system(bmd__buf *out, const bmd_system *s) {
    size_t n = (size_t)s->n_atoms;
    bmd__buf_u32(out, (uint32_t)n);
    bmd__buf_i64(out, s->system_id);
    bmd__buf_put(out, s->cell, sizeof s->cell);
    bmd__buf_put(out, s->pbc, 3);
    bmd__buf_u32(out, (uint32_t)s->has_energy);
    bmd__buf_f64(out, s->energy);
    bmd__buf_u32(out, (uint32_t)s->has_stress);
    bmd__buf_put(out, s->stress, sizeof s->stress);
    bmd__buf_put(out, s->pos, 3 * n * sizeof(double));
    bmd__buf_put(out, s->mass, n * sizeof(double));
    bmd__buf_put(out, s->Z, n * sizeof(int));
    bmd__buf_u32(out, s->vel != NULL);
    if (s->vel) bmd__buf_put(out, s->vel, 3 * n * sizeof(double));
    bmd__buf_u32(out, s->forces != NULL);
    if (s->forces) bmd__buf_put(out, s->forces, 3 * n * sizeof(double));
    bmd__buf_u32(out, s->fixed != NULL);
    if (s->fixed) bmd__buf_put(out, s->fixed, n);
    put_info(out, &s->info);
    bmd__buf_str(out, s->source);
    bmd__buf_i64(out, s->line);
}

bmd_status bmd__ckpt_get_system(bmd__rd *r, bmd_system *s) {
    uint32_t n = bmd__rd_u32(r);
    if (r->bad || n > (uint32_t)(r->n - r->off)) return bmd__fail(BMD_ERR_PARSE, "checkpoint: malformed system");
    bmd_status rc = bmd_system_alloc(s, (int)n);
    if (rc) return rc;
    s->system_id = bmd__rd_i64(r);
    bmd__rd_get(r, s->cell, sizeof s->cell);
    bmd__rd_get(r, s->pbc, 3);
    s->has_energy = (int)bmd__rd_u32(r);
    s->energy = bmd__rd_f64(r);
    s->has_stress = (int)bmd__rd_u32(r);
    bmd__rd_get(r, s->stress, sizeof s->stress);
    bmd__rd_get(r, s->pos, 3 * (size_t)n * sizeof(double));
    bmd__rd_get(r, s->mass, (size_t)n * sizeof(double));
    bmd__rd_get(r, s->Z, (size_t)n * sizeof(int));
    if (bmd__rd_u32(r) && !(rc = bmd_system_ensure_vel(s))) bmd__rd_get(r, s->vel, 3 * (size_t)n * sizeof(double));
    if (!rc && bmd__rd_u32(r) && !(rc = bmd_system_ensure_forces(s)))
        bmd__rd_get(r, s->forces, 3 * (size_t)n * sizeof(double));
    if (!rc && bmd__rd_u32(r) && !(rc = bmd_system_ensure_fixed(s))) bmd__rd_get(r, s->fixed, (size_t)n);
    if (!rc) rc = get_info(r, &s->info);
    if (!rc) s->source = bmd__rd_str(r);
    if (!rc) s->line = (long)bmd__rd_i64(r);
    if (!rc && r->bad) rc = bmd__fail(BMD_ERR_PARSE, "checkpoint: malformed system");
    if (rc) bmd_system_free(s);
    return rc;
}
