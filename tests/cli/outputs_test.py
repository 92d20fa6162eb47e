#!/usr/bin/python3
"""`batchmd run` outputs end to end: a structure whose forces blow up (two
atoms 0.5 Å apart in the middle of a good file) leaves to `failed` with
status=force_blowup while the others go on; `ordered: true` writes `final`
in input order; every system_id appears exactly once across final+failed;
the H5MD trajectory reads back with h5py, one group per system, frames at
every 5th of the system's own steps and at the step count it leaves with,
first frame = the input positions, last frame = its final positions."""
import os
import tempfile

import numpy as np
import h5py
import ase.io
from ase import Atoms

from testlib import Checks, run

rng = np.random.default_rng(5)
frames = []
for i in range(7):
    n = 5 + 3 * i
    pos = []
    while len(pos) < n:
        p = rng.uniform(-1, 1, 3) * 2.8 * n ** (1 / 3)
        if all(np.linalg.norm(p - q) > 3.5 for q in pos):
            pos.append(p)
    if i == 3:
        pos[1] = pos[0] + np.array([0.5, 0, 0])  # overlapping atoms: LJ force ~1e10 eV/Å
    frames.append(Atoms("Ar%d" % n, positions=pos))

CAMPAIGN = """seed: 3
model: {type: lj, epsilon: 0.0104, sigma: 3.4, cutoff: 8.5, shift: true}
input: in.extxyz
stages:
  relax: {type: fire, fmax: 0.01, max_steps: 300}
  md: {type: nve, dt: 2.0, steps: 40, init_temperature: 20}
batch: {max_atoms: 60, refill_every: 3}
output:
  final: out/final.extxyz
  failed: out/failed.extxyz
  trajectory: {file: out/traj.h5, every: 5}
  ordered: true
"""

c = Checks()
with tempfile.TemporaryDirectory() as d:
    ase.io.write(os.path.join(d, "in.extxyz"), frames)
    frames = ase.io.read(os.path.join(d, "in.extxyz"), ":")  # the numbers batchmd reads
    with open(os.path.join(d, "c.yaml"), "w") as f:
        f.write(CAMPAIGN)
    r = run("run", "--quiet", os.path.join(d, "c.yaml"))
    c.check(r.returncode == 0, "run exit 0: %s" % r.stderr)
    final = ase.io.read(os.path.join(d, "out/final.extxyz"), ":")
    failed = ase.io.read(os.path.join(d, "out/failed.extxyz"), ":")
    ids = [a.info["system_id"] for a in final]
    c.check(ids == [0, 1, 2, 4, 5, 6], "final in input order without the bad one: %s" % ids)
    c.check([a.info["system_id"] for a in failed] == [3], "the bad structure is in failed")
    c.check(failed and failed[0].info.get("status") == "force_blowup", "failed status says why: %s" %
            (failed[0].info if failed else None))
    c.check(all(a.info.get("status") == "done" for a in final), "final systems are done")
    with h5py.File(os.path.join(d, "out/traj.h5"), "r") as h:
        c.check(list(h["h5md"].attrs["version"]) == [1, 1], "H5MD version 1.1")
        for a in final:
            sid = a.info["system_id"]
            g = h.get("particles/system_%d" % sid)
            c.check(g is not None, "system %d has a particle group" % sid)
            if g is None:
                continue
            steps = g["position/step"][()]
            total = a.info["steps_relax"] + a.info["steps_md"]
            want = [0] + [s for s in range(5, total + 1, 5)] + ([total] if total % 5 else [])
            c.check(list(steps) == want, "system %d: frames at own steps %s, want %s" % (sid, list(steps), want))
            pos = g["position/value"]
            c.check(pos.shape == (len(want), len(a), 3), "system %d: position shape %s" % (sid, pos.shape))
            c.check(np.array_equal(pos[0], frames[sid].positions), "system %d: first frame = input" % sid)
            c.check(np.array_equal(pos[-1], a.positions), "system %d: last frame = final" % sid)
            c.check(list(g["species"][()]) == list(frames[sid].numbers), "system %d: species" % sid)
            c.check(g["position/value"].attrs.get("unit") == "Angstrom", "system %d: unit" % sid)
c.finish()
