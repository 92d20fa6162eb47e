/* run.c — _core.run: a Python stage (python/batchmd/dynamics.py) run
 * inflight exactly as `batchmd run` runs a campaign: the stages, batch and
 * quarantine settings arrive as campaign YAML text (read by the campaign
 * reader, with its checks and defaults), the stage gets the command's hooks
 * (app_build_run_stage: atoms too close, NaN, force blow-up, drift of NVE
 * sub-stages, log and trajectory from `output`), then the Python hooks; the
 * model, dataset and sinks are Python objects. The GIL is released while C
 * runs. SIGINT/SIGTERM stop the run at the next round, every output
 * complete; then KeyboardInterrupt is raised. */
#include <signal.h>
#include <string.h>

#include "app.h"
#include "pybmd.h"


/* run(text, name, dir, model, dataset, final, failed, hooks, group=0) -> stats */
static PyObject *run(PyObject *mod, PyObject *args) {
    (void)mod;
    const char *text, *name, *dir;
    PyObject *mo, *dso, *fo, *flo, *hooks;
    int group = 0;
    if (!PyArg_ParseTuple(args, "sssOO!OOO|i", &text, &name, &dir, &mo, &bmdpy_dataset_type, &dso, &fo, &flo,
                          &hooks, &group))
        return NULL;
    bmd_model *model = bmdpy_model_get(mo);
    if (!model) return NULL;
    bmd_sink *final = bmdpy_sink_get(fo);
    if (!final && PyErr_Occurred()) return NULL;
    bmd_sink *failed = bmdpy_sink_get(flo);
    if (!failed && PyErr_Occurred()) return NULL;

    app_campaign a;
    memset(&a, 0, sizeof a);
    bmd_status st = bmd_campaign_load_text(text, name, dir, BMD_CAMPAIGN_MODEL_OPTIONAL | BMD_CAMPAIGN_INPUT_OPTIONAL,
                                           &a.c);
    if (st) return bmdpy_raise(st, NULL);
    if (group < 0 || group >= a.c.n_groups) {
        bmd_campaign_free(&a.c);
        return PyErr_Format(PyExc_ValueError, "stage group %d out of range", group);
    }
    if (((bmdpy_model *)mo)->units != (int)a.c.units) {
        bmd_campaign_free(&a.c);
        return PyErr_Format(PyExc_ValueError, "the model was made for %s units and the stage runs in %s units",
                            ((bmdpy_model *)mo)->units == BMD_UNITS_LJ ? "lj" : "metal", a.c.units == BMD_UNITS_LJ ? "lj" : "metal");
    }
    a.model = model;
    bmd_stage *stage = NULL;
    bmd_hook *drift[BMD_MAX_STAGES] = {0};
    if (app_build_run_stage(&a, group, NULL, &stage, drift)) {
        bmd_campaign_free(&a.c);
        return bmdpy_raise(BMD_ERR_INVALID, NULL);
    }
    const bmd_units *units = bmd_stage_units(stage);
    PyObject *seq = PySequence_Fast(hooks, "hooks: expected a list");
    for (Py_ssize_t i = 0; seq && i < PySequence_Fast_GET_SIZE(seq); i++) {
        bmd_hook *h = NULL;
        if (bmdpy_hook_make(PySequence_Fast_GET_ITEM(seq, i), units, &h) || bmd_stage_add_hook(stage, h)) {
            if (!PyErr_Occurred()) bmdpy_raise(BMD_ERR_INVALID, NULL);
            Py_CLEAR(seq);
        }
    }
    if (!seq) {
        bmd_stage_destroy(stage);
        bmd_campaign_free(&a.c);
        return NULL;
    }
    Py_DECREF(seq);
    int main_thread = bmdpy_on_main_thread();
    if (main_thread < 0) {
        bmd_stage_destroy(stage);
        bmd_campaign_free(&a.c);
        return NULL;
    }

    if (bmdpy_model_acquire(mo)) { /* held until the run has returned */
        bmd_stage_destroy(stage);
        bmd_campaign_free(&a.c);
        return NULL;
    }
    /* the inputs `batchmd run` refuses before it starts, refused alike */
    bmd_dataset *ds = ((bmdpy_dataset *)dso)->ds, *checked = NULL;
    bmdpy_clear_kept();
    Py_BEGIN_ALLOW_THREADS
    st = bmdpy_check_inputs(&a.c, a.c.batch.max_atoms, &model, NULL, 1, ds, &checked);
    Py_END_ALLOW_THREADS
    if (st) {
        bmdpy_model_release(mo);
        bmd_stage_destroy(stage);
        bmd_campaign_free(&a.c);
        if (!bmdpy_restore_exception()) bmdpy_raise(st, NULL);
        return NULL;
    }

    bmd_run_options opt = {.max_atoms = a.c.batch.max_atoms,
                           .max_systems = a.c.batch.max_systems,
                           .refill_every = a.c.batch.refill_every,
                           .stress_on_exit = 1,
                           .ordered = a.c.output.ordered};
    bmd_run_stats stats;
    memset(&stats, 0, sizeof stats);
    bmdpy_clear_kept();
    /* signals reach Python's main thread: its run owns the stop flag; a run
     * on another thread is stopped by nothing (as Python code there is not
     * interrupted either) */
    bmdpy_stop guard;
    opt.stop = bmdpy_stop_begin(&guard, main_thread);
    Py_BEGIN_ALLOW_THREADS
    st = bmd_run_inflight(stage, model, checked ? checked : ds, &opt, final, failed, &stats);
    bmd_dataset_close(checked);
    Py_END_ALLOW_THREADS
    bmdpy_model_release(mo);
    const int stopped = bmdpy_stop_end(&guard);
    PyObject *out = NULL;
    if (bmdpy_restore_exception()) {
        /* a Python callback raised: its exception, with its traceback */
    } else if (stopped) {
        PyErr_SetString(PyExc_KeyboardInterrupt, "batchmd: run stopped by a signal; every output is complete, the "
                                                  "systems still running are in neither final nor failed");
    } else if (st) {
        bmdpy_raise(st, "run failed");
    } else {
        const char *names[BMD_MAX_STAGES];
        int n_names = bmd_stage_count(stage);
        for (int i = 0; i < n_names && i < BMD_MAX_STAGES; i++) names[i] = bmd_stage_name(stage, i);
        out = bmdpy_stats_dict(&stats, names, n_names < BMD_MAX_STAGES ? n_names : BMD_MAX_STAGES, drift);
    }
    bmd_stage_destroy(stage);
    bmd_campaign_free(&a.c);
    return out;
}

static PyMethodDef methods[] = {{"run", run, METH_VARARGS, "Runs a stage inflight over a dataset."},
                                {NULL, NULL, 0, NULL}};

int bmdpy_init_run(PyObject *m) { return PyModule_AddFunctions(m, methods); }
