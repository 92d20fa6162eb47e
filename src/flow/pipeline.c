/* pipeline.c — owns setting a pipeline up (pipeline.h): whether the process
 * was started by an MPI launcher, the comm modes' names, agreement of all
 * ranks on a local status, and bmd_pipeline_create — one exchange of every
 * rank's view (its links, buffer, budget, comm mode and, on a first rank,
 * its dataset's largest structure) checked identically on every rank, so
 * that a bad setup fails everywhere with the same message instead of
 * hanging. MPI-free: the exchange goes through pipeline_internal.h. */
#include "flow/pipeline_internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bmd_comm_mode_parse(const char *name) {
    if (!name) return -1;
    if (!strcmp(name, "sync")) return BMD_COMM_SYNC;
    if (!strcmp(name, "async_recv")) return BMD_COMM_ASYNC_RECV;
    if (!strcmp(name, "fully_async")) return BMD_COMM_FULLY_ASYNC;
    return -1;
}

const char *bmd_comm_mode_name(bmd_comm_mode mode) {
    switch (mode) {
    case BMD_COMM_SYNC: return "sync";
    case BMD_COMM_ASYNC_RECV: return "async_recv";
    case BMD_COMM_FULLY_ASYNC: return "fully_async";
    }
    return "?";
}

static int env_int(const char *name) {
    const char *v = getenv(name);
    return v && *v ? atoi(v) : -1;
}

int bmd_pipeline_launched_size(void) {
    const char *force = getenv("BATCHMD_MPI");
    if (force && !strcmp(force, "0")) return 1;
    static const char *const sizes[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE", "PMIX_SIZE",
                                        "SLURM_NTASKS"};
    int launched = bmd_pipeline_launched();
    for (size_t i = 0; launched && i < sizeof sizes / sizeof *sizes; i++) {
        int n = env_int(sizes[i]);
        if (n >= 1) return n;
    }
    return 1;
}

int bmd_pipeline_launched(void) {
    const char *force = getenv("BATCHMD_MPI");
    if (force && *force) return strcmp(force, "0") != 0;
    static const char *const marks[] = {"OMPI_COMM_WORLD_SIZE", "PMI_RANK", "PMI_SIZE", "PMIX_RANK",
                                        "MV2_COMM_WORLD_SIZE"};
    for (size_t i = 0; i < sizeof marks / sizeof *marks; i++)
        if (getenv(marks[i])) return 1;
    return 0;
}

bmd_status bmd_pipeline_agree(bmd_status mine, int *first_bad) {
    int size = bmd_pipeline_world_size(), rank = bmd_pipeline_world_rank();
    int32_t *all = malloc((size_t)size * sizeof *all), me = (int32_t)mine;
    if (!all) return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    bmd_status rc = bmd__mpi_allgather(&me, sizeof me, all);
    int bad = -1;
    for (int i = 0; !rc && i < size && bad < 0; i++)
        if (all[i] != BMD_OK) bad = i;
    bmd_status out = rc ? rc : bad < 0 ? BMD_OK : (bmd_status)all[bad];
    free(all);
    if (first_bad) *first_bad = bad;
    if (!rc && bad >= 0 && mine == BMD_OK)
        bmd__fail(out, "rank %d failed (see its message); rank %d stops too", bad, rank);
    return out;
}

bmd_status bmd_pipeline_barrier(void) { return bmd__mpi_barrier(); }

void bmd_pipeline_chain(bmd_pipeline_node *nodes, int n) {
    for (int i = 0; i < n; i++) {
        nodes[i].prior = i - 1;
        nodes[i].next = i + 1 < n ? i + 1 : -1;
    }
}

/* What every rank tells the others at setup. */
typedef struct view {
    int32_t ok, n_nodes, prior, next, comm, synchronized, pad0, pad1;
    int64_t buf_systems, buf_atoms, bytes, max_atoms, largest;
} view;

/* The largest structure of ds (metadata only), -1 when empty. */
static bmd_status largest_of(const bmd_dataset *ds, int64_t *out) {
    *out = -1;
    long n = bmd_dataset_size(ds);
    for (long i = 0; i < n; i++) {
        bmd_dataset_meta m;
        bmd_status rc = bmd_dataset_meta_get(ds, i, &m);
        if (rc) return rc;
        if (m.n_atoms > *out) *out = m.n_atoms;
    }
    return BMD_OK;
}

