/* embed.c — the extension's side of Python models made from C
 * (include/batchmd/model_python.h; the campaign's `model: {type: python}`).
 * libbatchmd's src/models/python_embed.c loads this extension (and, in a
 * process without Python, libpython first) and calls it through three
 * exported symbols:
 *   bmdpy_embed_model_create   starts Python when it is not running, imports
 *                              batchmd and the user's module, calls the
 *                              factory with the params as keyword arguments
 *                              and bridges the result (bridge.c);
 *   bmdpy_embed_model_compute  bmd_model_compute of this extension's copy
 *                              of libbatchmd (its neighbor timer is this
 *                              copy's), printing the traceback of a Python
 *                              exception the model raised;
 *   bmdpy_embed_last_error     this copy's bmd_last_error().
 * The caller usually has its own copy of libbatchmd (the command links it
 * statically): models, batches and requests cross between two copies of the
 * same build, whose structs have the same layout; messages are copied by
 * the caller. A Python exception's traceback is printed on stderr, the one
 * place it can go: the command has no Python caller to re-raise it to. */
#include "pybmd.h" /* Python.h first: it sets the feature macros (dladdr, realpath) */

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "batchmd/model_python.h"

#define EXPORT __attribute__((visibility("default")))

EXPORT int bmdpy_embed_model_create(const char *module, const char *object, const bmd_python_param *params,
                                    int n_params, int units, const char *base_dir, void **model_out);
EXPORT int bmdpy_embed_model_compute(void *model, const bmd_batch *b, const bmd_compute_request *req);
EXPORT const char *bmdpy_embed_last_error(void);

/* ---- starting Python (a process that has none: the command) ---- */

static bmd_status start_python(void) {
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&lock);
    bmd_status st = BMD_OK;
    if (!Py_IsInitialized()) {
        PyConfig cfg;
        PyConfig_InitPythonConfig(&cfg); /* PYTHONPATH and the rest of the environment apply */
        cfg.install_signal_handlers = 0; /* the command's own handlers stop a run (checkpoints) */
        cfg.parse_argv = 0;
        /* print() in a model reaches the file at once: the interpreter is
         * never finalized, so a buffer would be lost at exit. C's stdio is
         * the command's and left alone. */
        cfg.buffered_stdio = 0;
        cfg.configure_c_stdio = 0;
        PyStatus s = PyStatus_Ok();
#ifdef BMD_PYTHON_EXECUTABLE
        /* sys.executable and the prefix of the Python the build found, not
         * whichever python3 comes first on PATH */
        s = PyConfig_SetBytesString(&cfg, &cfg.program_name, BMD_PYTHON_EXECUTABLE);
#endif
        if (!PyStatus_Exception(s)) s = Py_InitializeFromConfig(&cfg);
        PyConfig_Clear(&cfg);
        if (PyStatus_Exception(s))
            st = bmd__fail(BMD_ERR_RUNTIME, "python model: cannot start Python: %s%s%s",
                           s.func ? s.func : "", s.func ? ": " : "", s.err_msg ? s.err_msg : "unknown error");
        else
            /* the GIL released for good: every later use takes it with
             * PyGILState_Ensure, from whichever thread calls */
            (void)PyEval_SaveThread();
    }
    pthread_mutex_unlock(&lock);
    return st;
}

/* ---- Python exceptions as messages ---- */

/* "TypeName: text" of the current exception into buf; prints its
 * traceback on sys.stderr when `show`; clears it. */
static void take_exception(int show, char *buf, size_t len) {
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    PyErr_NormalizeException(&t, &v, &tb);
    if (tb && v) PyException_SetTraceback(v, tb);
    PyObject *s = v ? PyObject_Str(v) : NULL;
    const char *text = s ? PyUnicode_AsUTF8(s) : NULL;
    if (!text) PyErr_Clear();
    snprintf(buf, len, "%s%s%s", t ? ((PyTypeObject *)t)->tp_name : "an exception", text && *text ? ": " : "",
             text ? text : "");
    Py_XDECREF(s);
    if (show && t) {
        PyErr_Display(t, v, tb); /* not PyErr_Print: a SystemExit must not end the process */
        PyErr_Clear();
    }
    Py_XDECREF(t);
    Py_XDECREF(v);
    Py_XDECREF(tb);
}

