/* pybmd.h — internal header of the extension batchmd._core (python/src/):
 * what its files share. Written against the CPython C API only (no NumPy C
 * API): arrays cross as buffers (numpy arrays in, bytes or memoryviews out,
 * wrapped by np.frombuffer on the Python side).
 *
 * Threading: a run releases the GIL while C works; every callback into
 * Python (a Python model, hook, dataset or sink) takes it with
 * PyGILState_Ensure for the call only. The first Python exception raised
 * in a callback is kept (bmdpy_keep_exception), the callback returns an
 * error so that the run stops, and the run re-raises that exception with
 * its traceback (bmdpy_restore_exception). */
#ifndef BATCHMD_PYBMD_H
#define BATCHMD_PYBMD_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "batchmd/batchmd.h"

/* batchmd.BatchmdError (a RuntimeError): what the library reports. */
extern PyObject *bmdpy_error;
/* Raises BatchmdError "<what>: <bmd_last_error()>" (what may be NULL);
 * returns NULL. */
PyObject *bmdpy_raise(bmd_status st, const char *what);

/* 1 when the calling thread is Python's main thread (where signals reach
 * Python: a run there catches SIGINT/SIGTERM), 0 otherwise, -1 with an
 * exception. */
int bmdpy_on_main_thread(void);

/* ---- exceptions raised in callbacks (GIL held) ---- */
/* Keeps the current Python exception (the first of a run) and returns
 * BMD_ERR_RUNTIME with a message naming `where`. */
bmd_status bmdpy_keep_exception(const char *where);
/* Re-raises a kept exception: 1 when there was one (now set), else 0. */
int bmdpy_restore_exception(void);
/* Drops a kept exception (at the start of a run). */
void bmdpy_clear_kept(void);

/* ---- systems as dicts (python/batchmd/_convert.py builds and reads them) ----
 * keys: numbers (int32 buffer [n]), positions (float64 [3n], Å), masses
 * (float64 [n], amu), velocities (float64 [3n], Å/fs, or None), forces
 * (float64 [3n], eV/Å, or None), cell (float64 [9], rows a b c, Å), pbc
 * (3 bools), energy (float or None, eV), stress (float64 [6], Voigt xx yy
 * zz yz xz xy, eV/Å³, ASE's sign, or None), system_id (int), info (list of
 * (key, value) strings, as an extxyz info line holds them), dof (system.h's
 * bmd_dof_rule: 0 all, 1 momentum conserved, 2 fix_com), fixed (uint8 [n],
 * 1: a fixed atom, ASE's FixAtoms; None or absent: none). Out: the arrays
 * are bytes. */
int bmdpy_system_from_dict(PyObject *d, bmd_system *out); /* 0, or -1 with an exception */
PyObject *bmdpy_system_to_dict(const bmd_system *s);
/* Reads a C-contiguous buffer of n items of itemsize bytes (a numpy array of
 * the right dtype) into dst; -1 with an exception naming `what` otherwise. */
int bmdpy_read_buffer(PyObject *obj, void *dst, Py_ssize_t n, Py_ssize_t itemsize, char kind, const char *what);

/* ---- objects ---- */
typedef struct bmdpy_model {
    PyObject_HEAD
    bmd_model *model;
    PyObject *pyobj; /* a Python model's object (bridge.c), else NULL */
    int units;       /* the bmd_units_kind it was made for */
    /* A bmd_model keeps state between evaluations (neighbor lists, work
     * arrays) and is not safe to evaluate from two threads at once: every
     * use with the GIL released holds this lock (bmdpy_model_acquire). */
    PyThread_type_lock lock;
    unsigned long owner; /* the thread holding it, 0: none (read and written with the GIL) */
} bmdpy_model;
extern PyTypeObject bmdpy_model_type;
/* A new _core.Model owning m (destroyed on failure), for the Python object
 * pyobj (a Python model's, else NULL), made for units. */
PyObject *bmdpy_model_new(bmd_model *m, PyObject *pyobj, int units);
/* The model of a _core.Model (NULL with TypeError otherwise). */
bmd_model *bmdpy_model_get(PyObject *o);
/* Takes the model's lock for the calling thread, waiting (GIL released)
 * while another thread uses it: 0, or -1 with BatchmdError when this thread
 * holds it already (a hook, dataset, sink or model called back during a run
 * that evaluates the same model: it would deadlock, or corrupt the run's
 * state). Call with the GIL; o must be a _core.Model. */
int bmdpy_model_acquire(PyObject *o);
void bmdpy_model_release(PyObject *o); /* with the GIL */

/* A file sink (extxyz, H5MD) opens its file when a run first takes it
 * (bmdpy_sink_get), not when it is made: a pipeline script makes the same
 * sinks on every MPI rank, and only the rank whose stage or final writes one
 * may create (truncate) the file. */