/* The same verdict on every rank, from everyone's view. */
static bmd_status check_views(const view *v, int size) {
    for (int i = 0; i < size; i++)
        if (!v[i].ok) return bmd__fail(BMD_ERR_INVALID, "rank %d could not set up its part of the pipeline", i);
    for (int i = 0; i < size; i++)
        if (v[i].n_nodes != size)
            return bmd__fail(BMD_ERR_INVALID,
                             "the pipeline has %d stage group%s (separated by '|'), but this job has %d MPI rank%s: "
                             "run it with %d rank%s (mpirun -np %d / srun -n %d)",
                             v[i].n_nodes, v[i].n_nodes == 1 ? "" : "s", size, size == 1 ? "" : "s", v[i].n_nodes,
                             v[i].n_nodes == 1 ? "" : "s", v[i].n_nodes, v[i].n_nodes);
    for (int i = 0; i < size; i++) {
        int nx = v[i].next, pr = v[i].prior;
        if (nx >= size || nx < -1 || nx == i || pr >= size || pr < -1 || pr == i)
            return bmd__fail(BMD_ERR_INVALID, "pipeline: rank %d links to rank %d -> %d -> %d, outside 0..%d", i, pr, i,
                             nx, size - 1);
        if (nx >= 0 && v[nx].prior != i)
            return bmd__fail(BMD_ERR_INVALID, "pipeline: rank %d hands over to rank %d, whose prior rank is %d", i, nx,
                             v[nx].prior);
        if (pr >= 0 && v[pr].next != i)
            return bmd__fail(BMD_ERR_INVALID, "pipeline: rank %d receives from rank %d, whose next rank is %d", i, pr,
                             v[pr].next);
        if (v[i].comm != v[0].comm || v[i].synchronized != v[0].synchronized)
            return bmd__fail(BMD_ERR_INVALID, "pipeline: rank %d uses comm mode %s%s, rank 0 %s%s: all ranks need the "
                             "same", i, bmd_comm_mode_name((bmd_comm_mode)v[i].comm),
                             v[i].synchronized ? " (synchronized)" : "", bmd_comm_mode_name((bmd_comm_mode)v[0].comm),
                             v[0].synchronized ? " (synchronized)" : "");
    }
    int seen = 0;
    for (int f = 0; f < size; f++) { /* every chain from its first rank */
        if (v[f].prior >= 0) continue;
        int len = 0;
        for (int i = f; i >= 0 && len <= size; i = v[i].next, len++) {
            seen++;
            int nx = v[i].next;
            if (nx >= 0 && (v[i].buf_systems != v[nx].buf_systems || v[i].buf_atoms != v[nx].buf_atoms ||
                            v[i].bytes != v[nx].bytes))
                return bmd__fail(BMD_ERR_INVALID, "batch.buffer differs between rank %d (systems %lld, atoms %lld) and "
                                 "rank %d (systems %lld, atoms %lld): both sides of a hand-over need the same buffer",
                                 i, (long long)v[i].buf_systems, (long long)v[i].buf_atoms, nx,
                                 (long long)v[nx].buf_systems, (long long)v[nx].buf_atoms);
            if (nx >= 0 && v[i].bytes > INT_MAX)
                return bmd__fail(BMD_ERR_INVALID, "batch.buffer of rank %d needs %lld bytes, more than one message "
                                 "carries (%d)", i, (long long)v[i].bytes, INT_MAX);
            if (nx >= 0 && v[f].largest > v[i].buf_atoms)
                return bmd__fail(BMD_ERR_INVALID, "a structure of rank %d's input has %lld atoms, more than "
                                 "batch.buffer.atoms = %lld of rank %d: it could never be handed over", f,
                                 (long long)v[f].largest, (long long)v[i].buf_atoms, i);
            if (v[i].max_atoms > 0 && v[f].largest > v[i].max_atoms)
                return bmd__fail(BMD_ERR_INVALID, "a structure of rank %d's input has %lld atoms, more than "
                                 "batch.max_atoms = %lld of rank %d", f, (long long)v[f].largest,
                                 (long long)v[i].max_atoms, i);
        }
        if (len > size) break;
    }
    if (seen != size)
        return bmd__fail(BMD_ERR_INVALID, "pipeline: the links form a cycle (every chain needs a first rank with no "
                         "prior rank)");
    return BMD_OK;
}

