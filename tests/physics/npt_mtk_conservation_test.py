#!/usr/bin/python3
"""npt_mtk_conservation_test.py — the conserved quantities of npt_mtk and
nph: H = K + U + E_ext (E_ext the last entry of the stage's state row: P V,
the barostat's kinetic energy Σ W ω̇²/2, and the thermostat chains'
energies; for nph, without a particle thermostat, H is the enthalpy
K + U + P V plus the barostat's and its chain's energies) stays constant up
to the integrator's error, which for this second-order splitting is O(dt²):
halving dt divides H's fluctuation by 4.

System: fcc LJ solid, 256 atoms at ρ = 1.05, T = 0.1, lj/cut with the
cutoff at 2.34σ, between the fourth (2.21σ) and fifth (2.47σ) neighbour
shells, energy shifted (units lj). The cutoff's force jump makes every pair
that crosses it an O(dt) energy error, which in a liquid would hide the dt²
law; in this cold solid no pair comes near the cutoff (the shells' thermal
spread is ~0.03σ, the volume's ~0.3 %), so the forces are smooth along the
trajectory. Target pressure 1.0 ε/σ³, strong coupling (tdamp 0.2τ, pdamp
0.5τ) so that the chains and the barostat exchange much more energy with
the atoms than the error to be measured; 8τ at dt = 0.004τ and at dt =
0.002τ, both systems in one batch (dt and steps from each structure's info
line), for npt_mtk iso and tri and nph iso and tri (each with the default
chains: 3 thermostats, 3 barostat thermostats). Checks, per mode:
  - std(H)(dt) / std(H)(dt/2) in [3.4, 4.6] (4 for an O(dt²) error;
    measured 3.8 to 3.9; an E_ext that misses a term, e.g. the barostat
    thermostat's first position weighed by 3 kT as LAMMPS's f_ID does for
    iso, drifts and gives 1.0);
  - max_t |H(t) − H(t_0)| / N < 80 dt² (ε per atom, dt in τ: measured 40
    to 42 dt² for every mode and both steps);
  - the coupling worked: E_ext's range is over 100 times std(H) at dt.
H is taken at the same times for both steps (every 0.04τ, t_0 = 0.04τ).
Prints the numbers; "N failed"; exits 1 on any failure."""
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from npt_common import fcc_liquid, run_batchmd  # noqa: E402

T, P, TIME, DTS, C_BOUND = 0.1, 1.0, 8.0, (0.004, 0.002), 80.0
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)
    return ok


cell, pos, vel = fcc_liquid(4, 1.05, T, 11, jitter=0.0)
n = len(pos)
frames = [(cell, pos, vel, {"dt": dt, "steps": int(round(TIME / dt))}) for dt in DTS]
for dyn, couple, name in (("npt_mtk", 0, "npt_mtk iso"), ("npt_mtk", 2, "npt_mtk tri"), ("nph", 0, "nph iso"),
                          ("nph", 2, "nph tri")):
    params = dict(dt=DTS[0], pressure=P, pdamp=0.5, couple=couple)
    if dyn == "npt_mtk":
        params.update(temperature=T, tdamp=0.2)
    with tempfile.TemporaryDirectory() as d:
        out, _, failed = run_batchmd(d, frames, int(round(TIME / DTS[1])), 10, dyn, params, rc=2.34, skin=0.2)
    if not check(not failed and len(out) == 2, "%s: both systems ran (failed: %s)" % (name, failed)):
        continue
    sd, worst = [], []
    for s, dt in enumerate(DTS):
        b = out[s]
        check(b["step"][-1] * dt > 0.99 * TIME, "%s: dt %g ran %d steps" % (name, dt, b["step"][-1]))
        keep = np.isclose(np.round(b["step"] * dt / 0.04) * 0.04, b["step"] * dt)  # the same times for both dt
        h = (b["ke"] + b["pe"] + b["eext"])[keep]
        sd.append(np.std(h))
        worst.append(np.abs(h - h[0]).max() / n / dt ** 2)
        if s == 0:
            e_range = np.ptp(b["eext"])
            v_rel = np.std(b["vol"]) / np.mean(b["vol"])
    ratio = sd[0] / sd[1]
    print("%-12s std(H) %.3e (dt %g) %.3e (dt %g), ratio %.2f; max|H - H0|/(N dt²) %.1f, %.1f; "
          "E_ext range %.2f, V spread %.2f %%" % (name, sd[0], DTS[0], sd[1], DTS[1], ratio, worst[0], worst[1],
                                               e_range, 100 * v_rel))
    check(3.4 < ratio < 4.6, "%s: std(H) ratio %.2f between dt %g and %g is not ~4" % (name, ratio, *DTS))
    for dt, w in zip(DTS, worst):
        check(w < C_BOUND, "%s: dt %g: max|H - H0| = %.1f N dt² exceeds %g N dt²" % (name, dt, w, C_BOUND))
    check(e_range > 100 * sd[0], "%s: the barostat and thermostats did work (E_ext range %.3g)" % (name, e_range))
print("%d failed" % len(failures))
sys.exit(1 if failures else 0)