typedef struct bmdpy_sink {
    PyObject_HEAD
    bmd_sink *sink;  /* the sink itself; NULL before a file sink is opened and once closed */
    bmd_sink *guard; /* what runs, chains and hooks write to: forwards to
                      * sink while it is open, refuses after (so a chain or
                      * a run holding it never writes into a closed sink's
                      * freed memory); freed with the object */
    PyObject *refs;  /* objects it depends on (a chain's sinks, a callable) */
    char *path;      /* a file sink's file (absolute), opened by bmdpy_sink_get; else NULL */
    int kind;        /* BMDPY_SINK_* */
    int units;       /* a file sink's bmd_units_kind */
    int closed;      /* close() was called: takes nothing more */
} bmdpy_sink;
enum { BMDPY_SINK_OTHER = 0, BMDPY_SINK_EXTXYZ, BMDPY_SINK_H5MD, BMDPY_SINK_CHAIN };
extern PyTypeObject bmdpy_sink_type;
/* The guard of a _core.Sink for a run to write to, its file opened (created
 * or truncated) now if it is a file sink not yet opened, and a chain's
 * sinks likewise; None -> NULL (no error); NULL with TypeError for another
 * object, ValueError for a closed sink, the open's error for a file that
 * cannot be created. */
bmd_sink *bmdpy_sink_get(PyObject *o);

typedef struct bmdpy_dataset {
    PyObject_HEAD
    bmd_dataset *ds;
    PyObject *refs;
} bmdpy_dataset;
extern PyTypeObject bmdpy_dataset_type;

/* ---- Python models (bridge.c) ----
 * A bmd_model ("python") over obj: obj.compute(batch), or obj(batch) when it
 * has no compute method, once per evaluation with the live batch; its
 * declarations (cutoff, neighbors, strict, skin, species, outputs, name)
 * are read now. GIL held. The model keeps a reference to obj (dropped, with
 * the GIL taken, when it is destroyed). units: the bmd_units_kind of the
 * runs it serves. Errors (a declaration refused) come as a status with a
 * message; no Python exception is left set. */
bmd_status bmdpy_bridge_model(PyObject *obj, int units, bmd_model **out);
/* Visits the Python objects a Python model holds (the Model type's GC
 * traversal); 0 for other models. */
int bmdpy_bridge_traverse(const bmd_model *m, visitproc visit, void *arg);

/* Builds the hook described by spec (a tuple (kind, args...), hooks.py) for
 * one run: *out is a fresh hook the stage will own. -1 with an exception. */
int bmdpy_hook_make(PyObject *spec, const bmd_units *units, bmd_hook **out);

/* A run's statistics as a dict (stats.c): names[i] and drift[i] (an NVE
 * sub-stage's drift monitor, or NULL) for the stats' sub-stages i < n_names. */
PyObject *bmdpy_stats_dict(const bmd_run_stats *s, const char *const *names, int n_names, bmd_hook *const *drift);

/* The command's checks of a run's inputs (inputs.c) against the campaign
 * c (NULL: no stages, for evaluate), a budget of max_atoms and the models
 * models[0..n_models) (each structure against each; labels[k], or labels
 * NULL, names model k's stages in the message when n_models > 1): every
 * structure of a memory or extxyz dataset now (BMD_OK, or the first bad
 * one's error); a Python dataset's as they load: *checked is then a
 * dataset over ds (borrowing ds, c and the models; the labels copied) to
 * use instead, closed after. A model's check_system only reads the model
 * (its species, its cutoff): a model held by another thread's run may be
 * checked against. */
bmd_status bmdpy_check_inputs(const bmd_campaign *c, long max_atoms, bmd_model *const *models,
                              const char *const *labels, int n_models, const bmd_dataset *ds, bmd_dataset **checked);

/* ---- SIGINT/SIGTERM during a run (stop.c) ---- */
#include <signal.h>
typedef struct bmdpy_stop {
    int active;
    struct sigaction was_int, was_term;
} bmdpy_stop;
/* On Python's main thread: installs the stop handlers and returns the flag
 * for bmd_run_options.stop (cleared); elsewhere installs nothing, NULL. */
volatile sig_atomic_t *bmdpy_stop_begin(bmdpy_stop *s, int main_thread);
/* Restores Python's handlers; 1 when a signal asked the run to stop. */
int bmdpy_stop_end(bmdpy_stop *s);

/* ---- each file adds its functions and types to the module ---- */
int bmdpy_init_system(PyObject *m);
int bmdpy_init_model(PyObject *m);
int bmdpy_init_sink(PyObject *m);
int bmdpy_init_dataset(PyObject *m);
int bmdpy_init_hook(PyObject *m);
int bmdpy_init_run(PyObject *m);
int bmdpy_init_pipeline(PyObject *m);
int bmdpy_init_command(PyObject *m);
int bmdpy_init_bridge(PyObject *m);

#endif
