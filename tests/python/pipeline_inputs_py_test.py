"""A Python pipeline refuses the inputs `batchmd run` refuses under mpirun
(python/src/pipeline.c: rank 0 checks the structures before the run, as
the command's rank 0 does; python/src/inputs.c).

The command's messages are the reference: `mpirun -np 2 batchmd run` of a
`relax | md` campaign (FIRE, then Langevin; an LJ model with Ar-Ar
parameters only) on an extxyz file with one bad structure exits 2, its rank
0 printing the message and rank 1 "rank 0 failed". The same stages from
Python (`(relax | md).run(path)` under `mpirun -np 2 python3 script.py`,
every case in one MPI world) raise on rank 0 a BatchmdError with the
command's message (after the file's name: its line, the structure's index
and the reason), and on rank 1 a BatchmdError saying rank 0 failed, before
any step (hooks on relax and md never called):

  - temperature=-5 in structure 2's info: out of md's range, md being rank
    1's stage (rank 0 checks the overrides of every stage of the chain);
  - a Kr atom in structure 1: no Ar-Kr parameters;
  - a NaN position in structure 3 of the file: the reader's message;
  - a NaN position in structure 3 of a list of Atoms: the fused run's
    message (`(relax + md).run(list)` in this process);
  - each group its own model (relax: LJ for every species, md: Ar-Ar only),
    Kr in structure 1: rank 0's own model takes it, md's does not: the
    command's message for that model, the structure and md named;
  - a three-method Python dataset whose structure 2 carries temperature=-5
    (checked as rank 0 loads it, as in a fused run): rank 0 raises the
    message, rank 1 an error, neither hangs;

and after them a pipeline run of good structures in the same world ends
with every system in the last rank's final."""
import json
import os
import sys
import tempfile

import numpy as np
from ase.cluster import Icosahedron
from ase.io import read, write

from pylib import BATCHMD, BUILD, SOURCE, Checks
import batchmd as bmd

sys.path.insert(0, os.path.join(SOURCE, "tests", "mpi"))
import mpilib  # noqa: E402  (mpirun under a hang guard, its environment)

PAIRS = [{"species": ["Ar", "Ar"], "epsilon": 0.0104, "sigma": 3.40, "cutoff": 8.5}]

CAMPAIGN = """units: metal
seed: 7
model: {type: lj, pairs: [{species: [Ar, Ar], epsilon: 0.0104, sigma: 3.40, cutoff: 8.5}]}
input: %s.extxyz
stages:
  relax: {type: fire, fmax: 0.02, max_steps: 300}
  md: {type: nvt_langevin, dt: 2.0, temperature: 30, friction: 0.01, steps: 20}
pipeline: relax | md
batch: {max_atoms: 200}
output: {final: %s.final.extxyz, failed: %s.failed.extxyz}
"""

SCRIPT = r'''
import json, os, sys
import numpy as np
from ase.io import read
import batchmd as bmd

d = sys.argv[1]
PAIRS = %r
calls = {"relax": 0, "md": 0}


def counter(name):
    def hook(batch):
        calls[name] += 1
    return hook


def stages(relax_model=None):
    model = bmd.models.LennardJones(pairs=PAIRS)
    relax = bmd.FIRE(relax_model or model, name="relax", fmax=0.02, max_steps=300, hooks=[counter("relax")])
    md = bmd.NVTLangevin(model, name="md", dt=2.0, temperature=30, friction=0.01, steps=20, hooks=[counter("md")])
    return relax, md


class Seeds:
    def __init__(self, frames):
        self.frames = frames

    def __len__(self):
        return len(self.frames)

    def __getitem__(self, i):
        return self.frames[i]

    def get_metadata(self, i):
        return len(self.frames[i]), None


nan_list = read(os.path.join(d, "good.extxyz"), index=":")
nan_list[3].positions[5, 1] = np.nan
cases = {
    "override": lambda: (relax | md).run(os.path.join(d, "override.extxyz"), seed=7, max_atoms=200),
    "species": lambda: (relax | md).run(os.path.join(d, "species.extxyz"), seed=7, max_atoms=200),
    "nan_file": lambda: (relax | md).run(os.path.join(d, "nan.extxyz"), seed=7, max_atoms=200),
    "nan_list": lambda: (relax | md).run(nan_list, seed=7, max_atoms=200),
}
out = {}
for name, run in cases.items():
    relax, md = stages()
    try:
        run()
        out[name] = None
    except Exception as e:
        out[name] = [type(e).__name__, str(e)]
relax, md = stages(relax_model=bmd.models.LennardJones(epsilon=0.0104, sigma=3.40, cutoff=8.5))
try:
    (relax | md).run(os.path.join(d, "species.extxyz"), seed=7, max_atoms=200)
    out["group_model"] = None
except Exception as e:
    out["group_model"] = [type(e).__name__, str(e)]
before = dict(calls)
relax, md = stages()
try:
    (relax | md).run(Seeds(read(os.path.join(d, "override.extxyz"), index=":")), seed=7, max_atoms=200)
    out["dataset"] = None
except Exception as e:
    out["dataset"] = [type(e).__name__, str(e)]
relax, md = stages()
r = (relax | md).run(os.path.join(d, "good.extxyz"), seed=7, max_atoms=200)
out.update(calls_before=before, last=r.is_last, final=len(r.final), failed=len(r.failed))
with open(os.path.join(d, "rank%%d.json" %% r.rank), "w") as f:
    json.dump(out, f)
''' % (PAIRS,)


