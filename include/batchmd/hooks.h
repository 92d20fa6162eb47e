/* hooks.h — the built-in hooks (see dynamics.h for the hook interface). */
#ifndef BATCHMD_HOOKS_H
#define BATCHMD_HOOKS_H

#include <stdint.h>
#include <stdio.h>
#include "dynamics.h"
#include "flow.h"

#ifdef __cplusplus
extern "C" {
#endif

/* CSV log at AFTER_STEP (and once on entry, step 0): one row per live system
 * whose own step count in its sub-stage is a multiple of `every`, and a last
 * row when a system leaves a sub-stage at a step not already logged. Columns
 * (header line names them with units): system_id, stage, step, energy_eV,
 * fmax_eV_per_A, temperature_K (lj units: energy_eps, fmax_eps_per_sigma,
 * temperature_eps_per_kB). The temperature is 2K / (N_f k_B) with N_f as the
 * row's sub-stage counts (bmd_stage_dof: 3N for nvt_langevin and the
 * optimizers, 3N − 3 for nve and nvt_nose_hoover, 3N − 3 under fix_com;
 * 3 fewer per fixed atom, and no momentum's 3 from nve/nvt_nose_hoover with
 * fixed atoms: system.h); fmax is over free atoms. Opens `path` (truncates,
 * parent folders made) in open(). */
bmd_status bmd_hook_log_create(const char *path, long every, bmd_hook **out);

/* Takes out (BMD_STATUS_FAILED, status "nan_or_inf") any system whose energy
 * or forces are NaN/Inf after a model evaluation (AFTER_COMPUTE, which also
 * fires after the evaluation made when systems arrive, before they can
 * leave at step 0). */
bmd_status bmd_hook_nan_create(bmd_hook **out);

/* Caps each atom's force at `fmax_clamp` eV/Å (direction kept) after every
 * model evaluation (AFTER_COMPUTE, the arrivals' included); with fail_above > 0, a
 * system whose max force exceeds fail_above eV/Å is taken out instead
 * (status "force_blowup"). fmax_clamp <= 0: no clamping. */
bmd_status bmd_hook_fclamp_create(double fmax_clamp, double fail_above, bmd_hook **out);

/* Takes out (status "atoms_too_close") a system with two atoms, or an atom
 * and its periodic image, closer than min_distance Å: broken input
 * (overlapping or duplicated atoms) named as such rather than left to blow
 * up. Each system is looked at once, right after its first evaluation
 * (AFTER_COMPUTE), or at BEFORE_STEP of its first step when it arrives with
 * valid forces (a per-system column marks it, and travels with it). Add it
 * before the nan and fclamp hooks: they would take such a system out
 * first. */
bmd_status bmd_hook_min_distance_create(double min_distance, bmd_hook **out);

/* Energy-drift monitor for NVE: per system, |E_total − E_total at entry| / N
 * (eV/atom), checked every `every` steps; the largest seen is kept. With
 * max_drift > 0 a system over it is taken out (status "energy_drift"). */
bmd_status bmd_hook_drift_create(double max_drift, long every, bmd_hook **out);
/* The same, watching only the systems of sub-stage `substage` (-1: all). */
bmd_status bmd_hook_drift_substage_create(int substage, double max_drift, long every, bmd_hook **out);
/* The largest drift per atom (eV/atom) the monitor has seen so far. */
double bmd_hook_drift_max(const bmd_hook *h);

/* ---- trajectory snapshots (the sinks are in flow.h and h5md.h) ---- */

/* Writes systems to `sink` as trajectory frames, by each system's OWN step
 * count in the stage (Σ over the sub-stages of its "steps.<name>"), never
 * by the batch's loop step, so a system's frames do not depend on its
 * batch: a first frame at step 0 (before its first update, or as it leaves
 * the stage if it never takes one), then after every step whose own count
 * is a positive multiple of `every` (< 1: 1), and, as it leaves the stage's
 * last sub-stage, its final state if that step count has no frame yet (so
 * a system's last frame is the state it leaves the stage with, never
 * written twice). Each frame is the system as
 * bmd_batch_extract gives it (positions, velocities, forces, energy, cell)
 * with the info keys "step" (its own count) and "time" (Σ steps × dt over
 * the sub-stages given a time step with bmd_hook_snapshot_set_dt, so 0 for
 * optimizers; fs in metal units, τ in lj; %.17g), which the H5MD sink
 * stores as the frame's step and time.
 * system_ids[0..n_ids): the systems to write (copied); n_ids = 0: all.
 * Takes ownership of `sink`, also on failure: the hook's close (end of the
 * run) calls the sink's close (flush), destroying the hook destroys it. */
bmd_status bmd_hook_snapshot_create(bmd_sink *sink, long every, const int64_t *system_ids, int n_ids,
                                    bmd_hook **out);

/* The time step dt (fs; τ in lj units) of sub-stage `substage` (by name)
 * for a snapshot or converged-snapshot hook's frame times; a structure's
 * info key "dt" overrides it, as it does for the dynamics. Give it for the
 * MD sub-stages; a sub-stage without one adds no time. */
bmd_status bmd_hook_snapshot_set_dt(bmd_hook *h, const char *substage, double dt);

/* Writes each system to `sink` once as it leaves a sub-stage (ON_CONVERGE:
 * converged, or out of budget); last_only != 0: only as it leaves the last
 * sub-stage. Info keys: "step" and "time" as for bmd_hook_snapshot_create,
 * "stage" (the sub-stage left) and "converged_<stage>" (T or F). Takes
 * ownership of `sink` as bmd_hook_snapshot_create does. */
bmd_status bmd_hook_converged_snapshot_create(bmd_sink *sink, int last_only, bmd_hook **out);

#ifdef __cplusplus
}
#endif

#endif
