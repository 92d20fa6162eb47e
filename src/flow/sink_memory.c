/* sink_memory.c — owns the in-memory sink: deep copies of the systems
 * written, oldest first, up to a capacity (full() says when it is reached),
 * read in place or drained into an array or into another sink. */
#include "batchmd/flow.h"

#include <stdlib.h>
#include <string.h>

typedef struct mem_sink {
    long capacity; /* <= 0: unbounded */
    long head;     /* first held item */
    long count;    /* items held: items[head .. head + count) */
    long cap;      /* allocated items */
    bmd_system *items;
} mem_sink;

static int mem_full(void *self) {
    mem_sink *m = self;
    return m->capacity > 0 && m->count >= m->capacity;
}

/* Room for one more item at the end (moves the held ones to the front first). */
static bmd_status make_room(mem_sink *m) {
    if (m->head > 0 && m->head + m->count == m->cap) {
        memmove(m->items, m->items + m->head, (size_t)m->count * sizeof *m->items);
        m->head = 0;
    }
    if (m->head + m->count < m->cap) return BMD_OK;
    long cap = m->cap ? 2 * m->cap : 16;
    if (m->capacity > 0 && cap > m->capacity) cap = m->capacity;
    bmd_system *p = realloc(m->items, (size_t)cap * sizeof *p);
    if (!p) return bmd__fail(BMD_ERR_NOMEM, "memory sink: out of memory for %ld systems", cap);
    m->items = p;
    m->cap = cap;
    return BMD_OK;
}

static bmd_status mem_write(void *self, const bmd_system *sys) {
    mem_sink *m = self;
    if (mem_full(m))
        return bmd__fail(BMD_ERR_BUDGET, "memory sink full (capacity %ld): system %lld not taken", m->capacity,
                         (long long)sys->system_id);
    bmd_status st = make_room(m);
    if (!st) st = bmd_system_copy(&m->items[m->head + m->count], sys);
    if (!st) m->count++;
    return st;
}

static void mem_destroy(void *self) {
    mem_sink *m = self;
    for (long i = 0; i < m->count; i++) bmd_system_free(&m->items[m->head + i]);
    free(m->items);
    free(m);
}

/* Checkpoints: the count held is committed; rewind drops what came after
 * (a memory sink does not outlive its process: this serves resuming within
 * one, e.g. in tests). */
static bmd_status mem_commit(void *self, void **state, size_t *n) {
    mem_sink *m = self;
    int64_t *v = malloc(sizeof *v);
    if (!v) return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    *v = m->count;
    *state = v;
    *n = sizeof *v;
    return BMD_OK;
}

static bmd_status mem_rewind(void *self, const void *state, size_t n) {
    mem_sink *m = self;
    int64_t count;
    if (n != sizeof count) return bmd__fail(BMD_ERR_PARSE, "memory sink: malformed checkpoint state");
    memcpy(&count, state, sizeof count);
    if (count < 0 || count > m->count)
        return bmd__fail(BMD_ERR_INVALID, "memory sink: holds %ld systems, fewer than the %lld committed", m->count,
                         (long long)count);
    while (m->count > count) bmd_system_free(&m->items[m->head + --m->count]);
    return BMD_OK;
}

static const bmd_sink_ops mem_ops = {.type = "memory",
                                     .write = mem_write,
                                     .destroy = mem_destroy,
                                     .full = mem_full,
                                     .commit = mem_commit,
                                     .rewind = mem_rewind};

bmd_status bmd_sink_memory_create(long capacity, bmd_sink **out) {
    mem_sink *m = calloc(1, sizeof *m);
    bmd_sink *k = calloc(1, sizeof *k);
    if (!m || !k) {
        free(m);
        free(k);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory creating a memory sink");
    }
    m->capacity = capacity > 0 ? capacity : 0;
    k->ops = &mem_ops;
    k->self = m;
    *out = k;
    return BMD_OK;
}

static mem_sink *as_mem(const bmd_sink *s) { return s && s->ops == &mem_ops ? s->self : NULL; }

long bmd_sink_memory_count(const bmd_sink *s) {
    mem_sink *m = as_mem(s);
    return m ? m->count : -1;
}

const bmd_system *bmd_sink_memory_at(const bmd_sink *s, long i) {
    mem_sink *m = as_mem(s);
    return m && i >= 0 && i < m->count ? &m->items[m->head + i] : NULL;
}

bmd_status bmd_sink_memory_drain(bmd_sink *s, bmd_system *out, long max, long *n) {
    mem_sink *m = as_mem(s);
    if (n) *n = 0;
    if (!m) return bmd__fail(BMD_ERR_INVALID, "bmd_sink_memory_drain: not a memory sink");
    long k = max < m->count ? (max > 0 ? max : 0) : m->count;
    if (k > 0) memcpy(out, m->items + m->head, (size_t)k * sizeof *out);
    m->head += k;
    m->count -= k;
    if (m->count == 0) m->head = 0;
    if (n) *n = k;
    return BMD_OK;
}

bmd_status bmd_sink_memory_drain_to(bmd_sink *s, bmd_sink *dst, long *n) {
    mem_sink *m = as_mem(s);
    if (n) *n = 0;
    if (!m || !dst || dst == s)
        return bmd__fail(BMD_ERR_INVALID, "bmd_sink_memory_drain_to: not a memory sink, or no other target");
    bmd_status st = BMD_OK;
    while (m->count > 0 && !bmd_sink_full(dst)) {
        bmd_system *sys = &m->items[m->head];
        if ((st = bmd_sink_write(dst, sys))) break;
        bmd_system_free(sys);
        m->head++;
        m->count--;
        if (n) (*n)++;
    }
    if (m->count == 0) m->head = 0;
    return st;
}
