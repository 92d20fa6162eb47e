/* sink.c — _core.Sink: where leaving systems go (flow.h, h5md.h): memory
 * (HostMemory), extxyz, H5MD, a priority chain of sinks, or a Python
 * callable. A Sink is owned by its Python object; a run borrows it. */
#include <stdlib.h>

#include "pybmd.h"

/* ---- the guard: forwards to the sink while it is open ---- */
typedef struct guard {
    bmd_sink *inner; /* NULL once the Python object closed it */
} guard;

static bmd_status closed_error(void) { return bmd__fail(BMD_ERR_IO, "the sink was closed (by its close())"); }
static bmd_status guard_write(void *self, const bmd_system *s) {
    guard *g = self;
    return g->inner ? bmd_sink_write(g->inner, s) : closed_error();
}
static int guard_full(void *self) { return ((guard *)self)->inner ? bmd_sink_full(((guard *)self)->inner) : 0; }
static bmd_status guard_skip(void *self, int64_t id) {
    guard *g = self;
    return g->inner ? bmd_sink_skip(g->inner, id) : BMD_OK;
}
static const bmd_sink_ops guard_ops = {
    .type = "python-owned", .write = guard_write, .destroy = free, .full = guard_full, .skip = guard_skip};

static void sink_dealloc(bmdpy_sink *self) {
    bmd_sink_destroy(self->sink); /* closes (flushes) first */
    bmd_sink_destroy(self->guard);
    Py_XDECREF(self->refs);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

bmd_sink *bmdpy_sink_get(PyObject *o) {
    if (o == Py_None) return NULL;
    if (!PyObject_TypeCheck(o, &bmdpy_sink_type)) {
        PyErr_SetString(PyExc_TypeError, "expected a batchmd sink (HostMemory, ExtXYZ, H5MD)");
        return NULL;
    }
    if (!((bmdpy_sink *)o)->sink) {
        PyErr_SetString(PyExc_ValueError, "this sink is closed: make a new one");
        return NULL;
    }
    return ((bmdpy_sink *)o)->guard;
}

/* A new Python Sink owning s (destroyed on failure), with its guard. */
static PyObject *wrap(bmd_status st, bmd_sink *s, PyObject *refs) {
    if (st) return bmdpy_raise(st, NULL);
    guard *g = calloc(1, sizeof *g);
    bmd_sink *gs = g ? calloc(1, sizeof *gs) : NULL;
    bmdpy_sink *o = gs ? PyObject_New(bmdpy_sink, &bmdpy_sink_type) : NULL;
    if (!o) {
        free(g);
        free(gs);
        bmd_sink_destroy(s);
        return PyErr_NoMemory();
    }
    g->inner = s;
    gs->ops = &guard_ops;
    gs->self = g;
    o->sink = s;
    o->guard = gs;
    o->refs = refs;
    Py_XINCREF(refs);
    return (PyObject *)o;
}

/* count() -> systems held (memory sinks; -1 otherwise) */
static PyObject *sink_count(bmdpy_sink *self, PyObject *noargs) {
    (void)noargs;
    return PyLong_FromLong(bmd_sink_memory_count(self->sink));
}

/* drain(max=-1) -> [structure dict], oldest first, taken out of the sink */
static PyObject *sink_drain(bmdpy_sink *self, PyObject *args) {
    long max = -1;
    if (!PyArg_ParseTuple(args, "|l", &max)) return NULL;
    long n = bmd_sink_memory_count(self->sink);
    if (n < 0) return PyErr_SetString(PyExc_TypeError, "only a HostMemory sink can be drained"), NULL;
    if (max >= 0 && max < n) n = max;
    PyObject *out = PyList_New(n);
    for (long i = 0; out && i < n; i++) {
        PyObject *d = bmdpy_system_to_dict(bmd_sink_memory_at(self->sink, i));
        if (!d) Py_CLEAR(out);
        else PyList_SET_ITEM(out, i, d);
    }
    if (!out) return NULL;
    for (long i = 0; i < n; i++) { /* drop what was converted */
        bmd_system s;
        long got = 0;
        if (bmd_sink_memory_drain(self->sink, &s, 1, &got) == BMD_OK && got == 1) bmd_system_free(&s);
    }
    return out;
}

/* close(): flushes and closes the file (the sink takes nothing after) */
static PyObject *sink_close(bmdpy_sink *self, PyObject *noargs) {
    (void)noargs;
    bmd_status st = bmd_sink_destroy(self->sink);
    self->sink = NULL;
    ((guard *)self->guard->self)->inner = NULL; /* writes through the guard are refused from now on */
    if (st) return bmdpy_raise(st, "closing the sink");
    Py_RETURN_NONE;
}

/* write(structure dict) */
static PyObject *sink_write(bmdpy_sink *self, PyObject *d) {
    if (!self->sink) return PyErr_SetString(PyExc_ValueError, "the sink is closed"), NULL;
    bmd_system s;
    if (bmdpy_system_from_dict(d, &s)) return NULL;
    bmd_status st = bmd_sink_write(self->sink, &s);
    bmd_system_free(&s);
    if (st) return bmdpy_raise(st, NULL);
    Py_RETURN_NONE;
}

/* flush(): what was written so far into the file and to disk (the sink's
 * checkpoint commit: extxyz and H5MD hold frames in memory until then);
 * nothing for a sink without a file. A run calls it as it returns, so that
 * its outputs are complete on disk while the sink stays open. */
static PyObject *sink_flush(bmdpy_sink *self, PyObject *noargs) {
    (void)noargs;
    if (!self->sink || !self->sink->ops->commit || bmd_sink_memory_count(self->sink) >= 0) Py_RETURN_NONE;
    void *state = NULL;
    size_t n = 0;
    bmd_status st;
    Py_BEGIN_ALLOW_THREADS
    st = self->sink->ops->commit(self->sink->self, &state, &n);
    Py_END_ALLOW_THREADS
    free(state);
    if (st) return bmdpy_raise(st, "flushing the sink");
    Py_RETURN_NONE;
}

static PyObject *sink_full(bmdpy_sink *self, PyObject *noargs) {
    (void)noargs;
    return PyBool_FromLong(self->sink && bmd_sink_full(self->sink));
}

static PyMethodDef sink_methods[] = {
    {"count", (PyCFunction)sink_count, METH_NOARGS, "Systems held (HostMemory)."},
    {"drain", (PyCFunction)sink_drain, METH_VARARGS, "Takes the held systems out (HostMemory)."},
    {"close", (PyCFunction)sink_close, METH_NOARGS, "Flushes and closes."},
    {"flush", (PyCFunction)sink_flush, METH_NOARGS, "Writes what is held into the file (and to disk)."},
    {"write", (PyCFunction)sink_write, METH_O, "Writes one structure."},
    {"full", (PyCFunction)sink_full, METH_NOARGS, "Whether it takes no more now."},
    {NULL, NULL, 0, NULL}};

PyTypeObject bmdpy_sink_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "batchmd._core.Sink",
    .tp_basicsize = sizeof(bmdpy_sink),
    .tp_dealloc = (destructor)sink_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A libbatchmd sink (made by batchmd.sinks).",
    .tp_methods = sink_methods,
};

