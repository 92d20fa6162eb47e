#!/usr/bin/python3
"""temperature_test.py — the temperature batchmd reports (the log's
temperature_K, the H5MD trajectory's temperature/value) is the one ASE
computes from the written frames, and its mean under Langevin is the bath's.

1. Frames against ASE 3.22. ASE's Atoms.get_temperature() is
   2 E_kin / (dof k_B) with E_kin = ½ Σ p·v and dof = 3N minus each
   constraint's get_removed_dof() (FixCom removes 3), k_B = ase.units.kB =
   8.617330337217213e-5 eV/K (batchmd's metal k_B). A campaign runs
   relax (FIRE, which leaves the input's velocities alone) + heat (NVE,
   init_temperature 50 K) + bath (Langevin 50 K, init_temperature 50 K) +
   cool (NVE) on an Ar11 cluster and a periodic 32-atom Ar crystal brought
   with ASE Maxwell–Boltzmann momenta, with the trajectory and the log at
   every 5th step. For every trajectory frame (positions, velocities,
   masses read with h5py into an ase.Atoms) at its own step t, the log row
   of the same system, sub-stage and step (t less the steps of the earlier
   stages) must equal ASE's get_temperature() of the frame to 1e-12
   relative: without constraints (3N) for relax and bath rows, with FixCom
   (3N − 3) for heat and cool rows (the dynamics that conserve total
   momentum); and so must the frame's own temperature/value. The final
   frames (final.extxyz, read by ASE with their momenta) against the last
   log row (cool, FixCom). The step-0 rows of heat and bath are exactly
   50 K (init_temperature, counted as each dynamics counts). Before the
   fix, every bath row was 3N/(3N − 3) times ASE's temperature (46.1 K
   logged where ASE said 41.9 K for 11 atoms).
2. Ensemble mean under Langevin: 48 periodic 8-atom Ar crystals at 50 K
   (friction 0.05/fs, dt 2 fs, 4000 steps, log every 10). The mean over
   systems of each system's time-averaged logged temperature (after 500
   steps, 25 friction times, of equilibration) equals 50 K within 4
   standard errors, the standard error from the spread of the 48
   independent systems' averages (their noise streams are keyed by
   system_id, so they are independent and the central limit theorem
   applies: |z| > 4 has probability 6e-5). The test has power: the
   standard error is below 0.5% of T, while counting 3N − 3 instead of 3N
   inflates the mean by 3/(3N − 3) = 14%. BAOAB's own bias on the
   full-step kinetic temperature is O((ω dt/2)²) ≈ 2e-4 for argon's
   fastest phonons (ω ≈ 0.013 rad/fs), well inside the tolerance.
Prints "N passed, M failed"; exits 1 on any failure."""
import csv
import os
import sys
import tempfile

import numpy as np
import h5py
import ase.io
from ase import Atoms, units
from ase.build import bulk
from ase.constraints import FixCom
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
from testlib import Checks, run  # noqa: E402

MODEL = "model: {type: lj, epsilon: 0.0104, sigma: 3.4, cutoff: 8.5, shift: true}\n"

FRAMES_CAMPAIGN = """seed: 7
""" + MODEL + """input: in.extxyz
stages:
  relax: {type: fire, fmax: 0.002, max_steps: 40}
  heat: {type: nve, dt: 2.0, steps: 30, init_temperature: 50}
  bath: {type: nvt_langevin, dt: 2.0, temperature: 50, friction: 0.02, steps: 30, init_temperature: 50}
  cool: {type: nve, dt: 2.0, steps: 30}
output:
  final: out/final.extxyz
  trajectory: {file: out/traj.h5, every: 5}
  log: {file: out/log.csv, every: 5}
"""

MEAN_CAMPAIGN = """seed: 11
""" + MODEL + """input: in.extxyz
stages:
  bath: {type: nvt_langevin, dt: 2.0, temperature: 50, friction: 0.05, steps: 4000, init_temperature: 50}
output:
  final: out/final.extxyz
  log: {file: out/log.csv, every: 10}
"""

STAGES = ["relax", "heat", "bath", "cool"]
MOMENTUM_CONSERVING = {"heat", "cool"}  # nve: ASE's count with FixCom


def read_log(path):
    """{(system_id, stage, step): temperature_K}"""
    with open(path) as f:
        return {(int(r["system_id"]), r["stage"], int(r["step"])): float(r["temperature_K"])
                for r in csv.DictReader(f)}


def ase_temperature(atoms, stage):
    a = atoms.copy()
    if stage in MOMENTUM_CONSERVING:
        a.set_constraint(FixCom())
    return a.get_temperature()


def velocity_to_ase(dataset):
    """The factor from the H5MD velocity dataset's unit to ASE's Å per ASE time unit."""
    unit = dataset.attrs.get("unit")
    unit = unit.decode() if isinstance(unit, bytes) else str(unit)
    return {"Angstrom fs-1": 1 / units.fs, "Angstrom ps-1": 1 / (1000 * units.fs)}[unit]


def close(x, y, rel=1e-12):
    return abs(x - y) <= rel * abs(y)


