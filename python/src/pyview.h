/* pyview.h — the batch view of batchview.c, for hooks (hook.c) and Python
 * models (bridge.c). */
#ifndef BATCHMD_PYVIEW_H
#define BATCHMD_PYVIEW_H

#include "pybmd.h"
#include <structmember.h>

typedef struct bmdpy_view {
    PyObject_HEAD
    bmd_batch *batch;
    const unsigned char *mask; /* [n_systems] systems concerned, or NULL */
    int valid;                 /* 0 once the call has returned */
    int readonly;              /* physics arrays read-only (a model call) */
    int can_fail;              /* fail(slot, reason) allowed (hooks) */
    PyObject *cache;           /* name -> array made during this call */
    int point;                 /* bmd_hook_point, 0 for a model call */
    long step;
    int substage;
} bmdpy_view;
extern PyTypeObject bmdpy_view_type;

/* A new valid view over b (a new reference). */
bmdpy_view *bmdpy_view_open(bmd_batch *b, const unsigned char *mask, int readonly, int can_fail);
/* The name of an array of the view that something besides the view still
 * references (kept past the call that received it: a use after the call
 * would touch memory the batch reuses), or NULL. Before bmdpy_view_close. */
const char *bmdpy_view_kept(bmdpy_view *v);
/* Invalidates the view and drops the caller's reference. */
void bmdpy_view_close(bmdpy_view *v);
/* np.asarray of a BatchArray over ptr (fmt 'd' float64, 'i' int32, 'q'
 * int64, 'B' uint8), owned by view. */
PyObject *bmdpy_view_array(bmdpy_view *view, void *ptr, int ndim, const Py_ssize_t *dims, char fmt, int readonly);
int bmdpy_init_view(PyObject *m);

#endif
