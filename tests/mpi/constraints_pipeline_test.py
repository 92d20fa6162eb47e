#!/usr/bin/python3
"""Fixed atoms and fix_com compose with pipelines and checkpoints: `relax +
md` fused in one process, `relax | md` on 2 MPI ranks (the fixed atoms
cross the hand-over), and the fused run killed (SIGKILL after batch step
60, BATCHMD_TEST_KILL) and resumed from its checkpoint give byte-identical
final frames (positions, momenta, forces, energy, move_mask, steps_S).

relax: FIRE; md: Langevin at 80 K with init_temperature and fix_com (its
noise keyed by the stage's place in the pipeline). 10 LJ argon structures
(clusters and vacancy crystals) with 1 to 4 fixed atoms (ASE's FixAtoms
written as move_mask) and 2 without, batch budget 120 atoms refilled every
3 steps. Also checked against the input, as ASE reads both: every frame
keeps its FixAtoms indices, fixed atoms end bitwise where they were read,
their momenta are 0, and the free atoms' total momentum is 0 to 1e-12
(ASE units). Skipped (with the reason) without mpirun."""
import os
import subprocess
import sys
import tempfile

import numpy as np
import ase.io
from ase import Atoms
from ase.build import bulk
from ase.constraints import FixAtoms

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import mpilib  # noqa: E402
from mpilib import BATCHMD, mpirun  # noqa: E402

c = mpilib.Checks()
mpilib.skip_without_mpi()

CAMPAIGN = """units: metal
seed: 21
threads: 1
model: {type: lj, epsilon: 0.0104, sigma: 3.4, cutoff: 8.5, shift: true}
input: in.extxyz
stages:
  relax: {type: fire, fmax: 0.01, max_steps: 60}
  md: {type: nvt_langevin, dt: 2.0, temperature: 80, friction: 0.02, steps: 80, init_temperature: 80,
       fix_com: true}
pipeline: %s
batch: {max_atoms: 120, max_systems: 8, refill_every: 3, buffer: {systems: 4, atoms: 200}}
output: {final: %s/final.extxyz, failed: %s/failed.extxyz%s}
"""


def structures():
    rng = np.random.default_rng(2)
    out = []
    for k in range(10):
        if k % 2:
            n = int(rng.integers(8, 30))
            pos = []
            while len(pos) < n:
                p = rng.uniform(-1, 1, 3) * 2.6 * n ** (1 / 3)
                if all(np.linalg.norm(p - q) > 3.5 for q in pos):
                    pos.append(p)
            a = Atoms("Ar%d" % n, positions=pos)
        else:
            a = bulk("Ar", "fcc", a=5.3, cubic=True).repeat((2, 2, 1 + k % 3 // 2))
            del a[int(rng.integers(0, len(a)))]
            a.positions += rng.normal(0, 0.05, a.positions.shape)
        if k not in (3, 6):
            a.set_constraint(FixAtoms(indices=rng.choice(len(a), int(rng.integers(1, 5)), replace=False)))
        out.append(a)
    return out


def fixed_indices(atoms):
    return sorted(int(i) for cs in atoms.constraints if isinstance(cs, FixAtoms) for i in cs.get_indices())


def frames_text(path):
    """system_id -> the frame's text (17 digits: bitwise)."""
    out = {}
    with open(path) as f:
        lines = f.read().splitlines()
    i = 0
    while i < len(lines):
        n = int(lines[i])
        frame = "\n".join(lines[i:i + n + 2])
        sid = int(frame.split("system_id=")[1].split()[0])
        out[sid] = frame
        i += n + 2
    return out


with tempfile.TemporaryDirectory() as d:
    inp = os.path.join(d, "in.extxyz")
    for k, a in enumerate(structures()):
        ase.io.write(inp, a, format="extxyz", columns=["symbols", "positions"] + (["move_mask"] if a.constraints
                                                                                  else []), append=k > 0)
    frames = ase.io.read(inp, ":")

    def campaign(name, pipeline, ckpt=False):
        path = os.path.join(d, name + ".yaml")
        with open(path, "w") as f:
            f.write(CAMPAIGN % (pipeline, name, name,
                                (", checkpoint: {file: %s/c.ckpt, every_s: 0}" % name) if ckpt else ""))
        return path

    rc, _, err = mpilib.run([BATCHMD, "run", "-q", campaign("fused", "relax + md")])
    c.check(rc == 0, "fused run exit 0: %s" % err[-600:])
    rc, _, err = mpirun(2, BATCHMD, "run", "-q", campaign("piped", "relax | md"))
    c.check(rc == 0, "pipeline on 2 ranks exit 0: %s" % err[-600:])
    path = campaign("resumed", "relax + md", ckpt=True)
    env = dict(mpilib.ENV, BATCHMD_TEST_KILL="step:60")
    killed = subprocess.run([BATCHMD, "run", "-q", path], env=env, capture_output=True, text=True, timeout=300)
    c.check(killed.returncode != 0, "the run was killed at step 60 (exit %d)" % killed.returncode)
    rc, _, err = mpilib.run([BATCHMD, "run", "-q", "--resume", path])
    c.check(rc == 0, "resumed run exit 0: %s" % err[-600:])

    ref = frames_text(os.path.join(d, "fused", "final.extxyz"))
    c.check(sorted(ref) == list(range(len(frames))), "every system in final: %s" % sorted(ref))
    for name in ("piped", "resumed"):
        got = frames_text(os.path.join(d, name, "final.extxyz"))
        same = [i for i in ref if got.get(i) == ref[i]]
        c.check(len(same) == len(ref), "%s: final frames byte-identical to the fused run's (%d of %d)"
                % (name, len(same), len(ref)))
    final = {a.info["system_id"]: a for a in ase.io.read(os.path.join(d, "piped", "final.extxyz"), ":")}
    for i, a in enumerate(frames):
        out = final.get(i)
        if out is None:
            continue
        fx = fixed_indices(a)
        c.check(fixed_indices(out) == fx, "system %d: FixAtoms %s kept (%s)" % (i, fx, fixed_indices(out)))
        c.check(np.array_equal(out.positions[fx], a.positions[fx]), "system %d: fixed atoms bitwise in place" % i)
        p = out.get_momenta()
        c.check(not np.any(p[fx]), "system %d: fixed atoms at rest" % i)
        c.check(np.abs(p.sum(axis=0)).max() < 1e-12, "system %d: centre-of-mass momentum %s" % (i, p.sum(axis=0)))
        c.check(out.info.get("steps_md") == 80, "system %d: 80 md steps" % i)
c.finish()
