/* model.c — _core.Model: a bmd_model held by Python. Built-in models are
 * made from a campaign's `model:` mapping (python/batchmd/models.py writes
 * it), so a model made in Python passes the checks a campaign file's does
 * and is the same object; Python models come from bridge.c. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "pybmd.h"

static void model_dealloc(bmdpy_model *self) {
    PyObject_GC_UnTrack(self);
    bmd_model_destroy(self->model);
    if (self->lock) PyThread_free_lock(self->lock);
    Py_XDECREF(self->pyobj);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* A Python model and its object refer to each other (a PythonModel keeps
 * its Model): the cycle is the collector's to break. */
static int model_traverse(bmdpy_model *self, visitproc visit, void *arg) {
    Py_VISIT(self->pyobj);
    return bmdpy_bridge_traverse(self->model, visit, arg);
}

static int model_clear(bmdpy_model *self) {
    if (self->pyobj) { /* only Python models hold Python objects */
        bmd_model *m = self->model;
        self->model = NULL;
        bmd_model_destroy(m);
        Py_CLEAR(self->pyobj);
    }
    return 0;
}

PyObject *bmdpy_model_new(bmd_model *m, PyObject *pyobj, int units) {
    PyThread_type_lock lock = PyThread_allocate_lock();
    bmdpy_model *o = lock ? PyObject_GC_New(bmdpy_model, &bmdpy_model_type) : NULL;
    if (!o) {
        if (lock) PyThread_free_lock(lock);
        bmd_model_destroy(m);
        return lock ? NULL : PyErr_NoMemory();
    }
    o->model = m;
    o->pyobj = Py_XNewRef(pyobj);
    o->units = units;
    o->lock = lock;
    o->owner = 0;
    PyObject_GC_Track((PyObject *)o);
    return (PyObject *)o;
}

bmd_model *bmdpy_model_get(PyObject *o) {
    if (!PyObject_TypeCheck(o, &bmdpy_model_type) || !((bmdpy_model *)o)->model) {
        PyErr_SetString(PyExc_TypeError, "expected a batchmd model (batchmd.models)");
        return NULL;
    }
    return ((bmdpy_model *)o)->model;
}

int bmdpy_model_acquire(PyObject *o) {
    bmdpy_model *m = (bmdpy_model *)o;
    unsigned long me = PyThread_get_thread_ident();
    if (m->owner == me) {
        PyErr_SetString(bmdpy_error, "this model is being evaluated by a run or call of this thread (a hook, "
                                     "dataset, sink or Python model called back from it cannot use it too): "
                                     "make another model object for this use");
        return -1;
    }
    if (!PyThread_acquire_lock(m->lock, NOWAIT_LOCK)) {
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(m->lock, WAIT_LOCK);
        Py_END_ALLOW_THREADS
    }
    m->owner = me;
    return 0;
}

void bmdpy_model_release(PyObject *o) {
    bmdpy_model *m = (bmdpy_model *)o;
    m->owner = 0;
    PyThread_release_lock(m->lock);
}

static PyObject *model_cutoff(bmdpy_model *self, PyObject *noargs) {
    (void)noargs;
    return PyFloat_FromDouble(self->model->ops->cutoff(self->model->self));
}

static PyObject *model_type(bmdpy_model *self, PyObject *noargs) {
    (void)noargs;
    return PyUnicode_FromString(self->model->ops->type);
}

static PyObject *model_list_builds(bmdpy_model *self, PyObject *noargs) {
    (void)noargs;
    return PyLong_FromLong(bmd_model_list_builds(self->model));
}

/* timers() -> (neighbor_s, force_s) */
static PyObject *model_timers(bmdpy_model *self, PyObject *noargs) {
    (void)noargs;
    double nb = 0, f = 0;
    bmd_model_timers(self->model, &nb, &f);
    return Py_BuildValue("(dd)", nb, f);
}

static PyMethodDef model_methods[] = {
    {"cutoff", (PyCFunction)model_cutoff, METH_NOARGS, "Largest interaction range (Å; σ in lj units)."},
    {"type", (PyCFunction)model_type, METH_NOARGS, "The model's type (lj, morse, eam, kim, plugin, python)."},
    {"list_builds", (PyCFunction)model_list_builds, METH_NOARGS, "Neighbor-list builds so far (-1: none kept)."},
    {"timers", (PyCFunction)model_timers, METH_NOARGS, "Seconds in (neighbor lists, the rest of compute)."},
    {NULL, NULL, 0, NULL}};

PyTypeObject bmdpy_model_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "batchmd._core.Model",
    .tp_basicsize = sizeof(bmdpy_model),
    .tp_dealloc = (destructor)model_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)model_traverse,
    .tp_clear = (inquiry)model_clear,
    .tp_doc = "A libbatchmd model (made by batchmd.models).",
    .tp_methods = model_methods,
};

/* model_from_yaml(text, name, dir) -> Model: the campaign text's `model:` */
static PyObject *model_from_yaml(PyObject *mod, PyObject *args) {
    (void)mod;
    const char *text, *name, *dir;
    if (!PyArg_ParseTuple(args, "sss", &text, &name, &dir)) return NULL;
    bmd_campaign c;
    bmd_status st = bmd_campaign_load_text(text, name, dir, BMD_CAMPAIGN_STAGES_OPTIONAL | BMD_CAMPAIGN_INPUT_OPTIONAL, &c);
    if (st) return bmdpy_raise(st, NULL);
    bmd_model *m = NULL;
    Py_BEGIN_ALLOW_THREADS
    st = bmd_campaign_make_model(&c, &m);
    Py_END_ALLOW_THREADS
    int units = (int)c.units;
    bmd_campaign_free(&c);
    if (st) return bmdpy_raise(st, NULL);
    return bmdpy_model_new(m, NULL, units);
}

