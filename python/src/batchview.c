/* batchview.c — _core.BatchView: the live batch as numpy arrays without
 * copies, for a hook or a Python model, valid only during that call.
 *
 * Each array is a BatchArray, a buffer exporter over the batch's own memory
 * (shape and format given, so np.asarray makes an (n, 3) float64 array, an
 * int32 vector, ...). When the call returns, the view is invalidated: asking
 * it (or its arrays) for a buffer again raises; arrays already made still
 * point into the batch and must not be used after the call (the batch is
 * compacted, grown and refilled between calls). docs/python.md says so;
 * a hook that keeps one past its call is stopped with an error
 * (bmdpy_view_kept), rather than left to read or write freed memory. */
#include <string.h>

#include "pybmd.h"
#include "pyview.h"

/* ---- BatchArray ---- */
typedef struct batch_array {
    PyObject_HEAD
    bmdpy_view *view; /* owner: its `valid` gates every buffer request */
    void *ptr;
    int ndim;
    Py_ssize_t shape[3], strides[3];
    Py_ssize_t itemsize;
    const char *format;
    int readonly;
} batch_array;

static void array_dealloc(batch_array *a) {
    Py_XDECREF(a->view);
    Py_TYPE(a)->tp_free((PyObject *)a);
}

static int array_getbuffer(batch_array *a, Py_buffer *v, int flags) {
    if (!a->view->valid) {
        PyErr_SetString(PyExc_ValueError, "this batch view is no longer valid: batch arrays live only during the "
                                          "hook or model call that received them (copy what you keep)");
        return -1;
    }
    if ((flags & PyBUF_WRITABLE) && a->readonly) {
        PyErr_SetString(PyExc_BufferError, "this batch array is read-only");
        return -1;
    }
    Py_ssize_t n = a->itemsize;
    for (int k = 0; k < a->ndim; k++) n *= a->shape[k];
    v->buf = a->ptr;
    v->obj = (PyObject *)a;
    Py_INCREF(a);
    v->len = n;
    v->readonly = a->readonly;
    v->itemsize = a->itemsize;
    v->format = (flags & PyBUF_FORMAT) ? (char *)a->format : NULL;
    v->ndim = a->ndim;
    v->shape = (flags & PyBUF_ND) ? a->shape : NULL;
    v->strides = (flags & PyBUF_STRIDES) == PyBUF_STRIDES ? a->strides : NULL;
    v->suboffsets = NULL;
    v->internal = NULL;
    return 0;
}

static PyBufferProcs array_buffer = {(getbufferproc)array_getbuffer, NULL};

static PyTypeObject batch_array_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "batchmd._core.BatchArray",
    .tp_basicsize = sizeof(batch_array),
    .tp_dealloc = (destructor)array_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_as_buffer = &array_buffer,
    .tp_doc = "One array of the live batch (a buffer; np.asarray makes it an array without a copy).",
};

static PyObject *np_asarray; /* numpy.asarray, imported once */

/* np.asarray over (ptr, shape) of the view: dims is {d0} or {d0, d1} or {d0, d1, d2}. */
PyObject *bmdpy_view_array(bmdpy_view *view, void *ptr, int ndim, const Py_ssize_t *dims, char fmt, int readonly) {
    if (!np_asarray) {
        PyObject *np = PyImport_ImportModule("numpy");
        if (!np) return NULL;
        np_asarray = PyObject_GetAttrString(np, "asarray");
        Py_DECREF(np);
        if (!np_asarray) return NULL;
    }
    batch_array *a = PyObject_New(batch_array, &batch_array_type);
    if (!a) return NULL;
    Py_INCREF(view);
    a->view = view;
    static const char *formats[] = {"d", "i", "q", "B"};
    a->format = fmt == 'd' ? formats[0] : fmt == 'i' ? formats[1] : fmt == 'q' ? formats[2] : formats[3];
    a->itemsize = fmt == 'd' || fmt == 'q' ? 8 : fmt == 'i' ? 4 : 1;
    a->ndim = ndim;
    Py_ssize_t stride = a->itemsize;
    for (int k = ndim - 1; k >= 0; k--) {
        a->shape[k] = dims[k];
        a->strides[k] = stride;
        stride *= dims[k];
    }
    a->readonly = readonly;
    /* numpy refuses a NULL buffer pointer even for zero items */
    static double empty;
    a->ptr = ptr ? ptr : &empty;
    PyObject *arr = PyObject_CallOneArg(np_asarray, (PyObject *)a);
    Py_DECREF(a);
    return arr;
}

