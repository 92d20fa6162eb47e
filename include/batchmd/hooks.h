/* hooks.h — the built-in hooks (see dynamics.h for the hook interface). */
#ifndef BATCHMD_HOOKS_H
#define BATCHMD_HOOKS_H

#include <stdio.h>
#include "dynamics.h"

/* CSV log at AFTER_STEP (and once on entry, step 0): one row per live system
 * whose own step count in its sub-stage is a multiple of `every`, and a last
 * row when a system leaves a sub-stage at a step not already logged. Columns
 * (header line names them with units): system_id, stage, step, energy_eV,
 * fmax_eV_per_A, temperature_K (lj units: energy_eps, fmax_eps_per_sigma,
 * temperature_eps_per_kB). Opens `path` (truncates, parent folders made) in
 * open(). */
bmd_status bmd_hook_log_create(const char *path, long every, bmd_hook **out);

/* Takes out (BMD_STATUS_FAILED, status "nan_or_inf") any system whose energy
 * or forces are NaN/Inf after a model evaluation (AFTER_COMPUTE; also at
 * BEFORE_STEP, which covers the evaluation made when systems arrive). */
bmd_status bmd_hook_nan_create(bmd_hook **out);

/* Caps each atom's force at `fmax_clamp` eV/Å (direction kept) after every
 * model evaluation (AFTER_COMPUTE and BEFORE_STEP); with fail_above > 0, a
 * system whose max force exceeds fail_above eV/Å is taken out instead
 * (status "force_blowup"). fmax_clamp <= 0: no clamping. */
bmd_status bmd_hook_fclamp_create(double fmax_clamp, double fail_above, bmd_hook **out);

/* Energy-drift monitor for NVE: per system, |E_total − E_total at entry| / N
 * (eV/atom), checked every `every` steps; the largest seen is kept. With
 * max_drift > 0 a system over it is taken out (status "energy_drift"). */
bmd_status bmd_hook_drift_create(double max_drift, long every, bmd_hook **out);
/* The same, watching only the systems of sub-stage `substage` (-1: all). */
bmd_status bmd_hook_drift_substage_create(int substage, double max_drift, long every, bmd_hook **out);
/* The largest drift per atom (eV/atom) the monitor has seen so far. */
double bmd_hook_drift_max(const bmd_hook *h);

#endif
