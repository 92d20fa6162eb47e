/* handover.c — owns the hand-over message format (handover.h): the
 * capacity of a buffer, packing a batch slot into it within its budgets,
 * and checking and unpacking a received message into a batch. MPI-free.
 *
 * Layout (bytes, memcpy'd, host order):
 *   header  0 u32 magic "BMDH", 4 u32 version, 8 i32 systems, 12 i32 atoms,
 *           16 u32 flags, 20 i32 columns, 24 i64 seq, 32 i64 total,
 *           40 u64 capacity, 48 i32 doubles per system, 52 i32 origin + 1
 *   table   per column: name[48] (NUL-padded), i32 width
 *   record  0 i64 system_id, 8 i32 atoms, 12 i32 status (0 | -1 failed),
 *           16 u8 forces_valid, stress_valid, pbc[3], pad[3], 24 f64 cell[9],
 *           96 f64 energy, 104 f64 stress[6], 152 i32 info bytes, 156 i32 0,
 *           160 f64 pos[3n] vel[3n] force[3n] mass[n], i32 Z[n], u8 fixed[n]
 *           (1: a fixed atom), f64 columns[doubles per system], info text
 *           ("key\0value\0"...) */
#include "flow/handover.h"

#include <stdlib.h>
#include <string.h>

#include "batchmd/dynamics.h"

#define MAGIC 0x48444D42u /* "BMDH" on a little-endian host */
#define VERSION 2u
#define HDR 56
#define COL_ENTRY (BMD_COLUMN_NAME + 4)
#define REC_FIXED 160
#define ATOM_BYTES (3 * 3 * 8 + 8 + 4 + 1)

size_t bmd_pipeline_buffer_bytes(long systems, long atoms) {
    if (systems < 1 || atoms < 1) return 0;
    size_t s = (size_t)systems, a = (size_t)atoms;
    return HDR + (size_t)BMD_HANDOVER_MAX_COLUMNS * COL_ENTRY + s * REC_FIXED + a * ATOM_BYTES +
           s * BMD_HANDOVER_COLUMN_DOUBLES * 8 + s * BMD_HANDOVER_INFO_BYTES;
}

bmd_status bmd__handover_init(bmd__handover *h, long systems, long atoms) {
    memset(h, 0, sizeof *h);
    if (systems < 1 || atoms < 1 || systems > (1L << 24) || atoms > (1L << 30))
        return bmd__fail(BMD_ERR_INVALID, "hand-over buffer of %ld systems and %ld atoms: expected 1..%ld systems and "
                         "1..%ld atoms", systems, atoms, 1L << 24, 1L << 30);
    h->cap_systems = systems;
    h->cap_atoms = atoms;
    h->capacity = bmd_pipeline_buffer_bytes(systems, atoms);
    h->buf = malloc(h->capacity);
    if (!h->buf) return bmd__fail(BMD_ERR_NOMEM, "out of memory for a hand-over buffer of %zu bytes", h->capacity);
    bmd__handover_reset(h);
    return BMD_OK;
}

void bmd__handover_free(bmd__handover *h) {
    if (!h) return;
    free(h->buf);
    memset(h, 0, sizeof *h);
}

void bmd__handover_reset(bmd__handover *h) {
    h->used = HDR;
    h->n_systems = h->n_atoms = h->n_columns = h->col_doubles = 0;
    h->info_used = 0;
}

int bmd__handover_column_travels(const char *name) {
    if (strncmp(name, "stage.", 6) == 0) return 0;
    const char *dot = strchr(name, '.');
    if (!dot || dot == name) return 1;
    const char *p = dot + 1;
    if (*p < '0' || *p > '9') return 1;
    while (*p >= '0' && *p <= '9') p++;
    return *p != '.'; /* "<type>.<index>.<what>" stays */
}

static void put(unsigned char *buf, size_t *off, const void *src, size_t n) {
    if (n) memcpy(buf + *off, src, n);
    *off += n;
}