/* ---- BatchView ---- */
static void view_dealloc(bmdpy_view *v) {
    Py_XDECREF(v->cache);
    Py_TYPE(v)->tp_free((PyObject *)v);
}

static PyObject *invalid(void) {
    PyErr_SetString(PyExc_ValueError, "this batch view is no longer valid: it lives only during the hook or model "
                                      "call that received it");
    return NULL;
}

/* The array `name` of the batch (cached per call). */
static PyObject *view_get(bmdpy_view *v, const char *name) {
    if (!v->valid) return invalid();
    PyObject *hit = v->cache ? PyDict_GetItemString(v->cache, name) : NULL;
    if (hit) return Py_NewRef(hit);
    const bmd_batch *b = v->batch;
    Py_ssize_t na = b->n_atoms, ns = b->n_systems, d[3];
    PyObject *a = NULL;
    if (!strcmp(name, "positions")) a = (d[0] = na, d[1] = 3, bmdpy_view_array(v, b->pos, 2, d, 'd', v->readonly));
    else if (!strcmp(name, "velocities")) a = (d[0] = na, d[1] = 3, bmdpy_view_array(v, b->vel, 2, d, 'd', v->readonly));
    else if (!strcmp(name, "forces")) a = (d[0] = na, d[1] = 3, bmdpy_view_array(v, b->force, 2, d, 'd', v->readonly));
    else if (!strcmp(name, "masses")) a = (d[0] = na, bmdpy_view_array(v, b->mass, 1, d, 'd', v->readonly));
    else if (!strcmp(name, "numbers")) a = (d[0] = na, bmdpy_view_array(v, b->Z, 1, d, 'i', 1));
    else if (!strcmp(name, "system_index")) a = (d[0] = na, bmdpy_view_array(v, b->sys, 1, d, 'i', 1));
    else if (!strcmp(name, "atom_start")) a = (d[0] = ns, bmdpy_view_array(v, b->atom_start, 1, d, 'i', 1));
    else if (!strcmp(name, "atom_count")) a = (d[0] = ns, bmdpy_view_array(v, b->atom_count, 1, d, 'i', 1));
    else if (!strcmp(name, "cells")) a = (d[0] = ns, d[1] = 3, d[2] = 3, bmdpy_view_array(v, b->cell, 3, d, 'd', v->readonly));
    else if (!strcmp(name, "pbc")) a = (d[0] = ns, d[1] = 3, bmdpy_view_array(v, b->pbc, 2, d, 'B', 1));
    else if (!strcmp(name, "energies")) a = (d[0] = ns, bmdpy_view_array(v, b->energy, 1, d, 'd', v->readonly));
    else if (!strcmp(name, "stress")) a = (d[0] = ns, d[1] = 6, bmdpy_view_array(v, b->stress, 2, d, 'd', v->readonly));
    else if (!strcmp(name, "status")) a = (d[0] = ns, bmdpy_view_array(v, b->status, 1, d, 'i', 1));
    else if (!strcmp(name, "system_id")) a = (d[0] = ns, bmdpy_view_array(v, b->system_id, 1, d, 'q', 1));
    else if (!strcmp(name, "forces_valid")) a = (d[0] = ns, bmdpy_view_array(v, b->forces_valid, 1, d, 'B', 1));
    else if (!strcmp(name, "mask")) {
        if (!v->mask) Py_RETURN_NONE;
        a = (d[0] = ns, bmdpy_view_array(v, (void *)v->mask, 1, d, 'B', 1));
    } else return PyErr_Format(PyExc_KeyError, "the batch has no array '%s'", name);
    if (a && (v->cache || (v->cache = PyDict_New()))) PyDict_SetItemString(v->cache, name, a);
    return a;
}

static PyObject *view_array(bmdpy_view *v, PyObject *args) {
    const char *name;
    if (!PyArg_ParseTuple(args, "s", &name)) return NULL;
    return view_get(v, name);
}

