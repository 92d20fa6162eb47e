/* sink_chain.c — owns the priority chain of sinks: each system goes to the
 * first sink that is not full (e.g. a memory buffer, then a file), skip()
 * reaches every sink, and the chain is full only when all of them are.
 * A checkpoint commits and rewinds every sink of the chain. */
#include "batchmd/flow.h"

#include "flow/checkpoint_internal.h"

#include <stdlib.h>

typedef struct chain_sink {
    int n, own;
    bmd_sink **sinks;
} chain_sink;

static bmd_status chain_write(void *self, const bmd_system *sys) {
    chain_sink *c = self;
    for (int i = 0; i < c->n; i++)
        if (!bmd_sink_full(c->sinks[i])) return bmd_sink_write(c->sinks[i], sys);
    return bmd__fail(BMD_ERR_BUDGET, "every sink of the chain (%d) is full: system %lld not taken", c->n,
                     (long long)sys->system_id);
}

static int chain_full(void *self) {
    chain_sink *c = self;
    for (int i = 0; i < c->n; i++)
        if (!bmd_sink_full(c->sinks[i])) return 0;
    return 1;
}

static bmd_status chain_skip(void *self, int64_t id) {
    chain_sink *c = self;
    bmd_status first = BMD_OK;
    for (int i = 0; i < c->n; i++) {
        bmd_status st = bmd_sink_skip(c->sinks[i], id);
        if (st && !first) first = st;
    }
    return first;
}

/* Owned sinks are closed here, in order (the first error is returned); the
 * caller's sinks are left open. */
static bmd_status chain_close(void *self) {
    chain_sink *c = self;
    bmd_status first = BMD_OK;
    for (int i = 0; c->own && i < c->n; i++) {
        bmd_sink *s = c->sinks[i];
        bmd_status st = s->ops->close ? s->ops->close(s->self) : BMD_OK;
        if (st && !first) first = st;
    }
    return first;
}

/* Owned sinks were closed by chain_close: only their memory is freed here. */
static void chain_destroy(void *self) {
    chain_sink *c = self;
    for (int i = 0; c->own && i < c->n; i++) {
        bmd_sink *s = c->sinks[i];
        if (s->ops->destroy) s->ops->destroy(s->self);
        free(s);
    }
    free(c->sinks);
    free(c);
}

/* Checkpoints: the states of the sinks, each as u64 length + bytes. */
static bmd_status chain_commit(void *self, void **state, size_t *n) {
    chain_sink *c = self;
    bmd__buf out = {0};
    for (int i = 0; i < c->n; i++) {
        bmd_sink *s = c->sinks[i];
        void *st = NULL;
        size_t k = 0;
        bmd_status rc = s->ops->commit ? s->ops->commit(s->self, &st, &k)
                                       : bmd__fail(BMD_ERR_UNSUPPORTED, "a %s sink cannot be checkpointed", s->ops->type);
        if (!rc) bmd__buf_section(&out, s->ops->type, st, k);
        free(st);
        if (rc) {
            bmd__buf_free(&out);
            return rc;
        }
    }
    if (out.oom) {
        bmd__buf_free(&out);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    }
    *state = out.p;
    *n = out.n;
    return BMD_OK;
}

static bmd_status chain_rewind(void *self, const void *state, size_t n) {
    chain_sink *c = self;
    bmd__rd r = {state, n, 0, 0};
    for (int i = 0; i < c->n; i++) {
        bmd_sink *s = c->sinks[i];
        free(bmd__rd_str(&r));
        uint64_t k = bmd__rd_u64(&r);
        const void *p = bmd__rd_ptr(&r, (size_t)k);
        if (r.bad || !s->ops->rewind) return bmd__fail(BMD_ERR_PARSE, "sink chain: malformed checkpoint state");
        bmd_status rc = s->ops->rewind(s->self, p, (size_t)k);
        if (rc) return rc;
    }
    return BMD_OK;
}

static const bmd_sink_ops chain_ops = {.commit = chain_commit,
                                       .rewind = chain_rewind,
                                       .type = "chain",
                                       .write = chain_write,
                                       .close = chain_close,
                                       .destroy = chain_destroy,
                                       .full = chain_full,
                                       .skip = chain_skip};

bmd_status bmd_sink_chain_create(bmd_sink **sinks, int n, int own, bmd_sink **out) {
    if (n < 1 || !sinks) return bmd__fail(BMD_ERR_INVALID, "a sink chain needs at least one sink (got %d)", n);
    for (int i = 0; i < n; i++)
        if (!sinks[i]) return bmd__fail(BMD_ERR_INVALID, "sink chain: sink %d is NULL", i);
    chain_sink *c = calloc(1, sizeof *c);
    bmd_sink *k = calloc(1, sizeof *k);
    bmd_sink **v = calloc((size_t)n, sizeof *v);
    if (!c || !k || !v) {
        free(c);
        free(k);
        free(v);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory creating a sink chain");
    }
    for (int i = 0; i < n; i++) v[i] = sinks[i];
    c->n = n;
    c->own = own != 0;
    c->sinks = v;
    k->ops = &chain_ops;
    k->self = c;
    *out = k;
    return BMD_OK;
}