/* Builds the column table from b (first system of a message). */
static bmd_status make_table(bmd__handover *h, const bmd_batch *b) {
    size_t off = HDR;
    h->n_columns = h->col_doubles = 0;
    for (int c = 0; c < b->n_columns; c++) {
        const bmd_column *col = &b->columns[c];
        /* (per-atom and ragged columns never travel: a sub-stage's state) */
        if (col->per_atom || col->ragged || !bmd__handover_column_travels(col->name)) continue;
        if (h->n_columns == BMD_HANDOVER_MAX_COLUMNS)
            return bmd__fail(BMD_ERR_BUDGET, "hand-over: more than %d travelling columns", BMD_HANDOVER_MAX_COLUMNS);
        if (h->col_doubles + col->width > BMD_HANDOVER_COLUMN_DOUBLES)
            return bmd__fail(BMD_ERR_BUDGET, "hand-over: the travelling columns need more than %d doubles per system",
                             BMD_HANDOVER_COLUMN_DOUBLES);
        char name[BMD_COLUMN_NAME] = {0};
        strncpy(name, col->name, BMD_COLUMN_NAME - 1);
        int32_t w = col->width;
        put(h->buf, &off, name, BMD_COLUMN_NAME);
        put(h->buf, &off, &w, 4);
        h->col_index[h->n_columns++] = c;
        h->col_doubles += col->width;
    }
    h->used = off;
    return BMD_OK;
}

static size_t info_bytes(const bmd_info *info) {
    size_t n = 0;
    for (int i = 0; i < info->n; i++) n += strlen(info->keys[i]) + strlen(info->values[i]) + 2;
    return n;
}

bmd_status bmd__handover_pack(bmd__handover *h, const bmd_batch *b, int s, int failed, int *packed) {
    *packed = 0;
    if (s < 0 || s >= b->n_systems) return bmd__fail(BMD_ERR_INVALID, "hand-over: slot %d out of range", s);
    if (h->n_systems == 0) {
        bmd_status rc = make_table(h, b);
        if (rc) return rc;
    }
    int n = b->atom_count[s];
    size_t ib = info_bytes(&b->info[s]);
    long info_cap = h->cap_systems * BMD_HANDOVER_INFO_BYTES;
    if (n > h->cap_atoms || (long)ib > info_cap)
        return bmd__fail(BMD_ERR_BUDGET,
                         "system %lld cannot be handed over: %d atoms and %zu bytes of info text, the buffer holds "
                         "%ld atoms and %ld bytes of info (batch.buffer)",
                         (long long)b->system_id[s], n, ib, h->cap_atoms, info_cap);
    size_t rec = REC_FIXED + (size_t)n * ATOM_BYTES + (size_t)h->col_doubles * 8 + ib;
    if (h->n_systems + 1 > h->cap_systems || h->n_atoms + n > h->cap_atoms || h->info_used + (long)ib > info_cap ||
        h->used + rec > h->capacity)
        return BMD_OK; /* no room now */
    unsigned char *p = h->buf;
    size_t off = h->used;
    int64_t id = b->system_id[s];
    int32_t na = n, status = failed ? BMD_STATUS_FAILED : 0, ibytes = (int32_t)ib, zero = 0;
    unsigned char flags[8] = {b->forces_valid[s], b->stress_valid[s], b->pbc[3 * s], b->pbc[3 * s + 1],
                              b->pbc[3 * s + 2], 0, 0, 0};
    put(p, &off, &id, 8);
    put(p, &off, &na, 4);
    put(p, &off, &status, 4);
    put(p, &off, flags, 8);
    put(p, &off, b->cell + 9 * (size_t)s, 72);
    put(p, &off, b->energy + s, 8);
    put(p, &off, b->stress + 6 * (size_t)s, 48);
    put(p, &off, &ibytes, 4);
    put(p, &off, &zero, 4);
    size_t a0 = (size_t)b->atom_start[s];
    put(p, &off, b->pos + 3 * a0, 24 * (size_t)n);
    put(p, &off, b->vel + 3 * a0, 24 * (size_t)n);
    put(p, &off, b->force + 3 * a0, 24 * (size_t)n);
    put(p, &off, b->mass + a0, 8 * (size_t)n);
    put(p, &off, b->Z + a0, 4 * (size_t)n);
    const double *fx = bmd_batch_fixed(b, s);
    for (int i = 0; i < n; i++) p[off + (size_t)i] = (unsigned char)(fx && fx[i] != 0);
    off += (size_t)n;
    for (int c = 0; c < h->n_columns; c++) {
        const bmd_column *col = &b->columns[h->col_index[c]];
        put(p, &off, col->data + (size_t)col->width * (size_t)s, 8 * (size_t)col->width);
    }
    const bmd_info *info = &b->info[s];
    for (int i = 0; i < info->n; i++) {
        put(p, &off, info->keys[i], strlen(info->keys[i]) + 1);
        put(p, &off, info->values[i], strlen(info->values[i]) + 1);
    }
    h->used = off;
    h->n_systems++;
    h->n_atoms += n;
    h->info_used += (long)ib;
    *packed = 1;
    return BMD_OK;
}

