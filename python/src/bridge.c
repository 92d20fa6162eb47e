/* bridge.c — Python models (issue #15 item 3): a Python object or function
 * as the force field of a live batch, called once per model evaluation with
 * the whole batch.
 *
 * The model object declares (attributes read once, when the model is made):
 *   cutoff     Å, >= 0 (> 0 when it wants neighbors); default 0
 *   neighbors  None, "full" or "half": edges built in C (edges.h)
 *   strict     true: edges are exactly the pairs with r < cutoff;
 *              false: every pair of the Verlet list (r < cutoff + skin at
 *              the last build); default true
 *   skin       Å, >= 0, the Verlet skin of the candidate lists; default 0.5
 *   species    None (every element) or symbols / atomic numbers
 *   outputs    names among energy, forces, stress (or virial), energies;
 *              default (energy, forces); energy and forces are required
 * and is called as obj.compute(batch) when it has a callable `compute`, else
 * as obj(batch). The call goes through batchmd.models._bridge_call, which
 * wraps the view in a batchmd.models.ModelBatch and turns the returned
 * values into C-contiguous numpy arrays (torch tensors: detach, cpu); here
 * they are checked (dtype float64, shape) and copied into the request.
 *
 * Threading: compute runs with the GIL released; the edges are built
 * without it (OpenMP threads), and it is taken (PyGILState_Ensure) for the
 * Python call and the copy only. A Python exception is kept
 * (bmdpy_keep_exception) and the run stops; a wrong output is an error
 * naming the key and the expected shape; a non-finite value is copied as it
 * is, for the run's NaN hook to take that system out. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batchmd/edges.h"
#include "neighbor/neighbor.h"
#include "pybmd.h"
#include "pyview.h"

enum { NB_NONE = 0, NB_HALF, NB_FULL };

typedef struct bridge {
    PyObject *obj;  /* the model object */
    PyObject *fn;   /* what is called: obj.compute, or obj itself */
    PyObject *call; /* batchmd.models._bridge_call */
    char name[128]; /* for messages */
    double cutoff, skin;
    int neighbors, strict;
    int gives_stress, gives_energies; /* declared outputs */
    int all_species;
    unsigned char species[BMD_N_ELEMENTS];
    bmd_edges *edges; /* NULL without neighbors */
    bmd_model *model; /* the bmd_model around it (its neighbor timer) */
    unsigned char *mask, *one; /* [cap] the systems evaluated, a one-system mask */
    int cap;
} bridge;

static const bmd_model_ops bridge_ops;

/* ---- the model's declarations ---- */

/* obj.<attr>, or a new reference to dflt when absent; NULL with an error
 * message (the Python exception cleared) when reading it raised. */
static PyObject *attr(bridge *br, const char *name, PyObject *dflt) {
    PyObject *v = NULL;
    if (PyObject_HasAttrString(br->obj, name)) v = PyObject_GetAttrString(br->obj, name);
    else return Py_NewRef(dflt);
    if (v) return v;
    PyObject *t, *e, *tb;
    PyErr_Fetch(&t, &e, &tb);
    PyObject *s = e ? PyObject_Str(e) : NULL;
    const char *msg = s ? PyUnicode_AsUTF8(s) : NULL;
    bmd__fail(BMD_ERR_INVALID, "python model %s: reading '%s' raised %s: %s", br->name, name,
              t ? ((PyTypeObject *)t)->tp_name : "an exception", msg ? msg : "");
    Py_XDECREF(s);
    Py_XDECREF(t);
    Py_XDECREF(e);
    Py_XDECREF(tb);
    PyErr_Clear();
    return NULL;
}

static bmd_status read_number(bridge *br, const char *name, double dflt, double *out) {
    PyObject *d = PyFloat_FromDouble(dflt);
    PyObject *v = d ? attr(br, name, d) : NULL;
    Py_XDECREF(d);
    if (!v) return PyErr_Occurred() ? (PyErr_Clear(), bmd__fail(BMD_ERR_NOMEM, "out of memory")) : BMD_ERR_INVALID;
    double x = v == Py_None ? dflt : PyFloat_AsDouble(v);
    int bad = PyErr_Occurred() != NULL || PyBool_Check(v);
    PyErr_Clear();
    const char *tn = Py_TYPE(v)->tp_name;
    Py_DECREF(v);
    if (bad) return bmd__fail(BMD_ERR_INVALID, "python model %s: %s must be a number (Å), not %s", br->name, name, tn);
    if (!isfinite(x) || x < 0)
        return bmd__fail(BMD_ERR_INVALID, "python model %s: %s must be finite and >= 0 (Å), got %g", br->name, name, x);
    *out = x;
    return BMD_OK;
}

