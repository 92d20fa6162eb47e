"""What a Python run refuses, and the per-structure values it honours.

Refused, with messages that say what to do: a stage name the pipeline
cannot hold (a space, '+', '|', non-ASCII, over 32 characters), an unknown
keyword of a dynamics (the message lists the catalogue's names), a value out of range
(dt=0, fmax=-1, steps=-1: BatchmdError from the campaign reader naming
stages.<stage>.<key>), a non-number, a model made for other units than
the run's, two models in one fused stage, a structure with a constraint
other than FixAtoms (named by index and constraint), a dataset item that is not an Atoms. A
hook's exception stops the run and reaches the caller with its traceback.

Honoured: per-structure values from atoms.info (temperature=60 for one
structure of an NVTLangevin stage, steps=3 for another), exactly as
`batchmd run` honours them in the same extxyz: the same final, bit for
bit; and the overrides did change those systems (a run with the info keys
removed differs). An override out of range (temperature=-5) is refused by
the command before it runs (exit 2), and by a Python run with the same
message, from a path, a list or a three-method dataset; so are a NaN
position (by run and by evaluate, which returned an Atoms without energy)
and a species the model lacks (a KIM Cu model given an Ar cluster)."""
import os
import tempfile
import traceback

import ase.io
import numpy as np
from ase import Atoms
from ase.cluster import Icosahedron
from ase.constraints import FixAtoms, FixBondLength

from pylib import Checks, run
import batchmd as bmd

c = Checks()
model = bmd.models.LennardJones(epsilon=0.0104, sigma=3.40, cutoff=8.5, shift=True)
rng = np.random.default_rng(9)
frames = []
for k in range(4):
    a = Icosahedron("Ar", 2, latticeconstant=5.3)
    a.positions += rng.normal(0, 0.05, a.positions.shape)
    frames.append(a)


def raises(exc, fn, *needles, what):
    try:
        fn()
        c.check(False, f"{what}: nothing raised")
        return None
    except exc as e:
        msg = str(e)
        missing = [n for n in needles if n not in msg]
        c.check(not missing, f"{what}: message {msg!r} lacks {missing}")
        return e
    except Exception as e:  # the wrong kind
        c.check(False, f"{what}: {type(e).__name__}: {e} (expected {exc.__name__})")
        return None


# unknown keywords name the expected ones (the catalogue's, a group's mapping
# by its name: cell, plus the convergence keys)
names = sorted({p[0] if p[5] is None else p[5] for p in bmd.FIRE.params})
raises(TypeError, lambda: bmd.FIRE(model, fmx=0.1), "fmx", *names, "fmax", "etol", "max_steps",
       what="FIRE(fmx=)")
raises(TypeError, lambda: bmd.NVTLangevin(model, dt=1, temperature=10, friction=0.1, steps=3, max_steps=4),
       "max_steps", "temperature", "friction", "steps", what="NVTLangevin(max_steps=)")
raises(TypeError, lambda: bmd.NVE(model, dt="1fs", steps=3), "dt", what="NVE(dt='1fs')")
raises(TypeError, lambda: bmd.NVE(model, dt=1.0, steps=True), "steps", what="NVE(steps=True)")
try:  # numpy numbers are numbers
    ok = bmd.NVE(model, dt=np.float32(2.0), steps=np.int64(3)).run(frames[:1]).final[0].info["steps_nve"] == 3
    c.check(ok, "NVE(dt=np.float32, steps=np.int64): not 3 steps")
except Exception as e:
    c.check(False, f"NVE(dt=np.float32(2), steps=np.int64(3)): {type(e).__name__}: {e}")

for bad in ("relax 1", "a+b", "x|y", "é", "a" * 33):
    raises(ValueError, lambda: bmd.FIRE(model, name=bad), "stage name", what=f"name {bad!r}")