bmd_status bmd_pipeline_create(const bmd_pipeline_node *nodes, int n, const bmd_pipeline_options *popt,
                               const bmd_dataset *ds, const bmd_run_options *run, bmd_pipeline **out) {
    *out = NULL;
    int size = bmd_pipeline_world_size(), rank = bmd_pipeline_world_rank();
    bmd_pipeline *p = calloc(1, sizeof *p);
    view me = {.ok = 1, .n_nodes = n, .prior = -1, .next = -1, .largest = -1};
    bmd_status local = p ? BMD_OK : bmd__fail(BMD_ERR_NOMEM, "out of memory");
    if (!local && (!nodes || n < 1 || !popt || !run))
        local = bmd__fail(BMD_ERR_INVALID, "bmd_pipeline_create: missing nodes, options or run options");
    if (!local && rank < n) {
        me.prior = nodes[rank].prior;
        me.next = nodes[rank].next;
    }
    if (!local) {
        me.comm = popt->comm;
        me.synchronized = popt->synchronized != 0;
        me.buf_systems = popt->buffer_systems;
        me.buf_atoms = popt->buffer_atoms;
        me.bytes = (int64_t)bmd_pipeline_buffer_bytes(popt->buffer_systems, popt->buffer_atoms);
        me.max_atoms = run->max_atoms;
        if (me.comm < BMD_COMM_SYNC || me.comm > BMD_COMM_FULLY_ASYNC)
            local = bmd__fail(BMD_ERR_INVALID, "pipeline: unknown comm mode %d", me.comm);
        else if (me.next >= 0 && me.bytes == 0)
            local = bmd__fail(BMD_ERR_INVALID, "batch.buffer: systems and atoms must be >= 1 (got %ld and %ld)",
                              popt->buffer_systems, popt->buffer_atoms);
        else if (me.prior < 0 && rank < n && ds)
            local = largest_of(ds, &me.largest);
        else if (me.prior < 0 && rank < n && !ds)
            local = bmd__fail(BMD_ERR_INVALID, "pipeline: rank %d reads the input, but has no dataset", rank);
    }
    me.ok = local == BMD_OK;
    char mine[1024];
    snprintf(mine, sizeof mine, "%s", bmd_last_error());
    view *all = malloc((size_t)size * sizeof *all);
    bmd_status rc = all ? bmd__mpi_allgather(&me, sizeof me, all) : bmd__fail(BMD_ERR_NOMEM, "out of memory");
    if (!rc) rc = check_views(all, size);
    free(all);
    if (local) {
        bmd__fail(local, "%s", mine); /* this rank's own reason */
        rc = BMD_ERR_INVALID;
    }
    if (rc) {
        free(p);
        return rc == BMD_ERR_NOMEM ? rc : BMD_ERR_INVALID;
    }
    p->rank = rank;
    p->size = size;
    p->prior = me.prior;
    p->next = me.next;
    p->opt = *popt;
    p->bytes = (size_t)me.bytes;
    const char *dbg = getenv("BATCHMD_PIPELINE_DEBUG");
    p->debug = popt->debug || (dbg && *dbg && strcmp(dbg, "0") != 0);
    *out = p;
    return BMD_OK;
}

void bmd_pipeline_destroy(bmd_pipeline *p) { free(p); }
int bmd_pipeline_rank(const bmd_pipeline *p) { return p ? p->rank : 0; }
int bmd_pipeline_is_first(const bmd_pipeline *p) { return p && p->prior < 0; }
int bmd_pipeline_is_last(const bmd_pipeline *p) { return p && p->next < 0; }

bmd_status bmd_pipeline_get_totals(const bmd_pipeline *p, bmd_pipeline_totals *out) {
    if (!p || !out) return bmd__fail(BMD_ERR_INVALID, "bmd_pipeline_get_totals: missing pipeline or output");
    *out = p->totals;
    return BMD_OK;
}
