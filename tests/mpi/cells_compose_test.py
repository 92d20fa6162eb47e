#!/usr/bin/python3
"""Moving cells compose with everything else (issue #16, must-have 7): a
variable-cell relaxation, NPT and a thermostat fused in one stage
(relax_cell + npt + nvt), over 14 periodic argon crystals of 8 to 54 atoms
(strained and rattled, some with their own temperature and pressure on the
info line), inflight (a batch of at most 4 systems and 200 atoms, refilled
every 3 steps). Two campaigns: A = fire (ExpCellFilter) + npt_mtk (tri) +
nvt_csvr; B = lbfgs (UnitCellFilter, memory 5) + npt_crescale (aniso) +
nvt_berendsen, then bfgs (FrechetCellFilter) + nph.

Each is run as the reference and then:
  alone    batch max_systems 1: every system alone (batch independence);
  resumed  a checkpoint every round, SIGKILL after loop steps 40 and 130
           (the barostats' strain rates and chains, the optimizers'
           memories, the filters' reference cells are all in the
           checkpoint), resumed each time;
  piped    the first stage on rank 0, the others on rank 1 (mpirun -np 2),
           systems handed over between ranks with their columns.
Every system's final frame must equal the reference's bitwise (positions,
momenta, cell, energy, stage record). The physics is checked elsewhere;
here a difference in any bit is a failure."""
import os
import shutil
import sys
import tempfile

import numpy as np
import ase.io
from ase.build import bulk

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mpilib import BATCHMD, ENV, Checks, mpirun, run, skip_without_mpi  # noqa: E402

skip_without_mpi()
c = Checks()
EPS, SIG, RC = 0.0104, 3.40, 8.0
A0 = 2 ** (1 / 6) * SIG * np.sqrt(2)
rng = np.random.default_rng(1616)
frames = []
for i in range(14):
    rep = [(1, 1, 2), (2, 1, 1), (2, 2, 1), (1, 2, 2), (3, 1, 1), (2, 2, 2)][i % 6]
    a = bulk("Ar", "fcc", a=A0 * rng.uniform(0.97, 1.05), cubic=True).repeat(rep)
    a.set_cell(a.cell[:] @ (np.eye(3) + 0.03 * rng.normal(size=(3, 3))), scale_atoms=True)
    a.positions += rng.normal(0, 0.05, a.positions.shape)
    if i % 4 == 1:
        a.info["temperature"] = 30.0 + 5 * i
    if i % 5 == 2:
        a.info["pressure"] = 500.0 * i
    frames.append(a)

CAMPAIGNS = {
    "A": """  relax: {type: fire, fmax: 0.002, max_steps: 500, cell: {filter: exp}}
  npt: {type: npt_mtk, dt: 5.0, temperature: 40, pressure: 100, tdamp: 200, pdamp: 2000, couple: tri,
        init_temperature: 40, steps: 60}
  md: {type: nvt_csvr, dt: 5.0, temperature: 40, tdamp: 200, steps: 40}
""",
    "B": """  relax: {type: lbfgs, fmax: 0.002, max_steps: 500, memory: 5, cell: {filter: unit}}
  npt: {type: npt_crescale, dt: 5.0, temperature: 40, pressure: 100, tau_p: 1000, compressibility: 3e-4,
        couple: aniso, tdamp: 200, init_temperature: 40, steps: 60}
  md: {type: nvt_berendsen, dt: 5.0, temperature: 40, tdamp: 200, steps: 40}
""",
    "C": """  relax: {type: bfgs, fmax: 0.002, max_steps: 500, cell: {filter: frechet}}
  npt: {type: nph, dt: 5.0, pressure: 100, pdamp: 2000, couple: aniso, init_temperature: 40, steps: 60}
  md: {type: nvt_nose_hoover, dt: 5.0, temperature: 40, tdamp: 200, steps: 40}
""",
}

HEAD = """units: metal
seed: 16
threads: 1
model: {type: lj, epsilon: %r, sigma: %r, cutoff: %r, shift: true}
input: in.extxyz
stages:
""" % (EPS, SIG, RC)


