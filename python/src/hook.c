/* hook.c — hooks for a run from their Python description (a tuple made by
 * python/batchmd/hooks.py): the built-in hooks of hooks.h by name, and a
 * Python callable called with a BatchView at its hook points. A hook is
 * made afresh for every run (the stage owns and destroys it). */
#include <string.h>

#include "pybmd.h"
#include "pyview.h"

/* ---- a sink that forwards to a Python-owned sink, owning nothing: the
 * snapshot hooks take ownership of their sink, the Python Sink keeps its */
typedef struct fwd_sink {
    bmd_sink *inner;
    PyObject *owner; /* the Python Sink, kept alive while the hook lives */
} fwd_sink;

static bmd_status fwd_write(void *self, const bmd_system *s) { return bmd_sink_write(((fwd_sink *)self)->inner, s); }
static int fwd_full(void *self) { return bmd_sink_full(((fwd_sink *)self)->inner); }
static bmd_status fwd_skip(void *self, int64_t id) { return bmd_sink_skip(((fwd_sink *)self)->inner, id); }
static void fwd_destroy(void *self) {
    fwd_sink *f = self;
    PyGILState_STATE g = PyGILState_Ensure();
    Py_XDECREF(f->owner);
    PyGILState_Release(g);
    free(f);
}
static const bmd_sink_ops fwd_ops = {
    .type = "forward", .write = fwd_write, .destroy = fwd_destroy, .full = fwd_full, .skip = fwd_skip};

static int forward(PyObject *sink_obj, bmd_sink **out) {
    bmd_sink *inner = bmdpy_sink_get(sink_obj);
    if (!inner) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "a snapshot hook needs a sink");
        return -1;
    }
    fwd_sink *f = calloc(1, sizeof *f);
    bmd_sink *s = f ? calloc(1, sizeof *s) : NULL;
    if (!s) {
        free(f);
        PyErr_NoMemory();
        return -1;
    }
    f->inner = inner;
    f->owner = Py_NewRef(sink_obj);
    s->ops = &fwd_ops;
    s->self = f;
    *out = s;
    return 0;
}

/* ---- a Python callable at hook points ---- */
typedef struct py_hook {
    PyObject *fn;
} py_hook;

static bmd_status py_hook_call(void *self, const bmd_hook_ctx *ctx) {
    py_hook *h = self;
    PyGILState_STATE g = PyGILState_Ensure();
    bmdpy_view *v = bmdpy_view_open(ctx->batch, ctx->mask, 0, 1);
    bmd_status st = BMD_OK;
    if (v) {
        v->point = (int)ctx->point;
        v->step = ctx->step;
        v->substage = ctx->substage;
        PyObject *r = PyObject_CallOneArg(h->fn, (PyObject *)v);
        Py_XDECREF(r);
        const char *kept = r ? bmdpy_view_kept(v) : NULL;
        if (kept)
            PyErr_Format(bmdpy_error, "a Python hook kept the batch array '%s' after it returned: batch arrays live "
                                      "only during the call that received them (keep a copy: np.array(batch.%s))",
                         kept, kept);
        if (!r || kept) st = bmdpy_keep_exception("a Python hook");
        bmdpy_view_close(v);
    } else {
        st = bmdpy_keep_exception("a Python hook");
    }
    PyGILState_Release(g);
    return st;
}

static void py_hook_destroy(void *self) {
    py_hook *h = self;
    PyGILState_STATE g = PyGILState_Ensure();
    Py_XDECREF(h->fn);
    PyGILState_Release(g);
    free(h);
}

static const bmd_hook_ops py_hook_ops = {.type = "python", .call = py_hook_call, .destroy = py_hook_destroy};

static int python_hook(PyObject *fn, unsigned points, long every, bmd_hook **out) {
    if (!PyCallable_Check(fn)) return PyErr_SetString(PyExc_TypeError, "a hook must be callable"), -1;
    py_hook *h = calloc(1, sizeof *h);
    bmd_hook *hk = h ? calloc(1, sizeof *hk) : NULL;
    if (!hk) {
        free(h);
        PyErr_NoMemory();
        return -1;
    }
    h->fn = Py_NewRef(fn);
    hk->ops = &py_hook_ops;
    hk->self = h;
    hk->points = points;
    hk->every = every < 1 ? 1 : every;
    *out = hk;
    return 0;
}

/* (substage name, dt) pairs for the snapshot hooks' frame times */
static int set_dts(bmd_hook *h, PyObject *dts) {
    if (dts == Py_None) return 0;
    PyObject *seq = PySequence_Fast(dts, "dts: expected (stage, dt) pairs");
    if (!seq) return -1;
    int rc = 0;
    for (Py_ssize_t i = 0; !rc && i < PySequence_Fast_GET_SIZE(seq); i++) {
        const char *name;
        double dt;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "sd", &name, &dt)) rc = -1;
        else if (bmd_hook_snapshot_set_dt(h, name, dt)) rc = (bmdpy_raise(BMD_ERR_INVALID, NULL), -1);
    }
    Py_DECREF(seq);
    return rc;
}