/* ---- sys.path and the batchmd package ---- */

/* dir (made absolute) at the front of sys.path unless it is there. */
static int path_front(const char *dir) {
    char *abs = realpath(dir, NULL);
    PyObject *d = PyUnicode_DecodeFSDefault(abs ? abs : dir);
    free(abs);
    PyObject *path = PySys_GetObject("path"); /* borrowed */
    int rc = -1;
    if (d && path && PyList_Check(path)) {
        int has = PySequence_Contains(path, d);
        rc = has < 0 ? -1 : has ? 0 : PyList_Insert(path, 0, d);
    } else if (d) {
        PyErr_SetString(PyExc_RuntimeError, "sys.path is not a list");
    }
    Py_XDECREF(d);
    return rc;
}

/* The folder of path (a copy; "." for a bare name). */
static char *folder_of(const char *path) {
    const char *slash = strrchr(path, '/');
    size_t n = !slash ? 1 : slash == path ? 1 : (size_t)(slash - path);
    char *d = malloc(n + 1);
    if (!d) return NULL;
    if (!slash) memcpy(d, ".", 2);
    else {
        memcpy(d, slash == path ? "/" : path, n);
        d[n] = '\0';
    }
    return d;
}

static int same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Imports batchmd from the package this extension belongs to (so that its
 * module state, which the bridge uses, is this copy's). */
static const char this_file; /* an address in this extension, for dladdr */

static bmd_status import_batchmd(void) {
    Dl_info info;
    if (!dladdr(&this_file, &info) || !info.dli_fname)
        return bmd__fail(BMD_ERR_RUNTIME, "cannot tell where the batchmd extension was loaded from");
    const char *ext = info.dli_fname;
    PyObject *mods = PySys_GetObject("modules"); /* borrowed */
    if (!mods || !PyDict_GetItemString(mods, "batchmd")) {
        char *pkg = folder_of(ext), *parent = pkg ? folder_of(pkg) : NULL;
        int rc = parent ? path_front(parent) : -1;
        free(pkg);
        free(parent);
        if (rc) {
            char why[512];
            take_exception(0, why, sizeof why);
            return bmd__fail(BMD_ERR_RUNTIME, "cannot extend sys.path: %s", why);
        }
    }
    PyObject *core = PyImport_ImportModule("batchmd._core");
    if (!core) {
        char why[1024];
        take_exception(1, why, sizeof why);
        return bmd__fail(BMD_ERR_IO, "cannot import batchmd (the package of %s): %s", ext, why);
    }
    PyObject *file = PyObject_GetAttrString(core, "__file__");
    const char *f = file && PyUnicode_Check(file) ? PyUnicode_AsUTF8(file) : NULL;
    bmd_status st = BMD_OK;
    if (!f || !same_file(f, ext))
        st = bmd__fail(BMD_ERR_RUNTIME,
                       "`import batchmd` found the extension %s, not %s (the one loaded): set "
                       "BATCHMD_PYTHON_EXT or PYTHONPATH so that both are the same",
                       f ? f : "(unknown)", ext);
    PyErr_Clear();
    Py_XDECREF(file);
    Py_DECREF(core);
    return st;
}

/* ---- the user's module ---- */

static int is_file_module(const char *module) {
    size_t n = strlen(module);
    return strchr(module, '/') || (n > 3 && strcmp(module + n - 3, ".py") == 0);
}

/* *name, or *name_K (K = 2, 3, ...) when sys.modules holds *name from
 * another file (a model file called numpy.py must not replace numpy). */
static int unique_name(char **name, const char *path) {
    PyObject *mods = PySys_GetObject("modules");
    size_t n = strlen(*name);
    for (int k = 2; mods; k++) {
        PyObject *m = PyDict_GetItemString(mods, *name); /* borrowed */
        PyObject *f = m ? PyObject_GetAttrString(m, "__file__") : NULL;
        const char *fs = f && PyUnicode_Check(f) ? PyUnicode_AsUTF8(f) : NULL;
        int free_name = !m || (fs && same_file(fs, path));
        Py_XDECREF(f);
        PyErr_Clear();
        if (free_name) return 0;
        char *alt = malloc(n + 16);
        if (!alt) return -1;
        snprintf(alt, n + 16, "%.*s_%d", (int)n, *name, k);
        free(*name);
        *name = alt;
    }
    return 0;
}

/* module as a Python file: its path (relative to base_dir), loaded under
 * its stem's name as `python3 file.py` would import it (unless a module of
 * that name from another file is imported already). New reference. */
static PyObject *load_file(const char *module, const char *base_dir, bmd_status *st) {
    size_t nb = base_dir && module[0] != '/' ? strlen(base_dir) + 1 : 0;
    char *path = malloc(nb + strlen(module) + 1);
    if (!path) return *st = bmd__fail(BMD_ERR_NOMEM, "out of memory"), NULL;
    if (nb) sprintf(path, "%s/%s", base_dir, module);
    else strcpy(path, module);
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        *st = bmd__fail(BMD_ERR_NOT_FOUND, "no such file %s", path);
        free(path);
        return NULL;
    }
    char *real = realpath(path, NULL); /* tracebacks show /a/b/m.py, not ./m.py */
    if (real) {
        free(path);
        path = real;
    }
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t ns = strlen(base);
    if (ns > 3 && strcmp(base + ns - 3, ".py") == 0) ns -= 3;
    char *name = malloc(ns + 1);
    char *dir = folder_of(path);
    PyObject *util = NULL, *spec = NULL, *mod = NULL, *loader = NULL, *ran = NULL;
    if (!name || !dir) {
        *st = bmd__fail(BMD_ERR_NOMEM, "out of memory");
        goto done;
    }
    memcpy(name, base, ns);
    name[ns] = '\0';
    if (unique_name(&name, path)) {
        *st = bmd__fail(BMD_ERR_NOMEM, "out of memory");
        goto done;
    }
    char why[2048];
    if (path_front(dir)) {
        take_exception(0, why, sizeof why);
        *st = bmd__fail(BMD_ERR_RUNTIME, "cannot extend sys.path: %s", why);
        goto done;
    }
    util = PyImport_ImportModule("importlib.util");
    spec = util ? PyObject_CallMethod(util, "spec_from_file_location", "ss", name, path) : NULL;
    if (spec == Py_None) {
        Py_CLEAR(spec);
        PyErr_Format(PyExc_ImportError, "not a Python module file: %s", path);
    }
    mod = spec ? PyObject_CallMethod(util, "module_from_spec", "O", spec) : NULL;
    /* in sys.modules while it runs, as an import does (dataclasses, pickle) */
    PyObject *mods = PySys_GetObject("modules");
    if (mod && (!mods || PyDict_SetItemString(mods, name, mod))) Py_CLEAR(mod);
    loader = mod ? PyObject_GetAttrString(spec, "loader") : NULL;
    ran = loader ? PyObject_CallMethod(loader, "exec_module", "O", mod) : NULL;
    if (!ran) {
        take_exception(1, why, sizeof why);
        if (mods && PyDict_GetItemString(mods, name)) PyDict_DelItemString(mods, name);
        PyErr_Clear();
        Py_CLEAR(mod);
        *st = bmd__fail(BMD_ERR_INVALID, "importing %s raised %s (traceback above)", path, why);
    }
done:
    Py_XDECREF(ran);
    Py_XDECREF(loader);
    Py_XDECREF(spec);
    Py_XDECREF(util);
    free(name);
    free(dir);
    free(path);
    return mod;
}

