#!/usr/bin/python3
"""Inflight batching through `batchmd run`: 2,000 structures of 4 to 200
atoms (copper-like LJ: perturbed fcc-fragment clusters, and small periodic
fcc crystals, cubic or primitive cells, with vacancies and perturbations;
made here with ASE and numpy from a fixed seed) go through
`relax + anneal + md` (FIRE, Langevin BAOAB, NVE) under

  tight   max_atoms 400, refill every step (a few systems live at a time)
  roomy   max_atoms 100000, refill every 7 steps (everything at once)
  single  max_systems 1 (every system alone in its batch)
  ordered max_atoms 600, max_systems 4, refill every 2 steps, output.ordered
          (final in input order), run by the driver tests/tools/inflight_run
          (the library's runner as `batchmd run` calls it, and honouring
          output.ordered)

and ~20 randomly chosen systems each run alone from a one-frame input.

Checks: every system_id exactly once across final + failed in every run;
final positions, momenta and energies bitwise identical between the runs
and to the one-frame runs (compared by content: system_id is 0 there);
steps_S, converged_S and status equal; steps_anneal and steps_md are the
campaign's 50; a relaxation left unconverged spent its 200 steps; and for
the sampled systems the written energy and forces are ASE's LennardJones at
the written positions.

The Langevin noise is keyed by (seed, system_id, step) (DESIGN.md), so a
one-frame run (system_id 0) draws other noise than system X did among the
2,000. The sampled systems other than system 0 therefore carry
`temperature=0` on their info line (a per-structure override, in every
input): their anneal stage is friction without noise, the same whatever
the id. System 0 is always sampled and keeps its noise: its id is 0 in both.
The `single` run covers the noise of every system alone in its batch."""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import ase.io
from ase import Atoms
from ase.build import bulk
from ase.calculators.lj import LennardJones

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
from testlib import Checks, run  # noqa: E402

EPS, SIG, RC = 0.415, 2.277, 5.7
A0 = 2 ** (1 / 6) * SIG * np.sqrt(2)  # fcc lattice constant of this LJ
N, N_ALONE, RELAX_STEPS, MD_STEPS = 2000, 20, 200, 50
TOOL = os.path.join(os.environ.get("BATCHMD_TOOLS", os.path.join("build", "tests", "tools")), "inflight_run")
rng = np.random.default_rng(20240607)


def cluster(n):
    """The n sites of an expanded fcc lattice nearest a random centre, perturbed."""
    k = int(np.ceil((n / 4) ** (1 / 3))) + 2
    r = np.arange(-k, k + 1, dtype=float)
    g = np.stack(np.meshgrid(r, r, r, indexing="ij"), -1).reshape(-1, 3)
    base = np.array([[0, 0, 0], [.5, .5, 0], [.5, 0, .5], [0, .5, .5]])
    sites = (g[:, None, :] + base[None]).reshape(-1, 3) * A0 * rng.uniform(1.0, 1.08)
    sites = sites[np.argsort(np.linalg.norm(sites - rng.normal(0, 0.3, 3), axis=1), kind="stable")[:n]]
    return Atoms("Cu%d" % n, positions=sites + rng.normal(0, 0.12, sites.shape), pbc=False)


def crystal():
    """A small periodic fcc crystal (cubic or primitive cell), with vacancies and noise."""
    unit = bulk("Cu", "fcc", a=A0 * rng.uniform(0.99, 1.03), cubic=bool(rng.random() < 0.5))
    while True:
        rep = rng.integers(1, 5, 3)
        if 4 <= len(unit) * rep.prod() <= 200:
            break
    a = unit.repeat(tuple(int(x) for x in rep))
    for _ in range(int(rng.integers(0, 3)) if len(a) > 8 else 0):
        del a[int(rng.integers(0, len(a)))]
    a.positions += rng.normal(0, rng.uniform(0.02, 0.1), a.positions.shape)
    return a


frames = [cluster(int(rng.integers(4, 201))) if rng.random() < 0.5 else crystal() for _ in range(N)]
alone_ids = [0] + sorted(int(i) for i in rng.choice(np.arange(1, N), N_ALONE - 1, replace=False))
for i in alone_ids[1:]:
    frames[i].info["temperature"] = 0.0

CAMPAIGN = """units: metal
seed: 11
threads: 1
model: {type: lj, epsilon: %r, sigma: %r, cutoff: %r, shift: true}
input: %s
stages:
  relax: {type: fire, fmax: 0.05, max_steps: %d}
  anneal: {type: nvt_langevin, dt: 2.0, temperature: 300, friction: 0.02, steps: %d}
  md: {type: nve, dt: 2.0, steps: %d}
pipeline: relax + anneal + md
batch: {max_atoms: %d, max_systems: %d, refill_every: %d}
output: {final: %s, failed: %s, ordered: %s}
"""

c = Checks()


def read(path):
    return ase.io.read(path, ":", format="extxyz") if os.path.getsize(path) else []