/* evaluate(model, dataset, max_atoms, max_systems) -> [structure dict]:
 * energy, forces and (periodic systems with a volume) stress, in dataset
 * order (bmd_eval_dataset). */
static PyObject *evaluate(PyObject *mod, PyObject *args) {
    (void)mod;
    PyObject *mo, *dso;
    long max_atoms, max_systems;
    if (!PyArg_ParseTuple(args, "OO!ll", &mo, &bmdpy_dataset_type, &dso, &max_atoms, &max_systems)) return NULL;
    bmd_model *m = bmdpy_model_get(mo);
    if (!m) return NULL;
    bmd_sink *mem = NULL;
    bmd_status st = bmd_sink_memory_create(0, &mem);
    if (st) return bmdpy_raise(st, NULL);
    bmd_run_stats stats;
    if (bmdpy_model_acquire(mo)) {
        bmd_sink_destroy(mem);
        return NULL;
    }
    bmdpy_clear_kept();
    const bmd_dataset *ds = ((bmdpy_dataset *)dso)->ds;
    bmd_dataset *checked = NULL;
    Py_BEGIN_ALLOW_THREADS
    /* the inputs `batchmd eval` refuses (a non-finite position, a species
     * the model lacks ...), refused alike, naming the structure */
    st = bmdpy_check_inputs(NULL, max_atoms > 0 ? max_atoms : LONG_MAX, m, ds, &checked);
    if (!st) st = bmd_eval_dataset(m, checked ? checked : ds, max_atoms, max_systems, mem, &stats);
    bmd_dataset_close(checked);
    Py_END_ALLOW_THREADS
    bmdpy_model_release(mo);
    if (bmdpy_restore_exception()) {
        bmd_sink_destroy(mem);
        return NULL;
    }
    if (st) {
        bmd_sink_destroy(mem);
        return bmdpy_raise(st, "evaluate");
    }
    long n = bmd_sink_memory_count(mem);
    PyObject *out = PyList_New(n);
    for (long i = 0; out && i < n; i++) {
        PyObject *d = bmdpy_system_to_dict(bmd_sink_memory_at(mem, i));
        if (!d) Py_CLEAR(out);
        else PyList_SET_ITEM(out, i, d);
    }
    bmd_sink_destroy(mem);
    return out;
}

/* single_point(model, structure dict, per_atom) -> (energy, forces bytes,
 * virial bytes or None, energies bytes or None): one structure through
 * bmd_model_compute with every output asked for (the ASE calculator). The
 * virial is W (eV, Voigt), NaN where the model cannot give it. */
static PyObject *single_point(PyObject *mod, PyObject *args) {
    (void)mod;
    PyObject *mo, *d;
    int per_atom;
    if (!PyArg_ParseTuple(args, "OOp", &mo, &d, &per_atom)) return NULL;
    bmd_model *m = bmdpy_model_get(mo);
    if (!m) return NULL;
    bmd_system sys;
    if (bmdpy_system_from_dict(d, &sys)) return NULL;
    bmd_batch *b = NULL;
    bmd_status st = bmd_batch_create(&b);
    if (!st) st = bmd_model_check_system(m, &sys);
    if (!st) st = bmd_batch_append(b, &sys, NULL);
    bmd_system_free(&sys);
    size_t n = b ? (size_t)b->n_atoms : 0;
    double energy = NAN, virial[6], *forces = malloc(sizeof(double) * 3 * (n ? n : 1));
    double *epa = per_atom ? malloc(sizeof(double) * (n ? n : 1)) : NULL;
    if (!st && (!forces || (per_atom && !epa))) st = bmd__fail(BMD_ERR_NOMEM, "out of memory");
    for (int k = 0; k < 6; k++) virial[k] = NAN;
    bmd_compute_request req = {.energy = &energy, .forces = forces, .virial = virial, .energy_per_atom = epa};
    bmdpy_clear_kept();
    int locked = 0;
    if (!st) {
        if (bmdpy_model_acquire(mo)) {
            free(forces);
            free(epa);
            bmd_batch_destroy(b);
            return NULL;
        }
        locked = 1;
        Py_BEGIN_ALLOW_THREADS
        st = bmd_model_compute(m, b, &req);
        Py_END_ALLOW_THREADS
    }
    if (locked) bmdpy_model_release(mo);
    PyObject *out = NULL;
    if (bmdpy_restore_exception()) {
    } else if (st) {
        bmdpy_raise(st, NULL);
    } else {
        PyObject *e = epa ? PyBytes_FromStringAndSize((const char *)epa, (Py_ssize_t)(8 * n)) : Py_NewRef(Py_None);
        out = Py_BuildValue("(dy#y#N)", energy, (const char *)forces, (Py_ssize_t)(24 * n), (const char *)virial,
                            (Py_ssize_t)sizeof virial, e);
    }
    free(forces);
    free(epa);
    bmd_batch_destroy(b);
    return out;
}

static PyMethodDef methods[] = {
    {"single_point", single_point, METH_VARARGS, "Energy, forces, virial (and per-atom energies) of one structure."},
    {"model_from_yaml", model_from_yaml, METH_VARARGS, "A model from a campaign text's model: mapping."},
    {"evaluate", evaluate, METH_VARARGS, "Single points of a dataset's structures."},
    {NULL, NULL, 0, NULL}};

int bmdpy_init_model(PyObject *m) {
    if (PyType_Ready(&bmdpy_model_type) < 0) return -1;
    if (PyModule_AddObjectRef(m, "Model", (PyObject *)&bmdpy_model_type)) return -1;
    return PyModule_AddFunctions(m, methods);
}
