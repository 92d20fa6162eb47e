/* h5md.h — the H5MD 1.1 trajectory sink (https://www.nongnu.org/h5md/):
 * one HDF5 file, one particle group per system, appended frame by frame;
 * readable by h5py, MDAnalysis and OVITO.
 *
 * Layout (N atoms of system <id>, n frames so far; value datasets are
 * float64, step int64, time float64; time-dependent datasets grow along
 * the frame axis (H5S_UNLIMITED, chunked)):
 *
 *   /h5md                        version = int32 [1, 1]
 *     author                     name = $USER (or "unknown")
 *     creator                    name = "batchmd", version = bmd_version()
 *     modules/units              version = int32 [1, 0], system = "SI"   (metal units only)
 *   /particles/system_<id>       <id> = the system's system_id (dataset index)
 *     position                   value [n, N, 3] (unit Angstrom), step [n], time [n] (unit fs)
 *     box                        dimension = int32 3,
 *                                boundary = string [3], "periodic" or "none" per axis (pbc)
 *       edges                    value [n, 3, 3]: the cell's row vectors a, b, c
 *     velocity                   value [n, N, 3] (unit Angstrom fs-1)
 *     force                      value [n, N, 3] (unit eV Angstrom-1)
 *     species                    int32 [N], atomic numbers (time-independent)
 *     mass                       float64 [N] (unit u, i.e. amu) (time-independent)
 *   /system_observables/system_<id>   (see below)
 *     potential_energy           value [n] (unit eV)
 *     temperature                value [n] (unit K): kinetic temperature of the
 *                                frame's velocities, 3N − 3 degrees of freedom (3 if N = 1)
 *
 * Per-system observables are not in H5MD's /observables group: MDAnalysis'
 * reader expects /observables/<name>/value there and fails on per-system
 * subgroups; /system_observables (a non-specified group, which H5MD allows)
 * has the same element layout.
 *
 * Every time-dependent element has `step` and `time`: position's own, the
 * others' are hard links to position's (one sampling per system). Which
 * elements a system has is fixed by its first frame: velocity and
 * temperature if it has velocities, force if it has forces,
 * potential_energy if it has an energy (systems from the stage have them
 * all); a later frame that lacks one gets NaN there, and one that brings
 * an element the first frame lacked does not store it.
 *
 * Unit strings (the `unit` attribute of every value dataset and of `time`):
 *   metal: Angstrom, fs, Angstrom fs-1, eV Angstrom-1, eV, u, K — the units
 *          module's syntax, and the spellings MDAnalysis' reader knows for
 *          length, time and velocity.
 *   lj:    sigma, tau, sigma tau-1, epsilon sigma-1, epsilon, m, epsilon kB-1
 *          (reduced units; no units module is declared).
 * Every number is stored in float64 as computed: the bits round-trip.
 *
 * A frame's step and time come from the system's info keys "step" (an
 * integer) and "time" (a number, in fs or τ) — the snapshot hooks (hooks.h)
 * set them. Without "step" the frame's step is its index in the system's
 * group (0, 1, 2, ...); without "time" the time equals the step. A system
 * written again later (another stage) keeps appending to its group, with
 * the steps the caller gives.
 *
 * The file uses HDF5 1.10's object formats (HDF5 >= 1.10 reads it).
 * Readers: h5py reads everything (f["particles/system_3/position/value"]).
 * MDAnalysis' H5MDReader reads the first particle group of a file (in name
 * order: system_0, system_1, system_10, ...) and has no eV-based force
 * unit: open with convert_units=False (units are as above). Other H5MD
 * readers (OVITO) see standard H5MD particle groups. */
#ifndef BATCHMD_H5MD_H
#define BATCHMD_H5MD_H

#include "flow.h"
#include "status.h"
#include "units.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Creates (truncates) the H5MD file `path`, making its parent folders, and
 * a sink that appends each system written to it as one frame of its
 * particle group (see above). The sink's close flushes and closes the file,
 * which is then a complete H5MD file; a write after close reopens it and
 * appends. A system without a system_id (< 0) is refused (BMD_ERR_INVALID);
 * one without atoms is skipped.
 * `units` picks the unit strings. Destroy with bmd_sink_destroy.
 * Built without HDF5: returns BMD_ERR_UNSUPPORTED ("batchmd was built
 * without HDF5 (install libhdf5-dev and rebuild)"). Errors name the path. */
bmd_status bmd_sink_h5md_create(const char *path, bmd_units_kind units, bmd_sink **out);

/* The same sink over an existing file (created when missing), kept and
 * appended to, for a resume: its rewind op (flow.h) shrinks every system
 * back to the frame count a checkpoint committed and removes systems
 * created after it. Its commit op closes the file (complete on disk) and
 * fsyncs it. A file left unreadable by a kill between two commits (HDF5
 * files are not crash-safe) fails here with a message saying so. */
bmd_status bmd_sink_h5md_reopen(const char *path, bmd_units_kind units, bmd_sink **out);

/* 1 when this build can write H5MD files (built with HDF5), else 0. */
int bmd_h5md_available(void);

#ifdef __cplusplus
}
#endif

#endif
