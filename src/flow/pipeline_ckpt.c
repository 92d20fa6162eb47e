/* pipeline_ckpt.c — owns the files of a pipeline's checkpoints
 * (bmd_pipeline_checkpoint_setup in pipeline.h; the cuts themselves are
 * pipeline_run.c's): each rank's two generation slots PATH.rankR.a/.b
 * (generation g goes to slot g % 2, so the newest and the one before it
 * are kept), the chain's first rank and size for the control channel, and
 * the collective choice at a resume of the newest generation complete on
 * every rank. MPI-free. */
#include "flow/checkpoint_internal.h"
#include "flow/pipeline_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bmd_status slot_path(const bmd_pipeline *p, const bmd_checkpoint *ck, int slot, char **out) {
    const char *base = bmd__ckpt_base(ck);
    size_t n = strlen(base) + 32;
    if (!(*out = malloc(n))) return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    snprintf(*out, n, "%s.rank%d.%c", base, p->rank, 'a' + slot);
    return BMD_OK;
}

static bmd_status use_slot(const bmd_pipeline *p, bmd_checkpoint *ck, int slot) {
    char *path = NULL;
    bmd_status rc = slot_path(p, ck, slot, &path);
    if (!rc) rc = bmd__ckpt_use_file(ck, path);
    free(path);
    return rc;
}

bmd_status bmd__pipeline_ckpt_use(const bmd_pipeline *p, bmd_checkpoint *ck, int64_t gen) {
    return use_slot(p, ck, (int)(gen % 2));
}

/* The generation of the loaded file and whether the rank was done then
 * (its first fields of the source state: pipeline_link.c). */
static int64_t loaded_gen(const bmd_checkpoint *ck, int *done) {
    size_t n = 0;
    const unsigned char *s = bmd__ckpt_section(ck, "source", &n);
    if (done) *done = 0;
    if (!s || n < 28) return -1;
    int64_t g;
    uint32_t d;
    memcpy(&g, s, 8);
    memcpy(&d, s + 24, 4);
    if (done) *done = d != 0;
    return g;
}

/* The first rank of this rank's chain and the chain's size, from every rank's prior rank. */
static bmd_status chain_of(bmd_pipeline *p) {
    int32_t mine = p->prior, *all = malloc((size_t)p->size * sizeof *all);
    if (!all) return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    bmd_status rc = bmd__mpi_allgather(&mine, sizeof mine, all);
    int head_of_me = -1, n = 0;
    for (int j = 0; !rc && j < p->size; j++) {
        int h = j;
        for (int k = 0; k < p->size && all[h] >= 0; k++) h = all[h];
        if (j == p->rank) head_of_me = h;
    }
    for (int j = 0; !rc && j < p->size; j++) {
        int h = j;
        for (int k = 0; k < p->size && all[h] >= 0; k++) h = all[h];
        n += h == head_of_me;
    }
    free(all);
    p->head = head_of_me;
    p->chain_n = n;
    return rc;
}

/* This rank's part: its newest generation (-1: none) in *newest and
 * whether the rank was done then (its state is final: it serves every later
 * generation too), its slot generations in g[2]. */
static bmd_status read_slots(const bmd_pipeline *p, bmd_checkpoint *ck, int64_t g[2], int64_t *newest, int *done) {
    *newest = -1;
    *done = 0;
    for (int slot = 0; slot < 2; slot++) {
        int found = 0;
        g[slot] = -1;
        bmd_status rc = use_slot(p, ck, slot);
        if (!rc) rc = bmd_checkpoint_load(ck, &found);
        if (rc) return rc;
        if (!found) continue;
        int d = 0;
        g[slot] = loaded_gen(ck, &d);
        if (g[slot] > *newest) *done = d;
        if (g[slot] < 1 || g[slot] % 2 != slot)
            return bmd__fail(BMD_ERR_PARSE, "%s: not a usable checkpoint (no generation); delete the checkpoints to "
                                            "start the campaign again from the beginning", bmd_checkpoint_path(ck));
        if (g[slot] > *newest) *newest = g[slot];
    }
    return BMD_OK;
}

bmd_status bmd_pipeline_checkpoint_setup(bmd_pipeline *p, bmd_checkpoint *ck, int resume, int *resuming) {
    *resuming = 0;
    if (!p || !ck) return bmd__fail(BMD_ERR_INVALID, "bmd_pipeline_checkpoint_setup: missing pipeline or checkpoint");
    p->gen = -1;
    bmd__ckpt_set_rank(ck, p->rank, p->size);
    bmd_status rc = chain_of(p);
    if (!rc && p->opt.synchronized)
        rc = bmd__fail(BMD_ERR_UNSUPPORTED, "checkpoints are not available with the synchronized mode (batch."
                                            "synchronized, for debugging): turn one of them off");
    int64_t g[2] = {-1, -1}, newest = -1;
    int done = 0;
    if (!rc && resume) rc = read_slots(p, ck, g, &newest, &done);
    rc = bmd_pipeline_agree(rc, NULL);
    if (rc) return rc;
    /* The newest generation complete everywhere: the smallest newest one of
     * the ranks that were not done (a rank that was done serves every later
     * generation with its final state); when all were done, the newest. */
    const double ALL = 1e18;
    double v[2] = {resume ? -(done ? ALL : (double)newest) : 1, resume ? (double)newest : -1};
    rc = bmd__mpi_allreduce(v, 2, 1);
    int64_t G = -1;
    if (!rc && resume) G = -v[0] >= ALL ? (int64_t)v[1] : (int64_t)-v[0];
    if (!rc && resume && v[0] > 0) G = -1; /* a rank without a checkpoint: from the beginning */
    int slot_G = -1;
    if (G >= 0) slot_G = g[G % 2] == G ? (int)(G % 2) : done && newest >= 1 && G > newest ? (int)(newest % 2) : -1;
    if (!rc && G >= 0 && slot_G < 0)
        rc = bmd__fail(BMD_ERR_INVALID, "rank %d has no checkpoint of generation %lld (it has %lld and %lld): the "
                                        "checkpoint files do not belong together; delete them to start again",
                       p->rank, (long long)G, (long long)g[0], (long long)g[1]);
    /* everything else goes, so that a later generation never meets a stale one */
    for (int slot = 0; !rc && slot < 2; slot++) {
        if (slot == slot_G) continue;
        rc = use_slot(p, ck, slot);
        if (!rc) rc = bmd_checkpoint_remove(ck);
    }
    bmd__ckpt_unload(ck);
    if (!rc && G >= 0) {
        int found = 0;
        rc = use_slot(p, ck, slot_G);
        if (!rc) rc = bmd_checkpoint_load(ck, &found);
        if (!rc && (!found || loaded_gen(ck, NULL) != g[slot_G]))
            rc = bmd__fail(BMD_ERR_IO, "%s: the checkpoint changed while it was read", bmd_checkpoint_path(ck));
    }
    rc = bmd_pipeline_agree(rc, NULL); /* every rank's stale files are gone before any rank writes */
    if (rc) return rc;
    p->ck = ck;
    p->gen = G;
    *resuming = G >= 0;
    return BMD_OK;
}