/* module as a dotted name, with base_dir at the front of sys.path. New reference. */
static PyObject *load_dotted(const char *module, const char *base_dir, bmd_status *st) {
    char why[2048];
    if (base_dir && path_front(base_dir)) {
        take_exception(0, why, sizeof why);
        *st = bmd__fail(BMD_ERR_RUNTIME, "cannot extend sys.path: %s", why);
        return NULL;
    }
    PyObject *mod = PyImport_ImportModule(module);
    if (mod) return mod;
    /* the module itself missing: the traceback would show importlib only */
    int missing = 0;
    if (PyErr_ExceptionMatches(PyExc_ModuleNotFoundError)) {
        PyObject *t, *v, *tb;
        PyErr_Fetch(&t, &v, &tb);
        PyErr_NormalizeException(&t, &v, &tb);
        PyObject *nm = v ? PyObject_GetAttrString(v, "name") : NULL;
        const char *n = nm && PyUnicode_Check(nm) ? PyUnicode_AsUTF8(nm) : NULL;
        size_t len = n ? strlen(n) : 0;
        missing = n && strncmp(module, n, len) == 0 && (module[len] == '\0' || module[len] == '.');
        PyErr_Clear();
        Py_XDECREF(nm);
        PyErr_Restore(t, v, tb);
    }
    take_exception(!missing, why, sizeof why);
    if (missing)
        *st = bmd__fail(BMD_ERR_NOT_FOUND,
                        "no module %s on sys.path (%s; a file is named with its .py)", module,
                        why);
    else
        *st = bmd__fail(BMD_ERR_INVALID, "importing %s raised %s (traceback above)", module, why);
    return NULL;
}

