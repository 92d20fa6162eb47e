/* dataset.c — _core.Dataset: what feeds a run (flow.h): structures held in
 * memory (a list of Atoms), extxyz files, or a Python object with the
 * seeds' three methods (__len__, __getitem__, get_metadata), called back
 * with the GIL as the sampler asks. */
#include <string.h>

#include "pybmd.h"

static void dataset_dealloc(bmdpy_dataset *self) {
    bmd_dataset_close(self->ds);
    Py_XDECREF(self->refs);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *dataset_len(bmdpy_dataset *self, PyObject *noargs) {
    (void)noargs;
    return PyLong_FromLong(bmd_dataset_size(self->ds));
}

/* get(i) -> structure dict (system_id = i) */
static PyObject *dataset_get(bmdpy_dataset *self, PyObject *args) {
    long i;
    if (!PyArg_ParseTuple(args, "l", &i)) return NULL;
    bmd_system s;
    bmdpy_clear_kept();
    bmd_status st = bmd_dataset_get(self->ds, i, &s);
    if (bmdpy_restore_exception()) return NULL;
    if (st) return bmdpy_raise(st, NULL);
    PyObject *d = bmdpy_system_to_dict(&s);
    bmd_system_free(&s);
    return d;
}

static PyMethodDef dataset_methods[] = {
    {"size", (PyCFunction)dataset_len, METH_NOARGS, "Number of structures."},
    {"get", (PyCFunction)dataset_get, METH_VARARGS, "Structure i as a dict."},
    {NULL, NULL, 0, NULL}};

PyTypeObject bmdpy_dataset_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "batchmd._core.Dataset",
    .tp_basicsize = sizeof(bmdpy_dataset),
    .tp_dealloc = (destructor)dataset_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A libbatchmd dataset (made by batchmd.sampler).",
    .tp_methods = dataset_methods,
};

static PyObject *wrap(bmd_status st, bmd_dataset *ds, PyObject *refs) {
    if (st) return bmdpy_raise(st, NULL);
    bmdpy_dataset *o = PyObject_New(bmdpy_dataset, &bmdpy_dataset_type);
    if (!o) {
        bmd_dataset_close(ds);
        return NULL;
    }
    o->ds = ds;
    o->refs = refs;
    Py_XINCREF(refs);
    return (PyObject *)o;
}

/* dataset_memory([structure dict]) */
static PyObject *dataset_memory(PyObject *mod, PyObject *list) {
    (void)mod;
    PyObject *seq = PySequence_Fast(list, "expected a list of structures");
    if (!seq) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    bmd_system *sys = PyMem_Calloc((size_t)(n ? n : 1), sizeof *sys);
    Py_ssize_t made = 0;
    int rc = sys ? 0 : (PyErr_NoMemory(), -1);
    for (; !rc && made < n; made++)
        if (bmdpy_system_from_dict(PySequence_Fast_GET_ITEM(seq, made), &sys[made])) {
            PyObject *t, *v, *tb;
            PyErr_Fetch(&t, &v, &tb);
            PyErr_NormalizeException(&t, &v, &tb);
            PyErr_Format(PyExc_ValueError, "structure %zd: %S", made, v ? v : Py_None);
            Py_XDECREF(t);
            Py_XDECREF(v);
            Py_XDECREF(tb);
            rc = -1;
            break;
        }
    Py_DECREF(seq);
    bmd_dataset *ds = NULL;
    bmd_status st = BMD_OK;
    if (!rc) st = bmd_dataset_from_systems(sys, n, 1, &ds);
    for (Py_ssize_t i = 0; i < made; i++) bmd_system_free(&sys[i]);
    PyMem_Free(sys);
    if (rc) return NULL;
    return wrap(st, ds, NULL);
}

