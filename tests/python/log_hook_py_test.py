"""The built-in log and snapshot hooks from Python write what `batchmd run`
writes for the same run: a campaign (FIRE + Langevin, seed 3) with
output.log every 3 steps and an H5MD trajectory every 4 steps, run by the
command; the same stages from Python over the same extxyz (read by ASE),
with LoggingHook(path, frequency=3) and SnapshotHook(H5MD(path), 4) as
hooks, and once more with run(log=..., log_every=3): the logs are the same
bytes, and every dataset of the H5MD files is equal (read by h5py) once
the run has returned (the sinks still open: a run flushes its outputs)."""
import filecmp
import os
import tempfile

import ase.io
import h5py
import numpy as np
from ase.build import bulk
from ase.cluster import Icosahedron

from pylib import Checks, run
import batchmd as bmd

CAMPAIGN = """model: {type: lj, epsilon: 0.0104, sigma: 3.4, cutoff: 8.5, shift: true}
input: in.extxyz
seed: 3
stages:
  relax: {type: fire, fmax: 0.01, max_steps: 100}
  md: {type: nvt_langevin, dt: 2.0, temperature: 40, friction: 0.01, steps: 20}
pipeline: relax + md
output: {final: final.extxyz, failed: failed.extxyz, log: {file: cmd.log, every: 3},
         trajectory: {file: cmd.h5, every: 4}}
"""


def h5_items(path):
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out


c = Checks()
with tempfile.TemporaryDirectory() as d:
    rng = np.random.default_rng(8)
    frames = [Icosahedron("Ar", 2, latticeconstant=5.3), bulk("Ar", "fcc", a=5.3, cubic=True)]
    for a in frames:
        a.positions += rng.normal(0, 0.05, a.positions.shape)
    ase.io.write(os.path.join(d, "in.extxyz"), frames)
    with open(os.path.join(d, "c.yaml"), "w") as f:
        f.write(CAMPAIGN)
    r = run("run", "--quiet", os.path.join(d, "c.yaml"))
    c.check(r.returncode == 0, f"batchmd run: {r.stderr}")

    structures = ase.io.read(os.path.join(d, "in.extxyz"), ":")
    model = bmd.models.LennardJones(epsilon=0.0104, sigma=3.40, cutoff=8.5, shift=True)
    relax = bmd.FIRE(model, name="relax", fmax=0.01, max_steps=100)
    md = bmd.NVTLangevin(model, name="md", dt=2.0, temperature=40, friction=0.01, steps=20)
    traj = bmd.H5MD(os.path.join(d, "py.h5"))
    res = (relax + md).run(structures, seed=3,
                           hooks=[bmd.LoggingHook(os.path.join(d, "py.log"), frequency=3), bmd.SnapshotHook(traj, 4)])
    c.check(len(res.final) == 2 and not res.failed, f"Python run: {res}")
    (relax + md).run(structures, seed=3, log=os.path.join(d, "py2.log"), log_every=3)
    for name in ("py.log", "py2.log"):
        c.check(filecmp.cmp(os.path.join(d, "cmd.log"), os.path.join(d, name), shallow=False),
                f"{name} differs from the command's output.log")
    with open(os.path.join(d, "cmd.log")) as f:
        rows = f.read().splitlines()
    c.check(len(rows) > 10 and rows[0].startswith("system_id,"), f"the command's log has {len(rows)} lines")

    ref, mine = h5_items(os.path.join(d, "cmd.h5")), h5_items(os.path.join(d, "py.h5"))
    c.check(any(k.endswith("position/value") for k in ref), f"the command's trajectory: {sorted(ref)[:5]}")
    c.check(sorted(ref) == sorted(mine), f"H5MD datasets {sorted(set(ref) ^ set(mine))} in one file only")
    for k in ref:
        if k in mine:
            a, b = np.asarray(ref[k]), np.asarray(mine[k])
            same = a.shape == b.shape and (np.array_equal(a, b) if a.dtype.kind != "f" else
                                           np.array_equal(a, b, equal_nan=True))
            c.check(same, f"H5MD dataset {k} differs")
    traj.close()
c.finish()