def cluster(rng):
    a = Icosahedron("Ar", 2, latticeconstant=5.3)
    a.positions += rng.normal(0, 0.05, a.positions.shape)
    return a


c = Checks()
if not mpilib.MPIRUN:
    c.check(False, "mpirun is not on PATH (install openmpi-bin)")
    c.finish()
with tempfile.TemporaryDirectory() as d:
    rng = np.random.default_rng(1)
    good = [cluster(rng) for _ in range(4)]
    write(os.path.join(d, "good.extxyz"), good)
    bad = {}
    for name in ("override", "species", "nan"):
        frames = [a.copy() for a in good]
        if name == "override":
            frames[2].info["temperature"] = -5
        elif name == "species":
            frames[1][3].symbol = "Kr"
        else:
            frames[3].positions[5, 1] = np.nan
        write(os.path.join(d, name + ".extxyz"), frames)
        with open(os.path.join(d, name + ".yaml"), "w") as f:
            f.write(CAMPAIGN % (name, name, name))
    env = dict(mpilib.ENV, PYTHONPATH=os.path.join(BUILD, "python"))
    mpi = [mpilib.MPIRUN, "--allow-run-as-root", "--oversubscribe", "-np", "2", "-x", "PYTHONPATH", "-x",
           "OMP_NUM_THREADS"]

    # the command's messages: its rank 0's line after "batchmd: <file>"
    expected = {}
    for name in ("override", "species", "nan"):
        rc, out, err = mpilib.run(mpi + [BATCHMD, "run", "-q", os.path.join(d, name + ".yaml")], env=env)
        line = next((ln for ln in err.splitlines() if ln.startswith("batchmd: ") and name + ".extxyz:" in ln), "")
        c.check(rc == 2 and line and "batchmd: rank 1: rank 0 failed" in err,
                f"batchmd run {name}.yaml under mpirun: exit {rc}: {err[-1500:]}")
        expected[name] = line.split(name + ".extxyz", 1)[-1]  # ":LINE: structure I: ..."
    c.check(expected["override"].startswith(":32: structure 2: temperature=-5 overrides stages.md.temperature"),
            f"the command's override message: {expected['override']}")
    c.check(expected["species"] == ":16: structure 1: no lj parameters for species pairs Ar-Kr, Kr-Kr",
            f"the command's species message: {expected['species']}")

    # the fused run's message for a NaN position in a list
    relax = bmd.FIRE(bmd.models.LennardJones(pairs=PAIRS), name="relax", fmax=0.02, max_steps=300)
    md = bmd.NVTLangevin(relax.model, name="md", dt=2.0, temperature=30, friction=0.01, steps=20)
    nan_list = read(os.path.join(d, "good.extxyz"), index=":")
    nan_list[3].positions[5, 1] = np.nan
    try:
        (relax + md).run(nan_list, seed=7, max_atoms=200)
        fused_nan = None
    except bmd.BatchmdError as e:
        fused_nan = str(e)
    c.check(fused_nan is not None and "structure 3" in fused_nan and "non-finite" in fused_nan,
            f"the fused run of a NaN position: {fused_nan}")

    script = os.path.join(d, "script.py")
    with open(script, "w") as f:
        f.write(SCRIPT)
    rc, out, err = mpilib.run(mpi + ["/usr/bin/python3", script, d], env=env)
    c.check(rc == 0, f"mpirun python3 script.py: exit {rc}: {err[-2500:]}")
    ranks = {}
    for r in (0, 1):
        p = os.path.join(d, "rank%d.json" % r)
        if os.path.exists(p):
            with open(p) as f:
                ranks[r] = json.load(f)
    c.check(sorted(ranks) == [0, 1], f"ranks that reported: {sorted(ranks)}")
    if sorted(ranks) == [0, 1]:
        r0, r1 = ranks[0], ranks[1]
        for name, file in (("override", "override"), ("species", "species"), ("nan_file", "nan")):
            got = r0[name]
            c.check(got is not None and got[0] == "BatchmdError" and got[1].endswith(file + ".extxyz" + expected[file]),
                    f"{name}, rank 0: {got}; the command: ...{file}.extxyz{expected[file]}")
        c.check(r0["nan_list"] == ["BatchmdError", fused_nan],
                f"nan_list, rank 0: {r0['nan_list']}; fused: {fused_nan}")
        want = "species.extxyz:16: structure 1 (the model of md): no lj parameters for species pairs Ar-Kr, Kr-Kr"
        c.check(r0["group_model"] is not None and r0["group_model"][1].endswith(want),
                f"group_model, rank 0: {r0['group_model']}")
        for name in ("override", "species", "nan_file", "nan_list", "group_model"):
            c.check(r1[name] is not None and r1[name][0] == "BatchmdError" and "rank 0 failed" in r1[name][1]
                    and "rank 1 stops too" in r1[name][1], f"{name}, rank 1: {r1[name]}")
        c.check(r0["calls_before"] == {"relax": 0, "md": 0} and r1["calls_before"] == {"relax": 0, "md": 0},
                f"hook calls before the refusals: {r0['calls_before']}, {r1['calls_before']}")
        c.check(r0["dataset"] is not None and "structure 2: temperature=-5 overrides stages.md.temperature" in
                r0["dataset"][1], f"dataset, rank 0: {r0['dataset']}")
        c.check(r1["dataset"] is not None, f"dataset, rank 1: {r1['dataset']}")
        c.check(r1["last"] and r1["final"] == 4 and r1["failed"] == 0 and r0["final"] == 0,
                f"the good run after them: rank 1 final {r1['final']}, failed {r1['failed']}")
c.finish()