static bmd_status read_neighbors(bridge *br) {
    PyObject *v = attr(br, "neighbors", Py_None);
    if (!v) return BMD_ERR_INVALID;
    bmd_status st = BMD_OK;
    const char *s = PyUnicode_Check(v) ? PyUnicode_AsUTF8(v) : NULL;
    if (v == Py_None) br->neighbors = NB_NONE;
    else if (s && !strcmp(s, "full")) br->neighbors = NB_FULL;
    else if (s && !strcmp(s, "half")) br->neighbors = NB_HALF;
    else st = bmd__fail(BMD_ERR_INVALID, "python model %s: neighbors must be None, \"full\" or \"half\"", br->name);
    PyErr_Clear();
    Py_DECREF(v);
    if (st) return st;
    PyObject *strict = attr(br, "strict", Py_True);
    if (!strict) return BMD_ERR_INVALID;
    br->strict = PyObject_IsTrue(strict);
    Py_DECREF(strict);
    if (br->strict < 0) {
        PyErr_Clear();
        return bmd__fail(BMD_ERR_INVALID, "python model %s: strict must be true or false", br->name);
    }
    return BMD_OK;
}

/* species: None, or an iterable of symbols ("Cu") and atomic numbers */
static bmd_status read_species(bridge *br) {
    PyObject *v = attr(br, "species", Py_None);
    if (!v) return BMD_ERR_INVALID;
    br->all_species = v == Py_None;
    memset(br->species, 0, sizeof br->species);
    bmd_status st = BMD_OK;
    PyObject *seq = br->all_species ? NULL : PySequence_Fast(v, "species");
    if (!br->all_species && !seq)
        st = bmd__fail(BMD_ERR_INVALID, "python model %s: species must be None or a list of symbols or atomic numbers",
                       br->name);
    for (Py_ssize_t i = 0; !st && seq && i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *it = PySequence_Fast_GET_ITEM(seq, i);
        int z = -1;
        if (PyUnicode_Check(it)) {
            const char *sym = PyUnicode_AsUTF8(it);
            z = sym ? bmd_element_from_symbol(sym) : -1;
            if (z < 0) st = bmd__fail(BMD_ERR_INVALID, "python model %s: species '%s' is not an element symbol", br->name, sym ? sym : "?");
        } else if (PyLong_Check(it) && !PyBool_Check(it)) {
            long zl = PyLong_AsLong(it);
            z = zl >= 1 && zl < BMD_N_ELEMENTS ? (int)zl : -1;
            if (z < 0) st = bmd__fail(BMD_ERR_INVALID, "python model %s: species %ld is not an atomic number", br->name, zl);
        } else {
            st = bmd__fail(BMD_ERR_INVALID, "python model %s: species entries are symbols or atomic numbers, not %s",
                           br->name, Py_TYPE(it)->tp_name);
        }
        if (!st) br->species[z] = 1;
    }
    PyErr_Clear();
    Py_XDECREF(seq);
    Py_DECREF(v);
    return st;
}

static bmd_status read_outputs(bridge *br) {
    PyObject *dflt = Py_BuildValue("(ss)", "energy", "forces");
    PyObject *v = dflt ? attr(br, "outputs", dflt) : NULL;
    Py_XDECREF(dflt);
    if (!v) return BMD_ERR_INVALID;
    PyObject *seq = PyUnicode_Check(v) ? NULL : PySequence_Fast(v, "outputs");
    bmd_status st = BMD_OK;
    int energy = 0, forces = 0;
    if (!seq) st = bmd__fail(BMD_ERR_INVALID, "python model %s: outputs must be a list of names", br->name);
    for (Py_ssize_t i = 0; !st && i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *it = PySequence_Fast_GET_ITEM(seq, i);
        const char *s = PyUnicode_Check(it) ? PyUnicode_AsUTF8(it) : NULL;
        if (s && !strcmp(s, "energy")) energy = 1;
        else if (s && !strcmp(s, "forces")) forces = 1;
        else if (s && (!strcmp(s, "stress") || !strcmp(s, "virial"))) br->gives_stress = 1;
        else if (s && !strcmp(s, "energies")) br->gives_energies = 1;
        else st = bmd__fail(BMD_ERR_INVALID, "python model %s: unknown output %s%s%s (expected energy, forces, stress, "
                                             "virial, energies)", br->name, s ? "'" : "", s ? s : "(not a string)", s ? "'" : "");
    }
    if (!st && (!energy || !forces))
        st = bmd__fail(BMD_ERR_INVALID, "python model %s: outputs must include energy and forces (every dynamics needs "
                                        "both)", br->name);
    PyErr_Clear();
    Py_XDECREF(seq);
    Py_DECREF(v);
    return st;
}

