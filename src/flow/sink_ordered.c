/* sink_ordered.c — owns the input-order sink: a wrapper that passes systems
 * on by increasing system_id. Early arrivals are deep-copied into a min-heap
 * keyed by system_id (so are skipped ids, without a system) and released as
 * soon as the run of ids from the next expected one is contiguous. Memory is
 * not bounded: at worst it holds every system but the slowest one. A
 * checkpoint keeps the held systems (and the inner sink's state). */
#include "batchmd/flow.h"

#include "flow/checkpoint_internal.h"

#include <stdlib.h>

typedef struct held {
    int64_t id;
    bmd_system *sys; /* NULL: a skipped id */
} held;

typedef struct ordered_sink {
    bmd_sink *inner;
    int own;
    int64_t next; /* the id to pass on next */
    long n, cap;  /* heap of held entries, smallest id first */
    held *heap;
    long n_systems; /* entries with a system */
} ordered_sink;

static void sift_up(held *h, long i) {
    while (i > 0) {
        long p = (i - 1) / 2;
        if (h[p].id <= h[i].id) break;
        held t = h[p];
        h[p] = h[i];
        h[i] = t;
        i = p;
    }
}

static void sift_down(held *h, long n, long i) {
    for (;;) {
        long l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && h[l].id < h[m].id) m = l;
        if (r < n && h[r].id < h[m].id) m = r;
        if (m == i) return;
        held t = h[m];
        h[m] = h[i];
        h[i] = t;
        i = m;
    }
}

static bmd_status push(ordered_sink *o, int64_t id, bmd_system *sys) {
    if (o->n == o->cap) {
        long cap = o->cap ? 2 * o->cap : 64;
        held *p = realloc(o->heap, (size_t)cap * sizeof *p);
        if (!p) return bmd__fail(BMD_ERR_NOMEM, "ordered sink: out of memory holding %ld systems", o->n);
        o->heap = p;
        o->cap = cap;
    }
    o->heap[o->n] = (held){id, sys};
    sift_up(o->heap, o->n++);
    if (sys) o->n_systems++;
    return BMD_OK;
}

static held pop(ordered_sink *o) {
    held top = o->heap[0];
    o->heap[0] = o->heap[--o->n];
    sift_down(o->heap, o->n, 0);
    if (top.sys) o->n_systems--;
    return top;
}

static void free_held(held h) {
    if (!h.sys) return;
    bmd_system_free(h.sys);
    free(h.sys);
}

/* Passes one held entry on (a system is written; a skip just counts). */
static bmd_status release_one(ordered_sink *o, held h) {
    bmd_status st = h.sys ? bmd_sink_write(o->inner, h.sys) : BMD_OK;
    free_held(h);
    o->next = h.id + 1;
    return st;
}

/* Releases the contiguous run of held ids starting at next. */
static bmd_status release(ordered_sink *o) {
    while (o->n > 0 && o->heap[0].id <= o->next) {
        held h = pop(o);
        if (h.id < o->next) {
            free_held(h);
            return bmd__fail(BMD_ERR_INVALID, "ordered sink: system_id %lld arrived twice", (long long)h.id);
        }
        bmd_status st = release_one(o, h);
        if (st) return st;
    }
    return BMD_OK;
}

static bmd_status ord_write(void *self, const bmd_system *sys) {
    ordered_sink *o = self;
    int64_t id = sys->system_id;
    if (id < 0) return bmd_sink_write(o->inner, sys);
    if (id < o->next)
        return bmd__fail(BMD_ERR_INVALID, "ordered sink: system_id %lld arrived twice", (long long)id);
    if (id == o->next) {
        bmd_status st = bmd_sink_write(o->inner, sys);
        if (st) return st;
        o->next = id + 1;
        return release(o);
    }
    bmd_system *copy = malloc(sizeof *copy);
    if (!copy) return bmd__fail(BMD_ERR_NOMEM, "ordered sink: out of memory");
    bmd_status st = bmd_system_copy(copy, sys);
    if (!st) st = push(o, id, copy);
    if (st) {
        bmd_system_free(copy);
        free(copy);
    }
    return st;
}

static bmd_status ord_skip(void *self, int64_t id) {
    ordered_sink *o = self;
    if (id < 0) return BMD_OK;
    if (id < o->next)
        return bmd__fail(BMD_ERR_INVALID, "ordered sink: system_id %lld skipped after it was passed on",
                         (long long)id);
    if (id > o->next) return push(o, id, NULL);
    o->next = id + 1;
    return release(o);
}

static int ord_full(void *self) { return bmd_sink_full(((ordered_sink *)self)->inner); }

