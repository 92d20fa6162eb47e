/* command.c — _core.command(argv): the batchmd command itself (app_main),
 * so that batchmd.Campaign("c.yaml").run() is `batchmd run c.yaml`, bit for
 * bit. The command installs its own SIGINT/SIGTERM/SIGUSR1/SIGHUP handlers
 * (a stop writes a checkpoint); Python's are restored afterwards. */
#include <signal.h>
#include <string.h>

#include "app.h"
#include "pybmd.h"

static PyObject *command(PyObject *mod, PyObject *list) {
    (void)mod;
    PyObject *seq = PySequence_Fast(list, "expected a list of arguments");
    if (!seq) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    char **argv = PyMem_Calloc((size_t)n + 2, sizeof *argv);
    int rc = argv ? 0 : -1;
    argv[0] = "batchmd";
    for (Py_ssize_t i = 0; !rc && i < n; i++) {
        const char *s = PyUnicode_AsUTF8(PySequence_Fast_GET_ITEM(seq, i));
        if (!s) rc = -1;
        else argv[i + 1] = (char *)s;
    }
    if (rc) {
        PyMem_Free(argv);
        Py_DECREF(seq);
        return argv ? NULL : PyErr_NoMemory();
    }
    static const int sigs[] = {SIGINT, SIGTERM, SIGUSR1, SIGHUP, SIGPIPE};
    struct sigaction was[5];
    for (int k = 0; k < 5; k++) sigaction(sigs[k], NULL, &was[k]);
    fflush(stdout);
    fflush(stderr);
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = app_main((int)n + 1, argv);
    fflush(stdout);
    fflush(stderr);
    Py_END_ALLOW_THREADS
    for (int k = 0; k < 5; k++) sigaction(sigs[k], &was[k], NULL);
    PyMem_Free(argv);
    Py_DECREF(seq);
    return PyLong_FromLong(status);
}

static PyMethodDef methods[] = {{"command", command, METH_O, "Runs the batchmd command; returns its exit status."},
                                {NULL, NULL, 0, NULL}};

int bmdpy_init_command(PyObject *m) { return PyModule_AddFunctions(m, methods); }