static void bridge_destroy(void *self) {
    bridge *br = self;
    if (!br) return;
    bmd_edges_destroy(br->edges);
    free(br->mask);
    free(br->one);
    if (Py_IsInitialized()) {
        PyGILState_STATE g = PyGILState_Ensure();
        Py_XDECREF(br->fn);
        Py_XDECREF(br->call);
        Py_XDECREF(br->obj);
        PyGILState_Release(g);
    }
    free(br);
}

bmd_status bmdpy_bridge_model(PyObject *obj, int units, bmd_model **out) {
    if (!obj || !out) return bmd__fail(BMD_ERR_INVALID, "python model: no object");
    if (units != BMD_UNITS_METAL && units != BMD_UNITS_LJ)
        return bmd__fail(BMD_ERR_INVALID, "python model: unknown units %d", units);
    bridge *br = calloc(1, sizeof *br);
    bmd_model *m = br ? calloc(1, sizeof *m) : NULL;
    if (!m) {
        free(br);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    }
    br->obj = Py_NewRef(obj);
    /* its name in messages: obj.name, obj.__qualname__ (a function), or its type's */
    PyObject *qn = PyObject_GetAttrString(obj, "name");
    if (!qn || !PyUnicode_Check(qn)) {
        PyErr_Clear();
        Py_XDECREF(qn);
        qn = PyObject_GetAttrString(obj, "__qualname__");
    }
    if (!qn || !PyUnicode_Check(qn)) {
        PyErr_Clear();
        Py_XDECREF(qn);
        qn = PyUnicode_FromString(Py_TYPE(obj)->tp_name);
    }
    const char *qs = qn ? PyUnicode_AsUTF8(qn) : NULL;
    snprintf(br->name, sizeof br->name, "%s", qs ? qs : "?");
    Py_XDECREF(qn);
    PyErr_Clear();

    bmd_status st = read_number(br, "cutoff", 0.0, &br->cutoff);
    if (!st) st = read_number(br, "skin", 0.5, &br->skin);
    if (!st) st = read_neighbors(br);
    if (!st) st = read_species(br);
    if (!st) st = read_outputs(br);
    if (!st && br->neighbors != NB_NONE && !(br->cutoff > 0))
        st = bmd__fail(BMD_ERR_INVALID, "python model %s: neighbors=\"%s\" needs a cutoff > 0 (Å)", br->name,
                       br->neighbors == NB_FULL ? "full" : "half");
    if (!st) {
        PyObject *compute = PyObject_HasAttrString(obj, "compute") ? PyObject_GetAttrString(obj, "compute") : NULL;
        PyErr_Clear();
        if (compute && PyCallable_Check(compute)) br->fn = compute;
        else if (PyCallable_Check(obj)) {
            Py_XDECREF(compute);
            br->fn = Py_NewRef(obj);
        } else {
            Py_XDECREF(compute);
            st = bmd__fail(BMD_ERR_INVALID, "python model %s: neither callable nor with a compute(batch) method", br->name);
        }
    }
    if (!st) {
        PyObject *mod = PyImport_ImportModule("batchmd.models");
        br->call = mod ? PyObject_GetAttrString(mod, "_bridge_call") : NULL;
        Py_XDECREF(mod);
        if (!br->call) {
            PyErr_Clear();
            st = bmd__fail(BMD_ERR_NOT_FOUND, "python model %s: cannot import batchmd.models._bridge_call (is the "
                                              "batchmd package on sys.path?)", br->name);
        }
    }
    if (!st && br->neighbors != NB_NONE)
        st = bmd_edges_create(br->cutoff, br->skin, br->neighbors == NB_FULL ? BMD_EDGES_FULL : BMD_EDGES_HALF,
                              br->strict, &br->edges);
    if (st) {
        bridge_destroy(br);
        free(m);
        return st;
    }
    br->model = m;
    m->ops = &bridge_ops;
    m->self = br;
    *out = m;
    return BMD_OK;
}