/* Releases everything held, gaps notwithstanding, then closes inner if owned. */
static bmd_status ord_close(void *self) {
    ordered_sink *o = self;
    bmd_status first = BMD_OK;
    while (o->n > 0) {
        held h = pop(o);
        bmd_status st;
        if (h.id < o->next) {
            free_held(h);
            st = bmd__fail(BMD_ERR_INVALID, "ordered sink: system_id %lld arrived twice", (long long)h.id);
        } else {
            st = release_one(o, h);
        }
        if (st && !first) first = st;
    }
    if (o->own && o->inner->ops->close) {
        bmd_status st = o->inner->ops->close(o->inner->self);
        if (st && !first) first = st;
    }
    return first;
}

static void ord_destroy(void *self) {
    ordered_sink *o = self;
    while (o->n > 0) free_held(pop(o));
    free(o->heap);
    if (o->own) {
        if (o->inner->ops->destroy) o->inner->ops->destroy(o->inner->self);
        free(o->inner);
    }
    free(o);
}

/* Checkpoints: the next id, every held entry (id, and its system if any),
 * then the inner sink's own state. Rewind replaces what is held. */
static bmd_status ord_commit(void *self, void **state, size_t *n) {
    ordered_sink *o = self;
    if (!o->inner->ops->commit)
        return bmd__fail(BMD_ERR_UNSUPPORTED, "a %s sink cannot be checkpointed", o->inner->ops->type);
    void *inner = NULL;
    size_t k = 0;
    bmd_status rc = o->inner->ops->commit(o->inner->self, &inner, &k);
    if (rc) return rc;
    bmd__buf out = {0};
    bmd__buf_i64(&out, o->next);
    bmd__buf_u64(&out, (uint64_t)o->n);
    for (long i = 0; i < o->n; i++) {
        bmd__buf_i64(&out, o->heap[i].id);
        bmd__buf_u32(&out, o->heap[i].sys != NULL);
        if (o->heap[i].sys) bmd__ckpt_put_system(&out, o->heap[i].sys);
    }
    bmd__buf_u64(&out, (uint64_t)k);
    bmd__buf_put(&out, inner, k);
    free(inner);
    if (out.oom) {
        bmd__buf_free(&out);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    }
    *state = out.p;
    *n = out.n;
    return BMD_OK;
}

static bmd_status ord_rewind(void *self, const void *state, size_t n) {
    ordered_sink *o = self;
    bmd__rd r = {state, n, 0, 0};
    while (o->n > 0) free_held(pop(o));
    o->next = bmd__rd_i64(&r);
    uint64_t count = bmd__rd_u64(&r);
    bmd_status rc = BMD_OK;
    for (uint64_t i = 0; !rc && i < count && !r.bad; i++) {
        int64_t id = bmd__rd_i64(&r);
        bmd_system *sys = NULL;
        if (bmd__rd_u32(&r)) {
            if (!(sys = calloc(1, sizeof *sys))) rc = bmd__fail(BMD_ERR_NOMEM, "out of memory");
            else if ((rc = bmd__ckpt_get_system(&r, sys))) {
                free(sys);
                sys = NULL;
            }
        }
        if (!rc && (rc = push(o, id, sys)) && sys) {
            bmd_system_free(sys);
            free(sys);
        }
    }
    uint64_t k = rc ? 0 : bmd__rd_u64(&r);
    const void *inner = rc ? NULL : bmd__rd_ptr(&r, (size_t)k);
    if (!rc && (r.bad || !o->inner->ops->rewind)) rc = bmd__fail(BMD_ERR_PARSE, "ordered sink: malformed checkpoint state");
    if (!rc) rc = o->inner->ops->rewind(o->inner->self, inner, (size_t)k);
    return rc;
}

static const bmd_sink_ops ord_ops = {.commit = ord_commit,
                                     .rewind = ord_rewind,
                                     .type = "ordered",
                                     .write = ord_write,
                                     .close = ord_close,
                                     .destroy = ord_destroy,
                                     .full = ord_full,
                                     .skip = ord_skip};

bmd_status bmd_sink_ordered_create(bmd_sink *inner, int own, bmd_sink **out) {
    if (!inner) return bmd__fail(BMD_ERR_INVALID, "ordered sink: no inner sink");
    ordered_sink *o = calloc(1, sizeof *o);
    bmd_sink *k = calloc(1, sizeof *k);
    if (!o || !k) {
        free(o);
        free(k);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory creating an ordered sink");
    }
    o->inner = inner;
    o->own = own != 0;
    k->ops = &ord_ops;
    k->self = o;
    *out = k;
    return BMD_OK;
}

long bmd_sink_ordered_pending(const bmd_sink *s) {
    return s && s->ops == &ord_ops ? ((ordered_sink *)s->self)->n_systems : -1;
}
