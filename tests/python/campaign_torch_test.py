"""A torch model in a campaign file: `model: {type: python, module:
torchmodel, object: TorchModel}` (tests/python/torchmodel.py, a float64
Morse + message-passing net with weights from a fixed seed; the module is a
dotted name found on PYTHONPATH, torch imported inside the command's
embedded Python).

Structures: 8 Cu/Ag clusters and small periodic cells (ASE, fixed seed).
Stages: FIRE then
Langevin with init_temperature, refilled every 2 steps in a batch of at most
60 atoms, with a log and a checkpoint at every round.

Checks:
  - `batchmd run` = the same stages from the Python package with the same
    model object's class, bit for bit (positions, momenta, forces, energy,
    stress, info);
  - killed with SIGKILL after step 12 (BATCHMD_TEST_KILL) and resumed with
    --resume: final, failed and log byte-identical to the uninterrupted run;
  - a structure with an element the model lacks (Ni): exit 2 at input,
    the message names the structure and Ni."""
from pylib import BATCHMD, SOURCE, Checks  # first: puts the build tree's batchmd on sys.path

import os
import shutil
import signal
import subprocess
import tempfile

import numpy as np
import torch
import ase.io
from ase.build import bulk
from ase.cluster import Icosahedron

import batchmd as bmd
from torchmodel import TorchModel

c = Checks()
torch.set_num_threads(1)  # as the command's (threads: 1, OMP_NUM_THREADS=1)
rng = np.random.default_rng(21)
HERE = os.path.join(SOURCE, "tests", "python")


def structures():
    out = []
    for k in range(8):
        if k % 2:
            a = bulk("Cu", "fcc", a=3.61 * rng.uniform(0.99, 1.02), cubic=True).repeat((1, 1, 2))
        else:
            a = Icosahedron("Cu", 2)
            a.cell = np.zeros((3, 3))
            a.pbc = False
        a.numbers[rng.choice(len(a), 2, replace=False)] = 47
        a.positions += rng.normal(0, 0.05, a.positions.shape)
        out.append(a)
    return out


FRAMES = structures()
CAMPAIGN = """units: metal
seed: 5
threads: 1
model: {type: python, module: torchmodel, object: TorchModel}
input: %s
stages:
  relax: {type: fire, fmax: 0.01, max_steps: 15}
  md: {type: nvt_langevin, dt: 2.0, temperature: 300, friction: 0.02, steps: 12, init_temperature: 300}
pipeline: relax + md
batch: {max_atoms: 60, max_systems: 4, refill_every: 2}
output:
  final: out/final.extxyz
  failed: out/failed.extxyz
  log: {file: out/log.csv, every: 2}
  checkpoint: {file: out/c.ckpt, every_s: 0}
"""
top = tempfile.mkdtemp(prefix="bmd_campaign_torch_")
ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(
    [HERE] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
ENV.pop("BATCHMD_TEST_KILL", None)


def folder(name, frames, inp="in.extxyz"):
    d = os.path.join(top, name)
    os.makedirs(d)
    ase.io.write(os.path.join(d, inp), frames)
    with open(os.path.join(d, "c.yaml"), "w") as f:
        f.write(CAMPAIGN % inp)
    return d


def bmd_run(d, *args, kill=None):
    env = dict(ENV, BATCHMD_TEST_KILL=kill) if kill else ENV
    return subprocess.run([BATCHMD, "run", "-q", *args, "c.yaml"], cwd=d, env=env, capture_output=True, text=True,
                          timeout=600)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


try:
    ref = folder("reference", FRAMES)
    r = bmd_run(ref)
    c.check(r.returncode == 0, "batchmd run with the torch model: %s" % r.stderr)
    OUT = {f: read_bytes(os.path.join(ref, "out", f)) for f in ("final.extxyz", "failed.extxyz", "log.csv")}
    final = {a.info["system_id"]: a for a in ase.io.read(os.path.join(ref, "out", "final.extxyz"), ":")}
    c.check(sorted(final) == list(range(len(FRAMES))), "every structure in final: %s" % sorted(final))

    relax = bmd.FIRE(TorchModel(), name="relax", fmax=0.01, max_steps=15)
    md = bmd.NVTLangevin(relax.model, name="md", dt=2.0, temperature=300, friction=0.02, steps=12,
                         init_temperature=300)
    res = (relax + md).run(ase.io.read(os.path.join(ref, "in.extxyz"), ":"), seed=5, max_atoms=60, max_systems=4,
                           refill_every=2)
    mine = {a.info["system_id"]: a for a in res.final}
    c.check(sorted(mine) == sorted(final) and not res.failed, "package run: %s" % sorted(mine))
    for sid in sorted(set(mine) & set(final)):
        a, b = mine[sid], final[sid]
        b.info.pop("energy", None)  # ASE 3.22's reader copies energy and stress into info
        stress = b.info.pop("stress", None)
        c.check(np.array_equal(a.positions, b.positions), "package %d: positions differ" % sid)
        c.check(np.array_equal(a.get_momenta(), b.get_momenta()), "package %d: momenta differ" % sid)
        c.check(np.array_equal(a.get_forces(), b.get_forces()), "package %d: forces differ" % sid)
        c.check(a.get_potential_energy() == b.get_potential_energy(), "package %d: energy differs" % sid)
        if stress is not None:
            c.check(np.array_equal(a.get_stress(voigt=False), stress), "package %d: stress differs" % sid)
        c.check(a.info == b.info, "package %d: info %s != %s" % (sid, a.info, b.info))

    d = folder("kill", FRAMES)
    r = bmd_run(d, kill="step:12")
    c.check(r.returncode == -signal.SIGKILL, "killed after step 12 (exit %d: %s)" % (r.returncode, r.stderr))
    r = bmd_run(d, "--resume")
    c.check(r.returncode == 0, "resumed: %s" % r.stderr)
    for f, data in OUT.items():
        c.check(read_bytes(os.path.join(d, "out", f)) == data, "SIGKILL, resumed: %s byte-identical" % f)

    ni = FRAMES[0].copy()
    ni.numbers[3] = 28
    d = folder("nickel", FRAMES[:1] + [ni])
    r = bmd_run(d)
    c.check(r.returncode == 2 and "Ni" in r.stderr and "structure 1" in r.stderr,
            "a structure with Ni: exit %d: %s" % (r.returncode, r.stderr))
finally:
    shutil.rmtree(top)
c.finish()
