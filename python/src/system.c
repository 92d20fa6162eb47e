/* system.c — a structure crossing between Python and C: the dict of
 * pybmd.h (built and read by python/batchmd/_convert.py) <-> bmd_system. */
#include <stdlib.h>
#include <string.h>

#include "pybmd.h"

int bmdpy_read_buffer(PyObject *obj, void *dst, Py_ssize_t n, Py_ssize_t itemsize, char kind, const char *what) {
    Py_buffer view;
    if (PyObject_GetBuffer(obj, &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return -1;
    const char *f = view.format ? view.format : "B";
    char code = f[strlen(f) - 1];
    int ok = view.len == n * itemsize && view.itemsize == itemsize &&
             (kind == 'f' ? code == 'd' : (code == 'i' || code == 'l' || code == 'q'));
    if (ok) memcpy(dst, view.buf, (size_t)(n * itemsize));
    else
        PyErr_Format(PyExc_ValueError, "%s: expected %zd %s, got a buffer of %zd bytes (format '%s')", what, n,
                     kind == 'f' ? "float64" : "int32", view.len, f);
    PyBuffer_Release(&view);
    return ok ? 0 : -1;
}

/* d[key], or NULL with KeyError; a borrowed reference. */
static PyObject *item(PyObject *d, const char *key) {
    PyObject *v = PyDict_GetItemString(d, key);
    if (!v) PyErr_Format(PyExc_KeyError, "structure dict without '%s'", key);
    return v;
}

/* An optional float64 array of n values into *dst (allocated), None: NULL. */
static int optional_array(PyObject *d, const char *key, Py_ssize_t n, double **dst) {
    PyObject *v = item(d, key);
    if (!v) return -1;
    if (v == Py_None) return 0;
    *dst = malloc(sizeof(double) * (size_t)(n ? n : 1));
    if (!*dst) return PyErr_NoMemory(), -1;
    return bmdpy_read_buffer(v, *dst, n, 8, 'f', key);
}

/* The optional "fixed" flags (a uint8 or bool buffer of n, None: none). */
static int read_fixed(PyObject *d, bmd_system *out) {
    PyObject *v = PyDict_GetItemString(d, "fixed");
    if (!v || v == Py_None) return 0;
    Py_buffer view;
    if (PyObject_GetBuffer(v, &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return -1;
    const char *f = view.format ? view.format : "B";
    char code = f[strlen(f) - 1];
    int ok = view.itemsize == 1 && view.len == out->n_atoms && (code == 'B' || code == '?' || code == 'b');
    int rc = 0;
    if (!ok) {
        PyErr_Format(PyExc_ValueError, "fixed: expected %d uint8 flags, got a buffer of %zd bytes (format '%s')",
                     out->n_atoms, view.len, f);
        rc = -1;
    } else if (bmd_system_ensure_fixed(out)) {
        rc = (bmdpy_raise(BMD_ERR_NOMEM, "fixed"), -1);
    } else {
        const unsigned char *p = view.buf;
        for (int i = 0; i < out->n_atoms; i++) out->fixed[i] = p[i] != 0;
    }
    PyBuffer_Release(&view);
    if (!rc && bmd_system_n_fixed(out) == 0) { /* none fixed: as the extxyz reader leaves it */
        free(out->fixed);
        out->fixed = NULL;
    }
    return rc;
}

static int read_info(PyObject *list, bmd_info *info) {
    PyObject *seq = PySequence_Fast(list, "info: expected a list of (key, value) strings");
    if (!seq) return -1;
    int rc = 0;
    for (Py_ssize_t i = 0; !rc && i < PySequence_Fast_GET_SIZE(seq); i++) {
        const char *k, *v;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "ss", &k, &v)) rc = -1;
        else if (bmd_info_set(info, k, v)) rc = (bmdpy_raise(BMD_ERR_NOMEM, "info"), -1);
    }
    Py_DECREF(seq);
    return rc;
}

int bmdpy_system_from_dict(PyObject *d, bmd_system *out) {
    memset(out, 0, sizeof *out);
    if (!PyDict_Check(d)) return PyErr_SetString(PyExc_TypeError, "expected a structure dict"), -1;
    PyObject *numbers = item(d, "numbers");
    if (!numbers) return -1;
    Py_ssize_t n = PyObject_Length(numbers);
    if (n < 0) return -1;
    if (n > 1 << 30) return PyErr_SetString(PyExc_ValueError, "too many atoms"), -1;
    if (bmd_system_alloc(out, (int)n)) return bmdpy_raise(BMD_ERR_NOMEM, NULL), -1;
    PyObject *v;
    int rc = bmdpy_read_buffer(numbers, out->Z, n, 4, 'i', "numbers");
    if (!rc) rc = (v = item(d, "positions")) ? bmdpy_read_buffer(v, out->pos, 3 * n, 8, 'f', "positions") : -1;
    if (!rc) rc = (v = item(d, "masses")) ? bmdpy_read_buffer(v, out->mass, n, 8, 'f', "masses") : -1;
    if (!rc) rc = (v = item(d, "cell")) ? bmdpy_read_buffer(v, out->cell, 9, 8, 'f', "cell") : -1;
    if (!rc) rc = optional_array(d, "velocities", 3 * n, &out->vel);
    if (!rc) rc = read_fixed(d, out);
    if (!rc && (v = PyDict_GetItemString(d, "pbc"))) {
        PyObject *seq = PySequence_Fast(v, "pbc: expected 3 booleans");
        if (!seq || PySequence_Fast_GET_SIZE(seq) != 3) {
            if (seq) PyErr_SetString(PyExc_ValueError, "pbc: expected 3 booleans");
            rc = -1;
        }
        for (int k = 0; !rc && k < 3; k++) {
            int t = PyObject_IsTrue(PySequence_Fast_GET_ITEM(seq, k));
            if (t < 0) rc = -1;
            out->pbc[k] = (unsigned char)(t > 0);
        }
        Py_XDECREF(seq);
    }
    if (!rc && (v = PyDict_GetItemString(d, "system_id")) && v != Py_None) {
        out->system_id = PyLong_AsLongLong(v);
        if (out->system_id == -1 && PyErr_Occurred()) rc = -1;
    } else {
        out->system_id = -1;
    }
    if (!rc && (v = PyDict_GetItemString(d, "info")) && v != Py_None) rc = read_info(v, &out->info);
    if (rc) bmd_system_free(out);
    return rc;
}

static PyObject *bytes_of(const void *p, size_t n) { return PyBytes_FromStringAndSize((const char *)p, (Py_ssize_t)n); }

PyObject *bmdpy_system_to_dict(const bmd_system *s) {
    size_t n = (size_t)s->n_atoms;
    PyObject *info = PyList_New(s->info.n);
    for (int i = 0; info && i < s->info.n; i++) {
        PyObject *kv = Py_BuildValue("(ss)", s->info.keys[i], s->info.values[i]);
        if (!kv) Py_CLEAR(info);
        else PyList_SET_ITEM(info, i, kv);
    }
    if (!info) return NULL;
    PyObject *none1 = Py_None, *none2 = Py_None, *none3 = Py_None, *none4 = Py_None, *none5 = Py_None;
    PyObject *vel = s->vel ? bytes_of(s->vel, 24 * n) : (Py_INCREF(none1), none1);
    PyObject *forces = s->forces ? bytes_of(s->forces, 24 * n) : (Py_INCREF(none2), none2);
    PyObject *energy = s->has_energy ? PyFloat_FromDouble(s->energy) : (Py_INCREF(none3), none3);
    PyObject *stress = s->has_stress ? bytes_of(s->stress, sizeof s->stress) : (Py_INCREF(none4), none4);
    PyObject *fixed = s->fixed ? bytes_of(s->fixed, n) : (Py_INCREF(none5), none5);
    return Py_BuildValue("{s:N,s:N,s:N,s:N,s:N,s:N,s:(OOO),s:N,s:N,s:L,s:N,s:i,s:N}", "numbers",
                         bytes_of(s->Z, 4 * n), "positions", bytes_of(s->pos, 24 * n), "masses",
                         bytes_of(s->mass, 8 * n), "velocities", vel, "forces", forces, "cell",
                         bytes_of(s->cell, sizeof s->cell), "pbc", s->pbc[0] ? Py_True : Py_False,
                         s->pbc[1] ? Py_True : Py_False, s->pbc[2] ? Py_True : Py_False, "energy", energy,
                         "stress", stress, "system_id", (long long)s->system_id, "info", info, "dof", (int)s->dof,
                         "fixed", fixed);
}

/* roundtrip(d) -> d: a structure through bmd_system and back (tests). */
static PyObject *roundtrip(PyObject *self, PyObject *d) {
    (void)self;
    bmd_system s;
    if (bmdpy_system_from_dict(d, &s)) return NULL;
    PyObject *out = bmdpy_system_to_dict(&s);
    bmd_system_free(&s);
    return out;
}

static PyMethodDef methods[] = {{"system_roundtrip", roundtrip, METH_O, "A structure dict through C and back."},
                                {NULL, NULL, 0, NULL}};

int bmdpy_init_system(PyObject *m) { return PyModule_AddFunctions(m, methods); }