/* ---- the factory's arguments ---- */

static PyObject *param_value(const bmd_python_param *p) {
    switch (p->kind) {
    case BMD_PY_NONE: Py_RETURN_NONE;
    case BMD_PY_BOOL: return PyBool_FromLong(p->flag != 0);
    case BMD_PY_FLOAT: return PyFloat_FromDouble(p->number);
    case BMD_PY_STR: return PyUnicode_FromString(p->text ? p->text : "");
    case BMD_PY_INT: {
        const char *t = p->text ? p->text : "";
        const char *d = t + (*t == '+' || *t == '-');
        int prefixed = d[0] == '0' && (d[1] == 'x' || d[1] == 'X' || d[1] == 'o' || d[1] == 'O');
        return PyLong_FromString(t, NULL, prefixed ? 0 : 10); /* base 10: leading zeros are decimal */
    }
    }
    return PyErr_Format(PyExc_ValueError, "unknown kind %d", (int)p->kind);
}

static PyObject *make_kwargs(const bmd_python_param *params, int n, bmd_status *st) {
    PyObject *kw = PyDict_New();
    for (int i = 0; kw && i < n; i++) {
        PyObject *v = param_value(&params[i]);
        if (!v || PyDict_SetItemString(kw, params[i].key, v)) {
            char why[512];
            take_exception(0, why, sizeof why);
            *st = bmd__fail(BMD_ERR_INVALID, "parameter %s: %s", params[i].key, why);
            Py_XDECREF(v);
            Py_CLEAR(kw);
            return NULL;
        }
        Py_DECREF(v);
    }
    if (!kw) *st = bmd__fail(BMD_ERR_NOMEM, "out of memory");
    return kw;
}

/* ---- the model ---- */

/* obj.units, when declared, must be the units asked for. */
static bmd_status check_units(PyObject *obj, int units) {
    if (!PyObject_HasAttrString(obj, "units")) return BMD_OK;
    PyObject *u = PyObject_GetAttrString(obj, "units");
    bmd_status st = BMD_OK;
    if (!u) {
        char why[512];
        take_exception(0, why, sizeof why);
        return bmd__fail(BMD_ERR_INVALID, "reading the model's units raised %s", why);
    }
    if (u != Py_None) {
        const char *s = PyUnicode_Check(u) ? PyUnicode_AsUTF8(u) : NULL;
        int k = s ? bmd_units_parse(s) : -1;
        if (k < 0)
            st = bmd__fail(BMD_ERR_INVALID, "the model's units must be \"metal\" or \"lj\"");
        else if (k != units)
            st = bmd__fail(BMD_ERR_INVALID, "the model computes in %s units, the run is in %s units", s, units == BMD_UNITS_LJ ? "lj" : "metal");
    }
    PyErr_Clear();
    Py_DECREF(u);
    return st;
}