size_t bmd__handover_seal(bmd__handover *h, unsigned flags, int64_t seq, int64_t total, int origin) {
    size_t off = 0;
    uint32_t magic = MAGIC, version = VERSION, fl = flags;
    int32_t ns = h->n_systems, na = h->n_atoms, nc = h->n_columns, cd = h->col_doubles, org = origin + 1;
    uint64_t cap = h->capacity;
    put(h->buf, &off, &magic, 4);
    put(h->buf, &off, &version, 4);
    put(h->buf, &off, &ns, 4);
    put(h->buf, &off, &na, 4);
    put(h->buf, &off, &fl, 4);
    put(h->buf, &off, &nc, 4);
    put(h->buf, &off, &seq, 8);
    put(h->buf, &off, &total, 8);
    put(h->buf, &off, &cap, 8);
    put(h->buf, &off, &cd, 4);
    put(h->buf, &off, &org, 4);
    return h->used;
}

/* ------------------------------------------------------------ reading */

static int32_t get_i32(const unsigned char *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

bmd_status bmd__handover_open(bmd__handover_reader *r, const void *msg, size_t len, size_t capacity) {
    memset(r, 0, sizeof *r);
    const unsigned char *p = msg;
    uint32_t magic, version;
    uint64_t cap;
    if (len < HDR) return bmd__fail(BMD_ERR_PARSE, "hand-over: message of %zu bytes, shorter than its header", len);
    memcpy(&magic, p, 4);
    memcpy(&version, p + 4, 4);
    memcpy(&cap, p + 40, 8);
    if (magic != MAGIC || version != VERSION)
        return bmd__fail(BMD_ERR_PARSE, "hand-over: not a batchmd message (magic %08x, version %u)", magic, version);
    if (cap != capacity)
        return bmd__fail(BMD_ERR_PARSE, "hand-over: the sender's buffer has %llu bytes, this rank's %zu (batch.buffer "
                         "differs)", (unsigned long long)cap, capacity);
    r->msg = p;
    r->len = len;
    r->n_systems = get_i32(p + 8);
    r->n_atoms = get_i32(p + 12);
    memcpy(&r->flags, p + 16, 4);
    r->n_columns = get_i32(p + 20);
    memcpy(&r->seq, p + 24, 8);
    memcpy(&r->total, p + 32, 8);
    r->col_doubles = get_i32(p + 48);
    r->origin = get_i32(p + 52) - 1;
    if (r->n_systems < 0 || r->n_atoms < 0 || r->n_columns < 0 || r->n_columns > BMD_HANDOVER_MAX_COLUMNS ||
        r->col_doubles < 0 || r->col_doubles > BMD_HANDOVER_COLUMN_DOUBLES)
        return bmd__fail(BMD_ERR_PARSE, "hand-over: malformed header");
    size_t off = HDR + (size_t)r->n_columns * COL_ENTRY;
    if (off > len) return bmd__fail(BMD_ERR_PARSE, "hand-over: truncated column table");
    int width_sum = 0;
    for (int c = 0; c < r->n_columns; c++) {
        const unsigned char *e = p + HDR + (size_t)c * COL_ENTRY;
        int32_t w = get_i32(e + BMD_COLUMN_NAME);
        if (w < 1 || memchr(e, 0, BMD_COLUMN_NAME) == NULL || e[0] == 0)
            return bmd__fail(BMD_ERR_PARSE, "hand-over: malformed column table");
        width_sum += w;
    }
    if (width_sum != r->col_doubles) return bmd__fail(BMD_ERR_PARSE, "hand-over: column widths do not add up");
    r->table = p + HDR;
    r->off = off;
    long atoms = 0;
    for (int s = 0; s < r->n_systems; s++) { /* every record within bounds */
        if (off + REC_FIXED > len) return bmd__fail(BMD_ERR_PARSE, "hand-over: truncated record %d", s);
        int32_t n = get_i32(p + off + 8), ib = get_i32(p + off + 152), st = get_i32(p + off + 12);
        if (n < 1 || ib < 0 || (st != 0 && st != BMD_STATUS_FAILED))
            return bmd__fail(BMD_ERR_PARSE, "hand-over: malformed record %d", s);
        size_t rec = REC_FIXED + (size_t)n * ATOM_BYTES + (size_t)r->col_doubles * 8 + (size_t)ib;
        if (off + rec > len) return bmd__fail(BMD_ERR_PARSE, "hand-over: truncated record %d", s);
        if (ib > 0 && p[off + rec - 1] != 0) return bmd__fail(BMD_ERR_PARSE, "hand-over: malformed info in record %d", s);
        atoms += n;
        off += rec;
    }
    if (off != len || atoms != r->n_atoms) return bmd__fail(BMD_ERR_PARSE, "hand-over: message length mismatch");
    return BMD_OK;
}

int bmd__handover_peek(const bmd__handover_reader *r, int *failed) {
    if (r->next >= r->n_systems) return -1;
    if (failed) *failed = get_i32(r->msg + r->off + 12) == BMD_STATUS_FAILED;
    return get_i32(r->msg + r->off + 8);
}

static bmd_status read_info(const unsigned char *p, size_t n, bmd_info *info) {
    size_t i = 0;
    while (i < n) {
        const char *key = (const char *)p + i;
        size_t kl = strnlen(key, n - i);
        if (i + kl + 1 >= n) return bmd__fail(BMD_ERR_PARSE, "hand-over: malformed info text");
        const char *val = key + kl + 1;
        size_t vl = strnlen(val, n - i - kl - 1);
        if (i + kl + 1 + vl >= n) return bmd__fail(BMD_ERR_PARSE, "hand-over: malformed info text");
        bmd_status rc = bmd_info_set(info, key, val);
        if (rc) return rc;
        i += kl + vl + 2;
    }
    return BMD_OK;
}

bmd_status bmd__handover_unpack(bmd__handover_reader *r, bmd_batch *b, int *slot) {
    if (r->next >= r->n_systems) return bmd__fail(BMD_ERR_INVALID, "hand-over: no record left");
    const unsigned char *p = r->msg + r->off;
    int32_t n = get_i32(p + 8), status = get_i32(p + 12), ib = get_i32(p + 152);
    bmd_system sys;
    bmd_status rc = bmd_system_alloc(&sys, n);
    if (!rc) rc = bmd_system_ensure_vel(&sys);
    const unsigned char *a = p + REC_FIXED;
    const unsigned char *cols = a + (size_t)n * ATOM_BYTES, *info = cols + (size_t)r->col_doubles * 8;
    if (!rc) {
        memcpy(&sys.system_id, p, 8);
        memcpy(sys.pbc, p + 18, 3);
        memcpy(sys.cell, p + 24, 72);
        memcpy(sys.pos, a, 24 * (size_t)n);
        memcpy(sys.vel, a + 24 * (size_t)n, 24 * (size_t)n);
        memcpy(sys.mass, a + 72 * (size_t)n, 8 * (size_t)n);
        memcpy(sys.Z, a + 80 * (size_t)n, 4 * (size_t)n);
        const unsigned char *fx = a + 84 * (size_t)n;
        int any = 0;
        for (int i = 0; i < n; i++) any |= fx[i] != 0;
        if (any && !(rc = bmd_system_ensure_fixed(&sys)))
            for (int i = 0; i < n; i++) sys.fixed[i] = fx[i] != 0;
        if (!rc) rc = read_info(info, (size_t)ib, &sys.info);
    }
    int s = -1;
    if (!rc) rc = bmd_batch_append(b, &sys, &s);
    bmd_system_free(&sys);
    if (rc) return rc;
    memcpy(b->force + 3 * (size_t)b->atom_start[s], a + 48 * (size_t)n, 24 * (size_t)n);
    b->forces_valid[s] = p[16];
    b->stress_valid[s] = p[17];
    memcpy(b->energy + s, p + 96, 8);
    memcpy(b->stress + 6 * (size_t)s, p + 104, 48);
    b->status[s] = status;
    size_t coff = 0;
    for (int c = 0; c < r->n_columns; c++) {
        const unsigned char *e = r->table + (size_t)c * COL_ENTRY;
        int32_t w = get_i32(e + BMD_COLUMN_NAME);
        int idx = -1;
        if ((rc = bmd_batch_column(b, (const char *)e, 0, w, &idx))) return rc;
        memcpy(b->columns[idx].data + (size_t)w * (size_t)s, cols + coff, 8 * (size_t)w);
        coff += 8 * (size_t)w;
    }
    r->off += REC_FIXED + (size_t)n * ATOM_BYTES + (size_t)r->col_doubles * 8 + (size_t)ib;
    r->next++;
    if (slot) *slot = s;
    return BMD_OK;
}
