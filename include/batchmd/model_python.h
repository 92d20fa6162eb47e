/* model_python.h — a Python model (a batchmd.models.PythonModel, or any
 * object with the attributes it declares; docs/python.md) made from C: the
 * campaign's `model: {type: python, module: ..., object: ..., params: ...}`
 * (docs/campaign.md).
 *
 * libbatchmd does not link libpython. bmd_model_python_create finds the
 * Python package's extension (batchmd._core, which holds the bridge from a
 * Python object to a bmd_model) at run time:
 *   1. in this very copy of the library, when it is the extension's own
 *      (a campaign run from Python: batchmd.Campaign(...).run());
 *   2. among the symbols already loaded globally (a process that loaded
 *      Python and the extension with RTLD_GLOBAL);
 *   3. otherwise it loads Debian's libpython (the one the build found,
 *      with RTLD_GLOBAL, unless the process already has an interpreter)
 *      and then the extension: $BATCHMD_PYTHON_EXT when set, else the
 *      build tree's (when this library runs from the build tree) or the
 *      installed one.
 * A program that never makes a Python model never loads Python.
 *
 * The extension has its own copy of libbatchmd; the model it makes is
 * wrapped in a bmd_model of this copy (ops->type "python") whose calls go
 * through to it and whose errors carry the extension's messages. The
 * interpreter, once started, stays until the process ends. */
#ifndef BATCHMD_MODEL_PYTHON_H
#define BATCHMD_MODEL_PYTHON_H

#include "model.h"
#include "status.h"
#include "units.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The Python type a parameter is passed as. */
typedef enum bmd_python_kind {
    BMD_PY_NONE = 0, /* None */
    BMD_PY_BOOL,     /* bool: flag */
    BMD_PY_INT,      /* int: text (decimal digits with an optional sign, or 0x / 0o then hex / octal digits; any size) */
    BMD_PY_FLOAT,    /* float: number (±inf and nan allowed) */
    BMD_PY_STR       /* str: text (UTF-8) */
} bmd_python_kind;

/* One keyword argument of the model's factory. */
typedef struct bmd_python_param {
    const char *key;      /* a Python identifier */
    bmd_python_kind kind;
    const char *text;     /* INT, STR: the value; others: as written (may be NULL) */
    double number;        /* FLOAT */
    int flag;             /* BOOL: 0 or 1 */
} bmd_python_param;

/* Imports `module` and calls its attribute `object` with the n_params
 * params as keyword arguments; the result (a PythonModel, or an object or
 * function with the attributes PythonModel declares) becomes *out.
 *
 * module: a Python file when it ends in ".py" or contains a '/' (relative
 * to base_dir, or to the working directory when base_dir is NULL; its
 * folder goes to the front of sys.path, as python3 does with a script's),
 * otherwise a dotted module name imported from sys.path, with base_dir (if
 * given) at its front. units: the units the model computes in (an object
 * that declares `units` must agree). The model's compute, check_system,
 * cutoff and destroy take Python's GIL themselves (PyGILState_Ensure), so
 * they may be called from any thread that does not hold it.
 *
 * A Python exception raised while importing or calling, or later by the
 * model's compute, has its traceback printed on stderr by the extension
 * (Python's own report: it exists nowhere else, and a C caller has no
 * Python to re-raise it in); the call fails with a message naming
 * module:object (compute: the model and the exception).
 * Errors: BMD_ERR_UNSUPPORTED (built without the Python package),
 * BMD_ERR_IO (libpython or the extension cannot be loaded; the dynamic
 * linker's message), BMD_ERR_NOT_FOUND (no such file, module or object),
 * BMD_ERR_INVALID (bad arguments; the object raised, or is not a model). */
bmd_status bmd_model_python_create(const char *module, const char *object, const bmd_python_param *params,
                                   int n_params, bmd_units_kind units, const char *base_dir, bmd_model **out);

#ifdef __cplusplus
}
#endif

#endif