# a failure making the stage is raised, not printed (the command's stage builder printed it on stderr)
late = bmd.FIRE(model, fmax=0.1)
late.name = "a" * 40  # past the constructor's check
with tempfile.TemporaryFile() as err:
    saved = os.dup(2)
    os.dup2(err.fileno(), 2)
    try:
        raises(bmd.BatchmdError, lambda: late.run(frames), "1 to 32 characters", what="a 40-character stage name")
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    err.seek(0)
    printed = err.read().decode()
c.check(printed == "", f"the extension printed on stderr: {printed!r}")

# out of range: the campaign reader's message, naming stage and key
e = raises(bmd.BatchmdError, lambda: bmd.NVE(model, name="md", dt=0, steps=3).run(frames), "stages.md.dt",
           "out of range", what="dt=0")
c.check(e is not None and str(e).startswith("stages.md.dt: 0 is out of range"),
        f"dt=0: {e} (a line:column of text the user never saw?)")
raises(bmd.BatchmdError, lambda: bmd.FIRE(model, name="relax", fmax=-1).run(frames), "stages.relax.fmax",
       "out of range", what="fmax=-1")
raises(bmd.BatchmdError, lambda: bmd.NVE(model, name="md", dt=1, steps=-1).run(frames), "stages.md.steps",
       what="steps=-1")
raises(bmd.BatchmdError, lambda: bmd.NVTLangevin(model, name="md", dt=1, friction=0.1, steps=3).run(frames),
       "stages.md", "temperature", what="temperature missing")
raises(bmd.BatchmdError, lambda: bmd.FIRE(model).run(frames, max_atoms=0), "batch.max_atoms", what="max_atoms=0")

# units and models
lj_units = bmd.models.LennardJones(units="lj", epsilon=1.0, sigma=1.0, cutoff=2.5)
raises(ValueError, lambda: bmd.FIRE(lj_units, fmax=0.1).run(frames, units="metal"), "lj units", "metal units",
       what="an lj-units model in a metal run")
other = bmd.models.LennardJones(epsilon=0.0104, sigma=3.40, cutoff=8.5, shift=True)
raises(ValueError, lambda: bmd.FIRE(model, fmax=0.1) + bmd.NVE(other, dt=1, steps=2), "same model",
       what="two models in a fused stage")

# structures
fixed = frames[1].copy()
fixed.set_constraint([FixAtoms(indices=[0]), FixBondLength(1, 2)])
raises(ValueError, lambda: bmd.FIRE(model, fmax=0.1).run([frames[0], fixed]), "structure 1", "FixAtoms",
       "FixBondLength", "set_constraint", what="constraints")
raises(TypeError, lambda: bmd.FIRE(model, fmax=0.1).run([frames[0], "not atoms", frames[1]]), "Atoms",
       what="a string among the Atoms")


class Seeds:
    """A dataset with the seeds' three methods."""

    def __init__(self, frames):
        self.frames = frames

    def __len__(self):
        return len(self.frames)

    def __getitem__(self, i):
        return self.frames[i]

    def get_metadata(self, i):
        return len(self.frames[i]), None


def boom(batch):
    if batch.step == 2:
        raise ZeroDivisionError("the hook's own error")


e = raises(ZeroDivisionError, lambda: bmd.FIRE(model, fmax=1e-6, hooks=[boom]).run(frames),
           "the hook's own error", what="a raising hook")
if e is not None:
    frames_tb = [f.name for f in traceback.extract_tb(e.__traceback__)]
    c.check("boom" in frames_tb, f"the hook's frame is not in the traceback: {frames_tb}")