static PyObject *sink_memory(PyObject *mod, PyObject *args) {
    (void)mod;
    long cap;
    if (!PyArg_ParseTuple(args, "l", &cap)) return NULL;
    bmd_sink *s = NULL;
    bmd_status st = bmd_sink_memory_create(cap, &s);
    return wrap(st, s, NULL);
}

static int parse_units(const char *u) {
    int k = bmd_units_parse(u);
    if (k < 0) PyErr_Format(PyExc_ValueError, "units: unknown unit system '%s' (expected metal or lj)", u);
    return k;
}

static PyObject *sink_extxyz(PyObject *mod, PyObject *args) {
    (void)mod;
    const char *path, *units;
    if (!PyArg_ParseTuple(args, "ss", &path, &units)) return NULL;
    int u = parse_units(units);
    if (u < 0) return NULL;
    bmd_sink *s = NULL;
    bmd_status st = bmd_sink_extxyz_create(path, (bmd_units_kind)u, &s);
    return wrap(st, s, NULL);
}

static PyObject *sink_h5md(PyObject *mod, PyObject *args) {
    (void)mod;
    const char *path, *units;
    if (!PyArg_ParseTuple(args, "ss", &path, &units)) return NULL;
    int u = parse_units(units);
    if (u < 0) return NULL;
    bmd_sink *s = NULL;
    bmd_status st = bmd_sink_h5md_create(path, (bmd_units_kind)u, &s);
    return wrap(st, s, NULL);
}