int bmdpy_hook_make(PyObject *spec, const bmd_units *units, bmd_hook **out) {
    (void)units;
    *out = NULL;
    if (!PyTuple_Check(spec) || PyTuple_GET_SIZE(spec) < 1 || !PyUnicode_Check(PyTuple_GET_ITEM(spec, 0)))
        return PyErr_SetString(PyExc_TypeError, "a hook spec is a tuple (kind, ...)"), -1;
    const char *kind = PyUnicode_AsUTF8(PyTuple_GET_ITEM(spec, 0));
    PyObject *rest = PyTuple_GetSlice(spec, 1, PyTuple_GET_SIZE(spec));
    if (!rest) return -1;
    bmd_status st = BMD_OK;
    int rc = 0;
    if (!strcmp(kind, "python")) {
        PyObject *fn;
        unsigned points;
        long every;
        rc = PyArg_ParseTuple(rest, "OIl", &fn, &points, &every) ? python_hook(fn, points, every, out) : -1;
    } else if (!strcmp(kind, "log")) {
        const char *path;
        long every;
        rc = PyArg_ParseTuple(rest, "sl", &path, &every) ? 0 : -1;
        if (!rc) st = bmd_hook_log_create(path, every, out);
    } else if (!strcmp(kind, "nan")) {
        st = bmd_hook_nan_create(out);
    } else if (!strcmp(kind, "fclamp")) {
        double clamp, fail;
        rc = PyArg_ParseTuple(rest, "dd", &clamp, &fail) ? 0 : -1;
        if (!rc) st = bmd_hook_fclamp_create(clamp, fail, out);
    } else if (!strcmp(kind, "drift")) {
        double max_drift;
        long every;
        int substage;
        rc = PyArg_ParseTuple(rest, "dli", &max_drift, &every, &substage) ? 0 : -1;
        if (!rc) st = bmd_hook_drift_substage_create(substage, max_drift, every, out);
    } else if (!strcmp(kind, "min_distance")) {
        double d;
        rc = PyArg_ParseTuple(rest, "d", &d) ? 0 : -1;
        if (!rc) st = bmd_hook_min_distance_create(d, out);
    } else if (!strcmp(kind, "snapshot") || !strcmp(kind, "converged_snapshot")) {
        PyObject *sink_obj, *dts;
        long arg;
        bmd_sink *fwd = NULL;
        rc = PyArg_ParseTuple(rest, "OlO", &sink_obj, &arg, &dts) ? forward(sink_obj, &fwd) : -1;
        if (!rc)
            st = kind[0] == 's' ? bmd_hook_snapshot_create(fwd, arg, NULL, 0, out)
                                : bmd_hook_converged_snapshot_create(fwd, (int)arg, out); /* own fwd */
        if (!rc && !st && set_dts(*out, dts)) rc = -1;
    } else {
        PyErr_Format(PyExc_ValueError, "unknown hook kind '%s'", kind);
        rc = -1;
    }
    Py_DECREF(rest);
    if (!rc && st) rc = (bmdpy_raise(st, NULL), -1);
    if (rc) {
        bmd_hook_destroy(*out);
        *out = NULL;
    }
    return rc;
}

/* hook_points() -> {name: bit}: the nine hook points (dynamics.h) */
static PyObject *hook_points(PyObject *m, PyObject *noargs) {
    (void)m;
    (void)noargs;
    return Py_BuildValue("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "BEFORE_STEP", (unsigned)BMD_HOOK_BEFORE_STEP,
                         "BEFORE_PRE_UPDATE", (unsigned)BMD_HOOK_BEFORE_PRE_UPDATE, "AFTER_PRE_UPDATE",
                         (unsigned)BMD_HOOK_AFTER_PRE_UPDATE, "BEFORE_COMPUTE", (unsigned)BMD_HOOK_BEFORE_COMPUTE,
                         "AFTER_COMPUTE", (unsigned)BMD_HOOK_AFTER_COMPUTE, "BEFORE_POST_UPDATE",
                         (unsigned)BMD_HOOK_BEFORE_POST_UPDATE, "AFTER_POST_UPDATE",
                         (unsigned)BMD_HOOK_AFTER_POST_UPDATE, "AFTER_STEP", (unsigned)BMD_HOOK_AFTER_STEP,
                         "ON_CONVERGE", (unsigned)BMD_HOOK_ON_CONVERGE);
}

static PyMethodDef methods[] = {{"hook_points", hook_points, METH_NOARGS, "The nine hook points and their bits."},
                                {NULL, NULL, 0, NULL}};

int bmdpy_init_hook(PyObject *m) { return PyModule_AddFunctions(m, methods); }