/* info(slot, key) -> str or None: the structure's info value */
static PyObject *view_info(bmdpy_view *v, PyObject *args) {
    int slot;
    const char *key;
    if (!PyArg_ParseTuple(args, "is", &slot, &key)) return NULL;
    if (!v->valid) return invalid();
    if (slot < 0 || slot >= v->batch->n_systems) return PyErr_Format(PyExc_IndexError, "slot %d out of range", slot);
    const char *val = bmd_info_get(&v->batch->info[slot], key);
    if (!val) Py_RETURN_NONE;
    return PyUnicode_FromString(val);
}

/* fail(slot, reason): takes the system out (status = reason), the rest go on */
static PyObject *view_fail(bmdpy_view *v, PyObject *args) {
    int slot;
    const char *reason;
    if (!PyArg_ParseTuple(args, "is", &slot, &reason)) return NULL;
    if (!v->valid) return invalid();
    if (!v->can_fail) return PyErr_SetString(PyExc_ValueError, "systems can be taken out from hooks only"), NULL;
    if (slot < 0 || slot >= v->batch->n_systems) return PyErr_Format(PyExc_IndexError, "slot %d out of range", slot);
    bmd_status st = bmd_stage_fail(v->batch, slot, reason);
    if (st) return bmdpy_raise(st, NULL);
    Py_RETURN_NONE;
}

static PyObject *view_sizes(bmdpy_view *v, void *closure) {
    (void)closure;
    if (!v->valid) return invalid();
    return Py_BuildValue("(ii)", v->batch->n_atoms, v->batch->n_systems);
}

static PyMethodDef view_methods[] = {
    {"array", (PyCFunction)view_array, METH_VARARGS, "An array of the batch, without a copy."},
    {"info", (PyCFunction)view_info, METH_VARARGS, "A system's info value (str) or None."},
    {"fail", (PyCFunction)view_fail, METH_VARARGS, "Takes a system out with a reason."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef view_getset[] = {{"sizes", (getter)view_sizes, NULL, "(atoms, systems)", NULL},
                                    {NULL, NULL, NULL, NULL, NULL}};

static PyMemberDef view_members[] = {
    {"point", T_INT, offsetof(bmdpy_view, point), READONLY, "The hook point (0 for a model call)."},
    {"step", T_LONG, offsetof(bmdpy_view, step), READONLY, "The stage's loop step."},
    {"substage", T_INT, offsetof(bmdpy_view, substage), READONLY, "The sub-stage concerned (-1: all)."},
    {NULL, 0, 0, 0, NULL}};

PyTypeObject bmdpy_view_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "batchmd._core.BatchView",
    .tp_basicsize = sizeof(bmdpy_view),
    .tp_dealloc = (destructor)view_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The live batch during one hook or model call.",
    .tp_methods = view_methods,
    .tp_getset = view_getset,
    .tp_members = view_members,
};

bmdpy_view *bmdpy_view_open(bmd_batch *b, const unsigned char *mask, int readonly, int can_fail) {
    bmdpy_view *v = PyObject_New(bmdpy_view, &bmdpy_view_type);
    if (!v) return NULL;
    v->batch = b;
    v->mask = mask;
    v->valid = 1;
    v->readonly = readonly;
    v->can_fail = can_fail;
    v->cache = NULL;
    v->point = 0;
    v->step = 0;
    v->substage = -1;
    return v;
}

const char *bmdpy_view_kept(bmdpy_view *v) {
    PyObject *key, *arr;
    Py_ssize_t pos = 0;
    /* the cache holds one reference to each array made; another one (the
     * array itself, or a numpy view of it, whose base it is) outlives the
     * call and would point into memory the batch reuses */
    while (v->cache && PyDict_Next(v->cache, &pos, &key, &arr))
        if (Py_REFCNT(arr) > 1) return PyUnicode_AsUTF8(key);
    return NULL;
}

void bmdpy_view_close(bmdpy_view *v) {
    if (!v) return;
    v->valid = 0;
    Py_CLEAR(v->cache);
    Py_DECREF(v);
}

int bmdpy_init_view(PyObject *m) {
    if (PyType_Ready(&batch_array_type) < 0 || PyType_Ready(&bmdpy_view_type) < 0) return -1;
    return PyModule_AddObjectRef(m, "BatchView", (PyObject *)&bmdpy_view_type);
}
