"""Every kind of dataset gives the same run, and the size-aware sampler's
budgets change nothing but the order systems finish in.

A relax + Langevin stage (seeded: each system's noise is keyed by its
system_id) over 9 structures of 4 to 55 atoms is run from a list of Atoms
(the reference), from a Python object with the seeds' three methods
(__len__, __getitem__, get_metadata), from one extxyz path, from a
directory of three extxyz files, from a glob over them, and through
SizeAwareSampler(max_atoms=60, max_systems=2): per system_id the same
positions, momenta, forces, energy and info, bit for bit. Under the budget
the live batch never holds more than 60 atoms or 2 systems (the run's
peak_atoms, peak_systems) and systems finish in another order. A Python
dataset whose metadata lies about a size, or whose __getitem__ raises,
stops the run with that error."""
import glob
import os
import tempfile

import ase.io
import numpy as np
from ase.build import bulk
from ase.cluster import Icosahedron

from pylib import Checks
import batchmd as bmd


class Seeds:
    """A dataset with the seeds' three methods, counting its calls."""

    def __init__(self, frames, lie=None):
        self.frames, self.lie, self.got = frames, lie, []

    def __len__(self):
        return len(self.frames)

    def __getitem__(self, i):
        self.got.append(i)
        return self.frames[i]

    def get_metadata(self, i):
        n = len(self.frames[i]) + (1 if i == self.lie else 0)
        return n, None  # (atoms, edges): edges unknown


c = Checks()
rng = np.random.default_rng(21)
frames = []
for k in range(9):
    if k % 3 == 0:
        a = Icosahedron("Ar", 2 + (k // 3) % 2, latticeconstant=5.3)
    elif k % 3 == 1:
        a = bulk("Ar", "fcc", a=5.3, cubic=True)
    else:
        a = bulk("Ar", "fcc", a=5.3, cubic=True).repeat((2, 1, 1))
    a.positions += rng.normal(0, 0.05, a.positions.shape)
    frames.append(a)

model = bmd.models.LennardJones(epsilon=0.0104, sigma=3.40, cutoff=8.5, shift=True)
stage = bmd.FIRE(model, name="relax", fmax=0.02, max_steps=200) + \
    bmd.NVTLangevin(model, name="md", dt=4.0, temperature=30, friction=0.02, steps=15, init_temperature=30)


def by_id(res):
    return {a.info["system_id"]: a for a in res.final}


def same(ref, res, what):
    got = by_id(res)
    c.check(sorted(got) == sorted(ref) and not res.failed, f"{what}: systems {sorted(got)}, {len(res.failed)} failed")
    for i, b in ref.items():
        a = got.get(i)
        if a is None:
            continue
        ok = (np.array_equal(a.positions, b.positions) and np.array_equal(a.get_momenta(), b.get_momenta())
              and np.array_equal(a.get_forces(), b.get_forces())
              and a.get_potential_energy() == b.get_potential_energy() and a.info == b.info)
        c.check(ok, f"{what}: system {i} differs from the list's run")


with tempfile.TemporaryDirectory() as d:
    # the files hold what ASE writes; the reference runs on what ASE reads back
    for j in range(3):
        ase.io.write(os.path.join(d, f"part{j}.extxyz"), frames[3 * j:3 * j + 3])
    ase.io.write(os.path.join(d, "all.extxyz"), frames)
    structures = ase.io.read(os.path.join(d, "all.extxyz"), ":")
    base = stage.run(structures, seed=5)
    ref = by_id(base)
    c.check(sorted(ref) == list(range(9)) and not base.failed, f"list run: {base}")

    seeds = Seeds(structures)
    same(ref, stage.run(seeds, seed=5), "three-method dataset")
    c.check(sorted(seeds.got) == list(range(9)), f"__getitem__ called for {seeds.got}")
    same(ref, stage.run(os.path.join(d, "all.extxyz"), seed=5), "extxyz path")
    parts = os.path.join(d, "parts")
    os.mkdir(parts)
    for f in glob.glob(os.path.join(d, "part*.extxyz")):
        os.rename(f, os.path.join(parts, os.path.basename(f)))
    with open(os.path.join(parts, "notes.txt"), "w") as f:
        f.write("not a structure file\n")
    same(ref, stage.run(parts, seed=5), "directory")
    same(ref, stage.run(os.path.join(parts, "part?.extxyz"), seed=5), "glob")

    # budgets: at most 60 atoms and 2 systems live; the same systems, another order
    for what, ds in (("list", structures), ("three-method dataset", Seeds(structures))):
        res = stage.run(sampler=bmd.SizeAwareSampler(ds, max_atoms=60, max_systems=2, refill_every=1), seed=5)
        same(ref, res, f"SizeAwareSampler(60 atoms, 2 systems) over a {what}")
        c.check(0 < res.stats["peak_atoms"] <= 60 and res.stats["peak_systems"] == 2,
                f"{what}: peak {res.stats['peak_atoms']} atoms, {res.stats['peak_systems']} systems")
        order = [a.info["system_id"] for a in res.final]
        c.check(order != [a.info["system_id"] for a in base.final], f"{what}: the budget changed no order")
    res = stage.run(bmd.SizeAwareSampler(structures, max_atoms=60, max_systems=2), seed=5)  # given as the dataset
    same(ref, res, "SizeAwareSampler passed as the structures")
    c.check(res.stats["peak_atoms"] <= 60 and res.stats["peak_systems"] <= 2, "sampler as structures: budget ignored")
    res = stage.run(structures, seed=5, max_systems=1)
    same(ref, res, "max_systems=1")
    c.check(res.stats["peak_systems"] == 1, f"max_systems=1: peak {res.stats['peak_systems']} systems")

    try:
        stage.run(Seeds(structures, lie=4), seed=5)
        c.check(False, "metadata one atom off: no error")
    except bmd.BatchmdError as e:
        c.check("structure 4" in str(e) and "metadata" in str(e), f"metadata one atom off: {e}")

    class Broken(Seeds):
        def __getitem__(self, i):
            if i == 6:
                raise KeyError("structure six is missing")
            return super().__getitem__(i)

    try:
        stage.run(Broken(structures), seed=5)
        c.check(False, "a raising __getitem__: no error")
    except KeyError as e:
        c.check("structure six is missing" in str(e), f"a raising __getitem__: {e!r}")
c.finish()
