"""A Python pipeline (`relax | md` under `mpirun -np 2 python3 script.py`)
leaves its outputs as run() does: the last rank's final and failed given as
ExtXYZ objects (the user's, still open) hold every system when run()
returns (read there by ASE before any close: 8 relaxed, 1 with
overlapping atoms, none twice); and a hook of a stage used as a context
manager is opened once by the `with` block around two pipeline runs, not
once more per run (the rank that runs it counts open/close)."""
import json
import os
import sys
import tempfile

import numpy as np
from ase import Atoms
from ase.cluster import Icosahedron
from ase.io import write

from pylib import BUILD, SOURCE, Checks

sys.path.insert(0, os.path.join(SOURCE, "tests", "mpi"))
import mpilib  # noqa: E402  (mpirun under a hang guard, its environment)

SCRIPT = r'''
import json, os, sys
from ase.io import read
import batchmd as bmd

d = sys.argv[1]
structures = read(os.path.join(d, "in.extxyz"), index=":")


class Counted(bmd.Hook):
    stage = bmd.HookStageEnum.AFTER_STEP

    def __init__(self):
        self.log = []

    def __call__(self, batch):
        pass

    def open(self):
        self.log.append("open")

    def close(self):
        self.log.append("close")


model = bmd.models.LennardJones(epsilon=0.0104, sigma=3.40, cutoff=8.5, shift=True)
h = Counted()
relax = bmd.FIRE(model, name="relax", fmax=0.02, max_steps=500)
md = bmd.NVE(model, name="md", dt=2.0, steps=10, hooks=[h])
final, failed = bmd.ExtXYZ(os.path.join(d, "final.extxyz")), bmd.ExtXYZ(os.path.join(d, "failed.extxyz"))
pipe = relax | md
with pipe:
    r = pipe.run(structures, final=final, failed=failed, max_atoms=200)
    seen = None
    if r.is_last:  # read while the sinks are still open
        seen = {k: [int(a.info["system_id"]) for a in read(os.path.join(d, k + ".extxyz"), index=":")]
                if os.path.getsize(os.path.join(d, k + ".extxyz")) else [] for k in ("final", "failed")}
    pipe.run(structures[:2], max_atoms=200)
with open(os.path.join(d, "rank%d.json" % r.rank), "w") as f:
    json.dump(dict(last=r.is_last, seen=seen, hook=h.log), f)
'''

c = Checks()
if not mpilib.MPIRUN:
    c.check(False, "mpirun is not on PATH (install openmpi-bin)")
    c.finish()
with tempfile.TemporaryDirectory() as d:
    rng = np.random.default_rng(6)
    frames = []
    for i in range(8):
        a = Icosahedron("Ar", 2, latticeconstant=5.3)
        a.positions += rng.normal(0, 0.05, a.positions.shape)
        frames.append(a)
    frames.insert(3, Atoms("Ar2", positions=[[0, 0, 0], [0.2, 0, 0]]))
    write(os.path.join(d, "in.extxyz"), frames)
    script = os.path.join(d, "script.py")
    with open(script, "w") as f:
        f.write(SCRIPT)
    env = dict(mpilib.ENV, PYTHONPATH=os.path.join(BUILD, "python"))
    rc, out, err = mpilib.run([mpilib.MPIRUN, "--allow-run-as-root", "--oversubscribe", "-np", "2", "-x",
                               "PYTHONPATH", "-x", "OMP_NUM_THREADS", "/usr/bin/python3", script, d], env=env)
    c.check(rc == 0, f"mpirun: exit {rc}: {err[-2000:]}")
    ranks = {}
    for r in (0, 1):
        path = os.path.join(d, "rank%d.json" % r)
        if os.path.exists(path):
            with open(path) as f:
                ranks[r] = json.load(f)
    c.check(sorted(ranks) == [0, 1], f"ranks that reported: {sorted(ranks)}")
    last = ranks.get(1, {})
    c.check(last.get("last") is True, "rank 1 is the last")
    seen = last.get("seen") or {}
    c.check(sorted(seen.get("final", [])) == [0, 1, 2, 4, 5, 6, 7, 8],
            f"final (read before closing it): {seen.get('final')}")
    c.check(seen.get("failed") == [3], f"failed (read before closing it): {seen.get('failed')}")
    c.check(last.get("hook") == ["open", "close"], f"md's hook on rank 1, two runs in a with block: {last.get('hook')}")
c.finish()
