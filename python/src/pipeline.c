/* pipeline.c — a Python pipeline (`a | b`, python/batchmd/pipeline.py) over
 * MPI ranks, run as `batchmd run` runs a campaign's pipeline under mpirun
 * (app/cmd_run_pipeline.c): the script runs on every rank (`mpirun -np 2
 * python3 script.py`), every rank composes the same campaign YAML text and
 * runs its own stage group (rank r: group r) with its group's model and
 * hooks; rank 0 reads the dataset, the last rank writes final and failed,
 * the log gets one file per rank (log.rank1.csv).
 *
 *   pipeline_init(n_groups) -> (rank, size): initializes MPI (libbatchmd's
 *       bmd_pipeline_init) once; refuses a process not started by an MPI
 *       launcher, a batchmd without MPI, or a world of another size than
 *       the pipeline's groups, saying how to launch it. MPI is finalized at
 *       interpreter exit if this module initialized it.
 *   pipeline_agree(ok) -> the first rank that was not ok, or -1
 *       (collective: every rank learns whether all set up fine).
 *   run_pipeline(text, name, dir, model, dataset, final, failed, hooks, checks)
 *       -> stats (collective): this rank's part; dataset is used on rank 0
 *       only, final/failed (sinks or None) on the last rank only; checks:
 *       [(model, stages)] the models of every stage group, against which
 *       rank 0 checks the structures before the run.
 *
 * Before the run, rank 0 refuses the inputs `batchmd run` refuses under
 * mpirun (its rank 0's check_frames; inputs.c): a per-structure parameter
 * out of range for any stage of the chain, a species or a non-finite
 * position a model refuses, more atoms than max_atoms, no atoms; naming the
 * structure, with the command's message. The command has one model for
 * every rank; a Python pipeline may give each group its own, and rank 0
 * checks against each of them as rank 0 built them: the script must build
 * the same models on every rank (it does when every rank runs the same
 * code, as a pipeline script must). A Python dataset's structures are
 * checked as rank 0 loads them, the first bad one stopping every rank.
 *
 * Nothing hangs when one rank fails: a setup error on any rank is agreed
 * on (bmd_pipeline_agree) before the pipeline is created, so every rank
 * raises (the failing one its own error, the others "rank R failed"); an
 * error during the run on one rank (a model or hook raising, a full disk)
 * ends every rank's run (bmd_pipeline_run). The GIL is released while C
 * runs. SIGINT/SIGTERM stop this rank's run, which stops every rank (there
 * are no checkpoints here); the stopped rank raises KeyboardInterrupt. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "pybmd.h"


static int finalize_registered;
static void finalize_at_exit(void) { bmd_pipeline_finalize(); }

/* pipeline_init(n_groups) -> (rank, size) */
static PyObject *pipeline_init(PyObject *mod, PyObject *args) {
    (void)mod;
    int n;
    if (!PyArg_ParseTuple(args, "i", &n)) return NULL;
    const char *without_mpi = bmd_pipeline_mpi_available()
                                  ? ""
                                  : "; this batchmd was also built without MPI (install libopenmpi-dev and rebuild)";
    if (!bmd_pipeline_launched())
        return PyErr_Format(bmdpy_error,
                            "a pipeline of %d '|'-separated stage groups runs one group per MPI rank, and this "
                            "process was not started by an MPI launcher: run the script with `mpirun -np %d "
                            "python3 SCRIPT.py` (or srun -n %d), or fuse the stages with '+' to run them in one "
                            "process%s",
                            n, n, n, without_mpi);
    if (!bmd_pipeline_mpi_available())
        return PyErr_Format(bmdpy_error,
                            "started by an MPI launcher to run a pipeline, but this batchmd was built without MPI "
                            "(install libopenmpi-dev and rebuild)");
    int launched = bmd_pipeline_launched_size();
    if (launched != n)
        return PyErr_Format(bmdpy_error,
                            "the pipeline has %d '|'-separated stage groups, one per MPI rank, but the script was "
                            "launched on %d rank%s: run it with `mpirun -np %d python3 SCRIPT.py` (or srun -n %d)",
                            n, launched, launched == 1 ? "" : "s", n, n);
    bmd_status st;
    Py_BEGIN_ALLOW_THREADS
    st = bmd_pipeline_init(NULL, NULL);
    Py_END_ALLOW_THREADS
    if (st) return bmdpy_raise(st, "cannot start MPI for the pipeline");
    /* after Python's own finalization: MPI_Finalize (if libbatchmd called MPI_Init) */
    if (!finalize_registered && Py_AtExit(finalize_at_exit) == 0) finalize_registered = 1;
    int rank = bmd_pipeline_world_rank(), size = bmd_pipeline_world_size();
    if (size != n)
        return PyErr_Format(bmdpy_error,
                            "the pipeline has %d '|'-separated stage groups, one per MPI rank, but MPI's world has "
                            "%d rank%s: run it with `mpirun -np %d python3 SCRIPT.py`",
                            n, size, size == 1 ? "" : "s", n);
    return Py_BuildValue("(ii)", rank, size);
}

