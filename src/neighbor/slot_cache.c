/* slot_cache.c — owns bmd__slot_cache (padded.h): one caller-made object per
 * batch slot (a padded particle set, ...), re-keyed by the batch's uid when
 * its layout changes, so a system keeps its object wherever it moves;
 * objects of systems that left are pooled and reused for newcomers. */
#include <stdlib.h>
#include <string.h>

#include "neighbor/padded.h"

typedef struct uid_idx {
    int64_t uid;
    int idx;
} uid_idx;

static int cmp_uid(const void *a, const void *b) {
    int64_t x = ((const uid_idx *)a)->uid, y = ((const uid_idx *)b)->uid;
    return (x > y) - (x < y);
}

static void drop(bmd__slot_cache *c, void *obj) {
    if (c->destroy) c->destroy(obj);
}

static int to_pool(bmd__slot_cache *c, void *obj) {
    if (c->reset) c->reset(obj);
    if (c->n_pool == c->cap_pool) {
        int cap = c->cap_pool ? 2 * c->cap_pool : 16;
        void **q = realloc(c->pool, (size_t)cap * sizeof *q);
        if (!q) {
            drop(c, obj);
            return 1;
        }
        c->pool = q;
        c->cap_pool = cap;
    }
    c->pool[c->n_pool++] = obj;
    return 0;
}

bmd_status bmd__slot_cache_sync(bmd__slot_cache *c, const bmd_batch *b) {
    if (c->batch == b && c->layout == b->layout_version && c->n == b->n_systems) return BMD_OK;
    const int n_old = c->n, n_new = b->n_systems;
    void **obj = calloc((size_t)n_new + 1, sizeof *obj);
    int64_t *uid = malloc(((size_t)n_new + 1) * sizeof *uid);
    uid_idx *old = malloc(((size_t)n_old + 1) * sizeof *old);
    if (!obj || !uid || !old) {
        free(obj);
        free(uid);
        free(old);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory re-keying per-system model state");
    }
    const int keep = c->batch == b;
    int n_kept = 0;
    if (keep)
        for (int i = 0; i < n_old; i++)
            if (c->obj[i]) old[n_kept++] = (uid_idx){c->uid[i], i};
    qsort(old, (size_t)n_kept, sizeof *old, cmp_uid);
    for (int s = 0; s < n_new; s++) {
        uid[s] = b->uid[s];
        int lo = 0, hi = n_kept - 1;
        while (lo <= hi) {
            int mid = (lo + hi) / 2;
            if (old[mid].uid == uid[s]) {
                obj[s] = c->obj[old[mid].idx];
                c->obj[old[mid].idx] = NULL;
                break;
            }
            if (old[mid].uid < uid[s]) lo = mid + 1;
            else hi = mid - 1;
        }
    }
    int err = 0;
    for (int i = 0; i < n_old; i++)
        if (c->obj[i]) err |= to_pool(c, c->obj[i]);
    for (int s = 0; s < n_new; s++)
        if (!obj[s] && c->n_pool) obj[s] = c->pool[--c->n_pool];
    while (c->n_pool > n_new + 16) drop(c, c->pool[--c->n_pool]);
    free(c->obj);
    free(c->uid);
    free(old);
    c->obj = obj;
    c->uid = uid;
    c->n = c->cap = n_new;
    c->batch = b;
    c->layout = b->layout_version;
    return err ? bmd__fail(BMD_ERR_NOMEM, "out of memory pooling per-system model state") : BMD_OK;
}

void bmd__slot_cache_free(bmd__slot_cache *c) {
    if (!c) return;
    for (int s = 0; s < c->n; s++)
        if (c->obj[s]) drop(c, c->obj[s]);
    for (int i = 0; i < c->n_pool; i++) drop(c, c->pool[i]);
    free(c->obj);
    free(c->uid);
    free(c->pool);
    memset(c, 0, sizeof *c);
}
