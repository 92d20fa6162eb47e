/* checkpoint.c — owns the checkpoint object and its file (checkpoint.h):
 * the identity (version, campaign hash, input files), the byte buffer and
 * reader every part of the state is written with, atomic writing
 * (FILE.tmp, fsync, rename, fsync of the folder), and reading back with
 * every check (magic, format, checksum, identity) before anything is used.
 * What goes into the sections is the runner's business (runner.c,
 * checkpoint_state.c). */
#include "flow/checkpoint_internal.h"
#include "core/paths.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batchmd/batchmd.h"
#include "flow/flow_internal.h"

static const char MAGIC[8] = {'B', 'M', 'D', 'C', 'K', 'P', 'T', '\0'};
static const char END[8] = {'B', 'M', 'D', 'C', 'K', 'E', 'N', 'D'};

/* ------------------------------------------------------------ buffers */

void bmd__buf_put(bmd__buf *b, const void *data, size_t n) {
    if (b->oom) return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n) cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, data, n);
    b->n += n;
}
void bmd__buf_u32(bmd__buf *b, uint32_t v) { bmd__buf_put(b, &v, sizeof v); }
void bmd__buf_u64(bmd__buf *b, uint64_t v) { bmd__buf_put(b, &v, sizeof v); }
void bmd__buf_i64(bmd__buf *b, int64_t v) { bmd__buf_put(b, &v, sizeof v); }
void bmd__buf_f64(bmd__buf *b, double v) { bmd__buf_put(b, &v, sizeof v); }
void bmd__buf_str(bmd__buf *b, const char *s) {
    if (!s) {
        bmd__buf_u32(b, 0xffffffffu);
        return;
    }
    size_t n = strlen(s);
    bmd__buf_u32(b, (uint32_t)n);
    bmd__buf_put(b, s, n);
}
void bmd__buf_free(bmd__buf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}
void bmd__buf_section(bmd__buf *out, const char *name, const void *data, size_t n) {
    bmd__buf_str(out, name);
    bmd__buf_u64(out, (uint64_t)n);
    bmd__buf_put(out, data, n);
}