/* ---- checks and cutoff ---- */

/* as the built-in models check a structure: finite positions, a cell the
 * edges can be built in, species it supports (named) */
static bmd_status bridge_check(void *self, const bmd_system *sys) {
    bridge *br = self;
    for (int i = 0; i < 3 * sys->n_atoms; i++)
        if (!isfinite(sys->pos[i]))
            return bmd__fail(BMD_ERR_NUMERIC, "python model %s: atom %d has a non-finite position", br->name, i / 3);
    if (br->edges && bmd__cell_degenerate(sys->cell, sys->pbc))
        return bmd__fail(BMD_ERR_INVALID, "python model %s: the cell is degenerate along its periodic axes (pbc "
                                          "%c%c%c)", br->name, sys->pbc[0] ? 'T' : 'F', sys->pbc[1] ? 'T' : 'F',
                         sys->pbc[2] ? 'T' : 'F');
    if (br->all_species) return BMD_OK;
    char msg[256];
    int len = 0, missing = 0;
    unsigned char seen[BMD_N_ELEMENTS] = {0};
    for (int i = 0; i < sys->n_atoms; i++) {
        int z = sys->Z[i];
        if (z >= 0 && z < BMD_N_ELEMENTS && br->species[z]) continue;
        if (z >= 0 && z < BMD_N_ELEMENTS) {
            if (seen[z]) continue;
            seen[z] = 1;
        }
        const char *sym = bmd_element_symbol(z);
        if (len < (int)sizeof msg - 16)
            len += snprintf(msg + len, sizeof msg - (size_t)len, "%s%s", missing ? ", " : "", sym ? sym : "?");
        missing++;
    }
    if (!missing) return BMD_OK;
    return bmd__fail(BMD_ERR_NOT_FOUND, "python model %s does not support element%s %s (its species)", br->name,
                     missing > 1 ? "s" : "", msg);
}

static double bridge_cutoff(void *self) { return ((bridge *)self)->cutoff; }

/* ---- outputs ---- */

static const char *dtype_name(const Py_buffer *v) {
    const char *f = v->format ? v->format : "B";
    if (*f == '<' || *f == '=' || *f == '@' || *f == '>' || *f == '!') f++;
    switch (*f) {
    case 'd': return v->format[0] == '>' || v->format[0] == '!' ? "big-endian float64" : "float64";
    case 'f': return "float32";
    case 'e': return "float16";
    case 'g': return "float128";
    case 'q': case 'l': return v->itemsize == 8 ? "int64" : "int32";
    case 'i': return "int32";
    case '?': return "bool";
    case 'O': return "object";
    default: return f;
    }
}

static int is_float64(const Py_buffer *v) {
    const char *f = v->format ? v->format : "B";
    return v->itemsize == 8 && (!strcmp(f, "d") || !strcmp(f, "<d") || !strcmp(f, "=d") || !strcmp(f, "@d"));
}

static void shape_text(char *buf, size_t n, int ndim, const Py_ssize_t *shape) {
    int len = snprintf(buf, n, "(");
    for (int k = 0; k < ndim && len < (int)n; k++)
        len += snprintf(buf + len, n - (size_t)len, "%s%zd", k ? ", " : "", shape[k]);
    if (len < (int)n) snprintf(buf + len, n - (size_t)len, ndim == 1 ? ",)" : ")");
}

/* The buffer of output `key` when it has one of the shapes asked (shapes[k]
 * of ndims[k] dims; *which = k). 1: absent; 0: *v filled (release it);
 * -1: an error naming the key and the expected shape. */