/* Collective: every rank passes whether it is fine; returns the first rank
 * that is not, or -1 (and -2 with an exception when MPI fails). Keeps a
 * pending exception as it is. */
static int agree(int ok) {
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    bmd_status st;
    int bad = -1;
    Py_BEGIN_ALLOW_THREADS
    st = bmd_pipeline_agree(ok ? BMD_OK : BMD_ERR_INVALID, &bad);
    Py_END_ALLOW_THREADS
    PyErr_Restore(t, v, tb);
    if (bad < 0 && st) {
        if (!PyErr_Occurred()) bmdpy_raise(st, "pipeline");
        return -2;
    }
    return bad;
}

/* pipeline_agree(ok) -> first failing rank or -1 */
static PyObject *pipeline_agree(PyObject *mod, PyObject *args) {
    (void)mod;
    int ok;
    if (!PyArg_ParseTuple(args, "p", &ok)) return NULL;
    int bad = agree(ok);
    return bad == -2 ? NULL : PyLong_FromLong(bad);
}

/* The Python hook specs into the stage; -1 with an exception. */
static int add_hooks(PyObject *hooks, bmd_stage *stage) {
    const bmd_units *units = bmd_stage_units(stage);
    PyObject *seq = PySequence_Fast(hooks, "hooks: expected a list");
    for (Py_ssize_t i = 0; seq && i < PySequence_Fast_GET_SIZE(seq); i++) {
        bmd_hook *h = NULL;
        if (bmdpy_hook_make(PySequence_Fast_GET_ITEM(seq, i), units, &h) || bmd_stage_add_hook(stage, h)) {
            if (!PyErr_Occurred()) bmdpy_raise(BMD_ERR_INVALID, NULL);
            Py_CLEAR(seq);
        }
    }
    if (!seq) return -1;
    Py_DECREF(seq);
    return 0;
}

/* This rank's part set up: the campaign, its stage (group = rank) with the
 * command's hooks and the Python ones. 0, or -1 with an exception. */
static int setup(const char *text, const char *name, const char *dir, PyObject *mo, int rank, int size,
                 app_campaign *a, bmd_stage **stage, bmd_hook **drift) {
    bmd_status st = bmd_campaign_load_text(text, name, dir,
                                           BMD_CAMPAIGN_MODEL_OPTIONAL | BMD_CAMPAIGN_INPUT_OPTIONAL, &a->c);
    if (st) {
        bmdpy_raise(st, NULL);
        return -1;
    }
    if (a->c.n_groups != size) {
        PyErr_Format(PyExc_ValueError, "the pipeline has %d stage groups and MPI's world %d ranks", a->c.n_groups,
                     size);
        return -1;
    }
    if (((bmdpy_model *)mo)->units != (int)a->c.units) {
        PyErr_Format(PyExc_ValueError, "the model of rank %d was made for %s units and the pipeline runs in %s units",
                     rank, ((bmdpy_model *)mo)->units == BMD_UNITS_LJ ? "lj" : "metal",
                     a->c.units == BMD_UNITS_LJ ? "lj" : "metal");
        return -1;
    }
    if (bmd_comm_mode_parse(a->c.batch.comm) < 0) {
        PyErr_Format(PyExc_ValueError, "comm: unknown mode '%s' (sync, async_recv or fully_async)", a->c.batch.comm);
        return -1;
    }
    char suffix[32];
    snprintf(suffix, sizeof suffix, ".rank%d", rank);
    if (app_build_run_stage(a, rank, suffix, stage, drift)) { /* raised, not printed */
        bmdpy_raise(BMD_ERR_INVALID, NULL);
        return -1;
    }
    return 0;
}

