/* stats.c — a run's statistics (bmd_run_stats) as the dict _core.run and
 * _core.run_pipeline return: counts, timings (seconds) and one row per
 * sub-stage (entered, converged, unconverged, and the largest energy drift
 * in eV/atom of an NVE sub-stage's monitor, else None). */
#include "pybmd.h"

PyObject *bmdpy_stats_dict(const bmd_run_stats *s, const char *const *names, int n_names, bmd_hook *const *drift) {
    PyObject *stages = PyList_New(0);
    for (int i = 0; stages && i < s->n_stages && i < n_names; i++) {
        PyObject *max_drift = drift[i] ? PyFloat_FromDouble(bmd_hook_drift_max(drift[i])) : Py_NewRef(Py_None);
        PyObject *row = max_drift ? Py_BuildValue("{s:s,s:l,s:l,s:l,s:N}", "name", names[i], "entered",
                                                  s->entered[i], "converged", s->converged[i], "unconverged",
                                                  s->unconverged[i], "max_drift_eV_per_atom", max_drift)
                                  : NULL;
        if (!row || PyList_Append(stages, row)) Py_CLEAR(stages);
        Py_XDECREF(row);
    }
    if (!stages) return NULL;
    return Py_BuildValue("{s:l,s:l,s:l,s:l,s:l,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:l,s:l,s:l,s:l,s:N}", "total",
                         s->total, "started", s->started, "done", s->done, "failed", s->failed, "loop_steps",
                         s->loop_steps, "atom_steps", s->atom_steps, "system_steps", s->system_steps, "seconds",
                         s->seconds, "t_step", s->t_step, "t_flow", s->t_flow, "t_io", s->t_io, "t_neighbor",
                         s->t_neighbor, "t_force", s->t_force, "t_integrate", s->t_integrate, "refills", s->refills,
                         "peak_atoms", s->peak_atoms, "peak_systems", s->peak_systems, "list_builds",
                         s->list_builds, "stages", stages);
}