static int output(bridge *br, PyObject *res, const char *key, int n_shapes, const int *ndims,
                  const Py_ssize_t shapes[][3], const char *expect, Py_buffer *v, int *which) {
    PyObject *item = PyDict_GetItemString(res, key);
    if (!item) return 1;
    char want[160], got[96];
    int len = 0;
    for (int k = 0; k < n_shapes; k++) {
        if (k) len += snprintf(want + len, sizeof want - (size_t)len, " or ");
        shape_text(want + len, sizeof want - (size_t)len, ndims[k], shapes[k]);
        len = (int)strlen(want);
    }
    if (PyObject_GetBuffer(item, v, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT)) {
        PyErr_Clear();
        bmd__fail(BMD_ERR_INVALID, "python model %s: output '%s' must be a float64 array of shape %s = %s, not %s",
                  br->name, key, expect, want, Py_TYPE(item)->tp_name);
        return -1;
    }
    for (int k = 0; k < n_shapes; k++) {
        if (v->ndim != ndims[k]) continue;
        int ok = 1;
        for (int d = 0; d < ndims[k]; d++) ok &= v->shape[d] == shapes[k][d];
        if (ok && is_float64(v)) {
            *which = k;
            return 0;
        }
    }
    shape_text(got, sizeof got, v->ndim, v->shape);
    bmd__fail(BMD_ERR_INVALID, "python model %s: output '%s' must be a float64 array of shape %s = %s; got %s of "
                               "shape %s", br->name, key, expect, want, dtype_name(v), got);
    PyBuffer_Release(v);
    return -1;
}

static bmd_status missing(bridge *br, const char *key, const char *expect) {
    return bmd__fail(BMD_ERR_INVALID, "python model %s: the returned dict has no '%s' (%s), which this evaluation "
                                      "needs", br->name, key, expect);
}

#define MASKED(req, s) (!(req)->mask || (req)->mask[s])

/* Checks the returned dict and copies its values into req (masked systems
 * only). GIL held. */
