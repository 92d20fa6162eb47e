/* module.c — batchmd._core: the module, its error type, the exceptions kept
 * across a run, and the catalogue of dynamics (names, units, defaults) that
 * python/batchmd/dynamics.py builds its classes from. */
#include <math.h>

#include "io/campaign_internal.h"
#include "pybmd.h"
#include "pyview.h"

PyObject *bmdpy_error;

PyObject *bmdpy_raise(bmd_status st, const char *what) {
    const char *msg = bmd_last_error();
    if (!msg[0]) msg = bmd_status_text(st);
    if (what) PyErr_Format(bmdpy_error, "%s: %s", what, msg);
    else PyErr_SetString(bmdpy_error, msg);
    return NULL;
}

/* A run is driven by one thread; its callbacks run on it. */
static _Thread_local PyObject *kept_type, *kept_value, *kept_tb;

bmd_status bmdpy_keep_exception(const char *where) {
    if (!kept_type) PyErr_Fetch(&kept_type, &kept_value, &kept_tb);
    else PyErr_Clear();
    return bmd__fail(BMD_ERR_RUNTIME, "%s raised a Python exception", where);
}

int bmdpy_restore_exception(void) {
    if (!kept_type) return 0;
    PyErr_Restore(kept_type, kept_value, kept_tb);
    kept_type = kept_value = kept_tb = NULL;
    return 1;
}

void bmdpy_clear_kept(void) {
    Py_CLEAR(kept_type);
    Py_CLEAR(kept_value);
    Py_CLEAR(kept_tb);
}

/* 1 when the calling thread is Python's main thread (the one signals are
 * delivered to Python on), 0 otherwise, -1 with an exception. The head of
 * the interpreter's thread list is the thread created last, not the main
 * one, so the test asks threading.main_thread(). */
int bmdpy_on_main_thread(void) {
    PyObject *threading = PyImport_ImportModule("threading");
    PyObject *main = threading ? PyObject_CallMethod(threading, "main_thread", NULL) : NULL;
    PyObject *ident = main ? PyObject_GetAttrString(main, "ident") : NULL;
    int out = -1;
    if (ident) {
        unsigned long id = PyLong_AsUnsignedLong(ident);
        if (!(id == (unsigned long)-1 && PyErr_Occurred())) out = id == PyThread_get_thread_ident();
    }
    Py_XDECREF(ident);
    Py_XDECREF(main);
    Py_XDECREF(threading);
    return out;
}

/* dynamics_types() -> [(type, doc, is_optimizer, dof, [(name, unit, default|None, doc, optional, group|None,
 *                     kind, choices|None, expected|None)], class name)]
 * (kind: dynamics.h's bmd_param_kind) */
static PyObject *dynamics_types(PyObject *self, PyObject *noargs) {
    (void)self;
    (void)noargs;
    int n = 0;
    const bmd_dynamics_type *const *all = bmd_dynamics_types(&n);
    PyObject *out = PyList_New(0);
    for (int i = 0; out && i < n; i++) {
        const bmd_dynamics_type *t = all[i];
        PyObject *params = PyList_New(0);
        for (int k = 0; params && k < t->n_params; k++) {
            const bmd_param_desc *p = &t->params[k];
            PyObject *def = isnan(p->def) ? (Py_INCREF(Py_None), Py_None) : PyFloat_FromDouble(p->def);
            PyObject *row = def ? Py_BuildValue("(ssNsizizz)", p->name, p->unit, def, p->doc, p->optional, p->group,
                                                (int)p->kind, p->choices, p->expected)
                                : NULL;
            if (!row || PyList_Append(params, row)) Py_CLEAR(params);
            Py_XDECREF(row);
        }
        PyObject *row = params ? Py_BuildValue("(ssiiNz)", t->type, t->doc, t->is_optimizer, (int)t->dof, params,
                                               t->py_name)
                               : NULL;
        if (!row || PyList_Append(out, row)) Py_CLEAR(out);
        Py_XDECREF(row);
    }
    return out;
}

/* param_out_of_range(type, name, value) -> None, or what is expected */
static PyObject *param_out_of_range(PyObject *self, PyObject *args) {
    (void)self;
    const char *type, *name;
    double x;
    if (!PyArg_ParseTuple(args, "ssd", &type, &name, &x)) return NULL;
    const char *expected = bmd__campaign_param_out_of_range(type, name, x);
    if (!expected) Py_RETURN_NONE;
    return PyUnicode_FromString(expected);
}

static PyObject *version(PyObject *self, PyObject *noargs) {
    (void)self;
    (void)noargs;
    return PyUnicode_FromString(bmd_version());
}

static PyMethodDef methods[] = {
    {"dynamics_types", dynamics_types, METH_NOARGS, "The dynamics catalogue."},
    {"param_out_of_range", param_out_of_range, METH_VARARGS, "None, or the range a parameter expects."},
    {"version", version, METH_NOARGS, "libbatchmd's version."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef moduledef = {.m_base = PyModuleDef_HEAD_INIT,
                                       .m_name = "batchmd._core",
                                       .m_doc = "batchmd's C core (libbatchmd); use the package batchmd.",
                                       .m_size = -1,
                                       .m_methods = methods};

PyMODINIT_FUNC PyInit__core(void) {
    PyObject *m = PyModule_Create(&moduledef);
    if (!m) return NULL;
    bmdpy_error = PyErr_NewExceptionWithDoc("batchmd.BatchmdError", "An error reported by libbatchmd.",
                                            PyExc_RuntimeError, NULL);
    if (!bmdpy_error || PyModule_AddObjectRef(m, "BatchmdError", bmdpy_error) || bmdpy_init_system(m) ||
        bmdpy_init_model(m) || bmdpy_init_view(m) || bmdpy_init_sink(m) || bmdpy_init_dataset(m) || bmdpy_init_hook(m) ||
        bmdpy_init_run(m) || bmdpy_init_pipeline(m) || bmdpy_init_command(m) || bmdpy_init_bridge(m)) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