/* dataset_extxyz([path], units) */
static PyObject *dataset_extxyz(PyObject *mod, PyObject *args) {
    (void)mod;
    PyObject *list;
    const char *units;
    if (!PyArg_ParseTuple(args, "Os", &list, &units)) return NULL;
    int u = bmd_units_parse(units);
    if (u < 0) return PyErr_Format(PyExc_ValueError, "units: unknown unit system '%s'", units);
    PyObject *seq = PySequence_Fast(list, "expected a list of paths");
    if (!seq) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    const char **paths = PyMem_Calloc((size_t)(n ? n : 1), sizeof *paths);
    int rc = paths ? 0 : (PyErr_NoMemory(), -1);
    for (Py_ssize_t i = 0; !rc && i < n; i++)
        if (!(paths[i] = PyUnicode_AsUTF8(PySequence_Fast_GET_ITEM(seq, i)))) rc = -1;
    bmd_dataset *ds = NULL;
    bmd_status st = BMD_OK;
    if (!rc) {
        Py_BEGIN_ALLOW_THREADS
        st = bmd_dataset_open_extxyz(paths, (int)n, (bmd_units_kind)u, &ds);
        Py_END_ALLOW_THREADS
    }
    PyMem_Free(paths);
    Py_DECREF(seq);
    if (rc) return NULL;
    return wrap(st, ds, NULL);
}

/* ---- a Python dataset: length n, get(i) -> structure dict, meta(i) ->
 * (atoms, edges) (edges -1: unknown) ---- */
typedef struct py_ds {
    long n;
    PyObject *get, *meta;
} py_ds;

static long py_length(void *self) { return ((py_ds *)self)->n; }

static bmd_status py_get(void *self, long i, bmd_system *out) {
    py_ds *p = self;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *d = PyObject_CallFunction(p->get, "l", i);
    bmd_status st = BMD_OK;
    if (!d || bmdpy_system_from_dict(d, out)) st = bmdpy_keep_exception("the dataset's __getitem__");
    Py_XDECREF(d);
    PyGILState_Release(g);
    return st;
}

static bmd_status py_meta(void *self, long i, bmd_dataset_meta *out) {
    py_ds *p = self;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *r = PyObject_CallFunction(p->meta, "l", i);
    bmd_status st = BMD_OK;
    long atoms = 0, edges = -1;
    if (!r || !PyArg_ParseTuple(r, "ll", &atoms, &edges)) st = bmdpy_keep_exception("the dataset's get_metadata");
    else if (atoms < 0 || atoms > 1L << 30) {
        PyErr_Format(PyExc_ValueError, "get_metadata(%ld): %ld atoms", i, atoms);
        st = bmdpy_keep_exception("the dataset's get_metadata");
    }
    Py_XDECREF(r);
    PyGILState_Release(g);
    out->n_atoms = (int)atoms;
    out->n_edges = edges;
    return st;
}

static void py_destroy(void *self) {
    py_ds *p = self;
    PyGILState_STATE g = PyGILState_Ensure();
    Py_XDECREF(p->get);
    Py_XDECREF(p->meta);
    PyGILState_Release(g);
    free(p);
}

static const bmd_dataset_ops py_ops = {
    .type = "python", .length = py_length, .get = py_get, .metadata = py_meta, .destroy = py_destroy};

/* dataset_python(n, get, meta) */
static PyObject *dataset_python(PyObject *mod, PyObject *args) {
    (void)mod;
    long n;
    PyObject *get, *meta;
    if (!PyArg_ParseTuple(args, "lOO", &n, &get, &meta)) return NULL;
    if (n < 0) return PyErr_SetString(PyExc_ValueError, "a dataset's length must be >= 0"), NULL;
    py_ds *p = calloc(1, sizeof *p);
    if (!p) return PyErr_NoMemory();
    p->n = n;
    Py_INCREF(get);
    Py_INCREF(meta);
    p->get = get;
    p->meta = meta;
    bmd_dataset *ds = NULL;
    bmd_status st = bmd_dataset_create(&py_ops, p, &ds); /* frees p on failure */
    return wrap(st, ds, NULL);
}

static PyMethodDef methods[] = {
    {"dataset_memory", dataset_memory, METH_O, "Structures held in memory."},
    {"dataset_extxyz", dataset_extxyz, METH_VARARGS, "Extended XYZ files."},
    {"dataset_python", dataset_python, METH_VARARGS, "A Python dataset (n, get, meta)."},
    {NULL, NULL, 0, NULL}};

int bmdpy_init_dataset(PyObject *m) {
    if (PyType_Ready(&bmdpy_dataset_type) < 0) return -1;
    if (PyModule_AddObjectRef(m, "Dataset", (PyObject *)&bmdpy_dataset_type)) return -1;
    return PyModule_AddFunctions(m, methods);
}
