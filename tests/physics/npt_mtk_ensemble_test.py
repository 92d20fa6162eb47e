#!/usr/bin/python3
"""npt_mtk_ensemble_test.py — npt_mtk samples the isothermal–isobaric
ensemble of each system at its own temperature and pressure, in one batch.

One batch of four LJ liquids of 108 atoms (lj/cut 2.5σ as LAMMPS's in.lj,
energy not shifted; units lj), each with its own state point from its info
line (per-structure overrides of the stage's temperature and pressure):
  A (T 1.5, P 2.0), B (T 1.5, P 2.6), C (T 1.2, P 1.0), D (T 2.0, P 4.0),
npt_mtk iso, dt 0.005τ, tdamp 0.1τ, pdamp 0.5τ, 24,000 steps of which the
first 4,000 are discarded, sampled every 10 steps. Means and standard
errors come from 10 contiguous blocks of 2,000 steps, at least 20 times
the volume's integrated autocorrelation time (measured: 50 to 100 steps;
the test checks the blocks are that long), and the variance's from the
jackknife over the same blocks. Every comparison is within 3 combined
standard errors:

(b) density against LAMMPS: A's mean number density equals that of LAMMPS's
    `fix npt temp 1.5 1.5 0.1 iso 2.0 2.0 0.5` run from the same start for
    as many steps (the same estimator on LAMMPS's volumes);
(c) compressibility (the physical-validation ensemble check): the volume
    fluctuations of A and B give κ_T = ⟨δV²⟩/(kT⟨V⟩) (their mean: both
    estimate the chord's midpoint to second order), and the slope of ⟨V⟩
    between their pressures gives −(1/V̄)(⟨V⟩_B − ⟨V⟩_A)/(P_B − P_A), V̄ their
    mean volume. The identity d⟨V⟩/dP = −⟨δV²⟩/kT holds for any weight
    g(V) e^{−PV/kT} with g independent of P, so it tests that the barostat
    samples the isobaric family at the right temperature, whatever its
    finite-N measure;
(d) each system reaches its own state point: its mean kinetic temperature
    (N_f = 3N − 3) is its T, and its pressure satisfies the isobaric
    relation ⟨(P_inst − P) V⟩ = −kT (exact in the NPT ensemble; the MTK
    equations give −⟨2K⟩/(3N) = −kT (1 − 1/N), a difference far below the
    error bar), where P_inst is the log's pressure (kinetic part included).
    A barostat that reached another system's pressure, or the stage's,
    misses by more than 40 standard errors.
Prints the numbers; "N failed"; exits 1 on any failure."""
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from npt_common import block_mean, correlation_time, fcc_liquid, run_batchmd, run_lammps  # noqa: E402

N_CELL, RHO0 = 3, 0.8442
DT, TDAMP, PDAMP = 0.005, 0.1, 0.5
STEPS, SKIP, EVERY, BLOCKS = 24000, 4000, 10, 10
STATES = [("A", 1.5, 2.0), ("B", 1.5, 2.6), ("C", 1.2, 1.0), ("D", 2.0, 4.0)]
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)
    return ok


def within(name, a, sa, b, sb, what):
    z = abs(a - b) / np.hypot(sa, sb)
    print("%s: %s %.5f ± %.5f vs %.5f ± %.5f (%.1f σ)" % (name, what, a, sa, b, sb, z))
    return check(z < 3, "%s: %s %.5f ± %.5f differs from %.5f ± %.5f by %.1f standard errors"
                 % (name, what, a, sa, b, sb, z))


def kappa_jackknife(v, t):
    """κ_T = var(V)/(kT mean(V)) and its jackknife standard error over BLOCKS blocks."""
    k = lambda x: x.var() / (t * x.mean())  # noqa: E731
    m = len(v) // BLOCKS
    blocks = v[:m * BLOCKS].reshape(BLOCKS, m)
    loo = np.array([k(np.delete(blocks, i, axis=0).ravel()) for i in range(BLOCKS)])
    return k(v[:m * BLOCKS]), np.sqrt((BLOCKS - 1) / BLOCKS * np.sum((loo - loo.mean()) ** 2))


frames, starts = [], []
for i, (name, t, p) in enumerate(STATES):
    cell, pos, vel = fcc_liquid(N_CELL, RHO0, t, 100 + i)
    starts.append((cell, pos, vel))
    frames.append((cell, pos, vel, {"temperature": t, "pressure": p}))
n_atoms = len(starts[0][1])
params = dict(dt=DT, temperature=1.5, pressure=2.0, tdamp=TDAMP, pdamp=PDAMP, couple=0)
with tempfile.TemporaryDirectory() as d:
    out, _, failed = run_batchmd(d, frames, STEPS, EVERY, "npt_mtk", params, shift=0)
    cell, pos, vel = starts[0]
    lmp, _ = run_lammps(d, cell, pos, vel, "npt temp 1.5 1.5 %g iso 2.0 2.0 %g" % (TDAMP, PDAMP), STEPS, EVERY,
                        shift=False)
check(not failed and len(out) == len(STATES), "every system ran to the end (failed: %s)" % failed)
first = SKIP // EVERY
res = {}
for s, (name, t, p) in enumerate(STATES):
    b = out[s]
    v = b["vol"][first:]
    tau = correlation_time(v) * EVERY
    block_steps = (len(v) // BLOCKS) * EVERY
    print("%s (T %g, P %g): <V> %.2f, volume autocorrelation time %.0f steps, blocks of %d steps"
          % (name, t, p, v.mean(), tau, block_steps))
    check(block_steps > 20 * tau, "%s: blocks of %d steps are not 20 autocorrelation times (%.0f)" % (name, block_steps, tau))
    res[name] = (t, p, b, v)
    # (d) its own temperature and pressure
    within(name, *block_mean(b["temp"][first:], BLOCKS), t, 0.0, "mean temperature")
    g = (b["press"][first:] - p) * v
    within(name, *block_mean(g, BLOCKS), -t, 0.0, "<(P_inst - P) V>")

# (b) density against LAMMPS's fix npt at A's state point
rho_b = block_mean(n_atoms / res["A"][3], BLOCKS)
rho_l = block_mean(n_atoms / lmp["vol"][first:], BLOCKS)
within("A", rho_b[0], rho_b[1], rho_l[0], rho_l[1], "density vs LAMMPS fix npt")

# (c) compressibility: fluctuations against the slope of <V>(P)
(ta, pa, _, va), (tb, pb, _, vb) = res["A"], res["B"]
ka, kb = kappa_jackknife(va, ta), kappa_jackknife(vb, tb)
k_fluct, k_fluct_se = 0.5 * (ka[0] + kb[0]), 0.5 * np.hypot(ka[1], kb[1])
(ma, sa), (mb, sb) = block_mean(va, BLOCKS), block_mean(vb, BLOCKS)
vbar = 0.5 * (ma + mb)
k_slope, k_slope_se = -(mb - ma) / (vbar * (pb - pa)), np.hypot(sa, sb) / (vbar * (pb - pa))
print("kappa_T: fluctuations A %.4f ± %.4f, B %.4f ± %.4f" % (ka + kb))
within("A,B", k_fluct, k_fluct_se, k_slope, k_slope_se, "kappa_T (fluctuations vs slope)")
check(k_slope_se < 0.15 * k_slope and k_fluct_se < 0.15 * k_fluct, "the compressibility is measured to 15 %")
print("%d failed" % len(failures))
sys.exit(1 if failures else 0)
