#!/usr/bin/python3
"""Relax, then run Langevin MD on, a list of ase.Atoms with batchmd from
Python, and print one row per structure.

The structures: 30 argon clusters (icosahedra of 13, 55 and 147 atoms,
perturbed) and 10 periodic fcc argon crystals with a vacancy, built with
ASE. All 40 go through `FIRE (fmax 0.01 eV/Å) + Langevin (2 fs, 40 K,
1000 steps)` in one live batch; every fourth crystal asks for 60 K through
its atoms.info (a per-structure parameter, as a campaign's info line).

Two Python hooks watch the run through the batch's numpy arrays (no copies;
valid only during the call, so they keep numbers, not arrays):
  - at ON_CONVERGE of the relaxation (sub-stage 0) the relaxed energy of
    each system leaving it;
  - every 10 steps after step, during the MD (sub-stage 1), each system's
    kinetic temperature from the batch's velocities (Å/fs) and masses
    (amu), T = Σ m v² / (3N k_B) as the Langevin stage counts it.

Run: PYTHONPATH=build/python /usr/bin/python3 examples/python/relax_md.py
(after `make`), or with the package installed (`make install`)."""
import numpy as np
from ase import units
from ase.build import bulk
from ase.cluster import Icosahedron

import batchmd as bmd

rng = np.random.default_rng(7)
A0 = 5.26  # Å, argon's fcc lattice constant

structures = []
for k in range(30):
    a = Icosahedron("Ar", noshells=2 + k % 3, latticeconstant=A0)
    a.positions += rng.normal(0.0, 0.05, a.positions.shape)
    a.info["name"] = "ico-%d" % len(a)
    structures.append(a)
for k in range(10):
    a = bulk("Ar", "fcc", a=A0, cubic=True).repeat((3, 3, 3))
    del a[int(rng.integers(len(a)))]
    a.positions += rng.normal(0.0, 0.05, a.positions.shape)
    a.info["name"] = "fcc-vac"
    if k % 4 == 0:
        a.info["temperature"] = 60.0  # K: this one's Langevin bath (a per-structure parameter)
    structures.append(a)

model = bmd.models.LennardJones(epsilon=0.0104, sigma=3.40, cutoff=8.5, shift=True)  # eV, Å, Å
relax = bmd.FIRE(model, name="relax", fmax=0.01, max_steps=2000)
md = bmd.NVTLangevin(model, name="md", dt=2.0, temperature=40, friction=0.01, steps=1000)

relaxed = {}  # system_id -> energy (eV) when it left the relaxation
temps = {}    # system_id -> kinetic temperatures (K) sampled during the MD


def on_relaxed(batch):
    """ON_CONVERGE: batch.mask marks the systems leaving sub-stage batch.substage."""
    if batch.substage != 0:
        return
    ids, energies = batch.system_id, batch.energies
    for slot in np.flatnonzero(batch.mask):
        relaxed[int(ids[slot])] = float(energies[slot])


on_relaxed.stage = bmd.HookStageEnum.ON_CONVERGE


def sample_temperature(batch):
    v = batch.velocities / units.fs  # Å/fs -> ASE's velocity unit, so ½ m v² is in eV
    ke = 0.5 * batch.masses * np.einsum("ij,ij->i", v, v)
    ke_sys = np.bincount(batch.system_index, weights=ke, minlength=batch.n_systems)
    status, counts, ids = batch.status, batch.atom_count, batch.system_id
    for slot in range(batch.n_systems):
        if status[slot] == 1:  # in the MD sub-stage
            temps.setdefault(int(ids[slot]), []).append(2 * ke_sys[slot] / (3 * counts[slot] * units.kB))


sample_temperature.stage = bmd.HookStageEnum.AFTER_STEP
sample_temperature.frequency = 10

result = (relax + md).run(structures, seed=7, max_atoms=3000, hooks=[on_relaxed, sample_temperature],
                          ordered=True)
assert not result.failed and len(result.final) == len(structures)

print("%3s  %-8s %5s  %11s  %15s  %9s  %10s  %15s" % ("id", "name", "atoms", "relax steps", "E relaxed eV/at",
                                                      "T bath K", "<T> MD K", "E final eV/atom"))
for a in result.final:
    sid = a.info["system_id"]
    t = temps[sid][len(temps[sid]) // 2:]  # the second half of the MD
    print("%3d  %-8s %5d  %11d  %15.5f  %9.0f  %10.1f  %15.5f" % (
        sid, a.info["name"], len(a), a.info["steps_relax"], relaxed[sid] / len(a),
        a.info.get("temperature", 40.0), np.mean(t), a.get_potential_energy() / len(a)))
s = result.stats
print("%d structures, %d atom-steps in %.2f s (%.3g atom-steps/s)" % (s["done"], s["atom_steps"], s["seconds"],
                                                                      s["atom_steps"] / s["seconds"]))