static bmd_status take_outputs(bridge *br, const bmd_batch *b, const bmd_compute_request *req, PyObject *res) {
    if (!PyDict_Check(res))
        return bmd__fail(BMD_ERR_INVALID, "python model %s must return a dict {'energy': [n_systems], 'forces': "
                                          "[n_atoms, 3], ...}, not %s", br->name, Py_TYPE(res)->tp_name);
    PyObject *k, *val;
    Py_ssize_t pos = 0;
    while (PyDict_Next(res, &pos, &k, &val)) {
        const char *s = PyUnicode_Check(k) ? PyUnicode_AsUTF8(k) : NULL;
        if (!s || (strcmp(s, "energy") && strcmp(s, "forces") && strcmp(s, "stress") && strcmp(s, "virial") &&
                   strcmp(s, "energies"))) {
            PyErr_Clear();
            return bmd__fail(BMD_ERR_INVALID, "python model %s: unknown output %s%s%s in the returned dict (known: "
                                              "energy, forces, stress, virial, energies)", br->name, s ? "'" : "",
                             s ? s : "(a key that is not a string)", s ? "'" : "");
        }
    }
    if (PyDict_GetItemString(res, "stress") && PyDict_GetItemString(res, "virial"))
        return bmd__fail(BMD_ERR_INVALID, "python model %s: return 'stress' or 'virial', not both", br->name);

    const Py_ssize_t ns = b->n_systems, na = b->n_atoms;
    Py_buffer v;
    int which = 0, r;
    if (req->energy) {
        const int nd[] = {1};
        const Py_ssize_t sh[][3] = {{ns}};
        if ((r = output(br, res, "energy", 1, nd, sh, "[n_systems]", &v, &which)) < 0) return BMD_ERR_INVALID;
        if (r) return missing(br, "energy", "float64 [n_systems], eV");
        const double *e = v.buf;
        for (Py_ssize_t s = 0; s < ns; s++)
            if (MASKED(req, s)) req->energy[s] = e[s];
        PyBuffer_Release(&v);
    }
    if (req->forces) {
        const int nd[] = {2};
        const Py_ssize_t sh[][3] = {{na, 3}};
        if ((r = output(br, res, "forces", 1, nd, sh, "[n_atoms, 3]", &v, &which)) < 0) return BMD_ERR_INVALID;
        if (r) return missing(br, "forces", "float64 [n_atoms, 3], eV/Å");
        const double *f = v.buf;
        for (Py_ssize_t s = 0; s < ns; s++) {
            if (!MASKED(req, s)) continue;
            size_t a0 = 3 * (size_t)b->atom_start[s], n = 3 * (size_t)b->atom_count[s];
            for (size_t i = 0; i < n; i++) req->forces[a0 + i] = f[a0 + i];
        }
        PyBuffer_Release(&v);
    }
    if (req->virial) {
        const int nd_w[] = {2}, nd_s[] = {3, 2};
        const Py_ssize_t sh_w[][3] = {{ns, 6}}, sh_s[][3] = {{ns, 3, 3}, {ns, 6}};
        int is_stress = 0;
        if ((r = output(br, res, "virial", 1, nd_w, sh_w, "[n_systems, 6]", &v, &which)) < 0) return BMD_ERR_INVALID;
        if (r == 1) {
            is_stress = 1;
            r = output(br, res, "stress", 2, nd_s, sh_s, "[n_systems, 3, 3] or [n_systems, 6]", &v, &which);
            if (r < 0) return BMD_ERR_INVALID;
        }
        if (r == 1 && br->gives_stress)
            return missing(br, "stress", "float64 [n_systems, 3, 3] or [n_systems, 6] eV/Å³, or 'virial' [n_systems, 6] eV");
        const double *x = r == 0 ? v.buf : NULL;
        for (Py_ssize_t s = 0; s < ns; s++) {
            if (!MASKED(req, s)) continue;
            double *w = req->virial + 6 * (size_t)s;
            if (!x) { /* the model gives no stress: none for this system (never a placeholder) */
                for (int c = 0; c < 6; c++) w[c] = NAN;
                continue;
            }
            if (!is_stress) {
                for (int c = 0; c < 6; c++) w[c] = x[6 * s + c];
                continue;
            }
            /* W = σ V (σ ASE's sign, eV/Å³); no volume: no virial */
            double vol = bmd_batch_volume(b, (int)s), sv[6];
            if (which == 0) { /* 3x3, symmetrised */
                const double *m = x + 9 * s;
                sv[0] = m[0], sv[1] = m[4], sv[2] = m[8];
                sv[3] = 0.5 * (m[5] + m[7]), sv[4] = 0.5 * (m[2] + m[6]), sv[5] = 0.5 * (m[1] + m[3]);
            } else {
                for (int c = 0; c < 6; c++) sv[c] = x[6 * s + c];
            }
            for (int c = 0; c < 6; c++) w[c] = isfinite(vol) && vol > 0 ? sv[c] * vol : NAN;
        }
        if (x) PyBuffer_Release(&v);
    }
    if (req->energy_per_atom) {
        const int nd[] = {1};
        const Py_ssize_t sh[][3] = {{na}};
        if ((r = output(br, res, "energies", 1, nd, sh, "[n_atoms]", &v, &which)) < 0) return BMD_ERR_INVALID;
        if (r == 1 && br->gives_energies) return missing(br, "energies", "float64 [n_atoms], eV");
        const double *x = r == 0 ? v.buf : NULL;
        for (Py_ssize_t s = 0; s < ns; s++) {
            if (!MASKED(req, s)) continue;
            size_t a0 = (size_t)b->atom_start[s], n = (size_t)b->atom_count[s];
            for (size_t i = 0; i < n; i++) req->energy_per_atom[a0 + i] = x ? x[a0 + i] : NAN;
        }
        if (x) PyBuffer_Release(&v);
    }
    return BMD_OK;
}

/* ---- compute ---- */

/* The edges as a tuple (edge_index [2, E], cell_shifts [E, 3],
 * edge_offsets [n_systems + 1]) of read-only int64 arrays owned by v. */
static PyObject *edge_arrays(bridge *br, bmdpy_view *v) {
    const bmd_edges *e = br->edges;
    Py_ssize_t E = (Py_ssize_t)bmd_edges_count(e), d[2];
    d[0] = 2, d[1] = E;
    PyObject *index = bmdpy_view_array(v, (void *)bmd_edges_index(e), 2, d, 'q', 1);
    d[0] = E, d[1] = 3;
    PyObject *shifts = index ? bmdpy_view_array(v, (void *)bmd_edges_shifts(e), 2, d, 'q', 1) : NULL;
    d[0] = (Py_ssize_t)bmd_edges_n_systems(e) + 1;
    PyObject *offsets = shifts ? bmdpy_view_array(v, (void *)bmd_edges_offsets(e), 1, d, 'q', 1) : NULL;
    /* cached with the view's other arrays (view.array("edge_index") ...),
     * so that whatever checks those after the call sees these too */
    if (offsets && !v->cache && !(v->cache = PyDict_New())) Py_CLEAR(offsets);
    if (offsets && (PyDict_SetItemString(v->cache, "edge_index", index) ||
                    PyDict_SetItemString(v->cache, "cell_shifts", shifts) ||
                    PyDict_SetItemString(v->cache, "edge_offsets", offsets)))
        Py_CLEAR(offsets);
    PyObject *t = offsets ? PyTuple_Pack(3, index, shifts, offsets) : NULL;
    Py_XDECREF(index);
    Py_XDECREF(shifts);
    Py_XDECREF(offsets);
    return t;
}

