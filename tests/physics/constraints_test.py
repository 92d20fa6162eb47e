#!/usr/bin/python3
"""constraints_test.py — fixed atoms (ASE's FixAtoms, read from and written
as the extxyz move_mask column) and fix_com, against ASE 3.22 and the
statistics of the canonical ensemble.

1. FIRE with fixed atoms against ase.optimize.FIRE with FixAtoms, step for
   step: LJ argon clusters and vacancy crystals, some atoms fixed (and one
   structure with none), relaxed together in one batch. Each takes ASE's
   number of steps (steps_relax = nsteps) to the same energy (1e-10 eV)
   and positions (1e-9 Å); the fixed atoms end bit for bit where they were
   read. final.extxyz carries move_mask, and ase.io.read gives back FixAtoms
   with the same indices (none for the unconstrained one); its forces are
   the model's on every atom (ASE's LennardJones with apply_constraint=False,
   1e-10 eV/Å), as ASE writes its calculator's results; the log's last fmax
   is ASE's max |F| of the constrained forces (what FIRE converged on). A
   structure with fixed atoms and two atoms 0.3 Å apart goes to
   failed.extxyz (atoms_too_close) with its FixAtoms too. A second run with
   a batch budget refilled every step (compaction moves the fixed-atom
   column) gives bitwise the same frames.
2. NVE with fixed atoms: periodic argon crystals (4 of 32 atoms fixed) and
   a cluster, init_temperature 40 K, 2000 steps of 2 fs, trajectory every
   20. The fixed atoms never move and rest (bitwise, every frame); the
   total energy E = U + K (K from the trajectory's velocities, as ASE)
   fluctuates by less than 0.2% of K's own fluctuation and does not drift
   (first and last 20 frames' means within 0.2% of K's fluctuation; velocity
   Verlet's error is O((ω dt)²) ≈ 7e-4 of K for argon's fastest phonons,
   ω ≈ 0.013 rad/fs). If fixed atoms were kicked by their forces and put
   back, the energy would not be conserved. Every log row's temperature is
   ASE's get_temperature() of the frame with FixAtoms (N_f = 3N − 3 n_fixed:
   the total momentum is not conserved with fixed atoms), to 1e-12; the
   step-0 rows are exactly 40 K.
3. Langevin (BAOAB) at 50 K on 48 periodic 8-atom argon crystals per run,
   4000 steps of 2 fs, log every 10, three runs: 2 atoms fixed per system
   (N_f = 18), fix_com with 2 atoms fixed (N_f = 15), fix_com alone
   (N_f = 21). The mean over systems of each system's time-averaged logged
   temperature (after 500 steps: 25 friction times) equals 50 K within 3
   standard errors, the standard error from the spread of the 48
   independent systems' averages (their noise streams are keyed by
   system_id). The test has power: the standard error is below 0.5% of T,
   while a count off by 3 shifts the mean by 3/N_f >= 14%. Under fix_com the
   free atoms' total momentum (trajectory every 200 steps, and final) is 0
   to 1e-12 amu Å/fs, and the log's temperature at each frame is ASE's with
   FixAtoms and FixCom (1e-12). Fixed atoms never move (bitwise).
4. fix_com where it cannot be honoured is refused (exit 2, nothing
   written): on an optimizer, not a boolean, as a structure's info key.
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
from ase.calculators.lj import LennardJones
from ase.constraints import FixAtoms, FixCom
from ase.optimize import FIRE

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
from testlib import Checks, run  # noqa: E402

EPS, SIG, RC = 0.0104, 3.40, 8.5
MODEL = "model: {type: lj, epsilon: %r, sigma: %r, cutoff: %r, shift: true}\n" % (EPS, SIG, RC)


def write_campaign(d, text):
    path = os.path.join(d, "c.yaml")
    with open(path, "w") as f:
        f.write(MODEL + text)
    return path


def write_input(d, frames):
    """in.extxyz with ASE's move_mask column where a frame has FixAtoms; the
    frames as ASE reads them back (8 decimals: batchmd's input exactly)."""
    path = os.path.join(d, "in.extxyz")
    for k, a in enumerate(frames):
        cols = ["symbols", "positions"] + (["move_mask"] if a.constraints else [])
        ase.io.write(path, a, format="extxyz", columns=cols, append=k > 0)
    return ase.io.read(path, ":")


def fixed_indices(atoms):
    return sorted(int(i) for c in atoms.constraints if isinstance(c, FixAtoms) for i in c.get_indices())


def read_log(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def velocity_to_ase(dataset):
    """The factor from the H5MD velocity dataset's unit to ASE's Å per ASE time unit."""
    unit = dataset.attrs.get("unit")
    unit = unit.decode() if isinstance(unit, bytes) else str(unit)
    return {"Angstrom fs-1": 1 / units.fs, "Angstrom ps-1": 1 / (1000 * units.fs)}[unit]


def frame_atoms(g, k, pbc, fixed, com=False):
    """Frame k of an H5MD particle group as ASE Atoms with its constraints."""
    a = Atoms(numbers=g["species"][()], positions=g["position/value"][k], masses=g["mass"][()],
              cell=g["box/edges/value"][k], pbc=pbc)
    a.set_velocities(g["velocity/value"][k] * velocity_to_ase(g["velocity/value"]))
    cons = ([FixAtoms(indices=fixed)] if fixed else []) + ([FixCom()] if com else [])
    a.set_constraint(cons)
    return a


def close(x, y, rel=1e-12):
    return abs(x - y) <= rel * abs(y)


# ---------------------------------------------------------------- 1. FIRE

def fire_structures():
    rng = np.random.default_rng(11)
    out = []
    for n, fix in ((13, [0, 4]), (20, [1, 2, 3]), (38, [])):
        pos = []
        while len(pos) < n:
            p = rng.uniform(-1, 1, 3) * 2.6 * n ** (1 / 3)
            if all(np.linalg.norm(p - q) > 3.4 for q in pos):
                pos.append(p)
        a = Atoms("Ar%d" % n, positions=pos)
        if fix:
            a.set_constraint(FixAtoms(indices=fix))
        out.append(a)
    for k, fix in enumerate(([0, 5, 9, 17], [2, 30])):
        a = bulk("Ar", "fcc", a=5.3 + 0.05 * k, cubic=True).repeat((2, 2, 2))
        del a[k * 5 + 3]
        a.positions += rng.normal(0, 0.08, a.positions.shape)
        a.set_constraint(FixAtoms(indices=fix))
        out.append(a)
    bad = bulk("Ar", "fcc", a=5.3, cubic=True)
    bad.positions[1] = bad.positions[0] + [0.3, 0, 0]
    bad.set_constraint(FixAtoms(indices=[2, 3]))
    out.append(bad)  # atoms_too_close: failed.extxyz
    return out


FIRE_CAMPAIGN = """input: in.extxyz
stages: {relax: {type: fire, fmax: 0.001, max_steps: 1000}}
batch: {max_atoms: %d, refill_every: %d}
quarantine: {min_distance: 1.0}
output: {final: %s/final.extxyz, failed: %s/failed.extxyz, log: {file: %s/log.csv, every: 1000}}
"""


def fire_against_ase(c):
    with tempfile.TemporaryDirectory() as d:
        frames = write_input(d, fire_structures())
        outs = {}
        for name, max_atoms, refill in (("roomy", 5000, 10), ("tight", 40, 1)):
            r = run("run", "--quiet", write_campaign(d, FIRE_CAMPAIGN % (max_atoms, refill, name, name, name)))
            c.check(r.returncode == 0, "fire %s run exit 0: %s" % (name, r.stderr))
            if r.returncode:
                return
            outs[name] = {a.info["system_id"]: a for a in ase.io.read(os.path.join(d, name, "final.extxyz"), ":")}
        got = outs["roomy"]
        bad = len(frames) - 1
        c.check(sorted(got) == list(range(bad)), "every relaxable system once in final: %s" % sorted(got))
        last = {}
        for row in read_log(os.path.join(d, "roomy", "log.csv")):
            last[int(row["system_id"])] = float(row["fmax_eV_per_A"])
        for i in range(bad):
            ref, out = frames[i].copy(), got.get(i)
            if out is None:
                continue
            fixed = fixed_indices(frames[i])
            ref.calc = LennardJones(epsilon=EPS, sigma=SIG, rc=RC)
            opt = FIRE(ref, logfile=None)
            conv = opt.run(fmax=0.001, steps=1000)
            c.check(out.info.get("steps_relax") == opt.nsteps and bool(out.info.get("converged_relax")) == bool(conv),
                    "system %d: %s steps (converged %s) vs ASE %d (%s)"
                    % (i, out.info.get("steps_relax"), out.info.get("converged_relax"), opt.nsteps, conv))
            e, e_out = ref.get_potential_energy(), out.get_potential_energy()
            c.check(abs(e - e_out) <= 1e-10, "system %d: energy %.15g vs ASE %.15g" % (i, e_out, e))
            c.check(np.abs(out.positions - ref.positions).max() < 1e-9, "system %d: positions vs ASE" % i)
            c.check(fixed_indices(out) == fixed, "system %d: FixAtoms %s back from move_mask (input %s)"
                    % (i, fixed_indices(out), fixed))
            c.check(np.array_equal(out.positions[fixed], frames[i].positions[fixed]),
                    "system %d: fixed atoms bitwise where they were read" % i)
            raw = ref.get_forces(apply_constraint=False)
            fout = out.calc.results["forces"]
            c.check(np.abs(fout - raw).max() < 1e-10,
                    "system %d: written forces are the model's on every atom (max diff %.3g)"
                    % (i, np.abs(fout - raw).max()))
            c.check(not fixed or np.abs(raw[fixed]).max() > 1e-4, "system %d: fixed atoms feel a force" % i)
            fm = np.sqrt((ref.get_forces() ** 2).sum(axis=1).max())
            c.check(i in last and close(last[i], fm, 1e-9),
                    "system %d: last log fmax %s, ASE's constrained max |F| %.15g" % (i, last.get(i), fm))
        failed = ase.io.read(os.path.join(d, "roomy", "failed.extxyz"), ":")
        c.check(len(failed) == 1 and failed[0].info.get("status") == "atoms_too_close"
                and fixed_indices(failed[0]) == fixed_indices(frames[bad]),
                "failed frame keeps FixAtoms %s: %s" % (fixed_indices(frames[bad]),
                                                        [(a.info.get("status"), fixed_indices(a)) for a in failed]))
        for i, a in got.items():
            b = outs["tight"].get(i)
            c.check(b is not None and np.array_equal(a.positions, b.positions) and
                    a.get_potential_energy() == b.get_potential_energy() and fixed_indices(a) == fixed_indices(b),
                    "system %d: bitwise identical under a tight budget refilled every step" % i)


# ----------------------------------------------------------------- 2. NVE

NVE_CAMPAIGN = """seed: 5
input: in.extxyz
stages: {md: {type: nve, dt: 2.0, steps: 2000, init_temperature: 40}}
output:
  final: out/final.extxyz
  trajectory: {file: out/traj.h5, every: 20}
  log: {file: out/log.csv, every: 20}
"""


def nve_fixed(c):
    rng = np.random.default_rng(4)
    frames = []
    for k in range(3):
        a = bulk("Ar", "fcc", a=5.26 + 0.02 * k, cubic=True).repeat((2, 2, 2))
        a.positions += rng.normal(0, 0.03, a.positions.shape)
        a.set_constraint(FixAtoms(indices=rng.choice(len(a), 4, replace=False)))
        frames.append(a)
    cl = Atoms("Ar13", positions=[[0, 0, 0]] + [list(3.7 * np.array(v) / np.linalg.norm(v)) for v in
                                                 ([1, 1, 0], [1, -1, 0], [-1, 1, 0], [-1, -1, 0], [1, 0, 1],
                                                  [1, 0, -1], [-1, 0, 1], [-1, 0, -1], [0, 1, 1], [0, 1, -1],
                                                  [0, -1, 1], [0, -1, -1])])
    cl.set_constraint(FixAtoms(indices=[0, 7]))
    frames.append(cl)
    with tempfile.TemporaryDirectory() as d:
        frames = write_input(d, frames)
        r = run("run", "--quiet", write_campaign(d, NVE_CAMPAIGN))
        c.check(r.returncode == 0, "nve run exit 0: %s" % r.stderr)
        if r.returncode:
            return
        log = {(int(row["system_id"]), int(row["step"])): float(row["temperature_K"])
               for row in read_log(os.path.join(d, "out/log.csv"))}
        final = {a.info["system_id"]: a for a in ase.io.read(os.path.join(d, "out/final.extxyz"), ":")}
        with h5py.File(os.path.join(d, "out/traj.h5"), "r") as h:
            for sid, inp in enumerate(frames):
                fixed = fixed_indices(inp)
                c.check(fixed_indices(final.get(sid, Atoms())) == fixed, "system %d: final keeps FixAtoms" % sid)
                g = h["particles/system_%d" % sid]
                obs = h["system_observables/system_%d" % sid]
                pos, vel = g["position/value"][()], g["velocity/value"][()]
                c.check(len(pos) == 101, "system %d: 101 frames (%d)" % (sid, len(pos)))
                c.check(all(np.array_equal(p[fixed], inp.positions[fixed]) for p in pos),
                        "system %d: fixed atoms never move (bitwise)" % sid)
                c.check(not np.any(vel[:, fixed]), "system %d: fixed atoms rest (bitwise)" % sid)
                free = [i for i in range(len(inp)) if i not in fixed]
                c.check(np.abs(pos[-1][free] - inp.positions[free]).max() > 0.05, "system %d: free atoms move" % sid)
                etot, kin = [], []
                for k, t in enumerate(g["position/step"][()]):
                    a = frame_atoms(g, k, inp.pbc, fixed)
                    kin.append(a.get_kinetic_energy())
                    etot.append(obs["potential_energy/value"][k] + kin[-1])
                    want, got = a.get_temperature(), log.get((sid, int(t)))
                    c.check(got is not None and close(got, want),
                            "system %d step %d: log %s K, ASE (FixAtoms) %.15g K" % (sid, t, got, want))
                c.check(close(log.get((sid, 0), 0), 40.0), "system %d step 0: %s K = init_temperature 40 K"
                        % (sid, log.get((sid, 0))))
                etot, kin = np.array(etot), np.array(kin)
                spread, drift = etot.std() / kin.std(), abs(etot[-20:].mean() - etot[:20].mean()) / kin.std()
                print("nve system %d: std(E)/std(K) = %.2e, drift/std(K) = %.2e" % (sid, spread, drift))
                c.check(spread < 0.002 and drift < 0.002,
                        "system %d: energy conserved (std(E)/std(K) %.3g, drift/std(K) %.3g)" % (sid, spread, drift))


# ------------------------------------------------------------ 3. Langevin

LGV_CAMPAIGN = """seed: 11
input: in.extxyz
stages:
  bath: {type: nvt_langevin, dt: 2.0, temperature: 50, friction: 0.05, steps: 4000, init_temperature: 50%s}
output:
  final: out/final.extxyz
  trajectory: {file: out/traj.h5, every: 200}
  log: {file: out/log.csv, every: 10}
"""


def langevin_run(c, tag, n_fixed, fix_com):
    T = 50.0
    rng = np.random.default_rng(9)
    systems = []
    for k in range(48):
        a = bulk("Ar", "fcc", a=5.26, cubic=True).repeat((2, 1, 1))
        a.positions += rng.normal(0, 0.05, a.positions.shape)
        if n_fixed:
            a.set_constraint(FixAtoms(indices=rng.choice(len(a), n_fixed, replace=False)))
        systems.append(a)
    n = len(systems[0])
    nf = 3 * (n - n_fixed) - (3 if fix_com else 0)
    with tempfile.TemporaryDirectory() as d:
        systems = write_input(d, systems)
        r = run("run", "--quiet", write_campaign(d, LGV_CAMPAIGN % (", fix_com: true" if fix_com else "")))
        c.check(r.returncode == 0, "%s: langevin run exit 0: %s" % (tag, r.stderr))
        if r.returncode:
            return
        per, log = {}, {}
        for row in read_log(os.path.join(d, "out/log.csv")):
            sid, step, t = int(row["system_id"]), int(row["step"]), float(row["temperature_K"])
            log[(sid, step)] = t
            if step > 500:
                per.setdefault(sid, []).append(t)
        final = {a.info["system_id"]: a for a in ase.io.read(os.path.join(d, "out/final.extxyz"), ":")}
        worst_p = 0.0
        with h5py.File(os.path.join(d, "out/traj.h5"), "r") as h:
            for sid, inp in enumerate(systems):
                fixed = fixed_indices(inp)
                g = h["particles/system_%d" % sid]
                pos = g["position/value"][()]
                c.check(all(np.array_equal(p[fixed], inp.positions[fixed]) for p in pos),
                        "%s system %d: fixed atoms never move (bitwise)" % (tag, sid))
                for k, t in enumerate(g["position/step"][()]):
                    a = frame_atoms(g, k, inp.pbc, fixed, com=fix_com)
                    want, got = a.get_temperature(), log.get((sid, int(t)))
                    c.check(got is not None and close(got, want), "%s system %d step %d: log %s K, ASE %.15g K"
                            % (tag, sid, t, got, want))
                    if fix_com:
                        p = (g["mass"][()][:, None] * g["velocity/value"][k]).sum(axis=0) / 1000.0  # amu Å/fs
                        worst_p = max(worst_p, np.abs(p).max())
                fin = final.get(sid)
                c.check(fin is not None and fixed_indices(fin) == fixed, "%s system %d: final keeps FixAtoms" % (tag, sid))
                if fix_com and fin is not None:
                    worst_p = max(worst_p, np.abs(fin.get_momenta().sum(axis=0) * units.fs).max())
    if fix_com:
        c.check(worst_p < 1e-12, "%s: centre-of-mass momentum %.3g amu Å/fs, 0 to 1e-12" % (tag, worst_p))
    means = np.array([np.mean(v) for v in per.values()])
    c.check(len(means) == 48 and all(len(v) == 350 for v in per.values()), "%s: 350 rows per system" % tag)
    mean, se = means.mean(), means.std(ddof=1) / np.sqrt(len(means))
    z = (mean - T) / se
    print("langevin %s: N_f %d, mean logged T %.4f K over %d systems, SE %.4f K, z = %+.2f "
          "(a count off by 3 would read %.2f or %.2f K)" % (tag, nf, mean, len(means), se, z, T * nf / (nf - 3),
                                                            T * nf / (nf + 3)))
    c.check(abs(z) < 3, "%s: mean logged temperature %.4f K = %g K within 3 SE (SE %.4f K)" % (tag, mean, T, se))
    c.check(se < 0.005 * T, "%s: the test has power: SE %.4f K < 0.5%% of T" % (tag, se))


# ------------------------------------------------------------ 4. refusals

def refusals(c):
    """fix_com where it cannot be honoured: on an optimizer (unknown key),
    not a boolean, or as a structure's info key (a key of the whole stage):
    exit 2 naming it, for validate and run."""
    with tempfile.TemporaryDirectory() as d:
        a = bulk("Ar", "fcc", a=5.3, cubic=True)
        a.info["fix_com"] = True
        ase.io.write(os.path.join(d, "in.extxyz"), [bulk("Ar", "fcc", a=5.3, cubic=True), a])
        for tag, stage, words in (
                ("optimizer", "{type: fire, fix_com: true}", ("unknown key 'fix_com'",)),
                ("not a bool", "{type: nve, dt: 1.0, steps: 2, fix_com: 1}", ("fix_com", "true or false")),
                ("per structure", "{type: nve, dt: 1.0, steps: 2, fix_com: true}",
                 ("in.extxyz:", "structure 1", "fix_com", "not per structure"))):
            path = write_campaign(d, "input: in.extxyz\nstages: {s: %s}\noutput: {final: out/final.extxyz}\n" % stage)
            for cmd in ("validate", "run"):
                r = run(cmd, path)
                c.check(r.returncode == 2 and all(w in r.stderr for w in words),
                        "%s %s: exit 2 naming %s (exit %d: %s)" % (tag, cmd, words, r.returncode, r.stderr[-300:]))
            c.check(not os.path.exists(os.path.join(d, "out")), "%s: nothing written" % tag)


c = Checks()
refusals(c)
fire_against_ase(c)
nve_fixed(c)
langevin_run(c, "fixed", 2, False)
langevin_run(c, "fix_com+fixed", 2, True)
langevin_run(c, "fix_com", 0, True)
c.finish()