/* Rank 0's checks of the structures of ds against the campaign and the
 * models of checks ([(Model, stages)]): 0, or -1 with the error (a Python
 * dataset's structures: *checked to read instead, checked as they load). */
static int check_inputs(PyObject *checks, const bmd_campaign *c, const bmd_dataset *ds, bmd_dataset **checked) {
    bmd_model *models[BMD_MAX_STAGES];
    const char *labels[BMD_MAX_STAGES];
    PyObject *seq = PySequence_Fast(checks, "checks: expected a list of (model, stages)");
    if (!seq) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    int rc = 0;
    if (n < 1 || n > BMD_MAX_STAGES) {
        PyErr_Format(PyExc_ValueError, "checks: 1 to %d models, not %zd", BMD_MAX_STAGES, n);
        rc = -1;
    }
    for (Py_ssize_t k = 0; !rc && k < n; k++) {
        PyObject *mo, *label;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, k), "OU", &mo, &label) ||
            !(models[k] = bmdpy_model_get(mo)) || !(labels[k] = PyUnicode_AsUTF8(label)))
            rc = -1;
    }
    if (!rc) {
        bmd_status st;
        bmdpy_clear_kept();
        Py_BEGIN_ALLOW_THREADS
        st = bmdpy_check_inputs(c, c->batch.max_atoms, models, labels, (int)n, ds, checked);
        Py_END_ALLOW_THREADS
        if (st && !bmdpy_restore_exception()) bmdpy_raise(st, NULL);
        rc = st ? -1 : 0;
    }
    Py_DECREF(seq); /* after the check: labels point into its strings */
    return rc;
}

