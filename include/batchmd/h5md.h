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
 *   /parameters                units = "metal" or "lj" (batchmd's unit system)
 *   /particles/system_<id>       <id> = the system's system_id (dataset index)
 *     position                   value [n, N, 3] (unit Angstrom), step [n], time [n] (unit fs)
 *     box                        dimension = int32 3,
 *                                boundary = string [3], "periodic" or "none" per axis (pbc)
 *       edges                    value [n, 3, 3]: the cell's row vectors a, b, c
 *     velocity                   value [n, N, 3] (unit Angstrom ps-1: batchmd's Å/fs × 1000)
 *     force                      value [n, N, 3] (unit kJ mol-1 Angstrom-1: batchmd's eV/Å ×
 *                                e·N_A/1000 = 96.4853328825, CODATA 2014 as ASE 3.22)
 *     species                    int32 [N], atomic numbers (time-independent)
 *     mass                       float64 [N] (unit u, i.e. amu) (time-independent)
 *   /system_observables/system_<id>   (see below)
 *     potential_energy           value [n] (unit eV)
 *     temperature                value [n] (unit K): kinetic temperature of the
 *                                frame's velocities, 2K / (N_f k_B) with N_f = 3N for
 *                                Langevin and optimizer frames, 3N − 3 (3 if N = 1) for
 *                                NVE and Nosé–Hoover ones and under fix_com, 3 fewer
 *                                per fixed atom (bmd_system_dof)
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
 * Unit strings: the `unit` attribute of every value dataset (and mass) and
 * of `time` (none on `step`, a count) is a scalar variable-length ASCII
 * string (H5MD's units module; h5py reads it as str).
 *   metal: Angstrom, fs, Angstrom ps-1, kJ mol-1 Angstrom-1, eV, u, K — the
 *          spellings MDAnalysis' H5MD reader (2.x) knows for length, time,
 *          velocity and force; velocity and force are in its own units,
 *          since it knows no eV-based force unit and, up to 2.9, converts
 *          "Angstrom fs-1" by the inverse factor (MDAnalysis issue #5051).
 *          No units module is declared: its "SI" system spells the
 *          ångström "Ang" (and "A" is the ampere), unknown to MDAnalysis.
 *   lj:    no unit attributes (reduced units σ, τ, ε, m; /parameters says lj).
 * Positions, cells, times, masses, energies and temperatures are stored in
 * float64 as computed (their bits round-trip); velocities and forces are
 * the computed numbers times the factors above (lj: as computed).
 *
 * A frame's step and time come from the system's info keys "step" (an
 * integer) and "time" (a number, in fs or τ) — the snapshot hooks (hooks.h)
 * set them: its own step count in the stage and the MD time it has spent
 * there (Σ steps × dt over MD sub-stages). A relaxation (FIRE) step adds no
 * time, so relaxation frames carry the MD time before them (0 in
 * "relax + md") and differ by step; times never decrease. Without "step"
 * the frame's step is its index in the system's group (0, 1, 2, ...);
 * without "time" the time equals the step. A system written again later
 * (another stage) keeps appending to its group, with the steps the caller
 * gives.
 *
 * The file uses HDF5 1.10's object formats (HDF5 >= 1.10 reads it).
 * Readers: h5py reads everything (f["particles/system_3/position/value"]).
 * OVITO and other H5MD readers see standard H5MD particle groups; for
 * axes whose boundary is "none", edges hold the input's cell (H5MD:
 * placeholders).
 * MDAnalysis' H5MDReader reads the first particle group of a file (in name
 * order: system_0, system_1, system_10, ...) and builds a topology only
 * from /particles/trajectory of a *.h5md file. To open system <id>, make
 * a view file of three HDF5 external links and open that:
 *     with h5py.File("system_3.h5md", "w") as v:
 *         v["h5md"] = h5py.ExternalLink("/abs/traj.h5", "/h5md")
 *         v["particles/trajectory"] = h5py.ExternalLink("/abs/traj.h5", "/particles/system_3")
 *         v["observables"] = h5py.ExternalLink("/abs/traj.h5", "/system_observables/system_3")
 *     u = MDAnalysis.Universe("system_3.h5md")
 * (positions Å, velocities Å/ps, forces kJ/(mol·Å), time ps, box from
 * edges; ts.data["step"], ts.data["potential_energy"] and
 * ts.data["temperature"]). lj files open with convert_units=False only
 * (Universe.empty(N) then load_new(view, format="H5MD",
 * convert_units=False)); with units converted MDAnalysis refuses a file
 * without units. */
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