def campaign(d, name, inp, max_atoms, max_systems, refill, ordered=False):
    """Runs one campaign; returns its final and failed frames (None on failure)."""
    path = os.path.join(d, name + ".yaml")
    with open(path, "w") as f:
        f.write(CAMPAIGN % (EPS, SIG, RC, inp, RELAX_STEPS, MD_STEPS, MD_STEPS, max_atoms, max_systems, refill,
                            name + ".final.extxyz", name + ".failed.extxyz", "true" if ordered else "false"))
    t0 = time.perf_counter()
    if ordered:
        r = subprocess.run([TOOL, path], capture_output=True, text=True, timeout=600)
    else:
        r = run("run", "--quiet", path)
    c.check(r.returncode == 0, "%s: exit 0 (stderr: %s)" % (name, r.stderr[-2000:]))
    if r.returncode:
        return None
    out = read(os.path.join(d, name + ".final.extxyz")), read(os.path.join(d, name + ".failed.extxyz"))
    if name in RUNS:
        print("%-7s %6.1f s, %d final, %d failed" % (name, time.perf_counter() - t0, len(out[0]), len(out[1])))
    return out


def same(a, b):
    """Bitwise the same state and the same stage record."""
    keys = ("steps_relax", "converged_relax", "steps_anneal", "converged_anneal", "steps_md", "converged_md",
            "status")
    return (len(a) == len(b) and np.array_equal(a.numbers, b.numbers) and np.array_equal(a.positions, b.positions)
            and np.array_equal(a.get_momenta(), b.get_momenta())
            and a.get_potential_energy() == b.get_potential_energy()
            and all(a.info.get(k) == b.info.get(k) for k in keys))


RUNS = {"tight": (400, 1024, 1, False), "roomy": (100000, 1024, 7, False), "single": (400, 1, 3, False),
        "ordered": (600, 4, 2, True)}
with tempfile.TemporaryDirectory() as d:
    ase.io.write(os.path.join(d, "in.extxyz"), frames)
    res = {}
    for name, (max_atoms, max_systems, refill, ordered) in RUNS.items():
        out = campaign(d, name, "in.extxyz", max_atoms, max_systems, refill, ordered)
        if out is None:
            continue
        final, failed = out
        ids = sorted([a.info["system_id"] for a in final] + [a.info["system_id"] for a in failed])
        c.check(ids == list(range(N)), "%s: every system_id exactly once across final and failed" % name)
        res[name] = {a.info["system_id"]: a for a in final + failed}
        res[name + ".order"] = [a.info["system_id"] for a in final]
    if "ordered" in res:
        c.check(res["ordered.order"] == sorted(res["ordered.order"]), "ordered: final in input order")
    if "tight" in res:
        c.check(res["tight.order"] != sorted(res["tight.order"]), "tight: systems leave out of input order")
        done = [a for a in res["tight"].values() if a.info.get("status") == "done"]
        c.check(len(done) > 0.95 * N, "tight: %d of %d done" % (len(done), N))
        steps = np.array([a.info["steps_relax"] for a in done])
        c.check(np.median(steps) > 10, "the relaxation does work (median %g steps)" % np.median(steps))
        for a in done:
            sid = a.info["system_id"]
            ok = a.info.get("steps_anneal") == MD_STEPS and a.info.get("steps_md") == MD_STEPS
            ok = ok and a.info.get("converged_anneal") is True and a.info.get("converged_md") is True
            ok = ok and 0 <= a.info["steps_relax"] <= RELAX_STEPS
            ok = ok and (a.info["converged_relax"] is True or a.info["steps_relax"] == RELAX_STEPS)
            c.check(ok, "system %d: stage record %s" % (sid, {k: v for k, v in a.info.items() if "_" in k}))
    for other in ("roomy", "single", "ordered"):
        if "tight" in res and other in res:
            diff = [i for i in range(N)
                    if i in res["tight"] and not (i in res[other] and same(res["tight"][i], res[other][i]))]
            c.check(not diff, "tight vs %s: bitwise identical (differ: %s)" % (other, diff[:10]))

    # every sampled system alone, from its own one-frame input
    t0 = time.perf_counter()
    for i in alone_ids:
        name = "alone%d" % i
        ase.io.write(os.path.join(d, name + ".extxyz"), frames[i])
        out = campaign(d, name, name + ".extxyz", 400, 1024, 1)
        if out is None or "tight" not in res:
            continue
        got = out[0] + out[1]
        c.check(len(got) == 1 and got[0].info["system_id"] == 0, "%s: one system, system_id 0" % name)
        if len(got) != 1:
            continue
        c.check(same(got[0], res["tight"][i]), "system %d alone: bitwise identical to the batched runs" % i)
        if got[0].info.get("status") != "done":
            continue
        ref = got[0].copy()
        ref.calc = LennardJones(epsilon=EPS, sigma=SIG, rc=RC)
        e, f = ref.get_potential_energy(), ref.get_forces()
        c.check(abs(e - got[0].get_potential_energy()) <= 1e-9 * max(1.0, abs(e)),
                "system %d: energy %r vs ASE %r" % (i, got[0].get_potential_energy(), e))
        c.check(np.abs(f - got[0].get_forces()).max() <= 1e-8, "system %d: forces vs ASE" % i)
    print("alone   %6.1f s for %d one-frame runs" % (time.perf_counter() - t0, len(alone_ids)))
c.finish()
