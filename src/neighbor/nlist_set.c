/* nlist_set.c — owns the neighbor lists of a batch: one per slot, re-keyed by
 * the batch's uid when its layout changes (systems appended or removed), so a
 * system keeps its list wherever it moves; lists of systems that left are
 * kept in a pool and reused for newcomers (their buffers already grown). */
#include "neighbor/neighbor.h"

#include <stdlib.h>
#include <string.h>

static int cmp_by_uid(const void *a, const void *b, const int64_t *uid) {
    int64_t x = uid[*(const int *)a], y = uid[*(const int *)b];
    return (x > y) - (x < y);
}

/* sorts old indices by uid: uids are normally already
 * ascending with the slot (appends take increasing uids, removal is stable),
 * so check that first and fall back to a shell sort otherwise */
static void sort_by_uid(int *idx, int n, const int64_t *uid) {
    int sorted = 1;
    for (int i = 1; i < n && sorted; i++)
        if (uid[idx[i - 1]] > uid[idx[i]]) sorted = 0;
    if (sorted) return;
    for (int gap = n / 2; gap > 0; gap /= 2)
        for (int i = gap; i < n; i++) {
            int v = idx[i], k = i;
            while (k >= gap && cmp_by_uid(&idx[k - gap], &v, uid) > 0) {
                idx[k] = idx[k - gap];
                k -= gap;
            }
            idx[k] = v;
        }
}

static int ensure(void **p, int *cap, int need, size_t elem) {
    if (need <= *cap) return 0;
    int c = *cap ? *cap : 16;
    while (c < need) c *= 2;
    void *q = realloc(*p, (size_t)c * elem);
    if (!q) return 1;
    *p = q;
    *cap = c;
    return 0;
}

static bmd_status to_pool(bmd__nlist_set *set, bmd__nlist *nl) {
    nl->built = 0;
    int cap = set->cap_pool;
    if (ensure((void **)&set->pool, &cap, set->n_pool + 1, sizeof *set->pool)) {
        bmd__nlist_free(nl);
        free(nl);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory keeping a neighbor list");
    }
    set->cap_pool = cap;
    set->pool[set->n_pool++] = nl;
    return BMD_OK;
}

bmd_status bmd__nlist_set_sync(bmd__nlist_set *set, const bmd_batch *b) {
    if (set->batch == b && set->layout == b->layout_version && set->n == b->n_systems) return BMD_OK;
    const int n_old = set->n, n_new = b->n_systems;
    int cap = set->cap_tmp;
    if (ensure((void **)&set->tmp_order, &cap, n_old + 1, sizeof(int)))
        return bmd__fail(BMD_ERR_NOMEM, "out of memory re-keying neighbor lists");
    set->cap_tmp = cap;
    if (n_new > set->cap) {
        /* list/uid and tmp_list/tmp_uid swap roles below: all four share set->cap */
        int c = set->cap ? set->cap : 16;
        while (c < n_new) c *= 2;
        void *q;
        if (!(q = realloc(set->tmp_list, (size_t)c * sizeof(bmd__nlist *)))) goto nomem;
        set->tmp_list = q;
        if (!(q = realloc(set->tmp_uid, (size_t)c * sizeof(int64_t)))) goto nomem;
        set->tmp_uid = q;
        if (!(q = realloc(set->list, (size_t)c * sizeof(bmd__nlist *)))) goto nomem;
        set->list = q;
        if (!(q = realloc(set->uid, (size_t)c * sizeof(int64_t)))) goto nomem;
        set->uid = q;
        set->cap = c;
    }

    /* old lists stay only if the batch is the same object */
    int keep = set->batch == b;
    int *order = set->tmp_order;
    for (int i = 0; i < n_old; i++) order[i] = i;
    if (keep) sort_by_uid(order, n_old, set->uid);
    for (int s = 0; s < n_new; s++) set->tmp_list[s] = NULL;
    for (int s = 0; s < n_new; s++) {
        set->tmp_uid[s] = b->uid[s];
        if (!keep) continue;
        int lo = 0, hi = n_old - 1, found = -1;
        while (lo <= hi) {
            int mid = (lo + hi) / 2;
            int64_t u = set->uid[order[mid]];
            if (u == b->uid[s]) {
                found = order[mid];
                break;
            }
            if (u < b->uid[s]) lo = mid + 1;
            else hi = mid - 1;
        }
        if (found >= 0 && set->list[found]) {
            set->tmp_list[s] = set->list[found];
            set->list[found] = NULL;
        }
    }
    bmd_status st = BMD_OK;
    for (int i = 0; i < n_old; i++)
        if (set->list[i]) {
            bmd_status e = to_pool(set, set->list[i]);
            if (e && !st) st = e;
            set->list[i] = NULL;
        }
    /* swap: tmp becomes current */
    bmd__nlist **tl = set->list;
    int64_t *tu = set->uid;
    set->list = set->tmp_list;
    set->uid = set->tmp_uid;
    set->tmp_list = tl;
    set->tmp_uid = tu;
    set->n = n_new;
    for (int s = 0; s < n_new; s++) {
        if (set->list[s]) continue;
        bmd__nlist *nl = set->n_pool ? set->pool[--set->n_pool] : calloc(1, sizeof *nl);
        if (!nl) {
            st = bmd__fail(BMD_ERR_NOMEM, "out of memory creating a neighbor list");
            continue;
        }
        nl->built = 0;
        set->list[s] = nl;
    }
    /* do not hoard: keep at most as many spare lists as live ones */
    while (set->n_pool > n_new + 16) {
        bmd__nlist *nl = set->pool[--set->n_pool];
        bmd__nlist_free(nl);
        free(nl);
    }
    /* on failure some slots have no list: forget the layout so the next sync retries */
    set->batch = st ? NULL : b;
    set->layout = b->layout_version;
    return st;
nomem:
    return bmd__fail(BMD_ERR_NOMEM, "out of memory re-keying neighbor lists");
}

void bmd__nlist_set_free(bmd__nlist_set *set) {
    if (!set) return;
    for (int s = 0; s < set->n; s++)
        if (set->list[s]) {
            bmd__nlist_free(set->list[s]);
            free(set->list[s]);
        }
    for (int i = 0; i < set->n_pool; i++) {
        bmd__nlist_free(set->pool[i]);
        free(set->pool[i]);
    }
    free(set->list);
    free(set->uid);
    free(set->tmp_list);
    free(set->tmp_uid);
    free(set->tmp_order);
    free(set->pool);
    memset(set, 0, sizeof *set);
}