def campaign(d, stages, pipeline, max_systems=4, ckpt=False):
    text = HEAD + stages + "pipeline: %s\n" % pipeline
    text += "batch: {max_atoms: 200, max_systems: %d, refill_every: 3}\n" % max_systems
    text += "output:\n  final: out/final.extxyz\n  failed: out/failed.extxyz\n"
    if ckpt:
        text += "  checkpoint: {file: out/c.ckpt, every_s: 0}\n"
    os.makedirs(d, exist_ok=True)
    ase.io.write(os.path.join(d, "in.extxyz"), frames)
    with open(os.path.join(d, "c.yaml"), "w") as f:
        f.write(text)
    return os.path.join(d, "c.yaml")


def frames_of(d):
    """system_id -> (Atoms) of final, and the failed ids with their status."""
    fin = {a.info["system_id"]: a for a in ase.io.read(os.path.join(d, "out/final.extxyz"), ":")}
    path = os.path.join(d, "out/failed.extxyz")
    fai = {a.info["system_id"]: a.info.get("status") for a in ase.io.read(path, ":")} \
        if os.path.exists(path) and os.path.getsize(path) else {}
    return fin, fai


def same(a, b):
    keys = [k for k in a.info if k.startswith(("steps_", "converged_"))]
    return (np.array_equal(a.positions, b.positions) and np.array_equal(a.get_momenta(), b.get_momenta())
            and np.array_equal(a.cell[:], b.cell[:]) and a.get_potential_energy() == b.get_potential_energy()
            and all(a.info.get(k) == b.info.get(k) for k in keys) and sorted(keys) == sorted(
                k for k in b.info if k.startswith(("steps_", "converged_"))))


def compare(ref, d, what):
    rf, rx = ref
    fin, fai = frames_of(d)
    c.check(sorted(fin) == sorted(rf) and fai == rx, "%s: the same systems done (%d) and failed %s"
            % (what, len(fin), fai))
    diff = [i for i in sorted(set(fin) & set(rf)) if not same(fin[i], rf[i])]
    c.check(not diff, "%s: every final frame bitwise the reference's (differ: %s)" % (what, diff[:8]))


def cli(path, kill=None, resume=False):
    env = dict(ENV)
    env.pop("BATCHMD_TEST_KILL", None)
    if kill:
        env["BATCHMD_TEST_KILL"] = kill
    return run([BATCHMD, "run", "-q"] + (["--resume"] if resume else []) + [path], env=env)


top = tempfile.mkdtemp(prefix="bmd_cells_")
for name, stages in CAMPAIGNS.items():
    d = os.path.join(top, name)
    rc, out, err = cli(campaign(os.path.join(d, "ref"), stages, "relax + npt + md"))
    c.check(rc == 0, "%s reference: exit %s %s" % (name, rc, err[-2000:]))
    if rc != 0:
        continue
    ref = frames_of(os.path.join(d, "ref"))
    c.check(len(ref[0]) == len(frames) and not ref[1],
            "%s reference: every structure done (%d, failed %s)" % (name, len(ref[0]), ref[1]))
    c.check(all(ref[0][i].info.get("converged_relax") is True for i in ref[0]),
            "%s reference: every relaxation converged" % name)

    rc, out, err = cli(campaign(os.path.join(d, "alone"), stages, "relax + npt + md", max_systems=1))
    c.check(rc == 0, "%s alone: exit %s %s" % (name, rc, err[-1000:]))
    if rc == 0:
        compare(ref, os.path.join(d, "alone"), "%s alone" % name)

    path = campaign(os.path.join(d, "resumed"), stages, "relax + npt + md", ckpt=True)
    rc1, _, err1 = cli(path, kill="step:40")
    rc2, _, err2 = cli(path, kill="step:130", resume=True)
    rc3, _, err3 = cli(path, resume=True)
    c.check(rc1 not in (0, None) and rc2 not in (0, None) and rc3 == 0,
            "%s resumed: killed twice, then finished (exits %s %s %s) %s" % (name, rc1, rc2, rc3, err3[-1000:]))
    if rc3 == 0:
        compare(ref, os.path.join(d, "resumed"), "%s resumed after SIGKILL" % name)

    rc, out, err = mpirun(2, BATCHMD, "run", "-q", campaign(os.path.join(d, "piped"), stages, "relax | npt + md"))
    c.check(rc == 0, "%s piped: exit %s %s" % (name, rc, err[-1000:]))
    if rc == 0:
        compare(ref, os.path.join(d, "piped"), "%s piped on 2 ranks" % name)
shutil.rmtree(top, ignore_errors=True)
c.finish()