/* Keeps the Python exception raised in the call (the run re-raises it with
 * its traceback) and fails with a message that names it, for a caller that
 * only reads messages (the command). */
static bmd_status kept(bridge *br) {
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    PyErr_NormalizeException(&t, &v, &tb);
    PyObject *s = v ? PyObject_Str(v) : NULL;
    const char *msg = s ? PyUnicode_AsUTF8(s) : NULL;
    char text[512];
    snprintf(text, sizeof text, "%s%s%s", t ? ((PyTypeObject *)t)->tp_name : "an exception", msg && *msg ? ": " : "",
             msg ? msg : "");
    Py_XDECREF(s);
    PyErr_Clear();
    PyErr_Restore(t, v, tb);
    char where[160];
    snprintf(where, sizeof where, "python model %s", br->name);
    bmdpy_keep_exception(where);
    return bmd__fail(BMD_ERR_RUNTIME, "python model %s raised %s", br->name, text);
}

static bmd_status call_model(bridge *br, const bmd_batch *b, const bmd_compute_request *req) {
    bmdpy_view *v = bmdpy_view_open((bmd_batch *)b, req->mask, 1, 0);
    if (!v) return kept(br);
    PyObject *edges = br->edges ? edge_arrays(br, v) : Py_NewRef(Py_None);
    PyObject *res = edges ? PyObject_CallFunction(br->call, "OOOOOO", br->fn, (PyObject *)v, edges,
                                                  req->forces ? Py_True : Py_False, req->virial ? Py_True : Py_False,
                                                  req->energy_per_atom ? Py_True : Py_False)
                          : NULL;
    Py_XDECREF(edges);
    bmd_status st = res ? take_outputs(br, b, req, res) : kept(br);
    Py_XDECREF(res);
    /* an array still referenced now (kept by the model: a use after the call
     * would read memory the batch reuses) stops the run */
    const char *name = res && !st ? bmdpy_view_kept(v) : NULL;
    if (name) {
        PyErr_Format(bmdpy_error, "python model %s kept the batch array '%s' after compute returned: batch arrays "
                                  "live only during the call that received them (keep a copy: np.array(...))",
                     br->name, name);
        st = kept(br);
    }
    bmdpy_view_close(v);
    return st;
}

/* NaN outputs for slot s: a result the model cannot give */
static void write_nan(const bmd_batch *b, int s, const bmd_compute_request *req) {
    size_t a0 = (size_t)b->atom_start[s], n = (size_t)b->atom_count[s];
    if (req->energy) req->energy[s] = NAN;
    for (size_t i = 0; req->forces && i < 3 * n; i++) req->forces[3 * a0 + i] = NAN;
    for (int c = 0; req->virial && c < 6; c++) req->virial[6 * (size_t)s + c] = NAN;
    for (size_t i = 0; req->energy_per_atom && i < n; i++) req->energy_per_atom[a0 + i] = NAN;
}

/* The edges of the masked systems (C, OpenMP, no GIL). A system with a
 * position not finite or absurdly far from its cell gets NaN outputs and
 * is left out of the call (*mask: the systems the model evaluates), so that
 * the NaN hook takes it out alone, as the built-in models do; the edges'
 * failure names only the first such system, so each is tried alone then. */