static bmd_status make_model(const char *module, const char *object, const bmd_python_param *params, int n_params,
                             int units, const char *base_dir, bmd_model **out) {
    bmd_status st = import_batchmd();
    if (st) return st;
    PyObject *mod = is_file_module(module) ? load_file(module, base_dir, &st) : load_dotted(module, base_dir, &st);
    if (!mod) return st;
    char why[2048];
    PyObject *fn = PyObject_GetAttrString(mod, object), *kw = NULL, *obj = NULL;
    Py_DECREF(mod);
    if (!fn) {
        take_exception(0, why, sizeof why);
        st = bmd__fail(BMD_ERR_NOT_FOUND, "module %s has no object %s", module, object);
    } else if (!PyCallable_Check(fn)) {
        st = bmd__fail(BMD_ERR_INVALID,
                       "%s is a %s, not callable (expected a model class or a function that returns a model)",
                       object, Py_TYPE(fn)->tp_name);
    } else if ((kw = make_kwargs(params, n_params, &st))) {
        PyObject *none = PyTuple_New(0);
        obj = none ? PyObject_Call(fn, none, kw) : NULL;
        Py_XDECREF(none);
        if (!obj) {
            take_exception(1, why, sizeof why);
            st = bmd__fail(BMD_ERR_INVALID, "%s(**params) raised %s (traceback above)", object, why);
        } else if (obj == Py_None) {
            st = bmd__fail(BMD_ERR_INVALID,
                           "%s(**params) returned None (expected a model: a batchmd.models.PythonModel, or an "
                           "object with its attributes)", object);
        } else if (!(st = check_units(obj, units))) {
            st = bmdpy_bridge_model(obj, units, out);
        }
    }
    Py_XDECREF(obj);
    Py_XDECREF(kw);
    Py_XDECREF(fn);
    PyErr_Clear();
    return st;
}

EXPORT int bmdpy_embed_model_create(const char *module, const char *object, const bmd_python_param *params,
                                    int n_params, int units, const char *base_dir, void **model_out) {
    if (!model_out) return bmd__fail(BMD_ERR_INVALID, "python model: out is NULL");
    *model_out = NULL;
    if (!module || !*module || !object || !*object)
        return bmd__fail(BMD_ERR_INVALID, "python model: needs a module and an object");
    if (n_params < 0 || (n_params > 0 && !params))
        return bmd__fail(BMD_ERR_INVALID, "python model: %d parameters but none given", n_params);
    for (int i = 0; i < n_params; i++)
        if (!params[i].key) return bmd__fail(BMD_ERR_INVALID, "python model: parameter %d has no name", i);
    if (units != BMD_UNITS_METAL && units != BMD_UNITS_LJ)
        return bmd__fail(BMD_ERR_INVALID, "python model: unknown units %d", units);
    bmd_status st = start_python();
    if (st) return st;
    PyGILState_STATE g = PyGILState_Ensure();
    bmd_model *m = NULL;
    st = make_model(module, object, params, n_params, units, base_dir, &m);
    PyGILState_Release(g);
    if (!st) {
        *model_out = m;
        return BMD_OK;
    }
    /* every message names the model as module:object */
    char why[2048];
    snprintf(why, sizeof why, "%s", bmd_last_error());
    return bmd__fail(st, "python model %s:%s: %s", module, object, why);
}

EXPORT int bmdpy_embed_model_compute(void *model, const bmd_batch *b, const bmd_compute_request *req) {
    bmd_status st = bmd_model_compute(model, b, req);
    if (!st || !Py_IsInitialized()) return st;
    PyGILState_STATE g = PyGILState_Ensure();
    if (bmdpy_restore_exception()) { /* the message names it already: print where it came from */
        char was[2048], why[2048];
        snprintf(was, sizeof was, "%s", bmd_last_error());
        take_exception(1, why, sizeof why);
        st = bmd__fail(st, "%s (traceback above)", was);
    }
    PyGILState_Release(g);
    return st;
}

EXPORT const char *bmdpy_embed_last_error(void) { return bmd_last_error(); }