# per-structure values from atoms.info, as the command reads them from the same extxyz
CAMPAIGN = """model: {type: lj, epsilon: 0.0104, sigma: 3.4, cutoff: 8.5, shift: true}
input: in.extxyz
seed: 11
stages:
  md: {type: nvt_langevin, dt: 4.0, temperature: 20, friction: 0.05, steps: 10, init_temperature: 20}
output: {final: final.extxyz, failed: failed.extxyz, ordered: true}
"""
with tempfile.TemporaryDirectory() as d:
    tagged = [a.copy() for a in frames]
    tagged[1].info["temperature"] = 60.0
    tagged[2].info["steps"] = 3
    ase.io.write(os.path.join(d, "in.extxyz"), tagged)
    with open(os.path.join(d, "c.yaml"), "w") as f:
        f.write(CAMPAIGN)
    r = run("run", "--quiet", os.path.join(d, "c.yaml"))
    c.check(r.returncode == 0, f"batchmd run: {r.stderr}")
    cmd_final = ase.io.read(os.path.join(d, "final.extxyz"), ":")

    structures = ase.io.read(os.path.join(d, "in.extxyz"), ":")
    md = bmd.NVTLangevin(model, name="md", dt=4.0, temperature=20, friction=0.05, steps=10, init_temperature=20)
    res = md.run(structures, seed=11, ordered=True)
    c.check(not res.failed and [a.info["system_id"] for a in res.final] == [a.info["system_id"] for a in cmd_final],
            f"final {[a.info['system_id'] for a in res.final]}, command {[a.info['system_id'] for a in cmd_final]}")
    for a, b in zip(res.final, cmd_final):
        for k in ("energy", "stress"):
            b.info.pop(k, None)  # ASE 3.22's reader copies them into info
        same = a.info == b.info and np.array_equal(a.positions, b.positions) and \
            np.array_equal(a.get_momenta(), b.get_momenta())
        c.check(same, f"system {a.info['system_id']}: differs from the command's ({a.info} vs {b.info})")
    got = {a.info["system_id"]: a for a in res.final}
    plain = [a.copy() for a in structures]
    for a in plain:
        a.info = {}
    base = {a.info["system_id"]: a for a in md.run(plain, seed=11).final}
    c.check(np.array_equal(base[0].positions, got[0].positions), "system 0 (no override) differs without overrides")
    c.check(not np.array_equal(base[1].get_momenta(), got[1].get_momenta()),
            "temperature=60 from info changed nothing")
    c.check(got[2].info.get("steps_md") == 3 and base[2].info["steps_md"] == 10,
            f"steps=3 from info: {got[2].info.get('steps_md')} steps (without it {base[2].info['steps_md']})")

    # an override out of range: the command refuses the input (exit 2), and so
    # does the Python run, with the same message, whatever the dataset's kind
    tagged[3].info["temperature"] = -5.0
    ase.io.write(os.path.join(d, "in.extxyz"), tagged)
    r = run("run", "--quiet", os.path.join(d, "c.yaml"))
    says = r.stderr.strip().removeprefix("batchmd: ")
    c.check(r.returncode == 2 and "structure 3: temperature=-5.0" in says, f"the command: {r.returncode}, {says}")
    raises(bmd.BatchmdError, lambda: md.run(os.path.join(d, "in.extxyz"), seed=11), says, what="invalid override, path")
    tail = says[says.index("structure 3"):]
    for kind, ds in (("list", tagged), ("three-method dataset", Seeds(tagged))):
        raises(bmd.BatchmdError, lambda: md.run(ds, seed=11), tail, what=f"invalid override, {kind}")
    # so are structures the model cannot evaluate (a non-finite position), by run and evaluate alike
    broken = frames[2].copy()
    broken.positions[5, 1] = np.nan
    raises(bmd.BatchmdError, lambda: md.run([frames[0], broken], seed=11), "structure 1", "non-finite",
           what="a NaN position, run")
    raises(bmd.BatchmdError, lambda: bmd.evaluate([frames[0], broken], model), "structure 1", "non-finite",
           what="a NaN position, evaluate")
    # so are species the model lacks, before any step
    copper = bmd.models.KIM("EAM_Dynamo_AcklandTichyVitek_1987_Cu__MO_179025990738_005")
    copper_frames = [Icosahedron("Cu", 2, latticeconstant=3.61), frames[0]]
    raises(bmd.BatchmdError, lambda: bmd.FIRE(copper, fmax=0.1).run(copper_frames), "structure 1", "Ar",
           what="a species the model lacks")
c.finish()