def frames_against_ase(c):
    cluster = Atoms("Ar11", positions=[[0, 0, 0], [3.7, 0, 0], [0, 3.7, 0], [0, 0, 3.7], [-3.7, 0, 0],
                                       [0, -3.7, 0], [0, 0, -3.7], [2.6, 2.6, 0], [2.6, 0, 2.6], [0, 2.6, 2.6],
                                       [-2.6, -2.6, 0]])
    crystal = bulk("Ar", "fcc", a=5.26, cubic=True).repeat((2, 2, 2))
    crystal.positions += np.random.default_rng(1).normal(0, 0.05, crystal.positions.shape)
    MaxwellBoltzmannDistribution(crystal, temperature_K=30, rng=np.random.RandomState(3))
    with tempfile.TemporaryDirectory() as d:
        ase.io.write(os.path.join(d, "in.extxyz"), [cluster, crystal])
        with open(os.path.join(d, "c.yaml"), "w") as f:
            f.write(FRAMES_CAMPAIGN)
        r = run("run", "--quiet", os.path.join(d, "c.yaml"))
        c.check(r.returncode == 0, "frames run exit 0: %s" % r.stderr)
        if r.returncode:
            return
        log = read_log(os.path.join(d, "out/log.csv"))
        final = {a.info["system_id"]: a for a in ase.io.read(os.path.join(d, "out/final.extxyz"), ":")}
        compared = {s: 0 for s in STAGES}
        with h5py.File(os.path.join(d, "out/traj.h5"), "r") as h:
            for sid, fin in sorted(final.items()):
                g = h["particles/system_%d" % sid]
                obs = h["system_observables/system_%d" % sid]
                steps_in = [fin.info["steps_" + s] for s in STAGES]
                c.check(steps_in[0] > 0 and steps_in[1:] == [30, 30, 30],
                        "system %d: steps per stage %s" % (sid, steps_in))
                ends = np.cumsum(steps_in)
                for k, t in enumerate(g["position/step"][()]):
                    i = 0 if t == 0 else int(np.searchsorted(ends, t))  # a frame at a stage's last step is in it
                    stage, local = STAGES[i], int(t - (ends[i - 1] if i else 0))
                    atoms = Atoms(numbers=g["species"][()], positions=g["position/value"][k],
                                  masses=g["mass"][()], cell=g["box/edges/value"][k], pbc=fin.pbc)
                    atoms.set_velocities(g["velocity/value"][k] * velocity_to_ase(g["velocity/value"]))
                    want = ase_temperature(atoms, stage)
                    got = log.get((sid, stage, local))
                    c.check(got is not None and close(got, want),
                            "system %d %s step %d: log %s K, ASE %.15g K" % (sid, stage, local, got, want))
                    tv = obs["temperature/value"][k]
                    c.check(close(tv, want), "system %d %s step %d: trajectory temperature %.15g K, ASE %.15g K"
                            % (sid, stage, local, tv, want))
                    compared[stage] += 1
                want = ase_temperature(fin, "cool")
                got = log.get((sid, "cool", 30))
                c.check(got is not None and close(got, want),
                        "system %d final frame: log %s K, ASE (FixCom) %.15g K" % (sid, got, want))
                for stage in ("heat", "bath"):
                    c.check(close(log[(sid, stage, 0)], 50.0), "system %d %s step 0: %.15g K, init_temperature 50 K"
                            % (sid, stage, log[(sid, stage, 0)]))
        c.check(all(n >= 8 for n in compared.values()), "frames compared per stage: %s" % compared)
        # the crystal's relax rows are its input velocities (as written: ASE keeps 8 decimals), ASE's numbers
        t_in = ase.io.read(os.path.join(d, "in.extxyz"), 1).get_temperature()
        c.check(t_in > 20 and close(log[(1, "relax", 0)], t_in),
                "relax step 0: %.15g K, ASE on the input %.15g K" % (log[(1, "relax", 0)], t_in))
        print("frames: log and trajectory temperatures = ASE's for %s frames" % compared)


def langevin_mean(c):
    T = 50.0
    systems = []
    rng = np.random.default_rng(9)
    for k in range(48):
        a = bulk("Ar", "fcc", a=5.26, cubic=True).repeat((2, 1, 1))
        a.positions += rng.normal(0, 0.05, a.positions.shape)
        systems.append(a)
    n = len(systems[0])
    with tempfile.TemporaryDirectory() as d:
        ase.io.write(os.path.join(d, "in.extxyz"), systems)
        with open(os.path.join(d, "c.yaml"), "w") as f:
            f.write(MEAN_CAMPAIGN)
        r = run("run", "--quiet", os.path.join(d, "c.yaml"))
        c.check(r.returncode == 0, "langevin run exit 0: %s" % r.stderr)
        if r.returncode:
            return
        per = {}
        with open(os.path.join(d, "out/log.csv")) as f:
            for row in csv.DictReader(f):
                if int(row["step"]) > 500:
                    per.setdefault(int(row["system_id"]), []).append(float(row["temperature_K"]))
    means = np.array([np.mean(v) for v in per.values()])
    c.check(len(means) == 48 and all(len(v) == 350 for v in per.values()), "350 rows per system after step 500")
    mean, se = means.mean(), means.std(ddof=1) / np.sqrt(len(means))
    z = (mean - T) / se
    print("langevin: mean logged T %.4f K over %d systems of %d atoms, SE %.4f K, z = %+.2f "
          "(3N-3 would read %.2f K)" % (mean, len(means), n, se, z, T * 3 * n / (3 * n - 3)))
    c.check(abs(z) < 4, "mean logged temperature %.4f K = %g K within 4 SE (SE %.4f K)" % (mean, T, se))
    c.check(se < 0.005 * T, "the test has power: SE %.4f K < 0.5%% of T" % se)


c = Checks()
frames_against_ase(c)
langevin_mean(c)
c.finish()