/* sink_chain([Sink, ...]): the first not full takes each system */
static PyObject *sink_chain(PyObject *mod, PyObject *list) {
    (void)mod;
    PyObject *seq = PySequence_Fast(list, "expected a list of sinks");
    if (!seq) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    bmd_sink **sinks = PyMem_Calloc((size_t)(n ? n : 1), sizeof *sinks);
    for (Py_ssize_t i = 0; sinks && i < n; i++)
        if (!(sinks[i] = bmdpy_sink_get(PySequence_Fast_GET_ITEM(seq, i)))) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "expected a list of sinks");
            PyMem_Free(sinks);
            Py_DECREF(seq);
            return NULL;
        }
    if (!sinks) {
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    bmd_sink *s = NULL;
    bmd_status st = bmd_sink_chain_create(sinks, (int)n, 0, &s);
    PyMem_Free(sinks);
    PyObject *o = wrap(st, s, seq); /* the chain keeps its sinks alive */
    Py_DECREF(seq);
    return o;
}

/* ---- a Python callable as a sink: called with each structure dict ---- */
typedef struct py_sink {
    PyObject *fn;
} py_sink;

static bmd_status py_sink_write(void *self, const bmd_system *sys) {
    py_sink *p = self;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *d = bmdpy_system_to_dict(sys);
    PyObject *r = d ? PyObject_CallOneArg(p->fn, d) : NULL;
    Py_XDECREF(d);
    bmd_status st = r ? BMD_OK : bmdpy_keep_exception("a Python sink");
    Py_XDECREF(r);
    PyGILState_Release(g);
    return st;
}

static void py_sink_destroy(void *self) {
    py_sink *p = self;
    PyGILState_STATE g = PyGILState_Ensure();
    Py_XDECREF(p->fn);
    PyGILState_Release(g);
    free(p);
}

static const bmd_sink_ops py_sink_ops = {.type = "python", .write = py_sink_write, .destroy = py_sink_destroy};

static PyObject *sink_python(PyObject *mod, PyObject *fn) {
    (void)mod;
    if (!PyCallable_Check(fn)) return PyErr_SetString(PyExc_TypeError, "expected a callable"), NULL;
    py_sink *p = calloc(1, sizeof *p);
    bmd_sink *s = p ? calloc(1, sizeof *s) : NULL;
    if (!s) {
        free(p);
        return PyErr_NoMemory();
    }
    p->fn = Py_NewRef(fn);
    s->ops = &py_sink_ops;
    s->self = p;
    return wrap(BMD_OK, s, NULL);
}

static PyMethodDef methods[] = {
    {"sink_memory", sink_memory, METH_VARARGS, "HostMemory(capacity); <= 0 unbounded."},
    {"sink_extxyz", sink_extxyz, METH_VARARGS, "An extxyz file (path, units)."},
    {"sink_h5md", sink_h5md, METH_VARARGS, "An H5MD file (path, units)."},
    {"sink_chain", sink_chain, METH_O, "A priority chain of sinks."},
    {"sink_python", sink_python, METH_O, "A callable taking each structure dict."},
    {NULL, NULL, 0, NULL}};

int bmdpy_init_sink(PyObject *m) {
    if (PyType_Ready(&bmdpy_sink_type) < 0) return -1;
    if (PyModule_AddObjectRef(m, "Sink", (PyObject *)&bmdpy_sink_type)) return -1;
    return PyModule_AddFunctions(m, methods);
}
