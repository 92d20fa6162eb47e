/* inputs.c — the command's checks of a run's input structures (app/common.c,
 * check_frames; docs/campaign.md, errors) for a Python run: an element the
 * model has no parameters for, a per-structure parameter (an info key
 * naming a stage parameter) out of its stage's range or not a number, more
 * atoms than batch.max_atoms, no atoms. `batchmd run` refuses such inputs
 * before it starts (exit 2); a Python run raises BatchmdError with the same
 * message rather than quarantining the system (invalid_param_<name>) or
 * failing midway. Structures in memory and in extxyz files are all checked
 * before the run starts; a Python dataset's structures are checked as they
 * load (loading every one twice could cost more than the run), and the
 * first bad one stops the run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pybmd.h"

/* One structure (index i of the dataset); BMD_OK or the reason. c NULL:
 * no stages (evaluate), so no per-structure parameters to check. */
static bmd_status check_one(const bmd_campaign *c, long max_atoms, bmd_model *m, const bmd_system *sys, long i) {
    char where[600] = "", why[1024];
    if (sys->source) snprintf(where, sizeof where, "%s:%ld: ", sys->source, sys->line);
    if (bmd_model_check_system(m, sys)) {
        snprintf(why, sizeof why, "%s", bmd_last_error());
        return bmd__fail(BMD_ERR_INVALID, "%sstructure %ld: %s", where, i, why);
    }
    if (c && bmd_campaign_check_overrides(c, sys, i)) {
        /* its message starts "<source>:<line>: ", "?:0: " for a structure
         * with no file (from a list of Atoms): dropped */
        const char *msg = bmd_last_error();
        snprintf(why, sizeof why, "%s", strncmp(msg, "?:0: ", 5) == 0 ? msg + 5 : msg);
        return bmd__fail(BMD_ERR_INVALID, "%s", why);
    }
    if (sys->n_atoms > max_atoms)
        return bmd__fail(BMD_ERR_INVALID, "%sstructure %ld has %d atoms, more than batch.max_atoms = %ld; raise max_atoms",
                         where, i, sys->n_atoms, max_atoms);
    if (sys->n_atoms == 0) return bmd__fail(BMD_ERR_INVALID, "%sstructure %ld has no atoms", where, i);
    return BMD_OK;
}

/* ---- a dataset that checks each structure as it loads (Python datasets) ---- */
typedef struct checked_ds {
    const bmd_dataset *inner;
    const bmd_campaign *c;
    long max_atoms;
    bmd_model *m;
} checked_ds;

static long checked_length(void *self) { return bmd_dataset_size(((checked_ds *)self)->inner); }

static bmd_status checked_get(void *self, long i, bmd_system *out) {
    checked_ds *d = self;
    bmd_status st = bmd_dataset_get(d->inner, i, out);
    if (!st && (st = check_one(d->c, d->max_atoms, d->m, out, i))) bmd_system_free(out);
    return st;
}

static bmd_status checked_meta(void *self, long i, bmd_dataset_meta *out) {
    return bmd_dataset_meta_get(((checked_ds *)self)->inner, i, out);
}

static void checked_where(void *self, long i, char *buf, size_t n) {
    const bmd_dataset *in = ((checked_ds *)self)->inner;
    if (in->ops->where) in->ops->where(in->self, i, buf, n);
    else if (n) buf[0] = '\0';
}

static const bmd_dataset_ops checked_ops = {.type = "checked",
                                            .length = checked_length,
                                            .get = checked_get,
                                            .metadata = checked_meta,
                                            .where = checked_where,
                                            .destroy = free};

bmd_status bmdpy_check_inputs(const bmd_campaign *c, long max_atoms, bmd_model *m, const bmd_dataset *ds,
                              bmd_dataset **checked) {
    *checked = NULL;
    if (strcmp(ds->ops->type, "python") == 0) {
        checked_ds *d = calloc(1, sizeof *d);
        if (!d) return bmd__fail(BMD_ERR_NOMEM, "out of memory");
        d->inner = ds;
        d->c = c;
        d->max_atoms = max_atoms;
        d->m = m;
        return bmd_dataset_create(&checked_ops, d, checked); /* frees d on failure */
    }
    long n = bmd_dataset_size(ds);
    for (long i = 0; i < n; i++) {
        bmd_system sys;
        bmd_status st = bmd_dataset_get(ds, i, &sys);
        if (st) return st;
        st = check_one(c, max_atoms, m, &sys, i);
        bmd_system_free(&sys);
        if (st) return st;
    }
    return BMD_OK;
}