const void *bmd__rd_ptr(bmd__rd *r, size_t n) {
    if (r->bad || n > r->n - r->off) {
        r->bad = 1;
        return NULL;
    }
    const void *p = r->p + r->off;
    r->off += n;
    return p;
}
void bmd__rd_get(bmd__rd *r, void *out, size_t n) {
    const void *p = bmd__rd_ptr(r, n);
    if (p) memcpy(out, p, n);
    else memset(out, 0, n);
}
uint32_t bmd__rd_u32(bmd__rd *r) {
    uint32_t v;
    bmd__rd_get(r, &v, sizeof v);
    return v;
}
uint64_t bmd__rd_u64(bmd__rd *r) {
    uint64_t v;
    bmd__rd_get(r, &v, sizeof v);
    return v;
}
int64_t bmd__rd_i64(bmd__rd *r) {
    int64_t v;
    bmd__rd_get(r, &v, sizeof v);
    return v;
}
double bmd__rd_f64(bmd__rd *r) {
    double v;
    bmd__rd_get(r, &v, sizeof v);
    return v;
}
char *bmd__rd_str(bmd__rd *r) {
    uint32_t n = bmd__rd_u32(r);
    if (r->bad || n == 0xffffffffu) return NULL;
    const char *p = bmd__rd_ptr(r, n);
    char *s = p ? malloc((size_t)n + 1) : NULL;
    if (!s) {
        r->bad = 1;
        return NULL;
    }
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

uint64_t bmd__fnv(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* ------------------------------------------------------- the object */

typedef struct input_id {
    char *path;
    uint64_t size, hash;
} input_id;

struct bmd_checkpoint {
    char *path, *tmp;
    char *base;          /* the path it was created with (a pipeline rank writes other files) */
    uint32_t rank, ranks; /* 0 and 1, or a pipeline rank's (bmd__ckpt_set_rank) */
    double every_s, last;
    uint64_t campaign_hash;
    int n_inputs;
    input_id *inputs;
    int n_streams;
    bmd__ckpt_stream streams[16];
    /* loaded */
    int loaded;
    unsigned char *body; /* the sections of the loaded file */
    size_t body_n;
    uint32_t n_sections;
    long written;
    int stopped;
    void (*test_cb)(void *user, long index);
    void *test_user;
};

/* Size and FNV-1a of a file's bytes. */
static bmd_status hash_file(const char *path, uint64_t *size, uint64_t *hash) {
    FILE *f = fopen(path, "rb");
    if (!f) return bmd__fail(BMD_ERR_IO, "%s: cannot read (%s)", path, strerror(errno));
    unsigned char buf[1 << 16];
    uint64_t h = BMD__FNV_START, n = 0;
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0) {
        h = bmd__fnv(h, buf, k);
        n += k;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) return bmd__fail(BMD_ERR_IO, "%s: read error", path);
    *size = n;
    *hash = h;
    return BMD_OK;
}

static char *dup_str(const char *s) {
    char *p = malloc(strlen(s) + 1);
    if (p) strcpy(p, s);
    return p;
}

void bmd_checkpoint_destroy(bmd_checkpoint *ck) {
    if (!ck) return;
    free(ck->path);
    free(ck->tmp);
    free(ck->base);
    for (int i = 0; i < ck->n_inputs; i++) free(ck->inputs[i].path);
    free(ck->inputs);
    for (int i = 0; i < ck->n_streams; i++) free(ck->streams[i].name);
    free(ck->body);
    free(ck);
}

bmd_status bmd_checkpoint_create(const char *path, double every_s, const char *campaign_path,
                                 const char *const *inputs, int n_inputs, bmd_checkpoint **out) {
    if (!path || !*path || !out || n_inputs < 0 || (n_inputs > 0 && !inputs))
        return bmd__fail(BMD_ERR_INVALID, "bmd_checkpoint_create: missing path or inputs");
    bmd_checkpoint *ck = calloc(1, sizeof *ck);
    if (!ck) return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    ck->path = dup_str(path);
    ck->base = dup_str(path);
    ck->ranks = 1;
    ck->tmp = malloc(strlen(path) + 5);
    ck->inputs = calloc((size_t)(n_inputs > 0 ? n_inputs : 1), sizeof *ck->inputs);
    if (!ck->path || !ck->base || !ck->tmp || !ck->inputs) {
        bmd_checkpoint_destroy(ck);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    }
    sprintf(ck->tmp, "%s.tmp", path);
    ck->every_s = every_s;
    bmd_status rc = BMD_OK;
    uint64_t size = 0;
    ck->campaign_hash = BMD__FNV_START;
    if (campaign_path) rc = hash_file(campaign_path, &size, &ck->campaign_hash);
    for (int i = 0; !rc && i < n_inputs; i++) {
        if (!(ck->inputs[i].path = dup_str(inputs[i]))) rc = bmd__fail(BMD_ERR_NOMEM, "out of memory");
        else rc = hash_file(inputs[i], &ck->inputs[i].size, &ck->inputs[i].hash);
        ck->n_inputs = i + 1;
    }
    if (rc) {
        bmd_checkpoint_destroy(ck);
        return rc;
    }
    *out = ck;
    return BMD_OK;
}

bmd_status bmd_checkpoint_add_stream(bmd_checkpoint *ck, const char *name, bmd_checkpoint_commit_fn commit,
                                     bmd_checkpoint_rewind_fn rewind, void *self) {
    if (!ck || !name || !*name || !commit || !rewind)
        return bmd__fail(BMD_ERR_INVALID, "bmd_checkpoint_add_stream: missing name or operations");
    if (!strcmp(name, "final") || !strcmp(name, "failed"))
        return bmd__fail(BMD_ERR_INVALID, "checkpoint stream name '%s' is the runner's own", name);
    for (int i = 0; i < ck->n_streams; i++)
        if (!strcmp(ck->streams[i].name, name))
            return bmd__fail(BMD_ERR_INVALID, "checkpoint stream '%s' added twice", name);
    if (ck->n_streams == (int)(sizeof ck->streams / sizeof ck->streams[0]))
        return bmd__fail(BMD_ERR_BUDGET, "too many checkpoint streams");
    bmd__ckpt_stream *s = &ck->streams[ck->n_streams];
    if (!(s->name = dup_str(name))) return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    s->commit = commit;
    s->rewind = rewind;
    s->self = self;
    ck->n_streams++;
    return BMD_OK;
}

static bmd_status sink_commit(void *self, void **state, size_t *n) {
    bmd_sink *s = self;
    return s->ops->commit(s->self, state, n);
}
static bmd_status sink_rewind(void *self, const void *state, size_t n) {
    bmd_sink *s = self;
    return s->ops->rewind(s->self, state, n);
}

bmd_status bmd_checkpoint_add_sink(bmd_checkpoint *ck, const char *name, bmd_sink *s) {
    if (!s || !s->ops->commit || !s->ops->rewind)
        return bmd__fail(BMD_ERR_UNSUPPORTED, "output '%s' (a %s sink) cannot be checkpointed", name ? name : "?",
                         s ? s->ops->type : "missing");
    return bmd_checkpoint_add_stream(ck, name, sink_commit, sink_rewind, s);
}

int bmd_checkpoint_loaded(const bmd_checkpoint *ck) { return ck && ck->loaded; }
long bmd_checkpoint_written(const bmd_checkpoint *ck) { return ck ? ck->written : 0; }
int bmd_checkpoint_stopped(const bmd_checkpoint *ck) { return ck && ck->stopped; }
const char *bmd_checkpoint_path(const bmd_checkpoint *ck) { return ck ? ck->path : NULL; }
void bmd_checkpoint_set_test_hook(bmd_checkpoint *ck, void (*cb)(void *user, long index), void *user) {
    ck->test_cb = cb;
    ck->test_user = user;
}

int bmd__ckpt_n_streams(const bmd_checkpoint *ck) { return ck->n_streams; }
const bmd__ckpt_stream *bmd__ckpt_stream_at(const bmd_checkpoint *ck, int i) { return &ck->streams[i]; }
void bmd__ckpt_start(bmd_checkpoint *ck) { ck->last = bmd__now(); }
int bmd__ckpt_due(const bmd_checkpoint *ck) { return ck->every_s >= 0 && bmd__now() - ck->last >= ck->every_s; }
void bmd__ckpt_set_stopped(bmd_checkpoint *ck, int stopped) { ck->stopped = stopped; }
const char *bmd__ckpt_base(const bmd_checkpoint *ck) { return ck->base; }
void bmd__ckpt_set_rank(bmd_checkpoint *ck, int rank, int ranks) {
    ck->rank = (uint32_t)rank;
    ck->ranks = (uint32_t)ranks;
}
bmd_status bmd__ckpt_use_file(bmd_checkpoint *ck, const char *path) {
    char *p = dup_str(path), *t = malloc(strlen(path) + 5);
    if (!p || !t) {
        free(p);
        free(t);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    }
    sprintf(t, "%s.tmp", path);
    free(ck->path);
    free(ck->tmp);
    ck->path = p;
    ck->tmp = t;
    return BMD_OK;
}
void bmd__ckpt_unload(bmd_checkpoint *ck) {
    free(ck->body);
    ck->body = NULL;
    ck->body_n = 0;
    ck->n_sections = 0;
    ck->loaded = 0;
}

/* --------------------------------------------------------- writing */

static void put_header(bmd__buf *b, const bmd_checkpoint *ck) {
    bmd__buf_put(b, MAGIC, sizeof MAGIC);
    bmd__buf_u32(b, BMD_CHECKPOINT_FORMAT);
    bmd__buf_str(b, bmd_version());
    bmd__buf_u64(b, ck->campaign_hash);
    bmd__buf_u32(b, ck->rank);
    bmd__buf_u32(b, ck->ranks);
    bmd__buf_u32(b, (uint32_t)ck->n_inputs);
    for (int i = 0; i < ck->n_inputs; i++) {
        bmd__buf_str(b, ck->inputs[i].path);
        bmd__buf_u64(b, ck->inputs[i].size);
        bmd__buf_u64(b, ck->inputs[i].hash);
    }
}

static int write_all(int fd, const unsigned char *p, size_t n) {
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* fsync of the folder holding path, so that a rename in it is durable. */
static void sync_dir(const char *path) {
    char *dir = dup_str(path);
    if (!dir) return;
    char *slash = strrchr(dir, '/');
    if (slash == dir) slash[1] = '\0';
    else if (slash) *slash = '\0';
    else strcpy(dir, ".");
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

bmd_status bmd__ckpt_write(bmd_checkpoint *ck, const bmd__buf *sections, uint32_t n_sections) {
    bmd__buf b = {0};
    put_header(&b, ck);
    bmd__buf_u32(&b, n_sections);
    bmd__buf_put(&b, sections->p, sections->n);
    uint64_t h = bmd__fnv(BMD__FNV_START, b.p, b.n);
    bmd__buf_u64(&b, h);
    bmd__buf_put(&b, END, sizeof END);
    if (b.oom || sections->oom) {
        bmd__buf_free(&b);
        return bmd__fail(BMD_ERR_NOMEM, "%s: out of memory writing the checkpoint", ck->path);
    }
    bmd__make_parents(ck->tmp);
    int fd = open(ck->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    bmd_status rc = BMD_OK;
    long index = ck->written + 1;
    if (fd < 0) {
        rc = bmd__fail(BMD_ERR_IO, "%s: cannot create (%s)", ck->tmp, strerror(errno));
    } else {
        size_t half = ck->test_cb ? b.n / 2 : b.n;
        int bad = write_all(fd, b.p, half);
        if (!bad && ck->test_cb) {
            fsync(fd);
            ck->test_cb(ck->test_user, index); /* may not return (tests kill the process here) */
            bad = write_all(fd, b.p + half, b.n - half);
        }
        if (!bad) bad = fsync(fd) != 0;
        bad = close(fd) != 0 || bad;
        if (bad) rc = bmd__fail(BMD_ERR_IO, "%s: write failed (%s)", ck->tmp, strerror(errno));
        else if (rename(ck->tmp, ck->path) != 0)
            rc = bmd__fail(BMD_ERR_IO, "%s: cannot rename to %s (%s)", ck->tmp, ck->path, strerror(errno));
        else sync_dir(ck->path);
    }
    bmd__buf_free(&b);
    if (!rc) {
        ck->written = index;
        ck->last = bmd__now();
    }
    return rc;
}

bmd_status bmd_checkpoint_remove(bmd_checkpoint *ck) {
    if (unlink(ck->path) != 0 && errno != ENOENT)
        return bmd__fail(BMD_ERR_IO, "%s: cannot remove the old checkpoint (%s)", ck->path, strerror(errno));
    unlink(ck->tmp);
    sync_dir(ck->path);
    return BMD_OK;
}

/* --------------------------------------------------------- reading */

static bmd_status corrupt(const bmd_checkpoint *ck, const char *why) {
    return bmd__fail(BMD_ERR_PARSE,
                     "%s: not a usable checkpoint (%s); delete it to start the campaign again from the beginning",
                     ck->path, why);
}

/* Compares the file's identity with ours. */
static bmd_status check_identity(const bmd_checkpoint *ck, bmd__rd *r) {
    char *version = bmd__rd_str(r);
    uint64_t campaign = bmd__rd_u64(r);
    uint32_t rank = bmd__rd_u32(r), ranks = bmd__rd_u32(r), n = bmd__rd_u32(r);
    bmd_status rc = BMD_OK;
    if (r->bad) rc = corrupt(ck, "truncated header");
    else if (strcmp(version ? version : "", bmd_version()) != 0)
        rc = bmd__fail(BMD_ERR_INVALID, "%s: the checkpoint was written by batchmd %s, this is batchmd %s: resume it "
                                        "with that version, or delete it to start again",
                       ck->path, version ? version : "?", bmd_version());
    else if (campaign != ck->campaign_hash)
        rc = bmd__fail(BMD_ERR_INVALID, "%s: the campaign file differs from the one the checkpoint was written for "
                                        "(it was edited since): restore it, or delete the checkpoint to start again",
                       ck->path);
    else if (rank != ck->rank || ranks != ck->ranks)
        rc = bmd__fail(BMD_ERR_INVALID, "%s: the checkpoint is rank %u of a %u-rank run, this is rank %u of %u: resume "
                                        "with %u rank%s, or delete the checkpoints to start again",
                       ck->path, rank, ranks, ck->rank, ck->ranks, ranks, ranks == 1 ? "" : "s");
    else if ((int)n != ck->n_inputs)
        rc = bmd__fail(BMD_ERR_INVALID, "%s: the checkpoint was written for %u input files, the campaign has %d now",
                       ck->path, n, ck->n_inputs);
    free(version);
    for (uint32_t i = 0; !rc && i < n; i++) {
        char *path = bmd__rd_str(r);
        uint64_t size = bmd__rd_u64(r), hash = bmd__rd_u64(r);
        const input_id *in = &ck->inputs[i];
        /* inputs are known by their content and order: a campaign folder moved
         * or run from elsewhere (other path strings) is still the same */
        if (r->bad) rc = corrupt(ck, "truncated header");
        else if (size != in->size || hash != in->hash)
            rc = bmd__fail(BMD_ERR_INVALID, "%s: input %s changed since the checkpoint was written (%s%s%s): restore "
                                            "it, or delete the checkpoint to start again",
                           ck->path, in->path, size != in->size ? "other size" : "other content",
                           strcmp(path ? path : "", in->path) ? "; it was " : "",
                           strcmp(path ? path : "", in->path) ? (path ? path : "?") : "");
        free(path);
    }
    return rc;
}

bmd_status bmd_checkpoint_load(bmd_checkpoint *ck, int *found) {
    *found = 0;
    bmd__ckpt_unload(ck);
    FILE *f = fopen(ck->path, "rb");
    if (!f) {
        if (errno == ENOENT) return BMD_OK;
        return bmd__fail(BMD_ERR_IO, "%s: cannot read the checkpoint (%s)", ck->path, strerror(errno));
    }
    bmd__buf b = {0};
    unsigned char chunk[1 << 16];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) bmd__buf_put(&b, chunk, k);
    int bad = ferror(f);
    fclose(f);
    bmd_status rc = BMD_OK;
    if (bad) rc = bmd__fail(BMD_ERR_IO, "%s: read error", ck->path);
    else if (b.oom) rc = bmd__fail(BMD_ERR_NOMEM, "%s: out of memory reading the checkpoint", ck->path);
    else if (b.n < sizeof MAGIC || memcmp(b.p, MAGIC, sizeof MAGIC) != 0) rc = corrupt(ck, "no checkpoint header");
    else if (b.n < sizeof MAGIC + 4 + 8 + sizeof END || memcmp(b.p + b.n - sizeof END, END, sizeof END) != 0)
        rc = corrupt(ck, "truncated");
    bmd__rd r = {b.p, b.n, sizeof MAGIC, 0};
    if (!rc) {
        uint32_t format = bmd__rd_u32(&r);
        if (format != BMD_CHECKPOINT_FORMAT)
            rc = bmd__fail(BMD_ERR_INVALID, "%s: checkpoint format %u, this batchmd reads format %d", ck->path, format,
                           BMD_CHECKPOINT_FORMAT);
    }
    if (!rc) {
        size_t body_end = b.n - sizeof END - 8;
        uint64_t h;
        memcpy(&h, b.p + body_end, 8);
        if (bmd__fnv(BMD__FNV_START, b.p, body_end) != h) rc = corrupt(ck, "checksum mismatch");
        r.n = body_end;
    }
    if (!rc) rc = check_identity(ck, &r);
    if (!rc) {
        ck->n_sections = bmd__rd_u32(&r);
        size_t start = r.off;
        for (uint32_t i = 0; i < ck->n_sections && !r.bad; i++) {
            free(bmd__rd_str(&r));
            uint64_t n = bmd__rd_u64(&r);
            bmd__rd_ptr(&r, (size_t)n);
        }
        if (r.bad || r.off != r.n) rc = corrupt(ck, "malformed sections");
        else if (!(ck->body = malloc(r.n - start + 1))) rc = bmd__fail(BMD_ERR_NOMEM, "out of memory");
        else {
            memcpy(ck->body, b.p + start, r.n - start);
            ck->body_n = r.n - start;
        }
    }
    bmd__buf_free(&b);
    if (rc) return rc;
    ck->loaded = 1;
    *found = 1;
    return BMD_OK;
}

const void *bmd__ckpt_section(const bmd_checkpoint *ck, const char *name, size_t *n) {
    if (!ck || !ck->loaded) return NULL;
    bmd__rd r = {ck->body, ck->body_n, 0, 0};
    for (uint32_t i = 0; i < ck->n_sections && !r.bad; i++) {
        char *s = bmd__rd_str(&r);
        uint64_t len = bmd__rd_u64(&r);
        const void *p = bmd__rd_ptr(&r, (size_t)len);
        int hit = s && p && !strcmp(s, name);
        free(s);
        if (hit) {
            *n = (size_t)len;
            return p;
        }
    }
    return NULL;
}