/* run_pipeline(text, name, dir, model, dataset|None, final|None, failed|None, hooks, checks) -> stats */
static PyObject *run_pipeline(PyObject *mod, PyObject *args) {
    (void)mod;
    const char *text, *name, *dir;
    PyObject *mo, *dso, *fo, *flo, *hooks, *checks;
    if (!PyArg_ParseTuple(args, "sssOOOOOO", &text, &name, &dir, &mo, &dso, &fo, &flo, &hooks, &checks))
        return NULL;
    int rank = bmd_pipeline_world_rank(), size = bmd_pipeline_world_size();

    /* ---- this rank's setup; then every rank learns whether all are fine ---- */
    app_campaign a;
    memset(&a, 0, sizeof a);
    bmd_stage *stage = NULL;
    bmd_hook *drift_local[BMD_MAX_STAGES] = {0};
    bmd_sink *final = NULL, *failed = NULL;
    bmd_dataset *ds = NULL, *checked = NULL;
    int ok = (a.model = bmdpy_model_get(mo)) != NULL;
    if (ok && rank == 0) {
        if (PyObject_TypeCheck(dso, &bmdpy_dataset_type)) {
            ds = ((bmdpy_dataset *)dso)->ds;
        } else {
            PyErr_SetString(PyExc_TypeError, "rank 0 reads the structures: expected a _core.Dataset");
            ok = 0;
        }
    }
    if (ok) {
        final = bmdpy_sink_get(fo);
        if (!PyErr_Occurred()) failed = bmdpy_sink_get(flo);
        ok = !PyErr_Occurred();
    }
    ok = ok && setup(text, name, dir, mo, rank, size, &a, &stage, drift_local) == 0;
    ok = ok && add_hooks(hooks, stage) == 0;
    /* the inputs `batchmd run` refuses before it starts (rank 0 reads them) */
    ok = ok && (rank != 0 || check_inputs(checks, &a.c, ds, &checked) == 0);
    if (checked) ds = checked;
    int bad = agree(ok);
    if (ok && bad >= 0) bmdpy_raise(BMD_ERR_INVALID, NULL); /* "rank R failed (see its message); rank r stops too" */
    if (!ok || bad != -1) {
        bmd_dataset_close(checked);
        bmd_stage_destroy(stage);
        bmd_campaign_free(&a.c);
        return NULL;
    }

    /* ---- the pipeline: the chain 0 -> 1 -> ... (collective checks of buffers and budgets) ---- */
    const bmd_campaign *c = &a.c;
    app_pipeline_setup ps;
    app_pipeline_setup_fill(c, rank, &ps);
    bmd_run_options opt = ps.opt;
    const char *const *names = ps.names;
    const int n_names = ps.n_names, offset = ps.offset;
    bmd_pipeline *p = NULL;
    bmd_status st;
    Py_BEGIN_ALLOW_THREADS
    st = bmd_pipeline_create(ps.nodes, c->n_groups, &ps.popt, ds, &opt, &p);
    Py_END_ALLOW_THREADS
    if (st) {
        bmdpy_raise(st, NULL);
        bmd_dataset_close(checked);
        bmd_stage_destroy(stage);
        bmd_campaign_free(&a.c);
        return NULL;
    }
    int last = bmd_pipeline_is_last(p);
    app_set_rank_threads(c->threads);

    /* ---- the run, GIL released ---- */
    bmd_run_stats stats;
    memset(&stats, 0, sizeof stats);
    bmdpy_clear_kept();
    int main_thread = bmdpy_on_main_thread();
    if (main_thread < 0 || bmdpy_model_acquire(mo)) { /* the model: held until the run has returned */
        bmd_pipeline_destroy(p);
        bmd_dataset_close(checked);
        bmd_stage_destroy(stage);
        bmd_campaign_free(&a.c);
        return NULL;
    }
    /* signals reach Python's main thread: a run there owns the stop flag */
    bmdpy_stop guard;
    opt.stop = bmdpy_stop_begin(&guard, main_thread);
    Py_BEGIN_ALLOW_THREADS
    st = bmd_pipeline_run(p, stage, a.model, ds, &opt, last ? final : NULL, last ? failed : NULL, &stats);
    Py_END_ALLOW_THREADS
    bmdpy_model_release(mo);
    const int stopped = bmdpy_stop_end(&guard);
    PyObject *out = NULL;
    if (bmdpy_restore_exception()) {
        /* a Python callback on this rank raised: its exception, with its traceback */
    } else if (stopped) {
        PyErr_Format(PyExc_KeyboardInterrupt, "batchmd: rank %d stopped by a signal, which stops every rank of the "
                                              "pipeline; every output is complete, the systems still running are "
                                              "in neither final nor failed", rank);
    } else if (st) {
        bmdpy_raise(st, "pipeline run failed");
    } else {
        bmd_hook *drift[BMD_MAX_STAGES] = {0}; /* this rank's monitors at their places in the pipeline */
        for (int i = 0; i < bmd_stage_count(stage) && offset + i < BMD_MAX_STAGES; i++)
            drift[offset + i] = drift_local[i];
        bmd_pipeline_totals t;
        bmd_pipeline_get_totals(p, &t);
        out = bmdpy_stats_dict(&stats, names, n_names, drift);
        PyObject *totals = out ? Py_BuildValue("{s:l,s:l,s:l,s:d,s:d,s:l,s:d}", "total", t.total, "done", t.done,
                                               "failed", t.failed, "atom_steps", t.atom_steps, "seconds", t.seconds,
                                               "messages", t.messages, "bytes", t.bytes)
                               : NULL;
        if (!totals || PyDict_SetItemString(out, "pipeline", totals)) Py_CLEAR(out);
        Py_XDECREF(totals);
    }
    bmd_pipeline_destroy(p);
    bmd_dataset_close(checked);
    bmd_stage_destroy(stage);
    bmd_campaign_free(&a.c);
    return out;
}

static PyMethodDef methods[] = {
    {"pipeline_init", pipeline_init, METH_VARARGS, "Starts MPI for a pipeline of n groups: (rank, size)."},
    {"pipeline_agree", pipeline_agree, METH_VARARGS, "Collective: the first rank that is not ok, or -1."},
    {"run_pipeline", run_pipeline, METH_VARARGS, "Runs this rank's stage group of a pipeline (collective)."},
    {NULL, NULL, 0, NULL}};

int bmdpy_init_pipeline(PyObject *m) { return PyModule_AddFunctions(m, methods); }
