/* model_plugin.h — the plug-in ABI: how a shared library brings its own
 * interatomic model to batchmd, and the loader that makes it a bmd_model.
 *
 * A plug-in is a shared library (a CMake MODULE, `cc -shared -fPIC`) that
 * includes only this header and does not link against libbatchmd (define
 * BMD_PLUGIN_ONLY before including it to use this file alone, e.g. copied
 * into the plug-in's own tree) and exports one C function:
 *
 *     BMD_PLUGIN_EXPORT const bmd_plugin_api *bmd_plugin_entry(void);
 *
 * returning a pointer to a static table of its functions. The plug-in sees
 * plain arrays only (never a bmd_batch), so the ABI stays stable while
 * batchmd's internals change. Its rules:
 *
 *  - abi_version must be BMD_PLUGIN_ABI_VERSION as defined by the header the
 *    plug-in was compiled with; batchmd refuses any other version (the table
 *    layout may have changed) and says which it found and which it needs.
 *  - create() receives the campaign's `params` as key/value strings (in the
 *    campaign file's order) and returns an opaque handle, or NULL after
 *    writing a message into err (NUL-terminated, at most err_len bytes).
 *    Unknown keys should be refused, naming them.
 *  - compute() is called with a set of systems (one or several) and writes
 *    the requested outputs; an output pointer that is NULL is not wanted.
 *    Outputs are overwritten, not accumulated; they arrive filled with NaN.
 *    A plug-in that cannot compute the virial leaves it so (NaN): batchmd
 *    then writes no stress for those systems. Energy or forces left NaN
 *    take the system out (status nan_or_inf). It returns 0, or nonzero
 *    after writing a message into err. It is never called concurrently on
 *    the same handle, unless the plug-in sets BMD_PLUGIN_THREAD_SAFE; it may
 *    use threads of its own.
 *  - A system's results must depend only on that system (not on the others
 *    passed with it), so that batchmd's promise of batch independence holds.
 *  - Units are metal: Å, eV, eV/Å; the virial is W_ab = dE/dε_ab (the
 *    derivative of the energy with respect to a homogeneous strain of
 *    positions and cell; for a pair potential Σ_pairs φ'(r) r_a r_b / r) in
 *    Voigt order xx yy zz yz xz xy, eV: stress = W / volume (ASE's sign).
 *  - Positions may lie outside the cell (unwrapped trajectories); along an
 *    axis with pbc = 0 the cell vector is meaningless (may be zero).
 *
 * An example with its own build: examples/plugin/morse_plugin.c. */
#ifndef BATCHMD_MODEL_PLUGIN_H
#define BATCHMD_MODEL_PLUGIN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever bmd_plugin_api or bmd_plugin_systems change layout or
 * meaning. */
#define BMD_PLUGIN_ABI_VERSION 1

/* The name of the entry point batchmd looks up with dlsym. */
#define BMD_PLUGIN_ENTRY_NAME "bmd_plugin_entry"

#if defined(_WIN32)
#define BMD_PLUGIN_EXPORT __declspec(dllexport)
#elif defined(__GNUC__)
#define BMD_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define BMD_PLUGIN_EXPORT
#endif

/* Flags of bmd_plugin_api.flags. */
#define BMD_PLUGIN_THREAD_SAFE 1u /* compute() may run concurrently on one handle
                                   * (on disjoint sets of systems) */

/* A set of n_systems systems in flat arrays, as batchmd stores them. System
 * k owns atoms atom_start[k] .. atom_start[k] + atom_count[k] - 1 of the
 * per-atom arrays (indices into Z, pos, forces, energy_per_atom, which are
 * shared by all the systems of the call: do not assume system 0 starts at
 * atom 0, nor that the atoms of the call are contiguous with nothing
 * between them). Per-system arrays are indexed by k. */
typedef struct bmd_plugin_systems {
    int n_systems;
    const int *atom_start;      /* [n_systems] first atom of system k */
    const int *atom_count;      /* [n_systems] its number of atoms */
    const int *Z;               /* [per atom] atomic numbers */
    const double *pos;          /* [3 per atom] positions x y z, Å */
    const double *cell;         /* [9 n_systems] row vectors a, b, c of system k, Å */
    const unsigned char *pbc;   /* [3 n_systems] periodic along a, b, c (0/1) */
    /* outputs: NULL = not requested */
    double *energy;             /* [n_systems] potential energy, eV */
    double *forces;             /* [3 per atom] eV/Å */
    double *virial;             /* [6 n_systems] W, eV, Voigt xx yy zz yz xz xy */
    double *energy_per_atom;    /* [per atom] eV (summing to energy) */
} bmd_plugin_systems;

typedef struct bmd_plugin_api {
    int abi_version;            /* BMD_PLUGIN_ABI_VERSION (first, always) */
    const char *name;           /* short name for messages, e.g. "morse-example" */
    unsigned flags;             /* BMD_PLUGIN_* flags */
    /* Builds a model from n_params key/value pairs. NULL on failure, with a
     * message in err. */
    void *(*create)(int n_params, const char *const *keys, const char *const *values, char *err,
                    size_t err_len);
    /* Computes the requested outputs of the systems; 0 on success, nonzero
     * with a message in err. */
    int (*compute)(void *handle, const bmd_plugin_systems *systems, char *err, size_t err_len);
    /* Largest interaction range, Å (batchmd's cutoff() of the model). */
    double (*cutoff)(void *handle);
    /* Frees the handle. */
    void (*destroy)(void *handle);
    /* Optional (may be NULL = every element accepted): 1 if the model can
     * compute atoms of atomic number z, 0 if not (batchmd's check_system
     * then refuses the structure, naming the element). */
    int (*supports_element)(void *handle, int z);
} bmd_plugin_api;

/* The entry point every plug-in defines. */
typedef const bmd_plugin_api *(*bmd_plugin_entry_fn)(void);

/* ---- batchmd's side (not needed by plug-ins; needs libbatchmd) ---- */
#ifndef BMD_PLUGIN_ONLY
#include "model.h"
#include "status.h"

/* Loads the plug-in at `path` (dlopen: a path with a '/' is used as is, a
 * bare name is searched as the dynamic linker does), checks its ABI version,
 * and creates its model with n_params key/value pairs (keys/values may be
 * NULL when n_params is 0). Returns a heap model (bmd_model_destroy also
 * unloads the library); ops->type is "plugin". Errors:
 *   BMD_ERR_IO          the library cannot be loaded (the dynamic linker's
 *                       message, which names the path);
 *   BMD_ERR_NOT_FOUND   it has no bmd_plugin_entry symbol;
 *   BMD_ERR_UNSUPPORTED its ABI version is not BMD_PLUGIN_ABI_VERSION (the
 *                       message names both);
 *   BMD_ERR_INVALID     the table is incomplete, or create() failed (its
 *                       message, prefixed with the plug-in's name). */
bmd_status bmd_model_plugin_create(const char *path, const char *const *keys, const char *const *values,
                                   int n_params, bmd_model **out);
#endif

#ifdef __cplusplus
}
#endif

#endif