static bmd_status build_edges(bridge *br, const bmd_batch *b, const bmd_compute_request *req,
                              const unsigned char **mask) {
    *mask = req->mask;
    bmd_status st = bmd_edges_compute(br->edges, b, req->mask);
    if (st != BMD_ERR_NUMERIC) return st;
    const int ns = b->n_systems;
    if (ns > br->cap) {
        unsigned char *m = realloc(br->mask, (size_t)ns), *o = m ? realloc(br->one, (size_t)ns) : NULL;
        if (m) br->mask = m;
        if (!o) return bmd__fail(BMD_ERR_NOMEM, "python model %s: out of memory", br->name);
        br->one = o;
        br->cap = ns;
    }
    memset(br->one, 0, (size_t)ns);
    for (int s = 0; s < ns; s++) {
        br->mask[s] = 0;
        if (!MASKED(req, s)) continue;
        br->one[s] = 1;
        st = bmd_edges_compute(br->edges, b, br->one);
        br->one[s] = 0;
        if (st && st != BMD_ERR_NUMERIC) return st;
        if (st) write_nan(b, s, req);
        else br->mask[s] = 1;
    }
    *mask = br->mask;
    return bmd_edges_compute(br->edges, b, br->mask);
}

static bmd_status bridge_compute(void *self, const bmd_batch *b, const bmd_compute_request *req) {
    bridge *br = self;
    int any = 0;
    for (int s = 0; s < b->n_systems && !any; s++) any = MASKED(req, s);
    if (!any) return BMD_OK;
    bmd_compute_request r = *req;
    if (br->edges) {
        double t0 = bmd_clock();
        bmd_status st = build_edges(br, b, req, &r.mask);
        br->model->t_neighbor += bmd_clock() - t0;
        if (st) return st;
        any = 0;
        for (int s = 0; s < b->n_systems && !any; s++) any = MASKED(&r, s);
        if (!any) return BMD_OK;
    }
    PyGILState_STATE g = PyGILState_Ensure();
    bmd_status st = call_model(br, b, &r);
    PyGILState_Release(g);
    return st;
}

static const bmd_model_ops bridge_ops = {
    .type = "python",
    .compute = bridge_compute,
    .check_system = bridge_check,
    .cutoff = bridge_cutoff,
    .destroy = bridge_destroy,
};

int bmdpy_bridge_traverse(const bmd_model *m, visitproc visit, void *arg) {
    if (!m || m->ops != &bridge_ops) return 0;
    bridge *br = m->self;
    Py_VISIT(br->obj);
    Py_VISIT(br->fn);
    return 0;
}

/* ---- module functions ---- */

/* python_model(obj) -> Model: obj as a batchmd model (units from obj.units,
 * default "metal") */
static PyObject *python_model(PyObject *mod, PyObject *obj) {
    (void)mod;
    int units = BMD_UNITS_METAL;
    PyObject *u = PyObject_HasAttrString(obj, "units") ? PyObject_GetAttrString(obj, "units") : NULL;
    if (PyErr_Occurred()) return NULL;
    if (u && u != Py_None) {
        const char *s = PyUnicode_Check(u) ? PyUnicode_AsUTF8(u) : NULL;
        units = s ? bmd_units_parse(s) : -1;
        if (units < 0) {
            Py_DECREF(u);
            return PyErr_Format(PyExc_ValueError, "python model: units must be \"metal\" or \"lj\"");
        }
    }
    Py_XDECREF(u);
    bmd_model *m = NULL;
    bmd_status st = bmdpy_bridge_model(obj, units, &m);
    if (st) return bmdpy_raise(st, NULL);
    return bmdpy_model_new(m, obj, units);
}

/* edge_builds(model) -> int: Verlet-list builds of a Python model's edges
 * (-1: it asks for none) */
static PyObject *edge_builds(PyObject *mod, PyObject *mo) {
    (void)mod;
    bmd_model *m = bmdpy_model_get(mo);
    if (!m) return NULL;
    if (m->ops != &bridge_ops) return PyErr_Format(PyExc_TypeError, "not a Python model");
    bridge *br = m->self;
    return PyLong_FromLong(br->edges ? bmd_edges_builds(br->edges) : -1);
}

static PyMethodDef methods[] = {
    {"python_model", python_model, METH_O, "A Python object (compute(batch) or a callable) as a batchmd model."},
    {"edge_builds", edge_builds, METH_O, "Verlet-list builds of a Python model's neighbor edges (-1: none)."},
    {NULL, NULL, 0, NULL}};

int bmdpy_init_bridge(PyObject *m) { return PyModule_AddFunctions(m, methods); }
